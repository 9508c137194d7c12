//! Responses imap-proto cannot read: normalised where that is safe, rewritten into a form it
//! reads, or recognised as unreadable (then skipped).

use super::*;

/// A response with every line end outside literals made CRLF, and with `plain`, every
/// literal marker made a plain `{N}` (imap-proto reads neither `{N+}` nor `~{N}`).
pub(super) fn normalize(resp: &[u8], plain: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(resp.len() + 8);
    let mut i = 0;
    while i < resp.len() {
        let Some(at) = memchr::memchr(b'\n', &resp[i..]) else {
            out.extend_from_slice(&resp[i..]);
            break;
        };
        let lf = i + at;
        let cr = lf > i && resp[lf - 1] == b'\r';
        let line = &resp[i..if cr { lf - 1 } else { lf }];
        let literal = literal_len(line);
        match literal {
            Some(n) if plain => {
                let open = line.iter().rposition(|&b| b == b'{').unwrap_or(0);
                let head = line[..open].strip_suffix(b"~").unwrap_or(&line[..open]);
                out.extend_from_slice(head);
                out.extend_from_slice(format!("{{{n}}}").as_bytes());
            }
            _ => out.extend_from_slice(line),
        }
        out.extend_from_slice(b"\r\n");
        i = lf + 1;
        if let Some(n) = literal {
            let lit_end = i.saturating_add(n).min(resp.len());
            out.extend_from_slice(&resp[i..lit_end]);
            i = lit_end;
        }
    }
    out
}

/// Whether imap-proto reads all of `resp` as one response.
pub(super) fn parses(resp: &[u8]) -> bool {
    !trips_imap_proto(resp) && matches!(Response::parse(resp), Ok((rest, _)) if rest.is_empty())
}

/// imap-proto 0.17 panics on a status or continuation (`+` with or without its space) whose
/// response code is followed at once by a byte outside ASCII (`* OK [ALERT]é`: it cuts the
/// text after the code at byte 1), and so would async-imap: such a response is unreadable
/// (found by `fuzz/run.sh imap_wire`).
pub(super) fn trips_imap_proto(resp: &[u8]) -> bool {
    let line = resp.split(|&b| b == b'\n').next().unwrap_or(resp);
    let text = match line.strip_prefix(b"+") {
        Some(text) => text.strip_prefix(b" ").unwrap_or(text),
        None => {
            let mut words = line.splitn(3, |&b| b == b' ');
            let (Some(_tag), Some(word), Some(text)) = (words.next(), words.next(), words.next())
            else {
                return false;
            };
            let status = word.to_ascii_uppercase();
            if !matches!(
                status.as_slice(),
                b"OK" | b"NO" | b"BAD" | b"BYE" | b"PREAUTH"
            ) {
                return false;
            }
            text
        }
    };
    text.first() == Some(&b'[')
        && text
            .iter()
            .position(|&b| b == b']')
            .and_then(|i| text.get(i + 1))
            .is_some_and(|&b| b >= 0x80)
}

/// A readable equivalent of an unreadable response, when it is a status (tagged or untagged)
/// or a continuation: its tag and status word, and its text with what could not be read
/// removed. None: nothing safe can replace it (it is dropped).
pub(super) fn rewrite(resp: &[u8]) -> Option<Vec<u8>> {
    let line = resp.split(|&b| b == b'\n').next().unwrap_or(resp);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.first() == Some(&b'+') {
        return Some(b"+ \r\n".to_vec());
    }
    let mut words = line.splitn(3, |&b| b == b' ');
    let tag = words.next()?;
    let word = words.next()?;
    let letters = word.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let status = word[..letters].to_ascii_uppercase();
    let text = words.next().unwrap_or_default();
    let allowed: &[&[u8]] = if tag == b"*" {
        &[b"OK", b"NO", b"BAD", b"BYE", b"PREAUTH"]
    } else {
        &[b"OK", b"NO", b"BAD"]
    };
    if !allowed.contains(&status.as_slice()) {
        return None;
    }
    // The text without controls, without a literal marker at its end, and without a leading
    // response code (the part most likely unreadable).
    let text = match literal_len(text) {
        Some(_) => &text[..text.iter().rposition(|&b| b == b'{').unwrap_or(0)],
        None => text,
    };
    let text: Vec<u8> = text
        .iter()
        .copied()
        .filter(|&b| b >= 0x20 && b != 0x7f)
        .collect();
    let text = match text.strip_prefix(b"[") {
        Some(rest) => rest
            .iter()
            .position(|&b| b == b']')
            .map_or(&b""[..], |i| &rest[i + 1..]),
        None => &text[..],
    };
    let text = String::from_utf8_lossy(text);
    let text = text.trim();
    for text in [text, "(unreadable)"].into_iter().filter(|t| !t.is_empty()) {
        let candidate = format!(
            "{} {} {text}\r\n",
            String::from_utf8_lossy(tag),
            String::from_utf8_lossy(&status)
        );
        if parses(candidate.as_bytes()) {
            return Some(candidate.into_bytes());
        }
    }
    None
}
