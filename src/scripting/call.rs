//! One run of a script or a function (Redis 7.0's script.c and
//! luaCallFunction): the checks before it starts, `redis.call` / `pcall` /
//! `setresp` / `set_repl` during it, the busy hook, and its reply.

use std::cell::Cell;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::{Function, Lua, MultiValue, Table, Value};

use super::busy::RunInfo;
use super::convert::from_lua;
use super::engine::{error_text, State};
use super::flags;
use crate::command::{flags as cmd, Ctx};
use crate::error::{msg, CmdError};
use crate::reply::Reply;

/// REPL_ALL: effects go to the AOF and to the replicas.
const ALL_TARGETS: u8 = crate::repl::TO_AOF | crate::repl::TO_REPLICAS;

/// What is being run, and how.
pub struct Invocation<'s> {
    /// The script's SHA1 or the function's name (error texts, FUNCTION STATS).
    pub name: &'s str,
    /// EVAL mode (KEYS / ARGV globals, SCRIPT KILL) or a function.
    pub eval: bool,
    pub keys: &'s [Bytes],
    pub argv: &'s [Bytes],
    /// The script's flags (`flags::EVAL_COMPAT` for EVAL without shebang).
    pub flags: u32,
    /// Called as EVAL_RO / EVALSHA_RO / FCALL_RO.
    pub ro_command: bool,
    /// The whole command, for FUNCTION STATS.
    pub command: &'s [Bytes],
}

impl Invocation<'_> {
    fn compat(&self) -> bool {
        self.flags & flags::EVAL_COMPAT != 0
    }

    /// Writes refused inside the run (SCRIPT_READ_ONLY in Redis).
    fn read_only(&self) -> bool {
        self.ro_command || (!self.compat() && self.flags & flags::NO_WRITES != 0)
    }

    fn allow_oom(&self) -> bool {
        !self.compat() && self.flags & flags::ALLOW_OOM != 0
    }
}

/// Redis's scriptPrepareForRun: the refusals that depend on the server's
/// state and the script's flags, before anything runs.
pub fn refusal(ctx: &Ctx, inv: &Invocation) -> Option<Reply> {
    let srv = ctx.srv;
    let from_master = ctx.client.repl.is_master;
    let stale = srv.repl.is_stale_replica()
        && srv.config.get("replica-serve-stale-data").as_deref() == Some("no");
    let err = |s: &str| Some(Reply::Error(s.to_string()));
    if inv.compat() {
        return if stale {
            Some(CmdError::MasterDown.into())
        } else {
            None
        };
    }
    if stale && inv.flags & flags::ALLOW_STALE == 0 {
        return err(msg::SCRIPT_MASTERDOWN);
    }
    if inv.flags & flags::NO_WRITES == 0 {
        if read_only_replica(srv, from_master) {
            return err(msg::SCRIPT_READONLY_REPLICA);
        }
        if !from_master {
            if srv.persist.rdb_write_error(srv) {
                return err(msg::SCRIPT_MISCONF_RDB);
            }
            if let Some(e) = srv.aof.write_error() {
                return Some(Reply::Error(msg::script_misconf_aof(&e)));
            }
        }
        if inv.ro_command {
            return err(msg::SCRIPT_WRITE_FLAG_WITH_RO);
        }
        if !srv.repl.is_replica() && !srv.repl.enough_good_replicas(&srv.config) {
            return Some(CmdError::NoReplicas.into());
        }
    }
    if inv.flags & (flags::ALLOW_OOM | flags::NO_WRITES) == 0
        && !from_master
        && crate::keyspace::evict::over_limit(srv)
    {
        return err(msg::SCRIPT_OOM);
    }
    None
}

/// A read-only replica refuses writes except its master's.
fn read_only_replica(srv: &crate::server::Server, from_master: bool) -> bool {
    srv.repl.is_replica()
        && srv
            .config
            .replica_read_only
            .load(std::sync::atomic::Ordering::Relaxed)
        && !from_master
}

