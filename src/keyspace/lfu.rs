//! Redis's LFU access counter (evict.c): an 8-bit logarithmic counter per
//! key, incremented with probability 1 / ((counter - 5) * lfu-log-factor + 1)
//! on each access and decremented by one per `lfu-decay-time` minutes
//! without access. Kept only while an LFU maxmemory policy is selected
//! (read by OBJECT FREQ, `redis-cli --hotkeys` and LFU eviction).

use std::cell::Cell;

use super::Entry;

/// A new key's counter (LFU_INIT_VAL): a fresh key is not evicted at once.
pub const INIT: u8 = 5;

/// Minutes on the 16-bit clock Redis keeps beside the counter.
pub fn minutes(now_s: u32) -> u16 {
    (now_s / 60) as u16
}

/// LFUDecrAndReturn: the counter after the decay owed since its last access.
pub fn decayed(e: &Entry, now_s: u32, decay_time: u32) -> u8 {
    let now = minutes(now_s);
    // The 16-bit clock wraps (every ~45 days), as Redis's LFUTimeElapsed.
    let elapsed = if now >= e.freq_minute {
        (now - e.freq_minute) as u32
    } else {
        65535 - e.freq_minute as u32 + now as u32
    };
    // lfu-decay-time 0: the counter never decays.
    let periods = elapsed.checked_div(decay_time).unwrap_or(0);
    e.freq.saturating_sub(periods.min(255) as u8)
}

/// updateLFU: decay, then the logarithmic increment.
pub fn touch(e: &mut Entry, now_s: u32, log_factor: u32, decay_time: u32) {
    let counter = decayed(e, now_s, decay_time);
    e.freq = log_incr(counter, log_factor);
    e.freq_minute = minutes(now_s);
}

fn log_incr(counter: u8, log_factor: u32) -> u8 {
    if counter == 255 {
        return 255;
    }
    let base = counter.saturating_sub(INIT) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if random_unit() < p {
        counter + 1
    } else {
        counter
    }
}

/// A uniform number in [0, 1) from a per-thread xorshift (no lock, no
/// system call on the access path).
fn random_unit() -> f64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(0x9E37_79B9_7F4A_7C15 ^ thread_seed());
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

fn thread_seed() -> u64 {
    let local = 0u8;
    (&local as *const u8 as u64) | 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Value;

    fn entry(freq: u8, minute: u16) -> Entry {
        Entry {
            value: Value::Str(bytes::Bytes::new()),
            expire_at: 0,
            touched: 0,
            freq,
            freq_minute: minute,
        }
    }

    #[test]
    fn decays_one_per_period() {
        let e = entry(10, 0);
        assert_eq!(decayed(&e, 0, 1), 10);
        assert_eq!(decayed(&e, 3 * 60, 1), 7);
        assert_eq!(decayed(&e, 3 * 60, 2), 9);
        assert_eq!(decayed(&e, 3 * 60, 0), 10);
        assert_eq!(decayed(&e, 100 * 60, 1), 0);
    }

    #[test]
    fn grows_logarithmically() {
        let mut e = entry(INIT, 0);
        for _ in 0..1000 {
            touch(&mut e, 0, 10, 1);
        }
        // Redis's table for lfu-log-factor 10: about 10 after 100 hits,
        // about 18 after 1000.
        assert!((12..=30).contains(&e.freq), "freq {}", e.freq);
        let mut hot = entry(INIT, 0);
        for _ in 0..100_000 {
            touch(&mut hot, 0, 10, 1);
        }
        assert!(hot.freq > e.freq);
        assert_eq!(log_incr(255, 10), 255);
    }
}

#[cfg(test)]
mod size {
    /// The counter lives in what was padding (a 40-byte value, the 8-byte
    /// deadline and the 4-byte access time left 4 bytes): a key costs no
    /// more memory than before it.
    #[test]
    fn entry_stays_56_bytes() {
        assert_eq!(std::mem::size_of::<crate::keyspace::Value>(), 40);
        assert_eq!(std::mem::size_of::<crate::keyspace::Entry>(), 56);
    }
}
