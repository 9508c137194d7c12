//! The command line (`:`) in the state machine: typing, history (Up/Down), completion (Tab),
//! and what each command does; `|` and `w` open it with `pipe ` or `save ` typed; the popup
//! a pipe's output is shown in; and the word for a key bound to nothing. The parsing is
//! `app::command`'s; commands that reach outside go out as `Cmd::Line`.

use super::super::command::{self, Command, Completing, Output, PipePart, Setting};
use super::super::msg::{Cmd, Dest, LineCmd, Msg};
use super::super::overlay::Overlay;
use super::super::state::{AppState, SidebarRow};
use super::{search, triage};
use crate::domain::keys::{Action, Key, KeyChord};
use crate::domain::triage::FlagName;
use crate::domain::{ALL_INBOXES, AccountId, MailboxId, MsgId, sanitize};

/// How many lines of a pipe's output are kept (its bytes are bounded by the effect).
const OUTPUT_LINES: usize = 20_000;

/// Open the command line with `text` typed.
pub fn open(state: &mut AppState, text: &str) {
    state.cmdline.at = None;
    state.notice = None;
    state.overlays.push(Overlay::Command(text.to_string()));
}

/// A key typed into the command line (on top).
pub fn on_typed(state: &mut AppState, chord: KeyChord, cmds: &mut Vec<Cmd>) {
    // The names Tab offered are shown until the next key.
    state.notice = None;
    let Some(Overlay::Command(line)) = state.overlays.top_mut() else {
        return;
    };
    match chord.key {
        Key::Esc => close(state),
        Key::Char('c') if chord.ctrl => close(state),
        Key::Backspace if line.pop().is_none() => close(state),
        Key::Backspace => {}
        Key::Char('u') if chord.ctrl => line.clear(),
        Key::Char(c) if !chord.ctrl && !chord.alt && !c.is_control() => line.push(c),
        Key::Up => {
            let typed = line.clone();
            if let Some(l) = state.cmdline.older(&typed) {
                set_line(state, l);
            }
        }
        Key::Down => {
            if let Some(l) = state.cmdline.newer() {
                set_line(state, l);
            }
        }
        Key::Tab => {
            let line = line.clone();
            complete(state, &line, cmds);
        }
        Key::Enter => {
            let line = std::mem::take(line);
            close(state);
            state.cmdline.record(&line);
            let history = state.cmdline.history.clone();
            cmds.push(Cmd::Line(LineCmd::SaveHistory(history)));
            match command::parse(&line) {
                Ok(Some(c)) => execute(state, c, cmds),
                Ok(None) => {}
                Err(e) => state.error = Some(e),
            }
        }
        _ => {}
    }
}

fn close(state: &mut AppState) {
    state.cmdline.at = None;
    state.overlays.pop();
}

fn set_line(state: &mut AppState, text: String) {
    if let Some(Overlay::Command(line)) = state.overlays.top_mut() {
        *line = text;
    }
}

/// Tab: the command's name, then a folder (move, copy), a path (save: the effect reads the
/// directory) or an option (set).
fn complete(state: &mut AppState, line: &str, cmds: &mut Vec<Cmd>) {
    let (head, word, choices): (&str, &str, Vec<String>) = match command::completing(line) {
        Completing::Name(w) => (
            "",
            w,
            command::complete_name(w)
                .into_iter()
                .map(|n| format!("{n} "))
                .collect(),
        ),
        Completing::Setting { head, word } => (
            head,
            word,
            command::SETTINGS
                .iter()
                .filter(|s| s.starts_with(word))
                .map(|s| format!("{s} "))
                .collect(),
        ),
        Completing::Folder { head, word } => {
            let names = folders(state, &targets(state))
                .map(|(_, _, names)| names)
                .unwrap_or_default();
            let lower = word.to_lowercase();
            let choices = names
                .into_iter()
                .map(|(_, n)| n)
                .filter(|n| n.to_lowercase().starts_with(&lower))
                .collect();
            (head, word, choices)
        }
        Completing::Path { head, word } => {
            cmds.push(Cmd::Line(LineCmd::CompletePath {
                head: head.to_string(),
                word: word.to_string(),
            }));
            return;
        }
        Completing::Nothing => return,
    };
    let Some(common) = command::common_prefix(choices.iter().map(String::as_str)) else {
        state.notice = Some(format!("nothing starts with `{}`", sanitize::line(word)));
        return;
    };
    if choices.len() > 1 {
        let shown: Vec<&str> = choices.iter().map(|c| c.trim_end()).take(12).collect();
        state.notice = Some(shown.join("  "));
    }
    // Folder names typed in another case become the folder's own.
    let common = if common.len() >= word.len() || choices.len() == 1 {
        common
    } else {
        word.to_string()
    };
    set_line(state, format!("{head}{common}"));
}

