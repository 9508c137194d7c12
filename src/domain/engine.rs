//! What an account's engine reports to the app, as plain data: the app's `update` reads these
//! as they are (`Msg::Engine`), the worker sends them (always after the cache committed what
//! they announce).

use super::{AccountId, ConnState, MailboxId, MsgId, RequestId};

/// An engine's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    State {
        account: AccountId,
        state: ConnState,
    },
    /// The cache changed (for this mailbox, or for several when None).
    Changed {
        account: AccountId,
        mailbox: Option<MailboxId>,
    },
    BodyFetched {
        msg: MsgId,
    },
    BodyFailed {
        msg: MsgId,
        error: String,
    },
    /// The answer to a search command (`worker::Command::Search`): the cached messages the
    /// server found, or why it could not be asked (or not about every mailbox).
    Searched {
        req: RequestId,
        account: AccountId,
        found: Vec<MsgId>,
        error: Option<String>,
    },
    /// Something for the status line (the outbox worker's news); `problem`: shown as an error.
    Notice {
        account: AccountId,
        text: String,
        problem: bool,
    },
}
