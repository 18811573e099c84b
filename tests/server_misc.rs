//! MONITOR, SORT_RO, BGREWRITEAOF, bit commands and LCS: exact replies, checked
//! against redis-server 7.0.15.

mod common;

use common::TestServer;

#[tokio::test]
async fn monitor_streams_executed_commands_in_order() {
    let server = TestServer::start().await;
    let mut mon = server.raw().await;
    mon.expect(&["MONITOR"], "+OK\r\n").await;
    let mut c = server.raw().await;
    c.expect(&["SET", "foo", "bar"], "+OK\r\n").await;
    c.expect(&["MULTI"], "+OK\r\n").await;
    c.expect(&["GET", "foo"], "+QUEUED\r\n").await;
    c.expect(&["EXEC"], "*1\r\n$3\r\nbar\r\n").await;
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(String::from_utf8_lossy(&mon.read_frame().await).into_owned());
    }
    // Arguments are shown as the client sent them.
    assert!(
        got[0].starts_with('+') && got[0].ends_with("\"SET\" \"foo\" \"bar\"\r\n"),
        "{:?}",
        got[0]
    );
    assert!(got[0].contains(" [0 127.0.0.1:"), "{:?}", got[0]);
    assert!(got[1].ends_with("\"MULTI\"\r\n"), "{:?}", got[1]);
    assert!(got[2].ends_with("\"GET\" \"foo\"\r\n"), "{:?}", got[2]);
    assert!(got[3].ends_with("\"EXEC\"\r\n"), "{:?}", got[3]);
}

#[tokio::test]
async fn sort_ro_sorts_without_storing() {
    let server = TestServer::start().await;
    let mut c = server.raw().await;
    c.expect(&["RPUSH", "l", "3", "1", "2"], ":3\r\n").await;
    c.expect(&["SORT_RO", "l"], "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n")
        .await;
    c.expect(
        &["SORT_RO", "l", "DESC", "LIMIT", "0", "2"],
        "*2\r\n$1\r\n3\r\n$1\r\n2\r\n",
    )
    .await;
    c.expect(&["SORT_RO", "l", "STORE", "x"], "-ERR syntax error\r\n")
        .await;
}

