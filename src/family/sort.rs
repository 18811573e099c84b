//! SORT and SORT_RO over lists and sets, with BY / GET patterns on string keys.
//!
//! BY and GET name keys only known at run time, so SORT locks every shard.

use std::cmp::Ordering;

use bytes::{Bytes, BytesMut};

use crate::command::args::{eq, int, parse_float};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{msg, CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;
use crate::types::list::List;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "sort",
        -2,
        WRITE | DENYOOM | ALL_SHARDS,
        Keys::Range(1, 1, 1),
        sort,
    )
    .doc(
        "generic",
        "1.0.0",
        "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
    ),
    CommandSpec::new(
        "sort_ro",
        -2,
        READONLY | ALL_SHARDS,
        Keys::Range(1, 1, 1),
        sort_ro,
    )
    .doc(
        "generic",
        "7.0.0",
        "Returns the sorted elements of a list, a set, or a sorted set.",
    ),
];

fn sort(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    sort_generic(ctx, a, false)
}

fn sort_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    sort_generic(ctx, a, true)
}

/// Replaces the first `*` of `pattern` with `elem`; `None` if there is no `*`.
fn substitute(pattern: &[u8], elem: &[u8]) -> Option<Bytes> {
    let star = pattern.iter().position(|&c| c == b'*')?;
    let mut b = BytesMut::with_capacity(pattern.len() + elem.len());
    b.extend_from_slice(&pattern[..star]);
    b.extend_from_slice(elem);
    b.extend_from_slice(&pattern[star + 1..]);
    Some(b.freeze())
}

/// The string a BY/GET pattern points at (`#` is the element itself).
fn lookup_pattern(ctx: &mut Ctx, pattern: &[u8], elem: &Bytes) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(elem.clone());
    }
    // `key->field` names a hash field: the arrow must come after the `*` and
    // be followed by a field name, else the pattern is a plain key (Redis's
    // lookupKeyByPattern).
    let star = pattern.iter().position(|&c| c == b'*')?;
    let arrow = pattern[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|p| star + 1 + p)
        .filter(|&p| p + 2 < pattern.len());
    let (key_pat, field) = match arrow {
        Some(p) => (&pattern[..p], Some(&pattern[p + 2..])),
        None => (pattern, None),
    };
    let key = substitute(key_pat, elem)?;
    match (ctx.lookup(&key).map(|e| &e.value), field) {
        (Some(Value::Str(s)), None) => Some(s.clone()),
        (Some(Value::Hash(h)), Some(f)) => h.get(f).map(Bytes::copy_from_slice),
        _ => None,
    }
}

/// ACLUserCheckCmdWithUnrestrictedKeyAccess(…, CMD_KEY_ACCESS).
fn full_read_access(ctx: &mut Ctx, a: &[Bytes]) -> bool {
    let srv = ctx.srv;
    let Some(rules) = ctx.client.acl_rules(&srv.acl) else {
        return true;
    };
    let Some(r) = srv.commands.resolve(a) else {
        return false;
    };
    rules.command_with_all_keys(
        &srv.acl.commands,
        r.stat,
        a,
        crate::command::keyspecs::kflag::ACCESS,
    )
}

