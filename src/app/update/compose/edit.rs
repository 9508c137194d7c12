//! The edited text between the editor and the review: read back and saved, or kept whole
//! with what to fix (the next edit starts from it, a note on top); and the paths offered when
//! a path to attach has several completions.

use super::super::super::msg::{Cmd, ReadBack};
use super::super::super::state::{AppState, Compose};
use crate::domain::compose::{Draft, Rejected, annotate, editable};
use crate::domain::keys::{Key, KeyChord};

/// The text the next edit starts from: the rejected text with what to fix on top, else the
/// draft's (with a note when sending was refused for want of a recipient).
pub fn text_to_edit(c: &Compose) -> String {
    if let Some(r) = &c.edit.rejected {
        return annotate(&r.text, &r.problem);
    }
    let d = &c.draft;
    let text = editable(d);
    let refused = c
        .note
        .as_deref()
        .is_some_and(|n| n.starts_with("no recipient"));
    if refused && d.to.is_empty() && d.cc.is_empty() && d.bcc.is_empty() {
        return annotate(&text, "no recipient: write one after To:");
    }
    text
}

/// What to save as a draft: the draft, or, while the text cannot be read, the draft with the
/// whole text as its body (nothing the user wrote is left out).
pub fn to_keep(c: &Compose) -> Draft {
    match &c.edit.rejected {
        Some(r) => Draft {
            body: r.text.clone(),
            ..c.draft.clone()
        },
        None => c.draft.clone(),
    }
}

/// The text read back (or not): the draft taken, or the text kept with what to fix.
pub fn apply(c: &mut Compose, parsed: Result<Draft, Rejected>) {
    match parsed {
        Ok(d) => {
            c.draft = d;
            c.edit.rejected = None;
            c.note = None;
        }
        Err(r) => {
            c.note = Some(format!("{}: e edits again, your text is kept", r.problem));
            c.edit.rejected = Some(r);
        }
    }
}

/// The built-in editor is done with `text`: read at once, and written to the file and saved
/// in Drafts before sending can go on.
pub fn builtin_done(c: &mut Compose, text: String, cmds: &mut Vec<Cmd>) {
    let base = c.draft.clone();
    apply(c, crate::domain::compose::read_back(&text, &base));
    c.edit.reading = true;
    cmds.push(Cmd::ReadCompose {
        path: c.file.clone(),
        base: Box::new(base),
        text: Some(text),
        account: c.account,
        replaces: c.draft_msg,
    });
}

/// The external editor returned: read the file back (and save it) before anything else.
pub fn editor_done(c: &mut Compose, cmds: &mut Vec<Cmd>) {
    c.edit.reading = true;
    cmds.push(Cmd::ReadCompose {
        path: c.file.clone(),
        base: Box::new(c.draft.clone()),
        text: None,
        account: c.account,
        replaces: c.draft_msg,
    });
}

pub fn on_read_back(state: &mut AppState, rb: ReadBack) {
    let Some(c) = state.overlays.compose_mut() else {
        return;
    };
    c.edit.reading = false;
    apply(c, rb.parsed);
    match rb.saved {
        Ok(Some(m)) => c.draft_msg = Some(m),
        Ok(None) => {}
        Err(e) => {
            let first = c.note.take().map(|n| format!("{n}; ")).unwrap_or_default();
            c.note = Some(format!("{first}not saved in Drafts: {e}"));
        }
    }
}

/// A path completed: the prompt takes it, and the choices (when several) are offered.
pub fn on_completed(state: &mut AppState, input: String, completed: String, choices: Vec<String>) {
    let Some(c) = state.overlays.compose_mut() else {
        return;
    };
    if c.attach_input.as_deref() != Some(input.as_str()) {
        return;
    }
    c.attach_input = Some(completed);
    c.edit.choices = choices;
    c.edit.choice = None;
}

/// Keys in the attach prompt while choices are offered: tab and shift-tab go through them
/// (the prompt shows the one chosen). Returns whether the key was taken.
pub fn on_choice_key(c: &mut Compose, chord: KeyChord) -> bool {
    let n = c.edit.choices.len();
    if n == 0 {
        return false;
    }
    let next = match (chord.key, c.edit.choice) {
        (Key::Tab, None) => 0,
        (Key::Tab, Some(i)) => (i + 1) % n,
        (Key::BackTab, None) => n - 1,
        (Key::BackTab, Some(i)) => (i + n - 1) % n,
        _ => {
            // Anything else: the prompt is typed in again; the choices go.
            c.edit.choices.clear();
            c.edit.choice = None;
            return false;
        }
    };
    c.edit.choice = Some(next);
    c.attach_input = Some(c.edit.choices[next].clone());
    true
}
