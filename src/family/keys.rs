//! Generic key commands: existence, deletion, renaming, expiry, scanning, OBJECT.

use std::hash::{Hash, Hasher};

use bytes::Bytes;

use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::keyspace::{Entry, Value};
use crate::notify;
use crate::reply::Reply;

const K1: Keys = Keys::Range(1, 1, 1);
const K12: Keys = Keys::Range(1, 2, 1);
const KALL: Keys = Keys::Range(1, -1, 1);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("del", -2, WRITE, KALL, del).doc("generic", "1.0.0", "Deletes one or more keys."),
    CommandSpec::new("unlink", -2, WRITE | FAST, KALL, del).doc("generic", "4.0.0", "Asynchronously deletes one or more keys."),
    CommandSpec::new("exists", -2, READONLY | FAST, KALL, exists).doc("generic", "1.0.0", "Determines whether one or more keys exist."),
    CommandSpec::new("touch", -2, READONLY | FAST, KALL, touch).doc("generic", "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed."),
    CommandSpec::new("type", 2, READONLY | FAST, K1, type_cmd).doc("generic", "1.0.0", "Determines the type of value stored at a key."),
    CommandSpec::new("keys", 2, READONLY, Keys::None, keys).doc("generic", "1.0.0", "Returns all key names that match a pattern."),
    CommandSpec::new("scan", -2, READONLY, Keys::None, scan).doc("generic", "2.8.0", "Iterates over the key names in the database."),
    CommandSpec::new("randomkey", 1, READONLY | ALL_SHARDS, Keys::None, randomkey).doc("generic", "1.0.0", "Returns a random key name from the database."),
    CommandSpec::new("rename", 3, WRITE, K12, rename).doc("generic", "1.0.0", "Renames a key and overwrites the destination."),
    CommandSpec::new("renamenx", 3, WRITE | FAST, K12, renamenx).doc("generic", "1.0.0", "Renames a key only when the target key name doesn't exist."),
    CommandSpec::new("copy", -3, WRITE | DENYOOM, K12, copy).doc("generic", "6.2.0", "Copies the value of a key to a new key."),
    CommandSpec::new("move", 3, WRITE | FAST, K1, move_cmd).doc("generic", "1.0.0", "Moves a key to another database."),
    CommandSpec::new("expire", -3, WRITE | FAST, K1, expire).doc("generic", "1.0.0", "Sets the expiration time of a key in seconds."),
    CommandSpec::new("pexpire", -3, WRITE | FAST, K1, pexpire).doc("generic", "2.6.0", "Sets the expiration time of a key in milliseconds."),
    CommandSpec::new("expireat", -3, WRITE | FAST, K1, expireat).doc("generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp."),
    CommandSpec::new("pexpireat", -3, WRITE | FAST, K1, pexpireat).doc("generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp."),
    CommandSpec::new("ttl", 2, READONLY | FAST, K1, ttl).doc("generic", "1.0.0", "Returns the expiration time in seconds of a key."),
    CommandSpec::new("pttl", 2, READONLY | FAST, K1, pttl).doc("generic", "2.6.0", "Returns the expiration time in milliseconds of a key."),
    CommandSpec::new("expiretime", 2, READONLY | FAST, K1, expiretime).doc("generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp."),
    CommandSpec::new("pexpiretime", 2, READONLY | FAST, K1, pexpiretime).doc("generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp."),
    CommandSpec::new("persist", 2, WRITE | FAST, K1, persist).doc("generic", "2.2.0", "Removes the expiration time of a key."),
    CommandSpec::new("object", -2, 0, Keys::None, object_help).doc("generic", "2.2.3", "A container for object introspection commands.").subs(OBJECT_SUBS),
];

