//! The `[account.oauth2]` table: a provider preset or endpoints in full, a client id, or an
//! external `token_command`; and the account's other keys that do not go with it.

use std::path::Path;
use std::sync::Arc;

use toml::Spanned;

use super::super::oauth2::{OAuth2Config, PRESETS, endpoint_ok, preset};
use super::super::raw::{RawAccount, RawOAuth2};
use super::super::{PasswordSource, Secret, ServerConfig, oauth2::Preset};
use super::Cx;

/// The account's servers, logging in with its tokens when it has `[account.oauth2]`.
pub(super) fn with_tokens(
    oauth2: Option<Arc<OAuth2Config>>,
    imap: Option<ServerConfig>,
    smtp: Option<ServerConfig>,
) -> (Option<ServerConfig>, Option<ServerConfig>) {
    let with = |s: Option<ServerConfig>| {
        s.map(|mut s| {
            if let Some(o) = &oauth2 {
                s.password = PasswordSource::OAuth2(Arc::clone(o));
            }
            s
        })
    };
    (with(imap), with(smtp))
}

impl Cx<'_> {
    /// The account's `[account.oauth2]`, taken out of `raw`: Some(None) when it has none,
    /// None when it has errors (said). Its password keys are then not checked again by
    /// server.
    pub(super) fn account_oauth2(
        &mut self,
        raw: &mut RawAccount,
        name: &str,
        email: &str,
        data_dir: Option<&Path>,
    ) -> Option<Option<Arc<OAuth2Config>>> {
        let Some(o) = raw.oauth2.take() else {
            return Some(None);
        };
        let before = self.errors.len();
        let c = self.oauth2(raw, o, name, email, data_dir);
        raw.password = None;
        raw.password_command = None;
        raw.password_keyring = None;
        (self.errors.len() == before).then(|| c.map(Arc::new))
    }

    /// The account's OAuth2 settings; errors for what is missing or does not go with it.
    pub(super) fn oauth2(
        &mut self,
        account: &RawAccount,
        raw: Spanned<RawOAuth2>,
        name: &str,
        email: &str,
        data_dir: Option<&Path>,
    ) -> Option<OAuth2Config> {
        let before = self.errors.len();
        let span = raw.span();
        let raw = raw.into_inner();
        self.not_with_oauth2(account);
        let preset = self.preset_of(&raw.provider);
        let token_command = raw
            .token_command
            .as_ref()
            .map(|c| c.get_ref().trim().to_string());
        if let Some(c) = &raw.token_command
            && c.get_ref().trim().is_empty()
        {
            self.err(c.span(), "token_command is empty");
        }
        let auth_url = self.endpoint("auth_url", &raw.auth_url, preset.map(|p| p.auth_url));
        let token_url = self.endpoint("token_url", &raw.token_url, preset.map(|p| p.token_url));
        let device_url = self.endpoint(
            "device_url",
            &raw.device_url,
            preset.and_then(|p| p.device_url),
        );
        let client_id = raw
            .client_id
            .as_ref()
            .map(|c| c.get_ref().trim().to_string())
            .filter(|c| !c.is_empty());
        if token_command.is_none() {
            if client_id.is_none() {
                self.err(
                    raw.client_id.as_ref().map_or(span.clone(), |c| c.span()),
                    "[account.oauth2] needs a client_id (register one with the provider: see \
                     README, OAuth2), or a token_command",
                );
            }
            if raw.provider.is_none() && (raw.auth_url.is_none() || raw.token_url.is_none()) {
                self.err(
                    span.clone(),
                    "[account.oauth2] needs a provider (google, microsoft) or both auth_url \
                     and token_url",
                );
            }
        }
        let scopes = raw.scopes.unwrap_or_else(|| {
            preset
                .map(|p| p.scopes.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default()
        });
        (self.errors.len() == before).then(|| OAuth2Config {
            account: name.to_string(),
            email: email.to_string(),
            token_file: data_dir
                .unwrap_or(Path::new("."))
                .join("oauth2")
                .join(format!("{}.json", file_safe(name))),
            provider: raw.provider.map(|p| p.into_inner()),
            client_id: client_id.unwrap_or_default(),
            client_secret: raw
                .client_secret
                .map(|s| Secret::new(s.into_inner().0))
                .filter(|s| !s.expose().is_empty()),
            auth_url: auth_url.unwrap_or_default(),
            token_url: token_url.unwrap_or_default(),
            device_url,
            scopes,
            token_command,
        })
    }

    /// The preset named by `provider`, if any (an unknown name is said).
    fn preset_of(&mut self, provider: &Option<Spanned<String>>) -> Option<&'static Preset> {
        match provider {
            Some(p) => {
                let found = preset(p.get_ref());
                if found.is_none() {
                    let known: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
                    self.err(
                        p.span(),
                        format!(
                            "unknown OAuth2 provider `{}`, expected one of: {} (or give \
                         auth_url and token_url without a provider)",
                            p.get_ref(),
                            known.join(", ")
                        ),
                    );
                }
                found
            }
            None => None,
        }
    }

    /// An endpoint as given (HTTPS, or HTTP to this machine), else the preset's.
    fn endpoint(
        &mut self,
        key: &str,
        given: &Option<Spanned<String>>,
        default: Option<&str>,
    ) -> Option<String> {
        match given {
            Some(u) if !endpoint_ok(u.get_ref()) => {
                self.err(
                    u.span(),
                    format!(
                        "{key} must be an https:// address (plain http only to this machine: \
                         127.0.0.1, [::1] or localhost)"
                    ),
                );
                None
            }
            Some(u) => Some(u.get_ref().clone()),
            None => default.map(str::to_string),
        }
    }

    /// A password set anywhere on an OAuth2 account is a mistake, and so is POP3: said where
    /// they are.
    fn not_with_oauth2(&mut self, account: &RawAccount) {
        if let Some(pop3) = &account.pop3 {
            self.err(
                pop3.span(),
                "OAuth2 is for IMAP and SMTP; a POP3 account logs in with a password",
            );
        }
        let servers = [&account.imap, &account.smtp];
        let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
        spans.extend(account.password.as_ref().map(|p| p.span()));
        spans.extend(account.password_command.as_ref().map(|p| p.span()));
        spans.extend(account.password_keyring.as_ref().map(|p| p.span()));
        for s in servers.into_iter().flatten() {
            spans.extend(s.get_ref().password.as_ref().map(|p| p.span()));
            spans.extend(s.get_ref().password_command.as_ref().map(|p| p.span()));
            spans.extend(s.get_ref().password_keyring.as_ref().map(|p| p.span()));
        }
        for span in spans {
            self.err(
                span,
                "an account with [account.oauth2] logs in with tokens: remove its password, \
                 password_command and password_keyring",
            );
        }
    }
}

/// An account name as a file name: letters, digits, `-`, `_` and `.` kept, the rest `_`.
fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}
