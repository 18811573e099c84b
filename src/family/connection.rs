//! Connection commands: PING ECHO HELLO AUTH SELECT SWAPDB QUIT RESET CLIENT.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use crate::client::ReplyMode;
use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::family::keys::help_reply;
use crate::family::tracking;
use crate::reply::Reply;
use crate::server::Server;

const CONN: u32 = NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("ping", -1, FAST | SUBSCRIBED_OK, Keys::None, ping).doc(
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
    ),
    CommandSpec::new("echo", 2, FAST | LOADING | STALE, Keys::None, echo).doc(
        "connection",
        "1.0.0",
        "Returns the given string.",
    ),
    CommandSpec::new(
        "hello",
        -1,
        CONN | FAST | NO_AUTH | ALLOW_BUSY,
        Keys::None,
        hello,
    )
    .doc("connection", "6.0.0", "Handshakes with the Redis server."),
    CommandSpec::new(
        "auth",
        -2,
        CONN | FAST | NO_AUTH | ALLOW_BUSY,
        Keys::None,
        auth,
    )
    .doc("connection", "1.0.0", "Authenticates the connection."),
    CommandSpec::new("select", 2, LOADING | STALE | FAST, Keys::None, select).doc(
        "connection",
        "1.0.0",
        "Changes the selected database.",
    ),
    CommandSpec::new("swapdb", 3, WRITE | FAST | ALL_SHARDS, Keys::None, swapdb).doc(
        "server",
        "4.0.0",
        "Swaps two Redis databases.",
    ),
    CommandSpec::new(
        "quit",
        -1,
        CONN | FAST | NO_AUTH | ALLOW_BUSY | SUBSCRIBED_OK,
        Keys::None,
        quit,
    )
    .doc("connection", "1.0.0", "Closes the connection."),
    CommandSpec::new(
        "reset",
        1,
        CONN | FAST | NO_AUTH | ALLOW_BUSY | SUBSCRIBED_OK,
        Keys::None,
        reset,
    )
    .doc("connection", "6.2.0", "Resets the connection."),
    CommandSpec::new("client", -2, 0, Keys::None, client_help)
        .doc(
            "connection",
            "2.4.0",
            "A container for client connection commands.",
        )
        .subs(CLIENT_SUBS),
];

const CS: u32 = NOSCRIPT | LOADING | STALE;

