//! Generic key commands (after Redis's `unit/keyspace.tcl` and `unit/scan.tcl`).

mod common;

use std::collections::{BTreeSet, HashMap};

use common::{Raw, Resp, TestServer};
use redis::AsyncCommands;

async fn sorted(c: &mut Raw, args: &[&str]) -> Vec<String> {
    let mut v = c.val(args).await.strings();
    v.sort();
    v
}

#[tokio::test]
async fn del_unlink_exists_touch() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["MSET", "a", "1", "b", "2", "c", "3", "d", "4"],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["EXISTS", "a"], b":1\r\n").await;
    // EXISTS counts repeated keys each time.
    c.expect(&["EXISTS", "a", "a", "b", "nope"], b":3\r\n")
        .await;
    c.expect(&["TOUCH", "a", "b", "nope"], b":2\r\n").await;
    c.expect(&["DEL", "a", "b", "nope"], b":2\r\n").await;
    c.expect(&["DEL", "a"], b":0\r\n").await;
    c.expect(&["UNLINK", "c", "c", "nope"], b":1\r\n").await;
    c.expect(&["EXISTS", "a", "b", "c", "d"], b":1\r\n").await;
    c.expect(
        &["DEL"],
        b"-ERR wrong number of arguments for 'del' command\r\n",
    )
    .await;
    c.expect(
        &["EXISTS"],
        b"-ERR wrong number of arguments for 'exists' command\r\n",
    )
    .await;
}

#[tokio::test]
async fn type_command() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["TYPE", "nope"], b"+none\r\n").await;
    c.expect(&["SET", "s", "v"], b"+OK\r\n").await;
    c.expect(&["TYPE", "s"], b"+string\r\n").await;
    c.expect(&["SET", "n", "12"], b"+OK\r\n").await;
    c.expect(&["TYPE", "n"], b"+string\r\n").await;
}

#[tokio::test]
async fn keys_patterns() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for k in [
        "foo_a", "foo_b", "foo_c", "key_x", "key_y", "key_z", "h*llo", "hallo", "hello", "x",
    ] {
        c.expect(&["SET", k, "v"], b"+OK\r\n").await;
    }
    assert_eq!(
        sorted(&mut c, &["KEYS", "foo*"]).await,
        ["foo_a", "foo_b", "foo_c"]
    );
    assert_eq!(
        sorted(&mut c, &["KEYS", "key_?"]).await,
        ["key_x", "key_y", "key_z"]
    );
    assert_eq!(
        sorted(&mut c, &["KEYS", "key_[xz]"]).await,
        ["key_x", "key_z"]
    );
    assert_eq!(
        sorted(&mut c, &["KEYS", "key_[^x]"]).await,
        ["key_y", "key_z"]
    );
    assert_eq!(
        sorted(&mut c, &["KEYS", "foo_[a-b]"]).await,
        ["foo_a", "foo_b"]
    );
    assert_eq!(sorted(&mut c, &["KEYS", "h\\*llo"]).await, ["h*llo"]);
    assert_eq!(
        sorted(&mut c, &["KEYS", "h?llo"]).await,
        ["h*llo", "hallo", "hello"]
    );
    assert_eq!(sorted(&mut c, &["KEYS", "x"]).await, ["x"]);
    assert_eq!(c.val(&["KEYS", "*"]).await.items().len(), 10);
    c.expect(&["KEYS", "nomatch*"], b"*0\r\n").await;
    // Only the selected database.
    c.expect(&["SELECT", "1"], b"+OK\r\n").await;
    c.expect(&["KEYS", "*"], b"*0\r\n").await;
}

/// Runs a full SCAN iteration and returns every key returned, with repetitions.
async fn scan_all(c: &mut Raw, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let reply = c.val(&args).await;
        let items = reply.items();
        assert_eq!(items.len(), 2, "{reply:?}");
        keys.extend(items[1].strings());
        cursor = items[0].as_str().to_string();
        calls += 1;
        assert!(calls < 100_000, "SCAN does not terminate");
        if cursor == "0" {
            return (keys, calls);
        }
    }
}

