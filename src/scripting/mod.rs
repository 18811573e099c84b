//! Lua scripting as Redis 7.0 embeds it: EVAL / EVALSHA with the script
//! cache, and function libraries (FUNCTION / FCALL).
//!
//! - The cache (`Scripts`) maps a body's SHA1 to the body, and the library
//!   registry (`functions::Functions`) holds each library's code and what it
//!   registered; both are shared by every thread. Each thread keeps its own
//!   Lua 5.1 states (`engine`): one for scripts, compiling a body the first
//!   time that thread runs it, one for libraries, rebuilt from the registry
//!   when it changed. SCRIPT FLUSH and FUNCTION LOAD / DELETE / FLUSH /
//!   RESTORE bump a generation that makes threads rebuild.
//! - `busy` is the running script as other connections see it: they wait
//!   for it without holding a worker, then get BUSY past
//!   `busy-reply-threshold`; SCRIPT / FUNCTION KILL stop it.
//! - A script runs under every shard lock (EVAL is an `ALL_SHARDS` command):
//!   atomic with respect to every other client whatever keys it touches,
//!   declared or not. Its `redis.call`s go through the same `exec::call` as
//!   EXEC's queued commands, so their effects, statistics, MONITOR lines and
//!   keyspace events are those commands' own; more than one effect reaches
//!   replicas and the AOF wrapped in MULTI / EXEC.
//! - Conversions between Lua values and replies follow Redis's RESP2 rules
//!   (`convert`).

pub mod busy;
mod call;
mod convert;
mod engine;
pub mod functions;
mod libs;
mod raw;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

pub use call::{refusal, Invocation};
pub use functions::{Functions, RestorePolicy};

use crate::command::Ctx;
use crate::reply::Reply;

/// Script flags: `#!lua flags=…` on EVAL scripts, `flags = {…}` in
/// `redis.register_function` (Redis's SCRIPT_FLAG_*).
pub mod flags {
    pub const NO_WRITES: u32 = 1;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
    /// An EVAL script without a shebang: Redis 6 semantics.
    pub const EVAL_COMPAT: u32 = 1 << 5;
    /// Names in Redis's order (FUNCTION LIST shows them so).
    pub const NAMES: &[(&str, u32)] = &[
        ("no-writes", NO_WRITES),
        ("allow-oom", ALLOW_OOM),
        ("allow-stale", ALLOW_STALE),
        ("no-cluster", NO_CLUSTER),
        ("allow-cross-slot-keys", ALLOW_CROSS_SLOT),
    ];
}

/// Runs the cached script `sha` (body `body`) for EVAL / EVALSHA.
pub fn run_script(ctx: &mut Ctx, body: &[u8], inv: &Invocation) -> Reply {
    let (_, shebang_len) = match shebang(body) {
        Ok(found) => found,
        Err(e) => return Reply::Error(e),
    };
    let generation = ctx.srv.scripts.generation();
    let ran = engine::with_eval(generation, |engine| {
        match engine.script(inv.name, &body[shebang_len..]) {
            Ok(func) => call::run(&engine.state, func, ctx, inv),
            Err(e) => Reply::Error(e),
        }
    });
    ran.unwrap_or_else(Reply::Error)
}

/// Runs the function of `inv.name` for FCALL / FCALL_RO.
pub fn run_function(ctx: &mut Ctx, inv: &Invocation) -> Reply {
    let srv = ctx.srv;
    let ran = engine::with_functions(
        srv.functions.generation(),
        || srv.functions.snapshot(),
        |engine| match engine.function(inv.name) {
            Some(func) => call::run(&engine.state, func, ctx, inv),
            None => Reply::Error(crate::error::msg::FUNCTION_NOT_FOUND.to_string()),
        },
    );
    ran.unwrap_or_else(Reply::Error)
}

/// Redis's scriptFlagsToCmdFlags for EVAL / EVALSHA / FCALL (and _RO):
/// a script with declared flags is a write / denyoom / stale command as
/// they say; a Redis 6 style script (no shebang) keeps the command's flags.
pub fn command_flags(srv: &crate::server::Server, cmd_flags: u32, args: &[Bytes]) -> u32 {
    use crate::command::flags as cmd;
    let Some(name) = args.first() else {
        return cmd_flags;
    };
    let declared = if name.len() >= 5 && name[..5].eq_ignore_ascii_case(b"fcall") {
        args.get(1)
            .and_then(|f| srv.functions.function(f))
            .map(|(_, info)| info.flags)
    } else if name.len() >= 7 && name[..7].eq_ignore_ascii_case(b"evalsha") {
        args.get(1)
            .and_then(|sha| srv.scripts.get(sha))
            .map(|script| script.flags)
    } else {
        args.get(1)
            .and_then(|body| shebang(body).ok())
            .map(|(f, _)| f)
    };
    let Some(script) = declared.filter(|f| f & flags::EVAL_COMPAT == 0) else {
        return cmd_flags;
    };
    let mut out = cmd_flags & !(cmd::STALE | cmd::DENYOOM | cmd::WRITE | cmd::MAY_REPLICATE);
    if script & (flags::ALLOW_OOM | flags::NO_WRITES) == 0 {
        out |= cmd::DENYOOM;
    }
    if script & flags::NO_WRITES == 0 {
        out |= cmd::WRITE;
    }
    if script & flags::ALLOW_STALE != 0 {
        out |= cmd::STALE;
    }
    out
}

