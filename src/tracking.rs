//! Client-side caching: CLIENT TRACKING (Redis's tracking.c).
//!
//! In the default mode a tracking client is remembered against every key a
//! read-only command served it; when such a key changes, each client
//! remembered for it gets one invalidation message and is forgotten (reading
//! the key again remembers it again). In BCAST mode a client names key
//! prefixes instead and hears of every change under them, one message per
//! prefix per command. FLUSHDB / FLUSHALL send every tracking client a null
//! ("everything") and empty the table.
//!
//! Messages go where Redis sends them: a RESP3 push on the client's own
//! connection or, with REDIRECT, on another client's (a push if it speaks
//! RESP3, a `__redis__:invalidate` pub/sub message if it is a subscribed
//! RESP2 client). A message for the client whose command caused it waits for
//! that command's reply (Redis's `tracking_pending_keys`), except one caused
//! by eviction before the command ran, which goes first: see [`Own`].
//!
//! Cost when nobody tracks: two relaxed loads per modified key. The table is
//! split in parts by hash slot; a part's lock is a leaf taken under the key's
//! shard lock, so remembering a key (after a read, under the read's shard
//! lock) and invalidating it (under the writer's) are ordered like the
//! commands themselves.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};

use crate::client::ClientHandle;
use crate::reply::{put_bulk, put_int_line};
use crate::server::Server;

const PARTS: usize = 64;
const INVALIDATE_CHANNEL: &[u8] = b"__redis__:invalidate";

/// How a client tracks (CLIENT TRACKING ON and its options).
#[derive(Clone, Debug, Default)]
pub struct Mode {
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// The client that receives this one's messages (0: itself).
    pub redirect: u64,
    /// BCAST prefixes, sorted ("" when none was named).
    pub prefixes: BTreeSet<Bytes>,
}

/// A tracking client's state as other connections see it (on its handle):
/// a write on any connection finds there where the messages go.
#[derive(Clone, Debug)]
pub struct State {
    pub mode: Mode,
    /// The redirect client went away (CLIENT TRACKINGINFO `broken_redirect`).
    pub broken_redirect: bool,
}

/// What the client's own connection keeps to decide what it remembers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flags {
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
}

impl Flags {
    /// Whether a read now remembers its keys (`caching`: CLIENT CACHING was
    /// given for this command or transaction).
    pub fn remembers(&self, caching: bool) -> bool {
        let opted_out = if self.optin {
            !caching
        } else {
            self.optout && caching
        };
        !self.bcast && !opted_out
    }
}

/// key → ids of the clients that may hold it.
type Part = Mutex<HashMap<Bytes, Vec<u64>>>;

#[derive(Default)]
pub struct Tracking {
    /// The table, split by hash slot.
    parts: Box<[Part]>,
    keys: AtomicUsize,
    items: AtomicUsize,
    clients: AtomicUsize,
    /// BCAST prefix → ids of the clients listening to it.
    prefixes: RwLock<BTreeMap<Bytes, BTreeSet<u64>>>,
    prefix_count: AtomicUsize,
}

thread_local! {
    /// The client whose command runs on this thread (0: none): NOLOOP and
    /// the messages that wait for its reply.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    static OWN: RefCell<Own> = const { RefCell::new(Own { frames: Vec::new(), before_reply: 0 }) };
    /// OWN holds frames: the connection's check after each command is one
    /// load of a plain cell.
    static HAS_OWN: Cell<bool> = const { Cell::new(false) };
    /// Keys changed by this thread's command while a BCAST prefix exists,
    /// with the client that changed them (NOLOOP).
    static CHANGED: RefCell<Vec<(Bytes, u64)>> = const { RefCell::new(Vec::new()) };
}

/// Messages for the client whose command is running: the first
/// `before_reply` frames precede its reply (keys evicted before the command
/// ran), the rest follow it.
#[derive(Default)]
pub struct Own {
    pub frames: Vec<Bytes>,
    pub before_reply: usize,
}

/// A command of client `id` starts on this thread.
pub fn enter(id: u64) {
    CURRENT.set(id);
}

/// The running command's own messages, taken by its connection.
pub fn take_own() -> Option<Own> {
    if !HAS_OWN.replace(false) {
        return None;
    }
    OWN.with_borrow_mut(|own| (!own.frames.is_empty()).then(|| std::mem::take(own)))
}

/// What is queued for the running client so far goes before its reply
/// (called once eviction, which runs before the command, is done).
pub fn own_before_reply() {
    OWN.with_borrow_mut(|own| own.before_reply = own.frames.len());
}

