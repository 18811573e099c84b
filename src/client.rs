//! Client state: what the connection task owns (`Client`) and what other tasks
//! may read or poke (`ClientHandle`: CLIENT LIST/KILL, pub/sub delivery, wake-ups).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::keyspace::WatchState;

/// Per-connection state, owned by the connection task and lent to handlers via `Ctx`.
pub struct Client {
    pub handle: Arc<ClientHandle>,
    /// Selected database.
    pub db: usize,
    /// 2 or 3, changed only by HELLO.
    pub resp: u8,
    pub authenticated: bool,
    /// The ACL user; `None` for internal clients (the AOF loader, the
    /// master link), which may run anything.
    pub user: Option<Arc<crate::acl::User>>,
    /// The user's rules as of ACL generation `acl_gen`, and whether they
    /// allow everything (`Client::acl_rules`).
    acl_rules: Option<Arc<crate::acl::Rules>>,
    acl_gen: u64,
    acl_unrestricted: bool,
    /// Commands queued since MULTI; `None` outside a transaction.
    pub multi: Option<MultiState>,
    /// Set while EXEC runs queued commands: blocking commands do not block.
    pub in_exec: bool,
    /// WATCH state for the next EXEC: dirty once any watched key is modified.
    pub watch: Option<Arc<WatchState>>,
    pub watched_keys: Vec<WatchedKey>,
    /// CLIENT REPLY ON|OFF|SKIP.
    pub reply_mode: ReplyMode,
    /// Close the connection once the current reply is written (QUIT, protocol error).
    pub close_after_reply: bool,
    /// Channel, pattern and shard-channel subscriptions of this client.
    pub subs: Subscriptions,
    /// CLIENT NO-TOUCH (NO-EVICT is on the handle: the evicting task reads it).
    pub no_touch: bool,
    /// Bytes of the running command plus what is buffered after it (CLIENT LIST qbuf).
    pub query_len: usize,
    /// In MONITOR mode (until RESET or disconnect).
    pub monitor: bool,
    /// DEBUG LOADAOF ran: the AOF is replayed once its locks are released.
    pub debug_loadaof: bool,
    /// The AOF loader: as Redis while loading, keys are never expired under
    /// it and a TTL in the past is set, not applied (the file's later commands
    /// were recorded against the key as it was).
    pub loading: bool,
    /// Replication role of this connection (master link, replica handshake, WAIT).
    pub repl: crate::repl::ClientRepl,
    /// CLIENT TRACKING is on, in this mode (the handle has the whole state).
    pub tracking: Option<crate::tracking::Flags>,
    /// CLIENT CACHING yes/no applies to the next command or transaction.
    pub caching: bool,
    /// CLIENT PAUSE held the command being dispatched (`command::pipeline`).
    pub postponed: bool,
    /// SHUTDOWN waits for lagging replicas: the reply is its outcome.
    pub awaiting_shutdown: bool,
}

pub struct WatchedKey {
    pub db: usize,
    pub key: Bytes,
    pub expired_at_watch: bool,
}

pub struct MultiState {
    pub queued: Vec<Vec<Bytes>>,
    /// A command failed to queue (unknown, wrong arity): EXEC answers EXECABORT.
    pub aborted: bool,
    /// A queued command may grow memory (EXEC is refused past `maxmemory`).
    pub may_grow: bool,
    /// A queued command may write (EXEC is refused on a read-only replica).
    pub may_write: bool,
    /// A queued command writes or may replicate (PUBLISH…): CLIENT PAUSE WRITE holds EXEC.
    pub may_replicate: bool,
    /// Bytes of the queued arguments plus a pointer per argument (Redis's
    /// `mstate.argv_len_sums`: CLIENT LIST multi-mem, client eviction).
    pub queued_bytes: usize,
}

impl MultiState {
    pub fn new() -> MultiState {
        MultiState {
            queued: Vec::new(),
            aborted: false,
            may_grow: false,
            may_write: false,
            may_replicate: false,
            queued_bytes: 0,
        }
    }

