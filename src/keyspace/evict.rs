//! `maxmemory` eviction: approximated LRU/LFU/random/TTL, as Redis samples.
//!
//! Runs with no shard lock held (before a command that may grow memory, and
//! from the background cycle). Each round samples a few keys of one shard and
//! evicts the best candidate under the policy, until memory is under the limit
//! or nothing evictable is left. `noeviction` never evicts: commands that may
//! grow memory are refused with OOM instead.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::notify::{self, KeyEvent};
use crate::server::Server;

const SAMPLES: usize = 5;

#[derive(Clone, Copy, PartialEq)]
enum Policy {
    NoEviction,
    AllKeys(Pick),
    Volatile(Pick),
}

#[derive(Clone, Copy, PartialEq)]
enum Pick {
    Lru,
    Lfu,
    Random,
    Ttl,
}

fn policy(srv: &Server) -> Policy {
    match srv.config.get("maxmemory-policy").as_deref() {
        Some("allkeys-lru") => Policy::AllKeys(Pick::Lru),
        Some("allkeys-lfu") => Policy::AllKeys(Pick::Lfu),
        Some("allkeys-random") => Policy::AllKeys(Pick::Random),
        Some("volatile-lru") => Policy::Volatile(Pick::Lru),
        Some("volatile-lfu") => Policy::Volatile(Pick::Lfu),
        Some("volatile-random") => Policy::Volatile(Pick::Random),
        Some("volatile-ttl") => Policy::Volatile(Pick::Ttl),
        _ => Policy::NoEviction,
    }
}

pub fn over_limit(srv: &Server) -> bool {
    let max = srv.config.maxmemory.load(Ordering::Relaxed);
    max > 0
        && (crate::alloc::allocated() as u64).saturating_sub(crate::client_eviction::releasing(srv))
            > max
}

/// Evicts until under `maxmemory`. Returns false if still over the limit.
pub fn evict(srv: &Server) -> bool {
    if !over_limit(srv) {
        return true;
    }
    // A replica holds its master's dataset: it never evicts on its own
    // (Redis's replica-ignore-maxmemory default); the master's DELs shrink it.
    if srv.repl.is_replica() {
        return true;
    }
    let (volatile, pick) = match policy(srv) {
        Policy::NoEviction => return false,
        Policy::AllKeys(p) => (false, p),
        Policy::Volatile(p) => (true, p),
    };
    let flags = srv.config.notify_flags.load(Ordering::Relaxed);
    let now_s = srv.clock_secs();
    let decay = srv.config.lfu_decay_time.load(Ordering::Relaxed);
    let shards = srv.keyspace.shard_count();
    let mut events = Vec::new();
    let mut start = crate::server::unix_us() as usize;
    let mut empty_rounds = 0;
    while over_limit(srv) && empty_rounds < shards {
        start = start.wrapping_add(1);
        let idx = start % shards;
        let mut evicted = false;
        srv.keyspace.for_shard(idx, |shard| {
            for (dbi, db) in shard.dbs.iter_mut().enumerate() {
                let victim: Option<Bytes> = {
                    let candidates = db
                        .map
                        .iter()
                        .filter(|(_, e)| !volatile || e.expire_at != 0)
                        .skip(start % 7)
                        .take(SAMPLES);
                    match pick {
                        Pick::Lru => candidates
                            .min_by_key(|(_, e)| e.touched)
                            .map(|(k, _)| k.to_bytes()),
                        // The least frequently used of the sample, its
                        // counter decayed to now (Redis's LFU pool).
                        Pick::Lfu => candidates
                            .min_by_key(|(_, e)| super::lfu::decayed(e, now_s, decay))
                            .map(|(k, _)| k.to_bytes()),
                        Pick::Ttl => candidates
                            .min_by_key(|(_, e)| e.expire_at)
                            .map(|(k, _)| k.to_bytes()),
                        Pick::Random => candidates.last().map(|(k, _)| k.to_bytes()),
                    }
                    .or_else(|| {
                        db.map
                            .iter()
                            .find(|(_, e)| !volatile || e.expire_at != 0)
                            .map(|(k, _)| k.to_bytes())
                    })
                };
                if let Some(key) = victim {
                    db.remove(&key);
                    db.touch_watched(&key);
                    srv.tracking.key_modified(srv, &key);
                    if srv.repl.active() {
                        // Under the shard lock, like every effect.
                        srv.repl
                            .feed(&[(dbi, vec![Bytes::from_static(b"DEL"), key.clone()])]);
                    }
                    srv.stats.evicted_keys.fetch_add(1, Ordering::Relaxed);
                    if notify::enabled(flags, notify::EVICTED) {
                        events.push(KeyEvent {
                            class: notify::EVICTED,
                            event: "evicted",
                            key,
                            db: dbi,
                        });
                    }
                    evicted = true;
                    break;
                }
            }
        });
        if evicted {
            empty_rounds = 0;
        } else {
            empty_rounds += 1;
        }
    }
    if !events.is_empty() {
        srv.pubsub.publish_key_events(srv, &events);
    }
    !over_limit(srv)
}
