//! End-to-end load generator for Cinnabar (and any Redis-compatible server).
//!
//! Raw tokio TcpStreams, hand-encoded RESP2, bounded pipeline depth, latency per
//! request in an HDR histogram (µs). Every workload talks to 127.0.0.1 only and
//! stops by itself (bounded in time and in count).
//!
//! ```text
//! cargo bench --bench loadgen -- pipeline --port 6379 --cmd set --conns 50 --depth 32 --seconds 5
//! cargo bench --bench loadgen -- pubsub   --port 6379 --subs 100 --channels 1 --pubs 1 [--pattern]
//! cargo bench --bench loadgen -- queue    --port 6379 --producers 4 --consumers 4
//! cargo bench --bench loadgen -- memory   --port 6379 --elements 1000000
//! cargo bench --bench loadgen -- stream   --port 6379
//! ```
//! Each run prints exactly one JSON line on stdout (diagnostics go to stderr),
//! including the load generator's own CPU time (getrusage) so a report can show
//! whether the generator itself was the bottleneck. Exit status: 0 ok, 1 failed
//! check or I/O error, 2 command unsupported by the server (e.g. XADD).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---------------------------------------------------------------- options

struct Opts {
    workload: String,
    kv: HashMap<String, String>,
}

impl Opts {
    fn parse() -> Opts {
        let mut workload = String::new();
        let mut kv = HashMap::new();
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a == "--bench" {
                // appended by `cargo bench` to harness=false targets
            } else if let Some(k) = a.strip_prefix("--") {
                if i + 1 < args.len() && !args[i + 1].starts_with("--") {
                    kv.insert(k.to_string(), args[i + 1].clone());
                    i += 1;
                } else {
                    kv.insert(k.to_string(), "true".to_string());
                }
            } else if workload.is_empty() {
                workload = a.clone();
            } else {
                die(&format!("unexpected argument {a:?}"));
            }
            i += 1;
        }
        if workload.is_empty() {
            eprintln!("usage: loadgen <pipeline|pubsub|queue|memory|stream> --port P [options]");
            eprintln!("  pipeline: --cmd ping|set|get|lpush|rpop|publish|xadd --conns 50 --depth 32 --seconds 5 --size 16 --keyspace 10000 --prefill N [--server-pid PID]");
            eprintln!(
                "  pubsub:   --subs 1 --channels 1 --pubs 1 --depth 8 --seconds 5 [--pattern] [--noise-patterns N] [--server-pid PID]"
            );
            eprintln!(
                "  queue:    --producers 4 --consumers 4 --depth 8 --backlog 100 --seconds 5"
            );
            eprintln!("  memory:   --elements 1000000 --keys 4 --batch 1000");
            eprintln!(
                "  common:   --threads 1 (loadgen runtime threads) --max-ops N (count bound)"
            );
            std::process::exit(64);
        }
        Opts { workload, kv }
    }
    fn num(&self, k: &str, default: u64) -> u64 {
        match self.kv.get(k) {
            None => default,
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| die(&format!("--{k} needs a number, got {v:?}"))),
        }
    }
    fn str(&self, k: &str, default: &str) -> String {
        self.kv
            .get(k)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }
    fn flag(&self, k: &str) -> bool {
        self.kv.get(k).map(|v| v != "false").unwrap_or(false)
    }
}

fn die(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    std::process::exit(1)
}

// ---------------------------------------------------------------- RESP client

#[derive(Debug)]
#[allow(dead_code)] // payloads are kept for Debug output in error messages
enum V {
    Simple(Vec<u8>),
    Err(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Arr(Option<Vec<V>>),
}

fn atoi(s: &[u8]) -> i64 {
    let (neg, d) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for &c in d {
        n = n
            .wrapping_mul(10)
            .wrapping_add((c.wrapping_sub(b'0')) as i64);
    }
    if neg {
        -n
    } else {
        n
    }
}

/// Line starting at `p` (without CRLF) and the offset after its CRLF.
fn line(b: &[u8], p: usize) -> Option<(&[u8], usize)> {
    let i = b[p..].iter().position(|&c| c == b'\n')?;
    let end = p + i;
    let l = if end > p && b[end - 1] == b'\r' {
        &b[p..end - 1]
    } else {
        &b[p..end]
    };
    Some((l, end + 1))
}

/// Parses one reply at `*p`; `None` if more bytes are needed.
fn parse(b: &[u8], p: &mut usize) -> Option<V> {
    if *p >= b.len() {
        return None;
    }
    let t = b[*p];
    let (l, next) = line(b, *p + 1)?;
    let v = match t {
        b'+' => V::Simple(l.to_vec()),
        b'-' => V::Err(String::from_utf8_lossy(l).into_owned()),
        b':' => V::Int(atoi(l)),
        b'_' => V::Bulk(None),
        b'$' => {
            let n = atoi(l);
            if n < 0 {
                V::Bulk(None)
            } else {
                let n = n as usize;
                if b.len() < next + n + 2 {
                    return None;
                }
                let v = b[next..next + n].to_vec();
                *p = next + n + 2;
                return Some(V::Bulk(Some(v)));
            }
        }
        b'*' | b'>' => {
            let n = atoi(l);
            if n < 0 {
                V::Arr(None)
            } else {
                let mut q = next;
                let mut items = Vec::with_capacity((n as usize).min(1024));
                for _ in 0..n {
                    items.push(parse(b, &mut q)?);
                }
                *p = q;
                return Some(V::Arr(Some(items)));
            }
        }
        other => V::Err(format!(
            "loadgen: unexpected RESP type byte {:?}",
            other as char
        )),
    };
    *p = next;
    Some(v)
}

/// Parses one push frame (`*N`/`>N` of bulk strings) at `*p` without copying
/// and returns its last element: the subscriber's hot path, which must cost the
/// load generator as little as possible per message. `None` if more bytes are
/// needed; `Some(None)` for a frame of another shape (skipped).
fn parse_push_last<'a>(b: &'a [u8], p: &mut usize) -> Option<Option<&'a [u8]>> {
    let t = *b.get(*p)?;
    if t != b'*' && t != b'>' {
        return parse(b, p).map(|_| None);
    }
    let (l, mut q) = line(b, *p + 1)?;
    let mut last = None;
    for _ in 0..atoi(l).max(0) {
        if *b.get(q)? != b'$' {
            return parse(b, p).map(|_| None);
        }
        let (l, next) = line(b, q + 1)?;
        let len = atoi(l);
        if len < 0 {
            last = None;
            q = next;
            continue;
        }
        let len = len as usize;
        if b.len() < next + len + 2 {
            return None;
        }
        last = Some(&b[next..next + len]);
        q = next + len + 2;
    }
    *p = q;
    Some(last)
}

fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(itoa::Buffer::new().format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

struct Conn {
    s: TcpStream,
    r: BytesMut,
    w: Vec<u8>,
}

impl Conn {
    async fn connect(port: u16) -> io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port)).await?;
        s.set_nodelay(true)?;
        Ok(Conn {
            s,
            r: BytesMut::with_capacity(64 * 1024),
            w: Vec::with_capacity(64 * 1024),
        })
    }
    fn push(&mut self, args: &[&[u8]]) {
        encode(&mut self.w, args);
    }
    async fn flush(&mut self) -> io::Result<()> {
        self.s.write_all(&self.w).await?;
        self.w.clear();
        Ok(())
    }
    async fn read(&mut self) -> io::Result<V> {
        loop {
            let mut p = 0;
            if let Some(v) = parse(&self.r, &mut p) {
                self.r.advance(p);
                return Ok(v);
            }
            self.fill().await?;
        }
    }
    /// One socket read appended to the buffer.
    async fn fill(&mut self) -> io::Result<()> {
        self.r.reserve(64 * 1024);
        if self.s.read_buf(&mut self.r).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        Ok(())
    }
    async fn call(&mut self, args: &[&[u8]]) -> io::Result<V> {
        self.push(args);
        self.flush().await?;
        self.read().await
    }
}

// ---------------------------------------------------------------- helpers

static BASE: OnceLock<Instant> = OnceLock::new();
fn now_ns() -> u64 {
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap()
}

fn rec(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record((d.as_micros() as u64).max(1));
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// This process's user+system CPU seconds (all threads).
/// (user, system) CPU seconds of process `pid` so far (/proc/PID/stat), to
/// measure a server over exactly the measured window (`--server-pid`):
/// prefill and connection set-up excluded.
fn process_cpu(pid: u64) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name, which may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let (utime, stime) = (
        fields.get(11)?.parse::<f64>().ok()?,
        fields.get(12)?.parse::<f64>().ok()?,
    );
    Some((utime / tick, stime / tick))
}

fn cpu_seconds() -> f64 {
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        t(ru.ru_utime) + t(ru.ru_stime)
    }
}

/// One JSON object, built field by field, printed as a single line.
struct Out(String);
impl Out {
    fn new(workload: &str) -> Out {
        Out(format!("{{\"workload\":\"{workload}\""))
    }
    fn s(mut self, k: &str, v: &str) -> Out {
        let esc: String = v
            .chars()
            .flat_map(|c| match c {
                '"' => vec!['\\', '"'],
                '\\' => vec!['\\', '\\'],
                c if (c as u32) < 0x20 => vec![' '],
                c => vec![c],
            })
            .collect();
        let _ = write!(self.0, ",\"{k}\":\"{esc}\"");
        self
    }
    fn n(mut self, k: &str, v: impl std::fmt::Display) -> Out {
        let _ = write!(self.0, ",\"{k}\":{v}");
        self
    }
    fn f(mut self, k: &str, v: f64) -> Out {
        let _ = write!(self.0, ",\"{k}\":{v:.1}");
        self
    }
    /// A figure below one, printed with three decimals.
    fn fine(mut self, k: &str, v: f64) -> Out {
        let _ = write!(self.0, ",\"{k}\":{v:.3}");
        self
    }
    /// The server's CPU per operation between two `process_cpu` readings,
    /// split: µs in user mode (its own code) and in the kernel (mostly the
    /// loopback TCP path). Nothing when either reading is missing.
    fn server_cpu(self, before: Option<(f64, f64)>, after: Option<(f64, f64)>, ops: u64) -> Out {
        let (Some((u0, s0)), Some((u1, s1))) = (before, after) else {
            return self;
        };
        let per_op = |secs: f64| secs * 1e6 / ops.max(1) as f64;
        self.fine("server_user_us_per_op", per_op(u1 - u0))
            .fine("server_sys_us_per_op", per_op(s1 - s0))
    }
    fn lat(self, h: &Histogram<u64>) -> Out {
        if h.is_empty() {
            return self
                .n("p50_us", 0)
                .n("p99_us", 0)
                .n("p999_us", 0)
                .n("max_us", 0);
        }
        self.n("p50_us", h.value_at_quantile(0.50))
            .n("p99_us", h.value_at_quantile(0.99))
            .n("p999_us", h.value_at_quantile(0.999))
            .n("max_us", h.max())
    }
    fn print(self, wall: f64, threads: u64) {
        let cpu = cpu_seconds();
        let o = self
            .n("loadgen_threads", threads)
            .f("loadgen_cpu_ms", cpu * 1000.0)
            .f(
                "loadgen_cpu_pct",
                if wall > 0.0 { cpu / wall * 100.0 } else { 0.0 },
            );
        println!("{}}}", o.0);
    }
}

