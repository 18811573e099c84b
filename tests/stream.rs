//! Streams and consumer groups (after Redis's `unit/type/stream.tcl` and
//! `unit/type/stream-cgroups.tcl`). Expected bytes were checked against
//! redis-server 7.0.15.

mod common;

use common::{Raw, Resp, TestServer};

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn ids(r: &Resp) -> Vec<String> {
    r.items()
        .iter()
        .map(|e| e.items()[0].as_str().to_string())
        .collect()
}

async fn add(c: &mut Raw, key: &str, id: &str) {
    let r = c.val(&["XADD", key, id, "f", "v"]).await;
    assert!(matches!(r, Resp::Bulk(_)), "XADD {key} {id}: {r:?}");
}

#[tokio::test]
async fn xadd_ids_and_errors() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["XADD", "s", "1-1", "a", "1"], b"$3\r\n1-1\r\n")
        .await;
    // `<ms>-*` continues the sequence of the same millisecond.
    c.expect(&["XADD", "s", "1-*", "a", "2"], b"$3\r\n1-2\r\n")
        .await;
    c.expect(&["XADD", "s", "5-*", "a", "3"], b"$3\r\n5-0\r\n")
        .await;
    c.expect(
        &["XADD", "s", "5", "a", "4"],
        b"-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n",
    )
    .await;
    c.expect(
        &["XADD", "s", "0-0", "a", "4"],
        b"-ERR The ID specified in XADD must be greater than 0-0\r\n",
    )
    .await;
    c.expect(
        &["XADD", "s", "abc", "a", "4"],
        b"-ERR Invalid stream ID specified as stream command argument\r\n",
    )
    .await;
    c.expect(
        &["XADD", "s", "*", "a"],
        b"-ERR wrong number of arguments for 'xadd' command\r\n",
    )
    .await;
    c.expect(
        &["XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "a", "b"],
        b"-ERR syntax error, MAXLEN and MINID options at the same time are not compatible\r\n",
    )
    .await;
    c.expect(
        &["XADD", "s", "MAXLEN", "-1", "*", "a", "b"],
        b"-ERR The MAXLEN argument must be >= 0.\r\n",
    )
    .await;
    c.expect(
        &["XADD", "s", "LIMIT", "10", "*", "a", "b"],
        b"-ERR syntax error, LIMIT cannot be used without specifying a trimming strategy\r\n",
    )
    .await;
    c.expect(
        &["XADD", "s", "MAXLEN", "5", "LIMIT", "10", "*", "a", "b"],
        b"-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n",
    )
    .await;
    // `*` IDs come from the clock and never go backwards.
    let id = c.val(&["XADD", "s", "*", "a", "5"]).await;
    assert!(id.as_str().ends_with("-0"));
    c.expect(&["XLEN", "s"], b":4\r\n").await;
    c.expect(&["XLEN", "missing"], b":0\r\n").await;
    c.expect(&["TYPE", "s"], b"+stream\r\n").await;
    c.expect(&["OBJECT", "ENCODING", "s"], b"$6\r\nstream\r\n")
        .await;
    // NOMKSTREAM does not create the key.
    c.expect(&["XADD", "nokey", "NOMKSTREAM", "*", "a", "b"], b"$-1\r\n")
        .await;
    c.expect(&["EXISTS", "nokey"], b":0\r\n").await;
    c.expect(&["SET", "str", "x"], b"+OK\r\n").await;
    c.expect(&["XADD", "str", "*", "a", "b"], WRONGTYPE).await;
    c.expect(&["XLEN", "str"], WRONGTYPE).await;
    // The last possible ID exhausts the stream.
    c.expect(
        &[
            "XADD",
            "top",
            "18446744073709551615-18446744073709551615",
            "a",
            "b",
        ],
        b"$41\r\n18446744073709551615-18446744073709551615\r\n",
    )
    .await;
    c.expect(
        &["XADD", "top", "*", "a", "b"],
        b"-ERR The stream has exhausted the last possible ID, unable to add more items\r\n",
    )
    .await;
}

