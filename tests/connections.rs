//! Ten thousand idle connections held by the server binary: each is served
//! (one PING each), INFO counts them all, and a fresh client is still
//! answered. The test raises its own open-files limit for its side of the
//! sockets; the server raises its own for `maxclients`.

mod common;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNECTIONS: usize = 10_000;

fn raise_fd_limit(wanted: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write only the struct given.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_cur < wanted {
            lim.rlim_cur = wanted.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
}

#[tokio::test]
async fn ten_thousand_idle_connections_are_held_and_served() {
    let limit = raise_fd_limit(CONNECTIONS as u64 + 256);
    // A machine whose hard limit is lower holds what it can (said on
    // stderr); at least 1,000 connections are always required.
    let count = CONNECTIONS.min(limit.saturating_sub(256) as usize);
    if count < CONNECTIONS {
        eprintln!("open-files hard limit {limit}: holding {count} connections, not {CONNECTIONS}");
    }
    assert!(
        count >= 1000,
        "open-files limit {limit} is too low for this test"
    );
    let dir = std::env::temp_dir().join(format!("cinnabar-conns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let maxclients = (count + 50).to_string();
    let server = common::process::spawn(&dir, &["--maxclients", &maxclients])
        .await
        .unwrap_or_else(|(status, log)| panic!("server exited ({status}): {log}"));
    let mut idle = Vec::with_capacity(count);
    for _ in 0..count {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .expect("connect");
        s.write_all(b"PING\r\n").await.expect("ping");
        idle.push(s);
    }
    for s in idle.iter_mut() {
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).await.expect("pong");
        assert_eq!(&buf, b"+PONG\r\n");
    }
    let mut c = server.raw().await;
    let connected = common::info_field(&mut c, "clients", "connected_clients").await;
    assert_eq!(connected, count as i64 + 1);
    c.expect(&["SET", "still", "served"], b"+OK\r\n").await;
    drop(idle);
    let _ = std::fs::remove_dir_all(&dir);
}
