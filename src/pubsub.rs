//! The pub/sub registry: channels, patterns and shard channels → subscribers.
//!
//! Independent of the keyspace. PUBLISH encodes each message frame at most once
//! per protocol version and hands the same `Bytes` to every subscriber's outbox;
//! the subscriber's connection task drains its outbox into one write per
//! wake-up. Outbox bytes are counted against `client-output-buffer-limit pubsub`
//! and a subscriber past its limit is disconnected, never silently skipped.
//!
//! Patterns are indexed by their literal prefix: a PUBLISH probes one hash
//! bucket per distinct prefix length instead of matching every pattern, so
//! thousands of patterns on other prefixes cost almost nothing.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use parking_lot::RwLock;

use crate::client::ClientHandle;
use crate::glob::{glob_match, literal_prefix};
use crate::notify::{self, KeyEvent};
use crate::reply::{put_bulk, put_int_line};
use crate::server::Server;

const CHANNEL_SHARDS: usize = 32;

type Subscribers = Vec<Arc<ClientHandle>>;

pub struct PubSub {
    channels: Box<[RwLock<HashMap<Bytes, Subscribers>>]>,
    shard_channels: Box<[RwLock<HashMap<Bytes, Subscribers>>]>,
    patterns: RwLock<PatternIndex>,
    /// Distinct patterns subscribed (the index's count, kept outside its
    /// lock): PUBLISH reads it first and takes the patterns lock only when
    /// there is a pattern to match, so publishers share no written line.
    pattern_count: AtomicUsize,
    hasher: std::collections::hash_map::RandomState,
}

#[derive(Default)]
struct PatternIndex {
    /// literal prefix → patterns with that prefix → subscribers.
    by_prefix: HashMap<Bytes, HashMap<Bytes, Subscribers>>,
    /// Distinct prefix lengths in use, with how many prefixes have each.
    prefix_lens: BTreeMap<usize, usize>,
    count: usize,
}