static OBJECT_SUBS: &[CommandSpec] = &[
    CommandSpec::new(
        "encoding",
        3,
        READONLY,
        Keys::Range(2, 2, 1),
        object_encoding,
    )
    .doc(
        "generic",
        "2.2.3",
        "Returns the internal encoding of a Redis object.",
    ),
    CommandSpec::new(
        "refcount",
        3,
        READONLY,
        Keys::Range(2, 2, 1),
        object_refcount,
    )
    .doc(
        "generic",
        "2.2.3",
        "Returns the reference count of a value of a key.",
    ),
    CommandSpec::new(
        "idletime",
        3,
        READONLY,
        Keys::Range(2, 2, 1),
        object_idletime,
    )
    .doc(
        "generic",
        "2.2.3",
        "Returns the time since the last access to a Redis object.",
    ),
    CommandSpec::new("freq", 3, READONLY, Keys::Range(2, 2, 1), object_freq).doc(
        "generic",
        "4.0.0",
        "Returns the logarithmic access frequency counter of a Redis object.",
    ),
    CommandSpec::new("help", 2, LOADING | STALE, Keys::None, object_help).doc(
        "generic",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
    ),
];

/// DEL and UNLINK. What UNLINK (or DEL with lazyfree-lazy-user-del)
/// removes that Redis would free in the background counts in INFO's
/// `lazyfreed_objects`.
fn del(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let lazy = eq(&a[0], "unlink")
        || ctx
            .srv
            .config
            .lazyfree_lazy_user_del
            .load(std::sync::atomic::Ordering::Relaxed);
    let db = ctx.client.db;
    let mut n = 0;
    for key in &a[1..] {
        if let Some(entry) = ctx.remove_in(db, key) {
            if lazy && entry.value.free_effort() > LAZYFREE_THRESHOLD {
                ctx.srv.stats.count_lazyfreed(1);
            }
            ctx.notify(notify::GENERIC, "del", key);
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// Redis's LAZYFREE_THRESHOLD.
const LAZYFREE_THRESHOLD: usize = 64;

/// EXISTS leaves the keys' access time alone (LOOKUP_NOTOUCH); TOUCH
/// counts the same way and updates it.
fn exists(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        a[1..].iter().filter(|k| ctx.peek(k).is_some()).count() as i64,
    ))
}

fn touch(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        a[1..].iter().filter(|k| ctx.lookup(k).is_some()).count() as i64,
    ))
}

fn type_cmd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Status(
        ctx.peek(&a[1]).map_or("none", |e| e.value.type_name()),
    ))
}

/// Shard by shard: no other command waits for the whole walk (a key renamed
/// across shards meanwhile may show twice or not at all, as with SCAN).
fn keys(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let pattern = &a[1];
    let all = pattern.as_ref() == b"*";
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let mut out = Vec::new();
    ctx.each_shard(|shard| {
        for (k, e) in shard.dbs[db].map.iter() {
            let live = e.expire_at == 0 || e.expire_at > now;
            if live && (all || glob_match(pattern, k, false)) {
                out.push(Reply::Bulk(k.to_bytes()));
            }
        }
    });
    Ok(Reply::Array(out))
}

/// Position of a key inside its shard for SCAN: a stable hash, so a cursor
/// survives the map growing or shrinking between calls.
fn scan_hash(key: &[u8]) -> u64 {
    let mut h = FnvHasher(0xcbf29ce484222325);
    key.hash(&mut h);
    h.0 & ((1 << 56) - 1)
}

struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x100000001b3);
        }
    }
}

/// One step of a hash-ordered scan over `items` from `cursor`: up to `count`
/// items (never splitting a run of equal hashes) and the next cursor (0 = done).
/// Items present for the whole iteration are returned exactly once even if the
/// collection changes between calls.
pub fn scan_step(
    items: impl Iterator<Item = Bytes>,
    cursor: u64,
    count: usize,
) -> (u64, Vec<Bytes>) {
    let mut batch: Vec<(u64, Bytes)> = items
        .map(|k| (scan_hash(&k), k))
        .filter(|(h, _)| *h >= cursor)
        .collect();
    batch.sort_unstable_by_key(|a| a.0);
    let mut cut = count.max(1).min(batch.len());
    while cut < batch.len() && batch[cut].0 == batch[cut - 1].0 {
        cut += 1;
    }
    let next = batch.get(cut).map_or(0, |(h, _)| *h);
    batch.truncate(cut);
    (next, batch.into_iter().map(|(_, k)| k).collect())
}

