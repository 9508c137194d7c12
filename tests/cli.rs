//! The binary's command line: `tern check` on good and broken configs, `tern check --connect`
//! against the real Dovecot and Postfix, `tern man` and `tern completions`.

mod harness;

use std::path::Path;
use std::process::{Command, Output};

fn tern(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(args)
        .env_remove("TERN_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent-tern-test")
        .env("XDG_DATA_HOME", std::env::temp_dir())
        .output()
        .expect("run tern")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A config whose cache holds the demo mail (no server needed for offline commands).
fn demo_cache() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let mut store = tern::store::Store::open_in_dir(&data).unwrap();
        tern::demo::import(&mut store).unwrap();
    }
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {:?}\n[[account]]\nname = \"work\"\nemail = \"me@example.com\"\n\
             [account.imap]\nhost = \"imap.example.com\"\npassword_command = \"true\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    (dir, cfg)
}

#[test]
fn check_prints_settings_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[[account]]\nname = \"work\"\nemail = \"me@example.com\"\n[account.imap]\nhost = \"imap.example.com\"\n\
         username = \"me\"\npassword = \"hunter2-secret\"\n[account.smtp]\nhost = \"smtp.example.com\"\n\
         security = \"starttls\"\npassword_command = \"pass show mail\"\n",
    )
    .unwrap();
    let out = tern(&["check", "--config", cfg.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("imap.example.com:993"), "{stdout}");
    assert!(stdout.contains("smtp.example.com:587"), "{stdout}");
    assert!(stdout.contains("<redacted>"), "{stdout}");
    assert!(stdout.contains("pass show mail"), "{stdout}");
    assert!(!stdout.contains("hunter2") && !stderr.contains("hunter2"));
}

#[cfg(unix)]
#[test]
fn a_config_others_can_read_is_warned_about_once() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[[account]]\nname = \"work\"\nemail = \"me@example.com\"\n[account.imap]\n\
         host = \"imap.example.com\"\npassword = \"hunter2\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = tern(&["check", "--config", cfg.to_str().unwrap()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let all = format!("{stdout}{stderr}");
    let warnings: Vec<&str> = all
        .lines()
        .filter(|l| l.contains("others can read"))
        .collect();
    assert_eq!(warnings.len(), 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(warnings[0].starts_with("warning: ") && warnings[0].contains("`work`"));
}