/// Which namespace a subscription is in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl PubSub {
    pub fn new() -> PubSub {
        let mk = || {
            (0..CHANNEL_SHARDS)
                .map(|_| RwLock::new(HashMap::new()))
                .collect()
        };
        PubSub {
            channels: mk(),
            shard_channels: mk(),
            patterns: RwLock::new(PatternIndex::default()),
            pattern_count: AtomicUsize::new(0),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    fn bucket(&self, kind: Kind, channel: &[u8]) -> &RwLock<HashMap<Bytes, Subscribers>> {
        let i = self.hasher.hash_one(channel) as usize % CHANNEL_SHARDS;
        match kind {
            Kind::Shard => &self.shard_channels[i],
            _ => &self.channels[i],
        }
    }

    /// Adds `client` to `name`. The caller keeps the client's own set, so this is
    /// only called for new subscriptions.
    pub fn subscribe(&self, kind: Kind, name: &Bytes, client: &Arc<ClientHandle>) {
        match kind {
            Kind::Pattern => {
                let mut idx = self.patterns.write();
                let prefix = Bytes::copy_from_slice(literal_prefix(name));
                let plen = prefix.len();
                let bucket = idx.by_prefix.entry(prefix).or_default();
                let fresh_prefix = bucket.is_empty();
                let subs = bucket.entry(name.clone()).or_default();
                let fresh_pattern = subs.is_empty();
                subs.push(client.clone());
                if fresh_prefix {
                    *idx.prefix_lens.entry(plen).or_insert(0) += 1;
                }
                if fresh_pattern {
                    idx.count += 1;
                    self.pattern_count.store(idx.count, Ordering::Release);
                }
            }
            _ => {
                self.bucket(kind, name)
                    .write()
                    .entry(name.clone())
                    .or_default()
                    .push(client.clone());
            }
        }
    }

    pub fn unsubscribe(&self, kind: Kind, name: &[u8], client_id: u64) {
        match kind {
            Kind::Pattern => {
                let mut idx = self.patterns.write();
                let prefix = literal_prefix(name);
                let plen = prefix.len();
                let Some(bucket) = idx.by_prefix.get_mut(prefix) else {
                    return;
                };
                let mut pattern_gone = false;
                if let Some(subs) = bucket.get_mut(name) {
                    subs.retain(|c| c.id != client_id);
                    if subs.is_empty() {
                        bucket.remove(name);
                        pattern_gone = true;
                    }
                }
                let prefix_gone = bucket.is_empty();
                if prefix_gone {
                    idx.by_prefix.remove(prefix);
                    if let Some(n) = idx.prefix_lens.get_mut(&plen) {
                        *n -= 1;
                        if *n == 0 {
                            idx.prefix_lens.remove(&plen);
                        }
                    }
                }
                if pattern_gone {
                    idx.count -= 1;
                    self.pattern_count.store(idx.count, Ordering::Release);
                }
            }
            _ => {
                let mut map = self.bucket(kind, name).write();
                if let Some(subs) = map.get_mut(name) {
                    subs.retain(|c| c.id != client_id);
                    if subs.is_empty() {
                        map.remove(name);
                    }
                }
            }
        }
    }

    /// Publishes `message` on `channel`; returns how many deliveries were made.
    pub fn publish(&self, srv: &Server, channel: &Bytes, message: &Bytes) -> usize {
        let mut frames = Frames::default();
        let mut delivered = 0;
        if let Some(subs) = self.bucket(Kind::Channel, channel).read().get(channel) {
            for c in subs {
                let frame = frames.get(c.resp.load(Ordering::Relaxed), || {
                    [&b"message"[..], channel, message]
                });
                deliver(srv, c, frame);
                delivered += 1;
            }
        }
        if self.pattern_count.load(Ordering::Acquire) > 0 {
            crate::contention::global_lock("pubsub patterns");
            let idx = self.patterns.read();
            for (&plen, _) in idx.prefix_lens.range(..=channel.len()) {
                let Some(bucket) = idx.by_prefix.get(&channel[..plen]) else {
                    continue;
                };
                for (pattern, subs) in bucket {
                    if !glob_match(pattern, channel, false) {
                        continue;
                    }
                    let mut pframes = Frames::default();
                    for c in subs {
                        let frame = pframes.get(c.resp.load(Ordering::Relaxed), || {
                            [&b"pmessage"[..], pattern, channel, message]
                        });
                        deliver(srv, c, frame);
                        delivered += 1;
                    }
                }
            }
        }
        if delivered > 0 {
            srv.stats.hot().pubsub_delivered.add(delivered as u64);
        }
        delivered
    }

    pub fn spublish(&self, srv: &Server, channel: &Bytes, message: &Bytes) -> usize {
        let mut frames = Frames::default();
        let map = self.bucket(Kind::Shard, channel).read();
        let Some(subs) = map.get(channel) else {
            return 0;
        };
        for c in subs {
            let frame = frames.get(c.resp.load(Ordering::Relaxed), || {
                [&b"smessage"[..], channel, message]
            });
            deliver(srv, c, frame);
        }
        srv.stats.hot().pubsub_delivered.add(subs.len() as u64);
        subs.len()
    }

    /// Publishes keyspace notifications recorded by a command.
    pub fn publish_key_events(&self, srv: &Server, events: &[KeyEvent]) {
        let flags = srv.config.notify_flags.load(Ordering::Relaxed);
        for ev in events {
            if !notify::enabled(flags, ev.class) {
                continue;
            }
            let (keyspace, keyevent) = notify::channels(ev);
            if flags & notify::KEYSPACE != 0 {
                self.publish(srv, &keyspace, &Bytes::from_static(ev.event.as_bytes()));
            }
            if flags & notify::KEYEVENT != 0 {
                self.publish(srv, &keyevent, &ev.key);
            }
        }
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS.
    pub fn channel_names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let shards = match kind {
            Kind::Shard => &self.shard_channels,
            _ => &self.channels,
        };
        let mut out = Vec::new();
        for s in shards.iter() {
            for name in s.read().keys() {
                if pattern.is_none_or(|p| glob_match(p, name, false)) {
                    out.push(name.clone());
                }
            }
        }
        out
    }

    /// The subscriptions of the clients `wanted` selects, by client id (an
    /// ACL change checks them against the user's new channels). Walks the
    /// whole registry: an administrative path.
    pub fn subscriptions_of(
        &self,
        wanted: impl Fn(&ClientHandle) -> bool,
    ) -> HashMap<u64, Vec<(Kind, Bytes)>> {
        let mut out: HashMap<u64, Vec<(Kind, Bytes)>> = HashMap::new();
        let mut add = |kind: Kind, name: &Bytes, subs: &Subscribers| {
            for c in subs.iter().filter(|c| wanted(c)) {
                out.entry(c.id).or_default().push((kind, name.clone()));
            }
        };
        for (kind, shards) in [
            (Kind::Channel, &self.channels),
            (Kind::Shard, &self.shard_channels),
        ] {
            for s in shards.iter() {
                for (name, subs) in s.read().iter() {
                    add(kind, name, subs);
                }
            }
        }
        for bucket in self.patterns.read().by_prefix.values() {
            for (name, subs) in bucket {
                add(Kind::Pattern, name, subs);
            }
        }
        out
    }

    /// Channels (or shard channels) with their subscriber counts, the
    /// busiest first, at most `limit` of them, and how many there are in
    /// all: one read lock per bucket, for the dashboard and /metrics.
    pub fn channel_counts(&self, kind: Kind, limit: usize) -> (Vec<(Bytes, usize)>, usize) {
        let shards = match kind {
            Kind::Shard => &self.shard_channels,
            _ => &self.channels,
        };
        let mut all: Vec<(Bytes, usize)> = Vec::new();
        for s in shards.iter() {
            all.extend(s.read().iter().map(|(n, subs)| (n.clone(), subs.len())));
        }
        let total = all.len();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(limit);
        (all, total)
    }

    /// Patterns with their subscriber counts, as `channel_counts`.
    pub fn pattern_counts(&self, limit: usize) -> (Vec<(Bytes, usize)>, usize) {
        let mut all: Vec<(Bytes, usize)> = Vec::new();
        for bucket in self.patterns.read().by_prefix.values() {
            all.extend(bucket.iter().map(|(n, subs)| (n.clone(), subs.len())));
        }
        let total = all.len();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(limit);
        (all, total)
    }

    pub fn numsub(&self, kind: Kind, channel: &[u8]) -> usize {
        self.bucket(kind, channel)
            .read()
            .get(channel)
            .map_or(0, |s| s.len())
    }

    pub fn numpat(&self) -> usize {
        self.pattern_count.load(Ordering::Acquire)
    }

    pub fn channel_count(&self, kind: Kind) -> usize {
        let shards = match kind {
            Kind::Shard => &self.shard_channels,
            _ => &self.channels,
        };
        shards.iter().map(|s| s.read().len()).sum()
    }
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub::new()
    }
}

