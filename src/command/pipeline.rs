//! The dispatcher's pipeline: the checks a resolved command passes, in
//! Redis's order (`processCommand`), before it runs.
//!
//! Each check is a named function that lets the command through or answers
//! for it: a refusal (counted as rejected, and marking an open MULTI as
//! failed, as Redis's `rejectCommand` does) or, last, the QUEUED of a
//! transaction. `execute` runs the whole list; anything else that runs
//! commands (EXEC, a script's `redis.call`, the AOF loader, a replica
//! applying its master's stream) picks the checks that apply to it by name
//! rather than copying them.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{flags, Resolved};
use crate::client::Client;
use crate::error::CmdError;
use crate::reply::Reply;
use crate::server::Server;

/// What a check sees.
pub struct Gate<'a> {
    pub srv: &'a Server,
    pub client: &'a mut Client,
    pub cmd: Resolved,
    pub args: &'a [Bytes],
    /// The command's flags, as its script declares them for EVAL / FCALL.
    pub flags: u32,
}

/// The flags the checks see: the command's own, or for a script command
/// those its script declares (Redis's evalGetCommandFlags / fcallGetCommandFlags).
pub fn effective_flags(srv: &Server, cmd: Resolved, args: &[Bytes]) -> u32 {
    if cmd.spec.has(flags::SCRIPT_FLAGS) {
        crate::scripting::command_flags(srv, cmd.spec.flags, args)
    } else {
        cmd.spec.flags
    }
}

/// Lets the command through (`Ok`), or answers for it.
pub type Check = fn(&mut Gate) -> Result<(), Reply>;

/// Declares the checks once: `PIPELINE` (names, for callers that select
/// checks) and `admit`, which calls them in the same order directly (no
/// indirect calls on the per-command path).
macro_rules! pipeline {
    ($($name:literal => $check:ident),* $(,)?) => {
        /// Every check, in order. The names are what other callers select by.
        pub const PIPELINE: &[(&str, Check)] = &[$(($name, $check)),*];

        /// Runs every check; the first answer stops the command.
        #[inline]
        pub fn admit(gate: &mut Gate) -> Result<(), Reply> {
            $($check(gate)?;)*
            Ok(())
        }
    };
}

pipeline! {
    "arity" => arity,
    "auth" => authenticated,
    "acl" => acl_permissions,
    "monitor" => monitor_context,
    "pubsub-context" => pubsub_context,
    "exec-oom" => exec_oom,
    "oom" => oom,
    "misconf" => misconf,
    "readonly-replica" => readonly_replica,
    "min-replicas" => min_replicas,
    "stale-replica" => stale_replica,
    "pause" => client_pause,
    "multi-queue" => queue_in_multi,
}

impl Gate<'_> {
    /// Redis's `rejectCommand`: counted, an open MULTI fails at EXEC.
    fn reject(&mut self, code: &str, e: impl Into<Reply>) -> Result<(), Reply> {
        flag_multi_error(self.client);
        self.srv.stats.reject(self.cmd.stat, code);
        Err(e.into())
    }

    fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Commands from the master are applied whatever this server's state.
    fn sent_by_master(&self) -> bool {
        self.client.repl.is_master
    }
}

pub fn flag_multi_error(client: &mut Client) {
    if let Some(m) = client.multi.as_mut() {
        m.aborted = true;
    }
}

fn arity(g: &mut Gate) -> Result<(), Reply> {
    if g.cmd.spec.arity_ok(g.args.len()) {
        return Ok(());
    }
    let name = g.cmd.full_name();
    g.reject("ERR", CmdError::WrongArity(name))
}

/// Redis's authRequired: unless the default user is open (nopass and on).
fn authenticated(g: &mut Gate) -> Result<(), Reply> {
    if g.client.authenticated || g.has(flags::NO_AUTH) || g.srv.acl.default_open() {
        return Ok(());
    }
    g.reject("NOAUTH", CmdError::NoAuth)
}

/// The user's command, key and channel permissions (ACLCheckAllPerm); a
/// refusal is logged in ACL LOG.
fn acl_permissions(g: &mut Gate) -> Result<(), Reply> {
    let Some(denied) = acl_denial(g.srv, g.client, g.cmd, g.args) else {
        return Ok(());
    };
    let context = if g.client.multi.is_some() {
        crate::acl::Context::Multi
    } else {
        crate::acl::Context::Toplevel
    };
    log_acl_denial(g.srv, g.client, g.cmd, g.args, denied, context);
    use crate::acl::Reason;
    let text = match denied.reason {
        Reason::Key => crate::error::msg::NOPERM_KEYS.to_string(),
        Reason::Channel => crate::error::msg::NOPERM_CHANNELS.to_string(),
        Reason::Command | Reason::Auth => crate::error::msg::noperm_command(&g.cmd.full_name()),
    };
    g.reject("NOPERM", Reply::Error(text))
}

