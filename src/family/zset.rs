//! Sorted sets: ZADD and friends, ranges by rank/score/lex, the set algebra
//! (ZUNION/ZINTER/ZDIFF), pops and the blocking pops (BZPOPMIN, BZPOPMAX,
//! BZMPOP), ZRANDMEMBER and ZSCAN. Behaviour and error text follow Redis 7.0's
//! `t_zset.c`; the value representation is `crate::types::zset`.
//!
//! Blocking handlers serve at once when they can; otherwise they set
//! `ctx.block` with `wants: "zset"` and are re-run by `crate::blocking` when a
//! key they wait on is created as a sorted set (ZADD, a *STORE, RENAME…).
//! Inside MULTI/EXEC (and when serving) they never block.
//!
//! Replies with scores differ in shape by protocol, as in Redis: RESP2 gets a
//! flat `[member, score, …]`, RESP3 nested `[[member, score], …]` (for pops
//! with COUNT, ranges WITHSCORES and the algebra commands).
//!
//! AOF effects (for the persistence layer): BZPOPMIN/BZPOPMAX → ZPOPMIN/ZPOPMAX
//! key, (B)ZMPOP → ZPOPMIN/ZPOPMAX key count, ZADD INCR stays as is.

use std::collections::HashMap;

use bytes::Bytes;

