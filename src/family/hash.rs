//! Hashes: HSET HSETNX HMSET HGET HMGET HDEL HLEN HSTRLEN HEXISTS HINCRBY
//! HINCRBYFLOAT HKEYS HVALS HGETALL HRANDFIELD HSCAN (after Redis's `t_hash.c`).
//!
//! The representation (listpack-like buffer, then a table) is `types::hash`;
//! the conversion thresholds are read from the config on every write, so
//! CONFIG SET hash-max-listpack-* applies to the next write, as in Redis.

use bytes::Bytes;

use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;
use crate::types::hash::Hash;
use crate::types::ldouble::{self, Parsed};

const K1: Keys = Keys::Range(1, 1, 1);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("hset", -4, WRITE | DENYOOM | FAST, K1, hset).doc("hash", "2.0.0", "Creates or modifies the value of a field in a hash."),
    CommandSpec::new("hmset", -4, WRITE | DENYOOM | FAST, K1, hmset).doc("hash", "2.0.0", "Sets the values of multiple fields."),
    CommandSpec::new("hsetnx", 4, WRITE | DENYOOM | FAST, K1, hsetnx).doc("hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist."),
    CommandSpec::new("hget", 3, READONLY | FAST, K1, hget).doc("hash", "2.0.0", "Returns the value of a field in a hash."),
    CommandSpec::new("hmget", -3, READONLY | FAST, K1, hmget).doc("hash", "2.0.0", "Returns the values of all fields in a hash."),
    CommandSpec::new("hdel", -3, WRITE | FAST, K1, hdel).doc("hash", "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain."),
    CommandSpec::new("hlen", 2, READONLY | FAST, K1, hlen).doc("hash", "2.0.0", "Returns the number of fields in a hash."),
    CommandSpec::new("hstrlen", 3, READONLY | FAST, K1, hstrlen).doc("hash", "3.2.0", "Returns the length of the value of a field."),
    CommandSpec::new("hexists", 3, READONLY | FAST, K1, hexists).doc("hash", "2.0.0", "Determines whether a field exists in a hash."),
    CommandSpec::new("hincrby", 4, WRITE | DENYOOM | FAST, K1, hincrby).doc("hash", "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist."),
    CommandSpec::new("hincrbyfloat", 4, WRITE | DENYOOM | FAST, K1, hincrbyfloat).doc("hash", "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist."),
    CommandSpec::new("hkeys", 2, READONLY, K1, hkeys).doc("hash", "2.0.0", "Returns all fields in a hash."),
    CommandSpec::new("hvals", 2, READONLY, K1, hvals).doc("hash", "2.0.0", "Returns all values in a hash."),
    CommandSpec::new("hgetall", 2, READONLY, K1, hgetall).doc("hash", "2.0.0", "Returns all fields and values in a hash."),
    CommandSpec::new("hrandfield", -2, READONLY, K1, hrandfield).doc("hash", "6.2.0", "Returns one or more random fields from a hash."),
    CommandSpec::new("hscan", -3, READONLY, K1, hscan).doc("hash", "2.8.0", "Iterates over fields and values of a hash."),
];

/// Negative HRANDFIELD counts repeat picks; the reply is built in memory, so
/// it is capped (Redis streams it until the output buffer limit cuts it).
const MAX_RANDOM_PICKS: u64 = 1 << 24;

fn hash_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c mut Hash>> {
    match ctx.lookup(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Hash(h) => {
                let n = h.len();
                Ok(Some(crate::long_step::make_mut(h, n)))
            }
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Read lookup (counts keyspace hits/misses).
fn hash_read<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c Hash>> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Hash(h) => Ok(Some(h)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The hash at `key`, created empty (with its `new` event) if missing:
/// Redis's `hashTypeLookupWriteOrCreate`.
fn hash_or_create<'c>(ctx: &'c mut Ctx, key: &Bytes) -> CmdResult<&'c mut Hash> {
    if hash_mut(ctx, key)?.is_none() {
        ctx.set_value(key, Value::Hash(std::sync::Arc::default()), false);
        ctx.notify(notify::NEW, "new", key);
    }
    hash_mut(ctx, key)?.ok_or(CmdError::NoSuchKey)
}

fn hset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    hset_generic(ctx, a, false)
}

