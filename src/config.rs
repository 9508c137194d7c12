//! Configuration: TOML -> validated [`Config`].
//!
//! This is the public model other modules rely on. Field names match the TOML keys.
//! [`resolve_path`] finds the file, [`Config::load`] reads and validates it; every error names
//! the file, line and column ([`ConfigError`]). `config.example.toml` documents every key.

mod fingerprint;
mod notify;
mod oauth2;
mod openers;
mod password;
mod position;
mod raw;
mod validate;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::domain::Role;
use crate::domain::keys::{Action, KeySeq};

pub use fingerprint::Fingerprint;
pub use notify::{NotifyConfig, NotifyMethod};
pub use oauth2::{
    OAuth2Config, PRESETS as OAUTH2_PRESETS, Preset as OAuth2Preset, endpoint_ok,
    preset as oauth2_preset,
};
pub use password::{PASSWORD_COMMAND_TIMEOUT, PasswordError, Secret};
pub use position::Position;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS from the first byte.
    Tls,
    /// Plain connection upgraded with STARTTLS (STLS for POP3); refused when not offered.
    StartTls,
    /// No encryption at all (needs `allow_plaintext_auth = true` when a password is sent).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Imap,
    Pop3,
    Smtp,
}

impl Protocol {
    /// Default port by protocol and security: IMAP 993/143, POP3 995/110, SMTP 465/587.
    pub fn default_port(self, security: Security) -> u16 {
        match (self, security) {
            (Protocol::Imap, Security::Tls) => 993,
            (Protocol::Imap, _) => 143,
            (Protocol::Pop3, Security::Tls) => 995,
            (Protocol::Pop3, _) => 110,
            (Protocol::Smtp, Security::Tls) => 465,
            (Protocol::Smtp, _) => 587,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// Run with `sh -c`; the first line of its standard output is the password.
    Command(String),
    /// Stored in the config file.
    Plain(Secret),
    /// In the system keyring (`password_keyring = true`), under this account's name.
    Keyring { account: String },
    /// No password configured.
    None,
    /// OAuth2 access tokens instead of a password (`[account.oauth2]`).
    OAuth2(std::sync::Arc<OAuth2Config>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub protocol: Protocol,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: PasswordSource,
    /// Extra CA certificate(s) (PEM) to trust besides the system roots.
    pub ca_file: Option<PathBuf>,
    /// Trust the server's certificate if and only if its SHA-256 fingerprint is this one
    /// (whatever its issuer, name and dates; `ca_file` is not used then).
    pub tls_fingerprint: Option<Fingerprint>,
    pub allow_plaintext_auth: bool,
    /// How often to check the mailboxes (IMAP: all but the IDLE'd one; POP3: the server).
    /// None: the protocol's default.
    pub poll_interval: Option<std::time::Duration>,
    /// IMAP COMPRESS=DEFLATE when the server offers it. None: on, except for loopback hosts.
    pub compress: Option<bool>,
    /// POP3: keep downloaded messages on the server (else each is deleted there once it is
    /// safely in the cache). Always true for IMAP and SMTP.
    pub leave_on_server: bool,
    /// POP3 with `leave_on_server`: delete a message on the server this many days after it
    /// was downloaded. None: never.
    pub delete_after_days: Option<u32>,
}

/// How often a POP3 server is checked for new mail when `poll_interval` is not set.
pub const POP3_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offline {
    /// Keep only headers offline; bodies are fetched when opened.
    Headers,
    /// Keep bodies offline too (messages up to `offline_attachment_limit`).
    Bodies,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountConfig {
    pub name: String,
    pub email: String,
    pub display_name: Option<String>,
    pub aliases: Vec<String>,
    /// Exactly one of `imap` / `pop3` is set.
    pub imap: Option<ServerConfig>,
    pub pop3: Option<ServerConfig>,
    pub smtp: Option<ServerConfig>,
    /// Folder names that override SPECIAL-USE detection, by role.
    pub folders: BTreeMap<Role, String>,
    pub offline: Offline,
    /// Messages larger than this are not prefetched; they download when opened (bytes).
    pub offline_attachment_limit: u64,
    /// After sending, store a copy in the Sent folder (off for providers that file sent mail
    /// themselves).
    pub save_sent: bool,
    /// Added under "-- " to new messages, replies and forwards.
    pub signature: Option<String>,
    /// Signatures of particular addresses (aliases), by address.
    pub signatures: Vec<(String, String)>,
    /// Folders whose new mail is announced (names as listed; "INBOX" also names the inbox
    /// whatever its name). Default: INBOX.
    pub notify: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Reader beside the list when the terminal is wide enough, under it otherwise.
    Auto,
    /// Reader beside the list.
    Wide,
    /// Reader under the list.
    Tall,
}

/// Colours by element, as strings ratatui understands (`"red"`, `"#5f87af"`, `"244"`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThemeConfig {
    pub colors: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file this was read from (None for the built-in demo config).
    pub path: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub accounts: Vec<AccountConfig>,
    /// Bindings that replace an action's defaults.
    pub keys: BTreeMap<Action, Vec<KeySeq>>,
    pub theme: ThemeConfig,
    pub layout: Layout,
    /// Click to select and wheel to scroll (the terminal's own selection needs Shift then).
    pub mouse: bool,
    /// The mailboxes pane is shown at start (`toggle_sidebar` hides or shows it).
    pub sidebar: bool,
    /// Where saved attachments go.
    pub download_dir: PathBuf,
    /// Opening a message marks it read ...
    pub mark_read_on_open: bool,
    /// ... once it has been open this many seconds (0: at once).
    pub mark_read_delay: u64,
    /// How long a message sent from the client waits in the outbox before it goes, so that
    /// `u` can take it back (zero: it goes at once).
    pub send_delay: std::time::Duration,
    /// The editor for writing mail (None: $VISUAL, else $EDITOR, else vi).
    pub editor: Option<String>,
    /// Warnings a user should see (e.g. a readable file holding a plain password).
    pub warnings: Vec<String>,
    pub notify: NotifyConfig,
    /// `[openers]`: a command by MIME type (`image/*` for a whole type); `%s` is the file.
    pub openers: BTreeMap<String, String>,
}

impl Config {
    /// A config with no accounts and the given data dir (demo mode, tests).
    pub fn empty(data_dir: &Path) -> Config {
        Config {
            path: None,
            data_dir: data_dir.to_path_buf(),
            accounts: Vec::new(),
            keys: BTreeMap::new(),
            theme: ThemeConfig::default(),
            layout: Layout::Auto,
            mouse: true,
            sidebar: true,
            download_dir: data_dir.join("downloads"),
            mark_read_on_open: true,
            mark_read_delay: 0,
            send_delay: DEFAULT_SEND_DELAY,
            editor: None,
            warnings: Vec::new(),
            notify: NotifyConfig::default(),
            openers: BTreeMap::new(),
        }
    }
}

/// The theme elements `[theme]` may colour.
pub const THEME_ELEMENTS: &[&str] = &[
    "accent",
    "border",
    "border_focused",
    "selection_bg",
    "selection_fg",
    "unread",
    "flagged",
    "dim",
    "header_name",
    "quote1",
    "quote2",
    "quote3",
    "link",
    "status_bg",
    "status_fg",
    "error",
];

/// Folder roles `[account.folders]` may override.
pub const FOLDER_ROLES: &[Role] = &[
    Role::Sent,
    Role::Drafts,
    Role::Trash,
    Role::Archive,
    Role::Junk,
];

/// Default for `send_delay`: 10 s to take a message back.
pub const DEFAULT_SEND_DELAY: std::time::Duration = std::time::Duration::from_secs(10);

/// Default for `offline_attachment_limit`: 10 MiB.
pub const DEFAULT_ATTACHMENT_LIMIT: u64 = 10 * 1024 * 1024;

/// The documented example config (`config.example.toml`), e.g. for a first-run hint.
pub const EXAMPLE_CONFIG: &str = include_str!("../config.example.toml");

/// A config that could not be found, read or accepted. Display is one line:
/// `PATH:LINE:COL: message`, or `PATH: message` when there is no position.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{}: no config file here; to start, run `tern setup` (it finds your servers and writes \
         the account), or copy config.example.toml to this path and edit it (or pass --config \
         PATH, or set TERN_CONFIG)",
        .path.display()
    )]
    NotFound { path: PathBuf },
    #[error("{}: cannot read the config file: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot find the config file: HOME is not set; pass --config PATH or set TERN_CONFIG")]
    NoHome,
    #[error("{}", invalid_line(.path, .position, .message))]
    Invalid {
        path: PathBuf,
        position: Option<Position>,
        message: String,
    },
    #[error(transparent)]
    Password(#[from] PasswordError),
}

