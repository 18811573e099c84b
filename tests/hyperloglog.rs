//! PFADD / PFCOUNT / PFMERGE / PFDEBUG / PFSELFTEST: HyperLogLogs stored
//! byte for byte as redis-server 7.0.15 stores them (the expected bytes
//! below were read from it for the same commands).

mod common;

use common::{Resp, TestServer};

#[tokio::test]
async fn hll_values_are_redis_s_bytes_and_estimates() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(&["PFADD", "h", "a", "b", "c"], b":1\r\n").await;
    c.expect(&["PFADD", "h", "a"], b":0\r\n").await;
    let before: &[u8] =
        b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ";
    assert_eq!(c.val(&["GET", "h"]).await, Resp::Bulk(before.to_vec()));
    c.expect(&["PFCOUNT", "h"], b":3\r\n").await;
    // The cardinality is cached in the header, as Redis caches it.
    let after: &[u8] =
        b"HYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00`\xf3\x80P\xb1\x84K\xfb\x80BZ";
    assert_eq!(c.val(&["GET", "h"]).await, Resp::Bulk(after.to_vec()));
    c.send("PFDEBUG DECODE h\r\n").await;
    assert_eq!(
        c.read_value().await,
        Resp::bulk("Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603")
    );
    c.expect(&["PFADD", "h2", "c", "d"], b":1\r\n").await;
    c.expect(&["PFMERGE", "m", "h", "h2"], b"+OK\r\n").await;
    c.expect(&["PFCOUNT", "m"], b":4\r\n").await;
    c.expect(&["PFCOUNT", "h", "h2"], b":4\r\n").await;
    c.send("PFDEBUG ENCODING m\r\n").await;
    assert_eq!(c.read_value().await, Resp::Simple("sparse".into()));
    c.send("PFDEBUG TODENSE m\r\n").await;
    assert_eq!(c.read_value().await, Resp::Int(1));
    c.expect(&["PFCOUNT", "m"], b":4\r\n").await;
    c.send("PFSELFTEST\r\n").await;
    assert_eq!(c.read_value().await, Resp::Simple("OK".into()));
}

#[tokio::test]
async fn non_hll_strings_and_corrupt_values_are_refused() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(&["SET", "s", "hello"], b"+OK\r\n").await;
    c.expect(
        &["PFADD", "s", "x"],
        b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n",
    )
    .await;
    c.expect(&["LPUSH", "l", "x"], b":1\r\n").await;
    c.expect(
        &["PFCOUNT", "l"],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    // A sparse value whose runs do not cover every register.
    let corrupt: &[u8] = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00";
    c.send_cmd(&[&b"SET"[..], b"bad", corrupt]).await;
    assert_eq!(c.read_frame().await, b"+OK\r\n");
    c.expect(
        &["PFCOUNT", "bad"],
        b"-INVALIDOBJ Corrupted HLL object detected\r\n",
    )
    .await;
    c.expect(&["PING"], b"+PONG\r\n").await;
}
