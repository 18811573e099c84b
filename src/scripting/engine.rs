//! The Lua 5.1 states, set up as Redis 7.0's scriptingInit and
//! luaEngineInitEngine set up theirs: one for EVAL scripts and one for
//! function libraries, per thread.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::raw::c_int;

use bytes::Bytes;
use mlua::{Function, Lua, LuaOptions, MultiValue, RegistryKey, StdLib, Table, Value};

use super::convert::{error_table, status_table};
use super::functions::{flag_of, valid_name, FunctionInfo, Libraries};
use crate::error::msg;

/// Lua code of the API layer, loaded once per state. Its chunk name
/// (`=redis_api`) lets the error handler skip its frames, as Redis's skips C
/// frames, so errors point at the script's own line. The handler is Redis's
/// `__redis__err__handler`, kept in a local instead of a global.
///
/// `function_env` builds the environment of function libraries: an empty,
/// read-only table whose lookups go to the load-time API (only `redis`,
/// with `register_function`) while FUNCTION LOAD runs the code, and to the
/// globals afterwards, as Redis switches its globals' `__index`.
const API: &str = r#"
local dbg = debug
debug = nil
local error_of, readonly
local global_msg
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
local function missing(_, k) error(global_msg .. "'" .. tostring(k) .. "'", 2) end
-- Redis's luaRedisPcall: a failed call returns the error's `err` text
-- rather than the error table (errors raised from Rust become that table
-- first).
local raw_pcall = pcall
local function pcall_result(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'userdata' then e = error_of(e) end
  if type(e) == 'table' then
    local text = rawget(e, 'err')
    if type(text) == 'string' or type(text) == 'number' then return false, text end
  end
  return false, e
end
-- Redis's luaSetTableProtectionRecursively: the table, the tables it holds
-- and their metatables become read-only (Redis's Lua patch).
local function protect(t, seen)
  if seen[t] then return end
  seen[t] = true
  for _, v in next, t do
    if type(v) == 'table' then protect(v, seen) end
  end
  local mt = getmetatable(t)
  if type(mt) == 'table' then protect(mt, seen) end
  readonly(t, true)
end
local function init(errors, gmsg, set_readonly)
  error_of, global_msg, readonly = errors, gmsg, set_readonly
  pcall = function(...) return pcall_result(raw_pcall(...)) end
  setmetatable(_G, {__index = missing})
  local seen = {}
  protect(_G, seen)
  protect(getmetatable(''), seen)
end
local function function_env(load_redis)
  setmetatable(load_redis, {__index = missing})
  local load_api = setmetatable({redis = load_redis}, {__index = missing})
  protect(load_api, {})
  local mt = {__index = _G}
  local env = setmetatable({}, mt)
  readonly(env, true)
  readonly(mt, true)
  local function loading(on)
    readonly(mt, false)
    if on then mt.__index = load_api else mt.__index = _G end
    readonly(mt, true)
  end
  return env, loading
end
-- Lua 5.1's xpcall passes no arguments to the function it calls.
local function fcall(f, handler, keys, args)
  return xpcall(function() return f(keys, args) end, handler)
end
-- EVAL's KEYS and ARGV, set in one call per run.
local function set_args(keys, args)
  readonly(_G, false)
  rawset(_G, 'KEYS', keys)
  rawset(_G, 'ARGV', args)
  readonly(_G, true)
end
return handler, init, function_env, fcall, set_args
"#;

/// One Lua state with Redis's API.
pub struct State {
    pub lua: Lua,
    pub handler: RegistryKey,
    /// The global `xpcall`, the API's `fcall(f, handler, keys, args)` and
    /// `set_args(keys, args)` (EVAL's globals).
    pub xpcall: Function,
    pub fcall: Function,
    pub set_args: Function,
    function_env: Function,
}

extern "C-unwind" {
    fn lua_enablereadonlytable(l: *mut mlua::ffi::lua_State, index: c_int, enabled: c_int);
}

/// `readonly(table, on)` for Lua (the API chunk keeps it in a local).
unsafe extern "C-unwind" fn readonly_c(l: *mut mlua::ffi::lua_State) -> c_int {
    if mlua::ffi::lua_type(l, 1) == mlua::ffi::LUA_TTABLE {
        lua_enablereadonlytable(l, 1, mlua::ffi::lua_toboolean(l, 2));
    }
    0
}

/// The error handler's view of an error raised from Rust: `{err = ERR …}`
/// (`redis.call` raises its `{err = …}` table itself: `raw`).
fn error_of(lua: &Lua, err: Value) -> mlua::Result<Value> {
    let Value::Error(e) = err else {
        return Ok(err);
    };
    Ok(Value::Table(error_table(lua, &error_text(&e))?))
}

/// The text of an error raised from Rust, as Redis's luaPushError formats it.
pub fn error_text(e: &mlua::Error) -> String {
    let mut root: &mlua::Error = e;
    while let mlua::Error::CallbackError { cause, .. } = root {
        root = cause;
    }
    match root {
        mlua::Error::ExternalError(x) => msg::script_err(x),
        mlua::Error::RuntimeError(m) => msg::script_err(m),
        other => msg::script_err(other),
    }
}

fn new_state() -> mlua::Result<State> {
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
    for name in ["loadfile", "dofile", "print"] {
        globals.raw_set(name, Value::Nil)?;
    }
    super::libs::open(&lua)?;
    globals.raw_set("redis", redis_table(&lua)?)?;
    let (handler, init, function_env, fcall, set_args): (
        Function,
        Function,
        Function,
        Function,
        Function,
    ) = lua.load(API).set_name("=redis_api").eval()?;
    let xpcall: Function = globals.raw_get("xpcall")?;
    super::call::install_hook(&lua);
    // SAFETY: a C function of Redis's Lua, taking (table, boolean).
    let readonly = unsafe { lua.create_c_function(readonly_c)? };
    init.call::<()>((
        lua.create_function(error_of)?,
        msg::SCRIPT_NONEXISTENT_GLOBAL,
        readonly,
    ))?;
    Ok(State {
        handler: lua.create_registry_value(handler)?,
        lua,
        xpcall,
        fcall,
        set_args,
        function_env,
    })
}

fn log_function(lua: &Lua) -> mlua::Result<Function> {
    lua.create_function(|_, args: MultiValue| {
        let mut args = args.into_iter();
        let level = match args.next() {
            Some(Value::Integer(n)) => n,
            Some(Value::Number(n)) => n as i64,
            _ => return Err(mlua::Error::runtime(msg::SCRIPT_LOG_ARGS)),
        };
        if args.len() == 0 {
            return Err(mlua::Error::runtime(msg::SCRIPT_LOG_ARGS));
        }
        if !(0..=3).contains(&level) {
            return Err(mlua::Error::runtime(msg::SCRIPT_LOG_LEVEL));
        }
        let line: Vec<String> = args.map(|v| v.to_string().unwrap_or_default()).collect();
        let line = line.join(" ");
        match level {
            0 => tracing::debug!("{line}"),
            1 | 2 => tracing::info!("{line}"),
            _ => tracing::warn!("{line}"),
        }
        Ok(())
    })
}

fn set_log_and_version(lua: &Lua, redis: &Table) -> mlua::Result<()> {
    redis.raw_set("log", log_function(lua)?)?;
    for (name, value) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
    ] {
        redis.raw_set(name, value)?;
    }
    redis.raw_set("REDIS_VERSION", crate::REDIS_VERSION)?;
    redis.raw_set("REDIS_VERSION_NUM", version_num(crate::REDIS_VERSION))?;
    Ok(())
}

/// The `redis` table (`call`, `pcall`, `setresp` and `set_repl` act on the
/// run in progress: `super::call`).
fn redis_table(lua: &Lua) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    super::call::install(lua, &redis)?;
    redis.raw_set(
        "sha1hex",
        lua.create_function(|_, args: MultiValue| {
            if args.len() != 1 {
                return Err(mlua::Error::runtime(msg::SCRIPT_SHA1HEX_ARGS));
            }
            let s = match args.into_iter().next() {
                Some(Value::String(s)) => s.as_bytes().to_vec(),
                Some(Value::Integer(n)) => n.to_string().into_bytes(),
                Some(Value::Number(n)) => mlua::Value::Number(n)
                    .to_string()
                    .unwrap_or_default()
                    .into_bytes(),
                _ => Vec::new(),
            };
            Ok(super::sha1hex(&s))
        })?,
    )?;
    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| match one_string(args) {
            Some(s) => {
                let s = if s.starts_with('-') {
                    s
                } else {
                    format!("-{s}")
                };
                error_table(lua, &super::convert::lua_error_text(&s))
            }
            None => error_table(lua, &msg::script_err(msg::SCRIPT_REPLY_ARGS)),
        })?,
    )?;
    redis.raw_set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| match one_string(args) {
            Some(s) => status_table(lua, &s),
            None => error_table(lua, &msg::script_err(msg::SCRIPT_REPLY_ARGS)),
        })?,
    )?;
    set_log_and_version(lua, &redis)?;
    // Effects replication is the only mode in Redis 7.
    redis.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    for (name, value) in [
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, value)?;
    }
    Ok(redis)
}

