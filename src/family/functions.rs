//! FUNCTION and FCALL / FCALL_RO (Redis 7.0's functions.c).
//!
//! FCALL locks every shard, as EVAL does (`family::scripting`). The
//! registry is `scripting::functions`.

use bytes::Bytes;

use crate::command::args::{eq, int, numkeys_at_2};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{msg, CmdError, CmdResult};
use crate::reply::Reply;
use crate::scripting::{self, functions, Invocation, RestorePolicy};

const FCALL: u32 = NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE | ALL_SHARDS | SCRIPT_FLAGS;
const FCALL_RO: u32 = NOSCRIPT | SKIP_MONITOR | STALE | READONLY | ALL_SHARDS | SCRIPT_FLAGS;

/// How long FUNCTION LOAD may run a library's code (Redis's LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT_MS: u64 = 500;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("fcall", -3, FCALL, Keys::Movable(numkeys_at_2), fcall).doc(
        "scripting",
        "7.0.0",
        "Invokes a function.",
    ),
    CommandSpec::new(
        "fcall_ro",
        -3,
        FCALL_RO,
        Keys::Movable(numkeys_at_2),
        fcall_ro,
    )
    .doc("scripting", "7.0.0", "Invokes a read-only function."),
    CommandSpec::new("function", -2, NOSCRIPT, Keys::None, function_help)
        .doc("scripting", "7.0.0", "A container for function commands.")
        .subs(&[
            CommandSpec::new("load", -3, WRITE | DENYOOM | NOSCRIPT, Keys::None, load).doc(
                "scripting",
                "7.0.0",
                "Creates a library.",
            ),
            CommandSpec::new("delete", 3, WRITE | NOSCRIPT, Keys::None, delete).doc(
                "scripting",
                "7.0.0",
                "Deletes a library and its functions.",
            ),
            CommandSpec::new("flush", -2, WRITE | NOSCRIPT, Keys::None, flush).doc(
                "scripting",
                "7.0.0",
                "Deletes all libraries and functions.",
            ),
            CommandSpec::new("list", -2, NOSCRIPT, Keys::None, list).doc(
                "scripting",
                "7.0.0",
                "Returns information about all libraries.",
            ),
            CommandSpec::new("dump", 2, NOSCRIPT, Keys::None, dump).doc(
                "scripting",
                "7.0.0",
                "Dumps all libraries into a serialized binary payload.",
            ),
            CommandSpec::new(
                "restore",
                -3,
                WRITE | DENYOOM | NOSCRIPT,
                Keys::None,
                restore,
            )
            .doc(
                "scripting",
                "7.0.0",
                "Restores all libraries from a payload.",
            ),
            CommandSpec::new("kill", 2, NOSCRIPT | ALLOW_BUSY, Keys::None, kill).doc(
                "scripting",
                "7.0.0",
                "Terminates a function during execution.",
            ),
            CommandSpec::new("stats", 2, NOSCRIPT | ALLOW_BUSY, Keys::None, stats).doc(
                "scripting",
                "7.0.0",
                "Returns information about a function during execution.",
            ),
            CommandSpec::new("help", 2, LOADING | STALE, Keys::None, function_help).doc(
                "scripting",
                "7.0.0",
                "Returns helpful text about the different subcommands.",
            ),
        ]),
];

fn fcall_generic(ctx: &mut Ctx, a: &[Bytes], ro_command: bool) -> CmdResult<Reply> {
    let Some((_, info)) = ctx.srv.functions.function(&a[1]) else {
        return Err(CmdError::custom(msg::FUNCTION_NOT_FOUND));
    };
    let Ok(numkeys) = int(&a[2]) else {
        return Err(CmdError::custom(msg::FCALL_BAD_NUMKEYS));
    };
    let rest = &a[3..];
    if numkeys > rest.len() as i64 {
        return Err(CmdError::custom(msg::NUMKEYS_TOO_BIG));
    }
    if numkeys < 0 {
        return Err(CmdError::custom(msg::NUMKEYS_NEGATIVE));
    }
    let (keys, argv) = rest.split_at(numkeys as usize);
    let inv = Invocation {
        name: &info.name,
        eval: false,
        keys,
        argv,
        flags: info.flags,
        ro_command,
        command: a,
    };
    if let Some(refused) = scripting::refusal(ctx, &inv) {
        return Ok(refused);
    }
    Ok(scripting::run_function(ctx, &inv))
}

fn fcall(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    fcall_generic(ctx, a, false)
}

fn fcall_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    fcall_generic(ctx, a, true)
}

/// FUNCTION LOAD [REPLACE] code.
fn load(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut replace = false;
    for opt in &a[2..a.len() - 1] {
        if eq(opt, "replace") {
            replace = true;
        } else {
            return Err(CmdError::Custom(msg::function_unknown_option(
                &String::from_utf8_lossy(opt),
            )));
        }
    }
    let code = &a[a.len() - 1];
    // The master's and the AOF's loads are applied whatever they take.
    let timeout = if ctx.client.repl.is_master {
        0
    } else {
        LOAD_TIMEOUT_MS
    };
    let name = ctx
        .srv
        .functions
        .load(code, replace, timeout)
        .map_err(CmdError::Custom)?;
    ctx.dirty += 1;
    Ok(Reply::Bulk(Bytes::from(name)))
}

