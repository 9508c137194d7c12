//! Key bindings as data: the actions a user can bind and the key chords that trigger them.
//!
//! Pure: no terminal types here. `app::keymap` converts terminal key events into [`KeyChord`]s.
//! Chords are written like `j`, `G`, `ctrl-d`, `alt-x`, `shift-tab`, `enter`, `space`, `f1`,
//! and sequences separate chords with a space: `g g`.

use std::collections::BTreeMap;
use std::fmt;

/// Declares [`Action`] once: each action with its config name, its default keys and what the
/// help screen says it does. The enum, [`Action::ALL`] (in this order), [`Action::as_str`],
/// [`Action::default_keys`] and [`Action::describe`] all derive from this one list.
macro_rules! actions {
    ($($name:ident: $config:literal, [$($key:literal),*], $describe:literal;)*) => {
        /// What a key does. The names (`as_str`) are the ones used in the config's `[keys]` table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($name,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$name,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$name => $config,)*
                }
            }

            pub fn describe(self) -> &'static str {
                match self {
                    $(Action::$name => $describe,)*
                }
            }

            /// Default chords for an action (each entry is one binding, possibly a sequence).
            pub fn default_keys(self) -> &'static [&'static str] {
                match self {
                    $(Action::$name => &[$($key),*],)*
                }
            }
        }
    };
}

// name: config name, default keys, help text.
actions! {
    Quit: "quit", ["q"],
        "quit tern";
    Down: "down", ["j", "down"],
        "move down";
    Up: "up", ["k", "up"],
        "move up";
    Top: "top", ["g g", "home"],
        "go to the first row";
    Bottom: "bottom", ["G", "end"],
        "go to the last row";
    HalfPageDown: "half_page_down", ["ctrl-d"],
        "half a page down";
    HalfPageUp: "half_page_up", ["ctrl-u"],
        "half a page up";
    PageDown: "page_down", ["ctrl-f", "pagedown"],
        "a page down";
    PageUp: "page_up", ["ctrl-b", "pageup"],
        "a page up";
    NextPane: "next_pane", ["tab", "l", "right"],
        "focus the next pane";
    PrevPane: "prev_pane", ["shift-tab", "h", "left"],
        "focus the previous pane";
    Open: "open", ["enter"],
        "open the selected folder or message";
    Back: "back", ["esc"],
        "close / go back";
    Help: "help", ["?"],
        "show the key bindings";
    NextMessage: "next_message", ["J"],
        "next message (also from the reader)";
    PrevMessage: "prev_message", ["K"],
        "previous message (also from the reader)";
    Fullscreen: "fullscreen", ["Z"],
        "reader full screen, or back";
    FullHeaders: "full_headers", ["H"],
        "show all header fields, or the usual few";
    Source: "source", ["M"],
        "show the raw message source, or the message";
    ToggleLayout: "toggle_layout", ["L"],
        "reader beside or under the list";
    Suspend: "suspend", ["ctrl-z"],
        "suspend tern (resume with fg)";
    ToggleThreads: "toggle_threads", ["T"],
        "threaded or flat list";
    ToggleFold: "toggle_fold", ["z a", "="],
        "fold or unfold the thread, folder or account";
    OpenLink: "open_link", ["o"],
        "choose a link of the message to open in the browser";
    Attachments: "attachments", ["a"],
        "the attachments: enter opens one, s saves it";
    Save: "save", ["s"],
        "save the chosen attachment to the download dir";
    ToggleRead: "toggle_read", ["N"],
        "mark the message (or the selection) read or unread";
    ToggleFlag: "toggle_flag", ["*"],
        "flag or unflag the message (or the selection)";
    ToggleSelect: "toggle_select", ["space"],
        "select or unselect the message (esc clears the selection)";
    ActionLog: "action_log", ["g l"],
        "actions the server could not take";
    LastError: "last_error", ["E"],
        "the last error in full (also from the action log)";
    Delete: "delete", ["d", "delete"],
        "move to Trash (in Trash: delete for good, after asking)";
    Archive: "archive", ["A"],
        "move to the account's archive folder";
    Junk: "junk", ["!"],
        "mark as junk: move to the Junk folder";
    MoveTo: "move", ["v"],
        "move to a folder chosen from a list (type to filter)";
    CopyTo: "copy", ["C"],
        "copy to a folder chosen from a list (type to filter)";
    Undo: "undo", ["u"],
        "take back a message just sent, else undo the last action";
    VisualSelect: "visual_select", ["V"],
        "select a range: from here to where you move (again to stop)";
    SelectThread: "select_thread", ["t"],
        "select or unselect the whole thread";
    SelectAll: "select_all", ["ctrl-a"],
        "select every message in the list, or none";
    Compose: "compose", ["m"],
        "write a new message";
    Reply: "reply", ["r"],
        "reply to the sender";
    ReplyAll: "reply_all", ["R"],
        "reply to the sender and every other recipient";
    Forward: "forward", ["f"],
        "forward the message in the text";
    ForwardAttached: "forward_attached", ["F"],
        "forward the message as an attachment";
    EditDraft: "edit_draft", ["e"],
        "go on writing the draft (or write the message again as a new one)";
    Filter: "filter", ["/"],
        "filter the list as you type (enter keeps it, esc ends it)";
    Search: "search", ["S"],
        "search every account and folder (results as a folder)";
    CommandLine: "command_line", [":"],
        "a command: move FOLDER, save PATH, pipe CMD, set NAME VALUE... (Tab completes)";
    Pipe: "pipe", ["|"],
        "pipe the message (or the chosen attachment) to a shell command";
    SaveAs: "save_as", ["w"],
        "save the message (or the chosen attachment) to a path you type";
    SyncNow: "sync_now", ["$"],
        "check every account for new mail and send the outbox now (POP3 too)";
    ToggleSidebar: "toggle_sidebar", ["B"],
        "hide or show the mailboxes pane";
}

