//! Lists: pushes, pops, ranges, moves, and the blocking pops.
//!
//! Blocking handlers (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) serve at once
//! when they can; otherwise they set `ctx.block` and the dispatcher queues the
//! client (see `crate::blocking`). When a waiter is served its command is run
//! again by the server, as a non-blocking call, against the ready key. Inside
//! MULTI/EXEC (and when serving) they never block.
//!
//! AOF effects (for the persistence layer): BLPOP/BRPOP → LPOP/RPOP key,
//! BLMOVE/BRPOPLPUSH → LMOVE with the same ends, BLMPOP → LPOP/RPOP key count.

use bytes::Bytes;

use crate::blocking::BlockRequest;
use crate::command::args::{eq, int, numkeys_at_1, numkeys_at_2, timeout_secs};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;
use crate::types::list::List;

const K1: Keys = Keys::Range(1, 1, 1);
const K12: Keys = Keys::Range(1, 2, 1);
const W: u32 = WRITE | DENYOOM;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("lpush", -3, W | FAST, K1, lpush).doc("list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist."),
    CommandSpec::new("rpush", -3, W | FAST, K1, rpush).doc("list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist."),
    CommandSpec::new("lpushx", -3, W | FAST, K1, lpushx).doc("list", "2.2.0", "Prepends one or more elements to a list only when the list exists."),
    CommandSpec::new("rpushx", -3, W | FAST, K1, rpushx).doc("list", "2.2.0", "Appends an element to a list only when the list exists."),
    CommandSpec::new("lpop", -2, WRITE | FAST, K1, lpop).doc("list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped."),
    CommandSpec::new("rpop", -2, WRITE | FAST, K1, rpop).doc("list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped."),
    CommandSpec::new("llen", 2, READONLY | FAST, K1, llen).doc("list", "1.0.0", "Returns the length of a list."),
    CommandSpec::new("lrange", 4, READONLY, K1, lrange).doc("list", "1.0.0", "Returns a range of elements from a list."),
    CommandSpec::new("lindex", 3, READONLY, K1, lindex).doc("list", "1.0.0", "Returns an element from a list by its index."),
    CommandSpec::new("lset", 4, W, K1, lset).doc("list", "1.0.0", "Sets the value of an element in a list by its index."),
    CommandSpec::new("linsert", 5, W, K1, linsert).doc("list", "2.2.0", "Inserts an element before or after another element in a list."),
    CommandSpec::new("lrem", 4, WRITE, K1, lrem).doc("list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed."),
    CommandSpec::new("ltrim", 4, WRITE, K1, ltrim).doc("list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed."),
    CommandSpec::new("lpos", -3, READONLY, K1, lpos).doc("list", "6.0.6", "Returns the index of matching elements in a list."),
    CommandSpec::new("lmove", 5, W, K12, lmove).doc("list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved."),
    CommandSpec::new("rpoplpush", 3, W, K12, rpoplpush).doc("list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped."),
    CommandSpec::new("lmpop", -4, WRITE, Keys::Movable(numkeys_at_1), lmpop).doc("list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped."),
    CommandSpec::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, Keys::Range(1, -2, 1), blpop).doc("list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped."),
    CommandSpec::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, Keys::Range(1, -2, 1), brpop).doc("list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped."),
    CommandSpec::new("blmove", 6, W | NOSCRIPT | BLOCKING, K12, blmove).doc("list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved."),
    CommandSpec::new("brpoplpush", 4, W | NOSCRIPT | BLOCKING, K12, brpoplpush).doc("list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped."),
    CommandSpec::new("blmpop", -5, WRITE | BLOCKING, Keys::Movable(numkeys_at_2), blmpop).doc("list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped."),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Left,
    Right,
}