fn hmset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    hset_generic(ctx, a, true)
}

/// HSET replies with the number of new fields, HMSET (deprecated) with OK.
fn hset_generic(ctx: &mut Ctx, a: &[Bytes], is_hmset: bool) -> CmdResult<Reply> {
    if a.len() % 2 == 1 {
        return Err(CmdError::WrongArity(
            if is_hmset { "hmset" } else { "hset" }.into(),
        ));
    }
    let key = &a[1];
    let limits = ctx.srv.config.hash_limits();
    let h = hash_or_create(ctx, key)?;
    // Redis's hashTypeTryConversion: one over-long argument converts up front.
    let strings: Vec<&[u8]> = a[2..].iter().map(|b| b.as_ref()).collect();
    h.convert_for(&strings, limits);
    let created = a[2..]
        .chunks_exact(2)
        .filter(|p| h.set(&p[0], &p[1], limits))
        .count();
    ctx.modified(key);
    ctx.notify(notify::HASH, "hset", key);
    Ok(if is_hmset {
        Reply::Ok
    } else {
        Reply::Int(created as i64)
    })
}

fn hsetnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let limits = ctx.srv.config.hash_limits();
    let h = hash_or_create(ctx, key)?;
    if h.contains(&a[2]) {
        return Ok(Reply::Int(0));
    }
    h.set(&a[2], &a[3], limits);
    ctx.modified(key);
    ctx.notify(notify::HASH, "hset", key);
    Ok(Reply::Int(1))
}

fn hget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::opt_bulk(
        hash_read(ctx, &a[1])?.and_then(|h| h.get(&a[2]).map(Bytes::copy_from_slice)),
    ))
}

fn hmget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let h = hash_read(ctx, &a[1])?;
    Ok(Reply::Array(
        a[2..]
            .iter()
            .map(|f| Reply::opt_bulk(h.and_then(|h| h.get(f)).map(Bytes::copy_from_slice)))
            .collect(),
    ))
}

fn hdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let Some(h) = hash_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let deleted = a[2..].iter().filter(|f| h.remove(f)).count();
    let emptied = h.is_empty();
    if deleted > 0 {
        ctx.modified(key);
        ctx.notify(notify::HASH, "hdel", key);
        if emptied {
            // Redis never keeps an empty hash.
            ctx.delete(key);
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    Ok(Reply::Int(deleted as i64))
}

fn hlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        hash_read(ctx, &a[1])?.map_or(0, |h| h.len() as i64),
    ))
}

fn hstrlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        hash_read(ctx, &a[1])?
            .and_then(|h| h.get(&a[2]))
            .map_or(0, |v| v.len() as i64),
    ))
}

fn hexists(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        hash_read(ctx, &a[1])?.is_some_and(|h| h.contains(&a[2])) as i64,
    ))
}

fn hincrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let incr = int(&a[3])?;
    let limits = ctx.srv.config.hash_limits();
    let h = hash_or_create(ctx, key)?;
    let old = match h.get(&a[2]) {
        Some(v) => crate::conn::protocol::parse_i64(v)
            .ok_or_else(|| CmdError::custom(crate::error::msg::HASH_VALUE_IS_NOT_AN_INTEGER))?,
        None => 0,
    };
    let new = old.checked_add(incr).ok_or(CmdError::Overflow)?;
    let mut buf = itoa::Buffer::new();
    let text = buf.format(new);
    h.set(&a[2], text.as_bytes(), limits);
    ctx.modified(key);
    ctx.notify(notify::HASH, "hincrby", key);
    Ok(Reply::Int(new))
}

