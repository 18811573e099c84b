//! Sets: the membership commands (the set-algebra commands come with the sets issue).

use std::collections::HashSet;

use bytes::Bytes;

use crate::command::args::int;
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;

const K1: Keys = Keys::Range(1, 1, 1);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sadd", -3, WRITE | DENYOOM | FAST, K1, sadd).doc("set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist."),
    CommandSpec::new("srem", -3, WRITE | FAST, K1, srem).doc("set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed."),
    CommandSpec::new("smembers", 2, READONLY, K1, smembers).doc("set", "1.0.0", "Returns all members of a set."),
    CommandSpec::new("sismember", 3, READONLY | FAST, K1, sismember).doc("set", "1.0.0", "Determines whether a member belongs to a set."),
    CommandSpec::new("smismember", -3, READONLY | FAST, K1, smismember).doc("set", "6.2.0", "Determines whether multiple members belong to a set."),
    CommandSpec::new("scard", 2, READONLY | FAST, K1, scard).doc("set", "1.0.0", "Returns the number of members in a set."),
    CommandSpec::new("srandmember", -2, READONLY, K1, srandmember).doc("set", "1.0.0", "Get one or multiple random members from a set."),
    CommandSpec::new("sscan", -3, READONLY, K1, sscan).doc("set", "2.8.0", "Iterates over members of a set."),
    CommandSpec::new("spop", -2, WRITE | FAST, K1, spop).doc("set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped."),
];

fn set_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c mut HashSet<Bytes>>> {
    match ctx.lookup(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Set(s) => Ok(Some(s)),
            _ => Err(CmdError::WrongType),
        },
    }
}

fn sadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let added = match set_mut(ctx, key)? {
        Some(s) => {
            // Members are copied out of the read buffer (see `Db::insert`).
            let n = a[2..]
                .iter()
                .filter(|m| !s.contains(m.as_ref()) && s.insert(Bytes::copy_from_slice(m)))
                .count();
            if n > 0 {
                ctx.modified(key);
            }
            n
        }
        None => {
            let s: HashSet<Bytes> = a[2..].iter().map(|m| Bytes::copy_from_slice(m)).collect();
            let n = s.len();
            ctx.set_value(key, Value::Set(Box::new(s)), false);
            ctx.notify(notify::NEW, "new", key);
            n
        }
    };
    if added > 0 {
        ctx.notify(notify::SET, "sadd", key);
    }
    Ok(Reply::Int(added as i64))
}

/// Deletes the key once its set is empty (Redis never keeps empty sets).
fn drop_if_empty(ctx: &mut Ctx, key: &Bytes) {
    if set_mut(ctx, key)
        .ok()
        .flatten()
        .is_some_and(|s| s.is_empty())
    {
        ctx.delete(key);
        ctx.notify(notify::GENERIC, "del", key);
    } else {
        ctx.modified(key);
    }
}

fn srem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let Some(s) = set_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let n = a[2..].iter().filter(|m| s.remove(m.as_ref())).count();
    if n > 0 {
        ctx.notify(notify::SET, "srem", key);
        drop_if_empty(ctx, key);
    }
    Ok(Reply::Int(n as i64))
}

fn smembers(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Set(
        set_mut(ctx, &a[1])?
            .map(|s| s.iter().cloned().map(Reply::Bulk).collect())
            .unwrap_or_default(),
    ))
}

fn sismember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        set_mut(ctx, &a[1])?.is_some_and(|s| s.contains(&a[2])) as i64,
    ))
}

fn smismember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let s = set_mut(ctx, &a[1])?;
    Ok(Reply::Array(
        a[2..]
            .iter()
            .map(|m| Reply::Int(s.as_ref().is_some_and(|s| s.contains(m)) as i64))
            .collect(),
    ))
}

fn scard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        set_mut(ctx, &a[1])?.map_or(0, |s| s.len() as i64),
    ))
}

/// HashSet iteration order is already randomised per process; a rotating
/// offset spreads picks across calls.
fn pick(s: &HashSet<Bytes>, n: usize, salt: u64) -> Vec<Bytes> {
    let len = s.len().max(1);
    let start = (salt as usize) % len;
    s.iter()
        .cycle()
        .skip(start)
        .take(n.min(s.len()))
        .cloned()
        .collect()
}

fn srandmember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = a.get(2).map(|c| int(c)).transpose()?;
    if count == Some(i64::MIN) {
        // Its absolute value does not fit: Redis's range check.
        return Err(CmdError::custom("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
    }
    let salt = crate::server::unix_us();
    let Some(s) = set_mut(ctx, &a[1])? else {
        return Ok(if count.is_some() {
            Reply::Array(vec![])
        } else {
            Reply::Nil
        });
    };
    Ok(match count {
        None => pick(s, 1, salt).pop().map_or(Reply::Nil, Reply::Bulk),
        Some(c) if c >= 0 => Reply::bulks(pick(s, c as usize, salt)),
        Some(c) => {
            // Negative count: that many picks, repetitions allowed.
            let members: Vec<&Bytes> = s.iter().collect();
            let mut x = salt | 1;
            let n = c.unsigned_abs().min(1 << 24) as usize;
            Reply::Array(
                (0..n)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        Reply::Bulk(members[(x as usize) % members.len()].clone())
                    })
                    .collect(),
            )
        }
    })
}

fn sscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let crate::family::keys::ScanArgs {
        cursor,
        pattern,
        count,
        ..
    } = crate::family::keys::parse_scan_args(a, 2, false)?;
    let cursor = cursor & ((1 << 56) - 1);
    let Some(s) = set_mut(ctx, &a[1])? else {
        return Ok(Reply::Array(vec![
            Reply::bulk_str("0"),
            Reply::Array(vec![]),
        ]));
    };
    // Small sets come back whole, as Redis does for its compact encodings.
    let count = if s.len() <= 512 { usize::MAX } else { count };
    let (next, items) = crate::family::keys::scan_step(s.iter().cloned(), cursor, count);
    let items = items
        .into_iter()
        .filter(|m| {
            pattern
                .as_ref()
                .is_none_or(|p| crate::glob::glob_match(p, m, false))
        })
        .map(Reply::Bulk)
        .collect();
    Ok(Reply::Array(vec![
        Reply::bulk_int(next as i64),
        Reply::Array(items),
    ]))
}

fn spop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = a
        .get(2)
        .map(|c| crate::command::args::positive(c))
        .transpose()?;
    let key = &a[1];
    let salt = crate::server::unix_us();
    // With a count the reply is a set (`~` in RESP3), as Redis.
    let Some(s) = set_mut(ctx, key)? else {
        return Ok(if count.is_some() {
            Reply::Set(vec![])
        } else {
            Reply::Nil
        });
    };
    let picked = pick(s, count.unwrap_or(1) as usize, salt);
    for m in &picked {
        s.remove(m);
    }
    if !picked.is_empty() {
        ctx.notify(notify::SET, "spop", key);
        drop_if_empty(ctx, key);
    }
    Ok(match count {
        None => picked.into_iter().next().map_or(Reply::Nil, Reply::Bulk),
        Some(_) => Reply::Set(picked.into_iter().map(Reply::Bulk).collect()),
    })
}
