//! Strings: GET SET and friends, counters, ranges.

use bytes::Bytes;

use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;

const W: u32 = WRITE | DENYOOM;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", 2, READONLY | FAST, Keys::Range(1, 1, 1), get).doc("string", "1.0.0", "Returns the string value of a key."),
    CommandSpec::new("set", -3, W, Keys::Range(1, 1, 1), set).doc("string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."),
    CommandSpec::new("setnx", 3, W | FAST, Keys::Range(1, 1, 1), setnx).doc("string", "1.0.0", "Set the string value of a key only when the key doesn't exist."),
    CommandSpec::new("setex", 4, W, Keys::Range(1, 1, 1), setex).doc("string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist."),
    CommandSpec::new("psetex", 4, W, Keys::Range(1, 1, 1), psetex).doc("string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist."),
    CommandSpec::new("mget", -2, READONLY | FAST, Keys::Range(1, -1, 1), mget).doc("string", "1.0.0", "Atomically returns the string values of one or more keys."),
    CommandSpec::new("mset", -3, W, Keys::Range(1, -1, 2), mset).doc("string", "1.0.1", "Atomically creates or modifies the string values of one or more keys."),
    CommandSpec::new("msetnx", -3, W, Keys::Range(1, -1, 2), msetnx).doc("string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist."),
    CommandSpec::new("getset", 3, W | FAST, Keys::Range(1, 1, 1), getset).doc("string", "1.0.0", "Returns the previous string value of a key after setting it to a new value."),
    CommandSpec::new("getdel", 2, WRITE | FAST, Keys::Range(1, 1, 1), getdel).doc("string", "6.2.0", "Returns the string value of a key after deleting the key."),
    CommandSpec::new("getex", -2, WRITE | FAST, Keys::Range(1, 1, 1), getex).doc("string", "6.2.0", "Returns the string value of a key after setting its expiration time."),
    CommandSpec::new("incr", 2, W | FAST, Keys::Range(1, 1, 1), incr).doc("string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
    CommandSpec::new("decr", 2, W | FAST, Keys::Range(1, 1, 1), decr).doc("string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
    CommandSpec::new("incrby", 3, W | FAST, Keys::Range(1, 1, 1), incrby).doc("string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist."),
    CommandSpec::new("decrby", 3, W | FAST, Keys::Range(1, 1, 1), decrby).doc("string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist."),
    CommandSpec::new("incrbyfloat", 3, W | FAST, Keys::Range(1, 1, 1), incrbyfloat).doc("string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist."),
    CommandSpec::new("append", 3, W, Keys::Range(1, 1, 1), append).doc("string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist."),
    CommandSpec::new("strlen", 2, READONLY | FAST, Keys::Range(1, 1, 1), strlen).doc("string", "2.2.0", "Returns the length of a string value."),
    CommandSpec::new("getrange", 4, READONLY, Keys::Range(1, 1, 1), getrange).doc("string", "2.4.0", "Returns a substring of the string stored at a key."),
    CommandSpec::new("substr", 4, READONLY, Keys::Range(1, 1, 1), getrange).doc("string", "1.0.0", "Returns a substring from a string value."),
    CommandSpec::new("setbit", 4, W, Keys::Range(1, 1, 1), setbit).doc("bitmap", "2.2.0", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist."),
    CommandSpec::new("getbit", 3, READONLY | FAST, Keys::Range(1, 1, 1), getbit).doc("bitmap", "2.2.0", "Returns a bit value by offset."),
    CommandSpec::new("lcs", -3, READONLY, Keys::Range(1, 2, 1), lcs).doc("string", "7.0.0", "Finds the longest common substring."),
    CommandSpec::new("setrange", 4, W, Keys::Range(1, 1, 1), setrange).doc("string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist."),
];

/// The string at `key`: `Ok(None)` if absent, WRONGTYPE if another type.
pub fn get_string(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Option<Bytes>> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Str(b) => Ok(Some(reply_copy(b))),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Values up to this size are copied out for a reply rather than shared.
const COPIED_REPLY: usize = 64;

/// The bytes of a stored string, for a reply. A small one is copied: its
/// bytes are read anyway (the reply is encoded from them), while sharing it
/// would touch its reference count, another allocation and another cache
/// miss, and the first share of a value costs an allocation of 32 bytes
/// that then stays with the value (`Bytes` makes its buffer shareable on
/// first clone): one per key ever read.
fn reply_copy(b: &Bytes) -> Bytes {
    if b.len() <= COPIED_REPLY {
        Bytes::copy_from_slice(b)
    } else {
        b.clone()
    }
}

fn get(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::opt_bulk(get_string(ctx, &a[1])?))
}

/// SET's expiry options, resolved to an absolute deadline.
#[derive(Default)]
struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    expire_at: Option<u64>,
}

/// EX / PX / EXAT / PXAT → (in seconds, absolute).
fn expire_unit(opt: &[u8]) -> Option<(bool, bool)> {
    [
        ("ex", (true, false)),
        ("px", (false, false)),
        ("exat", (true, true)),
        ("pxat", (false, true)),
    ]
    .into_iter()
    .find(|(name, _)| eq(opt, name))
    .map(|(_, unit)| unit)
}

/// Turns EX/PX/EXAT/PXAT arguments into unix ms, with Redis's checks.
pub fn expire_deadline(
    ctx: &Ctx,
    value: &[u8],
    unit_secs: bool,
    absolute: bool,
    cmd: &str,
) -> CmdResult<u64> {
    let n = int(value)?;
    let invalid = || CmdError::InvalidExpire(cmd.to_string());
    if n <= 0 || (unit_secs && n > i64::MAX / 1000) {
        return Err(invalid());
    }
    let ms = if unit_secs { n * 1000 } else { n };
    let at = if absolute {
        ms
    } else {
        ms.checked_add(ctx.now_ms as i64).ok_or_else(invalid)?
    };
    if at <= 0 {
        return Err(invalid());
    }
    Ok(at as u64)
}

fn set(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut o = SetOptions::default();
    let mut i = 3;
    let mut has_expire = false;
    while i < a.len() {
        let opt = &a[i];
        let next = a.get(i + 1);
        if eq(opt, "nx") && !o.xx {
            o.nx = true;
        } else if eq(opt, "xx") && !o.nx {
            o.xx = true;
        } else if eq(opt, "get") {
            o.get = true;
        } else if eq(opt, "keepttl") && !has_expire {
            o.keep_ttl = true;
        } else if let (Some(v), false, false) = (next, has_expire, o.keep_ttl) {
            let (secs, abs) = expire_unit(opt).ok_or(CmdError::Syntax)?;
            has_expire = true;
            o.expire_at = Some(expire_deadline(ctx, v, secs, abs, "set")?);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let key = &a[1];
    let old = if o.get { get_string(ctx, key)? } else { None };
    if o.nx || o.xx {
        let exists = if o.get {
            old.is_some()
        } else {
            ctx.exists(key)
        };
        if (o.nx && exists) || (o.xx && !exists) {
            return Ok(if o.get {
                Reply::opt_bulk(old)
            } else {
                Reply::Nil
            });
        }
    }
    store(ctx, key, a[2].clone(), o.keep_ttl);
    if let Some(at) = o.expire_at {
        ctx.set_expire(key, at);
        ctx.notify(notify::GENERIC, "expire", key);
    }
    Ok(if o.get {
        Reply::opt_bulk(old)
    } else {
        Reply::Ok
    })
}

/// Stores a string with the `set` event (and `new` when the key is created).
fn store(ctx: &mut Ctx, key: &Bytes, value: Bytes, keep_ttl: bool) {
    if !ctx.set_value(key, Value::Str(value), keep_ttl) {
        ctx.notify(notify::NEW, "new", key);
    }
    ctx.notify(notify::STRING, "set", key);
}

fn setnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if ctx.exists(&a[1]) {
        return Ok(Reply::Int(0));
    }
    store(ctx, &a[1], a[2].clone(), false);
    Ok(Reply::Int(1))
}

fn setex_generic(ctx: &mut Ctx, a: &[Bytes], secs: bool, cmd: &str) -> CmdResult<Reply> {
    let at = expire_deadline(ctx, &a[2], secs, false, cmd)?;
    store(ctx, &a[1], a[3].clone(), false);
    ctx.set_expire(&a[1], at);
    ctx.notify(notify::GENERIC, "expire", &a[1]);
    Ok(Reply::Ok)
}

fn setex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    setex_generic(ctx, a, true, "setex")
}

fn psetex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    setex_generic(ctx, a, false, "psetex")
}

