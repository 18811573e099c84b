//! The list representation: a deque of packed chunks (Redis's quicklist idea).
//!
//! Each chunk is one allocation holding up to `CHUNK_BYTES` of entries encoded
//! as `[varint length][bytes]`, with a `head` offset so pops from the front are
//! O(1) and pushes to the front reuse headroom. There is no per-element
//! allocation or pointer: a 16-byte element costs 17 bytes, against 18 in a
//! Redis listpack. Instead of a back-length per entry, the list keeps the entry
//! offsets of its last chunk (built on the first pop from the back), so RPOP is
//! O(1) amortised while only one chunk per list pays for an index.

use std::collections::VecDeque;

use bytes::Bytes;

/// Payload bytes per chunk before a new one is started (Redis's default
/// `list-max-listpack-size -2` is 8 KB).
const CHUNK_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, Default)]
struct Chunk {
    /// Entries live in `buf[head..]`.
    buf: Vec<u8>,
    head: usize,
    count: u32,
}

fn varint_len(n: usize) -> usize {
    let mut len = 1;
    let mut n = n >> 7;
    while n > 0 {
        len += 1;
        n >>= 7;
    }
    len
}

fn put_varint(out: &mut [u8], mut n: usize) -> usize {
    let mut i = 0;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out[i] = byte;
            return i + 1;
        }
        out[i] = byte | 0x80;
        i += 1;
    }
}

/// Decodes the entry at `pos`: (data start, data end).
fn entry_at(buf: &[u8], pos: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = pos;
    loop {
        let b = buf[i];
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (i, i + n)
}

impl Chunk {
    fn bytes_used(&self) -> usize {
        self.buf.len() - self.head
    }

    fn push_back(&mut self, v: &[u8]) {
        let mut hdr = [0u8; 10];
        let h = put_varint(&mut hdr, v.len());
        self.buf.extend_from_slice(&hdr[..h]);
        self.buf.extend_from_slice(v);
        self.count += 1;
    }

    fn push_front(&mut self, v: &[u8]) {
        let mut hdr = [0u8; 10];
        let h = put_varint(&mut hdr, v.len());
        let need = h + v.len();
        if self.head < need {
            // Make headroom: about as much as is used, within the chunk budget.
            let used = self.bytes_used();
            let room = need.max(used.min(CHUNK_BYTES / 2)).max(64);
            let mut nb = Vec::with_capacity(room + used);
            nb.resize(room, 0);
            nb.extend_from_slice(&self.buf[self.head..]);
            self.buf = nb;
            self.head = room;
        }
        let start = self.head - need;
        self.buf[start..start + h].copy_from_slice(&hdr[..h]);
        self.buf[start + h..self.head].copy_from_slice(v);
        self.head = start;
        self.count += 1;
    }

    fn pop_front(&mut self) -> Option<Bytes> {
        if self.count == 0 {
            return None;
        }
        let (s, e) = entry_at(&self.buf, self.head);
        let v = Bytes::copy_from_slice(&self.buf[s..e]);
        self.head = e;
        self.count -= 1;
        if self.count == 0 {
            self.buf.clear();
            self.head = 0;
        }
        Some(v)
    }

    fn entry_offsets(&self) -> VecDeque<u32> {
        let mut out = VecDeque::with_capacity(self.count as usize);
        let mut pos = self.head;
        for _ in 0..self.count {
            out.push_back(pos as u32);
            pos = entry_at(&self.buf, pos).1;
        }
        out
    }

    /// Removes the last entry, which starts at `pos`.
    fn pop_back_at(&mut self, pos: usize) -> Bytes {
        let (s, e) = entry_at(&self.buf, pos);
        let v = Bytes::copy_from_slice(&self.buf[s..e]);
        self.buf.truncate(pos);
        self.count -= 1;
        if self.count == 0 {
            self.buf.clear();
            self.head = 0;
        }
        v
    }

    fn iter(&self) -> ChunkIter<'_> {
        ChunkIter {
            buf: &self.buf,
            pos: self.head,
            left: self.count,
        }
    }
}

struct ChunkIter<'a> {
    buf: &'a [u8],
    pos: usize,
    left: u32,
}

