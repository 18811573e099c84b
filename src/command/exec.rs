//! Executing one command: resolution, the connection-state rules, locking, stats.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{flags, pipeline, Ctx, Keys, Resolved};
use std::sync::Arc;

use crate::blocking::{self, Waiter};
use crate::client::{Client, MultiState};
use crate::error::CmdError;
use crate::keyspace::Locked;
use crate::reply::Reply;
use crate::server::Server;

/// What became of a request.
pub enum Outcome {
    Reply(Reply),
    /// The client is queued on its keys; the connection waits for the reply.
    Block(Arc<Waiter>),
    /// CLIENT PAUSE holds the command: the connection runs it again once
    /// the pause is over.
    Postponed(Vec<Bytes>),
}

impl From<Reply> for Outcome {
    fn from(r: Reply) -> Outcome {
        Outcome::Reply(r)
    }
}

/// Runs one client request.
pub fn execute(srv: &Server, client: &mut Client, args: Vec<Bytes>, now_ms: u64) -> Outcome {
    // Decided once: a command that starts untracked leaves nothing to undo.
    let tracking = srv.tracking.active();
    if tracking {
        crate::tracking::enter(client.id());
    }
    let client_cmd = client.tracking.is_some()
        && args
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case(b"client"));
    let outcome = match execute_inner(srv, client, args, now_ms) {
        Ok(outcome) => outcome,
        Err(reply) => Outcome::Reply(reply),
    };
    if client.caching && client.multi.is_none() && !client_cmd {
        // CLIENT CACHING lasts for the next command or transaction.
        client.caching = false;
    }
    // Also when tracking began inside this command (EXEC of CLIENT TRACKING
    // ON BCAST and a write): its broadcasts leave now.
    if tracking || srv.tracking.active() {
        srv.tracking.flush_broadcasts(srv);
        crate::tracking::enter(0);
    }
    outcome
}

fn execute_inner(
    srv: &Server,
    client: &mut Client,
    args: Vec<Bytes>,
    now_ms: u64,
) -> Result<Outcome, Reply> {
    let Some(resolved) = srv.commands.resolve(&args) else {
        pipeline::flag_multi_error(client);
        srv.stats.record_error("ERR");
        return Err(CmdError::unknown_command(&args[0], &args[1..]).into());
    };
    client
        .handle
        .last_cmd
        .store(resolved.stat, Ordering::Relaxed);
    let admitted = pipeline::admit(&mut pipeline::Gate {
        srv,
        client,
        cmd: resolved,
        args: &args,
        flags: pipeline::effective_flags(srv, resolved, &args),
    });
    if let Err(reply) = admitted {
        if std::mem::take(&mut client.postponed) {
            return Ok(Outcome::Postponed(args));
        }
        return Err(reply);
    }
    Ok(run(srv, client, resolved, args, now_ms))
}

/// Locks what the command needs, calls it, then serves blocked clients and
/// publishes notifications after the locks are released.
fn run(srv: &Server, client: &mut Client, r: Resolved, args: Vec<Bytes>, now_ms: u64) -> Outcome {
    let before = crate::contention::snapshot();
    let locks = lock_for(srv, r, &args, client.db);
    let mut ctx = Ctx::new(srv, client, locks, now_ms);
    let reply = call(&mut ctx, r, &args);
    let waiter = ctx
        .block
        .take()
        .map(|req| blocking::register(srv, &mut ctx.locks, ctx.client, req, r, args));
    if !ctx.prop.is_empty() {
        // Still under the command's shard locks: per key, the stream order is
        // the order of the effects.
        let prop = std::mem::take(&mut ctx.prop);
        ctx.client.repl.woff = if ctx.prop_targets.is_empty() {
            srv.repl.feed(&prop)
        } else {
            srv.repl
                .feed_targeted(&prop, &std::mem::take(&mut ctx.prop_targets))
        };
    }
    let ready = std::mem::take(&mut ctx.ready_keys);
    let mut events = std::mem::take(&mut ctx.events);
    // Clients blocked on keys the command readied are served before its
    // locks go: no other command runs on those keys in between.
    let mut leftover = blocking::Leftover::default();
    if !ready.is_empty() {
        let mut locks = std::mem::replace(&mut ctx.locks, crate::keyspace::Locked::none());
        leftover = blocking::serve_ready(srv, &mut locks, ready, &mut events);
    }
    drop(ctx);
    if std::mem::take(&mut client.debug_loadaof) {
        if let Some(Err(e)) = srv.arc().map(|me| crate::persist::aof::debug_loadaof(&me)) {
            // Redis's DEBUG LOADAOF exits when the files do not load: the
            // dataset is already gone.
            tracing::error!("{e}");
            std::process::exit(1);
        }
        tracing::warn!("Append Only File loaded by DEBUG LOADAOF");
    }
    if !leftover.is_empty() {
        blocking::serve_ready_unlocked(srv, leftover, &mut events);
    }
    if !events.is_empty() {
        srv.pubsub.publish_key_events(srv, &events);
    }
    record_contention(srv, r.stat, before);
    match waiter {
        Some(w) => Outcome::Block(w),
        None => Outcome::Reply(reply),
    }
}

