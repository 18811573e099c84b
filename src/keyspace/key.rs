//! `Key`: a key as the keyspace table stores it.
//!
//! Keys of up to `INLINE` bytes (most keys: `queue:jobs`, `user:1234:session`)
//! live inside the table's bucket, next to their entry; longer ones in one
//! allocation of their own. A lookup then compares the key it was asked for
//! with bytes already in the cache line the probe loaded, instead of
//! following a pointer to them: in a pipelined GET the comparison's cache miss
//! was a tenth of the server's time (benches/PROFILE.md). A short key also
//! costs no allocation and 24 bytes in place of a 32-byte `Bytes` handle plus
//! its allocation.
//!
//! `Key` hashes, compares and borrows as its bytes (`[u8]`), so the table is
//! searched with a plain `&[u8]`.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

use bytes::Bytes;

/// Longest key held inline: what fits beside the length and the tag in 24
/// bytes, the size of the boxed form.
pub const INLINE: usize = 22;

#[derive(Clone)]
pub enum Key {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

impl Key {
    pub fn new(bytes: &[u8]) -> Key {
        if bytes.len() <= INLINE {
            let mut inline = [0u8; INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            Key::Inline(bytes.len() as u8, inline)
        } else {
            Key::Heap(bytes.into())
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline(len, bytes) => &bytes[..*len as usize],
            Key::Heap(b) => b,
        }
    }

    /// The key as a reply or an argument: a copy (keys returned by KEYS, SCAN,
    /// RANDOMKEY, expiry and eviction are few next to lookups).
    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}

impl std::ops::Deref for Key {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Hash for Key {
    /// As `[u8]` hashes: the table is searched with `&[u8]`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

/// By bytes, as `[u8]` orders (the expiry index sorts (deadline, key)).
impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn short_keys_are_inline_and_every_key_is_found_by_its_bytes() {
        assert_eq!(std::mem::size_of::<Key>(), 24);
        let mut map: HashMap<Key, usize, ahash::RandomState> = HashMap::default();
        let keys: Vec<Vec<u8>> = (0..=64).map(|n| vec![b'k'; n]).collect();
        for (i, k) in keys.iter().enumerate() {
            let key = Key::new(k);
            assert_eq!(matches!(key, Key::Inline(..)), k.len() <= INLINE);
            assert_eq!(key.as_bytes(), &k[..]);
            assert_eq!(&key.to_bytes()[..], &k[..]);
            map.insert(key, i);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(map.get(&k[..]), Some(&i));
        }
        // Inline padding never takes part in equality.
        assert_eq!(Key::new(b"ab"), Key::new(b"ab"));
        assert_ne!(Key::new(b"ab"), Key::new(b"ab\0"));
    }
}
