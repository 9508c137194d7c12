//! The mailboxes pane: its rows in tree order (folds, all inboxes), the selection kept across
//! new counts, and opening the selected mailbox.

use super::super::msg::Cmd;
use super::super::state::{AppState, Pane, SidebarRow};
use super::{open_mailbox, reload_list, search};
use crate::domain::{ALL_INBOXES, Account, AccountId, Mailbox, Role};

pub fn select_sidebar(state: &mut AppState, index: usize, cmds: &mut Vec<Cmd>) {
    state.sidebar_selected = index;
    if let Some(SidebarRow::Mailbox(m)) = state.sidebar.get(index) {
        let id = m.id;
        if state.list.mailbox != Some(id) || state.search.is_some() {
            // Another folder ends a search.
            search::clear(state);
            open_mailbox(state, id, cmds);
        }
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
pub fn toggle_sidebar_fold(state: &mut AppState) {
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

/// Sidebar rows: each account followed by its mailboxes in tree order, with placeholder rows for
/// hierarchy levels that are not mailboxes themselves.
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

pub fn on_mailboxes(
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
    if !first_load && open_provisional_inbox(state, cmds) {
        return;
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
    if let Some(i) = first_inbox(state) {
        select_sidebar(state, i, cmds);
    } else if let Some(i) = state
        .sidebar
        .iter()
        .position(|r| matches!(r, SidebarRow::Mailbox(_)))
    {
        // No inbox yet (a first sync creates the folders in the server's order): this one
        // until the inbox comes.
        select_sidebar(state, i, cmds);
        state.provisional_mailbox = state.list.mailbox;
    }
}

/// The row of the first account's inbox.
fn first_inbox(state: &AppState) -> Option<usize> {
    state.sidebar.iter().position(
        |r| matches!(r, SidebarRow::Mailbox(m) if m.role == Some(Role::Inbox) && m.id != ALL_INBOXES),
    )
}

/// The mailbox opened at start stood in for an inbox not yet known: open the inbox once it is
/// there, unless the user has opened another mailbox since. Whether it did.
fn open_provisional_inbox(state: &mut AppState, cmds: &mut Vec<Cmd>) -> bool {
    let Some(stand_in) = state.provisional_mailbox else {
        return false;
    };
    if state.list.mailbox != Some(stand_in) || state.search.is_some() {
        state.provisional_mailbox = None;
        return false;
    }
    let Some(i) = first_inbox(state) else {
        return false;
    };
    state.provisional_mailbox = None;
    select_sidebar(state, i, cmds);
    true
}

/// Hide or show the mailboxes pane; the focus leaves it when it goes.
pub fn toggle_hidden(state: &mut AppState) {
    state.sidebar_hidden = !state.sidebar_hidden;
    if state.sidebar_hidden && state.focus == Pane::Mailboxes {
        state.focus = Pane::Messages;
    }
}
