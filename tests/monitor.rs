//! MONITOR (after Redis's `unit/introspection.tcl`), and BGREWRITEAOF.

mod common;

use common::{Raw, TestServer};

/// Reads one MONITOR line and returns its timestamp (in microseconds) and
/// the part after it: `[db addr] "arg" …`.
async fn monitor_line(m: &mut Raw) -> (u64, String) {
    let frame = m.read_frame().await;
    let text = String::from_utf8(frame).expect("a MONITOR line is text");
    let body = text
        .strip_prefix('+')
        .and_then(|t| t.strip_suffix("\r\n"))
        .unwrap_or_else(|| panic!("not a status line: {text:?}"));
    let (ts, rest) = body.split_once(' ').expect("timestamp, then the command");
    let (secs, micros) = ts.split_once('.').expect("seconds.microseconds");
    assert_eq!(micros.len(), 6, "{text:?}");
    assert!(
        secs.bytes()
            .chain(micros.bytes())
            .all(|b| b.is_ascii_digit()),
        "{text:?}"
    );
    let us = secs.parse::<u64>().unwrap() * 1_000_000 + micros.parse::<u64>().unwrap();
    (us, rest.to_string())
}

/// The `[db 127.0.0.1:port]` prefix for commands sent on `c`.
fn who(db: u32, c: &Raw) -> String {
    format!("[{db} {}]", c.stream.local_addr().unwrap())
}

/// Reads MONITOR lines and checks them against `expected`, in order, with
/// non-decreasing timestamps.
async fn expect_lines(m: &mut Raw, expected: &[String]) {
    let mut last = 0;
    for want in expected {
        let (ts, got) = monitor_line(m).await;
        assert_eq!(&got, want);
        assert!(ts >= last, "timestamps go back: {ts} < {last}");
        last = ts;
    }
}

