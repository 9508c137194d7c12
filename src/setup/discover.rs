//! Where an address's servers are: the provider's own autoconfig file (Thunderbird's format,
//! the one most providers and ISPs publish), then the provider list shipped in
//! `assets/providers.toml`. What is found is only a guess until `tern setup` logged in.

use std::time::Duration;

use serde::Deserialize;

/// How long one autoconfig request may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(8);
/// An autoconfig file larger than this is not one.
const MAX_AUTOCONFIG: usize = 256 * 1024;

/// One server, as found.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Server {
    pub host: String,
    pub port: u16,
    /// "tls" or "starttls" (a source offering plain text is not taken).
    pub security: String,
}

/// What an address's servers are, and where that was learnt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where from, for the user ("autoconfig https://...", "tern's provider list: Gmail").
    pub source: String,
    /// The incoming server: IMAP (preferred) or POP3.
    pub incoming: Server,
    pub pop3: bool,
    pub smtp: Option<Server>,
    /// The login name, when it is not the address.
    pub username: Option<String>,
    /// The provider files sent mail itself.
    pub save_sent: bool,
    /// What the user must know (an app password, OAuth2 only...).
    pub note: Option<String>,
    /// The provider takes OAuth2 only.
    pub oauth2_only: bool,
    /// Where the provider's OAuth2 endpoints are, when known.
    pub oauth2: Option<OAuth2Found>,
}

/// A provider's OAuth2 endpoints: one of tern's presets, or as its autoconfig file gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuth2Found {
    Preset(String),
    Endpoints {
        auth_url: String,
        token_url: String,
        scopes: Vec<String>,
    },
}

#[derive(Debug, Deserialize)]
struct Providers {
    provider: Vec<Provider>,
}

#[derive(Debug, Deserialize)]
struct Provider {
    name: String,
    domains: Vec<String>,
    imap: Server,
    smtp: Server,
    auth: String,
    #[serde(default = "yes")]
    save_sent: bool,
    note: Option<String>,
    /// "local": the login is the address's local part.
    username: Option<String>,
    /// What its MX hosts end with (a custom domain it hosts).
    #[serde(default)]
    mx: Vec<String>,
    /// Its OAuth2 preset (config::OAUTH2_PRESETS), if it takes OAuth2.
    oauth2: Option<String>,
}

fn yes() -> bool {
    true
}

const PROVIDERS: &str = include_str!("../../assets/providers.toml");

fn providers() -> Vec<Provider> {
    let list: Providers = toml::from_str(PROVIDERS).expect("assets/providers.toml parses");
    list.provider
}

/// The shipped provider list's entry for this address's domain.
pub fn from_providers(email: &str) -> Option<Found> {
    let domain = domain_of(email)?.to_ascii_lowercase();
    let p = providers()
        .into_iter()
        .find(|p| p.domains.contains(&domain))?;
    Some(found_at(p, email))
}

/// The provider whose mail hosts these MX hosts are (a custom domain it hosts).
pub fn from_mx_hosts(hosts: &[String]) -> Option<Found> {
    let p = providers().into_iter().find(|p| {
        hosts
            .iter()
            .any(|h| p.mx.iter().any(|m| h == m || h.ends_with(&format!(".{m}"))))
    })?;
    // The login is the whole address on a custom domain.
    Some(found_at(p, ""))
}

/// A provider's servers for an address.
fn found_at(p: Provider, email: &str) -> Found {
    Found {
        source: format!("tern's provider list: {}", p.name),
        incoming: p.imap,
        pop3: false,
        smtp: Some(p.smtp),
        username: (p.username.as_deref() == Some("local") && !email.is_empty())
            .then(|| email.split('@').next().unwrap_or(email).to_string()),
        save_sent: p.save_sent,
        oauth2_only: p.auth == "oauth2",
        oauth2: p.oauth2.map(OAuth2Found::Preset),
        note: p.note,
    }
}

/// The domain of an address.
pub fn domain_of(email: &str) -> Option<&str> {
    email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
}

