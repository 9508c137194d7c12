//! Triage in the state machine: delete, archive, junk, move and copy (with the folder
//! picker), undo, and the ways to select (a visual range, a thread, everything).

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher};

use super::super::msg::{Cmd, Dest, Done, Undo};
use super::super::overlay::Overlay;
use super::super::state::{AppState, Confirm, MarkMode, Picker, SidebarRow, Visual};
use super::reload_list;
use crate::domain::keys::{Action, Key, KeyChord};
use crate::domain::triage::FlagName;
use crate::domain::{ALL_INBOXES, MsgId, RequestId, Role};

/// How many actions `u` can take back.
pub const UNDO_DEPTH: usize = 100;

/// The cache has done a triage action: say so, keep its undo record, read the lists again.
pub fn on_done(state: &mut AppState, done: Done, cmds: &mut Vec<Cmd>) {
    let (notice, undo) = worded(done);
    if !notice.is_empty() {
        state.notice = Some(notice);
    }
    if let Some(u) = undo {
        state.undo.push(u);
        let excess = state.undo.len().saturating_sub(UNDO_DEPTH);
        state.undo.drain(..excess);
    }
    cmds.push(Cmd::LoadMailboxes);
    reload_list(state, cmds);
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
}

/// What the status line says about a triage action the cache has done (empty: nothing, as
/// for mark-read-on-open), and the record `u` takes it back with (with its wording).
pub fn worded(done: Done) -> (String, Option<(Undo, String)>) {
    match done {
        Done::Flag {
            flag,
            on,
            changed,
            undoable,
        } => {
            let what = match (flag, on) {
                (FlagName::Seen, true) => "marked read",
                (FlagName::Seen, false) => "marked unread",
                (FlagName::Flagged, true) => "flagged",
                (FlagName::Flagged, false) => "unflagged",
                (FlagName::Answered, true) => "marked answered",
                (FlagName::Answered, false) => "marked not answered",
                (FlagName::Forwarded, true) => "marked forwarded",
                (FlagName::Forwarded, false) => "marked not forwarded",
            };
            let what = format!("{what}: {}", count(changed.len()));
            let undo = (undoable && !changed.is_empty()).then(|| {
                (
                    Undo::Flag {
                        msgs: changed,
                        flag,
                        on,
                    },
                    what.clone(),
                )
            });
            let notice = if undoable { what } else { String::new() };
            (notice, undo)
        }
        Done::Moved {
            what,
            dest,
            copy,
            from,
            copies,
            missing,
        } => {
            let what = format!("{what}: {}", count(from.len() + copies.len()));
            let mut notice = what.clone();
            if let (Dest::Role(r), false) = (dest, missing.is_empty()) {
                notice = format!(
                    "{notice} (no {} folder in {}: those stay)",
                    r.as_str(),
                    missing.join(", ")
                );
            }
            let undo = if copy {
                (!copies.is_empty()).then_some((Undo::Copy { copies }, what))
            } else {
                (!from.is_empty()).then_some((Undo::Move { from }, what))
            };
            (notice, undo)
        }
        Done::Expunged { count: n } => (format!("deleted for good: {}", count(n)), None),
        Done::Undone { what, done, asked } => {
            let notice = if done == 0 {
                format!("nothing to undo: {what} (the messages are gone)")
            } else if done < asked {
                format!("undone for {done} of {asked}: {what} (the others are gone)")
            } else {
                format!("undone: {what}")
            };
            (notice, None)
        }
    }
}

/// What an action applies to: the selection, else the current message. In full screen the
/// list (and its marks) is hidden: only the message shown, never a selection out of sight.
pub fn targets(state: &AppState) -> Vec<MsgId> {
    if state.fullscreen
        && let Some(r) = &state.reader
    {
        return vec![r.msg];
    }
    if !state.list.marked.is_empty() {
        return state.list.marked.iter().copied().collect();
    }
    state
        .list
        .selected_row()
        .map(|e| e.id)
        .into_iter()
        .collect()
}

