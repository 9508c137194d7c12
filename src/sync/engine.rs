//! The IMAP engine: one long-running [`Protocol`] per IMAP account, run by the account worker
//! ([`crate::worker`], which reconnects with backoff and answers commands while offline).
//! A session connects, syncs everything ([`super::pass`]), then serves commands first, keeps
//! bodies offline ([`super::bodies`]) and IDLEs on INBOX between passes over every mailbox on
//! an interval; the mailbox the user has open is pushed over a second connection (a
//! [`Watcher`]). Changes are announced as events, always after the cache has committed them.

use std::time::{Duration, Instant};

use super::imap::{Imap, Untagged};
use super::pass::{self, SyncOptions, Tracked};
use super::{ErrorKind, SyncError, bodies, search};
use crate::config::{AccountConfig, Offline, Secret};
use crate::domain::{AccountId, ConnState, MailboxId, Role};
use crate::store::StoreHandle;
use crate::worker::{
    self, Command, EngineHandle, Event, Events, Protocol, Stop, Timing, Worker, jittered,
};

/// Messages whose header fields are indexed per store call (about 50 ms of work).
const HEADER_INDEX_BATCH: u32 = 2000;

/// Start an engine for an IMAP account.
pub fn spawn(
    id: AccountId,
    account: AccountConfig,
    store: StoreHandle,
    events: Events,
    timing: Timing,
) -> (EngineHandle, tokio::task::JoinHandle<()>) {
    let engine = Engine {
        watching: None,
        watcher: None,
    };
    worker::spawn(engine, id, account, store, events, timing)
}

/// What the IMAP engine keeps besides the worker's state.
struct Engine {
    /// The mailbox the user has open, pushed over a second connection.
    watching: Option<MailboxId>,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

impl Protocol for Engine {
    // Long: the engine's loop: commands first, then one branch per source (IDLE, timers,
    // prefetch, the watcher); the order of the branches is the priority and is read here.
    async fn session(&mut self, w: &mut Worker) -> Result<Stop, SyncError> {
        let password = w.password().await?;
        let mut imap = pass::connect_with(&w.account, password.as_ref()).await?;
        let mut tracked = full_pass(w, &mut imap).await?;
        // Only a session that got through a pass has shown the account works: an error that
        // comes back on every connect (a server answer tern cannot use) keeps backing off.
        w.connected();
        let mut last_pass = Instant::now();
        // Whether every body under the limit is cached (reset when new mail may have come).
        let mut prefetched = false;
        // Whether every message without a body has its header fields in the index.
        let mut headers_indexed = false;
        loop {
            // Commands first: the user is waiting for them.
            while let Some(cmd) = w.commands.try_recv() {
                match cmd {
                    Command::Shutdown => {
                        imap.logout().await;
                        return Ok(Stop::Shutdown);
                    }
                    Command::FetchBody { msg } => bodies::fetch_body(w, &mut imap, msg).await?,
                    Command::Search { req, mailboxes } => {
                        search::search(w, &mut imap, req, mailboxes).await?
                    }
                    Command::SyncNow => {
                        tracked = full_pass(w, &mut imap).await?;
                        last_pass = Instant::now();
                        prefetched = false;
                        headers_indexed = false;
                    }
                    Command::Replay => replay(w, &mut imap, false).await?,
                    Command::Watch { mailbox } => {
                        if mailbox != self.watching {
                            self.watching = mailbox;
                            if let Some(t) = self.watcher.take() {
                                t.abort();
                            }
                        }
                    }
                }
            }
            self.ensure_watcher(w, &imap, &tracked);
            if last_pass.elapsed() >= w.timing.poll_interval {
                tracked = full_pass(w, &mut imap).await?;
                last_pass = Instant::now();
                prefetched = false;
                headers_indexed = false;
            }
            // Background work comes after commands: keep bodies offline, newest first.
            if w.account.offline == Offline::Bodies && w.commands.is_empty() && !prefetched {
                prefetched = bodies::prefetch(w, &mut imap, &tracked).await?;
                if !prefetched {
                    continue; // a command arrived: serve it first
                }
            }
            // Then the header fields of messages without a body into the search index, a
            // batch at a time (commands are served between batches).
            if w.commands.is_empty() && !headers_indexed {
                let n = w
                    .store
                    .call(|s| s.index_headers(HEADER_INDEX_BATCH))
                    .await?;
                if n > 0 {
                    continue;
                }
                headers_indexed = true;
            }
            let inbox = tracked
                .iter()
                .find(|t| t.role == Some(Role::Inbox))
                .cloned()
                .ok_or_else(|| SyncError::new(ErrorKind::Protocol, "the server lists no INBOX"))?;
            let wait = w
                .timing
                .poll_interval
                .saturating_sub(last_pass.elapsed())
                .min(w.timing.keepalive);
            if !imap.caps.has("IDLE") {
                let _ = tokio::time::timeout(wait, w.commands.wake().notified()).await;
                continue;
            }
            // INBOX is brought up to date as it is selected (other work may have selected
            // another mailbox meanwhile); then IDLE applies each change as the server reports it.
            if make_current(&mut imap, &w.store, &inbox).await? {
                prefetched = false;
                headers_indexed = false;
                w.changed(Some(inbox.id));
            }
            w.state(ConnState::Idle);
            let wake = w.commands.wake();
            if idle_and_apply(&mut imap, &w.store, &inbox, wait, async move {
                wake.notified().await
            })
            .await?
            {
                prefetched = false;
                headers_indexed = false;
                w.changed(Some(inbox.id));
            }
        }
    }