#[tokio::test]
async fn xrange_xrevrange_count_and_exclusive() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for i in 1..=5 {
        add(&mut c, "s", &format!("{i}-0")).await;
    }
    c.expect(
        &["XRANGE", "s", "2", "3"],
        b"*2\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
    )
    .await;
    assert_eq!(
        ids(&c.val(&["XRANGE", "s", "-", "+", "COUNT", "2"]).await),
        ["1-0", "2-0"]
    );
    assert_eq!(
        ids(&c.val(&["XRANGE", "s", "(1-0", "(4-0"]).await),
        ["2-0", "3-0"]
    );
    assert_eq!(
        ids(&c.val(&["XREVRANGE", "s", "+", "-", "COUNT", "2"]).await),
        ["5-0", "4-0"]
    );
    assert_eq!(
        ids(&c.val(&["XREVRANGE", "s", "(5-0", "(2"]).await),
        ["4-0", "3-0"]
    );
    c.expect(&["XRANGE", "s", "-", "+", "COUNT", "0"], b"*-1\r\n")
        .await;
    c.expect(&["XRANGE", "missing", "-", "+"], b"*0\r\n").await;
    c.expect(
        &["XRANGE", "s", "(-", "+"],
        b"-ERR Invalid stream ID specified as stream command argument\r\n",
    )
    .await;
    c.expect(
        &[
            "XRANGE",
            "s",
            "(18446744073709551615-18446744073709551615",
            "+",
        ],
        b"-ERR invalid start ID for the interval\r\n",
    )
    .await;
    c.expect(
        &["XRANGE", "s", "-", "(0-0"],
        b"-ERR invalid end ID for the interval\r\n",
    )
    .await;
    c.expect(
        &["XRANGE", "s", "-", "+", "LIMIT", "1"],
        b"-ERR syntax error\r\n",
    )
    .await;
    // Field names that differ from the first entry's are kept per entry.
    c.expect(&["XADD", "s", "6-0", "x", "1", "y", "2"], b"$3\r\n6-0\r\n")
        .await;
    c.expect(
        &["XRANGE", "s", "6", "6"],
        b"*1\r\n*2\r\n$3\r\n6-0\r\n*4\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n",
    )
    .await;
}

#[tokio::test]
async fn xdel_xtrim_and_metadata() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for i in 1..=10 {
        add(&mut c, "s", &format!("{i}-0")).await;
    }
    c.expect(&["XDEL", "s", "1-0", "2-0", "99-0"], b":2\r\n")
        .await;
    c.expect(
        &["XDEL", "s", "bad"],
        b"-ERR Invalid stream ID specified as stream command argument\r\n",
    )
    .await;
    c.expect(&["XDEL", "missing", "1-0"], b":0\r\n").await;
    c.expect(&["XLEN", "s"], b":8\r\n").await;
    let info = c.val(&["XINFO", "STREAM", "s"]).await;
    assert_eq!(info.get("max-deleted-entry-id").unwrap().as_str(), "2-0");
    assert_eq!(info.get("entries-added").unwrap().as_int(), 10);
    assert_eq!(info.get("recorded-first-entry-id").unwrap().as_str(), "3-0");
    assert_eq!(info.get("last-generated-id").unwrap().as_str(), "10-0");
    c.expect(&["XTRIM", "s", "MAXLEN", "5"], b":3\r\n").await;
    c.expect(&["XTRIM", "s", "MINID", "8"], b":2\r\n").await;
    c.expect(&["XTRIM", "s", "MINID", "=", "8"], b":0\r\n")
        .await;
    c.expect(&["XLEN", "s"], b":3\r\n").await;
    c.expect(
        &["XTRIM", "s"],
        b"-ERR wrong number of arguments for 'xtrim' command\r\n",
    )
    .await;
    c.expect(&["XTRIM", "s", "FOO", "1"], b"-ERR syntax error\r\n")
        .await;
    c.expect(&["XTRIM", "missing", "MAXLEN", "1"], b":0\r\n")
        .await;
    // XADD with MAXLEN trims as it adds; `~` trims only whole nodes.
    c.expect(
        &["XADD", "s", "MAXLEN", "2", "11-0", "f", "v"],
        b"$4\r\n11-0\r\n",
    )
    .await;
    c.expect(&["XLEN", "s"], b":2\r\n").await;
    c.expect(&["XTRIM", "s", "MAXLEN", "~", "0"], b":2\r\n")
        .await;
    c.expect(&["XLEN", "s"], b":0\r\n").await;
    // An emptied stream stays, with its last ID.
    c.expect(
        &["XADD", "s", "11-0", "f", "v"],
        b"-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n",
    )
    .await;
    // XSETID.
    c.expect(&["XSETID", "s", "5-0"], b"+OK\r\n").await;
    c.expect(&["XADD", "s", "6-0", "f", "v"], b"$3\r\n6-0\r\n")
        .await;
    c.expect(
        &["XSETID", "s", "5-0"],
        b"-ERR The ID specified in XSETID is smaller than the target stream top item\r\n",
    )
    .await;
    c.expect(
        &["XSETID", "s", "7-0", "ENTRIESADDED", "0"],
        b"-ERR The entries_added specified in XSETID is smaller than the target stream length\r\n",
    )
    .await;
    c.expect(
        &["XSETID", "s", "7-0", "MAXDELETEDID", "8-0"],
        b"-ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id\r\n",
    )
    .await;
    c.expect(
        &[
            "XSETID",
            "s",
            "9-0",
            "ENTRIESADDED",
            "50",
            "MAXDELETEDID",
            "8-0",
        ],
        b"+OK\r\n",
    )
    .await;
    let info = c.val(&["XINFO", "STREAM", "s"]).await;
    assert_eq!(info.get("entries-added").unwrap().as_int(), 50);
    assert_eq!(info.get("max-deleted-entry-id").unwrap().as_str(), "8-0");
    c.expect(&["XSETID", "missing", "1-0"], b"-ERR no such key\r\n")
        .await;
}

