//! Triage against the real Dovecot: every action and its undo reach the server (checked over a
//! second, plain IMAP connection), across two accounts; actions taken offline survive a
//! restart; a message expunged by another client meanwhile is dropped and logged; a crash
//! between the local change and the server's answer does not apply the action twice.

mod harness;
mod tmux;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use harness::{ALICE, BOB, HOST, MailServers, TestImap};
use tern::app::effects::triage;
use tern::app::msg::{Cmd, Dest, Msg, Undo};
use tern::app::update::worded;
use tern::config::Config;
use tern::domain::triage::FlagName;
use tern::domain::{AccountId, ConnState, MsgId, Role};
use tern::runtime::{self, Runtime};
use tern::store::{Store, StoreHandle};
use tern::worker::{Command, EngineHandle, Event};

const WAIT: Duration = Duration::from_secs(30);

fn raw(subject: &str) -> Vec<u8> {
    format!(
        "From: Carol <carol@example.test>\r\nTo: someone@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}.{}@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\n\
         body of {subject}\r\n",
        std::process::id()
    )
    .into_bytes()
}

/// A config with one account per user, all on the implicit-TLS port, headers only.
fn config(servers: &MailServers, dir: &Path, users: &[harness::TestUser], port: u16) -> PathBuf {
    let mut text = format!("data_dir = {:?}\n", dir.join("data").display().to_string());
    for u in users {
        text += &format!(
            "[[account]]\nname = \"{name}\"\nemail = \"{email}\"\noffline = \"headers\"\n\
             [account.imap]\nhost = \"{HOST}\"\nport = {port}\nsecurity = \"tls\"\n\
             username = \"{email}\"\npassword = \"{password}\"\nca_file = {ca:?}\n",
            name = u.email.split('@').next().unwrap(),
            email = u.email,
            password = u.password,
            ca = servers.ca_pem_path().display().to_string(),
        );
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

struct Engines {
    store: StoreHandle,
    handles: Vec<EngineHandle>,
    runtime: Runtime,
    events: tern::worker::EventReceiver,
}

impl Engines {
    /// One engine per account of the config, started as the client starts them (each with its
    /// own connection to the cache); returns once all are online.
    async fn start(cfg: &Config, store: &StoreHandle) -> Engines {
        let mut accounts = Store::open_in_dir(&cfg.data_dir).unwrap();
        let mut runtime = runtime::start(cfg, &mut accounts).unwrap();
        let mut e = Engines {
            store: store.clone(),
            handles: runtime.engines.values().cloned().collect(),
            events: runtime.events.take().unwrap(),
            runtime,
        };
        e.wait_states(|s| *s == ConnState::Online).await;
        e
    }

    /// Wait until every account's engine reported a state matching `pred`.
    async fn wait_states(&mut self, pred: impl Fn(&ConnState) -> bool) {
        let mut done: HashMap<tern::domain::AccountId, bool> = HashMap::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        while done.values().filter(|d| **d).count() < self.handles.len() {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(Event::State { account, state })) => {
                    *done.entry(account).or_default() |= pred(&state);
                }
                Ok(Some(_)) => {}
                other => panic!("the engines never got there: {other:?} {done:?}"),
            }
        }
    }

    /// Tell the engines, and wait until every queue is empty.
    async fn settle(&mut self) {
        for h in &self.handles {
            h.send(Command::Replay);
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = self
                .store
                .call(|s| {
                    let mut n = 0;
                    for a in s.accounts()? {
                        n += s.pending(a.id)?.len();
                    }
                    Ok(n)
                })
                .await
                .unwrap();
            if left == 0 {
                return;
            }
            // The engines answer each replay with a change event.
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(_)) => {}
                other => panic!("{left} queued action(s) never went: {other:?}"),
            }
        }
    }

    async fn stop(self) {
        self.runtime.shutdown();
        assert!(
            self.runtime.stop(WAIT).await,
            "an engine did not end cleanly"
        );
    }
}

