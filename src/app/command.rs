//! The command line (`:`), parsed: pure, no state. `parse` turns a typed line into a
//! [`Command`] or a one-line error with a hint; `complete_name` lists the command names a
//! prefix can become (Tab). What a command does is `update::cmdline`'s business.

use std::path::PathBuf;

pub use super::msg::PipePart;

/// A command typed after `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Move(String),
    Copy(String),
    Archive,
    Delete,
    Junk,
    Flag(bool),
    Read(bool),
    Undo,
    /// Write the raw message (.eml) to this path.
    Save(PathBuf),
    /// Write attachment N (from 0) to this path (`save -a N PATH`, N from 1 as listed).
    SaveAttachment {
        index: usize,
        path: PathBuf,
    },
    /// Pipe the message (raw; its decoded text with `-d`; attachment N with `-a N`) to
    /// `sh -c CMD`.
    Pipe {
        command: String,
        part: PipePart,
    },
    /// Open the message's first attachment (or the message itself) with this program.
    OpenWith(String),
    Sync,
    Compose,
    Reply,
    ReplyAll,
    Forward,
    Search(Option<String>),
    Filter(Option<String>),
    Set(Setting),
    Reload,
    Help,
    Quit,
}

/// An option changed for this session (`:set NAME VALUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Layout(crate::config::Layout),
    MarkReadOnOpen(bool),
    MarkReadDelayMs(u64),
    Threads(bool),
}

/// The commands: name, what follows it, and what it does (for errors, completion and help).
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "move",
        "FOLDER",
        "move the selection (or the message) to FOLDER",
    ),
    (
        "copy",
        "FOLDER",
        "copy the selection (or the message) to FOLDER",
    ),
    ("archive", "", "move to the archive folder"),
    ("delete", "", "move to Trash"),
    ("junk", "", "move to the Junk folder"),
    ("flag", "", "flag"),
    ("unflag", "", "unflag"),
    ("read", "", "mark read"),
    ("unread", "", "mark unread"),
    ("undo", "", "undo the last action"),
    (
        "save",
        "[-a N] PATH",
        "write the message (raw .eml; -a: attachment N) to PATH",
    ),
    (
        "pipe",
        "[-d | -a N] COMMAND",
        "pipe the message (-d: its text, -a: attachment N) to sh -c",
    ),
    (
        "open-with",
        "COMMAND",
        "open the first attachment with COMMAND",
    ),
    ("sync", "", "check for new mail now"),
    ("compose", "", "write a new message"),
    ("reply", "", "reply to the sender"),
    ("reply-all", "", "reply to everyone"),
    ("forward", "", "forward the message"),
    ("search", "[QUERY]", "search every folder"),
    ("filter", "[QUERY]", "filter the list"),
    (
        "set",
        "NAME VALUE",
        "layout, mark_read_on_open, mark_read_delay, threads",
    ),
    ("reload", "", "read the config's keys and theme again"),
    ("help", "", "the key bindings"),
    ("quit", "", "quit tern"),
];

/// Short names, as in vi, mutt and aerc.
const ALIASES: &[(&str, &str)] = &[
    ("mv", "move"),
    ("cp", "copy"),
    ("q", "quit"),
    ("s", "search"),
    ("f", "filter"),
    ("w", "save"),
    ("rm", "delete"),
    ("check", "sync"),
];

/// The settings `:set` knows, for completion and hints.
pub const SETTINGS: &[&str] = &["layout", "mark_read_on_open", "mark_read_delay", "threads"];