#[tokio::test]
async fn xread_and_blocking_xread() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    add(&mut c, "a", "1-0").await;
    add(&mut c, "b", "2-0").await;
    let r = c
        .val(&["XREAD", "COUNT", "5", "STREAMS", "a", "b", "0", "0"])
        .await;
    assert_eq!(r.items().len(), 2);
    assert_eq!(r.items()[1].items()[0].as_str(), "b");
    c.expect(&["XREAD", "STREAMS", "a", "$"], b"*-1\r\n").await;
    c.expect(&["XREAD", "STREAMS", "a", "b", "0"], b"-ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.\r\n").await;
    c.expect(
        &["XREAD", "GROUP", "g", "c", "STREAMS", "a", "0"],
        b"-ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.\r\n",
    )
    .await;
    c.expect(&["XREAD", "STREAMS", "a", ">"], b"-ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.\r\n").await;
    c.expect(
        &["XREAD", "BLOCK", "-1", "STREAMS", "a", "0"],
        b"-ERR timeout is negative\r\n",
    )
    .await;
    // BLOCK with `$`: resolved when blocking, served by the next XADD.
    let mut w = srv.raw().await;
    w.send_cmd(&["XREAD", "BLOCK", "0", "STREAMS", "a", "b", "$", "$"])
        .await;
    srv.wait_for_blocked_clients(1).await;
    add(&mut c, "b", "3-0").await;
    let r = w.read_value().await;
    assert_eq!(r.items().len(), 1);
    assert_eq!(r.items()[0].items()[0].as_str(), "b");
    assert_eq!(ids(&r.items()[0].items()[1]), ["3-0"]);
    // A timeout answers a nil array.
    w.expect(&["XREAD", "BLOCK", "10", "STREAMS", "a", "$"], b"*-1\r\n")
        .await;
    // Deleting the key does not wake an XREAD; a later XADD does.
    w.send_cmd(&["XREAD", "BLOCK", "0", "STREAMS", "a", "$"])
        .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["DEL", "a"], b":1\r\n").await;
    add(&mut c, "a", "7-0").await;
    assert_eq!(ids(&w.read_value().await.items()[0].items()[1]), ["7-0"]);
    // RESP3: a map keyed by stream.
    w.val(&["HELLO", "3"]).await;
    let r = w.val(&["XREAD", "STREAMS", "a", "0"]).await;
    assert!(matches!(r, Resp::Map(_)), "{r:?}");
    // Inside MULTI, BLOCK never blocks.
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(
        &["XREAD", "BLOCK", "0", "STREAMS", "a", "$"],
        b"+QUEUED\r\n",
    )
    .await;
    c.expect(&["EXEC"], b"*1\r\n*-1\r\n").await;
}

