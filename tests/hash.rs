//! Hashes (after Redis's `unit/type/hash.tcl`): replies, errors, encodings,
//! RESP3 shapes, keyspace events and the generic key commands on hashes.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{assert_bytes, Raw, Resp, TestServer};

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// HGETALL as a sorted map of strings.
async fn all(c: &mut Raw, key: &str) -> BTreeMap<String, String> {
    c.val(&["HGETALL", key])
        .await
        .pairs()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
        .collect()
}

async fn encoding(c: &mut Raw, key: &str) -> String {
    c.val(&["OBJECT", "ENCODING", key])
        .await
        .as_str()
        .to_string()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn hset_hget_hmset_hsetnx_hdel() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["HSET", "h", "a", "1", "b", "2", "a", "3"], b":2\r\n")
        .await;
    c.expect(&["HSET", "h", "a", "4", "c", "5"], b":1\r\n")
        .await;
    c.expect(&["TYPE", "h"], b"+hash\r\n").await;
    c.expect(&["HGET", "h", "a"], b"$1\r\n4\r\n").await;
    c.expect(&["HGET", "h", "zz"], b"$-1\r\n").await;
    c.expect(&["HGET", "missing", "a"], b"$-1\r\n").await;
    c.expect(&["HMSET", "h", "d", "6"], b"+OK\r\n").await;
    c.expect(
        &["HMGET", "h", "a", "zz", "d"],
        b"*3\r\n$1\r\n4\r\n$-1\r\n$1\r\n6\r\n",
    )
    .await;
    c.expect(&["HMGET", "missing", "a", "b"], b"*2\r\n$-1\r\n$-1\r\n")
        .await;
    c.expect(&["HSETNX", "h", "a", "x"], b":0\r\n").await;
    c.expect(&["HSETNX", "h", "e", "x"], b":1\r\n").await;
    c.expect(&["HSETNX", "fresh", "f", "v"], b":1\r\n").await;
    c.expect(&["HLEN", "h"], b":5\r\n").await;
    c.expect(&["HLEN", "missing"], b":0\r\n").await;
    c.expect(&["HEXISTS", "h", "a"], b":1\r\n").await;
    c.expect(&["HEXISTS", "h", "nope"], b":0\r\n").await;
    c.expect(&["HSTRLEN", "h", "e"], b":1\r\n").await;
    c.expect(&["HSTRLEN", "h", "nope"], b":0\r\n").await;
    assert_eq!(
        all(&mut c, "h").await,
        map(&[("a", "4"), ("b", "2"), ("c", "5"), ("d", "6"), ("e", "x")])
    );
    c.expect(&["HDEL", "h", "a", "zz", "b"], b":2\r\n").await;
    c.expect(&["HDEL", "missing", "a"], b":0\r\n").await;
    // Deleting the last fields deletes the key.
    c.expect(&["HDEL", "h", "c", "d", "e", "f"], b":3\r\n")
        .await;
    c.expect(&["EXISTS", "h"], b":0\r\n").await;
}

#[tokio::test]
async fn small_hashes_keep_insertion_order() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["HSET", "h", "z", "1", "a", "2", "m", "3"], b":3\r\n")
        .await;
    c.expect(&["HSET", "h", "a", "20"], b":0\r\n").await;
    c.expect(
        &["HGETALL", "h"],
        b"*6\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\na\r\n$2\r\n20\r\n$1\r\nm\r\n$1\r\n3\r\n",
    )
    .await;
    c.expect(&["HKEYS", "h"], b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nm\r\n")
        .await;
    c.expect(&["HVALS", "h"], b"*3\r\n$1\r\n1\r\n$2\r\n20\r\n$1\r\n3\r\n")
        .await;
    c.expect(&["HKEYS", "missing"], b"*0\r\n").await;
    c.expect(&["HVALS", "missing"], b"*0\r\n").await;
    c.expect(&["HGETALL", "missing"], b"*0\r\n").await;
}

