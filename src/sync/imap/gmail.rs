//! Gmail's labels (X-GM-EXT-1): what X-GM-LABELS says of a message, made into the read-only
//! tags the cache keeps. Asked for only when the server offers X-GM-EXT-1: any other server
//! answers BAD to the item.

use std::borrow::Cow;

/// Labels kept per message; the rest are left out.
pub const MAX_LABELS: usize = 50;

/// Characters kept of one label.
pub const MAX_LABEL_CHARS: usize = 200;

/// Bytes of a label looked at before decoding (a label longer than this is cut anyway).
const MAX_RAW_BYTES: usize = 4 * MAX_LABEL_CHARS;

/// The capability that says X-GM-LABELS can be asked for.
pub const CAPABILITY: &str = "X-GM-EXT-1";

/// The labels of one message as imap-proto read them (quoted strings with their escapes still
/// in, atoms as they are), cleaned: escapes undone, a system label's backslash dropped
/// (`\Inbox` is shown as `Inbox`), modified UTF-7 decoded as in mailbox names, sanitized to
/// one line, cut to [`MAX_LABEL_CHARS`]; empty ones and repeats left out, at most
/// [`MAX_LABELS`]. Never contains a line end (the cache joins them with one).
pub fn clean<'a>(raw: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for label in raw {
        if out.len() == MAX_LABELS {
            break;
        }
        let label = one(label);
        if !label.is_empty() && !out.contains(&label) {
            out.push(label);
        }
    }
    out
}

/// The labels from a FETCH response's X-GM-LABELS, cleaned.
pub(super) fn of(labels: &[Cow<'_, str>]) -> Vec<String> {
    clean(labels.iter().map(|l| l.as_ref()))
}

fn one(raw: &str) -> String {
    let mut end = raw.len().min(MAX_RAW_BYTES);
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    let text = unescape(&raw[..end]);
    let text = text.strip_prefix('\\').unwrap_or(&text);
    let text = crate::domain::sanitize::line(&crate::sync::mutf7::decode(text));
    text.trim()
        .chars()
        .take(MAX_LABEL_CHARS)
        .collect::<String>()
}

/// A quoted string's escapes (`\\`, `\"`) undone; any other backslash kept.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(&next @ ('\\' | '"'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[path = "gmail_tests.rs"]
mod tests;