#[tokio::test]
async fn scan_returns_every_key_exactly_once() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut req = Vec::new();
    let mut all = BTreeSet::new();
    for i in 0..1000 {
        let k = format!("key:{i}");
        req.extend(common::encode(&["SET", k.as_str(), "v"]));
        all.insert(k);
    }
    c.send(&req).await;
    c.read_frames(1000).await;
    for count in [None, Some("1"), Some("7"), Some("100"), Some("5000")] {
        let extra: Vec<&str> = match count {
            Some(n) => vec!["COUNT", n],
            None => vec![],
        };
        let (keys, calls) = scan_all(&mut c, &extra).await;
        let unique: BTreeSet<String> = keys.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            keys.len(),
            "COUNT {count:?}: a key was returned twice"
        );
        assert_eq!(unique, all, "COUNT {count:?}: not every key returned");
        if count == Some("1") {
            assert!(
                calls > 10,
                "COUNT 1 returned nearly everything at once ({calls} calls)"
            );
        }
    }
}

#[tokio::test]
async fn scan_match_and_type() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for i in 0..300 {
        let prefix = if i % 3 == 0 { "user" } else { "item" };
        c.expect(&["SET", &format!("{prefix}:{i}"), "v"], b"+OK\r\n")
            .await;
    }
    let (keys, _) = scan_all(&mut c, &["MATCH", "user:*", "COUNT", "10"]).await;
    let unique: BTreeSet<String> = keys.iter().cloned().collect();
    assert_eq!(unique.len(), keys.len());
    assert_eq!(unique.len(), 100);
    assert!(unique.iter().all(|k| k.starts_with("user:")));
    let (keys, _) = scan_all(&mut c, &["MATCH", "*:1?", "COUNT", "1000"]).await;
    let unique: BTreeSet<String> = keys.iter().cloned().collect();
    let expected: BTreeSet<String> = (10..20)
        .map(|i| format!("{}:{i}", if i % 3 == 0 { "user" } else { "item" }))
        .collect();
    assert_eq!(unique, expected);
    let (keys, _) = scan_all(&mut c, &["TYPE", "string"]).await;
    assert_eq!(keys.len(), 300);
    let (keys, _) = scan_all(&mut c, &["TYPE", "STRING", "MATCH", "item:*"]).await;
    assert_eq!(keys.len(), 200);
    let (keys, _) = scan_all(&mut c, &["TYPE", "list"]).await;
    assert!(keys.is_empty(), "{keys:?}");
}

/// Keys present for the whole iteration are returned even while other keys
/// come and go.
#[tokio::test]
async fn scan_guarantee_under_concurrent_writes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    let mut stable = BTreeSet::new();
    for i in 0..500 {
        let k = format!("stable:{i}");
        c.expect(&["SET", k.as_str(), "v"], b"+OK\r\n").await;
        stable.insert(k);
    }
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut step = 0;
    loop {
        let reply = c.val(&["SCAN", cursor.as_str(), "COUNT", "20"]).await;
        seen.extend(reply.items()[1].strings());
        cursor = reply.items()[0].as_str().to_string();
        // Between calls, churn: add and delete other keys.
        for j in 0..20 {
            other.cmd(&["SET", &format!("churn:{step}:{j}"), "v"]).await;
            other
                .cmd(&["DEL", &format!("churn:{}:{j}", step.max(1) - 1)])
                .await;
        }
        step += 1;
        if cursor == "0" {
            break;
        }
    }
    let missing: Vec<&String> = stable.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "SCAN missed keys present throughout: {missing:?}"
    );
}

