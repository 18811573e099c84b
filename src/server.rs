//! The server: shared state, the accept loop, background cycles, shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::client::Clients;
use crate::command::CommandTable;
use crate::config::Config;
use crate::hot_stats::HotStripes;
pub use crate::hot_stats::{CommandStat, Counter, HotStats};
use crate::keyspace::Keyspace;
use crate::pubsub::PubSub;

/// Everything connections share. Each field documents its own locking.
pub struct Server {
    pub config: Config,
    pub keyspace: Keyspace,
    /// EVAL's script cache (`scripting`).
    pub scripts: crate::scripting::Scripts,
    /// Function libraries (FUNCTION LOAD).
    pub functions: crate::scripting::Functions,
    /// The script running now, as other connections see it.
    pub busy: crate::scripting::busy::Busy,
    pub slowlog: crate::slowlog::SlowLog,
    pub latency: crate::latency::Monitor,
    pub commands: CommandTable,
    /// Users and their permissions (ACL).
    pub acl: crate::acl::Acl,
    /// The TLS configs (`tls-port`, `tls-replication`), once built.
    pub tls: parking_lot::RwLock<Option<Arc<crate::conn::tls::Tls>>>,
    /// The TLS port bound (0: none) and its accept loops.
    pub tls_port: AtomicU64,
    pub tls_listeners: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    pub clients: Clients,
    pub pubsub: PubSub,
    pub stats: Stats,
    pub blocking: crate::blocking::Blocking,
    /// A pending SHUTDOWN / SIGTERM (`shutdown`), carried out by the cycle.
    pub shutdown_ctl: crate::shutdown::Shutdown,
    /// DEBUG PAUSE-CRON: the background cycle does nothing while set.
    pub cron_paused: AtomicBool,
    /// Client-side caching: who may hold which keys (CLIENT TRACKING).
    pub tracking: crate::tracking::Tracking,
    pub started: Instant,
    /// Unix ms at start: `Ctx::now_s` (the OBJECT IDLETIME clock) counts from here.
    pub start_unix_ms: u64,
    pub run_id: String,
    pub config_file: Option<String>,
    pub executable: String,
    /// Port actually bound (differs from the config when it says 0).
    pub port: AtomicU64,
    /// Changes counted as saved: `dirty_total` is the striped count less this.
    pub dirty_saved: AtomicU64,
    pub last_save: AtomicU64,
    /// CLIENT PAUSE deadline in unix ms (0 = not paused) and whether only writes pause.
    pub pause_until: AtomicU64,
    pub pause_writes_only: AtomicBool,
    /// Clients in MONITOR mode; `monitoring` is the lock-free fast path.
    pub monitors: parking_lot::RwLock<Vec<Arc<crate::client::ClientHandle>>>,
    pub monitoring: AtomicBool,
    /// Listening sockets (see `apply_listeners`).
    pub listeners: Listeners,
    /// Replication: the effect feed, attached replicas, the master link.
    pub repl: crate::repl::Replication,
    /// RDB save state (SAVE, BGSAVE, INFO persistence).
    pub persist: crate::persist::Persist,
    /// The append-only file (off unless `appendonly yes`).
    pub aof: Arc<crate::persist::aof::Aof>,
    /// The observability HTTP listener (`http-port`; off by default).
    pub http: crate::http::Http,
    /// This server, for accept loops started from a handler.
    me: std::sync::Weak<Server>,
    shutdown_tx: watch::Sender<bool>,
    /// SHUTDOWN already took the final snapshot (or was told not to).
    pub shutdown_saved: AtomicBool,
    pub shutdown_rx: watch::Receiver<bool>,
}

/// One command's share of the shared locks (`Stats::command_contention`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Contention {
    pub calls: u64,
    /// Time in the command, in `clock::ticks`.
    pub ticks: u64,
    pub global_locks: u64,
    pub global_lock_calls: u64,
    pub shard_locks: u64,
    pub contended_waits: u64,
}

