//! `/metrics`: the Prometheus text format (0.0.4), encoded by
//! `prometheus-client` from a snapshot of the state INFO reads.
//!
//! A scrape first gathers a `Snapshot` (summing the striped counters,
//! locking one shard at a time for the keyspace and the named keys) and
//! only then encodes it, so no lock is held while text is written. Names
//! are `cinnabar_*`; counters get the `_total` suffix from the encoder.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::inspect::{self, load, ChannelsReport, KeysReport};
use crate::server::Server;

/// One command's figures (INFO commandstats and its latency histogram).
#[derive(Debug)]
struct CommandFigures {
    name: String,
    calls: u64,
    usec: u64,
    rejected: u64,
    failed: u64,
    buckets: [u64; crate::latency::BUCKETS],
}

/// Everything one scrape reports, gathered before any encoding.
#[derive(Debug, Default)]
struct Snapshot {
    /// (name, help, value): plain gauges.
    gauges: Vec<(&'static str, &'static str, f64)>,
    /// (name without `_total`, help, value): plain counters.
    counters: Vec<(&'static str, &'static str, f64)>,
    role: &'static str,
    commands: Vec<CommandFigures>,
    errors: Vec<(String, u64)>,
    keyspace: Vec<(usize, usize)>,
    keys: KeysReport,
    channels: ChannelsReport,
}

/// The `/metrics` body.
pub fn render(srv: &Server) -> String {
    let snapshot = gather(srv);
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut out = String::new();
    if prometheus_client::encoding::prometheus_text::encode(&mut out, &registry).is_err() {
        // Only a formatter error can fail it, and a String never does.
        out.clear();
    }
    out
}

