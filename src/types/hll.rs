//! HyperLogLog in Redis's exact representation (hyperloglog.c): a string
//! starting with the 16-byte header `HYLL`, encoding, 3 unused bytes and
//! the cached cardinality (little-endian, top bit = stale), then 16,384
//! 6-bit registers, either dense (12,288 bytes) or sparse (ZERO / XZERO /
//! VAL run-length opcodes). The same bytes as Redis's, so PFCOUNT gives
//! the same estimates and the values move through DUMP, RDB and replicas
//! unchanged.

pub const HDR: usize = 16;
const P: u32 = 14;
const Q: u32 = 64 - P;
pub const REGISTERS: usize = 1 << P;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
pub const DENSE_SIZE: usize = HDR + (REGISTERS * BITS).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// A structurally invalid sparse value (Redis's "Corrupted HLL object").
#[derive(Debug, PartialEq, Eq)]
pub struct Corrupt;

/// Whether `s` is a HyperLogLog string (isHLLObjectOrReply's checks).
pub fn is_hll(s: &[u8]) -> bool {
    s.len() >= HDR
        && &s[..4] == b"HYLL"
        && s[4] <= SPARSE
        && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

/// An empty HLL: sparse, all registers zero (as XZERO runs).
pub fn new() -> Vec<u8> {
    let mut s = vec![0u8; HDR];
    s[..4].copy_from_slice(b"HYLL");
    s[4] = SPARSE;
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(XZERO_MAX_LEN);
        push_xzero(&mut s, run);
        left -= run;
    }
    s
}

fn push_xzero(s: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    s.push((l >> 8) as u8 | 0x40);
    s.push((l & 0xff) as u8);
}

fn val_op(value: u8, len: usize) -> u8 {
    ((value - 1) << 2) | (len as u8 - 1) | 0x80
}

fn zero_op(len: usize) -> u8 {
    (len - 1) as u8
}

/// One sparse opcode at `p`: (is zero run, register value, run length, size).
fn opcode(s: &[u8], p: usize) -> Option<(u8, usize, usize)> {
    let b = *s.get(p)?;
    Some(match b & 0xc0 {
        0x00 => (0, (b & 0x3f) as usize + 1, 1),
        0x40 => {
            let lo = *s.get(p + 1)? as usize;
            (0, ((((b & 0x3f) as usize) << 8) | lo) + 1, 2)
        }
        _ => (((b >> 2) & 0x1f) + 1, (b & 0x3) as usize + 1, 1),
    })
}

pub fn invalidate_cache(s: &mut [u8]) {
    s[15] |= 0x80;
}

pub fn cached(s: &[u8]) -> Option<u64> {
    if s[15] & 0x80 != 0 {
        return None;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&s[8..16]);
    Some(u64::from_le_bytes(b))
}

pub fn set_cache(s: &mut [u8], card: u64) {
    s[8..16].copy_from_slice(&card.to_le_bytes());
}

/// MurmurHash64A, as Redis's (seed 0xadc83b19 for HLL).
fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4a7935bd1e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let chunks = key.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element goes to and the run of zeros it counts (hllPatLen).
pub fn pattern(ele: &[u8]) -> (usize, u8) {
    let mut hash = murmur64a(ele, 0xadc83b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    hash >>= P;
    hash |= 1u64 << Q;
    (index, hash.trailing_zeros() as u8 + 1)
}

pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs[byte] as u16;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u16;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u16) as u8
}

fn dense_set(regs: &mut [u8], i: usize, v: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = v as u16;
    regs[byte] &= !((REGISTER_MAX as u16) << fb) as u8;
    regs[byte] |= (v << fb) as u8;
    if let Some(next) = regs.get_mut(byte + 1) {
        *next &= !((REGISTER_MAX as u16) >> (8 - fb)) as u8;
        *next |= (v >> (8 - fb)) as u8;
    }
}