/// Redis's instantaneous metrics (trackInstantaneousMetric): the rate of a
/// counter between samples taken every 100 ms, averaged over the last 16.
#[derive(Default)]
pub struct Instantaneous {
    last_ms: u64,
    last: [u64; INST_METRICS],
    samples: [[f64; INST_SAMPLES]; INST_METRICS],
    next: usize,
}

const INST_SAMPLES: usize = 16;
/// Which rates are tracked: commands, input and output bytes, replication
/// input and output bytes.
const INST_METRICS: usize = 5;
const INST_OPS: usize = 0;
const INST_NET_IN: usize = 1;
const INST_NET_OUT: usize = 2;
const INST_REPL_IN: usize = 3;
const INST_REPL_OUT: usize = 4;

pub struct Stats {
    hot: HotStripes,
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub expired_keys: AtomicU64,
    pub evicted_keys: AtomicU64,
    /// Clients closed by client eviction (`maxmemory-clients`).
    pub evicted_clients: AtomicU64,
    /// Values Redis would have freed on its lazyfree thread (INFO
    /// `lazyfreed_objects`).
    pub lazyfreed_objects: AtomicU64,
    pub error_replies: AtomicU64,
    /// Full and partial resynchronisations served (INFO sync_full…).
    pub sync_full: AtomicU64,
    pub sync_partial_ok: AtomicU64,
    pub sync_partial_err: AtomicU64,
    /// Subscribers disconnected for passing `client-output-buffer-limit
    /// pubsub` (slow consumers), for /metrics.
    pub pubsub_slow_disconnects: AtomicU64,
    /// Error replies by their first word (INFO errorstats).
    pub errors_by_code: Mutex<HashMap<String, u64>>,
    pub instantaneous: Mutex<Instantaneous>,
}

impl Stats {
    fn new(commands: usize) -> Stats {
        Stats {
            hot: HotStripes::new(commands),
            connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            expired_keys: AtomicU64::new(0),
            evicted_keys: AtomicU64::new(0),
            evicted_clients: AtomicU64::new(0),
            lazyfreed_objects: AtomicU64::new(0),
            error_replies: AtomicU64::new(0),
            sync_full: AtomicU64::new(0),
            sync_partial_ok: AtomicU64::new(0),
            sync_partial_err: AtomicU64::new(0),
            pubsub_slow_disconnects: AtomicU64::new(0),
            errors_by_code: Mutex::new(HashMap::new()),
            instantaneous: Mutex::new(Instantaneous::default()),
        }
    }

    /// Takes one sample of the instantaneous metrics if 100 ms passed since
    /// the last (called from the background cycle).
    pub fn sample_instantaneous(&self, now_ms: u64) {
        let readings = [
            self.sum(|h| &h.commands_processed),
            self.sum(|h| &h.net_input_bytes),
            self.sum(|h| &h.net_output_bytes),
            self.sum(|h| &h.net_repl_input_bytes),
            self.sum(|h| &h.net_repl_output_bytes),
        ];
        let mut inst = self.instantaneous.lock();
        let elapsed = now_ms.saturating_sub(inst.last_ms);
        if elapsed < 100 {
            return;
        }
        if inst.last_ms != 0 {
            let slot = inst.next;
            for (m, reading) in readings.iter().enumerate() {
                let delta = reading.saturating_sub(inst.last[m]);
                inst.samples[m][slot] = delta as f64 * 1000.0 / elapsed as f64;
            }
            inst.next = (slot + 1) % INST_SAMPLES;
        }
        inst.last = readings;
        inst.last_ms = now_ms;
    }

    /// The average of the samples of metric `m` (per second).
    fn instantaneous_of(&self, m: usize) -> f64 {
        let inst = self.instantaneous.lock();
        inst.samples[m].iter().sum::<f64>() / INST_SAMPLES as f64
    }

    /// instantaneous_ops_per_sec.
    pub fn ops_per_sec(&self) -> u64 {
        self.instantaneous_of(INST_OPS) as u64
    }

    /// instantaneous_input_kbps and instantaneous_output_kbps.
    pub fn net_kbps(&self) -> (f64, f64) {
        (
            self.instantaneous_of(INST_NET_IN) / 1024.0,
            self.instantaneous_of(INST_NET_OUT) / 1024.0,
        )
    }

