//! Regression tests for the holes an attack review found (issue 11), each
//! answered as redis-server 7.0.15 answers it: a NUL in an inline request,
//! an LZF length bomb in RESTORE, file writes through CONFIG SET dir /
//! dbfilename, protected mode, self-contradicting stream payloads, CONFIG SET
//! ranges, and AUTH.

mod common;

use std::net::SocketAddr;

use bytes::Bytes;
use cinnabar::error::PROTECTED_MODE_DENIED;
use cinnabar::types::stream::{Consumer, Group, Stream, StreamId};
use common::{Raw, TestServer};
use tokio::net::TcpSocket;

const TOO_BIG_INLINE: &[u8] = b"-ERR Protocol error: too big inline request\r\n";

/// A connection from `source` (a loopback address other than 127.0.0.1 is
/// "not local" to Redis's protected mode, and still never leaves the host).
async fn connect_from(source: &str, port: u16) -> Raw {
    let socket = TcpSocket::new_v4().expect("socket");
    let from: SocketAddr = format!("{source}:0").parse().expect("address");
    socket.bind(from).expect("bind source address");
    let stream = socket
        .connect(([127, 0, 0, 1], port).into())
        .await
        .expect("connect");
    Raw::from_stream(stream)
}

async fn used_memory(c: &mut Raw) -> i64 {
    common::info_field(c, "memory", "used_memory").await
}

/// `PING\0\r\n` once made the splitter push empty words forever (1 GB/s).
/// Redis finds the end of an inline line with strchr, so a NUL leaves the
/// line unfinished: no reply, and the inline limit's error once 64 KiB pile up.
async fn nul_inline_is_held_then_refused(srv: &TestServer, password: Option<&str>) {
    let mut other = srv.raw().await;
    if let Some(pw) = password {
        other.expect(&["AUTH", pw], b"+OK\r\n").await;
    }
    let before = used_memory(&mut other).await;
    for attack in [&b"PING\x00\r\n"[..], b"\x00\r\n"] {
        let mut c = srv.raw().await;
        c.send(attack).await;
        // The server still serves everyone else, with no memory run-away.
        other.expect(&["PING"], b"+PONG\r\n").await;
        let grown = used_memory(&mut other).await - before;
        assert!(grown < 16 << 20, "used_memory grew by {grown} bytes");
        // Nothing ran: the line is still open, a complete PING after it too.
        c.send(b"PING\r\n").await;
        c.send(vec![b'x'; 64 * 1024]).await;
        let got = c.read_to_close().await;
        common::assert_bytes(&got, TOO_BIG_INLINE, "after a NUL in an inline request");
    }
    other.expect(&["PING"], b"+PONG\r\n").await;
}

#[tokio::test]
async fn nul_in_inline_request_does_not_take_the_server_down() {
    let srv = TestServer::start().await;
    nul_inline_is_held_then_refused(&srv, None).await;
}

#[tokio::test]
async fn nul_in_inline_request_before_auth() {
    let srv = TestServer::start_with(&[("requirepass", "secret")]).await;
    if srv.is_external() {
        return;
    }
    nul_inline_is_held_then_refused(&srv, Some("secret")).await;
}

/// A Redis-format DUMP of a one-node stream whose listpack is an LZF string
/// of `clen` zero bytes claiming `ulen` bytes uncompressed.
fn lzf_bomb_payload(clen: usize, ulen: u64) -> Vec<u8> {
    let mut p = vec![15u8, 1]; // RDB_TYPE_STREAM_LISTPACKS, one node
    p.push(16);
    p.extend_from_slice(&[0u8; 16]); // the node's master ID
    p.push(0xC3); // RDB_ENC_LZF
    p.push(0x80);
    p.extend_from_slice(&(clen as u32).to_be_bytes());
    p.push(0x81);
    p.extend_from_slice(&ulen.to_be_bytes());
    p.resize(p.len() + clen, 0);
    p.extend_from_slice(&10u16.to_le_bytes()); // RDB version 10
    let crc = cinnabar::persist::crc64::crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// One RESTORE claiming a huge uncompressed length once aborted the process
/// (`Vec::with_capacity(ulen)`, 132× the data allowed). The claim is now
/// checked against what LZF can produce (88×) before anything is allocated.
#[tokio::test]
async fn restore_lzf_length_bomb_is_bad_data_format() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for (clen, ulen) in [
        // The review's payload: 200 MB claiming 26.4 GB, which the old bound
        // (132×) let through to an allocation that aborted the process.
        (200_000_000, 132 * 200_000_000),
        (4 << 20, 132 * (4u64 << 20)),
        (1 << 20, u64::from(u32::MAX) * 64),
        (1 << 10, u64::MAX),
    ] {
        let payload = lzf_bomb_payload(clen, ulen);
        let got = c.cmd(&[&b"RESTORE"[..], b"bomb", b"0", &payload]).await;
        common::assert_bytes(&got, b"-ERR Bad data format\r\n", "RESTORE of an LZF bomb");
    }
    c.expect(&["PING"], b"+PONG\r\n").await;
    c.expect(&["EXISTS", "bomb"], b":0\r\n").await;
}

