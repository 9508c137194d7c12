//! One long-running fetcher per POP3 account: a [`Protocol`] of the account worker, like the
//! IMAP engine (the same [`Command`]s, [`Event`]s and [`EngineHandle`], so the UI and the
//! runtime treat both alike): poll the server now, then every `poll_interval` and whenever
//! asked (SyncNow); retry with exponential backoff and jitter while the server cannot be
//! reached or the mailbox is in use; after a refused login, wait until asked again. Changes
//! are announced after the cache has committed them.
//!
//! Everything else a POP3 account does is local: its mail is all in the cache, so a body is
//! always at hand, search needs no server, and triage queues nothing to replay.

use std::time::Duration;

use super::fetch::{self, FetchSummary};
use crate::config::AccountConfig;
use crate::domain::{AccountId, MsgId};
use crate::store::StoreHandle;
use crate::sync::{ErrorKind, SyncError};
use crate::worker::{self, Command, EngineHandle, Event, Events, Protocol, Stop, Timing, Worker};

/// Start the fetcher of a POP3 account; it polls at once.
pub fn spawn(
    id: AccountId,
    account: AccountConfig,
    store: StoreHandle,
    events: Events,
    timing: Timing,
) -> (EngineHandle, tokio::task::JoinHandle<()>) {
    worker::spawn(Fetcher, id, account, store, events, timing)
}

/// The POP3 protocol of the account worker: a session is one poll.
struct Fetcher;

impl Protocol for Fetcher {
    async fn start(&mut self, w: &mut Worker) {
        // The folders are there (and the account is a POP3 one) before the first poll ends.
        if let Err(e) = fetch::setup_folders(&w.account, &w.store).await {
            tracing::warn!(account = %w.account.name, error = %e, "cannot set up the local folders");
        }
    }

    /// Connect and fetch once; progress goes out as Syncing states.
    async fn session(&mut self, w: &mut Worker) -> Result<Stop, SyncError> {
        let password = w.password().await?;
        let pop = fetch::connect_with(&w.account, password.as_ref()).await?;
        // What the poll brings is new mail, unless the inbox was empty (the first download).
        let id = w.id;
        let before = w.store.call(move |s| s.newest_message(id)).await?;
        let progress = worker::progress_events(w.id, w.events.clone());
        // Between batches: commands are answered, and a Shutdown ends the download.
        let mut shutdown = false;
        let summary: FetchSummary = {
            let (id, account, store, events, commands) =
                (w.id, &w.account, &w.store, &w.events, &mut w.commands);
            let mut stop = || {
                while let Some(cmd) = commands.try_recv() {
                    match cmd {
                        Command::Shutdown => shutdown = true,
                        // Polling already: what came meanwhile arrives at the next poll.
                        Command::SyncNow => {}
                        other => answer_locally(id, store, events, other),
                    }
                }
                shutdown
            };
            fetch::fetch_connected(pop, account, store, &progress, &mut stop).await?
        };
        tracing::info!(account = %w.account.name, ?summary, "POP3 poll done");
        if summary.new > 0 || summary.deleted > 0 {
            w.changed(None);
        }
        if let (Some(before), true) = (before, summary.new > 0) {
            let arrived = w.store.call(move |s| s.messages_after(id, before)).await?;
            w.arrived(arrived);
        }
        if shutdown {
            return Ok(Stop::Shutdown);
        }
        // Not "online": the connection is closed until the next poll.
        w.polled();
        Ok(Stop::Done)
    }

    /// Between polls every command is answered from the cache.
    fn offline(&mut self, w: &Worker, cmd: Command) {
        answer_locally(w.id, &w.store, &w.events, cmd);
    }

    /// A POP3 server that cannot be reached or whose mailbox is in use is tried again soon,
    /// whatever the error: the backoff doubles up to `backoff_max`.
    fn retry_delay(
        &self,
        timing: &Timing,
        _kind: ErrorKind,
        backoff: &mut Duration,
        _ran: Duration,
    ) -> Duration {
        let wait = *backoff;
        *backoff = (*backoff * 2).min(timing.backoff_max);
        wait
    }
}

/// Commands a POP3 account answers from the cache alone.
fn answer_locally(account: AccountId, store: &StoreHandle, events: &Events, cmd: Command) {
    match cmd {
        // Its mail is all in the cache: nothing to ask a server.
        Command::Search { req, .. } => {
            events.send(Event::Searched {
                req,
                account,
                found: Vec::new(),
                error: None,
            });
        }
        Command::FetchBody { msg } => {
            let (store, events) = (store.clone(), events.clone());
            tokio::spawn(async move { answer_body(&store, &events, msg).await });
        }
        // Nothing to replay: the change (triage, a Sent copy) is in the cache already, and
        // the UI is told so, as an IMAP engine does once it replayed.
        Command::Replay => {
            events.send(Event::Changed {
                account,
                mailbox: None,
            });
        }
        // There is no open-mailbox push.
        Command::Watch { .. } => {}
        Command::SyncNow | Command::Shutdown => {}
    }
}

/// A body asked for: it is in the cache (downloaded with its message), unless something
/// removed it.
async fn answer_body(store: &StoreHandle, events: &Events, msg: MsgId) {
    let ev = match store.call(move |s| s.raw_message(msg)).await {
        Ok(Some(_)) => Event::BodyFetched { msg },
        Ok(None) => Event::BodyFailed {
            msg,
            error: "the message is stored locally only and its body is missing from the cache"
                .into(),
        },
        Err(e) => Event::BodyFailed {
            msg,
            error: e.to_string(),
        },
    };
    events.send(ev);
}
