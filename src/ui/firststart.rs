//! The first start's setup screen (see `app::firststart`): the fields, then what discovery
//! and the live check said, newest at the bottom, and how it ended. It covers the whole
//! screen: there is nothing under it yet.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use unicode_width::UnicodeWidthChar;

use super::pane_block;
use super::theme::Theme;
use crate::app::firststart::{FIELDS, PASSWORD, Phase, SetupForm};
use crate::domain::sanitize;

/// The width of the fields' labels.
const LABEL: usize = 21;

pub fn draw(f: &mut Frame, area: Rect, form: &SetupForm, theme: &Theme) {
    f.render_widget(Clear, area);
    let block = pane_block(" tern: set up your mail account ".into(), true, theme);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let width = usize::from(inner.width).max(1);
    let dim = Style::default().fg(theme.dim);
    let intro = "No config yet: tern finds your servers, logs in to each, and only then writes \
                 the account to the config.";
    let mut lines: Vec<Line> = wrap(intro, width)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, dim)))
        .collect();
    lines.push(Line::default());
    for (i, label) in FIELDS.iter().enumerate() {
        lines.push(field(form, i, label, theme));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        status(form),
        state_style(form, theme),
    )));
    if let Some(e) = &form.error {
        lines.extend(
            wrap(&format!("✗ {}", sanitize::line(e)), width)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, Style::default().fg(theme.error)))),
        );
    }
    lines.push(Line::from(Span::styled("─".repeat(width), dim)));
    // What discovery and the check said: the newest lines that fit.
    let room = usize::from(inner.height).saturating_sub(lines.len());
    let said: Vec<String> = form
        .lines
        .iter()
        .flat_map(|l| wrap(&sanitize::line(l), width))
        .collect();
    let from = said.len().saturating_sub(room);
    lines.extend(said[from..].iter().map(|l| Line::from(l.clone())));
    f.render_widget(Paragraph::new(lines), inner);
}

/// One field: its label, its text, the cursor when it is the one typed in.
fn field(form: &SetupForm, i: usize, label: &str, theme: &Theme) -> Line<'static> {
    let focused = form.phase == Phase::Editing && form.focus == i;
    let label_style = if focused {
        Style::default()
            .fg(theme.accent)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default().fg(theme.dim)
    };
    let text = if i == PASSWORD {
        "•".repeat(form.fields[i].chars().count())
    } else {
        sanitize::line(&form.fields[i])
    };
    let mut spans = vec![
        Span::styled(format!("{label:<LABEL$}"), label_style),
        Span::raw(text),
    ];
    if focused {
        spans.push(Span::styled(
            " ",
            Style::default().add_modifier(Modifier::REVERSED),
        ));
    }
    Line::from(spans)
}

/// What to do now, or what is happening.
fn status(form: &SetupForm) -> String {
    match form.phase {
        Phase::Editing if form.error.is_some() => {
            "Edit and press enter to try again · tab: next field · esc: quit".into()
        }
        Phase::Editing => {
            "tab: next field · enter on a way to sign in: find the servers · esc: quit".into()
        }
        Phase::Running => "Discovering the servers and checking them...".into(),
        Phase::Written => "✓ Account written: opening your INBOX (any key: now)".into(),
    }
}

fn state_style(form: &SetupForm, theme: &Theme) -> Style {
    match form.phase {
        Phase::Editing => Style::default().fg(theme.dim),
        Phase::Running | Phase::Written => Style::default()
            .fg(theme.accent)
            .add_modifier(Modifier::BOLD),
    }
}

/// A line cut into rows of at most `width` columns: at the last space of a row when there is
/// one in its second half, else where the row is full (a URL).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let cols = |s: &str| s.chars().map(|c| c.width().unwrap_or(0)).sum::<usize>();
    let mut rows = vec![String::new()];
    for c in text.chars() {
        let Some(row) = rows.last_mut() else { break };
        if cols(row) + c.width().unwrap_or(0) > width {
            let next = match row.rfind(' ') {
                Some(at) if cols(&row[..at]) > width / 2 => {
                    let tail = row[at + 1..].to_string();
                    row.truncate(at);
                    tail
                }
                _ => String::new(),
            };
            rows.push(next);
        }
        if let Some(row) = rows.last_mut() {
            row.push(c);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::app::firststart::{Phase, SetupForm};
    use crate::app::overlay::Overlay;
    use crate::app::state::AppState;
    use crate::config::Layout;
    use crate::ui::theme::Theme;

    fn screen(form: SetupForm) -> Terminal<TestBackend> {
        let mut state = AppState::new(Layout::Auto, "tern");
        state.size = ratatui::layout::Rect::new(0, 0, 80, 24);
        state.overlays.push(Overlay::Setup(Box::new(form)));
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| crate::ui::draw(f, &state, &Theme::default()))
            .unwrap();
        t
    }

    fn fields() -> [String; 5] {
        [
            "alice@example.test".into(),
            "Alice Example".into(),
            String::new(),
            "pass show mail/alice".into(),
            String::new(),
        ]
    }

    #[test]
    fn the_setup_screen_asks_then_shows_each_step() {
        let empty = screen(SetupForm::default());
        insta::assert_snapshot!("setup_empty", empty.backend());

        let mut form = SetupForm {
            fields: fields(),
            phase: Phase::Running,
            ..Default::default()
        };
        form.lines = vec![
            "tern's provider list: not there".into(),
            "autoconfig https://autoconfig.example.test/mail/config-v1.1.xml?emailaddress=alice@example.test: \
             error sending request: dns error: no record found"
                .into(),
            "SRV records: imap localhost:993, smtp localhost:587".into(),
            "MX records: not waited for (a source above it knew)".into(),
            "found in the SRV records of example.test".into(),
            "example: imap localhost:993 ok (IDLE MOVE)".into(),
        ];
        insta::assert_snapshot!("setup_running", screen(form.clone()).backend());

        form.phase = Phase::Editing;
        form.focus = 3;
        form.lines.push(
            "example: smtp localhost:587 FAILED: authentication failed \x1b[31m— hint: check the password"
                .into(),
        );
        form.error = Some("a server did not work; nothing written".into());
        let failed = screen(form.clone());
        insta::assert_snapshot!("setup_failed", failed.backend());

        form.phase = Phase::Written;
        form.error = None;
        form.lines.pop();
        form.lines
            .push("account \"example\" written to /home/alice/.config/tern/config.toml".into());
        insta::assert_snapshot!("setup_written", screen(form).backend());
    }

    #[test]
    fn the_password_is_never_drawn() {
        let mut f = fields();
        f[2] = "hunter2".into();
        f[3] = String::new();
        let t = screen(SetupForm {
            fields: f,
            ..Default::default()
        });
        let text: String = t
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("•••••••"), "{text}");
    }

    #[test]
    fn long_lines_wrap_and_the_newest_stay_in_view() {
        assert_eq!(super::wrap("abcdef", 4), ["abcd", "ef"]);
        assert_eq!(super::wrap("ab cdef gh", 6), ["ab cde", "f gh"]);
        assert_eq!(super::wrap("abcd efgh", 6), ["abcd", "efgh"]);
        assert_eq!(super::wrap("日本語", 4), ["日本", "語"]);
        let form = SetupForm {
            fields: fields(),
            phase: Phase::Running,
            lines: (0..40).map(|i| format!("line {i}")).collect(),
            ..Default::default()
        };
        let t = screen(form);
        let text: String = t
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(
            text.contains("line 39") && !text.contains("line 0 "),
            "{text}"
        );
    }
}