/// SCAN-family options: `cursor [MATCH p] [COUNT n]`, plus `[TYPE t]` when `allow_type`.
pub struct ScanArgs {
    pub cursor: u64,
    pub pattern: Option<Bytes>,
    pub count: usize,
    pub type_filter: Option<Bytes>,
}

pub fn parse_scan_args(a: &[Bytes], cursor_at: usize, allow_type: bool) -> CmdResult<ScanArgs> {
    let cursor: u64 = std::str::from_utf8(&a[cursor_at])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(CmdError::InvalidCursor)?;
    let mut args = ScanArgs {
        cursor,
        pattern: None,
        count: 10,
        type_filter: None,
    };
    let mut i = cursor_at + 1;
    while i < a.len() {
        let v = a.get(i + 1).ok_or(CmdError::Syntax)?;
        if eq(&a[i], "count") {
            let n = int(v)?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            args.count = n.min(1 << 20) as usize;
        } else if eq(&a[i], "match") {
            args.pattern = Some(v.clone());
        } else if allow_type && eq(&a[i], "type") {
            args.type_filter = Some(v.clone());
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(args)
}

/// SCAN's cursor: shard index in the top 8 bits, position hash below.
fn scan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let ScanArgs {
        cursor,
        pattern,
        count,
        type_filter,
    } = parse_scan_args(a, 1, true)?;
    let shards = ctx.srv.keyspace.shard_count() as u64;
    let mut shard = cursor >> 56;
    let mut pos = cursor & ((1 << 56) - 1);
    let db = ctx.client.db;
    let now = ctx.now_ms;
    let mut found: Vec<(u64, Bytes, &'static str)> = Vec::new();
    let mut next_cursor = 0u64;
    while shard < shards {
        // One shard at a time: no command waits for the whole walk.
        let mut batch: Vec<(u64, Bytes, &'static str)> = ctx.with_shard(shard as usize, |s| {
            s.dbs[db]
                .map
                .iter()
                .filter(|(_, e)| e.expire_at == 0 || e.expire_at > now)
                .map(|(k, e)| (scan_hash(k), k.to_bytes(), e.value.type_name()))
                .filter(|(h, _, _)| *h >= pos)
                .collect()
        });
        batch.sort_unstable_by_key(|(h, _, _)| *h);
        let want = count.saturating_sub(found.len());
        if batch.len() > want {
            // Keep every key sharing the boundary hash in this batch so none is skipped.
            let mut cut = want.max(1);
            while cut < batch.len() && batch[cut].0 == batch[cut - 1].0 {
                cut += 1;
            }
            if cut < batch.len() {
                next_cursor = (shard << 56) | batch[cut].0;
                batch.truncate(cut);
                found.extend(batch);
                break;
            }
        }
        found.extend(batch);
        shard += 1;
        pos = 0;
        if found.len() >= count {
            if shard < shards {
                next_cursor = shard << 56;
            }
            break;
        }
    }
    let keys: Vec<Reply> = found
        .into_iter()
        .filter(|(_, k, t)| {
            pattern.as_ref().is_none_or(|p| glob_match(p, k, false))
                && type_filter
                    .as_ref()
                    .is_none_or(|f| f.eq_ignore_ascii_case(t.as_bytes()))
        })
        .map(|(_, k, _)| Reply::Bulk(k))
        .collect();
    Ok(Reply::Array(vec![
        Reply::bulk_int(next_cursor as i64),
        Reply::Array(keys),
    ]))
}

fn randomkey(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.client.db;
    let now = ctx.now_ms;
    let mut seed = crate::server::unix_us() ^ 0x9e3779b97f4a7c15;
    let mut next_rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // A bounded number of tries, so a database of only expired keys ends.
    for _ in 0..100 {
        let sizes: Vec<usize> = ctx.locks.iter_mut().map(|s| s.dbs[db].len()).collect();
        let total: usize = sizes.iter().sum();
        if total == 0 {
            return Ok(Reply::Nil);
        }
        let mut pick = (next_rand() % total as u64) as usize;
        let mut chosen: Option<Bytes> = None;
        for (i, shard) in ctx.locks.iter_mut().enumerate() {
            if pick < sizes[i] {
                chosen = shard.dbs[db].map.keys().nth(pick).map(|k| k.to_bytes());
                break;
            }
            pick -= sizes[i];
        }
        let Some(key) = chosen else {
            return Ok(Reply::Nil);
        };
        let expired = ctx
            .db_of(db, &key)
            .get(&key)
            .is_some_and(|e| e.expire_at != 0 && e.expire_at <= now);
        if expired {
            ctx.expire_if_needed(db, &key);
            continue;
        }
        return Ok(Reply::Bulk(key));
    }
    Ok(Reply::Nil)
}

fn rename_generic(ctx: &mut Ctx, a: &[Bytes], nx: bool) -> CmdResult<Reply> {
    let (src, dst) = (&a[1], &a[2]);
    let Some(entry) = ctx.lookup(src).map(|e| e.clone()) else {
        return Err(CmdError::NoSuchKey);
    };
    if src == dst {
        return Ok(if nx { Reply::Int(0) } else { Reply::Ok });
    }
    let dst_exists = ctx.exists(dst);
    if nx && dst_exists {
        return Ok(Reply::Int(0));
    }
    ctx.delete(src);
    if dst_exists {
        ctx.delete(dst);
    }
    let db = ctx.client.db;
    place(ctx, db, dst, entry);
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    Ok(if nx { Reply::Int(1) } else { Reply::Ok })
}

fn rename(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    rename_generic(ctx, a, false)
}

fn renamenx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    rename_generic(ctx, a, true)
}

