//! End to end against the real Dovecot: the real binary in tmux marks a message read on the
//! server only when the user opens it (enter). Starting tern, moving in the mailboxes pane and
//! moving the cursor over the list only preview.

mod harness;
mod tmux;

use std::time::{Duration, Instant};

use harness::{ALICE, MailServers};
use tmux::Tmux;

const WAIT: Duration = Duration::from_secs(30);

fn raw(subject: &str, day: u32) -> Vec<u8> {
    format!(
        "From: Carol Example <carol@example.test>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.test>\r\nDate: {day:02} Nov 2026 10:00:00 +0000\r\n\r\n\
         the body of {subject}\r\n"
    )
    .into_bytes()
}

/// The UIDs of `mailbox` the server has \Seen.
fn seen(servers: &MailServers, mailbox: &str) -> Vec<u32> {
    let mut imap = servers.imap(ALICE.email);
    let uids = imap.search(mailbox, "SEEN");
    imap.logout();
    uids
}

#[test]
fn only_the_message_opened_with_enter_is_marked_read_on_the_server() {
    let servers = MailServers::start();
    // UIDs 1, 2, 3: alpha the oldest, charlie the newest (the list's top row).
    for (subject, day) in [("alpha", 1), ("bravo", 2), ("charlie", 3)] {
        servers.deliver(ALICE.email, &raw(subject, day));
    }
    servers.create_mailbox(ALICE.email, "Archive");
    servers.deliver_to(ALICE.email, "Archive", &raw("delta", 4));
    let dir = tempfile::tempdir().unwrap();
    let cfg = servers.write_tern_config(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
    );
    let bin = env!("CARGO_BIN_EXE_tern");
    let t = Tmux::start(&format!("{bin} --config {}", cfg.display()), 150, 40);

    // Started: the newest is previewed (its body shown), nothing is read.
    t.wait_for("the synced inbox", WAIT, |s| {
        s.contains("alpha") && s.contains("● alice") && s.contains("the body of charlie")
    });
    // The mailboxes pane: down to Archive (under Drafts and Sent; its newest previewed), back.
    t.keys(&["j", "j", "j"]);
    t.wait_for("the Archive preview", WAIT, |s| {
        s.contains("the body of delta")
    });
    t.keys(&["k", "k", "k"]);
    t.wait_for("the inbox again", WAIT, |s| {
        s.contains("the body of charlie")
    });
    // The list: the cursor over every message, ending on bravo.
    t.keys(&["Tab", "j", "j"]);
    t.wait_for("alpha previewed", WAIT, |s| s.contains("the body of alpha"));
    t.keys(&["k"]);
    t.wait_for("bravo previewed", WAIT, |s| s.contains("the body of bravo"));
    // Enter opens bravo: read. The server gets it after whatever was queued before it, so
    // once it is there, a read flag set by a preview would be there too.
    t.keys(&["Enter"]);
    let deadline = Instant::now() + WAIT;
    while seen(&servers, "INBOX") != [2] {
        assert!(
            Instant::now() < deadline,
            "bravo not read on the server: seen {:?}",
            seen(&servers, "INBOX")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t.keys(&["q"]);
    t.wait_for("tern to exit", WAIT, |s| !s.contains("Mailboxes"));
    assert_eq!(seen(&servers, "INBOX"), [2], "only bravo");
    assert!(
        seen(&servers, "Archive").is_empty(),
        "delta was only previewed"
    );
}
