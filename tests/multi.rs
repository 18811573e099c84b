//! MULTI / EXEC / DISCARD / WATCH (after Redis's `unit/multi.tcl`).

mod common;

use common::{
    keys_on_distinct_slots, poll_until, server_time_ms, wait_until_server_time, Raw, Resp,
    TestServer,
};

async fn queue(c: &mut Raw, cmds: &[&[&str]]) {
    for cmd in cmds {
        c.expect(cmd, b"+QUEUED\r\n").await;
    }
}

#[tokio::test]
async fn multi_exec_runs_queued_commands_in_order() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(
        &mut c,
        &[
            &["SET", "a", "1"],
            &["INCR", "a"],
            &["GET", "a"],
            &["DEL", "nope"],
            &["PING"],
        ],
    )
    .await;
    c.expect(&["EXEC"], b"*5\r\n+OK\r\n:2\r\n$1\r\n2\r\n:0\r\n+PONG\r\n")
        .await;
    // An empty transaction answers an empty array.
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["EXEC"], b"*0\r\n").await;
    c.expect(&["EXEC"], b"-ERR EXEC without MULTI\r\n").await;
}

#[tokio::test]
async fn queued_commands_are_not_run_before_exec() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["SET", "a", "1"]]).await;
    other.expect(&["GET", "a"], b"$-1\r\n").await;
    c.expect(&["EXEC"], b"*1\r\n+OK\r\n").await;
    other.expect(&["GET", "a"], b"$1\r\n1\r\n").await;
}

#[tokio::test]
async fn discard() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["DISCARD"], b"-ERR DISCARD without MULTI\r\n")
        .await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["SET", "a", "1"], &["INCR", "b"]]).await;
    c.expect(&["DISCARD"], b"+OK\r\n").await;
    c.expect(&["EXEC"], b"-ERR EXEC without MULTI\r\n").await;
    c.expect(&["EXISTS", "a", "b"], b":0\r\n").await;
    // DISCARD also drops the WATCHes.
    c.expect(&["WATCH", "w"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["DISCARD"], b"+OK\r\n").await;
    srv.raw().await.expect(&["SET", "w", "x"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["GET", "w"]]).await;
    c.expect(&["EXEC"], b"*1\r\n$1\r\nx\r\n").await;
}

#[tokio::test]
async fn errors_while_queueing_abort_exec() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let execabort = b"-EXECABORT Transaction discarded because of previous errors.\r\n";
    // Unknown command.
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["SET", "a", "1"]]).await;
    c.expect(
        &["NOSUCH", "x"],
        b"-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n",
    )
    .await;
    queue(&mut c, &[&["SET", "b", "1"]]).await;
    c.expect(&["EXEC"], execabort).await;
    c.expect(&["EXISTS", "a", "b"], b":0\r\n").await;
    // Wrong arity.
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["SET", "a", "1"]]).await;
    c.expect(
        &["GET"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    )
    .await;
    c.expect(&["EXEC"], execabort).await;
    c.expect(&["EXISTS", "a"], b":0\r\n").await;
    // A command that may not run in a transaction.
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(
        &["SAVE"],
        b"-ERR Command not allowed inside a transaction\r\n",
    )
    .await;
    c.expect(&["EXEC"], execabort).await;
    // After EXECABORT the connection is out of the transaction.
    c.expect(&["SET", "a", "1"], b"+OK\r\n").await;
}

#[tokio::test]
async fn errors_at_exec_time_do_not_roll_back() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["SET", "s", "text"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(
        &mut c,
        &[
            &["SET", "a", "1"],
            &["INCR", "s"],
            &["SET", "b", "2"],
            &["SET", "c", "v", "EX", "0"],
        ],
    )
    .await;
    c.expect(
        &["EXEC"],
        b"*4\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+OK\r\n-ERR invalid expire time in 'set' command\r\n",
    )
    .await;
    c.expect(
        &["MGET", "a", "b", "c"],
        b"*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n",
    )
    .await;
}

#[tokio::test]
async fn multi_state_errors_do_not_abort() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"-ERR MULTI calls can not be nested\r\n")
        .await;
    c.expect(
        &["WATCH", "x"],
        b"-ERR WATCH inside MULTI is not allowed\r\n",
    )
    .await;
    queue(&mut c, &[&["SET", "x", "1"]]).await;
    c.expect(&["EXEC"], b"*1\r\n+OK\r\n").await;
}