/// What a command acts on: the selection, else the current message (as the keys do).
fn targets(state: &AppState) -> Vec<MsgId> {
    if !state.list.marked.is_empty() {
        return state.list.marked.iter().copied().collect();
    }
    current(state).into_iter().collect()
}

/// The current message: the selected row, else the one in the reader.
fn current(state: &AppState) -> Option<MsgId> {
    state
        .list
        .selected_row()
        .map(|e| e.id)
        .or(state.reader.as_ref().map(|r| r.msg))
}

/// The account the messages are in (the open mailbox's, or the first message's) with its
/// name and its mailboxes (id, name).
type Folders = (AccountId, String, Vec<(MailboxId, String)>);

fn folders(state: &AppState, msgs: &[MsgId]) -> Option<Folders> {
    let of_row = state
        .list
        .rows
        .iter()
        .find(|e| msgs.contains(&e.id))
        .map(|e| e.mailbox);
    let here = state.list.mailbox.filter(|m| *m != ALL_INBOXES).or(of_row);
    let account = state.sidebar_all.iter().find_map(|r| match r {
        SidebarRow::Mailbox(m) if Some(m.id) == here => Some(m.account),
        _ => None,
    })?;
    let names = state
        .sidebar_all
        .iter()
        .filter_map(|r| match r {
            SidebarRow::Mailbox(m) if m.account == account => Some((m.id, m.name.clone())),
            _ => None,
        })
        .collect();
    let name = state.account_name(account).unwrap_or_default().to_string();
    Some((account, name, names))
}

/// The mailbox named `name` (exactly, else in another case) among the account's.
fn resolve(names: &[(MailboxId, String)], name: &str) -> Option<MailboxId> {
    let name = name.trim_end_matches('/');
    names
        .iter()
        .find(|(_, n)| n == name)
        .or_else(|| names.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)))
        .map(|(id, _)| *id)
}

/// Run a parsed command.
fn execute(state: &mut AppState, c: Command, cmds: &mut Vec<Cmd>) {
    let act =
        |state: &mut AppState, a: Action, cmds: &mut Vec<Cmd>| super::on_action(state, a, cmds);
    match c {
        Command::Move(folder) => move_to(state, &folder, false, cmds),
        Command::Copy(folder) => move_to(state, &folder, true, cmds),
        Command::Archive => act(state, Action::Archive, cmds),
        Command::Delete => act(state, Action::Delete, cmds),
        Command::Junk => act(state, Action::Junk, cmds),
        Command::Undo => act(state, Action::Undo, cmds),
        Command::Compose => act(state, Action::Compose, cmds),
        Command::Reply => act(state, Action::Reply, cmds),
        Command::ReplyAll => act(state, Action::ReplyAll, cmds),
        Command::Forward => act(state, Action::Forward, cmds),
        Command::Help => state.overlays.push(Overlay::Help(Default::default())),
        Command::Quit => state.quit = true,
        Command::Flag(on) => set_flag(state, FlagName::Flagged, on, cmds),
        Command::Read(on) => set_flag(state, FlagName::Seen, on, cmds),
        Command::Search(q) => search::start(state, true, q, cmds),
        Command::Filter(q) => search::start(state, false, q, cmds),
        Command::Sync => {
            cmds.push(Cmd::Line(LineCmd::SyncNow));
            state.notice = Some("checking for new mail".into());
        }
        Command::Set(s) => set(state, s, cmds),
        Command::Reload => cmds.push(Cmd::Line(LineCmd::Reload)),
        Command::Save(path) => with_message(state, cmds, |msg| LineCmd::SaveMessage {
            msg,
            path: path.clone(),
        }),
        Command::SaveAttachment { index, path } => {
            with_message(state, cmds, |msg| LineCmd::SaveAttachmentAs {
                msg,
                index,
                path: path.clone(),
            })
        }
        Command::OpenWith(program) => with_message(state, cmds, |msg| LineCmd::OpenWith {
            msg,
            program: program.clone(),
        }),
        Command::Pipe { command, part } => pipe(state, command, part, cmds),
    }
}

