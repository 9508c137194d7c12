//! The search fallback and POP3 against real Cyrus and Courier (Dovecot: tests/search.rs and
//! tests/pop3.rs).
//!
//! Search: in a folder synced with headers only, tern's server search (the engine's
//! `Command::Search`) finds exactly what the server's own UID SEARCH finds for a body word, a
//! phrase, `from:`, `subject:` with a non-ASCII word (sent with CHARSET UTF-8) and a word with
//! `-is:read`, mapped to the right cached messages; offline it answers at once that it could
//! not ask.
//!
//! POP3: a few dozen varied messages downloaded byte for byte (against the server's IMAP copy
//! of each) over STLS and over POP3S; a second poll downloads nothing; a message deleted
//! locally is not downloaded again; `leave_on_server = false` empties the server's mailbox.
//!
//! Both servers start in parallel; each runs in its own thread and runtime.

mod harness;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use harness::{ALICE, BOB, ImapError, ImapKind, ImapServer, TestImap, encode_word};
use tern::config::{AccountConfig, Config};
use tern::domain::search::{MailboxCtx, imap_criteria, parse};
use tern::domain::{ConnState, MsgId, Role};
use tern::pop3::fetch::{FetchSummary, fetch_once};
use tern::store::StoreHandle;
use tern::worker::{Command, Event, Timing};

/// The most any wait for a server or the engine may take.
const WAIT: Duration = Duration::from_secs(30);
/// Generated messages per mailbox.
const N: usize = 36;

/// Runs `body` for Cyrus and for Courier, each in its own thread with its own runtime.
fn on_cyrus_and_courier<F, Fut>(body: F)
where
    F: Fn(ImapServer) -> Fut + Sync,
    Fut: std::future::Future<Output = ()>,
{
    let servers = ImapServer::start_many(&[ImapKind::Cyrus, ImapKind::Courier]);
    std::thread::scope(|s| {
        let handles: Vec<_> = servers
            .into_iter()
            .map(|server| {
                let body = &body;
                s.spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap()
                        .block_on(body(server))
                })
            })
            .collect();
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}

/// A hand-made message (CRLF), its subject unique and RFC 2047-encoded (Cyrus turns every
/// 8-bit byte of a raw UTF-8 header into an X at delivery, `munge8bit`).
fn raw(from: &str, subject: &str, body: &str) -> Vec<u8> {
    let id: String = subject
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect();
    format!(
        "From: {from}\r\nTo: alice@example.test\r\nSubject: {}\r\n\
         Message-ID: <{id}.{}@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        encode_word(subject),
        subject.len()
    )
    .into_bytes()
}

/// `UID SEARCH criteria` in INBOX, or the server's refusal.
fn server_search(imap: &mut TestImap, criteria: &str) -> Result<BTreeSet<u32>, ImapError> {
    // EXAMINE rescans: Courier sees new Maildir files only then.
    imap.select("INBOX");
    Ok(imap
        .command(&format!("UID SEARCH {criteria}"))?
        .iter()
        .filter_map(|u| u.text.strip_prefix("* SEARCH"))
        .flat_map(|s| s.split_whitespace().filter_map(|n| n.parse().ok()))
        .collect())
}

