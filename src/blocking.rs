//! Blocked clients (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
//! BZPOPMAX, BZMPOP, XREAD, XREADGROUP).
//!
//! A blocking handler that finds nothing to serve sets `ctx.block`; the client
//! is then queued FIFO on each of its keys, in the queue the key's shard keeps
//! (`Shard::waiters`), while the command still holds that shard. A write that
//! makes a key ready records it in `ctx.ready_keys`; before that command (or
//! the whole EXEC) releases its shards, the dispatcher calls `serve_ready`,
//! which re-runs each waiter's command, oldest first, with the ready key first
//! among its keys, until the key runs dry. No other command can run on the key
//! in between: Redis's rule that a key made ready serves its blocked clients
//! before anything else. The shards a waiter's command needs beyond the ready
//! key's (a BLMOVE destination elsewhere) were locked with the writer's from
//! the start (`shards_to_serve`, called by the dispatcher while locking). A
//! waiter queued on several keys is served exactly once: the `claimed` flag is
//! taken by whoever (server, timeout, CLIENT UNBLOCK) gets there first.
//!
//! Stream waiters differ (blocked.c serveClientsBlockedOnStreamKey): each
//! waits for entries after its own ID, so every waiter on a ready key is
//! checked and none stops the others; `family::stream::serving` decides per
//! waiter (keep waiting, run a one-key XREADGROUP, or answer now — XREAD's
//! entries, or the error for a deleted stream or destroyed group). Deleting or
//! overwriting a key, FLUSHDB/FLUSHALL, SWAPDB and expiry signal the key too,
//! so blocked XREADGROUP clients learn their stream is gone.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::client::{Client, ClientHandle};
use crate::command::{Ctx, Resolved};
use crate::keyspace::{Locked, Shard, Value};
use crate::notify::KeyEvent;
use crate::reply::Reply;
use crate::server::Server;

/// What a blocking handler asks for when it has nothing to serve now.
pub struct BlockRequest {
    pub keys: Vec<Bytes>,
    /// Absolute deadline in unix ms; `None` blocks forever.
    pub deadline_ms: Option<u64>,
    /// The value type that readies the keys ("list" or "stream").
    pub wants: &'static str,
    /// What the client gets on timeout (nil array or nil bulk, by command).
    pub timeout_reply: Reply,
    /// The command to keep for serving, when it differs from the one sent
    /// (XREAD's `$` resolved to the stream's last ID at block time).
    pub args: Option<Vec<Bytes>>,
}

/// One blocked client.
pub struct Waiter {
    pub client: Arc<ClientHandle>,
    pub db: usize,
    pub resp: u8,
    pub args: Vec<Bytes>,
    pub cmd: Resolved,
    pub keys: Vec<Bytes>,
    /// What it writes besides `keys` (`destinations`).
    dests: Vec<Bytes>,
    pub wants: &'static str,
    pub deadline_ms: Option<u64>,
    pub claimed: AtomicBool,
    pub reply: Mutex<Option<Reply>>,
    /// What the client gets on timeout or CLIENT UNBLOCK … TIMEOUT.
    pub timeout_reply: Reply,
}

impl Waiter {
    /// Takes the waiter for whoever calls first; false if already taken.
    pub fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }
}

/// (database index, key).
type DbKey = (usize, Bytes);

/// A shard's blocked clients, FIFO per key.
pub type Queues = HashMap<DbKey, VecDeque<Arc<Waiter>>>;

/// Counts for INFO; the queues themselves live in the shards.
#[derive(Default)]
pub struct Blocking {
    pub blocked: AtomicUsize,
    /// Blocked clients with a deadline (INFO `clients_in_timeout_table`).
    pub timed: AtomicUsize,
}

impl Blocking {
    pub fn blocked_clients(&self) -> usize {
        self.blocked.load(Ordering::Relaxed)
    }

    pub fn clients_in_timeout_table(&self) -> usize {
        self.timed.load(Ordering::Relaxed)
    }
}

