//! Formatting helpers for the view: dates relative to the clock, sizes, fitting text to width.

use chrono::{DateTime, Datelike, FixedOffset, TimeZone};
use unicode_width::UnicodeWidthChar;

use crate::app::state::Clock;

fn local(clock: Clock, ts: i64) -> Option<DateTime<FixedOffset>> {
    let tz = FixedOffset::east_opt(clock.utc_offset).or_else(|| FixedOffset::east_opt(0))?;
    tz.timestamp_opt(ts, 0).single()
}

/// A list row's correspondent, marked `⚠` when the sender's address alone looks spoofed
/// (its display name, its domain's spelling: `domain::verdict::suspect`; the checks that
/// need the body or the known domains are the reader's).
pub fn mark_suspect(from: &[crate::domain::Address], who: String) -> String {
    if crate::domain::verdict::suspect(from) {
        format!("⚠ {who}")
    } else {
        who
    }
}

/// List date: the time today, the weekday this week, day and month this year, else the full date.
pub fn list_date(clock: Clock, ts: i64) -> String {
    if ts <= 0 {
        return "—".into(); // no usable date on the message
    }
    let (Some(d), Some(now)) = (local(clock, ts), local(clock, clock.now)) else {
        return String::new();
    };
    if d.date_naive() == now.date_naive() {
        d.format("%H:%M").to_string()
    } else if d <= now && (now.date_naive() - d.date_naive()).num_days() < 7 {
        d.format("%a").to_string()
    } else if d.year() == now.year() {
        d.format("%d %b").to_string()
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

/// Reader date: full, in local time.
pub fn full_date(clock: Clock, ts: i64) -> String {
    local(clock, ts)
        .map(|d| d.format("%a, %d %b %Y %H:%M").to_string())
        .unwrap_or_default()
}

pub fn size(bytes: usize) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b < K {
        format!("{bytes} B")
    } else if b < K * K {
        format!("{:.0} KB", b / K)
    } else {
        format!("{:.1} MB", b / K / K)
    }
}

/// The message list's columns for a pane `width` columns wide (inside its border) whose
/// widest date shown is `date` columns: [flags, date, correspondent]; the subject takes the
/// rest. The correspondent gets about three tenths of the width (10 to 28 columns), so at
/// 80x24 the subject keeps most of the row.
pub fn list_columns(width: u16, date: u16) -> [u16; 3] {
    const FLAGS: u16 = 4;
    let date = date.clamp(5, 10);
    let who = (width * 3 / 10).clamp(10, 28);
    [FLAGS, date, who]
}

/// Cut `s` to at most `width` terminal columns, with an ellipsis when cut.
pub fn fit(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut w = 0;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return s.to_string();
    }
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// `s` in at most `width` columns, cut at a word's end with an ellipsis when too long (a
/// single word longer than the width is cut, with the ellipsis).
pub fn fit_words(s: &str, width: usize) -> String {
    let cut = fit(s, width);
    if !cut.ends_with('…') {
        return cut;
    }
    let kept = &cut[..cut.len() - '…'.len_utf8()];
    if kept.ends_with(char::is_whitespace) || s[kept.len()..].starts_with(char::is_whitespace) {
        return format!("{}…", kept.trim_end()); // cut between words
    }
    match kept.trim_end().rfind(char::is_whitespace) {
        Some(i) if i > 0 => format!("{}…", kept[..i].trim_end()),
        _ => cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-24 12:00 UTC, a Tuesday.
    const NOW: i64 = 1_795_521_600;

    #[test]
    fn dates_relative_to_now() {
        let c = Clock {
            now: NOW,
            utc_offset: 0,
        };
        assert_eq!(list_date(c, NOW - 3600), "11:00");
        assert_eq!(list_date(c, NOW - 2 * 86400), "Sun");
        assert_eq!(list_date(c, NOW - 30 * 86400), "25 Oct");
        assert_eq!(list_date(c, NOW - 400 * 86400), "2025-10-20");
        let tokyo = Clock {
            now: NOW,
            utc_offset: 9 * 3600,
        };
        assert_eq!(list_date(tokyo, NOW - 3600), "20:00");
    }

    #[test]
    fn list_columns_leave_the_subject_most_of_a_small_pane() {
        // 80x24: the list pane is 60 columns inside its border.
        let [flags, date, who] = list_columns(60, 5);
        let subject = 60 - flags - date - who - 3;
        assert!(subject >= 30, "{subject}");
        assert_eq!(who, 18);
        // Dates as wide as they are, up to a full one.
        assert_eq!(list_columns(60, 10)[1], 10);
        // A wide pane: the correspondent stops growing.
        assert_eq!(list_columns(200, 6)[2], 28);
        assert_eq!(list_columns(20, 6)[2], 10);
    }

    #[test]
    fn fit_counts_columns() {
        assert_eq!(fit("hello", 10), "hello");
        assert_eq!(fit("hello world", 6), "hello…");
        assert_eq!(fit("日本語テキスト", 7), "日本語…");
        assert_eq!(size(2048), "2 KB");
        assert_eq!(
            fit_words("connection refused by host", 30),
            "connection refused by host"
        );
        assert_eq!(fit_words("connection refused by host", 16), "connection…");
        assert_eq!(
            fit_words("connection refused by host", 19),
            "connection refused…"
        );
        assert_eq!(fit_words("unbreakable", 6), "unbre…");
        assert_eq!(
            fit_words("log in to a.b:993: the server", 20),
            "log in to a.b:993:…"
        );
    }
}
