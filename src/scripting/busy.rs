//! The script that is running now, as other connections see it (Redis's
//! curr_run_ctx): BUSY replies once it has run past `busy-reply-threshold`,
//! SCRIPT KILL / FUNCTION KILL, FUNCTION STATS.
//!
//! A script runs under every shard lock on one worker thread. Other
//! connections must not wait for those locks on their own workers, or a
//! worker would sit blocked and could not serve SCRIPT KILL. So a connection
//! checks `running()` before each command (one relaxed load) and, while a
//! script runs, waits for it asynchronously (`Busy::wait`) until the script
//! ends or times out, then gets BUSY; commands flagged `allow-busy` go on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::error::msg;

/// What FUNCTION STATS and the kill commands need to know about the run.
pub struct RunInfo {
    pub name: String,
    pub command: Vec<Bytes>,
    pub started: Instant,
    pub eval: bool,
    pub from_master: bool,
}

#[derive(Default)]
pub struct Busy {
    running: AtomicBool,
    timed_out: AtomicBool,
    killed: AtomicBool,
    /// The script already wrote: it can no longer be killed.
    dirty: AtomicBool,
    info: Mutex<Option<RunInfo>>,
    changed: Notify,
}

/// Why a kill was refused or what it did.
pub enum Kill {
    Done,
    Refused(&'static str),
}

impl Busy {
    /// One relaxed load: the common case on every command.
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    pub fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::Acquire)
    }

    pub fn killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    pub fn begin(&self, info: RunInfo) {
        *self.info.lock() = Some(info);
        self.timed_out.store(false, Ordering::Release);
        self.killed.store(false, Ordering::Release);
        self.dirty.store(false, Ordering::Release);
        self.running.store(true, Ordering::Release);
    }

    pub fn end(&self) {
        self.running.store(false, Ordering::Release);
        self.timed_out.store(false, Ordering::Release);
        *self.info.lock() = None;
        self.changed.notify_waiters();
    }

    /// The script passed `busy-reply-threshold`: waiting connections get BUSY.
    pub fn time_out(&self) {
        if !self.timed_out.swap(true, Ordering::AcqRel) {
            if let Some(info) = self.info.lock().as_ref() {
                tracing::warn!(
                    "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {} command. Script name is: {}.",
                    info.started.elapsed().as_millis(),
                    if info.eval { "SCRIPT KILL" } else { "FUNCTION KILL" },
                    info.name
                );
            }
            self.changed.notify_waiters();
        }
    }

    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// SCRIPT KILL (`eval`) or FUNCTION KILL.
    pub fn kill(&self, eval: bool) -> Kill {
        let info = self.info.lock();
        let Some(run) = info.as_ref().filter(|_| self.running()) else {
            return Kill::Refused(msg::NOTBUSY);
        };
        if run.from_master {
            return Kill::Refused(msg::UNKILLABLE_FROM_MASTER);
        }
        if self.dirty.load(Ordering::Acquire) {
            return Kill::Refused(msg::UNKILLABLE_WROTE);
        }
        if eval && !run.eval {
            return Kill::Refused(msg::BUSY_FUNCTION);
        }
        if !eval && run.eval {
            return Kill::Refused(msg::BUSY_SCRIPT);
        }
        self.killed.store(true, Ordering::Release);
        Kill::Done
    }

    /// Name, command and milliseconds so far of the running script.
    pub fn describe(&self) -> Option<(String, Vec<Bytes>, u64, bool)> {
        if !self.running() {
            return None;
        }
        self.info.lock().as_ref().map(|r| {
            (
                r.name.clone(),
                r.command.clone(),
                r.started.elapsed().as_millis() as u64,
                r.eval,
            )
        })
    }

    /// The BUSY error for other clients (Redis's slowevalerr / slowscripterr).
    pub fn busy_error(&self) -> &'static str {
        match self.info.lock().as_ref() {
            Some(r) if !r.eval => msg::BUSY_FUNCTION,
            _ => msg::BUSY_SCRIPT,
        }
    }

    /// Waits while a script runs and has not timed out. Returns true when
    /// the script is still running (timed out): the caller replies BUSY.
    pub async fn wait(&self) -> bool {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if !self.running() {
                return false;
            }
            if self.timed_out() {
                return true;
            }
            // The notification covers every change; the timeout only bounds
            // the wait should a script thread die without `end`.
            let _ = tokio::time::timeout(Duration::from_millis(100), changed).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(eval: bool) -> RunInfo {
        RunInfo {
            name: "f".into(),
            command: vec![],
            started: Instant::now(),
            eval,
            from_master: false,
        }
    }

    #[test]
    fn kill_follows_redis_s_rules() {
        let b = Busy::default();
        assert!(matches!(b.kill(true), Kill::Refused(msg::NOTBUSY)));
        b.begin(run(true));
        assert!(matches!(b.kill(false), Kill::Refused(msg::BUSY_SCRIPT)));
        assert!(matches!(b.kill(true), Kill::Done));
        assert!(b.killed());
        b.end();
        b.begin(run(false));
        b.mark_dirty();
        assert!(matches!(
            b.kill(false),
            Kill::Refused(msg::UNKILLABLE_WROTE)
        ));
        b.end();
        assert!(!b.running());
    }
}