/// Queues `frame` for `target`: after the running command's reply if the
/// target is the client running it, on its connection's outbox otherwise.
fn deliver(srv: &Server, target: &Arc<ClientHandle>, frame: Bytes) {
    if target.id == CURRENT.get() {
        OWN.with_borrow_mut(|own| own.frames.push(frame));
        HAS_OWN.set(true);
    } else {
        crate::pubsub::deliver(srv, target, frame);
    }
}

/// An invalidation's value: one key, or an array (BCAST) or null (flush)
/// already in RESP.
enum Payload<'a> {
    Key(&'a [u8]),
    Proto(&'a [u8]),
}

/// Redis's sendTrackingMessage: to `tracker`, or the client it redirects
/// to; a redirect that is gone marks the tracker broken and tells it so
/// (RESP3 only).
fn send(srv: &Server, tracker: &Arc<ClientHandle>, redirect: u64, payload: Payload) {
    let mut target = tracker.clone();
    if redirect != 0 {
        match srv.clients.get(redirect).filter(|c| !c.is_killed()) {
            Some(r) => target = r,
            None => {
                if let Some(s) = tracker.tracking.lock().as_mut() {
                    s.broken_redirect = true;
                }
                if tracker.resp.load(Ordering::Relaxed) >= 3 {
                    let mut f = BytesMut::new();
                    put_int_line(&mut f, b'>', 2);
                    put_bulk(&mut f, b"tracking-redir-broken");
                    put_int_line(&mut f, b':', redirect as i64);
                    deliver(srv, tracker, f.freeze());
                }
                return;
            }
        }
    }
    let mut f = BytesMut::new();
    if target.resp.load(Ordering::Relaxed) >= 3 {
        put_int_line(&mut f, b'>', 2);
        put_bulk(&mut f, b"invalidate");
    } else if redirect != 0 && subscribed(&target) {
        put_int_line(&mut f, b'*', 3);
        put_bulk(&mut f, b"message");
        put_bulk(&mut f, INVALIDATE_CHANNEL);
    } else {
        // RESP2 has no pushes on the client's own connection.
        return;
    }
    match payload {
        Payload::Key(key) => {
            put_int_line(&mut f, b'*', 1);
            put_bulk(&mut f, key);
        }
        Payload::Proto(p) => f.extend_from_slice(p),
    }
    deliver(srv, &target, f.freeze());
}

fn subscribed(c: &ClientHandle) -> bool {
    let info = c.info.lock();
    info.sub + info.psub + info.ssub > 0
}

fn mode_of(c: &ClientHandle) -> Option<Mode> {
    c.tracking.lock().as_ref().map(|s| s.mode.clone())
}

impl Tracking {
    pub fn new() -> Tracking {
        Tracking {
            parts: (0..PARTS).map(|_| Mutex::new(HashMap::new())).collect(),
            ..Default::default()
        }
    }

    fn part(&self, key: &[u8]) -> &Part {
        let slot = crate::keyspace::slot::key_slot(key) as usize;
        &self.parts[slot % PARTS]
    }

    /// CLIENT TRACKING ON (Redis's enableTracking): `mode` replaces the
    /// client's options; prefixes add to those it already has.
    pub fn enable(&self, client: &ClientHandle, mut mode: Mode) {
        let mut state = client.tracking.lock();
        if mode.bcast && mode.prefixes.is_empty() {
            // BCAST without PREFIX: every key (the empty prefix).
            mode.prefixes.insert(Bytes::new());
        }
        match state.as_ref() {
            Some(old) => mode.prefixes.extend(old.mode.prefixes.iter().cloned()),
            None => {
                self.clients.fetch_add(1, Ordering::Relaxed);
            }
        }
        if mode.bcast {
            let mut table = self.prefixes.write();
            for p in &mode.prefixes {
                table.entry(p.clone()).or_default().insert(client.id);
            }
            self.prefix_count.store(table.len(), Ordering::Relaxed);
        }
        *state = Some(State {
            mode,
            broken_redirect: false,
        });
    }

    /// CLIENT TRACKING OFF, RESET, a client leaving. The keys it was
    /// remembered for are forgotten lazily, as in Redis: when they change
    /// (or FLUSHALL, or the table's limit).
    pub fn disable(&self, client: &ClientHandle) {
        let Some(state) = client.tracking.lock().take() else {
            return;
        };
        self.clients.fetch_sub(1, Ordering::Relaxed);
        if state.mode.bcast {
            let mut table = self.prefixes.write();
            for p in &state.mode.prefixes {
                if let Some(ids) = table.get_mut(p) {
                    ids.remove(&client.id);
                    if ids.is_empty() {
                        table.remove(p);
                    }
                }
            }
            self.prefix_count.store(table.len(), Ordering::Relaxed);
        }
    }

    /// Remembers that client `id` may now cache `key` (trackingRememberKeys).
    pub fn remember(&self, key: &[u8], id: u64) {
        let mut part = self.part(key).lock();
        match part.get_mut(key) {
            Some(ids) => {
                if !ids.contains(&id) {
                    ids.push(id);
                    self.items.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => {
                part.insert(Bytes::copy_from_slice(key), vec![id]);
                self.keys.fetch_add(1, Ordering::Relaxed);
                self.items.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// `key` changed (Redis's trackingInvalidateKey from signalModifiedKey):
    /// called under the key's shard lock.
    pub fn key_modified(&self, srv: &Server, key: &[u8]) {
        if self.prefix_count.load(Ordering::Relaxed) != 0 {
            let by = CURRENT.get();
            CHANGED.with_borrow_mut(|c| c.push((Bytes::copy_from_slice(key), by)));
        }
        if self.keys.load(Ordering::Relaxed) != 0 {
            self.invalidate(srv, key, true);
        }
    }

    /// Sends the clients remembered for `key` their message and forgets
    /// them. `by_command`: the key changed (NOLOOP applies), rather than
    /// leaving the table at its size limit.
    fn invalidate(&self, srv: &Server, key: &[u8], by_command: bool) {
        let Some(ids) = self.part(key).lock().remove(key) else {
            return;
        };
        self.keys.fetch_sub(1, Ordering::Relaxed);
        self.items.fetch_sub(ids.len(), Ordering::Relaxed);
        let current = CURRENT.get();
        for id in ids {
            let Some(target) = srv.clients.get(id) else {
                continue;
            };
            // Keys remembered before the client switched to BCAST are not
            // its concern any more.
            let Some(mode) = mode_of(&target).filter(|m| !m.bcast) else {
                continue;
            };
            if by_command && mode.noloop && id == current {
                continue;
            }
            send(srv, &target, mode.redirect, Payload::Key(key));
        }
    }

    /// Sends the BCAST messages for the keys this thread's command changed:
    /// one per prefix, to each client listening to it (Redis does this once
    /// per event-loop round, in beforeSleep).
    pub fn flush_broadcasts(&self, srv: &Server) {
        let changed = CHANGED.with_borrow_mut(std::mem::take);
        if changed.is_empty() {
            return;
        }
        // Per prefix: the keys under it, each with the client that changed
        // it last.
        let mut batches: Vec<(BTreeMap<Bytes, u64>, Vec<u64>)> = Vec::new();
        {
            let table = self.prefixes.read();
            for (prefix, ids) in table.iter() {
                let keys: BTreeMap<Bytes, u64> = changed
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix))
                    .cloned()
                    .collect();
                if !keys.is_empty() {
                    batches.push((keys, ids.iter().copied().collect()));
                }
            }
        }
        for (keys, ids) in batches {
            let all = keys_proto(&keys, None);
            for id in ids {
                let Some(target) = srv.clients.get(id) else {
                    continue;
                };
                let Some(mode) = mode_of(&target) else {
                    continue;
                };
                if mode.noloop {
                    if let Some(own) = keys_proto(&keys, Some(id)) {
                        send(srv, &target, mode.redirect, Payload::Proto(&own));
                    }
                } else if let Some(all) = &all {
                    send(srv, &target, mode.redirect, Payload::Proto(all));
                }
            }
        }
    }

    /// FLUSHDB / FLUSHALL (trackingInvalidateKeysOnFlush): every tracking
    /// client hears "everything" (a null), and the table is emptied.
    pub fn flushed(&self, srv: &Server) {
        if self.clients.load(Ordering::Relaxed) != 0 {
            for c in srv.clients.all() {
                let Some(mode) = mode_of(&c) else {
                    continue;
                };
                // As Redis: the null of the tracking client's protocol,
                // wherever it is sent.
                let null: &[u8] = if c.resp.load(Ordering::Relaxed) >= 3 {
                    b"_\r\n"
                } else {
                    b"$-1\r\n"
                };
                send(srv, &c, mode.redirect, Payload::Proto(null));
            }
        }
        if self.keys.load(Ordering::Relaxed) != 0 {
            for part in self.parts.iter() {
                let mut part = part.lock();
                let items: usize = part.values().map(Vec::len).sum();
                self.keys.fetch_sub(part.len(), Ordering::Relaxed);
                self.items.fetch_sub(items, Ordering::Relaxed);
                part.clear();
            }
        }
    }

    /// `tracking-table-max-keys`: past it, keys are forgotten (their
    /// clients told, as if they had changed) until the table is back at the
    /// limit (Redis's trackingLimitUsedSlots, from its cron).
    pub fn enforce_limit(&self, srv: &Server) {
        let max = srv.config.tracking_table_max_keys.load(Ordering::Relaxed) as usize;
        if max == 0 {
            return;
        }
        let mut over = self.keys.load(Ordering::Relaxed).saturating_sub(max);
        for part in self.parts.iter() {
            if over == 0 {
                return;
            }
            let victims: Vec<Bytes> = part.lock().keys().take(over).cloned().collect();
            for key in victims {
                // Without the shard lock: a command remembering the key
                // meanwhile at worst gets its message early.
                self.invalidate(srv, &key, false);
                over -= 1;
            }
        }
    }

    /// Anything to track: a tracking client, a remembered key or a BCAST
    /// prefix. While false the dispatcher skips every tracking step (one
    /// relaxed load of each of three rarely written counters).
    pub fn active(&self) -> bool {
        self.clients.load(Ordering::Relaxed) != 0
            || self.keys.load(Ordering::Relaxed) != 0
            || self.prefix_count.load(Ordering::Relaxed) != 0
    }

    /// INFO `tracking_clients`.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// INFO `tracking_total_keys`.
    pub fn keys(&self) -> usize {
        self.keys.load(Ordering::Relaxed)
    }

    /// INFO `tracking_total_items`.
    pub fn items(&self) -> usize {
        self.items.load(Ordering::Relaxed)
    }

    /// INFO `tracking_total_prefixes`.
    pub fn prefixes(&self) -> usize {
        self.prefix_count.load(Ordering::Relaxed)
    }
}

/// An array of `keys` in RESP, leaving out those last changed by `skip`
/// (NOLOOP); None when nothing is left (trackingBuildBroadcastReply).
fn keys_proto(keys: &BTreeMap<Bytes, u64>, skip: Option<u64>) -> Option<Bytes> {
    let kept: Vec<&Bytes> = keys
        .iter()
        .filter(|(_, by)| Some(**by) != skip)
        .map(|(k, _)| k)
        .collect();
    if kept.is_empty() {
        return None;
    }
    let mut f = BytesMut::new();
    put_int_line(&mut f, b'*', kept.len() as i64);
    for k in kept {
        put_bulk(&mut f, k);
    }
    Some(f.freeze())
}

/// Prefixes that would both match some key (one starts with the other):
/// Redis refuses them for one client.
pub fn overlapping<'a>(a: &'a [u8], b: &'a [u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_by_mode() {
        let plain = Flags::default();
        assert!(plain.remembers(false));
        let optin = Flags {
            optin: true,
            ..Default::default()
        };
        assert!(!optin.remembers(false));
        assert!(optin.remembers(true));
        let optout = Flags {
            optout: true,
            ..Default::default()
        };
        assert!(optout.remembers(false));
        assert!(!optout.remembers(true));
        let bcast = Flags {
            bcast: true,
            ..Default::default()
        };
        assert!(!bcast.remembers(false));
    }

    #[test]
    fn broadcast_reply_leaves_out_own_keys() {
        let mut keys = BTreeMap::new();
        keys.insert(Bytes::from_static(b"a"), 1);
        keys.insert(Bytes::from_static(b"b"), 2);
        assert_eq!(
            keys_proto(&keys, None).unwrap(),
            Bytes::from_static(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n")
        );
        assert_eq!(
            keys_proto(&keys, Some(1)).unwrap(),
            Bytes::from_static(b"*1\r\n$1\r\nb\r\n")
        );
        keys.remove(b"b".as_slice());
        assert!(keys_proto(&keys, Some(1)).is_none());
    }

    #[test]
    fn prefix_overlap() {
        assert!(overlapping(b"FOO", b"FOOBAR"));
        assert!(overlapping(b"FOOBAR", b"FOO"));
        assert!(overlapping(b"", b"x"));
        assert!(!overlapping(b"FOO", b"BAR"));
    }
}
