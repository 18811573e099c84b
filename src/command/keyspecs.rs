//! Redis 7.0's per-command metadata beyond the command table: ACL
//! categories and key specs (which arguments are keys, and how each key is
//! used). ACL key permissions and COMMAND GETKEYSANDFLAGS read them.
//!
//! `redis7-keyspecs.tsv` is generated from redis-server 7.0.15's `COMMAND`
//! reply by `scripts/command-metadata.py` (Redis's command metadata,
//! BSD-licensed). The key search follows db.c's getKeysUsingKeySpecs and,
//! where a spec is incomplete or its flags depend on the arguments, the
//! getkeys procedures that set flags (SORT, MIGRATE, SET, BITFIELD).

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

use super::{CommandSpec, Keys};

/// Key-spec flags (Redis's CMD_KEY_*).
pub mod kflag {
    pub const RO: u16 = 1 << 0;
    pub const RW: u16 = 1 << 1;
    pub const OW: u16 = 1 << 2;
    pub const RM: u16 = 1 << 3;
    pub const ACCESS: u16 = 1 << 4;
    pub const UPDATE: u16 = 1 << 5;
    pub const INSERT: u16 = 1 << 6;
    pub const DELETE: u16 = 1 << 7;
    pub const NOT_KEY: u16 = 1 << 8;
    pub const INCOMPLETE: u16 = 1 << 9;
    pub const VARIABLE_FLAGS: u16 = 1 << 10;

    /// Names as COMMAND INFO and COMMAND GETKEYSANDFLAGS print them.
    pub const NAMES: &[(u16, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];

    pub fn by_name(name: &str) -> u16 {
        NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map_or(0, |(f, _)| *f)
    }
}

/// Where a key spec's search starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    Index(i32),
    Keyword { keyword: String, startfrom: i32 },
    Unknown,
}

/// How a key spec finds its keys from where the search started.
#[derive(Debug, Clone, PartialEq)]
pub enum Find {
    Range { last: i32, step: i32, limit: i32 },
    Keynum { idx: i32, first: i32, step: i32 },
    Unknown,
}

#[derive(Debug, Clone)]
pub struct KeySpec {
    pub flags: u16,
    pub begin: Begin,
    pub find: Find,
}

/// Redis's metadata of one command or subcommand.
#[derive(Debug, Default)]
pub struct Meta {
    /// Category names, without the `@`.
    pub categories: Vec<&'static str>,
    pub specs: Vec<KeySpec>,
}

/// One key argument and how the command uses it (Redis's keyReference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: u16,
}

/// Commands COMMAND INFO marks `movablekeys` in Redis 7.0.15 (a getkeys
/// procedure, or a key spec that is not a plain index and range).
const MOVABLE_KEYS: &[&str] = &[
    "blmpop", "bzmpop", "eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro",
    "georadius", "georadiusbymember", "lmpop", "migrate", "sintercard", "sort", "sort_ro",
    "xread", "xreadgroup", "zdiff", "zdiffstore", "zinter", "zintercard", "zinterstore",
    "zmpop", "zunion", "zunionstore",
];

/// Commands whose keys may all be absent (CMD_NO_MANDATORY_KEYS): COMMAND
/// GETKEYS answers an empty array for them rather than an error.
const NO_MANDATORY_KEYS: &[&str] = &[
    "eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro",
];

/// COMMAND INFO's `movablekeys`: Redis's list for its commands, the
/// argument-parsing key finder for Cinnabar's own.
pub fn movable_keys(fullname: &str, spec: &CommandSpec) -> bool {
    match redis_meta(fullname) {
        Some(_) => MOVABLE_KEYS.contains(&fullname),
        None => matches!(spec.keys, crate::command::Keys::Movable(_)),
    }
}

pub fn no_mandatory_keys(fullname: &str) -> bool {
    NO_MANDATORY_KEYS.contains(&fullname)
}

/// Redis's metadata of `fullname` (`get`, `config|set`), if Redis 7.0 has
/// the command.
pub fn redis_meta(fullname: &str) -> Option<&'static Meta> {
    static TABLE: OnceLock<HashMap<&'static str, Meta>> = OnceLock::new();
    TABLE
        .get_or_init(|| parse(include_str!("redis7-keyspecs.tsv")))
        .get(fullname)
}

fn parse(text: &'static str) -> HashMap<&'static str, Meta> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let mut cols = line.split('\t');
        let (Some(name), Some(cats)) = (cols.next(), cols.next()) else {
            continue;
        };
        let specs = cols.next().unwrap_or("");
        let meta = Meta {
            categories: cats.split(',').filter(|c| !c.is_empty()).collect(),
            specs: specs
                .split(';')
                .filter(|s| !s.is_empty())
                .filter_map(parse_spec)
                .collect(),
        };
        out.insert(name, meta);
    }
    out
}

