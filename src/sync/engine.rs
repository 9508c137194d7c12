//! One long-running engine per IMAP account: connect, sync everything, then IDLE on INBOX and
//! pass over the other mailboxes on an interval; bodies on demand ahead of background work;
//! reconnect with exponential backoff and jitter; report state and changes as events, always
//! after the cache has committed them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};

use super::imap::{Imap, Untagged};
use super::pass::{self, Progress, SyncOptions, Tracked};
use super::{ErrorKind, SyncError, mutf7, plan};
use crate::config::{AccountConfig, Offline, POP3_POLL_INTERVAL, Secret};
use crate::domain::message;
use crate::domain::{ConnState, MailboxId, MsgId, Role};
use crate::store::StoreHandle;

/// Bodies downloaded per command by the background prefetch (small, so a command never waits
/// long behind it).
const PREFETCH_BATCH: u32 = 25;
/// Messages whose header fields are indexed per store call (about 50 ms of work).
const HEADER_INDEX_BATCH: u32 = 2000;

/// Of a message over the offline limit, this much of its text is kept offline (the text comes
/// first in nearly every message; attachments follow it).
const TEXT_PREFETCH_BYTES: u32 = 256 * 1024;

/// How often a running prefetch looks at INBOX for new mail.
const PREFETCH_INBOX_CHECK: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Download a message's body now (the user opened it).
    FetchBody {
        msg: MsgId,
    },
    /// Sync every mailbox now (and retry at once when offline or after an auth failure).
    SyncNow,
    /// The user acted: send the queued actions to the server now.
    Replay,
    /// The user has this mailbox open: keep it pushed too (IDLE on a second connection), or
    /// stop doing so (None). INBOX is always pushed.
    Watch {
        mailbox: Option<MailboxId>,
    },
    /// Search these mailboxes on the server (their bodies are not cached), each with its
    /// SEARCH criteria; answered with [`Event::Searched`].
    Search {
        req: u64,
        mailboxes: Vec<(MailboxId, String)>,
    },
    Shutdown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    State {
        account: String,
        state: ConnState,
    },
    /// The cache changed (for this mailbox, or for several when None).
    Changed {
        account: String,
        mailbox: Option<MailboxId>,
    },
    BodyFetched {
        msg: MsgId,
    },
    BodyFailed {
        msg: MsgId,
        error: String,
    },
    /// The answer to [`Command::Search`]: the cached messages the server found, or why it
    /// could not be asked (or not about every mailbox).
    Searched {
        req: u64,
        account: String,
        found: Vec<MsgId>,
        error: Option<String>,
    },
    /// Something for the status line (the outbox worker's news); `problem`: shown as an error.
    Notice {
        account: String,
        text: String,
        problem: bool,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// End an IDLE with no word from the server after this long (the link may be dead).
    pub keepalive: Duration,
    /// Pass over every mailbox this often.
    pub poll_interval: Duration,
    pub backoff_max: Duration,
}

impl Timing {
    /// The defaults, with the account's `poll_interval` when it sets one (a POP3 account's
    /// default is [`POP3_POLL_INTERVAL`]).
    pub fn for_account(account: &AccountConfig) -> Timing {
        let mut t = Timing::default();
        if let Some(p) = account.imap.as_ref().and_then(|s| s.poll_interval) {
            t.poll_interval = p;
        }
        if let Some(pop3) = &account.pop3 {
            t.poll_interval = pop3.poll_interval.unwrap_or(POP3_POLL_INTERVAL);
        }
        t
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            keepalive: Duration::from_secs(5 * 60),
            poll_interval: Duration::from_secs(2 * 60),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// Talk to an engine. Cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    tx: mpsc::UnboundedSender<Command>,
    wake: Arc<Notify>,
}

impl EngineHandle {
    /// A handle and what the engine behind it reads: its commands, and the wake-up each send
    /// gives (so an engine waiting on the network serves a command at once).
    pub(crate) fn channel() -> (EngineHandle, mpsc::UnboundedReceiver<Command>, Arc<Notify>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let wake = Arc::new(Notify::new());
        let handle = EngineHandle {
            tx,
            wake: Arc::clone(&wake),
        };
        (handle, rx, wake)
    }

