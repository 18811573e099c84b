//! Expiry: SET's expiry options, EXPIRE and friends, TTL queries, lazy and
//! active expiry (after Redis's `unit/expire.tcl`). Waiting for a key to expire
//! is done by polling the server (bounded), never by asserting elapsed time.

mod common;

use common::{poll_until, server_time_ms, wait_until_server_time, Resp, TestServer};

/// A deadline far in the future, so that exact EXPIRETIME values can be asserted.
const FAR_MS: u64 = 4_000_000_000_000;
const FAR_S: u64 = FAR_MS / 1000;

#[tokio::test]
async fn set_ex_px_exat_pxat() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SET", "k", "v", "EX", "100"], b"+OK\r\n").await;
    let ttl = c.int(&["TTL", "k"]).await;
    assert!((99..=100).contains(&ttl), "TTL after EX 100: {ttl}");
    let pttl = c.int(&["PTTL", "k"]).await;
    assert!(
        pttl > 90_000 && pttl <= 100_000,
        "PTTL after EX 100: {pttl}"
    );

    c.expect(&["SET", "k", "v", "PX", "100000"], b"+OK\r\n")
        .await;
    let pttl = c.int(&["PTTL", "k"]).await;
    assert!(
        pttl > 90_000 && pttl <= 100_000,
        "PTTL after PX 100000: {pttl}"
    );

    c.expect(&["SET", "k", "v", "EXAT", &FAR_S.to_string()], b"+OK\r\n")
        .await;
    c.expect(&["EXPIRETIME", "k"], format!(":{FAR_S}\r\n"))
        .await;
    c.expect(&["PEXPIRETIME", "k"], format!(":{FAR_MS}\r\n"))
        .await;

    c.expect(
        &["SET", "k", "v", "PXAT", &(FAR_MS + 123).to_string()],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["PEXPIRETIME", "k"], format!(":{}\r\n", FAR_MS + 123))
        .await;
    c.expect(&["EXPIRETIME", "k"], format!(":{FAR_S}\r\n"))
        .await;
    // EXPIRETIME rounds to the nearest second.
    c.expect(
        &["SET", "k", "v", "PXAT", &(FAR_MS + 600).to_string()],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["EXPIRETIME", "k"], format!(":{}\r\n", FAR_S + 1))
        .await;

    // Option names are case-insensitive.
    c.expect(&["SET", "k", "v", "ex", "50"], b"+OK\r\n").await;
    let ttl = c.int(&["TTL", "k"]).await;
    assert!((49..=50).contains(&ttl), "TTL after ex 50: {ttl}");

    c.expect(&["SETEX", "s", "100", "v"], b"+OK\r\n").await;
    let ttl = c.int(&["TTL", "s"]).await;
    assert!((99..=100).contains(&ttl), "TTL after SETEX: {ttl}");
    c.expect(&["PSETEX", "s", "100000", "w"], b"+OK\r\n").await;
    let pttl = c.int(&["PTTL", "s"]).await;
    assert!(
        pttl > 90_000 && pttl <= 100_000,
        "PTTL after PSETEX: {pttl}"
    );
    c.expect(&["GET", "s"], b"$1\r\nw\r\n").await;
}

#[tokio::test]
async fn set_keepttl_and_plain_set_clears_ttl() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SET", "k", "v1", "PXAT", &FAR_MS.to_string()], b"+OK\r\n")
        .await;
    c.expect(&["SET", "k", "v2", "KEEPTTL"], b"+OK\r\n").await;
    c.expect(&["PEXPIRETIME", "k"], format!(":{FAR_MS}\r\n"))
        .await;
    c.expect(&["GET", "k"], b"$2\r\nv2\r\n").await;
    c.expect(&["SET", "k", "v3"], b"+OK\r\n").await;
    c.expect(&["TTL", "k"], b":-1\r\n").await;
    // GETSET, APPEND, INCR and SETRANGE keep the TTL; MSET clears it.
    c.expect(&["SET", "n", "1", "PXAT", &FAR_MS.to_string()], b"+OK\r\n")
        .await;
    c.expect(&["INCR", "n"], b":2\r\n").await;
    c.expect(&["APPEND", "n", "0"], b":2\r\n").await;
    c.expect(&["SETRANGE", "n", "0", "3"], b":2\r\n").await;
    c.expect(&["PEXPIRETIME", "n"], format!(":{FAR_MS}\r\n"))
        .await;
    c.expect(&["GETSET", "n", "x"], b"$2\r\n30\r\n").await;
    c.expect(&["TTL", "n"], b":-1\r\n").await;
    c.expect(&["SET", "m", "1", "PXAT", &FAR_MS.to_string()], b"+OK\r\n")
        .await;
    c.expect(&["MSET", "m", "2"], b"+OK\r\n").await;
    c.expect(&["TTL", "m"], b":-1\r\n").await;
}

