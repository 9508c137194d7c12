//! The account engines as the app sees them. The only app file that names the worker's
//! handle and commands (its events are domain data, read by update as `Msg::Engine`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::super::msg::Msg;
use crate::domain::{AccountId, MailboxId, MsgId, RequestId};
use crate::store::StoreHandle;
use crate::worker::Command;
pub use crate::worker::{EngineHandle, Event as EngineEvent, EventReceiver};

/// The engines, by account.
#[derive(Clone, Default)]
pub struct Engines(Arc<HashMap<AccountId, EngineHandle>>);

impl Engines {
    pub fn new(engines: HashMap<AccountId, EngineHandle>) -> Engines {
        Engines(Arc::new(engines))
    }

    /// The accounts that have an engine.
    pub fn accounts(&self) -> HashSet<AccountId> {
        self.0.keys().copied().collect()
    }

    /// These accounts have queued actions: their engines replay them.
    pub fn replay(&self, accounts: &[AccountId]) {
        for a in accounts {
            if let Some(e) = self.0.get(a) {
                e.send(Command::Replay);
            }
        }
    }

    /// Ask an account's server to search these mailboxes (with these criteria); the answer
    /// comes as an engine event.
    pub fn search(&self, account: AccountId, req: RequestId, mailboxes: Vec<(MailboxId, String)>) {
        if let Some(engine) = self.0.get(&account) {
            engine.send(Command::Search { req, mailboxes });
        }
    }

    /// Every engine checks its server now.
    pub fn sync_now(&self) {
        for e in self.0.values() {
            e.send(Command::SyncNow);
        }
    }

    /// Every engine stops.
    pub fn shutdown(&self) {
        for e in self.0.values() {
            e.send(Command::Shutdown);
        }
    }
}

/// Ask the message's account engine to download its body; it answers with BodyFetched /
/// BodyFailed events. Without an engine the answer is here.
pub async fn fetch_body(store: StoreHandle, engines: Engines, msg: MsgId) -> Option<Msg> {
    let account = store
        .call(move |s| s.message_location(msg))
        .await
        .ok()
        .flatten()
        .map(|l| l.0);
    match account.and_then(|a| engines.0.get(&a)) {
        Some(engine) => {
            engine.send(Command::FetchBody { msg });
            None
        }
        None => Some(Msg::Engine(EngineEvent::BodyFailed {
            msg,
            error: "no server to download this message from".to_string(),
        })),
    }
}

/// The user opened this mailbox: its account's engine pushes it too (the others stop).
pub async fn watch(store: StoreHandle, engines: Engines, mailbox: MailboxId) {
    let account = store
        .call(move |s| {
            Ok(s.mailboxes(None)?
                .into_iter()
                .find(|m| m.id == mailbox)
                .map(|m| m.account))
        })
        .await
        .ok()
        .flatten();
    for (id, engine) in engines.0.iter() {
        let mailbox = (Some(*id) == account).then_some(mailbox);
        engine.send(Command::Watch { mailbox });
    }
}
