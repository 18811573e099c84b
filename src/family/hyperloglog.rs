//! PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST over `types::hll` (Redis
//! 7.0's hyperloglog.c): HyperLogLogs are strings in Redis's format.

use bytes::Bytes;

use crate::command::args::eq;
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{msg, CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;
use crate::types::hll;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "pfadd",
        -2,
        WRITE | DENYOOM | FAST,
        Keys::Range(1, 1, 1),
        pfadd,
    )
    .doc(
        "hyperloglog",
        "2.8.9",
        "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.",
    ),
    CommandSpec::new(
        "pfcount",
        -2,
        READONLY | MAY_REPLICATE,
        Keys::Range(1, -1, 1),
        pfcount,
    )
    .doc(
        "hyperloglog",
        "2.8.9",
        "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).",
    ),
    CommandSpec::new(
        "pfmerge",
        -2,
        WRITE | DENYOOM,
        Keys::Range(1, -1, 1),
        pfmerge,
    )
    .doc(
        "hyperloglog",
        "2.8.9",
        "Merges one or more HyperLogLog values into a single key.",
    ),
    CommandSpec::new(
        "pfdebug",
        3,
        WRITE | DENYOOM | ADMIN,
        Keys::Range(2, 2, 1),
        pfdebug,
    )
    .doc(
        "hyperloglog",
        "2.8.9",
        "Internal commands for debugging HyperLogLog values.",
    ),
    CommandSpec::new("pfselftest", 1, ADMIN, Keys::None, pfselftest).doc(
        "hyperloglog",
        "2.8.9",
        "An internal command for testing HyperLogLog values.",
    ),
];

fn sparse_max(ctx: &Ctx) -> usize {
    ctx.srv.config.get_int("hll-sparse-max-bytes").max(0) as usize
}

/// The HLL at `key`: `None` if absent; WRONGTYPE (Redis's HLL text) for
/// anything but a HyperLogLog string.
fn read(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Option<Bytes>> {
    match super::string::get_string(ctx, key)? {
        None => Ok(None),
        Some(s) if hll::is_hll(&s) => Ok(Some(s)),
        Some(_) => Err(CmdError::custom(msg::HLL_WRONGTYPE)),
    }
}

fn corrupt(_: hll::Corrupt) -> CmdError {
    CmdError::custom(msg::HLL_CORRUPT)
}

fn store(ctx: &mut Ctx, key: &Bytes, s: Vec<u8>, existed: bool) {
    // An existing HLL keeps its TTL (Redis changes the string in place).
    ctx.set_value(key, Value::Str(Bytes::from(s)), existed);
}

fn pfadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let (mut s, existed) = match read(ctx, key)? {
        Some(s) => (s.to_vec(), true),
        None => (hll::new(), false),
    };
    let max = sparse_max(ctx);
    let mut updated = u64::from(!existed);
    for e in &a[2..] {
        if hll::add(&mut s, e, max).map_err(corrupt)? {
            updated += 1;
        }
    }
    if updated > 0 {
        hll::invalidate_cache(&mut s);
        store(ctx, key, s, existed);
        ctx.mark_dirty(updated - 1);
        ctx.notify(notify::STRING, "pfadd", key);
    }
    Ok(Reply::Int((updated > 0) as i64))
}

fn pfcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 2 {
        let mut max = vec![0u8; hll::REGISTERS];
        for key in &a[1..] {
            if let Some(s) = read(ctx, key)? {
                hll::merge_into(&mut max, &s).map_err(corrupt)?;
            }
        }
        return Ok(Reply::Int(hll::count_registers(&max) as i64));
    }
    let key = &a[1];
    let Some(s) = read(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    if let Some(card) = hll::cached(&s) {
        return Ok(Reply::Int(card as i64));
    }
    let card = hll::count(&s).map_err(corrupt)?;
    // The cached cardinality is written back: a change, replicated as
    // Redis does (PFCOUNT may replicate).
    let mut s = s.to_vec();
    hll::set_cache(&mut s, card);
    store(ctx, key, s, true);
    Ok(Reply::Int(card as i64))
}