    pub fn queue(&mut self, args: &[Bytes]) {
        self.queued_bytes += crate::client_eviction::argv_mem(args);
        self.queued.push(args.to_vec());
    }
}

impl Default for MultiState {
    fn default() -> Self {
        MultiState::new()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    Skipping,
}

#[derive(Default)]
pub struct Subscriptions {
    pub channels: std::collections::HashSet<Bytes>,
    pub patterns: std::collections::HashSet<Bytes>,
    pub shard_channels: std::collections::HashSet<Bytes>,
}

impl Subscriptions {
    pub fn total(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }
}

impl Client {
    pub fn new(handle: Arc<ClientHandle>) -> Client {
        Client {
            handle,
            db: 0,
            resp: 2,
            authenticated: true,
            user: None,
            acl_rules: None,
            acl_gen: 0,
            acl_unrestricted: true,
            multi: None,
            in_exec: false,
            watch: None,
            watched_keys: Vec::new(),
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            subs: Subscriptions::default(),
            no_touch: false,
            query_len: 0,
            monitor: false,
            debug_loadaof: false,
            loading: false,
            repl: Default::default(),
            tracking: None,
            caching: false,
            postponed: false,
            awaiting_shutdown: false,
        }
    }

    pub fn id(&self) -> u64 {
        self.handle.id
    }

    /// Authenticates as `user` (AUTH, HELLO AUTH, a new connection).
    pub fn set_user(&mut self, user: Arc<crate::acl::User>) {
        self.handle.info.lock().user = Some(user.clone());
        self.user = Some(user);
        self.acl_rules = None;
        self.acl_gen = 0;
    }

    /// The rules to check this client's commands against: `None` when
    /// everything is allowed (an internal client, or a user with every
    /// permission). Re-read from the user only when ACLs changed.
    #[inline]
    pub fn acl_rules(&mut self, acl: &crate::acl::Acl) -> Option<&Arc<crate::acl::Rules>> {
        let user = self.user.as_ref()?;
        let generation = acl.generation();
        if generation != self.acl_gen || self.acl_rules.is_none() {
            let rules = user.rules();
            self.acl_unrestricted = rules.unrestricted();
            self.acl_rules = Some(rules);
            self.acl_gen = generation;
        }
        if self.acl_unrestricted {
            None
        } else {
            self.acl_rules.as_ref()
        }
    }

    /// RESP2 clients with subscriptions may only run the pub/sub commands.
    pub fn in_resp2_pubsub(&self) -> bool {
        self.resp == 2 && self.subs.total() > 0
    }

