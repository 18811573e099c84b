//! ACL SETUSER / GETUSER / DELUSER / LIST / USERS / WHOAMI / CAT / LOG /
//! GENPASS / DRYRUN / LOAD / SAVE / HELP over `crate::acl`, and the
//! disconnections ACL changes cause.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;

use crate::acl::{log, rules, Context, Reason, User};
use crate::client::ClientHandle;
use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{msg, CmdError, CmdResult};
use crate::reply::Reply;
use crate::server::Server;

const ACL_ADMIN: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const ACL_OPEN: u32 = NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::new("acl", -2, 0, Keys::None, help)
    .doc(
        "server",
        "6.0.0",
        "A container for Access List Control commands.",
    )
    .subs(&[
        CommandSpec::new("cat", -2, ACL_OPEN, Keys::None, cat).doc(
            "server",
            "6.0.0",
            "Lists the ACL categories, or the commands inside a category.",
        ),
        CommandSpec::new("deluser", -3, ACL_ADMIN, Keys::None, deluser).doc(
            "server",
            "6.0.0",
            "Deletes ACL users, and terminates their connections.",
        ),
        CommandSpec::new("dryrun", -4, ACL_ADMIN, Keys::None, dryrun).doc(
            "server",
            "7.0.0",
            "Simulates the execution of a command by a user, without executing the command.",
        ),
        CommandSpec::new("genpass", -2, ACL_OPEN, Keys::None, genpass).doc(
            "server",
            "6.0.0",
            "Generates a pseudorandom, secure password that can be used to identify ACL users.",
        ),
        CommandSpec::new("getuser", 3, ACL_ADMIN, Keys::None, getuser).doc(
            "server",
            "6.0.0",
            "Lists the ACL rules of a user.",
        ),
        CommandSpec::new("help", 2, LOADING | STALE, Keys::None, help).doc(
            "server",
            "6.0.0",
            "Returns helpful text about the different subcommands.",
        ),
        CommandSpec::new("list", 2, ACL_ADMIN, Keys::None, list).doc(
            "server",
            "6.0.0",
            "Dumps the effective rules in ACL file format.",
        ),
        CommandSpec::new("load", 2, ACL_ADMIN, Keys::None, load).doc(
            "server",
            "6.0.0",
            "Reloads the rules from the configured ACL file.",
        ),
        CommandSpec::new("log", -2, ACL_ADMIN, Keys::None, log_cmd).doc(
            "server",
            "6.0.0",
            "Lists recent security events generated due to ACL rules.",
        ),
        CommandSpec::new("save", 2, ACL_ADMIN, Keys::None, save).doc(
            "server",
            "6.0.0",
            "Saves the effective ACL rules in the configured ACL file.",
        ),
        CommandSpec::new("setuser", -3, ACL_ADMIN, Keys::None, setuser).doc(
            "server",
            "6.0.0",
            "Creates and modifies an ACL user and its rules.",
        ),
        CommandSpec::new("users", 2, ACL_ADMIN, Keys::None, users).doc(
            "server",
            "6.0.0",
            "Lists all ACL users.",
        ),
        CommandSpec::new("whoami", 2, ACL_OPEN, Keys::None, whoami).doc(
            "server",
            "6.0.0",
            "Returns the authenticated username of the current connection.",
        ),
    ])];

fn setuser(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let name = &a[2];
    if rules::has_spaces(name) {
        return Err(CmdError::custom(msg::ACL_USERNAME_SPACES));
    }
    let (user, before) = ctx
        .srv
        .acl
        .set_user(name, &a[3..])
        .map_err(CmdError::custom)?;
    if let Some(before) = before {
        kill_revoked_subscribers(ctx, &user, &before);
    }
    Ok(Reply::Ok)
}

fn deluser(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a[2..].iter().any(|n| &n[..] == b"default") {
        return Err(CmdError::custom(msg::ACL_DEFAULT_CANNOT_BE_REMOVED));
    }
    let removed = ctx.srv.acl.delete_users(&a[2..]);
    disconnect_users(ctx, &removed);
    Ok(Reply::Int(removed.len() as i64))
}

