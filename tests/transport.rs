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