use crate::blocking::BlockRequest;
use crate::command::args::{
    eq, int, numkeys_at_1, numkeys_at_2, numkeys_positions, parse_float, positive, timeout_secs,
};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{zset as E, CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;
use crate::types::zset::{Limits, Zset};

const K1: Keys = Keys::Range(1, 1, 1);
const W: u32 = WRITE | DENYOOM;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("zadd", -4, W | FAST, K1, zadd).doc("sorted_set", "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist."),
    CommandSpec::new("zincrby", 4, W | FAST, K1, zincrby).doc("sorted_set", "1.2.0", "Increments the score of a member in a sorted set."),
    CommandSpec::new("zrem", -3, WRITE | FAST, K1, zrem).doc("sorted_set", "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed."),
    CommandSpec::new("zcard", 2, READONLY | FAST, K1, zcard).doc("sorted_set", "1.2.0", "Returns the number of members in a sorted set."),
    CommandSpec::new("zscore", 3, READONLY | FAST, K1, zscore).doc("sorted_set", "1.2.0", "Returns the score of a member in a sorted set."),
    CommandSpec::new("zmscore", -3, READONLY | FAST, K1, zmscore).doc("sorted_set", "6.2.0", "Returns the score of one or more members in a sorted set."),
    CommandSpec::new("zrank", 3, READONLY | FAST, K1, zrank).doc("sorted_set", "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores."),
    CommandSpec::new("zrevrank", 3, READONLY | FAST, K1, zrevrank).doc("sorted_set", "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores."),
    CommandSpec::new("zcount", 4, READONLY | FAST, K1, zcount).doc("sorted_set", "2.0.0", "Returns the count of members in a sorted set that have scores within a range."),
    CommandSpec::new("zlexcount", 4, READONLY | FAST, K1, zlexcount).doc("sorted_set", "2.8.9", "Returns the number of members in a sorted set within a lexicographical range."),
    CommandSpec::new("zrange", -4, READONLY, K1, zrange).doc("sorted_set", "1.2.0", "Returns members in a sorted set within a range of indexes."),
    CommandSpec::new("zrangestore", -5, W, Keys::Range(1, 2, 1), zrangestore).doc("sorted_set", "6.2.0", "Stores a range of members from sorted set in a key."),
    CommandSpec::new("zrevrange", -4, READONLY, K1, zrevrange).doc("sorted_set", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order."),
    CommandSpec::new("zrangebyscore", -4, READONLY, K1, zrangebyscore).doc("sorted_set", "1.0.5", "Returns members in a sorted set within a range of scores."),
    CommandSpec::new("zrevrangebyscore", -4, READONLY, K1, zrevrangebyscore).doc("sorted_set", "2.2.0", "Returns members in a sorted set within a range of scores in reverse order."),
    CommandSpec::new("zrangebylex", -4, READONLY, K1, zrangebylex).doc("sorted_set", "2.8.9", "Returns members in a sorted set within a lexicographical range."),
    CommandSpec::new("zrevrangebylex", -4, READONLY, K1, zrevrangebylex).doc("sorted_set", "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order."),
    CommandSpec::new("zremrangebyrank", 4, WRITE, K1, zremrangebyrank).doc("sorted_set", "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed."),
    CommandSpec::new("zremrangebyscore", 4, WRITE, K1, zremrangebyscore).doc("sorted_set", "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed."),
    CommandSpec::new("zremrangebylex", 4, WRITE, K1, zremrangebylex).doc("sorted_set", "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed."),
    CommandSpec::new("zpopmin", -2, WRITE | FAST, K1, zpopmin).doc("sorted_set", "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."),
    CommandSpec::new("zpopmax", -2, WRITE | FAST, K1, zpopmax).doc("sorted_set", "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."),
    CommandSpec::new("zmpop", -4, WRITE, Keys::Movable(numkeys_at_1), zmpop).doc("sorted_set", "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped."),
    CommandSpec::new("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, Keys::Range(1, -2, 1), bzpopmin).doc("sorted_set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped."),
    CommandSpec::new("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, Keys::Range(1, -2, 1), bzpopmax).doc("sorted_set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped."),
    CommandSpec::new("bzmpop", -5, WRITE | BLOCKING, Keys::Movable(numkeys_at_2), bzmpop).doc("sorted_set", "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped."),
    CommandSpec::new("zunion", -3, READONLY, Keys::Movable(numkeys_at_1), zunion).doc("sorted_set", "6.2.0", "Returns the union of multiple sorted sets."),
    CommandSpec::new("zinter", -3, READONLY, Keys::Movable(numkeys_at_1), zinter).doc("sorted_set", "6.2.0", "Returns the intersect of multiple sorted sets."),
    CommandSpec::new("zdiff", -3, READONLY, Keys::Movable(numkeys_at_1), zdiff).doc("sorted_set", "6.2.0", "Returns the difference between multiple sorted sets."),
    CommandSpec::new("zunionstore", -4, W, Keys::Movable(store_keys), zunionstore).doc("sorted_set", "2.0.0", "Stores the union of multiple sorted sets in a key."),
    CommandSpec::new("zinterstore", -4, W, Keys::Movable(store_keys), zinterstore).doc("sorted_set", "2.0.0", "Stores the intersect of multiple sorted sets in a key."),
    CommandSpec::new("zdiffstore", -4, W, Keys::Movable(store_keys), zdiffstore).doc("sorted_set", "6.2.0", "Stores the difference of multiple sorted sets in a key."),
    CommandSpec::new("zintercard", -3, READONLY, Keys::Movable(numkeys_at_1), zintercard).doc("sorted_set", "7.0.0", "Returns the number of members of the intersect of multiple sorted sets."),
    CommandSpec::new("zrandmember", -2, READONLY, K1, zrandmember).doc("sorted_set", "6.2.0", "Returns one or more random members from a sorted set."),
    CommandSpec::new("zscan", -3, READONLY, K1, zscan).doc("sorted_set", "2.8.0", "Iterates over members and scores of a sorted set."),
];

// ---- key positions -------------------------------------------------------

/// `dst numkeys key…`: the destination first, then the sources.
fn store_keys(args: &[Bytes]) -> Vec<usize> {
    let mut v = vec![1];
    v.extend(numkeys_positions(args, 2));
    v
}

// ---- helpers --------------------------------------------------------------

pub(crate) fn limits(ctx: &Ctx) -> Limits {
    use std::sync::atomic::Ordering::Relaxed;
    Limits {
        entries: ctx.srv.config.zset_max_listpack_entries.load(Relaxed),
        value: ctx.srv.config.zset_max_listpack_value.load(Relaxed),
    }
}

/// The sorted set at `key`: `Ok(None)` if absent, WRONGTYPE for another type.
fn zset_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c mut Zset>> {
    match ctx.lookup(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Zset(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Read access that counts keyspace hits and misses.
fn zset_read<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c Zset>> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Zset(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// A number as `strtod` reads it: decimal, `inf`, and also C99 hex floats
/// (`0x10`, `0x1p-2`); NaN and spaces refused. Out-of-range values become
/// ±inf or 0, as in the range parser (`zslParseRange`).
pub fn parse_score(arg: &[u8]) -> Option<f64> {
    parse_float(arg).or_else(|| parse_hex_float(arg))
}

/// A score or weight as Redis's `string2d` reads it: `parse_score`, but a
/// value that overflows to ±inf or underflows to 0 is refused (strtod's
/// ERANGE), while `inf` written out is fine.
pub fn parse_score_strict(arg: &[u8]) -> Option<f64> {
    let v = parse_score(arg)?;
    let lower = arg.to_ascii_lowercase();
    let is_hex = lower.windows(2).any(|w| w == b"0x");
    let mantissa_end = lower
        .iter()
        .position(|c| *c == if is_hex { b'p' } else { b'e' })
        .unwrap_or(lower.len());
    let mantissa = &lower[..mantissa_end];
    let digits = if is_hex {
        let at = mantissa
            .windows(2)
            .position(|w| w == b"0x")
            .map_or(0, |i| i + 2);
        &mantissa[at..]
    } else {
        mantissa
    };
    if v.is_infinite() && !lower.contains(&b'i') {
        return None;
    }
    if v == 0.0
        && digits
            .iter()
            .any(|c| c.is_ascii_alphanumeric() && *c != b'0')
    {
        return None;
    }
    Some(v)
}

fn parse_hex_float(arg: &[u8]) -> Option<f64> {
    let (neg, rest) = match arg.first()? {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    let rest = rest
        .strip_prefix(b"0x")
        .or_else(|| rest.strip_prefix(b"0X"))?;
    let (mant, exp) = match rest.iter().position(|c| *c == b'p' || *c == b'P') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut v = 0.0f64;
    let mut digits = 0;
    let mut scale = 0i32;
    let mut seen_dot = false;
    for &c in mant {
        if c == b'.' && !seen_dot {
            seen_dot = true;
            continue;
        }
        let d = (c as char).to_digit(16)? as f64;
        v = v * 16.0 + d;
        digits += 1;
        if seen_dot {
            scale -= 4;
        }
    }
    if digits == 0 {
        return None;
    }
    if let Some(e) = exp {
        let e = std::str::from_utf8(e).ok()?.parse::<i32>().ok()?;
        scale = scale.saturating_add(e);
    }
    let v = v * 2f64.powi(scale);
    Some(if neg { -v } else { v })
}

fn nan_error() -> CmdError {
    CmdError::custom(E::NAN_SCORE)
}

/// Stores a freshly built, non-empty set at `dst` (a *STORE result): the
/// `new` event for a new key, and blocked ZPOP clients may be served.
pub(crate) fn store_result(ctx: &mut Ctx, dst: &Bytes, z: Zset, event: &'static str) {
    let existed = ctx.set_value(dst, Value::Zset(z), false);
    if !existed {
        ctx.notify(notify::NEW, "new", dst);
    }
    ctx.notify(notify::ZSET, event, dst);
    ctx.signal_ready(dst);
}

/// Deletes `dst` for an empty *STORE result, as Redis (a `del` event if it existed).
pub(crate) fn store_empty(ctx: &mut Ctx, dst: &Bytes) {
    if ctx.delete(dst) {
        ctx.notify(notify::GENERIC, "del", dst);
    }
}

/// After removals: the event, and the key's deletion once the set is empty.
fn after_removal(ctx: &mut Ctx, key: &Bytes, event: &'static str) {
    ctx.notify(notify::ZSET, event, key);
    if zset_mut(ctx, key)
        .ok()
        .flatten()
        .is_some_and(|z| z.is_empty())
    {
        ctx.delete(key);
        ctx.notify(notify::GENERIC, "del", key);
    } else {
        ctx.modified(key);
    }
}

/// `[member, score]` pairs: flat in RESP2 (or when `nested` is false), one
/// array per pair in RESP3.
fn pairs_reply(resp: u8, items: Vec<(Bytes, f64)>, nested: bool) -> Reply {
    if resp >= 3 && nested {
        Reply::Array(
            items
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect(),
        )
    } else {
        let mut out = Vec::with_capacity(items.len() * 2);
        for (m, s) in items {
            out.push(Reply::Bulk(m));
            out.push(Reply::Double(s));
        }
        Reply::Array(out)
    }
}

fn members_reply(items: Vec<(Bytes, f64)>, withscores: bool, resp: u8) -> Reply {
    if withscores {
        pairs_reply(resp, items, true)
    } else {
        Reply::bulks(items.into_iter().map(|(m, _)| m))
    }
}

/// Redis's `d2string`: integers without a fraction, otherwise `%.17g`.
pub fn d2string(d: f64) -> String {
    if d.is_finite() && d.fract() == 0.0 && d.abs() < 9.2e18 && !(d == 0.0 && d.is_sign_negative())
    {
        (d as i64).to_string()
    } else {
        crate::reply::format_double(d)
    }
}

// ---- ZADD / ZINCRBY / ZREM ----------------------------------------------------

fn zadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zadd_generic(ctx, a, false)
}

fn zincrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zadd_generic(ctx, a, true)
}

pub(crate) fn zadd_generic(ctx: &mut Ctx, a: &[Bytes], incr_cmd: bool) -> CmdResult<Reply> {
    let key = &a[1];
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, incr_cmd);
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        if eq(o, "nx") {
            nx = true;
        } else if eq(o, "xx") {
            xx = true;
        } else if eq(o, "ch") {
            ch = true;
        } else if eq(o, "incr") {
            incr = true;
        } else if eq(o, "gt") {
            gt = true;
        } else if eq(o, "lt") {
            lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let elements = a.len() - i;
    if !elements.is_multiple_of(2) || elements == 0 {
        return Err(CmdError::Syntax);
    }
    if nx && xx {
        return Err(CmdError::custom(E::XX_AND_NX));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(CmdError::custom(E::GT_LT_NX));
    }
    if incr && elements > 2 {
        return Err(CmdError::custom(E::INCR_PAIRS));
    }
    // Every score is parsed before anything changes: all or nothing.
    let pairs: Vec<(f64, &Bytes)> = a[i..]
        .chunks(2)
        .map(|p| Ok((parse_score_strict(&p[0]).ok_or(CmdError::NotFloat)?, &p[1])))
        .collect::<CmdResult<_>>()?;
    let lim = limits(ctx);
    if zset_mut(ctx, key)?.is_none() {
        if xx {
            return Ok(if incr { Reply::Nil } else { Reply::Int(0) });
        }
        let z = Zset::new(lim, pairs[0].1.len());
        ctx.set_value(key, Value::Zset(z), false);
        ctx.notify(notify::NEW, "new", key);
        ctx.signal_ready(key);
    }
    let Some(z) = zset_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0.0;
    let mut failed = false;
    for (score, member) in pairs {
        match z.score(member) {
            Some(cur) => {
                if nx {
                    continue;
                }
                let mut new = score;
                if incr {
                    new += cur;
                    if new.is_nan() {
                        failed = true;
                        break;
                    }
                }
                if (lt && new >= cur) || (gt && new <= cur) {
                    continue;
                }
                processed += 1;
                last = new;
                if new != cur {
                    z.set(member, new, lim);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.set(member, score, lim);
                added += 1;
                processed += 1;
                last = score;
            }
        }
    }
    if added + updated > 0 {
        ctx.modified(key);
        ctx.notify(notify::ZSET, if incr { "zincr" } else { "zadd" }, key);
    }
    if failed {
        return Err(nan_error());
    }
    Ok(if incr {
        if processed > 0 {
            Reply::Double(last)
        } else {
            Reply::Nil
        }
    } else {
        Reply::Int(if ch { added + updated } else { added })
    })
}

fn zrem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let Some(z) = zset_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let mut n = 0;
    for m in &a[2..] {
        if z.remove(m).is_some() {
            n += 1;
        }
        if z.is_empty() {
            break;
        }
    }
    if n > 0 {
        after_removal(ctx, key, "zrem");
    }
    Ok(Reply::Int(n))
}

// ---- reads ----------------------------------------------------------------

fn zcard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        zset_read(ctx, &a[1])?.map_or(0, |z| z.len() as i64),
    ))
}

fn zscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(zset_read(ctx, &a[1])?
        .and_then(|z| z.score(&a[2]))
        .map_or(Reply::Nil, Reply::Double))
}

fn zmscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let z = zset_read(ctx, &a[1])?;
    Ok(Reply::Array(
        a[2..]
            .iter()
            .map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, Reply::Double))
            .collect(),
    ))
}

