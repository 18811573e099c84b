//! A cheap cycle clock for per-command timing (INFO commandstats `usec`).
//!
//! Reading the CPU's time-stamp counter costs a few nanoseconds against tens
//! for `clock_gettime` on the per-command path. Ticks are converted to time
//! only when INFO asks, by calibrating against `Instant` since the first tick.

use std::sync::OnceLock;
use std::time::Instant;

static BASE: OnceLock<(Instant, u64)> = OnceLock::new();

#[inline]
fn raw() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC has no preconditions on x86_64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let base = BASE.get_or_init(|| (Instant::now(), 0)).0;
        base.elapsed().as_nanos() as u64
    }
}

/// The current tick count (monotonic enough for durations of one command).
#[inline]
pub fn ticks() -> u64 {
    raw()
}

/// Starts the calibration; call once at startup.
pub fn init() {
    BASE.get_or_init(|| (Instant::now(), raw()));
}

/// Converts a tick count to microseconds using the rate observed since `init`.
pub fn ticks_to_usec(ticks: u64) -> u64 {
    let (t0, c0) = *BASE.get_or_init(|| (Instant::now(), raw()));
    let elapsed_ns = t0.elapsed().as_nanos() as f64;
    let elapsed_ticks = raw().saturating_sub(c0) as f64;
    if elapsed_ticks <= 0.0 || elapsed_ns <= 0.0 {
        return 0;
    }
    (ticks as f64 * elapsed_ns / elapsed_ticks / 1000.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_advance_and_convert() {
        init();
        let a = ticks();
        std::hint::black_box((0..10_000).sum::<u64>());
        let b = ticks();
        assert!(b >= a);
        assert_eq!(ticks_to_usec(0), 0);
    }
}
