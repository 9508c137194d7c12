//! The IMAP sync engine against the real Dovecot: the cache must equal the server.

mod harness;

use std::process::Command;
use std::time::Duration;

use harness::{ALICE, MailServers};
use tern::config::Config;
use tern::domain::{MailboxId, Role};
use tern::store::{Store, StoreHandle};
use tern::sync::ErrorKind;
use tern::sync::pass::{Summary, SyncOptions, sync_once};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const KYOTO: &[u8] = include_bytes!("../assets/demo/personal/INBOX/09-kyoto-momiji.eml");
const BELGRADE: &[u8] = include_bytes!("../assets/demo/personal/Archive/01-belgrade-photos.eml");

struct Client {
    _dir: tempfile::TempDir,
    config: Config,
    config_path: std::path::PathBuf,
    store: StoreHandle,
}

impl Client {
    fn new(servers: &MailServers, security: &str, port: u16, password: &str) -> Client {
        let dir = tempfile::tempdir().unwrap();
        let config_path = servers.write_tern_config(dir.path(), &ALICE, security, port, password);
        let config = Config::load(&config_path).unwrap();
        let store = StoreHandle::open_in_dir(&config.data_dir).unwrap();
        Client {
            _dir: dir,
            config,
            config_path,
            store,
        }
    }

    fn tls(servers: &MailServers) -> Client {
        Client::new(servers, "tls", servers.imaps_port(), ALICE.password)
    }

    async fn sync(&self) -> Result<Summary, tern::sync::SyncError> {
        sync_once(
            &self.config.accounts[0],
            &self.store,
            &SyncOptions::default(),
            &|_| {},
        )
        .await
    }

    async fn mailbox(&self, name: &str) -> MailboxId {
        let name = name.to_string();
        self.store
            .call(move |s| {
                let a = s.account_id("alice")?.unwrap();
                Ok(s.mailbox_id(a, &name)?
                    .unwrap_or_else(|| panic!("no mailbox {name} in the cache")))
            })
            .await
            .unwrap()
    }

    async fn uids(&self, name: &str) -> Vec<u32> {
        let mb = self.mailbox(name).await;
        self.store.call(move |s| s.uids(mb)).await.unwrap()
    }

    /// (uid, subject, "SAF" flags) of every cached message, ascending by uid.
    async fn rows(&self, name: &str) -> Vec<(u32, String, String)> {
        let mb = self.mailbox(name).await;
        let mut rows: Vec<(u32, String, String)> = self
            .store
            .call(move |s| s.envelopes(mb, 0, u32::MAX))
            .await
            .unwrap()
            .into_iter()
            .map(|e| {
                let f = e.flags;
                let flags: String = [(f.flagged, 'F'), (f.answered, 'R'), (f.seen, 'S')]
                    .iter()
                    .filter(|x| x.0)
                    .map(|x| x.1)
                    .collect();
                (e.uid.0, e.subject, flags)
            })
            .collect();
        rows.sort();
        rows
    }
}

