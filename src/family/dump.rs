//! DUMP and RESTORE.
//!
//! The payload is Redis's: the value in its RDB encoding (the same encoders
//! as the RDB file, `persist::rdb`), the RDB version (10) and a CRC64, so
//! values move between Cinnabar and Redis both ways (and MIGRATE-style
//! tools work). RESTORE also takes the payloads of earlier Cinnabar
//! versions (their own serialisation, with a version no RDB has).

use std::collections::HashSet;

use bytes::{BufMut, Bytes, BytesMut};

use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;
use crate::types::hash::{Hash, Limits as HashLimits};
use crate::types::list::List;
use crate::types::set::{Set, DEFAULT_MAX_INTSET_ENTRIES};
use crate::types::stream::{Consumer, Group, Nack, Stream, StreamId};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("dump", 2, READONLY, Keys::Range(1, 1, 1), dump).doc(
        "generic",
        "2.6.0",
        "Returns a serialized representation of the value stored at a key.",
    ),
    CommandSpec::new(
        "restore",
        -4,
        WRITE | DENYOOM,
        Keys::Range(1, 1, 1),
        restore,
    )
    .doc(
        "generic",
        "2.6.0",
        "Creates a key from the serialized representation of a value.",
    ),
];

/// Format version: far above any RDB version, so the two never mix.
const VERSION: u16 = 0xC1AB;

const T_STRING: u8 = 0;
const T_LIST: u8 = 1;
const T_SET: u8 = 2;
const T_HASH: u8 = 3;
/// Redis's RDB type number for streams, so other families' tags (3, 4…) stay free.
const T_STREAM: u8 = 15;
/// Sorted set: count, then (member blob, f64 score LE) pairs in order.
const T_ZSET: u8 = 4;

fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

fn put_blob(out: &mut BytesMut, b: &[u8]) {
    out.put_u64_le(b.len() as u64);
    out.put_slice(b);
}

pub fn serialize(value: &Value) -> Bytes {
    let mut out = BytesMut::new();
    match value {
        Value::Str(s) => {
            out.put_u8(T_STRING);
            put_blob(&mut out, s);
        }
        Value::List(l) => {
            out.put_u8(T_LIST);
            out.put_u64_le(l.len() as u64);
            for e in l.iter() {
                put_blob(&mut out, e);
            }
        }
        Value::Set(s) => {
            out.put_u8(T_SET);
            out.put_u64_le(s.len() as u64);
            for m in s.iter() {
                m.with_bytes(|m| put_blob(&mut out, m));
            }
        }
        Value::Hash(h) => {
            out.put_u8(T_HASH);
            out.put_u64_le(h.len() as u64);
            for (f, v) in h.iter() {
                put_blob(&mut out, f);
                put_blob(&mut out, v);
            }
        }
        Value::Stream(st) => {
            out.put_u8(T_STREAM);
            put_stream(&mut out, st);
        }
        Value::Zset(z) => {
            out.put_u8(T_ZSET);
            out.put_u64_le(z.len() as u64);
            for (s, m) in z.iter() {
                put_blob(&mut out, m);
                out.put_f64_le(s);
            }
        }
    }
    out.put_u16_le(VERSION);
    let sum = checksum(&out);
    out.put_u64_le(sum);
    out.freeze()
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    fn u64(&mut self) -> Option<u64> {
        let b = self.data.get(self.pos..self.pos + 8)?;
        self.pos += 8;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }
    fn blob(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        let end = self.pos.checked_add(n)?;
        let b = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }
}

fn put_id(out: &mut BytesMut, id: StreamId) {
    out.put_u64_le(id.ms);
    out.put_u64_le(id.seq);
}

/// A stream: metadata, live entries, then each group with its PEL and consumers.
fn put_stream(out: &mut BytesMut, st: &Stream) {
    put_id(out, st.last_id);
    put_id(out, st.max_deleted_id);
    out.put_u64_le(st.entries_added);
    let entries = st.all_entries();
    out.put_u64_le(entries.len() as u64);
    for (id, fields) in entries {
        put_id(out, id);
        out.put_u64_le(fields.len() as u64);
        for f in fields {
            put_blob(out, &f);
        }
    }
    out.put_u64_le(st.groups.len() as u64);
    for (name, g) in &st.groups {
        put_blob(out, name);
        put_id(out, g.last_id);
        out.put_u64_le(g.entries_read as u64);
        out.put_u64_le(g.pel.len() as u64);
        for (id, n) in &g.pel {
            put_id(out, *id);
            put_blob(out, &n.consumer);
            out.put_u64_le(n.delivery_time);
            out.put_u64_le(n.delivery_count);
        }
        out.put_u64_le(g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            put_blob(out, cname);
            out.put_u64_le(c.seen_time);
        }
    }
}

