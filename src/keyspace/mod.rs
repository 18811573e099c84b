//! The keyspace: databases split into shards by Redis Cluster hash slot.
//!
//! # Concurrency contract
//! - `shard = key_slot(key) % shards` (a power of two); every database index lives in every shard,
//!   so a key stays in its shard across SELECT, MOVE and SWAPDB.
//! - Each shard is plain data behind its own `parking_lot::Mutex`. A command
//!   locks exactly the shards of its keys, in ascending index order, through
//!   [`Keyspace::lock`], and releases them when its `Ctx` is dropped: single-key
//!   commands take one lock and never hop threads.
//! - EXEC and commands that change or sample the whole keyspace (FLUSHALL,
//!   SWAPDB, RANDOMKEY…) lock every shard, which makes MULTI/EXEC atomic
//!   across shards; KEYS, DBSIZE and SCAN walk the shards one at a time.
//! - Blocked clients are queued in the shard of each key they wait on; a
//!   command that readies a key serves them before its locks go, holding from
//!   the start every shard their commands need (`blocking::shards_to_serve`).
//! - Every shard lock goes through `Keyspace::guard` / `try_lock_shard`,
//!   which first copies the shard for any pending point-in-time snapshot
//!   (`capture`): nothing can change a shard a snapshot still needs as it was.
//! - No guard is ever held across `.await`: handlers are synchronous and only the
//!   connection task awaits.

pub mod capture;
mod db;
pub mod evict;
pub mod key;
pub mod lfu;
mod prefetch;
pub mod slot;

pub use db::{Db, Entry, Value, WatchRef, WatchState};

use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::keyspace::slot::key_slot;

/// How many holders of shard locks may keep them for long (running
/// scripts). Process-wide: it only chooses how a waiter waits.
static LONG_HOLDERS: AtomicUsize = AtomicUsize::new(0);

/// Declares, while alive, that this thread holds shard locks for a long
/// time (a script): waiters hand their worker over instead of blocking it.
pub struct LongHold(());

impl LongHold {
    pub fn begin() -> LongHold {
        LONG_HOLDERS.fetch_add(1, Ordering::AcqRel);
        LongHold(())
    }
}

impl Drop for LongHold {
    fn drop(&mut self) {
        LONG_HOLDERS.fetch_sub(1, Ordering::AcqRel);
    }
}

pub struct Keyspace {
    shards: Box<[PaddedShard]>,
    databases: usize,
    /// The tables are too big to stay cached: pipelines prefetch (`prefetch`).
    prefetch_on: std::sync::atomic::AtomicBool,
}

/// A shard's lock on cache lines of its own: workers locking neighbouring
/// shards do not invalidate each other's line.
#[repr(align(128))]
struct PaddedShard(Mutex<Shard>);

impl std::ops::Deref for PaddedShard {
    type Target = Mutex<Shard>;
    fn deref(&self) -> &Mutex<Shard> {
        &self.0
    }
}

/// One shard: its slice of every database (with the WATCH registrations of
/// its keys), and the clients blocked on its keys.
pub struct Shard {
    pub dbs: Vec<Db>,
    /// Blocked clients, FIFO per (db, key): read and changed only under this
    /// shard's lock, so a command that readies a key serves them before any
    /// other command can touch the key.
    pub waiters: crate::blocking::Queues,
    /// Point-in-time copies waiting for this shard (see `capture`): made by
    /// whoever locks the shard next, before anything in it changes.
    captures: Vec<std::sync::Weak<capture::Capture>>,
}

impl Keyspace {
    pub fn new(shards: usize, databases: usize) -> Keyspace {
        // A power of two: a key's shard is then its slot masked, where a
        // division by any count cost 20-40 cycles per command.
        let shards = (0..shards.max(1).next_power_of_two())
            .map(|_| {
                PaddedShard(Mutex::new(Shard {
                    dbs: (0..databases).map(|_| Db::default()).collect(),
                    waiters: Default::default(),
                    captures: Vec::new(),
                }))
            })
            .collect();
        Keyspace {
            shards,
            databases,
            prefetch_on: Default::default(),
        }
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    pub fn databases(&self) -> usize {
        self.databases
    }

    pub fn shard_of(&self, key: &[u8]) -> usize {
        key_slot(key) as usize & (self.shards.len() - 1)
    }

    /// Locks the given shard indices (sorted, deduplicated) in ascending order:
    /// the only way more than one shard is ever locked, so no two commands deadlock.
    pub fn lock(&self, mut indices: Vec<usize>) -> Locked<'_> {
        indices.sort_unstable();
        indices.dedup();
        if indices.len() == 1 {
            return self.lock_one(indices[0]);
        }
        let all = indices.len() == self.shards.len();
        Locked {
            one: None,
            many: indices.into_iter().map(|i| (i, self.guard(i))).collect(),
            all,
        }
    }

