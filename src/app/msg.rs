//! Msg: what happened (past tense). Cmd: what to do (imperative). Both are plain data so they
//! can be logged and asserted in tests.

use ratatui::layout::Rect;

use crate::domain::engine::Event as EngineEvent;
use crate::domain::keys::Action;
use crate::domain::keys::KeyChord;
use crate::domain::message::MessageView;
use crate::domain::thread::ThreadRow;
use crate::domain::triage::{FlagName, Relocation};
use crate::domain::{
    Account, AccountId, Anchor, Envelope, Mailbox, MailboxId, MsgId, NewMail, RequestId, Role,
};

/// Where a move or copy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    Mailbox(MailboxId),
    /// Each message to its own account's mailbox with this role (archive, trash, junk).
    Role(Role),
}

/// What `u` can take back: an action as it was done (the effects runner does the inverse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    /// The flag was set (`on`) or cleared on exactly these messages.
    Flag {
        msgs: Vec<MsgId>,
        flag: FlagName,
        on: bool,
    },
    /// These messages were moved away from these mailboxes.
    Move { from: Vec<Relocation> },
    /// These rows were made by a copy.
    Copy { copies: Vec<MsgId> },
}

/// What a triage command changed in the cache, as data: `update` words the notice and keeps
/// the undo record (see `update::triage::worded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// A flag was set (`on`) or cleared; `changed`: the messages whose flag changed.
    /// `undoable`: the user asked for it (as opposed to mark-read-on-open).
    Flag {
        flag: FlagName,
        on: bool,
        changed: Vec<MsgId>,
        undoable: bool,
    },
    /// Messages were moved (`from`: where each came from) or copied (`copies`: the new rows).
    /// `what` names the action ("archived"); `missing`: the accounts without the folder of
    /// the role asked for (their messages stay).
    Moved {
        what: String,
        dest: Dest,
        copy: bool,
        from: Vec<Relocation>,
        copies: Vec<MsgId>,
        missing: Vec<String>,
    },
    /// This many messages were deleted for good.
    Expunged { count: usize },
    /// An undo of `what` brought back `done` of the `asked` messages (the others are gone).
    Undone {
        what: String,
        done: usize,
        asked: usize,
    },
}

