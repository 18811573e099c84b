//! RDB files: SAVE, BGSAVE, DEBUG RELOAD, LASTSAVE, INFO persistence, DEBUG
//! DIGEST (after Redis's `integration/rdb.tcl` and `unit/other.tcl`).
//!
//! Each test writes its own file name (`dbfilename`) in the working
//! directory, and removes it: the working directory is shared by every test.

mod common;

use common::{info_field, poll_until, Raw, Resp, TestServer};

/// A server whose dump file is unique to the test; the file goes with it.
struct Saving {
    srv: TestServer,
    file: String,
}

impl Drop for Saving {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

async fn saving(name: &str) -> (Saving, Raw) {
    let srv = TestServer::start().await;
    let file = format!(
        "cinnabar-test-{name}-{}-{}.rdb",
        std::process::id(),
        srv.port
    );
    let mut c = srv.raw().await;
    c.expect(&["CONFIG", "SET", "dbfilename", &file], b"+OK\r\n")
        .await;
    (Saving { srv, file }, c)
}

async fn fill(c: &mut Raw) {
    c.expect(&["SET", "s", "string"], b"+OK\r\n").await;
    c.expect(&["SET", "n", "100"], b"+OK\r\n").await;
    c.expect(&["SET", "t", "v", "EX", "1000"], b"+OK\r\n").await;
    c.expect(&["RPUSH", "l", "a", "b", "c"], b":3\r\n").await;
    c.expect(&["SADD", "set", "1", "x"], b":2\r\n").await;
    c.expect(&["SELECT", "3"], b"+OK\r\n").await;
    c.expect(&["SET", "three", "3"], b"+OK\r\n").await;
    c.expect(&["SELECT", "0"], b"+OK\r\n").await;
}

async fn digest(c: &mut Raw) -> String {
    c.val(&["DEBUG", "DIGEST"]).await.as_str().to_string()
}

#[tokio::test]
async fn save_then_debug_reload_restores_the_dataset() {
    let (s, mut c) = saving("reload").await;
    c.expect(
        &["DEBUG", "DIGEST"],
        b"+0000000000000000000000000000000000000000\r\n",
    )
    .await;
    fill(&mut c).await;
    let before = digest(&mut c).await;
    assert_ne!(before, "0".repeat(40));
    assert!(info_field(&mut c, "persistence", "rdb_changes_since_last_save").await > 0);
    c.expect(&["SAVE"], b"+OK\r\n").await;
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_changes_since_last_save").await,
        0
    );
    assert_eq!(info_field(&mut c, "persistence", "rdb_saves").await, 1);
    let bytes = std::fs::read(&s.file).expect("dump written");
    assert!(bytes.starts_with(b"REDIS0010"));
    let lastsave = c.int(&["LASTSAVE"]).await;
    assert!(lastsave > 0);
    // Change the dataset, then reload the file without saving first.
    c.expect(&["FLUSHALL"], b"+OK\r\n").await;
    c.expect(&["DEBUG", "RELOAD", "NOSAVE"], b"+OK\r\n").await;
    assert_eq!(digest(&mut c).await, before);
    c.expect(
        &["LRANGE", "l", "0", "-1"],
        b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
    )
    .await;
    let ttl = c.int(&["TTL", "t"]).await;
    assert!(ttl > 900 && ttl <= 1000, "{ttl}");
    // DEBUG RELOAD saves, flushes and loads: the digest survives.
    c.expect(&["SADD", "set", "more"], b":1\r\n").await;
    let now = digest(&mut c).await;
    c.expect(&["DEBUG", "RELOAD"], b"+OK\r\n").await;
    assert_eq!(digest(&mut c).await, now);
    c.expect(&["SELECT", "3"], b"+OK\r\n").await;
    c.expect(&["GET", "three"], b"$1\r\n3\r\n").await;
    c.expect(
        &["DEBUG", "RELOAD", "BOGUS"],
        b"-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n",
    )
    .await;
    drop(s);
}