#[tokio::test]
async fn consumer_groups_read_ack_pending() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["XGROUP", "CREATE", "s", "g", "$"], b"-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.\r\n").await;
    c.expect(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"], b"+OK\r\n")
        .await;
    c.expect(
        &["XGROUP", "CREATE", "s", "g", "$"],
        b"-BUSYGROUP Consumer Group name already exists\r\n",
    )
    .await;
    c.expect(
        &["XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "-5"],
        b"-ERR value for ENTRIESREAD must be positive or -1\r\n",
    )
    .await;
    for i in 1..=4 {
        add(&mut c, "s", &format!("{i}-0")).await;
    }
    let r = c
        .val(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "2",
            "STREAMS",
            "s",
            ">",
        ])
        .await;
    assert_eq!(ids(&r.items()[0].items()[1]), ["1-0", "2-0"]);
    let r = c
        .val(&["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"])
        .await;
    assert_eq!(ids(&r.items()[0].items()[1]), ["3-0", "4-0"]);
    c.expect(
        &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"],
        b"*-1\r\n",
    )
    .await;
    // History: the consumer's own pending entries.
    let r = c
        .val(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"])
        .await;
    assert_eq!(ids(&r.items()[0].items()[1]), ["1-0", "2-0"]);
    c.expect(
        &["XREADGROUP", "GROUP", "nogroup", "a", "STREAMS", "s", ">"],
        b"-NOGROUP No such key 's' or consumer group 'nogroup' in XREADGROUP with GROUP option\r\n",
    )
    .await;
    c.expect(&["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", "$"], b"-ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.\r\n").await;
    c.expect(
        &["XREADGROUP", "COUNT", "1", "NOACK", "STREAMS", "s", ">"],
        b"-ERR Missing GROUP option for XREADGROUP\r\n",
    )
    .await;
    // XPENDING summary and extended forms.
    let p = c.val(&["XPENDING", "s", "g"]).await;
    assert_eq!(p.items()[0].as_int(), 4);
    assert_eq!(p.items()[1].as_str(), "1-0");
    assert_eq!(p.items()[2].as_str(), "4-0");
    assert_eq!(p.items()[3].items().len(), 2);
    let p = c.val(&["XPENDING", "s", "g", "-", "+", "10", "bob"]).await;
    assert_eq!(ids(&p), ["3-0", "4-0"]);
    assert_eq!(p.items()[0].items()[3].as_int(), 1);
    let p = c
        .val(&["XPENDING", "s", "g", "IDLE", "0", "-", "+", "1"])
        .await;
    assert_eq!(ids(&p), ["1-0"]);
    c.expect(&["XPENDING", "s", "g", "-", "+"], b"-ERR syntax error\r\n")
        .await;
    c.expect(
        &["XPENDING", "s", "nope"],
        b"-NOGROUP No such key 's' or consumer group 'nope'\r\n",
    )
    .await;
    // XACK.
    c.expect(&["XACK", "s", "g", "1-0", "1-0", "9-0"], b":1\r\n")
        .await;
    c.expect(
        &["XACK", "s", "g", "bad"],
        b"-ERR Invalid stream ID specified as stream command argument\r\n",
    )
    .await;
    c.expect(&["XACK", "s", "nope", "2-0"], b":0\r\n").await;
    // NOACK reads do not enter the PEL.
    add(&mut c, "s", "5-0").await;
    let r = c
        .val(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "carol",
            "NOACK",
            "STREAMS",
            "s",
            ">",
        ])
        .await;
    assert_eq!(ids(&r.items()[0].items()[1]), ["5-0"]);
    assert_eq!(c.val(&["XPENDING", "s", "g"]).await.items()[0].as_int(), 3);
    // Groups and consumers through XINFO.
    let groups = c.val(&["XINFO", "GROUPS", "s"]).await;
    let g = &groups.items()[0];
    assert_eq!(g.get("consumers").unwrap().as_int(), 3);
    assert_eq!(g.get("pending").unwrap().as_int(), 3);
    assert_eq!(g.get("last-delivered-id").unwrap().as_str(), "5-0");
    assert_eq!(g.get("entries-read").unwrap().as_int(), 5);
    assert_eq!(g.get("lag").unwrap().as_int(), 0);
    let consumers = c.val(&["XINFO", "CONSUMERS", "s", "g"]).await;
    assert_eq!(consumers.items().len(), 3);
    assert_eq!(consumers.items()[0].get("name").unwrap().as_str(), "alice");
    assert_eq!(consumers.items()[0].get("pending").unwrap().as_int(), 1);
    c.expect(
        &["XINFO", "CONSUMERS", "s", "nope"],
        b"-NOGROUP No such consumer group 'nope' for key name 's'\r\n",
    )
    .await;
    let full = c.val(&["XINFO", "STREAM", "s", "FULL", "COUNT", "2"]).await;
    assert_eq!(full.get("entries").unwrap().items().len(), 2);
    let fgroups = full.get("groups").unwrap();
    let fg = &fgroups.items()[0];
    assert_eq!(fg.get("pel-count").unwrap().as_int(), 3);
    assert_eq!(fg.get("pending").unwrap().items().len(), 2);
    c.expect(
        &["XINFO", "STREAM", "s", "FOO"],
        b"-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.\r\n",
    )
    .await;
    c.expect(&["XINFO", "STREAM", "missing"], b"-ERR no such key\r\n")
        .await;
    let help = c.val(&["XINFO", "HELP"]).await;
    assert!(help.items()[0].as_str().starts_with("XINFO <subcommand>"));
}

#[tokio::test]
async fn xgroup_subcommands() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    add(&mut c, "s", "1-0").await;
    add(&mut c, "s", "2-0").await;
    c.expect(&["XGROUP", "CREATE", "s", "g", "0"], b"+OK\r\n")
        .await;
    c.expect(&["XGROUP", "CREATECONSUMER", "s", "g", "c1"], b":1\r\n")
        .await;
    c.expect(&["XGROUP", "CREATECONSUMER", "s", "g", "c1"], b":0\r\n")
        .await;
    c.expect(
        &["XGROUP", "CREATECONSUMER", "s", "nope", "c1"],
        b"-NOGROUP No such consumer group 'nope' for key name 's'\r\n",
    )
    .await;
    c.val(&["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"])
        .await;
    c.expect(&["XGROUP", "DELCONSUMER", "s", "g", "c1"], b":2\r\n")
        .await;
    c.expect(&["XGROUP", "DELCONSUMER", "s", "g", "c1"], b":0\r\n")
        .await;
    assert_eq!(c.val(&["XPENDING", "s", "g"]).await.items()[0].as_int(), 0);
    c.expect(&["XGROUP", "SETID", "s", "g", "0"], b"+OK\r\n")
        .await;
    let r = c
        .val(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "c2",
            "COUNT",
            "1",
            "STREAMS",
            "s",
            ">",
        ])
        .await;
    assert_eq!(ids(&r.items()[0].items()[1]), ["1-0"]);
    c.expect(
        &["XGROUP", "SETID", "s", "g", "$", "ENTRIESREAD", "2"],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["XGROUP", "SETID", "s", "nope", "$"],
        b"-NOGROUP No such consumer group 'nope' for key name 's'\r\n",
    )
    .await;
    c.expect(&["XGROUP", "DESTROY", "s", "g"], b":1\r\n").await;
    c.expect(&["XGROUP", "DESTROY", "s", "g"], b":0\r\n").await;
    c.expect(
        &["XGROUP", "FOO", "s", "g"],
        b"-ERR unknown subcommand 'FOO'. Try XGROUP HELP.\r\n",
    )
    .await;
    let help = c.val(&["XGROUP", "HELP"]).await;
    assert!(help.items()[0].as_str().starts_with("XGROUP <subcommand>"));
    c.expect(&["SET", "str", "x"], b"+OK\r\n").await;
    c.expect(&["XGROUP", "CREATE", "str", "g", "$"], WRONGTYPE)
        .await;
}