    /// instantaneous_input_repl_kbps and instantaneous_output_repl_kbps.
    pub fn repl_kbps(&self) -> (f64, f64) {
        (
            self.instantaneous_of(INST_REPL_IN) / 1024.0,
            self.instantaneous_of(INST_REPL_OUT) / 1024.0,
        )
    }

    /// Bytes read from our master (replication input).
    pub fn add_repl_input(&self, n: usize) {
        self.hot().net_repl_input_bytes.add(n as u64);
    }

    /// Bytes written to our replicas (replication output).
    pub fn add_repl_output(&self, n: usize) {
        self.hot().net_repl_output_bytes.add(n as u64);
    }

    /// This thread's stripe of the hot counters.
    pub fn hot(&self) -> &HotStats {
        self.hot.mine()
    }

    /// Sum of one hot counter over all stripes.
    pub fn sum(&self, f: impl Fn(&HotStats) -> &Counter) -> u64 {
        self.hot.sum(f)
    }

    /// Sum over all stripes whatever RESETSTAT did (`dirty`).
    pub fn sum_all(&self, f: impl Fn(&HotStats) -> &Counter) -> u64 {
        self.hot.sum_all(f)
    }

    /// Process-wide locks one command took, over all stripes (`contention`).
    pub fn command_global_locks(&self, stat: usize) -> u64 {
        self.hot.sum(|h| &h.per_command[stat].global_locks)
    }

    /// What one command took of the shared locks, over all stripes (`contention`).
    pub fn command_contention(&self, stat: usize) -> Contention {
        let mut c = Contention::default();
        for h in self.hot.current() {
            let s = &h.per_command[stat];
            c.calls += s.calls.get();
            c.ticks += s.ticks.get();
            c.global_locks += s.global_locks.get();
            c.global_lock_calls += s.global_lock_calls.get();
            c.shard_locks += s.shard_locks.get();
            c.contended_waits += s.contended_waits.get();
        }
        c
    }

    /// (calls, usec, rejected, failed) of one command over all stripes.
    pub fn command_totals(&self, stat: usize) -> (u64, u64, u64, u64) {
        let (calls, ticks, rejected, failed) = self.hot.current().fold((0, 0, 0, 0), |acc, h| {
            let c = &h.per_command[stat];
            (
                acc.0 + c.calls.get(),
                acc.1 + c.ticks.get(),
                acc.2 + c.rejected.get(),
                acc.3 + c.failed.get(),
            )
        });
        (calls, crate::clock::ticks_to_usec(ticks), rejected, failed)
    }

    /// Bytes read from clients (this worker's stripe).
    pub fn add_net_input(&self, n: usize) {
        self.hot().net_input_bytes.add(n as u64);
    }

    /// Bytes written to clients (this worker's stripe).
    pub fn add_net_output(&self, n: usize) {
        self.hot().net_output_bytes.add(n as u64);
    }

    pub fn record_error(&self, text: &str) {
        crate::contention::global_lock("errorstats");
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        let code = text.split(' ').next().unwrap_or("ERR").to_string();
        *self.errors_by_code.lock().entry(code).or_insert(0) += 1;
    }

    /// A command refused before running (arity, auth, context).
    pub fn reject(&self, stat: usize, text: &str) {
        self.hot().per_command[stat].rejected.add(1);
        self.record_error(text);
    }

    /// A command that ran and replied with an error.
    pub fn fail(&self, stat: usize, text: &str) {
        self.failed_only(stat);
        self.record_error(text);
    }

    /// A failed call whose error reply was already counted (a script that
    /// fails with the error of a command it ran: Redis counts it once).
    pub fn failed_only(&self, stat: usize) {
        self.hot().per_command[stat].failed.add(1);
    }

