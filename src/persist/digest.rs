//! DEBUG DIGEST / DIGEST-VALUE: a fingerprint of the dataset, so two servers
//! (a master and its replica) can be compared cheaply, as Redis's tests do.
//!
//! Same shape as Redis's `computeDatasetDigest`: per key, the key and its
//! value (ordered collections mixed in order, unordered ones xored so the
//! iteration order does not matter) and its expiry; keys are xored together,
//! each database mixed with its index. The hash differs from Redis's SHA-1
//! (digests are only compared between Cinnabar servers); an empty dataset is
//! 40 zeros as in Redis. A new type adds one arm to `value_digest`.

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::keyspace::{Entry, Value};

/// 160 bits as in Redis (40 hex digits), built from three 64-bit hashes.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Digest([u64; 3]);

impl Digest {
    /// Mixes `data` into the digest (order-dependent).
    pub fn mix(&mut self, data: &[u8]) {
        for (i, part) in self.0.iter_mut().enumerate() {
            let mut h = DefaultHasher::new();
            (i as u64).hash(&mut h);
            part.hash(&mut h);
            data.hash(&mut h);
            *part = h.finish();
        }
    }

    /// Xors `other` in (order-independent).
    pub fn xor(&mut self, other: &Digest) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a ^= b;
        }
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 3]
    }

    pub fn hex(&self) -> String {
        let mut s = format!("{:016x}{:016x}{:016x}", self.0[0], self.0[1], self.0[2]);
        s.truncate(40);
        s
    }
}

fn of(data: &[u8]) -> Digest {
    let mut d = Digest::default();
    d.mix(data);
    d
}

/// The digest of one value (Redis's `xorObjectDigest` without the key).
pub fn value_digest(value: &Value) -> Digest {
    let mut d = Digest::default();
    match value {
        Value::Str(s) => {
            d.mix(b"string");
            d.mix(s);
        }
        Value::List(l) => {
            d.mix(b"list");
            for item in l.iter() {
                d.mix(item);
            }
        }
        Value::Set(s) => {
            d.mix(b"set");
            for m in s.iter() {
                m.with_bytes(|m| d.xor(&of(m)));
            }
        }
        Value::Hash(h) => {
            d.mix(b"hash");
            for (f, v) in h.iter() {
                let mut pair = of(f);
                pair.mix(v);
                d.xor(&pair);
            }
        }
        Value::Zset(z) => {
            // Ordered by score: mixed in order, member then score bits.
            d.mix(b"zset");
            for (score, member) in z.iter() {
                d.mix(member);
                d.mix(&score.to_le_bytes());
            }
        }
        Value::Stream(st) => {
            // Entries in ID order, the last ID, and each group's cursor and
            // pending entries (owner and delivery count: what replication
            // carries; delivery times and seen times are local clocks).
            d.mix(b"stream");
            for (id, fields) in st.all_entries() {
                d.mix(&id.ms.to_be_bytes());
                d.mix(&id.seq.to_be_bytes());
                for f in &fields {
                    d.mix(f);
                }
            }
            d.mix(&st.last_id.ms.to_be_bytes());
            d.mix(&st.last_id.seq.to_be_bytes());
            for (name, g) in &st.groups {
                d.mix(name);
                d.mix(&g.last_id.ms.to_be_bytes());
                d.mix(&g.last_id.seq.to_be_bytes());
                for (id, nack) in &g.pel {
                    d.mix(&id.ms.to_be_bytes());
                    d.mix(&id.seq.to_be_bytes());
                    d.mix(&nack.consumer);
                    d.mix(&nack.delivery_count.to_le_bytes());
                }
            }
        }
    }
    d
}

/// One key's contribution: key, value, expiry.
pub fn key_digest(key: &[u8], entry: &Entry) -> Digest {
    let mut d = of(key);
    d.xor(&value_digest(&entry.value));
    if entry.expire_at != 0 {
        d.mix(b"!!expire!!");
        d.mix(&entry.expire_at.to_le_bytes());
    }
    d
}

/// The whole dataset: `dbs[i]` yields database i's entries (from every shard).
pub fn dataset_digest<'a>(
    dbs: impl Iterator<Item = (usize, Vec<(&'a [u8], &'a Entry)>)>,
) -> Digest {
    let mut total = Digest::default();
    for (i, entries) in dbs {
        if entries.is_empty() {
            continue;
        }
        let mut keys = Digest::default();
        for (k, e) in entries {
            keys.xor(&key_digest(k, e));
        }
        total.mix(&(i as u32).to_be_bytes());
        total.xor(&keys);
    }
    total
}
