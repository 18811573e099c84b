//! Sets: the membership commands (after Redis's `unit/type/set.tcl`).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Raw, Resp, TestServer};

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// The members of a set reply (any order), sorted.
fn sorted(r: &Resp) -> Vec<String> {
    let mut v = r.strings();
    v.sort();
    v
}

async fn members(c: &mut Raw, key: &str) -> Vec<String> {
    sorted(&c.val(&["SMEMBERS", key]).await)
}

#[tokio::test]
async fn sadd_srem_smembers_scard() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    // Duplicates in one call count once.
    c.expect(&["SADD", "s", "a", "b", "a", "c"], b":3\r\n")
        .await;
    c.expect(&["SADD", "s", "a", "d"], b":1\r\n").await;
    c.expect(&["SADD", "s", "a"], b":0\r\n").await;
    c.expect(&["TYPE", "s"], b"+set\r\n").await;
    c.expect(&["SCARD", "s"], b":4\r\n").await;
    c.expect(&["SCARD", "missing"], b":0\r\n").await;
    assert_eq!(members(&mut c, "s").await, ["a", "b", "c", "d"]);
    c.expect(&["SMEMBERS", "missing"], b"*0\r\n").await;
    c.expect(&["SREM", "s", "a", "zz", "a"], b":1\r\n").await;
    c.expect(&["SREM", "s", "zz"], b":0\r\n").await;
    c.expect(&["SREM", "missing", "a"], b":0\r\n").await;
    assert_eq!(members(&mut c, "s").await, ["b", "c", "d"]);
    // Removing the last member deletes the key.
    c.expect(&["SREM", "s", "b", "c", "d"], b":3\r\n").await;
    c.expect(&["EXISTS", "s"], b":0\r\n").await;
    // Binary-safe members, and integers are members like any other.
    c.expect(&["SADD", "bin", "a\r\nb", "", "1", "01"], b":4\r\n")
        .await;
    c.expect(&["SISMEMBER", "bin", "a\r\nb"], b":1\r\n").await;
    c.expect(&["SISMEMBER", "bin", ""], b":1\r\n").await;
    c.expect(&["SISMEMBER", "bin", "001"], b":0\r\n").await;
    c.expect(&["SCARD", "bin"], b":4\r\n").await;
    c.expect(
        &["SADD", "s"],
        b"-ERR wrong number of arguments for 'sadd' command\r\n",
    )
    .await;
    c.expect(
        &["SREM", "s"],
        b"-ERR wrong number of arguments for 'srem' command\r\n",
    )
    .await;
    c.expect(
        &["SCARD", "s", "t"],
        b"-ERR wrong number of arguments for 'scard' command\r\n",
    )
    .await;
}

#[tokio::test]
async fn sismember_and_smismember() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SADD", "s", "a", "b"], b":2\r\n").await;
    c.expect(&["SISMEMBER", "s", "a"], b":1\r\n").await;
    c.expect(&["SISMEMBER", "s", "z"], b":0\r\n").await;
    c.expect(&["SISMEMBER", "missing", "a"], b":0\r\n").await;
    c.expect(
        &["SMISMEMBER", "s", "a", "z", "b", "a"],
        b"*4\r\n:1\r\n:0\r\n:1\r\n:1\r\n",
    )
    .await;
    c.expect(&["SMISMEMBER", "missing", "a", "b"], b"*2\r\n:0\r\n:0\r\n")
        .await;
    c.expect(
        &["SMISMEMBER", "s"],
        b"-ERR wrong number of arguments for 'smismember' command\r\n",
    )
    .await;
    c.expect(
        &["SISMEMBER", "s"],
        b"-ERR wrong number of arguments for 'sismember' command\r\n",
    )
    .await;
}