fn invalid_line(path: &Path, position: &Option<Position>, message: &str) -> String {
    // The message quotes the file's text, which may hold escape sequences.
    let message = crate::domain::sanitize::body(message);
    match position {
        Some(p) => format!("{}:{}:{}: {message}", path.display(), p.line, p.column),
        None => format!("{}: {message}", path.display()),
    }
}

impl ConfigError {
    /// The process exit code for a configuration error.
    pub fn exit_code(&self) -> i32 {
        2
    }

    /// Where in the file the problem is, when known.
    pub fn position(&self) -> Option<Position> {
        match self {
            ConfigError::Invalid { position, .. } => *position,
            _ => None,
        }
    }

    /// The config file concerned, when known.
    pub fn path(&self) -> Option<&Path> {
        match self {
            ConfigError::NotFound { path }
            | ConfigError::Read { path, .. }
            | ConfigError::Invalid { path, .. } => Some(path),
            ConfigError::NoHome | ConfigError::Password(_) => None,
        }
    }
}

/// The environment the config depends on (injectable so tests need not touch process env).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    pub tern_config: Option<OsString>,
    pub xdg_config_home: Option<OsString>,
    pub xdg_data_home: Option<OsString>,
    /// The home directory, for `~/` and the XDG defaults.
    pub home: Option<PathBuf>,
}