#[tokio::test]
async fn scan_errors() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SCAN", "x"], b"-ERR invalid cursor\r\n").await;
    c.expect(&["SCAN", "1.5"], b"-ERR invalid cursor\r\n").await;
    c.expect(&["SCAN", "0", "COUNT", "0"], b"-ERR syntax error\r\n")
        .await;
    c.expect(
        &["SCAN", "0", "COUNT", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["SCAN", "0", "MATCH"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["SCAN", "0", "FOO", "bar"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["SCAN", "0"], b"*2\r\n$1\r\n0\r\n*0\r\n").await;
}

#[tokio::test]
async fn randomkey() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RANDOMKEY"], b"$-1\r\n").await;
    c.expect(&["SET", "only", "v"], b"+OK\r\n").await;
    c.expect(&["RANDOMKEY"], b"$4\r\nonly\r\n").await;
    for k in ["a", "b", "c"] {
        c.expect(&["SET", k, "v"], b"+OK\r\n").await;
    }
    let mut seen = BTreeSet::new();
    for _ in 0..20 {
        let k = c.val(&["RANDOMKEY"]).await.as_str().to_string();
        assert!(["only", "a", "b", "c"].contains(&k.as_str()), "{k}");
        seen.insert(k);
    }
    assert!(!seen.is_empty());
}

#[tokio::test]
async fn rename_and_renamenx() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["RENAME", "nope", "x"], b"-ERR no such key\r\n")
        .await;
    c.expect(&["RENAMENX", "nope", "x"], b"-ERR no such key\r\n")
        .await;
    c.expect(&["SET", "a", "1"], b"+OK\r\n").await;
    c.expect(&["RENAME", "a", "b"], b"+OK\r\n").await;
    c.expect(&["EXISTS", "a"], b":0\r\n").await;
    c.expect(&["GET", "b"], b"$1\r\n1\r\n").await;
    // Renaming to itself is allowed (and keeps the key).
    c.expect(&["RENAME", "b", "b"], b"+OK\r\n").await;
    c.expect(&["GET", "b"], b"$1\r\n1\r\n").await;
    c.expect(&["RENAMENX", "b", "b"], b":0\r\n").await;
    // RENAME overwrites the destination, dropping its TTL for the source's.
    c.expect(&["SET", "dst", "old", "EX", "1000"], b"+OK\r\n")
        .await;
    c.expect(&["RENAME", "b", "dst"], b"+OK\r\n").await;
    c.expect(&["GET", "dst"], b"$1\r\n1\r\n").await;
    c.expect(&["TTL", "dst"], b":-1\r\n").await;
    // The source's TTL moves with it.
    c.expect(&["SET", "t", "v", "PXAT", "4000000000000"], b"+OK\r\n")
        .await;
    c.expect(&["RENAME", "t", "t2"], b"+OK\r\n").await;
    c.expect(&["PEXPIRETIME", "t2"], b":4000000000000\r\n")
        .await;
    c.expect(&["SET", "x", "1"], b"+OK\r\n").await;
    c.expect(&["RENAMENX", "x", "dst"], b":0\r\n").await;
    c.expect(&["GET", "dst"], b"$1\r\n1\r\n").await;
    c.expect(&["RENAMENX", "x", "fresh"], b":1\r\n").await;
    c.expect(&["EXISTS", "x", "fresh"], b":1\r\n").await;
}

/// Keys on different shards rename correctly (the command locks both).
#[tokio::test]
async fn rename_across_slots() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let keys = common::keys_on_distinct_slots(32);
    c.expect(&["SET", keys[0].as_str(), "payload"], b"+OK\r\n")
        .await;
    for w in keys.windows(2) {
        c.expect(&["RENAME", w[0].as_str(), w[1].as_str()], b"+OK\r\n")
            .await;
    }
    c.expect(&["DBSIZE"], b":1\r\n").await;
    c.expect(&["GET", keys[31].as_str()], b"$7\r\npayload\r\n")
        .await;
}

