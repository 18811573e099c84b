//! Redis's compact blobs as RDB files and DUMP payloads carry them —
//! listpack, ziplist, zipmap, intset — validated as Redis's deep integrity
//! checks do (`lpValidateIntegrity`, `ziplistValidateIntegrity`,
//! `zipmapValidateIntegrity`, `intsetValidateIntegrity`) and decoded in the
//! same pass. Redis runs the deep checks only with `sanitize-dump-payload yes`
//! (or always, for ziplists and zipmaps, which it converts on load); we always
//! run them, since every value is rebuilt into our own structures and a blob
//! that fails them cannot be. Every offset is computed in `u64` and checked
//! against the blob before it is read: no length from the input can index
//! past it or size an allocation.

use bytes::Bytes;

/// One decoded element of a listpack or ziplist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    /// The element as an integer: an integer encoding, or a string that
    /// parses as one (Redis's `lpGetIntegerIfValid`).
    pub fn int(&self) -> Option<i64> {
        match self {
            Elem::Int(n) => Some(*n),
            Elem::Str(s) => std::str::from_utf8(s).ok()?.parse().ok(),
        }
    }

    pub fn bytes(&self) -> Bytes {
        match self {
            Elem::Int(n) => Bytes::from(n.to_string()),
            Elem::Str(s) => Bytes::copy_from_slice(s),
        }
    }
}