#[tokio::test]
async fn set_get_nx_xx() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SET", "k", "a", "GET"], b"$-1\r\n").await;
    c.expect(&["SET", "k", "b", "GET"], b"$1\r\na\r\n").await;
    c.expect(&["SET", "k", "c", "NX"], b"$-1\r\n").await;
    c.expect(&["SET", "k", "c", "NX", "GET"], b"$1\r\nb\r\n")
        .await;
    c.expect(&["GET", "k"], b"$1\r\nb\r\n").await;
    c.expect(&["SET", "k", "c", "XX"], b"+OK\r\n").await;
    c.expect(&["SET", "k", "d", "XX", "GET"], b"$1\r\nc\r\n")
        .await;
    c.expect(&["SET", "new", "x", "XX"], b"$-1\r\n").await;
    c.expect(&["SET", "new", "x", "XX", "GET"], b"$-1\r\n")
        .await;
    c.expect(&["EXISTS", "new"], b":0\r\n").await;
    c.expect(&["SET", "new", "x", "NX"], b"+OK\r\n").await;
    c.expect(&["SET", "new2", "x", "NX", "GET"], b"$-1\r\n")
        .await;
    c.expect(&["GET", "new2"], b"$1\r\nx\r\n").await;
    c.expect(&["SET", "k", "e", "GET", "EX", "100"], b"$1\r\nd\r\n")
        .await;
    let ttl = c.int(&["TTL", "k"]).await;
    assert!((99..=100).contains(&ttl), "{ttl}");
    c.expect(&["SETNX", "k", "z"], b":0\r\n").await;
    c.expect(&["SETNX", "fresh", "z"], b":1\r\n").await;
}

