//! The latency monitor (Redis's latency.c): events that took at least
//! `latency-monitor-threshold` milliseconds — "command", "fast-command",
//! "expire-cycle" — each with its last 160 samples (one per second, the
//! worst of that second) and its all-time maximum. Off (threshold 0) it
//! costs one relaxed load per command.

use std::collections::{BTreeMap, VecDeque};

use parking_lot::Mutex;

/// Samples kept per event (LATENCY_TS_LEN).
const HISTORY: usize = 160;

#[derive(Default)]
pub struct Series {
    /// (unix seconds, milliseconds), oldest first.
    pub samples: VecDeque<(u64, u64)>,
    pub max: u64,
}

#[derive(Default)]
pub struct Monitor {
    events: Mutex<BTreeMap<&'static str, Series>>,
}

impl Monitor {
    /// Adds a sample of `ms` to `event` if it reaches `threshold_ms`.
    pub fn sample(&self, threshold_ms: u64, event: &'static str, ms: u64) {
        if threshold_ms == 0 || ms < threshold_ms {
            return;
        }
        let now = crate::server::unix_ms() / 1000;
        let mut events = self.events.lock();
        let s = events.entry(event).or_default();
        s.max = s.max.max(ms);
        match s.samples.back_mut() {
            Some((t, worst)) if *t == now => *worst = (*worst).max(ms),
            _ => {
                s.samples.push_back((now, ms));
                if s.samples.len() > HISTORY {
                    s.samples.pop_front();
                }
            }
        }
    }

    /// LATENCY LATEST: (event, time of the latest, latest ms, max ms).
    pub fn latest(&self) -> Vec<(&'static str, u64, u64, u64)> {
        self.events
            .lock()
            .iter()
            .filter_map(|(name, s)| s.samples.back().map(|&(t, ms)| (*name, t, ms, s.max)))
            .collect()
    }

    /// LATENCY HISTORY event.
    pub fn history(&self, event: &[u8]) -> Vec<(u64, u64)> {
        let events = self.events.lock();
        events
            .iter()
            .find(|(name, _)| name.as_bytes() == event)
            .map(|(_, s)| s.samples.iter().copied().collect())
            .unwrap_or_default()
    }

    /// LATENCY RESET [event…]: how many events were reset.
    pub fn reset(&self, only: &[&[u8]]) -> usize {
        let mut events = self.events.lock();
        if only.is_empty() {
            let n = events.len();
            events.clear();
            return n;
        }
        let before = events.len();
        events.retain(|name, _| !only.contains(&name.as_bytes()));
        before - events.len()
    }

    /// LATENCY DOCTOR: a short report in Redis's voice. With no event it
    /// is Redis's own text, which depends on whether monitoring is on.
    pub fn doctor(&self, threshold_ms: u64) -> String {
        let events = self.events.lock();
        if events.is_empty() {
            let text = if threshold_ms == 0 {
                crate::error::msg::LATENCY_DOCTOR_DISABLED
            } else {
                crate::error::msg::LATENCY_DOCTOR_QUIET
            };
            return text.to_string();
        }
        let mut out = String::from(
            "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
        );
        for (i, (name, s)) in events.iter().enumerate() {
            let avg =
                s.samples.iter().map(|&(_, ms)| ms).sum::<u64>() / s.samples.len().max(1) as u64;
            out.push_str(&format!(
                "{}. {name}: {} latency spikes (average {avg}ms, mean deviation 0ms, period 0 sec). Worst all time event {}ms.\n",
                i + 1,
                s.samples.len(),
                s.max
            ));
        }
        out.push_str("\nI have a few advices for you:\n\n- Check the commands that took longest with SLOWLOG GET, and the latency-monitor-threshold setting.\n");
        out
    }
}

/// Buckets of the per-command latency histograms: bucket `b` counts calls
/// that took at most 2^b µs (and more than 2^(b-1)); the last one takes
/// everything longer.
pub const BUCKETS: usize = 24;

pub fn bucket(micros: u64) -> usize {
    if micros <= 1 {
        0
    } else {
        ((64 - (micros - 1).leading_zeros()) as usize).min(BUCKETS - 1)
    }
}

/// INFO latencystats' line for one command: each wanted percentile as
/// `p<percentile>=<µs>` (Redis's format, three decimals), from the power-of-
/// two buckets: the value is its bucket's upper bound (Redis's HDR
/// histogram is finer). `None` when nothing was recorded.
pub fn percentile_line(buckets: &[u64; BUCKETS], wanted: &[f64]) -> Option<String> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let parts: Vec<String> = wanted
        .iter()
        .map(|&p| {
            let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            let mut bound = 1u64 << (BUCKETS - 1);
            for (b, n) in buckets.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    bound = 1u64 << b;
                    break;
                }
            }
            format!("p{p}={:.3}", bound as f64)
        })
        .collect();
    Some(parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_read_the_buckets_as_redis_prints_them() {
        let mut b = [0u64; BUCKETS];
        b[bucket(10)] = 98; // ≤ 16 µs
        b[bucket(50_000)] = 2; // ≤ 65536 µs
        assert_eq!(
            percentile_line(&b, &[50.0, 99.0, 99.9]).as_deref(),
            Some("p50=16.000,p99=65536.000,p99.9=65536.000")
        );
        assert_eq!(percentile_line(&[0; BUCKETS], &[50.0]), None);
        assert_eq!(
            percentile_line(&b, &[0.0, 100.0]).as_deref(),
            Some("p0=16.000,p100=65536.000")
        );
    }

    #[test]
    fn samples_keep_the_worst_per_second_and_the_max() {
        let m = Monitor::default();
        m.sample(0, "command", 500);
        assert!(m.latest().is_empty(), "threshold 0 is off");
        m.sample(100, "command", 50);
        assert!(m.latest().is_empty(), "below the threshold");
        m.sample(100, "command", 300);
        m.sample(100, "command", 200);
        let latest = m.latest();
        assert_eq!(latest.len(), 1);
        assert_eq!((latest[0].2, latest[0].3), (300, 300));
        assert_eq!(m.history(b"command").len(), 1);
        assert_eq!(m.reset(&[b"nosuch"]), 0);
        assert_eq!(m.reset(&[]), 1);
    }

    #[test]
    fn doctor_without_events_says_whether_monitoring_is_on() {
        let m = Monitor::default();
        assert!(m.doctor(0).starts_with("I'm sorry, Dave, I can't do that."));
        assert!(m
            .doctor(10)
            .starts_with("Dave, no latency spike was observed"));
        m.sample(10, "command", 20);
        assert!(m.doctor(0).contains("1 latency spikes"));
    }

    #[test]
    fn buckets_are_powers_of_two() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1), 0);
        assert_eq!(bucket(2), 1);
        assert_eq!(bucket(3), 2);
        assert_eq!(bucket(4), 2);
        assert_eq!(bucket(5), 3);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }
}
