//! Writing mail end to end: the real binary in tmux replies to a message through an editor
//! (a script standing in for the user's), reviews it and sends it through the real Postfix.

mod harness;
mod tmux;

use std::time::Duration;

use harness::{ALICE, BOB, HOST, MailServers};
use mail_parser::MessageParser;
use tmux::Tmux;

const WAIT: Duration = Duration::from_secs(30);

/// alice's config (IMAP over TLS, submission with STARTTLS, trusting the run's CA) with this
/// editor and these extra account keys, mode 0600; its path.
fn alice_config(
    servers: &MailServers,
    dir: &std::path::Path,
    editor: &str,
    account_keys: &str,
) -> std::path::PathBuf {
    let ca = servers.ca_pem_path().display().to_string();
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {data:?}\neditor = {editor:?}\nsend_delay = \"0s\"\n[[account]]\nname = \"alice\"\n\
             email = \"{email}\"\n{account_keys}\
             [account.imap]\nhost = \"{HOST}\"\nport = {imaps}\nsecurity = \"tls\"\n\
             username = \"{email}\"\npassword = \"{pw}\"\nca_file = {ca:?}\n\
             [account.smtp]\nhost = \"{HOST}\"\nport = {sub}\nsecurity = \"starttls\"\n\
             username = \"{email}\"\npassword = \"{pw}\"\nca_file = {ca:?}\n",
            data = dir.join("data").display().to_string(),
            email = ALICE.email,
            pw = ALICE.password,
            imaps = servers.imaps_port(),
            sub = servers.submission_port(),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    cfg
}

#[test]
fn a_reply_written_in_the_editor_is_reviewed_sent_and_filed() {
    let servers = MailServers::start();
    servers.deliver(
        ALICE.email,
        format!(
            "From: Bob <{}>\r\nTo: Alice <{}>\r\nSubject: lunch?\r\nMessage-ID: <lunch@example.test>\r\n\
             Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nNoon at the usual place?\r\n",
            BOB.email, ALICE.email
        )
        .as_bytes(),
    );
    let dir = tempfile::tempdir().unwrap();
    // The "editor": writes an answer at the top of the body, as a user would.
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nawk 'BEGIN{d=0} {print} /^$/ && !d {print \"Sure, noon works.\"; d=1}' \"$1\" > \"$1.new\" && mv \"$1.new\" \"$1\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = alice_config(
        &servers,
        dir.path(),
        &editor.display().to_string(),
        "display_name = \"Alice\"\nsignature = \"Alice\\nexample.test\"\n",
    );
    let bin = env!("CARGO_BIN_EXE_tern");
    let t = Tmux::start(&format!("{bin} --config {}", cfg.display()), 150, 40);
    t.wait_for("the synced inbox", WAIT, |s| {
        s.contains("lunch?") && s.contains("● alice") && s.contains("Noon at the usual place?")
    });
    t.keys(&["Tab", "r"]);
    let s = t.wait_for("the review screen", WAIT, |s| {
        s.contains("Review (y send") && s.contains("Sure, noon works.")
    });
    assert!(s.contains("Re: lunch?"), "{s}");
    assert!(s.contains("> Noon at the usual place?"), "{s}");
    assert!(s.contains("-- "), "the signature: {s}");
    // Saved as a draft first: in Drafts on the server, marked \Draft.
    t.keys(&["s"]);
    t.wait_for("the saved notice", WAIT, |s| s.contains("saved in Drafts"));
    let mut alice = servers.imap(ALICE.email);
    let deadline = std::time::Instant::now() + WAIT;
    while alice.search("Drafts", "DRAFT HEADER Subject lunch").len() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the draft never reached the server"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Resumed from the Drafts folder, edited once more, sent.
    t.keys(&["h", "j", "Enter"]);
    t.wait_for("the Drafts folder", WAIT, |s| {
        s.contains("alice · Drafts") && s.contains("Re: lunch?")
    });
    t.keys(&["e"]);
    t.wait_for("the review screen again", WAIT, |s| {
        s.contains("Review (y send")
    });
    t.keys(&["y"]);
    t.wait_for("the sent notice", WAIT, |s| s.contains("sent #1"));

    let uid = servers.wait_for_subject(BOB.email, "INBOX", "Re: lunch?", WAIT);
    let mut bob = servers.imap(BOB.email);
    let raw = bob.fetch_raw("INBOX", uid);
    let m = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(m.in_reply_to().as_text(), Some("lunch@example.test"));
    let body = m.body_text(0).unwrap();
    assert!(body.starts_with("Sure, noon works."), "{body}");
    assert!(body.contains("> Noon at the usual place?"), "{body}");
    // The Sent copy filed and the draft gone, on the server.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let answered = alice.search("INBOX", "ANSWERED").len() == 1;
        let filed = alice.search("Sent", "HEADER Subject lunch").len() == 1;
        let drafts = alice.search("Drafts", "ALL").len();
        if answered && filed && drafts == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "answered {answered}, filed {filed}, drafts left {drafts}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t.keys(&["q"]);
}

