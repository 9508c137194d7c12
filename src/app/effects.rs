//! Runs Cmds: the only app file that holds the store handle (and, later, engine handles).
//! Each command runs as its own task and answers with a Msg on the app's channel.

use tokio::sync::mpsc::UnboundedSender;

use super::msg::{Cmd, Msg};
use crate::domain::message;
use crate::store::StoreHandle;

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
    Ok(match cmd {
        Cmd::LoadMailboxes => {
            let (accounts, mailboxes) = store
                .call(|s| Ok((s.accounts()?, s.mailboxes(None)?)))
                .await?;
            Msg::MailboxesLoaded {
                accounts,
                mailboxes,
            }
        }
        Cmd::LoadEnvelopes {
            req,
            mailbox,
            offset,
            limit,
        } => {
            let (total, rows) = store
                .call(move |s| {
                    Ok((
                        s.message_count(mailbox)?,
                        s.envelopes(mailbox, offset, limit)?,
                    ))
                })
                .await?;
            Msg::EnvelopesLoaded {
                req,
                mailbox,
                offset,
                total,
                rows,
            }
        }
        Cmd::LoadMessage { req, msg } => {
            let raw = store.call(move |s| s.raw_message(msg)).await?;
            // Parsing a large message is CPU work: keep it off the async workers.
            let view = match raw {
                Some(raw) => tokio::task::spawn_blocking(move || message::parse(&raw))
                    .await
                    .ok(),
                None => None,
            };
            Msg::MessageLoaded { req, msg, view }
        }
    })
}