#[tokio::test]
async fn copy_command() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["COPY", "nope", "dst"], b":0\r\n").await;
    c.expect(&["SET", "src", "v", "PXAT", "4000000000000"], b"+OK\r\n")
        .await;
    c.expect(&["COPY", "src", "dst"], b":1\r\n").await;
    c.expect(&["GET", "dst"], b"$1\r\nv\r\n").await;
    c.expect(&["PEXPIRETIME", "dst"], b":4000000000000\r\n")
        .await;
    // The copy is independent.
    c.expect(&["APPEND", "dst", "x"], b":2\r\n").await;
    c.expect(&["GET", "src"], b"$1\r\nv\r\n").await;
    c.expect(&["COPY", "src", "dst"], b":0\r\n").await;
    c.expect(&["COPY", "src", "dst", "REPLACE"], b":1\r\n")
        .await;
    c.expect(&["GET", "dst"], b"$1\r\nv\r\n").await;
    c.expect(
        &["COPY", "src", "src"],
        b"-ERR source and destination objects are the same\r\n",
    )
    .await;
    c.expect(
        &["COPY", "src", "src", "DB", "0"],
        b"-ERR source and destination objects are the same\r\n",
    )
    .await;
    c.expect(&["COPY", "src", "src", "DB", "3"], b":1\r\n")
        .await;
    c.expect(&["COPY", "src", "other", "DB", "3", "REPLACE"], b":1\r\n")
        .await;
    c.expect(
        &["COPY", "src", "x", "DB", "16"],
        b"-ERR DB index is out of range\r\n",
    )
    .await;
    c.expect(
        &["COPY", "src", "x", "DB", "abc"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["COPY", "src", "x", "DB"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["COPY", "src", "x", "FOO"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["SELECT", "3"], b"+OK\r\n").await;
    c.expect(&["MGET", "src", "other"], b"*2\r\n$1\r\nv\r\n$1\r\nv\r\n")
        .await;
    c.expect(&["PEXPIRETIME", "src"], b":4000000000000\r\n")
        .await;
}

#[tokio::test]
async fn move_command() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["MOVE", "nope", "1"], b":0\r\n").await;
    c.expect(&["SET", "k", "v", "PXAT", "4000000000000"], b"+OK\r\n")
        .await;
    c.expect(
        &["MOVE", "k", "0"],
        b"-ERR source and destination objects are the same\r\n",
    )
    .await;
    c.expect(&["MOVE", "k", "16"], b"-ERR DB index is out of range\r\n")
        .await;
    c.expect(&["MOVE", "k", "-1"], b"-ERR DB index is out of range\r\n")
        .await;
    c.expect(
        &["MOVE", "k", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["MOVE", "k", "1"], b":1\r\n").await;
    c.expect(&["EXISTS", "k"], b":0\r\n").await;
    // The destination already has the key: nothing moves.
    c.expect(&["SET", "k", "again"], b"+OK\r\n").await;
    c.expect(&["MOVE", "k", "1"], b":0\r\n").await;
    c.expect(&["GET", "k"], b"$5\r\nagain\r\n").await;
    c.expect(&["SELECT", "1"], b"+OK\r\n").await;
    c.expect(&["GET", "k"], b"$1\r\nv\r\n").await;
    c.expect(&["PEXPIRETIME", "k"], b":4000000000000\r\n").await;
}

#[tokio::test]
async fn select_and_swapdb() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    c.expect(&["SELECT", "16"], b"-ERR DB index is out of range\r\n")
        .await;
    c.expect(&["SELECT", "-1"], b"-ERR DB index is out of range\r\n")
        .await;
    c.expect(
        &["SELECT", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["SELECT", "15"], b"+OK\r\n").await;
    c.expect(&["SET", "in15", "v"], b"+OK\r\n").await;
    c.expect(&["SELECT", "0"], b"+OK\r\n").await;
    c.expect(&["MSET", "a", "0", "b", "0"], b"+OK\r\n").await;
    c.expect(&["SELECT", "1"], b"+OK\r\n").await;
    c.expect(&["SET", "a", "1", "PXAT", "4000000000000"], b"+OK\r\n")
        .await;

    other.expect(&["SWAPDB", "0", "1"], b"+OK\r\n").await;
    // Both clients see the swapped data through their selected database.
    other.expect(&["GET", "a"], b"$1\r\n1\r\n").await;
    other
        .expect(&["PEXPIRETIME", "a"], b":4000000000000\r\n")
        .await;
    other.expect(&["DBSIZE"], b":1\r\n").await;
    c.expect(&["MGET", "a", "b"], b"*2\r\n$1\r\n0\r\n$1\r\n0\r\n")
        .await;
    c.expect(&["DBSIZE"], b":2\r\n").await;
    // Swapping a database with itself changes nothing.
    c.expect(&["SWAPDB", "1", "1"], b"+OK\r\n").await;
    c.expect(&["DBSIZE"], b":2\r\n").await;
    c.expect(&["SWAPDB", "0", "16"], b"-ERR DB index is out of range\r\n")
        .await;
    c.expect(&["SWAPDB", "x", "1"], b"-ERR invalid first DB index\r\n")
        .await;
    c.expect(&["SWAPDB", "1", "x"], b"-ERR invalid second DB index\r\n")
        .await;
    c.expect(&["SWAPDB", "-1", "1"], b"-ERR DB index is out of range\r\n")
        .await;
}

#[tokio::test]
async fn dbsize_flushdb_flushall() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["DBSIZE"], b":0\r\n").await;
    c.expect(&["MSET", "a", "1", "b", "2", "c", "3"], b"+OK\r\n")
        .await;
    c.expect(&["DBSIZE"], b":3\r\n").await;
    c.expect(&["SELECT", "1"], b"+OK\r\n").await;
    c.expect(&["MSET", "a", "1", "b", "2"], b"+OK\r\n").await;
    c.expect(&["FLUSHDB"], b"+OK\r\n").await;
    c.expect(&["DBSIZE"], b":0\r\n").await;
    c.expect(&["SELECT", "0"], b"+OK\r\n").await;
    c.expect(&["DBSIZE"], b":3\r\n").await;
    c.expect(&["FLUSHDB", "SYNC"], b"+OK\r\n").await;
    c.expect(&["DBSIZE"], b":0\r\n").await;
    c.expect(&["SET", "x", "1"], b"+OK\r\n").await;
    c.expect(&["FLUSHDB", "ASYNC"], b"+OK\r\n").await;
    c.expect(&["DBSIZE"], b":0\r\n").await;
    c.expect(&["FLUSHDB", "FOO"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["FLUSHALL", "FOO"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["FLUSHDB", "SYNC", "ASYNC"], b"-ERR syntax error\r\n")
        .await;
    for db in ["0", "5", "9"] {
        c.expect(&["SELECT", db], b"+OK\r\n").await;
        c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    }
    c.expect(&["FLUSHALL"], b"+OK\r\n").await;
    for db in ["0", "5", "9"] {
        c.expect(&["SELECT", db], b"+OK\r\n").await;
        c.expect(&["DBSIZE"], b":0\r\n").await;
    }
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    c.expect(&["FLUSHALL", "ASYNC"], b"+OK\r\n").await;
    c.expect(&["DBSIZE"], b":0\r\n").await;
    c.expect(&["FLUSHALL", "SYNC"], b"+OK\r\n").await;
}

#[tokio::test]
async fn object_subcommands() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SET", "int", "12345"], b"+OK\r\n").await;
    c.expect(&["SET", "small", "123"], b"+OK\r\n").await;
    c.expect(&["SET", "emb", "hello"], b"+OK\r\n").await;
    let long = "x".repeat(45);
    c.expect(&["SET", "raw", long.as_str()], b"+OK\r\n").await;
    c.expect(&["OBJECT", "ENCODING", "int"], b"$3\r\nint\r\n")
        .await;
    c.expect(&["OBJECT", "ENCODING", "emb"], b"$6\r\nembstr\r\n")
        .await;
    c.expect(&["OBJECT", "ENCODING", "raw"], b"$3\r\nraw\r\n")
        .await;
    c.expect(&["OBJECT", "ENCODING", "nope"], b"$-1\r\n").await;
    // Small integers are shared objects in Redis.
    c.expect(&["OBJECT", "REFCOUNT", "small"], b":2147483647\r\n")
        .await;
    c.expect(&["OBJECT", "REFCOUNT", "emb"], b":1\r\n").await;
    c.expect(&["OBJECT", "REFCOUNT", "nope"], b"$-1\r\n").await;
    let idle = c.int(&["OBJECT", "IDLETIME", "emb"]).await;
    assert!(idle >= 0, "{idle}");
    c.expect(&["OBJECT", "IDLETIME", "nope"], b"$-1\r\n").await;
    c.expect(&["OBJECT", "FREQ", "nope"], b"$-1\r\n").await;
    c.expect(
        &["OBJECT", "FREQ", "emb"],
        b"-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n",
    )
    .await;
    c.expect(
        &["OBJECT", "HELP"],
        b"*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n+    Return the kind of internal representation used in order to store the value\r\n+    associated with a <key>.\r\n+FREQ <key>\r\n+    Return the access frequency index of the <key>. The returned integer is\r\n+    proportional to the logarithm of the recent access frequency of the key.\r\n+IDLETIME <key>\r\n+    Return the idle time of the <key>, that is the approximated number of\r\n+    seconds elapsed since the last access to the key.\r\n+REFCOUNT <key>\r\n+    Return the number of references of the value associated with the specified\r\n+    <key>.\r\n+HELP\r\n+    Prints this help.\r\n",
    )
    .await;
    c.expect(
        &["OBJECT", "FOO"],
        b"-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n",
    )
    .await;
    c.expect(
        &["OBJECT", "ENCODING"],
        b"-ERR wrong number of arguments for 'object|encoding' command\r\n",
    )
    .await;
    let dbg = c.val(&["DEBUG", "OBJECT", "emb"]).await;
    let text = dbg.as_str();
    assert!(text.starts_with("Value at:"), "{text}");
    assert!(text.contains(" refcount:1 encoding:embstr "), "{text}");
    c.expect(&["DEBUG", "OBJECT", "nope"], b"-ERR no such key\r\n")
        .await;
}

