//! The sorted-set representation.
//!
//! API: `Zset` keeps (member, score) pairs ordered by (score, member) with
//! O(1)-ish member lookup and O(log n) rank for big sets. Commands work in
//! ranks: `partition_point` turns a score or lex bound into a rank, `range`
//! reads ranks, `nth`/`rank` convert both ways.
//!
//! Two encodings, as Redis has (OBJECT ENCODING reports their Redis names):
//! - `listpack`: one flat byte buffer of entries sorted by (score, member);
//!   every operation is a linear scan, like Redis's listpack. Used while the
//!   set has at most `zset-max-listpack-entries` members of at most
//!   `zset-max-listpack-value` bytes.
//! - `skiplist`: the same flat buffers cut into chunks of at most
//!   `CHUNK_ENTRIES` entries (an order-statistic "chunked list"), a Fenwick
//!   tree over the chunk sizes for rank ↔ position in O(log n), and a
//!   member → score hash map. Entries live in the chunks as packed bytes, so an
//!   element costs its bytes plus a few, not a node with pointers.
//!
//! Entry format: `[varint member length][member][score]`, where the score is a
//! varint tag: `tag & 3 == 0` an integer (zigzag, `tag >> 2`), `1` an f32 that
//! holds the value exactly (4 bytes follow), `2` an f64 (8 bytes follow). Most
//! scores in practice are small integers and take one or two bytes.
//!
//! Scores are never NaN (callers refuse NaN before inserting). -0.0 packs as
//! 0, as in a Redis listpack.

use std::cmp::Ordering;
use std::collections::HashMap;

use bytes::Bytes;

/// Entries per chunk of the big encoding before it is split in two.
const CHUNK_ENTRIES: usize = 128;
/// Bytes per chunk before it is split (long members make few entries per chunk).
const CHUNK_BYTES: usize = 4096;

/// Orders two (score, member) keys as Redis's skiplist does.
pub fn cmp_key(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    if s1 < s2 {
        Ordering::Less
    } else if s1 > s2 {
        Ordering::Greater
    } else {
        m1.cmp(m2)
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
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

fn get_varint(buf: &[u8], mut pos: usize) -> (u64, usize) {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[pos];
        pos += 1;
        n |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return (n, pos);
        }
        shift += 7;
    }
}

/// Integers up to 2^53 are exact in an f64 and stored compactly.
const INT_LIMIT: f64 = 9007199254740992.0;

fn put_score(out: &mut Vec<u8>, s: f64) {
    // -0 is stored as the integer 0, as a Redis listpack does (its text "-0"
    // becomes an integer entry); the big encoding's member index keeps -0.
    if s.fract() == 0.0 && s.abs() < INT_LIMIT {
        let i = s as i64;
        let zz = ((i << 1) ^ (i >> 63)) as u64;
        put_varint(out, zz << 2);
    } else if (s as f32) as f64 == s {
        out.push(1);
        out.extend_from_slice(&(s as f32).to_le_bytes());
    } else {
        out.push(2);
        out.extend_from_slice(&s.to_le_bytes());
    }
}

fn get_score(buf: &[u8], pos: usize) -> (f64, usize) {
    let (tag, p) = get_varint(buf, pos);
    match tag & 3 {
        0 => {
            let zz = tag >> 2;
            let i = ((zz >> 1) as i64) ^ -((zz & 1) as i64);
            (i as f64, p)
        }
        1 => {
            let mut b = [0u8; 4];
            b.copy_from_slice(&buf[p..p + 4]);
            (f32::from_le_bytes(b) as f64, p + 4)
        }
        _ => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[p..p + 8]);
            (f64::from_le_bytes(b), p + 8)
        }
    }
}

/// Decodes the entry at `pos`: (score, member start, member end, next entry).
fn entry_at(buf: &[u8], pos: usize) -> (f64, usize, usize, usize) {
    let (len, start) = get_varint(buf, pos);
    let end = start + len as usize;
    let (score, next) = get_score(buf, end);
    (score, start, end, next)
}

fn encode_entry(member: &[u8], score: f64) -> Vec<u8> {
    let mut e = Vec::with_capacity(member.len() + 14);
    put_varint(&mut e, member.len() as u64);
    e.extend_from_slice(member);
    put_score(&mut e, score);
    e
}

/// A flat sorted run of entries: the whole `listpack` encoding, or one chunk
/// of the `skiplist` encoding.
#[derive(Debug, Clone, Default)]
pub struct Pack {
    buf: Vec<u8>,
    len: u32,
}

