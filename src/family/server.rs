//! Server commands: INFO CONFIG COMMAND DBSIZE FLUSHDB FLUSHALL TIME LASTSAVE DEBUG SHUTDOWN.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;

use crate::command::args::{eq, float, int};
use crate::command::flags::{self, *};
use crate::command::keyspecs::{kflag, KeyRef};
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{CmdError, CmdResult};
use crate::family::keys::{encoding_of, help_reply};
use crate::reply::Reply;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("info", -1, LOADING | STALE, Keys::None, info).doc(
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
    ),
    CommandSpec::new("config", -2, 0, Keys::None, config_help)
        .doc(
            "server",
            "2.0.0",
            "A container for server configuration commands.",
        )
        .subs(CONFIG_SUBS),
    CommandSpec::new("command", -1, LOADING | STALE, Keys::None, command_all)
        .doc(
            "server",
            "2.8.13",
            "Returns detailed information about all commands.",
        )
        .subs(COMMAND_SUBS),
    CommandSpec::new("dbsize", 1, READONLY | FAST, Keys::None, dbsize).doc(
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
    ),
    CommandSpec::new("flushdb", -1, WRITE | ALL_SHARDS, Keys::None, flushdb).doc(
        "server",
        "1.0.0",
        "Remove all keys from the current database.",
    ),
    CommandSpec::new("flushall", -1, WRITE | ALL_SHARDS, Keys::None, flushall).doc(
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
    ),
    CommandSpec::new("time", 1, LOADING | STALE | FAST, Keys::None, time).doc(
        "server",
        "2.6.0",
        "Returns the server time.",
    ),
    CommandSpec::new("lastsave", 1, LOADING | STALE | FAST, Keys::None, lastsave).doc(
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
    ),
    CommandSpec::new(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        Keys::None,
        shutdown,
    )
    .doc(
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
    ),
    CommandSpec::new(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | ALL_SHARDS,
        Keys::None,
        debug,
    )
    .doc("server", "1.0.0", "A container for debugging commands."),
    CommandSpec::new(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT,
        Keys::None,
        bgrewriteaof,
    )
    .doc(
        "server",
        "1.0.0",
        "Asynchronously rewrites the append-only file to disk.",
    ),
    CommandSpec::new(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::None,
        monitor,
    )
    .doc(
        "server",
        "1.0.0",
        "Listens for all requests received by the server in real-time.",
    ),
    CommandSpec::new("save", 1, ADMIN | NOSCRIPT | NO_MULTI, Keys::None, save).doc(
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
    ),
    CommandSpec::new("bgsave", -1, ADMIN | NOSCRIPT, Keys::None, save).doc(
        "server",
        "1.0.0",
        "Asynchronously saves the database(s) to disk.",
    ),
];

