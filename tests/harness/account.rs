//! tern's side of a test against a real server: one account's config, cache and engine calls
//! (connect, sync, local actions as the UI takes them, the queue and the action log), driven
//! directly rather than through the actor, so a test decides when each step happens.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use tern::app::effects::triage;
use tern::app::msg::{Cmd, Msg, Undo};
use tern::app::update::worded;
use tern::config::{AccountConfig, Config};
use tern::domain::{AccountId, MailboxId, MsgId};
use tern::store::StoreHandle;
use tern::sync::imap::Imap;
use tern::sync::pass::{self, SyncOptions};
use tern::worker::Event;

pub struct TernAccount {
    pub account: AccountConfig,
    pub store: StoreHandle,
    pub id: AccountId,
}

impl TernAccount {
    /// The first account of the config at `path`, synced once.
    pub async fn open(path: &Path) -> TernAccount {
        let cfg = Config::load(path).unwrap();
        let account = cfg.accounts[0].clone();
        let store = StoreHandle::open_in_dir(&cfg.data_dir).unwrap();
        let mut c = TernAccount {
            account,
            store,
            id: AccountId(0),
        };
        let mut imap = c.connect().await;
        c.sync(&mut imap).await;
        let name = c.account.name.clone();
        c.id = c
            .store
            .call(move |s| Ok(s.account_id(&name)?.unwrap()))
            .await
            .unwrap();
        c
    }

    pub async fn connect(&self) -> Imap {
        pass::connect(&self.account).await.unwrap()
    }

    pub async fn sync(&self, imap: &mut Imap) {
        pass::sync_connected(
            imap,
            &self.account,
            &self.store,
            &SyncOptions::default(),
            &|_| {},
        )
        .await
        .unwrap();
    }

    /// A cached folder by its name (as tern shows it).
    pub async fn mailbox(&self, name: &str) -> MailboxId {
        let name = name.to_string();
        self.store
            .call(move |s| {
                Ok(s.mailboxes(None)?
                    .into_iter()
                    .find(|m| m.name == name)
                    .unwrap_or_else(|| panic!("{name} not cached"))
                    .id)
            })
            .await
            .unwrap()
    }

    /// The cached message with this subject in this folder (exactly one).
    pub async fn id_of(&self, folder: &str, subject: &str) -> MsgId {
        let mailbox = self.mailbox(folder).await;
        let subject = subject.to_string();
        self.store
            .call(move |s| {
                let ids: Vec<MsgId> = s
                    .envelopes(mailbox, 0, 100_000)?
                    .into_iter()
                    .filter(|e| e.subject == subject)
                    .map(|e| e.id)
                    .collect();
                assert_eq!(ids.len(), 1, "{subject} cached: {ids:?}");
                Ok(ids[0])
            })
            .await
            .unwrap()
    }

    /// (subject, flagged, deleted) of every cached row in the folder, sorted.
    pub async fn cached(&self, folder: &str) -> Vec<(String, bool, bool)> {
        let mailbox = self.mailbox(folder).await;
        let mut rows: Vec<_> = self
            .store
            .call(move |s| s.envelopes(mailbox, 0, 100_000))
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.subject, e.flags.flagged, e.flags.deleted))
            .collect();
        rows.sort();
        rows
    }

    /// How many cached rows carry this subject, per folder (folders without any left out).
    pub async fn copies(&self, subject: &str) -> HashMap<String, usize> {
        let subject = subject.to_string();
        self.store
            .call(move |s| {
                let mut out = HashMap::new();
                for m in s.mailboxes(None)? {
                    let n = s
                        .envelopes(m.id, 0, 100_000)?
                        .iter()
                        .filter(|e| e.subject == subject)
                        .count();
                    if n > 0 {
                        out.insert(m.name, n);
                    }
                }
                Ok(out)
            })
            .await
            .unwrap()
    }

    /// Runs a local action as the UI does (the cache changes, the queue row is written).
    pub async fn act(&self, cmd: Cmd) -> Msg {
        self.store
            .call(move |s| Ok(triage(s, cmd)?.1))
            .await
            .unwrap()
    }

    /// Runs a local action; returns its undo.
    pub async fn act_undoable(&self, cmd: Cmd) -> Option<(Undo, String)> {
        let shown = format!("{cmd:?}");
        match self.act(cmd).await {
            Msg::ActionDone(done) => worded(done).1,
            other => panic!("{shown}: {other:?}"),
        }
    }

    /// Queue rows left, and how many of them wait for a safe expunge.
    pub async fn queue(&self) -> (usize, usize) {
        let id = self.id;
        self.store
            .call(move |s| Ok((s.pending(id)?.len(), s.waiting_count(id)?)))
            .await
            .unwrap()
    }

    pub async fn log(&self) -> Vec<String> {
        self.store
            .call(|s| Ok(s.action_log(1000)?.into_iter().map(|e| e.2).collect()))
            .await
            .unwrap()
    }
}

/// Waits (bounded by `wait`) for the engine's answer to search `req`; other events are
/// passed over.
pub async fn searched(
    events: &mut tern::worker::EventReceiver,
    req: tern::domain::RequestId,
    wait: Duration,
) -> (Vec<MsgId>, Option<String>) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Searched {
                req: r,
                found,
                error,
                ..
            })) if r == req => return (found, error),
            Ok(Some(_)) => {}
            other => panic!("no answer to search {req}: {other:?}"),
        }
    }
}
