//! The last source of discovery: the usual host names on the usual ports. imap., mail. and
//! the domain itself on 993 (TLS) then 143 (STARTTLS); smtp. and mail. on 465 then 587; POP3
//! (pop., pop3., mail. on 995 then 110) only when no IMAP server answers. A host counts only
//! when it answers for real over verified TLS: the IMAP greeting and CAPABILITY, the POP3
//! greeting and CAPA, an SMTP EHLO. Names are resolved by the same resolver as the SRV and MX
//! records (`--dns`), every candidate is tried at once, each under its own timeout.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use hickory_resolver::TokioResolver;
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::{ClientId, Extension};
use rustls::ClientConfig;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::discover::{self, Found, Server};
use crate::domain::sanitize;

/// How long one candidate may take: resolving, connecting, TLS, the greeting, one command.
const PROBE_TIMEOUT: Duration = Duration::from_secs(8);
/// A server's line longer than this is not a greeting.
const MAX_LINE: u64 = 8 * 1024;
/// A capability list longer than this many lines is not one.
const MAX_LINES: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Imap,
    Pop3,
    Smtp,
}

/// What probing found, and the line for each server that answered.
#[derive(Debug, Default)]
pub struct Probed {
    pub found: Option<Found>,
    pub lines: Vec<String>,
}

/// The candidates of one kind, in the order they are preferred: implicit TLS first.
fn candidates(domain: &str, kind: Kind) -> Vec<Server> {
    let (prefixes, ports): (&[&str], [(u16, &str); 2]) = match kind {
        Kind::Imap => (&["imap.", "mail.", ""], [(993, "tls"), (143, "starttls")]),
        Kind::Pop3 => (
            &["pop.", "pop3.", "mail."],
            [(995, "tls"), (110, "starttls")],
        ),
        Kind::Smtp => (&["smtp.", "mail."], [(465, "tls"), (587, "starttls")]),
    };
    ports
        .iter()
        .flat_map(|(port, security)| {
            prefixes.iter().map(move |p| Server {
                host: format!("{p}{domain}"),
                port: *port,
                security: (*security).into(),
            })
        })
        .collect()
}