/// Whether `client`'s user may run the command: `None` when it may. A
/// container named without a known subcommand is let through (its
/// handler answers with Redis's unknown-subcommand error, which Redis
/// gives before any permission check).
pub fn acl_denial(
    srv: &Server,
    client: &mut Client,
    cmd: Resolved,
    args: &[Bytes],
) -> Option<crate::acl::Denied> {
    let rules = client.acl_rules(&srv.acl)?;
    if cmd.parent.is_none() && !cmd.spec.subcommands.is_empty() {
        return None;
    }
    rules.check(&srv.acl.commands, cmd.stat, args).err()
}

/// The ACL LOG entry of a refusal.
pub fn log_acl_denial(
    srv: &Server,
    client: &Client,
    cmd: Resolved,
    args: &[Bytes],
    denied: crate::acl::Denied,
    context: crate::acl::Context,
) {
    use crate::acl::Reason;
    let object = match denied.reason {
        Reason::Key | Reason::Channel => String::from_utf8_lossy(&args[denied.pos]).into_owned(),
        _ => cmd.full_name(),
    };
    let username = client
        .user
        .as_ref()
        .map_or_else(String::new, |u| u.name_str());
    crate::family::acl::log_denial(
        srv,
        &client.handle,
        denied.reason,
        context,
        &username,
        object,
    );
}

/// A MONITOR client is a replica to Redis: no keyspace access.
fn monitor_context(g: &mut Gate) -> Result<(), Reply> {
    if g.client.monitor && g.has(flags::WRITE | flags::READONLY | flags::MAY_REPLICATE) {
        return g.reject(
            "ERR",
            Reply::Error(crate::error::msg::REPLICA_CAN_T_INTERACT_WITH_THE.into()),
        );
    }
    Ok(())
}

/// RESP2 subscribers may only (un)subscribe, PING, RESET and QUIT.
fn pubsub_context(g: &mut Gate) -> Result<(), Reply> {
    if !g.client.in_resp2_pubsub() || g.has(flags::SUBSCRIBED_OK) {
        return Ok(());
    }
    // Not a MULTI error in Redis: only counted.
    g.srv.stats.reject(g.cmd.stat, "ERR");
    Err(CmdError::SubscribedContext {
        cmd: g.cmd.full_name(),
    }
    .into())
}

/// EXEC of a transaction that may grow memory, past `maxmemory`: the whole
/// transaction is discarded.
fn exec_oom(g: &mut Gate) -> Result<(), Reply> {
    let is_exec = g.cmd.parent.is_none() && g.cmd.spec.name == "exec";
    if !is_exec
        || !g.client.multi.as_ref().is_some_and(|m| m.may_grow)
        || g.sent_by_master()
        || !over_maxmemory(g.srv)
    {
        return Ok(());
    }
    g.client.multi = None;
    g.client.unwatch();
    g.client.handle.info.lock().multi = -1;
    g.srv.stats.reject(g.cmd.stat, "EXECABORT");
    if g.srv.monitoring.load(Ordering::Relaxed) {
        g.srv
            .feed_monitors(g.client.db, &g.client.handle.addr, g.args);
    }
    Err(Reply::Error(crate::error::msg::exec_abort_because(
        &CmdError::Oom,
    )))
}

/// Past `maxmemory` after evicting what the policy allows. The master's
/// writes are applied whatever the replica's memory (Redis's
/// replica-ignore-maxmemory): refusing one would make the replica diverge.
fn oom(g: &mut Gate) -> Result<(), Reply> {
    if g.sent_by_master() || g.srv.config.maxmemory.load(Ordering::Relaxed) == 0 {
        return Ok(());
    }
    // Redis evicts before every command (performEvictions in
    // processCommand), not only before those that may grow memory: a
    // script then reads "over maxmemory" only if eviction could not help,
    // and a tracking client hears of an evicted key before the reply of
    // the command that follows.
    let over = over_maxmemory(g.srv);
    crate::tracking::own_before_reply();
    if over && g.has(flags::DENYOOM) {
        return g.reject("OOM", CmdError::Oom);
    }
    Ok(())
}

/// Evicts what the policy allows; true when still past `maxmemory` (no
/// locks are held here).
pub fn over_maxmemory(srv: &Server) -> bool {
    !crate::keyspace::evict::evict(srv)
}

