//! `redis.call` and `redis.pcall` as Lua C functions, as Redis writes them
//! (script_lua.c's luaRedisGenericCommand): the arguments are read straight
//! off the Lua stack and the reply is pushed straight onto it, with no
//! intermediate Lua values. This is the hot path of every script, and it
//! takes as many arguments as Lua's stack holds (`unpack` of thousands).
//!
//! The protocol: `call_inner` does all the work and drops every Rust value
//! before it returns; only then may the C function raise a Lua error
//! (`lua_error` unwinds by longjmp, past this frame).

use std::os::raw::c_int;

use bytes::Bytes;
use mlua::ffi::{self, lua_State};

use super::call::{execute, with_run};
use super::convert::{error_text, format_g17};
use crate::error::msg;
use crate::reply::Reply;

/// Nesting beyond which a reply is not followed (as `convert::to_lua`).
const MAX_DEPTH: usize = 1000;

/// `redis.call(cmd, …)`: the reply, or raises the command's error.
pub unsafe extern "C-unwind" fn redis_call(l: *mut lua_State) -> c_int {
    finish(l, guarded(l, true))
}

/// `redis.pcall(cmd, …)`: the reply, or the error as `{err = …}`.
pub unsafe extern "C-unwind" fn redis_pcall(l: *mut lua_State) -> c_int {
    finish(l, guarded(l, false))
}

unsafe fn finish(l: *mut lua_State, done: Done) -> c_int {
    match done {
        Done::Pushed => 1,
        Done::Raise => ffi::lua_error(l),
    }
}

/// `call_inner`, with a panic (a bug in a command) turned into the
/// script's error instead of unwinding through Lua's C frames.
unsafe fn guarded(l: *mut lua_State, raise: bool) -> Done {
    let top = ffi::lua_gettop(l);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call_inner(l, raise))) {
        Ok(done) => done,
        Err(_) => {
            ffi::lua_settop(l, top);
            push_error(l, msg::SCRIPT_COMMAND_PANICKED, false);
            Done::Raise
        }
    }
}

enum Done {
    /// One value is on top of the stack: return it.
    Pushed,
    /// An error table is on top of the stack: raise it.
    Raise,
}

/// Reads the arguments, runs the command, pushes the reply or the error.
unsafe fn call_inner(l: *mut lua_State, raise: bool) -> Done {
    let argv = read_args(l);
    // The arguments are copied: free their stack slots for the reply (a
    // call may take thousands, close to Lua's limit).
    ffi::lua_settop(l, 0);
    let argv = match argv {
        Ok(argv) => argv,
        Err(text) => {
            // The script's own mistake: counted when the script fails.
            push_error(l, text, false);
            return if raise { Done::Raise } else { Done::Pushed };
        }
    };
    let outcome = with_run(|run| {
        let result = execute(run, argv);
        (result, run.resp)
    });
    let Some((result, resp)) = outcome else {
        push_error(l, msg::SCRIPT_CALL_OUTSIDE, false);
        return Done::Raise;
    };
    match result {
        Ok(reply) => {
            push_reply(l, &reply, resp, 0);
            Done::Pushed
        }
        Err((text, counted)) => {
            if raise {
                if counted {
                    with_run(|run| run.raised = true);
                }
                push_error(l, &text, false);
                Done::Raise
            } else {
                // Returned as the script's reply, an error already counted
                // is not counted again (Redis's ignore_error_stats_update).
                push_error(l, &text, counted);
                Done::Pushed
            }
        }
    }
}

/// The command's words: strings as they are, numbers as `%.17g`.
unsafe fn read_args(l: *mut lua_State) -> Result<Vec<Bytes>, &'static str> {
    let argc = ffi::lua_gettop(l);
    if argc <= 0 {
        return Err(msg::SCRIPT_NO_ARGUMENTS);
    }
    let mut argv = Vec::with_capacity(argc as usize);
    for i in 1..=argc {
        match ffi::lua_type(l, i) {
            ffi::LUA_TNUMBER => argv.push(Bytes::from(format_g17(ffi::lua_tonumber(l, i)))),
            ffi::LUA_TSTRING => {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(l, i, &mut len);
                if p.is_null() {
                    return Err(msg::SCRIPT_BAD_ARGUMENT);
                }
                argv.push(Bytes::copy_from_slice(std::slice::from_raw_parts(
                    p as *const u8,
                    len,
                )));
            }
            _ => return Err(msg::SCRIPT_BAD_ARGUMENT),
        }
    }
    Ok(argv)
}

unsafe fn push_bytes(l: *mut lua_State, b: &[u8]) {
    ffi::lua_pushlstring(l, b.as_ptr() as *const _, b.len());
}

/// `t[name] = <value on top>` for the table just below it.
unsafe fn set_field(l: *mut lua_State, name: &str) {
    push_bytes(l, name.as_bytes());
    ffi::lua_insert(l, -2);
    ffi::lua_rawset(l, -3);
}

