//! Colours by element, with the config's `[theme]` overrides.

use std::collections::BTreeMap;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

use crate::config::ThemeConfig;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// False under NO_COLOR: every colour is the terminal's default.
    pub color: bool,
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

/// The default colours, kept in assets/theme.toml.
const DEFAULT_THEME: &str = include_str!("../../assets/theme.toml");

impl Default for Theme {
    fn default() -> Self {
        let mut t = Theme::default_with(Color::Reset);
        // A unit test proves the bundled file parses; a broken one would leave plain colours.
        let defaults: BTreeMap<String, String> = toml::from_str(DEFAULT_THEME).unwrap_or_default();
        t.apply(&defaults);
        t
    }
}

impl Theme {
    /// The defaults with the configured colours applied (the config validated them already);
    /// with `no_color` (the NO_COLOR convention) no colours at all: emphasis by bold and
    /// reverse video only.
    pub fn from_config(cfg: &ThemeConfig, no_color: bool) -> Theme {
        if no_color {
            return Theme::monochrome();
        }
        let mut t = Theme::default();
        t.apply(&cfg.colors);
        t
    }

    /// Whether the NO_COLOR convention asks for no colours (set and not empty).
    pub fn no_color_from_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    fn monochrome() -> Theme {
        Theme::default_with(Color::Reset).with_color(false)
    }

    fn with_color(self, color: bool) -> Theme {
        Theme { color, ..self }
    }

    fn default_with(c: Color) -> Theme {
        Theme {
            color: true,
            accent: c,
            border: c,
            border_focused: c,
            selection_bg: c,
            selection_fg: c,
            unread: c,
            flagged: c,
            dim: c,
            header_name: c,
            quote: [c; 3],
            link: c,
            status_bg: c,
            status_fg: c,
            error: c,
        }
    }

    fn apply(&mut self, colors: &BTreeMap<String, String>) {
        for (name, value) in colors {
            let Ok(c) = Color::from_str(value) else {
                continue;
            };
            let slot = match name.as_str() {
                "accent" => &mut self.accent,
                "border" => &mut self.border,
                "border_focused" => &mut self.border_focused,
                "selection_bg" => &mut self.selection_bg,
                "selection_fg" => &mut self.selection_fg,
                "unread" => &mut self.unread,
                "flagged" => &mut self.flagged,
                "dim" => &mut self.dim,
                "header_name" => &mut self.header_name,
                "quote1" => &mut self.quote[0],
                "quote2" => &mut self.quote[1],
                "quote3" => &mut self.quote[2],
                "link" => &mut self.link,
                "status_bg" => &mut self.status_bg,
                "status_fg" => &mut self.status_fg,
                "error" => &mut self.error,
                _ => continue,
            };
            *slot = c;
        }
    }

    pub fn selected(&self) -> Style {
        if self.color {
            Style::default().bg(self.selection_bg).fg(self.selection_fg)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn unread_style(&self) -> Style {
        Style::default()
            .fg(self.unread)
            .add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_theme_parses_and_sets_every_element() {
        let colors: BTreeMap<String, String> = toml::from_str(DEFAULT_THEME).unwrap();
        let names: Vec<&str> = colors.keys().map(String::as_str).collect();
        let mut want = crate::config::THEME_ELEMENTS.to_vec();
        want.sort_unstable();
        assert_eq!(names, want);
        for v in colors.values() {
            assert!(Color::from_str(v).is_ok(), "{v}");
        }
        let t = Theme::default();
        assert_eq!(t.accent, Color::Cyan);
        assert_eq!(t.selection_bg, Color::Indexed(238));
    }

    #[test]
    fn no_color_means_no_colours() {
        let mut cfg = ThemeConfig::default();
        cfg.colors.insert("accent".into(), "red".into());
        assert_eq!(Theme::from_config(&cfg, false).accent, Color::Red);
        let t = Theme::from_config(&cfg, true);
        assert_eq!(t, Theme::default_with(Color::Reset).with_color(false));
        assert!(t.selected().add_modifier.contains(Modifier::REVERSED));
    }
}