/// The single string argument of `error_reply` / `status_reply`.
fn one_string(args: MultiValue) -> Option<String> {
    if args.len() != 1 {
        return None;
    }
    match args.into_iter().next() {
        Some(Value::String(s)) => Some(s.to_string_lossy()),
        _ => None,
    }
}

/// `7.0.15` → 0x07000f, as Redis's REDIS_VERSION_NUM.
fn version_num(v: &str) -> i64 {
    v.split('.')
        .take(3)
        .map(|p| p.parse::<i64>().unwrap_or(0))
        .fold(0, |acc, p| (acc << 8) | p)
}

// ------------------------------------------------------------ EVAL state

/// The EVAL state of one thread and the scripts it compiled, by SHA1.
pub struct EvalEngine {
    pub state: State,
    generation: u64,
    scripts: HashMap<String, RegistryKey>,
}

thread_local! {
    static EVAL: RefCell<Option<EvalEngine>> = const { RefCell::new(None) };
    static FUNCTIONS: RefCell<Option<FunctionEngine>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's EVAL state, made anew after SCRIPT FLUSH.
pub fn with_eval<R>(generation: u64, f: impl FnOnce(&mut EvalEngine) -> R) -> Result<R, String> {
    EVAL.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|e| e.generation != generation) {
            *slot = Some(EvalEngine {
                state: new_state().map_err(msg::script_err)?,
                generation,
                scripts: HashMap::new(),
            });
        }
        match slot.as_mut() {
            Some(engine) => Ok(f(engine)),
            None => Err(msg::script_failed("(no Lua state)")),
        }
    })
}

