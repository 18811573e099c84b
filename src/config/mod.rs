//! Configuration: redis.conf directives, redis-server's command line, CONFIG GET/SET.
//!
//! Every parameter Redis 7 knows is in the table (`redis7-defaults.tsv`, taken from
//! `CONFIG GET *` on redis-server 7.0.15) so clients and test suites that read or set
//! them get Redis's answers. Each parameter is one of:
//! - honoured: the server acts on it (`HONOURED`);
//! - refused when set to a non-default value, because accepting it would mislead
//!   (`REFUSED`: replication, cluster, TLS ports, modules…);
//! - stored: accepted and reported back, with a warning in the log at startup
//!   (tuning knobs such as `list-max-ziplist-size` that have no meaning here).
//!
//! Hot values read on every command are mirrored into atomics.

mod parse;
mod rewrite;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use parking_lot::RwLock;

pub use parse::{load_startup, StartupError};
pub use rewrite::rewrite;

use crate::error::CmdError;
use crate::glob::glob_match;

static DEFAULTS: &str = include_str!("redis7-defaults.tsv");
/// Redis's range and parse rule for every numeric parameter (its config table).
static BOUNDS: &str = include_str!("redis7-bounds.tsv");

/// Parameters CONFIG SET refuses unless `enable-protected-configs` allows the
/// client (Redis's PROTECTED_CONFIG): together they choose where SAVE writes.
pub const PROTECTED: &[&str] = &["dir", "dbfilename"];

/// Parameters the server acts on.
pub const HONOURED: &[&str] = &[
    "port",
    "aclfile",
    "acllog-max-len",
    "acl-pubsub-default",
    "tls-port",
    "tls-cert-file",
    "tls-key-file",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-ca-cert-file",
    "tls-ca-cert-dir",
    "tls-auth-clients",
    "tls-protocols",
    "tls-ciphers",
    "tls-ciphersuites",
    "tls-replication",
    "tls-session-caching",
    "tls-session-cache-size",
    "bind",
    "dir",
    "logfile",
    "loglevel",
    "daemonize",
    "pidfile",
    "unixsocket",
    "unixsocketperm",
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "busy-reply-threshold",
    "latency-monitor-threshold",
    "databases",
    "timeout",
    "maxclients",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "client-output-buffer-limit",
    "notify-keyspace-events",
    "requirepass",
    "protected-mode",
    "save",
    "appendonly",
    "appendfsync",
    "hz",
    "io-threads",
    "threads",
    "enable-debug-command",
    "latency-tracking",
    "maxmemory",
    "maxmemory-clients",
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "set-max-intset-entries",
    "http-port",
    "http-bind",
    "metrics-keys",
    "metrics-keys-max",
    "metrics-deliveries-threshold",
];

/// Parameters whose non-default values would promise something the server does not do.
const REFUSED: &[(&str, &str)] = &[("cluster-enabled", "cluster mode is not supported")];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Bool,
    Int,
    Memory,
    Text,
}

/// Debugging parameters Redis hides from `CONFIG GET *` but answers by exact name.
const HIDDEN: &[(&str, &str)] = &[
    // Cinnabar's own: worker threads (0 = one per core but one), set at startup.
    ("threads", "0"),
    // Cinnabar's own observability listener (`http`): off unless a port is
    // given; loopback unless told otherwise. Hidden like `threads`, so that
    // CONFIG GET * stays Redis's list; answered by exact name.
    ("http-port", "0"),
    ("http-bind", "127.0.0.1"),
    // Glob patterns of the keys (and channels) /metrics reports one by one,
    // how many at most, and the delivery count past which a pending stream
    // entry counts as a problem delivery.
    ("metrics-keys", ""),
    ("metrics-keys-max", "64"),
    ("metrics-deliveries-threshold", "1"),
    ("key-load-delay", "0"),
    ("loading-process-events-interval-bytes", "2097152"),
    ("rdb-key-save-delay", "0"),
    ("watchdog-period", "0"),
    ("use-exit-on-panic", "no"),
    ("lua-enable-deprecated-api", "no"),
];

/// Redis's alias names (config.c `createXConfig(name, alias, …)`): setting either
/// sets both; CONFIG REWRITE writes only the primary name.
const ALIASES: &[(&str, &str)] = &[
    ("cluster-replica-no-failover", "cluster-slave-no-failover"),
    ("replica-lazy-flush", "slave-lazy-flush"),
    ("replica-serve-stale-data", "slave-serve-stale-data"),
    ("replica-read-only", "slave-read-only"),
    ("replica-ignore-maxmemory", "slave-ignore-maxmemory"),
    ("replica-announce-ip", "slave-announce-ip"),
    (
        "cluster-replica-validity-factor",
        "cluster-slave-validity-factor",
    ),
    ("list-max-listpack-size", "list-max-ziplist-size"),
    ("replica-priority", "slave-priority"),
    ("replica-announce-port", "slave-announce-port"),
    ("repl-ping-replica-period", "repl-ping-slave-period"),
    ("min-replicas-to-write", "min-slaves-to-write"),
    ("min-replicas-max-lag", "min-slaves-max-lag"),
    ("busy-reply-threshold", "lua-time-limit"),
    ("hash-max-listpack-entries", "hash-max-ziplist-entries"),
    ("zset-max-listpack-entries", "zset-max-ziplist-entries"),
    ("hash-max-listpack-value", "hash-max-ziplist-value"),
    ("zset-max-listpack-value", "zset-max-ziplist-value"),
    ("replicaof", "slaveof"),
];

