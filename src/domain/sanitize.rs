//! The one sanitiser for text that came from mail or from a server, applied before any of it
//! reaches a terminal cell.
//!
//! Hand-written: the crates that strip ANSI (strip-ansi-escapes, console) handle CSI/OSC from
//! well-behaved programs but not C1 controls, DCS/APC/PM strings, bidi overrides or zero-width
//! characters in addresses, which are what hostile mail uses. The rules are small and tested here.

use unicode_width::UnicodeWidthChar;

/// Width of a tab stop when tabs are expanded.
pub const TAB_WIDTH: usize = 8;

/// Shown in headers where a bidi control or an invisible character was.
pub const MARK: char = '\u{FFFD}';

/// Bidirectional formatting characters that can reorder what a user sees.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Invisible characters that can make two addresses look alike.
fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}' | '\u{00AD}'
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Body text: newlines kept, bidi controls dropped, zero-width left alone (needed by some scripts).
    Body,
    /// One header line: newlines become spaces, bidi controls replaced by [`MARK`].
    Header,
    /// An address: like a header, and zero-width characters are marked too.
    Address,
}

/// Sanitise multi-line body text: escape sequences and control characters removed, tabs
/// expanded, CR LF folded to LF, bidi controls removed.
pub fn body(s: &str) -> String {
    clean(s, Mode::Body)
}

/// Sanitise text for a single line (subject, display name, folder name, server message).
/// Bidi controls are replaced by a visible mark.
pub fn line(s: &str) -> String {
    clean(s, Mode::Header)
}

/// A file name from a message (an attachment's name) made safe to create in a directory: only
/// its last path component, no control or bidi characters, no characters other systems
/// reserve, no leading dots (hidden files, `..`), at most 200 bytes; "attachment" when nothing
/// is left.
pub fn file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = clean(last, Mode::Header)
        .chars()
        .map(|c| {
            if matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') || c == MARK {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches(['.', ' ']).trim_end();
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > 200 {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        "attachment".to_string()
    } else {
        out
    }
}

/// Sanitise an address or a display name shown next to one: like [`line`], and zero-width
/// characters are made visible.
pub fn address(s: &str) -> String {
    clean(s, Mode::Address)
}

/// Only the escape sequences removed, whole (CSI, OSC/DCS/APC/PM/SOS strings, their C1 forms,
/// two-character escapes); everything else kept as it is. For text another converter reads
/// before it is shown: HTML source goes through this before html2text, which drops the control
/// bytes but would keep the rest of each sequence (`]8;;http://...`) as text.
pub fn escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\u{9b}' => skip_csi(&mut chars),
            c => out.push(c),
        }
    }
    out
}

/// A JSON value for output, every string in it (and every key) sanitised like [`line`]:
/// serde_json escapes C0 controls but writes C1 controls and bidi overrides as they are, and
/// whatever reads the JSON may print them.
pub fn json(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(line(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(json).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (line(&k), json(v))).collect())
        }
        other => other,
    }
}

fn clean(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    let mut col = 0usize;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 introducers of strings (DCS, SOS, OSC, PM, APC): skip to the terminator.
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            // C1 CSI: skip parameters up to the final byte.
            '\u{9b}' => skip_csi(&mut chars),
            '\n' => {
                if mode == Mode::Body {
                    out.push('\n');
                    col = 0;
                } else {
                    push_space(&mut out, &mut col);
                }
            }
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    continue;
                }
                if mode == Mode::Body {
                    out.push('\n');
                    col = 0;
                } else {
                    push_space(&mut out, &mut col);
                }
            }
            '\t' => {
                if mode == Mode::Body {
                    let n = TAB_WIDTH - col % TAB_WIDTH;
                    out.extend(std::iter::repeat_n(' ', n));
                    col += n;
                } else {
                    push_space(&mut out, &mut col);
                }
            }
            ' ' if mode != Mode::Body => push_space(&mut out, &mut col),
            c if c.is_control() => {} // other C0, DEL and C1 controls
            c if is_bidi_control(c) => {
                if mode != Mode::Body {
                    out.push(MARK);
                    col += 1;
                }
            }
            c if is_zero_width(c) && mode == Mode::Address => {
                out.push(MARK);
                col += 1;
            }
            '\u{2028}' | '\u{2029}' => {
                if mode == Mode::Body {
                    out.push('\n');
                    col = 0;
                } else {
                    push_space(&mut out, &mut col);
                }
            }
            c => {
                out.push(c);
                col += c.width().unwrap_or(0);
            }
        }
    }
    if mode != Mode::Body {
        let trimmed = out.trim();
        if trimmed.len() != out.len() {
            return trimmed.to_string();
        }
    }
    out
}

/// Headers fold runs of whitespace into one space.
fn push_space(out: &mut String, col: &mut usize) {
    if !out.ends_with(' ') {
        out.push(' ');
        *col += 1;
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After ESC: skip the rest of the sequence (CSI, OSC/DCS/APC/PM/SOS strings, two-char escapes).
fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        // nF escapes: intermediates 0x20-0x2F then one final byte.
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while let Some(&n) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&n) {
                    break;
                }
            }
        }
        _ => {} // two-character escape (ESC c, ESC 7, ...) or a lone ESC at the end
    }
}