fn parse_db(ctx: &Ctx, arg: &[u8]) -> CmdResult<usize> {
    let n = int(arg).map_err(|_| CmdError::NotInteger)?;
    if n < 0 || n as usize >= ctx.srv.keyspace.databases() || n > i32::MAX as i64 {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(n as usize)
}

/// Stores a moved or copied entry with its TTL; a list or stream there may serve blocked clients.
fn place(ctx: &mut Ctx, db: usize, key: &Bytes, entry: Entry) {
    let ready = matches!(
        entry.value,
        Value::List(_) | Value::Stream(_) | Value::Zset(_)
    );
    ctx.set_value_in(db, key, entry.value, false);
    if entry.expire_at != 0 {
        ctx.db_of(db, key).set_expire(key, entry.expire_at);
    }
    if ready {
        ctx.ready_keys.push((db, key.clone()));
    }
}

fn copy(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst) = (&a[1], &a[2]);
    let mut dst_db = ctx.client.db;
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        if eq(&a[i], "replace") {
            replace = true;
        } else if eq(&a[i], "db") && i + 1 < a.len() {
            dst_db = parse_db(ctx, &a[i + 1])?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let src_db = ctx.client.db;
    if src == dst && src_db == dst_db {
        return Err(CmdError::SameObject);
    }
    let Some(entry) = ctx.lookup(src).map(|e| e.clone()) else {
        return Ok(Reply::Int(0));
    };
    let dst_exists = ctx.lookup_in(dst_db, dst).is_some();
    if dst_exists {
        if !replace {
            return Ok(Reply::Int(0));
        }
        ctx.delete_in(dst_db, dst);
    }
    place(ctx, dst_db, dst, entry);
    ctx.notify_in(dst_db, notify::GENERIC, "copy_to", dst);
    Ok(Reply::Int(1))
}

fn move_cmd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let dst_db = parse_db(ctx, &a[2])?;
    let src_db = ctx.client.db;
    if src_db == dst_db {
        return Err(CmdError::SameObject);
    }
    let Some(entry) = ctx.lookup(key).map(|e| e.clone()) else {
        return Ok(Reply::Int(0));
    };
    if ctx.lookup_in(dst_db, key).is_some() {
        return Ok(Reply::Int(0));
    }
    ctx.delete_in(src_db, key);
    place(ctx, dst_db, key, entry);
    ctx.notify_in(src_db, notify::GENERIC, "move_from", key);
    ctx.notify_in(dst_db, notify::GENERIC, "move_to", key);
    Ok(Reply::Int(1))
}

