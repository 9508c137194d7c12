//! `update`: the pure state machine. No I/O, no .await: it changes the state and returns the
//! commands for the effects runner.

use super::layout;
use super::msg::{Cmd, Msg};
use super::state::{AppState, ListState, Pane, ReaderState, SidebarRow};
use crate::config::Layout;
use crate::domain::keys::Action;
use crate::domain::message::MAX_DISPLAY_BYTES;
use crate::domain::{ALL_INBOXES, Account, AccountId, Anchor, Mailbox, MailboxId, Role};
use crate::store::FlagName;

/// Rows loaded on each side of the visible page, so scrolling rarely waits for the cache.
const MARGIN_PAGES: u32 = 1;

pub fn update(state: &mut AppState, msg: Msg) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    match msg {
        Msg::ActionTriggered(action) => {
            state.notice = None;
            on_action(state, action, &mut cmds);
            triage::extend_visual(state, &mut cmds);
        }
        Msg::Resized(size) => {
            state.size = size;
            ensure_visible(state, &mut cmds);
            relayout_reader(state, &mut cmds);
        }
        Msg::Clicked { x, y } => on_click(state, x, y, &mut cmds),
        Msg::Scrolled { x, y, down } => on_wheel(state, x, y, down, &mut cmds),
        Msg::Ticked { now, utc_offset } => {
            state.clock.now = now;
            state.clock.utc_offset = utc_offset;
            compose::autosave(state, &mut cmds);
        }
        Msg::MailboxesLoaded {
            accounts,
            mailboxes,
        } => on_mailboxes(state, accounts, mailboxes, &mut cmds),
        Msg::EnvelopesLoaded {
            req,
            mailbox,
            offset,
            total,
            rows,
        } => {
            if state.list.loading != Some(req) || state.list.mailbox != Some(mailbox) {
                return cmds; // a stale answer
            }
            let before = state.list.selected_row().map(|e| e.id);
            state.list.loading = None;
            state.list.total = total;
            state.list.window_offset = offset;
            state.list.rows = rows;
            // New mail above the selection must not move it: follow the selected message.
            if let Some(id) = before
                && let Some(i) = state.list.rows.iter().position(|e| e.id == id)
            {
                let now_at = offset + i as u32;
                let shift = i64::from(now_at) - i64::from(state.list.selected);
                state.list.selected = now_at;
                state.list.top = (i64::from(state.list.top) + shift).max(0) as u32;
            }
            state.list.selected = state.list.selected.min(total.saturating_sub(1));
            ensure_visible(state, &mut cmds);
            let after = state.list.selected_row().map(|e| e.id);
            if after != before || state.reader.is_none() {
                open_selected(state, &mut cmds);
            }
            if std::mem::take(&mut state.list.stale) {
                reload_list(state, &mut cmds);
            }
        }
        Msg::ThreadsLoaded { req, mailbox, rows } => {
            if state.list.loading != Some(req) || state.list.mailbox != Some(mailbox) {
                return cmds;
            }
            let visible = crate::domain::thread::visible(&rows, &state.list.folded);
            state.list.total = visible.len() as u32;
            state.list.threads = rows;
            state.list.visible = Some(visible);
            reload_window(state, &mut cmds);
        }
        Msg::MessageLoaded {
            req,
            msg,
            view,
            partial,
        } => {
            if let Some(r) = &mut state.reader
                && r.loading == Some(req)
                && r.msg == msg
            {
                r.loading = None;
                r.view = view.map(|v| *v);
                if (r.view.is_none() || partial) && !r.fetching && r.body_error.is_none() {
                    r.fetching = true;
                    cmds.push(Cmd::FetchBody { msg });
                }
            }
        }
        Msg::BodyFetched { msg } => {
            if state.reader.as_ref().is_some_and(|r| r.msg == msg) {
                reload_message(state, &mut cmds);
            }
        }
        Msg::BodyFailed { msg, error } => {
            if let Some(r) = &mut state.reader
                && r.msg == msg
            {
                r.fetching = false;
                r.body_error = Some(error);
            }
        }
        Msg::AccountStateChanged {
            account,
            state: conn,
        } => match state.accounts_state.iter_mut().find(|(a, _)| *a == account) {
            Some(slot) => slot.1 = conn,
            None => state.accounts_state.push((account, conn)),
        },
        Msg::CacheChanged { mailbox } => {
            cmds.push(Cmd::LoadMailboxes);
            // The all-inboxes list shows several mailboxes: any change may be in it.
            if mailbox.is_none()
                || mailbox == state.list.mailbox
                || state.list.mailbox == Some(ALL_INBOXES)
                || state.search.is_some()
            {
                reload_list(state, &mut cmds);
            }
        }
        Msg::Failed(text) => state.error = Some(text),
        Msg::Notice(text) => state.notice = Some(text),
        Msg::ActionLogLoaded(entries) => state.action_log = Some(entries),
        Msg::ActionDone { notice, undo } => {
            if !notice.is_empty() {
                state.notice = Some(notice);
            }
            if let Some(u) = undo {
                state.undo.push(u);
                let excess = state.undo.len().saturating_sub(triage::UNDO_DEPTH);
                state.undo.drain(..excess);
            }
            cmds.push(Cmd::LoadMailboxes);
            reload_list(state, &mut cmds);
        }
        Msg::Marked { req, ids } => triage::on_marked(state, req, ids),
        m @ (Msg::ComposeStarted(_)
        | Msg::ComposeFileWritten
        | Msg::EditorClosed { .. }
        | Msg::ComposeEdited(_)
        | Msg::Attached(_)
        | Msg::PathCompleted { .. }
        | Msg::Suggestions { .. }
        | Msg::Autosaved { .. }
        | Msg::ComposeQueued { .. }) => compose::on_msg(state, m, &mut cmds),
        m @ (Msg::Searched { .. } | Msg::ServerSearched { .. } | Msg::ServerHits { .. }) => {
            search::on_msg(state, m, &mut cmds)
        }
        Msg::Typed(chord) if state.command_line.is_some() => {
            search::on_command_typed(state, chord, &mut cmds)
        }
        Msg::Typed(chord) if state.search.as_ref().is_some_and(|s| s.typing) => {
            search::on_typed(state, chord, &mut cmds)
        }
        Msg::Typed(chord) if state.confirm.is_none() && state.picker.is_none() => {
            state.interrupt_armed = false;
            compose::on_typed(state, chord, &mut cmds)
        }
        Msg::Typed(chord) => triage::on_typed(state, chord, &mut cmds),
        Msg::ReadDelayElapsed { msg } => {
            let unread = state.list.rows.iter().any(|e| e.id == msg && !e.flags.seen);
            if unread && state.reader.as_ref().is_some_and(|r| r.msg == msg) {
                mark_read(state, msg, &mut cmds);
            }
        }
        Msg::QuitRequested => state.quit = true,
        Msg::Interrupted if state.compose.is_some() && !state.interrupt_armed => {
            state.interrupt_armed = true;
            state.notice = Some(
                "ctrl-c again quits: what is not saved as a draft is lost (s saves it)".into(),
            );
        }
        Msg::Interrupted => state.quit = true,
    }
    cmds
}