/// Try the usual names of the address's domain. `ca_file`: a CA to trust besides the
/// system's.
pub async fn probe(
    resolver: &TokioResolver,
    email: &str,
    ca_file: Option<&Path>,
) -> Result<Probed, String> {
    let Some(domain) = discover::domain_of(email) else {
        return Ok(Probed::default());
    };
    let domain = domain.to_ascii_lowercase();
    let tls = crate::net::tls_config(ca_file).map_err(|e| e.to_string())?;
    let ca_pem = match ca_file {
        Some(p) => Some(std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    let ctx = Ctx {
        resolver,
        tls,
        ca_pem: ca_pem.as_deref(),
    };
    let (imap, smtp) = tokio::join!(
        first_answer(&ctx, candidates(&domain, Kind::Imap), Kind::Imap),
        first_answer(&ctx, candidates(&domain, Kind::Smtp), Kind::Smtp),
    );
    let (incoming, pop3) = match imap {
        Some(s) => (Some(s), false),
        None => (
            first_answer(&ctx, candidates(&domain, Kind::Pop3), Kind::Pop3).await,
            true,
        ),
    };
    let mut lines = Vec::new();
    let Some((incoming, caps)) = incoming else {
        return Ok(Probed {
            found: None,
            lines: vec![format!(
                "no IMAP or POP3 server answers at the usual names of {domain}"
            )],
        });
    };
    let name = if pop3 { "pop3" } else { "imap" };
    lines.push(answered(name, &incoming, &caps));
    if let Some((s, caps)) = &smtp {
        lines.push(answered("smtp", s, caps));
    }
    Ok(Probed {
        found: Some(Found {
            source: format!("the usual host names of {domain} (each one answered)"),
            incoming,
            pop3,
            smtp: smtp.map(|(s, _)| s),
            username: None,
            save_sent: true,
            note: None,
            oauth2_only: false,
            oauth2: None,
        }),
        lines,
    })
}

fn answered(kind: &str, s: &Server, caps: &str) -> String {
    format!(
        "{kind} {}:{} ({}) answers: {}",
        s.host,
        s.port,
        s.security,
        sanitize::line(caps)
    )
}

/// What every try needs.
struct Ctx<'a> {
    resolver: &'a TokioResolver,
    tls: Arc<ClientConfig>,
    ca_pem: Option<&'a [u8]>,
}

/// Try every candidate at once; the first (in their order) that answered, and what it said.
async fn first_answer(ctx: &Ctx<'_>, list: Vec<Server>, kind: Kind) -> Option<(Server, String)> {
    let tries = list.iter().map(|s| async move {
        tokio::time::timeout(PROBE_TIMEOUT, try_one(ctx, s, kind))
            .await
            .ok()
            .and_then(Result::ok)
    });
    let answers = join_all(tries).await;
    list.into_iter()
        .zip(answers)
        .find_map(|(s, a)| a.map(|caps| (s, caps)))
}

/// One candidate: Ok with what it offers (a few words), Err when it is not a server of this
/// kind over verified TLS.
async fn try_one(ctx: &Ctx<'_>, s: &Server, kind: Kind) -> Result<String, String> {
    let ip = resolve(ctx.resolver, &s.host).await?;
    let addr = SocketAddr::new(ip, s.port);
    let implicit = s.security == "tls";
    match kind {
        Kind::Smtp => smtp(addr, &s.host, implicit, ctx.ca_pem).await,
        Kind::Imap | Kind::Pop3 => {
            let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
            let text = if kind == Kind::Imap {
                Text::IMAP
            } else {
                Text::POP3
            };
            if implicit {
                let tls = crate::net::start_tls(tcp, &s.host, ctx.tls.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                let mut lines = Lines::new(tls);
                lines.greeting(&text).await?;
                lines.capabilities(&text).await
            } else {
                let mut plain = Lines::new(tcp);
                plain.greeting(&text).await?;
                plain.command(text.starttls, &text).await?;
                // The server says nothing before the handshake: nothing is read ahead.
                let tcp = plain.into_inner()?;
                let tls = crate::net::start_tls(tcp, &s.host, ctx.tls.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                Lines::new(tls).capabilities(&text).await
            }
        }
    }
}

/// The first address of a name, through the discovery's resolver.
async fn resolve(resolver: &TokioResolver, host: &str) -> Result<IpAddr, String> {
    let lookup = resolver
        .lookup_ip(format!("{host}."))
        .await
        .map_err(|e| e.to_string())?;
    lookup
        .iter()
        .next()
        .ok_or_else(|| format!("{host}: no address"))
}

/// An SMTP server's EHLO over verified TLS (implicit, or after STARTTLS), through lettre.
async fn smtp(
    addr: SocketAddr,
    host: &str,
    implicit: bool,
    ca_pem: Option<&[u8]>,
) -> Result<String, String> {
    let mut params = TlsParameters::builder(host.to_string());
    if let Some(pem) = ca_pem {
        params =
            params.add_root_certificate(Certificate::from_pem(pem).map_err(|e| e.to_string())?);
    }
    let params = params.build_rustls().map_err(|e| e.to_string())?;
    let hello = ClientId::Domain("localhost".into());
    let (tls, later) = if implicit {
        (Some(params), None)
    } else {
        (None, Some(params))
    };
    let mut conn =
        AsyncSmtpConnection::connect_tokio1(addr, Some(PROBE_TIMEOUT), &hello, tls, None)
            .await
            .map_err(|e| e.to_string())?;
    if let Some(params) = later {
        if !conn.can_starttls() {
            conn.abort().await;
            return Err("no STARTTLS".into());
        }
        conn.starttls(params, &hello)
            .await
            .map_err(|e| e.to_string())?;
    }
    let info = conn.server_info();
    let mut words = vec!["EHLO".to_string()];
    let mechs: Vec<String> = [Mechanism::Plain, Mechanism::Login, Mechanism::Xoauth2]
        .into_iter()
        .filter(|m| info.supports_auth_mechanism(*m))
        .map(|m| m.to_string())
        .collect();
    if !mechs.is_empty() {
        words.push(format!("AUTH {}", mechs.join(" ")));
    }
    for ext in [Extension::EightBitMime, Extension::SmtpUtfEight] {
        if info.supports_feature(ext) {
            words.push(ext.to_string());
        }
    }
    let _ = conn.quit().await;
    Ok(words.join(" "))
}

/// The words of a line protocol (IMAP, POP3) a probe needs.
struct Text {
    /// The greeting starts with one of these.
    greetings: &'static [&'static str],
    starttls: &'static str,
    capability: &'static str,
    /// The answer that ends a command, and the one that says yes.
    ends: fn(&str) -> Option<bool>,
    /// A capability list counts when it has one of these words.
    expected: &'static [&'static str],
}

impl Text {
    const IMAP: Text = Text {
        greetings: &["* OK", "* PREAUTH"],
        starttls: "t1 STARTTLS",
        capability: "t2 CAPABILITY",
        ends: |l| {
            let l = l.to_ascii_uppercase();
            let rest = l.strip_prefix("T1 ").or_else(|| l.strip_prefix("T2 "))?;
            Some(rest.starts_with("OK"))
        },
        expected: &["IMAP4REV1", "IMAP4REV2"],
    };
    const POP3: Text = Text {
        greetings: &["+OK"],
        starttls: "STLS",
        capability: "CAPA",
        // A one-line answer ends at once when it is a refusal; CAPA's list ends with ".".
        ends: |l| {
            if l.starts_with("-ERR") {
                Some(false)
            } else if l == "." || l.starts_with("+OK") {
                Some(true)
            } else {
                None
            }
        },
        expected: &["UIDL", "USER", "SASL", "TOP"],
    };
}

/// Hand-written: a probe needs only a greeting and one command of IMAP or POP3 before any
/// login, where the protocol crates want a session (and async-imap's Client has no
/// CAPABILITY before login for an arbitrary stream). Every read is bounded.
struct Lines<S> {
    r: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Lines<S> {
    fn new(s: S) -> Self {
        Lines {
            r: BufReader::new(s),
        }
    }

    async fn line(&mut self) -> Result<String, String> {
        let mut buf = Vec::new();
        (&mut self.r)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .await
            .map_err(|e| e.to_string())?;
        if !buf.ends_with(b"\n") {
            return Err("the connection ended, or a line too long".into());
        }
        Ok(String::from_utf8_lossy(&buf).trim_end().to_string())
    }

    async fn greeting(&mut self, t: &Text) -> Result<(), String> {
        let l = self.line().await?;
        let upper = l.to_ascii_uppercase();
        if t.greetings.iter().any(|g| upper.starts_with(g)) {
            Ok(())
        } else {
            Err(format!("not a greeting: {}", sanitize::line(&l)))
        }
    }

    /// Send a command; the lines before its end, Err when refused.
    async fn command(&mut self, cmd: &str, t: &Text) -> Result<Vec<String>, String> {
        let w = self.r.get_mut();
        w.write_all(format!("{cmd}\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        w.flush().await.map_err(|e| e.to_string())?;
        let mut lines = Vec::new();
        // POP3's CAPA: "+OK" first, then the list to ".".
        let mut listing = cmd == "CAPA";
        for _ in 0..MAX_LINES {
            let l = self.line().await?;
            if listing && l.starts_with("+OK") {
                listing = false;
                continue;
            }
            match (t.ends)(&l) {
                Some(true) => return Ok(lines),
                Some(false) => return Err(format!("{cmd}: {}", sanitize::line(&l))),
                None => lines.push(l),
            }
        }
        Err(format!("{cmd}: no end to the answer"))
    }

    /// The capabilities, when they are those of the protocol.
    async fn capabilities(&mut self, t: &Text) -> Result<String, String> {
        let words: Vec<String> = self
            .command(t.capability, t)
            .await?
            .iter()
            .map(|l| l.trim_start_matches("* CAPABILITY ").to_string())
            .collect();
        let all = words.join(" ");
        let upper = all.to_ascii_uppercase();
        if t.expected.iter().any(|w| upper.contains(w)) {
            Ok(all)
        } else {
            Err(format!(
                "not the capabilities expected: {}",
                sanitize::line(&all)
            ))
        }
    }

    fn into_inner(self) -> Result<S, String> {
        if !self.r.buffer().is_empty() {
            return Err("the server spoke before the TLS handshake".into());
        }
        Ok(self.r.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_names_are_tried_implicit_tls_first() {
        let imap: Vec<String> = candidates("ex.org", Kind::Imap)
            .iter()
            .map(|s| format!("{}:{}:{}", s.host, s.port, s.security))
            .collect();
        assert_eq!(
            imap,
            [
                "imap.ex.org:993:tls",
                "mail.ex.org:993:tls",
                "ex.org:993:tls",
                "imap.ex.org:143:starttls",
                "mail.ex.org:143:starttls",
                "ex.org:143:starttls"
            ]
        );
        let smtp = candidates("ex.org", Kind::Smtp);
        assert_eq!(smtp[0].host, "smtp.ex.org");
        assert_eq!(smtp[0].port, 465);
        assert_eq!(smtp[3].port, 587);
    }

    #[test]
    fn answers_end_where_the_protocol_says() {
        assert_eq!((Text::IMAP.ends)("t2 OK done"), Some(true));
        assert_eq!((Text::IMAP.ends)("T1 BAD no"), Some(false));
        assert_eq!((Text::IMAP.ends)("* CAPABILITY IMAP4rev1"), None);
        assert_eq!((Text::POP3.ends)("-ERR no"), Some(false));
        assert_eq!((Text::POP3.ends)("."), Some(true));
        assert_eq!((Text::POP3.ends)("UIDL"), None);
    }
}
