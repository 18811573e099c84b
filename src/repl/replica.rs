//! The replica's side: the task that follows a master (REPLICAOF host port).
//!
//! Connect, handshake (PING, AUTH, REPLCONF listening-port / capa, PSYNC),
//! load the RDB of a full sync (replacing the dataset) or continue after a
//! partial one, then apply the stream through the normal dispatcher as the
//! master client. Replies are discarded, except REPLCONF GETACK, answered with
//! REPLCONF ACK <offset>; an ACK also goes out every second. A dropped link is
//! retried every second with PSYNC <replid> <offset+1>.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::MasterLink;
use crate::client::{Client, ClientHandle};
use crate::command::{execute, Outcome};
use crate::conn::protocol::{Parsed, RequestParser};
use crate::persist::rdb;
use crate::server::{unix_ms, Server};

type IoResult<T> = Result<T, String>;

/// Follows host:port from now on (REPLICAOF): replicas of ours are dropped.
pub fn start(srv: &Arc<Server>, host: String, port: u16) {
    // CONFIG GET / CONFIG REWRITE report the current master, as Redis.
    srv.config
        .set_startup_raw("replicaof", &format!("{host} {port}"));
    let dropped = srv.repl.set_master(MasterLink {
        host: host.clone(),
        port,
        status: "connect",
        last_io_ms: 0,
        down_since_ms: unix_ms(),
        task: None,
    });
    for r in dropped {
        if let Some(c) = srv.clients.get(r.client_id) {
            c.kill();
        }
    }
    let task = tokio::spawn(run(srv.clone(), host, port));
    let mut st = srv.repl.state.lock();
    match st.master.as_mut() {
        Some(m) if m.task.is_none() => m.task = Some(task),
        _ => task.abort(),
    }
}

/// The `replicaof host port` config directive, applied once the server listens.
pub fn start_from_config(srv: &Arc<Server>) {
    let value = srv.config.get("replicaof").unwrap_or_default();
    let mut words = value.split_whitespace();
    if let (Some(host), Some(port)) = (words.next(), words.next()) {
        if let Ok(port) = port.parse::<u16>() {
            start(srv, host.to_string(), port);
        }
    }
}

