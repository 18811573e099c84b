//! The append-only file, as Redis 7's multi-part AOF: a directory
//! (`appenddirname`) holding one BASE file (an RDB snapshot), the INCR files
//! with the writes made since it, and a manifest (`<appendfilename>.manifest`)
//! that lists them in order. A redis-server 7 loads our directory and we load
//! its own (RDB or AOF-format BASE, `#` annotations, MULTI/EXEC blocks).
//!
//! Writing: effects reach the AOF through the replication feed
//! (`Replication::feed` calls [`Aof::append`] under the feed lock, so the file
//! has the stream's order), as RESP with SELECT when the database changes.
//! Every connection calls [`Aof::wait_durable`] before it sends replies: what
//! was fed so far is written to the file first (and with `appendfsync always`
//! fsynced), which is Redis's promise — it writes its AOF buffer in
//! `beforeSleep`, before any reply leaves — so no client sees a reply, or a
//! value, that a crash could take back. Whichever connection comes first
//! writes the buffer for everyone (group commit); fsyncs run on the AOF
//! thread, which also fsyncs once a second under `everysec`.
//!
//! Rewriting (BGREWRITEAOF, automatic growth, CONFIG SET appendonly yes):
//! under every shard lock the snapshot is taken and the feed switches to a
//! fresh INCR file; a thread writes the snapshot as the new BASE and then the
//! manifest, and the files the new BASE replaces are deleted.
//!
//! Lock order: shards, then the replication state, then `buf`, then `file`.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use parking_lot::{Condvar, Mutex};

use crate::client::{Client, ClientHandle};
use crate::command::{execute, Outcome};
use crate::conn::protocol::{Parsed, RequestParser};
use crate::persist::rdb;
use crate::reply::Reply;
use crate::server::{unix_ms, Server};

/// `appendfsync`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fsync {
    No = 0,
    EverySec = 1,
    Always = 2,
}

