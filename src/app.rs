//! The app core (TEA): key -> Msg -> update(&mut AppState) -> Vec<Cmd> -> effects, and the run
//! loop that draws once per batch of events, only when something changed.

pub mod command;
pub mod effects;
pub mod firststart;
pub mod help;
pub mod keymap;
pub mod layout;
pub mod msg;
pub mod overlay;
pub mod state;
pub mod update;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyModifiers, MouseButton, MouseEventKind};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::layout::Rect;

use crate::config::Layout;
use crate::domain::AccountId;
use crate::domain::keys::{Action, KeySeq};
use crate::store::StoreHandle;
use crate::ui::{self, theme::Theme};
use effects::Effects;
use effects::engine::{EngineHandle, EventReceiver};
use keymap::{Keymap, Resolved};
use msg::{Cmd, Msg};
use state::AppState;

/// Runs the editor on a file (the terminal handed over and taken back).
pub type EditorHook = Box<dyn Fn(&std::path::Path) -> Result<(), String> + Send>;

/// Writes bytes to the terminal between frames (a terminal notification, the bell).
pub type RingHook = Box<dyn Fn(&str) + Send>;

/// What the run loop needs from the config.
pub struct Options {
    pub layout: Layout,
    pub keys: BTreeMap<Action, Vec<KeySeq>>,
    pub theme: Theme,
    /// Shown in the status line (e.g. "demo").
    pub banner: String,
    /// The account engines, by account, and the events they send.
    pub engines: HashMap<AccountId, EngineHandle>,
    pub engine_events: Option<EventReceiver>,
    /// Where saved attachments go, and where attachments opened with the system opener are put.
    pub dirs: effects::Dirs,
    /// Opening a message marks it read ...
    pub mark_read_on_open: bool,
    /// ... after it has been open this long (0: at once).
    pub mark_read_delay_ms: u64,
    /// Seconds a message sent waits in the outbox, to be taken back with `u` (0: none).
    pub send_delay_secs: u64,
    /// Mouse reporting is on (the terminal guard turns it on; the config can turn it off).
    pub mouse: bool,
    /// The mailboxes pane is shown at start.
    pub sidebar: bool,
    /// Suspends the process and takes the terminal back (Ctrl-z); None where that cannot be
    /// done (tests).
    pub suspend: Option<fn() -> io::Result<()>>,
    /// Runs the user's editor on a file, with the terminal handed over and taken back; None
    /// where that cannot be done (tests: the text is taken as it is).
    pub editor: Option<EditorHook>,
    /// Write mail in the built-in editor instead (no editor set, or the config asks for it).
    pub builtin_editor: bool,
    /// The accounts that can send.
    pub senders: Vec<effects::Sender>,
    /// How new mail is announced: the accounts (their `notify` folders) and `[notify]`;
    /// None: not at all (the demo, tests).
    pub notify: Option<(
        Vec<crate::config::AccountConfig>,
        crate::config::NotifyConfig,
    )>,
    /// Writes a terminal notification or the bell (between frames); None: nowhere (tests).
    pub ring: Option<RingHook>,
    /// Shown in the status line at start (the config's warnings).
    pub notice: Option<String>,
    /// No config yet: the app opens on the setup screen (`app::firststart`).
    pub setup: Option<firststart::SetupStart>,
}

impl Options {
    /// Options with no account behind them (the demo, the first start's setup screen): the
    /// default layout, keys and theme, nothing sent or announced, files under `dirs`.
    pub fn standalone(banner: &str, dirs: effects::Dirs) -> Options {
        Options {
            layout: crate::config::Layout::Auto,
            keys: Default::default(),
            theme: crate::ui::theme::Theme::from_config(
                &Default::default(),
                crate::ui::theme::Theme::no_color_from_env(),
            ),
            banner: banner.into(),
            engines: Default::default(),
            engine_events: None,
            dirs,
            mouse: true,
            sidebar: true,
            mark_read_on_open: true,
            mark_read_delay_ms: 0,
            send_delay_secs: 0,
            suspend: None,
            editor: None,
            builtin_editor: false,
            senders: Vec::new(),
            notify: None,
            ring: None,
            notice: None,
            setup: None,
        }
    }
}

fn clock_msg() -> Msg {
    let now = chrono::Local::now();
    Msg::Ticked {
        now: now.timestamp(),
        utc_offset: now.offset().local_minus_utc(),
    }
}

