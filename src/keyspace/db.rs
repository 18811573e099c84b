//! One database's slice of one shard: the key map and its expiry index.

use std::collections::{BTreeSet, HashMap};

/// The keyspace's table: hashbrown's map (std's HashMap is a wrapper of
/// it), for the raw view `keyspace::prefetch` reads bucket addresses from.
pub type KeyTable = hashbrown::HashMap<Key, Entry, KeyHasher>;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;

use super::key::Key;

use crate::types::hash::Hash;
use crate::types::list::List;
use crate::types::set::Set;
use crate::types::stream::Stream;
use crate::types::zset::Zset;

/// A stored value. One variant per data-type family.
///
/// Cloning a value is cheap whatever its size (a reference count, or a copy
/// of a small packed encoding): large collections sit behind an `Arc` and are
/// copied on write (`Arc::make_mut`) only while a snapshot still shares them.
/// That is what lets BGSAVE, a full sync and an AOF rewrite take their
/// point-in-time copy without stalling the server (see `persist::rdb::capture`).
#[derive(Debug, Clone)]
pub enum Value {
    Str(Bytes),
    List(Arc<List>),
    // Unboxed: a `Set` is an intset pointer or a shared table.
    Set(Set),
    Hash(Arc<Hash>),
    Stream(Arc<Stream>),
    // Unboxed: a `Zset` is 16 bytes (a small set is one allocation, as in Redis).
    Zset(Zset),
}

impl Value {
    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Hash(_) => "hash",
            Value::Stream(_) => "stream",
            Value::Zset(_) => "zset",
        }
    }

    /// Redis's lazyfreeGetFreeEffort: roughly how many allocations freeing
    /// the value takes. Past 64 (LAZYFREE_THRESHOLD) Redis frees it on its
    /// background thread, which INFO's `lazyfreed_objects` counts.
    pub fn free_effort(&self) -> usize {
        match self {
            Value::Str(_) => 1,
            Value::List(l) => l.node_count(),
            Value::Set(s) if s.encoding_name() == "intset" => 1,
            Value::Set(s) => s.len(),
            Value::Hash(h) if h.encoding_name() == "listpack" => 1,
            Value::Hash(h) => h.len(),
            Value::Zset(z) if z.is_listpack() => 1,
            Value::Zset(z) => z.len(),
            // Every node is an allocation; the first group's PEL stands
            // for every group's, as in Redis.
            Value::Stream(s) => {
                let pel = s.groups.values().next().map_or(0, |g| g.pel.len());
                s.node_count() + s.groups.len() * (1 + pel)
            }
        }
    }

    /// A list, set, hash or sorted set with no elements: a state no key may
    /// be in (Redis deletes the key with its last element, and skips or
    /// refuses such a value in an RDB or a DUMP payload). An empty stream is
    /// a valid value.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) | Value::Stream(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Zset(z) => z.is_empty(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry in unix milliseconds; 0 means no expiry.
    pub expire_at: u64,
    /// Last access, seconds on the server clock (uptime; OBJECT IDLETIME).
    /// Signed: RESTORE … IDLETIME can place it before the server started.
    pub touched: i32,
    /// LFU access counter and the minute (16-bit clock) of its last
    /// update, kept while an LFU policy is selected (`keyspace::lfu`).
    pub freq: u8,
    pub freq_minute: u16,
}

/// A client's WATCH on one key: the shared dirty flag, and whether the key was
/// already logically expired when watched (Redis 7 does not fail EXEC for
/// keys that were stale before WATCH).
///
/// The client owns the only `Arc<WatchState>`; shards hold `Weak`s, so UNWATCH
/// (or a disconnect) just drops the `Arc` and stale registrations are pruned
/// lazily instead of locking every shard the client watched.
#[derive(Clone)]
pub struct WatchRef {
    pub state: Weak<WatchState>,
    pub expired_at_watch: bool,
}

#[derive(Default)]
pub struct WatchState {
    dirty: AtomicBool,
}

impl WatchState {
    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }
    pub fn reset(&self) {
        self.dirty.store(false, Ordering::Release);
    }
}

/// The keyspace's hash: aHash keyed with a per-process random seed. Keys
/// come from clients, so the hash must resist flooding as SipHash does (Redis
/// keys SipHash too); aHash does, at a fraction of SipHash's cost on short
/// keys (SipHash was 2 % of a pipelined GET).
pub type KeyHasher = ahash::RandomState;

#[derive(Default)]
pub struct Db {
    pub map: KeyTable,
    /// (deadline, key) for every key with a TTL: active expiry pops from the front.
    pub expires: BTreeSet<(u64, Key)>,
    /// WATCHers by key. Stays with the database index on SWAPDB, as in Redis.
    pub watched: HashMap<Bytes, Vec<WatchRef>>,
}

