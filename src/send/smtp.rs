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

fn text(e: &lettre::transport::smtp::Error) -> String {
    crate::domain::sanitize::line(&e.to_string())
}

/// How an error before the message went out counts.
fn before_data(e: &lettre::transport::smtp::Error, what: &str) -> Attempt {
    let reply = format!("{what}: {}", text(e));
    if e.is_permanent() || e.is_tls() || e.is_client() {
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
    if let Some(path) = &server.ca_file {
        let pem = std::fs::read(path).map_err(|e| failed(format!("{}: {e}", path.display())))?;
        let cert =
            Certificate::from_pem(&pem).map_err(|e| failed(format!("{}: {e}", path.display())))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls()
        .map_err(|e| failed(format!("TLS setup: {}", text(&e))))
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

// Long: one SMTP session in protocol order (connect, STARTTLS, AUTH, MAIL, RCPT, DATA);
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
    let addr = (server.host.as_str(), server.port);
    let host = &server.host;
    let mut conn = match server.security {
        Security::Tls => {
            let tls = tls_parameters(server)?;
            step(
                &format!("connecting to {host}"),
                STEP,
                AsyncSmtpConnection::connect_tokio1(addr, Some(STEP), &hello, Some(tls), None),
            )
            .await?
        }
        Security::StartTls | Security::None => {
            step(
                &format!("connecting to {host}"),
                STEP,
                AsyncSmtpConnection::connect_tokio1(addr, Some(STEP), &hello, None, None),
            )
            .await?
        }
    };
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
        step("STARTTLS", STEP, conn.starttls(tls, &hello)).await?;
    }
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
        if let Err(a) = step(
            "authentication",
            STEP,
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds),
        )
        .await
        {
            conn.abort().await;
            return Err(a);
        }
    }
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
