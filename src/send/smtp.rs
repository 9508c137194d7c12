//! One delivery attempt over SMTP, step by step on lettre's connection (not its transport):
//! tern needs each recipient's answer on its own, its state written before DATA, and a
//! timeout on every step (lettre's own covers only connecting).

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use crate::config::{Secret, Security, ServerConfig};

/// Every step but the last.
const STEP: Duration = Duration::from_secs(60);
/// The answer to the final dot: servers scan the message first (RFC 5321 suggests 10 min).
const FINAL: Duration = Duration::from_secs(300);

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The server took it (2xx after the final dot). `refused`: recipients it turned down,
    /// with its reply and whether for good (5xx) or for now (4xx).
    Sent {
        reply: String,
        refused: Vec<Refusal>,
    },
    /// Nothing was delivered and it may work later (4xx, network): try again.
    Retry(String),
    /// It will not go as it is (5xx, authentication refused, STARTTLS missing, a bad
    /// certificate): the reply says why; nothing was delivered.
    Failed {
        reply: String,
        refused: Vec<Refusal>,
    },
    /// The connection was lost after the message went out: it may have been delivered.
    Uncertain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rcpt: String,
    pub reply: String,
    pub permanent: bool,
}

/// One clean line for a lettre error. lettre's text nests its kind once per wrapped error
/// ("Connection error: Connection error: ..."): each part is said once here, a server's
/// reply starts with its code, and a certificate the handshake refused says how to trust it.
pub fn text(e: &lettre::transport::smtp::Error) -> String {
    use std::error::Error as _;
    let mut out = match (e.status(), e.source()) {
        (Some(code), Some(reply)) => format!("{code} {reply}"),
        _ => without_repeats(&e.to_string()),
    };
    if let Some(hint) = certificate_error(e).and_then(crate::net::certificate_hint) {
        out = format!("{out} — hint: {hint}");
    }
    crate::domain::sanitize::line(&out)
}

/// `a: a: b` → `a: b` (a part repeated right after itself, case aside, is dropped), with
/// lettre's capitalised "Connection error" in lower case.
pub fn without_repeats(s: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in s.split(": ") {
        if parts.last().is_some_and(|l| l.eq_ignore_ascii_case(p)) {
            continue;
        }
        parts.push(p);
    }
    parts
        .join(": ")
        .replacen("Connection error", "connection error", 1)
}

/// The certificate problem behind an error, if a TLS handshake refused the server's
/// certificate (it sits in an I/O error somewhere in lettre's chain of sources).
fn certificate_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::CertificateError> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        let rustls_err = err.downcast_ref::<rustls::Error>().or_else(|| {
            err.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(c)) = rustls_err {
            return Some(c);
        }
        cur = err.source();
    }
    None
}

/// How an error before the message went out counts: a server's 5xx (a refused login
/// included), a TLS or client error and a refused certificate need the user; the rest (4xx,
/// the network) may pass.
fn before_data(e: &lettre::transport::smtp::Error, what: &str) -> Attempt {
    let reply = format!("{what}: {}", text(e));
    if e.is_permanent() || e.is_tls() || e.is_client() || certificate_error(e).is_some() {
        Attempt::Failed {
            reply,
            refused: Vec::new(),
        }
    } else {
        Attempt::Retry(reply)
    }
}

async fn step<T>(
    what: &str,
    limit: Duration,
    f: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<T, Attempt> {
    match tokio::time::timeout(limit, f).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(before_data(&e, what)),
        Err(_) => Err(Attempt::Retry(format!(
            "{what}: no answer for {} s",
            limit.as_secs()
        ))),
    }
}

