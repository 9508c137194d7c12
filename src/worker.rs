//! The account worker: one long-running task per account, whatever its protocol. It owns what
//! every protocol shares: the [`Command`]s the UI sends through an [`EngineHandle`], the
//! [`Event`]s it reports back (always after the cache committed what they announce), the
//! connection state (each state reported once), the password (resolved once per start, kept in
//! memory only), and the retry loop: reconnect with exponential backoff and jitter while the
//! server cannot be reached, wait until asked again after an error only the user can fix, and
//! answer commands meanwhile.
//!
//! A protocol supplies only its sessions and passes, as a [`Protocol`]: the IMAP engine
//! ([`crate::sync::engine`]) and the POP3 fetcher ([`crate::pop3::actor`]).

pub mod queue;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::config::{AccountConfig, POP3_POLL_INTERVAL, Secret};
pub use crate::domain::engine::Event;
use crate::domain::{AccountId, ConnState, MailboxId, MsgId, RequestId};
use crate::store::StoreHandle;
use crate::sync::pass::{Progress, resolve_password};
use crate::sync::{ErrorKind, SyncError};

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
        req: RequestId,
        mailboxes: Vec<(MailboxId, String)>,
    },
    Shutdown,
}

/// What the workers report, on one queue for the UI (or a test, or `tern sync --watch`).
pub type Events = queue::Sender<Event>;
pub type EventReceiver = queue::Receiver<Event>;

/// The worst burst of events is a few per account and per request (progress counts and cache
/// changes merge); past this many unread, the oldest is dropped (logged).
pub const EVENTS_CAP: usize = 4096;

/// The queue the workers report on.
pub fn events() -> (Events, EventReceiver) {
    queue::queue(EVENTS_CAP)
}

/// New mail waiting to be announced, per account: past this many, a burst is a count.
const ARRIVED_KEPT: usize = 100;

/// A command waiting for a worker is a request the user made (commands that repeat merge);
/// past this many unread, the oldest is dropped (logged).
const COMMANDS_CAP: usize = 1024;

impl queue::Merge for Command {
    /// A repeated request waits once: sync now, replay, shut down, the same body; a newer
    /// Watch replaces the waiting one. Searches are each answered.
    fn merge(&mut self, new: Self) -> Result<(), Self> {
        match (self, new) {
            (Command::Watch { mailbox }, Command::Watch { mailbox: newer }) => {
                *mailbox = newer;
                Ok(())
            }
            (Command::Search { .. }, new) => Err(new),
            (waiting, new) if *waiting == new => Ok(()),
            (_, new) => Err(new),
        }
    }
}

impl queue::Merge for Event {
    /// A newer progress count replaces the waiting one; a cache change already announced (for
    /// that mailbox, or for every mailbox of the account) is not announced twice. Every other
    /// state, and every answer and notice, is kept in order.
    fn merge(&mut self, new: Self) -> Result<(), Self> {
        match (self, new) {
            (
                Event::State {
                    account,
                    state: waiting @ ConnState::Syncing { .. },
                },
                Event::State {
                    account: a,
                    state: newer @ ConnState::Syncing { .. },
                },
            ) if *account == a => {
                *waiting = newer;
                Ok(())
            }
            (
                Event::Changed { account, mailbox },
                Event::Changed {
                    account: a,
                    mailbox: m,
                },
            ) if *account == a && (mailbox.is_none() || *mailbox == m) => Ok(()),
            (
                Event::Arrived { account, msgs },
                Event::Arrived {
                    account: a,
                    msgs: more,
                },
            ) if *account == a => {
                // Notifications summarise a burst: the first ones are enough to name.
                msgs.extend(
                    more.into_iter()
                        .take(ARRIVED_KEPT.saturating_sub(msgs.len())),
                );
                Ok(())
            }
            (_, new) => Err(new),
        }
    }
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

/// Talk to an account's worker. Cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    tx: queue::Sender<Command>,
    wake: Arc<Notify>,
}

impl EngineHandle {
    /// Queue a command; never blocks (see [`queue`]).
    pub fn send(&self, cmd: Command) {
        self.tx.send(cmd);
        // Ends an IDLE (or any wait on [`Commands::wake`]) so the command runs at once.
        self.wake.notify_one();
    }
}