    /// Calls of command `stat` and their latency histogram, over all stripes.
    pub fn histogram(&self, stat: usize) -> (u64, [u64; crate::latency::BUCKETS]) {
        let mut calls = 0;
        let mut buckets = [0u64; crate::latency::BUCKETS];
        for h in self.hot.current() {
            let c = &h.per_command[stat];
            calls += c.calls.get();
            for (sum, b) in buckets.iter_mut().zip(c.histogram.iter()) {
                *sum += b.get();
            }
        }
        (calls, buckets)
    }

    pub fn count_lazyfreed(&self, n: u64) {
        self.lazyfreed_objects.fetch_add(n, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        self.hot.reset();
        for a in [
            &self.connections_received,
            &self.rejected_connections,
            &self.expired_keys,
            &self.evicted_keys,
            &self.evicted_clients,
            &self.lazyfreed_objects,
            &self.error_replies,
            &self.pubsub_slow_disconnects,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        self.errors_by_code.lock().clear();
    }
}

/// Redis's `sdscatrepr`: a double-quoted string with C escapes.
/// Positions of the arguments MONITOR must not show: passwords (Redis's
/// `redactClientCommandArgument` in AUTH and HELLO … AUTH).
/// Argument positions MONITOR and SLOWLOG show as `(redacted)`.
pub fn redacted_args(args: &[bytes::Bytes]) -> Vec<usize> {
    let is = |a: &[u8], s: &str| a.eq_ignore_ascii_case(s.as_bytes());
    if is(&args[0], "auth") {
        return (1..args.len()).collect();
    }
    let mut out = Vec::new();
    if args.len() > 3 && is(&args[0], "config") && is(&args[1], "set") {
        // CONFIG SET name value…: the secrets' values.
        let mut j = 2;
        while j + 1 < args.len() {
            if is(&args[j], "masterauth") || is(&args[j], "requirepass") {
                out.push(j + 1);
            }
            j += 2;
        }
        return out;
    }
    if args.len() > 2 && is(&args[0], "acl") && is(&args[1], "setuser") {
        return (2..args.len()).collect();
    }
    if is(&args[0], "migrate") {
        for (j, a) in args.iter().enumerate().skip(6) {
            if is(a, "auth") {
                out.push(j + 1);
            } else if is(a, "auth2") {
                out.extend([j + 1, j + 2]);
            }
        }
        out.retain(|&i| i < args.len());
        return out;
    }
    if is(&args[0], "hello") {
        // HELLO [protover [AUTH username password] [SETNAME clientname]]
        let mut j = 2;
        while j < args.len() {
            let more = args.len() - 1 - j;
            if is(&args[j], "auth") && more >= 2 {
                out.extend([j + 1, j + 2]);
                j += 2;
            } else if is(&args[j], "setname") && more >= 1 {
                j += 1;
            } else {
                break;
            }
            j += 1;
        }
    }
    out
}

pub fn repr_into(out: &mut String, s: &[u8]) {
    out.push('"');
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
}

/// A 40-hex-digit run id (splitmix64 over time and pid; not cryptographic).
pub fn random_hex40() -> String {
    // The counter keeps ids distinct within one microsecond (run id and replid
    // are drawn together; tests start several servers in one process).
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0xd6e8feb86659fd93);
    let mut x = unix_us() ^ ((std::process::id() as u64) << 32) ^ seq;
    (0..40)
        .map(|_| {
            x = x.wrapping_add(0x9e3779b97f4a7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
            char::from_digit(((z ^ (z >> 31)) & 0xf) as u32, 16).unwrap_or('0')
        })
        .collect()
}

pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

impl Server {
    pub fn new(config: Config, config_file: Option<String>) -> Arc<Server> {
        let databases = config.get_int("databases").clamp(1, 1 << 16) as usize;
        let shards = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            * 8;
        let mut commands = CommandTable::new();
        for (from, to) in config.renames() {
            if !commands.rename(&from, &to) {
                tracing::warn!("rename-command {from} {to}: not applied");
            }
        }
        let stats = Stats::new(commands.len());
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        crate::clock::init();
        let run_id = random_hex40();
        let mut config = config;
        config.databases = databases;
        Arc::new_cyclic(|me| Server {
            me: me.clone(),
            keyspace: Keyspace::new(shards, databases),
            scripts: Default::default(),
            functions: Default::default(),
            busy: Default::default(),
            slowlog: Default::default(),
            latency: Default::default(),
            acl: crate::acl::Acl::new(&CommandTable::new()),
            tls: parking_lot::RwLock::new(None),
            tls_port: AtomicU64::new(0),
            tls_listeners: Mutex::new(Vec::new()),
            config,
            commands,
            clients: Clients::new(),
            pubsub: PubSub::new(),
            stats,
            blocking: crate::blocking::Blocking::default(),
            tracking: crate::tracking::Tracking::new(),
            shutdown_ctl: Default::default(),
            cron_paused: AtomicBool::new(false),
            started: Instant::now(),
            start_unix_ms: unix_ms(),
            run_id,
            config_file,
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            port: AtomicU64::new(0),
            dirty_saved: AtomicU64::new(0),
            last_save: AtomicU64::new(unix_ms() / 1000),
            pause_until: AtomicU64::new(0),
            pause_writes_only: AtomicBool::new(false),
            monitors: parking_lot::RwLock::new(Vec::new()),
            monitoring: AtomicBool::new(false),
            listeners: Listeners::default(),
            repl: crate::repl::Replication::new(random_hex40()),
            persist: crate::persist::Persist::new(),
            aof: Arc::new(crate::persist::aof::Aof::new()),
            http: Default::default(),
            shutdown_tx,
            shutdown_saved: AtomicBool::new(false),
            shutdown_rx,
        })
    }

    /// This server as an `Arc`, for tasks started from a handler (REPLICAOF).
    pub fn arc(&self) -> Option<Arc<Server>> {
        self.me.upgrade()
    }

    /// Seconds since start: the clock OBJECT IDLETIME counts in.
    pub fn clock_secs(&self) -> u32 {
        self.started.elapsed().as_secs() as u32
    }

    /// Counts `n` changes (striped per worker: no line shared by writers).
    pub fn dirty(&self, n: u64) {
        self.stats.hot().dirty.add(n);
    }

    /// Changes since start (INFO rdb_changes_since_last_save subtracts the
    /// count at the last save).
    /// CLIENT PAUSE is in force at `now_ms` (either mode).
    pub fn paused(&self, now_ms: u64) -> bool {
        self.pause_until.load(Ordering::Relaxed) > now_ms
    }

    pub fn dirty_total(&self) -> u64 {
        self.stats
            .sum_all(|h| &h.dirty)
            .saturating_sub(self.dirty_saved.load(Ordering::Relaxed))
    }

    /// Sends one executed command to MONITOR clients, in Redis's line format.
    pub fn feed_monitors(&self, db: usize, addr: &str, args: &[bytes::Bytes]) {
        let us = unix_us();
        let mut line = format!("+{}.{:06} [{db} {addr}]", us / 1_000_000, us % 1_000_000);
        let hidden = redacted_args(args);
        for (i, a) in args.iter().enumerate() {
            line.push(' ');
            if hidden.contains(&i) {
                line.push_str("\"(redacted)\"");
            } else {
                repr_into(&mut line, a);
            }
        }
        line.push_str("\r\n");
        let frame = bytes::Bytes::from(line);
        for m in self.monitors.read().iter() {
            let mut ob = m.outbox.lock();
            ob.bytes += frame.len();
            ob.frames.push_back(frame.clone());
            drop(ob);
            m.wake.notify_one();
        }
    }

    pub fn remove_monitor(&self, id: u64) {
        let mut m = self.monitors.write();
        m.retain(|c| c.id != id);
        self.monitoring.store(!m.is_empty(), Ordering::Relaxed);
    }

    /// Stops serving: the accept loops and background tasks watch the
    /// channel; every connection is killed, which wakes it (connections do
    /// not wait on the channel: see `conn::Conn::serve`). A connection
    /// registered after the sweep sees the flag and closes itself.
    pub fn shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
        for c in self.clients.all() {
            c.kill();
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown_rx.borrow()
    }
}

/// One listening socket. The accept loop polls it through the mutex, so taking
/// it out (`close`) closes the socket at once, from any thread, without awaiting.
struct Listener {
    addr: SocketAddr,
    socket: Arc<Mutex<Option<TcpListener>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Listener {
    fn close(&mut self) {
        let socket = self.socket.lock().take();
        drop(socket);
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// The listening sockets of a running server (`serve` fills it; CONFIG SET
/// port / bind replace them at runtime).
#[derive(Default)]
pub struct Listeners {
    open: Mutex<Vec<Listener>>,
}

impl Listeners {
    /// Addresses currently listened on.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.open.lock().iter().map(|l| l.addr).collect()
    }

    pub fn close_all(&self) {
        let old: Vec<Listener> = std::mem::take(&mut *self.open.lock());
        for mut l in old {
            l.close();
        }
    }
}

/// Redis's `listenToPort` for one address: `*` is every IPv4 address, `::*`
/// every IPv6 one. Synchronous, so CONFIG SET can rebind from a handler.
fn set_ipv6_only(socket: &tokio::net::TcpSocket) -> std::io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and a c_int option value of the
    // size passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            &on as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn listen_one(host: &str, port: u16, backlog: u32) -> std::io::Result<TcpListener> {
    let host = match host {
        "*" => "0.0.0.0",
        "::*" => "::",
        h => h,
    };
    let sa = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        // A name, resolved as Redis's getaddrinfo: IPv6 when it has a ':'.
        Err(_) => {
            use std::net::ToSocketAddrs as _;
            let v6 = host.contains(':');
            (host, port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.find(|a| a.is_ipv6() == v6))
                .ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("Invalid bind address '{host}'"),
                    )
                })?
        }
    };
    let socket = if sa.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        let s = tokio::net::TcpSocket::new_v6()?;
        // IPv6 only, as Redis's listeners: `* -::*` binds 0.0.0.0 and ::
        // side by side, which a dual-stack :: socket would refuse.
        set_ipv6_only(&s)?;
        s
    };
    socket.set_reuseaddr(true)?;
    socket.bind(sa)?;
    socket.listen(backlog)
}

