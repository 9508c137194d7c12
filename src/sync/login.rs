//! Opening an IMAP connection and logging in: TLS or STARTTLS (never a plain fallback), the
//! greeting and the capabilities before login, then AUTHENTICATE PLAIN, with LOGIN on a fresh
//! connection when a server's AUTHENTICATE is broken (an unreadable answer, BAD) rather than
//! refused. Every connection reads through a [`Wire`].

mod bearer;

use std::sync::Arc;

use async_imap::imap_proto::{Response, ResponseCode, Status};
use async_imap::{Client, Session};
use rustls::ClientConfig;

use super::imap::{Caps, IO_TIMEOUT, caps_of};
use super::wire::{Wire, WireStats};
use super::{ErrorKind, SyncError};
use crate::config::{Secret, Security, ServerConfig};
use crate::domain::sanitize;
use crate::net::{self, BoxStream, timed};

/// Connect, secure, read the greeting and learn the capabilities before login.
pub(super) async fn open(
    server: &ServerConfig,
    tls: Arc<ClientConfig>,
    stats: &Arc<WireStats>,
) -> Result<(Client<Wire>, Caps), SyncError> {
    let host = server.host.as_str();
    let wire = |s: BoxStream| Wire::new(s, Arc::clone(stats));
    // Whether the greeting was read already (before STARTTLS).
    let (stream, greeted): (BoxStream, bool) = match server.security {
        Security::Tls => (net::connect_tls(host, server.port, tls).await?, false),
        Security::StartTls => {
            let tcp: BoxStream = Box::new(net::connect_tcp(host, server.port).await?);
            let mut client = Client::new(wire(tcp));
            read_greeting(&mut client, host).await?;
            timed(IO_TIMEOUT, "STARTTLS", async {
                client.run_command_and_check_ok("STARTTLS", None).await.map_err(|e| {
                    SyncError::new(
                        ErrorKind::Tls,
                        format!(
                            "{host} did not accept STARTTLS ({}); refusing to continue without encryption",
                            sanitize::line(&e.to_string())
                        ),
                    )
                })
            })
            .await?;
            // Capabilities from before TLS are not trusted: asked again below. The server
            // says nothing until the handshake, so the Wire holds nothing read ahead.
            let plain = client.into_inner().into_inner();
            (Box::new(net::start_tls(plain, host, tls).await?), true)
        }
        Security::None => (Box::new(net::connect_tcp(host, server.port).await?), false),
    };
    let mut client = Client::new(wire(stream));
    let greeting_caps = if greeted {
        None
    } else {
        read_greeting(&mut client, host).await?
    };
    let pre = match greeting_caps {
        Some(c) if !c.0.is_empty() => c,
        _ => pre_auth_caps(&mut client).await?,
    };
    Ok((client, pre))
}

/// Log in with AUTHENTICATE PLAIN when offered, else LOGIN. A clear NO to AUTHENTICATE is the
/// answer (wrong password); any other failure (a BAD, an answer that cannot be read, a lost
/// connection) is tried again with LOGIN, once, on a new connection (the failed exchange may
/// have left the first one anywhere), unless the server disables LOGIN.
pub(super) async fn log_in(
    server: &ServerConfig,
    password: &Secret,
    tls: Arc<ClientConfig>,
    stats: &Arc<WireStats>,
    client: Client<Wire>,
    pre: &Caps,
) -> Result<Session<Wire>, SyncError> {
    if let Some(oauth) = server.password.oauth2() {
        return log_in_with_token(server, oauth, password, tls, stats, client, pre).await;
    }
    let host = server.host.as_str();
    let user = server.username.as_str();
    let refused = |text: &str, before: &str| {
        SyncError::new(
            ErrorKind::Auth,
            format!(
                "{host} refused the login for {user}: {}{before}",
                sanitize::line(&server_words(text))
            ),
        )
    };
    match login_method(pre)
        .map_err(|why| SyncError::new(ErrorKind::Auth, format!("{host}: {why}")))?
    {
        LoginMethod::Login => login(client, user, password)
            .await
            .map_err(|e| e.into_sync(&refused, "")),
        LoginMethod::Plain => {
            let e = match authenticate_plain(client, user, password).await {
                Ok(session) => return Ok(session),
                Err(Failed::Refused(text)) => return Err(refused(&text, "")),
                Err(Failed::Other(e)) => e,
            };
            if pre.has("LOGINDISABLED") {
                return Err(SyncError::new(
                    e.kind,
                    format!(
                        "AUTHENTICATE PLAIN failed and {host} disables LOGIN: {}",
                        e.message
                    ),
                ));
            }
            tracing::warn!(%host, error = %e, "AUTHENTICATE PLAIN failed; trying LOGIN on a new connection");
            let (client, _) = open(server, tls, stats).await?;
            let before = format!(" (after AUTHENTICATE PLAIN failed: {})", e.message);
            login(client, user, password)
                .await
                .map_err(|e| e.into_sync(&refused, &before))
        }
    }
}

