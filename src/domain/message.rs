//! Parsed messages: the metadata the cache keeps for a list row, and the reader's view of a
//! whole message. Parsing goes through mail-parser; HTML becomes text through html2text.
//! Nothing here panics on malformed input: every field falls back to empty.
//!
//! Here: the model and the parse. `html` (HTML as styled lines or text), `flowed`
//! (format=flowed), `cut` (bounds on what the reader lays out), `attachments`, `words`
//! (encoded words split mid-character; the full-headers view decoded).

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MimeHeaders};

use super::Address;
use super::sanitize;
use super::skeleton::{Skeleton, WHOLE_UP_TO};
use super::verdict;

mod attachments;
mod cut;
mod flowed;
mod html;
mod words;

pub use attachments::attachment;
use attachments::attachment_name;
use cut::{cut_html, cut_rich, cut_text, rich_text};
pub use flowed::unflow;
use html::plain_links;
pub use html::{html_to_rich, html_to_text};
/// Bodies larger than this are cut before HTML rendering, so a hostile 100 MB HTML part
/// cannot stall the reader. The reader says when this happened.
pub const MAX_RENDER_BYTES: usize = 2 * 1024 * 1024;

/// HTML parts larger than this are cut (at a tag boundary) before html2text lays them out: its
/// DOM costs tens of times the input, so a 5 MB part would take hundreds of MB.
pub const MAX_HTML_BYTES: usize = 256 * 1024;

/// Body text the reader shows at most, in bytes and in lines; the rest is left out with a note
/// saying how much (see [`MessageView::cut`]).
pub const MAX_DISPLAY_BYTES: usize = 256 * 1024;
pub const MAX_DISPLAY_LINES: usize = 10_000;

/// Characters of body text kept as the list preview.
pub const PREVIEW_CHARS: usize = 160;

/// What the cache stores about a message, taken from its headers and body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageMeta {
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Seconds since the epoch, from the Date header (None when missing or unparsable).
    pub date: Option<i64>,
    pub from: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub subject: String,
    pub list_id: Option<String>,
    pub has_attachments: bool,
    pub preview: String,
    /// Plain text of the body for the full-text index (HTML rendered to text).
    pub body_text: String,
    pub size: u32,
    /// Gmail's labels, read-only tags from the server (never from the message itself):
    /// sanitized, one line each, no line ends.
    pub labels: Vec<String>,
}

/// An attachment as the reader lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: usize,
}

/// Where the body text shown in the reader came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySource {
    Plain,
    Html,
    /// The HTML part was too large to render; its text is shown without layout.
    HtmlTooLarge,
    None,
}

/// The reader's view of a whole message. Strings are raw (decoded but not sanitised):
/// the view sanitises when it draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    pub meta: MessageMeta,
    pub date_header: Option<String>,
    pub body: String,
    pub source: BodySource,
    pub attachments: Vec<Attachment>,
    /// The message as it came (lossy UTF-8, cut at [`MAX_RENDER_BYTES`]), for the source view.
    pub raw: String,
    /// Where the body starts in `raw`: `raw[..header_len]` is the header block.
    pub header_len: usize,
    /// The header block as the full-headers view shows it: encoded words decoded, each such
    /// field on one sanitised line, the others as in `raw`. Filled by [`parse_for_reader`]
    /// only (empty otherwise: show `raw[..header_len]`).
    pub headers: String,
    /// The body with its HTML styles, for the reader (None: show `body` as plain text).
    /// Filled by [`parse_for_reader`] only.
    pub rich: Option<Vec<RichLine>>,
    /// Links in the body, numbered from 1 in the order they appear (`[n]` marks them).
    pub links: Vec<String>,
    /// Bytes of the body left out of `body` and `rich` so the reader stays small (0: all of
    /// it is there). Filled by [`parse_for_reader`] only.
    pub cut: usize,
    /// What the body says about who sent it (Reply-To, deceptive links, remote content).
    /// Filled by [`parse_for_reader`] only.
    pub signs: verdict::Signs,
    /// The warnings the reader shows: [`verdict::assess`] of this view with the domains the
    /// user knows, set by whoever loads it (empty from the parse).
    pub warnings: Vec<verdict::Warning>,
}