#[tokio::test]
async fn set_option_errors() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let syntax = b"-ERR syntax error\r\n";
    for args in [
        &["SET", "k", "v", "NX", "XX"][..],
        &["SET", "k", "v", "XX", "NX"],
        &["SET", "k", "v", "EX", "10", "PX", "10"],
        &["SET", "k", "v", "EX", "10", "KEEPTTL"],
        &["SET", "k", "v", "KEEPTTL", "EX", "10"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "FOO"],
    ] {
        c.expect(args, syntax).await;
    }
    let invalid = b"-ERR invalid expire time in 'set' command\r\n";
    for args in [
        &["SET", "k", "v", "EX", "0"][..],
        &["SET", "k", "v", "EX", "-1"],
        &["SET", "k", "v", "PX", "0"],
        &["SET", "k", "v", "EXAT", "0"],
        &["SET", "k", "v", "PXAT", "-5"],
        &["SET", "k", "v", "EX", "9223372036854775807"],
        &["SET", "k", "v", "PX", "9223372036854775807"],
    ] {
        c.expect(args, invalid).await;
    }
    c.expect(
        &["SET", "k", "v", "EX", "abc"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(
        &["SETEX", "k", "0", "v"],
        b"-ERR invalid expire time in 'setex' command\r\n",
    )
    .await;
    c.expect(
        &["PSETEX", "k", "-1", "v"],
        b"-ERR invalid expire time in 'psetex' command\r\n",
    )
    .await;
    // GETEX validates its expire time only once the key is found.
    c.expect(&["GETEX", "k", "PX", "0"], b"$-1\r\n").await;
    c.expect(&["GETEX", "k", "EX", "abc"], b"$-1\r\n").await;
    // None of the failed commands created the key.
    c.expect(&["EXISTS", "k"], b":0\r\n").await;
}

#[tokio::test]
async fn expire_nx_xx_gt_lt() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    // XX: only with a TTL. NX: only without.
    c.expect(&["EXPIRE", "k", "100", "XX"], b":0\r\n").await;
    c.expect(&["TTL", "k"], b":-1\r\n").await;
    c.expect(&["EXPIRE", "k", "100", "NX"], b":1\r\n").await;
    c.expect(&["EXPIRE", "k", "200", "NX"], b":0\r\n").await;
    let ttl = c.int(&["TTL", "k"]).await;
    assert!((99..=100).contains(&ttl), "{ttl}");
    // GT: only a later deadline; LT: only an earlier one.
    c.expect(&["EXPIRE", "k", "50", "GT"], b":0\r\n").await;
    c.expect(&["EXPIRE", "k", "200", "GT"], b":1\r\n").await;
    c.expect(&["EXPIRE", "k", "300", "LT"], b":0\r\n").await;
    c.expect(&["EXPIRE", "k", "150", "LT"], b":1\r\n").await;
    let ttl = c.int(&["TTL", "k"]).await;
    assert!((149..=150).contains(&ttl), "{ttl}");
    c.expect(&["PEXPIRE", "k", "100000", "XX"], b":1\r\n").await;
    let pttl = c.int(&["PTTL", "k"]).await;
    assert!(pttl > 90_000 && pttl <= 100_000, "{pttl}");

    // Exact deadlines with the absolute forms.
    c.expect(&["PEXPIREAT", "k", &FAR_MS.to_string(), "XX"], b":1\r\n")
        .await;
    c.expect(
        &["PEXPIREAT", "k", &(FAR_MS - 1).to_string(), "GT"],
        b":0\r\n",
    )
    .await;
    c.expect(&["PEXPIREAT", "k", &FAR_MS.to_string(), "GT"], b":0\r\n")
        .await;
    c.expect(&["PEXPIREAT", "k", &FAR_MS.to_string(), "LT"], b":0\r\n")
        .await;
    c.expect(
        &["PEXPIREAT", "k", &(FAR_MS - 1).to_string(), "LT"],
        b":1\r\n",
    )
    .await;
    c.expect(&["PEXPIRETIME", "k"], format!(":{}\r\n", FAR_MS - 1))
        .await;
    c.expect(
        &["EXPIREAT", "k", &(FAR_S + 10).to_string(), "gt"],
        b":1\r\n",
    )
    .await;
    c.expect(&["EXPIRETIME", "k"], format!(":{}\r\n", FAR_S + 10))
        .await;

    // A key without TTL counts as an infinite TTL: GT never applies, LT always does.
    c.expect(&["SET", "p", "v"], b"+OK\r\n").await;
    c.expect(&["EXPIRE", "p", "100", "GT"], b":0\r\n").await;
    c.expect(&["TTL", "p"], b":-1\r\n").await;
    c.expect(&["EXPIRE", "p", "100", "LT"], b":1\r\n").await;
    let ttl = c.int(&["TTL", "p"]).await;
    assert!((99..=100).contains(&ttl), "{ttl}");

    // On a missing key every form answers 0 and creates nothing.
    for args in [
        &["EXPIRE", "nokey", "10"][..],
        &["PEXPIRE", "nokey", "10000"],
        &["EXPIREAT", "nokey", "4000000000"],
        &["PEXPIREAT", "nokey", "4000000000000"],
        &["EXPIRE", "nokey", "10", "NX"],
    ] {
        c.expect(args, b":0\r\n").await;
    }
    c.expect(&["EXISTS", "nokey"], b":0\r\n").await;
}

#[tokio::test]
async fn expire_option_and_time_errors() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    let nx = b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
    c.expect(&["EXPIRE", "k", "10", "NX", "XX"], nx).await;
    c.expect(&["EXPIRE", "k", "10", "NX", "GT"], nx).await;
    c.expect(&["PEXPIRE", "k", "10", "LT", "NX"], nx).await;
    c.expect(
        &["EXPIRE", "k", "10", "GT", "LT"],
        b"-ERR GT and LT options at the same time are not compatible\r\n",
    )
    .await;
    c.expect(
        &["EXPIRE", "k", "10", "FOO"],
        b"-ERR Unsupported option FOO\r\n",
    )
    .await;
    c.expect(
        &["EXPIRE", "k", "abc"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(
        &["EXPIRE", "k", "1.5"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    // Overflowing deadlines.
    c.expect(
        &["EXPIRE", "k", "9223372036854775807"],
        b"-ERR invalid expire time in 'expire' command\r\n",
    )
    .await;
    c.expect(
        &["EXPIRE", "k", "9223372036854776"],
        b"-ERR invalid expire time in 'expire' command\r\n",
    )
    .await;
    c.expect(
        &["PEXPIRE", "k", "9223372036854775807"],
        b"-ERR invalid expire time in 'pexpire' command\r\n",
    )
    .await;
    c.expect(
        &["EXPIREAT", "k", "9223372036854776"],
        b"-ERR invalid expire time in 'expireat' command\r\n",
    )
    .await;
    c.expect(
        &["EXPIRE", "k", "-9223372036854775808"],
        b"-ERR invalid expire time in 'expire' command\r\n",
    )
    .await;
    // The key is untouched by the failures.
    c.expect(&["TTL", "k"], b":-1\r\n").await;
    // The largest deadline that does not overflow is accepted.
    c.expect(&["PEXPIREAT", "k", "9223372036854775807"], b":1\r\n")
        .await;
    c.expect(&["PEXPIRETIME", "k"], b":9223372036854775807\r\n")
        .await;
}

#[tokio::test]
async fn ttl_queries_and_persist() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        c.expect(&[cmd, "missing"], b":-2\r\n").await;
    }
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        c.expect(&[cmd, "k"], b":-1\r\n").await;
    }
    c.expect(&["PERSIST", "k"], b":0\r\n").await;
    c.expect(&["PERSIST", "missing"], b":0\r\n").await;
    c.expect(&["PEXPIREAT", "k", &FAR_MS.to_string()], b":1\r\n")
        .await;
    c.expect(&["PERSIST", "k"], b":1\r\n").await;
    c.expect(&["TTL", "k"], b":-1\r\n").await;
    c.expect(&["PERSIST", "k"], b":0\r\n").await;
    c.expect(&["GET", "k"], b"$1\r\nv\r\n").await;
}

