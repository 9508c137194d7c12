//! The Wire over in-memory streams: what async-imap gets for what a server sends.

use super::*;
use async_imap::imap_proto::{AttributeValue, MessageSection, SectionPath};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a dropped response leaves.
const S: &str = "* OK tern skipped a response it cannot read\r\n";

/// Send `chunks` (each written and flushed on its own) through a Wire whose network delivers
/// at most `pipe` bytes per read; return what async-imap would read.
async fn through_with(
    chunks: &[&[u8]],
    pipe: usize,
    limits: Limits,
) -> (io::Result<Vec<u8>>, Arc<WireStats>) {
    let (near, mut far) = tokio::io::duplex(pipe);
    let stats = Arc::new(WireStats::default());
    let mut wire = Wire::with_limits(Box::new(near), Arc::clone(&stats), limits);
    let chunks: Vec<Vec<u8>> = chunks.iter().map(|c| c.to_vec()).collect();
    let server = tokio::spawn(async move {
        for c in chunks {
            if far.write_all(&c).await.is_err() {
                return;
            }
            let _ = far.flush().await;
            tokio::task::yield_now().await;
        }
    });
    let mut out = Vec::new();
    let r = wire.read_to_end(&mut out).await.map(|_| out);
    server.abort();
    (r, stats)
}

async fn through(chunks: &[&[u8]]) -> (String, Arc<WireStats>) {
    let (r, stats) = through_with(chunks, 1 << 16, Limits::default()).await;
    (String::from_utf8(r.unwrap()).unwrap(), stats)
}

#[tokio::test]
async fn bare_lf_line_ends_become_crlf() {
    let (out, stats) = through(&[b"* OK hello\n* 3 EXISTS\r\n+ \nA1 OK done\n"]).await;
    assert_eq!(out, "* OK hello\r\n* 3 EXISTS\r\n+ \r\nA1 OK done\r\n");
    assert_eq!(stats.altered(), 0);
}

#[tokio::test]
async fn unknown_untagged_responses_are_skipped_and_counted() {
    let (out, stats) = through(&[
        b"* 3 EXISTS\r\n* 4 EXPUNGED\r\n* XFOO bar baz\r\n* 2 EXPUNGE\r\nA1 OK done\r\n",
    ])
    .await;
    assert_eq!(
        out,
        format!("* 3 EXISTS\r\n{S}{S}* 2 EXPUNGE\r\nA1 OK done\r\n")
    );
    assert_eq!((stats.skipped(), stats.rewritten()), (2, 0));
}

#[tokio::test]
async fn unknown_response_codes_pass_as_text() {
    let text = "* OK [XFOO bar] hi\r\nA1 OK [XBAR 1 2] done\r\n* NO [UIDVALIDITY x] odd\r\n";
    let (out, stats) = through(&[text.as_bytes()]).await;
    assert_eq!(out, text);
    assert_eq!(stats.altered(), 0);
}

#[tokio::test]
async fn literals_pass_byte_exact_even_split_across_reads() {
    let literal: &[u8] = b"Subject: x\r\n* 4 EXPUNGED\r\nbare\nA1 OK [junk\r\n{3}\r\nend\n";
    let mut resp = format!("* 1 FETCH (UID 5 BODY[] {{{}}}\n", literal.len()).into_bytes();
    resp.extend_from_slice(literal);
    resp.extend_from_slice(b" FLAGS (\\Seen))\n* 4 EXPUNGED\nA1 OK done\n");
    let mut want = format!("* 1 FETCH (UID 5 BODY[] {{{}}}\r\n", literal.len()).into_bytes();
    want.extend_from_slice(literal);
    want.extend_from_slice(format!(" FLAGS (\\Seen))\r\n{S}A1 OK done\r\n").as_bytes());
    for pipe in [1, 3, 7, 64, 1 << 16] {
        let (out, stats) = through_with(&[&resp], pipe, Limits::default()).await;
        assert_eq!(out.unwrap(), want, "pipe {pipe}");
        assert_eq!(stats.skipped(), 1, "pipe {pipe}");
    }
    // Written in pieces that cut the marker, the line end and the literal.
    let pieces: Vec<&[u8]> = resp.chunks(5).collect();
    let (out, _) = through_with(&pieces, 1 << 16, Limits::default()).await;
    assert_eq!(out.unwrap(), want);
}

