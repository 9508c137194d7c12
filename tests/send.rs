//! Sending through the real Postfix (submission with STARTTLS and AUTH through Dovecot),
//! delivering to the real Dovecot over LMTP, with `tern send` run as a process.

mod harness;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use harness::{ALICE, BOB, HOST, MailServers, SINK};
use mail_parser::{MessageParser, MimeHeaders};
use tern::config::Config;
use tern::store::{OutState, Store};

const WAIT: Duration = Duration::from_secs(30);

/// alice's config: IMAP over TLS, SMTP on `smtp_port` with `security`.
fn config(
    servers: &MailServers,
    dir: &Path,
    smtp_port: u16,
    security: &str,
    password: &str,
) -> PathBuf {
    let ca = servers.ca_pem_path().display().to_string();
    let text = format!(
        "data_dir = {data:?}\n[[account]]\nname = \"alice\"\nemail = \"{email}\"\n\
         display_name = \"Alice Ånström\"\noffline = \"headers\"\n\
         [account.imap]\nhost = \"{HOST}\"\nport = {imaps}\nsecurity = \"tls\"\n\
         username = \"{email}\"\npassword = \"{imap_pw}\"\nca_file = {ca:?}\n\
         [account.smtp]\nhost = \"{HOST}\"\nport = {smtp_port}\nsecurity = \"{security}\"\n\
         username = \"{email}\"\npassword = \"{password}\"\nca_file = {ca:?}\n",
        data = dir.join("data").display().to_string(),
        email = ALICE.email,
        imaps = servers.imaps_port(),
        imap_pw = ALICE.password,
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn tern_send(config: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--config")
        .arg(config)
        .arg("send")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    logged("send", args, child.wait_with_output().unwrap())
}

/// The output of `tern WHAT ARGS`, shown in the test's log.
fn logged(what: &str, args: &[&str], out: Output) -> Output {
    eprintln!(
        "tern {what} {args:?}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    })
}

fn outbox(config: &Path) -> Vec<tern::store::OutboxRow> {
    let cfg = Config::load(config).unwrap();
    Store::open_in_dir(&cfg.data_dir)
        .unwrap()
        .outbox_list(100)
        .unwrap()
}

#[test]
fn alice_sends_to_bob_with_attachments_a_sent_copy_and_no_bcc_on_the_wire() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &servers,
        dir.path(),
        servers.submission_port(),
        "starttls",
        ALICE.password,
    );
    let pdf: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let pdf_path = dir.path().join("plan.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let text_path = dir.path().join("notes.txt");
    std::fs::write(&text_path, "line one\nzeile zwei: Grüße\n").unwrap();
    let input = format!(
        "To: Bob <{}>\nBcc: {}\nSubject: Grüße aus Köln – plans\n\nHallo Bob,\n\nschöne Grüße, \
         see the plan.\n\n-- \nAlice\n",
        BOB.email, SINK.email
    );
    let out = tern_send(
        &cfg,
        &[
            "--json",
            "--attach",
            pdf_path.to_str().unwrap(),
            "--attach",
            text_path.to_str().unwrap(),
        ],
        input.as_bytes(),
    );
    assert!(out.status.success());
    let j = json(&out);
    assert_eq!(j["state"], "sent");
    assert!(j["warning"].is_null(), "{j}");
    let message_id = j["message_id"].as_str().unwrap().to_string();
    assert!(
        message_id.ends_with("@example.test"),
        "on the sender's domain"
    );

    // Bob has it, decoded as written, attachments byte-identical, no Bcc anywhere.
    let mut bob = servers.imap(BOB.email);
    let uid = servers.wait_for_subject(BOB.email, "INBOX", "plans", WAIT);
    let raw = bob.fetch_raw("INBOX", uid);
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.to_ascii_lowercase().contains("\nbcc:"), "{text}");
    assert!(
        !text.contains(SINK.email),
        "the Bcc address is not on the wire"
    );
    let m = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(m.subject(), Some("Grüße aus Köln – plans"));
    assert_eq!(m.message_id(), Some(message_id.as_str()));
    let from = m.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Alice Ånström"));
    assert_eq!(from.address(), Some(ALICE.email));
    assert!(
        m.body_text(0)
            .unwrap()
            .contains("schöne Grüße, see the plan.")
    );
    let names: Vec<(String, Vec<u8>, String)> = m
        .attachments()
        .map(|a| {
            let ct = a.content_type().unwrap();
            (
                a.attachment_name().unwrap().to_string(),
                a.contents().to_vec(),
                format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")),
            )
        })
        .collect();
    assert_eq!(names.len(), 2);
    assert_eq!(names[0].0, "plan.pdf");
    assert_eq!(names[0].1, pdf, "byte-identical");
    assert_eq!(names[0].2, "application/pdf");
    assert_eq!(names[1].0, "notes.txt");
    assert_eq!(
        names[1].1,
        b"line one\nzeile zwei: Gr\xc3\xbc\xc3\x9fe\n".to_vec()
    );
    // The Bcc recipient got it too.
    servers.wait_for_subject(SINK.email, "INBOX", "plans", WAIT);

    // The Sent copy, read, exactly once.
    let mut alice = servers.imap(ALICE.email);
    let sent = alice.search("Sent", "HEADER Subject plans");
    assert_eq!(sent.len(), 1);
    assert!(alice.flags("Sent", sent[0]).iter().any(|f| f == "\\Seen"));
    let rows = outbox(&cfg);
    assert_eq!(rows[0].state, OutState::Sent);

    // Bob answers through his own tern: the reply threads under alice's message.
    let bob_dir = tempfile::tempdir().unwrap();
    let bob_cfg = {
        let text = std::fs::read_to_string(&cfg)
            .unwrap()
            .replace(ALICE.email, BOB.email)
            .replace(ALICE.password, BOB.password)
            .replace("name = \"alice\"", "name = \"bob\"")
            .replace(
                &dir.path().join("data").display().to_string(),
                &bob_dir.path().join("data").display().to_string(),
            );
        let p = bob_dir.path().join("config.toml");
        std::fs::write(&p, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    };
    let reply = format!(
        "To: {}\nSubject: Re: Grüße aus Köln – plans\nIn-Reply-To: <{message_id}>\n\
         References: <{message_id}>\n\nDanke!\n",
        ALICE.email
    );
    let out = tern_send(&bob_cfg, &[], reply.as_bytes());
    assert!(out.status.success());
    let uid = servers.wait_for_subject(ALICE.email, "INBOX", "Re:", WAIT);
    let raw = alice.fetch_raw("INBOX", uid);
    let r = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(r.in_reply_to().as_text(), Some(message_id.as_str()));
    assert_eq!(
        r.references().as_text_list().unwrap_or_default(),
        [message_id.as_str()]
    );
}

#[test]
fn a_refused_recipient_is_reported_while_the_others_get_it() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &servers,
        dir.path(),
        servers.smtps_port(),
        "tls",
        ALICE.password,
    );
    let input = format!(
        "To: {}, nobody-here@example.test\nSubject: partly\n\nhello\n",
        BOB.email
    );
    let out = tern_send(&cfg, &["--json"], input.as_bytes());
    assert!(out.status.success(), "sent to the others");
    let j = json(&out);
    assert_eq!(j["state"], "sent");
    let refused = j["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{j}");
    assert_eq!(refused[0]["rcpt"], "nobody-here@example.test");
    assert_eq!(refused[0]["kind"], "permanent");
    assert!(refused[0]["reply"].as_str().unwrap().contains("550"), "{j}");
    servers.wait_for_subject(BOB.email, "INBOX", "partly", WAIT);
}