#[tokio::test]
async fn errors_and_wrong_type() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["HSET", "h", "a"],
        b"-ERR wrong number of arguments for 'hset' command\r\n",
    )
    .await;
    c.expect(
        &["HSET", "h", "a", "1", "b"],
        b"-ERR wrong number of arguments for 'hset' command\r\n",
    )
    .await;
    c.expect(
        &["HMSET", "h", "a", "1", "b"],
        b"-ERR wrong number of arguments for 'hmset' command\r\n",
    )
    .await;
    c.expect(&["EXISTS", "h"], b":0\r\n").await;
    c.expect(&["SET", "s", "x"], b"+OK\r\n").await;
    for cmd in [
        &["HSET", "s", "a", "1"][..],
        &["HSETNX", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HDEL", "s", "a"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "a"],
        &["HEXISTS", "s", "a"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2"],
        &["HSCAN", "s", "0"],
    ] {
        c.expect(cmd, WRONGTYPE).await;
    }
}

#[tokio::test]
async fn hincrby_and_hincrbyfloat() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["HINCRBY", "h", "n", "5"], b":5\r\n").await;
    c.expect(&["HINCRBY", "h", "n", "-7"], b":-2\r\n").await;
    c.expect(
        &["HINCRBY", "h", "n", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(
        &["HSET", "h", "s", " 1", "big", "9223372036854775807"],
        b":2\r\n",
    )
    .await;
    c.expect(
        &["HINCRBY", "h", "s", "1"],
        b"-ERR hash value is not an integer\r\n",
    )
    .await;
    c.expect(
        &["HINCRBY", "h", "big", "1"],
        b"-ERR increment or decrement would overflow\r\n",
    )
    .await;
    c.expect(
        &["HINCRBYFLOAT", "h", "s", "1"],
        b"-ERR hash value is not a float\r\n",
    )
    .await;
    c.expect(&["HINCRBYFLOAT", "h", "f", "1.23"], b"$4\r\n1.23\r\n")
        .await;
    c.expect(&["HINCRBYFLOAT", "h", "f", "0.77"], b"$1\r\n2\r\n")
        .await;
    c.expect(&["HINCRBYFLOAT", "h", "f", "-0.1"], b"$3\r\n1.9\r\n")
        .await;
    c.expect(&["HINCRBYFLOAT", "h", "n", "2.5"], b"$3\r\n0.5\r\n")
        .await;
    c.expect(&["HINCRBYFLOAT", "h", "tiny", "5e-20"], b"$1\r\n0\r\n")
        .await;
    c.expect(
        &["HINCRBYFLOAT", "h", "e", "1e20"],
        b"$21\r\n100000000000000000000\r\n",
    )
    .await;
    c.expect(
        &["HINCRBYFLOAT", "h", "f", "+inf"],
        b"-ERR value is NaN or Infinity\r\n",
    )
    .await;
    c.expect(
        &["HINCRBYFLOAT", "h", "f", "abc"],
        b"-ERR value is not a valid float\r\n",
    )
    .await;
    c.expect(&["HSET", "h", "inf", "inf"], b":1\r\n").await;
    c.expect(
        &["HINCRBYFLOAT", "h", "inf", "1"],
        b"-ERR increment would produce NaN or Infinity\r\n",
    )
    .await;
    c.expect(&["HGET", "h", "f"], b"$3\r\n1.9\r\n").await;
    // long double arithmetic, as Redis.
    c.expect(&["HINCRBYFLOAT", "h", "ld", "0.1"], b"$3\r\n0.1\r\n")
        .await;
    c.expect(&["HINCRBYFLOAT", "h", "ld", "0.2"], b"$3\r\n0.3\r\n")
        .await;
    c.expect(&["HSET", "h", "k", "1000"], b":1\r\n").await;
    c.expect(
        &["HINCRBYFLOAT", "h", "k", "0.1"],
        b"$22\r\n1000.09999999999999998\r\n",
    )
    .await;
}

#[tokio::test]
async fn encodings_follow_the_listpack_limits() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["HSET", "small", "a", "1"], b":1\r\n").await;
    assert_eq!(encoding(&mut c, "small").await, "listpack");
    // A value longer than hash-max-listpack-value (64) converts.
    let long = "x".repeat(65);
    c.expect(&["HSET", "small", "b", long.as_str()], b":1\r\n")
        .await;
    assert_eq!(encoding(&mut c, "small").await, "hashtable");
    c.expect(&["HGET", "small", "a"], b"$1\r\n1\r\n").await;
    // Past hash-max-listpack-entries pairs it converts too (the ziplist alias works).
    c.expect(
        &["CONFIG", "SET", "hash-max-ziplist-entries", "4"],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "GET", "hash-max-listpack-entries"],
        b"*2\r\n$25\r\nhash-max-listpack-entries\r\n$1\r\n4\r\n",
    )
    .await;
    c.expect(
        &["HSET", "n", "1", "1", "2", "2", "3", "3", "4", "4"],
        b":4\r\n",
    )
    .await;
    assert_eq!(encoding(&mut c, "n").await, "listpack");
    c.expect(&["HSET", "n", "5", "5"], b":1\r\n").await;
    assert_eq!(encoding(&mut c, "n").await, "hashtable");
    assert_eq!(c.int(&["HLEN", "n"]).await, 5);
    // HINCRBYFLOAT's result counts against the value limit.
    c.expect(
        &["CONFIG", "SET", "hash-max-listpack-value", "8"],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["HSET", "f", "tmp", "0"], b":1\r\n").await;
    c.expect(
        &["HINCRBYFLOAT", "f", "tmp", "0.0000005"],
        b"$9\r\n0.0000005\r\n",
    )
    .await;
    assert_eq!(encoding(&mut c, "f").await, "hashtable");
    c.expect(
        &["CONFIG", "SET", "hash-max-listpack-entries", "-1"],
        b"-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "SET", "hash-max-listpack-value", "-1"],
        b"-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-value') - argument must be a memory value\r\n",
    )
    .await;
    assert!(c.int(&["MEMORY", "USAGE", "n"]).await > 0);
    c.expect(&["MEMORY", "USAGE", "missing"], b"$-1\r\n").await;
    let help = c.val(&["MEMORY", "HELP"]).await.strings();
    assert!(help[0].starts_with("MEMORY <subcommand>"), "{help:?}");
    assert!(help.iter().any(|l| l.starts_with("USAGE <key>")));
}

