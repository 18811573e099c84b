//! `Dict`: the table encoding of a big hash, a chained hash table like Redis's
//! `dict`, so that random picks and SCAN cost O(1) / O(COUNT) as in Redis.
//!
//! API: `get / insert / remove / len / iter / random / scan`.
//!
//! Each field lives in ONE allocation, `Node`: `[next][varint flen][varint
//! vlen][field][value]` — the chain pointer is inside the node, so a field
//! costs its bucket slot (8 bytes at load 0.5–1), the 8-byte link, two length
//! bytes and its bytes, against Redis's dictEntry (24) + two sds + bucket.
//! Buckets are a power of two, grown when the table is full and shrunk below
//! 10% fill (Redis's thresholds); a resize rehashes at once (Redis does it
//! incrementally). `scan` is Redis's reverse-binary cursor over buckets, so a
//! field present for a whole scan is returned even if the table resizes
//! between calls.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::hash::BuildHasher;
use std::ptr::NonNull;

/// The link at the start of every node.
type Link = Option<Node>;
const LINK: usize = std::mem::size_of::<Link>();

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

/// One field and its value (and the chain link) in one allocation.
pub struct Node(NonNull<u8>);

// SAFETY: a `Node` uniquely owns its allocation (like a `Box`); the link is
// only reached through `&mut Node`.
unsafe impl Send for Node {}
unsafe impl Sync for Node {}

impl Node {
    fn layout(payload: usize) -> Layout {
        match Layout::from_size_align(LINK + payload, std::mem::align_of::<Link>()) {
            Ok(l) => l,
            // Only a length near isize::MAX gets here; the protocol caps argument sizes.
            Err(_) => handle_alloc_error(Layout::new::<Link>()),
        }
    }

    pub fn new(field: &[u8], value: &[u8]) -> Node {
        let mut head = Vec::with_capacity(20);
        put_varint(&mut head, field.len());
        put_varint(&mut head, value.len());
        let layout = Node::layout(head.len() + field.len() + value.len());
        // SAFETY: the layout is non-zero-sized and aligned for `Link`; the link
        // and every payload byte are written before the node is used.
        unsafe {
            let Some(p) = NonNull::new(alloc(layout)) else {
                handle_alloc_error(layout);
            };
            std::ptr::write(p.as_ptr() as *mut Link, None);
            let dst = p.as_ptr().add(LINK);
            std::ptr::copy_nonoverlapping(head.as_ptr(), dst, head.len());
            let dst = dst.add(head.len());
            std::ptr::copy_nonoverlapping(field.as_ptr(), dst, field.len());
            std::ptr::copy_nonoverlapping(value.as_ptr(), dst.add(field.len()), value.len());
            Node(p)
        }
    }

    /// A copy of this node's field and value, unlinked.
    fn copy_alone(&self) -> Node {
        let payload = self.payload();
        let layout = Node::layout(payload.len());
        // SAFETY: as in `new`: the link is written, then the payload bytes.
        unsafe {
            let Some(p) = NonNull::new(alloc(layout)) else {
                handle_alloc_error(layout);
            };
            std::ptr::write(p.as_ptr() as *mut Link, None);
            std::ptr::copy_nonoverlapping(payload.as_ptr(), p.as_ptr().add(LINK), payload.len());
            Node(p)
        }
    }

    fn link(&self) -> &Link {
        // SAFETY: the first LINK bytes are an initialised, aligned `Link`.
        unsafe { &*(self.0.as_ptr() as *const Link) }
    }

    fn link_mut(&mut self) -> &mut Link {
        // SAFETY: as in `link`; `&mut self` makes the access unique.
        unsafe { &mut *(self.0.as_ptr() as *mut Link) }
    }

    fn varint(&self, pos: usize) -> (usize, usize) {
        let mut n = 0usize;
        let mut i = pos;
        let mut shift = 0;
        loop {
            // SAFETY: the varints were written whole right after the link.
            let b = unsafe { *self.0.as_ptr().add(LINK + i) };
            n |= ((b & 0x7f) as usize) << shift;
            i += 1;
            if b & 0x80 == 0 {
                return (n, i - pos);
            }
            shift += 7;
        }
    }

