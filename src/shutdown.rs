//! Shutting down as Redis 7.0 does (prepareForShutdown / finishShutdown).
//!
//! SIGTERM and SIGINT only request a shutdown; the background cycle carries
//! it out (so DEBUG PAUSE-CRON holds it and SHUTDOWN ABORT can cancel it).
//! Before exiting, a master waits up to `shutdown-timeout` seconds, with
//! writes paused, for its replicas to acknowledge everything; then the final
//! snapshot is saved when save points are set. A failed save cancels the
//! shutdown unless FORCE was given. A second SIGINT while one is pending
//! exits at once.
//!
//! SHUTDOWN itself follows the same steps; its connection waits for the
//! outcome (`conn`), and gets `Errors trying to SHUTDOWN` if it is cancelled.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::server::{unix_ms, Server};

/// SHUTDOWN's options (a signal's shutdown has none).
#[derive(Clone, Copy, Debug, Default)]
pub struct Flags {
    pub save: bool,
    pub nosave: bool,
    pub now: bool,
    pub force: bool,
}

struct Pending {
    flags: Flags,
    /// Unix ms past which lagging replicas are no longer waited for.
    deadline_ms: u64,
    /// Writes were paused for the wait (undone if cancelled).
    paused_writes: bool,
}

/// What became of the last requested shutdown (SHUTDOWN's connections
/// wait on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Idle,
    Pending,
    Failed,
}

pub struct Shutdown {
    pending: Mutex<Option<Pending>>,
    /// INFO `shutdown_in_milliseconds` (0: none pending).
    deadline_ms: AtomicU64,
    outcome: watch::Sender<Outcome>,
}

impl Default for Shutdown {
    fn default() -> Shutdown {
        Shutdown {
            pending: Mutex::new(None),
            deadline_ms: AtomicU64::new(0),
            outcome: watch::channel(Outcome::Idle).0,
        }
    }
}

impl Shutdown {
    pub fn is_pending(&self) -> bool {
        self.pending.lock().is_some()
    }

    /// INFO `shutdown_in_milliseconds`: time left to wait for replicas.
    pub fn in_milliseconds(&self) -> u64 {
        match self.deadline_ms.load(Ordering::Relaxed) {
            0 => 0,
            d => d.saturating_sub(unix_ms()),
        }
    }

    /// Requests a shutdown; the next background cycle carries it out.
    pub fn request(&self, srv: &Server, flags: Flags) {
        let timeout_s = srv.config.get_int("shutdown-timeout").max(0) as u64;
        let deadline_ms = unix_ms() + timeout_s * 1000;
        *self.pending.lock() = Some(Pending {
            flags,
            deadline_ms,
            paused_writes: false,
        });
        self.outcome.send_replace(Outcome::Pending);
    }

    /// Waits for the pending shutdown's outcome: returns only if it was
    /// cancelled (on success the process ends).
    pub async fn wait_failed(&self) {
        let mut rx = self.outcome.subscribe();
        let _ = rx.wait_for(|o| *o != Outcome::Pending).await;
    }

    /// SHUTDOWN ABORT (abortShutdown): false when nothing is pending.
    pub fn abort(&self, srv: &Server) -> bool {
        let Some(p) = self.pending.lock().take() else {
            return false;
        };
        self.cancelled(srv, &p);
        tracing::warn!("Shutdown manually aborted.");
        true
    }

    fn cancelled(&self, srv: &Server, p: &Pending) {
        self.deadline_ms.store(0, Ordering::Relaxed);
        if p.paused_writes {
            srv.pause_until.store(0, Ordering::Relaxed);
        }
        self.outcome.send_replace(Outcome::Failed);
    }

    /// From the background cycle: carries out a pending shutdown, or keeps
    /// waiting for lagging replicas.
    pub fn tick(&self, srv: &Server) {
        let mut guard = self.pending.lock();
        let Some(p) = guard.as_mut() else {
            return;
        };
        let now = unix_ms();
        if !p.flags.now && now < p.deadline_ms && replicas_lagging(srv) {
            if !p.paused_writes {
                tracing::info!("Waiting for replicas before shutting down.");
                // Nothing new for them to catch up with meanwhile.
                srv.pause_writes_only.store(true, Ordering::Relaxed);
                srv.pause_until.fetch_max(p.deadline_ms, Ordering::Relaxed);
                p.paused_writes = true;
                self.deadline_ms.store(p.deadline_ms, Ordering::Relaxed);
            }
            return;
        }
        log_replicas_in_sync(srv);
        let p = match guard.take() {
            Some(p) => p,
            None => return,
        };
        drop(guard);
        if let Err(e) = crate::persist::save_on_shutdown(srv, p.flags.save, p.flags.nosave) {
            tracing::warn!("Error trying to save the DB, can't exit. ({e})");
            if !p.flags.force {
                tracing::warn!(
                    "Errors trying to shut down the server. Check the logs for more information."
                );
                self.cancelled(srv, &p);
                return;
            }
        }
        self.deadline_ms.store(0, Ordering::Relaxed);
        // Main's exit path must not save a second time.
        srv.shutdown_saved.store(true, Ordering::Release);
        srv.shutdown();
    }
}

/// finishShutdown's account of the replicas, when there are any.
fn log_replicas_in_sync(srv: &Server) {
    let replicas = srv.repl.replica_count();
    if replicas == 0 {
        return;
    }
    let offset = srv.repl.offset();
    for (addr, behind, lag) in srv.repl.lagging(offset) {
        tracing::warn!(
            "Lagging replica {addr} reported offset {behind} behind master, lag={lag}, state=online."
        );
    }
    let in_sync = srv.repl.acked(offset);
    tracing::warn!("{in_sync} of {replicas} replicas are in sync when shutting down.");
}

/// Some replica has not acknowledged the whole stream yet.
fn replicas_lagging(srv: &Server) -> bool {
    let repl = &srv.repl;
    let replicas = repl.replica_count();
    replicas > 0 && repl.acked(repl.offset()) < replicas
}

/// SIGTERM / SIGINT, as Redis's sigShutdownHandler: the first schedules a
/// shutdown, a second SIGINT while one is pending exits at once.
pub async fn watch_signals(srv: std::sync::Arc<Server>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    loop {
        let sigint = tokio::select! {
            _ = term.recv() => false,
            _ = int.recv() => true,
        };
        if sigint && srv.shutdown_ctl.is_pending() {
            tracing::warn!("You insist... exiting now.");
            crate::persist::remove_temp_files(&srv);
            std::process::exit(1);
        }
        let name = if sigint { "SIGINT" } else { "SIGTERM" };
        tracing::warn!("Received {name} scheduling shutdown...");
        srv.shutdown_ctl.request(&srv, Flags::default());
    }
}
