//! Lists: every list command, its errors, and the blocking pops with Redis's
//! blocking semantics (after Redis's `unit/type/list.tcl`).

mod common;

use std::collections::BTreeSet;

use common::{
    encode, info_field, keys_on_distinct_slots, poll_until, wait_for_blocked_clients_on, Raw, Resp,
    TestServer,
};

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// `$n\r\ns\r\n`
fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// A multibulk of bulk strings.
fn arr(items: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        out.push_str(&bulk(i));
    }
    out.into_bytes()
}

/// The `[key, element]` reply of BLPOP / BRPOP.
fn popped(key: &str, elem: &str) -> Vec<u8> {
    arr(&[key, elem])
}

/// The `[key, [elements]]` reply of LMPOP / BLMPOP.
fn mpopped(key: &str, elems: &[&str]) -> Vec<u8> {
    let mut out = format!("*2\r\n{}", bulk(key)).into_bytes();
    out.extend(arr(elems));
    out
}

async fn range(c: &mut Raw, key: &str) -> Vec<String> {
    c.val(&["LRANGE", key, "0", "-1"]).await.strings()
}

// ---------------------------------------------------------------------------
// Non-blocking commands
// ---------------------------------------------------------------------------

#[tokio::test]
async fn push_len_range() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["LPUSH", "l", "a", "b", "c"], b":3\r\n").await;
    // LPUSH inserts one element at a time at the head: the last ends up first.
    c.expect(&["LRANGE", "l", "0", "-1"], arr(&["c", "b", "a"]))
        .await;
    c.expect(&["RPUSH", "l", "x", "y"], b":5\r\n").await;
    c.expect(&["LLEN", "l"], b":5\r\n").await;
    c.expect(&["LLEN", "missing"], b":0\r\n").await;
    c.expect(&["TYPE", "l"], b"+list\r\n").await;
    assert_eq!(range(&mut c, "l").await, ["c", "b", "a", "x", "y"]);
    // Ranges: negative indexes, clamping, empty ranges.
    c.expect(&["LRANGE", "l", "1", "2"], arr(&["b", "a"])).await;
    c.expect(&["LRANGE", "l", "-2", "-1"], arr(&["x", "y"]))
        .await;
    c.expect(&["LRANGE", "l", "-100", "1"], arr(&["c", "b"]))
        .await;
    c.expect(&["LRANGE", "l", "3", "100"], arr(&["x", "y"]))
        .await;
    c.expect(&["LRANGE", "l", "3", "1"], b"*0\r\n").await;
    c.expect(&["LRANGE", "l", "5", "10"], b"*0\r\n").await;
    c.expect(&["LRANGE", "l", "-1", "-2"], b"*0\r\n").await;
    c.expect(&["LRANGE", "missing", "0", "-1"], b"*0\r\n").await;
    c.expect(
        &["LRANGE", "l", "0", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    // Binary-safe elements.
    c.expect(&["RPUSH", "bin", "a\r\nb", ""], b":2\r\n").await;
    c.expect(
        &["LRANGE", "bin", "0", "-1"],
        b"*2\r\n$4\r\na\r\nb\r\n$0\r\n\r\n",
    )
    .await;
    c.expect(
        &["LPUSH", "l"],
        b"-ERR wrong number of arguments for 'lpush' command\r\n",
    )
    .await;
    c.expect(
        &["RPUSH", "l"],
        b"-ERR wrong number of arguments for 'rpush' command\r\n",
    )
    .await;
}

#[tokio::test]
async fn pushx_only_on_existing_lists() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["LPUSHX", "l", "a"], b":0\r\n").await;
    c.expect(&["RPUSHX", "l", "a", "b"], b":0\r\n").await;
    c.expect(&["EXISTS", "l"], b":0\r\n").await;
    c.expect(&["RPUSH", "l", "m"], b":1\r\n").await;
    c.expect(&["LPUSHX", "l", "b", "a"], b":3\r\n").await;
    c.expect(&["RPUSHX", "l", "y", "z"], b":5\r\n").await;
    assert_eq!(range(&mut c, "l").await, ["a", "b", "m", "y", "z"]);
    c.expect(&["SET", "s", "v"], b"+OK\r\n").await;
    c.expect(&["LPUSHX", "s", "a"], WRONGTYPE).await;
    c.expect(&["RPUSHX", "s", "a"], WRONGTYPE).await;
}

#[tokio::test]
async fn pop_with_and_without_count() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "l", "a", "b", "c", "d", "e"], b":5\r\n")
        .await;
    c.expect(&["LPOP", "l"], bulk("a")).await;
    c.expect(&["RPOP", "l"], bulk("e")).await;
    c.expect(&["LPOP", "l", "2"], arr(&["b", "c"])).await;
    // COUNT 0 on an existing list: an empty array, nothing popped.
    c.expect(&["LPOP", "l", "0"], b"*0\r\n").await;
    c.expect(&["RPOP", "l", "0"], b"*0\r\n").await;
    c.expect(&["LLEN", "l"], b":1\r\n").await;
    // A count larger than the list pops what there is, and the list is deleted.
    c.expect(&["RPOP", "l", "10"], arr(&["d"])).await;
    c.expect(&["EXISTS", "l"], b":0\r\n").await;
    // Missing key: nil bulk without count, nil array with one (even 0).
    c.expect(&["LPOP", "l"], b"$-1\r\n").await;
    c.expect(&["RPOP", "l"], b"$-1\r\n").await;
    c.expect(&["LPOP", "l", "2"], b"*-1\r\n").await;
    c.expect(&["RPOP", "l", "0"], b"*-1\r\n").await;
    // RPOP with a count pops from the tail, in popping order.
    c.expect(&["RPUSH", "l", "1", "2", "3"], b":3\r\n").await;
    c.expect(&["RPOP", "l", "2"], arr(&["3", "2"])).await;
    c.expect(&["RPOP", "l"], bulk("1")).await;
    c.expect(&["EXISTS", "l"], b":0\r\n").await;
    // Count errors.
    c.expect(&["RPUSH", "l", "x"], b":1\r\n").await;
    c.expect(
        &["LPOP", "l", "-1"],
        b"-ERR value is out of range, must be positive\r\n",
    )
    .await;
    c.expect(
        &["RPOP", "l", "x"],
        b"-ERR value is out of range, must be positive\r\n",
    )
    .await;
    c.expect(
        &["LPOP", "l", "1", "2"],
        b"-ERR wrong number of arguments for 'lpop' command\r\n",
    )
    .await;
    c.expect(
        &["RPOP", "l", "1", "2"],
        b"-ERR wrong number of arguments for 'rpop' command\r\n",
    )
    .await;
    c.expect(&["LLEN", "l"], b":1\r\n").await;
}

