//! TLS with rustls: the `tls-*` parameters made into a server config (the
//! `tls-port` listeners) and a client config (`tls-replication`), and the
//! TLS accept loop, which hands each connection to the same transport seam
//! as plain TCP (`serve_connection`) once the handshake is done.
//!
//! As Redis with OpenSSL: client certificates are checked against
//! `tls-ca-cert-file` / `tls-ca-cert-dir` (`tls-auth-clients yes`,
//! `optional`, `no`); a replica checks its master's certificate chain but
//! not its host name. Not here: `tls-dh-params-file` (rustls has no
//! finite-field DH; ECDHE is used), passphrase-protected keys
//! (`tls-key-file-pass`), TLS 1.0 / 1.1, and OpenSSL cipher-string syntax
//! beyond lists of suite names.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio::net::TcpListener;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::config::Config;
use crate::server::Server;

pub struct Tls {
    pub acceptor: TlsAcceptor,
    pub connector: TlsConnector,
    /// The connector's config, for blocking clients (MIGRATE).
    pub client: Arc<ClientConfig>,
}

/// Whether the config asks for TLS anywhere.
pub fn wanted(config: &Config) -> bool {
    config.get_int("tls-port") != 0 || config.get("tls-replication").as_deref() == Some("yes")
}

/// Builds both configs from the `tls-*` parameters (Redis's
/// tlsConfigure); the error says what is wrong, as Redis logs it.
pub fn build(config: &Config) -> Result<Tls, String> {
    let get = |name: &str| config.get(name).unwrap_or_default();
    let provider = Arc::new(provider(&get("tls-ciphers"), &get("tls-ciphersuites"))?);
    let versions = protocol_versions(&get("tls-protocols"))?;
    let cert_file = get("tls-cert-file");
    let key_file = get("tls-key-file");
    if cert_file.is_empty() || key_file.is_empty() {
        return Err("No tls-cert-file or tls-key-file configured!".into());
    }
    let (certs, key) = load_identity(&cert_file, &key_file, &get("tls-key-file-pass"))?;
    let auth_clients = get("tls-auth-clients");
    let roots = load_roots(&get("tls-ca-cert-file"), &get("tls-ca-cert-dir"))?;
    if roots.is_none()
        && (auth_clients != "no" || get("tls-replication") == "yes" || get("tls-cluster") == "yes")
    {
        return Err("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!".into());
    }
    let roots = Arc::new(roots.unwrap_or_else(RootCertStore::empty));
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("Failed to configure TLS protocols: {e}"))?;
    let builder = match auth_clients.as_str() {
        "no" => builder.with_no_client_auth(),
        mode => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone());
            let verifier = if mode == "optional" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| format!("Failed to configure CA certificate(s): {e}"))?,
            )
        }
    };
    let mut server = builder
        .with_single_cert(certs.clone(), key.clone_key())
        .map_err(|e| format!("Failed to load certificate: {cert_file}: {e}"))?;
    // Resumption for TLS 1.2 clients: stateless tickets (nothing kept per
    // connection on the server) or the session-ID cache. No TLS 1.3
    // tickets: rustls's would each hold the client's certificate chain in
    // server memory (stateful) or, stateless, stall the Tcl/OpenSSL client
    // of Redis's test suite; TLS 1.3 clients do a full handshake.
    server.send_tls13_tickets = 0;
    if get("tls-session-caching") == "no" {
        server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    } else {
        let size = config.get_int("tls-session-cache-size").max(1) as usize;
        server.session_storage = rustls::server::ServerSessionMemoryCache::new(size);
        server.ticketer = rustls::crypto::ring::Ticketer::new()
            .map_err(|e| format!("Failed to configure TLS session tickets: {e}"))?;
    }
    // What a replica presents to its master: the client pair, or the
    // server's own (as Redis).
    let client_cert_file = get("tls-client-cert-file");
    let client_key_file = get("tls-client-key-file");
    let (client_certs, client_key) = if client_cert_file.is_empty() || client_key_file.is_empty() {
        (certs, key)
    } else {
        load_identity(
            &client_cert_file,
            &client_key_file,
            &get("tls-client-key-file-pass"),
        )?
    };
    let client = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("Failed to configure TLS protocols: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ChainOnly::new(roots, provider)?))
        .with_client_auth_cert(client_certs, client_key)
        .map_err(|e| format!("Failed to load certificate: {client_cert_file}: {e}"))?;
    let client = Arc::new(client);
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        connector: TlsConnector::from(client.clone()),
        client,
    })
}

fn read_file(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{path}: {}", crate::config::strerror(&e)))
}

