//! The view: `draw(frame, &AppState, &Theme)`. Pure over the state: no channels, no SQL, no
//! network, and every string that came from mail or a server goes through `domain::sanitize`.

mod firststart;
pub mod format;
mod origin;
mod output;
mod popups;
mod reader;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Row, Table};

use crate::app::layout;
use crate::app::overlay::Overlay;
use crate::app::state::{AppState, Pane, SEARCH_LIMIT, SearchState, SidebarRow};
use crate::domain::{Account, AccountId, ConnState, Envelope, Mailbox, Role, sanitize};
use theme::Theme;
use unicode_width::UnicodeWidthStr;

pub fn draw(f: &mut Frame, state: &AppState, theme: &Theme) {
    let a = layout::areas_with(
        f.area(),
        state.layout,
        state.fullscreen,
        state.sidebar_hidden,
    );
    if !state.fullscreen {
        if !state.sidebar_hidden {
            draw_sidebar(f, a.sidebar, state, theme);
        }
        draw_list(f, a.list, state, theme);
    }
    reader::draw(f, a.reader, state, theme);
    draw_status(f, a.status, state, theme);
    popups::draw(f, state, theme);
}

fn pane_block<'a>(title: String, focused: bool, theme: &Theme) -> Block<'a> {
    let color = if focused {
        theme.border_focused
    } else {
        theme.border
    };
    let title_style = if focused {
        Style::default()
            .fg(theme.accent)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default().fg(theme.dim)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(Style::default().fg(color))
        .title(Span::styled(title, title_style))
}

/// A short note on an account's connection for the mailboxes pane (None when online).
fn account_note(conn: &ConnState, theme: &Theme) -> Option<(String, ratatui::style::Color)> {
    match conn {
        ConnState::Online | ConnState::Idle => None,
        ConnState::Polled { .. } => None,
        ConnState::Connecting => Some(("↻ connecting".into(), theme.dim)),
        ConnState::Syncing { done, total, .. } => Some((format!("↻ {done}/{total}"), theme.dim)),
        ConnState::Offline(_) => Some(("○ offline".into(), theme.dim)),
        ConnState::Failed(_) => Some(("✗ failed".into(), theme.error)),
    }
}

fn role_icon(role: Option<Role>) -> &'static str {
    match role {
        Some(Role::Inbox) => "▣",
        Some(Role::Drafts) => "✎",
        Some(Role::Sent) => "➤",
        Some(Role::Archive) => "▤",
        Some(Role::Junk) => "⚠",
        Some(Role::Trash) => "✗",
        None => "▢",
    }
}

