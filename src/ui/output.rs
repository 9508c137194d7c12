//! The output of a command the message was piped to: a scrollable popup over the panes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::pane_block;
use super::popups::centered;
use super::theme::Theme;
use crate::app::command::Output;

/// The popup: most of the screen, the command in its title, the lines from `scroll` on
/// (already sanitised by `update`).
pub fn draw(f: &mut Frame, area: Rect, o: &Output, theme: &Theme) {
    let popup = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    f.render_widget(Clear, popup);
    let state = if o.running.is_some() { "running, " } else { "" };
    let block = pane_block(
        format!(" | {} ({state}j/k scroll, esc closes) ", o.title),
        true,
        theme,
    );
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    let lines: Vec<Line> = if o.lines.is_empty() {
        let text = if o.running.is_some() {
            "waiting for the command..."
        } else {
            "(no output)"
        };
        vec![Line::from(Span::styled(
            text,
            Style::default().fg(theme.dim),
        ))]
    } else {
        o.lines
            .iter()
            .skip(o.scroll)
            .take(inner.height as usize)
            .map(|l| Line::raw(l.as_str()))
            .collect()
    };
    f.render_widget(Paragraph::new(lines), inner);
}