    pub fn send(&self, cmd: Command) {
        let _ = self.tx.send(cmd);
        // Ends an IDLE so the command runs at once.
        self.wake.notify_one();
    }
}

/// Start an engine for an IMAP account.
pub fn spawn(
    account: AccountConfig,
    store: StoreHandle,
    events: mpsc::UnboundedSender<Event>,
    timing: Timing,
) -> (EngineHandle, tokio::task::JoinHandle<()>) {
    let (handle, rx, wake) = EngineHandle::channel();
    let engine = Engine {
        account,
        store,
        events,
        rx,
        wake,
        timing,
        password: None,
        watching: None,
        watcher: None,
        last_state: None,
    };
    (handle, tokio::spawn(engine.run()))
}

struct Engine {
    account: AccountConfig,
    store: StoreHandle,
    events: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Command>,
    wake: Arc<Notify>,
    timing: Timing,
    /// Resolved once per engine start and kept in memory only.
    password: Option<Option<Secret>>,
    /// The mailbox the user has open, pushed over a second connection.
    watching: Option<MailboxId>,
    watcher: Option<tokio::task::JoinHandle<()>>,
    last_state: Option<ConnState>,
}

/// Why a connected session ended without an error.
enum Stop {
    Shutdown,
}

/// Sync progress as engine events: a Syncing state per mailbox step, and a cache change so the
/// UI shows what arrived.
pub(crate) fn progress_events(
    account: String,
    events: mpsc::UnboundedSender<Event>,
) -> impl Fn(Progress) + Send + Sync {
    move |p: Progress| {
        if let Progress::Mailbox {
            name: mailbox,
            done,
            total,
        } = p
        {
            let _ = events.send(Event::State {
                account: account.clone(),
                state: ConnState::Syncing {
                    mailbox,
                    done,
                    total,
                },
            });
            let _ = events.send(Event::Changed {
                account: account.clone(),
                mailbox: None,
            });
        }
    }
}

/// A little jitter (up to a quarter) so many clients do not reconnect in step.
pub(crate) fn jittered(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    d + d.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

impl Engine {
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
        self.run_sessions().await;
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
    }

    async fn run_sessions(&mut self) {
        let mut backoff = Duration::from_secs(1);
        loop {
            self.state(ConnState::Connecting);
            let started = Instant::now();
            match self.session(&mut backoff).await {
                Ok(Stop::Shutdown) => return,
                Err(e) if !e.is_transient() => {
                    tracing::warn!(account = %self.account.name, error = %e, "engine stopped until asked again");
                    self.state(ConnState::Failed(e.to_string()));
                    if e.kind == ErrorKind::Auth {
                        self.password = None; // the user may have fixed it: ask again next time
                    }
                    if !self.wait_for_retry(None).await {
                        return;
                    }
                }
                Err(e) => {
                    if started.elapsed() > self.timing.backoff_max {
                        backoff = Duration::from_secs(1); // a session that ran a while
                    }
                    let wait = super::retry_delay(self.timing.backoff_max, e.kind, &mut backoff);
                    tracing::info!(account = %self.account.name, error = %e, ?wait, "offline, will retry");
                    self.state(ConnState::Offline(e.to_string()));
                    if !self.wait_for_retry(Some(jittered(wait))).await {
                        return;
                    }
                }
            }
        }
    }

    /// While not connected: answer commands until it is time to retry (after `delay`, or on
    /// SyncNow). Returns false on Shutdown.
    async fn wait_for_retry(&mut self, delay: Option<Duration>) -> bool {
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
                Some(Command::Watch { mailbox }) => self.watching = mailbox,
                // Queued durably: sent when the account is back.
                Some(Command::Replay) => {}
                Some(Command::FetchBody { msg }) => self.emit(Event::BodyFailed {
                    msg,
                    error: "offline: the message will download when the account reconnects".into(),
                }),
                Some(Command::Search { req, .. }) => self.emit(Event::Searched {
                    req,
                    account: self.account.name.clone(),
                    found: Vec::new(),
                    error: Some("offline".into()),
                }),
            }
        }
    }

    async fn session(&mut self, backoff: &mut Duration) -> Result<Stop, SyncError> {
        if self.password.is_none() {
            self.password = Some(pass::resolve_password(&self.account).await?);
        }
        let password = self.password.clone().flatten();
        let mut imap = pass::connect_with(&self.account, password.as_ref()).await?;
        let mut tracked = self.full_pass(&mut imap).await?;
        // Only a session that got through a pass has shown the account works: an error that
        // comes back on every connect (a server answer tern cannot use) keeps backing off.
        *backoff = Duration::from_secs(1);
        let mut last_pass = Instant::now();
        // Whether every body under the limit is cached (reset when new mail may have come).
        let mut prefetched = false;
        // Whether every message without a body has its header fields in the index.
        let mut headers_indexed = false;
        loop {
            // Commands first: the user is waiting for them.
            while let Ok(cmd) = self.rx.try_recv() {
                match cmd {
                    Command::Shutdown => {
                        imap.logout().await;
                        return Ok(Stop::Shutdown);
                    }
                    Command::FetchBody { msg } => self.fetch_body(&mut imap, msg).await?,
                    Command::Search { req, mailboxes } => {
                        self.search(&mut imap, req, mailboxes).await?
                    }
                    Command::SyncNow => {
                        tracked = self.full_pass(&mut imap).await?;
                        last_pass = Instant::now();
                        prefetched = false;
                        headers_indexed = false;
                    }
                    Command::Replay => self.replay(&mut imap, false).await?,
                    Command::Watch { mailbox } => {
                        if mailbox != self.watching {
                            self.watching = mailbox;
                            if let Some(w) = self.watcher.take() {
                                w.abort();
                            }
                        }
                    }
                }
            }
            self.ensure_watcher(&imap, &tracked);
            if last_pass.elapsed() >= self.timing.poll_interval {
                tracked = self.full_pass(&mut imap).await?;
                last_pass = Instant::now();
                prefetched = false;
                headers_indexed = false;
            }
            // Background work comes after commands: keep bodies offline, newest first.
            if self.account.offline == Offline::Bodies && self.rx.is_empty() && !prefetched {
                prefetched = self.prefetch(&mut imap, &tracked).await?;
                if !prefetched {
                    continue; // a command arrived: serve it first
                }
            }
            // Then the header fields of messages without a body into the search index, a
            // batch at a time (commands are served between batches).
            if self.rx.is_empty() && !headers_indexed {
                let n = self
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
            let wait = self
                .timing
                .poll_interval
                .saturating_sub(last_pass.elapsed())
                .min(self.timing.keepalive);
            if !imap.caps.has("IDLE") {
                let _ = tokio::time::timeout(wait, self.wake.notified()).await;
                continue;
            }
            // INBOX is brought up to date as it is selected (other work may have selected
            // another mailbox meanwhile); then IDLE applies each change as the server reports it.
            if make_current(&mut imap, &self.store, &inbox).await? {
                prefetched = false;
                headers_indexed = false;
                self.emit(Event::Changed {
                    account: self.account.name.clone(),
                    mailbox: Some(inbox.id),
                });
            }
            self.state(ConnState::Idle);
            let wake = Arc::clone(&self.wake);
            if idle_and_apply(&mut imap, &self.store, &inbox, wait, async move {
                wake.notified().await
            })
            .await?
            {
                prefetched = false;
                headers_indexed = false;
                self.emit(Event::Changed {
                    account: self.account.name.clone(),
                    mailbox: Some(inbox.id),
                });
            }
        }
    }

    /// Send the queued actions; announce the cache change when some were done.
    /// `retry_waiting`: expunges that waited for a safe moment are tried again too.
    async fn replay(&mut self, imap: &mut Imap, retry_waiting: bool) -> Result<(), SyncError> {
        let name = self.account.name.clone();
        let Some(account) = self.store.call(move |s| s.account_id(&name)).await? else {
            return Ok(()); // never synced: nothing can be queued yet
        };
        if super::replay::replay(imap, &self.store, account, retry_waiting).await? > 0 {
            self.emit(Event::Changed {
                account: self.account.name.clone(),
                mailbox: None,
            });
        }
        Ok(())
    }

    /// Start the open-mailbox watcher when one is wanted and not running.
    /// A watcher that ended by itself hit a lasting error (it retries passing ones): it is not
    /// restarted until the user opens another mailbox.
    fn ensure_watcher(&mut self, imap: &Imap, tracked: &[Tracked]) {
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
            account: self.account.clone(),
            password: self.password.clone().flatten(),
            store: self.store.clone(),
            events: self.events.clone(),
            mailbox: t.clone(),
            timing: self.timing,
        };
        self.watcher = Some(tokio::spawn(watch.run()));
    }

    /// Sync every mailbox, reporting progress; returns the mailboxes now tracked.
    async fn full_pass(&mut self, imap: &mut Imap) -> Result<Vec<Tracked>, SyncError> {
        // What the user did (offline too) goes first, so the sync after it sees its result;
        // expunges that waited for a safe moment are tried again at each pass.
        self.replay(imap, true).await?;
        let progress = progress_events(self.account.name.clone(), self.events.clone());
        let (summary, tracked) = pass::sync_connected(
            imap,
            &self.account,
            &self.store,
            &SyncOptions::default(),
            &progress,
        )
        .await?;
        tracing::info!(account = %self.account.name, ?summary, "sync pass done");
        self.emit(Event::Changed {
            account: self.account.name.clone(),
            mailbox: None,
        });
        // Progress went out directly as Syncing states: report Online whatever came before.
        self.last_state = None;
        self.state(ConnState::Online);
        Ok(tracked)
    }

    /// Download missing bodies, mailbox by mailbox (INBOX first), newest first, in small
    /// batches. Returns false when it stopped early because a command is waiting.
    async fn prefetch(&mut self, imap: &mut Imap, tracked: &[Tracked]) -> Result<bool, SyncError> {
        let limit = self.account.offline_attachment_limit;
        let inbox = tracked.iter().find(|t| t.role == Some(Role::Inbox));
        let mut last_check = Instant::now();
        for t in tracked {
            let mb = t.id;
            loop {
                if !self.rx.is_empty() {
                    return Ok(false);
                }
                // Not in IDLE while this runs: look at INBOX now and then, so new mail still
                // arrives within seconds during a long prefetch.
                if let Some(inbox) = inbox
                    && imap.condstore()
                    && last_check.elapsed() >= PREFETCH_INBOX_CHECK
                {
                    if self.inbox_changed(imap, inbox).await? {
                        pass::sync_mailbox(imap, &self.store, inbox.id, &inbox.listed, &|_| {})
                            .await?;
                        self.emit(Event::Changed {
                            account: self.account.name.clone(),
                            mailbox: Some(inbox.id),
                        });
                    }
                    last_check = Instant::now();
                }
                let missing = self
                    .store
                    .call(move |s| s.bodies_missing(mb, limit, PREFETCH_BATCH))
                    .await?;
                let (missing, partial) = if missing.is_empty() {
                    // Then the text of the messages over the limit, without the attachments.
                    let texts = self
                        .store
                        .call(move |s| s.texts_missing(mb, limit, PREFETCH_BATCH))
                        .await?;
                    (texts, true)
                } else {
                    (missing, false)
                };
                if missing.is_empty() {
                    break;
                }
                if imap.selected() != Some(t.listed.wire.as_str()) {
                    imap.select(&t.listed.wire).await?;
                }
                let mut uids: Vec<u32> = missing.iter().map(|(_, uid)| *uid).collect();
                uids.sort_unstable();
                let set = plan::uid_set(&uids);
                let fetched = if partial {
                    imap.fetch_texts(&set, TEXT_PREFETCH_BYTES).await?
                } else {
                    imap.fetch_bodies(&set).await?
                };
                let by_uid: HashMap<u32, MsgId> = missing.iter().map(|(m, u)| (*u, *m)).collect();
                let bodies: Vec<(MsgId, Vec<u8>, message::MessageMeta)> = fetched
                    .into_iter()
                    .filter_map(|(uid, raw)| {
                        let msg = *by_uid.get(&uid)?;
                        let meta = message::parse(&raw).meta;
                        Some((msg, raw, meta))
                    })
                    .collect();
                if bodies.is_empty() {
                    // Expunged meanwhile: the next pass removes them; do not spin on them.
                    break;
                }
                if partial {
                    self.store
                        .call(move |s| s.store_partial_bodies(&bodies))
                        .await?;
                } else {
                    self.store.call(move |s| s.store_bodies(&bodies)).await?;
                }
                self.emit(Event::Changed {
                    account: self.account.name.clone(),
                    mailbox: Some(mb),
                });
            }
        }
        Ok(true)
    }

    /// Whether STATUS shows INBOX changed since the cache last saw it.
    async fn inbox_changed(&mut self, imap: &mut Imap, inbox: &Tracked) -> Result<bool, SyncError> {
        let mb = inbox.id;
        let cached = self
            .store
            .call(move |s| {
                Ok(plan::Cached {
                    state: s.sync_state(mb)?,
                    count: s.synced_count(mb)?,
                    uids: s.uid_range(mb)?,
                })
            })
            .await?;
        let status = imap.status(&inbox.listed.wire).await?;
        Ok(!plan::unchanged(cached, status))
    }

    /// Search mailboxes on the server; the UIDs found are turned into cached messages. A
    /// mailbox the server refuses is reported, the others still answer.
    async fn search(
        &mut self,
        imap: &mut Imap,
        req: u64,
        mailboxes: Vec<(MailboxId, String)>,
    ) -> Result<(), SyncError> {
        let mut found = Vec::new();
        let mut error = None;
        for (mailbox, criteria) in mailboxes {
            let name = self
                .store
                .call(move |s| {
                    Ok(s.mailboxes(None)?
                        .into_iter()
                        .find(|m| m.id == mailbox)
                        .map(|m| m.name))
                })
                .await?;
            let Some(name) = name else { continue };
            let wire = mutf7::wire(&name);
            let uids = async {
                if imap.selected() != Some(wire.as_str()) {
                    imap.select(&wire).await?;
                }
                imap.search(&criteria).await
            }
            .await;
            match uids {
                Ok(uids) => {
                    found.extend(
                        self.store
                            .call(move |s| s.ids_of_uids(mailbox, &uids))
                            .await?,
                    );
                }
                Err(e) if matches!(e.kind, ErrorKind::Protocol | ErrorKind::Refused) => {
                    error = Some(format!("{name}: {}", e.message));
                }
                Err(e) => {
                    // The session ends: still answer, so no one waits for it.
                    self.emit(Event::Searched {
                        req,
                        account: self.account.name.clone(),
                        found,
                        error: Some(e.to_string()),
                    });
                    return Err(e);
                }
            }
        }
        self.emit(Event::Searched {
            req,
            account: self.account.name.clone(),
            found,
            error,
        });
        Ok(())
    }

    async fn fetch_body(&mut self, imap: &mut Imap, msg: MsgId) -> Result<(), SyncError> {
        let Some((_, mailbox, name, uid)) =
            self.store.call(move |s| s.message_location(msg)).await?
        else {
            self.emit(Event::BodyFailed {
                msg,
                error: "the message is no longer in the cache".into(),
            });
            return Ok(());
        };
        let Ok(uid) = u32::try_from(uid) else {
            self.emit(Event::BodyFailed {
                msg,
                error: "the message is still being moved on the server: try again in a moment"
                    .into(),
            });
            return Ok(());
        };
        let wire = mutf7::wire(&name);
        if imap.selected() != Some(wire.as_str()) {
            imap.select(&wire).await?;
        }
        match imap.fetch_body(uid).await? {
            Some(raw) => {
                let meta = message::parse(&raw).meta;
                self.store
                    .call(move |s| s.store_body(msg, &raw, &meta))
                    .await?;
                self.emit(Event::BodyFetched { msg });
                self.emit(Event::Changed {
                    account: self.account.name.clone(),
                    mailbox: Some(mailbox),
                });
            }
            None => self.emit(Event::BodyFailed {
                msg,
                error: "the message was deleted on the server".into(),
            }),
        }
        Ok(())
    }
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
    account: AccountConfig,
    password: Option<Secret>,
    store: StoreHandle,
    events: mpsc::UnboundedSender<Event>,
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
                    let wait = super::retry_delay(self.timing.backoff_max, e.kind, &mut backoff);
                    tokio::time::sleep(jittered(wait)).await;
                }
            }
        }
    }

    fn changed(&self) {
        let _ = self.events.send(Event::Changed {
            account: self.account.name.clone(),
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
