//! From [`RawConfig`] to [`Config`]: every semantic check, each pointing at its key or value.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::Color;
use toml::Spanned;

use super::raw::{
    Interval, RawAccount, RawConfig, RawLayout, RawNotify, RawNotifyMethod, RawOffline,
    RawSecurity, RawServer,
};
use super::{
    AccountConfig, Config, ConfigError, DEFAULT_ATTACHMENT_LIMIT, DEFAULT_SEND_DELAY, Env,
    FOLDER_ROLES, Layout, NotifyConfig, NotifyMethod, Offline, PasswordSource, Position, Protocol,
    Security, ServerConfig, THEME_ELEMENTS, ThemeConfig,
};
use crate::domain::Role;

mod keys;
mod oauth2;
mod password;

pub(super) fn parse(src: &str, path: &Path, env: &Env) -> Result<Config, ConfigError> {
    let invalid = |span: Option<Range<usize>>, message: &str| ConfigError::Invalid {
        path: path.to_path_buf(),
        position: span.map(|s| Position::at(src, s.start)),
        message: one_line(message),
    };
    let raw: RawConfig = toml::from_str(src).map_err(|e| invalid(e.span(), &toml_message(&e)))?;
    let mut cx = Cx {
        src,
        path,
        env,
        errors: Vec::new(),
    };
    let config = cx.config(raw);
    // Report the first problem in the file.
    match cx.errors.into_iter().min_by_key(|(span, _)| span.start) {
        Some((span, message)) => Err(invalid(Some(span), &message)),
        None => Ok(config),
    }
}

/// toml's message, reworded for config users and prefixed with the key it concerns.
fn toml_message(e: &toml::de::Error) -> String {
    // The dotted key path is only in the Display output, and only without the source text.
    let mut bare = e.clone();
    bare.set_input(None);
    let shown = bare.to_string();
    let keys = shown
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("in `").and_then(|l| l.strip_suffix('`')))
        .unwrap_or("");
    let mut msg = e.message().to_string();
    for (from, to) in [
        ("invalid type: map", "invalid type: table"),
        ("invalid type: sequence", "invalid type: array"),
        ("expected a map", "expected a table"),
        ("expected a sequence", "expected an array"),
        ("expected i64", "expected an integer"),
        ("expected u64", "expected an integer"),
        ("expected a borrowed string", "expected a string"),
    ] {
        msg = msg.replace(from, to);
    }
    if let Some(i) = msg.find("expected struct Raw") {
        msg.truncate(i);
        msg.push_str("expected a table");
    }
    if keys == "account" && msg.contains("expected an array") {
        return "accounts are written [[account]] (double brackets), one per account".into();
    }
    for (field, key) in [
        ("unknown field `", "unknown key `"),
        ("missing field `", "missing key `"),
    ] {
        if let Some(rest) = msg.strip_prefix(field) {
            let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
            let table = if keys.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in [{keys}]")
            };
            return format!("{key}{name}` {table}{tail}");
        }
    }
    if keys.is_empty() {
        msg
    } else {
        format!("{keys}: {msg}")
    }
}

/// Messages are one line (toml's parser messages may not be).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) struct Cx<'a> {
    src: &'a str,
    path: &'a Path,
    env: &'a Env,
    errors: Vec<(Range<usize>, String)>,
}

