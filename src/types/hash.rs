//! The hash representation: a packed buffer while small, a hash table past the limits.
//!
//! API: `Hash::get / set / remove / len / iter / random / encoding_name`. The two
//! encodings mirror Redis's so OBJECT ENCODING and memory use match it:
//! - `Pack`: field-value pairs in insertion order in one buffer, each string as
//!   `[varint length][bytes]` (Redis's listpack idea: no per-field allocation
//!   or pointer). Lookups scan linearly, which is what makes it small, so it
//!   is only used up to `hash-max-listpack-entries` pairs with strings of at
//!   most `hash-max-listpack-value` bytes.
//! - `Table`: a `types::dict::Dict`, a chained table like Redis's dict where
//!   each field is ONE allocation (link, field and value): O(1) random picks
//!   and bucket-cursor SCAN as in Redis, less memory per field than Redis.
//!
//! As in Redis a hash only ever converts from `Pack` to `Table`, never back.

use super::dict::{self, Dict};

/// Conversion thresholds (`hash-max-listpack-entries`, `hash-max-listpack-value`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Redis 7.0's defaults.
        Limits {
            max_entries: 512,
            max_value: 64,
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Decodes the varint at `buf[pos..]`: (value, bytes used). Only ever called on
/// buffers this module wrote.
fn get_varint(buf: &[u8], pos: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = pos;
    while let Some(&b) = buf.get(i) {
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (n, i - pos)
}

/// Redis's `LISTPACK_MAX_SAFETY_SIZE`.
const PACK_SAFETY_LIMIT: usize = 1 << 30;

#[derive(Clone, Debug)]
pub enum Hash {
    /// Pairs in insertion order: `[varint][field][varint][value]…`; `len` pairs.
    Pack {
        buf: Vec<u8>,
        len: usize,
    },
    Table(Dict),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

/// Walks a packed buffer pair by pair.
pub struct PackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackIter<'a> {
    /// (field, value, offset of the pair, offset after it)
    type Item = (&'a [u8], &'a [u8], usize, usize);
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let start = self.pos;
        let (flen, a) = get_varint(self.buf, start);
        let fstart = start + a;
        let field = self.buf.get(fstart..fstart + flen)?;
        let (vlen, b) = get_varint(self.buf, fstart + flen);
        let vstart = fstart + flen + b;
        let value = self.buf.get(vstart..vstart + vlen)?;
        self.pos = vstart + vlen;
        Some((field, value, start, self.pos))
    }
}

pub enum Iter<'a> {
    Pack(PackIter<'a>),
    Table(dict::Iter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Pack(it) => it.next().map(|(f, v, _, _)| (f, v)),
            Iter::Table(it) => it.next(),
        }
    }
}

impl Hash {
    pub fn new() -> Hash {
        Hash::Pack {
            buf: Vec::new(),
            len: 0,
        }
    }

    /// Builds a hash from pairs (RESTORE), encoded as `limits` dictate; a
    /// repeated field keeps its last value.
    pub fn from_pairs<'p>(
        pairs: impl IntoIterator<Item = (&'p [u8], &'p [u8])>,
        limits: Limits,
    ) -> Hash {
        let mut h = Hash::new();
        for (f, v) in pairs {
            h.set(f, v, limits);
        }
        h
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Pack { len, .. } => *len,
            Hash::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Hash::Pack { .. } => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    fn pack_iter(buf: &[u8]) -> PackIter<'_> {
        PackIter { buf, pos: 0 }
    }

    pub fn iter(&self) -> Iter<'_> {
        match self {
            Hash::Pack { buf, .. } => Iter::Pack(Hash::pack_iter(buf)),
            Hash::Table(t) => Iter::Table(t.iter()),
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Pack { buf, .. } => Hash::pack_iter(buf)
                .find(|(f, _, _, _)| *f == field)
                .map(|(_, v, _, _)| v),
            Hash::Table(t) => t.get(field),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// The `i`-th pair in iteration order. O(i).
    pub fn nth(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.iter().nth(i)
    }

    /// A random pair; `below(n)` draws from `0..n`. O(1) for a table, O(n)
    /// for a (small) packed hash.
    pub fn random(&self, mut below: impl FnMut(usize) -> usize) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Pack { len, .. } => self.nth(below(*len)),
            Hash::Table(t) => t.random(below),
        }
    }

    /// Converts to the table encoding if `strings` (about to be stored) or the
    /// size call for it — Redis's `hashTypeTryConversion`, run before a write.
    pub fn convert_for(&mut self, strings: &[&[u8]], limits: Limits) {
        let Hash::Pack { buf, .. } = self else {
            return;
        };
        // Redis also converts a listpack that would pass 1 GB (`lpSafeToAdd`),
        // which only a raised hash-max-listpack-value lets happen.
        let total: usize = strings.iter().map(|s| s.len()).sum();
        if strings.iter().any(|s| s.len() > limits.max_value)
            || buf.len() + total > PACK_SAFETY_LIMIT
        {
            self.convert_to_table();
        }
    }

    fn convert_to_table(&mut self) {
        if let Hash::Pack { buf, len } = self {
            let mut t = Dict::with_capacity(*len);
            for (f, v, _, _) in Hash::pack_iter(buf) {
                t.insert(f, v);
            }
            *self = Hash::Table(t);
        }
    }

    /// Sets `field` to `value`; true if the field is new. Converts first if
    /// either string is longer than the listpack limit, after if the hash
    /// grew past the entry limit (Redis's `hashTypeSet`).
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: Limits) -> bool {
        self.convert_for(&[field, value], limits);
        let created = match self {
            Hash::Pack { buf, len } => {
                let found = Hash::pack_iter(buf)
                    .find(|(f, _, _, _)| *f == field)
                    .map(|(f, _, start, end)| (start, end, f.len()));
                let mut pair = Vec::with_capacity(field.len() + value.len() + 4);
                put_varint(&mut pair, field.len());
                pair.extend_from_slice(field);
                put_varint(&mut pair, value.len());
                pair.extend_from_slice(value);
                match found {
                    Some((start, end, _)) => {
                        // Replaced in place: the pair keeps its position, as in a listpack.
                        reserve_tight(buf, pair.len().saturating_sub(end - start));
                        buf.splice(start..end, pair);
                        false
                    }
                    None => {
                        reserve_tight(buf, pair.len());
                        buf.extend_from_slice(&pair);
                        *len += 1;
                        true
                    }
                }
            }
            Hash::Table(t) => t.insert(field, value),
        };
        if let Hash::Pack { len, .. } = self {
            if *len > limits.max_entries {
                self.convert_to_table();
            }
        }
        created
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Pack { buf, len } => {
                let Some((start, end)) = Hash::pack_iter(buf)
                    .find(|(f, _, _, _)| *f == field)
                    .map(|(_, _, s, e)| (s, e))
                else {
                    return false;
                };
                buf.drain(start..end);
                *len -= 1;
                if buf.capacity() > 64 && buf.len() * 2 < buf.capacity() {
                    buf.shrink_to(buf.len() + buf.len() / 8);
                }
                true
            }
            // The dict shrinks itself below 10% fill, as Redis's does.
            Hash::Table(t) => t.remove(field),
        }
    }

    /// Approximate bytes held (MEMORY USAGE).
    pub fn memory(&self) -> usize {
        match self {
            Hash::Pack { buf, .. } => buf.capacity(),
            Hash::Table(t) => t.memory(),
        }
    }
}

