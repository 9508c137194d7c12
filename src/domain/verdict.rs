//! Who really sent it: plain warnings about a message's sender, its Reply-To and its links,
//! and how much remote content its HTML holds (tern never loads any). Pure: the caller passes
//! the domains the user knows (those they wrote to, and their own).
//!
//! Here: the warnings and the sender's checks (they need only the envelope, so the message
//! list can mark a row too). `html` scans an HTML body for deceptive links and remote
//! resources, bounded. Signature checks (DKIM, SPF, DMARC) are not done yet: their verdict
//! will be one more [`Warning`] (or a line of its own) beside these.
//!
//! Confusables and mixed scripts follow Unicode TS 39 through `unicode-security` (the crate
//! rustc's own confusable lints use); punycode goes through `idna`, URL hosts through `url`.

use std::fmt;

use unicode_security::MixedScript;
use unicode_security::confusable_detection::skeleton;

use super::Address;
use super::message::MessageView;

mod html;

pub use html::{Remote, scan};

/// Characters of a display name, and bytes of a domain, looked at (a 10 MB From line costs
/// what its first kilobyte costs).
const MAX_NAME_CHARS: usize = 1000;
const MAX_DOMAIN_BYTES: usize = 255;
/// Known domains compared with the sender's, at most.
pub const MAX_KNOWN: usize = 2000;
/// Characters of mail text kept in a warning.
const MAX_SHOWN: usize = 60;
/// Reply-To addresses looked at.
pub const MAX_REPLY_TO: usize = 10;

/// One reason to doubt who sent a message, in words the reader shows as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The display name holds an address or a domain other than the sender's.
    NameShowsOther { shown: String, actual: String },
    /// The display name holds characters that reorder text (`fdp.exe` shown as `exe.pdf`).
    NameReordered,
    /// The sender's domain is written in punycode: `decoded` is what it spells.
    Punycode { domain: String, decoded: String },
    /// A label of the sender's domain mixes scripts (Latin with Cyrillic letters...).
    MixedScript { domain: String },
    /// The sender's domain looks like (but is not) one the user writes to.
    LooksLike { domain: String, known: String },
    /// Replies go to another domain than the sender's.
    ReplyElsewhere { reply_to: String, from: String },
    /// `count` links show one host in their text and go to another (the first one here).
    DeceptiveLinks {
        shown: String,
        target: String,
        count: usize,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NameShowsOther { shown, actual } => {
                write!(
                    f,
                    "Display name shows {shown} but the mail is from {actual}"
                )
            }
            Warning::NameReordered => {
                f.write_str("Display name holds characters that reorder its text")
            }
            Warning::Punycode { domain, decoded } => {
                write!(f, "Sender domain {domain} is punycode for {decoded}")
            }
            Warning::MixedScript { domain } => {
                write!(
                    f,
                    "Sender domain {domain} mixes alphabets (lookalike letters)"
                )
            }
            Warning::LooksLike { domain, known } => {
                write!(f, "Sender domain {domain} looks like {known}, but is not")
            }
            Warning::ReplyElsewhere { reply_to, from } => {
                write!(f, "Replies go to {reply_to}, not to {from}")
            }
            Warning::DeceptiveLinks {
                shown,
                target,
                count,
            } => {
                write!(f, "Link shows {shown} but goes to {target}")?;
                match count {
                    0 | 1 => Ok(()),
                    n => write!(f, " ({} more such links)", n - 1),
                }
            }
        }
    }
}

/// What the body says about itself, found when the reader parses it (see
/// `message::parse_for_reader`): the Reply-To, links whose text lies, remote resources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signs {
    /// The first [`MAX_REPLY_TO`] Reply-To addresses.
    pub reply_to: Vec<Address>,
    /// The first few links whose text shows another host than their target.
    pub deceptive: Vec<Deceptive>,
    /// How many such links, in all that were looked at.
    pub deceptive_count: usize,
    pub remote: Remote,
}

/// A link whose text shows `shown` (a host) and whose target is `href`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deceptive {
    pub shown: String,
    pub href: String,
    /// The target's host.
    pub target: String,
}

/// Every warning about a parsed message: its sender's (see [`sender`]), its Reply-To and its
/// links. `known`: the domains the user writes to, lower case.
pub fn assess(view: &MessageView, known: &[String]) -> Vec<Warning> {
    let signs = &view.signs;
    let from = view.meta.from.first();
    let mut out = from.map_or_else(Vec::new, |f| sender(f, known));
    let from_domain = from.map(|f| domain_of(&f.email)).unwrap_or_default();
    if let Some(r) = signs.reply_to.iter().find(|r| {
        let d = domain_of(&r.email);
        !d.is_empty() && !from_domain.is_empty() && !related(&d, &from_domain)
    }) {
        out.push(Warning::ReplyElsewhere {
            reply_to: clip(&r.email),
            from: clip(&from_domain),
        });
    }
    if let Some(d) = signs.deceptive.first() {
        out.push(Warning::DeceptiveLinks {
            shown: clip(&d.shown),
            target: clip(&d.target),
            count: signs.deceptive_count,
        });
    }
    out
}