/// Errors Redis's `listenToPort` skips for any address: the protocol is not there.
fn protocol_unsupported(e: &std::io::Error) -> bool {
    // ENOPROTOOPT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EPFNOSUPPORT, EAFNOSUPPORT (Linux).
    matches!(e.raw_os_error(), Some(92..=94 | 96 | 97))
}

/// Binds `bind` (space-separated addresses; none: no TCP at all) on `port` (0:
/// an ephemeral port, the same one for every address). Redis's `-` prefix marks
/// an address that may be missing on this host (`-::1` without IPv6).
fn listen_all(bind: &str, port: u16, backlog: u32) -> std::io::Result<Vec<TcpListener>> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(std::io::Error::other("no runtime to listen from"));
    }
    let mut listeners = Vec::new();
    let mut chosen_port = port;
    for addr in bind.split_whitespace() {
        let (optional, host) = match addr.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, addr),
        };
        match listen_one(host, chosen_port, backlog) {
            Ok(l) => {
                if chosen_port == 0 {
                    chosen_port = l.local_addr()?.port();
                }
                listeners.push(l);
            }
            Err(e)
                if protocol_unsupported(&e)
                    || (e.kind() == std::io::ErrorKind::AddrNotAvailable
                        && (optional || !listeners.is_empty())) =>
            {
                tracing::warn!("Warning: Could not create server TCP listening socket {host}:{chosen_port}: {e}");
            }
            Err(e) => {
                tracing::warn!("Warning: Could not create server TCP listening socket {host}:{chosen_port}: {e}");
                return Err(e);
            }
        }
    }
    Ok(listeners)
}

