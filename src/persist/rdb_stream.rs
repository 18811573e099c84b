//! Redis's RDB stream values (`RDB_TYPE_STREAM_LISTPACKS` 15 from Redis
//! 5–6.2, `_2` 19 from 7.0), decoded as Redis's rdb.c does (for 6.2 payloads:
//! entries-added = length, group entries-read estimated) for the RDB loader,
//! and so for RESTORE of Redis's DUMP payloads. Every length is checked
//! against the input before use.

use bytes::Bytes;

use super::rdb_compact::{listpack, Elem};
use crate::types::stream::{Consumer, Group, Nack, Stream, StreamId};

const RDB_TYPE_STREAM_LISTPACKS: u8 = 15;
const RDB_TYPE_STREAM_LISTPACKS_2: u8 = 19;
/// Redis 7.2's: consumers also carry an active time (not kept here).
const RDB_TYPE_STREAM_LISTPACKS_3: u8 = 21;

/// Why a stream value was refused: Redis's rdbReportCorruptRDB reason.
type Refused = &'static str;

const SHORT_READ: Refused = "Stream short read or bad length encoding";
const LISTPACK_CHECK: Refused = "Stream listpack integrity check failed.";

/// Decodes one stream value of RDB type `kind` (15 or 19) from the start of
/// `data`: the stream and the bytes it took, or the reason it was refused
/// (Redis's text where Redis checks the same thing).
pub fn load_stream(kind: u8, data: &[u8]) -> Result<(Stream, usize), Refused> {
    let mut r = Reader { d: data, p: 0 };
    if !matches!(
        kind,
        RDB_TYPE_STREAM_LISTPACKS | RDB_TYPE_STREAM_LISTPACKS_2 | RDB_TYPE_STREAM_LISTPACKS_3
    ) {
        return Err("Unknown RDB encoding type");
    }
    let v2 = kind != RDB_TYPE_STREAM_LISTPACKS;
    let mut st = load_nodes(&mut r)?;
    let length = r.len().ok_or(SHORT_READ)?;
    let last_id = r.id().ok_or(SHORT_READ)?;
    if length != 0 && st.node_count() == 0 {
        return Err("Stream length inconsistent with rax entries");
    }
    // Redis trusts these; our stream must agree with its entries.
    if st.len() != length || st.last_valid_id().is_some_and(|p| p > last_id) {
        return Err("Stream length or last ID inconsistent with its entries");
    }
    st.last_id = last_id;
    if v2 {
        let _first = r.id().ok_or(SHORT_READ)?;
        st.max_deleted_id = r.id().ok_or(SHORT_READ)?;
        st.entries_added = r.len().ok_or(SHORT_READ)?;
    } else {
        st.max_deleted_id = StreamId::MIN;
        st.entries_added = length;
    }
    let ngroups = r.len().ok_or(SHORT_READ)?;
    for _ in 0..ngroups {
        let (name, g) = load_group(&mut r, &st, kind)?;
        if st.groups.insert(name, g).is_some() {
            return Err("Duplicated consumer group name");
        }
    }
    if !st.is_consistent() {
        return Err("Stream metadata inconsistent with its entries");
    }
    Ok((st, r.p))
}

/// The radix tree: (master ID, listpack) pairs, entries appended in order.
fn load_nodes(r: &mut Reader) -> Result<Stream, Refused> {
    let mut st = Stream::new();
    let nodes = r.len().ok_or(SHORT_READ)?;
    let mut prev: Option<StreamId> = None;
    let mut masters = std::collections::BTreeSet::new();
    for _ in 0..nodes {
        let key = r.string().ok_or(SHORT_READ)?;
        if key.len() != 16 {
            return Err("Stream node key entry is not the size of a stream ID");
        }
        let master = raw_id(&key).ok_or(SHORT_READ)?;
        let lp = r.string().ok_or(SHORT_READ)?;
        let entries = node_entries(master, &lp)?;
        if !masters.insert(master) {
            return Err("Listpack re-added with existing key");
        }
        for (id, fields) in entries {
            // Redis does not check the order; our nodes need it.
            if prev.is_some_and(|p| p >= id) {
                return Err("Stream entry IDs out of order");
            }
            prev = Some(id);
            st.append(id, &fields, 100, 4096);
        }
    }
    Ok(st)
}

