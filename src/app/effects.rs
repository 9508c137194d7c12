//! Runs Cmds: the only app file that holds the store handle (and, later, engine handles).
//! Each command runs as its own task and answers with a Msg on the app's channel.

use tokio::sync::mpsc::UnboundedSender;

use super::msg::{Cmd, Msg};
use crate::domain::message;
use crate::store::{Store, StoreHandle};

#[derive(Clone)]
pub struct Effects {
    store: StoreHandle,
    tx: UnboundedSender<Msg>,
}

impl Effects {
    pub fn new(store: StoreHandle, tx: UnboundedSender<Msg>) -> Effects {
        Effects { store, tx }
    }

    pub fn run(&self, cmd: Cmd) {
        let store = self.store.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let msg = match execute(&store, cmd).await {
                Ok(msg) => msg,
                Err(e) => Msg::Failed(e.to_string()),
            };
            let _ = tx.send(msg);
        });
    }
}

async fn execute(store: &StoreHandle, cmd: Cmd) -> crate::store::Result<Msg> {
    // Runs on the store's own thread, so parsing a large message never blocks a tokio worker.
    store.call(move |s| execute_on(s, cmd)).await
}

/// Run one command against a store and return its answer. Synchronous: the async runner calls
/// it on the store's thread, and tests call it directly.
pub fn execute_on(store: &mut Store, cmd: Cmd) -> crate::store::Result<Msg> {
    Ok(match cmd {
        Cmd::LoadMailboxes => Msg::MailboxesLoaded {
            accounts: store.accounts()?,
            mailboxes: store.mailboxes(None)?,
        },
        Cmd::LoadEnvelopes {
            req,
            mailbox,
            offset,
            limit,
        } => Msg::EnvelopesLoaded {
            req,
            mailbox,
            offset,
            total: store.message_count(mailbox)?,
            rows: store.envelopes(mailbox, offset, limit)?,
        },
        Cmd::LoadMessage { req, msg } => Msg::MessageLoaded {
            req,
            msg,
            view: store
                .raw_message(msg)?
                .map(|raw| Box::new(message::parse(&raw))),
        },
    })
}
