//! The contention audit (`cinnabar::contention`): with nobody blocked and no
//! pattern subscribed, the core write commands and PUBLISH take no lock that
//! every worker shares (no global blocking registry, no pattern-index lock,
//! no error table, no config table, no whole-keyspace lock). The positive
//! control shows the audit sees a global lock when one is taken.
//!
//! One test in this file: the counts are per command over the whole server.

mod common;

use common::TestServer;

fn global_locks(srv: &TestServer, command: &str) -> u64 {
    let server = srv.server().expect("in-process server");
    let resolved = server
        .commands
        .resolve(&[bytes::Bytes::copy_from_slice(command.as_bytes())])
        .unwrap_or_else(|| panic!("no command {command}"));
    server.stats.command_global_locks(resolved.stat)
}

#[tokio::test]
async fn hot_write_commands_and_publish_take_no_global_lock() {
    let srv = TestServer::start().await;
    if srv.is_external() {
        return;
    }
    let mut c = srv.raw().await;
    let mut sub = srv.raw().await;
    sub.cmd(&["SUBSCRIBE", "news"]).await;
    for i in 0..1000 {
        let n = i.to_string();
        c.cmd(&["LPUSH", "l", &n]).await;
        c.cmd(&["RPUSH", "r", &n]).await;
        c.cmd(&["XADD", "s", "*", "f", &n]).await;
        c.cmd(&["ZADD", "z", &n, &n]).await;
        c.expect(&["PUBLISH", "news", &n], b":1\r\n").await;
        c.cmd(&["SET", "k", &n]).await;
        c.cmd(&["GET", "k"]).await;
    }
    // KEYS, DBSIZE and SCAN walk the shards one at a time: no whole-keyspace lock.
    for _ in 0..10 {
        c.cmd(&["KEYS", "*"]).await;
        c.cmd(&["DBSIZE"]).await;
    }
    for cmd in [
        "lpush", "rpush", "xadd", "zadd", "publish", "set", "get", "keys", "dbsize",
    ] {
        assert_eq!(global_locks(&srv, cmd), 0, "{cmd} took a process-wide lock");
    }
    // Positive control: with a pattern subscribed, PUBLISH reads the pattern
    // index under its lock, and the audit counts it.
    let mut psub = srv.raw().await;
    psub.cmd(&["PSUBSCRIBE", "n*"]).await;
    c.expect(&["PUBLISH", "news", "x"], b":2\r\n").await;
    assert_eq!(global_locks(&srv, "publish"), 1);
}
