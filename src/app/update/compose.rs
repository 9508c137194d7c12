//! Writing mail in the state machine: start (new, reply, reply all, forward), hand the text
//! to the editor (the run loop does that), read it back, then the review screen: send, edit
//! again, attach or remove files, discard.

use std::path::PathBuf;

use super::super::msg::{Cmd, Msg, Queued};
use super::super::overlay::Overlay;
use super::super::state::{AddrField, AddrPrompt, AppState, Compose, Editor};
use crate::domain::compose::Kind;
use crate::domain::compose::{editable, parse_editable};
use crate::domain::keys::{Action, Key, KeyChord};
use crate::domain::{ALL_INBOXES, RequestId};
use edit::text_to_edit;

mod edit;

pub fn on_action(state: &mut AppState, action: Action, cmds: &mut Vec<Cmd>) {
    if state.overlays.compose().is_some() {
        return;
    }
    if action == Action::EditDraft {
        let current = state
            .reader
            .as_ref()
            .map(|r| r.msg)
            .or_else(|| state.list.selected_row().map(|e| e.id));
        if let Some(msg) = current {
            cmds.push(Cmd::ResumeDraft { msg });
        }
        return;
    }
    let kind = match action {
        Action::Reply => Kind::Reply,
        Action::ReplyAll => Kind::ReplyAll,
        Action::Forward => Kind::Forward,
        Action::ForwardAttached => Kind::ForwardAttached,
        _ => Kind::New,
    };
    let current = state
        .reader
        .as_ref()
        .map(|r| r.msg)
        .or_else(|| state.list.selected_row().map(|e| e.id));
    let msg = match kind {
        Kind::New => None,
        _ => match current {
            Some(m) => Some(m),
            None => return,
        },
    };
    // A new message is written from the account of the folder in view.
    let mailbox = state
        .list
        .mailbox
        .filter(|m| *m != ALL_INBOXES)
        .or_else(|| state.selected_mailbox().map(|m| m.id));
    cmds.push(Cmd::StartCompose {
        kind,
        msg: msg.or(current.filter(|_| kind == Kind::New && mailbox.is_none())),
        mailbox,
    });
}

pub fn on_msg(state: &mut AppState, msg: Msg, cmds: &mut Vec<Cmd>) {
    match msg {
        Msg::ComposeStarted(c) => {
            let mut c = *c;
            c.edit.resumed = c.draft_msg.is_some();
            if state.builtin_editor {
                c.builtin = Some(Editor::new(&editable(&c.draft), state.clock.now));
            } else {
                state.editing = Some(c.file.clone());
            }
            state
                .overlays
                .replace_or_push(Overlay::Compose(Box::new(c)));
        }
        Msg::Autosaved { msg } => {
            if let Some(c) = state.overlays.compose_mut() {
                c.draft_msg = Some(msg);
            }
        }
        m @ (Msg::ComposeFileWritten | Msg::EditorClosed { .. } | Msg::ComposeEdited(_)) => {
            on_editor_msg(state, m, cmds)
        }
        Msg::ComposeReadBack(rb) => edit::on_read_back(state, *rb),
        Msg::Attached(result) => {
            let Some(c) = state.overlays.compose_mut() else {
                return;
            };
            match result {
                Ok(a) => {
                    c.draft.attachments.push(a);
                    c.selected = c.draft.attachments.len() - 1;
                    c.note = None;
                }
                Err(e) => c.note = Some(e),
            }
        }
        Msg::PathCompleted {
            input,
            completed,
            choices,
        } => edit::on_completed(state, input, completed, choices),
        Msg::Suggestions { req, list } => {
            if let Some(c) = state.overlays.compose_mut()
                && let Some(p) = &mut c.addr
                && p.req == req
            {
                p.suggestions = list;
                p.selected = 0;
            }
        }
        Msg::ComposeQueued(queued) => {
            let kept = state.overlays.compose().cloned();
            close(state);
            if let Queued::Waiting { id, subject, until } = queued {
                return super::undosend::waiting(state, id, subject, until, kept, cmds);
            }
            state.notice = Some(match queued {
                Queued::Sending { id, subject } => {
                    format!("sending #{id}: {}", crate::domain::sanitize::line(&subject))
                }
                Queued::NotSent { id, subject } => format!(
                    "demo: not sent, see the outbox (#{id}) and Sent: {}",
                    crate::domain::sanitize::line(&subject)
                ),
                Queued::Drafted => "saved in Drafts".into(),
                Queued::Waiting { .. } => return,
            });
        }
        _ => {}
    }
}

