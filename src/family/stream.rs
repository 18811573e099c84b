//! Streams: XADD, XRANGE, XREAD, consumer groups (XREADGROUP, XACK, XPENDING,
//! XCLAIM, XAUTOCLAIM, XGROUP), XINFO, XSETID, XDEL, XTRIM.
//!
//! Behaviour follows Redis 7.0's `t_stream.c`. The value representation is
//! `crate::types::stream`.
//!
//! Blocking XREAD / XREADGROUP set `ctx.block` (the `$` ID already resolved to
//! the stream's last ID, as Redis does at block time). When a key is signalled
//! ready, `crate::blocking` asks [`serving`] whether a waiter can be served and
//! with which one-key command; that command is run as a non-blocking call, so
//! the waiter gets Redis's one-stream reply (blocked.c
//! serveClientsBlockedOnStreamKey). A deleted key or a destroyed group ends an
//! XREADGROUP waiter with Redis's error.
//!
//! AOF effects (for the persistence layer): XADD `*` → the concrete ID,
//! `~` trims → `=` with the reached length / first ID, XREADGROUP and
//! XAUTOCLAIM → XCLAIM … JUSTID plus XGROUP SETID. Not implemented yet.

use bytes::Bytes;

use crate::blocking::BlockRequest;
use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;
use crate::types::stream::{Group, Stream, StreamId, Trim, INVALID_ENTRIES_READ};

const K1: Keys = Keys::Range(1, 1, 1);
const K2: Keys = Keys::Range(2, 2, 1);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("xadd", -5, WRITE | DENYOOM | FAST, K1, xadd).doc("stream", "5.0.0", "Appends a new message to a stream. Creates the key if it doesn't exist."),
    CommandSpec::new("xrange", -4, READONLY, K1, xrange).doc("stream", "5.0.0", "Returns the messages from a stream within a range of IDs."),
    CommandSpec::new("xrevrange", -4, READONLY, K1, xrevrange).doc("stream", "5.0.0", "Returns the messages from a stream within a range of IDs in reverse order."),
    CommandSpec::new("xlen", 2, READONLY | FAST, K1, xlen).doc("stream", "5.0.0", "Return the number of messages in a stream."),
    CommandSpec::new("xread", -4, READONLY | BLOCKING, Keys::Movable(xread_keys), xread).doc("stream", "5.0.0", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise."),
    CommandSpec::new("xreadgroup", -7, WRITE | BLOCKING, Keys::Movable(xread_keys), xreadgroup).doc("stream", "5.0.0", "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise."),
    CommandSpec::new("xdel", -3, WRITE | FAST, K1, xdel).doc("stream", "5.0.0", "Returns the number of messages after removing them from a stream."),
    CommandSpec::new("xtrim", -4, WRITE, K1, xtrim).doc("stream", "5.0.0", "Deletes messages from the beginning of a stream."),
    CommandSpec::new("xack", -4, WRITE | FAST, K1, xack).doc("stream", "5.0.0", "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream."),
    CommandSpec::new("xpending", -3, READONLY, K1, xpending).doc("stream", "5.0.0", "Returns the information and entries from a stream consumer group's pending entries list."),
    CommandSpec::new("xclaim", -6, WRITE | FAST, K1, xclaim).doc("stream", "5.0.0", "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member."),
    CommandSpec::new("xautoclaim", -6, WRITE | FAST, K1, xautoclaim).doc("stream", "6.2.0", "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member."),
    CommandSpec::new("xsetid", -3, WRITE | DENYOOM | FAST, K1, xsetid).doc("stream", "5.0.0", "An internal command for replicating stream values."),
    CommandSpec::new("xgroup", -2, 0, Keys::None, xgroup_help).doc("stream", "5.0.0", "A container for consumer groups commands.").subs(XGROUP_SUBS),
    CommandSpec::new("xinfo", -2, 0, Keys::None, xinfo_help).doc("stream", "5.0.0", "A container for stream introspection commands.").subs(XINFO_SUBS),
];

