//! EVAL / EVALSHA / SCRIPT: replies, conversions and errors as redis-server
//! 7.0.15 answers them (after Redis's `unit/scripting.tcl`), and scripts'
//! atomicity under racing clients.

mod common;

use common::{Resp, TestServer};

#[tokio::test]
async fn lua_values_convert_to_replies_as_in_redis() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    let cases: &[(&str, &[u8])] = &[
        ("return 1", b":1\r\n"),
        ("return 3.99", b":3\r\n"),
        ("return -2.5", b":-2\r\n"),
        ("return 'x'", b"$1\r\nx\r\n"),
        ("return nil", b"$-1\r\n"),
        ("return true", b":1\r\n"),
        ("return false", b"$-1\r\n"),
        (
            "return {1,2,{3,'a'}}",
            b"*3\r\n:1\r\n:2\r\n*2\r\n:3\r\n$1\r\na\r\n",
        ),
        ("return {1,nil,3}", b"*1\r\n:1\r\n"),
        ("return {err='My Error'}", b"-My Error\r\n"),
        ("return redis.error_reply('My Error')", b"-My Error\r\n"),
        (
            "return redis.error_reply('-CODE thing')",
            b"-CODE thing\r\n",
        ),
        ("return redis.status_reply('FINE')", b"+FINE\r\n"),
        ("return {ok='fine'}", b"+fine\r\n"),
        (
            "return redis.sha1hex('')",
            b"$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n",
        ),
        ("return #KEYS + #ARGV", b":0\r\n"),
    ];
    for (script, expected) in cases {
        c.expect(&["EVAL", script, "0"], expected).await;
    }
}

#[tokio::test]
async fn redis_call_replies_reach_the_script_in_resp2_form() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(
        &[
            "EVAL",
            "return redis.call('set', KEYS[1], ARGV[1])",
            "1",
            "k",
            "v",
        ],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["EVAL", "return redis.call('get', KEYS[1])", "1", "k"],
        b"$1\r\nv\r\n",
    )
    .await;
    // A missing key is false in Lua; status replies are {ok=…} tables.
    c.expect(
        &[
            "EVAL",
            "return {redis.call('get', 'nokey') == false, redis.call('set', 'a', 1).ok}",
            "0",
        ],
        b"*2\r\n:1\r\n$2\r\nOK\r\n",
    )
    .await;
    // Numbers are passed as Lua prints them.
    c.expect(
        &[
            "EVAL",
            "redis.call('set', 'n', 1.5); return redis.call('get', 'n')",
            "0",
        ],
        b"$3\r\n1.5\r\n",
    )
    .await;
    c.expect(
        &[
            "EVAL",
            "redis.call('rpush', 'l', 'a', 'b'); return redis.call('lrange', 'l', 0, -1)",
            "0",
        ],
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    )
    .await;
    // A script's SELECT lasts until it ends.
    c.expect(
        &[
            "EVAL",
            "redis.call('select', 9); return redis.call('set', 'in9', 1)",
            "0",
        ],
        b"+OK\r\n",
    )
    .await;
    c.expect(&["EXISTS", "in9"], b":0\r\n").await;
}