fn on_action(state: &mut AppState, action: Action, cmds: &mut Vec<Cmd>) {
    if state.help_visible {
        // The overlay takes every key; these close it.
        if matches!(action, Action::Help | Action::Back | Action::Quit) {
            state.help_visible = false;
        }
        return;
    }
    if state.action_log.is_some() {
        // The log overlay takes every key; these close it.
        if matches!(action, Action::ActionLog | Action::Back | Action::Quit) {
            state.action_log = None;
        }
        return;
    }
    if let Some(sel) = state.attachments_overlay {
        let (msg, count) = match state.reader.as_ref() {
            Some(r) => (r.msg, r.view.as_ref().map_or(0, |v| v.attachments.len())),
            None => return,
        };
        match action {
            Action::Down => {
                state.attachments_overlay = Some((sel + 1).min(count.saturating_sub(1)));
            }
            Action::Up => state.attachments_overlay = Some(sel.saturating_sub(1)),
            Action::Open => {
                cmds.push(Cmd::OpenAttachment { msg, index: sel });
                state.attachments_overlay = None;
            }
            Action::Save => {
                cmds.push(Cmd::SaveAttachment { msg, index: sel });
                state.attachments_overlay = None;
            }
            Action::Back | Action::Quit | Action::Attachments => state.attachments_overlay = None,
            _ => {}
        }
        return;
    }
    if let Some(sel) = state.links_overlay {
        let links = state
            .reader
            .as_ref()
            .and_then(|r| r.view.as_ref())
            .map(|v| v.links.as_slice())
            .unwrap_or_default();
        match action {
            Action::Down => {
                state.links_overlay = Some((sel + 1).min(links.len().saturating_sub(1)))
            }
            Action::Up => state.links_overlay = Some(sel.saturating_sub(1)),
            Action::Open => {
                if let Some(url) = links.get(sel) {
                    cmds.push(Cmd::OpenUrl { url: url.clone() });
                }
                state.links_overlay = None;
            }
            Action::Back | Action::Quit | Action::OpenLink => state.links_overlay = None,
            _ => {}
        }
        return;
    }
    let list_page = layout::list_rows(state.size, state.layout);
    match action {
        Action::Quit => state.quit = true,
        Action::Help => state.help_visible = true,
        Action::NextPane => {
            state.focus = match state.focus {
                Pane::Mailboxes => Pane::Messages,
                Pane::Messages => Pane::Reader,
                Pane::Reader => Pane::Mailboxes,
            }
        }
        Action::PrevPane => {
            state.focus = match state.focus {
                Pane::Mailboxes => Pane::Reader,
                Pane::Messages => Pane::Mailboxes,
                Pane::Reader => Pane::Messages,
            }
        }
        Action::Open => {
            state.focus = match state.focus {
                Pane::Mailboxes => Pane::Messages,
                _ => Pane::Reader,
            }
        }
        Action::Back if state.fullscreen => state.fullscreen = false,
        Action::Back
            if (!state.list.marked.is_empty() || state.list.visual.is_some())
                && state.focus == Pane::Messages =>
        {
            state.list.marked.clear();
            state.list.visual = None;
        }
        Action::Back if state.search.is_some() && state.focus != Pane::Reader => {
            search::end(state, cmds)
        }
        Action::Back => {
            state.focus = match state.focus {
                Pane::Reader => Pane::Messages,
                _ => Pane::Mailboxes,
            }
        }
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
        Action::Fullscreen => {
            state.fullscreen = !state.fullscreen;
            if state.fullscreen {
                state.focus = Pane::Reader;
            }
            relayout_reader(state, cmds);
        }
        Action::FullHeaders => {
            state.full_headers = !state.full_headers;
            reset_reader_scroll(state);
        }
        Action::Source => {
            state.show_source = !state.show_source;
            reset_reader_scroll(state);
        }
        Action::ToggleLayout => {
            state.layout = if layout::is_wide(state.size, state.layout) {
                Layout::Tall
            } else {
                Layout::Wide
            };
            ensure_visible(state, cmds);
            relayout_reader(state, cmds);
        }
        Action::Suspend => state.suspend = true,
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
        Action::Attachments => {
            if state
                .reader
                .as_ref()
                .and_then(|r| r.view.as_ref())
                .is_some_and(|v| !v.attachments.is_empty())
            {
                state.attachments_overlay = Some(0);
            }
        }
        Action::Save => {}
        Action::ToggleSelect => {
            if let Some(e) = state.list.selected_row() {
                let id = e.id;
                if !state.list.marked.remove(&id) {
                    state.list.marked.insert(id);
                }
                on_action(state, Action::Down, cmds);
            }
        }
        Action::ActionLog => cmds.push(Cmd::LoadActionLog),
        Action::Filter => search::start(state, false, None, cmds),
        Action::Search => search::start(state, true, None, cmds),
        Action::CommandLine => state.command_line = Some(String::new()),
        Action::Delete
        | Action::Archive
        | Action::Junk
        | Action::MoveTo
        | Action::CopyTo
        | Action::Undo
        | Action::VisualSelect
        | Action::SelectThread
        | Action::SelectAll => triage::on_action(state, action, cmds),
        Action::Compose
        | Action::Reply
        | Action::ReplyAll
        | Action::Forward
        | Action::ForwardAttached
        | Action::EditDraft => compose::on_action(state, action, cmds),
        Action::ToggleRead => toggle_flag(state, FlagName::Seen, cmds),
        Action::ToggleFlag => toggle_flag(state, FlagName::Flagged, cmds),
        Action::OpenLink => {
            if state
                .reader
                .as_ref()
                .and_then(|r| r.view.as_ref())
                .is_some_and(|v| !v.links.is_empty())
            {
                state.links_overlay = Some(0);
            }
        }
        motion => match state.focus {
            Pane::Mailboxes => {
                let len = state.sidebar.len() as i64;
                let target = moved(state.sidebar_selected as i64, len, motion, list_page as i64);
                select_sidebar(state, target as usize, cmds);
            }
            Pane::Messages => {
                let total = i64::from(state.list.total);
                let target = moved(
                    i64::from(state.list.selected),
                    total,
                    motion,
                    list_page as i64,
                );
                if target as u32 != state.list.selected {
                    state.list.selected = target as u32;
                    ensure_visible(state, cmds);
                    open_selected(state, cmds);
                }
            }
            Pane::Reader => {
                let page = layout::reader_rows(state.size, state.layout, state.fullscreen);
                let (source, full) = (state.show_source, state.full_headers);
                if let Some(r) = &mut state.reader {
                    // Roughly the lines the reader shows (wrapping aside): enough to scroll to
                    // the end.
                    let lines = r
                        .view
                        .as_ref()
                        .map(|v| {
                            let headers = if full {
                                v.raw[..v.header_len].lines().count()
                            } else {
                                6
                            };
                            let n = if source && v.raw.len() > MAX_DISPLAY_BYTES {
                                // Drawn cut into rows of the pane's width (see ui::reader).
                                let w = usize::from(r.width.max(1));
                                v.raw.lines().map(|l| l.chars().count() / w + 1).sum()
                            } else if source {
                                v.raw.lines().count()
                            } else {
                                v.body.lines().count()
                                    + v.attachments.len()
                                    + headers
                                    + 2
                                    + usize::from(v.cut > 0)
                            };
                            n as i64
                        })
                        .unwrap_or(0);
                    r.scroll =
                        moved(i64::from(r.scroll), lines.max(1), motion, i64::from(page)) as u16;
                }
            }
        },
    }
}

