//! Request framing: RESP2 multibulk and inline commands, with Redis's limits.
//!
//! Every request is decoded with RESP2 framing whatever protocol the connection
//! negotiated (HELLO only changes replies). Lengths sent by the client are
//! checked against the limits before anything is allocated for them.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;

/// Longest inline request, and longest `*N`/`$N` header line (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX: usize = 64 * 1024;
/// Arguments this large get their buffer sized up front (Redis's PROTO_MBULK_BIG_ARG).
pub const BIG_ARG: usize = 32 * 1024;
/// Most read-buffer room reserved for a big argument before its bytes arrive:
/// past it the buffer grows (doubling) as they do, so a header alone never
/// makes the server reserve what it claims (Redis reserves the whole claim).
const BIG_ARG_UPFRONT: usize = 2 * BIG_ARG;
/// Arguments preallocated at most, whatever `*N` says.
const PREALLOC_ARGS: usize = 1024;

/// Decoder state kept across reads so a large multibulk is not re-parsed from
/// its start every time more bytes arrive.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments still expected by the multibulk in progress (0: none in progress).
    pending: usize,
    /// Length of the bulk whose header was read, awaiting its payload.
    bulk_len: Option<usize>,
    args: Vec<Bytes>,
    pub max_bulk_len: usize,
    /// Once set, lengths are limited as for an unauthenticated client.
    pub unauthenticated: bool,
    /// Largest big argument (≥ `BIG_ARG`) framed since last taken.
    big_arg: usize,
}

pub enum Parsed {
    Command(Vec<Bytes>),
    /// A blank inline line or `*0`/`*-1`: nothing to execute.
    Empty,
}

impl RequestParser {
    pub fn new(max_bulk_len: usize) -> Self {
        RequestParser {
            max_bulk_len,
            ..Default::default()
        }
    }

    /// Takes the next complete request out of `buf`, or `Ok(None)` if more bytes are needed.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Parsed>, ProtocolError> {
        if self.pending == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            if buf[0] != b'*' {
                return parse_inline(buf);
            }
            let Some(line_end) = find_crlf(buf) else {
                if buf.len() > INLINE_MAX {
                    return Err(ProtocolError::TooBigMbulkCount);
                }
                return Ok(None);
            };
            let n = parse_i64(&buf[1..line_end]).filter(|n| *n <= i32::MAX as i64);
            let Some(n) = n else {
                return Err(ProtocolError::InvalidMultibulkLength);
            };
            if self.unauthenticated && n > 10 {
                return Err(ProtocolError::UnauthenticatedMultibulkLength);
            }
            buf.advance(line_end + 2);
            if n <= 0 {
                return Ok(Some(Parsed::Empty));
            }
            self.pending = n as usize;
            self.args = Vec::with_capacity(self.pending.min(PREALLOC_ARGS));
        }
        while self.pending > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let Some(line_end) = find_crlf(buf) else {
                        if buf.len() > INLINE_MAX {
                            return Err(ProtocolError::TooBigBulkCount);
                        }
                        return Ok(None);
                    };
                    if buf[0] != b'$' {
                        return Err(ProtocolError::ExpectedDollar(buf[0]));
                    }
                    let len = parse_i64(&buf[1..line_end])
                        .filter(|n| *n >= 0 && (*n as u64) <= self.max_bulk_len as u64)
                        .ok_or(ProtocolError::InvalidBulkLength)?;
                    if self.unauthenticated && len > 16384 {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    buf.advance(line_end + 2);
                    let len = len as usize;
                    self.bulk_len = Some(len);
                    // Large payloads: room for the first part at once, the
                    // rest as it arrives (`BIG_ARG_UPFRONT`).
                    let upfront = (len + 2).min(BIG_ARG_UPFRONT);
                    if len >= BIG_ARG && buf.capacity() < upfront {
                        buf.reserve(upfront - buf.len());
                    }
                    len
                }
            };
            if buf.len() < len + 2 {
                return Ok(None);
            }
            if len >= BIG_ARG {
                self.big_arg = self.big_arg.max(len + 2);
            }
            let arg = buf.split_to(len).freeze();
            buf.advance(2);
            self.args.push(arg);
            self.bulk_len = None;
            self.pending -= 1;
        }
        Ok(Some(Parsed::Command(std::mem::take(&mut self.args))))
    }

    /// Memory of the arguments of the request in progress (CLIENT LIST argv-mem).
    pub fn argv_mem(&self) -> usize {
        crate::client_eviction::argv_mem(&self.args)
    }

    /// Whether the bytes awaited are those of a big argument (≥ `BIG_ARG`).
    pub fn big_bulk_in_progress(&self) -> bool {
        self.bulk_len.is_some_and(|l| l >= BIG_ARG)
    }

    /// The size of the largest big argument framed since the last call (0 if none).
    pub fn take_big_arg(&mut self) -> usize {
        std::mem::take(&mut self.big_arg)
    }

    /// How many bytes the request in progress still needs, when known (for read sizing).
    pub fn bulk_remaining(&self, buffered: usize) -> Option<usize> {
        self.bulk_len.map(|l| (l + 2).saturating_sub(buffered))
    }
}