/// Translate a terminal event; None when it means nothing to the app.
/// `typing`: a prompt is open, so keys go to it as typed.
fn input_to_msg(keymap: &mut Keymap, ev: Event, typing: bool) -> Option<Msg> {
    match ev {
        Event::Key(key) => {
            if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
                return Some(Msg::Interrupted);
            }
            if typing {
                return keymap::chord_from_event(&key).map(Msg::Typed);
            }
            let chord = keymap::chord_from_event(&key)?;
            match keymap.feed(chord) {
                Resolved::Action(a) => Some(Msg::ActionTriggered(a)),
                Resolved::Pending => None,
                Resolved::Unbound => Some(Msg::Unbound(chord)),
            }
        }
        Event::Resize(w, h) => Some(Msg::Resized(Rect::new(0, 0, w, h))),
        Event::Mouse(m) => match m.kind {
            MouseEventKind::Down(MouseButton::Left) => Some(Msg::Clicked {
                x: m.column,
                y: m.row,
            }),
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => Some(Msg::Scrolled {
                x: m.column,
                y: m.row,
                down: m.kind == MouseEventKind::ScrollDown,
            }),
            _ => None,
        },
        _ => None,
    }
}

fn other_err<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(e.to_string())
}

/// The app state the run loop starts from, with the options it takes from the config.
fn new_state(opts: &mut Options, keymap: &Keymap) -> AppState {
    let mut state = AppState::new(opts.layout, std::mem::take(&mut opts.banner));
    state.mark_read_on_open = opts.mark_read_on_open;
    state.mark_read_delay_ms = opts.mark_read_delay_ms;
    state.send_delay_secs = opts.send_delay_secs;
    state.builtin_editor = opts.builtin_editor;
    state.key_help = keymap.help();
    if let Some(path) = &opts.dirs.history {
        state.cmdline.history = effects::load_history(path);
    }
    if opts.setup.is_some() {
        state.overlays.push(overlay::Overlay::Setup(Box::default()));
    }
    state.sidebar_hidden = !opts.sidebar;
    if state.sidebar_hidden {
        state.focus = state::Pane::Messages;
    }
    state
}

/// `:reload` read the config: its keys and theme are used from now on (the answer goes on to
/// `update`, which says so).
fn take_reload(msg: &Msg, keymap: &mut Keymap, theme: &mut Theme, state: &mut AppState) {
    if let Msg::Reloaded(Ok(r)) = msg {
        *keymap = Keymap::new(&r.keys);
        *theme = Theme::from_config(&r.theme, Theme::no_color_from_env());
        state.key_help = keymap.help();
    }
}

/// What the run loop reads besides the terminal: the effects' answers, the engines' events,
/// the clock and SIGTERM.
struct Inbox {
    rx: tokio::sync::mpsc::Receiver<Msg>,
    engine_events: Option<EventReceiver>,
    tick: tokio::time::Interval,
    #[cfg(unix)]
    sigterm: tokio::signal::unix::Signal,
}

