//! Redis RDB version 10 (Redis 7.0): encoder and decoder.
//!
//! What we emit is what any Redis 7.0 loads: plain `RDB_TYPE_STRING` (integers
//! that fit in 32 bits int-encoded, as Redis does), `RDB_TYPE_LIST`,
//! `RDB_TYPE_SET`, `RDB_TYPE_HASH`, `RDB_TYPE_ZSET_2` (Redis converts them to
//! its compact encodings on load), `RDB_TYPE_STREAM_LISTPACKS_2` (listpacks
//! written here in Redis's stream node layout),
//! `EXPIRETIME_MS`, `SELECTDB`, `RESIZEDB`, AUX fields and the CRC-64 trailer.
//! We decode that plus what Redis 7.0 (and older versions) emit for small
//! values: intsets, listpacks, ziplists, quicklists (v1 and v2) and LZF-compressed
//! strings, sorted-set listpacks/ziplists and streams (types 15 and 19, parsed
//! in `rdb_stream`), so a Cinnabar replica can
//! sync from a real redis-server.
//!
//! Adding a type (hashes, sorted sets, streams): one arm in `write_value`
//! calling a `write_<type>` function, and one arm per RDB type in `read_value`.

use std::collections::HashSet;

use bytes::Bytes;

use super::crc64::crc64;
use super::rdb_compact::{self, Elem};
use crate::keyspace::{Keyspace, Locked, Value};
use crate::types::hash::{Hash, Limits};
use crate::types::list::List;
use crate::types::set::{Set, DEFAULT_MAX_INTSET_ENTRIES as SET_MAX_INTSET_ENTRIES};
use crate::types::stream::{Stream, StreamId};
use crate::types::zset::{Limits as ZsetLimits, Zset};

pub const RDB_VERSION: u32 = 10;
/// Elements preallocated at most for a collection, whatever its length says
/// (the length is also capped by the bytes left): larger ones grow as loaded.
const PREALLOC_MAX: usize = 1 << 16;

// Value types (rdb.h).
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_SET_LISTPACK: u8 = 20;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_ZSET_2: u8 = 5;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;
/// Redis 7.2's stream encoding, read (consumer active times dropped).
const TYPE_STREAM_LISTPACKS_3: u8 = 21;

/// Entries per stream radix-tree node we write (Redis's default
/// `stream-node-max-entries`); any count loads.
const STREAM_NODE_ENTRIES: usize = 100;

// Opcodes.
const OP_FUNCTION2: u8 = 245;
const OP_MODULE_AUX: u8 = 247;
const OP_IDLE: u8 = 248;
const OP_FREQ: u8 = 249;
const OP_AUX: u8 = 250;
const OP_RESIZEDB: u8 = 251;
const OP_EXPIRETIME_MS: u8 = 252;
const OP_EXPIRETIME: u8 = 253;
const OP_SELECTDB: u8 = 254;
const OP_EOF: u8 = 255;

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

const QUICKLIST_NODE_PLAIN: u64 = 1;

pub use crate::keyspace::capture::Item;
use crate::keyspace::capture::{Capture, ShardCopy};

/// A point-in-time copy of the dataset: `dbs[i]` holds database i's keys.
#[derive(Default)]
pub struct Snapshot {
    pub dbs: Vec<Vec<Item>>,
    /// Function libraries' code (FUNCTION LOAD payloads), saved before the keys.
    pub functions: Vec<Bytes>,
}

impl Snapshot {
    fn from_shards(parts: Vec<ShardCopy>, databases: usize) -> Snapshot {
        let mut dbs: Vec<Vec<Item>> = (0..databases).map(|_| Vec::new()).collect();
        for part in parts {
            for (db, items) in dbs.iter_mut().zip(part) {
                db.extend(items);
            }
        }
        Snapshot {
            dbs,
            functions: Vec::new(),
        }
    }
}

/// A snapshot begun at one instant and completed shard by shard
/// (`keyspace::capture`): `finish` it on the thread that will encode it.
pub struct PendingSnapshot(std::sync::Arc<Capture>, Vec<Bytes>);

impl PendingSnapshot {
    /// Locks each shard in turn (never all at once) and gathers the copies.
    pub fn finish(self, ks: &Keyspace) -> Snapshot {
        let mut snap = Snapshot::from_shards(ks.finish_capture(&self.0), ks.databases());
        snap.functions = self.1;
        snap
    }
}

