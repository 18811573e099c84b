//! RESP framing, handshakes, reply shapes, pipelining and protocol errors
//! (after Redis's `unit/protocol.tcl`). Expected bytes are what redis-server
//! 7.0.15 sends for the same requests.

mod common;

use common::{assert_bytes, encode, parse_frame, Resp, TestServer, TEST_PASSWORD};

// ---- handshakes -----------------------------------------------------------

#[tokio::test]
async fn resp2_handshake_ping_select_setname() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["PING"], b"+PONG\r\n").await;
    c.expect(&["PING", "hello"], b"$5\r\nhello\r\n").await;
    c.expect(&["SELECT", "1"], b"+OK\r\n").await;
    c.expect(&["CLIENT", "SETNAME", "app-1"], b"+OK\r\n").await;
    c.expect(&["CLIENT", "GETNAME"], b"$5\r\napp-1\r\n").await;
    // The selected database is the connection's: a key set here is in db 1 only.
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    c.expect(&["SELECT", "0"], b"+OK\r\n").await;
    c.expect(&["EXISTS", "k"], b":0\r\n").await;
    let info = c.val(&["CLIENT", "INFO"]).await;
    assert!(info.as_str().contains(" name=app-1 "), "{info:?}");
    assert!(info.as_str().contains(" db=0 "), "{info:?}");
}

/// The reply to HELLO for this connection, built the way redis-server 7.0.15 sends it.
fn hello_bytes(proto: u8, id: i64) -> Vec<u8> {
    let head = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
    .into_bytes()
}

/// The handshake redis-py 8 / node-redis / ioredis perform on a RESP3 connection.
#[tokio::test]
async fn resp3_handshake_like_modern_clients() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let hello = c.cmd(&["HELLO", "3"]).await;
    let (v, _) = parse_frame(&hello).unwrap();
    let Resp::Map(_) = &v else {
        panic!("HELLO 3 must answer a RESP3 map: {}", common::show(&hello))
    };
    for field in [
        "server", "version", "proto", "id", "mode", "role", "modules",
    ] {
        assert!(v.get(field).is_some(), "HELLO lacks {field}: {v:?}");
    }
    let id = v.get("id").unwrap().as_int();
    assert_bytes(&hello, &hello_bytes(3, id), "HELLO 3");
    c.expect(&["CLIENT", "ID"], format!(":{id}\r\n")).await;

    // CLIENT SETINFO is Redis 7.2; clients ignore an error, but the
    // connection must stay usable either way.
    let r = c.val(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]).await;
    assert!(
        matches!(&r, Resp::Simple(s) if s == "OK") || matches!(&r, Resp::Error(_)),
        "{r:?}"
    );
    let r = c.val(&["CLIENT", "SETINFO", "LIB-VER", "8.0.0"]).await;
    assert!(
        matches!(&r, Resp::Simple(s) if s == "OK") || matches!(&r, Resp::Error(_)),
        "{r:?}"
    );
    // redis-py 8 asks for maintenance notifications; Redis 7.0 has no such subcommand.
    c.expect(
        &[
            "CLIENT",
            "MAINT_NOTIFICATIONS",
            "ON",
            "moving-endpoint-type",
            "internal-ip",
        ],
        b"-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n",
    )
    .await;
    c.expect(&["CLIENT", "SETNAME", "worker"], b"+OK\r\n").await;
    c.expect(&["SELECT", "0"], b"+OK\r\n").await;
    // ioredis's ready check reads INFO and waits for loading:0.
    let info = c.val(&["INFO"]).await;
    let Resp::Verbatim(fmt, body) = &info else {
        panic!("INFO in RESP3 is a verbatim string: {info:?}")
    };
    assert_eq!(fmt, "txt");
    let body = String::from_utf8_lossy(body);
    assert!(body.contains("\r\nloading:0\r\n"), "INFO lacks loading:0");
    assert!(body.contains("redis_version:7.0.15\r\n"));
    c.expect(&["PING"], b"+PONG\r\n").await;
    c.expect(&["CLIENT", "GETNAME"], b"$6\r\nworker\r\n").await;
}

