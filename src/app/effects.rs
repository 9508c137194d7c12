//! Runs Cmds: the only app code that holds the store handle and the engine handles. One
//! exhaustive `match` ([`Effects::run`]) sends each command to the submodule that runs it:
//!
//! - `store`: commands answered from the cache alone, on the store's thread; the tests and
//!   benches run exactly these, through the same [`execute_on`]
//! - `engine`: the account engines (the only app file naming the sync actor's types)
//! - `search`: the cache first, then the servers of folders without cached bodies
//! - `compose`: the files mail is written in, the outbox, Drafts, the address book
//! - `files`: attachments, links, paths
//!
//! Each command runs as its own task and answers with a Msg on the app's channel. What a
//! command did comes back as data; `update` words the notices and keeps the undo records.

mod compose;
pub mod engine;
mod files;
mod firststart;
mod line;
mod news;
pub mod openers;
mod search;
mod store;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::msg::{Cmd, Msg};
use crate::domain::AccountId;
use crate::store::StoreHandle;
use engine::{EngineHandle, Engines};

pub use files::{complete_path, opener, save_attachment};
pub use line::load_history;
pub use search::SERVER_SEARCH_PAUSE;
pub use store::{execute_on, triage};

/// Room for the answers of the commands a burst of input asks for: a few per message of a
/// batch (a held key repeats at some 30 per second; each press asks for a page, a message and
/// a count or two), many times over. When it is full an answer waits in its task (the app
/// drains the channel before every frame): answers are never dropped, and the UI never waits
/// on a send.
pub const ANSWERS_CAPACITY: usize = 1024;

#[derive(Clone)]
pub struct Effects {
    store: StoreHandle,
    tx: mpsc::Sender<Msg>,
    engines: Engines,
    dirs: Arc<Dirs>,
    senders: Arc<Vec<Sender>>,
    /// How new mail is announced (None: not at all, as in the tests and the demo).
    notify: Option<Arc<news::Notify>>,
    /// The newest search asked for: a server is asked only about a query the user stopped
    /// typing at (see [`SERVER_SEARCH_PAUSE`]).
    last_search: Arc<AtomicU64>,
    /// The pipes running, by request: a send stops one (its popup closed).
    pipes:
        Arc<std::sync::Mutex<HashMap<crate::domain::RequestId, tokio::sync::oneshot::Sender<()>>>>,
    /// The first start's setup: where the config goes and the discovery's settings (None:
    /// there is a config).
    setup: Option<Arc<super::firststart::SetupStart>>,
}

/// An account that can send: its addresses (its own first, then aliases), its signature, and
/// the kick that wakes its outbox worker.
#[derive(Clone)]
pub struct Sender {
    pub account: AccountId,
    pub me: Vec<crate::domain::Address>,
    pub signatures: crate::domain::compose::Signatures,
    /// Wakes the account's outbox worker; None: nothing sends from this account (the demo),
    /// a message stays in the outbox and a copy goes to Sent.
    pub kick: Option<crate::send::Kick>,
}

/// Where files the user asks for go.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Saved attachments.
    pub download: PathBuf,
    /// Attachments saved only to be opened (private to the user).
    pub scratch: PathBuf,
    /// `[openers]`: the command by MIME type (then mailcap, then the system opener).
    pub openers: std::collections::BTreeMap<String, String>,
    /// The config file (`:reload` reads it again); None: none (the demo).
    pub config: Option<PathBuf>,
    /// Where the command line's history is kept; None: nowhere (the demo, tests).
    pub history: Option<PathBuf>,
}

impl Effects {
    pub fn new(
        store: StoreHandle,
        tx: mpsc::Sender<Msg>,
        engines: HashMap<AccountId, EngineHandle>,
        dirs: Dirs,
    ) -> Effects {
        Effects {
            store,
            tx,
            engines: Engines::new(engines),
            dirs: Arc::new(dirs),
            senders: Arc::new(Vec::new()),
            notify: None,
            last_search: Arc::new(AtomicU64::new(0)),
            pipes: Default::default(),
            setup: None,
        }
    }

    /// Run the first start's setup (there is no config yet).
    pub fn with_setup(mut self, setup: super::firststart::SetupStart) -> Effects {
        self.setup = Some(Arc::new(setup));
        self
    }

    /// The accounts that can send.
    pub fn with_senders(mut self, senders: Vec<Sender>) -> Effects {
        self.senders = Arc::new(senders);
        self
    }

    /// Announce new mail as these accounts and this config say.
    pub fn with_notify(
        mut self,
        accounts: Vec<crate::config::AccountConfig>,
        config: crate::config::NotifyConfig,
    ) -> Effects {
        self.notify = Some(Arc::new(news::Notify::new(accounts, config)));
        self
    }

    /// Every engine stops (the app quits).
    pub fn shutdown(&self) {
        self.engines.shutdown();
    }