/// The warnings about a sender that its address alone gives: its display name, its domain's
/// spelling, its likeness to a domain in `known` (which may be empty). Cheap enough for
/// every row of the message list.
pub fn sender(from: &Address, known: &[String]) -> Vec<Warning> {
    let domain = domain_of(&from.email);
    let mut out = Vec::new();
    let name = from.name.as_deref().unwrap_or("");
    if name.chars().take(MAX_NAME_CHARS).any(is_bidi) {
        out.push(Warning::NameReordered);
    } else if let Some(shown) = name_shows_other(name, &from.email, &domain) {
        out.push(Warning::NameShowsOther {
            shown: clip(&shown),
            actual: clip(match (domain.is_empty(), from.email.is_empty()) {
                (false, _) => &domain,
                (true, false) => &from.email,
                (true, true) => "no address",
            }),
        });
    }
    if domain.is_empty() {
        return out;
    }
    let unicode = if domain.split('.').any(|l| l.starts_with("xn--")) {
        let (decoded, _) = idna::domain_to_unicode(&domain);
        out.push(Warning::Punycode {
            domain: clip(&domain),
            decoded: clip(&decoded),
        });
        decoded
    } else {
        domain.clone()
    };
    // A lookalike of a known domain says more than mixed scripts: one line, not two.
    if let Some(k) = looks_like(&unicode, &domain, known) {
        out.push(Warning::LooksLike {
            domain: clip(&unicode),
            known: clip(k),
        });
    } else if unicode
        .split('.')
        .any(|label| !label.is_ascii() && !label.is_single_script())
    {
        out.push(Warning::MixedScript {
            domain: clip(&unicode),
        });
    }
    out
}

/// Whether the envelope's sender earns a mark in the message list (the checks that need no
/// body and no known domains).
pub fn suspect(from: &[Address]) -> bool {
    from.first().is_some_and(|f| !sender(f, &[]).is_empty())
}

/// The known domain `unicode` (the sender's, decoded; `ascii` as sent) looks like without
/// being it (nor a subdomain of it).
fn looks_like<'a>(unicode: &str, ascii: &str, known: &'a [String]) -> Option<&'a str> {
    let known = &known[..known.len().min(MAX_KNOWN)];
    if known
        .iter()
        .any(|k| related(k, ascii) || related(k, unicode))
    {
        return None;
    }
    let mine: String = skeleton(unicode).collect();
    known
        .iter()
        .find(|k| skeleton(k).eq(mine.chars()))
        .map(String::as_str)
}

/// An address or a domain in a display name that is not the sender's.
fn name_shows_other(name: &str, email: &str, domain: &str) -> Option<String> {
    let name: String = name
        .chars()
        .take(MAX_NAME_CHARS)
        .filter(|c| !is_invisible(*c))
        .collect();
    let tokens = name
        .split(|c: char| c.is_whitespace() || "<>\"'(),;[]{}|".contains(c))
        .filter(|t| !t.is_empty());
    for t in tokens {
        let t = t.trim_matches(|c: char| matches!(c, '.' | ':' | '!' | '?'));
        if let Some((_, d)) = t.rsplit_once('@') {
            let d = normal_domain(d);
            if is_hostname(&d) && !t.eq_ignore_ascii_case(email) && !related(&d, domain) {
                return Some(t.to_string());
            }
        } else if let Some(host) = host_shown(t)
            && !related(&host, domain)
            && !email
                .split('@')
                .next()
                .is_some_and(|l| l.eq_ignore_ascii_case(t))
        {
            return Some(host);
        }
    }
    None
}

/// The host a piece of text shows, when it is one URL or host name (`https://bank.com/x`,
/// `www.bank.com`, `bank.com`), lower case and in punycode; None for other text.
pub(crate) fn host_shown(text: &str) -> Option<String> {
    let t: String = text
        .chars()
        .take(MAX_DOMAIN_BYTES * 2)
        .filter(|c| !is_invisible(*c))
        .collect();
    let t = t.trim();
    if t.is_empty() || t.contains(char::is_whitespace) || t.contains('@') && !t.contains("://") {
        return None;
    }
    let lower = t.to_lowercase();
    let with_scheme = if lower.starts_with("http://") || lower.starts_with("https://") {
        t.to_string()
    } else if lower.contains("://") {
        return None;
    } else {
        format!("http://{t}")
    };
    let url = url::Url::parse(&with_scheme).ok()?;
    let host = normal_domain(url.host_str()?);
    is_hostname(&host).then_some(host)
}

/// Whether `d` has the shape of a public host name: two labels or more, the last alphabetic
/// (a top-level domain, or its punycode).
fn is_hostname(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    let Some(tld) = labels.last() else {
        return false;
    };
    d.len() <= MAX_DOMAIN_BYTES
        && labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'))
        && labels
            .iter()
            .all(|l| l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && (tld.starts_with("xn--")
            || tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
}

/// A domain as compared: lower case, no trailing dot, bounded.
fn normal_domain(d: &str) -> String {
    let d = &d[..floor(d, MAX_DOMAIN_BYTES)];
    d.trim().trim_end_matches('.').to_lowercase()
}

/// The domain of an address, as compared (empty when it has none).
pub fn domain_of(email: &str) -> String {
    email
        .rsplit_once('@')
        .map(|(_, d)| normal_domain(d.trim_end_matches('>')))
        .unwrap_or_default()
}

/// Whether two domains belong together: the same, or one under the other
/// (`mail.bank.com` and `bank.com`).
pub fn related(a: &str, b: &str) -> bool {
    let under = |x: &str, y: &str| {
        x.len() > y.len() && x.ends_with(y) && x.as_bytes()[x.len() - y.len() - 1] == b'.'
    };
    a.eq_ignore_ascii_case(b) || under(a, b) || under(b, a)
}

/// Characters that show nothing and can hide inside a name or a link's text.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}' | '\u{034F}'
    )
}

/// Bidirectional controls: they reorder what follows them.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Mail text shortened for a warning (the reader sanitises it when drawing).
fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_SHOWN {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_SHOWN - 1).collect();
    out.push('…');
    out
}

/// The largest char boundary of `s` at or below `at`.
fn floor(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

#[cfg(test)]
mod tests;