static CONFIG_SUBS: &[CommandSpec] = &[
    CommandSpec::new(
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::None,
        config_get,
    )
    .doc(
        "server",
        "2.0.0",
        "Returns the effective values of configuration parameters.",
    ),
    CommandSpec::new(
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::None,
        config_set,
    )
    .doc(
        "server",
        "2.0.0",
        "Sets configuration parameters in-flight.",
    ),
    CommandSpec::new(
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::None,
        config_resetstat,
    )
    .doc("server", "2.0.0", "Resets the server's statistics."),
    CommandSpec::new(
        "rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::None,
        config_rewrite,
    )
    .doc(
        "server",
        "2.8.0",
        "Persists the effective configuration to file.",
    ),
    CommandSpec::new("help", 2, LOADING | STALE, Keys::None, config_help).doc(
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

static COMMAND_SUBS: &[CommandSpec] = &[
    CommandSpec::new("count", 2, LOADING | STALE, Keys::None, command_count).doc(
        "server",
        "2.8.13",
        "Returns a count of commands.",
    ),
    CommandSpec::new("info", -2, LOADING | STALE, Keys::None, command_info).doc(
        "server",
        "2.8.13",
        "Returns information about one, multiple or all commands.",
    ),
    CommandSpec::new("docs", -2, LOADING | STALE, Keys::None, command_docs).doc(
        "server",
        "7.0.0",
        "Returns documentary information about one, multiple or all commands.",
    ),
    CommandSpec::new("list", -2, LOADING | STALE, Keys::None, command_list).doc(
        "server",
        "7.0.0",
        "Returns a list of command names.",
    ),
    CommandSpec::new("getkeys", -4, LOADING | STALE, Keys::None, command_getkeys).doc(
        "server",
        "2.8.13",
        "Extracts the key names from an arbitrary command.",
    ),
    CommandSpec::new(
        "getkeysandflags",
        -4,
        LOADING | STALE,
        Keys::None,
        command_getkeysandflags,
    )
    .doc(
        "server",
        "7.0.0",
        "Extracts the key names and access flags for an arbitrary command.",
    ),
    CommandSpec::new("help", 2, LOADING | STALE, Keys::None, command_help).doc(
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

/// Shard by shard (`Ctx::each_shard`): no command waits for the count.
fn dbsize(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.client.db;
    let mut n = 0;
    ctx.each_shard(|s| n += s.dbs[db].len());
    Ok(Reply::Int(n as i64))
}

/// FLUSHDB / FLUSHALL [ASYNC|SYNC]: whether the flush is asynchronous
/// (then Redis frees the keys on its lazyfree thread, which INFO's
/// `lazyfreed_objects` counts).
fn flush_mode(ctx: &Ctx, a: &[Bytes]) -> CmdResult<bool> {
    match a.get(1) {
        None => Ok(ctx.srv.config.get("lazyfree-lazy-user-flush").as_deref() == Some("yes")),
        Some(m) if a.len() == 2 && eq(m, "async") => Ok(true),
        Some(m) if a.len() == 2 && eq(m, "sync") => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

fn flushdb(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let lazy = flush_mode(ctx, a)?;
    let db = ctx.client.db;
    let mut n = 0;
    ctx.each_shard(|s| {
        n += s.dbs[db].len();
        s.dbs[db].touch_all_watched(None);
        s.dbs[db].clear();
    });
    ctx.srv.tracking.flushed(ctx.srv);
    if lazy {
        ctx.srv.stats.count_lazyfreed(n as u64);
    }
    // Blocked XREADGROUP clients learn their stream is gone.
    let waited = crate::blocking::waited_keys(&mut ctx.locks, Some(db));
    ctx.ready_keys.extend(waited);
    ctx.mark_dirty(n as u64 + 1);
    Ok(Reply::Ok)
}

fn flushall(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let lazy = flush_mode(ctx, a)?;
    let mut n = 0;
    ctx.each_shard(|s| {
        for db in s.dbs.iter_mut() {
            n += db.len();
            db.touch_all_watched(None);
            db.clear();
        }
    });
    ctx.srv.tracking.flushed(ctx.srv);
    if lazy {
        ctx.srv.stats.count_lazyfreed(n as u64);
    }
    let waited = crate::blocking::waited_keys(&mut ctx.locks, None);
    ctx.ready_keys.extend(waited);
    ctx.mark_dirty(n as u64 + 1);
    // With save points configured, Redis saves the now empty dataset at
    // once (flushAllDataAndResetRDB): no change is left to save.
    let save_points = ctx
        .srv
        .config
        .get("save")
        .is_some_and(|s| !s.trim().is_empty());
    if save_points && !ctx.client.repl.is_master {
        let srv = ctx.srv;
        if let Err(e) = crate::persist::save_locked(srv, &mut ctx.locks) {
            tracing::warn!("Failed saving the DB after FLUSHALL: {e}");
        }
    }
    Ok(Reply::Ok)
}

fn time(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let us = crate::server::unix_us();
    Ok(Reply::Array(vec![
        Reply::bulk_int((us / 1_000_000) as i64),
        Reply::bulk_int((us % 1_000_000) as i64),
    ]))
}

fn lastsave(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.srv.last_save.load(Ordering::Relaxed) as i64))
}

fn bgrewriteaof(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    if srv.aof.rewrite_in_progress.load(Ordering::Acquire) {
        return Err(CmdError::custom(
            crate::error::msg::BACKGROUND_APPEND_ONLY_FILE_REWRITING_ALREADY,
        ));
    }
    // Redis runs one child at a time: after a BGSAVE (or an EXEC) it waits.
    if ctx.client.in_exec || srv.persist.bgsave_in_progress.load(Ordering::Acquire) {
        srv.aof.rewrite_scheduled.store(true, Ordering::Release);
        return Ok(Reply::Status(
            "Background append only file rewriting scheduled",
        ));
    }
    let started = srv
        .arc()
        .ok_or_else(|| "server is shutting down".to_string())
        .and_then(|me| crate::persist::aof::start_rewrite(&me, false));
    match started {
        Ok(true) => Ok(Reply::Status(
            "Background append only file rewriting started",
        )),
        Ok(false) => Err(CmdError::custom(
            crate::error::msg::BACKGROUND_APPEND_ONLY_FILE_REWRITING_ALREADY,
        )),
        Err(e) => {
            tracing::warn!("{e}");
            Err(CmdError::custom(
                crate::error::msg::CAN_T_EXECUTE_AN_AOF_BACKGROUND,
            ))
        }
    }
}

fn monitor(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    if ctx.client.in_exec {
        return Err(CmdError::custom(
            crate::error::msg::MONITOR_ISN_T_ALLOWED_FOR_DENY,
        ));
    }
    if ctx.client.monitor {
        // Already monitoring: Redis ignores it, without a reply.
        return Ok(Reply::Many(Vec::new()));
    }
    ctx.client.monitor = true;
    let mut m = ctx.srv.monitors.write();
    if !m.iter().any(|c| c.id == ctx.client.id()) {
        m.push(ctx.client.handle.clone());
    }
    ctx.srv.monitoring.store(true, Ordering::Relaxed);
    Ok(Reply::Ok)
}

fn save(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    crate::persist::save_command(ctx, a)
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] (Redis 7.0).
fn shutdown(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut flags = crate::shutdown::Flags::default();
    let mut abort = false;
    for opt in &a[1..] {
        match () {
            _ if eq(opt, "nosave") => flags.nosave = true,
            _ if eq(opt, "save") => flags.save = true,
            _ if eq(opt, "now") => flags.now = true,
            _ if eq(opt, "force") => flags.force = true,
            _ if eq(opt, "abort") => abort = true,
            _ => return Err(CmdError::Syntax),
        }
    }
    if (flags.save && flags.nosave) || (abort && a.len() > 2) {
        return Err(CmdError::Syntax);
    }
    if abort {
        if ctx.srv.shutdown_ctl.abort(ctx.srv) {
            return Ok(Reply::Ok);
        }
        return Err(CmdError::custom(crate::error::msg::NO_SHUTDOWN_IN_PROGRESS));
    }
    tracing::warn!("User requested shutdown...");
    let lagging = ctx.srv.repl.replica_count() > 0
        && ctx.srv.repl.acked(ctx.srv.repl.offset()) < ctx.srv.repl.replica_count();
    if lagging && !flags.now && ctx.srv.config.get_int("shutdown-timeout") > 0 {
        // Replicas get shutdown-timeout to catch up (writes paused); the
        // connection waits for the outcome (`shutdown::Shutdown::tick`).
        ctx.srv.shutdown_ctl.request(ctx.srv, flags);
        ctx.client.awaiting_shutdown = true;
        // Blocked from now on (INFO sees it before the next command runs);
        // the connection's wait undoes this (`conn`).
        ctx.srv
            .blocking
            .blocked
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ctx.client.handle.info.lock().blocked = true;
        return Ok(Reply::Many(vec![]));
    }
    let (save, nosave, force) = (flags.save, flags.nosave, flags.force);
    if let Err(e) = crate::persist::save_on_shutdown(ctx.srv, save, nosave) {
        tracing::warn!("Error trying to save the DB, can't exit: {e}");
        if !force {
            return Err(CmdError::custom(
                crate::error::msg::ERRORS_TRYING_TO_SHUTDOWN_CHECK_LOGS,
            ));
        }
    }
    if ctx.srv.busy.running() {
        // A script that ran past busy-reply-threshold holds every shard and
        // may never end: SHUTDOWN NOSAVE stops the process now, as Redis's
        // does from inside its busy loop.
        tracing::warn!("Redis is now ready to exit, bye bye... (a script was still running)");
        // Stop listening first: a client that sees this connection close
        // must find the port closed too.
        ctx.srv.listeners.close_all();
        std::process::exit(0);
    }
    // Main's exit path must not save a second time.
    ctx.srv.shutdown_saved.store(true, Ordering::Release);
    ctx.srv.shutdown();
    ctx.client.close_after_reply = true;
    // Redis closes the connection without a reply on success.
    Ok(Reply::Many(vec![]))
}

fn config_get(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let pats: Vec<&[u8]> = a[2..].iter().map(|b| b.as_ref()).collect();
    let pairs = ctx.srv.config.get_matching(&pats);
    Ok(Reply::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Reply::bulk_str(&k), Reply::Bulk(Bytes::from(v))))
            .collect(),
    ))
}

fn config_set(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if !a.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let cfg = &ctx.srv.config;
    // Redis's first pass over every name, before any value is set: the first
    // unknown, immutable, protected or repeated parameter fails the command,
    // named as the client spelled it. A name and its alias are two entries of
    // Redis's table, not a repeat (`slave-priority 1 replica-priority 2` is OK).
    let mut seen: Vec<String> = Vec::new();
    for pair in a[2..].chunks(2) {
        let spelled = String::from_utf8_lossy(&pair[0]).into_owned();
        let given = spelled.to_ascii_lowercase();
        let name = crate::config::canonical_name(&given);
        if !cfg.is_known(&name) {
            return Err(CmdError::ConfigUnknownParam(spelled));
        }
        let why = if crate::config::is_immutable(&name) {
            Some("can't set immutable config")
        } else if crate::config::PROTECTED.contains(&name.as_str())
            && !cfg.allows("enable-protected-configs", ctx.client.handle.is_local)
        {
            Some("can't set protected config")
        } else if seen.contains(&given) {
            Some("duplicate parameter")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(crate::config::set_error(&spelled, why.to_string()));
        }
        seen.push(given);
    }
    // One CONFIG SET at a time, so that set, apply and rollback of one are not
    // interleaved with another's (Redis runs them on its single thread).
    static CONFIG_SET: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
    let _serial = CONFIG_SET.lock();
    // All or nothing, as Redis: every value is set first, then the ones that need
    // more than storing (the listeners) are applied; on a failure of either
    // step every value is restored (and the restored listeners applied again).
    let mut applied: Vec<(String, String)> = Vec::new();
    let restore = |applied: &[(String, String)]| {
        for (n, v) in applied.iter().rev() {
            if let Err(e) = cfg.set(n, v, false) {
                tracing::warn!(
                    "Failed restoring failed CONFIG SET command. Error setting {n} to '{v}': {e}"
                );
            }
        }
    };
    for pair in a[2..].chunks(2) {
        let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        let old = cfg.get_matching(&[name.as_bytes()]).pop().map(|(_, v)| v);
        if let Err(r) = cfg.set(&name, &value, false) {
            restore(&applied);
            return Err(crate::config::set_error(&name, r));
        }
        if let Some(old) = old {
            applied.push((name, old));
        }
    }
    // Redis's updatePort / applyBind, once, named after the first of them given.
    let listener_change = applied.iter().find(|(n, old)| {
        (n == "port" || n == "bind") && cfg.get(n).as_deref() != Some(old.as_str())
    });
    if let Some((name, _)) = listener_change {
        let port_changed = applied
            .iter()
            .any(|(n, old)| n == "port" && cfg.get(n).as_deref() != Some(old.as_str()));
        if let Err(e) = ctx.srv.apply_listeners(port_changed) {
            tracing::warn!("Failed applying new configuration. Possibly related to new {name} setting. Restoring previous settings.");
            tracing::debug!("listen error: {e}");
            restore(&applied);
            if let Err(e) = ctx.srv.apply_listeners(port_changed) {
                tracing::warn!("Failed applying restored failed CONFIG SET command: {e}");
            }
            let reason = if name == "port" {
                "Unable to listen on this port. Check server logs."
            } else {
                "Failed to bind to specified addresses."
            };
            return Err(crate::config::set_error(name, reason.to_string()));
        }
    }
    apply_http(ctx.srv, &applied).inspect_err(|_| restore(&applied))?;
    apply_persistence(ctx.srv, &applied, ctx.client.in_exec).inspect_err(|_| restore(&applied))?;
    for (name, _) in &applied {
        ctx.srv.acl.sync_config(&ctx.srv.config, name);
    }
    if let Some((name, _)) = applied.iter().find(|(n, _)| n.starts_with("tls-")) {
        let applied_tls = ctx.srv.arc().map(|me| crate::conn::tls::apply(&me));
        if let Some(Err(e)) = applied_tls {
            tracing::warn!("Failed to update TLS configuration: {e}");
            restore(&applied);
            if let Some(me) = ctx.srv.arc() {
                let _ = crate::conn::tls::apply(&me);
            }
            return Err(crate::config::set_error(
                name,
                "Unable to update TLS configuration. Check server logs.".to_string(),
            ));
        }
    }
    Ok(Reply::Ok)
}

/// CONFIG SET http-port / http-bind: rebind the observability listener
/// (`http`); on a failure the old values are bound again.
fn apply_http(srv: &crate::server::Server, applied: &[(String, String)]) -> CmdResult<()> {
    let Some((name, _)) = applied.iter().find(|(n, old)| {
        (n == "http-port" || n == "http-bind") && srv.config.get(n).as_deref() != Some(old.as_str())
    }) else {
        return Ok(());
    };
    let Some(me) = srv.arc() else {
        return Ok(());
    };
    if let Err(e) = crate::http::apply(&me) {
        tracing::warn!("Failed applying new {name}: {e}. Restoring previous settings.");
        for (n, old) in applied.iter().filter(|(n, _)| n.starts_with("http-")) {
            let _ = srv.config.set(n, old, false);
        }
        if let Err(e) = crate::http::apply(&me) {
            tracing::warn!("Failed applying restored {name}: {e}");
        }
        return Err(crate::config::set_error(
            name,
            "Unable to listen on this port. Check server logs.".to_string(),
        ));
    }
    Ok(())
}

/// CONFIG SET appendonly / appendfsync: start or stop the AOF, change the policy.
fn apply_persistence(
    srv: &crate::server::Server,
    applied: &[(String, String)],
    in_exec: bool,
) -> CmdResult<()> {
    let changed = |name: &str| {
        applied
            .iter()
            .any(|(n, old)| n == name && srv.config.get(n).as_deref() != Some(old.as_str()))
    };
    if changed("appendfsync") {
        let v = srv.config.get("appendfsync").unwrap_or_default();
        srv.aof.set_policy(crate::persist::aof::Fsync::parse(&v));
    }
    if changed("appendonly") {
        let busy = in_exec
            || srv.persist.bgsave_in_progress.load(Ordering::Acquire)
            || srv.aof.rewrite_in_progress.load(Ordering::Acquire);
        if srv.config.get("appendonly").as_deref() == Some("yes") && busy {
            // Inside EXEC every shard may be locked; a snapshot cannot be
            // taken here. The cron starts it (as Redis, after its child).
            srv.aof.rewrite_scheduled.store(true, Ordering::Release);
            tracing::info!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
        } else if srv.config.get("appendonly").as_deref() == Some("yes") {
            let started = srv
                .arc()
                .ok_or_else(|| "server is shutting down".to_string())
                .and_then(|me| crate::persist::aof::start_rewrite(&me, true))
                .and_then(|started| match started {
                    true => Ok(()),
                    false => Err("an AOF rewrite is already in progress".to_string()),
                });
            if let Err(e) = started {
                tracing::warn!("{e}");
                return Err(crate::config::set_error(
                    "appendonly",
                    "Unable to turn on AOF. Check server logs.".to_string(),
                ));
            }
        } else {
            crate::persist::aof::stop(srv);
        }
    }
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    ctx.srv.stats.reset();
    Ok(Reply::Ok)
}

fn config_rewrite(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    let Some(path) = ctx.srv.config_file.as_deref() else {
        return Err(CmdError::custom(
            crate::error::msg::THE_SERVER_IS_RUNNING_WITHOUT_A,
        ));
    };
    match crate::config::rewrite(
        &ctx.srv.config,
        path,
        false,
        ctx.srv.acl.config_lines(&ctx.srv.config).as_deref(),
    ) {
        Ok(()) => {
            tracing::warn!("CONFIG REWRITE executed with success.");
            Ok(Reply::Ok)
        }
        Err(e) => {
            let e = crate::config::strerror(&e);
            tracing::warn!("CONFIG REWRITE failed: {e}");
            Err(crate::error::msg::rewriting_config_file(&e))
        }
    }
}

fn config_help(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() >= 2 && !eq(&a[1], "help") {
        return Err(CmdError::unknown_subcommand(&a[1], "config"));
    }
    Ok(help_reply(
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    ))
}

// ---- COMMAND -------------------------------------------------------------

/// A command's ACL categories as COMMAND INFO lists them: Redis 7.0's own
/// for its commands (in its category order), derived from the flags and
/// group for Cinnabar's additions.
fn acl_categories(fullname: &str, spec: &CommandSpec) -> Vec<Reply> {
    if let Some(meta) = crate::command::keyspecs::redis_meta(fullname) {
        return crate::acl::rules::CATEGORIES
            .iter()
            .filter(|c| meta.categories.contains(c))
            .map(|c| Reply::StatusOwned(format!("@{c}")))
            .collect();
    }
    let mut cats = Vec::new();
    if spec.has(WRITE) {
        cats.push("@write");
    }
    if spec.has(READONLY) {
        cats.push("@read");
    }
    match spec.group {
        "string" => cats.push("@string"),
        "list" => cats.push("@list"),
        "hash" => cats.push("@hash"),
        "stream" => cats.push("@stream"),
        "generic" => cats.push("@keyspace"),
        "pubsub" => cats.push("@pubsub"),
        "connection" => cats.push("@connection"),
        "transactions" => cats.push("@transaction"),
        "geo" => cats.push("@geo"),
        _ => {}
    }
    if spec.has(ADMIN) {
        cats.push("@admin");
        cats.push("@dangerous");
    }
    if spec.has(BLOCKING) {
        cats.push("@blocking");
    }
    cats.push(if spec.has(FAST) { "@fast" } else { "@slow" });
    cats.into_iter().map(Reply::Status).collect()
}

fn command_entry(parent: Option<&CommandSpec>, spec: &'static CommandSpec) -> Reply {
    let name = match parent {
        Some(p) => format!("{}|{}", p.name, spec.name),
        None => spec.name.to_string(),
    };
    let mut fl: Vec<Reply> = flags::NAMES
        .iter()
        .filter(|(bit, _)| spec.has(*bit))
        .map(|(_, n)| Reply::Status(n))
        .collect();
    if crate::command::keyspecs::no_mandatory_keys(&name) {
        fl.push(Reply::Status("no_mandatory_keys"));
    }
    if crate::command::keyspecs::movable_keys(&name, spec) {
        fl.push(Reply::Status("movablekeys"));
    }
    let (first, last, step) = match spec.keys {
        Keys::Range(f, l, s) => (f, l, s),
        _ => (0, 0, 0),
    };
    Reply::Array(vec![
        Reply::bulk_str(&name),
        Reply::Int(spec.arity as i64),
        Reply::Set(fl),
        Reply::Int(first as i64),
        Reply::Int(last as i64),
        Reply::Int(step as i64),
        Reply::Set(acl_categories(&name, spec)),
        Reply::Set(vec![]),
        Reply::Array(vec![]),
        Reply::Array(
            spec.subcommands
                .iter()
                .map(|s| command_entry(Some(spec), s))
                .collect(),
        ),
    ])
}

fn command_all(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 1 {
        return Err(CmdError::unknown_subcommand(&a[1], "command"));
    }
    Ok(Reply::Array(
        ctx.srv
            .commands
            .top_level()
            .map(|s| command_entry(None, s))
            .collect(),
    ))
}

fn command_count(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.srv.commands.top_level().count() as i64))
}

