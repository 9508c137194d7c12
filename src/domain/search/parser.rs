//! The query language read into a [`Query`]: tokens, dates (absolute and relative), sizes,
//! and a recursive-descent parser with bounds on depth and terms.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    /// `key:` before a value (the value is the next token).
    Key(String),
    Word(String),
    Phrase(String),
    Minus,
    Or,
    Open,
    Close,
}

pub(super) const KEYS: &[&str] = &[
    "from", "to", "cc", "subject", "body", "has", "is", "in", "account", "before", "after",
    "larger", "smaller",
];

pub(super) fn tokenize(input: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        match c {
            '(' => {
                out.push((i, Tok::Open));
                i += 1;
            }
            ')' => {
                out.push((i, Tok::Close));
                i += 1;
            }
            '-' if out.last().is_none_or(|(_, t)| !matches!(t, Tok::Key(_)))
                && chars.get(i + 1).is_some_and(|n| !n.is_whitespace()) =>
            {
                out.push((i, Tok::Minus));
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(ParseError {
                                at: start,
                                message: "a quote is not closed".into(),
                            });
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Phrase(s)));
            }
            _ => {
                let mut s = String::new();
                while let Some(&ch) = chars.get(i) {
                    if ch.is_whitespace() || ch == '(' || ch == ')' || ch == '"' {
                        break;
                    }
                    s.push(ch);
                    i += 1;
                    // `key:` ends a token when the key is one we know.
                    if ch == ':' {
                        let key = s[..s.len() - 1].to_ascii_lowercase();
                        if KEYS.contains(&key.as_str()) {
                            break;
                        }
                    }
                }
                if let Some(key) = s.strip_suffix(':')
                    && KEYS.contains(&key.to_ascii_lowercase().as_str())
                {
                    out.push((start, Tok::Key(key.to_ascii_lowercase())));
                } else if s == "OR" {
                    out.push((start, Tok::Or));
                } else {
                    out.push((start, Tok::Word(s)));
                }
            }
        }
    }
    Ok(out)
}

/// Start of the day of `ts` in local time (offset seconds east of UTC).
pub(super) fn day_start(ts: i64, utc_offset: i32) -> i64 {
    let local = ts + i64::from(utc_offset);
    local - local.rem_euclid(86_400) - i64::from(utc_offset)
}

/// A date: absolute (local midnight of its first day) or relative to `now`.
pub(super) fn parse_date(v: &str, now: i64, utc_offset: i32) -> Option<i64> {
    let lower = v.to_ascii_lowercase();
    match lower.as_str() {
        "today" => return Some(day_start(now, utc_offset)),
        "yesterday" => return Some(day_start(now, utc_offset) - 86_400),
        _ => {}
    }
    if let Some(unit) = lower.chars().last().filter(|c| "dwmy".contains(*c))
        && let Ok(n) = lower[..lower.len() - 1].parse::<i64>()
    {
        let per = match unit {
            'd' => 1,
            'w' => 7,
            'm' => 30,
            _ => 365,
        };
        // A number of days too large for the clock is no date (it overflowed before).
        let secs = n.checked_mul(per)?.checked_mul(86_400)?;
        return now.checked_sub(secs);
    }
    let parts: Vec<&str> = v.split(['-', '/', '.']).collect();
    let num = |i: usize, lo: u32, hi: u32| -> Option<u32> {
        parts
            .get(i)
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|n| (lo..=hi).contains(n))
    };
    let (y, m, d) = match parts.len() {
        1 => (num(0, 1970, 9999)?, 1, 1),
        2 => (num(0, 1970, 9999)?, num(1, 1, 12)?, 1),
        3 => (num(0, 1970, 9999)?, num(1, 1, 12)?, num(2, 1, 31)?),
        _ => return None,
    };
    let date = chrono::NaiveDate::from_ymd_opt(y as i32, m, d)?;
    let midnight = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
    Some(midnight - i64::from(utc_offset))
}

/// Why a size is not one.
pub(super) enum BadSize {
    NotASize,
    /// Beyond what the cache can compare (an SQLite integer).
    TooLarge,
}