fn get_id(r: &mut Reader) -> Option<StreamId> {
    Some(StreamId::new(r.u64()?, r.u64()?))
}

/// Reads what `put_stream` wrote; None on any inconsistency (counts are
/// bounded by the payload: nothing is allocated ahead of the data read).
fn get_stream(r: &mut Reader) -> Option<Stream> {
    let mut st = Stream::new();
    let last_id = get_id(r)?;
    let max_deleted = get_id(r)?;
    let added = r.u64()?;
    let n = r.u64()?;
    let mut prev: Option<StreamId> = None;
    for _ in 0..n {
        let id = get_id(r)?;
        if prev.is_some_and(|p| p >= id) || id > last_id {
            return None;
        }
        prev = Some(id);
        let nf = r.u64()?;
        if nf < 2 || nf % 2 != 0 {
            return None;
        }
        let mut fields = Vec::new();
        for _ in 0..nf {
            fields.push(Bytes::copy_from_slice(r.blob()?));
        }
        st.append(id, &fields, 100, 4096);
    }
    st.last_id = last_id;
    st.max_deleted_id = max_deleted;
    st.entries_added = added;
    let ng = r.u64()?;
    for _ in 0..ng {
        let name = Bytes::copy_from_slice(r.blob()?);
        let mut g = Group::new(get_id(r)?, r.u64()? as i64);
        let np = r.u64()?;
        let mut pel = Vec::new();
        for _ in 0..np {
            let id = get_id(r)?;
            let consumer = Bytes::copy_from_slice(r.blob()?);
            pel.push((id, consumer, r.u64()?, r.u64()?));
        }
        let nc = r.u64()?;
        for _ in 0..nc {
            let cname = Bytes::copy_from_slice(r.blob()?);
            let seen_time = r.u64()?;
            let consumer = Consumer {
                seen_time,
                pel: Default::default(),
            };
            if g.consumers.insert(cname, consumer).is_some() {
                return None;
            }
        }
        for (id, consumer, time, count) in pel {
            g.consumers.get_mut(&consumer)?.pel.insert(id);
            let nack = Nack {
                consumer,
                delivery_time: time,
                delivery_count: count,
            };
            if g.pel.insert(id, nack).is_some() {
                // One pending entry listed twice (for one consumer or two).
                return None;
            }
        }
        if st.groups.insert(name, g).is_some() {
            return None;
        }
    }
    st.is_consistent().then_some(st)
}

