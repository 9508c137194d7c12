//! What lies over the panes: one stack of overlays, the last opened on top. The top one takes
//! the keys, a click or a wheel turn goes nowhere while one that covers the panes is open, and
//! the view draws them bottom to top: the order is the stack's, and it is written nowhere else.
//!
//! Adding an overlay: a variant here (what it holds, whether it takes text, whether it covers
//! the panes), its keys in `update::overlay::route`, its drawing in `ui::popups::draw`. Each of
//! those is a `match` over this enum, so the compiler asks for all three.

use super::firststart::SetupForm;
use super::state::{Compose, Confirm, Picker};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// The key bindings (`?`): scrolled and filtered.
    Help(super::help::HelpView),
    /// The open message's links, this one selected.
    Links(usize),
    /// The open message's attachments, this one selected.
    Attachments(usize),
    /// The action log: (account, when, what), newest first.
    ActionLog(Vec<(String, i64, String)>),
    /// The folder picker of a move or copy.
    Picker(Picker),
    /// A yes/no question before something that cannot be undone.
    Confirm(Confirm),
    /// A message being written: its review screen, or the built-in editor.
    Compose(Box<Compose>),
    /// The last error in full (`last_error`).
    LastError(String),
    /// A command being typed after `:` (in the status line).
    Command(String),
    /// The query of the search in `AppState::search` being typed (in the status line).
    Query,
    /// What a command the message was piped to wrote (`|`, `:pipe`).
    Output(Box<super::command::Output>),
    /// The setup of the first start (no config yet): the whole screen.
    Setup(Box<SetupForm>),
}

impl Overlay {
    /// Keys go to it as typed (`Msg::Typed`), not through the key bindings.
    pub fn takes_text(&self) -> bool {
        match self {
            Overlay::Help(h) => h.typing,
            Overlay::Links(_)
            | Overlay::Attachments(_)
            | Overlay::ActionLog(_)
            | Overlay::LastError(_)
            | Overlay::Output(_) => false,
            Overlay::Picker(_)
            | Overlay::Confirm(_)
            | Overlay::Compose(_)
            | Overlay::Command(_)
            | Overlay::Query
            | Overlay::Setup(_) => true,
        }
    }

    /// It is drawn over the panes: clicks and wheel turns do not reach them while it is open.
    /// (The prompts in the status line leave the panes visible, and clickable.)
    pub fn covers_panes(&self) -> bool {
        !matches!(self, Overlay::Command(_) | Overlay::Query)
    }
}

/// The overlays, bottom first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overlays(Vec<Overlay>);

impl Overlays {
    pub fn top(&self) -> Option<&Overlay> {
        self.0.last()
    }

    pub fn top_mut(&mut self) -> Option<&mut Overlay> {
        self.0.last_mut()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Bottom to top (the drawing order).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Overlay> {
        self.0.iter()
    }

    pub fn push(&mut self, o: Overlay) {
        self.0.push(o);
    }

    pub fn pop(&mut self) -> Option<Overlay> {
        self.0.pop()
    }

    /// Put `o` where an overlay of its kind is (it is replaced), else on top.
    pub fn replace_or_push(&mut self, o: Overlay) {
        let kind = std::mem::discriminant(&o);
        match self
            .0
            .iter_mut()
            .find(|x| std::mem::discriminant(*x) == kind)
        {
            Some(slot) => *slot = o,
            None => self.0.push(o),
        }
    }

    /// Close every overlay for which `f` is true, wherever it is.
    pub fn close(&mut self, f: impl Fn(&Overlay) -> bool) {
        self.0.retain(|o| !f(o));
    }

    /// Whether an overlay drawn over the panes is open (clicks stop at it).
    pub fn covers_panes(&self) -> bool {
        self.0.iter().any(Overlay::covers_panes)
    }

    /// The message being written, wherever it is in the stack.
    pub fn compose(&self) -> Option<&Compose> {
        self.0.iter().find_map(|o| match o {
            Overlay::Compose(c) => Some(&**c),
            _ => None,
        })
    }

    pub fn compose_mut(&mut self) -> Option<&mut Compose> {
        self.0.iter_mut().find_map(|o| match o {
            Overlay::Compose(c) => Some(&mut **c),
            _ => None,
        })
    }

    /// The setup screen, wherever it is in the stack.
    pub fn setup_mut(&mut self) -> Option<&mut SetupForm> {
        self.0.iter_mut().find_map(|o| match o {
            Overlay::Setup(f) => Some(&mut **f),
            _ => None,
        })
    }

    /// The folder picker, wherever it is in the stack.
    pub fn picker(&self) -> Option<&Picker> {
        self.0.iter().find_map(|o| match o {
            Overlay::Picker(p) => Some(p),
            _ => None,
        })
    }

    /// The question asked, wherever it is in the stack.
    pub fn confirm(&self) -> Option<&Confirm> {
        self.0.iter().find_map(|o| match o {
            Overlay::Confirm(c) => Some(c),
            _ => None,
        })
    }
}
