//! A small hand-written async POP3 client: RFC 1939, with CAPA and response codes (RFC 2449,
//! RFC 3206), STLS (RFC 2595) and AUTH PLAIN (RFC 5034). Hand-written because no solid crate
//! fits: async-pop and async-pop2 are tied to async-native-tls and offer no STLS over rustls,
//! and mailme dates from tokio 0.3.
//!
//! Connect with implicit TLS or STLS (never a plain-text fallback), log in (SASL PLAIN when
//! offered, else USER/PASS), then STAT, LIST, UIDL, RETR, DELE and QUIT. Every read and write
//! has an inactivity timeout. Responses are scanned as bytes out of a 64 KiB buffer: message
//! bodies are arbitrary 8-bit data, and RETR makes no syscall or allocation per line. Server
//! text reaches error messages only through `sanitize::line`; the password never does.
//!
//! Here: the session and its I/O. `connect`, `commands` (one method per POP3 command),
//! `capabilities` (CAPA), `parse` (status lines, numbers, base64, dot-unstuffing).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use crate::config::{Secret, Security, ServerConfig};
use crate::domain::sanitize;
use crate::net::{self, BoxStream, NetError};

mod capabilities;
mod commands;
mod connect;
mod parse;

use crate::sync::{ErrorKind, SyncError};
pub use capabilities::Capabilities;
use parse::*;

/// How long the server may stay silent: per read or write, not per command, so a large RETR
/// never times out while its bytes keep arriving.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// The read buffer: large, so a message is scanned out of it in big chunks.
const BUF_SIZE: usize = 64 * 1024;
/// The longest status or listing line accepted.
pub const MAX_LINE: usize = 64 * 1024;
/// The most bytes a CAPA, LIST or UIDL answer may have.
const MAX_LISTING: usize = 128 << 20;
/// The largest message RETR accepts.
pub const MAX_MESSAGE: usize = 512 << 20;
/// The most RETR allocates up front on the strength of the server's LIST size.
const MAX_PREALLOC: u64 = 64 << 20;

/// A POP3 session, logged in once made by [`Pop3::connect`].
pub struct Pop3<S = BoxStream> {
    io: BufReader<S>,
    host: String,
    commands: u64,
    timeout: Duration,
    /// The last answer to CAPA.
    caps: Capabilities,
}

/// A status line: `+OK` or `-ERR`, with the text after it.
enum Status {
    Ok(Vec<u8>),
    Err(Vec<u8>),
}