impl Cx<'_> {
    pub(super) fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        let e = (span, message.into());
        // An account-level key inherited by several servers is reported once.
        if !self.errors.contains(&e) {
            self.errors.push(e);
        }
    }

    fn config_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Expand `~` / `~/`; make a relative path relative to the config file's directory.
    fn path_value(&mut self, key: &str, v: &Spanned<String>) -> Option<PathBuf> {
        let s = v.get_ref();
        if s.trim().is_empty() {
            self.err(v.span(), format!("{key} is empty"));
            return None;
        }
        let p = if s == "~" || s.starts_with("~/") {
            let Some(home) = &self.env.home else {
                self.err(
                    v.span(),
                    format!("{key}: cannot expand `~`: HOME is not set"),
                );
                return None;
            };
            home.join(s.trim_start_matches('~').trim_start_matches('/'))
        } else {
            PathBuf::from(s)
        };
        Some(if p.is_absolute() {
            p
        } else {
            self.config_dir().join(p)
        })
    }

    // Long: one check after another on the top-level fields, each with its own error message.
    fn config(&mut self, raw: RawConfig) -> Config {
        let data_dir = match &raw.data_dir {
            Some(d) => self.path_value("data_dir", d),
            None => {
                let d = self.env.default_data_dir();
                if d.is_none() {
                    self.err(
                        0..0,
                        "cannot find a data directory: HOME is not set; set data_dir",
                    );
                }
                d
            }
        };
        // Default: ~/Downloads (else a directory in the data dir).
        let download_dir = match &raw.download_dir {
            Some(d) => self.path_value("download_dir", d),
            None => self
                .env
                .home
                .as_ref()
                .map(|h| h.join("Downloads"))
                .or_else(|| data_dir.as_ref().map(|d| d.join("downloads"))),
        };
        let layout = match raw.layout.unwrap_or(RawLayout::Auto) {
            RawLayout::Auto => Layout::Auto,
            RawLayout::Wide => Layout::Wide,
            RawLayout::Tall => Layout::Tall,
        };

        let mut theme = ThemeConfig::default();
        for (element, colour) in raw.theme.unwrap_or_default() {
            let (name, value) = (element.get_ref(), &colour.get_ref().0);
            if !THEME_ELEMENTS.contains(&name.as_str()) {
                self.err(
                    element.span(),
                    format!(
                        "unknown theme element `{name}`, expected one of: {}",
                        THEME_ELEMENTS.join(", ")
                    ),
                );
            } else if Color::from_str(value).is_err() {
                self.err(
                    colour.span(),
                    format!(
                        "invalid colour `{value}` for `{name}`, expected a colour name (red, \
                         light-blue, dark-gray, ...), \"#rrggbb\" or a 0-255 index"
                    ),
                );
            } else {
                theme.colors.insert(name.clone(), value.clone());
            }
        }

        let (keys, warnings) = self.keys(raw.keys.unwrap_or_default());
        let openers = self.openers(raw.openers.unwrap_or_default());

        let mut accounts = Vec::new();
        let mut names: BTreeMap<String, Range<usize>> = BTreeMap::new();
        for acc in raw.accounts {
            let span = acc.span();
            let acc = acc.into_inner();
            let name = &acc.name;
            if let Some(first) = names.get(name.get_ref().as_str()) {
                let line = Position::at(self.src, first.start).line;
                self.err(
                    name.span(),
                    format!(
                        "duplicate account name `{}` (first used on line {line})",
                        name.get_ref()
                    ),
                );
            } else {
                names.insert(name.get_ref().clone(), name.span());
            }
            if let Some(a) = self.account(acc, span, data_dir.as_deref()) {
                accounts.push(a);
            }
        }

        Config {
            path: Some(self.path.to_path_buf()),
            data_dir: data_dir.unwrap_or_default(),
            accounts,
            keys,
            theme,
            layout,
            mouse: raw.mouse.unwrap_or(true),
            sidebar: raw.sidebar.unwrap_or(true),
            download_dir: download_dir.unwrap_or_default(),
            mark_read_on_open: raw.mark_read_on_open.unwrap_or(true),
            mark_read_delay: raw.mark_read_delay.unwrap_or(0),
            send_delay: self.send_delay(raw.send_delay.as_ref()),
            editor: raw.editor.filter(|e| !e.trim().is_empty()),
            warnings,
            notify: notify_config(raw.notify),
            openers,
        }
    }

    /// `send_delay`: default 10 s, "0s" turns it off, at most an hour.
    fn send_delay(&mut self, raw: Option<&Spanned<Interval>>) -> std::time::Duration {
        const MAX: std::time::Duration = std::time::Duration::from_secs(3600);
        match raw {
            Some(d) if d.get_ref().0 > MAX => {
                self.err(d.span(), "send_delay is at most an hour (\"1h\")");
                MAX
            }
            Some(d) => d.get_ref().0,
            None => DEFAULT_SEND_DELAY,
        }
    }

    fn address(&mut self, key: &str, v: &Spanned<String>) {
        let s = v.get_ref().trim();
        if s.is_empty() {
            self.err(v.span(), format!("{key} is empty"));
            return;
        }
        match s.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {}
            _ => self.err(
                v.span(),
                format!(
                    "{key} `{s}` is not an email address (expected something like me@example.com)"
                ),
            ),
        }
    }

    // Long: one check after another on the fields of an account table, each with its own error
    // message.
    fn account(
        &mut self,
        mut raw: RawAccount,
        span: Range<usize>,
        data_dir: Option<&Path>,
    ) -> Option<AccountConfig> {
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty() {
            self.err(raw.name.span(), "account name is empty");
        }
        self.address("email", &raw.email);
        let aliases = raw.aliases.take().unwrap_or_default();
        for a in &aliases {
            self.address("alias", a);
        }
        let email = raw.email.get_ref().trim().to_string();

        let incoming = match (&raw.imap, &raw.pop3) {
            (Some(_), Some(pop3)) => {
                self.err(
                    pop3.span(),
                    format!(
                        "account `{name}` has both [account.imap] and [account.pop3]; keep one"
                    ),
                );
                None
            }
            (None, None) => {
                self.err(
                    span,
                    format!(
                        "account `{name}` has neither [account.imap] nor [account.pop3]; add one"
                    ),
                );
                None
            }
            _ => Some(()),
        };
        // Said once here, not again for each server that would inherit them.
        let set =
            password::sources_set(&raw.password, &raw.password_command, &raw.password_keyring);
        if self.clashing_passwords(&set) {
            raw.password = None;
            raw.password_command = None;
            raw.password_keyring = None;
        }
        let oauth2 = self.account_oauth2(&mut raw, &name, &email, data_dir);
        let imap = raw.imap.take().map(|s| {
            let s = raw.inherit(s.into_inner());
            self.server(Protocol::Imap, s, &name, &email)
        });
        let pop3 = raw.pop3.take().map(|s| {
            let s = raw.inherit(s.into_inner());
            self.server(Protocol::Pop3, s, &name, &email)
        });
        let smtp = raw.smtp.take().map(|s| {
            let s = raw.inherit(s.into_inner());
            self.server(Protocol::Smtp, s, &name, &email)
        });

        let mut folders = BTreeMap::new();
        for (role, folder) in raw.folders.unwrap_or_default() {
            let r = Role::from_name(role.get_ref()).filter(|r| FOLDER_ROLES.contains(r));
            let Some(r) = r else {
                let allowed: Vec<&str> = FOLDER_ROLES.iter().map(|r| r.as_str()).collect();
                self.err(
                    role.span(),
                    format!(
                        "unknown folder role `{}`, expected one of: {}",
                        role.get_ref(),
                        allowed.join(", ")
                    ),
                );
                continue;
            };
            if folder.get_ref().trim().is_empty() {
                self.err(
                    folder.span(),
                    format!("folder name for `{}` is empty", r.as_str()),
                );
                continue;
            }
            folders.insert(r, folder.into_inner());
        }

        incoming?;
        let (imap, smtp) = oauth2::with_tokens(oauth2?, imap.flatten(), smtp.flatten());
        Some(AccountConfig {
            name,
            email,
            display_name: raw.display_name.filter(|d| !d.trim().is_empty()),
            aliases: aliases
                .into_iter()
                .map(|a| a.get_ref().trim().to_string())
                .collect(),
            imap,
            pop3: pop3.flatten(),
            smtp,
            folders,
            offline: match raw.offline.unwrap_or(RawOffline::Bodies) {
                RawOffline::Headers => Offline::Headers,
                RawOffline::Bodies => Offline::Bodies,
            },
            offline_attachment_limit: raw
                .offline_attachment_limit
                .map_or(DEFAULT_ATTACHMENT_LIMIT, |s| s.get_ref().0),
            save_sent: raw.save_sent.unwrap_or(true),
            signature: raw.signature.filter(|s| !s.trim().is_empty()),
            signatures: raw.signatures.unwrap_or_default().into_iter().collect(),
            notify: raw.notify.unwrap_or_else(|| vec!["INBOX".into()]),
        })
    }

    // Long: one check after another on the fields of a server table, each with its own error
    // message; they share nothing a helper could take.
    fn server(
        &mut self,
        protocol: Protocol,
        raw: RawServer,
        account: &str,
        email: &str,
    ) -> Option<ServerConfig> {
        let before = self.errors.len();
        let host = raw.host.get_ref().trim().to_string();
        if host.is_empty() {
            self.err(raw.host.span(), "host is empty");
        } else if host.contains("://") || host.contains(char::is_whitespace) {
            self.err(
                raw.host.span(),
                format!("host `{host}` should be a bare host name like mail.example.com"),
            );
        } else if host.contains(':')
            && host
                .trim_matches(['[', ']'])
                .parse::<std::net::Ipv6Addr>()
                .is_err()
        {
            self.err(
                raw.host.span(),
                format!("host `{host}` contains a port; put the port in `port = ...`"),
            );
        }
        let security = match raw.security.as_ref().map(|s| *s.get_ref()) {
            None | Some(RawSecurity::Tls) => Security::Tls,
            Some(RawSecurity::StartTls) => Security::StartTls,
            Some(RawSecurity::None) => Security::None,
        };
        let port = match &raw.port {
            Some(p) if !(1..=65535).contains(p.get_ref()) => {
                self.err(
                    p.span(),
                    format!("port {} is out of range (1-65535)", p.get_ref()),
                );
                0
            }
            Some(p) => *p.get_ref() as u16,
            None => protocol.default_port(security),
        };
        let username = match &raw.username {
            Some(u) if u.get_ref().trim().is_empty() => {
                self.err(
                    u.span(),
                    "username is empty (remove it to use the account's email)",
                );
                String::new()
            }
            Some(u) => u.get_ref().clone(),
            None => email.to_string(),
        };
        let password = self.password_source(&raw, account);
        let allow_plaintext_auth = raw.allow_plaintext_auth.unwrap_or(false);
        if security == Security::None && password != PasswordSource::None && !allow_plaintext_auth {
            let span = raw.security.as_ref().map_or(raw.host.span(), |s| s.span());
            self.err(
                span,
                "security = \"none\" would send the password unencrypted; use \"tls\" or \
                 \"starttls\", or set allow_plaintext_auth = true to allow it",
            );
        }
        let ca_file = match &raw.ca_file {
            Some(c) => match self.path_value("ca_file", c) {
                Some(p) if !p.is_file() => {
                    self.err(c.span(), format!("ca_file {} does not exist", p.display()));
                    None
                }
                p => p,
            },
            None => None,
        };
        let tls_fingerprint = self.fingerprint(&raw.tls_fingerprint, security);
        let poll_interval = match &raw.poll_interval {
            Some(p) if protocol == Protocol::Smtp => {
                self.err(p.span(), "poll_interval has no meaning for [account.smtp]; set it on the incoming server");
                None
            }
            Some(p) if p.get_ref().0 < std::time::Duration::from_secs(10) => {
                self.err(p.span(), "poll_interval must be at least 10 seconds");
                None
            }
            Some(p) => Some(p.get_ref().0),
            None => None,
        };
        let compress = match &raw.compress {
            Some(c) if protocol != Protocol::Imap => {
                self.err(
                    c.span(),
                    "compress is an IMAP setting (COMPRESS=DEFLATE); remove it here",
                );
                None
            }
            Some(c) => Some(*c.get_ref()),
            None => None,
        };
        let leave_on_server = match &raw.leave_on_server {
            Some(l) if protocol != Protocol::Pop3 => {
                self.err(
                    l.span(),
                    "leave_on_server is a POP3 setting (IMAP mail always stays on the server); \
                     remove it here",
                );
                true
            }
            Some(l) => *l.get_ref(),
            None => true,
        };
        let delete_after_days = match &raw.delete_after_days {
            Some(d) if protocol != Protocol::Pop3 => {
                self.err(
                    d.span(),
                    "delete_after_days is a POP3 setting; remove it here",
                );
                None
            }
            Some(d) if !leave_on_server => {
                self.err(
                    d.span(),
                    "delete_after_days has no effect with leave_on_server = false (every \
                     message is deleted on the server once downloaded); keep one",
                );
                None
            }
            Some(d) => match u32::try_from(*d.get_ref()) {
                Ok(days) if days > 0 => Some(days),
                _ => {
                    self.err(
                        d.span(),
                        format!(
                            "delete_after_days must be a whole number of days, 1 or more (got {})",
                            d.get_ref()
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        (self.errors.len() == before).then_some(ServerConfig {
            poll_interval,
            compress,
            leave_on_server,
            delete_after_days,
            protocol,
            host,
            port,
            security,
            username,
            password,
            ca_file,
            tls_fingerprint,
            allow_plaintext_auth,
        })
    }
}

/// The `[notify]` table, with its defaults.
fn notify_config(raw: Option<RawNotify>) -> NotifyConfig {
    let Some(raw) = raw else {
        return NotifyConfig::default();
    };
    NotifyConfig {
        method: match raw.method.unwrap_or(RawNotifyMethod::Auto) {
            RawNotifyMethod::Auto => NotifyMethod::Auto,
            RawNotifyMethod::Desktop => NotifyMethod::Desktop,
            RawNotifyMethod::Terminal => NotifyMethod::Terminal,
            RawNotifyMethod::Bell => NotifyMethod::Bell,
            RawNotifyMethod::None => NotifyMethod::None,
        },
        command: raw.command.filter(|c| !c.trim().is_empty()),
    }
}