/// Log in with an OAuth2 access token (OAUTHBEARER, else XOAUTH2). A token the server refuses
/// may have expired early or been revoked: a fresh one is asked for, once, and tried on a new
/// connection; a refused refresh is the error that says to sign in again.
async fn log_in_with_token(
    server: &ServerConfig,
    oauth: &crate::config::OAuth2Config,
    token: &Secret,
    tls: Arc<ClientConfig>,
    stats: &Arc<WireStats>,
    client: Client<Wire>,
    pre: &Caps,
) -> Result<Session<Wire>, SyncError> {
    let (host, user, port) = (server.host.as_str(), server.username.as_str(), server.port);
    let mechanism = bearer::Mechanism::offered(pre).ok_or_else(|| {
        SyncError::new(
            ErrorKind::Auth,
            format!("{host} offers no OAuth2 login (AUTH=OAUTHBEARER or AUTH=XOAUTH2)"),
        )
    })?;
    let refused = |text: &str, before: &str| {
        SyncError::new(
            ErrorKind::Auth,
            format!(
                "{host} refused the OAuth2 token for {user} ({}): {}{before}",
                mechanism.name(),
                sanitize::line(&server_words(text))
            ),
        )
    };
    match bearer::authenticate(client, mechanism, user, token, host, port).await {
        Ok(session) => return Ok(session),
        Err(Failed::Other(e)) => return Err(e),
        Err(Failed::Refused(text)) => {
            tracing::info!(%host, words = %sanitize::line(&server_words(&text)), "token refused; refreshing it");
        }
    }
    let fresh = crate::oauth::access_token(oauth, true)
        .await
        .map_err(SyncError::from)?;
    let (client, _) = open(server, tls, stats).await?;
    bearer::authenticate(client, mechanism, user, &fresh, host, port)
        .await
        .map_err(|e| e.into_sync(&refused, " (with a token refreshed just now)"))
}

/// The server's own words in async-imap's text of a NO (`code: None, info: Some("...")`).
fn server_words(text: &str) -> String {
    const INFO: &str = "info: Some(\"";
    match text.find(INFO) {
        Some(at) => {
            let rest = &text[at + INFO.len()..];
            let end = rest.rfind("\")").unwrap_or(rest.len());
            rest[..end].replace("\\\"", "\"")
        }
        None => text.to_string(),
    }
}

/// Why a login step failed.
enum Failed {
    /// The server said NO (or BAD to LOGIN): its text.
    Refused(String),
    Other(SyncError),
}

impl Failed {
    fn into_sync(self, refused: &impl Fn(&str, &str) -> SyncError, before: &str) -> SyncError {
        match self {
            Failed::Refused(text) => refused(&text, before),
            Failed::Other(e) => SyncError::new(e.kind, format!("{}{before}", e.message)),
        }
    }
}

fn timed_out(what: &str) -> Failed {
    Failed::Other(SyncError::new(
        ErrorKind::Network,
        format!("no answer to {what} for {} s", IO_TIMEOUT.as_secs()),
    ))
}

async fn authenticate_plain(
    client: Client<Wire>,
    user: &str,
    password: &Secret,
) -> Result<Session<Wire>, Failed> {
    let mut msg = Vec::with_capacity(user.len() + password.expose().len() + 2);
    msg.push(0);
    msg.extend_from_slice(user.as_bytes());
    msg.push(0);
    msg.extend_from_slice(password.expose().as_bytes());
    let auth = PlainAuth(msg);
    match tokio::time::timeout(IO_TIMEOUT, client.authenticate("PLAIN", &auth)).await {
        Err(_) => Err(timed_out("AUTHENTICATE")),
        Ok(Ok(session)) => Ok(session),
        Ok(Err((async_imap::error::Error::No(text), _))) => Err(Failed::Refused(text)),
        Ok(Err((e, _))) => Err(Failed::Other(e.into())),
    }
}

