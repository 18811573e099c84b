//! Client-side caching (CLIENT TRACKING), after Redis's `unit/tracking.tcl`,
//! plus a race of tracking readers against writers that checks no reader
//! keeps a stale value without an invalidation.

mod common;

use common::{Raw, Resp, TestServer};

/// A RESP3 connection with tracking on (extra options appended).
async fn tracking_client(srv: &TestServer, options: &[&str]) -> Raw {
    let mut c = srv.raw().await;
    c.val(&["HELLO", "3"]).await;
    let mut cmd = vec!["CLIENT", "TRACKING", "ON"];
    cmd.extend_from_slice(options);
    assert_eq!(c.val(&cmd).await, Resp::Simple("OK".into()));
    c
}

fn invalidate(keys: &[&str]) -> Resp {
    Resp::Push(vec![
        Resp::bulk("invalidate"),
        Resp::Array(keys.iter().map(|k| Resp::bulk(k)).collect()),
    ])
}

async fn info_field(c: &mut Raw, field: &str) -> i64 {
    let info = c.val(&["INFO", "all"]).await;
    let text = info.as_str().to_string();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO has no {field}"))
        .trim()
        .parse()
        .expect("integer field")
}

#[tokio::test]
async fn resp3_invalidation_once_per_read() {
    let srv = TestServer::start().await;
    let mut r = tracking_client(&srv, &[]).await;
    let mut w = srv.raw().await;
    w.val(&["SET", "k", "1"]).await;
    assert_eq!(r.val(&["GET", "k"]).await, Resp::bulk("1"));
    assert_eq!(info_field(&mut w, "tracking_total_keys").await, 1);
    w.val(&["SET", "k", "2"]).await;
    assert_eq!(r.read_value().await, invalidate(&["k"]));
    // Forgotten once invalidated: another write sends nothing, and the
    // next reply is PING's own.
    w.val(&["SET", "k", "3"]).await;
    assert_eq!(r.val(&["PING"]).await, Resp::Simple("PONG".into()));
    assert_eq!(info_field(&mut w, "tracking_total_keys").await, 0);
    assert_eq!(info_field(&mut w, "tracking_clients").await, 1);
}

#[tokio::test]
async fn own_write_is_invalidated_after_its_reply() {
    let srv = TestServer::start().await;
    let mut r = tracking_client(&srv, &[]).await;
    r.val(&["HSET", "h", "f", "1"]).await;
    r.val(&["HGET", "h", "f"]).await;
    assert_eq!(r.val(&["HDEL", "h", "f"]).await, Resp::Int(1));
    assert_eq!(r.read_value().await, invalidate(&["h"]));
    // In a transaction the message follows EXEC's whole reply.
    r.val(&["MSET", "a", "1", "b", "2"]).await;
    r.val(&["GET", "a"]).await;
    r.val(&["MULTI"]).await;
    r.val(&["INCR", "a"]).await;
    r.val(&["GET", "b"]).await;
    assert_eq!(
        r.val(&["EXEC"]).await,
        Resp::Array(vec![Resp::Int(2), Resp::bulk("2")])
    );
    assert_eq!(r.read_value().await, invalidate(&["a"]));
}

#[tokio::test]
async fn noloop_skips_own_writes() {
    let srv = TestServer::start().await;
    let mut r = tracking_client(&srv, &["NOLOOP"]).await;
    let mut w = srv.raw().await;
    r.val(&["MGET", "mine", "theirs"]).await;
    r.val(&["SET", "mine", "1"]).await;
    w.val(&["SET", "theirs", "1"]).await;
    assert_eq!(r.read_value().await, invalidate(&["theirs"]));
}

#[tokio::test]
async fn redirect_to_resp2_subscriber() {
    let srv = TestServer::start().await;
    let mut sink = srv.raw().await;
    let id = sink.val(&["CLIENT", "ID"]).await.as_int();
    sink.val(&["SUBSCRIBE", "__redis__:invalidate"]).await;
    let mut r = srv.raw().await;
    let id_text = id.to_string();
    assert_eq!(
        r.val(&["CLIENT", "TRACKING", "ON", "REDIRECT", &id_text])
            .await,
        Resp::Simple("OK".into())
    );
    assert_eq!(
        r.val(&["CLIENT", "GETREDIR"]).await,
        Resp::Int(id),
        "GETREDIR names the redirect client"
    );
    let mut w = srv.raw().await;
    r.val(&["GET", "k1"]).await;
    w.val(&["SET", "k1", "x"]).await;
    common::assert_bytes(
        &sink.read_frame().await,
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\nk1\r\n",
        "RESP2 invalidation is a pub/sub message",
    );
    // FLUSHALL: a null for everything.
    w.val(&["FLUSHALL"]).await;
    common::assert_bytes(
        &sink.read_frame().await,
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n",
        "flush invalidation",
    );
}

