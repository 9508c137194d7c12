//! The setup screen of the first start: `tern` in a terminal with no config file opens it
//! (an overlay over empty panes) instead of an error. The user types the address, a name and
//! the password command; discovery and the live check (`crate::setup::run`, the same code as
//! `tern setup`) run in a task of the effects and answer with [`SetupMsg`]s, each line as it
//! comes. Once the account is written the app quits and `main` opens the new config (the
//! user lands in the INBOX); Esc quits with nothing written; an error leaves the fields to
//! edit and try again.

use std::path::PathBuf;

/// What the first start needs besides the fields: where the config goes, and the settings of
/// the discovery that are not asked (the DNS server of `TERN_DNS`).
#[derive(Debug, Clone)]
pub struct SetupStart {
    pub config: PathBuf,
    pub base: crate::setup::Request,
}

/// The fields, in the order they are asked. Of the last three, one is given: the password
/// (kept in the system keyring), a command printing it, or an OAuth2 client id.
pub const FIELDS: [&str; 5] = [
    "Address",
    "Your name",
    "Password",
    "or password command",
    "or OAuth2 client id",
];
pub const ADDRESS: usize = 0;
pub const NAME: usize = 1;
pub const PASSWORD: usize = 2;
pub const PASSWORD_COMMAND: usize = 3;
pub const CLIENT_ID: usize = 4;

/// How long the screen stays once the account is written (what was found and checked can be
/// read), unless a key is pressed.
pub const OPEN_AFTER_MS: u64 = 2500;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    /// The fields take keys.
    #[default]
    Editing,
    /// Discovery and the live check run.
    Running,
    /// The account is written: the INBOX opens next.
    Written,
}

/// The setup screen's state (its Debug leaves the password out).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SetupForm {
    pub fields: [String; 5],
    /// The field being typed in.
    pub focus: usize,
    pub phase: Phase,
    /// What discovery and the check said, in order (sanitized when drawn).
    pub lines: Vec<String>,
    /// Why the last try failed, or what is missing.
    pub error: Option<String>,
}

impl std::fmt::Debug for SetupForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut fields = self.fields.clone();
        if !fields[PASSWORD].is_empty() {
            fields[PASSWORD] = "<redacted>".into();
        }
        f.debug_struct("SetupForm")
            .field("fields", &fields)
            .field("focus", &self.focus)
            .field("phase", &self.phase)
            .field("lines", &self.lines)
            .field("error", &self.error)
            .finish()
    }
}

/// How the account signs in, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Kept in the system keyring once the servers took it.
    Password(crate::config::Secret),
    Command(String),
    /// OAuth2 with this client id: the consent in a browser.
    OAuth2 {
        client_id: String,
    },
}

/// What the setup effect answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupMsg {
    /// A step's news: a source's outcome, a server's check.
    Said(String),
    /// The try ended: Ok once the account is written, else why not (nothing written).
    Done(Result<(), String>),
    /// Time to open the new config.
    Open,
}

/// What the setup screen asks of the effects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupCmd {
    /// Discover, check and write the account with what was typed.
    Run {
        email: String,
        display_name: Option<String>,
        sign_in: SignIn,
    },
    /// Answer `SetupMsg::Open` after this long.
    OpenAfter { ms: u64 },
}

/// The run loop's options for the setup screen: no account yet, nothing kept (`scratch` is a
/// temporary dir of the caller's).
pub fn options(start: SetupStart, scratch: &std::path::Path) -> super::Options {
    let dirs = super::effects::Dirs {
        download: scratch.join("downloads"),
        scratch: scratch.join("open"),
        openers: Default::default(),
        config: None,
        history: None,
    };
    super::Options {
        setup: Some(start),
        ..super::Options::standalone("tern", dirs)
    }
}
