//! The contention audit (`cinnabar::contention`): with nobody blocked and no
//! pattern subscribed, the core write commands and PUBLISH take no lock that
//! every worker shares (no global blocking registry, no pattern-index lock,
//! no error table, no config table, no whole-keyspace lock). The positive
//! control shows the audit sees a global lock when one is taken.
//!
//! Each test starts its own server: the counts are per command over that
//! server (the audit's thread-local counters are read around each command).

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

/// The audit over a mix of the core commands from four clients on two
/// workers: every single-key command takes exactly one shard lock and no
/// process-wide lock; multi-key commands take one shard lock per shard
/// touched; and the share of command time spent in commands that took a
/// process-wide lock (the serial fraction of PROFILE.md's scaling model) is
/// zero for the core mix and is measured, not assumed, once admin commands
/// join in. `--nocapture` prints the per-command table PROFILE.md quotes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contention_audit_per_command() {
    let srv = TestServer::start().await;
    if srv.is_external() {
        return;
    }
    const ROUNDS: usize = 500;
    let mut clients = Vec::new();
    for c in 0..4 {
        let mut raw = srv.raw().await;
        clients.push(tokio::spawn(async move {
            for i in 0..ROUNDS {
                let n = (i % 50).to_string();
                let k = format!("k:{c}:{n}");
                raw.cmd(&["SET", &k, &n]).await;
                raw.cmd(&["GET", &k]).await;
                raw.cmd(&["INCR", &format!("ctr:{n}")]).await;
                raw.cmd(&["LPUSH", &format!("q:{n}"), &n]).await;
                raw.cmd(&["RPOP", &format!("q:{n}")]).await;
                raw.cmd(&["HSET", &format!("h:{n}"), "f", &n]).await;
                raw.cmd(&["HGET", &format!("h:{n}"), "f"]).await;
                raw.cmd(&["SADD", &format!("s:{n}"), &n]).await;
                raw.cmd(&["ZADD", &format!("z:{n}"), &n, &n]).await;
                raw.cmd(&["XADD", &format!("x:{n}"), "MAXLEN", "10", "*", "f", &n])
                    .await;
                raw.cmd(&["PUBLISH", "events", &n]).await;
                raw.cmd(&["MGET", "k:0:1", "k:1:2", "k:2:3", "k:3:4"]).await;
            }
            raw
        }));
    }
    let mut clients: Vec<_> = futures_join(clients).await;
    let server = srv.server().expect("in-process server");
    let stat = |name: &str| {
        let r = server
            .commands
            .resolve(&[bytes::Bytes::copy_from_slice(name.as_bytes())])
            .unwrap_or_else(|| panic!("no command {name}"));
        server.stats.command_contention(r.stat)
    };
    let single_key = [
        "set", "get", "incr", "lpush", "rpop", "hset", "hget", "sadd", "zadd", "xadd",
    ];
    let core: Vec<&str> = single_key
        .iter()
        .copied()
        .chain(["publish", "mget"])
        .collect();
    let share = |names: &[&str]| {
        let (mut all, mut serial) = (0u128, 0u128);
        for name in names {
            let c = stat(name);
            all += c.ticks as u128;
            // Calls that took a global lock, at the command's mean cost.
            serial += c.ticks as u128 * c.global_lock_calls as u128 / c.calls.max(1) as u128;
        }
        serial as f64 / all.max(1) as f64
    };
    println!(
        "| command | calls | shard locks / call | global locks / call | contended shard waits | "
    );
    println!("|---|---:|---:|---:|---:|");
    for name in &core {
        let c = stat(name);
        println!(
            "| {name} | {} | {:.2} | {:.3} | {} |",
            c.calls,
            c.shard_locks as f64 / c.calls.max(1) as f64,
            c.global_locks as f64 / c.calls.max(1) as f64,
            c.contended_waits
        );
    }
    for name in single_key {
        let c = stat(name);
        assert_eq!(c.calls, 4 * ROUNDS as u64, "{name}");
        assert_eq!(c.shard_locks, c.calls, "{name}: one shard lock per call");
        assert_eq!(c.global_locks, 0, "{name} took a process-wide lock");
    }
    let mget = stat("mget");
    assert!(
        mget.shard_locks >= mget.calls,
        "MGET locks each shard it reads"
    );
    assert_eq!(stat("publish").shard_locks, 0, "PUBLISH touches no shard");
    let core_share = share(&core);
    println!("serial share of the core mix: {:.4}", core_share);
    assert_eq!(core_share, 0.0);

    // Admin commands join: KEYS and DBSIZE walk the shards one at a time
    // (no global lock); INFO and CONFIG GET read process-wide tables.
    let c = &mut clients[0];
    for _ in 0..50 {
        c.cmd(&["KEYS", "k:0:*"]).await;
        c.cmd(&["DBSIZE"]).await;
        c.cmd(&["CONFIG", "GET", "maxmemory"]).await;
        c.cmd(&["FLUSHALL"]).await;
    }
    let flushall = stat("flushall");
    assert_eq!(
        flushall.global_lock_calls, flushall.calls,
        "FLUSHALL locks the whole keyspace"
    );
    let with_admin: Vec<&str> = core
        .iter()
        .copied()
        .chain(["keys", "dbsize", "flushall"])
        .collect();
    let mixed_share = share(&with_admin);
    println!(
        "serial share with KEYS, DBSIZE and FLUSHALL: {:.4}",
        mixed_share
    );
    assert!(mixed_share > 0.0 && mixed_share < 1.0);
}

/// Awaits every task, in order.
async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("client task"));
    }
    out
}