/// What a worker reads from its handles: the commands, and the wake-up each send gives (so a
/// worker waiting on the network serves a command at once).
pub struct Commands {
    rx: queue::Receiver<Command>,
    wake: Arc<Notify>,
}

impl Commands {
    /// A command waiting, if any.
    pub fn try_recv(&mut self) -> Option<Command> {
        self.rx.try_recv()
    }

    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// The next command; None when every handle is gone.
    pub async fn recv(&mut self) -> Option<Command> {
        self.rx.recv().await
    }

    /// The wake-up a send gives, to end a wait on the network early.
    pub fn wake(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }
}

/// Why a session ended without an error.
pub enum Stop {
    /// Asked to shut down: the worker ends.
    Shutdown,
    /// Its work is done (a POP3 poll): the next session starts after `poll_interval`, or at
    /// once on SyncNow.
    Done,
}

/// What a protocol supplies to the worker: its session (connect, work until shut down or an
/// error) and how it answers commands while not connected.
pub trait Protocol: Send + 'static {
    /// Once, before the first session.
    fn start(&mut self, _w: &mut Worker) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Connect and work. An error ends the session: a transient one is retried after a
    /// backoff, any other waits until the user asks again (SyncNow).
    fn session(&mut self, w: &mut Worker) -> impl Future<Output = Result<Stop, SyncError>> + Send;

    /// A command that came while not connected (never SyncNow or Shutdown: the worker takes
    /// those). Every request must still be answered, so no one waits for it.
    fn offline(&mut self, w: &Worker, cmd: Command);

    /// How long to wait before the next session after a transient error, given the running
    /// backoff (which it advances) and how long the failed session ran. By default
    /// [`retry_delay`], with the backoff reset after a session that ran a while.
    fn retry_delay(
        &self,
        timing: &Timing,
        kind: ErrorKind,
        backoff: &mut Duration,
        ran: Duration,
    ) -> Duration {
        if ran > timing.backoff_max {
            *backoff = FIRST_BACKOFF; // a session that ran a while
        }
        retry_delay(timing.backoff_max, kind, backoff)
    }

    /// Once, when the worker ends (not when its task is aborted).
    fn stopped(&mut self) {}
}

const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// What a protocol's session works with: the account, its cache, where events go, the
/// commands, the timing; and the shared state the worker keeps across sessions.
pub struct Worker {
    /// The account's id in the cache (its events carry it).
    pub id: AccountId,
    pub account: AccountConfig,
    pub store: StoreHandle,
    pub events: Events,
    pub commands: Commands,
    pub timing: Timing,
    /// Resolved once per start and kept in memory only; forgotten after an auth failure.
    password: Option<Option<Secret>>,
    last_state: Option<ConnState>,
    backoff: Duration,
}

/// Start a worker for an account with this protocol.
pub fn spawn<P: Protocol>(
    protocol: P,
    id: AccountId,
    account: AccountConfig,
    store: StoreHandle,
    events: Events,
    timing: Timing,
) -> (EngineHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = queue::queue(COMMANDS_CAP);
    let wake = Arc::new(Notify::new());
    let handle = EngineHandle {
        tx,
        wake: Arc::clone(&wake),
    };
    let worker = Worker {
        id,
        account,
        store,
        events,
        commands: Commands { rx, wake },
        timing,
        password: None,
        last_state: None,
        backoff: FIRST_BACKOFF,
    };
    (handle, tokio::spawn(worker.run(protocol)))
}

/// Sync progress as events: a Syncing state per mailbox step, and a cache change so the UI
/// shows what arrived.
pub fn progress_events(account: AccountId, events: Events) -> impl Fn(Progress) + Send + Sync {
    move |p: Progress| {
        if let Progress::Mailbox {
            name: mailbox,
            done,
            total,
        } = p
        {
            events.send(Event::State {
                account,
                state: ConnState::Syncing {
                    mailbox,
                    done,
                    total,
                },
            });
            events.send(Event::Changed {
                account,
                mailbox: None,
            });
        }
    }
}