/// Redis's refusal of DEBUG while enable-debug-command does not allow it.
fn debug_refused() -> Vec<u8> {
    format!("-{}\r\n", cinnabar::error::CmdError::DebugNotAllowed).into_bytes()
}

fn set_failed(param: &str, reason: &str) -> Vec<u8> {
    format!("-ERR CONFIG SET failed (possibly related to argument '{param}') - {reason}\r\n")
        .into_bytes()
}

/// CONFIG SET dir + dbfilename + SAVE wrote a file anywhere. Redis 7 refuses
/// both while enable-protected-configs is `no`, its default.
#[tokio::test]
async fn protected_configs_are_refused_by_default() {
    let srv = TestServer::start_with(&[("enable-protected-configs", "no")]).await;
    let mut c = srv.raw().await;
    let dir = std::env::temp_dir().display().to_string();
    for (param, value) in [("dir", dir.as_str()), ("dbfilename", "authorized_keys")] {
        let got = c.cmd(&["CONFIG", "SET", param, value]).await;
        common::assert_bytes(
            &got,
            &set_failed(param, "can't set protected config"),
            param,
        );
    }
    // Refused before anything is set, wherever it stands among the pairs.
    let got = c
        .cmd(&["CONFIG", "SET", "maxmemory", "10mb", "dir", &dir])
        .await;
    common::assert_bytes(
        &got,
        &set_failed("dir", "can't set protected config"),
        "pair",
    );
    c.expect(
        &["CONFIG", "GET", "maxmemory"],
        b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n",
    )
    .await;
    // The option itself is immutable at runtime.
    let got = c
        .cmd(&["CONFIG", "SET", "enable-protected-configs", "yes"])
        .await;
    common::assert_bytes(
        &got,
        &set_failed("enable-protected-configs", "can't set immutable config"),
        "enable-protected-configs",
    );
    // DEBUG is off by default in the same way.
    let srv = TestServer::start_with(&[("enable-debug-command", "no")]).await;
    let mut c = srv.raw().await;
    let got = c.cmd(&["DEBUG", "SLEEP", "0"]).await;
    common::assert_bytes(&got, &debug_refused(), "DEBUG off");
}

/// `local`: loopback clients (127.0.0.1, ::1) may, others may not.
#[tokio::test]
async fn protected_configs_local_means_from_127_0_0_1() {
    let srv = TestServer::start_with(&[
        ("enable-protected-configs", "local"),
        ("enable-debug-command", "local"),
        ("protected-mode", "no"),
    ])
    .await;
    if srv.is_external() {
        return;
    }
    let name = format!("security-local-{}.rdb", std::process::id());
    let mut local = srv.raw().await;
    local
        .expect(&["CONFIG", "SET", "dbfilename", &name], b"+OK\r\n")
        .await;
    local.expect(&["DEBUG", "SLEEP", "0"], b"+OK\r\n").await;
    let mut remote = connect_from("127.0.0.2", srv.port).await;
    let got = remote.cmd(&["CONFIG", "SET", "dbfilename", "x.rdb"]).await;
    common::assert_bytes(
        &got,
        &set_failed("dbfilename", "can't set protected config"),
        "from 127.0.0.2",
    );
    let got = remote.cmd(&["DEBUG", "SLEEP", "0"]).await;
    common::assert_bytes(&got, &debug_refused(), "DEBUG local, from 127.0.0.2");
}