#[tokio::test]
async fn lindex_and_lset() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "l", "a", "b", "c"], b":3\r\n").await;
    c.expect(&["LINDEX", "l", "0"], bulk("a")).await;
    c.expect(&["LINDEX", "l", "2"], bulk("c")).await;
    c.expect(&["LINDEX", "l", "-1"], bulk("c")).await;
    c.expect(&["LINDEX", "l", "-3"], bulk("a")).await;
    c.expect(&["LINDEX", "l", "3"], b"$-1\r\n").await;
    c.expect(&["LINDEX", "l", "-4"], b"$-1\r\n").await;
    c.expect(&["LINDEX", "missing", "0"], b"$-1\r\n").await;
    c.expect(
        &["LINDEX", "l", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["LSET", "l", "1", "B"], b"+OK\r\n").await;
    c.expect(&["LSET", "l", "-1", "C"], b"+OK\r\n").await;
    c.expect(&["LSET", "l", "0", ""], b"+OK\r\n").await;
    assert_eq!(range(&mut c, "l").await, ["", "B", "C"]);
    c.expect(&["LSET", "l", "3", "x"], b"-ERR index out of range\r\n")
        .await;
    c.expect(&["LSET", "l", "-4", "x"], b"-ERR index out of range\r\n")
        .await;
    c.expect(&["LSET", "missing", "0", "x"], b"-ERR no such key\r\n")
        .await;
    c.expect(
        &["LSET", "l", "x", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["EXISTS", "missing"], b":0\r\n").await;
}

#[tokio::test]
async fn linsert() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "l", "a", "c", "c"], b":3\r\n").await;
    c.expect(&["LINSERT", "l", "BEFORE", "c", "b"], b":4\r\n")
        .await;
    c.expect(&["LINSERT", "l", "after", "c", "d"], b":5\r\n")
        .await;
    c.expect(&["LINSERT", "l", "AFTER", "a", "a2"], b":6\r\n")
        .await;
    c.expect(&["LINSERT", "l", "BEFORE", "a", "0"], b":7\r\n")
        .await;
    // The pivot is the first match from the head.
    assert_eq!(
        range(&mut c, "l").await,
        ["0", "a", "a2", "b", "c", "d", "c"]
    );
    c.expect(&["LINSERT", "l", "BEFORE", "zzz", "x"], b":-1\r\n")
        .await;
    c.expect(&["LINSERT", "missing", "BEFORE", "a", "x"], b":0\r\n")
        .await;
    c.expect(&["EXISTS", "missing"], b":0\r\n").await;
    c.expect(
        &["LINSERT", "l", "MIDDLE", "a", "x"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(&["LLEN", "l"], b":7\r\n").await;
}

#[tokio::test]
async fn lrem() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["RPUSH", "l", "x", "a", "x", "b", "x", "c", "x"],
        b":7\r\n",
    )
    .await;
    // Positive count: from the head.
    c.expect(&["LREM", "l", "2", "x"], b":2\r\n").await;
    assert_eq!(range(&mut c, "l").await, ["a", "b", "x", "c", "x"]);
    // Negative count: from the tail.
    c.expect(&["LREM", "l", "-1", "x"], b":1\r\n").await;
    assert_eq!(range(&mut c, "l").await, ["a", "b", "x", "c"]);
    c.expect(&["RPUSH", "l", "x", "x"], b":6\r\n").await;
    // Zero: all of them.
    c.expect(&["LREM", "l", "0", "x"], b":3\r\n").await;
    assert_eq!(range(&mut c, "l").await, ["a", "b", "c"]);
    c.expect(&["LREM", "l", "0", "nope"], b":0\r\n").await;
    c.expect(&["LREM", "missing", "0", "x"], b":0\r\n").await;
    c.expect(
        &["LREM", "l", "x", "a"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    // Removing every element deletes the key.
    c.expect(&["RPUSH", "all", "v", "v"], b":2\r\n").await;
    c.expect(&["LREM", "all", "0", "v"], b":2\r\n").await;
    c.expect(&["EXISTS", "all"], b":0\r\n").await;
}

#[tokio::test]
async fn ltrim() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "l", "0", "1", "2", "3", "4", "5"], b":6\r\n")
        .await;
    c.expect(&["LTRIM", "l", "1", "-2"], b"+OK\r\n").await;
    assert_eq!(range(&mut c, "l").await, ["1", "2", "3", "4"]);
    c.expect(&["LTRIM", "l", "-100", "100"], b"+OK\r\n").await;
    assert_eq!(range(&mut c, "l").await, ["1", "2", "3", "4"]);
    c.expect(&["LTRIM", "l", "-2", "-1"], b"+OK\r\n").await;
    assert_eq!(range(&mut c, "l").await, ["3", "4"]);
    c.expect(&["LTRIM", "missing", "0", "1"], b"+OK\r\n").await;
    c.expect(&["EXISTS", "missing"], b":0\r\n").await;
    c.expect(
        &["LTRIM", "l", "0", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    // An empty range deletes the key.
    c.expect(&["LTRIM", "l", "5", "10"], b"+OK\r\n").await;
    c.expect(&["EXISTS", "l"], b":0\r\n").await;
    c.expect(&["RPUSH", "l", "a", "b"], b":2\r\n").await;
    c.expect(&["LTRIM", "l", "1", "0"], b"+OK\r\n").await;
    c.expect(&["EXISTS", "l"], b":0\r\n").await;
}

#[tokio::test]
async fn lpos_rank_count_maxlen() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    // Indexes:               0    1    2    3    4    5    6
    c.expect(
        &["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"],
        b":8\r\n",
    )
    .await;
    c.expect(&["LPOS", "l", "c"], b":2\r\n").await;
    c.expect(&["LPOS", "l", "a"], b":0\r\n").await;
    c.expect(&["LPOS", "l", "zz"], b"$-1\r\n").await;
    // RANK: the n-th match, from the head (positive) or the tail (negative).
    c.expect(&["LPOS", "l", "c", "RANK", "1"], b":2\r\n").await;
    c.expect(&["LPOS", "l", "c", "RANK", "2"], b":6\r\n").await;
    c.expect(&["LPOS", "l", "c", "RANK", "4"], b"$-1\r\n").await;
    c.expect(&["LPOS", "l", "c", "RANK", "-1"], b":7\r\n").await;
    c.expect(&["LPOS", "l", "c", "RANK", "-3"], b":2\r\n").await;
    // COUNT: an array of up to that many matches; 0 means all.
    c.expect(&["LPOS", "l", "c", "COUNT", "2"], b"*2\r\n:2\r\n:6\r\n")
        .await;
    c.expect(
        &["LPOS", "l", "c", "COUNT", "0"],
        b"*3\r\n:2\r\n:6\r\n:7\r\n",
    )
    .await;
    c.expect(
        &["LPOS", "l", "c", "COUNT", "0", "RANK", "-1"],
        b"*3\r\n:7\r\n:6\r\n:2\r\n",
    )
    .await;
    c.expect(
        &["LPOS", "l", "c", "RANK", "2", "COUNT", "10"],
        b"*2\r\n:6\r\n:7\r\n",
    )
    .await;
    c.expect(&["LPOS", "l", "zz", "COUNT", "0"], b"*0\r\n")
        .await;
    // MAXLEN: how many elements to look at.
    c.expect(&["LPOS", "l", "c", "MAXLEN", "2"], b"$-1\r\n")
        .await;
    c.expect(&["LPOS", "l", "c", "MAXLEN", "3"], b":2\r\n")
        .await;
    c.expect(
        &["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"],
        b"*2\r\n:2\r\n:6\r\n",
    )
    .await;
    c.expect(
        &["LPOS", "l", "c", "RANK", "-1", "COUNT", "0", "MAXLEN", "2"],
        b"*2\r\n:7\r\n:6\r\n",
    )
    .await;
    c.expect(&["LPOS", "l", "c", "MAXLEN", "0"], b":2\r\n")
        .await;
    // Missing key.
    c.expect(&["LPOS", "missing", "c"], b"$-1\r\n").await;
    c.expect(&["LPOS", "missing", "c", "COUNT", "1"], b"*0\r\n")
        .await;
    // Errors.
    c.expect(
        &["LPOS", "l", "c", "RANK", "0"],
        b"-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n",
    )
    .await;
    c.expect(
        &["LPOS", "l", "c", "COUNT", "-1"],
        b"-ERR COUNT can't be negative\r\n",
    )
    .await;
    c.expect(
        &["LPOS", "l", "c", "MAXLEN", "-1"],
        b"-ERR MAXLEN can't be negative\r\n",
    )
    .await;
    c.expect(
        &["LPOS", "l", "c", "RANK", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["LPOS", "l", "c", "RANK"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["LPOS", "l", "c", "FOO", "1"], b"-ERR syntax error\r\n")
        .await;
}

#[tokio::test]
async fn lmove_and_rpoplpush() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "src", "1", "2", "3", "4"], b":4\r\n")
        .await;
    c.expect(&["LMOVE", "src", "dst", "LEFT", "RIGHT"], bulk("1"))
        .await;
    c.expect(&["LMOVE", "src", "dst", "RIGHT", "LEFT"], bulk("4"))
        .await;
    c.expect(&["LMOVE", "src", "dst", "left", "left"], bulk("2"))
        .await;
    c.expect(&["RPOPLPUSH", "src", "dst"], bulk("3")).await;
    // The source ran dry and is gone.
    c.expect(&["EXISTS", "src"], b":0\r\n").await;
    assert_eq!(range(&mut c, "dst").await, ["3", "2", "4", "1"]);
    c.expect(&["LMOVE", "dst", "dst", "RIGHT", "RIGHT"], bulk("1"))
        .await;
    // Same key: a rotation.
    c.expect(&["LMOVE", "dst", "dst", "LEFT", "RIGHT"], bulk("3"))
        .await;
    c.expect(&["RPOPLPUSH", "dst", "dst"], bulk("3")).await;
    assert_eq!(range(&mut c, "dst").await, ["3", "2", "4", "1"]);
    // Rotating a one-element list keeps the key, and its TTL.
    c.expect(&["RPUSH", "one", "x"], b":1\r\n").await;
    c.expect(&["EXPIRE", "one", "100"], b":1\r\n").await;
    c.expect(&["LMOVE", "one", "one", "LEFT", "RIGHT"], bulk("x"))
        .await;
    c.expect(&["RPOPLPUSH", "one", "one"], bulk("x")).await;
    let ttl = c.int(&["TTL", "one"]).await;
    assert!((1..=100).contains(&ttl), "TTL after rotation: {ttl}");
    assert_eq!(range(&mut c, "one").await, ["x"]);
    // Missing source: nil, and no destination is created.
    c.expect(&["LMOVE", "nope", "new", "LEFT", "LEFT"], b"$-1\r\n")
        .await;
    c.expect(&["RPOPLPUSH", "nope", "new"], b"$-1\r\n").await;
    c.expect(&["EXISTS", "new"], b":0\r\n").await;
    c.expect(
        &["LMOVE", "dst", "x", "UP", "LEFT"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["LMOVE", "dst", "x", "LEFT", "DOWN"],
        b"-ERR syntax error\r\n",
    )
    .await;
    // A destination of another type: WRONGTYPE and the source is untouched.
    c.expect(&["SET", "str", "v"], b"+OK\r\n").await;
    c.expect(&["LMOVE", "dst", "str", "LEFT", "LEFT"], WRONGTYPE)
        .await;
    c.expect(&["RPOPLPUSH", "dst", "str"], WRONGTYPE).await;
    c.expect(&["LLEN", "dst"], b":4\r\n").await;
    c.expect(&["RPOPLPUSH", "str", "dst"], WRONGTYPE).await;
    // A missing source with a wrong-typed destination is just nil.
    c.expect(&["RPOPLPUSH", "nope", "str"], b"$-1\r\n").await;
}

