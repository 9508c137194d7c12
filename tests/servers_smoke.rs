//! Smoke test of the real-server harness: TLS with the generated CA, SMTP submission into
//! IMAP, wrong passwords, bulk population, parallel instances, the outbound sink, restarts.

mod harness;

use std::time::{Duration, Instant};

use harness::{ALICE, BOB, HOST, MailServers, SINK, TestImap, client};
use lettre::transport::smtp::client::Tls;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

const WAIT: Duration = Duration::from_secs(10);
const IO: Duration = Duration::from_secs(20);

/// IMAP over implicit TLS, as the app does it: TLS, greeting, LOGIN.
async fn imaps_login(
    servers: &MailServers,
    user: &str,
    password: &str,
) -> async_imap::Session<TlsStream<TcpStream>> {
    let tls = client::tls_connect(servers.imaps_port(), servers.tls_client_config())
        .await
        .expect("TLS handshake on the IMAPS port");
    let mut client = async_imap::Client::new(tls);
    let greeting = client.read_response().await.expect("read greeting");
    assert!(greeting.is_some(), "no IMAP greeting");
    client
        .login(user, password)
        .await
        .map_err(|(e, _)| e)
        .expect("IMAPS login")
}

/// IMAP with STARTTLS on the plain port: greeting, STARTTLS, TLS, LOGIN.
async fn imap_starttls_login(
    servers: &MailServers,
    user: &str,
    password: &str,
) -> async_imap::Session<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect((HOST, servers.imap_port()))
        .await
        .expect("connect to the IMAP port");
    let mut client = async_imap::Client::new(tcp);
    let greeting = client.read_response().await.expect("read greeting");
    assert!(greeting.is_some(), "no IMAP greeting");
    client
        .run_command_and_check_ok("STARTTLS", None)
        .await
        .expect("STARTTLS");
    let tls = tokio_rustls::TlsConnector::from(servers.tls_client_config())
        .connect(client::server_name(), client.into_inner())
        .await
        .expect("TLS handshake after STARTTLS");
    // no second greeting after STARTTLS
    async_imap::Client::new(tls)
        .login(user, password)
        .await
        .map_err(|(e, _)| e)
        .expect("IMAP login after STARTTLS")
}

async fn assert_imap_capabilities(session: &mut async_imap::Session<TlsStream<TcpStream>>) {
    let caps = session.capabilities().await.expect("CAPABILITY");
    for cap in [
        "IMAP4rev1",
        "IDLE",
        "CONDSTORE",
        "QRESYNC",
        "ENABLE",
        "MOVE",
        "UIDPLUS",
    ] {
        assert!(caps.has_str(cap), "capability {cap} missing");
    }
    let inbox = session.select("INBOX").await.expect("SELECT INBOX");
    assert_eq!(inbox.exists, 0, "fresh INBOX should be empty");
    session.logout().await.expect("LOGOUT");
}

async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    msg: Message,
) -> Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error> {
    tokio::time::timeout(IO, transport.send(msg))
        .await
        .expect("SMTP send did not finish in time")
}

#[tokio::test]
async fn imap_login_over_starttls_and_implicit_tls() {
    let servers = MailServers::start();
    eprintln!(
        "servers started in {:?} at {} ({:?})",
        servers.startup_time(),
        servers.base_dir().display(),
        servers.ports()
    );
    let mut s = imap_starttls_login(&servers, ALICE.email, ALICE.password).await;
    assert_imap_capabilities(&mut s).await;
    let mut s = imaps_login(&servers, BOB.email, BOB.password).await;
    assert_imap_capabilities(&mut s).await;
    assert!(
        servers.ca_pem().starts_with(b"-----BEGIN CERTIFICATE-----"),
        "CA PEM"
    );
    assert_eq!(
        std::fs::read(servers.ca_pem_path()).expect("read CA file"),
        servers.ca_pem()
    );
}

fn is_unknown_issuer(e: &std::io::Error) -> bool {
    matches!(
        e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        ))
    )
}

