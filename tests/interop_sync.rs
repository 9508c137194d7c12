//! tern's sync engine against real Cyrus (CONDSTORE, QRESYNC, SPECIAL-USE, `/`, IDLE pushed
//! by idled) and Courier (none of those: full flag fetches, roles from `[account.folders]`,
//! `INBOX.` namespace with `.`; its IDLE is configured as a rescan every 2 s, yet pushed within
//! ~20 ms here, so the 30 s budget is a bound, not a wait): the initial sync, a resync after
//! another client's changes, push while the engine runs, and a folder recreated with a new
//! UIDVALIDITY. After every step the cache equals what the server holds (UIDs, subjects,
//! flags), read back over a separate connection.
//!
//! Each test starts both servers in parallel and runs each in its own thread and runtime.

mod harness;

use std::time::{Duration, Instant};

use harness::across::{ServerMsg, block_on, maildir_to_imap, message, messages, on_each, quote};
use harness::{ALICE, ImapKind, ImapServer, TestImap};
use tern::config::{AccountConfig, Config};
use tern::domain::{ConnState, Flags, Role};
use tern::store::StoreHandle;
use tern::sync::imap::Imap;
use tern::sync::pass::{self, Summary, SyncOptions};
use tern::worker::{Command, EngineHandle, Event, Timing};

const BOTH: [ImapKind; 2] = [ImapKind::Cyrus, ImapKind::Courier];
/// "Café" and "Café/Пример" in modified UTF-7, as Dovecot would name them.
const CAFE: (&str, &str) = ("Caf&AOk-", "Café");
const PRIMER: (&str, &str) = ("Caf&AOk-/&BB8EQAQ4BDwENQRA-", "Café/Пример");

/// A tern account on `server` with its cache.
struct Client {
    _dir: tempfile::TempDir,
    account: AccountConfig,
    store: StoreHandle,
}

impl Client {
    fn new(server: &ImapServer) -> Client {
        let dir = tempfile::tempdir().unwrap();
        let path = server.write_tern_config(dir.path(), &ALICE, "tls", server.imaps_port(), "");
        let cfg = Config::load(&path).unwrap();
        Client {
            store: StoreHandle::open_in_dir(&cfg.data_dir).unwrap(),
            account: cfg.accounts[0].clone(),
            _dir: dir,
        }
    }

    async fn connect(&self) -> Imap {
        pass::connect(&self.account).await.unwrap()
    }

    async fn sync(&self, imap: &mut Imap) -> Summary {
        pass::sync_connected(
            imap,
            &self.account,
            &self.store,
            &SyncOptions::default(),
            &|_| {},
        )
        .await
        .unwrap()
        .0
    }

    /// (decoded name, role, delimiter) of every cached mailbox, sorted.
    async fn mailboxes(&self) -> Vec<(String, Option<Role>, Option<char>)> {
        let mut out: Vec<_> = self
            .store
            .call(|s| s.mailboxes(None))
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.name, m.role, m.delimiter))
            .collect();
        out.sort();
        out
    }

    /// Every cached envelope of a mailbox (by decoded name), ascending by UID.
    async fn envelopes(&self, name: &str) -> Vec<tern::domain::Envelope> {
        let name = name.to_string();
        let mut rows = self
            .store
            .call(move |s| {
                let a = s.account_id("alice")?.unwrap();
                let mb = s
                    .mailbox_id(a, &name)?
                    .unwrap_or_else(|| panic!("{name} not cached"));
                s.envelopes(mb, 0, u32::MAX)
            })
            .await
            .unwrap();
        rows.sort_by_key(|e| e.uid.0);
        rows
    }

    /// The cache of a mailbox as [`messages`] reads the server.
    async fn rows(&self, name: &str) -> Vec<ServerMsg> {
        self.envelopes(name)
            .await
            .into_iter()
            .map(|e| ServerMsg {
                uid: e.uid.0,
                subject: e.subject,
                flags: imap_flags(&e.flags),
            })
            .collect()
    }

    /// Asserts that the cached `name` (decoded) equals the server's `wire` folder: the same
    /// UIDs with the same flags and subjects (the server's raw subject is compared only when
    /// it holds no encoded word).
    async fn agrees(&self, label: &str, check: &mut TestImap, name: &str, wire: &str) {
        let server = messages(check, wire);
        let cached = self.rows(name).await;
        let uids = |rows: &[ServerMsg]| rows.iter().map(|m| m.uid).collect::<Vec<_>>();
        assert_eq!(uids(&cached), uids(&server), "{label}: UIDs in {name}");
        let differ: Vec<_> = cached
            .iter()
            .zip(&server)
            .filter(|(c, s)| {
                c.flags != s.flags || (c.subject != s.subject && !s.subject.contains("=?"))
            })
            .take(5)
            .collect();
        assert!(
            differ.is_empty(),
            "{label}: the cache of {name} (cache, server): {differ:?}"
        );
    }
}

