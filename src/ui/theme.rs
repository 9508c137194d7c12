//! Colours by element, with the config's `[theme]` overrides.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

use crate::config::ThemeConfig;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub accent: Color,
    pub border: Color,
    pub border_focused: Color,
    pub selection_bg: Color,
    pub selection_fg: Color,
    pub unread: Color,
    pub flagged: Color,
    pub dim: Color,
    pub header_name: Color,
    pub quote: [Color; 3],
    pub link: Color,
    pub status_bg: Color,
    pub status_fg: Color,
    pub error: Color,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            accent: Color::Cyan,
            border: Color::DarkGray,
            border_focused: Color::Cyan,
            selection_bg: Color::Indexed(238),
            selection_fg: Color::White,
            unread: Color::White,
            flagged: Color::Red,
            dim: Color::Gray,
            header_name: Color::Yellow,
            quote: [Color::Green, Color::Blue, Color::Magenta],
            link: Color::LightBlue,
            status_bg: Color::Indexed(236),
            status_fg: Color::Gray,
            error: Color::LightRed,
        }
    }
}

impl Theme {
    /// Defaults with the configured colours applied (the config validated them already).
    pub fn from_config(cfg: &ThemeConfig) -> Theme {
        let mut t = Theme::default();
        for (name, value) in &cfg.colors {
            let Ok(c) = Color::from_str(value) else {
                continue;
            };
            let slot = match name.as_str() {
                "accent" => &mut t.accent,
                "border" => &mut t.border,
                "border_focused" => &mut t.border_focused,
                "selection_bg" => &mut t.selection_bg,
                "selection_fg" => &mut t.selection_fg,
                "unread" => &mut t.unread,
                "flagged" => &mut t.flagged,
                "dim" => &mut t.dim,
                "header_name" => &mut t.header_name,
                "quote1" => &mut t.quote[0],
                "quote2" => &mut t.quote[1],
                "quote3" => &mut t.quote[2],
                "link" => &mut t.link,
                "status_bg" => &mut t.status_bg,
                "status_fg" => &mut t.status_fg,
                "error" => &mut t.error,
                _ => continue,
            };
            *slot = c;
        }
        t
    }

    pub fn selected(&self) -> Style {
        Style::default().bg(self.selection_bg).fg(self.selection_fg)
    }

    pub fn unread_style(&self) -> Style {
        Style::default()
            .fg(self.unread)
            .add_modifier(Modifier::BOLD)
    }
}