fn draw_sidebar(f: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let block = pane_block(" Mailboxes ".into(), state.focus == Pane::Mailboxes, theme);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let height = inner.height as usize;
    let width = inner.width as usize;
    // Keep the selection visible.
    let start = layout::sidebar_start(state.sidebar_selected, height);
    let mut lines = Vec::with_capacity(height);
    for (i, row) in state.sidebar.iter().enumerate().skip(start).take(height) {
        let selected = i == state.sidebar_selected;
        let line = match row {
            SidebarRow::Account(a) => account_line(a, width, state, theme),
            SidebarRow::Parent {
                name,
                depth,
                account,
                ..
            } => parent_line(name, *depth, *account, width, state, theme),
            SidebarRow::Mailbox(m) => mailbox_line(m, width, state, theme),
        };
        lines.push(if selected {
            line.style(theme.selected())
        } else {
            line
        });
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// An account's row in the mailboxes pane: its name, and what its engine is doing.
fn account_line(a: &Account, width: usize, state: &AppState, theme: &Theme) -> Line<'static> {
    let folded = state.collapsed.contains(&(a.id, String::new()));
    let name = sanitize::line(&a.name);
    let name = format::fit(&if folded { format!("{name} ▸") } else { name }, width);
    // What the account's engine is doing, when it is not simply online.
    let conn = state
        .accounts_state
        .iter()
        .find(|(id, _)| *id == a.id)
        .and_then(|(_, c)| account_note(c, theme));
    let used = unicode_width::UnicodeWidthStr::width(name.as_str());
    let mut spans = vec![Span::styled(
        name,
        Style::default()
            .fg(theme.accent)
            .add_modifier(Modifier::BOLD),
    )];
    if let Some((note, color)) = conn {
        let room = width.saturating_sub(used + 1);
        if room > 0 {
            spans.push(Span::styled(
                format!(" {}", format::fit(&note, room)),
                Style::default().fg(color),
            ));
        }
    }
    Line::from(spans)
}

/// A folder that only holds folders, in the mailboxes pane: its fold mark and its last name.
fn parent_line(
    name: &str,
    depth: usize,
    account: AccountId,
    width: usize,
    state: &AppState,
    theme: &Theme,
) -> Line<'static> {
    let mark = if state.collapsed.contains(&(account, name.to_owned())) {
        "▸"
    } else {
        "▾"
    };
    let leaf = name.rsplit(['/', '.']).next().unwrap_or(name);
    Line::from(vec![
        Span::raw("  ".repeat(depth + 1)),
        Span::styled(
            format!(
                "{mark} {}",
                format::fit(&sanitize::line(leaf), width.saturating_sub(depth * 2 + 4))
            ),
            Style::default().fg(theme.dim),
        ),
    ])
}

/// A mailbox's row in the mailboxes pane: its role, its name, its unread count.
fn mailbox_line(m: &Mailbox, width: usize, state: &AppState, theme: &Theme) -> Line<'static> {
    let indent = "  ".repeat(m.depth() + 1);
    let count = if m.unread > 0 {
        format!(" {}", m.unread)
    } else {
        String::new()
    };
    // A folded mailbox with folders inside says so.
    let folded = state.collapsed.contains(&(m.account, m.name.clone()));
    let count = if folded {
        format!(" ▸{count}")
    } else {
        count
    };
    let name_w = width.saturating_sub(indent.len() + 2 + count.chars().count());
    let name = format::fit(&sanitize::line(m.leaf()), name_w);
    let pad = width.saturating_sub(
        indent.len()
            + 2
            + unicode_width::UnicodeWidthStr::width(name.as_str())
            + count.chars().count(),
    );
    let base = if m.unread > 0 {
        theme.unread_style()
    } else {
        Style::default()
    };
    Line::from(vec![
        Span::raw(indent),
        Span::styled(
            format!("{} ", role_icon(m.role)),
            Style::default().fg(theme.dim),
        ),
        Span::styled(name, base),
        Span::raw(" ".repeat(pad)),
        Span::styled(count, Style::default().fg(theme.accent)),
    ])
}

/// Who a row is about: the sender, or the recipient in Sent and Drafts.
fn correspondent(e: &Envelope, role: Option<Role>) -> String {
    let list = match role {
        Some(Role::Sent | Role::Drafts) => &e.to,
        _ => &e.from,
    };
    let who = list
        .first()
        .map(|a| a.display().to_string())
        .unwrap_or_default();
    let who = sanitize::address(&who);
    match role {
        Some(Role::Sent | Role::Drafts) => format!("To: {who}"),
        _ => who,
    }
}

