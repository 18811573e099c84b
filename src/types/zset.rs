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
//! varint tag: odd, an integer stored as its difference from the previous
//! entry's integer score (`tag >> 1`; runs are sorted, so it is never
//! negative); otherwise by `(tag >> 1) & 3`: `0` an integer (zigzag,
//! `tag >> 3`), `1` an f32 that holds the value exactly (4 bytes follow), `2`
//! an f64 (8 bytes follow), `3` a short decimal `m / 10^k` (zigzag `m` and
//! `k - 1` packed in `tag >> 3`). Most scores
//! in practice are integers (ids, timestamps) or short decimals and take one
//! to three bytes, where a Redis listpack keeps them as text or 1–9-byte ints.
//!
//! Scores are never NaN (callers refuse NaN before inserting). The listpack
//! encoding stores -0 as 0, as a Redis listpack does; the big one keeps -0.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

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

fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

fn varint_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// Powers of ten exact in an f64, for the decimal score form.
const POW10: [f64; 9] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];

/// A score with few decimals (1.75, 0.1) as `m / 10^k`, when dividing the
/// integer `m` by `10^k` gives back exactly `s` (Redis keeps such scores as
/// short strings in a listpack; this is the binary equivalent).
fn as_decimal(s: f64) -> Option<(i64, usize)> {
    if s == 0.0 {
        return None; // -0 (0 itself is an integer)
    }
    for (k, p) in POW10.iter().enumerate().skip(1) {
        let m = (s * p).round();
        if m.abs() < (1u64 << 50) as f64 && m / p == s {
            return Some((m as i64, k));
        }
    }
    None
}

/// An integer score that the compact forms can hold (-0 is not one: it must
/// read back as -0).
fn is_int(s: f64) -> bool {
    s.fract() == 0.0 && s.abs() < INT_LIMIT && !(s == 0.0 && s.is_sign_negative())
}

/// Appends the encoding of score `s`; `prev` is the score of the entry
/// before it in the run (entries are sorted, so an integer score after an
/// integer score is stored as the small non-negative difference).
fn put_score(out: &mut Vec<u8>, s: f64, prev: Option<f64>) {
    if is_int(s) {
        let abs_tag = zigzag(s as i64) << 3;
        if let Some(p) = prev.filter(|p| is_int(*p)) {
            // Both are integers below 2^53: a difference below 2^53 is exact.
            let d = s - p;
            if (0.0..INT_LIMIT).contains(&d) {
                let tag = ((d as u64) << 1) | 1;
                if varint_len(tag) < varint_len(abs_tag) {
                    put_varint(out, tag);
                    return;
                }
            }
        }
        put_varint(out, abs_tag);
        return;
    }
    let f32_exact = s.is_finite() && (s as f32) as f64 == s;
    let binary_len = if f32_exact { 5 } else { 9 };
    if s.is_finite() {
        if let Some((m, k)) = as_decimal(s) {
            let tag = (((zigzag(m) << 3) | (k as u64 - 1)) << 3) | 6;
            if varint_len(tag) < binary_len {
                put_varint(out, tag);
                return;
            }
        }
    }
    if f32_exact {
        out.push(2);
        out.extend_from_slice(&(s as f32).to_le_bytes());
    } else {
        out.push(4);
        out.extend_from_slice(&s.to_le_bytes());
    }
}

/// Decodes the score at `pos` (`prev`: the previous entry's score, for the
/// difference form): (score, position after it).
fn get_score(buf: &[u8], pos: usize, prev: f64) -> (f64, usize) {
    let (tag, p) = get_varint(buf, pos);
    if tag & 1 == 1 {
        return (prev + (tag >> 1) as f64, p);
    }
    match (tag >> 1) & 3 {
        0 => (unzigzag(tag >> 3) as f64, p),
        1 => {
            let mut b = [0u8; 4];
            b.copy_from_slice(&buf[p..p + 4]);
            (f32::from_le_bytes(b) as f64, p + 4)
        }
        2 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[p..p + 8]);
            (f64::from_le_bytes(b), p + 8)
        }
        _ => {
            let v = tag >> 3;
            let k = (v & 7) as usize + 1;
            (unzigzag(v >> 3) as f64 / POW10[k], p)
        }
    }
}

/// A decoded entry: its score, where its member is, where the next starts.
struct Entry {
    score: f64,
    member: std::ops::Range<usize>,
    next: usize,
}

