//! Argument parsing with Redis's rules and error replies.

use bytes::Bytes;

use crate::conn::protocol::parse_i64;
use crate::error::{CmdError, CmdResult};

pub fn int(arg: &[u8]) -> CmdResult<i64> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Non-negative integer, or `ERR value is out of range, must be positive`.
pub fn positive(arg: &[u8]) -> CmdResult<i64> {
    // Redis gives the one error for a negative count and for a non-integer.
    match int(arg) {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(CmdError::OutOfRangeMustBePositive),
    }
}

/// Redis's `string2ld`/`strtold` rules for float arguments: no spaces, no empty
/// string, `inf`/`-inf` allowed, NaN refused.
pub fn float(arg: &[u8]) -> CmdResult<f64> {
    parse_float(arg).ok_or(CmdError::NotFloat)
}

pub fn parse_float(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || arg.len() > 5000 {
        return None;
    }
    if arg[0].is_ascii_whitespace() || arg[arg.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let s = std::str::from_utf8(arg).ok()?;
    let lower = s.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            if lower.contains("inf") || lower.contains("nan") {
                return None;
            }
            if lower.starts_with("0x") || lower.starts_with("-0x") || lower.starts_with("+0x") {
                return None;
            }
            s.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        return None;
    }
    Some(v)
}

pub fn eq(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Blocking-command timeout in seconds (may be fractional) → milliseconds; 0 = forever.
pub fn timeout_secs(arg: &[u8]) -> CmdResult<u64> {
    let v = parse_float(arg).ok_or(CmdError::TimeoutNotFloat)?;
    if v.is_infinite() && v > 0.0 {
        return Err(CmdError::custom(crate::error::msg::TIMEOUT_IS_OUT_OF_RANGE));
    }
    // Redis truncates seconds*1000 to whole milliseconds before the sign check.
    let ms = (v * 1000.0).trunc();
    if ms < 0.0 {
        return Err(CmdError::TimeoutNegative);
    }
    if ms > (i64::MAX / 2) as f64 {
        return Err(CmdError::custom(crate::error::msg::TIMEOUT_IS_OUT_OF_RANGE));
    }
    Ok(ms as u64)
}

/// A cursor over arguments for option parsing.
pub struct ArgCursor<'a> {
    args: &'a [Bytes],
    pos: usize,
}

impl<'a> ArgCursor<'a> {
    pub fn new(args: &'a [Bytes], start: usize) -> Self {
        ArgCursor { args, pos: start }
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<&'a Bytes> {
        let a = self.args.get(self.pos);
        if a.is_some() {
            self.pos += 1;
        }
        a
    }

    pub fn value(&mut self) -> CmdResult<&'a Bytes> {
        self.next().ok_or(CmdError::Syntax)
    }

    pub fn remaining(&self) -> usize {
        self.args.len().saturating_sub(self.pos)
    }
}

/// Key positions of a `numkeys key…` command (LMPOP, ZUNION, BZMPOP…): the count
/// is at `args[at]` and the keys follow it. A bad count gives no keys; the
/// handler reports the error.
pub fn numkeys_positions(args: &[bytes::Bytes], at: usize) -> Vec<usize> {
    let Some(n) = args.get(at).and_then(|a| int(a).ok()) else {
        return Vec::new();
    };
    if n <= 0 {
        return Vec::new();
    }
    let first = at + 1;
    let last = first.saturating_add(n as usize).min(args.len());
    (first..last).collect()
}

/// `numkeys key…` right after the command name.
pub fn numkeys_at_1(args: &[bytes::Bytes]) -> Vec<usize> {
    numkeys_positions(args, 1)
}

/// `timeout numkeys key…` (the blocking variants).
pub fn numkeys_at_2(args: &[bytes::Bytes]) -> Vec<usize> {
    numkeys_positions(args, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_redis() {
        assert_eq!(parse_float(b"1.5"), Some(1.5));
        assert_eq!(parse_float(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float(b" 1"), None);
        assert_eq!(parse_float(b"nan"), None);
        assert_eq!(parse_float(b""), None);
        assert_eq!(parse_float(b"1e5"), Some(100000.0));
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout_secs(b"0.1").unwrap(), 100);
        assert_eq!(timeout_secs(b"-1"), Err(CmdError::TimeoutNegative));
        assert_eq!(timeout_secs(b"abc"), Err(CmdError::TimeoutNotFloat));
        assert_eq!(
            timeout_secs(b"inf"),
            Err(CmdError::custom(crate::error::msg::TIMEOUT_IS_OUT_OF_RANGE))
        );
    }
}