#[tokio::test]
async fn big_hash_round_trip() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut expected = BTreeMap::new();
    for i in 0..1000 {
        let (f, v) = (format!("field:{i}"), format!("value:{}", i * 7));
        c.send_cmd(&["HSET", "big", f.as_str(), v.as_str()]).await;
        expected.insert(f, v);
    }
    let replies = c.read_frames(1000).await;
    assert_eq!(replies, b":1\r\n".repeat(1000));
    assert_eq!(encoding(&mut c, "big").await, "hashtable");
    assert_eq!(all(&mut c, "big").await, expected);
    for i in (0..1000).step_by(2) {
        let f = format!("field:{i}");
        c.expect(&["HDEL", "big", f.as_str()], b":1\r\n").await;
        expected.remove(&f);
    }
    assert_eq!(c.int(&["HLEN", "big"]).await, 500);
    assert_eq!(all(&mut c, "big").await, expected);
    c.expect(&["HGET", "big", "field:7"], b"$8\r\nvalue:49\r\n")
        .await;
}

#[tokio::test]
async fn hrandfield_counts_and_shapes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["HRANDFIELD", "missing"], b"$-1\r\n").await;
    c.expect(&["HRANDFIELD", "missing", "3"], b"*0\r\n").await;
    c.expect(&["HSET", "h", "a", "1", "b", "2", "c", "3"], b":3\r\n")
        .await;
    c.expect(&["HRANDFIELD", "h", "0"], b"*0\r\n").await;
    let one = c.val(&["HRANDFIELD", "h"]).await;
    assert!(["a", "b", "c"].contains(&one.as_str()));
    // Positive count: distinct fields, at most the hash's size.
    let got: BTreeSet<String> = c
        .val(&["HRANDFIELD", "h", "2"])
        .await
        .strings()
        .into_iter()
        .collect();
    assert_eq!(got.len(), 2);
    assert_eq!(c.val(&["HRANDFIELD", "h", "10"]).await.items().len(), 3);
    // Negative count: exactly that many, repetitions allowed.
    let many = c.val(&["HRANDFIELD", "h", "-20"]).await.strings();
    assert_eq!(many.len(), 20);
    assert!(many.iter().all(|f| ["a", "b", "c"].contains(&f.as_str())));
    // WITHVALUES: flat pairs in RESP2.
    let pairs = c.val(&["HRANDFIELD", "h", "-5", "WITHVALUES"]).await;
    assert_eq!(pairs.items().len(), 10);
    for (f, v) in pairs.pairs() {
        let want = match f.as_str() {
            "a" => "1",
            "b" => "2",
            _ => "3",
        };
        assert_eq!(v.as_str(), want);
    }
    c.expect(
        &["HRANDFIELD", "h", "1", "WITHVALUE"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
        b"-ERR syntax error\r\n",
    )
    .await;
    c.expect(
        &["HRANDFIELD", "h", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(
        &["HRANDFIELD", "h", "-9223372036854775808"],
        b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
    )
    .await;
    c.expect(
        &["HRANDFIELD", "h", "-9223372036854770000", "WITHVALUES"],
        b"-ERR value is out of range\r\n",
    )
    .await;
    // RESP3: WITHVALUES gives [field, value] pairs; HGETALL a map.
    c.cmd(&["HELLO", "3"]).await;
    let r = c.val(&["HRANDFIELD", "h", "3", "WITHVALUES"]).await;
    assert_eq!(r.items().len(), 3);
    for p in r.items() {
        assert_eq!(p.items().len(), 2);
    }
    assert_eq!(c.val(&["HRANDFIELD", "h", "2"]).await.items().len(), 2);
    match c.val(&["HGETALL", "h"]).await {
        Resp::Map(m) => assert_eq!(m.len(), 3),
        other => panic!("HGETALL in RESP3 is a map: {other:?}"),
    }
    c.expect(&["HGETALL", "missing"], b"%0\r\n").await;
}

#[tokio::test]
async fn hscan_small_and_big() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["HSCAN", "missing", "0"], b"*2\r\n$1\r\n0\r\n*0\r\n")
        .await;
    c.expect(&["HSET", "h", "a1", "1", "b1", "2", "a2", "3"], b":3\r\n")
        .await;
    // A listpack comes back whole, cursor 0, whatever COUNT says.
    c.expect(
        &["HSCAN", "h", "0", "COUNT", "1", "MATCH", "a*"],
        b"*2\r\n$1\r\n0\r\n*4\r\n$2\r\na1\r\n$1\r\n1\r\n$2\r\na2\r\n$1\r\n3\r\n",
    )
    .await;
    c.expect(&["HSCAN", "h", "x"], b"-ERR invalid cursor\r\n")
        .await;
    c.expect(&["HSCAN", "h", "0", "COUNT", "0"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["HSCAN", "h", "0", "NOVALUES"], b"-ERR syntax error\r\n")
        .await;
    let mut expected = BTreeMap::new();
    for i in 0..1000 {
        let (f, v) = (format!("f{i}"), format!("v{i}"));
        c.send_cmd(&["HSET", "big", f.as_str(), v.as_str()]).await;
        expected.insert(f, v);
    }
    c.read_frames(1000).await;
    let mut seen = BTreeMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = c
            .val(&["HSCAN", "big", cursor.as_str(), "COUNT", "50"])
            .await;
        let items = r.items();
        cursor = items[0].as_str().to_string();
        for (f, v) in items[1].pairs() {
            seen.insert(f.as_str().to_string(), v.as_str().to_string());
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 1, "a big hash is scanned in steps");
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn generic_key_commands_on_hashes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["HSET", "h", "a", "1", "b", "2"], b":2\r\n")
        .await;
    c.expect(&["COPY", "h", "h2"], b":1\r\n").await;
    c.expect(&["HSET", "h2", "c", "3"], b":1\r\n").await;
    assert_eq!(all(&mut c, "h").await, map(&[("a", "1"), ("b", "2")]));
    c.expect(&["RENAME", "h2", "h3"], b"+OK\r\n").await;
    assert_eq!(
        all(&mut c, "h3").await,
        map(&[("a", "1"), ("b", "2"), ("c", "3")])
    );
    let dump = c.val(&["DUMP", "h3"]).await;
    let Resp::Bulk(payload) = dump else {
        panic!("DUMP gives a bulk")
    };
    // RESTORE re-encodes by the current limits.
    c.expect(
        &["CONFIG", "SET", "hash-max-listpack-entries", "2"],
        b"+OK\r\n",
    )
    .await;
    let mut cmd: Vec<Vec<u8>> = vec![b"RESTORE".to_vec(), b"h4".to_vec(), b"0".to_vec()];
    cmd.push(payload);
    c.expect(&cmd, b"+OK\r\n").await;
    assert_eq!(encoding(&mut c, "h4").await, "hashtable");
    assert_eq!(
        all(&mut c, "h4").await,
        map(&[("a", "1"), ("b", "2"), ("c", "3")])
    );
    // SORT … BY / GET key->field.
    c.expect(&["RPUSH", "ids", "1", "2", "3"], b":3\r\n").await;
    c.expect(&["HSET", "o:1", "w", "30", "name", "one"], b":2\r\n")
        .await;
    c.expect(&["HSET", "o:2", "w", "10", "name", "two"], b":2\r\n")
        .await;
    c.expect(&["HSET", "o:3", "w", "20"], b":1\r\n").await;
    c.expect(
        &[
            "SORT",
            "ids",
            "BY",
            "o:*->w",
            "GET",
            "o:*->name",
            "GET",
            "#",
        ],
        b"*6\r\n$3\r\ntwo\r\n$1\r\n2\r\n$-1\r\n$1\r\n3\r\n$3\r\none\r\n$1\r\n1\r\n",
    )
    .await;
    // A string key named by `->` pattern gives nil; a plain pattern on a hash too.
    c.expect(&["SET", "s:1", "x"], b"+OK\r\n").await;
    c.expect(
        &["SORT", "ids", "BY", "nosort", "GET", "s:*->f", "GET", "o:*"],
        b"*6\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n",
    )
    .await;
}