fn mget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut out = Vec::with_capacity(a.len() - 1);
    for key in &a[1..] {
        out.push(match ctx.lookup_read(key) {
            Some(e) => match &e.value {
                Value::Str(b) => Reply::Bulk(b.clone()),
                _ => Reply::Nil,
            },
            None => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

fn mset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("mset".into()));
    }
    for pair in a[1..].chunks(2) {
        store(ctx, &pair[0], pair[1].clone(), false);
    }
    Ok(Reply::Ok)
}

fn msetnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("msetnx".into()));
    }
    for pair in a[1..].chunks(2) {
        if ctx.exists(&pair[0]) {
            return Ok(Reply::Int(0));
        }
    }
    for pair in a[1..].chunks(2) {
        store(ctx, &pair[0], pair[1].clone(), false);
    }
    Ok(Reply::Int(1))
}

fn getset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let old = get_string(ctx, &a[1])?;
    store(ctx, &a[1], a[2].clone(), false);
    Ok(Reply::opt_bulk(old))
}

fn getdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let old = get_string(ctx, &a[1])?;
    if old.is_some() {
        ctx.delete(&a[1]);
        ctx.notify(notify::GENERIC, "del", &a[1]);
    }
    Ok(Reply::opt_bulk(old))
}

fn getex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    // (value, seconds?, absolute?): validated only once the key is found, as Redis does.
    let mut expire: Option<(&Bytes, bool, bool)> = None;
    let mut persist = false;
    let mut i = 2;
    while i < a.len() {
        let opt = &a[i];
        if eq(opt, "persist") && expire.is_none() && !persist {
            persist = true;
        } else if let (Some(v), None, false) = (a.get(i + 1), expire, persist) {
            let (secs, abs) = expire_unit(opt).ok_or(CmdError::Syntax)?;
            expire = Some((v, secs, abs));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let key = &a[1];
    let Some(value) = get_string(ctx, key)? else {
        return Ok(Reply::Nil);
    };
    let deadline = match expire {
        Some((v, secs, abs)) => Some(expire_deadline(ctx, v, secs, abs, "getex")?),
        None => None,
    };
    if let Some(at) = deadline {
        if at <= ctx.now_ms {
            ctx.delete(key);
            ctx.notify(notify::GENERIC, "del", key);
        } else {
            ctx.set_expire(key, at);
            ctx.notify(notify::GENERIC, "expire", key);
        }
    } else if persist && ctx.lookup(key).is_some_and(|e| e.expire_at != 0) {
        ctx.set_expire(key, 0);
        ctx.notify(notify::GENERIC, "persist", key);
    }
    Ok(Reply::Bulk(value))
}

/// Parses a stored string as a counter (Redis: at most 20 chars, string2ll rules).
fn stored_int(b: &[u8]) -> CmdResult<i64> {
    crate::conn::protocol::parse_i64(b).ok_or(CmdError::NotInteger)
}

/// INCR and friends rewrite the digits in the string's own buffer (no
/// allocation once the key holds a buffer of its own).
fn incr_by(ctx: &mut Ctx, key: &Bytes, delta: i64) -> CmdResult<Reply> {
    let (new, existed) = ctx.mutate_string(key, |buf, existed| {
        let current = if existed { stored_int(buf)? } else { 0 };
        let new = current.checked_add(delta).ok_or(CmdError::Overflow)?;
        buf.clear();
        buf.extend_from_slice(itoa::Buffer::new().format(new).as_bytes());
        Ok(new)
    })?;
    if !existed {
        ctx.notify(notify::NEW, "new", key);
    }
    ctx.notify(notify::STRING, "incrby", key);
    Ok(Reply::Int(new))
}

fn incr(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    incr_by(ctx, &a[1], 1)
}

fn decr(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    incr_by(ctx, &a[1], -1)
}

fn incrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let d = int(&a[2])?;
    incr_by(ctx, &a[1], d)
}

