//! Replication commands: REPLICAOF/SLAVEOF, SYNC/PSYNC, REPLCONF, WAIT, ROLE.
//! The machinery is in `crate::repl`; these are its client-facing handlers.

use bytes::Bytes;

use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("replicaof", 3, ADMIN | NOSCRIPT | STALE, Keys::None, replicaof).doc(
        "server",
        "5.0.0",
        "Configures a server as replica of another, or promotes it to a master.",
    ),
    CommandSpec::new("slaveof", 3, ADMIN | NOSCRIPT | STALE, Keys::None, replicaof).doc(
        "server",
        "1.0.0",
        "Sets a Redis server as a replica of another, or promotes it to being a master.",
    ),
    CommandSpec::new("sync", 1, ADMIN | NOSCRIPT | NO_MULTI, Keys::None, sync).doc(
        "server",
        "1.0.0",
        "An internal command used in replication.",
    ),
    CommandSpec::new("psync", -3, ADMIN | NOSCRIPT | NO_MULTI, Keys::None, sync).doc(
        "server",
        "2.8.0",
        "An internal command used in replication.",
    ),
    CommandSpec::new(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        Keys::None,
        replconf,
    )
    .doc(
        "server",
        "3.0.0",
        "An internal command for configuring the replication stream.",
    ),
    CommandSpec::new("wait", 3, NOSCRIPT, Keys::None, wait).doc(
        "generic",
        "3.0.0",
        "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
    ),
    CommandSpec::new("role", 1, NOSCRIPT | LOADING | STALE | FAST, Keys::None, role).doc(
        "server",
        "2.8.12",
        "Returns the replication role.",
    ),
];

fn replicaof(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    if eq(&a[1], "no") && eq(&a[2], "one") {
        srv.config.set_startup_raw("replicaof", "");
        if srv.repl.promote() {
            tracing::info!(
                "MASTER MODE enabled (user request from '{}')",
                ctx.client.handle.addr
            );
        }
        return Ok(Reply::Ok);
    }
    let port = match int(&a[2]) {
        Ok(p) if (0..=65535).contains(&p) => p as u16,
        _ => return Err(CmdError::custom(crate::error::msg::INVALID_MASTER_PORT)),
    };
    let host = String::from_utf8_lossy(&a[1]).into_owned();
    {
        let st = srv.repl.state.lock();
        if let Some(m) = &st.master {
            if m.host.eq_ignore_ascii_case(&host) && m.port == port {
                return Ok(Reply::StatusOwned(
                    "OK Already connected to specified master".into(),
                ));
            }
        }
    }
    let Some(me) = srv.arc() else {
        return Err(CmdError::custom(crate::error::msg::SERVER_IS_SHUTTING_DOWN));
    };
    crate::repl::replica::start(&me, host.clone(), port);
    tracing::info!(
        "REPLICAOF {host}:{port} enabled (user request from '{}')",
        ctx.client.handle.addr
    );
    Ok(Reply::Ok)
}

/// SYNC and PSYNC: the connection becomes a replica link once this returns.
fn sync(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    if ctx.client.repl.is_master {
        return Ok(Reply::Raw(Bytes::new()));
    }
    if srv.repl.is_replica() {
        let up = srv
            .repl
            .state
            .lock()
            .master
            .as_ref()
            .is_some_and(|m| m.status == "connected");
        if !up {
            return Err(CmdError::custom(
                "NOMASTERLINK Can't SYNC while not connected with my master",
            ));
        }
    }
    let psync = (a.len() >= 3 && eq(&a[0], "psync")).then(|| (a[1].as_ref(), a[2].as_ref()));
    let (handoff, line) = crate::repl::master::start_sync(srv, ctx.client, psync);
    ctx.client.repl.handoff = Some(Box::new(handoff));
    Ok(match line {
        Some(l) => Reply::StatusOwned(l),
        // SYNC: the RDB payload is the reply.
        None => Reply::Raw(Bytes::new()),
    })
}

fn replconf(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    for pair in a[1..].chunks(2) {
        let (opt, val) = (&pair[0], &pair[1]);
        if eq(opt, "listening-port") {
            let p = int(val)?;
            ctx.client.repl.listening_port = p.clamp(0, 65535) as u16;
        } else if eq(opt, "ip-address") {
            ctx.client.repl.announced_ip = Some(String::from_utf8_lossy(val).into_owned());
        } else if eq(opt, "capa") || eq(opt, "rdb-only") || eq(opt, "rdb-filter-only") {
            // Capabilities we do not depend on: we always send `$<len>` payloads.
        } else if eq(opt, "ack") || eq(opt, "getack") {
            // Only meaningful on a replication link (handled there); silent here.
            return Ok(Reply::Raw(Bytes::new()));
        } else {
            return Err(crate::error::msg::replconf_unrecognized(opt));
        }
    }
    Ok(Reply::Ok)
}

fn wait(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    if srv.repl.is_replica() {
        return Err(CmdError::WaitOnReplica);
    }
    let replicas = int(&a[1])?;
    let timeout = int(&a[2])
        .map_err(|_| CmdError::custom(crate::error::msg::TIMEOUT_IS_NOT_AN_INTEGER_OR))?;
    if timeout < 0 {
        return Err(CmdError::TimeoutNegative);
    }
    // This client's writes end at its woff (Redis's c->woff).
    let offset = ctx.client.repl.woff;
    let acked = srv.repl.acked(offset);
    if acked as i64 >= replicas || ctx.client.in_exec {
        return Ok(Reply::Int(acked as i64));
    }
    // Ask the replicas for their offsets now rather than at their next ACK.
    srv.repl.feed_raw(&[
        Bytes::from_static(b"REPLCONF"),
        Bytes::from_static(b"GETACK"),
        Bytes::from_static(b"*"),
    ]);
    ctx.client.repl.wait = Some(crate::repl::WaitRequest {
        offset,
        replicas: replicas.max(0) as usize,
        deadline_ms: (timeout > 0).then(|| ctx.now_ms + timeout as u64),
    });
    Ok(Reply::Int(acked as i64))
}

fn role(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let st = ctx.srv.repl.state.lock();
    let bulk = |s: &str| Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()));
    Ok(match &st.master {
        Some(m) => Reply::Array(vec![
            bulk("slave"),
            bulk(&m.host),
            Reply::Int(m.port as i64),
            bulk(m.status),
            Reply::Int(if m.status == "connected" {
                st.offset as i64
            } else {
                -1
            }),
        ]),
        None => Reply::Array(vec![
            bulk("master"),
            Reply::Int(st.offset as i64),
            Reply::Array(
                st.replicas
                    .iter()
                    .map(|r| {
                        Reply::Array(vec![
                            bulk(&r.ip),
                            bulk(&r.port.to_string()),
                            bulk(&r.ack.load(std::sync::atomic::Ordering::Relaxed).to_string()),
                        ])
                    })
                    .collect(),
            ),
        ]),
    })
}
