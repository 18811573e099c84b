//! The set representation: an intset while every member is an integer and
//! there are few of them, a hash table otherwise (Redis 7.0's two encodings).
//!
//! API: `Set::for_first / add / remove / contains / len / iter / random /
//! encoding_name / memory`, and `IntSet` for the RDB intset blob.
//! - `Ints`: `IntSet`, sorted integers packed like Redis's intset (binary
//!   search, O(n) insert, members come back in ascending order), but as
//!   offsets from the smallest value at the narrowest width (1 to 8 bytes). Used while every
//!   member is a canonical integer (`parse_int`: Redis's `string2ll`) and
//!   there are at most `set-max-intset-entries`.
//! - `Table`: a `types::dict::Dict` with empty values (the hash family's
//!   table: one allocation per member holding link and bytes), O(1) random
//!   picks and bucket-cursor SSCAN as in Redis.
//!
//! As in Redis a set only converts from `Ints` to `Table`, never back.

use std::sync::Arc;

use super::dict::Dict;

/// Redis 7.0's default `set-max-intset-entries`.
pub const DEFAULT_MAX_INTSET_ENTRIES: usize = 512;

/// Redis's `string2ll`: the canonical decimal form of an i64 only, so that
/// the integer prints back to exactly the member that was stored.
pub use crate::conn::protocol::parse_i64 as parse_int;

/// The narrowest of Redis's intset widths (2, 4, 8 bytes) that holds `v`.
fn redis_width_of(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

/// The narrowest offset width (1, 2, 4 or 8 bytes) that holds `range`.
fn width_of_range(range: u64) -> usize {
    if range <= u8::MAX as u64 {
        1
    } else if range <= u16::MAX as u64 {
        2
    } else if range <= u32::MAX as u64 {
        4
    } else {
        8
    }
}

/// Bytes before the offsets: the width, then the base.
const HEAD: usize = 9;

/// Sorted distinct integers in one exact-size allocation, `[width][base:
/// i64][off0][off1]…`: each value is stored as its unsigned offset from
/// `base` (at most the smallest value) in `width` bytes, little-endian.
/// Redis's intset keeps every value at the width of the widest one (2, 4
/// or 8 bytes, plus an 8-byte header); offsets from a base make typical
/// integer sets (IDs, counters, timestamps close together) 2 bytes per
/// value where Redis needs 4 or 8, for the same binary search. The length
/// is implied by the allocation's size.
#[derive(Clone, PartialEq, Eq)]
pub struct IntSet(Box<[u8]>);

impl Default for IntSet {
    fn default() -> Self {
        IntSet::new()
    }
}

impl std::fmt::Debug for IntSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl IntSet {
    pub fn new() -> IntSet {
        IntSet(Box::new([1, 0, 0, 0, 0, 0, 0, 0, 0]))
    }

    /// Bytes per offset: 1, 2, 4 or 8.
    pub fn width(&self) -> usize {
        self.0[0] as usize
    }

    fn base(&self) -> i64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[1..HEAD]);
        i64::from_le_bytes(b)
    }

    pub fn len(&self) -> usize {
        (self.0.len() - HEAD) / self.width()
    }

    pub fn is_empty(&self) -> bool {
        self.0.len() == HEAD
    }

    fn offset(&self, i: usize) -> u64 {
        let w = self.width();
        let at = HEAD + i * w;
        let mut b = [0u8; 8];
        b[..w].copy_from_slice(&self.0[at..at + w]);
        u64::from_le_bytes(b)
    }

    /// The value at sorted position `i` (< len).
    pub fn get(&self, i: usize) -> i64 {
        (self.base() as u64).wrapping_add(self.offset(i)) as i64
    }

    /// `v`'s offset from the base, if it is not below it.
    fn offset_of(&self, v: i64) -> Option<u64> {
        (v >= self.base()).then(|| (v as u64).wrapping_sub(self.base() as u64))
    }

    /// Binary search of an offset: Ok(position) if present, Err(insertion point).
    fn search(&self, off: u64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.offset(mid).cmp(&off) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    pub fn contains(&self, v: i64) -> bool {
        self.offset_of(v)
            .is_some_and(|off| width_of_range(off) <= self.width() && self.search(off).is_ok())
    }

    /// Rebuilds the buffer with `values` (sorted) at a new base and width.
    fn rebuild(values: impl ExactSizeIterator<Item = i64>, base: i64, w: usize) -> IntSet {
        let mut buf = Vec::with_capacity(HEAD + values.len() * w);
        buf.push(w as u8);
        buf.extend_from_slice(&base.to_le_bytes());
        for v in values {
            buf.extend_from_slice(&(v as u64).wrapping_sub(base as u64).to_le_bytes()[..w]);
        }
        IntSet(buf.into_boxed_slice())
    }

    /// Inserts `v`; false if it was there. A value below the base, or
    /// beyond what the width can offset, re-encodes every value.
    pub fn insert(&mut self, v: i64) -> bool {
        if self.is_empty() {
            *self = IntSet::rebuild(std::iter::once(v), v, 1);
            return true;
        }
        let fits = self
            .offset_of(v)
            .filter(|&off| width_of_range(off) <= self.width());
        let Some(off) = fits else {
            let (lo, hi) = (self.get(0).min(v), self.get(self.len() - 1).max(v));
            let w = width_of_range((hi as u64).wrapping_sub(lo as u64)).max(self.width());
            let mut values: Vec<i64> = self.iter().collect();
            let at = values.partition_point(|&x| x < v);
            values.insert(at, v);
            *self = IntSet::rebuild(values.into_iter(), lo, w);
            return true;
        };
        let pos = match self.search(off) {
            Ok(_) => return false,
            Err(p) => p,
        };
        // Same width and base: splice the bytes in (one copy, like Redis's memmove).
        let w = self.width();
        let at = HEAD + pos * w;
        let mut buf = Vec::with_capacity(self.0.len() + w);
        buf.extend_from_slice(&self.0[..at]);
        buf.extend_from_slice(&off.to_le_bytes()[..w]);
        buf.extend_from_slice(&self.0[at..]);
        self.0 = buf.into_boxed_slice();
        true
    }

    /// Removes `v`; false if it was not there. Base and width stay (as
    /// Redis's width never shrinks).
    pub fn remove(&mut self, v: i64) -> bool {
        let Some(off) = self.offset_of(v) else {
            return false;
        };
        if width_of_range(off) > self.width() {
            return false;
        }
        let Ok(pos) = self.search(off) else {
            return false;
        };
        let w = self.width();
        let at = HEAD + pos * w;
        let mut buf = Vec::with_capacity(self.0.len() - w);
        buf.extend_from_slice(&self.0[..at]);
        buf.extend_from_slice(&self.0[at + w..]);
        self.0 = buf.into_boxed_slice();
        true
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = i64> + ExactSizeIterator + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Bytes held (MEMORY USAGE).
    pub fn memory(&self) -> usize {
        self.0.len()
    }

    /// Redis's intset blob (RDB_TYPE_SET_INTSET): u32 encoding (the width
    /// of the widest value), u32 length, then the values little-endian.
    pub fn to_redis_blob(&self) -> Vec<u8> {
        let w = match self.len() {
            0 => 2,
            n => redis_width_of(self.get(0)).max(redis_width_of(self.get(n - 1))),
        };
        let mut out = Vec::with_capacity(8 + self.len() * w);
        out.extend_from_slice(&(w as u32).to_le_bytes());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        for v in self.iter() {
            out.extend_from_slice(&v.to_le_bytes()[..w]);
        }
        out
    }
}

/// One member as a set holds it: an integer of an intset, or bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Member<'_> {
    /// The member's bytes (an integer in its decimal form).
    pub fn to_bytes(self) -> bytes::Bytes {
        match self {
            Member::Int(v) => {
                bytes::Bytes::copy_from_slice(itoa::Buffer::new().format(v).as_bytes())
            }
            Member::Str(s) => bytes::Bytes::copy_from_slice(s),
        }
    }

    /// Calls `f` with the member's bytes, without allocating.
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(v) => f(itoa::Buffer::new().format(v).as_bytes()),
            Member::Str(s) => f(s),
        }
    }
}

