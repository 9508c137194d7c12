//! End to end against the real Dovecot: the real binary in tmux moves a selection with
//! `:move Archive` (checked on the server), pipes a message to `grep` (the popup shows the
//! matching line), and opens a PDF attachment with the `[openers]` program of the config (a
//! script that records the file it was given).

mod harness;
mod tmux;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::{ALICE, MailServers};
use tmux::Tmux;

const WAIT: Duration = Duration::from_secs(30);

fn raw(subject: &str, body: &str, day: u32) -> Vec<u8> {
    format!(
        "From: Carol Example <carol@example.test>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{}@example.test>\r\nDate: Tue, {day:02} Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n",
        subject.replace(' ', "-")
    )
    .into_bytes()
}

/// tern in tmux on alice's account, `top` (TOML) added before the account.
fn start(servers: &MailServers, dir: &Path, top: &str) -> Tmux {
    let cfg = servers.write_tern_config(dir, &ALICE, "tls", servers.imaps_port(), ALICE.password);
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "[[account]]",
        &format!("{top}\n[[account]]"),
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let bin = env!("CARGO_BIN_EXE_tern");
    Tmux::start(&format!("{bin} --config {}", cfg.display()), 150, 40)
}

#[test]
fn move_on_the_command_line_moves_the_selection_on_the_server() {
    let servers = MailServers::start();
    servers.create_mailbox(ALICE.email, "Archive");
    for (i, s) in ["alpha", "bravo", "charlie"].iter().enumerate() {
        servers.deliver(ALICE.email, &raw(s, "text", 20 + i as u32));
    }
    let dir = tempfile::tempdir().unwrap();
    let t = start(&servers, dir.path(), "");
    t.wait_for("the synced inbox", WAIT, |s| {
        s.contains("alpha") && s.contains("charlie") && s.contains("● alice")
    });
    // The newest two (charlie, bravo) selected, then moved by name (case aside).
    t.keys(&["Tab", "Space", "Space"]);
    t.wait_for("two selected", WAIT, |s| s.contains("2 selected"));
    t.keys(&[":"]);
    t.keys(&["-l", "move archive"]);
    t.keys(&["Enter"]);
    t.wait_for("the notice", WAIT, |s| s.contains("moved: 2 messages"));
    let uids = servers.wait_for_count(ALICE.email, "Archive", 2, WAIT);
    assert_eq!(uids.len(), 2);
    let mut imap = servers.imap(ALICE.email);
    assert_eq!(imap.search("Archive", "SUBJECT charlie").len(), 1);
    assert_eq!(imap.search("Archive", "SUBJECT bravo").len(), 1);
    // Bounded: the server's INBOX is left with alpha alone.
    let deadline = Instant::now() + WAIT;
    while imap.uids("INBOX").len() != 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(imap.search("INBOX", "SUBJECT alpha").len(), 1);
    assert_eq!(imap.uids("INBOX").len(), 1);
    t.keys(&["q"]);
}

#[test]
fn a_message_piped_to_grep_shows_the_matching_line() {
    let servers = MailServers::start();
    servers.deliver(
        ALICE.email,
        &raw(
            "menu",
            "soup of the day\r\nthe zebra cake is back\r\ntea",
            20,
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let t = start(&servers, dir.path(), "");
    t.wait_for("the synced inbox", WAIT, |s| {
        s.contains("menu") && s.contains("● alice") && s.contains("soup of the day")
    });
    t.keys(&["Tab", "|"]);
    t.wait_for("the pipe prompt", WAIT, |s| s.contains(":pipe█"));
    t.keys(&["-l", "grep -n zebra"]);
    t.keys(&["Enter"]);
    // The popup, then the command's answer in it (only the matching line).
    let s = t.wait_for("the output", WAIT, |s| {
        s.contains("| grep -n zebra (") && s.contains(":the zebra cake is back")
    });
    assert!(!s.contains(":soup of the day"), "{s}");
    assert!(s.contains(":the zebra cake is back"), "{s}");
    t.keys(&["Escape"]);
    t.wait_for("the popup closed", WAIT, |s| !s.contains("| grep -n zebra"));
    t.keys(&["q"]);
}

const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

#[test]
fn an_attachment_opens_with_the_configured_opener() {
    use base64::Engine as _;
    let servers = MailServers::start();
    let b64 = base64::engine::general_purpose::STANDARD.encode(PDF);
    let msg = format!(
        "From: Carol Example <carol@example.test>\r\nTo: alice@example.test\r\nSubject: the report\r\n\
         Message-ID: <report@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --b\r\nContent-Type: application/pdf; name=\"it's $(a) report.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"it's $(a) report.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
    );
    servers.deliver(ALICE.email, msg.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    // The opener records the file it was given (one argument, however the name reads).
    let got = dir.path().join("got.pdf");
    let script = dir.path().join("opener.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ $# -eq 1 ] && cp \"$1\" {}.tmp && mv {0}.tmp {0}\n",
            got.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let top = format!(
        "[openers]\n\"application/pdf\" = \"{} %s\"\n",
        script.display()
    );
    let t = start(&servers, dir.path(), &top);
    t.wait_for("the synced inbox", WAIT, |s| {
        s.contains("the report") && s.contains("● alice") && s.contains("see attached")
    });
    t.keys(&["Tab", "a"]);
    t.wait_for("the attachments", WAIT, |s| s.contains("report.pdf"));
    t.keys(&["Enter"]);
    t.wait_for("the opener", WAIT, |s| s.contains("opened "));
    assert!(got.exists(), "the opener ran");
    assert_eq!(std::fs::read(&got).unwrap(), PDF);
    // :open-with a program typed on the line: the same bytes, the path quoted in.
    let again = dir.path().join("again.pdf");
    t.keys(&[":"]);
    t.keys(&["-l", &format!("open-with cp %s {}", again.display())]);
    t.keys(&["Enter"]);
    t.wait_for("the second opener", WAIT, |s| {
        again.exists() && s.contains("(1).pdf")
    });
    assert_eq!(std::fs::read(&again).unwrap(), PDF);
    t.keys(&["q"]);
}

/// In the demo (no server needed): a key bound to nothing says so, a mistyped command gets a
/// hint, and `:save` writes the raw message to the path typed (and never over it).
#[test]
fn unbound_keys_hints_and_save_in_the_real_binary() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_tern");
    let t = Tmux::start(&format!("{bin} --demo"), 150, 40);
    t.wait_for("the demo inbox", WAIT, |s| {
        s.contains("Still on for Thursday?")
    });
    t.keys(&["Tab", "x"]);
    t.wait_for("the unbound key", WAIT, |s| {
        s.contains("key x is not bound; ? for help")
    });
    t.keys(&[":"]);
    t.keys(&["-l", "mvoe Archive"]);
    t.keys(&["Enter"]);
    t.wait_for("the hint", WAIT, |s| {
        s.contains("unknown command `mvoe`: did you mean `move`?")
    });
    let path = dir.path().join("dinner.eml");
    for _ in 0..2 {
        t.keys(&["w"]);
        t.wait_for("the save prompt", WAIT, |s| s.contains(":save█"));
        t.keys(&["-l", &path.display().to_string()]);
        t.keys(&["Enter"]);
    }
    t.wait_for("the refusal to write over it", WAIT, |s| {
        s.contains("exists: tern does not write over a file")
    });
    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(raw.contains("Subject: Dinner Thursday?"), "{raw}");
    t.keys(&["q"]);
}
