//! A server certificate trusted by its fingerprint (`tls_fingerprint`), the way Proton Bridge
//! is set up (STARTTLS on loopback, a certificate no CA this computer trusts), against the real
//! Dovecot and Postfix: without it the certificate is refused with a clear line; with the
//! right fingerprint IMAP, POP3 and SMTP work; a wrong one is refused; `tern setup` shows the
//! fingerprint of a loopback server and `--trust-fingerprint` writes an account that works.

mod harness;

use std::path::Path;
use std::process::{Command, Output};

use harness::tern::tern;
use harness::{ALICE, HOST, MailServers, autoconfig};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The servers' certificate's SHA-256 fingerprint, as openssl computes it (`AB:CD:...`).
fn openssl_fingerprint(servers: &MailServers) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(servers.base_dir().join("etc/tls/cert.pem"))
        .output()
        .expect("openssl (tests/run installs it)");
    let text = String::from_utf8(out.stdout).unwrap();
    let (_, hex) = text
        .trim()
        .split_once('=')
        .expect("openssl's fingerprint line");
    hex.to_string()
}

/// alice's account (IMAP with STARTTLS, or POP3 over TLS, and SMTP with STARTTLS) with
/// `trust` as its account-level TLS keys.
fn config(servers: &MailServers, dir: &Path, pop3: bool, trust: &str) -> std::path::PathBuf {
    let incoming = if pop3 {
        format!(
            "[account.pop3]\nhost = \"{HOST}\"\nport = {}\nsecurity = \"tls\"\n",
            servers.pop3s_port()
        )
    } else {
        format!(
            "[account.imap]\nhost = \"{HOST}\"\nport = {}\nsecurity = \"starttls\"\n",
            servers.imap_port()
        )
    };
    let text = format!(
        "data_dir = {:?}\n[[account]]\nname = \"alice\"\nemail = \"{}\"\npassword = \"{}\"\n\
         {trust}\n{incoming}[account.smtp]\nhost = \"{HOST}\"\nport = {}\nsecurity = \"starttls\"\n",
        dir.join("data").display().to_string(),
        ALICE.email,
        ALICE.password,
        servers.submission_port(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_certificate_is_trusted_by_its_fingerprint_and_only_by_it() {
    let servers = MailServers::start();
    servers.deliver(
        ALICE.email,
        b"From: bob@example.test\r\nSubject: over the bridge\r\n\r\nhello\r\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let hex = openssl_fingerprint(&servers);

    // Neither ca_file nor a fingerprint: refused, saying how to trust it.
    let c = config(&servers, dir.path(), false, "");
    let out = tern(&c, &["check", "--connect"]);
    assert!(!out.status.success());
    let said = stdout(&out);
    for proto in ["imap", "smtp"] {
        let line = said
            .lines()
            .find(|l| l.starts_with(&format!("alice: {proto}")))
            .unwrap();
        assert!(
            line.contains("FAILED") && line.contains("UnknownIssuer"),
            "{line}"
        );
        assert!(line.contains("tls_fingerprint"), "{line}");
    }

    // The right fingerprint: IMAP (STARTTLS) and SMTP (STARTTLS) work, and mail syncs.
    let c = config(
        &servers,
        dir.path(),
        false,
        &format!("tls_fingerprint = \"sha256:{hex}\""),
    );
    let out = tern(&c, &["check", "--connect"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains(&format!("tls_fingerprint: sha256:{hex}")));
    assert!(tern(&c, &["sync"]).status.success());
    assert!(stdout(&tern(&c, &["list"])).contains("over the bridge"));
    // POP3 over TLS too (lower case and no colons are the same fingerprint).
    let bare = hex.replace(':', "").to_lowercase();
    let c = config(
        &servers,
        dir.path(),
        true,
        &format!("tls_fingerprint = \"sha256:{bare}\""),
    );
    assert!(tern(&c, &["check", "--connect"]).status.success());

    // Another fingerprint: refused on every server, naming the one seen.
    let wrong = format!("sha256:{}", ["00"; 32].join(":"));
    let c = config(
        &servers,
        dir.path(),
        false,
        &format!("tls_fingerprint = \"{wrong}\""),
    );
    let out = tern(&c, &["check", "--connect"]);
    assert!(!out.status.success());
    let said = stdout(&out);
    for proto in ["imap", "smtp"] {
        let line = said
            .lines()
            .find(|l| l.starts_with(&format!("alice: {proto}")))
            .unwrap();
        assert!(
            line.contains(&format!(
                "the certificate's fingerprint sha256:{hex} is not the tls_fingerprint set"
            )),
            "{line}"
        );
    }

    // A malformed one is a config error at its line.
    let c = config(
        &servers,
        dir.path(),
        false,
        "tls_fingerprint = \"sha256:12:34\"",
    );
    let out = tern(&c, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("config.toml:6:19: tls_fingerprint"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn setup_shows_a_loopback_servers_fingerprint_and_trusts_it_when_told() {
    let servers = MailServers::start();
    let hex = openssl_fingerprint(&servers);
    // Proton Bridge's way: STARTTLS for both, on loopback.
    let url = autoconfig::serve(autoconfig::autoconfig(
        (servers.imap_port(), "STARTTLS"),
        (servers.submission_port(), "STARTTLS"),
    ));
    let dir = tempfile::tempdir().unwrap();
    let config = harness::tern::config_with_data_dir(dir.path());
    let pw = format!("echo {}", ALICE.password);
    let mut args = vec![
        "setup",
        "--email",
        ALICE.email,
        "--password-command",
        &pw,
        "--autoconfig",
        &url,
    ];

    // Not in a terminal: the fingerprint is shown with how to trust it, nothing written.
    let out = tern(&config, &args);
    assert_eq!(out.status.code(), Some(1));
    let said = stdout(&out);
    assert!(
        said.contains(&format!(
            "on this computer: its certificate is signed by no CA this computer trusts; its \
             fingerprint is sha256:{hex}"
        )),
        "{said}"
    );
    assert!(said.contains(&format!("--trust-fingerprint sha256:{hex}")));
    assert!(
        !std::fs::read_to_string(&config)
            .unwrap()
            .contains("[[account]]")
    );

    // Told to trust it: the block says so and works.
    let trusted = format!("sha256:{hex}");
    args.extend(["--trust-fingerprint", &trusted]);
    let out = tern(&config, &args);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains(&format!("tls_fingerprint = \"sha256:{hex}\"")),
        "{text}"
    );
    assert!(tern(&config, &["check", "--connect"]).status.success());
}

#[test]
fn a_fingerprint_needs_tls_and_is_inherited_like_ca_file() {
    let text = "data_dir = \"/tmp\"\n[[account]]\nname = \"a\"\nemail = \"a@b.c\"\n\
                tls_fingerprint = \"sha256:12\"\n[account.imap]\nhost = \"h\"\n";
    let e = tern::config::Config::parse(text, Path::new("c.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("c.toml:5:19: tls_fingerprint `sha256:12` is not a SHA-256 fingerprint"),
        "{e}"
    );
    let f = format!("sha256:{}", ["AB"; 32].join(":"));
    let text = format!(
        "data_dir = \"/tmp\"\n[[account]]\nname = \"a\"\nemail = \"a@b.c\"\n\
         tls_fingerprint = \"{f}\"\n[account.imap]\nhost = \"h\"\n\
         [account.smtp]\nhost = \"h\"\nsecurity = \"none\"\n"
    );
    let e = tern::config::Config::parse(&text, Path::new("c.toml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "c.toml:5:19: tls_fingerprint has no meaning with security = \"none\" (no TLS); use \
         \"starttls\" or \"tls\""
    );
    let text = text.replace("security = \"none\"\n", "");
    let cfg = tern::config::Config::parse(&text, Path::new("c.toml")).unwrap();
    let a = &cfg.accounts[0];
    for s in [a.imap.as_ref().unwrap(), a.smtp.as_ref().unwrap()] {
        assert_eq!(s.tls_fingerprint.map(|f| f.to_string()), Some(f.clone()));
    }
}