fn parse_end(arg: &[u8]) -> CmdResult<End> {
    if eq(arg, "left") {
        Ok(End::Left)
    } else if eq(arg, "right") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

/// The list at `key`: `Ok(None)` if absent, WRONGTYPE for another type.
fn list_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c mut List>> {
    match ctx.lookup(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::List(l) => {
                let n = l.len();
                Ok(Some(crate::long_step::make_mut(l, n)))
            }
            _ => Err(CmdError::WrongType),
        },
    }
}

fn push_generic(ctx: &mut Ctx, a: &[Bytes], end: End, only_if_exists: bool) -> CmdResult<Reply> {
    let key = &a[1];
    let len = match list_mut(ctx, key)? {
        Some(l) => {
            for v in &a[2..] {
                match end {
                    End::Left => l.push_front(v),
                    End::Right => l.push_back(v),
                }
            }
            let n = l.len();
            ctx.modified(key);
            n
        }
        None if only_if_exists => return Ok(Reply::Int(0)),
        None => {
            let mut l = List::new();
            for v in &a[2..] {
                match end {
                    End::Left => l.push_front(v),
                    End::Right => l.push_back(v),
                }
            }
            let n = l.len();
            ctx.set_value(key, Value::List(std::sync::Arc::new(l)), false);
            ctx.notify(notify::NEW, "new", key);
            n
        }
    };
    ctx.notify(
        notify::LIST,
        if end == End::Left { "lpush" } else { "rpush" },
        key,
    );
    ctx.signal_ready(key);
    Ok(Reply::Int(len as i64))
}

fn lpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, a, End::Left, false)
}

fn rpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, a, End::Right, false)
}

fn lpushx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, a, End::Left, true)
}

fn rpushx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, a, End::Right, true)
}

/// Pops up to `count` elements from one end; deletes the key when emptied.
/// Records the pop event (and `del`). Returns None if the key holds no list.
fn pop_n(ctx: &mut Ctx, key: &Bytes, end: End, count: usize) -> CmdResult<Option<Vec<Bytes>>> {
    let Some(l) = list_mut(ctx, key)? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(count.min(l.len()));
    while out.len() < count {
        let v = match end {
            End::Left => l.pop_front(),
            End::Right => l.pop_back(),
        };
        match v {
            Some(v) => out.push(v),
            None => break,
        }
    }
    let emptied = l.is_empty();
    ctx.notify(
        notify::LIST,
        if end == End::Left { "lpop" } else { "rpop" },
        key,
    );
    if emptied {
        ctx.delete(key);
        ctx.notify(notify::GENERIC, "del", key);
    } else {
        ctx.modified(key);
    }
    Ok(Some(out))
}

fn pop_generic(ctx: &mut Ctx, a: &[Bytes], end: End) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(CmdError::WrongArity(
            if end == End::Left { "lpop" } else { "rpop" }.into(),
        ));
    }
    let count = match a.get(2) {
        Some(c) => Some(crate::command::args::positive(c)? as usize),
        None => None,
    };
    let key = &a[1];
    match count {
        None => Ok(match pop_n(ctx, key, end, 1)? {
            Some(mut v) if !v.is_empty() => Reply::Bulk(v.remove(0)),
            _ => Reply::Nil,
        }),
        Some(0) => Ok(match list_mut(ctx, key)? {
            Some(_) => Reply::Array(vec![]),
            None => Reply::NilArray,
        }),
        Some(n) => Ok(match pop_n(ctx, key, end, n)? {
            Some(v) => Reply::bulks(v),
            None => Reply::NilArray,
        }),
    }
}

fn lpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    pop_generic(ctx, a, End::Left)
}

fn rpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    pop_generic(ctx, a, End::Right)
}

fn llen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        list_mut(ctx, &a[1])?.map_or(0, |l| l.len() as i64),
    ))
}

/// Redis's range clamping: (start, end) inclusive, or None for an empty range.
fn clamp_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
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

fn lrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let start = int(&a[2])?;
    let end = int(&a[3])?;
    let Some(l) = list_mut(ctx, &a[1])? else {
        return Ok(Reply::Array(vec![]));
    };
    Ok(match clamp_range(l.len(), start, end) {
        Some((s, e)) => Reply::bulks(l.range(s, e)),
        None => Reply::Array(vec![]),
    })
}