pub(super) fn parse_size(v: &str) -> Result<u64, BadSize> {
    let lower = v.to_ascii_lowercase();
    let lower = lower.trim_end_matches('b');
    let (num, mult) = match lower.chars().last().ok_or(BadSize::NotASize)? {
        'k' => (&lower[..lower.len() - 1], 1024),
        'm' => (&lower[..lower.len() - 1], 1024 * 1024),
        'g' => (&lower[..lower.len() - 1], 1024 * 1024 * 1024),
        _ => (lower, 1),
    };
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| *n >= 0.0 && n.is_finite())
        .ok_or(BadSize::NotASize)?;
    let bytes = n * f64::from(mult);
    // 2^63 exactly: every float below it fits an i64.
    if bytes >= 9_223_372_036_854_775_808.0 {
        return Err(BadSize::TooLarge);
    }
    Ok(bytes as u64)
}

/// How deep parentheses and `-` may nest: the parser and everything that walks the tree
/// recurse once a level, and a hostile query must not run the stack out.
pub const MAX_DEPTH: usize = 64;

/// How many terms a query may hold: SQLite refuses an expression deeper than 1000, and a
/// long `a OR b OR …` chain is one level per term.
pub const MAX_TERMS: usize = 256;

pub(super) struct Parser<'a> {
    toks: &'a [(usize, Tok)],
    pos: usize,
    /// Parentheses and `-` open around the current token.
    depth: usize,
    /// Terms read so far.
    terms: usize,
    end: usize,
    now: i64,
    utc_offset: i32,
}

