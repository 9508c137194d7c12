//! Reading and writing POP3 bytes: status text, numbers, base64, and the dot-stuffing of
//! multi-line answers undone across buffer boundaries.

use super::*;

/// Server text made fit for an error message: at most 200 characters, sanitised.
pub(super) fn shown(text: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(text).chars().take(200).collect();
    sanitize::line(&text)
}

/// The response code (RFC 2449) a `-ERR` text starts with, upper-cased: `IN-USE`, `SYS/TEMP`…
pub(super) fn code(text: &[u8]) -> Option<String> {
    let rest = text.strip_prefix(b"[")?;
    let end = rest.iter().position(|&b| b == b']')?;
    Some(String::from_utf8_lossy(&rest[..end]).to_ascii_uppercase())
}

pub(super) fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
}

pub(super) fn number<T: FromStr>(word: &[u8]) -> Option<T> {
    std::str::from_utf8(word).ok()?.parse().ok()
}

/// `n size` of STAT and LIST.
pub(super) fn pair<T: FromStr>(line: &[u8]) -> Option<(u32, T)> {
    let mut w = words(line);
    Some((number(w.next()?)?, number(w.next()?)?))
}

/// Standard base64 (RFC 4648), for AUTH PLAIN.
pub(super) fn base64(bytes: &[u8]) -> String {
    pub(super) const ABC: &[u8; 64] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(ABC[(n >> (18 - 6 * i)) as usize & 63])
            } else {
                '='
            });
        }
    }
    out
}

/// Where RETR is in the dot-stuffed stream of a multi-line answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum At {
    LineStart,
    /// A `.` began the line (consumed, not copied).
    Dot,
    /// `.` CR began the line.
    DotCr,
    Mid,
}

/// Copy the message bytes of `chunk` into `out`, undoing dot-stuffing and ending every line
/// with CRLF (a bare LF too). Returns how many bytes were consumed and whether the final `.`
/// line was among them; when it was not, the whole chunk was consumed.
pub(super) fn unstuff(at: &mut At, chunk: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
    let mut i = 0;
    while i < chunk.len() {
        match *at {
            At::LineStart if chunk[i] == b'.' => (i, *at) = (i + 1, At::Dot),
            At::LineStart => *at = At::Mid,
            At::Dot => match chunk[i] {
                b'\n' => return (i + 1, true),
                b'\r' => (i, *at) = (i + 1, At::DotCr),
                _ => *at = At::Mid,
            },
            At::DotCr if chunk[i] == b'\n' => return (i + 1, true),
            At::DotCr => {
                out.push(b'\r');
                *at = At::Mid;
            }
            At::Mid => match chunk[i..].iter().position(|&b| b == b'\n') {
                Some(p) => {
                    out.extend_from_slice(&chunk[i..i + p]);
                    if out.last() != Some(&b'\r') {
                        out.push(b'\r');
                    }
                    out.push(b'\n');
                    (i, *at) = (i + p + 1, At::LineStart);
                }
                None => {
                    out.extend_from_slice(&chunk[i..]);
                    i = chunk.len();
                }
            },
        }
    }
    (i, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstuff_across_every_chunk_boundary() {
        let wire: &[u8] = b"a\r\n..b\r\n.\xff\r\n\n.\rx\r\nc\nd\r\n.\r\nNEXT";
        let want: &[u8] = b"a\r\n.b\r\n\xff\r\n\r\n\rx\r\nc\r\nd\r\n";
        for split in 0..=wire.len() {
            let (mut at, mut out) = (At::LineStart, Vec::new());
            let (used, done) = unstuff(&mut at, &wire[..split], &mut out);
            let total = if done {
                used
            } else {
                assert_eq!(used, split);
                let (more, done) = unstuff(&mut at, &wire[split..], &mut out);
                assert!(done, "split {split}");
                split + more
            };
            assert_eq!(out, want, "split {split}");
            assert_eq!(&wire[total..], b"NEXT", "split {split}");
        }
    }

    #[test]
    fn base64_vectors() {
        let cases = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v")];
        for (plain, coded) in cases {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
        assert_eq!(base64(b"\0user\0pass"), "AHVzZXIAcGFzcw==");
    }
}