/// What `redis.call` needs across calls of one run.
pub(super) struct Run<'r, 'a, 'c> {
    ctx: &'r mut Ctx<'a, 'c>,
    read_only: bool,
    allow_oom: bool,
    /// The server was past maxmemory when the script started.
    oom_at_start: bool,
    wrote: bool,
    pub(super) resp: u8,
    /// `redis.set_repl`: where the effects of later calls go.
    repl: u8,
    /// A `redis.call` raised its command's error (already counted in the
    /// error statistics, by the command or its rejection).
    pub(super) raised: bool,
    started: Instant,
    /// `busy-reply-threshold`, when set.
    threshold: Option<Duration>,
    /// This worker was handed over for a long run (`long_step`).
    handed_off: bool,
}

thread_local! {
    /// The run in progress on this thread, lifetimes erased. `run` sets it
    /// around the Lua call (`Active`); the API functions and the hook, made
    /// once per Lua state, reach the run through it. Scripts cannot start
    /// scripts (EVAL and FCALL are `noscript`), so runs never nest.
    static ACTIVE: Cell<*mut ()> = const { Cell::new(std::ptr::null_mut()) };
    /// When set, a FUNCTION LOAD running library code must end by then.
    static LOAD_DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Marks a run active for as long as it lives.
struct Active;

impl Active {
    fn enter(run: &mut Run) -> Active {
        ACTIVE.with(|a| a.set(run as *mut Run as *mut ()));
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(std::ptr::null_mut()));
    }
}

