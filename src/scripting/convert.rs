//! Lua values ⇄ replies, as Redis 7.0's script_lua.c converts them (the
//! reply → Lua direction is pushed straight onto the stack by `raw`).
//!
//! Reply → Lua, as the script's protocol (`redis.setresp`) has it: integer →
//! number; bulk → string; status → `{ok = s}`; error → `{err = s}`; array →
//! table. In RESP2 nil → false and RESP3-only shapes are seen as their RESP2
//! form (maps flattened, doubles and big numbers as strings, booleans as
//! 1 / 0); in RESP3 nil → nil, map → `{map = {k = v}}`, set →
//! `{set = {m = true}}`, double → `{double = n}`, boolean → boolean, big
//! number → `{big_number = s}`, verbatim → `{verbatim_string = {format, string}}`.
//!
//! Lua → reply: string → bulk; number → integer (truncated); true → 1 and
//! false → nil in RESP2, booleans in RESP3; nil → nil; a table with `err` →
//! error, `ok` → status, `double`, `big_number`, `verbatim_string`, `map`,
//! `set` → those types, else an array of its elements 1..n up to the first nil.

use bytes::Bytes;
use mlua::{Lua, Table, Value};

use crate::reply::Reply;

/// Nesting beyond which a reply or a returned table is not followed (Redis
/// gives up at the Lua stack limit, "reached lua stack limit").
const MAX_DEPTH: usize = 1000;

pub fn status_table(lua: &Lua, text: &str) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("ok", text)?;
    Ok(t)
}

pub fn error_table(lua: &Lua, text: &str) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("err", text.trim_end_matches(['\r', '\n']))?;
    Ok(t)
}

/// The script's return value as the client's reply; `resp` is the
/// script's protocol (booleans differ).
pub fn from_lua(value: Value, resp: u8, depth: usize) -> Reply {
    match value {
        Value::Nil => Reply::Nil,
        Value::Boolean(b) if resp == 3 => Reply::Bool(b),
        Value::Boolean(true) => Reply::Int(1),
        Value::Boolean(false) => Reply::Nil,
        Value::Integer(n) => Reply::Int(n),
        Value::Number(n) => Reply::Int(number_to_int(n)),
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Table(t) if depth < MAX_DEPTH => table_reply(t, resp, depth),
        Value::Table(_) => Reply::Error(crate::error::msg::LUA_STACK_LIMIT.to_string()),
        // Functions, userdata, threads: Redis answers nil.
        _ => Reply::Nil,
    }
}

/// C's `(long long)` cast of a lua_Number: truncation, saturating here
/// where C would be undefined.
fn number_to_int(n: f64) -> i64 {
    if n.is_nan() {
        i64::MIN
    } else {
        n as i64
    }
}

fn field(t: &Table, name: &str) -> Value {
    t.raw_get::<Value>(name).unwrap_or(Value::Nil)
}

/// Redis replaces CR and LF in statuses and big numbers with spaces.
fn one_line(s: &mlua::String) -> String {
    s.to_string_lossy().replace(['\r', '\n'], " ")
}

fn table_reply(t: Table, resp: u8, depth: usize) -> Reply {
    if let Value::String(e) = field(&t, "err") {
        return Reply::Error(error_text(&e.to_string_lossy()));
    }
    if let Value::String(s) = field(&t, "ok") {
        return Reply::StatusOwned(one_line(&s));
    }
    match field(&t, "double") {
        Value::Number(d) => return Reply::Double(d),
        Value::Integer(n) => return Reply::Double(n as f64),
        _ => {}
    }
    if let Value::String(s) = field(&t, "big_number") {
        return Reply::BigNumber(one_line(&s));
    }
    if let Value::Table(v) = field(&t, "verbatim_string") {
        if let (Value::String(f), Value::String(s)) = (field(&v, "format"), field(&v, "string")) {
            let format = match &*f.to_string_lossy() {
                "mkd" => "mkd",
                _ => "txt",
            };
            return Reply::Verbatim(format, Bytes::copy_from_slice(&s.as_bytes()));
        }
    }
    if let Value::Table(m) = field(&t, "map") {
        let pairs = m
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, v)| (from_lua(k, resp, depth + 1), from_lua(v, resp, depth + 1)))
            .collect();
        return Reply::Map(pairs);
    }
    if let Value::Table(s) = field(&t, "set") {
        let members = s
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, _)| from_lua(k, resp, depth + 1))
            .collect();
        return Reply::Set(members);
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(from_lua(v, resp, depth + 1)),
        }
    }
    Reply::Array(items)
}

/// The `err` text Redis's luaPushErrorBuff makes of `-CODE message` (the
/// code is the first word) or of a bare message (code `ERR`); CR / LF at
/// either end trimmed.
pub fn lua_error_text(buf: &str) -> String {
    let trim = |m: &str| m.trim_matches(['\r', '\n']).to_string();
    match buf.strip_prefix('-') {
        Some(rest) => match rest.find(' ') {
            Some(i) => format!("{} {}", &rest[..i], trim(&rest[i + 1..])),
            None => crate::error::msg::script_err(trim(rest)),
        },
        None => crate::error::msg::script_err(trim(buf)),
    }
}

/// A number as Redis passes it to a command: C's `%.17g` (Lua's own
/// `%.14g` loses precision).
pub fn format_g17(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Whole numbers below 1e17 print as integers under %.17g: the common
    // case (counters, ids), without the exact-digits formatter.
    if n.fract() == 0.0 && n.abs() < 1e17 {
        return itoa::Buffer::new().format(n as i64).to_string();
    }
    // 17 significant digits: d.dddddddddddddddde±x.
    let sci = format!("{n:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let m = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = (16 - exp).max(0) as usize;
    trim_fraction(&format!("{n:.decimals$}")).to_string()
}

/// `%g` drops trailing zeros of the fraction, and the point with them.
fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// An `err` field as the error line Redis sends: its text as is, with
/// Redis's `-` prefix stripped (`redis.error_reply` adds one).
pub fn error_text(e: &str) -> String {
    let e = e.strip_prefix('-').unwrap_or(e);
    e.trim_end_matches(['\r', '\n']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_as_c_s_percent_17g() {
        assert_eq!(format_g17(9007199254740991.0), "9007199254740991");
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(format_g17(1.5), "1.5");
        assert_eq!(format_g17(-3.0), "-3");
        assert_eq!(format_g17(1e20), "1e+20");
        assert_eq!(format_g17(1.25e-7), "1.2499999999999999e-07");
        assert_eq!(
            format_g17(123456789012345680000.0),
            "1.2345678901234568e+20"
        );
    }

    #[test]
    fn error_reply_texts_follow_lua_push_error_buff() {
        assert_eq!(lua_error_text("-MY_ERR custom"), "MY_ERR custom");
        let generic = crate::error::msg::script_err;
        assert_eq!(lua_error_text("-"), generic(""));
        assert_eq!(lua_error_text("-X\r\n"), generic("X"));
        assert_eq!(lua_error_text("plain"), generic("plain"));
    }

    #[test]
    fn numbers_truncate_and_arrays_stop_at_the_first_nil() {
        let lua = Lua::new();
        let v: Value = lua.load("return {1, 2.9, -3.5, nil, 5}").eval().unwrap();
        assert_eq!(
            format!("{:?}", from_lua(v, 2, 0)),
            format!(
                "{:?}",
                Reply::Array(vec![Reply::Int(1), Reply::Int(2), Reply::Int(-3)])
            )
        );
    }
}