impl Waiter {
    /// The keys its command writes besides the ones it waits on (BLMOVE's
    /// destination): serving it needs their shards too.
    fn destinations(&self) -> impl Iterator<Item = &Bytes> {
        self.dests.iter()
    }
}

/// The keys a blocked command writes besides those it waits on, worked out
/// once when it blocks (checked on every push to its keys).
fn destinations_of(cmd: &Resolved, args: &[Bytes], waits_on: &[Bytes]) -> Vec<Bytes> {
    cmd.spec
        .key_positions(args)
        .into_iter()
        .map(|p| args[p].clone())
        .filter(|k| !waits_on.contains(k))
        .collect()
}

/// Removes a waiter from the queues of the locked shards; false if it is
/// also queued in shards not held (`remove_everywhere` finishes the job).
fn remove_from(srv: &Server, locks: &mut Locked, w: &Arc<Waiter>) -> bool {
    let mut everywhere = true;
    for key in &w.keys {
        let Some(shard) = locks.try_shard(srv.keyspace.shard_of(key)) else {
            everywhere = false;
            continue;
        };
        let k = (w.db, key.clone());
        if let Some(list) = shard.waiters.get_mut(&k) {
            list.retain(|o| !Arc::ptr_eq(o, w));
            if list.is_empty() {
                shard.waiters.remove(&k);
            }
        }
    }
    everywhere
}

/// Removes a waiter from the queues of all its keys, locking their shards
/// (the caller holds none).
fn remove_everywhere(srv: &Server, w: &Arc<Waiter>) {
    let shards = w.keys.iter().map(|k| srv.keyspace.shard_of(k)).collect();
    remove_from(srv, &mut srv.keyspace.lock(shards), w);
}

/// Every key someone waits on, in `db` or in all databases, among the locked
/// shards (FLUSHDB, FLUSHALL and SWAPDB hold them all and re-check these).
pub fn waited_keys(locks: &mut Locked, db: Option<usize>) -> Vec<(usize, Bytes)> {
    locks
        .iter_mut()
        .flat_map(|s| s.waiters.keys().cloned().collect::<Vec<_>>())
        .filter(|(d, _)| db.is_none_or(|x| x == *d))
        .collect()
}

/// Shards (not yet locked) that serving the waiters of `keys` would need: the
/// dispatcher adds them and locks again before the command runs, so that the
/// clients a write unblocks are served under the locks it already holds.
/// Follows chains (a BLMOVE that pushes onto a key another client waits on).
/// Nothing is read but the locked shards' queues: empty queues cost nothing.
pub fn shards_to_serve(srv: &Server, locks: &mut Locked, db: usize, keys: &[&Bytes]) -> Vec<usize> {
    let mut missing = Vec::new();
    let mut todo: Vec<Bytes> = Vec::new();
    for key in keys {
        let idx = srv.keyspace.shard_of(key);
        if locks.try_shard(idx).is_some_and(|s| !s.waiters.is_empty()) {
            todo.push((*key).clone());
        }
    }
    let mut seen: Vec<Bytes> = Vec::new();
    while let Some(key) = todo.pop() {
        if seen.contains(&key) {
            continue;
        }
        seen.push(key.clone());
        let idx = srv.keyspace.shard_of(&key);
        let Some(shard) = locks.try_shard(idx) else {
            missing.push(idx);
            continue;
        };
        let Some(queue) = shard.waiters.get(&(db, key)) else {
            continue;
        };
        for w in queue {
            todo.extend(w.destinations().cloned());
        }
    }
    missing.sort_unstable();
    missing.dedup();
    missing
}