fn parse_spec(text: &str) -> Option<KeySpec> {
    let mut parts = text.split('/');
    let flags = parts
        .next()?
        .split(',')
        .fold(0, |acc, f| acc | kflag::by_name(f));
    let num = |s: Option<&str>| s.and_then(|v| v.parse::<i32>().ok());
    let begin_text: Vec<&str> = parts.next()?.split(':').collect();
    let begin = match begin_text.as_slice() {
        ["i", n] => Begin::Index(n.parse().ok()?),
        ["k", kw, from] => Begin::Keyword {
            keyword: kw.to_string(),
            startfrom: from.parse().ok()?,
        },
        _ => Begin::Unknown,
    };
    let find_text: Vec<&str> = parts.next()?.split(':').collect();
    let find = match find_text.first() {
        Some(&"r") => Find::Range {
            last: num(find_text.get(1).copied())?,
            step: num(find_text.get(2).copied())?,
            limit: num(find_text.get(3).copied())?,
        },
        Some(&"n") => Find::Keynum {
            idx: num(find_text.get(1).copied())?,
            first: num(find_text.get(2).copied())?,
            step: num(find_text.get(3).copied())?,
        },
        _ => Find::Unknown,
    };
    Some(KeySpec { flags, begin, find })
}

/// The keys of a command and their flags: Redis's
/// getKeysFromCommandWithSpecs. `meta` is the command's Redis metadata;
/// commands without it (Cinnabar's later additions) report their key
/// positions with the flags of a read-write access.
pub fn key_refs(spec: &CommandSpec, meta: Option<&Meta>, args: &[Bytes]) -> Vec<KeyRef> {
    if let Some(meta) = meta {
        let has_keyspec = meta.specs.iter().any(|s| s.flags & kflag::NOT_KEY == 0);
        let has_varflags = meta
            .specs
            .iter()
            .any(|s| s.flags & kflag::VARIABLE_FLAGS != 0);
        if has_keyspec && !has_varflags {
            if let Some(keys) = keys_from_specs(&meta.specs, args) {
                return keys;
            }
            // A key count that does not fit the arguments: Redis's
            // genericGetKeys reports no keys (the command then fails on
            // its own syntax check).
            if meta
                .specs
                .iter()
                .any(|s| matches!(s.find, Find::Keynum { .. }))
            {
                return Vec::new();
            }
        }
    }
    if let Some(keys) = keys_by_procedure(spec, args) {
        return keys;
    }
    let flags = meta
        .map(|m| m.specs.iter().fold(0, |acc, s| acc | s.flags))
        .filter(|f| *f != 0)
        .unwrap_or(kflag::RW | kflag::ACCESS | kflag::UPDATE)
        & !(kflag::INCOMPLETE | kflag::VARIABLE_FLAGS);
    spec.key_positions(args)
        .into_iter()
        .map(|pos| KeyRef { pos, flags })
        .collect()
}

/// Whether a command can name keys at all (Redis's doesCommandHaveKeys).
pub fn has_keys(spec: &CommandSpec, meta: Option<&Meta>) -> bool {
    !matches!(spec.keys, Keys::None)
        || meta.is_some_and(|m| m.specs.iter().any(|s| s.flags & kflag::NOT_KEY == 0))
}

