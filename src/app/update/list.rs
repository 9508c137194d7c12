//! The message list: the loaded window of rows around what is visible (flat by position,
//! threaded by id), read again when the cache changes, and threads folded.

use super::super::layout;
use super::super::msg::{Cmd, Msg};
use super::super::state::{AppState, ListState, Pane};
use super::{MARGIN_PAGES, open_selected, search, toggle_sidebar_fold};
use crate::domain::keys::Action;
use crate::domain::{Anchor, MailboxId, RequestId};

/// The rows of the open list arrived: a window of envelopes, or the threaded order.
pub fn on_msg(state: &mut AppState, msg: Msg, cmds: &mut Vec<Cmd>) {
    match msg {
        Msg::EnvelopesLoaded {
            req,
            mailbox,
            offset,
            total,
            rows,
        } => {
            if state.list.loading != Some(req) || state.list.mailbox != Some(mailbox) {
                return; // a stale answer
            }
            let before = state.list.selected_row().map(|e| e.id);
            // On the top row (and not reading it), the list follows new arrivals: the
            // newest message stays selected at the top, as the user left it.
            let follow_top = state.list.selected == 0
                && state.list.top == 0
                && state.focus != Pane::Reader
                && !state.fullscreen;
            state.list.loading = None;
            state.list.total = total;
            state.list.window_offset = offset;
            state.list.rows = rows;
            // The message open in the reader shows its Gmail labels as they are now (they
            // change on the server; the reader keeps the rest of the envelope it opened with).
            if let Some(r) = state.reader.as_mut()
                && let Some(e) = state.list.rows.iter().find(|e| e.id == r.msg)
            {
                r.envelope.labels.clone_from(&e.labels);
            }
            // Elsewhere, new mail above the selection must not move it: it follows the
            // selected message.
            if let Some(id) = before.filter(|_| !follow_top)
                && let Some(i) = state.list.rows.iter().position(|e| e.id == id)
            {
                let now_at = offset + i as u32;
                let shift = i64::from(now_at) - i64::from(state.list.selected);
                state.list.selected = now_at;
                state.list.top = (i64::from(state.list.top) + shift).max(0) as u32;
            }
            state.list.selected = state.list.selected.min(total.saturating_sub(1));
            ensure_visible(state, cmds);
            let after = state.list.selected_row().map(|e| e.id);
            if after != before || state.reader.is_none() {
                open_selected(state, cmds);
            }
            if std::mem::take(&mut state.list.stale) {
                reload_list(state, cmds);
            }
        }
        Msg::ThreadsLoaded { req, mailbox, rows } => {
            if state.list.loading != Some(req) || state.list.mailbox != Some(mailbox) {
                return;
            }
            let visible = crate::domain::thread::visible(&rows, &state.list.folded);
            state.list.total = visible.len() as u32;
            state.list.threads = rows;
            state.list.visible = Some(visible);
            reload_window(state, cmds);
        }
        _ => {}
    }
}

/// A key binding for the message list: the next message, threads, folds, marks.
pub fn on_action(state: &mut AppState, action: Action, cmds: &mut Vec<Cmd>) {
    match action {
        Action::NextMessage | Action::PrevMessage => {
            let step: i64 = if action == Action::NextMessage { 1 } else { -1 };
            let target = (i64::from(state.list.selected) + step)
                .clamp(0, i64::from(state.list.total.saturating_sub(1)));
            if target as u32 != state.list.selected {
                state.list.selected = target as u32;
                ensure_visible(state, cmds);
                open_selected(state, cmds);
            }
        }
        Action::ToggleThreads => {
            state.threaded = !state.threaded;
            let list = &mut state.list;
            list.threads.clear();
            list.visible = None;
            list.rows.clear();
            list.loading = None;
            list.selected = 0;
            list.top = 0;
            reload_list(state, cmds);
        }
        Action::ToggleFold if state.focus == Pane::Mailboxes => toggle_sidebar_fold(state),
        Action::ToggleFold => toggle_fold(state, cmds),
        Action::ToggleSelect => {
            if let Some(e) = state.list.selected_row() {
                let id = e.id;
                if !state.list.marked.remove(&id) {
                    state.list.marked.insert(id);
                }
                super::on_action(state, Action::Down, cmds);
            }
        }
        _ => {}
    }
}

