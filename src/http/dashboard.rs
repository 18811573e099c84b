//! The built-in dashboard: a static page (HTML, CSS and JS compiled into the
//! binary, nothing fetched from elsewhere) that polls `/api/overview` once
//! a second and draws ops/s, latency, memory and clients, and tables of
//! queues, streams with their groups, and channels / patterns.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use super::inspect;
use crate::server::Server;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// The static files: (content type, body) by path.
pub fn asset(path: &str) -> Option<(&'static str, &'static str)> {
    match path {
        "/" | "/index.html" => Some(("text/html; charset=utf-8", INDEX_HTML)),
        "/app.js" => Some(("text/javascript; charset=utf-8", APP_JS)),
        "/style.css" => Some(("text/css; charset=utf-8", STYLE_CSS)),
        _ => None,
    }
}

/// `key:value` lines of an INFO section text.
pub fn info_fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim_end().to_string()))
        .collect()
}

/// The dashboard's snapshot: the figures INFO reports, the latency
/// histogram of all commands (the page takes differences between polls),
/// and the queue / stream / channel tables.
pub fn overview_json(srv: &Server) -> String {
    let stats = &srv.stats;
    let (kbps_in, kbps_out) = stats.net_kbps();
    let (calls, usec, buckets) = inspect::all_commands_histogram(srv);
    let keys = inspect::keys(srv);
    let channels = inspect::channels(srv, false);
    let keyspace: u64 = inspect::keyspace(srv).iter().map(|c| c.0 as u64).sum();
    let body = json!({
        "server": {
            "version": crate::VERSION,
            "redis_version": crate::REDIS_VERSION,
            "role": inspect::role(srv),
            "uptime_seconds": srv.started.elapsed().as_secs(),
            "port": srv.port.load(Ordering::Relaxed),
            "time_ms": crate::server::unix_ms(),
        },
        "stats": {
            "instantaneous_ops_per_sec": stats.ops_per_sec(),
            "total_commands_processed": stats.sum(|h| &h.commands_processed),
            "instantaneous_input_kbps": kbps_in,
            "instantaneous_output_kbps": kbps_out,
            "keyspace_hits": stats.sum(|h| &h.keyspace_hits),
            "keyspace_misses": stats.sum(|h| &h.keyspace_misses),
            "total_error_replies": inspect::load(&stats.error_replies),
            "pubsub_messages_delivered": stats.sum(|h| &h.pubsub_delivered),
            "pubsub_slow_subscribers_disconnected": inspect::load(&stats.pubsub_slow_disconnects),
            "keys": keyspace,
        },
        "latency": {
            "calls": calls,
            "usec": usec,
            // Bucket b: calls that took at most 2^b µs.
            "buckets": buckets.to_vec(),
        },
        "memory": {
            "used_memory": crate::alloc::allocated() as u64,
            "used_memory_rss": crate::alloc::rss_bytes(),
            "used_memory_peak": crate::alloc::peak() as u64,
            "maxmemory": srv.config.maxmemory.load(Ordering::Relaxed),
        },
        "clients": {
            "connected_clients": srv.clients.count(),
            "blocked_clients": srv.blocking.blocked_clients(),
            "maxclients": srv.config.maxclients.load(Ordering::Relaxed),
        },
        "queues": keys.lists.iter().map(|l| json!({
            "db": l.db, "key": l.key, "length": l.len, "blocked": l.blocked,
        })).collect::<Vec<Value>>(),
        "streams": keys.streams.iter().map(|s| json!({
            "db": s.db, "key": s.key, "length": s.len, "last_id": s.last_id,
            "blocked": s.blocked,
            "groups": s.groups.iter().map(|g| json!({
                "name": g.name, "lag": g.lag, "entries_read": g.entries_read,
                "pending": g.pending, "oldest_pending_idle_ms": g.oldest_pending_idle_ms,
                "over_delivered": g.over_delivered, "consumers": g.consumers,
            })).collect::<Vec<Value>>(),
        })).collect::<Vec<Value>>(),
        "keys_truncated": keys.truncated,
        "metrics_keys": srv.config.get("metrics-keys").unwrap_or_default(),
        "channels": channels.channels.iter().map(|(n, c)| json!({"name": n, "subscribers": c})).collect::<Vec<Value>>(),
        "channels_total": channels.channels_total,
        "patterns": channels.patterns.iter().map(|(n, c)| json!({"name": n, "subscribers": c})).collect::<Vec<Value>>(),
        "patterns_total": channels.patterns_total,
    });
    body.to_string()
}