/// A message frame encoded lazily, once per protocol version.
#[derive(Default)]
struct Frames {
    resp2: Option<Bytes>,
    resp3: Option<Bytes>,
}

impl Frames {
    fn get<'a, const N: usize>(
        &mut self,
        resp: u8,
        parts: impl FnOnce() -> [&'a [u8]; N],
    ) -> Bytes {
        let slot = if resp >= 3 {
            &mut self.resp3
        } else {
            &mut self.resp2
        };
        slot.get_or_insert_with(|| encode_push(resp, &parts()))
            .clone()
    }
}

/// `*N`/`>N` followed by bulk strings: a pub/sub message frame.
pub fn encode_push(resp: u8, parts: &[&[u8]]) -> Bytes {
    let len: usize = parts.iter().map(|p| p.len() + 16).sum();
    let mut b = BytesMut::with_capacity(len + 8);
    put_int_line(
        &mut b,
        if resp >= 3 { b'>' } else { b'*' },
        parts.len() as i64,
    );
    for p in parts {
        put_bulk(&mut b, p);
    }
    b.freeze()
}

/// Queues `frame` for `client`, enforcing the pub/sub output buffer limits.
pub fn deliver(srv: &Server, client: &Arc<ClientHandle>, frame: Bytes) {
    if client.is_killed() {
        return;
    }
    let limits = &srv.config.obuf_pubsub;
    let hard = limits.hard.load(Ordering::Relaxed) as usize;
    let soft = limits.soft.load(Ordering::Relaxed) as usize;
    let mut over = false;
    // Only the frame that makes the outbox non-empty needs a wake-up: until the
    // subscriber drains it, an earlier wake-up is already on its way.
    let first_frame;
    {
        let mut ob = client.outbox.lock();
        ob.bytes += frame.len();
        ob.frames.push_back(frame);
        first_frame = ob.frames.len() == 1;
        if hard > 0 && ob.bytes > hard {
            over = true;
        } else if soft > 0 && ob.bytes > soft {
            let secs = limits.soft_seconds.load(Ordering::Relaxed).max(0) as u64;
            // Redis's checkClientOutputBufferLimits: the first time the soft
            // limit is seen only starts the clock; past it for more than
            // `secs` seconds disconnects.
            match ob.soft_since {
                None => ob.soft_since = Some(Instant::now()),
                Some(since) => over = since.elapsed() > std::time::Duration::from_secs(secs),
            }
        } else {
            ob.soft_since = None;
        }
        if over {
            // The connection is closing: its queued frames will never be written.
            ob.frames.clear();
            ob.bytes = 0;
        }
    }
    if over {
        tracing::warn!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            client.id,
            client.addr
        );
        srv.stats
            .pubsub_slow_disconnects
            .fetch_add(1, Ordering::Relaxed);
        client.kill();
    } else if first_frame {
        wakes::wake(client);
    }
}