fn tls_parameters(server: &ServerConfig) -> Result<TlsParameters, Attempt> {
    let failed = |reply: String| Attempt::Failed {
        reply,
        refused: Vec::new(),
    };
    let mut b = TlsParameters::builder(server.host.clone());
    if server.tls_fingerprint.is_some() {
        // lettre takes no rustls verifier of ours: it checks the handshake's signature with
        // the certificate's key but accepts any certificate, and `pinned_certificate` checks
        // the fingerprint before anything is sent over the connection.
        return b
            .dangerous_accept_invalid_certs(true)
            .dangerous_accept_invalid_hostnames(true)
            .build_rustls()
            .map_err(|e| failed(format!("TLS setup: {}", text(&e))));
    }
    if let Some(path) = &server.ca_file {
        let pem = std::fs::read(path).map_err(|e| failed(format!("{}: {e}", path.display())))?;
        let cert =
            Certificate::from_pem(&pem).map_err(|e| failed(format!("{}: {e}", path.display())))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls()
        .map_err(|e| failed(format!("TLS setup: {}", text(&e))))
}

/// With `tls_fingerprint`, the server's certificate must be that one (checked once TLS is up,
/// before the login or any mail).
fn pinned_certificate(server: &ServerConfig, conn: &AsyncSmtpConnection) -> Result<(), Attempt> {
    let Some(want) = server.tls_fingerprint else {
        return Ok(());
    };
    let failed = |reply: String| Attempt::Failed {
        reply: format!("TLS with {}: {reply}", server.host),
        refused: Vec::new(),
    };
    let der = conn
        .peer_certificate()
        .map_err(|e| failed(format!("no certificate: {}", text(&e))))?;
    crate::net::pinned::check(&der, want).map_err(|e| failed(e.to_string()))
}

/// Deliver `raw` from `mail_from` to `rcpt`. `sending` is awaited just before DATA (the
/// caller writes its state there): an error from it stops the attempt with nothing sent.
pub async fn deliver<F, Fut>(
    server: &ServerConfig,
    password: Option<&Secret>,
    mail_from: &str,
    rcpt: &[String],
    raw: &[u8],
    sending: F,
) -> Attempt
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    match attempt(server, password, mail_from, rcpt, raw, sending).await {
        Ok(a) | Err(a) => a,
    }
}

/// Connect, secure (implicit TLS or STARTTLS, never a plain fallback) and log in when the
/// account has a password or an OAuth2 token: every step bounded. A token the server refuses
/// is refreshed once and tried on a new connection (it may have expired early or been
/// revoked; a refused refresh says to sign in again).
async fn open(
    server: &ServerConfig,
    password: Option<&Secret>,
    hello: &ClientId,
) -> Result<AsyncSmtpConnection, Attempt> {
    let Some(oauth) = server.password.oauth2() else {
        let conn = connect_secure(server, hello).await?;
        return log_in(
            conn,
            server,
            password,
            &[Mechanism::Plain, Mechanism::Login],
        )
        .await;
    };
    let conn = connect_secure(server, hello).await?;
    if let Ok(conn) = log_in(conn, server, password, &[Mechanism::Xoauth2]).await {
        return Ok(conn);
    }
    tracing::info!(host = %server.host, "SMTP refused the OAuth2 token; refreshing it");
    let fresh = crate::oauth::access_token(oauth, true)
        .await
        .map_err(|e| match e {
            crate::oauth::Failure::Reauth(m) => Attempt::Failed {
                reply: m,
                refused: Vec::new(),
            },
            crate::oauth::Failure::Temporary(m) => Attempt::Retry(m),
        })?;
    let conn = connect_secure(server, hello).await?;
    log_in(conn, server, Some(&fresh), &[Mechanism::Xoauth2]).await
}

/// Connect and secure (implicit TLS or STARTTLS, never a plain fallback).
async fn connect_secure(
    server: &ServerConfig,
    hello: &ClientId,
) -> Result<AsyncSmtpConnection, Attempt> {
    let addr = (server.host.as_str(), server.port);
    let host = &server.host;
    let connecting = format!("connecting to {host}:{}", server.port);
    let tls = match server.security {
        Security::Tls => Some(tls_parameters(server)?),
        Security::StartTls | Security::None => None,
    };
    let mut conn = step(
        &connecting,
        STEP,
        AsyncSmtpConnection::connect_tokio1(addr, Some(STEP), hello, tls, None),
    )
    .await?;
    if server.security == Security::StartTls {
        // Required: never on in plain text when the server does not offer it.
        if !conn.server_info().supports_feature(Extension::StartTls) {
            conn.abort().await;
            return Err(Attempt::Failed {
                reply: format!(
                    "{host} does not offer STARTTLS: nothing was sent (security = \"starttls\" \
                     is required; use \"tls\" for port 465)"
                ),
                refused: Vec::new(),
            });
        }
        let tls = tls_parameters(server)?;
        step("STARTTLS", STEP, conn.starttls(tls, hello)).await?;
    }
    if server.security != Security::None
        && let Err(a) = pinned_certificate(server, &conn)
    {
        conn.abort().await;
        return Err(a);
    }
    Ok(conn)
}

