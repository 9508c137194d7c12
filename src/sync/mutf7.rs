//! Modified UTF-7 mailbox names (RFC 3501 section 5.1.3).
//!
//! Hand-written: the crate for this (utf7-imap) panics on a malformed name (it unwraps its
//! base64 decode), and a server's mailbox list is untrusted input. The codec is small.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Decode a name from the wire. Malformed shifted sections are kept as they are.
pub fn decode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(dash) = after.find('-') else {
            out.push_str(&rest[amp..]);
            return out;
        };
        let section = &after[..dash];
        if section.is_empty() {
            out.push('&');
        } else {
            match decode_section(section) {
                Some(s) => out.push_str(&s),
                None => out.push_str(&rest[amp..amp + dash + 2]),
            }
        }
        rest = &after[dash + 1..];
    }
    out.push_str(rest);
    out
}

fn decode_section(s: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut units = Vec::new();
    let mut bytes = Vec::new();
    for c in s.bytes() {
        bits = (bits << 6) | b64_value(c)?;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            bytes.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    if bytes.len() % 2 != 0 {
        return None;
    }
    for pair in bytes.chunks(2) {
        units.push(u16::from_be_bytes([pair[0], pair[1]]));
    }
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

/// The name to send for a mailbox the cache knows by its decoded name.
pub fn wire(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        "INBOX".to_string()
    } else {
        encode(name)
    }
}

/// Encode a name for the wire.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        for chunk in bytes.chunks(3) {
            let n = chunk.len();
            let v = (u32::from(chunk[0]) << 16)
                | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
                | u32::from(*chunk.get(2).unwrap_or(&0));
            for i in 0..=n {
                out.push(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc_examples() {
        assert_eq!(decode("&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"), "Отправленные");
        assert_eq!(encode("Отправленные"), "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-");
        assert_eq!(
            decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            "~peter/mail/台北/日本語"
        );
        assert_eq!(
            encode("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(encode("théâtre"), "th&AOkA4g-tre");
        assert_eq!(decode("th&AOkA4g-tre"), "théâtre");
        assert_eq!(encode("A&B"), "A&-B");
        assert_eq!(decode("A&-B"), "A&B");
        assert_eq!(encode("emoji 🎉"), format!("emoji {}", &encode("🎉")));
        assert_eq!(decode(&encode("emoji 🎉 & more")), "emoji 🎉 & more");
    }

    #[test]
    fn malformed_names_never_panic() {
        for bad in ["&!!!-", "&", "&AAA", "x&A-", "&2D3-", "&AGEA-"] {
            let _ = decode(bad);
        }
        assert_eq!(decode("&!!!-"), "&!!!-");
        assert_eq!(decode("open&"), "open&");
    }
}
