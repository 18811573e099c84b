//! The append-only file (Redis 7's multi-part AOF), tested on the real
//! binary: each test runs `cinnabar` as a child process in a directory of
//! its own, kills it (SIGKILL, no chance to flush) or shuts it down, and
//! starts it again on the same directory.

mod common;

use std::path::PathBuf;
use std::process::Stdio;

use common::process::spawn;
use common::{info_field, poll_until, Raw};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

/// A directory for one test, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("cinnabar-aof-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
    fn aof_dir(&self) -> PathBuf {
        self.0.join("appendonlydir")
    }
    fn manifest(&self) -> String {
        std::fs::read_to_string(self.aof_dir().join("appendonly.aof.manifest")).expect("manifest")
    }
    fn last_incr(&self) -> PathBuf {
        let m = self.manifest();
        let name = m
            .lines()
            .rfind(|l| l.ends_with("type i"))
            .and_then(|l| l.split_whitespace().nth(1))
            .expect("an INCR file")
            .to_string();
        self.aof_dir().join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn digest(c: &mut Raw) -> String {
    c.val(&["DEBUG", "DIGEST"]).await.as_str().to_string()
}

async fn fill_every_type(c: &mut Raw) {
    c.expect(&["SET", "s", "string"], b"+OK\r\n").await;
    c.expect(&["SET", "ttl", "v", "EX", "1000"], b"+OK\r\n")
        .await;
    c.expect(&["INCRBYFLOAT", "f", "1.5"], b"$3\r\n1.5\r\n")
        .await;
    c.expect(&["RPUSH", "l", "a", "b", "c"], b":3\r\n").await;
    c.expect(&["SADD", "set", "1", "x"], b":2\r\n").await;
    c.expect(&["HSET", "h", "f", "v", "g", "w"], b":2\r\n")
        .await;
    c.expect(&["ZADD", "z", "1", "a", "2.5", "b"], b":2\r\n")
        .await;
    c.val(&["XADD", "st", "1-1", "f", "v"]).await;
    c.expect(&["XGROUP", "CREATE", "st", "g", "0"], b"+OK\r\n")
        .await;
    c.val(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "st", ">"])
        .await;
    c.expect(&["SELECT", "5"], b"+OK\r\n").await;
    c.expect(&["SET", "five", "5"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["INCR", "n"], b"+QUEUED\r\n").await;
    c.expect(&["LPUSH", "q", "job"], b"+QUEUED\r\n").await;
    c.expect(&["EXEC"], b"*2\r\n:1\r\n:1\r\n").await;
    c.expect(&["SELECT", "0"], b"+OK\r\n").await;
    // Random: the AOF gets its effect (SREM of the member it popped).
    c.val(&["SPOP", "set"]).await;
}

#[tokio::test]
async fn every_type_survives_shutdown_and_restart() {
    let dir = TempDir::new("restart");
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("starts");
    let mut c = p.raw().await;
    fill_every_type(&mut c).await;
    let before = digest(&mut c).await;
    assert_eq!(info_field(&mut c, "persistence", "aof_enabled").await, 1);
    drop(c);
    p.shutdown().await;
    assert!(dir.manifest().contains("type b"), "{}", dir.manifest());
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("restarts");
    let mut c = p.raw().await;
    assert_eq!(digest(&mut c).await, before);
    c.expect(&["SELECT", "5"], b"+OK\r\n").await;
    c.expect(&["LRANGE", "q", "0", "-1"], b"*1\r\n$3\r\njob\r\n")
        .await;
    assert!(
        p.log().contains("DB loaded from append only file"),
        "{}",
        p.log()
    );
    p.kill9().await;
}

/// Writes pipelined INCRs and RPUSHes and reports the highest counter and
/// list length it saw acknowledged, until the server goes away.
async fn write_until_killed(
    port: u16,
    acked: tokio::sync::watch::Sender<(i64, i64)>,
) -> (i64, i64) {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (mut max_ctr, mut max_len) = (0i64, 0i64);
    let mut buf = Vec::new();
    for batch in 0..2000 {
        let mut req = Vec::new();
        for i in 0..10 {
            let item = format!("{}", batch * 10 + i);
            req.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n");
            req.extend_from_slice(
                format!(
                    "*3\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n${}\r\n{item}\r\n",
                    item.len()
                )
                .as_bytes(),
            );
        }
        if s.write_all(&req).await.is_err() {
            break;
        }
        let mut replies = 0;
        while replies < 20 {
            let mut chunk = [0u8; 4096];
            let n = match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return (max_ctr, max_len),
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            while let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = buf.drain(..end + 2).collect();
                let v: i64 = std::str::from_utf8(&line[1..end]).unwrap().parse().unwrap();
                // Replies alternate: INCR (the counter), RPUSH (the length).
                if replies % 2 == 0 {
                    max_ctr = max_ctr.max(v);
                } else {
                    max_len = max_len.max(v);
                }
                replies += 1;
            }
        }
        let _ = acked.send((max_ctr, max_len));
    }
    (max_ctr, max_len)
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill_with_fsync_always() {
    let dir = TempDir::new("sigkill");
    let p = spawn(&dir.0, &["--appendonly", "yes", "--appendfsync", "always"])
        .await
        .expect("starts");
    let (tx, mut rx) = tokio::sync::watch::channel((0, 0));
    let writer = tokio::spawn(write_until_killed(p.port, tx));
    // Kill it mid-stream, once a good number of writes were acknowledged.
    while rx.borrow().0 < 3000 {
        if rx.changed().await.is_err() {
            break;
        }
    }
    p.kill9().await;
    let (ctr, len) = writer.await.expect("writer");
    assert!(ctr >= 3000 && len >= 3000, "acked {ctr} / {len}");
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("restarts");
    let mut c = p.raw().await;
    let got_ctr: i64 = c
        .val(&["GET", "ctr"])
        .await
        .as_str()
        .parse()
        .expect("a number");
    let got_len = c.int(&["LLEN", "q"]).await;
    assert!(got_ctr >= ctr, "counter {got_ctr} < acknowledged {ctr}");
    assert!(got_len >= len, "list {got_len} < acknowledged {len}");
    // Every acknowledged push is there, in order, and nothing else before it.
    let items = c
        .val(&["LRANGE", "q", "0", &(len - 1).to_string()])
        .await
        .strings();
    let want: Vec<String> = (0..len).map(|i| i.to_string()).collect();
    assert_eq!(items, want);
    p.kill9().await;
}

#[tokio::test]
async fn bgrewriteaof_replaces_the_base_and_keeps_later_writes() {
    let dir = TempDir::new("rewrite");
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("starts");
    let mut c = p.raw().await;
    for i in 0..200 {
        c.int(&["INCR", "n"]).await;
        c.int(&["RPUSH", "l", &i.to_string()]).await;
    }
    let size_before = info_field(&mut c, "persistence", "aof_current_size").await;
    c.expect(
        &["BGREWRITEAOF"],
        b"+Background append only file rewriting started\r\n",
    )
    .await;
    poll_until(
        &mut c,
        &["INFO", "persistence"],
        500,
        "rewrite to finish",
        |r| r.as_str().contains("aof_rewrite_in_progress:0"),
    )
    .await;
    assert_eq!(info_field(&mut c, "persistence", "aof_rewrites").await, 1);
    assert!(info_field(&mut c, "persistence", "aof_current_size").await < size_before);
    let manifest = dir.manifest();
    assert!(
        manifest.contains("appendonly.aof.2.base.rdb seq 2 type b"),
        "{manifest}"
    );
    assert!(!manifest.contains("appendonly.aof.1."), "{manifest}");
    assert!(!dir.aof_dir().join("appendonly.aof.1.incr.aof").exists());
    c.expect(&["SET", "after", "rewrite"], b"+OK\r\n").await;
    let before = digest(&mut c).await;
    p.kill9().await;
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("restarts");
    let mut c = p.raw().await;
    assert_eq!(digest(&mut c).await, before);
    c.expect(&["GET", "n"], b"$3\r\n200\r\n").await;
    // DEBUG LOADAOF: the files again, in place of the dataset.
    c.expect(&["SET", "more", "1"], b"+OK\r\n").await;
    let before = digest(&mut c).await;
    c.expect(&["DEBUG", "LOADAOF"], b"+OK\r\n").await;
    assert_eq!(digest(&mut c).await, before);
    p.kill9().await;
}

/// An AOF holding `SET kept 1` (the server shut down cleanly), then `tail`
/// appended to its last INCR file as a crash mid-write would leave it.
async fn kept_key_then(name: &str, tail: &[u8]) -> (TempDir, PathBuf) {
    let dir = TempDir::new(name);
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("starts");
    let mut c = p.raw().await;
    c.expect(&["SET", "kept", "1"], b"+OK\r\n").await;
    drop(c);
    p.shutdown().await;
    let incr = dir.last_incr();
    let mut bytes = std::fs::read(&incr).unwrap();
    bytes.extend_from_slice(tail);
    std::fs::write(&incr, &bytes).unwrap();
    (dir, incr)
}

#[tokio::test]
async fn truncated_tail_is_cut_only_when_allowed() {
    // A SET cut inside its last argument.
    const TORN: &[u8] = b"*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$1";
    let (dir, incr) = kept_key_then("truncated", TORN).await;
    let good_len = std::fs::metadata(&incr).unwrap().len() - TORN.len() as u64;

    let (status, log) = match spawn(
        &dir.0,
        &["--appendonly", "yes", "--aof-load-truncated", "no"],
    )
    .await
    {
        Err(e) => e,
        Ok(_) => panic!("a truncated AOF must not load with aof-load-truncated no"),
    };
    assert!(!status.success());
    assert!(
        log.contains("Unexpected end of file reading the append only file"),
        "{log}"
    );

    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("loads truncated");
    assert!(
        p.log()
            .contains("!!! Warning: short read while loading the AOF file"),
        "{}",
        p.log()
    );
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), good_len);
    let mut c = p.raw().await;
    c.expect(&["GET", "kept"], b"$1\r\n1\r\n").await;
    c.expect(&["EXISTS", "lost"], b":0\r\n").await;
    p.kill9().await;
}

