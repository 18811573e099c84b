//! Fetching a pipelined command's bucket into the cache ahead of time.
//!
//! In a pipeline of GETs the biggest single cost in the server was the cache
//! miss on the key's bucket (`benches/PROFILE.md`): the probe waits ~100 ns
//! for memory, one command at a time. While a connection runs one command
//! of a batch, the next one is already in its read buffer; its key's bucket
//! (control bytes and entry) is asked of the memory system then, so the
//! misses of consecutive commands overlap with work instead of following it
//! (Valkey 8's batch prefetching of dictionary buckets, one command ahead).
//!
//! Only for tables too big for the caches: with the whole keyspace cached
//! the misses are few, and looking ahead costs more than it hides (at 10,000
//! keys: GET d32 -2 %, SET ±0, LPUSH +10 % CPU per op; at 1,000,000 keys
//! GET -20 %, `benches/PROFILE.md`). The server cron decides once a second.
//!
//! A prefetch is only a hint to the CPU: it never faults and changes
//! nothing, so a wrong guess (the table resized, another db) costs one wasted
//! memory read. The table's addresses are read under the shard's lock, taken
//! only if free (never waits: another worker holding it is busy with it).

use super::db::{Db, Entry};
use super::key::Key;
use super::Keyspace;
use std::sync::atomic::Ordering;

/// Bytes of buckets, over every table, from which prefetching pays: past
/// what the caches of a core keep (a bucket is 80 bytes: ~50,000 keys).
const WORTHWHILE_BYTES: usize = 4 << 20;

impl Keyspace {
    /// Whether pipelines should prefetch (the tables outgrew the caches).
    pub fn prefetch_worthwhile(&self) -> bool {
        self.prefetch_on.load(Ordering::Relaxed)
    }

    /// Measures the tables (the server cron, once a second): one shard
    /// locked at a time, briefly.
    pub fn review_prefetch(&self) {
        let mut bytes = 0;
        for shard in self.shards.iter() {
            let shard = shard.lock();
            bytes += shard
                .dbs
                .iter()
                .map(|db| db.map.raw_table().buckets() * BUCKET)
                .sum::<usize>();
        }
        self.prefetch_on
            .store(bytes >= WORTHWHILE_BYTES, Ordering::Relaxed);
    }

    /// Asks for `key`'s bucket in database `db` to be brought into the cache.
    pub fn prefetch(&self, db: usize, key: &[u8]) {
        let shard = self.shard_of(key);
        let Some(shard) = self.shards[shard].try_lock() else {
            return;
        };
        if let Some(db) = shard.dbs.get(db) {
            db.prefetch(key);
        }
    }
}

impl Db {
    /// Asks for the bucket a lookup of `key` will read (`bucket_of`).
    fn prefetch(&self, key: &[u8]) {
        if let Some(bucket) = self.bucket_of(key) {
            // A bucket spans two cache lines at most: its first and last byte.
            fetch(bucket);
            fetch(bucket.wrapping_add(BUCKET - 1));
        }
    }

    /// Where the bucket a lookup of `key` will compare lies, if the lookup
    /// compares one. hashbrown keeps one control byte per bucket (the top 7
    /// bits of its key's hash, or EMPTY) from `data_end` up and the buckets
    /// from `data_end` down; a probe scans the group of control bytes from
    /// the hash's position and compares the keys of matching buckets. The
    /// control bytes are small enough to stay cached (a byte per bucket), so
    /// they are read now; the bucket they point at, 80 bytes among
    /// megabytes, is the miss worth hiding.
    fn bucket_of(&self, key: &[u8]) -> Option<*const u8> {
        const GROUP: usize = 16;
        const EMPTY: u8 = 0xff;
        let table = self.map.raw_table();
        if table.is_empty() {
            return None;
        }
        let hash = self.map.hasher().hash_one(key);
        let mask = table.buckets() - 1;
        // hashbrown's h1 (the hash, masked) and h2 (its top 7 bits).
        let pos = hash as usize & mask;
        let h2 = (hash >> 57) as u8;
        let data_end = table.data_end().as_ptr();
        let ctrl = data_end.cast::<u8>().cast_const();
        for i in 0..GROUP {
            // SAFETY: hashbrown allocates `buckets + GROUP` control bytes
            // (the first group repeated at the end), so pos + i is inside;
            // the caller's borrow of the table keeps it as it is.
            let byte = unsafe { *ctrl.add(pos + i) };
            if byte == EMPTY {
                // The probe stops here: the key is not in the table.
                return None;
            }
            if byte == h2 {
                let at = (pos + i) & mask;
                // SAFETY: at < buckets: bucket `at` lies inside the table.
                return Some(unsafe { data_end.sub(at + 1) }.cast::<u8>().cast_const());
            }
        }
        None
    }
}

const BUCKET: usize = std::mem::size_of::<(Key, Entry)>();

#[inline(always)]
fn fetch(addr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing and never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(addr.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::db::Value;
    use bytes::Bytes;

    #[test]
    fn prefetching_any_key_of_any_table_is_harmless() {
        let ks = Keyspace::new(4, 2);
        // Empty tables, then a table of some size, then keys not in it and a
        // database that does not exist.
        ks.prefetch(0, b"nothing-yet");
        {
            let mut shard = ks.shards[ks.shard_of(b"k")].lock();
            for i in 0..1000 {
                let key = Bytes::from(format!("k{i}"));
                shard.dbs[0].insert(&key, Value::Str(key.clone()), false, 0);
            }
        }
        for key in [&b"k"[..], b"k1", b"k999", b"absent", b""] {
            ks.prefetch(0, key);
            ks.prefetch(1, key);
            ks.prefetch(7, key);
        }
        let shard = ks.shards[ks.shard_of(b"k")].lock();
        assert_eq!(shard.dbs[0].map.len(), 1000);
    }

    #[test]
    fn prefetching_starts_once_the_tables_outgrow_the_caches() {
        let ks = Keyspace::new(4, 1);
        ks.review_prefetch();
        assert!(!ks.prefetch_worthwhile());
        for i in 0..(WORTHWHILE_BYTES / BUCKET) {
            let key = Bytes::from(format!("key:{i}"));
            let mut shard = ks.shards[ks.shard_of(&key)].lock();
            shard.dbs[0].insert(&key, Value::Str(Bytes::new()), false, 0);
        }
        ks.review_prefetch();
        assert!(ks.prefetch_worthwhile());
    }

    #[test]
    fn the_predicted_bucket_is_the_one_holding_the_key() {
        // Checks the layout this module assumes of hashbrown (h1, h2,
        // control bytes and buckets around data_end) on tables of many sizes.
        let mut db = Db::default();
        let mut found = 0;
        for i in 0..5000u32 {
            let key = Bytes::from(format!("key:{i}"));
            db.insert(&key, Value::Str(Bytes::new()), false, 0);
            for probe in [i, i / 2, i / 3] {
                let key = format!("key:{probe}");
                let entry = db.map.get(key.as_bytes()).expect("inserted") as *const Entry as usize;
                // The first matching control byte is the key's unless
                // another key's top 7 hash bits are the same (1 in 128).
                if let Some(bucket) = db.bucket_of(key.as_bytes()) {
                    let bucket = bucket as usize;
                    if (bucket..bucket + BUCKET).contains(&entry) {
                        found += 1;
                    }
                }
            }
        }
        // Wrong layout assumptions would predict next to none; an h2
        // collision before the key, or a key past the first group, a few.
        assert!(found >= 15000 * 90 / 100, "{found} of 15000 predicted");
    }
}