#[tokio::test]
async fn monitor_shows_commands() {
    let srv = TestServer::start().await;
    let mut m = srv.raw().await;
    let mut c = srv.raw().await;
    m.expect(&["MONITOR"], b"+OK\r\n").await;
    let me = who(0, &c);
    c.expect(&["SET", "foo", "bar"], b"+OK\r\n").await;
    expect_lines(&mut m, &[format!(r#"{me} "SET" "foo" "bar""#)]).await;
    // Arguments as sent, quoted and escaped; the database in effect.
    c.expect(&["set", "k", "a\x01\"\\\r\n b"], b"+OK\r\n").await;
    c.expect(&["SELECT", "5"], b"+OK\r\n").await;
    c.expect(&["GET", "k"], b"$-1\r\n").await;
    c.expect(&["SELECT", "0"], b"+OK\r\n").await;
    let in5 = who(5, &c);
    expect_lines(
        &mut m,
        &[
            format!(r#"{me} "set" "k" "a\x01\"\\\r\n b""#),
            format!(r#"{in5} "SELECT" "5""#),
            format!(r#"{in5} "GET" "k""#),
            format!(r#"{me} "SELECT" "0""#),
        ],
    )
    .await;
    // Not shown: admin commands, and commands rejected before running.
    c.expect(
        &["CONFIG", "GET", "maxclients"],
        b"*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n",
    )
    .await;
    c.cmd(&["CLIENT", "LIST"]).await;
    c.expect(
        &["GET"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    )
    .await;
    c.cmd(&["NOSUCHCOMMAND"]).await;
    // Shown: non-admin CLIENT subcommands, failing commands that ran.
    c.expect(&["CLIENT", "SETNAME", "mon-test"], b"+OK\r\n")
        .await;
    c.expect(&["SET", "s", "v"], b"+OK\r\n").await;
    c.expect(
        &["INCR", "s"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    expect_lines(
        &mut m,
        &[
            format!(r#"{me} "CLIENT" "SETNAME" "mon-test""#),
            format!(r#"{me} "SET" "s" "v""#),
            format!(r#"{me} "INCR" "s""#),
        ],
    )
    .await;
    // A transaction: MULTI, then the queued commands when EXEC runs them, then EXEC.
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["SET", "x", "1"], b"+QUEUED\r\n").await;
    c.expect(&["INCR", "x"], b"+QUEUED\r\n").await;
    c.expect(&["EXEC"], b"*2\r\n+OK\r\n:2\r\n").await;
    expect_lines(
        &mut m,
        &[
            format!(r#"{me} "MULTI""#),
            format!(r#"{me} "SET" "x" "1""#),
            format!(r#"{me} "INCR" "x""#),
            format!(r#"{me} "EXEC""#),
        ],
    )
    .await;
    // Passwords are redacted.
    c.cmd(&["AUTH", "user", "secret"]).await;
    c.cmd(&["HELLO", "2", "AUTH", "default", "secret"]).await;
    expect_lines(
        &mut m,
        &[
            format!(r#"{me} "AUTH" "(redacted)" "(redacted)""#),
            format!(r#"{me} "HELLO" "2" "AUTH" "(redacted)" "(redacted)""#),
        ],
    )
    .await;
    // A blocked command is shown once, when called, not again when served.
    let mut w = srv.raw().await;
    w.send_cmd(&["BLPOP", "a", "q", "0"]).await;
    // Waiting with CLIENT LIST (admin, not shown) rather than INFO.
    common::poll_until(&mut c, &["CLIENT", "LIST"], 500, "w blocked", |r| {
        r.as_str().contains(" flags=b ")
    })
    .await;
    c.expect(&["RPUSH", "q", "v"], b":1\r\n").await;
    assert_eq!(w.read_frame().await, b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n");
    c.expect(&["ECHO", "end"], b"$3\r\nend\r\n").await;
    expect_lines(
        &mut m,
        &[
            format!(r#"{} "BLPOP" "a" "q" "0""#, who(0, &w)),
            format!(r#"{me} "RPUSH" "q" "v""#),
            format!(r#"{me} "ECHO" "end""#),
        ],
    )
    .await;
}

/// What a MONITOR connection itself may do.
#[tokio::test]
async fn monitor_client_state() {
    let srv = TestServer::start().await;
    let mut m = srv.raw().await;
    let mut c = srv.raw().await;
    m.expect(&["MONITOR"], b"+OK\r\n").await;
    let list = c.val(&["CLIENT", "LIST"]).await.as_str().to_string();
    assert!(
        list.lines()
            .any(|l| l.contains(" flags=O ") && l.contains(" cmd=monitor ")),
        "{list}"
    );
    // PING is answered, then shown like any command; keyspace commands are refused.
    m.send_cmd(&["PING"]).await;
    assert_eq!(m.read_frame().await, b"+PONG\r\n");
    let own = who(0, &m);
    expect_lines(&mut m, &[format!(r#"{own} "PING""#)]).await;
    m.expect(
        &["GET", "foo"],
        b"-ERR Replica can't interact with the keyspace\r\n",
    )
    .await;
    // MONITOR again is a no-op without a reply.
    m.send_cmd(&["MONITOR"]).await;
    c.expect(&["SET", "after", "1"], b"+OK\r\n").await;
    expect_lines(&mut m, &[format!(r#"{} "SET" "after" "1""#, who(0, &c))]).await;
    // RESET leaves monitor mode.
    m.expect(&["RESET"], b"+RESET\r\n").await;
    c.expect(&["SET", "unseen", "1"], b"+OK\r\n").await;
    m.expect(&["GET", "unseen"], b"$1\r\n1\r\n").await;
    // MONITOR cannot run inside a transaction.
    m.expect(&["MULTI"], b"+OK\r\n").await;
    m.expect(&["MONITOR"], b"+QUEUED\r\n").await;
    m.expect(
        &["EXEC"],
        b"*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n",
    )
    .await;
    m.assert_idle().await;
    // A monitor that disconnects is forgotten; the others keep their lines.
    let mut m2 = srv.raw().await;
    m2.expect(&["MONITOR"], b"+OK\r\n").await;
    let mut m3 = srv.raw().await;
    m3.expect(&["MONITOR"], b"+OK\r\n").await;
    drop(m2);
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    expect_lines(&mut m3, &[format!(r#"{} "SET" "k" "v""#, who(0, &c))]).await;
}

#[tokio::test]
async fn bgrewriteaof() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["BGREWRITEAOF", "now"],
        b"-ERR wrong number of arguments for 'bgrewriteaof' command\r\n",
    )
    .await;
    // The rewrite itself is tested in tests/aof.rs, in a directory of its
    // own (this server's directory is the shared working directory).
    // The error leaves the connection usable.
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
}
