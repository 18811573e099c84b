//! Replication: the effect feed, the backlog, and both roles.
//!
//! API
//! - `Replication::active()`: one relaxed atomic load; false until a replica
//!   attaches or the AOF is turned on, so a server with neither pays nothing
//!   per command.
//! - `Replication::feed(cmds)`: appends commands (effects, already rewritten by
//!   `propagate`) to the stream, in RESP, with a SELECT when the database
//!   changes and MULTI/EXEC around a group. Called while the command that
//!   produced them still holds its shard locks, so per key the stream order is
//!   the order of the effects. The AOF (`persist::aof`) is fed here too,
//!   with SELECTs of its own.
//! - `master`: serving one attached replica (after SYNC/PSYNC).
//! - `replica`: the task that follows a master (REPLICAOF host port).
//!
//! Lock order: shards, then `Replication::state`, then a link's outbox or
//! the AOF buffer.

pub mod master;
pub mod propagate;
pub mod replica;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::sync::Notify;

/// One command for the stream: database and arguments.
pub type Prop = (usize, Vec<Bytes>);

/// Where an effect goes (`Replication::feed_targeted`).
pub const TO_AOF: u8 = 1;
pub const TO_REPLICAS: u8 = 2;

/// A connection's replication state (lives in `Client`).
#[derive(Default)]
pub struct ClientRepl {
    /// This is the link from our master: its writes pass `replica-read-only`
    /// and it sees logically expired keys (they are the master's to delete).
    pub is_master: bool,
    /// REPLCONF listening-port / ip-address, announced before PSYNC.
    pub listening_port: u16,
    pub announced_ip: Option<String>,
    /// Set by SYNC/PSYNC: the connection becomes a replica link after this reply.
    pub handoff: Option<Box<master::Handoff>>,
    /// Set by WAIT when it must wait for acknowledgements.
    pub wait: Option<WaitRequest>,
    /// Stream offset just after this client's last propagated write (WAIT
    /// waits for the replicas to acknowledge it, as Redis's `c->woff`).
    pub woff: u64,
    /// On a replica: the running command is a write (a writable replica's
    /// writes delete the expired keys they meet; its reads only hide them).
    pub write_cmd: bool,
}

/// WAIT numreplicas timeout, pending: the connection awaits the acks.
pub struct WaitRequest {
    pub offset: u64,
    pub replicas: usize,
    /// Unix ms; None waits forever (timeout 0).
    pub deadline_ms: Option<u64>,
}