#[tokio::test]
async fn broken_redirect_is_reported() {
    let srv = TestServer::start().await;
    let mut sink = srv.raw().await;
    let id = sink.val(&["CLIENT", "ID"]).await.as_int().to_string();
    let mut r = tracking_client(&srv, &["REDIRECT", &id]).await;
    r.val(&["GET", "k"]).await;
    assert_eq!(sink.val(&["QUIT"]).await, Resp::Simple("OK".into()));
    let mut w = srv.raw().await;
    // The redirect client is gone once CLIENT LIST no longer shows it.
    common::poll_until(&mut w, &["CLIENT", "LIST"], 1000, "sink gone", |l| {
        !l.as_str().contains(&format!("id={id} "))
    })
    .await;
    w.val(&["SET", "k", "v"]).await;
    assert_eq!(
        r.read_value().await,
        Resp::Push(vec![
            Resp::bulk("tracking-redir-broken"),
            Resp::Int(id.parse().unwrap())
        ])
    );
    let info = r.val(&["CLIENT", "TRACKINGINFO"]).await;
    assert_eq!(
        info.get("flags").unwrap(),
        Resp::Set(vec![Resp::bulk("on"), Resp::bulk("broken_redirect")])
    );
    let list = r.val(&["CLIENT", "INFO"]).await;
    assert!(list.as_str().contains("flags=tR"), "{}", list.as_str());
}

#[tokio::test]
async fn bcast_prefixes_one_message_per_prefix() {
    let srv = TestServer::start().await;
    let mut r = tracking_client(&srv, &["BCAST", "PREFIX", "a:", "PREFIX", "b:"]).await;
    let mut w = srv.raw().await;
    w.val(&["MULTI"]).await;
    for k in ["a:1", "a:2", "b:1", "c:1"] {
        w.val(&["INCR", k]).await;
    }
    w.val(&["EXEC"]).await;
    let mut got = vec![r.read_value().await, r.read_value().await];
    got.sort_by_key(|m| format!("{m:?}"));
    assert_eq!(got, vec![invalidate(&["a:1", "a:2"]), invalidate(&["b:1"])]);
    assert_eq!(info_field(&mut w, "tracking_total_prefixes").await, 2);
    let info = r.val(&["CLIENT", "TRACKINGINFO"]).await;
    assert_eq!(
        info.get("prefixes").unwrap(),
        Resp::Array(vec![Resp::bulk("a:"), Resp::bulk("b:")])
    );
}

#[tokio::test]
async fn optin_and_optout_follow_caching() {
    let srv = TestServer::start().await;
    let mut w = srv.raw().await;
    let mut r = tracking_client(&srv, &["OPTIN"]).await;
    r.val(&["GET", "not-cached"]).await;
    r.val(&["CLIENT", "CACHING", "YES"]).await;
    r.val(&["GET", "cached"]).await;
    w.val(&["SET", "not-cached", "1"]).await;
    w.val(&["SET", "cached", "1"]).await;
    assert_eq!(r.read_value().await, invalidate(&["cached"]));

    let mut o = tracking_client(&srv, &["OPTOUT"]).await;
    o.val(&["CLIENT", "CACHING", "NO"]).await;
    o.val(&["GET", "skipped"]).await;
    o.val(&["GET", "tracked"]).await;
    w.val(&["SET", "skipped", "1"]).await;
    w.val(&["SET", "tracked", "1"]).await;
    assert_eq!(o.read_value().await, invalidate(&["tracked"]));
}

