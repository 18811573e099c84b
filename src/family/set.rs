//! Sets: every Redis 7.0 set command, as t_set.c answers them.
//!
//! Values are `types::set::Set` (intset or table, Redis's two encodings).
//! The algebra commands (SINTER, SUNION, SDIFF, their STORE forms and
//! SINTERCARD) may span shards: the dispatcher locked every key's shard; a
//! first pass looks each key up (lazy expiry, hit/miss stats, WRONGTYPE), a
//! second reads all the sets at once through shared borrows of the locked
//! shards, so no input is copied. Results are built as SADD would build them
//! (an intset while it can be), which is also the order the reply takes.

use std::cell::Cell;

use bytes::Bytes;

use crate::command::args::{eq, int, numkeys_at_1, positive};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{set as E, zset as EZ, CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;
use crate::types::set::{Member, Set};

const K1: Keys = Keys::Range(1, 1, 1);
const ALL: Keys = Keys::Range(1, -1, 1);

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
    CommandSpec::new("smove", 4, WRITE | FAST, Keys::Range(1, 2, 1), smove).doc("set", "1.0.0", "Moves a member from one set to another."),
    CommandSpec::new("sinter", -2, READONLY, ALL, sinter).doc("set", "1.0.0", "Returns the intersect of multiple sets."),
    CommandSpec::new("sinterstore", -3, WRITE | DENYOOM, ALL, sinterstore).doc("set", "1.0.0", "Stores the intersect of multiple sets in a key."),
    CommandSpec::new("sintercard", -3, READONLY, Keys::Movable(numkeys_at_1), sintercard).doc("set", "7.0.0", "Returns the number of members of the intersect of multiple sets."),
    CommandSpec::new("sunion", -2, READONLY, ALL, sunion).doc("set", "1.0.0", "Returns the union of multiple sets."),
    CommandSpec::new("sunionstore", -3, WRITE | DENYOOM, ALL, sunionstore).doc("set", "1.0.0", "Stores the union of multiple sets in a key."),
    CommandSpec::new("sdiff", -2, READONLY, ALL, sdiff).doc("set", "1.0.0", "Returns the difference of multiple sets."),
    CommandSpec::new("sdiffstore", -3, WRITE | DENYOOM, ALL, sdiffstore).doc("set", "1.0.0", "Stores the difference of multiple sets in a key."),
];

// ---- helpers ----------------------------------------------------------------

/// `set-max-intset-entries` in force.
fn max_intset(ctx: &Ctx) -> usize {
    ctx.srv
        .config
        .set_max_intset_entries
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// The set at `key` for a write (Redis's lookupKeyWrite): `Ok(None)` if absent.
fn set_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c mut Set>> {
    match ctx.lookup(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Set(s) => Ok(Some(s)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The set at `key` for a read (lookupKeyRead: counts keyspace hits/misses).
fn set_read<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c Set>> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Set(s) => Ok(Some(s)),
            _ => Err(CmdError::WrongType),
        },
    }
}

thread_local! {
    /// Per-thread xorshift state for random members: one stream per worker,
    /// so consecutive calls are independent draws (the distribution tests
    /// sample thousands of calls).
    static RNG: Cell<u64> = Cell::new({
        let local = 0u8;
        let seed = crate::server::unix_us() ^ ((&local as *const u8 as u64).rotate_left(32));
        // splitmix64 of the seed: never zero in practice, and well mixed.
        let mut z = seed.wrapping_add(0x9E3779B97F4A7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        (z ^ (z >> 31)) | 1
    });
}

/// A uniform draw from `0..n` (n > 0).
fn below(n: usize) -> usize {
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        // Multiply-shift: unbiased enough for any n far below 2^64.
        ((x.wrapping_mul(0x2545F4914F6CDD1D) as u128 * n as u128) >> 64) as usize
    })
}

fn bulk(m: Member<'_>) -> Reply {
    Reply::Bulk(m.to_bytes())
}

/// Deletes the key once its set is empty (Redis never keeps empty sets):
/// true if it did (the caller sends the `del` event after its own).
fn delete_if_empty(ctx: &mut Ctx, key: &Bytes) -> bool {
    if set_mut(ctx, key)
        .ok()
        .flatten()
        .is_some_and(|s| s.is_empty())
    {
        ctx.delete(key);
        true
    } else {
        false
    }
}