/// Log in with one of `mechanisms` when there is a password (or token).
async fn log_in(
    mut conn: AsyncSmtpConnection,
    server: &ServerConfig,
    password: Option<&Secret>,
    mechanisms: &[Mechanism],
) -> Result<AsyncSmtpConnection, Attempt> {
    let plain_ok = server.security != Security::None || server.allow_plaintext_auth;
    if let (Some(pass), false) = (password, server.username.is_empty()) {
        if !plain_ok {
            return Err(Attempt::Failed {
                reply: "refusing to send the password in plain text \
                        (allow_plaintext_auth = false)"
                    .into(),
                refused: Vec::new(),
            });
        }
        let creds = Credentials::new(server.username.clone(), pass.expose().to_string());
        if let Err(a) = step("authentication", STEP, conn.auth(mechanisms, &creds)).await {
            conn.abort().await;
            return Err(a);
        }
    }
    Ok(conn)
}

/// Connect, secure and log in, then QUIT, sending nothing (`tern check --connect`). Ok: what
/// the server offers, e.g. "STARTTLS AUTH PLAIN LOGIN 8BITMIME"; Err: one line saying why.
pub async fn probe(server: &ServerConfig, password: Option<&Secret>) -> Result<String, String> {
    let hello = ClientId::default();
    let mut conn = match open(server, password, &hello).await {
        Ok(c) => c,
        Err(Attempt::Failed { reply, .. } | Attempt::Retry(reply) | Attempt::Uncertain(reply)) => {
            return Err(reply);
        }
        Err(Attempt::Sent { reply, .. }) => return Err(reply),
    };
    let info = conn.server_info();
    let mut caps = Vec::new();
    if server.security == Security::StartTls {
        caps.push("STARTTLS".to_string());
    }
    let mechs: Vec<String> = [Mechanism::Plain, Mechanism::Login, Mechanism::Xoauth2]
        .into_iter()
        .filter(|m| info.supports_auth_mechanism(*m))
        .map(|m| m.to_string())
        .collect();
    if !mechs.is_empty() {
        caps.push(format!("AUTH {}", mechs.join(" ")));
    }
    for ext in [Extension::EightBitMime, Extension::SmtpUtfEight] {
        if info.supports_feature(ext) {
            caps.push(ext.to_string());
        }
    }
    let _ = tokio::time::timeout(STEP, conn.quit()).await;
    Ok(caps.join(" "))
}

