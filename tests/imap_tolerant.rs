//! tern's IMAP session against a scripted server that breaks the protocol in ways no real
//! test server does on demand: AUTHENTICATE answered with bare LF lines, with BAD, with an
//! unreadable challenge; a FETCH answer with `* 4 EXPUNGED`, an unknown untagged response and
//! header sections spelled differently. Plain TCP on loopback (Security::None).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tern::config::{PasswordSource, Protocol, Secret, Security, ServerConfig};
use tern::sync::ErrorKind;
use tern::sync::imap::Imap;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const PASSWORD: &str = "pa55-w0rd!";

/// How the server answers once the client is logged in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum After {
    /// As scripted below.
    Normal,
    /// Every command but CAPABILITY and LOGOUT gets a 20 KB BAD line full of escapes.
    RefuseAll,
    /// LIST and UID FETCH answer part of their data, then the connection ends.
    Cut,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Auth {
    /// `+` and the tagged OK end in a bare LF.
    BareLf,
    /// BAD: the server's AUTHENTICATE is broken.
    Bad,
    /// A challenge that is not base64 (async-imap cannot read it).
    Unreadable,
    /// A clear NO.
    No,
}

struct Script {
    auth: Auth,
    after_login: After,
    /// When each connection came.
    accepted: tokio::sync::mpsc::UnboundedSender<Instant>,
    connections: AtomicUsize,
    /// "connection command" per command received.
    log: Mutex<Vec<String>>,
}

fn header_fetch(seq: u32, uid: u32, section: &str, header: &str, eol: &str) -> String {
    format!(
        "* {seq} FETCH (UID {uid} FLAGS (\\Seen) RFC822.SIZE 100 {section} {{{}}}{eol}{header})\r\n",
        header.len()
    )
}

async fn serve_one(sock: TcpStream, script: Arc<Script>) -> std::io::Result<()> {
    let n = script.connections.fetch_add(1, Ordering::SeqCst);
    let (r, mut w) = sock.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] scripted\r\n")
        .await?;
    while let Some(line) = lines.next_line().await? {
        let (tag, rest) = line.split_once(' ').unwrap_or((&line, ""));
        let cmd = rest.split(' ').next().unwrap_or("").to_ascii_uppercase();
        script.log.lock().unwrap().push(format!("{n} {cmd}"));
        let logged_in = !matches!(
            cmd.as_str(),
            "CAPABILITY" | "AUTHENTICATE" | "LOGIN" | "LOGOUT"
        );
        if script.after_login == After::RefuseAll && logged_in {
            let junk = "\x1b[31m\x1b]0;PWNED\x07 From: secret@example.test \u{202e} ".repeat(400);
            w.write_all(format!("{tag} BAD {junk}\r\n").as_bytes())
                .await?;
            continue;
        }
        if script.after_login == After::Cut && matches!(cmd.as_str(), "LIST" | "UID") {
            let part = match cmd.as_str() {
                "LIST" => "* LIST (\\HasNoChildren) \"/\" INBOX\r\n".to_string(),
                _ => "* 1 FETCH (UID 5 BODY[] {10}\r\nSubject: a".to_string(),
            };
            w.write_all(part.as_bytes()).await?;
            return Ok(());
        }
        let reply = match cmd.as_str() {
            "CAPABILITY" => format!("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n"),
            "AUTHENTICATE" => match script.auth {
                Auth::BareLf => {
                    w.write_all(b"+ \n").await?;
                    let answer = lines.next_line().await?.unwrap_or_default();
                    assert!(!answer.is_empty());
                    format!("{tag} OK welcome\n")
                }
                Auth::Bad => format!("{tag} BAD AUTHENTICATE is not available\r\n"),
                Auth::Unreadable => "+ not base64 at all!\r\n".to_string(),
                Auth::No => format!("{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"),
            },
            "LOGIN" if rest.contains(PASSWORD) => format!("{tag} OK logged in\r\n"),
            "LOGIN" => format!("{tag} NO wrong\r\n"),
            "SELECT" => format!(
                "* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 9] ok\r\n{tag} OK [READ-WRITE] done\r\n"
            ),
            "UID" if rest.contains("SEARCH") => format!("* SEARCH 5 6\r\n{tag} OK done\r\n"),
            "UID" if rest.contains("HEADER.FIELDS") => [
                header_fetch(
                    1,
                    5,
                    "BODY[HEADER.FIELDS (\"SUBJECT\" \"FROM\")]",
                    "Subject: one\r\nFrom: a@b.c\r\n\r\n",
                    "\r\n",
                ),
                "* 4 EXPUNGED\r\n".to_string(),
                "* XFOO bar\r\n".to_string(),
                header_fetch(
                    2,
                    6,
                    "body[header.fields (subject)]",
                    "Subject: two\r\n\r\n",
                    "\n",
                ),
                format!("{tag} OK done\r\n"),
            ]
            .concat(),
            "UID" => format!(
                "* 1 FETCH (UID 5 FLAGS (\\Seen))\r\n* 4 EXPUNGED\r\n* XFOO bar\r\n* 2 FETCH (UID 6 FLAGS ())\n{tag} OK done\r\n"
            ),
            "IDLE" => {
                w.write_all(b"+ idling\r\n* 4 EXPUNGED\r\n").await?;
                let done = lines.next_line().await?.unwrap_or_default();
                assert_eq!(done, "DONE");
                format!("{tag} OK idle done\r\n")
            }
            "LOGOUT" => {
                w.write_all(format!("* BYE bye\r\n{tag} OK\r\n").as_bytes())
                    .await?;
                return Ok(());
            }
            _ => format!("{tag} BAD unknown\r\n"),
        };
        w.write_all(reply.as_bytes()).await?;
    }
    Ok(())
}