#[tokio::test]
async fn hello_variants() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let id = c.int(&["CLIENT", "ID"]).await;
    // Without a version HELLO reports the current protocol and changes nothing.
    c.expect(&["HELLO"], hello_bytes(2, id)).await;
    c.expect(&["HELLO", "2"], hello_bytes(2, id)).await;
    c.expect(&["HELLO", "3", "SETNAME", "named"], hello_bytes(3, id))
        .await;
    c.expect(&["CLIENT", "GETNAME"], b"$5\r\nnamed\r\n").await;
    // With no password configured any password for `default` is accepted.
    c.expect(
        &["HELLO", "3", "AUTH", "default", "whatever"],
        hello_bytes(3, id),
    )
    .await;
    c.expect(&["HELLO", "2"], hello_bytes(2, id)).await;
    c.expect(
        &["HELLO", "4"],
        b"-NOPROTO unsupported protocol version\r\n",
    )
    .await;
    c.expect(
        &["HELLO", "1"],
        b"-NOPROTO unsupported protocol version\r\n",
    )
    .await;
    c.expect(
        &["HELLO", "x"],
        b"-ERR Protocol version is not an integer or out of range\r\n",
    )
    .await;
    c.expect(
        &["HELLO", "3", "FOO"],
        b"-ERR Syntax error in HELLO option 'FOO'\r\n",
    )
    .await;
    // A failed HELLO leaves the protocol as it was.
    c.expect(&["GET", "missing"], b"$-1\r\n").await;
}

#[tokio::test]
async fn auth_and_hello_auth_with_requirepass() {
    let srv = TestServer::start_with(&[("requirepass", TEST_PASSWORD)]).await;
    let mut c = srv.raw().await;
    c.expect(&["GET", "x"], b"-NOAUTH Authentication required.\r\n")
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
    c.expect(
        &["HELLO", "3", "AUTH", "default", "wrong"],
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    )
    .await;
    let v = c
        .val(&["HELLO", "3", "AUTH", "default", TEST_PASSWORD])
        .await;
    assert_eq!(v.get("proto"), Some(Resp::Int(3)), "{v:?}");
    c.expect(&["GET", "x"], b"_\r\n").await;

    let mut d = srv.raw().await;
    d.expect(&["AUTH", TEST_PASSWORD], b"+OK\r\n").await;
    d.expect(&["GET", "x"], b"$-1\r\n").await;
    let mut e = srv.raw().await;
    e.expect(&["AUTH", "default", TEST_PASSWORD], b"+OK\r\n")
        .await;
    e.expect(
        &["AUTH", "nobody", TEST_PASSWORD],
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    )
    .await;
    e.expect(&["AUTH", "a", "b", "c"], b"-ERR syntax error\r\n")
        .await;
}

#[tokio::test]
async fn auth_without_password_configured() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["AUTH", "foo"],
        b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
    )
    .await;
    c.expect(&["AUTH", "default", "anything"], b"+OK\r\n").await;
}