fn rank_generic(ctx: &mut Ctx, a: &[Bytes], rev: bool) -> CmdResult<Reply> {
    let Some(z) = zset_read(ctx, &a[1])? else {
        return Ok(Reply::Nil);
    };
    let len = z.len();
    Ok(z.rank(&a[2]).map_or(Reply::Nil, |r| {
        Reply::Int(if rev { len - 1 - r } else { r } as i64)
    }))
}

fn zrank(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    rank_generic(ctx, a, false)
}

fn zrevrank(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    rank_generic(ctx, a, true)
}

// ---- ranges ------------------------------------------------------------------

/// A score interval (`zrangespec`).
#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (ex, rest) = match arg.first() {
        Some(b'(') => (true, &arg[1..]),
        _ => (false, arg),
    };
    // strtod skips leading white space, and an empty string converts to 0
    // with nothing left over, which Redis's range parser accepts.
    if rest.is_empty() {
        return Some((0.0, ex));
    }
    let start = rest
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    if start == rest.len() {
        return None;
    }
    parse_score(&rest[start..]).map(|v| (v, ex))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> CmdResult<ScoreRange> {
    let err = || CmdError::custom(E::MIN_MAX_FLOAT);
    let (min, minex) = parse_score_bound(min).ok_or_else(err)?;
    let (max, maxex) = parse_score_bound(max).ok_or_else(err)?;
    Ok(ScoreRange {
        min,
        max,
        minex,
        maxex,
    })
}