#[tokio::test]
async fn lmpop() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "b", "1", "2", "3"], b":3\r\n").await;
    c.expect(&["RPUSH", "c", "x"], b":1\r\n").await;
    // The first non-empty key, left to right.
    c.expect(&["LMPOP", "3", "a", "b", "c", "LEFT"], mpopped("b", &["1"]))
        .await;
    c.expect(
        &["LMPOP", "3", "a", "c", "b", "RIGHT", "COUNT", "5"],
        mpopped("c", &["x"]),
    )
    .await;
    c.expect(&["EXISTS", "c"], b":0\r\n").await;
    c.expect(
        &["LMPOP", "2", "a", "b", "right", "count", "1"],
        mpopped("b", &["3"]),
    )
    .await;
    c.expect(
        &["LMPOP", "1", "b", "LEFT", "COUNT", "9"],
        mpopped("b", &["2"]),
    )
    .await;
    c.expect(&["EXISTS", "b"], b":0\r\n").await;
    c.expect(&["LMPOP", "2", "a", "b", "LEFT"], b"*-1\r\n")
        .await;
    // numkeys / count / syntax errors.
    for n in ["0", "-1", "x"] {
        c.expect(
            &["LMPOP", n, "a", "LEFT"],
            b"-ERR numkeys should be greater than 0\r\n",
        )
        .await;
    }
    for n in ["0", "-1", "x"] {
        c.expect(
            &["LMPOP", "1", "a", "LEFT", "COUNT", n],
            b"-ERR count should be greater than 0\r\n",
        )
        .await;
    }
    c.expect(&["LMPOP", "2", "a", "LEFT"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["LMPOP", "1", "a", "UP"], b"-ERR syntax error\r\n")
        .await;
    c.expect(
        &["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["LMPOP", "1", "a", "LEFT", "COUNT"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["LMPOP", "1", "a"],
        b"-ERR wrong number of arguments for 'lmpop' command\r\n",
    )
    .await;
    // A wrong-typed key on the way is an error, even after empty keys.
    c.expect(&["SET", "s", "v"], b"+OK\r\n").await;
    c.expect(&["LMPOP", "2", "a", "s", "LEFT"], WRONGTYPE).await;
}

#[tokio::test]
async fn wrongtype_for_every_list_command() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SET", "s", "v"], b"+OK\r\n").await;
    let cmds: &[&[&str]] = &[
        &["LPUSH", "s", "a"],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "2"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "-1"],
        &["LINDEX", "s", "0"],
        &["LSET", "s", "0", "x"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LMOVE", "s", "d", "LEFT", "LEFT"],
        &["RPOPLPUSH", "s", "d"],
        &["LMPOP", "1", "s", "LEFT"],
        &["BLPOP", "s", "0"],
        &["BRPOP", "s", "0"],
        &["BLMOVE", "s", "d", "LEFT", "LEFT", "0"],
        &["BRPOPLPUSH", "s", "d", "0"],
        &["BLMPOP", "0", "1", "s", "LEFT"],
    ];
    for cmd in cmds {
        c.expect(cmd, WRONGTYPE).await;
    }
    c.expect(&["GET", "s"], bulk("v")).await;
    c.expect(&["EXISTS", "d"], b":0\r\n").await;
    // And the other way: string commands on a list.
    c.expect(&["RPUSH", "l", "a"], b":1\r\n").await;
    c.expect(&["GET", "l"], WRONGTYPE).await;
    c.expect(&["APPEND", "l", "x"], WRONGTYPE).await;
}

