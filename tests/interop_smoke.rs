//! Smoke test of the interop fixtures (tests/harness/{cyrus,courier,exim,servers}.rs): Cyrus
//! IMAP and Courier-IMAP start, take logins over STARTTLS and TLS with the test CA, show the
//! expected folders and capabilities, serve delivered mail over IMAP and POP3; Exim takes
//! authenticated mail over STARTTLS and SMTPS into either, refuses AUTH before STARTTLS and
//! relaying without AUTH; `tern sync` caches mail from both.

mod harness;

use std::process::Command;
use std::time::{Duration, Instant};

use harness::{ALICE, BOB, Exim, HOST, ImapKind, ImapServer, SINK, client};
use lettre::AsyncTransport;
use lettre::transport::smtp::client::Tls;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

const WAIT: Duration = Duration::from_secs(10);
const IO: Duration = Duration::from_secs(20);
const ROLES: [&str; 5] = ["Drafts", "Sent", "Trash", "Junk", "Archive"];

type Session = async_imap::Session<TlsStream<TcpStream>>;

/// Logs in as alice over STARTTLS on the plain port or over implicit TLS, verifying the CA.
async fn imap_login(server: &ImapServer, starttls: bool) -> Session {
    let tls = if starttls {
        let tcp = TcpStream::connect((HOST, server.imap_port()))
            .await
            .expect("connect to the IMAP port");
        let mut client = async_imap::Client::new(tcp);
        let greeting = client.read_response().await.expect("read greeting");
        assert!(greeting.is_some(), "{}: no IMAP greeting", server.name());
        client
            .run_command_and_check_ok("STARTTLS", None)
            .await
            .expect("STARTTLS");
        tokio_rustls::TlsConnector::from(server.tls_client_config())
            .connect(client::server_name(), client.into_inner())
            .await
            .unwrap_or_else(|e| panic!("{}: TLS after STARTTLS: {e}", server.name()))
    } else {
        client::tls_connect(server.imaps_port(), server.tls_client_config())
            .await
            .unwrap_or_else(|e| panic!("{}: IMAPS handshake: {e}", server.name()))
    };
    let mut client = async_imap::Client::new(tls);
    if !starttls {
        let greeting = client.read_response().await.expect("read greeting");
        assert!(greeting.is_some(), "{}: no IMAPS greeting", server.name());
    }
    client
        .login(ALICE.email, ALICE.password)
        .await
        .map_err(|(e, _)| e)
        .unwrap_or_else(|e| panic!("{}", server.with_logs(&format!("login: {e}"))))
}

/// What each server must (and must not) advertise after login.
fn expected_caps(server: &ImapServer) -> (Vec<&'static str>, Vec<&'static str>) {
    match server.name() {
        "cyrus" => (
            vec![
                "IMAP4rev1",
                "IDLE",
                "CONDSTORE",
                "QRESYNC",
                "MOVE",
                "UIDPLUS",
                "SPECIAL-USE",
                "ENABLE",
            ],
            vec![],
        ),
        "courier" => (
            vec!["IMAP4rev1", "IDLE", "UIDPLUS", "NAMESPACE", "CHILDREN"],
            vec!["CONDSTORE", "QRESYNC", "MOVE", "SPECIAL-USE"],
        ),
        "courier-no-uidplus" => (
            vec!["IMAP4rev1", "IDLE", "NAMESPACE"],
            vec!["UIDPLUS", "CONDSTORE", "QRESYNC", "MOVE", "SPECIAL-USE"],
        ),
        _ => (
            vec!["IMAP4rev1", "CONDSTORE", "QRESYNC", "MOVE", "UIDPLUS"],
            vec![],
        ),
    }
}

/// LIST "" "*": (name, attributes) pairs.
async fn list(session: &mut Session) -> Vec<(String, String)> {
    use futures::TryStreamExt;
    let names: Vec<_> = session
        .list(Some(""), Some("*"))
        .await
        .expect("LIST")
        .try_collect()
        .await
        .expect("LIST responses");
    names
        .iter()
        .map(|n| (n.name().to_string(), format!("{:?}", n.attributes())))
        .collect()
}