fn decrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let d = int(&a[2])?;
    if d == i64::MIN {
        return Err(CmdError::custom(
            crate::error::msg::DECREMENT_WOULD_OVERFLOW,
        ));
    }
    incr_by(ctx, &a[1], -d)
}

fn incrbyfloat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    // Redis computes in `long double` and prints `%.17Lf`: so does `ldouble`.
    use crate::types::ldouble::{self, Parsed};
    let current = match get_string(ctx, key)? {
        Some(b) => ldouble::parse(&b).ok_or(CmdError::NotFloat)?,
        None => Parsed::Num(ldouble::Ld::ZERO),
    };
    let incr = ldouble::parse(&a[2]).ok_or(CmdError::NotFloat)?;
    let (Parsed::Num(current), Parsed::Num(incr)) = (current, incr) else {
        return Err(CmdError::IncrNanOrInf);
    };
    let new = ldouble::add(current, incr).ok_or(CmdError::IncrNanOrInf)?;
    let text = ldouble::human(new);
    let existed = ctx.exists(key);
    ctx.set_value(key, Value::Str(Bytes::from(text.clone())), true);
    if !existed {
        ctx.notify(notify::NEW, "new", key);
    }
    ctx.notify(notify::STRING, "incrbyfloat", key);
    Ok(Reply::Bulk(Bytes::from(text)))
}