#[test]
fn a_wrong_password_fails_clearly_and_keeps_the_message() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &servers,
        dir.path(),
        servers.submission_port(),
        "starttls",
        "wrong",
    );
    let input = format!("To: {}\nSubject: never\n\nx\n", BOB.email);
    let out = tern_send(&cfg, &[], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("failed") && err.contains("authentication"),
        "{err}"
    );
    assert!(err.contains("535"), "the server's reply: {err}");
    assert_eq!(err.lines().count(), 1, "one line, no trace: {err}");
    let rows = outbox(&cfg);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, OutState::Failed);
    let cfg2 = Config::load(&cfg).unwrap();
    let kept = Store::open_in_dir(&cfg2.data_dir)
        .unwrap()
        .outbox_get(rows[0].id)
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&kept.raw).contains("Subject: never"));
}

/// alice's config (submission, STARTTLS) and a message to Bob with this subject sent with
/// Postfix stopped: queued for a retry, not failed. Postfix stays stopped.
fn queued_while_postfix_is_down(
    servers: &MailServers,
    dir: &Path,
    subject: &str,
) -> (PathBuf, Output) {
    let cfg = config(
        servers,
        dir,
        servers.submission_port(),
        "starttls",
        ALICE.password,
    );
    servers.stop_postfix();
    let input = format!("To: {}\nSubject: {subject}\n\nlater\n", BOB.email);
    let out = tern_send(&cfg, &[], input.as_bytes());
    assert_eq!(out.status.code(), Some(75), "queued, not failed");
    (cfg, out)
}