#[tokio::test]
async fn tls_fails_without_trusting_the_ca() {
    let servers = MailServers::start();
    let untrusting = MailServers::untrusting_tls_client_config();

    // implicit TLS: IMAPS, POP3S, SMTPS
    for (what, port) in [
        ("imaps", servers.imaps_port()),
        ("pop3s", servers.pop3s_port()),
        ("smtps", servers.smtps_port()),
    ] {
        let err = client::tls_connect(port, untrusting.clone())
            .await
            .expect_err(&format!("{what}: TLS must fail with an empty root store"));
        assert!(is_unknown_issuer(&err), "{what}: unexpected error {err:?}");
        // control: the same with the CA trusted works
        client::tls_connect(port, servers.tls_client_config())
            .await
            .unwrap_or_else(|e| panic!("{what}: TLS with the CA trusted failed: {e}"));
    }

    // STARTTLS on the plain IMAP port
    let tcp = TcpStream::connect((HOST, servers.imap_port()))
        .await
        .expect("connect");
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.expect("greeting");
    client
        .run_command_and_check_ok("STARTTLS", None)
        .await
        .expect("STARTTLS");
    let err = tokio_rustls::TlsConnector::from(untrusting)
        .connect(client::server_name(), client.into_inner())
        .await
        .expect_err("STARTTLS handshake must fail with an empty root store");
    assert!(is_unknown_issuer(&err), "unexpected error {err:?}");

    // a name that is not in the certificate is refused too
    let tcp = TcpStream::connect((HOST, servers.imaps_port()))
        .await
        .expect("connect");
    let err = tokio_rustls::TlsConnector::from(servers.tls_client_config())
        .connect(
            ServerName::try_from("mail.example.test").expect("name"),
            tcp,
        )
        .await
        .expect_err("wrong host name must fail");
    assert!(
        matches!(
            err.get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>()),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "unexpected error {err:?}"
    );
    // the SAN has the IP addresses too
    let tcp = TcpStream::connect((HOST, servers.imaps_port()))
        .await
        .expect("connect");
    tokio_rustls::TlsConnector::from(servers.tls_client_config())
        .connect(ServerName::try_from("127.0.0.1").expect("ip name"), tcp)
        .await
        .expect("TLS to 127.0.0.1 by IP SAN");
}

#[tokio::test]
async fn smtp_submission_reaches_imap() {
    let servers = MailServers::start();
    for (how, port, tls) in [
        (
            "STARTTLS",
            servers.submission_port(),
            Tls::Required(servers.lettre_tls()),
        ),
        (
            "implicit TLS",
            servers.smtps_port(),
            Tls::Wrapper(servers.lettre_tls()),
        ),
    ] {
        let subject = format!("smoke over {how} {}", servers.instance_name());
        let transport = client::smtp_transport(port, tls, ALICE.email, ALICE.password, IO);
        let t0 = Instant::now();
        let response = send(
            &transport,
            client::message(
                "Alice <alice@example.test>",
                &["Bob <bob@example.test>"],
                &subject,
                "tern smoke test",
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("{}", servers.with_logs(&format!("send over {how}: {e}"))));
        assert!(response.is_positive(), "{response:?}");
        let uid = servers.wait_for_subject(BOB.email, "INBOX", &subject, WAIT);
        eprintln!(
            "{how}: submitted and visible in IMAP after {:?}",
            t0.elapsed()
        );
        let mut imap = servers.imap(BOB.email);
        assert_eq!(
            imap.header("INBOX", uid, "Subject").as_deref(),
            Some(subject.as_str())
        );
        let from = imap.header("INBOX", uid, "From").expect("From");
        assert!(from.contains("alice@example.test"), "{from}");
        let raw = String::from_utf8(imap.fetch_raw("INBOX", uid)).expect("UTF-8 message");
        assert!(raw.contains("Hello from the tern smoke test."), "{raw}");
        // Postfix recorded the authenticated submission over TLS
        assert!(
            raw.contains("Authenticated sender: alice@example.test"),
            "{raw}"
        );
        assert!(raw.contains("(using TLS"), "{raw}");
    }
    let mut imap = servers.imap(BOB.email);
    assert_eq!(imap.select("INBOX"), 2);
    // nothing for alice herself
    assert_eq!(servers.imap(ALICE.email).select("INBOX"), 0);
}

#[tokio::test]
async fn wrong_password_is_refused() {
    let servers = MailServers::start();

    // IMAP over TLS, as the app logs in
    let tls = client::tls_connect(servers.imaps_port(), servers.tls_client_config())
        .await
        .expect("TLS");
    let mut client = async_imap::Client::new(tls);
    client.read_response().await.expect("greeting");
    match client.login(ALICE.email, "not-alicepass").await {
        Err((async_imap::error::Error::No(text), _)) => {
            eprintln!("IMAP wrong password: NO {text}");
        }
        Err((e, _)) => panic!("expected NO, got {e:?}"),
        Ok(_) => panic!("login with a wrong password succeeded"),
    }
    // the plain reader sees the NO as well
    let err = TestImap::connect(servers.imap_port(), BOB.email, "wrong")
        .err()
        .expect("plain LOGIN with a wrong password must fail");
    assert_eq!(err.status, "NO", "{err}");
    // right password still works right after (no auth penalty)
    let t0 = Instant::now();
    servers.imap(BOB.email).logout();
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "login after a failure took {:?} (auth penalty on?)",
        t0.elapsed()
    );

    // SMTP AUTH with a wrong password: 535
    for (port, tls) in [
        (
            servers.submission_port(),
            Tls::Required(servers.lettre_tls()),
        ),
        (servers.smtps_port(), Tls::Wrapper(servers.lettre_tls())),
    ] {
        let transport = client::smtp_transport(port, tls, ALICE.email, "wrong", IO);
        let err = send(
            &transport,
            client::message(
                "alice@example.test",
                &["bob@example.test"],
                "never",
                "tern smoke test",
            ),
        )
        .await
        .expect_err("SMTP AUTH with a wrong password must fail");
        assert_eq!(
            err.status().map(|c| c.to_string()).as_deref(),
            Some("535"),
            "{err:?}"
        );
    }
}

