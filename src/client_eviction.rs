//! Client eviction (`maxmemory-clients`, Redis 7.0's `evictClients`).
//!
//! Each connection measures what it holds (`memory`: its read buffer, the
//! arguments of a request still arriving, unwritten replies, queued MULTI
//! commands, the overhead of its watched keys, subscriptions and tracking
//! prefixes, as Redis's `getClientMemoryUsage` counts them) and publishes it
//! in its handle (`update`), keeping `Clients::mem_total` the sum of all.
//! The figure is CLIENT LIST's `tot-mem`.
//!
//! When the sum reaches the limit, the largest clients that may be evicted
//! (not CLIENT NO-EVICT) are closed until it is below again, logged and
//! counted in INFO `evicted_clients`. This runs before every command (as
//! Redis's processCommand does) and whenever a connection's figure grows
//! (Redis: after reads, commands and writes). Redis keeps clients in log2
//! size buckets to find the largest fast; here the scan runs only when the
//! sum is over the limit, and sorts.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::client::{Client, ClientHandle};
use crate::server::Server;

/// What a connection costs before any buffer: its state and a small reply
/// buffer (Redis's `zmalloc_size(c)` plus its `buf_usable_size`).
pub const BASE: usize = 2048;
/// Redis never enforces a limit below 128 KB (getClientEvictionLimit), so
/// that a bad setting cannot lock every client out.
const MIN_LIMIT: u64 = 128 * 1024;
/// Sizes Redis charges per item (64-bit): a list node (a pattern, a watched
/// key's list entry), a watched key, a dict entry and bucket (a channel), a
/// queued command's `multiCmd`, a radix-tree node of tracking prefixes.
const LIST_NODE: usize = 24;
const WATCHED_KEY: usize = 32;
const DICT_ENTRY: usize = 24;
const DICT_BUCKET: usize = 8;
const MULTI_CMD: usize = 24;
const RAX_NODE_COST: usize = 4 * 8;
/// Radix-tree nodes a BCAST prefix adds, about (a split and a leaf).
const RAX_NODES_PER_PREFIX: usize = 2;

/// The limit in bytes, 0 when client eviction is off: `maxmemory-clients`
/// as bytes or as a percentage of `maxmemory` (off while `maxmemory` is 0).
pub fn limit(srv: &Server) -> u64 {
    let setting = srv.config.maxmemory_clients.load(Ordering::Relaxed);
    let bytes = if setting < 0 {
        let maxmemory = srv.config.maxmemory.load(Ordering::Relaxed);
        (maxmemory as f64 * -(setting as f64) / 100.0) as u64
    } else {
        setting as u64
    };
    if bytes == 0 {
        0
    } else {
        bytes.max(MIN_LIMIT)
    }
}

/// Whether client eviction is configured at all (one relaxed load).
#[inline]
pub fn enabled(srv: &Server) -> bool {
    srv.config.maxmemory_clients.load(Ordering::Relaxed) != 0
}

/// Memory of arguments as Redis counts it: their bytes plus a pointer each.
pub fn argv_mem(args: &[Bytes]) -> usize {
    args.iter().map(|a| a.len()).sum::<usize>() + args.len() * std::mem::size_of::<usize>()
}

/// A dict of `n` entries: the entries and the bucket array (a power of two).
fn dict_mem(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    n * DICT_ENTRY + n.next_power_of_two() * DICT_BUCKET
}

/// The buffers only the connection task sees, measured by it.
pub struct Buffers {
    /// Allocated size of the read buffer (Redis's sdsZmallocSize(querybuf)).
    pub query: usize,
    /// Arguments of the request still arriving.
    pub argv: usize,
    /// Replies waiting to be written, including queued pushes.
    pub output: usize,
    /// What the reply buffer holds allocated beyond the pending replies.
    pub output_spare: usize,
}

