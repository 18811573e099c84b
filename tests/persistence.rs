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
    // Change the dataset, then reload the file without saving first (not
    // with FLUSHALL: with save points set it saves the empty dataset at
    // once, as Redis's does).
    c.expect(&["DEL", "l"], b":1\r\n").await;
    c.expect(&["SET", "extra", "x"], b"+OK\r\n").await;
    assert_ne!(digest(&mut c).await, before);
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

/// The integer value of `key` in database 0 of a decoded RDB file.
fn saved_int(loaded: &cinnabar::persist::rdb::Loaded, key: &str) -> i64 {
    let items = &loaded.dbs.iter().find(|(db, _)| *db == 0).expect("db 0").1;
    match items.iter().find(|(k, _, _)| k.as_ref() == key.as_bytes()) {
        Some((_, cinnabar::keyspace::Value::Str(v), _)) => {
            std::str::from_utf8(v).unwrap().parse().unwrap()
        }
        Some(_) => panic!("{key} is not a string"),
        None => 0,
    }
}

fn saved_hash_len(loaded: &cinnabar::persist::rdb::Loaded, key: &str) -> usize {
    let items = &loaded.dbs.iter().find(|(db, _)| *db == 0).expect("db 0").1;
    match items.iter().find(|(k, _, _)| k.as_ref() == key.as_bytes()) {
        Some((_, cinnabar::keyspace::Value::Hash(h), _)) => h.len(),
        _ => panic!("{key} is not a saved hash"),
    }
}

/// A BGSAVE is one point in time while writers keep going, though shards are
/// copied one by one (by the save or by the next command to lock each): a
/// client INCRs keys on distinct shards in order, one reply at a time, so at
/// every instant v[0] >= v[1] >= … >= v[15] >= v[0] - 1; a copy made of shards
/// at different instants breaks that. Another client grows a large hash (the
/// copy-on-write path of a value the snapshot shares), checked against a
/// counter written in the same MULTI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgsave_is_one_point_in_time_while_writers_run() {
    let (s, mut c) = saving("point-in-time").await;
    let keys = common::keys_on_distinct_slots(16);
    let mut filler = s.srv.raw().await;
    for i in 0..5000 {
        filler
            .send_cmd(&["HSET", "big", &format!("f{i}"), "v"])
            .await;
    }
    filler.read_frames(5000).await;
    filler.expect(&["SET", "big:len", "5000"], b"+OK\r\n").await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut incr = s.srv.raw().await;
    let (ks, st) = (keys.clone(), stop.clone());
    let counters = tokio::spawn(async move {
        while !st.load(std::sync::atomic::Ordering::Relaxed) {
            for k in &ks {
                incr.int(&["INCR", k]).await;
            }
        }
    });
    let mut grow = s.srv.raw().await;
    let st = stop.clone();
    let grower = tokio::spawn(async move {
        let mut n = 5000;
        while !st.load(std::sync::atomic::Ordering::Relaxed) {
            grow.send_cmd(&["MULTI"]).await;
            grow.send_cmd(&["HSET", "big", &format!("f{n}"), "v"]).await;
            grow.send_cmd(&["INCR", "big:len"]).await;
            grow.send_cmd(&["EXEC"]).await;
            grow.read_frames(4).await;
            n += 1;
        }
    });

    for round in 1..=5 {
        c.expect(&["BGSAVE"], b"+Background saving started\r\n")
            .await;
        poll_until(&mut c, &["INFO", "persistence"], 3000, "bgsave done", |v| {
            v.as_str().contains("rdb_bgsave_in_progress:0")
                && v.as_str().contains(&format!("rdb_saves:{round}"))
        })
        .await;
        let loaded = cinnabar::persist::rdb::decode(&std::fs::read(&s.file).expect("dump"))
            .expect("decodes");
        let v: Vec<i64> = keys.iter().map(|k| saved_int(&loaded, k)).collect();
        assert!(
            v.windows(2).all(|w| w[0] >= w[1]) && v[0] - v[15] <= 1,
            "round {round}: not one instant: {v:?}"
        );
        assert_eq!(
            saved_hash_len(&loaded, "big") as i64,
            saved_int(&loaded, "big:len"),
            "round {round}: the hash and its counter are from different instants"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    counters.await.unwrap();
    grower.await.unwrap();
    // The writers really ran during the saves.
    let get = |r: Resp| r.as_str().parse::<i64>().unwrap();
    assert!(get(c.val(&["GET", &keys[15]]).await) > 0);
    assert!(get(c.val(&["GET", "big:len"]).await) > 5000);
}