/// Subjects in a mailbox on the server, sorted.
fn on_server(imap: &mut TestImap, mailbox: &str) -> Vec<String> {
    let mut out: Vec<String> = imap
        .uids(mailbox)
        .into_iter()
        .filter_map(|u| imap.header(mailbox, u, "Subject"))
        .collect();
    out.sort();
    out
}

/// (subject, UID) of the cached messages of an account's mailbox, sorted.
async fn in_cache(store: &StoreHandle, account: &str, mailbox: &str) -> Vec<(String, u32)> {
    let (account, mailbox) = (account.to_string(), mailbox.to_string());
    store
        .call(move |s| {
            let a = s.account_id(&account)?.unwrap();
            let mb = s
                .mailboxes(Some(a))?
                .into_iter()
                .find(|m| m.name == mailbox)
                .unwrap();
            let mut out: Vec<(String, u32)> = s
                .envelopes(mb.id, 0, 10_000)?
                .into_iter()
                .map(|e| (e.subject, e.uid.0))
                .collect();
            out.sort();
            Ok(out)
        })
        .await
        .unwrap()
}

fn subjects(rows: &[(String, u32)]) -> Vec<String> {
    rows.iter().map(|r| r.0.clone()).collect()
}

/// Cached message ids by subject (in any mailbox of any account).
async fn ids(store: &StoreHandle, wanted: &[&str]) -> Vec<MsgId> {
    let wanted: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
    store
        .call(move |s| {
            let mut found: HashMap<String, MsgId> = HashMap::new();
            for m in s.mailboxes(None)? {
                for e in s.envelopes(m.id, 0, 10_000)? {
                    found.insert(e.subject, e.id);
                }
            }
            Ok(wanted
                .iter()
                .map(|w| *found.get(w).unwrap_or_else(|| panic!("{w} not cached")))
                .collect())
        })
        .await
        .unwrap()
}

/// Run a triage command the way the UI does; returns what it answered.
async fn act(store: &StoreHandle, cmd: Cmd) -> Msg {
    store.call(move |s| Ok(triage(s, cmd)?.1)).await.unwrap()
}

fn undo_of(msg: &Msg) -> (Undo, String) {
    match msg {
        Msg::ActionDone(done) => worded(done.clone())
            .1
            .unwrap_or_else(|| panic!("nothing to undo: {done:?}")),
        other => panic!("nothing to undo: {other:?}"),
    }
}

