//! Executing one command: resolution, the connection-state rules, locking, stats.

use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;

use super::{flags, Ctx, Resolved};
use crate::blocking::BlockRequest;
use crate::client::{Client, MultiState};
use crate::error::CmdError;
use crate::keyspace::Locked;
use crate::reply::Reply;
use crate::server::Server;

/// What became of a request.
pub enum Outcome {
    Reply(Reply),
    /// The command found nothing to serve: the connection queues the client.
    Block(BlockRequest, Resolved, Vec<Bytes>),
}

impl From<Reply> for Outcome {
    fn from(r: Reply) -> Outcome {
        Outcome::Reply(r)
    }
}

/// Runs one client request.
pub fn execute(srv: &Server, client: &mut Client, args: Vec<Bytes>) -> Outcome {
    match execute_inner(srv, client, args) {
        Ok(outcome) => outcome,
        Err(reply) => Outcome::Reply(reply),
    }
}

fn execute_inner(srv: &Server, client: &mut Client, args: Vec<Bytes>) -> Result<Outcome, Reply> {
    let resolved = match srv.commands.resolve(&args) {
        Some(r) => r,
        None => {
            flag_multi_error(client);
            srv.stats.record_error("ERR");
            return Err(CmdError::unknown_command(&args[0], &args[1..]).into());
        }
    };
    let spec = resolved.spec;
    client.handle.last_cmd.store(resolved.stat, Ordering::Relaxed);
    if !spec.arity_ok(args.len()) {
        flag_multi_error(client);
        srv.stats.reject(resolved.stat, "ERR");
        return Err(CmdError::WrongArity(resolved.full_name()).into());
    }
    if !client.authenticated && !spec.has(flags::NO_AUTH) {
        flag_multi_error(client);
        srv.stats.reject(resolved.stat, "NOAUTH");
        return Err(CmdError::NoAuth.into());
    }
    if client.in_resp2_pubsub() && !spec.has(flags::SUBSCRIBED_OK) {
        srv.stats.reject(resolved.stat, "ERR");
        return Err(
            CmdError::SubscribedContext {
                cmd: resolved.full_name(),
            }
            .into(),
        );
    }
    if let Some(multi) = client.multi.as_mut() {
        let name = spec.name;
        let transaction_control = resolved.parent.is_none()
            && matches!(name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset");
        if !transaction_control {
            if spec.has(flags::NO_MULTI) {
                multi.aborted = true;
                srv.stats.reject(resolved.stat, "ERR");
                return Err(CmdError::NotAllowedInMulti.into());
            }
            multi.queued.push(args);
            // CLIENT LIST's multi= is the number of queued commands.
            client.handle.info.lock().multi = multi.queued.len() as i64;
            return Ok(Reply::Status("QUEUED").into());
        }
    }
    Ok(run(srv, client, resolved, args))
}

fn flag_multi_error(client: &mut Client) {
    if let Some(m) = client.multi.as_mut() {
        m.aborted = true;
    }
}

/// Locks what the command needs, calls it, then serves blocked clients and
/// publishes notifications after the locks are released.
fn run(srv: &Server, client: &mut Client, r: Resolved, args: Vec<Bytes>) -> Outcome {
    let locks = lock_for(srv, r, &args);
    let mut ctx = Ctx::new(srv, client, locks);
    let reply = call(&mut ctx, r, &args);
    if !ctx.ready_keys.is_empty() {
        crate::blocking::serve_ready(&mut ctx);
    }
    let block = ctx.block.take();
    let events = std::mem::take(&mut ctx.events);
    drop(ctx);
    if !events.is_empty() {
        srv.pubsub.publish_key_events(srv, &events);
    }
    match block {
        Some(req) => Outcome::Block(req, r, args),
        None => Outcome::Reply(reply),
    }
}

fn lock_for<'a>(srv: &'a Server, r: Resolved, args: &[Bytes]) -> Locked<'a> {
    let spec = r.spec;
    if spec.has(flags::ALL_SHARDS) || r.parent.is_some_and(|p| p.has(flags::ALL_SHARDS)) {
        return srv.keyspace.lock_all();
    }
    let positions = spec.key_positions(args);
    if positions.is_empty() {
        return Locked::none();
    }
    srv.keyspace.lock(
        positions
            .into_iter()
            .map(|i| srv.keyspace.shard_of(&args[i]))
            .collect(),
    )
}

/// Calls the handler with statistics; used directly by EXEC for queued commands.
pub fn call(ctx: &mut Ctx, r: Resolved, args: &[Bytes]) -> Reply {
    let start = Instant::now();
    let result = (r.spec.handler)(ctx, args);
    let usec = start.elapsed().as_micros() as u64;
    let stats = &ctx.srv.stats;
    stats.commands_processed.fetch_add(1, Ordering::Relaxed);
    let cmd = &stats.per_command[r.stat];
    cmd.calls.fetch_add(1, Ordering::Relaxed);
    cmd.usec.fetch_add(usec, Ordering::Relaxed);
    match result {
        Ok(reply) => {
            if let Reply::Error(e) = &reply {
                stats.fail(r.stat, e);
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

/// Runs a transaction's queued commands inside EXEC, which holds every shard.
pub fn run_queued(ctx: &mut Ctx, multi: MultiState) -> Reply {
    let mut replies = Vec::with_capacity(multi.queued.len());
    ctx.client.in_exec = true;
    for args in multi.queued {
        let reply = match ctx.srv.commands.resolve(&args) {
            Some(r) => call(ctx, r, &args),
            None => CmdError::unknown_command(&args[0], &args[1..]).into(),
        };
        replies.push(reply);
    }
    ctx.client.in_exec = false;
    Reply::Array(replies)
}