#[tokio::test]
async fn setbit_getbit() {
    let server = TestServer::start().await;
    let mut c = server.raw().await;
    c.expect(&["SETBIT", "b", "7", "1"], ":0\r\n").await;
    c.expect(&["SETBIT", "b", "7", "1"], ":1\r\n").await;
    c.expect(&["GET", "b"], "$1\r\n\x01\r\n").await;
    c.expect(&["GETBIT", "b", "7"], ":1\r\n").await;
    c.expect(&["GETBIT", "b", "100"], ":0\r\n").await;
    c.expect(&["GETBIT", "nokey", "0"], ":0\r\n").await;
    c.expect(
        &["SETBIT", "b", "-1", "1"],
        "-ERR bit offset is not an integer or out of range\r\n",
    )
    .await;
    c.expect(
        &["SETBIT", "b", "0", "2"],
        "-ERR bit is not an integer or out of range\r\n",
    )
    .await;
    c.expect(&["RPUSH", "l", "a"], ":1\r\n").await;
    c.expect(
        &["GETBIT", "l", "0"],
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
}

#[tokio::test]
async fn lcs_forms() {
    let server = TestServer::start().await;
    let mut c = server.raw().await;
    c.expect(&["MSET", "a", "ohmytext", "b", "mynewtext"], "+OK\r\n")
        .await;
    c.expect(&["LCS", "a", "b"], "$6\r\nmytext\r\n").await;
    c.expect(&["LCS", "a", "b", "LEN"], ":6\r\n").await;
    c.expect(
        &["LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    c.expect(
        &["LCS", "a", "b", "LEN", "IDX"],
        "-ERR If you want both the length and indexes, please just use IDX.\r\n",
    )
    .await;
}

#[tokio::test]
async fn dump_restore_roundtrip_and_errors() {
    let server = TestServer::start().await;
    if server.is_external() {
        // Payload formats differ from Redis's RDB encoding by design.
        return;
    }
    let mut c = server.raw().await;
    c.expect(&["RPUSH", "l", "a", "bb", "ccc"], ":3\r\n").await;
    let payload = match c.val(&["DUMP", "l"]).await {
        common::Resp::Bulk(b) => b,
        other => panic!("DUMP: {other:?}"),
    };
    c.expect(&["DUMP", "nokey"], "$-1\r\n").await;
    c.expect(&[&b"RESTORE"[..], b"l2", b"0", &payload], "+OK\r\n")
        .await;
    c.expect(
        &["LRANGE", "l2", "0", "-1"],
        "*3\r\n$1\r\na\r\n$2\r\nbb\r\n$3\r\nccc\r\n",
    )
    .await;
    c.expect(
        &[&b"RESTORE"[..], b"l2", b"0", &payload],
        "-BUSYKEY Target key name already exists.\r\n",
    )
    .await;
    c.expect(
        &[&b"RESTORE"[..], b"l2", b"0", &payload, b"REPLACE"],
        "+OK\r\n",
    )
    .await;
    c.expect(
        &[&b"RESTORE"[..], b"l3", b"-1", &payload],
        "-ERR Invalid TTL value, must be >= 0\r\n",
    )
    .await;
    c.expect(
        &["RESTORE", "l4", "0", "garbage-payload"],
        "-ERR DUMP payload version or checksum are wrong\r\n",
    )
    .await;
    c.expect(&[&b"RESTORE"[..], b"l5", b"100000", &payload], "+OK\r\n")
        .await;
    let ttl = c.val(&["PTTL", "l5"]).await;
    assert!(
        matches!(ttl, common::Resp::Int(n) if n > 0 && n <= 100000),
        "{ttl:?}"
    );
}

/// Without cluster support every CLUSTER subcommand answers as Redis's
/// `cluster-enabled no` does (arity still checked first).
#[tokio::test]
async fn cluster_subcommands_answer_that_cluster_support_is_disabled() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    for line in [
        "CLUSTER ADDSLOTS",
        "CLUSTER ADDSLOTSRANGE",
        "CLUSTER BUMPEPOCH",
        "CLUSTER COUNT-FAILURE-REPORTS",
        "CLUSTER COUNTKEYSINSLOT",
        "CLUSTER DELSLOTS",
        "CLUSTER DELSLOTSRANGE",
        "CLUSTER FAILOVER",
        "CLUSTER FLUSHSLOTS",
        "CLUSTER FORGET",
        "CLUSTER GETKEYSINSLOT",
        "CLUSTER HELP",
        "CLUSTER INFO",
        "CLUSTER KEYSLOT",
        "CLUSTER LINKS",
        "CLUSTER MEET",
        "CLUSTER MYID",
        "CLUSTER NODES",
        "CLUSTER REPLICAS",
        "CLUSTER REPLICATE",
        "CLUSTER RESET",
        "CLUSTER SAVECONFIG",
        "CLUSTER SET-CONFIG-EPOCH",
        "CLUSTER SETSLOT",
        "CLUSTER SHARDS",
        "CLUSTER SLAVES",
        "CLUSTER SLOTS",
    ] {
        // Enough arguments for every subcommand's arity.
        c.send(format!("{line} a b c d\r\n")).await;
        let e = c.read_value().await;
        assert!(
            e.as_str() == "ERR This instance has cluster support disabled"
                || e.as_str().starts_with("ERR wrong number of arguments"),
            "{line}: {e:?}"
        );
    }
    c.send("CLUSTER INFO\r\n").await;
    assert_eq!(
        c.read_value().await.as_str(),
        "ERR This instance has cluster support disabled"
    );
    // Refused inside scripts, as in Redis (noscript).
    let e = c
        .val(&["EVAL", "return redis.call('cluster', 'reset', 'hard')", "0"])
        .await;
    assert!(
        e.as_str()
            .contains("This Redis command is not allowed from script"),
        "{e:?}"
    );
}

/// What a Redis 7.0 without modules, cluster or jemalloc answers: MODULE
/// gated by enable-module-command, READONLY / READWRITE refused, LOLWUT's
/// version line, MEMORY STATS / DOCTOR / MALLOC-STATS / PURGE.
#[tokio::test]
async fn modules_cluster_switches_lolwut_and_memory_reports() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    for line in [
        "MODULE LIST",
        "MODULE LOAD /x.so",
        "MODULE LOADEX /x.so",
        "MODULE UNLOAD m",
        "MODULE HELP",
    ] {
        c.send(format!("{line}\r\n")).await;
        let e = c.read_value().await;
        assert!(
            e.as_str().starts_with("ERR MODULE command not allowed"),
            "{line}: {e:?}"
        );
    }
    for line in ["READONLY", "READWRITE"] {
        c.send(format!("{line}\r\n")).await;
        assert_eq!(
            c.read_value().await.as_str(),
            "ERR This instance has cluster support disabled"
        );
    }
    c.send("LOLWUT\r\n").await;
    assert_eq!(c.read_value().await.as_str(), "Redis ver. 7.0.15\n");
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    c.send("MEMORY STATS\r\n").await;
    let stats = c.read_value().await;
    assert_eq!(stats.get("keys.count"), Some(common::Resp::Int(1)));
    c.send("MEMORY DOCTOR\r\n").await;
    assert!(c.read_value().await.as_str().starts_with("Hi Sam"));
    c.send("MEMORY MALLOC-STATS\r\n").await;
    assert_eq!(
        c.read_value().await.as_str(),
        "Stats not supported for the current allocator"
    );
    c.send("MEMORY PURGE\r\n").await;
    assert_eq!(c.read_value().await.as_str(), "OK");
}