#[test]
fn with_postfix_down_it_stays_queued_and_goes_exactly_once_later() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let (cfg, out) = queued_while_postfix_is_down(&servers, dir.path(), "patience");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("queued #1, retry in 1 min"), "{err}");
    assert_eq!(outbox(&cfg)[0].state, OutState::Queued);

    servers.start_postfix();
    let flush = tern_send(&cfg, &["--flush"], b"");
    assert!(flush.status.success());
    servers.wait_for_subject(BOB.email, "INBOX", "patience", WAIT);
    // Again: nothing left to send, so nothing is sent twice.
    let again = tern_send(&cfg, &["--flush"], b"");
    assert!(again.status.success());
    assert!(again.stdout.is_empty());
    let mut bob = servers.imap(BOB.email);
    assert_eq!(bob.search("INBOX", "HEADER Subject patience").len(), 1);
    assert_eq!(outbox(&cfg)[0].state, OutState::Sent);
    let mut alice = servers.imap(ALICE.email);
    assert_eq!(alice.search("Sent", "HEADER Subject patience").len(), 1);
}

#[test]
fn starttls_required_but_not_offered_sends_nothing() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &servers,
        dir.path(),
        servers.submission_plain_port(),
        "starttls",
        ALICE.password,
    );
    let input = format!("To: {}\nSubject: in the clear\n\nx\n", BOB.email);
    let out = tern_send(&cfg, &[], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not offer STARTTLS"), "{err}");
    assert_eq!(outbox(&cfg)[0].state, OutState::Failed);
    // Postfix saw no AUTH and no MAIL on that port.
    let log = servers.logs();
    let plain: Vec<&str> = log.lines().filter(|l| l.contains("/plain")).collect();
    assert!(
        plain.iter().any(|l| l.contains("connect from")),
        "tern did connect there: {plain:#?}"
    );
    assert!(
        !plain
            .iter()
            .any(|l| l.contains("sasl_username") || l.contains("from=<")),
        "{plain:#?}"
    );
}

#[test]
fn refused_for_good_it_goes_back_to_drafts() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &servers,
        dir.path(),
        servers.submission_port(),
        "starttls",
        ALICE.password,
    );
    // A synced cache knows the Drafts folder.
    let sync = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["--config", cfg.to_str().unwrap(), "sync"])
        .output()
        .unwrap();
    assert!(sync.status.success());
    let input = "To: nobody-at-all@example.test\nBcc: also-nobody@example.test\nSubject: lost?\n\nkeep me\n";
    let out = tern_send(&cfg, &["--json"], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let j = json(&out);
    assert_eq!(j["state"], "failed");
    assert!(j["reply"].as_str().unwrap().contains("550"), "{j}");
    let mut alice = servers.imap(ALICE.email);
    let drafts = alice.search("Drafts", "DRAFT HEADER Subject lost?");
    assert_eq!(drafts.len(), 1, "back in Drafts to be edited");
    let raw = alice.fetch_raw("Drafts", drafts[0]);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("keep me"), "{text}");
    assert!(
        text.contains("Bcc: also-nobody@example.test"),
        "the Bcc kept: {text}"
    );
}