#[tokio::test]
async fn srandmember_counts() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let all: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let mut sadd = vec!["SADD".to_string(), "s".into()];
    sadd.extend(all.iter().cloned());
    c.expect(&sadd, b":10\r\n").await;
    let universe: BTreeSet<String> = all.iter().cloned().collect();
    // No count: one member, nothing removed; over many calls, not always the same.
    let mut seen = BTreeSet::new();
    for _ in 0..100 {
        let m = c.val(&["SRANDMEMBER", "s"]).await.as_str().to_string();
        assert!(universe.contains(&m), "{m}");
        seen.insert(m);
    }
    assert!(seen.len() > 1, "100 SRANDMEMBER calls all gave {seen:?}");
    c.expect(&["SCARD", "s"], b":10\r\n").await;
    // Positive count: distinct members, at most the set's size.
    for n in [1usize, 3, 10, 20] {
        let got = c.val(&["SRANDMEMBER", "s", &n.to_string()]).await.strings();
        assert_eq!(got.len(), n.min(10), "SRANDMEMBER s {n}");
        let distinct: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(distinct.len(), got.len(), "distinct: {got:?}");
        assert!(distinct.is_subset(&universe));
    }
    c.expect(&["SRANDMEMBER", "s", "0"], b"*0\r\n").await;
    // Negative count: exactly that many, repetitions allowed.
    let got = c.val(&["SRANDMEMBER", "s", "-50"]).await.strings();
    assert_eq!(got.len(), 50);
    let mut freq: BTreeMap<String, usize> = BTreeMap::new();
    for m in &got {
        assert!(universe.contains(m), "{m}");
        *freq.entry(m.clone()).or_default() += 1;
    }
    assert!(freq.len() > 1, "50 picks all the same: {freq:?}");
    c.expect(&["SADD", "one", "x"], b":1\r\n").await;
    c.expect(
        &["SRANDMEMBER", "one", "-3"],
        b"*3\r\n$1\r\nx\r\n$1\r\nx\r\n$1\r\nx\r\n",
    )
    .await;
    c.expect(&["SCARD", "s"], b":10\r\n").await;
    // Missing key.
    c.expect(&["SRANDMEMBER", "missing"], b"$-1\r\n").await;
    c.expect(&["SRANDMEMBER", "missing", "3"], b"*0\r\n").await;
    c.expect(&["SRANDMEMBER", "missing", "-3"], b"*0\r\n").await;
    // Errors.
    c.expect(
        &["SRANDMEMBER", "s", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["SRANDMEMBER", "s", "1", "2"], b"-ERR syntax error\r\n")
        .await;
    c.expect(
        &["SRANDMEMBER", "s", "-9223372036854775808"],
        b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
    )
    .await;
}

#[tokio::test]
async fn spop_with_and_without_count() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SADD", "s", "a", "b", "c", "d", "e"], b":5\r\n")
        .await;
    let universe: BTreeSet<String> = ["a", "b", "c", "d", "e"].map(String::from).into();
    let mut popped = BTreeSet::new();
    let one = c.val(&["SPOP", "s"]).await.as_str().to_string();
    popped.insert(one.clone());
    c.expect(&["SISMEMBER", "s", &one], b":0\r\n").await;
    c.expect(&["SCARD", "s"], b":4\r\n").await;
    let two = c.val(&["SPOP", "s", "2"]).await.strings();
    assert_eq!(two.len(), 2);
    for m in &two {
        assert!(popped.insert(m.clone()), "popped twice: {m}");
    }
    c.expect(&["SCARD", "s"], b":2\r\n").await;
    c.expect(&["SPOP", "s", "0"], b"*0\r\n").await;
    c.expect(&["SCARD", "s"], b":2\r\n").await;
    // A count past the size pops everything, and the key is gone.
    let rest = c.val(&["SPOP", "s", "10"]).await.strings();
    assert_eq!(rest.len(), 2);
    for m in &rest {
        assert!(popped.insert(m.clone()), "popped twice: {m}");
    }
    assert_eq!(popped, universe);
    c.expect(&["EXISTS", "s"], b":0\r\n").await;
    // Popping the last member with no count deletes the key too.
    c.expect(&["SADD", "t", "only"], b":1\r\n").await;
    c.expect(&["SPOP", "t"], b"$4\r\nonly\r\n").await;
    c.expect(&["EXISTS", "t"], b":0\r\n").await;
    // Missing key.
    c.expect(&["SPOP", "missing"], b"$-1\r\n").await;
    c.expect(&["SPOP", "missing", "2"], b"*0\r\n").await;
    // Errors.
    c.expect(&["SADD", "s", "x"], b":1\r\n").await;
    c.expect(
        &["SPOP", "s", "-1"],
        b"-ERR value is out of range, must be positive\r\n",
    )
    .await;
    c.expect(
        &["SPOP", "s", "x"],
        b"-ERR value is out of range, must be positive\r\n",
    )
    .await;
    c.expect(&["SPOP", "s", "1", "2"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["SCARD", "s"], b":1\r\n").await;
}

/// RESP3: SMEMBERS and SPOP with a count are sets (`~`); SRANDMEMBER with a
/// count is an array (it may repeat members).
#[tokio::test]
async fn set_replies_in_resp3() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.cmd(&["HELLO", "3"]).await;
    c.expect(&["SADD", "s", "a"], b":1\r\n").await;
    c.expect(&["SMEMBERS", "s"], b"~1\r\n$1\r\na\r\n").await;
    c.expect(&["SMEMBERS", "missing"], b"~0\r\n").await;
    c.expect(&["SRANDMEMBER", "s", "-2"], b"*2\r\n$1\r\na\r\n$1\r\na\r\n")
        .await;
    c.expect(&["SRANDMEMBER", "s", "1"], b"*1\r\n$1\r\na\r\n")
        .await;
    c.expect(&["SRANDMEMBER", "missing"], b"_\r\n").await;
    c.expect(&["SPOP", "missing", "1"], b"~0\r\n").await;
    c.expect(&["SPOP", "s", "1"], b"~1\r\n$1\r\na\r\n").await;
    c.expect(&["SPOP", "s"], b"_\r\n").await;
}

