//! Search in the list: `/` filters the list's mailbox as you type, `S` (or `:search`)
//! searches every account and folder; the results are the list until the search ends.

use super::{ensure_visible, open_mailbox, open_selected};
use crate::app::msg::{Cmd, Msg};
use crate::app::overlay::Overlay;
use crate::app::state::{AppState, ListState, Pane, SEARCH_LIMIT, SearchState, SidebarRow};
use crate::domain::keys::{Key, KeyChord};
use crate::domain::search;
use crate::domain::{ALL_INBOXES, AccountId, MailboxId, MsgId, RequestId, Role};

/// Start typing a search: a filter of the list's mailbox, or a global search. A search of
/// the same kind already on is typed on again.
pub fn start(state: &mut AppState, global: bool, query: Option<String>, cmds: &mut Vec<Cmd>) {
    state.focus = Pane::Messages;
    if let Some(s) = &mut state.search
        && s.global == global
    {
        let typing = query.is_none();
        if let Some(q) = query {
            s.input = q;
            run(state, cmds);
        }
        set_typing(state, typing);
        return;
    }
    let back_to = match &state.search {
        Some(s) => s.back_to,
        None => state.list.mailbox,
    };
    let scope = if global {
        Vec::new()
    } else {
        match back_to {
            Some(ALL_INBOXES) => state
                .sidebar_all
                .iter()
                .filter_map(|r| match r {
                    SidebarRow::Mailbox(m)
                        if m.role == Some(Role::Inbox) && m.id != ALL_INBOXES =>
                    {
                        Some(m.id)
                    }
                    _ => None,
                })
                .collect(),
            Some(m) => vec![m],
            None => return, // no list to filter
        }
    };
    state.search = Some(SearchState {
        input: String::new(),
        global,
        scope,
        back_to,
        error: None,
        req: None,
        terms: Vec::new(),
        from_server: Default::default(),
        headers_only: Vec::new(),
        asking: Vec::new(),
    });
    set_typing(state, query.is_none());
    if let Some(q) = query {
        if let Some(s) = &mut state.search {
            s.input = q;
        }
        run(state, cmds);
    }
}

/// Keys go to the query (the prompt on top), or to the list (the results stay).
fn set_typing(state: &mut AppState, on: bool) {
    state.overlays.close(|o| *o == Overlay::Query);
    if on {
        state.overlays.push(Overlay::Query);
    }
}

/// The search is over, typed or not (another folder was opened).
pub fn clear(state: &mut AppState) {
    state.search = None;
    set_typing(state, false);
}

/// End the search: the list shows its mailbox again.
pub fn end(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    set_typing(state, false);
    let Some(s) = state.search.take() else { return };
    if let Some(mb) = s.back_to {
        open_mailbox(state, mb, cmds);
    } else {
        state.list = ListState::default();
        state.reader = None;
    }
}

/// A key typed into the query.
pub fn on_typed(state: &mut AppState, chord: KeyChord, cmds: &mut Vec<Cmd>) {
    let Some(s) = &mut state.search else {
        return set_typing(state, false);
    };
    let plain = !chord.ctrl && !chord.alt;
    match chord.key {
        Key::Esc => return end(state, cmds),
        Key::Char('c') if chord.ctrl => return end(state, cmds),
        Key::Enter => {
            // A malformed query is not kept: the prompt stays, with its error, so the results
            // of an earlier query are never taken for its own.
            if s.error.is_some() {
                return;
            }
            let empty = s.input.trim().is_empty();
            set_typing(state, false);
            if empty {
                end(state, cmds);
            }
            return;
        }
        // The results can be walked while typing.
        Key::Down | Key::Up => return step(state, chord.key == Key::Down, cmds),
        Key::Char('n') if chord.ctrl => return step(state, true, cmds),
        Key::Char('p') if chord.ctrl => return step(state, false, cmds),
        Key::Backspace => {
            if s.input.pop().is_none() {
                return end(state, cmds);
            }
        }
        Key::Char('u') if chord.ctrl => s.input.clear(),
        Key::Char('w') if chord.ctrl => {
            let kept = s.input.trim_end().rfind(' ').map_or(0, |i| i + 1);
            s.input.truncate(kept);
        }
        Key::Char(c) if plain => s.input.push(c),
        _ => return,
    }
    run(state, cmds);
}

fn step(state: &mut AppState, down: bool, cmds: &mut Vec<Cmd>) {
    let list = &mut state.list;
    let target = if down {
        (list.selected + 1).min(list.total.saturating_sub(1))
    } else {
        list.selected.saturating_sub(1)
    };
    if target != list.selected {
        list.selected = target;
        ensure_visible(state, cmds);
        open_selected(state, cmds);
    }
}