async fn check_imap(server: &ImapServer) {
    let (must, must_not) = expected_caps(server);
    for starttls in [true, false] {
        let mut session = imap_login(server, starttls).await;
        let caps = session.capabilities().await.expect("CAPABILITY");
        for cap in &must {
            assert!(caps.has_str(*cap), "{}: {cap} missing", server.name());
        }
        for cap in &must_not {
            assert!(!caps.has_str(*cap), "{}: {cap} advertised", server.name());
        }
        let folders = list(&mut session).await;
        for role in ROLES {
            let wire = server.folder_wire_name(role);
            let (_, attrs) = folders
                .iter()
                .find(|(n, _)| *n == wire)
                .unwrap_or_else(|| panic!("{}: no {wire} in {folders:?}", server.name()));
            if server.has_special_use() {
                assert!(attrs.contains(role), "{}: {wire} {attrs}", server.name());
            }
        }
        assert!(folders.iter().any(|(n, _)| n == "INBOX"), "{folders:?}");
        session.logout().await.expect("LOGOUT");
    }
}

async fn line<S: AsyncRead + Unpin>(r: &mut BufReader<S>) -> String {
    let mut l = String::new();
    tokio::time::timeout(IO, r.read_line(&mut l))
        .await
        .expect("read timeout")
        .expect("read");
    l.trim_end().to_string()
}

async fn cmd<S: AsyncRead + AsyncWrite + Unpin>(r: &mut BufReader<S>, c: &str) -> String {
    r.get_mut()
        .write_all(format!("{c}\r\n").as_bytes())
        .await
        .expect("write");
    line(r).await
}

/// POP3 over STLS and over POP3S: alice's maildrop holds `count` messages.
async fn check_pop3(server: &ImapServer, count: usize) {
    async fn login_stat<S: AsyncRead + AsyncWrite + Unpin>(
        r: &mut BufReader<S>,
        name: &str,
        count: usize,
    ) {
        let ok = |s: String| assert!(s.starts_with("+OK"), "{name}: {s}");
        ok(cmd(r, &format!("USER {}", ALICE.email)).await);
        ok(cmd(r, &format!("PASS {}", ALICE.password)).await);
        let stat = cmd(r, "STAT").await;
        assert!(stat.starts_with(&format!("+OK {count} ")), "{name}: {stat}");
        ok(cmd(r, "QUIT").await);
    }
    let tcp = TcpStream::connect((HOST, server.pop3_port()))
        .await
        .expect("connect POP3");
    let mut r = BufReader::new(tcp);
    assert!(line(&mut r).await.starts_with("+OK"));
    let stls = cmd(&mut r, "STLS").await;
    assert!(stls.starts_with("+OK"), "{}: STLS {stls}", server.name());
    let tls = tokio_rustls::TlsConnector::from(server.tls_client_config())
        .connect(client::server_name(), r.into_inner())
        .await
        .expect("STLS handshake");
    login_stat(&mut BufReader::new(tls), server.name(), count).await;

    let tls = client::tls_connect(server.pop3s_port(), server.tls_client_config())
        .await
        .expect("POP3S handshake");
    let mut r = BufReader::new(tls);
    assert!(line(&mut r).await.starts_with("+OK"));
    login_stat(&mut r, server.name(), count).await;
}

/// The same checks for each server: TLS logins, folders, capabilities, a delivered message
/// seen by IMAP and POP3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_server_serves_imap_and_pop3() {
    let t0 = Instant::now();
    let servers = ImapServer::start_many(&[
        ImapKind::Dovecot,
        ImapKind::Cyrus,
        ImapKind::Courier,
        ImapKind::CourierNoUidplus,
    ]);
    for s in &servers {
        eprintln!("{} started in {:?}", s.name(), s.startup_time());
    }
    eprintln!("all started in parallel in {:?}", t0.elapsed());
    for server in &servers {
        let t = Instant::now();
        check_imap(server).await;
        let raw = format!(
            "From: Bob <bob@example.test>\nTo: alice@example.test\nSubject: hello {}\n\
             Message-ID: <smoke-1@example.test>\n\nfirst line\n.leading dot\nlast\n",
            server.name()
        );
        server.deliver(ALICE.email, raw.as_bytes());
        let uid = server.wait_for_subject(
            ALICE.email,
            "INBOX",
            &format!("hello {}", server.name()),
            WAIT,
        );
        let mut imap = server.imap(ALICE.email);
        let body = String::from_utf8(imap.fetch_raw("INBOX", uid)).expect("UTF-8");
        assert!(body.contains("\r\n.leading dot\r\nlast\r\n"), "{body}");
        assert!(imap.flags("INBOX", uid).is_empty());
        check_pop3(server, 1).await;
        // a folder created by the fixture and mail put there
        server.create_folder(ALICE.email, "Projects");
        let projects = server.folder_wire_name("Projects");
        assert!(
            imap.list().contains(&projects),
            "{}: {:?}",
            server.name(),
            imap.list()
        );
        server.deliver_to(ALICE.email, "Projects", b"Subject: filed\n\nin a folder\n");
        let uid = server.wait_for_subject(ALICE.email, "Projects", "filed", WAIT);
        assert_eq!(imap.uids(&projects), [uid], "{}", server.name());
        eprintln!("{}: checked in {:?}", server.name(), t.elapsed());
    }
}

