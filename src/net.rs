//! Network plumbing shared by the engines: TLS client configs (rustls with ring; system roots
//! plus an optional per-account CA file, or a certificate trusted by its fingerprint:
//! [`pinned`]) and TCP/TLS connects with timeouts.

pub mod pinned;

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// How long a TCP connect or a TLS handshake may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A byte stream an engine speaks a protocol over: plain TCP before STARTTLS, TLS after.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Stream for T {}

pub type BoxStream = Box<dyn Stream>;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot read CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("no trusted root certificates: the system has none and no ca_file is set")]
    NoRoots,
    #[error("invalid server name `{0}`")]
    ServerName(String),
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("TLS with {host} failed: {reason}")]
    Tls { host: String, reason: String },
    #[error("{what} timed out after {secs} s")]
    Timeout { what: String, secs: u64 },
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's root certificates, or the bundled Mozilla roots when the system has none.
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots
}

/// Read every certificate of a PEM file.
pub fn load_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let err = |reason: String| NetError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// A verifying TLS client config: the system roots, plus the certificates of `ca_file`.
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, NetError> {
    let mut roots = system_roots();
    if let Some(path) = ca_file {
        for cert in load_pem_certs(path)? {
            roots.add(cert).map_err(|e| NetError::CaFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        }
    }
    if roots.is_empty() {
        return Err(NetError::NoRoots);
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls {
            host: String::new(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The TLS client config of a server: its certificate trusted by `tls_fingerprint` when set,
/// else verified against the system roots and `ca_file`.
pub fn server_tls_config(
    server: &crate::config::ServerConfig,
) -> Result<Arc<ClientConfig>, NetError> {
    match server.tls_fingerprint {
        Some(f) => pinned_tls_config(f),
        None => tls_config(server.ca_file.as_deref()),
    }
}

/// A TLS client config accepting only the certificate of this fingerprint ([`pinned`]).
pub fn pinned_tls_config(
    fingerprint: crate::config::Fingerprint,
) -> Result<Arc<ClientConfig>, NetError> {
    let verifier = pinned::PinnedVerifier {
        fingerprint,
        provider: provider(),
    };
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls {
            host: String::new(),
            reason: e.to_string(),
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// An error and what caused it, in one line (reqwest's own text hides the cause: "error
/// sending request").
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// Run `fut`, failing with a timeout error naming `what` after `limit`.
pub async fn timed<T, E>(
    limit: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    E: From<NetError>,
{
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(NetError::Timeout {
            what: what.to_string(),
            secs: limit.as_secs(),
        }
        .into()),
    }
}

/// Open a TCP connection.
pub async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, NetError> {
    let addr = format!("{host}:{port}");
    let tcp = timed(CONNECT_TIMEOUT, &format!("connecting to {addr}"), async {
        TcpStream::connect((host, port))
            .await
            .map_err(|e| NetError::Connect {
                addr: addr.clone(),
                reason: e.to_string(),
            })
    })
    .await?;
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// Wrap a connected stream in TLS, verifying the server's certificate for `host`.
pub async fn start_tls<S>(
    stream: S,
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<tokio_rustls::client::TlsStream<S>, NetError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name =
        ServerName::try_from(host.to_string()).map_err(|_| NetError::ServerName(host.into()))?;
    timed(
        CONNECT_TIMEOUT,
        &format!("TLS handshake with {host}"),
        async {
            TlsConnector::from(config)
                .connect(name, stream)
                .await
                .map_err(|e| handshake_error(host, e))
        },
    )
    .await
}

/// A failed handshake: a connection lost on the way is a network problem (worth retrying);
/// anything else (a certificate, a protocol mismatch) is a TLS one.
fn handshake_error(host: &str, e: std::io::Error) -> NetError {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
            NetError::Connect {
                addr: host.to_string(),
                reason: format!("the connection was lost during the TLS handshake ({e})"),
            }
        }
        _ => NetError::Tls {
            host: host.to_string(),
            reason: match refused_certificate(&e) {
                Some(c) if let Some(m) = pinned::mismatch(c) => m.to_string(),
                Some(c) if let Some(hint) = certificate_hint(c) => format!("{e} — hint: {hint}"),
                _ => e.to_string(),
            },
        },
    }
}

/// The certificate problem of a failed handshake, if that was it.
fn refused_certificate(e: &std::io::Error) -> Option<&rustls::CertificateError> {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(c)) => Some(c),
        _ => None,
    }
}

/// What to do about a certificate a handshake refused (None when there is nothing to say).
/// Shared by IMAP, POP3 and SMTP.
pub fn certificate_hint(c: &rustls::CertificateError) -> Option<&'static str> {
    use rustls::CertificateError as C;
    match c {
        C::UnknownIssuer | C::BadSignature => Some(
            "the certificate is not signed by a CA this computer trusts: if the server uses \
             its own CA (or a self-signed certificate), trust it by setting \
             ca_file = \"/path/to/ca.pem\" in the [[account]] (or in one server's table, e.g. \
             [account.smtp]); a server on this computer (Proton Bridge) can be trusted by its \
             fingerprint instead: tls_fingerprint = \"sha256:...\" (`tern setup` shows it)",
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            Some("the certificate is for another name: check the host setting")
        }
        C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
            Some("check the server's certificate dates and this computer's clock")
        }
        _ => None,
    }
}

/// TCP connect followed by the TLS handshake (implicit TLS).
pub async fn connect_tls(
    host: &str,
    port: u16,
    config: Arc<ClientConfig>,
) -> Result<BoxStream, NetError> {
    let tcp = connect_tcp(host, port).await?;
    Ok(Box::new(start_tls(tcp, host, config).await?))
}

/// A TLS server on loopback with a self-signed certificate no client trusts: it accepts one
/// connection and its handshake. Its port. (Tests of what tern says about untrusted servers.)
#[cfg(test)]
pub(crate) async fn self_signed_tls_port() -> u16 {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let server_config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![key.cert.der().clone()],
            rustls::pki_types::PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()).into(),
        )
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
        let _ = acceptor.accept(sock).await;
    });
    port
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ca_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(&p, "not a certificate").unwrap();
        let e = tls_config(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
        let e = tls_config(Some(&dir.path().join("missing.pem")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.pem"), "{e}");
    }

    #[tokio::test]
    async fn a_connection_lost_in_the_handshake_is_a_network_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            // Accept, then hang up before answering the ClientHello.
            let (sock, _) = listener.accept().await.unwrap();
            drop(sock);
        });
        let config = tls_config(None).unwrap();
        let e = connect_tls("127.0.0.1", port, config).await.err().unwrap();
        assert!(matches!(e, NetError::Connect { .. }), "{e}");
        assert!(
            e.to_string().contains("lost during the TLS handshake"),
            "{e}"
        );

        // A server that answers in plain text is a TLS problem, not a network one.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let (mut sock, _) = listener.accept().await.unwrap();
            let _ = sock.write_all(b"+OK plain POP3 here\r\n").await;
            std::future::pending::<()>().await;
        });
        let e = connect_tls("127.0.0.1", port, tls_config(None).unwrap())
            .await
            .err()
            .unwrap();
        assert!(matches!(e, NetError::Tls { .. }), "{e}");
    }

    #[tokio::test]
    async fn an_untrusted_certificate_says_how_to_trust_its_ca() {
        let port = super::self_signed_tls_port().await;
        let tcp = connect_tcp("127.0.0.1", port).await.unwrap();
        let e = start_tls(tcp, "localhost", tls_config(None).unwrap())
            .await
            .err()
            .unwrap();
        assert!(matches!(e, NetError::Tls { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("UnknownIssuer") && text.contains("ca_file = "),
            "{text}"
        );
        // Not a passing problem: the engines stop until the user acts.
        assert!(!crate::sync::SyncError::from(e).is_transient());
    }

    #[test]
    fn system_config_builds() {
        assert!(tls_config(None).is_ok());
    }
}
