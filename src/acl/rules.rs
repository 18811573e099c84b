//! One user's ACL rules, as Redis 7.0's acl.c keeps them: flags, password
//! hashes and selectors (the root selector first). Each selector holds a
//! bitmap of allowed commands (indexed like the command table), allowed
//! first arguments, key patterns with read / write permissions and channel
//! patterns. Rules are applied one op at a time (ACLSetUser /
//! ACLSetSelector) and described back in the same syntax (ACLDescribeUser).

use std::collections::BTreeMap;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::commands::CommandIndex;
use crate::command::keyspecs::{kflag, KeyRef};
use crate::error::msg;

/// Redis's ACL categories, in its order (bit `i` is `CATEGORIES[i]`).
pub const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

pub fn category_bit(name: &[u8]) -> Option<u32> {
    CATEGORIES
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// Key pattern permissions (ACL_READ_PERMISSION / ACL_WRITE_PERMISSION).
pub const PERM_READ: u8 = 1;
pub const PERM_WRITE: u8 = 2;
pub const PERM_ALL: u8 = PERM_READ | PERM_WRITE;

/// Why a rule could not be applied (acl.c's errno values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// EINVAL
    Syntax,
    /// ENOENT
    UnknownCommand,
    /// EEXIST
    KeysAfterAll,
    /// EISDIR
    ChannelsAfterAll,
    /// ENODEV
    NoSuchPassword,
    /// EBADMSG
    BadHash,
    /// EALREADY
    DuplicateUser,
    /// ECHILD
    FirstArgOfSubcommand,
}

impl RuleError {
    /// ACLSetUserStringError.
    pub fn message(self) -> &'static str {
        match self {
            RuleError::Syntax => msg::ACL_RULE_SYNTAX,
            RuleError::UnknownCommand => msg::ACL_RULE_UNKNOWN_COMMAND,
            RuleError::KeysAfterAll => msg::ACL_RULE_KEYS_AFTER_ALL,
            RuleError::ChannelsAfterAll => msg::ACL_RULE_CHANNELS_AFTER_ALL,
            RuleError::NoSuchPassword => msg::ACL_RULE_NO_SUCH_PASSWORD,
            RuleError::BadHash => msg::ACL_RULE_BAD_HASH,
            RuleError::DuplicateUser => msg::ACL_RULE_DUPLICATE_USER,
            RuleError::FirstArgOfSubcommand => msg::ACL_RULE_FIRST_ARG_OF_SUBCOMMAND,
        }
    }
}

/// Why a command was refused, ordered as Redis's ACL_DENIED_* values (the
/// larger one is reported when several selectors refuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    Command = 1,
    Key = 2,
    Auth = 3,
    Channel = 4,
}

/// A refusal: the reason and the argument it is about (key or channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    pub reason: Reason,
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub perm: u8,
    pub pattern: Bytes,
}

impl KeyPattern {
    fn describe(&self) -> String {
        let prefix = match self.perm {
            PERM_READ => "%R~",
            PERM_WRITE => "%W~",
            _ => "~",
        };
        format!("{prefix}{}", String::from_utf8_lossy(&self.pattern))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub root: bool,
    pub all_keys: bool,
    pub all_channels: bool,
    pub all_commands: bool,
    /// The reserved bit `+@all` sets: the selector also allows commands
    /// added later (what ACLDescribeSelectorCommandRules starts from).
    future_commands: bool,
    allowed: Vec<u64>,
    /// Command id → first arguments allowed of an otherwise blocked command.
    first_args: BTreeMap<usize, Vec<String>>,
    pub patterns: Vec<KeyPattern>,
    pub channels: Vec<Bytes>,
}

fn is_word(op: &[u8], word: &str) -> bool {
    op.eq_ignore_ascii_case(word.as_bytes())
}

/// ACLStringHasSpaces: isspace or NUL.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| c == 0 || c == b' ' || (b'\t'..=b'\r').contains(&c))
}

impl Selector {
    pub fn new(root: bool, pubsub_default_all: bool) -> Selector {
        Selector {
            root,
            all_channels: pubsub_default_all,
            ..Default::default()
        }
    }

