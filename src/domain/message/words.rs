//! Encoded words (RFC 2047) around mail-parser, which decodes them one at a time: a character
//! whose bytes a sender split between two adjacent words came out as two U+FFFD. Adjacent
//! words of one charset are joined here (RFC 2047: the whitespace between them is not text),
//! their bytes in one word that mail-parser then decodes, charset and all. The full-headers
//! view gets each field's value decoded the same way.

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use mail_parser::{HeaderName, Message, MessageParser};

use super::sanitize;

/// Base64 as senders write it in encoded words: padding or not, stray trailing bits.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Bytes an encoded word's text may take to be joined (RFC 2047 says 75 for the whole word;
/// some senders write longer ones). mail-parser still decodes a longer one on its own.
const MAX_WORD: usize = 256;

/// One encoded word of a header value: `value[start..end]`, its charset (a language tag
/// after `*` left out) and its decoded bytes.
struct Word<'a> {
    end: usize,
    charset: &'a str,
    bytes: Vec<u8>,
}

/// The encoded word starting at `s[at..]`, if one does and it decodes.
fn word_at(s: &str, at: usize) -> Option<Word<'_>> {
    let rest = s.get(at..)?.strip_prefix("=?")?;
    let (charset, rest) = rest.split_once('?')?;
    let (enc, rest) = rest.split_once('?')?;
    // Bounded, so a hostile value of many `=?` and no `?=` costs no more than a linear scan.
    let mut cap = rest.len().min(MAX_WORD);
    while !rest.is_char_boundary(cap) {
        cap -= 1;
    }
    let len = rest[..cap].find("?=")?;
    let text = &rest[..len];
    if charset.is_empty()
        || charset.contains(char::is_whitespace)
        || text.contains(|c: char| c.is_whitespace() || c == '?')
    {
        return None;
    }
    let bytes = match enc {
        "B" | "b" => LENIENT.decode(text).ok()?,
        "Q" | "q" => q_bytes(text)?,
        _ => return None,
    };
    Some(Word {
        end: at + 2 + charset.len() + 1 + enc.len() + 1 + len + 2,
        charset: charset.split('*').next().unwrap_or(charset),
        bytes,
    })
}