/// `w` little-endian bytes at `at`, sign-extended.
fn le_int(b: &[u8], at: usize, w: usize) -> Option<i64> {
    let s = b.get(at..at.checked_add(w)?)?;
    let mut a = [0u8; 8];
    a[..w].copy_from_slice(s);
    let shift = 64 - 8 * w as u32;
    Some((i64::from_le_bytes(a) << shift) >> shift)
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

// ---------------------------------------------------------------- listpack

const LP_HDR: usize = 6;
const LP_EOF: u8 = 0xFF;

/// Bytes of a back-length for an entry of `l` bytes (lpEncodeBacklen).
fn lp_backlen_size(l: u64) -> u64 {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The back-length ending at `last` (lpDecodeBacklen: read right to left,
/// 7 bits a byte, at most 5 bytes).
fn lp_decode_backlen(lp: &[u8], last: usize) -> Option<u64> {
    let mut val = 0u64;
    let mut shift = 0;
    let mut i = last;
    loop {
        let b = *lp.get(i)?;
        val |= ((b & 127) as u64) << shift;
        if b & 128 == 0 {
            return Some(val);
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
        i = i.checked_sub(1)?;
    }
}

/// The listpack entry at `p`: its element and its encoded size (header and
/// data, without the back-length), or None for an invalid encoding or one
/// reaching past the terminator (lpValidateNext's OUT_OF_RANGE).
fn lp_entry(lp: &[u8], p: usize) -> Option<(Elem<'_>, u64)> {
    let last = lp.len() as u64 - 1;
    let b = lp[p];
    // The header bytes that give the size must lie before the terminator.
    let lenbytes: u64 = match b {
        _ if b & 0xF0 == 0xE0 => 2,
        0xF0 => 5,
        _ if b & 0x80 == 0 || b & 0xC0 == 0x80 || b & 0xE0 == 0xC0 => 1,
        0xF1..=0xF4 => 1,
        _ => return None,
    };
    if p as u64 + lenbytes > last {
        return None;
    }
    let (size, data_at): (u64, usize) = if b & 0x80 == 0 {
        return Some((Elem::Int((b & 0x7f) as i64), 1));
    } else if b & 0xC0 == 0x80 {
        (1 + (b & 0x3f) as u64, p + 1)
    } else if b & 0xE0 == 0xC0 {
        let raw = (((b & 0x1f) as u16) << 8) | lp[p + 1] as u16;
        // 13-bit two's complement.
        return Some((Elem::Int((((raw << 3) as i16) >> 3) as i64), 2));
    } else if b & 0xF0 == 0xE0 {
        (2 + ((((b & 0x0f) as u64) << 8) | lp[p + 1] as u64), p + 2)
    } else if b == 0xF0 {
        (5 + u32_le(lp, p + 1)? as u64, p + 5)
    } else {
        let w = match b {
            0xF1 => 2,
            0xF2 => 3,
            0xF3 => 4,
            _ => 8,
        };
        if p as u64 + 1 + w as u64 > last {
            return None;
        }
        return Some((Elem::Int(le_int(lp, p + 1, w)?), 1 + w as u64));
    };
    if p as u64 + size > last {
        return None;
    }
    Some((Elem::Str(&lp[data_at..p + size as usize]), size))
}

/// A listpack's elements after lpValidateIntegrity's deep checks: the
/// header's total size is the blob's, the terminator closes it, every entry
/// has a valid encoding, lies inside the blob and ends with a back-length
/// matching its size, and the header's count (unless saturated) is right.
pub fn listpack(lp: &[u8]) -> Option<Vec<Elem<'_>>> {
    if lp.len() < LP_HDR + 1 || u32_le(lp, 0)? as usize != lp.len() || lp[lp.len() - 1] != LP_EOF {
        return None;
    }
    let declared = u16::from_le_bytes([lp[4], lp[5]]);
    let mut out = Vec::new();
    let mut p = LP_HDR;
    while lp[p] != LP_EOF {
        let (elem, size) = lp_entry(lp, p)?;
        let backlen = lp_backlen_size(size);
        let end = p as u64 + size + backlen;
        if end > lp.len() as u64 - 1 {
            return None;
        }
        let end = end as usize;
        if lp_decode_backlen(lp, end - 1)? != size {
            return None;
        }
        out.push(elem);
        p = end;
    }
    if p != lp.len() - 1 || (declared != u16::MAX && declared as usize != out.len()) {
        return None;
    }
    Some(out)
}

// ---------------------------------------------------------------- ziplist

const ZL_HDR: usize = 10;
const ZL_END: u8 = 0xFF;
const ZIP_BIG_PREVLEN: u8 = 254;

/// One ziplist entry as zipEntrySafe decodes it.
struct ZlEntry<'a> {
    prevlen: u64,
    /// Header (prevlen and encoding) plus data.
    size: u64,
    elem: Elem<'a>,
}

/// The entry at `p`, or None where zipEntrySafe (with prevlen validation)
/// fails: an invalid encoding, a header or data reaching past the last
/// byte before the terminator, a prevlen pointing before the first entry.
fn zl_entry(zl: &[u8], p: usize) -> Option<ZlEntry<'_>> {
    let last = zl.len() as u64 - 1;
    let prevlensize: u64 = if zl[p] < ZIP_BIG_PREVLEN { 1 } else { 5 };
    if p as u64 + prevlensize > last {
        return None;
    }
    let enc_at = p + prevlensize as usize;
    let b = zl[enc_at];
    let lensize: u64 = match b >> 6 {
        0 => 1,
        1 => 2,
        2 => 5,
        _ => match b {
            0xC0 | 0xD0 | 0xE0 | 0xF0 | 0xFE | 0xF1..=0xFD => 1,
            _ => return None,
        },
    };
    if enc_at as u64 + lensize > last {
        return None;
    }
    let prevlen = if prevlensize == 1 {
        zl[p] as u64
    } else {
        u32_le(zl, p + 1)? as u64
    };
    let data_at = enc_at + lensize as usize;
    let (len, int_width): (u64, usize) = match b >> 6 {
        0 => ((b & 0x3f) as u64, 0),
        1 => (((((b & 0x3f) as u64) << 8) | zl[enc_at + 1] as u64), 0),
        2 => (
            u32::from_be_bytes(zl.get(enc_at + 1..enc_at + 5)?.try_into().ok()?) as u64,
            0,
        ),
        _ => match b {
            0xFE => (1, 1),
            0xC0 => (2, 2),
            0xF0 => (3, 3),
            0xD0 => (4, 4),
            0xE0 => (8, 8),
            _ => (0, 0),
        },
    };
    let header = prevlensize + lensize;
    if p as u64 + header + len > last || prevlen > (p - ZL_HDR) as u64 {
        return None;
    }
    let elem = if b >> 6 != 3 {
        Elem::Str(&zl[data_at..data_at + len as usize])
    } else if int_width == 0 {
        // 4-bit immediate: 0001..1101 stand for 0..12.
        Elem::Int((b & 0x0f) as i64 - 1)
    } else {
        Elem::Int(le_int(zl, data_at, int_width)?)
    };
    Some(ZlEntry {
        prevlen,
        size: header + len,
        elem,
    })
}

/// A ziplist's elements after ziplistValidateIntegrity's deep checks: the
/// header's size is the blob's, the terminator closes it, the tail offset
/// lies inside and points at the last entry, every entry is well formed and
/// records its predecessor's size, and the count (unless saturated) is right.
pub fn ziplist(zl: &[u8]) -> Option<Vec<Elem<'_>>> {
    if zl.len() < ZL_HDR + 1 || u32_le(zl, 0)? as usize != zl.len() || zl[zl.len() - 1] != ZL_END {
        return None;
    }
    let tail = u32_le(zl, 4)? as usize;
    if tail > zl.len() - 1 {
        return None;
    }
    let declared = u16::from_le_bytes([zl[8], zl[9]]);
    let mut out = Vec::new();
    let mut p = ZL_HDR;
    let mut prev: Option<usize> = None;
    let mut prev_size = 0u64;
    while zl[p] != ZL_END {
        let e = zl_entry(zl, p)?;
        if e.prevlen != prev_size {
            return None;
        }
        out.push(e.elem);
        prev = Some(p);
        prev_size = e.size;
        // In range: zl_entry checked p + size against the last byte.
        p += e.size as usize;
    }
    if p != zl.len() - 1 || prev.is_some_and(|at| at != tail) {
        return None;
    }
    if declared != u16::MAX && declared as usize != out.len() {
        return None;
    }
    Some(out)
}