/// A click selects what is under it: a mailbox, a message, or the reader pane.
fn on_click(state: &mut AppState, x: u16, y: u16, cmds: &mut Vec<Cmd>) {
    if state.help_visible
        || state.links_overlay.is_some()
        || state.attachments_overlay.is_some()
        || state.action_log.is_some()
    {
        return;
    }
    let a = layout::areas(state.size, state.layout, state.fullscreen);
    if let Some(row) = layout::row_in(a.sidebar, x, y) {
        let height = a.sidebar.height.saturating_sub(2) as usize;
        let index = layout::sidebar_start(state.sidebar_selected, height) + usize::from(row);
        if index < state.sidebar.len() {
            state.focus = Pane::Mailboxes;
            select_sidebar(state, index, cmds);
        }
    } else if let Some(row) = layout::row_in(a.list, x, y) {
        let index = state.list.top + u32::from(row);
        if index < state.list.total {
            state.focus = Pane::Messages;
            state.list.selected = index;
            ensure_visible(state, cmds);
            open_selected(state, cmds);
        }
    } else if layout::row_in(a.reader, x, y).is_some() {
        state.focus = Pane::Reader;
    }
}

/// The wheel moves the selection (three rows) or scrolls the reader, in the pane under it.
fn on_wheel(state: &mut AppState, x: u16, y: u16, down: bool, cmds: &mut Vec<Cmd>) {
    if state.help_visible
        || state.links_overlay.is_some()
        || state.attachments_overlay.is_some()
        || state.action_log.is_some()
    {
        return;
    }
    let a = layout::areas(state.size, state.layout, state.fullscreen);
    let step = if down { Action::Down } else { Action::Up };
    let (pane, times) = if layout::row_in(a.sidebar, x, y).is_some() {
        (Pane::Mailboxes, 1)
    } else if layout::row_in(a.list, x, y).is_some() {
        (Pane::Messages, 3)
    } else if layout::row_in(a.reader, x, y).is_some() {
        (Pane::Reader, 3)
    } else {
        return;
    };
    let focus = std::mem::replace(&mut state.focus, pane);
    for _ in 0..times {
        on_action(state, step, cmds);
    }
    // Scrolling a pane does not move the keyboard focus.
    state.focus = focus;
}

