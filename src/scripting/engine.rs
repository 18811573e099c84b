//! One Lua 5.1 state per thread, set up as Redis 7.0's scriptingInit sets
//! up its own, and the run of one script in it.

use std::cell::RefCell;
use std::collections::HashMap;

use bytes::Bytes;
use mlua::{Function, Lua, LuaOptions, MultiValue, RegistryKey, StdLib, Table, Value};

use super::convert::{error_table, from_lua, status_table, to_lua};
use crate::command::{flags, Ctx};
use crate::error::msg;
use crate::reply::Reply;

/// Lua code of the API layer, loaded once per state. Its chunk name
/// (`=redis_api`) lets the error handler skip its frames, as Redis's skips C
/// frames, so errors point at the script's own line. The handler is Redis's
/// `__redis__err__handler`, kept in a local instead of a global.
const API: &str = r#"
local dbg = debug
debug = nil
local error_of
local function handler(err)
  local level = 2
  local i = dbg.getinfo(level, 'nSl')
  while i and (i.what == 'C' or i.source == '=redis_api') do
    level = level + 1
    i = dbg.getinfo(level, 'nSl')
  end
  err = error_of(err)
  if type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end
local function init(errors, global_msg, readonly_msg)
  error_of = errors
  setmetatable(_G, {
    __index = function(_, k) error(global_msg .. "'" .. tostring(k) .. "'", 2) end,
    __newindex = function() error(readonly_msg, 2) end,
  })
end
return handler, init
"#;

struct Engine {
    lua: Lua,
    generation: u64,
    /// Compiled script functions by SHA1.
    functions: HashMap<String, RegistryKey>,
    handler: RegistryKey,
}

/// A command's error raised by `redis.call`: its text is the error the
/// script fails with (Redis raises an `{err = …}` table; mlua raises Rust
/// errors, which the error handler turns back into that table).
#[derive(Debug)]
struct CommandFailed(String);

impl std::fmt::Display for CommandFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CommandFailed {}

/// The error handler's view of an error raised from Rust: `{err = text}`,
/// the command's own text for `redis.call`, `ERR …` for anything else.
fn error_of(lua: &Lua, err: Value) -> mlua::Result<Value> {
    let Value::Error(e) = err else {
        return Ok(err);
    };
    let mut root: &mlua::Error = &e;
    while let mlua::Error::CallbackError { cause, .. } = root {
        root = cause;
    }
    let text = match root {
        mlua::Error::ExternalError(x) => match x.downcast_ref::<CommandFailed>() {
            Some(CommandFailed(text)) => text.clone(),
            None => msg::script_err(x),
        },
        mlua::Error::RuntimeError(m) => msg::script_err(m),
        other => msg::script_err(other),
    };
    Ok(Value::Table(error_table(lua, &text)?))
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

fn new_engine(generation: u64) -> mlua::Result<Engine> {
    // SAFETY: the debug library is loaded only for the error handler, which
    // keeps it in a local; the global is removed before any script runs.
    let lua = unsafe {
        Lua::unsafe_new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
            LuaOptions::default(),
        )
    };
    let globals = lua.globals();
    // Redis's luaRemoveUnsupportedFunctions.
    for name in ["loadfile", "dofile"] {
        globals.raw_set(name, Value::Nil)?;
    }
    globals.raw_set("redis", redis_table(&lua)?)?;
    let (handler, init): (Function, Function) = lua.load(API).set_name("=redis_api").eval()?;
    init.call::<()>((
        lua.create_function(error_of)?,
        msg::SCRIPT_NONEXISTENT_GLOBAL,
        msg::SCRIPT_READONLY_TABLE,
    ))?;
    Ok(Engine {
        handler: lua.create_registry_value(handler)?,
        lua,
        generation,
        functions: HashMap::new(),
    })
}

