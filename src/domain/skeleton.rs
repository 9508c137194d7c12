//! A bounded stand-in for a message too big to parse whole: its MIME structure (every part's
//! header, every boundary line) with each part's body cut, plus the size of what was cut.
//!
//! mail-parser needs the whole message in memory and decodes every part while it parses
//! (a 50 MB message with a base64 attachment costs the 50 MB plus the 37 MB decoded), and it has
//! no streaming or lazy mode. The reader only needs the text parts (their first few hundred KB)
//! and the names and sizes of the rest, so a huge message is first reduced to this skeleton in
//! one streaming pass (the cache hands it over in chunks, never whole), and the skeleton goes
//! through mail-parser. No crate does this reduction; it is small: lines, header blocks (read
//! by mail-parser itself) and boundary lines.
//!
//! Boundary lines are recognised as mail-parser does (`--` and the boundary at a line start,
//! anything after), the innermost open boundary or any outer one, so the skeleton of a
//! well-formed message parses to the same parts. Every buffer is bounded whatever the input:
//! see the limits below.

use mail_parser::{MessageParser, MimeHeaders};

/// Messages up to this size are parsed whole; larger ones through their skeleton.
pub const WHOLE_UP_TO: usize = 4 * 1024 * 1024;

/// What a skeleton keeps at most. [`Limits::DEFAULT`] is what tern uses; the fuzzer uses
/// small ones so that short inputs reach every cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Body bytes (as they are in the message, encoded) kept of one text part.
    pub text_part_keep: usize,
    /// Text body bytes kept in all, over every text part.
    pub text_budget: usize,
    /// Header bytes kept of one part.
    pub header_keep: usize,
    /// Header and boundary bytes kept in all; past it the skeleton ends there.
    pub structure_budget: usize,
    /// Boundaries open at once at most (deeper multiparts are kept as one cut part).
    pub max_depth: usize,
    /// Bytes of a line looked at for a boundary (RFC 2046 boundaries are at most 70
    /// characters).
    pub line_cap: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        // Base64 of 512 KiB decodes to 384 KiB, more than the reader shows
        // (`MAX_DISPLAY_BYTES`).
        text_part_keep: 512 * 1024,
        text_budget: 2 * 1024 * 1024,
        header_keep: 256 * 1024,
        structure_budget: 4 * 1024 * 1024,
        max_depth: 64,
        line_cap: 1024,
    };
}

/// Bytes of the message's start kept as they are, for the source view.
pub const HEAD_KEEP: usize = super::message::MAX_RENDER_BYTES;

/// One part whose body was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutPart {
    /// Where the part's body starts in [`Skeleton::raw`] (mail-parser's `raw_body_offset`).
    pub body_at: usize,
    /// The whole body's size once decoded (base64 counted exactly, other encodings as sent).
    pub size: usize,
    /// Body bytes (encoded) left out of the skeleton.
    pub left_out: usize,
}

/// A message reduced for parsing: see the module comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skeleton {
    /// The structure with bounded bodies: what mail-parser reads.
    pub raw: Vec<u8>,
    /// The first [`HEAD_KEEP`] bytes of the message as it is.
    pub head: Vec<u8>,
    /// The whole message's size.
    pub size: usize,
    /// The parts whose bodies were cut, in order.
    pub cut: Vec<CutPart>,
}

impl Skeleton {
    /// The skeleton of a message already in memory.
    pub fn of(raw: &[u8]) -> Skeleton {
        let mut b = SkeletonBuilder::default();
        b.push(raw);
        b.finish()
    }

    /// The part whose body starts at `body_at` in [`Skeleton::raw`], when it was cut.
    pub fn cut_part(&self, body_at: usize) -> Option<&CutPart> {
        self.cut
            .binary_search_by_key(&body_at, |c| c.body_at)
            .ok()
            .map(|i| &self.cut[i])
    }
}

/// The body being read.
#[derive(Debug, Default)]
struct Body {
    /// Body bytes that may be kept.
    keep: usize,
    kept: usize,
    total: usize,
    /// Base64 alphabet characters seen (for the decoded size).
    base64: Option<usize>,
    /// Base64 alphabet characters kept.
    kept_chars: usize,
    /// Length of the line break the body ends with so far.
    eol: usize,
    text: bool,
    /// A part's body (not a multipart's preamble or epilogue): listed when cut.
    part: bool,
    body_at: usize,
}

#[derive(Debug)]
enum State {
    /// Reading a header block (its bytes so far, bounded).
    Header(Vec<u8>),
    Body(Body),
    /// The structure budget ran out: nothing more is kept.
    Full,
}