/// Waits until `req.replicas` replicas acknowledged `req.offset` or the deadline
/// passes; the reply is the number that did.
pub async fn wait_acks(srv: &Replication, req: WaitRequest) -> usize {
    loop {
        let notified = srv.acks.notified();
        tokio::pin!(notified);
        // Registered before counting: an ack landing in between still wakes us.
        notified.as_mut().enable();
        let n = srv.acked(req.offset);
        if n >= req.replicas {
            return n;
        }
        let sleep = async {
            match req.deadline_ms {
                Some(d) => {
                    let ms = d.saturating_sub(crate::server::unix_ms());
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = notified => {}
            _ = sleep => return srv.acked(req.offset),
        }
    }
}

pub struct Replication {
    /// True while a backlog exists (a replica attached once): commands are fed.
    active: AtomicBool,
    /// True while a master produces a stream (backlog, not a replica).
    stream_on: AtomicBool,
    /// True while effects go to the AOF.
    aof_on: AtomicBool,
    aof: std::sync::OnceLock<Arc<crate::persist::aof::Aof>>,
    /// True while this server follows a master (read by the dispatcher).
    replica: AtomicBool,
    /// True while the link to the master is up (replica-serve-stale-data).
    link_up: AtomicBool,
    pub state: Mutex<State>,
    /// Woken whenever a replica acknowledges an offset (WAIT).
    pub acks: Notify,
    /// Held by a replica while it applies one command of its master's stream
    /// and relays it, and by a snapshot for a sub-replica: the snapshot and
    /// the relayed offset then agree.
    pub apply_lock: Mutex<()>,
    /// client-output-buffer-limit replica hard limit (bytes, 0 = none),
    /// refreshed from the config by `cron`.
    pub obuf_hard: AtomicU64,
    /// Notified by CLIENT KILL TYPE master: the replica task drops its link.
    pub link_kill: Notify,
    /// Keys a writable replica's own clients gave a TTL: the replica expires
    /// these itself (the master knows nothing of them), as Redis's
    /// `slaveKeysWithExpire`.
    pub local_expires: Mutex<std::collections::HashSet<(usize, Bytes)>>,
}

/// The role as REPLICAOF sets it.
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    /// `connect`, `connecting`, `sync`, `connected` (ROLE's words).
    pub status: &'static str,
    /// Unix ms of the last byte from the master (INFO master_last_io_seconds_ago).
    pub last_io_ms: u64,
    /// Unix ms the link went down (INFO master_link_down_since_seconds).
    pub down_since_ms: u64,
    /// The task following the master; aborted by the next REPLICAOF.
    pub task: Option<tokio::task::JoinHandle<()>>,
}

pub struct State {
    pub replid: String,
    pub replid2: String,
    /// master_repl_offset: bytes of stream produced (master) or applied (replica).
    pub offset: u64,
    /// Offset up to which `replid2` is valid (+1), -1 when none.
    pub second_offset: i64,
    backlog: Option<Backlog>,
    /// Database the stream last SELECTed (None: the next command SELECTs).
    stream_db: Option<usize>,
    pub replicas: Vec<Arc<ReplicaLink>>,
    pub master: Option<MasterLink>,
    /// On a replica: the database the master's stream is in (the master
    /// client's SELECT), sent as `repl-stream-db` to our own sub-replicas.
    pub master_db: usize,
}

/// The last `size` bytes of the stream, for partial resynchronisation.
struct Backlog {
    buf: VecDeque<u8>,
    size: usize,
}

/// One attached replica, as the master sees it.
pub struct ReplicaLink {
    pub client_id: u64,
    pub ip: String,
    /// REPLCONF listening-port.
    pub port: u16,
    /// Last offset the replica acknowledged (REPLCONF ACK).
    pub ack: AtomicU64,
    pub ack_time_ms: AtomicU64,
    /// False while the RDB is being prepared and sent (state=wait_bgsave).
    pub online: AtomicBool,
    /// Stream bytes waiting to be written to this replica, and their size.
    pub outbox: Mutex<VecDeque<Bytes>>,
    pub queued: AtomicU64,
    /// Past the replica class's hard output limit: the link is dropped (the
    /// replica reconnects and resyncs) rather than let memory grow unbounded.
    pub overflow: AtomicBool,
    pub wake: Notify,
}

impl ReplicaLink {
    fn push(&self, frame: Bytes, hard_limit: u64) {
        if self.overflow.load(Ordering::Relaxed) {
            return;
        }
        let queued =
            self.queued.fetch_add(frame.len() as u64, Ordering::Relaxed) + frame.len() as u64;
        if hard_limit > 0 && queued > hard_limit {
            self.overflow.store(true, Ordering::Relaxed);
            self.outbox.lock().clear();
        } else {
            self.outbox.lock().push_back(frame);
        }
        self.wake.notify_one();
    }
}

/// `cmds` in RESP, SELECTing when the database differs from `*cur`; more than
/// one is wrapped in MULTI/EXEC so they are applied atomically, as Redis
/// propagates a transaction.
pub fn encode_block(cmds: &[Prop], cur: &mut Option<usize>) -> BytesMut {
    let mut out = BytesMut::new();
    let mut select = |out: &mut BytesMut, db: usize| {
        if *cur != Some(db) {
            encode_command(out, &[b("SELECT"), b(&db.to_string())]);
            *cur = Some(db);
        }
    };
    let wrap = cmds.len() > 1;
    if wrap {
        select(&mut out, cmds[0].0);
        encode_command(&mut out, &[b("MULTI")]);
    }
    for (db, args) in cmds {
        select(&mut out, *db);
        encode_command(&mut out, args);
    }
    if wrap {
        encode_command(&mut out, &[b("EXEC")]);
    }
    out
}

/// Appends one command in RESP (what the stream and the AOF carry).
pub fn encode_command(out: &mut BytesMut, args: &[Bytes]) {
    let mut n = itoa::Buffer::new();
    out.reserve(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.extend_from_slice(b"*");
    out.extend_from_slice(n.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.extend_from_slice(b"$");
        out.extend_from_slice(n.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

impl Replication {
    pub fn new(replid: String) -> Replication {
        Replication {
            active: AtomicBool::new(false),
            replica: AtomicBool::new(false),
            link_up: AtomicBool::new(false),
            state: Mutex::new(State {
                replid,
                replid2: "0".repeat(40),
                offset: 0,
                second_offset: -1,
                backlog: None,
                stream_db: None,
                replicas: Vec::new(),
                master: None,
                master_db: 0,
            }),
            stream_on: AtomicBool::new(false),
            aof_on: AtomicBool::new(false),
            aof: std::sync::OnceLock::new(),
            acks: Notify::new(),
            obuf_hard: AtomicU64::new(256 << 20),
            apply_lock: Mutex::new(()),
            link_kill: Notify::new(),
            local_expires: Mutex::new(Default::default()),
        }
    }

    /// Whether commands must be recorded for the stream (the zero-cost check).
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// min-replicas-to-write: false when fewer replicas than required
    /// acknowledged within min-replicas-max-lag seconds (Redis's
    /// `checkGoodReplicasStatus`). Two atomic loads when the option is off.
    pub fn enough_good_replicas(&self, config: &crate::config::Config) -> bool {
        let need = config.min_replicas_to_write.load(Ordering::Relaxed);
        let max_lag = config.min_replicas_max_lag.load(Ordering::Relaxed);
        if need == 0 || max_lag == 0 || self.is_replica() {
            return true;
        }
        let now = crate::server::unix_ms();
        let good = self
            .state
            .lock()
            .replicas
            .iter()
            .filter(|r| {
                r.online.load(Ordering::Relaxed)
                    && now.saturating_sub(r.ack_time_ms.load(Ordering::Relaxed)) / 1000 <= max_lag
            })
            .count() as u64;
        good >= need
    }

    /// Whether this server follows a master whose link is down (the data
    /// may be stale: `replica-serve-stale-data no` refuses most commands).
    pub fn is_stale_replica(&self) -> bool {
        self.is_replica() && !self.link_up.load(Ordering::Relaxed)
    }

    /// Whether this server follows a master.
    #[inline]
    pub fn is_replica(&self) -> bool {
        self.replica.load(Ordering::Relaxed)
    }

    /// Appends `cmds` to the stream (and the AOF); more than one is wrapped in MULTI/EXEC
    /// so a replica applies them atomically, as Redis propagates a transaction.
    /// Returns the offset after them.
    pub fn feed(&self, cmds: &[Prop]) -> u64 {
        self.feed_split(cmds, cmds)
    }

    /// `feed` with different effects for the AOF and for the replicas: a
    /// script's `redis.set_repl` keeps some of its writes from one or both
    /// (`targets[i]`: `repl::TO_AOF` | `repl::TO_REPLICAS` for `cmds[i]`).
    pub fn feed_targeted(&self, cmds: &[Prop], targets: &[u8]) -> u64 {
        let pick = |bit: u8| -> Vec<Prop> {
            cmds.iter()
                .zip(
                    targets
                        .iter()
                        .chain(std::iter::repeat(&(TO_AOF | TO_REPLICAS))),
                )
                .filter(|(_, t)| **t & bit != 0)
                .map(|(c, _)| c.clone())
                .collect()
        };
        self.feed_split(&pick(TO_AOF), &pick(TO_REPLICAS))
    }

    fn feed_split(&self, to_aof: &[Prop], cmds: &[Prop]) -> u64 {
        // The AOF has a lock of its own, taken under the same shard locks:
        // per key, the file's order is the effects' order too.
        if !to_aof.is_empty() && self.aof_on.load(Ordering::Acquire) {
            if let Some(aof) = self.aof.get() {
                crate::contention::global_lock("aof buffer");
                aof.append_effects(to_aof);
            }
        }
        if cmds.is_empty() {
            return 0;
        }
        if !self.stream_on.load(Ordering::Acquire) {
            // No stream: nothing a WAIT could wait for.
            return 0;
        }
        crate::contention::global_lock("replication feed");
        let mut st = self.state.lock();
        // A replica relays its master's bytes as they came (`relay`): only a
        // master produces a stream of its own.
        if st.backlog.is_none() || self.is_replica() {
            return st.offset;
        }
        let out = encode_block(cmds, &mut st.stream_db);
        st.append(out.freeze(), self.obuf_hard.load(Ordering::Relaxed));
        st.offset
    }

    /// Effects are recorded while a master has a backlog or the AOF is on.
    fn refresh_active(&self, st: &State) {
        let stream = st.backlog.is_some() && !self.is_replica();
        self.stream_on.store(stream, Ordering::Release);
        self.active.store(
            stream || self.aof_on.load(Ordering::Acquire),
            Ordering::Relaxed,
        );
    }

    /// The AOF starts getting every effect (it SELECTs first). A server has
    /// one AOF for its lifetime; this turns feeding it on.
    pub fn attach_aof(&self, aof: Arc<crate::persist::aof::Aof>) {
        let st = self.state.lock();
        let _ = self.aof.set(aof.clone());
        if let Some(a) = self.aof.get() {
            a.reselect();
        }
        self.aof_on.store(true, Ordering::Release);
        self.refresh_active(&st);
    }

    pub fn detach_aof(&self) {
        let st = self.state.lock();
        self.aof_on.store(false, Ordering::Release);
        self.refresh_active(&st);
    }

    /// A master without replicas for `repl-backlog-ttl` seconds frees its
    /// backlog: commands are no longer recorded (back to zero cost), and a
    /// new replication id makes sure nobody continues the forgotten history.
    pub fn free_backlog(&self) {
        let mut st = self.state.lock();
        if st.backlog.is_none() || !st.replicas.is_empty() || st.master.is_some() {
            return;
        }
        st.backlog = None;
        st.replid = crate::server::random_hex40();
        st.replid2 = "0".repeat(40);
        st.second_offset = -1;
        self.refresh_active(&st);
    }

    /// DEBUG CHANGE-REPL-ID: a new history id (the old one is forgotten).
    pub fn change_replid(&self) {
        let mut st = self.state.lock();
        st.replid = crate::server::random_hex40();
        st.replid2 = "0".repeat(40);
        st.second_offset = -1;
    }

    /// Feeds a command that belongs to no database (PING, REPLCONF GETACK).
    pub fn feed_raw(&self, args: &[Bytes]) {
        let mut st = self.state.lock();
        if st.backlog.is_none() {
            return;
        }
        let mut out = BytesMut::new();
        encode_command(&mut out, args);
        st.append(out.freeze(), self.obuf_hard.load(Ordering::Relaxed));
    }

    /// Starts a full sync for a new replica: creates the backlog if needed
    /// and attaches the link. Call with every shard locked (inside
    /// `rdb::capture`), so the stream the link receives starts exactly after
    /// the snapshot. Returns (replid, offset) for `+FULLRESYNC`.
    pub fn attach_full(&self, link: Arc<ReplicaLink>, backlog_size: usize) -> (String, u64, usize) {
        let mut st = self.state.lock();
        st.ensure_backlog(backlog_size);
        let replica = self.is_replica();
        if !replica {
            self.refresh_active(&st);
        }
        // A master makes the stream SELECT again; a replica relays its
        // master's bytes untouched and tells the database in the RDB instead.
        st.stream_db = None;
        let db = if replica { st.master_db } else { 0 };
        st.replicas.push(link);
        (st.replid.clone(), st.offset, db)
    }

    /// A replica relays one command of its master's stream, byte for byte,
    /// to its backlog and its own replicas (the offset moves with it).
    pub fn relay(&self, raw: Bytes, db: usize) {
        let mut st = self.state.lock();
        st.master_db = db;
        let hard = self.obuf_hard.load(Ordering::Relaxed);
        st.append(raw, hard);
    }

    /// PSYNC <replid> <offset>: attaches the link and queues the backlog from
    /// `from` when that history is still here. Returns the replid to
    /// `+CONTINUE` with, or None (full sync needed).
    pub fn try_attach_partial(
        &self,
        link: &Arc<ReplicaLink>,
        replid: &str,
        from: u64,
    ) -> Option<String> {
        let mut st = self.state.lock();
        let known = replid == st.replid
            || (replid == st.replid2 && st.second_offset >= 0 && from <= st.second_offset as u64);
        let backlog = st.backlog.as_ref()?;
        let first = st.offset + 1 - backlog.buf.len() as u64;
        if !known || from < first || from > st.offset + 1 {
            return None;
        }
        let skip = (from - first) as usize;
        let tail: Vec<u8> = backlog.buf.iter().skip(skip).copied().collect();
        if !tail.is_empty() {
            link.push(Bytes::from(tail), 0);
        }
        link.online.store(true, Ordering::Relaxed);
        st.replicas.push(link.clone());
        Some(st.replid.clone())
    }

    /// Client ids of the attached replicas (CLIENT KILL TYPE replica).
    pub fn replica_ids(&self) -> Vec<u64> {
        self.state
            .lock()
            .replicas
            .iter()
            .map(|r| r.client_id)
            .collect()
    }

    /// CLIENT KILL TYPE master: drops the link to our master (the replica
    /// task reconnects and resumes with PSYNC). False when there is none up.
    pub fn kill_master_link(&self) -> bool {
        let up = self
            .state
            .lock()
            .master
            .as_ref()
            .is_some_and(|m| m.status == "connected");
        if up {
            self.link_kill.notify_one();
        }
        up
    }

    pub fn detach(&self, client_id: u64) {
        self.state
            .lock()
            .replicas
            .retain(|r| r.client_id != client_id);
    }

    /// Replicas whose acknowledged offset reached `offset` (WAIT).
    pub fn acked(&self, offset: u64) -> usize {
        self.state
            .lock()
            .replicas
            .iter()
            .filter(|r| r.online.load(Ordering::Relaxed) && r.ack.load(Ordering::Relaxed) >= offset)
            .count()
    }

    pub fn offset(&self) -> u64 {
        self.state.lock().offset
    }

    /// Replicas that have not acknowledged `offset`: address, how far
    /// behind, seconds since their last ack.
    pub fn lagging(&self, offset: u64) -> Vec<(String, u64, u64)> {
        let now = crate::server::unix_ms();
        self.state
            .lock()
            .replicas
            .iter()
            .filter(|r| r.ack.load(Ordering::Relaxed) < offset)
            .map(|r| {
                let ack = r.ack.load(Ordering::Relaxed);
                let lag = now.saturating_sub(r.ack_time_ms.load(Ordering::Relaxed)) / 1000;
                (format!("{}:{}", r.ip, r.port), offset - ack, lag)
            })
            .collect()
    }

    /// Stream bytes queued for replicas and not yet written to their
    /// sockets (INFO `mem_clients_slaves` / `mem_total_replication_buffers`).
    pub fn buffered_bytes(&self) -> u64 {
        self.state
            .lock()
            .replicas
            .iter()
            .map(|r| r.queued.load(Ordering::Relaxed))
            .sum()
    }

    pub fn replica_count(&self) -> usize {
        self.state.lock().replicas.len()
    }

    /// Becomes a replica of host:port (the caller starts the task): the old
    /// history becomes replid2 and attached replicas are dropped.
    pub fn set_master(&self, link: MasterLink) -> Vec<Arc<ReplicaLink>> {
        let mut st = self.state.lock();
        if let Some(old) = st.master.take() {
            if let Some(t) = old.task {
                t.abort();
            }
        }
        st.master = Some(link);
        // The backlog stays: our history may continue with the new master
        // (PSYNC with our replid and offset); local writes stop feeding it.
        st.stream_db = None;
        self.replica.store(true, Ordering::Relaxed);
        self.refresh_active(&st);
        std::mem::take(&mut st.replicas)
    }

    /// REPLICAOF NO ONE: keeps the data and the history (as replid2), starts
    /// a new history. False when already a master.
    pub fn promote(&self) -> bool {
        let mut st = self.state.lock();
        let Some(old) = st.master.take() else {
            return false;
        };
        if let Some(t) = old.task {
            t.abort();
        }
        st.replid2 = std::mem::replace(&mut st.replid, crate::server::random_hex40());
        st.second_offset = st.offset as i64 + 1;
        // The relayed stream was in the master's database: select again.
        st.stream_db = None;
        self.replica.store(false, Ordering::Relaxed);
        // With the master's history in the backlog, the old master and the
        // other replicas can continue from us with PSYNC.
        self.refresh_active(&st);
        true
    }

    /// The replica task reports the link's state.
    pub fn set_link_status(&self, status: &'static str) {
        let mut st = self.state.lock();
        self.link_up.store(
            status == "connected" && st.master.is_some(),
            Ordering::Relaxed,
        );
        if let Some(m) = st.master.as_mut() {
            if m.status == "connected" && status != "connected" {
                m.down_since_ms = crate::server::unix_ms();
            }
            m.status = status;
        }
    }

    /// The replica loaded a full sync: it now shares the master's history.
    /// Returns our own replicas: their data no longer matches the stream
    /// (the caller disconnects them; they resync, as Redis does).
    pub fn synced(
        &self,
        replid: &str,
        offset: u64,
        stream_db: usize,
        backlog_size: usize,
    ) -> Vec<Arc<ReplicaLink>> {
        let mut st = self.state.lock();
        st.replid = replid.to_string();
        st.replid2 = "0".repeat(40);
        st.second_offset = -1;
        st.offset = offset;
        st.master_db = stream_db;
        self.local_expires.lock().clear();
        // A new history: what the backlog held no longer applies.
        st.backlog = None;
        st.ensure_backlog(backlog_size);
        std::mem::take(&mut st.replicas)
    }

    /// INFO replication's text.
    pub fn info(&self, backlog_size: i64, read_only: bool, priority: i64) -> String {
        let st = self.state.lock();
        let now = crate::server::unix_ms();
        let mut w = String::from("# Replication\r\n");
        match &st.master {
            Some(m) => {
                let up = m.status == "connected";
                let _ = write!(
                    w,
                    "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
                    m.host,
                    m.port,
                    if up { "up" } else { "down" },
                    if m.last_io_ms == 0 { -1 } else { (now.saturating_sub(m.last_io_ms) / 1000) as i64 },
                    (m.status == "sync") as u8,
                    st.offset,
                    st.offset,
                );
                if !up {
                    let since = if m.down_since_ms == 0 {
                        -1
                    } else {
                        (now.saturating_sub(m.down_since_ms) / 1000) as i64
                    };
                    let _ = write!(w, "master_link_down_since_seconds:{since}\r\n");
                }
                let _ = write!(
                    w,
                    "slave_priority:{priority}\r\nslave_read_only:{}\r\nreplica_announced:1\r\n",
                    read_only as u8
                );
            }
            None => w.push_str("role:master\r\n"),
        }
        let _ = write!(w, "connected_slaves:{}\r\n", st.replicas.len());
        for (i, r) in st.replicas.iter().enumerate() {
            let online = r.online.load(Ordering::Relaxed);
            let lag = now.saturating_sub(r.ack_time_ms.load(Ordering::Relaxed)) / 1000;
            let _ = write!(
                w,
                "slave{i}:ip={},port={},state={},offset={},lag={}\r\n",
                r.ip,
                r.port,
                if online { "online" } else { "wait_bgsave" },
                r.ack.load(Ordering::Relaxed),
                lag
            );
        }
        let (active, first, histlen) = match &st.backlog {
            Some(bl) => (1, st.offset + 1 - bl.buf.len() as u64, bl.buf.len()),
            None => (0, 0, 0),
        };
        let _ = write!(
            w,
            "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{active}\r\nrepl_backlog_size:{backlog_size}\r\nrepl_backlog_first_byte_offset:{first}\r\nrepl_backlog_histlen:{histlen}\r\n",
            st.replid, st.replid2, st.offset, st.second_offset
        );
        w
    }
}

impl State {
    pub fn ensure_backlog(&mut self, size: usize) {
        if self.backlog.is_none() {
            self.backlog = Some(Backlog {
                buf: VecDeque::new(),
                size: size.max(1),
            });
        }
    }

    /// Appends stream bytes: offset, backlog, every attached replica.
    fn append(&mut self, frame: Bytes, hard_limit: u64) {
        self.offset += frame.len() as u64;
        if let Some(bl) = self.backlog.as_mut() {
            bl.buf.extend(frame.iter().copied());
            let excess = bl.buf.len().saturating_sub(bl.size);
            bl.buf.drain(..excess);
        }
        for r in &self.replicas {
            r.push(frame.clone(), hard_limit);
        }
    }

    /// Resizes the backlog (CONFIG SET repl-backlog-size), keeping the newest bytes.
    pub fn resize_backlog(&mut self, size: usize) {
        if let Some(bl) = self.backlog.as_mut() {
            bl.size = size.max(1);
            let excess = bl.buf.len().saturating_sub(bl.size);
            bl.buf.drain(..excess);
        }
    }
}

/// A writable replica's own keys whose TTL passed are deleted (the master
/// sends DEL only for its own keys).
pub fn expire_local_keys(srv: &crate::server::Server) {
    let keys: Vec<(usize, Bytes)> = srv.repl.local_expires.lock().iter().cloned().collect();
    if keys.is_empty() {
        return;
    }
    let now = crate::server::unix_ms();
    for (db, key) in keys {
        let mut done = false;
        srv.keyspace
            .for_shard(srv.keyspace.shard_of(&key), |shard| {
                let d = &mut shard.dbs[db];
                match d.map.get(key.as_ref()).map(|e| e.expire_at) {
                    Some(at) if at != 0 && at > now => {}
                    Some(at) if at != 0 => {
                        d.remove(&key);
                        d.touch_watched(&key);
                        srv.tracking.key_modified(srv, &key);
                        srv.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
                        done = true;
                    }
                    _ => done = true,
                }
            });
        if done {
            srv.repl.local_expires.lock().remove(&(db, key));
        }
    }
}

/// Once a second: PING replicas every `repl-ping-replica-period` seconds
/// (through the stream, as Redis: it keeps the replicas' timeout at bay and
/// moves the offset) and keep the backlog size in step with the config.
pub async fn cron(srv: Arc<crate::server::Server>) {
    let mut secs: u64 = 0;
    // Seconds this master has had a backlog but no replica.
    let mut alone: u64 = 0;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if srv.is_shutting_down() {
            return;
        }
        secs += 1;
        let period = srv.config.get_int("repl-ping-replica-period").max(1) as u64;
        let size = srv.config.get_int("repl-backlog-size").max(1) as usize;
        srv.repl.state.lock().resize_backlog(size);
        srv.repl.obuf_hard.store(
            srv.config.obuf_replica.hard.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        if secs.is_multiple_of(period) && !srv.repl.is_replica() && srv.repl.replica_count() > 0 {
            srv.repl.feed_raw(&[b("PING")]);
        }
        if srv.repl.active() && srv.repl.replica_count() == 0 {
            alone += 1;
            let ttl = srv.config.get_int("repl-backlog-ttl");
            if ttl > 0 && alone >= ttl as u64 {
                srv.repl.free_backlog();
                tracing::info!(
                    "Replication backlog freed after {ttl} seconds without connected replicas."
                );
                alone = 0;
            }
        } else {
            alone = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: u64) -> Arc<ReplicaLink> {
        Arc::new(ReplicaLink {
            client_id: id,
            ip: "127.0.0.1".into(),
            port: 1,
            ack: AtomicU64::new(0),
            ack_time_ms: AtomicU64::new(0),
            online: AtomicBool::new(true),
            outbox: Mutex::new(VecDeque::new()),
            queued: AtomicU64::new(0),
            overflow: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    #[test]
    fn feed_selects_wraps_and_resumes_from_backlog() {
        let r = Replication::new("a".repeat(40));
        assert!(!r.active());
        r.feed(&[(0, vec![b("SET"), b("k"), b("v")])]);
        assert_eq!(r.offset(), 0, "no backlog, nothing fed");
        let l = link(1);
        let (id, off, _) = r.attach_full(l.clone(), 1 << 20);
        assert_eq!((id.as_str(), off), ("a".repeat(40).as_str(), 0));
        r.feed(&[(1, vec![b("DEL"), b("k")])]);
        r.feed(&[(1, vec![b("DEL"), b("x")]), (1, vec![b("DEL"), b("y")])]);
        let all: Vec<u8> = l.outbox.lock().iter().flat_map(|f| f.to_vec()).collect();
        let text = String::from_utf8(all.clone()).expect("utf8");
        assert!(text.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"));
        assert!(text.contains("*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nDEL\r\n$1\r\nx\r\n"));
        assert!(text.ends_with("*1\r\n$4\r\nEXEC\r\n"));
        assert_eq!(r.offset(), all.len() as u64);
        // A replica that saw the first 10 bytes resumes at byte 11.
        let l2 = link(2);
        assert!(r.try_attach_partial(&l2, &"a".repeat(40), 11).is_some());
        let tail: Vec<u8> = l2.outbox.lock().iter().flat_map(|f| f.to_vec()).collect();
        assert_eq!(tail, all[10..]);
        assert!(r
            .try_attach_partial(&link(3), &"b".repeat(40), 11)
            .is_none());
        assert!(r
            .try_attach_partial(&link(3), &"a".repeat(40), all.len() as u64 + 2)
            .is_none());
    }

    #[test]
    fn a_replica_past_its_output_limit_is_cut_off() {
        let r = Replication::new("a".repeat(40));
        r.obuf_hard.store(100, Ordering::Relaxed);
        let l = link(1);
        r.attach_full(l.clone(), 1 << 20);
        r.feed(&[(0, vec![b("SET"), b("k"), b("v")])]);
        assert!(!l.overflow.load(Ordering::Relaxed));
        r.feed(&[(0, vec![b("SET"), b("k"), Bytes::from(vec![b'x'; 200])])]);
        assert!(l.overflow.load(Ordering::Relaxed));
        assert!(l.outbox.lock().is_empty(), "queued bytes are released");
        // Further frames are not queued for a link being dropped.
        r.feed(&[(0, vec![b("DEL"), b("k")])]);
        assert!(l.outbox.lock().is_empty());
    }

    #[test]
    fn a_master_alone_frees_its_backlog_and_history() {
        let r = Replication::new("a".repeat(40));
        let l = link(1);
        r.attach_full(l, 1 << 20);
        r.free_backlog();
        assert!(r.active(), "not while a replica is attached");
        r.detach(1);
        r.free_backlog();
        assert!(!r.active());
        assert_ne!(r.state.lock().replid, "a".repeat(40));
        assert!(r.try_attach_partial(&link(2), &"a".repeat(40), 1).is_none());
    }

    #[test]
    fn backlog_keeps_only_its_size() {
        let r = Replication::new("a".repeat(40));
        r.attach_full(link(1), 16);
        r.feed(&[(0, vec![b("SET"), b("key"), b("value")])]);
        let off = r.offset();
        assert!(r.try_attach_partial(&link(2), &"a".repeat(40), 1).is_none());
        assert!(r
            .try_attach_partial(&link(2), &"a".repeat(40), off + 1 - 16)
            .is_some());
    }
}
