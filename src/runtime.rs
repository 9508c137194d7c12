//! The client's background, wired for the UI: one account worker per account (an IMAP engine,
//! or a POP3 fetcher), each writing through its own cache connection so the UI's reads never
//! queue behind a sync batch (WAL lets them run side by side), all reporting on one event
//! channel; and one outbox worker per account that can send. `main` starts it for the UI, and
//! `tern sync --watch` and the tests start the same workers.

use std::collections::HashMap;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::app::effects::Sender;
use crate::config::{AccountConfig, Config};
use crate::domain::{AccountId, Address, compose::Signatures};
use crate::store::{AccountKind, OutState, Store, StoreError, StoreHandle};
use crate::worker::{Command, EngineHandle, Event, EventReceiver, Events, Timing};

/// Record an account of the config in the cache (a POP3 account with its local folders, there
/// from the start since its mail lives in the cache); its id there.
pub fn register(store: &mut Store, a: &AccountConfig) -> Result<AccountId, StoreError> {
    if a.pop3.is_some() {
        let names: Vec<_> = a.folders.iter().map(|(r, n)| (*r, n.clone())).collect();
        Ok(store.pop3_setup(&a.name, &a.email, &names)?.0)
    } else {
        store.upsert_account(&a.name, &a.email, AccountKind::Imap)
    }
}

/// Start the worker of an account (`id`: its id in the cache, see [`register`]): the POP3
/// fetcher for a POP3 account, else the IMAP engine.
pub fn spawn_engine(
    id: AccountId,
    account: AccountConfig,
    store: StoreHandle,
    events: Events,
    timing: Timing,
) -> (EngineHandle, JoinHandle<()>) {
    if account.pop3.is_some() {
        crate::pop3::actor::spawn(id, account, store, events, timing)
    } else {
        crate::sync::engine::spawn(id, account, store, events, timing)
    }
}

/// Record an account in the cache ([`register`]) and start its worker writing through
/// `store` (`tern sync --watch` and the tests, which start workers one by one).
pub async fn start_worker(
    account: AccountConfig,
    store: StoreHandle,
    events: Events,
    timing: Timing,
) -> Result<(EngineHandle, JoinHandle<()>), StoreError> {
    let a = account.clone();
    let id = store.call(move |s| register(s, &a)).await?;
    Ok(spawn_engine(id, account, store, events, timing))
}

/// The running background: what the UI needs to talk to it, and its tasks.
pub struct Runtime {
    /// The worker of each account with an incoming server, by the account's cache id.
    pub engines: HashMap<AccountId, EngineHandle>,
    /// What the workers report (taken by the UI).
    pub events: Option<EventReceiver>,
    /// One per account that can send (taken by the UI).
    pub senders: Vec<Sender>,
    tasks: Vec<JoinHandle<()>>,
    outbox: Vec<JoinHandle<()>>,
}

/// Record every account of the config in the cache ([`register`]), then start a worker per account
/// with an incoming server and an outbox worker per account that can send. Must run inside a
/// tokio runtime.
pub fn start(cfg: &Config, store: &mut Store) -> Result<Runtime, StoreError> {
    let mut incoming = Vec::new();
    let mut smtp_accounts = Vec::new();
    for a in &cfg.accounts {
        let id = register(store, a)?;
        if a.imap.is_some() || a.pop3.is_some() {
            incoming.push((id, a.clone()));
        }
        if a.smtp.is_some() {
            smtp_accounts.push((id, a.clone()));
        }
    }
    let (tx, rx) = crate::worker::events();
    let mut rt = Runtime {
        engines: HashMap::new(),
        events: Some(rx),
        senders: Vec::new(),
        tasks: Vec::new(),
        outbox: Vec::new(),
    };
    // IMAP engines first, then POP3 fetchers (a POP3 fetcher answers the same commands:
    // SyncNow polls at once).
    incoming.sort_by_key(|(_, a)| a.pop3.is_some());
    for (id, account) in incoming {
        let store = StoreHandle::open_in_dir(&cfg.data_dir)?;
        let timing = Timing::for_account(&account);
        let (handle, task) = spawn_engine(id, account, store, tx.clone(), timing);
        rt.engines.insert(id, handle);
        rt.tasks.push(task);
    }
    for (id, account) in smtp_accounts {
        let store = StoreHandle::open_in_dir(&cfg.data_dir)?;
        let engine = rt.engines.get(&id).cloned();
        rt.start_outbox(id, account, store, engine, tx.clone());
    }
    Ok(rt)
}

impl Runtime {
    /// The outbox worker of an account; a sent message's Sent copy (or a refused one's draft)
    /// waits in the IMAP queue, so its engine is told.
    fn start_outbox(
        &mut self,
        id: AccountId,
        account: AccountConfig,
        store: StoreHandle,
        engine: Option<EngineHandle>,
        events: Events,
    ) {
        let me: Vec<Address> = std::iter::once(account.email.clone())
            .chain(account.aliases.iter().cloned())
            .map(|email| Address {
                name: account.display_name.clone(),
                email,
            })
            .collect();
        let signatures = Signatures {
            default: account.signature.clone(),
            by_address: account.signatures.clone(),
        };
        let (kick, task) = crate::send::spawn_worker(account, store, move |r| {
            if (r.sent_copy || r.to_drafts || r.original_flagged)
                && let Some(e) = &engine
            {
                e.send(Command::Replay);
            }
            events.send(Event::Notice {
                account: id,
                text: crate::send::describe(r),
                problem: r.state != OutState::Sent,
            });
        });
        self.senders.push(Sender {
            account: id,
            me,
            signatures,
            kick: Some(kick),
        });
        self.outbox.push(task);
    }

    /// Tell every account worker to shut down (the UI does so itself when it quits).
    pub fn shutdown(&self) {
        for e in self.engines.values() {
            e.send(Command::Shutdown);
        }
    }

    /// Stop the outbox workers, then give the account workers (told to shut down) up to
    /// `grace` to log out. Returns whether every account worker ended in time, without a panic.
    pub async fn stop(self, grace: Duration) -> bool {
        for w in &self.outbox {
            w.abort();
        }
        match tokio::time::timeout(grace, futures::future::join_all(self.tasks)).await {
            Ok(ended) => ended.iter().all(Result::is_ok),
            Err(_) => false,
        }
    }
}