/// Once a second (Redis's clientsCron): a subscriber past the soft limit
/// for longer than its seconds is disconnected even when nothing more is
/// published to it.
pub fn check_soft_limits(srv: &Server) {
    let limits = &srv.config.obuf_pubsub;
    let soft = limits.soft.load(Ordering::Relaxed) as usize;
    if soft == 0 {
        return;
    }
    let secs = limits.soft_seconds.load(Ordering::Relaxed).max(0) as u64;
    for client in srv.clients.all() {
        let over = {
            let mut ob = client.outbox.lock();
            let over = ob.bytes > soft
                && ob
                    .soft_since
                    .is_some_and(|since| since.elapsed() > std::time::Duration::from_secs(secs));
            if over {
                ob.frames.clear();
                ob.bytes = 0;
            }
            over
        };
        if over {
            tracing::warn!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                client.id,
                client.addr
            );
            srv.stats
                .pubsub_slow_disconnects
                .fetch_add(1, Ordering::Relaxed);
            client.kill();
        }
    }
}

/// Subscriber wake-ups deferred to the end of the publishing connection's batch.
///
/// A publisher that sent eight pipelined PUBLISHes should cost each subscriber
/// one write of eight messages, as Redis's event loop gives (it writes replies
/// in `beforeSleep`). Waking a subscriber per message lets it race the
/// publisher and write one message per syscall, and fan-out is bound by
/// syscalls. A connection task turns deferral on for the synchronous stretch of
/// its batch and flushes before every `.await`, so a task never yields (and
/// never moves thread) with wake-ups pending; every other caller — background
/// expiry, eviction — wakes at once.
pub mod wakes {
    use std::cell::{Cell, RefCell};
    use std::sync::Arc;

    use crate::client::ClientHandle;

    thread_local! {
        static DEFERRING: Cell<bool> = const { Cell::new(false) };
        static PENDING: RefCell<Vec<Arc<ClientHandle>>> = const { RefCell::new(Vec::new()) };
    }

    /// Defers wake-ups on this thread until the next [`flush`].
    pub fn defer() {
        DEFERRING.set(true);
    }

    /// Wakes every subscriber deferred on this thread and ends deferral.
    pub fn flush() {
        if !DEFERRING.replace(false) {
            return;
        }
        PENDING.with_borrow_mut(|pending| {
            for c in pending.drain(..) {
                c.wake.notify_one();
            }
        });
    }

    pub(super) fn wake(client: &Arc<ClientHandle>) {
        if DEFERRING.get() {
            PENDING.with_borrow_mut(|pending| pending.push(client.clone()));
        } else {
            client.wake.notify_one();
        }
    }
}
