//! Contention audit: which commands take process-wide locks.
//!
//! Every lock that all workers share and that a command may take (the
//! pub/sub pattern index, the error-code table, the config table, the whole
//! keyspace, the replication feed) calls [`global_lock`] where it is taken.
//! The count is thread-local, so the audit itself shares nothing; the
//! dispatcher reads it around each command and adds what the command took to
//! that command's statistics (`CommandStat::global_locks`, read with
//! `Stats::command_global_locks`). `tests/contention.rs` checks that LPUSH,
//! RPUSH, XADD, ZADD and PUBLISH take none with nobody blocked and no pattern
//! subscribed, and that PUBLISH does take one once a pattern exists.

use std::cell::Cell;

thread_local! {
    static TAKEN: Cell<u64> = const { Cell::new(0) };
}

/// Records that a lock shared by every worker was taken at `_site` (the
/// name documents the call site).
#[inline]
pub fn global_lock(_site: &'static str) {
    TAKEN.with(|t| t.set(t.get() + 1));
}

/// Process-wide locks this thread has taken so far.
#[inline]
pub fn taken_by_this_thread() -> u64 {
    TAKEN.with(|t| t.get())
}
