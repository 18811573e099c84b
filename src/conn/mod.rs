//! One task per client connection: read, frame, execute, write.
//!
//! Every complete request in a read is executed before anything is written, and
//! all their replies leave in one write (pipelining). Pub/sub frames queued by
//! publishers are appended after the replies of the batch. A blocked client's
//! task waits for its waiter to be served, to time out, or for the client to go.

pub mod protocol;
pub mod tls;
pub mod unix;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::blocking::{self, Waiter};
use crate::client::{Client, ClientHandle, ReplyMode};
use crate::command::{execute, Outcome};
use crate::reply::{encode, Reply};
use crate::server::{unix_ms, Server};
use protocol::{Parsed, RequestParser};

const READ_CHUNK: usize = 16 * 1024;
/// The read buffer of a client that has not filled one yet.
const SMALL_READ: usize = 1024;
/// A read buffer larger than this is shrunk once drained (PROTO_RESIZE_THRESHOLD).
const QBUF_RESIZE_THRESHOLD: usize = 32 * 1024;
/// How often a connection considers shrinking its read buffer.
const QBUF_RESIZE_PERIOD: Duration = Duration::from_millis(500);
/// An idle connection's empty read buffer is released after this long.
const QBUF_IDLE_FREE: Duration = Duration::from_secs(2);

pub async fn handle(srv: Arc<Server>, mut stream: TcpStream, peer: SocketAddr) {
    let laddr = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    if let Some(refusal) = refusal(&srv, &peer) {
        if refusal == crate::error::PROTECTED_MODE_DENIED {
            deny(stream, refusal.as_bytes()).await;
        } else {
            let _ = stream.write_all(refusal.as_bytes()).await;
        }
        return;
    }
    let is_local = is_local_peer(&peer);
    let (rd, wr) = stream.split();
    serve_connection(&srv, rd, wr, peer.to_string(), laddr, is_local).await;
}

/// Why a new connection is turned away, if it is (counted in
/// `rejected_connections`): `maxclients` reached, or protected mode (no
/// password for the default user and a client that is not local).
pub fn refusal(srv: &Server, peer: &SocketAddr) -> Option<&'static str> {
    let refused = if srv.clients.count() >= srv.config.maxclients.load(Ordering::Relaxed) {
        crate::error::MAX_CLIENTS_REACHED
    } else if !is_local_peer(peer)
        && srv.config.protected_mode.load(Ordering::Relaxed)
        && srv.acl.default_user().rules().nopass
    {
        crate::error::PROTECTED_MODE_DENIED
    } else {
        return None;
    };
    srv.stats
        .rejected_connections
        .fetch_add(1, Ordering::Relaxed);
    Some(refused)
}

/// Serves one client over any transport (TCP today; TLS and unix sockets
/// plug in here): the read and write halves of its stream, its address as
/// CLIENT LIST shows it, and whether it counts as local. Admission
/// (maxclients, protected mode) is the caller's, on its own transport.
pub async fn serve_connection<R, W>(
    srv: &Arc<Server>,
    rd: R,
    wr: W,
    addr: String,
    laddr: String,
    is_local: bool,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let unix = addr.starts_with('/');
    let mut handle = ClientHandle::new(srv.clients.next_id(), addr, laddr);
    handle.is_local = is_local;
    // Only a unix socket's address is a path (`conn::unix`).
    handle.unix = unix;
    let handle = Arc::new(handle);
    handle.last_active_ms.store(
        unix_ms().saturating_sub(srv.start_unix_ms),
        Ordering::Relaxed,
    );
    srv.clients.register(handle.clone());
    if srv.is_shutting_down() {
        // Registered after `Server::shutdown` swept the clients.
        srv.clients.unregister(handle.id);
        return;
    }
    let mut client = Client::new(handle.clone());
    client.set_user(srv.acl.default_user());
    client.authenticated = srv.acl.default_open();
    let mut conn = Conn {
        srv,
        handle: handle.clone(),
        rd,
        wr,
        // Allocated on first use (`reserve_read`, replies), freed again once
        // the client idles: an idle connection holds no buffer.
        inbuf: BytesMut::new(),
        out: BytesMut::new(),
        parser: RequestParser::new(srv.config.proto_max_bulk_len.load(Ordering::Relaxed)),
        qbuf_peak: 0,
        last_read_filled: false,
        last_resize: std::time::Instant::now(),
        obuf_soft_since: None,
        stalled: false,
        unflushed: false,
    };
    let _ = conn.serve(&mut client).await;
    drop(conn);
    cleanup(srv, &mut client);
    // What the connection freed shows in used_memory now, not once this
    // thread has allocated 16 KB more.
    crate::alloc::flush_thread_delta();
}