/// Search for what is typed (again, when the cache changed). An empty query shows the
/// mailbox the search started from; a malformed one leaves the last results with its error.
pub fn run(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    let clock = state.clock;
    let Some(s) = &mut state.search else { return };
    if s.input.trim().is_empty() {
        s.error = None;
        s.terms.clear();
        s.headers_only.clear();
        s.asking.clear();
        s.from_server.clear();
        if s.req.take().is_some() {
            // Back to the whole mailbox under the (empty) query.
            let back_to = s.back_to;
            let keep = state.search.take();
            match back_to {
                Some(mb) => open_mailbox(state, mb, cmds),
                None => {
                    state.list = ListState::default();
                    state.reader = None;
                }
            }
            state.search = keep;
        }
        return;
    }
    // One letter matches nearly everything (and is slow on a large cache): wait for more.
    if s.input.trim().chars().count() < 2 {
        s.error = None;
        return;
    }
    match search::parse(&s.input, clock.now, clock.utc_offset) {
        Err(e) => s.error = Some(e.to_string()),
        Ok(query) => {
            s.error = None;
            s.terms = search::highlight_terms(&query);
            let scope = s.scope.clone();
            let req = state.next_req();
            if let Some(s) = &mut state.search {
                s.req = Some(req);
            }
            cmds.push(Cmd::Search {
                req,
                query,
                scope,
                limit: SEARCH_LIMIT,
            });
        }
    }
}

fn current(state: &AppState, req: RequestId) -> bool {
    state.search.as_ref().is_some_and(|s| s.req == Some(req))
}

/// An account's server answered a search: the cached messages it found, or an error.
pub fn on_server_searched(
    state: &mut AppState,
    req: RequestId,
    account: AccountId,
    found: Vec<MsgId>,
    error: Option<String>,
    cmds: &mut Vec<Cmd>,
) {
    if !current(state, req) {
        return;
    }
    let Some(s) = &mut state.search else { return };
    let folders = s
        .asking
        .iter()
        .position(|(a, _)| *a == account)
        .map(|i| s.asking.remove(i).1)
        .unwrap_or_default();
    if let Some(e) = error {
        let e = crate::domain::sanitize::line(&e);
        s.headers_only
            .extend(folders.into_iter().map(|f| format!("{f} ({e})")));
    }
    let shown: std::collections::HashSet<_> = state.list.rows.iter().map(|e| e.id).collect();
    let ids: Vec<_> = found.into_iter().filter(|id| !shown.contains(id)).collect();
    if !ids.is_empty() {
        cmds.push(Cmd::LoadServerHits { req, ids });
    }
}

pub fn on_msg(state: &mut AppState, msg: Msg, cmds: &mut Vec<Cmd>) {
    match msg {
        Msg::Searched {
            req,
            rows,
            headers_only,
            asking,
        } if current(state, req) => {
            let Some(s) = &mut state.search else { return };
            s.headers_only = headers_only;
            s.asking = asking;
            s.from_server.clear();
            let list_mailbox = if s.global { None } else { s.back_to };
            show(state, list_mailbox, rows, cmds);
        }
        Msg::ServerHits { req, rows } if current(state, req) => {
            let Some(s) = &mut state.search else { return };
            let selected = state.list.selected_row().map(|e| e.id);
            let mut all = std::mem::take(&mut state.list.rows);
            for e in rows {
                if !all.iter().any(|x| x.id == e.id) {
                    s.from_server.insert(e.id);
                    all.push(e);
                }
            }
            all.sort_by(|a, b| b.date.cmp(&a.date).then(b.id.cmp(&a.id)));
            let list = &mut state.list;
            list.total = all.len() as u32;
            list.selected = selected
                .and_then(|id| all.iter().position(|e| e.id == id))
                .unwrap_or(0) as u32;
            list.rows = all;
            ensure_visible(state, cmds);
            open_selected(state, cmds);
        }
        _ => {} // a stale answer
    }
}

/// Put results in the list, the selected message kept when it is among them.
fn show(
    state: &mut AppState,
    mailbox: Option<MailboxId>,
    rows: Vec<crate::domain::Envelope>,
    cmds: &mut Vec<Cmd>,
) {
    let selected = state.list.selected_row().map(|e| e.id);
    let at = selected.and_then(|id| rows.iter().position(|e| e.id == id));
    let marked = std::mem::take(&mut state.list.marked);
    state.list = ListState {
        mailbox,
        total: rows.len() as u32,
        selected: at.unwrap_or(0) as u32,
        top: if at.is_some() { state.list.top } else { 0 },
        marked: marked
            .into_iter()
            .filter(|id| rows.iter().any(|e| e.id == *id))
            .collect(),
        rows,
        ..ListState::default()
    };
    ensure_visible(state, cmds);
    open_selected(state, cmds);
}