/// Enumerated parameters whose default looks like a boolean or free text, with
/// Redis's names in its table order (CONFIG SET accepts them case-insensitively).
const ENUMS: &[(&str, &[&str])] = &[
    ("supervised", &["upstart", "systemd", "auto", "no"]),
    (
        "syslog-facility",
        &[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ],
    ),
    ("repl-diskless-load", &["disabled", "on-empty-db", "swapdb"]),
    ("oom-score-adj", &["no", "yes", "relative", "absolute"]),
    ("acl-pubsub-default", &["allchannels", "resetchannels"]),
    ("sanitize-dump-payload", &["no", "yes", "clients"]),
    ("enable-protected-configs", &["no", "yes", "local"]),
    ("enable-debug-command", &["no", "yes", "local"]),
    ("enable-module-command", &["no", "yes", "local"]),
    (
        "cluster-preferred-endpoint-type",
        &["ip", "hostname", "unknown-endpoint"],
    ),
    (
        "propagation-error-behavior",
        &["ignore", "panic", "panic-on-replicas"],
    ),
    ("tls-auth-clients", &["no", "yes", "optional"]),
];

/// Memory-valued parameters: accept `1gb`-style suffixes, reported in bytes.
const MEMORY_PARAMS: &[&str] = &[
    "maxmemory",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "repl-backlog-size",
    "auto-aof-rewrite-min-size",
    "active-defrag-ignore-bytes",
    "hash-max-listpack-value",
    "hash-max-ziplist-value",
    "stream-node-max-bytes",
    "hll-sparse-max-bytes",
    "cluster-link-sendbuf-limit",
    "maxmemory-clients",
    "zset-max-listpack-value",
    "zset-max-ziplist-value",
];

pub struct Config {
    values: RwLock<BTreeMap<String, String>>,
    /// The values a server starts with when nothing sets them (CONFIG REWRITE
    /// leaves out what equals these).
    defaults: BTreeMap<String, String>,
    /// `rename-command <from> <to>` lines, in order (applied to the command table).
    renames: parking_lot::Mutex<Vec<(String, String)>>,
    /// `user` directives (checked when read, applied by `acl` at startup).
    user_lines: parking_lot::Mutex<Vec<Vec<bytes::Bytes>>>,
    pub maxclients: AtomicUsize,
    pub proto_max_bulk_len: AtomicUsize,
    pub client_query_buffer_limit: AtomicUsize,
    /// Idle client timeout in seconds, 0 = never.
    pub timeout: AtomicU64,
    /// busy-reply-threshold (lua-time-limit), ms: read on every script run.
    pub busy_reply_threshold: AtomicU64,
    /// slowlog-log-slower-than (µs; negative: off) and slowlog-max-len.
    pub slowlog_slower_than: std::sync::atomic::AtomicI64,
    pub slowlog_max_len: AtomicUsize,
    /// latency-monitor-threshold, ms (0: off).
    pub latency_threshold: AtomicU64,
    pub notify_flags: AtomicU32,
    pub hz: AtomicU32,
    pub obuf_pubsub: ObufLimitAtomics,
    pub obuf_normal: ObufLimitAtomics,
    pub obuf_replica: ObufLimitAtomics,
    pub requirepass_set: AtomicBool,
    /// `protected-mode yes`: without a password, only loopback clients.
    pub protected_mode: AtomicBool,
    pub lazyfree_lazy_user_del: AtomicBool,
    pub latency_tracking: AtomicBool,
    /// An LFU maxmemory policy is selected: accesses count (`keyspace::lfu`).
    pub lfu_policy: AtomicBool,
    pub lfu_log_factor: AtomicU32,
    pub lfu_decay_time: AtomicU32,
    /// Keys remembered for client-side caching before some are forgotten (0: no limit).
    pub tracking_table_max_keys: AtomicU64,
    pub active_expire: AtomicBool,
    /// Bytes; 0 = unlimited. Past it, commands flagged `denyoom` are refused.
    pub maxmemory: AtomicU64,
    /// `maxmemory-clients`: bytes, or (negative) a percentage of `maxmemory`,
    /// as Redis stores it; 0 = no client eviction (`client_eviction`).
    pub maxmemory_clients: AtomicI64,
    /// min-replicas-to-write / min-replicas-max-lag (checked on every write
    /// while replicas are attached) and replica-read-only.
    pub min_replicas_to_write: AtomicU64,
    pub min_replicas_max_lag: AtomicU64,
    pub replica_read_only: AtomicBool,
    /// `stream-node-max-entries` / `stream-node-max-bytes`, read on every XADD.
    pub stream_node_max_entries: AtomicU64,
    pub stream_node_max_bytes: AtomicU64,
    pub databases: usize,
    /// Hash encoding thresholds (`types::hash::Limits`).
    pub hash_max_listpack_entries: AtomicUsize,
    pub hash_max_listpack_value: AtomicUsize,
    /// `zset-max-listpack-entries` / `-value`, read on every sorted-set insert.
    pub zset_max_listpack_entries: AtomicUsize,
    pub zset_max_listpack_value: AtomicUsize,
    /// `set-max-intset-entries`, read on every set insert.
    pub set_max_intset_entries: AtomicUsize,
}

