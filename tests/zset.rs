//! Sorted sets (after Redis's `unit/type/zset.tcl`). Expectations are exact
//! reply bytes, checked against redis-server 7.0 in external mode (see
//! `tests/common`).

mod common;

use common::{encode, Raw, TestServer};

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// A RESP2 array of bulk strings.
fn bulks(items: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len()).into_bytes();
    for i in items {
        out.extend_from_slice(format!("${}\r\n{}\r\n", i.len(), i).as_bytes());
    }
    out
}

async fn range(c: &mut Raw, key: &str) -> Vec<String> {
    c.val(&["ZRANGE", key, "0", "-1", "WITHSCORES"])
        .await
        .strings()
}

#[tokio::test]
async fn zadd_options_and_replies() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["ZADD", "z", "1", "a", "2", "b", "3", "c"], b":3\r\n")
        .await;
    c.expect(&["TYPE", "z"], b"+zset\r\n").await;
    c.expect(&["ZCARD", "z"], b":3\r\n").await;
    // An update is not an addition, unless CH.
    c.expect(&["ZADD", "z", "10", "a", "4", "d"], b":1\r\n")
        .await;
    c.expect(
        &["ZADD", "z", "CH", "11", "a", "5", "e", "5", "e"],
        b":2\r\n",
    )
    .await;
    c.expect(&["ZADD", "z", "NX", "100", "a", "6", "f"], b":1\r\n")
        .await;
    c.expect(&["ZSCORE", "z", "a"], b"$2\r\n11\r\n").await;
    c.expect(&["ZADD", "z", "XX", "CH", "12", "a", "7", "g"], b":1\r\n")
        .await;
    c.expect(&["ZSCORE", "z", "g"], b"$-1\r\n").await;
    // GT / LT only move a score one way; they still add new members.
    c.expect(&["ZADD", "z", "GT", "CH", "1", "a", "1", "h"], b":1\r\n")
        .await;
    c.expect(&["ZSCORE", "z", "a"], b"$2\r\n12\r\n").await;
    c.expect(&["ZADD", "z", "LT", "CH", "1", "a"], b":1\r\n")
        .await;
    c.expect(&["ZSCORE", "z", "a"], b"$1\r\n1\r\n").await;
    // INCR: the new score, nil when an option prevented the change.
    c.expect(&["ZADD", "z", "INCR", "2.5", "a"], b"$3\r\n3.5\r\n")
        .await;
    c.expect(&["ZADD", "z", "NX", "INCR", "1", "a"], b"$-1\r\n")
        .await;
    c.expect(&["ZADD", "z", "GT", "INCR", "-1", "a"], b"$-1\r\n")
        .await;
    c.expect(&["ZADD", "z", "XX", "INCR", "1", "nope"], b"$-1\r\n")
        .await;
    c.expect(&["ZADD", "newkey", "XX", "1", "a"], b":0\r\n")
        .await;
    c.expect(&["ZADD", "newkey", "XX", "INCR", "1", "a"], b"$-1\r\n")
        .await;
    c.expect(&["EXISTS", "newkey"], b":0\r\n").await;
    c.expect(
        &["ZINCRBY", "z", "0.1", "a"],
        b"$18\r\n3.6000000000000001\r\n",
    )
    .await;
    c.expect(&["ZINCRBY", "z", "1", "fresh"], b"$1\r\n1\r\n")
        .await;
    c.expect(
        &["ZINCRBY", "z", "1e300", "fresh"],
        b"$23\r\n1.0000000000000001e+300\r\n",
    )
    .await;
    // Errors, all before anything changes.
    for (args, err) in [
        (
            &["ZADD", "z", "NX", "XX", "1", "a"][..],
            "-ERR XX and NX options at the same time are not compatible\r\n",
        ),
        (
            &["ZADD", "z", "GT", "LT", "1", "a"][..],
            "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
        ),
        (
            &["ZADD", "z", "NX", "GT", "1", "a"][..],
            "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
        ),
        (
            &["ZADD", "z", "INCR", "1", "a", "2", "b"][..],
            "-ERR INCR option supports a single increment-element pair\r\n",
        ),
        (&["ZADD", "z", "1", "a", "2"][..], "-ERR syntax error\r\n"),
        (&["ZADD", "z", "NX", "1"][..], "-ERR syntax error\r\n"),
        (
            &["ZADD", "z", "1", "x", "abc", "y"][..],
            "-ERR value is not a valid float\r\n",
        ),
        (
            &["ZADD", "z", "nan", "x"][..],
            "-ERR value is not a valid float\r\n",
        ),
        (
            &["ZINCRBY", "z", "x", "a"][..],
            "-ERR value is not a valid float\r\n",
        ),
        (
            &["ZADD", "z"][..],
            "-ERR wrong number of arguments for 'zadd' command\r\n",
        ),
    ] {
        c.expect(args, err).await;
    }
    c.expect(&["ZSCORE", "z", "x"], b"$-1\r\n").await;
    // inf + -inf is NaN: refused, the score stays.
    c.expect(&["ZADD", "inf", "+inf", "m"], b":1\r\n").await;
    c.expect(
        &["ZINCRBY", "inf", "-inf", "m"],
        b"-ERR resulting score is not a number (NaN)\r\n",
    )
    .await;
    c.expect(&["ZSCORE", "inf", "m"], b"$3\r\ninf\r\n").await;
    c.expect(&["ZADD", "inf", "-inf", "n"], b":1\r\n").await;
    c.expect(&["ZSCORE", "inf", "n"], b"$4\r\n-inf\r\n").await;
    c.expect(&["SET", "str", "x"], b"+OK\r\n").await;
    c.expect(&["ZADD", "str", "1", "a"], WRONGTYPE).await;
    c.expect(&["ZINCRBY", "str", "1", "a"], WRONGTYPE).await;
}

