//! Redis's RDB stream values (`RDB_TYPE_STREAM_LISTPACKS` 15 from Redis
//! 5–6.2, `_2` 19 from 7.0), decoded as Redis's rdb.c does (for 6.2 payloads:
//! entries-added = length, group entries-read estimated) for the RDB loader,
//! and so for RESTORE of Redis's DUMP payloads. Every length is checked
//! against the input before use.

use bytes::Bytes;

use crate::types::stream::{Consumer, Group, Nack, Stream, StreamId};

const RDB_TYPE_STREAM_LISTPACKS: u8 = 15;
const RDB_TYPE_STREAM_LISTPACKS_2: u8 = 19;

/// Decodes one stream value of RDB type `kind` (15 or 19) from the start of
/// `data`: the stream and the bytes it took.
pub fn load_stream(kind: u8, data: &[u8]) -> Option<(Stream, usize)> {
    let body = data;
    let mut r = Reader { d: body, p: 0 };
    if kind != RDB_TYPE_STREAM_LISTPACKS && kind != RDB_TYPE_STREAM_LISTPACKS_2 {
        return None;
    }
    let v2 = kind == RDB_TYPE_STREAM_LISTPACKS_2;
    let mut st = Stream::new();
    let nodes = r.len()?;
    let mut prev: Option<StreamId> = None;
    for _ in 0..nodes {
        let key = r.string()?;
        if key.len() != 16 {
            return None;
        }
        let master = raw_id(&key)?;
        let lp = r.string()?;
        for (id, fields) in node_entries(master, &lp)? {
            if prev.is_some_and(|p| p >= id) {
                return None;
            }
            prev = Some(id);
            st.append(id, &fields, 100, 4096);
        }
    }
    let length = r.len()?;
    let last_id = StreamId::new(r.len()?, r.len()?);
    if st.len() != length || prev.is_some_and(|p| p > last_id) {
        return None;
    }
    st.last_id = last_id;
    if v2 {
        let _first = StreamId::new(r.len()?, r.len()?);
        st.max_deleted_id = StreamId::new(r.len()?, r.len()?);
        st.entries_added = r.len()?;
    } else {
        st.max_deleted_id = StreamId::MIN;
        st.entries_added = length;
    }
    let ngroups = r.len()?;
    for _ in 0..ngroups {
        let name = Bytes::from(r.string()?);
        let gid = StreamId::new(r.len()?, r.len()?);
        let entries_read = if v2 {
            r.len()? as i64
        } else {
            st.estimate_distance(gid)
        };
        let mut g = Group::new(gid, entries_read);
        let npel = r.len()?;
        // By ID: consumers look their entries up here (a large PEL from a
        // real Redis must not cost a scan per entry).
        let mut pel = std::collections::BTreeMap::new();
        for _ in 0..npel {
            let id = raw_id(r.take(16)?)?;
            let time = r.u64_le()?;
            let count = r.len()?;
            // Redis rejects a duplicated global PEL entry.
            if pel.insert(id, (time, count)).is_some() {
                return None;
            }
        }
        let nconsumers = r.len()?;
        for _ in 0..nconsumers {
            let cname = Bytes::from(r.string()?);
            let seen_time = r.u64_le()?;
            let n = r.len()?;
            let mut c = Consumer {
                seen_time,
                pel: Default::default(),
            };
            for _ in 0..n {
                let id = raw_id(r.take(16)?)?;
                let &(time, count) = pel.get(&id)?;
                if !c.pel.insert(id) {
                    // Redis: "Duplicated consumer PEL entry".
                    return None;
                }
                g.pel.insert(
                    id,
                    Nack {
                        consumer: cname.clone(),
                        delivery_time: time,
                        delivery_count: count,
                    },
                );
            }
            if g.consumers.insert(cname, c).is_some() {
                // Redis: "Duplicate stream consumer detected."
                return None;
            }
        }
        // Every pending entry must belong to a consumer.
        if g.pel.len() != pel.len() {
            return None;
        }
        if st.groups.insert(name, g).is_some() {
            // Redis: "Duplicated consumer group name".
            return None;
        }
    }
    st.is_consistent().then_some((st, r.p))
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

    fn len(&mut self) -> Option<u64> {
        match self.len_enc()? {
            (n, false) => Some(n),
            _ => None,
        }
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

/// One listpack element.
enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    fn int(&self) -> Option<i64> {
        match self {
            Elem::Int(n) => Some(*n),
            Elem::Str(s) => std::str::from_utf8(s).ok()?.parse().ok(),
        }
    }

    fn bytes(&self) -> Bytes {
        match self {
            Elem::Int(n) => Bytes::from(n.to_string()),
            Elem::Str(s) => Bytes::copy_from_slice(s),
        }
    }
}

/// The elements of a listpack (Redis's listpack.c encodings).
fn listpack(lp: &[u8]) -> Option<Vec<Elem<'_>>> {
    let total = u32::from_le_bytes(lp.get(..4)?.try_into().ok()?) as usize;
    if total != lp.len() {
        return None;
    }
    let mut p = 6;
    let mut out = Vec::new();
    loop {
        let b = *lp.get(p)?;
        if b == 0xff {
            break;
        }
        let (elem, len) = if b & 0x80 == 0 {
            (Elem::Int((b & 0x7f) as i64), 1)
        } else if b & 0xc0 == 0x80 {
            let n = (b & 0x3f) as usize;
            (Elem::Str(lp.get(p + 1..p + 1 + n)?), 1 + n)
        } else if b & 0xe0 == 0xc0 {
            let v = (((b & 0x1f) as i64) << 8) | *lp.get(p + 1)? as i64;
            (Elem::Int(if v >= 1 << 12 { v - (1 << 13) } else { v }), 2)
        } else if b & 0xf0 == 0xe0 {
            let n = (((b & 0x0f) as usize) << 8) | *lp.get(p + 1)? as usize;
            (Elem::Str(lp.get(p + 2..p + 2 + n)?), 2 + n)
        } else {
            match b {
                0xf0 => {
                    let n = u32::from_le_bytes(lp.get(p + 1..p + 5)?.try_into().ok()?) as usize;
                    (Elem::Str(lp.get(p + 5..p.checked_add(5 + n)?)?), 5 + n)
                }
                0xf1 => (
                    Elem::Int(i16::from_le_bytes(lp.get(p + 1..p + 3)?.try_into().ok()?) as i64),
                    3,
                ),
                0xf2 => {
                    let x = lp.get(p + 1..p + 4)?;
                    let v = i32::from_le_bytes([0, x[0], x[1], x[2]]) >> 8;
                    (Elem::Int(v as i64), 4)
                }
                0xf3 => (
                    Elem::Int(i32::from_le_bytes(lp.get(p + 1..p + 5)?.try_into().ok()?) as i64),
                    5,
                ),
                0xf4 => (
                    Elem::Int(i64::from_le_bytes(lp.get(p + 1..p + 9)?.try_into().ok()?)),
                    9,
                ),
                _ => return None,
            }
        };
        let backlen = match len {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        };
        out.push(elem);
        p = p.checked_add(len + backlen)?;
    }
    Some(out)
}