/// Parse a typed line (without the `:`). `Ok(None)`: an empty line.
pub fn parse(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim();
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (line, ""),
    };
    if word.is_empty() {
        return Ok(None);
    }
    let name = ALIASES
        .iter()
        .find(|(a, _)| *a == word)
        .map_or(word, |(_, n)| *n);
    let arg = (!rest.is_empty()).then(|| rest.to_string());
    let needs = |what: &str| -> Result<String, String> {
        arg.clone()
            .ok_or_else(|| format!("{name} needs {what}: :{name} {}", usage(name)))
    };
    let bare = |c: Command| -> Result<Command, String> {
        match &arg {
            None => Ok(c),
            Some(_) => Err(format!("{name} takes nothing after it")),
        }
    };
    let cmd = match name {
        "move" => Command::Move(needs("a folder")?),
        "copy" => Command::Copy(needs("a folder")?),
        "archive" => bare(Command::Archive)?,
        "delete" => bare(Command::Delete)?,
        "junk" => bare(Command::Junk)?,
        "flag" => bare(Command::Flag(true))?,
        "unflag" => bare(Command::Flag(false))?,
        "read" => bare(Command::Read(true))?,
        "unread" => bare(Command::Read(false))?,
        "undo" => bare(Command::Undo)?,
        "save" => match attachment_option(&needs("a path")?)? {
            (Some(index), path) => Command::SaveAttachment {
                index,
                path: PathBuf::from(path),
            },
            (None, path) => Command::Save(PathBuf::from(path)),
        },
        "pipe" => {
            let all = needs("a shell command")?;
            let (part, command) = match all.strip_prefix("-d ") {
                Some(r) => (PipePart::Text, r.trim().to_string()),
                None => match attachment_option(&all)? {
                    (Some(i), r) => (PipePart::Attachment(i), r),
                    (None, r) => (PipePart::Raw, r),
                },
            };
            if command.is_empty() {
                return Err(format!(
                    "pipe needs a shell command: :pipe {}",
                    usage("pipe")
                ));
            }
            Command::Pipe { command, part }
        }
        "open-with" => Command::OpenWith(needs("a program")?),
        "sync" => bare(Command::Sync)?,
        "compose" => bare(Command::Compose)?,
        "reply" => bare(Command::Reply)?,
        "reply-all" => bare(Command::ReplyAll)?,
        "forward" => bare(Command::Forward)?,
        "search" => Command::Search(arg),
        "filter" => Command::Filter(arg),
        "set" => Command::Set(setting(&needs("an option and a value")?)?),
        "reload" => bare(Command::Reload)?,
        "help" => bare(Command::Help)?,
        "quit" => bare(Command::Quit)?,
        other => return Err(unknown("command", other, COMMANDS.iter().map(|c| c.0))),
    };
    Ok(Some(cmd))
}

/// `-a N rest`: attachment N (counted from 1, as listed; returned from 0) and the rest.
fn attachment_option(text: &str) -> Result<(Option<usize>, String), String> {
    let Some(r) = text.strip_prefix("-a ") else {
        return Ok((None, text.to_string()));
    };
    let r = r.trim_start();
    let (n, rest) = r.split_once(' ').unwrap_or((r, ""));
    match n.parse::<usize>() {
        Ok(n) if n >= 1 && !rest.trim().is_empty() => Ok((Some(n - 1), rest.trim().to_string())),
        _ => Err("-a takes an attachment's number (1 is the first) and then the rest".into()),
    }
}

fn usage(name: &str) -> &'static str {
    COMMANDS.iter().find(|c| c.0 == name).map_or("", |c| c.1)
}

/// `unknown command `mvoe`: did you mean `move`?` (the closest known name, when one is close).
fn unknown<'a>(what: &str, word: &str, known: impl Iterator<Item = &'a str>) -> String {
    let shown = crate::domain::sanitize::line(word);
    let best = known
        .map(|k| (strsim::damerau_levenshtein(word, k), k))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, k)| *d <= 2.max(k.len() / 3));
    match best {
        Some((_, k)) => format!("unknown {what} `{shown}`: did you mean `{k}`?"),
        None => format!("unknown {what} `{shown}` (Tab lists them, :help the keys)"),
    }
}

/// `layout wide`, `mark_read_on_open false`, ...
fn setting(text: &str) -> Result<Setting, String> {
    let (name, value) = text
        .split_once(|c: char| c.is_whitespace() || c == '=')
        .map(|(n, v)| (n.trim(), v.trim()))
        .ok_or_else(|| format!("set needs a value: :set {} VALUE", text.trim()))?;
    let boolean = |v: &str| match v {
        "true" | "on" | "yes" => Ok(true),
        "false" | "off" | "no" => Ok(false),
        _ => Err(format!(
            "{name} is true or false, not `{}`",
            crate::domain::sanitize::line(v)
        )),
    };
    use crate::config::Layout;
    Ok(match name {
        "layout" => Setting::Layout(match value {
            "auto" => Layout::Auto,
            "wide" => Layout::Wide,
            "tall" => Layout::Tall,
            v => {
                return Err(format!(
                    "layout is auto, wide or tall, not `{}`",
                    crate::domain::sanitize::line(v)
                ));
            }
        }),
        "mark_read_on_open" => Setting::MarkReadOnOpen(boolean(value)?),
        "threads" => Setting::Threads(boolean(value)?),
        "mark_read_delay" => Setting::MarkReadDelayMs(value.parse().map_err(|_| {
            format!(
                "mark_read_delay is milliseconds, not `{}`",
                crate::domain::sanitize::line(value)
            )
        })?),
        other => return Err(unknown("option", other, SETTINGS.iter().copied())),
    })
}