#[tokio::test]
async fn transaction_cut_short_is_reverted() {
    let (dir, _) = kept_key_then(
        "multi",
        b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$1\r\n1\r\n",
    )
    .await;
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("loads");
    assert!(
        p.log()
            .contains("Revert incomplete MULTI/EXEC transaction in AOF file"),
        "{}",
        p.log()
    );
    let mut c = p.raw().await;
    c.expect(&["EXISTS", "half"], b":0\r\n").await;
    c.expect(&["GET", "kept"], b"$1\r\n1\r\n").await;
    p.kill9().await;
}

#[tokio::test]
async fn config_set_appendonly_turns_the_aof_on_and_off() {
    let dir = TempDir::new("config");
    let p = spawn(&dir.0, &[]).await.expect("starts");
    let mut c = p.raw().await;
    c.expect(&["SET", "before", "1"], b"+OK\r\n").await;
    assert_eq!(info_field(&mut c, "persistence", "aof_enabled").await, 0);
    c.expect(&["CONFIG", "SET", "appendonly", "yes"], b"+OK\r\n")
        .await;
    poll_until(
        &mut c,
        &["INFO", "persistence"],
        500,
        "the first rewrite",
        |r| r.as_str().contains("aof_rewrite_in_progress:0"),
    )
    .await;
    c.expect(&["SET", "after", "2"], b"+OK\r\n").await;
    let manifest = dir.manifest();
    assert!(
        manifest.contains("type b") && manifest.contains("type i"),
        "{manifest}"
    );
    p.kill9().await;
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("restarts");
    let mut c = p.raw().await;
    c.expect(
        &["MGET", "before", "after"],
        b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n",
    )
    .await;
    c.expect(&["CONFIG", "SET", "appendonly", "no"], b"+OK\r\n")
        .await;
    assert_eq!(info_field(&mut c, "persistence", "aof_enabled").await, 0);
    c.expect(&["SET", "unlogged", "3"], b"+OK\r\n").await;
    p.kill9().await;
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("restarts");
    let mut c = p.raw().await;
    c.expect(&["EXISTS", "unlogged"], b":0\r\n").await;
    p.kill9().await;
}

