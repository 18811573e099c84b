//! Every error string the server sends, byte-exact with Redis 7.
//!
//! Handlers return `CmdError`; only `Display` knows the text. The golden test in
//! `tests/errors.rs` pins each string against what `redis-server` 7.0 sends.

use std::fmt;

/// A command-level error: becomes one `-…` reply; the connection stays open.
#[derive(Debug, Clone, PartialEq)]
pub enum CmdError {
    UnknownCommand {
        name: String,
        args: String,
    },
    UnknownSubcommand {
        sub: String,
        cmd: String,
    },
    WrongArity(String),
    WrongType,
    Syntax,
    NotInteger,
    NotFloat,
    Overflow,
    IncrNanOrInf,
    NoSuchKey,
    SameObject,
    DbIndexOutOfRange,
    InvalidExpire(String),
    ExpireNotOnlyOne,
    GtLtNx,
    StringTooLong,
    OffsetOutOfRange,
    NestedMulti,
    ExecWithoutMulti,
    DiscardWithoutMulti,
    WatchInMulti,
    ExecAbort,
    NotAllowedInMulti,
    TimeoutNegative,
    TimeoutNotFloat,
    CountNotPositive,
    ValueNotPositive(&'static str),
    OutOfRangeMustBePositive,
    NoProto,
    UnsupportedProto,
    ConfigUnknownParam(String),
    ConfigSetFailed {
        param: String,
        reason: String,
    },
    ConfigGetArity,
    DebugNotAllowed,
    ClientNameSpaces,
    NoSuchClient,
    InvalidCursor,
    SubscribedContext {
        cmd: String,
    },
    NoAuth,
    Oom,
    ReadOnlyReplica,
    NoReplicas,
    MasterDown,
    WaitOnReplica,
    /// The last BGSAVE failed with save points set (stop-writes-on-bgsave-error).
    MisconfRdb,
    /// The AOF could not be written: the system's error text.
    MisconfAof(String),
    /// Any other text, verbatim (must start with an error code such as `ERR`).
    Custom(String),
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CmdError::*;
        match self {
            UnknownCommand { name, args } => write!(
                f,
                "ERR unknown command '{name}', with args beginning with: {args}"
            ),
            UnknownSubcommand { sub, cmd } => write!(
                f,
                "ERR unknown subcommand '{sub}'. Try {cmd} HELP."
            ),
            WrongArity(cmd) => write!(f, "ERR wrong number of arguments for '{cmd}' command"),
            WrongType => f.write_str(
                "WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            Syntax => f.write_str("ERR syntax error"),
            NotInteger => f.write_str("ERR value is not an integer or out of range"),
            NotFloat => f.write_str("ERR value is not a valid float"),
            Overflow => f.write_str("ERR increment or decrement would overflow"),
            IncrNanOrInf => f.write_str("ERR increment would produce NaN or Infinity"),
            NoSuchKey => f.write_str("ERR no such key"),
            SameObject => f.write_str("ERR source and destination objects are the same"),
            DbIndexOutOfRange => f.write_str("ERR DB index is out of range"),
            InvalidExpire(cmd) => write!(f, "ERR invalid expire time in '{cmd}' command"),
            ExpireNotOnlyOne => f.write_str(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ),
            GtLtNx => f.write_str("ERR GT and LT options at the same time are not compatible"),
            StringTooLong => f.write_str("ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
            OffsetOutOfRange => f.write_str("ERR offset is out of range"),
            NestedMulti => f.write_str("ERR MULTI calls can not be nested"),
            ExecWithoutMulti => f.write_str("ERR EXEC without MULTI"),
            DiscardWithoutMulti => f.write_str("ERR DISCARD without MULTI"),
            WatchInMulti => f.write_str("ERR WATCH inside MULTI is not allowed"),
            ExecAbort => f.write_str(
                "EXECABORT Transaction discarded because of previous errors.",
            ),
            NotAllowedInMulti => f.write_str("ERR Command not allowed inside a transaction"),
            TimeoutNegative => f.write_str("ERR timeout is negative"),
            TimeoutNotFloat => f.write_str("ERR timeout is not a float or out of range"),
            CountNotPositive => f.write_str("ERR count should be greater than 0"),
            ValueNotPositive(what) => write!(f, "ERR {what} should be greater than 0"),
            OutOfRangeMustBePositive => {
                f.write_str("ERR value is out of range, must be positive")
            }
            NoProto => f.write_str("NOPROTO unsupported protocol version"),
            UnsupportedProto => f.write_str("NOPROTO unsupported protocol version"),
            ConfigUnknownParam(p) => write!(
                f,
                "ERR Unknown option or number of arguments for CONFIG SET - '{p}'"
            ),
            ConfigSetFailed { param, reason } => {
                write!(f, "ERR CONFIG SET failed (possibly related to argument '{param}') - {reason}")
            }
            ConfigGetArity => f.write_str("ERR wrong number of arguments for 'config|get' command"),
            DebugNotAllowed => f.write_str("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."),
            ClientNameSpaces => f.write_str(
                "ERR Client names cannot contain spaces, newlines or special characters.",
            ),
            NoSuchClient => f.write_str("ERR No such client"),
            InvalidCursor => f.write_str("ERR invalid cursor"),
            SubscribedContext { cmd } => write!(
                f,
                "ERR Can't execute '{cmd}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            ),
            NoAuth => f.write_str("NOAUTH Authentication required."),
            Oom => f.write_str("OOM command not allowed when used memory > 'maxmemory'."),
            MasterDown => f.write_str("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
            NoReplicas => f.write_str("NOREPLICAS Not enough good replicas to write."),
            ReadOnlyReplica => f.write_str("READONLY You can't write against a read only replica."),
            WaitOnReplica => f.write_str("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."),
            MisconfRdb => f.write_str("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."),
            MisconfAof(why) => write!(f, "MISCONF Errors writing to the AOF file: {why}"),
            Custom(s) => f.write_str(s),
        }
    }
}

impl CmdError {
    /// Builds Redis's unknown-command error: the name and up to the first few
    /// arguments, each quoted and truncated the way `processCommand` does.
    pub fn unknown_command(name: &[u8], args: &[bytes::Bytes]) -> CmdError {
        let mut quoted = String::new();
        for arg in args {
            if quoted.len() >= 128 {
                break;
            }
            let shown = truncate_lossy(arg, 128 - quoted.len());
            quoted.push('\'');
            quoted.push_str(&shown);
            quoted.push_str("' ");
        }
        CmdError::UnknownCommand {
            name: truncate_lossy(name, 128),
            args: quoted,
        }
    }

    pub fn unknown_subcommand(sub: &[u8], cmd: &str) -> CmdError {
        CmdError::UnknownSubcommand {
            sub: truncate_lossy(sub, 128),
            cmd: cmd.to_ascii_uppercase(),
        }
    }

    pub fn custom(s: impl Into<String>) -> CmdError {
        CmdError::Custom(s.into())
    }
}

/// Redis sanitises error text: newlines become spaces so the reply stays one line.
pub fn truncate_lossy(b: &[u8], max: usize) -> String {
    let cut = &b[..b.len().min(max)];
    String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

/// Sent, whole, to a client past `maxclients`, before it is disconnected.
pub const MAX_CLIENTS_REACHED: &str = "-ERR max number of clients reached\r\n";

/// Sent, whole, to a client that protected mode turns away before it can send
/// anything (Redis's clientAcceptHandler; the typos are Redis's).
pub const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected \
mode is enabled and no password is set for the default user. In this mode connections are only \
accepted from the loopback interface. If you want to connect from external computers to Redis you \
may adopt one of the following solutions: 1) Just disable protected mode sending the command \
'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same \
host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you \
do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the \
protected mode by editing the Redis configuration file, and setting the protected mode option to \
'no', and then restarting the server. 3) If you started the server manually just for testing, \
restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the \
default user. NOTE: You only need to do one of the above things in order for the server to start \
accepting connections from the outside.\r\n";

/// Errors that end the connection after their reply (framing errors).
#[derive(Debug, Clone, PartialEq)]
pub enum ProtocolError {
    InvalidMultibulkLength,
    InvalidBulkLength,
    ExpectedDollar(u8),
    UnbalancedQuotes,
    TooBigInline,
    TooBigMbulkCount,
    TooBigBulkCount,
    UnauthenticatedMultibulkLength,
    UnauthenticatedBulkLength,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProtocolError::*;
        f.write_str("ERR Protocol error: ")?;
        match self {
            InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            InvalidBulkLength => f.write_str("invalid bulk length"),
            ExpectedDollar(c) => write!(f, "expected '$', got '{}'", *c as char),
            UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
            TooBigInline => f.write_str("too big inline request"),
            TooBigMbulkCount => f.write_str("too big mbulk count string"),
            TooBigBulkCount => f.write_str("too big bulk count string"),
            UnauthenticatedMultibulkLength => f.write_str("unauthenticated multibulk length"),
            UnauthenticatedBulkLength => f.write_str("unauthenticated bulk length"),
        }
    }
}

pub type CmdResult<T> = Result<T, CmdError>;

/// Set error texts (Redis 7.0's t_set.c) beyond the shared ones, sent as
/// `CmdError::custom`; SINTERCARD also uses `zset::NUMKEYS` / `zset::LIMIT_NEGATIVE`.
pub mod set {
    pub const NUMKEYS_OVER_ARGS: &str = "ERR Number of keys can't be greater than number of args";
}

/// Sorted-set error texts (Redis 7.0's t_zset.c), sent as `CmdError::custom`;
/// pinned in `tests/errors.rs` with the other in-place texts.
pub mod zset {
    pub const XX_AND_NX: &str = "ERR XX and NX options at the same time are not compatible";
    pub const GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
    pub const INCR_PAIRS: &str = "ERR INCR option supports a single increment-element pair";
    pub const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";
    pub const MIN_MAX_FLOAT: &str = "ERR min or max is not a float";
    pub const MIN_MAX_LEX: &str = "ERR min or max not valid string range item";
    pub const LIMIT_WITH_RANK: &str =
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
    pub const WITHSCORES_BYLEX: &str =
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
    pub const NUMKEYS: &str = "ERR numkeys should be greater than 0";
    pub const WEIGHT_FLOAT: &str = "ERR weight value is not a float";
    pub const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
    pub const OUT_OF_RANGE: &str = "ERR value is out of range";
    pub const COUNT_RANGE: &str =
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

    /// ZUNION/ZINTER/ZDIFF[STORE]/ZINTERCARD with numkeys below 1.
    pub fn at_least_one_key(cmd: &str) -> String {
        format!("ERR at least 1 input key is needed for '{cmd}' command")
    }
}

/// Geo commands (Redis 7.0's geo.c).
pub mod geo {
    pub const NEED_RADIUS: &str = "ERR need numeric radius";
    pub const RADIUS_NEGATIVE: &str = "ERR radius cannot be negative";
    pub const UNIT: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";
    pub const NEED_WIDTH: &str = "ERR need numeric width";
    pub const NEED_HEIGHT: &str = "ERR need numeric height";
    pub const BOX_NEGATIVE: &str = "ERR height or width cannot be negative";
    pub const COUNT_POSITIVE: &str = "ERR COUNT must be > 0";
    pub const MEMBER: &str = "ERR could not decode requested zset member";
    pub const ANY_WITHOUT_COUNT: &str = "ERR the ANY argument requires COUNT argument";

    /// A coordinate outside -180..180 / -85.05112878..85.05112878 (C's `%f`).
    pub fn invalid_pair(lon: f64, lat: f64) -> String {
        format!("ERR invalid longitude,latitude pair {lon:.6},{lat:.6}")
    }

    /// STORE / STOREDIST / GEOSEARCHSTORE with WITHDIST, WITHHASH or WITHCOORD.
    pub fn store_incompatible(geosearchstore: bool) -> String {
        format!(
            "ERR {} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if geosearchstore {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        )
    }

    /// GEOSEARCH(STORE) without FROMMEMBER/FROMLONLAT (`cmd` as the client wrote it).
    pub fn from_needed(cmd: &str) -> String {
        format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {cmd}")
    }

    /// GEOSEARCH(STORE) without BYRADIUS/BYBOX.
    pub fn by_needed(cmd: &str) -> String {
        format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {cmd}")
    }
}

/// The texts of error replies that carry no argument, by what they say.
pub mod msg {
    // Scripting (Redis 7.0's eval.c / script.c / script_lua.c).
    pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
    pub const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
    pub const NUMKEYS_TOO_BIG: &str = "ERR Number of keys can't be greater than number of args";
    pub const NUMKEYS_NEGATIVE: &str = "ERR Number of keys can't be negative";
    pub const LUA_STACK_LIMIT: &str = "ERR reached lua stack limit";
    pub const SCRIPT_UNKNOWN_COMMAND: &str = "ERR Unknown Redis command called from script";
    pub const SCRIPT_WRONG_ARITY: &str =
        "ERR Wrong number of args calling Redis command from script";
    pub const SCRIPT_NOT_ALLOWED: &str = "ERR This Redis command is not allowed from script";
    pub const SCRIPT_WRITE_IN_READ_ONLY: &str =
        "ERR Write commands are not allowed from read-only scripts.";
    pub const SCRIPT_NO_ARGUMENTS: &str =
        "ERR Please specify at least one argument for this redis lib call";
    pub const SCRIPT_BAD_ARGUMENT: &str =
        "ERR Lua redis lib command arguments must be strings or integers";
    pub const SCRIPT_FLUSH_SYNTAX: &str = "ERR SCRIPT FLUSH only support SYNC|ASYNC option";
    pub fn script_compile(e: &str) -> String {
        format!("ERR Error compiling script (new function): {e}")
    }
    /// A Lua-level failure as a generic error (Redis's luaPushError / error
    /// handler prefix `ERR`).
    pub fn script_err(e: impl std::fmt::Display) -> String {
        format!("ERR {e}")
    }
    /// A script's error with where it was raised (Redis's luaCallFunction).
    pub fn script_error_at(text: &str, funcname: &str, source: &str, line: i64) -> String {
        format!("{text} script: {funcname}, on {source}:{line}.")
    }
    pub const SCRIPT_SETRESP_3: &str =
        "RESP version must be 2 (RESP3 scripts are not supported yet).";
    pub const SCRIPT_EXECUTION_FAILURE: &str = "ERR execution failure";
    pub fn script_failed(e: &str) -> String {
        format!("ERR Error running script {e}")
    }
    /// Followed by the variable's name in quotes (the Lua side appends it).
    pub const SCRIPT_NONEXISTENT_GLOBAL: &str =
        "Script attempted to access nonexistent global variable ";
    pub fn block_in_script(cmd: &str) -> String {
        format!("ERR {cmd} command is not allowed with BLOCK option from scripts")
    }
    pub const SCRIPT_DEBUG_MODE: &str = "ERR Use SCRIPT DEBUG YES/SYNC/NO";
    pub const SCRIPT_STALE_REPLICA: &str = "ERR Can not execute the command on a stale replica";
    pub const SCRIPT_LOG_ARGS: &str = "redis.log() requires two arguments or more.";
    pub const SCRIPT_LOG_LEVEL: &str = "Invalid debug level.";
    pub const SCRIPT_SHA1HEX_ARGS: &str = "wrong number of arguments";
    /// Returned (not raised) by redis.error_reply / status_reply, after `ERR `.
    pub const SCRIPT_REPLY_ARGS: &str = "wrong number or type of arguments";
    /// A command panicked inside `redis.call` (a bug): the script fails.
    pub const SCRIPT_COMMAND_PANICKED: &str =
        "ERR the command failed inside the server (see the log)";
    pub const HLL_WRONGTYPE: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
    pub const HLL_CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
    pub const HLL_NO_SUCH_KEY: &str = "ERR The specified key does not exist";
    pub const HLL_NOT_SPARSE: &str = "ERR HLL encoding is not sparse";
    /// CLIENT TRACKING BCAST: a new prefix overlaps one the client has
    /// (`existing`) or another one given with it.
    pub fn tracking_prefix_overlap(prefix: &[u8], other: &[u8], existing: bool) -> String {
        // addReplyErrorFormat turns newlines into spaces.
        let show = |b: &[u8]| String::from_utf8_lossy(b).replace(['\r', '\n'], " ");
        format!(
            "ERR Prefix '{}' overlaps with {} '{}'. Prefixes for a single client must not overlap.",
            show(prefix),
            if existing {
                "an existing prefix"
            } else {
                "another provided prefix"
            },
            show(other)
        )
    }
    pub fn pfdebug_unknown(sub: &str) -> String {
        format!("ERR Unknown PFDEBUG subcommand '{sub}'")
    }
    pub fn hll_selftest_failed(what: &str) -> String {
        format!("ERR TESTFAILED {what}")
    }
    pub fn latency_no_samples(event: &str) -> String {
        format!("ERR No samples available for event '{event}'")
    }
    // Not errors: Redis's fixed report texts (MEMORY DOCTOR / MALLOC-STATS).
    pub const MEMORY_DOCTOR_EMPTY: &str = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
    pub const MEMORY_DOCTOR_FINE: &str = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
    // LATENCY DOCTOR with no event: monitoring off, or on and quiet (latency.c).
    pub const LATENCY_DOCTOR_DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
    pub const LATENCY_DOCTOR_QUIET: &str = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";
    pub const MALLOC_STATS_UNSUPPORTED: &str = "Stats not supported for the current allocator";
    pub const MODULE_NOT_ALLOWED: &str = "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";
    pub const MODULE_LOAD_FAILED: &str =
        "ERR Error loading the extension. Please check the server logs.";
    pub const MODULE_NO_SUCH: &str = "ERR Error unloading module: no such module with that name";
    pub const MIGRATE_KEYS_WITH_KEY: &str =
        "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string";
    pub const MIGRATE_IOERR_CONNECT: &str = "IOERR error or timeout connecting to the client";
    pub const MIGRATE_IOERR_READ: &str = "IOERR error or timeout reading to target instance";
    pub fn migrate_target_error(e: &str) -> String {
        format!("ERR Target instance replied with error: {e}")
    }
    pub const SLOWLOG_COUNT: &str = "ERR count should be greater than or equal to -1";
    pub const CLUSTER_DISABLED: &str = "ERR This instance has cluster support disabled";
    pub const SCRIPT_CALL_OUTSIDE: &str =
        "redis.call/pcall can only be called inside a script invocation";
    pub const SETRESP_OUTSIDE: &str = "redis.setresp can only be called inside a script invocation";
    pub const SET_REPL_OUTSIDE: &str =
        "redis.set_repl can only be called inside a script invocation";
    pub const SETRESP_ARGS: &str = "redis.setresp() requires one argument.";
    pub const ACL_CHECK_CMD_OUTSIDE: &str =
        "redis.acl_check_cmd can only be called inside a script invocation";
    pub const ACL_CHECK_CMD_INVALID: &str = "Invalid command passed to redis.acl_check_cmd()";
    pub const SETRESP_VERSION: &str = "RESP version must be 2 or 3.";
    // Redis's own text, typo included.
    pub const SET_REPL_ARGS: &str = "redis.set_repl() requires two arguments.";
    pub const SET_REPL_FLAGS: &str =
        "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.";
    pub const SCRIPT_KILLED: &str = "Script killed by user with SCRIPT KILL...";
    pub const UNKILLABLE_FROM_MASTER: &str = "UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.";
    pub const UNKILLABLE_WROTE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
    pub const BUSY_SCRIPT: &str =
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    pub const BUSY_FUNCTION: &str =
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
    pub const SCRIPT_MASTERDOWN: &str = "MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.";
    pub const SCRIPT_READONLY_REPLICA: &str =
        "READONLY Can not run script with write flag on readonly replica";
    pub const SCRIPT_MISCONF_RDB: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.";
    pub fn script_misconf_aof(e: &str) -> String {
        format!("MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: {e}")
    }
    pub const SCRIPT_WRITE_FLAG_WITH_RO: &str =
        "ERR Can not execute a script with write flag using *_ro command.";
    pub const SCRIPT_OOM: &str = "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'";
    pub const SHEBANG_INVALID: &str = "ERR Invalid script shebang";
    pub const SHEBANG_INVALID_ENGINE: &str = "ERR Invalid engine in script shebang";
    pub fn shebang_engine(e: &str) -> String {
        format!("ERR Unexpected engine in script shebang: {e}")
    }
    pub fn shebang_flag(f: &str) -> String {
        format!("ERR Unexpected flag in script shebang: {f}")
    }
    pub fn shebang_option(o: &str) -> String {
        format!("ERR Unknown lua shebang option: {o}")
    }

    // Functions (Redis 7.0's functions.c / function_lua.c). The bare texts
    // are raised inside Lua (which adds `ERR `) or wrapped by `script_err`.
    pub const LIBRARY_NAME_FORMAT: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
    pub const NO_FUNCTIONS_REGISTERED: &str = "No functions registered";
    pub const MISSING_LIBRARY_METADATA: &str = "Missing library metadata";
    pub const INVALID_LIBRARY_METADATA: &str = "Invalid library metadata";
    pub const LIBRARY_NAME_TWICE: &str =
        "Invalid metadata value, name argument was given multiple times";
    pub fn invalid_metadata_value(part: &str) -> String {
        format!("Invalid metadata value given: {part}")
    }
    pub const LIBRARY_NAME_MISSING: &str = "Library name was not given";
    pub fn engine_not_found(e: &str) -> String {
        format!("Engine '{e}' not found")
    }
    pub fn library_exists(name: &str) -> String {
        format!("Library '{name}' already exists")
    }
    pub fn function_exists(name: &str) -> String {
        format!("Function {name} already exists")
    }
    pub fn function_compile(e: &str) -> String {
        format!("ERR Error compiling function: {e}")
    }
    pub fn function_register_failed(e: &str) -> String {
        format!("ERR Error registering functions: {e}")
    }
    pub const FUNCTION_LOAD_TIMEOUT: &str = "FUNCTION LOAD timeout";
    pub const FUNCTION_PAYLOAD_PRE_GA: &str = "Pre-GA function format not supported";
    pub const FUNCTION_PAYLOAD_NOT_FUNCTION: &str = "given type is not a function";
    pub const FUNCTION_PAYLOAD_FAILED: &str = "failed loading the given functions payload";
    pub const REGISTER_ONLY_ON_LOAD: &str =
        "redis.register_function can only be called on FUNCTION LOAD command";
    pub const REGISTER_WRONG_ARGS: &str = "wrong number of arguments to redis.register_function";
    pub const REGISTER_FIRST_ARG: &str =
        "first argument to redis.register_function must be a string";
    pub const REGISTER_SECOND_ARG: &str =
        "second argument to redis.register_function must be a function";
    pub const REGISTER_SINGLE_NOT_TABLE: &str = "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).";
    pub const REGISTER_KEY_NOT_STRING: &str =
        "named argument key given to redis.register_function is not a string";
    pub const REGISTER_NAME_NOT_STRING: &str =
        "function_name argument given to redis.register_function must be a string";
    pub const REGISTER_DESCRIPTION_NOT_STRING: &str =
        "description argument given to redis.register_function must be a string";
    pub const REGISTER_CALLBACK_NOT_FUNCTION: &str =
        "callback argument given to redis.register_function must be a function";
    pub const REGISTER_FLAGS_NOT_TABLE: &str =
        "flags argument to redis.register_function must be a table representing function flags";
    pub const REGISTER_UNKNOWN_FLAG: &str = "unknown flag given";
    pub const REGISTER_UNKNOWN_ARGUMENT: &str = "unknown argument given to redis.register_function";
    pub const REGISTER_NAME_MISSING: &str =
        "redis.register_function must get a function name argument";
    pub const REGISTER_CALLBACK_MISSING: &str =
        "redis.register_function must get a callback argument";
    pub const FUNCTION_EXISTS_IN_LIBRARY: &str = "Function already exists in the library";
    pub const FUNCTION_NOT_FOUND: &str = "ERR Function not found";
    pub const LIBRARY_NOT_FOUND: &str = "ERR Library not found";
    pub const FCALL_BAD_NUMKEYS: &str = "ERR Bad number of keys provided";
    /// Texts that echo an argument keep to one line (Redis maps CR / LF to spaces).
    fn one_line(s: &str) -> String {
        s.replace(['\r', '\n'], " ")
    }
    pub fn function_unknown_option(o: &str) -> String {
        format!("ERR Unknown option given: {}", one_line(o))
    }
    /// FUNCTION RESTORE APPEND of a library that exists (libraryJoin).
    pub fn library_exists_on_restore(name: &str) -> String {
        format!("ERR Library {name} already exists")
    }
    pub const FUNCTION_CODE_MISSING: &str = "ERR Function code is missing";
    pub const FUNCTION_LIST_NO_NAME: &str = "ERR library name argument was not given";
    pub fn function_list_unknown(a: &str) -> String {
        format!("ERR Unknown argument {}", one_line(a))
    }
    pub const FUNCTION_RESTORE_POLICY: &str =
        "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.";
    pub const FUNCTION_FLUSH_SYNTAX: &str = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option";
    pub const UNBLOCKED_CLIENT_UNBLOCKED_VIA_CLIENT_UNBLOCK: &str =
        "UNBLOCKED client unblocked via CLIENT UNBLOCK";
    pub const DEBUG_RELOAD_ONLY_SUPPORTS_THE_MERGE: &str =
        "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.";
    pub const ERROR_TRYING_TO_LOAD_THE_RDB: &str =
        "ERR Error trying to load the RDB dump, check server logs.";
    pub const BACKGROUND_SAVE_ALREADY_IN_PROGRESS: &str = "ERR Background save already in progress";
    pub const BGSAVE_IN_PROGRESS_USE_SCHEDULE: &str = "ERR Background save already in progress. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.";
    pub const REPLICA_CAN_T_INTERACT_WITH_THE: &str =
        "ERR Replica can't interact with the keyspace";
    pub const TIMEOUT_IS_OUT_OF_RANGE: &str = "ERR timeout is out of range";
    pub const DUMP_PAYLOAD_VERSION_OR_CHECKSUM_ARE: &str =
        "ERR DUMP payload version or checksum are wrong";
    pub const BAD_DATA_FORMAT: &str = "ERR Bad data format";
    pub const INVALID_IDLETIME_VALUE_MUST_BE_0: &str = "ERR Invalid IDLETIME value, must be >= 0";
    pub const INVALID_FREQ_VALUE_MUST_BE_0: &str =
        "ERR Invalid FREQ value, must be >= 0 and <= 255";
    pub const INVALID_TTL_VALUE_MUST_BE_0: &str = "ERR Invalid TTL value, must be >= 0";
    pub const BUSYKEY_TARGET_KEY_NAME_ALREADY_EXISTS: &str =
        "BUSYKEY Target key name already exists.";
    pub const ONE_OR_MORE_SCORES_CAN_T: &str =
        "ERR One or more scores can't be converted into double";
    pub const BACKGROUND_APPEND_ONLY_FILE_REWRITING_ALREADY: &str =
        "ERR Background append only file rewriting already in progress";
    pub const CAN_T_EXECUTE_AN_AOF_BACKGROUND: &str = "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.";
    pub const MONITOR_ISN_T_ALLOWED_FOR_DENY: &str =
        "ERR MONITOR isn't allowed for DENY BLOCKING client";
    pub const NO_SHUTDOWN_IN_PROGRESS: &str = "ERR No shutdown in progress.";
    pub const ERRORS_TRYING_TO_SHUTDOWN_CHECK_LOGS: &str =
        "ERR Errors trying to SHUTDOWN. Check logs.";
    pub const THE_SERVER_IS_RUNNING_WITHOUT_A: &str =
        "ERR The server is running without a config file";
    pub const INVALID_COMMAND_SPECIFIED: &str = "ERR Invalid command specified";
    pub const INVALID_NUMBER_OF_ARGUMENTS_SPECIFIED_FOR: &str =
        "ERR Invalid number of arguments specified for command";
    pub const THE_COMMAND_HAS_NO_KEY_ARGUMENTS: &str = "ERR The command has no key arguments";
    pub const INVALID_ARGUMENTS_SPECIFIED_FOR_COMMAND: &str =
        "ERR Invalid arguments specified for command";
    pub const WRONG_PROTOCOL_TYPE_NAME_PLEASE_USE: &str = "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false";
    pub const AN_LFU_MAXMEMORY_POLICY_IS_NOT: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
    pub const AUTH_PASSWORD_CALLED_WITHOUT_ANY_PASSWORD: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
    pub const WRONGPASS_INVALID_USERNAME_PASSWORD_PAIR_OR_USER: &str =
        "WRONGPASS invalid username-password pair or user is disabled.";
    pub const PROTOCOL_VERSION_IS_NOT_AN_INTEGER: &str =
        "ERR Protocol version is not an integer or out of range";
    pub const NOAUTH_HELLO_MUST_BE_CALLED_WITH_THE: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
    pub const INVALID_FIRST_DB_INDEX: &str = "ERR invalid first DB index";
    pub const INVALID_SECOND_DB_INDEX: &str = "ERR invalid second DB index";
    pub const INVALID_CLIENT_ID: &str = "ERR Invalid client ID";
    pub const CLIENT_ID_SHOULD_BE_GREATER_THAN: &str = "ERR client-id should be greater than 0";
    pub const TIMEOUT_IS_NOT_AN_INTEGER_OR: &str = "ERR timeout is not an integer or out of range";
    pub const TIMEOUT_IS_NEGATIVE: &str = "ERR timeout is negative";
    pub const CLIENT_PAUSE_MODE_MUST_BE_WRITE: &str = "ERR CLIENT PAUSE mode must be WRITE or ALL";
    pub const CLIENT_UNBLOCK_REASON_SHOULD_BE_TIMEOUT: &str =
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR";
    pub const TRACKING_SINGLE_REDIRECT: &str =
        "ERR A client can only redirect to a single other client";
    pub const TRACKING_NO_SUCH_REDIRECT: &str =
        "ERR The client ID you want redirect to does not exist";
    pub const TRACKING_PREFIX_NEEDS_BCAST: &str =
        "ERR PREFIX option requires BCAST mode to be enabled";
    pub const TRACKING_BCAST_SWITCH: &str = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.";
    pub const TRACKING_OPT_WITH_BCAST: &str = "ERR OPTIN and OPTOUT are not compatible with BCAST";
    pub const TRACKING_OPTIN_AND_OPTOUT: &str =
        "ERR You can't specify both OPTIN mode and OPTOUT mode";
    pub const TRACKING_OPT_SWITCH: &str = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.";
    pub const CACHING_NOT_TRACKING: &str = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled";
    pub const CACHING_YES_NOT_OPTIN: &str =
        "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.";
    pub const CACHING_NO_NOT_OPTOUT: &str =
        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.";
    pub const INDEX_OUT_OF_RANGE: &str = "ERR index out of range";
    pub const RANK_CAN_T_BE_ZERO_USE: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
    pub const COUNT_CAN_T_BE_NEGATIVE: &str = "ERR COUNT can't be negative";
    pub const MAXLEN_CAN_T_BE_NEGATIVE: &str = "ERR MAXLEN can't be negative";
    pub const NUMKEYS_SHOULD_BE_GREATER_THAN_0: &str = "ERR numkeys should be greater than 0";
    pub const COUNT_SHOULD_BE_GREATER_THAN_0: &str = "ERR count should be greater than 0";
    pub const DECREMENT_WOULD_OVERFLOW: &str = "ERR decrement would overflow";
    pub const BIT_OFFSET_IS_NOT_AN_INTEGER: &str =
        "ERR bit offset is not an integer or out of range";
    pub const BITPOS_BIT_ARGUMENT: &str = "ERR The bit argument must be 1 or 0.";
    pub const BITOP_NOT_ONE_KEY: &str = "ERR BITOP NOT must be called with a single source key.";
    pub const BITFIELD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
    pub const BITFIELD_OVERFLOW_TYPE: &str = "ERR Invalid OVERFLOW type specified";
    pub const BITFIELD_RO_GET_ONLY: &str = "ERR BITFIELD_RO only supports the GET subcommand";
    pub const BIT_IS_NOT_AN_INTEGER_OR: &str = "ERR bit is not an integer or out of range";
    pub const THE_SPECIFIED_KEYS_MUST_CONTAIN_STRING: &str =
        "ERR The specified keys must contain string values";
    pub const IF_YOU_WANT_BOTH_THE_LENGTH: &str =
        "ERR If you want both the length and indexes, please just use IDX.";
    pub const INSUFFICIENT_MEMORY_TRANSIENT_MEMORY_FOR_LCS: &str =
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
    pub const INVALID_MASTER_PORT: &str = "ERR Invalid master port";
    pub const SERVER_IS_SHUTTING_DOWN: &str = "ERR server is shutting down";
    pub const INVALID_STREAM_ID_SPECIFIED_AS_STREAM: &str =
        "ERR Invalid stream ID specified as stream command argument";
    pub const INVALID_START_ID_FOR_THE_INTERVAL: &str = "ERR invalid start ID for the interval";
    pub const INVALID_END_ID_FOR_THE_INTERVAL: &str = "ERR invalid end ID for the interval";
    pub const SYNTAX_ERROR_MAXLEN_AND_MINID_OPTIONS: &str =
        "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
    pub const THE_MAXLEN_ARGUMENT_MUST_BE_0: &str = "ERR The MAXLEN argument must be >= 0.";
    pub const THE_LIMIT_ARGUMENT_MUST_BE_0: &str = "ERR The LIMIT argument must be >= 0.";
    pub const LIMIT_WITHOUT_TRIMMING_STRATEGY: &str =
        "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy";
    pub const SYNTAX_ERROR_XTRIM_MUST_BE_CALLED: &str =
        "ERR syntax error, XTRIM must be called with a trimming strategy";
    pub const LIMIT_WITHOUT_APPROX: &str =
        "ERR syntax error, LIMIT cannot be used without the special ~ option";
    pub const XADD_ID_MUST_BE_ABOVE_ZERO: &str =
        "ERR The ID specified in XADD must be greater than 0-0";
    pub const THE_STREAM_HAS_EXHAUSTED_THE_LAST: &str =
        "ERR The stream has exhausted the last possible ID, unable to add more items";
    pub const XADD_ID_NOT_ABOVE_TOP: &str =
        "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    pub const UNBALANCED_XREAD_LIST_OF_STREAMS_FOR: &str =
        "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.";
    pub const THE_GROUP_OPTION_IS_ONLY_SUPPORTED: &str =
        "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.";
    pub const THE_NOACK_OPTION_IS_ONLY_SUPPORTED: &str =
        "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.";
    pub const MISSING_GROUP_OPTION_FOR_XREADGROUP: &str = "ERR Missing GROUP option for XREADGROUP";
    pub const XREADGROUP_DOLLAR_MEANINGLESS: &str = "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.";
    pub const XREAD_GT_ONLY_WITH_GROUP: &str = "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.";
    pub const UNBLOCKED_THE_STREAM_KEY_NO_LONGER_EXISTS: &str =
        "UNBLOCKED the stream key no longer exists";
    pub const NOGROUP_THE_CONSUMER_GROUP_THIS_CLIENT_WAS: &str =
        "NOGROUP the consumer group this client was blocked on no longer exists";
    pub const COUNT_MUST_BE_POSITIVE: &str = "ERR COUNT must be > 0";
    pub const INSUFFICIENT_MEMORY_FAILED_ALLOCATING_TRANSIENT_MEMORY: &str =
        "ERR Insufficient memory, failed allocating transient memory, COUNT too high.";
    pub const ENTRIES_ADDED_MUST_BE_POSITIVE: &str = "ERR entries_added must be positive";
    pub const XSETID_ID_BELOW_MAX_DELETED: &str =
        "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id";
    pub const XSETID_ID_BELOW_TOP: &str =
        "ERR The ID specified in XSETID is smaller than the target stream top item";
    pub const THE_ENTRIES_ADDED_SPECIFIED_IN_XSETID: &str =
        "ERR The entries_added specified in XSETID is smaller than the target stream length";
    pub const VALUE_FOR_ENTRIESREAD_MUST_BE_POSITIVE: &str =
        "ERR value for ENTRIESREAD must be positive or -1";
    pub const THE_XGROUP_SUBCOMMAND_REQUIRES_THE_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
    pub const BUSYGROUP_CONSUMER_GROUP_NAME_ALREADY_EXISTS: &str =
        "BUSYGROUP Consumer Group name already exists";
    pub const SSUBSCRIBE_ISN_T_ALLOWED_FOR_A: &str =
        "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client";
    pub const HASH_VALUE_IS_NOT_AN_INTEGER: &str = "ERR hash value is not an integer";
    pub const VALUE_IS_NAN_OR_INFINITY: &str = "ERR value is NaN or Infinity";
    pub const HASH_VALUE_IS_NOT_A_FLOAT: &str = "ERR hash value is not a float";
    pub const VALUE_OUT_OF_RANGE_I64_BOUNDS: &str = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    pub const VALUE_IS_OUT_OF_RANGE: &str = "ERR value is out of range";
    /// A command reached a key it did not declare whose shard another
    /// command held (Cinnabar's own: Redis has one keyspace).
    pub const UNDECLARED_KEY: &str =
        "ERR the command accessed a key it did not declare while another command held it; retry";
    /// Redis's `shared.err`: a failure it gives no reason for (SAVE).
    pub const ERR_BARE: &str = "ERR";
    pub const XCLAIM_INVALID_MIN_IDLE: &str = "ERR Invalid min-idle-time argument for XCLAIM";
    pub const XCLAIM_INVALID_IDLE: &str = "ERR Invalid IDLE option argument for XCLAIM";
    pub const XCLAIM_INVALID_TIME: &str = "ERR Invalid TIME option argument for XCLAIM";
    pub const XCLAIM_INVALID_RETRYCOUNT: &str = "ERR Invalid RETRYCOUNT option argument for XCLAIM";
    pub const XAUTOCLAIM_INVALID_MIN_IDLE: &str =
        "ERR Invalid min-idle-time argument for XAUTOCLAIM";
    /// What a master answers a replica's PING with while it is protected
    /// (the replica then authenticates).
    pub const MASTER_PING_NOT_PERMITTED: &str = "-ERR operation not permitted";

    use super::CmdError;

    fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(b)
    }

    /// A subcommand that is unknown or has the wrong number of arguments.
    pub fn subcommand_syntax(sub: &str, cmd: &str) -> CmdError {
        CmdError::custom(format!(
            "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {cmd} HELP."
        ))
    }

    pub fn rewriting_config_file(e: &str) -> CmdError {
        CmdError::custom(format!("ERR Rewriting config file: {e}"))
    }

    pub fn config_rewrite_force_all_failed(e: &dyn std::fmt::Display) -> CmdError {
        CmdError::custom(format!("ERR CONFIG-REWRITE-FORCE-ALL failed: {e}"))
    }

    pub fn unsupported_option(opt: &[u8]) -> CmdError {
        CmdError::custom(format!("ERR Unsupported option {}", lossy(opt)))
    }

    pub fn hello_option_syntax(opt: &[u8]) -> CmdError {
        CmdError::custom(format!("ERR Syntax error in HELLO option '{}'", lossy(opt)))
    }

    /// CLIENT SETNAME / SETINFO: `what` is the attribute's name as given.
    pub fn cannot_contain_spaces(what: &[u8]) -> CmdError {
        CmdError::custom(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            lossy(what).to_ascii_lowercase()
        ))
    }

    pub fn unrecognized_option(opt: &[u8]) -> CmdError {
        CmdError::custom(format!("ERR Unrecognized option '{}'", lossy(opt)))
    }

    pub fn unknown_client_type(t: &[u8]) -> CmdError {
        CmdError::custom(format!("ERR Unknown client type '{}'", lossy(t)))
    }

    pub fn no_such_user(user: &str) -> CmdError {
        CmdError::custom(format!("ERR No such user '{user}'"))
    }

    pub fn replconf_unrecognized(opt: &[u8]) -> CmdError {
        CmdError::custom(format!("ERR Unrecognized REPLCONF option: {}", lossy(opt)))
    }

    pub fn xclaim_unrecognized(opt: &[u8]) -> CmdError {
        CmdError::custom(format!("ERR Unrecognized XCLAIM option '{}'", lossy(opt)))
    }

    /// NOGROUP for a missing key or group; `context` follows the text as is.
    pub fn nogroup_key_or_group(key: &[u8], group: &[u8], context: &str) -> CmdError {
        CmdError::custom(format!(
            "NOGROUP No such key '{}' or consumer group '{}'{context}",
            lossy(key),
            lossy(group)
        ))
    }

    pub fn nogroup_for_key(group: &[u8], key: &[u8]) -> CmdError {
        CmdError::custom(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            lossy(group),
            lossy(key)
        ))
    }

    /// EXEC refused because of an error found when it was called.
    pub fn exec_abort_because(e: &CmdError) -> String {
        format!("EXECABORT Transaction discarded because of: {e}")
    }

    // ACL (Redis 7.0's acl.c, server.c's processCommand, multi.c's EXEC,
    // script.c's scriptVerifyACL).
    pub const ACL_RULE_WRONG_FORMAT: &str = "Wrong format";
    pub const ACL_RULE_UNKNOWN_COMMAND: &str = "Unknown command or category name in ACL";
    pub const ACL_RULE_SYNTAX: &str = "Syntax error";
    pub const ACL_RULE_KEYS_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    pub const ACL_RULE_CHANNELS_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
    pub const ACL_RULE_NO_SUCH_PASSWORD: &str =
        "The password you are trying to remove from the user does not exist";
    pub const ACL_RULE_BAD_HASH: &str = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
    pub const ACL_RULE_DUPLICATE_USER: &str =
        "Duplicate user found. A user can only be defined once in config files";
    pub const ACL_RULE_FIRST_ARG_OF_SUBCOMMAND: &str =
        "Allowing first-arg of a subcommand is not supported";
    pub const ACL_USERNAME_SPACES: &str = "ERR Usernames can't contain spaces or null characters";
    pub const ACL_DEFAULT_CANNOT_BE_REMOVED: &str = "ERR The 'default' user cannot be removed";
    pub const ACL_NO_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";
    pub const ACL_SAVE_FAILED: &str = "ERR There was an error trying to save the ACLs. Please check the server logs for more information";
    pub const ACL_GENPASS_BITS: &str = "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096";
    pub const NOPERM_KEYS: &str =
        "NOPERM this user has no permissions to access one of the keys used as arguments";
    pub const NOPERM_CHANNELS: &str =
        "NOPERM this user has no permissions to access one of the channels used as arguments";
    pub const SORT_BY_DENIED: &str =
        "ERR BY option of SORT denied due to insufficient ACL permissions.";
    pub const SORT_GET_DENIED: &str =
        "ERR GET option of SORT denied due to insufficient ACL permissions.";
    pub const ACL_DENIED_CMD: &str = "can't run this command or subcommand";
    pub const ACL_DENIED_KEY: &str =
        "can't access at least one of the keys mentioned in the command arguments";
    pub const ACL_DENIED_CHANNEL: &str = "can't publish to the channel mentioned in the command";
    pub const EXEC_DENIED_CMD: &str = "no permission to execute the command or subcommand";
    pub const EXEC_DENIED_KEY: &str = "no permission to touch the specified keys";
    pub const EXEC_DENIED_CHANNEL: &str =
        "no permission to access one of the channels used as arguments";

    pub fn noperm_command(fullname: &str) -> String {
        format!("NOPERM this user has no permissions to run the '{fullname}' command")
    }

    pub fn noperm_exec(reason: &str) -> String {
        format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}")
    }