/// Dense registers, from either encoding.
pub fn to_dense(s: &mut Vec<u8>) -> Result<(), Corrupt> {
    if s[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&s[..HDR]);
    dense[4] = DENSE;
    let mut idx = 0usize;
    let mut p = HDR;
    while p < s.len() {
        let (value, run, size) = opcode(s, p).ok_or(Corrupt)?;
        if value > 0 {
            if idx + run > REGISTERS {
                return Err(Corrupt);
            }
            for r in idx..idx + run {
                dense_set(&mut dense[HDR..], r, value);
            }
        }
        idx += run;
        p += size;
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *s = dense;
    Ok(())
}

/// Raises register `index` to `count` (Redis's hllSparseSet / hllDenseSet):
/// true if it changed. A sparse value past `sparse_max` bytes, or a count
/// the sparse form cannot hold, turns dense first.
pub fn set(s: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    if s[4] == DENSE {
        return Ok(dense_raise(&mut s[HDR..], index, count));
    }
    if count > VAL_MAX_VALUE {
        to_dense(s)?;
        return Ok(dense_raise(&mut s[HDR..], index, count));
    }
    // Find the opcode covering `index`.
    let (mut p, mut first, mut prev) = (HDR, 0usize, None);
    let (value, run, size) = loop {
        let Some((value, run, size)) = opcode(s, p) else {
            return Err(Corrupt);
        };
        if index < first + run {
            break (value, run, size);
        }
        prev = Some(p);
        p += size;
        first += run;
    };
    if value >= count && value > 0 {
        return Ok(false);
    }
    let last = first + run - 1;
    let mut seq: Vec<u8> = Vec::with_capacity(5);
    if value == 0 && run == 1 {
        s[p] = val_op(count, 1);
    } else {
        let push_run = |seq: &mut Vec<u8>, v: u8, len: usize| {
            if v > 0 {
                seq.push(val_op(v, len));
            } else if len > ZERO_MAX_LEN {
                let l = len - 1;
                seq.push((l >> 8) as u8 | 0x40);
                seq.push((l & 0xff) as u8);
            } else {
                seq.push(zero_op(len));
            }
        };
        if index != first {
            push_run(&mut seq, value, index - first);
        }
        seq.push(val_op(count, 1));
        if index != last {
            push_run(&mut seq, value, last - index);
        }
        if seq.len() > size && s.len() + seq.len() - size > sparse_max {
            to_dense(s)?;
            return Ok(dense_raise(&mut s[HDR..], index, count));
        }
        s.splice(p..p + size, seq);
    }
    merge_adjacent(s, prev.unwrap_or(HDR));
    invalidate_cache(s);
    Ok(true)
}

fn dense_raise(regs: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(regs, index) {
        dense_set(regs, index, count);
        true
    } else {
        false
    }
}

/// Joins neighbouring VAL opcodes of equal value, scanning up to 5 opcodes
/// from `p` (the end of hllSparseSet).
fn merge_adjacent(s: &mut Vec<u8>, mut p: usize) {
    let mut scan = 5;
    while p < s.len() && scan > 0 {
        scan -= 1;
        let b = s[p];
        if b & 0xc0 == 0x40 {
            p += 2;
            continue;
        }
        if b & 0xc0 == 0 {
            p += 1;
            continue;
        }
        if p + 1 < s.len() && s[p + 1] & 0x80 != 0 {
            let (v1, l1) = (((b >> 2) & 0x1f) + 1, (b & 3) as usize + 1);
            let n = s[p + 1];
            let (v2, l2) = (((n >> 2) & 0x1f) + 1, (n & 3) as usize + 1);
            if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                s[p + 1] = val_op(v1, l1 + l2);
                s.remove(p);
                continue;
            }
        }
        p += 1;
    }
}

/// Adds one element: true if a register changed.
pub fn add(s: &mut Vec<u8>, ele: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(ele);
    set(s, index, count, sparse_max)
}