    /// Run a command. The one dispatcher: every command has its arm.
    // Long: one arm per command, each a call into a submodule.
    pub fn run(&self, cmd: Cmd) {
        let fx = self.clone();
        match cmd {
            Cmd::Announce { msgs } => self.answer(news::announce(fx, msgs)),
            // The run loop writes it between frames; here (a harness without a terminal) it
            // has nowhere to go.
            Cmd::Ring(_) => {}
            Cmd::SyncNow => {
                self.engines.sync_now();
                // And the outbox: what waits for a retry goes now.
                for k in self.senders.iter().filter_map(|s| s.kick.as_ref()) {
                    k.flush();
                }
            }
            Cmd::LoadMailboxes
            | Cmd::PollCache
            | Cmd::LoadEnvelopes { .. }
            | Cmd::LoadThreads { .. }
            | Cmd::LoadEnvelopesByIds { .. }
            | Cmd::LoadMessage { .. }
            | Cmd::LoadActionLog
            | Cmd::LoadServerHits { .. }
            | Cmd::MarkRange { .. }
            | Cmd::MarkThread { .. } => self.answer(store::load(fx.store, cmd)),
            Cmd::SetFlag { .. } | Cmd::MoveTo { .. } | Cmd::Expunge { .. } | Cmd::Undo { .. } => {
                self.answer(store::act(fx, cmd))
            }
            Cmd::Search {
                req,
                query,
                scope,
                limit,
            } => {
                self.last_search.fetch_max(req.0, Ordering::SeqCst);
                tokio::spawn(search::run(fx, req, query, scope, limit));
            }
            Cmd::FetchBody { msg } => self.answer(engine::fetch_body(fx.store, fx.engines, msg)),
            Cmd::WatchMailbox { mailbox } => {
                tokio::spawn(engine::watch(fx.store, fx.engines, mailbox));
            }
            Cmd::StartCompose { kind, msg, mailbox } => {
                self.answer(compose::start(fx, kind, msg, mailbox))
            }
            Cmd::ResumeDraft { msg } => self.answer(compose::resume(fx, msg)),
            Cmd::WriteCompose { path, text } => {
                self.answer(async move { compose::write(path, text) })
            }
            Cmd::ReadCompose {
                path,
                base,
                text,
                account,
                replaces,
            } => self.answer(compose::read(fx, path, base, text, account, replaces)),
            Cmd::AttachFile { path } => self.answer(compose::attach(path)),
            Cmd::SendCompose {
                delay_secs,
                account,
                draft,
                original,
                kind,
                file,
                draft_msg,
            } => self.answer(compose::send(
                fx,
                compose::Send {
                    account,
                    draft,
                    original,
                    kind,
                    file,
                    draft_msg,
                    delay_secs,
                },
            )),
            Cmd::SendCountdown => self.answer(async {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                Msg::SendCountdown {
                    now: chrono::Utc::now().timestamp(),
                }
            }),
            Cmd::WithdrawSend { id } => self.answer(async move {
                let withdrawn = fx.store.call(move |s| s.outbox_withdraw(id)).await;
                match withdrawn {
                    Ok(withdrawn) => Msg::SendWithdrawn { id, withdrawn },
                    Err(e) => Msg::Failed(format!("the outbox: {e}")),
                }
            }),
            Cmd::SaveDraft {
                account,
                draft,
                replaces,
                file,
            } => self.answer(compose::save(fx, account, draft, replaces, file)),
            Cmd::AutosaveDraft {
                account,
                draft,
                replaces,
            } => self.answer(compose::autosave(fx, account, draft, replaces)),
            Cmd::DiscardCompose { file } => self.answer(compose::discard(file)),
            Cmd::DropDraft { msg } => self.answer(compose::drop_draft(fx, msg)),
            Cmd::SuggestAddresses { req, prefix } => {
                self.answer(compose::suggest(fx.store, req, prefix))
            }
            Cmd::CompletePath { input } => self.answer(files::complete(input)),
            Cmd::SaveAttachment { msg, index } => {
                self.answer(files::attachment(fx, msg, index, false))
            }
            Cmd::OpenAttachment { msg, index } => {
                self.answer(files::attachment(fx, msg, index, true))
            }
            // At once, as before: the opener is started, not waited for.
            Cmd::OpenUrl { url } => {
                let failed = files::open_link(&url);
                self.answer(std::future::ready(failed));
            }
            Cmd::Line(c) => line::run(self, c),
            Cmd::Setup(c) => firststart::run(self, c),
            Cmd::MarkReadLater { msg, after_ms } => self.answer(async move {
                tokio::time::sleep(std::time::Duration::from_millis(after_ms)).await;
                Msg::ReadDelayElapsed { msg }
            }),
        }
    }

    /// Run a job as its own task; its answer (if any) goes to the app.
    fn answer<M>(&self, job: impl Future<Output = M> + Send + 'static)
    where
        M: Into<Option<Msg>> + Send + 'static,
    {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            if let Some(msg) = job.await.into() {
                // A full channel waits here (the app is behind), never drops the answer.
                let _ = tx.send(msg).await;
            }
        });
    }
}
