//! Outgoing messages: what the user wrote, turned into RFC 5322 bytes (mail-builder does the
//! MIME work: encoded words for non-ASCII headers, quoted-printable or base64 bodies,
//! multipart/mixed with attachments), plus the SMTP envelope. Pure: no I/O.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as MbAddress;
use mail_builder::headers::message_id::MessageId;

use super::Address;

mod edit;
pub use edit::{NOTE, Rejected, annotate, editable, parse_editable, read_back, strip_notes};

/// A file to attach, already read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    /// MIME type; guessed from the name when empty.
    pub content_type: String,
    pub data: Vec<u8>,
}

/// A message as the user wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    pub from: Address,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Recipients that are on the envelope only, never in a header.
    pub bcc: Vec<Address>,
    pub subject: String,
    pub body: String,
    /// Message-ID of the message this answers (with or without angle brackets).
    pub in_reply_to: Option<String>,
    /// Its References, oldest first (the answered message's own id last).
    pub references: Vec<String>,
    pub attachments: Vec<Attachment>,
}

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub raw: Vec<u8>,
    /// Envelope sender (MAIL FROM).
    pub mail_from: String,
    /// Envelope recipients (RCPT TO): To, Cc and Bcc, each once.
    pub rcpt: Vec<String>,
    /// Without angle brackets.
    pub message_id: String,
}

fn bare_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

fn mb_list(list: &[Address]) -> MbAddress<'static> {
    MbAddress::new_list(
        list.iter()
            .map(|a| MbAddress::new_address(a.name.clone(), a.email.clone()))
            .collect(),
    )
}

/// The envelope recipients of To, Cc and Bcc, each address once (case-insensitive).
pub fn envelope_recipients(d: &Draft) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in d.to.iter().chain(&d.cc).chain(&d.bcc) {
        let e = a.email.trim().to_string();
        if !e.is_empty() && !out.iter().any(|x| x.eq_ignore_ascii_case(&e)) {
            out.push(e);
        }
    }
    out
}

/// A Message-ID on the sender's domain: `unique` must be unique (the caller makes it from
/// randomness and time).
pub fn message_id_for(from: &str, unique: &str) -> String {
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d.trim().trim_end_matches('>'))
        .filter(|d| !d.is_empty())
        .unwrap_or("tern.invalid");
    format!("{unique}@{domain}")
}

/// Build the message: Date `now` (seconds since the epoch), Message-ID from `unique`.
pub fn build(d: &Draft, now: i64, unique: &str) -> Built {
    let message_id = message_id_for(&d.from.email, unique);
    let mut m = MessageBuilder::new()
        .from(MbAddress::new_address(
            d.from.name.clone(),
            d.from.email.clone(),
        ))
        .subject(d.subject.clone())
        .date(now)
        .message_id(MessageId::new(message_id.clone()))
        .text_body(normalise_body(&d.body));
    if !d.to.is_empty() {
        m = m.to(mb_list(&d.to));
    }
    if !d.cc.is_empty() {
        m = m.cc(mb_list(&d.cc));
    }
    if let Some(parent) = &d.in_reply_to {
        m = m.in_reply_to(MessageId::new(bare_id(parent)));
    }
    if !d.references.is_empty() {
        m = m.references(MessageId::new_list(d.references.iter().map(|r| bare_id(r))));
    }
    for a in &d.attachments {
        let ct = if a.content_type.is_empty() {
            guess_type(&a.name)
        } else {
            a.content_type.clone()
        };
        m = m.attachment(ct, a.name.clone(), a.data.clone());
    }
    // Bcc is never set as a header: those recipients are on the envelope only.
    let raw = m.write_to_vec().expect("writing to a Vec cannot fail");
    Built {
        raw,
        mail_from: d.from.email.clone(),
        rcpt: envelope_recipients(d),
        message_id,
    }
}