#[tokio::test]
async fn bgsave_writes_in_the_background() {
    let (s, mut c) = saving("bgsave").await;
    fill(&mut c).await;
    c.expect(&["BGSAVE"], b"+Background saving started\r\n")
        .await;
    poll_until(&mut c, &["INFO", "persistence"], 1000, "bgsave done", |v| {
        v.as_str().contains("rdb_bgsave_in_progress:0") && v.as_str().contains("rdb_saves:1")
    })
    .await;
    let info = c.val(&["INFO", "persistence"]).await;
    assert!(info.as_str().contains("rdb_last_bgsave_status:ok"));
    let loaded =
        cinnabar::persist::rdb::decode(&std::fs::read(&s.file).expect("dump")).expect("decodes");
    let keys: usize = loaded.dbs.iter().map(|(_, k)| k.len()).sum();
    assert_eq!(keys, 6);
    // A real redis-check-rdb accepts the file, when installed.
    match std::process::Command::new("redis-check-rdb")
        .arg(&s.file)
        .output()
    {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("RDB looks OK"), "{text}");
        }
        Err(_) => eprintln!("skipped: redis-check-rdb is not on PATH"),
    }
}

#[tokio::test]
async fn digest_matches_between_master_and_replica() {
    let master = TestServer::start().await;
    let replica = TestServer::start().await;
    let mut m = master.raw().await;
    fill(&mut m).await;
    let mut r = replica.raw().await;
    r.expect(
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
        b"+OK\r\n",
    )
    .await;
    poll_until(&mut r, &["INFO", "replication"], 1000, "link up", |v| {
        v.as_str().contains("master_link_status:up")
    })
    .await;
    m.expect(&["LPUSH", "l", "z"], b":4\r\n").await;
    m.expect(&["WAIT", "1", "0"], b":1\r\n").await;
    assert_eq!(digest(&mut m).await, digest(&mut r).await);
    let dv = r.val(&["DEBUG", "DIGEST-VALUE", "l", "missing"]).await;
    assert_eq!(dv.items().len(), 2);
    assert_eq!(dv.items()[1], Resp::Simple("0".repeat(40)));
    assert_eq!(
        m.val(&["DEBUG", "DIGEST-VALUE", "l"]).await.items()[0],
        dv.items()[0]
    );
}

#[tokio::test]
async fn shutdown_save_writes_the_file() {
    let (s, mut c) = saving("shutdown").await;
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    c.send_cmd(&["SHUTDOWN", "SAVE"]).await;
    assert!(c.read_to_close().await.is_empty());
    let loaded =
        cinnabar::persist::rdb::decode(&std::fs::read(&s.file).expect("dump")).expect("decodes");
    assert_eq!(loaded.dbs[0].1.len(), 1);
    let _ = &s.srv;
}

#[tokio::test]
async fn zsets_and_streams_survive_debug_reload() {
    let (s, mut c) = saving("zset-stream").await;
    c.expect(&["ZADD", "z", "1.5", "a", "-inf", "b", "7", "c"], b":3\r\n")
        .await;
    for i in 0..150 {
        c.val(&["XADD", "st", "*", "f", &i.to_string()]).await;
    }
    c.expect(&["XGROUP", "CREATE", "st", "g", "0"], b"+OK\r\n")
        .await;
    c.val(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "COUNT",
        "5",
        "STREAMS",
        "st",
        ">",
    ])
    .await;
    let before = digest(&mut c).await;
    let info = c.val(&["XINFO", "STREAM", "st"]).await;
    let zr = c.val(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]).await;
    c.expect(&["DEBUG", "RELOAD"], b"+OK\r\n").await;
    assert_eq!(digest(&mut c).await, before);
    assert_eq!(c.val(&["XINFO", "STREAM", "st"]).await, info);
    assert_eq!(c.val(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]).await, zr);
    let pending = c.val(&["XPENDING", "st", "g"]).await;
    assert_eq!(pending.items()[0], Resp::Int(5));
    drop(s);
}

#[tokio::test]
async fn save_points_trigger_a_background_save() {
    let (_s, mut c) = saving("savepoint").await;
    // One change, more than a second after the last save: due (Redis's `>`).
    c.expect(&["CONFIG", "SET", "save", "1 1"], b"+OK\r\n")
        .await;
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    poll_until(
        &mut c,
        &["INFO", "persistence"],
        500,
        "a save point BGSAVE",
        |r| r.as_str().contains("rdb_saves:1"),
    )
    .await;
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_changes_since_last_save").await,
        0
    );
    assert!(info_field(&mut c, "stats", "total_forks").await >= 1);
}