static XGROUP_SUBS: &[CommandSpec] = &[
    CommandSpec::new("create", -5, WRITE | DENYOOM, K2, xgroup_create).doc(
        "stream",
        "5.0.0",
        "Creates a consumer group.",
    ),
    CommandSpec::new("setid", -5, WRITE, K2, xgroup_setid).doc(
        "stream",
        "5.0.0",
        "Sets the last-delivered ID of a consumer group.",
    ),
    CommandSpec::new("destroy", 4, WRITE, K2, xgroup_destroy).doc(
        "stream",
        "5.0.0",
        "Destroys a consumer group.",
    ),
    CommandSpec::new(
        "createconsumer",
        5,
        WRITE | DENYOOM,
        K2,
        xgroup_createconsumer,
    )
    .doc("stream", "6.2.0", "Creates a consumer in a consumer group."),
    CommandSpec::new("delconsumer", 5, WRITE, K2, xgroup_delconsumer).doc(
        "stream",
        "5.0.0",
        "Deletes a consumer from a consumer group.",
    ),
    CommandSpec::new("help", 2, LOADING | STALE, Keys::None, xgroup_help).doc(
        "stream",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

static XINFO_SUBS: &[CommandSpec] = &[
    CommandSpec::new("consumers", 4, READONLY, K2, xinfo_consumers).doc(
        "stream",
        "5.0.0",
        "Returns a list of the consumers in a consumer group.",
    ),
    CommandSpec::new("groups", 3, READONLY, K2, xinfo_groups).doc(
        "stream",
        "5.0.0",
        "Returns a list of the consumer groups of a stream.",
    ),
    CommandSpec::new("stream", -3, READONLY, K2, xinfo_stream).doc(
        "stream",
        "5.0.0",
        "Returns information about a stream.",
    ),
    CommandSpec::new("help", 2, LOADING | STALE, Keys::None, xinfo_help).doc(
        "stream",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

/// Redis blocks XREAD without COUNT for at most this many entries per serve.
const XREAD_BLOCKED_DEFAULT_COUNT: i64 = 1000;

/// Names kept in the stream (groups, consumers) are copied out of the
/// request: a slice would keep the connection's whole read buffer alive.
fn owned(b: &Bytes) -> Bytes {
    Bytes::copy_from_slice(b)
}

fn invalid_id() -> CmdError {
    CmdError::custom(crate::error::msg::INVALID_STREAM_ID_SPECIFIED_AS_STREAM)
}

fn subcommand_syntax(a: &[Bytes]) -> CmdError {
    crate::error::msg::subcommand_syntax(
        &crate::error::truncate_lossy(&a[1], 128),
        &String::from_utf8_lossy(&a[0]).to_ascii_uppercase(),
    )
}

/// Redis's string2ull: a plain unsigned decimal.
fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Redis's streamGenericParseIDOrReply. Returns the ID and whether the
/// sequence was given (false for `<ms>-*` when `allow_seq_star`).
fn parse_id_full(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    allow_seq_star: bool,
) -> CmdResult<(StreamId, bool)> {
    if arg.len() > 127 {
        return Err(invalid_id());
    }
    if arg == b"-" {
        if strict {
            return Err(invalid_id());
        }
        return Ok((StreamId::MIN, true));
    }
    if arg == b"+" {
        if strict {
            return Err(invalid_id());
        }
        return Ok((StreamId::MAX, true));
    }
    let (ms_part, seq_part) = match arg.iter().position(|&c| c == b'-') {
        Some(p) => (&arg[..p], Some(&arg[p + 1..])),
        None => (arg, None),
    };
    let ms = parse_u64(ms_part).ok_or_else(invalid_id)?;
    match seq_part {
        Some(b"*") if allow_seq_star => Ok((StreamId::new(ms, 0), false)),
        Some(s) => Ok((
            StreamId::new(ms, parse_u64(s).ok_or_else(invalid_id)?),
            true,
        )),
        None => Ok((StreamId::new(ms, missing_seq), true)),
    }
}

fn parse_id(arg: &[u8], missing_seq: u64) -> CmdResult<StreamId> {
    parse_id_full(arg, missing_seq, false, false).map(|r| r.0)
}

fn parse_strict_id(arg: &[u8], missing_seq: u64) -> CmdResult<StreamId> {
    parse_id_full(arg, missing_seq, true, false).map(|r| r.0)
}

/// An interval bound: `(id` excludes (streamParseIntervalIDOrReply).
fn parse_interval(arg: &[u8], missing_seq: u64) -> CmdResult<(StreamId, bool)> {
    if arg.len() > 1 && arg[0] == b'(' {
        Ok((parse_strict_id(&arg[1..], missing_seq)?, true))
    } else {
        Ok((parse_id(arg, missing_seq)?, false))
    }
}

fn parse_start(arg: &[u8]) -> CmdResult<StreamId> {
    let (id, ex) = parse_interval(arg, 0)?;
    if ex {
        id.incr()
            .ok_or_else(|| CmdError::custom(crate::error::msg::INVALID_START_ID_FOR_THE_INTERVAL))
    } else {
        Ok(id)
    }
}

fn parse_end(arg: &[u8]) -> CmdResult<StreamId> {
    let (id, ex) = parse_interval(arg, u64::MAX)?;
    if ex {
        id.decr()
            .ok_or_else(|| CmdError::custom(crate::error::msg::INVALID_END_ID_FOR_THE_INTERVAL))
    } else {
        Ok(id)
    }
}

fn nogroup_key(key: &[u8], group: &[u8]) -> CmdError {
    crate::error::msg::nogroup_key_or_group(key, group, "")
}

fn nogroup_for_key(group: &[u8], key: &[u8]) -> CmdError {
    crate::error::msg::nogroup_for_key(group, key)
}

/// The stream in `entry`, to change: copied first if a snapshot still
/// shares it. `Ok(None)` if absent, WRONGTYPE for another type.
fn writable(entry: Option<&mut crate::keyspace::Entry>) -> CmdResult<Option<&mut Stream>> {
    match entry.map(|e| &mut e.value) {
        None => Ok(None),
        Some(Value::Stream(s)) => {
            let n = s.len() as usize;
            Ok(Some(crate::long_step::make_mut(s, n)))
        }
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The stream at `key`: `Ok(None)` if absent, WRONGTYPE for another type.
fn stream_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c mut Stream>> {
    writable(ctx.lookup(key))
}

/// `stream_mut` for the lookups Redis makes with lookupKeyRead: they count
/// keyspace hits and misses (XRANGE, XLEN, XREAD, XPENDING, XACK, XCLAIM,
/// XAUTOCLAIM, XINFO), once per lookup Redis makes.
fn stream_read<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c Stream>> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Stream(s) => Ok(Some(s)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// `stream_read` for the commands that then change the stream (XACK,
/// XCLAIM, XREADGROUP …): copied first if a snapshot still shares it.
fn stream_read_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<Option<&'c mut Stream>> {
    writable(ctx.lookup_read(key))
}

fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id.to_bytes())
}

fn entry_reply(id: StreamId, fields: Vec<Bytes>) -> Reply {
    Reply::Array(vec![id_reply(id), Reply::bulks(fields)])
}

fn entries_reply(entries: Vec<(StreamId, Vec<Bytes>)>) -> Reply {
    Reply::Array(
        entries
            .into_iter()
            .map(|(id, f)| entry_reply(id, f))
            .collect(),
    )
}

fn node_limits(ctx: &Ctx) -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    let c = &ctx.srv.config;
    (
        c.stream_node_max_entries.load(Relaxed),
        c.stream_node_max_bytes.load(Relaxed),
    )
}

/// Parsed XADD / XTRIM options (streamParseAddOrTrimArgsOrReply).
struct AddTrimArgs {
    trim: Trim,
    approx: bool,
    limit: u64,
    nomkstream: bool,
    /// XADD: the explicit ID and whether its sequence was given.
    id: Option<(StreamId, bool)>,
    /// XADD: position of the ID argument.
    idpos: usize,
}

fn parse_add_trim(ctx: &Ctx, a: &[Bytes], xadd: bool) -> CmdResult<AddTrimArgs> {
    let mut r = AddTrimArgs {
        trim: Trim::None,
        approx: false,
        limit: 0,
        nomkstream: false,
        id: None,
        idpos: 0,
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let opt = &a[i];
        if xadd && opt.as_ref() == b"*" {
            break;
        } else if (eq(opt, "maxlen") || eq(opt, "minid")) && more > 0 {
            if r.trim != Trim::None {
                return Err(CmdError::custom(
                    crate::error::msg::SYNTAX_ERROR_MAXLEN_AND_MINID_OPTIONS,
                ));
            }
            r.approx = false;
            let next = &a[i + 1];
            if more >= 2 && next.as_ref() == b"~" {
                r.approx = true;
                i += 1;
            } else if more >= 2 && next.as_ref() == b"=" {
                i += 1;
            }
            if eq(opt, "maxlen") {
                let n = int(&a[i + 1])?;
                if n < 0 {
                    return Err(CmdError::custom(
                        crate::error::msg::THE_MAXLEN_ARGUMENT_MUST_BE_0,
                    ));
                }
                r.trim = Trim::MaxLen(n as u64);
            } else {
                r.trim = Trim::MinId(parse_strict_id(&a[i + 1], 0)?);
            }
            i += 1;
        } else if eq(opt, "limit") && more > 0 {
            let n = int(&a[i + 1])?;
            if n < 0 {
                return Err(CmdError::custom(
                    crate::error::msg::THE_LIMIT_ARGUMENT_MUST_BE_0,
                ));
            }
            r.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && eq(opt, "nomkstream") {
            r.nomkstream = true;
        } else if xadd {
            r.id = Some(parse_id_full(opt, 0, true, true)?);
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    r.idpos = i;
    if r.limit != 0 && r.trim == Trim::None {
        return Err(CmdError::custom(
            crate::error::msg::LIMIT_WITHOUT_TRIMMING_STRATEGY,
        ));
    }
    if !xadd && r.trim == Trim::None {
        return Err(CmdError::custom(
            crate::error::msg::SYNTAX_ERROR_XTRIM_MUST_BE_CALLED,
        ));
    }
    if limit_given {
        if !r.approx {
            return Err(CmdError::custom(crate::error::msg::LIMIT_WITHOUT_APPROX));
        }
    } else if r.approx {
        let per_node = ctx
            .srv
            .config
            .stream_node_max_entries
            .load(std::sync::atomic::Ordering::Relaxed)
            .min(i64::MAX as u64) as i64;
        let mut l = per_node.saturating_mul(100);
        if l <= 0 {
            l = 10000;
        }
        r.limit = l.min(1_000_000) as u64;
    } else {
        r.limit = 0;
    }
    Ok(r)
}

fn xadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let args = parse_add_trim(ctx, a, true)?;
    let field_pos = args.idpos + 1;
    let nfields = a.len().saturating_sub(field_pos);
    if field_pos > a.len() || nfields < 2 || nfields % 2 == 1 {
        return Err(CmdError::WrongArity("xadd".into()));
    }
    if let Some((id, true)) = args.id {
        if id.is_zero() {
            return Err(CmdError::custom(
                crate::error::msg::XADD_ID_MUST_BE_ABOVE_ZERO,
            ));
        }
    }
    let key = &a[1];
    let (max_entries, max_bytes) = node_limits(ctx);
    let now = ctx.now_ms;
    // One lookup: the stored stream, or a new one stored after the append.
    let mut fresh: Option<Stream> = None;
    let s: &mut Stream = match stream_mut(ctx, key)? {
        Some(s) => s,
        None if args.nomkstream => return Ok(Reply::Nil),
        None => fresh.insert(Stream::new()),
    };
    if s.last_id == StreamId::MAX {
        return Err(CmdError::custom(
            crate::error::msg::THE_STREAM_HAS_EXHAUSTED_THE_LAST,
        ));
    }
    let too_small = || CmdError::custom(crate::error::msg::XADD_ID_NOT_ABOVE_TOP);
    let id = match args.id {
        Some((id, true)) => id,
        Some((id, false)) => {
            if s.last_id.ms == id.ms {
                if s.last_id.seq == u64::MAX {
                    return Err(too_small());
                }
                StreamId::new(id.ms, s.last_id.seq + 1)
            } else {
                id
            }
        }
        None => {
            if now > s.last_id.ms {
                StreamId::new(now, 0)
            } else {
                s.last_id.incr().ok_or_else(too_small)?
            }
        }
    };
    if id <= s.last_id {
        return Err(too_small());
    }
    s.append(id, &a[field_pos..], max_entries, max_bytes);
    let trimmed = s.trim(args.trim, args.approx, args.limit);
    match fresh {
        Some(st) => {
            ctx.set_value(key, Value::Stream(std::sync::Arc::new(st)), false);
            ctx.notify(notify::NEW, "new", key);
        }
        None => ctx.modified(key),
    }
    ctx.notify(notify::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    ctx.signal_ready(key);
    Ok(id_reply(id))
}

fn xtrim(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let args = parse_add_trim(ctx, a, false)?;
    let key = &a[1];
    let Some(s) = stream_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let deleted = s.trim(args.trim, args.approx, args.limit);
    if deleted > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
        ctx.modified(key);
        ctx.mark_dirty(deleted.saturating_sub(1));
    }
    Ok(Reply::Int(deleted as i64))
}

fn xrange_generic(ctx: &mut Ctx, a: &[Bytes], rev: bool) -> CmdResult<Reply> {
    let (start_arg, end_arg) = if rev { (&a[3], &a[2]) } else { (&a[2], &a[3]) };
    let start = parse_start(start_arg)?;
    let end = parse_end(end_arg)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < a.len() {
        if eq(&a[j], "count") && j + 1 < a.len() {
            count = int(&a[j + 1])?.max(0);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = stream_read(ctx, &a[1])? else {
        return Ok(Reply::Array(vec![]));
    };
    if count == 0 {
        return Ok(Reply::NilArray);
    }
    let count = if count < 0 { 0 } else { count as usize };
    Ok(entries_reply(s.range(start, end, count, rev)))
}

fn xrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    xrange_generic(ctx, a, false)
}

fn xrevrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    xrange_generic(ctx, a, true)
}

fn xlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        stream_read(ctx, &a[1])?.map_or(0, |s| s.len() as i64),
    ))
}

fn xdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    if stream_mut(ctx, key)?.is_none() {
        return Ok(Reply::Int(0));
    }
    let ids = a[2..]
        .iter()
        .map(|x| parse_strict_id(x, 0))
        .collect::<CmdResult<Vec<_>>>()?;
    let Some(s) = stream_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let deleted = ids.into_iter().filter(|id| s.delete(*id)).count();
    if deleted > 0 {
        ctx.modified(key);
        ctx.notify(notify::STREAM, "xdel", key);
        ctx.mark_dirty(deleted as u64 - 1);
    }
    Ok(Reply::Int(deleted as i64))
}

/// XREAD's key positions (Redis's xreadGetKeys): the first half of what
/// follows STREAMS.
fn xread_keys(a: &[Bytes]) -> Vec<usize> {
    let mut i = 1;
    let mut streams = None;
    while i < a.len() {
        let x = &a[i];
        if eq(x, "block") || eq(x, "count") {
            i += 1;
        } else if eq(x, "group") {
            i += 2;
        } else if eq(x, "noack") {
        } else if eq(x, "streams") {
            streams = Some(i);
            break;
        } else {
            break;
        }
        i += 1;
    }
    let Some(sp) = streams else {
        return Vec::new();
    };
    let num = a.len() - sp - 1;
    if num == 0 || !num.is_multiple_of(2) {
        return Vec::new();
    }
    (sp + 1..sp + 1 + num / 2).collect()
}

/// Parsed XREAD / XREADGROUP arguments.
struct ReadArgs {
    timeout_ms: Option<u64>,
    count: i64,
    noack: bool,
    group: Option<(Bytes, Bytes)>,
    /// Index of the first key.
    streams_at: usize,
    nstreams: usize,
}

fn parse_read(a: &[Bytes], xreadgroup: bool, in_script: bool) -> CmdResult<ReadArgs> {
    let mut r = ReadArgs {
        timeout_ms: None,
        count: 0,
        noack: false,
        group: None,
        streams_at: 0,
        nstreams: 0,
    };
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let o = &a[i];
        if eq(o, "block") && more > 0 {
            if in_script {
                let name = if xreadgroup { "xreadgroup" } else { "xread" };
                return Err(CmdError::Custom(crate::error::msg::block_in_script(name)));
            }
            i += 1;
            let t = int(&a[i])
                .map_err(|_| CmdError::custom(crate::error::msg::TIMEOUT_IS_NOT_AN_INTEGER_OR))?;
            if t < 0 {
                return Err(CmdError::TimeoutNegative);
            }
            r.timeout_ms = Some(t as u64);
        } else if eq(o, "count") && more > 0 {
            i += 1;
            r.count = int(&a[i])?.max(0);
        } else if eq(o, "streams") && more > 0 {
            r.streams_at = i + 1;
            let n = a.len() - r.streams_at;
            if !n.is_multiple_of(2) {
                return Err(CmdError::custom(
                    crate::error::msg::UNBALANCED_XREAD_LIST_OF_STREAMS_FOR,
                ));
            }
            r.nstreams = n / 2;
            break;
        } else if eq(o, "group") && more >= 2 {
            if !xreadgroup {
                return Err(CmdError::custom(
                    crate::error::msg::THE_GROUP_OPTION_IS_ONLY_SUPPORTED,
                ));
            }
            r.group = Some((a[i + 1].clone(), a[i + 2].clone()));
            i += 2;
        } else if eq(o, "noack") {
            if !xreadgroup {
                return Err(CmdError::custom(
                    crate::error::msg::THE_NOACK_OPTION_IS_ONLY_SUPPORTED,
                ));
            }
            r.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if r.streams_at == 0 {
        return Err(CmdError::Syntax);
    }
    if xreadgroup && r.group.is_none() {
        return Err(CmdError::custom(
            crate::error::msg::MISSING_GROUP_OPTION_FOR_XREADGROUP,
        ));
    }
    Ok(r)
}

/// What one stream of an XREAD asks for.
#[derive(Clone, Copy)]
enum ReadFrom {
    /// Entries after this ID.
    After(StreamId),
    /// XREADGROUP `>`.
    New,
}

fn xread(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    xread_generic(ctx, a, false, false)
}

fn xreadgroup(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    xread_generic(ctx, a, true, false)
}

/// XREADGROUP as run for a blocked client whose key became ready: Redis
/// serves it when the stream's last ID passed the group's, even if the new
/// entries were deleted meanwhile (it then gets the stream with no entries).
fn xreadgroup_serving(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    xread_generic(ctx, a, true, true)
}

fn xread_generic(ctx: &mut Ctx, a: &[Bytes], xreadgroup: bool, serving: bool) -> CmdResult<Reply> {
    let r = parse_read(a, xreadgroup, ctx.in_script)?;
    let keys: Vec<Bytes> = a[r.streams_at..r.streams_at + r.nstreams].to_vec();
    let id_args = &a[r.streams_at + r.nstreams..];
    let mut from = Vec::with_capacity(keys.len());
    // Validate every key and ID first, as Redis does, before serving any.
    for (key, id_arg) in keys.iter().zip(id_args) {
        // Serving a blocked client is not a lookup Redis counts.
        let s = if serving {
            stream_mut(ctx, key)?
        } else {
            stream_read_mut(ctx, key)?
        };
        if let Some((gname, _)) = &r.group {
            if !s.as_ref().is_some_and(|s| s.groups.contains_key(gname)) {
                return Err(crate::error::msg::nogroup_key_or_group(
                    key,
                    gname,
                    " in XREADGROUP with GROUP option",
                ));
            }
        }
        if id_arg.as_ref() == b"$" {
            if xreadgroup {
                return Err(CmdError::custom(
                    crate::error::msg::XREADGROUP_DOLLAR_MEANINGLESS,
                ));
            }
            from.push(ReadFrom::After(s.map_or(StreamId::MIN, |s| s.last_id)));
        } else if id_arg.as_ref() == b">" {
            if !xreadgroup {
                return Err(CmdError::custom(
                    crate::error::msg::XREAD_GT_ONLY_WITH_GROUP,
                ));
            }
            from.push(ReadFrom::New);
        } else {
            from.push(ReadFrom::After(parse_strict_id(id_arg, 0)?));
        }
    }
    let count = r.count as usize;
    let now = ctx.now_ms;
    let mut out: Vec<(Bytes, Reply)> = Vec::new();
    for (key, f) in keys.iter().zip(from.iter()) {
        let looked = if serving {
            stream_mut(ctx, key)?
        } else {
            stream_read_mut(ctx, key)?
        };
        let Some(s) = looked else {
            continue;
        };
        match (&r.group, *f) {
            (None, ReadFrom::After(gt)) => {
                if s.is_empty() || s.last_valid_id().is_none_or(|m| m <= gt) {
                    continue;
                }
                let Some(start) = gt.incr() else { continue };
                let entries = s.range(start, StreamId::MAX, count, false);
                out.push((key.clone(), entries_reply(entries)));
            }
            (None, ReadFrom::New) => continue,
            (Some((gname, cname)), f) => {
                let Some((gkey, mut g)) = s.groups.remove_entry(gname) else {
                    continue;
                };
                let serve = match f {
                    ReadFrom::After(_) => true,
                    ReadFrom::New if serving => s.last_id > g.last_id,
                    ReadFrom::New => {
                        !s.is_empty() && s.last_valid_id().is_some_and(|m| m > g.last_id)
                    }
                };
                if !serve {
                    s.groups.insert(gkey, g);
                    continue;
                }
                let reply = {
                    // The consumer first (its creation event precedes the reply).
                    let mut created = false;
                    if !g.consumers.contains_key(cname) {
                        created = true;
                    }
                    match g.consumers.get_mut(cname) {
                        Some(c) => c.seen_time = now,
                        None => {
                            g.consumers.insert(
                                owned(cname),
                                crate::types::stream::Consumer {
                                    seen_time: now,
                                    pel: Default::default(),
                                },
                            );
                        }
                    }
                    let reply = match f {
                        ReadFrom::After(gt) => history(s, &mut g, cname, gt, count, now),
                        ReadFrom::New => {
                            let start = g.last_id.incr().unwrap_or(StreamId::MAX);
                            let entries = s.range(start, StreamId::MAX, count, false);
                            for (id, _) in &entries {
                                s.advance_group(&mut g, *id);
                                if !r.noack {
                                    let nack = g.assign(*id, cname, now);
                                    nack.delivery_time = now;
                                    nack.delivery_count = 1;
                                }
                            }
                            entries_reply(entries)
                        }
                    };
                    s.groups.insert(gkey, g);
                    if created {
                        ctx.mark_dirty(1);
                        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
                    }
                    reply
                };
                ctx.mark_dirty(1);
                out.push((key.clone(), reply));
            }
        }
    }
    if !out.is_empty() {
        return Ok(if ctx.client.resp >= 3 {
            Reply::Map(out.into_iter().map(|(k, v)| (Reply::Bulk(k), v)).collect())
        } else {
            Reply::Array(
                out.into_iter()
                    .map(|(k, v)| Reply::Array(vec![Reply::Bulk(k), v]))
                    .collect(),
            )
        });
    }
    if let Some(t) = r.timeout_ms {
        if ctx.client.in_exec {
            return Ok(Reply::NilArray);
        }
        // `$` is resolved now: the waiter wants entries after the current top.
        let mut args = a.to_vec();
        for (i, f) in from.iter().enumerate() {
            let at = r.streams_at + r.nstreams + i;
            if let ReadFrom::After(id) = f {
                if args[at].as_ref() == b"$" {
                    args[at] = id.to_bytes();
                }
            }
        }
        ctx.block = Some(BlockRequest {
            keys,
            deadline_ms: (t > 0).then(|| ctx.now_ms.saturating_add(t)),
            wants: "stream",
            timeout_reply: Reply::NilArray,
            args: Some(args),
        });
    }
    Ok(Reply::NilArray)
}

/// XREADGROUP with an ID: the consumer's own pending entries after `gt`.
fn history(
    s: &Stream,
    g: &mut Group,
    cname: &Bytes,
    gt: StreamId,
    count: usize,
    now: u64,
) -> Reply {
    let Some(start) = gt.incr() else {
        return Reply::Array(vec![]);
    };
    let ids: Vec<StreamId> = g
        .consumers
        .get(cname)
        .map(|c| {
            let it = c.pel.range(start..).copied();
            if count == 0 {
                it.collect()
            } else {
                it.take(count).collect()
            }
        })
        .unwrap_or_default();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match s.get(id) {
            Some(fields) => {
                if let Some(n) = g.pel.get_mut(&id) {
                    n.delivery_time = now;
                    n.delivery_count += 1;
                }
                out.push(entry_reply(id, fields));
            }
            None => out.push(Reply::Array(vec![id_reply(id), Reply::NilArray])),
        }
    }
    Reply::Array(out)
}

/// How a blocked XREAD / XREADGROUP waiter fares when its key is signalled.
pub enum Serving {
    /// Keep waiting.
    NotReady,
    /// Run this one-key, non-blocking command for it (XREADGROUP: serving
    /// changes the group).
    Run(crate::command::Handler, Vec<Bytes>),
    /// End the block with this reply (XREAD's entries, or the error for a
    /// deleted stream or a destroyed group).
    Reply(Reply),
}

/// Redis's serveClientsBlockedOnStreamKey / unblockDeletedStreamReadgroupClients
/// decision for one waiter, given the key's current value.
pub fn serving(value: Option<&Value>, args: &[Bytes], key: &Bytes, resp: u8) -> Serving {
    let xreadgroup = args.first().is_some_and(|c| eq(c, "xreadgroup"));
    let Ok(r) = parse_read(args, xreadgroup, false) else {
        return Serving::NotReady;
    };
    let keys = &args[r.streams_at..r.streams_at + r.nstreams];
    let Some(pos) = keys.iter().position(|k| k == key) else {
        return Serving::NotReady;
    };
    let id_arg = &args[r.streams_at + r.nstreams + pos];
    let count = if r.count > 0 {
        r.count
    } else {
        XREAD_BLOCKED_DEFAULT_COUNT
    };
    let count_arg = Bytes::from(count.to_string());
    let stream = match value {
        Some(Value::Stream(s)) => Some(s),
        _ => None,
    };
    if let Some((gname, cname)) = &r.group {
        let Some(s) = stream else {
            return Serving::Reply(Reply::Error(
                crate::error::msg::UNBLOCKED_THE_STREAM_KEY_NO_LONGER_EXISTS.into(),
            ));
        };
        let Some(g) = s.groups.get(gname) else {
            return Serving::Reply(Reply::Error(
                crate::error::msg::NOGROUP_THE_CONSUMER_GROUP_THIS_CLIENT_WAS.into(),
            ));
        };
        if s.last_id <= g.last_id {
            return Serving::NotReady;
        }
        let mut out = vec![
            Bytes::from_static(b"XREADGROUP"),
            Bytes::from_static(b"GROUP"),
            gname.clone(),
            cname.clone(),
            Bytes::from_static(b"COUNT"),
            count_arg,
        ];
        if r.noack {
            out.push(Bytes::from_static(b"NOACK"));
        }
        out.extend([
            Bytes::from_static(b"STREAMS"),
            key.clone(),
            Bytes::from_static(b">"),
        ]);
        return Serving::Run(xreadgroup_serving, out);
    }
    let Some(s) = stream else {
        return Serving::NotReady;
    };
    let Ok(gt) = parse_strict_id(id_arg, 0) else {
        return Serving::NotReady;
    };
    if s.last_id <= gt {
        return Serving::NotReady;
    }
    // XREAD only reads: the reply is built here. Like Redis it names the
    // stream even when the entries that readied it are already deleted.
    let entries = match gt.incr() {
        Some(start) => s.range(start, StreamId::MAX, count as usize, false),
        None => Vec::new(),
    };
    let reply = entries_reply(entries);
    Serving::Reply(if resp >= 3 {
        Reply::Map(vec![(Reply::Bulk(key.clone()), reply)])
    } else {
        Reply::Array(vec![Reply::Array(vec![Reply::Bulk(key.clone()), reply])])
    })
}

fn xack(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let has_group = match stream_read(ctx, key)? {
        Some(s) => s.groups.contains_key(&a[2]),
        None => false,
    };
    if !has_group {
        return Ok(Reply::Int(0));
    }
    let ids = a[3..]
        .iter()
        .map(|x| parse_strict_id(x, 0))
        .collect::<CmdResult<Vec<_>>>()?;
    let Some(g) = stream_mut(ctx, key)?.and_then(|s| s.groups.get_mut(&a[2])) else {
        return Ok(Reply::Int(0));
    };
    let acked = ids.into_iter().filter(|id| g.ack(*id)).count();
    if acked > 0 {
        ctx.mark_dirty(acked as u64);
    }
    Ok(Reply::Int(acked as i64))
}

fn xpending(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let argc = a.len();
    let justinfo = argc == 3;
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let mut start = StreamId::MIN;
    let mut end = StreamId::MAX;
    let mut count: i64 = 0;
    let mut minidle: i64 = 0;
    let mut consumer: Option<&Bytes> = None;
    if argc >= 6 {
        let mut si = 3;
        if eq(&a[3], "idle") {
            minidle = int(&a[4])?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            si += 2;
        }
        count = int(&a[si + 2])?.max(0);
        start = parse_start(&a[si])?;
        end = parse_end(&a[si + 1])?;
        if si + 3 < argc {
            consumer = Some(&a[si + 3]);
        }
    }
    let key = &a[1];
    let now = ctx.now_ms;
    let g = match stream_read(ctx, key)? {
        Some(s) => s.groups.get(&a[2]),
        None => None,
    };
    let Some(g) = g else {
        return Err(nogroup_key(key, &a[2]));
    };
    if justinfo {
        let n = g.pel.len() as i64;
        if n == 0 {
            return Ok(Reply::Array(vec![
                Reply::Int(0),
                Reply::Nil,
                Reply::Nil,
                Reply::NilArray,
            ]));
        }
        let first = g.pel.keys().next().copied().unwrap_or_default();
        let last = g.pel.keys().next_back().copied().unwrap_or_default();
        let per: Vec<Reply> = g
            .consumers
            .iter()
            .filter(|(_, c)| !c.pel.is_empty())
            .map(|(name, c)| {
                Reply::Array(vec![
                    Reply::Bulk(name.clone()),
                    Reply::bulk_int(c.pel.len() as i64),
                ])
            })
            .collect();
        return Ok(Reply::Array(vec![
            Reply::Int(n),
            id_reply(first),
            id_reply(last),
            Reply::Array(per),
        ]));
    }
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(name) {
            Some(c) => {
                if start > end {
                    Vec::new()
                } else {
                    c.pel.range(start..=end).copied().collect()
                }
            }
            None => return Ok(Reply::Array(vec![])),
        },
        None => {
            if start > end {
                Vec::new()
            } else {
                g.pel.range(start..=end).map(|(k, _)| *k).collect()
            }
        }
    };
    let mut out = Vec::new();
    for id in ids {
        if count == 0 {
            break;
        }
        let Some(n) = g.pel.get(&id) else { continue };
        let idle = now as i64 - n.delivery_time as i64;
        if minidle != 0 && idle < minidle {
            continue;
        }
        count -= 1;
        out.push(Reply::Array(vec![
            id_reply(id),
            Reply::Bulk(n.consumer.clone()),
            Reply::Int(idle.max(0)),
            Reply::Int(n.delivery_count as i64),
        ]));
    }
    Ok(Reply::Array(out))
}

