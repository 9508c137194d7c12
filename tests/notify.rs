//! New mail announced, against the real Dovecot: `tern sync --watch` runs the `[notify]`
//! command for mail that arrives while it runs, unread, in INBOX; not for what was there
//! before, nor for a message that arrives already read.

mod harness;

use std::io::BufRead;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::{ALICE, MailServers};

const KYOTO: &[u8] = include_bytes!("../assets/demo/personal/INBOX/09-kyoto-momiji.eml");

fn message(from: &str, subject: &str) -> Vec<u8> {
    let date = chrono::Utc::now().to_rfc2822();
    format!(
        "From: {from}\r\nTo: alice@example.test\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{}@example.test>\r\n\r\nhello\r\n",
        subject.replace(' ', ".")
    )
    .into_bytes()
}

/// Lines `tern sync --watch` writes to stderr, as they come.
fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    rx
}

/// The next stderr line containing `what`, within `deadline`.
fn wait_line(rx: &std::sync::mpsc::Receiver<String>, what: &str, deadline: Instant) -> String {
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(what) => return line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("no line with {what:?}; saw {seen:#?}"),
        }
    }
}

#[test]
fn watch_runs_the_new_mail_command_for_unread_mail_that_arrives() {
    let servers = MailServers::start();
    servers.deliver(ALICE.email, KYOTO);
    let dir = tempfile::tempdir().unwrap();
    let config = servers.write_tern_config(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
    );
    let hooks = dir.path().join("hooks.txt");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[notify]\nmethod = \"none\"\ncommand = \"printf '%s|%s|%s|%s\\\\n' \\\"$TERN_ACCOUNT\\\" \
         \\\"$TERN_FOLDER\\\" \\\"$TERN_FROM\\\" \\\"$TERN_SUBJECT\\\" >> {}\"\n",
        hooks.display()
    ));
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["sync", "--watch", "--config", config.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stderr_lines(&mut child);
    let deadline = Instant::now() + Duration::from_secs(60);
    wait_line(&rx, "alice: online", deadline);

    // Read already (another client filed it, say): no news. Then an unread one: news.
    servers.imap(ALICE.email).append(
        "INBOX",
        "\\Seen",
        &message("Carol <carol@example.test>", "Read already"),
    );
    servers.deliver(
        ALICE.email,
        &message("Bob Example <bob@example.test>", "Lunch tomorrow"),
    );
    let line = wait_line(&rx, "new mail", deadline);
    assert_eq!(
        line,
        "alice: new mail in INBOX from Bob Example: Lunch tomorrow"
    );
    // The command runs after the line: its file, bounded.
    let hooked = loop {
        let text = std::fs::read_to_string(&hooks).unwrap_or_default();
        if text.ends_with('\n') {
            break text;
        }
        assert!(Instant::now() < deadline, "the command never ran");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(hooked, "alice|INBOX|Bob Example|Lunch tomorrow\n");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(child.wait().unwrap().success());
    // Nothing about the mail that was there before, or the read one.
    let rest: Vec<String> = rx.try_iter().filter(|l| l.contains("new mail")).collect();
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(
        std::fs::read_to_string(&hooks).unwrap(),
        "alice|INBOX|Bob Example|Lunch tomorrow\n"
    );
}