// ---- membership ---------------------------------------------------------------

fn sadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let limit = max_intset(ctx);
    let added = match set_mut(ctx, key)? {
        Some(s) => {
            let n = a[2..].iter().filter(|m| s.add(m, limit)).count();
            if n > 0 {
                ctx.modified(key);
            }
            n
        }
        None => {
            // Encoded for the first member, as Redis's setTypeCreate.
            let mut s = Set::for_first(&a[2]);
            let n = a[2..].iter().filter(|m| s.add(m, limit)).count();
            ctx.set_value(key, Value::Set(s), false);
            ctx.notify(notify::NEW, "new", key);
            n
        }
    };
    // Redis counts one change per member added.
    ctx.mark_dirty(added.saturating_sub(1) as u64);
    if added > 0 {
        ctx.notify(notify::SET, "sadd", key);
    }
    Ok(Reply::Int(added as i64))
}

fn srem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let Some(s) = set_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let n = a[2..].iter().filter(|m| s.remove(m)).count();
    if n > 0 {
        ctx.notify(notify::SET, "srem", key);
        if delete_if_empty(ctx, key) {
            ctx.notify(notify::GENERIC, "del", key);
        } else {
            ctx.modified(key);
        }
        ctx.mark_dirty(n as u64 - 1);
    }
    Ok(Reply::Int(n as i64))
}

fn smembers(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    // Redis 7.0 answers SMEMBERS as a one-key SINTER: a set reply.
    Ok(Reply::Set(
        set_read(ctx, &a[1])?
            .map(|s| s.iter().map(bulk).collect())
            .unwrap_or_default(),
    ))
}

fn sismember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        set_read(ctx, &a[1])?.is_some_and(|s| s.contains(&a[2])) as i64,
    ))
}

fn smismember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let s = set_read(ctx, &a[1])?;
    Ok(Reply::Array(
        a[2..]
            .iter()
            .map(|m| Reply::Int(s.is_some_and(|s| s.contains(m)) as i64))
            .collect(),
    ))
}

fn scard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        set_read(ctx, &a[1])?.map_or(0, |s| s.len() as i64),
    ))
}

fn smove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst, m) = (&a[1], &a[2], &a[3]);
    // Both looked up for a write first (lazy expiry of either), as Redis.
    let src_kind = ctx.lookup(src).map(|e| matches!(e.value, Value::Set(_)));
    let dst_kind = ctx.lookup(dst).map(|e| matches!(e.value, Value::Set(_)));
    let Some(src_is_set) = src_kind else {
        return Ok(Reply::Int(0));
    };
    if !src_is_set || dst_kind == Some(false) {
        return Err(CmdError::WrongType);
    }
    if src == dst {
        let there = set_read(ctx, src)?.is_some_and(|s| s.contains(m));
        return Ok(Reply::Int(there as i64));
    }
    if !set_mut(ctx, src)?.is_some_and(|s| s.remove(m)) {
        return Ok(Reply::Int(0));
    }
    ctx.notify(notify::SET, "srem", src);
    if delete_if_empty(ctx, src) {
        ctx.notify(notify::GENERIC, "del", src);
    } else {
        ctx.modified(src);
    }
    let limit = max_intset(ctx);
    match set_mut(ctx, dst)? {
        Some(d) => {
            if d.add(m, limit) {
                ctx.modified(dst);
                ctx.notify(notify::SET, "sadd", dst);
            }
        }
        None => {
            let mut d = Set::for_first(m);
            d.add(m, limit);
            ctx.set_value(dst, Value::Set(d), false);
            ctx.notify(notify::NEW, "new", dst);
            ctx.notify(notify::SET, "sadd", dst);
        }
    }
    Ok(Reply::Int(1))
}

// ---- random members -----------------------------------------------------------

fn pick(s: &Set) -> Option<Member<'_>> {
    s.random(below)
}

