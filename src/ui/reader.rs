//! The reader pane: header block, attachments, body with quote levels coloured.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::theme::Theme;
use super::{format, pane_block};
use crate::app::state::{AppState, Pane};
use crate::domain::message::{BodySource, SpanStyle};
use crate::domain::{Address, sanitize};

fn addr_list(list: &[Address]) -> String {
    list.iter()
        .map(|a| sanitize::address(&a.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn header<'a>(name: &'a str, value: String, theme: &Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(
            format!("{name:<9}"),
            Style::default()
                .fg(theme.header_name)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(value),
    ])
}

/// How a styled piece of an HTML body looks.
fn span_style(st: SpanStyle, theme: &Theme) -> Style {
    let mut style = Style::default();
    if st.bold {
        style = style.add_modifier(Modifier::BOLD);
    }
    if st.italic {
        style = style.add_modifier(Modifier::ITALIC);
    }
    if st.strike {
        style = style.add_modifier(Modifier::CROSSED_OUT);
    }
    if st.code {
        style = style.fg(theme.dim);
    }
    if st.link {
        style = style.fg(theme.link).add_modifier(Modifier::UNDERLINED);
    }
    style
}

/// Quote depth of a body line: the number of leading `>` (spaces between them allowed).
fn quote_depth(line: &str) -> usize {
    line.chars()
        .take_while(|c| *c == '>' || *c == ' ')
        .filter(|c| *c == '>')
        .count()
}

/// The header block as the message has it: each field's name styled, continuation lines as
/// they are.
fn raw_headers<'a>(block: &str, theme: &Theme) -> Vec<Line<'a>> {
    sanitize::body(block)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(':') {
            Some((name, value)) if !l.starts_with([' ', '\t']) => Line::from(vec![
                Span::styled(
                    format!("{name}:"),
                    Style::default()
                        .fg(theme.header_name)
                        .add_modifier(Modifier::BOLD),
                ),
                Span::raw(value.to_string()),
            ]),
            _ => Line::raw(l.to_string()),
        })
        .collect()
}

pub fn draw(f: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let title = match (state.show_source, state.full_headers) {
        (true, _) => " Message · source ",
        (false, true) => " Message · all headers ",
        _ => " Message ",
    };
    let block = pane_block(title.into(), state.focus == Pane::Reader, theme);
    let Some(r) = &state.reader else {
        let inner = block.inner(area);
        f.render_widget(block, area);
        f.render_widget(
            Paragraph::new(Span::styled(
                "no message selected",
                Style::default().fg(theme.dim),
            )),
            inner,
        );
        return;
    };
    if let Some(v) = r.view.as_ref().filter(|_| state.show_source) {
        let lines: Vec<Line> = sanitize::body(&v.raw)
            .lines()
            .map(|l| Line::raw(l.to_string()))
            .collect();
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false })
                .scroll((r.scroll, 0)),
            area,
        );
        return;
    }
    let e = &r.envelope;
    let mut lines: Vec<Line> = match r.view.as_ref().filter(|_| state.full_headers) {
        Some(v) => raw_headers(&v.raw[..v.header_len], theme),
        None => vec![
            header("From:", addr_list(&e.from), theme),
            header("To:", addr_list(&e.to), theme),
        ],
    };
    if !state.full_headers {
        if let Some(v) = &r.view
            && !v.meta.cc.is_empty()
        {
            lines.push(header("Cc:", addr_list(&v.meta.cc), theme));
        }
        lines.push(header(
            "Date:",
            format::full_date(state.clock, e.date),
            theme,
        ));
        lines.push(header("Subject:", sanitize::line(&e.subject), theme));
    }
    match &r.view {
        None if r.loading.is_some() => {
            lines.push(Line::raw(""));
            lines.push(Line::styled("loading…", Style::default().fg(theme.dim)));
        }
        None => {
            lines.push(Line::raw(""));
            let (text, color) = match (&r.body_error, r.fetching) {
                (Some(e), _) => (
                    format!("The message could not be downloaded: {}", sanitize::line(e)),
                    theme.error,
                ),
                (None, true) => ("downloading the message…".to_string(), theme.dim),
                (None, false) => (
                    "The body of this message is not in the cache.".to_string(),
                    theme.dim,
                ),
            };
            lines.push(Line::styled(text, Style::default().fg(color)));
        }
        Some(v) => {
            for a in &v.attachments {
                lines.push(Line::from(vec![
                    Span::styled("Attach: ", Style::default().fg(theme.header_name)),
                    Span::raw(format!(
                        "{} ({}, {})",
                        sanitize::line(&a.name),
                        sanitize::line(&a.content_type),
                        format::size(a.size)
                    )),
                ]));
            }
            lines.push(Line::styled(
                "─".repeat(area.width.saturating_sub(2) as usize),
                Style::default().fg(theme.border),
            ));
            match v.source {
                BodySource::HtmlTooLarge => lines.push(Line::styled(
                    "[HTML part too large to lay out: shown as plain text]",
                    Style::default().fg(theme.dim),
                )),
                BodySource::None => lines.push(Line::styled(
                    "[no text in this message]",
                    Style::default().fg(theme.dim),
                )),
                _ => {}
            }
            if let Some(rich) = &v.rich {
                for l in rich {
                    lines.push(Line::from(
                        l.iter()
                            .map(|(text, st)| {
                                Span::styled(sanitize::body(text), span_style(*st, theme))
                            })
                            .collect::<Vec<_>>(),
                    ));
                }
            }
            for l in sanitize::body(&v.body).lines().filter(|_| v.rich.is_none()) {
                let depth = quote_depth(l);
                let style = if depth > 0 {
                    Style::default().fg(theme.quote[(depth - 1) % 3])
                } else if l == "-- " {
                    Style::default().fg(theme.dim)
                } else {
                    Style::default()
                };
                lines.push(Line::styled(l.to_string(), style));
            }
            if !v.links.is_empty() {
                lines.push(Line::raw(""));
                lines.push(Line::styled(
                    "Links (o to open one):",
                    Style::default().fg(theme.header_name),
                ));
                for (i, url) in v.links.iter().enumerate() {
                    lines.push(Line::from(vec![
                        Span::styled(format!("[{}] ", i + 1), Style::default().fg(theme.link)),
                        Span::raw(sanitize::line(url)),
                    ]));
                }
            }
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((r.scroll, 0)),
        area,
    );
}