/// Finds `name` or `parent|sub`.
fn find_spec(
    ctx: &Ctx,
    name: &[u8],
) -> Option<(Option<&'static CommandSpec>, &'static CommandSpec)> {
    let text = String::from_utf8_lossy(name).to_ascii_lowercase();
    match text.split_once('|') {
        Some((p, s)) => {
            let (_, parent) = ctx.srv.commands.get(p.as_bytes())?;
            parent
                .subcommands
                .iter()
                .find(|c| c.name == s)
                .map(|c| (Some(parent), c))
        }
        None => ctx
            .srv
            .commands
            .get(text.as_bytes())
            .map(|(_, s)| (None, s)),
    }
}

fn command_info(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() == 2 {
        return command_all(ctx, &a[..1]);
    }
    Ok(Reply::Array(
        a[2..]
            .iter()
            .map(|n| match find_spec(ctx, n) {
                Some((p, s)) => command_entry(p, s),
                // Redis answers an unknown name with a null bulk (addReplyNull).
                None => Reply::Nil,
            })
            .collect(),
    ))
}

fn doc_entry(spec: &'static CommandSpec) -> Reply {
    let mut fields = vec![
        (Reply::bulk_str("summary"), Reply::bulk_str(spec.summary)),
        (Reply::bulk_str("since"), Reply::bulk_str(spec.since)),
        (Reply::bulk_str("group"), Reply::bulk_str(spec.group)),
    ];
    if !spec.subcommands.is_empty() {
        fields.push((
            Reply::bulk_str("subcommands"),
            Reply::Map(
                spec.subcommands
                    .iter()
                    .map(|s| {
                        (
                            Reply::bulk_str(&format!("{}|{}", spec.name, s.name)),
                            doc_entry(s),
                        )
                    })
                    .collect(),
            ),
        ));
    }
    Reply::Map(fields)
}

