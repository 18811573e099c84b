//! Shared helpers for the integration tests.
//!
//! - [`TestServer::start`] starts a Cinnabar server in-process on `127.0.0.1:0`
//!   (one per test, on the test's own tokio runtime, so tests are isolated and
//!   run in parallel). DEBUG is enabled so tests can switch active expiry off.
//! - [`Raw`] is a raw-socket RESP client: it sends bytes and reads back exactly
//!   one reply frame (RESP2 or RESP3) at a time, so tests can assert exact bytes.
//! - [`TestServer::client`] gives a `redis` crate connection for typed tests.
//!
//! To check the expectations themselves against real Redis, run a test file
//! against an external `redis-server` (it must allow DEBUG):
//!
//! ```text
//! redis-server --port 7790 --save '' --enable-debug-command yes &
//! CINNABAR_TEST_EXTERNAL_PORT=7790 cargo test --test expire -- --test-threads=1
//! ```
//!
//! In that mode every test flushes the external server first; tests about
//! Cinnabar-only behaviour check [`TestServer::is_external`] and skip.

#![allow(dead_code)]

pub mod process;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// The server's own allocator, so `used_memory` and `maxmemory` work in tests as in the binary.
#[global_allocator]
static GLOBAL: cinnabar::alloc::CountingAlloc = cinnabar::alloc::CountingAlloc;

/// Upper bound for any single read: a safety net against hangs, never a synchroniser.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The password tests use when they turn `requirepass` on.
pub const TEST_PASSWORD: &str = "cinnabar-test-pass";

pub struct TestServer {
    pub port: u16,
    srv: Option<Arc<cinnabar::server::Server>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(&[]).await
    }

    /// Starts a server with extra startup config directives (as in redis.conf).
    pub async fn start_with(settings: &[(&str, &str)]) -> TestServer {
        if let Some(port) = external_port() {
            reset_external(port, settings).await;
            return TestServer { port, srv: None };
        }
        let config = cinnabar::config::Config::new();
        config.set("port", "0", true).unwrap();
        config.set("bind", "127.0.0.1", true).unwrap();
        config.set("enable-debug-command", "yes", true).unwrap();
        // As Redis's own test config: tests point `dir` and `dbfilename` at their files.
        config.set("enable-protected-configs", "yes", true).unwrap();
        for (k, v) in settings {
            config
                .set(k, v, true)
                .unwrap_or_else(|e| panic!("config {k} {v}: {e}"));
        }
        let (srv, port, _handle) = cinnabar::start(config).await.expect("server starts");
        TestServer {
            port,
            srv: Some(srv),
        }
    }

    /// True when the tests run against an external server (real Redis).
    pub fn is_external(&self) -> bool {
        self.srv.is_none()
    }

    /// The in-process server, when there is one.
    pub fn server(&self) -> Option<&Arc<cinnabar::server::Server>> {
        self.srv.as_ref()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub async fn raw(&self) -> Raw {
        Raw::connect(self.port).await
    }

    /// Turns keyspace notifications on with `flags` and returns a client
    /// PSUBSCRIBEd to `pattern` (its confirmation already read).
    pub async fn event_subscriber(&self, flags: &str, pattern: &str) -> Raw {
        let mut c = self.raw().await;
        c.expect(
            &["CONFIG", "SET", "notify-keyspace-events", flags],
            b"+OK\r\n",
        )
        .await;
        let mut sub = self.raw().await;
        sub.send_cmd(&["PSUBSCRIBE", pattern]).await;
        sub.read_frame().await;
        sub
    }

    /// A `redis` crate connection (RESP2).
    pub async fn client(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("redis client connects")
    }

    /// A `redis` crate connection that negotiates RESP3 with HELLO 3.
    pub async fn client_resp3(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(format!("{}?protocol=resp3", self.url()))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("redis client connects with RESP3")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(srv) = &self.srv {
            srv.shutdown();
        }
    }
}

pub fn external_port() -> Option<u16> {
    std::env::var("CINNABAR_TEST_EXTERNAL_PORT")
        .ok()
        .map(|p| p.parse().expect("CINNABAR_TEST_EXTERNAL_PORT is a port"))
}

