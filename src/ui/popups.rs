//! The overlays, drawn bottom to top in the order of `AppState::overlays` (the order keys and
//! clicks reach them in, top first): the popups here, the prompts in the status line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Row, Table};

use super::theme::Theme;
use super::{format, pane_block};
use crate::app::help::{self, HelpLine, HelpView};
use crate::app::overlay::Overlay;
use crate::app::state::AppState;
use crate::domain::sanitize;
use unicode_width::UnicodeWidthStr;

pub fn draw(f: &mut Frame, state: &AppState, theme: &Theme) {
    let area = f.area();
    for o in state.overlays.iter() {
        match o {
            Overlay::Help(view) => draw_help(f, area, state, view, theme),
            Overlay::Links(sel) => draw_links(f, area, state, *sel, theme),
            Overlay::Attachments(sel) => draw_attachments(f, area, state, *sel, theme),
            Overlay::ActionLog(entries) => draw_action_log(f, area, state, entries, theme),
            Overlay::Picker(p) => draw_picker(f, area, p, theme),
            Overlay::Compose(c) => draw_compose(f, area, c, theme),
            Overlay::Confirm(c) => draw_confirm(f, area, &c.question, theme),
            Overlay::LastError(text) => draw_last_error(f, area, text, theme),
            // In the status line (see `draw_prompt`).
            Overlay::Output(o) => super::output::draw(f, area, o, theme),
            Overlay::Setup(form) => super::firststart::draw(f, area, form, theme),
            Overlay::Command(_) | Overlay::Query => {}
        }
    }
}

/// The review screen of a message being written.
fn draw_compose(f: &mut Frame, area: Rect, c: &crate::app::state::Compose, theme: &Theme) {
    let popup = centered(area, 100, area.height.saturating_sub(2).max(10));
    clear(f, popup);
    if let Some(ed) = &c.builtin {
        let block = pane_block(
            " Writing (esc: done; saved in Drafts as you go) ".into(),
            true,
            theme,
        );
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        f.render_widget(&ed.area, inner);
        return;
    }
    let block = pane_block(
        " Review (y send · e edit · t/c/b add To/Cc/Bcc · a attach · d remove · s save draft · q discard) ".into(),
        true,
        theme,
    );
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    let d = &c.draft;
    let mut lines = review_lines(c, theme);
    push_prompts(&mut lines, c, theme);
    lines.push(Line::from(Span::styled(
        "─".repeat(inner.width as usize),
        Style::default().fg(theme.dim),
    )));
    // Text that cannot be read yet is shown whole, as the user wrote it.
    let text = c.edit.rejected.as_ref().map_or(&d.body, |r| &r.text);
    for l in text.lines() {
        lines.push(Line::from(sanitize::line(l)));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The review screen's head: the message's addresses, subject and attachments.
fn review_lines(c: &crate::app::state::Compose, theme: &Theme) -> Vec<Line<'static>> {
    use crate::domain::compose::format_address;
    let d = &c.draft;
    let label = |s: &'static str| Span::styled(format!("{s:<10}"), Style::default().fg(theme.dim));
    let list = |l: &[crate::domain::Address]| {
        sanitize::line(&l.iter().map(format_address).collect::<Vec<_>>().join(", "))
    };
    let mut lines = vec![
        Line::from(vec![
            label("From:"),
            Span::raw(sanitize::line(&format_address(&d.from))),
        ]),
        Line::from(vec![label("To:"), Span::raw(list(&d.to))]),
    ];
    if !d.cc.is_empty() {
        lines.push(Line::from(vec![label("Cc:"), Span::raw(list(&d.cc))]));
    }
    if !d.bcc.is_empty() {
        lines.push(Line::from(vec![label("Bcc:"), Span::raw(list(&d.bcc))]));
    }
    lines.push(Line::from(vec![
        label("Subject:"),
        Span::styled(
            sanitize::line(&d.subject),
            Style::default().add_modifier(Modifier::BOLD),
        ),
    ]));
    for (i, a) in d.attachments.iter().enumerate() {
        let text = format!(
            "{} ({}, {})",
            sanitize::line(&a.name),
            if a.content_type.is_empty() {
                crate::domain::compose::guess_type(&a.name)
            } else {
                a.content_type.clone()
            },
            crate::config::human_size(a.data.len() as u64)
        );
        let style = if i == c.selected {
            theme.selected()
        } else {
            Style::default()
        };
        lines.push(Line::from(vec![
            label(if i == 0 { "Attached:" } else { "" }),
            Span::styled(text, style),
        ]));
    }
    lines
}

/// The review screen's prompts (attach a file, add an address, discard?) and its note.
fn push_prompts(lines: &mut Vec<Line<'static>>, c: &crate::app::state::Compose, theme: &Theme) {
    use crate::domain::compose::format_address;
    if let Some(input) = &c.attach_input {
        lines.push(Line::from(vec![
            Span::styled(
                "Attach file (tab completes, enter, esc): ",
                Style::default().fg(theme.accent),
            ),
            Span::raw(sanitize::line(input)),
            Span::styled("▏", Style::default().fg(theme.accent)),
        ]));
        push_choices(lines, c, theme);
    }
    if let Some(p) = &c.addr {
        let field = match p.field {
            crate::app::state::AddrField::To => "To",
            crate::app::state::AddrField::Cc => "Cc",
            crate::app::state::AddrField::Bcc => "Bcc",
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("Add {field} (tab picks, enter adds, esc): "),
                Style::default().fg(theme.accent),
            ),
            Span::raw(sanitize::line(&p.input)),
            Span::styled("▏", Style::default().fg(theme.accent)),
        ]));
        for (i, a) in p.suggestions.iter().enumerate() {
            let style = if i == p.selected {
                theme.selected()
            } else {
                Style::default().fg(theme.dim)
            };
            lines.push(Line::from(Span::styled(
                format!("  {}", sanitize::line(&format_address(a))),
                style,
            )));
        }
    }
    if c.confirm_discard {
        lines.push(Line::from(Span::styled(
            "Discard this message? (y/n)",
            Style::default()
                .fg(theme.error)
                .add_modifier(Modifier::BOLD),
        )));
    }
    if let Some(note) = &c.note {
        lines.push(Line::from(Span::styled(
            sanitize::line(note),
            Style::default().fg(theme.error),
        )));
    }
}