/// Through the `redis` crate: typed replies for the generic commands.
#[tokio::test]
async fn keyspace_with_redis_crate() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: () = con.set("k1", "v1").await.unwrap();
    let _: () = con.set("k2", "v2").await.unwrap();
    let n: i64 = con.exists(&["k1", "k2", "k3"]).await.unwrap();
    assert_eq!(n, 2);
    let t: String = redis::cmd("TYPE")
        .arg("k1")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(t, "string");
    let mut keys: Vec<String> = con.keys("k*").await.unwrap();
    keys.sort();
    assert_eq!(keys, ["k1", "k2"]);
    let _: () = con.rename("k1", "k3").await.unwrap();
    let ok: bool = con.expire("k3", 100).await.unwrap();
    assert!(ok);
    let ttl: i64 = con.ttl("k3").await.unwrap();
    assert!((99..=100).contains(&ttl), "{ttl}");
    let mut iter: redis::AsyncIter<String> = con.scan_match("k*").await.unwrap();
    let mut scanned = Vec::new();
    while let Some(k) = iter.next_item().await {
        scanned.push(k);
    }
    drop(iter);
    scanned.sort();
    assert_eq!(scanned, ["k2", "k3"]);
    let deleted: i64 = con.del(&["k2", "k3"]).await.unwrap();
    assert_eq!(deleted, 2);
    let size: i64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
    assert_eq!(size, 0);
    let info: HashMap<String, String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("databases")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(info.get("databases").map(String::as_str), Some("16"));
    let r: redis::RedisResult<()> = con.rename("missing", "x").await;
    let err = r.unwrap_err();
    assert_eq!(err.detail(), Some("no such key"), "{err:?}");
}