    /// Offline, commands are answered at once: what needs the server fails (the UI shows
    /// why); queued actions wait in the cache for the account to be back.
    fn offline(&mut self, w: &Worker, cmd: Command) {
        match cmd {
            Command::Watch { mailbox } => self.watching = mailbox,
            // Queued durably: sent when the account is back.
            Command::Replay => {}
            Command::FetchBody { msg } => w.emit(Event::BodyFailed {
                msg,
                error: "offline: the message will download when the account reconnects".into(),
            }),
            Command::Search { req, .. } => w.emit(Event::Searched {
                req,
                account: w.id,
                found: Vec::new(),
                error: Some("offline".into()),
            }),
            Command::SyncNow | Command::Shutdown => {}
        }
    }

    fn stopped(&mut self) {
        if let Some(t) = self.watcher.take() {
            t.abort();
        }
    }
}

impl Engine {
    /// Start the open-mailbox watcher when one is wanted and not running.
    /// A watcher that ended by itself hit a lasting error (it retries passing ones): it is not
    /// restarted until the user opens another mailbox.
    fn ensure_watcher(&mut self, w: &Worker, imap: &Imap, tracked: &[Tracked]) {
        let Some(mb) = self.watching else { return };
        if self.watcher.is_some() || !imap.caps.has("IDLE") {
            return;
        }
        let Some(t) = tracked
            .iter()
            .find(|t| t.id == mb && t.role != Some(Role::Inbox))
        else {
            return; // INBOX is pushed already; an unknown id is ignored
        };
        let watch = Watcher {
            id: w.id,
            account: w.account.clone(),
            password: w.known_password(),
            store: w.store.clone(),
            events: w.events.clone(),
            mailbox: t.clone(),
            timing: w.timing,
        };
        self.watcher = Some(tokio::spawn(watch.run()));
    }
}

/// Send the queued actions; announce the cache change when some were done.
/// `retry_waiting`: expunges that waited for a safe moment are tried again too.
async fn replay(w: &Worker, imap: &mut Imap, retry_waiting: bool) -> Result<(), SyncError> {
    if super::replay::replay(imap, &w.store, w.id, retry_waiting).await? > 0 {
        w.changed(None);
    }
    Ok(())
}

/// Sync every mailbox, reporting progress; returns the mailboxes now tracked.
async fn full_pass(w: &mut Worker, imap: &mut Imap) -> Result<Vec<Tracked>, SyncError> {
    // What the user did (offline too) goes first, so the sync after it sees its result;
    // expunges that waited for a safe moment are tried again at each pass.
    replay(w, imap, true).await?;
    let progress = worker::progress_events(w.id, w.events.clone());
    let (summary, tracked) = pass::sync_connected(
        imap,
        &w.account,
        &w.store,
        &SyncOptions::default(),
        &progress,
    )
    .await?;
    tracing::info!(account = %w.account.name, ?summary, "sync pass done");
    w.changed(None);
    w.online();
    Ok(tracked)
}

/// Before an IDLE on `t`: when another mailbox is selected (other work ran meanwhile), select
/// `t` and bring its cache up to date. Returns whether the cache changed.
async fn make_current(
    imap: &mut Imap,
    store: &StoreHandle,
    t: &Tracked,
) -> Result<bool, SyncError> {
    if imap.selected() == Some(t.listed.wire.as_str()) {
        return Ok(false);
    }
    let sum = pass::sync_mailbox(imap, store, t.id, &t.listed, &|_| {}).await?;
    Ok(sum.new + sum.changed + sum.removed > 0)
}

/// IDLE on the selected mailbox `t` (see [`Imap::idle`]) and apply what the server reported:
/// by UID when it said enough (QRESYNC), else by resyncing the mailbox. Returns whether the
/// mailbox changed.
async fn idle_and_apply(
    imap: &mut Imap,
    store: &StoreHandle,
    t: &Tracked,
    until: Duration,
    interrupt: impl Future<Output = ()>,
) -> Result<bool, SyncError> {
    let changes: Untagged = imap.idle(until, interrupt).await?;
    if !changes.changed() {
        return Ok(false);
    }
    if pass::apply_untagged(imap, store, t.id, changes)
        .await?
        .is_none()
    {
        pass::sync_mailbox(imap, store, t.id, &t.listed, &|_| {}).await?;
    }
    Ok(true)
}

/// IDLE on the mailbox the user has open, over its own connection, so changes there arrive as
/// fast as in INBOX. Reconnects with backoff on its own; the main engine's passes still cover the
/// mailbox if this cannot run.
struct Watcher {
    id: AccountId,
    account: AccountConfig,
    password: Option<Secret>,
    store: StoreHandle,
    events: Events,
    mailbox: Tracked,
    timing: Timing,
}

impl Watcher {
    async fn run(self) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let started = Instant::now();
            match self.session().await {
                Ok(()) => return,
                Err(e) if !e.is_transient() => {
                    tracing::warn!(account = %self.account.name, mailbox = %self.mailbox.listed.name, error = %e, "open-mailbox push stopped");
                    return;
                }
                Err(e) => {
                    tracing::info!(account = %self.account.name, mailbox = %self.mailbox.listed.name, error = %e, "open-mailbox push offline, will retry");
                    if started.elapsed() > self.timing.backoff_max {
                        backoff = Duration::from_secs(1);
                    }
                    let wait = worker::retry_delay(self.timing.backoff_max, e.kind, &mut backoff);
                    tokio::time::sleep(jittered(wait)).await;
                }
            }
        }
    }

    fn changed(&self) {
        self.events.send(Event::Changed {
            account: self.id,
            mailbox: Some(self.mailbox.id),
        });
    }

    async fn session(&self) -> Result<(), SyncError> {
        let mut imap = pass::connect_with(&self.account, self.password.as_ref()).await?;
        let t = &self.mailbox;
        loop {
            if make_current(&mut imap, &self.store, t).await? {
                self.changed();
            }
            let pending = std::future::pending::<()>();
            if idle_and_apply(&mut imap, &self.store, t, self.timing.keepalive, pending).await? {
                self.changed();
            }
        }
    }
}