#[tokio::test]
async fn redis_server_loads_our_aof_and_we_load_its_writes() {
    let Ok(found) = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
    else {
        eprintln!("redis-server not installed: skipped");
        return;
    };
    assert!(found.status.success());
    let dir = TempDir::new("interop");
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("starts");
    let mut c = p.raw().await;
    fill_every_type(&mut c).await;
    let ours = digest(&mut c).await;
    drop(c);
    p.shutdown().await;
    // redis-server on the same directory, on a free port of its own.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut redis = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
        ])
        .args(["--dir", dir.0.to_str().unwrap()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server");
    let mut lines = BufReader::new(redis.stdout.take().unwrap()).lines();
    while let Ok(Some(line)) = tokio::time::timeout(common::IO_TIMEOUT, lines.next_line())
        .await
        .expect("redis start")
    {
        if line.contains("Ready to accept connections") {
            break;
        }
    }
    let mut r = Raw::connect(port).await;
    r.expect(&["DBSIZE"], b":8\r\n").await;
    r.expect(
        &["LRANGE", "l", "0", "-1"],
        b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
    )
    .await;
    r.expect(&["HGET", "h", "g"], b"$1\r\nw\r\n").await;
    r.expect(&["SET", "from-redis", "yes"], b"+OK\r\n").await;
    r.send_cmd(&["SHUTDOWN", "NOSAVE"]).await;
    let _ = redis.wait().await;
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("restarts");
    let mut c = p.raw().await;
    c.expect(&["GET", "from-redis"], b"$3\r\nyes\r\n").await;
    c.expect(&["DEL", "from-redis"], b":1\r\n").await;
    assert_eq!(digest(&mut c).await, ours);
    p.kill9().await;
}

#[tokio::test]
async fn sigterm_saves_the_rdb_when_save_points_are_set() {
    let dir = TempDir::new("sigterm");
    let p = spawn(&dir.0, &["--save", "3600 1"]).await.expect("starts");
    let mut c = p.raw().await;
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    let pid = p.child.id().expect("pid").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut p = p;
    assert!(p.child.wait().await.expect("exit").success());
    assert!(dir.0.join("dump.rdb").exists());
    let p = spawn(&dir.0, &["--save", "3600 1"])
        .await
        .expect("restarts");
    let mut c = p.raw().await;
    c.expect(&["GET", "k"], b"$1\r\nv\r\n").await;
    p.kill9().await;
}

#[tokio::test]
async fn a_replica_keeps_the_synced_dataset_in_its_aof() {
    let mdir = TempDir::new("repl-master");
    let rdir = TempDir::new("repl-replica");
    let master = spawn(&mdir.0, &[]).await.expect("master starts");
    let mut m = master.raw().await;
    for i in 0..100 {
        m.expect(&["SET", &format!("k{i}"), "v"], b"+OK\r\n").await;
    }
    let port = master.port.to_string();
    let replica = spawn(
        &rdir.0,
        &["--appendonly", "yes", "--replicaof", "127.0.0.1", &port],
    )
    .await
    .expect("replica starts");
    let mut r = replica.raw().await;
    poll_until(
        &mut r,
        &["INFO", "replication"],
        500,
        "the full sync",
        |v| v.as_str().contains("master_link_status:up"),
    )
    .await;
    // A write after the sync reaches the replica through the stream.
    m.expect(&["SET", "after", "sync"], b"+OK\r\n").await;
    assert_eq!(m.int(&["WAIT", "1", "5000"]).await, 1);
    // The loaded dataset is in the AOF too (a rewrite after the sync), not
    // only the writes streamed since.
    poll_until(
        &mut r,
        &["INFO", "persistence"],
        500,
        "the post-sync rewrite",
        |v| {
            v.as_str().contains("aof_rewrites:1")
                && v.as_str().contains("aof_rewrite_in_progress:0")
        },
    )
    .await;
    replica.kill9().await;
    let replica = spawn(&rdir.0, &["--appendonly", "yes"])
        .await
        .expect("restarts");
    let mut r = replica.raw().await;
    r.expect(&["DBSIZE"], b":101\r\n").await;
    r.expect(&["GET", "after"], b"$4\r\nsync\r\n").await;
    replica.kill9().await;
    master.kill9().await;
}

#[tokio::test]
async fn writes_are_refused_while_the_aof_cannot_be_written() {
    let dir = TempDir::new("misconf");
    let p = spawn(&dir.0, &["--appendonly", "yes"])
        .await
        .expect("starts");
    let mut c = p.raw().await;
    // The rewrite opens INCR file 2 by name: make it the full device.
    std::os::unix::fs::symlink("/dev/full", dir.aof_dir().join("appendonly.aof.2.incr.aof"))
        .expect("symlink");
    c.expect(
        &["BGREWRITEAOF"],
        b"+Background append only file rewriting started\r\n",
    )
    .await;
    poll_until(&mut c, &["INFO", "persistence"], 500, "the rewrite", |r| {
        r.as_str().contains("aof_rewrite_in_progress:0")
    })
    .await;
    // This write is the one that meets the error (Redis finds it when it
    // writes the buffer too); from then on writes, and PING, are refused.
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    let refused = b"-MISCONF Errors writing to the AOF file: No space left on device\r\n";
    c.expect(&["SET", "k2", "v"], refused).await;
    c.expect(&["PING"], refused).await;
    c.expect(&["GET", "k"], b"$1\r\nv\r\n").await;
    let info = c.val(&["INFO", "persistence"]).await;
    assert!(info.as_str().contains("aof_last_write_status:err\r\n"));
    p.kill9().await;
}
