//! A tolerant framing layer between the network stream and async-imap.
//!
//! async-imap hands every byte it reads to imap-proto's parser; a response the parser does not
//! understand ends in an io error with the bad bytes still in its buffer, so the session is
//! stuck and must be dropped. Real servers send such responses (`* 4 EXPUNGED`, private
//! untagged data, bare LF line ends). [`Wire`] sits below async-imap and reads the server's
//! bytes one complete response at a time (a line plus its literals, which pass untouched), turns
//! bare LF line ends into CRLF, checks the response with imap-proto and, when imap-proto cannot
//! read it, rewrites it into an equivalent it can (a tagged or untagged status keeps its tag and
//! status word, so no command waits forever for its completion) or drops it (leaving a plain
//! `* OK` in its place, see [`SKIPPED`]). Every dropped or
//! rewritten response is logged (sanitized, truncated) and counted in [`WireStats`], which the
//! IMAP session reads to mark the selected mailbox for a resync.
//!
//! Hand-written: no crate offers a tolerant framing layer for async-imap (imap-next and
//! imap-codec are a different, sans-I/O stack), and the work is small: find line ends and
//! literal markers, ask imap-proto, repair. Everything is bounded: a line longer than
//! [`Limits::line`] or a literal larger than [`Limits::literal`] is an error, not growth.
//!
//! Cost: each byte is copied once more than without the layer (network buffer -> here ->
//! async-imap's buffer), and each response is parsed once more (lines only: imap-proto skips
//! over literals without looking at them). Measured in memory (release, `tests::overhead`):
//! 195 MB of message bodies no measurable difference; 300,000 flag lines about 1 µs more per
//! response (0.7-0.8 s against 0.4-0.5 s).
//!
//! Header sections need no help: imap-proto reads `BODY[HEADER.FIELDS ("SUBJECT")]` and any
//! letter case as the header (tested in `tests::header_field_sections_in_any_spelling_are_headers`).
//!
//! Here: the framing of responses. `rewrite`: the repairs; `stream`: the AsyncRead and
//! AsyncWrite async-imap reads through.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use async_imap::imap_proto::Response;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::net::BoxStream;

mod rewrite;
mod stream;

use rewrite::{normalize, parses, rewrite, trips_imap_proto};

/// How much of a server's line an error or a log message shows.
pub const EXCERPT_CHARS: usize = 200;

/// Unreadable responses logged per connection (all of them are counted).
const LOGGED_PER_CONNECTION: u64 = 20;

/// What a dropped response becomes: a harmless untagged status, so a reader waiting for the
/// server (IDLE) wakes up and sees that something was lost.
pub const SKIPPED: &[u8] = b"* OK tern skipped a response it cannot read\r\n";

/// How much is asked of the network per read.
const READ_CHUNK: usize = 64 * 1024;

/// Bounds on what the server may send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of one line outside literals. Large, because a UID SEARCH answer on a mailbox of
    /// a million messages is one line of several megabytes.
    pub line: usize,
    /// Bytes of one literal, and of one whole response (async-imap's own buffer limit).
    pub literal: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            line: 16 << 20,
            literal: 512 << 20,
        }
    }
}

/// What a [`Wire`] did to the server's responses; shared with the session that reads it.
#[derive(Debug, Default)]
pub struct WireStats {
    skipped: AtomicU64,
    rewritten: AtomicU64,
    /// The last tagged answer handed to async-imap: whether it was OK, and its line (an
    /// excerpt). async-imap's streaming commands (LIST, FETCH...) end at the tagged answer
    /// whatever it says, and at the end of the connection as if it were one; this is how the
    /// session tells a complete answer from a refused or cut one.
    done: std::sync::Mutex<Option<(bool, String)>>,
}

impl WireStats {
    /// The last tagged answer since the previous call (see [`WireStats::done`]): `Ok` for an
    /// OK, `Err(line)` for NO or BAD, None when none came (the connection ended first).
    pub fn take_done(&self) -> Option<Result<(), String>> {
        self.done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .map(|(ok, line)| if ok { Ok(()) } else { Err(line) })
    }

    /// Note `resp` when it is a tagged OK, NO or BAD.
    fn note_done(&self, resp: &[u8]) {
        let line = resp.split(|&b| b == b'\n').next().unwrap_or(resp);
        if matches!(line.first(), None | Some(b'*' | b'+')) {
            return;
        }
        let mut words = line.split(|&b| b == b' ').skip(1);
        let ok = match words.next().map(|w| w.strip_suffix(b"\r").unwrap_or(w)) {
            Some(w) if w.eq_ignore_ascii_case(b"OK") => true,
            Some(w) if w.eq_ignore_ascii_case(b"NO") || w.eq_ignore_ascii_case(b"BAD") => false,
            _ => return,
        };
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = Some((ok, excerpt(line)));
    }