/// A draft as stored in the Drafts folder: like [`build`], with its Bcc kept (it is not sent).
pub fn build_draft(d: &Draft, now: i64, unique: &str) -> Vec<u8> {
    let built = build(d, now, unique);
    if d.bcc.is_empty() {
        return built.raw;
    }
    let mut raw = format!("Bcc: {}\r\n", MbHeaderText::encode_list(&d.bcc)).into_bytes();
    raw.extend_from_slice(&built.raw);
    raw
}

/// Bcc addresses as a header value (ASCII: the names go as encoded words).
struct MbHeaderText;

impl MbHeaderText {
    fn encode_list(list: &[Address]) -> String {
        list.iter()
            .map(|a| {
                let name = a.name.as_deref().filter(|n| !n.is_empty());
                match name {
                    Some(n) if n.is_ascii() && !n.contains(['"', '\\']) => {
                        format!("\"{n}\" <{}>", a.email)
                    }
                    _ => a.email.clone(),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A stored draft (or any message) read back into what the user can edit: addresses,
/// subject, the text, reply headers and attachments.
pub fn draft_from_raw(raw: &[u8]) -> Draft {
    use mail_parser::MimeHeaders;
    let Some(m) = mail_parser::MessageParser::default().parse(raw) else {
        return Draft::default();
    };
    let list = |v: Option<&mail_parser::Address<'_>>| -> Vec<Address> {
        v.map(|l| {
            l.iter()
                .filter_map(|a| {
                    Some(Address {
                        name: a.name().map(str::to_string),
                        email: a.address()?.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
    };
    Draft {
        from: list(m.from()).into_iter().next().unwrap_or_default(),
        to: list(m.to()),
        cc: list(m.cc()),
        bcc: list(m.bcc()),
        subject: m.subject().unwrap_or_default().to_string(),
        body: m
            .body_text(0)
            .map(|b| b.replace("\r\n", "\n"))
            .unwrap_or_default(),
        in_reply_to: m.in_reply_to().as_text().map(str::to_string),
        references: m
            .references()
            .as_text_list()
            .map(|l| l.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
        attachments: m
            .attachments()
            .map(|a| Attachment {
                name: a.attachment_name().unwrap_or("attachment").to_string(),
                content_type: a
                    .content_type()
                    .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream")))
                    .unwrap_or_default(),
                data: a.contents().to_vec(),
            })
            .collect(),
    }
}

/// The MIME type of a file name, by its extension (application/octet-stream when unknown).
pub fn guess_type(name: &str) -> String {
    mime_guess::from_path(name)
        .first_or_octet_stream()
        .essence_str()
        .to_string()
}

/// Line ends as the wire wants them (CRLF), whatever the editor wrote.
fn normalise_body(body: &str) -> String {
    body.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// One "Re: " (or "Fwd: ") in front of a subject, never a stack: existing prefixes in any
/// case and language-neutral forms (`Re:`, `RE:`, `Re[2]:`, `Fwd:`, `Fw:`) are removed first.
pub fn prefixed_subject(prefix: &str, subject: &str) -> String {
    format!("{prefix} {}", super::message::base_subject(subject))
}

/// What the user starts writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    New,
    Reply,
    /// Reply to the sender and every other recipient (but the user).
    ReplyAll,
    /// Forward with the original's text quoted in the body.
    Forward,
    /// Forward with the original attached as it is (message/rfc822).
    ForwardAttached,
}

fn is_me(a: &Address, me: &[Address]) -> bool {
    me.iter().any(|m| m.email.eq_ignore_ascii_case(&a.email))
}

fn push_unique(list: &mut Vec<Address>, a: &Address) {
    if !list.iter().any(|x| x.email.eq_ignore_ascii_case(&a.email)) {
        list.push(a.clone());
    }
}

/// The To and Cc of a reply to all, as mutt and Thunderbird make it: To the sender (its
/// Reply-To when it has one), Cc the original's other To and Cc recipients; none of the
/// user's addresses (`me`), nobody twice. A reply to the user's own message goes To its
/// recipients instead, Cc its Cc.
fn reply_all(
    sender: &[Address],
    to: &[Address],
    cc: &[Address],
    me: &[Address],
) -> (Vec<Address>, Vec<Address>) {
    let (mut new_to, mut new_cc) = (Vec::new(), Vec::new());
    let own = !sender.is_empty() && sender.iter().all(|a| is_me(a, me));
    let (first, rest): (&[Address], Vec<&Address>) = if own {
        (to, cc.iter().collect())
    } else {
        (sender, to.iter().chain(cc).collect())
    };
    for a in first.iter().filter(|a| !is_me(a, me)) {
        push_unique(&mut new_to, a);
    }
    for a in rest.into_iter().filter(|a| !is_me(a, me)) {
        if !new_to
            .iter()
            .any(|t| t.email.eq_ignore_ascii_case(&a.email))
        {
            push_unique(&mut new_cc, a);
        }
    }
    if new_to.is_empty() {
        // A note to oneself: answered to oneself.
        new_to = unique(sender);
    }
    (new_to, new_cc)
}

fn unique(list: &[Address]) -> Vec<Address> {
    let mut out = Vec::new();
    for a in list {
        push_unique(&mut out, a);
    }
    out
}

/// `Name <email>`, the name quoted when it needs it.
pub fn format_address(a: &Address) -> String {
    match a.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        None => a.email.clone(),
        Some(n) if n.chars().any(|c| "()<>[]:;@\\,.\"".contains(c)) => {
            format!(
                "\"{}\" <{}>",
                n.replace('\\', "\\\\").replace('"', "\\\""),
                a.email
            )
        }
        Some(n) => format!("{n} <{}>", a.email),
    }
}

pub(crate) fn format_list(list: &[Address]) -> String {
    list.iter()
        .map(format_address)
        .collect::<Vec<_>>()
        .join(", ")
}

fn date_text(ts: i64, utc_offset: i32) -> String {
    chrono::FixedOffset::east_opt(utc_offset)
        .and_then(|tz| chrono::DateTime::from_timestamp(ts, 0).map(|d| d.with_timezone(&tz)))
        .map(|d| d.format("%a, %d %b %Y at %H:%M").to_string())
        .unwrap_or_default()
}

/// Signatures: one per address (an alias may sign differently), else the account's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signatures {
    pub default: Option<String>,
    /// (address, signature)
    pub by_address: Vec<(String, String)>,
}

impl Signatures {
    pub fn for_address(&self, email: &str) -> Option<&str> {
        self.by_address
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(email))
            .map(|(_, s)| s.as_str())
            .or(self.default.as_deref())
    }
}

/// The draft a new message, reply or forward starts from. `me`: the account's addresses
/// (its own first, then its aliases): the From is the one the original was sent to, and
/// none of them is replied to. `original`: the raw message answered or forwarded.
// Long: one match arm per kind of draft (new, reply, reply all, forward inline or
// attached), sharing the From, signature and quoting set up before it.
pub fn template(
    kind: Kind,
    original: Option<&[u8]>,
    me: &[Address],
    signatures: &Signatures,
    utc_offset: i32,
) -> Draft {
    let mut d = Draft {
        from: me.first().cloned().unwrap_or_default(),
        ..Draft::default()
    };
    let sig_for = |from: &Address| {
        signatures
            .for_address(&from.email)
            .map(str::trim_end)
            .filter(|s| !s.is_empty())
            .map(|s| format!("\n-- \n{s}\n"))
            .unwrap_or_default()
    };
    let Some(raw) = original.filter(|_| kind != Kind::New) else {
        d.body = format!("\n{}", sig_for(&d.from));
        return d;
    };
    let view = super::message::parse(raw);
    let meta = &view.meta;
    // Answer from the address the message was sent to.
    if let Some(mine) = meta
        .to
        .iter()
        .chain(&meta.cc)
        .find_map(|a| me.iter().find(|m| m.email.eq_ignore_ascii_case(&a.email)))
    {
        d.from = mine.clone();
    }
    let sig = sig_for(&d.from);
    let parsed = mail_parser::MessageParser::default().parse_headers(raw);
    let reply_to: Vec<Address> = parsed
        .as_ref()
        .and_then(|m| m.reply_to())
        .map(|l| {
            l.iter()
                .filter_map(|a| {
                    Some(Address {
                        name: a.name().map(str::to_string),
                        email: a.address()?.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let sender = if reply_to.is_empty() {
        meta.from.clone()
    } else {
        reply_to
    };
    let who = meta
        .from
        .first()
        .map(|a| a.name.clone().unwrap_or_else(|| a.email.clone()))
        .unwrap_or_else(|| "someone".into());
    let when = meta
        .date
        .map(|t| date_text(t, utc_offset))
        .unwrap_or_default();
    match kind {
        Kind::Reply | Kind::ReplyAll => {
            d.subject = prefixed_subject("Re:", &meta.subject);
            (d.to, d.cc) = if kind == Kind::ReplyAll {
                reply_all(&sender, &meta.to, &meta.cc, me)
            } else {
                (unique(&sender), Vec::new())
            };
            d.in_reply_to = meta.message_id.clone();
            d.references = meta.references.clone();
            if let Some(id) = &meta.message_id
                && !d.references.contains(id)
            {
                d.references.push(id.clone());
            }
            let quoted: String = view
                .body
                .trim_end()
                .lines()
                .map(|l| {
                    if l.starts_with('>') {
                        format!(">{l}\n")
                    } else if l.is_empty() {
                        ">\n".to_string()
                    } else {
                        format!("> {l}\n")
                    }
                })
                .collect();
            let on = if when.is_empty() {
                format!("{who} wrote:")
            } else {
                format!("On {when}, {who} wrote:")
            };
            d.body = format!("\n\n{on}\n{quoted}{sig}");
        }
        Kind::Forward | Kind::ForwardAttached => {
            d.subject = prefixed_subject("Fwd:", &meta.subject);
            if kind == Kind::ForwardAttached {
                d.body = format!("\n{sig}");
                d.attachments.push(Attachment {
                    name: format!("{}.eml", super::sanitize::file_name(&meta.subject)),
                    content_type: "message/rfc822".into(),
                    data: raw.to_vec(),
                });
            } else {
                d.body = format!(
                    "\n\n---------- Forwarded message ----------\nFrom: {}\nDate: {when}\n\
                     Subject: {}\nTo: {}\n\n{}\n{sig}",
                    format_list(&meta.from),
                    meta.subject,
                    format_list(&meta.to),
                    view.body.trim_end()
                );
            }
        }
        Kind::New => {}
    }
    d
}

/// Whether the text (not what it quotes) speaks of an attachment.
pub fn mentions_attachment(body: &str) -> bool {
    const WORDS: &[&str] = &[
        "attach",
        "enclosed",
        "anbei",
        "anhang",
        "pièce jointe",
        "pièces jointes",
        "adjunto",
        "allegat",
        "bijlage",
        "bifogad",
        "vedhæft",
        "załącz",
        "в приложении",
    ];
    body.lines()
        .take_while(|l| *l != "-- ")
        .filter(|l| !l.trim_start().starts_with('>'))
        .any(|l| {
            let lower = l.to_lowercase();
            WORDS.iter().any(|w| lower.contains(w))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MimeHeaders;

    fn addr(name: Option<&str>, email: &str) -> Address {
        Address {
            name: name.map(str::to_string),
            email: email.into(),
        }
    }

    #[test]
    fn builds_encoded_headers_utf8_text_attachments_and_no_bcc() {
        let d = Draft {
            from: addr(Some("Zoë Ärger"), "zoe@example.test"),
            to: vec![addr(None, "bob@example.test")],
            cc: vec![addr(Some("Carol"), "carol@example.test")],
            bcc: vec![
                addr(None, "secret@example.test"),
                addr(None, "BOB@example.test"),
            ],
            subject: "Grüße aus Köln ✓".into(),
            body: "Hallo Bob,\nschöne Grüße.\n".into(),
            in_reply_to: Some("<parent@example.test>".into()),
            references: vec!["<root@example.test>".into(), "parent@example.test".into()],
            attachments: vec![Attachment {
                name: "notes.pdf".into(),
                content_type: String::new(),
                data: (0..=255u8).collect(),
            }],
        };
        let b = build(&d, 1_795_543_200, "abc123");
        let text = String::from_utf8_lossy(&b.raw).to_string();
        assert!(b.raw.is_ascii(), "7-bit on the wire: {text}");
        assert!(!text.to_ascii_lowercase().contains("\nbcc:"), "{text}");
        assert!(!text.contains("secret@"), "{text}");
        assert_eq!(b.message_id, "abc123@example.test");
        assert_eq!(
            b.rcpt,
            [
                "bob@example.test",
                "carol@example.test",
                "secret@example.test"
            ]
        );
        // What a reader sees after decoding.
        let parsed = mail_parser::MessageParser::default().parse(&b.raw).unwrap();
        assert_eq!(parsed.subject(), Some("Grüße aus Köln ✓"));
        assert_eq!(
            parsed.from().unwrap().first().unwrap().name(),
            Some("Zoë Ärger")
        );
        assert_eq!(parsed.message_id(), Some("abc123@example.test"));
        assert_eq!(
            parsed.in_reply_to().as_text_list().unwrap(),
            ["parent@example.test"]
        );
        assert_eq!(
            parsed.references().as_text_list().unwrap(),
            ["root@example.test", "parent@example.test"]
        );
        assert!(parsed.body_text(0).unwrap().contains("schöne Grüße."));
        let att = parsed.attachment(0).unwrap();
        assert_eq!(att.attachment_name(), Some("notes.pdf"));
        assert_eq!(att.contents(), (0..=255u8).collect::<Vec<_>>().as_slice());
        assert_eq!(
            att.content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or(""))),
            Some("application/pdf".into())
        );
        assert!(parsed.date().is_some());
    }

    fn original() -> Vec<u8> {
        b"From: Carol Example <carol@example.test>\r\n\
To: Me <me@example.test>, Dan <dan@example.test>\r\n\
Cc: alias@example.test, Eve <eve@example.test>\r\n\
Subject: Re: RE: Lunch?\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <orig@example.test>\r\n\
References: <root@example.test>\r\n\r\n\
Shall we?\r\n> earlier text\r\n"
            .to_vec()
    }

    fn sigs(s: &str) -> Signatures {
        Signatures {
            default: Some(s.into()),
            by_address: vec![("alias@example.test".into(), "Alias signs".into())],
        }
    }

    fn me() -> Vec<Address> {
        vec![
            addr(Some("Me"), "me@example.test"),
            addr(None, "ALIAS@example.test"),
        ]
    }

    #[test]
    fn replies_quote_thread_and_leave_out_the_user() {
        let raw = original();
        let r = template(Kind::Reply, Some(&raw), &me(), &sigs("Me\nexample"), 0);
        assert_eq!(r.subject, "Re: Lunch?");
        assert_eq!(r.to, [addr(Some("Carol Example"), "carol@example.test")]);
        assert!(r.cc.is_empty());
        assert_eq!(r.in_reply_to.as_deref(), Some("orig@example.test"));
        assert_eq!(r.references, ["root@example.test", "orig@example.test"]);
        assert!(
            r.body.contains(
                "On Tue, 24 Nov 2026 at 10:00, Carol Example wrote:\n> Shall we?\n>> earlier text\n"
            ),
            "{}",
            r.body
        );
        assert!(r.body.ends_with("\n-- \nMe\nexample\n"), "{}", r.body);
        assert_eq!(r.from.email, "me@example.test");

        let all = template(Kind::ReplyAll, Some(&raw), &me(), &Signatures::default(), 0);
        let emails = |l: &[Address]| l.iter().map(|a| a.email.clone()).collect::<Vec<_>>();
        assert_eq!(emails(&all.to), ["carol@example.test"]);
        assert_eq!(
            emails(&all.cc),
            ["dan@example.test", "eve@example.test"],
            "the alias is the user too"
        );

        let fwd = template(Kind::Forward, Some(&raw), &me(), &Signatures::default(), 0);
        assert_eq!(fwd.subject, "Fwd: Lunch?");
        assert!(fwd.to.is_empty() && fwd.in_reply_to.is_none());
        assert!(fwd.body.contains(
            "---------- Forwarded message ----------\nFrom: Carol Example <carol@example.test>"
        ));
        let att = template(
            Kind::ForwardAttached,
            Some(&raw),
            &me(),
            &Signatures::default(),
            0,
        );
        assert_eq!(att.attachments[0].content_type, "message/rfc822");
        assert_eq!(att.attachments[0].data, raw);
    }

    #[test]
    fn reply_all_answers_the_sender_and_copies_the_others() {
        let emails = |l: &[Address]| l.iter().map(|a| a.email.clone()).collect::<Vec<_>>();
        let all = |raw: &str| template(Kind::ReplyAll, Some(raw.as_bytes()), &me(), &sigs(""), 0);
        // Reply-To in To; the sender, To and Cc in Cc, each once, the user's addresses left out.
        let d = all(
            "From: Carol <carol@example.test>\r\nReply-To: list@example.test\r\n\
                     To: me@example.test, Dan <dan@example.test>, CAROL@example.test\r\n\
                     Cc: dan@example.test, Alias@example.test, eve@example.test\r\n\
                     Subject: s\r\n\r\nb\r\n",
        );
        assert_eq!(emails(&d.to), ["list@example.test"]);
        assert_eq!(
            emails(&d.cc),
            ["dan@example.test", "CAROL@example.test", "eve@example.test"]
        );
        // The sender listed again in To or Cc is not copied as well.
        let d = all(
            "From: carol@example.test\r\nTo: me@example.test, carol@example.test\r\n\
                     Cc: dan@example.test\r\nSubject: s\r\n\r\nb\r\n",
        );
        assert_eq!(emails(&d.to), ["carol@example.test"]);
        assert_eq!(emails(&d.cc), ["dan@example.test"]);
        // The user's own message: To its recipients, Cc its Cc.
        let d = all(
            "From: Me <me@example.test>\r\nTo: dan@example.test, alias@example.test\r\n\
                     Cc: eve@example.test\r\nSubject: s\r\n\r\nb\r\n",
        );
        assert_eq!(emails(&d.to), ["dan@example.test"]);
        assert_eq!(emails(&d.cc), ["eve@example.test"]);
        // A note to oneself is answered to oneself.
        let d = all("From: me@example.test\r\nTo: me@example.test\r\nSubject: s\r\n\r\nb\r\n");
        assert_eq!(emails(&d.to), ["me@example.test"]);
        assert!(d.cc.is_empty());
    }

    #[test]
    fn the_identity_is_the_address_the_original_was_sent_to() {
        let raw = b"From: x@example.test\r\nTo: alias@example.test\r\nSubject: s\r\n\r\nb\r\n";
        let r = template(Kind::Reply, Some(raw), &me(), &sigs("default"), 0);
        assert_eq!(r.from.email, "ALIAS@example.test");
        assert!(
            r.body.ends_with("-- \nAlias signs\n"),
            "the alias's own signature"
        );
        let n = template(Kind::New, None, &me(), &sigs("sig"), 0);
        assert_eq!(n.from.email, "me@example.test");
        assert_eq!(n.body, "\n\n-- \nsig\n");
    }

    #[test]
    fn the_edited_text_reads_back() {
        let raw = original();
        let base = template(Kind::Reply, Some(&raw), &me(), &Signatures::default(), 0);
        let text = editable(&base);
        assert!(text.starts_with("From: Me <me@example.test>\nTo: Carol Example <carol@example.test>\nCc: \nBcc: \nSubject: Re: Lunch?\n\n"), "{text}");
        let edited = text
            .replace(
                "Cc: \n",
                "Cc: \"Doe, Jane\" <jane@example.test>, zoe@example.test\n",
            )
            .replace("Subject: Re: Lunch?", "Subject: Re: Lunch? Sure — 12:30");
        let d = parse_editable(&edited, &base).unwrap();
        assert_eq!(d.cc[0], addr(Some("Doe, Jane"), "jane@example.test"));
        assert_eq!(d.cc[1].email, "zoe@example.test");
        assert_eq!(d.subject, "Re: Lunch? Sure — 12:30");
        assert_eq!(
            d.in_reply_to, base.in_reply_to,
            "what is not editable stays"
        );
        assert_eq!(d.body, base.body);
        assert!(parse_editable("To: x\n\nbody", &base).is_err());
        assert!(parse_editable("no blank line", &base).is_err());
        assert_eq!(
            format_address(&addr(Some("Doe, Jane"), "j@x")),
            "\"Doe, Jane\" <j@x>"
        );
    }

    #[test]
    fn attachment_words_outside_quotes_and_signature() {
        assert!(mentions_attachment(
            "Hi,\nplease find the report attached.\n"
        ));
        assert!(mentions_attachment("Anbei die Unterlagen."));
        assert!(!mentions_attachment("Hi\n> see attached\n"));
        assert!(!mentions_attachment("Hi\n-- \nattachments welcome\n"));
        assert!(!mentions_attachment("Lunch at noon?"));
    }

    #[test]
    fn a_draft_reads_back_as_written_bcc_included() {
        let d = Draft {
            from: addr(Some("Me"), "me@example.test"),
            to: vec![addr(Some("Zoë"), "zoe@example.test")],
            cc: vec![],
            bcc: vec![addr(Some("Boss"), "boss@example.test")],
            subject: "Plan für Montag".into(),
            body: "Erste Zeile\nzweite.\n".into(),
            in_reply_to: Some("p@x".into()),
            references: vec!["r@x".into(), "p@x".into()],
            attachments: vec![Attachment {
                name: "a.bin".into(),
                content_type: "application/octet-stream".into(),
                data: vec![0, 1, 2, 255],
            }],
        };
        let raw = build_draft(&d, 1_795_543_200, "u");
        let back = draft_from_raw(&raw);
        assert_eq!(back.to, d.to);
        assert_eq!(back.bcc[0].email, "boss@example.test");
        assert_eq!(back.subject, d.subject);
        assert_eq!(back.body, d.body);
        assert_eq!(back.in_reply_to, d.in_reply_to);
        assert_eq!(back.references, d.references);
        assert_eq!(back.attachments, d.attachments);
        assert!(!build(&d, 0, "u").raw.windows(4).any(|w| w == b"Bcc:"));
    }

    #[test]
    fn one_prefix_never_a_stack() {
        assert_eq!(prefixed_subject("Re:", "Re: RE: Fwd: plans"), "Re: plans");
        assert_eq!(prefixed_subject("Fwd:", "plans"), "Fwd: plans");
        assert_eq!(message_id_for("a@b.example", "x"), "x@b.example");
        assert_eq!(message_id_for("nobody", "x"), "x@tern.invalid");
    }
}
