//! Persistence: the RDB snapshot (`rdb`) and its checksum (`crc64`), and the
//! append-only file (`aof`, Redis 7's multi-part layout).
//!
//! API: `rdb::capture` begins a point-in-time copy of the keyspace (all
//! shards locked only to mark them pending; `PendingSnapshot::finish`
//! completes it shard by shard, see `keyspace::capture`), `rdb::encode` turns
//! it into Redis RDB v10 bytes off the hot path, `rdb::decode` parses RDB bytes (ours or a real
//! redis-server's) and `rdb::install` replaces the dataset with them.

pub mod aof;
pub mod crc64;
pub mod digest;
pub mod lzf;
pub mod rdb;
mod rdb_compact;
mod rdb_stream;
#[cfg(test)]
mod rdb_suite_cases;

use crate::scripting::RestorePolicy;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;

use crate::command::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::server::{unix_ms, Server};

/// RDB file state for INFO persistence, SAVE and BGSAVE.
#[derive(Default)]
pub struct Persist {
    pub bgsave_in_progress: AtomicBool,
    /// A BGSAVE SCHEDULE waits for the running one.
    pub bgsave_scheduled: AtomicBool,
    pub last_bgsave_ok: AtomicBool,
    pub last_bgsave_secs: AtomicI64,
    pub saves: AtomicU64,
    pub keys_loaded: AtomicU64,
    pub keys_expired_on_load: AtomicU64,
    /// Background snapshots started (BGSAVE, AOF rewrites): INFO's
    /// `total_forks`, which clients read as "background jobs run".
    pub forks: AtomicU64,
    /// Unix seconds of the last BGSAVE attempt (failed saves retry after 5 s).
    pub last_bgsave_try: AtomicU64,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE payloads are not checked
    /// against their CRC64.
    pub skip_checksum_validation: AtomicBool,
}

impl Persist {
    /// stop-writes-on-bgsave-error: save points are set and the last
    /// background save failed (one relaxed load when it did not).
    pub fn rdb_write_error(&self, srv: &Server) -> bool {
        !self.last_bgsave_ok.load(Ordering::Relaxed)
            && srv.config.get("stop-writes-on-bgsave-error").as_deref() != Some("no")
            && !save_points(srv).is_empty()
    }

    pub fn new() -> Persist {
        Persist {
            last_bgsave_ok: AtomicBool::new(true),
            last_bgsave_secs: AtomicI64::new(-1),
            ..Default::default()
        }
    }
}

/// The RDB file: `dbfilename` in the working directory (`dir` is the cwd, as in Redis).
pub fn rdb_path(srv: &Server) -> std::path::PathBuf {
    std::path::PathBuf::from(
        srv.config
            .get("dbfilename")
            .unwrap_or_else(|| "dump.rdb".into()),
    )
}

fn aux(srv: &Server) -> Vec<(&'static str, String)> {
    let st = srv.repl.state.lock();
    vec![
        ("repl-stream-db", "0".to_string()),
        ("repl-id", st.replid.clone()),
        ("repl-offset", st.offset.to_string()),
        ("aof-base", "0".to_string()),
    ]
}