impl Parser<'_> {
    pub(super) fn err<T>(&self, at: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            at,
            message: message.into(),
        })
    }

    pub(super) fn here(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.0)
    }

    pub(super) fn or(&mut self) -> Result<Query, ParseError> {
        let mut alts = vec![self.and()?];
        while let Some((at, Tok::Or)) = self.toks.get(self.pos) {
            let at = *at;
            self.pos += 1;
            if matches!(
                self.toks.get(self.pos),
                None | Some((_, Tok::Or | Tok::Close))
            ) {
                return self.err(at, "OR needs something after it");
            }
            alts.push(self.and()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().expect("one")
        } else {
            Query::Or(alts)
        })
    }

    pub(super) fn and(&mut self) -> Result<Query, ParseError> {
        let mut all = Vec::new();
        while let Some((_, t)) = self.toks.get(self.pos) {
            if matches!(t, Tok::Or | Tok::Close) {
                break;
            }
            all.push(self.unary()?);
        }
        match all.len() {
            0 => match self.toks.get(self.pos) {
                Some((at, Tok::Or)) => self.err(*at, "OR needs something before it"),
                _ => self.err(self.here(), "nothing to search for here"),
            },
            1 => Ok(all.pop().expect("one")),
            _ => Ok(Query::And(all)),
        }
    }

    pub(super) fn unary(&mut self) -> Result<Query, ParseError> {
        let (at, tok) = self.toks[self.pos].clone();
        self.pos += 1;
        let nests = matches!(tok, Tok::Minus | Tok::Open);
        if nests {
            if self.depth >= MAX_DEPTH {
                return self.err(
                    at,
                    format!("nested too deeply (more than {MAX_DEPTH} parentheses and `-`)"),
                );
            }
            self.depth += 1;
        } else if matches!(tok, Tok::Word(_) | Tok::Phrase(_) | Tok::Key(_)) {
            if self.terms >= MAX_TERMS {
                return self.err(at, format!("too many terms (more than {MAX_TERMS})"));
            }
            self.terms += 1;
        }
        let q = match tok {
            Tok::Minus => {
                if self.pos >= self.toks.len() {
                    return self.err(at, "`-` needs something after it");
                }
                Query::Not(Box::new(self.unary()?))
            }
            Tok::Open => {
                let inner = self.or()?;
                match self.toks.get(self.pos) {
                    Some((_, Tok::Close)) => {
                        self.pos += 1;
                        inner
                    }
                    _ => return self.err(at, "this parenthesis is not closed"),
                }
            }
            Tok::Close => return self.err(at, "a parenthesis closes that was not opened"),
            Tok::Or => return self.err(at, "OR needs something before it"),
            Tok::Word(w) => Query::Term(Term::Text {
                field: None,
                text: w,
                phrase: false,
            }),
            Tok::Phrase(p) if p.trim().is_empty() => return self.err(at, "an empty phrase"),
            Tok::Phrase(p) => Query::Term(Term::Text {
                field: None,
                text: p,
                phrase: true,
            }),
            Tok::Key(k) => return self.keyed(at, &k),
        };
        if nests {
            self.depth -= 1;
        }
        Ok(q)
    }

    // Long: one match arm per query key (from:, is:, in:, before:, larger:...), each a few lines.
    pub(super) fn keyed(&mut self, at: usize, key: &str) -> Result<Query, ParseError> {
        let (value, phrase) = match self.toks.get(self.pos) {
            Some((_, Tok::Word(w))) => (w.clone(), false),
            Some((_, Tok::Phrase(p))) if !p.trim().is_empty() => (p.clone(), true),
            _ => return self.err(at, format!("`{key}:` needs a value")),
        };
        self.pos += 1;
        let text = |field| {
            Ok(Query::Term(Term::Text {
                field: Some(field),
                text: value.clone(),
                phrase,
            }))
        };
        let term = match key {
            "from" => return text(Field::From),
            "to" => return text(Field::To),
            "cc" => return text(Field::Cc),
            "subject" => return text(Field::Subject),
            "body" => return text(Field::Body),
            "has"
                if value.eq_ignore_ascii_case("attachment")
                    || value.eq_ignore_ascii_case("attachments") =>
            {
                Term::HasAttachment
            }
            "has" => return self.err(at, "`has:` knows only `has:attachment`"),
            "is" => {
                Term::Is(match value.to_ascii_lowercase().as_str() {
                    "unread" | "new" => Status::Unread,
                    "read" | "seen" => Status::Read,
                    "flagged" | "starred" => Status::Flagged,
                    "unflagged" => Status::Unflagged,
                    "answered" | "replied" => Status::Answered,
                    _ => {
                        return self.err(
                        at,
                        format!("`is:{value}`: expected unread, read, flagged, unflagged or answered"),
                    );
                    }
                })
            }
            "in" => Term::In(value),
            "account" => Term::Account(value),
            "before" | "after" => {
                let Some(t) = parse_date(&value, self.now, self.utc_offset) else {
                    return self.err(
                        at,
                        format!(
                            "`{key}:{value}`: expected a date like 2026-11-24, 2026-11, today, \
                             or a span like 7d, 2w, 3m, 1y"
                        ),
                    );
                };
                if key == "before" {
                    Term::Before(t)
                } else {
                    Term::After(t)
                }
            }
            _ => {
                let n = match parse_size(&value) {
                    Ok(n) => n,
                    Err(BadSize::NotASize) => {
                        return self.err(
                            at,
                            format!("`{key}:{value}`: expected a size like 500k, 10M or 2000"),
                        );
                    }
                    Err(BadSize::TooLarge) => {
                        return self.err(at, format!("`{key}:{value}`: size too large"));
                    }
                };
                if key == "larger" {
                    Term::Larger(n)
                } else {
                    Term::Smaller(n)
                }
            }
        };
        Ok(Query::Term(term))
    }
}