impl<'a> Iterator for ChunkIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let (s, e) = entry_at(self.buf, self.pos);
        self.pos = e;
        self.left -= 1;
        Some(&self.buf[s..e])
    }
}

#[derive(Debug, Clone, Default)]
pub struct List {
    chunks: VecDeque<Chunk>,
    len: usize,
    /// Entry offsets in the last chunk, front to back; valid only when its
    /// length equals that chunk's count (rebuilt lazily otherwise).
    tail: VecDeque<u32>,
}

impl List {
    pub fn new() -> List {
        List::default()
    }

    pub fn from_slices<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> List {
        let mut l = List::new();
        for i in items {
            l.push_back(i);
        }
        l
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Redis 7.0 reports every list as a quicklist.
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    pub fn node_count(&self) -> usize {
        self.chunks.len()
    }

    pub fn node_capacity(&self) -> usize {
        CHUNK_BYTES
    }

    fn fits(chunk: &Chunk, v: &[u8]) -> bool {
        chunk.bytes_used() + v.len() + varint_len(v.len()) <= CHUNK_BYTES || chunk.count == 0
    }

    fn tail_valid(&self) -> bool {
        self.chunks
            .back()
            .is_some_and(|c| c.count as usize == self.tail.len())
    }

    pub fn push_back(&mut self, v: &[u8]) {
        let valid = self.tail_valid();
        match self.chunks.back_mut() {
            Some(c) if Self::fits(c, v) => {
                let pos = c.buf.len() as u32;
                c.push_back(v);
                if valid {
                    self.tail.push_back(pos);
                } else {
                    self.tail.clear();
                }
            }
            _ => {
                self.tail.clear();
                let mut c = Chunk::default();
                if !self.chunks.is_empty() {
                    // Later chunks of a big list fill up: size them once.
                    c.buf.reserve_exact(CHUNK_BYTES.max(v.len() + 10));
                }
                c.push_back(v);
                self.chunks.push_back(c);
            }
        }
        self.len += 1;
    }

    pub fn push_front(&mut self, v: &[u8]) {
        let single = self.chunks.len() == 1;
        match self.chunks.front_mut() {
            Some(c) if Self::fits(c, v) => {
                c.push_front(v);
                if single {
                    // The front chunk is the last one: its offsets moved.
                    self.tail.clear();
                }
            }
            _ => {
                let mut c = Chunk::default();
                if !self.chunks.is_empty() {
                    let cap = CHUNK_BYTES.max(v.len() + 10);
                    c.buf = vec![0; cap];
                    c.head = cap;
                }
                c.push_front(v);
                self.chunks.push_front(c);
            }
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Bytes> {
        let single = self.chunks.len() == 1;
        let valid = self.tail_valid();
        let c = self.chunks.front_mut()?;
        let v = c.pop_front()?;
        if single && valid {
            self.tail.pop_front();
        }
        if c.count == 0 {
            self.chunks.pop_front();
            if single {
                self.tail.clear();
            }
        }
        self.len -= 1;
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<Bytes> {
        if !self.tail_valid() {
            self.tail = self.chunks.back()?.entry_offsets();
        }
        let c = self.chunks.back_mut()?;
        let pos = self.tail.pop_back()? as usize;
        let v = c.pop_back_at(pos);
        if c.count == 0 {
            self.chunks.pop_back();
            self.tail.clear();
        }
        self.len -= 1;
        Some(v)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        // Back-to-front iteration collects per chunk; chunks are small.
        ListIter {
            list: self,
            front_chunk: 0,
            front: None,
            back_chunk: self.chunks.len(),
            back: Vec::new(),
            remaining: self.len,
        }
    }

    /// Element at a Redis index (negative counts from the tail).
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        let idx = self.normalize(index)?;
        let mut skip = idx;
        for c in &self.chunks {
            if skip < c.count as usize {
                return c.iter().nth(skip);
            }
            skip -= c.count as usize;
        }
        None
    }

    pub fn normalize(&self, index: i64) -> Option<usize> {
        let len = self.len as i64;
        let i = if index < 0 { len + index } else { index };
        if i < 0 || i >= len {
            None
        } else {
            Some(i as usize)
        }
    }

    /// Elements `start..=end` (already clamped by the caller), cloned out.
    pub fn range(&self, start: usize, end: usize) -> Vec<Bytes> {
        self.iter()
            .skip(start)
            .take(end + 1 - start)
            .map(Bytes::copy_from_slice)
            .collect()
    }

    /// Rebuilds the list from owned elements (LSET, LINSERT, LREM, LTRIM).
    pub fn rebuild(items: Vec<Bytes>) -> List {
        List::from_slices(items.iter().map(|b| b.as_ref()))
    }

    pub fn to_vec(&self) -> Vec<Bytes> {
        self.iter().map(Bytes::copy_from_slice).collect()
    }

    /// Approximate heap bytes (MEMORY USAGE, DEBUG).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.buf.capacity() + 32).sum()
    }
}

struct ListIter<'a> {
    list: &'a List,
    front_chunk: usize,
    front: Option<ChunkIter<'a>>,
    back_chunk: usize,
    back: Vec<&'a [u8]>,
    remaining: usize,
}

impl<'a> Iterator for ListIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if let Some(it) = self.front.as_mut() {
                if let Some(v) = it.next() {
                    self.remaining -= 1;
                    return Some(v);
                }
            }
            if self.front_chunk < self.back_chunk {
                self.front = Some(self.list.chunks[self.front_chunk].iter());
                self.front_chunk += 1;
            } else {
                // Front caught up with the back's partially consumed chunk.
                if self.back.is_empty() {
                    return None;
                }
                self.remaining -= 1;
                return Some(self.back.remove(0));
            }
        }
    }
}