/// Puts an external server back in a known state before a test.
async fn reset_external(port: u16, settings: &[(&str, &str)]) {
    let mut c = Raw::connect(port).await;
    // A previous test may have left a password set.
    let _ = c.cmd(&["AUTH", TEST_PASSWORD]).await;
    for (k, v) in [
        ("requirepass", ""),
        ("notify-keyspace-events", ""),
        ("proto-max-bulk-len", "536870912"),
        ("maxclients", "10000"),
        ("timeout", "0"),
        ("hash-max-listpack-entries", "512"),
        ("hash-max-listpack-value", "64"),
        ("set-max-intset-entries", "512"),
    ] {
        c.cmd(&["CONFIG", "SET", k, v]).await;
    }
    c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]).await;
    c.cmd(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        .await;
    c.cmd(&["CLIENT", "KILL", "TYPE", "pubsub", "SKIPME", "yes"])
        .await;
    c.cmd(&["FLUSHALL"]).await;
    c.cmd(&["CONFIG", "RESETSTAT"]).await;
    for (k, v) in settings {
        let r = c.cmd(&["CONFIG", "SET", k, v]).await;
        assert_eq!(r, b"+OK\r\n", "external CONFIG SET {k} {v}");
    }
}

/// Encodes a command as a RESP2 multibulk.
pub fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Bytes shown with escapes, for assertion messages.
pub fn show(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    s
}

/// Asserts two byte strings are equal, printing both escaped on failure.
#[track_caller]
pub fn assert_bytes(actual: &[u8], expected: &[u8], context: &str) {
    if actual != expected {
        panic!(
            "{context}\n  expected: \"{}\"\n    actual: \"{}\"",
            show(expected),
            show(actual)
        );
    }
}

/// A parsed reply, RESP2 or RESP3.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    /// `$-1`
    NilBulk,
    /// `*-1`
    NilArray,
    /// RESP3 `_`
    Null,
    Array(Vec<Resp>),
    Map(Vec<(Resp, Resp)>),
    Set(Vec<Resp>),
    Push(Vec<Resp>),
    /// RESP3 `,` (kept as the text sent).
    Double(String),
    Bool(bool),
    BigNumber(String),
    Verbatim(String, Vec<u8>),
    /// RESP3 `|` attributes, then the reply they decorate.
    Attribute(Vec<(Resp, Resp)>, Box<Resp>),
}

impl Resp {
    pub fn bulk(s: &str) -> Resp {
        Resp::Bulk(s.as_bytes().to_vec())
    }

    pub fn as_str(&self) -> &str {
        match self {
            Resp::Simple(s) | Resp::Error(s) | Resp::Double(s) | Resp::BigNumber(s) => s,
            Resp::Bulk(b) | Resp::Verbatim(_, b) => std::str::from_utf8(b).expect("utf-8 reply"),
            other => panic!("not a string reply: {other:?}"),
        }
    }

    pub fn as_int(&self) -> i64 {
        match self {
            Resp::Int(n) => *n,
            other => panic!("not an integer reply: {other:?}"),
        }
    }

    pub fn items(&self) -> &[Resp] {
        match self {
            Resp::Array(v) | Resp::Set(v) | Resp::Push(v) => v,
            other => panic!("not an aggregate reply: {other:?}"),
        }
    }

    /// Map entries (RESP3 map, or a RESP2 flat array of pairs).
    pub fn pairs(&self) -> Vec<(Resp, Resp)> {
        match self {
            Resp::Map(p) => p.clone(),
            Resp::Array(v) => {
                assert!(v.len() % 2 == 0, "odd-length array is not a map: {v:?}");
                v.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect()
            }
            other => panic!("not a map reply: {other:?}"),
        }
    }

