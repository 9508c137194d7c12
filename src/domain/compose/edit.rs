//! The text the user edits (the header fields they may change, a blank line, the body) and
//! reading it back. What cannot be read is never dropped: the caller gets the whole text back
//! with what to fix ([`Rejected`]), to hand to the editor again with a note on top
//! ([`annotate`]); the notes are removed when the text is read back.

use super::{Address, Draft, format_address, format_list};

/// The start of the note lines tern writes at the top of a text it hands back.
pub const NOTE: &str = "# tern:";

/// The header fields the text may set.
const FIELDS: &[&str] = &["from", "to", "cc", "bcc", "subject"];

/// Edited text that cannot be sent as it is: what to fix, and the text as the user wrote it
/// (without tern's notes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub problem: String,
    pub text: String,
}

/// The text the user edits: the header fields they may change, a blank line, the body.
pub fn editable(d: &Draft) -> String {
    format!(
        "From: {}\nTo: {}\nCc: {}\nBcc: {}\nSubject: {}\n\n{}",
        format_address(&d.from),
        format_list(&d.to),
        format_list(&d.cc),
        format_list(&d.bcc),
        d.subject,
        d.body
    )
}

/// The text without tern's note lines (and with `\n` line ends).
pub fn strip_notes(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    text.split_inclusive('\n')
        .filter(|l| !l.starts_with(NOTE))
        .collect()
}

/// The text to hand back to the editor: a note saying what to fix, then the text.
pub fn annotate(text: &str, problem: &str) -> String {
    format!(
        "{NOTE} {problem}. Fix it, save and quit; lines starting with \"{NOTE}\" are removed.\n{}",
        strip_notes(text)
    )
}

/// Read the edited text back onto `base`; when it cannot be sent as it is, the whole text
/// and what to fix.
pub fn read_back(text: &str, base: &Draft) -> Result<Draft, Rejected> {
    parse_editable(text, base).map_err(|problem| Rejected {
        problem,
        text: strip_notes(text),
    })
}

/// A line quoted in a note: one short line, control characters escaped.
fn quoted(line: &str) -> String {
    let short: String = line.trim().chars().take(40).collect();
    let more = if short.chars().count() < line.trim().chars().count() {
        "…"
    } else {
        ""
    };
    format!("{short:?}{more}")
}

/// The header block checked line by line: only known fields (with continuation lines), and
/// nothing above them.
fn check_head(head: &[&str]) -> Result<(), String> {
    if head.is_empty() {
        return Err("the header fields must come first: remove the blank line above them".into());
    }
    let mut in_field = false;
    for line in head {
        if line.starts_with([' ', '\t']) && in_field {
            continue;
        }
        let name = line
            .split_once(':')
            .map(|(n, _)| n)
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic() && b != b':'));
        match name {
            Some(n) if FIELDS.contains(&n.to_ascii_lowercase().as_str()) => in_field = true,
            Some(n) => {
                return Err(format!(
                    "unknown header field {}: only From, To, Cc, Bcc and Subject can be set",
                    quoted(n)
                ));
            }
            None if !in_field => {
                return Err(format!(
                    "text above the header fields: {}: move it under the blank line",
                    quoted(line)
                ));
            }
            None => {
                return Err(format!(
                    "not a header field: {}: the text goes under the blank line",
                    quoted(line)
                ));
            }
        }
    }
    Ok(())
}