/// Grows the packed buffer by about 1/8 beyond what is needed instead of
/// doubling: a listpack is reallocated to its exact size on every write, and a
/// doubling Vec would cost up to twice Redis's memory for small hashes.
fn reserve_tight(buf: &mut Vec<u8>, additional: usize) {
    let need = buf.len() + additional;
    if need > buf.capacity() {
        buf.reserve_exact(additional + need / 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        max_entries: 4,
        max_value: 8,
    };

    #[test]
    fn pack_keeps_order_and_updates_in_place() {
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", L));
        assert!(h.set(b"b", b"2", L));
        assert!(!h.set(b"a", b"111", L));
        assert_eq!(h.get(b"a"), Some(&b"111"[..]));
        let pairs: Vec<_> = h.iter().collect();
        assert_eq!(
            pairs,
            vec![(&b"a"[..], &b"111"[..]), (&b"b"[..], &b"2"[..])]
        );
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        assert_eq!(h.len(), 1);
        assert_eq!(h.encoding_name(), "listpack");
    }

    #[test]
    fn converts_on_entries_and_on_value_length() {
        let mut h = Hash::new();
        for i in 0..4 {
            h.set(format!("f{i}").as_bytes(), b"v", L);
        }
        assert_eq!(h.encoding_name(), "listpack");
        h.set(b"f4", b"v", L);
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.get(b"f2"), Some(&b"v"[..]));

        let mut h = Hash::new();
        h.set(b"f", b"12345678", L);
        assert_eq!(h.encoding_name(), "listpack");
        h.set(b"g", b"123456789", L);
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.get(b"f"), Some(&b"12345678"[..]));
        assert!(h.remove(b"f"));
        assert!(!h.contains(b"f"));
        assert_eq!(h.len(), 1);
    }

    /// Random sets and removes against a `BTreeMap` model, across the conversion.
    #[test]
    fn matches_a_map_model() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let roomy = Limits {
            max_entries: 1000,
            max_value: 1000,
        };
        for (limits, encoding) in [
            (L, "hashtable"),
            (Limits::default(), "hashtable"),
            (roomy, "listpack"),
        ] {
            let mut h = Hash::new();
            let mut model = std::collections::BTreeMap::new();
            for _ in 0..5000 {
                let f = format!("f{}", rnd(300)).into_bytes();
                if rnd(3) == 0 {
                    assert_eq!(h.remove(&f), model.remove(&f).is_some());
                } else {
                    let v = vec![b'v'; rnd(200) as usize];
                    assert_eq!(h.set(&f, &v, limits), model.insert(f, v).is_none());
                }
                assert_eq!(h.len(), model.len());
            }
            let got: std::collections::BTreeMap<Vec<u8>, Vec<u8>> =
                h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            assert_eq!(got, model);
            assert_eq!(h.encoding_name(), encoding);
            for (f, v) in &model {
                assert_eq!(h.get(f), Some(&v[..]));
            }
        }
    }

    #[test]
    fn table_shrinks_after_deletes() {
        let mut h = Hash::new();
        for i in 0..10_000 {
            h.set(format!("f{i}").as_bytes(), b"v", L);
        }
        for i in 0..9_990 {
            assert!(h.remove(format!("f{i}").as_bytes()));
        }
        let Hash::Table(t) = &h else { panic!() };
        assert!(t.buckets() < 1000);
        assert_eq!(h.len(), 10);
    }
}
