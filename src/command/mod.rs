//! The command table (data) and dispatch.
//!
//! Each family module exports `COMMANDS: &[CommandSpec]`, its registration
//! table; `CommandTable` merges them. Dispatch resolves the name (and the
//! subcommand, for container commands such as CONFIG), checks arity, applies the
//! connection-state rules (MULTI queueing, RESP2 subscribed mode), locks the
//! shards of the command's keys in ascending order and calls the handler.

pub mod args;
mod ctx;
pub mod docs;
pub mod exec;
pub mod keyspecs;
pub mod pipeline;

pub use ctx::Ctx;
pub use exec::{call, execute, run_queued, Outcome};

use std::collections::HashMap;

use bytes::Bytes;

use crate::error::CmdResult;
use crate::reply::Reply;

pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult<Reply>;

/// Where a command's keys are: the same data COMMAND INFO reports.
#[derive(Clone, Copy)]
pub enum Keys {
    None,
    /// first, last (negative counts from the end), step — as in COMMAND INFO.
    Range(i32, i32, i32),
    /// Keys found by parsing the arguments (movablekeys).
    Movable(fn(&[Bytes]) -> Vec<usize>),
}

/// `a == b` for names of a few bytes: an inlined loop, where the slice
/// comparison calls `memcmp` (whose call cost more than the comparison:
/// 2-4 % of a pipelined GET in the lookup cache).
#[inline]
pub fn same_short_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const FAST: u32 = 1 << 9;
    pub const NO_AUTH: u32 = 1 << 10;
    pub const NO_MULTI: u32 = 1 << 11;
    pub const ALLOW_BUSY: u32 = 1 << 12;
    /// Not a Redis flag: the command needs every shard locked (keyless scans, EXEC).
    pub const ALL_SHARDS: u32 = 1 << 13;
    /// Allowed in RESP2 subscribed mode.
    pub const SUBSCRIBED_OK: u32 = 1 << 14;
    pub const SKIP_SLOWLOG: u32 = 1 << 15;
    pub const MAY_REPLICATE: u32 = 1 << 16;
    pub const SKIP_MONITOR: u32 = 1 << 17;
    /// EVAL / EVALSHA / FCALL and their _RO forms: a script with flags
    /// (shebang, register_function) decides write / denyoom / stale itself
    /// (`scripting::command_flags`).
    pub const SCRIPT_FLAGS: u32 = 1 << 18;

    /// Redis's flag names, in COMMAND INFO order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

pub struct CommandSpec {
    /// Lowercase name (`get`, or `get` under `config` for CONFIG GET).
    pub name: &'static str,
    /// Redis arity: N exactly, or -N for at least N (counting the name).
    pub arity: i32,
    pub flags: u32,
    pub keys: Keys,
    pub handler: Handler,
    /// COMMAND DOCS group (`string`, `generic`, `connection`…).
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: Keys,
        handler: Handler,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            keys,
            handler,
            group: "generic",
            summary: "",
            since: "1.0.0",
            subcommands: &[],
        }
    }

    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
    ) -> CommandSpec {
        self.group = group;
        self.since = since;
        self.summary = summary;
        self
    }

    pub const fn subs(mut self, subs: &'static [CommandSpec]) -> CommandSpec {
        self.subcommands = subs;
        self
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a >= 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
    }

    /// Argument positions of the keys (COMMAND GETKEYS, shard locking).
    pub fn key_positions(&self, args: &[Bytes]) -> Vec<usize> {
        match self.keys {
            Keys::None => Vec::new(),
            Keys::Range(first, last, step) => {
                let argc = args.len() as i32;
                let last = if last < 0 {
                    argc + last
                } else {
                    last.min(argc - 1)
                };
                let mut out = Vec::new();
                let mut i = first;
                while i > 0 && i <= last && i < argc {
                    out.push(i as usize);
                    i += step.max(1);
                }
                out
            }
            Keys::Movable(f) => f(args),
        }
    }
}

/// A resolved command: its spec and its index for statistics.
#[derive(Clone, Copy)]
pub struct Resolved {
    pub spec: &'static CommandSpec,
    pub parent: Option<&'static CommandSpec>,
    pub stat: usize,
}

impl Resolved {
    /// `get` or `config|get`: the name Redis uses in errors and statistics.
    pub fn full_name(&self) -> String {
        match self.parent {
            Some(p) => format!("{}|{}", p.name, self.spec.name),
            None => self.spec.name.to_string(),
        }
    }
}

/// FNV-1a: command names are short and trusted (the table's own), so a
/// simple, fast hash beats SipHash on the per-command lookup.
#[derive(Default)]
pub struct NameHasher(u64);

impl std::hash::Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf29ce484222325
        } else {
            self.0
        };
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        self.0 = h;
    }
}

/// Longest command name the lookup cache keeps (the longest in Redis 7.0's
/// table is 20 bytes).
const LAST_NAME_MAX: usize = 24;

/// The last name `get_cached` resolved on this thread, exactly as sent.
#[derive(Clone, Copy)]
struct LastLookup {
    table: usize,
    name: [u8; LAST_NAME_MAX],
    len: usize,
    idx: usize,
    spec: &'static CommandSpec,
}

type NameMap<V> = HashMap<&'static str, V, std::hash::BuildHasherDefault<NameHasher>>;

/// Numbers every version of every command table (`CommandTable::version`).
static TABLE_VERSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

