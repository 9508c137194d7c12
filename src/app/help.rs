//! The help popup's content and geometry, pure: every action of the key bindings table with
//! all its keys, grouped (the focused pane's group first), filtered by what the user typed
//! after `/`, its descriptions wrapped to the width the terminal gives. `update` scrolls over
//! the same lines `ui::popups` draws, both computed here from the terminal's size.

use ratatui::layout::Rect;
use unicode_width::UnicodeWidthStr;

use super::state::Pane;
use crate::domain::keys::Action;

/// The help popup's state: the first line shown, and the filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelpView {
    pub scroll: usize,
    pub filter: String,
    /// The filter is being typed (keys go to it).
    pub typing: bool,
}

/// The groups of the help, in their usual order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Moving,
    Mailboxes,
    Messages,
    Triage,
    Reading,
    Writing,
    General,
}

const GROUPS: [Group; 7] = [
    Group::Moving,
    Group::Mailboxes,
    Group::Messages,
    Group::Triage,
    Group::Reading,
    Group::Writing,
    Group::General,
];

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Moving => "Moving around",
            Group::Mailboxes => "Mailboxes",
            Group::Messages => "Message list",
            Group::Triage => "Acting on messages",
            Group::Reading => "Reading",
            Group::Writing => "Writing",
            Group::General => "General",
        }
    }

    /// The group shown first when this pane has the focus.
    fn of_pane(pane: Pane) -> Group {
        match pane {
            Pane::Mailboxes => Group::Mailboxes,
            Pane::Messages => Group::Messages,
            Pane::Reader => Group::Reading,
        }
    }
}

/// The group of an action (exhaustive: a new action must say where its help goes).
pub fn group(action: Action) -> Group {
    use Action::*;
    match action {
        Down | Up | Top | Bottom | HalfPageDown | HalfPageUp | PageDown | PageUp | NextPane
        | PrevPane | Open | Back => Group::Moving,
        ToggleFold | ToggleSidebar | SyncNow => Group::Mailboxes,
        ToggleThreads | ToggleSelect | VisualSelect | SelectThread | SelectAll | Filter => {
            Group::Messages
        }
        ToggleRead | ToggleFlag | Delete | Archive | Junk | MoveTo | CopyTo | Undo => Group::Triage,
        NextMessage | PrevMessage | Fullscreen | FullHeaders | Source | ToggleLayout | OpenLink
        | Attachments | Save | SaveAs | Pipe => Group::Reading,
        Compose | Reply | ReplyAll | Forward | ForwardAttached | EditDraft => Group::Writing,
        Quit | Help | Suspend | ActionLog | LastError | Search | CommandLine => Group::General,
    }
}

/// One line of the help as drawn: a group's title, or an action's keys and (a line of) its
/// description; a description's continuation lines have no keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpLine {
    Title(&'static str),
    Entry { keys: String, text: String },
    Blank,
}

/// Every action with its keys (`key_help`: the bindings in force; an action without one says
/// so), grouped, the focused pane's group first, those matching `filter` only (its keys, name
/// or description, case-insensitively).
pub fn entries(
    key_help: &[(Action, String)],
    focus: Pane,
    filter: &str,
) -> Vec<(Group, Action, String)> {
    let needle = filter.to_lowercase();
    let first = Group::of_pane(focus);
    let order = std::iter::once(first).chain(GROUPS.into_iter().filter(|g| *g != first));
    let mut out = Vec::new();
    for g in order {
        for &a in Action::ALL.iter().filter(|a| group(**a) == g) {
            let keys = key_help
                .iter()
                .find(|(x, _)| *x == a)
                .map_or_else(|| "(unbound)".to_string(), |(_, k)| k.clone());
            let hay = format!("{keys} {} {}", a.as_str(), a.describe()).to_lowercase();
            if needle.is_empty() || hay.contains(&needle) {
                out.push((g, a, keys));
            }
        }
    }
    out
}

/// Where the popup goes and how its columns split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub popup: Rect,
    /// Width of the keys column.
    pub keys: u16,
    /// Width of the description column.
    pub text: u16,
    /// Rows of help lines inside the border (one more row holds the filter or the hint).
    pub rows: u16,
}

const KEYS_MAX: usize = 26;
const GAP: u16 = 2;

/// The popup for a terminal of `size`: as wide as the longest line needs, up to the terminal
/// less a margin; as tall as the lines, up to the terminal less a margin.
pub fn geometry(size: Rect, key_help: &[(Action, String)]) -> Geometry {
    let keys = key_help
        .iter()
        .map(|(_, k)| k.width())
        .chain(std::iter::once("(unbound)".width()))
        .max()
        .unwrap_or(8)
        .min(KEYS_MAX) as u16;
    let longest = Action::ALL
        .iter()
        .map(|a| a.describe().width())
        .max()
        .unwrap_or(20) as u16;
    let width = (keys + GAP + longest + 4)
        .min(size.width.saturating_sub(4).max(20))
        .min(size.width);
    let text = width.saturating_sub(keys + GAP + 4).max(8);
    let count = lines(key_help, Pane::Mailboxes, "", text).len() as u16;
    let height = (count + 3)
        .min(size.height.saturating_sub(2).max(5))
        .min(size.height);
    let popup = Rect {
        x: size.x + (size.width - width) / 2,
        y: size.y + (size.height - height) / 2,
        width,
        height,
    };
    Geometry {
        popup,
        keys,
        text,
        rows: height.saturating_sub(3).max(1),
    }
}

/// The help's lines for a description column `text` wide.
pub fn lines(key_help: &[(Action, String)], focus: Pane, filter: &str, text: u16) -> Vec<HelpLine> {
    let mut out = Vec::new();
    let mut last = None;
    for (g, a, keys) in entries(key_help, focus, filter) {
        if last != Some(g) {
            if last.is_some() {
                out.push(HelpLine::Blank);
            }
            out.push(HelpLine::Title(g.title()));
            last = Some(g);
        }
        let wrapped = textwrap::wrap(a.describe(), usize::from(text.max(1)));
        for (i, l) in wrapped.into_iter().enumerate() {
            out.push(HelpLine::Entry {
                keys: if i == 0 { keys.clone() } else { String::new() },
                text: l.into_owned(),
            });
        }
    }
    out
}

/// The first line that can be shown at the top (the last page stays full).
pub fn max_scroll(
    key_help: &[(Action, String)],
    focus: Pane,
    view: &HelpView,
    size: Rect,
) -> usize {
    let g = geometry(size, key_help);
    lines(key_help, focus, &view.filter, g.text)
        .len()
        .saturating_sub(usize::from(g.rows))
}