    /// (header length, field length, value length).
    fn header(&self) -> (usize, usize, usize) {
        let (flen, a) = self.varint(0);
        let (vlen, b) = self.varint(a);
        (a + b, flen, vlen)
    }

    fn payload(&self) -> &[u8] {
        let (h, f, v) = self.header();
        // SAFETY: the payload is exactly h + f + v initialised bytes after the link.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(LINK), h + f + v) }
    }

    pub fn field(&self) -> &[u8] {
        let (h, f, _) = self.header();
        &self.payload()[h..h + f]
    }

    pub fn value(&self) -> &[u8] {
        let (h, f, _) = self.header();
        &self.payload()[h + f..]
    }

    /// Bytes allocated for this node (MEMORY USAGE).
    pub fn size(&self) -> usize {
        let (h, f, v) = self.header();
        LINK + h + f + v
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Unlink the rest of the chain first and drop it node by node, so a
        // long chain is not dropped recursively.
        let mut rest = self.link_mut().take();
        while let Some(mut n) = rest {
            rest = n.link_mut().take();
        }
        let (h, f, v) = self.header();
        // SAFETY: allocated in `new` with exactly this layout; the link (now
        // None) needs no drop.
        unsafe { dealloc(self.0.as_ptr(), Node::layout(h + f + v)) }
    }
}

pub struct Dict {
    /// Chain heads; the length is zero or a power of two.
    buckets: Vec<Link>,
    len: usize,
    /// An upper bound of every chain's length (exact after a resize, raised
    /// by inserts): `random` samples positions below it, uniformly.
    max_chain: usize,
    /// SipHash keys, random per table (Redis also hashes with SipHash).
    keys: std::collections::hash_map::RandomState,
}

impl Default for Dict {
    fn default() -> Self {
        Dict::new()
    }
}

impl Clone for Dict {
    /// A structural copy: same hash keys and bucket layout, each node's bytes
    /// copied as they are, so nothing is rehashed (this is the copy a write
    /// pays when a snapshot still shares the table).
    fn clone(&self) -> Dict {
        let buckets = self
            .buckets
            .iter()
            .map(|head| {
                let mut copies = Vec::new();
                let mut at = head.as_ref();
                while let Some(node) = at {
                    copies.push(node.copy_alone());
                    at = node.link().as_ref();
                }
                // Relink in the original order, last node first.
                copies.into_iter().rev().fold(None, |next, mut node| {
                    *node.link_mut() = next;
                    Some(node)
                })
            })
            .collect();
        Dict {
            buckets,
            len: self.len,
            max_chain: self.max_chain,
            keys: self.keys.clone(),
        }
    }
}

impl std::fmt::Debug for Dict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

impl Dict {
    pub fn new() -> Dict {
        Dict {
            buckets: Vec::new(),
            len: 0,
            max_chain: 0,
            keys: Default::default(),
        }
    }

    pub fn with_capacity(n: usize) -> Dict {
        let mut d = Dict::new();
        d.resize(n.max(1).next_power_of_two());
        d
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets.
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Bytes held: the bucket array and every node (MEMORY USAGE).
    pub fn memory(&self) -> usize {
        self.buckets.len() * LINK + self.nodes().map(Node::size).sum::<usize>()
    }

    fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.buckets
            .iter()
            .flat_map(|head| std::iter::successors(head.as_ref(), |n| n.link().as_ref()))
    }

    fn bucket_of(&self, field: &[u8]) -> usize {
        (self.keys.hash_one(field) as usize) & (self.buckets.len() - 1)
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        if self.buckets.is_empty() {
            return None;
        }
        let mut cur = self.buckets[self.bucket_of(field)].as_ref();
        while let Some(n) = cur {
            if n.field() == field {
                return Some(n.value());
            }
            cur = n.link().as_ref();
        }
        None
    }

    /// The link that holds `field`'s node, or the empty link at the end of
    /// its chain.
    fn find_link(&mut self, field: &[u8]) -> &mut Link {
        let b = self.bucket_of(field);
        let mut link = &mut self.buckets[b];
        while link.as_ref().is_some_and(|n| n.field() != field) {
            link = match link {
                Some(n) => n.link_mut(),
                None => break,
            };
        }
        link
    }