/// Redis's own documentation (with argument trees for hints) where it has the
/// command, else the entry built from our table.
fn full_doc(spec: &'static CommandSpec) -> Reply {
    match crate::command::docs::redis_doc(spec.name) {
        Some(doc) => doc.clone(),
        None => doc_entry(spec),
    }
}

fn command_docs(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut out = Vec::new();
    if a.len() == 2 {
        for s in ctx.srv.commands.top_level() {
            out.push((Reply::bulk_str(s.name), full_doc(s)));
        }
    } else {
        for n in &a[2..] {
            if let Some((p, s)) = find_spec(ctx, n) {
                let name = match p {
                    Some(p) => format!("{}|{}", p.name, s.name),
                    None => s.name.to_string(),
                };
                let doc = if p.is_none() {
                    full_doc(s)
                } else {
                    doc_entry(s)
                };
                out.push((Reply::bulk_str(&name), doc));
            }
        }
    }
    Ok(Reply::Map(out))
}

fn command_list(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut filter: Option<(String, Bytes)> = None;
    if a.len() > 2 {
        if a.len() != 5 || !eq(&a[2], "filterby") {
            return Err(CmdError::Syntax);
        }
        let kind = String::from_utf8_lossy(&a[3]).to_ascii_lowercase();
        if !matches!(kind.as_str(), "module" | "aclcat" | "pattern") {
            return Err(CmdError::Syntax);
        }
        filter = Some((kind, a[4].clone()));
    }
    let mut out = Vec::new();
    for (parent, spec) in ctx.srv.commands.all.iter() {
        let name = match parent {
            Some(p) => format!("{}|{}", p.name, spec.name),
            None => spec.name.to_string(),
        };
        let keep = match &filter {
            None => true,
            Some((k, v)) if k == "pattern" => crate::glob::glob_match(v, name.as_bytes(), true),
            Some((k, v)) if k == "aclcat" => {
                let want = format!("@{}", String::from_utf8_lossy(v).to_ascii_lowercase());
                acl_categories(&name, spec).iter().any(|c| match c {
                    Reply::Status(s) => *s == want,
                    Reply::StatusOwned(s) => *s == want,
                    _ => false,
                })
            }
            Some(_) => false,
        };
        if keep {
            out.push(Reply::bulk_str(&name));
        }
    }
    Ok(Reply::Array(out))
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS: the command asked about, checked as
/// Redis checks it (known, arity), and its keys as `keys_of` finds them; an
/// error when it names none.
fn keys_of_command<'a, K>(
    ctx: &Ctx,
    a: &'a [Bytes],
    keys_of: impl FnOnce(&Ctx, crate::command::Resolved, &[Bytes]) -> Vec<K>,
) -> CmdResult<(&'a [Bytes], Vec<K>)> {
    let args = &a[2..];
    let Some(r) = ctx.srv.commands.resolve(args) else {
        return Err(CmdError::custom(
            crate::error::msg::INVALID_COMMAND_SPECIFIED,
        ));
    };
    let entry = ctx.srv.acl.commands.entry(r.stat);
    if !crate::command::keyspecs::has_keys(r.spec, entry.meta) {
        return Err(CmdError::custom(
            crate::error::msg::THE_COMMAND_HAS_NO_KEY_ARGUMENTS,
        ));
    }
    if !r.spec.arity_ok(args.len()) {
        return Err(CmdError::custom(
            crate::error::msg::INVALID_NUMBER_OF_ARGUMENTS_SPECIFIED_FOR,
        ));
    }
    let keys = keys_of(ctx, r, args);
    if keys.is_empty() && !crate::command::keyspecs::no_mandatory_keys(&r.full_name()) {
        return Err(CmdError::custom(
            crate::error::msg::INVALID_ARGUMENTS_SPECIFIED_FOR_COMMAND,
        ));
    }
    Ok((args, keys))
}

