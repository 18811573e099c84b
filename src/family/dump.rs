//! DUMP and RESTORE.
//!
//! The payload is Cinnabar's own serialisation, framed like Redis's (body, a
//! two-byte format version, an eight-byte checksum) so RESTORE rejects
//! corrupted or foreign payloads with Redis's error. Redis RDB payloads are not
//! understood (and Redis rejects ours): DUMP/RESTORE round-trip between
//! Cinnabar servers only.

use std::collections::HashSet;

use bytes::{BufMut, Bytes, BytesMut};

use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;
use crate::types::list::List;

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
/// Sorted set: count, then (member blob, f64 score LE) pairs in order.
const T_ZSET: u8 = 3;

fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

fn put_blob(out: &mut BytesMut, b: &[u8]) {
    out.put_u64_le(b.len() as u64);
    out.put_slice(b);
}

fn serialize(value: &Value) -> Bytes {
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
                put_blob(&mut out, m);
            }
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

/// Checks the frame and decodes the body; lengths are bounded by the payload.
fn deserialize(payload: &[u8]) -> CmdResult<Value> {
    let bad_frame = || CmdError::custom("ERR DUMP payload version or checksum are wrong");
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
    let bad = || CmdError::custom("ERR Bad data format");
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
            Value::List(Box::new(l))
        }
        T_SET => {
            let n = r.u64().ok_or_else(bad)?;
            let mut s = HashSet::new();
            for _ in 0..n {
                s.insert(Bytes::copy_from_slice(r.blob().ok_or_else(bad)?));
            }
            if s.is_empty() {
                return Err(bad());
            }
            Value::Set(Box::new(s))
        }
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

fn dump(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(match ctx.lookup(&a[1]) {
        Some(e) => Reply::Bulk(serialize(&e.value)),
        None => Reply::Nil,
    })
}

fn restore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let mut replace = false;
    let mut absttl = false;
    let mut i = 4;
    while i < a.len() {
        if eq(&a[i], "replace") {
            replace = true;
        } else if eq(&a[i], "absttl") {
            absttl = true;
        } else if (eq(&a[i], "idletime") || eq(&a[i], "freq")) && i + 1 < a.len() {
            let n = int(&a[i + 1])?;
            if n < 0 {
                return Err(CmdError::custom(if eq(&a[i], "idletime") {
                    "ERR Invalid IDLETIME value, must be >= 0"
                } else {
                    "ERR Invalid FREQ value, must be >= 0 and <= 255"
                }));
            }
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let ttl = int(&a[2])?;
    if ttl < 0 {
        return Err(CmdError::custom("ERR Invalid TTL value, must be >= 0"));
    }
    if !replace && ctx.exists(key) {
        return Err(CmdError::custom("BUSYKEY Target key name already exists."));
    }
    let value = match deserialize(&a[3])? {
        // The encoding follows this server's limits, as Redis's RDB loading does.
        Value::Zset(z) => Value::Zset(crate::family::zset::reencode(ctx, &z)),
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
    let ready = matches!(value, Value::List(_) | Value::Zset(_));
    ctx.delete(key);
    ctx.set_value(key, value, false);
    if at != 0 {
        ctx.set_expire(key, at);
    }
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
    fn roundtrip_and_rejects_corruption() {
        let l = List::from_slices([&b"a"[..], &b"bb"[..], &[0u8; 70000][..]]);
        let payload = serialize(&Value::List(Box::new(l)));
        let Value::List(back) = deserialize(&payload).unwrap() else {
            panic!()
        };
        assert_eq!(back.len(), 3);
        let mut bad = payload.to_vec();
        bad[3] ^= 1;
        assert!(deserialize(&bad).is_err());
        assert!(deserialize(b"short").is_err());
    }
}