/// A scripted SMTP server for the faults a real one does not produce on demand: it answers
/// each command from `script` (by its first word) and, after the message's final dot, does
/// what `after_dot` says (None: drop the connection with no answer).
fn scripted_smtp(
    script: &'static [(&'static str, &'static str)],
    after_dot: Option<&'static str>,
) -> u16 {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind((HOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((sock, _)) = listener.accept() else {
            return;
        };
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut w = sock.try_clone().unwrap();
        let mut r = BufReader::new(sock);
        w.write_all(b"220 scripted ESMTP\r\n").unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let reply = script
                .iter()
                .find(|(v, _)| *v == verb)
                .map(|(_, r)| *r)
                .unwrap_or(if verb == "DATA" {
                    "354 go ahead"
                } else {
                    "250 ok"
                });
            w.write_all(format!("{reply}\r\n").as_bytes()).unwrap();
            if verb == "DATA" && reply.starts_with("354") {
                let mut body = String::new();
                while !body.ends_with("\r\n.\r\n") {
                    line.clear();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    body.push_str(&line);
                }
                match after_dot {
                    Some(reply) => w.write_all(format!("{reply}\r\n").as_bytes()).unwrap(),
                    None => return, // dropped: the message went out, no answer came
                }
            }
        }
    });
    port
}