fn int_or(arg: &[u8], msg: &'static str) -> CmdResult<i64> {
    int(arg).map_err(|_| CmdError::custom(msg))
}

fn xclaim(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let gname = &a[2];
    let cname = &a[3];
    let has_group = match stream_read(ctx, key)? {
        Some(s) => s.groups.contains_key(gname),
        None => false,
    };
    if !has_group {
        return Err(nogroup_key(key, gname));
    }
    let minidle = int_or(&a[4], crate::error::msg::XCLAIM_INVALID_MIN_IDLE)?.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < a.len() {
        match parse_strict_id(&a[j], 0) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.now_ms as i64;
    let mut force = false;
    let mut justid = false;
    let mut retrycount: i64 = -1;
    let mut deliverytime: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < a.len() {
        let more = a.len() - 1 - j;
        let opt = &a[j];
        if eq(opt, "force") {
            force = true;
        } else if eq(opt, "justid") {
            justid = true;
        } else if eq(opt, "idle") && more > 0 {
            j += 1;
            deliverytime = now - int_or(&a[j], crate::error::msg::XCLAIM_INVALID_IDLE)?;
        } else if eq(opt, "time") && more > 0 {
            j += 1;
            deliverytime = int_or(&a[j], crate::error::msg::XCLAIM_INVALID_TIME)?;
        } else if eq(opt, "retrycount") && more > 0 {
            j += 1;
            retrycount = int_or(&a[j], crate::error::msg::XCLAIM_INVALID_RETRYCOUNT)?;
        } else if eq(opt, "lastid") && more > 0 {
            j += 1;
            last_id = parse_strict_id(&a[j], 0)?;
        } else {
            return Err(crate::error::msg::xclaim_unrecognized(opt));
        }
        j += 1;
    }
    if deliverytime == -1 || deliverytime < 0 || deliverytime > now {
        deliverytime = now;
    }
    let Some(s) = stream_mut(ctx, key)? else {
        return Err(nogroup_key(key, gname));
    };
    let Some((gkey, mut g)) = s.groups.remove_entry(gname) else {
        return Err(nogroup_key(key, gname));
    };
    if last_id > g.last_id {
        g.last_id = last_id;
    }
    let mut out = Vec::new();
    let mut consumer_ready = false;
    let mut created = false;
    let mut changed = 0u64;
    for id in ids {
        let pending = g.pel.contains_key(&id);
        if !s.contains(id) {
            if pending {
                g.ack(id);
                changed += 1;
            }
            continue;
        }
        if !pending && !force {
            continue;
        }
        if pending && minidle > 0 {
            if let Some(n) = g.pel.get(&id) {
                if now - (n.delivery_time as i64) < minidle {
                    continue;
                }
            }
        }
        if !consumer_ready {
            consumer_ready = true;
            match g.consumers.get_mut(cname) {
                Some(c) => c.seen_time = now as u64,
                None => {
                    created = true;
                    g.consumers.insert(
                        owned(cname),
                        crate::types::stream::Consumer {
                            seen_time: now as u64,
                            pel: Default::default(),
                        },
                    );
                }
            }
        }
        let nack = g.assign(id, cname, now as u64);
        nack.delivery_time = deliverytime as u64;
        if retrycount >= 0 {
            nack.delivery_count = retrycount as u64;
        } else if !justid {
            nack.delivery_count += 1;
        }
        changed += 1;
        if justid {
            out.push(id_reply(id));
        } else {
            out.push(entry_reply(id, s.get(id).unwrap_or_default()));
        }
    }
    s.groups.insert(gkey, g);
    if created {
        ctx.mark_dirty(1);
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    ctx.mark_dirty(changed);
    Ok(Reply::Array(out))
}

fn xautoclaim(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let gname = &a[2];
    let cname = &a[3];
    let minidle = int_or(&a[4], crate::error::msg::XAUTOCLAIM_INVALID_MIN_IDLE)?.max(0);
    let start = parse_start(&a[5])?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if eq(&a[j], "count") && more > 0 {
            let max = i64::MAX / 16;
            count = match int(&a[j + 1]) {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => return Err(CmdError::custom(crate::error::msg::COUNT_MUST_BE_POSITIVE)),
            };
            j += 1;
        } else if eq(&a[j], "justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let now = ctx.now_ms;
    let Some(s) = stream_read_mut(ctx, key)? else {
        return Err(nogroup_key(key, gname));
    };
    if !s.groups.contains_key(gname) {
        return Err(nogroup_key(key, gname));
    }
    // Redis allocates COUNT stream IDs up front and answers this when the
    // allocation fails; we allocate as we go, so refuse the same absurd
    // counts (over a terabyte of IDs) explicitly.
    if count > (1i64 << 36) {
        return Err(CmdError::custom(
            crate::error::msg::INSUFFICIENT_MEMORY_FAILED_ALLOCATING_TRANSIENT_MEMORY,
        ));
    }
    let Some((gkey, mut g)) = s.groups.remove_entry(gname) else {
        return Err(nogroup_key(key, gname));
    };
    let mut attempts = count.saturating_mul(10);
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut created = false;
    let mut consumer_ready = false;
    let mut cursor = start;
    let next: Option<StreamId>;
    loop {
        let item = g
            .pel
            .range(cursor..)
            .next()
            .map(|(id, n)| (*id, n.delivery_time));
        let Some((id, delivered)) = item else {
            next = None;
            break;
        };
        if attempts == 0 || count == 0 {
            next = Some(id);
            break;
        }
        attempts -= 1;
        cursor = match id.incr() {
            Some(c) => c,
            None => StreamId::MAX,
        };
        let at_end = id == StreamId::MAX;
        if !s.contains(id) {
            g.ack(id);
            deleted.push(id_reply(id));
            count -= 1;
        } else if minidle == 0 || (now as i64 - delivered as i64) >= minidle {
            if !consumer_ready {
                consumer_ready = true;
                match g.consumers.get_mut(cname) {
                    Some(c) => c.seen_time = now,
                    None => {
                        created = true;
                        g.consumers.insert(
                            owned(cname),
                            crate::types::stream::Consumer {
                                seen_time: now,
                                pel: Default::default(),
                            },
                        );
                    }
                }
            }
            let nack = g.assign(id, cname, now);
            nack.delivery_time = now;
            if !justid {
                nack.delivery_count += 1;
            }
            if justid {
                claimed.push(id_reply(id));
            } else {
                claimed.push(entry_reply(id, s.get(id).unwrap_or_default()));
            }
            count -= 1;
        }
        if at_end {
            next = None;
            break;
        }
    }
    s.groups.insert(gkey, g);
    if created {
        ctx.mark_dirty(1);
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    ctx.mark_dirty((claimed.len() + deleted.len()) as u64);
    Ok(Reply::Array(vec![
        id_reply(next.unwrap_or_default()),
        Reply::Array(claimed),
        Reply::Array(deleted),
    ]))
}

fn xsetid(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let id = parse_strict_id(&a[2], 0)?;
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < a.len() {
        let more = a.len() - 1 - i;
        if eq(&a[i], "entriesadded") && more > 0 {
            entries_added = int(&a[i + 1])?;
            if entries_added < 0 {
                return Err(CmdError::custom(
                    crate::error::msg::ENTRIES_ADDED_MUST_BE_POSITIVE,
                ));
            }
            i += 2;
        } else if eq(&a[i], "maxdeletedid") && more > 0 {
            max_xdel = parse_strict_id(&a[i + 1], 0)?;
            if id < max_xdel {
                return Err(CmdError::custom(
                    crate::error::msg::XSETID_ID_BELOW_MAX_DELETED,
                ));
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let key = &a[1];
    let Some(s) = stream_mut(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    if !s.is_empty() {
        if s.last_valid_id().is_some_and(|m| id < m) {
            return Err(CmdError::custom(crate::error::msg::XSETID_ID_BELOW_TOP));
        }
        if entries_added != -1 && s.len() > entries_added as u64 {
            return Err(CmdError::custom(
                crate::error::msg::THE_ENTRIES_ADDED_SPECIFIED_IN_XSETID,
            ));
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_id = max_xdel;
    }
    ctx.modified(key);
    ctx.notify(notify::STREAM, "xsetid", key);
    Ok(Reply::Ok)
}

/// XGROUP's shared prologue: options after the fixed arguments, the stream,
/// and the group-exists rule (xgroupCommand).
fn xgroup_prologue(ctx: &mut Ctx, a: &[Bytes], needs_group: bool) -> CmdResult<(bool, i64)> {
    let create = eq(&a[1], "create");
    let setid = eq(&a[1], "setid");
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut i = 5;
    while i < a.len() {
        if create && eq(&a[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && eq(&a[i], "entriesread") && i + 1 < a.len() {
            entries_read = int(&a[i + 1])?;
            if entries_read < 0 && entries_read != INVALID_ENTRIES_READ {
                return Err(CmdError::custom(
                    crate::error::msg::VALUE_FOR_ENTRIESREAD_MUST_BE_POSITIVE,
                ));
            }
            i += 2;
        } else {
            return Err(subcommand_syntax(a));
        }
    }
    let key = &a[2];
    let exists = match stream_mut(ctx, key)? {
        Some(s) => {
            if needs_group && !s.groups.contains_key(&a[3]) {
                return Err(nogroup_for_key(&a[3], key));
            }
            true
        }
        None => false,
    };
    if !exists && !mkstream {
        return Err(CmdError::custom(
            crate::error::msg::THE_XGROUP_SUBCOMMAND_REQUIRES_THE_KEY,
        ));
    }
    Ok((exists, entries_read))
}

fn xgroup_create(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let (exists, entries_read) = xgroup_prologue(ctx, a, false)?;
    if a.len() > 8 {
        return Err(subcommand_syntax(a));
    }
    let key = &a[2];
    let id = if a[4].as_ref() == b"$" {
        match stream_mut(ctx, key)? {
            Some(s) => s.last_id,
            None => StreamId::MIN,
        }
    } else {
        parse_strict_id(&a[4], 0)?
    };
    if !exists {
        ctx.set_value(
            key,
            Value::Stream(std::sync::Arc::new(Stream::new())),
            false,
        );
        ctx.notify(notify::NEW, "new", key);
    }
    let Some(s) = stream_mut(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    if s.groups.contains_key(&a[3]) {
        return Err(CmdError::custom(
            crate::error::msg::BUSYGROUP_CONSUMER_GROUP_NAME_ALREADY_EXISTS,
        ));
    }
    s.groups.insert(owned(&a[3]), Group::new(id, entries_read));
    ctx.modified(key);
    ctx.notify(notify::STREAM, "xgroup-create", key);
    Ok(Reply::Ok)
}

fn xgroup_setid(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let (_, entries_read) = xgroup_prologue(ctx, a, true)?;
    if a.len() != 5 && a.len() != 7 {
        return Err(subcommand_syntax(a));
    }
    let key = &a[2];
    let Some(s) = stream_mut(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let id = if a[4].as_ref() == b"$" {
        s.last_id
    } else {
        parse_id(&a[4], 0)?
    };
    let Some(g) = s.groups.get_mut(&a[3]) else {
        return Err(nogroup_for_key(&a[3], key));
    };
    g.last_id = id;
    g.entries_read = entries_read;
    ctx.modified(key);
    ctx.notify(notify::STREAM, "xgroup-setid", key);
    Ok(Reply::Ok)
}

fn xgroup_destroy(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    xgroup_prologue(ctx, a, false)?;
    let key = &a[2];
    let Some(s) = stream_mut(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    if s.groups.remove(&a[3]).is_none() {
        return Ok(Reply::Int(0));
    }
    ctx.modified(key);
    ctx.notify(notify::STREAM, "xgroup-destroy", key);
    // Blocked XREADGROUP clients of this group get their error now.
    ctx.signal_ready(key);
    Ok(Reply::Int(1))
}

fn xgroup_createconsumer(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    xgroup_prologue(ctx, a, true)?;
    let key = &a[2];
    let now = ctx.now_ms;
    let Some(g) = stream_mut(ctx, key)?.and_then(|s| s.groups.get_mut(&a[3])) else {
        return Err(nogroup_for_key(&a[3], key));
    };
    if g.consumers.contains_key(&a[4]) {
        return Ok(Reply::Int(0));
    }
    g.consumers.insert(
        owned(&a[4]),
        crate::types::stream::Consumer {
            seen_time: now,
            pel: Default::default(),
        },
    );
    ctx.modified(key);
    ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    Ok(Reply::Int(1))
}

fn xgroup_delconsumer(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    xgroup_prologue(ctx, a, true)?;
    let key = &a[2];
    let Some(g) = stream_mut(ctx, key)?.and_then(|s| s.groups.get_mut(&a[3])) else {
        return Err(nogroup_for_key(&a[3], key));
    };
    let Some(c) = g.consumers.remove(&a[4]) else {
        return Ok(Reply::Int(0));
    };
    let pending = c.pel.len() as i64;
    for id in c.pel {
        g.pel.remove(&id);
    }
    ctx.modified(key);
    ctx.notify(notify::STREAM, "xgroup-delconsumer", key);
    Ok(Reply::Int(pending))
}

fn xgroup_help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "xgroup"));
    }
    Ok(crate::family::keys::help_reply(
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    ))
}

fn xinfo_help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "xinfo"));
    }
    Ok(crate::family::keys::help_reply(
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    ))
}

fn xinfo_stream_of<'c>(ctx: &'c mut Ctx, key: &[u8]) -> CmdResult<&'c Stream> {
    stream_read(ctx, key)?.ok_or(CmdError::NoSuchKey)
}

fn s(text: &str) -> Reply {
    Reply::bulk_str(text)
}

fn lag_reply(st: &Stream, g: &Group) -> Reply {
    st.lag(g).map_or(Reply::Nil, Reply::Int)
}

fn entries_read_reply(g: &Group) -> Reply {
    if g.entries_read == INVALID_ENTRIES_READ {
        Reply::Nil
    } else {
        Reply::Int(g.entries_read)
    }
}

fn xinfo_consumers(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let now = ctx.now_ms as i64;
    let st = xinfo_stream_of(ctx, &a[2])?;
    let Some(g) = st.groups.get(&a[3]) else {
        return Err(nogroup_for_key(&a[3], &a[2]));
    };
    Ok(Reply::Array(
        g.consumers
            .iter()
            .map(|(name, c)| {
                Reply::Map(vec![
                    (s("name"), Reply::Bulk(name.clone())),
                    (s("pending"), Reply::Int(c.pel.len() as i64)),
                    (s("idle"), Reply::Int((now - c.seen_time as i64).max(0))),
                ])
            })
            .collect(),
    ))
}

fn xinfo_groups(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let st = xinfo_stream_of(ctx, &a[2])?;
    Ok(Reply::Array(
        st.groups
            .iter()
            .map(|(name, g)| {
                Reply::Map(vec![
                    (s("name"), Reply::Bulk(name.clone())),
                    (s("consumers"), Reply::Int(g.consumers.len() as i64)),
                    (s("pending"), Reply::Int(g.pel.len() as i64)),
                    (s("last-delivered-id"), id_reply(g.last_id)),
                    (s("entries-read"), entries_read_reply(g)),
                    (s("lag"), lag_reply(st, g)),
                ])
            })
            .collect(),
    ))
}

fn xinfo_stream(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let opts = &a[3..];
    let mut full = false;
    let mut count: i64 = 10;
    if !opts.is_empty() {
        if (opts.len() != 1 && opts.len() != 3) || !eq(&opts[0], "full") {
            return Err(subcommand_syntax(a));
        }
        full = true;
        if opts.len() == 3 {
            if !eq(&opts[1], "count") {
                return Err(subcommand_syntax(a));
            }
            count = int(&opts[2])?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let st = xinfo_stream_of(ctx, &a[2])?;
    let nodes = st.node_count() as i64;
    let mut m = vec![
        (s("length"), Reply::Int(st.len() as i64)),
        (s("radix-tree-keys"), Reply::Int(nodes)),
        // Redis counts the radix tree's inner nodes too; a tree of nodes keyed
        // by 16-byte IDs has about one inner node per key plus the root
        // (exact for 0 and 1 keys).
        (
            s("radix-tree-nodes"),
            Reply::Int(if nodes <= 1 { nodes + 1 } else { nodes * 2 + 1 }),
        ),
        (s("last-generated-id"), id_reply(st.last_id)),
        (s("max-deleted-entry-id"), id_reply(st.max_deleted_id)),
        (s("entries-added"), Reply::Int(st.entries_added as i64)),
        (s("recorded-first-entry-id"), id_reply(st.first_id)),
    ];
    if !full {
        m.push((s("groups"), Reply::Int(st.groups.len() as i64)));
        let first = st.range(StreamId::MIN, StreamId::MAX, 1, false).pop();
        let last = st.range(StreamId::MIN, StreamId::MAX, 1, true).pop();
        m.push((
            s("first-entry"),
            first.map_or(Reply::Nil, |(id, f)| entry_reply(id, f)),
        ));
        m.push((
            s("last-entry"),
            last.map_or(Reply::Nil, |(id, f)| entry_reply(id, f)),
        ));
        return Ok(Reply::Map(m));
    }
    let limit = count.max(0) as usize;
    m.push((
        s("entries"),
        entries_reply(st.range(StreamId::MIN, StreamId::MAX, limit, false)),
    ));
    let take = |n: usize| if limit == 0 { n } else { n.min(limit) };
    let groups =
        st.groups
            .iter()
            .map(|(name, g)| {
                let pending = g
                    .pel
                    .iter()
                    .take(take(g.pel.len()))
                    .map(|(id, n)| {
                        Reply::Array(vec![
                            id_reply(*id),
                            Reply::Bulk(n.consumer.clone()),
                            Reply::Int(n.delivery_time as i64),
                            Reply::Int(n.delivery_count as i64),
                        ])
                    })
                    .collect();
                let consumers =
                    g.consumers
                        .iter()
                        .map(|(cname, c)| {
                            let cpending =
                                c.pel
                                    .iter()
                                    .take(take(c.pel.len()))
                                    .map(|id| {
                                        let (t, n) = g.pel.get(id).map_or((0, 0), |n| {
                                            (n.delivery_time, n.delivery_count)
                                        });
                                        Reply::Array(vec![
                                            id_reply(*id),
                                            Reply::Int(t as i64),
                                            Reply::Int(n as i64),
                                        ])
                                    })
                                    .collect();
                            Reply::Map(vec![
                                (s("name"), Reply::Bulk(cname.clone())),
                                (s("seen-time"), Reply::Int(c.seen_time as i64)),
                                (s("pel-count"), Reply::Int(c.pel.len() as i64)),
                                (s("pending"), Reply::Array(cpending)),
                            ])
                        })
                        .collect();
                Reply::Map(vec![
                    (s("name"), Reply::Bulk(name.clone())),
                    (s("last-delivered-id"), id_reply(g.last_id)),
                    (s("entries-read"), entries_read_reply(g)),
                    (s("lag"), lag_reply(st, g)),
                    (s("pel-count"), Reply::Int(g.pel.len() as i64)),
                    (s("pending"), Reply::Array(pending)),
                    (s("consumers"), Reply::Array(consumers)),
                ])
            })
            .collect();
    m.push((s("groups"), Reply::Array(groups)));
    Ok(Reply::Map(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_like_redis() {
        assert_eq!(parse_id(b"5", 7).unwrap(), StreamId::new(5, 7));
        assert_eq!(parse_id(b"5-3", 7).unwrap(), StreamId::new(5, 3));
        assert_eq!(parse_id(b"-", 0).unwrap(), StreamId::MIN);
        assert_eq!(parse_id(b"+", 0).unwrap(), StreamId::MAX);
        assert!(parse_strict_id(b"-", 0).is_err());
        assert!(parse_id(b"-5", 0).is_err());
        assert!(parse_id(b"5-", 0).is_err());
        assert!(parse_id(b"abc", 0).is_err());
        assert_eq!(
            parse_id_full(b"5-*", 0, true, true).unwrap(),
            (StreamId::new(5, 0), false)
        );
        assert!(parse_strict_id(b"5-*", 0).is_err());
        assert_eq!(
            parse_id(b"18446744073709551615-18446744073709551615", 0).unwrap(),
            StreamId::MAX
        );
        assert!(parse_id(b"18446744073709551616", 0).is_err());
    }

    #[test]
    fn xread_key_positions() {
        let a: Vec<Bytes> = ["XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        assert_eq!(xread_keys(&a), vec![4, 5]);
        let a: Vec<Bytes> = ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        assert_eq!(xread_keys(&a), vec![5]);
    }
}
