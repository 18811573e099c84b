//! SLOWLOG GET / LEN / RESET / HELP over `crate::slowlog`.

use bytes::Bytes;

use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{msg, CmdError, CmdResult};
use crate::reply::Reply;

const SLOWLOG: u32 = ADMIN | LOADING | STALE;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::new("slowlog", -2, 0, Keys::None, help)
    .doc("server", "2.2.12", "A container for slow log commands.")
    .subs(&[
        CommandSpec::new("get", -2, SLOWLOG, Keys::None, get).doc(
            "server",
            "2.2.12",
            "Returns the slow log's entries.",
        ),
        CommandSpec::new("len", 2, SLOWLOG, Keys::None, len).doc(
            "server",
            "2.2.12",
            "Returns the number of entries in the slow log.",
        ),
        CommandSpec::new("reset", 2, SLOWLOG, Keys::None, reset).doc(
            "server",
            "2.2.12",
            "Clears all entries from the slow log.",
        ),
        CommandSpec::new("help", 2, LOADING | STALE, Keys::None, help).doc(
            "server",
            "6.2.0",
            "Show helpful text about the different subcommands",
        ),
    ])];

/// SLOWLOG GET [count]: 10 by default, -1 for all.
fn get(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(msg::subcommand_syntax("get", "SLOWLOG"));
    }
    let count = match a.get(2) {
        None => Some(10),
        Some(c) => match int(c)? {
            -1 => None,
            n if n < -1 => return Err(CmdError::custom(msg::SLOWLOG_COUNT)),
            n => Some(n as usize),
        },
    };
    Ok(ctx.srv.slowlog.get(count))
}

fn len(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.srv.slowlog.len() as i64))
}

fn reset(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    ctx.srv.slowlog.reset();
    Ok(Reply::Ok)
}

fn help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "slowlog"));
    }
    Ok(super::keys::help_reply(
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    ))
}