#[tokio::test]
async fn text_ending_like_a_literal_marker_is_only_text() {
    for eol in ["\r\n", "\n"] {
        let sent = format!("A1 OK done {{5}}{eol}* 3 EXISTS{eol}A2 OK fine{eol}");
        let (out, stats) = through(&[sent.as_bytes()]).await;
        assert_eq!(
            out, "A1 OK done {5}\r\n* 3 EXISTS\r\nA2 OK fine\r\n",
            "{eol:?}"
        );
        assert_eq!(stats.altered(), 0);
    }
}

#[tokio::test]
async fn many_bare_lf_responses_come_out_in_order() {
    let mut sent = String::new();
    let mut want = String::new();
    for i in 1..=5000 {
        sent.push_str(&format!("* {i} FETCH (UID {i} FLAGS (\\Seen))\n"));
        want.push_str(&format!("* {i} FETCH (UID {i} FLAGS (\\Seen))\r\n"));
        if i % 1000 == 0 {
            sent.push_str("* 4 EXPUNGED\r\n");
            want.push_str(S);
        }
    }
    for pipe in [13, 4096, 1 << 16] {
        let (out, stats) = through_with(&[sent.as_bytes()], pipe, Limits::default()).await;
        assert!(
            String::from_utf8(out.unwrap()).unwrap() == want,
            "pipe {pipe}"
        );
        assert_eq!(stats.skipped(), 5);
    }
}

#[tokio::test]
async fn literal_plus_and_literal8_markers_are_framed_and_made_plain() {
    let (out, stats) = through(&[b"* 1 FETCH (UID 3 BODY[] ~{5}\r\nab\r\nc)\r\n* 2 FETCH (UID 4 BODY[] {2+}\r\nhi)\r\nA1 OK done\r\n"]).await;
    assert_eq!(
        out,
        "* 1 FETCH (UID 3 BODY[] {5}\r\nab\r\nc)\r\n* 2 FETCH (UID 4 BODY[] {2}\r\nhi)\r\nA1 OK done\r\n"
    );
    assert_eq!(stats.rewritten(), 2);
}

#[tokio::test]
async fn broken_status_lines_keep_their_tag_and_status() {
    let (out, stats) = through(&[
        b"* OK \x00[weird\r\nA12 OK [COPYUID 1 2\x00] done\x01\r\nA13 no\x00 over quota\r\n+ \x00\r\n",
    ])
    .await;
    assert_eq!(
        out,
        "* OK (unreadable)\r\nA12 OK done\r\nA13 NO over quota\r\n+ \r\n"
    );
    assert_eq!((stats.skipped(), stats.rewritten()), (0, 4));
    // Not a status: dropped.
    let (out, stats) = through(&[b"A14 MAYBE\x00\r\nA14 OK fine\r\n"]).await;
    assert_eq!(out, format!("{S}A14 OK fine\r\n"));
    assert_eq!(stats.skipped(), 1);
}

#[tokio::test]
async fn long_lines_and_huge_literals_are_errors_not_growth() {
    let limits = Limits {
        line: 1024,
        literal: 1 << 20,
    };
    let long = vec![b'x'; 100_000];
    let (r, _) = through_with(&[b"* OK fine\r\n", &long], 1 << 16, limits).await;
    let e = r.unwrap_err();
    let w = protocol_error(&e).expect("a protocol error");
    assert!(w.0.contains("longer than 1024 bytes"), "{w}");
    assert!(w.0.len() < 400, "{w}");

    let (r, _) = through_with(&[b"* 1 FETCH (BODY[] {2000000}\r\nabc"], 1 << 16, limits).await;
    let e = r.unwrap_err();
    assert!(
        protocol_error(&e).unwrap().0.contains("literal of 2000000"),
        "{e}"
    );

    // A cut in the middle of a response is the network's doing.
    let (r, _) = through_with(&[b"* 1 FETCH (BODY[] {20}\r\nabc"], 1 << 16, limits).await;
    let e = r.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    assert!(protocol_error(&e).is_none());
}

#[test]
fn excerpts_are_one_clean_bounded_line() {
    assert_eq!(excerpt(b"* 4 EXPUNGED\r\nsecret body"), "* 4 EXPUNGED");
    assert_eq!(excerpt(b"* OK \x1b[31mred\x07\r\n"), "* OK red");
    let long = excerpt(&[b'a'; 1000]);
    assert_eq!(long.chars().count(), EXCERPT_CHARS + 3);
}

