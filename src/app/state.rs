//! AppState: only what is on screen. The cache is the source of truth; the state holds the
//! visible page of it and the user's position.

use ratatui::layout::Rect;

use super::overlay::{Overlay, Overlays};
use crate::config::Layout;
use std::collections::BTreeSet;

use crate::domain::message::MessageView;
use crate::domain::thread::ThreadRow;
use crate::domain::{
    Account, AccountId, ConnState, Envelope, Mailbox, MailboxId, MsgId, RequestId,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Mailboxes,
    Messages,
    Reader,
}

/// One row of the mailboxes pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SidebarRow {
    Account(Account),
    Mailbox(Mailbox),
    /// A level of the hierarchy that is not a mailbox itself (e.g. `Lists` above `Lists/rust`).
    Parent {
        account: AccountId,
        name: String,
        depth: usize,
        delimiter: char,
    },
}

impl SidebarRow {
    /// The row's account and its path in the account's tree ("" for the account row).
    pub fn fold_key(&self) -> (AccountId, &str) {
        match self {
            SidebarRow::Account(a) => (a.id, ""),
            SidebarRow::Mailbox(m) => (m.account, m.name.as_str()),
            SidebarRow::Parent { account, name, .. } => (*account, name.as_str()),
        }
    }

    fn delimiter(&self) -> Option<char> {
        match self {
            SidebarRow::Account(_) => None,
            SidebarRow::Mailbox(m) => m.delimiter,
            SidebarRow::Parent { delimiter, .. } => Some(*delimiter),
        }
    }

    /// Whether a folded row (`key`) hides this one: it is inside that account or folder.
    pub fn hidden_by(&self, key: &(AccountId, String)) -> bool {
        let (account, path) = self.fold_key();
        if account != key.0 || path.is_empty() {
            return false;
        }
        if key.1.is_empty() {
            return true;
        }
        match self.delimiter() {
            Some(d) => path
                .strip_prefix(key.1.as_str())
                .is_some_and(|rest| rest.starts_with(d)),
            None => false,
        }
    }
}

/// The message list: the loaded window of rows around what is visible.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListState {
    pub mailbox: Option<MailboxId>,
    pub total: u32,
    /// Absolute index of the selected row (0 = newest).
    pub selected: u32,
    /// Absolute index of the first visible row.
    pub top: u32,
    /// Absolute index of `rows[0]`.
    pub window_offset: u32,
    pub rows: Vec<Envelope>,
    /// Id of the load request whose answer is awaited (older answers are dropped).
    pub loading: Option<RequestId>,
    /// Threaded view: the mailbox's threaded order (all rows) ...
    pub threads: Vec<ThreadRow>,
    /// ... the threads shown folded to their first row ...
    pub folded: BTreeSet<i64>,
    /// ... and the rows on screen, what `total` counts. None in the flat view.
    pub visible: Option<Vec<ThreadRow>>,
    /// The cache changed while a load was in flight: read again when it is in.
    pub stale: bool,
    /// Messages the user selected; actions apply to them (else to the current message).
    pub marked: BTreeSet<MsgId>,
    /// A visual range is being selected.
    pub visual: Option<Visual>,
    /// Ids to select are being read (request id, and whether they toggle).
    pub mark_req: Option<(RequestId, MarkMode)>,
}

/// A visual range: from `anchor` to the selected row, added to what was selected before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visual {
    pub anchor: u32,
    pub base: BTreeSet<MsgId>,
    /// The range last asked for, inclusive.
    pub range: (u32, u32),
}

/// What ids read for selection do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkMode {
    /// They are the visual range.
    Visual,
    /// Select them, or unselect them when all are selected already.
    Toggle,
}

/// The folder picker of a move or copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub copy: bool,
    pub msgs: Vec<MsgId>,
    /// The mailboxes offered (one account's, the one the messages are in left out).
    pub choices: Vec<(MailboxId, String)>,
    pub query: String,
    /// Indexes into `choices` matching the query, best first.
    pub matches: Vec<usize>,
    pub selected: usize,
}