    /// Responses dropped because nothing equivalent could be read.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Responses replaced by a readable equivalent (a status line with its text cleaned).
    pub fn rewritten(&self) -> u64 {
        self.rewritten.load(Ordering::Relaxed)
    }

    /// Responses dropped or rewritten: when this moves, something the server said was lost.
    pub fn altered(&self) -> u64 {
        self.skipped() + self.rewritten()
    }
}

/// The error a [`Wire`] fails with: the server broke the protocol beyond repair.
#[derive(Debug)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

/// Whether an io error is a [`Wire`]'s protocol error (as opposed to the network's).
pub fn protocol_error(e: &io::Error) -> Option<&WireError> {
    e.get_ref().and_then(|i| i.downcast_ref::<WireError>())
}

/// A server's bytes as text fit for a log or an error: the first line only (never what follows
/// it, such as a literal's contents), control characters removed, at most [`EXCERPT_CHARS`].
pub fn excerpt(bytes: &[u8]) -> String {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or(bytes);
    let text = String::from_utf8_lossy(&first[..first.len().min(EXCERPT_CHARS * 4)]);
    let clean = crate::domain::sanitize::line(&text);
    let clean = clean.trim_end();
    match clean.char_indices().nth(EXCERPT_CHARS) {
        Some((i, _)) => format!("{}...", &clean[..i]),
        None => clean.to_string(),
    }
}

/// How the current response is being framed (indices into [`Wire::buf`]).
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Bytes before this are framed.
    scan: usize,
    /// Start of the current line (after the last literal).
    line_start: usize,
    /// Bytes of a literal still to come.
    literal_left: usize,
    /// A line of this response ended with a bare LF.
    bare_lf: bool,
    /// The response is complete up to here (framing stops until it is taken).
    complete: Option<usize>,
}

impl Frame {
    fn at(i: usize) -> Frame {
        Frame {
            scan: i,
            line_start: i,
            literal_left: 0,
            bare_lf: false,
            complete: None,
        }
    }
}

/// The stream async-imap reads and writes: writes pass straight through; reads come out one
/// checked response at a time.
pub struct Wire {
    inner: BoxStream,
    /// Storage, all initialised; data in `pos..end`.
    buf: Vec<u8>,
    /// Next byte to hand out.
    pos: usize,
    /// `pos..ready` is checked and may be handed out.
    ready: usize,
    /// End of what was read.
    end: usize,
    /// A response changed (line ends, literal markers, rewritten or skipped), handed out
    /// before anything that follows it in `buf`.
    patch: Vec<u8>,
    patch_pos: usize,
    frame: Frame,
    limits: Limits,
    stats: Arc<WireStats>,
    logged: u64,
    /// After COMPRESS: the bytes below are deflated, so they pass untouched (a new Wire reads
    /// above the decompressor).
    passthrough: bool,
    /// A protocol error is final.
    failed: Option<String>,
}

impl fmt::Debug for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wire")
            .field("inner", &self.inner)
            .field("buffered", &(self.end - self.pos))
            .field("passthrough", &self.passthrough)
            .finish()
    }
}