/// `client-output-buffer-limit <class> <hard> <soft> <soft-seconds>`.
#[derive(Default)]
pub struct ObufLimitAtomics {
    pub hard: AtomicU64,
    pub soft: AtomicU64,
    pub soft_seconds: AtomicI64,
}

impl Config {
    pub fn new() -> Config {
        let mut values = BTreeMap::new();
        for line in DEFAULTS.lines() {
            let (k, v) = line.split_once('\t').unwrap_or((line, ""));
            values.insert(k.to_string(), v.to_string());
        }
        values.insert("port".into(), "6379".into());
        values.insert(
            "dir".into(),
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
        );
        values.insert("logfile".into(), String::new());
        values.insert("pidfile".into(), String::new());
        values.insert("save".into(), "3600 1 300 100 60 10000".into());
        for (k, v) in HIDDEN {
            values.insert((*k).into(), (*v).into());
        }
        // Redis's own `* -::*` stays the default CONFIG REWRITE compares
        // with (a rewrite needs a config file, where it applies); started
        // bare, Cinnabar binds loopback only (`config::parse::load_startup`
        // restores `* -::*` when a file is given).
        let defaults = values.clone();
        values.insert("bind".into(), "127.0.0.1 -::1".into());
        let cfg = Config {
            defaults,
            values: RwLock::new(values),
            renames: parking_lot::Mutex::new(Vec::new()),
            user_lines: parking_lot::Mutex::new(Vec::new()),
            maxclients: AtomicUsize::new(10000),
            proto_max_bulk_len: AtomicUsize::new(512 << 20),
            client_query_buffer_limit: AtomicUsize::new(1 << 30),
            timeout: AtomicU64::new(0),
            busy_reply_threshold: AtomicU64::new(5000),
            slowlog_slower_than: std::sync::atomic::AtomicI64::new(10000),
            slowlog_max_len: AtomicUsize::new(128),
            latency_threshold: AtomicU64::new(0),
            notify_flags: AtomicU32::new(0),
            hz: AtomicU32::new(10),
            obuf_pubsub: ObufLimitAtomics::default(),
            obuf_normal: ObufLimitAtomics::default(),
            obuf_replica: ObufLimitAtomics::default(),
            requirepass_set: AtomicBool::new(false),
            protected_mode: AtomicBool::new(true),
            lazyfree_lazy_user_del: AtomicBool::new(false),
            latency_tracking: AtomicBool::new(true),
            lfu_policy: AtomicBool::new(false),
            lfu_log_factor: AtomicU32::new(10),
            lfu_decay_time: AtomicU32::new(1),
            tracking_table_max_keys: AtomicU64::new(1_000_000),
            stream_node_max_entries: AtomicU64::new(100),
            stream_node_max_bytes: AtomicU64::new(4096),
            active_expire: AtomicBool::new(true),
            maxmemory: AtomicU64::new(0),
            maxmemory_clients: AtomicI64::new(0),
            min_replicas_to_write: AtomicU64::new(0),
            min_replicas_max_lag: AtomicU64::new(10),
            replica_read_only: AtomicBool::new(true),
            databases: 16,
            hash_max_listpack_entries: AtomicUsize::new(512),
            hash_max_listpack_value: AtomicUsize::new(64),
            zset_max_listpack_entries: AtomicUsize::new(128),
            zset_max_listpack_value: AtomicUsize::new(64),
            set_max_intset_entries: AtomicUsize::new(512),
        };
        let snapshot: Vec<(String, String)> = cfg
            .values
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in snapshot {
            let _ = cfg.apply_hot(&k, &v);
        }
        cfg
    }

    /// Redis's `allowProtectedAction`: whether `option` (enable-debug-command,
    /// enable-protected-configs, enable-module-command; set at startup only)
    /// lets this client act: `yes` everyone, `local` loopback clients only.
    pub fn allows(&self, option: &str, client_is_local: bool) -> bool {
        match self.get(option).as_deref() {
            Some("yes") => true,
            Some("local") => client_is_local,
            _ => false,
        }
    }

