//! What a scrape reports key by key: lists (queues) with their blocked
//! consumers, streams with their consumer groups, channels and patterns
//! with their subscribers.
//!
//! Keys are the ones `metrics-keys` names (glob patterns, matched in every
//! database), plus any key clients are blocked on with a list command (an
//! empty queue with waiting workers is the normal state of a healthy queue).
//! Each shard is locked on its own, once, and released before the next: a
//! scrape never holds two shards nor waits on one while holding another.
//! The work is bounded twice: at most `metrics-keys-max` keys are reported,
//! and a glob pattern examines at most `SCAN_BUDGET` keys per scrape (a
//! keyspace larger than that is sampled, and `truncated` says so).

use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::glob::glob_match;
use crate::keyspace::{Shard, Value};
use crate::pubsub::Kind;
use crate::server::Server;
use crate::types::stream::{Group, Stream};

/// Keys a glob pattern may examine per scrape, over all shards.
const SCAN_BUDGET: usize = 100_000;

#[derive(Debug, Clone)]
pub struct ListReport {
    pub db: usize,
    pub key: String,
    pub len: u64,
    /// Clients blocked on the key (BLPOP, BRPOP, BLMOVE, BLMPOP…).
    pub blocked: usize,
}

#[derive(Debug, Clone)]
pub struct GroupReport {
    pub name: String,
    /// XINFO GROUPS' lag: entries not yet delivered to the group; `None`
    /// when Redis 7.0 cannot know it either (deletions past its position).
    pub lag: Option<i64>,
    pub entries_read: i64,
    /// Entries delivered and not acknowledged (the PEL).
    pub pending: u64,
    /// Milliseconds since the oldest pending entry was last delivered.
    pub oldest_pending_idle_ms: Option<u64>,
    /// Pending entries delivered more than `metrics-deliveries-threshold` times.
    pub over_delivered: u64,
    pub consumers: usize,
}

#[derive(Debug, Clone)]
pub struct StreamReport {
    pub db: usize,
    pub key: String,
    pub len: u64,
    pub last_id: String,
    /// Clients blocked reading the stream (XREAD / XREADGROUP BLOCK).
    pub blocked: usize,
    pub groups: Vec<GroupReport>,
}

#[derive(Debug, Clone, Default)]
pub struct KeysReport {
    pub lists: Vec<ListReport>,
    pub streams: Vec<StreamReport>,
    /// More keys matched than `metrics-keys-max`, or a pattern ran out of
    /// its scan budget: the report is partial.
    pub truncated: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ChannelsReport {
    /// (channel, subscribers), busiest first, at most `metrics-keys-max`.
    pub channels: Vec<(String, usize)>,
    pub channels_total: usize,
    pub patterns: Vec<(String, usize)>,
    pub patterns_total: usize,
}

/// The patterns and bounds in force.
struct Wanted {
    patterns: Vec<Vec<u8>>,
    max: usize,
    threshold: u64,
}

impl Wanted {
    fn of(srv: &Server) -> Wanted {
        let patterns = srv
            .config
            .get("metrics-keys")
            .unwrap_or_default()
            .split_whitespace()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        Wanted {
            patterns,
            max: srv.config.get_int("metrics-keys-max").max(0) as usize,
            threshold: srv.config.get_int("metrics-deliveries-threshold").max(0) as u64,
        }
    }

