//! Where input goes: the one place that decides. A key goes to the top overlay (as a key
//! binding or as typed, whichever it takes: see `AppState::typing`), or to the panes when none
//! is open. A click or a wheel turn stops at any overlay drawn over the panes; the prompts in
//! the status line let it through. The view draws the same stack bottom to top.
//!
//! The overlays that take key bindings (help, links, attachments, action log) are handled
//! here; the others in the module of their concern (triage: picker and question; compose;
//! search: the query and the command line).

use super::super::msg::Cmd;
use super::super::overlay::Overlay;
use super::super::state::AppState;
use super::{cmdline, compose, firststart, help, mouse, search, triage};
use crate::domain::keys::{Action, KeyChord};

/// Input from the user, before it is routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A key resolved to an action by the key bindings.
    Key(Action),
    /// A key typed into a prompt.
    Typed(KeyChord),
    /// A left click at a screen cell.
    Click { x: u16, y: u16 },
    /// The wheel turned over a screen cell.
    Wheel { x: u16, y: u16, down: bool },
}

/// Send the input to the top overlay, or to the panes.
pub fn route(state: &mut AppState, input: Input, cmds: &mut Vec<Cmd>) {
    match input {
        Input::Wheel { down, .. } if matches!(state.overlays.top(), Some(Overlay::Help(_))) => {
            help::on_wheel(state, down)
        }
        // A popup is over the panes: a click must not reach what is under it.
        Input::Click { .. } | Input::Wheel { .. } if state.overlays.covers_panes() => {}
        Input::Click { x, y } => mouse::on_click(state, x, y, cmds),
        Input::Wheel { x, y, down } => mouse::on_wheel(state, x, y, down, cmds),
        Input::Key(action) => match state.overlays.top() {
            None => super::on_action(state, action, cmds),
            // It takes every key.
            Some(Overlay::Help(_)) => help::on_key(state, action),
            Some(Overlay::ActionLog(_)) if action == Action::LastError => {
                super::status::show_last_error(state)
            }
            Some(Overlay::ActionLog(_)) => {
                if matches!(action, Action::ActionLog | Action::Back | Action::Quit) {
                    state.overlays.pop();
                }
            }
            Some(Overlay::LastError(_)) => {
                if matches!(action, Action::LastError | Action::Back | Action::Quit) {
                    state.overlays.pop();
                }
            }
            Some(Overlay::Output(_)) => cmdline::on_output_key(state, action, cmds),
            Some(&Overlay::Attachments(sel)) => on_attachments_key(state, sel, action, cmds),
            Some(&Overlay::Links(sel)) => on_links_key(state, sel, action, cmds),
            // These take keys as typed (the run loop sends no key binding while they are on
            // top; a message being written gets none while its editor runs).
            Some(
                Overlay::Picker(_)
                | Overlay::Confirm(_)
                | Overlay::Compose(_)
                | Overlay::Command(_)
                | Overlay::Query
                | Overlay::Setup(_),
            ) => {}
        },
        Input::Typed(chord) => match state.overlays.top() {
            Some(Overlay::Command(_)) => cmdline::on_typed(state, chord, cmds),
            Some(Overlay::Query) => search::on_typed(state, chord, cmds),
            Some(Overlay::Confirm(_)) => triage::on_confirm_typed(state, chord, cmds),
            Some(Overlay::Picker(_)) => triage::on_picker_typed(state, chord, cmds),
            Some(Overlay::Help(_)) => help::on_typed(state, chord),
            Some(Overlay::Setup(_)) => firststart::on_typed(state, chord, cmds),
            Some(Overlay::Compose(_)) => {
                state.interrupt_armed = false;
                compose::on_typed(state, chord, cmds)
            }
            // They take key bindings, not text (nor do the panes).
            None
            | Some(
                Overlay::ActionLog(_)
                | Overlay::LastError(_)
                | Overlay::Attachments(_)
                | Overlay::Links(_)
                | Overlay::Output(_),
            ) => {}
        },
    }
}

/// Keys in the attachments list (on top).
fn on_attachments_key(state: &mut AppState, sel: usize, action: Action, cmds: &mut Vec<Cmd>) {
    if matches!(action, Action::Back | Action::Quit | Action::Attachments) {
        // Closes it even when the message went away under it.
        state.overlays.pop();
        return;
    }
    if matches!(action, Action::Pipe | Action::SaveAs) {
        cmdline::on_action(state, action);
        return;
    }
    let (msg, count) = match state.reader.as_ref() {
        Some(r) => (r.msg, r.view.as_ref().map_or(0, |v| v.attachments.len())),
        None => return,
    };
    let set = |state: &mut AppState, i: usize| {
        if let Some(Overlay::Attachments(s)) = state.overlays.top_mut() {
            *s = i;
        }
    };
    match action {
        Action::Down => set(state, (sel + 1).min(count.saturating_sub(1))),
        Action::Up => set(state, sel.saturating_sub(1)),
        Action::Open => {
            cmds.push(Cmd::OpenAttachment { msg, index: sel });
            state.overlays.pop();
        }
        Action::Save => {
            cmds.push(Cmd::SaveAttachment { msg, index: sel });
            state.overlays.pop();
        }
        _ => {}
    }
}

/// Keys in the links list (on top).
fn on_links_key(state: &mut AppState, sel: usize, action: Action, cmds: &mut Vec<Cmd>) {
    let links = state
        .reader
        .as_ref()
        .and_then(|r| r.view.as_ref())
        .map(|v| v.links.as_slice())
        .unwrap_or_default();
    let count = links.len();
    let url = links.get(sel).cloned();
    let set = |state: &mut AppState, i: usize| {
        if let Some(Overlay::Links(s)) = state.overlays.top_mut() {
            *s = i;
        }
    };
    match action {
        Action::Down => set(state, (sel + 1).min(count.saturating_sub(1))),
        Action::Up => set(state, sel.saturating_sub(1)),
        Action::Open => {
            if let Some(url) = url {
                cmds.push(Cmd::OpenUrl { url });
            }
            state.overlays.pop();
        }
        Action::Back | Action::Quit | Action::OpenLink => {
            state.overlays.pop();
        }
        _ => {}
    }
}