/// The contention audit: what the whole command took, locking included,
/// added to its statistics (this worker's stripe; a shard lock taken
/// without waiting, the single-key case, costs one add).
fn record_contention(srv: &Server, stat: usize, before: (u64, u64, u64)) {
    let (global, shards, contended) = crate::contention::snapshot();
    let cmd = &srv.stats.hot().per_command[stat];
    if shards > before.1 {
        cmd.shard_locks.add(shards - before.1);
    }
    if global > before.0 {
        cmd.global_locks.add(global - before.0);
        cmd.global_lock_calls.add(1);
    }
    if contended > before.2 {
        cmd.contended_waits.add(contended - before.2);
    }
}

/// The shards a command needs: those of its keys, and those the clients
/// blocked on its keys need to be served (`blocking::shards_to_serve`), so
/// that the clients a write unblocks are served under its locks.
fn lock_for<'a>(srv: &'a Server, r: Resolved, args: &[Bytes], db: usize) -> Locked<'a> {
    let spec = r.spec;
    if spec.has(flags::ALL_SHARDS) || r.parent.is_some_and(|p| p.has(flags::ALL_SHARDS)) {
        return srv.keyspace.lock_all();
    }
    // Single-key commands: one shard, nothing allocated (unless clients are
    // blocked on the key and one of them needs another shard).
    if let Keys::Range(first, last, _) = spec.keys {
        if first > 0 && first == last && (first as usize) < args.len() {
            let key = &args[first as usize];
            let locks = srv.keyspace.lock_one(srv.keyspace.shard_of(key));
            if !spec.has(flags::WRITE) {
                return locks;
            }
            return with_waiter_shards(srv, locks, &[key], db);
        }
    }
    let positions = spec.key_positions(args);
    if positions.is_empty() {
        return Locked::none();
    }
    let keys: Vec<&Bytes> = positions.iter().map(|&i| &args[i]).collect();
    let locks = srv
        .keyspace
        .lock(keys.iter().map(|k| srv.keyspace.shard_of(k)).collect());
    if !spec.has(flags::WRITE) {
        return locks;
    }
    with_waiter_shards(srv, locks, &keys, db)
}

/// `locks` grown by whatever the clients blocked on `keys` need, relocking
/// (in ascending order) until it holds all of it: a waiter that blocks in
/// between can only add to what is needed, and nothing has run yet.
fn with_waiter_shards<'a>(
    srv: &'a Server,
    mut locks: Locked<'a>,
    keys: &[&Bytes],
    db: usize,
) -> Locked<'a> {
    loop {
        let extra = blocking::shards_to_serve(srv, &mut locks, db, keys);
        if extra.is_empty() {
            return locks;
        }
        let mut shards = locks.indices();
        shards.extend(extra);
        drop(locks);
        locks = srv.keyspace.lock(shards);
    }
}

/// Adds the command to the slow log if it ran long enough (one relaxed
/// load otherwise). EXEC is not logged: the commands it ran are.
pub(crate) fn slow_log(ctx: &Ctx, r: Resolved, args: &[Bytes], micros: u64) {
    let config = &ctx.srv.config;
    let threshold = config.slowlog_slower_than.load(Ordering::Relaxed);
    if threshold < 0 {
        return;
    }
    if (micros as i64) < threshold
        || r.spec.has(flags::SKIP_SLOWLOG)
        || r.parent.is_some_and(|p| p.has(flags::SKIP_SLOWLOG))
    {
        return;
    }
    let name = ctx
        .client
        .handle
        .info
        .lock()
        .name
        .clone()
        .unwrap_or_default();
    ctx.srv.slowlog.record(
        threshold,
        config.slowlog_max_len.load(Ordering::Relaxed),
        micros,
        args,
        &crate::server::redacted_args(args),
        &ctx.client.handle.addr,
        name,
    );
}

