//! MIGRATE (Redis 7.0's cluster.c migrateCommand, without its connection
//! cache): the keys are DUMPed in Redis's payload format and sent to the
//! target (a Redis or a Cinnabar) as RESTORE commands over one connection,
//! then deleted here unless COPY. It runs under the keys' shard locks, so
//! nothing changes them while they move; the network wait gives up its
//! worker first (`long_step`), and `timeout` bounds it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::Bytes;

use crate::command::args::{eq, int};
use crate::command::flags::*;
use crate::command::{CommandSpec, Ctx, Keys};
use crate::error::{msg, CmdError, CmdResult};
use crate::notify;
use crate::reply::Reply;

pub static COMMANDS: &[CommandSpec] =
    &[
        CommandSpec::new("migrate", -6, WRITE, Keys::Movable(migrate_keys), migrate).doc(
            "generic",
            "2.6.0",
            "Atomically transfers a key from one Redis instance to another.",
        ),
    ];

/// Redis's migrateGetKeys: the key at position 3, or with an empty key
/// the ones after KEYS, skipping the passwords of AUTH / AUTH2.
fn migrate_keys(a: &[Bytes]) -> Vec<usize> {
    let mut i = 6;
    while i < a.len() {
        if eq(&a[i], "keys") {
            if a[3].is_empty() {
                return (i + 1..a.len()).collect();
            }
            break;
        }
        if eq(&a[i], "auth") {
            i += 1;
        } else if eq(&a[i], "auth2") {
            i += 2;
        }
        i += 1;
    }
    if a.len() > 3 {
        vec![3]
    } else {
        Vec::new()
    }
}

struct Options {
    copy: bool,
    replace: bool,
    auth: Option<Vec<Bytes>>,
    keys: Vec<Bytes>,
}