    /// The hash encoding thresholds in force.
    pub fn hash_limits(&self) -> crate::types::hash::Limits {
        crate::types::hash::Limits {
            max_entries: self.hash_max_listpack_entries.load(Ordering::Relaxed),
            max_value: self.hash_max_listpack_value.load(Ordering::Relaxed),
        }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        crate::contention::global_lock("config table");
        self.values.read().get(name).cloned()
    }

    pub fn get_int(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub fn is_known(&self, name: &str) -> bool {
        self.values.read().contains_key(name)
    }

    /// The value `name` has when nothing sets it.
    pub fn default_of(&self, name: &str) -> Option<&str> {
        self.defaults.get(name).map(|s| s.as_str())
    }

    /// Stores a value as is, bypassing validation: directives that are not
    /// CONFIG SET parameters but are kept for CONFIG GET (`replicaof`).
    pub fn set_startup_raw(&self, name: &str, value: &str) {
        self.values
            .write()
            .insert(name.to_string(), value.to_string());
    }

    /// Records a `rename-command` directive (an empty `to` removes the command).
    pub fn add_rename(&self, from: &str, to: &str) {
        self.renames.lock().push((from.to_string(), to.to_string()));
    }

    /// The `rename-command` directives read at startup, in order.
    /// A `user <name> <rules>…` directive: checked as Redis's
    /// ACLAppendUserForLoading (a repeated user, a rule with bad syntax).
    pub fn add_user_line(&self, words: &[bytes::Bytes]) -> Result<(), String> {
        let mut lines = self.user_lines.lock();
        match crate::acl::check_user_line(&lines, words) {
            Ok(line) => {
                lines.push(line);
                Ok(())
            }
            Err((at, e)) => Err(format!(
                "Error in user declaration '{}': {}",
                String::from_utf8_lossy(&words[at]),
                e.message()
            )),
        }
    }

    pub fn user_lines(&self) -> Vec<Vec<bytes::Bytes>> {
        self.user_lines.lock().clone()
    }

    pub fn renames(&self) -> Vec<(String, String)> {
        self.renames.lock().clone()
    }

    /// Every parameter and its value (aliases and hidden ones included).
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.values.read().clone()
    }