/// Builds a [`Skeleton`] from a message pushed in chunks of any size.
#[derive(Debug)]
pub struct SkeletonBuilder {
    out: Vec<u8>,
    head: Vec<u8>,
    size: usize,
    cut: Vec<CutPart>,
    boundaries: Vec<Vec<u8>>,
    state: State,
    /// The start of the current line (at most [`Limits::line_cap`] bytes), not yet handled.
    line: Vec<u8>,
    /// The current line's start was handled already (it is longer than
    /// [`Limits::line_cap`]).
    mid_line: bool,
    /// Skip to the end of the current line.
    skip_line: bool,
    structure: usize,
    text: usize,
    limits: Limits,
}

impl Default for SkeletonBuilder {
    fn default() -> Self {
        SkeletonBuilder::with_limits(Limits::DEFAULT)
    }
}

impl SkeletonBuilder {
    pub fn with_limits(limits: Limits) -> Self {
        SkeletonBuilder {
            out: Vec::new(),
            head: Vec::new(),
            size: 0,
            cut: Vec::new(),
            boundaries: Vec::new(),
            state: State::Header(Vec::new()),
            line: Vec::with_capacity(limits.line_cap),
            mid_line: false,
            skip_line: false,
            structure: 0,
            text: 0,
            limits,
        }
    }

    /// The next bytes of the message.
    pub fn push(&mut self, mut data: &[u8]) {
        self.size += data.len();
        if self.head.len() < HEAD_KEEP {
            let n = data.len().min(HEAD_KEEP - self.head.len());
            self.head.extend_from_slice(&data[..n]);
        }
        while !data.is_empty() {
            let end = memchr::memchr(b'\n', data).map(|i| i + 1);
            let (piece, rest) = data.split_at(end.unwrap_or(data.len()));
            data = rest;
            let ends = end.is_some();
            if self.mid_line {
                self.segment(piece, false, ends);
            } else if self.line.len() + piece.len() <= self.limits.line_cap {
                self.line.extend_from_slice(piece);
                if ends {
                    self.flush_line(true);
                }
            } else {
                let (a, b) = piece.split_at(self.limits.line_cap - self.line.len());
                self.line.extend_from_slice(a);
                self.flush_line(false);
                self.mid_line = true;
                self.segment(b, false, ends);
            }
            if ends {
                self.mid_line = false;
            }
        }
    }

    /// The skeleton of everything pushed.
    pub fn finish(mut self) -> Skeleton {
        if !self.line.is_empty() {
            self.flush_line(false);
        }
        match std::mem::replace(&mut self.state, State::Full) {
            State::Header(h) => {
                self.write_structure(&h);
            }
            State::Body(b) => self.close(b),
            State::Full => {}
        }
        Skeleton {
            raw: self.out,
            head: self.head,
            size: self.size,
            cut: self.cut,
        }
    }

    fn flush_line(&mut self, ends: bool) {
        let line = std::mem::take(&mut self.line);
        self.segment(&line, true, ends);
        self.line = line;
        self.line.clear();
    }

    /// Write header or boundary bytes within the structure budget; false once it is spent
    /// (the skeleton then ends: a structure cut in the middle would put text in the wrong part).
    fn write_structure(&mut self, bytes: &[u8]) -> bool {
        if self.structure + bytes.len() > self.limits.structure_budget {
            self.state = State::Full;
            return false;
        }
        self.structure += bytes.len();
        self.out.extend_from_slice(bytes);
        true
    }

    /// A piece of a line: `starts` if it is the line's start, `ends` if it ends the line.
    fn segment(&mut self, seg: &[u8], starts: bool, ends: bool) {
        if self.skip_line {
            // The rest of an over-long boundary line.
            self.skip_line = !ends;
            return;
        }
        let limits = self.limits;
        match &mut self.state {
            State::Full => {}
            State::Header(h) => {
                if starts && ends && (seg == b"\n" || seg == b"\r\n") {
                    let mut h = std::mem::take(h);
                    h.extend_from_slice(seg);
                    self.end_header(h);
                } else {
                    let n = seg.len().min(limits.header_keep.saturating_sub(h.len()));
                    h.extend_from_slice(&seg[..n]);
                    // A cut header line still ends (once), so the block stays well formed.
                    if ends && n < seg.len() && !h.ends_with(b"\n") {
                        h.extend_from_slice(b"\r\n");
                    }
                }
            }
            State::Body(_) => {
                if starts
                    && seg.starts_with(b"--")
                    && let Some(i) = self
                        .boundaries
                        .iter()
                        .rposition(|b| seg[2..].starts_with(b))
                {
                    self.boundary(i, seg, ends);
                    return;
                }
                let State::Body(b) = &mut self.state else {
                    return;
                };
                b.total += seg.len();
                if !seg.is_empty() {
                    // The line break before a boundary belongs to the boundary.
                    b.eol = if seg.ends_with(b"\r\n") {
                        2
                    } else {
                        usize::from(seg.ends_with(b"\n"))
                    };
                }
                if let Some(chars) = &mut b.base64 {
                    *chars += base64_chars(seg);
                }
                if b.kept < b.keep {
                    let mut n = seg.len().min(b.keep - b.kept);
                    if b.base64.is_some() {
                        let mut chars = base64_chars(&seg[..n]);
                        if n < seg.len() {
                            // Cut at a whole quantum: mail-parser gives base64 it cannot
                            // decode as its raw text.
                            while n > 0 && !(b.kept_chars + chars).is_multiple_of(4) {
                                n -= 1;
                                chars -= base64_chars(&seg[n..=n]);
                            }
                            b.keep = b.kept; // nothing more of this part
                        }
                        b.kept_chars += chars;
                    }
                    b.kept += n;
                    self.out.extend_from_slice(&seg[..n]);
                    if b.text {
                        self.text += n;
                    }
                }
            }
        }
    }

