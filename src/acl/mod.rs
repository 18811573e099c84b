//! Access control lists, as Redis 7.0: named users with passwords and
//! permissions (commands, keys, channels), ACL LOG, and an ACL file.
//!
//! Invariants:
//! - A client's permissions are its user's current rules. Rules are
//!   immutable snapshots (`Arc<Rules>`) swapped on change; every change
//!   bumps one generation counter, and a client re-reads its user's
//!   snapshot when the counter moved. The per-command cost for a user with
//!   every permission (the default user) is one relaxed load of a
//!   counter that only ACL changes write, and a boolean.
//! - A user's identity is its `Arc<User>`: deleting a user (ACL DELUSER,
//!   ACL LOAD) disconnects the clients authenticated as it; a user
//!   re-created under the same name is a different user.
//! - Internal clients (the AOF loader, the master link) have no user and
//!   may run anything, as Redis's clients with a NULL user.

pub mod commands;
pub mod file;
pub mod log;
pub mod rules;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use crate::command::CommandTable;
use crate::error::msg;
pub use commands::CommandIndex;
pub use log::Context;
pub use rules::{Denied, Reason, RuleError, Rules};

pub struct User {
    pub name: Bytes,
    rules: RwLock<Arc<Rules>>,
}

impl User {
    fn new(name: Bytes, rules: Rules) -> Arc<User> {
        Arc::new(User {
            name,
            rules: RwLock::new(Arc::new(rules)),
        })
    }

    pub fn rules(&self) -> Arc<Rules> {
        self.rules.read().clone()
    }

    pub fn name_str(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "User({})", self.name_str())
    }
}

pub struct Acl {
    pub commands: CommandIndex,
    users: RwLock<BTreeMap<Bytes, Arc<User>>>,
    default_user: Arc<User>,
    generation: AtomicU64,
    /// The default user is `nopass` and enabled: no AUTH is needed.
    default_open: AtomicBool,
    /// `acl-pubsub-default allchannels`.
    pub pubsub_default_all: AtomicBool,
    pub log_max_len: AtomicUsize,
    log: Mutex<log::Log>,
    /// One ACL SETUSER / DELUSER / LOAD at a time.
    writer: Mutex<()>,
}

impl Acl {
    pub fn new(table: &CommandTable) -> Acl {
        let commands = CommandIndex::new(table);
        let default_user = User::new(Bytes::from_static(b"default"), default_rules(&commands));
        let mut users = BTreeMap::new();
        users.insert(default_user.name.clone(), default_user.clone());
        Acl {
            commands,
            users: RwLock::new(users),
            default_user,
            generation: AtomicU64::new(1),
            default_open: AtomicBool::new(true),
            pubsub_default_all: AtomicBool::new(false),
            log_max_len: AtomicUsize::new(128),
            log: Mutex::new(log::Log::default()),
            writer: Mutex::new(()),
        }
    }

    /// Changes whenever any user's rules change.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether a client that has not authenticated may run commands
    /// (Redis's authRequired is false for every client).
    #[inline]
    pub fn default_open(&self) -> bool {
        self.default_open.load(Ordering::Relaxed)
    }

    pub fn default_user(&self) -> Arc<User> {
        self.default_user.clone()
    }

    pub fn get(&self, name: &[u8]) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    pub fn users(&self) -> Vec<Arc<User>> {
        self.users.read().values().cloned().collect()
    }

    fn pubsub_all(&self) -> bool {
        self.pubsub_default_all.load(Ordering::Relaxed)
    }

