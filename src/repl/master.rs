//! The master's side of one replica link, after SYNC/PSYNC.
//!
//! The handler (`family::repl::psync`) decides full or partial sync and
//! attaches a `ReplicaLink` to the feed (for a full sync, under all shard locks
//! together with the snapshot). The connection task then hands its socket here:
//! the RDB goes out (encoded off the runtime threads), then the stream, while
//! the replica's REPLCONF ACKs are read back.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ReplicaLink;
use crate::conn::protocol::{Parsed, RequestParser};
use crate::persist::rdb::{self, PendingSnapshot};
use crate::server::{unix_ms, Server};

pub enum Handoff {
    /// Send this snapshot (as `$<len>` + RDB) before the stream.
    Full {
        snapshot: PendingSnapshot,
        link: Arc<ReplicaLink>,
        replid: String,
        offset: u64,
        /// The database the stream that follows starts in (`repl-stream-db`).
        stream_db: usize,
    },
    /// The backlog tail is already queued on the link.
    Partial { link: Arc<ReplicaLink> },
}

impl Handoff {
    fn link(&self) -> &Arc<ReplicaLink> {
        match self {
            Handoff::Full { link, .. } | Handoff::Partial { link } => link,
        }
    }
}

/// Serves the replica until it disconnects, is killed, or the server stops.
pub async fn serve_replica<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    srv: &Server,
    handle: &crate::client::ClientHandle,
    rd: &mut R,
    wr: &mut W,
    inbuf: &mut BytesMut,
    handoff: Handoff,
) {
    let link = handoff.link().clone();
    let result = serve_inner(srv, handle, rd, wr, inbuf, handoff, &link).await;
    if let Err(e) = result {
        tracing::info!(
            "Connection with replica {}:{} lost ({e})",
            link.ip,
            link.port
        );
    }
    srv.repl.detach(link.client_id);
}