/// How a piece of the reader's text is shown. Plain data: the view maps it to colours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpanStyle {
    pub bold: bool,
    pub italic: bool,
    pub code: bool,
    pub strike: bool,
    /// Part of a link's text, or its `[n]` mark.
    pub link: bool,
}

/// One line of styled body text.
pub type RichLine = Vec<(String, SpanStyle)>;

/// The view the reader shows: [`parse`], plus the body's HTML styles and its links, with the
/// body bounded to [`MAX_DISPLAY_BYTES`] / [`MAX_DISPLAY_LINES`] (`cut` says how much is left
/// out). Only for a message being read: the index text (`meta.body_text`) is left empty.
pub fn parse_for_reader(raw: &[u8], width: usize) -> MessageView {
    if raw.len() > WHOLE_UP_TO {
        return parse_skeleton_for_reader(&Skeleton::of(raw), width);
    }
    parse_inner(raw, Some(width), None)
}

/// [`parse_for_reader`] of a message too big to load whole, from its [`Skeleton`]: the text
/// parts' first few hundred KB, every attachment with its real size, the size of the whole.
pub fn parse_skeleton_for_reader(sk: &Skeleton, width: usize) -> MessageView {
    parse_inner(&sk.raw, Some(width), Some(sk))
}

/// The raw text of a message for display, cut at [`MAX_RENDER_BYTES`].
fn raw_text(raw: &[u8]) -> String {
    String::from_utf8_lossy(&raw[..raw.len().min(MAX_RENDER_BYTES)]).into_owned()
}

/// The raw text and where its body starts (each side converted on its own, so invalid bytes
/// in the header do not move the boundary).
fn raw_text_split(raw: &[u8], body_offset: usize) -> (String, usize) {
    let cut = raw.len().min(MAX_RENDER_BYTES);
    let off = body_offset.min(cut);
    let mut text = String::from_utf8_lossy(&raw[..off]).into_owned();
    let header_len = text.len();
    text.push_str(&String::from_utf8_lossy(&raw[off..cut]));
    (text, header_len)
}

fn header_ids(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

fn addresses(a: Option<&mail_parser::Address<'_>>) -> Vec<Address> {
    let Some(a) = a else { return Vec::new() };
    a.iter()
        .map(|addr| Address {
            name: addr
                .name()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty()),
            email: addr.address().unwrap_or("").trim().to_string(),
        })
        .filter(|a| !a.email.is_empty() || a.name.is_some())
        .collect()
}

/// Whether mail-parser's decoding left a replacement character: maybe a character split
/// between two encoded words, which [`words::rejoined`] decodes again whole.
fn split(text: &str) -> bool {
    text.contains('\u{FFFD}')
}

fn addresses_of(msg: &Message<'_>, name: HeaderName<'static>) -> Vec<Address> {
    let list = addresses(msg.header(name.clone()).and_then(HeaderValue::as_address));
    if !list.iter().any(|a| a.name.as_deref().is_some_and(split)) {
        return list;
    }
    words::rejoined(msg, name.clone(), |m| {
        Some(addresses(m.header(name).and_then(HeaderValue::as_address)))
    })
    .unwrap_or(list)
}

fn subject_of(msg: &Message<'_>) -> String {
    let subject = msg.subject().unwrap_or("");
    if !split(subject) {
        return subject.to_string();
    }
    words::rejoined(msg, HeaderName::Subject, |m| {
        m.subject().map(str::to_string)
    })
    .unwrap_or_else(|| subject.to_string())
}

fn preview_of(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('>') {
            continue;
        }
        if l == "--" {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(l);
        if out.chars().count() >= PREVIEW_CHARS {
            break;
        }
    }
    let clean = sanitize::line(&out);
    clean.chars().take(PREVIEW_CHARS).collect()
}