/// The live entries of one stream node (Redis's listpack layout: master
/// entry, then flags / ID deltas / fields per entry, each ended by a count).
fn node_entries(master: StreamId, lp: &[u8]) -> Option<Vec<(StreamId, Vec<Bytes>)>> {
    const DELETED: i64 = 1;
    const SAME_FIELDS: i64 = 2;
    let e = listpack(lp)?;
    let get = |i: usize| e.get(i);
    let nmaster = usize::try_from(get(2)?.int()?).ok()?;
    let master_fields: Vec<Bytes> = (0..nmaster)
        .map(|k| get(3 + k).map(Elem::bytes))
        .collect::<Option<_>>()?;
    let mut i = 3 + nmaster + 1; // the master entry's terminating 0
    let mut out = Vec::new();
    while i < e.len() {
        let flags = get(i)?.int()?;
        // Deltas are stored as int64 and added with wrap-around, as Redis
        // does: an entry's sequence is often below the master entry's
        // (master 5-3, entry 6-0: delta -3).
        let ms = master.ms.wrapping_add(get(i + 1)?.int()? as u64);
        let seq = master.seq.wrapping_add(get(i + 2)?.int()? as u64);
        i += 3;
        let mut fields = Vec::new();
        if flags & SAME_FIELDS != 0 {
            for f in &master_fields {
                fields.push(f.clone());
                fields.push(get(i)?.bytes());
                i += 1;
            }
        } else {
            let n = usize::try_from(get(i)?.int()?).ok()?;
            i += 1;
            for _ in 0..n.checked_mul(2)? {
                fields.push(get(i)?.bytes());
                i += 1;
            }
        }
        i += 1; // lp-count
        if fields.len() < 2 {
            return None;
        }
        if flags & DELETED == 0 {
            out.push((StreamId::new(ms, seq), fields));
        }
    }
    Some(out)
}