fn options(a: &[Bytes]) -> CmdResult<Options> {
    let mut o = Options {
        copy: false,
        replace: false,
        auth: None,
        keys: Vec::new(),
    };
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - j - 1;
        if eq(&a[j], "copy") {
            o.copy = true;
        } else if eq(&a[j], "replace") {
            o.replace = true;
        } else if eq(&a[j], "auth") && more >= 1 {
            o.auth = Some(vec![Bytes::from_static(b"AUTH"), a[j + 1].clone()]);
            j += 1;
        } else if eq(&a[j], "auth2") && more >= 2 {
            o.auth = Some(vec![
                Bytes::from_static(b"AUTH"),
                a[j + 1].clone(),
                a[j + 2].clone(),
            ]);
            j += 2;
        } else if eq(&a[j], "keys") {
            if !a[3].is_empty() {
                return Err(CmdError::custom(msg::MIGRATE_KEYS_WITH_KEY));
            }
            o.keys = a[j + 1..].to_vec();
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if o.keys.is_empty() {
        o.keys.push(a[3].clone());
    }
    Ok(o)
}

fn migrate(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult<Reply> {
    let o = options(a)?;
    let db = int(&a[4])?;
    let timeout = int(&a[5])?;
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    // What exists now, as RESTORE commands (relative TTLs, as Redis sends).
    let mut found = Vec::new();
    let mut batch = bytes::BytesMut::new();
    if let Some(auth) = &o.auth {
        crate::repl::encode_command(&mut batch, auth);
    }
    crate::repl::encode_command(
        &mut batch,
        &[Bytes::from_static(b"SELECT"), Bytes::from(db.to_string())],
    );
    for key in &o.keys {
        let now = ctx.now_ms;
        let Some(entry) = ctx.lookup(key) else {
            continue;
        };
        let ttl = if entry.expire_at == 0 {
            0
        } else {
            entry.expire_at.saturating_sub(now).max(1)
        };
        let mut payload = crate::persist::rdb::encode_value(&entry.value);
        crate::persist::rdb::seal_payload(&mut payload);
        let mut cmd = vec![
            Bytes::from_static(b"RESTORE"),
            key.clone(),
            Bytes::from(ttl.to_string()),
            Bytes::from(payload),
        ];
        if o.replace {
            cmd.push(Bytes::from_static(b"REPLACE"));
        }
        crate::repl::encode_command(&mut batch, &cmd);
        found.push(key.clone());
    }
    if found.is_empty() {
        return Ok(Reply::Status("NOKEY"));
    }
    let target = format!(
        "{}:{}",
        String::from_utf8_lossy(&a[1]),
        String::from_utf8_lossy(&a[2])
    );
    let preamble = 1 + usize::from(o.auth.is_some());
    // As Redis, MIGRATE speaks TLS when replication does.
    let tls = (ctx.srv.config.get("tls-replication").as_deref() == Some("yes"))
        .then(|| ctx.srv.tls.read().as_ref().map(|t| t.client.clone()))
        .flatten();
    let host = String::from_utf8_lossy(&a[1]).into_owned();
    let link = Link {
        target: &target,
        host: &host,
        tls,
        timeout,
    };
    let replies = crate::long_step::run(|| exchange(&link, &batch, preamble, found.len()))?;
    let mut first_error = None;
    for (key, reply) in found.iter().zip(&replies) {
        match reply {
            Ok(()) if !o.copy => {
                if ctx.delete(key) {
                    ctx.notify(notify::GENERIC, "del", key);
                }
            }
            Ok(()) => {}
            Err(e) => {
                first_error.get_or_insert_with(|| e.clone());
            }
        }
    }
    match first_error {
        Some(e) => Err(CmdError::Custom(msg::migrate_target_error(&e))),
        None => Ok(Reply::Ok),
    }
}

/// Sends the batch and reads the AUTH / SELECT replies (which must be OK)
/// and one reply per RESTORE.
/// Where MIGRATE sends its batch.
struct Link<'a> {
    target: &'a str,
    host: &'a str,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    timeout: Duration,
}

fn exchange(
    link: &Link,
    batch: &[u8],
    preamble: usize,
    restores: usize,
) -> CmdResult<Vec<Result<(), String>>> {
    let io_connect = || CmdError::custom(msg::MIGRATE_IOERR_CONNECT);
    let addr = link
        .target
        .to_socket_addrs()
        .map_err(|_| io_connect())?
        .next()
        .ok_or_else(io_connect)?;
    let stream = TcpStream::connect_timeout(&addr, link.timeout).map_err(|_| io_connect())?;
    let io = || CmdError::custom(msg::MIGRATE_IOERR_READ);
    stream
        .set_read_timeout(Some(link.timeout))
        .map_err(|_| io())?;
    stream
        .set_write_timeout(Some(link.timeout))
        .map_err(|_| io())?;
    match &link.tls {
        None => talk(stream, batch, preamble, restores),
        Some(config) => {
            let name = rustls::pki_types::ServerName::try_from(link.host.to_string())
                .map_err(|_| io_connect())?;
            let conn =
                rustls::ClientConnection::new(config.clone(), name).map_err(|_| io_connect())?;
            talk(
                rustls::StreamOwned::new(conn, stream),
                batch,
                preamble,
                restores,
            )
        }
    }
}

/// Sends the batch, reads one reply per command: the preamble's (SELECT,
/// AUTH) must be OK; the RESTOREs' are returned.
fn talk<S: std::io::Read + Write>(
    mut stream: S,
    batch: &[u8],
    preamble: usize,
    restores: usize,
) -> CmdResult<Vec<Result<(), String>>> {
    let io = || CmdError::custom(msg::MIGRATE_IOERR_READ);
    stream.write_all(batch).map_err(|_| io())?;
    stream.flush().map_err(|_| io())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut replies = Vec::with_capacity(restores);
    for i in 0..preamble + restores {
        line.clear();
        if reader.read_line(&mut line).map_err(|_| io())? == 0 {
            return Err(io());
        }
        let text = line.trim_end_matches(['\r', '\n']);
        let reply = match text.strip_prefix('-') {
            Some(e) => Err(e.to_string()),
            None => Ok(()),
        };
        if i < preamble {
            if let Err(e) = reply {
                return Err(CmdError::Custom(msg::migrate_target_error(&e)));
            }
        } else {
            replies.push(reply);
        }
    }
    Ok(replies)
}