#[tokio::test]
async fn blocking_argument_errors() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let negative = b"-ERR timeout is negative\r\n";
    let not_float = b"-ERR timeout is not a float or out of range\r\n";
    c.expect(&["BLPOP", "k", "-1"], negative).await;
    c.expect(&["BRPOP", "k", "-0.5"], negative).await;
    c.expect(&["BLMOVE", "k", "d", "LEFT", "LEFT", "-1"], negative)
        .await;
    c.expect(&["BRPOPLPUSH", "k", "d", "-1"], negative).await;
    c.expect(&["BLMPOP", "-1", "1", "k", "LEFT"], negative)
        .await;
    c.expect(&["BLPOP", "k", "abc"], not_float).await;
    c.expect(&["BRPOP", "k", "1x"], not_float).await;
    c.expect(&["BLMOVE", "k", "d", "LEFT", "LEFT", "x"], not_float)
        .await;
    c.expect(&["BRPOPLPUSH", "k", "d", "nan"], not_float).await;
    c.expect(&["BLMPOP", "x", "1", "k", "LEFT"], not_float)
        .await;
    c.expect(
        &["BLMPOP", "0", "0", "k", "LEFT"],
        b"-ERR numkeys should be greater than 0\r\n",
    )
    .await;
    c.expect(
        &["BLMPOP", "0", "1", "k", "LEFT", "COUNT", "0"],
        b"-ERR count should be greater than 0\r\n",
    )
    .await;
    c.expect(
        &["BLMPOP", "0", "1", "k", "MIDDLE"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["BLMOVE", "k", "d", "LEFT", "MIDDLE", "0"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["BLPOP", "k"],
        b"-ERR wrong number of arguments for 'blpop' command\r\n",
    )
    .await;
    c.expect(
        &["BLMPOP", "0", "1", "k"],
        b"-ERR wrong number of arguments for 'blmpop' command\r\n",
    )
    .await;
    // None of these blocked.
    assert_eq!(info_field(&mut c, "clients", "blocked_clients").await, 0);
}

/// When a list has elements, the blocking commands answer at once.
#[tokio::test]
async fn blocking_commands_serve_at_once_when_possible() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "l", "1", "2", "3", "4", "5", "6"], b":6\r\n")
        .await;
    c.expect(&["BLPOP", "l", "0"], popped("l", "1")).await;
    c.expect(&["BRPOP", "l", "0"], popped("l", "6")).await;
    c.expect(&["BLMOVE", "l", "d", "LEFT", "RIGHT", "0"], bulk("2"))
        .await;
    c.expect(&["BRPOPLPUSH", "l", "d", "0"], bulk("5")).await;
    c.expect(
        &["BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "5"],
        mpopped("l", &["4", "3"]),
    )
    .await;
    c.expect(&["EXISTS", "l"], b":0\r\n").await;
    assert_eq!(range(&mut c, "d").await, ["5", "2"]);
}

/// The `redis` crate sees the same lists.
#[tokio::test]
async fn lists_with_redis_crate() {
    use redis::AsyncCommands;
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let n: i64 = con.rpush("typed", &["a", "b", "c"]).await.unwrap();
    assert_eq!(n, 3);
    let all: Vec<String> = con.lrange("typed", 0, -1).await.unwrap();
    assert_eq!(all, ["a", "b", "c"]);
    let first: Option<String> = con.lpop("typed", None).await.unwrap();
    assert_eq!(first.as_deref(), Some("a"));
    let (key, val): (String, String) = redis::cmd("BLPOP")
        .arg("typed")
        .arg(0)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!((key.as_str(), val.as_str()), ("typed", "b"));
    let none: Option<(String, String)> = redis::cmd("BRPOP")
        .arg("empty")
        .arg(0.01)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(none, None);
}

// ---------------------------------------------------------------------------
// Blocking semantics
// ---------------------------------------------------------------------------