impl Env {
    /// `TERN_CONFIG`, `XDG_CONFIG_HOME`, `XDG_DATA_HOME` and the home directory of this process.
    pub fn from_process() -> Env {
        Env {
            tern_config: std::env::var_os("TERN_CONFIG"),
            xdg_config_home: std::env::var_os("XDG_CONFIG_HOME"),
            xdg_data_home: std::env::var_os("XDG_DATA_HOME"),
            home: directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()),
        }
    }

    /// An XDG base directory variable: only a non-empty absolute path counts (XDG spec).
    fn xdg(v: &Option<OsString>) -> Option<PathBuf> {
        v.as_ref().map(PathBuf::from).filter(|p| p.is_absolute())
    }

    /// The default data directory: `$XDG_DATA_HOME/tern`, else `~/.local/share/tern`.
    pub fn default_data_dir(&self) -> Option<PathBuf> {
        Env::xdg(&self.xdg_data_home)
            .or_else(|| self.home.as_ref().map(|h| h.join(".local/share")))
            .map(|d| d.join("tern"))
    }
}

/// Which config file to read: `--config PATH`, else `$TERN_CONFIG`, else
/// `$XDG_CONFIG_HOME/tern/config.toml` (`~/.config/tern/config.toml`).
pub fn resolve_path(cli: Option<&Path>) -> Result<PathBuf, ConfigError> {
    resolve_path_with(cli, &Env::from_process())
}