/// A message that left the review screen for good: in the outbox, or saved in Drafts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    /// In the outbox as row `id`.
    Sending { id: i64, subject: String },
    /// In the outbox as row `id`, to go at `until` (seconds since the epoch): `u` can take it
    /// back until then.
    Waiting {
        id: i64,
        subject: String,
        until: i64,
    },
    /// In the outbox as row `id`, with a copy in Sent, and nothing sends it (the demo).
    NotSent { id: i64, subject: String },
    /// Saved in the Drafts folder.
    Drafted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// A key resolved to an action by the keymap.
    ActionTriggered(Action),
    /// The cache's data version (see `Cmd::PollCache`).
    CacheVersion(i64),
    /// Time to see whether another process changed the cache (the run loop sends it with each
    /// clock tick).
    CacheCheckDue,
    Resized(Rect),
    /// A left click at a screen cell.
    Clicked {
        x: u16,
        y: u16,
    },
    /// The mouse wheel turned over a screen cell.
    Scrolled {
        x: u16,
        y: u16,
        down: bool,
    },
    /// The clock ticked (seconds since the epoch, local offset).
    Ticked {
        now: i64,
        utc_offset: i32,
    },
    MailboxesLoaded {
        accounts: Vec<Account>,
        mailboxes: Vec<Mailbox>,
    },
    EnvelopesLoaded {
        req: RequestId,
        mailbox: MailboxId,
        offset: u32,
        total: u32,
        rows: Vec<Envelope>,
    },
    /// The threaded order of a mailbox.
    ThreadsLoaded {
        req: RequestId,
        mailbox: MailboxId,
        rows: Vec<ThreadRow>,
    },
    MessageLoaded {
        req: RequestId,
        msg: MsgId,
        view: Option<Box<MessageView>>,
        /// The cached body is the text only (the message is over the offline limit): the
        /// whole message is downloaded now that the user reads it.
        partial: bool,
    },
    /// An account's engine reported (its state, a cache change, a body, a server search's
    /// answer, news for the status line), as the engine says it.
    Engine(EngineEvent),
    /// A background job failed; the text is for the status line.
    Failed(String),
    /// New mail worth telling about (see `Cmd::Announce`); `ring`: what to write to the
    /// terminal (its own notification, or the bell), when that is how the user is told.
    NewMail {
        mail: Vec<NewMail>,
        ring: Option<String>,
    },
    /// The action log, newest first: (account, when, what).
    ActionLogLoaded(Vec<(String, i64, String)>),
    /// A background job finished with something to tell.
    Notice(String),
    /// An attachment was saved to this file (and `opened` with the system opener).
    AttachmentSaved {
        path: std::path::PathBuf,
        opened: bool,
    },
    /// A triage action is in the cache: what it did (update words it and keeps its undo).
    ActionDone(Done),
    /// Message ids to select (answer to [`Cmd::MarkRange`] / [`Cmd::MarkThread`]).
    Marked {
        req: RequestId,
        ids: Vec<MsgId>,
    },
    /// A key typed into a prompt (the folder picker, a confirmation): not a key binding.
    Typed(KeyChord),
    /// A message to write is ready: its review state, and its text in the editor's file.
    ComposeStarted(Box<super::state::Compose>),
    /// The editor's file is written again (edit once more).
    ComposeFileWritten,
    /// The editor returned (an error: it could not be run).
    EditorClosed {
        error: Option<String>,
    },
    /// The edited text, read back (or what is wrong with it).
    ComposeEdited(Result<Box<crate::domain::compose::Draft>, String>),
    /// The edited text, read back and saved in Drafts.
    ComposeReadBack(Box<ReadBack>),
    /// A file to attach was read.
    Attached(Result<crate::domain::compose::Attachment, String>),
    /// Addresses that complete what is typed, best first.
    Suggestions {
        req: RequestId,
        list: Vec<crate::domain::Address>,
    },
    /// The built-in editor's text was saved in Drafts as this message.
    Autosaved {
        msg: MsgId,
    },
    /// A path typed to attach, completed.
    PathCompleted {
        input: String,
        completed: String,
        /// The names that complete it, when there are several.
        choices: Vec<String>,
    },
    /// The message is in the outbox, or saved in Drafts.
    ComposeQueued(Queued),
    /// A second of the undo-send countdown passed: the time.
    SendCountdown {
        now: i64,
    },
    /// Outbox row `id` was taken back (`withdrawn`), or had gone already.
    SendWithdrawn {
        id: i64,
        withdrawn: bool,
    },
    /// The message given up is gone (its file removed).
    ComposeDiscarded,
    /// The message has been open for the mark-read delay.
    ReadDelayElapsed {
        msg: MsgId,
    },
    /// A search's results from the cache; folders searched on headers only (and why); the
    /// servers being asked about the others (account, its folders).
    Searched {
        req: RequestId,
        rows: Vec<Envelope>,
        headers_only: Vec<String>,
        asking: Vec<(AccountId, Vec<String>)>,
    },
    /// The list rows of what a server found.
    ServerHits {
        req: RequestId,
        rows: Vec<Envelope>,
    },
    QuitRequested,
    /// What a pipe's command wrote (stdout then stderr, at most `effects::pipe::KEEP` bytes),
    /// and how it ended.
    Piped {
        req: RequestId,
        output: Vec<u8>,
        ended: String,
    },
    /// The command line's path, completed.
    LineCompleted {
        line: String,
    },
    /// A key bound to nothing was pressed.
    Unbound(KeyChord),
    /// The config was read again (the run loop has taken its keys and theme), or why not.
    Reloaded(Result<Box<Reloaded>, String>),
    /// Ctrl-c: quit (asked twice while a message is being written).
    Interrupted,
    /// The first start's setup answered.
    Setup(super::firststart::SetupMsg),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// The first start's setup: discover, check, write; or open the written config.
    Setup(super::firststart::SetupCmd),
    /// An engine announced new mail: find what is news (see `crate::notify`), run the hook,
    /// show a desktop notification; answered with `Msg::NewMail`.
    Announce {
        msgs: Vec<MsgId>,
    },
    /// Write this to the terminal between two frames (the run loop does it: a terminal
    /// notification or the bell).
    Ring(String),
    /// Every account's engine checks its server now (a POP3 account polls at once).
    SyncNow,
    /// Read the cache's data version (it moves when another connection, or another process
    /// such as `tern sync`, commits); answered with `Msg::CacheVersion`.
    PollCache,
    LoadMailboxes,
    LoadEnvelopes {
        req: RequestId,
        mailbox: MailboxId,
        offset: u32,
        limit: u32,
        /// A loaded row next to the window, to read from (keyset pagination).
        anchor: Option<Anchor>,
    },
    /// Read a mailbox's threaded order.
    LoadThreads {
        req: RequestId,
        mailbox: MailboxId,
    },
    /// Read the list rows of these messages (a window of the threaded order, starting at row
    /// `offset` of `total`).
    LoadEnvelopesByIds {
        req: RequestId,
        mailbox: MailboxId,
        offset: u32,
        total: u32,
        ids: Vec<MsgId>,
    },
    LoadMessage {
        req: RequestId,
        msg: MsgId,
        /// Columns the reader has for the body (HTML is laid out to fit).
        width: u16,
    },
    /// Ask the message's account engine to download its body.
    FetchBody {
        msg: MsgId,
    },
    /// Read the action log.
    LoadActionLog,
    /// Set or clear a flag: in the cache at once, queued for the server.
    SetFlag {
        msgs: Vec<MsgId>,
        flag: FlagName,
        on: bool,
        /// The user asked for it (it can be undone), as opposed to mark-read-on-open.
        undoable: bool,
    },
    /// Move (or copy) messages: in the cache at once, queued for the server. `what` names the
    /// action for the status line ("archived").
    MoveTo {
        msgs: Vec<MsgId>,
        dest: Dest,
        copy: bool,
        what: String,
    },
    /// Delete messages for good (the user confirmed).
    Expunge {
        msgs: Vec<MsgId>,
    },
    /// Take an action back, locally at once and then on the server.
    Undo {
        undo: Undo,
        what: String,
    },
    /// Read the ids of list rows `[offset, offset + limit)` of a mailbox (flat order), to
    /// select them.
    MarkRange {
        req: RequestId,
        mailbox: MailboxId,
        offset: u32,
        limit: u32,
    },
    /// Read the ids of a thread's messages in a mailbox, to select them.
    MarkThread {
        req: RequestId,
        mailbox: MailboxId,
        thread: i64,
    },
    /// Start writing: a new message (`msg` None) or an answer to / forward of `msg`, from the
    /// account of `msg`, else of `mailbox`, else the first that can send.
    StartCompose {
        kind: crate::domain::compose::Kind,
        msg: Option<MsgId>,
        mailbox: Option<MailboxId>,
    },
    /// Write the text to edit to its file again (to edit once more).
    WriteCompose {
        path: std::path::PathBuf,
        text: String,
    },
    /// Read the edited text back onto `base` (`text`: the built-in editor's, written to the
    /// file first), and save it in the account's Drafts (replacing `replaces`) before anything
    /// else: what was written is never lost, even when it cannot be read.
    ReadCompose {
        path: std::path::PathBuf,
        base: Box<crate::domain::compose::Draft>,
        text: Option<String>,
        account: AccountId,
        replaces: Option<MsgId>,
    },
    /// Read a file to attach.
    AttachFile {
        path: std::path::PathBuf,
    },
    /// Build the message, put it in the outbox (to go after `delay_secs`), wake the account's
    /// outbox worker; the original of a reply gets \Answered.
    SendCompose {
        delay_secs: u64,
        account: crate::domain::AccountId,
        draft: Box<crate::domain::compose::Draft>,
        original: Option<MsgId>,
        kind: crate::domain::compose::Kind,
        file: std::path::PathBuf,
        /// The draft it was written from (removed once the message is in the outbox).
        draft_msg: Option<MsgId>,
    },
    /// Addresses from the address book that start like `prefix`.
    SuggestAddresses {
        req: RequestId,
        prefix: String,
    },
    /// Complete a path being typed (to the longest shared prefix of what matches).
    CompletePath {
        input: String,
    },
    /// Save the message in the Drafts folder (replacing `replaces`), and close it.
    SaveDraft {
        account: crate::domain::AccountId,
        draft: Box<crate::domain::compose::Draft>,
        replaces: Option<MsgId>,
        file: std::path::PathBuf,
    },
    /// Save what is being written in Drafts (replacing `replaces`) and keep writing.
    AutosaveDraft {
        account: crate::domain::AccountId,
        draft: Box<crate::domain::compose::Draft>,
        replaces: Option<MsgId>,
    },
    /// Go on writing a saved draft.
    ResumeDraft {
        msg: MsgId,
    },
    /// A message given up: the draft this session saved of it goes from Drafts.
    DropDraft {
        msg: MsgId,
    },
    /// Tell the time again in a second (the undo-send countdown).
    SendCountdown,
    /// Take back outbox row `id` if it has not gone yet (undo send).
    WithdrawSend {
        id: i64,
    },
    /// The message is given up: its file goes.
    DiscardCompose {
        file: std::path::PathBuf,
    },
    /// Tell back after a while that the message is still open (mark-read delay).
    MarkReadLater {
        msg: MsgId,
        after_ms: u64,
    },
    /// Save a message's attachment (by its index in the reader's list) to the download dir.
    SaveAttachment {
        msg: MsgId,
        index: usize,
    },
    /// Save a message's attachment to a private directory and open it with the system opener.
    OpenAttachment {
        msg: MsgId,
        index: usize,
    },
    /// Open a link in the user's browser (`$BROWSER`, else the system opener).
    OpenUrl {
        url: String,
    },
    /// Search the cache (these mailboxes, all when empty); folders without cached bodies are
    /// asked of their servers when the query looks into text.
    Search {
        req: RequestId,
        query: crate::domain::search::Query,
        scope: Vec<MailboxId>,
        limit: u32,
    },
    /// Read the list rows of messages a server found.
    LoadServerHits {
        req: RequestId,
        ids: Vec<MsgId>,
    },
    /// The user opened this mailbox: its account's engine pushes it too (the others stop).
    WatchMailbox {
        mailbox: MailboxId,
    },
    /// The command line's commands that reach outside (`update::cmdline`, `effects::pipe`).
    Line(LineCmd),
}