fn imap_flags(f: &Flags) -> Vec<String> {
    let mut out: Vec<String> = [
        (f.seen, "\\Seen"),
        (f.answered, "\\Answered"),
        (f.flagged, "\\Flagged"),
        (f.deleted, "\\Deleted"),
        (f.draft, "\\Draft"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| n.to_string())
    .chain(f.keywords.iter().cloned())
    .collect();
    out.sort();
    out
}

/// The decoded name tern should show for a folder named as Dovecot names it.
fn decoded(server: &ImapServer, folder: &str) -> String {
    server.folder_wire_name(folder)
}

fn select(check: &mut TestImap, wire: &str) {
    check.ok(&format!("SELECT {}", quote(wire)));
}

fn uidvalidity(check: &mut TestImap, wire: &str) -> u32 {
    let r = check.ok(&format!("STATUS {} (UIDVALIDITY)", quote(wire)));
    r.iter()
        .find_map(|u| {
            let rest = u.text.split_once("UIDVALIDITY ")?.1;
            rest.trim_end_matches(')').trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no UIDVALIDITY for {wire}: {r:?}"))
}

async fn initial_sync(server: &ImapServer) {
    let name = server.name();
    let started = Instant::now();
    // A few hundred varied messages in INBOX, some in a created folder, Archive and Sent, and
    // in two folders with non-ASCII names (one inside the other).
    let folders: [(&str, &str, usize); 6] = [
        ("INBOX", "INBOX", 300),
        ("Work", "Work", 40),
        ("Archive", "Archive", 20),
        ("Sent", "Sent", 10),
        (CAFE.0, CAFE.1, 5),
        (PRIMER.0, PRIMER.1, 5),
    ];
    for f in ["Work", CAFE.0, PRIMER.0] {
        server.create_wire(ALICE.email, &server.folder_wire_name(f));
    }
    let populated: Vec<_> = folders
        .iter()
        .enumerate()
        .map(|(i, (f, _, n))| {
            server.append_generated(ALICE.email, &server.folder_wire_name(f), *n, i as u64 + 1)
        })
        .collect();
    let filled = started.elapsed();

    let c = Client::new(server);
    let mut imap = c.connect().await;
    assert_eq!(imap.qresync(), name == "cyrus", "{name}: QRESYNC");
    let t = Instant::now();
    let s = c.sync(&mut imap).await;
    let synced = t.elapsed();
    assert_eq!(s.new, 380, "{name}: {s:?}");
    assert_eq!(s.removed, 0, "{name}: {s:?}");

    // Every folder cached under its decoded name, with the server's separator and the roles.
    let sep = if name == "cyrus" { '/' } else { '.' };
    let mut want: Vec<(String, Option<Role>, Option<char>)> = [
        ("INBOX", Some(Role::Inbox)),
        ("Drafts", Some(Role::Drafts)),
        ("Sent", Some(Role::Sent)),
        ("Trash", Some(Role::Trash)),
        ("Junk", Some(Role::Junk)),
        ("Archive", Some(Role::Archive)),
        ("Work", None),
        (CAFE.1, None),
        (PRIMER.1, None),
    ]
    .iter()
    .map(|(f, role)| (decoded(server, f), *role, Some(sep)))
    .collect();
    want.sort();
    assert_eq!(c.mailboxes().await, want, "{name}: the mailboxes");
    if name == "courier" {
        assert!(want.iter().any(|m| m.0 == "INBOX.Café.Пример"));
    }

    // Each message with its UID, decoded subject, sender and flags.
    let mut check = server.imap(ALICE.email);
    for ((f, shown, _), p) in folders.iter().zip(&populated) {
        let wire = server.folder_wire_name(f);
        let name_in_cache = decoded(server, shown);
        let rows = c.envelopes(&name_in_cache).await;
        let uids: Vec<u32> = rows.iter().map(|e| e.uid.0).collect();
        assert_eq!(uids, check.uids(&wire), "{name} {shown}: UIDs");
        assert_eq!(rows.len(), p.messages.len(), "{name} {shown}");
        for (e, g) in rows.iter().zip(&p.messages) {
            let at = format!("{name} {shown} uid {}", e.uid.0);
            assert_eq!(e.subject, g.subject, "{at}");
            assert_eq!(e.from.len(), 1, "{at}");
            assert_eq!(e.from[0].email, g.from, "{at}");
            assert_eq!(
                e.from[0].name.as_deref(),
                Some(g.from_name.as_str()),
                "{at}"
            );
            assert_eq!(
                imap_flags(&e.flags),
                maildir_to_imap(&g.maildir_flags),
                "{at}"
            );
        }
        // and the flags are the server's, not only the generator's
        c.agrees(name, &mut check, &name_in_cache, &wire).await;
    }
    let boxes = c.store.call(|s| s.mailboxes(None)).await.unwrap();
    let unread = boxes.iter().find(|m| m.name == "INBOX").unwrap().unread;
    assert_eq!(
        unread as usize,
        check.search("INBOX", "UNSEEN").len(),
        "{name}"
    );

    let again = c.sync(&mut imap).await;
    assert_eq!(
        (again.new, again.changed, again.removed),
        (0, 0, 0),
        "{name}: {again:?}"
    );
    imap.logout().await;
    eprintln!(
        "{name}: {filled:?} to fill, first sync {synced:?}, all {:?}",
        started.elapsed()
    );
}

#[test]
fn initial_sync_caches_every_message_folder_name_and_role_from_cyrus_and_courier() {
    on_each(&BOTH, |server| block_on(initial_sync(server)));
}

async fn resync(server: &ImapServer) {
    let name = server.name();
    let started = Instant::now();
    let mut check = server.imap(ALICE.email);
    for i in 1..=30 {
        let flags = if i % 3 == 0 { "\\Seen" } else { "" };
        check.append("INBOX", flags, &message(&format!("r-{i:02}")));
    }
    let c = Client::new(server);
    let mut imap = c.connect().await;
    assert_eq!(imap.condstore(), name == "cyrus", "{name}: CONDSTORE");
    let s = c.sync(&mut imap).await;
    assert_eq!(s.new, 30, "{name}: {s:?}");
    c.agrees(name, &mut check, "INBOX", "INBOX").await;

    // Another client sets and clears flags, expunges three, appends three and creates a
    // folder with a message.
    select(&mut check, "INBOX");
    check.ok("UID STORE 2,5 +FLAGS (\\Flagged)");
    check.ok("UID STORE 4 +FLAGS (\\Seen \\Answered $Label1)");
    check.ok("UID STORE 6,9 -FLAGS (\\Seen)");
    check.ok("UID STORE 10:12 +FLAGS (\\Deleted)");
    check.ok("EXPUNGE");
    for i in 1..=3 {
        check.append("INBOX", "", &message(&format!("n-{i}")));
    }
    let later = server.folder_wire_name("Later");
    server.create_wire(ALICE.email, &later);
    check.append(&later, "\\Flagged", &message("in-later"));
    let server_inbox = messages(&mut check, "INBOX");
    assert_eq!(server_inbox.len(), 30, "{name}: {server_inbox:?}");
    let keyword = server_inbox[3].flags.iter().any(|f| f == "$Label1");
    assert!(keyword, "{name} kept no keyword: {server_inbox:?}");

    let s = c.sync(&mut imap).await;
    assert_eq!((s.new, s.removed), (4, 3), "{name}: {s:?}");
    assert!(s.changed >= 5, "{name}: {s:?}");
    c.agrees(name, &mut check, "INBOX", "INBOX").await;
    c.agrees(name, &mut check, &later, &later).await;
    let boxes = c.mailboxes().await;
    assert!(boxes.iter().any(|m| m.0 == later), "{name}: {boxes:?}");

    // Nothing changed: nothing changes.
    let again = c.sync(&mut imap).await;
    assert_eq!(
        (again.new, again.changed, again.removed),
        (0, 0, 0),
        "{name}: {again:?}"
    );
    c.agrees(name, &mut check, "INBOX", "INBOX").await;
    imap.logout().await;
    eprintln!("{name}: resync in {:?}", started.elapsed());
}

#[test]
fn resync_brings_the_cache_to_another_clients_changes_on_cyrus_and_courier() {
    on_each(&BOTH, |server| block_on(resync(server)));
}

/// The engine actor running on a server, and its events.
struct Running {
    c: Client,
    engine: EngineHandle,
    events: tern::worker::EventReceiver,
    /// How long a push may take (Courier rescans every 2 s).
    budget: Duration,
}

impl Running {
    /// Waits (bounded by the budget) until the cached INBOX satisfies `done`, looking again at
    /// each change the engine announces. Returns how long it took.
    async fn until(&mut self, what: &str, done: impl Fn(&[ServerMsg]) -> bool) -> Duration {
        let t = Instant::now();
        let deadline = tokio::time::Instant::now() + self.budget;
        let mut seen = Vec::new();
        loop {
            let rows = self.c.rows("INBOX").await;
            if done(&rows) {
                return t.elapsed();
            }
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) => seen.push(e),
                Ok(None) => panic!("the engine stopped before {what}; events {seen:?}"),
                Err(_) => panic!(
                    "{what} not in the cache within {:?}; cache {rows:?}; events {seen:?}",
                    self.budget
                ),
            }
        }
    }
}

async fn push(server: &ImapServer) {
    let name = server.name();
    let mut check = server.imap(ALICE.email);
    check.append("INBOX", "", &message("already-there"));
    let c = Client::new(server);
    let (tx, mut events) = tern::worker::events();
    let (engine, _task) =
        tern::runtime::start_worker(c.account.clone(), c.store.clone(), tx, Timing::default())
            .await
            .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("{name}: the engine never got online"));
        if let Some(Event::State {
            state: ConnState::Online,
            ..
        }) = e
        {
            break;
        }
    }
    // A bound for a loaded CI machine, not a target: the times seen are printed (Cyrus ~10-50 ms,
    // Courier 6-60 ms here).
    let budget = Duration::from_secs(30);
    let mut r = Running {
        c,
        engine,
        events,
        budget,
    };
    assert_eq!(r.c.rows("INBOX").await.len(), 1, "{name}");

    // New mail, delivered as an MTA would (Cyrus: LMTP; Courier: a Maildir file).
    server.deliver(ALICE.email, &message("pushed"));
    let took = r
        .until("the new mail", |rows| {
            rows.iter().any(|m| m.subject == "pushed")
        })
        .await;
    eprintln!("{name}: new mail pushed in {took:?}");

    // A flag set and an expunge by another client.
    let uids = check.search("INBOX", "SUBJECT pushed");
    assert_eq!(uids.len(), 1, "{name}");
    select(&mut check, "INBOX");
    check.ok(&format!("UID STORE {} +FLAGS (\\Flagged)", uids[0]));
    let took = r
        .until("the flag", |rows| {
            rows.iter()
                .any(|m| m.subject == "pushed" && m.flags.iter().any(|f| f == "\\Flagged"))
        })
        .await;
    eprintln!("{name}: flag pushed in {took:?}");
    let first = check.search("INBOX", "SUBJECT already-there");
    select(&mut check, "INBOX");
    check.ok(&format!("UID STORE {} +FLAGS (\\Deleted)", first[0]));
    check.ok("EXPUNGE");
    let took = r
        .until("the expunge", |rows| {
            rows.iter().all(|m| m.subject != "already-there")
        })
        .await;
    eprintln!("{name}: expunge pushed in {took:?}");
    r.c.agrees(name, &mut check, "INBOX", "INBOX").await;
    r.engine.send(Command::Shutdown);
}