pub struct PackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = (f64, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (s, a, b, next) = entry_at(self.buf, self.pos);
        self.pos = next;
        Some((s, &self.buf[a..b]))
    }
}

impl Pack {
    fn len(&self) -> usize {
        self.len as usize
    }

    fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            pos: 0,
        }
    }

    fn first(&self) -> Option<(f64, &[u8])> {
        self.iter().next()
    }

    /// Finds `member`: (entry offset, entry end, score).
    fn find(&self, member: &[u8]) -> Option<(usize, usize, f64)> {
        let mut pos = 0;
        while pos < self.buf.len() {
            let (s, a, b, next) = entry_at(&self.buf, pos);
            if &self.buf[a..b] == member {
                return Some((pos, next, s));
            }
            pos = next;
        }
        None
    }

    /// Index of `member` (known to have `score`) within this run.
    fn index_of(&self, member: &[u8], score: f64) -> Option<usize> {
        for (i, (s, m)) in self.iter().enumerate() {
            match cmp_key(s, m, score, member) {
                Ordering::Less => continue,
                Ordering::Equal => return Some(i),
                Ordering::Greater => return None,
            }
        }
        None
    }

    /// Inserts an entry at its sorted place (the member must be absent).
    fn insert(&mut self, member: &[u8], score: f64) {
        let mut pos = 0;
        while pos < self.buf.len() {
            let (s, a, b, next) = entry_at(&self.buf, pos);
            if cmp_key(s, &self.buf[a..b], score, member) == Ordering::Greater {
                break;
            }
            pos = next;
        }
        let e = encode_entry(member, score);
        self.buf.splice(pos..pos, e);
        self.len += 1;
    }

    fn remove_at(&mut self, start: usize, end: usize) {
        self.buf.drain(start..end);
        self.len -= 1;
    }

    /// Number of leading entries for which `pred` holds (pred is monotone).
    fn partition_point(&self, pred: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        self.iter().take_while(|(s, m)| pred(*s, m)).count()
    }

    /// Splits off the second half into a new run.
    fn split(&mut self) -> Pack {
        let keep = self.len() / 2;
        let mut pos = 0;
        for _ in 0..keep {
            pos = entry_at(&self.buf, pos).3;
        }
        let tail = Pack {
            buf: self.buf[pos..].to_vec(),
            len: self.len - keep as u32,
        };
        self.buf.truncate(pos);
        self.buf.shrink_to_fit();
        self.len = keep as u32;
        tail
    }

    fn push_back(&mut self, member: &[u8], score: f64) {
        put_varint(&mut self.buf, member.len() as u64);
        self.buf.extend_from_slice(member);
        put_score(&mut self.buf, score);
        self.len += 1;
    }

    fn mem_bytes(&self) -> usize {
        self.buf.capacity()
    }
}

/// Fenwick tree over chunk sizes: prefix sums and rank → chunk in O(log n).
#[derive(Debug, Clone, Default)]
struct Fenwick {
    t: Vec<u32>,
}

impl Fenwick {
    fn build(sizes: impl Iterator<Item = usize>) -> Fenwick {
        let mut t: Vec<u32> = std::iter::once(0).chain(sizes.map(|s| s as u32)).collect();
        let n = t.len();
        for i in 1..n {
            let j = i + (i & i.wrapping_neg());
            if j < n {
                t[j] += t[i];
            }
        }
        Fenwick { t }
    }

    fn add(&mut self, chunk: usize, delta: i64) {
        let mut i = chunk + 1;
        while i < self.t.len() {
            self.t[i] = (self.t[i] as i64 + delta) as u32;
            i += i & i.wrapping_neg();
        }
    }

    /// Sum of the sizes of chunks `0..chunk`.
    fn prefix(&self, chunk: usize) -> usize {
        let mut i = chunk;
        let mut s = 0usize;
        while i > 0 {
            s += self.t[i] as usize;
            i -= i & i.wrapping_neg();
        }
        s
    }