/// `f` on the active run, if any. The run is unmarked while `f` has it, so
/// it is never borrowed twice.
pub(super) fn with_run<R>(f: impl FnOnce(&mut Run) -> R) -> Option<R> {
    let p = ACTIVE.with(|a| a.replace(std::ptr::null_mut()));
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` was set by `Active::enter` from a `&mut Run` that
    // outlives the guard, which is alive (the Lua call it wraps is what
    // calls us); the run is unmarked until `f` returns, so this is the only
    // reference to it.
    let r = f(unsafe { &mut *(p as *mut Run) });
    ACTIVE.with(|a| a.set(p));
    Some(r)
}

/// Runs library code (FUNCTION LOAD) with a deadline the hook enforces.
pub fn with_load_deadline<R>(timeout_ms: u64, f: impl FnOnce() -> R) -> R {
    let deadline = (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms));
    LOAD_DEADLINE.with(|d| d.set(deadline));
    let r = f();
    LOAD_DEADLINE.with(|d| d.set(None));
    r
}

/// Calls `func` (compiled in `state`) under the caller's locks (every
/// shard) and returns the client's reply.
pub fn run(state: &State, func: Function, ctx: &mut Ctx, inv: &Invocation) -> Reply {
    let srv = ctx.srv;
    // Scripts see the database they were called in; a SELECT inside lasts
    // until the script ends (Redis 7). Commands inside run as EXEC runs
    // queued ones, and answer in RESP2 unless the script asks for 3.
    let db = ctx.client.db;
    let resp = std::mem::replace(&mut ctx.client.resp, 2);
    let in_exec = std::mem::replace(&mut ctx.client.in_exec, true);
    let declared = std::mem::replace(&mut ctx.keys_declared, false);
    let in_script = std::mem::replace(&mut ctx.in_script, true);
    let script_keys = match ctx.client.tracking {
        Some(_) => std::mem::replace(&mut ctx.script_keys, inv.keys.to_vec()),
        None => Vec::new(),
    };
    // The script's own line comes before the lines of what it runs.
    if srv.monitoring.load(std::sync::atomic::Ordering::Relaxed) {
        srv.feed_monitors(ctx.client.db, &ctx.client.handle.addr, inv.command);
    }
    let _long = crate::keyspace::LongHold::begin();
    let started = Instant::now();
    srv.busy.begin(RunInfo {
        name: inv.name.to_string(),
        command: inv.command.to_vec(),
        started,
        eval: inv.eval,
        from_master: ctx.client.repl.is_master,
    });
    // Lock-free (no eviction here: every shard is held); the dispatcher
    // evicted before a script command when maxmemory is set.
    let oom_at_start =
        !inv.allow_oom() && !ctx.client.repl.is_master && crate::keyspace::evict::over_limit(srv);
    let threshold = srv
        .config
        .busy_reply_threshold
        .load(std::sync::atomic::Ordering::Relaxed);
    let mut run = Run {
        ctx,
        read_only: inv.read_only(),
        allow_oom: inv.allow_oom(),
        oom_at_start,
        wrote: false,
        resp: 2,
        repl: ALL_TARGETS,
        raised: false,
        started,
        threshold: (threshold > 0).then(|| Duration::from_millis(threshold)),
        handed_off: false,
    };
    let reply = {
        let _active = Active::enter(&mut run);
        call_lua(state, func, inv).unwrap_or_else(|e| Reply::Error(error_text(&e)))
    };
    if run.raised && matches!(reply, Reply::Error(_)) {
        run.ctx.error_counted = true;
    }
    if srv.busy.killed() {
        // The kill made the hook fire on every line: back to the count hook.
        install_hook(&state.lua);
    }
    srv.busy.end();
    let ctx = run.ctx;
    ctx.client.db = db;
    ctx.client.resp = resp;
    ctx.client.in_exec = in_exec;
    ctx.keys_declared = declared;
    ctx.in_script = in_script;
    ctx.script_keys = script_keys;
    collect_garbage(&state.lua);
    reply
}

/// A GC step every 50 runs, as Redis's LUA_GC_CYCLE_PERIOD: a full cycle
/// now and then would add latency, a step on every run costs CPU.
fn collect_garbage(lua: &Lua) {
    thread_local! {
        static RUNS: Cell<u32> = const { Cell::new(0) };
    }
    RUNS.with(|runs| {
        let n = runs.get() + 1;
        if n >= 50 {
            let _ = lua.gc_step_kbytes(50);
            runs.set(0);
        } else {
            runs.set(n);
        }
    });
}

/// Redis's luaMaskCountHook, set once per state: every 100,000
/// instructions it checks a FUNCTION LOAD's deadline, or the running
/// script against `busy-reply-threshold` and the kill flag.
pub fn install_hook(lua: &Lua) {
    lua.set_hook(
        mlua::HookTriggers::new().every_nth_instruction(100_000),
        |lua, _| {
            if let Some(deadline) = LOAD_DEADLINE.with(Cell::get) {
                if Instant::now() > deadline {
                    return Err(mlua::Error::runtime(msg::FUNCTION_LOAD_TIMEOUT));
                }
                return Ok(mlua::VmState::Continue);
            }
            with_run(|run| busy_check(lua, run)).unwrap_or(Ok(mlua::VmState::Continue))
        },
    );
}

fn busy_check(lua: &Lua, run: &mut Run) -> mlua::Result<mlua::VmState> {
    let busy = &run.ctx.srv.busy;
    if busy.killed() {
        // Fire on every line from now on, so a pcall in the script cannot
        // swallow the kill and go on.
        lua.set_hook(mlua::HookTriggers::new().every_line(), |_, _| {
            Err(mlua::Error::runtime(msg::SCRIPT_KILLED))
        });
        tracing::warn!("Lua script killed by user with SCRIPT KILL.");
        return Err(mlua::Error::runtime(msg::SCRIPT_KILLED));
    }
    let elapsed = run.started.elapsed();
    if run.threshold.is_some_and(|t| elapsed >= t) {
        busy.time_out();
    }
    if !run.handed_off && elapsed >= Duration::from_millis(5) {
        // A long run: give this worker's queue and the I/O driver to
        // another thread, so the connections that will get BUSY (and the
        // one that sends SCRIPT KILL) are served meanwhile.
        run.handed_off = true;
        crate::long_step::hand_over();
    }
    Ok(mlua::VmState::Continue)
}

/// `redis.call`, `redis.pcall`, `redis.setresp` and `redis.set_repl`,
/// made once per state; they act on the active run.
pub fn install(lua: &Lua, redis: &Table) -> mlua::Result<()> {
    // C functions reading their arguments off the Lua stack, as Redis's
    // (`raw`): no per-argument conversion, and a `return redis.call(…)`
    // tail call keeps the script's frame, so errors name its line.
    // SAFETY: both follow the lua_CFunction protocol (`raw`).
    let call = unsafe { lua.create_c_function(super::raw::redis_call)? };
    let pcall = unsafe { lua.create_c_function(super::raw::redis_pcall)? };
    let setresp = lua.create_function(|_, args: MultiValue| {
        let v = match args.into_iter().collect::<Vec<_>>().as_slice() {
            [Value::Integer(n)] => *n,
            [Value::Number(n)] => *n as i64,
            [_] => 0,
            _ => return Err(mlua::Error::runtime(msg::SETRESP_ARGS)),
        };
        if v != 2 && v != 3 {
            return Err(mlua::Error::runtime(msg::SETRESP_VERSION));
        }
        with_run(|run| {
            run.resp = v as u8;
            run.ctx.client.resp = v as u8;
        })
        .ok_or_else(|| mlua::Error::runtime(msg::SETRESP_OUTSIDE))
    })?;
    let set_repl = lua.create_function(|_, args: MultiValue| {
        if args.len() != 1 {
            return Err(mlua::Error::runtime(msg::SET_REPL_ARGS));
        }
        let flags = match args.into_iter().next() {
            Some(Value::Integer(n)) => n,
            Some(Value::Number(n)) => n as i64,
            _ => 0,
        };
        if flags & !(ALL_TARGETS as i64) != 0 {
            return Err(mlua::Error::runtime(msg::SET_REPL_FLAGS));
        }
        with_run(|run| run.repl = flags as u8)
            .ok_or_else(|| mlua::Error::runtime(msg::SET_REPL_OUTSIDE))
    })?;
    redis.raw_set("acl_check_cmd", lua.create_function(acl_check_cmd)?)?;
    redis.raw_set("call", call)?;
    redis.raw_set("pcall", pcall)?;
    redis.raw_set("setresp", setresp)?;
    redis.raw_set("set_repl", set_repl)?;
    Ok(())
}

/// `redis.acl_check_cmd(cmd, args…)`: whether the script's caller may run
/// the command (ACLCheckAllUserCommandPerm), without running it.
fn acl_check_cmd(_: &Lua, args: MultiValue) -> mlua::Result<bool> {
    if args.is_empty() {
        return Err(mlua::Error::runtime(msg::SCRIPT_NO_ARGUMENTS));
    }
    let mut argv = Vec::with_capacity(args.len());
    for a in args {
        argv.push(match a {
            Value::String(s) => Bytes::copy_from_slice(&s.as_bytes()),
            Value::Integer(n) => Bytes::from(n.to_string()),
            Value::Number(n) => Bytes::from(super::convert::format_g17(n)),
            _ => return Err(mlua::Error::runtime(msg::SCRIPT_BAD_ARGUMENT)),
        });
    }
    with_run(|run| {
        let srv = run.ctx.srv;
        let r = srv
            .commands
            .resolve(&argv)
            .filter(|r| r.parent.is_some() || r.spec.subcommands.is_empty() || argv.len() < 2)
            .ok_or_else(|| mlua::Error::runtime(msg::ACL_CHECK_CMD_INVALID))?;
        Ok(crate::command::pipeline::acl_denial(srv, run.ctx.client, r, &argv).is_none())
    })
    .ok_or_else(|| mlua::Error::runtime(msg::ACL_CHECK_CMD_OUTSIDE))?
}

fn array_of(lua: &Lua, items: &[Bytes]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(t)
}

fn call_lua(state: &State, func: Function, inv: &Invocation) -> mlua::Result<Reply> {
    let lua = &state.lua;
    let keys = array_of(lua, inv.keys)?;
    let argv = array_of(lua, inv.argv)?;
    let handler: Function = lua.registry_value(&state.handler)?;
    let result: MultiValue = if inv.eval {
        state.set_args.call::<()>((keys, argv))?;
        state.xpcall.call((func, handler))?
    } else {
        // Lua 5.1's xpcall passes no arguments: the API's helper does.
        state.fcall.call((func, handler, keys, argv))?
    };
    let mut values = result.into_iter();
    let ok = matches!(values.next(), Some(Value::Boolean(true)));
    let value = values.next().unwrap_or(Value::Nil);
    let resp = with_run(|run| {
        if let Value::Table(t) = &value {
            if ok
                && t.raw_get::<bool>("ignore_error_stats_update")
                    .unwrap_or(false)
            {
                run.raised = true;
            }
        }
        run.resp
    })
    .unwrap_or(2);
    Ok(if ok {
        from_lua(value, resp, 0)
    } else {
        failure(value, inv.name)
    })
}

/// The error reply for a script that raised `err` (Redis's luaCallFunction).
fn failure(err: Value, funcname: &str) -> Reply {
    let Value::Table(t) = err else {
        let text = err
            .to_string()
            .unwrap_or_else(|_| "execution failure".into());
        return Reply::Error(msg::script_failed(&format!("{funcname}, {text}")));
    };
    let text = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => super::convert::error_text(&s.to_string_lossy()),
        _ => msg::SCRIPT_EXECUTION_FAILURE.to_string(),
    };
    let source = t.raw_get::<Option<String>>("source").ok().flatten();
    let line = t.raw_get::<Option<i64>>("line").ok().flatten();
    match (source, line) {
        (Some(source), Some(line)) => {
            Reply::Error(msg::script_error_at(&text, funcname, &source, line))
        }
        _ => Reply::Error(text),
    }
}

/// `redis.call` / `redis.pcall` with their arguments read (`raw`): runs
/// one command as EXEC runs a queued one, after Redis's scriptCall checks.
/// Returns the reply, or the error text and whether it was already counted
/// in the error statistics (which `call` raises and `pcall` returns as
/// `{err = …}`).
pub(super) fn execute(run: &mut Run, argv: Vec<Bytes>) -> Result<Reply, (String, bool)> {
    let ctx = &mut *run.ctx;
    let srv = ctx.srv;
    // From here errors are counted where they happen, as Redis's scriptCall
    // counts them: refusals as the command's rejected calls.
    let counted = |text: &str| {
        srv.stats.record_error(text);
        Err((text.to_string(), true))
    };
    let Some(r) = srv.commands.resolve(&argv) else {
        return counted(msg::SCRIPT_UNKNOWN_COMMAND);
    };
    if !r.spec.arity_ok(argv.len()) {
        return counted(msg::SCRIPT_WRONG_ARITY);
    }
    let rejected = |text: &str| {
        srv.stats.reject(r.stat, text);
        Err((text.to_string(), true))
    };
    let has = |f: u32| r.spec.has(f) || r.parent.is_some_and(|p| p.has(f));
    if has(cmd::NOSCRIPT) {
        return rejected(msg::SCRIPT_NOT_ALLOWED);
    }
    if srv.repl.is_stale_replica()
        && !has(cmd::STALE)
        && srv.config.get("replica-serve-stale-data").as_deref() == Some("no")
    {
        return rejected(msg::SCRIPT_STALE_REPLICA);
    }
    if let Some(denied) = crate::command::pipeline::acl_denial(srv, ctx.client, r, &argv) {
        crate::command::pipeline::log_acl_denial(
            srv,
            ctx.client,
            r,
            &argv,
            denied,
            crate::acl::Context::Lua,
        );
        let reason = match denied.reason {
            crate::acl::Reason::Key => msg::ACL_DENIED_KEY,
            crate::acl::Reason::Channel => msg::ACL_DENIED_CHANNEL,
            _ => msg::ACL_DENIED_CMD,
        };
        return rejected(&msg::noperm_script(reason));
    }
    if run.read_only && (has(cmd::WRITE) || has(cmd::MAY_REPLICATE)) {
        return rejected(msg::SCRIPT_WRITE_IN_READ_ONLY);
    }
    let from_master = ctx.client.repl.is_master;
    if has(cmd::WRITE) && !run.wrote {
        if read_only_replica(srv, from_master) {
            return rejected(&CmdError::ReadOnlyReplica.to_string());
        }
        if srv.persist.rdb_write_error(srv) {
            return rejected(&CmdError::MisconfRdb.to_string());
        }
        if let Some(e) = srv.aof.write_error() {
            return rejected(&CmdError::MisconfAof(e).to_string());
        }
        if !srv.repl.is_replica() && !srv.repl.enough_good_replicas(&srv.config) {
            return rejected(&CmdError::NoReplicas.to_string());
        }
    }
    if !run.allow_oom && !run.wrote && run.oom_at_start && has(cmd::DENYOOM) {
        return rejected(&CmdError::Oom.to_string());
    }
    if has(cmd::WRITE) {
        run.wrote = true;
        srv.busy.mark_dirty();
    }
    let before = ctx.prop.len();
    let reply = crate::command::exec::call(ctx, r, &argv);
    if run.repl != ALL_TARGETS || !ctx.prop_targets.is_empty() {
        ctx.prop_targets.resize(before, ALL_TARGETS);
        ctx.prop_targets.resize(ctx.prop.len(), run.repl);
    }
    match reply {
        // Counted by exec::call as the command's failure.
        Reply::Error(e) => Err((e, true)),
        reply => Ok(reply),
    }
}