    /// CONFIG GET: every parameter whose name matches one of the patterns.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let values = self.values.read();
        let is_hidden = |k: &str| HIDDEN.iter().any(|(h, _)| *h == k);
        let mut out: Vec<(String, String)> = Vec::new();
        for pat in patterns {
            let lower = pat.to_ascii_lowercase();
            let is_glob = lower.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
            if !is_glob {
                if let Some(v) = std::str::from_utf8(&lower).ok().and_then(|n| values.get(n)) {
                    // Redis replies with the name as the client spelled it.
                    let shown = String::from_utf8_lossy(pat).into_owned();
                    if !out.iter().any(|(k, _)| k.eq_ignore_ascii_case(&shown)) {
                        out.push((shown, v.clone()));
                    }
                }
                continue;
            }
            for (k, v) in values.iter() {
                if !is_hidden(k)
                    && glob_match(&lower, k.as_bytes(), false)
                    && !out.iter().any(|(o, _)| o.eq_ignore_ascii_case(k))
                {
                    out.push((k.clone(), v.clone()));
                }
            }
        }
        // As Redis, `dir` is the working directory (made absolute).
        for (k, v) in out.iter_mut() {
            if k.eq_ignore_ascii_case("dir") {
                if let Ok(cwd) = std::env::current_dir() {
                    *v = cwd.display().to_string();
                }
            }
        }
        out
    }

    /// Validates and stores one parameter; `startup` selects the config-file rules.
    pub fn set(&self, name: &str, value: &str, startup: bool) -> Result<(), String> {
        let name = name.to_ascii_lowercase();
        let name = canonical_name(&name);
        if !self.is_known(&name) {
            return Err("Unknown option".into());
        }
        if !startup && IMMUTABLE.contains(&name.as_str()) {
            return Err("can't set immutable config".into());
        }
        let mut normalized = if name == "client-output-buffer-limit" {
            // Classes not named keep their current limits (as Redis).
            normalize_obuf(value, &self.get(&name).unwrap_or_default())?
        } else {
            normalize(&name, value)?
        };
        if name == "dir" && !startup {
            // CONFIG SET dir changes the working directory, as in Redis (at startup
            // `main` does it once the whole configuration is read).
            std::env::set_current_dir(&normalized).map_err(|e| strerror(&e))?;
            if let Ok(cwd) = std::env::current_dir() {
                normalized = cwd.display().to_string();
            }
        }
        if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == name) {
            let default = DEFAULTS
                .lines()
                .find_map(|l| {
                    l.split_once('\t')
                        .filter(|(k, _)| *k == name)
                        .map(|(_, v)| v)
                })
                .unwrap_or("");
            if normalized != default {
                return Err((*why).to_string());
            }
        }
        self.apply_hot(&name, &normalized)?;
        let mut values = self.values.write();
        for alias in aliases(&name) {
            if values.contains_key(&alias) {
                values.insert(alias, normalized.clone());
            }
        }
        values.insert(name, normalized);
        Ok(())
    }

    fn apply_hot(&self, name: &str, v: &str) -> Result<(), String> {
        let int = || {
            v.parse::<i64>()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())
        };
        match name {
            "maxclients" => self
                .maxclients
                .store(int()?.max(1) as usize, Ordering::Relaxed),
            // Ranges were checked by `normalize` (Redis's table): store.
            "proto-max-bulk-len" => self
                .proto_max_bulk_len
                .store(int()? as usize, Ordering::Relaxed),
            "client-query-buffer-limit" => self
                .client_query_buffer_limit
                .store(int()? as usize, Ordering::Relaxed),
            "timeout" => self.timeout.store(int()?.max(0) as u64, Ordering::Relaxed),
            "busy-reply-threshold" => self
                .busy_reply_threshold
                .store(int()?.max(0) as u64, Ordering::Relaxed),
            "slowlog-log-slower-than" => self.slowlog_slower_than.store(int()?, Ordering::Relaxed),
            "latency-monitor-threshold" => self
                .latency_threshold
                .store(int()?.max(0) as u64, Ordering::Relaxed),
            "slowlog-max-len" => self
                .slowlog_max_len
                .store(int()?.max(0) as usize, Ordering::Relaxed),
            "maxmemory" => self
                .maxmemory
                .store(v.parse::<u64>().unwrap_or(0), Ordering::Relaxed),
            "maxmemory-clients" => {
                // Normalised before it gets here: `N` bytes or `P%`.
                let n = match v.strip_suffix('%') {
                    Some(p) => -p.parse::<i64>().unwrap_or(0),
                    None => v.parse::<i64>().unwrap_or(0),
                };
                self.maxmemory_clients.store(n, Ordering::Relaxed)
            }
            "set-max-intset-entries" => self
                .set_max_intset_entries
                .store(int()? as usize, Ordering::Relaxed),
            "hash-max-listpack-entries" => self
                .hash_max_listpack_entries
                .store(int()? as usize, Ordering::Relaxed),
            "hash-max-listpack-value" => self
                .hash_max_listpack_value
                .store(int()? as usize, Ordering::Relaxed),
            "stream-node-max-entries" => self
                .stream_node_max_entries
                .store(int()?.max(0) as u64, Ordering::Relaxed),
            "stream-node-max-bytes" => self
                .stream_node_max_bytes
                .store(int()?.max(0) as u64, Ordering::Relaxed),
            "hz" => self
                .hz
                .store(int()?.clamp(1, 500) as u32, Ordering::Relaxed),
            "notify-keyspace-events" => {
                let flags = crate::notify::parse_flags(v)
                    .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
                self.notify_flags.store(flags, Ordering::Relaxed)
            }
            "requirepass" => self.requirepass_set.store(!v.is_empty(), Ordering::Relaxed),
            "protected-mode" => self.protected_mode.store(v == "yes", Ordering::Relaxed),
            "lazyfree-lazy-user-del" => self
                .lazyfree_lazy_user_del
                .store(v == "yes", Ordering::Relaxed),
            "latency-tracking" => self.latency_tracking.store(v == "yes", Ordering::Relaxed),
            "maxmemory-policy" => self
                .lfu_policy
                .store(v.ends_with("-lfu"), Ordering::Relaxed),
            "lfu-log-factor" => self
                .lfu_log_factor
                .store(int()?.clamp(0, u32::MAX as i64) as u32, Ordering::Relaxed),
            "lfu-decay-time" => self
                .lfu_decay_time
                .store(int()?.clamp(0, u32::MAX as i64) as u32, Ordering::Relaxed),
            "tracking-table-max-keys" => self
                .tracking_table_max_keys
                .store(int()?.max(0) as u64, Ordering::Relaxed),
            "min-replicas-to-write" => self
                .min_replicas_to_write
                .store(int()?.max(0) as u64, Ordering::Relaxed),
            "min-replicas-max-lag" => self
                .min_replicas_max_lag
                .store(int()?.max(0) as u64, Ordering::Relaxed),
            "replica-read-only" => self.replica_read_only.store(v == "yes", Ordering::Relaxed),
            "zset-max-listpack-entries" => self
                .zset_max_listpack_entries
                .store(int()?.max(0) as usize, Ordering::Relaxed),
            "zset-max-listpack-value" => self
                .zset_max_listpack_value
                .store(int()?.max(0) as usize, Ordering::Relaxed),
            "client-output-buffer-limit" => {
                let parts: Vec<&str> = v.split_whitespace().collect();
                for chunk in parts.chunks(4) {
                    let target = match chunk[0] {
                        "pubsub" => &self.obuf_pubsub,
                        "normal" => &self.obuf_normal,
                        "slave" | "replica" => &self.obuf_replica,
                        _ => continue,
                    };
                    target
                        .hard
                        .store(chunk[1].parse().unwrap_or(0), Ordering::Relaxed);
                    target
                        .soft
                        .store(chunk[2].parse().unwrap_or(0), Ordering::Relaxed);
                    target
                        .soft_seconds
                        .store(chunk[3].parse().unwrap_or(0), Ordering::Relaxed);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Names of stored-only parameters that were given non-default values (warned at startup).
    pub fn stored_only_changes(&self) -> Vec<String> {
        let values = self.values.read();
        DEFAULTS
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter(|(k, v)| !HONOURED.contains(k) && values.get(*k).is_some_and(|cur| cur != v))
            .map(|(k, _)| k.to_string())
            .collect()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

/// Parameters CONFIG SET refuses at runtime (Redis's IMMUTABLE_CONFIG, and our `threads`).
const IMMUTABLE: &[&str] = &[
    "rdbchecksum",
    "daemonize",
    "io-threads-do-reads",
    "always-show-logo",
    "set-proc-title",
    "syslog-enabled",
    "cluster-enabled",
    "disable-thp",
    "aclfile",
    "unixsocket",
    "pidfile",
    "cluster-config-file",
    "syslog-ident",
    "appendfilename",
    "appenddirname",
    "server_cpulist",
    "bio_cpulist",
    "aof_rewrite_cpulist",
    "bgsave_cpulist",
    "logfile",
    "supervised",
    "syslog-facility",
    "enable-protected-configs",
    "enable-debug-command",
    "enable-module-command",
    "databases",
    "io-threads",
    "tcp-backlog",
    "cluster-port",
    "unixsocketperm",
    "socket-mark-id",
    "replicaof",
    "lua-enable-deprecated-api",
    "threads",
];

/// Whether CONFIG SET refuses `name` at runtime (its primary name).
pub fn is_immutable(name: &str) -> bool {
    IMMUTABLE.contains(&name)
}

/// The primary name of a parameter (`slave-priority` is `replica-priority`).
pub fn canonical_name(name: &str) -> String {
    ALIASES
        .iter()
        .find(|(_, alias)| *alias == name)
        .map_or(name, |(primary, _)| primary)
        .to_string()
}

/// True for a parameter's second name (CONFIG REWRITE writes only primaries).
pub fn is_alias(name: &str) -> bool {
    ALIASES.iter().any(|(_, alias)| *alias == name)
}

fn aliases(name: &str) -> Vec<String> {
    ALIASES
        .iter()
        .filter(|(primary, _)| *primary == name)
        .map(|(_, alias)| alias.to_string())
        .collect()
}

/// `strerror(errno)`: the OS message without Rust's " (os error N)".
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn kind_of(name: &str, default: &str) -> Kind {
    if MEMORY_PARAMS.contains(&name) {
        Kind::Memory
    } else if default == "yes" || default == "no" {
        Kind::Bool
    } else if default.parse::<i64>().is_ok() {
        Kind::Int
    } else {
        Kind::Text
    }
}

/// Validates `value` for `name` and returns the form CONFIG GET reports.
/// `latency-tracking-info-percentiles`: numbers from 0 to 100, shown as
/// Redis shows them ("99.9", "50", "0").
fn percentiles(value: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for word in value.split_whitespace() {
        match word.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => out.push(p.to_string()),
            _ => {
                return Err(
                    "latency-tracking-info-percentiles should be between 0.0 and 100.0".into(),
                )
            }
        }
    }
    Ok(out.join(" "))
}

/// Ranges of Cinnabar's own numeric parameters (Redis's come from its table).
fn own_range(name: &str) -> Option<(i64, i64)> {
    match name {
        "http-port" => Some((0, 65535)),
        // A scrape reads every reported key under its shard's lock: bounded.
        "metrics-keys-max" => Some((0, 10_000)),
        "metrics-deliveries-threshold" => Some((0, i64::MAX)),
        _ => None,
    }
}

fn normalize(name: &str, value: &str) -> Result<String, String> {
    let default = DEFAULTS
        .lines()
        .find_map(|l| {
            l.split_once('\t')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v)
        })
        .unwrap_or("");
    if let Some((_, allowed)) = ENUMS.iter().find(|(n, _)| *n == name) {
        return one_of(value, allowed);
    }
    if name == "latency-tracking-info-percentiles" {
        return percentiles(value);
    }
    if let Some((lo, hi)) = own_range(name) {
        return match value.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n.to_string()),
            Ok(_) => Err(format!("argument must be between {lo} and {hi} inclusive")),
            Err(_) => Err("argument couldn't be parsed into an integer".into()),
        };
    }
    if let Some(rule) = NumericRule::of(name) {
        return rule.normalize(value);
    }
    match kind_of(name, default) {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int => value
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| "argument couldn't be parsed into an integer".into()),
        Kind::Memory => {
            if let Some(pct) = value
                .strip_suffix('%')
                .filter(|_| name == "maxmemory-clients")
            {
                return match pct.parse::<i64>() {
                    Ok(p) if p > 100 => {
                        Err("percentage argument must be less or equal to 100".into())
                    }
                    Ok(p) if p >= 0 => Ok(format!("{p}%")),
                    _ => Err("argument must be a memory or percent value".into()),
                };
            }
            parse_memory(value)
                .map(|n| n.to_string())
                .ok_or_else(|| "argument must be a memory value".into())
        }
        Kind::Text => match name {
            "client-output-buffer-limit" => normalize_obuf(value, ""),
            "save" => normalize_save(value),
            "bind" => {
                let words: Vec<&str> = value.split_whitespace().collect();
                if words.len() > 16 {
                    return Err("Too many bind addresses specified.".into());
                }
                Ok(words.join(" "))
            }
            "maxmemory-policy" => one_of(
                value,
                &[
                    "volatile-lru",
                    "volatile-lfu",
                    "volatile-random",
                    "volatile-ttl",
                    "allkeys-lru",
                    "allkeys-lfu",
                    "allkeys-random",
                    "noeviction",
                ],
            ),
            "appendfsync" => one_of(value, &["everysec", "always", "no"]),
            "shutdown-on-sigint" | "shutdown-on-sigterm" => normalize_shutdown_flags(value),
            "loglevel" => one_of(value, &["debug", "verbose", "notice", "warning", "nothing"]),
            "notify-keyspace-events" => crate::notify::parse_flags(value)
                .map(crate::notify::flags_to_string)
                .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
            _ => Ok(value.to_string()),
        },
    }
}

