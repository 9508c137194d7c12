//! A flag change the server tells of on its own in the middle of a body FETCH (another
//! client's STORE: RFC 3501 7.4.2), in a FETCH of its own or inside the body's, is kept for
//! the engine and never taken for a body. Cyrus does this now and then; a scripted server
//! makes it happen every time.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

use crate::sync::imap::Imap;
use crate::sync::wire::{Wire, WireStats};

/// Answers each command; a body FETCH of message 2 comes after a FETCH with its new flags.
async fn serve(far: DuplexStream) {
    let (r, mut w) = tokio::io::split(far);
    let mut lines = BufReader::new(r).lines();
    if w.write_all(b"* OK scripted\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let (tag, cmd) = line.split_once(' ').unwrap_or((&line, ""));
        let untagged = if cmd.starts_with("CAPABILITY") {
            "* CAPABILITY IMAP4rev1\r\n".to_string()
        } else if cmd.starts_with("SELECT") {
            "* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 3] ok\r\n".to_string()
        } else if cmd.starts_with("UID FETCH 2 ") && cmd.contains("BODY.PEEK[]") {
            "* 2 FETCH (UID 2 FLAGS (\\Seen \\Flagged))\r\n\
             * 2 FETCH (UID 2 RFC822.SIZE 5 BODY[]<0> {5}\r\nhello)\r\n\
             * 1 FETCH (MODSEQ (9))\r\n"
                .to_string()
        } else if cmd.starts_with("UID FETCH 3 ") && cmd.contains("BODY.PEEK[]") {
            // The change told in the same response, as Cyrus does.
            "* 3 FETCH (UID 3 FLAGS (\\Answered) RFC822.SIZE 5 BODY[]<0> {5}\r\nworld)\r\n"
                .to_string()
        } else {
            String::new()
        };
        let reply = format!("{untagged}{tag} OK done\r\n");
        if w.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_flag_change_told_during_a_body_fetch_is_kept_not_taken_for_a_body() {
    let (near, far) = tokio::io::duplex(1 << 16);
    tokio::spawn(serve(far));
    let wire = std::sync::Arc::new(WireStats::default());
    let mut client =
        async_imap::Client::new(Wire::new(Box::new(near), std::sync::Arc::clone(&wire)));
    client.read_response().await.unwrap().unwrap();
    let session = client.login("me", "pw").await.map_err(|(e, _)| e).unwrap();
    let mut imap = Imap::start(session, "scripted", wire, false).await.unwrap();
    imap.select("INBOX").await.unwrap();
    let body = imap.fetch_body(2).await.unwrap();
    assert_eq!(
        body.as_deref(),
        Some(&b"hello"[..]),
        "the body, not the flag answer"
    );
    let flags: Vec<_> = imap
        .pending
        .flags
        .iter()
        .filter(|(uid, _)| *uid == 2)
        .collect();
    assert_eq!(flags.len(), 1, "{:?}", imap.pending.flags);
    assert!(flags[0].1.flagged && flags[0].1.seen);
    // A FETCH with no flags (only a MODSEQ) cannot be placed: the mailbox is resynced.
    assert!(imap.pending.unplaced);
    // FLAGS in the body's own response: kept too.
    let body = imap.fetch_body(3).await.unwrap();
    assert_eq!(body.as_deref(), Some(&b"world"[..]));
    assert!(
        imap.pending
            .flags
            .iter()
            .any(|(uid, f)| *uid == 3 && f.answered),
        "{:?}",
        imap.pending.flags
    );
}