/// Redis's writeCommandsDeniedByDiskError: the data set must not move
/// ahead of what can be persisted. Two relaxed loads while the disk is fine.
fn misconf(g: &mut Gate) -> Result<(), Reply> {
    let denied = if g.srv.persist.rdb_write_error(g.srv) {
        Some(CmdError::MisconfRdb)
    } else {
        g.srv.aof.write_error().map(CmdError::MisconfAof)
    };
    match denied {
        Some(e) if (g.has(flags::WRITE) || g.cmd.spec.name == "ping") && !g.sent_by_master() => {
            g.reject("MISCONF", e)
        }
        _ => Ok(()),
    }
}

/// CLIENT PAUSE: a command the pause holds is postponed (its connection
/// waits for the pause to end and then runs it again from the start), after
/// every refusal and before MULTI queues it, as in Redis's processCommand.
/// In WRITE mode only what may write or replicate is held, an EXEC by its
/// queued commands. The master's stream is never held.
fn client_pause(g: &mut Gate) -> Result<(), Reply> {
    let srv = g.srv;
    if srv.pause_until.load(Ordering::Relaxed) == 0 || g.sent_by_master() || g.client.loading {
        return Ok(());
    }
    if !srv.paused(crate::server::unix_ms()) {
        return Ok(());
    }
    let is_exec = g.cmd.parent.is_none() && g.cmd.spec.name == "exec";
    let held = !srv.pause_writes_only.load(Ordering::Relaxed)
        || g.has(flags::WRITE | flags::MAY_REPLICATE)
        || (is_exec && g.client.multi.as_ref().is_some_and(|m| m.may_replicate));
    if held {
        g.client.postponed = true;
        return Err(Reply::Nil);
    }
    Ok(())
}

/// A read-only replica takes writes from its master only.
fn readonly_replica(g: &mut Gate) -> Result<(), Reply> {
    // EXEC of a transaction queued while this server took writes, which is
    // now a read-only replica: the whole transaction is discarded.
    let is_exec = g.cmd.parent.is_none() && g.cmd.spec.name == "exec";
    if is_exec
        && g.client.multi.as_ref().is_some_and(|m| m.may_write)
        && !g.sent_by_master()
        && g.srv.repl.is_replica()
        && g.srv.config.replica_read_only.load(Ordering::Relaxed)
    {
        g.client.multi = None;
        g.client.unwatch();
        g.client.handle.info.lock().multi = -1;
        g.srv.stats.reject(g.cmd.stat, "EXECABORT");
        return Err(Reply::Error(crate::error::msg::exec_abort_because(
            &CmdError::ReadOnlyReplica,
        )));
    }
    if g.has(flags::WRITE)
        && !g.sent_by_master()
        && g.srv.repl.is_replica()
        && g.srv.config.replica_read_only.load(Ordering::Relaxed)
    {
        return g.reject("READONLY", CmdError::ReadOnlyReplica);
    }
    Ok(())
}

/// min-replicas-to-write / min-replicas-max-lag.
fn min_replicas(g: &mut Gate) -> Result<(), Reply> {
    if g.has(flags::WRITE) && !g.sent_by_master() && !g.srv.repl.enough_good_replicas(&g.srv.config)
    {
        return g.reject("NOREPLICAS", CmdError::NoReplicas);
    }
    Ok(())
}

/// A replica cut off from its master serves only `stale` commands (INFO,
/// REPLICAOF…) when replica-serve-stale-data is no.
fn stale_replica(g: &mut Gate) -> Result<(), Reply> {
    if g.srv.repl.is_stale_replica()
        && !g.has(flags::STALE)
        && g.srv.config.get("replica-serve-stale-data").as_deref() == Some("no")
    {
        return g.reject("MASTERDOWN", CmdError::MasterDown);
    }
    Ok(())
}

/// Inside MULTI every command but the transaction's own is queued.
fn queue_in_multi(g: &mut Gate) -> Result<(), Reply> {
    let Some(multi) = g.client.multi.as_mut() else {
        return Ok(());
    };
    let transaction_control = g.cmd.parent.is_none()
        && matches!(
            g.cmd.spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        );
    if transaction_control {
        return Ok(());
    }
    if g.cmd.spec.has(flags::NO_MULTI) {
        multi.aborted = true;
        g.srv.stats.reject(g.cmd.stat, "ERR");
        return Err(CmdError::NotAllowedInMulti.into());
    }
    multi.may_grow |= g.flags & flags::DENYOOM != 0;
    multi.may_write |= g.flags & flags::WRITE != 0;
    multi.may_replicate |= g.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0;
    multi.queue(g.args);
    // CLIENT LIST's multi= is the number of queued commands.
    g.client.handle.info.lock().multi = multi.queued.len() as i64;
    Err(Reply::Status("QUEUED"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_have_distinct_names_and_queueing_comes_last() {
        let names: Vec<&str> = PIPELINE.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        // A refused command is never queued: every refusal comes before.
        assert_eq!(names.last(), Some(&"multi-queue"));
    }
}