fn plain_config(dir: &Path, port: u16) -> PathBuf {
    let text = format!(
        "data_dir = {:?}\n[[account]]\nname = \"alice\"\nemail = \"{}\"\n\
         [account.imap]\nhost = \"{HOST}\"\nport = 9\nsecurity = \"tls\"\nusername = \"x\"\npassword = \"x\"\n\
         [account.smtp]\nhost = \"{HOST}\"\nport = {port}\nsecurity = \"none\"\n",
        dir.join("data").display().to_string(),
        ALICE.email,
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

#[test]
fn a_connection_lost_after_the_final_dot_is_may_have_been_sent_and_never_resent() {
    let port = scripted_smtp(&[("EHLO", "250 scripted")], None);
    let dir = tempfile::tempdir().unwrap();
    let cfg = plain_config(dir.path(), port);
    let out = tern_send(
        &cfg,
        &["--json"],
        b"To: bob@example.test\nSubject: once\n\nx\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let j = json(&out);
    assert_eq!(j["state"], "uncertain");
    assert!(
        j["reply"]
            .as_str()
            .unwrap()
            .contains("may have been delivered"),
        "{j}"
    );
    assert_eq!(outbox(&cfg)[0].state, OutState::Uncertain);
    // --flush sends only what is queued: not this one.
    let again = tern_send(&cfg, &["--flush"], b"");
    assert!(again.status.success() && again.stdout.is_empty());
    // The user looks, decides, and queues it again.
    let list = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "outbox",
            "--requeue",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(list.status.success());
    let row: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(row["state"], "queued");
    assert_eq!(row["to"][0], "bob@example.test");
}

#[test]
fn a_temporary_refusal_keeps_it_queued_with_the_servers_reply() {
    let port = scripted_smtp(
        &[
            ("EHLO", "250 scripted"),
            ("RCPT", "451 4.3.0 try again later"),
        ],
        Some("250 ok"),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = plain_config(dir.path(), port);
    let out = tern_send(&cfg, &[], b"To: bob@example.test\nSubject: later\n\nx\n");
    assert_eq!(out.status.code(), Some(75));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("retry in 1 min") && err.contains("451") && err.contains("try again later"),
        "{err}"
    );
    let row = &outbox(&cfg)[0];
    assert_eq!(row.state, OutState::Queued);
    assert_eq!(row.attempts, 1);
    assert!(row.next_attempt_at.unwrap() > row.created_at + 50);
}

fn tern_outbox(config: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--config")
        .arg(config)
        .arg("outbox")
        .args(args)
        .output()
        .unwrap();
    logged("outbox", args, out)
}

#[test]
fn an_untrusted_certificate_fails_for_good_naming_ca_file_and_outbox_flush_sends_it_once_trusted() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &servers,
        dir.path(),
        servers.submission_port(),
        "starttls",
        ALICE.password,
    );
    let trusted = std::fs::read_to_string(&cfg).unwrap();
    // The SMTP table without its ca_file: Postfix's certificate is from the run's own CA.
    let at = trusted.rfind("ca_file = ").unwrap();
    std::fs::write(&cfg, &trusted[..at]).unwrap();
    let input = format!("To: {}\nSubject: trust\n\nx\n", BOB.email);
    let out = tern_send(&cfg, &[], input.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failure, not queued for a retry"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("UnknownIssuer") && err.contains("ca_file = "),
        "{err}"
    );
    assert!(!err.contains("Connection error: Connection error"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert_eq!(outbox(&cfg)[0].state, OutState::Failed);

    // Trusted again: queued again and flushed at once.
    std::fs::write(&cfg, &trusted).unwrap();
    let out = tern_outbox(&cfg, &["--requeue", "1", "--flush"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("sent #1"));
    servers.wait_for_subject(BOB.email, "INBOX", "trust", WAIT);
    let out = tern_outbox(&cfg, &["--flush"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to send"));

    // A message waiting for its retry goes at once, its backoff aside; while the server is
    // down the flush says so and exits 1.
    servers.stop_postfix();
    let input = format!("To: {}\nSubject: backoff\n\nx\n", BOB.email);
    assert_eq!(
        tern_send(&cfg, &[], input.as_bytes()).status.code(),
        Some(75)
    );
    let out = tern_outbox(&cfg, &["--flush"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("queued #2"));
    servers.start_postfix();
    let out = tern_outbox(&cfg, &["--flush"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("sent #2"));
    servers.wait_for_subject(BOB.email, "INBOX", "backoff", WAIT);
    let mut bob = servers.imap(BOB.email);
    assert_eq!(bob.search("INBOX", "HEADER Subject trust").len(), 1);
    assert_eq!(bob.search("INBOX", "HEADER Subject backoff").len(), 1);
}

/// The UI's "check now" flushes the outbox: the running worker sends a message that waits for
/// its retry (a minute away) at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_kick_sends_a_waiting_message_before_its_retry() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let (cfg, _) = queued_while_postfix_is_down(&servers, dir.path(), "kicked");
    servers.start_postfix();

    let config = Config::load(&cfg).unwrap();
    let store = tern::store::StoreHandle::open_in_dir(&config.data_dir).unwrap();
    let (tx, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let (kick, task) = tern::send::spawn_worker(config.accounts[0].clone(), store, move |r| {
        let _ = tx.send(r.state);
    });
    kick.flush();
    // Well before the retry is due (a minute after the first try).
    let state = tokio::time::timeout(Duration::from_secs(40), reports.recv())
        .await
        .expect("sent at once, not at its retry")
        .unwrap();
    assert_eq!(state, OutState::Sent);
    task.abort();
    servers.wait_for_subject(BOB.email, "INBOX", "kicked", WAIT);
    let mut bob = servers.imap(BOB.email);
    assert_eq!(bob.search("INBOX", "HEADER Subject kicked").len(), 1);
}

/// What waits in the outbox (here a message queued for the running tern) goes from
/// `tern sync --watch` too, with its Sent copy filed.
#[test]
fn a_queued_message_goes_from_sync_watch() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &servers,
        dir.path(),
        servers.submission_port(),
        "starttls",
        ALICE.password,
    );
    let input = format!("To: {}\nSubject: from the watch\n\nhello\n", BOB.email);
    let out = tern_send(&cfg, &["--queue-only"], input.as_bytes());
    assert!(out.status.success());
    assert_eq!(outbox(&cfg)[0].state, OutState::Queued);
    let mut watch = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--config")
        .arg(&cfg)
        .args(["sync", "--watch"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    servers.wait_for_subject(BOB.email, "INBOX", "from the watch", WAIT);
    let mut alice = servers.imap(ALICE.email);
    let deadline = std::time::Instant::now() + WAIT;
    while alice.search("Sent", "HEADER Subject watch").len() != 1 {
        assert!(std::time::Instant::now() < deadline, "no Sent copy");
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &watch.id().to_string()])
        .status();
    assert!(watch.wait().unwrap().success());
    assert_eq!(outbox(&cfg)[0].state, OutState::Sent);
}