/// A command on the current message (one message: a selection of several is refused, so
/// nothing is done to a message the user did not mean).
fn with_message(state: &mut AppState, cmds: &mut Vec<Cmd>, f: impl Fn(MsgId) -> LineCmd) {
    let msgs = targets(state);
    match msgs.as_slice() {
        [] => state.error = Some("no message here".into()),
        [one] => cmds.push(Cmd::Line(f(*one))),
        _ => state.error = Some("this takes one message: esc clears the selection".into()),
    }
}

/// `:move FOLDER` / `:copy FOLDER`: the selection (or the message) to a folder of its account.
fn move_to(state: &mut AppState, folder: &str, copy: bool, cmds: &mut Vec<Cmd>) {
    let msgs = targets(state);
    if msgs.is_empty() {
        state.error = Some("no message here".into());
        return;
    }
    let Some((_, account, names)) = folders(state, &msgs) else {
        state.error = Some("no folder list yet: try again in a moment".into());
        return;
    };
    let Some(id) = resolve(&names, folder) else {
        state.error = Some(format!(
            "no folder `{}` in {}: Tab completes the names",
            sanitize::line(folder),
            sanitize::line(&account)
        ));
        return;
    };
    cmds.push(Cmd::MoveTo {
        msgs,
        dest: Dest::Mailbox(id),
        copy,
        what: if copy { "copied" } else { "moved" }.into(),
    });
    triage::selection_used(state);
}

/// Set (or clear) a flag on the selection or the message: the rows change at once.
fn set_flag(state: &mut AppState, flag: FlagName, on: bool, cmds: &mut Vec<Cmd>) {
    let msgs = targets(state);
    if msgs.is_empty() {
        state.error = Some("no message here".into());
        return;
    }
    for e in state.list.rows.iter_mut().filter(|e| msgs.contains(&e.id)) {
        match flag {
            FlagName::Flagged => e.flags.flagged = on,
            _ => e.flags.seen = on,
        }
    }
    cmds.push(Cmd::SetFlag {
        msgs,
        flag,
        on,
        undoable: true,
    });
}

/// `:set NAME VALUE`, for this session.
fn set(state: &mut AppState, s: Setting, cmds: &mut Vec<Cmd>) {
    match s {
        Setting::Layout(l) => {
            state.layout = l;
            super::ensure_visible(state, cmds);
            super::relayout_reader(state, cmds);
        }
        Setting::MarkReadOnOpen(b) => state.mark_read_on_open = b,
        Setting::MarkReadDelayMs(ms) => state.mark_read_delay_ms = ms,
        Setting::Threads(b) if b != state.threaded => {
            super::list::on_action(state, Action::ToggleThreads, cmds)
        }
        Setting::Threads(_) => {}
    }
    state.notice = Some("set for this session (the config keeps its value)".into());
}