async fn run(srv: Arc<Server>, host: String, port: u16) {
    loop {
        if srv.is_shutting_down() {
            return;
        }
        tracing::info!("Connecting to MASTER {host}:{port}");
        if let Err(e) = session(&srv, &host, port).await {
            tracing::warn!("Replication with MASTER {host}:{port}: {e}");
        }
        srv.repl.set_link_status("connect");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The bytes from the master, with line and exact-length reads, over any
/// transport (TCP today: `session` connects; TLS would wrap the stream).
type BoxedRead = Box<dyn AsyncRead + Unpin + Send>;
type BoxedWrite = Box<dyn AsyncWrite + Unpin + Send>;

struct Link<R = BoxedRead, W = BoxedWrite> {
    rd: R,
    wr: W,
    buf: BytesMut,
    srv: Arc<Server>,
    timeout: Duration,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Link<R, W> {
    async fn fill(&mut self) -> IoResult<()> {
        let n = tokio::time::timeout(self.timeout, self.rd.read_buf(&mut self.buf))
            .await
            .map_err(|_| "timeout talking to the master".to_string())?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed by the master".into());
        }
        self.srv.stats.add_repl_input(n);
        self.touch();
        Ok(())
    }

    fn touch(&self) {
        if let Some(m) = self.srv.repl.state.lock().master.as_mut() {
            m.last_io_ms = unix_ms();
        }
    }

    /// One line without CRLF; empty lines (the master's keepalive newlines
    /// while it prepares the RDB) are skipped.
    async fn line(&mut self) -> IoResult<String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&c| c == b'\n') {
                let line = self.buf.split_to(i + 1);
                let text = String::from_utf8_lossy(&line[..i])
                    .trim_end_matches('\r')
                    .to_string();
                if text.is_empty() {
                    continue;
                }
                return Ok(text);
            }
            if self.buf.len() > 64 * 1024 {
                return Err("protocol error: line too long".into());
            }
            self.fill().await?;
        }
    }

    async fn exact(&mut self, n: usize) -> IoResult<BytesMut> {
        while self.buf.len() < n {
            self.buf.reserve((n - self.buf.len()).min(1 << 20));
            self.fill().await?;
        }
        Ok(self.buf.split_to(n))
    }

    async fn send(&mut self, args: &[&str]) -> IoResult<()> {
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut out = BytesMut::new();
        super::encode_command(&mut out, &args);
        self.wr.write_all(&out).await.map_err(|e| e.to_string())?;
        self.wr.flush().await.map_err(|e| e.to_string())
    }

    async fn command(&mut self, args: &[&str]) -> IoResult<String> {
        self.send(args).await?;
        self.line().await
    }

    /// The RDB payload: `$<len>` then len bytes, or `$EOF:<40 chars>` then
    /// bytes up to that mark (diskless sync).
    async fn rdb_payload(&mut self) -> IoResult<BytesMut> {
        let header = self.line().await?;
        if let Some(err) = header.strip_prefix('-') {
            return Err(format!("master aborted sync: {err}"));
        }
        let Some(spec) = header.strip_prefix('$') else {
            return Err(format!(
                "bad protocol from MASTER, the first byte is not '$': {header}"
            ));
        };
        if let Some(mark) = spec.strip_prefix("EOF:") {
            let mark = mark.as_bytes().to_vec();
            if mark.len() != 40 {
                return Err("bad EOF mark".into());
            }
            // Where the search resumes: only new bytes (and the 39 before
            // them, a mark may straddle two reads) are looked at again.
            let mut from = 0;
            loop {
                if let Some(i) = find(&self.buf[from..], &mark) {
                    let payload = self.buf.split_to(from + i);
                    let _ = self.buf.split_to(40);
                    return Ok(payload);
                }
                from = self.buf.len().saturating_sub(39);
                self.buf.reserve(1 << 16);
                self.fill().await?;
            }
        }
        let len: usize = spec.parse().map_err(|_| format!("bad RDB length {spec}"))?;
        self.exact(len).await
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Connects to the master, from `bind-source-addr` when one is set (Redis's
/// anetTcpNonBlockBestEffortBindConnect).
async fn connect_from(source: &str, host: &str, port: u16) -> std::io::Result<TcpStream> {
    let Ok(ip) = source.parse::<std::net::IpAddr>() else {
        return TcpStream::connect((host, port)).await;
    };
    let target = tokio::net::lookup_host((host, port))
        .await?
        .find(|a| a.is_ipv4() == ip.is_ipv4())
        .ok_or_else(|| std::io::Error::other("no address of the master's family"))?;
    let socket = if ip.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.bind(std::net::SocketAddr::new(ip, 0))?;
    socket.connect(target).await
}

async fn session(srv: &Arc<Server>, host: &str, port: u16) -> IoResult<()> {
    let timeout = Duration::from_secs(srv.config.get_int("repl-timeout").max(1) as u64);
    srv.repl.set_link_status("connecting");
    let source = srv.config.get("bind-source-addr").unwrap_or_default();
    let stream = tokio::time::timeout(timeout, connect_from(&source, host, port))
        .await
        .map_err(|_| "connect timeout".to_string())?
        .map_err(|e| format!("Error condition on socket for SYNC: {e}"))?;
    let _ = stream.set_nodelay(true);
    let laddr = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let (rd, wr): (BoxedRead, BoxedWrite) =
        if srv.config.get("tls-replication").as_deref() == Some("yes") {
            let tls = srv
                .tls
                .read()
                .clone()
                .ok_or_else(|| "TLS is not configured".to_string())?;
            let stream = crate::conn::tls::connect(&tls, host, stream)
                .await
                .map_err(|e| format!("Error condition on socket for SYNC: {e}"))?;
            let (rd, wr) = tokio::io::split(stream);
            (Box::new(rd), Box::new(wr))
        } else {
            let (rd, wr) = stream.into_split();
            (Box::new(rd), Box::new(wr))
        };
    let mut link = Link {
        rd,
        wr,
        buf: BytesMut::with_capacity(16 * 1024),
        srv: srv.clone(),
        timeout,
    };
    // Handshake, as Redis's syncWithMaster.
    let pong = link.command(&["PING"]).await?;
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with(crate::error::msg::MASTER_PING_NOT_PERMITTED)
    {
        return Err(format!("Error reply to PING from master: '{pong}'"));
    }
    let pass = srv.config.get("masterauth").unwrap_or_default();
    if !pass.is_empty() {
        let user = srv.config.get("masteruser").unwrap_or_default();
        let reply = if user.is_empty() {
            link.command(&["AUTH", &pass]).await?
        } else {
            link.command(&["AUTH", &user, &pass]).await?
        };
        if reply.starts_with('-') {
            return Err(format!("Unable to AUTH to MASTER: {reply}"));
        }
    }
    let my_port = srv.config.get_int("replica-announce-port");
    let my_port = if my_port > 0 {
        my_port as u64
    } else if srv.config.get("tls-replication").as_deref() == Some("yes") {
        srv.tls_port.load(Ordering::Relaxed)
    } else {
        srv.port.load(Ordering::Relaxed)
    };
    let _ = link
        .command(&["REPLCONF", "listening-port", &my_port.to_string()])
        .await?;
    let announce_ip = srv.config.get("replica-announce-ip").unwrap_or_default();
    if !announce_ip.is_empty() {
        let _ = link
            .command(&["REPLCONF", "ip-address", &announce_ip])
            .await?;
    }
    let _ = link
        .command(&["REPLCONF", "capa", "eof", "capa", "psync2"])
        .await?;
    let (replid, offset) = {
        let st = srv.repl.state.lock();
        (st.replid.clone(), st.offset)
    };
    let reply = link
        .command(&["PSYNC", &replid, &(offset + 1).to_string()])
        .await?;
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut words = rest.split_whitespace();
        let id = words.next().unwrap_or_default().to_string();
        let off: u64 = words.next().and_then(|o| o.parse().ok()).unwrap_or(0);
        srv.repl.set_link_status("sync");
        let payload = link.rdb_payload().await?;
        let loaded = tokio::task::spawn_blocking(move || rdb::decode(&payload))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| {
                format!("Failed trying to load the MASTER synchronization DB from socket: {e}")
            })?;
        let stream_db = loaded
            .aux
            .iter()
            .find(|(k, _)| k.as_ref() == b"repl-stream-db")
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
            .filter(|&db| db < srv.keyspace.databases())
            .unwrap_or(0);
        // The master's libraries replace ours, as its keys replace ours.
        srv.functions
            .restore(&loaded.functions, crate::scripting::RestorePolicy::Flush)
            .map_err(|e| format!("Failed loading the master's functions: {e}"))?;
        let n = rdb::install(&srv.keyspace, loaded, false, unix_ms());
        // Redis's emptyData: clients caching the old dataset drop it all.
        srv.tracking.flushed(srv);
        let size = srv.config.get_int("repl-backlog-size").max(1) as usize;
        for r in srv.repl.synced(&id, off, stream_db, size) {
            if let Some(c) = srv.clients.get(r.client_id) {
                c.kill();
            }
        }
        tracing::info!("MASTER <-> REPLICA sync: Finished with success ({n} keys)");
        if srv.aof.is_on() {
            // As Redis's restartAOFAfterSYNC: the loaded dataset never went
            // through the feed, so the AOF needs a BASE that holds it.
            match crate::persist::aof::start_rewrite(srv, false) {
                Ok(true) => {}
                Ok(false) => srv.aof.rewrite_scheduled.store(true, Ordering::Release),
                Err(e) => tracing::warn!("{e}"),
            }
        }
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let id = rest.trim();
        let size = srv.config.get_int("repl-backlog-size").max(1) as usize;
        srv.repl.state.lock().ensure_backlog(size);
        if !id.is_empty() {
            let mut st = srv.repl.state.lock();
            if st.replid != id {
                st.replid2 = std::mem::replace(&mut st.replid, id.to_string());
                st.second_offset = st.offset as i64 + 1;
            }
        }
        tracing::info!("Successful partial resynchronization with master.");
    } else {
        return Err(format!("Unexpected reply to PSYNC from master: {reply}"));
    }
    srv.repl.set_link_status("connected");
    stream_loop(srv, &mut link, &peer, &laddr).await
}

