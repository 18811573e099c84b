//! COMMAND DOCS data: argument trees for redis-cli's hints.
//!
//! `redis7-docs.resp` is the RESP3 reply of `COMMAND DOCS` from redis-server
//! 7.0.15 for the commands Cinnabar implements (Redis's own command metadata,
//! BSD-licensed), parsed once into `Reply` values; later families add a blob
//! of their own (`redis7-docs-stream.resp`). Commands missing from it
//! (Redis 7.2 additions) fall back to the summary in our command table.

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::reply::Reply;

/// One blob per family that brought its own commands (each a `COMMAND DOCS`
/// reply for those commands).
static BLOBS: &[&[u8]] = &[
    include_bytes!("redis7-docs.resp"),
    include_bytes!("redis7-docs-stream.resp"),
    include_bytes!("redis7-docs-geo.resp"),
];

/// The documentation entry of a top-level command, if Redis's data has it.
pub fn redis_doc(name: &str) -> Option<&'static Reply> {
    static DOCS: OnceLock<HashMap<String, Reply>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut docs = HashMap::new();
        for blob in BLOBS {
            let mut pos = 0;
            if let Some(Reply::Map(pairs)) = parse(blob, &mut pos) {
                docs.extend(pairs.into_iter().filter_map(|(k, v)| match k {
                    Reply::Bulk(b) => Some((String::from_utf8_lossy(&b).into_owned(), v)),
                    _ => None,
                }));
            }
        }
        docs
    })
    .get(name)
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let start = *pos;
    let end = start + buf.get(start..)?.windows(2).position(|w| w == b"\r\n")?;
    *pos = end + 2;
    Some(&buf[start..end])
}

fn number(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// A small RESP3 reader for the embedded blob (trusted data; `None` if malformed).
fn parse(buf: &'static [u8], pos: &mut usize) -> Option<Reply> {
    let l = line(buf, pos)?;
    let (kind, body) = (*l.first()?, &l[1..]);
    Some(match kind {
        b'+' => Reply::StatusOwned(String::from_utf8_lossy(body).into_owned()),
        b':' => Reply::Int(number(body)?),
        b'$' => {
            let n = number(body)?;
            if n < 0 {
                return Some(Reply::Nil);
            }
            let n = n as usize;
            let data = buf.get(*pos..*pos + n)?;
            *pos += n + 2;
            Reply::Bulk(Bytes::from_static(data))
        }
        b'*' | b'~' => {
            let n = number(body)?.max(0) as usize;
            let items = (0..n)
                .map(|_| parse(buf, pos))
                .collect::<Option<Vec<_>>>()?;
            if kind == b'~' {
                Reply::Set(items)
            } else {
                Reply::Array(items)
            }
        }
        b'%' => {
            let n = number(body)?.max(0) as usize;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let k = parse(buf, pos)?;
                let v = parse(buf, pos)?;
                pairs.push((k, v));
            }
            Reply::Map(pairs)
        }
        b'_' => Reply::Nil,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_parses_with_arguments() {
        let set = redis_doc("set").expect("SET documented");
        let Reply::Map(fields) = set else {
            panic!("map expected")
        };
        assert!(fields
            .iter()
            .any(|(k, _)| matches!(k, Reply::Bulk(b) if &b[..] == b"arguments")));
        assert!(redis_doc("lpush").is_some());
        assert!(redis_doc("xadd").is_some());
        assert!(redis_doc("xgroup").is_some());
    }
}