impl EvalEngine {
    /// The compiled script `sha` (its body without the shebang line, whose
    /// newline stays so line numbers hold).
    pub fn script(&mut self, sha: &str, body: &[u8]) -> Result<Function, String> {
        if let Some(key) = self.scripts.get(sha) {
            return self.state.lua.registry_value(key).map_err(msg::script_err);
        }
        let f = self
            .state
            .lua
            .load(body)
            .set_name("@user_script")
            .set_mode(mlua::ChunkMode::Text)
            .into_function()
            .map_err(|e| msg::script_compile(&compile_message(&e)))?;
        if let Ok(key) = self.state.lua.create_registry_value(f.clone()) {
            self.scripts.insert(sha.to_string(), key);
        }
        Ok(f)
    }
}

fn compile_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

// -------------------------------------------------------- function state

/// The function state of one thread: every library's code run in it, and
/// the registered functions by lowercase name.
pub struct FunctionEngine {
    pub state: State,
    generation: u64,
    functions: HashMap<String, RegistryKey>,
}

/// What `redis.register_function` collects while a library loads.
#[derive(Default)]
struct Registering {
    functions: Vec<(FunctionInfo, RegistryKey)>,
}

/// Runs `f` with this thread's function state, rebuilt from `libs` when the
/// registry changed since it was built.
pub fn with_functions<R>(
    generation: u64,
    libs: impl FnOnce() -> Libraries,
    f: impl FnOnce(&mut FunctionEngine) -> R,
) -> Result<R, String> {
    FUNCTIONS.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|e| e.generation != generation) {
            *slot = Some(FunctionEngine::build(generation, &libs())?);
        }
        match slot.as_mut() {
            Some(engine) => Ok(f(engine)),
            None => Err(msg::script_failed("(no Lua state)")),
        }
    })
}