/// Raises `max` (one byte per register) to `s`'s registers (hllMerge).
pub fn merge_into(max: &mut [u8], s: &[u8]) -> Result<(), Corrupt> {
    if s[4] == DENSE {
        for (i, m) in max.iter_mut().enumerate().take(REGISTERS) {
            *m = (*m).max(dense_get(&s[HDR..], i));
        }
        return Ok(());
    }
    let (mut p, mut i) = (HDR, 0usize);
    while p < s.len() {
        let (value, run, size) = opcode(s, p).ok_or(Corrupt)?;
        if value > 0 {
            if i + run > REGISTERS {
                return Err(Corrupt);
            }
            for m in &mut max[i..i + run] {
                *m = (*m).max(value);
            }
        }
        i += run;
        p += size;
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// The registers of `s`, one byte each.
pub fn registers(s: &[u8]) -> Result<Vec<u8>, Corrupt> {
    let mut r = vec![0u8; REGISTERS];
    merge_into(&mut r, s)?;
    Ok(r)
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// The estimate from one byte per register (hllCount's estimator, Ertl's).
pub fn count_registers(regs: &[u8]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in regs {
        histo[r as usize & 63] += 1;
    }
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

pub fn count(s: &[u8]) -> Result<u64, Corrupt> {
    Ok(count_registers(&registers(s)?))
}

/// PFDEBUG DECODE: the sparse opcodes as text.
pub fn decode(s: &[u8]) -> Result<String, Corrupt> {
    let mut out = Vec::new();
    let mut p = HDR;
    while p < s.len() {
        let (value, run, size) = opcode(s, p).ok_or(Corrupt)?;
        out.push(match (value, size) {
            (0, 1) => format!("z:{run}"),
            (0, _) => format!("Z:{run}"),
            _ => format!("v:{value},{run}"),
        });
        p += size;
    }
    Ok(out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_hll_is_redis_s_empty_sparse_value() {
        let s = new();
        assert_eq!(s.len(), HDR + 2);
        assert_eq!(&s[HDR..], &[0x7f, 0xff]);
        assert!(is_hll(&s));
        assert_eq!(count(&s), Ok(0));
        assert_eq!(decode(&s).as_deref(), Ok("Z:16384"));
    }

    #[test]
    fn murmur_matches_redis() {
        // redis-cli: PFADD h a; PFDEBUG DECODE h → "Z:5... v:2,1 ..." is
        // what Redis stores for "a"; the pattern below is its register.
        let (index, count) = pattern(b"a");
        assert!(index < REGISTERS);
        assert!((1..=51).contains(&count));
    }

    #[test]
    fn dense_and_sparse_agree_and_estimates_are_close() {
        let mut sparse = new();
        let mut dense = new();
        to_dense(&mut dense).expect("converts");
        for i in 0..5000u32 {
            let e = format!("ele:{i}");
            add(&mut sparse, e.as_bytes(), 1 << 20).expect("sparse add");
            add(&mut dense, e.as_bytes(), 1 << 20).expect("dense add");
        }
        assert_eq!(registers(&sparse), registers(&dense));
        let n = count(&dense).expect("count") as f64;
        assert!((n - 5000.0).abs() / 5000.0 < 0.03, "estimate {n}");
        // A small sparse_max forces the dense form.
        let mut small = new();
        for i in 0..200u32 {
            add(&mut small, format!("x{i}").as_bytes(), 100).expect("add");
        }
        assert_eq!(small[4], DENSE);
        assert_eq!(small.len(), DENSE_SIZE);
    }

    #[test]
    fn corrupt_sparse_values_are_errors() {
        let mut s = new();
        s.truncate(HDR + 1);
        assert_eq!(count(&s), Err(Corrupt));
        let mut t = new();
        t[HDR + 1] = 0x00; // runs no longer cover 16384 registers
        assert_eq!(count(&t), Err(Corrupt));
        assert_eq!(to_dense(&mut t), Err(Corrupt));
    }
}
