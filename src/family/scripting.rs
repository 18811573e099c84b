//! EVAL / EVALSHA / EVAL_RO / EVALSHA_RO and SCRIPT (Redis 7.0's eval.c).
//!
//! Every script command locks every shard (ALL_SHARDS): a script is atomic
//! with respect to every other client even when it reaches keys it did not
//! declare, as BullMQ's scripts do. The engine is `crate::scripting`.

use bytes::Bytes;

use crate::command::args::{eq, int, numkeys_at_2};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{msg, CmdError, CmdResult};
use crate::reply::Reply;
use crate::scripting::{self, Invocation};

const EVAL: u32 = NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE | ALL_SHARDS | SCRIPT_FLAGS;
const EVAL_RO: u32 = NOSCRIPT | SKIP_MONITOR | STALE | READONLY | ALL_SHARDS | SCRIPT_FLAGS;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("eval", -3, EVAL, Keys::Movable(numkeys_at_2), eval).doc(
        "scripting",
        "2.6.0",
        "Executes a server-side Lua script.",
    ),
    CommandSpec::new("evalsha", -3, EVAL, Keys::Movable(numkeys_at_2), evalsha).doc(
        "scripting",
        "2.6.0",
        "Executes a server-side Lua script by SHA1 digest.",
    ),
    CommandSpec::new("eval_ro", -3, EVAL_RO, Keys::Movable(numkeys_at_2), eval_ro).doc(
        "scripting",
        "7.0.0",
        "Executes a read-only server-side Lua script.",
    ),
    CommandSpec::new(
        "evalsha_ro",
        -3,
        EVAL_RO,
        Keys::Movable(numkeys_at_2),
        evalsha_ro,
    )
    .doc(
        "scripting",
        "7.0.0",
        "Executes a read-only server-side Lua script by SHA1 digest.",
    ),
    CommandSpec::new("script", -2, NOSCRIPT, Keys::None, script_help)
        .doc(
            "scripting",
            "2.6.0",
            "A container for Lua scripts management commands.",
        )
        .subs(&[
            CommandSpec::new("load", 3, NOSCRIPT | STALE, Keys::None, script_load).doc(
                "scripting",
                "2.6.0",
                "Loads a server-side Lua script to the script cache.",
            ),
            CommandSpec::new("exists", -3, NOSCRIPT | STALE, Keys::None, script_exists).doc(
                "scripting",
                "2.6.0",
                "Determines whether server-side Lua scripts exist in the script cache.",
            ),
            CommandSpec::new("flush", -2, NOSCRIPT, Keys::None, script_flush).doc(
                "scripting",
                "2.6.0",
                "Removes all server-side Lua scripts from the script cache.",
            ),
            CommandSpec::new("debug", 3, NOSCRIPT, Keys::None, script_debug).doc(
                "scripting",
                "3.2.0",
                "Sets the debug mode of server-side Lua scripts.",
            ),
            CommandSpec::new("kill", 2, NOSCRIPT | ALLOW_BUSY, Keys::None, script_kill).doc(
                "scripting",
                "2.6.0",
                "Terminates a server-side Lua script during execution.",
            ),
            CommandSpec::new("help", 2, LOADING | STALE, Keys::None, script_help).doc(
                "scripting",
                "5.0.0",
                "Returns helpful text about the different subcommands.",
            ),
        ]),
];

/// KEYS and ARGV of `EVAL body numkeys key… arg…`, with Redis's checks.
pub fn split_args(a: &[Bytes]) -> CmdResult<(&[Bytes], &[Bytes])> {
    let Some(numkeys) = int(&a[2]).ok() else {
        return Err(CmdError::NotInteger);
    };
    if numkeys < 0 {
        return Err(CmdError::custom(msg::NUMKEYS_NEGATIVE));
    }
    let rest = &a[3..];
    if numkeys as u64 > rest.len() as u64 {
        return Err(CmdError::custom(msg::NUMKEYS_TOO_BIG));
    }
    Ok(rest.split_at(numkeys as usize))
}

