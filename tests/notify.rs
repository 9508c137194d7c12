//! New mail announced, against the real Dovecot: `tern sync --watch` runs the `[notify]`
//! command for mail that arrives while it runs, unread, in INBOX; not for what was there
//! before, nor for a message that arrives already read.

mod harness;

use std::io::BufRead;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::{ALICE, BOB, HOST, MailServers};

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

/// The lines of `read`, as they come.
fn lines_of(read: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(read).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Lines `tern sync --watch` writes to stderr, as they come.
fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    lines_of(child.stderr.take().unwrap())
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

/// alice's `tern sync --watch`, with a `[notify] command` that appends a line per new message
/// to `hooks.txt` in `dir`: the watcher, its stderr lines, and the file.
fn watch_with_hook(
    servers: &MailServers,
    dir: &std::path::Path,
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<String>,
    std::path::PathBuf,
) {
    let config =
        servers.write_tern_config(dir, &ALICE, "tls", servers.imaps_port(), ALICE.password);
    let hooks = dir.join("hooks.txt");
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
    (child, rx, hooks)
}

/// The hook's file once a command finished writing to it (it runs after the stderr line).
fn hooked(hooks: &std::path::Path, deadline: Instant) -> String {
    loop {
        let text = std::fs::read_to_string(hooks).unwrap_or_default();
        if text.ends_with('\n') {
            return text;
        }
        assert!(Instant::now() < deadline, "the command never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM, and a clean exit.
fn stop(mut child: std::process::Child) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(child.wait().unwrap().success());
}

#[test]
fn watch_runs_the_new_mail_command_for_unread_mail_that_arrives() {
    let servers = MailServers::start();
    servers.deliver(ALICE.email, KYOTO);
    let dir = tempfile::tempdir().unwrap();
    let (child, rx, hooks) = watch_with_hook(&servers, dir.path());
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
    assert_eq!(
        hooked(&hooks, deadline),
        "alice|INBOX|Bob Example|Lunch tomorrow\n"
    );
    stop(child);
    // Nothing about the mail that was there before, or the read one.
    let rest: Vec<String> = rx.try_iter().filter(|l| l.contains("new mail")).collect();
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(
        std::fs::read_to_string(&hooks).unwrap(),
        "alice|INBOX|Bob Example|Lunch tomorrow\n"
    );
}

#[test]
fn with_a_session_bus_new_mail_is_a_desktop_notification() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut daemon, address) = harness::keyring::session_bus(dir.path());
    let mut monitor = Command::new("dbus-monitor")
        .args([
            "--address",
            &address,
            "interface='org.freedesktop.Notifications'",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("dbus-monitor (tests/run installs it)");
    let calls = lines_of(monitor.stdout.take().unwrap());
    // The monitor says it is in place first (a NameAcquired signal, not filtered out).
    let mut seen = Vec::new();
    let ready = Instant::now() + Duration::from_secs(30);
    while !seen
        .iter()
        .any(|l: &String| l.contains("NameLost") || l.contains("NameAcquired"))
    {
        match calls.recv_timeout(ready.saturating_duration_since(Instant::now())) {
            Ok(l) => seen.push(l),
            Err(_) => break, // some versions print nothing before the first match
        }
    }
    let config = servers.write_tern_config(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["sync", "--watch", "--config", config.to_str().unwrap()])
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stderr_lines(&mut child);
    let deadline = Instant::now() + Duration::from_secs(60);
    wait_line(&rx, "alice: online", deadline);
    servers.deliver(
        ALICE.email,
        &message("Bob Example <bob@example.test>", "Lunch tomorrow"),
    );
    wait_line(&rx, "new mail", deadline);
    // The call on the bus: Notify("tern", 0, "", summary, body, ...).
    let mut got = Vec::new();
    let call = loop {
        match calls.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(l) if l.contains("New mail from Bob Example") => break l,
            Ok(l) => got.push(l),
            Err(_) => panic!("no Notify call on the bus; saw {got:#?}"),
        }
    };
    assert!(call.contains("string"), "{call}");
    let body = calls
        .recv_timeout(Duration::from_secs(10))
        .expect("the body follows the summary");
    assert!(body.contains("Lunch tomorrow (alice/INBOX)"), "{body}");
    assert!(got.iter().any(|l| l.contains("member=Notify")), "{got:#?}");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let _ = monitor.kill();
    let _ = monitor.wait();
    let _ = daemon.kill();
    let _ = daemon.wait();
}

/// bob's tern config: IMAP (unused here) and SMTP submission with STARTTLS on the real Postfix.
fn bob_config(servers: &MailServers, dir: &std::path::Path) -> std::path::PathBuf {
    let path = servers.write_tern_config_with(
        dir,
        &BOB,
        "tls",
        servers.imaps_port(),
        BOB.password,
        "display_name = \"Bob Builder\"",
    );
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        "[account.smtp]\nhost = \"{HOST}\"\nport = {}\nsecurity = \"starttls\"\n\
         username = \"{}\"\npassword = \"{}\"\nca_file = {:?}\n",
        servers.submission_port(),
        BOB.email,
        BOB.password,
        servers.ca_pem_path().display().to_string()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

/// Mail another account sends, through Postfix and Dovecot, is announced to the running
/// watcher of its recipient: a line, and the hook with its sender and subject.
#[test]
fn mail_bob_sends_through_postfix_is_announced_to_alice() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let (child, rx, hooks) = watch_with_hook(&servers, dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    wait_line(&rx, "alice: online", deadline);

    let bob_dir = dir.path().join("bob");
    std::fs::create_dir(&bob_dir).unwrap();
    let bob = bob_config(&servers, &bob_dir);
    let mut send = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--config")
        .arg(&bob)
        .arg("send")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = send.stdin.take().unwrap();
        stdin
            .write_all(b"To: alice@example.test\nSubject: Lunch from Bob\n\nat noon?\n")
            .unwrap();
    }
    let out = send.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "tern send: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let line = wait_line(&rx, "new mail", deadline);
    assert_eq!(
        line,
        "alice: new mail in INBOX from Bob Builder: Lunch from Bob"
    );
    assert_eq!(
        hooked(&hooks, deadline),
        "alice|INBOX|Bob Builder|Lunch from Bob\n"
    );
    stop(child);
}