fn append(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let max = max_string(ctx);
    let (len, existed) = ctx.mutate_string(key, |buf, _| {
        if buf.len() + a[2].len() > max {
            return Err(CmdError::StringTooLong);
        }
        // BytesMut grows by doubling: amortized O(1) per APPEND.
        buf.extend_from_slice(&a[2]);
        Ok(buf.len())
    })?;
    if !existed {
        ctx.notify(notify::NEW, "new", key);
    }
    ctx.notify(notify::STRING, "append", key);
    Ok(Reply::Int(len as i64))
}

/// `proto-max-bulk-len`: the longest string a command may build.
fn max_string(ctx: &Ctx) -> usize {
    ctx.srv
        .config
        .proto_max_bulk_len
        .load(std::sync::atomic::Ordering::Relaxed)
}

fn check_size(ctx: &Ctx, len: usize) -> CmdResult<()> {
    if len > max_string(ctx) {
        return Err(CmdError::StringTooLong);
    }
    Ok(())
}

fn strlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        get_string(ctx, &a[1])?.map_or(0, |b| b.len() as i64),
    ))
}

fn getrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let start = int(&a[2])?;
    let end = int(&a[3])?;
    let Some(s) = get_string(ctx, &a[1])? else {
        return Ok(Reply::bulk_str(""));
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::bulk_str(""));
    }
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if end < 0 {
        end = 0;
    }
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Ok(Reply::bulk_str(""));
    }
    Ok(Reply::Bulk(s.slice(start as usize..=end as usize)))
}