fn draw_list(f: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let mailbox = state.open_mailbox();
    let searching = state.search.as_ref().filter(|s| s.req.is_some());
    let title = list_title(state, mailbox, searching);
    let block = pane_block(title, state.focus == Pane::Messages, theme);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let list = &state.list;
    if list.total == 0 {
        let text = if list.loading.is_some() {
            "loading…"
        } else if searching.is_some() {
            "nothing found"
        } else {
            "no messages"
        };
        f.render_widget(
            Paragraph::new(Span::styled(text, Style::default().fg(theme.dim))),
            inner,
        );
        return;
    }
    let role = mailbox.and_then(|m| m.role);
    let page = inner.height as u32;
    let end = (list.top + page).min(list.total);
    let date_w = (list.top..end)
        .filter_map(|idx| list.row(idx))
        .map(|e| format::list_date(state.clock, e.date).width())
        .max()
        .unwrap_or(5);
    let [flags_w, date_w, who_w] = format::list_columns(inner.width, date_w as u16);
    // Rows from several mailboxes (a search, all inboxes) say which; that column takes its
    // room from the correspondent's, so the subject keeps its width.
    let from_w = origin::width(state, list.top, end, inner.width);
    let who_w = match from_w {
        0 => who_w,
        w => who_w.saturating_sub(w as u16 + 1).max(8),
    };
    let mut rows = Vec::new();
    for idx in list.top..end {
        let Some(e) = list.row(idx) else {
            rows.push(Row::new(vec!["", "", "…"]).style(Style::default().fg(theme.dim)));
            continue;
        };
        rows.push(list_row(state, e, idx, (role, from_w), searching, theme));
    }
    let mut widths = vec![Constraint::Length(flags_w), Constraint::Length(date_w)];
    if from_w > 0 {
        widths.push(Constraint::Length(from_w as u16));
    }
    widths.extend([Constraint::Length(who_w), Constraint::Fill(1)]);
    let table = Table::new(rows, widths).column_spacing(1);
    f.render_widget(table, inner);
}

/// The messages pane's title: the search, or the open mailbox (and its account).
fn list_title(
    state: &AppState,
    mailbox: Option<&Mailbox>,
    searching: Option<&SearchState>,
) -> String {
    match (searching, mailbox) {
        (Some(s), _) if s.global => {
            format!(" Search: {} ", format::fit(&sanitize::line(&s.input), 60))
        }
        (Some(s), Some(m)) => format!(
            " {} · filter: {} ",
            sanitize::line(&m.name),
            format::fit(&sanitize::line(&s.input), 50)
        ),
        (_, m) => match m {
            Some(m) => {
                let account = match state.account_name(m.account) {
                    Some(a) => format!("{} · ", sanitize::line(a)),
                    None => String::new(),
                };
                format!(
                    " {}{}{} ",
                    account,
                    sanitize::line(&m.name),
                    if state.list.visible.is_some() {
                        " · threads"
                    } else {
                        ""
                    }
                )
            }
            None => " Messages ".into(),
        },
    }
}

/// A message's row in the messages pane: its flags, date, mailbox (in a column `from_w` wide,
/// when not 0), correspondent and subject.
fn list_row(
    state: &AppState,
    e: &Envelope,
    idx: u32,
    (role, from_w): (Option<Role>, usize),
    searching: Option<&SearchState>,
    theme: &Theme,
) -> Row<'static> {
    let list = &state.list;
    let marked = list.marked.contains(&e.id);
    let glyphs: String = [
        if marked {
            '✓'
        } else if e.flags.seen {
            ' '
        } else {
            '●'
        },
        if e.flags.flagged { '⚑' } else { ' ' },
        if e.flags.answered { '↩' } else { ' ' },
        if e.has_attachments { '+' } else { ' ' },
    ]
    .iter()
    .collect();
    let mut style = if e.flags.seen {
        Style::default()
    } else {
        theme.unread_style()
    };
    if e.flags.flagged {
        style = style.fg(theme.flagged);
    }
    if marked {
        style = style.fg(theme.accent).add_modifier(Modifier::BOLD);
    }
    if idx == list.selected {
        style = style.patch(theme.selected());
    }
    let mut cells = vec![glyphs, format::list_date(state.clock, e.date)];
    if from_w > 0 {
        cells.push(origin::cell(state, e.mailbox, from_w));
    }
    cells.push(format::mark_suspect(&e.from, correspondent(e, role)));
    cells.push(
        match list.visible.as_ref().and_then(|v| v.get(idx as usize)) {
            _ if searching.is_some_and(|s| s.from_server.contains(&e.id)) => {
                format!("⌕ {}", sanitize::line(&e.subject))
            }
            Some(t) => format!(
                "{}{}",
                thread_prefix(t, list.folded.contains(&t.thread)),
                sanitize::line(&e.subject)
            ),
            None => sanitize::line(&e.subject),
        },
    );
    Row::new(cells).style(style)
}