/// The command names `prefix` can become, in table order.
pub fn complete_name(prefix: &str) -> Vec<&'static str> {
    COMMANDS
        .iter()
        .map(|c| c.0)
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// The longest prefix the strings share (completion's common part).
pub fn common_prefix<'a>(mut words: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut common = words.next()?.to_string();
    for w in words {
        while !w.starts_with(&common) {
            common.pop();
        }
    }
    Some(common)
}

/// The word being completed: `Name` while the command's name is typed, `Folder` after
/// move/copy, `Path` after save, `Setting` after set, else nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completing<'a> {
    Name(&'a str),
    Folder { head: &'a str, word: &'a str },
    Path { head: &'a str, word: &'a str },
    Setting { head: &'a str, word: &'a str },
    Nothing,
}

/// What Tab completes in `line`.
pub fn completing(line: &str) -> Completing<'_> {
    let Some((name, _)) = line.split_once(' ') else {
        return Completing::Name(line);
    };
    let name = ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name, |(_, n)| *n);
    let at = line.find(' ').unwrap_or(0) + 1;
    let at = at + (line.len() - at - line[at..].trim_start().len());
    let (mut head, mut word) = line.split_at(at);
    // `save -a N PATH`: the path is after the attachment's number.
    if let Some(r) = word.strip_prefix("-a ")
        && let Some((n, _)) = r.trim_start().split_once(' ')
    {
        let skip = word.len() - r.trim_start().len() + n.len() + 1;
        (head, word) = line.split_at(at + skip);
    }
    match name {
        "move" | "copy" => Completing::Folder { head, word },
        "save" => Completing::Path { head, word },
        "set" if !word.contains(' ') => Completing::Setting { head, word },
        _ => Completing::Nothing,
    }
}

/// How many lines the history keeps.
pub const HISTORY_MAX: usize = 500;

/// The command line's session state: the lines run (oldest first), where Up/Down is in them,
/// and the line being typed before Up was pressed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CmdlineState {
    pub history: Vec<String>,
    pub at: Option<usize>,
    pub draft: String,
}

impl CmdlineState {
    /// A line was run: it goes last (once: an earlier copy moves).
    pub fn record(&mut self, line: &str) {
        self.at = None;
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        self.history.retain(|l| l != line);
        self.history.push(line.to_string());
        let excess = self.history.len().saturating_sub(HISTORY_MAX);
        self.history.drain(..excess);
    }

    /// Up: the line before (`typed` is kept to come back to).
    pub fn older(&mut self, typed: &str) -> Option<String> {
        let at = match self.at {
            None => {
                self.draft = typed.to_string();
                self.history.len().checked_sub(1)?
            }
            Some(i) => i.checked_sub(1)?,
        };
        self.at = Some(at);
        self.history.get(at).cloned()
    }

    /// Down: the line after, or what was being typed.
    pub fn newer(&mut self) -> Option<String> {
        let i = self.at? + 1;
        if i < self.history.len() {
            self.at = Some(i);
            self.history.get(i).cloned()
        } else {
            self.at = None;
            Some(std::mem::take(&mut self.draft))
        }
    }
}