fn backlog(config: &Config) -> u32 {
    config.get_int("tcp-backlog").clamp(1, u32::MAX as i64) as u32
}

/// Binds every configured address.
///
/// `port 0` with a `tls-port`: no plain TCP listener (Redis's meaning of
/// port 0). Without TLS, port 0 binds an ephemeral port (tests use it).
pub async fn bind(config: &Config) -> std::io::Result<Vec<TcpListener>> {
    let port: u16 = config.get_int("port").clamp(0, 65535) as u16;
    if port == 0 && config.get_int("tls-port") != 0 {
        return Ok(Vec::new());
    }
    let bind = config.get("bind").unwrap_or_default();
    if bind.trim().is_empty() && !config.get("unixsocket").unwrap_or_default().is_empty() {
        // `bind ""`: no TCP at all, clients come over the unix socket.
        return Ok(Vec::new());
    }
    let listeners = listen_all(&bind, port, backlog(config))?;
    if listeners.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            "Configured to not listen anywhere",
        ));
    }
    Ok(listeners)
}

/// Listeners on every `bind` address at `port` (the TLS port's).
pub fn listen_tcp(bind: &str, port: u16, config: &Config) -> std::io::Result<Vec<TcpListener>> {
    listen_all(bind, port, backlog(config))
}