#[test]
fn header_field_sections_in_any_spelling_are_headers() {
    for spelling in [
        "BODY[HEADER.FIELDS (SUBJECT)]",
        "BODY[HEADER.FIELDS (\"SUBJECT\" \"FROM\")]",
        "body[header.fields (subject from)]",
        "BODY[HEADER.FIELDS (Subject)]",
    ] {
        let resp = format!("* 1 FETCH (UID 7 {spelling} {{14}}\r\nSubject: x\r\n\r\n)\r\n");
        let (rest, r) = Response::parse(resp.as_bytes()).expect(spelling);
        assert!(rest.is_empty());
        let Response::Fetch(_, attrs) = r else {
            panic!("{spelling}: {r:?}")
        };
        assert!(
            attrs.iter().any(|a| matches!(
                a,
                AttributeValue::BodySection {
                    section: Some(SectionPath::Full(MessageSection::Header)),
                    ..
                }
            )),
            "{spelling}: {attrs:?}"
        );
    }
}

#[tokio::test]
async fn async_imap_reads_on_after_garbage() {
    let (near, mut far) = tokio::io::duplex(1 << 16);
    let stats = Arc::new(WireStats::default());
    let mut client = async_imap::Client::new(Wire::new(Box::new(near), Arc::clone(&stats)));
    far.write_all(b"* OK hi\n* 4 EXPUNGED\r\n* XFOO\r\n* 5 EXISTS\n")
        .await
        .unwrap();
    let r = client.read_response().await.unwrap().unwrap();
    assert!(matches!(r.parsed(), Response::Data { .. }));
    for _ in 0..2 {
        let r = client.read_response().await.unwrap().unwrap();
        assert!(matches!(r.parsed(), Response::Data { .. }));
    }
    let r = client.read_response().await.unwrap().unwrap();
    assert!(
        matches!(
            r.parsed(),
            Response::MailboxData(async_imap::imap_proto::MailboxDatum::Exists(5))
        ),
        "{:?}",
        r.parsed()
    );
    assert_eq!(stats.skipped(), 2);
}

/// The cost of the wire on a large read: async-imap reading the same responses straight from
/// the pipe and through a Wire. Run with
/// `cargo test --release --lib sync::wire::tests::overhead -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn overhead() {
    async fn read_all(data: Arc<Vec<u8>>, wire: bool) -> (usize, std::time::Duration) {
        let (near, mut far) = tokio::io::duplex(256 * 1024);
        let writer = tokio::spawn(async move {
            for c in data.chunks(16 * 1024) {
                far.write_all(c).await.unwrap();
            }
        });
        let t = std::time::Instant::now();
        let mut n = 0;
        if wire {
            let stats = Arc::new(WireStats::default());
            let mut c = async_imap::Client::new(Wire::new(Box::new(near), stats));
            while let Some(_r) = c.read_response().await.unwrap() {
                n += 1;
            }
        } else {
            let mut c = async_imap::Client::new(near);
            while let Some(_r) = c.read_response().await.unwrap() {
                n += 1;
            }
        }
        writer.await.unwrap();
        (n, t.elapsed())
    }
    // Bodies: 2,000 messages of 100 KB (200 MB). Flags: 300,000 short lines.
    let body = vec![b'x'; 100 * 1024];
    let mut bodies = Vec::new();
    for i in 1..=2000 {
        bodies.extend_from_slice(
            format!("* {i} FETCH (UID {i} BODY[] {{{}}}\r\n", body.len()).as_bytes(),
        );
        bodies.extend_from_slice(&body);
        bodies.extend_from_slice(b")\r\n");
    }
    let mut flags = Vec::new();
    for i in 1..=300_000 {
        flags.extend_from_slice(
            format!("* {i} FETCH (UID {i} FLAGS (\\Seen $Label1) MODSEQ ({i}))\r\n").as_bytes(),
        );
    }
    let bare: Vec<u8> = String::from_utf8(flags.clone())
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    for (name, data) in [
        ("bodies", bodies),
        ("flags", flags),
        ("flags, bare LF", bare),
    ] {
        let data = Arc::new(data);
        let runs: &[bool] = if name.contains("bare") {
            &[true, true] // async-imap alone cannot read it
        } else {
            &[false, true, false, true]
        };
        for &wire in runs {
            let (n, d) = read_all(Arc::clone(&data), wire).await;
            println!(
                "{name}: {} MB, {n} responses, wire {wire}: {d:?}",
                data.len() >> 20
            );
        }
    }
}