    /// A boundary line of `self.boundaries[i]`.
    fn boundary(&mut self, i: usize, seg: &[u8], ends: bool) {
        if let State::Body(b) = std::mem::replace(&mut self.state, State::Full) {
            self.close(b);
        }
        let last = seg[2 + self.boundaries[i].len()..].starts_with(b"--");
        self.boundaries.truncate(if last { i } else { i + 1 });
        let mut line = Vec::with_capacity(seg.len() + 4);
        if !self.out.is_empty() && !self.out.ends_with(b"\n") {
            line.extend_from_slice(b"\r\n");
        }
        line.extend_from_slice(seg);
        if !ends {
            line.extend_from_slice(b"\r\n");
            self.skip_line = true;
        }
        if !self.write_structure(&line) {
            return;
        }
        self.state = if last {
            // The epilogue: not part of any part, nothing kept.
            State::Body(Body::default())
        } else {
            State::Header(Vec::new())
        };
    }

    /// The end of a header block `h` (its blank line included): write it, and read what
    /// follows by its Content-Type.
    fn end_header(&mut self, h: Vec<u8>) {
        if !self.write_structure(&h) {
            return;
        }
        let parsed = MessageParser::default().parse_headers(&h[..]);
        let part = parsed.as_ref().map(|m| m.root_part());
        let ct = part.and_then(|p| p.content_type());
        let ctype = ct.map(|c| c.ctype().to_ascii_lowercase());
        let subtype = ct.and_then(|c| c.subtype()).map(str::to_ascii_lowercase);
        let encoding = part
            .and_then(|p| p.content_transfer_encoding())
            .map(|e| e.trim().to_ascii_lowercase());
        let boundary = ct
            .and_then(|c| c.attribute("boundary"))
            .filter(|b| !b.is_empty() && b.len() + 4 <= self.limits.line_cap);
        match (ctype.as_deref(), boundary) {
            (Some("multipart"), Some(b)) if self.boundaries.len() < self.limits.max_depth => {
                self.boundaries.push(b.as_bytes().to_vec());
                // The preamble: nothing kept.
                self.state = State::Body(Body::default());
            }
            (Some("message"), _)
                if matches!(subtype.as_deref(), Some("rfc822" | "global"))
                    && !matches!(encoding.as_deref(), Some("base64" | "quoted-printable"))
                    && self.boundaries.len() < self.limits.max_depth =>
            {
                // A message inside: its header block follows. Depth counts it too.
                self.state = State::Header(Vec::new());
            }
            (c, _) => {
                let text = matches!(c, None | Some("text"));
                let keep = if text {
                    (self.limits.text_part_keep)
                        .min(self.limits.text_budget.saturating_sub(self.text))
                } else {
                    0
                };
                self.state = State::Body(Body {
                    keep,
                    base64: (encoding.as_deref() == Some("base64")).then_some(0),
                    text,
                    part: true,
                    body_at: self.out.len(),
                    ..Body::default()
                });
            }
        }
    }

    /// A body ends: list it when it was cut.
    fn close(&mut self, b: Body) {
        if b.part && b.kept < b.total {
            self.cut.push(CutPart {
                body_at: b.body_at,
                size: b
                    .base64
                    .map_or(b.total - b.eol, |n| n / 4 * 3 + (n % 4).saturating_sub(1)),
                left_out: b.total - b.kept,
            });
        }
    }
}