fn lindex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let idx = int(&a[2])?;
    let Some(l) = list_mut(ctx, &a[1])? else {
        return Ok(Reply::Nil);
    };
    Ok(l.get(idx)
        .map_or(Reply::Nil, |v| Reply::Bulk(Bytes::copy_from_slice(v))))
}

fn lset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let idx = int(&a[2])?;
    let key = &a[1];
    let Some(l) = list_mut(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let Some(pos) = l.normalize(idx) else {
        return Err(CmdError::custom(crate::error::msg::INDEX_OUT_OF_RANGE));
    };
    let mut items = l.to_vec();
    items[pos] = a[3].clone();
    *l = List::rebuild(items);
    ctx.modified(key);
    ctx.notify(notify::LIST, "lset", key);
    Ok(Reply::Ok)
}

fn linsert(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let after = if eq(&a[2], "after") {
        true
    } else if eq(&a[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let key = &a[1];
    let Some(l) = list_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let mut items = l.to_vec();
    let Some(pos) = items.iter().position(|v| *v == a[3]) else {
        return Ok(Reply::Int(-1));
    };
    items.insert(if after { pos + 1 } else { pos }, a[4].clone());
    *l = List::rebuild(items);
    let n = l.len();
    ctx.modified(key);
    ctx.notify(notify::LIST, "linsert", key);
    Ok(Reply::Int(n as i64))
}

fn lrem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let count = int(&a[2])?;
    let key = &a[1];
    let Some(l) = list_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let items = l.to_vec();
    let target = &a[3];
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut removed = 0usize;
    let mut keep = vec![true; items.len()];
    let order: Box<dyn Iterator<Item = usize>> = if count < 0 {
        Box::new((0..items.len()).rev())
    } else {
        Box::new(0..items.len())
    };
    for i in order {
        if removed >= limit {
            break;
        }
        if items[i] == *target {
            keep[i] = false;
            removed += 1;
        }
    }
    if removed == 0 {
        return Ok(Reply::Int(0));
    }
    let rest: Vec<Bytes> = items
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(v, _)| v)
        .collect();
    let empty = rest.is_empty();
    *l = List::rebuild(rest);
    ctx.notify(notify::LIST, "lrem", key);
    if empty {
        ctx.delete(key);
        ctx.notify(notify::GENERIC, "del", key);
    } else {
        ctx.modified(key);
    }
    Ok(Reply::Int(removed as i64))
}

fn ltrim(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let start = int(&a[2])?;
    let end = int(&a[3])?;
    let key = &a[1];
    let Some(l) = list_mut(ctx, key)? else {
        return Ok(Reply::Ok);
    };
    let kept = match clamp_range(l.len(), start, end) {
        Some((s, e)) => l.range(s, e),
        None => Vec::new(),
    };
    let empty = kept.is_empty();
    *l = List::rebuild(kept);
    ctx.notify(notify::LIST, "ltrim", key);
    if empty {
        ctx.delete(key);
        ctx.notify(notify::GENERIC, "del", key);
    } else {
        ctx.modified(key);
    }
    Ok(Reply::Ok)
}

