//! Golden test of every error string the server sends.
//!
//! Each variant of `CmdError` and `ProtocolError` has at least one case: its
//! text (`Display`) must equal what redis-server 7.0.15 sends, and the request
//! that triggers it must produce exactly `-<text>\r\n` on the wire. Every
//! expected string was checked against a real redis-server 7.0.15 (run this
//! file with `CINNABAR_TEST_EXTERNAL_PORT`, see tests/common).
//!
//! `variant_of` / `protocol_variant_of` match without a wildcard: adding a
//! variant to src/error.rs fails to compile here until it gets a golden case.

mod common;

use bytes::Bytes;
use cinnabar::error::{CmdError, ProtocolError};
use common::{assert_bytes, Raw, Resp, TestServer, TEST_PASSWORD};

/// A distinct index per `CmdError` variant (no wildcard on purpose).
fn variant_of(e: &CmdError) -> usize {
    use CmdError::*;
    match e {
        UnknownCommand { .. } => 0,
        UnknownSubcommand { .. } => 1,
        WrongArity(_) => 2,
        WrongType => 3,
        Syntax => 4,
        NotInteger => 5,
        NotFloat => 6,
        Overflow => 7,
        IncrNanOrInf => 8,
        NoSuchKey => 9,
        SameObject => 10,
        DbIndexOutOfRange => 11,
        InvalidExpire(_) => 12,
        ExpireNotOnlyOne => 13,
        GtLtNx => 14,
        StringTooLong => 15,
        OffsetOutOfRange => 16,
        NestedMulti => 17,
        ExecWithoutMulti => 18,
        DiscardWithoutMulti => 19,
        WatchInMulti => 20,
        ExecAbort => 21,
        NotAllowedInMulti => 22,
        TimeoutNegative => 23,
        TimeoutNotFloat => 24,
        CountNotPositive => 25,
        ValueNotPositive(_) => 26,
        OutOfRangeMustBePositive => 27,
        NoProto => 28,
        UnsupportedProto => 29,
        ConfigUnknownParam(_) => 30,
        ConfigSetFailed { .. } => 31,
        ConfigGetArity => 32,
        ClientNameSpaces => 33,
        NoSuchClient => 34,
        InvalidCursor => 35,
        SubscribedContext { .. } => 36,
        NoAuth => 37,
        Custom(_) => 38,
        Oom => 39,
        ReadOnlyReplica => 40,
        WaitOnReplica => 41,
        NoReplicas => 42,
        MasterDown => 43,
        MisconfRdb => 44,
        MisconfAof(_) => 45,
        DebugNotAllowed => 46,
    }
}
const CMD_VARIANTS: usize = 47;

fn protocol_variant_of(e: &ProtocolError) -> usize {
    use ProtocolError::*;
    match e {
        InvalidMultibulkLength => 0,
        InvalidBulkLength => 1,
        ExpectedDollar(_) => 2,
        UnbalancedQuotes => 3,
        TooBigInline => 4,
        TooBigMbulkCount => 5,
        TooBigBulkCount => 6,
        UnauthenticatedMultibulkLength => 7,
        UnauthenticatedBulkLength => 8,
    }
}
const PROTOCOL_VARIANTS: usize = 9;

/// When the request can be checked on the wire.
#[derive(Clone, Copy, PartialEq)]
enum Wire {
    /// Always.
    Now,
    /// Once the command exists in the server's table (list commands, which
    /// are added separately); until then only the text is checked.
    WhenImplemented,
}

/// A setup step: a command (its reply is read and ignored) or a list to create.
enum Step {
    Cmd(&'static [&'static str]),
    List(&'static str),
}

struct Case {
    error: CmdError,
    setup: Vec<Step>,
    request: &'static [&'static str],
    /// Exactly what redis-server 7.0.15 sends, without `-` and CRLF.
    expected: &'static str,
    wire: Wire,
}