    fn changed(&self) {
        let d = self.default_user.rules();
        self.default_open
            .store(d.nopass && d.enabled, Ordering::Relaxed);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// ACLStringSetUser: applies `ops` to a copy of the user's rules (or a
    /// new user's), all or nothing. Returns the user and its rules before
    /// the change (`None` for a new user), for the caller to disconnect
    /// subscribers who lost channels.
    pub fn set_user(
        &self,
        name: &[u8],
        ops: &[Bytes],
    ) -> Result<(Arc<User>, Option<Arc<Rules>>), String> {
        let _w = self.writer.lock();
        let ops = merge_selector_args(ops).map_err(|bad| msg::acl_unmatched_parenthesis(&bad))?;
        let existing = self.get(name);
        let before = existing.as_ref().map(|u| u.rules());
        let mut rules = match &before {
            Some(r) => (**r).clone(),
            None => Rules::new(self.pubsub_all()),
        };
        for op in &ops {
            rules
                .apply(&self.commands, op, self.pubsub_all())
                .map_err(|e| msg::acl_setuser_modifier(op, e.message()))?;
        }
        let user = match existing {
            Some(u) => {
                *u.rules.write() = Arc::new(rules);
                u
            }
            None => {
                let u = User::new(Bytes::copy_from_slice(name), rules);
                self.users.write().insert(u.name.clone(), u.clone());
                u
            }
        };
        self.changed();
        Ok((user, before))
    }

    /// ACL DELUSER: the removed users (the caller disconnects their clients).
    pub fn delete_users(&self, names: &[Bytes]) -> Vec<Arc<User>> {
        let _w = self.writer.lock();
        let mut users = self.users.write();
        let removed = names.iter().filter_map(|n| users.remove(n)).collect();
        drop(users);
        self.changed();
        removed
    }

    /// ACLCheckUserCredentials: the user, if enabled and the password fits.
    pub fn authenticate(&self, name: &[u8], password: &[u8]) -> Option<Arc<User>> {
        let user = self.get(name)?;
        let rules = user.rules();
        (rules.enabled && rules.password_ok(password)).then_some(user)
    }

    /// requirepass: the default user's one password, or nopass.
    pub fn set_default_password(&self, password: Option<&str>) {
        let _w = self.writer.lock();
        let mut rules = (*self.default_user.rules()).clone();
        let pubsub = self.pubsub_all();
        let _ = rules.apply(&self.commands, b"resetpass", pubsub);
        let op = match password {
            Some(p) => format!(">{p}").into_bytes(),
            None => b"nopass".to_vec(),
        };
        let _ = rules.apply(&self.commands, &op, pubsub);
        *self.default_user.rules.write() = Arc::new(rules);
        self.changed();
    }

    /// `user <name> <rules>…` as ACL LIST and the ACL file show it.
    pub fn describe(&self, user: &User) -> String {
        format!(
            "user {} {}",
            user.name_str(),
            user.rules().describe(&self.commands)
        )
    }

    pub fn log_event(&self, entry: log::Entry) {
        self.log
            .lock()
            .add(entry, self.log_max_len.load(Ordering::Relaxed));
    }

    pub fn log_entries(&self, count: usize) -> Vec<log::Entry> {
        self.log.lock().newest(count)
    }

    pub fn log_reset(&self) {
        self.log.lock().reset();
    }

    pub fn set_log_max_len(&self, n: usize) {
        self.log_max_len.store(n, Ordering::Relaxed);
        self.log.lock().trim(n);
    }

    /// Startup (ACLLoadUsersAtStartup), after the config is read: the
    /// config-driven settings, then the `user` lines or the ACL file.
    pub fn startup(&self, config: &crate::config::Config) -> Result<(), String> {
        for name in ["requirepass", "acl-pubsub-default", "acllog-max-len"] {
            self.sync_config(config, name);
        }
        let lines = config.user_lines();
        let aclfile = config.get("aclfile").unwrap_or_default();
        if !aclfile.is_empty() && !lines.is_empty() {
            return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
        }
        self.load_configured_users(&lines)
            .map_err(|e| format!("{e}\nCritical error while loading ACLs. Exiting."))?;
        if !aclfile.is_empty() {
            self.load_file(&aclfile)
                .map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
        }
        Ok(())
    }

    /// The `user` lines CONFIG REWRITE writes: none when users live in an
    /// ACL file (`None`: the config's `user` lines are dropped).
    pub fn config_lines(&self, config: &crate::config::Config) -> Option<Vec<String>> {
        if !config.get("aclfile").unwrap_or_default().is_empty() {
            return None;
        }
        Some(self.users().iter().map(|u| self.describe(u)).collect())
    }

    /// A config parameter ACL follows changed (CONFIG SET, startup).
    pub fn sync_config(&self, config: &crate::config::Config, name: &str) {
        let value = config.get(name).unwrap_or_default();
        match name {
            "requirepass" => {
                self.set_default_password((!value.is_empty()).then_some(value.as_str()))
            }
            "acl-pubsub-default" => self
                .pubsub_default_all
                .store(value == "allchannels", Ordering::Relaxed),
            "acllog-max-len" => self.set_log_max_len(value.parse().unwrap_or(128)),
            _ => {}
        }
    }

    /// ACLLoadConfiguredUsers: the config file's `user` lines.
    pub fn load_configured_users(&self, lines: &[Vec<Bytes>]) -> Result<(), String> {
        for line in lines {
            let name = &line[0];
            if rules::has_spaces(name) {
                return Err("Spaces not allowed in ACL usernames".into());
            }
            let mut rules = if &name[..] == b"default" {
                let mut r = (*self.default_user.rules()).clone();
                let _ = r.apply(&self.commands, b"reset", self.pubsub_all());
                r
            } else {
                Rules::new(self.pubsub_all())
            };
            for op in &line[1..] {
                rules
                    .apply(&self.commands, op, self.pubsub_all())
                    .map_err(|e| {
                        format!(
                            "Error loading ACL rule '{}' for the user named '{}': {}",
                            String::from_utf8_lossy(op),
                            String::from_utf8_lossy(name),
                            e.message()
                        )
                    })?;
            }
            if !rules.enabled {
                tracing::info!(
                    "The user '{}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.",
                    String::from_utf8_lossy(name)
                );
            }
            self.install(name, rules);
        }
        self.changed();
        Ok(())
    }

    /// Sets `name`'s rules, creating the user if needed.
    fn install(&self, name: &[u8], rules: Rules) {
        match self.get(name) {
            Some(u) => *u.rules.write() = Arc::new(rules),
            None => {
                let u = User::new(Bytes::copy_from_slice(name), rules);
                self.users.write().insert(u.name.clone(), u);
            }
        }
    }

    /// Replaces every user but `default` (whose object is kept, its rules
    /// replaced): ACL LOAD. Returns the users dropped.
    fn replace_all(&self, mut users: BTreeMap<Bytes, Rules>) -> Vec<Arc<User>> {
        let default_rules = users
            .remove(&b"default"[..])
            .unwrap_or_else(|| default_rules(&self.commands));
        *self.default_user.rules.write() = Arc::new(default_rules);
        let mut table = BTreeMap::new();
        table.insert(self.default_user.name.clone(), self.default_user.clone());
        for (name, rules) in users {
            table.insert(name.clone(), User::new(name, rules));
        }
        let old = std::mem::replace(&mut *self.users.write(), table);
        self.changed();
        old.into_values()
            .filter(|u| !Arc::ptr_eq(u, &self.default_user))
            .collect()
    }
}

/// ACLAppendUserForLoading: a config `user` line (name first) checked
/// against the lines before it; the line with its selectors merged, or the
/// index in `words` to report and why. Unknown commands are not errors yet.
pub fn check_user_line(
    earlier: &[Vec<Bytes>],
    words: &[Bytes],
) -> Result<Vec<Bytes>, (usize, RuleError)> {
    static INDEX: std::sync::OnceLock<CommandIndex> = std::sync::OnceLock::new();
    let idx = INDEX.get_or_init(|| CommandIndex::new(&CommandTable::new()));
    if earlier.iter().any(|u| u[0] == words[0]) {
        return Err((0, RuleError::DuplicateUser));
    }
    let ops = merge_selector_args(&words[1..]).map_err(|_| (0, RuleError::Syntax))?;
    let mut fake = Rules::new(false);
    for (i, op) in ops.iter().enumerate() {
        match fake.apply(idx, op, false) {
            Err(RuleError::UnknownCommand) | Ok(()) => {}
            // Redis reports the merged rule's index into the whole line.
            Err(e) => return Err(((i + 1).min(words.len() - 1), e)),
        }
    }
    let mut line = vec![words[0].clone()];
    line.extend(ops);
    Ok(line)
}

/// The default user: every permission, no password (ACLCreateDefaultUser).
fn default_rules(idx: &CommandIndex) -> Rules {
    let mut r = Rules::new(false);
    for op in ["+@all", "~*", "&*", "on", "nopass"] {
        let _ = r.apply(idx, op.as_bytes(), false);
    }
    r
}

/// ACLMergeSelectorArguments: a selector may be spread over several
/// arguments (`(+get` `~key)`); joined with spaces. `Err` carries the
/// argument that opened an unmatched parenthesis.
pub fn merge_selector_args(args: &[Bytes]) -> Result<Vec<Bytes>, Bytes> {
    let mut out = Vec::with_capacity(args.len());
    let mut open: Option<(Bytes, Vec<u8>)> = None;
    for a in args {
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(a);
            if a.last() == Some(&b')') {
                if let Some((_, sel)) = open.take() {
                    out.push(Bytes::from(sel));
                }
            }
            continue;
        }
        if a.first() == Some(&b'(') && a.last() != Some(&b')') {
            open = Some((a.clone(), a.to_vec()));
            continue;
        }
        out.push(a.clone());
    }
    match open {
        Some((start, _)) => Err(start),
        None => Ok(out),
    }
}

/// Random hex digits from the OS (ACL GENPASS).
pub fn random_hex(chars: usize) -> String {
    use std::io::Read;
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok();
    if !filled {
        // No /dev/urandom: fall back to the run-id generator.
        let mut hex = String::new();
        while hex.len() < chars {
            hex.push_str(&crate::server::random_hex40());
        }
        hex.truncate(chars);
        return hex;
    }
    let mut hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(chars);
    hex
}

#[cfg(test)]
mod tests;