impl Db {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// The live entry for `key` without expiring it (callers check `is_expired`).
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.map.get_mut(key)
    }

    pub fn is_expired(&self, key: &[u8], now_ms: u64) -> bool {
        // No TTL anywhere in this slice: skip hashing the key.
        if self.expires.is_empty() {
            return false;
        }
        matches!(self.map.get(key), Some(e) if e.expire_at != 0 && e.expire_at <= now_ms)
    }

    /// Inserts or replaces `key`, dropping any previous TTL unless `keep_ttl`.
    /// Returns whether the key already existed (a new key costs a second
    /// probe: the table is searched by `&[u8]` and stores a `Key`).
    ///
    /// A new key is stored as its own copy (`Key`): the argument it came from
    /// is a slice of a connection's read buffer, and keeping that slice would
    /// keep the whole buffer alive for as long as the key lives.
    pub fn insert(&mut self, key: &Bytes, value: Value, keep_ttl: bool, now_s: u32) -> bool {
        if let Some(entry) = self.map.get_mut(key.as_ref()) {
            entry.value = value;
            entry.touched = now_s as i32;
            if !keep_ttl && entry.expire_at != 0 {
                let at = entry.expire_at;
                entry.expire_at = 0;
                self.expires.remove(&(at, Key::new(key)));
            }
            return true;
        }
        self.map.insert(
            Key::new(key),
            Entry {
                value,
                expire_at: 0,
                touched: now_s as i32,
                freq: super::lfu::INIT,
                freq_minute: super::lfu::minutes(now_s),
            },
        );
        false
    }

    /// Sets (or with 0 clears) the expiry of an existing key. Returns false if absent.
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) -> bool {
        let Some((k, entry)) = self.map.get_key_value(key) else {
            return false;
        };
        let k = k.clone();
        let old = entry.expire_at;
        if old != 0 {
            self.expires.remove(&(old, k.clone()));
        }
        if at_ms != 0 {
            self.expires.insert((at_ms, k));
        }
        if let Some(e) = self.map.get_mut(key) {
            e.expire_at = at_ms;
        }
        true
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (k, entry) = self.map.remove_entry(key)?;
        if entry.expire_at != 0 {
            self.expires.remove(&(entry.expire_at, k));
        }
        Some(entry)
    }

    /// Marks every WATCH on `key` dirty (Redis's `touchWatchedKey`).
    pub fn touch_watched(&mut self, key: &[u8]) {
        if self.watched.is_empty() {
            return;
        }
        let exists = self.map.contains_key(key);
        let Some(watchers) = self.watched.get_mut(key) else {
            return;
        };
        watchers.retain_mut(|w| {
            let Some(state) = w.state.upgrade() else {
                return false;
            };
            if w.expired_at_watch && !exists {
                // The stale key is now really gone: logically unchanged.
                w.expired_at_watch = false;
                return true;
            }
            state.mark_dirty();
            true
        });
        if watchers.is_empty() {
            self.watched.remove(key);
        }
    }

    /// Registers a WATCH on `key`, pruning registrations of clients that left.
    pub fn add_watch(&mut self, key: Bytes, w: WatchRef) {
        let list = self.watched.entry(key).or_default();
        list.retain(|r| r.state.strong_count() > 0);
        list.push(w);
    }

    /// Drops registrations whose client has unwatched or disconnected.
    pub fn prune_watches(&mut self) {
        self.watched.retain(|_, list| {
            list.retain(|r| r.state.strong_count() > 0);
            !list.is_empty()
        });
    }

    /// Marks dirty every WATCH on a key that exists here (FLUSHDB, SWAPDB).
    pub fn touch_all_watched(&mut self, also_exists_in: Option<&Db>) {
        for (key, watchers) in self.watched.iter() {
            let exists = self.map.contains_key(key.as_ref())
                || also_exists_in.is_some_and(|o| o.map.contains_key(key.as_ref()));
            if exists {
                // Keys already stale at WATCH time are logically unchanged.
                for state in watchers
                    .iter()
                    .filter(|w| !w.expired_at_watch)
                    .filter_map(|w| w.state.upgrade())
                {
                    state.mark_dirty();
                }
            }
        }
    }

    /// Keys whose deadline has passed, oldest first, at most `budget`.
    pub fn due_expiries(&self, now_ms: u64, budget: usize) -> Vec<Bytes> {
        self.expires
            .iter()
            .take_while(|(at, _)| *at <= now_ms)
            .take(budget)
            .map(|(_, k)| k.to_bytes())
            .collect()
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.expires.clear();
    }
}