/// Unauthenticated clients may only send short requests (protection against
/// memory exhaustion before AUTH), in Redis 7.0 as here.
#[tokio::test]
async fn unauthenticated_request_size_limits() {
    let srv = TestServer::start_with(&[("requirepass", TEST_PASSWORD)]).await;
    let mut c = srv.raw().await;
    c.send(b"*11\r\n").await;
    assert_bytes(
        &c.read_to_close().await,
        b"-ERR Protocol error: unauthenticated multibulk length\r\n",
        "*11 before AUTH",
    );
    let mut c = srv.raw().await;
    c.send(b"*1\r\n$16385\r\n").await;
    assert_bytes(
        &c.read_to_close().await,
        b"-ERR Protocol error: unauthenticated bulk length\r\n",
        "$16385 before AUTH",
    );
    // At the limits, and after AUTH, the requests are ordinary.
    let mut c = srv.raw().await;
    let mut ten = vec!["DEL"];
    ten.extend(["k"; 9]);
    c.expect(&ten, b"-NOAUTH Authentication required.\r\n")
        .await;
    c.expect(&["AUTH", TEST_PASSWORD], b"+OK\r\n").await;
    let big = "x".repeat(100_000);
    c.expect(&["SET", "k", big.as_str()], b"+OK\r\n").await;
    let mut many = vec!["DEL"];
    many.extend(["k"; 20]);
    c.expect(&many, b":1\r\n").await;
}

// ---- reply shapes ---------------------------------------------------------

#[tokio::test]
async fn resp3_reply_shapes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.cmd(&["HELLO", "3"]).await;
    c.expect(&["GET", "missing"], b"_\r\n").await;
    c.expect(
        &["CONFIG", "GET", "maxclients"],
        b"%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n",
    )
    .await;
    c.expect(&["CONFIG", "GET", "nosuchparam"], b"%0\r\n").await;
    c.expect(&["DEBUG", "PROTOCOL", "double"], b",3.141\r\n")
        .await;
    c.expect(&["DEBUG", "PROTOCOL", "null"], b"_\r\n").await;
    c.expect(&["DEBUG", "PROTOCOL", "true"], b"#t\r\n").await;
    c.expect(&["DEBUG", "PROTOCOL", "false"], b"#f\r\n").await;
    c.expect(&["DEBUG", "PROTOCOL", "set"], b"~3\r\n:0\r\n:1\r\n:2\r\n")
        .await;
    c.expect(
        &["DEBUG", "PROTOCOL", "map"],
        b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n",
    )
    .await;
    c.expect(
        &["DEBUG", "PROTOCOL", "bignum"],
        b"(1234567999999999999999999999999999999\r\n",
    )
    .await;
    c.expect(
        &["DEBUG", "PROTOCOL", "verbatim"],
        b"=29\r\ntxt:This is a verbatim\nstring\r\n",
    )
    .await;
    // A push, then the real reply that follows it.
    c.send_cmd(&["DEBUG", "PROTOCOL", "push"]).await;
    assert_bytes(
        &c.read_frames(2).await,
        b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push reply\r\n",
        "DEBUG PROTOCOL push",
    );
    c.assert_idle().await;
    c.expect(
        &["DEBUG", "PROTOCOL", "attrib"],
        b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n",
    )
    .await;
    c.expect(&["MGET", "a", "b"], b"*2\r\n_\r\n_\r\n").await;
    c.expect(&["SET", "f", "1.5"], b"+OK\r\n").await;
    // INCRBYFLOAT stays a bulk string in RESP3, as in Redis.
    c.expect(&["INCRBYFLOAT", "f", "1"], b"$3\r\n2.5\r\n").await;
    // A transaction aborted by WATCH answers a RESP3 null.
    c.expect(&["WATCH", "f"], b"+OK\r\n").await;
    let mut other = srv.raw().await;
    other.expect(&["SET", "f", "2"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["GET", "f"], b"+QUEUED\r\n").await;
    c.expect(&["EXEC"], b"_\r\n").await;
}