/// Characters of the base64 alphabet in `bytes` (padding and line breaks not counted).
fn base64_chars(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/'))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big_attachment(n: usize) -> Vec<u8> {
        let mut raw = b"From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nSee the archive.\r\n--b1\r\n\
Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\n\
Content-Transfer-Encoding: base64\r\n\r\n"
            .to_vec();
        for _ in 0..n {
            raw.extend_from_slice(
                b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\r\n",
            );
        }
        raw.extend_from_slice(b"--b1--\r\nepilogue\r\n");
        raw
    }

    #[test]
    fn an_attachment_is_cut_and_its_size_kept() {
        let raw = big_attachment(100_000); // 6.6 MB, 4.8 MB decoded
        // Pushed in uneven chunks, as the cache reads it.
        let mut b = SkeletonBuilder::default();
        for chunk in raw.chunks(7_777) {
            b.push(chunk);
        }
        let sk = b.finish();
        assert_eq!(sk.size, raw.len());
        assert_eq!(sk.head, raw[..HEAD_KEEP]);
        assert!(sk.raw.len() < 1024, "{}", sk.raw.len());
        assert_eq!(sk, Skeleton::of(&raw), "chunking changes nothing");
        assert_eq!(sk.cut.len(), 1);
        assert_eq!(sk.cut[0].size, 100_000 * 48);
        let msg = MessageParser::default().parse(&sk.raw).unwrap();
        assert_eq!(msg.body_text(0).unwrap().trim(), "See the archive.");
        let att = msg.attachments().next().unwrap();
        assert_eq!(att.attachment_name(), Some("big.bin"));
        assert_eq!(
            sk.cut_part(att.raw_body_offset() as usize),
            Some(&sk.cut[0])
        );
    }

    #[test]
    fn a_huge_text_part_keeps_its_start_and_decodes() {
        let mut raw =
            b"Subject: t\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                .to_vec();
        // One 8 MB base64 line: cut at a whole quantum, so it still decodes.
        while raw.len() < 8 * 1024 * 1024 {
            raw.extend_from_slice(b"SGVsbG8gd29ybGQh"); // "Hello world!"
        }
        let sk = Skeleton::of(&raw);
        assert!(sk.raw.len() <= Limits::DEFAULT.text_part_keep + 200);
        let msg = MessageParser::default().parse(&sk.raw).unwrap();
        let text = msg.body_text(0).unwrap();
        assert!(
            text.starts_with("Hello world!Hello world!"),
            "{}",
            &text[..40]
        );
        assert!(text.len() > 300_000);
        assert_eq!(sk.cut.len(), 1);
        assert!(sk.cut[0].left_out > 7 * 1024 * 1024);
    }

    #[test]
    fn nesting_and_outer_boundaries_keep_every_part() {
        let raw = b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\n\
Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n\
Content-Type: text/plain\r\n\r\nplain\r\n--inner\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n\
--outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: inside\r\n\
Content-Type: multipart/mixed; boundary=deep\r\n\r\n--deep\r\nContent-Type: image/png\r\n\
Content-Disposition: attachment; filename=p.png\r\n\r\nPNGDATA\r\n--deep--\r\n--outer--\r\n";
        let sk = Skeleton::of(raw);
        let full = MessageParser::default().parse(&raw[..]).unwrap();
        let small = MessageParser::default().parse(&sk.raw).unwrap();
        assert_eq!(small.parts.len(), full.parts.len());
        assert_eq!(small.body_text(0), full.body_text(0));
        assert_eq!(small.body_html(0), full.body_html(0));
        // Only the image's bytes were left out.
        assert_eq!(sk.cut.len(), 1);
        assert_eq!(sk.cut[0].size, 7);
    }

    #[test]
    fn bounded_whatever_the_input() {
        // 10,000 parts, a header line of 3 MB, 200 nested multiparts, no line ends.
        let mut raw = b"Content-Type: multipart/mixed; boundary=x\r\nX-Long: ".to_vec();
        raw.extend(std::iter::repeat_n(b'a', 3 * 1024 * 1024));
        raw.extend_from_slice(b"\r\n\r\n");
        for i in 0..200 {
            raw.extend_from_slice(
                format!("--x\r\nContent-Type: multipart/mixed; boundary=x{i}\r\n\r\n").as_bytes(),
            );
        }
        for _ in 0..10_000 {
            raw.extend_from_slice(b"--x\r\nContent-Type: text/plain\r\n\r\nsome text here\r\n");
        }
        raw.extend(std::iter::repeat_n(b'z', 5 * 1024 * 1024));
        let sk = Skeleton::of(&raw);
        assert!(
            sk.raw.len()
                <= Limits::DEFAULT.structure_budget + Limits::DEFAULT.text_budget + 64 * 1024,
            "{}",
            sk.raw.len()
        );
        assert!(MessageParser::default().parse(&sk.raw).is_some());
        for data in [
            &b""[..],
            b"\n",
            b"--",
            b"\r\n\r\n--x--",
            b"Content-Type: multipart/x; boundary=\"\"\r\n\r\n--\r\n",
        ] {
            let _ = Skeleton::of(data);
        }
    }
}