/// What `decode` found: the keys by database and the AUX fields.
#[derive(Default, Debug)]
pub struct Loaded {
    pub dbs: Vec<(usize, Vec<Item>)>,
    pub aux: Vec<(Bytes, Bytes)>,
    /// Function libraries' code, for `Functions::restore`.
    pub functions: Vec<Bytes>,
    /// Empty collections left out (Redis's "empty keys skipped").
    pub empty_keys_skipped: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub struct RdbError(pub String);

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, RdbError> {
    Err(RdbError(msg.into()))
}

/// Begins a copy of every key of every database as it is now. Every shard
/// lock is held only to mark the shards pending (no data is copied then);
/// `under_lock` runs while they are held (the master notes its replication
/// offset and attaches the replica there, so the stream that follows starts
/// exactly after this snapshot).
pub fn capture(ks: &Keyspace, functions: Vec<Bytes>, under_lock: impl FnOnce()) -> PendingSnapshot {
    PendingSnapshot(ks.begin_capture(under_lock), functions)
}

/// A snapshot taken at once by a caller that already holds every shard
/// (DEBUG RELOAD).
pub fn capture_locked(locks: &mut Locked, databases: usize) -> Snapshot {
    let parts = locks.iter_mut().map(|shard| shard.copy()).collect();
    Snapshot::from_shards(parts, databases)
}

/// Replaces the whole dataset with `loaded` (replica full sync, startup load).
/// Keys already expired are skipped when `skip_expired` (a master loading a
/// file); a replica keeps them and waits for the master's DEL, as Redis.
/// Returns the number of keys loaded.
pub fn install(ks: &Keyspace, loaded: Loaded, skip_expired: bool, now_ms: u64) -> usize {
    let mut locks = ks.lock_all();
    install_locked(ks, &mut locks, loaded, skip_expired, now_ms, true)
}

/// `install` on shards the caller holds; `flush` first empties every database.
pub fn install_locked(
    ks: &Keyspace,
    locks: &mut Locked,
    loaded: Loaded,
    skip_expired: bool,
    now_ms: u64,
    flush: bool,
) -> usize {
    if flush {
        for shard in locks.iter_mut() {
            for db in shard.dbs.iter_mut() {
                db.touch_all_watched(None);
                db.clear();
            }
        }
    }
    let mut n = 0;
    for (dbi, items) in loaded.dbs {
        if dbi >= ks.databases() {
            continue;
        }
        for (key, value, expire) in items {
            if skip_expired && expire != 0 && expire <= now_ms {
                continue;
            }
            let shard = locks.shard(ks.shard_of(&key));
            let db = &mut shard.dbs[dbi];
            db.insert(&key, value, false, 0);
            db.set_expire(&key, expire);
            n += 1;
        }
    }
    n
}

// ---------------------------------------------------------------- encoding

fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// A string, int-encoded when it is the canonical text of a 32-bit integer
/// (Redis's `rdbTryIntegerEncoding`), else length-prefixed.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = canonical_int(s) {
            if let Ok(v) = i8::try_from(v) {
                out.push(0xC0 | ENC_INT8);
                out.push(v as u8);
                return;
            }
            if let Ok(v) = i16::try_from(v) {
                out.push(0xC0 | ENC_INT16);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
            if let Ok(v) = i32::try_from(v) {
                out.push(0xC0 | ENC_INT32);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// The integer `s` spells, only if printing it gives `s` back (no `+`, `007`, `-0`).
fn canonical_int(s: &[u8]) -> Option<i64> {
    let v: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    (v.to_string().as_bytes() == s).then_some(v)
}

fn write_aux(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    out.push(OP_AUX);
    write_string(out, key.as_bytes());
    write_string(out, value);
}

/// One key: the RDB type byte, the key, the payload.
fn write_value(out: &mut Vec<u8>, key: &[u8], value: &Value) {
    match value {
        Value::Str(s) => {
            out.push(TYPE_STRING);
            write_string(out, key);
            write_string(out, s);
        }
        Value::List(l) => write_list(out, key, l),
        Value::Set(s) => write_set(out, key, s),
        Value::Hash(h) => write_hash(out, key, h),
        Value::Zset(z) => write_zset(out, key, z),
        Value::Stream(st) => write_stream(out, key, st),
    }
}

/// RDB_TYPE_ZSET_2: length, then member and binary little-endian f64 score,
/// highest score first as Redis's rdbSaveObject walks the skiplist from the
/// tail (so loading inserts at the head, cheaply).
fn write_zset(out: &mut Vec<u8>, key: &[u8], z: &Zset) {
    out.push(TYPE_ZSET_2);
    write_string(out, key);
    write_len(out, z.len() as u64);
    let items: Vec<(f64, &[u8])> = z.iter().collect();
    for (score, member) in items.into_iter().rev() {
        write_string(out, member);
        out.extend_from_slice(&score.to_le_bytes());
    }
}

/// A stream ID as a radix-tree key: two big-endian u64s.
fn raw_stream_id(id: StreamId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.ms.to_be_bytes());
    k[8..].copy_from_slice(&id.seq.to_be_bytes());
    k
}

fn write_stream_id(out: &mut Vec<u8>, id: StreamId) {
    write_len(out, id.ms);
    write_len(out, id.seq);
}

/// RDB_TYPE_STREAM_LISTPACKS_2 as Redis 7.0's rdbSaveObject writes it: the
/// radix tree as (master ID, listpack) pairs, then length, last ID, first ID,
/// max deleted ID, entries added, and the consumer groups (last ID, entries
/// read, global PEL with delivery time and count, consumers with seen time
/// and their PEL IDs). Nodes are rebuilt from the live entries (tombstones
/// are not kept), in Redis's node layout (t_stream.c streamAppendItem).
fn write_stream(out: &mut Vec<u8>, key: &[u8], st: &Stream) {
    out.push(TYPE_STREAM_LISTPACKS_2);
    write_string(out, key);
    let entries = st.all_entries();
    let chunks: Vec<_> = entries.chunks(STREAM_NODE_ENTRIES).collect();
    write_len(out, chunks.len() as u64);
    for chunk in chunks {
        let master = chunk[0].0;
        write_string(out, &raw_stream_id(master));
        write_string(out, &stream_node_listpack(master, chunk));
    }
    write_len(out, st.len());
    write_stream_id(out, st.last_id);
    write_stream_id(out, entries.first().map_or(StreamId::MIN, |e| e.0));
    write_stream_id(out, st.max_deleted_id);
    write_len(out, st.entries_added);
    write_len(out, st.groups.len() as u64);
    for (name, g) in &st.groups {
        write_string(out, name);
        write_stream_id(out, g.last_id);
        // SCG_INVALID_ENTRIES_READ (-1) is stored as an unsigned length.
        write_len(out, g.entries_read as u64);
        write_len(out, g.pel.len() as u64);
        for (id, nack) in &g.pel {
            out.extend_from_slice(&raw_stream_id(*id));
            out.extend_from_slice(&nack.delivery_time.to_le_bytes());
            write_len(out, nack.delivery_count);
        }
        write_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            write_string(out, cname);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            write_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&raw_stream_id(*id));
            }
        }
    }
}

/// One stream node: the master entry (count, deleted, the first entry's
/// field names, 0), then per entry flags, ID deltas from the master, the
/// fields (values only when the names match the master's) and lp-count.
fn stream_node_listpack(master: StreamId, chunk: &[(StreamId, Vec<Bytes>)]) -> Vec<u8> {
    const SAME_FIELDS: i64 = 2;
    let mut lp = Listpack::new();
    let master_fields: Vec<&Bytes> = chunk[0].1.iter().step_by(2).collect();
    lp.int(chunk.len() as i64);
    lp.int(0);
    lp.int(master_fields.len() as i64);
    for f in &master_fields {
        lp.string(f);
    }
    lp.int(0);
    for (id, fields) in chunk {
        let names: Vec<&Bytes> = fields.iter().step_by(2).collect();
        let same = names == master_fields;
        let n = (fields.len() / 2) as i64;
        lp.int(if same { SAME_FIELDS } else { 0 });
        // Deltas fit i64 in practice; Redis writes them the same way.
        lp.int(id.ms.wrapping_sub(master.ms) as i64);
        lp.int(id.seq.wrapping_sub(master.seq) as i64);
        if same {
            for v in fields.iter().skip(1).step_by(2) {
                lp.string(v);
            }
            lp.int(n + 3);
        } else {
            lp.int(n);
            for x in fields {
                lp.string(x);
            }
            lp.int(n + 3 + n + 1);
        }
    }
    lp.finish()
}

/// A listpack writer (Redis's listpack.c): 4-byte total length, 2-byte
/// element count (65535 once it no longer fits), entries each followed by
/// their back-length, and a 0xFF terminator.
struct Listpack {
    buf: Vec<u8>,
    count: usize,
}

impl Listpack {
    fn new() -> Listpack {
        Listpack {
            buf: vec![0; 6],
            count: 0,
        }
    }

    fn entry(&mut self, enc: &[u8]) {
        self.buf.extend_from_slice(enc);
        // Back-length: the entry size in 7-bit groups, most significant
        // first, every group but the first flagged with 0x80.
        let l = enc.len() as u64;
        let mut groups = vec![(l & 127) as u8];
        let mut rest = l >> 7;
        while rest > 0 {
            groups.push((rest & 127) as u8);
            rest >>= 7;
        }
        let n = groups.len();
        for (i, g) in groups.into_iter().rev().enumerate() {
            self.buf.push(if i == 0 || n == 1 { g } else { g | 128 });
        }
        self.count += 1;
    }

