//! End to end against the real Dovecot: the real binary in tmux syncs an account, shows new
//! mail pushed by the server without a key press, downloads a body when it is opened, and
//! asks the server about words in messages whose body is not cached.

mod harness;
mod tmux;

use std::time::Duration;

use harness::{ALICE, MailServers};
use tmux::Tmux;

const WAIT: Duration = Duration::from_secs(30);

fn raw(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Carol Example <carol@example.test>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{}@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n",
        subject.replace(' ', "-")
    )
    .into_bytes()
}

#[test]
fn the_client_syncs_shows_pushed_mail_and_downloads_bodies_on_open() {
    let servers = MailServers::start();
    servers.deliver(ALICE.email, &raw("alpha", "the body of the first message"));
    let dir = tempfile::tempdir().unwrap();
    // Only headers offline: bodies come when a message is opened.
    let cfg = servers.write_tern_config_with(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
        "offline = \"headers\"",
    );
    let bin = env!("CARGO_BIN_EXE_tern");
    let t = Tmux::start(&format!("{bin} --config {}", cfg.display()), 150, 40);

    // Synced, online, and the newest message's body fetched on demand (header sync keeps none).
    let s = t.wait_for("the synced inbox", WAIT, |s| {
        s.contains("alpha") && s.contains("● alice") && s.contains("the body of the first message")
    });
    assert!(s.contains("Carol Example"), "{s}");

    // New mail appears with no key press, through IDLE.
    servers.deliver(ALICE.email, &raw("bravo", "pushed body text"));
    t.wait_for("the pushed message", WAIT, |s| s.contains("bravo"));
    // And it is announced (the mail there at the first sync was not).
    t.wait_for("the new-mail notice", WAIT, |s| {
        s.contains("new mail from Carol Example: bravo")
    });

    // The list was at its top: it follows the new mail, which is selected and previewed.
    t.wait_for("the pushed body", WAIT, |s| s.contains("pushed body text"));
    t.keys(&["Tab", "k"]);
    t.wait_for("the pushed body", WAIT, |s| s.contains("pushed body text"));

    // A word only in the text of a message whose body is not cached: the server finds it,
    // and the result is marked as the server's.
    // (Older than the rest, so it is not the result opened first, which would download it.)
    let older = String::from_utf8(raw("charlie", "meet me in zanzibar"))
        .unwrap()
        .replace("Tue, 24 Nov 2026", "Sun, 01 Nov 2026");
    servers.deliver(ALICE.email, older.as_bytes());
    t.wait_for("the third message", WAIT, |s| s.contains("charlie"));
    t.keys(&["S"]);
    t.keys(&["-l", "zanzibar OR alpha"]);
    let s = t.wait_for("the server's find", WAIT, |s| {
        s.contains("⌕ charlie") && s.contains("1 found by the server")
    });
    assert!(s.contains("Search: zanzibar OR alpha"), "{s}");
    assert!(s.contains("2 results"), "{s}");
    t.keys(&["Enter", "Escape"]);
    t.wait_for("the inbox again", WAIT, |s| !s.contains("Search:"));

    t.keys(&["q"]);
    t.wait_for("tern to exit", WAIT, |s| !s.contains("Mailboxes"));
}