/// DUMP payloads are Redis's (RDB encoding, version 10, CRC64): a string's
/// is byte for byte what redis-server 7.0.15 gives; RESTORE takes Redis's
/// own (here a list DUMPed by Redis 7.0, a QUICKLIST_2 of listpacks).
#[tokio::test]
async fn dump_payloads_are_redis_s() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(&["SET", "k", "hello"], b"+OK\r\n").await;
    let redis_string: &[u8] = b"\x00\x05hello\n\x00cr\xdfve4 \n";
    assert_eq!(
        c.val(&["DUMP", "k"]).await,
        Resp::Bulk(redis_string.to_vec())
    );
    let redis_list: &[u8] =
        b"\x12\x01\x02\r\r\x00\x00\x00\x02\x00\x81a\x02\x81b\x02\xff\n\x00h\xeb\n\x89\x13A\xbb\xb1";
    c.send_cmd(&[&b"RESTORE"[..], b"l", b"0", redis_list]).await;
    assert_eq!(c.read_frame().await, b"+OK\r\n");
    c.expect(&["LRANGE", "l", "0", "-1"], b"*2\r\n$1\r\na\r\n$1\r\nb\r\n")
        .await;
    // A payload whose CRC does not match is refused.
    let mut bad = redis_string.to_vec();
    bad[3] ^= 1;
    c.send_cmd(&[&b"RESTORE"[..], b"x", b"0", &bad]).await;
    assert_eq!(
        c.read_frame().await,
        b"-ERR DUMP payload version or checksum are wrong\r\n"
    );
}