/// Flip a flag on the selection, or on the current message when nothing is selected: the rows
/// change at once, the cache and the server follow. With a selection, the flag is set unless
/// every loaded selected row has it already.
fn toggle_flag(state: &mut AppState, flag: FlagName, cmds: &mut Vec<Cmd>) {
    let get = |e: &crate::domain::Envelope| flag.is_set(&e.flags);
    let list = &mut state.list;
    let targets: Vec<crate::domain::MsgId> = if list.marked.is_empty() {
        match list.selected_row() {
            Some(e) => vec![e.id],
            None => return,
        }
    } else {
        list.marked.iter().copied().collect()
    };
    let on = !list
        .rows
        .iter()
        .filter(|e| targets.contains(&e.id))
        .all(get);
    for e in list.rows.iter_mut().filter(|e| targets.contains(&e.id)) {
        match flag {
            FlagName::Seen => e.flags.seen = on,
            FlagName::Flagged => e.flags.flagged = on,
            FlagName::Answered => e.flags.answered = on,
            FlagName::Forwarded => {
                e.flags.keywords.retain(|k| k != "$Forwarded");
                if on {
                    e.flags.keywords.push("$Forwarded".into());
                }
            }
        }
    }
    cmds.push(Cmd::SetFlag {
        msgs: targets,
        flag,
        on,
        undoable: true,
    });
}

