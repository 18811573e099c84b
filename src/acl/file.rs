//! The ACL file (`aclfile`): one `user <name> <rules>…` line per user,
//! loaded all or nothing (ACLLoadFromFile) and written whole through a
//! temporary file and a rename (ACLSaveToFile).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use super::rules::{has_spaces, RuleError, Rules};
use super::{merge_selector_args, Acl, User};

impl Acl {
    /// ACL LOAD: on any error nothing changes and the errors are returned
    /// in one line. On success, the users that were replaced (whose
    /// clients the caller disconnects).
    pub fn load_file(&self, path: &str) -> Result<Vec<Arc<User>>, String> {
        let text = std::fs::read(path).map_err(|e| {
            format!(
                "Error loading ACLs, opening file '{path}': {}",
                crate::config::strerror(&e)
            )
        })?;
        let _w = self.writer.lock();
        let users = self.parse_file(path, &text)?;
        Ok(self.replace_all(users))
    }

    fn parse_file(&self, path: &str, text: &[u8]) -> Result<BTreeMap<Bytes, Rules>, String> {
        let mut errors = String::new();
        let mut users: BTreeMap<Bytes, Rules> = BTreeMap::new();
        let pubsub = self
            .pubsub_default_all
            .load(std::sync::atomic::Ordering::Relaxed);
        for (i, raw) in text.split(|&c| c == b'\n').enumerate() {
            let linenum = i + 1;
            let line = trim(raw, b" \t\r\n");
            if line.is_empty() {
                continue;
            }
            let argv: Vec<Bytes> = line
                .split(|&c| c == b' ')
                .map(Bytes::copy_from_slice)
                .collect();
            if &argv[0][..] != b"user" || argv.len() < 2 {
                errors.push_str(&format!(
                    "{path}:{linenum} should start with user keyword followed by the username. "
                ));
                continue;
            }
            let name = &argv[1];
            if has_spaces(name) {
                errors.push_str(&format!(
                    "'{path}:{linenum}: username '{}' contains invalid characters. ",
                    String::from_utf8_lossy(name)
                ));
                continue;
            }
            if users.contains_key(name) {
                errors.push_str(&format!(
                    "WARNING: Duplicate user '{}' found on line {linenum}. ",
                    String::from_utf8_lossy(name)
                ));
                continue;
            }
            let mut rules = Rules::new(pubsub);
            let ops = match merge_selector_args(&argv[2..]) {
                Ok(ops) => ops,
                Err(_) => {
                    errors.push_str(&format!(
                        "{path}:{linenum}: Unmatched parenthesis in selector definition."
                    ));
                    Vec::new()
                }
            };
            let mut syntax_error = false;
            for op in &ops {
                let op = trim(op, b"\t\r\n");
                match rules.apply(&self.commands, op, pubsub) {
                    Ok(()) => {}
                    Err(RuleError::UnknownCommand) => errors.push_str(&format!(
                        "{path}:{linenum}: Error in applying operation '{}': {}. ",
                        String::from_utf8_lossy(op),
                        RuleError::UnknownCommand.message()
                    )),
                    Err(e) if !syntax_error => {
                        errors.push_str(&format!("{path}:{linenum}: {}. ", e.message()));
                        syntax_error = true;
                    }
                    Err(_) => {}
                }
            }
            users.insert(name.clone(), rules);
        }
        if errors.is_empty() {
            Ok(users)
        } else {
            errors.push_str(
                "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
            );
            Err(errors)
        }
    }

    /// ACL SAVE.
    pub fn save_file(&self, path: &str) -> std::io::Result<()> {
        let mut text = String::new();
        for user in self.users() {
            text.push_str(&self.describe(&user));
            text.push('\n');
        }
        let tmp = format!(
            "{path}.tmp-{}-{}",
            std::process::id(),
            crate::server::unix_ms()
        );
        let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}

fn trim<'a>(s: &'a [u8], chars: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|c| !chars.contains(c)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !chars.contains(c))
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}