impl Server {
    fn start_accepting(self: &Arc<Server>, listeners: Vec<TcpListener>) {
        let mut open = self.listeners.open.lock();
        for listener in listeners {
            let Ok(addr) = listener.local_addr() else {
                continue;
            };
            let socket = Arc::new(Mutex::new(Some(listener)));
            let task = tokio::spawn(accept_loop(self.clone(), socket.clone()));
            open.push(Listener {
                addr,
                socket,
                task: Some(task),
            });
        }
        let port = open.first().map_or(0, |l| l.addr.port());
        self.port.store(port as u64, Ordering::Relaxed);
    }

    /// Applies the configured `port` and `bind` to the listening sockets, as
    /// Redis's `changeListenPort` / `changeBindAddr`: the old sockets are closed,
    /// then the new addresses bound. `port 0` set at runtime closes TCP; when
    /// only `bind` changed on a server started on port 0, the port in use stays.
    /// On an error no socket is left open: the caller restores the old values
    /// and applies again.
    pub fn apply_listeners(&self, port_changed: bool) -> std::io::Result<()> {
        let Some(me) = self.me.upgrade() else {
            return Err(std::io::Error::other("server is gone"));
        };
        let configured = self.config.get_int("port").clamp(0, 65535) as u16;
        let port = if configured == 0 && !port_changed {
            self.port.load(Ordering::Relaxed) as u16
        } else {
            configured
        };
        let bind = self.config.get("bind").unwrap_or_default();
        self.listeners.close_all();
        self.port.store(0, Ordering::Relaxed);
        if port == 0 {
            return Ok(());
        }
        let listeners = listen_all(&bind, port, backlog(&self.config))?;
        me.start_accepting(listeners);
        Ok(())
    }
}

/// Serves until shutdown: accept loops on every listener plus the background cycles.
pub async fn serve(srv: Arc<Server>, listeners: Vec<TcpListener>) {
    srv.start_accepting(listeners);
    tokio::spawn(background_cycle(srv.clone()));
    tokio::spawn(crate::repl::cron(srv.clone()));
    crate::repl::replica::start_from_config(&srv);
    let mut rx = srv.shutdown_rx.clone();
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            break;
        }
    }
    srv.listeners.close_all();
    for t in srv.tls_listeners.lock().drain(..) {
        t.abort();
    }
    for c in srv.clients.all() {
        c.kill();
    }
}