    fn bit(&self, id: usize) -> bool {
        self.allowed
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, value: bool) {
        if self.allowed.len() <= id / 64 {
            self.allowed.resize(id / 64 + 1, 0);
        }
        if value {
            self.allowed[id / 64] |= 1 << (id % 64);
        } else {
            self.allowed[id / 64] &= !(1 << (id % 64));
            self.all_commands = false;
        }
    }

    fn set_all(&mut self, idx: &CommandIndex, value: bool) {
        let word = if value { u64::MAX } else { 0 };
        self.allowed = vec![word; idx.len().div_ceil(64)];
        self.all_commands = value;
        self.future_commands = value;
        self.first_args.clear();
    }

    /// ACLChangeSelectorPerm: a container's subcommands follow it.
    fn change_perm(&mut self, idx: &CommandIndex, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.first_args.remove(&id);
        for &sub in &idx.entry(id).subs {
            self.set_bit(sub, allow);
        }
    }

    fn change_category(&mut self, idx: &CommandIndex, cat: u32, allow: bool) {
        for id in 0..idx.len() {
            if idx.entry(id).categories & cat != 0 {
                self.change_perm(idx, id, allow);
            }
        }
    }

    /// ACLSetSelector: one key, channel or command rule.
    pub fn apply(&mut self, idx: &CommandIndex, op: &[u8]) -> Result<(), RuleError> {
        if is_word(op, "allkeys") || op == b"~*" {
            self.all_keys = true;
            self.patterns.clear();
        } else if is_word(op, "resetkeys") {
            self.all_keys = false;
            self.patterns.clear();
        } else if is_word(op, "allchannels") || op == b"&*" {
            self.all_channels = true;
            self.channels.clear();
        } else if is_word(op, "resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is_word(op, "allcommands") || is_word(op, "+@all") {
            self.set_all(idx, true);
        } else if is_word(op, "nocommands") || is_word(op, "-@all") {
            self.set_all(idx, false);
        } else if op.first().is_some_and(|&c| c == b'~' || c == b'%') {
            self.add_key_pattern(op)?;
        } else if op.first() == Some(&b'&') {
            if self.all_channels {
                return Err(RuleError::ChannelsAfterAll);
            }
            if has_spaces(&op[1..]) {
                return Err(RuleError::Syntax);
            }
            let pattern = Bytes::copy_from_slice(&op[1..]);
            if !self.channels.contains(&pattern) {
                self.channels.push(pattern);
            }
            self.all_channels = false;
        } else if op.len() >= 2 && (op[0] == b'+' || op[0] == b'-') && op[1] == b'@' {
            let cat = category_bit(&op[2..]).ok_or(RuleError::UnknownCommand)?;
            self.change_category(idx, cat, op[0] == b'+');
        } else if op.first() == Some(&b'+') {
            self.allow_command(idx, &op[1..])?;
        } else if op.first() == Some(&b'-') {
            let id = idx.lookup(&op[1..]).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(idx, id, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeysAfterAll);
        }
        let mut perm = 0;
        let mut offset = 1;
        if op[0] == b'%' {
            loop {
                match op.get(offset).map(|c| c.to_ascii_uppercase()) {
                    Some(b'R') if perm & PERM_READ == 0 => perm |= PERM_READ,
                    Some(b'W') if perm & PERM_WRITE == 0 => perm |= PERM_WRITE,
                    Some(b'~') => {
                        offset += 1;
                        break;
                    }
                    // Running out of flags without a `~` leaves an
                    // empty pattern, as in Redis.
                    None => break,
                    _ => return Err(RuleError::Syntax),
                }
                offset += 1;
            }
        } else {
            perm = PERM_ALL;
        }
        let text = &op[offset.min(op.len())..];
        if has_spaces(text) {
            return Err(RuleError::Syntax);
        }
        let pattern = Bytes::copy_from_slice(text);
        match self.patterns.iter_mut().find(|p| p.pattern == pattern) {
            Some(existing) => existing.perm |= perm,
            None => self.patterns.push(KeyPattern { perm, pattern }),
        }
        self.all_keys = false;
        Ok(())
    }

