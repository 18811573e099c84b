//! `Ctx`: what a handler sees — the server, its client, and the shards it locked.

use bytes::Bytes;

use crate::client::Client;
use crate::keyspace::{Db, Entry, Locked, Value};
use crate::notify::{self, KeyEvent};
use crate::server::Server;

/// Small strings are copied out of the read buffer they were parsed from (see
/// `Db::insert`); big ones were read into a buffer of their own, kept as is.
fn owned_value(value: Value) -> Value {
    match value {
        Value::Str(b) if b.len() < crate::conn::protocol::BIG_ARG => {
            Value::Str(Bytes::copy_from_slice(&b))
        }
        other => other,
    }
}

pub struct Ctx<'a, 'c> {
    pub srv: &'a Server,
    pub client: &'c mut Client,
    pub locks: Locked<'a>,
    /// Wall clock in unix milliseconds, read once per batch of requests.
    pub now_ms: u64,
    /// Seconds since server start at `now_ms` (OBJECT IDLETIME clock).
    pub now_s: u32,
    /// Keyspace notifications to publish once the locks are released.
    pub events: Vec<KeyEvent>,
    /// Keys whose list/stream gained elements: blocked clients to serve.
    pub ready_keys: Vec<(usize, Bytes)>,
    /// Set by a blocking handler that found nothing to serve.
    pub block: Option<crate::blocking::BlockRequest>,
    /// Changes made so far (Redis's `server.dirty` delta): a write command
    /// that changed nothing is not propagated.
    pub dirty: u64,
    /// Effects to append to the replication stream before the locks go
    /// (filled only while `srv.repl.active()`).
    pub prop: Vec<crate::repl::Prop>,
    /// Where each of `prop` goes, when a script's `redis.set_repl` sent some
    /// to the AOF or the replicas only; empty means everywhere.
    pub prop_targets: Vec<u8>,
    /// Set when a key's shard was neither locked by the dispatcher nor
    /// lockable without risking a deadlock: the command answers an error
    /// (see `db_of`) instead of touching data it does not hold.
    pub undeclared_key: bool,
    /// What such a key reads as: an empty database, written to in vain.
    scratch: Option<Box<Db>>,
    /// The handler touches only the keys its table entry declares, so with
    /// one shard locked every key is in it and `db_of` skips hashing. A
    /// caller that cannot vouch for its keys (a script) sets this false.
    pub keys_declared: bool,
    /// Running inside a script (`redis.call`): BLOCK options are refused.
    pub in_script: bool,
    /// The error this command replies was already counted in the error
    /// statistics (a script failing with its `redis.call`'s error).
    pub error_counted: bool,
    /// The keys the running script declared, when its client tracks keys:
    /// a read-only command the script runs remembers these (Redis tracks
    /// the script's keys, not the ones its commands name).
    pub script_keys: Vec<Bytes>,
}

impl<'a, 'c> Ctx<'a, 'c> {
    pub fn new(
        srv: &'a Server,
        client: &'c mut Client,
        locks: Locked<'a>,
        now_ms: u64,
    ) -> Ctx<'a, 'c> {
        Ctx {
            srv,
            client,
            locks,
            now_ms,
            now_s: (now_ms.saturating_sub(srv.start_unix_ms) / 1000) as u32,
            events: Vec::new(),
            ready_keys: Vec::new(),
            block: None,
            dirty: 0,
            prop: Vec::new(),
            prop_targets: Vec::new(),
            undeclared_key: false,
            scratch: None,
            keys_declared: true,
            in_script: false,
            script_keys: Vec::new(),
            error_counted: false,
        }
    }

    pub fn db_index(&self) -> usize {
        self.client.db
    }

    /// The locked slice of database `db` that holds `key`.
    pub fn db_of(&mut self, db: usize, key: &[u8]) -> &mut Db {
        let shard = self.shard_index_of(key);
        if !self.locks.holds(shard) && !self.reach_undeclared(shard) {
            self.undeclared_key = true;
            return self.scratch.get_or_insert_with(Default::default).as_mut();
        }
        &mut self.locks.shard(shard).dbs[db]
    }

