//! A cheap cycle clock for per-command timing (INFO commandstats `usec`).
//!
//! Reading the CPU's time-stamp counter costs a few nanoseconds against tens
//! for `clock_gettime` on the per-command path. Ticks are converted to time
//! only when INFO asks, by calibrating against `Instant` since the first tick.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// Nanoseconds per tick in 32.32 fixed point, measured since `init`; 0
/// until first measured. Kept so that the per-command path converts with
/// one load and one multiply: measuring it reads the system clock and does
/// floating-point division, which cost 3-4 % of a pipelined GET when done
/// per command.
static NS_PER_TICK_Q32: AtomicU64 = AtomicU64::new(0);
/// Set once a measurement spanned `SETTLED_AFTER`: before that each
/// conversion measures again (a rate from the first microseconds after
/// `init` is too coarse to keep).
static SETTLED: AtomicBool = AtomicBool::new(false);
const SETTLED_AFTER: std::time::Duration = std::time::Duration::from_millis(50);
/// Measures the rate observed since `init` again, for `ticks_to_usec`
/// (the server cron calls it once a second: the longer the span, the
/// closer the rate).
pub fn measure() -> u64 {
    let (t0, c0) = *BASE.get_or_init(|| (Instant::now(), raw()));
    let elapsed = t0.elapsed();
    let elapsed_ns = elapsed.as_nanos() as f64;
    let elapsed_ticks = raw().saturating_sub(c0) as f64;
    if elapsed_ticks <= 0.0 || elapsed_ns <= 0.0 {
        return 0;
    }
    let rate = (elapsed_ns / elapsed_ticks * 4_294_967_296.0) as u64;
    NS_PER_TICK_Q32.store(rate, Ordering::Relaxed);
    if elapsed >= SETTLED_AFTER {
        SETTLED.store(true, Ordering::Relaxed);
    }
    rate
}

/// Converts a tick count to microseconds using the rate observed since `init`.
pub fn ticks_to_usec(ticks: u64) -> u64 {
    let rate = if SETTLED.load(Ordering::Relaxed) {
        NS_PER_TICK_Q32.load(Ordering::Relaxed)
    } else {
        measure()
    };
    ((ticks as u128 * rate as u128) >> 32) as u64 / 1000
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

    #[test]
    fn conversion_follows_the_wall_clock() {
        init();
        let (t0, c0) = (Instant::now(), ticks());
        std::thread::sleep(std::time::Duration::from_millis(30));
        let spent = ticks() - c0;
        let wall = t0.elapsed().as_micros() as u64;
        let converted = ticks_to_usec(spent);
        // Within 20 % of what the wall clock says (the rate is measured, not assumed).
        assert!(
            converted * 10 >= wall * 8 && converted * 10 <= wall * 12,
            "{converted} vs {wall}"
        );
    }
}