impl Inbox {
    /// Start the clock and listen for SIGTERM.
    fn new(
        rx: tokio::sync::mpsc::Receiver<Msg>,
        engine_events: Option<EventReceiver>,
    ) -> io::Result<Self> {
        let mut tick = tokio::time::interval(Duration::from_secs(update::TICK_SECS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        #[cfg(unix)]
        let sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        Ok(Inbox {
            rx,
            engine_events,
            tick,
            #[cfg(unix)]
            sigterm,
        })
    }

    /// Wait for the next message. Ok(None): the input ended.
    async fn next<S>(
        &mut self,
        events: &mut S,
        keymap: &mut Keymap,
        state: &AppState,
    ) -> io::Result<Option<Option<Msg>>>
    where
        S: Stream<Item = io::Result<Event>> + Unpin,
    {
        let Inbox {
            rx,
            engine_events,
            tick,
            #[cfg(unix)]
            sigterm,
        } = self;
        #[cfg(unix)]
        let term = sigterm.recv();
        #[cfg(not(unix))]
        let term = std::future::pending::<Option<()>>();
        // Input first: a busy background never delays a key press.
        let msg = tokio::select! {
            biased;
            ev = events.next() => match ev {
                None => return Ok(None),
                Some(Err(e)) => return Err(e),
                Some(Ok(ev)) => input_to_msg(keymap, ev, state.typing()),
            },
            Some(m) = rx.recv() => Some(m),
            Some(e) = async { match engine_events.as_mut() {
                Some(r) => r.recv().await,
                None => std::future::pending().await,
            } } => Some(Msg::Engine(e)),
            _ = tick.tick() => Some(clock_msg()),
            _ = term => Some(Msg::QuitRequested),
        };
        Ok(Some(msg))
    }

    /// Take whatever else is ready before drawing again: the answers and the engines' events.
    fn take_ready(&mut self, batch: &mut Vec<Msg>) {
        while let Ok(m) = self.rx.try_recv() {
            batch.push(m);
        }
        if let Some(r) = self.engine_events.as_mut() {
            while let Some(e) = r.try_recv() {
                batch.push(Msg::Engine(e));
            }
        }
    }
}

/// Hand the terminal to the editor on `path`; the new input reader and the editor's error.
fn hand_to_editor<B: Backend, S>(
    terminal: &mut Terminal<B>,
    events: S,
    make_events: impl Fn() -> S,
    editor: &Option<EditorHook>,
    path: &std::path::Path,
) -> io::Result<(S, Option<String>)> {
    // The input reader goes first (it would read the editor's keys), and comes back after.
    drop(events);
    let error = match editor {
        Some(edit) => tokio::task::block_in_place(|| edit(path)).err(),
        None => None,
    };
    let events = make_events();
    terminal.clear().map_err(other_err)?;
    Ok((events, error))
}

/// The runner of the app's commands, with the engines, senders and notifying of `opts`.
fn new_effects(
    store: StoreHandle,
    tx: tokio::sync::mpsc::Sender<Msg>,
    opts: &mut Options,
) -> Effects {
    let effects = Effects::new(
        store,
        tx,
        std::mem::take(&mut opts.engines),
        opts.dirs.clone(),
    )
    .with_senders(std::mem::take(&mut opts.senders));
    let effects = match opts.setup.take() {
        Some(setup) => effects.with_setup(setup),
        None => effects,
    };
    match opts.notify.take() {
        Some((accounts, config)) => effects.with_notify(accounts, config),
        None => effects,
    }
}

/// Run the UI until the user quits. Generic over the terminal backend and the input stream so
/// tests can drive it.
pub async fn run<B, S>(
    terminal: &mut Terminal<B>,
    make_events: impl Fn() -> S,
    store: StoreHandle,
    mut opts: Options,
) -> io::Result<()>
where
    B: Backend,
    S: Stream<Item = io::Result<Event>> + Unpin,
{
    let mut events = make_events();
    let mut keymap = Keymap::new(&opts.keys);
    let mut state = new_state(&mut opts, &keymap);
    let (tx, rx) = tokio::sync::mpsc::channel(effects::ANSWERS_CAPACITY);
    let engine_events = opts.engine_events.take();
    let effects = new_effects(store, tx, &mut opts);
    let size = terminal.size().map_err(other_err)?;
    let mut initial = vec![
        Msg::Resized(Rect::new(0, 0, size.width, size.height)),
        clock_msg(),
    ];
    initial.extend(opts.notice.take().map(Msg::Notice));
    effects.run(Cmd::LoadMailboxes);

    let mut inbox = Inbox::new(rx, engine_events)?;

    let mut dirty = true;
    loop {
        let mut batch: Vec<Msg> = std::mem::take(&mut initial);
        if batch.is_empty() {
            if dirty {
                terminal
                    .draw(|f| ui::draw(f, &state, &opts.theme))
                    .map_err(other_err)?;
                dirty = false;
            }
            let Some(msg) = inbox.next(&mut events, &mut keymap, &state).await? else {
                break;
            };
            // With each clock tick: did another process (`tern sync`) change the cache?
            if matches!(msg, Some(Msg::Ticked { .. })) {
                batch.push(Msg::CacheCheckDue);
            }
            batch.extend(msg);
        }
        inbox.take_ready(&mut batch);
        for msg in batch {
            tracing::trace!(?msg, "update");
            dirty = true;
            take_reload(&msg, &mut keymap, &mut opts.theme, &mut state);
            for cmd in update::update(&mut state, msg) {
                match (cmd, &opts.ring) {
                    // Between frames, on this thread: never inside a frame being written.
                    (Cmd::Ring(bytes), Some(ring)) => ring(&bytes),
                    (cmd, _) => effects.run(cmd),
                }
            }
        }
        if state.quit {
            break;
        }
        if let Some(path) = state.editing.take() {
            let error;
            (events, error) = hand_to_editor(terminal, events, &make_events, &opts.editor, &path)?;
            dirty = true;
            initial.push(Msg::EditorClosed { error });
        }
        if std::mem::take(&mut state.suspend)
            && let Some(suspend) = opts.suspend
        {
            suspend()?;
            terminal.clear().map_err(other_err)?;
            dirty = true;
        }
    }
    effects.shutdown();
    Ok(())
}
