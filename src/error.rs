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
