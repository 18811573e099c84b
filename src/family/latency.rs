//! LATENCY: the latency monitor's events (`crate::latency`) and the
//! per-command latency histograms (LATENCY HISTOGRAM, Redis 7).

use bytes::Bytes;
use std::sync::atomic::Ordering;

use crate::command::args::eq;
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;

const LATENCY: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::new("latency", -2, 0, Keys::None, help)
    .doc(
        "server",
        "2.8.13",
        "A container for latency diagnostics commands.",
    )
    .subs(&[
        CommandSpec::new("doctor", 2, LATENCY, Keys::None, doctor).doc(
            "server",
            "2.8.13",
            "Returns a human-readable latency analysis report.",
        ),
        CommandSpec::new("graph", 3, LATENCY, Keys::None, graph).doc(
            "server",
            "2.8.13",
            "Returns a latency graph for an event.",
        ),
        CommandSpec::new("histogram", -2, LATENCY, Keys::None, histogram).doc(
            "server",
            "7.0.0",
            "Returns the cumulative distribution of latencies of a subset or all commands.",
        ),
        CommandSpec::new("history", 3, LATENCY, Keys::None, history).doc(
            "server",
            "2.8.13",
            "Returns timestamp-latency samples for an event.",
        ),
        CommandSpec::new("latest", 2, LATENCY, Keys::None, latest).doc(
            "server",
            "2.8.13",
            "Returns the latest latency samples for all events.",
        ),
        CommandSpec::new("reset", -2, LATENCY, Keys::None, reset).doc(
            "server",
            "2.8.13",
            "Resets the latency data for one or more events.",
        ),
        CommandSpec::new("help", 2, LOADING | STALE, Keys::None, help).doc(
            "server",
            "2.8.13",
            "Returns helpful text about the different subcommands.",
        ),
    ])];

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn doctor(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let threshold = ctx.srv.config.latency_threshold.load(Ordering::Relaxed);
    Ok(Reply::Verbatim(
        "txt",
        Bytes::from(ctx.srv.latency.doctor(threshold)),
    ))
}

/// LATENCY GRAPH event: the samples as rows of `#`, newest last.
fn graph(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let samples = ctx.srv.latency.history(&a[2]);
    if samples.is_empty() {
        return Err(CmdError::Custom(crate::error::msg::latency_no_samples(
            &String::from_utf8_lossy(&a[2]),
        )));
    }
    let max = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let min = samples.iter().map(|s| s.1).min().unwrap_or(0);
    let now = crate::server::unix_ms() / 1000;
    let mut out = format!(
        "{} - high {max} ms, low {min} ms (all time high {max} ms)\n",
        String::from_utf8_lossy(&a[2])
    );
    out.push_str(&"-".repeat(80));
    out.push('\n');
    for (t, ms) in samples {
        let width = (ms * 60 / max.max(1)).max(1) as usize;
        out.push_str(&format!(
            "{:>6}s ago {:>6} ms {}\n",
            now.saturating_sub(t),
            ms,
            "#".repeat(width)
        ));
    }
    Ok(Reply::Verbatim("txt", Bytes::from(out)))
}

/// One command's entry: `calls` and the cumulative counts per bucket
/// (bucket limits in µs), only where the count grows.
fn histogram_of(ctx: &Ctx, stat: usize) -> Option<Reply> {
    let (calls, buckets) = ctx.srv.stats.histogram(stat);
    if calls == 0 {
        return None;
    }
    let mut cdf = Vec::new();
    let mut cumulative = 0;
    for (b, n) in buckets.iter().enumerate() {
        if *n > 0 {
            cumulative += n;
            cdf.push((Reply::Int(1i64 << b), Reply::Int(cumulative as i64)));
        }
    }
    Some(Reply::Map(vec![
        (bulk("calls"), Reply::Int(calls as i64)),
        (bulk("histogram_usec"), Reply::Map(cdf)),
    ]))
}

fn full_name(parent: Option<&CommandSpec>, spec: &CommandSpec) -> String {
    match parent {
        Some(p) => format!("{}|{}", p.name, spec.name),
        None => spec.name.to_string(),
    }
}

/// LATENCY HISTOGRAM [command …]: every command called so far, or the ones
/// named (a container stands for its subcommands; unknown names are skipped).
fn histogram(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let all = &ctx.srv.commands.all;
    let wanted: Vec<String> = a[2..]
        .iter()
        .map(|n| String::from_utf8_lossy(n).to_ascii_lowercase())
        .collect();
    let mut out = Vec::new();
    for (stat, (parent, spec)) in all.iter().enumerate() {
        let name = full_name(*parent, spec);
        let chosen = wanted.is_empty()
            || wanted.iter().any(|w| {
                *w == name || parent.is_some_and(|p| *w == p.name && !p.subcommands.is_empty())
            });
        if !chosen {
            continue;
        }
        if let Some(h) = histogram_of(ctx, stat) {
            out.push((bulk(&name), h));
        }
    }
    Ok(Reply::Map(out))
}

fn history(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(
        ctx.srv
            .latency
            .history(&a[2])
            .into_iter()
            .map(|(t, ms)| Reply::Array(vec![Reply::Int(t as i64), Reply::Int(ms as i64)]))
            .collect(),
    ))
}

fn latest(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(
        ctx.srv
            .latency
            .latest()
            .into_iter()
            .map(|(name, t, ms, max)| {
                Reply::Array(vec![
                    bulk(name),
                    Reply::Int(t as i64),
                    Reply::Int(ms as i64),
                    Reply::Int(max as i64),
                ])
            })
            .collect(),
    ))
}

fn reset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let only: Vec<&[u8]> = a[2..].iter().map(|b| b.as_ref()).collect();
    Ok(Reply::Int(ctx.srv.latency.reset(&only) as i64))
}

fn help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "latency"));
    }
    Ok(super::keys::help_reply(
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    ))
}