#[derive(Clone, Debug)]
pub enum Set {
    Ints(IntSet),
    Table(Arc<Dict>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(IntSet::new())
    }
}

impl Set {
    /// An empty set encoded for its first member (Redis's setTypeCreate):
    /// an intset for an integer, a table otherwise.
    pub fn for_first(member: &[u8]) -> Set {
        if parse_int(member).is_some() {
            Set::Ints(IntSet::new())
        } else {
            Set::Table(Arc::default())
        }
    }

    /// A set of `members` as SADD would build it (intset while it can be).
    pub fn from_members<'m>(
        members: impl IntoIterator<Item = &'m [u8]>,
        max_intset_entries: usize,
    ) -> Set {
        let mut s = Set::default();
        for m in members {
            s.add(m, max_intset_entries);
        }
        s
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Ints(i) => i.len(),
            Set::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Ints(i) => parse_int(m).is_some_and(|v| i.contains(v)),
            Set::Table(d) => d.get(m).is_some(),
        }
    }

    /// Membership of a member taken from another set: an intset integer
    /// is probed without formatting when this set is an intset too.
    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match (self, m) {
            (Set::Ints(i), Member::Int(v)) => i.contains(v),
            _ => m.with_bytes(|b| self.contains(b)),
        }
    }

    /// Adds `m`; true if it is new. Converts to a table when `m` is not an
    /// integer or the intset would grow past `max_intset_entries`.
    pub fn add(&mut self, m: &[u8], max_intset_entries: usize) -> bool {
        if let Set::Ints(i) = self {
            match parse_int(m) {
                Some(v) => {
                    if !i.insert(v) {
                        return false;
                    }
                    // Redis caps the limit at 1G entries (intset internals).
                    if i.len() > max_intset_entries.min(1 << 30) {
                        self.convert();
                    }
                    return true;
                }
                None => self.convert(),
            }
        }
        match self {
            Set::Table(d) => {
                if d.get(m).is_some() {
                    return false;
                }
                {
                    let n = d.len();
                    crate::long_step::make_mut(d, n)
                }
                .insert(m, b"")
            }
            Set::Ints(_) => false,
        }
    }

    /// Adds a member taken from another set (SUNIONSTORE, SMOVE…).
    pub fn add_member(&mut self, m: Member<'_>, max_intset_entries: usize) -> bool {
        m.with_bytes(|b| self.add(b, max_intset_entries))
    }

    /// Removes `m`; true if it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Ints(i) => parse_int(m).is_some_and(|v| i.remove(v)),
            Set::Table(d) => {
                let n = d.len();
                crate::long_step::make_mut(d, n).remove(m)
            }
        }
    }

    pub fn remove_member(&mut self, m: Member<'_>) -> bool {
        match (&mut *self, m) {
            (Set::Ints(i), Member::Int(v)) => i.remove(v),
            _ => m.with_bytes(|b| self.remove(b)),
        }
    }

    /// Converts an intset to a table (Redis's setTypeConvert), sized for it.
    pub fn convert(&mut self) {
        if let Set::Ints(i) = self {
            let mut d = Dict::with_capacity(i.len());
            let mut buf = itoa::Buffer::new();
            for v in i.iter() {
                d.insert(buf.format(v).as_bytes(), b"");
            }
            *self = Set::Table(Arc::new(d));
        }
    }

    /// Members: ascending for an intset, table order otherwise.
    pub fn iter(&self) -> Iter<'_> {
        match self {
            Set::Ints(i) => Iter::Ints(i, 0),
            Set::Table(d) => Iter::Table(d.iter()),
        }
    }

    /// A uniformly random member; `below(n)` draws from `0..n`.
    pub fn random(&self, mut below: impl FnMut(usize) -> usize) -> Option<Member<'_>> {
        match self {
            Set::Ints(i) if i.is_empty() => None,
            Set::Ints(i) => Some(Member::Int(i.get(below(i.len())))),
            Set::Table(d) => d.random(below).map(|(f, _)| Member::Str(f)),
        }
    }

    /// Bytes held (MEMORY USAGE).
    pub fn memory(&self) -> usize {
        match self {
            Set::Ints(i) => i.memory(),
            Set::Table(d) => std::mem::size_of::<Dict>() + d.memory(),
        }
    }
}