#[tokio::test]
async fn scores_are_formatted_like_redis() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for (given, shown) in [
        ("1", "1"),
        // The listpack encoding stores -0 as the integer 0.
        ("-0", "0"),
        ("0.1", "0.10000000000000001"),
        ("1.5", "1.5"),
        ("1e3", "1000"),
        ("123456789012345678", "1.2345678901234568e+17"),
        ("0x10", "16"),
        ("1e-5", "1.0000000000000001e-05"),
    ] {
        c.cmd(&["DEL", "f"]).await;
        c.expect(&["ZADD", "f", given, "m"], b":1\r\n").await;
        c.expect(
            &["ZSCORE", "f", "m"],
            format!("${}\r\n{}\r\n", shown.len(), shown),
        )
        .await;
    }
    // RESP3 doubles.
    c.cmd(&["HELLO", "3"]).await;
    c.expect(&["ZADD", "g", "1.5", "m", "3", "n"], b":2\r\n")
        .await;
    c.expect(&["ZSCORE", "g", "m"], b",1.5\r\n").await;
    c.expect(&["ZSCORE", "g", "n"], b",3\r\n").await;
    c.expect(&["ZMSCORE", "g", "m", "x"], b"*2\r\n,1.5\r\n_\r\n")
        .await;
    c.expect(
        &["ZRANGE", "g", "0", "-1", "WITHSCORES"],
        b"*2\r\n*2\r\n$1\r\nm\r\n,1.5\r\n*2\r\n$1\r\nn\r\n,3\r\n",
    )
    .await;
    c.expect(&["ZPOPMIN", "g"], b"*2\r\n$1\r\nm\r\n,1.5\r\n")
        .await;
    c.expect(&["ZPOPMIN", "g", "1"], b"*1\r\n*2\r\n$1\r\nn\r\n,3\r\n")
        .await;
}

#[tokio::test]
async fn zrem_zcard_zscore_zmscore_zrank() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "3", "d"],
        b":4\r\n",
    )
    .await;
    c.expect(&["ZRANK", "z", "a"], b":0\r\n").await;
    c.expect(&["ZRANK", "z", "d"], b":3\r\n").await;
    c.expect(&["ZREVRANK", "z", "a"], b":3\r\n").await;
    c.expect(&["ZREVRANK", "z", "c"], b":1\r\n").await;
    c.expect(&["ZRANK", "z", "x"], b"$-1\r\n").await;
    c.expect(&["ZRANK", "nokey", "x"], b"$-1\r\n").await;
    c.expect(
        &["ZMSCORE", "z", "a", "x", "c"],
        b"*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n",
    )
    .await;
    c.expect(&["ZMSCORE", "nokey", "a", "b"], b"*2\r\n$-1\r\n$-1\r\n")
        .await;
    c.expect(&["ZREM", "z", "a", "x", "a"], b":1\r\n").await;
    c.expect(&["ZREM", "nokey", "a"], b":0\r\n").await;
    c.expect(&["ZCARD", "z"], b":3\r\n").await;
    c.expect(&["ZCARD", "nokey"], b":0\r\n").await;
    c.expect(&["ZREM", "z", "b", "c", "d"], b":3\r\n").await;
    c.expect(&["EXISTS", "z"], b":0\r\n").await;
    c.expect(&["SET", "s", "x"], b"+OK\r\n").await;
    for cmd in [
        &["ZREM", "s", "a"][..],
        &["ZCARD", "s"],
        &["ZSCORE", "s", "a"],
        &["ZMSCORE", "s", "a"],
        &["ZRANK", "s", "a"],
        &["ZREVRANK", "s", "a"],
    ] {
        c.expect(cmd, WRONGTYPE).await;
    }
}

/// Runs the same checks on both encodings.
async fn fill(c: &mut Raw, key: &str, big: bool) {
    c.cmd(&["DEL", key]).await;
    let mut args = vec!["ZADD".to_string(), key.to_string()];
    for (s, m) in [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"), (5, "f")] {
        args.push(s.to_string());
        args.push(m.to_string());
    }
    c.cmd(&args).await;
    if big {
        // A long member forces the big encoding; remove it again.
        let long = "x".repeat(100);
        c.cmd(&["ZADD", key, "100", &long]).await;
        c.cmd(&["ZREM", key, &long]).await;
    }
    let enc = if big { "skiplist" } else { "listpack" };
    c.expect(
        &["OBJECT", "ENCODING", key],
        format!("${}\r\n{enc}\r\n", enc.len()),
    )
    .await;
}