/// COMMAND GETKEYS: the keys Redis's key specs (or getkeys procedures)
/// find, as GETKEYSANDFLAGS without the flags.
fn command_getkeys(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let (args, keys) = keys_of_command(ctx, a, |ctx, r, args| {
        ctx.srv.acl.commands.entry(r.stat).key_refs(args)
    })?;
    Ok(Reply::Array(
        keys.into_iter()
            .map(|k| Reply::Bulk(args[k.pos].clone()))
            .collect(),
    ))
}

/// COMMAND GETKEYSANDFLAGS: each key with how the command uses it, from
/// Redis's key specs (`command::keyspecs`).
fn command_getkeysandflags(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let (args, keys): (_, Vec<KeyRef>) = keys_of_command(ctx, a, |ctx, r, args| {
        ctx.srv.acl.commands.entry(r.stat).key_refs(args)
    })?;
    Ok(Reply::Array(
        keys.into_iter()
            .map(|k| {
                let flags = kflag::NAMES
                    .iter()
                    .filter(|(bit, _)| k.flags & bit != 0)
                    .map(|(_, name)| Reply::Status(name))
                    .collect();
                Reply::Array(vec![Reply::Bulk(args[k.pos].clone()), Reply::Set(flags)])
            })
            .collect(),
    ))
}

