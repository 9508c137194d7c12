//! The first start end to end: the real binary in tmux, with no config, opens the setup
//! screen; the user types an address on a test domain, a name and a password command; the
//! servers are found in SRV records served by a real DNS server (dnsmasq, named by
//! `TERN_DNS`), checked live against the real Dovecot and Postfix, and the account is written;
//! the user lands in the INBOX with the mail delivered beforehand, and `tern check --connect`
//! accepts the config written. The run's CA is trusted through `SSL_CERT_FILE`, as a system's
//! own CA would be.

mod harness;
mod tmux;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use harness::dns::dnsmasq;
use harness::{ALICE, MailServers};
use tmux::Tmux;

const WAIT: Duration = Duration::from_secs(30);

/// `tern` with a home of its own (no config in it) and these settings from the environment.
fn command(home: &Path, dns: &str, ca: &Path) -> String {
    format!(
        "env -u TERN_CONFIG HOME={home} XDG_CONFIG_HOME={home}/config XDG_DATA_HOME={home}/data \
         TERN_DNS={dns} SSL_CERT_FILE={ca} {bin}",
        home = home.display(),
        ca = ca.display(),
        bin = env!("CARGO_BIN_EXE_tern"),
    )
}

#[test]
fn the_first_start_sets_up_the_account_and_opens_its_inbox() {
    let servers = MailServers::start();
    servers.deliver(
        ALICE.email,
        b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: welcome aboard\r\n\
          Message-ID: <welcome@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nhello\r\n",
    );
    let (dns, addr) = dnsmasq(&[
        format!(
            "--srv-host=_imaps._tcp.example.test,localhost,{},0,0",
            servers.imaps_port()
        ),
        format!(
            "--srv-host=_submission._tcp.example.test,localhost,{},0,0",
            servers.submission_port()
        ),
    ]);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config/tern/config.toml");
    let ca = servers.ca_pem_path();
    let cmd = command(home.path(), &addr, &ca);

    // Esc quits the setup screen with nothing written.
    let t = Tmux::start(&cmd, 100, 30);
    t.wait_for("the setup screen", WAIT, |s| {
        s.contains("set up your mail account")
    });
    t.keys(&["-l", "someone@example.test"]);
    t.keys(&["Escape"]);
    t.wait_for("tern to exit", WAIT, |s| {
        !s.contains("set up your mail account")
    });
    drop(t);
    assert!(!config.exists());

    let t = Tmux::start(&cmd, 100, 30);
    t.wait_for("the setup screen", WAIT, |s| {
        s.contains("or password command")
    });
    t.keys(&["-l", ALICE.email]);
    t.keys(&["Enter"]);
    t.keys(&["-l", "Alice Example"]);
    t.keys(&["Enter"]);
    // A password command (the field after the password's), a wrong one first: the check says
    // so, nothing is written, the fields stay.
    t.keys(&["Tab"]);
    t.keys(&["-l", "echo wrong"]);
    t.keys(&["Enter"]);
    let s = t.wait_for("the failed check", WAIT, |s| {
        s.contains("nothing written") && s.contains("try again")
    });
    assert!(s.contains("SRV records: imap localhost:"), "{s}");
    assert!(
        s.contains("found in the SRV records of example.test"),
        "{s}"
    );
    assert!(s.contains("FAILED"), "{s}");
    assert!(!config.exists());

    // Edited and tried again: the live check passes and the account is written.
    t.keys(&["C-u"]);
    t.keys(&["-l", &format!("echo {}", ALICE.password)]);
    t.keys(&["Enter"]);
    let s = t.wait_for("the account written", WAIT, |s| {
        s.contains("Account written")
    });
    assert!(s.contains("example: imap localhost:"), "{s}");
    assert!(s.contains("example: smtp localhost:"), "{s}");
    assert!(s.contains("account \"example\" written"), "{s}");

    // Then the INBOX, synced, with no other command typed.
    t.wait_for("the synced inbox", WAIT, |s| {
        s.contains("welcome aboard") && s.contains("● example")
    });
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("display_name = \"Alice Example\""), "{text}");
    t.keys(&["q"]);
    t.wait_for("tern to exit", WAIT, |s| !s.contains("welcome aboard"));
    drop(dns);

    // The config written is accepted as it is.
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["--config"])
        .arg(&config)
        .args(["check", "--connect"])
        .env("SSL_CERT_FILE", &ca)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("example: imap localhost:"), "{said}");
}
