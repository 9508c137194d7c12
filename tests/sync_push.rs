//! The long-running engine against the real Dovecot and Postfix: IDLE push, bodies on demand,
//! reconnecting after the server went away, and no retry storm after a wrong password.

mod harness;

use std::time::{Duration, Instant};

use harness::{ALICE, BOB, HOST, MailServers};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Tls;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tern::config::Config;
use tern::domain::{ConnState, MsgId};
use tern::store::{Store, StoreHandle};
use tern::worker::{Command, EngineHandle, Event, Timing};

/// The budget the issue sets for "new mail is in the cache and announced".
const PUSH_BUDGET: Duration = Duration::from_secs(2);
const WAIT: Duration = Duration::from_secs(30);
/// While a prefetch runs the engine is not in IDLE: it looks at INBOX between batches. Far less
/// than the prefetch itself takes (over 15 s in this test), with room for a loaded debug build.
const DURING_PREFETCH_BUDGET: Duration = Duration::from_secs(6);

struct Running {
    _dir: tempfile::TempDir,
    store: StoreHandle,
    engine: EngineHandle,
    events: tern::worker::EventReceiver,
}

impl Running {
    async fn start(servers: &MailServers, password: &str, timing: Timing) -> Running {
        Running::start_with(servers, password, timing, "").await
    }

    async fn start_with(
        servers: &MailServers,
        password: &str,
        timing: Timing,
        keys: &str,
    ) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let path = servers.write_tern_config_with(
            dir.path(),
            &ALICE,
            "tls",
            servers.imaps_port(),
            password,
            keys,
        );
        let cfg = Config::load(&path).unwrap();
        let store = StoreHandle::open_in_dir(&cfg.data_dir).unwrap();
        let (tx, events) = tern::worker::events();
        let (engine, _task) =
            tern::runtime::start_worker(cfg.accounts[0].clone(), store.clone(), tx, timing)
                .await
                .unwrap();
        Running {
            _dir: dir,
            store,
            engine,
            events,
        }
    }

    /// Wait (bounded) for an event matching `pred`; panics with the events seen on timeout.
    async fn until(&mut self, what: &str, limit: Duration, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) if pred(&e) => return e,
                Ok(Some(e)) => seen.push(e),
                Ok(None) => panic!("engine stopped while waiting for {what}; events: {seen:?}"),
                Err(_) => panic!("no {what} within {limit:?}; events: {seen:?}"),
            }
        }
    }

    /// Wait (bounded) for the engine to announce a change in some mailbox.
    async fn mailbox_changed(&mut self, what: &str, limit: Duration) {
        self.until(what, limit, |e| {
            matches!(
                e,
                Event::Changed {
                    mailbox: Some(_),
                    ..
                }
            )
        })
        .await;
    }

    async fn online(&mut self) {
        self.until("online state", WAIT, |e| {
            matches!(
                e,
                Event::State {
                    state: ConnState::Online,
                    ..
                }
            )
        })
        .await;
    }

    async fn subjects(&self) -> Vec<String> {
        self.store
            .call(|s| {
                let mb = inbox(s)?;
                Ok(s.envelopes(mb, 0, 100_000)?
                    .into_iter()
                    .map(|e| e.subject)
                    .collect())
            })
            .await
            .unwrap()
    }

    async fn inbox_uids(&self) -> Vec<u32> {
        self.store
            .call(|s| {
                let mb = inbox(s)?;
                s.uids(mb)
            })
            .await
            .unwrap()
    }
}

/// The cached INBOX of the test account.
fn inbox(s: &Store) -> tern::store::Result<tern::domain::MailboxId> {
    let a = s.account_id("alice")?.expect("account cached");
    Ok(s.mailbox_id(a, "INBOX")?.expect("INBOX cached"))
}