#[test]
fn populate_1000_and_read_back() {
    let servers = MailServers::start();
    let p = servers.populate(ALICE.email, "Bulk", 1000, 42);
    let total = p.write_time + p.index_time;
    eprintln!(
        "populate 1000: write {:?}, index {:?}, total {:?} = {:.0} msg/s",
        p.write_time,
        p.index_time,
        total,
        1000.0 / total.as_secs_f64()
    );
    assert_eq!(p.count, 1000);
    let mut imap = servers.imap(ALICE.email);
    assert!(imap.list().iter().any(|m| m == "Bulk"), "{:?}", imap.list());
    assert_eq!(imap.select("Bulk"), 1000);
    let uids = imap.uids("Bulk");
    assert_eq!(uids.len(), 1000);
    // flags came from the file names
    let seen = p.messages.iter().filter(|m| m.seen()).count();
    let flagged = p.messages.iter().filter(|m| m.flagged()).count();
    let answered = p.messages.iter().filter(|m| m.answered()).count();
    assert_eq!(imap.search("Bulk", "SEEN").len(), seen);
    assert_eq!(imap.search("Bulk", "FLAGGED").len(), flagged);
    assert_eq!(imap.search("Bulk", "ANSWERED").len(), answered);
    assert!(seen > 500 && seen < 900, "seen {seen}");
    // variety
    assert!(
        p.messages
            .iter()
            .filter(|m| m.in_reply_to.is_some())
            .count()
            > 100
    );
    assert!(p.messages.iter().filter(|m| m.has_attachment).count() > 50);
    assert!(p.messages.iter().filter(|m| m.non_ascii).count() > 100);
    // UID order is file (date) order; sizes, dates and threading headers are as generated
    let (i, m) = p
        .messages
        .iter()
        .enumerate()
        .find(|(_, m)| m.in_reply_to.is_some() && m.has_attachment)
        .or_else(|| {
            p.messages
                .iter()
                .enumerate()
                .find(|(_, m)| m.in_reply_to.is_some())
        })
        .expect("a reply");
    let uid = uids[i];
    assert_eq!(
        imap.search("Bulk", &format!("HEADER Message-ID \"{}\"", m.message_id)),
        vec![uid]
    );
    assert_eq!(
        imap.header("Bulk", uid, "In-Reply-To"),
        Some(format!("<{}>", m.in_reply_to.as_ref().expect("parent")))
    );
    let raw = imap.fetch_raw("Bulk", uid);
    assert_eq!(raw.len(), m.imap_size, "RFC822 size with CRLF");
    let r = imap.ok(&format!("UID FETCH {uid} (INTERNALDATE RFC822.SIZE)"));
    assert!(
        r[0].text.contains(&format!("RFC822.SIZE {}", m.imap_size)),
        "{r:?}"
    );
    // INBOX was untouched
    assert_eq!(imap.select("INBOX"), 0);

    // a second population into INBOX appends
    let p2 = servers.populate(ALICE.email, "INBOX", 50, 7);
    assert_eq!(p2.count, 50);
    assert_eq!(imap.select("INBOX"), 50);
}

