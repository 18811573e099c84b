//! Bitmaps beyond SETBIT / GETBIT (those are with the strings): BITCOUNT,
//! BITPOS, BITOP, BITFIELD, BITFIELD_RO, ported from Redis 7.0's bitops.c
//! so ranges, overflow and errors come out the same.

use bytes::Bytes;

use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{msg, CmdError, CmdResult};
use crate::keyspace::Value;
use crate::notify;
use crate::reply::Reply;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("bitcount", -2, READONLY, Keys::Range(1, 1, 1), bitcount).doc(
        "bitmap",
        "2.6.0",
        "Counts the number of set bits (population counting) in a string.",
    ),
    CommandSpec::new("bitpos", -3, READONLY, Keys::Range(1, 1, 1), bitpos).doc(
        "bitmap",
        "2.8.7",
        "Finds the first set (1) or clear (0) bit in a string.",
    ),
    CommandSpec::new("bitop", -4, WRITE | DENYOOM, Keys::Range(2, -1, 1), bitop).doc(
        "bitmap",
        "2.6.0",
        "Performs bitwise operations on multiple strings, and stores the result.",
    ),
    CommandSpec::new(
        "bitfield",
        -2,
        WRITE | DENYOOM,
        Keys::Range(1, 1, 1),
        bitfield,
    )
    .doc(
        "bitmap",
        "3.2.0",
        "Performs arbitrary bitfield integer operations on strings.",
    ),
    CommandSpec::new(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        Keys::Range(1, 1, 1),
        bitfield_ro,
    )
    .doc(
        "bitmap",
        "6.0.0",
        "Performs arbitrary read-only bitfield integer operations on strings.",
    ),
];

/// The string at `key` for reading: `None` if absent, WRONGTYPE otherwise.
fn read_string(ctx: &mut Ctx, key: &[u8]) -> CmdResult<Option<Bytes>> {
    super::string::get_string(ctx, key)
}