/// The length of the literal announced at the end of a line (`{N}`, `{N+}`, `~{N}`), if any.
fn literal_len(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

impl Wire {
    pub fn new(inner: BoxStream, stats: Arc<WireStats>) -> Wire {
        Wire::with_limits(inner, stats, Limits::default())
    }

    pub fn with_limits(inner: BoxStream, stats: Arc<WireStats>, limits: Limits) -> Wire {
        Wire {
            inner,
            buf: vec![0; READ_CHUNK],
            pos: 0,
            ready: 0,
            end: 0,
            patch: Vec::new(),
            patch_pos: 0,
            frame: Frame::at(0),
            limits,
            stats,
            logged: 0,
            passthrough: false,
            failed: None,
        }
    }

    /// Stop looking at the bytes (COMPRESS turned on: what comes next is deflated).
    pub fn set_passthrough(&mut self) {
        self.passthrough = true;
    }

    /// The stream below (for STARTTLS). Bytes read ahead, if any, are lost: call it only when
    /// the server waits for the client.
    pub fn into_inner(self) -> BoxStream {
        self.inner
    }

    fn fail(&mut self, what: String) -> io::Error {
        self.failed = Some(what.clone());
        io::Error::new(io::ErrorKind::InvalidData, WireError(what))
    }

    /// Frame what is buffered: Some(end) when the response starting at `ready` is complete.
    fn advance(&mut self) -> io::Result<Option<usize>> {
        if let Some(end) = self.frame.complete {
            return Ok(Some(end));
        }
        loop {
            let f = &mut self.frame;
            if f.literal_left > 0 {
                let k = f.literal_left.min(self.end - f.scan);
                f.scan += k;
                f.literal_left -= k;
                if f.literal_left > 0 {
                    return Ok(None);
                }
                f.line_start = f.scan;
                continue;
            }
            let Some(at) = memchr::memchr(b'\n', &self.buf[f.scan..self.end]) else {
                f.scan = self.end;
                if self.end - f.line_start > self.limits.line {
                    let what = format!(
                        "the server sent a line longer than {} bytes: {}",
                        self.limits.line,
                        excerpt(&self.buf[f.line_start..self.end])
                    );
                    return Err(self.fail(what));
                }
                return Ok(None);
            };
            let lf = f.scan + at;
            let cr = lf > f.line_start && self.buf[lf - 1] == b'\r';
            f.bare_lf |= !cr;
            let line = &self.buf[f.line_start..if cr { lf - 1 } else { lf }];
            if line.len() > self.limits.line {
                let what = format!(
                    "the server sent a line longer than {} bytes: {}",
                    self.limits.line,
                    excerpt(line)
                );
                return Err(self.fail(what));
            }
            f.scan = lf + 1;
            match literal_len(line) {
                Some(n) if n.saturating_add(lf - self.ready) > self.limits.literal => {
                    let what = format!(
                        "the server announced a literal of {n} bytes (at most {} are accepted): {}",
                        self.limits.literal,
                        excerpt(&self.buf[self.ready..lf])
                    );
                    return Err(self.fail(what));
                }
                Some(n) => {
                    f.literal_left = n;
                    f.line_start = f.scan;
                }
                None => {
                    f.complete = Some(f.scan);
                    return Ok(Some(f.scan));
                }
            }
        }
    }

    /// Check the complete response `ready..end`. Returns false when it must be changed and
    /// bytes before it are still to be handed out (it is checked again once they are).
    fn check(&mut self, end: usize) -> bool {
        let start = self.ready;
        self.stats.note_done(&self.buf[start..end]);
        if !self.frame.bare_lf && !trips_imap_proto(&self.buf[start..end]) {
            match Response::parse(&self.buf[start..end]) {
                Ok((rest, _)) if rest.len() < end - start => {
                    // imap-proto may end a response before a `{N}` that was only text: the
                    // rest is framed again.
                    self.ready = end - rest.len();
                    self.frame = Frame::at(self.ready);
                    return true;
                }
                _ => {}
            }
        }
        if self.pos < start {
            return false;
        }
        // Changed responses go out through `patch`; `buf` is never spliced.
        let mut fixed = normalize(&self.buf[start..end], false);
        let rest = match trips_imap_proto(&fixed) {
            true => None,
            false => Response::parse(&fixed).ok().map(|(rest, _)| rest.len()),
        };
        match rest {
            Some(0) => {}
            Some(rest) if rest < fixed.len() => {
                // As above; rare enough to re-frame the rest from a copy.
                let keep = fixed.len() - rest;
                let more = fixed.split_off(keep);
                let n = more.len();
                self.buf.splice(end..end, more);
                self.end += n;
            }
            _ => fixed = self.repair(&fixed),
        }
        self.patch = fixed;
        self.patch_pos = 0;
        self.pos = end;
        self.ready = end;
        self.frame = Frame::at(end);
        true
    }

    /// An equivalent imap-proto can read of a response it cannot, or what stands for it.
    fn repair(&mut self, frame: &[u8]) -> Vec<u8> {
        let original = excerpt(frame);
        let replacement = Some(normalize(frame, true))
            .filter(|v| v != frame && parses(v))
            .or_else(|| rewrite(frame));
        let (counter, what) = match &replacement {
            Some(_) => (&self.stats.rewritten, "rewrote"),
            None => (&self.stats.skipped, "skipped"),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.logged += 1;
        if self.logged <= LOGGED_PER_CONNECTION {
            tracing::warn!(line = %original, "{what} a server response imap-proto cannot read");
        } else if self.logged == LOGGED_PER_CONNECTION + 1 {
            tracing::warn!("more unreadable server responses: no longer logged, still counted");
        }
        replacement.unwrap_or_else(|| SKIPPED.to_vec())
    }

    /// Make room for a read: compact when cheap, grow to hold an announced literal.
    fn reserve(&mut self) {
        if self.pos == self.end {
            self.pos = 0;
            self.ready = 0;
            self.end = 0;
            self.frame = Frame::at(0);
            if self.buf.len() > 4 * READ_CHUNK {
                self.buf = vec![0; READ_CHUNK];
            }
        } else if self.pos > 0 && self.end - self.pos <= self.pos {
            let n = self.pos;
            self.buf.copy_within(n..self.end, 0);
            self.pos = 0;
            self.ready -= n;
            self.end -= n;
            self.frame.scan -= n;
            self.frame.line_start -= n;
            self.frame.complete = self.frame.complete.map(|c| c - n);
        }
        let want = READ_CHUNK.max(self.frame.literal_left.min(self.limits.literal));
        if self.buf.len() - self.end < want {
            self.buf.resize(self.end + want, 0);
        }
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