/// EXPIRE with a deadline already past deletes the key at once.
#[tokio::test]
async fn expire_in_the_past_deletes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for args in [
        &["EXPIRE", "k", "-1"][..],
        &["EXPIRE", "k", "0"],
        &["PEXPIRE", "k", "-100"],
        &["EXPIREAT", "k", "1"],
        &["PEXPIREAT", "k", "1"],
    ] {
        c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
        c.expect(args, b":1\r\n").await;
        c.expect(&["EXISTS", "k"], b":0\r\n").await;
        c.expect(&["GET", "k"], b"$-1\r\n").await;
    }
    c.expect(&["DBSIZE"], b":0\r\n").await;
    // GETEX with a past absolute deadline returns the value and deletes the key.
    c.expect(&["SET", "g", "v"], b"+OK\r\n").await;
    c.expect(&["GETEX", "g", "EXAT", "1"], b"$1\r\nv\r\n").await;
    c.expect(&["EXISTS", "g"], b":0\r\n").await;
}

#[tokio::test]
async fn getex_options() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["GETEX", "missing", "EX", "10"], b"$-1\r\n")
        .await;
    c.expect(&["EXISTS", "missing"], b":0\r\n").await;
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    c.expect(&["GETEX", "k"], b"$1\r\nv\r\n").await;
    c.expect(&["TTL", "k"], b":-1\r\n").await;
    c.expect(&["GETEX", "k", "EX", "100"], b"$1\r\nv\r\n").await;
    let ttl = c.int(&["TTL", "k"]).await;
    assert!((99..=100).contains(&ttl), "{ttl}");
    c.expect(&["GETEX", "k", "PXAT", &FAR_MS.to_string()], b"$1\r\nv\r\n")
        .await;
    c.expect(&["PEXPIRETIME", "k"], format!(":{FAR_MS}\r\n"))
        .await;
    c.expect(
        &["GETEX", "k", "EXAT", &(FAR_S + 5).to_string()],
        b"$1\r\nv\r\n",
    )
    .await;
    c.expect(&["EXPIRETIME", "k"], format!(":{}\r\n", FAR_S + 5))
        .await;
    c.expect(&["GETEX", "k", "PX", "100000"], b"$1\r\nv\r\n")
        .await;
    let pttl = c.int(&["PTTL", "k"]).await;
    assert!(pttl > 90_000 && pttl <= 100_000, "{pttl}");
    c.expect(&["GETEX", "k", "PERSIST"], b"$1\r\nv\r\n").await;
    c.expect(&["TTL", "k"], b":-1\r\n").await;
    c.expect(
        &["GETEX", "k", "EX", "10", "PX", "10"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["GETEX", "k", "PERSIST", "EX", "10"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(&["GETEX", "k", "FOO"], b"-ERR syntax error\r\n")
        .await;
    c.expect(
        &["GETEX", "k", "EX", "-1"],
        b"-ERR invalid expire time in 'getex' command\r\n",
    )
    .await;
    c.expect(
        &["GETEX", "k", "PX", "abc"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["TTL", "k"], b":-1\r\n").await;
}

/// With active expiry off, an expired key stays in the keyspace until it is
/// accessed; every access treats it as missing and removes it.
#[tokio::test]
async fn lazy_expiry() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"], b"+OK\r\n")
        .await;
    let deadline = server_time_ms(&mut c).await + 50;
    for k in ["a", "b", "c", "d"] {
        c.expect(&["SET", k, "v", "PXAT", &deadline.to_string()], b"+OK\r\n")
            .await;
    }
    c.expect(&["SET", "keep", "v"], b"+OK\r\n").await;
    wait_until_server_time(&mut c, deadline).await;
    // Not touched, so still counted.
    c.expect(&["DBSIZE"], b":5\r\n").await;
    // Expired keys are invisible to KEYS, SCAN and EXISTS.
    c.expect(&["KEYS", "*"], b"*1\r\n$4\r\nkeep\r\n").await;
    c.expect(
        &["SCAN", "0", "COUNT", "100"],
        b"*2\r\n$1\r\n0\r\n*1\r\n$4\r\nkeep\r\n",
    )
    .await;
    c.expect(&["GET", "a"], b"$-1\r\n").await;
    c.expect(&["TTL", "b"], b":-2\r\n").await;
    c.expect(&["EXISTS", "c"], b":0\r\n").await;
    c.expect(&["SET", "d", "new", "XX"], b"$-1\r\n").await;
    c.expect(&["DBSIZE"], b":1\r\n").await;
    let info = c.val(&["INFO", "stats"]).await;
    assert!(
        info.as_str().contains("\r\nexpired_keys:4\r\n"),
        "{}",
        info.as_str()
    );
    c.expect(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"], b"+OK\r\n")
        .await;
}

/// A short PX, then polling PTTL until the key is reported gone.
#[tokio::test]
async fn pexpire_then_poll_until_gone() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"], b"+OK\r\n")
        .await;
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    c.expect(&["PEXPIRE", "k", "1"], b":1\r\n").await;
    poll_until(&mut c, &["PTTL", "k"], 500, "PTTL reports k gone", |r| {
        *r == Resp::Int(-2)
    })
    .await;
    c.expect(&["EXISTS", "k"], b":0\r\n").await;
    c.expect(&["DBSIZE"], b":0\r\n").await;
    c.expect(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"], b"+OK\r\n")
        .await;
}

/// Active expiry removes keys nobody touches: DBSIZE (which expires nothing
/// itself) drops to zero on its own.
#[tokio::test]
async fn active_expiry_removes_untouched_keys() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut req = Vec::new();
    for i in 0..200 {
        req.extend(common::encode(&["SET", &format!("k{i}"), "v", "PX", "20"]));
    }
    req.extend(common::encode(&["SET", "forever", "v"]));
    c.send(&req).await;
    let replies = c.read_frames(201).await;
    assert_eq!(replies, b"+OK\r\n".repeat(201));
    poll_until(
        &mut c,
        &["DBSIZE"],
        1000,
        "active expiry empties the keys with a TTL",
        |r| *r == Resp::Int(1),
    )
    .await;
    c.expect(&["GET", "forever"], b"$1\r\nv\r\n").await;
    let info = c.val(&["INFO", "stats"]).await;
    assert!(
        info.as_str().contains("\r\nexpired_keys:200\r\n"),
        "{}",
        info.as_str()
    );
    let info = c.val(&["INFO", "keyspace"]).await;
    assert!(
        info.as_str().contains("db0:keys=1,expires=0,"),
        "{}",
        info.as_str()
    );
}

/// Keys with a TTL in other databases expire too, and INFO keyspace counts them.
#[tokio::test]
async fn expiry_in_other_databases() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SELECT", "3"], b"+OK\r\n").await;
    c.expect(&["SET", "a", "v", "PXAT", &FAR_MS.to_string()], b"+OK\r\n")
        .await;
    c.expect(&["SET", "b", "v"], b"+OK\r\n").await;
    let info = c.val(&["INFO", "keyspace"]).await;
    assert!(
        info.as_str().contains("db3:keys=2,expires=1,"),
        "{}",
        info.as_str()
    );
    c.expect(&["SET", "c", "v", "PX", "10"], b"+OK\r\n").await;
    poll_until(&mut c, &["DBSIZE"], 1000, "key in db 3 expires", |r| {
        *r == Resp::Int(2)
    })
    .await;
    c.expect(&["SELECT", "0"], b"+OK\r\n").await;
    c.expect(&["DBSIZE"], b":0\r\n").await;
}
