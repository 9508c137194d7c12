//! Outgoing messages: what the user wrote, turned into RFC 5322 bytes (mail-builder does the
//! MIME work: encoded words for non-ASCII headers, quoted-printable or base64 bodies,
//! multipart/mixed with attachments), plus the SMTP envelope. Pure: no I/O.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as MbAddress;
use mail_builder::headers::message_id::MessageId;

use super::Address;

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

    #[test]
    fn one_prefix_never_a_stack() {
        assert_eq!(prefixed_subject("Re:", "Re: RE: Fwd: plans"), "Re: plans");
        assert_eq!(prefixed_subject("Fwd:", "plans"), "Fwd: plans");
        assert_eq!(message_id_for("a@b.example", "x"), "x@b.example");
        assert_eq!(message_id_for("nobody", "x"), "x@tern.invalid");
    }
}