#[tokio::test]
async fn select_inside_multi() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["SELECT", "5"], &["SET", "k", "in5"]]).await;
    c.expect(&["EXEC"], b"*2\r\n+OK\r\n+OK\r\n").await;
    // The SELECT inside EXEC stays in effect.
    c.expect(&["GET", "k"], b"$3\r\nin5\r\n").await;
    c.expect(&["SELECT", "0"], b"+OK\r\n").await;
    c.expect(&["GET", "k"], b"$-1\r\n").await;
}

#[tokio::test]
async fn watch_broken_by_another_client() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    c.expect(&["SET", "k", "1"], b"+OK\r\n").await;
    c.expect(&["WATCH", "k"], b"+OK\r\n").await;
    other.expect(&["INCR", "k"], b":2\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(
        &mut c,
        &[&["SET", "k", "from-tx"], &["SET", "side", "effect"]],
    )
    .await;
    c.expect(&["EXEC"], b"*-1\r\n").await;
    c.expect(&["GET", "k"], b"$1\r\n2\r\n").await;
    c.expect(&["EXISTS", "side"], b":0\r\n").await;
    // The WATCH is consumed: the next transaction runs.
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["SET", "k", "from-tx"]]).await;
    c.expect(&["EXEC"], b"*1\r\n+OK\r\n").await;
}

#[tokio::test]
async fn watch_not_broken_by_unrelated_writes() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    c.expect(&["SET", "k", "1"], b"+OK\r\n").await;
    c.expect(&["WATCH", "k"], b"+OK\r\n").await;
    other.expect(&["SET", "unrelated", "1"], b"+OK\r\n").await;
    other.expect(&["GET", "k"], b"$1\r\n1\r\n").await;
    // Same name in another database is another key.
    other.expect(&["SELECT", "1"], b"+OK\r\n").await;
    other.expect(&["SET", "k", "db1"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["INCR", "k"]]).await;
    c.expect(&["EXEC"], b"*1\r\n:2\r\n").await;
}

#[tokio::test]
async fn watch_broken_by_own_write_before_multi() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["WATCH", "k"], b"+OK\r\n").await;
    c.expect(&["SET", "k", "mine"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["GET", "k"]]).await;
    c.expect(&["EXEC"], b"*-1\r\n").await;
}

#[tokio::test]
async fn watch_key_that_did_not_exist() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    // Nobody creates it: EXEC runs.
    c.expect(&["WATCH", "ghost"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["EXISTS", "ghost"]]).await;
    c.expect(&["EXEC"], b"*1\r\n:0\r\n").await;
    // Someone creates it: EXEC fails.
    c.expect(&["WATCH", "ghost"], b"+OK\r\n").await;
    other.expect(&["SET", "ghost", "boo"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["SET", "ghost", "tx"]]).await;
    c.expect(&["EXEC"], b"*-1\r\n").await;
    c.expect(&["GET", "ghost"], b"$3\r\nboo\r\n").await;
    // Deleting a missing key changes nothing.
    c.expect(&["WATCH", "ghost2"], b"+OK\r\n").await;
    other.expect(&["DEL", "ghost2"], b":0\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["PING"]]).await;
    c.expect(&["EXEC"], b"*1\r\n+PONG\r\n").await;
}

#[tokio::test]
async fn unwatch_forgets_watched_keys() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    c.expect(&["WATCH", "a", "b"], b"+OK\r\n").await;
    c.expect(&["UNWATCH"], b"+OK\r\n").await;
    other.expect(&["SET", "a", "1"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["GET", "a"]]).await;
    c.expect(&["EXEC"], b"*1\r\n$1\r\n1\r\n").await;
    // UNWATCH without WATCH is fine; WATCH with several keys breaks on any.
    c.expect(&["UNWATCH"], b"+OK\r\n").await;
    c.expect(&["WATCH", "x", "y", "z"], b"+OK\r\n").await;
    other.expect(&["SET", "z", "1"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["EXEC"], b"*-1\r\n").await;
}