#[tokio::test]
async fn resp2_reply_shapes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["GET", "missing"], b"$-1\r\n").await;
    c.expect(
        &["CONFIG", "GET", "maxclients"],
        b"*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n",
    )
    .await;
    c.expect(&["DEBUG", "PROTOCOL", "double"], b"$5\r\n3.141\r\n")
        .await;
    c.expect(&["DEBUG", "PROTOCOL", "null"], b"$-1\r\n").await;
    c.expect(&["DEBUG", "PROTOCOL", "true"], b":1\r\n").await;
    c.expect(
        &["DEBUG", "PROTOCOL", "map"],
        b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
    )
    .await;
    c.expect(
        &["DEBUG", "PROTOCOL", "bignum"],
        b"$37\r\n1234567999999999999999999999999999999\r\n",
    )
    .await;
    c.expect(
        &["DEBUG", "PROTOCOL", "verbatim"],
        b"$25\r\nThis is a verbatim\nstring\r\n",
    )
    .await;
    // RESP2 has no attributes: only the real reply is sent.
    c.expect(
        &["DEBUG", "PROTOCOL", "attrib"],
        b"$39\r\nSome real reply following the attribute\r\n",
    )
    .await;
    c.expect(
        &["DEBUG", "PROTOCOL", "foo"],
        b"-ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false\r\n",
    )
    .await;
    c.expect(&["WATCH", "w"], b"+OK\r\n").await;
    c.expect(&["SET", "w", "1"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["EXEC"], b"*-1\r\n").await;
}

/// The `redis` crate negotiates RESP3 and reads maps and nulls through it.
#[tokio::test]
async fn redis_crate_resp3_client() {
    let srv = TestServer::start().await;
    let mut con = srv.client_resp3().await;
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query_async(&mut con)
        .await
        .unwrap();
    let v: Option<String> = redis::cmd("GET")
        .arg("k")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    let v: Option<String> = redis::cmd("GET")
        .arg("nope")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(v, None);
    let cfg: std::collections::HashMap<String, String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxclients")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(cfg.get("maxclients").map(String::as_str), Some("10000"));
    let mut raw = srv.raw().await;
    let list = raw.val(&["CLIENT", "LIST"]).await;
    assert!(
        list.as_str().lines().any(|l| l.ends_with(" resp=3")),
        "{list:?}"
    );
}

// ---- pipelining -----------------------------------------------------------

#[tokio::test]
async fn pipeline_in_one_write_replies_in_order() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut req = Vec::new();
    let mut expected = Vec::new();
    for i in 1..=1000 {
        req.extend(encode(&["INCR", "counter"]));
        expected.extend(format!(":{i}\r\n").into_bytes());
        if i % 100 == 0 {
            req.extend(encode(&["GET", "counter"]));
            let s = i.to_string();
            expected.extend(format!("${}\r\n{s}\r\n", s.len()).into_bytes());
        }
    }
    req.extend(b"PING\r\n");
    expected.extend(b"+PONG\r\n");
    req.extend(encode(&["ECHO", "end"]));
    expected.extend(b"$3\r\nend\r\n");
    c.send(&req).await;
    let got = c.read_frames(1000 + 10 + 2).await;
    assert_bytes(&got, &expected, "pipelined replies");
    c.assert_idle().await;
}

/// Replies larger than the output chunk still come back whole and in order.
#[tokio::test]
async fn pipeline_with_large_replies() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let value = "v".repeat(50_000);
    c.expect(&["SET", "big", value.as_str()], b"+OK\r\n").await;
    let mut req = Vec::new();
    for _ in 0..20 {
        req.extend(encode(&["GET", "big"]));
        req.extend(encode(&["STRLEN", "big"]));
    }
    c.send(&req).await;
    let bulk = format!("$50000\r\n{value}\r\n");
    for _ in 0..20 {
        assert_bytes(&c.read_frame().await, bulk.as_bytes(), "GET big");
        assert_bytes(&c.read_frame().await, b":50000\r\n", "STRLEN big");
    }
}

/// A request split into single-byte writes is framed like a whole one.
#[tokio::test]
async fn request_split_across_writes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let req = [
        encode(&["SET", "key", "some value"]),
        encode(&["GET", "key"]),
        b"PING\r\n".to_vec(),
    ]
    .concat();
    for b in &req {
        c.send([*b]).await;
    }
    assert_bytes(
        &c.read_frames(3).await,
        b"+OK\r\n$10\r\nsome value\r\n+PONG\r\n",
        "split request",
    );
}