impl Action {
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key without modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    F(u8),
}

/// One key press with its modifiers. Shift is folded into the character for printable keys
/// (`G`, not `shift-g`), so only named keys carry `shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyChord {
    pub key: Key,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

impl KeyChord {
    pub const fn plain(key: Key) -> Self {
        KeyChord {
            key,
            ctrl: false,
            alt: false,
            shift: false,
        }
    }

    /// Normalise a chord as it arrives from a terminal: shift+char becomes the shifted char,
    /// shift+tab becomes BackTab.
    pub fn normalized(mut self) -> Self {
        match self.key {
            Key::Char(c) if self.shift => {
                self.shift = false;
                if c.is_ascii_lowercase() {
                    self.key = Key::Char(c.to_ascii_uppercase());
                }
            }
            Key::Tab if self.shift => {
                self.shift = false;
                self.key = Key::BackTab;
            }
            Key::BackTab => self.shift = false,
            Key::Char(c) if self.ctrl && c.is_ascii_uppercase() => {
                self.key = Key::Char(c.to_ascii_lowercase());
            }
            _ => {}
        }
        self
    }

    pub fn parse(s: &str) -> Result<KeyChord, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty key".into());
        }
        // A lone "-" is the minus key; otherwise split modifiers off the front.
        let mut chord = KeyChord::plain(Key::Char('-'));
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl-") {
                ("ctrl", 5)
            } else if lower.starts_with("c-") && rest.len() > 2 {
                ("ctrl", 2)
            } else if lower.starts_with("alt-") {
                ("alt", 4)
            } else if lower.starts_with("m-") && rest.len() > 2 {
                ("alt", 2)
            } else if lower.starts_with("shift-") {
                ("shift", 6)
            } else {
                break;
            };
            match m {
                "ctrl" => chord.ctrl = true,
                "alt" => chord.alt = true,
                _ => chord.shift = true,
            }
            rest = &rest[len..];
        }
        chord.key = parse_key(rest).ok_or_else(|| {
            format!(
                "unknown key `{rest}` (expected a character, or one of enter, esc, tab, space, \
                 backspace, delete, insert, up, down, left, right, home, end, pageup, pagedown, f1-f12)"
            )
        })?;
        Ok(chord.normalized())
    }
}