#[test]
fn a_new_message_written_in_the_built_in_editor() {
    let servers = MailServers::start();
    servers.deliver(
        ALICE.email,
        format!(
            "From: Bob <{}>\r\nTo: {}\r\nSubject: hello\r\n\r\nhi\r\n",
            BOB.email, ALICE.email
        )
        .as_bytes(),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = alice_config(&servers, dir.path(), "builtin", "");
    let bin = env!("CARGO_BIN_EXE_tern");
    let t = Tmux::start(&format!("{bin} --config {}", cfg.display()), 150, 40);
    t.wait_for("the synced inbox", WAIT, |s| {
        s.contains("hello") && s.contains("● alice")
    });
    t.keys(&["m"]);
    t.wait_for("the built-in editor", WAIT, |s| {
        s.contains("Writing (esc: done")
    });
    // A new message starts in To: down to the body (From, To, Cc, Bcc, Subject, blank).
    t.keys(&["Down", "Down", "Down", "Down", "Down"]);
    t.keys(&["-l", "Written right here, in tern."]);
    t.keys(&["Escape"]);
    t.wait_for("the review", WAIT, |s| s.contains("Review (y send"));
    t.keys(&["t"]);
    t.keys(&["-l", BOB.email]);
    t.keys(&["Enter"]);
    // The address book may complete it to "Bob <bob@…>" (once it has read the cache) or not.
    t.wait_for("bob as To", WAIT, |s| {
        s.lines().any(|l| {
            l.split_once("To:       ")
                .is_some_and(|(_, to)| to.contains(BOB.email))
        })
    });
    t.keys(&["y"]);
    t.wait_for("the sent notice", WAIT, |s| s.contains("sent #1"));
    let uid = servers.wait_for_subject(BOB.email, "INBOX", "", WAIT);
    let mut bob = servers.imap(BOB.email);
    let raw = bob.fetch_raw("INBOX", uid);
    let m = MessageParser::default().parse(&raw).unwrap();
    assert!(
        m.body_text(0)
            .unwrap()
            .starts_with("Written right here, in tern."),
        "{:?}",
        m.body_text(0)
    );
    t.keys(&["q"]);
}

/// A typo in To: the text goes back to the editor whole, with what to fix on top, and is in
/// Drafts meanwhile; fixed, it is sent with its text intact.
#[test]
fn a_typo_goes_back_to_the_editor_with_the_text_and_is_sent_once_fixed() {
    let servers = MailServers::start();
    servers.deliver(
        ALICE.email,
        format!(
            "From: Bob <{}>\r\nTo: {}\r\nSubject: hello\r\n\r\nhi\r\n",
            BOB.email, ALICE.email
        )
        .as_bytes(),
    );
    let dir = tempfile::tempdir().unwrap();
    // The "editor": first run, a typo in To and the text; second run (the note on top, the
    // text still there), the address fixed.
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\nif grep -q '^To: al$' \"$1\"; then\n\
             grep -q '^# tern: not an address: \"al\" (To)' \"$1\" && \
             grep -q '^the quarterly plan, line two.$' \"$1\" && \
             sed -i 's/^To: al$/To: {bob}/' \"$1\"\nelse\n\
             sed -i -e 's/^To:.*$/To: al/' -e 's/^Subject:.*$/Subject: quarterly plan/' \
             -e '0,/^$/s/^$/\\nDear Bob,\\nthe quarterly plan, line two./' \"$1\"\nfi\n",
            bob = BOB.email
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = alice_config(&servers, dir.path(), &editor.display().to_string(), "");
    let bin = env!("CARGO_BIN_EXE_tern");
    let t = Tmux::start(&format!("{bin} --config {}", cfg.display()), 150, 40);
    t.wait_for("the synced inbox", WAIT, |s| {
        s.contains("hello") && s.contains("● alice")
    });
    t.keys(&["m"]);
    let s = t.wait_for("the problem on the review", WAIT, |s| {
        s.contains("not an address: \"al\" (To)")
    });
    assert!(
        s.contains("the quarterly plan, line two."),
        "the text is shown: {s}"
    );
    // Meanwhile the whole text is in Drafts, on the server.
    let mut alice = servers.imap(ALICE.email);
    let deadline = std::time::Instant::now() + WAIT;
    while alice
        .search("Drafts", "BODY \"quarterly plan, line two\"")
        .len()
        != 1
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the text never reached Drafts"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t.keys(&["e"]);
    t.wait_for("the fixed review", WAIT, |s| {
        s.contains("Review (y send")
            && !s.contains("not an address")
            && s.lines().any(|l| {
                l.split_once("To:       ")
                    .is_some_and(|(_, to)| to.contains(BOB.email))
            })
    });
    t.keys(&["y"]);
    t.wait_for("the sent notice", WAIT, |s| s.contains("sent #1"));
    let uid = servers.wait_for_subject(BOB.email, "INBOX", "quarterly plan", WAIT);
    let mut bob = servers.imap(BOB.email);
    let raw = bob.fetch_raw("INBOX", uid);
    let m = MessageParser::default().parse(&raw).unwrap();
    let body = m.body_text(0).unwrap();
    assert!(
        body.starts_with("Dear Bob,\nthe quarterly plan, line two.")
            || body.starts_with("Dear Bob,\r\nthe quarterly plan, line two."),
        "{body}"
    );
    assert!(!body.contains("# tern:"), "{body}");
    // The draft goes once the message is sent.
    let deadline = std::time::Instant::now() + WAIT;
    while !alice.search("Drafts", "ALL").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the draft stayed in Drafts"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t.keys(&["q"]);
}

/// Undo send: a message sent waits `send_delay` in the outbox; `u` takes it back to the review
/// screen (nothing reaches the server), and sent again it goes once the delay is over.
#[test]
fn undo_send_takes_a_message_back_and_it_goes_after_the_delay() {
    let servers = MailServers::start();
    servers.deliver(
        ALICE.email,
        format!(
            "From: Bob <{}>\r\nTo: Alice <{}>\r\nSubject: tea?\r\nMessage-ID: <tea@example.test>\r\n\
             Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nTea at four?\r\n",
            BOB.email, ALICE.email
        )
        .as_bytes(),
    );
    let dir = tempfile::tempdir().unwrap();
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nawk 'BEGIN{d=0} {print} /^$/ && !d {print \"Yes please.\"; d=1}' \"$1\" > \"$1.new\" && mv \"$1.new\" \"$1\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = alice_config(&servers, dir.path(), &editor.display().to_string(), "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("send_delay = \"0s\"", "send_delay = \"4s\"");
    std::fs::write(&cfg, text).unwrap();
    let bin = env!("CARGO_BIN_EXE_tern");
    let t = Tmux::start(&format!("{bin} --config {}", cfg.display()), 150, 40);
    t.wait_for("the synced inbox", WAIT, |s| {
        s.contains("tea?") && s.contains("● alice") && s.contains("Tea at four?")
    });
    t.keys(&["Tab", "r"]);
    t.wait_for("the review screen", WAIT, |s| {
        s.contains("Review (y send") && s.contains("Yes please.")
    });
    t.keys(&["y"]);
    t.wait_for("the countdown", WAIT, |s| {
        s.contains("sending in") && s.contains("u takes it back")
    });
    let outbox = || {
        let out = std::process::Command::new(bin)
            .args(["--config", &cfg.display().to_string(), "outbox", "--json"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = outbox();
    assert!(
        listed.contains("\"state\":\"queued\"") && listed.contains("bob@example.test"),
        "it waits in the outbox: {listed}"
    );
    t.keys(&["u"]);
    let s = t.wait_for("the message back on the review screen", WAIT, |s| {
        s.contains("Review (y send") && s.contains("taken back, not sent")
    });
    assert!(s.contains("Yes please."), "{s}");
    // Nothing waits in the outbox any more.
    let listed = outbox();
    assert!(!listed.contains("bob@example.test"), "{listed}");

    // Sent again: it waits, then goes.
    t.keys(&["y"]);
    t.wait_for("the countdown again", WAIT, |s| s.contains("sending in"));
    servers.wait_for_subject(BOB.email, "INBOX", "Re: tea?", WAIT);
    t.wait_for("the sent notice", WAIT, |s| s.contains("sent #"));
    t.keys(&["q"]);
}