fn srandmember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let Some(count) = a.get(2) else {
        return Ok(set_read(ctx, &a[1])?
            .and_then(pick)
            .map_or(Reply::Nil, bulk));
    };
    let count = int(count)?;
    if count == i64::MIN {
        // Its absolute value does not fit: Redis's -LONG_MAX..LONG_MAX check.
        return Err(CmdError::custom(EZ::COUNT_RANGE));
    }
    let Some(s) = set_read(ctx, &a[1])? else {
        return Ok(Reply::Array(vec![]));
    };
    let (n, uniq) = (count.unsigned_abs(), count >= 0);
    let size = s.len() as u64;
    if n == 0 {
        return Ok(Reply::Array(vec![]));
    }
    // CASE 1: repetitions allowed (or a single pick): independent draws.
    // Capped, where Redis streams them until the output buffer limit.
    if !uniq || n == 1 {
        let n = n.min(1 << 24) as usize;
        return Ok(Reply::Array(
            (0..n).filter_map(|_| pick(s).map(bulk)).collect(),
        ));
    }
    // CASE 2: the whole set.
    if n >= size {
        return Ok(Reply::Array(s.iter().map(bulk).collect()));
    }
    let n = n as usize;
    // CASE 3: most of the set: copy it, drop random members down to `n`.
    if n * 3 > s.len() {
        let mut all: Vec<Bytes> = s.iter().map(|m| m.to_bytes()).collect();
        while all.len() > n {
            let i = below(all.len());
            all.swap_remove(i);
        }
        return Ok(Reply::bulks(all));
    }
    // CASE 4: a few of a big set: distinct random picks.
    let mut seen = std::collections::HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let Some(m) = pick(s) else { break };
        let m = m.to_bytes();
        if seen.insert(m.clone()) {
            out.push(m);
        }
    }
    Ok(Reply::bulks(out))
}

fn spop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = &a[1];
    let Some(count) = a.get(2) else {
        let Some(s) = set_mut(ctx, key)? else {
            return Ok(Reply::Nil);
        };
        let Some(m) = pick(s).map(|m| m.to_bytes()) else {
            return Ok(Reply::Nil);
        };
        s.remove(&m);
        ctx.notify(notify::SET, "spop", key);
        if delete_if_empty(ctx, key) {
            ctx.notify(notify::GENERIC, "del", key);
        } else {
            ctx.modified(key);
        }
        return Ok(Reply::Bulk(m));
    };
    let count = positive(count)? as u64;
    // With a count the reply is a set (`~` in RESP3), as Redis.
    let limit = max_intset(ctx);
    let Some(s) = set_mut(ctx, key)? else {
        return Ok(Reply::Set(vec![]));
    };
    if count == 0 {
        return Ok(Reply::Set(vec![]));
    }
    let size = s.len() as u64;
    // CASE 1: everything: the whole set, and the key goes.
    if count >= size {
        let all: Vec<Reply> = s.iter().map(bulk).collect();
        ctx.notify(notify::SET, "spop", key);
        ctx.delete(key);
        ctx.notify(notify::GENERIC, "del", key);
        ctx.mark_dirty(size - 1);
        return Ok(Reply::Set(all));
    }
    let remaining = (size - count) as usize;
    let popped: Vec<Bytes> = if remaining * 5 > count as usize {
        // CASE 2: a few: pop random members one by one.
        (0..count)
            .filter_map(|_| {
                let m = pick(s)?.to_bytes();
                s.remove(&m);
                Some(m)
            })
            .collect()
    } else {
        // CASE 3: most of the set: move the few that stay to a new set and
        // return what is left of the old one (Redis's strategy; the new set
        // is encoded as SADD would encode it).
        let mut kept = Set::default();
        for _ in 0..remaining {
            let Some(m) = pick(s).map(|m| m.to_bytes()) else {
                break;
            };
            if kept.is_empty() {
                kept = Set::for_first(&m);
            }
            kept.add(&m, limit);
            s.remove(&m);
        }
        let out = s.iter().map(|m| m.to_bytes()).collect();
        *s = kept;
        out
    };
    ctx.notify(notify::SET, "spop", key);
    ctx.modified(key);
    ctx.mark_dirty(count - 1);
    Ok(Reply::Set(popped.into_iter().map(Reply::Bulk).collect()))
}