#[tokio::test]
async fn ranges_by_rank_score_and_lex() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for big in [false, true] {
        fill(&mut c, "z", big).await;
        c.expect(
            &["ZRANGE", "z", "0", "-1"],
            bulks(&["a", "b", "c", "d", "e", "f"]),
        )
        .await;
        c.expect(
            &["ZRANGE", "z", "1", "2", "WITHSCORES"],
            bulks(&["b", "2", "c", "3"]),
        )
        .await;
        c.expect(&["ZRANGE", "z", "-2", "100"], bulks(&["e", "f"]))
            .await;
        c.expect(&["ZRANGE", "z", "4", "2"], b"*0\r\n").await;
        c.expect(&["ZREVRANGE", "z", "0", "1"], bulks(&["f", "e"]))
            .await;
        c.expect(
            &["ZRANGE", "z", "0", "1", "REV", "WITHSCORES"],
            bulks(&["f", "5", "e", "5"]),
        )
        .await;
        c.expect(&["ZRANGEBYSCORE", "z", "2", "4"], bulks(&["b", "c", "d"]))
            .await;
        c.expect(&["ZRANGEBYSCORE", "z", "(2", "(4"], bulks(&["c"]))
            .await;
        c.expect(
            &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "2"],
            bulks(&["b", "c"]),
        )
        .await;
        c.expect(
            &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "4", "-1"],
            bulks(&["e", "f"]),
        )
        .await;
        c.expect(
            &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2"],
            b"*0\r\n",
        )
        .await;
        c.expect(
            &["ZREVRANGEBYSCORE", "z", "4", "2", "WITHSCORES"],
            bulks(&["d", "4", "c", "3", "b", "2"]),
        )
        .await;
        c.expect(
            &["ZREVRANGEBYSCORE", "z", "+inf", "(4", "LIMIT", "0", "1"],
            bulks(&["f"]),
        )
        .await;
        c.expect(&["ZRANGE", "z", "(1", "3", "BYSCORE"], bulks(&["b", "c"]))
            .await;
        c.expect(
            &[
                "ZRANGE", "z", "5", "(1", "BYSCORE", "REV", "LIMIT", "1", "2",
            ],
            bulks(&["e", "d"]),
        )
        .await;
        c.expect(&["ZCOUNT", "z", "2", "(5"], b":3\r\n").await;
        c.expect(&["ZCOUNT", "z", "(5", "+inf"], b":0\r\n").await;
        c.expect(&["ZCOUNT", "z", "3", "1"], b":0\r\n").await;
        c.expect(&["ZCOUNT", "nokey", "-inf", "+inf"], b":0\r\n")
            .await;
    }
    // Lex ranges need equal scores.
    c.cmd(&["DEL", "l"]).await;
    c.expect(
        &[
            "ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e",
        ],
        b":5\r\n",
    )
    .await;
    c.expect(
        &["ZRANGEBYLEX", "l", "-", "+"],
        bulks(&["a", "b", "c", "d", "e"]),
    )
    .await;
    c.expect(&["ZRANGEBYLEX", "l", "[b", "(d"], bulks(&["b", "c"]))
        .await;
    c.expect(
        &["ZRANGEBYLEX", "l", "(b", "+", "LIMIT", "1", "2"],
        bulks(&["d", "e"]),
    )
    .await;
    c.expect(&["ZREVRANGEBYLEX", "l", "+", "[c"], bulks(&["e", "d", "c"]))
        .await;
    c.expect(
        &["ZRANGE", "l", "[d", "-", "BYLEX", "REV"],
        bulks(&["d", "c", "b", "a"]),
    )
    .await;
    c.expect(&["ZLEXCOUNT", "l", "(a", "[c"], b":2\r\n").await;
    c.expect(&["ZLEXCOUNT", "l", "+", "-"], b":0\r\n").await;
    for (args, err) in [
        (&["ZRANGEBYSCORE", "l", "a", "1"][..], "-ERR min or max is not a float\r\n"),
        (&["ZCOUNT", "l", "1", "(x"][..], "-ERR min or max is not a float\r\n"),
        (&["ZRANGEBYSCORE", "l", "nan", "1"][..], "-ERR min or max is not a float\r\n"),
        (&["ZRANGEBYLEX", "l", "a", "+"][..], "-ERR min or max not valid string range item\r\n"),
        (&["ZLEXCOUNT", "l", "-", "b"][..], "-ERR min or max not valid string range item\r\n"),
        (&["ZRANGE", "l", "0", "1", "LIMIT", "0", "1"][..], "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"),
        (&["ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES"][..], "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"),
        (&["ZRANGE", "l", "0", "1", "BYSCORE", "BYLEX"][..], "-ERR syntax error\r\n"),
        (&["ZRANGE", "l", "a", "1"][..], "-ERR value is not an integer or out of range\r\n"),
        (&["ZRANGEBYSCORE", "l", "0", "1", "LIMIT", "x", "1"][..], "-ERR value is not an integer or out of range\r\n"),
    ] {
        c.expect(args, err).await;
    }
    c.expect(&["SET", "s", "x"], b"+OK\r\n").await;
    c.expect(&["ZRANGE", "s", "0", "1"], WRONGTYPE).await;
    c.expect(&["ZRANGE", "nokey", "0", "1"], b"*0\r\n").await;
}

#[tokio::test]
async fn zrangestore_and_zremrange() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for big in [false, true] {
        fill(&mut c, "z", big).await;
        c.expect(&["ZRANGESTORE", "dst", "z", "1", "2"], b":2\r\n")
            .await;
        assert_eq!(range(&mut c, "dst").await, ["b", "2", "c", "3"]);
        c.expect(&["OBJECT", "ENCODING", "dst"], b"$8\r\nlistpack\r\n")
            .await;
        c.expect(
            &[
                "ZRANGESTORE",
                "dst",
                "z",
                "5",
                "4",
                "BYSCORE",
                "REV",
                "LIMIT",
                "0",
                "2",
            ],
            b":2\r\n",
        )
        .await;
        assert_eq!(range(&mut c, "dst").await, ["e", "5", "f", "5"]);
        // An empty result deletes the destination.
        c.expect(&["ZRANGESTORE", "dst", "z", "10", "20"], b":0\r\n")
            .await;
        c.expect(&["EXISTS", "dst"], b":0\r\n").await;
        c.expect(&["ZREMRANGEBYRANK", "z", "0", "1"], b":2\r\n")
            .await;
        c.expect(&["ZREMRANGEBYSCORE", "z", "(3", "4"], b":1\r\n")
            .await;
        c.expect(&["ZREMRANGEBYSCORE", "z", "10", "20"], b":0\r\n")
            .await;
        assert_eq!(range(&mut c, "z").await, ["c", "3", "e", "5", "f", "5"]);
        c.expect(&["ZREMRANGEBYRANK", "z", "0", "-1"], b":3\r\n")
            .await;
        c.expect(&["EXISTS", "z"], b":0\r\n").await;
    }
    c.expect(&["ZADD", "l", "0", "a", "0", "b", "0", "c"], b":3\r\n")
        .await;
    c.expect(&["ZREMRANGEBYLEX", "l", "[b", "+"], b":2\r\n")
        .await;
    c.expect(&["ZREMRANGEBYLEX", "l", "-", "+"], b":1\r\n")
        .await;
    c.expect(&["EXISTS", "l"], b":0\r\n").await;
    c.expect(&["ZREMRANGEBYRANK", "nokey", "0", "1"], b":0\r\n")
        .await;
    c.expect(
        &["ZRANGESTORE", "dst", "z"],
        b"-ERR wrong number of arguments for 'zrangestore' command\r\n",
    )
    .await;
    c.expect(
        &["ZRANGESTORE", "dst", "l", "0", "1", "WITHSCORES"],
        b"-ERR syntax error\r\n",
    )
    .await;
}