#[test]
fn deliver_stores_bytes_as_given() {
    let servers = MailServers::start();
    let raw = b"From: Eve <eve@example.test>\nTo: bob@example.test\nSubject: delivered raw\nMessage-ID: <raw-1@example.test>\n\nbody line\n";
    servers.deliver(BOB.email, raw);
    servers.create_mailbox(BOB.email, "Projects/Tern");
    servers.deliver_to(BOB.email, "Projects/Tern", raw);
    let mut imap = servers.imap(BOB.email);
    assert!(imap.list().iter().any(|m| m == "Projects/Tern"));
    for mailbox in ["INBOX", "Projects/Tern"] {
        let uids = imap.uids(mailbox);
        assert_eq!(uids.len(), 1, "{mailbox}");
        let expected = String::from_utf8_lossy(raw).replace('\n', "\r\n");
        assert_eq!(
            String::from_utf8(imap.fetch_raw(mailbox, uids[0])).expect("utf8"),
            expected
        );
        assert!(imap.flags(mailbox, uids[0]).is_empty());
    }
}

#[tokio::test]
async fn pop3_plain_stls_and_pop3s() {
    let servers = MailServers::start();
    servers.deliver(ALICE.email, b"Subject: pop me\n\nhello pop\n");

    async fn line<S: AsyncRead + Unpin>(r: &mut BufReader<S>) -> String {
        let mut l = String::new();
        tokio::time::timeout(IO, r.read_line(&mut l))
            .await
            .expect("POP3 read timeout")
            .expect("POP3 read");
        l.trim_end().to_string()
    }
    async fn cmd<S: AsyncRead + AsyncWrite + Unpin>(r: &mut BufReader<S>, c: &str) -> String {
        r.get_mut()
            .write_all(format!("{c}\r\n").as_bytes())
            .await
            .expect("POP3 write");
        line(r).await
    }
    async fn login_stat<S: AsyncRead + AsyncWrite + Unpin>(r: &mut BufReader<S>) {
        assert!(cmd(r, "USER alice@example.test").await.starts_with("+OK"));
        assert!(cmd(r, "PASS alicepass").await.starts_with("+OK"));
        let stat = cmd(r, "STAT").await;
        assert!(stat.starts_with("+OK 1 "), "{stat}");
        assert!(cmd(r, "QUIT").await.starts_with("+OK"));
    }

    // plain port, STLS, login
    let tcp = TcpStream::connect((HOST, servers.pop3_port()))
        .await
        .expect("connect");
    let mut r = BufReader::new(tcp);
    assert!(line(&mut r).await.starts_with("+OK"));
    assert!(cmd(&mut r, "STLS").await.starts_with("+OK"));
    let tls = tokio_rustls::TlsConnector::from(servers.tls_client_config())
        .connect(client::server_name(), r.into_inner())
        .await
        .expect("STLS handshake");
    login_stat(&mut BufReader::new(tls)).await;

    // POP3S
    let tls = client::tls_connect(servers.pop3s_port(), servers.tls_client_config())
        .await
        .expect("POP3S handshake");
    let mut r = BufReader::new(tls);
    assert!(line(&mut r).await.starts_with("+OK"));
    login_stat(&mut r).await;
}

#[tokio::test]
async fn two_fixtures_side_by_side() {
    let t0 = Instant::now();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(MailServers::start);
        let b = s.spawn(MailServers::start);
        (a.join().expect("fixture a"), b.join().expect("fixture b"))
    });
    eprintln!(
        "two fixtures started in parallel in {:?} (a {:?}, b {:?})",
        t0.elapsed(),
        a.startup_time(),
        b.startup_time()
    );
    assert_ne!(a.base_dir(), b.base_dir());
    assert_ne!(a.instance_name(), b.instance_name());
    let (pa, pb) = (a.ports(), b.ports());
    let all = [
        pa.imap,
        pa.imaps,
        pa.pop3,
        pa.pop3s,
        pa.submission,
        pa.smtps,
        pa.smtp,
        pb.imap,
        pb.imaps,
        pb.pop3,
        pb.pop3s,
        pb.submission,
        pb.smtps,
        pb.smtp,
    ];
    let mut dedup = all.to_vec();
    dedup.sort_unstable();
    dedup.dedup();
    assert_eq!(dedup.len(), all.len(), "ports overlap: {pa:?} {pb:?}");

    // mail into each through its plain MX port (no AUTH), read back from each
    for (name, s) in [("a", &a), ("b", &b)] {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(HOST)
            .port(s.smtp_port())
            .timeout(Some(IO))
            .build();
        let msg = client::message(
            "someone@outside.example",
            &["bob@example.test"],
            &format!("for fixture {name}"),
            "tern smoke test",
        );
        send(&transport, msg)
            .await
            .unwrap_or_else(|e| panic!("{}", s.with_logs(&format!("MX send to {name}: {e}"))));
    }
    a.wait_for_subject(BOB.email, "INBOX", "for fixture a", WAIT);
    b.wait_for_subject(BOB.email, "INBOX", "for fixture b", WAIT);
    assert!(
        a.imap(BOB.email)
            .search("INBOX", "SUBJECT \"for fixture b\"")
            .is_empty()
    );
    assert!(
        b.imap(BOB.email)
            .search("INBOX", "SUBJECT \"for fixture a\"")
            .is_empty()
    );

    // dropping one leaves the other running
    let a_dir = a.base_dir().to_path_buf();
    let a_imap = a.imap_port();
    drop(a);
    assert!(!a_dir.exists(), "fixture dir not removed");
    assert!(
        std::net::TcpStream::connect((HOST, a_imap)).is_err(),
        "fixture a still listening"
    );
    assert_eq!(b.imap(BOB.email).select("INBOX"), 1);
}