/// Writes `bytes` to a temporary file and renames it over `path`, as Redis
/// does, so a crash never leaves a half-written dump.rdb (or AOF file).
pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    // Unique per save: a BGSAVE thread and a SAVE (or two servers in one
    // process, as in the tests) never share a temporary file.
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_file_name(format!("temp-{}-{seq}.rdb", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    });
    if written.is_err() {
        // No half-written or orphaned temporary file is left behind.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Removes this process's temporary RDB files in `dir` (a forced exit in
/// the middle of a save, as Redis's rdbRemoveTempFile).
pub fn remove_temp_files(srv: &Server) {
    let prefix = format!("temp-{}-", std::process::id());
    let Some(dir) = rdb_path(srv).parent().map(|d| d.to_path_buf()) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// After a successful save: counters as Redis's `rdbSave` leaves them.
fn saved(srv: &Server, dirty_at_snapshot: u64) {
    srv.dirty_saved
        .fetch_add(dirty_at_snapshot, Ordering::Relaxed);
    srv.last_save.store(unix_ms() / 1000, Ordering::Relaxed);
    srv.persist.saves.fetch_add(1, Ordering::Relaxed);
}

/// A foreground save by a command that already holds every shard (DEBUG
/// RELOAD, FLUSHALL with save points).
pub fn save_locked(srv: &Server, locks: &mut crate::keyspace::Locked) -> std::io::Result<()> {
    let dirty = srv.dirty_total();
    let mut snap = rdb::capture_locked(locks, srv.keyspace.databases());
    snap.functions = srv.functions.codes();
    write_file(&rdb_path(srv), &rdb::encode(&snap, &aux(srv)))?;
    saved(srv, dirty);
    Ok(())
}

/// SAVE: snapshot, serialize and write in the caller (Redis blocks too).
pub fn save(srv: &Server) -> std::io::Result<()> {
    let mut dirty = 0;
    let snap = rdb::capture(&srv.keyspace, srv.functions.codes(), || {
        dirty = srv.dirty_total()
    });
    let bytes = rdb::encode(&snap.finish(&srv.keyspace), &aux(srv));
    write_file(&rdb_path(srv), &bytes)?;
    saved(srv, dirty);
    tracing::info!("DB saved on disk");
    Ok(())
}

/// BGSAVE: the snapshot's instant is now (all shards locked briefly to mark
/// them); copying, encoding and writing run on a thread of their own.
pub fn bgsave(srv: &Server) -> bool {
    if srv.persist.bgsave_in_progress.swap(true, Ordering::AcqRel) {
        return false;
    }
    let Some(me) = srv.arc() else {
        srv.persist
            .bgsave_in_progress
            .store(false, Ordering::Release);
        return false;
    };
    let mut dirty = 0;
    let snap = rdb::capture(&srv.keyspace, srv.functions.codes(), || {
        dirty = srv.dirty_total()
    });
    let aux = aux(srv);
    let path = rdb_path(srv);
    srv.persist.forks.fetch_add(1, Ordering::Relaxed);
    srv.persist
        .last_bgsave_try
        .store(unix_ms() / 1000, Ordering::Relaxed);
    tracing::info!("Background saving started");
    std::thread::spawn(move || {
        let start = Instant::now();
        let bytes = rdb::encode(&snap.finish(&me.keyspace), &aux);
        let ok = match write_file(&path, &bytes) {
            Ok(()) => {
                saved(&me, dirty);
                tracing::info!("Background saving terminated with success");
                true
            }
            Err(e) => {
                tracing::warn!("Background saving error: {e}");
                false
            }
        };
        let p = &me.persist;
        p.last_bgsave_ok.store(ok, Ordering::Relaxed);
        p.last_bgsave_secs
            .store(start.elapsed().as_secs() as i64, Ordering::Relaxed);
        p.bgsave_in_progress.store(false, Ordering::Release);
        if p.bgsave_scheduled.swap(false, Ordering::AcqRel) {
            bgsave(&me);
        }
    });
    true
}

/// The `save` points: (seconds, changes) pairs.
pub fn save_points(srv: &Server) -> Vec<(u64, u64)> {
    let v = srv.config.get("save").unwrap_or_default();
    let nums: Vec<u64> = v
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    nums.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

/// Once a second: a BGSAVE when a `save` point is reached (Redis's
/// serverCron: `changes` writes and more than `seconds` since the last
/// save; after a failed save, retried every 5 seconds only).
pub fn cron(srv: &Server) {
    let p = &srv.persist;
    if p.bgsave_in_progress.load(Ordering::Acquire)
        || srv.aof.rewrite_in_progress.load(Ordering::Acquire)
    {
        return;
    }
    let dirty = srv.dirty_total();
    if dirty == 0 {
        return;
    }
    let now = unix_ms() / 1000;
    let since = now.saturating_sub(srv.last_save.load(Ordering::Relaxed));
    let retry_ok = p.last_bgsave_ok.load(Ordering::Relaxed)
        || now.saturating_sub(p.last_bgsave_try.load(Ordering::Relaxed)) > 5;
    let due = save_points(srv)
        .into_iter()
        .find(|&(secs, changes)| dirty >= changes && since > secs);
    if let (Some((secs, changes)), true) = (due, retry_ok) {
        tracing::info!("{changes} changes in {secs} seconds. Saving...");
        bgsave(srv);
    }
}

/// SHUTDOWN (and SIGTERM): the final snapshot Redis takes when `save`
/// points are configured, unless NOSAVE (SAVE forces one).
pub fn save_on_shutdown(srv: &Server, force_save: bool, nosave: bool) -> std::io::Result<()> {
    let wanted = force_save || !save_points(srv).is_empty();
    if nosave || !wanted {
        return Ok(());
    }
    tracing::info!("Saving the final RDB snapshot before exiting.");
    save(srv)
}

/// Loads the RDB file at startup, if there is one (keys already expired are dropped).
pub fn load_at_startup(srv: &Server) -> Result<(), String> {
    let path = rdb_path(srv);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("Error reading {}: {e}", path.display())),
    };
    let start = Instant::now();
    let mut loaded = match rdb::decode_detailed(&data) {
        Ok((loaded, _)) => loaded,
        Err(failure) => {
            // Redis logs the error and redis-check-rdb's summary, then exits.
            for line in failure.report(&path.display().to_string()) {
                tracing::warn!("{line}");
            }
            return Err("Terminating server after rdb file reading failure.".into());
        }
    };
    let skipped = loaded.empty_keys_skipped;
    rdb::apply_hash_limits(&mut loaded, srv.config.hash_limits());
    srv.functions
        .restore(&loaded.functions, RestorePolicy::Flush)
        .map_err(|e| format!("Error loading functions from the RDB: {e}"))?;
    let total: usize = loaded.dbs.iter().map(|(_, v)| v.len()).sum();
    let n = rdb::install(&srv.keyspace, loaded, true, unix_ms());
    srv.persist.keys_loaded.store(n as u64, Ordering::Relaxed);
    srv.persist
        .keys_expired_on_load
        .store((total - n) as u64, Ordering::Relaxed);
    if skipped > 0 {
        tracing::warn!(
            "Done loading RDB, keys loaded: {n}, keys expired: {}, empty keys skipped: {skipped}.",
            total - n
        );
    } else {
        tracing::info!(
            "Done loading RDB, keys loaded: {n}, keys expired: {}.",
            total - n
        );
    }
    tracing::info!(
        "DB loaded from disk: {:.3} seconds",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, flush, load the file back.
/// DEBUG holds every shard, so this works on the locks it already has.
pub fn debug_reload(ctx: &mut Ctx, opts: &[Bytes]) -> CmdResult<Reply> {
    let (mut merge, mut noflush, mut nosave) = (false, false, false);
    for o in opts {
        if o.eq_ignore_ascii_case(b"merge") {
            merge = true;
        } else if o.eq_ignore_ascii_case(b"noflush") {
            noflush = true;
        } else if o.eq_ignore_ascii_case(b"nosave") {
            nosave = true;
        } else {
            return Err(CmdError::custom(
                crate::error::msg::DEBUG_RELOAD_ONLY_SUPPORTS_THE_MERGE,
            ));
        }
    }
    let srv = ctx.srv;
    let path = rdb_path(srv);
    if !nosave && save_locked(srv, &mut ctx.locks).is_err() {
        return Err(CmdError::custom(crate::error::msg::ERR_BARE));
    }
    let data = std::fs::read(&path)
        .map_err(|_| CmdError::custom(crate::error::msg::ERROR_TRYING_TO_LOAD_THE_RDB))?;
    let mut loaded = rdb::decode(&data)
        .map_err(|_| CmdError::custom(crate::error::msg::ERROR_TRYING_TO_LOAD_THE_RDB))?;
    rdb::apply_hash_limits(&mut loaded, srv.config.hash_limits());
    // Libraries: replaced wholesale, merged (MERGE), or added, where a name
    // already loaded fails the reload as in Redis.
    let policy = match (noflush, merge) {
        (_, true) => RestorePolicy::Replace,
        (true, false) => RestorePolicy::Append,
        (false, false) => RestorePolicy::Flush,
    };
    if let Err(e) = srv.functions.restore(&loaded.functions, policy) {
        tracing::warn!("Error loading functions from the RDB: {e}");
        return Err(CmdError::custom(
            crate::error::msg::ERROR_TRYING_TO_LOAD_THE_RDB,
        ));
    }
    if merge || noflush {
        // Keys already present are replaced by the file's (Redis's MERGE
        // keeps the loaded value for duplicates too).
        rdb::install_locked(
            &srv.keyspace,
            &mut ctx.locks,
            loaded,
            false,
            unix_ms(),
            false,
        );
    } else {
        rdb::install_locked(
            &srv.keyspace,
            &mut ctx.locks,
            loaded,
            false,
            unix_ms(),
            true,
        );
        srv.tracking.flushed(srv);
    }
    Ok(Reply::Ok)
}

/// SAVE and BGSAVE [SCHEDULE].
pub fn save_command(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    if a[0].eq_ignore_ascii_case(b"save") {
        if srv.persist.bgsave_in_progress.load(Ordering::Acquire) {
            return Err(CmdError::custom(
                crate::error::msg::BACKGROUND_SAVE_ALREADY_IN_PROGRESS,
            ));
        }
        return match save(srv) {
            Ok(()) => Ok(Reply::Ok),
            Err(e) => {
                tracing::warn!("Failed saving the DB: {e}");
                Err(CmdError::custom(crate::error::msg::ERR_BARE))
            }
        };
    }
    let schedule = match a.get(1) {
        None => false,
        Some(o) if a.len() == 2 && o.eq_ignore_ascii_case(b"schedule") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    if bgsave(srv) {
        return Ok(Reply::Status("Background saving started"));
    }
    if schedule {
        srv.persist.bgsave_scheduled.store(true, Ordering::Release);
        return Ok(Reply::Status("Background saving scheduled"));
    }
    Err(CmdError::custom(
        crate::error::msg::BGSAVE_IN_PROGRESS_USE_SCHEDULE,
    ))
}
