//! `tern check --connect`: run each account's password commands and log in to every server it
//! names (with the engines' own connect and login code, every step under its timeout), then
//! say in one line per server whether it worked and, when not, what to change.

use crate::config::{AccountConfig, Config, PasswordSource, ServerConfig};
use crate::sync::{ErrorKind, SyncError};

/// The IMAP extensions worth naming (what tern uses or notices).
const IMAP_CAPS: &[&str] = &[
    "CONDSTORE",
    "QRESYNC",
    "MOVE",
    "UIDPLUS",
    "IDLE",
    "SPECIAL-USE",
    "COMPRESS=DEFLATE",
    "LITERAL+",
    "UTF8=ACCEPT",
];

/// The POP3 capabilities worth naming.
const POP3_CAPS: &[&str] = &["UIDL", "TOP", "PIPELINING", "STLS", "UTF8", "RESP-CODES"];

/// Separates an error from what to do about it, in every line tern prints.
pub const HINT: &str = " — hint: ";

/// What one server check came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub account: String,
    pub protocol: &'static str,
    pub addr: String,
    /// Ok: the capabilities; Err: the error, with a hint when there is one.
    pub result: Result<String, String>,
}

impl Outcome {
    /// `work: imap host:993 ok (IDLE MOVE)` or `work: smtp host:587 FAILED: ... — hint: ...`.
    pub fn line(&self) -> String {
        let head = format!("{}: {} {}", self.account, self.protocol, self.addr);
        match &self.result {
            Ok(caps) if caps.is_empty() => format!("{head} ok"),
            Ok(caps) => format!("{head} ok ({caps})"),
            Err(e) => format!("{head} FAILED: {e}"),
        }
    }
}

/// Check every server of every account, printing each line as it is known. True when all
/// of them worked.
pub async fn check_connect(cfg: &Config) -> bool {
    let mut ok = true;
    for account in &cfg.accounts {
        for outcome in check_account(account).await {
            println!("{}", outcome.line());
            ok &= outcome.result.is_ok();
        }
    }
    ok
}

/// The incoming server (IMAP or POP3), then SMTP.
pub async fn check_account(account: &AccountConfig) -> Vec<Outcome> {
    let mut out = Vec::new();
    let outcome = |protocol, server: &ServerConfig, result| Outcome {
        account: account.name.clone(),
        protocol,
        addr: format!("{}:{}", server.host, server.port),
        result,
    };
    if let Some(server) = &account.imap {
        out.push(outcome("imap", server, check_imap(account).await));
    }
    if let Some(server) = &account.pop3 {
        out.push(outcome("pop3", server, check_pop3(account).await));
    }
    if let Some(server) = &account.smtp {
        let result = match crate::send::smtp_password(account).await {
            Err(e) if server.password.oauth2().is_some() => Err(token_failed(&e)),
            Err(e) => Err(password_failed(&server.password, &e)),
            Ok(password) => crate::send::smtp::probe(server, password.as_ref())
                .await
                .map_err(|e| with_hint(None, &e)),
        };
        out.push(outcome("smtp", server, result));
    }
    out
}

async fn check_imap(account: &AccountConfig) -> Result<String, String> {
    let password = crate::sync::pass::resolve_password(account)
        .await
        .map_err(|e| credential_failed(account, &e.message))?;
    let imap = crate::sync::pass::connect_with(account, password.as_ref())
        .await
        .map_err(|e| sync_failed(&e))?;
    let caps: Vec<&str> = IMAP_CAPS
        .iter()
        .copied()
        .filter(|c| imap.caps.has(c))
        .collect();
    imap.logout().await;
    Ok(caps.join(" "))
}

async fn check_pop3(account: &AccountConfig) -> Result<String, String> {
    let password = crate::sync::pass::resolve_password(account)
        .await
        .map_err(|e| credential_failed(account, &e.message))?;
    let pop = crate::pop3::fetch::connect_with(account, password.as_ref())
        .await
        .map_err(|e| sync_failed(&e))?;
    let caps = pop.capabilities();
    let mut names: Vec<String> = POP3_CAPS
        .iter()
        .filter(|c| caps.has(c))
        .map(|c| c.to_string())
        .collect();
    let sasl = caps.args("SASL").join(" ");
    if !sasl.is_empty() {
        names.push(format!("SASL {sasl}"));
    }
    let _ = pop.quit().await;
    Ok(names.join(" "))
}

/// The password or token of the incoming server could not be had.
fn credential_failed(account: &AccountConfig, e: &str) -> String {
    let server = account.imap.as_ref().or(account.pop3.as_ref());
    match server {
        Some(s) if s.password.oauth2().is_some() => token_failed(e),
        Some(s) => password_failed(&s.password, e),
        None => password_failed(&PasswordSource::None, e),
    }
}

/// No OAuth2 token: its text says what to do (sign in again, or the provider is away).
fn token_failed(e: &str) -> String {
    format!("the OAuth2 token: {}", crate::domain::sanitize::line(e))
}

fn password_failed(source: &PasswordSource, e: &str) -> String {
    let e = crate::domain::sanitize::line(e);
    if let PasswordSource::Keyring { .. } = source {
        // A keyring error says what to do itself (store it, unlock the keyring).
        return format!("the password: {e}");
    }
    format!(
        "the password: {e}{HINT}check password_command (run it in a shell: it must print the \
         password on its first line)"
    )
}

fn sync_failed(e: &SyncError) -> String {
    with_hint(Some(e.kind), &e.to_string())
}

/// `text`, with what to change when it does not say so already.
pub fn with_hint(kind: Option<ErrorKind>, text: &str) -> String {
    let text = crate::domain::sanitize::line(text);
    if text.contains(HINT) {
        return text;
    }
    match hint(kind, &text) {
        Some(h) => format!("{text}{HINT}{h}"),
        None => text,
    }
}

/// What to change, guessed from the kind of error (IMAP, POP3) or its text (SMTP).
fn hint(kind: Option<ErrorKind>, text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    let auth = kind == Some(ErrorKind::Auth)
        || lower.contains("authentication")
        || lower.contains("535")
        || lower.contains("refused the login");
    let network = kind == Some(ErrorKind::Network)
        || kind == Some(ErrorKind::Tls)
        || [
            "connection refused",
            "cannot connect",
            "connection error",
            "timed out",
            "no answer",
            "starttls",
            "stls",
            "tls",
            "resolve",
        ]
        .iter()
        .any(|w| lower.contains(w));
    if auth && lower.contains("oauth2") {
        Some("sign in again with `tern setup --reauth ACCOUNT`, or check the client id's scopes")
    } else if auth {
        Some("check username and password (or password_command) for this server")
    } else if network {
        Some(
            "check host, port and security (\"tls\" for ports 993/995/465, \"starttls\" for \
             143/110/587)",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_carry_one_hint() {
        let e = with_hint(
            Some(ErrorKind::Auth),
            "authentication failed: host refused the login for me: NO [AUTHENTICATIONFAILED]",
        );
        assert!(e.ends_with("check username and password (or password_command) for this server"));
        let e = with_hint(
            None,
            "connecting to h:587: connection error: Connection refused",
        );
        assert!(e.contains("check host, port and security"), "{e}");
        let already = "TLS error: invalid peer certificate: UnknownIssuer — hint: set ca_file";
        assert_eq!(with_hint(Some(ErrorKind::Tls), already), already);
        let line = Outcome {
            account: "work".into(),
            protocol: "imap",
            addr: "h:993".into(),
            result: Ok("IDLE MOVE".into()),
        }
        .line();
        assert_eq!(line, "work: imap h:993 ok (IDLE MOVE)");
    }
}
