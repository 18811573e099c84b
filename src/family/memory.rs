//! MEMORY USAGE (and MEMORY HELP): an estimate of the bytes a key holds.
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
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    ))
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