/// How Redis parses and bounds one numeric parameter (`redis7-bounds.tsv`).
struct NumericRule {
    /// numericBoundaryCheck's unsigned branch (the value is read as u64).
    unsigned: bool,
    lower: i128,
    upper: i128,
    parse: NumericParse,
}

#[derive(PartialEq)]
enum NumericParse {
    Integer,
    Memory,
    MemoryPercent,
    Octal,
}

impl NumericRule {
    fn of(name: &str) -> Option<NumericRule> {
        let line = BOUNDS
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find(|l| l.split('\t').next() == Some(name))?;
        let f: Vec<&str> = line.split('\t').collect();
        Some(NumericRule {
            unsigned: *f.get(1)? == "unsigned",
            lower: f.get(2)?.parse().ok()?,
            upper: f.get(3)?.parse().ok()?,
            parse: match *f.get(4)? {
                "memory" => NumericParse::Memory,
                "memory+percent" => NumericParse::MemoryPercent,
                "octal" => NumericParse::Octal,
                _ => NumericParse::Integer,
            },
        })
    }

    /// Redis's numericParseString then numericBoundaryCheck, with their
    /// messages; the value as CONFIG GET reports it.
    fn normalize(&self, value: &str) -> Result<String, String> {
        let ll = self.parse(value)?;
        let percent = self.parse == NumericParse::MemoryPercent && ll < 0;
        if self.unsigned {
            let (v, lo, hi) = (ll as u64 as i128, self.lower, self.upper);
            if v < lo || v > hi {
                return Err(if self.parse == NumericParse::Octal {
                    format!("argument must be between {lo:o} and {hi:o} inclusive")
                } else {
                    format!("argument must be between {lo} and {hi} inclusive")
                });
            }
        } else if percent {
            if (ll as i128) < self.lower {
                return Err(format!(
                    "percentage argument must be less or equal to {}",
                    -self.lower
                ));
            }
        } else if (ll as i128) < self.lower || (ll as i128) > self.upper {
            return Err(format!(
                "argument must be between {} and {} inclusive",
                self.lower, self.upper
            ));
        }
        Ok(if percent {
            format!("{}%", -(ll as i128))
        } else if self.parse == NumericParse::Octal {
            format!("{ll:o}")
        } else if self.unsigned {
            (ll as u64).to_string()
        } else {
            ll.to_string()
        })
    }