/// UID -> the whole message as the server holds it (one `UID FETCH 1:* BODY.PEEK[]`).
fn server_messages(imap: &mut TestImap) -> BTreeMap<u32, Vec<u8>> {
    if imap.select("INBOX") == 0 {
        return BTreeMap::new();
    }
    imap.ok("UID FETCH 1:* (UID BODY.PEEK[])")
        .into_iter()
        .filter_map(|u| {
            let i = u.text.find("UID ")? + 4;
            let uid = u.text[i..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            Some((uid, u.literals.into_iter().next()?))
        })
        .collect()
}

fn message_id(raw: &[u8]) -> String {
    tern::domain::message::parse(raw)
        .meta
        .message_id
        .unwrap_or_else(|| {
            panic!(
                "no Message-ID: {:?}",
                String::from_utf8_lossy(&raw[..raw.len().min(600)])
            )
        })
}
async fn server_search_fallback(mut server: ImapServer) {
    let started = Instant::now();
    let name = server.name();
    server.populate_inbox(ALICE.email, N, 7);
    let extra = [
        raw(
            "Carol <carol@corp.example>",
            "Grüße aus München 1",
            "bis bald",
        ),
        raw(
            "Zoë <zoe@posta.example>",
            "Grüße aus München 2",
            "quick turnaround",
        ),
        raw(
            "Carol <carol@corp.example>",
            "Ausflug nach München",
            "quick turnaround",
        ),
        raw(
            "Dave <dave@null.example>",
            "no umlaut in Munchen",
            "turnaround time",
        ),
    ];
    for m in &extra {
        server.deliver(ALICE.email, m);
    }
    let total = N + extra.len();
    // Every other message read, before tern first syncs.
    let mut imap = server.imap(ALICE.email);
    let uids = imap.uids("INBOX");
    assert_eq!(uids.len(), total, "{name}: delivered");
    let odd: Vec<String> = uids.iter().step_by(2).map(u32::to_string).collect();
    imap.ok("SELECT INBOX");
    imap.ok(&format!(
        "UID STORE {} +FLAGS.SILENT (\\Seen)",
        odd.join(",")
    ));
    // UID -> subject, as the server holds it.
    let subjects: BTreeMap<u32, String> = server_messages(&mut imap)
        .into_iter()
        .map(|(uid, raw)| (uid, tern::domain::message::parse(&raw).meta.subject))
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let path = server.write_tern_config_with(
        dir.path(),
        &ALICE,
        "tls",
        server.imaps_port(),
        "offline = \"headers\"",
        "",
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
    // Headers synced; no body is.
    let deadline = tokio::time::Instant::now() + WAIT;
    let inbox = loop {
        let bare = store.call(|s| s.headers_only(&[])).await.unwrap();
        if let Some(b) = bare
            .iter()
            .find(|b| b.name == "INBOX" && b.missing as usize == total)
        {
            break b.clone();
        }
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(_)) => {}
            other => panic!("{name}: the headers never all arrived: {other:?}"),
        }
    };
    assert!(inbox.imap);
    let ctx = MailboxCtx {
        account: &inbox.account_name,
        name: &inbox.name,
        role: inbox.role.as_deref(),
    };
    let queries = [
        ("body:turnaround", "BODY turnaround"),
        ("\"quick turnaround\"", "TEXT \"quick turnaround\""),
        ("from:carol", "FROM carol"),
        ("subject:München", "CHARSET UTF-8 SUBJECT \"München\""),
        ("turnaround -is:read", "TEXT turnaround UNSEEN"),
    ];
    for (req, (query, criteria)) in (1..).zip(queries) {
        let label = format!("{name}: {query}");
        let q = parse(query, chrono::Utc::now().timestamp(), 0).unwrap();
        let c = imap_criteria(&q, &ctx).unwrap().unwrap();
        let req = tern::domain::RequestId(req);
        engine.send(Command::Search {
            req,
            mailboxes: vec![(inbox.mailbox, c.clone())],
        });
        let (found, error) = harness::account::searched(&mut events, req, WAIT).await;
        let theirs = match server_search(&mut imap, criteria) {
            Ok(uids) => uids,
            Err(refused) => {
                // The server refuses the criteria: tern says so, finds nothing and stays up.
                eprintln!("{label}: the server refuses {criteria}: {refused}; tern: {error:?}");
                assert!(found.is_empty(), "{label}: {found:?}");
                let error = error.unwrap_or_else(|| panic!("{label}: no error reported"));
                assert!(error.starts_with("INBOX: "), "{label}: {error}");
                continue;
            }
        };
        assert_eq!(error, None, "{label} ({c})");
        assert!(!theirs.is_empty(), "{label}: {criteria} finds something");
        let ids = found.clone();
        let ours: BTreeMap<u32, String> = store
            .call(move |s| {
                Ok(s.envelopes_by_ids(&ids)?
                    .into_iter()
                    .map(|e| (e.uid.0, e.subject))
                    .collect())
            })
            .await
            .unwrap();
        assert_eq!(found.len(), ours.len(), "{label}: one message per UID");
        assert_eq!(
            ours.keys().copied().collect::<BTreeSet<u32>>(),
            theirs,
            "{label} ({c}) vs {criteria}"
        );
        for (uid, subject) in &ours {
            assert_eq!(subject, &subjects[uid], "{label}: UID {uid}");
        }
        if c.starts_with("SUBJECT") {
            // The UTF-8 word really was compared (not dropped, not folded to ASCII).
            let mut found: Vec<&str> = ours.values().map(String::as_str).collect();
            found.retain(|s| s.contains("München") && !s.contains('#'));
            found.sort_unstable();
            let want = [
                "Ausflug nach München",
                "Grüße aus München 1",
                "Grüße aus München 2",
            ];
            assert_eq!(found, want, "{label}");
        }
    }
    // Offline: the engine answers at once that it could not ask.
    server.stop();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::State {
                state: ConnState::Offline(_),
                ..
            })) => break,
            Ok(Some(_)) => {}
            other => panic!("{name}: the engine never went offline: {other:?}"),
        }
    }
    engine.send(Command::Search {
        req: tern::domain::RequestId(99),
        mailboxes: vec![(inbox.mailbox, "TEXT x".into())],
    });
    let (found, error) =
        harness::account::searched(&mut events, tern::domain::RequestId(99), WAIT).await;
    assert!(found.is_empty());
    assert_eq!(error.as_deref(), Some("offline"), "{name}");
    engine.send(Command::Shutdown);
    tokio::time::timeout(WAIT, task)
        .await
        .expect("the engine stops")
        .unwrap();
    eprintln!("{name}: search done in {:?}", started.elapsed());
}