#[tokio::test]
async fn outside_domains_end_in_the_sink() {
    let servers = MailServers::start();
    let subject = "to the outside world";
    let transport = client::smtp_transport(
        servers.submission_port(),
        Tls::Required(servers.lettre_tls()),
        ALICE.email,
        ALICE.password,
        IO,
    );
    send(
        &transport,
        client::message(
            "alice@example.test",
            &["Someone <someone@gmail.example>", "other@example.com"],
            subject,
            "tern smoke test",
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("{}", servers.with_logs(&format!("send: {e}"))));
    // both outside recipients are rewritten to the sink; Postfix drops the duplicate
    // recipient, so the sink gets one copy
    let uid = servers.wait_for_subject(SINK.email, "INBOX", subject, WAIT);
    let mut imap = servers.imap(SINK.email);
    let to = imap.header("INBOX", uid, "To").expect("To");
    assert!(to.contains("someone@gmail.example"), "{to}");
    assert!(to.contains("other@example.com"), "{to}");
    assert_eq!(imap.select("INBOX"), 1);
    // nothing for the real users
    assert_eq!(servers.imap(BOB.email).select("INBOX"), 0);

    // the plain MX port is no open relay
    let mx = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(HOST)
        .port(servers.smtp_port())
        .timeout(Some(IO))
        .build();
    let err = send(
        &mx,
        client::message(
            "x@outside.example",
            &["someone@gmail.example"],
            "relay?",
            "tern smoke test",
        ),
    )
    .await
    .expect_err("the MX port must not relay");
    assert_eq!(
        err.status().map(|c| c.to_string()).as_deref(),
        Some("554"),
        "{err:?}"
    );

    // nothing left in the queue, nothing bounced or deferred
    let deadline = Instant::now() + WAIT;
    while !servers.queue_is_empty() {
        assert!(
            Instant::now() < deadline,
            "{}",
            servers.with_logs(&format!("queue not empty:\n{}", servers.mail_queue()))
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = std::fs::read_to_string(servers.postfix_log_path()).expect("postfix log");
    assert!(!log.contains("status=bounced"), "{log}");
    assert!(!log.contains("status=deferred"), "{log}");
    assert!(
        log.contains("relay=") && log.contains("status=sent"),
        "{log}"
    );
}

#[tokio::test]
async fn servers_stop_and_start_again() {
    let servers = MailServers::start();
    servers.deliver(BOB.email, b"Subject: survives restarts\n\nx\n");

    let t0 = Instant::now();
    servers.stop_dovecot();
    let stop_d = t0.elapsed();
    assert!(!servers.dovecot_running());
    assert!(std::net::TcpStream::connect((HOST, servers.imap_port())).is_err());
    let t0 = Instant::now();
    servers.start_dovecot();
    let start_d = t0.elapsed();
    assert_eq!(servers.imap(BOB.email).select("INBOX"), 1);

    let t0 = Instant::now();
    servers.stop_postfix();
    let stop_p = t0.elapsed();
    assert!(!servers.postfix_running());
    assert!(std::net::TcpStream::connect((HOST, servers.submission_port())).is_err());
    let t0 = Instant::now();
    servers.start_postfix();
    let start_p = t0.elapsed();
    eprintln!(
        "dovecot stop {stop_d:?} start {start_d:?}; postfix stop {stop_p:?} start {start_p:?}"
    );

    let transport = client::smtp_transport(
        servers.submission_port(),
        Tls::Required(servers.lettre_tls()),
        ALICE.email,
        ALICE.password,
        IO,
    );
    send(
        &transport,
        client::message(
            "alice@example.test",
            &["bob@example.test"],
            "after restart",
            "tern smoke test",
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("{}", servers.with_logs(&format!("send: {e}"))));
    servers.wait_for_subject(BOB.email, "INBOX", "after restart", WAIT);
}
