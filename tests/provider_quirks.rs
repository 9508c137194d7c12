//! What providers do differently, against the real Dovecot: a mailbox that shows copies of
//! the messages kept in the others (SPECIAL-USE `\All`, as Gmail's "[Gmail]/All Mail") is
//! synced and readable, but searching every mailbox finds each message once.

mod harness;

use harness::tern::tern;
use harness::{ALICE, MailServers};

#[test]
fn all_mail_is_synced_but_not_searched_twice() {
    let servers = MailServers::start();
    let raw = b"From: bob@example.test\r\nSubject: once only\r\nMessage-ID: <once@example.test>\r\n\r\nfind me\r\n";
    servers.create_mailbox(ALICE.email, "All Mail");
    servers.deliver(ALICE.email, raw);
    servers.deliver_to(ALICE.email, "All Mail", raw);
    let dir = tempfile::tempdir().unwrap();
    let config = servers.write_tern_config(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
    );
    assert!(tern(&config, &["sync"]).status.success());

    // Both copies are in the cache: All Mail can be opened like any folder.
    let all = tern(&config, &["list", "--mailbox", "All Mail"]);
    assert!(String::from_utf8_lossy(&all.stdout).contains("once only"));
    let inbox = tern(&config, &["list", "--mailbox", "INBOX"]);
    assert!(String::from_utf8_lossy(&inbox.stdout).contains("once only"));

    // Searching everywhere finds the message once, in the INBOX.
    let found = tern(&config, &["search", "once only", "--json"]);
    assert!(found.status.success());
    let text = String::from_utf8_lossy(&found.stdout);
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("once only")).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert!(rows[0].contains("INBOX"), "{text}");
}