#[test]
fn server_search_on_cyrus_and_courier_finds_what_their_own_search_finds() {
    on_cyrus_and_courier(server_search_fallback);
}

/// A POP3 account of bob's on one server, with its own cache.
struct Pop3Client {
    _dir: tempfile::TempDir,
    account: AccountConfig,
    store: StoreHandle,
}

impl Pop3Client {
    fn new(server: &ImapServer, security: &str, port: u16, keys: &str) -> Pop3Client {
        let dir = tempfile::tempdir().unwrap();
        let path = server.write_tern_pop3_config(dir.path(), &BOB, security, port, keys);
        let config = Config::load(&path).unwrap();
        let store = StoreHandle::open_in_dir(&config.data_dir).unwrap();
        Pop3Client {
            _dir: dir,
            account: config.accounts[0].clone(),
            store,
        }
    }

    async fn fetch(&self, label: &str) -> FetchSummary {
        tokio::time::timeout(WAIT, fetch_once(&self.account, &self.store, &|_| {}))
            .await
            .unwrap_or_else(|_| panic!("{label}: the poll took over {WAIT:?}"))
            .unwrap_or_else(|e| panic!("{label}: {e}"))
    }

    /// Message-ID -> (message, raw bytes) of every cached message in the INBOX.
    async fn inbox(&self) -> HashMap<String, (MsgId, Vec<u8>)> {
        self.store
            .call(|s| {
                let a = s.account_id("bob")?.expect("account cached");
                let inbox = s
                    .mailboxes(Some(a))?
                    .into_iter()
                    .find(|m| m.role == Some(Role::Inbox))
                    .expect("an INBOX")
                    .id;
                let mut out = HashMap::new();
                for e in s.envelopes(inbox, 0, u32::MAX)? {
                    let raw = s.raw_message(e.id)?.expect("POP3 mail has its body");
                    let id = message_id(&raw);
                    assert!(out.insert(id.clone(), (e.id, raw)).is_none(), "{id} twice");
                }
                Ok(out)
            })
            .await
            .unwrap()
    }
}