/// DEBUG SET-SKIP-CHECKSUM-VALIDATION 1: RESTORE takes a payload whose CRC
/// is wrong (Redis's corrupt-dump tests rely on it), but still decodes and
/// checks the body: a corrupt one (here a ziplist hash with a duplicate
/// field, from corrupt-dump.tcl) is "Bad data format", and the server goes on.
#[tokio::test]
async fn skip_checksum_validation_still_checks_the_body() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    let mut good: Vec<u8> = b"\x00\x05hello\n\x00cr\xdfve4 \n".to_vec();
    good[14] ^= 0xff; // break the CRC
    let dup_fields: &[u8] = b"\x0D\x1B\x1B\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00\x04\x02\x62\x00\x04\x02\x61\x00\x04\x02\x64\x00\xFF\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    c.send_cmd(&[&b"RESTORE"[..], b"k", b"0", &good]).await;
    assert_eq!(
        c.read_frame().await,
        b"-ERR DUMP payload version or checksum are wrong\r\n"
    );
    c.expect(&["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1"], b"+OK\r\n")
        .await;
    c.send_cmd(&[&b"RESTORE"[..], b"k", b"0", &good]).await;
    assert_eq!(c.read_frame().await, b"+OK\r\n");
    c.expect(&["GET", "k"], b"$5\r\nhello\r\n").await;
    c.send_cmd(&[&b"RESTORE"[..], b"h", b"0", dup_fields]).await;
    assert_eq!(c.read_frame().await, b"-ERR Bad data format\r\n");
    c.expect(&["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0"], b"+OK\r\n")
        .await;
    c.send_cmd(&[&b"RESTORE"[..], b"k2", b"0", &good]).await;
    assert_eq!(
        c.read_frame().await,
        b"-ERR DUMP payload version or checksum are wrong\r\n"
    );
    c.expect(&["PING"], b"+PONG\r\n").await;
}

