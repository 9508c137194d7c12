//! The checks the fuzz targets (`fuzz/`) and `tests/fuzz_corpus.rs` run on one input each: the
//! parsers that read outside input, driven as tern drives them, with the invariants that
//! matter: no panic, and text meant for the terminal holds no escape, C0 (but `\n`, `\t`), C1
//! or bidi control. One place, so a crash the fuzzer saved replays in `cargo test` exactly.

use std::io::Cursor;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::domain::compose::{self, Draft};
use crate::domain::message;
use crate::domain::sanitize;
use crate::domain::search;

/// One target's check of one input: panics when an invariant breaks.
pub type Check = fn(&[u8]);

/// Every target, by the name its corpus directory has (`tests/fuzz-corpus/<name>/`).
pub const TARGETS: &[(&str, Check)] = &[
    ("message", message),
    ("skeleton", skeleton),
    ("html", html),
    ("search", search),
    ("config", config),
    ("mutf7", mutf7),
    ("pop3", pop3),
    ("imap_wire", imap_wire),
    ("compose", compose),
];

/// The check for one target name.
pub fn target(name: &str) -> Option<Check> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Characters that must never reach a terminal cell from outside input.
fn forbidden(c: char) -> bool {
    (c.is_ascii_control() && c != '\n' && c != '\t')
        || ('\u{80}'..='\u{9f}').contains(&c)
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Panics when `s`, meant for the terminal, holds a control or bidi character.
pub fn assert_terminal_safe(what: &str, s: &str) {
    if let Some(c) = s.chars().find(|&c| forbidden(c)) {
        panic!(
            "{what}: U+{:04X} reaches the terminal in {s:?}",
            u32::from(c)
        );
    }
}

/// Like [`assert_terminal_safe`], and on one line.
fn assert_line_safe(what: &str, s: &str) {
    assert_terminal_safe(what, s);
    assert!(
        !s.contains('\n'),
        "{what}: a newline in a one-line text: {s:?}"
    );
}

/// A width from the first byte, as the reader would be given (its pane is 20 to 275 columns).
fn width(data: &[u8]) -> usize {
    20 + usize::from(data.first().copied().unwrap_or(60))
}

/// What the reader's search highlighting does with a line: ranges are sliced out of it.
fn highlight(what: &str, text: &str) {
    let terms = ["e".to_string(), "ü".to_string(), "ss".to_string()];
    for r in search::match_ranges(text, &terms) {
        assert!(
            text.get(r.clone()).is_some(),
            "{what}: highlight range {r:?} in {text:?}"
        );
    }
}

/// A raw message as the reader turns it into displayed lines (src/ui/reader.rs), plus the
/// list row's preview and each attachment saved under its sanitised file name.
pub fn message(data: &[u8]) {
    let v = message::parse_for_reader(data, width(data));
    check_view(&v);
    for i in 0..v.attachments.len().min(8) {
        if let Some((name, _)) = message::attachment(data, i) {
            let f = sanitize::file_name(&name);
            assert_terminal_safe("file name", &f);
            assert!(
                !f.is_empty() && f.len() <= 200 && !f.contains(['/', '\\']) && !f.starts_with('.'),
                "unsafe file name {f:?} from {name:?}"
            );
        }
    }
}

/// A message reduced to its skeleton (as a huge one is), with small limits taken from the
/// first bytes so that short inputs reach every cut, pushed in chunks of a size taken from
/// the input too: the skeleton stays within its limits and its view is as safe as any.
pub fn skeleton(data: &[u8]) {
    use crate::domain::skeleton::{HEAD_KEEP, Limits, SkeletonBuilder};
    let byte = |i: usize| usize::from(data.get(i).copied().unwrap_or(0));
    let limits = Limits {
        text_part_keep: byte(0) % 64,
        text_budget: byte(1) % 128,
        header_keep: 8 + byte(2) % 256,
        structure_budget: 16 + byte(3) * 4,
        max_depth: 1 + byte(4) % 8,
        line_cap: 4 + byte(5) % 80,
    };
    let chunk = 1 + byte(6) % 97;
    let mut b = SkeletonBuilder::with_limits(limits);
    for c in data.chunks(chunk) {
        b.push(c);
    }
    let sk = b.finish();
    assert_eq!(sk.size, data.len());
    assert_eq!(sk.head, data[..data.len().min(HEAD_KEEP)]);
    assert!(
        sk.raw.len() <= limits.structure_budget + limits.text_budget,
        "skeleton of {} bytes over its limits {limits:?}",
        sk.raw.len()
    );
    assert!(
        sk.cut.windows(2).all(|w| w[0].body_at < w[1].body_at),
        "cut parts out of order: {:?}",
        sk.cut
    );
    check_view(&message::parse_skeleton_for_reader(&sk, width(data)));
}

/// The terminal-safety of everything the reader shows of a message.
fn check_view(v: &message::MessageView) {
    for a in v.meta.from.iter().chain(&v.meta.to).chain(&v.meta.cc) {
        assert_line_safe("address", &sanitize::address(&a.to_string()));
        assert_line_safe("list address", &sanitize::line(&compose::format_address(a)));
    }
    let subject = sanitize::line(&v.meta.subject);
    assert_line_safe("subject", &subject);
    highlight("subject", &subject);
    assert_line_safe("preview", &sanitize::line(&v.meta.preview));
    let headers = v
        .raw
        .get(..v.header_len)
        .unwrap_or_else(|| panic!("header_len {} is inside a character", v.header_len));
    assert_terminal_safe("raw headers", &sanitize::body(headers));
    assert_terminal_safe("source", &sanitize::body(&v.raw));
    for a in &v.attachments {
        assert_line_safe("attachment name", &sanitize::line(&a.name));
        assert_line_safe("attachment type", &sanitize::line(&a.content_type));
    }
    match &v.rich {
        Some(rich) => {
            for (text, _) in rich.iter().flatten() {
                let text = sanitize::body(text);
                assert_terminal_safe("rich span", &text);
                highlight("rich span", &text);
            }
        }
        None => {
            for l in sanitize::body(&v.body).lines() {
                assert_terminal_safe("body", l);
                highlight("body", l);
            }
        }
    }
    for url in &v.links {
        assert_line_safe("link", &sanitize::line(url));
    }
}

/// HTML as the reader lays it out: plain (the body and the index) and rich (styled spans).
pub fn html(data: &[u8]) {
    let w = width(data);
    let html = String::from_utf8_lossy(data.get(1..).unwrap_or_default());
    let (text, _) = message::html_to_text(&html, w);
    assert_terminal_safe("html text", &sanitize::body(&text));
    if let Some((lines, links)) = message::html_to_rich(&html, w) {
        for (text, _) in lines.iter().flatten() {
            assert_terminal_safe("html span", &sanitize::body(text));
        }
        for url in &links {
            assert_line_safe("html link", &sanitize::line(url));
        }
    }
}

thread_local! {
    /// An empty cache to run parsed queries against: a query that parses must be valid SQL.
    static STORE: crate::store::Store =
        crate::store::Store::open_in_memory().expect("an in-memory store");
}

/// A search query: parsed, its highlight terms, its IMAP SEARCH criteria, and run against an
/// empty cache (the store's SQL and FTS translation).
pub fn search(data: &[u8]) {
    // Tue 2026-11-24 18:00 UTC.
    const NOW: i64 = 1_795_543_200;
    let input = String::from_utf8_lossy(data);
    let q = match search::parse(&input, NOW, 3600) {
        Ok(q) => q,
        Err(e) => {
            assert_line_safe("search error", &sanitize::line(&e.to_string()));
            return;
        }
    };
    let _ = search::highlight_terms(&q);
    let _ = search::needs_body(&q);
    let mb = search::MailboxCtx {
        account: "work",
        name: "INBOX",
        role: Some("inbox"),
    };
    if let Ok(Some(crit)) = search::imap_criteria(&q, &mb) {
        assert!(
            !crit.contains(['\r', '\n', '\0']),
            "IMAP criteria with a line end or NUL: {crit:?}"
        );
    }
    STORE.with(|s| {
        if let Err(e) = s.search(&q, 50) {
            panic!("a parsed query fails in the store: {input:?}: {e:#}");
        }
    });
}

/// A config file: parsed, and its error (shown on the terminal) clean.
pub fn config(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match crate::config::Config::parse(src, Path::new("/fuzz/config.toml")) {
        Ok(c) => assert_terminal_safe("config summary", &c.redacted_summary()),
        Err(e) => assert_terminal_safe("config error", &e.to_string()),
    }
}

/// Modified UTF-7: any name survives encode then decode; decoding anything never panics and
/// an encoded name is plain ASCII.
pub fn mutf7(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let _ = crate::sync::mutf7::decode(&s);
    let enc = crate::sync::mutf7::encode(&s);
    assert!(
        enc.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "encoded name not printable ASCII: {enc:?}"
    );
    assert_eq!(
        crate::sync::mutf7::decode(&enc),
        s,
        "round trip through {enc:?}"
    );
}

/// A stream that reads from a buffer in chunks of a fixed size and swallows writes.
#[derive(Debug)]
struct Scripted {
    input: Cursor<Vec<u8>>,
    chunk: usize,
}

impl AsyncRead for Scripted {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let data = this.input.get_ref();
        let at = usize::try_from(this.input.position()).unwrap_or(usize::MAX);
        let n = data
            .len()
            .saturating_sub(at)
            .min(this.chunk)
            .min(out.remaining());
        out.put_slice(&data[at..at + n]);
        this.input.set_position((at + n) as u64);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Scripted {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The server's bytes after the first (which sets the read size, 1 to 256 bytes).
fn scripted(data: &[u8]) -> Scripted {
    Scripted {
        input: Cursor::new(data.get(1..).unwrap_or_default().to_vec()),
        chunk: 1 + usize::from(data.first().copied().unwrap_or(255)),
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
}

/// A POP3 session against a server that answers with the input: greeting, CAPA, login, STAT,
/// LIST, UIDL, RETR (one, then two pipelined), DELE, QUIT. Errors (shown to the user) clean.
pub fn pop3(data: &[u8]) {
    use crate::pop3::client::Pop3;
    let check = |e: crate::sync::SyncError| assert_line_safe("pop3 error", &e.to_string());
    RUNTIME.with(|rt| {
        rt.block_on(async {
            let mut pop = match Pop3::from_stream(scripted(data), "pop.example").await {
                Ok(p) => p,
                Err(e) => return check(e),
            };
            let caps = pop.capa().await.map_err(check).unwrap_or_default();
            let secret = crate::config::Secret::new("hunter2");
            if let Err(e) = pop.login("user", &secret, &caps).await {
                assert!(!e.to_string().contains("hunter2"), "password in {e}");
                check(e);
            }
            let _ = pop.stat().await.map_err(check);
            let _ = pop.list().await.map_err(check);
            let _ = pop.uidl().await.map_err(check);
            let _ = pop.retr(1, 100).await.map_err(check);
            if pop.retr_send(&[2, 3]).await.is_ok() {
                for n in [2, 3] {
                    let _ = pop.retr_answer(n, u64::MAX).await.map_err(check);
                }
            }
            let _ = pop.dele(1).await.map_err(check);
            let _ = pop.quit().await.map_err(check);
        })
    });
}

/// An IMAP server's bytes through the framing layer async-imap reads: what comes out is a
/// sequence of responses imap-proto reads whole, and errors (logged, shown) are clean.
pub fn imap_wire(data: &[u8]) {
    use crate::sync::wire::{Limits, Wire, WireStats};
    use async_imap::imap_proto::Response;
    let limits = Limits {
        line: 4096,
        literal: 64 * 1024,
    };
    let mut wire = Wire::with_limits(
        Box::new(scripted(data)),
        Arc::new(WireStats::default()),
        limits,
    );
    let mut out = Vec::new();
    let result = RUNTIME.with(|rt| {
        rt.block_on(async {
            let mut buf = [0u8; 1024];
            loop {
                match wire.read(&mut buf).await {
                    Ok(0) => return Ok(()),
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    Err(e) => return Err(e),
                }
            }
        })
    });
    if let Err(e) = result {
        assert_line_safe("wire error", &e.to_string());
    }
    let mut rest = &out[..];
    while !rest.is_empty() {
        match Response::parse(rest) {
            Ok((after, _)) => rest = after,
            Err(e) => panic!(
                "the wire handed out a response imap-proto cannot read ({e:?}): {:?}",
                String::from_utf8_lossy(&rest[..rest.len().min(300)])
            ),
        }
    }
}

/// The text the user edited, read back into a draft as the composer does; every recipient
/// has an `@`, the compose screen shows them clean, and the draft builds into a message.
pub fn compose(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let d = match compose::parse_editable(&text, &Draft::default()) {
        Ok(d) => d,
        Err(e) => return assert_line_safe("compose error", &sanitize::line(&e)),
    };
    for a in d.to.iter().chain(&d.cc).chain(&d.bcc) {
        assert!(a.email.contains('@'), "a recipient without @: {a:?}");
        assert_line_safe("recipient", &sanitize::line(&compose::format_address(a)));
    }
    assert_line_safe("subject", &sanitize::line(&d.subject));
    let _ = compose::envelope_recipients(&d);
    let built = compose::build(&d, 1_795_543_200, "fuzz");
    let _ = message::parse(&built.raw);
    let _ = compose::editable(&d);
}