/// An action used the selection: it is done with.
pub fn selection_used(state: &mut AppState) {
    if state.fullscreen {
        return; // it was not used (see `targets`)
    }
    state.list.marked.clear();
    state.list.visual = None;
    state.list.mark_req = None;
}

pub fn on_action(state: &mut AppState, action: Action, cmds: &mut Vec<Cmd>) {
    match action {
        // A message waiting to be sent is taken back first.
        Action::Undo if super::undosend::undo(state, cmds) => {}
        Action::Undo => match state.undo.pop() {
            Some((undo, what)) => cmds.push(Cmd::Undo { undo, what }),
            None => state.notice = Some("nothing to undo".into()),
        },
        Action::VisualSelect if state.list.visual.take().is_some() => {}
        Action::VisualSelect if state.list.total > 0 => {
            state.list.visual = Some(Visual {
                anchor: state.list.selected,
                base: state.list.marked.clone(),
                // Not a range: the first extend computes it.
                range: (u32::MAX, u32::MAX),
            });
        }
        Action::SelectAll => select_all(state, cmds),
        Action::SelectThread => select_thread(state, cmds),
        Action::Delete | Action::Archive | Action::Junk | Action::MoveTo | Action::CopyTo => {
            let msgs = targets(state);
            if msgs.is_empty() {
                return;
            }
            let in_role = |r: Role| state.open_mailbox().is_some_and(|m| m.role == Some(r));
            match action {
                Action::Delete if in_role(Role::Trash) => {
                    let n = msgs.len();
                    state.overlays.push(Overlay::Confirm(Confirm {
                        question: format!(
                            "Delete {} for good? This cannot be undone. (y/n)",
                            if n == 1 {
                                "this message".to_string()
                            } else {
                                format!("these {n} messages")
                            }
                        ),
                        cmd: Cmd::Expunge { msgs },
                    }));
                }
                Action::Delete => push_move(state, msgs, Dest::Role(Role::Trash), "deleted", cmds),
                Action::Archive => {
                    push_move(state, msgs, Dest::Role(Role::Archive), "archived", cmds)
                }
                Action::Junk => push_move(state, msgs, Dest::Role(Role::Junk), "marked junk", cmds),
                _ => open_picker(state, msgs, action == Action::CopyTo),
            }
        }
        _ => {}
    }
}

fn push_move(state: &mut AppState, msgs: Vec<MsgId>, dest: Dest, what: &str, cmds: &mut Vec<Cmd>) {
    cmds.push(Cmd::MoveTo {
        msgs,
        dest,
        copy: false,
        what: what.into(),
    });
    selection_used(state);
}

/// Open the folder picker over the mailboxes of the account the messages are in.
fn open_picker(state: &mut AppState, msgs: Vec<MsgId>, copy: bool) {
    // The account: the open mailbox's, or (in all inboxes) the current message's.
    let mailbox_of_row = state
        .list
        .rows
        .iter()
        .find(|e| msgs.contains(&e.id))
        .map(|e| e.mailbox);
    let here = state
        .list
        .mailbox
        .filter(|m| *m != ALL_INBOXES)
        .or(mailbox_of_row);
    let account = state.sidebar_all.iter().find_map(|r| match r {
        SidebarRow::Mailbox(m) if Some(m.id) == here => Some(m.account),
        _ => None,
    });
    let Some(account) = account else { return };
    let choices: Vec<_> = state
        .sidebar_all
        .iter()
        .filter_map(|r| match r {
            SidebarRow::Mailbox(m) if m.account == account && (copy || Some(m.id) != here) => {
                Some((m.id, crate::domain::sanitize::line(&m.name)))
            }
            _ => None,
        })
        .collect();
    let mut picker = Picker {
        copy,
        msgs,
        choices,
        query: String::new(),
        matches: Vec::new(),
        selected: 0,
    };
    filter(&mut picker);
    state.overlays.push(Overlay::Picker(picker));
}