fn raw(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_submitted_to_postfix_reaches_the_cache_through_idle() {
    let servers = MailServers::start();
    servers.deliver(ALICE.email, &raw("already-there", "x"));
    let mut r = Running::start(&servers, ALICE.password, Timing::default()).await;
    r.online().await;
    assert_eq!(r.subjects().await, ["already-there"]);

    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(HOST)
        .port(servers.submission_port())
        .tls(Tls::Required(servers.lettre_tls()))
        .credentials(Credentials::new(BOB.email.into(), BOB.password.into()))
        .timeout(Some(WAIT))
        .build();
    let msg = Message::builder()
        .from(BOB.email.parse::<Mailbox>().unwrap())
        .to(ALICE.email.parse::<Mailbox>().unwrap())
        .subject("pushed through IDLE")
        .body("hello".to_string())
        .unwrap();
    tokio::time::timeout(WAIT, transport.send(msg))
        .await
        .unwrap()
        .unwrap();
    let sent = Instant::now();
    // Change events also come from the body prefetch: wait until the pushed mail is cached.
    while !r
        .subjects()
        .await
        .contains(&"pushed through IDLE".to_string())
    {
        let left = PUSH_BUDGET.saturating_sub(sent.elapsed());
        r.mailbox_changed("the INBOX change", left).await;
    }
    eprintln!("accepted by Postfix -> in the cache: {:?}", sent.elapsed());
    assert!(
        r.subjects()
            .await
            .contains(&"pushed through IDLE".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flag_changes_by_another_client_arrive_without_a_command_and_bodies_download_on_demand() {
    let servers = MailServers::start();
    servers.deliver(
        ALICE.email,
        &raw("needle", "the haystack holds a zanzibar word"),
    );
    let mut r = Running::start_with(
        &servers,
        ALICE.password,
        Timing::default(),
        "offline = \"headers\"",
    )
    .await;
    r.online().await;

    servers.doveadm(&[
        "flags",
        "add",
        "-u",
        ALICE.email,
        "\\Flagged",
        "mailbox",
        "INBOX",
        "uid",
        "1",
    ]);
    r.mailbox_changed("the flag change", PUSH_BUDGET).await;
    let flagged = r
        .store
        .call(|s| {
            let mb = inbox(s)?;
            Ok(s.envelopes(mb, 0, 1)?[0].flags.flagged)
        })
        .await
        .unwrap();
    assert!(flagged);

    // Header sync keeps no body; asking for it downloads and indexes it.
    let msg: MsgId = r
        .store
        .call(|s| {
            let mb = inbox(s)?;
            Ok(s.envelopes(mb, 0, 1)?[0].id)
        })
        .await
        .unwrap();
    assert!(
        r.store
            .call(move |s| s.raw_message(msg))
            .await
            .unwrap()
            .is_none()
    );
    r.engine.send(Command::FetchBody { msg });
    r.until("the body", WAIT, |e| *e == Event::BodyFetched { msg })
        .await;
    assert!(
        r.store
            .call(move |s| s.raw_message(msg))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        r.store.call(|s| s.fts_ids("zanzibar", 10)).await.unwrap(),
        [msg]
    );
    // The body was fetched with PEEK: the message is still unread on the server.
    assert!(
        !servers
            .imap(ALICE.email)
            .flags("INBOX", 1)
            .iter()
            .any(|f| f == "\\Seen")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dovecot_stopped_mid_sync_the_engine_reconnects_and_finishes() {
    let servers = MailServers::start();
    servers.populate(ALICE.email, "INBOX", 8_000, 9);
    let timing = Timing {
        backoff_max: Duration::from_secs(2),
        ..Timing::default()
    };
    let mut r = Running::start(&servers, ALICE.password, timing).await;
    r.until(
        "sync progress",
        WAIT,
        |e| matches!(e, Event::State { state: ConnState::Syncing { done, .. }, .. } if *done >= 50),
    )
    .await;
    servers.crash_dovecot();
    r.until("the offline state", WAIT, |e| {
        matches!(
            e,
            Event::State {
                state: ConnState::Offline(_),
                ..
            }
        )
    })
    .await;
    let partial = r.inbox_uids().await.len();
    assert!(
        partial < 8_000,
        "the sync was really interrupted ({partial} rows)"
    );
    servers.start_dovecot();
    r.engine.send(Command::SyncNow);
    r.online().await;
    let uids = r.inbox_uids().await;
    assert_eq!(uids.len(), 8_000, "no missing rows");
    assert_eq!(
        uids,
        (1..=8_000).collect::<Vec<u32>>(),
        "no duplicates, nothing missing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_reported_once_and_not_retried() {
    let servers = MailServers::start();
    let mut r = Running::start(&servers, "wrong", Timing::default()).await;
    let e = r
        .until("the failure", WAIT, |e| {
            matches!(
                e,
                Event::State {
                    state: ConnState::Failed(_),
                    ..
                }
            )
        })
        .await;
    let Event::State {
        state: ConnState::Failed(why),
        ..
    } = e
    else {
        unreachable!()
    };
    assert!(why.contains("authentication failed"), "{why}");
    // No retry storm: the engine waits for the user. Nothing at all may arrive here.
    let quiet = tokio::time::timeout(Duration::from_secs(3), r.events.recv()).await;
    assert!(
        quiet.is_err(),
        "unexpected event after an auth failure: {quiet:?}"
    );
    let failures = std::fs::read_to_string(servers.dovecot_log_path())
        .unwrap()
        .matches("auth failed")
        .count()
        .max(
            std::fs::read_to_string(servers.dovecot_log_path())
                .unwrap()
                .matches("Authentication failed")
                .count(),
        );
    assert_eq!(failures, 1, "{}", servers.logs());
    // Asking again retries once.
    r.engine.send(Command::SyncNow);
    r.until("a second failure", WAIT, |e| {
        matches!(
            e,
            Event::State {
                state: ConnState::Failed(_),
                ..
            }
        )
    })
    .await;
    r.engine.send(Command::Shutdown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_prefetched_and_readable_offline() {
    let servers = MailServers::start();
    servers.populate(ALICE.email, "INBOX", 300, 11);
    servers.deliver(
        ALICE.email,
        &raw("marker", "a body with the word quokka in it"),
    );
    let mut r = Running::start(&servers, ALICE.password, Timing::default()).await;
    r.online().await;
    // Each prefetched batch is announced; wait until nothing is missing.
    let missing = |store: StoreHandle| async move {
        store
            .call(|s| {
                let mb = inbox(s)?;
                Ok(s.bodies_missing(mb, u64::MAX, 1000)?.len())
            })
            .await
            .unwrap()
    };
    while missing(r.store.clone()).await > 0 {
        r.mailbox_changed("a prefetched batch", WAIT).await;
    }
    // The server goes away: every message is still readable, and its body is searchable.
    servers.crash_dovecot();
    let ids: Vec<MsgId> = r
        .store
        .call(|s| {
            let mb = inbox(s)?;
            Ok(s.envelopes(mb, 0, 1000)?
                .into_iter()
                .map(|e| e.id)
                .collect())
        })
        .await
        .unwrap();
    assert_eq!(ids.len(), 301);
    for id in ids {
        assert!(
            r.store
                .call(move |s| s.raw_message(id))
                .await
                .unwrap()
                .is_some(),
            "{id:?}"
        );
    }
    assert_eq!(
        r.store
            .call(|s| s.fts_ids("quokka", 10))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_folders_are_checked_on_the_configured_interval() {
    let servers = MailServers::start();
    servers.create_mailbox(ALICE.email, "Lists/rust");
    // An account with a 10 s interval (the config's minimum).
    let dir = tempfile::tempdir().unwrap();
    let path = servers.write_tern_config(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
    );
    MailServers::add_imap_keys(&path, "poll_interval = \"10s\"");
    let cfg = Config::load(&path).unwrap();
    let store = StoreHandle::open_in_dir(&cfg.data_dir).unwrap();
    let (tx, mut events) = tern::worker::events();
    let timing = Timing::for_account(&cfg.accounts[0]);
    assert_eq!(timing.poll_interval, Duration::from_secs(10));
    let (_engine, _task) =
        tern::runtime::start_worker(cfg.accounts[0].clone(), store.clone(), tx, timing)
            .await
            .unwrap();
    loop {
        match tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            Event::State {
                state: ConnState::Online,
                ..
            } => break,
            _ => continue,
        }
    }
    // Mail lands in a folder nobody IDLEs on: the next interval pass finds it.
    servers.deliver_to(ALICE.email, "Lists/rust", &raw("list-post", "x"));
    let delivered = Instant::now();
    let count = || {
        store.call(|s| {
            let a = s.account_id("alice")?.unwrap();
            let mb = s.mailbox_id(a, "Lists/rust")?.unwrap();
            s.message_count(mb)
        })
    };
    while count().await.unwrap() == 0 {
        let left = Duration::from_secs(25).saturating_sub(delivered.elapsed());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(_)) => {}
            other => panic!("the interval pass never found the new mail: {other:?}"),
        }
    }
    assert!(delivered.elapsed() <= Duration::from_secs(25));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mail_arrives_while_a_long_body_prefetch_runs() {
    let servers = MailServers::start();
    servers.populate(ALICE.email, "INBOX", 10_000, 12);
    let mut r = Running::start(&servers, ALICE.password, Timing::default()).await;
    r.online().await;
    servers.deliver(ALICE.email, &raw("during-prefetch", "x"));
    let delivered = Instant::now();
    while !r.subjects().await.contains(&"during-prefetch".to_string()) {
        let left = DURING_PREFETCH_BUDGET.saturating_sub(delivered.elapsed());
        r.mailbox_changed("the new mail", left).await;
    }
    let still_missing = r
        .store
        .call(|s| {
            let mb = inbox(s)?;
            Ok(s.bodies_missing(mb, u64::MAX, 1)?.len())
        })
        .await
        .unwrap();
    assert_eq!(
        still_missing, 1,
        "the prefetch was still running when the mail arrived"
    );
}

/// (uid, seen) of every cached message in a mailbox, ascending by uid.
async fn cached(store: &StoreHandle, name: &'static str) -> Vec<(u32, bool)> {
    store
        .call(move |s| {
            let a = s.account_id("alice")?.unwrap();
            let mb = s.mailbox_id(a, name)?.unwrap();
            let mut rows: Vec<(u32, bool)> = s
                .envelopes(mb, 0, u32::MAX)?
                .into_iter()
                .map(|e| (e.uid.0, e.flags.seen))
                .collect();
            rows.sort();
            Ok(rows)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expunges_flags_and_new_mail_in_inbox_and_the_open_folder_arrive_within_two_seconds() {
    let servers = MailServers::start();
    servers.create_mailbox(ALICE.email, "Lists/rust");
    for i in 1..=3 {
        servers.deliver(ALICE.email, &raw(&format!("inbox-{i}"), "x"));
    }
    for i in 1..=2 {
        servers.deliver_to(ALICE.email, "Lists/rust", &raw(&format!("list-{i}"), "x"));
    }
    // The interval pass is far away: only push can bring these changes in time.
    let mut r = Running::start_with(
        &servers,
        ALICE.password,
        Timing::default(),
        "offline = \"headers\"",
    )
    .await;
    r.online().await;
    assert_eq!(
        cached(&r.store, "Lists/rust").await,
        [(1, false), (2, false)]
    );
    let lists = r
        .store
        .call(|s| {
            let a = s.account_id("alice")?.unwrap();
            Ok(s.mailbox_id(a, "Lists/rust")?.unwrap())
        })
        .await
        .unwrap();
    // The user opens Lists/rust: the engine IDLEs on it over a second connection.
    r.engine.send(Command::Watch {
        mailbox: Some(lists),
    });
    let expunge = |mailbox: &str, uid: &str| {
        servers.doveadm(&["expunge", "-u", ALICE.email, "mailbox", mailbox, "uid", uid]);
    };
    let seen = |mailbox: &str, uid: &str| {
        servers.doveadm(&[
            "flags",
            "add",
            "-u",
            ALICE.email,
            "\\Seen",
            "mailbox",
            mailbox,
            "uid",
            uid,
        ]);
    };
    expunge("INBOX", "1");
    seen("INBOX", "3");
    seen("Lists/rust", "1");
    expunge("Lists/rust", "2");
    servers.deliver_to(ALICE.email, "Lists/rust", &raw("list-3", "x"));
    let changed = Instant::now();
    let want_inbox = [(2, false), (3, true)];
    let want_lists = [(1, true), (3, false)];
    loop {
        let (inbox, lists) = (
            cached(&r.store, "INBOX").await,
            cached(&r.store, "Lists/rust").await,
        );
        if inbox == want_inbox && lists == want_lists {
            break;
        }
        let left = PUSH_BUDGET.saturating_sub(changed.elapsed());
        match tokio::time::timeout(left, r.events.recv()).await {
            Ok(Some(_)) => {}
            other => panic!(
                "not pushed within {PUSH_BUDGET:?} ({other:?}): INBOX {inbox:?}, Lists/rust {lists:?}"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_limit_the_text_is_kept_offline_without_the_attachment() {
    let servers = MailServers::start();
    // 9.5 MiB of attachment behind a short text, with a 100 KiB offline limit: opened, it
    // comes in three pieces of BODY_PIECE (4 MiB).
    let blob: String = (0..19 * 512 * 1024 / 78)
        .map(|i| format!("{:076}\r\n", i))
        .collect();
    let big = format!(
        "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: big one\r\n\
         Message-ID: <big@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nthe wombat report is attached\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n\
         Content-Disposition: attachment; filename=\"data.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{blob}--b--\r\n"
    );
    servers.deliver(ALICE.email, big.as_bytes());
    servers.deliver(ALICE.email, &raw("small", "a small one"));
    let mut r = Running::start_with(
        &servers,
        ALICE.password,
        Timing::default(),
        "offline_attachment_limit = \"100 KiB\"",
    )
    .await;
    r.online().await;
    let find = |store: StoreHandle| async move {
        store
            .call(|s| {
                let mb = inbox(s)?;
                let e = s
                    .envelopes(mb, 0, 10)?
                    .into_iter()
                    .find(|e| e.subject == "big one")
                    .unwrap();
                Ok((e.id, e.has_attachments, s.raw_message(e.id)?))
            })
            .await
            .unwrap()
    };
    while find(r.store.clone()).await.2.is_none() {
        r.mailbox_changed("a prefetched batch", WAIT).await;
    }
    let (id, has_attachments, raw) = find(r.store.clone()).await;
    let raw = raw.unwrap();
    // The text, searchable, without the attachment; the attachment mark from BODYSTRUCTURE stays.
    assert!(raw.len() < 300 * 1024, "{} bytes kept", raw.len());
    assert!(has_attachments);
    assert!(r.store.call(move |s| s.body_is_partial(id)).await.unwrap());
    assert_eq!(
        r.store.call(|s| s.fts_ids("wombat", 10)).await.unwrap(),
        [id]
    );
    // Opened by the user: the whole message replaces the text.
    r.engine.send(Command::FetchBody { msg: id });
    r.until("the whole message", WAIT, |e| {
        *e == Event::BodyFetched { msg: id }
    })
    .await;
    let (_, _, raw) = find(r.store.clone()).await;
    let raw = raw.unwrap();
    // Byte for byte (delivery only adds header fields at the top).
    let body = &big[big.find("\r\n\r\n").unwrap()..];
    assert!(raw.ends_with(body.as_bytes()), "{} bytes", raw.len());
    assert!(raw.len() - big.len() < 2048, "{} bytes", raw.len());
    assert!(!r.store.call(move |s| s.body_is_partial(id)).await.unwrap());
}

/// Wait (bounded) for an engine state matching `pred`.
async fn wait_state(
    events: &mut tern::worker::EventReceiver,
    what: &str,
    pred: impl Fn(&ConnState) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::State { state, .. })) if pred(&state) => return,
            Ok(Some(_)) => {}
            other => panic!("no {what}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flag_changes_made_offline_survive_a_restart_and_reach_the_server() {
    use tern::domain::triage::FlagName;
    let servers = MailServers::start();
    for i in 1..=6 {
        servers.deliver(ALICE.email, &raw(&format!("m{i}"), "x"));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = servers.write_tern_config_with(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
        "offline = \"headers\"",
    );
    let cfg = Config::load(&path).unwrap();
    let store = StoreHandle::open_in_dir(&cfg.data_dir).unwrap();
    let (tx, mut events) = tern::worker::events();
    let (engine, task) = tern::runtime::start_worker(
        cfg.accounts[0].clone(),
        store.clone(),
        tx,
        Timing::default(),
    )
    .await
    .unwrap();
    wait_state(&mut events, "online", |s| *s == ConnState::Online).await;

    // The server goes away; the user keeps working.
    servers.stop_dovecot();
    wait_state(&mut events, "offline", |s| {
        matches!(s, ConnState::Offline(_))
    })
    .await;
    let by_uid = |uids: &'static [u32]| {
        store.call(move |s| {
            let mb = inbox(s)?;
            Ok(s.envelopes(mb, 0, 100)?
                .into_iter()
                .filter(|e| uids.contains(&e.uid.0))
                .map(|e| e.id)
                .collect::<Vec<MsgId>>())
        })
    };
    let flag = by_uid(&[1, 2, 3]).await.unwrap();
    let read = by_uid(&[4, 5]).await.unwrap();
    store
        .call(move |s| {
            s.set_flag(&flag, FlagName::Flagged, true)?;
            s.set_flag(&read, FlagName::Seen, true)
        })
        .await
        .unwrap();
    // The cache shows it at once.
    let flagged_now = store
        .call(|s| {
            let mb = inbox(s)?;
            Ok(s.envelopes(mb, 0, 100)?
                .iter()
                .filter(|e| e.flags.flagged)
                .count())
        })
        .await
        .unwrap();
    assert_eq!(flagged_now, 3);
    engine.send(Command::Replay);
    engine.send(Command::Shutdown);
    task.await.unwrap();

    // Back online, another client deletes message 5 before tern replays; then tern restarts.
    servers.start_dovecot();
    servers.doveadm(&["expunge", "-u", ALICE.email, "mailbox", "INBOX", "uid", "5"]);
    let (tx, mut events) = tern::worker::events();
    let (engine, _task) = tern::runtime::start_worker(
        cfg.accounts[0].clone(),
        store.clone(),
        tx,
        Timing::default(),
    )
    .await
    .unwrap();
    wait_state(&mut events, "online", |s| *s == ConnState::Online).await;
    let account = store
        .call(|s| Ok(s.account_id("alice")?.unwrap()))
        .await
        .unwrap();
    assert_eq!(
        store.call(move |s| s.pending(account)).await.unwrap(),
        [],
        "replayed before the first sync"
    );
    let mut imap = servers.imap(ALICE.email);
    for uid in 1..=3 {
        assert!(
            imap.flags("INBOX", uid).iter().any(|f| f == "\\Flagged"),
            "{uid}"
        );
    }
    assert!(imap.flags("INBOX", 4).iter().any(|f| f == "\\Seen"));
    assert!(imap.flags("INBOX", 6).is_empty());
    let log = store.call(|s| s.action_log(10)).await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].2.contains("already deleted"), "{log:?}");

    // Online: a change reaches the server as soon as the engine is told.
    let six = by_uid(&[6]).await.unwrap();
    store
        .call(move |s| s.set_flag(&six, FlagName::Flagged, true))
        .await
        .unwrap();
    engine.send(Command::Replay);
    let t = Instant::now();
    while !imap.flags("INBOX", 6).iter().any(|f| f == "\\Flagged") {
        assert!(t.elapsed() < WAIT, "the flag never reached the server");
        tokio::time::timeout(Duration::from_secs(1), events.recv())
            .await
            .ok();
    }
}