/// Parse a raw RFC 5322 message. Never fails: a message mail-parser cannot read at all
/// gives empty metadata with only the size set.
pub fn parse(raw: &[u8]) -> MessageView {
    if raw.len() > WHOLE_UP_TO {
        // Its skeleton: the index gets the first few hundred KB of each text part, and the
        // parse costs the skeleton's few MB, not the decoded attachments.
        let sk = Skeleton::of(raw);
        return parse_inner(&sk.raw, None, Some(&sk));
    }
    parse_inner(raw, None, None)
}

/// [`parse`], or with `reader` (its width) the reader's view: see [`parse_for_reader`].
/// With `sk`, `raw` is that skeleton's: sizes, cuts and the source text come from `sk`.
// Long: one pass that fills one MessageView: which body is shown (text, HTML, skeleton) and
// the cuts depend on each other's results.
fn parse_inner(raw: &[u8], reader: Option<usize>, sk: Option<&Skeleton>) -> MessageView {
    let size = u32::try_from(sk.map_or(raw.len(), |s| s.size)).unwrap_or(u32::MAX);
    // Body bytes of the part starting at `offset` that the skeleton left out.
    let left_out = |offset: u32| {
        sk.and_then(|s| s.cut_part(offset as usize))
            .map_or(0, |c| c.left_out)
    };
    let Some(msg) = MessageParser::default().parse(raw) else {
        return MessageView {
            meta: MessageMeta {
                size,
                ..Default::default()
            },
            date_header: None,
            body: String::from_utf8_lossy(raw).into_owned(),
            source: BodySource::Plain,
            attachments: Vec::new(),
            raw: raw_text(sk.map_or(raw, |s| &s.head)),
            header_len: 0,
            headers: String::new(),
            rich: None,
            links: Vec::new(),
            cut: 0,
            signs: verdict::Signs::default(),
            warnings: Vec::new(),
        };
    };

    let mut rich = None;
    let mut html_links = Vec::new();
    let mut html_cut = 0;
    let mut skeleton_cut = 0;
    let (mut body, source) = if msg.text_body_count() > 0
        && msg.text_part(0).map(|p| !p.is_text_html()).unwrap_or(false)
    {
        let mut s = String::new();
        for i in 0..msg.text_body_count() {
            if let Some(t) = msg.body_text(i) {
                if !s.is_empty() {
                    s.push_str("\n\n");
                }
                let part = msg.text_part(i as u32);
                skeleton_cut += part.map_or(0, |p| left_out(p.raw_body_offset()));
                let ct = part.and_then(|p| p.content_type());
                let param = |name: &str| {
                    ct.and_then(|c| c.attribute(name)).is_some_and(|v| {
                        v.eq_ignore_ascii_case(if name == "format" { "flowed" } else { "yes" })
                    })
                };
                if param("format") {
                    s.push_str(&unflow(&t, param("delsp")));
                } else {
                    s.push_str(&t);
                }
            }
        }
        (s, BodySource::Plain)
    } else if let Some((h, offset)) = msg
        .html_part(0)
        .and_then(|p| Some((p.text_contents()?, p.raw_body_offset())))
    {
        skeleton_cut += left_out(offset);
        if let Some(width) = reader {
            // Laid out once more with styles, at the reader's width, from the same bounded cut.
            let (input, more) = cut_html(h, MAX_HTML_BYTES);
            if let Some((lines, links)) = html_to_rich(input, width) {
                html_cut = more;
                rich = Some(lines);
                html_links = links;
            }
        }
        // The reader keeps the styled lines; its plain body is their text (one layout, not two).
        let (t, cut) = match &rich {
            Some(lines) => (rich_text(lines), false),
            None => html_to_text(h, 78),
        };
        (
            t,
            if cut {
                BodySource::HtmlTooLarge
            } else {
                BodySource::Html
            },
        )
    } else if let Some(t) = msg.body_text(0) {
        skeleton_cut += msg
            .text_part(0)
            .map_or(0, |p| left_out(p.raw_body_offset()));
        (t.into_owned(), BodySource::Plain)
    } else {
        (String::new(), BodySource::None)
    };

    let (raw, header_len) = raw_text_split(
        sk.map_or(raw, |s| &s.head),
        msg.root_part().raw_body_offset() as usize,
    );
    let attachments: Vec<Attachment> = msg
        .attachments()
        .map(|p| {
            let content_type = p
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            let name = attachment_name(p);
            Attachment {
                name,
                content_type,
                size: sk
                    .and_then(|s| s.cut_part(p.raw_body_offset() as usize))
                    .map_or(p.len(), |c| c.size),
            }
        })
        .collect();

    let source = if rich.is_some() {
        BodySource::Html
    } else {
        source
    };
    let mut cut = 0;
    let links = if reader.is_some() {
        cut = match &mut rich {
            Some(lines) => {
                cut_text(&mut body, MAX_DISPLAY_BYTES, MAX_DISPLAY_LINES);
                cut_rich(lines, MAX_DISPLAY_BYTES, MAX_DISPLAY_LINES) + html_cut
            }
            None => cut_text(&mut body, MAX_DISPLAY_BYTES, MAX_DISPLAY_LINES),
        } + skeleton_cut;
        if rich.is_some() {
            html_links
        } else {
            plain_links(&body)
        }
    } else {
        Vec::new()
    };
    let meta = MessageMeta {
        message_id: msg.message_id().map(|s| s.to_string()),
        in_reply_to: header_ids(msg.in_reply_to()).into_iter().next(),
        references: header_ids(msg.references()),
        date: msg.date().map(|d| d.to_timestamp()),
        from: addresses_of(&msg, HeaderName::From),
        to: addresses_of(&msg, HeaderName::To),
        cc: addresses_of(&msg, HeaderName::Cc),
        subject: subject_of(&msg),
        list_id: match msg.list_id() {
            HeaderValue::Text(t) => Some(t.to_string()),
            HeaderValue::TextList(l) => l.first().map(|t| t.to_string()),
            _ => None,
        },
        has_attachments: !attachments.is_empty(),
        preview: preview_of(&body),
        body_text: if reader.is_some() {
            String::new()
        } else {
            body.clone()
        },
        size,
        labels: Vec::new(),
    };
    MessageView {
        date_header: msg.header_raw("Date").map(|s| s.trim().to_string()),
        meta,
        body,
        source,
        attachments,
        headers: match reader {
            Some(_) => words::decode_block(&raw[..header_len]),
            None => String::new(),
        },
        raw,
        header_len,
        rich,
        links,
        cut,
        signs: match reader {
            Some(_) => signs_of(&msg),
            None => verdict::Signs::default(),
        },
        warnings: Vec::new(),
    }
}