/// Sends a refusal and closes so that the client reads it: a close with
/// its first request still unread would reset the connection, and the reset
/// can discard the refusal before the client reads it. What the client sends
/// meanwhile is read and dropped (at most 64 KiB, for at most a second).
async fn deny(mut stream: TcpStream, refusal: &[u8]) {
    if stream.write_all(refusal).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    let mut left: usize = 64 * 1024;
    let drain = async {
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// Redis's `islocalClient` for TCP: the peer is exactly 127.0.0.1 or ::1
/// (127.0.0.2 is not; an IPv4-mapped 127.0.0.1 is).
pub fn is_local_peer(peer: &SocketAddr) -> bool {
    match peer.ip().to_canonical() {
        std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
        std::net::IpAddr::V6(ip) => ip == std::net::Ipv6Addr::LOCALHOST,
    }
}

/// Releases everything a leaving client held: subscriptions, registry entry.
fn cleanup(srv: &Server, client: &mut Client) {
    crate::client_eviction::released(srv, &client.handle);
    crate::pubsub::wakes::flush();
    crate::family::pubsub::unsubscribe_all(srv, client);
    client.unwatch();
    srv.tracking.disable(&client.handle);
    if srv.monitoring.load(Ordering::Relaxed) {
        srv.remove_monitor(client.id());
    }
    srv.clients.unregister(client.id());
}

struct Conn<'a, R, W> {
    srv: &'a Server,
    handle: Arc<ClientHandle>,
    rd: R,
    wr: W,
    inbuf: BytesMut,
    out: BytesMut,
    parser: RequestParser,
    /// Largest read buffer fill since the last resize check.
    qbuf_peak: usize,
    /// The last read filled the read buffer: the client sends in bulk.
    last_read_filled: bool,
    last_resize: std::time::Instant,
    /// Since when pending replies are past the normal class's soft limit.
    obuf_soft_since: Option<std::time::Instant>,
    /// The socket did not take all of `out`: the rest is written as it
    /// drains while requests keep being read (`write_ready`).
    stalled: bool,
    /// Bytes were written since the transport was last flushed (TLS
    /// records rustls still holds; a no-op over TCP).
    unflushed: bool,
}

/// Why a connection ends.
enum Closed {
    Eof,
    Io,
    Killed,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Conn<'_, R, W> {
    async fn serve(&mut self, client: &mut Client) -> Result<(), Closed> {
        let mut idle_freed = false;
        // One timer per connection, re-armed only when it fires: arming a fresh
        // timer per read would cost a clock read and a timer-wheel insert each time.
        let idle_timer = tokio::time::sleep(QBUF_IDLE_FREE);
        tokio::pin!(idle_timer);
        // Shutdown reaches the connection through its own wake-up
        // (`Server::shutdown` kills every client, which wakes it): waiting on
        // the server-wide shutdown channel too locked that channel's waiter
        // list, which every connection of every worker shares, twice per
        // request batch. (The wake-up itself is re-armed per read: other
        // waits on it inside `process`, a blocked command's, must be the only
        // waiter when they wait.)
        loop {
            self.process(client).await?;
            // Like Redis, a client that just sent a big argument keeps a read buffer
            // of that size until the periodic resize sees it is no longer needed
            // (the argument itself moved into the keyspace without a copy).
            let big = self.parser.take_big_arg();
            if big > 0 && self.inbuf.capacity() < big {
                self.inbuf.reserve(big - self.inbuf.len());
                // The reservation stands for the big argument: traffic from now on
                // decides whether it is still needed at the next resize check.
                self.qbuf_peak = 0;
                self.last_resize = std::time::Instant::now();
            }
            self.shrink_after_peak();
            self.drain_outbox(client);
            if client.close_after_reply
                || client.repl.handoff.is_some()
                || self.parser.unauthenticated
            {
                // Everything must be written before the socket changes
                // hands or closes; an unauthenticated client's replies are
                // never held (`flush`).
                self.flush().await?;
            } else {
                self.write_ready().await?;
            }
            if let Some(handoff) = client.repl.handoff.take() {
                // SYNC/PSYNC answered: from now on this socket is a replica link.
                let srv = self.srv;
                // Replicas are not normal clients: never counted nor evicted.
                crate::client_eviction::update(srv, &self.handle, 0);
                crate::repl::master::serve_replica(
                    srv,
                    &self.handle,
                    &mut self.rd,
                    &mut self.wr,
                    &mut self.inbuf,
                    *handoff,
                )
                .await;
                return Ok(());
            }
            if client.close_after_reply {
                // Gone for everyone now (subscriptions, tracking, the
                // client list), as Redis frees such a client once its reply
                // is written; the socket lingers only to deliver it.
                cleanup(self.srv, client);
                self.linger().await;
                return Ok(());
            }
            if client.handle.is_killed() {
                return Err(Closed::Killed);
            }
            let limit = self
                .srv
                .config
                .client_query_buffer_limit
                .load(Ordering::Relaxed);
            if self.inbuf.len() >= limit {
                tracing::warn!(
                    "Closing client that reached max query buffer length: id={} addr={} (qbuf initial bytes: {:?})",
                    client.id(),
                    client.handle.addr,
                    String::from_utf8_lossy(&self.inbuf[..self.inbuf.len().min(64)])
                );
                return Err(Closed::Killed);
            }
            if !idle_freed {
                self.reserve_read();
            }
            self.report(client);
            // After reads (a growing query buffer) and writes, as Redis
            // updates a client's memory and evicts before it sleeps.
            crate::client_eviction::evict(self.srv);
            if client.handle.is_killed() {
                return Err(Closed::Killed);
            }
            tokio::select! {
                // Replies the socket did not take: written as it drains,
                // while the client's requests are still read and served (the
                // next round of the loop).
                n = write_step(&mut self.wr, &self.out), if !self.out.is_empty() || self.unflushed => {
                    match n {
                        Ok(_) if self.out.is_empty() => self.unflushed = false,
                        Ok(n) if n > 0 => self.wrote(n),
                        _ => return Err(Closed::Io),
                    }
                }
                n = self.rd.read_buf(&mut self.inbuf) => {
                    idle_freed = false;
                    match n {
                        Ok(0) => return Err(Closed::Eof),
                        Ok(n) => {
                            self.srv.stats.add_net_input(n);
                            self.srv.stats.hot().reads_processed.add(1);
                            self.last_read_filled = self.inbuf.len() == self.inbuf.capacity();
                            self.qbuf_peak = self.qbuf_peak.max(self.inbuf.len());
                        }
                        Err(_) => return Err(Closed::Io),
                    }
                }
                _ = client.handle.wake.notified() => {
                    if client.handle.is_killed() {
                        // Evicted or killed: release its buffers now.
                        return Err(Closed::Killed);
                    }
                    // Messages were queued for this client. Let every connection
                    // that is ready now run first: publishers read in the same
                    // round add theirs, and the lot leaves in one write, as in
                    // Redis, whose event loop writes replies only once the
                    // round's reads are processed.
                    tokio::task::yield_now().await;
                }
                _ = &mut idle_timer, if !idle_freed => {
                    let last = client.handle.last_active_ms.load(Ordering::Relaxed);
                    let idle_ms = unix_ms().saturating_sub(self.srv.start_unix_ms).saturating_sub(last);
                    let limit = QBUF_IDLE_FREE.as_millis() as u64;
                    if idle_ms >= limit && self.inbuf.is_empty() && self.out.is_empty() {
                        // An idle client keeps no buffers (Redis frees its
                        // query buffer after 2 s too, and shrinks its reply buffer).
                        let freed = self.inbuf.capacity() + self.out.capacity();
                        self.inbuf = BytesMut::new();
                        self.out = BytesMut::new();
                        crate::alloc::note_idle_freed(freed);
                        idle_freed = true;
                    } else {
                        let wait = Duration::from_millis(limit.saturating_sub(idle_ms).max(1));
                        idle_timer.as_mut().reset(tokio::time::Instant::now() + wait);
                    }
                }
            }
        }
    }

    /// Closes after the last reply (QUIT, a protocol error) so that the
    /// client reads it: the write side is shut first, and what the client
    /// still sends is read and dropped (at most 64 KiB, for at most a
    /// second), since closing with unread bytes would reset the connection
    /// and the reset can discard the reply (as `deny`).
    async fn linger(&mut self) {
        // Gone for everyone else already (CLIENT LIST, CLIENT KILL).
        self.handle.kill();
        if self.wr.shutdown().await.is_err() {
            return;
        }
        let mut sink = [0u8; 4096];
        let mut left: usize = 64 * 1024;
        let rd = &mut self.rd;
        let drain = async move {
            while left > 0 {
                match rd.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    }

    /// After a large request the read buffer goes back to its normal size, once
    /// the recent peak shows it is no longer needed (Redis's clientsCron resize).
    fn shrink_after_peak(&mut self) {
        if self.inbuf.capacity() <= QBUF_RESIZE_THRESHOLD {
            // Nothing to give back: no clock read (at depth 1, reading the
            // clock here was 2 % of the server's user time).
            self.qbuf_peak = self.inbuf.len();
            return;
        }
        if self.last_resize.elapsed() < QBUF_RESIZE_PERIOD {
            return;
        }
        self.last_resize = std::time::Instant::now();
        let cap = self.inbuf.capacity();
        if self.inbuf.is_empty() && cap > QBUF_RESIZE_THRESHOLD && self.qbuf_peak < cap / 2 {
            self.inbuf = BytesMut::with_capacity(self.qbuf_peak.max(READ_CHUNK));
        }
        self.qbuf_peak = self.inbuf.len();
    }

    /// Publishes what CLIENT LIST shows of this connection's buffers, and
    /// its memory for client eviction.
    fn report(&self, client: &Client) {
        let argv = self.parser.argv_mem();
        let multi = crate::client_eviction::multi_mem(client);
        let pushes = client.handle.outbox.lock().bytes;
        {
            let mut info = client.handle.info.lock();
            info.qbuf = self.inbuf.len();
            info.qbuf_free = self.inbuf.capacity() - self.inbuf.len();
            info.argv_mem = argv;
            info.multi_mem = multi;
            info.omem = self.out.len();
        }
        let buffers = crate::client_eviction::Buffers {
            query: self.inbuf.capacity(),
            argv,
            output: self.out.len() + pushes,
            output_spare: self.out.capacity() - self.out.len(),
        };
        let mem = crate::client_eviction::memory(client, &buffers);
        crate::client_eviction::update(self.srv, &client.handle, mem);
    }

    /// Room for the next read: the rest of a big argument, a full chunk
    /// for a client that fills its buffer, a small one for a client that
    /// sends a command now and then (most idle connections: their buffer
    /// then costs one small allocation, not four pages).
    fn reserve_read(&mut self) {
        let floor = if self.last_read_filled {
            READ_CHUNK
        } else {
            SMALL_READ
        };
        let (len, cap) = (self.inbuf.len(), self.inbuf.capacity());
        let remaining = self.parser.bulk_remaining(len);
        if let Some(rest) = remaining.filter(|_| self.parser.big_bulk_in_progress()) {
            // A big argument grows the buffer geometrically (a header alone
            // reserves nothing it claims), but never past what the argument
            // needs: the buffer is this client's memory (CLIENT LIST tot-mem,
            // client eviction), and Redis sizes a big argument's buffer
            // exactly.
            let chunk = rest.min(1 << 20);
            if cap - len >= chunk {
                return;
            }
            let target = (len + chunk).max(2 * cap).min(len + rest);
            let mut grown = BytesMut::with_capacity(target);
            grown.extend_from_slice(&self.inbuf);
            self.inbuf = grown;
            return;
        }
        let want = remaining.unwrap_or(0).clamp(floor, 1 << 20);
        if cap - len < want {
            self.inbuf.reserve(want);
        }
    }

    /// Executes every complete request buffered so far.
    async fn process(&mut self, client: &mut Client) -> Result<(), Closed> {
        // One clock reading per batch: commands of one read share it (as Redis
        // caches its clock per event-loop iteration).
        let mut now_ms = unix_ms();
        let mut yielded_for_publish = false;
        if client.tracking.is_some() || client.resp >= 3 {
            // Pushes queued before these requests arrived go before their
            // replies, as Redis writes them into the client's buffer when
            // they happen (invalidations from other clients' writes).
            self.drain_outbox(client);
        }
        client.handle.last_active_ms.store(
            now_ms.saturating_sub(self.srv.start_unix_ms),
            Ordering::Relaxed,
        );
        loop {
            // Subscribers this batch publishes to are woken once, at the next
            // flush, so each gets the whole batch's messages in one write.
            crate::pubsub::wakes::defer();
            if client.handle.is_killed() {
                return Err(Closed::Killed);
            }
            let before = self.inbuf.len();
            // Until AUTH succeeds, request sizes are limited (Redis's authRequired checks).
            self.parser.unauthenticated = !client.authenticated && !self.srv.acl.default_open();
            let args = match self.parser.next(&mut self.inbuf) {
                Ok(Some(Parsed::Command(args))) => {
                    // What CLIENT LIST shows as qbuf while this command runs.
                    client.query_len = before;
                    args
                }
                Ok(Some(Parsed::Empty)) => continue,
                Ok(None) => return Ok(()),
                Err(e) => {
                    tracing::debug!(
                        "Protocol error ({e}) from client: id={} addr={}",
                        client.id(),
                        client.handle.addr
                    );
                    self.emit(client, &Reply::Error(e.to_string()));
                    client.close_after_reply = true;
                    return Ok(());
                }
            };
            self.prefetch_next(client, &args[0]);
            if client.reply_mode == ReplyMode::SkipNext {
                client.reply_mode = ReplyMode::Skipping;
            }
            if self.srv.busy.running() && self.busy_script_refuses(client, &args).await {
                continue;
            }
            if !yielded_for_publish && yields_to_earlier_arrivals(&args) > 0 {
                // Let connections woken before this one run first: an
                // UNSUBSCRIBE that reached the server before this PUBLISH is
                // then applied before it, and an INFO sent after other
                // clients' commands sees them done, as Redis's single event
                // loop would (tokio runs the most recently woken task first).
                // Once per batch: the batch's later commands arrived after it.
                yielded_for_publish = true;
                crate::pubsub::wakes::flush();
                for _ in 0..yields_to_earlier_arrivals(&args) {
                    tokio::task::yield_now().await;
                }
                crate::pubsub::wakes::defer();
            }
            if crate::client_eviction::over_limit(self.srv) {
                // Redis's processCommand evicts before running a command;
                // if this client is the one evicted, the command never runs.
                crate::client_eviction::evict(self.srv);
                if client.handle.is_killed() {
                    return Err(Closed::Killed);
                }
            }
            let mut outcome = execute(self.srv, client, args, now_ms);
            let (mut reply, own) = loop {
                // Tracking messages this command caused for its own client
                // (taken now: they are this thread's until the next command).
                let own = crate::tracking::take_own();
                if let Some(own) = &own {
                    self.emit_pushes(&own.frames[..own.before_reply]);
                }
                match outcome {
                    Outcome::Reply(r) => break (r, own),
                    // wait_blocked flushes what is pending first, and unregisters the
                    // waiter on every way out.
                    Outcome::Block(waiter) => {
                        let reply = self.wait_blocked(client, waiter).await;
                        // The block is over, whichever way: CLIENT UNBLOCK has nothing to act on.
                        *client.handle.waiter.lock() = None;
                        let reply = reply?;
                        // Time passed while blocked: later commands of the batch need a fresh clock.
                        now_ms = unix_ms();
                        break (reply, own);
                    }
                    Outcome::Postponed(args) => {
                        if let Some(own) = &own {
                            self.emit_pushes(&own.frames[own.before_reply..]);
                        }
                        self.wait_pause_over(client).await?;
                        now_ms = unix_ms();
                        outcome = execute(self.srv, client, args, now_ms);
                    }
                }
            };
            if std::mem::take(&mut client.awaiting_shutdown) {
                // SHUTDOWN waiting for replicas: the process ends, or the
                // shutdown is cancelled (ABORT, a failed save) and says so.
                self.flush().await?;
                // Counted as blocked by SHUTDOWN itself.
                let _blocked = PostponedGuard::adopt(self.srv, &client.handle);
                self.srv.shutdown_ctl.wait_failed().await;
                reply = Reply::Error(
                    crate::error::msg::ERRORS_TRYING_TO_SHUTDOWN_CHECK_LOGS.to_string(),
                );
            }
            if let Some(req) = client.repl.wait.take() {
                // WAIT: earlier replies go out first, then this one when the
                // replicas acknowledged (or the timeout passed).
                self.flush().await?;
                let n = crate::repl::wait_acks(&self.srv.repl, req).await;
                reply = Reply::Int(n as i64);
                now_ms = unix_ms();
            }
            // A large bulk that will take the replies past the hard limit
            // closes the client before it is copied: Redis's outcome (the
            // client goes, nothing is sent), reached without the copy, so
            // that the client is gone sooner for everyone else.
            let ahead = match &reply {
                Reply::Bulk(b) if b.len() >= 64 * 1024 => b.len(),
                _ => 0,
            };
            let over = (ahead > 0 && self.over_normal_obuf_limit(client, ahead)) || {
                self.emit(client, &reply);
                if let Some(own) = &own {
                    self.emit_pushes(&own.frames[own.before_reply..]);
                }
                self.over_normal_obuf_limit(client, 0)
            };
            if over {
                // As Redis frees such a client: nothing more is sent, and it
                // is gone for everyone now (CLIENT LIST), not once its task ends.
                self.out.clear();
                client.handle.kill();
                return Err(Closed::Killed);
            }
            if client.close_after_reply || client.repl.handoff.is_some() {
                return Ok(());
            }
            if crate::client_eviction::enabled(self.srv) {
                // What the command added (replies, a queued command, watched
                // keys, subscriptions) counts now, as Redis updates a client's
                // memory after each command; the top of the loop stops a
                // client this evicted.
                self.report(client);
                crate::client_eviction::evict(self.srv);
            }
            // Replies of a long pipeline go out every 64 KB (what the socket
            // takes now: a client that does not read grows its output
            // buffer, as in Redis), unless a normal output-buffer limit is
            // set: then they wait for the batch's end, as in Redis, so that
            // the limit sees them all.
            if self.out.len() > 64 * 1024
                && self.srv.config.obuf_normal.hard.load(Ordering::Relaxed) == 0
                && self.srv.config.obuf_normal.soft.load(Ordering::Relaxed) == 0
            {
                self.write_ready().await?;
                now_ms = unix_ms();
            }
        }
    }

    /// In a pipeline repeating one keyed command (`name`, which runs now),
    /// asks for the next request's bucket while this one runs
    /// (`keyspace::prefetch`): its cache miss then overlaps this command.
    /// Only once the keyspace outgrew the caches (one relaxed load until then).
    fn prefetch_next(&self, client: &Client, name: &[u8]) {
        if !self.srv.keyspace.prefetch_worthwhile() {
            return;
        }
        let Some((next, key)) = protocol::peek_name_and_first_arg(&self.inbuf) else {
            return;
        };
        if crate::command::same_short_bytes(next, name) && self.srv.commands.first_arg_is_key(name)
        {
            self.srv.keyspace.prefetch(client.db, key);
        }
    }

    /// While another connection's script runs, this command waits for it
    /// without holding the worker (`scripting::busy`) until it ends or has
    /// run past `busy-reply-threshold`; then it is refused with BUSY, unless
    /// it is one of the commands Redis serves then (SCRIPT KILL, FUNCTION
    /// KILL / STATS, SHUTDOWN, AUTH, MULTI…). True when refused.
    async fn busy_script_refuses(&mut self, client: &mut Client, args: &[bytes::Bytes]) -> bool {
        use crate::command::flags::ALLOW_BUSY;
        let resolved = self.srv.commands.resolve(args);
        let allowed = resolved
            .is_some_and(|r| r.spec.has(ALLOW_BUSY) || r.parent.is_some_and(|p| p.has(ALLOW_BUSY)));
        crate::pubsub::wakes::flush();
        if allowed {
            // As in Redis, where nothing else runs before the script has
            // passed the threshold: SCRIPT KILL then finds it busy.
            self.srv.busy.wait().await;
            return false;
        }
        let is_exec = resolved.is_some_and(|r| r.parent.is_none() && r.spec.name == "exec");
        if !self.srv.busy.wait().await {
            return false;
        }
        self.srv.stats.record_error("BUSY");
        let busy = self.srv.busy.busy_error();
        let reply = if is_exec && client.multi.is_some() {
            // Redis's rejectCommand on EXEC: the transaction is discarded.
            client.multi = None;
            client.unwatch();
            client.handle.info.lock().multi = -1;
            crate::error::msg::exec_abort_because(&crate::error::CmdError::custom(busy))
        } else {
            crate::command::pipeline::flag_multi_error(client);
            busy.to_string()
        };
        self.emit(client, &Reply::Error(reply));
        crate::pubsub::wakes::defer();
        true
    }

    /// The `normal` class of client-output-buffer-limit: replies waiting to
    /// be written past the hard limit, or past the soft one for longer than
    /// its seconds, counting `ahead` bytes about to be added. One relaxed
    /// load per reply while under both.
    fn over_normal_obuf_limit(&mut self, client: &Client, ahead: usize) -> bool {
        let limits = &self.srv.config.obuf_normal;
        let pending = (self.out.len() + ahead) as u64;
        let hard = limits.hard.load(Ordering::Relaxed);
        let soft = limits.soft.load(Ordering::Relaxed);
        let over_hard = hard > 0 && pending > hard;
        let over_soft = soft > 0 && pending > soft;
        if !over_hard && !over_soft {
            self.obuf_soft_since = None;
            return false;
        }
        // Subscribers are the pubsub class (`pubsub::`), replicas the replica one.
        let info = client.handle.info.lock();
        if info.sub + info.psub + info.ssub > 0 || client.repl.is_master {
            return false;
        }
        drop(info);
        let kill = over_hard || {
            let since = *self
                .obuf_soft_since
                .get_or_insert_with(std::time::Instant::now);
            let seconds = limits.soft_seconds.load(Ordering::Relaxed).max(0) as u64;
            since.elapsed() >= Duration::from_secs(seconds)
        };
        if kill {
            tracing::warn!(
                "Client id={} addr={} closed for overcoming of output buffer limits.",
                client.id(),
                client.handle.addr
            );
        }
        kill
    }

    /// CLIENT PAUSE held this client's command (`command::pipeline`):
    /// earlier replies leave, and the client counts as blocked (INFO
    /// `blocked_clients`, CLIENT LIST `b`, as Redis's BLOCKED_POSTPONE)
    /// until the pause ends or CLIENT UNPAUSE.
    async fn wait_pause_over(&mut self, client: &Client) -> Result<(), Closed> {
        self.flush().await?;
        let srv = self.srv;
        let _blocked = PostponedGuard::enter(srv, &client.handle);
        let mut shutdown = srv.shutdown_rx.clone();
        loop {
            let until = srv.pause_until.load(Ordering::Relaxed);
            let now = unix_ms();
            if until <= now {
                // Over: cleared so that later commands skip the check.
                let _ = srv.pause_until.compare_exchange(
                    until,
                    0,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                return Ok(());
            }
            if client.handle.is_killed() {
                return Err(Closed::Killed);
            }
            // Re-checked often enough that CLIENT UNPAUSE releases clients promptly.
            let step = Duration::from_millis((until - now).min(10));
            tokio::select! {
                _ = tokio::time::sleep(step) => {}
                _ = client.handle.kill_wake.notified() => return Err(Closed::Killed),
                _ = shutdown.changed() => return Err(Closed::Killed),
            }
        }
    }

    fn emit(&mut self, client: &mut Client, reply: &Reply) {
        if is_push(reply) {
            // Pub/sub confirmations and messages bypass CLIENT REPLY OFF/SKIP (Redis 7).
            encode(reply, client.resp, &mut self.out);
            if client.reply_mode == ReplyMode::Skipping {
                client.reply_mode = ReplyMode::On;
            }
            return;
        }
        match client.reply_mode {
            ReplyMode::On => encode(reply, client.resp, &mut self.out),
            ReplyMode::Skipping => client.reply_mode = ReplyMode::On,
            ReplyMode::Off | ReplyMode::SkipNext => {}
        }
    }

    /// Out-of-band frames already encoded for this client (tracking
    /// messages): sent whatever CLIENT REPLY says, as Redis's pushes are.
    fn emit_pushes(&mut self, frames: &[bytes::Bytes]) {
        for f in frames {
            self.out.extend_from_slice(f);
        }
    }

    fn drain_outbox(&mut self, client: &Client) {
        if self.stalled {
            // Queued pushes stay in the outbox while the socket does not
            // drain, where the pub/sub output limit sees them grow.
            return;
        }
        let mut ob = client.handle.outbox.lock();
        if ob.frames.is_empty() {
            return;
        }
        for frame in ob.frames.drain(..) {
            self.out.extend_from_slice(&frame);
        }
        ob.bytes = 0;
        ob.soft_since = None;
    }

    /// Writes the pending replies; a client killed meanwhile (output buffer
    /// limit, CLIENT KILL) is dropped even while the write waits on its socket.
    async fn flush(&mut self) -> Result<(), Closed> {
        // Every await of a batch goes through here first: no wake-up may stay
        // deferred on this thread while the task yields.
        crate::pubsub::wakes::flush();
        if self.out.is_empty() {
            if self.unflushed {
                self.wr.flush().await.map_err(|_| Closed::Io)?;
                self.unflushed = false;
            }
            return Ok(());
        }
        self.await_aof().await;
        // A client that must still authenticate may not make the server
        // hold its replies (Redis's fix of CVE-2025-21605, which allows its
        // 16 KB static buffer plus 1 KB): what the socket does not take at
        // once (its buffer is full: the client is not reading) closes the
        // connection instead of waiting.
        if self.parser.unauthenticated {
            let out = std::mem::take(&mut self.out);
            let wr = &mut self.wr;
            let write = async move {
                wr.write_all(&out).await?;
                wr.flush().await.map(|()| out.len())
            };
            return match tokio::time::timeout(Duration::ZERO, write).await {
                Ok(Ok(n)) => {
                    self.srv.stats.add_net_output(n);
                    Ok(())
                }
                _ => Err(Closed::Killed),
            };
        }
        // A client killed meanwhile (e.g. past its output limit because it does
        // not read) is dropped even while this write waits on its socket.
        tokio::select! {
            biased;
            // The flush matters for TLS: a write may leave records in
            // rustls's buffer when the socket was full (a no-op over TCP).
            r = async { self.wr.write_all(&self.out).await?; self.wr.flush().await } => {
                r.map_err(|_| Closed::Io)?
            }
            _ = self.handle.kill_wake.notified() => return Err(Closed::Killed),
        }
        let n = self.out.len();
        self.unflushed = false;
        self.wrote(n);
        Ok(())
    }

    /// `n` bytes of `out` were written.
    fn wrote(&mut self, n: usize) {
        self.srv.stats.add_net_output(n);
        self.srv.stats.hot().writes_processed.add(1);
        self.unflushed = true;
        if n < self.out.len() {
            bytes::Buf::advance(&mut self.out, n);
            return;
        }
        self.stalled = false;
        if self.out.capacity() > 1 << 20 {
            self.out = BytesMut::with_capacity(READ_CHUNK);
        } else {
            self.out.clear();
        }
    }

    /// Writes what the socket takes now, without waiting for it to take
    /// more. The rest is written by the serve loop as the socket drains,
    /// while the client's requests keep being read and served: as in Redis,
    /// a client that does not read its replies grows its output buffer,
    /// which `client-output-buffer-limit` and `maxmemory-clients` watch.
    async fn write_ready(&mut self) -> Result<(), Closed> {
        crate::pubsub::wakes::flush();
        if self.out.is_empty() && !self.unflushed {
            return Ok(());
        }
        if self.parser.unauthenticated {
            return self.flush().await;
        }
        self.await_aof().await;
        loop {
            if self.out.is_empty() {
                if self.unflushed && poll_once(self.wr.flush()).await.is_some_and(|r| r.is_ok()) {
                    self.unflushed = false;
                }
                return Ok(());
            }
            match poll_once(self.wr.write(&self.out)).await {
                Some(Ok(n)) if n > 0 => self.wrote(n),
                Some(_) => return Err(Closed::Io),
                None => {
                    self.stalled = true;
                    return Ok(());
                }
            }
        }
    }

    /// No reply (nor a value read) leaves before the writes fed so far are
    /// in the AOF, fsynced under `appendfsync always`.
    async fn await_aof(&self) {
        if self.srv.aof.is_on() {
            // No reply (nor a value read) leaves before the writes fed so far
            // are in the AOF, fsynced under `appendfsync always`. Yielding
            // first lets every connection that is ready now add its writes,
            // so one write (and one fsync) serves them all, as Redis's
            // `beforeSleep` does once per event-loop round.
            if self.srv.aof.has_unwritten() {
                tokio::task::yield_now().await;
            }
            self.srv.aof.wait_durable().await;
        }
    }

    /// Waits until the waiter is served, times out, is unblocked, or the client leaves.
    async fn wait_blocked(&mut self, client: &mut Client, w: Arc<Waiter>) -> Result<Reply, Closed> {
        let srv = self.srv;
        let deadline = w.deadline_ms.map(|d| {
            let now = unix_ms();
            tokio::time::Instant::now() + Duration::from_millis(d.saturating_sub(now))
        });
        let mut shutdown = srv.shutdown_rx.clone();
        loop {
            if let Some(reply) = w.reply.lock().take() {
                return Ok(reply);
            }
            if client.handle.is_killed() {
                blocking::abandon(srv, &w);
                return Err(Closed::Killed);
            }
            self.drain_outbox(client);
            if let Err(e) = self.flush().await {
                blocking::abandon(srv, &w);
                return Err(e);
            }
            if !client.handle.outbox.lock().frames.is_empty() || w.reply.lock().is_some() {
                continue;
            }
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = client.handle.wake.notified() => {}
                _ = sleep => {
                    if w.claim() {
                        blocking::unregister(srv, &w);
                        return Ok(w.timeout_reply.clone());
                    }
                }
                n = self.rd.read_buf(&mut self.inbuf) => {
                    match n {
                        Ok(n) if n > 0 => {
                            self.srv.stats.add_net_input(n);
                            self.reserve_read();
                        }
                        _ => {
                            blocking::abandon(srv, &w);
                            return Err(Closed::Eof);
                        }
                    }
                }
                _ = shutdown.changed() => {
                    blocking::abandon(srv, &w);
                    return Err(Closed::Killed);
                }
            }
        }
    }
}

/// A client postponed by CLIENT PAUSE, counted as blocked while it waits.
struct PostponedGuard<'a> {
    srv: &'a Server,
    handle: &'a ClientHandle,
}

impl<'a> PostponedGuard<'a> {
    fn enter(srv: &'a Server, handle: &'a ClientHandle) -> PostponedGuard<'a> {
        srv.blocking.blocked.fetch_add(1, Ordering::Relaxed);
        handle.info.lock().blocked = true;
        PostponedGuard { srv, handle }
    }

    /// A client its command already counted as blocked.
    fn adopt(srv: &'a Server, handle: &'a ClientHandle) -> PostponedGuard<'a> {
        PostponedGuard { srv, handle }
    }
}