/// One SMTP reply (multi-line replies joined), e.g. "250-a\n250 b".
async fn smtp_reply<S: AsyncRead + Unpin>(r: &mut BufReader<S>) -> String {
    let mut all = Vec::new();
    loop {
        let l = line(r).await;
        let last = l.len() < 4 || l.as_bytes()[3] != b'-';
        all.push(l);
        if last {
            return all.join("\n");
        }
    }
}

async fn smtp_cmd<S: AsyncRead + AsyncWrite + Unpin>(r: &mut BufReader<S>, c: &str) -> String {
    r.get_mut()
        .write_all(format!("{c}\r\n").as_bytes())
        .await
        .expect("SMTP write");
    smtp_reply(r).await
}

/// Exim in front of Cyrus (LMTP) and of Courier (Maildir): authenticated mail over STARTTLS
/// and SMTPS lands in the mailbox; mail to other domains lands in the sink; AUTH before
/// STARTTLS and unauthenticated relaying are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exim_delivers_into_cyrus_and_courier() {
    let t0 = Instant::now();
    let servers = ImapServer::start_many(&[ImapKind::Cyrus, ImapKind::Courier]);
    let exims: Vec<Exim> = std::thread::scope(|s| {
        let handles: Vec<_> = servers
            .iter()
            .map(|srv| {
                let delivery = srv.exim_delivery();
                s.spawn(move || Exim::start(delivery))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("exim start"))
            .collect()
    });
    eprintln!(
        "cyrus+courier then two exims in {:?} (exim {:?}, {:?})",
        t0.elapsed(),
        exims[0].startup_time(),
        exims[1].startup_time()
    );
    for (server, exim) in servers.iter().zip(&exims) {
        let name = server.name();
        for (how, tls, port) in [
            (
                "starttls",
                Tls::Required(exim.lettre_tls()),
                exim.submission_port(),
            ),
            ("smtps", Tls::Wrapper(exim.lettre_tls()), exim.smtps_port()),
        ] {
            let subject = format!("via exim {how} into {name}");
            let transport = client::smtp_transport(port, tls, ALICE.email, ALICE.password, IO);
            let t = Instant::now();
            let response = tokio::time::timeout(
                IO,
                transport.send(client::message(
                    "Alice <alice@example.test>",
                    &["Bob <bob@example.test>"],
                    &subject,
                    "interop smoke test",
                )),
            )
            .await
            .expect("send in time")
            .unwrap_or_else(|e| panic!("{}", exim.with_logs(&format!("send over {how}: {e}"))));
            assert!(response.is_positive(), "{response:?}");
            let uid = server.wait_for_subject(BOB.email, "INBOX", &subject, WAIT);
            eprintln!("{name} {how}: visible in IMAP after {:?}", t.elapsed());
            let raw =
                String::from_utf8(server.imap(BOB.email).fetch_raw("INBOX", uid)).expect("UTF-8");
            assert!(raw.contains("Hello from the interop smoke test."), "{raw}");
            assert!(raw.contains("Exim"), "no Received header from Exim: {raw}");
        }
        // other domains go to the sink
        let transport = client::smtp_transport(
            exim.submission_port(),
            Tls::Required(exim.lettre_tls()),
            ALICE.email,
            ALICE.password,
            IO,
        );
        transport
            .send(client::message(
                "alice@example.test",
                &["someone@gmail.example"],
                "outward",
                "interop smoke test",
            ))
            .await
            .unwrap_or_else(|e| panic!("{}", exim.with_logs(&format!("send outward: {e}"))));
        server.wait_for_subject(SINK.email, "INBOX", "outward", WAIT);

        // AUTH is neither offered nor accepted before STARTTLS; no relaying without AUTH
        let tcp = TcpStream::connect((HOST, exim.submission_port()))
            .await
            .expect("connect submission");
        let mut r = BufReader::new(tcp);
        assert!(smtp_reply(&mut r).await.starts_with("220"));
        let ehlo = smtp_cmd(&mut r, "EHLO client.example").await;
        assert!(ehlo.contains("STARTTLS"), "{ehlo}");
        assert!(
            !ehlo.contains("AUTH"),
            "AUTH offered before STARTTLS: {ehlo}"
        );
        // PLAIN "\0alice@example.test\0alicepass"
        let auth = smtp_cmd(
            &mut r,
            "AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZXBhc3M=",
        )
        .await;
        assert!(auth.starts_with("503"), "AUTH before STARTTLS: {auth}");
        assert!(
            smtp_cmd(&mut r, "MAIL FROM:<x@outside.example>")
                .await
                .starts_with("250")
        );
        for rcpt in ["someone@gmail.example", "bob@example.test"] {
            let reply = smtp_cmd(&mut r, &format!("RCPT TO:<{rcpt}>")).await;
            assert!(
                reply.starts_with("550"),
                "unauthenticated RCPT {rcpt}: {reply}"
            );
        }
        smtp_cmd(&mut r, "QUIT").await;
        // a wrong password over TLS: 535
        let transport = client::smtp_transport(
            exim.smtps_port(),
            Tls::Wrapper(exim.lettre_tls()),
            ALICE.email,
            "wrong",
            IO,
        );
        let err = transport
            .send(client::message(
                "alice@example.test",
                &["bob@example.test"],
                "never",
                "interop smoke test",
            ))
            .await
            .expect_err("a wrong password must fail");
        assert_eq!(
            err.status().map(|c| c.to_string()).as_deref(),
            Some("535"),
            "{err:?}"
        );
        assert_eq!(server.imap(BOB.email).select("INBOX"), 2, "{name}");
    }
}

