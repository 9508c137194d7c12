//! The vocabulary of triage that the app and the store share: which flag an action sets, and
//! where a moved message goes (or came from). The store maps these to SQL and to its queue rows;
//! `update` words them.

use serde::{Deserialize, Serialize};

use super::{Flags, MailboxId, MsgId};

/// A system flag the user sets or clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlagName {
    Seen,
    Flagged,
    Answered,
    /// The `$Forwarded` keyword.
    Forwarded,
}

impl FlagName {
    /// Whether this flag is set in `f`.
    pub fn is_set(self, f: &Flags) -> bool {
        match self {
            FlagName::Seen => f.seen,
            FlagName::Flagged => f.flagged,
            FlagName::Answered => f.answered,
            FlagName::Forwarded => f.has_keyword(self.imap()),
        }
    }

    /// As IMAP spells it.
    pub fn imap(self) -> &'static str {
        match self {
            FlagName::Seen => "\\Seen",
            FlagName::Flagged => "\\Flagged",
            FlagName::Answered => "\\Answered",
            FlagName::Forwarded => "$Forwarded",
        }
    }
}

/// A message and the mailbox it goes to (or came from).
pub type Relocation = (MsgId, MailboxId);