#[tokio::test]
async fn empty_multibulks_are_ignored() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.send(b"*0\r\n*-1\r\n*-10\r\n\r\n   \r\nPING\r\n").await;
    assert_bytes(&c.read_frame().await, b"+PONG\r\n", "after empty requests");
    // An empty bulk is a command with an empty name.
    c.send(b"*1\r\n$0\r\n\r\n").await;
    assert_bytes(
        &c.read_frame().await,
        b"-ERR unknown command '', with args beginning with: \r\n",
        "empty command name",
    );
    c.assert_idle().await;
}

// ---- inline commands ------------------------------------------------------

#[tokio::test]
async fn inline_commands() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.send(b"PING\r\n").await;
    assert_bytes(&c.read_frame().await, b"+PONG\r\n", "inline PING");
    c.send(b"set a \"b c\"\r\n").await;
    assert_bytes(&c.read_frame().await, b"+OK\r\n", "inline SET with quotes");
    c.expect(&["GET", "a"], b"$3\r\nb c\r\n").await;
    // Bare \n ends a line too; escapes work inside double quotes.
    c.send(b"set e \"\\x41\\tz\\n\"\nget e\n").await;
    assert_bytes(
        &c.read_frames(2).await,
        b"+OK\r\n$4\r\nA\tz\n\r\n",
        "inline escapes",
    );
    c.send(b"set s 'it\\'s'\r\nget s\r\n").await;
    assert_bytes(
        &c.read_frames(2).await,
        b"+OK\r\n$4\r\nit's\r\n",
        "single quotes",
    );
    c.send(b"  echo   spaced    \r\n").await;
    assert_bytes(&c.read_frame().await, b"$6\r\nspaced\r\n", "extra spaces");
    // Inline and multibulk mix in one write.
    let mut req = b"INCR n\r\n".to_vec();
    req.extend(encode(&["INCR", "n"]));
    req.extend(b"INCR n\n");
    c.send(&req).await;
    assert_bytes(
        &c.read_frames(3).await,
        b":1\r\n:2\r\n:3\r\n",
        "mixed pipeline",
    );
    c.send(b"GET\r\n").await;
    assert_bytes(
        &c.read_frame().await,
        b"-ERR wrong number of arguments for 'get' command\r\n",
        "inline arity",
    );
}

// ---- protocol errors: exact bytes, then the server closes -----------------

async fn expect_protocol_error(srv: &TestServer, request: &[u8], expected: &[u8]) {
    let mut c = srv.raw().await;
    c.send(request).await;
    let got = c.read_to_close().await;
    assert_bytes(
        &got,
        expected,
        &format!("request \"{}\"", common::show(request)),
    );
}

#[tokio::test]
async fn protocol_errors_close_the_connection() {
    let srv = TestServer::start().await;
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*x\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*3000000000\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$-10\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$x\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\nfoo\r\n",
            b"-ERR Protocol error: expected '$', got 'f'\r\n",
        ),
        (
            b"*2\r\n$3\r\nGET\r\n:1\r\n",
            b"-ERR Protocol error: expected '$', got ':'\r\n",
        ),
        (
            b"set a \"b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"set a 'b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"\"a\"b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        // Replies to the requests before the bad one are sent first.
        (
            b"PING\r\n*x\r\nPING\r\n",
            b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
        ),
    ];
    for (req, expected) in cases {
        expect_protocol_error(&srv, req, expected).await;
    }
    // Other connections are unaffected.
    srv.raw().await.assert_idle().await;
}