/// [`resolve_path`] with an explicit environment.
pub fn resolve_path_with(cli: Option<&Path>, env: &Env) -> Result<PathBuf, ConfigError> {
    if let Some(p) = cli {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = env.tern_config.as_ref().filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let base = Env::xdg(&env.xdg_config_home)
        .or_else(|| env.home.as_ref().map(|h| h.join(".config")))
        .ok_or(ConfigError::NoHome)?;
    Ok(base.join("tern").join("config.toml"))
}

impl Config {
    /// Read and validate the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with_env(path, &Env::from_process())
    }

    /// [`Config::load`] with an explicit environment (for `~` and the default data dir).
    pub fn load_with_env(path: &Path, env: &Env) -> Result<Config, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::NotFound {
                    path: path.to_path_buf(),
                }
            } else {
                ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let mut config = Config::parse_with_env(&src, path, env)?;
        if others_can_read(path) {
            for a in &config.accounts {
                let plain = [&a.imap, &a.pop3, &a.smtp]
                    .into_iter()
                    .flatten()
                    .any(|s| matches!(s.password, PasswordSource::Plain(_)));
                if plain {
                    let p = path.display();
                    config.warnings.push(format!(
                        "{p}: account `{}` has a plain password in a file others can read \
                         (chmod 600 {p}, or use password_command)",
                        a.name
                    ));
                }
            }
        }
        Ok(config)
    }

    /// Validate config text as if read from `path` (used in messages and for relative paths).
    pub fn parse(src: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::parse_with_env(src, path, &Env::from_process())
    }

    /// [`Config::parse`] with an explicit environment.
    pub fn parse_with_env(src: &str, path: &Path, env: &Env) -> Result<Config, ConfigError> {
        validate::parse(src, path, env)
    }

    /// The warnings as the UI's status line shows them at start: the first, and how many
    /// more `tern check` lists.
    pub fn startup_notice(&self) -> Option<String> {
        let first = self.warnings.first()?;
        Some(match self.warnings.len() {
            1 => format!("warning: {first}"),
            n => format!("warning: {first} ({} more: tern check)", n - 1),
        })
    }

    /// What `tern check` prints: the effective settings, without any plain password.
    pub fn redacted_summary(&self) -> String {
        let mut out = String::new();
        let o = &mut out;
        if let Some(p) = &self.path {
            let _ = writeln!(o, "config: {}", p.display());
        }
        let _ = writeln!(o, "data dir: {}", self.data_dir.display());
        let layout = match self.layout {
            Layout::Auto => "auto",
            Layout::Wide => "wide",
            Layout::Tall => "tall",
        };
        let _ = writeln!(o, "layout: {layout}");
        let _ = writeln!(o, "mouse: {}", if self.mouse { "on" } else { "off" });
        let _ = writeln!(o, "download dir: {}", self.download_dir.display());
        for (element, colour) in &self.theme.colors {
            let _ = writeln!(o, "theme: {element} = {colour}");
        }
        for (action, seqs) in &self.keys {
            let keys: Vec<String> = seqs.iter().map(|s| format!("\"{s}\"")).collect();
            let _ = writeln!(o, "keys: {action} = [{}]", keys.join(", "));
        }
        if self.accounts.is_empty() {
            let _ = writeln!(o, "accounts: none");
        }
        for a in &self.accounts {
            let _ = writeln!(o, "account {}", a.name);
            let _ = writeln!(o, "  email: {}", a.email);
            if let Some(d) = &a.display_name {
                let _ = writeln!(o, "  display name: {d}");
            }
            if !a.aliases.is_empty() {
                let _ = writeln!(o, "  aliases: {}", a.aliases.join(", "));
            }
            let offline = match a.offline {
                Offline::Headers => "headers",
                Offline::Bodies => "bodies",
            };
            let _ = writeln!(
                o,
                "  offline: {offline} (attachment limit {})",
                human_size(a.offline_attachment_limit)
            );
            for s in [&a.imap, &a.pop3, &a.smtp].into_iter().flatten() {
                s.summarize(o);
            }
            if a.smtp.is_none() {
                let _ = writeln!(o, "  smtp: none (cannot send)");
            }
            for (role, name) in &a.folders {
                let _ = writeln!(o, "  folder {}: {name}", role.as_str());
            }
        }
        for w in &self.warnings {
            let _ = writeln!(o, "warning: {w}");
        }
        // Values come from the file as written: shown on the terminal, so sanitised.
        crate::domain::sanitize::body(&out)
    }
}