/// The external editor's round trip: the file written for it, closed, the text read back.
fn on_editor_msg(state: &mut AppState, msg: Msg, cmds: &mut Vec<Cmd>) {
    match msg {
        Msg::ComposeFileWritten => {
            if let Some(c) = state.overlays.compose() {
                state.editing = Some(c.file.clone());
            }
        }
        Msg::EditorClosed { error } => {
            let Some(c) = state.overlays.compose_mut() else {
                return;
            };
            match error {
                Some(e) => c.note = Some(e),
                None => edit::editor_done(c, cmds),
            }
        }
        Msg::ComposeEdited(result) => {
            let Some(c) = state.overlays.compose_mut() else {
                return;
            };
            c.edit.reading = false;
            match result {
                Ok(d) => {
                    c.draft = *d;
                    c.note = None;
                }
                Err(e) => c.note = Some(format!("{e}: e edits again")),
            }
        }
        _ => {}
    }
}

/// The message is sent or given up: its review screen goes.
fn close(state: &mut AppState) {
    state.overlays.close(|o| matches!(o, Overlay::Compose(_)));
}

/// Keys in the built-in editor: esc is done (back to the review), the rest edits.
fn on_editor_key(state: &mut AppState, chord: KeyChord, cmds: &mut Vec<Cmd>) {
    let Some(c) = state.overlays.compose_mut() else {
        return;
    };
    let Some(ed) = &mut c.builtin else { return };
    use ratatui_textarea::{Input, Key as T};
    let key = match chord.key {
        Key::Esc => {
            let text = ed.text();
            c.builtin = None;
            return edit::builtin_done(c, text, cmds);
        }
        Key::Char(ch) => T::Char(ch),
        Key::Enter => T::Enter,
        Key::Tab | Key::BackTab => T::Tab,
        Key::Backspace => T::Backspace,
        Key::Delete => T::Delete,
        Key::Up => T::Up,
        Key::Down => T::Down,
        Key::Left => T::Left,
        Key::Right => T::Right,
        Key::Home => T::Home,
        Key::End => T::End,
        Key::PageUp => T::PageUp,
        Key::PageDown => T::PageDown,
        Key::F(n) => T::F(n),
        Key::Insert => T::Null,
    };
    ed.area.input(Input {
        key,
        ctrl: chord.ctrl,
        alt: chord.alt,
        shift: chord.shift,
    });
}

/// Save what the built-in editor holds in Drafts when it changed and the last save is 15 s
/// old or more (the clock ticks every 15 s): a crash loses at most the last 30 s.
pub fn autosave(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let now = state.clock.now;
    let Some(c) = state.overlays.compose_mut() else {
        return;
    };
    let Some(ed) = &mut c.builtin else { return };
    let text = ed.text();
    if text == ed.saved || now - ed.saved_at < 15 {
        return;
    }
    ed.saved = text.clone();
    ed.saved_at = now;
    // What cannot be read as header fields yet is kept whole in the body: nothing is lost.
    let draft = parse_editable(&text, &c.draft).unwrap_or_else(|_| {
        let mut d = c.draft.clone();
        d.body = text;
        d
    });
    cmds.push(Cmd::AutosaveDraft {
        account: c.account,
        draft: Box::new(draft),
        replaces: c.draft_msg,
    });
}

/// Keys in the address prompt.
fn on_addr_key(state: &mut AppState, chord: KeyChord, cmds: &mut Vec<Cmd>) {
    let req = state.next_req();
    let Some(c) = state.overlays.compose_mut() else {
        return;
    };
    let Some(p) = &mut c.addr else { return };
    let ctrl = chord.ctrl;
    let mut changed = false;
    match chord.key {
        Key::Esc => {
            c.addr = None;
            return;
        }
        Key::Enter => {
            let chosen = match p.suggestions.get(p.selected) {
                Some(a) => Some(a.clone()),
                None if p.input.contains('@') => Some(crate::domain::Address {
                    name: None,
                    email: p.input.trim().to_string(),
                }),
                None => None,
            };
            let Some(a) = chosen else {
                c.note = Some(format!("not an address: {}", p.input));
                return;
            };
            let list = match p.field {
                AddrField::To => &mut c.draft.to,
                AddrField::Cc => &mut c.draft.cc,
                AddrField::Bcc => &mut c.draft.bcc,
            };
            if !list.iter().any(|x| x.email.eq_ignore_ascii_case(&a.email)) {
                list.push(a);
            }
            c.addr = None;
            c.note = None;
            return;
        }
        Key::Tab | Key::Down => {
            p.selected = (p.selected + 1).min(p.suggestions.len().saturating_sub(1))
        }
        Key::BackTab | Key::Up => p.selected = p.selected.saturating_sub(1),
        Key::Backspace => {
            p.input.pop();
            changed = true;
        }
        Key::Char('u') if ctrl => {
            p.input.clear();
            changed = true;
        }
        Key::Char(ch) if !ctrl && !chord.alt && !ch.is_control() => {
            p.input.push(ch);
            changed = true;
        }
        _ => {}
    }
    if changed {
        p.req = req;
        p.suggestions.clear();
        if !p.input.trim().is_empty() {
            cmds.push(Cmd::SuggestAddresses {
                req,
                prefix: p.input.clone(),
            });
        }
    }
}