/// A pop on several keys serves from the first non-empty one, left to right,
/// and a blocked client is served by whichever key gets an element.
#[tokio::test]
async fn multi_key_pops_serve_first_non_empty_key() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RPUSH", "b", "b1", "b2"], b":2\r\n").await;
    c.expect(&["RPUSH", "c", "c1"], b":1\r\n").await;
    c.expect(&["BLPOP", "a", "c", "b", "0"], popped("c", "c1"))
        .await;
    c.expect(&["BRPOP", "a", "b", "c", "0"], popped("b", "b2"))
        .await;
    c.expect(
        &["BLMPOP", "0", "3", "a", "c", "b", "LEFT"],
        mpopped("b", &["b1"]),
    )
    .await;
    // All empty now: block on a, b, c and push to c.
    let mut w = srv.raw().await;
    w.send_cmd(&["BLPOP", "a", "b", "c", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RPUSH", "c", "late"], b":1\r\n").await;
    assert_eq!(w.read_frame().await, popped("c", "late"));
    c.expect(&["EXISTS", "c"], b":0\r\n").await;
    // Several keys made ready by one transaction: the key readied first serves.
    w.send_cmd(&["BLPOP", "a", "b", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["RPUSH", "b", "first"], b"+QUEUED\r\n").await;
    c.expect(&["RPUSH", "a", "second"], b"+QUEUED\r\n").await;
    c.expect(&["EXEC"], b"*2\r\n:1\r\n:1\r\n").await;
    assert_eq!(w.read_frame().await, popped("b", "first"));
    assert_eq!(range(&mut c, "a").await, ["second"]);
}

/// Clients blocked on a key are served in the order they blocked.
#[tokio::test]
async fn blocked_clients_are_served_fifo() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut waiters = Vec::new();
    for i in 0..4 {
        let mut w = srv.raw().await;
        // Mixed commands and key orders: the queue is per key, across commands.
        match i {
            0 => w.send_cmd(&["BLPOP", "q", "0"]).await,
            1 => w.send_cmd(&["BRPOP", "other", "q", "0"]).await,
            2 => w.send_cmd(&["BLMPOP", "0", "1", "q", "LEFT"]).await,
            _ => w.send_cmd(&["BLPOP", "q", "other2", "0"]).await,
        }
        srv.wait_for_blocked_clients(i + 1).await;
        waiters.push(w);
    }
    // One element at a time: each goes to the oldest waiter still blocked.
    c.expect(&["RPUSH", "q", "e0"], b":1\r\n").await;
    assert_eq!(waiters[0].read_frame().await, popped("q", "e0"));
    srv.wait_for_blocked_clients(3).await;
    c.expect(&["RPUSH", "q", "e1"], b":1\r\n").await;
    assert_eq!(waiters[1].read_frame().await, popped("q", "e1"));
    srv.wait_for_blocked_clients(2).await;
    c.expect(&["LPUSH", "q", "e2"], b":1\r\n").await;
    assert_eq!(waiters[2].read_frame().await, mpopped("q", &["e2"]));
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RPUSH", "q", "e3"], b":1\r\n").await;
    assert_eq!(waiters[3].read_frame().await, popped("q", "e3"));
    srv.wait_for_blocked_clients(0).await;
    c.expect(&["EXISTS", "q"], b":0\r\n").await;
    for w in &mut waiters {
        w.assert_idle().await;
    }
}

/// One push of N elements serves N waiters, oldest first, each from the head.
#[tokio::test]
async fn one_push_serves_many_waiters() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut waiters = Vec::new();
    for i in 0..5 {
        let mut w = srv.raw().await;
        w.send_cmd(&["BLPOP", "q", "0"]).await;
        srv.wait_for_blocked_clients(i + 1).await;
        waiters.push(w);
    }
    // The pusher's reply is the length right after its push, before serving.
    c.expect(&["RPUSH", "q", "a", "b", "c"], b":3\r\n").await;
    for (w, e) in waiters.iter_mut().zip(["a", "b", "c"]) {
        assert_eq!(w.read_frame().await, popped("q", e));
    }
    srv.wait_for_blocked_clients(2).await;
    c.expect(&["EXISTS", "q"], b":0\r\n").await;
    // More elements than waiters: the rest stay in the list.
    c.expect(&["RPUSH", "q", "d", "e", "f", "g"], b":4\r\n")
        .await;
    assert_eq!(waiters[3].read_frame().await, popped("q", "d"));
    assert_eq!(waiters[4].read_frame().await, popped("q", "e"));
    assert_eq!(range(&mut c, "q").await, ["f", "g"]);
    // BLMPOP with COUNT takes up to COUNT elements from one push.
    c.expect(&["DEL", "q"], b":1\r\n").await;
    waiters[0]
        .send_cmd(&["BLMPOP", "0", "1", "q", "RIGHT", "COUNT", "2"])
        .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RPUSH", "q", "1", "2", "3"], b":3\r\n").await;
    assert_eq!(waiters[0].read_frame().await, mpopped("q", &["3", "2"]));
    assert_eq!(range(&mut c, "q").await, ["1"]);
}