#[tokio::test]
async fn evalsha_and_the_script_cache() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"; // SHA1("return 1")
    c.expect(
        &["EVALSHA", sha, "0"],
        b"-NOSCRIPT No matching script. Please use EVAL.\r\n",
    )
    .await;
    c.expect(&["SCRIPT", "LOAD", "return 1"], format!("$40\r\n{sha}\r\n"))
        .await;
    c.expect(&["EVALSHA", sha, "0"], b":1\r\n").await;
    c.expect(&["EVALSHA", &sha.to_uppercase(), "0"], b":1\r\n")
        .await;
    c.expect(&["SCRIPT", "EXISTS", sha, "ffff"], b"*2\r\n:1\r\n:0\r\n")
        .await;
    c.expect(&["SCRIPT", "FLUSH"], b"+OK\r\n").await;
    c.expect(&["SCRIPT", "EXISTS", sha], b"*1\r\n:0\r\n").await;
    // EVAL caches what it runs.
    c.expect(&["EVAL", "return 1", "0"], b":1\r\n").await;
    c.expect(&["EVALSHA", sha, "0"], b":1\r\n").await;
    c.expect(
        &["SCRIPT", "FLUSH", "bogus"],
        b"-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n",
    )
    .await;
    c.expect(
        &["SCRIPT", "KILL"],
        b"-NOTBUSY No scripts in execution right now.\r\n",
    )
    .await;
    // The read-only form by SHA1: reads run, writes are refused.
    c.expect(&["SET", "ro", "v"], b"+OK\r\n").await;
    let get_body = "return redis.call('get', KEYS[1])";
    let get = cinnabar::scripting::sha1hex(get_body.as_bytes());
    c.expect(&["SCRIPT", "LOAD", get_body], format!("$40\r\n{get}\r\n"))
        .await;
    c.expect(&["EVALSHA_RO", &get, "1", "ro"], b"$1\r\nv\r\n")
        .await;
    let set_body = "return redis.call('set', KEYS[1], 'w')";
    let set = cinnabar::scripting::sha1hex(set_body.as_bytes());
    c.expect(&["SCRIPT", "LOAD", set_body], format!("$40\r\n{set}\r\n"))
        .await;
    let v = c.val(&["EVALSHA_RO", &set, "1", "ro"]).await;
    assert!(
        v.as_str()
            .starts_with("ERR Write commands are not allowed from read-only scripts."),
        "{v:?}"
    );
    c.expect(&["GET", "ro"], b"$1\r\nv\r\n").await;
    let help = c.val(&["SCRIPT", "HELP"]).await;
    let lines = help.strings();
    assert!(lines[0].starts_with("SCRIPT <subcommand>"), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("LOAD <script>")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn script_errors_carry_redis_s_texts() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    let sha_of = |body: &str| cinnabar::scripting::sha1hex(body.as_bytes());
    c.expect(
        &["EVAL", "return 1", "-1"],
        b"-ERR Number of keys can't be negative\r\n",
    )
    .await;
    c.expect(
        &["EVAL", "return 1", "2", "a"],
        b"-ERR Number of keys can't be greater than number of args\r\n",
    )
    .await;
    c.expect(
        &["EVAL", "return 1", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    let v = c.val(&["EVAL", "return 'x' 'y'", "0"]).await;
    assert!(
        v.as_str()
            .starts_with("ERR Error compiling script (new function): user_script:1:"),
        "{v:?}"
    );
    c.expect(&["RPUSH", "list", "a"], b":1\r\n").await;
    let body = "return redis.call('incr', KEYS[1])";
    c.expect(
        &["EVAL", body, "1", "list"],
        format!(
            "-WRONGTYPE Operation against a key holding the wrong kind of value script: {}, on @user_script:1.\r\n",
            sha_of(body)
        ),
    )
    .await;
    // pcall hands the error to the script as a table.
    c.expect(
        &[
            "EVAL",
            "local r = redis.pcall('incr', KEYS[1]); return r['err']",
            "1",
            "list",
        ],
        b"$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    let body = "return redis.call('nosuchcommand')";
    c.expect(
        &["EVAL", body, "0"],
        format!(
            "-ERR Unknown Redis command called from script script: {}, on @user_script:1.\r\n",
            sha_of(body)
        ),
    )
    .await;
    let body = "return redis.call('get')";
    c.expect(
        &["EVAL", body, "0"],
        format!(
            "-ERR Wrong number of args calling Redis command from script script: {}, on @user_script:1.\r\n",
            sha_of(body)
        ),
    )
    .await;
    let body = "return redis.call('multi')";
    c.expect(
        &["EVAL", body, "0"],
        format!(
            "-ERR This Redis command is not allowed from script script: {}, on @user_script:1.\r\n",
            sha_of(body)
        ),
    )
    .await;
    let body = "return a";
    c.expect(
        &["EVAL", body, "0"],
        format!(
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: {}, on @user_script:1.\r\n",
            sha_of(body)
        ),
    )
    .await;
    let v = c.val(&["EVAL", "a = 1", "0"]).await;
    assert!(
        v.as_str().contains("Attempt to modify a readonly table"),
        "{v:?}"
    );
    let v = c.val(&["EVAL", "return loadfile", "0"]).await;
    assert!(
        v.as_str()
            .contains("nonexistent global variable 'loadfile'"),
        "{v:?}"
    );
    let v = c
        .val(&["EVAL_RO", "return redis.call('set', 'x', 1)", "0"])
        .await;
    assert!(
        v.as_str()
            .starts_with("ERR Write commands are not allowed from read-only scripts."),
        "{v:?}"
    );
    c.expect(
        &["EVAL_RO", "return redis.call('get', 'nokey')", "0"],
        b"$-1\r\n",
    )
    .await;
    // The connection survives every one of them.
    c.expect(&["PING"], b"+PONG\r\n").await;
}

/// A script's read-modify-write of two keys on different shards (one of
/// them undeclared, as BullMQ's scripts reach keys they build) is atomic
/// against other scripts and plain INCRs racing on the same keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_are_atomic_under_racing_clients() {
    let s = TestServer::start().await;
    let keys = common::keys_on_distinct_slots(2);
    let script = "local v = tonumber(redis.call('get', KEYS[1]) or '0') \
                  redis.call('set', KEYS[1], v + 1) \
                  redis.call('set', ARGV[1], v + 1) \
                  return v + 1";
    const CLIENTS: usize = 4;
    const ROUNDS: usize = 500;
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let mut c = s.raw().await;
        let (k1, k2) = (keys[0].clone(), keys[1].clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..ROUNDS {
                c.int(&["EVAL", script, "1", &k1, &k2]).await;
            }
        }));
    }
    // A checker: both keys always equal when seen by a script.
    let mut checker = s.raw().await;
    let (k1, k2) = (keys[0].clone(), keys[1].clone());
    let check = tokio::spawn(async move {
        for _ in 0..ROUNDS {
            let v = checker
                .val(&[
                    "EVAL",
                    "return {redis.call('get', KEYS[1]), redis.call('get', KEYS[2])}",
                    "2",
                    &k1,
                    &k2,
                ])
                .await;
            let items = v.items();
            assert_eq!(items[0], items[1], "a script saw a half-done script");
        }
    });
    for t in tasks {
        t.await.unwrap();
    }
    check.await.unwrap();
    let mut c = s.raw().await;
    let total = (CLIENTS * ROUNDS).to_string();
    assert_eq!(c.val(&["GET", &keys[0]]).await, Resp::bulk(&total));
    assert_eq!(c.val(&["GET", &keys[1]]).await, Resp::bulk(&total));
}

