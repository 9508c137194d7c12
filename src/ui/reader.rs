//! The reader pane: header block, attachments, body with quote levels coloured.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::theme::Theme;
use super::{format, pane_block};
use crate::app::state::{AppState, Pane, ReaderState};
use crate::domain::message::{BodySource, MAX_DISPLAY_BYTES, MessageView, SpanStyle};
use crate::domain::{Address, sanitize};
use unicode_width::UnicodeWidthStr;

fn addr_list(list: &[Address]) -> String {
    list.iter()
        .map(|a| sanitize::address(&a.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn header<'a>(name: &'a str, value: String, terms: &[String], theme: &Theme) -> Line<'a> {
    let mut spans = vec![Span::styled(
        format!("{name:<9}"),
        Style::default()
            .fg(theme.header_name)
            .add_modifier(Modifier::BOLD),
    )];
    spans.extend(highlighted(value, Style::default(), terms));
    Line::from(spans)
}

/// `text` in `style`, the words a search looked for stand out (reversed, so it shows in
/// any theme, without colour too).
fn highlighted(text: String, style: Style, terms: &[String]) -> Vec<Span<'static>> {
    let ranges = crate::domain::search::match_ranges(&text, terms);
    if ranges.is_empty() {
        return vec![Span::styled(text, style)];
    }
    let hit = style.add_modifier(Modifier::REVERSED | Modifier::BOLD);
    let mut out = Vec::with_capacity(ranges.len() * 2 + 1);
    let mut at = 0;
    for r in ranges {
        if r.start > at {
            out.push(Span::styled(text[at..r.start].to_string(), style));
        }
        out.push(Span::styled(text[r.clone()].to_string(), hit));
        at = r.end;
    }
    if at < text.len() {
        out.push(Span::styled(text[at..].to_string(), style));
    }
    out
}

/// The line closing a body the reader shows only the start of.
pub fn truncation_note(cut: usize) -> String {
    format!(
        "… message truncated for display: {} more (M shows the raw source, up to {})",
        format::size(cut),
        format::size(crate::domain::message::MAX_RENDER_BYTES)
    )
}

/// A source line cut into rows of `width` characters (an empty line is one empty row).
pub fn source_rows(line: &str, width: usize) -> impl Iterator<Item = &str> {
    let mut rest = Some(line);
    std::iter::from_fn(move || {
        let s = rest?;
        let end = s.char_indices().nth(width).map_or(s.len(), |(i, _)| i);
        rest = (end < s.len()).then(|| &s[end..]);
        Some(&s[..end])
    })
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

/// A body line cut into rows of `width` columns; a quoted line's rows each start with its
/// quote marker (`> > `), so a long quoted line stays visibly quoted where it wraps. Other
/// lines come back whole (the paragraph wraps them).
fn wrap_quoted(line: &str, width: usize) -> Vec<String> {
    let marker_len = line
        .char_indices()
        .take_while(|(_, c)| *c == '>' || *c == ' ')
        .last()
        .map_or(0, |(i, c)| i + c.len_utf8());
    let marker = &line[..marker_len];
    let room = width.saturating_sub(marker.width());
    if quote_depth(line) == 0 || line.width() <= width || room < 8 {
        return vec![line.to_string()];
    }
    let marker = if marker.ends_with(' ') {
        marker.to_string()
    } else {
        format!("{marker} ")
    };
    let room = width.saturating_sub(marker.width()).max(1);
    textwrap::wrap(&line[marker_len..], room)
        .into_iter()
        .map(|row| format!("{marker}{row}"))
        .collect()
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
        return draw_source(f, area, block, r.scroll, v);
    }
    let terms: &[String] = match &state.search {
        Some(s) if s.req.is_some() => &s.terms,
        _ => &[],
    };
    let mut lines = header_lines(state, r, terms, theme);
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
        Some(v) => push_view(&mut lines, v, area, terms, theme),
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((r.scroll, 0)),
        area,
    );
}