/// SCRIPT LOAD's check: the shebang and the body compile in this thread's
/// state (which keeps the compiled function for later runs).
pub fn compile_check(ctx: &Ctx, body: &Bytes) -> Result<(), String> {
    let (_, shebang_len) = shebang(body)?;
    let sha = sha1hex(body);
    engine::with_eval(ctx.srv.scripts.generation(), |engine| {
        engine.script(&sha, &body[shebang_len..]).map(|_| ())
    })?
}

/// Redis's evalExtractShebangFlags: the flags of `#!lua flags=a,b` (or
/// `EVAL_COMPAT` without a shebang) and the shebang line's length.
pub fn shebang(body: &[u8]) -> Result<(u32, usize), String> {
    use crate::error::msg;
    if !body.starts_with(b"#!") {
        return Ok((flags::EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err(msg::SHEBANG_INVALID.to_string());
    };
    let parts = match crate::conn::protocol::split_args(&body[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err(msg::SHEBANG_INVALID_ENGINE.to_string()),
    };
    if parts[0] != b"#!lua" {
        return Err(msg::shebang_engine(&String::from_utf8_lossy(&parts[0])));
    }
    let mut found = 0;
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(msg::shebang_option(&String::from_utf8_lossy(part)));
        };
        if list.is_empty() {
            // `flags=` alone declares no flags (Redis splits "" into nothing).
            continue;
        }
        for name in list.split(|&b| b == b',') {
            let name = String::from_utf8_lossy(name);
            match flags::NAMES.iter().find(|(n, _)| *n == name) {
                Some(&(_, f)) => found |= f,
                None => return Err(msg::shebang_flag(&name)),
            }
        }
    }
    Ok((found, end))
}

/// A cached script: its SHA1 (lowercase hex), body, and shebang flags
/// (read once, when cached).
pub struct Script {
    pub sha: String,
    pub body: Bytes,
    pub flags: u32,
}

/// The script cache: SHA1 (lowercase hex) → script.
#[derive(Default)]
pub struct Scripts {
    bodies: Mutex<HashMap<String, Arc<Script>>>,
    /// Bumped by SCRIPT FLUSH: threads drop their compiled functions.
    generation: AtomicU64,
}

impl Scripts {
    /// Adds `body` (whose shebang was checked) and returns it as cached.
    pub fn load(&self, body: &Bytes) -> Arc<Script> {
        let sha = sha1hex(body);
        self.bodies
            .lock()
            .entry(sha.clone())
            .or_insert_with(|| {
                Arc::new(Script {
                    flags: shebang(body).map_or(flags::EVAL_COMPAT, |(f, _)| f),
                    sha,
                    body: Bytes::copy_from_slice(body),
                })
            })
            .clone()
    }

    /// The script of `sha` (any case, as Redis accepts), if cached. The
    /// last one found is remembered per thread: an application runs the
    /// same few scripts over and over.
    pub fn get(&self, sha: &[u8]) -> Option<Arc<Script>> {
        thread_local! {
            static LAST: std::cell::RefCell<Option<(usize, u64, Arc<Script>)>> =
                const { std::cell::RefCell::new(None) };
        }
        let me = self as *const Scripts as usize;
        let generation = self.generation();
        let hit = LAST.with(|last| {
            last.borrow().as_ref().and_then(|(owner, g, s)| {
                (*owner == me && *g == generation && s.sha.as_bytes().eq_ignore_ascii_case(sha))
                    .then(|| s.clone())
            })
        });
        if hit.is_some() {
            return hit;
        }
        let sha = std::str::from_utf8(sha).ok()?;
        let found = if sha.bytes().any(|b| b.is_ascii_uppercase()) {
            self.bodies.lock().get(&sha.to_ascii_lowercase()).cloned()
        } else {
            self.bodies.lock().get(sha).cloned()
        }?;
        LAST.with(|last| *last.borrow_mut() = Some((me, generation, found.clone())));
        Some(found)
    }

    /// INFO's number_of_cached_scripts.
    pub fn count(&self) -> usize {
        self.bodies.lock().len()
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
    fn shebang_flags_are_read_as_redis_reads_them() {
        assert_eq!(shebang(b"return 1"), Ok((flags::EVAL_COMPAT, 0)));
        assert_eq!(
            shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1"),
            Ok((flags::NO_WRITES | flags::ALLOW_OOM, 31))
        );
        assert_eq!(shebang(b"#!lua\nreturn 1"), Ok((0, 5)));
        assert_eq!(shebang(b"#!lua flags=\nreturn 1"), Ok((0, 12)));
        assert!(shebang(b"#!lua").is_err());
        assert!(shebang(b"#!python\n").is_err());
        assert!(shebang(b"#!lua flags=bad\n").is_err());
        assert!(shebang(b"#!lua other=1\n").is_err());
    }

    #[test]
    fn cache_is_case_insensitive_and_flushes() {
        let s = Scripts::default();
        let sha = s.load(&Bytes::from_static(b"return 1")).sha.clone();
        assert!(s.exists(sha.to_ascii_uppercase().as_bytes()));
        let g = s.generation();
        s.flush();
        assert!(!s.exists(sha.as_bytes()));
        assert_eq!(s.generation(), g + 1);
    }
}