fn pfmerge(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut max = vec![0u8; hll::REGISTERS];
    let mut dense = false;
    for key in &a[1..] {
        if let Some(s) = read(ctx, key)? {
            dense |= s[4] == hll::DENSE;
            hll::merge_into(&mut max, &s).map_err(corrupt)?;
        }
    }
    let dest = &a[1];
    let (mut s, existed) = match read(ctx, dest)? {
        Some(s) => (s.to_vec(), true),
        None => (hll::new(), false),
    };
    if dense {
        hll::to_dense(&mut s).map_err(corrupt)?;
    }
    let limit = sparse_max(ctx);
    for (i, &m) in max.iter().enumerate() {
        if m > 0 {
            hll::set(&mut s, i, m, limit).map_err(corrupt)?;
        }
    }
    hll::invalidate_cache(&mut s);
    store(ctx, dest, s, existed);
    ctx.notify(notify::STRING, "pfadd", dest);
    Ok(Reply::Ok)
}

/// PFDEBUG GETREG | DECODE | ENCODING | TODENSE key.
fn pfdebug(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[2];
    let Some(s) = read(ctx, key)? else {
        return Err(CmdError::custom(msg::HLL_NO_SUCH_KEY));
    };
    let sub = String::from_utf8_lossy(&a[1]).into_owned();
    let to_dense = |ctx: &mut Ctx| -> CmdResult<Vec<u8>> {
        let mut d = s.to_vec();
        if d[4] == hll::SPARSE {
            hll::to_dense(&mut d).map_err(corrupt)?;
            store(ctx, key, d.clone(), true);
        }
        Ok(d)
    };
    if eq(&a[1], "getreg") {
        let d = to_dense(ctx)?;
        return Ok(Reply::Array(
            (0..hll::REGISTERS)
                .map(|i| Reply::Int(hll::dense_get(&d[hll::HDR..], i) as i64))
                .collect(),
        ));
    }
    if eq(&a[1], "decode") {
        if s[4] != hll::SPARSE {
            return Err(CmdError::custom(msg::HLL_NOT_SPARSE));
        }
        return Ok(Reply::Bulk(Bytes::from(hll::decode(&s).map_err(corrupt)?)));
    }
    if eq(&a[1], "encoding") {
        return Ok(Reply::Status(if s[4] == hll::DENSE {
            "dense"
        } else {
            "sparse"
        }));
    }
    if eq(&a[1], "todense") {
        let was_sparse = s[4] == hll::SPARSE;
        to_dense(ctx)?;
        return Ok(Reply::Int(was_sparse as i64));
    }
    Err(CmdError::Custom(msg::pfdebug_unknown(&sub)))
}

/// PFSELFTEST: checks the dense register packing for every register and
/// value, and that sparse and dense encodings of the same elements hold the
/// same registers and estimate within HyperLogLog's error.
fn pfselftest(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let mut dense = hll::new();
    hll::to_dense(&mut dense).map_err(corrupt)?;
    for round in 0..4u8 {
        let mut want = vec![0u8; hll::REGISTERS];
        for (i, w) in want.iter_mut().enumerate() {
            *w = ((i as u64 * 2654435761 + round as u64) % 64) as u8;
        }
        let mut d = vec![0u8; hll::DENSE_SIZE - hll::HDR];
        for (i, &w) in want.iter().enumerate() {
            if w > 0 {
                let mut probe = dense.clone();
                probe[hll::HDR..].copy_from_slice(&d);
                hll::set(&mut probe, i, w, 0).map_err(corrupt)?;
                d.copy_from_slice(&probe[hll::HDR..]);
            }
        }
        for (i, &w) in want.iter().enumerate() {
            if hll::dense_get(&d, i) != w {
                return Err(CmdError::Custom(msg::hll_selftest_failed("register")));
            }
        }
    }
    let mut sparse = hll::new();
    for i in 0..10_000u32 {
        let e = i.to_le_bytes();
        hll::add(&mut sparse, &e, 1 << 20).map_err(corrupt)?;
        hll::add(&mut dense, &e, 1 << 20).map_err(corrupt)?;
    }
    if hll::registers(&sparse).map_err(corrupt)? != hll::registers(&dense).map_err(corrupt)? {
        return Err(CmdError::Custom(msg::hll_selftest_failed("sparse/dense")));
    }
    let n = hll::count(&dense).map_err(corrupt)? as f64;
    // 5 standard errors of 1.04/sqrt(16384).
    if (n - 10_000.0).abs() / 10_000.0 > 5.0 * 0.008125 {
        return Err(CmdError::Custom(msg::hll_selftest_failed("estimate")));
    }
    Ok(Reply::Ok)
}