#[tokio::test]
async fn sscan() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SADD", "small", "a1", "a2", "b1"], b":3\r\n")
        .await;
    // A small set comes back whole in one call.
    let r = c.val(&["SSCAN", "small", "0"]).await;
    assert_eq!(r.items()[0], Resp::bulk("0"));
    assert_eq!(sorted(&r.items()[1]), ["a1", "a2", "b1"]);
    let r = c.val(&["SSCAN", "small", "0", "MATCH", "a*"]).await;
    assert_eq!(r.items()[0], Resp::bulk("0"));
    assert_eq!(sorted(&r.items()[1]), ["a1", "a2"]);
    c.expect(
        &["SSCAN", "small", "0", "MATCH", "z*"],
        b"*2\r\n$1\r\n0\r\n*0\r\n",
    )
    .await;
    c.expect(&["SSCAN", "missing", "0"], b"*2\r\n$1\r\n0\r\n*0\r\n")
        .await;
    // A large set, iterated with a small COUNT: every member at least once.
    let n = 1000;
    let mut sadd = vec!["SADD".to_string(), "big".into()];
    sadd.extend((0..n).map(|i| format!("member:{i}")));
    c.expect(&sadd, format!(":{n}\r\n")).await;
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = c.val(&["SSCAN", "big", &cursor, "COUNT", "10"]).await;
        cursor = r.items()[0].as_str().to_string();
        seen.extend(r.items()[1].strings());
        calls += 1;
        assert!(calls < 10 * n, "SSCAN never finished");
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 1, "COUNT 10 over {n} members took one call");
    assert_eq!(seen.len(), n);
    // MATCH filters what a step returns.
    let mut matched = BTreeSet::new();
    let mut cursor = "0".to_string();
    loop {
        let r = c
            .val(&["SSCAN", "big", &cursor, "MATCH", "member:1?", "COUNT", "50"])
            .await;
        cursor = r.items()[0].as_str().to_string();
        matched.extend(r.items()[1].strings());
        if cursor == "0" {
            break;
        }
    }
    let want: BTreeSet<String> = (10..20).map(|i| format!("member:{i}")).collect();
    assert_eq!(matched, want);
    // Errors.
    c.expect(&["SSCAN", "small", "x"], b"-ERR invalid cursor\r\n")
        .await;
    c.expect(
        &["SSCAN", "small", "0", "COUNT", "0"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["SSCAN", "small", "0", "COUNT", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(
        &["SSCAN", "small", "0", "TYPE", "string"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(&["SSCAN", "small", "0", "MATCH"], b"-ERR syntax error\r\n")
        .await;
}

#[tokio::test]
async fn wrongtype_for_every_set_command() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SET", "str", "v"], b"+OK\r\n").await;
    let cmds: &[&[&str]] = &[
        &["SADD", "str", "a"],
        &["SREM", "str", "a"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "2"],
        &["SPOP", "str"],
        &["SPOP", "str", "2"],
        &["SSCAN", "str", "0"],
    ];
    for cmd in cmds {
        c.expect(cmd, WRONGTYPE).await;
    }
    c.expect(&["GET", "str"], b"$1\r\nv\r\n").await;
    // And the other way.
    c.expect(&["SADD", "set", "a"], b":1\r\n").await;
    c.expect(&["GET", "set"], WRONGTYPE).await;
    c.expect(&["LPUSH", "set", "a"], WRONGTYPE).await;
}

#[tokio::test]
async fn sets_with_redis_crate() {
    use redis::AsyncCommands;
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let added: i64 = con.sadd("typed", &["x", "y", "z"]).await.unwrap();
    assert_eq!(added, 3);
    let all: BTreeSet<String> = con.smembers("typed").await.unwrap();
    assert_eq!(all, ["x", "y", "z"].map(String::from).into());
    let is: bool = con.sismember("typed", "y").await.unwrap();
    assert!(is);
    let n: i64 = con.scard("typed").await.unwrap();
    assert_eq!(n, 3);
    let removed: i64 = con.srem("typed", "y").await.unwrap();
    assert_eq!(removed, 1);
    let popped: Option<String> = con.spop("typed").await.unwrap();
    assert!(matches!(popped.as_deref(), Some("x" | "z")));
}