fn command_help(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    ))
}

// ---- DEBUG ---------------------------------------------------------------

/// DEBUG POPULATE count [prefix] [size]: `prefix:N` = `value:N` (cut or
/// zero-padded to `size`), skipping keys that exist, as Redis's.
fn debug_populate(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let positive = |b: &Bytes| -> CmdResult<u64> {
        match int(b)? {
            n if n >= 0 => Ok(n as u64),
            _ => Err(CmdError::OutOfRangeMustBePositive),
        }
    };
    let count = positive(&a[2])?;
    let prefix = a.get(3).map_or(&b"key"[..], |p| p.as_ref()).to_vec();
    let size = match a.get(4) {
        Some(s) => Some(positive(s)? as usize),
        None => None,
    };
    for j in 0..count {
        let mut key = prefix.clone();
        key.extend_from_slice(format!(":{j}").as_bytes());
        let key = Bytes::from(key);
        if ctx.exists(&key) {
            continue;
        }
        let mut value = format!("value:{j}").into_bytes();
        if let Some(size) = size {
            value.resize(size, 0);
        }
        ctx.set_value(&key, crate::keyspace::Value::Str(Bytes::from(value)), false);
    }
    Ok(Reply::Ok)
}

fn debug(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    if !ctx
        .srv
        .config
        .allows("enable-debug-command", ctx.client.handle.is_local)
    {
        return Err(CmdError::DebugNotAllowed);
    }
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        "sleep" if a.len() == 3 => {
            let secs = float(&a[2])?;
            // DEBUG SLEEP blocks the server thread in Redis; here it blocks this client only.
            std::thread::sleep(Duration::from_secs_f64(secs.clamp(0.0, 3600.0)));
            Ok(Reply::Ok)
        }
        "populate" if (3..=5).contains(&a.len()) => debug_populate(ctx, a),
        "segfault" if a.len() == 2 => crate::crash::segfault(),
        "set-skip-checksum-validation" if a.len() == 3 => {
            let on = int(&a[2])? != 0;
            ctx.srv
                .persist
                .skip_checksum_validation
                .store(on, Ordering::Relaxed);
            Ok(Reply::Ok)
        }
        "set-active-expire" if a.len() == 3 => {
            let on = int(&a[2])? != 0;
            ctx.srv.config.active_expire.store(on, Ordering::Relaxed);
            Ok(Reply::Ok)
        }
        "object" if a.len() == 3 => {
            let now = ctx.now_s;
            let Some(e) = ctx.lookup(&a[2]) else {
                return Err(CmdError::NoSuchKey);
            };
            let enc = encoding_of(&e.value);
            let extra = match &e.value {
                crate::keyspace::Value::List(l) => format!(" ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:0 ql_uncompressed_size:{}", l.node_count(), l.len() as f64 / l.node_count().max(1) as f64, l.node_capacity(), l.len()),
                _ => String::new(),
            };
            Ok(Reply::StatusOwned(format!(
                "Value at:0x7f0000000000 refcount:1 encoding:{enc} serializedlength:{} lru:{} lru_seconds_idle:{}{extra}",
                1,
                e.touched,
                (now as i64 - e.touched as i64).max(0)
            )))
        }
        "pause-cron" if a.len() == 3 => {
            ctx.srv
                .cron_paused
                .store(int(&a[2])? != 0, Ordering::Relaxed);
            Ok(Reply::Ok)
        }
        "jmap" | "quicklist-packed-threshold" | "listpack" | "stringmatch-len" | "replybuffer" | "set-disable-deny-scripts" | "dict-resizing" => Ok(Reply::Ok),
        "protocol" if a.len() == 3 => debug_protocol(&a[2], ctx.client.resp),
        "change-repl-id" => {
            ctx.srv.repl.change_replid();
            Ok(Reply::Ok)
        }
        "digest" if a.len() == 2 => Ok(Reply::StatusOwned(debug_digest(ctx).hex())),
        "digest-value" => {
            let db = ctx.client.db;
            let mut out = Vec::new();
            for key in &a[2..] {
                let d = match ctx.db_of(db, key).get(key) {
                    Some(e) => {
                        let mut d = crate::persist::digest::value_digest(&e.value);
                        if e.expire_at != 0 {
                            d.mix(&e.expire_at.to_le_bytes());
                        }
                        d
                    }
                    None => Default::default(),
                };
                out.push(Reply::StatusOwned(d.hex()));
            }
            Ok(Reply::Array(out))
        }
        "reload" => crate::persist::debug_reload(ctx, &a[2..]),
        // Run by `exec::run` once this command's shard locks are released:
        // replaying the AOF executes commands, which lock shards themselves.
        "aof-flush-sleep" if a.len() == 3 => {
            let us = int(&a[2])?.max(0) as u64;
            ctx.srv.aof.flush_sleep_us.store(us, Ordering::Relaxed);
            Ok(Reply::Ok)
        }
        "loadaof" if a.len() == 2 => {
            ctx.client.debug_loadaof = true;
            Ok(Reply::Ok)
        }
        "config-rewrite-force-all" if a.len() == 2 => {
            // Without a config file Redis's fopen(NULL) fails with EFAULT.
            let result = match ctx.srv.config_file.as_deref() {
                Some(path) => crate::config::rewrite(
                    &ctx.srv.config,
                    path,
                    true,
                    ctx.srv.acl.config_lines(&ctx.srv.config).as_deref(),
                )
                    .map_err(|e| crate::config::strerror(&e)),
                None => Err("Bad address".to_string()),
            };
            match result {
                Ok(()) => Ok(Reply::Ok),
                Err(e) => Err(crate::error::msg::config_rewrite_force_all_failed(&e)),
            }
        }
        "log" if a.len() == 3 => {
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&a[2]));
            Ok(Reply::Ok)
        }
        "help" => Ok(help_reply(
            "DEBUG",
            &[
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not accessed.",
                "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
                "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
                "OBJECT <key>",
                "    Show low level info about the key and associated value.",
                "PROTOCOL <type>",
                "    Reply with a test value of the specified type.",
                "LOG <message>",
                "    Write <message> to the server log.",
            ],
        )),
        _ => Err(crate::error::msg::subcommand_syntax(
            &String::from_utf8_lossy(&a[1]),
            "DEBUG",
        )),
    }
}