/// Skip CSI parameters and intermediates up to and including the final byte (0x40-0x7E).
/// A control character or a non-ASCII char ends a malformed sequence without eating text.
fn skip_csi(chars: &mut Chars<'_>) {
    while let Some(&c) = chars.peek() {
        if ('\u{20}'..='\u{3f}').contains(&c) {
            chars.next();
        } else if ('\u{40}'..='\u{7e}').contains(&c) {
            chars.next();
            return;
        } else {
            return;
        }
    }
}

/// Skip a control string up to its terminator: BEL, ESC \ (ST) or C1 ST (0x9C).
/// Bounded: a string with no terminator swallows at most 4096 characters, so a message
/// cannot hide its whole body behind an unterminated OSC.
fn skip_string(chars: &mut Chars<'_>) {
    for _ in 0..4096 {
        match chars.next() {
            None | Some('\u{07}') | Some('\u{9c}') => return,
            Some('\u{1b}') => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_removes_whole_sequences_and_keeps_the_rest() {
        assert_eq!(
            escapes(
                "<p>\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\\t\x1b[31mred\u{9b}0m\u{9d}0;t\x07</p>\r\n"
            ),
            "<p>click\tred</p>\r\n"
        );
        assert_eq!(escapes("a\x1bPq\x1b\\b\u{90}x\u{9c}c\x1b"), "abc");
    }

    #[test]
    fn json_strings_and_keys_lose_c1_and_bidi() {
        let v = serde_json::json!({
            "k\u{9b}": ["a\u{90}x\u{9c}b", {"r": "550 \u{202e}no\u{2066}"}],
            "n": 7,
        });
        let out = json(v).to_string();
        assert_eq!(
            out,
            "{\"k\":[\"ab\",{\"r\":\"550 \u{fffd}no\u{fffd}\"}],\"n\":7}"
        );
    }

    #[test]
    fn strips_csi_osc_dcs_and_c1() {
        assert_eq!(line("a\x1b[2Jb\x1b[31;1mc"), "abc");
        assert_eq!(line("x\x1b]0;pwned\x07y"), "xy");
        assert_eq!(
            line("\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"),
            "click"
        );
        assert_eq!(line("p\x1bPq#0;2;0;0;0\x1b\\q"), "pq");
        assert_eq!(line("c1\u{9b}31mred\u{9d}0;t\u{9c}!"), "c1red!");
        assert_eq!(line("bell\x07 nul\0 del\x7f"), "bell nul del");
        assert_eq!(line("esc at end\x1b"), "esc at end");
        assert_eq!(line("keep \x1b(Bcharset"), "keep charset");
    }

    #[test]
    fn unterminated_string_is_bounded() {
        let hostile = format!("\x1b]0;{}", "x".repeat(10_000));
        let out = body(&hostile);
        // "0;" and 4094 x are swallowed, the rest is shown.
        assert_eq!(out.len(), 10_000 - 4094);
    }

    #[test]
    fn bidi_marked_in_headers_removed_in_bodies() {
        assert_eq!(line("Bank\u{202E}gnp.exe"), "Bank\u{FFFD}gnp.exe");
        assert_eq!(body("abc\u{202E}def\u{2066}"), "abcdef");
    }

    #[test]
    fn zero_width_visible_in_addresses_only() {
        assert_eq!(
            address("pay\u{200B}pal@example.com"),
            "pay\u{FFFD}pal@example.com"
        );
        assert_eq!(line("pay\u{200B}pal"), "pay\u{200B}pal");
    }

    #[test]
    fn tabs_and_newlines() {
        assert_eq!(body("a\tb"), "a       b");
        assert_eq!(body("abcdefgh\tx"), "abcdefgh        x");
        assert_eq!(body("l1\r\nl2\rl3"), "l1\nl2\nl3");
        assert_eq!(line(" Re:\r\n\t folded  subject "), "Re: folded subject");
    }

    #[test]
    fn plain_text_untouched() {
        let s = "Grüße, 日本語 — “quotes” and emoji 🎉";
        assert_eq!(line(s), s);
        assert_eq!(body(s), s);
    }
}

#[cfg(test)]
mod file_name_tests {
    use super::file_name;

    #[test]
    fn attachment_names_cannot_leave_the_directory_or_hide() {
        assert_eq!(file_name("report.pdf"), "report.pdf");
        assert_eq!(file_name("../../.bashrc"), "bashrc");
        assert_eq!(file_name("C:\\Windows\\evil.exe"), "evil.exe");
        assert_eq!(file_name("/etc/passwd"), "passwd");
        assert_eq!(file_name(".."), "attachment");
        assert_eq!(file_name(""), "attachment");
        assert_eq!(file_name("a\u{1b}[31mb\u{202E}fdp.exe"), "ab_fdp.exe");
        assert_eq!(file_name("what?.txt"), "what_.txt");
        assert!(file_name(&"x".repeat(500)).len() <= 200);
    }
}