fn move_to(msgs: Vec<MsgId>, dest: Dest, copy: bool) -> Cmd {
    Cmd::MoveTo {
        msgs,
        dest,
        copy,
        what: "moved".into(),
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_and_its_undo_reach_the_server_across_two_accounts() {
    let servers = MailServers::start();
    servers.create_mailbox(ALICE.email, "Projects");
    servers.create_mailbox(ALICE.email, "Old");
    servers.deliver_to(ALICE.email, "Old", &raw("old1"));
    for s in ["a1", "a2", "a3", "a4", "a5", "a6"] {
        servers.deliver(ALICE.email, &raw(s));
    }
    for s in ["b1", "b2"] {
        servers.deliver(BOB.email, &raw(s));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = config(&servers, dir.path(), &[ALICE, BOB], servers.imaps_port());
    let cfg = Config::load(&path).unwrap();
    let store = StoreHandle::open_in_dir(&cfg.data_dir).unwrap();
    let mut engines = Engines::start(&cfg, &store).await;
    let mut alice = servers.imap(ALICE.email);
    let mut bob = servers.imap(BOB.email);

    // Flag, and undo.
    let a1 = ids(&store, &["a1"]).await;
    let done = act(
        &store,
        Cmd::SetFlag {
            msgs: a1.clone(),
            flag: FlagName::Flagged,
            on: true,
            undoable: true,
        },
    )
    .await;
    engines.settle().await;
    assert_eq!(alice.search("INBOX", "FLAGGED").len(), 1);
    let (undo, what) = undo_of(&done);
    act(&store, Cmd::Undo { undo, what }).await;
    engines.settle().await;
    assert!(alice.search("INBOX", "FLAGGED").is_empty());

    // Archive a selection, and undo.
    let sel = ids(&store, &["a2", "a3"]).await;
    let done = act(&store, move_to(sel, Dest::Role(Role::Archive), false)).await;
    assert_eq!(
        subjects(&in_cache(&store, "alice", "Archive").await),
        strs(&["a2", "a3"]),
        "local at once"
    );
    engines.settle().await;
    assert_eq!(on_server(&mut alice, "Archive"), strs(&["a2", "a3"]));
    assert_eq!(
        on_server(&mut alice, "INBOX"),
        strs(&["a1", "a4", "a5", "a6"])
    );
    let cached = in_cache(&store, "alice", "Archive").await;
    let server_uids = alice.uids("Archive");
    assert_eq!(
        cached.iter().map(|c| c.1).collect::<Vec<_>>(),
        server_uids,
        "the cache has the UIDs the server gave (COPYUID)"
    );
    let (undo, what) = undo_of(&done);
    act(&store, Cmd::Undo { undo, what }).await;
    engines.settle().await;
    assert!(on_server(&mut alice, "Archive").is_empty());
    assert_eq!(
        on_server(&mut alice, "INBOX"),
        strs(&["a1", "a2", "a3", "a4", "a5", "a6"])
    );
    let inbox = in_cache(&store, "alice", "INBOX").await;
    assert!(inbox.iter().all(|r| r.1 > 0), "{inbox:?}");
    assert_eq!(inbox.len(), 6, "no duplicate from the sync: {inbox:?}");

    // Delete (to Trash) and junk, and undo both; then delete for good from Trash.
    let a4 = ids(&store, &["a4"]).await;
    let deleted = act(&store, move_to(a4.clone(), Dest::Role(Role::Trash), false)).await;
    let a5 = ids(&store, &["a5"]).await;
    let junked = act(&store, move_to(a5, Dest::Role(Role::Junk), false)).await;
    engines.settle().await;
    assert_eq!(on_server(&mut alice, "Trash"), strs(&["a4"]));
    assert_eq!(on_server(&mut alice, "Junk"), strs(&["a5"]));
    for done in [junked, deleted] {
        let (undo, what) = undo_of(&done);
        act(&store, Cmd::Undo { undo, what }).await;
    }
    engines.settle().await;
    assert!(on_server(&mut alice, "Trash").is_empty());
    assert!(on_server(&mut alice, "Junk").is_empty());
    act(&store, move_to(a4.clone(), Dest::Role(Role::Trash), false)).await;
    act(&store, Cmd::Expunge { msgs: a4 }).await;
    engines.settle().await;
    assert!(on_server(&mut alice, "Trash").is_empty());
    assert!(!on_server(&mut alice, "INBOX").contains(&"a4".to_string()));

    // Move and copy to a folder picked by name, and undo the copy.
    let projects = store
        .call(|s| {
            let a = s.account_id("alice")?.unwrap();
            Ok(s.mailboxes(Some(a))?
                .into_iter()
                .find(|m| m.name == "Projects")
                .unwrap()
                .id)
        })
        .await
        .unwrap();
    let a6 = ids(&store, &["a6"]).await;
    act(&store, move_to(a6, Dest::Mailbox(projects), false)).await;
    let a1 = ids(&store, &["a1"]).await;
    let copied = act(&store, move_to(a1, Dest::Mailbox(projects), true)).await;
    engines.settle().await;
    assert_eq!(on_server(&mut alice, "Projects"), strs(&["a1", "a6"]));
    assert_eq!(
        on_server(&mut alice, "INBOX"),
        strs(&["a1", "a2", "a3", "a5"])
    );
    let (undo, what) = undo_of(&copied);
    act(&store, Cmd::Undo { undo, what }).await;
    engines.settle().await;
    assert_eq!(on_server(&mut alice, "Projects"), strs(&["a6"]));
    assert_eq!(
        on_server(&mut alice, "INBOX"),
        strs(&["a1", "a2", "a3", "a5"])
    );

    // One selection across both accounts (as in "All inboxes"): each to its own Archive.
    let sel = ids(&store, &["a2", "b1", "b2"]).await;
    let done = act(&store, move_to(sel, Dest::Role(Role::Archive), false)).await;
    engines.settle().await;
    assert_eq!(on_server(&mut alice, "Archive"), strs(&["a2"]));
    assert_eq!(on_server(&mut bob, "Archive"), strs(&["b1", "b2"]));
    assert!(on_server(&mut bob, "INBOX").is_empty());
    let (undo, what) = undo_of(&done);
    act(&store, Cmd::Undo { undo, what }).await;
    engines.settle().await;
    assert!(on_server(&mut alice, "Archive").is_empty());
    assert_eq!(on_server(&mut bob, "INBOX"), strs(&["b1", "b2"]));
    let log = store.call(|s| s.action_log(10)).await.unwrap();
    assert!(log.is_empty(), "{log:?}");

    // A move the server refuses (the folder was deleted by another client since the last
    // sync): logged, and the message is back where it is on the server.
    servers.doveadm(&["mailbox", "delete", "-u", ALICE.email, "Projects"]);
    let a3 = ids(&store, &["a3"]).await;
    act(&store, move_to(a3, Dest::Mailbox(projects), false)).await;
    engines.settle().await;
    let inbox = in_cache(&store, "alice", "INBOX").await;
    assert!(
        inbox.iter().any(|(s, uid)| s == "a3" && *uid > 0),
        "{inbox:?}"
    );
    assert!(on_server(&mut alice, "INBOX").contains(&"a3".to_string()));
    let log = store.call(|s| s.action_log(10)).await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].2.contains("Projects"), "{log:?}");

    // A change in a folder deleted on the server meanwhile cannot be made: dropped and logged,
    // and the queue goes on (the engine does not retry it for ever).
    servers.doveadm(&["mailbox", "delete", "-u", ALICE.email, "Old"]);
    let old1 = ids(&store, &["old1"]).await;
    act(
        &store,
        Cmd::SetFlag {
            msgs: old1,
            flag: FlagName::Flagged,
            on: true,
            undoable: true,
        },
    )
    .await;
    let a5 = ids(&store, &["a5"]).await;
    act(&store, move_to(a5, Dest::Role(Role::Archive), false)).await;
    engines.settle().await;
    assert_eq!(on_server(&mut alice, "Archive"), strs(&["a5"]));
    let log = store.call(|s| s.action_log(10)).await.unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].2.contains("Old"), "{log:?}");
    engines.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_taken_offline_survive_a_restart_and_reach_the_server_in_order() {
    let servers = MailServers::start();
    let names: Vec<String> = (1..=20).map(|i| format!("m{i:02}")).collect();
    for n in &names {
        servers.deliver(ALICE.email, &raw(n));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = config(&servers, dir.path(), &[ALICE], servers.imaps_port());
    let cfg = Config::load(&path).unwrap();
    let store = StoreHandle::open_in_dir(&cfg.data_dir).unwrap();
    let mut engines = Engines::start(&cfg, &store).await;

    // The server goes away; the user archives 10, flags 5 and deletes 3.
    servers.stop_dovecot();
    engines
        .wait_states(|s| matches!(s, ConnState::Offline(_)))
        .await;
    let pick = |r: std::ops::RangeInclusive<usize>| -> Vec<&str> {
        names[r.start() - 1..*r.end()]
            .iter()
            .map(String::as_str)
            .collect()
    };
    let archive = ids(&store, &pick(1..=10)).await;
    let flag = ids(&store, &pick(11..=15)).await;
    let delete = ids(&store, &pick(16..=18)).await;
    act(&store, move_to(archive, Dest::Role(Role::Archive), false)).await;
    act(
        &store,
        Cmd::SetFlag {
            msgs: flag,
            flag: FlagName::Flagged,
            on: true,
            undoable: true,
        },
    )
    .await;
    act(&store, move_to(delete, Dest::Role(Role::Trash), false)).await;
    assert_eq!(in_cache(&store, "alice", "INBOX").await.len(), 7);
    engines.stop().await;

    // Back online; another client expunges m01 before tern comes back; tern restarts.
    servers.start_dovecot();
    let mut imap = servers.imap(ALICE.email);
    let m01 = imap.search("INBOX", "HEADER Subject m01");
    assert_eq!(m01.len(), 1);
    servers.doveadm(&[
        "expunge",
        "-u",
        ALICE.email,
        "mailbox",
        "INBOX",
        "uid",
        &m01[0].to_string(),
    ]);
    // ... and answers m11, which tern is about to flag: both flags must stand.
    let m11 = imap.search("INBOX", "HEADER Subject m11")[0];
    servers.doveadm(&[
        "flags",
        "add",
        "-u",
        ALICE.email,
        "\\Answered",
        "mailbox",
        "INBOX",
        "uid",
        &m11.to_string(),
    ]);
    let mut engines = Engines::start(&cfg, &store).await;
    engines.settle().await;

    let flags = imap.flags("INBOX", m11);
    assert!(
        flags.iter().any(|f| f == "\\Flagged") && flags.iter().any(|f| f == "\\Answered"),
        "our change on top of the other client's: {flags:?}"
    );
    assert_eq!(on_server(&mut imap, "Archive"), pick(2..=10));
    assert_eq!(on_server(&mut imap, "Trash"), pick(16..=18));
    assert_eq!(
        on_server(&mut imap, "INBOX"),
        [pick(11..=15), pick(19..=20)].concat()
    );
    let flagged: Vec<String> = imap
        .search("INBOX", "FLAGGED")
        .into_iter()
        .filter_map(|u| imap.header("INBOX", u, "Subject"))
        .collect();
    assert_eq!(flagged.len(), 5);
    assert!(flagged.iter().all(|s| pick(11..=15).contains(&s.as_str())));
    // The cache agrees, with the server's UIDs; the expunged one left it and the log says so.
    let cached = in_cache(&store, "alice", "Archive").await;
    assert_eq!(subjects(&cached), pick(2..=10));
    assert_eq!(
        cached
            .iter()
            .map(|c| c.1)
            .collect::<std::collections::BTreeSet<_>>(),
        imap.uids("Archive").into_iter().collect()
    );
    let log = store.call(|s| s.action_log(10)).await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].2.contains("already deleted"), "{log:?}");
    let account: AccountId = store
        .call(|s| Ok(s.account_id("alice")?.unwrap()))
        .await
        .unwrap();
    assert!(
        store
            .call(move |s| s.pending(account))
            .await
            .unwrap()
            .is_empty()
    );
    engines.stop().await;
}

