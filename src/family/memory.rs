//! MEMORY USAGE (an estimate of the bytes a key holds), STATS, DOCTOR,
//! MALLOC-STATS, PURGE and HELP.
//!
//! The figure is computed from the representation (buffer capacities, slot
//! counts), not measured from the allocator, so it is an approximation, as
//! Redis's own sampled `objectComputeSize` is. SAMPLES is accepted and ignored:
//! every element is counted.

use bytes::Bytes;

use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Value;
use crate::reply::Reply;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::new("memory", -2, 0, Keys::None, memory_help)
    .doc(
        "server",
        "4.0.0",
        "A container for memory diagnostics commands.",
    )
    .subs(SUBS)];

static SUBS: &[CommandSpec] = &[
    CommandSpec::new("stats", 2, 0, Keys::None, stats).doc(
        "server",
        "4.0.0",
        "Returns details about memory usage.",
    ),
    CommandSpec::new("doctor", 2, 0, Keys::None, doctor).doc(
        "server",
        "4.0.0",
        "Outputs a memory problems report.",
    ),
    CommandSpec::new("malloc-stats", 2, 0, Keys::None, malloc_stats).doc(
        "server",
        "4.0.0",
        "Returns the allocator statistics.",
    ),
    CommandSpec::new("purge", 2, 0, Keys::None, purge).doc(
        "server",
        "4.0.0",
        "Asks the allocator to release memory.",
    ),
    CommandSpec::new("usage", -3, READONLY, Keys::Range(2, 2, 1), usage).doc(
        "server",
        "4.0.0",
        "Estimates the memory usage of a key.",
    ),
    CommandSpec::new("help", 2, LOADING | STALE, Keys::None, memory_help).doc(
        "server",
        "4.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

fn memory_help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "memory"));
    }
    Ok(crate::family::keys::help_reply(
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    ))
}

/// MEMORY STATS: Redis's field names, with the figures this server knows
/// (the ones it cannot account for, such as per-client buffers, are left out
/// rather than reported as zero).
fn stats(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let allocated = crate::alloc::allocated() as u64;
    let peak = (crate::alloc::peak() as u64).max(allocated);
    let rss = crate::alloc::rss_bytes();
    let mut keys = 0u64;
    ctx.each_shard(|s| keys += s.dbs.iter().map(|d| d.len() as u64).sum::<u64>());
    let scripts = ctx.srv.scripts.count() as i64;
    let functions: u64 = ctx
        .srv
        .functions
        .codes()
        .iter()
        .map(|c| c.len() as u64)
        .sum();
    let bulk = |s: &str| Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()));
    let int = |n: u64| Reply::Int(n as i64);
    Ok(Reply::Map(vec![
        (bulk("peak.allocated"), int(peak)),
        (bulk("total.allocated"), int(allocated)),
        (bulk("lua.caches"), Reply::Int(scripts)),
        (bulk("functions.caches"), int(functions)),
        (bulk("keys.count"), int(keys)),
        (
            bulk("keys.bytes-per-key"),
            int(allocated.checked_div(keys).unwrap_or(0)),
        ),
        (bulk("dataset.bytes"), int(allocated)),
        (
            bulk("peak.percentage"),
            Reply::Double(if peak > 0 {
                allocated as f64 * 100.0 / peak as f64
            } else {
                100.0
            }),
        ),
        (bulk("allocator.resident"), int(rss)),
        (
            bulk("fragmentation"),
            Reply::Double(if allocated > 0 {
                rss as f64 / allocated as f64
            } else {
                0.0
            }),
        ),
        (
            bulk("fragmentation.bytes"),
            Reply::Int(rss as i64 - allocated as i64),
        ),
    ]))
}

/// MEMORY DOCTOR: Redis's verdicts for the cases it can tell here.
fn doctor(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let allocated = crate::alloc::allocated();
    let text = if allocated < 5 << 20 {
        crate::error::msg::MEMORY_DOCTOR_EMPTY
    } else {
        crate::error::msg::MEMORY_DOCTOR_FINE
    };
    Ok(Reply::Verbatim("txt", Bytes::from_static(text.as_bytes())))
}

fn malloc_stats(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Verbatim(
        "txt",
        Bytes::from_static(crate::error::msg::MALLOC_STATS_UNSUPPORTED.as_bytes()),
    ))
}

/// MEMORY PURGE: nothing to ask of the system allocator (as Redis without jemalloc).
fn purge(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Ok)
}

/// Per-key overhead: the map slot (key `Bytes` + `Entry`) and the key bytes.
const KEY_OVERHEAD: usize = 64;

/// Bytes held by a value, estimated from its representation.
pub fn value_size(v: &Value) -> usize {
    match v {
        Value::Str(b) => b.len(),
        Value::List(l) => l.iter().map(|e| e.len() + 1).sum::<usize>() + 64,
        Value::Set(s) => s.memory(),
        Value::Hash(h) => h.memory() + 32,
        Value::Stream(st) => st.memory(),
        Value::Zset(z) => z.memory(),
    }
}

fn usage(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut i = 3;
    while i < a.len() {
        if eq(&a[i], "samples") && i + 1 < a.len() {
            if int(&a[i + 1])? < 0 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let key = &a[2];
    Ok(match ctx.lookup(key) {
        Some(e) => Reply::Int((KEY_OVERHEAD + key.len() + value_size(&e.value)) as i64),
        None => Reply::Nil,
    })
}