/// Checks the frame and decodes the body; lengths are bounded by the payload.
/// A hash is encoded as `hash_limits` say (Redis converts at RESTORE too).
pub fn deserialize(payload: &[u8], hash_limits: HashLimits) -> CmdResult<Value> {
    let bad_frame = || CmdError::custom(crate::error::msg::DUMP_PAYLOAD_VERSION_OR_CHECKSUM_ARE);
    if payload.len() < 11 {
        return Err(bad_frame());
    }
    let (body_ver, sum) = payload.split_at(payload.len() - 8);
    let version = u16::from_le_bytes([body_ver[body_ver.len() - 2], body_ver[body_ver.len() - 1]]);
    let sum = u64::from_le_bytes(sum.try_into().map_err(|_| bad_frame())?);
    if version != VERSION || checksum(body_ver) != sum {
        return Err(bad_frame());
    }
    let body = &body_ver[..body_ver.len() - 2];
    let bad = || CmdError::custom(crate::error::msg::BAD_DATA_FORMAT);
    let mut r = Reader { data: body, pos: 0 };
    let value = match r.u8().ok_or_else(bad)? {
        T_STRING => Value::Str(Bytes::copy_from_slice(r.blob().ok_or_else(bad)?)),
        T_LIST => {
            let n = r.u64().ok_or_else(bad)?;
            let mut l = List::new();
            for _ in 0..n {
                l.push_back(r.blob().ok_or_else(bad)?);
            }
            if l.is_empty() {
                return Err(bad());
            }
            Value::List(std::sync::Arc::new(l))
        }
        T_SET => {
            let n = r.u64().ok_or_else(bad)?;
            // Encoded as SADD would; RESTORE applies the configured limit.
            let mut s = Set::default();
            for _ in 0..n {
                s.add(r.blob().ok_or_else(bad)?, DEFAULT_MAX_INTSET_ENTRIES);
            }
            // A repeated member: the payload was not made by DUMP.
            if s.is_empty() || s.len() as u64 != n {
                return Err(bad());
            }
            Value::Set(s)
        }
        T_HASH => {
            let n = r.u64().ok_or_else(bad)?;
            let mut h = Hash::new();
            for _ in 0..n {
                let f = r.blob().ok_or_else(bad)?;
                let v = r.blob().ok_or_else(bad)?;
                if !h.set(f, v, hash_limits) {
                    // A repeated field: the payload was not made by DUMP.
                    return Err(bad());
                }
            }
            if h.is_empty() {
                return Err(bad());
            }
            Value::Hash(std::sync::Arc::new(h))
        }
        T_STREAM => Value::Stream(std::sync::Arc::new(get_stream(&mut r).ok_or_else(bad)?)),
        T_ZSET => {
            let n = r.u64().ok_or_else(bad)?;
            let mut items = Vec::new();
            let mut seen = HashSet::new();
            for _ in 0..n {
                let m = Bytes::copy_from_slice(r.blob().ok_or_else(bad)?);
                let s = f64::from_bits(r.u64().ok_or_else(bad)?);
                if s.is_nan() || !seen.insert(m.clone()) {
                    return Err(bad());
                }
                items.push((m, s));
            }
            if items.is_empty() {
                return Err(bad());
            }
            // Re-encoded by RESTORE against the current limits.
            Value::Zset(crate::types::zset::Zset::from_entries(
                items,
                Default::default(),
            ))
        }
        _ => return Err(bad()),
    };
    if r.pos != body.len() {
        return Err(bad());
    }
    Ok(value)
}

/// A payload without its checksum, sealed with each format's checksum (ours,
/// then Redis's CRC64): lets the fuzz harness (`fuzz/`) reach the decoders
/// with mutated bodies that would otherwise stop at the checksum test.
#[doc(hidden)]
pub fn seal_for_fuzzing(body_and_version: &[u8]) -> [Vec<u8>; 2] {
    let mut ours = body_and_version.to_vec();
    ours.extend_from_slice(&checksum(body_and_version).to_le_bytes());
    let mut redis = body_and_version.to_vec();
    redis.extend_from_slice(&crate::persist::crc64::crc64(0, body_and_version).to_le_bytes());
    [ours, redis]
}

fn dump(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(match ctx.lookup(&a[1]) {
        Some(e) => {
            let mut payload = crate::persist::rdb::encode_value(&e.value);
            crate::persist::rdb::seal_payload(&mut payload);
            Reply::Bulk(Bytes::from(payload))
        }
        None => Reply::Nil,
    })
}

/// A Redis-format payload's value, or the legacy Cinnabar format's: what
/// RESTORE decodes (public for the fuzz harness).
#[doc(hidden)]
pub fn restored_value(payload: &[u8], hash_limits: HashLimits) -> CmdResult<Value> {
    restored_value_with(payload, hash_limits, false)
}

/// `restored_value`, the Redis format's CRC64 unchecked when `skip_crc`
/// (DEBUG SET-SKIP-CHECKSUM-VALIDATION). A refused body is logged as
/// Redis's rdbReportCorruptRDB logs it in a RESTORE (at verbose level),
/// except an empty collection, which Redis does not report.
pub fn restored_value_with(
    payload: &[u8],
    hash_limits: HashLimits,
    skip_crc: bool,
) -> CmdResult<Value> {
    use crate::persist::rdb;
    let Some(body) = rdb::payload_body(payload, skip_crc) else {
        return deserialize(payload, hash_limits);
    };
    rdb::decode_value(body).map_err(|e| {
        if e.0 != rdb::EMPTY_KEY {
            tracing::info!("Internal error in RDB reading offset 0, function at rdb.c -> {e}");
        }
        CmdError::custom(crate::error::msg::BAD_DATA_FORMAT)
    })
}

