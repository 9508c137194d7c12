//! Keys in the help popup: scrolling (j/k, pages, g/G, the wheel) and the filter (`/`, typed,
//! enter keeps it, esc drops it).

use super::super::help::{self, HelpView};
use super::super::overlay::Overlay;
use super::super::state::AppState;
use crate::domain::keys::{Action, Key, KeyChord};

fn view(state: &mut AppState) -> Option<&mut HelpView> {
    match state.overlays.top_mut() {
        Some(Overlay::Help(v)) => Some(v),
        _ => None,
    }
}

/// Move the first line shown to `to`, kept within the lines.
fn scroll_to(state: &mut AppState, to: isize) {
    let Some(v) = view(state).cloned() else {
        return;
    };
    let max = help::max_scroll(&state.key_help, state.focus, &v, state.size);
    let to = to.clamp(0, max as isize) as usize;
    if let Some(v) = view(state) {
        v.scroll = to;
    }
}

/// A key binding while the help is on top.
pub fn on_key(state: &mut AppState, action: Action) {
    let Some(v) = view(state).cloned() else {
        return;
    };
    let rows = help::geometry(state.size, &state.key_help).rows as isize;
    let at = v.scroll as isize;
    match action {
        Action::Help | Action::Quit => {
            state.overlays.pop();
        }
        Action::Back if !v.filter.is_empty() => {
            if let Some(v) = view(state) {
                v.filter.clear();
                v.scroll = 0;
            }
        }
        Action::Back => {
            state.overlays.pop();
        }
        Action::Filter => {
            if let Some(v) = view(state) {
                v.typing = true;
            }
        }
        Action::Down => scroll_to(state, at + 1),
        Action::Up => scroll_to(state, at - 1),
        Action::HalfPageDown => scroll_to(state, at + (rows / 2).max(1)),
        Action::HalfPageUp => scroll_to(state, at - (rows / 2).max(1)),
        Action::PageDown => scroll_to(state, at + rows.max(1)),
        Action::PageUp => scroll_to(state, at - rows.max(1)),
        Action::Top => scroll_to(state, 0),
        Action::Bottom => scroll_to(state, isize::MAX / 2),
        _ => {}
    }
}

/// The wheel turned while the help is on top.
pub fn on_wheel(state: &mut AppState, down: bool) {
    let at = view(state).map_or(0, |v| v.scroll as isize);
    scroll_to(state, if down { at + 3 } else { at - 3 });
}

/// A key typed into the filter.
pub fn on_typed(state: &mut AppState, chord: KeyChord) {
    let Some(v) = view(state) else {
        return;
    };
    match chord.key {
        Key::Enter => v.typing = false,
        Key::Esc => {
            v.typing = false;
            v.filter.clear();
        }
        Key::Backspace => {
            v.filter.pop();
        }
        Key::Char(c) if !chord.ctrl && !chord.alt => v.filter.push(c),
        _ => return,
    }
    v.scroll = 0;
}