impl ScoreRange {
    fn below_min(&self, s: f64) -> bool {
        if self.minex {
            s <= self.min
        } else {
            s < self.min
        }
    }
    fn within_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }
    /// Ascending ranks `lo..hi` of the entries inside the range.
    fn ranks(&self, z: &Zset) -> (usize, usize) {
        let lo = z.partition_point(|s, _| self.below_min(s));
        let hi = z.partition_point(|s, _| self.within_max(s));
        (lo, hi.max(lo))
    }
}

/// A lex bound (`zlexrangespec` item).
#[derive(Clone)]
enum LexBound {
    MinusInf,
    PlusInf,
    Incl(Bytes),
    Excl(Bytes),
}

#[derive(Clone)]
struct LexRange {
    min: LexBound,
    max: LexBound,
}

fn parse_lex_bound(arg: &Bytes) -> Option<LexBound> {
    match arg.first()? {
        b'+' if arg.len() == 1 => Some(LexBound::PlusInf),
        b'-' if arg.len() == 1 => Some(LexBound::MinusInf),
        b'[' => Some(LexBound::Incl(arg.slice(1..))),
        b'(' => Some(LexBound::Excl(arg.slice(1..))),
        _ => None,
    }
}

fn parse_lex_range(min: &Bytes, max: &Bytes) -> CmdResult<LexRange> {
    let err = || CmdError::custom(E::MIN_MAX_LEX);
    Ok(LexRange {
        min: parse_lex_bound(min).ok_or_else(err)?,
        max: parse_lex_bound(max).ok_or_else(err)?,
    })
}

impl LexRange {
    fn below_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::MinusInf => false,
            LexBound::PlusInf => true,
            LexBound::Incl(x) => m < x.as_ref(),
            LexBound::Excl(x) => m <= x.as_ref(),
        }
    }
    fn within_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::MinusInf => false,
            LexBound::PlusInf => true,
            LexBound::Incl(x) => m <= x.as_ref(),
            LexBound::Excl(x) => m < x.as_ref(),
        }
    }
    /// Ranges that can hold nothing whatever the set (`zslIsInLexRange`'s
    /// first test): min above max, or equal and either end exclusive.
    fn always_empty(&self) -> bool {
        fn key(b: &LexBound) -> (u8, &[u8], bool) {
            match b {
                LexBound::MinusInf => (0, &[], true),
                LexBound::Incl(x) => (1, x, false),
                LexBound::Excl(x) => (1, x, true),
                LexBound::PlusInf => (2, &[], true),
            }
        }
        let (a, b) = (key(&self.min), key(&self.max));
        let cmp = (a.0, a.1).cmp(&(b.0, b.1));
        cmp == std::cmp::Ordering::Greater || (cmp == std::cmp::Ordering::Equal && (a.2 || b.2))
    }

    /// Ascending ranks `lo..hi` selected as Redis walks a lex range: from the
    /// first member (in order) not below min, forward while not above max;
    /// or, `rev`, from the last member not above max, backward while not
    /// below min. (Lex ranges assume equal scores; with mixed scores this
    /// reproduces what Redis's listpack walk returns.)
    fn ranks(&self, z: &Zset, rev: bool) -> (usize, usize) {
        let len = z.len();
        if len == 0 || self.always_empty() {
            return (0, 0);
        }
        let in_reach = z.nth(len - 1).is_some_and(|(m, _)| !self.below_min(&m))
            && z.nth(0).is_some_and(|(m, _)| self.within_max(&m));
        if !in_reach {
            return (0, 0);
        }
        if rev {
            let Some(skip) = z
                .iter_rev_from(len - 1)
                .position(|(_, m)| self.within_max(m))
            else {
                return (0, 0);
            };
            let last = len - 1 - skip;
            let n = z
                .iter_rev_from(last)
                .take_while(|(_, m)| !self.below_min(m))
                .count();
            (last + 1 - n, last + 1)
        } else {
            let lo = z.partition_point(|_, m| self.below_min(m));
            let n = z
                .iter_from(lo)
                .take_while(|(_, m)| self.within_max(m))
                .count();
            (lo, lo + n)
        }
    }
}