/// Queues the client on its keys. Called by the dispatcher while the
/// command still holds the shards of those keys, so no push can slip between
/// "found nothing" and "queued" (no lost wake-up).
pub fn register(
    srv: &Server,
    locks: &mut Locked,
    client: &Client,
    req: BlockRequest,
    cmd: Resolved,
    args: Vec<Bytes>,
) -> Arc<Waiter> {
    let args = req.args.unwrap_or(args);
    let mut keys = req.keys;
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    let dests = destinations_of(&cmd, &args, &keys);
    let w = Arc::new(Waiter {
        client: client.handle.clone(),
        db: client.db,
        resp: client.resp,
        args,
        cmd,
        keys,
        dests,
        wants: req.wants,
        deadline_ms: req.deadline_ms,
        claimed: AtomicBool::new(false),
        reply: Mutex::new(None),
        timeout_reply: req.timeout_reply,
    });
    for key in &w.keys {
        locks
            .shard(srv.keyspace.shard_of(key))
            .waiters
            .entry((w.db, key.clone()))
            .or_default()
            .push_back(w.clone());
    }
    srv.blocking.blocked.fetch_add(1, Ordering::Relaxed);
    if w.deadline_ms.is_some() {
        srv.blocking.timed.fetch_add(1, Ordering::Relaxed);
    }
    client.handle.info.lock().blocked = true;
    *client.handle.waiter.lock() = Some(w.clone());
    w
}

/// CLIENT UNBLOCK: ends the client's current block with the timeout reply or
/// the UNBLOCKED error, if nobody (server, timeout) took the waiter first.
/// Acting on the waiter itself leaves nothing behind to disturb a later block.
/// `locks` are the caller's: none, or every shard (inside EXEC).
pub fn unblock(srv: &Server, locks: &mut Locked, client: &ClientHandle, with_error: bool) -> bool {
    let Some(w) = client.waiter.lock().clone() else {
        return false;
    };
    if !w.claim() {
        return false;
    }
    if !locks.holds_all() {
        remove_everywhere(srv, &w);
    } else {
        remove_from(srv, locks, &w);
    }
    release(srv, &w);
    *w.reply.lock() = Some(if with_error {
        // The blocked command fails with it: counted as its failed call and
        // in errorstats, as Redis's unblock with an error.
        let text = crate::error::msg::UNBLOCKED_CLIENT_UNBLOCKED_VIA_CLIENT_UNBLOCK;
        srv.stats.fail(w.cmd.stat, text);
        Reply::Error(text.into())
    } else {
        w.timeout_reply.clone()
    });
    client.wake.notify_one();
    true
}

/// What `serve_ready` leaves for `serve_ready_unlocked`, once the caller's
/// locks are gone.
#[derive(Default)]
pub struct Leftover {
    /// Ready keys it could not serve in place: the key, or a waiter's
    /// destination, is in a shard not held.
    keys: Vec<(usize, Bytes)>,
    /// Served waiters still queued on keys of shards not held (claimed: no
    /// one serves them there; they only need taking off).
    removals: Vec<Arc<Waiter>>,
}

impl Leftover {
    /// Keys made ready by a caller that holds no shard (active expiry).
    pub fn ready_keys(keys: Vec<(usize, Bytes)>) -> Leftover {
        Leftover {
            keys,
            removals: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.removals.is_empty()
    }
}

/// Serves waiters on keys a command made ready, oldest waiter first, until
/// each key runs dry, under the locks the command holds (`locks`, put back as
/// they were). Serving can ready more keys (BLMOVE pushes), which are served
/// in turn. The dispatcher locked every shard the waiters needed when the
/// command started (`shards_to_serve`), so the leftover is empty but for
/// waiters queued on several shards, and for callers that hold less (expiry).
pub fn serve_ready<'a>(
    srv: &'a Server,
    locks: &mut Locked<'a>,
    ready: Vec<(usize, Bytes)>,
    events: &mut Vec<KeyEvent>,
) -> Leftover {
    let mut pass = Pass {
        events,
        queue: VecDeque::new(),
        left: Leftover::default(),
    };
    for k in ready {
        pass.enqueue(k);
    }
    while let Some((db, key)) = pass.queue.pop_front() {
        let Some(shard) = locks.try_shard(srv.keyspace.shard_of(&key)) else {
            pass.left.keys.push((db, key));
            continue;
        };
        for w in queued(shard, db, &key) {
            if w.claimed.load(Ordering::Acquire) {
                continue;
            }
            if w.destinations()
                .any(|d| !locks.holds(srv.keyspace.shard_of(d)))
            {
                pass.left.keys.push((db, key.clone()));
                break;
            }
            match serve_one(srv, locks, &w, &key, &mut pass) {
                Served::Next => continue,
                Served::KeyDry => break,
            }
        }
    }
    pass.left.keys.dedup();
    pass.left
}