/// A watched key that expires between WATCH and EXEC fails the transaction,
/// here with another client's access deleting it.
#[tokio::test]
async fn watch_broken_by_expiry_seen_by_another_client() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    let deadline = server_time_ms(&mut c).await + 300; // margin: k must still be alive at WATCH
    c.expect(
        &["SET", "k", "v", "PXAT", &deadline.to_string()],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["WATCH", "k"], b"+OK\r\n").await;
    poll_until(&mut other, &["EXISTS", "k"], 1000, "k expires", |r| {
        *r == Resp::Int(0)
    })
    .await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["SET", "k", "tx"]]).await;
    c.expect(&["EXEC"], b"*-1\r\n").await;
    c.expect(&["EXISTS", "k"], b":0\r\n").await;
}

/// The same, with nobody touching the key: active expiry is off, so the key
/// is still stored, only logically expired, when EXEC runs.
#[tokio::test]
async fn watch_broken_by_expiry_untouched_key() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    c.expect(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"], b"+OK\r\n")
        .await;
    let deadline = server_time_ms(&mut c).await + 300;
    c.expect(
        &["SET", "k", "v", "PXAT", &deadline.to_string()],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["WATCH", "k"], b"+OK\r\n").await;
    wait_until_server_time(&mut c, deadline).await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["PING"]]).await;
    c.expect(&["EXEC"], b"*-1\r\n").await;
    c.expect(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"], b"+OK\r\n")
        .await;
}