pub enum Iter<'a> {
    Ints(&'a IntSet, usize),
    Table(super::dict::Iter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;
    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            Iter::Ints(set, i) => {
                if *i >= set.len() {
                    return None;
                }
                *i += 1;
                Some(Member::Int(set.get(*i - 1)))
            }
            Iter::Table(t) => t.next().map(|(f, _)| Member::Str(f)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n.max(1)
        }
    }

    /// A set lives unboxed in the keyspace's `Value` (which a `Bytes` string
    /// already makes 40 bytes): it must not grow that enum.
    #[test]
    fn set_is_small() {
        assert!(std::mem::size_of::<Set>() <= 24);
        assert!(std::mem::size_of::<crate::keyspace::Value>() <= 40);
    }

    #[test]
    fn parse_int_is_string2ll() {
        for (s, v) in [
            ("0", Some(0)),
            ("-1", Some(-1)),
            ("123", Some(123)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("-0", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("", None),
            ("-", None),
            ("1a", None),
            ("12345678901234567890123", None),
        ] {
            assert_eq!(parse_int(s.as_bytes()), v, "{s:?}");
        }
    }

    #[test]
    fn intset_widths_upgrade_and_stay_sorted() {
        let mut i = IntSet::new();
        assert!(i.insert(5) && i.insert(-3) && !i.insert(5));
        // Offsets from -3 fit a byte.
        assert_eq!(i.width(), 1);
        assert!(i.insert(70000));
        assert_eq!(i.width(), 4);
        assert!(i.insert(-(1 << 40)));
        assert_eq!(i.width(), 8);
        assert_eq!(i.iter().collect::<Vec<_>>(), [-(1 << 40), -3, 5, 70000]);
        assert!(i.contains(70000) && !i.contains(6) && !i.contains(-(1 << 41)));
        assert!(i.remove(-(1 << 40)) && !i.remove(-(1 << 40)));
        // Width never shrinks.
        assert_eq!(i.width(), 8);
        assert_eq!(i.memory(), HEAD + 3 * 8);
        // Redis's blob takes the width of the widest value: int32 here.
        assert_eq!(
            i.to_redis_blob(),
            [
                &4u32.to_le_bytes()[..],
                &3u32.to_le_bytes(),
                &(-3i32).to_le_bytes(),
                &5i32.to_le_bytes(),
                &70000i32.to_le_bytes()
            ]
            .concat()
        );
        let mut small = IntSet::new();
        assert!(!small.contains(1 << 20) && !small.remove(1 << 40));
        small.insert(i64::MAX);
        small.insert(i64::MIN);
        small.insert(0);
        assert_eq!(small.iter().collect::<Vec<_>>(), [i64::MIN, 0, i64::MAX]);
        assert!(small.contains(i64::MIN) && small.contains(i64::MAX));
        assert_eq!(small.to_redis_blob()[..8], [8, 0, 0, 0, 3, 0, 0, 0]);
    }

    /// Clustered values take 2 bytes each whatever their magnitude.
    #[test]
    fn intset_offsets_are_narrow() {
        let mut i = IntSet::new();
        for k in (0..100).rev() {
            assert!(i.insert(1_700_000_000 + k * 7));
        }
        assert_eq!(i.width(), 2);
        assert_eq!(i.memory(), HEAD + 200);
        assert_eq!(i.get(0), 1_700_000_000);
        assert_eq!(i.get(99), 1_700_000_693);
        assert!(i.contains(1_700_000_007) && !i.contains(1_700_000_008));
    }

    /// Random adds and removes against a BTreeSet model, across both
    /// encodings and the conversion (a small limit to make it happen).
    #[test]
    fn matches_a_model_across_encodings() {
        let mut rng = Rng(0x9E3779B97F4A7C15);
        for limit in [0usize, 16, 512] {
            let mut s = Set::default();
            let mut model = BTreeSet::new();
            for step in 0..6000 {
                let m = match rng.below(10) {
                    0 => format!("s{}", rng.below(50)),
                    1 => format!("{}", rng.below(1 << 40) as i64 - (1 << 39)),
                    _ => format!("{}", rng.below(300) as i64 - 150),
                };
                // Mostly integers: strings only in the second half.
                let m = if step < 3000 && m.starts_with('s') {
                    "7".to_string()
                } else {
                    m
                };
                if rng.below(3) == 0 {
                    assert_eq!(s.remove(m.as_bytes()), model.remove(&m));
                } else {
                    assert_eq!(s.add(m.as_bytes(), limit), model.insert(m.clone()));
                }
                assert_eq!(s.len(), model.len());
                if let Set::Ints(i) = &s {
                    assert!(i.len() <= limit);
                }
            }
            let got: BTreeSet<String> = s
                .iter()
                .map(|m| String::from_utf8(m.to_bytes().to_vec()).unwrap())
                .collect();
            assert_eq!(got, model);
            for m in &model {
                assert!(s.contains(m.as_bytes()));
            }
            assert!(!s.contains(b"nope"));
        }
    }

    #[test]
    fn encodings_follow_redis_rules() {
        let mut s = Set::for_first(b"1");
        assert_eq!(s.encoding_name(), "intset");
        for i in 0..512 {
            s.add(i.to_string().as_bytes(), 512);
        }
        assert_eq!(s.encoding_name(), "intset");
        s.add(b"512", 512);
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(s.len(), 513);

        let mut s = Set::for_first(b"1");
        s.add(b"1", 512);
        s.add(b"01", 512);
        assert_eq!(s.encoding_name(), "hashtable");
        assert!(s.contains(b"1") && s.contains(b"01"));
        assert_eq!(Set::for_first(b"a").encoding_name(), "hashtable");
        // An integer beyond 64 bits is a string.
        let mut s = Set::default();
        s.add(b"18446744073709551616", 512);
        assert_eq!(s.encoding_name(), "hashtable");
    }

    #[test]
    fn intset_iterates_ascending_and_random_covers_all() {
        let s = Set::from_members(["5", "-2", "100", "3"].map(str::as_bytes), 512);
        let order: Vec<_> = s.iter().collect();
        assert_eq!(
            order,
            [
                Member::Int(-2),
                Member::Int(3),
                Member::Int(5),
                Member::Int(100)
            ]
        );
        let mut rng = Rng(7);
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            seen.insert(s.random(|n| rng.below(n as u64) as usize).unwrap());
        }
        assert_eq!(seen.len(), 4);
        assert!(Set::default().random(|_| 0).is_none());
        assert!(s.contains_member(Member::Int(5)));
        assert!(s.contains_member(Member::Str(b"100")));
        assert!(!s.contains_member(Member::Str(b"100.0")));
    }
}