    /// Sets `field` to `value`; true if the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        // Grow when full (Redis's load factor 1), before linking.
        if self.len >= self.buckets.len() {
            self.resize((self.len + 1).next_power_of_two());
        }
        let link = self.find_link(field);
        let mut node = Node::new(field, value);
        match link.take() {
            Some(mut old) => {
                // Replaced in its place in the chain.
                *node.link_mut() = old.link_mut().take();
                *link = Some(node);
                false
            }
            None => {
                *link = Some(node);
                self.len += 1;
                let b = self.bucket_of(field);
                self.max_chain = self.max_chain.max(chain_len(&self.buckets[b]));
                true
            }
        }
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        if self.buckets.is_empty() {
            return false;
        }
        let link = self.find_link(field);
        let Some(mut node) = link.take() else {
            return false;
        };
        *link = node.link_mut().take();
        drop(node);
        self.len -= 1;
        // Shrink below 10% fill, as Redis does.
        if self.buckets.len() > 4 && self.len * 10 < self.buckets.len() {
            self.resize(self.len.max(4).next_power_of_two());
        }
        true
    }

    /// Rehashes every node into `n` buckets (a power of two).
    fn resize(&mut self, n: usize) {
        let old = std::mem::replace(&mut self.buckets, (0..n).map(|_| None).collect());
        for mut head in old {
            while let Some(mut node) = head {
                head = node.link_mut().take();
                let b = self.bucket_of(node.field());
                *node.link_mut() = self.buckets[b].take();
                self.buckets[b] = Some(node);
            }
        }
        self.max_chain = self.buckets.iter().map(chain_len).max().unwrap_or(0);
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            buckets: self.buckets.iter(),
            cur: None,
        }
    }

    /// A uniformly random field: a random (bucket, position below the
    /// longest chain) until it names a node. Each try picks any given node with
    /// the same probability; at load >= 10% and chains of a few nodes it ends
    /// after a few dozen tries at most. `below(n)` draws from `0..n`.
    pub fn random(&self, mut below: impl FnMut(usize) -> usize) -> Option<(&[u8], &[u8])> {
        if self.len == 0 {
            return None;
        }
        loop {
            let b = below(self.buckets.len());
            let mut pos = below(self.max_chain.max(1));
            let mut cur = self.buckets[b].as_ref();
            while let Some(n) = cur {
                if pos == 0 {
                    return Some((n.field(), n.value()));
                }
                pos -= 1;
                cur = n.link().as_ref();
            }
        }
    }

    /// HSCAN/SSCAN over the table, as Redis's loop: whole buckets until
    /// `count` entries, at most 10×`count` buckets; returns the next cursor,
    /// 0 once the table has been covered.
    pub fn scan<'a>(
        &'a self,
        mut cursor: u64,
        count: usize,
        out: &mut Vec<(&'a [u8], &'a [u8])>,
    ) -> u64 {
        let mut budget = count.saturating_mul(10);
        loop {
            cursor = self.scan_bucket(cursor, out);
            budget = budget.saturating_sub(1);
            if cursor == 0 || budget == 0 || out.len() >= count {
                return cursor;
            }
        }
    }

    /// One SCAN step: the nodes of bucket `cursor & mask`, and the next
    /// cursor (0 when done), by Redis's reverse-binary increment, which visits
    /// every bucket of a table that grows or shrinks between calls.
    pub fn scan_bucket<'a>(&'a self, cursor: u64, out: &mut Vec<(&'a [u8], &'a [u8])>) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        let mut cur = self.buckets[(cursor & mask) as usize].as_ref();
        while let Some(n) = cur {
            out.push((n.field(), n.value()));
            cur = n.link().as_ref();
        }
        let mut v = cursor | !mask;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }
}

fn chain_len(head: &Link) -> usize {
    std::iter::successors(head.as_ref(), |n| n.link().as_ref()).count()
}