/// Applies the master's stream until the link fails.
async fn stream_loop<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    srv: &Arc<Server>,
    link: &mut Link<R, W>,
    peer: &str,
    laddr: &str,
) -> IoResult<()> {
    let handle = Arc::new(ClientHandle::new(
        srv.clients.next_id(),
        peer.to_string(),
        laddr.to_string(),
    ));
    let mut client = Client::new(handle);
    client.repl.is_master = true;
    client.authenticated = true;
    // Where the master's stream is: from the RDB's repl-stream-db, or where
    // the last link left it.
    client.db = srv.repl.state.lock().master_db;
    let mut parser = RequestParser::new(usize::MAX >> 1);
    let mut carry = BytesMut::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut shutdown = srv.shutdown_rx.clone();
    loop {
        apply(srv, link, &mut client, &mut parser, &mut carry).await?;
        tokio::select! {
            r = link.rd.read_buf(&mut link.buf) => {
                match r {
                    Ok(0) => return Err("connection closed by the master".into()),
                    Ok(n) => {
                        srv.stats.add_repl_input(n);
                        link.touch();
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
            _ = tick.tick() => {
                let last = srv.repl.state.lock().master.as_ref().map_or(0, |m| m.last_io_ms);
                if unix_ms().saturating_sub(last) > link.timeout.as_millis() as u64 {
                    return Err("MASTER timeout: no data nor PING received".into());
                }
                let off = srv.repl.offset();
                link.send(&["REPLCONF", "ACK", &off.to_string()]).await?;
            }
            _ = srv.repl.link_kill.notified() => return Err("link killed by CLIENT KILL TYPE master".into()),
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

/// Executes every complete command buffered, advancing the offset by the
/// bytes each one took (the offset a GETACK reports excludes the GETACK).
/// `carry` holds the bytes of a command split across reads that the parser
/// already consumed: they count (and are relayed) with the rest of that
/// command, or the offset would fall short of the master's by them.
async fn apply<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    srv: &Arc<Server>,
    link: &mut Link<R, W>,
    client: &mut Client,
    parser: &mut RequestParser,
    carry: &mut BytesMut,
) -> IoResult<()> {
    // The bytes as received, to relay each command verbatim to our own
    // replicas (their offsets must be the master's).
    let raw = Bytes::copy_from_slice(&link.buf);
    let mut pos = 0;
    loop {
        let before = link.buf.len();
        let parsed = parser
            .next(&mut link.buf)
            .map_err(|e| format!("protocol error from master: {e}"))?;
        let consumed = before - link.buf.len();
        let mut bytes = raw.slice(pos..pos + consumed);
        pos += consumed;
        if parsed.is_none() {
            carry.extend_from_slice(&bytes);
            return Ok(());
        }
        if !carry.is_empty() {
            carry.extend_from_slice(&bytes);
            bytes = carry.split().freeze();
        }
        let args = match parsed {
            None => return Ok(()),
            Some(Parsed::Empty) => {
                srv.repl.relay(bytes, client.db);
                continue;
            }
            Some(Parsed::Command(args)) => args,
        };
        let getack = args.len() >= 2
            && args[0].eq_ignore_ascii_case(b"replconf")
            && args[1].eq_ignore_ascii_case(b"getack");
        if getack {
            let off = srv.repl.offset();
            link.send(&["REPLCONF", "ACK", &off.to_string()]).await?;
            srv.repl.relay(bytes, client.db);
        } else {
            // Applied and relayed as one step for a sub-replica's snapshot.
            let applying = srv.repl.apply_lock.lock();
            match execute(srv, client, args, unix_ms()) {
                Outcome::Reply(_) => {}
                // The master sends effects, never a blocking command; if one
                // comes anyway it must not wait here.
                Outcome::Block(w) => crate::blocking::abandon(srv, &w),
                // The master's stream is never paused (`command::pipeline`).
                Outcome::Postponed(_) => {}
            }
            srv.repl.relay(bytes, client.db);
            drop(applying);
            // Replies to the master are not sent; neither is anything queued.
            let mut ob = client.handle.outbox.lock();
            ob.frames.clear();
            ob.bytes = 0;
        }
    }
}