impl FunctionEngine {
    fn build(generation: u64, libs: &Libraries) -> Result<FunctionEngine, String> {
        let state = new_state().map_err(msg::script_err)?;
        let mut functions = HashMap::new();
        for lib in libs.iter() {
            let body = match lib.code.iter().position(|&b| b == b'\n') {
                Some(at) => &lib.code[at..],
                None => continue,
            };
            // Each loaded once already; a failure now (none expected) leaves
            // that library's functions out ("Function not found").
            if let Ok(found) = run_library(&state, body, 0) {
                for (info, key) in found {
                    functions.insert(info.name.to_ascii_lowercase(), key);
                }
            }
        }
        Ok(FunctionEngine {
            state,
            generation,
            functions,
        })
    }

    pub fn function(&self, name: &str) -> Option<Function> {
        let key = self.functions.get(&name.to_ascii_lowercase())?;
        self.state.lua.registry_value(key).ok()
    }
}

/// FUNCTION LOAD's check of a library: runs `body` (the code after the
/// shebang line) in a fresh state and returns what it registered.
pub fn load_library(body: &[u8], timeout_ms: u64) -> Result<Vec<FunctionInfo>, String> {
    let state = new_state().map_err(msg::script_err)?;
    Ok(run_library(&state, body, timeout_ms)?
        .into_iter()
        .map(|(info, _)| info)
        .collect())
}

/// Runs a library's code with the load-time API (Redis's luaEngineCreate).
fn run_library(
    state: &State,
    body: &[u8],
    timeout_ms: u64,
) -> Result<Vec<(FunctionInfo, RegistryKey)>, String> {
    let lua = &state.lua;
    let chunk = lua
        .load(body)
        .set_name("@user_function")
        .set_mode(mlua::ChunkMode::Text)
        .into_function()
        .map_err(|e| msg::function_compile(&compile_message(&e)))?;
    let result = (|| -> mlua::Result<Result<Vec<_>, String>> {
        let load_redis = lua.create_table()?;
        load_redis.raw_set("register_function", register_function(lua)?)?;
        set_log_and_version(lua, &load_redis)?;
        let (env, loading): (Table, Function) = state.function_env.call(load_redis)?;
        chunk.set_environment(env)?;
        lua.set_app_data(Registering::default());
        loading.call::<()>(true)?;
        let ran: MultiValue = super::call::with_load_deadline(timeout_ms, || {
            let handler: Function = lua.registry_value(&state.handler)?;
            state.xpcall.call((chunk, handler))
        })?;
        loading.call::<()>(false)?;
        let registered = lua.remove_app_data::<Registering>().unwrap_or_default();
        let mut ran = ran.into_iter();
        if !matches!(ran.next(), Some(Value::Boolean(true))) {
            let text = match ran.next() {
                Some(Value::Table(t)) => t.raw_get::<Option<String>>("err")?.unwrap_or_default(),
                Some(other) => other.to_string().unwrap_or_default(),
                None => String::new(),
            };
            return Ok(Err(msg::function_register_failed(&text)));
        }
        Ok(Ok(registered.functions))
    })();
    match result {
        Ok(r) => r,
        Err(e) => Err(msg::script_err(e)),
    }
}

/// `redis.register_function(name, callback)` or
/// `redis.register_function{function_name=…, callback=…, flags=…, description=…}`.
fn register_function(lua: &Lua) -> mlua::Result<Function> {
    lua.create_function(|lua, args: MultiValue| {
        let fail = |text: &str| Err(mlua::Error::runtime(text.to_string()));
        if lua.app_data_ref::<Registering>().is_none() {
            return fail(msg::REGISTER_ONLY_ON_LOAD);
        }
        let (info, callback) = match args.len() {
            1 => named_registration(args)?,
            2 => positional_registration(args)?,
            _ => return fail(msg::REGISTER_WRONG_ARGS),
        };
        if !valid_name(&info.name) {
            return fail(msg::LIBRARY_NAME_FORMAT);
        }
        let key = lua.create_registry_value(callback)?;
        let Some(mut reg) = lua.app_data_mut::<Registering>() else {
            return fail(msg::REGISTER_ONLY_ON_LOAD);
        };
        if reg
            .functions
            .iter()
            .any(|(f, _)| f.name.eq_ignore_ascii_case(&info.name))
        {
            return fail(msg::FUNCTION_EXISTS_IN_LIBRARY);
        }
        reg.functions.push((info, key));
        Ok(())
    })
}