#[tokio::test]
async fn pops_and_mpop() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["ZADD", "z", "1", "a", "2", "b", "3", "c"], b":3\r\n")
        .await;
    c.expect(&["ZPOPMIN", "z"], bulks(&["a", "1"])).await;
    c.expect(&["ZPOPMAX", "z"], bulks(&["c", "3"])).await;
    c.expect(&["ZPOPMIN", "z", "0"], b"*0\r\n").await;
    c.expect(&["ZPOPMAX", "z", "10"], bulks(&["b", "2"])).await;
    c.expect(&["EXISTS", "z"], b":0\r\n").await;
    c.expect(&["ZPOPMIN", "z"], b"*0\r\n").await;
    c.expect(
        &["ZPOPMIN", "z", "-1"],
        b"-ERR value is out of range, must be positive\r\n",
    )
    .await;
    c.expect(&["ZPOPMIN", "z", "1", "2"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["ZADD", "y", "1", "a", "2", "b", "3", "c"], b":3\r\n")
        .await;
    c.expect(
        &["ZMPOP", "2", "z", "y", "MAX", "COUNT", "2"],
        b"*2\r\n$1\r\ny\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    )
    .await;
    c.expect(
        &["ZMPOP", "1", "y", "MIN"],
        b"*2\r\n$1\r\ny\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
    )
    .await;
    c.expect(&["ZMPOP", "1", "y", "MIN"], b"*-1\r\n").await;
    for (args, err) in [
        (
            &["ZMPOP", "0", "y", "MIN"][..],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (&["ZMPOP", "1", "y", "MID"][..], "-ERR syntax error\r\n"),
        (&["ZMPOP", "2", "y", "MIN"][..], "-ERR syntax error\r\n"),
        (
            &["ZMPOP", "1", "y", "MIN", "COUNT", "0"][..],
            "-ERR count should be greater than 0\r\n",
        ),
        (
            &["ZMPOP", "1", "y", "MIN", "COUNT", "1", "COUNT", "1"][..],
            "-ERR syntax error\r\n",
        ),
    ] {
        c.expect(args, err).await;
    }
    c.expect(&["SET", "s", "x"], b"+OK\r\n").await;
    c.expect(&["ZPOPMIN", "s"], WRONGTYPE).await;
    c.expect(&["ZMPOP", "2", "nokey", "s", "MIN"], WRONGTYPE)
        .await;
    c.expect(&["BZPOPMIN", "s", "0"], WRONGTYPE).await;
}

#[tokio::test]
async fn blocking_pops() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    // Served at once when a set is there.
    c.expect(&["ZADD", "z", "1", "a", "2", "b"], b":2\r\n")
        .await;
    c.expect(&["BZPOPMIN", "nokey", "z", "0"], bulks(&["z", "a", "1"]))
        .await;
    c.expect(&["BZPOPMAX", "z", "0"], bulks(&["z", "b", "2"]))
        .await;
    // Timeout: a null array.
    c.expect(&["BZPOPMIN", "z", "0.01"], b"*-1\r\n").await;
    c.expect(&["BZMPOP", "0.01", "1", "z", "MIN"], b"*-1\r\n")
        .await;
    c.expect(&["BZPOPMIN", "z", "-1"], b"-ERR timeout is negative\r\n")
        .await;
    c.expect(
        &["BZMPOP", "-1", "0", "z", "MIN"],
        b"-ERR numkeys should be greater than 0\r\n",
    )
    .await;
    c.expect(
        &["BZMPOP", "x", "1", "z", "MIN"],
        b"-ERR timeout is not a float or out of range\r\n",
    )
    .await;
    // Blocked, then served by a ZADD on one of the keys.
    let mut w = srv.raw().await;
    w.send_cmd(&["BZPOPMAX", "k1", "k2", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["ZADD", "k2", "5", "x", "6", "y"], b":2\r\n")
        .await;
    assert_eq!(w.read_frame().await, bulks(&["k2", "y", "6"]));
    c.expect(&["ZRANGE", "k2", "0", "-1"], bulks(&["x"])).await;
    // BZMPOP with a count, served by a store command.
    w.send_cmd(&["BZMPOP", "0", "2", "k3", "k4", "MIN", "COUNT", "5"])
        .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["ZUNIONSTORE", "k4", "1", "k2"], b":1\r\n").await;
    assert_eq!(
        w.read_frame().await,
        b"*2\r\n$2\r\nk4\r\n*1\r\n*2\r\n$1\r\nx\r\n$1\r\n5\r\n".to_vec()
    );
    c.expect(&["EXISTS", "k4"], b":0\r\n").await;
    // A key of another type does not serve; the client stays blocked.
    w.send_cmd(&["BZPOPMIN", "k5", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RPUSH", "k5", "v"], b":1\r\n").await;
    c.expect(&["DEL", "k5"], b":1\r\n").await;
    c.expect(&["ZADD", "k5", "1", "m"], b":1\r\n").await;
    assert_eq!(w.read_frame().await, bulks(&["k5", "m", "1"]));
    // RENAME (like COPY and RESTORE) of a sorted set onto a waited key serves.
    w.send_cmd(&["BZPOPMIN", "k7", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["ZADD", "tmp", "3", "r"], b":1\r\n").await;
    c.expect(&["RENAME", "tmp", "k7"], b"+OK\r\n").await;
    assert_eq!(w.read_frame().await, bulks(&["k7", "r", "3"]));
    // Inside MULTI a blocking pop never blocks.
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["BZPOPMIN", "k6", "0"], b"+QUEUED\r\n").await;
    c.expect(&["EXEC"], b"*1\r\n*-1\r\n").await;
    // FIFO among waiters.
    let mut w2 = srv.raw().await;
    w.send_cmd(&["BZPOPMIN", "q", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    w2.send_cmd(&["BZPOPMIN", "q", "0"]).await;
    srv.wait_for_blocked_clients(2).await;
    c.expect(&["ZADD", "q", "1", "a", "2", "b"], b":2\r\n")
        .await;
    assert_eq!(w.read_frame().await, bulks(&["q", "a", "1"]));
    assert_eq!(w2.read_frame().await, bulks(&["q", "b", "2"]));
}

#[tokio::test]
async fn union_inter_diff() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["ZADD", "a", "1", "x", "2", "y", "3", "z"], b":3\r\n")
        .await;
    c.expect(&["ZADD", "b", "10", "y", "20", "z", "30", "w"], b":3\r\n")
        .await;
    c.expect(&["SADD", "s", "z", "w", "v"], b":3\r\n").await;
    c.expect(
        &["ZUNION", "2", "a", "b", "WITHSCORES"],
        bulks(&["x", "1", "y", "12", "z", "23", "w", "30"]),
    )
    .await;
    c.expect(
        &[
            "ZUNION",
            "2",
            "a",
            "b",
            "WEIGHTS",
            "2",
            "0.5",
            "AGGREGATE",
            "MAX",
            "WITHSCORES",
        ],
        bulks(&["x", "2", "y", "5", "z", "10", "w", "15"]),
    )
    .await;
    c.expect(
        &["ZINTER", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"],
        bulks(&["y", "2", "z", "3"]),
    )
    .await;
    c.expect(
        &["ZINTER", "3", "a", "b", "s", "WITHSCORES"],
        bulks(&["z", "24"]),
    )
    .await;
    c.expect(&["ZINTER", "2", "a", "nokey"], b"*0\r\n").await;
    c.expect(&["ZDIFF", "2", "a", "b", "WITHSCORES"], bulks(&["x", "1"]))
        .await;
    c.expect(&["ZDIFF", "2", "b", "s"], bulks(&["y"])).await;
    c.expect(&["ZUNIONSTORE", "d", "2", "a", "s"], b":5\r\n")
        .await;
    assert_eq!(
        range(&mut c, "d").await,
        ["v", "1", "w", "1", "x", "1", "y", "2", "z", "4"]
    );
    c.expect(
        &["ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "-1"],
        b":2\r\n",
    )
    .await;
    assert_eq!(range(&mut c, "d").await, ["z", "-17", "y", "-8"]);
    c.expect(&["ZDIFFSTORE", "d", "2", "a", "a"], b":0\r\n")
        .await;
    c.expect(&["EXISTS", "d"], b":0\r\n").await;
    c.expect(&["ZDIFFSTORE", "d", "1", "b"], b":3\r\n").await;
    c.expect(&["ZINTERCARD", "2", "a", "b"], b":2\r\n").await;
    c.expect(&["ZINTERCARD", "2", "a", "b", "LIMIT", "1"], b":1\r\n")
        .await;
    c.expect(&["ZINTERCARD", "2", "a", "b", "LIMIT", "0"], b":2\r\n")
        .await;
    // +inf * 0 is NaN: counted as 0; inf + -inf sums to 0.
    c.expect(&["ZADD", "i", "inf", "m"], b":1\r\n").await;
    c.expect(&["ZADD", "j", "-inf", "m"], b":1\r\n").await;
    c.expect(&["ZUNION", "2", "i", "j", "WITHSCORES"], bulks(&["m", "0"]))
        .await;
    c.expect(
        &["ZUNION", "1", "i", "WEIGHTS", "0", "WITHSCORES"],
        bulks(&["m", "0"]),
    )
    .await;
    for (args, err) in [
        (
            &["ZUNION", "0", "a"][..],
            "-ERR at least 1 input key is needed for 'zunion' command\r\n",
        ),
        (
            &["ZINTERSTORE", "d", "0", "a"][..],
            "-ERR at least 1 input key is needed for 'zinterstore' command\r\n",
        ),
        (&["ZUNION", "3", "a", "b"][..], "-ERR syntax error\r\n"),
        (
            &["ZUNION", "x", "a"][..],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["ZUNION", "2", "a", "b", "WEIGHTS", "1"][..],
            "-ERR syntax error\r\n",
        ),
        (
            &["ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"][..],
            "-ERR weight value is not a float\r\n",
        ),
        (
            &["ZUNION", "2", "a", "b", "AGGREGATE", "AVG"][..],
            "-ERR syntax error\r\n",
        ),
        (
            &["ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1"][..],
            "-ERR syntax error\r\n",
        ),
        (
            &["ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"][..],
            "-ERR syntax error\r\n",
        ),
        (
            &["ZINTERCARD", "2", "a", "b", "LIMIT", "-1"][..],
            "-ERR LIMIT can't be negative\r\n",
        ),
        (
            &["ZINTERCARD", "1", "a", "WITHSCORES"][..],
            "-ERR syntax error\r\n",
        ),
    ] {
        c.expect(args, err).await;
    }
    c.expect(&["SET", "str", "x"], b"+OK\r\n").await;
    c.expect(&["ZUNION", "2", "a", "str"], WRONGTYPE).await;
    c.expect(&["ZINTERCARD", "2", "a", "str"], WRONGTYPE).await;
}

#[tokio::test]
async fn zrandmember() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["ZRANDMEMBER", "nokey"], b"$-1\r\n").await;
    c.expect(&["ZRANDMEMBER", "nokey", "5"], b"*0\r\n").await;
    c.expect(&["ZADD", "z", "1", "a", "2", "b", "3", "c"], b":3\r\n")
        .await;
    let one = c.val(&["ZRANDMEMBER", "z"]).await;
    assert!(["a", "b", "c"].contains(&one.as_str()));
    // Positive: distinct members, at most the set's size.
    let mut all = c.val(&["ZRANDMEMBER", "z", "10"]).await.strings();
    all.sort();
    assert_eq!(all, ["a", "b", "c"]);
    let two = c.val(&["ZRANDMEMBER", "z", "2"]).await.strings();
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    // Negative: exactly that many, repetitions allowed.
    assert_eq!(c.val(&["ZRANDMEMBER", "z", "-7"]).await.strings().len(), 7);
    let ws = c
        .val(&["ZRANDMEMBER", "z", "-4", "WITHSCORES"])
        .await
        .strings();
    assert_eq!(ws.len(), 8);
    for p in ws.chunks(2) {
        let want = match p[0].as_str() {
            "a" => "1",
            "b" => "2",
            _ => "3",
        };
        assert_eq!(p[1], want);
    }
    c.expect(&["ZRANDMEMBER", "z", "0"], b"*0\r\n").await;
    c.expect(&["ZRANDMEMBER", "z", "1", "x"], b"-ERR syntax error\r\n")
        .await;
    c.expect(
        &["ZRANDMEMBER", "z", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    c.expect(
        &["ZRANDMEMBER", "z", "-9223372036854775808"],
        b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
    )
    .await;
    c.expect(
        &["ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES"],
        b"-ERR value is out of range\r\n",
    )
    .await;
}

#[tokio::test]
async fn zscan_both_encodings() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["ZADD", "small", "1", "a", "2.5", "b"], b":2\r\n")
        .await;
    c.expect(
        &["ZSCAN", "small", "0"],
        b"*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n",
    )
    .await;
    c.expect(
        &["ZSCAN", "small", "0", "MATCH", "b*"],
        b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$3\r\n2.5\r\n",
    )
    .await;
    c.expect(&["ZSCAN", "nokey", "0"], b"*2\r\n$1\r\n0\r\n*0\r\n")
        .await;
    // A big set, walked to the end: every member once, with its score.
    let mut args = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..500 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    c.cmd(&args).await;
    c.expect(&["OBJECT", "ENCODING", "big"], b"$8\r\nskiplist\r\n")
        .await;
    let mut cursor = "0".to_string();
    let mut seen = std::collections::BTreeMap::new();
    loop {
        let r = c.val(&["ZSCAN", "big", &cursor, "COUNT", "50"]).await;
        cursor = r.items()[0].as_str().to_string();
        for p in r.items()[1].strings().chunks(2) {
            seen.insert(p[0].clone(), p[1].clone());
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    assert_eq!(seen["m42"], "42");
    c.expect(&["ZSCAN", "big", "x"], b"-ERR invalid cursor\r\n")
        .await;
    c.expect(&["SET", "s", "x"], b"+OK\r\n").await;
    c.expect(&["ZSCAN", "s", "0"], WRONGTYPE).await;
}

#[tokio::test]
async fn encoding_limits_and_conversion() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["CONFIG", "SET", "zset-max-ziplist-entries", "4"],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "GET", "zset-max-listpack-entries"],
        b"*2\r\n$25\r\nzset-max-listpack-entries\r\n$1\r\n4\r\n",
    )
    .await;
    c.expect(
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
        b":4\r\n",
    )
    .await;
    c.expect(&["OBJECT", "ENCODING", "z"], b"$8\r\nlistpack\r\n")
        .await;
    c.expect(&["ZADD", "z", "5", "e"], b":1\r\n").await;
    c.expect(&["OBJECT", "ENCODING", "z"], b"$8\r\nskiplist\r\n")
        .await;
    // Deleting does not convert back (as Redis); a stored result does.
    c.expect(&["ZREM", "z", "e"], b":1\r\n").await;
    c.expect(&["OBJECT", "ENCODING", "z"], b"$8\r\nskiplist\r\n")
        .await;
    c.expect(&["ZUNIONSTORE", "u", "1", "z"], b":4\r\n").await;
    c.expect(&["OBJECT", "ENCODING", "u"], b"$8\r\nlistpack\r\n")
        .await;
    c.expect(
        &["CONFIG", "SET", "zset-max-listpack-value", "3"],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["ZADD", "v", "1", "abcd"], b":1\r\n").await;
    c.expect(&["OBJECT", "ENCODING", "v"], b"$8\r\nskiplist\r\n")
        .await;
    c.expect(&["ZADD", "w", "1", "abc"], b":1\r\n").await;
    c.expect(&["OBJECT", "ENCODING", "w"], b"$8\r\nlistpack\r\n")
        .await;
    c.expect(&["ZADD", "w", "1", "abcde"], b":1\r\n").await;
    c.expect(&["OBJECT", "ENCODING", "w"], b"$8\r\nskiplist\r\n")
        .await;
    // Back to the defaults (an external server is shared by the tests).
    c.expect(
        &["CONFIG", "SET", "zset-max-listpack-entries", "128"],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "SET", "zset-max-listpack-value", "64"],
        b"+OK\r\n",
    )
    .await;
}

#[tokio::test]
async fn generic_commands_on_zsets() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["ZADD", "z", "3", "c", "1", "a", "2", "b"], b":3\r\n")
        .await;
    c.expect(&["COPY", "z", "z2"], b":1\r\n").await;
    c.expect(&["ZADD", "z2", "4", "d"], b":1\r\n").await;
    c.expect(&["ZCARD", "z"], b":3\r\n").await;
    c.expect(&["RENAME", "z2", "z3"], b"+OK\r\n").await;
    assert_eq!(
        range(&mut c, "z3").await,
        ["a", "1", "b", "2", "c", "3", "d", "4"]
    );
    // The DUMP payload is binary: take the bulk's body from the raw frame.
    let frame = c.cmd(&["DUMP", "z3"]).await;
    let body_at = frame.iter().position(|&b| b == b'\n').unwrap() + 1;
    let payload = frame[body_at..frame.len() - 2].to_vec();
    c.send(encode(&[b"RESTORE".as_ref(), b"z4", b"0", &payload]))
        .await;
    assert_eq!(c.read_frame().await, b"+OK\r\n");
    assert_eq!(
        range(&mut c, "z4").await,
        ["a", "1", "b", "2", "c", "3", "d", "4"]
    );
    c.expect(&["OBJECT", "ENCODING", "z4"], b"$8\r\nlistpack\r\n")
        .await;
    // SORT sorts the members; BY nosort keeps the set's order.
    c.expect(&["ZADD", "n", "1", "30", "2", "10", "3", "20"], b":3\r\n")
        .await;
    c.expect(&["SORT", "n"], bulks(&["10", "20", "30"])).await;
    c.expect(&["SORT", "n", "BY", "nosort"], bulks(&["30", "10", "20"]))
        .await;
    c.expect(
        &["SORT", "n", "BY", "nosort", "DESC"],
        bulks(&["20", "10", "30"]),
    )
    .await;
    // An empty member sorts as 0 (strtod reads "" as 0).
    c.expect(&["ZADD", "e", "1", "1", "2", ""], b":2\r\n").await;
    c.expect(&["SORT", "e"], bulks(&["", "1"])).await;
    // Redis's SORT leaves a small sorted set in the skiplist encoding.
    c.expect(&["OBJECT", "ENCODING", "n"], b"$8\r\nskiplist\r\n")
        .await;
}