fn parse_key(s: &str) -> Option<Key> {
    let mut chars = s.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(Key::Char(c));
    }
    let lower = s.to_ascii_lowercase();
    Some(match lower.as_str() {
        "enter" | "return" | "cr" => Key::Enter,
        "esc" | "escape" => Key::Esc,
        "tab" => Key::Tab,
        "backtab" => Key::BackTab,
        "space" => Key::Char(' '),
        "backspace" | "bs" => Key::Backspace,
        "delete" | "del" => Key::Delete,
        "insert" | "ins" => Key::Insert,
        "up" => Key::Up,
        "down" => Key::Down,
        "left" => Key::Left,
        "right" => Key::Right,
        "home" => Key::Home,
        "end" => Key::End,
        "pageup" | "pgup" => Key::PageUp,
        "pagedown" | "pgdn" => Key::PageDown,
        "minus" => Key::Char('-'),
        f if f.starts_with('f') => {
            let n: u8 = f[1..].parse().ok()?;
            if (1..=12).contains(&n) {
                Key::F(n)
            } else {
                return None;
            }
        }
        _ => return None,
    })
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        if self.shift {
            f.write_str("shift-")?;
        }
        match self.key {
            Key::Char(' ') => f.write_str("space"),
            Key::Char(c) => write!(f, "{c}"),
            Key::Enter => f.write_str("enter"),
            Key::Esc => f.write_str("esc"),
            Key::Tab => f.write_str("tab"),
            Key::BackTab => f.write_str("shift-tab"),
            Key::Backspace => f.write_str("backspace"),
            Key::Delete => f.write_str("delete"),
            Key::Insert => f.write_str("insert"),
            Key::Up => f.write_str("up"),
            Key::Down => f.write_str("down"),
            Key::Left => f.write_str("left"),
            Key::Right => f.write_str("right"),
            Key::Home => f.write_str("home"),
            Key::End => f.write_str("end"),
            Key::PageUp => f.write_str("pageup"),
            Key::PageDown => f.write_str("pagedown"),
            Key::F(n) => write!(f, "f{n}"),
        }
    }
}

/// A binding: one or more chords pressed in order (`g g`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeySeq(pub Vec<KeyChord>);

impl KeySeq {
    pub fn parse(s: &str) -> Result<KeySeq, String> {
        // "space" and "-" are keys; sequences are chords separated by whitespace.
        let chords = s
            .split_whitespace()
            .map(KeyChord::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if chords.is_empty() {
            if s.contains(' ') {
                return Ok(KeySeq(vec![KeyChord::plain(Key::Char(' '))]));
            }
            return Err("empty key".into());
        }
        if chords.len() > 4 {
            return Err("a key sequence has at most 4 keys".into());
        }
        Ok(KeySeq(chords))
    }
}

impl fmt::Display for KeySeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Validate one `[keys]` entry from the config: the action must exist and the key must parse.
pub fn validate_binding(action: &str, key: &str) -> Result<(Action, KeySeq), String> {
    let a = Action::from_name(action).ok_or_else(|| {
        let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        format!(
            "unknown action `{action}`, expected one of: {}",
            names.join(", ")
        )
    })?;
    let seq = KeySeq::parse(key).map_err(|e| format!("key for `{action}`: {e}"))?;
    Ok((a, seq))
}

/// Whether pressing one of the two sequences can never reach the other: the same keys, or
/// one the start of the other (the shorter fires first).
pub fn clash(a: &KeySeq, b: &KeySeq) -> bool {
    a.0.starts_with(&b.0) || b.0.starts_with(&a.0)
}

/// The keys `action` ends up with under the config's `[keys]` (`overrides`): the config's
/// when it names the action, else its defaults less those that clash with a key the config
/// gives another action (the user's binding wins).
pub fn effective_keys(action: Action, overrides: &BTreeMap<Action, Vec<KeySeq>>) -> Vec<KeySeq> {
    if let Some(seqs) = overrides.get(&action) {
        return seqs.clone();
    }
    action
        .default_keys()
        .iter()
        .filter_map(|k| KeySeq::parse(k).ok())
        .filter(|d| !overrides.values().flatten().any(|u| clash(u, d)))
        .collect()
}

/// A default key the config's `[keys]` takes from an action it leaves alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The config's binding, and the action it is for.
    pub key: KeySeq,
    pub by: Action,
    /// The action that had `lost` by default, and the keys it keeps.
    pub from: Action,
    pub lost: KeySeq,
    pub left: Vec<KeySeq>,
}

impl Taken {
    /// One line for a warning: both actions, both keys, what is left.
    pub fn describe(&self) -> String {
        let left = if self.left.is_empty() {
            "which now has no key (give it one in [keys])".to_string()
        } else {
            let keys: Vec<String> = self.left.iter().map(|k| format!("`{k}`")).collect();
            format!("which keeps {}", keys.join(", "))
        };
        let what = if self.key == self.lost {
            format!("key `{}`", self.key)
        } else {
            format!("key `{}` (which hides `{}`)", self.key, self.lost)
        };
        format!(
            "{what} of `{}` takes the default key of `{}`, {left}",
            self.by.as_str(),
            self.from.as_str()
        )
    }
}