/// Every message the server holds is cached, byte for byte, and nothing else is.
async fn assert_same_bytes(label: &str, c: &Pop3Client, server: &HashMap<String, Vec<u8>>) {
    let cached = c.inbox().await;
    assert_eq!(cached.len(), server.len(), "{label}: messages cached");
    for (id, theirs) in server {
        let (_, ours) = cached
            .get(id)
            .unwrap_or_else(|| panic!("{label}: {id} missing"));
        assert!(
            ours == theirs,
            "{label}: {id} differs: {} bytes cached, {} on the server",
            ours.len(),
            theirs.len()
        );
    }
}

async fn pop3(server: ImapServer) {
    let started = Instant::now();
    let name = server.name();
    let generated = server.populate_inbox(BOB.email, N, 11);
    // Raw UTF-8 in a header (RFC 6532): Courier sends it as it is only in UTF-8 mode (RFC 6856),
    // else a stand-in; Cyrus stores Xs for its 8-bit bytes.
    server.deliver(
        BOB.email,
        "From: Zoë <zoe@posta.example>\r\nTo: bob@example.test\r\nSubject: Grüße\r\n\
         Message-ID: <utf8-header@example.test>\r\n\r\nbis bald\r\n"
            .as_bytes(),
    );
    let total = N + 1;
    let mut imap = server.imap(BOB.email);
    let on_server: HashMap<String, Vec<u8>> = server_messages(&mut imap)
        .into_values()
        .map(|raw| (message_id(&raw), raw))
        .collect();
    assert_eq!(on_server.len(), total, "{name}: delivered");
    for m in &generated {
        assert!(on_server.contains_key(&m.message_id), "{}", m.message_id);
    }

    // STLS on the plain port, mail left on the server (the default).
    let label = format!("{name} STLS");
    let c = Pop3Client::new(&server, "starttls", server.pop3_port(), "");
    let s = c.fetch(&label).await;
    assert_eq!(
        (s.on_server, s.new, s.retrieved, s.skipped, s.deleted),
        (total, total, total, 0, 0),
        "{label}: {s:?}"
    );
    assert_same_bytes(&label, &c, &on_server).await;
    let s = c.fetch(&label).await;
    assert_eq!(
        (s.on_server, s.new, s.retrieved, s.deleted),
        (total, 0, 0, 0),
        "{label}, second poll: {s:?}"
    );
    // Deleted locally: never downloaded again.
    let gone_id = &generated[3].message_id;
    let (gone, _) = c.inbox().await[gone_id].clone();
    c.store
        .call(move |s| s.expunge_messages(&[gone]).map(drop))
        .await
        .unwrap();
    let s = c.fetch(&label).await;
    assert_eq!(
        (s.on_server, s.new, s.retrieved),
        (total, 0, 0),
        "{label}, after a local delete: {s:?}"
    );
    let cached = c.inbox().await;
    assert_eq!(cached.len(), total - 1, "{label}");
    assert!(!cached.contains_key(gone_id), "{label}: {gone_id} is back");

    // POP3S into a fresh cache, emptying the server once stored.
    let label = format!("{name} POP3S");
    let c = Pop3Client::new(
        &server,
        "tls",
        server.pop3s_port(),
        "leave_on_server = false",
    );
    let s = c.fetch(&label).await;
    assert_eq!(
        (s.on_server, s.new, s.retrieved, s.deleted),
        (total, total, total, total),
        "{label}: {s:?}"
    );
    assert_same_bytes(&label, &c, &on_server).await;
    assert_eq!(imap.select("INBOX"), 0, "{label}: the server's INBOX");
    let s = c.fetch(&label).await;
    assert_eq!(
        (s.on_server, s.new, s.deleted),
        (0, 0, 0),
        "{label}, second poll: {s:?}"
    );
    assert_eq!(c.inbox().await.len(), total, "{label}");
    eprintln!("{name}: POP3 done in {:?}", started.elapsed());
}

#[test]
fn pop3_on_cyrus_and_courier_downloads_every_message_once_byte_for_byte() {
    on_cyrus_and_courier(pop3);
}