    /// The chunk holding rank `r` and the rank's index within it.
    fn find(&self, mut r: usize) -> (usize, usize) {
        let n = self.t.len() - 1;
        let mut pos = 0;
        let mut step = if n == 0 {
            0
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        while step > 0 {
            let next = pos + step;
            if next <= n && (self.t[next] as usize) <= r {
                pos = next;
                r -= self.t[next] as usize;
            }
            step >>= 1;
        }
        (pos, r)
    }
}

/// The `skiplist` encoding: chunks of sorted entries plus a member index.
#[derive(Debug, Clone, Default)]
struct Tree {
    dict: HashMap<Box<[u8]>, f64>,
    chunks: Vec<Pack>,
    fen: Fenwick,
}

impl Tree {
    fn len(&self) -> usize {
        self.dict.len()
    }

    fn rebuild_index(&mut self) {
        self.fen = Fenwick::build(self.chunks.iter().map(|c| c.len()));
    }

    /// The chunk where (score, member) is or would be.
    fn chunk_for(&self, member: &[u8], score: f64) -> usize {
        let p = self.chunks.partition_point(|c| {
            c.first()
                .is_some_and(|(s, m)| cmp_key(s, m, score, member) != Ordering::Greater)
        });
        p.saturating_sub(1)
    }

    fn insert(&mut self, member: &[u8], score: f64) {
        self.dict.insert(member.into(), score);
        if self.chunks.is_empty() {
            self.chunks.push(Pack::default());
            self.rebuild_index();
        }
        let c = self.chunk_for(member, score);
        let chunk = &mut self.chunks[c];
        chunk.insert(member, score);
        if chunk.len() > CHUNK_ENTRIES || (chunk.buf.len() > CHUNK_BYTES && chunk.len() > 1) {
            let tail = chunk.split();
            self.chunks.insert(c + 1, tail);
            self.rebuild_index();
        } else {
            self.fen.add(c, 1);
        }
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.dict.remove(member)?;
        let c = self.chunk_for(member, score);
        let chunk = &mut self.chunks[c];
        if let Some((a, b, _)) = chunk.find(member) {
            chunk.remove_at(a, b);
        }
        let (n, bytes) = (chunk.len(), chunk.buf.len());
        let small = n < CHUNK_ENTRIES / 4 && bytes < CHUNK_BYTES / 4;
        if n == 0 {
            self.chunks.remove(c);
            self.rebuild_index();
        } else if small
            && c + 1 < self.chunks.len()
            && self.chunks[c + 1].len() + n <= CHUNK_ENTRIES * 3 / 4
            && self.chunks[c + 1].buf.len() + bytes <= CHUNK_BYTES * 3 / 4
        {
            // Merge sparse neighbours so deletions do not leave a trail of
            // near-empty chunks behind.
            let next = self.chunks.remove(c + 1);
            let chunk = &mut self.chunks[c];
            chunk.buf.extend_from_slice(&next.buf);
            chunk.len += next.len;
            self.rebuild_index();
        } else {
            self.fen.add(c, -1);
        }
        if self.dict.capacity() > 64 && self.dict.len() * 8 < self.dict.capacity() {
            self.dict.shrink_to_fit();
        }
        Some(score)
    }

    fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = *self.dict.get(member)?;
        let c = self.chunk_for(member, score);
        let i = self.chunks[c].index_of(member, score)?;
        Some(self.fen.prefix(c) + i)
    }

    fn partition_point(&self, pred: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        let p = self
            .chunks
            .partition_point(|c| c.first().is_some_and(|(s, m)| pred(s, m)));
        if p == 0 {
            return 0;
        }
        self.fen.prefix(p - 1) + self.chunks[p - 1].partition_point(pred)
    }
}

#[derive(Debug, Clone)]
enum Enc {
    Pack(Pack),
    Tree(Box<Tree>),
}

/// A sorted set.
#[derive(Debug, Clone)]
pub struct Zset {
    enc: Enc,
}

/// Encoding limits (`zset-max-listpack-entries`, `zset-max-listpack-value`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            entries: 128,
            value: 64,
        }
    }
}

impl Zset {
    /// An empty set in the encoding Redis would pick for a first member of
    /// `first_len` bytes.
    pub fn new(limits: Limits, first_len: usize) -> Zset {
        if limits.entries == 0 || first_len > limits.value {
            Zset {
                enc: Enc::Tree(Box::default()),
            }
        } else {
            Zset {
                enc: Enc::Pack(Pack::default()),
            }
        }
    }