/// With no password, a client that is not local gets Redis's DENIED text
/// and is disconnected; loopback clients, a password, or protected-mode no
/// let it in.
#[tokio::test]
async fn protected_mode_turns_away_non_local_clients() {
    let srv = TestServer::start().await;
    if srv.is_external() {
        return;
    }
    let mut c = connect_from("127.0.0.2", srv.port).await;
    c.send(b"PING\r\n").await;
    let got = c.read_to_close().await;
    common::assert_bytes(&got, PROTECTED_MODE_DENIED.as_bytes(), "from 127.0.0.2");
    let mut local = srv.raw().await;
    local.expect(&["PING"], b"+PONG\r\n").await;
    assert_eq!(
        common::info_field(&mut local, "stats", "rejected_connections").await,
        1
    );
    // Switched off at runtime from a local client: served.
    local
        .expect(&["CONFIG", "SET", "protected-mode", "no"], b"+OK\r\n")
        .await;
    let mut c = connect_from("127.0.0.2", srv.port).await;
    c.expect(&["PING"], b"+PONG\r\n").await;
    // A password also lets it in (to authenticate).
    local
        .expect(&["CONFIG", "SET", "protected-mode", "yes"], b"+OK\r\n")
        .await;
    local
        .expect(&["CONFIG", "SET", "requirepass", "pw"], b"+OK\r\n")
        .await;
    let mut c = connect_from("127.0.0.2", srv.port).await;
    c.expect(&["PING"], b"-NOAUTH Authentication required.\r\n")
        .await;
    c.expect(&["AUTH", "pw"], b"+OK\r\n").await;
}

/// Restores a stream built here (any state, consistent or not) through
/// Cinnabar's own DUMP format.
async fn restore_stream(c: &mut Raw, st: Stream) -> Vec<u8> {
    let payload = cinnabar::family::dump::serialize(&cinnabar::keyspace::Value::Stream(
        std::sync::Arc::new(st),
    ));
    c.cmd(&[&b"RESTORE"[..], b"st", b"0", &payload, b"REPLACE"])
        .await
}

fn g(st: &mut Stream) -> &mut Group {
    st.groups.get_mut(&b"g"[..]).expect("group")
}

fn stream_with_group() -> Stream {
    let mut st = Stream::new();
    let fields = [Bytes::from_static(b"f"), Bytes::from_static(b"v")];
    for ms in 1..=5 {
        st.append(StreamId::new(ms, 0), &fields, 100, 4096);
    }
    st.last_id = StreamId::new(5, 0);
    st.entries_added = 5;
    let mut g = Group::new(StreamId::new(3, 0), 3);
    for name in ["alice", "bob"] {
        g.consumers.insert(Bytes::from(name), Consumer::default());
    }
    g.assign(StreamId::new(1, 0), &Bytes::from_static(b"alice"), 7);
    g.assign(StreamId::new(2, 0), &Bytes::from_static(b"bob"), 7);
    st.groups.insert(Bytes::from_static(b"g"), g);
    st
}