/// getKeysUsingKeySpecs: `None` where a spec cannot say (an unknown or
/// incomplete spec, a bad key count).
fn keys_from_specs(specs: &[KeySpec], args: &[Bytes]) -> Option<Vec<KeyRef>> {
    let argc = args.len() as i64;
    let mut out = Vec::new();
    for spec in specs {
        if spec.flags & kflag::NOT_KEY != 0 {
            continue;
        }
        let mut first: i64 = match &spec.begin {
            Begin::Index(i) => *i as i64,
            Begin::Keyword { keyword, startfrom } => {
                match find_keyword(args, keyword, *startfrom as i64) {
                    Some(i) => i + 1,
                    None => continue,
                }
            }
            Begin::Unknown => return None,
        };
        let (last, step) = match spec.find {
            Find::Range { last, step, limit } => {
                let last = if last >= 0 {
                    first + last as i64
                } else if limit == 0 {
                    argc + last as i64
                } else {
                    first + ((argc - first) / limit as i64 + last as i64)
                };
                (last, step as i64)
            }
            Find::Keynum {
                idx,
                first: fk,
                step,
            } => {
                let at = first + idx as i64;
                if idx as i64 >= argc || at < 0 || at >= argc {
                    return None;
                }
                // A count from the client: bounded by the arguments there
                // are before any arithmetic on it.
                let n = crate::conn::protocol::parse_i64(&args[at as usize])
                    .filter(|n| (0..=argc).contains(n))?;
                first += fk as i64;
                (first + n - 1, step as i64)
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            if i >= 1 && i < argc {
                out.push(KeyRef {
                    pos: i as usize,
                    flags: spec.flags,
                });
            }
            i += step.max(1);
        }
        if spec.flags & kflag::INCOMPLETE != 0 {
            return None;
        }
    }
    Some(out)
}

fn find_keyword(args: &[Bytes], keyword: &str, startfrom: i64) -> Option<i64> {
    let argc = args.len() as i64;
    let (start, end) = if startfrom > 0 {
        (startfrom, argc - 1)
    } else {
        (argc + startfrom, 1)
    };
    let mut i = start;
    loop {
        if i >= argc || i < 1 {
            return None;
        }
        if args[i as usize].eq_ignore_ascii_case(keyword.as_bytes()) {
            return Some(i);
        }
        if i == end {
            return None;
        }
        i += if start <= end { 1 } else { -1 };
    }
}

/// The getkeys procedures of Redis that set flags themselves (specs
/// marked incomplete or variable_flags).
fn keys_by_procedure(spec: &CommandSpec, args: &[Bytes]) -> Option<Vec<KeyRef>> {
    use kflag::*;
    let is = |i: usize, w: &str| {
        args.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()))
    };
    let key = |pos: usize, flags: u16| KeyRef { pos, flags };
    Some(match spec.name {
        "sort_ro" => vec![key(1, RO | ACCESS)],
        "sort" => {
            let mut keys = vec![key(1, RO | ACCESS)];
            let mut store = None;
            let mut i = 2;
            while i < args.len() {
                if is(i, "limit") {
                    i += 2;
                } else if is(i, "get") || is(i, "by") {
                    i += 1;
                } else if is(i, "store") && i + 1 < args.len() {
                    store = Some(i + 1);
                }
                i += 1;
            }
            keys.extend(store.map(|p| key(p, OW | UPDATE)));
            keys
        }
        "set" => {
            let get = (3..args.len()).any(|i| is(i, "get"));
            vec![key(
                1,
                if get {
                    RW | ACCESS | UPDATE
                } else {
                    OW | UPDATE
                },
            )]
        }
        "bitfield" => vec![key(
            1,
            if bitfield_read_only(args) {
                RO | ACCESS
            } else {
                RW | ACCESS | UPDATE
            },
        )],
        "migrate" => spec
            .key_positions(args)
            .into_iter()
            .map(|p| key(p, RW | ACCESS | DELETE))
            .collect(),
        _ => return None,
    })
}

/// bitfieldGetKeys: only GET (and OVERFLOW) subcommands.
fn bitfield_read_only(args: &[Bytes]) -> bool {
    let mut i = 2;
    while i < args.len() {
        let rem = args.len() - i - 1;
        let a = &args[i];
        if a.eq_ignore_ascii_case(b"get") && rem >= 2 {
            i += 3;
        } else if a.eq_ignore_ascii_case(b"overflow") && rem >= 1 {
            i += 2;
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<Bytes> {
        s.split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn refs(name: &str, line: &str) -> Vec<(usize, u16)> {
        let table = crate::command::CommandTable::new();
        let a = args(line);
        let r = table.resolve(&a).expect("command");
        key_refs(r.spec, redis_meta(name), &a)
            .into_iter()
            .map(|k| (k.pos, k.flags))
            .collect()
    }

    #[test]
    fn specs_give_positions_and_flags() {
        use kflag::*;
        assert_eq!(refs("get", "get k"), vec![(1, RO | ACCESS)]);
        assert_eq!(
            refs("lmove", "lmove a b left right"),
            vec![(1, RW | ACCESS | DELETE), (2, RW | INSERT)]
        );
        assert_eq!(refs("exists", "exists a b"), vec![(1, RO), (2, RO)]);
        assert_eq!(
            refs("xread", "xread count 2 streams a b 0 0"),
            vec![(4, RO | ACCESS), (5, RO | ACCESS)]
        );
        assert_eq!(
            refs("eval", "eval s 2 a b c"),
            vec![(3, RW | ACCESS | UPDATE), (4, RW | ACCESS | UPDATE)]
        );
        assert_eq!(
            refs("georadius", "georadius src 0 0 1 km store dst"),
            vec![(1, RO | ACCESS), (7, OW | UPDATE)]
        );
    }

    #[test]
    fn procedures_decide_variable_flags() {
        use kflag::*;
        assert_eq!(refs("set", "set k v"), vec![(1, OW | UPDATE)]);
        assert_eq!(refs("set", "set k v get"), vec![(1, RW | ACCESS | UPDATE)]);
        assert_eq!(
            refs("bitfield", "bitfield k get u8 0"),
            vec![(1, RO | ACCESS)]
        );
        assert_eq!(
            refs("sort", "sort k by w get x store d"),
            vec![(1, RO | ACCESS), (7, OW | UPDATE)]
        );
    }

    #[test]
    fn bad_key_counts_fall_back_without_panicking() {
        // A negative or unparsable numkeys: no spec answer, the command's
        // own parser reports the error later.
        for line in [
            "eval s -1 a",
            "eval s x a",
            "zunionstore d 5 a",
            "eval s 9",
            "eval s 9223372036854775807 a",
        ] {
            let _ = refs("eval", line);
        }
    }
}