    /// Builds a set from distinct members in any order, in the encoding Redis
    /// picks for a stored result (`zsetConvertToListpackIfNeeded`).
    pub fn from_entries(mut items: Vec<(Bytes, f64)>, limits: Limits) -> Zset {
        items.sort_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
        let small = items.len() <= limits.entries && items.iter().all(|(m, _)| m.len() <= limits.value);
        if small {
            let mut p = Pack::default();
            for (m, s) in &items {
                p.push_back(m, *s);
            }
            p.buf.shrink_to_fit();
            return Zset { enc: Enc::Pack(p) };
        }
        let mut t = Tree::default();
        t.dict.reserve(items.len());
        let mut cur = Pack::default();
        for (m, s) in &items {
            if cur.len() >= CHUNK_ENTRIES * 3 / 4 || cur.buf.len() >= CHUNK_BYTES * 3 / 4 {
                cur.buf.shrink_to_fit();
                t.chunks.push(std::mem::take(&mut cur));
            }
            cur.push_back(m, *s);
            t.dict.insert(m.as_ref().into(), *s);
        }
        if cur.len() > 0 {
            cur.buf.shrink_to_fit();
            t.chunks.push(cur);
        }
        t.rebuild_index();
        Zset {
            enc: Enc::Tree(Box::new(t)),
        }
    }

    /// Same encoding and contents, for a different limit check (RESTORE/COPY keep it).
    pub fn is_listpack(&self) -> bool {
        matches!(self.enc, Enc::Pack(_))
    }