fn gather(srv: &Server) -> Snapshot {
    let stats = &srv.stats;
    let (kbps_in, kbps_out) = stats.net_kbps();
    let (cpu_user, cpu_sys) = crate::alloc::cpu_times();
    let aof = crate::http::dashboard::info_fields(&srv.aof.info());
    let aof_field = |k: &str| {
        aof.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let gauges = vec![
        (
            "cinnabar_uptime_seconds",
            "Seconds since the server started.",
            srv.started.elapsed().as_secs_f64(),
        ),
        (
            "cinnabar_start_time_seconds",
            "Unix time the server started at.",
            srv.start_unix_ms as f64 / 1000.0,
        ),
        (
            "cinnabar_connected_clients",
            "Client connections open (INFO connected_clients).",
            srv.clients.count() as f64,
        ),
        (
            "cinnabar_blocked_clients",
            "Clients blocked on a list, sorted set or stream.",
            srv.blocking.blocked_clients() as f64,
        ),
        (
            "cinnabar_clients_in_timeout_table",
            "Blocked clients with a timeout.",
            srv.blocking.clients_in_timeout_table() as f64,
        ),
        (
            "cinnabar_maxclients",
            "The maxclients setting.",
            srv.config.maxclients.load(Ordering::Relaxed) as f64,
        ),
        (
            "cinnabar_used_memory_bytes",
            "Bytes allocated by the server (INFO used_memory).",
            crate::alloc::allocated() as f64,
        ),
        (
            "cinnabar_used_memory_rss_bytes",
            "Resident set size (INFO used_memory_rss).",
            crate::alloc::rss_bytes() as f64,
        ),
        (
            "cinnabar_used_memory_peak_bytes",
            "Peak of used_memory.",
            crate::alloc::peak() as f64,
        ),
        (
            "cinnabar_maxmemory_bytes",
            "The maxmemory setting (0: no limit).",
            srv.config.maxmemory.load(Ordering::Relaxed) as f64,
        ),
        (
            "cinnabar_instantaneous_ops_per_sec",
            "Commands per second, sampled as INFO's instantaneous_ops_per_sec.",
            stats.ops_per_sec() as f64,
        ),
        (
            "cinnabar_instantaneous_input_kbps",
            "Client input KiB/s (INFO instantaneous_input_kbps).",
            kbps_in,
        ),
        (
            "cinnabar_instantaneous_output_kbps",
            "Client output KiB/s (INFO instantaneous_output_kbps).",
            kbps_out,
        ),
        (
            "cinnabar_pubsub_channels",
            "Channels with at least one subscriber.",
            srv.pubsub.channel_count(crate::pubsub::Kind::Channel) as f64,
        ),
        (
            "cinnabar_pubsub_patterns",
            "Patterns with at least one subscriber.",
            srv.pubsub.numpat() as f64,
        ),
        (
            "cinnabar_pubsub_shard_channels",
            "Shard channels with at least one subscriber.",
            srv.pubsub.channel_count(crate::pubsub::Kind::Shard) as f64,
        ),
        (
            "cinnabar_rdb_changes_since_last_save",
            "Changes since the last RDB save.",
            srv.dirty_total() as f64,
        ),
        (
            "cinnabar_rdb_bgsave_in_progress",
            "1 while a background save runs.",
            srv.persist.bgsave_in_progress.load(Ordering::Relaxed) as u8 as f64,
        ),
        (
            "cinnabar_rdb_last_save_timestamp_seconds",
            "Unix time of the last successful save.",
            load(&srv.last_save) as f64,
        ),
        (
            "cinnabar_rdb_last_bgsave_ok",
            "1 if the last background save succeeded.",
            srv.persist.last_bgsave_ok.load(Ordering::Relaxed) as u8 as f64,
        ),
        (
            "cinnabar_aof_enabled",
            "1 when the append-only file is on.",
            aof_field("aof_enabled"),
        ),
        (
            "cinnabar_aof_rewrite_in_progress",
            "1 while an AOF rewrite runs.",
            aof_field("aof_rewrite_in_progress"),
        ),
        (
            "cinnabar_aof_last_write_ok",
            "1 if the last AOF write succeeded.",
            (aof.get("aof_last_write_status").map(String::as_str) != Some("err")) as u8 as f64,
        ),
        (
            "cinnabar_connected_replicas",
            "Replicas attached (INFO connected_slaves).",
            srv.repl.replica_count() as f64,
        ),
        (
            "cinnabar_master_repl_offset",
            "Replication offset (INFO master_repl_offset).",
            srv.repl.offset() as f64,
        ),
    ];
    let counters = vec![
        (
            "cinnabar_connections_received",
            "Connections accepted.",
            load(&stats.connections_received) as f64,
        ),
        (
            "cinnabar_rejected_connections",
            "Connections refused (maxclients).",
            load(&stats.rejected_connections) as f64,
        ),
        (
            "cinnabar_commands_processed",
            "Commands run (INFO total_commands_processed).",
            stats.sum(|h| &h.commands_processed) as f64,
        ),
        (
            "cinnabar_net_input_bytes",
            "Bytes read from clients.",
            stats.sum(|h| &h.net_input_bytes) as f64,
        ),
        (
            "cinnabar_net_output_bytes",
            "Bytes written to clients.",
            stats.sum(|h| &h.net_output_bytes) as f64,
        ),
        (
            "cinnabar_net_repl_input_bytes",
            "Bytes read from the master.",
            stats.sum(|h| &h.net_repl_input_bytes) as f64,
        ),
        (
            "cinnabar_net_repl_output_bytes",
            "Bytes written to replicas.",
            stats.sum(|h| &h.net_repl_output_bytes) as f64,
        ),
        (
            "cinnabar_reads_processed",
            "Socket reads that moved bytes.",
            stats.sum(|h| &h.reads_processed) as f64,
        ),
        (
            "cinnabar_writes_processed",
            "Socket writes that moved bytes.",
            stats.sum(|h| &h.writes_processed) as f64,
        ),
        (
            "cinnabar_keyspace_hits",
            "Key lookups that found the key.",
            stats.sum(|h| &h.keyspace_hits) as f64,
        ),
        (
            "cinnabar_keyspace_misses",
            "Key lookups that did not.",
            stats.sum(|h| &h.keyspace_misses) as f64,
        ),
        (
            "cinnabar_expired_keys",
            "Keys deleted on expiry.",
            load(&stats.expired_keys) as f64,
        ),
        (
            "cinnabar_evicted_keys",
            "Keys evicted by maxmemory.",
            load(&stats.evicted_keys) as f64,
        ),
        (
            "cinnabar_evicted_clients",
            "Clients closed by maxmemory-clients.",
            load(&stats.evicted_clients) as f64,
        ),
        (
            "cinnabar_error_replies",
            "Error replies sent (INFO total_error_replies).",
            load(&stats.error_replies) as f64,
        ),
        (
            "cinnabar_pubsub_messages_delivered",
            "Pub/sub messages handed to subscribers (each subscriber counts).",
            stats.sum(|h| &h.pubsub_delivered) as f64,
        ),
        (
            "cinnabar_pubsub_slow_subscribers_disconnected",
            "Subscribers disconnected past client-output-buffer-limit pubsub.",
            load(&stats.pubsub_slow_disconnects) as f64,
        ),
        (
            "cinnabar_rdb_saves",
            "RDB saves completed.",
            load(&srv.persist.saves) as f64,
        ),
        (
            "cinnabar_aof_rewrites",
            "AOF rewrites completed.",
            aof_field("aof_rewrites"),
        ),
        (
            "cinnabar_cpu_user_seconds",
            "User CPU time of the server process.",
            cpu_user,
        ),
        (
            "cinnabar_cpu_sys_seconds",
            "System CPU time of the server process.",
            cpu_sys,
        ),
    ];
    let mut errors: Vec<(String, u64)> = stats
        .errors_by_code
        .lock()
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    errors.sort();
    Snapshot {
        gauges,
        counters,
        role: inspect::role(srv),
        commands: command_figures(srv),
        errors,
        keyspace: inspect::keyspace(srv),
        keys: inspect::keys(srv),
        channels: inspect::channels(srv, true),
    }
}

fn command_figures(srv: &Server) -> Vec<CommandFigures> {
    let mut out = Vec::new();
    for (i, (parent, spec)) in srv.commands.all.iter().enumerate() {
        let (calls, usec, rejected, failed) = srv.stats.command_totals(i);
        if calls == 0 && rejected == 0 && failed == 0 {
            continue;
        }
        let mut name = String::new();
        if let Some(p) = parent {
            let _ = write!(name, "{}|", p.name);
        }
        name.push_str(spec.name);
        out.push(CommandFigures {
            name: name.to_ascii_lowercase(),
            calls,
            usec,
            rejected,
            failed,
            buckets: srv.stats.histogram(i).1,
        });
    }
    out
}

type Labels<'a> = Vec<(&'static str, &'a str)>;

/// Writes one metric family of `kind` with one sample per label set.
fn family<V: EncodeGaugeValue + EncodeCounterValue>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: &[(Labels, V)],
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, v) in samples {
        let mut s = m.encode_family(labels)?;
        match kind {
            MetricType::Counter => s.encode_counter::<NoLabelSet, _, u64>(v, None)?,
            _ => s.encode_gauge(v)?,
        }
    }
    Ok(())
}