/// RESTORE accepted streams that contradict themselves, after which XPENDING
/// and XINFO disagreed. Each is now Redis's `Bad data format`.
#[tokio::test]
async fn restore_refuses_self_contradicting_streams() {
    let srv = TestServer::start().await;
    if srv.is_external() {
        return;
    }
    let mut c = srv.raw().await;
    assert_eq!(
        restore_stream(&mut c, stream_with_group()).await,
        b"+OK\r\n"
    );
    type Breaks = Box<dyn Fn(&mut Stream)>;
    let cases: Vec<(&str, Breaks)> = vec![
        (
            "entries-added below the length",
            Box::new(|st| st.entries_added = 4),
        ),
        (
            "max-deleted-id past last-id",
            Box::new(|st| st.max_deleted_id = StreamId::new(9, 0)),
        ),
        (
            "entries-read i64::MIN",
            Box::new(|st| g(st).entries_read = i64::MIN),
        ),
        (
            "a pending entry owned by no consumer of the group",
            Box::new(|st| {
                let nack = g(st).pel.get_mut(&StreamId::new(2, 0)).expect("2-0");
                nack.consumer = Bytes::from_static(b"carol");
            }),
        ),
    ];
    for (what, break_it) in cases {
        let mut st = stream_with_group();
        break_it(&mut st);
        let got = restore_stream(&mut c, st).await;
        common::assert_bytes(&got, b"-ERR Bad data format\r\n", what);
    }
    // One pending entry owned by two consumers: the format lists each
    // pending entry once with its owner, so the payload is patched: bob's
    // entry 2-0 (its last occurrence: the PEL comes after the entries)
    // becomes 1-0, which alice owns.
    let payload = cinnabar::family::dump::serialize(&cinnabar::keyspace::Value::Stream(
        std::sync::Arc::new(stream_with_group()),
    ));
    let mut body = payload[..payload.len() - 8].to_vec();
    let id = |ms: u64| [ms.to_le_bytes(), 0u64.to_le_bytes()].concat();
    let at = (0..body.len() - 16)
        .rev()
        .find(|&i| body[i..i + 16] == id(2)[..])
        .expect("2-0 in the PEL");
    body[at..at + 16].copy_from_slice(&id(1));
    let [sealed, _] = cinnabar::family::dump::seal_for_fuzzing(&body);
    let got = c
        .cmd(&[&b"RESTORE"[..], b"st", b"0", &sealed, b"REPLACE"])
        .await;
    common::assert_bytes(&got, b"-ERR Bad data format\r\n", "two owners");
    // A group past the stream's last ID is a state Redis 7.0 makes itself
    // (XGROUP CREATE s g 999-0): accepted.
    let mut st = stream_with_group();
    g(&mut st).last_id = StreamId::new(999, 0);
    assert_eq!(restore_stream(&mut c, st).await, b"+OK\r\n");
    c.expect(&["PING"], b"+PONG\r\n").await;
}

/// A payload DUMPed by redis-server 7.0.15 (fuzz/corpus, checksum stripped)
/// with one consumer's pending entry rewritten to another consumer's.
#[tokio::test]
async fn restore_refuses_a_redis_payload_with_a_shared_pending_entry() {
    let srv = TestServer::start().await;
    if srv.is_external() {
        return;
    }
    let body = include_bytes!("../fuzz/corpus/restore/redis-stream-groups");
    let seal = |b: &[u8]| {
        let mut p = b.to_vec();
        p.extend_from_slice(&cinnabar::persist::crc64::crc64(0, b).to_le_bytes());
        p
    };
    let mut c = srv.raw().await;
    let ok = c
        .cmd(&[&b"RESTORE"[..], b"s", b"0", &seal(body), b"REPLACE"])
        .await;
    assert_eq!(ok, b"+OK\r\n", "{}", common::show(&ok));
    // alice read 5-3..5-6, bob 5-8..5-10 (5-7 was deleted): bob's first
    // entry, listed in the group PEL and then in bob's, becomes alice's
    // first in bob's list.
    let id = |ms: u64, seq: u64| [ms.to_be_bytes(), seq.to_be_bytes()].concat();
    let (alice_first, bob_first) = (id(5, 3), id(5, 8));
    let find_all = |hay: &[u8], needle: &[u8]| -> Vec<usize> {
        (0..=hay.len() - needle.len())
            .filter(|&i| &hay[i..i + needle.len()] == needle)
            .collect()
    };
    let at = find_all(body, &bob_first);
    assert_eq!(
        at.len(),
        2,
        "bob's first entry: once in the group PEL, once in bob's"
    );
    let mut bad = body.to_vec();
    bad[at[1]..at[1] + 16].copy_from_slice(&alice_first);
    let got = c
        .cmd(&[&b"RESTORE"[..], b"s", b"0", &seal(&bad), b"REPLACE"])
        .await;
    common::assert_bytes(&got, b"-ERR Bad data format\r\n", "shared pending entry");
    c.expect(&["XPENDING", "s", "g1"], b"*4\r\n:6\r\n$3\r\n5-3\r\n$4\r\n5-10\r\n*2\r\n*2\r\n$5\r\nalice\r\n$1\r\n3\r\n*2\r\n$3\r\nbob\r\n$1\r\n3\r\n")
        .await;
}

