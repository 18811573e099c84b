//! MODULE as a Redis 7.0 with no module loaded answers it. Cinnabar cannot
//! load Redis modules (they are C shared objects written against Redis's
//! internals): `enable-module-command` gates the command as in Redis, MODULE
//! LIST is empty, and LOAD / LOADEX fail as a failed load does in Redis.

use bytes::Bytes;

use crate::command::args::eq;
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{msg, CmdError, CmdResult};
use crate::reply::Reply;

const MODULE: u32 = ADMIN | NOSCRIPT;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::new("module", -2, 0, Keys::None, help)
    .doc("server", "4.0.0", "A container for module commands.")
    .subs(&[
        CommandSpec::new("list", 2, MODULE, Keys::None, list).doc(
            "server",
            "4.0.0",
            "Returns all loaded modules.",
        ),
        CommandSpec::new("load", -3, MODULE, Keys::None, load).doc(
            "server",
            "4.0.0",
            "Loads a module.",
        ),
        CommandSpec::new("loadex", -3, MODULE, Keys::None, load).doc(
            "server",
            "7.0.0",
            "Loads a module using extended parameters.",
        ),
        CommandSpec::new("unload", 3, MODULE, Keys::None, unload).doc(
            "server",
            "4.0.0",
            "Unloads a module.",
        ),
        CommandSpec::new("help", 2, LOADING | STALE, Keys::None, help).doc(
            "server",
            "5.0.0",
            "Returns helpful text about the different subcommands.",
        ),
    ])];

/// Redis's protected-action check for `enable-module-command` (default no).
fn allowed(ctx: &Ctx) -> CmdResult<()> {
    if ctx.client.repl.is_master
        || ctx
            .srv
            .config
            .allows("enable-module-command", ctx.client.handle.is_local)
    {
        Ok(())
    } else {
        Err(CmdError::custom(msg::MODULE_NOT_ALLOWED))
    }
}

fn list(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    allowed(ctx)?;
    Ok(Reply::Array(vec![]))
}

fn load(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    allowed(ctx)?;
    tracing::warn!(
        "Module {} failed to load: Cinnabar cannot load Redis modules",
        String::from_utf8_lossy(&a[2])
    );
    Err(CmdError::custom(msg::MODULE_LOAD_FAILED))
}

fn unload(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    allowed(ctx)?;
    Err(CmdError::custom(msg::MODULE_NO_SUCH))
}

fn help(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "module"));
    }
    allowed(ctx)?;
    Ok(super::keys::help_reply(
        "MODULE",
        &[
            "LIST",
            "    Return a list of loaded modules.",
            "LOAD <path> [<arg> ...]",
            "    Load a module library from <path>, passing to it any optional arguments.",
            "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
            "    Load a module library from <path>, while passing it module configurations and optional arguments.",
            "UNLOAD <name>",
            "    Unload a module.",
        ],
    ))
}
