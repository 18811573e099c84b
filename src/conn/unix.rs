//! Connections over a unix domain socket (`unixsocket`, `unixsocketperm`):
//! the same protocol, through the transport seam (`serve_connection`).
//! Unix clients count as local (protected mode does not refuse them), as
//! in Redis.

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::UnixListener;

use crate::server::Server;

/// Binds `path` (a stale socket file there is removed first, as Redis's
/// anetUnixServer does) with the given permissions (0 leaves the default).
pub fn bind(path: &str, perm: u32) -> std::io::Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    if perm != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    }
    Ok(listener)
}

/// `unixsocketperm` as Redis reads it: octal (`700`, `0770`).
pub fn parse_perm(s: &str) -> Option<u32> {
    if s.is_empty() {
        return Some(0);
    }
    u32::from_str_radix(s, 8).ok().filter(|&p| p <= 0o777)
}

/// Accepts until the server shuts down; the socket file is removed then.
pub async fn accept_loop(srv: Arc<Server>, listener: UnixListener, path: String) {
    let mut shutdown = srv.shutdown_rx.clone();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        match accepted {
            Ok((stream, _)) => {
                srv.stats
                    .connections_received
                    .fetch_add(1, Ordering::Relaxed);
                tokio::spawn(handle(srv.clone(), stream, path.clone()));
            }
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}

async fn handle(srv: Arc<Server>, mut stream: tokio::net::UnixStream, path: String) {
    if srv.clients.count() >= srv.config.maxclients.load(Ordering::Relaxed) {
        srv.stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = stream
            .write_all(crate::error::MAX_CLIENTS_REACHED.as_bytes())
            .await;
        return;
    }
    let (rd, wr) = stream.split();
    // Redis shows a unix client as `addr=<path>:0`.
    let addr = format!("{path}:0");
    super::serve_connection(&srv, rd, wr, addr.clone(), addr, true).await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn permissions_are_octal() {
        assert_eq!(super::parse_perm("700"), Some(0o700));
        assert_eq!(super::parse_perm("0770"), Some(0o770));
        assert_eq!(super::parse_perm(""), Some(0));
        assert_eq!(super::parse_perm("999"), None);
    }
}
