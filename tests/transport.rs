//! The transport seam: a client served over a stream that is not TCP (an
//! in-memory duplex pipe standing in for TLS or a unix socket) gets the
//! same protocol, and shows up as a client like any other.

mod common;

use common::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_client_over_an_in_memory_stream() {
    let srv = TestServer::start().await;
    let Some(server) = srv.server().cloned() else {
        return; // needs the in-process server
    };
    let (mut client_end, server_end) = tokio::io::duplex(64 * 1024);
    let (rd, wr) = tokio::io::split(server_end);
    let task = tokio::spawn(async move {
        cinnabar::conn::serve_connection(&server, rd, wr, "pipe:1".into(), String::new(), true)
            .await
    });
    client_end
        .write_all(b"PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nval\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nCLIENT LIST\r\n")
        .await
        .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(b"\r\n") || !String::from_utf8_lossy(&got).contains("addr=pipe:1") {
        let n = tokio::time::timeout(common::IO_TIMEOUT, client_end.read(&mut buf))
            .await
            .expect("reply in time")
            .expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("+PONG\r\n+OK\r\n$3\r\nval\r\n$"), "{text}");
    // The key is the same keyspace TCP clients see.
    let mut tcp = srv.raw().await;
    tcp.expect(&["GET", "k"], b"$3\r\nval\r\n").await;
    drop(client_end);
    task.await
        .expect("connection task ends when the stream closes");
}

/// `unixsocket` / `unixsocketperm` from the command line: the socket file
/// has the permissions asked for, a client over it is served and shows as
/// a unix client (CLIENT LIST `U`), and the file goes away at shutdown.
#[tokio::test]
async fn a_client_over_the_unix_socket() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("cinnabar-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("cinnabar.sock");
    let path_s = path.to_str().expect("utf-8 path").to_string();
    let server =
        common::process::spawn(&dir, &["--unixsocket", &path_s, "--unixsocketperm", "700"])
            .await
            .expect("server starts");
    let mode = std::fs::metadata(&path)
        .expect("socket file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    let mut stream = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    stream
        .write_all(b"PING\r\nCLIENT LIST\r\n")
        .await
        .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(b"\r\n") || !String::from_utf8_lossy(&got).contains("resp=") {
        let n = tokio::time::timeout(common::IO_TIMEOUT, stream.read(&mut buf))
            .await
            .expect("reply in time")
            .expect("read");
        assert!(n > 0, "server closed the unix connection");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("+PONG\r\n"), "{text}");
    assert!(text.contains(&format!("addr={path_s}:0")), "{text}");
    assert!(text.contains("flags=U"), "{text}");
    drop(stream);
    server.shutdown().await;
    assert!(!path.exists(), "the socket file is removed at shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `daemonize yes` with a pidfile: the command returns at once, the
/// server keeps running in the background under the pid it wrote.
#[tokio::test]
async fn daemonize_writes_the_pidfile_and_serves() {
    let dir = std::env::temp_dir().join(format!("cinnabar-daemon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pidfile = dir.join("cinnabar.pid");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_cinnabar"))
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args([
            "--daemonize",
            "yes",
            "--pidfile",
            pidfile.to_str().expect("utf-8"),
        ])
        .args(["--dir", dir.to_str().expect("utf-8")])
        .status()
        .expect("run the binary");
    assert!(status.success(), "the foreground process exits 0: {status}");
    // The daemon writes its pid once it starts: bounded wait for the file,
    // then for the port.
    let pid: i32 = wait_for(|| async {
        std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
    })
    .await;
    let mut c = wait_for(|| async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
            .map(common::Raw::from_stream)
    })
    .await;
    c.expect(&["PING"], b"+PONG\r\n").await;
    // Stop the daemon we started, by its pid, and wait for the pidfile to go.
    // SAFETY: a plain kill(2) of the process this test started.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    wait_for(|| async { (!pidfile.exists()).then_some(()) }).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Polls `f` until it gives a value (bounded: 10 s), for what another
/// process does on its own (a daemon writing its pidfile).
async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(mut f: impl FnMut() -> F) -> T {
    for _ in 0..1000 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the daemon never got there");
}