fn sort_generic(ctx: &mut Ctx, a: &[Bytes], read_only: bool) -> CmdResult<Reply> {
    let mut desc = false;
    let mut alpha = false;
    let mut limit: Option<(i64, i64)> = None;
    let mut by: Option<Bytes> = None;
    let mut gets: Vec<Bytes> = Vec::new();
    let mut store: Option<Bytes> = None;
    let mut i = 2;
    while i < a.len() {
        let left = a.len() - 1 - i;
        if eq(&a[i], "asc") {
            desc = false;
        } else if eq(&a[i], "desc") {
            desc = true;
        } else if eq(&a[i], "alpha") {
            alpha = true;
        } else if eq(&a[i], "limit") && left >= 2 {
            limit = Some((int(&a[i + 1])?, int(&a[i + 2])?));
            i += 2;
        } else if eq(&a[i], "store") && left >= 1 && !read_only {
            store = Some(a[i + 1].clone());
            i += 1;
        } else if eq(&a[i], "by") && left >= 1 {
            // A real pattern reads keys the command does not name: only
            // for a user who may read every key.
            if a[i + 1].contains(&b'*') && !full_read_access(ctx, a) {
                return Err(CmdError::custom(msg::SORT_BY_DENIED));
            }
            by = Some(a[i + 1].clone());
            i += 1;
        } else if eq(&a[i], "get") && left >= 1 {
            if !full_read_access(ctx, a) {
                return Err(CmdError::custom(msg::SORT_GET_DENIED));
            }
            gets.push(a[i + 1].clone());
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let mut elems: Vec<Bytes> = match ctx.lookup(&a[1]) {
        None => Vec::new(),
        Some(e) => match &mut e.value {
            Value::List(l) => l.to_vec(),
            Value::Set(s) => s.iter().map(|m| m.to_bytes()).collect(),
            Value::Zset(z) => {
                // Redis's SORT converts a listpack sorted set to a skiplist for
                // good (visible in OBJECT ENCODING).
                z.convert_to_skiplist();
                z.iter().map(|(_, m)| Bytes::copy_from_slice(m)).collect()
            }
            _ => return Err(CmdError::WrongType),
        },
    };
    let mut dont_sort = by.as_ref().is_some_and(|b| !b.contains(&b'*'));
    // Sets have no order of their own: when storing or inside a script,
    // sort them anyway, by their members as strings (Redis forces ALPHA),
    // so replicas and the AOF see the same result.
    let is_set = matches!(ctx.lookup(&a[1]).map(|e| &e.value), Some(Value::Set(_)));
    if dont_sort && is_set && (store.is_some() || ctx.in_script) {
        dont_sort = false;
        alpha = true;
        by = None;
    }
    // A list not sorted keeps its order, read from the tail for DESC.
    if dont_sort && desc && !is_set {
        elems.reverse();
    }
    if !dont_sort {
        let mut keyed: Vec<(Bytes, Option<Bytes>)> = Vec::with_capacity(elems.len());
        for e in elems.drain(..) {
            let w = match &by {
                Some(p) => lookup_pattern(ctx, p, &e),
                None => Some(e.clone()),
            };
            keyed.push((e, w));
        }
        let mut scored: Vec<(Bytes, Option<Bytes>, f64)> = Vec::with_capacity(keyed.len());
        for (e, w) in keyed {
            let score = if alpha {
                0.0
            } else {
                match &w {
                    // strtod reads "" as 0 with nothing left over: Redis accepts it.
                    Some(v) if v.is_empty() => 0.0,
                    Some(v) => parse_float(v).ok_or_else(|| {
                        CmdError::custom(crate::error::msg::ONE_OR_MORE_SCORES_CAN_T)
                    })?,
                    None => 0.0,
                }
            };
            scored.push((e, w, score));
        }
        scored.sort_by(|x, y| {
            let c = if alpha {
                x.1.as_deref()
                    .unwrap_or(b"")
                    .cmp(y.1.as_deref().unwrap_or(b""))
            } else {
                x.2.partial_cmp(&y.2)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| x.0.cmp(&y.0))
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        });
        elems = scored.into_iter().map(|(e, _, _)| e).collect();
    }
    if let Some((offset, count)) = limit {
        let len = elems.len() as i64;
        let start = offset.clamp(0, len) as usize;
        let n = if count < 0 { len } else { count.min(len) } as usize;
        elems = elems.into_iter().skip(start).take(n).collect();
    }
    let rows: Vec<Option<Bytes>> = if gets.is_empty() {
        elems.into_iter().map(Some).collect()
    } else {
        let mut rows = Vec::new();
        for e in &elems {
            for g in &gets {
                rows.push(lookup_pattern(ctx, g, e));
            }
        }
        rows
    };
    match store {
        None => Ok(Reply::Array(
            rows.into_iter().map(Reply::opt_bulk).collect(),
        )),
        Some(dst) => {
            let n = rows.len();
            if n == 0 {
                if ctx.delete(&dst) {
                    ctx.notify(notify::GENERIC, "del", &dst);
                }
            } else {
                let list = List::from_slices(rows.iter().map(|r| r.as_deref().unwrap_or(b"")));
                ctx.set_value(&dst, Value::List(std::sync::Arc::new(list)), false);
                ctx.notify(notify::LIST, "sortstore", &dst);
                ctx.signal_ready(&dst);
            }
            Ok(Reply::Int(n as i64))
        }
    }
}