#[test]
fn mail_flags_and_expunges_from_others_are_pushed_into_the_cache_by_cyrus_and_courier() {
    on_each(&BOTH, |server| block_on(push(server)));
}

async fn uidvalidity_change(server: &ImapServer) {
    let name = server.name();
    let temp = server.folder_wire_name("Temp");
    server.create_wire(ALICE.email, &temp);
    let mut check = server.imap(ALICE.email);
    for s in ["old-1", "old-2", "old-3"] {
        check.append(&temp, "\\Seen", &message(s));
    }
    let c = Client::new(server);
    let mut imap = c.connect().await;
    c.sync(&mut imap).await;
    c.agrees(name, &mut check, &temp, &temp).await;
    let before = uidvalidity(&mut check, &temp);

    check.select("INBOX"); // Courier deletes no folder its session has open
    check.ok(&format!("DELETE {}", quote(&temp)));
    server.create_wire(ALICE.email, &temp);
    for s in ["new-1", "new-2"] {
        check.append(&temp, "", &message(s));
    }
    let after = uidvalidity(&mut check, &temp);
    assert_ne!(
        before, after,
        "{name}: the recreated folder kept its UIDVALIDITY"
    );
    c.sync(&mut imap).await;
    c.agrees(name, &mut check, &temp, &temp).await;
    let subjects: Vec<String> = c.rows(&temp).await.into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects, ["new-1", "new-2"], "{name}");
    imap.logout().await;
}

#[test]
fn a_folder_recreated_with_a_new_uidvalidity_is_rebuilt_on_cyrus_and_courier() {
    on_each(&BOTH, |server| block_on(uidvalidity_change(server)));
}