#[tokio::test]
async fn xclaim_and_xautoclaim() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"], b"+OK\r\n")
        .await;
    for i in 1..=3 {
        add(&mut c, "s", &format!("{i}-0")).await;
    }
    c.val(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"])
        .await;
    // Claim with IDLE 0: bob takes 1-0; the delivery count grows.
    let r = c.val(&["XCLAIM", "s", "g", "bob", "0", "1-0"]).await;
    assert_eq!(ids(&r), ["1-0"]);
    let p = c.val(&["XPENDING", "s", "g", "-", "+", "10", "bob"]).await;
    assert_eq!(p.items()[0].items()[3].as_int(), 2);
    // JUSTID returns IDs and leaves the count; RETRYCOUNT sets it.
    c.expect(
        &[
            "XCLAIM",
            "s",
            "g",
            "bob",
            "0",
            "2-0",
            "JUSTID",
            "RETRYCOUNT",
            "7",
        ],
        b"*1\r\n$3\r\n2-0\r\n",
    )
    .await;
    let p = c.val(&["XPENDING", "s", "g", "2-0", "2-0", "1"]).await;
    assert_eq!(p.items()[0].items()[1].as_str(), "bob");
    assert_eq!(p.items()[0].items()[3].as_int(), 7);
    // A high min-idle-time claims nothing.
    c.expect(&["XCLAIM", "s", "g", "carol", "3600000", "3-0"], b"*0\r\n")
        .await;
    // FORCE claims an entry no one had pending; LASTID moves the group.
    add(&mut c, "s", "4-0").await;
    c.expect(
        &[
            "XCLAIM", "s", "g", "carol", "0", "4-0", "FORCE", "JUSTID", "LASTID", "4-0",
        ],
        b"*1\r\n$3\r\n4-0\r\n",
    )
    .await;
    c.expect(
        &["XCLAIM", "s", "g", "carol", "0", "4-0", "BOGUS"],
        b"-ERR Unrecognized XCLAIM option 'BOGUS'\r\n",
    )
    .await;
    c.expect(
        &["XCLAIM", "s", "g", "carol", "x", "4-0"],
        b"-ERR Invalid min-idle-time argument for XCLAIM\r\n",
    )
    .await;
    c.expect(
        &["XCLAIM", "s", "nope", "carol", "0", "4-0"],
        b"-NOGROUP No such key 's' or consumer group 'nope'\r\n",
    )
    .await;
    // A deleted entry is dropped from the PEL by XCLAIM.
    c.expect(&["XDEL", "s", "3-0"], b":1\r\n").await;
    c.expect(&["XCLAIM", "s", "g", "bob", "0", "3-0"], b"*0\r\n")
        .await;
    // XAUTOCLAIM: claims from the start ID, reports the next cursor and the
    // entries deleted meanwhile (7.0's third element).
    add(&mut c, "s", "5-0").await;
    c.val(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"])
        .await;
    c.expect(&["XDEL", "s", "5-0"], b":1\r\n").await;
    let r = c
        .val(&["XAUTOCLAIM", "s", "g", "dave", "0", "0", "COUNT", "1"])
        .await;
    assert_eq!(r.items()[0].as_str(), "2-0");
    assert_eq!(ids(&r.items()[1]), ["1-0"]);
    let r = c
        .val(&["XAUTOCLAIM", "s", "g", "dave", "0", "2-0", "JUSTID"])
        .await;
    assert_eq!(r.items()[0].as_str(), "0-0");
    assert_eq!(r.items()[1].strings(), ["2-0", "4-0"]);
    assert_eq!(r.items()[2].strings(), ["5-0"]);
    c.expect(
        &["XAUTOCLAIM", "s", "g", "dave", "0", "0", "COUNT", "0"],
        b"-ERR COUNT must be > 0\r\n",
    )
    .await;
    c.expect(
        &["XAUTOCLAIM", "s", "nope", "dave", "0", "0"],
        b"-NOGROUP No such key 's' or consumer group 'nope'\r\n",
    )
    .await;
}

#[tokio::test]
async fn blocking_xreadgroup_served_and_errors() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"], b"+OK\r\n")
        .await;
    c.expect(&["CONFIG", "RESETSTAT"], b"+OK\r\n").await;
    let mut w1 = srv.raw().await;
    let mut w2 = srv.raw().await;
    w1.send_cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c1",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ])
    .await;
    srv.wait_for_blocked_clients(1).await;
    w2.send_cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c2",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ])
    .await;
    srv.wait_for_blocked_clients(2).await;
    // One entry: the first waiter gets it, the second keeps waiting.
    add(&mut c, "s", "1-0").await;
    assert_eq!(ids(&w1.read_value().await.items()[0].items()[1]), ["1-0"]);
    srv.wait_for_blocked_clients(1).await;
    add(&mut c, "s", "2-0").await;
    assert_eq!(ids(&w2.read_value().await.items()[0].items()[1]), ["2-0"]);
    // Destroying the group ends the block with NOGROUP.
    w1.send_cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c1",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ])
    .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["XGROUP", "DESTROY", "s", "g"], b":1\r\n").await;
    let r = w1.read_frame().await;
    assert_eq!(
        r,
        b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n"
    );
    // The failed blocked command is counted as Redis counts it (once called, once failed).
    let stats = c.val(&["INFO", "errorstats"]).await;
    assert!(
        stats.as_str().contains("errorstat_NOGROUP:count=1\r\n"),
        "{stats:?}"
    );
    let stats = c.val(&["INFO", "commandstats"]).await;
    let line = stats
        .as_str()
        .lines()
        .find(|l| l.starts_with("cmdstat_xreadgroup:"))
        .expect("xreadgroup stats")
        .to_string();
    assert!(line.starts_with("cmdstat_xreadgroup:calls=3,"), "{line}");
    assert!(line.ends_with("rejected_calls=0,failed_calls=1"), "{line}");
    // Deleting the key ends it with UNBLOCKED.
    c.expect(&["XGROUP", "CREATE", "s", "g", "$"], b"+OK\r\n")
        .await;
    w1.send_cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c1",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ])
    .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["DEL", "s"], b":1\r\n").await;
    assert_eq!(
        w1.read_frame().await,
        b"-UNBLOCKED the stream key no longer exists\r\n"
    );
    // A timeout answers a nil array.
    c.expect(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"], b"+OK\r\n")
        .await;
    w1.expect(
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c1",
            "BLOCK",
            "10",
            "STREAMS",
            "s",
            ">",
        ],
        b"*-1\r\n",
    )
    .await;
}