fn timed_out(host: &str, what: &str, limit: Duration) -> SyncError {
    NetError::Timeout {
        what: format!("{what} with {host}"),
        secs: limit.as_secs(),
    }
    .into()
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Pop3<S> {
    /// Start a session on a connected stream: read the server's greeting.
    pub async fn from_stream(stream: S, host: &str) -> Result<Self, SyncError> {
        let mut pop = Pop3 {
            io: BufReader::with_capacity(BUF_SIZE, stream),
            host: host.to_string(),
            commands: 0,
            timeout: IO_TIMEOUT,
            caps: Capabilities::default(),
        };
        match pop.status("the POP3 greeting").await? {
            Status::Ok(_) => Ok(pop),
            Status::Err(text) => Err(SyncError::new(
                ErrorKind::Network,
                format!("{host} refused the connection: {}", shown(&text)),
            )),
        }
    }

    /// Change the inactivity timeout (default [`IO_TIMEOUT`]).
    pub fn set_timeout(&mut self, limit: Duration) {
        self.timeout = limit;
    }

    /// The number of commands sent so far.
    pub fn commands(&self) -> u64 {
        self.commands
    }

    /// What the server announced in its last answer to CAPA (after STLS: over TLS).
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Send `cmd` and read its status line, turning `-ERR` into an error.
    async fn command(&mut self, cmd: &str, what: &str) -> Result<Vec<u8>, SyncError> {
        self.send(cmd, what).await?;
        match self.status(what).await? {
            Status::Ok(text) => Ok(text),
            Status::Err(text) => Err(self.refused(what, &text)),
        }
    }

    /// The error for a `-ERR` answer to `what`, by its response code.
    fn refused(&self, what: &str, text: &[u8]) -> SyncError {
        let host = &self.host;
        let (kind, message) = match code(text).as_deref() {
            Some("IN-USE") => (
                ErrorKind::Protocol,
                format!(
                    "the mailbox on {host} is in use by another client (it stays locked until \
                     that session ends); try again later"
                ),
            ),
            Some("AUTH") => (
                ErrorKind::Auth,
                format!("{host} refused {what} because of the credentials"),
            ),
            Some("SYS/TEMP" | "LOGIN-DELAY") => (
                ErrorKind::Protocol,
                format!("{host} refused {what} for now; try again later"),
            ),
            _ => (ErrorKind::Protocol, format!("{host} refused {what}")),
        };
        SyncError::new(kind, format!("{message}: {}", shown(text)))
    }

    fn garbage(&self, what: &str, line: &[u8]) -> SyncError {
        SyncError::new(
            ErrorKind::Protocol,
            format!(
                "{} sent an unexpected answer to {what}: {}",
                self.host,
                shown(line)
            ),
        )
    }

    /// Write one command line. `what` names it in errors (never its arguments: PASS).
    async fn send(&mut self, cmd: &str, what: &str) -> Result<(), SyncError> {
        let line = [cmd.as_bytes(), b"\r\n"].concat();
        self.commands += 1;
        self.write(&line, what).await
    }

    /// Write command lines and flush them.
    async fn write(&mut self, bytes: &[u8], what: &str) -> Result<(), SyncError> {
        let stream = self.io.get_mut();
        let write = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        match tokio::time::timeout(self.timeout, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SyncError::new(
                ErrorKind::Network,
                format!("{}: sending {what} failed: {e}", self.host),
            )),
            Err(_) => Err(timed_out(&self.host, what, self.timeout)),
        }
    }

    /// The buffered bytes, reading more when there are none; never empty.
    async fn fill(&mut self, what: &str) -> Result<&[u8], SyncError> {
        match tokio::time::timeout(self.timeout, self.io.fill_buf()).await {
            Ok(Ok([])) => Err(SyncError::new(
                ErrorKind::Network,
                format!("{} closed the connection during {what}", self.host),
            )),
            Ok(Ok(chunk)) => Ok(chunk),
            Ok(Err(e)) => Err(SyncError::new(
                ErrorKind::Network,
                format!("{}: reading the answer to {what} failed: {e}", self.host),
            )),
            Err(_) => Err(timed_out(&self.host, what, self.timeout)),
        }
    }

    /// One line, without its CRLF or bare LF; at most [`MAX_LINE`] bytes.
    async fn line(&mut self, what: &str) -> Result<Vec<u8>, SyncError> {
        let mut line = Vec::new();
        loop {
            let chunk = self.fill(what).await?;
            let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            line.extend_from_slice(&chunk[..take]);
            self.io.consume(take + usize::from(end));
            if line.len() > MAX_LINE {
                return Err(SyncError::new(
                    ErrorKind::Protocol,
                    format!(
                        "{} sent a line longer than {} KiB in answer to {what}",
                        self.host,
                        MAX_LINE >> 10
                    ),
                ));
            }
            if end {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
        }
    }

    /// A status line; anything but `+OK` or `-ERR` is a protocol error.
    async fn status(&mut self, what: &str) -> Result<Status, SyncError> {
        let line = self.line(what).await?;
        let rest = |r: &[u8]| r.strip_prefix(b" ").unwrap_or(r).to_vec();
        if let Some(r) = line.strip_prefix(b"+OK") {
            Ok(Status::Ok(rest(r)))
        } else if let Some(r) = line.strip_prefix(b"-ERR") {
            Ok(Status::Err(rest(r)))
        } else {
            Err(self.garbage(what, &line))
        }
    }

    /// The lines of a multi-line answer up to its final `.`, dot-unstuffed.
    async fn lines(&mut self, what: &str) -> Result<Vec<Vec<u8>>, SyncError> {
        let (mut lines, mut total) = (Vec::new(), 0);
        loop {
            let mut line = self.line(what).await?;
            if line == b"." {
                return Ok(lines);
            }
            if line.first() == Some(&b'.') {
                line.remove(0);
            }
            total += line.len() + 2;
            if total > MAX_LISTING {
                return Err(SyncError::new(
                    ErrorKind::Protocol,
                    format!(
                        "{} sent more than {} MiB in answer to {what}",
                        self.host,
                        MAX_LISTING >> 20
                    ),
                ));
            }
            lines.push(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, DuplexStream};
    use tokio::task::JoinHandle;

    const HOST: &str = "pop.example";

    /// A scripted server at the far end of a pipe: sends `greeting`, then answers each line
    /// the client sends with the next of `replies`; then closes the connection, or with
    /// `hold` stays silent. Returns the lines the client sent.
    fn server(
        greeting: &'static str,
        replies: &[&'static [u8]],
        hold: bool,
    ) -> (DuplexStream, JoinHandle<Vec<String>>) {
        let replies = replies.to_vec();
        let (client, far) = tokio::io::duplex(1 << 20);
        let task = tokio::spawn(async move {
            let mut far = BufReader::new(far);
            far.get_mut().write_all(greeting.as_bytes()).await.unwrap();
            let mut seen = Vec::new();
            for reply in replies {
                let mut line = String::new();
                if far.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                seen.push(line);
                far.get_mut().write_all(reply).await.unwrap();
            }
            if hold {
                std::future::pending::<()>().await;
            }
            seen
        });
        (client, task)
    }

    /// A session with a scripted server (greeting `+OK`).
    async fn session(replies: &[&'static [u8]]) -> (Pop3<DuplexStream>, JoinHandle<Vec<String>>) {
        let (stream, task) = server("+OK POP3 ready <1.2@x>\r\n", replies, false);
        (Pop3::from_stream(stream, HOST).await.unwrap(), task)
    }

    #[tokio::test]
    async fn greeting() {
        let (stream, _) = server("-ERR too busy \x1b[31m\r\n", &[], false);
        let e = Pop3::from_stream(stream, HOST).await.err().unwrap();
        assert_eq!(e.kind, ErrorKind::Network);
        assert!(
            e.message.contains("refused the connection: too busy"),
            "{e}"
        );
        assert!(!e.message.contains('\x1b'), "{e}");
        let (stream, _) = server("", &[], false);
        let e = Pop3::from_stream(stream, HOST).await.err().unwrap();
        assert_eq!(e.kind, ErrorKind::Network);
        assert!(e.message.contains("closed the connection"), "{e}");
    }

    #[tokio::test]
    async fn capa() {
        let (mut pop, task) = session(&[
            b"+OK list follows\r\nSTLS\r\nuser\r\nSASL PLAIN LOGIN\r\nUIDL\r\nPIPELINING\r\nRESP-CODES\r\nEXPIRE 30\r\n.\r\n",
            b"+OK\r\nUSER\r\n.\r\n",
            b"-ERR unknown command\r\n",
        ])
        .await;
        let caps = pop.capa().await.unwrap();
        for name in ["STLS", "USER", "uidl", "PIPELINING", "RESP-CODES", "EXPIRE"] {
            assert!(caps.has(name), "{name}");
        }
        assert!(caps.sasl("plain") && caps.sasl("LOGIN") && !caps.sasl("CRAM-MD5"));
        assert_eq!(caps.args("expire"), ["30"]);
        let caps = pop.capa().await.unwrap();
        assert!(caps.has("USER") && !caps.has("STLS") && !caps.sasl("PLAIN"));
        assert!(pop.capa().await.unwrap().is_empty());
        assert_eq!(pop.commands(), 3);
        assert_eq!(task.await.unwrap(), ["CAPA\r\n"; 3]);
    }

    #[tokio::test]
    async fn login_user_pass_and_auth_plain() {
        let pass = Secret::new("s3cret");
        let (mut pop, task) = session(&[b"+OK\r\n", b"+OK logged in\r\n"]).await;
        let caps = Capabilities::parse(&[b"USER".to_vec()]);
        pop.login("alice", &pass, &caps).await.unwrap();
        assert_eq!(task.await.unwrap(), ["USER alice\r\n", "PASS s3cret\r\n"]);

        let (mut pop, task) = session(&[b"+OK logged in\r\n"]).await;
        let caps = Capabilities::parse(&[b"USER".to_vec(), b"SASL PLAIN".to_vec()]);
        pop.login("alice", &pass, &caps).await.unwrap();
        assert_eq!(task.await.unwrap(), ["AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n"]);
    }

    #[tokio::test]
    async fn login_asks_for_utf8_mode_first_when_offered() {
        let pass = Secret::new("s3cret");
        let caps = Capabilities::parse(&[b"USER".to_vec(), b"UTF8 USER".to_vec()]);
        let (mut pop, task) = session(&[b"+OK UTF8 enabled\r\n", b"+OK\r\n", b"+OK in\r\n"]).await;
        pop.login("alice", &pass, &caps).await.unwrap();
        assert_eq!(
            task.await.unwrap(),
            ["UTF8\r\n", "USER alice\r\n", "PASS s3cret\r\n"]
        );
        // Refused: the login goes on as before.
        let (mut pop, task) = session(&[b"-ERR no\r\n", b"+OK\r\n", b"+OK in\r\n"]).await;
        pop.login("alice", &pass, &caps).await.unwrap();
        assert_eq!(task.await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn login_refusals() {
        let pass = Secret::new("s3cret");
        let none = Capabilities::default();
        let (mut pop, _) = session(&[b"+OK\r\n", b"-ERR [AUTH] invalid password\r\n"]).await;
        let e = pop.login("alice", &pass, &none).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(
            e.message
                .contains("pop.example refused the login for alice: [AUTH] invalid")
        );
        assert!(!e.message.contains("s3cret"), "{e}");

        let (mut pop, _) = session(&[b"+OK\r\n", b"-ERR [IN-USE] locked\r\n"]).await;
        let e = pop.login("alice", &pass, &none).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Protocol);
        assert!(e.is_transient());
        assert!(e.message.contains("in use by another client"), "{e}");

        let (mut pop, task) = session(&[]).await;
        let e = pop.login("alice", &Secret::new("a\r\nDELE 1"), &none).await;
        assert_eq!(e.unwrap_err().kind, ErrorKind::Auth);
        assert!(task.await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn stat_list_uidl() {
        let (mut pop, task) = session(&[
            b"+OK 2 320\r\n",
            b"+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n",
            b"+OK\n1 whqtswO00WBw418f9t5JxYwZ\n2 QhdPYR:00WBw1Ph7x7\n.\n",
            b"+OK\r\n1 120\r\n2 x\r\n.\r\n",
            b"+OK\r\n1 bad\x01uid\r\n.\r\n",
        ])
        .await;
        assert_eq!(pop.stat().await.unwrap(), (2, 320));
        assert_eq!(pop.list().await.unwrap(), [(1, 120), (2, 200)]);
        let uids = pop.uidl().await.unwrap();
        assert_eq!(
            uids,
            [
                (1, "whqtswO00WBw418f9t5JxYwZ".to_string()),
                (2, "QhdPYR:00WBw1Ph7x7".to_string())
            ]
        );
        assert_eq!(pop.list().await.unwrap_err().kind, ErrorKind::Protocol);
        assert_eq!(pop.uidl().await.unwrap_err().kind, ErrorKind::Protocol);
        let sent = task.await.unwrap();
        assert_eq!(
            sent,
            ["STAT\r\n", "LIST\r\n", "UIDL\r\n", "LIST\r\n", "UIDL\r\n"]
        );
    }

    #[tokio::test]
    async fn retr_unstuffs_and_keeps_8bit() {
        let (mut pop, task) = session(&[
            b"+OK 30 octets\r\nSubject: x\r\n\r\n..foo\r\n.\xff\xfe\r\n...\r\nend\r\n.\r\n",
            b"+OK\nbare\nlf\r\n..\n\n.\n",
            b"+OK\r\n",
            b"+OK\r\n",
            b"+OK\r\n",
            b"+OK bye\r\n",
        ])
        .await;
        let body = pop.retr(1, 30).await.unwrap();
        assert_eq!(body, b"Subject: x\r\n\r\n.foo\r\n\xff\xfe\r\n..\r\nend\r\n");
        assert_eq!(pop.retr(2, 0).await.unwrap(), b"bare\r\nlf\r\n.\r\n\r\n");
        pop.dele(1).await.unwrap();
        pop.rset().await.unwrap();
        pop.noop().await.unwrap();
        pop.quit().await.unwrap();
        let sent = task.await.unwrap();
        let want = ["RETR 1", "RETR 2", "DELE 1", "RSET", "NOOP", "QUIT"];
        assert_eq!(sent, want.map(|c| format!("{c}\r\n")));
    }

    #[tokio::test]
    async fn pipelined_retr_reads_answers_in_order_past_a_refusal() {
        let (mut pop, task) = session(&[
            b"+OK\r\nSubject: one\r\n.\r\n",
            b"-ERR [SYS/TEMP] cannot read message 2\r\n",
            b"+OK\r\n..three\r\n.\r\n",
        ])
        .await;
        pop.retr_send(&[1, 2, 3]).await.unwrap();
        assert_eq!(pop.commands(), 3);
        assert_eq!(
            pop.retr_answer(1, 0).await.unwrap().unwrap(),
            b"Subject: one\r\n"
        );
        let refused = pop.retr_answer(2, 0).await.unwrap().unwrap_err();
        assert_eq!(refused, b"[SYS/TEMP] cannot read message 2");
        assert_eq!(pop.retr_answer(3, 0).await.unwrap().unwrap(), b".three\r\n");
        assert_eq!(
            task.await.unwrap(),
            ["RETR 1\r\n", "RETR 2\r\n", "RETR 3\r\n"]
        );
    }

    #[tokio::test]
    async fn garbage_and_overlong_lines_are_protocol_errors() {
        let long: &'static [u8] = vec![b'+'; MAX_LINE + 10].leak();
        let (mut pop, _) = session(&[b"* OK hello\r\n", long]).await;
        let e = pop.stat().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Protocol);
        assert!(
            e.message.contains("unexpected answer to STAT: * OK hello"),
            "{e}"
        );
        let e = pop.noop().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Protocol);
        assert!(e.message.contains("longer than 64 KiB"), "{e}");
    }

    #[tokio::test]
    async fn closed_mid_retr_is_a_network_error() {
        let (mut pop, _) = session(&[b"+OK\r\nSubject: cut\r\nhalf a li"]).await;
        let e = pop.retr(1, 100).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Network);
        assert!(
            e.message.contains("closed the connection during RETR"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_stalled_server_times_out() {
        let (stream, _) = server("+OK\r\n", &[b"+OK\r\nSubject: slow\r\n"], true);
        let mut pop = Pop3::from_stream(stream, HOST).await.unwrap();
        pop.set_timeout(Duration::from_millis(50));
        let e = pop.retr(1, 100).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Network);
        assert!(e.message.contains("RETR with pop.example timed out"), "{e}");
    }

    #[tokio::test]
    async fn a_slow_but_steady_retr_does_not_time_out() {
        let (client, far) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let mut far = BufReader::new(far);
            far.get_mut().write_all(b"+OK\r\n").await.unwrap();
            far.read_line(&mut String::new()).await.unwrap();
            far.get_mut().write_all(b"+OK\r\n").await.unwrap();
            for _ in 0..8 {
                tokio::time::sleep(Duration::from_millis(60)).await;
                far.get_mut().write_all(b"line\r\n").await.unwrap();
            }
            far.get_mut().write_all(b".\r\n").await.unwrap();
            std::future::pending::<()>().await;
        });
        let mut pop = Pop3::from_stream(client, HOST).await.unwrap();
        pop.set_timeout(Duration::from_millis(300));
        assert_eq!(pop.retr(1, 48).await.unwrap(), b"line\r\n".repeat(8));
    }

    #[tokio::test]
    async fn stls_required_but_not_offered() {
        let (stream, task) = server("+OK\r\n", &[b"+OK\r\nUSER\r\n.\r\n"], false);
        let tls = net::tls_config(None).unwrap();
        let e = Pop3::secure(Box::new(stream), HOST, Security::StartTls, tls)
            .await
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::Tls);
        assert_eq!(
            e.message,
            "pop.example does not offer STLS; refusing to continue without encryption"
        );
        assert_eq!(task.await.unwrap(), ["CAPA\r\n"]);
    }

    #[tokio::test]
    async fn stls_upgrades_and_asks_capa_again() {
        let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert = key.cert.der().clone();
        let der = key.signing_key.serialize_der();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.clone()],
                rustls::pki_types::PrivatePkcs8KeyDer::from(der).into(),
            )
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).unwrap();
        let client_config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let (client, far) = tokio::io::duplex(1 << 16);
        let far_task = tokio::spawn(async move {
            let mut far = BufReader::new(far);
            let mut seen = String::new();
            far.get_mut().write_all(b"+OK\r\n").await.unwrap();
            far.read_line(&mut seen).await.unwrap();
            far.get_mut()
                .write_all(b"+OK\r\nSTLS\r\nUSER\r\n.\r\n")
                .await
                .unwrap();
            far.read_line(&mut seen).await.unwrap();
            far.get_mut().write_all(b"+OK begin TLS\r\n").await.unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
            let mut far = BufReader::new(acceptor.accept(far.into_inner()).await.unwrap());
            far.read_line(&mut seen).await.unwrap();
            far.get_mut()
                .write_all(b"+OK\r\nSASL PLAIN\r\n.\r\n")
                .await
                .unwrap();
            far.get_mut().flush().await.unwrap();
            seen
        });
        let (pop, caps) = Pop3::secure(
            Box::new(client),
            "localhost",
            Security::StartTls,
            Arc::new(client_config),
        )
        .await
        .unwrap();
        assert!(caps.sasl("PLAIN") && !caps.has("STLS") && !caps.has("USER"));
        assert_eq!(pop.commands(), 3);
        assert_eq!(far_task.await.unwrap(), "CAPA\r\nSTLS\r\nCAPA\r\n");
    }

    #[tokio::test]
    async fn no_password_in_plain_text() {
        let server = ServerConfig {
            protocol: crate::config::Protocol::Pop3,
            host: "127.0.0.1".into(),
            port: 9,
            security: Security::None,
            username: "alice".into(),
            password: crate::config::PasswordSource::None,
            ca_file: None,
            tls_fingerprint: None,
            allow_plaintext_auth: false,
            poll_interval: None,
            compress: None,
            leave_on_server: true,
            delete_after_days: None,
        };
        let tls = net::tls_config(None).unwrap();
        let pass = Secret::new("s3cret");
        let e = Pop3::connect(&server, Some(&pass), tls)
            .await
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::Tls);
        assert!(e.message.contains("allow_plaintext_auth = false"), "{e}");
    }
}