    /// Locks one shard: the single-key hot path, without allocating.
    pub fn lock_one(&self, idx: usize) -> Locked<'_> {
        Locked {
            one: Some((idx, self.guard(idx))),
            many: Vec::new(),
            all: self.shards.len() == 1,
        }
    }

    /// Shard `idx` if nobody holds it now (never waits: safe whatever the
    /// caller already holds).
    pub fn try_lock_shard(&self, idx: usize) -> Option<MutexGuard<'_, Shard>> {
        self.shards[idx].try_lock().map(|g| Self::ready(idx, g))
    }

    /// Shard `idx`, waiting for it: only for a caller whose locked shards
    /// all have lower indices (the ascending lock order).
    pub fn lock_shard(&self, idx: usize) -> MutexGuard<'_, Shard> {
        self.guard(idx)
    }

    /// Every shard lock is taken here (or in `try_lock_shard`): the one
    /// place a pending point-in-time copy is made before the holder can
    /// change the shard.
    fn guard(&self, idx: usize) -> MutexGuard<'_, Shard> {
        let shard = &self.shards[idx];
        crate::contention::shard_lock();
        let guard = match shard.try_lock() {
            Some(g) => g,
            None => Self::wait_for(shard),
        };
        Self::ready(idx, guard)
    }

    /// A shard someone else holds. Usually another command, for a moment;
    /// but a script holds every shard for as long as it runs, and a worker
    /// waiting for it would serve nobody meanwhile (not even SCRIPT KILL).
    /// So the wait checks for a running script and, if there is one, gives
    /// this worker to the runtime first (`long_step::run`).
    #[cold]
    fn wait_for(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
        crate::contention::contended_wait();
        loop {
            if LONG_HOLDERS.load(Ordering::Acquire) > 0 {
                return crate::long_step::run(|| shard.lock());
            }
            if let Some(g) = shard.try_lock_for(std::time::Duration::from_millis(1)) {
                return g;
            }
        }
    }

    fn ready(idx: usize, mut guard: MutexGuard<'_, Shard>) -> MutexGuard<'_, Shard> {
        if !guard.captures.is_empty() {
            guard.deliver_captures(idx);
        }
        guard
    }

    pub fn lock_all(&self) -> Locked<'_> {
        crate::contention::global_lock("whole keyspace");
        // Already in ascending order: no sorting, one allocation.
        let all = (0..self.shards.len()).map(|i| (i, self.guard(i))).collect();
        Locked {
            one: None,
            many: all,
            all: true,
        }
    }

    /// Runs `f` on one shard under its lock.
    pub fn for_shard(&self, idx: usize, f: impl FnOnce(&mut Shard)) {
        f(&mut self.guard(idx));
    }

    /// Runs `f` on each shard in turn, one lock at a time (INFO keyspace, active expiry).
    pub fn for_each_shard(&self, mut f: impl FnMut(usize, &mut Shard)) {
        for i in 0..self.shards.len() {
            f(i, &mut self.guard(i));
        }
    }
}

/// The shard guards a command holds, sorted by shard index. A single guard
/// lives inline (`one`) so single-key commands allocate nothing to lock.
pub struct Locked<'a> {
    one: Option<(usize, MutexGuard<'a, Shard>)>,
    many: Vec<(usize, MutexGuard<'a, Shard>)>,
    all: bool,
}

impl<'a> Locked<'a> {
    pub fn none() -> Locked<'a> {
        Locked {
            one: None,
            many: Vec::new(),
            all: false,
        }
    }

    pub fn holds_all(&self) -> bool {
        self.all
    }

    /// The locked shard `idx`; panics if it is not held. Handlers reach
    /// shards through `Ctx::db_of`, which locks an undeclared key's shard
    /// when it safely can and answers an error otherwise; this is for code
    /// that locked `idx` itself.
    pub fn shard(&mut self, idx: usize) -> &mut Shard {
        self.try_shard(idx)
            .expect("shard not locked: command table key spec is wrong")
    }

    pub fn count(&self) -> usize {
        self.one.is_some() as usize + self.many.len()
    }

    /// Adds a shard locked after the others (`Ctx::db_of` reaching a key the
    /// command did not declare).
    pub fn add(&mut self, idx: usize, guard: MutexGuard<'a, Shard>) {
        if let Some(one) = self.one.take() {
            self.many.push(one);
        }
        self.many.push((idx, guard));
    }

    /// The highest locked index, if any shard is held.
    pub fn max_index(&self) -> Option<usize> {
        self.indices().into_iter().max()
    }

    /// Whether shard `idx` is among the locked ones.
    pub fn holds(&self, idx: usize) -> bool {
        self.shard_ref(idx).is_some()
    }

    /// Indices of the locked shards, ascending.
    pub fn indices(&self) -> Vec<usize> {
        self.one
            .iter()
            .map(|(i, _)| *i)
            .chain(self.many.iter().map(|(i, _)| *i))
            .collect()
    }

    /// Index of the first (lowest) locked shard; 0 when none is held.
    pub fn first_index(&self) -> usize {
        match &self.one {
            Some((i, _)) => *i,
            None => self.many.first().map_or(0, |(i, _)| *i),
        }
    }

    pub fn try_shard(&mut self, idx: usize) -> Option<&mut Shard> {
        if let Some((i, g)) = self.one.as_mut() {
            return (*i == idx).then_some(&mut **g);
        }
        if self.all {
            return self.many.get_mut(idx).map(|(_, g)| &mut **g);
        }
        self.many
            .iter_mut()
            .find(|(i, _)| *i == idx)
            .map(|(_, g)| &mut **g)
    }

    /// Shared access to a locked shard, so that a command can read values
    /// of several shards at once (SINTER and friends).
    pub fn shard_ref(&self, idx: usize) -> Option<&Shard> {
        if let Some((i, g)) = self.one.as_ref() {
            return (*i == idx).then_some(&**g);
        }
        if self.all {
            return self.many.get(idx).map(|(_, g)| &**g);
        }
        self.many.iter().find(|(i, _)| *i == idx).map(|(_, g)| &**g)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Shard> + use<'_, 'a> {
        self.one
            .iter_mut()
            .chain(self.many.iter_mut())
            .map(|(_, g)| &mut **g)
    }
}
