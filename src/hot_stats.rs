//! Counters bumped on every command, striped by thread, each stripe written
//! by one thread only.
//!
//! A command bumps four to six counters (calls, time, latency bucket, hits,
//! shard locks…). As atomic read-modify-writes (`lock xadd`) they cost about
//! 20 cycles each even on a line no other core touches: a tenth of a
//! pipelined PING's or GET's user time. A thread that owns its stripe needs
//! no atomic addition: it loads and stores (plain moves), and readers on
//! other threads still see whole values because the counters stay atomics.
//!
//! Ownership: each thread takes the next stripe the first time it counts;
//! every stripe but the last is then its alone. Threads past that share the
//! last stripe and add atomically (blocking-pool threads come and go; the
//! stripes are sized for the workers, two per CPU).
//!
//! CONFIG RESETSTAT cannot zero another thread's stripe (a store between the
//! owner's load and store would be undone), so it only starts a new epoch:
//! readers count a stripe only if it belongs to the current epoch, and an
//! owner zeroes its stripe itself when it next counts. `dirty` (Redis's
//! `server.dirty`, which RESETSTAT leaves alone) is read whatever the epoch.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// One counter of a stripe.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`: a plain load and store when this thread owns the stripe.
    #[inline]
    pub fn add(&self, n: u64) {
        if OWNS_STRIPE.get() {
            let v = self.0.load(Ordering::Relaxed);
            self.0.store(v.wrapping_add(n), Ordering::Relaxed);
        } else {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn clear(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// One command's counters.
pub struct CommandStat {
    pub calls: Counter,
    /// Time spent, in `clock::ticks` (converted to µs by INFO).
    pub ticks: Counter,
    pub rejected: Counter,
    pub failed: Counter,
    /// Process-wide locks taken while running (`contention`).
    pub global_locks: Counter,
    /// Calls that took at least one process-wide lock.
    pub global_lock_calls: Counter,
    /// Shard locks taken, and how many of them had to wait for another holder.
    pub shard_locks: Counter,
    pub contended_waits: Counter,
    /// Calls by duration, log2 buckets of µs (`latency::bucket`).
    pub histogram: [Counter; crate::latency::BUCKETS],
}

impl Default for CommandStat {
    fn default() -> Self {
        CommandStat {
            calls: Counter::default(),
            ticks: Counter::default(),
            rejected: Counter::default(),
            failed: Counter::default(),
            global_locks: Counter::default(),
            global_lock_calls: Counter::default(),
            shard_locks: Counter::default(),
            contended_waits: Counter::default(),
            histogram: std::array::from_fn(|_| Counter::default()),
        }
    }
}

impl CommandStat {
    fn clear(&self) {
        for c in [
            &self.calls,
            &self.ticks,
            &self.rejected,
            &self.failed,
            &self.global_locks,
            &self.global_lock_calls,
            &self.shard_locks,
            &self.contended_waits,
        ] {
            c.clear();
        }
        self.histogram.iter().for_each(Counter::clear);
    }
}

/// One thread's stripe.
#[derive(Default)]
pub struct HotStats {
    pub commands_processed: Counter,
    /// Changes made (Redis's `server.dirty`), summed by `Server::dirty_total`;
    /// not reset by RESETSTAT.
    pub dirty: Counter,
    pub net_input_bytes: Counter,
    pub net_output_bytes: Counter,
    pub keyspace_hits: Counter,
    pub keyspace_misses: Counter,
    /// Bytes of the replication link: read from our master, written to
    /// our replicas (INFO total_net_repl_input_bytes / output).
    pub net_repl_input_bytes: Counter,
    pub net_repl_output_bytes: Counter,
    /// Socket reads and writes that moved bytes (INFO total_reads_processed…).
    pub reads_processed: Counter,
    pub writes_processed: Counter,
    /// Pub/sub messages handed to subscribers (fan-out counted), for
    /// /metrics: bumped once per PUBLISH by its delivery count.
    pub pubsub_delivered: Counter,
    pub per_command: Box<[CommandStat]>,
}

impl HotStats {
    /// Everything RESETSTAT resets (all but `dirty`).
    fn clear(&self) {
        for c in [
            &self.commands_processed,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_repl_input_bytes,
            &self.net_repl_output_bytes,
            &self.reads_processed,
            &self.writes_processed,
            &self.pubsub_delivered,
        ] {
            c.clear();
        }
        self.per_command.iter().for_each(CommandStat::clear);
    }
}

/// A stripe on cache lines of its own, with the epoch its counts belong to.
#[repr(align(128))]
struct Stripe {
    stats: HotStats,
    epoch: AtomicU64,
}

thread_local! {
    /// This thread's stripe index (usize::MAX: none taken yet).
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
    /// Whether this thread is its stripe's only writer.
    static OWNS_STRIPE: Cell<bool> = const { Cell::new(false) };
}

/// Stripes handed out so far, process-wide (servers of one process, as in
/// the tests, share the numbering: a thread's stripe is its own in each).
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

/// Stripes per server: two per CPU, at least 16; the last is shared.
fn stripe_count() -> usize {
    static COUNT: std::sync::LazyLock<usize> = std::sync::LazyLock::new(|| {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cpus * 2).max(16)
    });
    *COUNT
}

fn my_stripe() -> usize {
    let i = STRIPE.get();
    if i != usize::MAX {
        return i;
    }
    let shared = stripe_count() - 1;
    let taken = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed);
    let i = taken.min(shared);
    STRIPE.set(i);
    OWNS_STRIPE.set(i < shared);
    i
}

/// Every thread's stripe of one server.
pub struct HotStripes {
    stripes: Box<[Stripe]>,
    /// Bumped by RESETSTAT: stripes of an older epoch count as zero.
    epoch: AtomicU64,
}

impl HotStripes {
    pub fn new(commands: usize) -> HotStripes {
        HotStripes {
            stripes: (0..stripe_count())
                .map(|_| Stripe {
                    stats: HotStats {
                        per_command: (0..commands).map(|_| CommandStat::default()).collect(),
                        ..Default::default()
                    },
                    epoch: AtomicU64::new(0),
                })
                .collect(),
            epoch: AtomicU64::new(0),
        }
    }

    /// This thread's stripe, zeroed first if a RESETSTAT came since it last
    /// counted.
    #[inline]
    pub fn mine(&self) -> &HotStats {
        let stripe = &self.stripes[my_stripe()];
        let now = self.epoch.load(Ordering::Relaxed);
        if stripe.epoch.load(Ordering::Relaxed) != now {
            self.renew(stripe, now);
        }
        &stripe.stats
    }

    #[cold]
    fn renew(&self, stripe: &Stripe, now: u64) {
        let seen = stripe.epoch.load(Ordering::Relaxed);
        // On the shared stripe one thread zeroes it; the others' counts of
        // the moment may be lost with the old ones (as they would be with a
        // RESETSTAT a moment later).
        if seen != now
            && stripe
                .epoch
                .compare_exchange(seen, u64::MAX, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            stripe.stats.clear();
            // Readers see the zeroes before they see the stripe current.
            stripe.epoch.store(now, Ordering::Release);
        }
    }

    /// Stripes counted since the last RESETSTAT.
    pub fn current(&self) -> impl Iterator<Item = &HotStats> {
        let now = self.epoch.load(Ordering::Relaxed);
        self.stripes
            .iter()
            .filter(move |s| s.epoch.load(Ordering::Acquire) == now)
            .map(|s| &s.stats)
    }

    /// Sum of one counter over the stripes counted since the last RESETSTAT.
    pub fn sum(&self, f: impl Fn(&HotStats) -> &Counter) -> u64 {
        self.current().map(|h| f(h).get()).sum()
    }

    /// Sum of one counter over every stripe, whatever RESETSTAT did (`dirty`).
    pub fn sum_all(&self, f: impl Fn(&HotStats) -> &Counter) -> u64 {
        self.stripes.iter().map(|s| f(&s.stats).get()).sum()
    }

    /// CONFIG RESETSTAT: every stripe counts from zero again.
    pub fn reset(&self) {
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_count_on_their_own_stripes_and_the_sums_add_up() {
        let stripes = std::sync::Arc::new(HotStripes::new(2));
        // More threads than stripes: some share the last one.
        let threads: Vec<_> = (0..stripe_count() + 8)
            .map(|_| {
                let stripes = stripes.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        let mine = stripes.mine();
                        mine.commands_processed.add(1);
                        mine.per_command[1].calls.add(2);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("counting thread");
        }
        let n = (stripe_count() + 8) as u64 * 10_000;
        assert_eq!(stripes.sum(|h| &h.commands_processed), n);
        assert_eq!(stripes.sum(|h| &h.per_command[1].calls), 2 * n);
    }

    #[test]
    fn a_reset_zeroes_every_stripe_but_dirty() {
        let stripes = std::sync::Arc::new(HotStripes::new(1));
        let other = {
            let stripes = stripes.clone();
            std::thread::spawn(move || {
                stripes.mine().keyspace_hits.add(5);
                stripes.mine().dirty.add(3);
            })
        };
        other.join().expect("counting thread");
        stripes.mine().keyspace_hits.add(1);
        assert_eq!(stripes.sum(|h| &h.keyspace_hits), 6);
        stripes.reset();
        // Nobody counted since: nothing shows, though no stripe was zeroed.
        assert_eq!(stripes.sum(|h| &h.keyspace_hits), 0);
        assert_eq!(stripes.sum_all(|h| &h.dirty), 3);
        stripes.mine().keyspace_hits.add(2);
        assert_eq!(stripes.sum(|h| &h.keyspace_hits), 2);
    }
}