    /// The shard of `key`. With one shard locked and the keys declared it is
    /// the locked one (the dispatcher locked it for this key): the single-key
    /// hot path skips hashing the key again.
    fn shard_index_of(&self, key: &[u8]) -> usize {
        if self.keys_declared && self.locks.count() == 1 {
            debug_assert_eq!(self.srv.keyspace.shard_of(key), self.locks.first_index());
            self.locks.first_index()
        } else {
            self.srv.keyspace.shard_of(key)
        }
    }

    /// A key the command did not declare (a script's, or a command-table
    /// bug): its shard is locked now if that cannot deadlock — it is free, or
    /// above every shard held (the ascending order) — and false otherwise.
    fn reach_undeclared(&mut self, shard: usize) -> bool {
        let keyspace = &self.srv.keyspace;
        let guard = match self.locks.max_index() {
            Some(top) if shard < top => keyspace.try_lock_shard(shard),
            _ => Some(keyspace.lock_shard(shard)),
        };
        match guard {
            Some(g) => {
                self.locks.add(shard, g);
                true
            }
            None => false,
        }
    }

    /// Visits every shard: the ones held when the command holds them all
    /// (EXEC, FLUSHALL), otherwise each locked in turn and released before
    /// the next (KEYS, DBSIZE: no command waits for the whole keyspace). The
    /// caller holds no shard in the second case.
    pub fn each_shard(&mut self, mut f: impl FnMut(&mut crate::keyspace::Shard)) {
        if self.locks.holds_all() {
            self.locks.iter_mut().for_each(f);
        } else {
            debug_assert_eq!(
                self.locks.count(),
                0,
                "partial locks and a whole-keyspace walk"
            );
            self.srv.keyspace.for_each_shard(|_, s| f(s));
        }
    }

    /// Runs `f` on shard `idx`: through the command's own guard when it holds
    /// it (inside EXEC), else with the shard locked for this call alone (SCAN
    /// walks one shard per call; the caller holds no shard).
    pub fn with_shard<R>(
        &mut self,
        idx: usize,
        f: impl FnOnce(&mut crate::keyspace::Shard) -> R,
    ) -> R {
        if let Some(s) = self.locks.try_shard(idx) {
            return f(s);
        }
        debug_assert_eq!(self.locks.count(), 0, "partial locks and an unlocked shard");
        f(&mut self.srv.keyspace.lock_shard(idx))
    }

    fn db(&mut self, key: &[u8]) -> &mut Db {
        let db = self.client.db;
        self.db_of(db, key)
    }

    /// Counts a change to the dataset (INFO rdb_changes_since_last_save, propagation).
    pub fn mark_dirty(&mut self, n: u64) {
        self.dirty += n;
        self.srv.dirty(n);
    }