/// Redis 7: a key already expired when WATCHed is logically unchanged when it
/// is later deleted by the expiry, so EXEC runs.
#[tokio::test]
async fn watch_of_stale_key_does_not_fail_exec() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    c.expect(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"], b"+OK\r\n")
        .await;
    let deadline = server_time_ms(&mut c).await + 20;
    c.expect(
        &["SET", "k", "v", "PXAT", &deadline.to_string()],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["SET", "s", "v", "PXAT", &deadline.to_string()],
        b"+OK\r\n",
    )
    .await;
    wait_until_server_time(&mut c, deadline).await;
    c.expect(&["WATCH", "k"], b"+OK\r\n").await;
    // Another client's access deletes the stale key.
    other.expect(&["EXISTS", "k"], b":0\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["PING"]]).await;
    c.expect(&["EXEC"], b"*1\r\n+PONG\r\n").await;
    // But writing a new value to a stale watched key is a change.
    c.expect(&["WATCH", "s"], b"+OK\r\n").await;
    other.expect(&["SET", "s", "new"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["EXEC"], b"*-1\r\n").await;
    c.expect(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"], b"+OK\r\n")
        .await;
}

#[tokio::test]
async fn watch_broken_by_expire_and_del_and_rename() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    let cases: &[&[&str]] = &[
        &["EXPIRE", "k", "100"],
        &["DEL", "k"],
        &["RENAME", "k", "k2"],
        &["RENAME", "src", "k"],
        &["APPEND", "k", "x"],
        &["MOVE", "k", "1"],
        &["PERSIST", "k"],
        &["GETDEL", "k"],
        &["COPY", "src", "k", "REPLACE"],
    ];
    for cmd in cases {
        other.expect(&["FLUSHALL"], b"+OK\r\n").await;
        other
            .expect(&["MSET", "k", "v", "src", "s"], b"+OK\r\n")
            .await;
        if cmd[0] == "PERSIST" {
            other.expect(&["EXPIRE", "k", "100"], b":1\r\n").await;
        }
        c.expect(&["WATCH", "k"], b"+OK\r\n").await;
        let r = other.val(cmd).await;
        assert!(!matches!(r, Resp::Error(_)), "{cmd:?}: {r:?}");
        c.expect(&["MULTI"], b"+OK\r\n").await;
        queue(&mut c, &[&["PING"]]).await;
        let got = c.cmd(&["EXEC"]).await;
        common::assert_bytes(&got, b"*-1\r\n", &format!("EXEC after {cmd:?}"));
    }
}

#[tokio::test]
async fn flushall_and_flushdb_touch_watched_keys() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    // FLUSHALL with the watched key present breaks the transaction.
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    c.expect(&["WATCH", "k"], b"+OK\r\n").await;
    other.expect(&["FLUSHALL"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["PING"]]).await;
    c.expect(&["EXEC"], b"*-1\r\n").await;
    // A watched key that did not exist is not changed by a flush.
    c.expect(&["WATCH", "absent"], b"+OK\r\n").await;
    other.expect(&["SET", "unrelated", "v"], b"+OK\r\n").await;
    other.expect(&["FLUSHALL"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["PING"]]).await;
    c.expect(&["EXEC"], b"*1\r\n+PONG\r\n").await;
    // FLUSHDB of the watched key's database breaks it ...
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    c.expect(&["WATCH", "k"], b"+OK\r\n").await;
    other.expect(&["FLUSHDB"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["EXEC"], b"*-1\r\n").await;
    // ... FLUSHDB of another database does not.
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    c.expect(&["WATCH", "k"], b"+OK\r\n").await;
    other.expect(&["SELECT", "2"], b"+OK\r\n").await;
    other.expect(&["SET", "x", "v"], b"+OK\r\n").await;
    other.expect(&["FLUSHDB"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    c.expect(&["EXEC"], b"*0\r\n").await;
}

#[tokio::test]
async fn swapdb_touches_watched_keys() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let mut other = srv.raw().await;
    c.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    c.expect(&["WATCH", "k"], b"+OK\r\n").await;
    other.expect(&["SWAPDB", "0", "1"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["GET", "k"]]).await;
    c.expect(&["EXEC"], b"*-1\r\n").await;
    // Watching a key missing in both databases: SWAPDB changes nothing for it.
    c.expect(&["WATCH", "none"], b"+OK\r\n").await;
    other.expect(&["SWAPDB", "0", "1"], b"+OK\r\n").await;
    c.expect(&["MULTI"], b"+OK\r\n").await;
    queue(&mut c, &[&["GET", "k"]]).await;
    c.expect(&["EXEC"], b"*1\r\n$1\r\nv\r\n").await;
}

/// EXEC is atomic across shards: a reader taking a consistent view of keys on
/// many hash slots (MGET locks all their shards at once) never sees a
/// transaction half applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_is_atomic_across_shards() {
    let srv = TestServer::start().await;
    let keys = keys_on_distinct_slots(64);
    let mut writer = srv.raw().await;
    let mut init = vec!["MSET".to_string()];
    for k in &keys {
        init.push(k.clone());
        init.push("0".into());
    }
    writer.expect(&init, b"+OK\r\n").await;

    let rounds = 200;
    let reader_keys = keys.clone();
    let mut reader = srv.raw().await;
    let reader_task = tokio::spawn(async move {
        let mut mget = vec!["MGET".to_string()];
        mget.extend(reader_keys);
        let mut reads = 0;
        loop {
            let values = reader.val(&mget).await.strings();
            assert!(
                values.iter().all(|v| *v == values[0]),
                "saw a partially applied transaction: {values:?}"
            );
            reads += 1;
            if values[0] == rounds.to_string() {
                return reads;
            }
        }
    });
    for round in 1..=rounds {
        writer.expect(&["MULTI"], b"+OK\r\n").await;
        let v = round.to_string();
        for k in &keys {
            writer
                .expect(&["SET", k.as_str(), v.as_str()], b"+QUEUED\r\n")
                .await;
        }
        let replies = writer.val(&["EXEC"]).await;
        assert_eq!(replies.items().len(), keys.len());
    }
    let reads = reader_task.await.unwrap();
    assert!(reads > 0);
}

/// INCR on keys in many shards inside one EXEC, by several clients at once:
/// no update is lost and every transaction sees its own writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transactions_lose_no_updates() {
    let srv = TestServer::start().await;
    let keys = keys_on_distinct_slots(16);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut c = srv.raw().await;
        let keys = keys.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                c.expect(&["MULTI"], b"+OK\r\n").await;
                for k in &keys {
                    c.expect(&["INCR", k.as_str()], b"+QUEUED\r\n").await;
                }
                let replies = c.val(&["EXEC"]).await;
                let values: Vec<i64> = replies.items().iter().map(Resp::as_int).collect();
                // All keys were incremented together: they are always equal.
                assert!(values.iter().all(|v| *v == values[0]), "{values:?}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = srv.raw().await;
    let mut mget = vec!["MGET".to_string()];
    mget.extend(keys.iter().cloned());
    assert_eq!(
        c.val(&mget).await.strings(),
        vec!["200".to_string(); keys.len()]
    );
}