/// One consumer group: name, last ID, entries read (v2), the global PEL,
/// then the consumers each with the IDs of the PEL entries they own.
fn load_group(r: &mut Reader, st: &Stream, kind: u8) -> Result<(Bytes, Group), Refused> {
    let v2 = kind != RDB_TYPE_STREAM_LISTPACKS;
    let name = Bytes::from(r.string().ok_or(SHORT_READ)?);
    let gid = r.id().ok_or(SHORT_READ)?;
    let entries_read = if v2 {
        r.len().ok_or(SHORT_READ)? as i64
    } else {
        st.estimate_distance(gid)
    };
    let mut g = Group::new(gid, entries_read);
    let npel = r.len().ok_or(SHORT_READ)?;
    // By ID: consumers look their entries up here (a large PEL from a
    // real Redis must not cost a scan per entry).
    let mut pel = std::collections::BTreeMap::new();
    for _ in 0..npel {
        let id = raw_id(r.take(16).ok_or(SHORT_READ)?).ok_or(SHORT_READ)?;
        let time = r.u64_le().ok_or(SHORT_READ)?;
        let count = r.len().ok_or(SHORT_READ)?;
        if pel.insert(id, (time, count)).is_some() {
            return Err("Duplicated global PEL entry loading stream consumer group");
        }
    }
    let nconsumers = r.len().ok_or(SHORT_READ)?;
    for _ in 0..nconsumers {
        let cname = Bytes::from(r.string().ok_or(SHORT_READ)?);
        if g.consumers.contains_key(&cname) {
            return Err("Duplicate stream consumer detected.");
        }
        let seen_time = r.u64_le().ok_or(SHORT_READ)?;
        if kind == RDB_TYPE_STREAM_LISTPACKS_3 {
            let _active_time = r.u64_le().ok_or(SHORT_READ)?;
        }
        let n = r.len().ok_or(SHORT_READ)?;
        let mut c = Consumer {
            seen_time,
            pel: Default::default(),
        };
        for _ in 0..n {
            let id = raw_id(r.take(16).ok_or(SHORT_READ)?).ok_or(SHORT_READ)?;
            let &(time, count) = pel
                .get(&id)
                .ok_or("Consumer entry not found in group global PEL")?;
            // Also catches an ID listed twice by one consumer.
            if g.pel.contains_key(&id) {
                return Err("Stream consumer PEL entry already has a consumer assigned");
            }
            c.pel.insert(id);
            let nack = Nack {
                consumer: cname.clone(),
                delivery_time: time,
                delivery_count: count,
            };
            g.pel.insert(id, nack);
        }
        g.consumers.insert(cname, c);
    }
    // Every pending entry must belong to a consumer (Redis checks this with
    // deep sanitization; our PEL entries always name their consumer).
    if g.pel.len() != pel.len() {
        return Err("Stream CG PEL entry without consumer");
    }
    Ok((name, g))
}

/// A stream ID as Redis stores it in radix-tree keys: two big-endian u64s.
fn raw_id(b: &[u8]) -> Option<StreamId> {
    let ms = u64::from_be_bytes(b.get(..8)?.try_into().ok()?);
    let seq = u64::from_be_bytes(b.get(8..16)?.try_into().ok()?);
    Some(StreamId::new(ms, seq))
}