impl Drop for PostponedGuard<'_> {
    fn drop(&mut self) {
        self.srv.blocking.blocked.fetch_sub(1, Ordering::Relaxed);
        self.handle.info.lock().blocked = false;
    }
}

/// Commands whose result depends on what other connections sent just
/// before (PUBLISH reaching who is subscribed, INFO's counts, CLIENT LIST
/// showing clients that earlier requests grew or closed, FLUSHALL / FLUSHDB
/// / SWAPDB meeting a blocking read sent just before them, which must block
/// first and then be told its key is gone): rare enough that a yield before
/// them costs nothing measurable.
/// How many times: once lets tasks this worker has queued run first; CLIENT
/// LIST yields a few times more, so that a connection another worker took
/// over meanwhile (its requests arrived first) is likelier to be done.
fn yields_to_earlier_arrivals(args: &[bytes::Bytes]) -> usize {
    let name = &args[0];
    if name.eq_ignore_ascii_case(b"publish")
        || name.eq_ignore_ascii_case(b"spublish")
        || name.eq_ignore_ascii_case(b"info")
        || name.eq_ignore_ascii_case(b"flushall")
        || name.eq_ignore_ascii_case(b"flushdb")
        || name.eq_ignore_ascii_case(b"swapdb")
    {
        1
    } else if name.eq_ignore_ascii_case(b"client")
        && args.get(1).is_some_and(|s| s.eq_ignore_ascii_case(b"list"))
    {
        4
    } else {
        0
    }
}