/// Redis's `strchr(buf, c)` on its NUL-terminated query buffer: where `c`
/// is, unless a NUL comes first (then the line is not complete, whatever
/// follows). One-byte search, then the NUL test on the (short) line only.
fn strchr(buf: &[u8], c: u8) -> Option<usize> {
    let at = buf.iter().position(|&b| b == c)?;
    (!buf[..at].contains(&0)).then_some(at)
}

/// The name and first argument of the next request in `buf` when the whole
/// of both is already there and nothing is half parsed: what a pipeline's
/// next command will look up, so that its bucket can be fetched into the
/// cache while the current command runs (`keyspace::prefetch`). Only looks:
/// the request is framed and checked by `next` as usual.
pub fn peek_name_and_first_arg(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    if buf.first() != Some(&b'*') {
        return None;
    }
    let (count, rest) = header(&buf[1..])?;
    if count < 2 {
        return None;
    }
    let (name, rest) = bulk(rest)?;
    let (first, _) = bulk(rest)?;
    return Some((name, first));

    /// `<n>\r\n` after the type byte: n and what follows (digits only: a
    /// peek need not take every form `next` takes).
    fn header(buf: &[u8]) -> Option<(usize, &[u8])> {
        let mut n: usize = 0;
        for (i, &b) in buf.iter().enumerate().take(21) {
            match b {
                b'0'..=b'9' => n = n.checked_mul(10)?.checked_add(usize::from(b - b'0'))?,
                b'\r' if i > 0 && buf.get(i + 1) == Some(&b'\n') => {
                    return Some((n, &buf[i + 2..]))
                }
                _ => return None,
            }
        }
        None
    }

    /// `$<len>\r\n<bytes>\r\n`: the bytes and what follows.
    fn bulk(buf: &[u8]) -> Option<(&[u8], &[u8])> {
        if buf.first() != Some(&b'$') {
            return None;
        }
        let (len, rest) = header(&buf[1..])?;
        let bytes = rest.get(..len)?;
        if rest.get(len..len + 2)? != b"\r\n" {
            return None;
        }
        Some((bytes, &rest[len + 2..]))
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    // Redis then requires the '\n' to be buffered too.
    strchr(buf, b'\r').filter(|&r| r + 1 < buf.len())
}

/// Redis's `string2ll`: optional '-', digits only, no '+', no spaces, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

fn parse_inline(buf: &mut BytesMut) -> Result<Option<Parsed>, ProtocolError> {
    // A NUL before the newline leaves the line incomplete, and it stays so
    // (more bytes land after the NUL) until the buffer passes the inline
    // limit, as in Redis: nothing, then the limit's error.
    let Some(nl) = strchr(buf, b'\n') else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::TooBigInline);
        }
        return Ok(None);
    };
    let mut line_end = nl;
    if line_end > 0 && buf[line_end - 1] == b'\r' {
        line_end -= 1;
    }
    let args = split_args(&buf[..line_end]).ok_or(ProtocolError::UnbalancedQuotes)?;
    buf.advance(nl + 1);
    if args.is_empty() {
        return Ok(Some(Parsed::Empty));
    }
    Ok(Some(Parsed::Command(
        args.into_iter().map(Bytes::from).collect(),
    )))
}