fn run_script(
    ctx: &mut Ctx,
    a: &[Bytes],
    script: &scripting::Script,
    ro_command: bool,
) -> CmdResult<Reply> {
    let (keys, argv) = split_args(a)?;
    let inv = Invocation {
        name: &script.sha,
        eval: true,
        keys,
        argv,
        flags: script.flags,
        ro_command,
        command: a,
    };
    if let Some(refused) = scripting::refusal(ctx, &inv) {
        return Ok(refused);
    }
    Ok(scripting::run_script(ctx, &script.body, &inv))
}

fn eval_generic(ctx: &mut Ctx, a: &[Bytes], ro_command: bool) -> CmdResult<Reply> {
    split_args(a)?;
    // A shebang error is the reply, and nothing is cached (as Redis's
    // luaCreateFunction fails before caching).
    scripting::shebang(&a[1]).map_err(CmdError::Custom)?;
    // EVAL caches what it runs, as Redis does: EVALSHA of it then works.
    let script = ctx.srv.scripts.load(&a[1]);
    run_script(ctx, a, &script, ro_command)
}

fn evalsha_generic(ctx: &mut Ctx, a: &[Bytes], ro_command: bool) -> CmdResult<Reply> {
    split_args(a)?;
    let Some(script) = ctx.srv.scripts.get(&a[1]) else {
        return Err(CmdError::custom(msg::NOSCRIPT));
    };
    run_script(ctx, a, &script, ro_command)
}

fn eval(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    eval_generic(ctx, a, false)
}

fn eval_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    eval_generic(ctx, a, true)
}

fn evalsha(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    evalsha_generic(ctx, a, false)
}

fn evalsha_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    evalsha_generic(ctx, a, true)
}

/// SCRIPT LOAD compiles what it caches (Redis's luaCreateFunction): a
/// script that does not compile is refused and not cached.
fn script_load(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    scripting::compile_check(ctx, &a[2]).map_err(CmdError::Custom)?;
    Ok(Reply::bulk_str(&ctx.srv.scripts.load(&a[2]).sha))
}

fn script_exists(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let scripts = &ctx.srv.scripts;
    Ok(Reply::Array(
        a[2..]
            .iter()
            .map(|sha| Reply::Int(scripts.exists(sha) as i64))
            .collect(),
    ))
}

fn script_flush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    match a.get(2) {
        None => {}
        Some(m) if a.len() == 3 && (eq(m, "sync") || eq(m, "async")) => {}
        Some(_) => return Err(CmdError::custom(msg::SCRIPT_FLUSH_SYNTAX)),
    }
    ctx.srv.scripts.flush();
    Ok(Reply::Ok)
}

/// SCRIPT DEBUG YES|SYNC|NO. Redis's Lua debugger (LDB) is not built: the
/// modes are accepted, logged, and scripts keep running without it (a
/// known difference, redis-compat.md), so a session that turns debugging
/// on still gets its scripts' replies.
fn script_debug(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if eq(&a[2], "no") {
        return Ok(Reply::Ok);
    }
    if eq(&a[2], "yes") || eq(&a[2], "sync") {
        tracing::warn!("SCRIPT DEBUG: the Lua debugger is not available; scripts run without it");
        return Ok(Reply::Ok);
    }
    Err(CmdError::custom(msg::SCRIPT_DEBUG_MODE))
}

/// Runs while a script is busy (ALLOW_BUSY, no shard locks): flags it to
/// stop at its next check (`scripting::busy`).
fn script_kill(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    kill(ctx, true)
}

/// SCRIPT KILL (`eval`) and FUNCTION KILL.
pub fn kill(ctx: &mut Ctx, eval: bool) -> CmdResult<Reply> {
    match ctx.srv.busy.kill(eval) {
        scripting::busy::Kill::Done => Ok(Reply::Ok),
        scripting::busy::Kill::Refused(e) => Err(CmdError::custom(e)),
    }
}

fn script_help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "script"));
    }
    Ok(super::keys::help_reply(
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    ))
}