fn hincrbyfloat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    // Redis computes in `long double` and prints `%.17Lf`: so does `ldouble`.
    let incr = match ldouble::parse(&a[3]) {
        None => return Err(CmdError::NotFloat),
        Some(Parsed::Inf) => {
            return Err(CmdError::custom(
                crate::error::msg::VALUE_IS_NAN_OR_INFINITY,
            ))
        }
        Some(Parsed::Num(v)) => v,
    };
    let limits = ctx.srv.config.hash_limits();
    let h = hash_or_create(ctx, key)?;
    let old = match h.get(&a[2]).map(ldouble::parse) {
        None => ldouble::Ld::ZERO,
        Some(Some(Parsed::Num(v))) => v,
        // An infinite value plus a finite increment stays infinite.
        Some(Some(Parsed::Inf)) => return Err(CmdError::IncrNanOrInf),
        Some(None) => {
            return Err(CmdError::custom(
                crate::error::msg::HASH_VALUE_IS_NOT_A_FLOAT,
            ))
        }
    };
    let new = ldouble::add(old, incr).ok_or(CmdError::IncrNanOrInf)?;
    let text = Bytes::from(ldouble::human(new));
    h.set(&a[2], &text, limits);
    ctx.modified(key);
    ctx.notify(notify::HASH, "hincrbyfloat", key);
    Ok(Reply::Bulk(text))
}

fn hkeys(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(hash_read(ctx, &a[1])?.map_or_else(
        Vec::new,
        |h| {
            h.iter()
                .map(|(f, _)| Reply::bulk(Bytes::copy_from_slice(f)))
                .collect()
        },
    )))
}

fn hvals(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(hash_read(ctx, &a[1])?.map_or_else(
        Vec::new,
        |h| {
            h.iter()
                .map(|(_, v)| Reply::bulk(Bytes::copy_from_slice(v)))
                .collect()
        },
    )))
}

fn pair(f: &[u8], v: &[u8]) -> (Reply, Reply) {
    (
        Reply::Bulk(Bytes::copy_from_slice(f)),
        Reply::Bulk(Bytes::copy_from_slice(v)),
    )
}

fn hgetall(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    // A map in RESP3 (an empty one for a missing key), flat in RESP2.
    Ok(Reply::Map(
        hash_read(ctx, &a[1])?
            .map_or_else(Vec::new, |h| h.iter().map(|(f, v)| pair(f, v)).collect()),
    ))
}

/// xorshift64: HRANDFIELD needs spread, not cryptographic quality.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        Rng(crate::server::unix_us() | 1)
    }
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % n.max(1) as u64) as usize
    }
}

fn hrandfield(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut rng = Rng::new();
    if a.len() == 2 {
        let Some(h) = hash_read(ctx, &a[1])? else {
            return Ok(Reply::Nil);
        };
        return Ok(Reply::opt_bulk(
            h.random(|n| rng.below(n))
                .map(|(f, _)| Bytes::copy_from_slice(f)),
        ));
    }
    let l = int(&a[2])?;
    if l == i64::MIN {
        // -LONG_MAX..LONG_MAX: the absolute value must fit.
        return Err(CmdError::custom(
            crate::error::msg::VALUE_OUT_OF_RANGE_I64_BOUNDS,
        ));
    }
    if a.len() > 4 || (a.len() == 4 && !eq(&a[3], "withvalues")) {
        return Err(CmdError::Syntax);
    }
    let withvalues = a.len() == 4;
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::custom(crate::error::msg::VALUE_IS_OUT_OF_RANGE));
    }
    let Some(h) = hash_read(ctx, &a[1])? else {
        return Ok(Reply::Array(vec![]));
    };
    let size = h.len();
    let shape = |picked: Vec<(&[u8], &[u8])>| {
        if withvalues {
            // RESP3: an array of [field, value] pairs; RESP2: flat.
            Reply::Pairs(picked.into_iter().map(|(f, v)| pair(f, v)).collect())
        } else {
            Reply::Array(
                picked
                    .into_iter()
                    .map(|(f, _)| Reply::Bulk(Bytes::copy_from_slice(f)))
                    .collect(),
            )
        }
    };
    if l == 0 || size == 0 {
        return Ok(Reply::Array(vec![]));
    }
    if l < 0 || l == 1 {
        // Repetitions allowed, order random.
        let n = l.unsigned_abs().min(MAX_RANDOM_PICKS) as usize;
        if let Hash::Table(t) = h {
            // O(1) per pick.
            let picks = (0..n).filter_map(|_| t.random(|n| rng.below(n)));
            return Ok(shape(picks.collect()));
        }
        let picks: Vec<usize> = (0..n).map(|_| rng.below(size)).collect();
        return Ok(shape(fetch(h, &picks)));
    }
    let count = l as usize;
    if count >= size {
        return Ok(shape(h.iter().collect()));
    }
    let picks: Vec<usize> = if count * 3 > size {
        // Most of the hash: a partial Fisher-Yates shuffle of the positions.
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = i + rng.below(size - i);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else if let Hash::Table(t) = h {
        // A small part of a table: draw until `count` distinct fields (Redis's CASE 4).
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut picked = Vec::with_capacity(count);
        while picked.len() < count {
            let Some(pair) = t.random(|n| rng.below(n)) else {
                break;
            };
            if seen.insert(pair.0) {
                picked.push(pair);
            }
        }
        return Ok(shape(picked));
    } else {
        // A small part of a packed hash: distinct positions, fetched in one pass.
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut picks = Vec::with_capacity(count);
        while picks.len() < count {
            let i = rng.below(size);
            if seen.insert(i) {
                picks.push(i);
            }
        }
        picks
    };
    Ok(shape(fetch(h, &picks)))
}