/// SIGKILL the tern process running in the tmux pane (the pane's process, or its child when a
/// shell stands between).
fn kill_9(t: &tmux::Tmux, bin: &str) {
    let out = t.run(&["list-panes", "-t", "t", "-F", "#{pane_pid}"]);
    let pane = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let children = std::process::Command::new("pgrep")
        .args(["-P", &pane])
        .output()
        .unwrap();
    let bin = std::fs::canonicalize(bin).unwrap();
    let mut killed = 0;
    for pid in std::iter::once(pane.clone()).chain(
        String::from_utf8_lossy(&children.stdout)
            .split_whitespace()
            .map(str::to_string),
    ) {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        if exe.as_deref() == Some(bin.as_path()) {
            let ok = std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status()
                .unwrap()
                .success();
            assert!(ok);
            killed += 1;
        }
    }
    assert_eq!(killed, 1, "no tern process under pane {pane}");
}

/// A TLS front for Dovecot's plain port that can hold back the server's answer to a UID MOVE:
/// the one fault a real server does not produce on demand (its answer lost after it acted).
struct Stall {
    port: u16,
    armed: Arc<AtomicBool>,
    /// Set once a UID MOVE went through and its answer is being held.
    held: Arc<AtomicBool>,
}

impl Stall {
    async fn start(servers: &MailServers) -> Stall {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio_rustls::rustls;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let tls = servers.base_dir().join("etc/tls");
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(tls.join("cert.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(tls.join("key.pem")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind((HOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = (HOST, servers.imap_port());
        let armed = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicBool::new(false));
        let (a, h) = (armed.clone(), held.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (acceptor, a, h) = (acceptor.clone(), a.clone(), h.clone());
                tokio::spawn(async move {
                    let Ok(client) = acceptor.accept(sock).await else {
                        return;
                    };
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut cr, mut cw) = tokio::io::split(client);
                    let (mut sr, mut sw) = server.into_split();
                    let h2 = h.clone();
                    let up = async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n) = cr.read(&mut buf).await {
                            let text = String::from_utf8_lossy(&buf[..n]).to_ascii_uppercase();
                            // Hold the answers before the command goes up (tern writes a
                            // command in pieces: look at each).
                            if a.load(Ordering::SeqCst) && text.contains("UID MOVE ") {
                                h2.store(true, Ordering::SeqCst);
                            }
                            if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    let down = async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n) = sr.read(&mut buf).await {
                            // Once the MOVE went up, nothing more comes down.
                            if n == 0 || h.load(Ordering::SeqCst) {
                                break;
                            }
                            if cw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        std::future::pending::<()>().await;
                    };
                    tokio::join!(up, down);
                });
            }
        });
        Stall { port, armed, held }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_local_change_and_the_servers_answer_applies_the_action_once() {
    let servers = MailServers::start();
    for s in ["first", "second", "third"] {
        servers.deliver(ALICE.email, &raw(s));
    }
    let stall = Stall::start(&servers).await;
    let dir = tempfile::tempdir().unwrap();
    let path = config(&servers, dir.path(), &[ALICE], stall.port);
    let bin = env!("CARGO_BIN_EXE_tern");
    let t = tmux::Tmux::start(&format!("{bin} --config {}", path.display()), 150, 40);
    t.wait_for("the synced inbox", WAIT, |s| {
        s.contains("third") && s.contains("● alice")
    });
    // Archive the selected (newest) message; the server does it, its answer never comes.
    stall.armed.store(true, Ordering::SeqCst);
    t.keys(&["Tab", "A"]);
    let mut imap = servers.imap(ALICE.email);
    let deadline = std::time::Instant::now() + WAIT;
    while !(stall.held.load(Ordering::SeqCst) && on_server(&mut imap, "Archive").len() == 1) {
        assert!(
            std::time::Instant::now() < deadline,
            "the MOVE never reached the server (held: {}): {}",
            stall.held.load(Ordering::SeqCst),
            t.screen()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let moved = on_server(&mut imap, "Archive");
    // kill -9: no chance to write anything more.
    kill_9(&t, bin);
    drop(t);
    let cfg = Config::load(&path).unwrap();
    let store = StoreHandle::open_in_dir(&cfg.data_dir).unwrap();
    let account = store
        .call(|s| Ok(s.account_id("alice")?.unwrap()))
        .await
        .unwrap();
    let queued = store.call(move |s| s.pending(account)).await.unwrap();
    assert!(
        queued
            .iter()
            .any(|p| matches!(p.action, tern::store::QueuedAction::Move { .. })),
        "the move was still waiting for its answer: {queued:?}"
    );

    // Restart (straight to Dovecot now): `tern sync` replays the queue first.
    let direct = config(&servers, dir.path(), &[ALICE], servers.imaps_port());
    let out = std::process::Command::new(bin)
        .args(["--config", &direct.display().to_string(), "sync"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        on_server(&mut imap, "Archive"),
        moved,
        "moved once, not twice"
    );
    assert_eq!(on_server(&mut imap, "INBOX").len(), 2);
    let cached = in_cache(&store, "alice", "Archive").await;
    assert_eq!(subjects(&cached), moved, "one row, no duplicate");
    assert_eq!(
        cached[0].1,
        imap.uids("Archive")[0],
        "found by its Message-ID"
    );
    assert!(
        store
            .call(move |s| s.pending(account))
            .await
            .unwrap()
            .is_empty()
    );
    let log = store.call(|s| s.action_log(10)).await.unwrap();
    assert!(log.is_empty(), "nothing was lost or dropped: {log:?}");
}