impl Fsync {
    pub fn parse(v: &str) -> Fsync {
        match v {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// One file of the manifest.
#[derive(Clone, Debug, PartialEq)]
struct AofFile {
    name: String,
    seq: u64,
    kind: u8, // b'b' base, b'h' history, b'i' incr
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Manifest {
    base: Option<AofFile>,
    history: Vec<AofFile>,
    incr: Vec<AofFile>,
}

impl Manifest {
    fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        let mut max_seq = 0;
        let mut lines = 0;
        for line in text.lines() {
            lines += 1;
            // Redis reads lines into a 1024-byte buffer (MANIFEST_MAX_LINE).
            if line.len() >= 1024 {
                return Err("The AOF manifest file contains too long line".into());
            }
            if line.starts_with('#') {
                continue;
            }
            let Some(parts) = split_args(line) else {
                return Err("Invalid AOF manifest file format".into());
            };
            if parts.len() < 6 || !parts.len().is_multiple_of(2) {
                return Err("Invalid AOF manifest file format".into());
            }
            let (mut name, mut seq, mut kind) = (None, 0u64, 0u8);
            for kv in parts.chunks(2) {
                match kv[0].to_ascii_lowercase().as_str() {
                    "file" => name = Some(kv[1].clone()),
                    "seq" => seq = kv[1].parse().unwrap_or(0),
                    "type" => kind = kv[1].bytes().next().unwrap_or(0),
                    _ => {}
                }
            }
            let Some(name) = name.filter(|_| seq != 0 && kind != 0) else {
                return Err("Invalid AOF manifest file format".into());
            };
            if name.contains('/') {
                return Err("File can't be a path, just a filename".into());
            }
            let f = AofFile { name, seq, kind };
            match kind {
                b'b' => {
                    if m.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    m.base = Some(f);
                }
                b'h' => m.history.push(f),
                b'i' => {
                    if seq <= max_seq {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    max_seq = seq;
                    m.incr.push(f);
                }
                _ => return Err("Unknown AOF file type".into()),
            }
        }
        if lines == 0 {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(m)
    }

    fn render(&self) -> String {
        let mut s = String::new();
        for f in self.base.iter().chain(&self.history).chain(&self.incr) {
            s.push_str(&format!(
                "file {} seq {} type {}\n",
                repr_if_needed(&f.name),
                f.seq,
                f.kind as char
            ));
        }
        s
    }

    fn next_incr_seq(&self) -> u64 {
        self.incr.last().map_or(0, |f| f.seq) + 1
    }
}

/// A file name as Redis writes it in the manifest: quoted and escaped
/// (`sdscatrepr`) when it has spaces, quotes or control characters.
fn repr_if_needed(name: &str) -> String {
    let needs = name
        .bytes()
        .any(|c| c <= b' ' || c == b'"' || c == b'\\' || c == b'\'' || c >= 0x7f);
    if !needs {
        return name.to_string();
    }
    let mut s = String::new();
    crate::server::repr_into(&mut s, name.as_bytes());
    s
}

/// Splits a manifest line as Redis's `sdssplitargs`: words, or double-quoted
/// strings with escapes. None on an unbalanced quote.
fn split_args(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut it = line.chars().peekable();
    loop {
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        let Some(&first) = it.peek() else {
            return Some(out);
        };
        let mut word = String::new();
        if first == '"' {
            it.next();
            loop {
                match it.next()? {
                    '"' => break,
                    '\\' => match it.next()? {
                        'n' => word.push('\n'),
                        'r' => word.push('\r'),
                        't' => word.push('\t'),
                        'a' => word.push('\u{7}'),
                        'b' => word.push('\u{8}'),
                        'x' => {
                            let hex: String = [it.next()?, it.next()?].iter().collect();
                            word.push(u8::from_str_radix(&hex, 16).ok()? as char);
                        }
                        other => word.push(other),
                    },
                    c => word.push(c),
                }
            }
            // A closing quote must end the word.
            if it.peek().is_some_and(|c| !c.is_whitespace()) {
                return None;
            }
        } else {
            while let Some(&c) = it.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                it.next();
            }
        }
        out.push(word);
    }
}

/// Where the files live, from the config at the time of use.
struct Names {
    dir: PathBuf,
    file: String,
}

impl Names {
    fn of(srv: &Server) -> Names {
        Names {
            dir: PathBuf::from(
                srv.config
                    .get("appenddirname")
                    .unwrap_or_else(|| "appendonlydir".into()),
            ),
            file: srv
                .config
                .get("appendfilename")
                .unwrap_or_else(|| "appendonly.aof".into()),
        }
    }
    fn manifest(&self) -> PathBuf {
        self.dir.join(format!("{}.manifest", self.file))
    }
    fn base_name(&self, seq: u64) -> String {
        format!("{}.{seq}.base.rdb", self.file)
    }
    fn incr_name(&self, seq: u64) -> String {
        format!("{}.{seq}.incr.aof", self.file)
    }
}

/// Fed bytes not yet written, and the database they last SELECTed.
#[derive(Default)]
struct Pending {
    bytes: BytesMut,
    db: Option<usize>,
}

/// The open INCR file.
struct Incr {
    file: Arc<File>,
}

/// The AOF of one server (`Server::aof`).
pub struct Aof {
    on: AtomicBool,
    policy: AtomicU8,
    /// Fed, not yet written (Redis's `aof_buf`).
    buf: Mutex<Pending>,
    file: Mutex<Option<Incr>>,
    /// Byte counts since the process started: fed, written, fsynced.
    appended: AtomicU64,
    written: AtomicU64,
    synced: AtomicU64,
    /// Woken when `synced` moves (connections waiting under `always`).
    durable: tokio::sync::Notify,
    fsync_wanted: Mutex<bool>,
    fsync_cond: Condvar,
    manifest: Mutex<Manifest>,
    pub rewrite_in_progress: AtomicBool,
    pub rewrite_scheduled: AtomicBool,
    last_rewrite_ok: AtomicBool,
    last_rewrite_secs: AtomicI64,
    rewrite_started_ms: AtomicU64,
    rewrites: AtomicU64,
    rewrite_failures: AtomicU64,
    last_write_ok: AtomicBool,
    /// Sizes for INFO and the automatic rewrite: the BASE, and everything
    /// (BASE + INCR) at the last rewrite and now.
    base_size: AtomicU64,
    size_at_rewrite: AtomicU64,
    current_size: AtomicU64,
    thread_started: AtomicBool,
    /// DEBUG AOF-FLUSH-SLEEP: µs to sleep before each write (tests widen
    /// the window between a write and its reply with it).
    pub flush_sleep_us: AtomicU64,
    /// The system's text for the last failed write or fsync (for -MISCONF).
    last_write_err: Mutex<String>,
}

impl Default for Aof {
    fn default() -> Self {
        Aof::new()
    }
}

impl Aof {
    pub fn new() -> Aof {
        Aof {
            on: AtomicBool::new(false),
            policy: AtomicU8::new(Fsync::EverySec as u8),
            buf: Mutex::new(Pending::default()),
            file: Mutex::new(None),
            appended: AtomicU64::new(0),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            durable: tokio::sync::Notify::new(),
            fsync_wanted: Mutex::new(false),
            fsync_cond: Condvar::new(),
            manifest: Mutex::new(Manifest::default()),
            rewrite_in_progress: AtomicBool::new(false),
            rewrite_scheduled: AtomicBool::new(false),
            last_rewrite_ok: AtomicBool::new(true),
            last_rewrite_secs: AtomicI64::new(-1),
            rewrite_started_ms: AtomicU64::new(0),
            rewrites: AtomicU64::new(0),
            rewrite_failures: AtomicU64::new(0),
            last_write_ok: AtomicBool::new(true),
            base_size: AtomicU64::new(0),
            size_at_rewrite: AtomicU64::new(0),
            current_size: AtomicU64::new(0),
            thread_started: AtomicBool::new(false),
            flush_sleep_us: AtomicU64::new(0),
            last_write_err: Mutex::new(String::new()),
        }
    }

    /// Whether writes go to the AOF (one relaxed load: the connection fast path).
    #[inline]
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    pub fn set_policy(&self, p: Fsync) {
        self.policy.store(p as u8, Ordering::Relaxed);
    }

    fn policy(&self) -> Fsync {
        match self.policy.load(Ordering::Relaxed) {
            0 => Fsync::No,
            2 => Fsync::Always,
            _ => Fsync::EverySec,
        }
    }

    /// Appends a command's effects (called by the replication feed, under
    /// the command's shard locks). They are encoded before the lock is
    /// taken: under it, only a SELECT when the database changes and a copy.
    pub fn append_effects(&self, cmds: &[crate::repl::Prop]) {
        let db = cmds[0].0;
        let one_db = cmds.iter().all(|(d, _)| *d == db);
        let body = one_db.then(|| crate::repl::encode_block(cmds, &mut Some(db)));
        let mut p = self.buf.lock();
        let before = p.bytes.len();
        match body {
            Some(body) => {
                if p.db != Some(db) {
                    crate::repl::encode_command(
                        &mut p.bytes,
                        &[
                            bytes::Bytes::from_static(b"SELECT"),
                            bytes::Bytes::from(db.to_string()),
                        ],
                    );
                    p.db = Some(db);
                }
                p.bytes.extend_from_slice(&body);
            }
            None => {
                let mut cur = p.db;
                let out = crate::repl::encode_block(cmds, &mut cur);
                p.db = cur;
                p.bytes.extend_from_slice(&out);
            }
        }
        let added = (p.bytes.len() - before) as u64;
        self.appended.fetch_add(added, Ordering::Release);
    }

    /// The next command SELECTs (a new INCR file starts).
    pub fn reselect(&self) {
        self.buf.lock().db = None;
    }

    /// Why writes are refused (`-MISCONF`): the AOF is on and its last
    /// write or fsync failed, as Redis's `writeCommandsDeniedByDiskError`.
    pub fn write_error(&self) -> Option<String> {
        if self.is_on() && !self.last_write_ok.load(Ordering::Relaxed) {
            return Some(self.last_write_err.lock().clone());
        }
        None
    }

    /// Whether fed bytes wait to be written.
    #[inline]
    pub fn has_unwritten(&self) -> bool {
        self.written.load(Ordering::Acquire) < self.appended.load(Ordering::Acquire)
    }

    /// Writes the buffer to the INCR file, if another caller has not already.
    fn write_out(&self) {
        let mut file = self.file.lock();
        // No file (the AOF is being turned off): the bytes stay for the
        // snapshot that turns it on again to supersede.
        let Some(incr) = file.as_mut() else {
            return;
        };
        let (bytes, upto) = {
            let mut b = self.buf.lock();
            (b.bytes.split(), self.appended.load(Ordering::Acquire))
        };
        if bytes.is_empty() {
            return;
        }
        let sleep = self.flush_sleep_us.load(Ordering::Relaxed);
        if sleep > 0 {
            std::thread::sleep(Duration::from_micros(sleep));
        }
        match (&*incr.file).write_all(&bytes) {
            Ok(()) => {
                self.written.fetch_max(upto, Ordering::AcqRel);
                self.current_size
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                if !self.last_write_ok.swap(true, Ordering::Relaxed) {
                    tracing::warn!("AOF write error looks solved, Redis can write again.");
                }
            }
            Err(e) => {
                if self.policy() == Fsync::Always {
                    tracing::error!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting... ({e})");
                    std::process::exit(1);
                }
                *self.last_write_err.lock() = strerror(&e);
                if self.last_write_ok.swap(false, Ordering::Relaxed) {
                    tracing::warn!("Error writing to the AOF file: {e}");
                }
                // Kept for the next attempt, ahead of what came since.
                let mut b = self.buf.lock();
                let rest = b.bytes.split();
                b.bytes.extend_from_slice(&bytes);
                b.bytes.extend_from_slice(&rest);
            }
        }
    }

    /// Before replies leave: what was fed so far is in the file, and fsynced
    /// under `appendfsync always`.
    pub async fn wait_durable(&self) {
        let target = self.appended.load(Ordering::Acquire);
        if self.written.load(Ordering::Acquire) < target {
            self.write_out();
        }
        if self.policy() != Fsync::Always {
            return;
        }
        loop {
            let notified = self.durable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.synced.load(Ordering::Acquire) >= target
                || self.written.load(Ordering::Acquire) < target
            {
                // Done, or the write failed (logged; `always` exits on it).
                return;
            }
            self.request_fsync();
            notified.await;
        }
    }

    fn request_fsync(&self) {
        *self.fsync_wanted.lock() = true;
        self.fsync_cond.notify_one();
    }

    /// fsyncs what is written (the AOF thread, SHUTDOWN, rotation).
    fn fsync_now(&self) {
        let (file, target) = {
            let f = self.file.lock();
            (
                f.as_ref().map(|i| i.file.clone()),
                self.written.load(Ordering::Acquire),
            )
        };
        if self.synced.load(Ordering::Acquire) >= target {
            return;
        }
        if let Some(file) = file {
            if let Err(e) = file.sync_data() {
                tracing::warn!("Error syncing the AOF file: {e}");
                *self.last_write_err.lock() = strerror(&e);
                self.last_write_ok.store(false, Ordering::Relaxed);
                return;
            }
        }
        self.synced.fetch_max(target, Ordering::AcqRel);
        self.durable.notify_waiters();
    }

    /// The AOF thread: fsyncs on request (`always`) and once a second (`everysec`).
    fn start_thread(self: &Arc<Self>) {
        if self.thread_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || loop {
                {
                    let mut wanted = me.fsync_wanted.lock();
                    if !*wanted {
                        me.fsync_cond.wait_for(&mut wanted, Duration::from_secs(1));
                    }
                    *wanted = false;
                }
                if !me.is_on() {
                    continue;
                }
                if me.policy() == Fsync::EverySec {
                    me.write_out();
                }
                if me.policy() != Fsync::No {
                    me.fsync_now();
                }
            });
        if let Err(e) = spawned {
            tracing::error!("Can't start the AOF fsync thread: {e}");
            self.thread_started.store(false, Ordering::Release);
        }
    }

    /// SHUTDOWN and exit: everything fed is written and fsynced.
    pub fn flush_all(&self) {
        if !self.is_on() {
            return;
        }
        self.write_out();
        self.fsync_now();
    }

    fn persist_manifest(&self, names: &Names, m: &Manifest) -> std::io::Result<()> {
        super::write_file(&names.manifest(), m.render().as_bytes())?;
        // The rename itself is durable once the directory is.
        if let Ok(d) = File::open(&names.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// INFO persistence, the `aof_*` lines.
    pub fn info(&self) -> String {
        let on = self.is_on();
        let in_progress = self.rewrite_in_progress.load(Ordering::Relaxed);
        let current = if in_progress {
            (unix_ms().saturating_sub(self.rewrite_started_ms.load(Ordering::Relaxed)) / 1000)
                as i64
        } else {
            -1
        };
        let mut s = format!(
            "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{current}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
            on as u8,
            in_progress as u8,
            self.rewrite_scheduled.load(Ordering::Relaxed) as u8,
            self.last_rewrite_secs.load(Ordering::Relaxed),
            if self.last_rewrite_ok.load(Ordering::Relaxed) { "ok" } else { "err" },
            self.rewrites.load(Ordering::Relaxed),
            self.rewrite_failures.load(Ordering::Relaxed),
            if self.last_write_ok.load(Ordering::Relaxed) { "ok" } else { "err" },
        );
        if on {
            s.push_str(&format!(
                "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
                self.current_size.load(Ordering::Relaxed),
                self.base_size.load(Ordering::Relaxed),
                self.rewrite_scheduled.load(Ordering::Relaxed) as u8,
                self.buf.lock().bytes.len(),
            ));
        }
        s
    }
}

/// The C library's text for an I/O error, as Redis prints `strerror(errno)`.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

// ---- loading -------------------------------------------------------------

fn bad_format(name: &str) -> String {
    format!(
        "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
    )
}

/// Startup with `appendonly yes`: loads the AOF directory (or a pre-7 single
/// AOF file), then opens it for appending — creating the BASE from the
/// loaded data when there is none — and turns the feed on.
pub fn load_and_open_at_startup(srv: &Arc<Server>) -> Result<(), String> {
    let names = Names::of(srv);
    let start = Instant::now();
    let manifest_path = names.manifest();
    let mut manifest = Manifest::default();
    let mut loaded_any = false;
    if manifest_path.exists() {
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
            format!(
                "Fatal error: can't open the AOF manifest {} for reading: {e}",
                manifest_path.display()
            )
        })?;
        manifest = Manifest::parse(&text)?;
        let files: Vec<AofFile> = manifest
            .base
            .iter()
            .chain(&manifest.incr)
            .cloned()
            .collect();
        for (i, f) in files.iter().enumerate() {
            let path = names.dir.join(&f.name);
            let last = i + 1 == files.len();
            if !path.exists() && Path::new(&f.name).exists() {
                // An upgrade from a pre-7 single file was interrupted after
                // its manifest was written: the file moves in now.
                move_into_dir(&names, &f.name)?;
            }
            load_file(srv, &path, last)?;
            loaded_any = true;
        }
    } else if Path::new(&names.file).exists() {
        // Redis before 7: one file in the working directory. As Redis's
        // `aofUpgradePrepare`, it becomes the BASE of a new directory: the
        // manifest first, then the move (a restart finishes an interrupted one).
        std::fs::create_dir_all(&names.dir).map_err(|e| {
            format!(
                "Can't open or create append-only dir {}: {e}",
                names.dir.display()
            )
        })?;
        manifest.base = Some(AofFile {
            name: names.file.clone(),
            seq: 1,
            kind: b'b',
        });
        srv.aof
            .persist_manifest(&names, &manifest)
            .map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
        move_into_dir(&names, &names.file)?;
        tracing::info!("Successfully migrated an old-style AOF into the AOF directory");
        load_file(srv, &names.dir.join(&names.file), true)?;
        loaded_any = true;
    }
    if loaded_any {
        tracing::info!(
            "DB loaded from append only file: {:.3} seconds",
            start.elapsed().as_secs_f64()
        );
    }
    open_at_startup(srv, &names, manifest)
}

fn move_into_dir(names: &Names, file: &str) -> Result<(), String> {
    std::fs::rename(file, names.dir.join(file)).map_err(|e| {
        format!(
            "Error moving the AOF file {file} into {}: {e}",
            names.dir.display()
        )
    })
}

fn open_at_startup(srv: &Arc<Server>, names: &Names, mut manifest: Manifest) -> Result<(), String> {
    let aof = &srv.aof;
    std::fs::create_dir_all(&names.dir).map_err(|e| {
        format!(
            "Can't open or create append-only dir {}: {e}",
            names.dir.display()
        )
    })?;
    if manifest.base.is_none() && manifest.incr.is_empty() {
        let seq = manifest.history.iter().map(|f| f.seq).max().unwrap_or(0) + 1;
        let name = names.base_name(seq);
        let snap = rdb::capture(&srv.keyspace, srv.functions.codes(), || {});
        let bytes = rdb::encode(
            &snap.finish(&srv.keyspace),
            &[("aof-base", "1".to_string())],
        );
        super::write_file(&names.dir.join(&name), &bytes)
            .map_err(|e| format!("Can't create the AOF base file {name}: {e}"))?;
        aof.base_size.store(bytes.len() as u64, Ordering::Relaxed);
        manifest.base = Some(AofFile {
            name: name.clone(),
            seq,
            kind: b'b',
        });
        tracing::info!("Creating AOF base file {name} on server start");
    } else if let Some(b) = &manifest.base {
        let size = std::fs::metadata(names.dir.join(&b.name)).map_or(0, |m| m.len());
        aof.base_size.store(size, Ordering::Relaxed);
    }
    let creating = manifest.incr.is_empty();
    if creating {
        let seq = manifest.next_incr_seq();
        manifest.incr.push(AofFile {
            name: names.incr_name(seq),
            seq,
            kind: b'i',
        });
    }
    let incr_name = manifest
        .incr
        .last()
        .map(|f| f.name.clone())
        .unwrap_or_default();
    let file = open_append(&names.dir.join(&incr_name))
        .map_err(|e| format!("Can't open the append-only file {incr_name}: {e}"))?;
    aof.persist_manifest(names, &manifest)
        .map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
    let total: u64 = manifest
        .base
        .iter()
        .chain(&manifest.incr)
        .map(|f| std::fs::metadata(names.dir.join(&f.name)).map_or(0, |m| m.len()))
        .sum();
    aof.current_size.store(total, Ordering::Relaxed);
    aof.size_at_rewrite.store(total, Ordering::Relaxed);
    *aof.manifest.lock() = manifest;
    *aof.file.lock() = Some(Incr {
        file: Arc::new(file),
    });
    if creating {
        tracing::info!("Creating AOF incr file {incr_name} on server start");
    } else {
        tracing::info!("Opening AOF incr file {incr_name} on server start");
    }
    aof.set_policy(Fsync::parse(
        &srv.config.get("appendfsync").unwrap_or_default(),
    ));
    aof.on.store(true, Ordering::Release);
    srv.repl.attach_aof(aof.clone());
    aof.start_thread();
    Ok(())
}

/// The client the AOF's commands run as: it applies whatever the memory
/// limit and the replica settings (it is the dataset's own history).
fn loading_client() -> Client {
    let mut c = Client::new(Arc::new(ClientHandle::new(0, "aof".into(), String::new())));
    c.repl.is_master = true;
    c.loading = true;
    c
}

/// Loads one AOF or RDB file. `last`: a truncated tail may be cut off
/// (`aof-load-truncated yes`), as only the last file can be mid-write.
fn load_file(srv: &Arc<Server>, path: &Path, last: bool) -> Result<(), String> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let data = std::fs::read(path).map_err(|e| {
        format!("Fatal error: can't open the append log file {name} for reading: {e}")
    })?;
    if data.is_empty() {
        return Ok(());
    }
    let mut start = 0;
    if data.starts_with(b"REDIS") {
        let (loaded, used) = rdb::decode_prefix(&data).map_err(|e| {
            format!("Error reading the RDB base file {name}, AOF loading aborted ({e})")
        })?;
        srv.functions
            .restore(&loaded.functions, crate::scripting::RestorePolicy::Flush)
            .map_err(|e| format!("Error loading functions from {name}: {e}"))?;
        rdb::install(&srv.keyspace, loaded, false, unix_ms());
        tracing::info!("Reading RDB base file on AOF loading...");
        if used == data.len() {
            return Ok(());
        }
        // A pre-7 AOF with an RDB preamble: its commands follow it.
        start = used;
    }
    let mut client = loading_client();
    let mut parser = RequestParser::new(usize::MAX >> 1);
    // `buf` is always a suffix of `data`: offsets are `data.len() - buf.len()`.
    let mut buf = BytesMut::from(&data[start..]);
    // The offset just past the last complete command outside MULTI: a file
    // cut inside a transaction is truncated back to before its MULTI.
    let mut valid_up_to = start;
    loop {
        if buf.is_empty() {
            break;
        }
        if buf[0] == b'#' {
            // An annotation line (aof-timestamp-enabled).
            match buf.iter().position(|&c| c == b'\n') {
                Some(i) => {
                    let _ = buf.split_to(i + 1);
                    if client.multi.is_none() {
                        valid_up_to = data.len() - buf.len();
                    }
                    continue;
                }
                None => {
                    return truncated(srv, path, &name, last, valid_up_to, client.multi.is_some())
                }
            }
        }
        if buf[0] != b'*' {
            return Err(bad_format(&name));
        }
        let args = match parser.next(&mut buf) {
            Ok(Some(Parsed::Command(args))) => args,
            Ok(Some(Parsed::Empty)) => continue,
            Ok(None) => {
                return truncated(srv, path, &name, last, valid_up_to, client.multi.is_some());
            }
            Err(_) => return Err(bad_format(&name)),
        };
        let cmd = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        if srv.commands.get(&args[0]).is_none() {
            return Err(format!(
                "Unknown command '{cmd}' reading the append only file {name}"
            ));
        }
        match execute(srv, &mut client, args, unix_ms()) {
            Outcome::Reply(Reply::Error(e)) if cmd != "exec" => {
                tracing::debug!("AOF {name}: command {cmd} failed while loading: {e}");
            }
            Outcome::Reply(_) => {}
            Outcome::Block(w) => crate::blocking::abandon(srv, &w),
            // Loading is never paused (`command::pipeline`).
            Outcome::Postponed(_) => {}
        }
        {
            let mut ob = client.handle.outbox.lock();
            ob.frames.clear();
            ob.bytes = 0;
        }
        if client.multi.is_none() {
            valid_up_to = data.len() - buf.len();
        }
    }
    if client.multi.is_some() {
        return truncated(srv, path, &name, last, valid_up_to, true);
    }
    Ok(())
}

/// A file that ends mid-command (or mid-transaction).
fn truncated(
    srv: &Server,
    path: &Path,
    name: &str,
    last: bool,
    valid_up_to: usize,
    in_multi: bool,
) -> Result<(), String> {
    let allowed = srv.config.get("aof-load-truncated").as_deref() != Some("no");
    if !last || !allowed {
        return Err(format!(
            "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
        ));
    }
    if in_multi {
        tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
    } else {
        tracing::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
    }
    tracing::warn!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(valid_up_to as u64).map(|_| f));
    if let Err(e) = f {
        return Err(format!("Error truncating the AOF file {name}: {e}"));
    }
    tracing::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
    Ok(())
}

// ---- rewriting -----------------------------------------------------------

/// BGREWRITEAOF, the automatic rewrite, and CONFIG SET appendonly yes
/// (`enable`): snapshot and INCR switch now, the BASE on a thread.
/// Returns false when a rewrite is already running.
pub fn start_rewrite(srv: &Arc<Server>, enable: bool) -> Result<bool, String> {
    let aof = srv.aof.clone();
    if aof.rewrite_in_progress.swap(true, Ordering::AcqRel) {
        return Ok(false);
    }
    let names = Names::of(srv);
    let fail = |msg: String| {
        aof.rewrite_in_progress.store(false, Ordering::Release);
        msg
    };
    std::fs::create_dir_all(&names.dir).map_err(|e| {
        fail(format!(
            "Can't open or create append-only dir {}: {e}",
            names.dir.display()
        ))
    })?;
    let on = aof.is_on();
    // With the AOF off, BGREWRITEAOF writes a BASE only (no INCR to feed).
    let opens_incr = on || enable;
    let mut manifest = if !on {
        // Starting over: whatever the directory holds is replaced.
        let mut m = Manifest::default();
        if let Ok(text) = std::fs::read_to_string(names.manifest()) {
            if let Ok(old) = Manifest::parse(&text) {
                m.history = old
                    .base
                    .into_iter()
                    .chain(old.history)
                    .chain(old.incr)
                    .collect();
                for f in &mut m.history {
                    f.kind = b'h';
                }
            }
        }
        m
    } else {
        aof.manifest.lock().clone()
    };
    let incr_seq = manifest
        .incr
        .iter()
        .chain(&manifest.history)
        .map(|f| f.seq)
        .max()
        .unwrap_or(0)
        + 1;
    let incr_name = names.incr_name(incr_seq);
    let new_file = match opens_incr {
        true => Some(Arc::new(open_append(&names.dir.join(&incr_name)).map_err(
            |e| fail(format!("Can't open the append-only file {incr_name}: {e}")),
        )?)),
        false => None,
    };
    let snap = rdb::capture(&srv.keyspace, srv.functions.codes(), || {
        let Some(new_file) = new_file else {
            return;
        };
        // Every shard is locked: no effect is being fed. What was fed goes to
        // the old INCR file; what comes next goes to the new one.
        let old = {
            let mut f = aof.file.lock();
            let bytes = {
                // The new file's first command SELECTs.
                let mut b = aof.buf.lock();
                b.db = None;
                b.bytes.split()
            };
            if let Some(incr) = f.as_ref() {
                if !bytes.is_empty() && (&*incr.file).write_all(&bytes).is_ok() {
                    aof.written
                        .fetch_max(aof.appended.load(Ordering::Acquire), Ordering::AcqRel);
                }
            } else {
                aof.written
                    .fetch_max(aof.appended.load(Ordering::Acquire), Ordering::AcqRel);
            }
            f.replace(Incr { file: new_file })
        };
        if let Some(old) = old {
            let _ = old.file.sync_data();
        }
        aof.synced
            .fetch_max(aof.written.load(Ordering::Acquire), Ordering::AcqRel);
        if enable && !aof.is_on() {
            aof.on.store(true, Ordering::Release);
            srv.repl.attach_aof(aof.clone());
        }
    });
    aof.durable.notify_waiters();
    if opens_incr {
        manifest.incr.push(AofFile {
            name: incr_name,
            seq: incr_seq,
            kind: b'i',
        });
    }
    if opens_incr && manifest.base.is_some() {
        // The new INCR is listed at once, so a crash during the rewrite
        // still loads every write (old BASE + old INCRs + new INCR).
        if let Err(e) = aof.persist_manifest(&names, &manifest) {
            tracing::warn!("Can't persist the AOF manifest: {e}");
        }
    }
    *aof.manifest.lock() = manifest;
    aof.set_policy(Fsync::parse(
        &srv.config.get("appendfsync").unwrap_or_default(),
    ));
    aof.start_thread();
    aof.rewrite_started_ms.store(unix_ms(), Ordering::Relaxed);
    srv.persist.forks.fetch_add(1, Ordering::Relaxed);
    tracing::info!("Background append only file rewriting started");
    let srv = srv.clone();
    std::thread::spawn(move || {
        let start = Instant::now();
        let result = finish_rewrite(&srv, &names, snap.finish(&srv.keyspace), incr_seq);
        let aof = &srv.aof;
        match &result {
            Ok(()) => {
                aof.last_rewrite_ok.store(true, Ordering::Relaxed);
                aof.rewrites.fetch_add(1, Ordering::Relaxed);
                aof.rewrite_failures.store(0, Ordering::Relaxed);
                tracing::info!("Background AOF rewrite terminated with success");
                tracing::info!("Background AOF rewrite finished successfully");
            }
            Err(e) => {
                aof.last_rewrite_ok.store(false, Ordering::Relaxed);
                aof.rewrite_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("Background AOF rewrite failed: {e}");
            }
        }
        aof.last_rewrite_secs
            .store(start.elapsed().as_secs() as i64, Ordering::Relaxed);
        aof.rewrite_in_progress.store(false, Ordering::Release);
        if aof.rewrite_scheduled.swap(false, Ordering::AcqRel) {
            let enable = !aof.is_on() && srv.config.get("appendonly").as_deref() == Some("yes");
            if let Err(e) = start_rewrite(&srv, enable) {
                tracing::warn!("{e}");
            }
        }
    });
    Ok(true)
}

/// The rewrite thread: the snapshot becomes the new BASE; the files before
/// the INCR opened with it become history and are deleted.
fn finish_rewrite(
    srv: &Server,
    names: &Names,
    snap: rdb::Snapshot,
    incr_seq: u64,
) -> Result<(), String> {
    let aof = &srv.aof;
    let base_seq = {
        let m = aof.manifest.lock();
        let history_bases = m.history.iter().filter(|f| f.name.contains(".base."));
        m.base
            .iter()
            .chain(history_bases)
            .map(|f| f.seq)
            .max()
            .unwrap_or(0)
            + 1
    };
    let base_name = names.base_name(base_seq);
    let bytes = rdb::encode(&snap, &[("aof-base", "1".to_string())]);
    super::write_file(&names.dir.join(&base_name), &bytes)
        .map_err(|e| format!("Error writing the rewritten AOF base file {base_name}: {e}"))?;
    let (manifest, gone) = {
        let mut m = aof.manifest.lock();
        let mut gone: Vec<AofFile> = m.history.drain(..).collect();
        if let Some(old) = m.base.take() {
            gone.push(old);
        }
        let (old_incr, keep): (Vec<AofFile>, Vec<AofFile>) =
            m.incr.drain(..).partition(|f| f.seq < incr_seq);
        gone.extend(old_incr);
        m.incr = keep;
        m.base = Some(AofFile {
            name: base_name,
            seq: base_seq,
            kind: b'b',
        });
        if srv.config.get("aof-disable-auto-gc").as_deref() == Some("yes") {
            // Kept on disk and listed as history until gc is on again.
            m.history = gone
                .into_iter()
                .map(|f| AofFile { kind: b'h', ..f })
                .collect();
            gone = Vec::new();
        }
        (m.clone(), gone)
    };
    aof.persist_manifest(names, &manifest)
        .map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
    for f in gone {
        let _ = std::fs::remove_file(names.dir.join(&f.name));
    }
    aof.base_size.store(bytes.len() as u64, Ordering::Relaxed);
    let incr_size: u64 = manifest
        .incr
        .iter()
        .map(|f| std::fs::metadata(names.dir.join(&f.name)).map_or(0, |m| m.len()))
        .sum();
    let total = bytes.len() as u64 + incr_size;
    aof.current_size.store(total, Ordering::Relaxed);
    aof.size_at_rewrite.store(total, Ordering::Relaxed);
    Ok(())
}

/// CONFIG SET appendonly no: the feed stops and the file is closed.
pub fn stop(srv: &Server) {
    let aof = &srv.aof;
    if !aof.is_on() {
        return;
    }
    aof.flush_all();
    srv.repl.detach_aof();
    aof.on.store(false, Ordering::Release);
    *aof.file.lock() = None;
    aof.durable.notify_waiters();
}

/// Once a second: the automatic rewrite (`auto-aof-rewrite-percentage`).
pub fn cron(srv: &Arc<Server>) {
    let aof = &srv.aof;
    if aof.rewrite_in_progress.load(Ordering::Relaxed)
        || srv.persist.bgsave_in_progress.load(Ordering::Relaxed)
    {
        return;
    }
    if aof.rewrite_scheduled.swap(false, Ordering::AcqRel) {
        // A scheduled CONFIG SET appendonly yes turns the AOF on with it.
        let enable = !aof.is_on() && srv.config.get("appendonly").as_deref() == Some("yes");
        if let Err(e) = start_rewrite(srv, enable) {
            tracing::warn!("{e}");
        }
        return;
    }
    if !aof.is_on() {
        return;
    }
    let perc = srv.config.get_int("auto-aof-rewrite-percentage");
    let min = srv.config.get_int("auto-aof-rewrite-min-size").max(0) as u64;
    let current = aof.current_size.load(Ordering::Relaxed);
    let base = aof.size_at_rewrite.load(Ordering::Relaxed).max(1);
    if perc > 0 && current > min {
        let growth = (current.saturating_sub(base)) * 100 / base;
        if growth >= perc as u64 {
            tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
            if let Err(e) = start_rewrite(srv, false) {
                tracing::warn!("{e}");
            }
        }
    }
}

/// DEBUG LOADAOF: writes and fsyncs what is pending, empties the dataset and
/// loads the AOF back (run with no shard lock held).
pub fn debug_loadaof(srv: &Arc<Server>) -> Result<(), String> {
    let aof = &srv.aof;
    let on = aof.is_on();
    let names = Names::of(srv);
    // With the AOF off, what is on disk (a BGREWRITEAOF's base) is loaded,
    // as Redis's DEBUG LOADAOF reads the manifest either way.
    let manifest = if on {
        aof.flush_all();
        aof.manifest.lock().clone()
    } else {
        match std::fs::read_to_string(names.manifest()) {
            Ok(text) => Manifest::parse(&text)?,
            Err(_) => return Ok(()),
        }
    };
    // The files are replayed without feeding them back to the AOF.
    if on {
        srv.repl.detach_aof();
    }
    srv.keyspace.for_each_shard(|_, shard| {
        for db in shard.dbs.iter_mut() {
            db.touch_all_watched(None);
            db.clear();
        }
    });
    srv.tracking.flushed(srv);
    let files: Vec<AofFile> = manifest
        .base
        .iter()
        .chain(&manifest.incr)
        .cloned()
        .collect();
    let mut result = Ok(());
    for (i, f) in files.iter().enumerate() {
        if let Err(e) = load_file(srv, &names.dir.join(&f.name), i + 1 == files.len()) {
            result = Err(e);
            break;
        }
    }
    if on {
        srv.repl.attach_aof(aof.clone());
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_and_rejects_what_redis_rejects() {
        let text = "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.3.incr.aof seq 3 type i\nfile appendonly.aof.4.incr.aof seq 4 type i\n";
        let m = Manifest::parse(text).expect("valid");
        assert_eq!(m.base.as_ref().map(|b| b.seq), Some(2));
        assert_eq!(m.history.len(), 1);
        assert_eq!(m.incr.len(), 2);
        assert_eq!(m.render(), text);
        assert_eq!(m.next_incr_seq(), 5);
        assert_eq!(
            Manifest::parse("").unwrap_err(),
            "Found an empty AOF manifest"
        );
        assert_eq!(
            Manifest::parse("file a seq 1\n").unwrap_err(),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            Manifest::parse("file a seq 2 type i\nfile b seq 1 type i\n").unwrap_err(),
            "Found a non-monotonic sequence number"
        );
        assert_eq!(
            Manifest::parse("file a seq 1 type b\nfile b seq 2 type b\n").unwrap_err(),
            "Found duplicate base file information"
        );
        assert_eq!(
            Manifest::parse("file a/b seq 1 type i\n").unwrap_err(),
            "File can't be a path, just a filename"
        );
        assert_eq!(
            Manifest::parse("file a seq 1 type x\n").unwrap_err(),
            "Unknown AOF file type"
        );
    }

    #[test]
    fn file_names_with_spaces_and_newlines_are_quoted_as_redis_does() {
        let name = " file seq \n\n.aof .2.base.rdb";
        let m = Manifest {
            base: Some(AofFile {
                name: name.into(),
                seq: 2,
                kind: b'b',
            }),
            ..Default::default()
        };
        let text = m.render();
        assert_eq!(
            text,
            "file \" file seq \\n\\n.aof .2.base.rdb\" seq 2 type b\n"
        );
        assert_eq!(Manifest::parse(&text).unwrap(), m);
        assert_eq!(
            split_args("a \"b c\" d"),
            Some(vec!["a".into(), "b c".into(), "d".into()])
        );
        assert_eq!(split_args("a \"b"), None);
    }
}