/// A client's total memory (CLIENT LIST `tot-mem`).
pub fn memory(client: &Client, buffers: &Buffers) -> usize {
    let mut mem = BASE + buffers.query + buffers.argv + buffers.output + buffers.output_spare;
    mem += multi_mem(client);
    mem += client.watched_keys.len() * (LIST_NODE + WATCHED_KEY);
    let subs = &client.subs;
    mem += subs.patterns.len() * LIST_NODE;
    mem += dict_mem(subs.channels.len()) + dict_mem(subs.shard_channels.len());
    if client.tracking.is_some() {
        let prefixes = client
            .handle
            .tracking
            .lock()
            .as_ref()
            .map_or(0, |s| s.mode.prefixes.len());
        mem += prefixes * RAX_NODES_PER_PREFIX * RAX_NODE_COST;
    }
    mem
}

/// Queued MULTI commands (Redis's multiStateMemOverhead without the watched keys).
pub fn multi_mem(client: &Client) -> usize {
    client
        .multi
        .as_ref()
        .map_or(0, |m| m.queued_bytes + m.queued.capacity() * MULTI_CMD)
}

/// Publishes a client's memory; a no-op (no shared write) when unchanged.
/// A killed client counts for nothing: its memory is on its way out.
pub fn update(srv: &Server, handle: &ClientHandle, mem: usize) {
    let mem = if handle.is_killed() { 0 } else { mem };
    if handle.mem.load(Ordering::Relaxed) == mem {
        return;
    }
    let old = handle.mem.swap(mem, Ordering::Relaxed);
    srv.clients
        .mem_total
        .fetch_add(mem as i64 - old as i64, Ordering::Relaxed);
}

/// A leaving client's buffers are released: an evicted one no longer
/// counts in `Clients::mem_releasing`.
pub fn released(srv: &Server, handle: &ClientHandle) {
    update(srv, handle, 0);
    let evicted = handle.mem_evicted.swap(0, Ordering::Relaxed);
    if evicted > 0 {
        srv.clients
            .mem_releasing
            .fetch_sub(evicted as i64, Ordering::Relaxed);
    }
}

/// Memory evicted clients still hold until their tasks end (not counted
/// against `maxmemory`, as Redis has freed it already).
pub fn releasing(srv: &Server) -> u64 {
    srv.clients.mem_releasing.load(Ordering::Relaxed).max(0) as u64
}

/// Over the limit: eviction has work to do (two relaxed loads when off).
#[inline]
pub fn over_limit(srv: &Server) -> bool {
    enabled(srv) && {
        let limit = limit(srv);
        limit > 0 && srv.clients.mem_total.load(Ordering::Relaxed) >= limit as i64
    }
}

/// Redis's evictClients: while the clients' memory is at or past the limit,
/// closes the largest client that may be evicted.
pub fn evict(srv: &Server) {
    if !over_limit(srv) {
        return;
    }
    // Scans do not overlap: two would both close a client for the same excess.
    let _one = srv.clients.evicting.lock();
    let limit = limit(srv) as i64;
    let total = &srv.clients.mem_total;
    if total.load(Ordering::Relaxed) < limit {
        return;
    }
    let mut candidates: Vec<_> = srv
        .clients
        .all()
        .into_iter()
        .filter(|c| !c.no_evict.load(Ordering::Relaxed) && c.mem.load(Ordering::Relaxed) > 0)
        .map(|c| (c.mem.load(Ordering::Relaxed), c))
        .collect();
    // Largest first; among equals the oldest connection first (stable sort).
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    for (_, c) in candidates {
        if total.load(Ordering::Relaxed) < limit {
            return;
        }
        let line = crate::family::connection::client_line(srv, &c, None);
        tracing::info!("Evicting client: {line}");
        c.kill();
        // Its memory leaves the sum now, so that the next check sees the
        // eviction done although the connection closes on its own task.
        let freed = c.mem.swap(0, Ordering::Relaxed);
        total.fetch_sub(freed as i64, Ordering::Relaxed);
        c.mem_evicted.store(freed, Ordering::Relaxed);
        srv.clients
            .mem_releasing
            .fetch_add(freed as i64, Ordering::Relaxed);
        srv.stats.evicted_clients.fetch_add(1, Ordering::Relaxed);
    }
    if total.load(Ordering::Relaxed) >= limit {
        tracing::warn!("Over client maxmemory after evicting all evictable clients");
    }
}