#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn expire_generic(
    ctx: &mut Ctx,
    a: &[Bytes],
    unit_secs: bool,
    absolute: bool,
    cmd: &str,
) -> CmdResult<Reply> {
    let mut f = ExpireFlags::default();
    for opt in &a[3..] {
        if eq(opt, "nx") {
            f.nx = true;
        } else if eq(opt, "xx") {
            f.xx = true;
        } else if eq(opt, "gt") {
            f.gt = true;
        } else if eq(opt, "lt") {
            f.lt = true;
        } else {
            return Err(crate::error::msg::unsupported_option(opt));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CmdError::ExpireNotOnlyOne);
    }
    if f.gt && f.lt {
        return Err(CmdError::GtLtNx);
    }
    let invalid = || CmdError::InvalidExpire(cmd.to_string());
    let mut when = int(&a[2])?;
    if unit_secs {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(invalid());
        }
        when *= 1000;
    }
    let base = if absolute { 0 } else { ctx.now_ms as i64 };
    if when > i64::MAX - base {
        return Err(invalid());
    }
    when += base;
    let key = &a[1];
    let Some(current) = ctx.lookup(key).map(|e| e.expire_at) else {
        return Ok(Reply::Int(0));
    };
    let current = if current == 0 { -1 } else { current as i64 };
    if (f.nx && current != -1)
        || (f.xx && current == -1)
        || (f.gt && (when <= current || current == -1))
        || (f.lt && current != -1 && when >= current)
    {
        return Ok(Reply::Int(0));
    }
    if when <= ctx.now_ms as i64 && !ctx.client.loading {
        ctx.delete(key);
        ctx.notify(notify::GENERIC, "del", key);
    } else {
        ctx.set_expire(key, when as u64);
        ctx.notify(notify::GENERIC, "expire", key);
    }
    Ok(Reply::Int(1))
}

fn expire(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    expire_generic(ctx, a, true, false, "expire")
}

fn pexpire(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    expire_generic(ctx, a, false, false, "pexpire")
}

fn expireat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    expire_generic(ctx, a, true, true, "expireat")
}

fn pexpireat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    expire_generic(ctx, a, false, true, "pexpireat")
}

/// -2 missing, -1 no TTL, else `f(expire_at_ms)`.
fn ttl_generic(ctx: &mut Ctx, key: &[u8], f: impl Fn(u64, u64) -> i64) -> CmdResult<Reply> {
    let now = ctx.now_ms;
    Ok(Reply::Int(match ctx.peek(key) {
        None => -2,
        Some(e) if e.expire_at == 0 => -1,
        Some(e) => f(e.expire_at, now),
    }))
}

fn ttl(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    ttl_generic(ctx, &a[1], |at, now| {
        ((at.saturating_sub(now) + 500) / 1000) as i64
    })
}

fn pttl(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    ttl_generic(ctx, &a[1], |at, now| at.saturating_sub(now) as i64)
}

