//! The observability listener (`src/http`): `/metrics` scraped while load
//! runs and checked against INFO and against what the test did, parsed by
//! a real Prometheus text-format parser (`prometheus-parse`); the dashboard
//! snapshot; `/healthz`; basic auth behind `requirepass`; CONFIG SET
//! rebinding; and `redis-cli --stat` showing non-zero rates under load.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{Raw, TestServer, IO_TIMEOUT};
use prometheus_parse::{LineInfo, Scrape, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server with per-key metrics for `queue:*`, `stream:*` and `chan:*`,
/// and its HTTP listener on an ephemeral loopback port.
async fn start(extra: &[(&str, &str)]) -> (TestServer, u16) {
    let mut settings = vec![("metrics-keys", "queue:* stream:* chan:*")];
    settings.extend_from_slice(extra);
    let srv = TestServer::start_with(&settings).await;
    let inner = srv.server().expect("in-process server").clone();
    let port = cinnabar::http::start_ephemeral(&inner).expect("http listener binds");
    assert_ne!(port, 0);
    (srv, port)
}

struct HttpReply {
    status: u16,
    headers: String,
    body: String,
}

/// One HTTP/1.1 GET over a fresh connection (`Connection: close`).
async fn get(port: u16, path: &str, auth: Option<&str>) -> HttpReply {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("http connect");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: Basic {a}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(IO_TIMEOUT, s.read_to_end(&mut buf))
        .await
        .expect("http reply in time")
        .expect("http read");
    let text = String::from_utf8(buf).expect("utf-8 reply");
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    HttpReply {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// Scrapes /metrics and parses it; every sample line must be one the
/// parser understands (it skips what it does not, so this is checked too).
async fn scrape(port: u16) -> Scrape {
    let r = get(port, "/metrics", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.headers
            .contains("content-type: text/plain; version=0.0.4"),
        "{}",
        r.headers
    );
    for line in r.body.lines() {
        if matches!(LineInfo::parse(line), LineInfo::Ignored) {
            panic!("line the Prometheus parser cannot read: {line:?}");
        }
    }
    Scrape::parse(r.body.lines().map(|l| Ok(l.to_string()))).expect("prometheus text parses")
}

fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(h) => h.iter().map(|b| b.count).fold(0.0, f64::max),
            Value::Summary(_) => f64::NAN,
        })
}

#[track_caller]
fn must(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    value(s, metric, labels).unwrap_or_else(|| panic!("{metric}{labels:?} missing"))
}