/// MIGRATE moves keys (with their TTL) to another server as RESTOREs of
/// Redis-format payloads: deleted here unless COPY, refused by an existing
/// key unless REPLACE, NOKEY when nothing exists. Two workers: MIGRATE
/// waits for the target synchronously, and here both servers share the
/// test's runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_keys_between_servers() {
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    let mut ca = a.raw().await;
    let mut cb = b.raw().await;
    let port = b.port.to_string();
    ca.expect(&["RPUSH", "l", "x", "y"], b":2\r\n").await;
    ca.expect(&["SET", "s", "v", "PX", "100000"], b"+OK\r\n")
        .await;
    ca.expect(
        &["MIGRATE", "127.0.0.1", &port, "l", "0", "1000"],
        b"+OK\r\n",
    )
    .await;
    ca.expect(&["EXISTS", "l"], b":0\r\n").await;
    cb.expect(&["LRANGE", "l", "0", "-1"], b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n")
        .await;
    ca.expect(
        &[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "",
            "0",
            "1000",
            "COPY",
            "KEYS",
            "s",
            "nosuch",
        ],
        b"+OK\r\n",
    )
    .await;
    ca.expect(&["EXISTS", "s"], b":1\r\n").await;
    let ttl = cb.int(&["PTTL", "s"]).await;
    assert!(ttl > 90_000 && ttl <= 100_000, "TTL carried: {ttl}");
    let e = ca
        .val(&["MIGRATE", "127.0.0.1", &port, "s", "0", "1000"])
        .await;
    assert_eq!(
        e.as_str(),
        "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    );
    ca.expect(
        &["MIGRATE", "127.0.0.1", &port, "s", "0", "1000", "REPLACE"],
        b"+OK\r\n",
    )
    .await;
    ca.expect(
        &["MIGRATE", "127.0.0.1", &port, "gone", "0", "1000"],
        b"+NOKEY\r\n",
    )
    .await;
    let e = ca
        .val(&["MIGRATE", "127.0.0.1", &port, "k", "0", "1000", "KEYS", "a"])
        .await;
    assert!(
        e.as_str().contains("must be set to the empty string"),
        "{e:?}"
    );
}

/// LFU access counters (OBJECT FREQ, what `redis-cli --hotkeys` samples):
/// kept under an LFU policy only, growing with accesses from 5, set by
/// RESTORE … FREQ.
#[tokio::test]
async fn lfu_counters_follow_accesses() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.val(&["SET", "hot", "1"]).await;
    match c.val(&["OBJECT", "FREQ", "hot"]).await {
        Resp::Error(e) => assert!(
            e.starts_with("ERR An LFU maxmemory policy is not selected"),
            "{e}"
        ),
        other => panic!("OBJECT FREQ without LFU: {other:?}"),
    }
    c.val(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"])
        .await;
    c.val(&["SET", "cold", "1"]).await;
    for _ in 0..300 {
        c.val(&["GET", "hot"]).await;
    }
    let hot = c.val(&["OBJECT", "FREQ", "hot"]).await.as_int();
    let cold = c.val(&["OBJECT", "FREQ", "cold"]).await.as_int();
    assert_eq!(cold, 5, "a new key starts at LFU_INIT_VAL");
    assert!(hot > cold + 2, "300 reads count: hot {hot}, cold {cold}");
    let Resp::Bulk(payload) = c.val(&["DUMP", "cold"]).await else {
        panic!("DUMP");
    };
    c.send_cmd(&[
        b"RESTORE".as_slice(),
        b"copy",
        b"0",
        &payload,
        b"FREQ",
        b"100",
    ])
    .await;
    assert_eq!(c.read_value().await, Resp::Simple("OK".into()));
    assert_eq!(c.val(&["OBJECT", "FREQ", "copy"]).await, Resp::Int(100));
    match c.val(&["RESTORE", "bad", "0", "x", "FREQ", "256"]).await {
        Resp::Error(e) => assert_eq!(e, "ERR Invalid FREQ value, must be >= 0 and <= 255"),
        other => panic!("{other:?}"),
    }
}