/// DEBUG PROTOCOL: one reply of each RESP3 type, as Redis's test suite expects.
/// DEBUG DIGEST over every database (DEBUG holds every shard).
fn debug_digest(ctx: &mut Ctx) -> crate::persist::digest::Digest {
    let databases = ctx.srv.keyspace.databases();
    let shards: Vec<&mut crate::keyspace::Shard> = ctx.locks.iter_mut().collect();
    let per_db = (0..databases).map(|i| {
        let entries: Vec<(&[u8], &crate::keyspace::Entry)> = shards
            .iter()
            .flat_map(|s| s.dbs[i].map.iter().map(|(k, e)| (k.as_ref(), e)))
            .collect();
        (i, entries)
    });
    crate::persist::digest::dataset_digest(per_db)
}

fn debug_protocol(kind: &[u8], resp: u8) -> CmdResult<Reply> {
    let k = String::from_utf8_lossy(kind).to_ascii_lowercase();
    Ok(match k.as_str() {
        "string" => Reply::bulk_str("Hello World"),
        "integer" => Reply::Int(12345),
        // Redis's DEBUG PROTOCOL double is exactly 3.141, not pi.
        #[allow(clippy::approx_constant)]
        "double" => Reply::Double(3.141),
        "bignum" => Reply::BigNumber("1234567999999999999999999999999999999".into()),
        "null" => Reply::Nil,
        "array" => Reply::Array((0..3).map(Reply::Int).collect()),
        "set" => Reply::Set((0..3).map(Reply::Int).collect()),
        "map" => Reply::Map(
            (0..3)
                .map(|i| (Reply::Int(i), Reply::Bool(i == 1)))
                .collect(),
        ),
        // Attributes and pushes are not replies: a real reply follows them.
        "attrib" => {
            let reply = Reply::bulk_str("Some real reply following the attribute");
            if resp < 3 {
                reply
            } else {
                let attr = Bytes::from_static(
                    b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n",
                );
                Reply::Many(vec![Reply::Raw(attr), reply])
            }
        }
        "push" => Reply::Many(vec![
            Reply::Push(vec![Reply::bulk_str("server-cpu-usage"), Reply::Int(42)]),
            Reply::bulk_str("Some real reply following the push reply"),
        ]),
        "true" => Reply::Bool(true),
        "false" => Reply::Bool(false),
        "verbatim" => Reply::Verbatim("txt", Bytes::from_static(b"This is a verbatim\nstring")),
        _ => {
            return Err(CmdError::custom(
                crate::error::msg::WRONG_PROTOCOL_TYPE_NAME_PLEASE_USE,
            ))
        }
    })
}

// ---- INFO ----------------------------------------------------------------

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

fn info(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut wanted: Vec<String> = Vec::new();
    for arg in &a[1..] {
        let s = String::from_utf8_lossy(arg).to_ascii_lowercase();
        match s.as_str() {
            "all" | "everything" => wanted.extend(ALL_SECTIONS.iter().map(|s| s.to_string())),
            "default" => wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string())),
            _ => wanted.push(s),
        }
    }
    if wanted.is_empty() {
        wanted = DEFAULT_SECTIONS.iter().map(|s| s.to_string()).collect();
    }
    let mut out = String::new();
    for section in ALL_SECTIONS {
        if !wanted.iter().any(|w| w == section) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        render_section(ctx, section, &mut out);
    }
    Ok(Reply::Verbatim("txt", Bytes::from(out)))
}

fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{}B", n as u64)
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", n / 1024.0 / 1024.0 / 1024.0)
    }
}