async fn login(
    client: Client<Wire>,
    user: &str,
    password: &Secret,
) -> Result<Session<Wire>, Failed> {
    use async_imap::error::Error as E;
    match tokio::time::timeout(IO_TIMEOUT, client.login(user, password.expose())).await {
        Err(_) => Err(timed_out("LOGIN")),
        Ok(Ok(session)) => Ok(session),
        Ok(Err((E::No(text) | E::Bad(text), _))) => Err(Failed::Refused(text)),
        Ok(Err((e, _))) => Err(Failed::Other(e.into())),
    }
}

/// Read the server's greeting (bounded), before any command; returns the capabilities it
/// carries, if any.
async fn read_greeting(client: &mut Client<Wire>, host: &str) -> Result<Option<Caps>, SyncError> {
    let greeting = timed(IO_TIMEOUT, "the IMAP greeting", async {
        client.read_response().await.map_err(SyncError::io)
    })
    .await?;
    let Some(greeting) = greeting else {
        return Err(SyncError::new(
            ErrorKind::Network,
            format!("{host} closed the connection before its greeting"),
        ));
    };
    Ok(match greeting.parsed() {
        Response::Data {
            status: Status::Bye,
            outcome,
        } => {
            return Err(SyncError::new(
                ErrorKind::Network,
                format!(
                    "{host} refused the connection: {}",
                    sanitize::line(outcome.information.as_deref().unwrap_or(""))
                ),
            ));
        }
        Response::Data { outcome, .. } => match &outcome.code {
            Some(ResponseCode::Capabilities(c)) => {
                let list: Vec<_> = c.iter().map(async_imap::types::Capability::from).collect();
                Some(caps_of(&list))
            }
            _ => None,
        },
        _ => None,
    })
}

/// Ask for the capabilities before login (after STARTTLS, or when the greeting had none).
/// async-imap has no CAPABILITY for an unauthenticated client, so the command is written to the
/// stream directly and its answer read back.
async fn pre_auth_caps(client: &mut Client<Wire>) -> Result<Caps, SyncError> {
    use tokio::io::AsyncWriteExt;
    timed(IO_TIMEOUT, "CAPABILITY", async {
        let stream = client.get_mut();
        stream
            .write_all(b"tcap CAPABILITY\r\n")
            .await
            .map_err(SyncError::io)?;
        stream.flush().await.map_err(SyncError::io)?;
        let mut caps = Caps::default();
        loop {
            let Some(r) = client.read_response().await.map_err(SyncError::io)? else {
                return Err(SyncError::new(
                    ErrorKind::Network,
                    "the server closed the connection",
                ));
            };
            match r.parsed() {
                Response::Capabilities(c) => {
                    let list: Vec<_> = c.iter().map(async_imap::types::Capability::from).collect();
                    caps = caps_of(&list);
                }
                Response::Done { tag, status, .. } if tag.0 == "tcap" => {
                    return if *status == Status::Ok {
                        Ok(caps)
                    } else {
                        Err(SyncError::new(ErrorKind::Protocol, "CAPABILITY failed"))
                    };
                }
                _ => {}
            }
        }
    })
    .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoginMethod {
    /// AUTHENTICATE PLAIN (RFC 4616): any password bytes, no quoting limits.
    Plain,
    Login,
}

fn login_method(caps: &Caps) -> Result<LoginMethod, &'static str> {
    if caps.has("AUTH=PLAIN") {
        Ok(LoginMethod::Plain)
    } else if caps.has("LOGINDISABLED") {
        Err("the server disables LOGIN and offers no AUTHENTICATE PLAIN")
    } else {
        Ok(LoginMethod::Login)
    }
}

/// SASL PLAIN's one message: authzid (empty), authcid, password.
struct PlainAuth(Vec<u8>);

impl async_imap::Authenticator for &PlainAuth {
    type Response = Vec<u8>;
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        self.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_the_servers_words_only() {
        assert_eq!(
            server_words(
                r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")"#
            ),
            "[AUTHENTICATIONFAILED] Authentication failed."
        );
        assert_eq!(server_words("plain text"), "plain text");
    }

    #[test]
    fn login_prefers_authenticate_plain_and_respects_logindisabled() {
        let caps = |s: &str| Caps(s.split(' ').map(str::to_string).collect());
        assert_eq!(
            login_method(&caps("IMAP4REV1 AUTH=PLAIN AUTH=LOGIN")),
            Ok(LoginMethod::Plain)
        );
        assert_eq!(
            login_method(&caps("IMAP4REV1 LOGINDISABLED AUTH=PLAIN")),
            Ok(LoginMethod::Plain)
        );
        assert_eq!(login_method(&caps("IMAP4REV1")), Ok(LoginMethod::Login));
        assert!(login_method(&caps("IMAP4REV1 LOGINDISABLED")).is_err());
    }
}