#[tokio::test]
async fn keyspace_events_for_streams() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut sub = srv.event_subscriber("KEA", "__keyevent@0__:*").await;
    add(&mut c, "s", "1-0").await;
    c.expect(&["XGROUP", "CREATE", "s", "g", "0"], b"+OK\r\n")
        .await;
    c.val(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"])
        .await;
    c.expect(&["XDEL", "s", "1-0"], b":1\r\n").await;
    c.expect(&["XSETID", "s", "5-0"], b"+OK\r\n").await;
    let mut events = Vec::new();
    // `A` does not include `n`: no "new" event.
    for _ in 0..5 {
        let m = sub.read_value().await;
        events.push(m.items()[2].as_str().to_string());
    }
    assert_eq!(
        events,
        [
            "__keyevent@0__:xadd",
            "__keyevent@0__:xgroup-create",
            "__keyevent@0__:xgroup-createconsumer",
            "__keyevent@0__:xdel",
            "__keyevent@0__:xsetid",
        ]
    );
}

#[tokio::test]
async fn copy_rename_dump_restore_keep_groups() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    add(&mut c, "s", "1-0").await;
    add(&mut c, "s", "2-0").await;
    c.expect(&["XGROUP", "CREATE", "s", "g", "0"], b"+OK\r\n")
        .await;
    c.val(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "COUNT",
        "1",
        "STREAMS",
        "s",
        ">",
    ])
    .await;
    c.expect(&["COPY", "s", "s2"], b":1\r\n").await;
    // The copy is independent.
    c.expect(&["XADD", "s2", "3-0", "f", "v"], b"$3\r\n3-0\r\n")
        .await;
    c.expect(&["XLEN", "s"], b":2\r\n").await;
    assert_eq!(c.val(&["XPENDING", "s2", "g"]).await.items()[0].as_int(), 1);
    let dump = c.val(&["DUMP", "s"]).await;
    let Resp::Bulk(payload) = dump else {
        panic!("{dump:?}")
    };
    let mut restore = encode_restore("s3", &payload);
    c.send(std::mem::take(&mut restore)).await;
    assert_eq!(c.read_frame().await, b"+OK\r\n");
    assert_eq!(
        ids(&c.val(&["XRANGE", "s3", "-", "+"]).await),
        ["1-0", "2-0"]
    );
    let g = c.val(&["XINFO", "GROUPS", "s3"]).await;
    assert_eq!(
        g.items()[0].get("last-delivered-id").unwrap().as_str(),
        "1-0"
    );
    assert_eq!(g.items()[0].get("pending").unwrap().as_int(), 1);
    c.expect(&["RENAME", "s3", "s4"], b"+OK\r\n").await;
    c.expect(&["TYPE", "s4"], b"+stream\r\n").await;
}

fn encode_restore(key: &str, payload: &[u8]) -> Vec<u8> {
    let args: Vec<&[u8]> = vec![b"RESTORE", key.as_bytes(), b"0", payload];
    common::encode(&args)
}

