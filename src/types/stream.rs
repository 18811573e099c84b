//! The stream value: entries in compact nodes, plus consumer groups.
//!
//! # API
//! - `Stream::append` / `delete` / `trim` change the entries; `range` reads them.
//! - `last_id`, `first_id`, `max_deleted_id`, `entries_added` are Redis 7.0's
//!   stream metadata (XINFO, XSETID, consumer-group lag).
//! - `groups`: consumer groups by name (ordered, as Redis's radix tree).
//!
//! # Representation
//! As Redis's radix tree of listpacks: a `BTreeMap` of nodes keyed by the ID
//! of the first entry ever appended to the node (its master ID). A node is one
//! flat byte buffer: the master field names (those of the node's first entry)
//! followed by the entries. An entry is a flags byte, the ID as varint deltas
//! from the master ID, and then either only the values (when its field names
//! equal the master's: repeated field names cost nothing) or its own
//! field/value pairs. Deleting marks the flags byte; a node whose entries are
//! all deleted is dropped. A node takes new entries until it holds
//! `stream-node-max-entries` entries or `stream-node-max-bytes` bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bytes::Bytes;

/// A stream entry ID: `<ms>-<seq>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next ID, or None past the last possible one (Redis's streamIncrID).
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                None
            } else {
                Some(StreamId::new(self.ms + 1, 0))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous ID, or None before 0-0 (Redis's streamDecrID).
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                None
            } else {
                Some(StreamId::new(self.ms - 1, u64::MAX))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    pub fn to_bytes(self) -> Bytes {
        Bytes::from(self.to_string())
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

const DELETED: u8 = 1;
const SAME_FIELDS: u8 = 2;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint written by `put_varint` (buffers are only ever written by
/// this module, so a short buffer is a bug: it reads as zeros, never panics).
fn get_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&b) = buf.get(*pos) {
        *pos += 1;
        if shift < 64 {
            v |= ((b & 0x7f) as u64) << shift;
        }
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    v
}

fn get_slice<'b>(buf: &'b [u8], pos: &mut usize) -> &'b [u8] {
    let n = get_varint(buf, pos) as usize;
    let start = (*pos).min(buf.len());
    let end = start.saturating_add(n).min(buf.len());
    *pos = end;
    &buf[start..end]
}

fn skip_slice(buf: &[u8], pos: &mut usize) {
    let n = get_varint(buf, pos) as usize;
    *pos = pos.saturating_add(n);
}

/// One node: master fields then entries, in one buffer.
#[derive(Clone, Debug)]
struct Node {
    /// ID of the first entry appended (the map key too): the delta base.
    master: StreamId,
    /// ID of the last entry appended, deleted or not.
    last: StreamId,
    /// Master field count, then each field name; then the entries.
    buf: Vec<u8>,
    /// Where the entries start in `buf`.
    entries_at: u32,
    /// Entries not deleted.
    live: u32,
    /// Entries ever appended to this node (deleted ones included).
    total: u32,
}

/// One decoded entry header.
struct EntryHead {
    /// Offset of the flags byte.
    start: usize,
    id: StreamId,
    flags: u8,
    /// Offset of the field data (after the ID).
    body: usize,
    /// Offset of the next entry.
    next: usize,
}

impl Node {
    fn new(id: StreamId, fields: &[Bytes]) -> Node {
        let mut buf = Vec::with_capacity(64);
        let n = fields.len() / 2;
        put_varint(&mut buf, n as u64);
        for f in fields.iter().step_by(2) {
            put_varint(&mut buf, f.len() as u64);
            buf.extend_from_slice(f);
        }
        let entries_at = buf.len() as u32;
        Node {
            master: id,
            last: id,
            buf,
            entries_at,
            live: 0,
            total: 0,
        }
    }

    fn master_fields(&self) -> Vec<&[u8]> {
        let mut pos = 0;
        let n = get_varint(&self.buf, &mut pos);
        let mut out = Vec::with_capacity(n.min(1024) as usize);
        for _ in 0..n {
            out.push(get_slice(&self.buf, &mut pos));
        }
        out
    }

    fn same_fields(&self, fields: &[Bytes]) -> bool {
        let mut pos = 0;
        let n = get_varint(&self.buf, &mut pos);
        if n as usize != fields.len() / 2 {
            return false;
        }
        fields
            .iter()
            .step_by(2)
            .all(|f| get_slice(&self.buf, &mut pos) == f.as_ref())
    }

    fn push(&mut self, id: StreamId, fields: &[Bytes]) {
        let same = self.same_fields(fields);
        let buf = &mut self.buf;
        buf.push(if same { SAME_FIELDS } else { 0 });
        put_varint(buf, id.ms.wrapping_sub(self.master.ms));
        if id.ms == self.master.ms {
            put_varint(buf, id.seq.wrapping_sub(self.master.seq));
        } else {
            put_varint(buf, id.seq);
        }
        if same {
            for v in fields.iter().skip(1).step_by(2) {
                put_varint(buf, v.len() as u64);
                buf.extend_from_slice(v);
            }
        } else {
            put_varint(buf, (fields.len() / 2) as u64);
            for x in fields {
                put_varint(buf, x.len() as u64);
                buf.extend_from_slice(x);
            }
        }
        self.last = id;
        self.live += 1;
        self.total += 1;
    }

    fn head(&self, at: usize, master_count: u64) -> EntryHead {
        let buf = &self.buf;
        let flags = buf.get(at).copied().unwrap_or(DELETED);
        let mut pos = at + 1;
        let dms = get_varint(buf, &mut pos);
        let s = get_varint(buf, &mut pos);
        let ms = self.master.ms.wrapping_add(dms);
        let seq = if dms == 0 {
            self.master.seq.wrapping_add(s)
        } else {
            s
        };
        let body = pos;
        if flags & SAME_FIELDS != 0 {
            for _ in 0..master_count {
                skip_slice(buf, &mut pos);
            }
        } else {
            let n = get_varint(buf, &mut pos);
            for _ in 0..n.saturating_mul(2) {
                skip_slice(buf, &mut pos);
                if pos >= buf.len() {
                    break;
                }
            }
        }
        EntryHead {
            start: at,
            id: StreamId::new(ms, seq),
            flags,
            body,
            next: pos,
        }
    }

    /// Every entry header in order (deleted ones included).
    fn heads(&self) -> Vec<EntryHead> {
        let mut pos = 0;
        let mc = get_varint(&self.buf, &mut pos);
        let mut out = Vec::with_capacity(self.total as usize);
        let mut at = self.entries_at as usize;
        while at < self.buf.len() {
            let h = self.head(at, mc);
            at = h.next;
            out.push(h);
        }
        out
    }

    /// The flattened field/value pairs of the entry whose body is at `body`.
    fn fields(&self, flags: u8, body: usize) -> Vec<Bytes> {
        let buf = &self.buf;
        let mut pos = body;
        if flags & SAME_FIELDS != 0 {
            let names = self.master_fields();
            let mut out = Vec::with_capacity(names.len() * 2);
            for name in names {
                out.push(Bytes::copy_from_slice(name));
                out.push(Bytes::copy_from_slice(get_slice(buf, &mut pos)));
            }
            out
        } else {
            let n = get_varint(buf, &mut pos);
            let mut out = Vec::with_capacity((n.min(1 << 20) * 2) as usize);
            for _ in 0..n.saturating_mul(2) {
                out.push(Bytes::copy_from_slice(get_slice(buf, &mut pos)));
            }
            out
        }
    }

    fn mark_deleted(&mut self, at: usize) {
        if let Some(f) = self.buf.get_mut(at) {
            *f |= DELETED;
        }
        self.live = self.live.saturating_sub(1);
    }
}

/// A pending entry: delivered to a consumer, not yet acknowledged.
#[derive(Clone, Debug)]
pub struct Nack {
    pub consumer: Bytes,
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Consumer {
    /// Unix ms of the consumer's last read or claim.
    pub seen_time: u64,
    /// IDs pending for this consumer (the `Nack`s live in the group's PEL).
    pub pel: BTreeSet<StreamId>,
}

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub last_id: StreamId,
    /// Entries the group has read, or -1 when unknown (Redis's entries_read).
    pub entries_read: i64,
    /// The group's pending entries list, by ID.
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Bytes, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Acknowledges `id`; true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(n) => {
                if let Some(c) = self.consumers.get_mut(&n.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Gives pending `id` to `consumer` (which must exist), creating the NACK if
    /// absent; returns the NACK.
    pub fn assign(&mut self, id: StreamId, consumer: &Bytes, now: u64) -> &mut Nack {
        if let Some(prev) = self.pel.get(&id).map(|n| n.consumer.clone()) {
            if prev != *consumer {
                if let Some(c) = self.consumers.get_mut(&prev) {
                    c.pel.remove(&id);
                }
            }
        }
        // The consumer's own stored name: `consumer` may be a slice of a request.
        let name = match self.consumers.get_key_value(consumer) {
            Some((k, _)) => k.clone(),
            None => Bytes::copy_from_slice(consumer),
        };
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
        let nack = self.pel.entry(id).or_insert_with(|| Nack {
            consumer: name.clone(),
            delivery_time: now,
            delivery_count: 0,
        });
        nack.consumer = name;
        nack
    }
}

/// How XADD / XTRIM trim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    None,
    MaxLen(u64),
    MinId(StreamId),
}

#[derive(Clone, Debug, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    /// Live entries.
    pub length: u64,
    /// The last ID ever generated (stays when that entry is deleted).
    pub last_id: StreamId,
    /// The first live entry's ID (0-0 when empty).
    pub first_id: StreamId,
    /// The largest ID ever deleted by XDEL.
    pub max_deleted_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    pub groups: BTreeMap<Bytes, Group>,
}

/// Redis's SCG_INVALID_ENTRIES_READ.
pub const INVALID_ENTRIES_READ: i64 = -1;

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    /// Estimated bytes held (MEMORY USAGE): node buffers plus per-node and
    /// per-pending-entry bookkeeping; consumers count by name.
    pub fn memory(&self) -> usize {
        const NODE: usize = 64;
        const NACK: usize = 64;
        let nodes: usize = self.nodes.values().map(|n| n.buf.capacity() + NODE).sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| {
                let consumers: usize = g.consumers.keys().map(|c| c.len() + NACK).sum();
                name.len() + NACK + g.pel.len() * 2 * NACK + consumers
            })
            .sum();
        nodes + groups + 64
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Whether the metadata and the groups agree with each other and with
    /// the entries: what a payload from RESTORE or a file must satisfy before
    /// it becomes a key (Redis's `sanitize-dump-payload` checks, and the
    /// invariants its commands keep):
    /// - entries-added is at least the length, the max-deleted ID is not past
    ///   the last ID, and no entry is past the last ID (XSETID refuses each);
    /// - a group's entries-read is -1 (unknown) or not negative;
    /// - every pending entry is owned by exactly one consumer, the one its
    ///   NACK names, and every consumer's pending entries are in the group's.
    ///
    /// A group's last-delivered ID past the stream's last ID is allowed: Redis
    /// 7.0's XGROUP CREATE and SETID accept one.
    pub fn is_consistent(&self) -> bool {
        if self.entries_added < self.length || self.max_deleted_id > self.last_id {
            return false;
        }
        if self.last_valid_id().is_some_and(|id| id > self.last_id) {
            return false;
        }
        self.groups.values().all(|g| {
            let owned: usize = g.consumers.values().map(|c| c.pel.len()).sum();
            g.entries_read >= INVALID_ENTRIES_READ
                && owned == g.pel.len()
                && g.consumers.iter().all(|(name, c)| {
                    c.pel
                        .iter()
                        .all(|id| g.pel.get(id).is_some_and(|n| n.consumer == *name))
                })
        })
    }

    /// Radix-tree keys as XINFO reports them: our nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes used by the entry buffers (for memory accounting and tests).
    pub fn buffer_bytes(&self) -> usize {
        self.nodes.values().map(|n| n.buf.capacity()).sum()
    }

    /// Appends an entry with an ID already checked to be above `last_id`.
    /// `fields` is the flat field/value list (even length, at least 2).
    pub fn append(&mut self, id: StreamId, fields: &[Bytes], max_entries: u64, max_bytes: u64) {
        // Redis's rule (streamAppendItem): a new node when the entry's field
        // and value bytes would bring the node to the byte limit (0: 1 GB),
        // or when the node holds the maximum entries, deleted ones counted.
        let max_bytes = if max_bytes == 0 || max_bytes > 1 << 30 {
            1 << 30
        } else {
            max_bytes
        };
        let payload: u64 = fields.iter().map(|f| f.len() as u64).sum();
        let fits = match self.nodes.values().next_back() {
            Some(n) => {
                (n.buf.len() as u64).saturating_add(payload) < max_bytes
                    && (max_entries == 0 || (n.total as u64) < max_entries)
                    && n.total < u32::MAX - 1
            }
            None => false,
        };
        if fits {
            if let Some(n) = self.nodes.values_mut().next_back() {
                n.push(id, fields);
            }
        } else {
            // The previous tail is full: give back its growth slack.
            if let Some(n) = self.nodes.values_mut().next_back() {
                n.buf.shrink_to_fit();
            }
            let mut n = Node::new(id, fields);
            n.push(id, fields);
            self.nodes.insert(id, n);
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
    }

    /// Calls `f` for live entries with IDs in `[start, end]`, in order (or
    /// reversed), until it returns false.
    pub fn scan(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(StreamId, &dyn Fn() -> Vec<Bytes>) -> bool,
    ) {
        if start > end {
            return;
        }
        // The node holding `start` may begin before it.
        let first_key = self
            .nodes
            .range(..=start)
            .next_back()
            .map(|(k, _)| *k)
            .unwrap_or(start);
        let iter = self.nodes.range(first_key..=end);
        let nodes: Box<dyn Iterator<Item = (&StreamId, &Node)>> = if rev {
            Box::new(iter.rev())
        } else {
            Box::new(iter)
        };
        for (_, node) in nodes {
            if node.live == 0 || node.last < start {
                continue;
            }
            let heads = node.heads();
            let list: Box<dyn Iterator<Item = &EntryHead>> = if rev {
                Box::new(heads.iter().rev())
            } else {
                Box::new(heads.iter())
            };
            for h in list {
                if h.flags & DELETED != 0 || h.id < start || h.id > end {
                    continue;
                }
                let (flags, body) = (h.flags, h.body);
                if !f(h.id, &|| node.fields(flags, body)) {
                    return;
                }
            }
        }
    }

    /// Up to `count` (0: all) live entries in `[start, end]`.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        count: usize,
        rev: bool,
    ) -> Vec<(StreamId, Vec<Bytes>)> {
        let mut out = Vec::new();
        self.scan(start, end, rev, |id, fields| {
            out.push((id, fields()));
            count == 0 || out.len() < count
        });
        out
    }

    /// The fields of entry `id`, if it exists.
    pub fn get(&self, id: StreamId) -> Option<Vec<Bytes>> {
        self.range(id, id, 1, false).pop().map(|(_, f)| f)
    }

    pub fn contains(&self, id: StreamId) -> bool {
        let mut found = false;
        self.scan(id, id, false, |_, _| {
            found = true;
            false
        });
        found
    }

    /// The last live entry's ID (Redis's streamLastValidID).
    pub fn last_valid_id(&self) -> Option<StreamId> {
        let mut out = None;
        self.scan(StreamId::MIN, StreamId::MAX, true, |id, _| {
            out = Some(id);
            false
        });
        out
    }

    fn first_valid_id(&self) -> Option<StreamId> {
        let mut out = None;
        self.scan(StreamId::MIN, StreamId::MAX, false, |id, _| {
            out = Some(id);
            false
        });
        out
    }

    /// Marks entry `id` deleted (not touching first_id / max_deleted_id).
    fn remove_entry(&mut self, id: StreamId) -> bool {
        let Some((&key, _)) = self.nodes.range(..=id).next_back() else {
            return false;
        };
        let Some(node) = self.nodes.get_mut(&key) else {
            return false;
        };
        if node.last < id {
            return false;
        }
        let at = node
            .heads()
            .into_iter()
            .find(|h| h.id == id && h.flags & DELETED == 0)
            .map(|h| h.start);
        let Some(at) = at else {
            return false;
        };
        node.mark_deleted(at);
        if node.live == 0 {
            self.nodes.remove(&key);
        }
        self.length -= 1;
        true
    }

    /// XDEL of one ID, with Redis's metadata updates.
    pub fn delete(&mut self, id: StreamId) -> bool {
        if !self.remove_entry(id) {
            return false;
        }
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if id == self.first_id {
            self.first_id = self.first_valid_id().unwrap_or_default();
        }
        true
    }

    /// Redis's streamTrim: whole nodes from the head, then (unless `approx`)
    /// entries one by one in the first node that straddles the limit. `limit`
    /// (0: none) caps the entries removed. Returns how many were removed.
    pub fn trim(&mut self, trim: Trim, approx: bool, limit: u64) -> u64 {
        if trim == Trim::None {
            return 0;
        }
        let mut deleted = 0u64;
        while let Some((&key, node)) = self.nodes.iter().next() {
            if let Trim::MaxLen(max) = trim {
                if self.length <= max {
                    break;
                }
            }
            let entries = node.live as u64;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match trim {
                Trim::MaxLen(max) => self.length - entries >= max,
                Trim::MinId(min) => node.last < min,
                Trim::None => false,
            };
            if remove_node {
                self.nodes.remove(&key);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let Some(node) = self.nodes.get_mut(&key) else {
                break;
            };
            let mut removed = 0u64;
            for h in node.heads() {
                let stop = match trim {
                    Trim::MaxLen(max) => self.length - removed <= max,
                    Trim::MinId(min) => h.id >= min,
                    Trim::None => true,
                };
                if stop {
                    break;
                }
                if h.flags & DELETED == 0 {
                    let at = h.start;
                    node.mark_deleted(at);
                    removed += 1;
                }
            }
            self.length -= removed;
            deleted += removed;
            if node.live == 0 {
                self.nodes.remove(&key);
            }
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.first_valid_id().unwrap_or_default();
        }
        deleted
    }

    /// The first live ID for the XADD/XTRIM `~` rewrite (0-0 when empty).
    pub fn first_entry_id(&self) -> StreamId {
        self.first_valid_id().unwrap_or_default()
    }

    /// Redis's streamRangeHasTombstones.
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// Redis's streamEstimateDistanceFromFirstEverEntry (-1: unknown).
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        let added = self.entries_added as i64;
        if self.length == 0 && id <= self.last_id {
            return added;
        }
        if id == self.last_id {
            return added;
        } else if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return added - self.length as i64;
            } else if id == self.first_id {
                return added - self.length as i64 + 1;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// A group's lag, or None when it cannot be known (streamReplyWithCGLag).
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ
            && !self.range_has_tombstones(g.last_id, StreamId::MAX)
        {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        let read = self.estimate_distance(g.last_id);
        (read != INVALID_ENTRIES_READ).then(|| self.entries_added as i64 - read)
    }

    /// Moves a group's read position to `id` as delivering it does.
    pub fn advance_group(&self, g: &mut Group, id: StreamId) {
        if id <= g.last_id {
            return;
        }
        if g.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(id, StreamId::MAX) {
            g.entries_read += 1;
        } else if self.entries_added != 0 {
            g.entries_read = self.estimate_distance(id);
        }
        g.last_id = id;
    }

    /// Every live entry (DUMP).
    pub fn all_entries(&self) -> Vec<(StreamId, Vec<Bytes>)> {
        self.range(StreamId::MIN, StreamId::MAX, 0, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn add(s: &mut Stream, ms: u64, seq: u64, f: &[&str]) {
        let fields: Vec<Bytes> = f.iter().map(|x| b(x)).collect();
        s.append(StreamId::new(ms, seq), &fields, 3, 4096);
    }

    #[test]
    fn append_range_delete() {
        let mut s = Stream::new();
        for i in 1..=10 {
            add(&mut s, i, 0, &["f", &i.to_string()]);
        }
        add(&mut s, 10, 1, &["other", "x", "g", "y"]);
        assert_eq!(s.len(), 11);
        assert_eq!(s.node_count(), 4);
        let all = s.range(StreamId::MIN, StreamId::MAX, 0, false);
        assert_eq!(all.len(), 11);
        assert_eq!(all[3].1, vec![b("f"), b("4")]);
        assert_eq!(all[10].1, vec![b("other"), b("x"), b("g"), b("y")]);
        let rev = s.range(StreamId::new(2, 0), StreamId::new(5, 0), 2, true);
        assert_eq!(rev.iter().map(|e| e.0.ms).collect::<Vec<_>>(), vec![5, 4]);
        assert!(s.delete(StreamId::new(1, 0)));
        assert!(!s.delete(StreamId::new(1, 0)));
        assert_eq!(s.first_id, StreamId::new(2, 0));
        assert_eq!(s.max_deleted_id, StreamId::new(1, 0));
        assert!(s.delete(StreamId::new(2, 0)));
        assert!(s.delete(StreamId::new(3, 0)));
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.last_valid_id(), Some(StreamId::new(10, 1)));
        assert_eq!(s.get(StreamId::new(4, 0)), Some(vec![b("f"), b("4")]));
    }

    #[test]
    fn trims_like_redis() {
        let mut s = Stream::new();
        for i in 1..=10 {
            add(&mut s, i, 0, &["f", "v"]);
        }
        // Approximate: whole nodes only.
        assert_eq!(s.trim(Trim::MaxLen(8), true, 0), 0);
        assert_eq!(s.trim(Trim::MaxLen(7), true, 0), 3);
        assert_eq!(s.trim(Trim::MaxLen(5), false, 0), 2);
        assert_eq!(s.len(), 5);
        assert_eq!(s.first_id, StreamId::new(6, 0));
        assert_eq!(s.trim(Trim::MinId(StreamId::new(8, 0)), false, 0), 2);
        assert_eq!(s.first_id, StreamId::new(8, 0));
    }

    /// Random appends, deletes, trims and range reads against a BTreeMap model.
    #[test]
    fn matches_a_simple_model() {
        let mut seed = 0x2545f4914f6cdd1du64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut s = Stream::new();
        let mut model: BTreeMap<StreamId, Vec<Bytes>> = BTreeMap::new();
        let mut next = StreamId::new(1, 0);
        for round in 0..4000 {
            match rnd(10) {
                0..=5 => {
                    let fields: Vec<Bytes> = if rnd(3) == 0 {
                        vec![b("other"), b(&round.to_string())]
                    } else {
                        vec![b("f1"), b(&round.to_string()), b("f2"), b("")]
                    };
                    s.append(next, &fields, 7, 120);
                    model.insert(next, fields);
                    next = if rnd(2) == 0 {
                        StreamId::new(next.ms, next.seq + 1 + rnd(300))
                    } else {
                        StreamId::new(next.ms + 1 + rnd(100_000), rnd(3))
                    };
                }
                6 | 7 => {
                    if let Some(&id) = model.keys().nth(rnd(model.len() as u64 + 1) as usize) {
                        assert!(s.delete(id));
                        model.remove(&id);
                    }
                }
                8 => {
                    let max = rnd(model.len() as u64 + 5);
                    let approx = rnd(2) == 0;
                    let removed = s.trim(Trim::MaxLen(max), approx, 0);
                    for _ in 0..removed {
                        let first = *model.keys().next().expect("model has entries");
                        model.remove(&first);
                    }
                    if !approx {
                        assert!(model.len() as u64 <= max);
                    }
                }
                _ => {
                    let keys: Vec<StreamId> = model.keys().copied().collect();
                    if keys.is_empty() {
                        continue;
                    }
                    let lo = keys[rnd(keys.len() as u64) as usize];
                    let hi = keys[rnd(keys.len() as u64) as usize];
                    let count = rnd(5) as usize;
                    let rev = rnd(2) == 0;
                    let got = s.range(lo, hi, count, rev);
                    let mut want: Vec<(StreamId, Vec<Bytes>)> = if lo <= hi {
                        model.range(lo..=hi).map(|(k, v)| (*k, v.clone())).collect()
                    } else {
                        Vec::new()
                    };
                    if rev {
                        want.reverse();
                    }
                    if count > 0 {
                        want.truncate(count);
                    }
                    assert_eq!(got, want, "range {lo}..{hi} count {count} rev {rev}");
                }
            }
            assert_eq!(s.len(), model.len() as u64);
            assert_eq!(
                s.first_id,
                model.keys().next().copied().unwrap_or_default(),
                "first id after round {round}"
            );
            assert_eq!(s.last_valid_id(), model.keys().next_back().copied());
        }
    }
}