// ---------------------------------------------------------------- zipmap

const ZIPMAP_BIGLEN: u8 = 254;
const ZIPMAP_END: u8 = 0xFF;

/// A zipmap length at `p`: (length, bytes it took). A length below 254 in
/// the 5-byte form is refused (Redis's check since CVE-2026-25243).
fn zipmap_len(zm: &[u8], p: usize) -> Option<(u64, usize)> {
    let b = *zm.get(p)?;
    if b < ZIPMAP_BIGLEN {
        return Some((b as u64, 1));
    }
    let l = u32_le(zm, p + 1)? as u64;
    (l >= ZIPMAP_BIGLEN as u64).then_some((l, 5))
}

/// A zipmap's (field, value) pairs after zipmapValidateIntegrity: the
/// terminator closes it, every length and entry lies inside it, it is not
/// empty and its count (unless 254: unknown) is right. Values may be
/// followed by free bytes, skipped.
pub fn zipmap(zm: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if zm.len() < 2 || zm[zm.len() - 1] != ZIPMAP_END {
        return None;
    }
    // Every position read must lie in [2, len - 1] (OUT_OF_RANGE).
    let last = zm.len() as u64 - 1;
    let mut out = Vec::new();
    let mut p = 1usize;
    while zm[p] != ZIPMAP_END {
        let (flen, s) = zipmap_len(zm, p)?;
        let field_at = p as u64 + s as u64;
        let vlen_at = field_at + flen;
        if field_at > last || vlen_at > last {
            return None;
        }
        let (vlen, s) = zipmap_len(zm, vlen_at as usize)?;
        let free_at = vlen_at + s as u64;
        if free_at > last {
            return None;
        }
        let free = zm[free_at as usize] as u64;
        let value_at = free_at + 1;
        let next = value_at + vlen + free;
        if next > last {
            return None;
        }
        let field = &zm[field_at as usize..vlen_at as usize];
        let value = &zm[value_at as usize..(value_at + vlen) as usize];
        out.push((field, value));
        p = next as usize;
    }
    if out.is_empty() || (zm[0] != ZIPMAP_BIGLEN && zm[0] as usize != out.len()) {
        return None;
    }
    Some(out)
}

// ---------------------------------------------------------------- intset