fn expiretime(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    // Rounded to the nearest second, as Redis's ttlGenericCommand does.
    ttl_generic(ctx, &a[1], |at, _| (at.saturating_add(500) / 1000) as i64)
}

fn pexpiretime(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    ttl_generic(ctx, &a[1], |at, _| at as i64)
}

fn persist(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    match ctx.lookup(key) {
        Some(e) if e.expire_at != 0 => {
            ctx.set_expire(key, 0);
            ctx.notify(notify::GENERIC, "persist", key);
            Ok(Reply::Int(1))
        }
        _ => Ok(Reply::Int(0)),
    }
}

/// OBJECT ENCODING: the name Redis would report for an equivalent value.
pub fn encoding_of(value: &Value) -> &'static str {
    match value {
        Value::Str(b) => {
            if b.len() <= 20 && crate::conn::protocol::parse_i64(b).is_some() {
                "int"
            } else if b.len() <= 44 {
                "embstr"
            } else {
                "raw"
            }
        }
        Value::List(l) => l.encoding_name(),
        Value::Hash(h) => h.encoding_name(),
        Value::Stream(_) => "stream",
        Value::Zset(z) => z.encoding_name(),
        Value::Set(s) => s.encoding_name(),
    }
}

fn object_encoding(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(match ctx.lookup(&a[2]) {
        Some(e) => Reply::bulk_str(encoding_of(&e.value)),
        None => Reply::Nil,
    })
}

fn object_refcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    // Redis shares the integers 0..9999 (refcount INT_MAX), except under an
    // LRU or LFU maxmemory policy, where each key needs its own access time.
    let policy = ctx.srv.config.get("maxmemory-policy").unwrap_or_default();
    let shared_ints = ctx
        .srv
        .config
        .maxmemory
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
        || !(policy.contains("lru") || policy.contains("lfu"));
    Ok(match ctx.lookup(&a[2]) {
        Some(Entry {
            value: Value::Str(b),
            ..
        }) if shared_ints
            && crate::conn::protocol::parse_i64(b).is_some_and(|n| (0..10000).contains(&n)) =>
        {
            Reply::Int(i32::MAX as i64)
        }
        Some(_) => Reply::Int(1),
        None => Reply::Nil,
    })
}

fn object_idletime(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let now = ctx.now_s;
    let db = ctx.client.db;
    ctx.expire_if_needed(db, &a[2]);
    Ok(match ctx.db_of(db, &a[2]).get(&a[2]) {
        Some(e) => Reply::Int((now as i64 - e.touched as i64).max(0)),
        None => Reply::Nil,
    })
}

/// OBJECT FREQ: the key's LFU counter, decayed to now, under an LFU
/// maxmemory policy (what `redis-cli --hotkeys` samples).
fn object_freq(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    use std::sync::atomic::Ordering::Relaxed;
    let now_s = ctx.now_s;
    let config = &ctx.srv.config;
    let (lfu, decay) = (
        config.lfu_policy.load(Relaxed),
        config.lfu_decay_time.load(Relaxed),
    );
    let Some(e) = ctx.peek(&a[2]) else {
        return Ok(Reply::Nil);
    };
    if !lfu {
        return Err(CmdError::custom(
            crate::error::msg::AN_LFU_MAXMEMORY_POLICY_IS_NOT,
        ));
    }
    Ok(Reply::Int(
        crate::keyspace::lfu::decayed(e, now_s, decay) as i64
    ))
}

fn object_help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "object"));
    }
    Ok(help_reply(
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    ))
}

/// Redis's `addReplyHelp` layout: title line, entries, trailing HELP line.
pub fn help_reply(cmd: &str, lines: &[&str]) -> Reply {
    let mut out = vec![Reply::StatusOwned(format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ))];
    out.extend(lines.iter().map(|l| Reply::StatusOwned(l.to_string())));
    out.push(Reply::Status("HELP"));
    out.push(Reply::Status("    Prints this help."));
    Reply::Array(out)
}