    /// Expires `key` in `db` if its deadline passed (lazy expiry). Returns true
    /// if it is logically gone.
    ///
    /// A replica never deletes on its own (the master's DEL arrives in the
    /// stream): it hides logically expired keys from its clients but not from
    /// the master, whose commands must see the data the master saw (as Redis).
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        let now = self.now_ms;
        if !self.db_of(db, key).is_expired(key, now) || self.client.loading {
            return false;
        }
        if self
            .srv
            .pause_until
            .load(std::sync::atomic::Ordering::Relaxed)
            != 0
            && self.srv.paused(now)
        {
            // Under CLIENT PAUSE nothing is deleted (the deletion would be a
            // write to propagate): the key only reads as gone.
            return true;
        }
        if self.srv.repl.is_replica() {
            if self.client.repl.is_master {
                return false;
            }
            if !self.client.repl.write_cmd {
                return true;
            }
            // A write on a writable replica deletes what it finds expired
            // (Redis's EXPIRE_FORCE_DELETE_EXPIRED); nothing is propagated.
        }
        let d = self.db_of(db, key);
        let (k, _) = match d.map.get_key_value(key) {
            Some((k, e)) => (k.to_bytes(), e.expire_at),
            None => return false,
        };
        d.remove(key);
        self.signal_modified(db, key);
        if self.srv.repl.active() {
            // Replicas learn of expiries from the master only: a DEL.
            self.prop
                .push((db, vec![Bytes::from_static(b"DEL"), k.clone()]));
        }
        self.signal_replaced(db, key);
        self.srv
            .stats
            .expired_keys
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.events.push(KeyEvent {
            class: notify::EXPIRED,
            event: "expired",
            key: k,
            db,
        });
        true
    }

    /// The live entry for `key` in the selected database (expired keys vanish here).
    pub fn lookup(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let db = self.client.db;
        self.lookup_in(db, key)
    }

    pub fn lookup_in(&mut self, db: usize, key: &[u8]) -> Option<&mut Entry> {
        if self.expire_if_needed(db, key) {
            return None;
        }
        let now_s = self.now_s;
        let no_touch = self.client.no_touch;
        let config = &self.srv.config;
        let e = self.db_of(db, key).get_mut(key)?;
        if !no_touch {
            accessed(e, now_s, config);
        }
        Some(e)
    }

    /// The live entry for `key` without updating its access time (TTL, TYPE,
    /// EXISTS: Redis's LOOKUP_NOTOUCH).
    pub fn peek(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let db = self.client.db;
        if self.expire_if_needed(db, key) {
            return None;
        }
        self.db_of(db, key).get_mut(key)
    }

    /// Read lookup that counts keyspace hits and misses (GET-like commands).
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let stats = &self.srv.stats;
        let db = self.client.db;
        let hidden = self.expire_if_needed(db, key);
        let now_s = self.now_s;
        let no_touch = self.client.no_touch;
        let config = &self.srv.config;
        match self.db_of(db, key).get_mut(key).filter(|_| !hidden) {
            Some(e) => {
                stats.hot().keyspace_hits.add(1);
                if !no_touch {
                    accessed(e, now_s, config);
                }
                Some(e)
            }
            None => {
                stats.hot().keyspace_misses.add(1);
                None
            }
        }
    }

    pub fn exists(&mut self, key: &[u8]) -> bool {
        let db = self.client.db;
        if self.expire_if_needed(db, key) {
            return false;
        }
        self.db(key).get(key).is_some()
    }

    /// Stores `value` at `key` (a write: WATCH is touched). Keeps the TTL only if asked.
    pub fn set_value(&mut self, key: &Bytes, value: Value, keep_ttl: bool) -> bool {
        let db = self.client.db;
        self.set_value_in(db, key, value, keep_ttl)
    }

    /// Stores `value` at `key` in `db`; returns whether the key existed before.
    pub fn set_value_in(&mut self, db: usize, key: &Bytes, value: Value, keep_ttl: bool) -> bool {
        let now_s = self.now_s;
        let value = owned_value(value);
        let d = self.db_of(db, key);
        let existed = d.insert(key, value, keep_ttl, now_s);
        self.signal_modified(db, key);
        self.mark_dirty(1);
        if existed {
            self.signal_replaced(db, key);
        }
        existed
    }

    /// Changes the string at `key` in place: its buffer is taken out of the
    /// entry, made unique (copied only while a reply or snapshot still shares
    /// it), changed by `f` and put back, so that APPEND is amortized O(1) and
    /// SETBIT / SETRANGE touch only what they change. A missing key starts
    /// empty and is created when `f` succeeds (TTL kept for an existing key,
    /// as Redis's in-place updates keep it). `f` is told whether the key
    /// existed. Returns `f`'s result and whether the key existed; WRONGTYPE if
    /// it holds another type.
    pub fn mutate_string<R>(
        &mut self,
        key: &Bytes,
        f: impl FnOnce(&mut bytes::BytesMut, bool) -> crate::error::CmdResult<R>,
    ) -> crate::error::CmdResult<(R, bool)> {
        self.mutate_string_counted(key, |buf, existed| f(buf, existed).map(|r| (r, 1)))
    }

    /// `mutate_string` where `f` also says how many changes it made to an
    /// existing string (0: nothing changed, no write is counted and WATCH is
    /// not touched, as Redis's SETBIT / BITFIELD). Creating the key counts
    /// as one change.
    pub fn mutate_string_counted<R>(
        &mut self,
        key: &Bytes,
        f: impl FnOnce(&mut bytes::BytesMut, bool) -> crate::error::CmdResult<(R, u64)>,
    ) -> crate::error::CmdResult<(R, bool)> {
        let Some(entry) = self.lookup(key) else {
            let mut buf = bytes::BytesMut::new();
            let (out, _) = f(&mut buf, false)?;
            self.set_value(key, Value::Str(buf.freeze()), false);
            return Ok((out, false));
        };
        let Value::Str(stored) = &mut entry.value else {
            return Err(crate::error::CmdError::WrongType);
        };
        let mut buf = std::mem::take(stored)
            .try_into_mut()
            .unwrap_or_else(|shared| bytes::BytesMut::from(&shared[..]));
        let out = f(&mut buf, true);
        *stored = buf.freeze();
        let (out, changes) = out?;
        if changes > 0 {
            let db = self.client.db;
            self.signal_modified(db, key);
            self.mark_dirty(changes);
        }
        Ok((out, true))
    }

    /// Deletes `key` if it exists; returns whether it did.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        let db = self.client.db;
        self.delete_in(db, key)
    }

    pub fn delete_in(&mut self, db: usize, key: &[u8]) -> bool {
        self.remove_in(db, key).is_some()
    }

    /// Deletes `key` from `db` and returns what it held.
    pub fn remove_in(&mut self, db: usize, key: &[u8]) -> Option<Entry> {
        self.expire_if_needed(db, key);
        let removed = self.db_of(db, key).remove(key)?;
        self.signal_modified(db, key);
        self.mark_dirty(1);
        self.signal_replaced(db, key);
        Some(removed)
    }

    /// Sets the absolute expiry (ms) of an existing key; 0 removes it.
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) -> bool {
        let db = self.client.db;
        let d = self.db_of(db, key);
        let ok = d.set_expire(key, at_ms);
        if ok {
            self.signal_modified(db, key);
            self.mark_dirty(1);
            if at_ms != 0 && self.srv.repl.is_replica() && !self.client.repl.is_master {
                // Only this replica knows of this TTL: it must expire the key itself.
                self.srv
                    .repl
                    .local_expires
                    .lock()
                    .insert((db, Bytes::copy_from_slice(key)));
            }
        }
        ok
    }

    /// A key's value was modified in place: WATCH and readiness bookkeeping.
    pub fn modified(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.signal_modified(db, key);
        self.mark_dirty(1);
    }

    /// Redis's signalModifiedKey: WATCHes on `key` fail, and the clients
    /// that may cache it are told (client-side caching).
    pub fn signal_modified(&mut self, db: usize, key: &[u8]) {
        self.db_of(db, key).touch_watched(key);
        self.srv.tracking.key_modified(self.srv, key);
    }

    /// Records a keyspace notification for the selected database.
    pub fn notify(&mut self, class: u32, event: &'static str, key: &Bytes) {
        let db = self.client.db;
        self.notify_in(db, class, event, key);
    }

    pub fn notify_in(&mut self, db: usize, class: u32, event: &'static str, key: &Bytes) {
        let flags = self
            .srv
            .config
            .notify_flags
            .load(std::sync::atomic::Ordering::Relaxed);
        if notify::enabled(flags, class) {
            self.events.push(KeyEvent {
                class,
                event,
                key: key.clone(),
                db,
            });
        }
    }

    /// A key was deleted or overwritten: blocked XREADGROUP clients on it end
    /// with an error (Redis signals such keys as ready).
    fn signal_replaced(&mut self, db: usize, key: &[u8]) {
        if self.anyone_waits_in_shard_of(key) {
            self.ready_keys.push((db, Bytes::copy_from_slice(key)));
        }
    }

    /// A list, sorted set or stream at `key` gained elements: blocked
    /// clients may be served.
    pub fn signal_ready(&mut self, key: &Bytes) {
        if self.anyone_waits_in_shard_of(key) {
            let db = self.client.db;
            self.ready_keys.push((db, key.clone()));
        }
    }

    /// Whether any client waits on a key of `key`'s shard. Waiters are
    /// queued under the shard's lock, which the command holds: an empty queue
    /// map means nobody to serve, and the write touches nothing more.
    fn anyone_waits_in_shard_of(&mut self, key: &[u8]) -> bool {
        let shard = self.shard_index_of(key);
        self.locks
            .try_shard(shard)
            .is_some_and(|s| !s.waiters.is_empty())
    }
}