#[tokio::test]
async fn keyspace_events() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut sub = srv.event_subscriber("KEA", "__keyevent@0__:*").await;
    c.cmd(&[
        "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f",
    ])
    .await;
    c.cmd(&["ZINCRBY", "z", "1", "a"]).await;
    c.cmd(&["ZREM", "z", "a"]).await;
    c.cmd(&["ZREMRANGEBYRANK", "z", "0", "0"]).await;
    c.cmd(&["ZREMRANGEBYSCORE", "z", "3", "3"]).await;
    c.cmd(&["ZREMRANGEBYLEX", "z", "[d", "[d"]).await;
    c.cmd(&["ZPOPMIN", "z"]).await;
    c.cmd(&["ZPOPMAX", "z"]).await;
    c.cmd(&["ZADD", "y", "1", "a"]).await;
    c.cmd(&["ZUNIONSTORE", "u", "1", "y"]).await;
    c.cmd(&["ZINTERSTORE", "u", "1", "y"]).await;
    c.cmd(&["ZDIFFSTORE", "u", "1", "y"]).await;
    c.cmd(&["ZRANGESTORE", "u", "y", "0", "-1"]).await;
    let want = [
        "zadd:z",
        "zincr:z",
        "zrem:z",
        "zremrangebyrank:z",
        "zremrangebyscore:z",
        "zremrangebylex:z",
        "zpopmin:z",
        "zpopmax:z",
        "del:z",
        "zadd:y",
        "zunionstore:u",
        "zinterstore:u",
        "zdiffstore:u",
        "zrangestore:u",
    ];
    let mut events = Vec::new();
    for _ in 0..want.len() {
        let items = sub.read_value().await.strings();
        let event = items[2].rsplit(':').next().unwrap_or("").to_string();
        events.push(format!("{event}:{}", items[3]));
    }
    assert_eq!(events, want);
    // An empty result deletes the destination: `del`.
    c.cmd(&["ZINTERSTORE", "u", "2", "y", "nokey"]).await;
    let items = sub.read_value().await.strings();
    assert_eq!(
        (items[2].as_str(), items[3].as_str()),
        ("__keyevent@0__:del", "u")
    );
}