/// Rank the picker's choices against its query (fuzzy, case-insensitive; all of them, in
/// order, when the query is empty).
fn filter(p: &mut Picker) {
    p.selected = 0;
    if p.query.trim().is_empty() {
        p.matches = (0..p.choices.len()).collect();
        return;
    }
    let mut matcher = Matcher::new(Config::DEFAULT.match_paths());
    let pattern = Pattern::parse(&p.query, CaseMatching::Ignore, Normalization::Smart);
    let names: Vec<(usize, &str)> = p
        .choices
        .iter()
        .enumerate()
        .map(|(i, (_, n))| (i, n.as_str()))
        .collect();
    let mut scored: Vec<(usize, u32)> = names
        .iter()
        .filter_map(|(i, n)| {
            let mut buf = Vec::new();
            pattern
                .score(nucleo_matcher::Utf32Str::new(n, &mut buf), &mut matcher)
                .map(|s| (*i, s))
        })
        .collect();
    // Best first; equal scores keep the sidebar's order.
    scored.sort_by_key(|(i, s)| (std::cmp::Reverse(*s), *i));
    p.matches = scored.into_iter().map(|(i, _)| i).collect();
}

/// A key typed while the question is asked (on top): any answer closes it.
pub fn on_confirm_typed(state: &mut AppState, chord: KeyChord, cmds: &mut Vec<Cmd>) {
    state.notice = None;
    let Some(Overlay::Confirm(c)) = state.overlays.pop() else {
        return;
    };
    if matches!(chord.key, Key::Char('y') | Key::Char('Y') | Key::Enter) && !chord.ctrl {
        cmds.push(c.cmd);
        selection_used(state);
    } else {
        state.notice = Some("nothing was deleted".into());
    }
}

/// A key typed into the folder picker (on top).
pub fn on_picker_typed(state: &mut AppState, chord: KeyChord, cmds: &mut Vec<Cmd>) {
    state.notice = None;
    let Some(Overlay::Picker(p)) = state.overlays.top_mut() else {
        return;
    };
    let ctrl = chord.ctrl;
    match chord.key {
        Key::Esc => {
            state.overlays.pop();
        }
        Key::Char('c') if ctrl => {
            state.overlays.pop();
        }
        Key::Enter => {
            let Some(&i) = p.matches.get(p.selected) else {
                return;
            };
            let (id, _) = p.choices[i];
            let (msgs, copy) = (std::mem::take(&mut p.msgs), p.copy);
            state.overlays.pop();
            cmds.push(Cmd::MoveTo {
                msgs,
                dest: Dest::Mailbox(id),
                copy,
                what: if copy { "copied" } else { "moved" }.into(),
            });
            selection_used(state);
        }
        Key::Down | Key::Tab => {
            p.selected = (p.selected + 1).min(p.matches.len().saturating_sub(1))
        }
        Key::Char('n' | 'j') if ctrl => {
            p.selected = (p.selected + 1).min(p.matches.len().saturating_sub(1))
        }
        Key::Up | Key::BackTab => p.selected = p.selected.saturating_sub(1),
        Key::Char('p' | 'k') if ctrl => p.selected = p.selected.saturating_sub(1),
        Key::Backspace => {
            p.query.pop();
            filter(p);
        }
        Key::Char('u') if ctrl => {
            p.query.clear();
            filter(p);
        }
        Key::Char(c) if !ctrl && !chord.alt && !c.is_control() => {
            p.query.push(c);
            filter(p);
        }
        _ => {}
    }
}