/// One round of serving: the keys still to serve, what is left for later.
struct Pass<'e> {
    events: &'e mut Vec<KeyEvent>,
    queue: VecDeque<(usize, Bytes)>,
    left: Leftover,
}

impl Pass<'_> {
    fn enqueue(&mut self, key: (usize, Bytes)) {
        if !self.queue.contains(&key) {
            self.queue.push_back(key);
        }
    }
}

/// The waiters queued on `(db, key)` in `shard`, oldest first.
fn queued(shard: &Shard, db: usize, key: &Bytes) -> Vec<Arc<Waiter>> {
    shard
        .waiters
        .get(&(db, key.clone()))
        .map(|q| q.iter().cloned().collect())
        .unwrap_or_default()
}

enum Served {
    /// Go on with the next waiter on the key.
    Next,
    /// The key has nothing left: the rest keep waiting.
    KeyDry,
}

/// Serves one waiter on a ready key, if the key has what it waits for.
fn serve_one<'a>(
    srv: &'a Server,
    locks: &mut Locked<'a>,
    w: &Arc<Waiter>,
    key: &Bytes,
    pass: &mut Pass,
) -> Served {
    let db = w.db;
    let shard = srv.keyspace.shard_of(key);
    let now = crate::server::unix_ms();
    let live = match locks.shard(shard).dbs[db].get(key) {
        Some(e) if e.expire_at == 0 || e.expire_at > now => Some(&e.value),
        _ => None,
    };
    // Stream waiters each wait for their own ID (or group): each is
    // checked, none stops the others (blocked.c serveClientsBlockedOnStreamKey).
    let (handler, args) = if w.wants == "stream" {
        match crate::family::stream::serving(live, &w.args, key, w.resp) {
            crate::family::stream::Serving::NotReady => return Served::Next,
            crate::family::stream::Serving::Run(handler, args) => (handler, args),
            crate::family::stream::Serving::Reply(reply) => {
                if w.claim() {
                    if let Reply::Error(e) = &reply {
                        // A failed blocked command counts as failed (Redis's updateStatsOnUnblock).
                        srv.stats.fail(w.cmd.stat, e);
                    }
                    finish(srv, locks, w, reply, &mut pass.left);
                }
                return Served::Next;
            }
        }
    } else {
        // (type the key holds, has elements); waiters of another type
        // are passed over, as Redis does: a key can have BLPOP and
        // BZPOPMIN waiters at once.
        let (holds, ready) = match live {
            Some(Value::List(l)) => ("list", !l.is_empty()),
            Some(Value::Zset(z)) => ("zset", !z.is_empty()),
            _ => ("", false),
        };
        if !ready {
            return Served::KeyDry;
        }
        if holds != w.wants {
            return Served::Next;
        }
        (w.cmd.spec.handler, args_serving(w, key))
    };
    if !w.claim() {
        return Served::Next;
    }
    let mut as_client = Client::new(w.client.clone());
    as_client.db = w.db;
    as_client.resp = w.resp;
    as_client.in_exec = true;
    let held = std::mem::replace(locks, Locked::none());
    let mut ctx = Ctx::new(srv, &mut as_client, held, now);
    // Not through `command::call`: the command was counted and shown to
    // MONITOR when it blocked; serving it is not another call (as Redis).
    let start = crate::clock::ticks();
    let reply = match handler(&mut ctx, &args) {
        Ok(r) => r,
        Err(e) => Reply::Error(e.to_string()),
    };
    // The slow log gets it now, as the command it was (BLPOP, not LPOP),
    // as Redis logs a blocked command when it is served.
    let micros = crate::clock::ticks_to_usec(crate::clock::ticks().saturating_sub(start));
    crate::command::exec::slow_log(&ctx, w.cmd, &w.args, micros);
    if srv.repl.active() && ctx.dirty > 0 {
        // The served command's effect (BLPOP → LPOP…), before the locks go.
        crate::repl::propagate::record(&mut ctx, w.cmd.spec.name, &args, &reply, true);
        srv.repl.feed(&std::mem::take(&mut ctx.prop));
    }
    if let Reply::Error(e) = &reply {
        srv.stats.fail(w.cmd.stat, e);
    }
    pass.events.append(&mut ctx.events);
    for k in ctx.ready_keys.drain(..) {
        pass.enqueue(k);
    }
    *locks = std::mem::replace(&mut ctx.locks, Locked::none());
    drop(ctx);
    finish(srv, locks, w, reply, &mut pass.left);
    Served::Next
}

