//! `update`: the pure state machine. No I/O, no .await: it changes the state and returns the
//! commands for the effects runner.

use super::layout;
use super::msg::{Cmd, Msg};
use super::overlay::Overlay;
use super::state::{AppState, Pane, ReaderState};
use crate::config::Layout;
use crate::domain::ALL_INBOXES;
use crate::domain::engine::Event as EngineEvent;
use crate::domain::keys::Action;
use crate::domain::triage::FlagName;

/// Rows loaded on each side of the visible page, so scrolling rarely waits for the cache.
const MARGIN_PAGES: u32 = 1;

// Long: one arm per message, each a call into the module of its concern.
pub fn update(state: &mut AppState, msg: Msg) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    if let Msg::ActionTriggered(_) = msg {
        state.notice = None; // a key takes the notice away
    }
    let before = status::Before::of(state);
    dispatch(state, msg, &mut cmds);
    // What follows any message: what the user reads, and the status line's age.
    readstate::settle(state, &mut cmds);
    status::settle(state, before);
    cmds
}

/// Each message to the code of its concern.
// Long: one arm per message, each a call into the module of its concern.
fn dispatch(state: &mut AppState, msg: Msg, cmds: &mut Vec<Cmd>) {
    match msg {
        Msg::ActionTriggered(action) => {
            overlay::route(state, Input::Key(action), cmds);
            triage::extend_visual(state, cmds);
        }
        Msg::Resized(size) => {
            state.size = size;
            ensure_visible(state, cmds);
            relayout_reader(state, cmds);
        }
        Msg::Clicked { x, y } => overlay::route(state, Input::Click { x, y }, cmds),
        Msg::Scrolled { x, y, down } => overlay::route(state, Input::Wheel { x, y, down }, cmds),
        Msg::Ticked { now, utc_offset } => {
            state.clock.now = now;
            state.clock.utc_offset = utc_offset;
            compose::autosave(state, cmds);
        }
        Msg::SendCountdown { now } => undosend::on_countdown(state, now, cmds),
        Msg::SendWithdrawn { id, withdrawn } => undosend::on_withdrawn(state, id, withdrawn),
        Msg::CacheCheckDue => refresh::on_check_due(cmds),
        Msg::CacheVersion(v) => refresh::on_cache_version(state, v, cmds),
        Msg::MailboxesLoaded {
            accounts,
            mailboxes,
        } => on_mailboxes(state, accounts, mailboxes, cmds),
        m @ (Msg::EnvelopesLoaded { .. } | Msg::ThreadsLoaded { .. }) => {
            list::on_msg(state, m, cmds)
        }
        m @ (Msg::MessageLoaded { .. } | Msg::ReadDelayElapsed { .. }) => {
            reader::on_msg(state, m, cmds)
        }
        Msg::Engine(event) => on_engine(state, event, cmds),
        Msg::Failed(text) => state.error = Some(text),
        Msg::NewMail { mail, ring } => {
            if let Some(m) = mail.last() {
                state.notice = Some(match mail.len() {
                    1 => format!("new mail from {}: {}", m.from, m.subject),
                    n => format!("{n} new messages, the last from {}: {}", m.from, m.subject),
                });
            }
            cmds.extend(ring.map(Cmd::Ring));
        }
        Msg::Notice(text) => state.notice = Some(text),
        Msg::ComposeDiscarded => state.notice = Some("discarded".into()),
        Msg::AttachmentSaved { path, opened } => {
            state.notice = Some(match opened {
                true => format!("opened {}", path.display()),
                false => format!("saved to {}", path.display()),
            })
        }
        Msg::ActionLogLoaded(entries) => {
            state.overlays.replace_or_push(Overlay::ActionLog(entries))
        }
        Msg::ActionDone(done) => triage::on_done(state, done, cmds),
        Msg::Marked { req, ids } => triage::on_marked(state, req, ids),
        m @ (Msg::ComposeStarted(_)
        | Msg::ComposeFileWritten
        | Msg::EditorClosed { .. }
        | Msg::ComposeEdited(_)
        | Msg::ComposeReadBack(_)
        | Msg::Attached(_)
        | Msg::PathCompleted { .. }
        | Msg::Suggestions { .. }
        | Msg::Autosaved { .. }
        | Msg::ComposeQueued(_)) => compose::on_msg(state, m, cmds),
        m @ (Msg::Searched { .. } | Msg::ServerHits { .. }) => search::on_msg(state, m, cmds),
        Msg::Typed(chord) => overlay::route(state, Input::Typed(chord), cmds),
        Msg::QuitRequested => state.quit = true,
        Msg::Unbound(chord) => cmdline::unbound(state, chord),
        m @ (Msg::Piped { .. } | Msg::LineCompleted { .. } | Msg::Reloaded(_)) => {
            cmdline::on_msg(state, m)
        }
        Msg::Interrupted if state.overlays.compose().is_some() && !state.interrupt_armed => {
            state.interrupt_armed = true;
            state.notice = Some(
                "ctrl-c again quits: what is not saved as a draft is lost (s saves it)".into(),
            );
        }
        Msg::Interrupted => state.quit = true,
        Msg::Setup(m) => firststart::on_msg(state, m, cmds),
    }
}