/// Corners found by differential runs against redis-server 7.0.
#[tokio::test]
async fn redis_quirks() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["ZADD", "z", "-1", "a", "0", "b", "1", "c"], b":3\r\n")
        .await;
    // `LIMIT n -1` is no LIMIT at all for Redis, so a rank range takes it.
    c.expect(
        &["ZRANGE", "z", "0", "-1", "LIMIT", "5", "-1"],
        bulks(&["a", "b", "c"]),
    )
    .await;
    // An empty range bound reads as 0 (strtod consumed everything there was).
    c.expect(&["ZCOUNT", "z", "", "+inf"], b":2\r\n").await;
    c.expect(&["ZRANGEBYSCORE", "z", "(", "1"], bulks(&["c"]))
        .await;
    c.expect(
        &["ZCOUNT", "z", " ", "1"],
        b"-ERR min or max is not a float\r\n",
    )
    .await;
    // ZINTER: a NaN product from a later input sums to 0.
    c.expect(&["ZADD", "i", "inf", "m"], b":1\r\n").await;
    c.expect(&["ZADD", "j", "-inf", "m", "1", "n"], b":2\r\n")
        .await;
    c.expect(
        &["ZINTER", "2", "i", "j", "WEIGHTS", "0", "1", "WITHSCORES"],
        bulks(&["m", "-inf"]),
    )
    .await;
    c.expect(
        &["ZINTER", "2", "i", "j", "WEIGHTS", "1", "0", "WITHSCORES"],
        bulks(&["m", "0"]),
    )
    .await;
    // -0: a listpack stores 0, a computed reply keeps the sign.
    c.expect(&["ZINCRBY", "nz", "-0", "m"], b"$2\r\n-0\r\n")
        .await;
    c.expect(&["ZSCORE", "nz", "m"], b"$1\r\n0\r\n").await;
    c.expect(
        &["ZUNION", "1", "nz", "WEIGHTS", "-1", "WITHSCORES"],
        bulks(&["m", "-0"]),
    )
    .await;
    // Lex ranges over mixed scores walk the set as a listpack does: from the
    // first member not below min, while not above max.
    c.expect(&["ZADD", "mix", "1", "b", "2", "a", "3", "c"], b":3\r\n")
        .await;
    c.expect(&["ZRANGEBYLEX", "mix", "[b", "+"], bulks(&["b", "a", "c"]))
        .await;
    c.expect(&["ZRANGEBYLEX", "mix", "-", "[b"], bulks(&["b", "a"]))
        .await;
    c.expect(&["ZREVRANGEBYLEX", "mix", "[b", "-"], bulks(&["a", "b"]))
        .await;
    c.expect(&["ZLEXCOUNT", "mix", "(a", "[c"], b":3\r\n").await;
    // Scores that overflow or underflow are refused; range bounds saturate.
    c.expect(
        &["ZADD", "z", "1e400", "x"],
        b"-ERR value is not a valid float\r\n",
    )
    .await;
    c.expect(
        &["ZADD", "z", "1e-400", "x"],
        b"-ERR value is not a valid float\r\n",
    )
    .await;
    c.expect(
        &["ZUNION", "1", "z", "WEIGHTS", "1e400"],
        b"-ERR weight value is not a float\r\n",
    )
    .await;
    c.expect(&["ZCOUNT", "z", "-1e400", "1e400"], b":3\r\n")
        .await;
    c.expect(&["ZINCRBY", "big", "1e308", "m"], b"$6\r\n1e+308\r\n")
        .await;
    c.expect(&["ZINCRBY", "big", "1e308", "m"], b"$3\r\ninf\r\n")
        .await;
}