static CLIENT_SUBS: &[CommandSpec] = &[
    CommandSpec::new("id", 2, CS, Keys::None, client_id).doc(
        "connection",
        "5.0.0",
        "Returns the unique client ID of the connection.",
    ),
    CommandSpec::new("setname", 3, CS, Keys::None, client_setname).doc(
        "connection",
        "2.6.9",
        "Sets the connection name.",
    ),
    CommandSpec::new("getname", 2, CS, Keys::None, client_getname).doc(
        "connection",
        "2.6.9",
        "Returns the name of the connection.",
    ),
    CommandSpec::new("list", -2, ADMIN | CS, Keys::None, client_list).doc(
        "connection",
        "2.4.0",
        "Lists open connections.",
    ),
    CommandSpec::new("info", 2, CS, Keys::None, client_info).doc(
        "connection",
        "6.2.0",
        "Returns information about the connection.",
    ),
    CommandSpec::new("kill", -3, ADMIN | CS, Keys::None, client_kill).doc(
        "connection",
        "2.4.0",
        "Terminates open connections.",
    ),
    CommandSpec::new("setinfo", 4, CS, Keys::None, client_setinfo).doc(
        "connection",
        "7.2.0",
        "Sets information specific to the client or connection.",
    ),
    CommandSpec::new("reply", 3, CS, Keys::None, client_reply).doc(
        "connection",
        "3.2.0",
        "Instructs the server whether to reply to commands.",
    ),
    CommandSpec::new("no-evict", 3, ADMIN | CS, Keys::None, client_no_evict).doc(
        "connection",
        "7.0.0",
        "Sets the client eviction mode of the connection.",
    ),
    CommandSpec::new("no-touch", 3, CS, Keys::None, client_no_touch).doc(
        "connection",
        "7.2.0",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
    ),
    CommandSpec::new("pause", -3, ADMIN | CS, Keys::None, client_pause).doc(
        "connection",
        "3.0.0",
        "Suspends commands processing.",
    ),
    CommandSpec::new("unpause", 2, ADMIN | CS, Keys::None, client_unpause).doc(
        "connection",
        "6.2.0",
        "Resumes processing commands from paused clients.",
    ),
    CommandSpec::new("unblock", -3, ADMIN | CS, Keys::None, client_unblock).doc(
        "connection",
        "5.0.0",
        "Unblocks a client blocked by a blocking command from a different connection.",
    ),
    CommandSpec::new("caching", 3, CS, Keys::None, tracking::client_caching).doc(
        "connection",
        "6.0.0",
        "Instructs the server whether to track the keys in the next request.",
    ),
    CommandSpec::new(
        "trackinginfo",
        2,
        CS,
        Keys::None,
        tracking::client_trackinginfo,
    )
    .doc(
        "connection",
        "6.2.0",
        "Returns information about server-assisted client-side caching for the connection.",
    ),
    CommandSpec::new("getredir", 2, CS, Keys::None, tracking::client_getredir).doc(
        "connection",
        "6.0.0",
        "Returns the client ID to which the connection's tracking notifications are redirected.",
    ),
    CommandSpec::new("tracking", -3, CS, Keys::None, tracking::client_tracking).doc(
        "connection",
        "6.0.0",
        "Controls server-assisted client-side caching for the connection.",
    ),
    CommandSpec::new("help", 2, LOADING | STALE, Keys::None, client_help).doc(
        "connection",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

fn ping(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 2 {
        return Err(CmdError::WrongArity("ping".into()));
    }
    if ctx.client.in_resp2_pubsub() {
        let msg = a.get(1).cloned().unwrap_or_default();
        return Ok(Reply::Array(vec![
            Reply::bulk_str("pong"),
            Reply::Bulk(msg),
        ]));
    }
    Ok(match a.get(1) {
        Some(m) => Reply::Bulk(m.clone()),
        None => Reply::Status("PONG"),
    })
}

fn echo(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Bulk(a[1].clone()))
}

/// ACLAuthenticateUser: AUTH and HELLO AUTH. The two-argument AUTH is the
/// default user's; without a password configured for it, Redis's warning.
/// A failure is an ACL LOG `auth` event. Passwords are compared as SHA-256
/// digests in constant time (`acl::rules`).
fn check_password(
    ctx: &mut Ctx,
    command: &[u8],
    user: Option<&[u8]>,
    pass: &[u8],
) -> CmdResult<()> {
    let acl = &ctx.srv.acl;
    if user.is_none() && acl.default_user().rules().nopass {
        return Err(CmdError::custom(
            crate::error::msg::AUTH_PASSWORD_CALLED_WITHOUT_ANY_PASSWORD,
        ));
    }
    let name = user.unwrap_or(b"default");
    match acl.authenticate(name, pass) {
        Some(u) => {
            ctx.client.set_user(u);
            ctx.client.authenticated = true;
            Ok(())
        }
        None => {
            let command = String::from_utf8_lossy(command).into_owned();
            let context = if ctx.client.multi.is_some() {
                crate::acl::Context::Multi
            } else {
                crate::acl::Context::Toplevel
            };
            crate::family::acl::log_denial(
                ctx.srv,
                &ctx.client.handle,
                crate::acl::Reason::Auth,
                context,
                &String::from_utf8_lossy(name),
                command,
            );
            Err(CmdError::custom(
                crate::error::msg::WRONGPASS_INVALID_USERNAME_PASSWORD_PAIR_OR_USER,
            ))
        }
    }
}

fn auth(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    match a.len() {
        2 => check_password(ctx, &a[0], None, &a[1])?,
        3 => check_password(ctx, &a[0], Some(&a[1]), &a[2])?,
        _ => return Err(CmdError::Syntax),
    }
    Ok(Reply::Ok)
}

fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn hello(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut proto = ctx.client.resp;
    if a.len() >= 2 {
        let v = int(&a[1])
            .map_err(|_| CmdError::custom(crate::error::msg::PROTOCOL_VERSION_IS_NOT_AN_INTEGER))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::NoProto);
        }
        proto = v as u8;
    }
    let mut i = 2;
    let mut name = None;
    while i < a.len() {
        let more = a.len() - i - 1;
        if eq(&a[i], "auth") && more >= 2 {
            check_password(ctx, &a[0], Some(&a[i + 1]), &a[i + 2])?;
            i += 3;
        } else if eq(&a[i], "setname") && more >= 1 {
            if !valid_name(&a[i + 1]) {
                return Err(CmdError::ClientNameSpaces);
            }
            name = Some(a[i + 1].clone());
            i += 2;
        } else {
            return Err(crate::error::msg::hello_option_syntax(&a[i]));
        }
    }
    if !ctx.client.authenticated {
        return Err(CmdError::custom(
            crate::error::msg::NOAUTH_HELLO_MUST_BE_CALLED_WITH_THE,
        ));
    }
    if let Some(n) = name {
        ctx.client.handle.info.lock().name = if n.is_empty() { None } else { Some(n) };
    }
    ctx.client.resp = proto;
    ctx.client.handle.resp.store(proto, Ordering::Relaxed);
    Ok(Reply::Map(vec![
        (Reply::bulk_str("server"), Reply::bulk_str("redis")),
        (
            Reply::bulk_str("version"),
            Reply::bulk_str(crate::REDIS_VERSION),
        ),
        (Reply::bulk_str("proto"), Reply::Int(proto as i64)),
        (Reply::bulk_str("id"), Reply::Int(ctx.client.id() as i64)),
        (Reply::bulk_str("mode"), Reply::bulk_str("standalone")),
        (
            Reply::bulk_str("role"),
            Reply::bulk_str(if ctx.srv.repl.is_replica() {
                "replica"
            } else {
                "master"
            }),
        ),
        (Reply::bulk_str("modules"), Reply::Array(vec![])),
    ]))
}