// ---- SSCAN --------------------------------------------------------------------

fn sscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let crate::family::keys::ScanArgs {
        cursor,
        pattern,
        count,
        ..
    } = crate::family::keys::parse_scan_args(a, 2, false)?;
    let Some(s) = set_read(ctx, &a[1])? else {
        return Ok(Reply::Array(vec![
            Reply::bulk_str("0"),
            Reply::Array(vec![]),
        ]));
    };
    let (next, items): (u64, Vec<Bytes>) = match s {
        // As Redis does for an intset: everything in one reply, cursor 0.
        Set::Ints(_) => (0, s.iter().map(|m| m.to_bytes()).collect()),
        Set::Table(t) => {
            let mut out = Vec::new();
            let cursor = t.scan(cursor, count, &mut out);
            (
                cursor,
                out.into_iter()
                    .map(|(m, _)| Bytes::copy_from_slice(m))
                    .collect(),
            )
        }
    };
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

// ---- the algebra ----------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// What to do with the result.
#[derive(Clone, Copy, PartialEq)]
enum Out {
    Reply,
    Store,
    /// SINTERCARD: the count only, stopping at the limit (0: none).
    Card(u64),
}

/// Looks every key up for a read, in order (lazy expiry, hit/miss counts,
/// WRONGTYPE if any key holds another type): whether each one is a set.
fn probe(ctx: &mut Ctx, keys: &[Bytes]) -> CmdResult<Vec<bool>> {
    let mut found = Vec::with_capacity(keys.len());
    for k in keys {
        found.push(set_read(ctx, k)?.is_some());
    }
    Ok(found)
}

/// The sets at `keys` (None where `found` says absent), borrowed together
/// from the locked shards.
fn borrow_sets<'x>(ctx: &'x Ctx, keys: &[Bytes], found: &[bool]) -> Vec<Option<&'x Set>> {
    let db = ctx.client.db;
    keys.iter()
        .zip(found)
        .map(|(k, &f)| {
            if !f {
                return None;
            }
            let shard = ctx.locks.shard_ref(ctx.srv.keyspace.shard_of(k))?;
            match &shard.dbs[db].get(k)?.value {
                Value::Set(s) => Some(s),
                _ => None,
            }
        })
        .collect()
}

/// The result of an algebra command: the members in reply order, or the
/// set to store, or the count.
enum Computed {
    Members(Vec<Bytes>),
    Stored(Set),
    Count(u64),
}

fn inter(sets: &[Option<&Set>], out: Out, limit: usize) -> Computed {
    let empty = || match out {
        Out::Reply => Computed::Members(Vec::new()),
        Out::Store => Computed::Stored(Set::default()),
        Out::Card(_) => Computed::Count(0),
    };
    let Some(mut sets) = sets.iter().copied().collect::<Option<Vec<&Set>>>() else {
        // A missing key is an empty set: so is the intersection.
        return empty();
    };
    // Smallest first: its members are the candidates.
    sets.sort_by_key(|s| s.len());
    let first = sets[0];
    let rest = &sets[1..];
    let mut members = Vec::new();
    let mut stored = Set::default();
    let mut card = 0u64;
    for m in first.iter() {
        if !rest
            .iter()
            .all(|s| std::ptr::eq(*s, first) || s.contains_member(m))
        {
            continue;
        }
        match out {
            Out::Reply => members.push(m.to_bytes()),
            Out::Store => {
                stored.add_member(m, limit);
            }
            Out::Card(max) => {
                card += 1;
                if max > 0 && card >= max {
                    break;
                }
            }
        }
    }
    match out {
        Out::Reply => Computed::Members(members),
        Out::Store => Computed::Stored(stored),
        Out::Card(_) => Computed::Count(card),
    }
}