fn is_unknown(e: &str) -> bool {
    e.contains("unknown command")
}

// ---------------------------------------------------------------- pipeline

#[derive(Clone, Copy, PartialEq)]
enum Cmd {
    Ping,
    Set,
    Get,
    Lpush,
    Rpop,
    Publish,
    Xadd,
}

fn parse_cmd(s: &str) -> Cmd {
    match s.to_ascii_lowercase().as_str() {
        "ping" => Cmd::Ping,
        "set" => Cmd::Set,
        "get" => Cmd::Get,
        "lpush" => Cmd::Lpush,
        "rpop" => Cmd::Rpop,
        "publish" => Cmd::Publish,
        "xadd" => Cmd::Xadd,
        o => die(&format!(
            "unknown --cmd {o:?} (ping|set|get|lpush|rpop|publish|xadd)"
        )),
    }
}

const LIST_KEY: &[u8] = b"bench:list";

#[derive(Default)]
struct PipeStats {
    ops: u64,
    errors: u64,
    nils: u64,
    first_error: Option<String>,
    unknown: bool,
}

fn push_cmd(c: &mut Conn, cmd: Cmd, rng: &mut Rng, keyspace: u64, val: &[u8], key: &mut Vec<u8>) {
    if matches!(cmd, Cmd::Set | Cmd::Get) {
        key.clear();
        key.extend_from_slice(b"key:");
        key.extend_from_slice(itoa::Buffer::new().format(rng.next() % keyspace).as_bytes());
    }
    match cmd {
        Cmd::Ping => c.push(&[b"PING"]),
        Cmd::Set => c.push(&[b"SET", key, val]),
        Cmd::Get => c.push(&[b"GET", key]),
        Cmd::Lpush => c.push(&[b"LPUSH", LIST_KEY, val]),
        Cmd::Rpop => c.push(&[b"RPOP", LIST_KEY]),
        Cmd::Publish => c.push(&[b"PUBLISH", b"bench:chan", val]),
        Cmd::Xadd => c.push(&[
            b"XADD",
            b"bench:stream",
            b"MAXLEN",
            b"~",
            b"10000",
            b"*",
            b"f",
            val,
        ]),
    }
}

#[allow(clippy::too_many_arguments)]
async fn pipe_worker(
    port: u16,
    cmd: Cmd,
    depth: u64,
    deadline: Instant,
    budget: Arc<AtomicU64>,
    seed: u64,
    keyspace: u64,
    val: Vec<u8>,
) -> io::Result<(PipeStats, Histogram<u64>)> {
    let mut c = Conn::connect(port).await?;
    let mut h = hist();
    let mut st = PipeStats::default();
    let mut rng = Rng(seed | 1);
    let mut key = Vec::with_capacity(32);
    while Instant::now() < deadline {
        // count bound shared by all connections
        let prev = budget.fetch_sub(depth, Ordering::Relaxed);
        if prev < depth || prev > u64::MAX / 2 {
            break;
        }
        for _ in 0..depth {
            push_cmd(&mut c, cmd, &mut rng, keyspace, &val, &mut key);
        }
        let t0 = Instant::now();
        c.flush().await?;
        for _ in 0..depth {
            let v = c.read().await?;
            rec(&mut h, t0.elapsed());
            match v {
                V::Err(e) => {
                    st.errors += 1;
                    if is_unknown(&e) {
                        st.unknown = true;
                    }
                    st.first_error.get_or_insert(e);
                }
                V::Bulk(None) | V::Arr(None) => st.nils += 1,
                _ => {}
            }
        }
        st.ops += depth;
        if st.unknown {
            break;
        }
    }
    Ok((st, h))
}