/// An account's engine reported.
fn on_engine(state: &mut AppState, event: EngineEvent, cmds: &mut Vec<Cmd>) {
    match event {
        EngineEvent::BodyFetched { msg } => {
            if state.reader.as_ref().is_some_and(|r| r.msg == msg) {
                reload_message(state, cmds);
            }
        }
        EngineEvent::BodyFailed { msg, error } => {
            if let Some(r) = &mut state.reader
                && r.msg == msg
            {
                r.fetching = false;
                r.body_error = Some(error);
            }
        }
        EngineEvent::State {
            account,
            state: conn,
        } => match state.accounts_state.iter_mut().find(|(a, _)| *a == account) {
            Some(slot) => slot.1 = conn,
            None => state.accounts_state.push((account, conn)),
        },
        EngineEvent::Changed { mailbox, .. } => {
            cmds.push(Cmd::LoadMailboxes);
            // The all-inboxes list shows several mailboxes: any change may be in it.
            if mailbox.is_none()
                || mailbox == state.list.mailbox
                || state.list.mailbox == Some(ALL_INBOXES)
                || state.search.is_some()
            {
                reload_list(state, cmds);
            }
        }
        EngineEvent::Searched {
            req,
            account,
            found,
            error,
        } => search::on_server_searched(state, req, account, found, error, cmds),
        EngineEvent::Arrived { msgs, .. } => cmds.push(Cmd::Announce { msgs }),
        EngineEvent::Notice {
            account,
            text,
            problem,
        } => {
            let text = match state.account_name(account) {
                Some(name) => format!("{name}: {text}"),
                None => text,
            };
            if problem {
                state.error = Some(text);
            } else {
                state.notice = Some(text);
            }
        }
    }
}

/// A key binding for the panes (no overlay is open).
fn on_action(state: &mut AppState, action: Action, cmds: &mut Vec<Cmd>) {
    match action {
        Action::Quit => state.quit = true,
        Action::Help => state.overlays.push(Overlay::Help(Default::default())),
        Action::NextPane
        | Action::PrevPane
        | Action::Open
        | Action::Back
        | Action::Fullscreen
        | Action::ToggleLayout => on_pane_action(state, action, cmds),
        Action::ToggleSelect if state.focus == Pane::Reader || state.fullscreen => {
            // Like mutt's pager: space pages down (and stops at the end).
            reader::scroll(state, Action::PageDown)
        }
        Action::NextMessage
        | Action::PrevMessage
        | Action::ToggleThreads
        | Action::ToggleFold
        | Action::ToggleSelect => list::on_action(state, action, cmds),
        Action::FullHeaders | Action::Source | Action::Attachments | Action::OpenLink => {
            reader::on_action(state, action)
        }
        Action::Suspend => state.suspend = true,
        Action::SyncNow => refresh::check_now(state, cmds),
        Action::ToggleSidebar => {
            sidebar::toggle_hidden(state);
            relayout_reader(state, cmds);
        }
        Action::Save => {}
        Action::ActionLog => cmds.push(Cmd::LoadActionLog),
        Action::LastError => status::show_last_error(state),
        Action::Filter => search::start(state, false, None, cmds),
        Action::Search => search::start(state, true, None, cmds),
        Action::CommandLine => cmdline::open(state, ""),
        Action::Pipe | Action::SaveAs => cmdline::on_action(state, action),
        Action::Delete
        | Action::Archive
        | Action::Junk
        | Action::MoveTo
        | Action::CopyTo
        | Action::Undo
        | Action::VisualSelect
        | Action::SelectThread
        | Action::SelectAll => triage::on_action(state, action, cmds),
        Action::Compose
        | Action::Reply
        | Action::ReplyAll
        | Action::Forward
        | Action::ForwardAttached
        | Action::EditDraft => compose::on_action(state, action, cmds),
        Action::ToggleRead => toggle_flag(state, FlagName::Seen, cmds),
        Action::ToggleFlag => toggle_flag(state, FlagName::Flagged, cmds),
        motion => on_motion(state, motion, cmds),
    }
}