/// Hands a claimed waiter its reply and takes it off every queue. Unblocked
/// now, as Redis: the next command of the client that readied the key
/// already sees it gone from the counts.
fn finish(srv: &Server, locks: &mut Locked, w: &Arc<Waiter>, reply: Reply, left: &mut Leftover) {
    if !remove_from(srv, locks, w) {
        left.removals.push(w.clone());
    }
    release(srv, w);
    *w.reply.lock() = Some(reply);
    w.client.wake.notify_one();
}

/// After the caller's locks are released: takes served waiters off the
/// queues of shards it did not hold, and serves what `serve_ready` could not
/// serve in place. Locks what it needs itself; the caller holds no shard.
pub fn serve_ready_unlocked(srv: &Server, mut left: Leftover, events: &mut Vec<KeyEvent>) {
    loop {
        for w in std::mem::take(&mut left.removals) {
            remove_everywhere(srv, &w);
        }
        if left.keys.is_empty() {
            return;
        }
        let mut shards: Vec<usize> = Vec::new();
        for (db, key) in &left.keys {
            let idx = srv.keyspace.shard_of(key);
            shards.push(idx);
            // Their waiters' destinations, as they stand now.
            for w in queued(srv.keyspace.lock_one(idx).shard(idx), *db, key) {
                shards.extend(w.destinations().map(|d| srv.keyspace.shard_of(d)));
            }
        }
        let mut locks = srv.keyspace.lock(shards);
        left = serve_ready(srv, &mut locks, std::mem::take(&mut left.keys), events);
    }
}

/// The waiter's command with the ready key swapped to the front of its keys,
/// so that running it again pops from that key: Redis serves a waiter from the
/// key that became ready, whatever that key's place in the command.
fn args_serving(w: &Waiter, key: &Bytes) -> Vec<Bytes> {
    let mut args = w.args.clone();
    let positions = w.cmd.spec.key_positions(&args);
    if let (Some(&first), Some(&at)) = (
        positions.first(),
        positions.iter().find(|&&p| args[p] == *key),
    ) {
        args.swap(first, at);
    }
    args
}

/// Drops a waiter from the counts; done once, by whoever claimed it.
fn release(srv: &Server, w: &Waiter) {
    srv.blocking.blocked.fetch_sub(1, Ordering::Relaxed);
    if w.deadline_ms.is_some() {
        srv.blocking.timed.fetch_sub(1, Ordering::Relaxed);
    }
    w.client.info.lock().blocked = false;
}

/// The client leaves while blocked: no trace stays, whether or not the server
/// had already served it (its reply is then dropped with the connection).
/// The caller holds no shard.
pub fn abandon(srv: &Server, w: &Arc<Waiter>) {
    if w.claim() {
        unregister(srv, w);
    }
}

/// Finishes a waiter that will not be served (timeout, CLIENT UNBLOCK,
/// disconnect): off the queues of its keys' shards (locked here: the caller
/// holds none), out of the counts.
pub fn unregister(srv: &Server, w: &Arc<Waiter>) {
    remove_everywhere(srv, w);
    release(srv, w);
}