fn load_identity(
    cert_file: &str,
    key_file: &str,
    pass: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let pem = read_file(cert_file)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("Failed to load certificate: {cert_file}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "Failed to load certificate: {cert_file}: no certificate"
        ));
    }
    let pem = read_file(key_file)?;
    if !pass.is_empty() || pem.windows(9).any(|w| w == b"ENCRYPTED") {
        return Err(format!(
            "Failed to load private key: {key_file}: passphrase-protected keys are not supported"
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| format!("Failed to load private key: {key_file}: {e}"))?;
    Ok((certs, key))
}

/// The CA certificates of `tls-ca-cert-file` and every file of
/// `tls-ca-cert-dir`; `None` when neither is set.
fn load_roots(file: &str, dir: &str) -> Result<Option<RootCertStore>, String> {
    if file.is_empty() && dir.is_empty() {
        return Ok(None);
    }
    let mut roots = RootCertStore::empty();
    let mut files = Vec::new();
    if !file.is_empty() {
        files.push(file.to_string());
    }
    if !dir.is_empty() {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("Failed to configure CA certificate(s) file/directory: {e}"))?;
        files.extend(
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .map(|p| p.display().to_string()),
        );
    }
    for f in files {
        let pem = read_file(&f)?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert =
                cert.map_err(|e| format!("Failed to configure CA certificate(s): {f}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("Failed to configure CA certificate(s): {f}: {e}"))?;
        }
    }
    Ok(Some(roots))
}

/// `tls-protocols` ("TLSv1.2 TLSv1.3"; empty: both).
fn protocol_versions(text: &str) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let mut out = Vec::new();
    for p in text.split_whitespace() {
        match p.to_ascii_lowercase().as_str() {
            "tlsv1.2" => out.push(&rustls::version::TLS12),
            "tlsv1.3" => out.push(&rustls::version::TLS13),
            _ => return Err(format!("Unsupported TLS protocol: {p}")),
        }
    }
    if out.is_empty() {
        out = vec![&rustls::version::TLS12, &rustls::version::TLS13];
    }
    Ok(out)
}

/// ring's suites, narrowed to the ones `tls-ciphers` (TLS 1.2, OpenSSL
/// names) and `tls-ciphersuites` (TLS 1.3) name, when they name any.
fn provider(ciphers: &str, ciphersuites: &str) -> Result<CryptoProvider, String> {
    // ring, not aws-lc-rs: it builds with the C compiler alone. Its lack of
    // post-quantum key exchange is what the deprecation is about; Redis's
    // OpenSSL 3.0 builds do not offer it either.
    #[allow(deprecated)]
    let mut provider = rustls::crypto::ring::default_provider();
    let wanted: Vec<String> = ciphers
        .split(':')
        .chain(ciphersuites.split(':'))
        .map(|s| s.trim().to_ascii_uppercase().replace('-', "_"))
        .filter(|s| !s.is_empty())
        .collect();
    if wanted.is_empty() {
        return Ok(provider);
    }
    let chosen: Vec<_> = provider
        .cipher_suites
        .iter()
        .filter(|s| {
            let name = format!("{:?}", s.suite());
            wanted.iter().any(|w| suite_matches(&name, w))
        })
        .copied()
        .collect();
    if chosen.is_empty() {
        tracing::warn!("None of the configured TLS ciphers is available; using rustls's defaults");
        return Ok(provider);
    }
    // A TLS 1.2-only or 1.3-only choice keeps the other version's defaults.
    let has12 = chosen.iter().any(|s| s.tls13().is_none());
    let has13 = chosen.iter().any(|s| s.tls13().is_some());
    let keep: Vec<_> = provider
        .cipher_suites
        .iter()
        .filter(|s| {
            chosen.iter().any(|c| c.suite() == s.suite())
                || (s.tls13().is_some() && !has13)
                || (s.tls13().is_none() && !has12)
        })
        .copied()
        .collect();
    provider.cipher_suites = keep;
    Ok(provider)
}

/// rustls's `TLS13_AES_128_GCM_SHA256` for OpenSSL's `TLS_AES_128_GCM_SHA256`,
/// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256` for `ECDHE-RSA-AES128-GCM-SHA256`.
fn suite_matches(rustls_name: &str, openssl: &str) -> bool {
    if rustls_name == openssl || rustls_name.replace("TLS13_", "TLS_") == openssl {
        return true;
    }
    let plain = rustls_name.replace("_WITH_", "_").replace("TLS_", "");
    let plain = plain
        .replace("AES_128", "AES128")
        .replace("AES_256", "AES256");
    plain == openssl
}

