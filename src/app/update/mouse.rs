//! The mouse over the panes (`overlay::route` sends it here only when no popup covers them):
//! a click selects what is under it, the wheel scrolls the pane under it.

use super::super::layout;
use super::super::msg::Cmd;
use super::super::state::{AppState, Pane};
use super::{ensure_visible, on_action, open_selected, select_sidebar};
use crate::domain::keys::Action;

/// A click selects what is under it: a mailbox, a message, or the reader pane.
pub fn on_click(state: &mut AppState, x: u16, y: u16, cmds: &mut Vec<Cmd>) {
    let a = layout::areas_of(state);
    if let Some(row) = layout::row_in(a.sidebar, x, y) {
        let height = a.sidebar.height.saturating_sub(2) as usize;
        let index = layout::sidebar_start(state.sidebar_selected, height) + usize::from(row);
        if index < state.sidebar.len() {
            state.focus = Pane::Mailboxes;
            select_sidebar(state, index, cmds);
        }
    } else if let Some(row) = layout::row_in(a.list, x, y) {
        let index = state.list.top + u32::from(row);
        if index < state.list.total {
            state.focus = Pane::Messages;
            state.list.selected = index;
            ensure_visible(state, cmds);
            open_selected(state, cmds);
        }
    } else if layout::row_in(a.reader, x, y).is_some() {
        state.focus = Pane::Reader;
    }
}

/// The wheel moves the selection (three rows) or scrolls the reader, in the pane under it.
pub fn on_wheel(state: &mut AppState, x: u16, y: u16, down: bool, cmds: &mut Vec<Cmd>) {
    let a = layout::areas_of(state);
    let step = if down { Action::Down } else { Action::Up };
    let (pane, times) = if layout::row_in(a.sidebar, x, y).is_some() {
        (Pane::Mailboxes, 1)
    } else if layout::row_in(a.list, x, y).is_some() {
        (Pane::Messages, 3)
    } else if layout::row_in(a.reader, x, y).is_some() {
        (Pane::Reader, 3)
    } else {
        return;
    };
    let focus = std::mem::replace(&mut state.focus, pane);
    for _ in 0..times {
        on_action(state, step, cmds);
    }
    // Scrolling a pane does not move the keyboard focus.
    state.focus = focus;
}