    /// Value of a string-keyed map entry.
    pub fn get(&self, key: &str) -> Option<Resp> {
        self.pairs()
            .into_iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    /// The strings of an array of bulk/simple strings.
    pub fn strings(&self) -> Vec<String> {
        self.items()
            .iter()
            .map(|r| r.as_str().to_string())
            .collect()
    }
}

/// Parses one complete frame at the start of `buf`: the value and its length in
/// bytes, or `None` if `buf` does not hold a whole frame yet.
pub fn parse_frame(buf: &[u8]) -> Option<(Resp, usize)> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[1..line_end]).expect("utf-8 header line");
    let after = line_end + 2;
    let num = || -> i64 {
        line.parse()
            .unwrap_or_else(|_| panic!("bad length line {line:?}"))
    };
    let aggregate = |n: usize, mut pos: usize| -> Option<(Vec<Resp>, usize)> {
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            let (v, used) = parse_frame(&buf[pos..])?;
            items.push(v);
            pos += used;
        }
        Some((items, pos))
    };
    let pairs = |n: usize, pos: usize| -> Option<(Vec<(Resp, Resp)>, usize)> {
        let (items, end) = aggregate(n * 2, pos)?;
        let mut it = items.into_iter();
        let mut out = Vec::with_capacity(n);
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            out.push((k, v));
        }
        Some((out, end))
    };
    match buf[0] {
        b'+' => Some((Resp::Simple(line.to_string()), after)),
        b'-' => Some((Resp::Error(line.to_string()), after)),
        b':' => Some((Resp::Int(num()), after)),
        b',' => Some((Resp::Double(line.to_string()), after)),
        b'(' => Some((Resp::BigNumber(line.to_string()), after)),
        b'#' => Some((Resp::Bool(line == "t"), after)),
        b'_' => Some((Resp::Null, after)),
        b'$' | b'=' | b'!' => {
            let n = num();
            if n < 0 {
                return Some((Resp::NilBulk, after));
            }
            let end = after + n as usize;
            if buf.len() < end + 2 {
                return None;
            }
            assert_eq!(&buf[end..end + 2], b"\r\n", "bulk not terminated by CRLF");
            let body = buf[after..end].to_vec();
            let v = match buf[0] {
                b'=' => Resp::Verbatim(
                    String::from_utf8_lossy(&body[..3]).into_owned(),
                    body[4..].to_vec(),
                ),
                b'!' => Resp::Error(String::from_utf8_lossy(&body).into_owned()),
                _ => Resp::Bulk(body),
            };
            Some((v, end + 2))
        }
        b'*' | b'~' | b'>' => {
            let n = num();
            if n < 0 {
                return Some((Resp::NilArray, after));
            }
            let (items, end) = aggregate(n as usize, after)?;
            let v = match buf[0] {
                b'*' => Resp::Array(items),
                b'~' => Resp::Set(items),
                _ => Resp::Push(items),
            };
            Some((v, end))
        }
        b'%' => {
            let (p, end) = pairs(num() as usize, after)?;
            Some((Resp::Map(p), end))
        }
        b'|' => {
            let (attrs, end) = pairs(num() as usize, after)?;
            let (inner, used) = parse_frame(&buf[end..])?;
            Some((Resp::Attribute(attrs, Box::new(inner)), end + used))
        }
        other => panic!(
            "unknown RESP type byte {:?} in {}",
            other as char,
            show(buf)
        ),
    }
}

/// A raw RESP connection: exact bytes in, exact bytes out.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub async fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        Raw::from_stream(stream)
    }

    /// A connection made some other way (e.g. a socket with a small receive buffer).
    pub fn from_stream(stream: TcpStream) -> Raw {
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes bytes as they are (one write).
    pub async fn send(&mut self, data: impl AsRef<[u8]>) {
        self.stream.write_all(data.as_ref()).await.expect("write");
    }

    /// Writes a command encoded as a multibulk.
    pub async fn send_cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let data = encode(args);
        self.send(data).await;
    }

    /// Reads more bytes into the buffer; returns false at end of stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16384];
        let n = tokio::time::timeout(IO_TIMEOUT, self.stream.read(&mut chunk))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no reply within {IO_TIMEOUT:?}; buffered: \"{}\"",
                    show(&self.buf)
                )
            })
            .expect("read");
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// Reads exactly one reply frame and returns its bytes.
    pub async fn read_frame(&mut self) -> Vec<u8> {
        loop {
            if !self.buf.is_empty() {
                if let Some((_, len)) = parse_frame(&self.buf) {
                    return self.buf.drain(..len).collect();
                }
            }
            if !self.fill().await {
                panic!("connection closed; buffered: \"{}\"", show(&self.buf));
            }
        }
    }

    /// Reads `n` reply frames and returns their bytes back to back.
    pub async fn read_frames(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.extend(self.read_frame().await);
        }
        out
    }

    /// Reads one reply and parses it.
    pub async fn read_value(&mut self) -> Resp {
        let frame = self.read_frame().await;
        parse_frame(&frame).expect("complete frame").0
    }

    /// Sends a command and returns the bytes of its reply.
    pub async fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send_cmd(args).await;
        self.read_frame().await
    }

    /// Sends a command and returns its parsed reply.
    pub async fn val<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Resp {
        self.send_cmd(args).await;
        self.read_value().await
    }

    /// Sends a command and asserts the exact bytes of its reply.
    pub async fn expect<A: AsRef<[u8]>>(&mut self, args: &[A], expected: impl AsRef<[u8]>) {
        let got = self.cmd(args).await;
        let shown: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
            .collect();
        assert_bytes(&got, expected.as_ref(), &format!("reply to {shown:?}"));
    }

    /// Sends a command and asserts it replies with an integer.
    pub async fn int<A: AsRef<[u8]>>(&mut self, args: &[A]) -> i64 {
        match self.val(args).await {
            Resp::Int(n) => n,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }

    /// Reads until the server closes the connection; returns everything read.
    pub async fn read_to_close(&mut self) -> Vec<u8> {
        while self.fill().await {}
        std::mem::take(&mut self.buf)
    }

    /// Asserts that nothing was received besides what has been read: a PING
    /// round trip must come back as the very next frame.
    pub async fn assert_idle(&mut self) {
        let got = self.cmd(&["PING"]).await;
        assert_bytes(
            &got,
            b"+PONG\r\n",
            "next frame after PING (something unexpected was pending)",
        );
    }
}

