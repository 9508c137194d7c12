//! The search query language, parsed into a tree the store turns into SQL and FTS5.
//!
//! Free words match word prefixes in the subject, the sender, the recipients and the text
//! (case and diacritics aside); `"quoted phrases"` match in that order; `from:`, `to:`,
//! `cc:`, `subject:`, `body:` narrow a word or phrase to one field; `has:attachment`,
//! `is:unread|read|flagged|unflagged|answered`, `in:FOLDER`, `account:NAME`,
//! `before:`/`after:` (2026-11-24, 2026-11, 2026, today, yesterday, or relative: 7d, 2w, 3m,
//! 1y), `larger:`/`smaller:` (bytes, or with k/M/G); `-` negates what follows, `OR` joins
//! alternatives (AND is implied between terms), parentheses group. Hand-written: the
//! language is small and its errors must point at a column, which no query crate gives us
//! for this grammar.
//!
//! Here: the query tree. `parser` reads it, `highlight` finds its words in a text, `imap`
//! turns it into IMAP SEARCH criteria.

use std::fmt;

/// A field a word or phrase can be narrowed to.
mod highlight;
mod imap;
mod parser;

pub use highlight::{highlight_terms, match_ranges};
pub use imap::{MailboxCtx, imap_criteria};
pub use parser::{MAX_DEPTH, MAX_TERMS, parse};
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    From,
    To,
    Cc,
    Subject,
    Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Unread,
    Read,
    Flagged,
    Unflagged,
    Answered,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A word (matched as a prefix) or a phrase, anywhere or in one field.
    Text {
        field: Option<Field>,
        text: String,
        phrase: bool,
    },
    HasAttachment,
    Is(Status),
    /// A folder by name (case-insensitive; its last path component is enough).
    In(String),
    Account(String),
    /// Dates, seconds since the epoch: before is exclusive, after inclusive.
    Before(i64),
    After(i64),
    /// Sizes in bytes, exclusive.
    Larger(u64),
    Smaller(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Term(Term),
    Not(Box<Query>),
    And(Vec<Query>),
    Or(Vec<Query>),
}

/// What is wrong with a query, and where (a character index into it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.at + 1, self.message)
    }
}

/// Text folded for matching as the index does: lower case, diacritics dropped (`München` →
/// `munchen`).
pub fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether the query looks into message text (a word anywhere, or `body:`): what a cache
/// without the bodies cannot answer in full.
pub fn needs_body(q: &Query) -> bool {
    match q {
        Query::Term(Term::Text { field, .. }) => matches!(field, None | Some(Field::Body)),
        Query::Term(_) => false,
        Query::Not(x) => needs_body(x),
        Query::And(all) | Query::Or(all) => all.iter().any(needs_body),
    }
}
