//! Search over a mailbox synced from the real Dovecot finds what the server's own SEARCH finds
//! for the same criteria; diacritics fold; expunged messages leave the results.

mod harness;

use std::collections::BTreeSet;
use std::time::Duration;

use harness::{ALICE, MailServers};
use tern::config::Config;
use tern::domain::search::parse;
use tern::store::StoreHandle;
use tern::worker::{Command, EngineHandle, Event, Timing};

const WAIT: Duration = Duration::from_secs(60);
const N: usize = 300;

/// UIDs of INBOX messages tern finds for `query`.
async fn ours(store: &StoreHandle, query: &str) -> BTreeSet<u32> {
    let q = parse(query, chrono::Utc::now().timestamp(), 0).unwrap();
    store
        .call(move |s| s.search(&q, 100_000))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.uid.0)
        .collect()
}

/// The engine of alice's account (offline = `offline`) on a cache in `dir`.
async fn start_engine(
    servers: &MailServers,
    dir: &std::path::Path,
    offline: &str,
) -> (
    StoreHandle,
    EngineHandle,
    tokio::task::JoinHandle<()>,
    tern::worker::EventReceiver,
) {
    let path = servers.write_tern_config_with(
        dir,
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
        &format!("offline = \"{offline}\""),
    );
    let cfg = Config::load(&path).unwrap();
    let store = StoreHandle::open_in_dir(&cfg.data_dir).unwrap();
    let (tx, events) = tern::worker::events();
    let (engine, task) = tern::runtime::start_worker(
        cfg.accounts[0].clone(),
        store.clone(),
        tx,
        Timing::default(),
    )
    .await
    .unwrap();
    (store, engine, task, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_search_matches_the_servers_search() {
    let servers = MailServers::start();
    servers.populate(ALICE.email, "INBOX", N, 5);
    let dir = tempfile::tempdir().unwrap();
    let (store, engine, task, mut events) = start_engine(&servers, dir.path(), "bodies").await;
    // Every body downloaded (and indexed) in the background.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let indexed: usize = store
            .call(|s| Ok(s.search(&parse("larger:0", 0, 0).unwrap(), 100_000)?.len()))
            .await
            .unwrap();
        let with_body = store
            .call(|s| {
                let ids: Vec<_> = s
                    .search(&parse("larger:0", 0, 0).unwrap(), 100_000)?
                    .into_iter()
                    .map(|e| e.id)
                    .collect();
                let mut n = 0;
                for id in ids {
                    n += usize::from(s.raw_message(id)?.is_some());
                }
                Ok(n)
            })
            .await
            .unwrap();
        if indexed == N && with_body == N {
            break;
        }
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::State { .. } | Event::Changed { .. })) | Ok(Some(_)) => {}
            other => panic!("bodies never all arrived ({with_body}/{N}): {other:?}"),
        }
    }

    let mut imap = servers.imap(ALICE.email);
    let theirs = |imap: &mut harness::TestImap, criteria: &str| -> BTreeSet<u32> {
        imap.search("INBOX", criteria).into_iter().collect()
    };
    for (query, criteria) in [
        ("subject:quarterly", "SUBJECT quarterly"),
        ("subject:lunch is:unread", "SUBJECT lunch UNSEEN"),
        ("from:carol", "FROM carol"),
        ("from:zoe", "FROM zoe"),
        ("is:flagged", "FLAGGED"),
        ("is:answered", "ANSWERED"),
        ("-is:read", "UNSEEN"),
        ("body:turnaround", "BODY turnaround"),
        ("larger:4000", "LARGER 4000"),
        ("smaller:2000", "SMALLER 2000"),
        (
            "subject:budget OR subject:roadmap",
            "OR SUBJECT budget SUBJECT roadmap",
        ),
        ("from:github -subject:bug", "FROM github NOT SUBJECT bug"),
    ] {
        let server = theirs(&mut imap, criteria);
        assert!(
            !server.is_empty() || criteria == "ANSWERED",
            "{criteria} finds something"
        );
        assert_eq!(ours(&store, query).await, server, "{query} vs {criteria}");
    }
    // Diacritics fold both ways; non-Latin scripts work.
    let munich = ours(&store, "subject:munchen").await;
    assert!(!munich.is_empty());
    assert_eq!(ours(&store, "subject:München").await, munich);
    assert_eq!(ours(&store, "subject:MÜNCHEN").await, munich);
    let cyrillic = ours(&store, "Встреча").await;
    assert!(!cyrillic.is_empty());

    // Expunged on the server: gone from the results once the engine applied it.
    let gone: Vec<u32> = theirs(&mut imap, "SUBJECT quarterly")
        .into_iter()
        .take(3)
        .collect();
    for uid in &gone {
        servers.doveadm(&[
            "expunge",
            "-u",
            ALICE.email,
            "mailbox",
            "INBOX",
            "uid",
            &uid.to_string(),
        ]);
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = ours(&store, "subject:quarterly").await;
        if gone.iter().all(|u| !now.contains(u)) {
            assert_eq!(now, theirs(&mut imap, "SUBJECT quarterly"));
            break;
        }
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(_)) => {}
            other => panic!("the expunges never arrived: {other:?}"),
        }
    }
    engine.send(Command::Shutdown);
    task.await.unwrap();
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_without_bodies_are_searched_on_the_server() {
    use tern::domain::search::{MailboxCtx, imap_criteria, needs_body};
    let servers = MailServers::start();
    servers.populate(ALICE.email, "INBOX", 120, 5);
    let dir = tempfile::tempdir().unwrap();
    let (store, engine, task, mut events) = start_engine(&servers, dir.path(), "headers").await;
    // Headers synced; no body is.
    let deadline = tokio::time::Instant::now() + WAIT;
    let inbox = loop {
        let bare = store.call(|s| s.headers_only(&[])).await.unwrap();
        if let Some(b) = bare.iter().find(|b| b.name == "INBOX" && b.missing == 120) {
            break b.clone();
        }
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(_)) => {}
            other => panic!("the headers never all arrived: {other:?}"),
        }
    };
    assert!(inbox.imap);
    let mut imap = servers.imap(ALICE.email);
    // The engine indexes their header fields in the background: diacritics fold there too.
    let umlaut: BTreeSet<u32> = imap
        .search("INBOX", "CHARSET UTF-8 SUBJECT \"München\"")
        .into_iter()
        .collect();
    assert!(!umlaut.is_empty());
    let deadline = tokio::time::Instant::now() + WAIT;
    while ours(&store, "subject:munchen").await != umlaut {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(_)) => {}
            // The engine idles once the index is done: poll the cache until the deadline.
            Err(_) => panic!("the header fields were never indexed"),
            Ok(None) => panic!("the engine stopped"),
        }
    }
    let ctx = MailboxCtx {
        account: &inbox.account_name,
        name: &inbox.name,
        role: inbox.role.as_deref(),
    };
    for (req, query, criteria) in [
        (1, "body:turnaround", "BODY turnaround"),
        (2, "turnaround -is:read", "TEXT turnaround UNSEEN"),
        (
            3,
            "München OR quarterly",
            "CHARSET UTF-8 OR TEXT \"München\" TEXT quarterly",
        ),
    ] {
        let q = parse(query, chrono::Utc::now().timestamp(), 0).unwrap();
        assert!(needs_body(&q));
        // The cache alone cannot see the text ...
        if req == 1 {
            assert!(ours(&store, query).await.is_empty());
        }
        // ... the server can: the engine asks it and maps its UIDs to cached messages.
        let c = imap_criteria(&q, &ctx).unwrap().unwrap();
        let req = tern::domain::RequestId(req);
        engine.send(Command::Search {
            req,
            mailboxes: vec![(inbox.mailbox, c)],
        });
        let (found, error) = harness::account::searched(&mut events, req, WAIT).await;
        assert_eq!(error, None);
        let ids = found.clone();
        let uids: BTreeSet<u32> = store
            .call(move |s| {
                Ok(s.envelopes_by_ids(&ids)?
                    .into_iter()
                    .map(|e| e.uid.0)
                    .collect())
            })
            .await
            .unwrap();
        let server: BTreeSet<u32> = imap.search("INBOX", criteria).into_iter().collect();
        assert!(!server.is_empty(), "{criteria} finds something");
        assert_eq!(uids, server, "{query}");
        assert_eq!(found.len(), server.len());
    }
    // Offline: the engine answers at once that it could not ask.
    servers.stop_dovecot();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::State {
                state: tern::domain::ConnState::Offline(_),
                ..
            })) => break,
            Ok(Some(_)) => {}
            other => panic!("the engine never went offline: {other:?}"),
        }
    }
    engine.send(Command::Search {
        req: tern::domain::RequestId(9),
        mailboxes: vec![(inbox.mailbox, "TEXT x".into())],
    });
    let (found, error) =
        harness::account::searched(&mut events, tern::domain::RequestId(9), WAIT).await;
    assert!(found.is_empty());
    assert_eq!(error.as_deref(), Some("offline"));
    engine.send(Command::Shutdown);
    task.await.unwrap();
}
