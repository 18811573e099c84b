//! Cinnabar: a Redis-protocol-compatible pub/sub, queue and stream server.
//!
//! # Bird's-eye view
//! Clients speak RESP2/RESP3 over TCP. Each connection is a tokio task
//! (`conn`) that frames requests (`conn::protocol`), executes them through the
//! command table (`command`) and writes every reply of a read in one write.
//! Handlers (`family::*`) are synchronous and protocol-neutral: they get a
//! `Ctx` holding the locked keyspace shards and return a `Reply`, which only
//! `reply::encode` turns into RESP2 or RESP3 bytes.
//!
//! # Code map
//! - `config`: redis.conf / command line / CONFIG GET SET / CONFIG REWRITE.
//! - `server`: shared state, accept loop, active expiry.
//! - `shutdown`: SHUTDOWN and SIGTERM/SIGINT as Redis 7.0 (waiting for
//!   replicas, the final save, ABORT).
//! - `conn`: per-connection task over any transport (TCP, `conn::unix`,
//!   `conn::tls` with rustls); `conn::protocol` request framing.
//! - `acl`: users, their rules (commands, categories, key and channel
//!   patterns, selectors), ACL LOG and the ACL file; checked by the
//!   dispatcher's "acl" step (`command::pipeline`), by EXEC again and by a
//!   script's `redis.call`. `command::keyspecs` holds Redis 7.0's key specs
//!   and categories that key permissions and COMMAND GETKEYSANDFLAGS read.
//! - `command`: the table, dispatch (`command::pipeline`: the named checks
//!   every command passes, in Redis's order), `Ctx`, argument parsing,
//!   COMMAND DOCS data.
//! - `keyspace`: hash-slot shards of databases (keys stored inline when
//!   short, `keyspace::key`), expiry index, WATCH registry, `maxmemory`
//!   eviction.
//! - `family`: commands, one module per family, each with its `COMMANDS` table.
//! - `types`: value representations (the chunked list, the packed/table hash,
//!   the intset/table set, the sorted set, the stream of compact nodes) and the emulated
//!   `long double` of INCRBYFLOAT/HINCRBYFLOAT.
//! - `pubsub`, `notify`: channel/pattern registry, keyspace notifications.
//! - `tracking`: client-side caching (CLIENT TRACKING): the keys each
//!   tracking client may cache, BCAST prefixes, invalidation messages.
//! - `scripting`: the Lua engine of EVAL and FCALL (per-thread states of
//!   Redis's own Lua, `vendor/redis-lua`; the shared script cache and library
//!   registry; conversions; the busy-script state); its commands are in
//!   `family::scripting` and `family::functions`.
//! - `repl`: replication — the effect feed and backlog, the master side of a
//!   replica link (`repl::master`), the replica's task (`repl::replica`),
//!   effect rewriting (`repl::propagate`).
//! - `persist`: RDB v10 encode/decode (`persist::rdb`), CRC-64, LZF, SAVE/BGSAVE,
//!   DEBUG DIGEST, and the append-only file (`persist::aof`, Redis 7's
//!   multi-part layout, fed by the replication feed).
//! - `client_eviction`: `maxmemory-clients` — each connection's memory as
//!   CLIENT LIST `tot-mem` reports it, and the closing of the largest clients
//!   past the limit.
//! - `blocking`: blocked clients (queued in the shards of their keys) and
//!   their wake-up.
//! - `http`: the optional observability listener (`http-port`): Prometheus
//!   `/metrics`, the built-in dashboard `/`, `/healthz`; it reads the state
//!   INFO reads, at scrape time (nothing added to the command path).
//! - `error`: every Redis error string. `reply`: replies and the encoder.
//! - `contention`: the audit of process-wide locks taken per command.
//! - `crash`: the bug report with a stack trace on a fatal signal.
//! - `alloc`, `clock`: the counting allocator (INFO memory, maxmemory) and the
//!   tick clock for per-command timing. `long_step`: long synchronous steps
//!   that must not starve the other connections of a worker.
//!
//! # Architecture invariants
//! - A single-key command takes exactly one shard lock and never hops threads
//!   (a write takes more only when a client blocked on its key needs another
//!   shard to be served: a BLMOVE destination); multi-key commands lock shards
//!   in ascending order via `Keyspace::lock`.
//! - No lock is held across `.await`: handlers never await; only `conn` does.
//! - Lock order: shards (ascending), then pub/sub. Nothing takes a shard lock
//!   while holding a pub/sub lock. Blocked clients are queued in the shard of
//!   each key they wait on, under that shard's lock.
//! - A command that readies a key serves the clients blocked on it, oldest
//!   first, before it releases its shards (Redis: before any other command
//!   runs); the dispatcher locks up front every shard those clients need.
//! - The replication state is taken under shard locks and takes only a replica
//!   link's outbox; a replica's `apply_lock` comes before any shard.
//! - Nothing a client, a payload or a file holds panics the server or makes it
//!   allocate out of proportion to the bytes actually received: every length
//!   read from input is checked against what the input can hold before it sizes
//!   an allocation (request framing, `persist::lzf`, the RDB and DUMP readers),
//!   and `fuzz/` checks this by machine.
//! - A client's permissions are its user's current rules: rules are
//!   immutable snapshots swapped on change, and a connection re-reads its
//!   user's snapshot only when the ACL generation counter moved (one relaxed
//!   load per command; nothing else for a user with every permission).
//! - Untrusted clients are told apart by `ClientHandle::is_local` (127.0.0.1,
//!   ::1): protected mode and the `local` setting of enable-debug-command /
//!   enable-protected-configs rely on it; the refusals are Redis's own.
//! - Hot per-command counters are striped per thread, each stripe written by
//!   its thread alone (plain loads and stores, `hot_stats`; threads past two
//!   per CPU share one last stripe with atomic adds); nothing on the
//!   per-command path writes a cache line another thread writes. RESETSTAT
//!   starts a new epoch instead of zeroing other threads' stripes.
//! - Shards are a power of two; a pipeline may read a shard's table
//!   addresses under its lock (try-lock only) to prefetch the next command's
//!   bucket (`keyspace::prefetch`), once the tables outgrow the caches.
//! - Snapshots (BGSAVE, full sync, AOF rewrite) hold every shard lock only to
//!   mark the shards pending (`keyspace::capture`); each shard is copied by
//!   whoever locks it next, before anything in it changes, so a copy is one
//!   point in time and no command waits for more than one shard's copy. Large
//!   values are shared with the copy and copied on write (`Value`'s `Arc`s).
//! - A synchronous step known to take milliseconds (copying a large shared
//!   value, a shard for a snapshot) runs through `long_step::run`, which hands
//!   the worker's queue and the I/O driver to another thread first.
//! - Effects reach the replication stream while the command that made them
//!   still holds its shard locks: per key, stream order is effect order.
//! - No reply leaves before the effects fed ahead of it are in the AOF
//!   (fsynced under `appendfsync always`): `conn` waits on `persist::aof`.
//! - A Lua script or function runs under every shard lock (EVAL and FCALL
//!   are `ALL_SHARDS`): atomic against every client, whatever keys it
//!   reaches; each thread has its own Lua states, the script cache and the
//!   libraries are shared (`scripting`).
//! - While a script runs, no other connection waits for a shard lock on its
//!   worker: connections check `scripting::busy` before each command and wait
//!   asynchronously (BUSY past `busy-reply-threshold`), and a lock wait that
//!   finds a script running hands the worker over first (`Keyspace::guard`).
//! - Every change to a key goes through one signal (`Ctx::signal_modified`,
//!   Redis's signalModifiedKey, or the same two calls where there is no
//!   `Ctx`: expiry, eviction): WATCH and client-side caching both hang off
//!   it. A tracking message for the client whose command caused it leaves
//!   after that command's reply (`tracking::take_own`).
//! - Deliberately absent (so far): cluster bus, the Lua debugger (LDB).