fn getuser(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let Some(user) = ctx.srv.acl.get(&a[2]) else {
        return Ok(Reply::Nil);
    };
    let idx = &ctx.srv.acl.commands;
    let r = user.rules();
    let bulk = |s: &str| Reply::bulk_str(s);
    let selector_fields = |s: &rules::Selector| {
        vec![
            (bulk("commands"), bulk(&s.describe_commands(idx))),
            (bulk("keys"), bulk(&s.describe_keys())),
            (bulk("channels"), bulk(&s.describe_channels())),
        ]
    };
    let mut fields = vec![
        (
            bulk("flags"),
            Reply::Set(r.flag_names().into_iter().map(bulk).collect()),
        ),
        (
            bulk("passwords"),
            Reply::Array(r.passwords.iter().map(|p| bulk(p)).collect()),
        ),
    ];
    fields.extend(selector_fields(r.root()));
    fields.push((
        bulk("selectors"),
        Reply::Array(
            r.selectors[1..]
                .iter()
                .map(|s| Reply::Map(selector_fields(s)))
                .collect(),
        ),
    ));
    Ok(Reply::Map(fields))
}

fn list(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let acl = &ctx.srv.acl;
    Ok(Reply::Array(
        acl.users()
            .iter()
            .map(|u| Reply::bulk_str(&acl.describe(u)))
            .collect(),
    ))
}

fn users(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(
        ctx.srv
            .acl
            .users()
            .iter()
            .map(|u| Reply::Bulk(u.name.clone()))
            .collect(),
    ))
}

fn whoami(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(match &ctx.client.user {
        Some(u) => Reply::Bulk(u.name.clone()),
        None => Reply::Nil,
    })
}

fn aclfile(ctx: &Ctx) -> CmdResult<String> {
    match ctx.srv.config.get("aclfile").unwrap_or_default() {
        f if f.is_empty() => Err(CmdError::custom(msg::ACL_NO_FILE)),
        f => Ok(f),
    }
}

fn load(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let path = aclfile(ctx)?;
    let replaced = ctx
        .srv
        .acl
        .load_file(&path)
        .map_err(|e| CmdError::custom(msg::acl_load_failed(&e)))?;
    disconnect_users(ctx, &replaced);
    Ok(Reply::Ok)
}

fn save(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let path = aclfile(ctx)?;
    ctx.srv.acl.save_file(&path).map_err(|e| {
        tracing::warn!("Saving ACL file {path}: {e}");
        CmdError::custom(msg::ACL_SAVE_FAILED)
    })?;
    Ok(Reply::Ok)
}

fn cat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    match a.len() {
        2 => Ok(Reply::Array(
            rules::CATEGORIES
                .iter()
                .map(|c| Reply::bulk_str(c))
                .collect(),
        )),
        3 => {
            let cat = rules::category_bit(&a[2]).ok_or_else(|| msg::acl_unknown_category(&a[2]))?;
            Ok(Reply::Array(
                ctx.srv
                    .acl
                    .commands
                    .in_category(cat)
                    .map(|e| Reply::bulk_str(&e.fullname))
                    .collect(),
            ))
        }
        _ => Err(msg::subcommand_syntax(
            &String::from_utf8_lossy(&a[1]),
            "ACL",
        )),
    }
}

fn genpass(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(msg::subcommand_syntax(
            &String::from_utf8_lossy(&a[1]),
            "ACL",
        ));
    }
    let bits = match a.get(2) {
        Some(b) => int(b)?,
        None => 256,
    };
    if bits <= 0 || bits > 4096 {
        return Err(CmdError::custom(msg::ACL_GENPASS_BITS));
    }
    let chars = (bits as usize).div_ceil(4);
    Ok(Reply::bulk_str(&crate::acl::random_hex(chars)))
}

fn log_cmd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(msg::subcommand_syntax(
            &String::from_utf8_lossy(&a[1]),
            "ACL",
        ));
    }
    let mut count = 10;
    if let Some(arg) = a.get(2) {
        if eq(arg, "reset") {
            ctx.srv.acl.log_reset();
            return Ok(Reply::Ok);
        }
        count = int(arg)?.max(0) as usize;
    }
    let now = crate::server::unix_ms();
    let bulk = |s: &str| Reply::bulk_str(s);
    Ok(Reply::Array(
        ctx.srv
            .acl
            .log_entries(count)
            .into_iter()
            .map(|e| {
                Reply::Map(vec![
                    (bulk("count"), Reply::Int(e.count as i64)),
                    (bulk("reason"), bulk(e.reason_name())),
                    (bulk("context"), bulk(e.context.name())),
                    (bulk("object"), bulk(&e.object)),
                    (bulk("username"), bulk(&e.username)),
                    (
                        bulk("age-seconds"),
                        Reply::Double(now.saturating_sub(e.ctime_ms) as f64 / 1000.0),
                    ),
                    (bulk("client-info"), bulk(&e.client_info)),
                ])
            })
            .collect(),
    ))
}