/// SUNION / SDIFF: the result built as a set (intset while it can be), as
/// Redis's sunionDiffGenericCommand does; its order is the reply's.
fn union_diff(sets: &[Option<&Set>], op: Op, limit: usize) -> Set {
    let mut dst = Set::default();
    match op {
        Op::Union => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    dst.add_member(m, limit);
                }
            }
        }
        _ => {
            let Some(first) = sets[0] else {
                return dst;
            };
            // The first key again among the others: nothing is left.
            if sets[1..].iter().flatten().any(|s| std::ptr::eq(*s, first)) {
                return dst;
            }
            // Redis picks between probing the others per member of the
            // first (O(N·M)) and adding then removing everything (O(total)).
            let others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
            let algo_one = (first.len() * (others.len() + 1)) / 2;
            let algo_two = first.len() + others.iter().map(|s| s.len()).sum::<usize>();
            if algo_one <= algo_two {
                let mut others = others;
                // Biggest first: a member found is found sooner.
                others.sort_by_key(|s| std::cmp::Reverse(s.len()));
                for m in first.iter() {
                    if !others.iter().any(|s| s.contains_member(m)) {
                        dst.add_member(m, limit);
                    }
                }
            } else {
                for m in first.iter() {
                    dst.add_member(m, limit);
                }
                for s in others {
                    if dst.is_empty() {
                        break;
                    }
                    for m in s.iter() {
                        dst.remove_member(m);
                    }
                }
            }
        }
    }
    dst
}

/// Every algebra command: `keys` are the inputs, `dst` the STORE target.
fn algebra(
    ctx: &mut Ctx,
    keys: &[Bytes],
    op: Op,
    out: Out,
    dst: Option<&Bytes>,
    event: &'static str,
) -> CmdResult<Reply> {
    let found = probe(ctx, keys)?;
    let limit = max_intset(ctx);
    let result = {
        let sets = borrow_sets(ctx, keys, &found);
        match op {
            Op::Inter => inter(&sets, out, limit),
            _ => {
                let s = union_diff(&sets, op, limit);
                match out {
                    Out::Store => Computed::Stored(s),
                    _ => Computed::Members(s.iter().map(|m| m.to_bytes()).collect()),
                }
            }
        }
    };
    match result {
        Computed::Count(n) => Ok(Reply::Int(n as i64)),
        Computed::Members(m) => Ok(Reply::Set(m.into_iter().map(Reply::Bulk).collect())),
        Computed::Stored(s) => {
            let Some(dst) = dst else {
                return Ok(Reply::Int(s.len() as i64));
            };
            let n = s.len() as i64;
            if n == 0 {
                // An empty result deletes the destination.
                if ctx.delete(dst) {
                    ctx.notify(notify::GENERIC, "del", dst);
                }
            } else {
                // Overwrites whatever was there (any type, its TTL too).
                if !ctx.set_value(dst, Value::Set(s), false) {
                    ctx.notify(notify::NEW, "new", dst);
                }
                ctx.notify(notify::SET, event, dst);
            }
            Ok(Reply::Int(n))
        }
    }
}

fn sinter(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(ctx, &a[1..], Op::Inter, Out::Reply, None, "")
}

fn sinterstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(
        ctx,
        &a[2..],
        Op::Inter,
        Out::Store,
        Some(&a[1]),
        "sinterstore",
    )
}

fn sunion(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(ctx, &a[1..], Op::Union, Out::Reply, None, "")
}

fn sunionstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(
        ctx,
        &a[2..],
        Op::Union,
        Out::Store,
        Some(&a[1]),
        "sunionstore",
    )
}

fn sdiff(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(ctx, &a[1..], Op::Diff, Out::Reply, None, "")
}

fn sdiffstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(
        ctx,
        &a[2..],
        Op::Diff,
        Out::Store,
        Some(&a[1]),
        "sdiffstore",
    )
}

/// SINTERCARD numkeys key… [LIMIT limit].
fn sintercard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let numkeys = match int(&a[1]) {
        Ok(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::custom(EZ::NUMKEYS)),
    };
    if numkeys > (a.len() - 2) as u64 {
        return Err(CmdError::custom(E::NUMKEYS_OVER_ARGS));
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut j = end;
    while j < a.len() {
        if eq(&a[j], "limit") && j + 1 < a.len() {
            limit = match int(&a[j + 1]) {
                Ok(n) if n >= 0 => n as u64,
                _ => return Err(CmdError::custom(EZ::LIMIT_NEGATIVE)),
            };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    algebra(ctx, &a[2..end], Op::Inter, Out::Card(limit), None, "")
}
