//! Passwords in the system keyring, against a real Secret Service (GNOME Keyring's daemon on a
//! private session D-Bus) and the real Dovecot and Postfix: `tern setup --password-stdin`
//! stores the password only once the servers accepted it, the account it writes reads it
//! from there (`tern check --connect`, `tern sync`), `tern password` stores and removes it,
//! and no keyring (no bus, no Secret Service on it) is one clear line. The password is never
//! in what tern prints, its config or its log.

mod harness;
mod tmux;

use std::path::Path;
use std::process::{Command, Output};

use harness::keyring::{SecretService, session_bus};
use harness::{ALICE, MailServers, autoconfig};
use std::time::Duration;

/// `tern ARGS` on the keyring's bus, with `stdin` on its standard input; whatever it did, it
/// never shows the password.
fn run(cmd: Command, config: &Path, args: &[&str], stdin: &str) -> Output {
    let out = harness::tern::run_with_input(cmd, config, args, stdin);
    for text in [&out.stdout, &out.stderr] {
        assert!(
            !String::from_utf8_lossy(text).contains(ALICE.password),
            "the password was printed"
        );
    }
    out
}

fn tern(ss: &SecretService, config: &Path, args: &[&str], stdin: &str) -> Output {
    run(ss.command(env!("CARGO_BIN_EXE_tern")), config, args, stdin)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn setup_args<'a>(url: &'a str, ca: &'a str) -> Vec<&'a str> {
    vec![
        "setup",
        "--email",
        ALICE.email,
        "--password-stdin",
        "--ca-file",
        ca,
        "--autoconfig",
        url,
    ]
}

#[test]
fn setup_stores_the_password_in_the_keyring_and_the_account_reads_it_there() {
    let ss = SecretService::start();
    let servers = MailServers::start();
    servers.deliver(
        ALICE.email,
        b"From: bob@example.test\r\nSubject: kept safe\r\n\r\nhello\r\n",
    );
    let url = autoconfig::served(&servers);
    let dir = tempfile::tempdir().unwrap();
    let config = harness::tern::config_with_data_dir(dir.path());
    let ca = servers.ca_pem_path().display().to_string();
    let stdin = format!("{}\n", ALICE.password);
    let out = tern(&ss, &config, &setup_args(&url, &ca), &stdin);
    assert!(out.status.success());
    assert!(stdout(&out).contains("the password is in the system keyring"));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("password_keyring = true"), "{text}");
    assert!(!text.contains("password_command") && !text.contains(ALICE.password));

    // The written account reads it from the keyring.
    let out = tern(&ss, &config, &["check"], "");
    assert!(stdout(&out).contains("password: keyring"));
    assert!(
        tern(&ss, &config, &["check", "--connect"], "")
            .status
            .success()
    );
    // At the most verbose log level, as tests/secrets.rs does.
    let mut sync = ss.command(env!("CARGO_BIN_EXE_tern"));
    sync.env("TERN_LOG", "trace");
    assert!(run(sync, &config, &["sync"], "").status.success());
    let list = tern(&ss, &config, &["list", "--account", "example"], "");
    assert!(stdout(&list).contains("kept safe"));
    // Nor is it in the log, nor in the keyring's files (encrypted there).
    let log = std::fs::read_to_string(dir.path().join("data/tern.log")).unwrap();
    assert!(log.contains("TRACE") && !log.contains(ALICE.password));
    let files = String::from_utf8_lossy(&ss.files()).into_owned();
    assert!(!files.is_empty() && !files.contains(ALICE.password));

    // Removed: one line saying how to put it back; put back with `tern password`.
    let out = tern(&ss, &config, &["password", "example", "--delete"], "");
    assert!(out.status.success());
    let out = tern(&ss, &config, &["check", "--connect"], "");
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains(
            "no password for account `example` in the system keyring: store it with \
             `tern password example`"
        ),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("password_command"));
    let out = tern(&ss, &config, &["password", "example"], &stdin);
    assert!(out.status.success());
    assert!(
        tern(&ss, &config, &["check", "--connect"], "")
            .status
            .success()
    );
    let out = tern(&ss, &config, &["password", "nobody"], &stdin);
    assert!(stderr(&out).contains("no account `nobody`"));
}