#[tokio::test]
async fn keyspace_events_for_hashes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut sub = srv.event_subscriber("Khgn", "__keyspace@0__:*").await;
    let ev = |msg: &str| -> Vec<u8> {
        format!(
            "*4\r\n$8\r\npmessage\r\n$16\r\n__keyspace@0__:*\r\n$16\r\n__keyspace@0__:h\r\n${}\r\n{msg}\r\n",
            msg.len()
        )
        .into_bytes()
    };
    c.expect(&["HSET", "h", "a", "1"], b":1\r\n").await;
    c.expect(&["HSETNX", "h", "a", "1"], b":0\r\n").await;
    c.expect(&["HSETNX", "h", "b", "1"], b":1\r\n").await;
    c.expect(&["HINCRBY", "h", "a", "1"], b":2\r\n").await;
    c.expect(&["HINCRBYFLOAT", "h", "a", "1.5"], b"$3\r\n3.5\r\n")
        .await;
    c.expect(&["HDEL", "h", "zz"], b":0\r\n").await;
    c.expect(&["HDEL", "h", "a"], b":1\r\n").await;
    c.expect(&["HDEL", "h", "b"], b":1\r\n").await;
    let events = [
        "new",
        "hset",
        "hset",
        "hincrby",
        "hincrbyfloat",
        "hdel",
        "hdel",
        "del",
    ];
    assert_bytes(
        &sub.read_frames(events.len()).await,
        &events.iter().map(|e| ev(e)).collect::<Vec<_>>().concat(),
        "hash events",
    );
}