fn setrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let offset = int(&a[2])?;
    if offset < 0 {
        return Err(CmdError::OffsetOutOfRange);
    }
    let value = &a[3];
    // The type first, as Redis (WRONGTYPE before any length error).
    let current_len = get_string(ctx, key)?.map(|s| s.len());
    if value.is_empty() {
        // Nothing written, nothing created: the current length.
        return Ok(Reply::Int(current_len.unwrap_or(0) as i64));
    }
    let offset = offset as usize;
    let needed = offset
        .checked_add(value.len())
        .ok_or(CmdError::StringTooLong)?;
    check_size(ctx, needed)?;
    let (len, existed) = ctx.mutate_string(key, |buf, _| {
        if buf.len() < needed {
            buf.resize(needed, 0);
        }
        buf[offset..needed].copy_from_slice(value);
        Ok(buf.len())
    })?;
    if !existed {
        ctx.notify(notify::NEW, "new", key);
    }
    ctx.notify(notify::STRING, "setrange", key);
    Ok(Reply::Int(len as i64))
}

/// A bit offset: 0 ..= 2^32-1 (512 MB strings), Redis's `getBitOffsetFromArgument`.
fn bit_offset(arg: &[u8]) -> CmdResult<usize> {
    let err = || CmdError::custom(crate::error::msg::BIT_OFFSET_IS_NOT_AN_INTEGER);
    let n = crate::conn::protocol::parse_i64(arg).ok_or_else(err)?;
    if !(0..(512i64 << 23)).contains(&n) {
        return Err(err());
    }
    Ok(n as usize)
}

fn setbit(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let offset = bit_offset(&a[2])?;
    let on = match a[3].as_ref() {
        b"1" => true,
        b"0" => false,
        _ => {
            return Err(CmdError::custom(
                crate::error::msg::BIT_IS_NOT_AN_INTEGER_OR,
            ))
        }
    };
    let key = &a[1];
    let byte = offset >> 3;
    let mask = 1u8 << (7 - (offset & 7));
    let (was, existed) = ctx.mutate_string_counted(key, |buf, _| {
        // Growing the string is a change even when the bit already reads so.
        let grew = buf.len() <= byte;
        if grew {
            buf.resize(byte + 1, 0);
        }
        let was = buf[byte] & mask != 0;
        if on {
            buf[byte] |= mask;
        } else {
            buf[byte] &= !mask;
        }
        Ok((was, u64::from(grew || was != on)))
    })?;
    if !existed {
        ctx.notify(notify::NEW, "new", key);
    }
    if !existed || was != on {
        ctx.notify(notify::STRING, "setbit", key);
    }
    Ok(Reply::Int(was as i64))
}

fn getbit(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let offset = bit_offset(&a[2])?;
    let Some(s) = get_string(ctx, &a[1])? else {
        return Ok(Reply::Int(0));
    };
    let byte = offset >> 3;
    Ok(Reply::Int(
        s.get(byte).map_or(0, |b| (b >> (7 - (offset & 7))) & 1) as i64,
    ))
}

