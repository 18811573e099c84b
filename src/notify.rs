//! Keyspace notifications (`notify-keyspace-events`): class flags and event delivery.
//!
//! Handlers record `KeyEvent`s in their `Ctx`; after the command releases its
//! shard locks the events are published on `__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>` through the ordinary pub/sub registry.

use bytes::{BufMut, Bytes, BytesMut};

pub const KEYSPACE: u32 = 1 << 0;
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 12;
pub const NEW: u32 = 1 << 13;
/// Everything `A` stands for: all classes except key-miss and new.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// A notification recorded by a command, published once its locks are released.
#[derive(Debug, Clone)]
pub struct KeyEvent {
    pub class: u32,
    pub event: &'static str,
    pub key: Bytes,
    pub db: usize,
}

/// Parses a class string such as `KEA` or `Kx$`; `None` on an unknown letter.
pub fn parse_flags(s: &str) -> Option<u32> {
    let mut flags = 0;
    for c in s.chars() {
        flags |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The canonical text CONFIG GET reports (Redis's `keyspaceEventsFlagsToString`).
pub fn flags_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [
        (KEYSPACE, 'K'),
        (KEYEVENT, 'E'),
        (KEY_MISS, 'm'),
        (NEW, 'n'),
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Whether an event of `class` is published at all under `flags`.
pub fn enabled(flags: u32, class: u32) -> bool {
    flags & (KEYSPACE | KEYEVENT) != 0 && flags & class != 0
}

/// The two channels of an event: `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`.
pub fn channels(ev: &KeyEvent) -> (Bytes, Bytes) {
    let mut db = itoa::Buffer::new();
    let db = db.format(ev.db);
    let mut ks = BytesMut::with_capacity(16 + ev.key.len());
    ks.put_slice(b"__keyspace@");
    ks.put_slice(db.as_bytes());
    ks.put_slice(b"__:");
    ks.put_slice(&ev.key);
    let mut ke = BytesMut::with_capacity(16 + ev.event.len());
    ke.put_slice(b"__keyevent@");
    ke.put_slice(db.as_bytes());
    ke.put_slice(b"__:");
    ke.put_slice(ev.event.as_bytes());
    (ks.freeze(), ke.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_roundtrip() {
        assert_eq!(flags_to_string(parse_flags("KEA").unwrap()), "AKE");
        assert_eq!(flags_to_string(parse_flags("Kx$").unwrap()), "$xK");
        assert_eq!(parse_flags("Q"), None);
        assert_eq!(flags_to_string(0), "");
    }
}