#[tokio::test]
async fn many_entries_across_nodes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for i in 1..=450u64 {
        let v = i.to_string();
        let r = c.val(&["XADD", "s", &format!("{i}-1"), "f", &v]).await;
        assert_eq!(r.as_str(), format!("{i}-1"));
    }
    let info = c.val(&["XINFO", "STREAM", "s"]).await;
    assert_eq!(info.get("length").unwrap().as_int(), 450);
    // 100 entries per node by default.
    assert_eq!(info.get("radix-tree-keys").unwrap().as_int(), 5);
    let r = c.val(&["XRANGE", "s", "99", "102"]).await;
    assert_eq!(ids(&r), ["99-1", "100-1", "101-1", "102-1"]);
    let r = c.val(&["XREVRANGE", "s", "+", "-", "COUNT", "3"]).await;
    assert_eq!(ids(&r), ["450-1", "449-1", "448-1"]);
    c.expect(&["XTRIM", "s", "MAXLEN", "~", "220"], b":200\r\n")
        .await;
    c.expect(
        &["XTRIM", "s", "MAXLEN", "~", "100", "LIMIT", "50"],
        b":0\r\n",
    )
    .await;
    c.expect(&["XTRIM", "s", "MINID", "300"], b":99\r\n").await;
    c.expect(&["XLEN", "s"], b":151\r\n").await;
}

#[tokio::test]
async fn blocked_readers_and_whole_database_changes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    // Entries added and deleted before the reader is served: Redis still
    // answers with the stream, and an empty entry list.
    add(&mut c, "s", "5-0").await;
    let mut w = srv.raw().await;
    w.send_cmd(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"])
        .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["XADD", "s", "6-0", "f", "v"], b"+QUEUED\r\n")
        .await;
    c.expect(&["XDEL", "s", "6-0"], b"+QUEUED\r\n").await;
    c.expect(&["EXEC"], b"*2\r\n$3\r\n6-0\r\n:1\r\n").await;
    assert_eq!(w.read_frame().await, b"*1\r\n*2\r\n$1\r\ns\r\n*0\r\n");
    // COUNT caps what a served reader gets.
    w.send_cmd(&["XREAD", "COUNT", "2", "BLOCK", "0", "STREAMS", "s", "$"])
        .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    for id in ["7-0", "8-0", "9-0"] {
        c.expect(&["XADD", "s", id, "f", "v"], b"+QUEUED\r\n").await;
    }
    c.val(&["EXEC"]).await;
    assert_eq!(
        ids(&w.read_value().await.items()[0].items()[1]),
        ["7-0", "8-0"]
    );
    // The same for a group reader: served, with no entries.
    c.expect(&["XGROUP", "CREATE", "s", "g", "$"], b"+OK\r\n")
        .await;
    w.send_cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ])
    .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["XADD", "s", "10-0", "f", "v"], b"+QUEUED\r\n")
        .await;
    c.expect(&["XDEL", "s", "10-0"], b"+QUEUED\r\n").await;
    c.val(&["EXEC"]).await;
    assert_eq!(w.read_frame().await, b"*1\r\n*2\r\n$1\r\ns\r\n*0\r\n");
    // FLUSHALL ends a blocked XREADGROUP.
    w.send_cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ])
    .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["FLUSHALL"], b"+OK\r\n").await;
    assert_eq!(
        w.read_frame().await,
        b"-UNBLOCKED the stream key no longer exists\r\n"
    );
    // Overwriting the key with another type too.
    c.expect(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"], b"+OK\r\n")
        .await;
    w.send_cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ])
    .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["SET", "s", "x"], b"+OK\r\n").await;
    assert_eq!(
        w.read_frame().await,
        b"-UNBLOCKED the stream key no longer exists\r\n"
    );
    // RENAME onto the waited key serves the waiter from the moved stream.
    c.expect(&["DEL", "s"], b":1\r\n").await;
    c.expect(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"], b"+OK\r\n")
        .await;
    add(&mut c, "t", "1-0").await;
    c.expect(&["XGROUP", "CREATE", "t", "g", "0"], b"+OK\r\n")
        .await;
    w.send_cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ])
    .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RENAME", "t", "s"], b"+OK\r\n").await;
    assert_eq!(ids(&w.read_value().await.items()[0].items()[1]), ["1-0"]);
    // A stream with no such group: NOGROUP.
    add(&mut c, "u", "1-0").await;
    w.send_cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ])
    .await;
    srv.wait_for_blocked_clients(1).await;
    c.expect(&["RENAME", "u", "s"], b"+OK\r\n").await;
    assert_eq!(
        w.read_frame().await,
        b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n"
    );
}

#[tokio::test]
async fn expired_stream_ends_blocked_xreadgroup() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"], b"+OK\r\n")
        .await;
    let mut w = srv.raw().await;
    w.send_cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ])
    .await;
    srv.wait_for_blocked_clients(1).await;
    // Nobody touches the key: active expiry removes it and wakes the reader.
    c.expect(&["PEXPIRE", "s", "1"], b":1\r\n").await;
    assert_eq!(
        w.read_frame().await,
        b"-UNBLOCKED the stream key no longer exists\r\n"
    );
}