/// A message being written: the review screen between editor runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compose {
    pub account: AccountId,
    pub kind: crate::domain::compose::Kind,
    /// The message answered or forwarded.
    pub original: Option<MsgId>,
    /// The saved draft this message continues (replaced when saved again, removed once sent).
    pub draft_msg: Option<MsgId>,
    pub draft: crate::domain::compose::Draft,
    /// The text the editor works on (header fields, blank line, body).
    pub file: std::path::PathBuf,
    /// A file path being typed to attach.
    pub attach_input: Option<String>,
    /// An address being typed (with suggestions from the address book).
    pub addr: Option<AddrPrompt>,
    /// The text is being written in the built-in editor.
    pub builtin: Option<Editor>,
    /// The attachment selected in the list.
    pub selected: usize,
    /// Something to tell on the review screen (a problem in the edited text, a warning).
    pub note: Option<String>,
    /// The user was warned that the text speaks of an attachment and none is attached.
    pub warned_attachment: bool,
    pub confirm_discard: bool,
    /// The edited text as it is being read back, or as it could not be read.
    pub edit: EditState,
}

/// A message sent that waits in the outbox (undo send): its row, when it goes, and what was
/// being written, to open again when it is taken back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSend {
    pub id: i64,
    pub subject: String,
    /// Seconds since the epoch.
    pub until: i64,
    pub compose: Box<Compose>,
}

/// Where the edited text is between the editor and the review.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditState {
    /// The text could not be read: the whole of it and what to fix; the next edit starts from
    /// it (the draft still holds the last text that could be read).
    pub rejected: Option<crate::domain::compose::Rejected>,
    /// The text is being read back and saved: sending waits for it.
    pub reading: bool,
    /// The paths that complete what is typed to attach, when there are several (tab cycles).
    pub choices: Vec<String>,
    /// The choice tab put in the prompt, if any.
    pub choice: Option<usize>,
    /// Written from a saved draft: discarding keeps it (only a new one saved here goes).
    pub resumed: bool,
}

/// The built-in editor (ratatui-textarea) on a message's text, and when it was last saved.
#[derive(Clone)]
pub struct Editor {
    pub area: ratatui_textarea::TextArea<'static>,
    /// The text as last autosaved (to save only what changed).
    pub saved: String,
    /// When it was last autosaved (or opened), seconds since the epoch.
    pub saved_at: i64,
}

impl Editor {
    pub fn new(text: &str, now: i64) -> Editor {
        // Quoted text is hostile too: no control character reaches the screen.
        let mut area = ratatui_textarea::TextArea::new(
            text.lines().map(crate::domain::sanitize::line).collect(),
        );
        // Start in To when it is empty (a new message), else in the body: under the header
        // fields' blank line.
        let head = text.lines().take_while(|l| !l.is_empty());
        let empty_to = head
            .enumerate()
            .find(|(_, l)| l.get(..3).is_some_and(|h| h.eq_ignore_ascii_case("to:")))
            .filter(|(_, l)| l.get(3..).is_some_and(|v| v.trim().is_empty()));
        if let Some((row, line)) = empty_to {
            let shown = crate::domain::sanitize::line(line);
            area.move_cursor(ratatui_textarea::CursorMove::Jump(
                row as u16,
                shown.chars().count() as u16,
            ));
            if !shown.ends_with(' ') {
                area.insert_char(' ');
            }
        } else if let Some(row) = text.lines().position(str::is_empty) {
            area.move_cursor(ratatui_textarea::CursorMove::Jump(row as u16 + 1, 0));
        }
        Editor {
            area,
            saved: text.to_string(),
            saved_at: now,
        }
    }

    pub fn text(&self) -> String {
        let mut t = self.area.lines().join("\n");
        t.push('\n');
        t
    }
}

impl PartialEq for Editor {
    fn eq(&self, other: &Editor) -> bool {
        self.area.lines() == other.area.lines() && self.saved_at == other.saved_at
    }
}

impl Eq for Editor {}

impl std::fmt::Debug for Editor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Editor")
            .field("lines", &self.area.lines().len())
            .field("saved_at", &self.saved_at)
            .finish()
    }
}

/// Which recipient field an address goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrField {
    To,
    Cc,
    Bcc,
}

/// An address being typed on the review screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrPrompt {
    pub field: AddrField,
    pub input: String,
    /// Best first.
    pub suggestions: Vec<crate::domain::Address>,
    pub selected: usize,
    /// The suggestions asked for last (older answers are dropped).
    pub req: RequestId,
}