/// Redis's rank clamping: inclusive (start, end), or None for an empty range.
fn clamp_ranks(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Selects ascending ranks `lo..hi`, in `rev` order, after LIMIT: the members
/// with their scores.
fn select(z: &Zset, lo: usize, hi: usize, rev: bool, offset: i64, limit: i64) -> Vec<(Bytes, f64)> {
    if lo >= hi || offset < 0 {
        return Vec::new();
    }
    let n = hi - lo;
    let offset = offset as u64;
    if offset >= n as u64 {
        return Vec::new();
    }
    let offset = offset as usize;
    let avail = n - offset;
    let take = if limit < 0 {
        avail
    } else {
        (limit as u64).min(avail as u64) as usize
    };
    if take == 0 {
        return Vec::new();
    }
    if rev {
        let end = hi - 1 - offset;
        let start = end + 1 - take;
        let mut v = z.range(start, end);
        v.reverse();
        v
    } else {
        let start = lo + offset;
        z.range(start, start + take - 1)
    }
}

/// ZRANGE and all its older forms. `at` is the index of the source key;
/// `dst` is set for ZRANGESTORE.
fn zrange_generic(
    ctx: &mut Ctx,
    a: &[Bytes],
    at: usize,
    dst: Option<&Bytes>,
    mut rtype: RangeType,
    mut rev: Option<bool>,
) -> CmdResult<Reply> {
    let key = &a[at];
    let (mut minidx, mut maxidx) = (at + 1, at + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut has_limit = false;
    let mut j = at + 3;
    while j < a.len() {
        let left = a.len() - j - 1;
        if dst.is_none() && eq(&a[j], "withscores") {
            withscores = true;
        } else if eq(&a[j], "limit") && left >= 2 {
            offset = int(&a[j + 1])?;
            limit = int(&a[j + 2])?;
            // Redis tells a LIMIT from none by the count alone: `LIMIT n -1`
            // passes with a rank range (and is ignored there).
            has_limit = limit != -1;
            j += 2;
        } else if rev.is_none() && eq(&a[j], "rev") {
            rev = Some(true);
        } else if rtype == RangeType::Auto && eq(&a[j], "bylex") {
            rtype = RangeType::Lex;
        } else if rtype == RangeType::Auto && eq(&a[j], "byscore") {
            rtype = RangeType::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if rtype == RangeType::Auto {
        rtype = RangeType::Rank;
    }
    if has_limit && rtype == RangeType::Rank {
        return Err(CmdError::custom(E::LIMIT_WITH_RANK));
    }
    if withscores && rtype == RangeType::Lex {
        return Err(CmdError::custom(E::WITHSCORES_BYLEX));
    }
    if rev && rtype != RangeType::Rank {
        // The range is given as max, min.
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match rtype {
        RangeType::Score => Parsed::Score(parse_score_range(&a[minidx], &a[maxidx])?),
        RangeType::Lex => Parsed::Lex(parse_lex_range(&a[minidx], &a[maxidx])?),
        _ => Parsed::Rank(int(&a[minidx])?, int(&a[maxidx])?),
    };
    let resp = ctx.client.resp;
    let z = zset_read(ctx, key)?;
    let items = match z {
        None => Vec::new(),
        Some(z) => match parsed {
            Parsed::Rank(start, end) => match clamp_ranks(z.len(), start, end) {
                None => Vec::new(),
                Some((s, e)) if rev => {
                    let len = z.len();
                    let mut v = z.range(len - 1 - e, len - 1 - s);
                    v.reverse();
                    v
                }
                Some((s, e)) => z.range(s, e),
            },
            Parsed::Score(r) => {
                let (lo, hi) = r.ranks(z);
                select(z, lo, hi, rev, offset, limit)
            }
            Parsed::Lex(r) => {
                let (lo, hi) = r.ranks(z, rev);
                select(z, lo, hi, rev, offset, limit)
            }
        },
    };
    match dst {
        Some(dst) => {
            let n = items.len() as i64;
            if n == 0 {
                store_empty(ctx, dst);
            } else {
                let z = Zset::from_entries(items, limits(ctx));
                store_result(ctx, dst, z, "zrangestore");
            }
            Ok(Reply::Int(n))
        }
        None => Ok(members_reply(items, withscores, resp)),
    }
}

fn zrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, a, 1, None, RangeType::Auto, None)
}

fn zrangestore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, a, 2, Some(&a[1]), RangeType::Auto, None)
}

fn zrevrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, a, 1, None, RangeType::Rank, Some(true))
}

fn zrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, a, 1, None, RangeType::Score, Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, a, 1, None, RangeType::Score, Some(true))
}

fn zrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, a, 1, None, RangeType::Lex, Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zrange_generic(ctx, a, 1, None, RangeType::Lex, Some(true))
}

fn zcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let r = parse_score_range(&a[2], &a[3])?;
    Ok(Reply::Int(zset_read(ctx, &a[1])?.map_or(0, |z| {
        let (lo, hi) = r.ranks(z);
        (hi - lo) as i64
    })))
}

fn zlexcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let r = parse_lex_range(&a[2], &a[3])?;
    Ok(Reply::Int(zset_read(ctx, &a[1])?.map_or(0, |z| {
        let (lo, hi) = r.ranks(z, false);
        (hi - lo) as i64
    })))
}

/// Removes ascending ranks `lo..hi`.
fn remove_ranks(z: &mut Zset, lo: usize, hi: usize) -> usize {
    if lo >= hi {
        return 0;
    }
    let victims = z.range(lo, hi - 1);
    for (m, _) in &victims {
        z.remove(m);
    }
    victims.len()
}

fn zremrange_generic(
    ctx: &mut Ctx,
    a: &[Bytes],
    rtype: RangeType,
    event: &'static str,
) -> CmdResult<Reply> {
    let key = &a[1];
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match rtype {
        RangeType::Score => Parsed::Score(parse_score_range(&a[2], &a[3])?),
        RangeType::Lex => Parsed::Lex(parse_lex_range(&a[2], &a[3])?),
        _ => Parsed::Rank(int(&a[2])?, int(&a[3])?),
    };
    let Some(z) = zset_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let n = match parsed {
        Parsed::Rank(s, e) => match clamp_ranks(z.len(), s, e) {
            None => 0,
            Some((s, e)) => remove_ranks(z, s, e + 1),
        },
        Parsed::Score(r) => {
            let (lo, hi) = r.ranks(z);
            remove_ranks(z, lo, hi)
        }
        Parsed::Lex(r) => {
            let (lo, hi) = r.ranks(z, false);
            remove_ranks(z, lo, hi)
        }
    };
    if n > 0 {
        after_removal(ctx, key, event);
    }
    Ok(Reply::Int(n as i64))
}