/// DEBUG POPULATE count [prefix] [size], as client libraries' own test
/// suites use it: `prefix:N` = `value:N`, existing keys left alone.
#[tokio::test]
async fn debug_populate_fills_the_database() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(&["SET", "key:3", "mine"], b"+OK\r\n").await;
    c.send("DEBUG POPULATE 10\r\n").await;
    assert_eq!(c.read_frame().await, b"+OK\r\n");
    c.expect(&["DBSIZE"], b":10\r\n").await;
    c.expect(&["GET", "key:3"], b"$4\r\nmine\r\n").await;
    c.expect(&["GET", "key:9"], b"$7\r\nvalue:9\r\n").await;
    c.send("DEBUG POPULATE 2 p 10\r\n").await;
    assert_eq!(c.read_frame().await, b"+OK\r\n");
    c.expect(&["GET", "p:1"], b"$10\r\nvalue:1\0\0\0\r\n").await;
    c.send("DEBUG POPULATE -1\r\n").await;
    assert_eq!(
        c.read_frame().await,
        b"-ERR value is out of range, must be positive\r\n"
    );
}

/// client-output-buffer-limit's normal class: a client whose pending
/// replies pass the hard limit is disconnected and gets none of them.
#[tokio::test]
async fn normal_output_buffer_hard_limit_disconnects() {
    let s = TestServer::start().await;
    let mut admin = s.raw().await;
    admin
        .expect(
            &[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "normal 100000 0 0",
            ],
            b"+OK\r\n",
        )
        .await;
    let item = "x".repeat(1000);
    for _ in 0..150 {
        admin.int(&["LPUSH", "big", &item]).await;
    }
    let mut victim = s.raw().await;
    victim.send("LRANGE big 0 -1\r\n").await;
    assert!(victim.read_to_close().await.is_empty(), "nothing is sent");
    // Small replies are unaffected.
    admin.expect(&["PING"], b"+PONG\r\n").await;
}

/// A pending shutdown (as SIGTERM or a SHUTDOWN waiting for replicas leaves
/// it) holds its waiters until SHUTDOWN ABORT cancels it; ABORT with nothing
/// pending is Redis's error. The cron is paused so the shutdown cannot
/// proceed on its own.
#[tokio::test]
async fn shutdown_abort_releases_pending_waiters() {
    let server = TestServer::start().await;
    let Some(srv) = server.server().cloned() else {
        return; // needs the in-process server
    };
    let mut c = server.raw().await;
    c.expect(&["SHUTDOWN", "ABORT"], "-ERR No shutdown in progress.\r\n")
        .await;
    c.expect(&["DEBUG", "PAUSE-CRON", "1"], "+OK\r\n").await;
    srv.shutdown_ctl
        .request(&srv, cinnabar::shutdown::Flags::default());
    let waiter = {
        let srv = srv.clone();
        tokio::spawn(async move { srv.shutdown_ctl.wait_failed().await })
    };
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(
        !waiter.is_finished(),
        "a pending shutdown released its waiter"
    );
    assert!(srv.shutdown_ctl.is_pending());
    c.expect(&["SHUTDOWN", "ABORT"], "+OK\r\n").await;
    waiter.await.expect("waiter");
    assert!(!srv.shutdown_ctl.is_pending());
    c.expect(&["DEBUG", "PAUSE-CRON", "0"], "+OK\r\n").await;
    c.expect(&["PING"], "+PONG\r\n").await;
}