fn case(error: CmdError, request: &'static [&'static str], expected: &'static str) -> Case {
    Case {
        error,
        setup: Vec::new(),
        request,
        expected,
        wire: Wire::Now,
    }
}

impl Case {
    fn after(mut self, steps: Vec<Step>) -> Case {
        self.setup = steps;
        self
    }
    fn when_implemented(mut self) -> Case {
        self.wire = Wire::WhenImplemented;
        self
    }
}

fn custom(request: &'static [&'static str], expected: &'static str) -> Case {
    case(CmdError::Custom(expected.to_string()), request, expected)
}

/// Every error a client without special server settings can trigger.
fn cases() -> Vec<Case> {
    use CmdError::*;
    use Step::{Cmd, List};
    vec![
        case(
            CmdError::unknown_command(b"FOO", &[Bytes::from("a"), Bytes::from("b")]),
            &["FOO", "a", "b"],
            "ERR unknown command 'FOO', with args beginning with: 'a' 'b' ",
        ),
        case(
            CmdError::unknown_command(b"x", &[]),
            &["x"],
            "ERR unknown command 'x', with args beginning with: ",
        ),
        case(
            CmdError::unknown_subcommand(b"FOO", "config"),
            &["CONFIG", "FOO"],
            "ERR unknown subcommand 'FOO'. Try CONFIG HELP.",
        ),
        case(
            CmdError::unknown_subcommand(b"nope", "client"),
            &["CLIENT", "nope"],
            "ERR unknown subcommand 'nope'. Try CLIENT HELP.",
        ),
        case(WrongArity("get".into()), &["GET"], "ERR wrong number of arguments for 'get' command"),
        case(
            WrongArity("client|setname".into()),
            &["CLIENT", "SETNAME"],
            "ERR wrong number of arguments for 'client|setname' command",
        ),
        case(WrongType, &["GET", "l"], "WRONGTYPE Operation against a key holding the wrong kind of value")
            .after(vec![List("l")]),
        case(Syntax, &["SET", "a", "b", "NX", "XX"], "ERR syntax error"),
        case(NotInteger, &["INCRBY", "a", "x"], "ERR value is not an integer or out of range"),
        case(NotFloat, &["INCRBYFLOAT", "a", "x"], "ERR value is not a valid float"),
        case(Overflow, &["INCR", "a"], "ERR increment or decrement would overflow")
            .after(vec![Cmd(&["SET", "a", "9223372036854775807"])]),
        case(IncrNanOrInf, &["INCRBYFLOAT", "a", "inf"], "ERR increment would produce NaN or Infinity"),
        case(NoSuchKey, &["RENAME", "nope", "x"], "ERR no such key"),
        case(SameObject, &["COPY", "a", "a"], "ERR source and destination objects are the same")
            .after(vec![Cmd(&["SET", "a", "1"])]),
        case(DbIndexOutOfRange, &["SELECT", "16"], "ERR DB index is out of range"),
        case(InvalidExpire("set".into()), &["SET", "a", "b", "EX", "0"], "ERR invalid expire time in 'set' command"),
        case(
            InvalidExpire("expire".into()),
            &["EXPIRE", "a", "9223372036854775807"],
            "ERR invalid expire time in 'expire' command",
        )
        .after(vec![Cmd(&["SET", "a", "1"])]),
        case(
            ExpireNotOnlyOne,
            &["EXPIRE", "a", "10", "NX", "XX"],
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ),
        case(GtLtNx, &["EXPIRE", "a", "10", "GT", "LT"], "ERR GT and LT options at the same time are not compatible"),
        case(
            StringTooLong,
            &["SETRANGE", "a", "536870911", "xx"],
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ),
        case(OffsetOutOfRange, &["SETRANGE", "a", "-1", "x"], "ERR offset is out of range"),
        case(NestedMulti, &["MULTI"], "ERR MULTI calls can not be nested").after(vec![Cmd(&["MULTI"])]),
        case(ExecWithoutMulti, &["EXEC"], "ERR EXEC without MULTI"),
        case(DiscardWithoutMulti, &["DISCARD"], "ERR DISCARD without MULTI"),
        case(WatchInMulti, &["WATCH", "a"], "ERR WATCH inside MULTI is not allowed").after(vec![Cmd(&["MULTI"])]),
        case(ExecAbort, &["EXEC"], "EXECABORT Transaction discarded because of previous errors.")
            .after(vec![Cmd(&["MULTI"]), Cmd(&["NOSUCHCOMMAND"])]),
        case(NotAllowedInMulti, &["SAVE"], "ERR Command not allowed inside a transaction").after(vec![Cmd(&["MULTI"])]),
        case(TimeoutNegative, &["BLPOP", "k", "-1"], "ERR timeout is negative").when_implemented(),
        case(TimeoutNotFloat, &["BLPOP", "k", "abc"], "ERR timeout is not a float or out of range").when_implemented(),
        case(CountNotPositive, &["LMPOP", "1", "k", "LEFT", "COUNT", "0"], "ERR count should be greater than 0")
            .when_implemented(),
        case(ValueNotPositive("numkeys"), &["LMPOP", "0", "k", "LEFT"], "ERR numkeys should be greater than 0")
            .when_implemented(),
        case(OutOfRangeMustBePositive, &["LPOP", "k", "-1"], "ERR value is out of range, must be positive")
            .when_implemented(),
        case(NoProto, &["HELLO", "4"], "NOPROTO unsupported protocol version"),
        case(UnsupportedProto, &["HELLO", "1"], "NOPROTO unsupported protocol version"),
        case(
            ConfigUnknownParam("foo".into()),
            &["CONFIG", "SET", "foo", "bar"],
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
        ),
        case(
            ConfigSetFailed {
                param: "maxclients".into(),
                reason: "argument couldn't be parsed into an integer".into(),
            },
            &["CONFIG", "SET", "maxclients", "abc"],
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer",
        ),
        case(
            ConfigSetFailed {
                param: "daemonize".into(),
                reason: "can't set immutable config".into(),
            },
            &["CONFIG", "SET", "daemonize", "yes"],
            "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
        ),
        case(ConfigGetArity, &["CONFIG", "GET"], "ERR wrong number of arguments for 'config|get' command"),
        case(
            ClientNameSpaces,
            &["CLIENT", "SETNAME", "a b"],
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ),
        case(NoSuchClient, &["CLIENT", "KILL", "1.2.3.4:5"], "ERR No such client"),
        case(InvalidCursor, &["SCAN", "x"], "ERR invalid cursor"),
        case(
            SubscribedContext { cmd: "get".into() },
            &["GET", "x"],
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        )
        .after(vec![Cmd(&["SUBSCRIBE", "ch"])]),
        case(
            SubscribedContext {
                cmd: "config|get".into(),
            },
            &["CONFIG", "GET", "x"],
            "ERR Can't execute 'config|get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        )
        .after(vec![Cmd(&["PSUBSCRIBE", "p*"])]),
        // Texts built in place (CmdError::Custom).
        custom(&["EXPIRE", "a", "10", "FOO"], "ERR Unsupported option FOO"),
        custom(&["DECRBY", "a", "-9223372036854775808"], "ERR decrement would overflow"),
        custom(
            &["AUTH", "foo"],
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ),
        custom(&["HELLO", "x"], "ERR Protocol version is not an integer or out of range"),
        custom(&["HELLO", "3", "foo"], "ERR Syntax error in HELLO option 'foo'"),
        custom(&["SWAPDB", "x", "1"], "ERR invalid first DB index"),
        custom(&["SWAPDB", "1", "x"], "ERR invalid second DB index"),
        custom(&["CLIENT", "KILL", "ID", "0"], "ERR client-id should be greater than 0"),
        custom(&["CLIENT", "LIST", "TYPE", "foo"], "ERR Unknown client type 'foo'"),
        custom(&["CLIENT", "LIST", "ID", "abc"], "ERR Invalid client ID"),
        custom(&["CLIENT", "PAUSE", "abc"], "ERR timeout is not an integer or out of range"),
        custom(&["CLIENT", "PAUSE", "-1"], "ERR timeout is negative"),
        custom(&["CLIENT", "UNBLOCK", "1", "foo"], "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
        custom(&["COMMAND", "GETKEYS", "foo", "a"], "ERR Invalid command specified"),
        custom(&["COMMAND", "GETKEYS", "get", "a", "b"], "ERR Invalid number of arguments specified for command"),
        custom(&["COMMAND", "GETKEYS", "ping", "x"], "ERR The command has no key arguments"),
        custom(
            &["CONFIG", "SET", "maxclients", "10", "maxclients", "20"],
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - duplicate parameter",
        ),
        custom(
            &["CONFIG", "SET", "proto-max-bulk-len", "10"],
            "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        custom(
            &["CONFIG", "SET", "notify-keyspace-events", "Z"],
            "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
        ),
        custom(
            &["CONFIG", "SET", "appendfsync", "foo"],
            "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no",
        ),
        custom(
            &["CONFIG", "SET", "maxmemory-policy", "foo"],
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
        ),
        custom(
            &["CONFIG", "SET", "lazyfree-lazy-user-del", "maybe"],
            "ERR CONFIG SET failed (possibly related to argument 'lazyfree-lazy-user-del') - argument must be 'yes' or 'no'",
        ),
        custom(
            &["CONFIG", "SET", "save", "abc"],
            "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters",
        ),
        custom(
            &["CONFIG", "SET", "client-output-buffer-limit", "foo 1 2 3"],
            "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration.",
        ),
        custom(
            &["CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"],
            "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration.",
        ),
        custom(&["CONFIG", "REWRITE"], "ERR The server is running without a config file"),
        custom(
            &["PUBSUB", "CHANNELS", "a", "b"],
            "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.",
        ),
        custom(
            &["PUBSUB", "SHARDCHANNELS", "a", "b"],
            "ERR unknown subcommand or wrong number of arguments for 'SHARDCHANNELS'. Try PUBSUB HELP.",
        ),
        custom(
            &["DEBUG", "PROTOCOL", "foo"],
            "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ),
        custom(
            &["OBJECT", "FREQ", "a"],
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        )
        .after(vec![Cmd(&["SET", "a", "1"])]),
        custom(&["SHUTDOWN", "ABORT"], "ERR No shutdown in progress."),
        custom(&["HINCRBY", "hx", "f", "1"], "ERR hash value is not an integer")
            .after(vec![Cmd(&["HSET", "hx", "f", "x"])]),
        custom(&["HINCRBYFLOAT", "hx", "f", "1"], "ERR hash value is not a float")
            .after(vec![Cmd(&["HSET", "hx", "f", "x"])]),
        custom(&["HINCRBYFLOAT", "hx", "f", "inf"], "ERR value is NaN or Infinity"),
        custom(&["HRANDFIELD", "hx", "-9223372036854770000", "WITHVALUES"], "ERR value is out of range"),
        custom(
            &["HRANDFIELD", "hx", "-9223372036854775808"],
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
        // Sorted sets (src/error.rs `zset`).
        custom(&["ZADD", "z", "NX", "XX", "1", "a"], "ERR XX and NX options at the same time are not compatible"),
        custom(&["ZADD", "z", "GT", "LT", "1", "a"], "ERR GT, LT, and/or NX options at the same time are not compatible"),
        custom(&["ZADD", "z", "INCR", "1", "a", "2", "b"], "ERR INCR option supports a single increment-element pair"),
        custom(&["ZINCRBY", "z", "-inf", "a"], "ERR resulting score is not a number (NaN)")
            .after(vec![Cmd(&["ZADD", "z", "inf", "a"])]),
        custom(&["ZCOUNT", "z", "x", "1"], "ERR min or max is not a float"),
        custom(&["ZLEXCOUNT", "z", "x", "+"], "ERR min or max not valid string range item"),
        custom(
            &["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"],
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ),
        custom(
            &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ),
        custom(&["ZMPOP", "0", "z", "MIN"], "ERR numkeys should be greater than 0"),
        custom(&["ZUNION", "0", "z"], "ERR at least 1 input key is needed for 'zunion' command"),
        custom(&["ZUNION", "1", "z", "WEIGHTS", "x"], "ERR weight value is not a float"),
        custom(&["ZINTERCARD", "1", "z", "LIMIT", "-1"], "ERR LIMIT can't be negative"),
        custom(&["ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES"], "ERR value is out of range"),
        custom(
            &["ZRANDMEMBER", "z", "-9223372036854775808"],
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
        // Geo (src/error.rs `geo`).
        custom(&["GEOADD", "g", "200", "100", "m"], "ERR invalid longitude,latitude pair 200.000000,100.000000"),
        custom(&["GEORADIUS", "g", "0", "0", "x", "km"], "ERR need numeric radius"),
        custom(&["GEORADIUS", "g", "0", "0", "-1", "km"], "ERR radius cannot be negative"),
        custom(&["GEODIST", "g", "a", "b", "parsec"], "ERR unsupported unit provided. please use M, KM, FT, MI"),
        custom(&["GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYBOX", "x", "1", "km"], "ERR need numeric width"),
        custom(&["GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYBOX", "1", "x", "km"], "ERR need numeric height"),
        custom(&["GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYBOX", "1", "-1", "km"], "ERR height or width cannot be negative"),
        custom(&["GEORADIUS", "g", "0", "0", "1", "km", "COUNT", "0"], "ERR COUNT must be > 0"),
        custom(&["GEORADIUSBYMEMBER", "g", "nope", "1", "km"], "ERR could not decode requested zset member")
            .after(vec![Cmd(&["GEOADD", "g", "1", "1", "a"])]),
        custom(&["GEORADIUS", "g", "0", "0", "1", "km", "ANY"], "ERR the ANY argument requires COUNT argument"),
        custom(
            &["GEORADIUS", "g", "0", "0", "1", "km", "STORE", "d", "WITHDIST"],
            "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
        custom(
            &["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km", "WITHHASH"],
            "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
        custom(
            &["GEOSEARCH", "g", "BYRADIUS", "1", "km", "ASC", "ASC"],
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH",
        ),
        custom(
            &["GEOSEARCH", "g", "FROMLONLAT", "0", "0", "ASC", "ASC"],
            "ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH",
        ),
        custom(&["SINTERCARD", "0", "s"], "ERR numkeys should be greater than 0"),
        custom(
            &["SINTERCARD", "2", "s"],
            "ERR Number of keys can't be greater than number of args",
        ),
        custom(&["SINTERCARD", "1", "s", "LIMIT", "x"], "ERR LIMIT can't be negative"),
    ]
}

/// Whether the server knows the command `name` (COMMAND INFO answers a null for unknown names).
async fn has_command(c: &mut Raw, name: &str) -> bool {
    let info = c.val(&["COMMAND", "INFO", name]).await;
    !matches!(info.items()[0], Resp::NilBulk | Resp::NilArray | Resp::Null)
}

#[test]
fn every_variant_has_a_golden_case() {
    let mut covered = [false; CMD_VARIANTS];
    for c in cases() {
        covered[variant_of(&c.error)] = true;
    }
    covered[variant_of(&CmdError::NoAuth)] = true; // in auth_errors_on_the_wire
    covered[variant_of(&CmdError::Oom)] = true; // in oom_error_on_the_wire
                                                // In replication_errors_on_the_wire:
    covered[variant_of(&CmdError::ReadOnlyReplica)] = true;
    covered[variant_of(&CmdError::WaitOnReplica)] = true;
    covered[variant_of(&CmdError::NoReplicas)] = true;
    covered[variant_of(&CmdError::MasterDown)] = true;
    // In disk_error_texts (and tests/aof.rs for the AOF one on the wire):
    covered[variant_of(&CmdError::MisconfRdb)] = true;
    covered[variant_of(&CmdError::MisconfAof(String::new()))] = true;
    // In debug_disabled_error below (on the wire).
    covered[variant_of(&CmdError::DebugNotAllowed)] = true;
    let missing: Vec<usize> = (0..CMD_VARIANTS).filter(|i| !covered[*i]).collect();
    assert!(
        missing.is_empty(),
        "CmdError variants without a golden case (indices in variant_of): {missing:?}"
    );
    let mut covered = [false; PROTOCOL_VARIANTS];
    for (e, _, _) in protocol_cases() {
        covered[protocol_variant_of(&e)] = true;
    }
    for (e, _, _) in unauthenticated_protocol_cases() {
        covered[protocol_variant_of(&e)] = true;
    }
    let missing: Vec<usize> = (0..PROTOCOL_VARIANTS).filter(|i| !covered[*i]).collect();
    assert!(
        missing.is_empty(),
        "ProtocolError variants without a golden case: {missing:?}"
    );
}

#[test]
fn error_texts_match_redis() {
    for c in cases() {
        assert_eq!(c.error.to_string(), c.expected, "Display of {:?}", c.error);
    }
    assert_eq!(
        CmdError::NoAuth.to_string(),
        "NOAUTH Authentication required."
    );
    for (e, _, expected) in protocol_cases()
        .into_iter()
        .chain(unauthenticated_protocol_cases())
    {
        assert_eq!(format!("-{e}\r\n").as_bytes(), expected, "Display of {e:?}");
    }
}

#[tokio::test]
async fn command_errors_on_the_wire() {
    let srv = TestServer::start().await;
    let mut checked = 0;
    for case in cases() {
        let mut c = srv.raw().await;
        c.expect(&["FLUSHALL"], b"+OK\r\n").await;
        if case.wire == Wire::WhenImplemented && !has_command(&mut c, case.request[0]).await {
            eprintln!(
                "not yet implemented here, text checked only: {:?}",
                case.request
            );
            continue;
        }
        for step in &case.setup {
            match step {
                Step::Cmd(cmd) => {
                    c.cmd(cmd).await;
                }
                Step::List(key) => common::make_list(&srv, &mut c, key).await,
            }
        }
        let got = c.cmd(case.request).await;
        assert_bytes(
            &got,
            format!("-{}\r\n", case.expected).as_bytes(),
            &format!("{:?}", case.request),
        );
        // Command errors never close the connection (PING is checked where it
        // would not be queued or answered in subscriber form).
        if !matches!(
            case.setup.first(),
            Some(Step::Cmd(["SUBSCRIBE" | "PSUBSCRIBE" | "MULTI", ..]))
        ) {
            c.assert_idle().await;
        }
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} cases checked on the wire");
}

#[tokio::test]
async fn auth_errors_on_the_wire() {
    let srv = TestServer::start_with(&[("requirepass", TEST_PASSWORD)]).await;
    let mut c = srv.raw().await;
    c.expect(&["GET", "x"], format!("-{}\r\n", CmdError::NoAuth))
        .await;
    c.expect(
        &["AUTH", "wrong"],
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    )
    .await;
    c.expect(
        &["HELLO", "3"],
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n",
    )
    .await;
    c.expect(&["AUTH", TEST_PASSWORD], b"+OK\r\n").await;
}

/// DEBUG is refused unless enabled at startup (Redis 7.0's default).
#[tokio::test]
async fn debug_disabled_error() {
    if common::external_port().is_some() {
        return; // enable-debug-command can't be changed at runtime.
    }
    let srv = TestServer::start_with(&[("enable-debug-command", "no")]).await;
    let mut c = srv.raw().await;
    c.expect(
        &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        b"-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n",
    )
    .await;
}

/// (variant, request, exact bytes before the server closes the connection)
fn protocol_cases() -> Vec<(ProtocolError, Vec<u8>, &'static [u8])> {
    use ProtocolError::*;
    let mut mbulk = b"*".to_vec();
    mbulk.extend(vec![b'1'; 70 * 1024]);
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(vec![b'1'; 70 * 1024]);
    vec![
        (
            InvalidMultibulkLength,
            b"*x\r\n".to_vec(),
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            InvalidBulkLength,
            b"*1\r\n$-10\r\n".to_vec(),
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            ExpectedDollar(b'f'),
            b"*1\r\nfoo\r\n".to_vec(),
            b"-ERR Protocol error: expected '$', got 'f'\r\n",
        ),
        (
            UnbalancedQuotes,
            b"set a \"b\r\n".to_vec(),
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            TooBigInline,
            vec![b'a'; 64 * 1024 + 1],
            b"-ERR Protocol error: too big inline request\r\n",
        ),
        (
            TooBigMbulkCount,
            mbulk,
            b"-ERR Protocol error: too big mbulk count string\r\n",
        ),
        (
            TooBigBulkCount,
            bulk,
            b"-ERR Protocol error: too big bulk count string\r\n",
        ),
    ]
}

fn unauthenticated_protocol_cases() -> Vec<(ProtocolError, Vec<u8>, &'static [u8])> {
    use ProtocolError::*;
    vec![
        (
            UnauthenticatedMultibulkLength,
            b"*11\r\n".to_vec(),
            b"-ERR Protocol error: unauthenticated multibulk length\r\n",
        ),
        (
            UnauthenticatedBulkLength,
            b"*1\r\n$16385\r\n".to_vec(),
            b"-ERR Protocol error: unauthenticated bulk length\r\n",
        ),
    ]
}

#[tokio::test]
async fn protocol_errors_on_the_wire() {
    let srv = TestServer::start().await;
    for (e, request, expected) in protocol_cases() {
        let mut c = srv.raw().await;
        c.send(&request).await;
        assert_bytes(&c.read_to_close().await, expected, &format!("{e:?}"));
    }
    let srv = TestServer::start_with(&[("requirepass", TEST_PASSWORD)]).await;
    for (e, request, expected) in unauthenticated_protocol_cases() {
        let mut c = srv.raw().await;
        c.send(&request).await;
        assert_bytes(&c.read_to_close().await, expected, &format!("{e:?}"));
    }
}

/// Past `maxmemory` with `noeviction`, commands that may grow memory are refused.
#[tokio::test]
async fn oom_error_on_the_wire() {
    let server = TestServer::start().await;
    let mut c = server.raw().await;
    assert_eq!(
        CmdError::Oom.to_string(),
        "OOM command not allowed when used memory > 'maxmemory'."
    );
    c.expect(&["CONFIG", "SET", "maxmemory", "1"], "+OK\r\n")
        .await;
    c.expect(&["SET", "a", "b"], format!("-{}\r\n", CmdError::Oom))
        .await;
    // Reads still work, and EXEC of a transaction with a write aborts with the OOM reason.
    c.expect(&["GET", "a"], "$-1\r\n").await;
    c.expect(&["MULTI"], "+OK\r\n").await;
    c.expect(&["GET", "a"], "+QUEUED\r\n").await;
    c.expect(&["EXEC"], "*1\r\n$-1\r\n").await;
    c.expect(&["CONFIG", "SET", "maxmemory", "0"], "+OK\r\n")
        .await;
    c.expect(&["SET", "a", "b"], "+OK\r\n").await;
}

/// The errors of replication: a read-only replica, WAIT on a replica, and
/// min-replicas-to-write without enough replicas.
#[tokio::test]
async fn replication_errors_on_the_wire() {
    let server = TestServer::start().await;
    let mut c = server.raw().await;
    assert_eq!(
        CmdError::NoReplicas.to_string(),
        "NOREPLICAS Not enough good replicas to write."
    );
    c.expect(&["CONFIG", "SET", "min-replicas-to-write", "1"], "+OK\r\n")
        .await;
    c.expect(&["SET", "a", "b"], format!("-{}\r\n", CmdError::NoReplicas))
        .await;
    c.expect(&["GET", "a"], "$-1\r\n").await;
    c.expect(&["CONFIG", "SET", "min-replicas-to-write", "0"], "+OK\r\n")
        .await;
    c.expect(&["SET", "a", "b"], "+OK\r\n").await;
    assert_eq!(
        CmdError::ReadOnlyReplica.to_string(),
        "READONLY You can't write against a read only replica."
    );
    // A replica of a port nobody listens on: its link stays down.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
        .to_string();
    c.expect(&["REPLICAOF", "127.0.0.1", &dead], "+OK\r\n")
        .await;
    c.expect(
        &["SET", "a", "c"],
        format!("-{}\r\n", CmdError::ReadOnlyReplica),
    )
    .await;
    assert_eq!(
        CmdError::WaitOnReplica.to_string(),
        "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."
    );
    c.expect(
        &["WAIT", "1", "0"],
        format!("-{}\r\n", CmdError::WaitOnReplica),
    )
    .await;
    assert_eq!(
        CmdError::MasterDown.to_string(),
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    );
    c.expect(
        &["CONFIG", "SET", "replica-serve-stale-data", "no"],
        "+OK\r\n",
    )
    .await;
    c.expect(&["GET", "a"], format!("-{}\r\n", CmdError::MasterDown))
        .await;
    // Even PING (as Redis: it is not flagged `stale`); INFO still runs.
    c.expect(&["PING"], format!("-{}\r\n", CmdError::MasterDown))
        .await;
    assert!(c
        .val(&["INFO", "server"])
        .await
        .as_str()
        .starts_with("# Server"));
    c.expect(
        &["CONFIG", "SET", "replica-serve-stale-data", "yes"],
        "+OK\r\n",
    )
    .await;
    c.expect(&["REPLICAOF", "NO", "ONE"], "+OK\r\n").await;
    c.expect(&["SET", "a", "c"], "+OK\r\n").await;
}

/// Redis's writeCommandsGetDiskErrorMessage texts (server.c, shared.bgsaveerr).
#[test]
fn disk_error_texts() {
    assert_eq!(
        CmdError::MisconfRdb.to_string(),
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."
    );
    assert_eq!(
        CmdError::MisconfAof("No space left on device".into()).to_string(),
        "MISCONF Errors writing to the AOF file: No space left on device"
    );
}

/// Every error reply's text lives in src/error.rs: no other source file holds
/// a string literal that reads as one (an error code and its message), nor
/// builds an error reply from a literal or a format string.
#[test]
fn no_error_string_outside_error_rs() {
    const CODES: &[&str] = &[
        "ERR",
        "WRONGTYPE",
        "BUSYKEY",
        "NOAUTH",
        "WRONGPASS",
        "NOGROUP",
        "BUSYGROUP",
        "UNBLOCKED",
        "NOPERM",
        "DENIED",
        "OOM",
        "EXECABORT",
        "READONLY",
        "MISCONF",
        "NOREPLICAS",
        "MASTERDOWN",
        "LOADING",
        "BUSY",
        "NOSCRIPT",
        "NOPROTO",
        "UNKILLABLE",
        "NOTBUSY",
    ];
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut found = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(root)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("src/error.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            for (n, line) in text.lines().enumerate() {
                let code_literal = CODES.iter().any(|c| {
                    line.contains(&format!("\"{c} ")) || line.contains(&format!("\"-{c} "))
                });
                let built_here = [
                    "custom(\"",
                    "custom(format!",
                    "Reply::Error(\"",
                    "Reply::Error(format!",
                ]
                .iter()
                .any(|p| line.contains(p));
                if code_literal || built_here {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "error strings outside src/error.rs:\n{}",
        found.join("\n")
    );
}