fn lpos(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut i = 3;
    while i < a.len() {
        let more = a.len() - 1 - i;
        if eq(&a[i], "rank") && more > 0 {
            rank = int(&a[i + 1])?;
            if rank == 0 {
                return Err(CmdError::custom(crate::error::msg::RANK_CAN_T_BE_ZERO_USE));
            }
            if rank == i64::MIN {
                return Err(CmdError::NotInteger);
            }
        } else if eq(&a[i], "count") && more > 0 {
            let c = int(&a[i + 1])?;
            if c < 0 {
                return Err(CmdError::custom(crate::error::msg::COUNT_CAN_T_BE_NEGATIVE));
            }
            count = Some(c);
        } else if eq(&a[i], "maxlen") && more > 0 {
            maxlen = int(&a[i + 1])?;
            if maxlen < 0 {
                return Err(CmdError::custom(
                    crate::error::msg::MAXLEN_CAN_T_BE_NEGATIVE,
                ));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let Some(l) = list_mut(ctx, &a[1])? else {
        return Ok(if count.is_some() {
            Reply::Array(vec![])
        } else {
            Reply::Nil
        });
    };
    let target = &a[2];
    let len = l.len();
    let want = match count {
        Some(0) => usize::MAX,
        Some(c) => c as usize,
        None => 1,
    };
    let mut skip = rank.unsigned_abs() - 1;
    let mut found = Vec::new();
    let limit = if maxlen == 0 {
        usize::MAX
    } else {
        maxlen as usize
    };
    let mut visit = |idx: usize, v: &[u8]| -> bool {
        if v == target.as_ref() {
            if skip > 0 {
                skip -= 1;
            } else {
                found.push(idx);
                if found.len() >= want {
                    return false;
                }
            }
        }
        true
    };
    if rank > 0 {
        for (i, v) in l.iter().enumerate().take(limit) {
            if !visit(i, v) {
                break;
            }
        }
    } else {
        for (i, v) in l.iter().rev().enumerate().take(limit) {
            if !visit(len - 1 - i, v) {
                break;
            }
        }
    }
    Ok(match count {
        Some(_) => Reply::Array(found.into_iter().map(|i| Reply::Int(i as i64)).collect()),
        None => found.first().map_or(Reply::Nil, |i| Reply::Int(*i as i64)),
    })
}

/// LMOVE's core: `Ok(None)` when the source is empty.
fn move_element(
    ctx: &mut Ctx,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
) -> CmdResult<Option<Bytes>> {
    if list_mut(ctx, src)?.is_none_or(|l| l.is_empty()) {
        return Ok(None);
    }
    // Check the destination type before popping, as Redis does.
    list_mut(ctx, dst)?;
    // Pop without deleting an emptied source yet: with src == dst the element
    // goes back in, and the key (and its TTL) must survive.
    let popped = list_mut(ctx, src)?.and_then(|l| match from {
        End::Left => l.pop_front(),
        End::Right => l.pop_back(),
    });
    let Some(v) = popped else {
        return Ok(None);
    };
    let args = [Bytes::new(), dst.clone(), v.clone()];
    push_generic(ctx, &args, to, false)?;
    // Redis's order of events: the push on the destination, then the pop on
    // the source, then the source's deletion.
    ctx.notify(
        notify::LIST,
        if from == End::Left { "lpop" } else { "rpop" },
        src,
    );
    if list_mut(ctx, src)?.is_some_and(|l| l.is_empty()) {
        ctx.delete(src);
        ctx.notify(notify::GENERIC, "del", src);
    } else {
        ctx.modified(src);
    }
    Ok(Some(v))
}

fn lmove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let from = parse_end(&a[3])?;
    let to = parse_end(&a[4])?;
    Ok(Reply::opt_bulk(move_element(ctx, &a[1], &a[2], from, to)?))
}

fn rpoplpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::opt_bulk(move_element(
        ctx,
        &a[1],
        &a[2],
        End::Right,
        End::Left,
    )?))
}