/// tern's own binary syncs a few messages from Cyrus and Courier into its cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tern_sync_against_cyrus_and_courier() {
    let servers = ImapServer::start_many(&[ImapKind::Cyrus, ImapKind::Courier]);
    let bin = env!("CARGO_BIN_EXE_tern");
    for server in &servers {
        for i in 1..=3 {
            server.deliver(
                ALICE.email,
                format!(
                    "From: Bob <bob@example.test>\nTo: alice@example.test\nSubject: sync {i}\n\
                     Date: Mon, 7 Dec 2026 10:0{i}:00 +0000\nMessage-ID: <sync-{i}@example.test>\n\n\
                     body {i}\n"
                )
                .as_bytes(),
            );
        }
        server.wait_for_subject(ALICE.email, "INBOX", "sync 3", WAIT);
        for (security, port) in [
            ("tls", server.imaps_port()),
            ("starttls", server.imap_port()),
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            let cfg = server.write_tern_config(dir.path(), &ALICE, security, port, "");
            let out = Command::new(bin)
                .args(["sync", "--config", cfg.to_str().expect("utf-8 path")])
                .output()
                .expect("run tern sync");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "{}",
                server.with_logs(&format!(
                    "{} {security}: tern sync failed: {stdout}{stderr}",
                    server.name()
                ))
            );
            assert!(
                stdout.contains("alice: 6 mailboxes, 3 new, 0 changed, 0 removed"),
                "{} {security}: {stdout}{stderr}",
                server.name()
            );
            let out = Command::new(bin)
                .args([
                    "list",
                    "--config",
                    cfg.to_str().expect("utf-8 path"),
                    "--json",
                ])
                .output()
                .expect("run tern list");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let subjects: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
                    v["subject"].as_str().unwrap_or_default().to_string()
                })
                .collect();
            assert_eq!(
                subjects,
                ["sync 3", "sync 2", "sync 1"],
                "{}",
                server.name()
            );
        }
    }
}

/// `tern send` through Exim (its `[account.smtp]`) with the IMAP account on Cyrus or
/// Courier: Bob gets the message, and tern files its copy in Alice's Sent folder (Courier:
/// INBOX.Sent, named in the config's `[account.folders]`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tern_send_through_exim() {
    let servers = ImapServer::start_many(&[ImapKind::Cyrus, ImapKind::Courier]);
    let bin = env!("CARGO_BIN_EXE_tern");
    for server in &servers {
        let exim = Exim::start(server.exim_delivery());
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = server.write_tern_config(
            dir.path(),
            &ALICE,
            "tls",
            server.imaps_port(),
            &exim.tern_smtp_section(&ALICE),
        );
        let subject = format!("tern send via exim to {}", server.name());
        let mut child = Command::new(bin)
            .arg("--config")
            .arg(&cfg)
            .args(["send", "--json"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run tern send");
        {
            use std::io::Write;
            let input = format!(
                "To: Bob <{}>\nSubject: {subject}\n\nHello Bob.\n",
                BOB.email
            );
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        let out = child.wait_with_output().expect("tern send");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains("\"sent\""),
            "{}",
            exim.with_logs(&format!("{}: tern send: {stdout}{stderr}", server.name()))
        );
        server.wait_for_subject(BOB.email, "INBOX", &subject, WAIT);
        server.wait_for_subject(ALICE.email, "Sent", &subject, WAIT);
    }
}