    fn parse(&self, value: &str) -> Result<i64, String> {
        use crate::conn::protocol::parse_i64;
        match self.parse {
            NumericParse::Integer => parse_i64(value.as_bytes())
                .ok_or_else(|| "argument couldn't be parsed into an integer".into()),
            NumericParse::Octal => i64::from_str_radix(value, 8)
                .ok()
                .filter(|_| !value.is_empty() && !value.starts_with('+'))
                .ok_or_else(|| "argument couldn't be parsed as an octal number".into()),
            NumericParse::Memory => parse_memory(value)
                .map(|v| v as i64)
                .ok_or_else(|| "argument must be a memory value".into()),
            NumericParse::MemoryPercent => {
                if let Some(v) = parse_memory(value) {
                    return Ok(v as i64);
                }
                value
                    .strip_suffix('%')
                    .filter(|p| !p.is_empty())
                    .and_then(|p| parse_i64(p.as_bytes()))
                    .filter(|p| *p >= 0)
                    .map(|p| -p)
                    .ok_or_else(|| "argument must be a memory or percent value".into())
            }
        }
    }
}

/// Redis's `memtoull`: digits then an optional unit (b, k, kb, m, mb, g,
/// gb, any case; k = 1000, kb = 1024); no sign. Overflow wraps as in C
/// (strtoull saturates, the multiplication wraps).
pub fn parse_memory(s: &str) -> Option<u64> {
    if s.starts_with('-') {
        return None;
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    let val = digits.bytes().fold(0u64, |v, d| {
        v.checked_mul(10)
            .and_then(|v| v.checked_add((d - b'0') as u64))
            .unwrap_or(u64::MAX)
    });
    Some(val.wrapping_mul(mul))
}

/// `shutdown-on-sig*`: bit flags, reported in Redis's table order
/// (`configEnumGetName`), `default` when none is set.
fn normalize_shutdown_flags(value: &str) -> Result<String, String> {
    const FLAGS: [&str; 5] = ["default", "save", "nosave", "now", "force"];
    let mut bits = 0u8;
    let mut any = false;
    for w in value.split_whitespace() {
        any = true;
        match FLAGS.iter().position(|f| f.eq_ignore_ascii_case(w)) {
            Some(0) => {}
            Some(i) => bits |= 1 << (i - 1),
            None => {
                return Err(format!(
                    "argument(s) must be one of the following: {}",
                    FLAGS.join(", ")
                ))
            }
        }
    }
    if !any {
        return Err(format!(
            "argument(s) must be one of the following: {}",
            FLAGS.join(", ")
        ));
    }
    if bits & 0b11 == 0b11 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
    }
    if bits == 0 {
        return Ok("default".into());
    }
    Ok(FLAGS[1..]
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, f)| *f)
        .collect::<Vec<_>>()
        .join(" "))
}