async fn prefill(port: u16, cmd: Cmd, keyspace: u64, n_list: u64, val: &[u8]) -> io::Result<()> {
    let mut c = Conn::connect(port).await?;
    match cmd {
        Cmd::Get => {
            let mut i = 0;
            while i < keyspace {
                let end = (i + 1000).min(keyspace);
                for k in i..end {
                    let key = format!("key:{k}");
                    c.push(&[b"SET", key.as_bytes(), val]);
                }
                c.flush().await?;
                for _ in i..end {
                    if let V::Err(e) = c.read().await? {
                        die(&format!("prefill SET failed: {e}"));
                    }
                }
                i = end;
            }
        }
        Cmd::Rpop => {
            c.call(&[b"DEL", LIST_KEY]).await?;
            let batch = 1000u64;
            let mut done = 0;
            while done < n_list {
                let k = batch.min(n_list - done);
                let mut args: Vec<&[u8]> = vec![b"LPUSH", LIST_KEY];
                for _ in 0..k {
                    args.push(val);
                }
                c.push(&args);
                done += k;
                if done % (batch * 16) == 0 || done == n_list {
                    c.flush().await?;
                }
            }
            c.flush().await?;
            let cmds = n_list.div_ceil(batch);
            for _ in 0..cmds {
                if let V::Err(e) = c.read().await? {
                    die(&format!("prefill LPUSH failed: {e}"));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

async fn run_pipeline(o: &Opts, port: u16, workload: &str, cmd: Cmd) -> i32 {
    let conns = o.num("conns", 50).max(1);
    let depth = o.num("depth", 1).max(1);
    let secs = o.num("seconds", 5);
    let size = o.num("size", 16) as usize;
    let keyspace = o.num("keyspace", 10_000).max(1);
    let max_ops = o.num("max-ops", 100_000_000);
    let prefill_n = o.num("prefill", 4_000_000);
    let val = vec![b'v'; size];

    // Probe once so an unsupported command is reported clearly, not as a storm of errors.
    let probe = async {
        let mut c = Conn::connect(port).await?;
        let mut rng = Rng(7);
        let mut key = Vec::new();
        push_cmd(&mut c, cmd, &mut rng, keyspace, &val, &mut key);
        c.flush().await?;
        c.read().await
    };
    match probe.await {
        Err(e) => die(&format!("cannot reach 127.0.0.1:{port}: {e}")),
        Ok(V::Err(e)) if is_unknown(&e) => {
            let msg = if cmd == Cmd::Xadd {
                format!("needs streams (issue: streams): server replied -{e}")
            } else {
                format!("command unsupported by the server: -{e}")
            };
            eprintln!("loadgen: {workload}: {msg}");
            Out::new(workload)
                .s("cmd", &o.str("cmd", "xadd"))
                .s("error", &msg)
                .print(0.0, 0);
            return 2;
        }
        Ok(_) => {}
    }
    if matches!(cmd, Cmd::Get | Cmd::Rpop) {
        let t = Instant::now();
        if let Err(e) = prefill(port, cmd, keyspace, prefill_n, &val).await {
            die(&format!("prefill: {e}"));
        }
        eprintln!("loadgen: prefill done in {:.2}s", t.elapsed().as_secs_f64());
    }

    let server_pid = o.num("server-pid", 0);
    let server0 = process_cpu(server_pid);
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let budget = Arc::new(AtomicU64::new(max_ops));
    let mut tasks = Vec::new();
    for i in 0..conns {
        tasks.push(tokio::spawn(pipe_worker(
            port,
            cmd,
            depth,
            deadline,
            budget.clone(),
            0x9E3779B97F4A7C15u64.wrapping_mul(i + 1),
            keyspace,
            val.clone(),
        )));
    }
    let mut h = hist();
    let mut st = PipeStats::default();
    let mut io_err = None;
    for t in tasks {
        match t.await.unwrap() {
            Ok((s, hh)) => {
                h.add(&hh).unwrap();
                st.ops += s.ops;
                st.errors += s.errors;
                st.nils += s.nils;
                st.unknown |= s.unknown;
                if st.first_error.is_none() {
                    st.first_error = s.first_error;
                }
            }
            Err(e) => io_err = Some(e.to_string()),
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let mut out = Out::new(workload)
        .s("cmd", &o.str("cmd", "xadd").to_ascii_lowercase())
        .n("conns", conns)
        .n("depth", depth)
        .f("seconds", wall)
        .n("ops", st.ops)
        .f("ops_per_sec", st.ops as f64 / wall)
        .lat(&h)
        .n("errors", st.errors)
        .n("nils", st.nils)
        .f("run_cpu_pct", cpu / wall * 100.0);
    out = out.server_cpu(server0, process_cpu(server_pid), st.ops);
    if let Some(e) = &st.first_error {
        out = out.s("first_error", e);
    }
    if let Some(e) = &io_err {
        out = out.s("io_error", e);
    }
    out.print(wall, o.num("threads", 1));
    if io_err.is_some() || st.errors > 0 {
        1
    } else {
        0
    }
}

// ---------------------------------------------------------------- pubsub

/// Parses "pub:seq:ns".
fn parse_tag(b: &[u8]) -> Option<(usize, u64, u64)> {
    let mut it = b.split(|&c| c == b':');
    let p = atoi(it.next()?) as usize;
    let s = atoi(it.next()?) as u64;
    let n = atoi(it.next()?) as u64;
    Some((p, s, n))
}

#[derive(Default)]
struct SubStats {
    received: u64,
    dups: u64,
    out_of_order: u64,
    lost: u64,
    last_ns: u64,
}

/// Number of seqs in [0, sent) congruent to c mod m.
fn count_congruent(sent: u64, c: u64, m: u64) -> u64 {
    if sent > c {
        (sent - c).div_ceil(m)
    } else {
        0
    }
}

async fn run_pubsub(o: &Opts, port: u16) -> i32 {
    let subs = o.num("subs", 1).max(1);
    let chans = o.num("channels", 1).max(1);
    let pubs = o.num("pubs", 1).max(1) as usize;
    let depth = o.num("depth", 8).max(1);
    let secs = o.num("seconds", 5);
    let max_msgs = o.num("max-ops", 50_000_000);
    let pattern = o.flag("pattern");
    let drain = Duration::from_secs(o.num("drain-seconds", 5));
    let chan_name = |c: u64| format!("bench:ch:{c}:x");

    // Subscribe everything and wait for each confirmation before publishing.
    let mut conns = Vec::new();
    for i in 0..subs {
        let c = i % chans;
        let mut conn = Conn::connect(port)
            .await
            .unwrap_or_else(|e| die(&format!("connect: {e}")));
        let (verb, target) = if pattern {
            ("PSUBSCRIBE", format!("bench:ch:{c}:*"))
        } else {
            ("SUBSCRIBE", chan_name(c))
        };
        match conn.call(&[verb.as_bytes(), target.as_bytes()]).await {
            Ok(V::Arr(Some(items))) if matches!(&items[0], V::Bulk(Some(k)) if k.eq_ignore_ascii_case(verb.as_bytes())) =>
                {}
            other => die(&format!("{verb} {target} not confirmed: {other:?}")),
        }
        conns.push((c, conn));
    }
    // Non-matching patterns on distinct literal prefixes: they must barely slow
    // a PUBLISH (the server indexes patterns by prefix).
    let noise = o.num("noise-patterns", 0);
    let mut _noise_conn = None;
    if noise > 0 {
        let mut conn = Conn::connect(port)
            .await
            .unwrap_or_else(|e| die(&format!("connect: {e}")));
        let mut done = 0;
        while done < noise {
            let batch = (noise - done).min(500);
            for i in done..done + batch {
                let pat = format!("noise:{i}:*");
                conn.push(&[b"PSUBSCRIBE", pat.as_bytes()]);
            }
            conn.flush()
                .await
                .unwrap_or_else(|e| die(&format!("psubscribe: {e}")));
            for _ in 0..batch {
                match conn.read().await {
                    Ok(V::Arr(Some(_))) => {}
                    other => die(&format!("noise PSUBSCRIBE not confirmed: {other:?}")),
                }
            }
            done += batch;
        }
        _noise_conn = Some(conn);
    }
    let sent_counts: Arc<OnceLock<(Vec<u64>, Instant)>> = Arc::new(OnceLock::new());
    let mut sub_tasks = Vec::new();
    for (c, mut conn) in conns {
        let sent_counts = sent_counts.clone();
        sub_tasks.push(tokio::spawn(async move {
            let mut h = hist();
            let mut st = SubStats::default();
            let mut next: Vec<u64> = vec![c; pubs];
            let mut expected: Option<u64> = None;
            loop {
                if expected.is_none() {
                    if let Some((sent, _)) = sent_counts.get() {
                        expected = Some(sent.iter().map(|&s| count_congruent(s, c, chans)).sum());
                    }
                }
                if let Some(e) = expected {
                    if st.received >= e {
                        break;
                    }
                }
                // Every complete message buffered so far shares the arrival
                // time of the read that brought it: one clock reading per read.
                let now = now_ns();
                let mut at = 0;
                while let Some(payload) = parse_push_last(&conn.r, &mut at) {
                    let Some((p, seq, ns)) = payload.and_then(parse_tag) else {
                        continue;
                    };
                    h.saturating_record((now.saturating_sub(ns) / 1000).max(1));
                    st.received += 1;
                    st.last_ns = now;
                    if p >= pubs {
                        st.out_of_order += 1;
                        continue;
                    }
                    if seq == next[p] {
                        next[p] += chans;
                    } else if seq < next[p] {
                        st.dups += 1;
                    } else {
                        st.out_of_order += 1;
                        st.lost += (seq - next[p]) / chans;
                        next[p] = seq + chans;
                    }
                }
                conn.r.advance(at);
                if let Some(e) = expected {
                    if st.received >= e {
                        break;
                    }
                }
                match tokio::time::timeout(Duration::from_millis(100), conn.fill()).await {
                    Err(_) => {
                        if let Some((_, end)) = sent_counts.get() {
                            if end.elapsed() > drain {
                                break;
                            }
                        }
                    }
                    Ok(Err(e)) => return Err(e),
                    Ok(Ok(())) => {}
                }
            }
            // messages sent but never seen
            if let Some((sent, _)) = sent_counts.get() {
                for p in 0..pubs {
                    st.lost += count_congruent(sent[p], c, chans)
                        .saturating_sub(count_congruent(next[p], c, chans));
                }
            }
            Ok::<_, io::Error>((st, h))
        }));
    }

    let server_pid = o.num("server-pid", 0);
    let server0 = process_cpu(server_pid);
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let start_ns = now_ns();
    let deadline = start + Duration::from_secs(secs);
    let budget = Arc::new(AtomicU64::new(max_msgs));
    let mut pub_tasks = Vec::new();
    for p in 0..pubs {
        let budget = budget.clone();
        let names: Vec<String> = (0..chans).map(chan_name).collect();
        pub_tasks.push(tokio::spawn(async move {
            let mut c = Conn::connect(port).await?;
            let mut seq = 0u64;
            let mut receivers = 0i64;
            let mut errors = 0u64;
            let mut buf = String::new();
            while Instant::now() < deadline {
                let prev = budget.fetch_sub(depth, Ordering::Relaxed);
                if prev < depth || prev > u64::MAX / 2 {
                    break;
                }
                for _ in 0..depth {
                    buf.clear();
                    let _ = write!(buf, "{p}:{seq}:{}", now_ns());
                    let ch = &names[(seq % chans) as usize];
                    c.push(&[b"PUBLISH", ch.as_bytes(), buf.as_bytes()]);
                    seq += 1;
                }
                c.flush().await?;
                for _ in 0..depth {
                    match c.read().await? {
                        V::Int(n) => receivers += n,
                        _ => errors += 1,
                    }
                }
            }
            Ok::<_, io::Error>((seq, receivers, errors))
        }));
    }
    let mut sent = vec![0u64; pubs];
    let mut receivers = 0i64;
    let mut pub_errors = 0;
    for (p, t) in pub_tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok((s, r, e)) => {
                sent[p] = s;
                receivers += r;
                pub_errors += e;
            }
            Err(e) => die(&format!("publisher {p}: {e}")),
        }
    }
    let pub_wall = start.elapsed().as_secs_f64();
    let published: u64 = sent.iter().sum();
    let expected: u64 = (0..subs)
        .map(|i| {
            sent.iter()
                .map(|&s| count_congruent(s, i % chans, chans))
                .sum::<u64>()
        })
        .sum();
    let _ = sent_counts.set((sent, Instant::now()));
    let mut h = hist();
    let mut tot = SubStats::default();
    let mut io_err = None;
    for t in sub_tasks {
        match t.await.unwrap() {
            Ok((s, hh)) => {
                h.add(&hh).unwrap();
                tot.received += s.received;
                tot.dups += s.dups;
                tot.out_of_order += s.out_of_order;
                tot.lost += s.lost;
                tot.last_ns = tot.last_ns.max(s.last_ns);
            }
            Err(e) => io_err = Some(e.to_string()),
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let deliver_wall = (tot.last_ns.saturating_sub(start_ns)) as f64 / 1e9;
    let server1 = process_cpu(server_pid);
    let cpu = cpu_seconds() - cpu0;
    let ok = io_err.is_none()
        && tot.lost == 0
        && tot.dups == 0
        && tot.out_of_order == 0
        && tot.received == expected
        && pub_errors == 0;
    let mut out = Out::new(if pattern { "pubsub-pattern" } else { "pubsub" })
        .n("subs", subs)
        .n("channels", chans)
        .n("noise_patterns", noise)
        .n("pubs", pubs)
        .n("depth", depth)
        .f("seconds", deliver_wall)
        .n("published", published)
        .f("published_per_sec", published as f64 / pub_wall)
        .n("expected", expected)
        .n("server_receivers", receivers)
        .n("delivered", tot.received)
        .f(
            "ops_per_sec",
            if deliver_wall > 0.0 {
                tot.received as f64 / deliver_wall
            } else {
                0.0
            },
        )
        .lat(&h)
        .n("lost", tot.lost)
        .n("dups", tot.dups)
        .n("out_of_order", tot.out_of_order)
        .n("errors", pub_errors)
        .n("ok", ok)
        .f("run_cpu_pct", cpu / wall * 100.0);
    // Per delivered message.
    out = out.server_cpu(server0, server1, tot.received);
    if let Some(e) = io_err {
        out = out.s("io_error", &e);
    }
    out.print(wall, o.num("threads", 1));
    if ok {
        0
    } else {
        1
    }
}

// ---------------------------------------------------------------- queue

const QUEUE_KEY: &[u8] = b"bench:queue";

async fn run_queue(o: &Opts, port: u16) -> i32 {
    let producers = o.num("producers", 4).max(1) as usize;
    let consumers = o.num("consumers", 4).max(1);
    let depth = o.num("depth", 8).max(1);
    let secs = o.num("seconds", 5);
    let max_jobs = o.num("max-ops", 50_000_000);
    let drain = Duration::from_secs(o.num("drain-seconds", 10));
    {
        let mut c = Conn::connect(port)
            .await
            .unwrap_or_else(|e| die(&format!("connect: {e}")));
        c.call(&[b"DEL", QUEUE_KEY])
            .await
            .unwrap_or_else(|e| die(&format!("DEL: {e}")));
    }
    let producers_done = Arc::new(AtomicBool::new(false));
    let produced_total = Arc::new(AtomicU64::new(u64::MAX));
    let consumed_total = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let start_ns = now_ns();
    let hard_stop = start + Duration::from_secs(secs) + drain;

    let mut cons_tasks = Vec::new();
    for _ in 0..consumers {
        let (done, produced, consumed) = (
            producers_done.clone(),
            produced_total.clone(),
            consumed_total.clone(),
        );
        cons_tasks.push(tokio::spawn(async move {
            let mut c = Conn::connect(port).await?;
            let mut h = hist();
            let mut seen: Vec<(u32, u64)> = Vec::new();
            let mut last_ns = 0;
            let mut errors = 0u64;
            let mut first_error = None;
            loop {
                if consumed.load(Ordering::Relaxed) >= produced.load(Ordering::Relaxed)
                    || Instant::now() > hard_stop
                {
                    break;
                }
                match c.call(&[b"BRPOP", QUEUE_KEY, b"0.1"]).await? {
                    V::Arr(Some(items)) => {
                        if let Some(V::Bulk(Some(job))) = items.get(1) {
                            if let Some((p, seq, ns)) = parse_tag(job) {
                                let now = now_ns();
                                last_ns = now;
                                h.saturating_record((now.saturating_sub(ns) / 1000).max(1));
                                seen.push((p as u32, seq));
                                consumed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    V::Arr(None) | V::Bulk(None) if done.load(Ordering::Relaxed) => {
                        break; // queue empty after the producers finished
                    }
                    V::Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                        if errors > 100 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            Ok::<_, io::Error>((seen, h, last_ns, errors, first_error))
        }));
    }
    let deadline = start + Duration::from_secs(secs);
    let budget = Arc::new(AtomicU64::new(max_jobs));
    // Producers are throttled to keep at most `backlog` jobs waiting, so the run
    // measures the steady state of the consumers instead of an ever-growing queue.
    let backlog = o.num("backlog", 100).max(depth);
    let pushed_total = Arc::new(AtomicU64::new(0));
    let mut prod_tasks = Vec::new();
    for p in 0..producers {
        let budget = budget.clone();
        let (pushed, consumed) = (pushed_total.clone(), consumed_total.clone());
        prod_tasks.push(tokio::spawn(async move {
            let mut c = Conn::connect(port).await?;
            let mut seq = 0u64;
            let mut errors = 0u64;
            let mut buf = String::new();
            while Instant::now() < deadline {
                if pushed
                    .load(Ordering::Relaxed)
                    .saturating_sub(consumed.load(Ordering::Relaxed))
                    + depth
                    > backlog
                {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                    continue;
                }
                let prev = budget.fetch_sub(depth, Ordering::Relaxed);
                if prev < depth || prev > u64::MAX / 2 {
                    break;
                }
                pushed.fetch_add(depth, Ordering::Relaxed);
                for _ in 0..depth {
                    buf.clear();
                    let _ = write!(buf, "{p}:{seq}:{}", now_ns());
                    c.push(&[b"LPUSH", QUEUE_KEY, buf.as_bytes()]);
                    seq += 1;
                }
                c.flush().await?;
                for _ in 0..depth {
                    if !matches!(c.read().await?, V::Int(_)) {
                        errors += 1;
                    }
                }
            }
            Ok::<_, io::Error>((seq, errors))
        }));
    }
    let mut sent = vec![0u64; producers];
    let mut prod_errors = 0;
    for (p, t) in prod_tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok((s, e)) => {
                sent[p] = s;
                prod_errors += e;
            }
            Err(e) => die(&format!("producer {p}: {e}")),
        }
    }
    let produced: u64 = sent.iter().sum();
    produced_total.store(produced, Ordering::Relaxed);
    producers_done.store(true, Ordering::Relaxed);

    let mut h = hist();
    let mut seen_bits: Vec<Vec<bool>> = sent.iter().map(|&s| vec![false; s as usize]).collect();
    let (mut consumed, mut dups, mut bogus, mut last_ns, mut cons_errors) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut first_error = None;
    let mut io_err = None;
    for t in cons_tasks {
        match t.await.unwrap() {
            Ok((seen, hh, l, e, fe)) => {
                h.add(&hh).unwrap();
                last_ns = last_ns.max(l);
                cons_errors += e;
                if first_error.is_none() {
                    first_error = fe;
                }
                for (p, s) in seen {
                    consumed += 1;
                    match seen_bits
                        .get_mut(p as usize)
                        .and_then(|v| v.get_mut(s as usize))
                    {
                        Some(b) if *b => dups += 1,
                        Some(b) => *b = true,
                        None => bogus += 1,
                    }
                }
            }
            Err(e) => io_err = Some(e.to_string()),
        }
    }
    let missing: u64 = seen_bits
        .iter()
        .map(|v| v.iter().filter(|b| !**b).count() as u64)
        .sum();
    let wall = start.elapsed().as_secs_f64();
    let deliver_wall = last_ns.saturating_sub(start_ns) as f64 / 1e9;
    let cpu = cpu_seconds() - cpu0;
    let ok = io_err.is_none()
        && missing == 0
        && dups == 0
        && bogus == 0
        && prod_errors == 0
        && cons_errors == 0;
    let mut out = Out::new("queue")
        .n("producers", producers)
        .n("consumers", consumers)
        .n("depth", depth)
        .n("backlog", backlog)
        .f("seconds", deliver_wall)
        .n("produced", produced)
        .n("consumed", consumed)
        .f(
            "ops_per_sec",
            if deliver_wall > 0.0 {
                consumed as f64 / deliver_wall
            } else {
                0.0
            },
        )
        .lat(&h)
        .n("missing", missing)
        .n("dups", dups)
        .n("bogus", bogus)
        .n("errors", prod_errors + cons_errors)
        .n("ok", ok)
        .f("run_cpu_pct", cpu / wall * 100.0);
    if let Some(e) = first_error {
        out = out.s("first_error", &e);
    }
    if let Some(e) = io_err {
        out = out.s("io_error", &e);
    }
    out.print(wall, o.num("threads", 1));
    if ok {
        0
    } else {
        1
    }
}

// ---------------------------------------------------------------- memory

async fn info_memory(c: &mut Conn) -> io::Result<(u64, u64)> {
    let v = c.call(&[b"INFO", b"memory"]).await?;
    let text = match v {
        V::Bulk(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
        other => die(&format!("INFO memory: unexpected reply {other:?}")),
    };
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| die(&format!("INFO memory has no {name}")))
    };
    Ok((field("used_memory"), field("used_memory_rss")))
}

async fn run_memory(o: &Opts, port: u16) -> io::Result<i32> {
    let n = o.num("elements", 1_000_000);
    let keys = o.num("keys", 4).max(1);
    let batch = o.num("batch", 1000).max(1);
    let settle = Duration::from_millis(o.num("settle-ms", 1000));
    let mut c = Conn::connect(port).await?;
    let start = Instant::now();
    if let V::Err(e) = c.call(&[b"FLUSHALL"]).await? {
        die(&format!("FLUSHALL: {e}"));
    }
    tokio::time::sleep(settle).await;
    let (used0, rss0) = info_memory(&mut c).await?;
    let key_names: Vec<String> = (0..keys).map(|k| format!("bench:mem:{k}")).collect();
    let mut i = 0u64;
    let mut batches = 0u64;
    let mut pending = 0u64;
    let mut elems: Vec<[u8; 16]> = Vec::with_capacity(batch as usize);
    while i < n {
        let k = batch.min(n - i);
        elems.clear();
        for j in 0..k {
            let mut e = [b'0'; 16];
            let s = format!("{:016}", i + j);
            e.copy_from_slice(&s.as_bytes()[s.len() - 16..]);
            elems.push(e);
        }
        let key = &key_names[(batches % keys) as usize];
        let mut args: Vec<&[u8]> = Vec::with_capacity(k as usize + 2);
        args.push(b"RPUSH");
        args.push(key.as_bytes());
        args.extend(elems.iter().map(|e| &e[..]));
        c.push(&args);
        pending += 1;
        batches += 1;
        i += k;
        if pending == 8 || i == n {
            c.flush().await?;
            for _ in 0..pending {
                if let V::Err(e) = c.read().await? {
                    die(&format!("RPUSH: {e}"));
                }
            }
            pending = 0;
        }
    }
    let mut total = 0;
    for k in &key_names {
        if let V::Int(l) = c.call(&[b"LLEN", k.as_bytes()]).await? {
            total += l as u64;
        }
    }
    tokio::time::sleep(settle).await;
    let (used1, rss1) = info_memory(&mut c).await?;
    if !o.flag("keep") {
        c.call(&[b"FLUSHALL"]).await?;
    }
    let wall = start.elapsed().as_secs_f64();
    let ok = total == n;
    let per = |a: u64, b: u64| (b as f64 - a as f64) / n.max(1) as f64;
    Out::new("memory")
        .n("elements", n)
        .n("element_bytes", 16)
        .n("keys", keys)
        .n("llen_total", total)
        .n("used_memory_before", used0)
        .n("used_memory_after", used1)
        .n("rss_before", rss0)
        .n("rss_after", rss1)
        .f("used_per_elem", per(used0, used1))
        .f("rss_per_elem", per(rss0, rss1))
        .n("ok", ok)
        .print(wall, o.num("threads", 1));
    Ok(if ok { 0 } else { 1 })
}

// ---------------------------------------------------------------- main

fn main() {
    let o = Opts::parse();
    let port = o.num("port", 6379);
    if port == 0 || port > 65535 {
        die("--port must be 1..65535");
    }
    let port = port as u16;
    let threads = o.num("threads", 1).max(1) as usize;
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .expect("tokio runtime");
    BASE.get_or_init(Instant::now);
    let code = rt.block_on(async {
        match o.workload.as_str() {
            "pipeline" => {
                let cmd = parse_cmd(&o.str("cmd", "ping"));
                run_pipeline(&o, port, "pipeline", cmd).await
            }
            "stream" => run_pipeline(&o, port, "stream", Cmd::Xadd).await,
            "pubsub" => run_pubsub(&o, port).await,
            "queue" => run_queue(&o, port).await,
            "memory" => run_memory(&o, port)
                .await
                .unwrap_or_else(|e| die(&format!("memory: {e}"))),
            w => die(&format!(
                "unknown workload {w:?} (pipeline|pubsub|queue|memory|stream)"
            )),
        }
    });
    std::process::exit(code);
}
