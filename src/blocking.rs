//! Blocked clients (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, XREAD, XREADGROUP).
//!
//! A blocking handler that finds nothing to serve sets `ctx.block`; the client
//! is then queued FIFO on each of its keys here. A write that makes a key ready
//! records it in `ctx.ready_keys`; after that command (or the whole EXEC), the
//! dispatcher calls `serve_ready`, which re-runs each waiter's command, oldest
//! first, with the ready key first among its keys, while holding the shards it
//! needs, until the key runs dry. A waiter queued on several keys is served exactly once: the
//! `claimed` flag is taken by whoever (server, timeout, CLIENT UNBLOCK) gets there first.
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
use crate::keyspace::{Locked, Value};
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

#[derive(Default)]
pub struct Blocking {
    queues: Mutex<HashMap<DbKey, VecDeque<Arc<Waiter>>>>,
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

    /// Removes a waiter from every key queue it sits in.
    pub fn remove(&self, w: &Arc<Waiter>) {
        let mut q = self.queues.lock();
        for key in &w.keys {
            let k = (w.db, key.clone());
            if let Some(list) = q.get_mut(&k) {
                list.retain(|o| !Arc::ptr_eq(o, w));
                if list.is_empty() {
                    q.remove(&k);
                }
            }
        }
    }

    /// Every key someone waits on, in `db` or in all databases (FLUSHDB,
    /// FLUSHALL and SWAPDB re-check their waiters).
    pub fn waited_keys(&self, db: Option<usize>) -> Vec<(usize, Bytes)> {
        self.queues
            .lock()
            .keys()
            .filter(|(d, _)| db.is_none_or(|x| x == *d))
            .cloned()
            .collect()
    }