fn select(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let n = int(&a[1])?;
    if n < 0 || n as usize >= ctx.srv.keyspace.databases() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.client.db = n as usize;
    ctx.client.handle.db.store(n as usize, Ordering::Relaxed);
    Ok(Reply::Ok)
}

fn swapdb(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let first =
        int(&a[1]).map_err(|_| CmdError::custom(crate::error::msg::INVALID_FIRST_DB_INDEX))?;
    let second =
        int(&a[2]).map_err(|_| CmdError::custom(crate::error::msg::INVALID_SECOND_DB_INDEX))?;
    let dbs = ctx.srv.keyspace.databases() as i64;
    if first < 0 || first >= dbs || second < 0 || second >= dbs {
        return Err(CmdError::DbIndexOutOfRange);
    }
    let (x, y) = (first as usize, second as usize);
    if x != y {
        for shard in ctx.locks.iter_mut() {
            let (dx, dy) = if x < y {
                let (l, r) = shard.dbs.split_at_mut(y);
                (&mut l[x], &mut r[0])
            } else {
                let (l, r) = shard.dbs.split_at_mut(x);
                (&mut r[0], &mut l[y])
            };
            dx.touch_all_watched(Some(dy));
            dy.touch_all_watched(Some(dx));
            // The data swaps; WATCH registrations stay with the database index.
            std::mem::swap(&mut dx.map, &mut dy.map);
            std::mem::swap(&mut dx.expires, &mut dy.expires);
        }
        // Waiters on either database see their keys' new values.
        let mut waited = crate::blocking::waited_keys(&mut ctx.locks, Some(x));
        waited.extend(crate::blocking::waited_keys(&mut ctx.locks, Some(y)));
        ctx.ready_keys.extend(waited);
        ctx.mark_dirty(1);
    }
    Ok(Reply::Ok)
}

fn quit(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    ctx.client.close_after_reply = true;
    Ok(Reply::Ok)
}