/// The `redis` table; `call` and `pcall` are set for each run (`run_in`).
fn redis_table(lua: &Lua) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    redis.raw_set(
        "sha1hex",
        lua.create_function(|_, s: mlua::String| Ok(super::sha1hex(&s.as_bytes())))?,
    )?;
    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, s: mlua::String| {
            let s = s.to_string_lossy();
            let s = if s.starts_with('-') {
                s
            } else {
                format!("-{s}")
            };
            error_table(lua, &super::convert::error_text(&s))
        })?,
    )?;
    redis.raw_set(
        "status_reply",
        lua.create_function(|lua, s: mlua::String| status_table(lua, &s.to_string_lossy()))?,
    )?;
    redis.raw_set(
        "log",
        lua.create_function(|_, (level, text): (i64, MultiValue)| {
            let line: Vec<String> = text
                .iter()
                .map(|v| v.to_string().unwrap_or_default())
                .collect();
            let line = line.join(" ");
            match level {
                0 => tracing::debug!("{line}"),
                1 | 2 => tracing::info!("{line}"),
                _ => tracing::warn!("{line}"),
            }
            Ok(())
        })?,
    )?;
    // Effects replication is the only mode in Redis 7: these are no-ops.
    redis.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    redis.raw_set("set_repl", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    redis.raw_set(
        "setresp",
        lua.create_function(|_, v: i64| match v {
            2 => Ok(()),
            _ => Err(mlua::Error::runtime(msg::SCRIPT_SETRESP_3)),
        })?,
    )?;
    for (name, value) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, value)?;
    }
    redis.raw_set("REDIS_VERSION", crate::REDIS_VERSION)?;
    redis.raw_set("REDIS_VERSION_NUM", version_num(crate::REDIS_VERSION))?;
    Ok(redis)
}

/// `7.0.15` → 0x07000f, as Redis's REDIS_VERSION_NUM.
fn version_num(v: &str) -> i64 {
    v.split('.')
        .take(3)
        .map(|p| p.parse::<i64>().unwrap_or(0))
        .fold(0, |acc, p| (acc << 8) | p)
}

/// What a script asked for: its SHA1 and body, KEYS and ARGV, and whether it
/// may write (EVAL_RO / EVALSHA_RO may not).
pub struct Invocation<'s> {
    pub sha: &'s str,
    pub body: &'s Bytes,
    pub keys: &'s [Bytes],
    pub argv: &'s [Bytes],
    pub read_only: bool,
}

/// Runs a script under the caller's locks (every shard) and returns the
/// client's reply.
pub fn run(ctx: &mut Ctx, inv: &Invocation) -> Reply {
    let generation = ctx.srv.scripts.generation();
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|e| e.generation != generation) {
            match new_engine(generation) {
                Ok(e) => *slot = Some(e),
                Err(e) => return Reply::Error(msg::script_err(e)),
            }
        }
        let Some(engine) = slot.as_mut() else {
            return Reply::Error(msg::script_failed("(no Lua state)"));
        };
        // Scripts see the database they were called in; a SELECT inside
        // lasts until the script ends (Redis 7).
        let db = ctx.client.db;
        let in_exec = std::mem::replace(&mut ctx.client.in_exec, true);
        let declared = std::mem::replace(&mut ctx.keys_declared, false);
        let reply = run_in(engine, ctx, inv).unwrap_or_else(|e| Reply::Error(msg::script_err(e)));
        ctx.client.db = db;
        ctx.client.in_exec = in_exec;
        ctx.keys_declared = declared;
        reply
    })
}

fn function_of(engine: &mut Engine, inv: &Invocation) -> Result<Function, Reply> {
    if let Some(key) = engine.functions.get(inv.sha) {
        return engine
            .lua
            .registry_value(key)
            .map_err(|e| Reply::Error(msg::script_err(e)));
    }
    let f = engine
        .lua
        .load(&inv.body[..])
        .set_name("@user_script")
        .into_function()
        .map_err(|e| Reply::Error(msg::script_compile(&compile_message(&e))))?;
    if let Ok(key) = engine.lua.create_registry_value(f.clone()) {
        engine.functions.insert(inv.sha.to_string(), key);
    }
    Ok(f)
}