/// What the reader warns about in a message (see [`verdict`]): its Reply-To, and its HTML
/// parts' links and remote content (the first few parts, each cut as for the layout).
fn signs_of(msg: &Message<'_>) -> verdict::Signs {
    let mut signs = verdict::Signs {
        reply_to: addresses_of(msg, HeaderName::ReplyTo)
            .into_iter()
            .take(verdict::MAX_REPLY_TO)
            .collect(),
        ..Default::default()
    };
    for i in 0..msg.html_body_count().min(4) {
        if let Some(p) = msg.html_part(i as u32)
            && p.is_text_html()
            && let Some(h) = p.text_contents()
        {
            verdict::scan(cut_html(h, MAX_HTML_BYTES).0, &mut signs);
        }
    }
    signs
}

/// Remove "Re:", "Fwd:" and similar prefixes (any number, any case) for thread display.
pub fn base_subject(subject: &str) -> &str {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let cut = ["re:", "fwd:", "fw:", "aw:", "sv:", "vs:", "re :", "fwd :"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len());
        match cut {
            Some(n) => s = s[n..].trim_start(),
            None => return s,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn parses_headers_and_plain_body() {
        let raw = b"From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.com>\r\n\
To: a@example.com, \"B\" <b@example.com>\r\n\
Subject: =?ISO-8859-1?Q?Caf=E9?= plans\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n\
Message-ID: <m1@example.com>\r\n\
In-Reply-To: <m0@example.com>\r\n\
References: <r1@example.com> <m0@example.com>\r\n\
\r\n\
Hello there,\r\n> quoted\r\nsee you\r\n-- \r\nsig\r\n";
        let v = parse(raw);
        assert_eq!(v.meta.subject, "Café plans");
        assert_eq!(v.meta.from[0].name.as_deref(), Some("Renée"));
        assert_eq!(v.meta.to.len(), 2);
        assert_eq!(v.meta.message_id.as_deref(), Some("m1@example.com"));
        assert_eq!(v.meta.in_reply_to.as_deref(), Some("m0@example.com"));
        assert_eq!(v.meta.references, vec!["r1@example.com", "m0@example.com"]);
        assert_eq!(v.meta.date, Some(1_795_510_800));
        assert_eq!(v.meta.preview, "Hello there, see you");
        assert_eq!(v.source, BodySource::Plain);
        assert!(!v.meta.has_attachments);
    }

    #[test]
    fn html_only_is_rendered() {
        let raw = b"Subject: news\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<h1>Title</h1><p>Some <b>bold</b> text</p>";
        let v = parse(raw);
        assert_eq!(v.source, BodySource::Html);
        assert!(v.body.contains("Title"), "{}", v.body);
        assert!(v.body.contains("bold"));
        assert!(!v.body.contains("<b>"));
    }

    #[test]
    fn escape_sequences_in_html_vanish_whole() {
        let raw = b"Subject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<p>\x1b]8;;http://evil.test\x1b\\here\x1b]8;;\x1b\\ \x1b]0;PWNED-HTML\x07\
\x1b[31mred\x1b[0m \xc2\x9b32mgreen \xc2\x9d0;PWNED-C1\x07 \x1bP1;2PWNED-DCS\x1b\\end</p>";
        let check = |text: &str| {
            let text = sanitize::body(text);
            assert!(text.contains("here"), "{text:?}");
            assert!(text.contains("red") && text.contains("end"), "{text:?}");
            for bad in ["]8;;", "PWNED", "[31m", "[0m", "32m", "evil.test"] {
                assert!(!text.contains(bad), "{bad} in {text:?}");
            }
        };
        let v = parse(raw);
        assert_eq!(v.source, BodySource::Html);
        check(&v.body);
        check(&v.meta.body_text);
        let v = parse_for_reader(raw, 80);
        let rich: String = v
            .rich
            .expect("rich lines")
            .iter()
            .flat_map(|l| l.iter().map(|(s, _)| s.as_str()))
            .collect();
        check(&rich);
    }

    #[test]
    fn garbage_never_panics() {
        for raw in [
            &b""[..],
            b"\xff\xfe\x00",
            b"Subject: x\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--",
        ] {
            let v = parse(raw);
            assert_eq!(v.meta.size as usize, raw.len());
        }
    }

    pub(crate) fn big_line(mb: usize) -> Vec<u8> {
        let mut raw = b"Subject: big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".to_vec();
        while raw.len() < mb << 20 {
            raw.extend_from_slice("wörd ".as_bytes());
        }
        raw
    }

    pub(crate) fn big_html(mb: usize) -> Vec<u8> {
        let mut raw =
            b"Subject: big\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>".to_vec();
        while raw.len() < mb << 20 {
            raw.extend_from_slice(
                b"<p>Some <b>bold</b> text and <a href=\"https://x.example/\">a link</a></p>\r\n",
            );
        }
        raw
    }

    #[test]
    fn base_subject_strips_prefix_stack() {
        assert_eq!(base_subject("Re: RE: Fwd: hello"), "hello");
        assert_eq!(base_subject("hello"), "hello");
    }
}