/// What the command line (and `|`) asks of the effects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineCmd {
    /// Pipe the message (or one of its attachments) to `sh -c command`; answered with
    /// `Msg::Piped`.
    Pipe {
        req: RequestId,
        msg: MsgId,
        part: PipePart,
        command: String,
    },
    /// The pipe's popup closed: stop its command.
    StopPipe { req: RequestId },
    /// Write the raw message to this path (never over a file).
    SaveMessage {
        msg: MsgId,
        path: std::path::PathBuf,
    },
    /// Save attachment `index` of the message under this path (never over a file).
    SaveAttachmentAs {
        msg: MsgId,
        index: usize,
        path: std::path::PathBuf,
    },
    /// Open the message's first attachment (or the message as .eml) with this program.
    OpenWith { msg: MsgId, program: String },
    /// Complete the path at the end of the command line; answered with `Msg::LineCompleted`.
    CompletePath { head: String, word: String },
    /// Every account checks for mail now.
    SyncNow,
    /// Read the config file again (its keys and theme); answered with `Msg::Reloaded`.
    Reload,
    /// Keep the command line's history in the data dir.
    SaveHistory(Vec<String>),
}

/// What `:reload` read from the config: what the run loop and the UI take without a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub keys: std::collections::BTreeMap<Action, Vec<crate::domain::keys::KeySeq>>,
    pub theme: crate::config::ThemeConfig,
    pub warnings: Vec<String>,
}

/// What a pipe is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipePart {
    /// The message as it came (.eml).
    Raw,
    /// Its decoded text.
    Text,
    /// Its attachment with this index, decoded.
    Attachment(usize),
}

/// The edited text read back: the draft (or the whole text and what to fix), and where it
/// was saved (the Drafts message, or why it could not be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBack {
    pub parsed: Result<crate::domain::compose::Draft, crate::domain::compose::Rejected>,
    pub saved: Result<Option<MsgId>, String>,
}