/// Fold the selected row's thread to its first row, or unfold it; the selection goes to the
/// thread's first row.
fn toggle_fold(state: &mut AppState, cmds: &mut Vec<Cmd>) {
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

fn reset_reader_scroll(state: &mut AppState) {
    if let Some(r) = &mut state.reader {
        r.scroll = 0;
    }
}

/// A new position after a motion, clamped to `0..len`.
fn moved(pos: i64, len: i64, motion: Action, page: i64) -> i64 {
    let target = match motion {
        Action::Down => pos + 1,
        Action::Up => pos - 1,
        Action::Top => 0,
        Action::Bottom => len - 1,
        Action::HalfPageDown => pos + (page / 2).max(1),
        Action::HalfPageUp => pos - (page / 2).max(1),
        Action::PageDown => pos + page.max(1),
        Action::PageUp => pos - page.max(1),
        _ => pos,
    };
    target.clamp(0, (len - 1).max(0))
}

fn select_sidebar(state: &mut AppState, index: usize, cmds: &mut Vec<Cmd>) {
    state.sidebar_selected = index;
    if let Some(SidebarRow::Mailbox(m)) = state.sidebar.get(index) {
        let id = m.id;
        if state.list.mailbox != Some(id) || state.search.is_some() {
            // Another folder ends a search.
            state.search = None;
            open_mailbox(state, id, cmds);
        }
    }
}

fn open_mailbox(state: &mut AppState, mailbox: MailboxId, cmds: &mut Vec<Cmd>) {
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
fn window_cmd(list: &ListState, req: u64, mailbox: MailboxId, offset: u32, limit: u32) -> Cmd {
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
fn reload_window(state: &mut AppState, cmds: &mut Vec<Cmd>) {
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
fn ensure_visible(state: &mut AppState, cmds: &mut Vec<Cmd>) {
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

/// Read the open message again (its body arrived, or the reader's width changed).
fn reload_message(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let width = layout::reader_cols(state.size, state.layout, state.fullscreen);
    let req = state.next_req();
    if let Some(r) = &mut state.reader {
        r.loading = Some(req);
        r.width = width;
        cmds.push(Cmd::LoadMessage {
            req,
            msg: r.msg,
            width,
        });
    }
}

/// Lay an HTML body out again when the reader's width changed.
fn relayout_reader(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let width = layout::reader_cols(state.size, state.layout, state.fullscreen);
    if state.reader.as_ref().is_some_and(|r| {
        r.width != width && r.loading.is_none() && r.view.as_ref().is_some_and(|v| v.rich.is_some())
    }) {
        reload_message(state, cmds);
    }
}

/// Show the selected message in the reader.
fn open_selected(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let Some(env) = state.list.selected_row().cloned() else {
        state.reader = None;
        return;
    };
    if state.reader.as_ref().map(|r| r.msg) == Some(env.id) {
        return;
    }
    let req = state.next_req();
    state.links_overlay = None;
    state.attachments_overlay = None;
    if state.mark_read_on_open && !env.flags.seen {
        if state.mark_read_delay_ms > 0 {
            cmds.push(Cmd::MarkReadLater {
                msg: env.id,
                after_ms: state.mark_read_delay_ms,
            });
        } else {
            mark_read(state, env.id, cmds);
        }
    }
    let width = layout::reader_cols(state.size, state.layout, state.fullscreen);
    cmds.push(Cmd::LoadMessage {
        req,
        msg: env.id,
        width,
    });
    state.reader = Some(ReaderState {
        width,
        msg: env.id,
        envelope: env,
        view: None,
        loading: Some(req),
        scroll: 0,
        fetching: false,
        body_error: None,
    });
}

/// Mark a message read because it was opened (not an undoable user action).
fn mark_read(state: &mut AppState, msg: crate::domain::MsgId, cmds: &mut Vec<Cmd>) {
    if let Some(row) = state.list.rows.iter_mut().find(|e| e.id == msg) {
        row.flags.seen = true;
    }
    cmds.push(Cmd::SetFlag {
        msgs: vec![msg],
        flag: FlagName::Seen,
        on: true,
        undoable: false,
    });
}

/// Read the visible window of the open list again (the cache changed under it).
fn reload_list(state: &mut AppState, cmds: &mut Vec<Cmd>) {
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

/// Sort key that puts mailboxes in tree order: at each level, role mailboxes first in role
/// order, then the rest alphabetically; children right after their parent.
fn tree_key(m: &Mailbox, all: &[Mailbox]) -> Vec<(usize, String)> {
    let parts: Vec<&str> = match m.delimiter {
        Some(d) => m.name.split(d).collect(),
        None => vec![m.name.as_str()],
    };
    let mut key = Vec::with_capacity(parts.len());
    for i in 0..parts.len() {
        let prefix = match m.delimiter {
            Some(d) => parts[..=i].join(&d.to_string()),
            None => m.name.clone(),
        };
        let role = all
            .iter()
            .find(|x| x.account == m.account && x.name == prefix)
            .and_then(|x| x.role)
            .map(|r| {
                Role::ALL
                    .iter()
                    .position(|y| *y == r)
                    .unwrap_or(Role::ALL.len())
            })
            .unwrap_or(Role::ALL.len());
        key.push((role, parts[i].to_lowercase()));
    }
    key
}

/// Sidebar rows: each account followed by its mailboxes in tree order, with placeholder rows for
/// hierarchy levels that are not mailboxes themselves.
/// The sidebar rows on screen: all rows but those inside a folded account or folder.
fn rebuild_sidebar(state: &mut AppState) {
    state.sidebar = state
        .sidebar_all
        .iter()
        .filter(|r| !state.collapsed.iter().any(|k| r.hidden_by(k)))
        .cloned()
        .collect();
}

/// Fold or unfold the selected sidebar row (an account, or a folder with folders inside).
fn toggle_sidebar_fold(state: &mut AppState) {
    let Some(row) = state.sidebar.get(state.sidebar_selected) else {
        return;
    };
    let key = (row.fold_key().0, row.fold_key().1.to_string());
    let has_inside = state.sidebar_all.iter().any(|r| r.hidden_by(&key));
    if !state.collapsed.remove(&key) && has_inside {
        state.collapsed.insert(key.clone());
    }
    rebuild_sidebar(state);
    if let Some(i) = state
        .sidebar
        .iter()
        .position(|r| r.fold_key() == (key.0, key.1.as_str()))
    {
        state.sidebar_selected = i;
    }
}

pub fn sidebar_rows(accounts: Vec<Account>, mailboxes: &[Mailbox]) -> Vec<SidebarRow> {
    let mut rows = Vec::with_capacity(accounts.len() + mailboxes.len() + 1);
    // With several accounts, one list of every INBOX comes first.
    let inboxes: Vec<&Mailbox> = mailboxes
        .iter()
        .filter(|m| m.role == Some(Role::Inbox))
        .collect();
    if accounts.len() > 1 && inboxes.len() > 1 {
        rows.push(SidebarRow::Mailbox(Mailbox {
            id: ALL_INBOXES,
            account: AccountId(0),
            name: "All inboxes".into(),
            delimiter: None,
            role: Some(Role::Inbox),
            total: inboxes.iter().map(|m| m.total).sum(),
            unread: inboxes.iter().map(|m| m.unread).sum(),
        }));
    }
    for a in accounts {
        let id = a.id;
        rows.push(SidebarRow::Account(a));
        let mut mine: Vec<(Vec<(usize, String)>, &Mailbox)> = mailboxes
            .iter()
            .filter(|m| m.account == id)
            .map(|m| (tree_key(m, mailboxes), m))
            .collect();
        mine.sort_by(|x, y| x.0.cmp(&y.0));
        let mut emitted: std::collections::HashSet<String> =
            mine.iter().map(|(_, m)| m.name.clone()).collect();
        for (_, m) in mine {
            if let Some(d) = m.delimiter {
                let parts: Vec<&str> = m.name.split(d).collect();
                for depth in 0..parts.len().saturating_sub(1) {
                    let prefix = parts[..=depth].join(&d.to_string());
                    if emitted.insert(prefix.clone()) {
                        rows.push(SidebarRow::Parent {
                            account: id,
                            name: prefix,
                            depth,
                            delimiter: d,
                        });
                    }
                }
            }
            rows.push(SidebarRow::Mailbox(m.clone()));
        }
    }
    rows
}

fn on_mailboxes(
    state: &mut AppState,
    accounts: Vec<Account>,
    mailboxes: Vec<Mailbox>,
    cmds: &mut Vec<Cmd>,
) {
    // (A global search's list has no mailbox either.)
    let first_load = state.list.mailbox.is_none() && state.search.is_none();
    let selected_key = state
        .sidebar
        .get(state.sidebar_selected)
        .map(|r| (r.fold_key().0, r.fold_key().1.to_string()));
    state.sidebar_all = sidebar_rows(accounts, &mailboxes);
    rebuild_sidebar(state);
    let keep = selected_key.and_then(|key| {
        state
            .sidebar
            .iter()
            .position(|r| r.fold_key() == (key.0, key.1.as_str()))
    });
    match keep {
        Some(i) => state.sidebar_selected = i,
        None if !first_load => {
            state.sidebar_selected = state
                .sidebar_selected
                .min(state.sidebar.len().saturating_sub(1));
        }
        None => {}
    }
    if !first_load {
        // Counts may have changed: refresh the open list in place.
        let total = state.open_mailbox().map(|m| m.total).unwrap_or(0);
        let shown = if state.list.visible.is_some() {
            state.list.threads.len() as u32
        } else {
            state.list.total
        };
        let searching = state.search.as_ref().is_some_and(|s| s.req.is_some());
        if state.list.mailbox.is_some() && total != shown && !searching {
            reload_list(state, cmds);
        }
        return;
    }
    // Nothing open yet (first load, or the first mailboxes of a new account): the first inbox.
    let first = state
        .sidebar
        .iter()
        .position(
            |r| matches!(r, SidebarRow::Mailbox(m) if m.role == Some(Role::Inbox) && m.id != ALL_INBOXES),
        )
        .or_else(|| {
            state
                .sidebar
                .iter()
                .position(|r| matches!(r, SidebarRow::Mailbox(_)))
        });
    if let Some(i) = first {
        select_sidebar(state, i, cmds);
    }
}

mod compose;
mod search;
mod triage;

#[cfg(test)]
mod tests;