    /// Blocked clients waiting on `(db, key)`, oldest first.
    fn waiters(&self, db: usize, key: &Bytes) -> Vec<Arc<Waiter>> {
        self.queues
            .lock()
            .get(&(db, key.clone()))
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Queues the client on its keys. Called by the dispatcher while the
/// command still holds the shards of those keys, so no push can slip between
/// "found nothing" and "queued" (no lost wake-up).
pub fn register(
    srv: &Server,
    client: &Client,
    req: BlockRequest,
    cmd: Resolved,
    args: Vec<Bytes>,
) -> Arc<Waiter> {
    let args = req.args.unwrap_or(args);
    let mut keys = req.keys;
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    let w = Arc::new(Waiter {
        client: client.handle.clone(),
        db: client.db,
        resp: client.resp,
        args,
        cmd,
        keys,
        wants: req.wants,
        deadline_ms: req.deadline_ms,
        claimed: AtomicBool::new(false),
        reply: Mutex::new(None),
        timeout_reply: req.timeout_reply,
    });
    {
        let mut q = srv.blocking.queues.lock();
        for key in &w.keys {
            q.entry((w.db, key.clone()))
                .or_default()
                .push_back(w.clone());
        }
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
pub fn unblock(srv: &Server, client: &ClientHandle, with_error: bool) -> bool {
    let Some(w) = client.waiter.lock().clone() else {
        return false;
    };
    if !w.claim() {
        return false;
    }
    unregister(srv, &w);
    *w.reply.lock() = Some(if with_error {
        Reply::Error("UNBLOCKED client unblocked via CLIENT UNBLOCK".into())
    } else {
        w.timeout_reply.clone()
    });
    client.wake.notify_one();
    true
}

/// Serves waiters on keys a command made ready, oldest waiter first, until
/// each key runs dry. Serving can ready more keys (BLMOVE pushes), which are
/// served in turn. Runs after the command released its own locks; takes the
/// shards of the ready key and of every key the waiters' commands touch.
pub fn serve_ready(srv: &Server, ready: Vec<(usize, Bytes)>, events: &mut Vec<KeyEvent>) {
    let mut queue: VecDeque<(usize, Bytes)> = VecDeque::new();
    for k in ready {
        if !queue.contains(&k) {
            queue.push_back(k);
        }
    }
    while let Some((db, key)) = queue.pop_front() {
        let waiters = srv.blocking.waiters(db, &key);
        if waiters.is_empty() {
            continue;
        }
        let mut shards = vec![srv.keyspace.shard_of(&key)];
        for w in &waiters {
            for pos in w.cmd.spec.key_positions(&w.args) {
                shards.push(srv.keyspace.shard_of(&w.args[pos]));
            }
        }
        let mut locks = srv.keyspace.lock(shards);
        let shard = srv.keyspace.shard_of(&key);
        for w in waiters {
            if w.claimed.load(Ordering::Acquire) {
                continue;
            }
            let now = crate::server::unix_ms();
            let live = match locks.shard(shard).dbs[db].get(&key) {
                Some(e) if e.expire_at == 0 || e.expire_at > now => Some(&e.value),
                _ => None,
            };
            // Stream waiters each wait for their own ID (or group): each is
            // checked, none stops the others (blocked.c serveClientsBlockedOnStreamKey).
            let serving_args = if w.wants == "stream" {
                match crate::family::stream::serving(live, &w.args, &key, w.resp) {
                    crate::family::stream::Serving::NotReady => continue,
                    crate::family::stream::Serving::Run(handler, args) => (handler, args),
                    crate::family::stream::Serving::Reply(reply) => {
                        if w.claim() {
                            if let Reply::Error(e) = &reply {
                                // A failed blocked command counts as failed (Redis's updateStatsOnUnblock).
                                srv.stats.fail(w.cmd.stat, e);
                            }
                            srv.blocking.remove(&w);
                            release(srv, &w);
                            *w.reply.lock() = Some(reply);
                            w.client.wake.notify_one();
                        }
                        continue;
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
                    break;
                }
                if holds != w.wants {
                    continue;
                }
                (w.cmd.spec.handler, args_serving(&w, &key))
            };
            if !w.claim() {
                continue;
            }
            let mut as_client = Client::new(w.client.clone());
            as_client.db = w.db;
            as_client.resp = w.resp;
            as_client.in_exec = true;
            let mut ctx = Ctx::new(srv, &mut as_client, locks, now);
            // Not through `command::call`: the command was counted and shown to
            // MONITOR when it blocked; serving it is not another call (as Redis).
            let (handler, args) = serving_args;
            let reply = match handler(&mut ctx, &args) {
                Ok(r) => r,
                Err(e) => Reply::Error(e.to_string()),
            };
            if let Reply::Error(e) = &reply {
                srv.stats.fail(w.cmd.stat, e);
            }
            if srv.repl.active() && ctx.dirty > 0 {
                // The served command's effect (BLPOP → LPOP…), before the locks go.
                crate::repl::propagate::record(&mut ctx, w.cmd.spec.name, &args, &reply, true);
                srv.repl.feed(&std::mem::take(&mut ctx.prop));
            }
            events.append(&mut ctx.events);
            for k in ctx.ready_keys.drain(..) {
                if !queue.contains(&k) {
                    queue.push_back(k);
                }
            }
            locks = std::mem::replace(&mut ctx.locks, Locked::none());
            drop(ctx);
            srv.blocking.remove(&w);
            // Unblocked now, as Redis: the next command of the client that
            // readied the key already sees it gone from the counts.
            release(srv, &w);
            *w.reply.lock() = Some(reply);
            w.client.wake.notify_one();
        }
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
pub fn abandon(srv: &Server, w: &Arc<Waiter>) {
    if w.claim() {
        unregister(srv, w);
    }
}

/// Finishes a waiter that will not be served (timeout, CLIENT UNBLOCK, disconnect).
pub fn unregister(srv: &Server, w: &Arc<Waiter>) {
    srv.blocking.remove(w);
    release(srv, w);
}