/// The message's source as it came (M), cut into rows here when it is big.
fn draw_source(f: &mut Frame, area: Rect, block: Block<'_>, scroll: u16, v: &MessageView) {
    if v.raw.len() > MAX_DISPLAY_BYTES {
        // A big source is cut into rows here and only the rows on screen become Lines:
        // wrapping megabytes of text every frame costs tens of times their size.
        let text = sanitize::body(&v.raw);
        let inner = block.inner(area);
        let lines: Vec<Line> = text
            .lines()
            .flat_map(|l| source_rows(l, usize::from(inner.width.max(1))))
            .skip(usize::from(scroll))
            .take(usize::from(inner.height))
            .map(|l| Line::raw(l.to_string()))
            .collect();
        f.render_widget(Paragraph::new(lines).block(block), area);
        return;
    }
    let lines: Vec<Line> = sanitize::body(&v.raw)
        .lines()
        .map(|l| Line::raw(l.to_string()))
        .collect();
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

/// The header lines on top of the message: the main fields, or all of them as they came.
fn header_lines(
    state: &AppState,
    r: &ReaderState,
    terms: &[String],
    theme: &Theme,
) -> Vec<Line<'static>> {
    let e = &r.envelope;
    let mut lines: Vec<Line<'static>> = match r.view.as_ref().filter(|_| state.full_headers) {
        Some(v) if v.headers.is_empty() => raw_headers(&v.raw[..v.header_len], theme),
        Some(v) => raw_headers(&v.headers, theme),
        None => vec![
            header("From:", addr_list(&e.from), terms, theme),
            header("To:", addr_list(&e.to), terms, theme),
        ],
    };
    if !state.full_headers {
        if let Some(v) = &r.view
            && !v.meta.cc.is_empty()
        {
            lines.push(header("Cc:", addr_list(&v.meta.cc), terms, theme));
        }
        lines.push(header(
            "Date:",
            format::full_date(state.clock, e.date),
            &[],
            theme,
        ));
        lines.push(header("Subject:", sanitize::line(&e.subject), terms, theme));
        if !e.labels.is_empty() {
            lines.push(labels_line(&e.labels, theme));
        }
    }
    if let Some(v) = &r.view {
        lines.extend(verdict_lines(v, theme));
    }
    lines
}

/// The warnings about who sent the message, and its remote content (never loaded), one line
/// each under the header block.
fn verdict_lines(v: &MessageView, theme: &Theme) -> Vec<Line<'static>> {
    let warn = Style::default()
        .fg(theme.error)
        .add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line<'static>> = v
        .warnings
        .iter()
        .map(|w| Line::styled(format!("⚠ {}", sanitize::line(&w.to_string())), warn))
        .collect();
    let remote = v.signs.remote;
    if remote.resources > 0 {
        let (text, style) = match remote.trackers {
            0 => (String::new(), Style::default().fg(theme.dim)),
            1 => (" (1 tracker)".to_string(), Style::default().fg(theme.error)),
            n => (format!(" ({n} trackers)"), Style::default().fg(theme.error)),
        };
        lines.push(Line::styled(
            format!("Remote content: {}{text}, not loaded", remote.resources),
            style,
        ));
    }
    lines
}

/// Gmail's labels as read-only tags: `Labels:  [Inbox] [Work]`.
fn labels_line(labels: &[String], theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!("{:<9}", "Labels:"),
        Style::default()
            .fg(theme.header_name)
            .add_modifier(Modifier::BOLD),
    )];
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(
            format!("[{}]", sanitize::line(l)),
            Style::default().fg(theme.accent),
        ));
    }
    Line::from(spans)
}

/// The message as read: its attachments, its body (quotes coloured) and its links.
fn push_view(
    lines: &mut Vec<Line<'static>>,
    v: &MessageView,
    area: Rect,
    terms: &[String],
    theme: &Theme,
) {
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
                    .flat_map(|(text, st)| {
                        highlighted(sanitize::body(text), span_style(*st, theme), terms)
                    })
                    .collect::<Vec<_>>(),
            ));
        }
    }
    let width = usize::from(area.width.saturating_sub(2).max(1));
    for l in sanitize::body(&v.body).lines().filter(|_| v.rich.is_none()) {
        let depth = quote_depth(l);
        let style = if depth > 0 {
            Style::default().fg(theme.quote[(depth - 1) % 3])
        } else if l == "-- " {
            Style::default().fg(theme.dim)
        } else {
            Style::default()
        };
        for row in wrap_quoted(l, width) {
            lines.push(Line::from(highlighted(row, style, terms)));
        }
    }
    if v.cut > 0 {
        lines.push(Line::styled(
            truncation_note(v.cut),
            Style::default().fg(theme.dim),
        ));
    }
    push_links(lines, v, theme);
}