    /// `+cmd`, `+container|sub`, or `+cmd|first-arg`.
    fn allow_command(&mut self, idx: &CommandIndex, name: &[u8]) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|&c| c == b'|') else {
            let id = idx.lookup(name).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(idx, id, true);
            return Ok(());
        };
        let (cmd, sub) = (&name[..bar], &name[bar + 1..]);
        let id = idx.lookup(cmd).ok_or(RuleError::UnknownCommand)?;
        if idx.entry(id).is_sub {
            return Err(RuleError::FirstArgOfSubcommand);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !idx.entry(id).subs.is_empty() {
            let sub_id = idx.lookup(name).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(idx, sub_id, true);
        } else {
            tracing::warn!(
                "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
                String::from_utf8_lossy(name)
            );
            let sub = String::from_utf8_lossy(sub).into_owned();
            let list = self.first_args.entry(id).or_default();
            if !list.iter().any(|s| s.eq_ignore_ascii_case(&sub)) {
                list.push(sub);
            }
        }
        Ok(())
    }

    /// ACLDescribeSelectorCommandRules: `+@all` or `-@all`, then the
    /// categories that best fit the bitmap (greedily), then single commands.
    pub fn describe_commands(&self, idx: &CommandIndex) -> String {
        let additive = !self.future_commands;
        let mut rules = String::from(if additive { "-@all " } else { "+@all " });
        let mut fake = Selector::default();
        fake.set_all(idx, !additive);
        let mut temp = Selector {
            allowed: self.allowed.clone(),
            ..Default::default()
        };
        let mut applied = [false; CATEGORIES.len()];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, done) in applied.iter().enumerate() {
                if *done {
                    continue;
                }
                let (on, off) = temp.count_category(idx, 1 << j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else { break };
            fake.change_category(idx, 1 << j, additive);
            temp.change_category(idx, 1 << j, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(CATEGORIES[j]);
            rules.push(' ');
            applied[j] = true;
        }
        for &id in idx.roots() {
            self.describe_single(idx, &mut fake, &mut rules, id);
        }
        rules.pop();
        rules
    }

    fn describe_single(
        &self,
        idx: &CommandIndex,
        fake: &mut Selector,
        rules: &mut String,
        id: usize,
    ) {
        let userbit = self.bit(id);
        if userbit != fake.bit(id) {
            rules.push(if userbit { '+' } else { '-' });
            rules.push_str(&idx.entry(id).fullname);
            rules.push(' ');
            fake.change_perm(idx, id, userbit);
        }
        for &sub in &idx.entry(id).subs {
            self.describe_single(idx, fake, rules, sub);
        }
        if !userbit {
            for arg in self.first_args.get(&id).into_iter().flatten() {
                rules.push_str(&format!("+{}|{arg} ", idx.entry(id).fullname));
            }
        }
    }

    fn count_category(&self, idx: &CommandIndex, cat: u32) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for id in 0..idx.len() {
            if idx.entry(id).categories & cat != 0 {
                if self.bit(id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    /// Key patterns as ACL GETUSER shows them.
    pub fn describe_keys(&self) -> String {
        if self.all_keys {
            return "~*".into();
        }
        let parts: Vec<String> = self.patterns.iter().map(KeyPattern::describe).collect();
        parts.join(" ")
    }

    /// Channel patterns as ACL GETUSER shows them.
    pub fn describe_channels(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        let parts: Vec<String> = self
            .channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect();
        parts.join(" ")
    }

    /// ACLDescribeSelector: keys, channels, commands.
    pub fn describe(&self, idx: &CommandIndex) -> String {
        let mut out = String::new();
        if self.all_keys {
            out.push_str("~* ");
        } else {
            for p in &self.patterns {
                out.push_str(&p.describe());
                out.push(' ');
            }
        }
        if self.all_channels {
            out.push_str("&* ");
        } else {
            out.push_str("resetchannels ");
            for c in &self.channels {
                out.push('&');
                out.push_str(&String::from_utf8_lossy(c));
                out.push(' ');
            }
        }
        out.push_str(&self.describe_commands(idx));
        out
    }

    /// ACLSelectorCheckCmd. `keys` caches the command's key references
    /// between selectors.
    pub fn check(
        &self,
        idx: &CommandIndex,
        id: usize,
        args: &[Bytes],
        keys: &mut Option<Vec<KeyRef>>,
    ) -> Result<(), Denied> {
        let entry = idx.entry(id);
        if !self.all_commands && !entry.no_auth && !self.bit(id) {
            let at = if entry.is_sub { 2 } else { 1 };
            let allowed = args.len() >= 2
                && self.first_args.get(&id).is_some_and(|list| {
                    args.get(at)
                        .is_some_and(|a| list.iter().any(|s| s.as_bytes().eq_ignore_ascii_case(a)))
                });
            if !allowed {
                return Err(Denied {
                    reason: Reason::Command,
                    pos: 0,
                });
            }
        }
        if !self.all_keys && entry.has_keys {
            let keys = keys.get_or_insert_with(|| entry.key_refs(args));
            for k in keys.iter() {
                if !self.key_allowed(&args[k.pos], k.flags) {
                    return Err(Denied {
                        reason: Reason::Key,
                        pos: k.pos,
                    });
                }
            }
        }
        if !self.all_channels {
            for (pos, is_pattern) in entry.channel_args(args) {
                if !channel_in_list(&self.channels, &args[pos], is_pattern) {
                    return Err(Denied {
                        reason: Reason::Channel,
                        pos,
                    });
                }
            }
        }
        Ok(())
    }

    /// ACLSelectorCheckKey.
    pub fn key_allowed(&self, key: &[u8], keyspec_flags: u16) -> bool {
        if self.all_keys {
            return true;
        }
        let needed = needed_perm(keyspec_flags);
        self.patterns
            .iter()
            .any(|p| p.perm & needed == needed && crate::glob::glob_match(&p.pattern, key, false))
    }

    /// ACLSelectorHasUnrestrictedKeyAccess.
    pub fn unrestricted_key_access(&self, keyspec_flags: u16) -> bool {
        if self.all_keys {
            return true;
        }
        let needed = needed_perm(keyspec_flags);
        self.patterns
            .iter()
            .any(|p| p.perm & needed == needed && &p.pattern[..] == b"*")
    }
}

/// The permissions a key use needs: reading for `access`, writing for
/// `insert`, `delete` and `update`; none for other uses (EXISTS, TYPE).
fn needed_perm(keyspec_flags: u16) -> u8 {
    let mut perm = 0;
    if keyspec_flags & kflag::ACCESS != 0 {
        perm |= PERM_READ;
    }
    if keyspec_flags & (kflag::INSERT | kflag::DELETE | kflag::UPDATE) != 0 {
        perm |= PERM_WRITE;
    }
    perm
}

/// ACLCheckChannelAgainstList: a PSUBSCRIBE pattern must appear literally;
/// a channel is matched against the patterns.
pub fn channel_in_list(list: &[Bytes], channel: &[u8], is_pattern: bool) -> bool {
    list.iter().any(|p| {
        if is_pattern {
            &p[..] == channel
        } else {
            crate::glob::glob_match(p, channel, false)
        }
    })
}

/// How user flags are shown (ACLUserFlags order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sanitize {
    Unset,
    Skip,
    Check,
}

/// Everything `ACL SETUSER` can set on a user.
#[derive(Debug, Clone)]
pub struct Rules {
    pub enabled: bool,
    pub nopass: bool,
    sanitize: Sanitize,
    /// SHA-256 hex digests.
    pub passwords: Vec<String>,
    /// The root selector first.
    pub selectors: Vec<Selector>,
}

pub fn hash_password(cleartext: &[u8]) -> String {
    let digest = Sha256::digest(cleartext);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

fn valid_hash(hash: &[u8]) -> bool {
    hash.len() == 64 && hash.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Constant-time comparison of two digests of the same length.
fn digest_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && std::hint::black_box(a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y))) == 0
}

impl Rules {
    /// A new user: off, no passwords, no permissions.
    pub fn new(pubsub_default_all: bool) -> Rules {
        Rules {
            enabled: false,
            nopass: false,
            sanitize: Sanitize::Unset,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true, pubsub_default_all)],
        }
    }

    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    /// Everything allowed through the root selector: the check is skipped.
    pub fn unrestricted(&self) -> bool {
        let r = self.root();
        r.all_commands && r.all_keys && r.all_channels
    }

    pub fn password_ok(&self, given: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let hashed = hash_password(given);
        // Every hash is compared, so the time does not say which matched.
        self.passwords.iter().fold(false, |ok, p| {
            digest_eq(p.as_bytes(), hashed.as_bytes()) | ok
        })
    }

    /// ACLSetUser: one op. `pubsub_default_all` is `acl-pubsub-default`.
    pub fn apply(
        &mut self,
        idx: &CommandIndex,
        op: &[u8],
        pubsub_default_all: bool,
    ) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        if is_word(op, "on") {
            self.enabled = true;
        } else if is_word(op, "off") {
            self.enabled = false;
        } else if is_word(op, "skip-sanitize-payload") {
            self.sanitize = Sanitize::Skip;
        } else if is_word(op, "sanitize-payload") {
            self.sanitize = Sanitize::Check;
        } else if is_word(op, "nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is_word(op, "resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                hash_password(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                hash_password(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut selector = Selector::new(false, pubsub_default_all);
            let inner = &op[1..op.len() - 1];
            let parts = crate::conn::protocol::split_args(inner).ok_or(RuleError::Syntax)?;
            for part in parts {
                selector.apply(idx, &part)?;
            }
            self.selectors.push(selector);
        } else if is_word(op, "clearselectors") {
            self.selectors.truncate(1);
        } else if is_word(op, "reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            root.all_keys = false;
            root.patterns.clear();
            root.all_channels = pubsub_default_all;
            root.channels.clear();
            self.enabled = false;
            self.sanitize = Sanitize::Check;
            self.selectors.truncate(1);
            self.selectors[0].set_all(idx, false);
        } else {
            self.selectors[0].apply(idx, op)?;
        }
        Ok(())
    }

    /// ACLDescribeUser: flags, password hashes, the root selector and
    /// the others in parentheses.
    pub fn describe(&self, idx: &CommandIndex) -> String {
        let mut out = String::new();
        for flag in self.flag_names() {
            out.push_str(flag);
            out.push(' ');
        }
        for p in &self.passwords {
            out.push('#');
            out.push_str(p);
            out.push(' ');
        }
        for s in &self.selectors {
            if s.root {
                out.push_str(&s.describe(idx));
            } else {
                out.push_str(&format!(" ({})", s.describe(idx)));
            }
        }
        out
    }

    /// The flags ACL GETUSER lists.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        match self.sanitize {
            Sanitize::Skip => flags.push("skip-sanitize-payload"),
            Sanitize::Check => flags.push("sanitize-payload"),
            Sanitize::Unset => {}
        }
        flags
    }

    /// ACLCheckAllUserCommandPerm: allowed if any selector allows it;
    /// otherwise the most relevant refusal.
    pub fn check(&self, idx: &CommandIndex, id: usize, args: &[Bytes]) -> Result<(), Denied> {
        let mut keys = None;
        let mut worst = Denied {
            reason: Reason::Command,
            pos: 0,
        };
        for s in &self.selectors {
            match s.check(idx, id, args, &mut keys) {
                Ok(()) => return Ok(()),
                Err(d) => {
                    if d.reason > worst.reason || (d.reason == worst.reason && d.pos > worst.pos) {
                        worst = d;
                    }
                }
            }
        }
        Err(worst)
    }

    /// ACLUserCheckKeyPerm.
    pub fn key_allowed(&self, key: &[u8], keyspec_flags: u16) -> bool {
        self.selectors
            .iter()
            .any(|s| s.key_allowed(key, keyspec_flags))
    }

    /// ACLUserCheckChannelPerm.
    pub fn channel_allowed(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.selectors
            .iter()
            .any(|s| s.all_channels || channel_in_list(&s.channels, channel, is_pattern))
    }

    /// ACLUserCheckCmdWithUnrestrictedKeyAccess.
    pub fn command_with_all_keys(
        &self,
        idx: &CommandIndex,
        id: usize,
        args: &[Bytes],
        keyspec_flags: u16,
    ) -> bool {
        let mut keys = None;
        self.selectors.iter().any(|s| {
            s.check(idx, id, args, &mut keys).is_ok() && s.unrestricted_key_access(keyspec_flags)
        })
    }
}
