//! tern: a terminal email client. The binary is `src/main.rs` (command line, config, logging,
//! the tokio runtime, then the UI or a subcommand); everything else lives here so the tests in
//! `tests/` and the benches can use it. This page is the map: read it first.
//!
//! # Modules
//!
//! A module with submodules is `foo.rs` beside its folder `foo/` (never `foo/mod.rs`).
//!
//! ```text
//! domain/          the pure email model, no I/O: ids, mailboxes, flags, envelopes,
//!                  message.rs (parsed view: text, HTML, attachments, format=flowed),
//!                  skeleton.rs (a bounded stand-in for a message too big to parse whole),
//!                  search.rs (the query language), compose.rs (drafts), keys.rs, thread.rs,
//!                  sanitize.rs (every string from mail or a server goes through it)
//! config/          TOML -> validated Config; password commands, certificate fingerprints
//! keyring.rs       the system keyring (Secret Service): get/set/delete a secret by account
//!                  and item, blocking, bounded
//! oauth.rs         OAuth2 access tokens for IMAP and SMTP: the stored one while good, else
//!                  refreshed (oauth/tokens.rs: keyring or a private file), or token_command;
//!                  oauth/flow.rs: the consents (PKCE with a loopback redirect, device code)
//! store/           the local cache, one SQLite database: the only code naming rusqlite.
//!                  Store (synchronous) and StoreHandle (its own thread, for async callers);
//!                  the queue of the user's actions, the outbox, the full-text index
//! worker.rs        the shared account worker: one task per account whatever its protocol;
//!                  Commands in, Events out (after the cache committed), connection state,
//!                  password, reconnect with backoff. A protocol implements worker::Protocol.
//!                  worker/queue.rs: the bounded queues (commands in, events out) that never
//!                  block a sender and merge what adds nothing
//! runtime.rs       starts the workers for the UI (and `tern sync --watch`): one per account
//!                  (by its AccountId, `runtime::register`), each with its own cache
//!                  connection, one event queue; the outbox workers
//! setup.rs         `tern setup`: discover an address's servers (setup/find.rs: every source at
//!                  once, picked in order; setup/discover.rs: autoconfig, the provider list;
//!                  setup/dns.rs: SRV and MX through hickory; setup/probe.rs: the usual host
//!                  names), check them live, append the account to the config; setup/trust.rs:
//!                  a loopback server's certificate shown and trusted by its fingerprint;
//!                  setup/oauth2.rs: the [account.oauth2] table, the consent, --reauth
//! notify.rs        new mail announced: which arrivals are news, desktop/terminal/bell, hook
//! sync/            IMAP, the only code that speaks it:
//!   engine.rs        the IMAP Protocol: a session syncs, serves commands, IDLEs, re-checks
//!   pass.rs          sync passes: the cache brought to the server's state, mailbox by mailbox
//!                    (pass/rows.rs: header rows, flag and label changes written to the cache)
//!   bodies.rs        bodies: the one opened, and the background prefetch
//!   search.rs        server search (UID SEARCH) for folders without cached bodies
//!   replay.rs        the queued actions replayed on the server, safely (replay/: per kind)
//!   plan.rs          pure decisions: cached state + server answers -> what to do
//!   imap.rs          a thin adapter over async-imap (imap/: connect, mailboxes, fetch,
//!                    changes, idle, untagged responses, gmail: X-GM-LABELS cleaned)
//!   login.rs         TLS or STARTTLS, capabilities, AUTHENTICATE PLAIN or LOGIN
//!   wire.rs          the byte stream under async-imap: frames responses, repairs or skips
//!                    what imap-proto cannot read (wire/rewrite.rs)
//! pop3/            POP3: client.rs (the protocol), fetch.rs (one poll), actor.rs (its Protocol)
//! send/            SMTP and the outbox worker: retries, failures, the Sent copy; smtp.rs turns
//!                  lettre's errors into one line and decides retry or failure
//! net/             TLS configs and connects with timeouts; net/pinned.rs: a certificate trusted
//!                  by its SHA-256 fingerprint (tls_fingerprint)
//! app/             the TEA core, no terminal:
//!   (app.rs)         the run loop: input first (biased select), draw once per batch
//!   msg.rs           Msg (what happened, past tense) and Cmd (what to do), plain data
//!   state.rs         AppState: what is on screen
//!   update.rs        update(&mut AppState, Msg) -> Vec<Cmd>: pure (update/: per concern)
//!   overlay.rs       the stack of popups and prompts over the panes
//!   firststart.rs    the setup screen of a first start with no config (its keys in
//!                    update/firststart.rs, its task in effects/firststart.rs, its view in
//!                    ui/firststart.rs)
//!   command.rs       the `:` command line parsed (pure): commands, errors with hints, what
//!                    Tab completes, the history; update/cmdline.rs runs the commands
//!   effects/         runs Cmds: the only app code holding the store and engine handles;
//!                    one exhaustive match in effects.rs, one submodule per kind
//!                    (line.rs: pipes, save as, open-with, :reload; openers.rs: which
//!                    program opens a MIME type: [openers], mailcap, xdg-open)
//!   keymap.rs        key chords -> actions
//! ui/              the view: draw(frame, &AppState, &Theme); reader.rs, popups.rs (the
//!                  overlays), theme.rs. No channels, no SQL, no network
//! commands.rs      `tern sync | list | search | index | outbox | send | check --connect`
//!                  (commands/: per kind; check.rs logs in to every server with the engines' code)
//! cli.rs, tui.rs   clap definitions (and the man page, completions made from them); the
//!                  terminal guard (raw mode, restored on panic)
//! demo.rs          `--demo`: bundled mail in a temporary cache
//! ```
//!
//! # A key press
//!
//! `app::run` reads a terminal event (input goes before everything else), the keymap turns it
//! into a `Msg` (`Msg::ActionTriggered`, `Msg::Typed` while a prompt takes text), and
//! `app::update::update` changes the `AppState` and returns `Cmd`s: no I/O there. Each `Cmd` goes
//! to `app::effects::Effects::run`, which runs it as a task (a read of the store, a command to an
//! account's engine, a file, a program) that answers with another `Msg` on the app's channel;
//! that `Msg` goes through `update` again. The screen is drawn once per batch of messages, and
//! only when something changed. An action on mail (move, delete, flag) changes the cache and
//! writes its queue row in one transaction, so the screen changes at once; the account's
//! worker replays the queue on the server later (`sync::replay`).
//!
//! # New mail
//!
//! The IMAP engine (`sync::engine`) IDLEs on INBOX (and, on a second connection, on the mailbox the
//! user has open). When the server reports a change, a sync pass (`sync::pass`) writes the new rows
//! to the store and commits; only then does the engine send `worker::Event::Changed`
//! (`Worker::changed`) on the runtime's event channel. `app::run` hands it to `update` as
//! `Msg::Engine(Event::Changed)` (`update` words engine notices itself); `update` asks for the
//! mailbox counts and, when the change is on screen, the visible page again
//! (`Cmd::LoadMailboxes`, then `Cmd::LoadEnvelopes` or `Cmd::LoadThreads`), and the answers are
//! drawn. The store is the single source of truth: events
//! only say what to read again. Mail that came above a mailbox's newest cached UID is also
//! reported as `Event::Arrived`; `update` asks `Cmd::Announce`, whose effect asks the store
//! which of it is news (`Store::new_mail`) and tells the user (`notify`). Bodies follow in the background (`sync::bodies`). A POP3 account
//! does the same by polling (`pop3::fetch`).
//!
//! # Where a change goes
//!
//! - A popup or prompt: a variant of `app::overlay::Overlay`, its keys in
//!   `app::update::overlay`, its drawing in `ui::popups` (each a `match` over the enum, so the
//!   compiler asks for all three).
//! - A command for the background: a `Cmd` variant in `app/msg.rs` (and the `Msg` it answers
//!   with), its arm in the match of `app/effects.rs`, its work in one `app/effects/`
//!   submodule (`store`, `engine`, `search`, `compose`, `files`), and the `update` arm that
//!   handles the answer.
//! - Something the user sees: `ui/` reads only `AppState`; add the state in `app/state.rs`.
//! - A mail protocol: implement `worker::Protocol` (its session and what it answers offline),
//!   write through the store, and start it in `runtime.rs`, like `sync::engine` and
//!   `pop3::actor`.
//! - A schema or query change: `store/` only (migrations in `store/schema.rs`).
//!
//! `tests/architecture.rs` holds the rules: the view and the domain use no I/O crates, only the
//! store names rusqlite, `update` is pure, no file over 600 lines of code, and no function over
//! 80 lines without a `// Long:` comment saying why.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod keyring;
pub mod net;
pub mod notify;
pub mod oauth;
pub mod pop3;
pub mod runtime;
pub mod send;
pub mod setup;
pub mod store;
pub mod sync;
pub mod tui;
pub mod ui;
pub mod worker;