/// The paths that complete the one typed to attach, by name (tab goes through them): the
/// chosen one and those before it, five at most.
fn push_choices(lines: &mut Vec<Line<'static>>, c: &crate::app::state::Compose, theme: &Theme) {
    const SHOWN: usize = 5;
    let choices = &c.edit.choices;
    if choices.is_empty() {
        return;
    }
    let chosen = c.edit.choice;
    let first = chosen.map_or(0, |i| i.saturating_sub(SHOWN - 1));
    let name = |p: &str| {
        let trimmed = p.trim_end_matches('/');
        let n = trimmed.rsplit('/').next().unwrap_or(trimmed);
        format!("{n}{}", if p.ends_with('/') { "/" } else { "" })
    };
    for (i, p) in choices.iter().enumerate().skip(first).take(SHOWN) {
        let style = if Some(i) == chosen {
            theme.selected()
        } else {
            Style::default().fg(theme.dim)
        };
        lines.push(Line::from(Span::styled(
            format!("  {}", sanitize::line(&name(p))),
            style,
        )));
    }
    let more = choices.len().saturating_sub(first + SHOWN);
    if more > 0 {
        lines.push(Line::from(Span::styled(
            format!("  … {more} more (tab)"),
            Style::default().fg(theme.dim),
        )));
    }
}

/// The folder picker: the query on top, the matching folders under it.
fn draw_picker(f: &mut Frame, area: Rect, p: &crate::app::state::Picker, theme: &Theme) {
    let rows = p.matches.len().clamp(1, 12) as u16;
    let popup = centered(area, 60, rows + 4);
    clear(f, popup);
    let n = p.msgs.len();
    let title = format!(
        " {} {} to (type to filter, enter, esc) ",
        if p.copy { "Copy" } else { "Move" },
        if n == 1 {
            "1 message".to_string()
        } else {
            format!("{n} messages")
        }
    );
    let block = pane_block(title, true, theme);
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    if inner.height == 0 {
        return;
    }
    let query = Line::from(vec![
        Span::styled("> ", Style::default().fg(theme.accent)),
        Span::raw(sanitize::line(&p.query)),
        Span::styled("▏", Style::default().fg(theme.accent)),
    ]);
    f.render_widget(Paragraph::new(query), Rect { height: 1, ..inner });
    let list_area = Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    };
    if p.matches.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled(
                "no folder matches",
                Style::default().fg(theme.dim),
            )),
            list_area,
        );
        return;
    }
    let height = list_area.height as usize;
    let first = p.selected.saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line> = p
        .matches
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, &c)| {
            let name = format::fit(&p.choices[c].1, list_area.width as usize);
            if i == p.selected {
                Line::from(Span::styled(name, theme.selected()))
            } else {
                Line::from(Span::raw(name))
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), list_area);
}