    fn matches(&self, name: &[u8]) -> bool {
        self.patterns.iter().any(|p| glob_match(p, name, false))
    }
}

fn is_glob(p: &[u8]) -> bool {
    p.iter().any(|c| matches!(c, b'*' | b'?' | b'[' | b'\\'))
}

/// The keys report: one shard lock at a time.
pub fn keys(srv: &Server) -> KeysReport {
    let wanted = Wanted::of(srv);
    let mut report = KeysReport::default();
    if wanted.max == 0 {
        return report;
    }
    let now = crate::server::unix_ms();
    let mut budget = SCAN_BUDGET;
    for idx in 0..srv.keyspace.shard_count() {
        let shard = srv.keyspace.lock_shard(idx);
        let full = shard_keys(&shard, idx, srv, &wanted, now, &mut budget, &mut report);
        drop(shard);
        if full {
            report.truncated = true;
            break;
        }
    }
    report
        .lists
        .sort_by(|a, b| (a.db, &a.key).cmp(&(b.db, &b.key)));
    report
        .streams
        .sort_by(|a, b| (a.db, &a.key).cmp(&(b.db, &b.key)));
    report
}

/// Adds shard `idx`'s reported keys; true once `max` keys are reported.
fn shard_keys(
    shard: &Shard,
    idx: usize,
    srv: &Server,
    wanted: &Wanted,
    now: u64,
    budget: &mut usize,
    out: &mut KeysReport,
) -> bool {
    // Keys named: the literal patterns (looked up), the globs (scanned
    // within the budget), and the keys list clients wait on.
    let (globs, literals): (Vec<&Vec<u8>>, Vec<&Vec<u8>>) =
        wanted.patterns.iter().partition(|p| is_glob(p));
    let mut names: Vec<(usize, Bytes)> = Vec::new();
    for (db, slice) in shard.dbs.iter().enumerate() {
        for p in &literals {
            if srv.keyspace.shard_of(p) == idx && slice.get(p).is_some() {
                names.push((db, Bytes::copy_from_slice(p)));
            }
        }
        if globs.is_empty() {
            continue;
        }
        for key in slice.map.keys() {
            if *budget == 0 {
                out.truncated = true;
                break;
            }
            *budget -= 1;
            if globs.iter().any(|p| glob_match(p, key, false)) {
                names.push((db, key.to_bytes()));
            }
        }
    }
    for ((db, key), waiters) in shard.waiters.iter() {
        if waiters.iter().any(|w| w.wants == "list") {
            names.push((*db, key.clone()));
        }
    }
    names.sort();
    names.dedup();
    for (db, key) in names {
        if out.lists.len() + out.streams.len() >= wanted.max {
            return true;
        }
        let blocked = shard.waiters.get(&(db, key.clone())).map_or(0, |q| q.len());
        let slice = &shard.dbs[db];
        let live = slice.get(&key).filter(|_| !slice.is_expired(&key, now));
        let name = String::from_utf8_lossy(&key).into_owned();
        match live.map(|e| &e.value) {
            Some(Value::List(l)) => out.lists.push(ListReport {
                db,
                key: name,
                len: l.len() as u64,
                blocked,
            }),
            // A queue nobody has pushed to yet, with workers waiting on it.
            None if blocked > 0 => out.lists.push(ListReport {
                db,
                key: name,
                len: 0,
                blocked,
            }),
            Some(Value::Stream(s)) => {
                out.streams
                    .push(stream_report(db, name, s, blocked, now, wanted.threshold))
            }
            // Other types and missing keys are not queues: not reported.
            _ => {}
        }
    }
    false
}

fn stream_report(
    db: usize,
    key: String,
    s: &Stream,
    blocked: usize,
    now: u64,
    threshold: u64,
) -> StreamReport {
    StreamReport {
        db,
        key,
        len: s.len(),
        last_id: format!("{}-{}", s.last_id.ms, s.last_id.seq),
        blocked,
        groups: s
            .groups
            .iter()
            .map(|(name, g)| group_report(s, name, g, now, threshold))
            .collect(),
    }
}

fn group_report(s: &Stream, name: &Bytes, g: &Group, now: u64, threshold: u64) -> GroupReport {
    // The PEL is ordered by ID, not by delivery time: a redelivered old
    // entry can be fresher than a newer one, so the oldest delivery is a
    // scan (bounded by the PEL's size, which is the group's own backlog).
    let oldest = g.pel.values().map(|n| n.delivery_time).min();
    GroupReport {
        name: String::from_utf8_lossy(name).into_owned(),
        lag: s.lag(g),
        entries_read: g.entries_read,
        pending: g.pel.len() as u64,
        oldest_pending_idle_ms: oldest.map(|t| now.saturating_sub(t)),
        over_delivered: g
            .pel
            .values()
            .filter(|n| n.delivery_count > threshold)
            .count() as u64,
        consumers: g.consumers.len(),
    }
}

/// Channels and patterns with their subscribers. For /metrics only the
/// channels `metrics-keys` matches (`named_only`); the dashboard shows the
/// busiest ones whatever their names.
pub fn channels(srv: &Server, named_only: bool) -> ChannelsReport {
    let wanted = Wanted::of(srv);
    let lossy = |v: Vec<(Bytes, usize)>| -> Vec<(String, usize)> {
        v.into_iter()
            .filter(|(n, _)| !named_only || wanted.matches(n))
            .map(|(n, c)| (String::from_utf8_lossy(&n).into_owned(), c))
            .collect()
    };
    // Filtering after the cut would hide named channels behind busier
    // unnamed ones: /metrics takes them all, then cuts.
    let limit = if named_only { usize::MAX } else { wanted.max };
    let (channels, channels_total) = srv.pubsub.channel_counts(Kind::Channel, limit);
    let (patterns, patterns_total) = srv.pubsub.pattern_counts(limit);
    let mut report = ChannelsReport {
        channels: lossy(channels),
        channels_total,
        patterns: lossy(patterns),
        patterns_total,
    };
    report.channels.truncate(wanted.max);
    report.patterns.truncate(wanted.max);
    report
}

/// Keys and keys with a TTL per database (INFO keyspace), one shard at a time.
pub fn keyspace(srv: &Server) -> Vec<(usize, usize)> {
    let mut counts = vec![(0usize, 0usize); srv.keyspace.databases()];
    srv.keyspace.for_each_shard(|_, s| {
        for (i, db) in s.dbs.iter().enumerate() {
            counts[i].0 += db.len();
            counts[i].1 += db.expires_len();
        }
    });
    counts
}

/// The server's replication role, as INFO names it.
pub fn role(srv: &Server) -> &'static str {
    if srv.repl.is_replica() {
        "slave"
    } else {
        "master"
    }
}

/// Aggregated latency histogram over every command (dashboard), as the
/// per-command ones INFO latencystats reads.
pub fn all_commands_histogram(srv: &Server) -> (u64, u64, [u64; crate::latency::BUCKETS]) {
    let mut calls = 0;
    let mut usec = 0;
    let mut buckets = [0u64; crate::latency::BUCKETS];
    for i in 0..srv.commands.all.len() {
        let (c, u, _, _) = srv.stats.command_totals(i);
        calls += c;
        usec += u;
        let (_, b) = srv.stats.histogram(i);
        for (sum, x) in buckets.iter_mut().zip(b) {
            *sum += x;
        }
    }
    (calls, usec, buckets)
}

/// A relaxed read helper for the atomics reported as they are.
pub fn load(a: &std::sync::atomic::AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}
