//! Lua scripting as Redis 7.0 embeds it: EVAL / EVALSHA and the script cache.
//!
//! - The cache (`Scripts`) maps a body's SHA1 to the body; it is shared by
//!   every thread. Each thread keeps its own Lua 5.1 state (`engine`),
//!   compiling a body the first time that thread runs it, and drops the
//!   state when SCRIPT FLUSH bumps the cache's generation.
//! - A script runs under every shard lock (EVAL is an `ALL_SHARDS` command):
//!   atomic with respect to every other client whatever keys it touches,
//!   declared or not. Its `redis.call`s go through the same `exec::call` as
//!   EXEC's queued commands, so their effects, statistics, MONITOR lines and
//!   keyspace events are those commands' own; more than one effect reaches
//!   replicas and the AOF wrapped in MULTI / EXEC.
//! - Conversions between Lua values and replies follow Redis's RESP2 rules
//!   (`convert`).

mod convert;
mod engine;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

pub use engine::{run, Invocation};

/// The script cache: SHA1 (lowercase hex) → body.
#[derive(Default)]
pub struct Scripts {
    bodies: Mutex<HashMap<String, Bytes>>,
    /// Bumped by SCRIPT FLUSH: threads drop their compiled functions.
    generation: AtomicU64,
}

impl Scripts {
    /// Adds `body` and returns its SHA1.
    pub fn load(&self, body: &Bytes) -> String {
        let sha = sha1hex(body);
        self.bodies
            .lock()
            .entry(sha.clone())
            .or_insert_with(|| Bytes::copy_from_slice(body));
        sha
    }

    /// The body of `sha` (any case, as Redis accepts), if cached.
    pub fn get(&self, sha: &[u8]) -> Option<(String, Bytes)> {
        let sha = std::str::from_utf8(sha).ok()?.to_ascii_lowercase();
        let body = self.bodies.lock().get(&sha).cloned()?;
        Some((sha, body))
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        self.get(sha).is_some()
    }

    pub fn flush(&self) {
        self.bodies.lock().clear();
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// Lowercase hex SHA1, as `redis.sha1hex` and SCRIPT LOAD answer.
pub fn sha1hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_is_redis_s() {
        // redis-cli SCRIPT LOAD "return 1"
        assert_eq!(
            sha1hex(b"return 1"),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
        assert_eq!(sha1hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn cache_is_case_insensitive_and_flushes() {
        let s = Scripts::default();
        let sha = s.load(&Bytes::from_static(b"return 1"));
        assert!(s.exists(sha.to_ascii_uppercase().as_bytes()));
        let g = s.generation();
        s.flush();
        assert!(!s.exists(sha.as_bytes()));
        assert_eq!(s.generation(), g + 1);
    }
}
