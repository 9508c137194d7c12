//! Where a row comes from, for lists that mix mailboxes (a search's results, all inboxes): a
//! short `account/folder` column, shown only when the rows on screen come from more than one
//! mailbox.

use crate::app::state::{AppState, SidebarRow};
use crate::domain::{MailboxId, sanitize};

use super::format;
use unicode_width::UnicodeWidthStr;

/// The widest the column gets, by the list's width.
fn cap(list_width: u16) -> usize {
    match list_width {
        0..=60 => 10,
        61..=70 => 12,
        71..=120 => 18,
        _ => 28,
    }
}

/// `account/folder` of a mailbox (the folder alone when its account is not known), sanitized.
pub fn label(state: &AppState, mailbox: MailboxId) -> String {
    let (account, folder) = parts(state, mailbox);
    match account {
        Some(a) => format!("{a}/{folder}"),
        None => folder,
    }
}

/// The account's name (when known) and the folder's, sanitized.
fn parts(state: &AppState, mailbox: MailboxId) -> (Option<String>, String) {
    let found = state.sidebar_all.iter().find_map(|r| match r {
        SidebarRow::Mailbox(m) if m.id == mailbox => Some(m),
        _ => None,
    });
    match found {
        Some(m) => {
            let account = state.sidebar_all.iter().find_map(|r| match r {
                SidebarRow::Account(a) if a.id == m.account => Some(a.name.as_str()),
                _ => None,
            });
            (account.map(sanitize::line), sanitize::line(&m.name))
        }
        None => (None, String::new()),
    }
}

/// The column's width for the rows `[from, to)` of the list (0: no column, they all come from
/// one mailbox), sized to the longest label and capped by the list's width.
pub fn width(state: &AppState, from: u32, to: u32, list_width: u16) -> usize {
    let list = &state.list;
    let rows: Vec<_> = (from..to).filter_map(|i| list.row(i)).collect();
    let first = rows.first().map(|e| e.mailbox);
    if rows.iter().all(|e| Some(e.mailbox) == first) {
        return 0;
    }
    let longest = rows
        .iter()
        .map(|e| label(state, e.mailbox).width())
        .max()
        .unwrap_or(0);
    longest.min(cap(list_width))
}

/// A row's cell: its label fitted to the column, the account's name shortened first (the
/// folder says more).
pub fn cell(state: &AppState, mailbox: MailboxId, width: usize) -> String {
    let (account, folder) = parts(state, mailbox);
    let Some(account) = account else {
        return format::fit(&folder, width);
    };
    let whole = format!("{account}/{folder}");
    let room = width.saturating_sub(folder.width() + 1);
    if whole.width() <= width || room < 2 {
        return format::fit(&whole, width);
    }
    format!("{}/{folder}", format::fit(&account, room))
}
