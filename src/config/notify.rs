//! `[notify]`: how new mail is announced (see `crate::notify`), and which folders of an
//! account are announced.

use super::AccountConfig;
use crate::domain::Role;

impl AccountConfig {
    /// Whether new mail in this folder is announced.
    pub fn notifies(&self, folder: &str, role: Option<Role>) -> bool {
        self.notify.iter().any(|f| {
            f == folder || (f.eq_ignore_ascii_case("INBOX") && (role == Some(Role::Inbox)))
        })
    }
}

/// How new mail is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyMethod {
    /// A desktop notification when a session bus is there, else the terminal's own
    /// notification where it has one (OSC 9 or OSC 777), else the bell.
    Auto,
    Desktop,
    Terminal,
    Bell,
    None,
}

/// How new mail is announced, and the hook run for each new message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    pub method: NotifyMethod,
    /// Run with `sh -c` for each new message, with TERN_ACCOUNT, TERN_FOLDER, TERN_FROM and
    /// TERN_SUBJECT in its environment (never in the command line itself).
    pub command: Option<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            method: NotifyMethod::Auto,
            command: None,
        }
    }
}