/// Current server time in unix milliseconds, from TIME.
pub async fn server_time_ms(c: &mut Raw) -> u64 {
    let t = c.val(&["TIME"]).await;
    let parts = t.strings();
    let secs: u64 = parts[0].parse().unwrap();
    let micros: u64 = parts[1].parse().unwrap();
    secs * 1000 + micros / 1000
}

/// Polls the server's clock (TIME, which touches no key) until it passes
/// `deadline_ms`. Bounded: panics if the clock never gets there.
pub async fn wait_until_server_time(c: &mut Raw, deadline_ms: u64) {
    for _ in 0..2000 {
        if server_time_ms(c).await > deadline_ms {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("server clock never passed {deadline_ms}");
}

/// Sends `args` until `ok` accepts the reply, at most `tries` times with a
/// short pause between tries; panics with `what` if it never does. For waiting
/// on expiry, which is time-driven: the condition is asserted, never the time.
pub async fn poll_until<A: AsRef<[u8]>>(
    c: &mut Raw,
    args: &[A],
    tries: usize,
    what: &str,
    mut ok: impl FnMut(&Resp) -> bool,
) -> Resp {
    let mut last = Resp::Null;
    for _ in 0..tries {
        last = c.val(args).await;
        if ok(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition never became true: {what}; last reply {last:?}");
}

/// `n` key names whose hash slots are all distinct (so they spread over every shard).
pub fn keys_on_distinct_slots(n: usize) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < n {
        let k = format!("key:{i}");
        if seen.insert(cinnabar::keyspace::slot::key_slot(k.as_bytes())) {
            out.push(k);
        }
        i += 1;
    }
    out
}

/// Makes `key` (in database 0) a list, to test WRONGTYPE: with RPUSH where the
/// server has it (real Redis, or Cinnabar once lists land), else by planting
/// a list value directly in the in-process server's keyspace.
pub async fn make_list(srv: &TestServer, c: &mut Raw, key: &str) {
    let r = c.val(&["RPUSH", key, "element"]).await;
    if r == Resp::Int(1) {
        return;
    }
    assert!(
        matches!(&r, Resp::Error(e) if e.starts_with("ERR unknown command 'RPUSH'")),
        "RPUSH {key}: {r:?}"
    );
    let srv = srv.server().expect("an in-process server");
    let shard = srv.keyspace.shard_of(key.as_bytes());
    let mut locked = srv.keyspace.lock(vec![shard]);
    locked.shard(shard).dbs[0].insert(
        &bytes::Bytes::copy_from_slice(key.as_bytes()),
        cinnabar::keyspace::Value::List(Default::default()),
        false,
        0,
    );
}

/// A numeric field of INFO (e.g. `blocked_clients`), read over `c`.
pub async fn info_field(c: &mut Raw, section: &str, field: &str) -> i64 {
    let info = c.val(&["INFO", section]).await;
    let text = info.as_str().to_string();
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}: {text}"))
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("INFO {field} is not a number"))
}

impl TestServer {
    /// Polls INFO `blocked_clients` until it equals `n` (bounded: panics if it
    /// never does). The way to know that clients sent to block have blocked.
    pub async fn wait_for_blocked_clients(&self, n: i64) {
        let mut c = self.raw().await;
        wait_for_blocked_clients_on(&mut c, n).await;
    }
}

/// [`TestServer::wait_for_blocked_clients`] over an existing connection.
pub async fn wait_for_blocked_clients_on(c: &mut Raw, n: i64) {
    let mut last = -1;
    for _ in 0..2000 {
        last = info_field(c, "clients", "blocked_clients").await;
        if last == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("blocked_clients never became {n} (last {last})");
}