fn one_of(value: &str, allowed: &[&str]) -> Result<String, String> {
    let lower = value.to_ascii_lowercase();
    if allowed.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(format!(
            "argument(s) must be one of the following: {}",
            allowed.join(", ")
        ))
    }
}

/// `client-output-buffer-limit`: the classes given replace theirs in `current`.
fn normalize_obuf(value: &str, current: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    if parts.is_empty() || !parts.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut classes: Vec<(String, [String; 3])> = vec![
        ("normal".into(), ["0".into(), "0".into(), "0".into()]),
        (
            "slave".into(),
            ["268435456".into(), "67108864".into(), "60".into()],
        ),
        (
            "pubsub".into(),
            ["33554432".into(), "8388608".into(), "60".into()],
        ),
    ];
    let cur: Vec<&str> = current.split_whitespace().collect();
    for chunk in cur.chunks(4) {
        if let (Some(entry), [_, h, s, secs]) =
            (classes.iter_mut().find(|(c, _)| c == chunk[0]), chunk)
        {
            entry.1 = [h.to_string(), s.to_string(), secs.to_string()];
        }
    }
    for chunk in parts.chunks(4) {
        let class = match chunk[0].to_ascii_lowercase().as_str() {
            "normal" => "normal",
            "slave" | "replica" => "slave",
            "pubsub" => "pubsub",
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = parse_memory(chunk[1]);
        let soft = parse_memory(chunk[2]);
        let secs = chunk[3].parse::<i64>().ok().filter(|n| *n >= 0);
        let (Some(hard), Some(soft), Some(secs)) = (hard, soft, secs) else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        };
        if let Some(entry) = classes.iter_mut().find(|(c, _)| c == class) {
            entry.1 = [hard.to_string(), soft.to_string(), secs.to_string()];
        }
    }
    Ok(classes
        .iter()
        .map(|(c, v)| format!("{c} {} {} {}", v[0], v[1], v[2]))
        .collect::<Vec<_>>()
        .join(" "))
}

fn normalize_save(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    if !parts.len().is_multiple_of(2) {
        return Err("Invalid save parameters".into());
    }
    for p in &parts {
        if p.parse::<u64>().is_err() {
            return Err("Invalid save parameters".into());
        }
    }
    Ok(parts.join(" "))
}

/// CONFIG SET's error for one parameter.
pub fn set_error(param: &str, reason: String) -> CmdError {
    if reason == "Unknown option" {
        return CmdError::ConfigUnknownParam(param.to_string());
    }
    CmdError::ConfigSetFailed {
        param: param.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1kb"), Some(1024));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("32mb"), Some(32 << 20));
        assert_eq!(parse_memory("x"), None);
    }

    #[test]
    fn set_get_roundtrip_with_aliases() {
        let c = Config::new();
        c.set("list-max-ziplist-size", "-3", false).unwrap();
        let got = c.get_matching(&[b"list-max-*"]);
        assert!(got.iter().all(|(_, v)| v == "-3"), "{got:?}");
        assert!(c.set("maxclients", "abc", false).is_err());
        c.set("client-output-buffer-limit", "pubsub 1mb 0 0", false)
            .unwrap();
        assert_eq!(c.obuf_pubsub.hard.load(Ordering::Relaxed), 1 << 20);
        assert!(c.set("no-such-thing", "1", false).is_err());
    }
}