/// A replica's check of its master: the chain must lead to a configured
/// CA; the host name is not checked (Redis does not check it either).
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ChainOnly {
    fn new(roots: Arc<RootCertStore>, provider: Arc<CryptoProvider>) -> Result<ChainOnly, String> {
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| format!("Failed to configure CA certificate(s): {e}"))?;
        Ok(ChainOnly { inner })
    }
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Connects to a TLS server (a replica's master link).
pub async fn connect(
    tls: &Tls,
    host: &str,
    stream: tokio::net::TcpStream,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    tls.connector.connect(name, stream).await
}

/// (Re)builds the TLS configs from the `tls-*` parameters and (re)binds the
/// TLS listeners when `tls-port` changed (startup, CONFIG SET). Connections
/// already made keep their session; new ones get the new config. Returns
/// the TLS port bound (0 when `tls-port` is 0).
pub fn apply(srv: &Arc<Server>) -> Result<u16, String> {
    let tls = if wanted(&srv.config) {
        Some(Arc::new(build(&srv.config)?))
    } else {
        None
    };
    let port = srv.config.get_int("tls-port").clamp(0, 65535) as u16;
    let mut tasks = srv.tls_listeners.lock();
    if port as u64 != srv.tls_port.load(Ordering::Relaxed) || (port != 0 && tasks.is_empty()) {
        let listeners = if port == 0 {
            Vec::new()
        } else {
            let bind = srv.config.get("bind").unwrap_or_default();
            crate::server::listen_tcp(&bind, port, &srv.config)
                .map_err(|e| format!("Failed listening on port {port} (tls), aborting: {e}"))?
        };
        for t in tasks.drain(..) {
            t.abort();
        }
        for listener in listeners {
            tasks.push(tokio::spawn(accept_loop(srv.clone(), listener)));
        }
        srv.tls_port.store(port as u64, Ordering::Relaxed);
    }
    *srv.tls.write() = tls;
    Ok(port)
}

async fn accept_loop(srv: Arc<Server>, listener: TcpListener) {
    let mut shutdown = srv.shutdown_rx.clone();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                srv.stats
                    .connections_received
                    .fetch_add(1, Ordering::Relaxed);
                tokio::spawn(handle(srv.clone(), stream, peer));
            }
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn handle(srv: Arc<Server>, stream: tokio::net::TcpStream, peer: std::net::SocketAddr) {
    let Some(tls) = srv.tls.read().clone() else {
        return;
    };
    let laddr = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    // Redis creates the client before the handshake and has no handshake
    // deadline of its own: a client that connects and sends nothing for a
    // while (a Tcl client does its handshake with its first command) is
    // only closed by the idle `timeout`, as any idle client.
    let idle_limit = srv.config.timeout.load(Ordering::Relaxed);
    let handshake = tls.acceptor.accept(stream);
    let accepted = if idle_limit > 0 {
        tokio::time::timeout(Duration::from_secs(idle_limit), handshake).await
    } else {
        Ok(handshake.await)
    };
    let mut stream = match accepted {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!("Error accepting a client connection: {e} (addr={peer} laddr={laddr})");
            return;
        }
        Err(_) => {
            tracing::debug!("TLS handshake not done within the idle timeout (addr={peer})");
            return;
        }
    };
    if let Some(refusal) = super::refusal(&srv, &peer) {
        use tokio::io::AsyncWriteExt;
        let _ = stream.write_all(refusal.as_bytes()).await;
        let _ = stream.flush().await;
        let _ = stream.shutdown().await;
        return;
    }
    let is_local = super::is_local_peer(&peer);
    let (rd, wr) = tokio::io::split(stream);
    super::serve_connection(&srv, rd, wr, peer.to_string(), laddr, is_local).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_suite_names_map_to_rustls() {
        assert!(suite_matches(
            "TLS13_AES_256_GCM_SHA384",
            "TLS_AES_256_GCM_SHA384"
        ));
        assert!(suite_matches(
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "ECDHE_RSA_AES128_GCM_SHA256"
        ));
        assert!(!suite_matches(
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "ECDHE_RSA_AES256_GCM_SHA384"
        ));
        let p = provider("ECDHE-RSA-AES256-GCM-SHA384", "").expect("provider");
        assert!(p
            .cipher_suites
            .iter()
            .all(|s| s.tls13().is_some() || format!("{:?}", s.suite()).contains("AES_256")));
    }

    #[test]
    fn protocols_parse_as_redis_names_them() {
        assert_eq!(protocol_versions("").expect("default").len(), 2);
        assert_eq!(protocol_versions("TLSv1.3").expect("1.3").len(), 1);
        assert!(protocol_versions("TLSv1").is_err());
    }
}