/// A key binding that moves the focus between the panes or changes how they are laid out.
fn on_pane_action(state: &mut AppState, action: Action, cmds: &mut Vec<Cmd>) {
    match action {
        Action::NextPane | Action::PrevPane => {
            state.focus = match (action == Action::NextPane, state.focus) {
                (true, Pane::Mailboxes) => Pane::Messages,
                (true, Pane::Messages) => Pane::Reader,
                (true, Pane::Reader) => Pane::Mailboxes,
                (false, Pane::Mailboxes) => Pane::Reader,
                (false, Pane::Messages) => Pane::Mailboxes,
                (false, Pane::Reader) => Pane::Messages,
            };
            // A hidden mailboxes pane is passed over.
            if state.sidebar_hidden && state.focus == Pane::Mailboxes {
                state.focus = if action == Action::NextPane {
                    Pane::Messages
                } else {
                    Pane::Reader
                };
            }
        }
        Action::Open => {
            state.focus = match state.focus {
                Pane::Mailboxes => Pane::Messages,
                _ => Pane::Reader,
            };
            // Enter on a message reads it (again: a message marked unread is read now).
            readstate::opened(state, cmds);
        }
        Action::Back if state.fullscreen => state.fullscreen = false,
        Action::Back
            if (!state.list.marked.is_empty() || state.list.visual.is_some())
                && state.focus == Pane::Messages =>
        {
            state.list.marked.clear();
            state.list.visual = None;
        }
        Action::Back if state.search.is_some() && state.focus != Pane::Reader => {
            search::end(state, cmds)
        }
        Action::Back => {
            state.focus = match state.focus {
                Pane::Reader => Pane::Messages,
                _ => Pane::Mailboxes,
            }
        }
        Action::Fullscreen => {
            state.fullscreen = !state.fullscreen;
            if state.fullscreen {
                state.focus = Pane::Reader;
            }
            relayout_reader(state, cmds);
        }
        Action::ToggleLayout => {
            state.layout = if layout::is_wide(state.size, state.layout) {
                Layout::Tall
            } else {
                Layout::Wide
            };
            ensure_visible(state, cmds);
            relayout_reader(state, cmds);
        }
        _ => {}
    }
}

/// A motion key (up, down, a page...): it moves in the focused pane.
fn on_motion(state: &mut AppState, motion: Action, cmds: &mut Vec<Cmd>) {
    let list_page = layout::list_rows(state.size, state.layout);
    match state.focus {
        Pane::Mailboxes => {
            let len = state.sidebar.len() as i64;
            let target = moved(state.sidebar_selected as i64, len, motion, list_page as i64);
            select_sidebar(state, target as usize, cmds);
        }
        Pane::Messages => {
            let total = i64::from(state.list.total);
            let target = moved(
                i64::from(state.list.selected),
                total,
                motion,
                list_page as i64,
            );
            if target as u32 != state.list.selected {
                state.list.selected = target as u32;
                ensure_visible(state, cmds);
                open_selected(state, cmds);
            }
        }
        Pane::Reader => reader::scroll(state, motion),
    }
}