/// Read back what the user edited onto `base` (which keeps what is not editable: the reply
/// headers and the attachments). tern's note lines are removed first.
pub fn parse_editable(text: &str, base: &Draft) -> Result<Draft, String> {
    let text = strip_notes(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let Some(blank) = lines.iter().position(|l| l.trim().is_empty()) else {
        return Err("no blank line between the header fields and the text".into());
    };
    check_head(&lines[..blank])?;
    let head = format!("{}\n", lines[..blank].join("\n"));
    let mut d = base.clone();
    d.body = lines[blank + 1..].join("\n");
    let parsed = mail_parser::MessageParser::default()
        .parse_headers(head.as_bytes())
        .ok_or("the header fields cannot be read")?;
    let list = |h: mail_parser::HeaderName<'static>, field: &str| -> Result<Vec<Address>, String> {
        let Some(l) = parsed.header(h).and_then(|v| v.as_address()) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for a in l.iter() {
            match a.address().map(str::trim).filter(|e| e.contains('@')) {
                Some(e) => out.push(Address {
                    name: a.name().map(str::to_string),
                    email: e.to_string(),
                }),
                None => {
                    let what = a.name().or(a.address()).unwrap_or_default();
                    if !what.trim().is_empty() {
                        return Err(format!("not an address: {} ({field})", quoted(what)));
                    }
                }
            }
        }
        Ok(out)
    };
    use mail_parser::HeaderName as H;
    d.to = list(H::To, "To")?;
    d.cc = list(H::Cc, "Cc")?;
    d.bcc = list(H::Bcc, "Bcc")?;
    if let Some(f) = list(H::From, "From")?.into_iter().next() {
        d.from = f;
    }
    d.subject = parsed.subject().unwrap_or_default().to_string();
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Draft {
        Draft {
            from: Address {
                name: Some("Me".into()),
                email: "me@example.test".into(),
            },
            in_reply_to: Some("p@x".into()),
            ..Draft::default()
        }
    }

    const TYPO: &str = "From: Me <me@example.test>\nTo: al\nCc: \nBcc: \nSubject: plans\n\n\
                        Dear Al,\nthe plan is ready.\n";

    #[test]
    fn a_bad_address_gives_back_the_whole_text_and_what_to_fix() {
        let r = read_back(TYPO, &base()).unwrap_err();
        assert_eq!(r.problem, "not an address: \"al\" (To)");
        assert_eq!(r.text, TYPO, "every character the user wrote");
        let again = annotate(&r.text, &r.problem);
        assert_eq!(
            again.lines().next().unwrap(),
            "# tern: not an address: \"al\" (To). Fix it, save and quit; lines starting with \
             \"# tern:\" are removed."
        );
        assert!(again.ends_with(TYPO));
        // Fixed in the editor, the note still on top: it is removed, the text reads back.
        let fixed = again.replace("To: al\n", "To: al@example.test\n");
        let d = read_back(&fixed, &base()).unwrap();
        assert_eq!(d.to[0].email, "al@example.test");
        assert_eq!(d.body, "Dear Al,\nthe plan is ready.\n");
        assert_eq!(d.subject, "plans");
        assert_eq!(d.in_reply_to.as_deref(), Some("p@x"));
        // Annotated twice: one note, the newest.
        let twice = annotate(&annotate(TYPO, "one"), "two");
        assert_eq!(twice.matches(NOTE).count(), 1 + 1, "{twice}");
        assert!(twice.starts_with("# tern: two."));
    }

    #[test]
    fn text_above_the_header_fields_is_kept_and_named() {
        let text = format!("Remember the slides!\n{TYPO}").replace("To: al", "To: al@x.test");
        let r = read_back(&text, &base()).unwrap_err();
        assert_eq!(
            r.problem,
            "text above the header fields: \"Remember the slides!\": move it under the blank line"
        );
        assert_eq!(r.text, text);
        // Above the fields with a blank line between: still not dropped.
        let text = format!("Remember\n\n{TYPO}");
        assert!(
            read_back(&text, &base())
                .unwrap_err()
                .problem
                .starts_with("text above")
        );
        let r = read_back(&format!("\n{TYPO}"), &base()).unwrap_err();
        assert!(r.problem.contains("must come first"), "{}", r.problem);
    }

    #[test]
    fn unknown_fields_and_stray_lines_are_named() {
        let text = TYPO.replace("To: al", "To: al@x.test\nX-Priority: 1");
        let r = read_back(&text, &base()).unwrap_err();
        assert_eq!(
            r.problem,
            "unknown header field \"X-Priority\": only From, To, Cc, Bcc and Subject can be set"
        );
        let text = TYPO.replace("To: al", "To: al@x.test\nhello there");
        let r = read_back(&text, &base()).unwrap_err();
        assert!(r.problem.starts_with("not a header field: \"hello there\""));
        // Continuation lines and any case are fine.
        let text = TYPO.replace("To: al", "to: al@x.test,\n  bo@x.test");
        let d = read_back(&text, &base()).unwrap();
        assert_eq!(d.to.len(), 2);
        assert!(read_back("no blank line", &base()).is_err());
        // CRLF from the editor reads back like LF.
        let d = read_back(
            &TYPO
                .replace("To: al", "To: al@x.test")
                .replace('\n', "\r\n"),
            &base(),
        );
        assert_eq!(d.unwrap().body, "Dear Al,\nthe plan is ready.\n");
    }
}