/// The list of the message's links, numbered for `o`.
fn push_links(lines: &mut Vec<Line<'static>>, v: &MessageView, theme: &Theme) {
    if !v.links.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Links (o to open one):",
            Style::default().fg(theme.header_name),
        ));
        for (i, url) in v.links.iter().enumerate() {
            let mut spans = vec![
                Span::styled(format!("[{}] ", i + 1), Style::default().fg(theme.link)),
                Span::raw(sanitize::line(url)),
            ];
            // A link whose text shows another host: the real target above, marked.
            if let Some(d) = v.signs.deceptive.iter().find(|d| d.href == *url) {
                spans.push(Span::styled(
                    format!("  ⚠ its text shows {}", sanitize::line(&d.shown)),
                    Style::default().fg(theme.error),
                ));
            }
            lines.push(Line::from(spans));
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::layout::Rect;

    use crate::app::state::{AppState, Pane, ReaderState};
    use crate::config::Layout;
    use crate::domain::message::{self, MAX_DISPLAY_BYTES};
    use crate::domain::{Envelope, Flags, MailboxId, MsgId, Uid};
    use crate::ui::theme::Theme;

    #[test]
    fn a_wrapped_quoted_line_keeps_its_marker_on_every_row() {
        let line = "> > the quick brown fox jumps over the lazy dog and keeps on running far away";
        let rows = super::wrap_quoted(line, 30);
        assert!(rows.len() > 2, "{rows:?}");
        for r in &rows {
            assert!(r.starts_with("> > "), "{r:?}");
            assert!(
                unicode_width::UnicodeWidthStr::width(r.as_str()) <= 30,
                "{r:?}"
            );
        }
        let words: Vec<&str> = rows
            .iter()
            .flat_map(|r| r[4..].split_whitespace())
            .collect();
        assert_eq!(words.join(" "), line[4..]);
        // `>>text` (no space) gets one after the marker on each row.
        let rows = super::wrap_quoted(">>aaaa bbbb cccc dddd eeee ffff gggg hhhh", 16);
        assert!(rows.iter().all(|r| r.starts_with(">> ")), "{rows:?}");
        // Wide characters count as two columns.
        let rows = super::wrap_quoted("> 日本語のテキストはとても長いのでここで折り返します", 20);
        assert!(
            rows.len() > 1 && rows.iter().all(|r| r.starts_with("> ")),
            "{rows:?}"
        );
        // Short or unquoted lines come back whole.
        assert_eq!(super::wrap_quoted("> short", 30), ["> short"]);
        let plain = "a plain line much longer than thirty columns, left to the paragraph";
        assert_eq!(super::wrap_quoted(plain, 30), [plain]);
    }

    /// A fullscreen 150x40 reader showing `view` (all its headers with `full`).
    fn reader(view: message::MessageView, full: bool) -> AppState {
        let mut state = AppState::new(Layout::Auto, "t");
        state.size = Rect::new(0, 0, 150, 40);
        state.fullscreen = true;
        state.full_headers = full;
        state.focus = Pane::Reader;
        state.reader = Some(ReaderState {
            msg: MsgId(1),
            width: 148,
            envelope: Envelope {
                id: MsgId(1),
                mailbox: MailboxId(1),
                uid: Uid(1),
                date: 0,
                from: Vec::new(),
                to: Vec::new(),
                subject: "big".into(),
                flags: Flags::default(),
                has_attachments: false,
                size: 0,
                preview: String::new(),
                thread: None,
                labels: Vec::new(),
            },
            view: Some(view),
            loading: None,
            scroll: 0,
            fetching: false,
            body_error: None,
        });
        state
    }

    /// The screen's text, row by row.
    fn screen(term: &mut Terminal<TestBackend>, state: &AppState) -> String {
        term.draw(|f| super::super::draw(f, state, &Theme::default()))
            .unwrap();
        let buf = term.backend().buffer();
        let width = usize::from(buf.area.width);
        let cells: Vec<&str> = buf.content().iter().map(|c| c.symbol()).collect();
        cells.chunks(width).map(|r| r.concat() + "\n").collect()
    }

    /// Draws `view` scrolled from row `from` page by page (38 rows), until the truncation
    /// note shows; the scroll it shows at.
    fn scroll_to_note(view: message::MessageView, from: usize) -> usize {
        let mut state = reader(view, false);
        let mut term = Terminal::new(TestBackend::new(150, 40)).unwrap();
        for scroll in (from..from + 1000).step_by(38) {
            state.reader.as_mut().unwrap().scroll = scroll as u16;
            let screen = screen(&mut term, &state).replace('\n', "");
            if screen.contains("… message truncated for display: 4.")
                && screen.contains(" MB more (M shows the raw source")
            {
                return scroll;
            }
        }
        panic!("no truncation note");
    }

    #[test]
    fn all_headers_show_decoded_and_sanitised() {
        let raw = "From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.test>\r\n\
                   Subject: =?UTF-8?B?NSDigg==?= =?UTF-8?Q?=AC_each?=\r\n\
                   X-Evil: =?UTF-8?Q?=1B]8;;http://x=07a=0AFrom:_boss?=\r\n\r\nbody\r\n";
        let state = reader(message::parse_for_reader(raw.as_bytes(), 148), true);
        let mut term = Terminal::new(TestBackend::new(150, 40)).unwrap();
        let screen = screen(&mut term, &state);
        assert!(
            screen.contains("From: Renée <renee@example.test> "),
            "{screen}"
        );
        assert!(screen.contains("Subject: 5 € each "), "{screen}");
        assert!(screen.contains("X-Evil: a From: boss "), "{screen}");
        assert!(!screen.contains("=?"), "{screen}");
    }

    /// A phishing message open beside the list, at 80x24 and wide: the warnings under the
    /// header block, the remote content counted, the lying link marked, the row marked.
    #[test]
    fn spoofing_warnings_show_under_the_headers_and_in_the_list() {
        let host = url::Url::parse("http://p\u{430}ypal.com").unwrap();
        let raw = format!(
            "From: \"paypal.com\" <service@{}>\r\nReply-To: claims@evil.example\r\n\
             Subject: Your account is limited\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
             <p>Dear customer, sign in at <a href=\"http://evil.example/login\">\
             https://www.paypal.com/signin</a> or <a href=\"https://www.paypal.com/help\">help</a>.</p>\
             <img src=\"https://t.evil.example/o.gif\" width=1 height=1>\
             <img src=\"https://cdn.evil.example/logo.png\">",
            host.host_str().unwrap()
        );
        let mut view = message::parse_for_reader(raw.as_bytes(), 78);
        view.warnings = crate::domain::verdict::assess(&view, &["paypal.com".to_string()]);
        assert_eq!(view.warnings.len(), 5, "{:?}", view.warnings);
        let mut phish = reader(view, false).reader.unwrap().envelope;
        phish.from = message::parse(raw.as_bytes()).meta.from;
        phish.subject = "Your account is limited".into();
        let honest = Envelope {
            id: MsgId(2),
            from: vec![crate::domain::Address {
                name: Some("PayPal".into()),
                email: "service@paypal.com".into(),
            }],
            subject: "Receipt".into(),
            ..phish.clone()
        };
        for (w, h) in [(80u16, 24u16), (160, 40)] {
            let mut state = reader(message::parse_for_reader(raw.as_bytes(), 78), false);
            let r = state.reader.as_mut().unwrap();
            r.view.as_mut().unwrap().warnings =
                crate::domain::verdict::assess(r.view.as_ref().unwrap(), &["paypal.com".into()]);
            r.envelope = phish.clone();
            state.size = Rect::new(0, 0, w, h);
            state.fullscreen = false;
            state.list.mailbox = Some(MailboxId(1));
            state.list.total = 2;
            state.list.rows = vec![phish.clone(), honest.clone()];
            let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
            let text = screen(&mut term, &state);
            assert!(text.contains("⚠ paypal.com"), "{text}");
            assert!(!text.contains("⚠ PayPal"), "{text}");
            insta::assert_snapshot!(format!("spoof_warnings_{w}x{h}"), term.backend());
        }
    }

    #[test]
    fn a_big_source_is_cut_into_rows() {
        let rows: Vec<&str> = super::source_rows("abcdé", 2).collect();
        assert_eq!(rows, ["ab", "cd", "é"]);
        assert_eq!(super::source_rows("", 5).collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn huge_bodies_end_in_a_truncation_note_within_bounded_rows() {
        // 256 KB of "wörd " (6 bytes, 5 columns) wraps to about 1,480 rows of 148 columns.
        let line = message::tests::big_line(5);
        let at = scroll_to_note(message::parse_for_reader(&line, 148), 1_300);
        assert!(at < MAX_DISPLAY_BYTES / 148, "{at}");
        // HTML: at most 10,000 lines, none wider than the reader; the note follows them.
        let html = message::tests::big_html(5);
        let view = message::parse_for_reader(&html, 148);
        let lines = view.rich.as_ref().map_or(0, Vec::len);
        assert!(lines <= 10_000);
        let at = scroll_to_note(view, lines - 40);
        assert!(at < 10_100, "{at}");
    }
}