/// The places a provider's autoconfig file may be (Thunderbird's order), unless one is given.
pub fn autoconfig_urls(email: &str, given: Option<&str>) -> Vec<String> {
    if let Some(url) = given {
        return vec![url.to_string()];
    }
    let Some(domain) = domain_of(email) else {
        return Vec::new();
    };
    vec![
        format!("https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={email}"),
        format!("https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml"),
    ]
}

/// Fetch an autoconfig file (TLS verified against the system roots and `ca_file`); names
/// resolved by `dns` when given (a DNS server the user named), else by the system.
pub async fn fetch(
    url: &str,
    ca_file: Option<&std::path::Path>,
    dns: Option<super::dns::ForHttp>,
) -> Result<String, String> {
    let tls = crate::net::tls_config(ca_file).map_err(|e| e.to_string())?;
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(HTTP_TIMEOUT);
    if let Some(dns) = dns {
        builder = builder.dns_resolver(dns);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| crate::net::with_causes(&e))?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| crate::net::with_causes(&e))?;
    if body.len() > MAX_AUTOCONFIG {
        return Err("larger than an autoconfig file can be".into());
    }
    String::from_utf8(body.to_vec()).map_err(|_| "not UTF-8".into())
}

/// Read an autoconfig file (`clientConfig`) for this address: its first IMAP server with TLS
/// (else POP3), and its first SMTP server with TLS. Servers offering only plain text are left
/// out; so are OAuth2-only ones (said in the note).
pub fn parse_autoconfig(xml: &str, email: &str, source: &str) -> Result<Found, String> {
    let doc =
        roxmltree::Document::parse(xml).map_err(|e| format!("not an autoconfig file: {e}"))?;
    let provider = doc
        .descendants()
        .find(|n| n.has_tag_name("emailProvider"))
        .ok_or("not an autoconfig file: no emailProvider")?;
    let servers = |tag: &str, kind: &str| -> Vec<(Server, Option<String>, bool)> {
        provider
            .children()
            .filter(|n| n.has_tag_name(tag) && n.attribute("type") == Some(kind))
            .filter_map(|n| server_of(n, email))
            .collect()
    };
    let imap = servers("incomingServer", "imap");
    let pop3 = servers("incomingServer", "pop3");
    let (incoming, pop3_used, username, oauth2) = match (imap.first(), pop3.first()) {
        (Some((s, u, o)), _) => (s.clone(), false, u.clone(), *o),
        (None, Some((s, u, o))) => (s.clone(), true, u.clone(), *o),
        (None, None) => {
            return Err("the autoconfig file names no IMAP or POP3 server with TLS".into());
        }
    };
    let smtp = servers("outgoingServer", "smtp").into_iter().next();
    let oauth2_only = oauth2 || smtp.as_ref().is_some_and(|(_, _, o)| *o);
    Ok(Found {
        source: format!("autoconfig {source}"),
        incoming,
        pop3: pop3_used,
        smtp: smtp.map(|(s, _, _)| s),
        username: username.filter(|u| u != email),
        save_sent: true,
        note: oauth2_only.then(|| "the provider accepts only OAuth2".to_string()),
        oauth2_only,
        oauth2: oauth2_of(&doc),
    })
}

/// An autoconfig file's `<oAuth2>` element (Thunderbird's format): its endpoints, when both
/// are HTTPS (or loopback).
fn oauth2_of(doc: &roxmltree::Document<'_>) -> Option<OAuth2Found> {
    let o = doc.descendants().find(|n| n.has_tag_name("oAuth2"))?;
    let text = |tag: &str| {
        o.children()
            .find(|c| c.has_tag_name(tag))
            .and_then(|c| c.text())
            .map(|t| t.trim().to_string())
    };
    let (auth_url, token_url) = (text("authURL")?, text("tokenURL")?);
    if !crate::config::endpoint_ok(&auth_url) || !crate::config::endpoint_ok(&token_url) {
        return None;
    }
    let scopes = text("scope")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    Some(OAuth2Found::Endpoints {
        auth_url,
        token_url,
        scopes,
    })
}

