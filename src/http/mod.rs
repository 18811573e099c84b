//! The observability HTTP listener: Prometheus `/metrics`, the built-in
//! dashboard (`/`, its assets and `/api/overview`), and `/healthz`.
//!
//! Off unless `http-port` is set; bound to `http-bind` (loopback by default).
//! CONFIG SET of either rebinds it (`apply`). Nothing here adds work to the
//! command path: every figure is read from the state INFO reads (the striped
//! counters of `server::Stats`, the shards, the pub/sub registry) at scrape
//! time. A scrape locks one shard at a time and never across `.await`
//! (`inspect`), and its per-key work is bounded by `metrics-keys-max`.
//!
//! Behind `requirepass` / ACL (a default user that needs a password) every
//! path but `/healthz` asks for HTTP basic auth, checked as AUTH checks
//! (`Acl::authenticate`); `/healthz` tells nothing but liveness, so that an
//! orchestrator's probe needs no secret.

pub mod dashboard;
pub mod inspect;
pub mod metrics;

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;

use crate::server::Server;

/// The listener's state on the server: the port bound (0: off), the socket
/// and its accept task, replaced whole on a rebind.
#[derive(Default)]
pub struct Http {
    port: AtomicU64,
    current: Mutex<Option<Bound>>,
}

/// The socket sits in a slot the accept loop polls through, so that a
/// rebind closes it at once (an aborted task drops its future only later,
/// and binding the same port again would find it still open).
type Socket = Arc<Mutex<Option<tokio::net::TcpListener>>>;

struct Bound {
    socket: Socket,
    task: tokio::task::JoinHandle<()>,
}

impl Http {
    /// The port the listener is bound to; 0 when it is off (tests bind an
    /// ephemeral port with [`start_ephemeral`] and read it here).
    pub fn port(&self) -> u16 {
        self.port.load(Ordering::Relaxed) as u16
    }

    fn stop(&self) {
        if let Some(b) = self.current.lock().take() {
            b.socket.lock().take();
            b.task.abort();
        }
        self.port.store(0, Ordering::Relaxed);
    }
}

/// Binds (or rebinds, or closes) the listener as `http-port` / `http-bind`
/// say. `http-port -1` is not a value; a test that wants an ephemeral port
/// sets `http-port` to 0 and calls [`start_ephemeral`]. Must run inside the
/// tokio runtime. On an error nothing is left listening.
pub fn apply(srv: &Arc<Server>) -> std::io::Result<()> {
    let port = srv.config.get_int("http-port").clamp(0, 65535) as u16;
    srv.http.stop();
    if port == 0 {
        return Ok(());
    }
    listen(srv, port)
}

/// Binds the listener on an ephemeral port of `http-bind` whatever
/// `http-port` says (integration tests, which run many servers at once).
pub fn start_ephemeral(srv: &Arc<Server>) -> std::io::Result<u16> {
    srv.http.stop();
    listen(srv, 0)?;
    Ok(srv.http.port())
}

fn listen(srv: &Arc<Server>, port: u16) -> std::io::Result<()> {
    let bind = srv.config.get("http-bind").unwrap_or_default();
    let host = match bind.trim() {
        "" => "127.0.0.1",
        b => b,
    };
    // `[::1]`-style brackets are optional in the config value.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let std_listener = std::net::TcpListener::bind((host, port))?;
    std_listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(std_listener)?;
    let bound = listener.local_addr()?.port();
    tracing::info!("HTTP observability endpoint listening on {host}:{bound}");
    let socket: Socket = Arc::new(Mutex::new(Some(listener)));
    let task = tokio::spawn(accept_loop(Arc::downgrade(srv), socket.clone()));
    *srv.http.current.lock() = Some(Bound { socket, task });
    srv.http.port.store(bound as u64, Ordering::Relaxed);
    Ok(())
}