#[test]
fn a_wrong_password_is_refused_and_nothing_is_stored_or_written() {
    let ss = SecretService::start();
    let servers = MailServers::start();
    let url = autoconfig::served(&servers);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let ca = servers.ca_pem_path().display().to_string();
    let out = tern(&ss, &config, &setup_args(&url, &ca), "not-her-password\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("FAILED"));
    assert!(stderr(&out).contains("nothing written"));
    assert!(!config.exists());
    assert!(!stdout(&out).contains("not-her-password"));

    // Nothing in the keyring under the account's name either.
    let by_hand =
        servers.write_tern_config_with(dir.path(), &ALICE, "tls", servers.imaps_port(), "", "");
    let text = std::fs::read_to_string(&by_hand)
        .unwrap()
        .replace("password = \"\"\n", "password_keyring = true\n")
        .replace("name = \"alice\"", "name = \"example\"");
    std::fs::write(&by_hand, text).unwrap();
    let out = tern(&ss, &by_hand, &["check", "--connect"], "");
    assert!(!out.status.success());
    assert!(stdout(&out).contains("no password for account `example` in the system keyring"));
}

#[test]
fn without_a_keyring_setup_and_the_account_say_so_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let args = [
        "setup",
        "--email",
        ALICE.email,
        "--password-stdin",
        "--autoconfig",
        "http://127.0.0.1:9/none",
    ];
    // No session bus at all.
    let mut no_bus = Command::new(env!("CARGO_BIN_EXE_tern"));
    no_bus.env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", dir.path().join("no-bus").display()),
    );
    let out = run(no_bus, &config, &args, "secret\n");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("tern: no system keyring: no session D-Bus")
            && err.contains("give a password command instead; nothing written")
            && err.lines().count() == 1,
        "{err}"
    );
    assert!(!config.exists());

    // A bus with no Secret Service on it.
    let (mut bus, address) = session_bus(dir.path());
    let mut no_service = Command::new(env!("CARGO_BIN_EXE_tern"));
    no_service.env("DBUS_SESSION_BUS_ADDRESS", &address);
    let out = run(no_service, &config, &args, "secret\n");
    assert!(
        stderr(&out).contains("nothing on the session D-Bus provides the Secret Service"),
        "{}",
        stderr(&out)
    );
    assert!(!config.exists());

    // An account reading the keyring: `tern check --connect` says why it has no password.
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[[account]]\nname = \"a\"\nemail = \"a@example.test\"\n\
             password_keyring = true\n[account.imap]\nhost = \"127.0.0.1\"\nport = 9\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let mut check = Command::new(env!("CARGO_BIN_EXE_tern"));
    check.env("DBUS_SESSION_BUS_ADDRESS", &address);
    let out = run(check, &config, &["check", "--connect"], "");
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains(
            "a: imap 127.0.0.1:9 FAILED: the password: the password of account `a`: no system \
             keyring: nothing on the session D-Bus provides the Secret Service"
        ),
        "{}",
        stdout(&out)
    );
    let _ = bus.kill();
    let _ = bus.wait();
}

#[test]
fn a_keyring_password_with_another_password_source_is_a_config_error() {
    let text = "data_dir = \"/tmp\"\n[[account]]\nname = \"a\"\nemail = \"a@b.c\"\n\
                password_command = \"pass a\"\npassword_keyring = true\n\
                [account.imap]\nhost = \"h\"\n";
    let e = tern::config::Config::parse(text, Path::new("c.toml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "c.toml:6:20: both password_command and password_keyring are set; keep one"
    );
    let text = "data_dir = \"/tmp\"\n[[account]]\nname = \"a\"\nemail = \"a@b.c\"\n\
                password_keyring = true\n[account.imap]\nhost = \"h\"\n\
                [account.smtp]\nhost = \"h\"\npassword = \"x\"\npassword_keyring = true\n";
    let e = tern::config::Config::parse(text, Path::new("c.toml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "c.toml:11:20: both password and password_keyring are set; keep one"
    );
    // Per server, like password_command: the SMTP server takes its own.
    let text = "data_dir = \"/tmp\"\n[[account]]\nname = \"a\"\nemail = \"a@b.c\"\n\
                password_keyring = true\n[account.imap]\nhost = \"h\"\n\
                [account.smtp]\nhost = \"h\"\npassword_command = \"pass smtp\"\n";
    let cfg = tern::config::Config::parse(text, Path::new("c.toml")).unwrap();
    let a = &cfg.accounts[0];
    assert_eq!(
        a.imap.as_ref().unwrap().password,
        tern::config::PasswordSource::Keyring {
            account: "a".into()
        }
    );
    assert_eq!(
        a.smtp.as_ref().unwrap().password,
        tern::config::PasswordSource::Command("pass smtp".into())
    );
}

/// In a terminal: `tern setup` alone asks for the address, the name and the password (not
/// echoed), finds Proton Bridge's way of serving (STARTTLS on loopback, a certificate no CA
/// signed), shows its fingerprint and asks whether to trust it; after a yes the account works,
/// with its password in the keyring.
#[test]
fn setup_in_a_terminal_asks_for_the_password_and_to_trust_a_loopback_certificate() {
    let ss = SecretService::start();
    let servers = MailServers::start();
    let url = autoconfig::serve(autoconfig::autoconfig(
        (servers.imap_port(), "STARTTLS"),
        (servers.submission_port(), "STARTTLS"),
    ));
    let dir = tempfile::tempdir().unwrap();
    let config = harness::tern::config_with_data_dir(dir.path());
    let probe = ss.command("true");
    let env: Vec<String> = probe
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}='{}'", k.to_str()?, v?.to_str()?)))
        .collect();
    let cmd = format!(
        "env {} {} --config '{}' setup --autoconfig '{url}'; echo EXIT=$?; sleep 60",
        env.join(" "),
        env!("CARGO_BIN_EXE_tern"),
        config.display()
    );
    let t = tmux::Tmux::start(&cmd, 200, 50);
    let wait = Duration::from_secs(30);
    t.wait_for("the address prompt", wait, |s| s.contains("Your address:"));
    t.keys(&[ALICE.email, "Enter"]);
    t.wait_for("the name prompt", wait, |s| s.contains("Your name"));
    t.keys(&["Enter"]);
    t.wait_for("the password prompt", wait, |s| {
        s.contains("Password (kept in the system keyring")
    });
    t.keys(&[ALICE.password, "Enter"]);
    let screen = t.wait_for("the trust question", wait, |s| {
        s.contains("Trust the certificate with the fingerprint sha256:")
    });
    assert!(
        screen.contains("FAILED") && screen.contains("UnknownIssuer"),
        "{screen}"
    );
    t.keys(&["y", "Enter"]);
    let screen = t.wait_for("setup to end", wait, |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !screen.contains(ALICE.password),
        "the password was echoed:\n{screen}"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("password_keyring = true") && text.contains("tls_fingerprint = \"sha256:"),
        "{text}"
    );
    assert!(
        tern(&ss, &config, &["check", "--connect"], "")
            .status
            .success()
    );
}