/// BYTE or BIT after a range.
fn unit_is_bit(arg: &[u8]) -> CmdResult<bool> {
    if eq(arg, "bit") {
        Ok(true)
    } else if eq(arg, "byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// A range clamped as Redis clamps it: byte indexes, plus the masks of the
/// bits outside a BIT range in its first and last bytes.
struct Span {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

fn clamp(len: i64, mut start: i64, mut end: i64, bits: bool) -> Span {
    let total = if bits { len << 3 } else { len };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if bits && start <= end {
        first_mask = !((1u16 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Span {
        start,
        end,
        first_mask,
        last_mask,
    }
}

fn popcount(b: &[u8]) -> i64 {
    b.iter().map(|x| x.count_ones() as i64).sum()
}

fn bitcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let Some(s) = read_string(ctx, &a[1])? else {
        return Ok(Reply::Int(0));
    };
    let len = s.len() as i64;
    let span = match a.len() {
        2 => Span {
            start: 0,
            end: len - 1,
            first_mask: 0,
            last_mask: 0,
        },
        4 | 5 => {
            let (start, end) = (int(&a[2])?, int(&a[3])?);
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Int(0));
            }
            let bits = match a.get(4) {
                Some(u) => unit_is_bit(u)?,
                None => false,
            };
            clamp(len, start, end, bits)
        }
        _ => return Err(CmdError::Syntax),
    };
    if span.start > span.end {
        return Ok(Reply::Int(0));
    }
    let (start, end) = (span.start as usize, span.end as usize);
    let mut count = popcount(&s[start..=end]);
    count -= (s[start] & span.first_mask).count_ones() as i64;
    if span.last_mask != 0 {
        count -= (s[end] & span.last_mask).count_ones() as i64;
    }
    Ok(Reply::Int(count))
}

/// Redis's redisBitpos: the first `bit` in `b`, as a bit index; for a 0
/// not found, the index just past the end (the string is zero-padded);
/// for a 1 not found, -1.
fn first_bit(b: &[u8], bit: bool) -> i64 {
    for (i, &byte) in b.iter().enumerate() {
        let x = if bit { byte } else { !byte };
        if x != 0 {
            return (i as i64) * 8 + x.leading_zeros() as i64;
        }
    }
    if bit {
        -1
    } else {
        (b.len() as i64) * 8
    }
}

fn bitpos(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let bit = match int(&a[2])? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::custom(msg::BITPOS_BIT_ARGUMENT)),
    };
    let Some(s) = read_string(ctx, &a[1])? else {
        return Ok(Reply::Int(if bit { -1 } else { 0 }));
    };
    let len = s.len() as i64;
    let mut end_given = false;
    let span = match a.len() {
        3 => Span {
            start: 0,
            end: len - 1,
            first_mask: 0,
            last_mask: 0,
        },
        4..=6 => {
            let start = int(&a[3])?;
            let bits = match a.get(5) {
                Some(u) => unit_is_bit(u)?,
                None => false,
            };
            let end = match a.get(4) {
                Some(e) => {
                    end_given = true;
                    int(e)?
                }
                None if bits => (len << 3) + 7,
                None => len - 1,
            };
            clamp(len, start, end, bits)
        }
        _ => return Err(CmdError::Syntax),
    };
    if span.start > span.end {
        return Ok(Reply::Int(-1));
    }
    let (mut start, end) = (span.start as usize, span.end as usize);
    let mut bytes = end - start + 1;
    let (first_mask, last_mask) = (span.first_mask, span.last_mask);
    // The masked first and last bytes stand for bits outside the range:
    // forced to the value not searched for.
    let masked = |byte: u8, mask: u8| if bit { byte & !mask } else { byte | mask };
    let pos = 'found: {
        if first_mask != 0 {
            let mut c = masked(s[start], first_mask);
            if last_mask != 0 && bytes == 1 {
                c = masked(c, last_mask);
            }
            let pos = first_bit(&[c], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            start += 1;
            bytes -= 1;
        }
        let whole = bytes - usize::from(last_mask != 0);
        if whole > 0 {
            let pos = first_bit(&s[start..start + whole], bit);
            if bytes == whole || (pos != -1 && pos != (whole as i64) << 3) {
                break 'found pos;
            }
            start += whole;
            bytes -= whole;
        }
        first_bit(&[masked(s[end], last_mask)], bit)
    };
    if end_given && !bit && pos == (bytes as i64) << 3 {
        return Ok(Reply::Int(-1));
    }
    Ok(Reply::Int(if pos == -1 {
        -1
    } else {
        pos + ((start as i64) << 3)
    }))
}

fn bitop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    #[derive(Clone, Copy, PartialEq)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = match a[1].to_ascii_lowercase().as_slice() {
        b"and" => Op::And,
        b"or" => Op::Or,
        b"xor" => Op::Xor,
        b"not" => Op::Not,
        _ => return Err(CmdError::Syntax),
    };
    if op == Op::Not && a.len() != 4 {
        return Err(CmdError::custom(msg::BITOP_NOT_ONE_KEY));
    }
    let mut sources = Vec::with_capacity(a.len() - 3);
    for key in &a[3..] {
        sources.push(read_string(ctx, key)?.unwrap_or_default());
    }
    let maxlen = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    let dest = &a[2];
    if maxlen == 0 {
        if ctx.delete(dest) {
            ctx.notify(notify::GENERIC, "del", dest);
        }
        return Ok(Reply::Int(0));
    }
    let byte = |s: &Bytes, j: usize| s.get(j).copied().unwrap_or(0);
    let mut out = vec![0u8; maxlen];
    for (j, slot) in out.iter_mut().enumerate() {
        let mut v = byte(&sources[0], j);
        if op == Op::Not {
            v = !v;
        }
        for s in &sources[1..] {
            let b = byte(s, j);
            match op {
                Op::And => v &= b,
                Op::Or => v |= b,
                Op::Xor => v ^= b,
                Op::Not => {}
            }
        }
        *slot = v;
    }
    ctx.set_value(dest, Value::Str(Bytes::from(out)), false);
    ctx.notify(notify::STRING, "set", dest);
    Ok(Reply::Int(maxlen as i64))
}

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

struct Field {
    op: FieldOp,
    offset: u64,
    value: i64,
    overflow: Overflow,
    bits: u32,
    signed: bool,
}

/// `i8`… `i64`, `u1`… `u63`.
fn field_type(arg: &[u8]) -> CmdResult<(bool, u32)> {
    let err = || CmdError::custom(msg::BITFIELD_TYPE);
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    let bits = crate::conn::protocol::parse_i64(&arg[1..]).ok_or_else(err)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return Err(err());
    }
    Ok((signed, bits as u32))
}