/// RESTORE's IDLETIME / FREQ (objectSetLRUOrLFU): FREQ under an LFU
/// policy, IDLETIME otherwise.
fn set_idletime_or_freq(ctx: &mut Ctx, key: &[u8], idletime: Option<i64>, freq: Option<i64>) {
    let lfu = ctx
        .srv
        .config
        .lfu_policy
        .load(std::sync::atomic::Ordering::Relaxed);
    let now_s = ctx.now_s;
    let Some(e) = ctx.peek(key) else {
        return;
    };
    match (lfu, freq, idletime) {
        (true, Some(f), _) => {
            e.freq = f.clamp(0, 255) as u8;
            e.freq_minute = crate::keyspace::lfu::minutes(now_s);
        }
        (false, _, Some(idle)) => {
            e.touched = (now_s as i64 - idle).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
        }
        _ => {}
    }
}

fn restore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let mut replace = false;
    let mut absttl = false;
    let (mut idletime, mut freq) = (None, None);
    let mut i = 4;
    while i < a.len() {
        if eq(&a[i], "replace") {
            replace = true;
        } else if eq(&a[i], "absttl") {
            absttl = true;
        } else if (eq(&a[i], "idletime") || eq(&a[i], "freq")) && i + 1 < a.len() {
            let n = int(&a[i + 1])?;
            if n < 0 || (eq(&a[i], "freq") && n > 255) {
                return Err(CmdError::custom(if eq(&a[i], "idletime") {
                    crate::error::msg::INVALID_IDLETIME_VALUE_MUST_BE_0
                } else {
                    crate::error::msg::INVALID_FREQ_VALUE_MUST_BE_0
                }));
            }
            if eq(&a[i], "idletime") {
                idletime = Some(n);
            } else {
                freq = Some(n);
            }
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let ttl = int(&a[2])?;
    if ttl < 0 {
        return Err(CmdError::custom(
            crate::error::msg::INVALID_TTL_VALUE_MUST_BE_0,
        ));
    }
    if !replace && ctx.exists(key) {
        return Err(CmdError::custom(
            crate::error::msg::BUSYKEY_TARGET_KEY_NAME_ALREADY_EXISTS,
        ));
    }
    let skip_crc = ctx
        .srv
        .persist
        .skip_checksum_validation
        .load(std::sync::atomic::Ordering::Relaxed);
    let mut value = restored_value_with(&a[3], ctx.srv.config.hash_limits(), skip_crc)?;
    if let Value::Set(s) = &mut value {
        // Redis converts an intset past `set-max-intset-entries` on load.
        let limit = ctx
            .srv
            .config
            .set_max_intset_entries
            .load(std::sync::atomic::Ordering::Relaxed);
        if s.len() > limit.min(1 << 30) {
            s.convert();
        }
    }
    let value = match value {
        // The encoding follows this server's limits, as Redis's RDB loading does.
        Value::Zset(z) => Value::Zset(crate::family::zset::reencode(ctx, &z)),
        Value::Hash(h) => Value::Hash(std::sync::Arc::new(Hash::from_pairs(
            h.iter(),
            ctx.srv.config.hash_limits(),
        ))),
        v => v,
    };
    let at = if ttl == 0 {
        0
    } else if absttl {
        ttl as u64
    } else {
        ctx.now_ms.saturating_add(ttl as u64)
    };
    if at != 0 && at <= ctx.now_ms {
        // Already expired: Redis deletes the target and reports OK.
        if ctx.delete(key) {
            ctx.notify(notify::GENERIC, "del", key);
        }
        return Ok(Reply::Ok);
    }
    let ready = matches!(value, Value::List(_) | Value::Stream(_) | Value::Zset(_));
    ctx.delete(key);
    ctx.set_value(key, value, false);
    if at != 0 {
        ctx.set_expire(key, at);
    }
    set_idletime_or_freq(ctx, key, idletime, freq);
    ctx.notify(notify::GENERIC, "restore", key);
    if ready {
        ctx.signal_ready(key);
    }
    Ok(Reply::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_set_members_or_hash_fields_are_bad_data() {
        let blob = |out: &mut Vec<u8>, b: &[u8]| {
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        };
        let mut set = vec![T_SET];
        set.extend_from_slice(&2u64.to_le_bytes());
        blob(&mut set, b"a");
        blob(&mut set, b"a");
        let mut hash = vec![T_HASH];
        hash.extend_from_slice(&2u64.to_le_bytes());
        for _ in 0..2 {
            blob(&mut hash, b"f");
            blob(&mut hash, b"v");
        }
        for mut body in [set, hash] {
            body.extend_from_slice(&VERSION.to_le_bytes());
            let [sealed, _] = seal_for_fuzzing(&body);
            let err = deserialize(&sealed, HashLimits::default()).unwrap_err();
            assert_eq!(err.to_string(), crate::error::msg::BAD_DATA_FORMAT);
        }
    }

    #[test]
    fn roundtrip_and_rejects_corruption() {
        let l = List::from_slices([&b"a"[..], &b"bb"[..], &[0u8; 70000][..]]);
        let payload = serialize(&Value::List(std::sync::Arc::new(l)));
        let Value::List(back) = deserialize(&payload, HashLimits::default()).unwrap() else {
            panic!()
        };
        assert_eq!(back.len(), 3);
        let mut bad = payload.to_vec();
        bad[3] ^= 1;
        assert!(deserialize(&bad, HashLimits::default()).is_err());
        assert!(deserialize(b"short", HashLimits::default()).is_err());
    }

    #[test]
    fn hash_roundtrip_converts_by_limits() {
        let mut h = Hash::new();
        for i in 0..10 {
            h.set(format!("f{i}").as_bytes(), b"v", HashLimits::default());
        }
        let payload = serialize(&Value::Hash(std::sync::Arc::new(h)));
        let Value::Hash(back) = deserialize(&payload, HashLimits::default()).unwrap() else {
            panic!()
        };
        assert_eq!((back.len(), back.encoding_name()), (10, "listpack"));
        let small = HashLimits {
            max_entries: 2,
            max_value: 64,
        };
        let Value::Hash(back) = deserialize(&payload, small).unwrap() else {
            panic!()
        };
        assert_eq!((back.len(), back.encoding_name()), (10, "hashtable"));
        assert_eq!(back.get(b"f3"), Some(&b"v"[..]));
    }

    #[test]
    fn stream_roundtrip_with_groups() {
        let mut st = Stream::new();
        let f = [Bytes::from_static(b"f"), Bytes::from_static(b"v")];
        for ms in 1..=250 {
            st.append(StreamId::new(ms, 0), &f, 100, 4096);
        }
        st.delete(StreamId::new(7, 0));
        let mut g = Group::new(StreamId::new(3, 0), 3);
        g.consumers
            .insert(Bytes::from_static(b"alice"), Consumer::default());
        g.assign(StreamId::new(2, 0), &Bytes::from_static(b"alice"), 42)
            .delivery_count = 5;
        st.groups.insert(Bytes::from_static(b"g"), g);
        let payload = serialize(&Value::Stream(std::sync::Arc::new(st)));
        let Value::Stream(back) = deserialize(&payload, HashLimits::default()).unwrap() else {
            panic!("not a stream")
        };
        assert_eq!(back.len(), 249);
        assert_eq!(back.max_deleted_id, StreamId::new(7, 0));
        assert_eq!(back.entries_added, 250);
        assert_eq!(back.last_id, StreamId::new(250, 0));
        let g = &back.groups[&Bytes::from_static(b"g")];
        assert_eq!(g.entries_read, 3);
        let nack = &g.pel[&StreamId::new(2, 0)];
        assert_eq!((nack.delivery_time, nack.delivery_count), (42, 5));
        assert!(g.consumers[&Bytes::from_static(b"alice")]
            .pel
            .contains(&StreamId::new(2, 0)));
        // Truncated bodies are refused, never half-read.
        let body_len = payload.len() - 10;
        let mut cut = payload[..body_len - 3].to_vec();
        cut.extend_from_slice(&VERSION.to_le_bytes());
        let sum = checksum(&cut);
        cut.extend_from_slice(&sum.to_le_bytes());
        assert!(deserialize(&cut, HashLimits::default()).is_err());
    }
}