/// The output of a command the message was piped to, in a scrollable popup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The command, sanitised.
    pub title: String,
    /// Sanitised lines (empty while it runs).
    pub lines: Vec<String>,
    pub scroll: usize,
    /// The command still runs: its request (closing the popup stops it).
    pub running: Option<crate::domain::RequestId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Layout;

    #[test]
    fn commands_parse_with_their_arguments() {
        assert_eq!(parse("  "), Ok(None));
        assert_eq!(
            parse("move Archive/2026"),
            Ok(Some(Command::Move("Archive/2026".into())))
        );
        assert_eq!(parse("mv  Lists "), Ok(Some(Command::Move("Lists".into()))));
        assert_eq!(parse("cp x"), Ok(Some(Command::Copy("x".into()))));
        assert_eq!(parse("unflag"), Ok(Some(Command::Flag(false))));
        assert_eq!(parse("unread"), Ok(Some(Command::Read(false))));
        assert_eq!(
            parse("save ~/mail/a b.eml"),
            Ok(Some(Command::Save("~/mail/a b.eml".into())))
        );
        assert_eq!(
            parse("pipe grep -i lunch"),
            Ok(Some(Command::Pipe {
                command: "grep -i lunch".into(),
                part: PipePart::Raw
            }))
        );
        assert_eq!(
            parse("pipe -a 2 sha256sum"),
            Ok(Some(Command::Pipe {
                command: "sha256sum".into(),
                part: PipePart::Attachment(1)
            }))
        );
        assert_eq!(
            parse("save -a 1 /tmp/r.pdf"),
            Ok(Some(Command::SaveAttachment {
                index: 0,
                path: "/tmp/r.pdf".into()
            }))
        );
        assert!(parse("pipe -a 0 x").is_err());
        assert_eq!(
            parse("pipe -d wc -l"),
            Ok(Some(Command::Pipe {
                command: "wc -l".into(),
                part: PipePart::Text
            }))
        );
        assert_eq!(parse("search"), Ok(Some(Command::Search(None))));
        assert_eq!(
            parse("s from:bob"),
            Ok(Some(Command::Search(Some("from:bob".into()))))
        );
        assert_eq!(parse("reply-all"), Ok(Some(Command::ReplyAll)));
        assert_eq!(
            parse("set layout wide"),
            Ok(Some(Command::Set(Setting::Layout(Layout::Wide))))
        );
        assert_eq!(
            parse("set mark_read_on_open=false"),
            Ok(Some(Command::Set(Setting::MarkReadOnOpen(false))))
        );
        assert_eq!(
            parse("set mark_read_delay 500"),
            Ok(Some(Command::Set(Setting::MarkReadDelayMs(500))))
        );
    }

    #[test]
    fn errors_are_one_line_with_a_hint() {
        assert_eq!(
            parse("mvoe Archive"),
            Err("unknown command `mvoe`: did you mean `move`?".into())
        );
        assert_eq!(
            parse("frob"),
            Err("unknown command `frob` (Tab lists them, :help the keys)".into())
        );
        assert_eq!(
            parse("move"),
            Err("move needs a folder: :move FOLDER".into())
        );
        assert_eq!(
            parse("archive now"),
            Err("archive takes nothing after it".into())
        );
        assert_eq!(
            parse("set layuot wide"),
            Err("unknown option `layuot`: did you mean `layout`?".into())
        );
        assert_eq!(
            parse("set layout sideways"),
            Err("layout is auto, wide or tall, not `sideways`".into())
        );
        // A hostile line cannot put control characters in the status line.
        let e = parse("\x1b[2Jx").unwrap_err();
        assert!(!e.contains('\x1b'), "{e:?}");
    }

    #[test]
    fn history_goes_back_and_comes_back_to_the_line_typed() {
        let mut h = CmdlineState::default();
        h.record("move Archive");
        h.record("pipe grep x");
        h.record("move Archive");
        assert_eq!(h.history, vec!["pipe grep x", "move Archive"]);
        assert_eq!(h.older("se").as_deref(), Some("move Archive"));
        assert_eq!(h.older("").as_deref(), Some("pipe grep x"));
        assert_eq!(h.older(""), None, "nothing older");
        assert_eq!(h.newer().as_deref(), Some("move Archive"));
        assert_eq!(h.newer().as_deref(), Some("se"), "the line typed");
        assert_eq!(h.newer(), None);
    }

    #[test]
    fn tab_completes_names_then_what_follows() {
        assert_eq!(
            complete_name("re"),
            vec!["read", "reply", "reply-all", "reload"]
        );
        assert_eq!(
            common_prefix(["reply", "reply-all"].into_iter()),
            Some("reply".into())
        );
        assert_eq!(completing("mo"), Completing::Name("mo"));
        assert_eq!(
            completing("move  Arc"),
            Completing::Folder {
                head: "move  ",
                word: "Arc"
            }
        );
        assert_eq!(
            completing("save ~/x"),
            Completing::Path {
                head: "save ",
                word: "~/x"
            }
        );
        assert_eq!(
            completing("set la"),
            Completing::Setting {
                head: "set ",
                word: "la"
            }
        );
        assert_eq!(completing("pipe gr"), Completing::Nothing);
    }
}