#[tokio::test]
async fn hrandfield_and_hscan_on_a_table() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for i in 0..2000 {
        let (f, v) = (format!("f{i}"), format!("v{i}"));
        c.send_cmd(&["HSET", "big", f.as_str(), v.as_str()]).await;
    }
    c.read_frames(2000).await;
    assert_eq!(encoding(&mut c, "big").await, "hashtable");
    // Distinct picks (few of many, and most of many), repeated picks, single picks.
    for n in ["100", "1500"] {
        let got = c.val(&["HRANDFIELD", "big", n]).await.strings();
        let distinct: BTreeSet<&String> = got.iter().collect();
        assert_eq!(
            (got.len(), distinct.len()),
            (n.parse().unwrap(), n.parse().unwrap())
        );
    }
    let pairs = c
        .val(&["HRANDFIELD", "big", "-300", "WITHVALUES"])
        .await
        .pairs();
    assert_eq!(pairs.len(), 300);
    for (f, v) in pairs {
        assert_eq!(
            &f.as_str()[1..],
            &v.as_str()[1..],
            "value belongs to its field"
        );
    }
    let one = c.val(&["HRANDFIELD", "big"]).await;
    assert!(one.as_str().starts_with('f'));
    // A scan that starts before the hash grows fourfold and shrinks back
    // still returns every field present throughout.
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut step = 0;
    loop {
        let r = c
            .val(&["HSCAN", "big", cursor.as_str(), "COUNT", "20"])
            .await;
        cursor = r.items()[0].as_str().to_string();
        for (f, _) in r.items()[1].pairs() {
            seen.insert(f.as_str().to_string());
        }
        step += 1;
        if step == 10 {
            for i in 0..6000 {
                let f = format!("tmp{i}");
                c.send_cmd(&["HSET", "big", f.as_str(), "x"]).await;
            }
            c.read_frames(6000).await;
        }
        if step == 40 {
            for i in 0..6000 {
                let f = format!("tmp{i}");
                c.send_cmd(&["HDEL", "big", f.as_str()]).await;
            }
            c.read_frames(6000).await;
        }
        if cursor == "0" {
            break;
        }
    }
    for i in 0..2000 {
        assert!(seen.contains(&format!("f{i}")), "f{i} missed by the scan");
    }
}
