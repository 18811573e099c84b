//! Client eviction (`maxmemory-clients`): a client whose query buffer or
//! unread replies take the clients' memory past the limit is closed and
//! counted in INFO `evicted_clients`, while a `CLIENT NO-EVICT on` client,
//! even a larger one, is kept.
//!
//! Every step waits on something the server says (a reply, the victim's
//! socket closing, a counter), never on time.

mod common;

use common::{encode, IO_TIMEOUT};
use redis::aio::MultiplexedConnection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn query<T: redis::FromRedisValue>(c: &mut MultiplexedConnection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// INFO stats `evicted_clients`.
async fn evicted_clients(c: &mut MultiplexedConnection) -> u64 {
    let info: String = query(c, &["INFO", "stats"]).await;
    info.lines()
        .find_map(|l| l.strip_prefix("evicted_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("INFO stats has evicted_clients")
}

/// The CLIENT LIST line of the client named `name`, if it is connected.
async fn client_line(c: &mut MultiplexedConnection, name: &str) -> Option<String> {
    let list: String = query(c, &["CLIENT", "LIST"]).await;
    let wanted = format!(" name={name} ");
    list.lines()
        .find(|l| l.contains(&wanted))
        .map(str::to_string)
}

/// Sends one request on a raw connection and reads its reply (one read
/// suffices for the short replies used here).
async fn request(s: &mut TcpStream, args: &[&str]) -> Vec<u8> {
    s.write_all(&encode(args)).await.expect("write");
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(IO_TIMEOUT, s.read(&mut buf))
        .await
        .expect("reply in time")
        .expect("read");
    buf.truncate(n);
    buf
}

/// Reads (and drops) whatever the server still sends until it closes the
/// connection; true when it did (EOF or a reset).
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(IO_TIMEOUT, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// A raw connection named `name` (CLIENT SETNAME).
async fn named(server: &common::TestServer, name: &str) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    assert_eq!(
        request(&mut s, &["CLIENT", "SETNAME", name]).await,
        b"+OK\r\n"
    );
    s
}

/// A control client that is never evicted itself, with the limit set.
async fn control_with_limit(server: &common::TestServer, limit: &str) -> MultiplexedConnection {
    let mut c = control(server).await;
    let ok: String = query(&mut c, &["CONFIG", "SET", "maxmemory-clients", limit]).await;
    assert_eq!(ok, "OK");
    c
}

/// A control client that is never evicted itself.
async fn control(server: &common::TestServer) -> MultiplexedConnection {
    let mut c = server.client().await;
    let ok: String = query(&mut c, &["CLIENT", "NO-EVICT", "on"]).await;
    assert_eq!(ok, "OK");
    c
}

#[tokio::test]
async fn a_large_query_buffer_is_evicted_and_a_no_evict_client_survives() {
    let server = common::TestServer::start().await;
    if server.is_external() {
        return;
    }
    let mut ctl = control_with_limit(&server, "1mb").await;

    // The keeper holds ~300 KB in a queued transaction and may not be evicted.
    let mut keeper = named(&server, "keeper").await;
    assert_eq!(
        request(&mut keeper, &["CLIENT", "NO-EVICT", "on"]).await,
        b"+OK\r\n"
    );
    assert_eq!(request(&mut keeper, &["MULTI"]).await, b"+OK\r\n");
    let value = "v".repeat(300 * 1024);
    assert_eq!(
        request(&mut keeper, &["SET", "k", &value]).await,
        b"+QUEUED\r\n"
    );
    assert_eq!(evicted_clients(&mut ctl).await, 0, "nobody is over yet");
    let line = client_line(&mut ctl, "keeper")
        .await
        .expect("keeper listed");
    assert!(line.contains(" flags=xe "), "keeper flags: {line}");

    // The victim starts a 600 KB argument and never finishes it: its query
    // buffer takes the clients past 1 MB, and it is the one that may go.
    let mut victim = named(&server, "victim").await;
    let mut partial = format!("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n${}\r\n", 600 * 1024).into_bytes();
    partial.extend(std::iter::repeat_n(b'v', 600 * 1024 - 1));
    // The server may close the connection before it has read everything.
    let _ = victim.write_all(&partial).await;
    assert!(
        closed_by_server(&mut victim).await,
        "the victim is disconnected"
    );

    assert_eq!(evicted_clients(&mut ctl).await, 1);
    assert!(client_line(&mut ctl, "victim").await.is_none());
    // The keeper, though larger, is still served: its transaction runs.
    let line = client_line(&mut ctl, "keeper").await.expect("keeper kept");
    assert!(line.contains(" multi=1 "), "keeper: {line}");
    assert_eq!(request(&mut keeper, &["EXEC"]).await, b"*1\r\n+OK\r\n");
    let len: i64 = query(&mut ctl, &["STRLEN", "k"]).await;
    assert_eq!(len, 300 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_replies_past_the_limit_evict_their_client() {
    let server = common::TestServer::start().await;
    if server.is_external() {
        return;
    }
    let mut ctl = control_with_limit(&server, "1mb").await;
    let big = "v".repeat(256 * 1024);
    let _: () = query(&mut ctl, &["SET", "big", &big]).await;

    let mut reader = named(&server, "reader").await;
    // GETs whose replies are never read: once the socket's buffers are
    // full the server keeps serving them into the client's output buffer,
    // which grows past the limit. Stops at the first write the closed
    // connection refuses, or once the eviction is counted.
    let get = encode(&["GET", "big"]);
    let mut evicted = false;
    for i in 0..100_000u32 {
        if reader.write_all(&get).await.is_err() {
            break;
        }
        if i % 16 == 15 && evicted_clients(&mut ctl).await > 0 {
            evicted = true;
            break;
        }
    }
    assert!(evicted || evicted_clients(&mut ctl).await > 0);
    assert!(
        closed_by_server(&mut reader).await,
        "the reader is disconnected"
    );
    assert_eq!(evicted_clients(&mut ctl).await, 1);
    assert!(client_line(&mut ctl, "reader").await.is_none());
    // The control client (NO-EVICT) is untouched.
    let pong: String = query(&mut ctl, &["PING"]).await;
    assert_eq!(pong, "PONG");
}
