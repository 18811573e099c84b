//! ACL LOG: the security log of refused commands, keys, channels and
//! authentications (Redis 7.0's addACLLogEntry). Similar events within a
//! minute are folded into one entry with a count; the newest is first.

use std::collections::VecDeque;

use super::rules::Reason;

/// Events this close in time (ms) with the same reason, context, object
/// and user update one entry (ACL_LOG_GROUPING_MAX_TIME_DELTA).
const GROUPING_MS: u64 = 60_000;
/// How many recent entries are searched for a match.
const MATCH_SCAN: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    Multi,
    Lua,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub count: u64,
    pub reason: Reason,
    pub context: Context,
    pub object: String,
    pub username: String,
    /// Unix milliseconds of the last occurrence.
    pub ctime_ms: u64,
    /// CLIENT LIST line of the last client.
    pub client_info: String,
}

impl Entry {
    pub fn reason_name(&self) -> &'static str {
        match self.reason {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
            Reason::Auth => "auth",
        }
    }

    fn same_event(&self, other: &Entry) -> bool {
        self.reason == other.reason
            && self.context == other.context
            && self.ctime_ms.abs_diff(other.ctime_ms) <= GROUPING_MS
            && self.object == other.object
            && self.username == other.username
    }
}

#[derive(Default)]
pub struct Log {
    entries: VecDeque<Entry>,
}

impl Log {
    pub fn add(&mut self, entry: Entry, max_len: usize) {
        let found = self
            .entries
            .iter()
            .take(MATCH_SCAN)
            .position(|e| e.same_event(&entry));
        if let Some(i) = found {
            if let Some(mut existing) = self.entries.remove(i) {
                existing.count += 1;
                existing.ctime_ms = entry.ctime_ms;
                existing.client_info = entry.client_info;
                self.entries.push_front(existing);
            }
            return;
        }
        self.entries.push_front(entry);
        self.entries.truncate(max_len);
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }

    pub fn newest(&self, count: usize) -> Vec<Entry> {
        self.entries.iter().take(count).cloned().collect()
    }

    pub fn trim(&mut self, max_len: usize) {
        self.entries.truncate(max_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(object: &str, at: u64) -> Entry {
        Entry {
            count: 1,
            reason: Reason::Key,
            context: Context::Toplevel,
            object: object.into(),
            username: "u".into(),
            ctime_ms: at,
            client_info: String::new(),
        }
    }

    #[test]
    fn similar_events_fold_and_the_log_is_bounded() {
        let mut log = Log::default();
        log.add(entry("a", 0), 3);
        log.add(entry("a", 1000), 3);
        assert_eq!(log.newest(10).len(), 1);
        assert_eq!(log.newest(10)[0].count, 2);
        // A minute later it is a new event.
        log.add(entry("a", 1000 + GROUPING_MS + 1), 3);
        assert_eq!(log.newest(10).len(), 2);
        for k in ["b", "c", "d"] {
            log.add(entry(k, 0), 3);
        }
        let names: Vec<String> = log.newest(10).into_iter().map(|e| e.object).collect();
        assert_eq!(names, ["d", "c", "b"]);
    }
}