#[tokio::test]
async fn option_errors_are_redis_texts() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let err = |r: Resp| r.as_str().to_string();
    assert_eq!(
        err(c.val(&["CLIENT", "TRACKING", "ON", "PREFIX", "x"]).await),
        "ERR PREFIX option requires BCAST mode to be enabled"
    );
    assert_eq!(
        err(c.val(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO"]).await),
        "ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. Prefixes for a single client must not overlap."
    );
    c.val(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "FOO"])
        .await;
    assert_eq!(
        err(c.val(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "FO"]).await),
        "ERR Prefix 'FO' overlaps with an existing prefix 'FOO'. Prefixes for a single client must not overlap."
    );
    assert_eq!(
        err(c.val(&["CLIENT", "TRACKING", "ON"]).await),
        "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."
    );
    c.val(&["CLIENT", "TRACKING", "OFF"]).await;
    assert_eq!(
        err(c
            .val(&["CLIENT", "TRACKING", "ON", "REDIRECT", "999999"])
            .await),
        "ERR The client ID you want redirect to does not exist"
    );
    assert_eq!(
        err(c
            .val(&["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"])
            .await),
        "ERR You can't specify both OPTIN mode and OPTOUT mode"
    );
    assert_eq!(
        err(c.val(&["CLIENT", "CACHING", "YES"]).await),
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"
    );
    assert_eq!(
        err(c.val(&["CLIENT", "TRACKING", "MAYBE"]).await),
        "ERR syntax error"
    );
    assert_eq!(c.val(&["CLIENT", "GETREDIR"]).await, Resp::Int(-1));
}

/// Readers cache what GET returns and drop it on an invalidation; writers
/// INCR the same keys meanwhile. Once the writers are done and each reader
/// has drained its connection, every value a reader still holds must be
/// the key's final value: a write after a read always reached the reader.
#[tokio::test]
async fn racing_writers_never_leave_a_stale_cache() {
    const KEYS: usize = 8;
    const ROUNDS: usize = 300;
    let srv = TestServer::start().await;
    let keys: Vec<String> = (0..KEYS).map(|i| format!("race:{i}")).collect();
    let mut writers = Vec::new();
    for w in 0..3 {
        let mut c = srv.raw().await;
        let keys = keys.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..ROUNDS {
                let k = &keys[(i * 7 + w) % KEYS];
                c.val(&["INCR", k.as_str()]).await;
            }
        }));
    }
    let mut readers = Vec::new();
    for r in 0..3 {
        let mut c = tracking_client(&srv, &[]).await;
        let keys = keys.clone();
        readers.push(tokio::spawn(async move {
            let mut cache: std::collections::HashMap<String, Option<Vec<u8>>> = Default::default();
            let mut invalidations = 0;
            for i in 0..ROUNDS {
                let k = keys[(i * 5 + r) % KEYS].clone();
                c.send_cmd(&["GET", k.as_str()]).await;
                loop {
                    match c.read_value().await {
                        Resp::Push(p) => {
                            invalidations += 1;
                            apply_invalidation(&mut cache, &p)
                        }
                        Resp::Bulk(v) => {
                            cache.insert(k.clone(), Some(v));
                            break;
                        }
                        Resp::Null => {
                            cache.insert(k.clone(), None);
                            break;
                        }
                        other => panic!("unexpected reply {other:?}"),
                    }
                }
            }
            (c, cache, invalidations)
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let mut check = srv.raw().await;
    let mut invalidations = 0;
    for r in readers {
        let (mut c, mut cache, during_reads) = r.await.unwrap();
        invalidations += during_reads;
        // Everything sent before PONG is drained first.
        c.send_cmd(&["PING"]).await;
        loop {
            match c.read_value().await {
                Resp::Push(p) => {
                    invalidations += 1;
                    apply_invalidation(&mut cache, &p)
                }
                Resp::Simple(s) if s == "PONG" => break,
                other => panic!("unexpected reply {other:?}"),
            }
        }
        for (key, held) in cache {
            let now = match check.val(&["GET", key.as_str()]).await {
                Resp::Bulk(v) => Some(v),
                _ => None,
            };
            assert_eq!(held, now, "{key}: a cached value outlived a write");
        }
    }
    // Not vacuous: the writers did invalidate what the readers held.
    assert!(invalidations > 0, "no invalidation was received");
}

fn apply_invalidation(
    cache: &mut std::collections::HashMap<String, Option<Vec<u8>>>,
    push: &[Resp],
) {
    assert_eq!(push[0], Resp::bulk("invalidate"));
    for k in push[1].items() {
        cache.remove(k.as_str());
    }
}