/// A yes/no question, one line in a box.
fn draw_confirm(f: &mut Frame, area: Rect, question: &str, theme: &Theme) {
    let w = (question.chars().count() as u16 + 4).min(area.width);
    let popup = centered(area, w, 3);
    clear(f, popup);
    let block = pane_block(String::new(), true, theme);
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    f.render_widget(
        Paragraph::new(Span::styled(
            sanitize::line(question),
            Style::default()
                .fg(theme.error)
                .add_modifier(Modifier::BOLD),
        )),
        inner,
    );
}

/// The last error in full, wrapped at words.
fn draw_last_error(f: &mut Frame, area: Rect, text: &str, theme: &Theme) {
    let text = sanitize::line(text);
    let w = area.width.saturating_sub(4).min(80);
    let inner_w = usize::from(w.saturating_sub(2)).max(1);
    // Wrapping at words takes a few more rows than the columns say: one spare.
    let rows = text.chars().count().div_ceil(inner_w) + 1;
    let popup = centered(area, w, rows as u16 + 2);
    f.render_widget(Clear, popup);
    let block = pane_block(" The last error (esc) ".into(), true, theme);
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    f.render_widget(
        Paragraph::new(Span::styled(text, Style::default().fg(theme.error)))
            .wrap(ratatui::widgets::Wrap { trim: true }),
        inner,
    );
}

/// A box in the middle of `area`, at most `w` x `h`.
/// Clear the popup's area, and the wide characters (CJK, emoji) of the panes that straddle its
/// left edge: a two-column character in the column before the popup would cover the popup's
/// border in the terminal (ratatui skips the cell a wide character covers), so it gives way to
/// a blank. (One on the right edge is already cut: the popup's border replaced its first half,
/// and the buffer blanks the cells a character no longer covers.)
fn clear(f: &mut Frame, popup: Rect) {
    f.render_widget(Clear, popup);
    if popup.x == 0 {
        return;
    }
    let buf = f.buffer_mut();
    for y in popup.top()..popup.bottom() {
        let cell = &mut buf[(popup.x - 1, y)];
        if cell.symbol().width() > 1 {
            cell.set_symbol(" ");
        }
    }
}

pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let (w, h) = (w.min(area.width), h.min(area.height));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_action_log(
    f: &mut Frame,
    area: Rect,
    state: &AppState,
    entries: &[(String, i64, String)],
    theme: &Theme,
) {
    let popup = centered(area, 110, entries.len().max(1) as u16 + 2);
    clear(f, popup);
    let block = pane_block(
        " Actions the server could not take (esc) ".into(),
        true,
        theme,
    );
    if entries.is_empty() {
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        f.render_widget(
            Paragraph::new(Span::styled(
                "nothing: every action reached the server",
                Style::default().fg(theme.dim),
            )),
            inner,
        );
        return;
    }
    let rows = entries.iter().map(|(account, at, text)| {
        Row::new(vec![
            Span::styled(
                format::list_date(state.clock, *at),
                Style::default().fg(theme.dim),
            ),
            Span::styled(sanitize::line(account), Style::default().fg(theme.accent)),
            Span::raw(sanitize::line(text)),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(10),
            Constraint::Length(14),
            Constraint::Fill(1),
        ],
    )
    .block(block);
    f.render_widget(table, popup);
}

fn draw_attachments(f: &mut Frame, area: Rect, state: &AppState, selected: usize, theme: &Theme) {
    let list = state
        .reader
        .as_ref()
        .and_then(|r| r.view.as_ref())
        .map(|v| v.attachments.as_slice())
        .unwrap_or_default();
    let popup = centered(area, 80, list.len() as u16 + 2);
    clear(f, popup);
    let block = pane_block(
        " Attachments (enter: open, s: save, esc) ".into(),
        true,
        theme,
    );
    let rows = list.iter().enumerate().map(|(i, a)| {
        let style = if i == selected {
            theme.selected()
        } else {
            Style::default()
        };
        Row::new(vec![
            sanitize::line(&a.name),
            sanitize::line(&a.content_type),
            format::size(a.size),
        ])
        .style(style)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(28),
            Constraint::Length(9),
        ],
    )
    .block(block);
    f.render_widget(table, popup);
}

fn draw_links(f: &mut Frame, area: Rect, state: &AppState, selected: usize, theme: &Theme) {
    let links = state
        .reader
        .as_ref()
        .and_then(|r| r.view.as_ref())
        .map(|v| v.links.as_slice())
        .unwrap_or_default();
    let popup = centered(area, 90, links.len() as u16 + 2);
    clear(f, popup);
    let block = pane_block(" Open a link (enter; esc to close) ".into(), true, theme);
    let inner_h = popup.height.saturating_sub(2) as usize;
    let start = selected.saturating_sub(inner_h.saturating_sub(1));
    let rows = links
        .iter()
        .enumerate()
        .skip(start)
        .take(inner_h)
        .map(|(i, url)| {
            let style = if i == selected {
                theme.selected()
            } else {
                Style::default()
            };
            Row::new(vec![
                Span::styled(format!("[{}]", i + 1), Style::default().fg(theme.link)),
                Span::raw(sanitize::line(url)),
            ])
            .style(style)
        });
    let table = Table::new(rows, [Constraint::Length(5), Constraint::Fill(1)]).block(block);
    f.render_widget(table, popup);
}

fn draw_help(f: &mut Frame, area: Rect, state: &AppState, view: &HelpView, theme: &Theme) {
    let g = help::geometry(area, &state.key_help);
    clear(f, g.popup);
    let block = pane_block(" Keys (? or Esc to close) ".into(), true, theme);
    let inner = block.inner(g.popup);
    f.render_widget(block, g.popup);
    let all = help::lines(&state.key_help, state.focus, &view.filter, g.text);
    let total = all.len();
    let keys_w = usize::from(g.keys);
    let mut lines: Vec<Line> = all
        .into_iter()
        .skip(view.scroll)
        .take(usize::from(g.rows))
        .map(|l| match l {
            HelpLine::Title(t) => Line::from(Span::styled(
                t,
                Style::default().fg(theme.dim).add_modifier(Modifier::BOLD),
            )),
            HelpLine::Entry { keys, text } => Line::from(vec![
                Span::styled(
                    format!("{:<keys_w$}  ", format::fit(&keys, keys_w)),
                    Style::default().fg(theme.accent),
                ),
                Span::raw(text),
            ]),
            HelpLine::Blank => Line::default(),
        })
        .collect();
    lines.resize(usize::from(g.rows), Line::default());
    lines.push(help_footer(view, total, g.rows, theme));
    f.render_widget(Paragraph::new(lines), inner);
}

/// The help's last line: the filter being typed or in force, else what the keys do; and where
/// the view is.
fn help_footer<'a>(view: &HelpView, total: usize, rows: u16, theme: &Theme) -> Line<'a> {
    let shown = (view.scroll + usize::from(rows)).min(total);
    let place = format!("  {shown}/{total}");
    if view.typing || !view.filter.is_empty() {
        let hint = if view.typing {
            " (enter keeps, esc drops)"
        } else {
            " (esc drops)"
        };
        return Line::from(vec![
            Span::styled(
                format!("/{}", sanitize::line(&view.filter)),
                Style::default().fg(theme.accent),
            ),
            Span::styled(format!("{hint}{place}"), Style::default().fg(theme.dim)),
        ]);
    }
    Line::from(Span::styled(
        format!("j/k g/G pgup/pgdn: scroll · /: search{place}"),
        Style::default().fg(theme.dim),
    ))
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::layout::Rect;
    use ratatui::widgets::Paragraph;

    use crate::app::help;
    use crate::app::overlay::Overlay;
    use crate::app::state::AppState;
    use crate::config::Layout;
    use crate::ui::theme::Theme;

    /// Wide characters under a popup's left edge, at every parity, never cover its border.
    #[test]
    fn wide_characters_under_a_popup_never_break_its_border() {
        for (w, h) in [(80u16, 24u16), (200, 50)] {
            let mut state = AppState::new(Layout::Auto, "t");
            state.size = Rect::new(0, 0, w, h);
            state.key_help = crate::app::keymap::Keymap::new(&Default::default()).help();
            state.overlays.push(Overlay::Help(Default::default()));
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            t.draw(|f| {
                // The panes: CJK text, shifted by one column every other row.
                let rows: Vec<String> = (0..h)
                    .map(|y| format!("{}{}", " ".repeat(usize::from(y % 2)), "日本語".repeat(80)))
                    .collect();
                f.render_widget(Paragraph::new(rows.join("\n")), f.area());
                super::draw(f, &state, &Theme::default());
            })
            .unwrap();
            let popup = help::geometry(Rect::new(0, 0, w, h), &state.key_help).popup;
            let buf = t.backend().buffer();
            for y in popup.top()..popup.bottom() {
                let before = buf[(popup.x - 1, y)].symbol();
                assert!(
                    unicode_width::UnicodeWidthStr::width(before) <= 1,
                    "{w}x{h} row {y}: {before:?} covers the border"
                );
                let edge = buf[(popup.x, y)].symbol();
                assert!(["┏", "┃", "┗"].contains(&edge), "{w}x{h} row {y}: {edge:?}");
            }
            insta::assert_snapshot!(format!("popup_over_wide_chars_{w}x{h}"), t.backend());
        }
    }
}