/// Flip a flag on the selection, or on the current message when nothing is selected: the rows
/// change at once, the cache and the server follow. With a selection, the flag is set unless
/// every loaded selected row has it already.
fn toggle_flag(state: &mut AppState, flag: FlagName, cmds: &mut Vec<Cmd>) {
    let get = |e: &crate::domain::Envelope| flag.is_set(&e.flags);
    let targets = triage::targets(state);
    if targets.is_empty() {
        return;
    }
    if flag == FlagName::Seen {
        readstate::flag_set_by_user(state, &targets);
    }
    let list = &mut state.list;
    let on = !list
        .rows
        .iter()
        .filter(|e| targets.contains(&e.id))
        .all(get);
    for e in list.rows.iter_mut().filter(|e| targets.contains(&e.id)) {
        match flag {
            FlagName::Seen => e.flags.seen = on,
            FlagName::Flagged => e.flags.flagged = on,
            FlagName::Answered => e.flags.answered = on,
            FlagName::Forwarded => {
                e.flags.keywords.retain(|k| k != "$Forwarded");
                if on {
                    e.flags.keywords.push("$Forwarded".into());
                }
            }
        }
    }
    cmds.push(Cmd::SetFlag {
        msgs: targets,
        flag,
        on,
        undoable: true,
    });
}

/// A new position after a motion, clamped to `0..len`.
fn moved(pos: i64, len: i64, motion: Action, page: i64) -> i64 {
    let target = match motion {
        Action::Down => pos + 1,
        Action::Up => pos - 1,
        Action::Top => 0,
        Action::Bottom => len - 1,
        Action::HalfPageDown => pos + (page / 2).max(1),
        Action::HalfPageUp => pos - (page / 2).max(1),
        Action::PageDown => pos + page.max(1),
        Action::PageUp => pos - page.max(1),
        _ => pos,
    };
    target.clamp(0, (len - 1).max(0))
}

/// Read the open message again (its body arrived, or the reader's width changed).
fn reload_message(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let width = layout::reader_cols_of(state);
    let req = state.next_req();
    if let Some(r) = &mut state.reader {
        r.loading = Some(req);
        r.width = width;
        cmds.push(Cmd::LoadMessage {
            req,
            msg: r.msg,
            width,
        });
    }
}

/// Lay an HTML body out again when the reader's width changed.
fn relayout_reader(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let width = layout::reader_cols_of(state);
    if state.reader.as_ref().is_some_and(|r| {
        r.width != width && r.loading.is_none() && r.view.as_ref().is_some_and(|v| v.rich.is_some())
    }) {
        reload_message(state, cmds);
    }
}

/// Show the selected message in the reader (a preview: the user reads it by focusing the reader).
fn open_selected(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    // The lists of the message shown before go with it.
    let close_lists = |state: &mut AppState| {
        state
            .overlays
            .close(|o| matches!(o, Overlay::Links(_) | Overlay::Attachments(_)))
    };
    let Some(env) = state.list.selected_row().cloned() else {
        state.reader = None;
        close_lists(state);
        return;
    };
    if state.reader.as_ref().map(|r| r.msg) == Some(env.id) {
        return;
    }
    let req = state.next_req();
    close_lists(state);
    // A preview: it marks nothing read (see `readstate`).
    let width = layout::reader_cols_of(state);
    cmds.push(Cmd::LoadMessage {
        req,
        msg: env.id,
        width,
    });
    state.reader = Some(ReaderState {
        width,
        msg: env.id,
        envelope: env,
        view: None,
        loading: Some(req),
        scroll: 0,
        fetching: false,
        body_error: None,
    });
}

/// Mark a message read because the user opened it (not an undoable user action).
fn mark_read(state: &mut AppState, msg: crate::domain::MsgId, cmds: &mut Vec<Cmd>) {
    if let Some(row) = state.list.rows.iter_mut().find(|e| e.id == msg) {
        row.flags.seen = true;
    }
    cmds.push(Cmd::SetFlag {
        msgs: vec![msg],
        flag: FlagName::Seen,
        on: true,
        undoable: false,
    });
}

mod cmdline;
mod compose;
mod firststart;
mod help;
mod list;
mod mouse;
pub mod overlay;
mod reader;
mod readstate;
mod refresh;
mod search;
mod sidebar;
mod status;
mod triage;
mod undosend;

use list::{ensure_visible, open_mailbox, reload_list};
use overlay::Input;
pub use sidebar::sidebar_rows;
use sidebar::{on_mailboxes, select_sidebar, toggle_sidebar_fold};
pub use status::TICK_SECS;
pub use triage::worded;

#[cfg(test)]
mod tests;