/// Polls `fut` once: its output if it is ready now, `None` if it would
/// wait. Only for futures that do nothing until ready (a socket write or
/// flush): dropping one that was not ready loses nothing.
async fn poll_once<F: std::future::Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await
}

/// One step of writing pending replies: a write of what `out` holds or,
/// with nothing left, the transport's flush. Cancel-safe: a write that
/// waits has written nothing.
async fn write_step<W: AsyncWrite + Unpin>(wr: &mut W, out: &[u8]) -> std::io::Result<usize> {
    if out.is_empty() {
        wr.flush().await.map(|()| 0)
    } else {
        wr.write(out).await
    }
}

fn is_push(reply: &Reply) -> bool {
    match reply {
        Reply::Push(_) => true,
        Reply::Many(items) => {
            !items.is_empty() && items.iter().all(|r| matches!(r, Reply::Push(_)))
        }
        _ => false,
    }
}

/// Disconnects clients idle longer than `timeout` (not subscribers, not blocked).
pub fn check_timeouts(srv: &Server) {
    let timeout = srv.config.timeout.load(Ordering::Relaxed);
    if timeout == 0 {
        return;
    }
    let now = unix_ms().saturating_sub(srv.start_unix_ms);
    for c in srv.clients.all() {
        let idle = now.saturating_sub(c.last_active_ms.load(Ordering::Relaxed));
        let info = c.info.lock();
        let exempt = info.blocked || info.sub + info.psub + info.ssub > 0;
        drop(info);
        if !exempt && idle / 1000 > timeout {
            tracing::debug!("Closing idle client id={}", c.id);
            c.kill();
        }
    }
}
