//! An account's `[account.oauth2]` table: how tern gets access tokens for IMAP and SMTP
//! (XOAUTH2 / OAUTHBEARER) instead of a password. The flows and the token store are in
//! [`crate::oauth`]; this is only the validated settings and the providers' presets.

use std::path::PathBuf;

use super::{PasswordSource, Secret};

/// OAuth2 for an account, as validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Config {
    /// The account's name (tokens are kept under it).
    pub account: String,
    /// The address, given to the provider as a login hint.
    pub email: String,
    /// Where the tokens are kept when there is no keyring: `<data_dir>/oauth2/<account>.json`.
    pub token_file: PathBuf,
    /// `google`, `microsoft`, or None for endpoints given in full.
    pub provider: Option<String>,
    pub client_id: String,
    /// Only for providers that want one (Google's "desktop app" clients do).
    pub client_secret: Option<Secret>,
    pub auth_url: String,
    pub token_url: String,
    /// For the device-code flow (`tern setup --device`); None: the provider has none.
    pub device_url: Option<String>,
    pub scopes: Vec<String>,
    /// An external broker: run with `sh -c`, its first line is the access token (then
    /// nothing else here is used).
    pub token_command: Option<String>,
}

impl PasswordSource {
    /// The account's OAuth2 settings, when it logs in with tokens.
    pub fn oauth2(&self) -> Option<&OAuth2Config> {
        match self {
            PasswordSource::OAuth2(c) => Some(c),
            _ => None,
        }
    }
}

/// A provider's endpoints and scopes.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    pub auth_url: &'static str,
    pub token_url: &'static str,
    pub device_url: Option<&'static str>,
    pub scopes: &'static [&'static str],
}

/// The providers tern knows the endpoints of. Google's device flow does not allow the mail
/// scope, so it has none here.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "google",
        auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
        token_url: "https://oauth2.googleapis.com/token",
        device_url: None,
        scopes: &["https://mail.google.com/"],
    },
    Preset {
        name: "microsoft",
        auth_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        device_url: Some("https://login.microsoftonline.com/common/oauth2/v2.0/devicecode"),
        scopes: &[
            "https://outlook.office.com/IMAP.AccessAsUser.All",
            "https://outlook.office.com/SMTP.Send",
            "offline_access",
        ],
    },
];

/// The preset of this name.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// Whether an endpoint may be used: HTTPS, or plain HTTP to this machine only (a local
/// broker or test server; RFC 8252 allows loopback).
pub fn endpoint_ok(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_endpoints() {
        assert!(endpoint_ok("https://login.example.com/token"));
        assert!(endpoint_ok("http://127.0.0.1:8080/token"));
        assert!(endpoint_ok("http://[::1]:80/t"));
        assert!(endpoint_ok("http://localhost/t"));
        assert!(!endpoint_ok("http://login.example.com/token"));
        assert!(!endpoint_ok("http://127.0.0.1.evil.example/token"));
        assert!(!endpoint_ok("ftp://127.0.0.1/"));
        assert!(preset("microsoft").unwrap().device_url.is_some());
    }
}