    pub fn encoding_name(&self) -> &'static str {
        match self.enc {
            Enc::Pack(_) => "listpack",
            Enc::Tree(_) => "skiplist",
        }
    }

    pub fn len(&self) -> usize {
        match &self.enc {
            Enc::Pack(p) => p.len(),
            Enc::Tree(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.enc {
            Enc::Pack(p) => p.find(member).map(|(_, _, s)| s),
            Enc::Tree(t) => t.dict.get(member).copied(),
        }
    }

    /// Converts the listpack encoding to the big one.
    fn convert(&mut self) {
        if let Enc::Pack(p) = &self.enc {
            let items: Vec<(Bytes, f64)> = p
                .iter()
                .map(|(s, m)| (Bytes::copy_from_slice(m), s))
                .collect();
            let mut z = Zset::from_entries(
                items,
                Limits {
                    entries: 0,
                    value: 0,
                },
            );
            std::mem::swap(self, &mut z);
        }
    }

    /// Sets `member`'s score, adding it if absent; returns true if added.
    /// Converts to the big encoding past `limits`, as Redis does on insert.
    pub fn set(&mut self, member: &[u8], score: f64, limits: Limits) -> bool {
        let old = self.remove(member);
        if let Enc::Pack(p) = &self.enc {
            if p.len() + 1 > limits.entries || member.len() > limits.value {
                self.convert();
            }
        }
        match &mut self.enc {
            Enc::Pack(p) => p.insert(member, score),
            Enc::Tree(t) => t.insert(member, score),
        }
        old.is_none()
    }

    /// Removes `member`; returns its score if it was present.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.enc {
            Enc::Pack(p) => {
                let (a, b, s) = p.find(member)?;
                p.remove_at(a, b);
                Some(s)
            }
            Enc::Tree(t) => t.remove(member),
        }
    }

    /// 0-based ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.enc {
            Enc::Pack(p) => {
                let (_, _, s) = p.find(member)?;
                p.index_of(member, s)
            }
            Enc::Tree(t) => t.rank(member),
        }
    }

    /// Number of leading entries (in ascending order) for which `pred` holds;
    /// `pred` must hold for a prefix of the order and fail after it.
    pub fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.enc {
            Enc::Pack(p) => p.partition_point(&pred),
            Enc::Tree(t) => t.partition_point(&pred),
        }
    }

    /// The entries of ranks `start..=end` (ascending; clamped to the set).
    pub fn range(&self, start: usize, end: usize) -> Vec<(Bytes, f64)> {
        let len = self.len();
        if start >= len || start > end {
            return Vec::new();
        }
        let end = end.min(len - 1);
        let n = end - start + 1;
        let mut out = Vec::with_capacity(n);
        let mut push = |(s, m): (f64, &[u8])| out.push((Bytes::copy_from_slice(m), s));
        match &self.enc {
            Enc::Pack(p) => p.iter().skip(start).take(n).for_each(&mut push),
            Enc::Tree(t) => {
                let (c, i) = t.fen.find(start);
                t.chunks[c..]
                    .iter()
                    .flat_map(|c| c.iter())
                    .skip(i)
                    .take(n)
                    .for_each(&mut push);
            }
        }
        out
    }

    /// The entry at ascending rank `r`.
    pub fn nth(&self, r: usize) -> Option<(Bytes, f64)> {
        self.range(r, r).pop()
    }

    /// Every entry in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (f64, &[u8])> + '_ {
        let chunks: &[Pack] = match &self.enc {
            Enc::Pack(p) => std::slice::from_ref(p),
            Enc::Tree(t) => &t.chunks,
        };
        chunks.iter().flat_map(|c| c.iter())
    }

    /// Heap bytes held (MEMORY USAGE estimate).
    pub fn mem_bytes(&self) -> usize {
        match &self.enc {
            Enc::Pack(p) => p.mem_bytes(),
            Enc::Tree(t) => {
                t.chunks.iter().map(|c| c.mem_bytes() + 32).sum::<usize>()
                    + t.dict.capacity() * 25
                    + t.dict.keys().map(|k| k.len()).sum::<usize>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(entries: usize) -> Limits {
        Limits { entries, value: 64 }
    }

    #[test]
    fn scores_round_trip() {
        for s in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            1.5,
            0.1,
            1e300,
            -1e-300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            9007199254740992.0,
            -9007199254740991.0,
            123456789.125,
        ] {
            let mut b = Vec::new();
            put_score(&mut b, s);
            let (d, end) = get_score(&b, 0);
            assert_eq!(end, b.len());
            if s == 0.0 {
                assert_eq!(d.to_bits(), 0, "-0 packs as 0");
            } else {
                assert_eq!(d.to_bits(), s.to_bits(), "{s}");
            }
        }
    }

    /// A reference model: a sorted Vec of (score, member).
    fn model_check(limit: usize, ops: usize, seed: u64) {
        let mut z = Zset::new(lim(limit), 0);
        let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
        let mut x = seed | 1;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..ops {
            let m = format!("m{}", rnd(400)).into_bytes();
            let s = (rnd(50) as f64) - 25.0 + if rnd(3) == 0 { 0.5 } else { 0.0 };
            match rnd(4) {
                0 => {
                    let had = model.iter().position(|(_, mm)| *mm == m);
                    assert_eq!(z.remove(&m).is_some(), had.is_some());
                    if let Some(i) = had {
                        model.remove(i);
                    }
                }
                _ => {
                    let had = model.iter().position(|(_, mm)| *mm == m);
                    if let Some(i) = had {
                        model.remove(i);
                    }
                    assert_eq!(z.set(&m, s, lim(limit)), had.is_none());
                    model.push((s, m.clone()));
                    model.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
                }
            }
            assert_eq!(z.len(), model.len());
            if !model.is_empty() {
                let r = rnd(model.len() as u64) as usize;
                let (ms, mm) = &model[r];
                assert_eq!(z.rank(mm), Some(r));
                assert_eq!(z.score(mm), Some(*ms));
                let got = z.nth(r).unwrap();
                assert_eq!((got.0.as_ref(), got.1), (mm.as_slice(), *ms));
                let pp = z.partition_point(|s, _| s < 0.0);
                assert_eq!(pp, model.iter().filter(|(s, _)| *s < 0.0).count());
                let r2 = (r + 7).min(model.len() - 1);
                let got: Vec<_> = z.range(r, r2).into_iter().map(|(m, _)| m.to_vec()).collect();
                let want: Vec<_> = model[r..=r2].iter().map(|(_, m)| m.clone()).collect();
                assert_eq!(got, want);
            }
        }
        let all: Vec<_> = z.iter().map(|(s, m)| (s, m.to_vec())).collect();
        assert_eq!(all, model);
    }

    #[test]
    fn listpack_matches_model() {
        model_check(100_000, 3000, 7);
    }

    #[test]
    fn chunked_matches_model() {
        model_check(0, 20000, 11);
    }

    #[test]
    fn converts_past_limits() {
        let mut z = Zset::new(lim(2), 1);
        assert_eq!(z.encoding_name(), "listpack");
        z.set(b"a", 1.0, lim(2));
        z.set(b"b", 2.0, lim(2));
        assert_eq!(z.encoding_name(), "listpack");
        z.set(b"c", 3.0, lim(2));
        assert_eq!(z.encoding_name(), "skiplist");
        assert_eq!(z.rank(b"c"), Some(2));
        let z = Zset::from_entries(vec![(Bytes::from_static(b"x"), 1.0)], lim(2));
        assert_eq!(z.encoding_name(), "listpack");
    }
}