/// Keys in the prompt for a file to attach: enter attaches it, tab completes the path.
fn on_attach_key(attach_input: &mut Option<String>, chord: KeyChord, cmds: &mut Vec<Cmd>) {
    let Some(input) = attach_input else {
        return;
    };
    let ctrl = chord.ctrl;
    match chord.key {
        Key::Esc => *attach_input = None,
        Key::Enter => {
            let path = PathBuf::from(input.trim());
            *attach_input = None;
            if !path.as_os_str().is_empty() {
                cmds.push(Cmd::AttachFile { path });
            }
        }
        Key::Tab => cmds.push(Cmd::CompletePath {
            input: input.clone(),
        }),
        Key::Backspace => {
            input.pop();
        }
        Key::Char('u') if ctrl => input.clear(),
        Key::Char(ch) if !ctrl && !chord.alt && !ch.is_control() => input.push(ch),
        _ => {}
    }
}

/// Send the reviewed message, unless it has no recipient or seems to miss an attachment.
fn send(c: &mut Compose, delay_secs: u64, cmds: &mut Vec<Cmd>) {
    if let Some(r) = &c.edit.rejected {
        c.note = Some(format!("{}: e edits again, your text is kept", r.problem));
        return;
    }
    let d = &c.draft;
    if d.to.is_empty() && d.cc.is_empty() && d.bcc.is_empty() {
        c.note = Some("no recipient: e to edit, then add To".into());
        return;
    }
    if c.edit.reading {
        c.note = Some("the text is still being read back: y again in a moment".into());
        return;
    }
    if d.attachments.is_empty()
        && crate::domain::compose::mentions_attachment(&d.body)
        && !c.warned_attachment
    {
        c.warned_attachment = true;
        c.note = Some(
            "the text speaks of an attachment but none is attached: a attaches, y sends anyway"
                .into(),
        );
        return;
    }
    cmds.push(Cmd::SendCompose {
        delay_secs,
        account: c.account,
        draft: Box::new(c.draft.clone()),
        original: c.original,
        kind: c.kind,
        file: c.file.clone(),
        draft_msg: c.draft_msg,
    });
}

/// Keys on the review screen (and in its prompts).
pub fn on_typed(state: &mut AppState, chord: KeyChord, cmds: &mut Vec<Cmd>) {
    if state.overlays.compose().is_some_and(|c| c.addr.is_some()) {
        return on_addr_key(state, chord, cmds);
    }
    if state
        .overlays
        .compose()
        .is_some_and(|c| c.builtin.is_some())
    {
        return on_editor_key(state, chord, cmds);
    }
    let Some(c) = state.overlays.compose_mut() else {
        return;
    };
    let ctrl = chord.ctrl;
    if c.attach_input.is_some() {
        if edit::on_choice_key(c, chord) {
            return;
        }
        return on_attach_key(&mut c.attach_input, chord, cmds);
    }
    if c.confirm_discard {
        c.confirm_discard = false;
        if matches!(chord.key, Key::Char('y') | Key::Char('Y')) {
            let file = c.file.clone();
            let saved_here = c.draft_msg.filter(|_| !c.edit.resumed);
            close(state);
            cmds.push(Cmd::DiscardCompose { file });
            if let Some(msg) = saved_here {
                cmds.push(Cmd::DropDraft { msg });
            }
        }
        return;
    }
    match chord.key {
        Key::Char('y') | Key::Enter if !ctrl => send(c, state.send_delay_secs, cmds),
        Key::Char('e') if state.builtin_editor => {
            c.builtin = Some(Editor::new(&text_to_edit(c), state.clock.now));
        }
        Key::Char('e') => cmds.push(Cmd::WriteCompose {
            path: c.file.clone(),
            text: text_to_edit(c),
        }),
        Key::Char('a') => {
            c.attach_input = Some(String::new());
            c.note = None;
        }
        Key::Char(k @ ('t' | 'c' | 'b')) if !ctrl => {
            c.addr = Some(AddrPrompt {
                field: match k {
                    't' => AddrField::To,
                    'c' => AddrField::Cc,
                    _ => AddrField::Bcc,
                },
                input: String::new(),
                suggestions: Vec::new(),
                selected: 0,
                req: RequestId(0),
            });
            c.note = None;
        }
        Key::Char('s') => cmds.push(Cmd::SaveDraft {
            account: c.account,
            draft: Box::new(edit::to_keep(c)),
            replaces: c.draft_msg,
            file: c.file.clone(),
        }),
        Key::Char('d') | Key::Delete if !c.draft.attachments.is_empty() => {
            let i = c.selected.min(c.draft.attachments.len() - 1);
            c.draft.attachments.remove(i);
            c.selected = c.selected.min(c.draft.attachments.len().saturating_sub(1));
        }
        Key::Char('j') | Key::Down => {
            c.selected = (c.selected + 1).min(c.draft.attachments.len().saturating_sub(1));
        }
        Key::Char('k') | Key::Up => c.selected = c.selected.saturating_sub(1),
        Key::Char('q') | Key::Esc => c.confirm_discard = true,
        _ => {}
    }
}