    pub fn unwatch(&mut self) {
        self.watch = None;
        self.watched_keys.clear();
    }
}

/// The part of a client other tasks see.
pub struct ClientHandle {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    /// Connected from 127.0.0.1 or ::1, or an internal client (AOF loading,
    /// a replica's link to its master): Redis's `islocalClient`, which
    /// protected mode and the `local` setting of enable-* options trust.
    pub is_local: bool,
    /// Connected over the unix socket (CLIENT LIST flag `U`).
    pub unix: bool,
    pub created: Instant,
    pub info: Mutex<ClientInfo>,
    /// Milliseconds since server start of the last command (CLIENT LIST idle).
    pub last_active_ms: AtomicU64,
    /// Statistics index of the last command (CLIENT LIST `cmd=`).
    pub last_cmd: AtomicUsize,
    pub resp: AtomicU8,
    pub db: AtomicUsize,
    /// Frames waiting to be written (pub/sub messages, keyspace events).
    pub outbox: Mutex<Outbox>,
    /// Woken when the outbox gains frames or the client is killed/unblocked.
    pub wake: Notify,
    pub killed: AtomicBool,
    /// Notified only by `kill`: interrupts a write stuck on a client that
    /// does not read (its output is past the limit, it must go now).
    pub kill_wake: Notify,
    /// The waiter of the command this client is blocked in (CLIENT UNBLOCK).
    pub waiter: Mutex<Option<Arc<crate::blocking::Waiter>>>,
    /// CLIENT TRACKING state (`None`: off), read by the connections whose
    /// writes invalidate what this client caches.
    pub tracking: Mutex<Option<crate::tracking::State>>,
    /// CLIENT NO-EVICT: never chosen by client eviction.
    pub no_evict: AtomicBool,
    /// What this client adds to `Clients::mem_total` (CLIENT LIST tot-mem),
    /// as its connection last measured it (`client_eviction`).
    pub mem: AtomicUsize,
    /// Evicted: what it held, counted in `Clients::mem_releasing` until
    /// its connection has dropped its buffers.
    pub mem_evicted: AtomicUsize,
}

#[derive(Default)]
pub struct ClientInfo {
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    pub flags: String,
    pub sub: usize,
    pub psub: usize,
    pub ssub: usize,
    pub multi: i64,
    pub qbuf: usize,
    pub qbuf_free: usize,
    pub obuf: usize,
    /// Arguments of a request still being read, and of queued MULTI
    /// commands (CLIENT LIST argv-mem / multi-mem).
    pub argv_mem: usize,
    pub multi_mem: usize,
    /// Replies not yet written (CLIENT LIST omem).
    pub omem: usize,
    pub blocked: bool,
    /// The ACL user (`None`: an internal client, shown as `(superuser)`).
    pub user: Option<Arc<crate::acl::User>>,
}

#[derive(Default)]
pub struct Outbox {
    pub frames: VecDeque<Bytes>,
    pub bytes: usize,
    /// When the soft output limit was first exceeded (soft limit + seconds rule).
    pub soft_since: Option<Instant>,
}

impl ClientHandle {
    pub fn new(id: u64, addr: String, laddr: String) -> ClientHandle {
        ClientHandle {
            id,
            addr,
            laddr,
            is_local: true,
            unix: false,
            created: Instant::now(),
            info: Mutex::new(ClientInfo {
                multi: -1,
                ..Default::default()
            }),
            last_active_ms: AtomicU64::new(0),
            last_cmd: AtomicUsize::new(usize::MAX),
            resp: AtomicU8::new(2),
            db: AtomicUsize::new(0),
            outbox: Mutex::new(Outbox::default()),
            wake: Notify::new(),
            killed: AtomicBool::new(false),
            kill_wake: Notify::new(),
            waiter: Mutex::new(None),
            tracking: Mutex::new(None),
            no_evict: AtomicBool::new(false),
            mem: AtomicUsize::new(0),
            mem_evicted: AtomicUsize::new(0),
        }
    }

    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.wake.notify_one();
        self.kill_wake.notify_one();
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }
}

/// Every connected client, by id (CLIENT LIST order is by id, as Redis).
#[derive(Default)]
pub struct Clients {
    map: RwLock<BTreeMap<u64, Arc<ClientHandle>>>,
    next_id: AtomicU64,
    /// Sum of every client's `ClientHandle::mem` (Redis's memory of the
    /// normal and pub/sub client types). Signed: the evicting task and the
    /// evicted client's own task may adjust it in either order.
    pub mem_total: AtomicI64,
    /// One eviction scan at a time (`client_eviction::evict`).
    pub evicting: Mutex<()>,
    /// Memory of evicted clients whose tasks have not released it yet:
    /// Redis frees an evicted client at once, so key eviction does not
    /// count it (`keyspace::evict`).
    pub mem_releasing: AtomicI64,
}

impl Clients {
    pub fn new() -> Clients {
        Clients {
            map: RwLock::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            mem_total: AtomicI64::new(0),
            evicting: Mutex::new(()),
            mem_releasing: AtomicI64::new(0),
        }
    }

    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn register(&self, handle: Arc<ClientHandle>) {
        self.map.write().insert(handle.id, handle);
    }

    pub fn unregister(&self, id: u64) {
        self.map.write().remove(&id);
    }

    pub fn count(&self) -> usize {
        self.map.read().len()
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.map.read().get(&id).cloned()
    }

    /// Every client still connected: a killed client is gone for every
    /// purpose (CLIENT LIST, CLIENT KILL) though its task may not have
    /// finished yet, as Redis frees a client in the command that kills it.
    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.map
            .read()
            .values()
            .filter(|c| !c.is_killed())
            .cloned()
            .collect()
    }
}