fn one<V: EncodeGaugeValue + EncodeCounterValue>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    v: V,
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    match kind {
        MetricType::Counter => m.encode_counter::<NoLabelSet, _, u64>(&v, None),
        _ => m.encode_gauge(&v),
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let info = enc.encode_descriptor(
            "cinnabar_build",
            "Cinnabar and Redis protocol versions.",
            None,
            MetricType::Info,
        );
        info?.encode_info(&vec![
            ("version", crate::VERSION),
            ("redis_version", crate::REDIS_VERSION),
            ("role", self.role),
        ])?;
        for (name, help, v) in &self.gauges {
            one(&mut enc, name, help, MetricType::Gauge, *v)?;
        }
        for (name, help, v) in &self.counters {
            one(&mut enc, name, help, MetricType::Counter, *v)?;
        }
        let errors: Vec<(Labels, u64)> = self
            .errors
            .iter()
            .map(|(code, n)| (vec![("error", code.as_str())], *n))
            .collect();
        family(
            &mut enc,
            "cinnabar_errors",
            "Error replies by error code (INFO errorstats).",
            MetricType::Counter,
            &errors,
        )?;
        let dbs: Vec<String> = (0..self.keyspace.len()).map(|i| format!("db{i}")).collect();
        let keys: Vec<(Labels, u64)> = self
            .keyspace
            .iter()
            .enumerate()
            .filter(|(_, c)| c.0 > 0)
            .map(|(i, c)| (vec![("db", dbs[i].as_str())], c.0 as u64))
            .collect();
        family(
            &mut enc,
            "cinnabar_db_keys",
            "Keys per database (INFO keyspace).",
            MetricType::Gauge,
            &keys,
        )?;
        let exp: Vec<(Labels, u64)> = self
            .keyspace
            .iter()
            .enumerate()
            .filter(|(_, c)| c.0 > 0)
            .map(|(i, c)| (vec![("db", dbs[i].as_str())], c.1 as u64))
            .collect();
        family(
            &mut enc,
            "cinnabar_db_keys_expiring",
            "Keys with a TTL per database.",
            MetricType::Gauge,
            &exp,
        )?;
        self.encode_commands(&mut enc)?;
        self.encode_keys(&mut enc, &dbs)?;
        self.encode_channels(&mut enc)
    }
}