/// A search: the query as typed, and what its results leave out. While it is on, the list
/// shows its results (all loaded: a search returns at most [`SEARCH_LIMIT`] rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchState {
    pub input: String,
    /// Across every account and folder (else the mailbox the list showed: a filter).
    pub global: bool,
    /// The mailboxes searched (empty: all).
    pub scope: Vec<MailboxId>,
    /// The mailbox the list showed before (shown again when the search ends).
    pub back_to: Option<MailboxId>,
    /// What is wrong with the query (its column), shown under it.
    pub error: Option<String>,
    /// The search asked for last (older answers are dropped); None: the query is empty.
    pub req: Option<RequestId>,
    /// Folded words to highlight in the reader.
    pub terms: Vec<String>,
    /// Found by a server in folders whose bodies are not cached (marked in the list).
    pub from_server: BTreeSet<MsgId>,
    /// Folders searched on their header fields only ("account/folder", why).
    pub headers_only: Vec<String>,
    /// Servers being asked: (account, its folders as "account/folder").
    pub asking: Vec<(AccountId, Vec<String>)>,
}

/// The most results a search shows.
pub const SEARCH_LIMIT: u32 = 2000;

/// A question before something that cannot be undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub question: String,
    /// What `y` does.
    pub cmd: super::msg::Cmd,
}

impl ListState {
    pub fn row(&self, index: u32) -> Option<&Envelope> {
        index
            .checked_sub(self.window_offset)
            .and_then(|i| self.rows.get(i as usize))
    }

    pub fn selected_row(&self) -> Option<&Envelope> {
        self.row(self.selected)
    }

    /// Whether rows `[from, to)` are all loaded (or past the end).
    pub fn has_rows(&self, from: u32, to: u32) -> bool {
        let to = to.min(self.total);
        from >= self.window_offset && to <= self.window_offset + self.rows.len() as u32
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderState {
    pub msg: MsgId,
    /// Columns the body was laid out for.
    pub width: u16,
    pub envelope: Envelope,
    /// None while loading, or when the body is not in the cache.
    pub view: Option<MessageView>,
    pub loading: Option<RequestId>,
    pub scroll: u16,
    /// The body was asked for from the server.
    pub fetching: bool,
    /// Why the body could not be downloaded.
    pub body_error: Option<String>,
}

/// Wall clock for date formatting, set by the run loop (fixed in tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    pub now: i64,
    /// Local offset from UTC in seconds.
    pub utc_offset: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppState {
    pub focus: Pane,
    pub layout: Layout,
    pub size: Rect,
    /// The mailboxes pane's rows on screen (folded folders and accounts leave theirs out) ...
    pub sidebar: Vec<SidebarRow>,
    /// ... of all its rows.
    pub sidebar_all: Vec<SidebarRow>,
    /// Folded accounts and folders, by (account, path; "" for the account).
    pub collapsed: BTreeSet<(AccountId, String)>,
    pub sidebar_selected: usize,
    pub list: ListState,
    pub reader: Option<ReaderState>,
    /// The key bindings in force, as (action, its keys), for the help overlay.
    pub key_help: Vec<(crate::domain::keys::Action, String)>,
    /// What each account's engine is doing.
    pub accounts_state: Vec<(AccountId, ConnState)>,
    /// The last error worth showing, one line.
    pub error: Option<String>,
    /// A short note for the status line (e.g. "demo mode").
    pub banner: String,
    pub clock: Clock,
    /// The message list is threaded (else flat, newest first).
    pub threaded: bool,
    /// Opening a message (enter, the reader focused on it) marks it read; a preview does not.
    pub mark_read_on_open: bool,
    /// What lies over the panes (popups, prompts), the last opened on top.
    pub overlays: Overlays,
    /// The last good news worth a line in the status bar (cleared by the next key, or after a
    /// while: `update::status`).
    pub notice: Option<String>,
    /// The reader fills the screen (the other panes are hidden).
    pub fullscreen: bool,
    /// The reader shows every header field, not the usual few.
    pub full_headers: bool,
    /// The reader shows the raw message source.
    pub show_source: bool,
    pub quit: bool,
    /// The user asked to suspend tern (the run loop stops the process, then redraws).
    pub suspend: bool,
    /// Mark read only after the message has been open this long (0: at once).
    pub mark_read_delay_ms: u64,
    /// Seconds a message sent waits in the outbox before it goes (0: at once).
    pub send_delay_secs: u64,
    /// The message just sent, while it waits and `u` can still take it back.
    pub pending_send: Option<Box<PendingSend>>,
    /// What `u` takes back, the last done last (what, for the status line).
    pub undo: Vec<(super::msg::Undo, String)>,
    /// The run loop is to hand the terminal to the editor on this file.
    pub editing: Option<std::path::PathBuf>,
    /// Ctrl-c was pressed once while a message is being written.
    pub interrupt_armed: bool,
    /// Mail is written in the built-in editor (no editor is set, or the config asks for it).
    pub builtin_editor: bool,
    /// A search (or a filter of the list) is on.
    pub search: Option<SearchState>,
    /// The message being read in the focused reader, and the one waiting for its mark-read
    /// delay (see `update::readstate`).
    pub read: ReadMark,
    /// When the notice and the error on the status line were set (seconds since the epoch),
    /// and the full text of the last error (see `update::status`).
    pub status: StatusTimes,
    /// The command line's history and the output of a pipe (`update::cmdline`).
    pub cmdline: super::command::CmdlineState,
    /// The mailbox opened at start because no inbox was known yet (an empty cache being
    /// filled): the first account's inbox replaces it when it appears.
    pub provisional_mailbox: Option<MailboxId>,
    /// The mailboxes pane is hidden (config `sidebar = false`, or toggled).
    pub sidebar_hidden: bool,
    /// The cache's data version last read (see `Cmd::PollCache`).
    pub cache_version: Option<i64>,
    next_req: RequestId,
}

/// What the user opened to read (moving the cursor only previews).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadMark {
    /// The message shown in the focused reader (or full screen).
    pub reading: Option<MsgId>,
    /// The message to mark read when its delay is over, if still read then.
    pub pending: Option<MsgId>,
}

/// The status line's notices age: when each was set, and the last error in full.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusTimes {
    pub notice_at: i64,
    pub error_at: i64,
    /// The last error, whole (the status line may shorten it).
    pub last_error: Option<String>,
}