fn compile_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn run_in(engine: &mut Engine, ctx: &mut Ctx, inv: &Invocation) -> mlua::Result<Reply> {
    let func = match function_of(engine, inv) {
        Ok(f) => f,
        Err(reply) => return Ok(reply),
    };
    let lua = &engine.lua;
    let globals = lua.globals();
    globals.raw_set(
        "KEYS",
        lua.create_sequence_from(
            inv.keys
                .iter()
                .map(|k| lua.create_string(k))
                .collect::<mlua::Result<Vec<_>>>()?,
        )?,
    )?;
    globals.raw_set(
        "ARGV",
        lua.create_sequence_from(
            inv.argv
                .iter()
                .map(|a| lua.create_string(a))
                .collect::<mlua::Result<Vec<_>>>()?,
        )?,
    )?;
    let handler: Function = lua.registry_value(&engine.handler)?;
    let xpcall: Function = globals.raw_get("xpcall")?;
    let redis: Table = globals.raw_get("redis")?;
    let funcname = inv.sha;
    let ctx = RefCell::new(ctx);
    let reply = lua.scope(|scope| {
        // Both are C functions, as Redis's: a `return redis.call(…)` tail
        // call keeps the script's frame, so errors name its line.
        let call = scope.create_function(|lua, args: MultiValue| {
            match redis_call(lua, &mut ctx.borrow_mut(), args, inv.read_only)? {
                Ok(value) => Ok(value),
                Err(text) => Err(mlua::Error::external(CommandFailed(text))),
            }
        })?;
        let pcall = scope.create_function(|lua, args: MultiValue| {
            match redis_call(lua, &mut ctx.borrow_mut(), args, inv.read_only)? {
                Ok(value) => Ok(value),
                Err(text) => Ok(Value::Table(error_table(lua, &text)?)),
            }
        })?;
        redis.raw_set("call", call)?;
        redis.raw_set("pcall", pcall)?;
        let result: MultiValue = xpcall.call((func, handler))?;
        let mut values = result.into_iter();
        let ok = matches!(values.next(), Some(Value::Boolean(true)));
        let value = values.next().unwrap_or(Value::Nil);
        Ok(if ok {
            from_lua(value, 0)
        } else {
            failure(value, funcname)
        })
    });
    redis.raw_set("call", Value::Nil)?;
    redis.raw_set("pcall", Value::Nil)?;
    lua.gc_step()?;
    reply
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

/// `redis.call` / `redis.pcall`: runs one command as EXEC runs a queued one.
/// Returns the converted reply, or the error text (which `call` raises and
/// `pcall` returns as `{err = …}`).
fn redis_call(
    lua: &Lua,
    ctx: &mut Ctx,
    args: MultiValue,
    read_only: bool,
) -> mlua::Result<Result<Value, String>> {
    let fail = |text: &str| Ok(Err(text.to_string()));
    if args.is_empty() {
        return fail(msg::SCRIPT_NO_ARGUMENTS);
    }
    let mut argv = Vec::with_capacity(args.len());
    for a in args {
        match a {
            Value::String(s) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Integer(_) | Value::Number(_) => match lua.coerce_string(a)? {
                Some(s) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
                None => return fail(msg::SCRIPT_BAD_ARGUMENT),
            },
            _ => return fail(msg::SCRIPT_BAD_ARGUMENT),
        }
    }
    let Some(r) = ctx.srv.commands.resolve(&argv) else {
        return fail(msg::SCRIPT_UNKNOWN_COMMAND);
    };
    if !r.spec.arity_ok(argv.len()) {
        return fail(msg::SCRIPT_WRONG_ARITY);
    }
    if r.spec.has(flags::NOSCRIPT) || r.parent.is_some_and(|p| p.has(flags::NOSCRIPT)) {
        return fail(msg::SCRIPT_NOT_ALLOWED);
    }
    if read_only && r.spec.has(flags::WRITE) {
        return fail(msg::SCRIPT_WRITE_IN_READ_ONLY);
    }
    match crate::command::exec::call(ctx, r, &argv) {
        Reply::Error(e) => fail(&e),
        reply => Ok(Ok(to_lua(lua, reply, 0)?)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_num_is_redis_s() {
        assert_eq!(super::version_num("7.0.15"), 0x07000f);
    }
}