// Long: one SMTP session in protocol order (MAIL, RCPT, DATA, the final dot after `open`);
// each step decides retry or failure for its own errors.
async fn attempt<F, Fut>(
    server: &ServerConfig,
    password: Option<&Secret>,
    mail_from: &str,
    rcpt: &[String],
    raw: &[u8],
    sending: F,
) -> Result<Attempt, Attempt>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let hello = ClientId::default();
    let mut conn = open(server, password, &hello).await?;
    let from = lettre::Address::from_str(mail_from).map_err(|e| Attempt::Failed {
        reply: format!("sender {mail_from}: {e}"),
        refused: Vec::new(),
    })?;
    let mut params = Vec::new();
    if !raw.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    step(
        "MAIL FROM",
        STEP,
        conn.command(Mail::new(Some(from), params)),
    )
    .await?;
    let mut accepted = 0;
    let mut refused = Vec::new();
    for r in rcpt {
        let Ok(to) = lettre::Address::from_str(r) else {
            refused.push(Refusal {
                rcpt: r.clone(),
                reply: "not an address".into(),
                permanent: true,
            });
            continue;
        };
        match tokio::time::timeout(STEP, conn.command(Rcpt::new(to, Vec::new()))).await {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(e)) if e.is_permanent() || e.is_transient() => refused.push(Refusal {
                rcpt: r.clone(),
                reply: text(&e),
                permanent: e.is_permanent(),
            }),
            Ok(Err(e)) => return Err(Attempt::Retry(format!("RCPT TO: {}", text(&e)))),
            Err(_) => return Err(Attempt::Retry("RCPT TO: no answer".into())),
        }
    }
    if accepted == 0 {
        conn.abort().await;
        let reply = refused
            .iter()
            .map(|r| format!("{}: {}", r.rcpt, r.reply))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(if refused.iter().all(|r| r.permanent) {
            Attempt::Failed { reply, refused }
        } else {
            Attempt::Retry(reply)
        });
    }
    if let Err(e) = sending().await {
        conn.abort().await;
        return Err(Attempt::Retry(e));
    }
    step("DATA", STEP, conn.command(Data)).await?;
    // From here the message may be on its way: a lost connection is not retried blindly.
    let answer = match tokio::time::timeout(FINAL, conn.message(raw)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) if e.is_permanent() => {
            return Err(Attempt::Failed {
                reply: text(&e),
                refused,
            });
        }
        Ok(Err(e)) if e.is_transient() => return Err(Attempt::Retry(text(&e))),
        Ok(Err(e)) => {
            return Err(Attempt::Uncertain(format!(
                "the connection was lost after the message was sent ({}): it may have been \
                 delivered",
                text(&e)
            )));
        }
        Err(_) => {
            return Err(Attempt::Uncertain(format!(
                "no answer after the message was sent for {} s: it may have been delivered",
                FINAL.as_secs()
            )));
        }
    };
    let reply = crate::domain::sanitize::line(&answer.message().collect::<Vec<_>>().join(" "));
    let _ = tokio::time::timeout(STEP, conn.quit()).await;
    Ok(Attempt::Sent {
        reply: format!("{} {reply}", answer.code()),
        refused,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(port: u16, security: &str) -> ServerConfig {
        crate::config::Config::parse(
            &format!(
                "[[account]]\nname = \"a\"\nemail = \"a@b.c\"\n[account.imap]\nhost = \"x\"\n\
                 [account.smtp]\nhost = \"localhost\"\nport = {port}\nsecurity = \"{security}\"\n"
            ),
            std::path::Path::new("t.toml"),
        )
        .unwrap()
        .accounts[0]
            .smtp
            .clone()
            .unwrap()
    }

    async fn nothing() -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn a_repeated_part_is_said_once() {
        assert_eq!(
            without_repeats(
                "Connection error: Connection error: Connection refused (os error 111)"
            ),
            "connection error: Connection refused (os error 111)"
        );
        assert_eq!(without_repeats("a: b: a"), "a: b: a");
    }

    #[tokio::test]
    async fn a_refused_connection_is_one_clean_line_and_retried() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let a = deliver(&server(port, "starttls"), None, "a@b.c", &[], b"x", nothing).await;
        let Attempt::Retry(reply) = a else {
            panic!("{a:?}")
        };
        assert!(reply.contains("refused"), "{reply}");
        assert!(
            !reply.to_lowercase().contains("error: connection error"),
            "{reply}"
        );
        assert_eq!(reply.lines().count(), 1);
    }

    #[tokio::test]
    async fn an_untrusted_certificate_fails_for_good_and_names_ca_file() {
        let port = crate::net::self_signed_tls_port().await;
        let a = deliver(&server(port, "tls"), None, "a@b.c", &[], b"x", nothing).await;
        let Attempt::Failed { reply, .. } = a else {
            panic!("not retried: {a:?}")
        };
        assert!(reply.contains("UnknownIssuer"), "{reply}");
        assert!(
            reply.contains("— hint:") && reply.contains("ca_file = "),
            "{reply}"
        );
        assert!(
            !reply.contains("Connection error: Connection error"),
            "{reply}"
        );
    }
}