/// The pairs at positions `picks` (iteration order), in the order of `picks`,
/// in one pass over the hash: no copy of the whole hash for a few picks.
fn fetch<'h>(h: &'h Hash, picks: &[usize]) -> Vec<Pair<'h>> {
    let mut order: Vec<(usize, usize)> = picks
        .iter()
        .enumerate()
        .map(|(slot, &i)| (i, slot))
        .collect();
    order.sort_unstable();
    let mut out: Vec<Pair<'h>> = vec![(&[][..], &[][..]); picks.len()];
    let mut next = order.iter().peekable();
    for (i, pair) in h.iter().enumerate() {
        while let Some(&&(want, slot)) = next.peek() {
            if want != i {
                break;
            }
            out[slot] = pair;
            next.next();
        }
        if next.peek().is_none() {
            break;
        }
    }
    out
}

/// A borrowed field and its value.
type Pair<'h> = (&'h [u8], &'h [u8]);

fn hscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let crate::family::keys::ScanArgs {
        cursor,
        pattern,
        count,
        ..
    } = crate::family::keys::parse_scan_args(a, 2, false)?;
    let empty = || Reply::Array(vec![Reply::bulk_str("0"), Reply::Array(vec![])]);
    let Some(h) = hash_read(ctx, &a[1])? else {
        return Ok(empty());
    };
    let (next, items): (u64, Vec<Pair>) = match h {
        // As Redis does for a listpack: everything in one reply, cursor 0.
        Hash::Pack { .. } => (0, h.iter().collect()),
        Hash::Table(t) => {
            let mut out = Vec::new();
            let cursor = t.scan(cursor, count, &mut out);
            (cursor, out)
        }
    };
    let mut out = Vec::with_capacity(items.len() * 2);
    for (f, v) in items {
        if pattern
            .as_ref()
            .is_none_or(|p| crate::glob::glob_match(p, f, false))
        {
            out.push(Reply::Bulk(Bytes::copy_from_slice(f)));
            out.push(Reply::Bulk(Bytes::copy_from_slice(v)));
        }
    }
    Ok(Reply::Array(vec![
        Reply::bulk_int(next as i64),
        Reply::Array(out),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_returns_picks_in_pick_order() {
        let mut h = Hash::new();
        for f in ["a", "b", "c", "d"] {
            h.set(
                f.as_bytes(),
                f.as_bytes(),
                crate::types::hash::Limits::default(),
            );
        }
        let got: Vec<&[u8]> = fetch(&h, &[3, 0, 3, 1]).into_iter().map(|p| p.0).collect();
        assert_eq!(got, [&b"d"[..], b"a", b"d", b"b"]);
    }

    #[test]
    fn rng_stays_in_range() {
        let mut r = Rng(12345);
        for n in 1..100 {
            assert!(r.below(n) < n);
        }
        assert_eq!(r.below(0), 0);
    }
}