fn reset(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    let c = &mut *ctx.client;
    c.multi = None;
    c.unwatch();
    crate::family::pubsub::unsubscribe_all(srv, c);
    if c.monitor {
        c.monitor = false;
        srv.remove_monitor(c.id());
    }
    c.db = 0;
    c.resp = 2;
    c.reply_mode = ReplyMode::On;
    c.handle.no_evict.store(false, Ordering::Relaxed);
    c.no_touch = false;
    srv.tracking.disable(&c.handle);
    c.tracking = None;
    c.caching = false;
    c.set_user(srv.acl.default_user());
    c.authenticated = srv.acl.default_open();
    c.handle.resp.store(2, Ordering::Relaxed);
    c.handle.db.store(0, Ordering::Relaxed);
    let mut info = c.handle.info.lock();
    info.multi = -1;
    // Redis's clearClientConnectionState drops the name (not lib-name/lib-ver).
    info.name = None;
    Ok(Reply::Status("RESET"))
}

fn client_id(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.client.id() as i64))
}

fn client_setname(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if !valid_name(&a[2]) {
        return Err(CmdError::ClientNameSpaces);
    }
    ctx.client.handle.info.lock().name = if a[2].is_empty() {
        None
    } else {
        Some(a[2].clone())
    };
    Ok(Reply::Ok)
}

fn client_getname(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::opt_bulk(ctx.client.handle.info.lock().name.clone()))
}

fn client_setinfo(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let value = &a[3];
    if !valid_name(value) {
        return Err(crate::error::msg::cannot_contain_spaces(&a[2]));
    }
    let mut info = ctx.client.handle.info.lock();
    if eq(&a[2], "lib-name") {
        info.lib_name = Some(value.clone());
    } else if eq(&a[2], "lib-ver") {
        info.lib_ver = Some(value.clone());
    } else {
        return Err(crate::error::msg::unrecognized_option(&a[2]));
    }
    Ok(Reply::Ok)
}

