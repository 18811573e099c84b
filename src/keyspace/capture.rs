//! Point-in-time copies of the keyspace, taken shard by shard.
//!
//! BGSAVE, a replica's full sync and the AOF rewrite need the dataset as it
//! was at one instant (the replication offset and the AOF switch are noted at
//! that instant). Copying every shard under every lock stalls the server for
//! as long as the copy takes, so the copy is split:
//!
//! 1. [`Keyspace::begin_capture`] takes every shard lock just long enough to
//!    mark each shard *pending* (O(shards), no data copied) and to run the
//!    caller's `under_lock` step.
//! 2. A pending shard is copied by whoever locks it next, before that lock
//!    holder can see or change anything (the hook is in `Keyspace`'s lock
//!    functions, the only way to reach a shard). So each shard's copy is its
//!    state at step 1, whichever thread makes it.
//! 3. [`Keyspace::finish_capture`], on the snapshot's own thread, locks each
//!    shard in turn (copying those nobody touched) and collects the copies.
//!
//! A copy clones keys and values, which is cheap whatever a value's size
//! (`Value` shares its large collections and copies them on write). The
//! longest any command waits is one shard's copy, never the whole dataset.

use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::Mutex;

use super::{Keyspace, Shard, Value};

/// One key of a copy: key, value, absolute expiry in unix ms (0: none).
pub type Item = (Bytes, Value, u64);

/// One shard's copy: `dbs[i]` holds database i's keys in that shard.
pub type ShardCopy = Vec<Vec<Item>>;

/// A copy being taken: one slot per shard, filled once.
pub struct Capture {
    parts: Mutex<Vec<Option<ShardCopy>>>,
}

impl Capture {
    fn deliver(&self, idx: usize, copy: ShardCopy) {
        if let Some(slot) = self.parts.lock().get_mut(idx) {
            slot.get_or_insert(copy);
        }
    }

    fn take(&self, idx: usize) -> Option<ShardCopy> {
        self.parts.lock().get_mut(idx).and_then(Option::take)
    }
}

impl Shard {
    /// Copies this shard for every capture still waiting on it (called with
    /// the shard locked, before the lock holder touches anything). A capture
    /// whose owner has gone is dropped.
    pub(super) fn deliver_captures(&mut self, idx: usize) {
        let pending = std::mem::take(&mut self.captures);
        let live: Vec<Arc<Capture>> = pending.iter().filter_map(Weak::upgrade).collect();
        if live.is_empty() {
            return;
        }
        let keys: usize = self.dbs.iter().map(|db| db.len()).sum();
        let copy = if keys >= crate::long_step::LONG_COPY {
            crate::long_step::run(|| self.copy())
        } else {
            self.copy()
        };
        for capture in &live {
            capture.deliver(idx, copy.clone());
        }
    }

    /// Every key of every database in this shard, as it is now.
    pub fn copy(&self) -> ShardCopy {
        self.dbs
            .iter()
            .map(|db| {
                db.map
                    .iter()
                    .map(|(k, e)| (k.to_bytes(), e.value.clone(), e.expire_at))
                    .collect()
            })
            .collect()
    }
}

impl Keyspace {
    /// Starts a point-in-time copy. `under_lock` runs while every shard is
    /// held, at the instant the copy reflects.
    pub fn begin_capture(&self, under_lock: impl FnOnce()) -> Arc<Capture> {
        let capture = Arc::new(Capture {
            parts: Mutex::new(vec![None; self.shard_count()]),
        });
        let mut locks = self.lock_all();
        for shard in locks.iter_mut() {
            shard.captures.push(Arc::downgrade(&capture));
        }
        under_lock();
        drop(locks);
        capture
    }

    /// Completes `capture`: each shard locked in turn (one at a time), the
    /// ones nobody has touched since `begin_capture` copied now. Returns the
    /// copies in shard order.
    pub fn finish_capture(&self, capture: &Capture) -> Vec<ShardCopy> {
        let databases = self.databases();
        (0..self.shard_count())
            .map(|idx| {
                // Locking delivers the copy if the shard is still pending.
                drop(self.lock_shard(idx));
                capture
                    .take(idx)
                    .unwrap_or_else(|| (0..databases).map(|_| Vec::new()).collect())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ks: &Keyspace, key: &str, value: &str) {
        let key = Bytes::copy_from_slice(key.as_bytes());
        let mut locks = ks.lock_one(ks.shard_of(&key));
        let shard = locks.shard(ks.shard_of(&key));
        shard.dbs[0].insert(
            &key,
            Value::Str(Bytes::copy_from_slice(value.as_bytes())),
            false,
            0,
        );
    }

    fn copied(parts: &[ShardCopy]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = parts
            .iter()
            .flat_map(|p| p[0].iter())
            .map(|(k, v, _)| match v {
                Value::Str(s) => (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(s).into_owned(),
                ),
                _ => unreachable!("test stores strings only"),
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn writes_after_begin_are_not_in_the_copy() {
        let ks = Keyspace::new(8, 2);
        for i in 0..100 {
            set(&ks, &format!("k{i}"), "old");
        }
        let capture = ks.begin_capture(|| {});
        // Every key rewritten (some shards copied by these writers, on lock).
        for i in 0..100 {
            set(&ks, &format!("k{i}"), "new");
        }
        set(&ks, "added", "new");
        let parts = ks.finish_capture(&capture);
        let got = copied(&parts);
        assert_eq!(got.len(), 100);
        assert!(got.iter().all(|(_, v)| v == "old"), "{got:?}");
    }

    #[test]
    fn under_lock_runs_at_the_copied_instant_and_dropped_captures_are_skipped() {
        let ks = Keyspace::new(4, 1);
        set(&ks, "a", "1");
        let mut ran = false;
        let abandoned = ks.begin_capture(|| ran = true);
        assert!(ran);
        drop(abandoned);
        let capture = ks.begin_capture(|| {});
        set(&ks, "b", "2");
        let parts = ks.finish_capture(&capture);
        assert_eq!(copied(&parts), vec![("a".into(), "1".into())]);
        // Nothing is left pending on any shard.
        ks.for_each_shard(|_, shard| assert!(shard.captures.is_empty()));
    }
}