fn positional_registration(args: MultiValue) -> mlua::Result<(FunctionInfo, Function)> {
    let mut args = args.into_iter();
    let name = match args.next() {
        Some(Value::String(s)) => s.to_string_lossy(),
        Some(Value::Integer(n)) => n.to_string(),
        _ => return Err(mlua::Error::runtime(msg::REGISTER_FIRST_ARG)),
    };
    let Some(Value::Function(callback)) = args.next() else {
        return Err(mlua::Error::runtime(msg::REGISTER_SECOND_ARG));
    };
    let info = FunctionInfo {
        name,
        description: None,
        flags: 0,
    };
    Ok((info, callback))
}

fn named_registration(args: MultiValue) -> mlua::Result<(FunctionInfo, Function)> {
    let fail = |text: &str| Err(mlua::Error::runtime(text.to_string()));
    let Some(Value::Table(t)) = args.into_iter().next() else {
        return fail(msg::REGISTER_SINGLE_NOT_TABLE);
    };
    let (mut name, mut description, mut callback, mut flags) = (None, None, None, 0);
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        let Value::String(k) = k else {
            return fail(msg::REGISTER_KEY_NOT_STRING);
        };
        let k = k.to_string_lossy().to_ascii_lowercase();
        match (k.as_str(), v) {
            ("function_name", Value::String(s)) => name = Some(s.to_string_lossy()),
            ("function_name", _) => return fail(msg::REGISTER_NAME_NOT_STRING),
            ("description", Value::String(s)) => {
                description = Some(Bytes::copy_from_slice(&s.as_bytes()))
            }
            ("description", _) => return fail(msg::REGISTER_DESCRIPTION_NOT_STRING),
            ("callback", Value::Function(f)) => callback = Some(f),
            ("callback", _) => return fail(msg::REGISTER_CALLBACK_NOT_FUNCTION),
            ("flags", Value::Table(list)) => {
                for flag in list.sequence_values::<Value>() {
                    let Value::String(flag) = flag? else {
                        return fail(msg::REGISTER_UNKNOWN_FLAG);
                    };
                    match flag_of(&flag.to_string_lossy()) {
                        Some(f) => flags |= f,
                        None => return fail(msg::REGISTER_UNKNOWN_FLAG),
                    }
                }
            }
            ("flags", _) => return fail(msg::REGISTER_FLAGS_NOT_TABLE),
            _ => return fail(msg::REGISTER_UNKNOWN_ARGUMENT),
        }
    }
    let Some(name) = name else {
        return fail(msg::REGISTER_NAME_MISSING);
    };
    let Some(callback) = callback else {
        return fail(msg::REGISTER_CALLBACK_MISSING);
    };
    Ok((
        FunctionInfo {
            name,
            description,
            flags,
        },
        callback,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_num_is_redis_s() {
        assert_eq!(version_num("7.0.15"), 0x07000f);
    }

    #[test]
    fn a_library_registers_its_functions_with_flags() {
        let found = load_library(
            b"\nredis.register_function('f1', function() return 1 end)\n\
              redis.register_function{function_name='f2', callback=function() end, \
              flags={'no-writes'}, description='two'}",
            0,
        )
        .expect("loads");
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].name, "f2");
        assert_eq!(found[1].flags, super::super::flags::NO_WRITES);
        assert_eq!(found[1].description.as_deref(), Some(&b"two"[..]));
    }

    #[test]
    fn load_time_api_is_only_redis_register_and_log() {
        let e = load_library(b"\nreturn math.random()", 0).unwrap_err();
        assert!(e.contains("nonexistent global variable 'math'"), "{e}");
        let e = load_library(b"\nredis.call('ping')", 0).unwrap_err();
        assert!(e.contains("nonexistent global variable 'call'"), "{e}");
        let e = load_library(b"\na = 1", 0).unwrap_err();
        assert!(e.contains("Attempt to modify a readonly table"), "{e}");
    }

    #[test]
    fn a_load_that_runs_too_long_times_out() {
        let e = load_library(b"\nlocal a = 1 while 1 do a = a + 1 end", 50).unwrap_err();
        assert!(e.contains("FUNCTION LOAD timeout"), "{e}");
    }
}