#[tokio::test]
async fn node_size_follows_config() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(
        &["CONFIG", "SET", "stream-node-max-entries", "10"],
        b"+OK\r\n",
    )
    .await;
    for i in 1..=25 {
        add(&mut c, "s", &format!("{i}-0")).await;
    }
    let info = c.val(&["XINFO", "STREAM", "s"]).await;
    assert_eq!(info.get("radix-tree-keys").unwrap().as_int(), 3);
    // `~` trims whole nodes only.
    c.expect(&["XTRIM", "s", "MAXLEN", "~", "12"], b":10\r\n")
        .await;
    c.expect(
        &["CONFIG", "SET", "stream-node-max-entries", "0"],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "SET", "stream-node-max-bytes", "1kb"],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "GET", "stream-node-max-bytes"],
        b"*2\r\n$21\r\nstream-node-max-bytes\r\n$4\r\n1024\r\n",
    )
    .await;
    let big = "x".repeat(600);
    for i in 1..=4 {
        c.val(&["XADD", "t", &format!("{i}-0"), "f", &big]).await;
    }
    // A 600-byte entry would bring a node to the 1 KB limit: one node each.
    let info = c.val(&["XINFO", "STREAM", "t"]).await;
    assert_eq!(info.get("radix-tree-keys").unwrap().as_int(), 4);
    // Back to the defaults (an external server outlives the test).
    c.expect(
        &["CONFIG", "SET", "stream-node-max-entries", "100"],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "SET", "stream-node-max-bytes", "4096"],
        b"+OK\r\n",
    )
    .await;
}

/// A stream DUMPed by Redis 5 (from Redis's `Loading from legacy … persistence`
/// test), in hex: XADD 1..6, XDEL 3, groups g1 and g2, XREADGROUP g1 COUNT 4,
/// XTRIM MAXLEN 2. RESTORE takes Redis's own stream payloads.
const REDIS5_STREAM_DUMP: &[&str] = &[
    "0f011000000000000000010000000000000000c3404a40571657000000230002010401010184646174610500",
    "0103010020010381610204200a0001400a0062600a0002400a0063600a4022018164200a4039200a0065600a",
    "0005400a0066200a00ff02060002026731050004000000000000000100000000000000003ef783437a010000",
    "01000000000000000200000000000000003ef783437a01000001000000000000000400000000000000003ef7",
    "83437a01000001000000000000000500000000000000003ef783437a0100000101036331313ef783437a0100",
    "0004000000000000000100000000000000000000000000000002000000000000000000000000000000040000",
    "000000000000000000000000000500000000000000000267320000000009003d52ef6867521dfa",
];

#[tokio::test]
async fn restore_accepts_redis_stream_payloads() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let hex: String = REDIS5_STREAM_DUMP.concat();
    let payload: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex byte"))
        .collect();
    c.send(encode_restore("x", &payload)).await;
    assert_eq!(c.read_frame().await, b"+OK\r\n");
    let full = c.val(&["XINFO", "STREAM", "x", "FULL"]).await;
    assert_eq!(full.get("length").unwrap().as_int(), 2);
    assert_eq!(full.get("max-deleted-entry-id").unwrap().as_str(), "0-0");
    assert_eq!(full.get("entries-added").unwrap().as_int(), 2);
    let groups = full.get("groups").unwrap();
    let g1 = &groups.items()[0];
    assert_eq!(g1.get("entries-read").unwrap().as_int(), 1);
    assert_eq!(g1.get("lag").unwrap().as_int(), 1);
    assert_eq!(g1.get("pel-count").unwrap().as_int(), 4);
    let g2 = &groups.items()[1];
    assert_eq!(g2.get("entries-read").unwrap().as_int(), 0);
    assert_eq!(g2.get("lag").unwrap().as_int(), 2);
    assert_eq!(
        ids(&c.val(&["XRANGE", "x", "-", "+"]).await),
        ["5-0", "6-0"]
    );
    // A corrupted byte fails the checksum.
    let mut bad = payload.clone();
    bad[5] ^= 1;
    c.send(encode_restore("y", &bad)).await;
    assert_eq!(
        c.read_frame().await,
        b"-ERR DUMP payload version or checksum are wrong\r\n"
    );
}

#[tokio::test]
async fn read_commands_count_keyspace_hits_as_redis() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    add(&mut c, "s", "1-0").await;
    c.expect(&["XGROUP", "CREATE", "s", "g", "0"], b"+OK\r\n")
        .await;
    c.expect(&["CONFIG", "RESETSTAT"], b"+OK\r\n").await;
    c.val(&["XRANGE", "s", "-", "+"]).await;
    c.val(&["XLEN", "missing"]).await;
    // XREAD looks each key up twice (validation, then the read).
    c.val(&["XREAD", "STREAMS", "s", "missing", "0", "0"]).await;
    c.val(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"])
        .await;
    c.val(&["XPENDING", "s", "g"]).await;
    c.val(&["XACK", "s", "g", "1-0"]).await;
    c.val(&["XINFO", "STREAM", "s"]).await;
    // Writes are not counted.
    add(&mut c, "s", "2-0").await;
    c.expect(&["XDEL", "s", "9-0"], b":0\r\n").await;
    assert_eq!(
        common::info_field(&mut c, "stats", "keyspace_hits").await,
        8
    );
    assert_eq!(
        common::info_field(&mut c, "stats", "keyspace_misses").await,
        3
    );
}