fn next_table_version() -> usize {
    TABLE_VERSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

pub struct CommandTable {
    by_name: NameMap<(usize, &'static CommandSpec)>,
    /// Unique to this table as it is now (a rename makes a new version): what
    /// the per-thread lookup cache is keyed by.
    version: usize,
    /// Every (parent, spec) with its statistics index.
    pub all: Vec<(Option<&'static CommandSpec>, &'static CommandSpec)>,
}

impl CommandTable {
    pub fn new() -> CommandTable {
        let mut table = CommandTable {
            by_name: NameMap::default(),
            version: next_table_version(),
            all: Vec::new(),
        };
        for family in crate::family::ALL {
            for spec in family.iter() {
                table.by_name.insert(spec.name, (table.all.len(), spec));
                table.all.push((None, spec));
                for sub in spec.subcommands {
                    table.all.push((Some(spec), sub));
                }
            }
        }
        table
    }

    /// Whether `name` looks up its first argument as a key (GET, SET, LPUSH,
    /// XADD…): what a pipeline's next command may have prefetched.
    pub fn first_arg_is_key(&self, name: &[u8]) -> bool {
        matches!(
            self.get_cached(name),
            Some((_, spec)) if spec.subcommands.is_empty() && matches!(spec.keys, Keys::Range(1, _, _))
        )
    }

    /// `get` through a one-entry cache per thread: a pipeline mostly
    /// repeats one command, and comparing its name with the last one's
    /// costs less than lowercasing and hashing it (2-4 % of a pipelined
    /// GET or PING). Keyed by the table's version too: tests run several
    /// servers, with different renames, in one process.
    fn get_cached(&self, name: &[u8]) -> Option<(usize, &'static CommandSpec)> {
        thread_local! {
            static LAST: std::cell::Cell<Option<LastLookup>> = const { std::cell::Cell::new(None) };
        }
        let table = self.version;
        if let Some(last) = LAST.get() {
            if last.table == table && same_short_bytes(name, &last.name[..last.len]) {
                return Some((last.idx, last.spec));
            }
        }
        let found = self.get(name)?;
        if name.len() <= LAST_NAME_MAX {
            let mut last = LastLookup {
                table,
                name: [0; LAST_NAME_MAX],
                len: name.len(),
                idx: found.0,
                spec: found.1,
            };
            last.name[..name.len()].copy_from_slice(name);
            LAST.set(Some(last));
        }
        Some(found)
    }

    /// Looks a command up by name, case-insensitively, without allocating.
    pub fn get(&self, name: &[u8]) -> Option<(usize, &'static CommandSpec)> {
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return None;
        }
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        let s = std::str::from_utf8(lower).ok()?;
        self.by_name.get(s).copied()
    }

    /// Resolves `args[0]` (and `args[1]` for container commands).
    pub fn resolve(&self, args: &[Bytes]) -> Option<Resolved> {
        let (idx, spec) = self.get_cached(&args[0])?;
        if spec.subcommands.is_empty() || args.len() < 2 {
            return Some(Resolved {
                spec,
                parent: None,
                stat: idx,
            });
        }
        let sub_name = &args[1];
        for (i, sub) in spec.subcommands.iter().enumerate() {
            if sub.name.as_bytes().eq_ignore_ascii_case(sub_name) {
                return Some(Resolved {
                    spec: sub,
                    parent: Some(spec),
                    stat: idx + 1 + i,
                });
            }
        }
        Some(Resolved {
            spec,
            parent: None,
            stat: idx,
        })
    }

    /// `rename-command from to` (redis.conf): the command answers to `to` only;
    /// an empty `to` removes it. False when `from` is unknown or `to` taken.
    pub fn rename(&mut self, from: &str, to: &str) -> bool {
        self.version = next_table_version();
        let from = from.to_ascii_lowercase();
        let to = to.to_ascii_lowercase();
        let Some((key, entry)) = self.by_name.remove_entry(from.as_str()) else {
            return false;
        };
        if !to.is_empty() && self.by_name.contains_key(to.as_str()) {
            self.by_name.insert(key, entry);
            return false;
        }
        if !to.is_empty() {
            // Names live for the whole process; renames are a handful of config lines.
            self.by_name.insert(Box::leak(to.into_boxed_str()), entry);
        }
        true
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    pub fn top_level(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.all
            .iter()
            .filter(|(p, _)| p.is_none())
            .map(|(_, s)| *s)
    }
}

impl Default for CommandTable {
    fn default() -> Self {
        CommandTable::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_name(table: &CommandTable, name: &str) -> Option<&'static str> {
        table
            .resolve(&[Bytes::copy_from_slice(name.as_bytes())])
            .map(|r| r.spec.name)
    }

    #[test]
    fn the_lookup_cache_follows_case_and_renames() {
        let mut table = CommandTable::new();
        assert_eq!(resolve_name(&table, "GET"), Some("get"));
        // Cached as sent: another spelling is looked up, not mistaken.
        assert_eq!(resolve_name(&table, "gEt"), Some("get"));
        assert_eq!(resolve_name(&table, "set"), Some("set"));
        assert_eq!(resolve_name(&table, "set"), Some("set"));
        assert_eq!(resolve_name(&table, "nosuchcommand"), None);
        // A rename after "set" was cached: the old name is gone at once.
        assert!(table.rename("set", "put"));
        assert_eq!(resolve_name(&table, "set"), None);
        assert_eq!(resolve_name(&table, "put"), Some("set"));
        // Another table (another server in the process) has its own names.
        let other = CommandTable::new();
        assert_eq!(resolve_name(&other, "put"), None);
        assert_eq!(resolve_name(&other, "set"), Some("set"));
    }
}