/// Accepts until the server shuts down or the task is aborted (rebind).
/// Holds the server weakly so a dropped server (tests) ends the loop.
async fn accept_loop(srv: std::sync::Weak<Server>, socket: Socket) {
    let Some(mut shutdown) = srv.upgrade().map(|s| s.shutdown_rx.clone()) else {
        return;
    };
    loop {
        let accept = std::future::poll_fn(|cx| match socket.lock().as_ref() {
            None => std::task::Poll::Ready(None),
            Some(l) => l.poll_accept(cx).map(Some),
        });
        let accepted = tokio::select! {
            a = accept => a,
            _ = shutdown.changed() => {
                socket.lock().take();
                return;
            }
        };
        let (stream, _) = match accepted {
            None => return,
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                tracing::warn!("Accepting HTTP connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let Some(srv) = srv.upgrade() else { return };
        if srv.is_shutting_down() {
            return;
        }
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let srv = srv.clone();
                async move { Ok::<_, Infallible>(route(&srv, &req)) }
            });
            // Errors here are the peer's (a reset, a malformed request):
            // hyper already answered what could be answered.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type Reply = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Live figures: never cached by a browser or a proxy.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn text(status: StatusCode, body: &'static str) -> Reply {
    respond(status, "text/plain; charset=utf-8", body)
}

/// One request: synchronous from here on (every lock taken below is
/// released before the reply is returned to hyper).
fn route(srv: &Server, req: &Request<Incoming>) -> Reply {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let path = req.uri().path();
    if path == "/healthz" {
        return healthz(srv);
    }
    if !authorized(srv, req) {
        let mut r = text(StatusCode::UNAUTHORIZED, "authentication required\n");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"cinnabar\", charset=\"UTF-8\""),
        );
        return r;
    }
    match path {
        "/metrics" => respond(
            StatusCode::OK,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            metrics::render(srv),
        ),
        "/api/overview" => respond(
            StatusCode::OK,
            "application/json",
            dashboard::overview_json(srv),
        ),
        _ => match dashboard::asset(path) {
            Some((content_type, body)) => respond(StatusCode::OK, content_type, body),
            None => text(StatusCode::NOT_FOUND, "not found\n"),
        },
    }
}

/// 200 while serving, 503 once shutdown began (so a load balancer drains).
fn healthz(srv: &Server) -> Reply {
    if srv.is_shutting_down() {
        text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else {
        text(StatusCode::OK, "ok\n")
    }
}

/// Whether the request may read the server's figures: always when a client
/// that never authenticates may run commands (the default user is open);
/// otherwise basic-auth credentials that AUTH would accept (an empty user
/// name is `default`, as `AUTH <password>`).
fn authorized(srv: &Server, req: &Request<Incoming>) -> bool {
    if srv.acl.default_open() {
        return true;
    }
    let Some((user, password)) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| basic_credentials(v.as_bytes()))
    else {
        return false;
    };
    let user: &[u8] = if user.is_empty() { b"default" } else { &user };
    srv.acl.authenticate(user, &password).is_some()
}

/// `Basic base64(user:password)` → (user, password).
fn basic_credentials(header: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let rest = header
        .strip_prefix(b"Basic ")
        .or_else(|| header.strip_prefix(b"basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim_ascii())
        .ok()?;
    let colon = decoded.iter().position(|&c| c == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::basic_credentials;

    #[test]
    fn basic_credentials_split_at_the_first_colon() {
        // "alice:pa:ss"
        assert_eq!(
            basic_credentials(b"Basic YWxpY2U6cGE6c3M="),
            Some((b"alice".to_vec(), b"pa:ss".to_vec()))
        );
        // ":secret": AUTH's password-only form.
        assert_eq!(
            basic_credentials(b"Basic OnNlY3JldA=="),
            Some((Vec::new(), b"secret".to_vec()))
        );
        assert_eq!(basic_credentials(b"Bearer abc"), None);
        assert_eq!(basic_credentials(b"Basic !!!"), None);
        assert_eq!(basic_credentials(b"Basic bm9jb2xvbg=="), None);
    }
}