/// Fold the selected row's thread to its first row, or unfold it; the selection goes to the
/// thread's first row.
pub fn toggle_fold(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let list = &mut state.list;
    let Some(visible) = &list.visible else { return };
    let Some(row) = visible.get(list.selected as usize) else {
        return;
    };
    let thread = row.thread;
    if row.size < 2 {
        return;
    }
    if !list.folded.remove(&thread) {
        list.folded.insert(thread);
    }
    let visible = crate::domain::thread::visible(&list.threads, &list.folded);
    list.selected = visible
        .iter()
        .position(|r| r.thread == thread && r.head)
        .unwrap_or(0) as u32;
    list.total = visible.len() as u32;
    list.visible = Some(visible);
    // Positions moved: the loaded window no longer matches them.
    list.rows.clear();
    list.window_offset = 0;
    list.loading = None;
    ensure_visible(state, cmds);
    if state.list.loading.is_none() {
        reload_window(state, cmds);
    }
}

pub fn open_mailbox(state: &mut AppState, mailbox: MailboxId, cmds: &mut Vec<Cmd>) {
    let req = state.next_req();
    let page = layout::list_rows(state.size, state.layout);
    state.list = ListState {
        mailbox: Some(mailbox),
        loading: Some(req),
        ..ListState::default()
    };
    state.reader = None;
    if state.threaded {
        cmds.push(Cmd::LoadThreads { req, mailbox });
    } else {
        cmds.push(Cmd::LoadEnvelopes {
            req,
            mailbox,
            offset: 0,
            limit: page * (1 + 2 * MARGIN_PAGES),
            anchor: None,
        });
    }
    cmds.push(Cmd::WatchMailbox { mailbox });
}

/// The command that reads rows `[offset, offset + limit)` of the open list: by position in the
/// flat view, by id from the threaded order in the threaded one.
fn window_cmd(
    list: &ListState,
    req: RequestId,
    mailbox: MailboxId,
    offset: u32,
    limit: u32,
) -> Cmd {
    match &list.visible {
        Some(rows) => {
            let from = (offset as usize).min(rows.len());
            let to = (from + limit as usize).min(rows.len());
            Cmd::LoadEnvelopesByIds {
                req,
                mailbox,
                offset,
                total: rows.len() as u32,
                ids: rows[from..to].iter().map(|r| r.id).collect(),
            }
        }
        None => Cmd::LoadEnvelopes {
            req,
            mailbox,
            offset,
            limit,
            anchor: anchor_for(list, offset, limit),
        },
    }
}

/// The loaded row to read a window from: the last one when the window lies below the loaded
/// rows, the first when above, none when they overlap (or nothing is loaded).
fn anchor_for(list: &ListState, offset: u32, limit: u32) -> Option<Anchor> {
    let (first, last) = (list.rows.first()?, list.rows.last()?);
    let end = list.window_offset + list.rows.len() as u32;
    let (row, index) = if offset >= end {
        (last, end - 1)
    } else if offset + limit <= list.window_offset {
        (first, list.window_offset)
    } else {
        return None;
    };
    Some(Anchor {
        index,
        date: row.date,
        id: row.id,
    })
}

/// Read the visible window again from the threaded order just computed (the total changed).
pub fn reload_window(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let Some(mailbox) = state.list.mailbox else {
        return;
    };
    let req = state.next_req();
    let page = layout::list_rows(state.size, state.layout);
    state.list.loading = Some(req);
    let offset = state.list.top.saturating_sub(page * MARGIN_PAGES);
    cmds.push(window_cmd(
        &state.list,
        req,
        mailbox,
        offset,
        page * (1 + 2 * MARGIN_PAGES),
    ));
}

/// Scroll so the selection is visible, and ask for rows that are visible but not loaded.
pub fn ensure_visible(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let page = layout::list_rows(state.size, state.layout);
    let list = &mut state.list;
    if list.selected < list.top {
        list.top = list.selected;
    } else if list.selected >= list.top + page {
        list.top = list.selected + 1 - page;
    }
    let max_top = list.total.saturating_sub(page);
    list.top = list.top.min(max_top);
    let Some(mailbox) = list.mailbox else { return };
    if list.loading.is_none() && !list.has_rows(list.top, list.top + page) {
        let req = state.next_req();
        let list = &mut state.list;
        list.loading = Some(req);
        let offset = list.top.saturating_sub(page * MARGIN_PAGES);
        cmds.push(window_cmd(
            list,
            req,
            mailbox,
            offset,
            page * (1 + 2 * MARGIN_PAGES),
        ));
    }
}

/// Read the visible window of the open list again (the cache changed under it).
pub fn reload_list(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    if state.search.as_ref().is_some_and(|s| s.req.is_some()) {
        search::run(state, cmds);
        return;
    }
    let Some(mailbox) = state.list.mailbox else {
        return;
    };
    if state.list.loading.is_some() {
        // Read again once the answer in flight is in: it may predate the change.
        state.list.stale = true;
        return;
    }
    if state.threaded {
        let req = state.next_req();
        state.list.loading = Some(req);
        cmds.push(Cmd::LoadThreads { req, mailbox });
    } else {
        reload_window(state, cmds);
    }
}