fn zremrangebyrank(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zremrange_generic(ctx, a, RangeType::Rank, "zremrangebyrank")
}

fn zremrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zremrange_generic(ctx, a, RangeType::Score, "zremrangebyscore")
}

fn zremrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zremrange_generic(ctx, a, RangeType::Lex, "zremrangebylex")
}

// ---- pops -------------------------------------------------------------------

/// Pops up to `count` entries from the low (`max` false) or high end of the
/// set at `key`, with the events and the key's deletion once empty.
fn pop_n(ctx: &mut Ctx, key: &Bytes, max: bool, count: usize) -> CmdResult<Vec<(Bytes, f64)>> {
    let Some(z) = zset_mut(ctx, key)? else {
        return Ok(Vec::new());
    };
    let n = count.min(z.len());
    if n == 0 {
        return Ok(Vec::new());
    }
    let len = z.len();
    let mut items = if max {
        let mut v = z.range(len - n, len - 1);
        v.reverse();
        v
    } else {
        z.range(0, n - 1)
    };
    for (m, _) in &items {
        z.remove(m);
    }
    items.shrink_to_fit();
    after_removal(ctx, key, if max { "zpopmax" } else { "zpopmin" });
    Ok(items)
}

fn zpop_generic(ctx: &mut Ctx, a: &[Bytes], max: bool) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = a.get(2).map(|c| positive(c)).transpose()?;
    let key = &a[1];
    if zset_mut(ctx, key)?.is_none() || count == Some(0) {
        return Ok(Reply::Array(vec![]));
    }
    let items = pop_n(ctx, key, max, count.unwrap_or(1) as usize)?;
    Ok(pairs_reply(ctx.client.resp, items, count.is_some()))
}

fn zpopmin(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zpop_generic(ctx, a, false)
}

fn zpopmax(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    zpop_generic(ctx, a, true)
}

/// Parses `numkeys key… MIN|MAX [COUNT n]` starting at `at` (numkeys).
fn parse_mpop(a: &[Bytes], at: usize) -> CmdResult<(Vec<Bytes>, bool, usize)> {
    let err = || CmdError::custom(E::NUMKEYS);
    let n = int(&a[at]).map_err(|_| err())?;
    if n <= 0 {
        return Err(err());
    }
    let where_idx = (at as u64).saturating_add(n as u64).saturating_add(1);
    if where_idx >= a.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let max = if eq(&a[where_idx], "min") {
        false
    } else if eq(&a[where_idx], "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < a.len() {
        if count.is_none() && eq(&a[j], "count") && j + 1 < a.len() {
            let c = int(&a[j + 1]).map_err(|_| CmdError::CountNotPositive)?;
            if c <= 0 {
                return Err(CmdError::CountNotPositive);
            }
            count = Some(c as usize);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((a[at + 1..where_idx].to_vec(), max, count.unwrap_or(1)))
}

/// The first key among `keys` holding a non-empty sorted set (WRONGTYPE on
/// the first key of another type, as Redis checks in order).
fn first_nonempty(ctx: &mut Ctx, keys: &[Bytes]) -> CmdResult<Option<Bytes>> {
    for key in keys {
        if zset_mut(ctx, key)?.is_some_and(|z| !z.is_empty()) {
            return Ok(Some(key.clone()));
        }
    }
    Ok(None)
}

/// `[key, [[member, score], …]]` (ZMPOP/BZMPOP, nested in both protocols).
fn mpop_reply(key: Bytes, items: Vec<(Bytes, f64)>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(key),
        Reply::Array(
            items
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect(),
        ),
    ])
}

fn zmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let (keys, max, count) = parse_mpop(a, 1)?;
    match first_nonempty(ctx, &keys)? {
        Some(key) => {
            let items = pop_n(ctx, &key, max, count)?;
            Ok(mpop_reply(key, items))
        }
        None => Ok(Reply::NilArray),
    }
}

fn block_on(ctx: &mut Ctx, keys: Vec<Bytes>, timeout_ms: u64) -> CmdResult<Reply> {
    if ctx.client.in_exec {
        return Ok(Reply::NilArray);
    }
    ctx.block = Some(BlockRequest {
        keys,
        deadline_ms: (timeout_ms > 0).then(|| ctx.now_ms.saturating_add(timeout_ms)),
        wants: "zset",
        timeout_reply: Reply::NilArray,
        args: None,
    });
    Ok(Reply::NilArray)
}

fn bzpop_generic(ctx: &mut Ctx, a: &[Bytes], max: bool) -> CmdResult<Reply> {
    let timeout = timeout_secs(&a[a.len() - 1])?;
    let keys = &a[1..a.len() - 1];
    if let Some(key) = first_nonempty(ctx, keys)? {
        let items = pop_n(ctx, &key, max, 1)?;
        let mut out = vec![Reply::Bulk(key)];
        for (m, s) in items {
            out.push(Reply::Bulk(m));
            out.push(Reply::Double(s));
        }
        return Ok(Reply::Array(out));
    }
    block_on(ctx, keys.to_vec(), timeout)
}

fn bzpopmin(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    bzpop_generic(ctx, a, false)
}

fn bzpopmax(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    bzpop_generic(ctx, a, true)
}

fn bzmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    // Redis checks numkeys, MIN|MAX and COUNT before the timeout.
    let (keys, max, count) = parse_mpop(a, 2)?;
    let timeout = timeout_secs(&a[1])?;
    match first_nonempty(ctx, &keys)? {
        Some(key) => {
            let items = pop_n(ctx, &key, max, count)?;
            Ok(mpop_reply(key, items))
        }
        None => block_on(ctx, keys, timeout),
    }
}

