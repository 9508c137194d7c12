//! One long-running fetcher per POP3 account, driven like the IMAP engine (the same
//! [`Command`]s, [`Event`]s and [`EngineHandle`], so the UI and `main` treat both alike): poll
//! the server now, then every `poll_interval` and whenever asked (SyncNow); retry with
//! exponential backoff and jitter while the server cannot be reached or the mailbox is in use;
//! after a refused login, wait until asked again. Changes are announced after the cache has
//! committed them.
//!
//! Everything else a POP3 account does is local: its mail is all in the cache, so a body is
//! always at hand, search needs no server, and triage queues nothing to replay.

use std::time::Duration;

use tokio::sync::mpsc;

use super::fetch::{self, FetchSummary};
use crate::config::{AccountConfig, Secret};
use crate::domain::{ConnState, MsgId};
use crate::store::StoreHandle;
use crate::sync::engine::{Command, EngineHandle, Event, Timing, jittered};
use crate::sync::pass::resolve_password;
use crate::sync::{ErrorKind, SyncError};

/// Start the fetcher of a POP3 account; it polls at once.
pub fn spawn(
    account: AccountConfig,
    store: StoreHandle,
    events: mpsc::UnboundedSender<Event>,
    timing: Timing,
) -> (EngineHandle, tokio::task::JoinHandle<()>) {
    let (handle, rx, _wake) = EngineHandle::channel();
    let fetcher = Fetcher {
        account,
        store,
        events,
        rx,
        timing,
        password: None,
        last_state: None,
    };
    (handle, tokio::spawn(fetcher.run()))
}

struct Fetcher {
    account: AccountConfig,
    store: StoreHandle,
    events: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Command>,
    timing: Timing,
    /// Resolved once per engine start and kept in memory only.
    password: Option<Option<Secret>>,
    last_state: Option<ConnState>,
}

/// What happened to a poll that did not fail.
enum Polled {
    Done,
    Shutdown,
}

impl Fetcher {
    fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    /// Report a state, once: a state equal to the last one reported is not sent again.
    fn state(&mut self, state: ConnState) {
        if self.last_state.as_ref() == Some(&state) {
            return;
        }
        self.last_state = Some(state.clone());
        self.emit(Event::State {
            account: self.account.name.clone(),
            state,
        });
    }

    async fn run(mut self) {
        // The folders are there (and the account is a POP3 one) before the first poll ends.
        if let Err(e) = fetch::setup_folders(&self.account, &self.store).await {
            tracing::warn!(account = %self.account.name, error = %e, "cannot set up the local folders");
        }
        let mut backoff = Duration::from_secs(1);
        loop {
            self.state(ConnState::Connecting);
            let wait = match self.poll().await {
                Ok(Polled::Shutdown) => return,
                Ok(Polled::Done) => {
                    backoff = Duration::from_secs(1);
                    Some(self.timing.poll_interval)
                }
                Err(e) if !e.is_transient() => {
                    tracing::warn!(account = %self.account.name, error = %e, "fetcher stopped until asked again");
                    self.state(ConnState::Failed(e.to_string()));
                    if e.kind == ErrorKind::Auth {
                        self.password = None; // the user may have fixed it: ask again next time
                    }
                    None
                }
                Err(e) => {
                    tracing::info!(account = %self.account.name, error = %e, ?backoff, "offline, will retry");
                    self.state(ConnState::Offline(e.to_string()));
                    let wait = jittered(backoff);
                    backoff = (backoff * 2).min(self.timing.backoff_max);
                    Some(wait)
                }
            };
            if !self.wait(wait).await {
                return;
            }
        }
    }

    /// Between polls: answer commands until it is time to poll again (after `delay`, or on
    /// SyncNow). Returns false on Shutdown.
    async fn wait(&mut self, delay: Option<Duration>) -> bool {
        let deadline = delay.map(|d| tokio::time::Instant::now() + d);
        loop {
            let cmd = match deadline {
                Some(at) => match tokio::time::timeout_at(at, self.rx.recv()).await {
                    Ok(cmd) => cmd,
                    Err(_) => return true,
                },
                None => self.rx.recv().await,
            };
            match cmd {
                None | Some(Command::Shutdown) => return false,
                Some(Command::SyncNow) => return true,
                Some(other) => answer_locally(&self.account, &self.store, &self.events, other),
            }
        }
    }

    /// Connect and fetch once; progress goes out as Syncing states.
    async fn poll(&mut self) -> Result<Polled, SyncError> {
        if self.password.is_none() {
            self.password = Some(resolve_password(&self.account).await?);
        }
        let password = self.password.clone().flatten();
        let pop = fetch::connect_with(&self.account, password.as_ref()).await?;
        let progress =
            crate::sync::engine::progress_events(self.account.name.clone(), self.events.clone());
        // Between batches: commands are answered, and a Shutdown ends the download.
        let mut shutdown = false;
        let summary: FetchSummary = {
            let (account, store, events, rx) =
                (&self.account, &self.store, &self.events, &mut self.rx);
            let mut stop = || {
                while let Ok(cmd) = rx.try_recv() {
                    match cmd {
                        Command::Shutdown => shutdown = true,
                        // Polling already: what came meanwhile arrives at the next poll.
                        Command::SyncNow => {}
                        other => answer_locally(account, store, events, other),
                    }
                }
                shutdown
            };
            fetch::fetch_connected(pop, account, store, &progress, &mut stop).await?
        };
        tracing::info!(account = %self.account.name, ?summary, "POP3 poll done");
        if summary.new > 0 || summary.deleted > 0 {
            self.emit(Event::Changed {
                account: self.account.name.clone(),
                mailbox: None,
            });
        }
        if shutdown {
            return Ok(Polled::Shutdown);
        }
        // Progress went out directly as Syncing states: report Online whatever came before.
        self.last_state = None;
        self.state(ConnState::Online);
        Ok(Polled::Done)
    }
}

/// Commands a POP3 account answers from the cache alone.
fn answer_locally(
    account: &AccountConfig,
    store: &StoreHandle,
    events: &mpsc::UnboundedSender<Event>,
    cmd: Command,
) {
    match cmd {
        // Its mail is all in the cache: nothing to ask a server.
        Command::Search { req, .. } => {
            let _ = events.send(Event::Searched {
                req,
                account: account.name.clone(),
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
            let _ = events.send(Event::Changed {
                account: account.name.clone(),
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
async fn answer_body(store: &StoreHandle, events: &mpsc::UnboundedSender<Event>, msg: MsgId) {
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
    let _ = events.send(ev);
}