pub mod acl;
pub mod alloc;
pub mod blocking;
pub mod client;
pub mod client_eviction;
pub mod clock;
pub mod command;
pub mod config;
pub mod conn;
pub mod contention;
pub mod crash;
pub mod error;
pub mod family;
pub mod glob;
pub mod hot_stats;
pub mod http;
pub mod keyspace;
pub mod latency;
pub mod long_step;
pub mod notify;
pub mod persist;
pub mod pubsub;
pub mod repl;
pub mod reply;
pub mod scripting;
pub mod server;
pub mod shutdown;
pub mod slowlog;
pub mod tracking;
pub mod types;

/// The Redis version reported to clients (they gate features on it).
pub const REDIS_VERSION: &str = "7.0.15";
/// Cinnabar's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

use std::sync::Arc;

/// Starts a server on the given config and returns it with its bound port;
/// used by `main` and by the integration tests (port 0).
pub async fn start(
    config: config::Config,
) -> std::io::Result<(Arc<server::Server>, u16, tokio::task::JoinHandle<()>)> {
    let listeners = server::bind(&config).await?;
    let port = match listeners.first() {
        Some(l) => l.local_addr()?.port(),
        None => 0,
    };
    let srv = server::Server::new(config, None);
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    srv.acl.startup(&srv.config).map_err(invalid)?;
    conn::tls::apply(&srv).map_err(invalid)?;
    http::apply(&srv)?;
    let handle = tokio::spawn(server::serve(srv.clone(), listeners));
    Ok((srv, port, handle))
}