/// The tree drawing in front of a subject in the threaded view: indentation by depth (capped,
/// so deep threads stay readable), a fold mark on a thread's first row.
fn thread_prefix(t: &crate::domain::thread::ThreadRow, folded: bool) -> String {
    const MAX_INDENT: usize = 6;
    let depth = usize::from(t.depth).min(MAX_INDENT);
    match (t.head, t.size > 1, folded) {
        (true, true, true) => format!("▸ ({}) ", t.size),
        (true, true, false) => "▾ ".to_string(),
        (true, false, _) => String::new(),
        (false, _, _) => format!("{}↳ ", "  ".repeat(depth.saturating_sub(1))),
    }
}

/// What a search's results are, and what they leave out.
fn search_note(s: &SearchState, total: u32) -> String {
    let mut parts = vec![match total {
        1 => "1 result".to_string(),
        n if n >= SEARCH_LIMIT => format!("the newest {n} results"),
        n => format!("{n} results"),
    }];
    if !s.from_server.is_empty() {
        parts.push(format!("{} found by the server (⌕)", s.from_server.len()));
    }
    let asking: usize = s.asking.iter().map(|(_, f)| f.len()).sum();
    if asking > 0 {
        parts.push(format!(
            "asking the server about {asking} folder{} without bodies…",
            if asking == 1 { "" } else { "s" }
        ));
    }
    if !s.headers_only.is_empty() {
        parts.push(format!("headers only: {}", s.headers_only.join(", ")));
    }
    sanitize::line(&parts.join(" · "))
}