/// A bit offset, `#n` meaning n times the field width (getBitOffsetFromArgument).
fn field_offset(ctx: &Ctx, arg: &[u8], bits: u32) -> CmdResult<u64> {
    let err = || CmdError::custom(msg::BIT_OFFSET_IS_NOT_AN_INTEGER);
    let (hash, digits) = match arg.first() {
        Some(b'#') => (true, &arg[1..]),
        _ => (false, arg),
    };
    let mut n = crate::conn::protocol::parse_i64(digits).ok_or_else(err)?;
    if hash {
        n = n.checked_mul(bits as i64).ok_or_else(err)?;
    }
    let max = ctx
        .srv
        .config
        .proto_max_bulk_len
        .load(std::sync::atomic::Ordering::Relaxed) as i64;
    if n < 0 || (!ctx.client.repl.is_master && (n >> 3) >= max) {
        return Err(err());
    }
    Ok(n as u64)
}

fn parse_fields(ctx: &Ctx, a: &[Bytes]) -> CmdResult<Vec<Field>> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < a.len() {
        let rest = a.len() - j - 1;
        let op = if eq(&a[j], "get") && rest >= 2 {
            FieldOp::Get
        } else if eq(&a[j], "set") && rest >= 3 {
            FieldOp::Set
        } else if eq(&a[j], "incrby") && rest >= 3 {
            FieldOp::IncrBy
        } else if eq(&a[j], "overflow") && rest >= 1 {
            overflow = match a[j + 1].to_ascii_lowercase().as_slice() {
                b"wrap" => Overflow::Wrap,
                b"sat" => Overflow::Sat,
                b"fail" => Overflow::Fail,
                _ => return Err(CmdError::custom(msg::BITFIELD_OVERFLOW_TYPE)),
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = field_type(&a[j + 1])?;
        let offset = field_offset(ctx, &a[j + 2], bits)?;
        let value = if op == FieldOp::Get {
            0
        } else {
            int(&a[j + 3])?
        };
        fields.push(Field {
            op,
            offset,
            value,
            overflow,
            bits,
            signed,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(fields)
}

fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for j in 0..bits as u64 {
        let o = offset + j;
        let byte = p.get((o >> 3) as usize).copied().unwrap_or(0);
        value = (value << 1) | ((byte >> (7 - (o & 7))) & 1) as u64;
    }
    value
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut v = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && v & (1i64 << (bits - 1)) != 0 {
        v |= -1i64 << bits;
    }
    v
}

fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits as u64 {
        let bitval = (value >> (bits as u64 - 1 - j)) & 1;
        let o = offset + j;
        let byte = (o >> 3) as usize;
        let shift = 7 - (o & 7);
        p[byte] = (p[byte] & !(1 << shift)) | ((bitval as u8) << shift);
    }
}

/// Redis's checkUnsignedBitfieldOverflow: whether `value + incr` leaves a
/// `bits`-wide unsigned field, and the value WRAP / SAT give then.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max: u64 = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX << bits);
    if value > max || (incr > 0 && incr > maxincr) {
        return Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        });
    }
    if incr < 0 && incr < minincr {
        return Some(match ow {
            Overflow::Wrap => wrap(),
            _ => 0,
        });
    }
    None
}

/// Redis's checkSignedBitfieldOverflow.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            let msb = 1u64 << (bits - 1);
            (if c & msb != 0 { c | mask } else { c & !mask }) as i64
        } else {
            c as i64
        }
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        return Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        });
    }
    if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        return Some(match ow {
            Overflow::Wrap => wrap(),
            _ => min,
        });
    }
    None
}