/// `INFO <section>` as a field map.
async fn info(c: &mut Raw, section: &str) -> HashMap<String, String> {
    let text = c.val(&["INFO", section]).await.as_str().to_string();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// `cmdstat_<name>:calls=N,...` → N.
fn cmdstat_calls(stats: &HashMap<String, String>, name: &str) -> u64 {
    stats
        .get(&format!("cmdstat_{name}"))
        .and_then(|v| v.split(',').next())
        .and_then(|c| c.strip_prefix("calls="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn metrics_under_load_agree_with_info_and_with_what_was_done() {
    let (srv, http) = start(&[]).await;
    let mut c = srv.raw().await;

    // Known queue, stream and channel state.
    for i in 0..7 {
        c.int(&["RPUSH", "queue:jobs", &format!("job{i}")]).await;
    }
    for i in 0..10 {
        c.val(&["XADD", "stream:events", "*", "n", &i.to_string()])
            .await;
    }
    c.expect(
        &["XGROUP", "CREATE", "stream:events", "workers", "0"],
        "+OK\r\n",
    )
    .await;
    let read = c
        .val(&[
            "XREADGROUP",
            "GROUP",
            "workers",
            "alice",
            "COUNT",
            "4",
            "STREAMS",
            "stream:events",
            ">",
        ])
        .await;
    let delivered = read.items()[0].items()[1].items().to_vec();
    assert_eq!(delivered.len(), 4);
    let first_id = delivered[0].items()[0].as_str().to_string();
    assert_eq!(
        c.int(&["XACK", "stream:events", "workers", &first_id])
            .await,
        1
    );
    let mut sub = srv.raw().await;
    sub.send_cmd(&["SUBSCRIBE", "chan:news"]).await;
    sub.read_frame().await;
    assert_eq!(c.int(&["PUBLISH", "chan:news", "hello"]).await, 1);
    sub.read_frame().await;

    // Load: four clients, 1,500 SET + 1,500 GET each, while /metrics is
    // scraped each time the load has made another 500 round trips (paced by
    // the load itself, not by a clock); every scrape parses and the command
    // count never goes back.
    const CLIENTS: usize = 4;
    const PER_CLIENT: usize = 1500;
    let progress = Arc::new(tokio::sync::Notify::new());
    let done = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for w in 0..CLIENTS {
        let mut lc = srv.raw().await;
        let progress = progress.clone();
        load.push(tokio::spawn(async move {
            for i in 0..PER_CLIENT {
                let key = format!("load:{w}:{}", i % 50);
                lc.expect(&["SET", &key, "v"], "+OK\r\n").await;
                lc.expect(&["GET", &key], "$1\r\nv\r\n").await;
                if i % 125 == 124 {
                    progress.notify_one();
                }
            }
        }));
    }
    let scraper = {
        let (done, progress) = (done.clone(), progress.clone());
        tokio::spawn(async move {
            let mut scrapes = 0u32;
            let mut last = 0.0;
            while !done.load(Ordering::Acquire) {
                progress.notified().await;
                let s = scrape(http).await;
                let now = must(&s, "cinnabar_commands_processed_total", &[]);
                assert!(now >= last, "commands_processed went back: {last} -> {now}");
                last = now;
                scrapes += 1;
            }
            scrapes
        })
    };
    for t in load {
        t.await.unwrap();
    }
    done.store(true, Ordering::Release);
    progress.notify_one();
    let scrapes = scraper.await.unwrap();
    assert!(scrapes >= 2, "scrapes during the load: {scrapes}");

    // Quiet now: a scrape, then INFO, see the same counts (INFO reports
    // the commands before itself).
    let s = scrape(http).await;
    let stats = info(&mut c, "stats").await;
    let cmdstats = info(&mut c, "commandstats").await;
    let total = must(&s, "cinnabar_commands_processed_total", &[]);
    assert_eq!(
        total,
        stats["total_commands_processed"].parse::<f64>().unwrap()
    );
    let n = (CLIENTS * PER_CLIENT) as f64;
    assert_eq!(must(&s, "cinnabar_commands_total", &[("cmd", "set")]), n);
    assert_eq!(must(&s, "cinnabar_commands_total", &[("cmd", "get")]), n);
    assert_eq!(cmdstat_calls(&cmdstats, "set") as f64, n);
    assert_eq!(
        must(&s, "cinnabar_commands_total", &[("cmd", "xgroup|create")]),
        1.0
    );
    assert_eq!(
        must(&s, "cinnabar_keyspace_hits_total", &[]),
        stats["keyspace_hits"].parse::<f64>().unwrap()
    );
    // Every GET found its key.
    assert!(must(&s, "cinnabar_keyspace_hits_total", &[]) >= n);
    // The latency histogram holds every SET (latency-tracking is on).
    let set_hist = s
        .samples
        .iter()
        .find(|x| {
            x.metric == "cinnabar_command_latency_seconds" && x.labels.get("cmd") == Some("set")
        })
        .expect("SET latency histogram");
    match &set_hist.value {
        Value::Histogram(b) => {
            let inf = b
                .iter()
                .find(|x| x.less_than.is_infinite())
                .expect("+Inf bucket");
            assert_eq!(inf.count, n);
            assert!(
                b.windows(2).all(|w| w[0].count <= w[1].count),
                "cumulative buckets"
            );
        }
        other => panic!("not a histogram: {other:?}"),
    }

    // The queue, the stream group and the channel, as the test left them.
    let q = [("db", "db0"), ("key", "queue:jobs")];
    assert_eq!(must(&s, "cinnabar_list_length", &q), 7.0);
    assert_eq!(must(&s, "cinnabar_list_blocked_clients", &q), 0.0);
    let st = [("db", "db0"), ("key", "stream:events")];
    assert_eq!(must(&s, "cinnabar_stream_length", &st), 10.0);
    let g = [
        ("db", "db0"),
        ("key", "stream:events"),
        ("group", "workers"),
    ];
    assert_eq!(
        must(&s, "cinnabar_stream_group_lag", &g),
        6.0,
        "10 added, 4 read"
    );
    assert_eq!(must(&s, "cinnabar_stream_group_entries_read", &g), 4.0);
    assert_eq!(
        must(&s, "cinnabar_stream_group_pending", &g),
        3.0,
        "4 read, 1 acked"
    );
    assert_eq!(must(&s, "cinnabar_stream_group_consumers", &g), 1.0);
    assert_eq!(
        must(&s, "cinnabar_stream_group_pending_over_deliveries", &g),
        0.0
    );
    assert!(must(&s, "cinnabar_stream_group_oldest_pending_idle_seconds", &g) >= 0.0);
    // Lag and pending agree with XINFO GROUPS.
    let groups = c.val(&["XINFO", "GROUPS", "stream:events"]).await;
    let grp = &groups.items()[0];
    assert_eq!(grp.get("lag").map(|v| v.as_int()), Some(6));
    assert_eq!(grp.get("pending").map(|v| v.as_int()), Some(3));
    assert_eq!(
        must(
            &s,
            "cinnabar_pubsub_channel_subscribers",
            &[("channel", "chan:news")]
        ),
        1.0
    );
    assert_eq!(must(&s, "cinnabar_pubsub_channels", &[]), 1.0);
    assert_eq!(
        must(&s, "cinnabar_pubsub_messages_delivered_total", &[]),
        1.0
    );
    assert_eq!(must(&s, "cinnabar_metrics_keys_truncated", &[]), 0.0);
    // The load's keys are not per-key metrics (metrics-keys does not name them).
    assert!(value(&s, "cinnabar_list_length", &[("key", "load:0:0")]).is_none());
    let keyspace = info(&mut c, "keyspace").await;
    let db0 = &keyspace["db0"];
    let keys: f64 = db0
        .split(',')
        .next()
        .and_then(|k| k.strip_prefix("keys="))
        .and_then(|k| k.parse().ok())
        .unwrap();
    assert_eq!(must(&s, "cinnabar_db_keys", &[("db", "db0")]), keys);
    assert_eq!(keys, (2 + CLIENTS * 50) as f64);
}

#[tokio::test]
async fn dashboard_snapshot_and_assets() {
    let (srv, http) = start(&[]).await;
    let mut c = srv.raw().await;
    c.int(&["RPUSH", "queue:mail", "a", "b"]).await;
    // A worker blocked on an empty queue makes that queue show up too.
    let mut worker = srv.raw().await;
    worker.send_cmd(&["BLPOP", "queue:idle", "0"]).await;
    common::poll_until(
        &mut c,
        &["INFO", "clients"],
        500,
        "the worker blocks",
        |r| r.as_str().contains("blocked_clients:1"),
    )
    .await;
    let r = get(http, "/api/overview", None).await;
    assert_eq!(r.status, 200);
    assert!(r.headers.contains("content-type: application/json"));
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let queues = v["queues"].as_array().unwrap();
    let find = |k: &str| queues.iter().find(|q| q["key"] == k).cloned();
    let mail = find("queue:mail").expect("queue:mail listed");
    assert_eq!(
        (mail["length"].as_u64(), mail["blocked"].as_u64()),
        (Some(2), Some(0))
    );
    let idle = find("queue:idle").expect("queue:idle listed (a consumer waits on it)");
    assert_eq!(
        (idle["length"].as_u64(), idle["blocked"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(v["clients"]["blocked_clients"].as_u64(), Some(1));

    let page = get(http, "/", None).await;
    assert_eq!(page.status, 200);
    assert!(page.headers.contains("text/html"));
    assert!(page.body.contains("<script src=\"/app.js\">"));
    // Nothing is loaded from elsewhere.
    assert!(!page.body.contains("http://") && !page.body.contains("https://"));
    let js = get(http, "/app.js", None).await;
    assert_eq!(js.status, 200);
    assert!(js.body.contains("/api/overview"));
    assert_eq!(get(http, "/style.css", None).await.status, 200);
    assert_eq!(get(http, "/nope", None).await.status, 404);
    let health = get(http, "/healthz", None).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
}

#[tokio::test]
async fn basic_auth_behind_requirepass() {
    let (_srv, http) = start(&[("requirepass", common::TEST_PASSWORD)]).await;
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let r = get(http, "/metrics", None).await;
    assert_eq!(r.status, 401);
    assert!(
        r.headers.contains("www-authenticate: basic"),
        "{}",
        r.headers
    );
    assert_eq!(get(http, "/", None).await.status, 401);
    assert_eq!(
        get(http, "/api/overview", Some(&b64("default:wrong")))
            .await
            .status,
        401
    );
    assert_eq!(get(http, "/metrics", Some("not base64!")).await.status, 401);
    let ok = get(
        http,
        "/metrics",
        Some(&b64(&format!("default:{}", common::TEST_PASSWORD))),
    )
    .await;
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("cinnabar_commands_processed_total"));
    // An empty user name is `default`, as AUTH <password>.
    let ok = get(
        http,
        "/",
        Some(&b64(&format!(":{}", common::TEST_PASSWORD))),
    )
    .await;
    assert_eq!(ok.status, 200);
    // The liveness probe needs no secret and tells nothing else.
    assert_eq!(get(http, "/healthz", None).await.status, 200);
}

#[tokio::test]
async fn acl_user_credentials_open_the_endpoint() {
    let (srv, http) = start(&[]).await;
    let mut c = srv.raw().await;
    c.expect(
        &["ACL", "SETUSER", "scraper", "on", ">scrape-pw", "+info"],
        "+OK\r\n",
    )
    .await;
    // The default user is open: no credentials needed yet.
    assert_eq!(get(http, "/metrics", None).await.status, 200);
    c.expect(
        &["ACL", "SETUSER", "default", "resetpass", ">admin-pw"],
        "+OK\r\n",
    )
    .await;
    assert_eq!(get(http, "/metrics", None).await.status, 401);
    use base64::Engine as _;
    let cred = base64::engine::general_purpose::STANDARD.encode("scraper:scrape-pw");
    assert_eq!(get(http, "/metrics", Some(&cred)).await.status, 200);
    c.expect(&["ACL", "SETUSER", "scraper", "off"], "+OK\r\n")
        .await;
    assert_eq!(
        get(http, "/metrics", Some(&cred)).await.status,
        401,
        "a disabled user"
    );
}

#[tokio::test]
async fn config_set_http_port_rebinds() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    let v = c.val(&["CONFIG", "GET", "http-port"]).await;
    assert_eq!(v.strings(), vec!["http-port", "0"]);
    // CONFIG GET * stays Redis's list.
    assert!(!c
        .val(&["CONFIG", "GET", "*"])
        .await
        .strings()
        .iter()
        .any(|s| s == "http-port"));
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    c.expect(
        &["CONFIG", "SET", "http-port", &port.to_string()],
        "+OK\r\n",
    )
    .await;
    assert_eq!(srv.server().unwrap().http.port(), port);
    assert_eq!(get(port, "/healthz", None).await.status, 200);
    let info_port = common::info_field(&mut c, "server", "http_port").await;
    assert_eq!(info_port, port as i64);
    // A port in use is refused, and the old one keeps serving.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port().to_string();
    let r = c.cmd(&["CONFIG", "SET", "http-port", &taken_port]).await;
    assert!(
        String::from_utf8_lossy(&r)
            .starts_with("-ERR CONFIG SET failed (possibly related to argument 'http-port')"),
        "{}",
        common::show(&r)
    );
    assert_eq!(
        c.val(&["CONFIG", "GET", "http-port"]).await.strings()[1],
        port.to_string()
    );
    assert_eq!(get(port, "/healthz", None).await.status, 200);
    let r = c.cmd(&["CONFIG", "SET", "http-port", "70000"]).await;
    assert!(r.starts_with(b"-ERR"), "{}", common::show(&r));
    // Port 0 turns it off.
    c.expect(&["CONFIG", "SET", "http-port", "0"], "+OK\r\n")
        .await;
    assert_eq!(srv.server().unwrap().http.port(), 0);
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err());
}

/// `redis-cli --stat` against the server under load: its requests column
/// shows a non-zero rate. Skipped (with the reason printed) without redis-cli.
#[tokio::test]
async fn redis_cli_stat_shows_nonzero_rates_under_load() {
    if std::process::Command::new("redis-cli")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: redis-cli is not installed (Debian: apt-get install redis-tools)");
        return;
    }
    let srv = TestServer::start().await;
    let port = srv.port;
    let stop = Arc::new(AtomicBool::new(false));
    // Load until the reader saw what it wants, at most 2,000,000 commands.
    let mut load = Vec::new();
    for w in 0..2 {
        let mut lc = srv.raw().await;
        let stop = stop.clone();
        load.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Acquire) && n < 1_000_000 {
                lc.expect(&["SET", &format!("stat:{w}"), "v"], "+OK\r\n")
                    .await;
                n += 1;
            }
            n
        }));
    }
    let reader = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut child = std::process::Command::new("redis-cli")
            .args(["-p", &port.to_string(), "--stat", "-i", "0.1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-cli starts");
        let out = child.stdout.take().unwrap();
        let mut best = 0u64;
        let mut lines = Vec::new();
        // A bounded number of lines (each 0.1 s apart): 200 at most.
        for line in std::io::BufReader::new(out).lines().take(200) {
            let Ok(line) = line else { break };
            // "keys  mem  clients blocked requests  connections":
            // requests is "N (+delta)".
            if let Some(delta) = line
                .split("(+")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .and_then(|d| d.trim().parse::<u64>().ok())
            {
                best = best.max(delta);
            }
            lines.push(line);
            if best > 0 && lines.len() >= 5 {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        (best, lines)
    });
    let (best, lines) = reader.await.unwrap();
    stop.store(true, Ordering::Release);
    let mut total = 0;
    for t in load {
        total += t.await.unwrap();
    }
    assert!(
        lines.iter().any(|l| l.contains("requests")),
        "the --stat header: {lines:?}"
    );
    assert!(best > 0, "no non-zero request delta in {lines:?}");
    assert!(total > 0);
}
