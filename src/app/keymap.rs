//! Keys -> actions: the defaults from `domain::keys`, with the config's `[keys]` overrides,
//! and the little state machine for multi-key sequences (`g g`).

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::Pane;
use crate::domain::keys::{self, Action, Key, KeyChord, KeySeq};

/// Whether an action does something when `pane` has the focus (the help overlay lists only
/// those).
pub fn applies_in(action: Action, pane: Pane) -> bool {
    match action {
        Action::NextMessage
        | Action::PrevMessage
        | Action::Fullscreen
        | Action::FullHeaders
        | Action::Source
        | Action::ToggleThreads
        | Action::OpenLink
        | Action::Attachments
        | Action::ToggleRead
        | Action::ToggleFlag
        | Action::Delete
        | Action::Archive
        | Action::Junk
        | Action::MoveTo
        | Action::CopyTo
        | Action::Reply
        | Action::ReplyAll
        | Action::Forward
        | Action::ForwardAttached
        | Action::EditDraft => pane != Pane::Mailboxes,
        // Only inside the attachments list.
        Action::Save => false,
        Action::ToggleFold => pane != Pane::Reader,
        Action::ToggleSelect | Action::VisualSelect | Action::SelectThread | Action::SelectAll => {
            pane == Pane::Messages
        }
        _ => true,
    }
}

/// What a key press did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Action(Action),
    /// The press starts a longer sequence: wait for the next key.
    Pending,
    /// Nothing is bound to it.
    Unbound,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(KeySeq, Action)>,
    pending: Vec<KeyChord>,
}

impl Keymap {
    /// Defaults, with each action named in `overrides` bound only to the given keys, and the
    /// defaults those keys clash with left out (`keys::effective_keys`).
    pub fn new(overrides: &BTreeMap<Action, Vec<KeySeq>>) -> Keymap {
        let mut bindings = Vec::new();
        for &action in Action::ALL {
            bindings.extend(
                keys::effective_keys(action, overrides)
                    .into_iter()
                    .map(|s| (s, action)),
            );
        }
        Keymap {
            bindings,
            pending: Vec::new(),
        }
    }

    /// Feed one chord. An override that reuses a default key wins over the default because
    /// overridden actions lose their defaults entirely.
    pub fn feed(&mut self, chord: KeyChord) -> Resolved {
        self.pending.push(chord);
        let mut prefix = false;
        for (seq, action) in &self.bindings {
            if seq.0 == self.pending {
                self.pending.clear();
                return Resolved::Action(*action);
            }
            if seq.0.len() > self.pending.len() && seq.0.starts_with(&self.pending) {
                prefix = true;
            }
        }
        if prefix {
            return Resolved::Pending;
        }
        let was_sequence = self.pending.len() > 1;
        self.pending.clear();
        if was_sequence {
            // A broken sequence: try the last key on its own.
            return self.feed(chord);
        }
        Resolved::Unbound
    }

    /// The keys bound to each action, in action order (for the help overlay).
    /// The help overlay's rows: each bound action with its keys, joined.
    pub fn help(&self) -> Vec<(Action, String)> {
        self.bindings()
            .into_iter()
            .map(|(a, keys)| (a, keys.join(", ")))
            .collect()
    }

    pub fn bindings(&self) -> Vec<(Action, Vec<String>)> {
        let mut out: Vec<(Action, Vec<String>)> = Vec::new();
        for &action in Action::ALL {
            let keys: Vec<String> = self
                .bindings
                .iter()
                .filter(|(_, a)| *a == action)
                .map(|(s, _)| s.to_string())
                .collect();
            if !keys.is_empty() {
                out.push((action, keys));
            }
        }
        out
    }
}

/// Convert a terminal key event to a chord; releases and repeats of modifiers give None.
pub fn chord_from_event(ev: &KeyEvent) -> Option<KeyChord> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    let key = match ev.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Delete => Key::Delete,
        KeyCode::Insert => Key::Insert,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::F(n) => Key::F(n),
        _ => return None,
    };
    Some(
        KeyChord {
            key,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
            shift: ev.modifiers.contains(KeyModifiers::SHIFT),
        }
        .normalized(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> KeyChord {
        KeyChord::parse(s).unwrap()
    }

    #[test]
    fn defaults_and_sequences() {
        let mut k = Keymap::new(&BTreeMap::new());
        assert_eq!(k.feed(c("j")), Resolved::Action(Action::Down));
        assert_eq!(k.feed(c("g")), Resolved::Pending);
        assert_eq!(k.feed(c("g")), Resolved::Action(Action::Top));
        // g then j: the sequence breaks and j still works.
        assert_eq!(k.feed(c("g")), Resolved::Pending);
        assert_eq!(k.feed(c("j")), Resolved::Action(Action::Down));
        assert_eq!(k.feed(c("ctrl-x")), Resolved::Unbound);
    }

    #[test]
    fn overrides_replace_defaults() {
        let mut o = BTreeMap::new();
        o.insert(Action::Down, vec![KeySeq::parse("n").unwrap()]);
        let mut k = Keymap::new(&o);
        assert_eq!(k.feed(c("n")), Resolved::Action(Action::Down));
        assert_eq!(k.feed(c("j")), Resolved::Unbound);
        let help = k.bindings();
        let down = help.iter().find(|(a, _)| *a == Action::Down).unwrap();
        assert_eq!(down.1, vec!["n".to_string()]);
    }

    #[test]
    fn a_user_binding_wins_over_the_default_it_clashes_with() {
        // `j` is down's default, and down comes first in the action list.
        let mut o = BTreeMap::new();
        o.insert(Action::Reply, vec![KeySeq::parse("j").unwrap()]);
        o.insert(Action::Compose, vec![KeySeq::parse("g").unwrap()]);
        let mut k = Keymap::new(&o);
        assert_eq!(k.feed(c("j")), Resolved::Action(Action::Reply));
        assert_eq!(k.feed(c("down")), Resolved::Action(Action::Down));
        // `g` no longer waits for `g g` (top keeps `home`).
        assert_eq!(k.feed(c("g")), Resolved::Action(Action::Compose));
        assert_eq!(k.feed(c("home")), Resolved::Action(Action::Top));
        let help = k.bindings();
        let down = help.iter().find(|(a, _)| *a == Action::Down).unwrap();
        assert_eq!(down.1, vec!["down".to_string()]);
        assert!(!help.iter().any(|(a, _)| *a == Action::ActionLog));
    }

    #[test]
    fn terminal_events_normalise() {
        let ev = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(chord_from_event(&ev), Some(c("G")));
        let ev = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(chord_from_event(&ev), Some(c("shift-tab")));
        let ev = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert_eq!(chord_from_event(&ev), Some(c("ctrl-d")));
    }
}