async fn accept_loop(srv: Arc<Server>, socket: Arc<Mutex<Option<TcpListener>>>) {
    loop {
        let accepted = std::future::poll_fn(|cx| match socket.lock().as_ref() {
            None => std::task::Poll::Ready(None),
            Some(l) => l.poll_accept(cx).map(Some),
        })
        .await;
        match accepted {
            None => return,
            Some(Ok((stream, peer))) => {
                let _ = stream.set_nodelay(true);
                srv.stats
                    .connections_received
                    .fetch_add(1, Ordering::Relaxed);
                tokio::spawn(crate::conn::handle(srv.clone(), stream, peer));
            }
            Some(Err(e)) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Active expiry (`hz` times a second), client timeouts, stale WATCH pruning.
async fn background_cycle(srv: Arc<Server>) {
    let mut ticks: u64 = 0;
    loop {
        let hz = srv.config.hz.load(Ordering::Relaxed).max(1) as u64;
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        if srv.is_shutting_down() {
            return;
        }
        ticks += 1;
        if srv.cron_paused.load(Ordering::Relaxed) {
            continue;
        }
        srv.shutdown_ctl.tick(&srv);
        if srv.busy.running() {
            // A script holds every shard: nothing here could run, and (as in
            // Redis) keys do not expire under a running script.
            continue;
        }
        if srv.config.active_expire.load(Ordering::Relaxed) && !srv.paused(unix_ms()) {
            let started = std::time::Instant::now();
            active_expire(&srv);
            let ms = started.elapsed().as_millis() as u64;
            let threshold = srv.config.latency_threshold.load(Ordering::Relaxed);
            srv.latency.sample(threshold, "expire-cycle", ms);
        }
        crate::keyspace::evict::evict(&srv);
        // Expired and evicted keys reach BCAST clients now; the table of
        // remembered keys goes back to its limit (Redis's serverCron).
        srv.tracking.flush_broadcasts(&srv);
        srv.tracking.enforce_limit(&srv);
        if ticks.is_multiple_of((hz * 10).max(1)) {
            srv.keyspace.for_each_shard(|_, shard| {
                for db in shard.dbs.iter_mut() {
                    db.prune_watches();
                }
            });
        }
        crate::conn::check_timeouts(&srv);
        srv.stats.sample_instantaneous(unix_ms());
        if ticks.is_multiple_of(hz) {
            crate::clock::measure();
            srv.keyspace.review_prefetch();
            crate::persist::aof::cron(&srv);
            crate::persist::cron(&srv);
            crate::pubsub::check_soft_limits(&srv);
            if crate::alloc::idle_trim_due() {
                tokio::task::spawn_blocking(crate::alloc::trim);
            }
        }
    }
}

/// Deletes keys whose deadline passed, a bounded number per shard per cycle.
pub fn active_expire(srv: &Server) {
    // A replica waits for its master's DEL (Redis: replicas never expire the
    // master's keys), except keys its own clients gave a TTL.
    if srv.repl.is_replica() {
        crate::repl::expire_local_keys(srv);
        return;
    }
    let now = unix_ms();
    let flags = srv.config.notify_flags.load(Ordering::Relaxed);
    let mut events = Vec::new();
    // Expired streams with blocked XREADGROUP clients: they get Redis's error.
    let mut ready = Vec::new();
    let anyone_blocked = srv.blocking.blocked_clients() > 0;
    srv.keyspace.for_each_shard(|_, shard| {
        for (dbi, db) in shard.dbs.iter_mut().enumerate() {
            if db.expires.is_empty() {
                continue;
            }
            for key in db.due_expiries(now, 200) {
                let removed = db.remove(&key);
                if anyone_blocked
                    && matches!(
                        removed,
                        Some(crate::keyspace::Entry {
                            value: crate::keyspace::Value::Stream(_),
                            ..
                        })
                    )
                {
                    ready.push((dbi, key.clone()));
                }
                db.touch_watched(&key);
                srv.tracking.key_modified(srv, &key);
                if srv.repl.active() {
                    // Under the shard lock, like every other effect.
                    srv.repl
                        .feed(&[(dbi, vec![bytes::Bytes::from_static(b"DEL"), key.clone()])]);
                }
                srv.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
                if crate::notify::enabled(flags, crate::notify::EXPIRED) {
                    events.push(crate::notify::KeyEvent {
                        class: crate::notify::EXPIRED,
                        event: "expired",
                        key,
                        db: dbi,
                    });
                }
            }
        }
    });
    if !ready.is_empty() {
        // No shard is held here: the waiters' shards are locked to serve them.
        let left = crate::blocking::Leftover::ready_keys(ready);
        crate::blocking::serve_ready_unlocked(srv, left, &mut events);
    }
    if !events.is_empty() {
        srv.pubsub.publish_key_events(srv, &events);
    }
}