impl AppState {
    pub fn new(layout: Layout, banner: impl Into<String>) -> AppState {
        AppState {
            focus: Pane::Mailboxes,
            layout,
            size: Rect::new(0, 0, 80, 24),
            sidebar: Vec::new(),
            sidebar_all: Vec::new(),
            collapsed: BTreeSet::new(),
            sidebar_selected: 0,
            list: ListState::default(),
            reader: None,
            key_help: Vec::new(),
            accounts_state: Vec::new(),
            error: None,
            banner: banner.into(),
            clock: Clock::default(),
            threaded: false,
            // The run loop sets it from the config (default on).
            mark_read_on_open: false,
            overlays: Overlays::default(),
            notice: None,
            fullscreen: false,
            full_headers: false,
            show_source: false,
            quit: false,
            suspend: false,
            mark_read_delay_ms: 0,
            send_delay_secs: 0,
            pending_send: None,
            undo: Vec::new(),
            editing: None,
            builtin_editor: false,
            interrupt_armed: false,
            search: None,
            read: ReadMark::default(),
            status: StatusTimes::default(),
            cmdline: Default::default(),
            provisional_mailbox: None,
            sidebar_hidden: false,
            cache_version: None,
            next_req: RequestId(1),
        }
    }

    pub fn next_req(&mut self) -> RequestId {
        let r = self.next_req;
        self.next_req.0 += 1;
        r
    }

    pub fn selected_mailbox(&self) -> Option<&Mailbox> {
        match self.sidebar.get(self.sidebar_selected) {
            Some(SidebarRow::Mailbox(m)) => Some(m),
            _ => None,
        }
    }

    pub fn open_mailbox(&self) -> Option<&Mailbox> {
        let id = self.list.mailbox?;
        self.sidebar_all.iter().find_map(|r| match r {
            SidebarRow::Mailbox(m) if m.id == id => Some(m),
            _ => None,
        })
    }

    /// Keys go to the top overlay as typed, not through the key bindings (a message being
    /// written takes them once no editor runs on it).
    pub fn typing(&self) -> bool {
        match self.overlays.top() {
            Some(Overlay::Compose(_)) => self.editing.is_none(),
            Some(o) => o.takes_text(),
            None => false,
        }
    }

    pub fn account_name(&self, id: AccountId) -> Option<&str> {
        self.sidebar.iter().find_map(|r| match r {
            SidebarRow::Account(a) if a.id == id => Some(a.name.as_str()),
            _ => None,
        })
    }
}