/// LCS, ported from Redis's `lcsCommand` so ranges come out in the same order.
fn lcs(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let string_or_empty = |ctx: &mut Ctx, key: &[u8]| -> CmdResult<Bytes> {
        match ctx.lookup_read(key) {
            None => Ok(Bytes::new()),
            Some(e) => match &e.value {
                Value::Str(b) => Ok(b.clone()),
                _ => Err(CmdError::custom(
                    crate::error::msg::THE_SPECIFIED_KEYS_MUST_CONTAIN_STRING,
                )),
            },
        }
    };
    let x = string_or_empty(ctx, &a[1])?;
    let y = string_or_empty(ctx, &a[2])?;
    let (mut getlen, mut getidx, mut withmatchlen, mut minmatchlen) = (false, false, false, 0i64);
    let mut j = 3;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if eq(&a[j], "idx") {
            getidx = true;
        } else if eq(&a[j], "len") {
            getlen = true;
        } else if eq(&a[j], "withmatchlen") {
            withmatchlen = true;
        } else if eq(&a[j], "minmatchlen") && more > 0 {
            minmatchlen = int(&a[j + 1])?.max(0);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if getlen && getidx {
        return Err(CmdError::custom(
            crate::error::msg::IF_YOU_WANT_BOTH_THE_LENGTH,
        ));
    }
    let (alen, blen) = (x.len(), y.len());
    let cells = (alen + 1).saturating_mul(blen + 1);
    let max = ctx
        .srv
        .config
        .proto_max_bulk_len
        .load(std::sync::atomic::Ordering::Relaxed);
    if cells.saturating_mul(4) > max {
        return Err(CmdError::custom(
            crate::error::msg::INSUFFICIENT_MEMORY_TRANSIENT_MEMORY_FOR_LCS,
        ));
    }
    let w = blen + 1;
    let mut t = vec![0u32; cells];
    for i in 1..=alen {
        for k in 1..=blen {
            t[i * w + k] = if x[i - 1] == y[k - 1] {
                t[(i - 1) * w + k - 1] + 1
            } else {
                t[(i - 1) * w + k].max(t[i * w + k - 1])
            };
        }
    }
    let total = t[alen * w + blen];
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut matches = Vec::new();
    let (mut i, mut k) = (alen, blen);
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (alen, 0usize, 0usize, 0usize);
    while i > 0 && k > 0 {
        let mut emit = false;
        if x[i - 1] == y[k - 1] {
            result[idx - 1] = x[i - 1];
            if a_start == alen {
                a_start = i - 1;
                a_end = i - 1;
                b_start = k - 1;
                b_end = k - 1;
            } else if a_start == i && b_start == k {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            k -= 1;
        } else {
            if t[(i - 1) * w + k] > t[i * w + k - 1] {
                i -= 1;
            } else {
                k -= 1;
            }
            if a_start != alen {
                emit = true;
            }
        }
        if emit {
            // A range is always open here (`a_start != alen`), so this cannot underflow.
            let match_len = a_end - a_start + 1;
            if getidx && (minmatchlen == 0 || match_len as i64 >= minmatchlen) {
                let mut m = vec![
                    Reply::Array(vec![Reply::Int(a_start as i64), Reply::Int(a_end as i64)]),
                    Reply::Array(vec![Reply::Int(b_start as i64), Reply::Int(b_end as i64)]),
                ];
                if withmatchlen {
                    m.push(Reply::Int(match_len as i64));
                }
                matches.push(Reply::Array(m));
            }
            a_start = alen;
        }
    }
    Ok(if getidx {
        Reply::Map(vec![
            (Reply::bulk_str("matches"), Reply::Array(matches)),
            (Reply::bulk_str("len"), Reply::Int(total as i64)),
        ])
    } else if getlen {
        Reply::Int(total as i64)
    } else {
        Reply::Bulk(Bytes::from(result))
    })
}

#[cfg(test)]
mod tests {
    use crate::types::ldouble::{human, parse, Parsed};

    /// INCRBYFLOAT's text for a value typed as `s` (formatting is `ldouble`'s).
    fn human_float(s: &str) -> String {
        match parse(s.as_bytes()) {
            Some(Parsed::Num(v)) => human(v),
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn a_small_value_read_for_a_reply_stays_unshared() {
        // Sharing would make its buffer shareable: an allocation that then
        // stays with the stored value, for every key ever read.
        let stored = bytes::Bytes::copy_from_slice(b"sixteen bytes ok");
        let reply = super::reply_copy(&stored);
        assert_eq!(reply, stored);
        assert!(stored.is_unique());
        let big = bytes::Bytes::copy_from_slice(&[7u8; super::COPIED_REPLY + 1]);
        let shared = super::reply_copy(&big);
        assert_eq!(shared, big);
        assert!(!big.is_unique(), "a big value is shared, not copied");
    }

    #[test]
    fn human_floats() {
        assert_eq!(human_float("10.5"), "10.5");
        assert_eq!(human_float("3.0"), "3");
        assert_eq!(human_float("-0.0"), "0");
        assert_eq!(human_float("1.1"), "1.1");
        // Past 17 decimals `%.17Lf` rounds (checked against redis-server).
        assert_eq!(human_float("5e-20"), "0");
        assert_eq!(human_float("1.2345678901234567e-10"), "0.00000000012345679");
        assert_eq!(human_float("1e20"), "100000000000000000000");
    }
}