/// A key with both list and sorted-set waiters serves the ones of its type.
#[tokio::test]
async fn waiters_of_another_type_are_passed_over() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut l = srv.raw().await;
    let mut z = srv.raw().await;
    l.send_cmd(&["BLPOP", "k", "0"]).await;
    srv.wait_for_blocked_clients(1).await;
    z.send_cmd(&["BZPOPMIN", "k", "0"]).await;
    srv.wait_for_blocked_clients(2).await;
    c.expect(&["ZADD", "k", "1", "m"], b":1\r\n").await;
    assert_eq!(z.read_frame().await, bulks(&["k", "m", "1"]));
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RPUSH", "k", "v"], b":1\r\n").await;
    assert_eq!(l.read_frame().await, bulks(&["k", "v"]));
}

/// RESP3 shapes of the replies that carry scores.
#[tokio::test]
async fn resp3_reply_shapes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.cmd(&["HELLO", "3"]).await;
    c.expect(&["ZADD", "z", "1", "a", "2", "b", "3", "c"], b":3\r\n")
        .await;
    c.expect(
        &["BZPOPMIN", "z", "0"],
        b"*3\r\n$1\r\nz\r\n$1\r\na\r\n,1\r\n",
    )
    .await;
    c.expect(
        &["BZMPOP", "0", "1", "z", "MAX"],
        b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,3\r\n",
    )
    .await;
    c.expect(
        &["ZRANDMEMBER", "z", "1", "WITHSCORES"],
        b"*1\r\n*2\r\n$1\r\nb\r\n,2\r\n",
    )
    .await;
    c.expect(&["ZRANDMEMBER", "z", "-2"], b"*2\r\n$1\r\nb\r\n$1\r\nb\r\n")
        .await;
    c.expect(
        &["ZUNION", "1", "z", "WITHSCORES"],
        b"*1\r\n*2\r\n$1\r\nb\r\n,2\r\n",
    )
    .await;
    c.expect(
        &["ZSCAN", "z", "0"],
        b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    )
    .await;
    c.expect(&["ZINCRBY", "z", "0.5", "b"], b",2.5\r\n").await;
    c.expect(&["ZADD", "z", "INCR", "1", "b"], b",3.5\r\n")
        .await;
    c.expect(&["ZADD", "z", "NX", "INCR", "1", "b"], b"_\r\n")
        .await;
    c.expect(&["ZRANK", "z", "nope"], b"_\r\n").await;
    c.expect(&["ZMPOP", "1", "nokey", "MIN"], b"_\r\n").await;
    c.expect(&["BZPOPMIN", "nokey", "0.01"], b"_\r\n").await;
}