// ---- set algebra ----------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(acc: &mut f64, v: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *acc += v;
            // inf + -inf: Redis's convention is 0.
            if acc.is_nan() {
                *acc = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *acc {
                *acc = v
            }
        }
        Aggregate::Max => {
            if v > *acc {
                *acc = v
            }
        }
    }
}

/// One input of the algebra commands: a sorted set, a plain set (score 1),
/// or nothing (a missing key).
enum Source {
    Missing,
    Z(Vec<(Bytes, f64)>, HashMap<Bytes, f64>),
}

impl Source {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Z(v, _) => v.len(),
        }
    }
    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Z(_, map) => map.get(m).copied(),
        }
    }
}

fn load_source(ctx: &mut Ctx, key: &[u8], with_index: bool) -> CmdResult<Source> {
    let items: Vec<(Bytes, f64)> = match ctx.lookup_read(key) {
        None => return Ok(Source::Missing),
        Some(e) => match &e.value {
            Value::Zset(z) => z
                .iter()
                .map(|(s, m)| (Bytes::copy_from_slice(m), s))
                .collect(),
            Value::Set(s) => s.iter().map(|m| (m.to_bytes(), 1.0)).collect(),
            _ => return Err(CmdError::WrongType),
        },
    };
    let map = if with_index {
        items.iter().cloned().collect()
    } else {
        HashMap::new()
    };
    Ok(Source::Z(items, map))
}

/// ZUNION/ZINTER/ZDIFF[STORE] and ZINTERCARD. `at` is the numkeys index.
fn algebra(
    ctx: &mut Ctx,
    a: &[Bytes],
    at: usize,
    op: SetOp,
    dst: Option<&Bytes>,
    card_only: bool,
    name: &str,
) -> CmdResult<Reply> {
    let setnum = int(&a[at])?;
    if setnum < 1 {
        return Err(CmdError::custom(E::at_least_one_key(name)));
    }
    if setnum > (a.len() - at - 1) as i64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let keys = &a[at + 1..at + 1 + setnum];
    let mut sources = Vec::with_capacity(setnum);
    for (i, k) in keys.iter().enumerate() {
        // Only the others are probed by member: the first is only iterated
        // (after sorting by size, any but the smallest may be probed).
        sources.push(load_source(ctx, k, op != SetOp::Diff || i > 0)?);
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: i64 = 0;
    let mut j = at + 1 + setnum;
    while j < a.len() {
        let remaining = a.len() - j;
        if op != SetOp::Diff && !card_only && remaining > setnum && eq(&a[j], "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = parse_score_strict(&a[j]).ok_or_else(|| CmdError::custom(E::WEIGHT_FLOAT))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && eq(&a[j], "aggregate") {
            let v = &a[j + 1];
            agg = if eq(v, "sum") {
                Aggregate::Sum
            } else if eq(v, "min") {
                Aggregate::Min
            } else if eq(v, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && !card_only && eq(&a[j], "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq(&a[j], "limit") {
            limit = match int(&a[j + 1]) {
                Ok(n) if n >= 0 => n,
                _ => return Err(CmdError::custom(E::LIMIT_NEGATIVE)),
            };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut order: Vec<usize> = (0..setnum).collect();
    if op != SetOp::Diff {
        order.sort_by_key(|&i| sources[i].len());
    }
    let weighted = |s: f64, w: f64| {
        let v = s * w;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    let mut result: Vec<(Bytes, f64)> = Vec::new();
    match op {
        SetOp::Inter => {
            let first = order[0];
            if let Source::Z(items, _) = &sources[first] {
                'outer: for (m, s) in items {
                    let mut score = weighted(*s, weights[first]);
                    for &i in &order[1..] {
                        match sources[i].score(m) {
                            // Unlike the first input's, these products are not
                            // NaN-checked before aggregating (as in Redis): a
                            // NaN sums to 0 and loses every MIN/MAX comparison.
                            Some(o) => aggregate(&mut score, o * weights[i], agg),
                            None => continue 'outer,
                        }
                    }
                    if card_only {
                        result.push((Bytes::new(), 0.0));
                        if limit > 0 && result.len() as i64 >= limit {
                            break;
                        }
                    } else {
                        result.push((m.clone(), score));
                    }
                }
            }
        }
        SetOp::Union => {
            let mut acc: HashMap<Bytes, f64> = HashMap::new();
            for &i in &order {
                if let Source::Z(items, _) = &sources[i] {
                    for (m, s) in items {
                        let v = weighted(*s, weights[i]);
                        match acc.get_mut(m) {
                            Some(cur) => aggregate(cur, v, agg),
                            None => {
                                acc.insert(m.clone(), v);
                            }
                        }
                    }
                }
            }
            result = acc.into_iter().collect();
        }
        SetOp::Diff => {
            if let Source::Z(items, _) = &sources[0] {
                for (m, s) in items {
                    if sources[1..].iter().all(|o| o.score(m).is_none()) {
                        result.push((m.clone(), *s));
                    }
                }
            }
        }
    }
    if card_only {
        return Ok(Reply::Int(result.len() as i64));
    }
    match dst {
        Some(dst) => {
            let n = result.len() as i64;
            if n == 0 {
                store_empty(ctx, dst);
            } else {
                let z = Zset::from_entries(result, limits(ctx));
                let event = match op {
                    SetOp::Union => "zunionstore",
                    SetOp::Inter => "zinterstore",
                    SetOp::Diff => "zdiffstore",
                };
                store_result(ctx, dst, z, event);
            }
            Ok(Reply::Int(n))
        }
        None => {
            result.sort_by(|x, y| crate::types::zset::cmp_key(x.1, &x.0, y.1, &y.0));
            Ok(members_reply(result, withscores, ctx.client.resp))
        }
    }
}

fn zunion(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(ctx, a, 1, SetOp::Union, None, false, "zunion")
}

fn zinter(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(ctx, a, 1, SetOp::Inter, None, false, "zinter")
}

fn zdiff(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(ctx, a, 1, SetOp::Diff, None, false, "zdiff")
}

fn zunionstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(ctx, a, 2, SetOp::Union, Some(&a[1]), false, "zunionstore")
}

fn zinterstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(ctx, a, 2, SetOp::Inter, Some(&a[1]), false, "zinterstore")
}

fn zdiffstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(ctx, a, 2, SetOp::Diff, Some(&a[1]), false, "zdiffstore")
}

fn zintercard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    algebra(ctx, a, 1, SetOp::Inter, None, true, "zintercard")
}

// ---- ZRANDMEMBER, ZSCAN -------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn zrandmember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut count = None;
    let mut withscores = false;
    if a.len() >= 3 {
        let c = int(&a[2])?;
        if c == i64::MIN {
            return Err(CmdError::custom(E::COUNT_RANGE));
        }
        if a.len() > 4 || (a.len() == 4 && !eq(&a[3], "withscores")) {
            return Err(CmdError::Syntax);
        }
        if a.len() == 4 {
            withscores = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&c) {
                return Err(CmdError::custom(E::OUT_OF_RANGE));
            }
        }
        count = Some(c);
    }
    let resp = ctx.client.resp;
    let mut rng = Rng(crate::server::unix_us() | 1);
    let Some(z) = zset_read(ctx, &a[1])? else {
        return Ok(if count.is_some() {
            Reply::Array(vec![])
        } else {
            Reply::Nil
        });
    };
    let len = z.len();
    let Some(c) = count else {
        return Ok(z
            .nth(rng.next(len))
            .map_or(Reply::Nil, |(m, _)| Reply::Bulk(m)));
    };
    let items: Vec<(Bytes, f64)> = if c < 0 {
        // Repetitions allowed; the count is capped so a huge one cannot
        // exhaust memory before the client sees anything.
        let n = c.unsigned_abs().min(1 << 24) as usize;
        (0..n).filter_map(|_| z.nth(rng.next(len))).collect()
    } else if c as u64 >= len as u64 {
        z.range(0, len.saturating_sub(1))
    } else {
        // Distinct members: a partial Fisher-Yates shuffle of the ranks.
        let c = c as usize;
        let mut ranks: Vec<usize> = (0..len).collect();
        for i in 0..c {
            let j = i + rng.next(len - i);
            ranks.swap(i, j);
        }
        ranks[..c].iter().filter_map(|&r| z.nth(r)).collect()
    };
    Ok(members_reply(items, withscores, resp))
}