/// The line a search or a command is typed on.
fn draw_prompt(f: &mut Frame, area: Rect, state: &AppState, theme: &Theme) -> bool {
    let base = Style::default().bg(theme.status_bg).fg(theme.status_fg);
    // The prompt nearest the top of the overlays.
    let prompt = state
        .overlays
        .iter()
        .rev()
        .find(|o| matches!(o, Overlay::Command(_) | Overlay::Query));
    let (lead, input, tail) = match (prompt, &state.search) {
        // What Tab offers, after the line.
        (Some(Overlay::Command(line)), _) => (
            ":",
            line.as_str(),
            state
                .notice
                .as_ref()
                .map(|n| (sanitize::line(n), theme.dim)),
        ),
        (Some(Overlay::Query), Some(s)) => (
            if s.global { "search: " } else { "/" },
            s.input.as_str(),
            Some(match &s.error {
                Some(e) => (sanitize::line(e), theme.error),
                None if s.req.is_some() => (search_note(s, state.list.total), theme.dim),
                None => (
                    "words, \"phrases\", from: to: subject: is:unread in: before: … (enter, esc)"
                        .to_string(),
                    theme.dim,
                ),
            }),
        ),
        _ => return false,
    };
    let mut spans = vec![
        Span::styled(
            format!(" {lead}"),
            base.fg(theme.accent).add_modifier(Modifier::BOLD),
        ),
        Span::styled(sanitize::line(input), base),
        Span::styled("█", base.fg(theme.accent)),
    ];
    if let Some((text, color)) = tail {
        spans.push(Span::styled(format!("   {text}"), base.fg(color)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(base), area);
    true
}

fn draw_status(f: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    if draw_prompt(f, area, state, theme) {
        return;
    }
    let base = Style::default().bg(theme.status_bg).fg(theme.status_fg);
    let mut spans = vec![Span::styled(
        format!(" {} ", state.banner),
        base.fg(theme.accent).add_modifier(Modifier::BOLD),
    )];
    if let Some(m) = state.open_mailbox() {
        let pos = if state.list.total > 0 {
            state.list.selected + 1
        } else {
            0
        };
        spans.push(Span::styled(
            format!(
                " {} · {}/{} · {} unread ",
                sanitize::line(&m.name),
                pos,
                state.list.total,
                m.unread
            ),
            base,
        ));
    }
    let queued: u32 = state
        .sidebar_all
        .iter()
        .map(|r| match r {
            SidebarRow::Account(a) => a.pending,
            _ => 0,
        })
        .sum();
    if queued > 0 {
        spans.push(Span::styled(
            format!(" ⇅ {queued} queued "),
            base.fg(theme.dim),
        ));
    }
    push_selection_marks(&mut spans, state, base, theme);
    push_account_states(&mut spans, state, base, theme);
    if let Some(note) = &state.notice {
        spans.push(Span::styled(
            format!(" {} ", sanitize::line(note)),
            base.fg(theme.accent),
        ));
    }
    let mut hints = " ?:help  q:quit ";
    if let Some(err) = &state.error {
        // What is left of the line, the hints too if the error needs them: cut at a word.
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let left = (area.width as usize).saturating_sub(used + 2);
        let err = sanitize::line(err);
        if err.chars().count() > left.saturating_sub(hints.len()) {
            hints = "";
        }
        let room = left.saturating_sub(hints.len());
        spans.push(Span::styled(
            format!(" {} ", format::fit_words(&err, room)),
            base.fg(theme.error),
        ));
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (area.width as usize).saturating_sub(used + hints.len());
    spans.push(Span::styled(" ".repeat(pad), base));
    spans.push(Span::styled(hints, base.fg(theme.dim)));
    f.render_widget(Paragraph::new(Line::from(spans)).style(base), area);
}

/// The status line's marks for the list: the search, visual mode, the selected messages.
fn push_selection_marks(spans: &mut Vec<Span<'_>>, state: &AppState, base: Style, theme: &Theme) {
    if let Some(s) = state.search.as_ref().filter(|s| s.req.is_some()) {
        spans.push(Span::styled(
            format!(
                " {}{} · {} ",
                if s.global { "search: " } else { "/" },
                sanitize::line(&s.input),
                search_note(s, state.list.total)
            ),
            base.fg(theme.accent),
        ));
    }
    if state.list.visual.is_some() {
        spans.push(Span::styled(
            " VISUAL ",
            base.fg(theme.accent)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ));
    }
    if !state.list.marked.is_empty() {
        spans.push(Span::styled(
            format!(" {} selected ", state.list.marked.len()),
            base.fg(theme.accent).add_modifier(Modifier::BOLD),
        ));
    }
}

/// The status line's word on each account's connection.
fn push_account_states(spans: &mut Vec<Span<'_>>, state: &AppState, base: Style, theme: &Theme) {
    for (id, conn) in &state.accounts_state {
        let Some(account) = state.account_name(*id) else {
            continue; // its row is not loaded yet
        };
        let (mark, color) = match conn {
            ConnState::Online | ConnState::Idle => ("●", theme.accent),
            ConnState::Polled { .. } => ("✓", theme.accent),
            ConnState::Connecting | ConnState::Syncing { .. } => ("↻", theme.dim),
            ConnState::Offline(_) => ("○", theme.dim),
            ConnState::Failed(_) => ("✗", theme.error),
        };
        let text = match conn {
            ConnState::Online | ConnState::Idle => sanitize::line(account),
            ConnState::Polled { at } => format!(
                "{} polled {}",
                sanitize::line(account),
                format::list_date(state.clock, *at)
            ),
            other => format!(
                "{} {}",
                sanitize::line(account),
                sanitize::line(&other.to_string())
            ),
        };
        spans.push(Span::styled(format!(" {mark} "), base.fg(color)));
        spans.push(Span::styled(format::fit(&text, 48), base));
    }
}
