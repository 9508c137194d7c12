//! Read state the user controls, as in mutt and aerc. Moving the cursor (in the list or the
//! mailboxes pane), a list reloading or tern starting only previews a message in the reader: it
//! is marked read when the user reads it, that is when the reader is focused on it (enter, tab
//! into the reader, full screen, or `J`/`K` from the reader), at once or after
//! `mark_read_delay` if the reader is still on it then. A message marked unread (`N`) stays
//! unread until the user opens it again (enter).

use super::super::msg::Cmd;
use super::super::state::{AppState, Pane};
use super::mark_read;
use crate::domain::MsgId;

/// The message the focused reader shows, if the user is reading one.
fn read_now(state: &AppState) -> Option<MsgId> {
    let reading = state.focus == Pane::Reader || state.fullscreen;
    state.reader.as_ref().filter(|_| reading).map(|r| r.msg)
}

/// After each message: a message the focused reader came to is opened; the delay of one the
/// user left is forgotten.
pub fn settle(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let now = read_now(state);
    if now == state.read.reading {
        return;
    }
    state.read.reading = now;
    state.read.pending = None;
    if now.is_some() {
        opened(state, cmds);
    }
}

/// The user opened the message in the reader (enter on it, even when it is open already):
/// mark it read, at once or after the delay.
pub fn opened(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    state.read.reading = read_now(state);
    let Some(msg) = state.read.reading else {
        return;
    };
    let unread = state.list.rows.iter().any(|e| e.id == msg && !e.flags.seen);
    if !state.mark_read_on_open || !unread {
        return;
    }
    if state.mark_read_delay_ms > 0 {
        state.read.pending = Some(msg);
        cmds.push(Cmd::MarkReadLater {
            msg,
            after_ms: state.mark_read_delay_ms,
        });
    } else {
        mark_read(state, msg, cmds);
    }
}

/// The delay of a message is over: it is marked read if the user still reads it.
pub fn delay_elapsed(state: &mut AppState, msg: MsgId, cmds: &mut Vec<Cmd>) {
    if state.read.pending != Some(msg) {
        return; // left, marked unread, or opened again since
    }
    state.read.pending = None;
    let unread = state.list.rows.iter().any(|e| e.id == msg && !e.flags.seen);
    if unread && read_now(state) == Some(msg) {
        mark_read(state, msg, cmds);
    }
}

/// The user set or cleared the read flag himself: no delay overrides it.
pub fn flag_set_by_user(state: &mut AppState, msgs: &[MsgId]) {
    if state.read.pending.is_some_and(|m| msgs.contains(&m)) {
        state.read.pending = None;
    }
}