fn zscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let crate::family::keys::ScanArgs {
        cursor,
        pattern,
        count,
        ..
    } = crate::family::keys::parse_scan_args(a, 2, false)?;
    let cursor = cursor & ((1 << 56) - 1);
    let Some(z) = zset_read(ctx, &a[1])? else {
        return Ok(Reply::Array(vec![
            Reply::bulk_str("0"),
            Reply::Array(vec![]),
        ]));
    };
    // The listpack encoding comes back whole in one call and in its own
    // order (by score), as in Redis.
    let (next, members) = if z.is_listpack() {
        (
            0,
            z.iter().map(|(_, m)| Bytes::copy_from_slice(m)).collect(),
        )
    } else {
        crate::family::keys::scan_step(
            z.iter().map(|(_, m)| Bytes::copy_from_slice(m)),
            cursor,
            count,
        )
    };
    let mut items = Vec::new();
    for m in members {
        if pattern
            .as_ref()
            .is_some_and(|p| !crate::glob::glob_match(p, &m, false))
        {
            continue;
        }
        let s = z.score(&m).unwrap_or(0.0);
        items.push(Reply::Bulk(m));
        items.push(Reply::Bulk(Bytes::from(d2string(s))));
    }
    Ok(Reply::Array(vec![
        Reply::bulk_int(next as i64),
        Reply::Array(items),
    ]))
}

/// The same set in the encoding the current limits call for (RESTORE).
pub fn reencode(ctx: &Ctx, z: &Zset) -> Zset {
    let items = z
        .iter()
        .map(|(s, m)| (Bytes::copy_from_slice(m), s))
        .collect();
    Zset::from_entries(items, limits(ctx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"-0X1.8p1"), Some(-3.0));
        assert_eq!(parse_score(b"+inf"), Some(f64::INFINITY));
        for bad in [&b"0x"[..], b"0x1p", b"nan", b" 1", b"1 ", b"", b"0xg"] {
            assert_eq!(parse_score(bad), None, "{bad:?}");
        }
        // string2d's ERANGE: overflow and underflow to zero are refused.
        assert_eq!(parse_score(b"1e400"), Some(f64::INFINITY));
        for bad in [
            &b"1e400"[..],
            b"-1e400",
            b"1e-400",
            b"0x1p-1080",
            b"0x1p2000",
        ] {
            assert_eq!(parse_score_strict(bad), None, "{bad:?}");
        }
        for good in [
            &b"0"[..],
            b"0.0",
            b"-0",
            b"0e5",
            b"0x0p3",
            b"inf",
            b"-Infinity",
            b"4.9e-324",
            b"1.",
        ] {
            assert!(parse_score_strict(good).is_some(), "{good:?}");
        }
    }

    #[test]
    fn d2string_like_redis() {
        assert_eq!(d2string(3.0), "3");
        assert_eq!(d2string(-0.0), "-0");
        assert_eq!(d2string(0.5), "0.5");
        assert_eq!(d2string(f64::NEG_INFINITY), "-inf");
    }
}
