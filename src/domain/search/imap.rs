//! A query as IMAP SEARCH criteria, for the server fallback on folders whose bodies are not
//! cached.

use super::*;

/// The mailbox a query is turned into IMAP SEARCH criteria for (`in:` and `account:` are
/// decided here, not on the server).
pub struct MailboxCtx<'a> {
    pub account: &'a str,
    pub name: &'a str,
    pub role: Option<&'a str>,
}

impl MailboxCtx<'_> {
    /// Mirrors the store's `in:`: the name (case aside), its last component, or its role.
    pub(super) fn is(&self, wanted: &str) -> bool {
        let (name, wanted) = (self.name.to_lowercase(), wanted.to_lowercase());
        name == wanted
            || name.ends_with(&format!("/{wanted}"))
            || name.ends_with(&format!(".{wanted}"))
            || self.role == Some(wanted.as_str())
    }
}

pub(super) enum Crit {
    Const(bool),
    Expr(String),
}

/// An IMAP (astring) quoted string.
pub(super) fn imap_quote(s: &str) -> String {
    // A quoted string holds no CR, LF or NUL (RFC 3501 section 9): a line end in a query
    // would end the command there and send the rest as another.
    let s = s.replace(['\r', '\n', '\0'], " ");
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An IMAP date (`24-Nov-2026`) of an instant, in UTC.
pub(super) fn imap_date(t: i64) -> String {
    pub(super) const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let d = chrono::DateTime::from_timestamp(t, 0).unwrap_or_default();
    use chrono::Datelike;
    format!("{}-{}-{}", d.day(), MONTHS[d.month0() as usize], d.year())
}

pub(super) fn crit(q: &Query, mb: &MailboxCtx<'_>) -> Option<Crit> {
    Some(match q {
        Query::Term(t) => match t {
            Term::Text { field, text, .. } => {
                let key = match field {
                    None => "TEXT",
                    Some(Field::From) => "FROM",
                    Some(Field::To) => "TO",
                    Some(Field::Cc) => "CC",
                    Some(Field::Subject) => "SUBJECT",
                    Some(Field::Body) => "BODY",
                };
                Crit::Expr(format!("{key} {}", imap_quote(text)))
            }
            // The server has no criterion for it.
            Term::HasAttachment => return None,
            Term::Is(s) => Crit::Expr(
                match s {
                    Status::Unread => "UNSEEN",
                    Status::Read => "SEEN",
                    Status::Flagged => "FLAGGED",
                    Status::Unflagged => "UNFLAGGED",
                    Status::Answered => "ANSWERED",
                }
                .into(),
            ),
            Term::In(name) => Crit::Const(mb.is(name)),
            Term::Account(name) => Crit::Const(mb.account.eq_ignore_ascii_case(name)),
            Term::Before(t) => Crit::Expr(format!("SENTBEFORE {}", imap_date(*t))),
            Term::After(t) => Crit::Expr(format!("SENTSINCE {}", imap_date(*t))),
            // IMAP4rev1 sizes are 32-bit: a larger one is as good as the largest.
            Term::Larger(n) => Crit::Expr(format!("LARGER {}", (*n).min(u32::MAX.into()))),
            Term::Smaller(n) => Crit::Expr(format!("SMALLER {}", (*n).min(u32::MAX.into()))),
        },
        Query::Not(x) => match crit(x, mb)? {
            Crit::Const(b) => Crit::Const(!b),
            Crit::Expr(e) => Crit::Expr(format!("NOT {e}")),
        },
        Query::And(all) => {
            let mut parts = Vec::new();
            for x in all {
                match crit(x, mb)? {
                    Crit::Const(false) => return Some(Crit::Const(false)),
                    Crit::Const(true) => {}
                    Crit::Expr(e) => parts.push(e),
                }
            }
            match parts.len() {
                0 => Crit::Const(true),
                1 => Crit::Expr(parts.remove(0)),
                _ => Crit::Expr(format!("({})", parts.join(" "))),
            }
        }
        Query::Or(all) => {
            let mut parts = Vec::new();
            for x in all {
                match crit(x, mb)? {
                    Crit::Const(true) => return Some(Crit::Const(true)),
                    Crit::Const(false) => {}
                    Crit::Expr(e) => parts.push(e),
                }
            }
            // `OR a OR b c`, built in one pass (a long chain is no quadratic copy).
            let Some(last) = parts.pop() else {
                return Some(Crit::Const(false));
            };
            let mut e = String::new();
            for p in parts {
                e.push_str("OR ");
                e.push_str(&p);
                e.push(' ');
            }
            e.push_str(&last);
            Crit::Expr(e)
        }
    })
}

/// The query as IMAP SEARCH criteria for one mailbox: `Ok(None)` when nothing there can
/// match (an `in:` or `account:` rules the mailbox out), `Err` when the server cannot be
/// asked (`has:attachment` has no SEARCH criterion).
pub fn imap_criteria(q: &Query, mb: &MailboxCtx<'_>) -> Result<Option<String>, &'static str> {
    match crit(q, mb) {
        None => Err("has:attachment cannot be asked of the server"),
        Some(Crit::Const(false)) => Ok(None),
        Some(Crit::Const(true)) => Ok(Some("ALL".into())),
        Some(Crit::Expr(e)) => Ok(Some(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::search::needs_body;
    use crate::domain::search::parser::tests::q;

    #[test]
    fn queries_become_imap_criteria() {
        let inbox = MailboxCtx {
            account: "work",
            name: "INBOX",
            role: Some("inbox"),
        };
        let lists = MailboxCtx {
            account: "work",
            name: "Lists/rust",
            role: None,
        };
        let c = |s: &str, mb: &MailboxCtx<'_>| imap_criteria(&q(s), mb);
        assert_eq!(c("lunch", &inbox), Ok(Some("TEXT \"lunch\"".into())));
        assert_eq!(
            c("from:ana \"a b\" c\\d -is:read", &inbox),
            Ok(Some(
                "(FROM \"ana\" TEXT \"a b\" TEXT \"c\\\\d\" NOT SEEN)".into()
            ))
        );
        assert_eq!(
            c("a OR b OR body:c", &inbox),
            Ok(Some("OR TEXT \"a\" OR TEXT \"b\" BODY \"c\"".into()))
        );
        assert_eq!(
            c("after:2026-11-03 before:2026-11-24 larger:2k", &inbox),
            Ok(Some(
                "(SENTSINCE 3-Nov-2026 SENTBEFORE 24-Nov-2026 LARGER 2048)".into()
            ))
        );
        assert_eq!(
            c("larger:8000000000G OR smaller:5G", &inbox),
            Ok(Some("OR LARGER 4294967295 SMALLER 4294967295".into()))
        );
        // in: and account: are decided per mailbox.
        assert_eq!(c("in:rust lunch", &inbox), Ok(None));
        assert_eq!(
            c("in:rust lunch", &lists),
            Ok(Some("TEXT \"lunch\"".into()))
        );
        assert_eq!(c("in:inbox", &inbox), Ok(Some("ALL".into())));
        assert_eq!(c("-account:work x", &inbox), Ok(None));
        assert_eq!(
            c("account:home OR x", &inbox),
            Ok(Some("TEXT \"x\"".into()))
        );
        assert!(c("has:attachment x", &inbox).is_err());
        assert!(needs_body(&q("from:x OR lunch")));
        assert!(needs_body(&q("body:x")));
        assert!(!needs_body(&q("from:x subject:y is:unread")));
    }
}