/// Decodes the entry at `pos` (`prev`: the previous entry's score).
fn entry_at(buf: &[u8], pos: usize, prev: f64) -> Entry {
    let (len, start) = get_varint(buf, pos);
    let end = start + len as usize;
    let (score, next) = get_score(buf, end, prev);
    Entry {
        score,
        member: start..end,
        next,
    }
}

fn put_entry(out: &mut Vec<u8>, member: &[u8], score: f64, prev: Option<f64>) {
    put_varint(out, member.len() as u64);
    out.extend_from_slice(member);
    put_score(out, score, prev);
}

/// Bytes of the entry-count header at the front of a non-empty run.
const HDR: usize = 2;
/// Header value meaning "too many to count here: walk the entries" (Redis's
/// listpack does the same past 65535 entries).
const COUNT_UNKNOWN: u16 = u16::MAX;

/// A flat sorted run of entries: the whole `listpack` encoding, or one chunk
/// of the `skiplist` encoding. One exact-size allocation (`[u16 count]
/// [entries…]`; nothing at all when empty), 16 bytes inline, so a small
/// sorted set is one allocation like a Redis listpack. Entries are read
/// front to back only (a score may be stored as the difference from the one
/// before); an insert or delete rewrites the entry after it against its new
/// neighbour and moves the tail, as a listpack does.
#[derive(Debug, Clone, Default)]
pub struct Pack {
    buf: Box<[u8]>,
}

pub struct PackIter<'a> {
    buf: &'a [u8],
    pos: usize,
    prev: f64,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = (f64, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let e = entry_at(self.buf, self.pos, self.prev);
        self.pos = e.next;
        self.prev = e.score;
        Some((e.score, &self.buf[e.member]))
    }
}

fn count_of(v: &[u8]) -> usize {
    if v.len() < HDR {
        return 0;
    }
    match u16::from_le_bytes([v[0], v[1]]) {
        COUNT_UNKNOWN => PackIter {
            buf: v,
            pos: HDR,
            prev: 0.0,
        }
        .count(),
        n => n as usize,
    }
}

fn set_count(v: &mut [u8], n: usize) {
    // 65535 itself reads back as "unknown", which walks and finds 65535.
    let h = u16::try_from(n).unwrap_or(COUNT_UNKNOWN);
    v[..HDR].copy_from_slice(&h.to_le_bytes());
}

/// Builds a run by appending entries in order.
#[derive(Default)]
struct PackBuilder {
    v: Vec<u8>,
    n: usize,
    prev: Option<f64>,
}

impl PackBuilder {
    fn push(&mut self, member: &[u8], score: f64) {
        if self.v.is_empty() {
            self.v.extend_from_slice(&[0; HDR]);
        }
        put_entry(&mut self.v, member, score, self.prev);
        self.prev = Some(score);
        self.n += 1;
    }

    fn finish(mut self) -> Pack {
        if self.n == 0 {
            return Pack::default();
        }
        set_count(&mut self.v, self.n);
        Pack {
            buf: self.v.into_boxed_slice(),
        }
    }

    fn build<'a>(entries: impl IntoIterator<Item = (f64, &'a [u8])>) -> Pack {
        let mut b = PackBuilder::default();
        for (s, m) in entries {
            b.push(m, s);
        }
        b.finish()
    }
}

impl Pack {
    fn len(&self) -> usize {
        count_of(&self.buf)
    }

    /// Encoded size in bytes.
    fn bytes(&self) -> usize {
        self.buf.len()
    }

    fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            pos: HDR.min(self.buf.len()),
            prev: 0.0,
        }
    }

    fn first(&self) -> Option<(f64, &[u8])> {
        self.iter().next()
    }

    /// Finds `member`: (index, score).
    fn find(&self, member: &[u8]) -> Option<(usize, f64)> {
        self.iter()
            .enumerate()
            .find(|(_, (_, m))| *m == member)
            .map(|(i, (s, _))| (i, s))
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

    /// Replaces bytes `range` with `with`, in the run's own allocation (a
    /// realloc to the exact new size, as a listpack insert or delete does),
    /// and moves the count by `delta`.
    fn splice(&mut self, range: std::ops::Range<usize>, with: &[u8], delta: isize) {
        let n = (self.len() as isize + delta).max(0) as usize;
        let mut v = std::mem::take(&mut self.buf).into_vec();
        if n == 0 {
            return;
        }
        // An empty run has no header yet: the entry goes after the new one.
        let range = if v.is_empty() {
            v.extend_from_slice(&[0; HDR]);
            HDR..HDR
        } else {
            range
        };
        let grow = with.len().saturating_sub(range.len());
        v.reserve_exact(grow);
        v.splice(range, with.iter().copied());
        set_count(&mut v, n);
        self.buf = v.into_boxed_slice();
    }

    /// Walks to the first entry for which `stop(score, member)` holds:
    /// (its offset, the previous entry's score, the entry itself if any).
    fn seek(&self, stop: impl Fn(f64, &[u8]) -> bool) -> (usize, Option<f64>, Option<Entry>) {
        let mut pos = HDR.min(self.buf.len());
        let mut prev = None;
        while pos < self.buf.len() {
            let e = entry_at(&self.buf, pos, prev.unwrap_or(0.0));
            if stop(e.score, &self.buf[e.member.clone()]) {
                return (pos, prev, Some(e));
            }
            prev = Some(e.score);
            pos = e.next;
        }
        (pos, prev, None)
    }

    /// Inserts an entry at its sorted place (the member must be absent).
    fn insert(&mut self, member: &[u8], score: f64) {
        let (pos, prev, next) = self.seek(|s, m| cmp_key(s, m, score, member) == Ordering::Greater);
        let mut with = Vec::with_capacity(member.len() + 16);
        put_entry(&mut with, member, score, prev);
        // The entry that now follows is re-based on the new one.
        let end = match &next {
            Some(e) => {
                put_entry(&mut with, &self.buf[e.member.clone()], e.score, Some(score));
                e.next
            }
            None => pos,
        };
        self.splice(pos..end, &with, 1);
    }

    /// Removes `member`; returns its score if it was there.
    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (pos, prev, found) = self.seek(|_, m| m == member);
        let e = found?;
        let mut with = Vec::new();
        // The entry after it is re-based on the one before it.
        let end = if e.next < self.buf.len() {
            let n = entry_at(&self.buf, e.next, e.score);
            put_entry(&mut with, &self.buf[n.member.clone()], n.score, prev);
            n.next
        } else {
            e.next
        };
        self.splice(pos..end, &with, -1);
        Some(e.score)
    }

    /// Number of leading entries for which `pred` holds (pred is monotone).
    fn partition_point(&self, pred: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        self.iter().take_while(|(s, m)| pred(*s, m)).count()
    }

    /// Splits off the second half into a new run.
    fn split(&mut self) -> Pack {
        let keep = self.len() / 2;
        let tail = PackBuilder::build(self.iter().skip(keep));
        let head = PackBuilder::build(self.iter().take(keep));
        *self = head;
        tail
    }

    /// Appends the entries of `next`, which all sort after this run's.
    fn append(&mut self, next: Pack) {
        let p = PackBuilder::build(self.iter().chain(next.iter()));
        *self = p;
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

    /// Appends a chunk of `size` at the end in O(log n): the new node covers
    /// the chunks `(i - lowbit(i), i]`, the others being already counted.
    fn push(&mut self, size: usize) {
        let i = self.t.len().max(1);
        if self.t.is_empty() {
            self.t.push(0);
        }
        let low = i & i.wrapping_neg();
        let covered = self.prefix(i - 1) - self.prefix(i - low);
        self.t.push((covered + size) as u32);
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
        if chunk.len() > CHUNK_ENTRIES || (chunk.bytes() > CHUNK_BYTES && chunk.len() > 1) {
            let tail = chunk.split();
            if c + 1 == self.chunks.len() {
                // Splitting the last chunk (ascending inserts: ids,
                // timestamps) extends the index instead of rebuilding it.
                let moved = tail.len();
                self.fen.add(c, 1 - moved as i64);
                self.fen.push(moved);
                self.chunks.push(tail);
            } else {
                self.chunks.insert(c + 1, tail);
                self.rebuild_index();
            }
        } else {
            self.fen.add(c, 1);
        }
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.dict.remove(member)?;
        let c = self.chunk_for(member, score);
        let chunk = &mut self.chunks[c];
        chunk.remove(member);
        let (n, bytes) = (chunk.len(), chunk.bytes());
        let small = n < CHUNK_ENTRIES / 4 && bytes < CHUNK_BYTES / 4;
        if n == 0 {
            self.chunks.remove(c);
            self.rebuild_index();
        } else if small
            && c + 1 < self.chunks.len()
            && self.chunks[c + 1].len() + n <= CHUNK_ENTRIES * 3 / 4
            && self.chunks[c + 1].bytes() + bytes <= CHUNK_BYTES * 3 / 4
        {
            // Merge sparse neighbours so deletions do not leave a trail of
            // near-empty chunks behind.
            let next = self.chunks.remove(c + 1);
            self.chunks[c].append(next);
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
    Tree(Arc<Tree>),
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
                enc: Enc::Tree(Arc::default()),
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
        let small =
            items.len() <= limits.entries && items.iter().all(|(m, _)| m.len() <= limits.value);
        if small {
            for it in items.iter_mut() {
                it.1 += 0.0; // no -0 in a listpack, as in `set`
            }
            let mut p = PackBuilder::default();
            for (m, s) in &items {
                p.push(m, *s);
            }
            return Zset {
                enc: Enc::Pack(p.finish()),
            };
        }
        let mut t = Tree::default();
        t.dict.reserve(items.len());
        let mut cur = PackBuilder::default();
        for (m, s) in &items {
            if cur.n >= CHUNK_ENTRIES * 3 / 4 || cur.v.len() >= CHUNK_BYTES * 3 / 4 {
                t.chunks.push(std::mem::take(&mut cur).finish());
            }
            cur.push(m, *s);
            t.dict.insert(m.as_ref().into(), *s);
        }
        if cur.n > 0 {
            t.chunks.push(cur.finish());
        }
        t.rebuild_index();
        Zset {
            enc: Enc::Tree(Arc::new(t)),
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

    /// Estimated bytes held (MEMORY USAGE): packed buffers, plus the member
    /// index of the big encoding (member bytes, score and a table slot each).
    pub fn memory(&self) -> usize {
        match &self.enc {
            Enc::Pack(p) => p.bytes(),
            Enc::Tree(t) => {
                let chunks: usize = t.chunks.iter().map(|c| c.bytes() + 24).sum();
                let dict: usize = t.dict.keys().map(|m| m.len() + 32).sum();
                chunks + dict + 64
            }
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.enc {
            Enc::Pack(p) => p.find(member).map(|(_, s)| s),
            Enc::Tree(t) => t.dict.get(member).copied(),
        }
    }

    /// Converts the listpack encoding to the big one (SORT does, as Redis's).
    pub fn convert_to_skiplist(&mut self) {
        self.convert();
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
            // A Redis listpack stores -0 as 0 (adding 0 turns -0 into 0 and
            // leaves every other value alone); its skiplist keeps -0.
            Enc::Pack(p) => p.insert(member, score + 0.0),
            Enc::Tree(t) => {
                let n = t.len();
                crate::long_step::make_mut(t, n).insert(member, score)
            }
        }
        old.is_none()
    }

    /// Removes `member`; returns its score if it was present.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.enc {
            Enc::Pack(p) => p.remove(member),
            Enc::Tree(t) => {
                let n = t.len();
                crate::long_step::make_mut(t, n).remove(member)
            }
        }
    }

    /// 0-based ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.enc {
            Enc::Pack(p) => p.find(member).map(|(i, _)| i),
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

    /// The runs and, for rank `r`, the run holding it and the index within.
    fn runs_at(&self, r: usize) -> (&[Pack], usize, usize) {
        match &self.enc {
            Enc::Pack(p) => (std::slice::from_ref(p), 0, r),
            Enc::Tree(t) => {
                let (c, i) = t.fen.find(r);
                (&t.chunks, c, i)
            }
        }
    }

    /// Entries in ascending order from rank `start`.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = (f64, &[u8])> + '_ {
        let (runs, c, i) = if start < self.len() {
            self.runs_at(start)
        } else {
            (&[][..], 0, 0)
        };
        runs.get(c..)
            .unwrap_or(&[])
            .iter()
            .flat_map(|r| r.iter())
            .skip(i)
    }

    /// Entries in descending order from rank `start` down to rank 0.
    pub fn iter_rev_from(&self, start: usize) -> impl Iterator<Item = (f64, &[u8])> + '_ {
        let (runs, c, i) = if start < self.len() {
            self.runs_at(start)
        } else {
            (&[][..], 0, 0)
        };
        // Runs are forward-only: each is decoded whole (at most a chunk, or
        // one small listpack) and walked backwards.
        let n = if runs.is_empty() { 0 } else { c + 1 };
        (0..n).rev().flat_map(move |ci| {
            let mut v: Vec<(f64, &[u8])> = runs[ci].iter().collect();
            if ci == c {
                v.truncate(i + 1);
            }
            v.into_iter().rev()
        })
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
            1.75,
            0.1,
            -13.25,
            0.3,
            2.675,
            1.0000001,
            1e-8,
            9.87654321,
        ] {
            let mut b = Vec::new();
            put_score(&mut b, s, None);
            let (d, end) = get_score(&b, 0, 0.0);
            assert_eq!(end, b.len());
            assert_eq!(d.to_bits(), s.to_bits(), "{s}");
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
                let fwd: Vec<_> = z.iter_from(r).take(3).map(|(_, m)| m.to_vec()).collect();
                let want: Vec<_> = model[r..].iter().take(3).map(|(_, m)| m.clone()).collect();
                assert_eq!(fwd, want);
                let back: Vec<_> = z
                    .iter_rev_from(r)
                    .take(3)
                    .map(|(_, m)| m.to_vec())
                    .collect();
                let want: Vec<_> = model[..=r]
                    .iter()
                    .rev()
                    .take(3)
                    .map(|(_, m)| m.clone())
                    .collect();
                assert_eq!(back, want);
                let pp = z.partition_point(|s, _| s < 0.0);
                assert_eq!(pp, model.iter().filter(|(s, _)| *s < 0.0).count());
                let r2 = (r + 7).min(model.len() - 1);
                let got: Vec<_> = z
                    .range(r, r2)
                    .into_iter()
                    .map(|(m, _)| m.to_vec())
                    .collect();
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
    fn fenwick_push_matches_build() {
        let sizes: Vec<usize> = (1..=37).map(|i| (i * 7) % 11 + 1).collect();
        let mut f = Fenwick::build(std::iter::empty());
        for (n, s) in sizes.iter().enumerate() {
            f.push(*s);
            let built = Fenwick::build(sizes[..=n].iter().copied());
            assert_eq!(f.t, built.t, "after {} pushes", n + 1);
        }
    }

    #[test]
    fn ascending_inserts_split_the_last_chunk() {
        let mut z = Zset::new(lim(0), 0);
        for i in 0..5000u32 {
            z.set(format!("m{i:05}").as_bytes(), i as f64, lim(0));
        }
        for r in [0usize, 1, 127, 128, 2500, 4999] {
            let (m, s) = z.nth(r).unwrap();
            assert_eq!(s, r as f64);
            assert_eq!(z.rank(&m), Some(r));
        }
    }

    #[test]
    fn score_differences_survive_edits() {
        // Integer neighbours are stored as differences: inserting or
        // removing between them must re-base the next entry.
        let scores = [
            f64::NEG_INFINITY,
            -9007199254740991.0,
            -5.0,
            -0.0,
            0.0,
            3.0,
            3.5,
            4.0,
            1.7e9,
            1.7e9 + 37.0,
            1e15,
            9007199254740991.0,
            1e300,
            f64::INFINITY,
        ];
        for limit in [1000, 0] {
            let l = lim(limit);
            let mut z = Zset::new(l, 0);
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            for (i, s) in scores.iter().enumerate().rev() {
                let m = format!("m{i}").into_bytes();
                z.set(&m, *s, l);
                model.push((*s, m));
            }
            for victim in [4usize, 0, 9, 13, 7] {
                let m = format!("m{victim}").into_bytes();
                assert!(z.remove(&m).is_some());
                model.retain(|(_, mm)| *mm != m);
            }
            model.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
            let got: Vec<_> = z.iter().map(|(s, m)| (s, m.to_vec())).collect();
            assert_eq!(got.len(), model.len());
            for (g, w) in got.iter().zip(&model) {
                assert_eq!(g.1, w.1);
                // -0 becomes 0 in the listpack encoding only.
                if limit == 0 || w.0 != 0.0 {
                    assert_eq!(g.0.to_bits(), w.0.to_bits(), "{:?}", w);
                }
            }
        }
    }

    #[test]
    fn huge_listpack_counts_past_u16() {
        let big = Limits {
            entries: 100_000,
            value: 64,
        };
        let items = (0..70_000u32)
            .map(|i| (Bytes::copy_from_slice(&i.to_be_bytes()), 1.0))
            .collect();
        let mut z = Zset::from_entries(items, big);
        assert_eq!(z.encoding_name(), "listpack");
        assert_eq!(z.len(), 70_000);
        z.remove(&5u32.to_be_bytes());
        assert_eq!(z.len(), 69_999);
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