/// The server's UIDs of a mailbox, read over a separate plain IMAP connection.
fn server_uids(servers: &MailServers, mailbox: &str) -> Vec<u32> {
    let mut u = servers.imap(ALICE.email).uids(mailbox);
    u.sort_unstable();
    u
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_equals_the_server_and_a_second_sync_changes_nothing() {
    let servers = MailServers::start();
    let inbox = servers.populate(ALICE.email, "INBOX", 1500, 1);
    let lists = servers.populate(ALICE.email, "Lists/rust", 300, 2);
    servers.deliver(ALICE.email, KYOTO);
    servers.deliver(ALICE.email, BELGRADE);
    let c = Client::tls(&servers);

    let s = c.sync().await.unwrap();
    assert_eq!(s.new, 1500 + 300 + 2, "{s:?}");
    assert_eq!(s.removed, 0);

    // Every mailbox the server lists is cached, with its role.
    let boxes = c.store.call(|s| s.mailboxes(None)).await.unwrap();
    let role = |n: &str| boxes.iter().find(|m| m.name == n).and_then(|m| m.role);
    assert_eq!(role("INBOX"), Some(Role::Inbox));
    assert_eq!(role("Sent"), Some(Role::Sent));
    assert_eq!(role("Drafts"), Some(Role::Drafts));
    assert_eq!(role("Trash"), Some(Role::Trash));
    assert_eq!(role("Junk"), Some(Role::Junk));
    assert_eq!(role("Archive"), Some(Role::Archive));
    assert_eq!(role("Lists/rust"), None);

    // UIDs, decoded subjects and flags equal what was put on the server.
    for (name, populated) in [("INBOX", &inbox), ("Lists/rust", &lists)] {
        assert_eq!(c.uids(name).await, server_uids(&servers, name), "{name}");
        let rows = c.rows(name).await;
        for (i, g) in populated.messages.iter().enumerate() {
            let (uid, subject, flags) = &rows[i];
            assert_eq!(*uid as usize, i + 1);
            assert_eq!(subject, &g.subject, "{name} uid {uid}");
            let want: String = g.maildir_flags.chars().collect();
            assert_eq!(flags, &want, "{name} uid {uid}");
        }
    }
    // Encoded words in ISO-2022-JP and KOI8-R.
    let rows = c.rows("INBOX").await;
    assert_eq!(rows[1500].1, "京都の紅葉、見に来ませんか？");
    assert_eq!(rows[1501].1, "Фотографии с конференции");
    let unread = boxes.iter().find(|m| m.name == "INBOX").unwrap().unread;
    let server_unseen = servers.imap(ALICE.email).search("INBOX", "UNSEEN").len() as u32;
    assert_eq!(unread, server_unseen);

    let again = c.sync().await.unwrap();
    assert_eq!(
        (again.new, again.changed, again.removed),
        (0, 0, 0),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_follows_flags_expunges_moves_and_new_mail_from_another_client() {
    let servers = MailServers::start();
    servers.populate(ALICE.email, "INBOX", 200, 3);
    let c = Client::tls(&servers);
    c.sync().await.unwrap();

    // Another client (doveadm) changes the mailbox.
    servers.doveadm(&[
        "flags",
        "add",
        "-u",
        ALICE.email,
        "\\Flagged $Important",
        "mailbox",
        "INBOX",
        "uid",
        "5",
    ]);
    servers.doveadm(&[
        "flags",
        "replace",
        "-u",
        ALICE.email,
        "\\Answered $Label1",
        "mailbox",
        "INBOX",
        "uid",
        "6",
    ]);
    servers.doveadm(&[
        "expunge",
        "-u",
        ALICE.email,
        "mailbox",
        "INBOX",
        "uid",
        "7:9",
    ]);
    servers.doveadm(&[
        "move",
        "-u",
        ALICE.email,
        "Archive",
        "mailbox",
        "INBOX",
        "uid",
        "20",
    ]);
    servers.deliver(ALICE.email, KYOTO);

    let s = c.sync().await.unwrap();
    assert_eq!(s.removed, 4, "{s:?}");
    assert_eq!(s.new, 2, "the new mail and the moved message: {s:?}");
    assert_eq!(s.changed, 2, "{s:?}");
    assert_eq!(c.uids("INBOX").await, server_uids(&servers, "INBOX"));
    assert_eq!(c.uids("Archive").await, server_uids(&servers, "Archive"));
    let mb = c.mailbox("INBOX").await;
    let rows = c
        .store
        .call(move |s| s.envelopes(mb, 0, 1000))
        .await
        .unwrap();
    let five = rows.iter().find(|e| e.uid.0 == 5).unwrap();
    assert!(five.flags.flagged && five.flags.has_keyword("$Important"));
    let six = rows.iter().find(|e| e.uid.0 == 6).unwrap();
    assert!(
        six.flags.answered
            && six.flags.has_keyword("$Label1")
            && !six.flags.seen
            && !six.flags.flagged
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recreated_mailbox_is_rebuilt_without_stale_rows() {
    let servers = MailServers::start();
    servers.populate(ALICE.email, "Temp", 5, 4);
    let c = Client::tls(&servers);
    c.sync().await.unwrap();
    assert_eq!(c.uids("Temp").await.len(), 5);
    let before = c.rows("Temp").await;

    servers.doveadm(&["mailbox", "delete", "-u", ALICE.email, "Temp"]);
    servers.create_mailbox(ALICE.email, "Temp");
    servers.deliver_to(ALICE.email, "Temp", KYOTO);
    servers.deliver_to(ALICE.email, "Temp", BELGRADE);

    c.sync().await.unwrap();
    let rows = c.rows("Temp").await;
    let subjects: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        subjects,
        ["京都の紅葉、見に来ませんか？", "Фотографии с конференции"],
        "{before:?}"
    );
    assert_eq!(c.uids("Temp").await, server_uids(&servers, "Temp"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_works_and_a_wrong_password_is_one_auth_error() {
    let servers = MailServers::start();
    servers.deliver(ALICE.email, KYOTO);
    let c = Client::new(&servers, "starttls", servers.imap_port(), ALICE.password);
    assert_eq!(c.sync().await.unwrap().new, 1);

    let bad = Client::new(&servers, "tls", servers.imaps_port(), "wrong-password");
    let e = bad.sync().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert!(e.to_string().contains("refused the login"), "{e}");
    assert!(!e.to_string().contains("wrong-password"));
}

/// A server that answers STARTTLS with BAD: a real Dovecot always offers STARTTLS when it has a
/// certificate, so this one fault is scripted. Returns the port and what the client sent.
async fn no_starttls_server() -> (u16, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let (r, mut w) = sock.into_split();
        w.write_all(b"* OK [CAPABILITY IMAP4rev1 LOGIN] scripted server\r\n")
            .await
            .unwrap();
        let mut lines = BufReader::new(r).lines();
        let mut seen = String::new();
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await
        {
            seen.push_str(&line);
            seen.push('\n');
            let tag = line.split(' ').next().unwrap_or("*").to_string();
            let _ = w
                .write_all(format!("{tag} BAD command unknown\r\n").as_bytes())
                .await;
        }
        seen
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_not_offered_is_refused_without_sending_the_password() {
    let servers = MailServers::start();
    let (port, server) = no_starttls_server().await;
    let c = Client::new(&servers, "starttls", port, "secret-pass");
    let e = c.sync().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Tls, "{e}");
    assert!(e.to_string().contains("did not accept STARTTLS"), "{e}");
    drop(c);
    let seen = server.await.unwrap();
    assert!(seen.contains("STARTTLS"), "{seen}");
    assert!(
        !seen.contains("LOGIN") && !seen.contains("secret-pass"),
        "{seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tern_sync_and_tern_list_from_the_command_line() {
    let servers = MailServers::start();
    servers.populate(ALICE.email, "INBOX", 30, 5);
    servers.deliver(ALICE.email, KYOTO);
    let c = Client::tls(&servers);
    let bin = env!("CARGO_BIN_EXE_tern");
    let cfg = c.config_path.to_str().unwrap().to_string();
    let out = Command::new(bin)
        .args(["sync", "--config", &cfg])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("alice: 6 mailboxes, 31 new, 0 changed, 0 removed"),
        "{stdout}"
    );

    let out = Command::new(bin)
        .args(["list", "--config", &cfg, "--limit", "5", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["uid"], 31, "newest first");
    assert_eq!(lines[0]["subject"], "京都の紅葉、見に来ませんか？");

    // The cache stays readable by a second process; a missing mailbox is a clear error.
    let store = Store::open_in_dir(&c.config.data_dir).unwrap();
    assert_eq!(store.accounts().unwrap().len(), 1);
    let out = Command::new(bin)
        .args(["list", "--config", &cfg, "--mailbox", "Nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no mailbox `Nope` in the cache"));

    let bad = Client::new(&servers, "tls", servers.imaps_port(), "wrong");
    let out = Command::new(bin)
        .args(["sync", "--config", bad.config_path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("alice: authentication failed"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tern_sync_watch_keeps_the_cache_warm_until_sigterm() {
    use std::io::BufRead;
    let servers = MailServers::start();
    servers.deliver(ALICE.email, KYOTO);
    let c = Client::tls(&servers);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "sync",
            "--watch",
            "--config",
            c.config_path.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline - std::time::Instant::now())
            .expect("no `online` line from --watch");
        if line == "alice: online" {
            break;
        }
    }
    servers.deliver(ALICE.email, BELGRADE);
    // Another process reads the cache while the watcher writes it (WAL): poll it, bounded.
    let store = Store::open_in_dir(&c.config.data_dir).unwrap();
    let inbox = store
        .mailbox_id(store.account_id("alice").unwrap().unwrap(), "INBOX")
        .unwrap()
        .unwrap();
    while store.message_count(inbox).unwrap() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the pushed message never reached the cache"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_session_syncs_the_same_mail() {
    let servers = MailServers::start();
    let populated = servers.populate(ALICE.email, "INBOX", 400, 5);
    let dir = tempfile::tempdir().unwrap();
    let path = servers.write_tern_config(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
    );
    // Loopback leaves COMPRESS off by default; the key turns it on.
    let plain = Config::load(&path).unwrap();
    let imap = tern::sync::pass::connect(&plain.accounts[0]).await.unwrap();
    assert!(!imap.compressed());
    imap.logout().await;
    MailServers::add_imap_keys(&path, "compress = true");
    let config = Config::load(&path).unwrap();
    let imap = tern::sync::pass::connect(&config.accounts[0])
        .await
        .unwrap();
    assert!(
        imap.compressed(),
        "Dovecot offers COMPRESS=DEFLATE (imap_zlib)"
    );
    imap.logout().await;

    let c = Client {
        _dir: dir,
        store: StoreHandle::open_in_dir(&config.data_dir).unwrap(),
        config,
        config_path: path,
    };
    let s = c.sync().await.unwrap();
    assert_eq!(s.new, 400);
    let rows = c.rows("INBOX").await;
    assert_eq!(rows.len(), 400);
    for (row, g) in rows.iter().zip(&populated.messages) {
        assert_eq!(row.1, g.subject);
    }
    assert_eq!(c.uids("INBOX").await, server_uids(&servers, "INBOX"));
}