/// One CLIENT LIST line in Redis 7.0's field order.
/// `own_qbuf`: the caller's own query length, which only its connection knows.
pub fn client_line(
    srv: &Server,
    c: &crate::client::ClientHandle,
    own_qbuf: Option<usize>,
) -> String {
    let info = c.info.lock();
    let now_ms = crate::server::unix_ms().saturating_sub(srv.start_unix_ms);
    let idle = now_ms.saturating_sub(c.last_active_ms.load(Ordering::Relaxed)) / 1000;
    let mut flags = String::new();
    if srv.monitoring.load(Ordering::Relaxed) && srv.monitors.read().iter().any(|m| m.id == c.id) {
        flags.push('O');
    }
    if info.sub + info.psub + info.ssub > 0 {
        flags.push('P');
    }
    if info.multi >= 0 {
        flags.push('x');
    }
    if info.blocked {
        flags.push('b');
    }
    let (tracking_flags, redir) = tracking::client_list_fields(c);
    flags.push_str(&tracking_flags);
    if c.unix {
        flags.push('U');
    }
    if c.no_evict.load(Ordering::Relaxed) {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let cmd = match c.last_cmd.load(Ordering::Relaxed) {
        usize::MAX => "NULL".to_string(),
        i => match srv.commands.all.get(i) {
            Some((Some(p), s)) => format!("{}|{}", p.name, s.name),
            Some((None, s)) => s.name.to_string(),
            None => "NULL".to_string(),
        },
    };
    let name = info
        .name
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    // Pushes queued by other connections, and replies this client's
    // connection has not written yet.
    let omem = c.outbox.lock().bytes + info.omem;
    format!(
        "id={} addr={} laddr={} fd=8 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs=1024 rbp=0 obl=0 oll={} omem={} tot-mem={} events=r cmd={} user={} redir={} resp={}",
        c.id,
        c.addr,
        c.laddr,
        name,
        c.created.elapsed().as_secs(),
        idle,
        flags,
        c.db.load(Ordering::Relaxed),
        info.sub,
        info.psub,
        info.ssub,
        info.multi,
        own_qbuf.unwrap_or(info.qbuf),
        info.qbuf_free,
        info.argv_mem,
        info.multi_mem,
        if omem > 0 { 1 } else { 0 },
        omem,
        c.mem.load(Ordering::Relaxed),
        cmd,
        info.user
            .as_ref()
            .map_or_else(|| "(superuser)".to_string(), |u| u.name_str()),
        redir,
        c.resp.load(Ordering::Relaxed),
    )
}

fn client_list(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    let mut filter_ids: Option<Vec<u64>> = None;
    let mut filter_type: Option<String> = None;
    let mut i = 2;
    while i < a.len() {
        if eq(&a[i], "type") && i + 1 < a.len() {
            let t = String::from_utf8_lossy(&a[i + 1]).to_ascii_lowercase();
            if !matches!(
                t.as_str(),
                "normal" | "master" | "replica" | "slave" | "pubsub"
            ) {
                return Err(crate::error::msg::unknown_client_type(&a[i + 1]));
            }
            filter_type = Some(t);
            i += 2;
        } else if eq(&a[i], "id") && i + 1 < a.len() {
            let mut ids = Vec::new();
            for arg in &a[i + 1..] {
                let n = int(arg)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| CmdError::custom(crate::error::msg::INVALID_CLIENT_ID))?;
                ids.push(n as u64);
            }
            filter_ids = Some(ids);
            i = a.len();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut out = String::new();
    for c in srv.clients.all() {
        if filter_ids.as_ref().is_some_and(|ids| !ids.contains(&c.id)) {
            continue;
        }
        if let Some(t) = &filter_type {
            let info = c.info.lock();
            let is_pubsub = info.sub + info.psub + info.ssub > 0;
            drop(info);
            let matches = match t.as_str() {
                "pubsub" => is_pubsub,
                "normal" => !is_pubsub,
                _ => false,
            };
            if !matches {
                continue;
            }
        }
        let own = (c.id == ctx.client.id()).then_some(ctx.client.query_len);
        out.push_str(&client_line(srv, &c, own));
        out.push('\n');
    }
    Ok(Reply::Verbatim("txt", Bytes::from(out)))
}

fn client_info(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let mut line = client_line(ctx.srv, &ctx.client.handle, Some(ctx.client.query_len));
    line.push('\n');
    Ok(Reply::Verbatim("txt", Bytes::from(line)))
}

fn client_kill(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    let me = ctx.client.id();
    if a.len() == 3 {
        // Old form: CLIENT KILL addr:port.
        let addr = String::from_utf8_lossy(&a[2]);
        let Some(c) = srv.clients.all().into_iter().find(|c| c.addr == addr) else {
            return Err(CmdError::NoSuchClient);
        };
        if c.id == me {
            ctx.client.close_after_reply = true;
        } else {
            c.kill();
        }
        return Ok(Reply::Ok);
    }
    let mut id = None;
    let mut addr = None;
    let mut laddr = None;
    let mut ctype: Option<String> = None;
    let mut user = None;
    let mut skipme = true;
    let mut i = 2;
    while i + 1 < a.len() {
        let v = &a[i + 1];
        if eq(&a[i], "id") {
            id = Some(int(v).ok().filter(|n| *n > 0).ok_or_else(|| {
                CmdError::custom(crate::error::msg::CLIENT_ID_SHOULD_BE_GREATER_THAN)
            })? as u64);
        } else if eq(&a[i], "addr") {
            addr = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq(&a[i], "laddr") {
            laddr = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq(&a[i], "type") {
            let t = String::from_utf8_lossy(v).to_ascii_lowercase();
            if !matches!(
                t.as_str(),
                "normal" | "master" | "replica" | "slave" | "pubsub"
            ) {
                return Err(crate::error::msg::unknown_client_type(v));
            }
            ctype = Some(t);
        } else if eq(&a[i], "user") {
            user = Some(
                srv.acl
                    .get(v)
                    .ok_or_else(|| crate::error::msg::no_such_user(&String::from_utf8_lossy(v)))?,
            );
        } else if eq(&a[i], "skipme") {
            skipme = if eq(v, "yes") {
                true
            } else if eq(v, "no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    if i != a.len() {
        return Err(CmdError::Syntax);
    }
    let mut killed = 0;
    // Replica links are clients of ours (TYPE replica); the master link is not
    // in the client table (TYPE master drops it; the replica reconnects).
    let replica_ids = srv.repl.replica_ids();
    if ctype.as_deref() == Some("master")
        && id.is_none()
        && addr.is_none()
        && laddr.is_none()
        && srv.repl.kill_master_link()
    {
        killed += 1;
    }
    for c in srv.clients.all() {
        if id.is_some_and(|id| id != c.id)
            || addr.as_ref().is_some_and(|x| *x != c.addr)
            || laddr.as_ref().is_some_and(|x| *x != c.laddr)
            || user.as_ref().is_some_and(|u| {
                !c.info
                    .lock()
                    .user
                    .as_ref()
                    .is_some_and(|cu| Arc::ptr_eq(cu, u))
            })
        {
            continue;
        }
        if let Some(t) = &ctype {
            let info = c.info.lock();
            let is_pubsub = info.sub + info.psub + info.ssub > 0;
            drop(info);
            let is_replica = replica_ids.contains(&c.id);
            let ok = match t.as_str() {
                "pubsub" => is_pubsub,
                "normal" => !is_pubsub && !is_replica,
                "replica" | "slave" => is_replica,
                _ => false,
            };
            if !ok {
                continue;
            }
        }
        if c.id == me {
            if skipme {
                continue;
            }
            ctx.client.close_after_reply = true;
        } else {
            c.kill();
        }
        killed += 1;
    }
    Ok(Reply::Int(killed))
}

fn client_reply(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if eq(&a[2], "on") {
        ctx.client.reply_mode = ReplyMode::On;
        Ok(Reply::Ok)
    } else if eq(&a[2], "off") {
        ctx.client.reply_mode = ReplyMode::Off;
        Ok(Reply::Many(vec![]))
    } else if eq(&a[2], "skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
        Ok(Reply::Many(vec![]))
    } else {
        Err(CmdError::Syntax)
    }
}

fn on_off(arg: &[u8]) -> CmdResult<bool> {
    if eq(arg, "on") {
        Ok(true)
    } else if eq(arg, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn client_no_evict(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let on = on_off(&a[2])?;
    ctx.client.handle.no_evict.store(on, Ordering::Relaxed);
    Ok(Reply::Ok)
}

fn client_no_touch(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    ctx.client.no_touch = on_off(&a[2])?;
    Ok(Reply::Ok)
}

fn client_pause(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 4 {
        return Err(crate::error::msg::subcommand_syntax(
            &String::from_utf8_lossy(&a[1]),
            "CLIENT",
        ));
    }
    let ms = int(&a[2])
        .map_err(|_| CmdError::custom(crate::error::msg::TIMEOUT_IS_NOT_AN_INTEGER_OR))?;
    if ms < 0 {
        return Err(CmdError::custom(crate::error::msg::TIMEOUT_IS_NEGATIVE));
    }
    let writes_only = match a.get(3) {
        None => false,
        Some(m) if eq(m, "write") => true,
        Some(m) if eq(m, "all") => false,
        Some(_) => {
            return Err(CmdError::custom(
                crate::error::msg::CLIENT_PAUSE_MODE_MUST_BE_WRITE,
            ))
        }
    };
    let until = ctx.now_ms.saturating_add(ms as u64);
    ctx.srv.pause_until.fetch_max(until, Ordering::Relaxed);
    ctx.srv
        .pause_writes_only
        .store(writes_only, Ordering::Relaxed);
    Ok(Reply::Ok)
}

fn client_unpause(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    ctx.srv.pause_until.store(0, Ordering::Relaxed);
    Ok(Reply::Ok)
}

fn client_unblock(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let id = int(&a[2])?;
    let with_error = match a.get(3) {
        None => false,
        Some(m) if eq(m, "timeout") => false,
        Some(m) if eq(m, "error") => true,
        Some(_) => {
            return Err(CmdError::custom(
                crate::error::msg::CLIENT_UNBLOCK_REASON_SHOULD_BE_TIMEOUT,
            ))
        }
    };
    let Some(c) = ctx.srv.clients.get(id as u64) else {
        return Ok(Reply::Int(0));
    };
    Ok(Reply::Int(
        crate::blocking::unblock(ctx.srv, &mut ctx.locks, &c, with_error) as i64,
    ))
}

fn client_help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "client"));
    }
    Ok(help_reply(
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME.",
            "LIST [options ...]",
            "    Return information about client connections. Options: TYPE, ID.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    ))
}
