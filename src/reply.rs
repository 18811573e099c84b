//! Protocol-neutral replies and the one encoder that knows RESP2 from RESP3.
//!
//! Handlers build `Reply` values; `encode` renders them for the connection's
//! negotiated protocol. RESP2 flattens maps to arrays, sets to arrays, doubles to
//! bulk strings, booleans to integers and every null to the nil bulk / nil array
//! that Redis 7 sends for that reply.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::CmdError;

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`
    Ok,
    /// A status line (`+PONG`, `+QUEUED`, `+string`…).
    Status(&'static str),
    StatusOwned(String),
    /// A full error line without the leading `-` (`ERR …`, `WRONGTYPE …`).
    Error(String),
    Int(i64),
    Bulk(Bytes),
    /// Nil bulk in RESP2, `_` in RESP3.
    Nil,
    /// Nil multibulk (`*-1`) in RESP2, `_` in RESP3.
    NilArray,
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    /// Pairs as an array of 2-element arrays in RESP3, one flat array in RESP2
    /// (HRANDFIELD … WITHVALUES, Redis 7.0).
    Pairs(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Double(f64),
    /// A double as `addReplyHumanLongDouble` sends it (`%.17Lf`, trailing
    /// zeros dropped): a bulk string in RESP2, a `,` double in RESP3 (GEOPOS).
    HumanDouble(f64),
    Bool(bool),
    /// Verbatim string: RESP3 `=` with a three-letter format, bulk in RESP2.
    Verbatim(&'static str, Bytes),
    BigNumber(String),
    /// Out-of-band push (`>` in RESP3, a plain array in RESP2).
    Push(Vec<Reply>),
    /// Bytes already encoded for this connection's protocol.
    Raw(Bytes),
    /// Several replies sent back to back (SUBSCRIBE with many channels).
    Many(Vec<Reply>),
}

impl Reply {
    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    pub fn bulk_str(s: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    pub fn bulk_int(n: i64) -> Reply {
        let mut buf = itoa::Buffer::new();
        Reply::Bulk(Bytes::copy_from_slice(buf.format(n).as_bytes()))
    }

    pub fn bulks<I: IntoIterator<Item = Bytes>>(items: I) -> Reply {
        Reply::Array(items.into_iter().map(Reply::Bulk).collect())
    }

    pub fn opt_bulk(b: Option<Bytes>) -> Reply {
        b.map(Reply::Bulk).unwrap_or(Reply::Nil)
    }
}

impl From<CmdError> for Reply {
    fn from(e: CmdError) -> Reply {
        Reply::Error(e.to_string())
    }
}

/// Appends `reply` encoded for `resp` (2 or 3) to `out`.
pub fn encode(reply: &Reply, resp: u8, out: &mut BytesMut) {
    match reply {
        Reply::Ok => out.put_slice(b"+OK\r\n"),
        Reply::Status(s) => put_line(out, b'+', s.as_bytes()),
        Reply::StatusOwned(s) => put_line(out, b'+', s.as_bytes()),
        Reply::Error(e) => put_error(out, e.as_bytes()),
        Reply::Int(n) => put_int_line(out, b':', *n),
        Reply::Bulk(b) => put_bulk(out, b),
        Reply::Nil => {
            if resp >= 3 {
                out.put_slice(b"_\r\n")
            } else {
                out.put_slice(b"$-1\r\n")
            }
        }
        Reply::NilArray => {
            if resp >= 3 {
                out.put_slice(b"_\r\n")
            } else {
                out.put_slice(b"*-1\r\n")
            }
        }
        Reply::Array(items) => {
            put_int_line(out, b'*', items.len() as i64);
            for item in items {
                encode(item, resp, out);
            }
        }
        Reply::Set(items) => {
            put_int_line(out, if resp >= 3 { b'~' } else { b'*' }, items.len() as i64);
            for item in items {
                encode(item, resp, out);
            }
        }
        Reply::Push(items) => {
            put_int_line(out, if resp >= 3 { b'>' } else { b'*' }, items.len() as i64);
            for item in items {
                encode(item, resp, out);
            }
        }
        Reply::Map(pairs) => {
            if resp >= 3 {
                put_int_line(out, b'%', pairs.len() as i64);
            } else {
                put_int_line(out, b'*', 2 * pairs.len() as i64);
            }
            for (k, v) in pairs {
                encode(k, resp, out);
                encode(v, resp, out);
            }
        }
        Reply::Pairs(pairs) => {
            if resp >= 3 {
                put_int_line(out, b'*', pairs.len() as i64);
                for (k, v) in pairs {
                    out.put_slice(b"*2\r\n");
                    encode(k, resp, out);
                    encode(v, resp, out);
                }
            } else {
                put_int_line(out, b'*', 2 * pairs.len() as i64);
                for (k, v) in pairs {
                    encode(k, resp, out);
                    encode(v, resp, out);
                }
            }
        }
        Reply::Double(d) => {
            let text = format_double(*d);
            if resp >= 3 {
                put_line(out, b',', text.as_bytes());
            } else {
                put_bulk(out, text.as_bytes());
            }
        }
        Reply::HumanDouble(d) => {
            let text = crate::types::geohash::format_human(*d);
            if resp >= 3 {
                put_line(out, b',', text.as_bytes());
            } else {
                put_bulk(out, text.as_bytes());
            }
        }
        Reply::Bool(b) => {
            if resp >= 3 {
                out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
            } else {
                out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" });
            }
        }
        Reply::Verbatim(fmt, body) => {
            if resp >= 3 {
                put_int_line(out, b'=', body.len() as i64 + 4);
                out.put_slice(fmt.as_bytes());
                out.put_u8(b':');
                out.put_slice(body);
                out.put_slice(b"\r\n");
            } else {
                put_bulk(out, body);
            }
        }
        Reply::BigNumber(n) => {
            if resp >= 3 {
                put_line(out, b'(', n.as_bytes());
            } else {
                put_bulk(out, n.as_bytes());
            }
        }
        Reply::Raw(b) => out.put_slice(b),
        Reply::Many(items) => {
            for item in items {
                encode(item, resp, out);
            }
        }
    }
}

/// An error line: a CR or LF inside (an echoed argument, a script's
/// error text) becomes a space, as Redis maps them, so the reply cannot
/// break the protocol.
fn put_error(out: &mut BytesMut, body: &[u8]) {
    if !body.iter().any(|&b| b == b'\r' || b == b'\n') {
        return put_line(out, b'-', body);
    }
    let clean: Vec<u8> = body
        .iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
        .collect();
    put_line(out, b'-', &clean);
}

fn put_line(out: &mut BytesMut, prefix: u8, body: &[u8]) {
    out.reserve(body.len() + 3);
    out.put_u8(prefix);
    out.put_slice(body);
    out.put_slice(b"\r\n");
}

pub fn put_int_line(out: &mut BytesMut, prefix: u8, n: i64) {
    let mut buf = itoa::Buffer::new();
    put_line(out, prefix, buf.format(n).as_bytes());
}

pub fn put_bulk(out: &mut BytesMut, body: &[u8]) {
    put_int_line(out, b'$', body.len() as i64);
    out.reserve(body.len() + 2);
    out.put_slice(body);
    out.put_slice(b"\r\n");
}

/// Formats a double the way Redis 7 does for replies (`%.17g`, with `inf`/`-inf`/`nan`).
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format_g17(d)
}

/// `%.17g` formatting: shortest is not what Redis prints, so emulate C's printf.
pub fn format_g17(d: f64) -> String {
    format_g(d, 17)
}

/// C's `%.<prec>g`.
pub fn format_g(d: f64, prec: usize) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let prec = prec.max(1);
    let exp_form = format!("{:.*e}", prec - 1, d);
    let (mantissa, exp) = exp_form.split_once('e').unwrap_or((&exp_form, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let m = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: &Reply, resp: u8) -> Vec<u8> {
        let mut b = BytesMut::new();
        encode(r, resp, &mut b);
        b.to_vec()
    }

    #[test]
    fn map_flattens_in_resp2() {
        let m = Reply::Map(vec![(Reply::bulk_str("a"), Reply::Int(1))]);
        assert_eq!(enc(&m, 2), b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&m, 3), b"%1\r\n$1\r\na\r\n:1\r\n");
    }

    #[test]
    fn nulls_differ_by_protocol() {
        assert_eq!(enc(&Reply::Nil, 2), b"$-1\r\n");
        assert_eq!(enc(&Reply::NilArray, 2), b"*-1\r\n");
        assert_eq!(enc(&Reply::Nil, 3), b"_\r\n");
    }

    #[test]
    fn doubles_like_printf_g17() {
        assert_eq!(format_double(10.5), "10.5");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(1e300), "1.0000000000000001e+300");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(enc(&Reply::Double(1.5), 3), b",1.5\r\n");
        assert_eq!(enc(&Reply::Double(1.5), 2), b"$3\r\n1.5\r\n");
    }
}