/// A bulk length above proto-max-bulk-len (512MB) is refused from its header
/// alone: the payload is never sent, let alone allocated.
#[tokio::test]
async fn bulk_length_above_proto_max_bulk_len() {
    let srv = TestServer::start().await;
    expect_protocol_error(
        &srv,
        b"*1\r\n$536870913\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    )
    .await;
    expect_protocol_error(
        &srv,
        b"*1\r\n$9223372036854775807\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    )
    .await;
    // The limit follows CONFIG SET.
    let mut c = srv.raw().await;
    c.expect(
        &["CONFIG", "SET", "proto-max-bulk-len", "1048576"],
        b"+OK\r\n",
    )
    .await;
    let exact = "x".repeat(1_048_576);
    c.expect(&["SET", "k", exact.as_str()], b"+OK\r\n").await;
    c.expect(&["STRLEN", "k"], b":1048576\r\n").await;
    expect_protocol_error(
        &srv,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "SET", "proto-max-bulk-len", "536870912"],
        b"+OK\r\n",
    )
    .await;
}

#[tokio::test]
async fn oversized_headers_and_inline_requests() {
    let srv = TestServer::start().await;
    // 64KB of inline request without a newline.
    expect_protocol_error(
        &srv,
        &vec![b'a'; 64 * 1024 + 1],
        b"-ERR Protocol error: too big inline request\r\n",
    )
    .await;
    // A multibulk count line that never ends.
    let mut req = b"*".to_vec();
    req.extend(vec![b'1'; 70 * 1024]);
    expect_protocol_error(
        &srv,
        &req,
        b"-ERR Protocol error: too big mbulk count string\r\n",
    )
    .await;
    // A bulk length line that never ends.
    let mut req = b"*1\r\n$".to_vec();
    req.extend(vec![b'1'; 70 * 1024]);
    expect_protocol_error(
        &srv,
        &req,
        b"-ERR Protocol error: too big bulk count string\r\n",
    )
    .await;
    // Exactly 64KB of inline request is still waited on, then served.
    let mut c = srv.raw().await;
    let mut req = b"ECHO ".to_vec();
    req.extend(vec![b'z'; 64 * 1024 - 5]);
    c.send(&req).await;
    c.send(b"\r\n").await;
    let got = c.read_frame().await;
    assert_eq!(got.len(), "$65531\r\n".len() + 65531 + 2);
    c.assert_idle().await;
}

#[tokio::test]
async fn command_errors_keep_the_connection() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["NOSUCHCMD", "a", "b"],
        b"-ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' \r\n",
    )
    .await;
    c.expect(
        &["GET"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    )
    .await;
    c.expect(
        &["GET", "a", "b"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "GET"],
        b"-ERR wrong number of arguments for 'config|get' command\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "NOPE"],
        b"-ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\r\n",
    )
    .await;
    c.expect(&["SET", "a", "b", "BOGUS"], b"-ERR syntax error\r\n")
        .await;
    c.assert_idle().await;
    c.expect(&["SET", "a", "b"], b"+OK\r\n").await;
}

/// Long unknown-command names and arguments are truncated as Redis does (128 bytes).
#[tokio::test]
async fn unknown_command_error_truncation() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let long = "a".repeat(200);
    let expected = format!(
        "-ERR unknown command '{}', with args beginning with: 'x' \r\n",
        "a".repeat(128)
    );
    c.expect(&[long.as_str(), "x"], expected).await;
    let arg = "b".repeat(200);
    let expected = format!(
        "-ERR unknown command 'foo', with args beginning with: '{}' \r\n",
        "b".repeat(128)
    );
    c.expect(&["foo", arg.as_str(), "more"], expected).await;
    // Newlines in the echoed name do not break the reply line.
    c.expect(
        &["a\r\nb"],
        b"-ERR unknown command 'a  b', with args beginning with: \r\n",
    )
    .await;
}

#[tokio::test]
async fn quit_replies_then_closes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.send(b"PING\r\nQUIT\r\nPING\r\n").await;
    assert_bytes(&c.read_to_close().await, b"+PONG\r\n+OK\r\n", "QUIT");
}
