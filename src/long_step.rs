//! Long synchronous steps on a runtime worker.
//!
//! Handlers are synchronous. A tokio worker busy in one for milliseconds
//! can starve every other connection, not only the ones it runs: when the
//! other workers are parked, the I/O driver may sit with nobody polling it
//! (measured: a PING waited the full 100 ms of a `DEBUG SLEEP 0.1` on
//! another connection, with 2 and with 8 workers). A step known to be long
//! (copying a large value a snapshot still shares, copying a shard for a
//! snapshot) runs through [`run`], which first hands this worker's queue and
//! the driver to another thread (`tokio::task::block_in_place`), so other
//! connections keep being served while it runs.

/// Elements above which copying a value, or a shard's keys, counts as long.
pub const LONG_COPY: usize = 4096;

/// Runs `f` after giving up this worker to the runtime, when called on a
/// multi-threaded runtime; otherwise (a current-thread runtime in tests, a
/// snapshot's own thread) just runs it.
pub fn run<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    // block_in_place refuses (panics) only on a current-thread runtime; off
    // a worker (a blocking-pool thread) it just runs `f`.
    let multi_thread =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// Gives this worker's queue and the I/O driver to another thread for the
/// rest of the running synchronous step (a script past its first
/// milliseconds), and returns once that thread runs tasks. Returning sooner
/// would lose the hand-over: leaving `block_in_place` takes the worker back
/// if the new thread has not picked it up yet, and with one worker nothing
/// else would serve the connections (the one sending FUNCTION KILL hung
/// under load). A task spawned now runs only on a thread holding a worker,
/// so its flag proves the hand-over; waiting is bounded (50 ms).
pub fn hand_over() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use tokio::runtime::{Handle, RuntimeFlavor};
    let Ok(handle) = Handle::try_current() else {
        return;
    };
    if handle.runtime_flavor() != RuntimeFlavor::MultiThread {
        return;
    }
    tokio::task::block_in_place(|| {
        let taken = Arc::new(AtomicBool::new(false));
        let flag = taken.clone();
        handle.spawn(async move { flag.store(true, Ordering::Release) });
        let deadline = Instant::now() + Duration::from_millis(50);
        while !taken.load(Ordering::Acquire) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(100));
        }
    });
}

/// `Arc::make_mut` for a stored value of `len` elements: a copy (the value
/// is still shared with a snapshot) of a large one is a long step.
pub fn make_mut<T: Clone>(value: &mut std::sync::Arc<T>, len: usize) -> &mut T {
    if len >= LONG_COPY && std::sync::Arc::get_mut(value).is_none() {
        run(|| {
            std::sync::Arc::make_mut(value);
        });
    }
    std::sync::Arc::make_mut(value)
}