/// An intset's members after intsetValidateIntegrity's deep checks: a
/// known width, a size matching the count, not empty, strictly ascending.
pub fn intset(is: &[u8]) -> Option<Vec<i64>> {
    let width = u32_le(is, 0)? as usize;
    let n = u32_le(is, 4)? as u64;
    if !matches!(width, 2 | 4 | 8) || n == 0 || 8 + n * width as u64 != is.len() as u64 {
        return None;
    }
    let mut out: Vec<i64> = Vec::with_capacity(n as usize);
    for c in is[8..].chunks_exact(width) {
        let v = le_int(c, 0, width)?;
        if out.last().is_some_and(|&prev| v <= prev) {
            return None;
        }
        out.push(v);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zl(entries: &[&[u8]], count: u16) -> Vec<u8> {
        // entries are raw (prevlen + encoding + data) bytes.
        let mut z = vec![0u8; ZL_HDR];
        let mut tail = ZL_HDR;
        for e in entries {
            tail = z.len();
            z.extend_from_slice(e);
        }
        z.push(ZL_END);
        let n = z.len() as u32;
        z[..4].copy_from_slice(&n.to_le_bytes());
        z[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
        z[8..10].copy_from_slice(&count.to_le_bytes());
        z
    }

    #[test]
    fn ziplist_checks_prevlen_tail_and_count() {
        let good = zl(&[b"\x00\x02ab", b"\x04\xF2"], 2);
        assert_eq!(
            ziplist(&good).expect("valid"),
            vec![Elem::Str(b"ab"), Elem::Int(1)]
        );
        // Wrong prevlen of the second entry (Redis's "small prev len").
        assert!(ziplist(&zl(&[b"\x00\x02ab", b"\x02\xF2"], 2)).is_none());
        // Wrong count.
        assert!(ziplist(&zl(&[b"\x00\x02ab", b"\x04\xF2"], 3)).is_none());
        // Wrong tail offset.
        let mut bad = good.clone();
        bad[4] = 10;
        assert!(ziplist(&bad).is_none());
        // zlbytes not the blob's size.
        let mut bad = good.clone();
        bad[0] += 1;
        assert!(ziplist(&bad).is_none());
        // An invalid encoding byte.
        assert!(ziplist(&zl(&[b"\x00\xC1"], 1)).is_none());
        // A string reaching past the end.
        assert!(ziplist(&zl(&[b"\x00\x14ab"], 1)).is_none());
        // Saturated count is not checked.
        assert!(ziplist(&zl(&[b"\x00\x02ab"], u16::MAX)).is_some());
    }

    #[test]
    fn listpack_checks_backlen_and_count() {
        // "a" (0x81 'a' backlen 2), 5 (0x05 backlen 1).
        let mut lp = vec![0u8; 6];
        lp.extend_from_slice(&[0x81, b'a', 2, 0x05, 1, 0xFF]);
        let n = lp.len() as u32;
        lp[..4].copy_from_slice(&n.to_le_bytes());
        lp[4..6].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(
            listpack(&lp).expect("valid"),
            vec![Elem::Str(b"a"), Elem::Int(5)]
        );
        let mut bad = lp.clone();
        bad[8] = 3; // back-length disagrees with the entry
        assert!(listpack(&bad).is_none());
        let mut bad = lp.clone();
        bad[4] = 3; // count
        assert!(listpack(&bad).is_none());
        let mut bad = lp.clone();
        bad[6] = 0xF5; // no such encoding
        assert!(listpack(&bad).is_none());
        let mut bad = lp;
        bad[6] = 0x89; // 9-byte string past the terminator
        assert!(listpack(&bad).is_none());
    }

    #[test]
    fn zipmap_and_intset() {
        let zm = b"\x01\x01k\x02\x01vvX\xFF";
        assert_eq!(zipmap(zm).expect("valid"), vec![(&b"k"[..], &b"vv"[..])]);
        // Empty, wrong count, 5-byte form of a small length.
        assert!(zipmap(b"\x00\xFF").is_none());
        assert!(zipmap(b"\x02\x01k\x02\x00vv\xFF").is_none());
        assert!(zipmap(b"\x01\xFE\x01\x00\x00\x00k\x01\x00v\xFF").is_none());
        let mut is = vec![2, 0, 0, 0, 2, 0, 0, 0];
        is.extend_from_slice(&(-2i16).to_le_bytes());
        is.extend_from_slice(&9i16.to_le_bytes());
        assert_eq!(intset(&is).expect("valid"), vec![-2, 9]);
        // Out of order, empty.
        is[8..10].copy_from_slice(&10i16.to_le_bytes());
        assert!(intset(&is).is_none());
        assert!(intset(&[2, 0, 0, 0, 0, 0, 0, 0]).is_none());
    }
}
