//! TLS end to end: a CA, a server certificate and a client certificate
//! generated for the run; the TLS port next to the plain one; client
//! certificates required (`tls-auth-clients yes`) or optional.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use common::TestServer;

struct Pki {
    dir: PathBuf,
    ca_pem: String,
    client_cert: String,
    client_key: String,
}

impl Pki {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in
/// a fresh directory.
fn make_pki(tag: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("cinnabar-tls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Cinnabar Test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let leaf = |cn: &str, ip: bool| {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        if ip {
            params
                .subject_alt_names
                .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
        }
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &ca_cert, &ca_key).expect("signed");
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf("Server", true);
    let (client_cert, client_key) = leaf("Client", false);
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
    write("ca.crt", &ca_cert.pem());
    write("server.crt", &server_cert);
    write("server.key", &server_key);
    Pki {
        dir,
        ca_pem: ca_cert.pem(),
        client_cert,
        client_key,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_tls(pki: &Pki, auth_clients: &str) -> (TestServer, u16) {
    let tls_port = free_port().to_string();
    // Redis's `port 0` next to a TLS port means no plain port: give both.
    let plain_port = free_port().to_string();
    let settings = [
        ("port", plain_port.as_str()),
        ("tls-port", tls_port.as_str()),
        ("tls-cert-file", &pki.path("server.crt")),
        ("tls-key-file", &pki.path("server.key")),
        ("tls-ca-cert-file", &pki.path("ca.crt")),
        ("tls-auth-clients", auth_clients),
    ];
    let s = TestServer::start_with(&settings).await;
    let port = tls_port.parse().expect("port");
    (s, port)
}

fn connector(pki: &Pki, with_cert: bool) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
        roots.add(cert.expect("ca pem")).expect("ca added");
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = if with_cert {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(pki.client_cert.as_bytes())
                .collect::<Result<_, _>>()
                .expect("client cert");
        let key = PrivateKeyDer::from_pem_slice(pki.client_key.as_bytes()).expect("client key");
        builder
            .with_client_auth_cert(certs, key)
            .expect("client auth")
    } else {
        builder.with_no_client_auth()
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Sends PING over TLS; the bytes answered, or what went wrong.
async fn ping(port: u16, connector: &tokio_rustls::TlsConnector) -> Result<Vec<u8>, String> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(b"*1\r\n$4\r\nPING\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 64];
    let n = tls.read(&mut buf).await.map_err(|e| e.to_string())?;
    buf.truncate(n);
    Ok(buf)
}

#[tokio::test]
async fn tls_and_plain_ports_serve_side_by_side_and_client_certificates_are_required() {
    let pki = make_pki("required");
    let (s, tls_port) = start_tls(&pki, "yes").await;
    // With the client certificate: a normal session.
    assert_eq!(
        ping(tls_port, &connector(&pki, true)).await.as_deref(),
        Ok(&b"+PONG\r\n"[..])
    );
    // Without one, the server refuses the handshake: no reply ever comes.
    let refused = ping(tls_port, &connector(&pki, false)).await;
    assert!(
        !matches!(&refused, Ok(reply) if !reply.is_empty()),
        "{refused:?}"
    );
    // The plain port still answers, and both see the same data.
    let mut plain = s.raw().await;
    plain.expect(&["SET", "k", "v"], b"+OK\r\n").await;
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", tls_port))
        .await
        .expect("connect");
    let mut tls = connector(&pki, true)
        .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
        .await
        .expect("handshake");
    tls.write_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 16];
    let n = tls.read(&mut buf).await.expect("read");
    assert_eq!(&buf[..n], b"$1\r\nv\r\n");
    let clients = plain.val(&["CLIENT", "LIST"]).await;
    assert!(
        matches!(&clients, common::Resp::Bulk(b) if String::from_utf8_lossy(b).lines().count() == 2),
        "{clients:?}"
    );
}

#[tokio::test]
async fn optional_client_certificates_let_either_kind_of_client_in() {
    let pki = make_pki("optional");
    let (_s, tls_port) = start_tls(&pki, "optional").await;
    for with_cert in [true, false] {
        assert_eq!(
            ping(tls_port, &connector(&pki, with_cert)).await.as_deref(),
            Ok(&b"+PONG\r\n"[..]),
            "with a client certificate: {with_cert}"
        );
    }
}

#[tokio::test]
async fn a_missing_certificate_file_stops_the_server_from_starting() {
    let dir = Path::new("/nonexistent-cinnabar-tls");
    let config = cinnabar::config::Config::new();
    config.set("port", "0", true).expect("port");
    config.set("bind", "127.0.0.1", true).expect("bind");
    let port = free_port().to_string();
    config.set("tls-port", &port, true).expect("tls-port");
    let cert = dir.join("server.crt").display().to_string();
    config.set("tls-cert-file", &cert, true).expect("cert");
    config
        .set(
            "tls-key-file",
            &dir.join("server.key").display().to_string(),
            true,
        )
        .expect("key");
    let err = cinnabar::start(config).await.err().expect("refused");
    assert!(err.to_string().contains("server.crt"), "{err}");
}

/// A client that connects and does not start its handshake is not given a
/// deadline of its own (Redis creates the client first; a Tcl client
/// shakes hands with its first command): only the idle `timeout` closes it.
#[tokio::test]
async fn a_pending_handshake_is_closed_by_the_idle_timeout_only() {
    let pki = make_pki("pending");
    let (s, tls_port) = start_tls(&pki, "yes").await;
    let mut plain = s.raw().await;
    plain
        .expect(&["CONFIG", "SET", "timeout", "1"], b"+OK\r\n")
        .await;
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", tls_port))
        .await
        .expect("connect");
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(common::IO_TIMEOUT, tcp.read(&mut buf))
        .await
        .expect("closed by the idle timeout");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // A client that shakes hands is served as before.
    assert_eq!(
        ping(tls_port, &connector(&pki, true)).await.as_deref(),
        Ok(&b"+PONG\r\n"[..])
    );
}
