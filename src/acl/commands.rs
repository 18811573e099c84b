//! The command table as ACL sees it: one id per command and subcommand
//! (its index in `CommandTable::all`, also its statistics index), its
//! categories, keys and channels. Built once at startup from the table
//! before any rename (ACL rules name the original commands, as Redis's
//! `orig_commands`).

use std::collections::HashMap;

use bytes::Bytes;

use super::rules::{category_bit, CATEGORIES};
use crate::command::keyspecs::{self, KeyRef, Meta};
use crate::command::{flags, CommandSpec, CommandTable};

/// How a command names channels (Redis's getChannelsFromCommand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    None,
    /// PUBLISH / SPUBLISH: argument 1.
    Publish,
    /// SUBSCRIBE / SSUBSCRIBE: every argument.
    Subscribe,
    /// PSUBSCRIBE: every argument, as a pattern.
    PatternSubscribe,
}

pub struct CommandEntry {
    pub fullname: String,
    pub spec: &'static CommandSpec,
    pub categories: u32,
    pub is_sub: bool,
    pub subs: Vec<usize>,
    pub no_auth: bool,
    pub has_keys: bool,
    pub meta: Option<&'static Meta>,
    pub channels: Channels,
}

impl CommandEntry {
    pub fn key_refs(&self, args: &[Bytes]) -> Vec<KeyRef> {
        keyspecs::key_refs(self.spec, self.meta, args)
    }

    /// (position, is a pattern) of each channel the command publishes or
    /// subscribes to.
    pub fn channel_args(&self, args: &[Bytes]) -> Vec<(usize, bool)> {
        match self.channels {
            Channels::None => Vec::new(),
            Channels::Publish => (args.len() > 1).then_some((1, false)).into_iter().collect(),
            Channels::Subscribe => (1..args.len()).map(|i| (i, false)).collect(),
            Channels::PatternSubscribe => (1..args.len()).map(|i| (i, true)).collect(),
        }
    }
}

pub struct CommandIndex {
    by_name: HashMap<String, usize>,
    entries: Vec<CommandEntry>,
    roots: Vec<usize>,
}

impl CommandIndex {
    pub fn new(table: &CommandTable) -> CommandIndex {
        let mut idx = CommandIndex {
            by_name: HashMap::new(),
            entries: Vec::with_capacity(table.all.len()),
            roots: Vec::new(),
        };
        for (id, (parent, spec)) in table.all.iter().enumerate() {
            let fullname = match parent {
                Some(p) => format!("{}|{}", p.name, spec.name),
                None => spec.name.to_string(),
            };
            let meta = keyspecs::redis_meta(&fullname);
            let categories = match meta {
                Some(m) => m
                    .categories
                    .iter()
                    .filter_map(|c| category_bit(c.as_bytes()))
                    .fold(0, |a, b| a | b),
                None => derived_categories(spec),
            };
            let channels = match (parent.is_none(), spec.name) {
                (true, "publish" | "spublish") => Channels::Publish,
                (true, "subscribe" | "ssubscribe") => Channels::Subscribe,
                (true, "psubscribe") => Channels::PatternSubscribe,
                _ => Channels::None,
            };
            match parent {
                Some(_) => {
                    // Subcommands follow their container in the table.
                    if let Some(&root) = idx.roots.last() {
                        idx.entries[root].subs.push(id);
                    }
                }
                None => idx.roots.push(id),
            }
            idx.by_name.insert(fullname.clone(), id);
            idx.entries.push(CommandEntry {
                fullname,
                spec,
                categories,
                is_sub: parent.is_some(),
                subs: Vec::new(),
                no_auth: spec.has(flags::NO_AUTH),
                has_keys: keyspecs::has_keys(spec, meta),
                meta,
                channels,
            });
        }
        idx
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entry(&self, id: usize) -> &CommandEntry {
        &self.entries[id]
    }

    /// Top-level commands, in table order.
    pub fn roots(&self) -> &[usize] {
        &self.roots
    }

    /// Redis's lookupCommandBySds (strict): `name` or `container|sub`,
    /// case-insensitively; `cmd|x` of a command without subcommands is
    /// not a command.
    pub fn lookup(&self, name: &[u8]) -> Option<usize> {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        let mut parts = lower.split('|');
        let base = parts.next()?;
        let sub = parts.next();
        if parts.next().is_some() {
            return None;
        }
        let id = *self.by_name.get(base)?;
        match sub {
            None => Some(id),
            Some(_) if self.entries[id].subs.is_empty() => None,
            Some(_) => self.by_name.get(lower.as_str()).copied(),
        }
    }

    /// Every command and subcommand in `category` (ACL CAT).
    pub fn in_category(&self, cat: u32) -> impl Iterator<Item = &CommandEntry> {
        self.entries.iter().filter(move |e| e.categories & cat != 0)
    }
}

/// Categories of a command Redis 7.0 does not have (a later addition),
/// from its flags and group, as Redis's setImplicitACLCategories plus the
/// group's data-type category.
fn derived_categories(spec: &CommandSpec) -> u32 {
    let cat = |n: &str| category_bit(n.as_bytes()).unwrap_or(0);
    let mut c = 0;
    if spec.has(flags::WRITE) {
        c |= cat("write");
    }
    if spec.has(flags::READONLY) {
        c |= cat("read");
    }
    if spec.has(flags::ADMIN) {
        c |= cat("admin") | cat("dangerous");
    }
    if spec.has(flags::PUBSUB) {
        c |= cat("pubsub");
    }
    if spec.has(flags::BLOCKING) {
        c |= cat("blocking");
    }
    c |= if spec.has(flags::FAST) {
        cat("fast")
    } else {
        cat("slow")
    };
    let group = match spec.group {
        "sorted-set" => "sortedset",
        "generic" => "keyspace",
        "transactions" => "transaction",
        g => g,
    };
    if CATEGORIES.contains(&group) {
        c |= cat(group);
    }
    c
}