/// A waiter is served after the whole command or transaction that readied its
/// key, and sees the key as that left it.
#[tokio::test]
async fn waiters_are_served_after_the_transaction() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut w = srv.raw().await;
    w.send_cmd(&["BLPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    // Pushed then deleted inside one transaction: nothing to serve.
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["LPUSH", "k", "a"], b"+QUEUED\r\n").await;
    c.expect(&["DEL", "k"], b"+QUEUED\r\n").await;
    c.expect(&["EXEC"], b"*2\r\n:1\r\n:1\r\n").await;
    assert_eq!(info_field(&mut c, "clients", "blocked_clients").await, 1);
    c.expect(&["EXISTS", "k"], b":0\r\n").await;
    // It is still blocked: a later push is what it gets.
    c.expect(&["RPUSH", "k", "later"], b":1\r\n").await;
    assert_eq!(w.read_frame().await, popped("k", "later"));
    // Pushed two, popped one in the transaction: the waiter gets the rest.
    w.send_cmd(&["BLPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["LPUSH", "k", "a", "b"], b"+QUEUED\r\n").await;
    c.expect(&["LPOP", "k"], b"+QUEUED\r\n").await;
    c.expect(&["EXEC"], b"*2\r\n:2\r\n$1\r\nb\r\n").await;
    assert_eq!(w.read_frame().await, popped("k", "a"));
    c.expect(&["EXISTS", "k"], b":0\r\n").await;
    // A transaction that pushes, then overwrites the key with a string.
    w.send_cmd(&["BRPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["RPUSH", "k", "x"], b"+QUEUED\r\n").await;
    c.expect(&["SET", "k", "str"], b"+QUEUED\r\n").await;
    c.expect(&["EXEC"], b"*2\r\n:1\r\n+OK\r\n").await;
    assert_eq!(info_field(&mut c, "clients", "blocked_clients").await, 1);
    c.expect(&["DEL", "k"], b":1\r\n").await;
    c.expect(&["RPUSH", "k", "y"], b":1\r\n").await;
    assert_eq!(w.read_frame().await, popped("k", "y"));
    // Within one command the same holds: LMOVE from a key to itself never
    // leaves it empty, and a pipelined push + pop is two commands.
    w.send_cmd(&["BLPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.send(
        [
            encode(&["RPUSH", "k", "p1"]),
            encode(&["LPOP", "k"]),
            encode(&["RPUSH", "k", "p2"]),
        ]
        .concat(),
    )
    .await;
    // The first push serves the waiter before LPOP runs.
    assert_eq!(c.read_frames(3).await, b":1\r\n$-1\r\n:1\r\n");
    assert_eq!(w.read_frame().await, popped("k", "p1"));
    assert_eq!(range(&mut c, "k").await, ["p2"]);
}

/// Serving is finished when the pusher's reply is sent: the served client is
/// no longer counted as blocked by a command pipelined right after the push.
#[tokio::test]
async fn blocked_count_drops_before_the_pushers_next_command() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut w = srv.raw().await;
    w.send_cmd(&["BLPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.send([encode(&["RPUSH", "k", "x"]), encode(&["INFO", "clients"])].concat())
        .await;
    assert_eq!(c.read_frame().await, b":1\r\n");
    let info = c.read_value().await;
    assert!(
        info.as_str().contains("\r\nblocked_clients:0\r\n"),
        "{}",
        info.as_str()
    );
    assert_eq!(w.read_frame().await, popped("k", "x"));
}

/// Inside MULTI the blocking commands never block: they answer nil at once,
/// or pop if they can.
#[tokio::test]
async fn blocking_commands_inside_multi_do_not_block() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    for cmd in [
        &["BLPOP", "k", "0"][..],
        &["BRPOP", "k", "j", "0"],
        &["BLMOVE", "k", "d", "LEFT", "RIGHT", "0"],
        &["BRPOPLPUSH", "k", "d", "0"],
        &["BLMPOP", "0", "2", "k", "j", "LEFT"],
        &["RPUSH", "k", "v1", "v2"],
        &["BLPOP", "k", "0"],
        &["BRPOPLPUSH", "k", "d", "0"],
        &["BLPOP", "k", "0"],
    ] {
        c.expect(cmd, b"+QUEUED\r\n").await;
    }
    let mut expected = b"*9\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n:2\r\n".to_vec();
    expected.extend(popped("k", "v1"));
    expected.extend(bulk("v2").into_bytes());
    expected.extend(b"*-1\r\n");
    c.expect(&["EXEC"], expected).await;
    assert_eq!(range(&mut c, "d").await, ["v2"]);
    assert_eq!(info_field(&mut c, "clients", "blocked_clients").await, 0);
}

/// A BLMOVE served by a push pushes in turn, which serves the waiters of its
/// destination: the chain completes within the one push.
#[tokio::test]
async fn blmove_push_serves_the_destinations_waiters() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut a = srv.raw().await;
    let mut b = srv.raw().await;
    a.send_cmd(&["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"])
        .await;
    srv.wait_for_blocked_clients(1).await;
    b.send_cmd(&["BLPOP", "b", "0"]).await;
    srv.wait_for_blocked_clients(2).await;
    c.expect(&["LPUSH", "a", "x"], b":1\r\n").await;
    assert_eq!(a.read_frame().await, bulk("x").into_bytes());
    assert_eq!(b.read_frame().await, popped("b", "x"));
    srv.wait_for_blocked_clients(0).await;
    c.expect(&["EXISTS", "a", "b"], b":0\r\n").await;
    // A chain of three: BRPOPLPUSH a→b, BRPOPLPUSH b→c, BLMPOP on c.
    let mut z = srv.raw().await;
    a.send_cmd(&["BRPOPLPUSH", "a", "b", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    b.send_cmd(&["BRPOPLPUSH", "b", "c", "0"]).await;
    srv.wait_for_blocked_clients(2).await;
    z.send_cmd(&["BLMPOP", "0", "1", "c", "LEFT"]).await;
    srv.wait_for_blocked_clients(3).await;
    c.expect(&["RPUSH", "a", "y"], b":1\r\n").await;
    assert_eq!(a.read_frame().await, bulk("y").into_bytes());
    assert_eq!(b.read_frame().await, bulk("y").into_bytes());
    assert_eq!(z.read_frame().await, mpopped("c", &["y"]));
    c.expect(&["EXISTS", "a", "b", "c"], b":0\r\n").await;
    // A served BLMOVE whose destination has the wrong type gets WRONGTYPE
    // and the element stays in the source.
    a.send_cmd(&["BLMOVE", "a", "s", "LEFT", "RIGHT", "0"])
        .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["SET", "s", "str"], b"+OK\r\n").await;
    c.expect(&["LPUSH", "a", "kept"], b":1\r\n").await;
    assert_eq!(a.read_frame().await, WRONGTYPE);
    assert_eq!(range(&mut c, "a").await, ["kept"]);
    srv.wait_for_blocked_clients(0).await;
}

#[tokio::test]
async fn client_unblock() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut w = srv.raw().await;
    let id = w.int(&["CLIENT", "ID"]).await.to_string();
    // Not blocked (or no such client): 0.
    c.expect(&["CLIENT", "UNBLOCK", &id], b":0\r\n").await;
    c.expect(&["CLIENT", "UNBLOCK", "999999"], b":0\r\n").await;
    c.expect(
        &["CLIENT", "UNBLOCK", &id, "LATER"],
        b"-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n",
    )
    .await;
    // TIMEOUT (the default): the command's timeout reply.
    w.send_cmd(&["BLPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["CLIENT", "UNBLOCK", &id], b":1\r\n").await;
    assert_eq!(w.read_frame().await, b"*-1\r\n");
    srv.wait_for_blocked_clients(0).await;
    w.send_cmd(&["BLMOVE", "k", "d", "LEFT", "LEFT", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["CLIENT", "UNBLOCK", &id, "TIMEOUT"], b":1\r\n")
        .await;
    // Redis 7.0 times BLMOVE out with a null array (in MULTI it is a nil bulk).
    assert_eq!(w.read_frame().await, b"*-1\r\n");
    // ERROR: the UNBLOCKED error.
    w.send_cmd(&["BLMPOP", "0", "1", "k", "LEFT"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["CLIENT", "UNBLOCK", &id, "ERROR"], b":1\r\n")
        .await;
    assert_eq!(
        w.read_frame().await,
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    srv.wait_for_blocked_clients(0).await;
    c.expect(&["CLIENT", "UNBLOCK", &id, "ERROR"], b":0\r\n")
        .await;
    // The unblocked client is no longer queued: a push stays in the list.
    c.expect(&["RPUSH", "k", "v"], b":1\r\n").await;
    c.expect(&["LLEN", "k"], b":1\r\n").await;
    w.expect(&["LPOP", "k"], bulk("v")).await;
}

/// What happens to a waited key that is deleted, overwritten or renamed.
#[tokio::test]
async fn waited_keys_deleted_renamed_or_retyped() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut w = srv.raw().await;
    w.send_cmd(&["BLPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    // Another type under the key does not serve the waiter, nor fail it.
    c.expect(&["SET", "k", "str"], b"+OK\r\n").await;
    c.expect(&["RPUSH", "k", "x"], WRONGTYPE).await;
    assert_eq!(info_field(&mut c, "clients", "blocked_clients").await, 1);
    c.expect(&["DEL", "k"], b":1\r\n").await;
    assert_eq!(info_field(&mut c, "clients", "blocked_clients").await, 1);
    // A list renamed onto the key serves it.
    c.expect(&["RPUSH", "src", "r1", "r2"], b":2\r\n").await;
    c.expect(&["RENAME", "src", "k"], b"+OK\r\n").await;
    assert_eq!(w.read_frame().await, popped("k", "r1"));
    assert_eq!(range(&mut c, "k").await, ["r2"]);
    c.expect(&["DEL", "k"], b":1\r\n").await;
    // A string renamed onto it does not.
    w.send_cmd(&["BLPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["SET", "s", "v"], b"+OK\r\n").await;
    c.expect(&["RENAME", "s", "k"], b"+OK\r\n").await;
    assert_eq!(info_field(&mut c, "clients", "blocked_clients").await, 1);
    c.expect(&["DEL", "k"], b":1\r\n").await;
    // RENAMENX and COPY of a list serve too.
    c.expect(&["RPUSH", "src", "n1"], b":1\r\n").await;
    c.expect(&["RENAMENX", "src", "k"], b":1\r\n").await;
    assert_eq!(w.read_frame().await, popped("k", "n1"));
    w.send_cmd(&["BRPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RPUSH", "orig", "c1", "c2"], b":2\r\n").await;
    c.expect(&["COPY", "orig", "k"], b":1\r\n").await;
    assert_eq!(w.read_frame().await, popped("k", "c2"));
    assert_eq!(range(&mut c, "orig").await, ["c1", "c2"]);
    assert_eq!(range(&mut c, "k").await, ["c1"]);
    c.expect(&["DEL", "k"], b":1\r\n").await;
    // Waiters are per database: a push to k in db 0 does not serve a waiter
    // on k in db 1, but MOVE of a list into db 1 does.
    w.expect(&["SELECT", "1"], b"+OK\r\n").await;
    w.send_cmd(&["BLPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RPUSH", "k", "db0"], b":1\r\n").await;
    assert_eq!(info_field(&mut c, "clients", "blocked_clients").await, 1);
    c.expect(&["MOVE", "k", "1"], b":1\r\n").await;
    assert_eq!(w.read_frame().await, popped("k", "db0"));
    c.expect(&["SELECT", "1"], b"+OK\r\n").await;
    c.expect(&["EXISTS", "k"], b":0\r\n").await;
    // SORT … STORE of a list serves too.
    c.expect(&["SELECT", "0"], b"+OK\r\n").await;
    w.expect(&["SELECT", "0"], b"+OK\r\n").await;
    w.send_cmd(&["BLPOP", "sorted", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RPUSH", "nums", "3", "1", "2"], b":3\r\n").await;
    c.expect(&["SORT", "nums", "STORE", "sorted"], b":3\r\n")
        .await;
    assert_eq!(w.read_frame().await, popped("sorted", "1"));
    assert_eq!(range(&mut c, "sorted").await, ["2", "3"]);
}

/// INFO `blocked_clients` and the `b` flag of CLIENT LIST.
#[tokio::test]
async fn blocked_clients_introspection() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut w1 = srv.raw().await;
    let mut w2 = srv.raw().await;
    w1.expect(&["CLIENT", "SETNAME", "waiter1"], b"+OK\r\n")
        .await;
    w2.expect(&["CLIENT", "SETNAME", "waiter2"], b"+OK\r\n")
        .await;
    assert_eq!(info_field(&mut c, "clients", "blocked_clients").await, 0);
    w1.send_cmd(&["BLPOP", "k1", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    w2.send_cmd(&["BRPOPLPUSH", "k2", "d", "100"]).await;
    srv.wait_for_blocked_clients(2).await;
    let line_of = |list: &str, name: &str| -> String {
        list.lines()
            .find(|l| l.contains(&format!(" name={name} ")))
            .unwrap_or_else(|| panic!("no client {name} in {list}"))
            .to_string()
    };
    let list = c.val(&["CLIENT", "LIST"]).await.as_str().to_string();
    let l1 = line_of(&list, "waiter1");
    assert!(l1.contains(" flags=b "), "{l1}");
    assert!(l1.contains(" cmd=blpop "), "{l1}");
    let l2 = line_of(&list, "waiter2");
    assert!(l2.contains(" flags=b "), "{l2}");
    assert!(l2.contains(" cmd=brpoplpush "), "{l2}");
    let me = list
        .lines()
        .find(|l| l.contains(" cmd=client|list "))
        .unwrap();
    assert!(me.contains(" flags=N "), "{me}");
    // Only the client with a timeout is in the timeout table.
    assert_eq!(
        info_field(&mut c, "clients", "clients_in_timeout_table").await,
        1
    );
    c.expect(&["RPUSH", "k1", "v"], b":1\r\n").await;
    assert_eq!(w1.read_frame().await, popped("k1", "v"));
    srv.wait_for_blocked_clients(1).await;
    let list = c.val(&["CLIENT", "LIST"]).await.as_str().to_string();
    assert!(line_of(&list, "waiter1").contains(" flags=N "), "{list}");
    assert!(line_of(&list, "waiter2").contains(" flags=b "), "{list}");
    c.expect(&["RPUSH", "k2", "v"], b":1\r\n").await;
    assert_eq!(w2.read_frame().await, bulk("v").into_bytes());
    srv.wait_for_blocked_clients(0).await;
    assert_eq!(
        info_field(&mut c, "clients", "clients_in_timeout_table").await,
        0
    );
}

/// A client that disconnects while blocked leaves no trace.
#[tokio::test]
async fn disconnected_waiter_leaves_no_trace() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut w1 = srv.raw().await;
    let mut w2 = srv.raw().await;
    let mut w3 = srv.raw().await;
    w1.send_cmd(&["BLPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    w2.send_cmd(&["BLMOVE", "k", "d", "LEFT", "LEFT", "0"])
        .await;
    srv.wait_for_blocked_clients(2).await;
    w3.send_cmd(&["BLMPOP", "0", "2", "j", "k", "LEFT"]).await;
    srv.wait_for_blocked_clients(3).await;
    drop(w1);
    drop(w2);
    drop(w3);
    srv.wait_for_blocked_clients(0).await;
    poll_until(
        &mut c,
        &["INFO", "clients"],
        500,
        "the waiters' connections are gone",
        |r| r.as_str().contains("\r\nconnected_clients:1\r\n"),
    )
    .await;
    c.expect(&["RPUSH", "k", "x", "y"], b":2\r\n").await;
    assert_eq!(range(&mut c, "k").await, ["x", "y"]);
    c.expect(&["EXISTS", "d"], b":0\r\n").await;
    // A waiter queued behind a departed one is served normally.
    let mut gone = srv.raw().await;
    let mut stays = srv.raw().await;
    gone.send_cmd(&["BLPOP", "q", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    stays.send_cmd(&["BLPOP", "q", "0"]).await;
    srv.wait_for_blocked_clients(2).await;
    drop(gone);
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RPUSH", "q", "only"], b":1\r\n").await;
    assert_eq!(stays.read_frame().await, popped("q", "only"));
    c.expect(&["EXISTS", "q"], b":0\r\n").await;
}

/// Reads one `[key, element]` reply per waiter; returns (key, element) pairs.
async fn collect_served(waiters: &mut [Raw]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for w in waiters.iter_mut() {
        let v = w.read_value().await;
        let s = v.strings();
        assert_eq!(s.len(), 2, "{v:?}");
        out.push((s[0].clone(), s[1].clone()));
    }
    out
}

/// Waiters on keys of different shards, pushes from several connections at
/// once: every waiter is served exactly once, no element is lost or duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiters_across_shards_are_served_exactly_once() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let keys = keys_on_distinct_slots(10);
    // Round 1: 10 clients each BLPOP the same 10 keys; 10 elements spread over
    // the keys, pushed by 5 connections concurrently.
    let mut waiters = Vec::new();
    for i in 0..10 {
        let mut w = srv.raw().await;
        let mut cmd = vec!["BLPOP".to_string()];
        cmd.extend(keys.iter().cloned());
        cmd.push("0".into());
        w.send_cmd(&cmd).await;
        wait_for_blocked_clients_on(&mut c, i + 1).await;
        waiters.push(w);
    }
    let pushes: Vec<(String, String)> = (0..10)
        .map(|i| (keys[(i * 3) % 10].clone(), format!("e{i}")))
        .collect();
    let mut tasks = Vec::new();
    for chunk in pushes.chunks(2) {
        let chunk = chunk.to_vec();
        let mut p = srv.raw().await;
        tasks.push(tokio::spawn(async move {
            for (k, e) in chunk {
                let n = p.int(&["RPUSH", &k, &e]).await;
                assert!((1..=2).contains(&n), "RPUSH {k} {e}: {n}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let served = collect_served(&mut waiters).await;
    let mut got: Vec<(String, String)> = served.clone();
    got.sort();
    let mut want = pushes.clone();
    want.sort();
    assert_eq!(got, want, "each element served once, from its own key");
    wait_for_blocked_clients_on(&mut c, 0).await;
    let mut exists = vec!["EXISTS".to_string()];
    exists.extend(keys.iter().cloned());
    c.expect(&exists, b":0\r\n").await;
    for w in &mut waiters {
        w.assert_idle().await;
    }

    // Round 2: 20 keys, 10 waiters, 15 elements: 10 served, 5 left over.
    let keys = keys_on_distinct_slots(20);
    for (i, w) in waiters.iter_mut().enumerate() {
        let mut cmd = vec![if i % 2 == 0 { "BLPOP" } else { "BRPOP" }.to_string()];
        cmd.extend(keys.iter().cloned());
        cmd.push("0".into());
        w.send_cmd(&cmd).await;
        wait_for_blocked_clients_on(&mut c, i as i64 + 1).await;
    }
    let pushes: Vec<(String, String)> = (0..15)
        .map(|i| (keys[(i * 7) % 20].clone(), format!("f{i}")))
        .collect();
    let mut tasks = Vec::new();
    for chunk in pushes.chunks(3) {
        let chunk = chunk.to_vec();
        let mut p = srv.raw().await;
        tasks.push(tokio::spawn(async move {
            // Pipelined, to push several shards' keys back to back.
            let mut req = Vec::new();
            for (k, e) in &chunk {
                req.extend(encode(&["LPUSH", k, e]));
            }
            p.send(req).await;
            for _ in 0..chunk.len() {
                assert!(matches!(p.read_value().await, Resp::Int(_)));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let served = collect_served(&mut waiters).await;
    wait_for_blocked_clients_on(&mut c, 0).await;
    let mut all: Vec<(String, String)> = served;
    for k in &keys {
        for e in range(&mut c, k).await {
            all.push((k.clone(), e));
        }
    }
    assert_eq!(all.len(), 15, "served + left over: {all:?}");
    let distinct: BTreeSet<(String, String)> = all.into_iter().collect();
    let want: BTreeSet<(String, String)> = pushes.into_iter().collect();
    assert_eq!(distinct, want);
}

#[tokio::test]
async fn timeouts_fire() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut w = srv.raw().await;
    w.expect(&["BLPOP", "k", "0.05"], b"*-1\r\n").await;
    w.expect(&["BRPOP", "k", "j", "0.05"], b"*-1\r\n").await;
    // Redis 7.0 times the moves out with a null array too (not a nil bulk).
    w.expect(&["BLMOVE", "k", "d", "LEFT", "RIGHT", "0.05"], b"*-1\r\n")
        .await;
    w.expect(&["BRPOPLPUSH", "k", "d", "0.01"], b"*-1\r\n")
        .await;
    w.expect(&["BLMPOP", "0.05", "1", "k", "LEFT"], b"*-1\r\n")
        .await;
    // Timed-out clients are no longer queued.
    assert_eq!(info_field(&mut c, "clients", "blocked_clients").await, 0);
    c.expect(&["RPUSH", "k", "x"], b":1\r\n").await;
    c.expect(&["LLEN", "k"], b":1\r\n").await;
    c.expect(&["EXISTS", "d"], b":0\r\n").await;
    // A timeout in whole seconds; then a waiter with a long timeout is served
    // by a push, not by its timeout.
    c.expect(&["DEL", "k"], b":1\r\n").await;
    w.send_cmd(&["BLPOP", "k", "100"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RPUSH", "k", "y"], b":1\r\n").await;
    assert_eq!(w.read_frame().await, popped("k", "y"));
}

/// A RESP3 client gets the null `_` for a timeout, and arrays when served.
#[tokio::test]
async fn resp3_timeout_is_null() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut w = srv.raw().await;
    w.cmd(&["HELLO", "3"]).await;
    w.expect(&["BLPOP", "k", "0.05"], b"_\r\n").await;
    w.expect(&["BRPOP", "k", "0.05"], b"_\r\n").await;
    w.expect(&["BLMOVE", "k", "d", "LEFT", "RIGHT", "0.05"], b"_\r\n")
        .await;
    w.expect(&["BLMPOP", "0.05", "1", "k", "LEFT"], b"_\r\n")
        .await;
    w.expect(&["LPOP", "k"], b"_\r\n").await;
    w.send_cmd(&["BLPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RPUSH", "k", "v"], b":1\r\n").await;
    assert_eq!(w.read_frame().await, popped("k", "v"));
    w.send_cmd(&["BLMPOP", "0", "1", "k", "LEFT"]).await;
    srv.wait_for_blocked_clients(1).await;
    let id = blocked_client_id(&mut c).await;
    c.expect(&["CLIENT", "UNBLOCK", &id, "TIMEOUT"], b":1\r\n")
        .await;
    assert_eq!(w.read_frame().await, b"_\r\n");
}

/// The id of the (only) blocked client, from CLIENT LIST.
async fn blocked_client_id(c: &mut Raw) -> String {
    let list = c.val(&["CLIENT", "LIST"]).await.as_str().to_string();
    let line = list
        .lines()
        .find(|l| l.contains(" flags=b "))
        .unwrap_or_else(|| panic!("no blocked client in {list}"));
    line.split(' ')
        .find_map(|f| f.strip_prefix("id="))
        .unwrap()
        .to_string()
}
