//! The slow log (Redis's slowlog.c): commands that ran longer than
//! `slowlog-log-slower-than` microseconds, newest first, at most
//! `slowlog-max-len` of them. The check costs one relaxed load per command
//! when nothing is slow enough; the log itself is behind a lock taken only
//! to add an entry or to read it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::reply::Reply;

/// Arguments kept per entry, and bytes kept per argument (SLOWLOG_ENTRY_MAX_*).
const MAX_ARGC: usize = 32;
const MAX_STRING: usize = 128;

pub struct Entry {
    pub id: u64,
    pub unix_secs: u64,
    pub micros: u64,
    pub args: Vec<Bytes>,
    pub addr: String,
    pub name: Bytes,
}

#[derive(Default)]
pub struct SlowLog {
    entries: Mutex<VecDeque<Entry>>,
    next_id: AtomicU64,
}

impl SlowLog {
    /// Adds the command if it took at least `threshold` µs (negative: the
    /// log is off). `redacted` are argument positions shown as `(redacted)`.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        threshold: i64,
        max_len: usize,
        micros: u64,
        args: &[Bytes],
        redacted: &[usize],
        addr: &str,
        name: Bytes,
    ) {
        if threshold < 0 || (micros as i64) < threshold {
            return;
        }
        let entry = Entry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            unix_secs: crate::server::unix_ms() / 1000,
            micros,
            args: trimmed(args, redacted),
            addr: addr.to_string(),
            name,
        };
        let mut entries = self.entries.lock();
        entries.push_front(entry);
        entries.truncate(max_len);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&self) {
        self.entries.lock().clear();
    }

    /// SLOWLOG GET: the `count` newest entries (all with `None`).
    pub fn get(&self, count: Option<usize>) -> Reply {
        let entries = self.entries.lock();
        let n = count.map_or(entries.len(), |c| c.min(entries.len()));
        Reply::Array(entries.iter().take(n).map(entry_reply).collect())
    }
}

fn entry_reply(e: &Entry) -> Reply {
    Reply::Array(vec![
        Reply::Int(e.id as i64),
        Reply::Int(e.unix_secs as i64),
        Reply::Int(e.micros as i64),
        Reply::Array(e.args.iter().cloned().map(Reply::Bulk).collect()),
        Reply::Bulk(Bytes::copy_from_slice(e.addr.as_bytes())),
        Reply::Bulk(e.name.clone()),
    ])
}

/// At most 32 arguments (the last saying how many more there were), each
/// at most 128 bytes (saying how many more bytes it had), sensitive ones
/// redacted, as Redis's slowlogCreateEntry.
fn trimmed(args: &[Bytes], redacted: &[usize]) -> Vec<Bytes> {
    let keep = if args.len() > MAX_ARGC {
        MAX_ARGC - 1
    } else {
        args.len()
    };
    let mut out = Vec::with_capacity(keep + 1);
    for (i, a) in args.iter().take(keep).enumerate() {
        if redacted.contains(&i) {
            out.push(Bytes::from_static(b"(redacted)"));
        } else if a.len() > MAX_STRING {
            let mut s = a[..MAX_STRING].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            out.push(Bytes::from(s));
        } else {
            out.push(a.clone());
        }
    }
    if args.len() > MAX_ARGC {
        out.push(Bytes::from(format!(
            "... ({} more arguments)",
            args.len() - MAX_ARGC + 1
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_commands_are_trimmed_as_redis_trims_them() {
        let args: Vec<Bytes> = (0..34).map(|i| Bytes::from(i.to_string())).collect();
        let t = trimmed(&args, &[]);
        assert_eq!(t.len(), 32);
        assert_eq!(t[31], Bytes::from("... (3 more arguments)"));
        let long = Bytes::from(vec![b'A'; 129]);
        let t = trimmed(&[Bytes::from("sadd"), long], &[]);
        assert!(t[1].ends_with(b"A... (1 more bytes)"));
        let t = trimmed(&[Bytes::from("auth"), Bytes::from("pw")], &[1]);
        assert_eq!(t[1], Bytes::from("(redacted)"));
    }

    #[test]
    fn newest_first_and_bounded() {
        let log = SlowLog::default();
        for i in 0..5 {
            log.record(0, 3, i, &[Bytes::from("ping")], &[], "a", Bytes::new());
        }
        assert_eq!(log.len(), 3);
        let Reply::Array(entries) = log.get(Some(1)) else {
            panic!("an array");
        };
        let Reply::Array(first) = &entries[0] else {
            panic!("an entry");
        };
        assert!(matches!(first[0], Reply::Int(4)));
        log.record(-1, 3, 100, &[Bytes::from("ping")], &[], "a", Bytes::new());
        log.record(1000, 3, 100, &[Bytes::from("ping")], &[], "a", Bytes::new());
        assert_eq!(log.len(), 3);
    }
}