/// Parses `numkeys key… LEFT|RIGHT [COUNT n]` starting at `at` (numkeys).
fn parse_mpop(a: &[Bytes], at: usize) -> CmdResult<(Vec<Bytes>, End, usize)> {
    let n = int(&a[at])
        .map_err(|_| CmdError::custom(crate::error::msg::NUMKEYS_SHOULD_BE_GREATER_THAN_0))?;
    if n <= 0 {
        return Err(CmdError::custom(
            crate::error::msg::NUMKEYS_SHOULD_BE_GREATER_THAN_0,
        ));
    }
    let where_idx = (at as u64).saturating_add(n as u64).saturating_add(1);
    if where_idx >= a.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let end = parse_end(&a[where_idx])?;
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < a.len() {
        if count.is_none() && eq(&a[j], "count") && j + 1 < a.len() {
            let c = int(&a[j + 1])
                .map_err(|_| CmdError::custom(crate::error::msg::COUNT_SHOULD_BE_GREATER_THAN_0))?;
            if c <= 0 {
                return Err(CmdError::custom(
                    crate::error::msg::COUNT_SHOULD_BE_GREATER_THAN_0,
                ));
            }
            count = Some(c as usize);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((a[at + 1..where_idx].to_vec(), end, count.unwrap_or(1)))
}

/// Pops from the first non-empty list among `keys`: `[key, [elements]]`.
fn mpop_first(ctx: &mut Ctx, keys: &[Bytes], end: End, count: usize) -> CmdResult<Option<Reply>> {
    for key in keys {
        if list_mut(ctx, key)?.is_none_or(|l| l.is_empty()) {
            continue;
        }
        if let Some(v) = pop_n(ctx, key, end, count)? {
            return Ok(Some(Reply::Array(vec![
                Reply::Bulk(key.clone()),
                Reply::bulks(v),
            ])));
        }
    }
    Ok(None)
}

fn lmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let (keys, end, count) = parse_mpop(a, 1)?;
    Ok(mpop_first(ctx, &keys, end, count)?.unwrap_or(Reply::NilArray))
}

fn block_on(
    ctx: &mut Ctx,
    keys: Vec<Bytes>,
    timeout_ms: u64,
    timeout_reply: Reply,
) -> CmdResult<Reply> {
    if ctx.client.in_exec {
        return Ok(timeout_reply);
    }
    ctx.block = Some(BlockRequest {
        keys,
        deadline_ms: (timeout_ms > 0).then(|| ctx.now_ms.saturating_add(timeout_ms)),
        wants: "list",
        timeout_reply: timeout_reply.clone(),
        args: None,
    });
    Ok(timeout_reply)
}

fn bpop(ctx: &mut Ctx, a: &[Bytes], end: End) -> CmdResult<Reply> {
    let timeout = timeout_secs(&a[a.len() - 1])?;
    let keys = &a[1..a.len() - 1];
    for key in keys {
        if list_mut(ctx, key)?.is_none_or(|l| l.is_empty()) {
            continue;
        }
        if let Some(mut v) = pop_n(ctx, key, end, 1)? {
            if let Some(v) = v.pop() {
                return Ok(Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(v)]));
            }
        }
    }
    block_on(ctx, keys.to_vec(), timeout, Reply::NilArray)
}

fn blpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    bpop(ctx, a, End::Left)
}

fn brpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    bpop(ctx, a, End::Right)
}

fn bmove(
    ctx: &mut Ctx,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
    timeout: u64,
) -> CmdResult<Reply> {
    match move_element(ctx, src, dst, from, to)? {
        Some(v) => Ok(Reply::Bulk(v)),
        // Inside MULTI a nil bulk, as LMOVE; but Redis 7.0 times a blocked
        // move out (and CLIENT UNBLOCK TIMEOUT) with a null array.
        None if ctx.client.in_exec => Ok(Reply::Nil),
        None => block_on(ctx, vec![src.clone()], timeout, Reply::NilArray),
    }
}

fn blmove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let from = parse_end(&a[3])?;
    let to = parse_end(&a[4])?;
    let timeout = timeout_secs(&a[5])?;
    bmove(ctx, &a[1], &a[2], from, to, timeout)
}

fn brpoplpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let timeout = timeout_secs(&a[3])?;
    bmove(ctx, &a[1], &a[2], End::Right, End::Left, timeout)
}

fn blmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let timeout = timeout_secs(&a[1])?;
    let (keys, end, count) = parse_mpop(a, 2)?;
    match mpop_first(ctx, &keys, end, count)? {
        Some(r) => Ok(r),
        None => block_on(ctx, keys, timeout, Reply::NilArray),
    }
}