/// Ids of the list rows `lo..=hi` when they are at hand: the threaded order is all in memory
/// (a folded thread's row stands for its whole thread); a flat list only for its loaded window.
fn ids_in(state: &AppState, lo: u32, hi: u32) -> Option<Vec<MsgId>> {
    let list = &state.list;
    if let Some(visible) = &list.visible {
        let mut out = Vec::new();
        for row in visible
            .iter()
            .skip(lo as usize)
            .take((hi - lo + 1) as usize)
        {
            if row.head && list.folded.contains(&row.thread) {
                out.extend(
                    list.threads
                        .iter()
                        .filter(|t| t.thread == row.thread)
                        .map(|t| t.id),
                );
            } else {
                out.push(row.id);
            }
        }
        return Some(out);
    }
    list.has_rows(lo, hi + 1).then(|| {
        (lo..=hi)
            .filter_map(|i| list.row(i).map(|e| e.id))
            .collect()
    })
}

/// In visual mode, the selection is what it was before plus the rows from the anchor to the
/// cursor.
pub fn extend_visual(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let Some(v) = &state.list.visual else { return };
    if state.list.total == 0 {
        return;
    }
    let sel = state.list.selected.min(state.list.total - 1);
    let range = (v.anchor.min(sel), v.anchor.max(sel));
    if range == v.range {
        return;
    }
    if let Some(v) = &mut state.list.visual {
        v.range = range;
    }
    match ids_in(state, range.0, range.1) {
        Some(ids) => set_visual(state, ids),
        None => {
            let Some(mailbox) = state.list.mailbox else {
                return;
            };
            let req = state.next_req();
            state.list.mark_req = Some((req, MarkMode::Visual));
            cmds.push(Cmd::MarkRange {
                req,
                mailbox,
                offset: range.0,
                limit: range.1 - range.0 + 1,
            });
        }
    }
}

fn set_visual(state: &mut AppState, ids: Vec<MsgId>) {
    if let Some(v) = &state.list.visual {
        let mut marked = v.base.clone();
        marked.extend(ids);
        state.list.marked = marked;
    }
}

fn toggle(state: &mut AppState, ids: Vec<MsgId>) {
    let marked = &mut state.list.marked;
    if ids.iter().all(|id| marked.contains(id)) {
        for id in &ids {
            marked.remove(id);
        }
    } else {
        marked.extend(ids);
    }
}

/// Ids read for selection arrived.
pub fn on_marked(state: &mut AppState, req: RequestId, ids: Vec<MsgId>) {
    match state.list.mark_req {
        Some((r, mode)) if r == req => {
            state.list.mark_req = None;
            match mode {
                MarkMode::Visual => set_visual(state, ids),
                MarkMode::Toggle => toggle(state, ids),
            }
        }
        _ => {} // stale: the list changed since
    }
}

/// Select every message of the list (or none, when all are selected).
fn select_all(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let total = state.list.total;
    if total == 0 {
        return;
    }
    state.list.visual = None;
    match ids_in(state, 0, total - 1) {
        Some(ids) => toggle(state, ids),
        None => {
            let Some(mailbox) = state.list.mailbox else {
                return;
            };
            let req = state.next_req();
            state.list.mark_req = Some((req, MarkMode::Toggle));
            cmds.push(Cmd::MarkRange {
                req,
                mailbox,
                offset: 0,
                limit: total,
            });
        }
    }
}

/// Select the current message's whole thread (or unselect it).
fn select_thread(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let Some(row) = state.list.selected_row() else {
        return;
    };
    let (id, thread) = (row.id, row.thread);
    if let Some(visible) = &state.list.visible {
        let Some(t) = visible.get(state.list.selected as usize).map(|t| t.thread) else {
            return;
        };
        let ids: Vec<MsgId> = state
            .list
            .threads
            .iter()
            .filter(|r| r.thread == t)
            .map(|r| r.id)
            .collect();
        toggle(state, ids);
        return;
    }
    let (Some(mailbox), Some(thread)) = (state.list.mailbox, thread) else {
        toggle(state, vec![id]);
        return;
    };
    let req = state.next_req();
    state.list.mark_req = Some((req, MarkMode::Toggle));
    cmds.push(Cmd::MarkThread {
        req,
        mailbox,
        thread,
    });
}