fn delete(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if !ctx.srv.functions.delete(&a[2]) {
        return Err(CmdError::custom(msg::LIBRARY_NOT_FOUND));
    }
    ctx.dirty += 1;
    Ok(Reply::Ok)
}

fn flush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(msg::subcommand_syntax("flush", "FUNCTION"));
    }
    if let Some(mode) = a.get(2) {
        if !eq(mode, "sync") && !eq(mode, "async") {
            return Err(CmdError::custom(msg::FUNCTION_FLUSH_SYNTAX));
        }
    }
    ctx.srv.functions.flush();
    ctx.dirty += 1;
    Ok(Reply::Ok)
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
fn list(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let (mut with_code, mut pattern) = (false, None);
    let mut i = 2;
    while i < a.len() {
        if !with_code && eq(&a[i], "withcode") {
            with_code = true;
        } else if pattern.is_none() && eq(&a[i], "libraryname") {
            let Some(p) = a.get(i + 1) else {
                return Err(CmdError::custom(msg::FUNCTION_LIST_NO_NAME));
            };
            pattern = Some(p.clone());
            i += 1;
        } else {
            return Err(CmdError::Custom(msg::function_list_unknown(
                &String::from_utf8_lossy(&a[i]),
            )));
        }
        i += 1;
    }
    let libs = ctx.srv.functions.snapshot();
    let bulk = |s: &str| Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()));
    let mut out = Vec::new();
    for lib in libs.iter() {
        if let Some(p) = &pattern {
            if !crate::glob::glob_match(p, lib.name.as_bytes(), true) {
                continue;
            }
        }
        let functions = lib
            .functions
            .iter()
            .map(|f| {
                Reply::Map(vec![
                    (bulk("name"), bulk(&f.name)),
                    (
                        bulk("description"),
                        f.description.clone().map_or(Reply::Nil, Reply::Bulk),
                    ),
                    (bulk("flags"), flag_set(f.flags)),
                ])
            })
            .collect();
        let mut fields = vec![
            (bulk("library_name"), bulk(&lib.name)),
            (bulk("engine"), bulk(lib.engine)),
            (bulk("functions"), Reply::Array(functions)),
        ];
        if with_code {
            fields.push((bulk("library_code"), Reply::Bulk(lib.code.clone())));
        }
        out.push(Reply::Map(fields));
    }
    Ok(Reply::Array(out))
}

fn flag_set(flags: u32) -> Reply {
    Reply::Set(
        scripting::flags::NAMES
            .iter()
            .filter(|(_, f)| flags & f != 0)
            .map(|(name, _)| Reply::Status(name))
            .collect(),
    )
}

fn dump(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let payload = functions::dump_payload(&ctx.srv.functions.codes());
    Ok(Reply::Bulk(Bytes::from(payload)))
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE].
fn restore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 4 {
        return Err(msg::subcommand_syntax("restore", "FUNCTION"));
    }
    let policy = match a.get(3) {
        None => RestorePolicy::Append,
        Some(p) if eq(p, "append") => RestorePolicy::Append,
        Some(p) if eq(p, "replace") => RestorePolicy::Replace,
        Some(p) if eq(p, "flush") => RestorePolicy::Flush,
        Some(_) => return Err(CmdError::custom(msg::FUNCTION_RESTORE_POLICY)),
    };
    let codes = functions::parse_payload(&a[2]).map_err(CmdError::Custom)?;
    ctx.srv
        .functions
        .restore(&codes, policy)
        .map_err(CmdError::Custom)?;
    ctx.dirty += 1;
    Ok(Reply::Ok)
}

fn kill(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    super::scripting::kill(ctx, false)
}

/// FUNCTION STATS: the running function, and the libraries per engine.
fn stats(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let bulk = |s: &str| Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()));
    let running = match ctx.srv.busy.describe() {
        Some((_, _, _, true)) => return Err(CmdError::custom(msg::BUSY_SCRIPT)),
        Some((name, command, ms, false)) => Reply::Map(vec![
            (bulk("name"), bulk(&name)),
            (
                bulk("command"),
                Reply::Array(command.into_iter().map(Reply::Bulk).collect()),
            ),
            (bulk("duration_ms"), Reply::Int(ms as i64)),
        ]),
        None => Reply::Nil,
    };
    let libs = ctx.srv.functions.snapshot();
    let lua = Reply::Map(vec![
        (
            bulk("libraries_count"),
            Reply::Int(libs.library_count() as i64),
        ),
        (
            bulk("functions_count"),
            Reply::Int(libs.function_count() as i64),
        ),
    ]);
    Ok(Reply::Map(vec![
        (bulk("running_script"), running),
        (bulk("engines"), Reply::Map(vec![(bulk("LUA"), lua)])),
    ]))
}

fn function_help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "function"));
    }
    Ok(super::keys::help_reply("FUNCTION", HELP))
}

const HELP: &[&str] = &[
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
];
