//! A server's certificate that no CA vouches for, trusted by its fingerprint: `tern setup`
//! offers it for a server on this computer (Proton Bridge: STARTTLS on 127.0.0.1 with a
//! certificate of its own), never for a remote one (there, `ca_file` is the way).

use std::net::IpAddr;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::commands::check::Outcome;
use crate::config::{AccountConfig, Fingerprint, Security, ServerConfig};
use crate::net::{self, CONNECT_TIMEOUT, NetError};

/// Whether `host` is this computer.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a failed check was a certificate no trusted CA signed.
fn untrusted(outcome: &Outcome) -> bool {
    outcome
        .result
        .as_ref()
        .is_err_and(|e| e.contains("UnknownIssuer"))
}

fn server_of<'a>(account: &'a AccountConfig, protocol: &str) -> Option<&'a ServerConfig> {
    match protocol {
        "imap" => account.imap.as_ref(),
        "pop3" => account.pop3.as_ref(),
        _ => account.smtp.as_ref(),
    }
}

/// The fingerprint to offer when the check failed on certificates no CA vouches for, all of
/// loopback servers showing the same one; each reason not to offer one is said.
pub async fn offer(
    account: &AccountConfig,
    outcomes: &[Outcome],
    say: &mut impl FnMut(String),
) -> Option<Fingerprint> {
    let refused: Vec<&ServerConfig> = outcomes
        .iter()
        .filter(|o| untrusted(o))
        .filter_map(|o| server_of(account, o.protocol))
        .collect();
    if refused.is_empty() {
        return None;
    }
    if let Some(remote) = refused.iter().find(|s| !is_loopback(&s.host)) {
        say(crate::domain::sanitize::line(&format!(
            "{}: no CA this computer trusts signed its certificate: if the server has its own \
             CA, run tern setup again with --ca-file CA.pem (tern offers to trust a certificate \
             by its fingerprint only for a server on this computer)",
            remote.host
        )));
        return None;
    }
    let mut seen: Option<Fingerprint> = None;
    for s in &refused {
        let f = match fingerprint(s).await {
            Ok(f) => f,
            Err(e) => {
                say(crate::domain::sanitize::line(&format!(
                    "{}:{}: its certificate: {e}",
                    s.host, s.port
                )));
                return None;
            }
        };
        if seen.is_some_and(|prev| prev != f) {
            say(
                "the servers show different certificates: set tls_fingerprint in each \
                 server's table by hand"
                    .into(),
            );
            return None;
        }
        seen = Some(f);
    }
    let f = seen?;
    let addrs: Vec<String> = refused
        .iter()
        .map(|s| format!("{}:{}", s.host, s.port))
        .collect();
    // Host names come from an autoconfig file or DNS: sanitised like all outside text.
    say(crate::domain::sanitize::line(&format!(
        "{} on this computer: its certificate is signed by no CA this computer trusts; its \
         fingerprint is {f}",
        addrs.join(" and ")
    )));
    Some(f)
}

/// The SHA-256 fingerprint of the certificate `server` shows (after STARTTLS when it uses it).
/// The handshake is not completed: nothing is sent over it.
pub async fn fingerprint(server: &ServerConfig) -> Result<Fingerprint, String> {
    let mut tcp = net::connect_tcp(&server.host, server.port)
        .await
        .map_err(|e| e.to_string())?;
    if server.security == Security::StartTls {
        net::timed(CONNECT_TIMEOUT, "STARTTLS", starttls(server, &mut tcp))
            .await
            .map_err(|e| e.to_string())?;
    }
    // A verifier that accepts no certificate: its refusal names the one it was shown.
    let config = net::pinned_tls_config(Fingerprint([0; 32])).map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(server.host.clone())
        .map_err(|_| format!("invalid server name `{}`", server.host))?;
    let handshake = tokio_rustls::TlsConnector::from(Arc::clone(&config)).connect(name, tcp);
    let e = match tokio::time::timeout(CONNECT_TIMEOUT, handshake).await {
        Err(_) => return Err("the TLS handshake timed out".into()),
        Ok(Ok(_)) => return Err("the server's certificate was not shown".into()),
        Ok(Err(e)) => e,
    };
    let shown = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .and_then(|r| match r {
            rustls::Error::InvalidCertificate(c) => net::pinned::mismatch(c).map(|m| m.got),
            _ => None,
        });
    shown.ok_or_else(|| format!("the TLS handshake failed: {e}"))
}

/// The plain-text start of the protocol up to the server's go-ahead for TLS.
async fn starttls(server: &ServerConfig, tcp: &mut TcpStream) -> Result<(), NetError> {
    let fail = |reason: String| NetError::Tls {
        host: server.host.clone(),
        reason,
    };
    let mut io = BufReader::new(tcp);
    let steps: &[(&str, &str)] = match server.protocol {
        crate::config::Protocol::Imap => &[("", "* "), ("a STARTTLS\r\n", "a ")],
        crate::config::Protocol::Pop3 => &[("", "+OK"), ("STLS\r\n", "+OK")],
        crate::config::Protocol::Smtp => &[
            ("", "220 "),
            ("EHLO tern\r\n", "250 "),
            ("STARTTLS\r\n", "220 "),
        ],
    };
    for (send, last) in steps {
        if !send.is_empty() {
            io.write_all(send.as_bytes())
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        // Lines up to the one that ends the answer (a multi-line SMTP reply, IMAP's untagged
        // lines before the tagged one), bounded in number.
        let mut line = String::new();
        for _ in 0..100 {
            line.clear();
            if io
                .read_line(&mut line)
                .await
                .map_err(|e| fail(e.to_string()))?
                == 0
            {
                return Err(fail("the server closed the connection".into()));
            }
            if line.starts_with(last) || line.starts_with('-') {
                break;
            }
        }
        let ok = line.starts_with(last) && !line.starts_with("a NO") && !line.starts_with("a BAD");
        if !ok {
            let said = crate::domain::sanitize::line(line.trim_end());
            return Err(fail(format!("STARTTLS refused: {said}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_computer_is_loopback() {
        for host in [
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "imap.example.com",
            "10.0.0.1",
            "192.168.1.2",
            "localhost.example.com",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[tokio::test]
    async fn a_remote_servers_certificate_is_never_offered() {
        let text = "data_dir = \"/nonexistent\"\n[[account]]\nname = \"a\"\n\
                    email = \"a@example.com\"\n[account.imap]\nhost = \"mail.example.com\"\n";
        let cfg = crate::config::Config::parse(text, std::path::Path::new("t.toml")).unwrap();
        let outcome = Outcome {
            account: "a".into(),
            protocol: "imap",
            addr: "mail.example.com:993".into(),
            result: Err("TLS error: invalid peer certificate: UnknownIssuer".into()),
        };
        let mut said = Vec::new();
        // No connection is tried: the answer comes before any.
        let offered = offer(&cfg.accounts[0], &[outcome], &mut |l| said.push(l)).await;
        assert_eq!(offered, None);
        assert!(
            said[0].starts_with("mail.example.com: no CA") && said[0].contains("--ca-file"),
            "{said:?}"
        );
    }
}