struct Reader<'a> {
    d: &'a [u8],
    p: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.d.get(self.p)?;
        self.p += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.p.checked_add(n)?;
        let s = self.d.get(self.p..end)?;
        self.p = end;
        Some(s)
    }

    /// A stream ID as two lengths (ms, seq).
    fn id(&mut self) -> Option<StreamId> {
        Some(StreamId::new(self.len()?, self.len()?))
    }

    fn u64_le(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// rdbLoadLen: (value, whether it is a special encoding).
    fn len_enc(&mut self) -> Option<(u64, bool)> {
        let b = self.byte()?;
        match b >> 6 {
            0 => Some(((b & 0x3f) as u64, false)),
            1 => Some(((((b & 0x3f) as u64) << 8) | self.byte()? as u64, false)),
            3 => Some(((b & 0x3f) as u64, true)),
            _ => match b {
                0x80 => Some((
                    u32::from_be_bytes(self.take(4)?.try_into().ok()?) as u64,
                    false,
                )),
                0x81 => Some((u64::from_be_bytes(self.take(8)?.try_into().ok()?), false)),
                _ => None,
            },
        }
    }

    /// A length; an encoding byte reads as its low six bits (rdbLoadLen).
    fn len(&mut self) -> Option<u64> {
        self.len_enc().map(|(n, _)| n)
    }

    /// rdbGenericLoadStringObject: raw, integer-encoded or LZF-compressed.
    fn string(&mut self) -> Option<Vec<u8>> {
        let (n, encoded) = self.len_enc()?;
        if !encoded {
            return Some(self.take(usize::try_from(n).ok()?)?.to_vec());
        }
        match n {
            0 => Some((self.byte()? as i8).to_string().into_bytes()),
            1 => Some(
                i16::from_le_bytes(self.take(2)?.try_into().ok()?)
                    .to_string()
                    .into_bytes(),
            ),
            2 => Some(
                i32::from_le_bytes(self.take(4)?.try_into().ok()?)
                    .to_string()
                    .into_bytes(),
            ),
            3 => {
                let clen = usize::try_from(self.len()?).ok()?;
                let ulen = usize::try_from(self.len()?).ok()?;
                let data = self.take(clen)?;
                crate::persist::lzf::decompress(data, ulen)
            }
            _ => None,
        }
    }
}

/// The live entries of one stream node, after streamValidateListpackIntegrity's
/// deep checks: the master entry (count, deleted, field names, a 0), then
/// per entry its flags, ID deltas, fields (values only when they are the
/// master's) and an lp-count matching them, and nothing after the last one.
fn node_entries(master: StreamId, lp: &[u8]) -> Result<Vec<(StreamId, Vec<Bytes>)>, Refused> {
    const DELETED: i64 = 1;
    const SAME_FIELDS: i64 = 2;
    let e = listpack(lp).ok_or(LISTPACK_CHECK)?;
    let mut it = e.iter();
    let mut next = || it.next().ok_or(LISTPACK_CHECK);
    let int = |el: &Elem| el.int().ok_or(LISTPACK_CHECK);
    // A count below zero would never end the entries (Redis fails it when
    // the listpack runs out); refused at once.
    let count = |el: &Elem| usize::try_from(int(el)?).map_err(|_| LISTPACK_CHECK);
    let live = count(next()?)?;
    let deleted = count(next()?)?;
    let nmaster = count(next()?)?;
    let master_fields: Vec<Bytes> = (0..nmaster)
        .map(|_| next().map(Elem::bytes))
        .collect::<Result<_, _>>()?;
    if int(next()?)? != 0 {
        return Err(LISTPACK_CHECK);
    }
    let mut out = Vec::new();
    for _ in 0..live.checked_add(deleted).ok_or(LISTPACK_CHECK)? {
        let flags = int(next()?)?;
        // Deltas are stored as int64 and added with wrap-around, as Redis
        // does: an entry's sequence is often below the master entry's
        // (master 5-3, entry 6-0: delta -3).
        let ms = master.ms.wrapping_add(int(next()?)? as u64);
        let seq = master.seq.wrapping_add(int(next()?)? as u64);
        let mut fields = Vec::new();
        let n = if flags & SAME_FIELDS != 0 {
            for f in &master_fields {
                fields.push(f.clone());
                fields.push(next()?.bytes());
            }
            master_fields.len()
        } else {
            let n = count(next()?)?;
            for _ in 0..n.checked_mul(2).ok_or(LISTPACK_CHECK)? {
                fields.push(next()?.bytes());
            }
            n
        };
        let extra = if flags & SAME_FIELDS != 0 {
            3
        } else {
            3 + n + 1
        };
        if int(next()?)? != (n + extra) as i64 {
            return Err(LISTPACK_CHECK);
        }
        if fields.len() < 2 {
            return Err("Stream entry without fields");
        }
        if flags & DELETED == 0 {
            out.push((StreamId::new(ms, seq), fields));
        }
    }
    if next().is_ok() {
        return Err(LISTPACK_CHECK);
    }
    Ok(out)
}