impl ServerConfig {
    fn summarize(&self, o: &mut String) {
        let proto = match self.protocol {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Smtp => "smtp",
        };
        let _ = writeln!(o, "  {proto}: {}:{}", self.host, self.port);
        let _ = writeln!(o, "    security: {}", self.security);
        let _ = writeln!(o, "    username: {}", self.username);
        match &self.password {
            PasswordSource::Command(c) => {
                let _ = writeln!(o, "    password_command: {c}");
            }
            PasswordSource::Plain(_) => {
                let _ = writeln!(o, "    password: <redacted>");
            }
            PasswordSource::Keyring { .. } => {
                let _ = writeln!(o, "    password: keyring");
            }
            PasswordSource::OAuth2(c) => {
                let how = match (&c.token_command, &c.provider) {
                    (Some(cmd), _) => format!("token_command {cmd}"),
                    (None, Some(p)) => format!("{p}, client {}", c.client_id),
                    (None, None) => format!("{}, client {}", c.token_url, c.client_id),
                };
                let _ = writeln!(o, "    auth: oauth2 ({how})");
            }
            PasswordSource::None => {
                let _ = writeln!(o, "    password: none");
            }
        }
        if let Some(p) = self.poll_interval {
            let _ = writeln!(o, "    poll_interval: {}", humantime::format_duration(p));
        } else if self.protocol == Protocol::Pop3 {
            let p = humantime::format_duration(POP3_POLL_INTERVAL);
            let _ = writeln!(o, "    poll_interval: {p} (default)");
        }
        if self.protocol == Protocol::Pop3 {
            let _ = writeln!(o, "    leave_on_server: {}", self.leave_on_server);
            if let Some(d) = self.delete_after_days {
                let _ = writeln!(o, "    delete_after_days: {d}");
            }
        }
        if let Some(c) = self.compress {
            let _ = writeln!(o, "    compress: {c}");
        }
        if let Some(ca) = &self.ca_file {
            let _ = writeln!(o, "    ca_file: {}", ca.display());
        }
        if let Some(f) = &self.tls_fingerprint {
            let _ = writeln!(o, "    tls_fingerprint: {f}");
        }
        if self.allow_plaintext_auth {
            let _ = writeln!(o, "    allow_plaintext_auth: true");
        }
    }
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Security::Tls => "tls",
            Security::StartTls => "starttls",
            Security::None => "none",
        })
    }
}

/// `10 MiB` for an exact multiple of a binary unit, else bytes.
pub fn human_size(bytes: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} B")
}

#[cfg(unix)]
fn others_can_read(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn others_can_read(_: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_in_characters() {
        let src = "a = 1\nbé = \"x\"\r\nc";
        assert_eq!(Position::at(src, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::at(src, 6), Position { line: 2, column: 1 });
        // `=` after a two-byte character is the 4th character of line 2.
        assert_eq!(Position::at(src, 10), Position { line: 2, column: 4 });
        assert_eq!(
            Position::at(src, src.len() - 1),
            Position { line: 3, column: 1 }
        );
        assert_eq!(Position::at(src, 999), Position { line: 3, column: 2 });
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(10 << 20), "10 MiB");
        assert_eq!(human_size(1536), "1536 B");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(0), "0 B");
    }

    #[test]
    fn error_display_is_one_line() {
        let e = ConfigError::Invalid {
            path: "c.toml".into(),
            position: Some(Position { line: 3, column: 7 }),
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "c.toml:3:7: bad");
        let e = ConfigError::Invalid {
            path: "c.toml".into(),
            position: None,
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "c.toml: bad");
    }
}