/// The bytes of a Q-encoded text: `_` a space, `=XX` a byte, the rest as it is.
fn q_bytes(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'_' => out.push(b' '),
            b'=' => {
                out.push(u8::from_str_radix(text.get(i + 1..i + 3)?, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(out)
}

/// `value` with each run of adjacent encoded words of one charset (nothing but whitespace
/// between them) made one B word holding all their bytes; None when there is no such run.
pub fn join(value: &str) -> Option<String> {
    let mut out = String::new();
    let (mut copied, mut at) = (0, 0);
    while let Some(off) = value[at..].find("=?") {
        let start = at + off;
        let Some(first) = word_at(value, start) else {
            at = start + 2;
            continue;
        };
        let (mut bytes, mut end, mut n) = (first.bytes, first.end, 1);
        loop {
            let next = value.len() - value[end..].trim_start().len();
            match word_at(value, next) {
                Some(w) if w.charset.eq_ignore_ascii_case(first.charset) => {
                    bytes.extend(w.bytes);
                    end = w.end;
                    n += 1;
                }
                _ => break,
            }
        }
        if n > 1 {
            out.push_str(&value[copied..start]);
            out.push_str(&format!(
                "=?{}?B?{}?=",
                first.charset,
                STANDARD.encode(&bytes)
            ));
            copied = end;
        }
        at = end;
    }
    (copied > 0).then(|| out + &value[copied..])
}

/// What `read` takes from `msg`'s header `name` once its split characters are joined: None
/// when the header has no run of words to join.
pub fn rejoined<T>(
    msg: &Message<'_>,
    name: HeaderName<'static>,
    read: impl FnOnce(&Message<'_>) -> Option<T>,
) -> Option<T> {
    let joined = join(msg.header_raw(name.clone())?)?;
    let text = format!("{}:{joined}\r\n\r\n", name.as_str());
    read(&MessageParser::default().parse_headers(text.as_bytes())?)
}

/// A header field's value as one line of text: encoded words decoded (split characters
/// joined), folding undone, sanitised like [`sanitize::line`] (a decoded line break cannot
/// start a line that looks like another field).
pub fn decode_value(value: &str) -> String {
    let joined = join(value);
    let text = format!("Subject:{}\r\n\r\n", joined.as_deref().unwrap_or(value));
    let decoded = MessageParser::default()
        .parse_headers(text.as_bytes())
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_else(|| value.to_string());
    sanitize::line(decoded.trim())
}

/// The header block as the full-headers view shows it: each field whose value holds an
/// encoded word on one line, decoded ([`decode_value`]); the other fields as they are.
pub fn decode_block(block: &str) -> String {
    let mut out = String::with_capacity(block.len());
    let mut field = String::new();
    let flush = |out: &mut String, field: &str| match field.split_once(':') {
        Some((name, value)) if value.contains("=?") => {
            out.push_str(&format!("{name}: {}\n", decode_value(value)));
        }
        _ => out.push_str(field),
    };
    for line in block.split_inclusive('\n') {
        if !line.starts_with([' ', '\t']) {
            flush(&mut out, &field);
            field.clear();
        }
        field.push_str(line);
    }
    flush(&mut out, &field);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::parse;

    #[test]
    fn mail_parser_alone_splits_the_character() {
        // What this module is for: if mail-parser ever joins the words itself, it can go.
        let raw = b"Subject: =?UTF-8?B?4oI=?= =?UTF-8?B?rA==?=\r\n\r\n";
        let m = MessageParser::default().parse_headers(raw).unwrap();
        assert_eq!(m.subject(), Some("\u{FFFD}\u{FFFD}"));
    }

    #[test]
    fn a_character_split_between_words_is_whole_in_subjects_and_names() {
        // "€" is E2 82 AC: split after its first or second byte, in B and in Q.
        let raw = "From: =?UTF-8?B?UHJpY2Ug4o==?=\r\n =?utf-8?B?gqw=?= <p@example.test>\r\n\
                   To: =?UTF-8?Q?Ren=C3?= =?UTF-8?Q?=A9e?= <r@example.test>, x@example.test\r\n\
                   Cc: =?UTF-8?Q?=E2=82?=\t=?UTF-8?B?rA==?= <c@example.test>\r\n\
                   Subject: =?UTF-8?B?NSDigg==?= =?UTF-8?Q?=AC_each?= and more\r\n\r\nbody\r\n";
        let m = parse(raw.as_bytes()).meta;
        assert_eq!(m.subject, "5 € each and more");
        assert_eq!(m.from[0].name.as_deref(), Some("Price €"));
        assert_eq!(m.from[0].email, "p@example.test");
        assert_eq!(m.to[0].name.as_deref(), Some("Renée"));
        assert_eq!(m.to[1].email, "x@example.test");
        assert_eq!(m.cc[0].name.as_deref(), Some("€"));
    }

    #[test]
    fn words_of_other_charsets_or_apart_are_left_alone() {
        assert_eq!(join("=?UTF-8?Q?a?= b =?UTF-8?Q?c?="), None);
        assert_eq!(join("=?UTF-8?Q?a?= =?ISO-8859-1?Q?b?="), None);
        assert_eq!(join("plain =?x"), None);
        assert_eq!(
            join("Re: =?iso-8859-1?q?Caf=E9?=  =?ISO-8859-1*fr?B?IOk=?= !").as_deref(),
            Some("Re: =?iso-8859-1?B?Q2Fm6SDp?= !")
        );
        let m =
            parse("Subject: =?ISO-8859-1?Q?Caf=E9?= =?ISO-8859-1?Q?_cr=E8me?=\r\n\r\n".as_bytes());
        assert_eq!(m.meta.subject, "Café crème");
    }

    #[test]
    fn hostile_values_cost_a_linear_scan() {
        let value = "=?a?B?aaaa".repeat(200_000);
        let start = std::time::Instant::now();
        assert_eq!(join(&value), None);
        assert!(decode_block(&format!("Subject: {value}\r\n\r\n")).starts_with("Subject: "));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn the_full_headers_are_decoded_and_sanitised() {
        let block = "Received: from a\r\n\tby b\r\n\
                     Subject: =?UTF-8?B?SGVsbG8g4oKs?= =?UTF-8?Q?_w=C3=B6rld?=\r\n\
                     From: =?UTF-8?Q?Ren=C3=A9e?=\r\n <renee@example.test>\r\n\
                     X-Evil: =?UTF-8?Q?a=0AFrom:_boss=1B[31m?=\r\n\r\n";
        let out = decode_block(block);
        assert_eq!(
            out,
            "Received: from a\r\n\tby b\r\n\
             Subject: Hello € wörld\n\
             From: Renée <renee@example.test>\n\
             X-Evil: a From: boss\n\r\n"
        );
    }
}