fn render_section(ctx: &mut Ctx, section: &str, out: &mut String) {
    let srv = ctx.srv;
    let uptime = srv.started.elapsed().as_secs();
    let stats = &srv.stats;
    let w = out;
    match section {
        "server" => {
            let _ = write!(
                w,
                "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\ncinnabar_version:{}\r\nshards:{}\r\nhttp_port:{}\r\n",
                crate::REDIS_VERSION,
                std::env::consts::OS,
                std::env::consts::ARCH,
                std::process::id(),
                srv.run_id,
                srv.port.load(Ordering::Relaxed),
                crate::server::unix_us(),
                uptime,
                uptime / 86400,
                srv.config.hz.load(Ordering::Relaxed),
                srv.config.hz.load(Ordering::Relaxed),
                srv.clock_secs(),
                srv.executable,
                srv.config_file.clone().unwrap_or_default(),
                crate::VERSION,
                srv.keyspace.shard_count(),
                srv.http.port(),
            );
            if srv.shutdown_ctl.is_pending() {
                let _ = write!(
                    w,
                    "shutdown_in_milliseconds:{}\r\n",
                    srv.shutdown_ctl.in_milliseconds()
                );
            }
        }
        "clients" => {
            let _ = write!(
                w,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:{}\r\nclients_in_timeout_table:{}\r\n",
                // Replicas are not counted as clients (Redis: clients - slaves).
                srv.clients.count().saturating_sub(srv.repl.replica_count()),
                srv.config.maxclients.load(Ordering::Relaxed),
                srv.blocking.blocked_clients(),
                srv.tracking.clients(),
                srv.blocking.clients_in_timeout_table(),
            );
        }
        "memory" => {
            let used = crate::alloc::allocated() as u64;
            let rss = crate::alloc::rss_bytes();
            let peak = crate::alloc::peak() as u64;
            let total_mem = crate::alloc::total_system_memory();
            let scripts = srv.scripts.count();
            let libs = srv.functions.snapshot();
            let (functions, libraries) = (libs.function_count(), libs.library_count());
            let repl_buf = srv.repl.buffered_bytes();
            let _ = write!(
                w,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_overhead:0\r\nused_memory_startup:0\r\nused_memory_dataset:{used}\r\ntotal_system_memory:{total_mem}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:0\r\nused_memory_scripts:0\r\nnumber_of_cached_scripts:{scripts}\r\nnumber_of_functions:{functions}\r\nnumber_of_libraries:{libraries}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nmem_fragmentation_ratio:{:.2}\r\nmem_not_counted_for_evict:0\r\nmem_clients_slaves:{repl_buf}\r\nmem_total_replication_buffers:{repl_buf}\r\nmem_allocator:libc\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:{}\r\n",
                human_bytes(used),
                human_bytes(rss),
                human_bytes(peak),
                human_bytes(total_mem),
                srv.config.get_int("maxmemory"),
                human_bytes(srv.config.get_int("maxmemory") as u64),
                srv.config.get("maxmemory-policy").unwrap_or_default(),
                if used > 0 { rss as f64 / used as f64 } else { 0.0 },
                srv.stats.lazyfreed_objects.load(Ordering::Relaxed),
            );
        }
        "persistence" => {
            let _ = write!(
                w,
                "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:-1\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\n{}",
                srv.dirty_total(),
                srv.persist.bgsave_in_progress.load(Ordering::Relaxed) as u8,
                srv.last_save.load(Ordering::Relaxed),
                if srv.persist.last_bgsave_ok.load(Ordering::Relaxed) { "ok" } else { "err" },
                srv.persist.last_bgsave_secs.load(Ordering::Relaxed),
                srv.persist.saves.load(Ordering::Relaxed),
                srv.persist.keys_expired_on_load.load(Ordering::Relaxed),
                srv.persist.keys_loaded.load(Ordering::Relaxed),
                srv.aof.info(),
            );
        }
        "stats" => {
            let (kbps_in, kbps_out) = stats.net_kbps();
            let (repl_in, repl_out) = stats.repl_kbps();
            let _ = write!(
                w,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:{}\r\ntotal_net_repl_output_bytes:{}\r\ninstantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\ninstantaneous_input_repl_kbps:{:.2}\r\ninstantaneous_output_repl_kbps:{:.2}\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:{}\r\nevicted_clients:{}\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:{}\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
                stats.connections_received.load(Ordering::Relaxed),
                stats.sum(|h| &h.commands_processed),
                stats.ops_per_sec(),
                stats.sum(|h| &h.net_input_bytes),
                stats.sum(|h| &h.net_output_bytes),
                stats.sum(|h| &h.net_repl_input_bytes),
                stats.sum(|h| &h.net_repl_output_bytes),
                kbps_in,
                kbps_out,
                repl_in,
                repl_out,
                stats.rejected_connections.load(Ordering::Relaxed),
                stats.sync_full.load(Ordering::Relaxed),
                stats.sync_partial_ok.load(Ordering::Relaxed),
                stats.sync_partial_err.load(Ordering::Relaxed),
                stats.expired_keys.load(Ordering::Relaxed),
                stats.evicted_keys.load(Ordering::Relaxed),
                stats.evicted_clients.load(Ordering::Relaxed),
                stats.sum(|h| &h.keyspace_hits),
                stats.sum(|h| &h.keyspace_misses),
                srv.pubsub.channel_count(crate::pubsub::Kind::Channel),
                srv.pubsub.numpat(),
                srv.pubsub.channel_count(crate::pubsub::Kind::Shard),
                srv.persist.forks.load(Ordering::Relaxed),
                srv.tracking.keys(),
                srv.tracking.items(),
                srv.tracking.prefixes(),
                stats.error_replies.load(Ordering::Relaxed),
                stats.sum(|h| &h.reads_processed),
                stats.sum(|h| &h.writes_processed),
            );
        }
        "replication" => w.push_str(&srv.repl.info(
            srv.config.get_int("repl-backlog-size"),
            srv.config.get("replica-read-only").as_deref() == Some("yes"),
            srv.config.get_int("replica-priority"),
        )),
        "cpu" => {
            let (user, sys) = crate::alloc::cpu_times();
            let _ = write!(
                w,
                "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{sys:.6}\r\nused_cpu_user_main_thread:{user:.6}\r\n"
            );
        }
        "modules" => w.push_str("# Modules\r\n"),
        "commandstats" => {
            w.push_str("# Commandstats\r\n");
            for (i, (parent, spec)) in srv.commands.all.iter().enumerate() {
                let (calls, usec, rejected, failed) = stats.command_totals(i);
                if calls == 0 && rejected == 0 && failed == 0 {
                    continue;
                }
                let name = match parent {
                    Some(p) => format!("{}|{}", p.name, spec.name),
                    None => spec.name.to_string(),
                };
                let per = if calls > 0 {
                    usec as f64 / calls as f64
                } else {
                    0.0
                };
                let _ = write!(w, "cmdstat_{name}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n");
            }
        }
        "errorstats" => {
            w.push_str("# Errorstats\r\n");
            let errors = stats.errors_by_code.lock();
            let mut codes: Vec<_> = errors.iter().collect();
            codes.sort();
            for (code, n) in codes {
                let _ = write!(w, "errorstat_{code}:count={n}\r\n");
            }
        }
        "latencystats" => {
            w.push_str("# Latencystats\r\n");
            let wanted: Vec<f64> = srv
                .config
                .get("latency-tracking-info-percentiles")
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            for (i, (parent, spec)) in srv.commands.all.iter().enumerate() {
                let (_, buckets) = stats.histogram(i);
                let Some(line) = crate::latency::percentile_line(&buckets, &wanted) else {
                    continue;
                };
                let name = match parent {
                    Some(p) => format!("{}|{}", p.name, spec.name),
                    None => spec.name.to_string(),
                };
                let _ = write!(w, "latency_percentiles_usec_{name}:{line}\r\n");
            }
        }
        "cluster" => w.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            w.push_str("# Keyspace\r\n");
            let dbs = srv.keyspace.databases();
            let mut counts = vec![(0usize, 0usize); dbs];
            ctx.each_shard(|s| {
                for (i, db) in s.dbs.iter().enumerate() {
                    counts[i].0 += db.len();
                    counts[i].1 += db.expires_len();
                }
            });
            for (i, (keys, expires)) in counts.into_iter().enumerate() {
                if keys > 0 {
                    let _ = write!(w, "db{i}:keys={keys},expires={expires},avg_ttl=0\r\n");
                }
            }
        }
        _ => {}
    }
}
