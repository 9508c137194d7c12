//! Attachments: found by index, decoded (leniently, for truncated base64) and named.

use super::*;

/// The name and decoded contents of a message's attachment, counted as
/// [`MessageView::attachments`] lists them.
pub fn attachment(raw: &[u8], index: usize) -> Option<(String, Vec<u8>)> {
    let msg = MessageParser::default().parse(raw)?;
    let part = msg.attachments().nth(index)?;
    let name = attachment_name(part);
    // mail-parser gives base64 it cannot decode (cut short, no closing boundary) as its raw
    // text: decode that leniently instead of saving the base64 itself.
    let base64 = part
        .content_transfer_encoding()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"));
    let bytes = if part.is_encoding_problem && base64 {
        lenient_base64(part.contents())
    } else {
        part.contents().to_vec()
    };
    Some((name, bytes))
}

/// Base64 decoded as far as it goes: characters outside the alphabet skipped, everything from
/// the first `=` ignored, a last incomplete quantum decoded to its whole bytes.
pub(super) fn lenient_base64(text: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    use base64::engine::{GeneralPurpose, general_purpose::NO_PAD};
    pub(super) const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        NO_PAD.with_decode_allow_trailing_bits(true),
    );
    let mut digits: Vec<u8> = text
        .iter()
        .copied()
        .take_while(|&b| b != b'=')
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        .collect();
    if digits.len() % 4 == 1 {
        digits.pop(); // six bits: not a byte
    }
    ENGINE.decode(&digits).unwrap_or_default()
}

pub(super) fn attachment_name(p: &mail_parser::MessagePart<'_>) -> String {
    p.attachment_name()
        .map(str::to_string)
        .or_else(|| {
            p.message()
                .and_then(|m| m.subject())
                .map(|s| format!("{s}.eml"))
        })
        .unwrap_or_else(|| "unnamed".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_base64_attachments_are_decoded() {
        // Without the closing boundary mail-parser gives the raw text; with it, it decodes
        // the whole quanta itself.
        for (body, end, want) in [
            ("QUJD", "", &b"ABC"[..]),
            ("QUJDRA", "", b"ABCD"),
            ("QUJDRA=", "", b"ABCD"),
            ("QUJDREVG\r\nR0g", "", b"ABCDEFGH"),
            ("QUJD", "\r\n--b--\r\n", b"ABC"),
            ("QUJDRA", "\r\n--b--\r\n", b"ABC"),
        ] {
            {
                let raw = format!(
                    "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
--b\r\nContent-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=a.bin\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{body}{end}"
                );
                let (name, bytes) = attachment(raw.as_bytes(), 0).expect("attachment");
                assert_eq!(name, "a.bin");
                assert_eq!(
                    bytes,
                    want,
                    "{body:?} {end:?}: {:?}",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }
}