/// Parse a query. `now` and `utc_offset` place dates like `today` and `7d`.
pub fn parse(input: &str, now: i64, utc_offset: i32) -> Result<Query, ParseError> {
    let toks = tokenize(input)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        depth: 0,
        terms: 0,
        end: input.chars().count(),
        now,
        utc_offset,
    };
    if toks.is_empty() {
        return p.err(0, "an empty query");
    }
    let q = p.or()?;
    if let Some((at, _)) = toks.get(p.pos) {
        return p.err(*at, "a parenthesis closes that was not opened");
    }
    Ok(q)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    // Tue 2026-11-24 18:00 UTC.
    const NOW: i64 = 1_795_543_200;

    pub(in crate::domain::search) fn q(s: &str) -> Query {
        parse(s, NOW, 0).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn word(t: &str) -> Query {
        Query::Term(Term::Text {
            field: None,
            text: t.into(),
            phrase: false,
        })
    }

    fn err(s: &str) -> ParseError {
        parse(s, NOW, 0).expect_err(s)
    }

    #[test]
    fn words_phrases_and_fields() {
        assert_eq!(q("lunch"), word("lunch"));
        assert_eq!(
            q("Käse lunch"),
            Query::And(vec![word("Käse"), word("lunch")])
        );
        assert_eq!(
            q("\"quarterly plans\""),
            Query::Term(Term::Text {
                field: None,
                text: "quarterly plans".into(),
                phrase: true
            })
        );
        assert_eq!(
            q("from:anna subject:\"budget review\" to:bob cc:carol body:invoice"),
            Query::And(vec![
                Query::Term(Term::Text {
                    field: Some(Field::From),
                    text: "anna".into(),
                    phrase: false
                }),
                Query::Term(Term::Text {
                    field: Some(Field::Subject),
                    text: "budget review".into(),
                    phrase: true
                }),
                Query::Term(Term::Text {
                    field: Some(Field::To),
                    text: "bob".into(),
                    phrase: false
                }),
                Query::Term(Term::Text {
                    field: Some(Field::Cc),
                    text: "carol".into(),
                    phrase: false
                }),
                Query::Term(Term::Text {
                    field: Some(Field::Body),
                    text: "invoice".into(),
                    phrase: false
                }),
            ])
        );
        // Keys are case-insensitive; unknown keys and URLs are words.
        assert!(matches!(
            q("FROM:x"),
            Query::Term(Term::Text {
                field: Some(Field::From),
                ..
            })
        ));
        assert_eq!(q("re:plans"), word("re:plans"));
        assert_eq!(q("https://example.com/a"), word("https://example.com/a"));
    }

    #[test]
    fn flags_folders_accounts_sizes() {
        assert_eq!(q("has:attachment"), Query::Term(Term::HasAttachment));
        for (v, s) in [
            ("unread", Status::Unread),
            ("read", Status::Read),
            ("flagged", Status::Flagged),
            ("unflagged", Status::Unflagged),
            ("answered", Status::Answered),
        ] {
            assert_eq!(q(&format!("is:{v}")), Query::Term(Term::Is(s)));
        }
        assert_eq!(
            q("in:\"Lists/rust users\""),
            Query::Term(Term::In("Lists/rust users".into()))
        );
        assert_eq!(q("account:work"), Query::Term(Term::Account("work".into())));
        assert_eq!(q("larger:10M"), Query::Term(Term::Larger(10 * 1024 * 1024)));
        assert_eq!(q("smaller:500k"), Query::Term(Term::Smaller(500 * 1024)));
        assert_eq!(q("larger:2000"), Query::Term(Term::Larger(2000)));
        assert_eq!(q("larger:1.5kb"), Query::Term(Term::Larger(1536)));
        // Beyond what a size can be: an error, not a number that wraps.
        for s in [
            "larger:9000000000G",
            "smaller:9000000000G",
            "larger:1e300",
            "smaller:99999999999999999999",
        ] {
            let e = err(&format!("x {s}"));
            assert_eq!(
                (e.at, e.to_string()),
                (2, format!("column 3: `{s}`: size too large"))
            );
        }
        assert_eq!(
            q("smaller:8000000000G"),
            Query::Term(Term::Smaller(8_000_000_000 << 30))
        );
    }

    #[test]
    fn dates_absolute_and_relative() {
        assert_eq!(
            q("after:2026-11-24"),
            Query::Term(Term::After(1_795_478_400))
        );
        assert_eq!(
            q("before:2026-11"),
            Query::Term(Term::Before(1_793_491_200))
        );
        assert_eq!(q("after:today"), Query::Term(Term::After(1_795_478_400)));
        assert_eq!(
            q("after:yesterday"),
            Query::Term(Term::After(1_795_392_000))
        );
        assert_eq!(q("after:7d"), Query::Term(Term::After(NOW - 7 * 86_400)));
        assert_eq!(q("before:2w"), Query::Term(Term::Before(NOW - 14 * 86_400)));
        assert_eq!(q("after:1y"), Query::Term(Term::After(NOW - 365 * 86_400)));
        // Local midnight: one hour east of UTC starts the day an hour earlier.
        assert_eq!(
            parse("after:2026-11-24", NOW, 3600).unwrap(),
            Query::Term(Term::After(1_795_478_400 - 3600))
        );
    }

    #[test]
    fn negation_or_and_grouping() {
        assert_eq!(q("-spam"), Query::Not(Box::new(word("spam"))));
        assert_eq!(
            q("a OR b c"),
            Query::Or(vec![word("a"), Query::And(vec![word("b"), word("c")])])
        );
        assert_eq!(
            q("(a OR b) -is:read"),
            Query::And(vec![
                Query::Or(vec![word("a"), word("b")]),
                Query::Not(Box::new(Query::Term(Term::Is(Status::Read)))),
            ])
        );
        // "or" in lower case and a hyphen inside a word are just text.
        assert_eq!(
            q("this or that"),
            Query::And(vec![word("this"), word("or"), word("that")])
        );
        assert_eq!(q("e-mail"), word("e-mail"));
        assert_eq!(
            q("from:-x"),
            Query::Term(Term::Text {
                field: Some(Field::From),
                text: "-x".into(),
                phrase: false
            })
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(err("").message, "an empty query");
        let e = err("from:");
        assert_eq!((e.at, e.message.as_str()), (0, "`from:` needs a value"));
        assert_eq!(err("lunch \"open").at, 6);
        assert!(err("is:maybe").message.contains("expected unread"));
        assert!(err("after:someday").message.contains("expected a date"));
        assert!(err("after:2026-13-01").message.contains("expected a date"));
        assert!(err("larger:huge").message.contains("expected a size"));
        assert!(err("has:pdf").message.contains("has:attachment"));
        assert!(err("a OR").message.contains("OR needs something after"));
        assert!(err("OR a").message.contains("OR needs something before"));
        assert_eq!(err("(a b").at, 0);
        assert!(err("a b)").message.contains("not opened"));
        assert!(err("\"\"").message.contains("empty phrase"));
        assert!(err("()").message.contains("nothing to search"));
        assert_eq!(
            err("lunch \"open").to_string(),
            "column 7: a quote is not closed"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_and_long_chains_work() {
        let nest = |n: usize| "(".repeat(n) + "a" + &")".repeat(n);
        assert_eq!(q(&nest(MAX_DEPTH)), word("a"));
        for s in [
            nest(10_000),
            "-(".repeat(10_000) + "a" + &")".repeat(10_000),
            "-".repeat(10_000) + "a",
            "x ".to_string() + &"-(".repeat(MAX_DEPTH),
        ] {
            let e = err(&s);
            assert!(e.message.contains("nested too deeply"), "{e}");
            assert_eq!(e.at, s.find(['(', '-']).unwrap() + MAX_DEPTH, "{e}");
        }
        assert_eq!(
            err(&nest(10_000)).to_string(),
            "column 65: nested too deeply (more than 64 parentheses and `-`)"
        );
        // A long OR chain is too many terms; one within the limit is flat: parsed, walked and
        // turned into criteria without recursing.
        let e = err(&vec!["ab"; 10_000].join(" OR "));
        assert_eq!(
            (e.at, e.message.as_str()),
            (MAX_TERMS * 6, "too many terms (more than 256)")
        );
        let chain = vec!["a"; MAX_TERMS].join(" OR ");
        let parsed = q(&chain);
        assert!(matches!(&parsed, Query::Or(all) if all.len() == MAX_TERMS));
        assert_eq!(highlight_terms(&parsed), vec!["a"]);
        assert!(needs_body(&parsed));
        let inbox = MailboxCtx {
            account: "w",
            name: "INBOX",
            role: None,
        };
        let c = imap_criteria(&parsed, &inbox).unwrap().unwrap();
        assert!(c.starts_with("OR TEXT \"a\" OR ") && c.ends_with(" TEXT \"a\""));
        // Depth within the limit, walked by everything.
        let deep = q(&("(a OR ".repeat(MAX_DEPTH) + "b" + &")".repeat(MAX_DEPTH)));
        assert!(imap_criteria(&deep, &inbox).unwrap().is_some());
        assert_eq!(highlight_terms(&deep), vec!["a", "b"]);
    }
}