async fn start(auth: Auth) -> (Arc<Script>, ServerConfig) {
    let (script, server, _) = start_with(auth, After::Normal).await;
    (script, server)
}

async fn start_with(
    auth: Auth,
    after_login: After,
) -> (
    Arc<Script>,
    ServerConfig,
    tokio::sync::mpsc::UnboundedReceiver<Instant>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, accepts) = tokio::sync::mpsc::unbounded_channel();
    let script = Arc::new(Script {
        auth,
        after_login,
        accepted,
        connections: AtomicUsize::new(0),
        log: Mutex::new(Vec::new()),
    });
    let s = Arc::clone(&script);
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            let _ = s.accepted.send(Instant::now());
            tokio::spawn(serve_one(sock, Arc::clone(&s)));
        }
    });
    let server = ServerConfig {
        protocol: Protocol::Imap,
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        username: "alice".into(),
        password: PasswordSource::None,
        ca_file: None,
        tls_fingerprint: None,
        allow_plaintext_auth: true,
        poll_interval: None,
        compress: None,
        leave_on_server: true,
        delete_after_days: None,
    };
    (script, server, accepts)
}

async fn connect(server: &ServerConfig) -> Result<Imap, tern::sync::SyncError> {
    let tls = tern::net::tls_config(None).unwrap();
    Imap::connect(server, Some(&Secret::new(PASSWORD)), tls).await
}

fn log(script: &Script) -> Vec<String> {
    script.log.lock().unwrap().clone()
}

#[tokio::test]
async fn a_session_survives_bare_lf_and_responses_imap_proto_cannot_read() {
    let (script, server) = start(Auth::BareLf).await;
    let mut imap = connect(&server).await.expect("login over bare LF lines");
    assert_eq!(script.connections.load(Ordering::SeqCst), 1);
    assert!(!log(&script).iter().any(|l| l.ends_with("LOGIN")));

    let sel = imap.select("INBOX").await.unwrap();
    assert_eq!((sel.exists, sel.uidvalidity), (2, Some(7)));
    imap.take_pending();
    // A clean answer leaves the mailbox alone.
    assert_eq!(imap.uids().await.unwrap(), [5, 6]);
    assert!(!imap.take_pending().unplaced);

    // Garbage amid the header FETCH: both rows arrive, the mailbox is marked for a resync.
    let rows = imap.fetch_headers("1:*", true).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.uid).collect::<Vec<_>>(), [5, 6]);
    assert_eq!(rows[0].header, b"Subject: one\r\nFrom: a@b.c\r\n\r\n");
    assert_eq!(rows[1].header, b"Subject: two\r\n\r\n");
    assert!(imap.take_pending().unplaced);

    // The same through tern's own response loop (FETCH FLAGS).
    let flags = imap.fetch_flags(None).await.unwrap().flags;
    assert_eq!(flags.len(), 2);
    assert!(flags[0].1.seen && !flags[1].1.seen);
    assert!(imap.take_pending().unplaced);

    // And the session still works.
    assert_eq!(imap.uids().await.unwrap(), [5, 6]);
    assert!(!imap.take_pending().unplaced);

    // An unreadable response during IDLE ends it at once, marked for a resync.
    let started = std::time::Instant::now();
    let u = imap
        .idle(Duration::from_secs(20), std::future::pending::<()>())
        .await
        .unwrap();
    assert!(u.unplaced && u.changed(), "{u:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    imap.logout().await;
}