/// Every default key the config takes from an action it does not name, in action order.
pub fn taken(overrides: &BTreeMap<Action, Vec<KeySeq>>) -> Vec<Taken> {
    let mut out = Vec::new();
    for &from in Action::ALL.iter().filter(|a| !overrides.contains_key(a)) {
        let left = effective_keys(from, overrides);
        for lost in from
            .default_keys()
            .iter()
            .filter_map(|k| KeySeq::parse(k).ok())
        {
            let by = overrides
                .iter()
                .find_map(|(a, seqs)| seqs.iter().find(|u| clash(u, &lost)).map(|u| (*a, u)));
            if let Some((by, key)) = by {
                out.push(Taken {
                    key: key.clone(),
                    by,
                    from,
                    lost,
                    left: left.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chords() {
        assert_eq!(
            KeyChord::parse("j").unwrap(),
            KeyChord::plain(Key::Char('j'))
        );
        assert_eq!(
            KeyChord::parse("G").unwrap(),
            KeyChord::plain(Key::Char('G'))
        );
        let c = KeyChord::parse("ctrl-d").unwrap();
        assert!(c.ctrl && c.key == Key::Char('d'));
        assert_eq!(KeyChord::parse("C-D").unwrap(), c);
        assert_eq!(
            KeyChord::parse("shift-tab").unwrap(),
            KeyChord::plain(Key::BackTab)
        );
        assert_eq!(
            KeyChord::parse("shift-g").unwrap(),
            KeyChord::plain(Key::Char('G'))
        );
        assert_eq!(KeyChord::parse("f5").unwrap(), KeyChord::plain(Key::F(5)));
        assert_eq!(
            KeyChord::parse("-").unwrap(),
            KeyChord::plain(Key::Char('-'))
        );
        assert!(KeyChord::parse("f13").is_err());
        assert!(KeyChord::parse("ctrl-nope").is_err());
    }

    #[test]
    fn sequences_round_trip() {
        let s = KeySeq::parse("g g").unwrap();
        assert_eq!(s.0.len(), 2);
        assert_eq!(s.to_string(), "g g");
        assert_eq!(KeySeq::parse("space").unwrap().to_string(), "space");
        assert_eq!(KeySeq::parse("ctrl-d").unwrap().to_string(), "ctrl-d");
    }

    #[test]
    fn every_default_parses_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for a in Action::ALL {
            assert!(names.insert(a.as_str()));
            assert_eq!(Action::from_name(a.as_str()), Some(*a));
            for k in a.default_keys() {
                KeySeq::parse(k).unwrap();
            }
        }
    }

    #[test]
    fn validate_reports_unknown_action() {
        let e = validate_binding("frobnicate", "x").unwrap_err();
        assert!(e.contains("unknown action `frobnicate`"), "{e}");
        assert!(validate_binding("down", "ctrl-").is_err());
    }

    fn keys(list: &[(Action, &[&str])]) -> BTreeMap<Action, Vec<KeySeq>> {
        list.iter()
            .map(|(a, ks)| (*a, ks.iter().map(|k| KeySeq::parse(k).unwrap()).collect()))
            .collect()
    }

    #[test]
    fn a_binding_takes_the_clashing_defaults_of_other_actions() {
        let o = keys(&[(Action::Down, &["j", "d"])]);
        let d = KeySeq::parse("d").unwrap();
        assert_eq!(
            effective_keys(Action::Delete, &o),
            [KeySeq::parse("delete").unwrap()]
        );
        assert_eq!(effective_keys(Action::Down, &o)[1], d);
        let t = taken(&o);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!((t[0].by, t[0].from), (Action::Down, Action::Delete));
        assert_eq!(
            t[0].describe(),
            "key `d` of `down` takes the default key of `delete`, which keeps `delete`"
        );
        // A prefix hides the longer sequences it starts; the action may be left with none.
        let t = taken(&keys(&[(Action::Compose, &["g"])]));
        let lost: Vec<(Action, String)> = t.iter().map(|t| (t.from, t.lost.to_string())).collect();
        assert_eq!(
            lost,
            [
                (Action::Top, "g g".into()),
                (Action::ActionLog, "g l".into())
            ]
        );
        assert_eq!(
            t[1].describe(),
            "key `g` (which hides `g l`) of `compose` takes the default key of `action_log`, \
             which now has no key (give it one in [keys])"
        );
        // Rebinding an action to its own defaults, or to free keys, takes nothing.
        assert!(taken(&keys(&[(Action::Delete, &["d", "x"])])).is_empty());
    }
}