/// `{err = text}` (and `ignore_error_stats_update = true` when asked).
unsafe fn push_error(l: *mut lua_State, text: &str, counted: bool) {
    ffi::lua_createtable(l, 0, 2);
    push_bytes(l, error_text(text).as_bytes());
    set_field(l, "err");
    if counted {
        ffi::lua_pushboolean(l, 1);
        set_field(l, "ignore_error_stats_update");
    }
}

/// `{name = <value pushed by f>}`: how RESP3 types reach a script.
unsafe fn push_tagged(l: *mut lua_State, name: &str, f: impl FnOnce()) {
    ffi::lua_createtable(l, 0, 1);
    f();
    set_field(l, name);
}

/// A command's reply as the script sees it in protocol `resp` (the same
/// shapes as `convert::to_lua`).
unsafe fn push_reply(l: *mut lua_State, reply: &Reply, resp: u8, depth: usize) {
    if depth > MAX_DEPTH || ffi::lua_checkstack(l, 4) == 0 {
        ffi::lua_pushboolean(l, 0);
        return;
    }
    match reply {
        Reply::Ok => push_tagged(l, "ok", || push_bytes(l, b"OK")),
        Reply::Status(s) => push_tagged(l, "ok", || push_bytes(l, s.as_bytes())),
        Reply::StatusOwned(s) => push_tagged(l, "ok", || push_bytes(l, s.as_bytes())),
        Reply::Error(e) => push_error(l, e, false),
        Reply::Int(n) => ffi::lua_pushnumber(l, *n as f64),
        Reply::Bulk(b) | Reply::Raw(b) => push_bytes(l, b),
        Reply::Nil | Reply::NilArray if resp == 3 => ffi::lua_pushnil(l),
        Reply::Nil | Reply::NilArray => ffi::lua_pushboolean(l, 0),
        Reply::Array(items) | Reply::Push(items) | Reply::Many(items) => {
            push_array(l, items.iter(), items.len(), resp, depth)
        }
        Reply::Set(items) if resp == 3 => push_tagged(l, "set", || {
            ffi::lua_createtable(l, 0, items.len() as c_int);
            for m in items {
                push_reply(l, m, resp, depth + 1);
                if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
                    ffi::lua_settop(l, -2);
                    continue;
                }
                ffi::lua_pushboolean(l, 1);
                ffi::lua_rawset(l, -3);
            }
        }),
        Reply::Set(items) => push_array(l, items.iter(), items.len(), resp, depth),
        Reply::Map(pairs) | Reply::Pairs(pairs) if resp == 3 => push_tagged(l, "map", || {
            ffi::lua_createtable(l, 0, pairs.len() as c_int);
            for (k, v) in pairs {
                push_reply(l, k, resp, depth + 1);
                if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
                    ffi::lua_settop(l, -2);
                    continue;
                }
                push_reply(l, v, resp, depth + 1);
                ffi::lua_rawset(l, -3);
            }
        }),
        Reply::Map(pairs) | Reply::Pairs(pairs) => push_array(
            l,
            pairs.iter().flat_map(|(k, v)| [k, v]),
            pairs.len() * 2,
            resp,
            depth,
        ),
        Reply::Double(d) if resp == 3 => push_tagged(l, "double", || ffi::lua_pushnumber(l, *d)),
        Reply::Double(d) => push_bytes(l, crate::reply::format_double(*d).as_bytes()),
        Reply::HumanDouble(d) if resp == 3 => {
            push_tagged(l, "double", || ffi::lua_pushnumber(l, *d))
        }
        Reply::HumanDouble(d) => push_bytes(l, crate::types::geohash::format_human(*d).as_bytes()),
        Reply::Bool(b) if resp == 3 => ffi::lua_pushboolean(l, *b as c_int),
        Reply::Bool(b) => ffi::lua_pushnumber(l, *b as i64 as f64),
        Reply::BigNumber(n) if resp == 3 => {
            push_tagged(l, "big_number", || push_bytes(l, n.as_bytes()))
        }
        Reply::BigNumber(n) => push_bytes(l, n.as_bytes()),
        Reply::Verbatim(format, b) if resp == 3 => push_tagged(l, "verbatim_string", || {
            ffi::lua_createtable(l, 0, 2);
            push_bytes(l, format.as_bytes());
            set_field(l, "format");
            push_bytes(l, b);
            set_field(l, "string");
        }),
        Reply::Verbatim(_, b) => push_bytes(l, b),
    }
}

unsafe fn push_array<'r>(
    l: *mut lua_State,
    items: impl Iterator<Item = &'r Reply>,
    len: usize,
    resp: u8,
    depth: usize,
) {
    ffi::lua_createtable(l, len as c_int, 0);
    for (i, item) in items.enumerate() {
        push_reply(l, item, resp, depth + 1);
        ffi::lua_rawseti(l, -2, (i + 1) as ffi::lua_Integer);
    }
}