pub struct Iter<'a> {
    buckets: std::slice::Iter<'a, Link>,
    cur: Option<&'a Node>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(n) = self.cur {
                self.cur = n.link().as_ref();
                return Some((n.field(), n.value()));
            }
            self.cur = self.buckets.next()?.as_ref();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn nodes_roundtrip() {
        for (f, v) in [
            (&b""[..], &b""[..]),
            (b"a", b"bc"),
            (&[7u8; 200][..], &[9u8; 70000][..]),
        ] {
            let n = Node::new(f, v);
            assert_eq!(n.field(), f);
            assert_eq!(n.value(), v);
        }
    }

    #[test]
    fn a_clone_is_the_same_table_and_independent() {
        let mut d = Dict::new();
        for i in 0..5000 {
            d.insert(format!("f{i}").as_bytes(), format!("v{i}").as_bytes());
        }
        let mut c = d.clone();
        let order = |d: &Dict| {
            d.iter()
                .map(|(f, v)| (f.to_vec(), v.to_vec()))
                .collect::<Vec<_>>()
        };
        // Same buckets and chains: same iteration (and so SCAN) order.
        assert_eq!(order(&c), order(&d));
        assert_eq!(c.len(), 5000);
        c.insert(b"f1", b"changed");
        c.remove(b"f2");
        c.insert(b"new", b"x");
        assert_eq!(d.get(b"f1"), Some(&b"v1"[..]));
        assert_eq!(d.get(b"f2"), Some(&b"v2"[..]));
        assert_eq!(d.get(b"new"), None);
        assert_eq!(c.get(b"f1"), Some(&b"changed"[..]));
        assert_eq!(c.get(b"f2"), None);
        assert_eq!(c.len(), 5000);
    }

    #[test]
    fn matches_a_map_model_and_shrinks() {
        let mut x: u64 = 88172645463325252;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut d = Dict::new();
        let mut model = BTreeMap::new();
        for _ in 0..20000 {
            let f = format!("f{}", rnd(2000)).into_bytes();
            if rnd(3) == 0 {
                assert_eq!(d.remove(&f), model.remove(&f).is_some());
            } else {
                let v = vec![b'v'; rnd(40) as usize];
                assert_eq!(d.insert(&f, &v), model.insert(f, v).is_none());
            }
            assert_eq!(d.len(), model.len());
        }
        let got: BTreeMap<Vec<u8>, Vec<u8>> =
            d.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(got, model);
        assert_eq!(d.clone().iter().count(), model.len());
        for f in model.keys().cloned().collect::<Vec<_>>() {
            assert!(d.remove(&f));
        }
        assert!(d.is_empty());
        assert!(d.buckets() <= 4);
    }

    #[test]
    fn scan_survives_resizes() {
        let mut d = Dict::new();
        for i in 0..1000 {
            d.insert(format!("k{i}").as_bytes(), b"v");
        }
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            let mut out = Vec::new();
            cursor = d.scan_bucket(cursor, &mut out);
            seen.extend(out.iter().map(|(f, _)| f.to_vec()));
            step += 1;
            // Grow, then shrink, mid-scan; keys k0..k999 stay throughout.
            if step == 50 {
                for i in 0..5000 {
                    d.insert(format!("tmp{i}").as_bytes(), b"v");
                }
            }
            if step == 300 {
                for i in 0..5000 {
                    d.remove(format!("tmp{i}").as_bytes());
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(format!("k{i}").as_bytes()), "k{i} missed");
        }
    }

    #[test]
    fn random_picks_every_field() {
        let mut d = Dict::new();
        for f in ["a", "b", "c", "d", "e"] {
            d.insert(f.as_bytes(), b"1");
        }
        let mut x: u64 = 7;
        let mut seen = BTreeSet::new();
        for _ in 0..500 {
            let (f, _) = d
                .random(|n| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % n as u64) as usize
                })
                .unwrap();
            seen.insert(f.to_vec());
        }
        assert_eq!(seen.len(), 5);
        assert!(Dict::new().random(|_| 0).is_none());
    }

    /// Every field equally likely, whatever its chain (the suite's chi-square test).
    #[test]
    fn random_is_uniform() {
        let mut d = Dict::new();
        for i in 0..10 {
            d.insert(format!("f{i}").as_bytes(), b"1");
        }
        let mut x: u64 = 99;
        let mut counts = BTreeMap::new();
        let draws = 100_000;
        for _ in 0..draws {
            let (f, _) = d
                .random(|n| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % n as u64) as usize
                })
                .unwrap();
            *counts.entry(f.to_vec()).or_insert(0u32) += 1;
        }
        let expected = draws as f64 / 10.0;
        let chi2: f64 = counts
            .values()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 40.0, "chi-square {chi2}");
    }
}