impl<'a> DoubleEndedIterator for ListIter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if let Some(v) = self.back.pop() {
                self.remaining -= 1;
                return Some(v);
            }
            if self.back_chunk > self.front_chunk {
                self.back_chunk -= 1;
                self.back = self.list.chunks[self.back_chunk].iter().collect();
            } else {
                let it = self.front.as_mut()?;
                let rest: Vec<&[u8]> = it.collect();
                self.front = None;
                self.back = rest;
                if self.back.is_empty() {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deque_behaviour_matches_vecdeque() {
        let mut l = List::new();
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut seed = 12345u64;
        for i in 0..20000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = format!("v{i}-{}", "x".repeat((seed >> 60) as usize * 20)).into_bytes();
            match seed >> 62 {
                0 => {
                    l.push_back(&v);
                    model.push_back(v);
                }
                1 => {
                    l.push_front(&v);
                    model.push_front(v);
                }
                2 => assert_eq!(l.pop_front().map(|b| b.to_vec()), model.pop_front()),
                _ => assert_eq!(l.pop_back().map(|b| b.to_vec()), model.pop_back()),
            }
            assert_eq!(l.len(), model.len());
        }
        let fwd: Vec<Vec<u8>> = l.iter().map(|b| b.to_vec()).collect();
        assert_eq!(fwd, model.iter().cloned().collect::<Vec<_>>());
        let back: Vec<Vec<u8>> = l.iter().rev().map(|b| b.to_vec()).collect();
        assert_eq!(back, model.iter().rev().cloned().collect::<Vec<_>>());
        for i in [0i64, 1, -1, -2, 5] {
            let expect = model.len() as i64 + i;
            let idx = if i < 0 { expect } else { i };
            assert_eq!(
                l.get(i).map(|b| b.to_vec()),
                model.get(idx as usize).cloned()
            );
        }
    }

    #[test]
    fn mixed_iteration_meets_in_the_middle() {
        let l = List::from_slices(
            (0..1000)
                .map(|i| format!("{i}").into_bytes())
                .collect::<Vec<_>>()
                .iter()
                .map(|v| v.as_slice()),
        );
        let mut it = l.iter();
        let mut seen = Vec::new();
        for k in 0..1000 {
            let v = if k % 3 == 0 {
                it.next_back()
            } else {
                it.next()
            };
            seen.push(
                String::from_utf8(v.unwrap().to_vec())
                    .unwrap()
                    .parse::<u32>()
                    .unwrap(),
            );
        }
        assert!(it.next().is_none());
        seen.sort();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn compact_encoding() {
        let mut l = List::new();
        for _ in 0..100_000 {
            l.push_back(&[7u8; 16]);
        }
        let per = l.heap_bytes() as f64 / l.len() as f64;
        assert!(per < 18.0, "bytes per element {per}");
    }
}