async fn serve_inner<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    srv: &Server,
    handle: &crate::client::ClientHandle,
    rd: &mut R,
    wr: &mut W,
    inbuf: &mut BytesMut,
    handoff: Handoff,
    link: &Arc<ReplicaLink>,
) -> std::io::Result<()> {
    if let Handoff::Full {
        snapshot,
        replid,
        offset,
        stream_db,
        ..
    } = handoff
    {
        let aux = vec![
            ("repl-stream-db", stream_db.to_string()),
            ("repl-id", replid),
            ("repl-offset", offset.to_string()),
            ("aof-base", "0".to_string()),
        ];
        // Serializing is CPU work proportional to the dataset: not on a runtime thread.
        let me = srv
            .arc()
            .ok_or_else(|| std::io::Error::other("server shutting down"))?;
        let payload =
            tokio::task::spawn_blocking(move || rdb::encode(&snapshot.finish(&me.keyspace), &aux))
                .await
                .map_err(std::io::Error::other)?;
        wr.write_all(format!("${}\r\n", payload.len()).as_bytes())
            .await?;
        wr.write_all(&payload).await?;
        wr.flush().await?;
        srv.stats.add_repl_output(payload.len());
        tracing::info!(
            "Synchronization with replica {}:{} succeeded",
            link.ip,
            link.port
        );
    }
    link.online.store(true, Ordering::Relaxed);
    link.ack_time_ms.store(unix_ms(), Ordering::Relaxed);
    let mut shutdown = srv.shutdown_rx.clone();
    let mut parser = RequestParser::new(1 << 20);
    let mut out = BytesMut::new();
    loop {
        if handle.is_killed() {
            return Ok(());
        }
        if link.overflow.load(Ordering::Relaxed) {
            return Err(std::io::Error::other(
                "scheduled to be closed ASAP for overcoming of output buffer limits",
            ));
        }
        {
            let mut ob = link.outbox.lock();
            for f in ob.drain(..) {
                out.extend_from_slice(&f);
            }
        }
        link.queued.fetch_sub(out.len() as u64, Ordering::Relaxed);
        if !out.is_empty() {
            wr.write_all(&out).await?;
            wr.flush().await?;
            srv.stats.add_repl_output(out.len());
            out.clear();
        }
        tokio::select! {
            _ = link.wake.notified() => {}
            _ = handle.wake.notified() => {}
            n = rd.read_buf(inbuf) => {
                match n {
                    Ok(0) => return Err(std::io::Error::other("EOF")),
                    Ok(_) => {
                        // Not idle for the `timeout` check: replicas only send ACKs.
                        handle.last_active_ms.store(
                            unix_ms().saturating_sub(srv.start_unix_ms),
                            Ordering::Relaxed,
                        );
                        read_acks(srv, link, &mut parser, inbuf)
                    }
                    Err(e) => return Err(e),
                }
            }
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

/// The replica only ever sends REPLCONF ACK <offset> (and maybe PING).
fn read_acks(srv: &Server, link: &ReplicaLink, parser: &mut RequestParser, inbuf: &mut BytesMut) {
    while let Ok(Some(parsed)) = parser.next(inbuf) {
        let Parsed::Command(args) = parsed else {
            continue;
        };
        if args.len() >= 3
            && args[0].eq_ignore_ascii_case(b"replconf")
            && args[1].eq_ignore_ascii_case(b"ack")
        {
            if let Some(off) = std::str::from_utf8(&args[2])
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            {
                link.ack.fetch_max(off, Ordering::Relaxed);
                link.ack_time_ms.store(unix_ms(), Ordering::Relaxed);
                srv.repl.acks.notify_waiters();
            }
        }
    }
}

/// A fresh link for the connection that sent PSYNC.
pub fn new_link(client: &crate::client::Client) -> Arc<ReplicaLink> {
    let ip = client.repl.announced_ip.clone().unwrap_or_else(|| {
        match client.handle.addr.parse::<std::net::SocketAddr>() {
            Ok(a) => a.ip().to_string(),
            Err(_) => client.handle.addr.clone(),
        }
    });
    Arc::new(ReplicaLink {
        client_id: client.id(),
        ip,
        port: client.repl.listening_port,
        ack: Default::default(),
        ack_time_ms: Default::default(),
        online: Default::default(),
        outbox: Default::default(),
        queued: Default::default(),
        overflow: Default::default(),
        wake: Default::default(),
    })
}

/// PSYNC/SYNC as one function: full unless a partial resync is possible.
/// Returns the handoff and the reply line (`FULLRESYNC …`, `CONTINUE …`, or
/// none for SYNC).
pub fn start_sync(
    srv: &Server,
    client: &crate::client::Client,
    psync: Option<(&[u8], &[u8])>,
) -> (Handoff, Option<String>) {
    let link = new_link(client);
    if let Some((replid, offset)) = psync {
        let from = std::str::from_utf8(offset)
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        if let (Ok(id), Some(from)) = (std::str::from_utf8(replid), from) {
            if id != "?" {
                if let Some(cur) = srv.repl.try_attach_partial(&link, id, from) {
                    srv.stats.sync_partial_ok.fetch_add(1, Ordering::Relaxed);
                    return (Handoff::Partial { link }, Some(format!("CONTINUE {cur}")));
                }
                srv.stats.sync_partial_err.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    srv.stats.sync_full.fetch_add(1, Ordering::Relaxed);
    let size = srv.config.get_int("repl-backlog-size").max(1) as usize;
    let mut at = (String::new(), 0, 0);
    // On a replica, no master command is half applied while we copy.
    let applying = srv.repl.apply_lock.lock();
    let snapshot = rdb::capture(&srv.keyspace, srv.functions.codes(), || {
        at = srv.repl.attach_full(link.clone(), size);
    });
    drop(applying);
    let line = psync.map(|_| format!("FULLRESYNC {} {}", at.0, at.1));
    (
        Handoff::Full {
            snapshot,
            link,
            replid: at.0,
            offset: at.1,
            stream_db: at.2,
        },
        line,
    )
}