/// A running script hands its worker over so that SCRIPT KILL is served,
/// on a single-worker runtime (Cinnabar's default on 2 cores) with every
/// core busy: the hand-over used to be lost when the thread taking over
/// had not started before the script went on, and the KILL then waited
/// forever (Redis's unit/functions and unit/scripting hung under load).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn script_kill_reaches_a_one_worker_server_under_load() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let s = TestServer::start().await;
    if s.is_external() {
        return;
    }
    let mut admin = s.raw().await;
    admin
        .expect(&["CONFIG", "SET", "busy-reply-threshold", "10"], b"+OK\r\n")
        .await;
    // Busy cores, as under a parallel test run (stopped below).
    let stop = Arc::new(AtomicBool::new(false));
    let hogs: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let mut runner = s.raw().await;
    let cycles = async {
        for _ in 0..20 {
            runner.send_cmd(&["EVAL", "while true do end", "0"]).await;
            loop {
                let reply = admin.cmd(&["SCRIPT", "KILL"]).await;
                if reply == b"+OK\r\n" {
                    break;
                }
                assert!(reply.starts_with(b"-NOTBUSY"), "{reply:?}");
            }
            let killed = runner.read_frame().await;
            assert!(
                String::from_utf8_lossy(&killed).contains("Script killed by user"),
                "{killed:?}"
            );
        }
    };
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(60), cycles).await;
    stop.store(true, Ordering::Relaxed);
    for h in hogs {
        let _ = h.join();
    }
    outcome.expect("every SCRIPT KILL was served while the script ran");
}
