//! Who really sent it, end to end: a set of spoofing tricks sent through the real Postfix
//! (submission, delivered by Dovecot's LMTP), synced into the cache by the account's engine
//! with their bodies, then opened as the reader opens them (`Cmd::LoadMessage` through
//! `execute_on`): each message's warnings and remote content are checked, and an honest
//! message gets none.

mod harness;

use std::time::Duration;

use harness::{ALICE, BOB, HOST, MailServers};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Tls;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tern::app::effects::execute_on;
use tern::app::msg::{Cmd, Msg};
use tern::config::Config;
use tern::domain::message::MessageView;
use tern::domain::search::parse;
use tern::domain::verdict::{Remote, Warning};
use tern::domain::{Address, RequestId};
use tern::store::{Store, StoreHandle};
use tern::worker::{self, Event, Timing};

const WAIT: Duration = Duration::from_secs(60);

/// The tricks: (subject, headers after Subject, HTML body or "" for a plain one).
fn tricks() -> Vec<(&'static str, String, &'static str)> {
    // paypal.com with a Cyrillic 'а' (U+0430), as its punycode.
    let homoglyph = url::Url::parse("http://p\u{430}ypal.com").unwrap();
    let homoglyph = homoglyph.host_str().unwrap().to_string();
    vec![
        (
            "spoof-name",
            "From: \"paypal.com\" <service@evil.example>\r\n".into(),
            "",
        ),
        (
            "spoof-via",
            "From: \"support@bank.com via\" <x@y.example>\r\n".into(),
            "",
        ),
        (
            "spoof-homoglyph",
            format!("From: PayPal <service@{homoglyph}>\r\n"),
            "",
        ),
        (
            "spoof-replyto",
            "From: Bank <news@bank.com>\r\nReply-To: claims@evil.example\r\n".into(),
            "",
        ),
        (
            "spoof-link",
            "From: Bank <news@bank.com>\r\n".into(),
            "<p>Sign in: <a href=\"http://evil/\">https://bank.com</a></p>\
             <img src=\"https://t.bank.com/o.gif\" width=\"1\" height=\"1\">\
             <img src=\"https://cdn.bank.com/logo.png\">\
             <img src=\"https://x.list-manage.com/track/open.php?u=1\">",
        ),
        (
            "spoof-honest",
            "From: PayPal <service@paypal.com>\r\n".into(),
            "<p>Your receipt: <a href=\"https://www.paypal.com/r/1\">paypal.com</a></p>",
        ),
    ]
}

fn raw(subject: &str, headers: &str, html: &str) -> String {
    let (ct, body) = if html.is_empty() {
        ("text/plain", "Please act now.\r\n")
    } else {
        ("text/html", html)
    };
    format!(
        "{headers}To: {}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.test>\r\n\
         Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: {ct}; charset=utf-8\r\n\r\n{body}\r\n",
        ALICE.email
    )
}

/// Sends each message through Postfix's submission port, as bob (the From headers lie).
async fn submit(servers: &MailServers) {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(HOST)
        .port(servers.submission_port())
        .tls(Tls::Required(servers.lettre_tls()))
        .credentials(Credentials::new(BOB.email.into(), BOB.password.into()))
        .timeout(Some(WAIT))
        .build();
    let envelope = Envelope::new(
        Some(BOB.email.parse().unwrap()),
        vec![ALICE.email.parse().unwrap()],
    )
    .unwrap();
    for (subject, headers, html) in tricks() {
        transport
            .send_raw(&envelope, raw(subject, &headers, html).as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{}", servers.with_logs(&format!("{subject}: {e}"))));
    }
}

/// Starts alice's engine (bodies kept offline), submits the tricks, and waits for the engine's
/// events until every one is in the cache with its body.
fn deliver_and_sync(servers: &MailServers, config: &Config) {
    let n = tricks().len();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = StoreHandle::open_in_dir(&config.data_dir).unwrap();
        let (tx, mut events) = worker::events();
        let (engine, task) = tern::runtime::start_worker(
            config.accounts[0].clone(),
            store.clone(),
            tx,
            Timing::default(),
        )
        .await
        .unwrap();
        submit(servers).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let cached = store
                .call(|s| {
                    let mut n = 0;
                    for e in s.search(&parse("larger:0", 0, 0).unwrap(), 1000)? {
                        n += usize::from(s.raw_message(e.id)?.is_some());
                    }
                    Ok(n)
                })
                .await
                .unwrap();
            if cached == n {
                break;
            }
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(Event::BodyFailed { msg, error })) => panic!("body of {msg:?}: {error}"),
                Ok(Some(_)) => {}
                other => panic!(
                    "{}",
                    servers.with_logs(&format!("only {cached}/{n} arrived: {other:?}"))
                ),
            }
        }
        engine.send(worker::Command::Shutdown);
        tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    });
}

/// The cached message with this subject, as the reader loads it.
fn open(store: &mut Store, subject: &str) -> MessageView {
    let found = store
        .search(&parse(&format!("subject:{subject}"), 0, 0).unwrap(), 10)
        .unwrap();
    let e = found
        .iter()
        .find(|e| e.subject == subject)
        .unwrap_or_else(|| panic!("{subject} not in {found:?}"));
    let cmd = Cmd::LoadMessage {
        req: RequestId(1),
        msg: e.id,
        width: 80,
    };
    match execute_on(store, cmd).unwrap() {
        Some(Msg::MessageLoaded { view: Some(v), .. }) => *v,
        other => panic!("{subject}: {other:?}"),
    }
}

#[test]
fn spoofing_tricks_through_postfix_and_dovecot_are_named_in_the_reader() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = servers.write_tern_config_with(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
        "offline = \"bodies\"",
    );
    let config = Config::load(&cfg).unwrap();
    deliver_and_sync(&servers, &config);

    let mut store = Store::open_in_dir(&config.data_dir).unwrap();
    // Alice wrote to PayPal: its domain is one she knows.
    store
        .note_sent_to(&[Address {
            name: None,
            email: "service@paypal.com".into(),
        }])
        .unwrap();

    let v = open(&mut store, "spoof-name");
    assert_eq!(
        v.warnings,
        [Warning::NameShowsOther {
            shown: "paypal.com".into(),
            actual: "evil.example".into()
        }]
    );
    let v = open(&mut store, "spoof-via");
    assert!(
        matches!(&v.warnings[..], [Warning::NameShowsOther { shown, .. }] if shown == "support@bank.com"),
        "{:?}",
        v.warnings
    );
    let v = open(&mut store, "spoof-homoglyph");
    let text: Vec<String> = v.warnings.iter().map(ToString::to_string).collect();
    assert!(
        matches!(v.warnings[0], Warning::Punycode { .. }),
        "{text:?}"
    );
    assert!(
        text.contains(&"Sender domain p\u{430}ypal.com looks like paypal.com, but is not".into()),
        "{text:?}"
    );
    let v = open(&mut store, "spoof-replyto");
    assert_eq!(
        v.warnings,
        [Warning::ReplyElsewhere {
            reply_to: "claims@evil.example".into(),
            from: "bank.com".into()
        }]
    );
    let v = open(&mut store, "spoof-link");
    assert_eq!(
        v.warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["Link shows bank.com but goes to evil"]
    );
    assert_eq!(
        v.signs.remote,
        Remote {
            resources: 3,
            trackers: 2
        }
    );
    let v = open(&mut store, "spoof-honest");
    assert_eq!(v.warnings, [], "{:?}", v.signs);
    assert_eq!(v.signs.remote, Remote::default());
}