/// How long to wait before retrying after an error of this kind, given the running backoff
/// (which it advances). Network errors: the backoff itself, doubling up to `backoff_max`.
/// Protocol errors (the server said something tern cannot work with) seldom pass in seconds
/// and must not hammer the server: at least half of `backoff_max` (30 s by default), doubling
/// up to 30 times it (30 min).
pub fn retry_delay(backoff_max: Duration, kind: ErrorKind, backoff: &mut Duration) -> Duration {
    let (min, max) = match kind {
        ErrorKind::Protocol | ErrorKind::Refused => (backoff_max / 2, backoff_max * 30),
        _ => (Duration::ZERO, backoff_max),
    };
    let wait = (*backoff).max(min).min(max);
    *backoff = (wait * 2).min(max);
    wait
}

/// A little jitter (up to a quarter) so many clients do not reconnect in step.
pub fn jittered(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    d + d.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

impl Worker {
    pub fn emit(&self, e: Event) {
        self.events.send(e);
    }

    /// Announce a cache change (for this mailbox, or for several when None).
    pub fn changed(&self, mailbox: Option<MailboxId>) {
        self.emit(Event::Changed {
            account: self.id,
            mailbox,
        });
    }

    /// Announce new mail (nothing when there is none).
    pub fn arrived(&self, msgs: Vec<MsgId>) {
        if !msgs.is_empty() {
            self.emit(Event::Arrived {
                account: self.id,
                msgs,
            });
        }
    }

    /// Report a state, once: a state equal to the last one reported is not sent again.
    pub fn state(&mut self, state: ConnState) {
        if self.last_state.as_ref() == Some(&state) {
            return;
        }
        self.last_state = Some(state.clone());
        self.emit(Event::State {
            account: self.id,
            state,
        });
    }

    /// Report Online after a pass, whatever came before (its progress went out directly as
    /// Syncing states, past the de-duplication).
    pub fn online(&mut self) {
        self.last_state = None;
        self.state(ConnState::Online);
    }

    /// A poll succeeded (POP3): not connected until the next one, which may fail.
    pub fn polled(&mut self) {
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.state(ConnState::Polled { at });
    }

    /// The password, resolved at the first call of this start (or after an auth failure).
    pub async fn password(&mut self) -> Result<Option<Secret>, SyncError> {
        // An OAuth2 token is asked for each time: it may have been refreshed, or be due.
        let tokens = self
            .account
            .imap
            .as_ref()
            .is_some_and(|s| s.password.oauth2().is_some());
        if self.password.is_none() || tokens {
            self.password = Some(resolve_password(&self.account).await?);
        }
        Ok(self.password.clone().flatten())
    }

    /// The password as resolved already (for a second connection of a running session).
    pub fn known_password(&self) -> Option<Secret> {
        self.password.clone().flatten()
    }

    /// The session got far enough to show the account works: the next error backs off from
    /// the start again.
    pub fn connected(&mut self) {
        self.backoff = FIRST_BACKOFF;
    }

    async fn run<P: Protocol>(mut self, mut protocol: P) {
        protocol.start(&mut self).await;
        self.run_sessions(&mut protocol).await;
        protocol.stopped();
    }

    async fn run_sessions<P: Protocol>(&mut self, protocol: &mut P) {
        loop {
            self.state(ConnState::Connecting);
            let started = Instant::now();
            let wait = match protocol.session(self).await {
                Ok(Stop::Shutdown) => return,
                Ok(Stop::Done) => {
                    self.connected();
                    Some(self.timing.poll_interval)
                }
                Err(e) if !e.is_transient() => {
                    tracing::warn!(account = %self.account.name, error = %e, "stopped until asked again");
                    self.state(ConnState::Failed(e.to_string()));
                    if e.kind == ErrorKind::Auth {
                        self.password = None; // the user may have fixed it: ask again next time
                    }
                    None
                }
                Err(e) => {
                    let wait = protocol.retry_delay(
                        &self.timing,
                        e.kind,
                        &mut self.backoff,
                        started.elapsed(),
                    );
                    tracing::info!(account = %self.account.name, error = %e, ?wait, "offline, will retry");
                    self.state(ConnState::Offline(e.to_string()));
                    Some(jittered(wait))
                }
            };
            if !self.wait_for_retry(protocol, wait).await {
                return;
            }
        }
    }

    /// While not connected: answer commands until it is time for the next session (after
    /// `delay`, or on SyncNow). Returns false on Shutdown.
    async fn wait_for_retry<P: Protocol>(
        &mut self,
        protocol: &mut P,
        delay: Option<Duration>,
    ) -> bool {
        let deadline = delay.map(|d| tokio::time::Instant::now() + d);
        loop {
            let cmd = match deadline {
                Some(at) => match tokio::time::timeout_at(at, self.commands.recv()).await {
                    Ok(cmd) => cmd,
                    Err(_) => return true,
                },
                None => self.commands.recv().await,
            };
            match cmd {
                None | Some(Command::Shutdown) => return false,
                Some(Command::SyncNow) => return true,
                Some(other) => protocol.offline(self, other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A protocol whose sessions end as told, one after another.
    struct Scripted {
        sessions: Vec<Result<Stop, SyncError>>,
    }

    impl Protocol for Scripted {
        async fn session(&mut self, w: &mut Worker) -> Result<Stop, SyncError> {
            let end = self.sessions.remove(0);
            if end.is_ok() {
                w.state(ConnState::Online);
                w.state(ConnState::Online);
            }
            end
        }

        fn offline(&mut self, w: &Worker, cmd: Command) {
            if let Command::FetchBody { msg } = cmd {
                w.emit(Event::BodyFailed {
                    msg,
                    error: "offline".into(),
                });
            }
        }
    }

    fn state(state: ConnState) -> Event {
        Event::State {
            account: AccountId(1),
            state,
        }
    }

    #[tokio::test]
    async fn the_worker_retries_answers_offline_and_reports_each_state_once() {
        let cfg = crate::config::Config::parse(
            "data_dir = \"/nonexistent\"\n[[account]]\nname = \"a\"\nemail = \"a@example.test\"\n\
             [account.imap]\nhost = \"localhost\"\nusername = \"a\"\npassword = \"p\"\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let store = StoreHandle::spawn(Store::open_in_memory().unwrap()).unwrap();
        let (tx, mut rx) = events();
        let timing = Timing {
            poll_interval: Duration::from_secs(3600),
            ..Timing::default()
        };
        let sessions = vec![
            Err(SyncError::new(ErrorKind::Network, "down")),
            Err(SyncError::new(ErrorKind::Auth, "no")),
            Ok(Stop::Done),
        ];
        let protocol = Scripted { sessions };
        let (handle, task) = spawn(
            protocol,
            AccountId(1),
            cfg.accounts[0].clone(),
            store,
            tx,
            timing,
        );
        let mut next = async || rx.recv().await.unwrap();
        assert_eq!(next().await, state(ConnState::Connecting));
        assert_eq!(
            next().await,
            state(ConnState::Offline("network error: down".into()))
        );
        // Offline: the protocol answers; SyncNow retries at once.
        handle.send(Command::FetchBody { msg: MsgId(7) });
        assert_eq!(
            next().await,
            Event::BodyFailed {
                msg: MsgId(7),
                error: "offline".into()
            }
        );
        handle.send(Command::SyncNow);
        assert_eq!(next().await, state(ConnState::Connecting));
        assert_eq!(
            next().await,
            state(ConnState::Failed("authentication failed: no".into()))
        );
        // Failed: only SyncNow starts another session.
        handle.send(Command::SyncNow);
        assert_eq!(next().await, state(ConnState::Connecting));
        assert_eq!(next().await, state(ConnState::Online));
        // Done: the next session waits for the poll interval; Shutdown ends the worker.
        handle.send(Command::Shutdown);
        task.await.unwrap();
        assert_eq!(rx.recv().await, None);
    }

    #[test]
    fn protocol_errors_back_off_slower_and_further_than_network_errors() {
        let max = Duration::from_secs(60);
        let mut b = Duration::from_secs(1);
        let waits: Vec<u64> = (0..8)
            .map(|_| retry_delay(max, ErrorKind::Network, &mut b).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        let mut b = Duration::from_secs(1);
        let waits: Vec<u64> = (0..8)
            .map(|_| retry_delay(max, ErrorKind::Protocol, &mut b).as_secs())
            .collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1800, 1800]);
    }
}