/// One SET / INCRBY on the field: its reply and whether the bytes changed.
fn write_field(p: &mut [u8], f: &Field) -> (Reply, bool) {
    let incr = f.op == FieldOp::IncrBy;
    if f.signed {
        let old = get_signed(p, f.offset, f.bits);
        let (over, new) = if incr {
            let o = signed_overflow(old, f.value, f.bits, f.overflow);
            (o.is_some(), o.unwrap_or(old.wrapping_add(f.value)))
        } else {
            let o = signed_overflow(f.value, 0, f.bits, f.overflow);
            (o.is_some(), o.unwrap_or(f.value))
        };
        if over && f.overflow == Overflow::Fail {
            return (Reply::Nil, false);
        }
        set_unsigned(p, f.offset, f.bits, new as u64);
        (Reply::Int(if incr { new } else { old }), old != new)
    } else {
        let old = get_unsigned(p, f.offset, f.bits);
        let (over, new) = if incr {
            let o = unsigned_overflow(old, f.value, f.bits, f.overflow);
            (o.is_some(), o.unwrap_or(old.wrapping_add(f.value as u64)))
        } else {
            let o = unsigned_overflow(f.value as u64, 0, f.bits, f.overflow);
            (o.is_some(), o.unwrap_or(f.value as u64))
        };
        if over && f.overflow == Overflow::Fail {
            return (Reply::Nil, false);
        }
        set_unsigned(p, f.offset, f.bits, new);
        (
            Reply::Int(if incr { new as i64 } else { old as i64 }),
            old != new,
        )
    }
}

fn read_field(p: &[u8], f: &Field) -> Reply {
    if f.signed {
        Reply::Int(get_signed(p, f.offset, f.bits))
    } else {
        Reply::Int(get_unsigned(p, f.offset, f.bits) as i64)
    }
}

fn bitfield_generic(ctx: &mut Ctx, a: &[Bytes], read_only_command: bool) -> CmdResult<Reply> {
    let fields = parse_fields(ctx, a)?;
    let key = &a[1];
    let writes = fields.iter().any(|f| f.op != FieldOp::Get);
    if !writes {
        let s = read_string(ctx, key)?.unwrap_or_default();
        return Ok(Reply::Array(
            fields.iter().map(|f| read_field(&s, f)).collect(),
        ));
    }
    if read_only_command {
        return Err(CmdError::custom(msg::BITFIELD_RO_GET_ONLY));
    }
    let highest = fields
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + f.bits as u64 - 1)
        .max()
        .unwrap_or(0);
    let need = (highest >> 3) as usize + 1;
    let ((replies, changes), existed) = ctx.mutate_string_counted(key, |buf, _| {
        // Growing the string counts as a change, as in Redis.
        let grew = buf.len() < need;
        if grew {
            buf.resize(need, 0);
        }
        let mut changes = 0u64;
        let mut replies = Vec::with_capacity(fields.len());
        for f in &fields {
            if f.op == FieldOp::Get {
                replies.push(read_field(buf, f));
                continue;
            }
            let (reply, changed) = write_field(buf, f);
            if grew || changed {
                changes += 1;
            }
            replies.push(reply);
        }
        Ok(((replies, changes), changes))
    })?;
    if !existed {
        ctx.notify(notify::NEW, "new", key);
    }
    if !existed || changes > 0 {
        ctx.notify(notify::STRING, "setbit", key);
    }
    Ok(Reply::Array(replies))
}

fn bitfield(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    bitfield_generic(ctx, a, false)
}

fn bitfield_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    bitfield_generic(ctx, a, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_and_write_as_redis_packs_them() {
        let mut p = vec![0u8; 4];
        set_unsigned(&mut p, 3, 5, 0b10110);
        assert_eq!(p[0], 0b0001_0110);
        assert_eq!(get_unsigned(&p, 3, 5), 0b10110);
        set_unsigned(&mut p, 8, 8, 0xff);
        assert_eq!(get_signed(&p, 8, 8), -1);
        assert_eq!(get_signed(&p, 8, 4), -1);
    }

    #[test]
    fn overflow_wraps_saturates_or_fails() {
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_overflow(5, 10, 8, Overflow::Wrap), None);
        assert_eq!(signed_overflow(120, 10, 8, Overflow::Wrap), Some(-126));
        assert_eq!(signed_overflow(120, 10, 8, Overflow::Sat), Some(127));
        assert_eq!(signed_overflow(-120, -10, 8, Overflow::Sat), Some(-128));
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            Some(i64::MIN)
        );
    }

    #[test]
    fn first_bit_is_redis_s_bitpos() {
        assert_eq!(first_bit(&[0x00, 0x10], true), 11);
        assert_eq!(first_bit(&[0xff, 0xff], false), 16);
        assert_eq!(first_bit(&[0x00], true), -1);
        assert_eq!(first_bit(&[0xf0], false), 4);
    }
}
