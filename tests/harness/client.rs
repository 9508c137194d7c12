//! Client-side helpers shared by the smoke tests: TLS to a fixture's server name, an SMTP
//! transport with credentials, a small test message.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Tls;
use lettre::{AsyncSmtpTransport, Message, Tokio1Executor};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::{HOST, TLS_SERVER_NAME};

/// The name the fixtures' server certificates are issued for.
pub fn server_name() -> ServerName<'static> {
    ServerName::try_from(TLS_SERVER_NAME).expect("valid server name")
}

/// TCP to `port` on the fixture host, then TLS verified with `config`.
pub async fn tls_connect(
    port: u16,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect((HOST, port)).await?;
    tokio_rustls::TlsConnector::from(config)
        .connect(server_name(), tcp)
        .await
}

/// An SMTP transport to `port` on the fixture host with `tls`, logging in as `user`.
pub fn smtp_transport(
    port: u16,
    tls: Tls,
    user: &str,
    password: &str,
    timeout: Duration,
) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(HOST)
        .port(port)
        .tls(tls)
        .credentials(Credentials::new(user.into(), password.into()))
        .timeout(Some(timeout))
        .build()
}

/// A plain text message `from` to each of `to`, its body "Hello from the `test`." and the
/// subject.
pub fn message(from: &str, to: &[&str], subject: &str, test: &str) -> Message {
    let mut b = Message::builder()
        .from(from.parse::<Mailbox>().expect("from"))
        .subject(subject);
    for t in to {
        b = b.to(t.parse::<Mailbox>().expect("to"));
    }
    b.body(format!("Hello from the {test}.\nSubject was: {subject}\n"))
        .expect("build message")
}