#[test]
fn check_warns_once_about_a_key_taken_from_another_action() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "[keys]\ndown = [\"j\", \"d\"]\n").unwrap();
    let out = tern(&["check", "--config", cfg.to_str().unwrap()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let all = format!("{stdout}{stderr}");
    let warnings: Vec<&str> = all.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(
        warnings,
        [format!(
            "warning: {}:2: key `d` of `down` takes the default key of `delete`, which keeps \
             `delete`",
            cfg.display()
        )],
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

#[test]
fn check_on_a_broken_config_names_file_line_column_and_exits_2() {
    let cfg =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/broken/unknown_server_key.toml");
    let out = tern(&["check", "--config", cfg.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let line = stderr.lines().next().unwrap_or("");
    assert!(
        line.contains("unknown_server_key.toml:6:1: unknown key `hots`"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line, no backtrace: {stderr}"
    );
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
}

#[test]
fn missing_config_is_a_clear_error() {
    let out = tern(&["check"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("/nonexistent-tern-test/tern/config.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("config.example.toml"), "{stderr}");
}

#[test]
fn tern_config_env_is_used() {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/broken/port_zero.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("check")
        .env("TERN_CONFIG", &cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("port_zero.toml:7:8: port 0 is out of range"));
}

#[test]
fn search_finds_cached_mail_and_names_the_column_of_a_bad_query() {
    let (_dir, cfg) = demo_cache();
    let c = cfg.to_str().unwrap();
    let out = tern(&["--config", c, "search", "from:jonas standup", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    assert!(
        lines
            .iter()
            .all(|l| l["from"].as_str().unwrap().contains("Jonas"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l["subject"].as_str().unwrap().contains("Standup"))
    );
    assert_eq!(lines[0]["account"], "work");
    let bad = tern(&["--config", c, "search", "lunch from:"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = text(&bad.stderr);
    assert!(err.contains("column 7: `from:` needs a value"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // The index rebuilt from the cache finds the same; `tern index` says what it holds.
    let out = tern(&["--config", c, "index", "--rebuild"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.starts_with("rebuilt the index: "), "{said}");
    assert!(
        said.contains("cached messages are indexed with their text"),
        "{said}"
    );
    let again = tern(&["--config", c, "search", "from:jonas standup", "--json"]);
    assert_eq!(text(&again.stdout).lines().count(), lines.len());
}

/// `tern send` killed while it waits on the server leaves its message "sending"; the next
/// command that opens the cache (here `tern outbox`, no TUI) says it may have been sent, and
/// `--requeue` takes it.
#[test]
fn a_send_killed_mid_way_is_uncertain_for_the_next_command_and_can_be_requeued() {
    use std::io::Write;
    use std::process::Stdio;
    // An SMTP server that accepts and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            let _ = seen_tx.send(());
            held.push(conn);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {:?}\n[[account]]\nname = \"work\"\nemail = \"me@example.com\"\n\
             save_sent = false\n[account.imap]\nhost = \"127.0.0.1\"\nport = 9\n\
             [account.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let mut send = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["--config", cfg, "send"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    send.stdin
        .take()
        .unwrap()
        .write_all(b"To: you@example.org\r\nSubject: hi\r\n\r\nhello\r\n")
        .unwrap();
    // It connected (the message is claimed before): now it crashes.
    seen.recv_timeout(std::time::Duration::from_secs(30))
        .expect("tern send never connected");
    send.kill().unwrap();
    send.wait().unwrap();
    let out = tern(&["--config", cfg, "outbox"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("may have been"), "{stdout}");
    let id = stdout
        .split('#')
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap_or_else(|| panic!("no id in {stdout}"))
        .to_string();
    let out = tern(&["--config", cfg, "outbox", "--requeue", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tern(&["--config", cfg, "outbox"]);
    assert!(
        text(&out.stdout).contains("queued"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn hostile_queries_are_errors_or_results_never_a_crash() {
    let (_dir, cfg) = demo_cache();
    let c = cfg.to_str().unwrap();
    let nest = "(".repeat(10_000) + "a" + &")".repeat(10_000);
    let negations = "-(".repeat(10_000) + "a" + &")".repeat(10_000);
    let minuses = "-".repeat(10_000) + "a";
    for q in [&nest, &negations, &minuses] {
        let out = tern(&["--config", c, "search", "--", q]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("column 65: nested too deeply"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // A long OR chain is refused by name (SQLite would refuse it as too deep); the longest
    // allowed one is searched.
    let chain = |n| vec!["standup"; n].join(" OR ");
    let out = tern(&["--config", c, "search", &chain(10_000)]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("too many terms"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = tern(&[
        "--config",
        c,
        "search",
        &chain(tern::domain::search::MAX_TERMS),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!out.stdout.is_empty());
}

#[test]
fn json_output_carries_no_control_or_bidi_characters_from_mail() {
    use tern::domain::{Flags, Role, Uid, message};
    use tern::store::{AccountKind, NewMessage, OutState, Store};
    let hostile = "\u{9b}31m\u{90}q\u{9c}\u{85}\u{202e}\u{2066}\u{1b}[2J";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let mut s = Store::open_in_dir(&data).unwrap();
        let a = s
            .upsert_account("work", "me@example.com", AccountKind::Imap)
            .unwrap();
        let inbox = s
            .upsert_mailbox(a, "INBOX", Some('/'), Some(Role::Inbox))
            .unwrap();
        let raw = format!(
            "From: Eve{hostile} <eve@example.com>\r\nTo: me@example.com\r\n\
             Subject: standup{hostile} gnp.exe\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nhi\r\n"
        );
        let meta = message::parse(raw.as_bytes()).meta;
        assert!(meta.subject.contains('\u{202e}'), "{:?}", meta.subject);
        let msg = NewMessage {
            uid: Uid(1),
            meta,
            flags: Flags::default(),
            internal_date: None,
            raw: Some(raw.as_bytes()),
        };
        s.insert_messages(inbox, &[msg]).unwrap();
        let id = s
            .enqueue(
                a,
                "me@example.com",
                &[format!("x{hostile}@example.com")],
                b"x",
            )
            .unwrap();
        s.outbox_set(
            id,
            OutState::Failed,
            Some(&format!("550 no{hostile}")),
            None,
        )
        .unwrap();
    }
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {:?}\n[[account]]\nname = \"work\"\nemail = \"me@example.com\"\n\
             [account.imap]\nhost = \"imap.example.com\"\npassword_command = \"true\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    for args in [
        &["search", "standup", "--json"][..],
        &["list", "--json"],
        &["outbox", "--json"],
    ] {
        let out = tern(&[&["--config", c][..], args].concat());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let json = text(&out.stdout);
        assert!(
            json.contains("eve@example.com") || json.contains("550"),
            "{args:?}: {json}"
        );
        let bad: Vec<char> = json
            .chars()
            .filter(|c| {
                matches!(c, '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
                    || (c.is_control() && *c != '\n')
            })
            .collect();
        assert!(bad.is_empty(), "{args:?}: {bad:?} in {json:?}");
        assert!(!json.contains("\\u001b"), "{args:?}: {json}");
    }
}

/// Small refusals that used to pass silently: requeueing a message that is not there, queueing
/// a recipient that is not an address, syncing a config without accounts. Each is a one-line
/// error and a non-zero exit.
#[test]
fn impossible_requests_say_so_and_exit_non_zero() {
    use std::io::Write;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {:?}\n[[account]]\nname = \"work\"\nemail = \"me@example.com\"\n\
             [account.imap]\nhost = \"127.0.0.1\"\nport = 9\n\
             [account.smtp]\nhost = \"127.0.0.1\"\nport = 9\nsecurity = \"none\"\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let out = tern(&["--config", c, "outbox", "--requeue", "99999"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("no message #99999"), "{out:?}");

    for to in ["<<<@@@>>>", "al", "a@b@c"] {
        let mut send = Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(["--config", c, "send", "--queue-only"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        send.stdin
            .take()
            .unwrap()
            .write_all(format!("To: {to}\r\nSubject: x\r\n\r\nbody\r\n").as_bytes())
            .unwrap();
        let out = send.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{to}: {out:?}");
        assert!(
            text(&out.stderr).contains("not an address"),
            "{to}: {out:?}"
        );
    }
    let out = tern(&["--config", c, "outbox"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout).trim(), "", "nothing was queued");

    let empty = dir.path().join("empty.toml");
    std::fs::write(
        &empty,
        format!(
            "data_dir = {:?}\n",
            dir.path().join("data2").display().to_string()
        ),
    )
    .unwrap();
    let out = tern(&["--config", empty.to_str().unwrap(), "sync"]);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    assert!(text(&out.stderr).contains("no accounts"), "{out:?}");
}

/// A tern config for alice: IMAP (or POP3) and SMTP (submission, STARTTLS), with `password`
/// and, when `ca` is set, the run's CA given once at the account level.
fn server_config(
    servers: &harness::MailServers,
    dir: &Path,
    incoming: &str,
    password: &str,
    ca: bool,
) -> std::path::PathBuf {
    use harness::{ALICE, HOST};
    let port = match incoming {
        "imap" => servers.imaps_port(),
        _ => servers.pop3s_port(),
    };
    let ca = if ca {
        format!(
            "ca_file = {:?}\n",
            servers.ca_pem_path().display().to_string()
        )
    } else {
        String::new()
    };
    let text = format!(
        "data_dir = {data:?}\n[[account]]\nname = \"alice\"\nemail = \"{email}\"\n{ca}\
         username = \"{email}\"\npassword = \"{password}\"\n\
         [account.{incoming}]\nhost = \"{HOST}\"\nport = {port}\n\
         [account.smtp]\nhost = \"{HOST}\"\nport = {smtp}\nsecurity = \"starttls\"\n",
        data = dir.join("data").display().to_string(),
        email = ALICE.email,
        smtp = servers.submission_port(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn check_connect(cfg: &Path) -> (Output, Vec<String>) {
    let out = tern(&["check", "--connect", "--config", cfg.to_str().unwrap()]);
    let lines = text(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("alice: "))
        .map(str::to_string)
        .collect();
    eprintln!("tern check --connect: {:?}\n{lines:#?}", out.status);
    (out, lines)
}

#[test]
fn check_connect_logs_in_to_every_server_and_says_what_to_fix() {
    let servers = harness::MailServers::start();
    let (imaps, pop3s, smtp) = (
        servers.imaps_port(),
        servers.pop3s_port(),
        servers.submission_port(),
    );
    let dir = tempfile::tempdir().unwrap();
    let password = harness::ALICE.password;

    // Good: IMAP and SMTP log in, the CA set once for both.
    let cfg = server_config(&servers, dir.path(), "imap", password, true);
    let (out, lines) = check_connect(&cfg);
    assert!(out.status.success(), "{lines:?} {}", text(&out.stderr));
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("alice: imap 127.0.0.1:{imaps} ok (")),
        "{lines:?}"
    );
    for cap in ["CONDSTORE", "QRESYNC", "MOVE", "UIDPLUS", "IDLE"] {
        assert!(lines[0].contains(cap), "{lines:?}");
    }
    assert!(
        lines[1].starts_with(&format!("alice: smtp 127.0.0.1:{smtp} ok (")),
        "{lines:?}"
    );
    assert!(lines[1].contains("AUTH PLAIN"), "{lines:?}");

    // Good, POP3.
    let cfg = server_config(&servers, dir.path(), "pop3", password, true);
    let (out, lines) = check_connect(&cfg);
    assert!(out.status.success(), "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("alice: pop3 127.0.0.1:{pop3s} ok (")),
        "{lines:?}"
    );
    assert!(lines[0].contains("UIDL"), "{lines:?}");

    // A wrong password: both refused, each with its hint; the password is never printed.
    let cfg = server_config(&servers, dir.path(), "imap", "Wr0ng-s3cret", true);
    let (out, lines) = check_connect(&cfg);
    assert_eq!(out.status.code(), Some(1), "{lines:?}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    for l in &lines {
        assert!(l.contains(" FAILED: "), "{l}");
        assert!(l.contains("— hint: check username and password"), "{l}");
    }
    assert!(lines[1].contains("535"), "the server's reply: {lines:?}");
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("Wr0ng-s3cret"), "{all}");
    assert!(!all.contains("panicked"), "{all}");

    // No ca_file: the servers' certificate is not trusted; the hint names ca_file.
    let cfg = server_config(&servers, dir.path(), "imap", password, false);
    let (out, lines) = check_connect(&cfg);
    assert_eq!(out.status.code(), Some(1), "{lines:?}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    for l in &lines {
        assert!(
            l.contains(" FAILED: ") && l.contains("UnknownIssuer"),
            "{l}"
        );
        assert_eq!(l.matches("— hint:").count(), 1, "{l}");
        assert!(l.contains("ca_file = "), "{l}");
        assert!(!l.contains("Connection error: Connection error"), "{l}");
    }

    // Nothing listening: the connection is refused; check host, port and security.
    servers.stop_postfix();
    let cfg = server_config(&servers, dir.path(), "imap", password, true);
    let (out, lines) = check_connect(&cfg);
    assert_eq!(out.status.code(), Some(1), "{lines:?}");
    assert!(lines[0].contains(" ok ("), "{lines:?}");
    assert!(lines[1].contains(" FAILED: "), "{lines:?}");
    assert!(
        lines[1].contains("— hint: check host, port and security"),
        "{lines:?}"
    );
}

#[test]
fn man_and_completions_are_generated_from_the_command_line() {
    let out = tern(&["man"]);
    assert!(out.status.success());
    let man = text(&out.stdout);
    assert!(man.contains(".TH tern"), "{man}");
    for sub in ["check", "sync", "send", "outbox", "completions"] {
        assert!(man.contains(sub), "{sub} in {man}");
    }
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = tern(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = text(&out.stdout);
        for sub in ["check", "outbox", "--connect", "--flush"] {
            assert!(script.contains(sub), "{sub} in {shell}: {script}");
        }
    }
    let out = tern(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn check_connect_with_a_failing_password_command_says_so_per_server() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {:?}\n[[account]]\nname = \"work\"\nemail = \"me@example.com\"\n\
             password_command = \"echo oops >&2; exit 3\"\n\
             [account.imap]\nhost = \"127.0.0.1\"\nport = 9\n\
             [account.smtp]\nhost = \"127.0.0.1\"\nport = 9\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let out = tern(&["check", "--connect", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("work: ")).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("work: imap 127.0.0.1:9 FAILED: the password: "));
    assert!(lines[1].starts_with("work: smtp 127.0.0.1:9 FAILED: the password: "));
    for l in lines {
        assert!(l.ends_with("hint: check password_command (run it in a shell: it must print the password on its first line)"), "{l}");
    }
}