/// An access to `e`: its idle time restarts, and under an LFU policy its
/// access counter counts it (one relaxed load otherwise).
fn accessed(e: &mut Entry, now_s: u32, config: &crate::config::Config) {
    use std::sync::atomic::Ordering::Relaxed;
    e.touched = now_s as i32;
    if config.lfu_policy.load(Relaxed) {
        crate::keyspace::lfu::touch(
            e,
            now_s,
            config.lfu_log_factor.load(Relaxed),
            config.lfu_decay_time.load(Relaxed),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Three keys on three shards, in ascending shard order.
    fn keys_on_three_shards(srv: &Server) -> [Bytes; 3] {
        let mut keys: Vec<Bytes> = Vec::new();
        for i in 0.. {
            let k = Bytes::from(format!("k{i}"));
            if keys
                .iter()
                .all(|o| srv.keyspace.shard_of(o) != srv.keyspace.shard_of(&k))
            {
                keys.push(k);
            }
            if keys.len() == 3 {
                break;
            }
        }
        keys.sort_by_key(|k| srv.keyspace.shard_of(k));
        [keys[0].clone(), keys[1].clone(), keys[2].clone()]
    }

    #[test]
    fn an_undeclared_key_is_locked_when_safe_and_refused_when_not() {
        let srv = Server::new(crate::config::Config::new(), None);
        let [low, mid, high] = keys_on_three_shards(&srv);
        let shard = |k: &Bytes| srv.keyspace.shard_of(k);
        let handle = Arc::new(crate::client::ClientHandle::new(
            1,
            String::new(),
            String::new(),
        ));
        let mut client = Client::new(handle);
        // Declared: low and mid. High is above both: locked, in order.
        let locks = srv.keyspace.lock(vec![shard(&low), shard(&mid)]);
        let mut ctx = Ctx::new(&srv, &mut client, locks, 0);
        ctx.set_value(&high, Value::Str(Bytes::from_static(b"v")), false);
        assert!(!ctx.undeclared_key);
        assert!(ctx.locks.holds(shard(&high)));
        drop(ctx);
        // Declared: mid and high; low is below them and held elsewhere:
        // waiting for it could deadlock, so the command gets an error and
        // its write lands nowhere.
        let elsewhere = srv.keyspace.lock_one(shard(&low));
        let locks = srv.keyspace.lock(vec![shard(&mid), shard(&high)]);
        let mut ctx = Ctx::new(&srv, &mut client, locks, 0);
        ctx.set_value(&low, Value::Str(Bytes::from_static(b"lost")), false);
        assert!(ctx.undeclared_key);
        assert!(!ctx.locks.holds(shard(&low)));
        drop(ctx);
        drop(elsewhere);
        let mut locks = srv.keyspace.lock_one(shard(&low));
        assert!(locks.shard(shard(&low)).dbs[0].get(&low).is_none());
        // Free, even below: taken without waiting.
        drop(locks);
        let locks = srv.keyspace.lock(vec![shard(&mid), shard(&high)]);
        let mut ctx = Ctx::new(&srv, &mut client, locks, 0);
        ctx.set_value(&low, Value::Str(Bytes::from_static(b"kept")), false);
        assert!(!ctx.undeclared_key);
        // A caller that cannot vouch for its keys is checked with one lock too.
        drop(ctx);
        let locks = srv.keyspace.lock_one(shard(&mid));
        let elsewhere = srv.keyspace.lock_one(shard(&low));
        let mut ctx = Ctx::new(&srv, &mut client, locks, 0);
        ctx.keys_declared = false;
        assert!(ctx.lookup(&low).is_none());
        assert!(ctx.undeclared_key);
        drop(ctx);
        drop(elsewhere);
    }
}