    pub fn noperm_script(reason: &str) -> String {
        format!("ERR The user executing the script {reason}")
    }

    pub fn acl_setuser_modifier(op: &[u8], why: &str) -> String {
        format!("ERR Error in ACL SETUSER modifier '{}': {why}", lossy(op))
    }

    pub fn acl_unmatched_parenthesis(op: &[u8]) -> String {
        format!(
            "ERR Unmatched parenthesis in acl selector starting at '{}'.",
            lossy(op)
        )
    }

    /// ACL LOAD: every problem of the file, in one line.
    pub fn acl_load_failed(errors: &str) -> String {
        format!("ERR {errors}")
    }

    pub fn acl_unknown_category(cat: &[u8]) -> CmdError {
        let cat = lossy(cat);
        let cut: String = cat.chars().take(128).collect();
        CmdError::custom(format!("ERR Unknown category '{cut}'"))
    }

    pub fn acl_dryrun_no_user(user: &[u8]) -> CmdError {
        CmdError::custom(format!("ERR User '{}' not found", lossy(user)))
    }

    pub fn acl_dryrun_no_command(cmd: &[u8]) -> CmdError {
        CmdError::custom(format!("ERR Command '{}' not found", lossy(cmd)))
    }

    pub fn acl_dryrun_arity(fullname: &str) -> CmdError {
        CmdError::custom(format!(
            "ERR wrong number of arguments for '{fullname}' command"
        ))
    }

    pub fn acl_dryrun_denied_command(fullname: &str) -> String {
        format!("This user has no permissions to run the '{fullname}' command")
    }

    pub fn acl_dryrun_denied_key(key: &[u8]) -> String {
        format!(
            "This user has no permissions to access the '{}' key",
            lossy(key)
        )
    }

    pub fn acl_dryrun_denied_channel(channel: &[u8]) -> String {
        format!(
            "This user has no permissions to access the '{}' channel",
            lossy(channel)
        )
    }
}
