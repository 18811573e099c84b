//! LOLWUT: the version line Redis prints for a version it has no artwork
//! for (Redis 7.0's lolwutUnstableCommand). Redis draws its version-5 and
//! version-6 art before that line; Cinnabar prints the line alone.

use bytes::Bytes;

use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::CmdResult;
use crate::reply::Reply;

pub static COMMANDS: &[CommandSpec] =
    &[
        CommandSpec::new("lolwut", -1, READONLY | FAST, Keys::None, lolwut).doc(
            "server",
            "5.0.0",
            "Display some computer art and the Redis version",
        ),
    ];

fn lolwut(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Verbatim(
        "txt",
        Bytes::from(format!("Redis ver. {}\n", crate::REDIS_VERSION)),
    ))
}