fn dryrun(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let acl = &ctx.srv.acl;
    let user = acl
        .get(&a[2])
        .ok_or_else(|| msg::acl_dryrun_no_user(&a[2]))?;
    let args = &a[3..];
    let not_found = || msg::acl_dryrun_no_command(&args[0]);
    let r = ctx.srv.commands.resolve(args).ok_or_else(not_found)?;
    if r.parent.is_none() && !r.spec.subcommands.is_empty() && args.len() > 1 {
        return Err(not_found());
    }
    let fullname = r.full_name();
    if !r.spec.arity_ok(args.len()) {
        return Err(msg::acl_dryrun_arity(&fullname));
    }
    Ok(match user.rules().check(&acl.commands, r.stat, args) {
        Ok(()) => Reply::Ok,
        Err(d) => Reply::bulk_str(&match d.reason {
            Reason::Command | Reason::Auth => msg::acl_dryrun_denied_command(&fullname),
            Reason::Key => msg::acl_dryrun_denied_key(&args[d.pos]),
            Reason::Channel => msg::acl_dryrun_denied_channel(&args[d.pos]),
        }),
    })
}

fn help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "acl"));
    }
    Ok(super::keys::help_reply(
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    ))
}

/// Records a refusal in ACL LOG (addACLLogEntry); `client` is the one that
/// ran the command (the script's caller for a script).
pub fn log_denial(
    srv: &Server,
    client: &ClientHandle,
    reason: Reason,
    context: Context,
    username: &str,
    object: String,
) {
    srv.acl.log_event(log::Entry {
        count: 1,
        reason,
        context,
        object,
        username: username.to_string(),
        ctime_ms: crate::server::unix_ms(),
        client_info: super::connection::client_line(srv, client, None),
    });
}

/// The connections authenticated as one of `users` close (ACLFreeUserAndKillClients):
/// this one after its reply, the others now.
fn disconnect_users(ctx: &mut Ctx, users: &[Arc<User>]) {
    if users.is_empty() {
        return;
    }
    let me = ctx.client.id();
    for c in ctx.srv.clients.all() {
        let theirs = c
            .info
            .lock()
            .user
            .as_ref()
            .is_some_and(|u| users.iter().any(|d| Arc::ptr_eq(u, d)));
        if !theirs {
            continue;
        }
        if c.id == me {
            ctx.client.authenticated = false;
            ctx.client.close_after_reply = true;
        } else {
            c.kill();
        }
    }
}

/// ACLKillPubsubClientsIfNeeded: subscribers of `user` lose their
/// connection when a channel or pattern they are subscribed to is no
/// longer in the user's channels. Nothing is checked when the new rules
/// allow every channel or keep every channel the old ones had.
fn kill_revoked_subscribers(ctx: &mut Ctx, user: &Arc<User>, before: &rules::Rules) {
    let now = user.rules();
    if now.selectors.iter().any(|s| s.all_channels) {
        return;
    }
    let upcoming: Vec<Bytes> = now
        .selectors
        .iter()
        .flat_map(|s| s.channels.iter().cloned())
        .collect();
    let kept = before
        .selectors
        .iter()
        .all(|s| !s.all_channels && s.channels.iter().all(|c| upcoming.contains(c)));
    if kept {
        return;
    }
    let theirs = |c: &ClientHandle| {
        c.info
            .lock()
            .user
            .as_ref()
            .is_some_and(|u| Arc::ptr_eq(u, user))
    };
    let mut doomed = HashSet::new();
    for (id, subs) in ctx.srv.pubsub.subscriptions_of(theirs) {
        let revoked = subs.iter().any(|(kind, name)| {
            let is_pattern = *kind == crate::pubsub::Kind::Pattern;
            !rules::channel_in_list(&upcoming, name, is_pattern)
        });
        if revoked {
            doomed.insert(id);
        }
    }
    let me = ctx.client.id();
    for id in doomed {
        if id == me {
            ctx.client.close_after_reply = true;
        } else if let Some(c) = ctx.srv.clients.get(id) {
            c.kill();
        }
    }
}