/// C's `isspace` (Redis splits on it): space, \t, \n, \v, \f, \r.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Redis's `sdssplitargs`: whitespace-separated words, "double quotes" with
/// C escapes (`\n`, `\xHH`…), 'single quotes' with only `\'`. `None` on unbalanced quotes
/// or a closing quote not followed by a space.
///
/// Redis runs it on C strings, so a NUL never reaches it; here the line is a
/// byte slice (inline requests stop before a NUL, config and manifest lines
/// may hold one) and NUL is an ordinary byte of a word. Every turn of the
/// outer loop consumes at least one byte: whatever ends a word is a space
/// the next turn skips.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_c_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    cur.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !is_c_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if in_sq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !is_c_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn peeking_finds_the_next_commands_name_and_first_argument() {
        use super::peek_name_and_first_arg as peek;
        let req = b"*2\r\n$3\r\nGET\r\n$8\r\nkey:1234\r\n*1\r\n";
        assert_eq!(peek(req), Some((&b"GET"[..], &b"key:1234"[..])));
        // Incomplete, one-argument, inline and malformed requests: nothing.
        for buf in [
            &b"*2\r\n$3\r\nGET\r\n$8\r\nkey:12"[..],
            b"*1\r\n$4\r\nPING\r\n",
            b"GET key\r\n",
            b"*2\r\n$-1\r\n",
            b"*2\r\n$99999999999999999999999\r\n",
            b"*2\r\n$3\r\nGETxx$1\r\nk\r\n",
            b"*",
            b"",
        ] {
            assert_eq!(peek(buf), None, "{:?}", String::from_utf8_lossy(buf));
        }
    }

    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut p = RequestParser::new(512 * 1024 * 1024);
        let mut buf = BytesMut::from(input);
        let mut out = vec![];
        while let Some(parsed) = p.next(&mut buf)? {
            if let Parsed::Command(c) = parsed {
                out.push(c);
            }
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline_pipeline() {
        let cmds = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset a \"b c\"\n").unwrap();
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds[0], vec![Bytes::from("GET"), Bytes::from("k")]);
        assert_eq!(cmds[1], vec![Bytes::from("PING")]);
        assert_eq!(cmds[2][2], Bytes::from("b c"));
    }

    #[test]
    fn split_in_any_place_resumes() {
        let whole = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        for cut in 1..whole.len() {
            let mut p = RequestParser::new(1 << 20);
            let mut buf = BytesMut::from(&whole[..cut]);
            let first = p.next(&mut buf).unwrap();
            assert!(first.is_none(), "cut {cut}");
            buf.extend_from_slice(&whole[cut..]);
            match p.next(&mut buf).unwrap() {
                Some(Parsed::Command(c)) => assert_eq!(c[2], Bytes::from("value")),
                _ => panic!("no command after cut {cut}"),
            }
        }
    }

    #[test]
    fn protocol_errors() {
        assert_eq!(
            parse_all(b"*x\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*3000000000\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\nfoo\r\n"),
            Err(ProtocolError::ExpectedDollar(b'f'))
        );
        assert_eq!(
            parse_all(b"*1\r\n$-10\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$2000000000\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"set a \"b\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(parse_all(b"\"a\"b\n"), Err(ProtocolError::UnbalancedQuotes));
    }

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"-0"), None);
    }

    #[test]
    fn inline_escapes() {
        let a = split_args(br#"a "\x41\n" 'it\'s'"#).unwrap();
        assert_eq!(a, vec![b"a".to_vec(), b"A\n".to_vec(), b"it's".to_vec()]);
    }

    #[test]
    fn nul_leaves_an_inline_line_incomplete_as_redis_strchr() {
        // The 9-byte request that once looped forever pushing empty words.
        let mut p = RequestParser::new(1 << 20);
        let mut buf = BytesMut::from(&b"PING\x00\r\n"[..]);
        assert!(p.next(&mut buf).unwrap().is_none());
        assert_eq!(&buf[..], b"PING\x00\r\n", "nothing consumed");
        buf.extend_from_slice(b"PING\r\n");
        assert!(
            p.next(&mut buf).unwrap().is_none(),
            "still one unfinished line"
        );
        buf.extend_from_slice(&vec![b'x'; INLINE_MAX]);
        assert_eq!(p.next(&mut buf).err(), Some(ProtocolError::TooBigInline));
        // The same in a multibulk header line.
        let mut buf = BytesMut::from(&b"*1\x00\r\n$4\r\nPING\r\n"[..]);
        assert!(RequestParser::new(1 << 20)
            .next(&mut buf)
            .unwrap()
            .is_none());
        // In a bulk payload a NUL is data.
        let cmds = parse_all(b"*2\r\n$4\r\nECHO\r\n$3\r\na\x00b\r\n").unwrap();
        assert_eq!(cmds[0][1], Bytes::from_static(b"a\x00b"));
    }

    #[test]
    fn split_args_takes_nul_as_a_byte_and_always_ends() {
        assert_eq!(split_args(b"\x00").unwrap(), vec![b"\x00".to_vec()]);
        assert_eq!(
            split_args(b"PING\x00 a\x00b").unwrap(),
            vec![b"PING\x00".to_vec(), b"a\x00b".to_vec()]
        );
        assert_eq!(
            split_args(b"\"x\x00\" '\x00'").unwrap(),
            vec![b"x\x00".to_vec(), b"\x00".to_vec()]
        );
        // C's isspace separates words at the start and after a quote.
        assert_eq!(
            split_args(b"\x0b\x0ca\x0bb \"q\"\x0c").unwrap(),
            vec![b"a\x0bb".to_vec(), b"q".to_vec()]
        );
        // Every byte value, alone and repeated: the splitter returns.
        for b in 0..=255u8 {
            let line = vec![b; 64];
            if let Some(words) = split_args(&line) {
                assert!(words.len() <= line.len());
            }
        }
    }

    #[test]
    fn a_big_bulk_header_reserves_only_the_first_part() {
        let mut p = RequestParser::new(512 << 20);
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$536870912\r\n"[..]);
        assert!(p.next(&mut buf).unwrap().is_none());
        assert!(buf.capacity() <= 2 * BIG_ARG_UPFRONT, "{}", buf.capacity());
    }
}