/// Calls the handler with statistics; used directly by EXEC for queued commands.
pub fn call(ctx: &mut Ctx, r: Resolved, args: &[Bytes]) -> Reply {
    let start = crate::clock::ticks();
    let dirty_before = ctx.dirty;
    if ctx.srv.repl.is_replica() {
        ctx.client.repl.write_cmd = r.spec.has(flags::WRITE);
    }
    let mut result = (r.spec.handler)(ctx, args);
    if std::mem::take(&mut ctx.undeclared_key) {
        result = Err(CmdError::custom(crate::error::msg::UNDECLARED_KEY));
    }
    if let Some(flags) = ctx.client.tracking {
        if r.spec.has(flags::READONLY) && flags.remembers(ctx.client.caching) {
            remember_keys(ctx, r, args);
        }
    }
    // Write subcommands (XGROUP CREATE/SETID/…) propagate like commands.
    if ctx.srv.repl.active() && (r.parent.is_none() || r.spec.has(flags::WRITE)) {
        if let Ok(reply) = &result {
            if r.spec.has(flags::WRITE) || r.spec.has(flags::PUBSUB) {
                let dirty = ctx.dirty != dirty_before;
                // Subcommands (XGROUP CREATE…) have no rewrite: sent as they came.
                let name = if r.parent.is_none() { r.spec.name } else { "" };
                crate::repl::propagate::record(ctx, name, args, reply, dirty);
            }
        }
    }
    let spent = crate::clock::ticks().saturating_sub(start);
    let stats = &ctx.srv.stats;
    if ctx.srv.monitoring.load(Ordering::Relaxed)
        && !r.spec.has(flags::ADMIN | flags::SKIP_MONITOR)
        && !r.parent.is_some_and(|p| p.has(flags::ADMIN))
    {
        // A script's commands show as sent by `lua`, as in Redis.
        let addr = if ctx.in_script {
            "lua"
        } else {
            &ctx.client.handle.addr
        };
        ctx.srv.feed_monitors(ctx.client.db, addr, args);
    }
    let micros = crate::clock::ticks_to_usec(spent);
    slow_log(ctx, r, args, micros);
    let hot = stats.hot();
    hot.commands_processed.add(1);
    let cmd = &hot.per_command[r.stat];
    cmd.calls.add(1);
    cmd.ticks.add(spent);
    if ctx.srv.config.latency_tracking.load(Ordering::Relaxed) {
        cmd.histogram[crate::latency::bucket(micros)].add(1);
    }
    let latency_ms = ctx.srv.config.latency_threshold.load(Ordering::Relaxed);
    if latency_ms > 0 && micros / 1000 >= latency_ms {
        let event = if r.spec.has(flags::FAST) {
            "fast-command"
        } else {
            "command"
        };
        ctx.srv.latency.sample(latency_ms, event, micros / 1000);
    }
    match result {
        Ok(reply) => {
            if let Reply::Error(e) = &reply {
                if std::mem::take(&mut ctx.error_counted) {
                    stats.failed_only(r.stat);
                } else {
                    stats.fail(r.stat, e);
                }
            }
            reply
        }
        Err(e) => {
            let text = e.to_string();
            stats.fail(r.stat, &text);
            Reply::Error(text)
        }
    }
}

/// Client-side caching: the keys a read-only command served are remembered
/// for its client (Redis's trackingRememberKeys from call). A command run by
/// a script remembers the script's declared keys instead, and the read-only
/// script commands themselves remember nothing (only what they run counts).
fn remember_keys(ctx: &mut Ctx, r: Resolved, args: &[Bytes]) {
    let id = ctx.client.id();
    let tracking = &ctx.srv.tracking;
    if ctx.in_script {
        for key in &ctx.script_keys {
            tracking.remember(key, id);
        }
        return;
    }
    if r.spec.has(flags::SCRIPT_FLAGS) || r.spec.has(flags::PUBSUB) {
        return;
    }
    for key in ctx.srv.acl.commands.entry(r.stat).key_refs(args) {
        tracking.remember(&args[key.pos], id);
    }
}

/// Runs a transaction's queued commands inside EXEC, which holds every shard.
fn exec_acl_refusal(
    ctx: &mut Ctx,
    r: Resolved,
    args: &[Bytes],
    denied: crate::acl::Denied,
) -> Reply {
    use crate::acl::Reason;
    use crate::error::msg;
    pipeline::log_acl_denial(
        ctx.srv,
        ctx.client,
        r,
        args,
        denied,
        crate::acl::Context::Multi,
    );
    let reason = match denied.reason {
        Reason::Key => msg::EXEC_DENIED_KEY,
        Reason::Channel => msg::EXEC_DENIED_CHANNEL,
        Reason::Command | Reason::Auth => msg::EXEC_DENIED_CMD,
    };
    Reply::Error(msg::noperm_exec(reason))
}

pub fn run_queued(ctx: &mut Ctx, multi: MultiState) -> Reply {
    let mut replies = Vec::with_capacity(multi.queued.len());
    ctx.client.in_exec = true;
    for args in multi.queued {
        let reply = match ctx.srv.commands.resolve(&args) {
            Some(r) => match pipeline::acl_denial(ctx.srv, ctx.client, r, &args) {
                // Permissions are checked again at EXEC: they may have
                // changed since the command was queued.
                Some(denied) => exec_acl_refusal(ctx, r, &args, denied),
                None => call(ctx, r, &args),
            },
            None => CmdError::unknown_command(&args[0], &args[1..]).into(),
        };
        replies.push(reply);
    }
    ctx.client.in_exec = false;
    Reply::Array(replies)
}
