//! Contention audit: which commands take process-wide locks, how many
//! shard locks each takes, and how often a shard lock had to be waited for.
//!
//! Every lock that all workers share and that a command may take (the
//! pub/sub pattern index, the error-code table, the config table, the whole
//! keyspace, the replication feed) calls [`global_lock`] where it is taken;
//! every shard lock calls [`shard_lock`], and [`contended_wait`] when it was
//! held by someone else. The counts are thread-local, so the audit itself
//! shares nothing; the dispatcher reads them around each command and adds
//! what the command took to that command's statistics (`CommandStat`, read
//! with `Stats::command_contention`). A shard lock is partitioned by key
//! (two workers meet on one only for keys of the same shard); a global lock
//! is met by every worker that takes it, so time spent in commands that take
//! one is the serial fraction of the scaling model in benches/PROFILE.md.
//! `tests/contention.rs` checks that LPUSH, RPUSH, XADD, ZADD and PUBLISH
//! take none with nobody blocked and no pattern subscribed, and that PUBLISH
//! does take one once a pattern exists.

use std::cell::Cell;

thread_local! {
    static TAKEN: Cell<u64> = const { Cell::new(0) };
    static SHARD_LOCKS: Cell<u64> = const { Cell::new(0) };
    static CONTENDED: Cell<u64> = const { Cell::new(0) };
}

/// Counts a shard lock taken by this thread.
#[inline]
pub fn shard_lock() {
    SHARD_LOCKS.with(|t| t.set(t.get() + 1));
}

/// Counts a shard lock this thread found held and had to wait for.
#[inline]
pub fn contended_wait() {
    CONTENDED.with(|t| t.set(t.get() + 1));
}

/// (process-wide locks, shard locks, contended shard waits) this thread has
/// taken so far.
#[inline]
pub fn snapshot() -> (u64, u64, u64) {
    (
        TAKEN.with(|t| t.get()),
        SHARD_LOCKS.with(|t| t.get()),
        CONTENDED.with(|t| t.get()),
    )
}

/// Records that a lock shared by every worker was taken at `_site` (the
/// name documents the call site).
#[inline]
pub fn global_lock(_site: &'static str) {
    TAKEN.with(|t| t.set(t.get() + 1));
}