/// CONFIG SET checks the ranges of Redis's config table, with its messages.
#[tokio::test]
async fn config_set_ranges_as_redis() {
    let srv = TestServer::start().await;
    let mut c = srv.raw().await;
    for (param, value, reason) in [
        (
            "port",
            "99999",
            "argument must be between 0 and 65535 inclusive",
        ),
        (
            "maxclients",
            "0",
            "argument must be between 1 and 4294967295 inclusive",
        ),
        (
            "maxclients",
            "-1",
            "argument must be between 1 and 4294967295 inclusive",
        ),
        (
            "timeout",
            "-1",
            "argument must be between 0 and 2147483647 inclusive",
        ),
        (
            "list-max-listpack-size",
            "-9223372036854775808",
            "argument must be between -2147483648 and 2147483647 inclusive",
        ),
        (
            "proto-max-bulk-len",
            "1kb",
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        ("maxmemory", "-1", "argument must be a memory value"),
        (
            "maxmemory-clients",
            "101%",
            "percentage argument must be less or equal to 100",
        ),
        (
            "maxmemory-clients",
            "x%",
            "argument must be a memory or percent value",
        ),
        ("hz", "+5", "argument couldn't be parsed into an integer"),
        (
            "active-defrag-cycle-max",
            "100",
            "argument must be between 1 and 99 inclusive",
        ),
    ] {
        let got = c.cmd(&["CONFIG", "SET", param, value]).await;
        common::assert_bytes(
            &got,
            &set_failed(param, reason),
            &format!("{param} {value}"),
        );
    }
    c.expect(&["CONFIG", "SET", "maxmemory-clients", "10%"], b"+OK\r\n")
        .await;
    c.expect(
        &["CONFIG", "GET", "maxmemory-clients"],
        b"*2\r\n$17\r\nmaxmemory-clients\r\n$3\r\n10%\r\n",
    )
    .await;
    c.expect(&["CONFIG", "SET", "maxmemory-clients", "0"], b"+OK\r\n")
        .await;
    // Nothing was set by the refused values (the test server runs on port 0).
    c.expect(
        &["CONFIG", "GET", "port"],
        b"*2\r\n$4\r\nport\r\n$1\r\n0\r\n",
    )
    .await;
}

/// CONFIG SET's first pass names the parameter as the client spelled it, and
/// takes a name and its alias as two parameters (checked on redis-server 7.0.15).
#[tokio::test]
async fn config_set_name_checks_as_redis() {
    let srv = TestServer::start_with(&[("enable-protected-configs", "no")]).await;
    let mut c = srv.raw().await;
    c.expect(
        &["CONFIG", "SET", "NoSuch", "1"],
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'NoSuch'\r\n",
    )
    .await;
    for (param, reason) in [
        ("Daemonize", "can't set immutable config"),
        ("DIR", "can't set protected config"),
    ] {
        let got = c.cmd(&["CONFIG", "SET", param, "yes"]).await;
        common::assert_bytes(&got, &set_failed(param, reason), param);
    }
    let got = c
        .cmd(&[
            "CONFIG",
            "SET",
            "replica-priority",
            "1",
            "REPLICA-PRIORITY",
            "2",
        ])
        .await;
    common::assert_bytes(
        &got,
        &set_failed("REPLICA-PRIORITY", "duplicate parameter"),
        "same name twice",
    );
    c.expect(
        &[
            "CONFIG",
            "SET",
            "slave-priority",
            "1",
            "replica-priority",
            "2",
        ],
        b"+OK\r\n",
    )
    .await;
    c.expect(
        &["CONFIG", "GET", "replica-priority"],
        b"*2\r\n$16\r\nreplica-priority\r\n$1\r\n2\r\n",
    )
    .await;
    // Value errors name the parameter as the table does.
    let got = c.cmd(&["CONFIG", "SET", "MAXMEMORY", "abc"]).await;
    common::assert_bytes(
        &got,
        &set_failed("maxmemory", "argument must be a memory value"),
        "value error",
    );
}

/// AUTH with a guess sharing the password's prefix, or the password plus a
/// tail, is refused; the password itself is accepted. (The comparison's
/// running time no longer depends on the matching prefix: see
/// `secret_eq` in family/connection.rs.)
#[tokio::test]
async fn auth_compares_the_whole_password() {
    let srv = TestServer::start_with(&[("requirepass", "correct horse")]).await;
    let mut c = srv.raw().await;
    let wrong = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    for guess in ["correct hors", "correct horse!", "c", ""] {
        c.expect(&["AUTH", guess], wrong).await;
    }
    c.expect(&["AUTH", "default", "correct horsE"], wrong).await;
    c.expect(&["AUTH", "correct horse"], b"+OK\r\n").await;
    c.expect(&["PING"], b"+PONG\r\n").await;
}