/// Pipe the message (or an attachment) to a command: the popup shows it running.
fn pipe(state: &mut AppState, command: String, part: PipePart, cmds: &mut Vec<Cmd>) {
    let Some(msg) = current(state) else {
        state.error = Some("no message here".into());
        return;
    };
    let req = state.next_req();
    state.overlays.push(Overlay::Output(Box::new(Output {
        title: sanitize::line(&command),
        lines: Vec::new(),
        scroll: 0,
        running: Some(req),
    })));
    cmds.push(Cmd::Line(LineCmd::Pipe {
        req,
        msg,
        part,
        command,
    }));
}

/// `|` (and `w`, save as): the command line with the command typed; from the attachments
/// list, for the chosen attachment.
pub fn on_action(state: &mut AppState, action: Action) {
    let attachment = match state.overlays.top() {
        Some(&Overlay::Attachments(sel)) => Some(sel + 1),
        _ => None,
    };
    let text = match (action, attachment) {
        (Action::Pipe, None) => "pipe ".to_string(),
        (Action::Pipe, Some(n)) => format!("pipe -a {n} "),
        (_, None) => "save ".to_string(),
        (_, Some(n)) => format!("save -a {n} "),
    };
    open(state, &text);
}

/// The command line's answers, and a key bound to nothing.
pub fn on_msg(state: &mut AppState, msg: Msg) {
    match msg {
        Msg::LineCompleted { line } => set_line(state, line),
        // The run loop has taken the keys and the theme.
        Msg::Reloaded(Ok(r)) => {
            state.notice = Some(match r.warnings.first() {
                Some(w) => format!("keys and theme read again; {w}"),
                None => "keys and theme read again (changes to accounts take a restart)".into(),
            })
        }
        Msg::Reloaded(Err(e)) => state.error = Some(format!("reload: {e}")),
        Msg::Piped { req, output, ended } => {
            let Some(o) = output_of(state, req) else {
                return;
            };
            let text = sanitize::body(&String::from_utf8_lossy(&output));
            o.lines = text
                .lines()
                .take(OUTPUT_LINES)
                .map(str::to_string)
                .collect();
            if !ended.is_empty() {
                o.lines.push(format!("[{}]", sanitize::line(&ended)));
            }
            o.running = None;
        }
        _ => {}
    }
}

/// A key bound to nothing (the prompts take keys as typed: they never get here).
pub fn unbound(state: &mut AppState, chord: KeyChord) {
    let help = state
        .key_help
        .iter()
        .find(|(a, _)| *a == Action::Help)
        .map(|(_, k)| k.split(", ").next().unwrap_or("?").to_string());
    state.notice = Some(match help {
        Some(k) => format!("key {chord} is not bound; {k} for help"),
        None => format!("key {chord} is not bound; :help for help"),
    });
}

fn output_of(state: &mut AppState, req: crate::domain::RequestId) -> Option<&mut Output> {
    state.overlays.top_mut().and_then(|o| match o {
        Overlay::Output(o) if o.running == Some(req) => Some(&mut **o),
        _ => None,
    })
}

/// Keys in the output popup (on top): scroll, or close (which stops the command).
pub fn on_output_key(state: &mut AppState, action: Action, cmds: &mut Vec<Cmd>) {
    let page = (state.size.height as usize).saturating_sub(4).max(1);
    let Some(Overlay::Output(o)) = state.overlays.top_mut() else {
        return;
    };
    let last = o.lines.len().saturating_sub(1);
    o.scroll = match action {
        Action::Down => o.scroll + 1,
        Action::Up => o.scroll.saturating_sub(1),
        Action::PageDown | Action::HalfPageDown => o.scroll + page,
        Action::PageUp | Action::HalfPageUp => o.scroll.saturating_sub(page),
        Action::Top => 0,
        Action::Bottom => last,
        Action::Back | Action::Quit | Action::Pipe => {
            if let Some(req) = o.running {
                cmds.push(Cmd::Line(LineCmd::StopPipe { req }));
            }
            state.overlays.pop();
            return;
        }
        _ => o.scroll,
    }
    .min(last);
}