#[tokio::test]
async fn a_broken_authenticate_falls_back_to_login_on_a_new_connection() {
    for auth in [Auth::Bad, Auth::Unreadable] {
        let (script, server) = start(auth).await;
        let mut imap = connect(&server)
            .await
            .expect("LOGIN after a failed AUTHENTICATE");
        assert_eq!(script.connections.load(Ordering::SeqCst), 2, "{auth:?}");
        let log = log(&script);
        assert!(log.contains(&"0 AUTHENTICATE".to_string()), "{log:?}");
        assert!(log.contains(&"1 LOGIN".to_string()), "{log:?}");
        assert_eq!(imap.uids().await.unwrap(), [5, 6], "{auth:?}");
        imap.logout().await;
    }
}

#[tokio::test]
async fn a_clear_no_is_an_auth_error_without_fallback() {
    let (script, server) = start(Auth::No).await;
    let e = connect(&server).await.err().expect("refused");
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert!(e.message.contains("Invalid credentials"), "{e}");
    assert!(!e.to_string().contains(PASSWORD), "{e}");
    assert_eq!(script.connections.load(Ordering::SeqCst), 1);
    assert!(!log(&script).iter().any(|l| l.ends_with("LOGIN")));
}

/// The review's reconnect storm: a server that logs tern in and then answers nothing it can use
/// was retried 18 times in 20 s (the backoff started over at each login), each retry logging
/// 14-22 KB of the server's bytes. Now a failure after the login counts: a refused or
/// unreadable answer waits at least half of `backoff_max` and the waits double; the error the
/// user sees is one short, clean line.
#[tokio::test]
async fn a_server_that_refuses_everything_after_login_is_not_hammered() {
    use tern::domain::ConnState;
    use tern::worker::{Event, Timing};

    let (script, server, mut accepts) = start_with(Auth::BareLf, After::RefuseAll).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"{}\"\n[[account]]\nname = \"scripted\"\nemail = \"alice@example.test\"\n\
             [account.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
             allow_plaintext_auth = true\nusername = \"alice\"\npassword_command = \"echo {PASSWORD}\"\n",
            data.display(),
            server.port
        ),
    )
    .unwrap();
    let config = tern::config::Config::load(&cfg).unwrap();
    let store = tern::store::StoreHandle::open_in_dir(&config.data_dir).unwrap();
    let (tx, mut events) = tern::worker::events();
    let backoff_max = Duration::from_secs(2);
    let (_engine, task) = tern::runtime::start_worker(
        config.accounts[0].clone(),
        store,
        tx,
        Timing {
            backoff_max,
            ..Timing::default()
        },
    )
    .await
    .unwrap();
    let mut at = Vec::new();
    for _ in 0..3 {
        let t = tokio::time::timeout(Duration::from_secs(20), accepts.recv())
            .await
            .expect("the engine connects again within 20 s")
            .unwrap();
        at.push(t);
    }
    task.abort();
    let mut offline = Vec::new();
    while let Some(e) = events.try_recv() {
        if let Event::State {
            state: ConnState::Offline(why),
            ..
        } = e
        {
            offline.push(why);
        }
    }
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    // Half of backoff_max at least, then twice that (plus up to a quarter of jitter).
    assert!(gaps[0] >= backoff_max / 2, "{gaps:?}");
    assert!(
        gaps[1] >= backoff_max,
        "the wait doubles: {gaps:?} {:?} {offline:?}",
        log(&script)
    );
    assert!(gaps[1] <= backoff_max * 2, "{gaps:?}");
    assert!(!offline.is_empty(), "the engine said it was offline");
    for why in &offline {
        assert!(why.len() <= 400, "a long error: {} bytes", why.len());
        assert!(
            !why.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "control characters in {why:?}"
        );
        assert!(
            !why.contains("[27,") && !why.contains("27, 91"),
            "a byte array: {why}"
        );
    }
}

/// async-imap ends a LIST or FETCH stream at the end of the connection as it does at the
/// tagged OK: a LIST cut short read as the whole list (mailboxes gone), a FETCH cut short as
/// "no such message". Each is an error now, and a refused LIST too.
#[tokio::test]
async fn an_answer_cut_short_or_refused_is_an_error_not_an_empty_result() {
    let (_script, server, _) = start_with(Auth::BareLf, After::Cut).await;
    let mut imap = connect(&server).await.unwrap();
    let e = imap.list().await.expect_err("a LIST cut short");
    assert_eq!(e.kind, ErrorKind::Network, "{e}");
    let mut imap = connect(&server).await.unwrap();
    let e = imap.fetch_body(5).await.expect_err("a FETCH cut short");
    assert_eq!(e.kind, ErrorKind::Network, "{e}");

    let (_script, server, _) = start_with(Auth::BareLf, After::RefuseAll).await;
    let mut imap = connect(&server).await.unwrap();
    let e = imap.list().await.expect_err("a refused LIST");
    assert_eq!(e.kind, ErrorKind::Refused, "{e}");
    assert!(e.to_string().len() < 400, "{e}");
}