impl Snapshot {
    fn encode_commands(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let per = |f: fn(&CommandFigures) -> f64| -> Vec<(Labels, f64)> {
            self.commands
                .iter()
                .map(|c| (vec![("cmd", c.name.as_str())], f(c)))
                .collect()
        };
        family(
            enc,
            "cinnabar_commands",
            "Calls per command (INFO commandstats calls).",
            MetricType::Counter,
            &per(|c| c.calls as f64),
        )?;
        family(
            enc,
            "cinnabar_commands_duration_seconds",
            "Time spent per command (INFO commandstats usec).",
            MetricType::Counter,
            &per(|c| c.usec as f64 / 1e6),
        )?;
        family(
            enc,
            "cinnabar_commands_rejected_calls",
            "Calls refused before running (INFO commandstats rejected_calls).",
            MetricType::Counter,
            &per(|c| c.rejected as f64),
        )?;
        family(
            enc,
            "cinnabar_commands_failed_calls",
            "Calls that ran and failed (INFO commandstats failed_calls).",
            MetricType::Counter,
            &per(|c| c.failed as f64),
        )?;
        // The histograms INFO latencystats reads: bucket b holds calls of at
        // most 2^b µs; the last one everything longer (+Inf).
        let mut m = enc.encode_descriptor(
            "cinnabar_command_latency_seconds",
            "Command run time by power-of-two buckets (INFO latencystats' histograms; latency-tracking yes).",
            None,
            MetricType::Histogram,
        )?;
        for c in &self.commands {
            let count: u64 = c.buckets.iter().sum();
            if count == 0 {
                continue;
            }
            let bounds: Vec<(f64, u64)> = c
                .buckets
                .iter()
                .enumerate()
                .map(|(b, n)| {
                    let le = if b + 1 == crate::latency::BUCKETS {
                        f64::INFINITY
                    } else {
                        (1u64 << b) as f64 / 1e6
                    };
                    (le, *n)
                })
                .collect();
            let labels = vec![("cmd", c.name.as_str())];
            m.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                c.usec as f64 / 1e6,
                count,
                &bounds,
                None,
            )?;
        }
        Ok(())
    }

    fn encode_keys(
        &self,
        enc: &mut DescriptorEncoder,
        dbs: &[String],
    ) -> Result<(), std::fmt::Error> {
        let lists = &self.keys.lists;
        let l = |f: fn(&inspect::ListReport) -> u64| -> Vec<(Labels, u64)> {
            lists
                .iter()
                .map(|r| {
                    (
                        vec![("db", dbs[r.db].as_str()), ("key", r.key.as_str())],
                        f(r),
                    )
                })
                .collect()
        };
        family(
            enc,
            "cinnabar_list_length",
            "Length of each list named by metrics-keys or waited on.",
            MetricType::Gauge,
            &l(|r| r.len),
        )?;
        family(
            enc,
            "cinnabar_list_blocked_clients",
            "Clients blocked on each reported list.",
            MetricType::Gauge,
            &l(|r| r.blocked as u64),
        )?;
        let streams = &self.keys.streams;
        let s = |f: fn(&inspect::StreamReport) -> u64| -> Vec<(Labels, u64)> {
            streams
                .iter()
                .map(|r| {
                    (
                        vec![("db", dbs[r.db].as_str()), ("key", r.key.as_str())],
                        f(r),
                    )
                })
                .collect()
        };
        family(
            enc,
            "cinnabar_stream_length",
            "Entries in each stream named by metrics-keys.",
            MetricType::Gauge,
            &s(|r| r.len),
        )?;
        family(
            enc,
            "cinnabar_stream_blocked_clients",
            "Clients blocked reading each reported stream.",
            MetricType::Gauge,
            &s(|r| r.blocked as u64),
        )?;
        family(
            enc,
            "cinnabar_stream_groups",
            "Consumer groups of each reported stream.",
            MetricType::Gauge,
            &s(|r| r.groups.len() as u64),
        )?;
        let mut g: Vec<(Labels, &inspect::GroupReport)> = Vec::new();
        for r in streams {
            for grp in &r.groups {
                g.push((
                    vec![
                        ("db", dbs[r.db].as_str()),
                        ("key", r.key.as_str()),
                        ("group", grp.name.as_str()),
                    ],
                    grp,
                ));
            }
        }
        let gf = |f: fn(&inspect::GroupReport) -> Option<f64>| -> Vec<(Labels, f64)> {
            g.iter()
                .filter_map(|(l, r)| f(r).map(|v| (l.clone(), v)))
                .collect()
        };
        family(
            enc,
            "cinnabar_stream_group_lag",
            "Entries not yet delivered to the group (XINFO GROUPS lag; absent when unknown).",
            MetricType::Gauge,
            &gf(|r| r.lag.map(|v| v as f64)),
        )?;
        family(
            enc,
            "cinnabar_stream_group_entries_read",
            "Entries the group has read (XINFO GROUPS entries-read).",
            MetricType::Gauge,
            &gf(|r| Some(r.entries_read as f64)),
        )?;
        family(
            enc,
            "cinnabar_stream_group_pending",
            "Entries delivered and not acknowledged (XPENDING count).",
            MetricType::Gauge,
            &gf(|r| Some(r.pending as f64)),
        )?;
        family(
            enc,
            "cinnabar_stream_group_oldest_pending_idle_seconds",
            "Time since the least recently delivered pending entry was delivered.",
            MetricType::Gauge,
            &gf(|r| r.oldest_pending_idle_ms.map(|ms| ms as f64 / 1000.0)),
        )?;
        family(
            enc,
            "cinnabar_stream_group_pending_over_deliveries",
            "Pending entries delivered more than metrics-deliveries-threshold times.",
            MetricType::Gauge,
            &gf(|r| Some(r.over_delivered as f64)),
        )?;
        family(
            enc,
            "cinnabar_stream_group_consumers",
            "Consumers in the group.",
            MetricType::Gauge,
            &gf(|r| Some(r.consumers as f64)),
        )?;
        one(enc, "cinnabar_metrics_keys_truncated", "1 if metrics-keys matched more than metrics-keys-max keys (or too many to scan): the per-key metrics are partial.", MetricType::Gauge, self.keys.truncated as u8 as u64)
    }

    fn encode_channels(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let c: Vec<(Labels, u64)> = self
            .channels
            .channels
            .iter()
            .map(|(n, s)| (vec![("channel", n.as_str())], *s as u64))
            .collect();
        family(
            enc,
            "cinnabar_pubsub_channel_subscribers",
            "Subscribers of each channel named by metrics-keys.",
            MetricType::Gauge,
            &c,
        )?;
        let p: Vec<(Labels, u64)> = self
            .channels
            .patterns
            .iter()
            .map(|(n, s)| (vec![("pattern", n.as_str())], *s as u64))
            .collect();
        family(
            enc,
            "cinnabar_pubsub_pattern_subscribers",
            "Subscribers of each pattern named by metrics-keys.",
            MetricType::Gauge,
            &p,
        )
    }
}