/// One `incomingServer`/`outgoingServer`: the server, its login, whether it wants OAuth2 only.
fn server_of(n: roxmltree::Node<'_, '_>, email: &str) -> Option<(Server, Option<String>, bool)> {
    let text = |tag: &str| {
        n.children()
            .find(|c| c.has_tag_name(tag))
            .and_then(|c| c.text())
            .map(|t| t.trim().to_string())
    };
    let security = match text("socketType")?.to_ascii_uppercase().as_str() {
        "SSL" | "TLS" => "tls",
        "STARTTLS" => "starttls",
        _ => return None, // plain text: never offered
    };
    let host = text("hostname").filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))?;
    let port = text("port")?.parse().ok()?;
    let auths: Vec<String> = n
        .children()
        .filter(|c| c.has_tag_name("authentication"))
        .filter_map(|c| c.text().map(|t| t.trim().to_ascii_lowercase()))
        .collect();
    let oauth2 = !auths.is_empty() && auths.iter().all(|a| a == "oauth2");
    let username = text("username").map(|u| placeholders(&u, email));
    Some((
        Server {
            host: placeholders(&host, email),
            port,
            security: security.into(),
        },
        username,
        oauth2,
    ))
}

/// Thunderbird's placeholders: %EMAILADDRESS%, %EMAILLOCALPART%, %EMAILDOMAIN%.
fn placeholders(s: &str, email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    s.replace("%EMAILADDRESS%", email)
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.org">
    <domain>example.org</domain>
    <incomingServer type="pop3">
      <hostname>pop.example.org</hostname><port>995</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.example.org</hostname><port>143</port><socketType>plain</socketType>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.org</hostname><port>587</port><socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>"#;

    #[test]
    fn autoconfig_gives_the_first_imap_server_with_tls_and_fills_placeholders() {
        let f = parse_autoconfig(XML, "ann@example.org", "https://x").unwrap();
        assert_eq!(
            f.incoming,
            Server {
                host: "imap.example.org".into(),
                port: 993,
                security: "tls".into()
            }
        );
        assert!(!f.pop3);
        assert_eq!(f.username.as_deref(), Some("ann"));
        assert_eq!(f.smtp.unwrap().security, "starttls");
        assert!(!f.oauth2_only);
        assert_eq!(f.source, "autoconfig https://x");
    }

    #[test]
    fn broken_or_plain_text_autoconfig_is_refused() {
        assert!(parse_autoconfig("<html>nope", "a@b.c", "u").is_err());
        assert!(parse_autoconfig("<clientConfig/>", "a@b.c", "u").is_err());
        let plain = XML.replace("SSL", "plain");
        let e = parse_autoconfig(&plain, "a@b.c", "u").unwrap_err();
        assert!(e.contains("no IMAP or POP3 server with TLS"), "{e}");
    }

    #[test]
    fn an_oauth2_only_provider_says_so() {
        let xml = XML.replace(
            "<authentication>password-cleartext</authentication>",
            "<authentication>OAuth2</authentication>",
        );
        let f = parse_autoconfig(&xml, "ann@example.org", "u").unwrap();
        assert!(f.oauth2_only);
    }

    #[test]
    fn the_provider_list_knows_the_big_ones_and_their_quirks() {
        let g = from_providers("someone@GMAIL.com").unwrap();
        assert_eq!(g.incoming.host, "imap.gmail.com");
        assert!(!g.save_sent);
        assert!(g.note.unwrap().contains("app password"));
        let m = from_providers("x@outlook.com").unwrap();
        assert!(m.oauth2_only);
        let i = from_providers("kim@icloud.com").unwrap();
        assert_eq!(i.username.as_deref(), Some("kim"));
        assert!(from_providers("a@example.test").is_none());
        let w = from_mx_hosts(&["aspmx.l.google.com".into()]).unwrap();
        assert_eq!(w.incoming.host, "imap.gmail.com");
        assert!(from_mx_hosts(&["mx.example.test".into(), "notgoogle.com".into()]).is_none());
        assert_eq!(
            autoconfig_urls("a@example.org", None)[0],
            "https://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=a@example.org"
        );
    }
}