    fn int(&mut self, v: i64) {
        let enc: Vec<u8> = if (0..=127).contains(&v) {
            vec![v as u8]
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u16) & 0x1fff;
            vec![0xC0 | (u >> 8) as u8, u as u8]
        } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
            let mut e = vec![0xF1];
            e.extend_from_slice(&(v as i16).to_le_bytes());
            e
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            let mut e = vec![0xF2];
            e.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            e
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
            let mut e = vec![0xF3];
            e.extend_from_slice(&(v as i32).to_le_bytes());
            e
        } else {
            let mut e = vec![0xF4];
            e.extend_from_slice(&v.to_le_bytes());
            e
        };
        self.entry(&enc);
    }

    /// A string, stored as an integer when it is one's canonical text
    /// (as lpInsert does).
    fn string(&mut self, s: &[u8]) {
        if s.len() <= 20 {
            if let Some(v) = canonical_int(s) {
                return self.int(v);
            }
        }
        let mut enc = Vec::with_capacity(s.len() + 5);
        if s.len() < 64 {
            enc.push(0x80 | s.len() as u8);
        } else if s.len() < 4096 {
            enc.push(0xE0 | (s.len() >> 8) as u8);
            enc.push(s.len() as u8);
        } else {
            enc.push(0xF0);
            enc.extend_from_slice(&(s.len() as u32).to_le_bytes());
        }
        enc.extend_from_slice(s);
        self.entry(&enc);
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

fn write_hash(out: &mut Vec<u8>, key: &[u8], h: &Hash) {
    out.push(TYPE_HASH);
    write_string(out, key);
    write_len(out, h.len() as u64);
    for (f, v) in h.iter() {
        write_string(out, f);
        write_string(out, v);
    }
}

fn write_list(out: &mut Vec<u8>, key: &[u8], l: &List) {
    out.push(TYPE_LIST);
    write_string(out, key);
    write_len(out, l.len() as u64);
    for item in l.iter() {
        write_string(out, item);
    }
}

/// An intset as Redis writes it (RDB_TYPE_SET_INTSET, its blob as a
/// string), a table as RDB_TYPE_SET.
fn write_set(out: &mut Vec<u8>, key: &[u8], s: &Set) {
    match s {
        Set::Ints(i) => {
            out.push(TYPE_SET_INTSET);
            write_string(out, key);
            write_string(out, &i.to_redis_blob());
        }
        Set::Table(_) => {
            out.push(TYPE_SET);
            write_string(out, key);
            write_len(out, s.len() as u64);
            for m in s.iter() {
                m.with_bytes(|m| write_string(out, m));
            }
        }
    }
}

/// Serializes `snap` with the given AUX fields (after redis-ver, redis-bits,
/// ctime, used-mem, which are always written). CPU-bound: run it off the
/// connection tasks (`spawn_blocking`).
pub fn encode(snap: &Snapshot, aux: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    write_aux(&mut out, "redis-ver", crate::REDIS_VERSION.as_bytes());
    write_aux(&mut out, "redis-bits", b"64");
    let now = crate::server::unix_ms();
    write_aux(&mut out, "ctime", (now / 1000).to_string().as_bytes());
    write_aux(
        &mut out,
        "used-mem",
        crate::alloc::allocated().to_string().as_bytes(),
    );
    for (k, v) in aux {
        write_aux(&mut out, k, v.as_bytes());
    }
    for code in &snap.functions {
        out.push(OP_FUNCTION2);
        write_string(&mut out, code);
    }
    for (i, items) in snap.dbs.iter().enumerate() {
        if items.is_empty() {
            continue;
        }
        out.push(OP_SELECTDB);
        write_len(&mut out, i as u64);
        out.push(OP_RESIZEDB);
        write_len(&mut out, items.len() as u64);
        write_len(&mut out, items.iter().filter(|i| i.2 != 0).count() as u64);
        for (key, value, expire) in items {
            if *expire != 0 {
                out.push(OP_EXPIRETIME_MS);
                out.extend_from_slice(&expire.to_le_bytes());
            }
            write_value(&mut out, key, value);
        }
    }
    out.push(OP_EOF);
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// One value as DUMP carries it: its RDB type and encoding, no key.
pub fn encode_value(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // Written with an empty key (one length byte, 0) which is then taken
    // out: the same encoders as the RDB file, so the two agree.
    write_value(&mut out, b"", value);
    out.remove(1);
    out
}

/// The value of a DUMP payload's body (type and encoding): every length is
/// checked against the body, and all of it must be used.
pub fn decode_value(body: &[u8]) -> Result<Value, RdbError> {
    let mut r = Reader { data: body, pos: 0 };
    let ty = r.u8()?;
    let value = read_value(&mut r, ty)?;
    if value.is_empty_collection() {
        // Redis's RDB_LOAD_ERR_EMPTY_KEY: RESTORE answers "Bad data format".
        return err(EMPTY_KEY);
    }
    if r.pos != body.len() {
        return err("trailing bytes after the value");
    }
    Ok(value)
}

/// `decode_value`'s refusal of an empty collection, which Redis does not
/// report as corruption (rdbLoadObject's `emptykey`).
pub const EMPTY_KEY: &str = "empty key";

/// Ends a DUMP-style payload: the RDB version (2 bytes) and the CRC64 of
/// everything before it, little-endian, as Redis's DUMP and FUNCTION DUMP.
pub fn seal_payload(out: &mut Vec<u8>) {
    out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(0, out);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// The body of a sealed payload if its version is one we read and its CRC64
/// holds (Redis's verifyDumpPayload).
pub fn verify_payload(payload: &[u8]) -> Option<&[u8]> {
    payload_body(payload, false)
}

/// `verify_payload`, the CRC64 left unchecked when `skip_crc` (DEBUG
/// SET-SKIP-CHECKSUM-VALIDATION 1): the version is checked either way.
pub fn payload_body(payload: &[u8], skip_crc: bool) -> Option<&[u8]> {
    if payload.len() < 10 {
        return None;
    }
    let (rest, crc) = payload.split_at(payload.len() - 8);
    let version = u16::from_le_bytes([rest[rest.len() - 2], rest[rest.len() - 1]]);
    if version as u32 > RDB_VERSION {
        return None;
    }
    if skip_crc {
        return Some(&rest[..rest.len() - 2]);
    }
    let mut c = [0u8; 8];
    c.copy_from_slice(crc);
    (crc64(0, rest) == u64::from_le_bytes(c)).then(|| &rest[..rest.len() - 2])
}

/// One RDB string at the start of `data`, and how many bytes it took.
pub fn read_string_at(data: &[u8]) -> Result<(Bytes, usize), RdbError> {
    let mut r = Reader { data, pos: 0 };
    let s = r.string()?;
    Ok((s, r.pos))
}

// ---------------------------------------------------------------- decoding

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

enum Len {
    Len(u64),
    Enc(u8),
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        if self.data.len() - self.pos < n {
            return err(UNEXPECTED_EOF);
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, RdbError> {
        Ok(self.take(1)?[0])
    }

    fn len_or_enc(&mut self) -> Result<Len, RdbError> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Len::Len((b & 0x3f) as u64),
            1 => Len::Len((((b & 0x3f) as u64) << 8) | self.u8()? as u64),
            2 if b == 0x80 => {
                let s = self.take(4)?;
                Len::Len(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as u64)
            }
            2 if b == 0x81 => {
                let s = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                Len::Len(u64::from_be_bytes(a))
            }
            2 => return err(format!("Unknown length encoding {b} in rdbLoadLen()")),
            _ => Len::Enc(b & 0x3f),
        })
    }

    /// A length. A string-encoding byte (0xC0..0xFF) reads as its low six
    /// bits, as Redis's rdbLoadLen does for callers that ignore `isencoded`
    /// (so `\xC0` is a length of 0, an empty key).
    fn len(&mut self) -> Result<u64, RdbError> {
        match self.len_or_enc()? {
            Len::Len(n) => Ok(n),
            Len::Enc(v) => Ok(v as u64),
        }
    }

    /// A length used to size a collection: capped by the bytes left, since
    /// every element takes at least one byte (a corrupt length never allocates).
    fn count(&mut self) -> Result<usize, RdbError> {
        let n = self.len()?;
        if n > (self.data.len() - self.pos) as u64 {
            return err("collection length past the end of the payload");
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Result<Bytes, RdbError> {
        match self.len_or_enc()? {
            Len::Len(n) => {
                let n = usize::try_from(n).map_err(|_| RdbError("string too long".into()))?;
                Ok(Bytes::copy_from_slice(self.take(n)?))
            }
            Len::Enc(ENC_INT8) => Ok(Bytes::from((self.u8()? as i8).to_string())),
            Len::Enc(ENC_INT16) => {
                let s = self.take(2)?;
                Ok(Bytes::from(i16::from_le_bytes([s[0], s[1]]).to_string()))
            }
            Len::Enc(ENC_INT32) => {
                let s = self.take(4)?;
                Ok(Bytes::from(
                    i32::from_le_bytes([s[0], s[1], s[2], s[3]]).to_string(),
                ))
            }
            Len::Enc(ENC_LZF) => {
                let clen = self.len()? as usize;
                let ulen = self.len()? as usize;
                let comp = self.take(clen)?;
                super::lzf::decompress(comp, ulen)
                    .map(Bytes::from)
                    .ok_or_else(|| RdbError("Invalid LZF compressed string".into()))
            }
            Len::Enc(e) => err(format!("Unknown RDB string encoding type {e}")),
        }
    }
}

/// The elements of a compact blob as strings, or `reason` (Redis's report
/// for that RDB type) when it fails its integrity check.
fn blob_items(
    blob: &[u8],
    parse: fn(&[u8]) -> Option<Vec<Elem<'_>>>,
    reason: &str,
) -> Result<Vec<Bytes>, RdbError> {
    match parse(blob) {
        Some(elems) => Ok(elems.iter().map(Elem::bytes).collect()),
        None => err(reason),
    }
}

/// Elements of a listpack blob (Redis 7's compact encoding).
#[cfg(test)]
fn listpack_items(lp: &[u8]) -> Result<Vec<Bytes>, RdbError> {
    blob_items(
        lp,
        rdb_compact::listpack,
        "Listpack integrity check failed.",
    )
}

/// Elements of a ziplist blob (RDBs from Redis before 7.0).
#[cfg(test)]
fn ziplist_items(zl: &[u8]) -> Result<Vec<Bytes>, RdbError> {
    blob_items(zl, rdb_compact::ziplist, "Ziplist integrity check failed.")
}

/// Field (member), value (score) items of a ziplist or listpack hash or
/// zset, checked as Redis's ziplistPairsConvertAndValidateIntegrity and
/// lpPairsValidateIntegrityAndDups do: an even count, no field twice.
/// `dump_dups`: a hash listpack, whose duplicate fields Redis reports
/// with a hex dump when it converts it (t_hash.c), as we do on refusing it.
fn pair_items(
    blob: &[u8],
    parse: fn(&[u8]) -> Option<Vec<Elem<'_>>>,
    reason: &str,
    dump_dups: bool,
) -> Result<Vec<Bytes>, RdbError> {
    let items = blob_items(blob, parse, reason)?;
    if !items.len().is_multiple_of(2) {
        return err(reason);
    }
    let mut seen = HashSet::with_capacity(items.len() / 2);
    if !items.iter().step_by(2).all(|f| seen.insert(f)) {
        if dump_dups {
            log_hex_dump("listpack with dup elements dump", blob);
        }
        return err(reason);
    }
    Ok(items)
}

/// Redis's serverLogHexDump: a warning naming the blob, then its bytes in
/// hex, 32 to a line.
fn log_hex_dump(descr: &str, blob: &[u8]) {
    tracing::warn!("{descr} (hexdump of {} bytes):", blob.len());
    for chunk in blob.chunks(32) {
        let hex: String = chunk.iter().map(|b| format!("{b:02x}")).collect();
        tracing::warn!("{hex}");
    }
}

/// An intset's members (deep-checked: sorted, distinct, not empty).
fn intset_items(is: &[u8]) -> Result<Vec<Bytes>, RdbError> {
    match rdb_compact::intset(is) {
        Some(v) => Ok(v.iter().map(|n| Bytes::from(n.to_string())).collect()),
        None => err("Intset integrity check failed."),
    }
}

/// A Redis 2.x zipmap hash (RDB_TYPE_HASH_ZIPMAP), converted as Redis does:
/// its fields must be distinct and fit a listpack (lpSafeToAdd's 1 GB).
fn zipmap_hash(zm: &[u8]) -> Result<Value, RdbError> {
    const LISTPACK_MAX_SAFETY_SIZE: u64 = 1 << 30;
    let Some(pairs) = rdb_compact::zipmap(zm) else {
        return err("Zipmap integrity check failed.");
    };
    let mut seen = HashSet::with_capacity(pairs.len());
    let mut total = 0u64;
    for (f, v) in &pairs {
        total += (f.len() + v.len()) as u64;
        if total > LISTPACK_MAX_SAFETY_SIZE || !seen.insert(*f) {
            return err(format!(
                "Hash zipmap with dup elements, or big length ({})",
                f.len()
            ));
        }
    }
    let h = Hash::from_pairs(pairs, Limits::default());
    Ok(Value::Hash(std::sync::Arc::new(h)))
}

/// A hash from alternating field, value items. Encoded with Redis's default
/// thresholds: the loader does not see the config (a later write converts).
fn hash_of(items: Vec<Bytes>) -> Result<Value, RdbError> {
    if !items.len().is_multiple_of(2) {
        return err("hash with an odd number of items");
    }
    let pairs = items.chunks(2).map(|p| (p[0].as_ref(), p[1].as_ref()));
    let h = Hash::from_pairs(pairs, Limits::default());
    if h.len() != items.len() / 2 {
        return err("Duplicate hash fields detected");
    }
    Ok(Value::Hash(std::sync::Arc::new(h)))
}

/// A set encoded as SADD would (intset while it can be, Redis's default
/// limit: the loader does not see the config), as Redis's loader does.
fn set_of(items: Vec<Bytes>) -> Result<Value, RdbError> {
    let s = Set::from_members(items.iter().map(|m| m.as_ref()), SET_MAX_INTSET_ENTRIES);
    if s.len() != items.len() {
        return err("Duplicate set members detected");
    }
    Ok(Value::Set(s))
}

fn list_of(items: Vec<Bytes>) -> Value {
    Value::List(std::sync::Arc::new(List::rebuild(items)))
}

/// A sorted set from alternating member, score items (listpack / ziplist
/// encodings store the score as text or an integer).
fn zset_of(items: Vec<Bytes>) -> Result<Value, RdbError> {
    if !items.len().is_multiple_of(2) {
        return err("zset with an odd number of items");
    }
    let mut entries = Vec::with_capacity(items.len() / 2);
    for p in items.chunks(2) {
        let score = parse_score(&p[1])?;
        entries.push((p[0].clone(), score));
    }
    zset_from(entries)
}

fn parse_score(s: &[u8]) -> Result<f64, RdbError> {
    let t = std::str::from_utf8(s).map_err(|_| RdbError("bad zset score".into()))?;
    let v: f64 = match t {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        _ => t.parse().map_err(|_| RdbError("bad zset score".into()))?,
    };
    if v.is_nan() {
        return err("Zset with NAN score detected");
    }
    Ok(v)
}

fn zset_from(entries: Vec<(Bytes, f64)>) -> Result<Value, RdbError> {
    // `from_entries` wants distinct members; Redis rejects a file with a
    // duplicate (rdbLoadObject: "Duplicate zset fields detected").
    let mut seen = HashSet::with_capacity(entries.len());
    if !entries.iter().all(|(m, _)| seen.insert(m.clone())) {
        return err("Duplicate zset fields detected");
    }
    Ok(Value::Zset(Zset::from_entries(
        entries,
        ZsetLimits::default(),
    )))
}

/// RDB_TYPE_ZSET (Redis before 3.2): member, then the score as text
/// behind a length byte (rdbLoadDoubleValue: 253 NaN, 254 +inf, 255 -inf).
fn read_zset_v1(r: &mut Reader) -> Result<Value, RdbError> {
    let n = r.count()?;
    let mut entries = Vec::with_capacity(n.min(PREALLOC_MAX));
    for _ in 0..n {
        let member = r.string()?;
        let score = match r.u8()? {
            253 => f64::NAN,
            254 => f64::INFINITY,
            255 => f64::NEG_INFINITY,
            len => {
                let text = r.take(len as usize)?;
                std::str::from_utf8(text)
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                    .ok_or_else(|| RdbError("Error reading double value".into()))?
            }
        };
        if score.is_nan() {
            return err("Zset with NAN score detected");
        }
        entries.push((member, score));
    }
    zset_from(entries)
}

fn read_zset_v2(r: &mut Reader) -> Result<Value, RdbError> {
    let n = r.count()?;
    let mut entries = Vec::with_capacity(n.min(PREALLOC_MAX));
    for _ in 0..n {
        let member = r.string()?;
        let s = r.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        let score = f64::from_le_bytes(a);
        if score.is_nan() {
            return err("Zset with NAN score detected");
        }
        entries.push((member, score));
    }
    zset_from(entries)
}

/// A quicklist (v1: ziplist nodes; v2: listpack or plain nodes). Empty
/// nodes are skipped as Redis does; an empty result is an empty key.
fn read_quicklist(r: &mut Reader, ty: u8) -> Result<Value, RdbError> {
    const QUICKLIST_NODE_PACKED: u64 = 2;
    let nodes = r.count()?;
    let mut items = Vec::new();
    for _ in 0..nodes {
        let container = if ty == TYPE_LIST_QUICKLIST_2 {
            r.len()?
        } else {
            QUICKLIST_NODE_PACKED
        };
        if container != QUICKLIST_NODE_PLAIN && container != QUICKLIST_NODE_PACKED {
            return err("Quicklist integrity check failed.");
        }
        let blob = r.string()?;
        if blob.is_empty() {
            // rdbLoadObject fails a zero-length node without a report.
            return err("Quicklist node of zero length");
        }
        if container == QUICKLIST_NODE_PLAIN {
            items.push(blob);
        } else if ty == TYPE_LIST_QUICKLIST_2 {
            items.extend(blob_items(
                &blob,
                rdb_compact::listpack,
                "Listpack integrity check failed.",
            )?);
        } else {
            items.extend(blob_items(
                &blob,
                rdb_compact::ziplist,
                "Ziplist integrity check failed.",
            )?);
        }
    }
    Ok(list_of(items))
}

/// A list, set or hash written element by element (types 1, 2, 4).
fn read_plain_collection(r: &mut Reader, ty: u8) -> Result<Value, RdbError> {
    let n = r.count()?;
    let per = if ty == TYPE_HASH { 2 } else { 1 };
    let mut items = Vec::with_capacity(n.saturating_mul(per).min(PREALLOC_MAX));
    for _ in 0..n.saturating_mul(per) {
        items.push(r.string()?);
    }
    match ty {
        TYPE_LIST => Ok(list_of(items)),
        TYPE_SET => set_of(items),
        _ => hash_of(items),
    }
}

fn read_value(r: &mut Reader, ty: u8) -> Result<Value, RdbError> {
    use rdb_compact::{listpack, ziplist};
    Ok(match ty {
        TYPE_STRING => Value::Str(r.string()?),
        TYPE_LIST | TYPE_SET | TYPE_HASH => read_plain_collection(r, ty)?,
        TYPE_ZSET => read_zset_v1(r)?,
        TYPE_ZSET_2 => read_zset_v2(r)?,
        TYPE_ZSET_ZIPLIST => zset_of(pair_items(
            &r.string()?,
            ziplist,
            "Zset ziplist integrity check failed.",
            false,
        )?)?,
        TYPE_ZSET_LISTPACK => zset_of(pair_items(
            &r.string()?,
            listpack,
            "Zset listpack integrity check failed.",
            false,
        )?)?,
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            let (st, used) = super::rdb_stream::load_stream(ty, &r.data[r.pos..])
                .map_err(|reason| RdbError(reason.into()))?;
            r.pos += used;
            Value::Stream(std::sync::Arc::new(st))
        }
        TYPE_HASH_ZIPMAP => zipmap_hash(&r.string()?)?,
        TYPE_HASH_ZIPLIST => hash_of(pair_items(
            &r.string()?,
            ziplist,
            "Hash ziplist integrity check failed.",
            false,
        )?)?,
        TYPE_HASH_LISTPACK => hash_of(pair_items(
            &r.string()?,
            listpack,
            "Hash listpack integrity check failed.",
            true,
        )?)?,
        TYPE_SET_INTSET => set_of(intset_items(&r.string()?)?)?,
        TYPE_SET_LISTPACK => set_of(blob_items(
            &r.string()?,
            listpack,
            "Set listpack integrity check failed.",
        )?)?,
        TYPE_LIST_ZIPLIST => list_of(blob_items(
            &r.string()?,
            ziplist,
            "List ziplist integrity check failed.",
        )?),
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => read_quicklist(r, ty)?,
        other => return err(format!("Unknown RDB encoding type {other}")),
    })
}

/// Parses a whole RDB file. The checksum is verified unless it is zero
/// (written by a server with `rdbchecksum no`).
pub fn decode(data: &[u8]) -> Result<Loaded, RdbError> {
    decode_prefix(data).map(|(loaded, _)| loaded)
}

/// Parses an RDB at the start of `data` and returns how many bytes it took:
/// an AOF with an RDB preamble goes on with commands after it.
pub fn decode_prefix(data: &[u8]) -> Result<(Loaded, usize), RdbError> {
    decode_detailed(data).map_err(|f| f.error)
}

/// The reader's error for input that ends too soon.
const UNEXPECTED_EOF: &str = "Unexpected EOF reading RDB file";

/// Where and why loading an RDB failed, for the report Redis logs before
/// it gives up on a file (rdbReportError, then redis-check-rdb's summary).
#[derive(Debug)]
pub struct LoadFailure {
    pub error: RdbError,
    /// Bytes read when it failed.
    pub offset: usize,
    /// The key being read, and its RDB type.
    pub key: Option<(Bytes, u8)>,
    pub keys_read: usize,
}

impl LoadFailure {
    /// The lines to log for `file`: Redis's "Internal error in RDB reading"
    /// line, then the redis-check-rdb summary it prints after it.
    pub fn report(&self, file: &str) -> Vec<String> {
        let internal = format!(
            "Internal error in RDB reading offset 0, function at rdb.c -> {}",
            self.error
        );
        let mut lines = Vec::new();
        if self.error.0 == UNEXPECTED_EOF {
            lines.push("Short read or OOM loading DB. Unrecoverable error, aborting now.".into());
        }
        lines.push(internal.clone());
        lines.push(format!("[offset 0] Checking RDB file {file}"));
        lines.push("--- RDB ERROR DETECTED ---".into());
        lines.push(format!("[offset {}] {internal}", self.offset));
        if let Some((key, ty)) = &self.key {
            lines.push(format!(
                "[additional info] Reading key '{}'",
                String::from_utf8_lossy(key)
            ));
            lines.push(format!(
                "[additional info] Reading type {ty} ({})",
                rdb_type_name(*ty)
            ));
        }
        lines.push(format!("[info] {} keys read", self.keys_read));
        lines
    }
}

/// redis-check-rdb's names of the RDB value types.
fn rdb_type_name(ty: u8) -> &'static str {
    const NAMES: [&str; 19] = [
        "string",
        "list-linked",
        "set-hashtable",
        "zset-v1",
        "hash-hashtable",
        "zset-v2",
        "module-value",
        "",
        "",
        "hash-zipmap",
        "list-ziplist",
        "set-intset",
        "zset-ziplist",
        "hash-ziplist",
        "quicklist",
        "stream",
        "hash-listpack",
        "zset-listpack",
        "quicklist-v2",
    ];
    NAMES.get(ty as usize).copied().unwrap_or("unknown")
}

/// Converts the loaded hashes that exceed this server's listpack limits
/// (`hash-max-listpack-entries` / `-value`) to tables, as Redis's loader
/// does with its config: the decoder itself encodes with the defaults.
pub fn apply_hash_limits(loaded: &mut Loaded, limits: Limits) {
    for (_, items) in loaded.dbs.iter_mut() {
        for (_, value, _) in items.iter_mut() {
            let Value::Hash(h) = value else { continue };
            let too_big = h.encoding_name() == "listpack"
                && (h.len() > limits.max_entries
                    || h.iter()
                        .any(|(f, v)| f.len() > limits.max_value || v.len() > limits.max_value));
            if too_big {
                *h = std::sync::Arc::new(Hash::from_pairs(h.iter(), limits));
            }
        }
    }
}

/// `decode_prefix`, with where it failed.
pub fn decode_detailed(data: &[u8]) -> Result<(Loaded, usize), LoadFailure> {
    let version = rdb_version(data).map_err(|error| LoadFailure {
        error,
        offset: 0,
        key: None,
        keys_read: 0,
    })?;
    let mut r = Reader { data, pos: 9 };
    let mut loaded = Loaded::default();
    let mut at: Option<(Bytes, u8)> = None;
    match decode_body(&mut r, version, &mut loaded, &mut at) {
        Ok(()) => Ok((loaded, r.pos)),
        Err(error) => Err(LoadFailure {
            error,
            offset: r.pos,
            key: at,
            keys_read: loaded.dbs.iter().map(|(_, items)| items.len()).sum(),
        }),
    }
}

/// The version of the RDB in `data`, from its "REDISnnnn" signature.
fn rdb_version(data: &[u8]) -> Result<u32, RdbError> {
    let signature = || RdbError("Wrong signature trying to load DB from file".into());
    if data.len() < 9 || &data[..5] != b"REDIS" {
        return Err(signature());
    }
    let version: u32 = std::str::from_utf8(&data[5..9])
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(signature)?;
    if !(1..=RDB_VERSION).contains(&version) {
        return err(format!("Can't handle RDB format version {version}"));
    }
    Ok(version)
}

/// Everything after the signature: opcodes and keys up to EOF, then the
/// checksum. `at` is the key being read, for the failure report.
fn decode_body(
    r: &mut Reader,
    version: u32,
    loaded: &mut Loaded,
    at: &mut Option<(Bytes, u8)>,
) -> Result<(), RdbError> {
    let mut db = 0usize;
    let mut expire: u64 = 0;
    loop {
        let op = r.u8()?;
        match op {
            OP_EOF => break,
            OP_SELECTDB => {
                db = r.len()? as usize;
                expire = 0;
            }
            OP_RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            OP_AUX => {
                let k = r.string()?;
                let v = r.string()?;
                loaded.aux.push((k, v));
            }
            OP_EXPIRETIME_MS => {
                let s = r.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                expire = u64::from_le_bytes(a);
            }
            OP_EXPIRETIME => {
                let s = r.take(4)?;
                expire = u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as u64 * 1000;
            }
            OP_IDLE => {
                r.len()?;
            }
            OP_FREQ => {
                r.u8()?;
            }
            OP_FUNCTION2 => loaded.functions.push(r.string()?),
            OP_MODULE_AUX => return err("module data in RDB is not supported"),
            ty => {
                let key = r.string()?;
                *at = Some((key.clone(), ty));
                let value = read_value(r, ty)?;
                *at = None;
                if value.is_empty_collection() {
                    skip_empty_key(loaded, &key);
                } else {
                    match loaded.dbs.last_mut() {
                        Some((d, items)) if *d == db => items.push((key, value, expire)),
                        _ => loaded.dbs.push((db, vec![(key, value, expire)])),
                    }
                }
                expire = 0;
            }
        }
    }
    if version >= 5 {
        check_crc(r)?;
    }
    Ok(())
}

/// An empty collection (a quicklist of empty nodes, a zero-length set),
/// left out as Redis's rdbLoad does since an old bug could write them;
/// the first ten are logged.
fn skip_empty_key(loaded: &mut Loaded, key: &[u8]) {
    if loaded.empty_keys_skipped < 10 {
        tracing::warn!(
            "rdbLoadObject skipping empty key: {}",
            String::from_utf8_lossy(key)
        );
    }
    loaded.empty_keys_skipped += 1;
}

/// The CRC64 trailer against everything before it; zero means the file
/// was saved with `rdbchecksum no`.
fn check_crc(r: &mut Reader) -> Result<(), RdbError> {
    let s = r.take(8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    let stored = u64::from_le_bytes(a);
    if stored == 0 {
        tracing::warn!("RDB file was saved with checksum disabled: no check performed.");
        return Ok(());
    }
    let computed = crc64(0, &r.data[..r.pos - 8]);
    if stored != computed {
        tracing::warn!(
            "Wrong RDB checksum expected: ({computed:x}) but got ({stored:x}). Aborting now."
        );
        return err("RDB CRC error");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn members(s: &Set) -> std::collections::BTreeSet<Bytes> {
        s.iter().map(|m| m.to_bytes()).collect()
    }

    /// An intset is written as Redis's RDB_TYPE_SET_INTSET blob and read
    /// back as an intset; a big or non-integer set as RDB_TYPE_SET.
    #[test]
    fn sets_keep_their_encoding() {
        let ints = Set::from_members(["3", "-70000", "12"].map(str::as_bytes), 512);
        let many: Vec<String> = (0..600).map(|i| i.to_string()).collect();
        let big = Set::from_members(many.iter().map(|m| m.as_bytes()), 512);
        assert_eq!(big.encoding_name(), "hashtable");
        let snap = Snapshot {
            functions: Vec::new(),
            dbs: vec![vec![
                (b("i"), Value::Set(ints.clone()), 0),
                (b("big"), Value::Set(big.clone()), 0),
            ]],
        };
        let bytes = encode(&snap, &[]);
        // The intset blob: type 11, key, then encoding 4 (int32), length 3.
        let at = bytes
            .windows(3)
            .position(|w| w == [TYPE_SET_INTSET, 1, b'i'])
            .expect("intset record");
        assert_eq!(&bytes[at + 4..at + 12], &[4, 0, 0, 0, 3, 0, 0, 0]);
        let loaded = decode(&bytes).expect("decodes");
        let items = &loaded.dbs[0].1;
        for ((_, v, _), want) in items.iter().zip([&ints, &big]) {
            match v {
                Value::Set(s) => {
                    assert_eq!(s.encoding_name(), want.encoding_name());
                    assert_eq!(members(s), members(want));
                }
                _ => panic!("not a set"),
            }
        }
    }

    #[test]
    fn round_trip_all_types() {
        let list = List::from_slices(["a", "12", "", "x".repeat(300).as_str()].map(str::as_bytes));
        let set = Set::from_members(["m1", "-5", "70000"].map(str::as_bytes), 512);
        let snap = Snapshot {
            functions: Vec::new(),
            dbs: vec![
                vec![
                    (b("s"), Value::Str(b("hello")), 0),
                    (b("n"), Value::Str(b("-123456")), 1_900_000_000_000),
                    (b("big"), Value::Str(Bytes::from(vec![7u8; 20000])), 0),
                ],
                vec![],
                vec![
                    (b("l"), Value::List(std::sync::Arc::new(list)), 0),
                    (b("set"), Value::Set(set.clone()), 5),
                    (
                        b("h"),
                        Value::Hash(std::sync::Arc::new(Hash::from_pairs(
                            [(&b"f"[..], &b"1"[..]), (b"g", b"two")],
                            Limits::default(),
                        ))),
                        0,
                    ),
                ],
            ],
        };
        let bytes = encode(
            &snap,
            &[("repl-id", "abc".into()), ("repl-offset", "0".into())],
        );
        let loaded = decode(&bytes).expect("decodes");
        assert!(loaded.aux.iter().any(|(k, v)| k == "repl-id" && v == "abc"));
        assert_eq!(loaded.dbs.len(), 2);
        let (d0, items0) = &loaded.dbs[0];
        assert_eq!(*d0, 0);
        assert_eq!(items0.len(), 3);
        assert!(
            matches!(&items0[1], (k, Value::Str(v), 1_900_000_000_000) if k == "n" && v == "-123456")
        );
        assert!(matches!(&items0[2].1, Value::Str(v) if v.len() == 20000));
        let (d2, items2) = &loaded.dbs[1];
        assert_eq!(*d2, 2);
        match &items2[0].1 {
            Value::List(l) => assert_eq!(
                l.to_vec(),
                vec![b("a"), b("12"), b(""), Bytes::from("x".repeat(300))]
            ),
            _ => panic!("not a list"),
        }
        match &items2[1] {
            (_, Value::Set(s), 5) => assert_eq!(members(s), members(&set)),
            _ => panic!("not a set"),
        }
        match &items2[2].1 {
            Value::Hash(h) => {
                assert_eq!(h.len(), 2);
                assert_eq!(h.get(b"g"), Some(&b"two"[..]));
            }
            _ => panic!("not a hash"),
        }
    }

    #[test]
    fn int_encoding_only_canonical() {
        let mut out = Vec::new();
        write_string(&mut out, b"007");
        assert_eq!(out, b"\x03007");
        out.clear();
        write_string(&mut out, b"-1");
        assert_eq!(out, [0xC0, 0xFF]);
        out.clear();
        write_string(&mut out, b"4294967296");
        assert_eq!(out[0], 10);
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        let snap = Snapshot {
            functions: Vec::new(),
            dbs: vec![vec![(b("k"), Value::Str(b("v")), 0)]],
        };
        let good = encode(&snap, &[]);
        for cut in 0..good.len() {
            let _ = decode(&good[..cut]);
        }
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        assert_eq!(decode(&bad).unwrap_err().0, "RDB CRC error");
        // A huge claimed collection length must not allocate.
        let mut huge = b"REDIS0010".to_vec();
        huge.extend_from_slice(&[TYPE_SET, 1, b'k', 0x81, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        assert!(decode(&huge).is_err());
    }

    #[test]
    fn compact_encodings() {
        // A listpack with "a", 5, -300, and a 12-bit-length string.
        let mut lp = vec![0u8; 6];
        lp.extend_from_slice(&[0x81, b'a', 2]);
        lp.extend_from_slice(&[0x05, 1]);
        let v: i16 = -300;
        let raw = (v as u16) & 0x1fff;
        lp.extend_from_slice(&[0xC0 | (raw >> 8) as u8, raw as u8, 2]);
        let s = vec![b'z'; 100];
        lp.extend_from_slice(&[0xE0, 100]);
        lp.extend_from_slice(&s);
        lp.push(102);
        lp.push(0xFF);
        let total = lp.len() as u32;
        lp[..4].copy_from_slice(&total.to_le_bytes());
        lp[4..6].copy_from_slice(&4u16.to_le_bytes());
        let items = listpack_items(&lp).expect("listpack");
        assert_eq!(items, vec![b("a"), b("5"), b("-300"), Bytes::from(s)]);
        // An intset of int16 values.
        let mut is = vec![2, 0, 0, 0, 2, 0, 0, 0];
        is.extend_from_slice(&(-2i16).to_le_bytes());
        is.extend_from_slice(&(9i16).to_le_bytes());
        assert_eq!(intset_items(&is).expect("intset"), vec![b("-2"), b("9")]);
    }
}

#[cfg(test)]
mod zset_stream_tests {
    use super::*;
    use crate::types::stream::{Stream, StreamId};

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn one(value: Value) -> Value {
        let snap = Snapshot {
            functions: Vec::new(),
            dbs: vec![vec![(b("k"), value, 0)]],
        };
        let mut loaded = decode(&encode(&snap, &[])).expect("decodes");
        loaded.dbs.remove(0).1.remove(0).1
    }

    fn sample_stream() -> Stream {
        let mut st = Stream::new();
        for i in 1..=250u64 {
            let f = if i % 7 == 0 { "other" } else { "f" };
            let fields = [
                b(f),
                Bytes::from(format!("v{i}")),
                b("n"),
                Bytes::from(i.to_string()),
            ];
            st.append(StreamId::new(1000 + i, i % 3), &fields, 100, 4096);
            st.last_id = StreamId::new(1000 + i, i % 3);
            st.entries_added += 1;
        }
        st.delete(StreamId::new(1001, 1));
        st.max_deleted_id = StreamId::new(1001, 1);
        let mut g = crate::types::stream::Group::new(StreamId::new(1005, 2), 5);
        for (name, seen) in [("alice", 40), ("bob", 41)] {
            let c = crate::types::stream::Consumer {
                seen_time: seen,
                pel: Default::default(),
            };
            g.consumers.insert(b(name), c);
        }
        g.assign(StreamId::new(1003, 0), &b("alice"), 42);
        g.assign(StreamId::new(1004, 1), &b("bob"), 43);
        st.groups.insert(b("grp"), g);
        st
    }

    #[test]
    fn zset_round_trip() {
        let items = vec![
            (b("a"), 1.0),
            (b("b"), -2.5),
            (b("c"), f64::INFINITY),
            (b("12"), 0.1),
        ];
        let z = Zset::from_entries(items.clone(), ZsetLimits::default());
        match one(Value::Zset(z)) {
            Value::Zset(z) => {
                assert_eq!(z.len(), 4);
                assert_eq!(z.score(b"c"), Some(f64::INFINITY));
                assert_eq!(z.score(b"12"), Some(0.1));
            }
            _ => panic!("not a zset"),
        }
    }

    #[test]
    fn stream_round_trip() {
        let st = sample_stream();
        match one(Value::Stream(std::sync::Arc::new(st.clone()))) {
            Value::Stream(got) => {
                assert_eq!(got.all_entries(), st.all_entries());
                assert_eq!(got.len(), st.len());
                assert_eq!(got.last_id, st.last_id);
                assert_eq!(got.entries_added, st.entries_added);
                assert_eq!(got.max_deleted_id, st.max_deleted_id);
                let g = &got.groups[&b("grp")];
                assert_eq!(g.last_id, StreamId::new(1005, 2));
                assert_eq!(g.entries_read, 5);
                assert_eq!(g.pel.len(), 2);
                assert_eq!(g.pel[&StreamId::new(1004, 1)].consumer, b("bob"));
                assert_eq!(g.pel[&StreamId::new(1003, 0)].delivery_time, 42);
            }
            _ => panic!("not a stream"),
        }
    }

    #[test]
    fn corrupt_zset_and_stream_payloads_are_errors() {
        let z = Zset::from_entries(vec![(b("a"), 1.0), (b("b"), 2.0)], ZsetLimits::default());
        let snap = Snapshot {
            functions: Vec::new(),
            dbs: vec![vec![
                (b("z"), Value::Zset(z), 0),
                (
                    b("s"),
                    Value::Stream(std::sync::Arc::new(sample_stream())),
                    0,
                ),
            ]],
        };
        let good = encode(&snap, &[]);
        for cut in 0..good.len() {
            let _ = decode(&good[..cut]);
        }
        // Flip bytes one at a time (checksum disabled: zero) — never a panic.
        let n = good.len();
        for i in 9..n - 9 {
            let mut bad = good.clone();
            bad[i] ^= 0x5a;
            bad[n - 8..].fill(0);
            let _ = decode(&bad);
        }
    }

    #[test]
    fn zset_ziplist_and_listpack_load() {
        // A Redis 6 ziplist: "a", 1 (int), "b", "2.5".
        let mut zl = vec![0u8; 10];
        zl.extend_from_slice(&[0, 1, b'a']);
        zl.extend_from_slice(&[3, 0xF2]); // 4-bit immediate 1
        zl.extend_from_slice(&[2, 1, b'b']);
        zl.extend_from_slice(&[3, 3, b'2', b'.', b'5']);
        zl.push(0xFF);
        // Header: total bytes, offset of the last entry, entry count.
        let total = zl.len() as u32;
        zl[..4].copy_from_slice(&total.to_le_bytes());
        zl[4..8].copy_from_slice(&18u32.to_le_bytes());
        zl[8..10].copy_from_slice(&4u16.to_le_bytes());
        match zset_of(ziplist_items(&zl).expect("ziplist")).expect("zset") {
            Value::Zset(z) => {
                assert_eq!(z.score(b"a"), Some(1.0));
                assert_eq!(z.score(b"b"), Some(2.5));
            }
            _ => panic!("not a zset"),
        }
        let mut lp = Listpack::new();
        lp.string(b"m");
        lp.string(b"-inf");
        lp.string(b"n");
        lp.int(3);
        match zset_of(listpack_items(&lp.finish()).expect("lp")).expect("zset") {
            Value::Zset(z) => {
                assert_eq!(z.score(b"m"), Some(f64::NEG_INFINITY));
                assert_eq!(z.score(b"n"), Some(3.0));
            }
            _ => panic!("not a zset"),
        }
        assert!(zset_of(vec![b("x"), b("nan")]).is_err());
        assert!(zset_of(vec![b("x"), b("1"), b("x"), b("2")]).is_err());
    }

    #[test]
    fn listpack_ints_and_backlen() {
        let mut lp = Listpack::new();
        for v in [
            0i64,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            70000,
            -70000,
            1 << 40,
        ] {
            lp.int(v);
        }
        lp.string(&[b'x'; 200]);
        lp.string(&[b'y'; 5000]);
        let bytes = lp.finish();
        let items = listpack_items(&bytes).expect("parses");
        assert_eq!(items.len(), 12);
        assert_eq!(items[9], "1099511627776");
        assert_eq!(items[11].len(), 5000);
        assert_eq!(
            u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize,
            bytes.len()
        );
        // The 200-byte entry (202 with its header) has a 2-byte back-length.
        let s = bytes.len() - 1 - 2 - 5000 - 5 - 2;
        assert_eq!(&bytes[s..s + 2], &[202 >> 7, (202 & 127) | 128]);
    }

    /// The fuzzer's find: a quicklist whose one listpack has a bogus header
    /// and no entries. Redis refuses both the header and the empty key.
    #[test]
    fn empty_or_misframed_listpacks_are_refused() {
        let mut body = vec![TYPE_LIST_QUICKLIST_2, 1, 2, 24];
        body.extend_from_slice(&[0xff; 9]);
        body.extend_from_slice(b"\x82bb\x03\xdf\xf9\x02\xf2\xa0\x93@\x00\x00\xf2\xff");
        assert!(decode_value(&body).is_err());
        // A well-framed but empty listpack: an empty key, refused by DUMP's
        // decoder and skipped by the RDB loader.
        let empty = Listpack::new().finish();
        let mut body = vec![TYPE_LIST_QUICKLIST_2, 1, 2];
        write_string(&mut body, &empty);
        assert!(decode_value(&body).is_err());
        let mut rdb = b"REDIS0010".to_vec();
        rdb.push(TYPE_LIST_QUICKLIST_2);
        write_string(&mut rdb, b"k");
        rdb.extend_from_slice(&body[1..]);
        rdb.push(OP_EOF);
        rdb.extend_from_slice(&0u64.to_le_bytes());
        let loaded = decode(&rdb).expect("an empty key is skipped, not an error");
        assert!(loaded.dbs.iter().all(|(_, items)| items.is_empty()));
    }
}
