//! IMAP sync benchmark on the real Dovecot (started by the test harness):
//!   (a) initial header sync of an N-message INBOX next to the floor (the same FETCH read over one
//!       connection with no parsing or storing), (b) unchanged resync, (c) resync after 1,000 flag
//!       changes by another client, (d) peak RSS, (e) time until the newest 50 rows are cached.
//!
//! Run: `cargo bench --bench imap_sync` (N = 100000; `TERN_BENCH_N=20000` for a quicker run).

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use harness::{ALICE, MailServers};
use tern::config::Config;
use tern::domain::ConnState;
use tern::store::StoreHandle;
use tern::sync::pass::{self, Progress, SyncOptions, sync_once};
use tern::worker::Event;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const QUERY: &str = "(UID FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS \
                     (DATE FROM TO CC SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES LIST-ID)])";

/// Peak resident set of this process so far, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// The floor: log in over TLS, SELECT, one FETCH 1:* of the same items, read to the tagged OK.
async fn floor(servers: &MailServers) -> (Duration, usize) {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", servers.imaps_port()))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = servers.tls_connector().connect(name, tcp).await.unwrap();
    let mut s = BufReader::with_capacity(1 << 16, tls);
    let mut line = Vec::new();
    s.read_until(b'\n', &mut line).await.unwrap();
    let started = Instant::now();
    let cmds = format!(
        "a LOGIN {} {}\r\nb SELECT INBOX\r\nc FETCH 1:* {QUERY}\r\n",
        ALICE.email, ALICE.password
    );
    s.get_mut().write_all(cmds.as_bytes()).await.unwrap();
    let mut bytes = 0;
    loop {
        line.clear();
        let n = s.read_until(b'\n', &mut line).await.unwrap();
        assert!(n > 0, "connection closed");
        bytes += n;
        if line.starts_with(b"c OK") {
            break;
        }
        assert!(
            !line.starts_with(b"c NO") && !line.starts_with(b"c BAD"),
            "{}",
            String::from_utf8_lossy(&line)
        );
    }
    (started.elapsed(), bytes)
}

/// Send one tagged command and read to its tagged answer.
async fn roundtrip<S>(s: &mut BufReader<S>, tag: &str, cmd: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    s.get_mut()
        .write_all(format!("{tag} {cmd}\r\n").as_bytes())
        .await
        .unwrap();
    let mut line = Vec::new();
    loop {
        line.clear();
        assert!(
            s.read_until(b'\n', &mut line).await.unwrap() > 0,
            "connection closed"
        );
        if line.starts_with(format!("{tag} ").as_bytes()) {
            return;
        }
    }
}

/// What the server itself needs to answer `cmd` on the mailbox: sent on a logged-in bare
/// connection, timed to its tagged answer.
async fn server_time(servers: &MailServers, cmd: &str) -> Duration {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", servers.imaps_port()))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = servers.tls_connector().connect(name, tcp).await.unwrap();
    let mut s = BufReader::new(tls);
    let mut greeting = Vec::new();
    s.read_until(b'\n', &mut greeting).await.unwrap();
    roundtrip(
        &mut s,
        "a",
        &format!("LOGIN {} {}", ALICE.email, ALICE.password),
    )
    .await;
    roundtrip(&mut s, "b", "ENABLE CONDSTORE").await;
    let t = Instant::now();
    roundtrip(&mut s, "c", cmd).await;
    t.elapsed()
}

fn main() {
    let n: usize = std::env::var("TERN_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let servers = MailServers::start();
    let t = Instant::now();
    servers.populate(ALICE.email, "INBOX", n, 7);
    eprintln!(
        "populated {n} messages in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let dir = match std::env::var_os("TERN_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    // Headers only: the running engine must not start a 100,000-body prefetch mid-bench.
    let cfg_path = servers.write_tern_config_with(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
        "offline = \"headers\"",
    );
    let cfg = Config::load(&cfg_path).unwrap();
    let account = cfg.accounts[0].clone();
    let store = StoreHandle::open_in_dir(&cfg.data_dir).unwrap();
    let inbox_only = SyncOptions {
        mailbox: Some("INBOX".into()),
    };

    // Another client (doveadm) adds or removes a keyword on the 1,000 oldest messages.
    let change_1000_flags = |op: &str, keyword: &str| {
        servers.doveadm(&[
            "flags",
            op,
            "-u",
            ALICE.email,
            keyword,
            "mailbox",
            "INBOX",
            "uid",
            "1:1000",
        ]);
    };
    rt.block_on(async {
        // Warm the server's caches once so both sides read from memory.
        let (_, _) = floor(&servers).await;
        let (floor_time, floor_bytes) = floor(&servers).await;

        let started = Instant::now();
        let first50: Mutex<Option<Duration>> = Mutex::new(None);
        let progress = |p: Progress| {
            if let Progress::Mailbox { done, .. } = p
                && done >= 50
            {
                let mut f = first50.lock().unwrap();
                if f.is_none() {
                    *f = Some(started.elapsed());
                }
            }
        };
        let s = sync_once(&account, &store, &inbox_only, &progress)
            .await
            .unwrap();
        let initial = started.elapsed();
        assert_eq!(s.new, n);
        let rss = peak_rss_mib();

        let t = Instant::now();
        let s = sync_once(&account, &store, &inbox_only, &|_| {})
            .await
            .unwrap();
        let unchanged = t.elapsed();
        assert_eq!((s.new, s.changed, s.removed), (0, 0, 0));

        change_1000_flags("add", "$Bench");
        let t = Instant::now();
        let s = sync_once(&account, &store, &inbox_only, &|_| {})
            .await
            .unwrap();
        let flags = t.elapsed();
        assert_eq!(s.changed, 1000);

        // The same two on a session that is already open, as the running engine does them.
        let t = Instant::now();
        let mut imap = pass::connect(&account).await.unwrap();
        let connect = t.elapsed();
        let t = Instant::now();
        let (s, _) = pass::sync_connected(&mut imap, &account, &store, &inbox_only, &|_| {})
            .await
            .unwrap();
        let unchanged_open = t.elapsed();
        assert_eq!((s.new, s.changed, s.removed), (0, 0, 0));
        change_1000_flags("remove", "$Bench");
        let t = Instant::now();
        let (s, _) = pass::sync_connected(&mut imap, &account, &store, &inbox_only, &|_| {})
            .await
            .unwrap();
        let flags_open = t.elapsed();
        assert_eq!(s.changed, 1000);

        imap.logout().await;

        // The running engine: IDLE on INBOX, another client changes 1,000 flags; timed from
        // the moment the change is committed on the server (doveadm returned) to the engine's
        // event that the cache has them.
        let (tx, mut events) = tern::worker::events();
        let (engine, _task) = tern::runtime::start_worker(
            account.clone(),
            store.clone(),
            tx,
            tern::worker::Timing::default(),
        )
        .await
        .unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(120), events.recv()).await {
                Ok(Some(Event::State {
                    state: ConnState::Idle,
                    ..
                })) => break,
                Ok(Some(_)) => {}
                other => panic!("engine never reached IDLE: {other:?}"),
            }
        }
        change_1000_flags("add", "$Pushed");
        let t = Instant::now();
        loop {
            match tokio::time::timeout(Duration::from_secs(60), events.recv()).await {
                Ok(Some(Event::Changed {
                    mailbox: Some(_), ..
                })) => break,
                Ok(Some(_)) => {}
                other => panic!("the pushed flag changes never arrived: {other:?}"),
            }
        }
        let pushed = t.elapsed();
        let n_pushed = store
            .call(|s| {
                let a = s.account_id("alice")?.unwrap();
                let mb = s.mailbox_id(a, "INBOX")?.unwrap();
                Ok(s.envelopes(mb, 0, u32::MAX)?
                    .iter()
                    .filter(|e| e.flags.keywords.iter().any(|k| k == "$Pushed"))
                    .count())
            })
            .await
            .unwrap();
        assert_eq!(n_pushed, 1000);
        engine.send(tern::worker::Command::Shutdown);

        let status = server_time(
            &servers,
            "STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)",
        )
        .await;
        let select = server_time(&servers, "SELECT INBOX (CONDSTORE)").await;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let first = first50.lock().unwrap().map(ms).unwrap_or(f64::NAN);
        println!("imap_sync: {n} messages in INBOX (real Dovecot, TLS, loopback)");
        println!(
            "  floor (one FETCH, read only)      {:>9.0} ms  ({:.1} MB)",
            ms(floor_time),
            floor_bytes as f64 / 1e6
        );
        println!(
            "  (a) initial header sync            {:>9.0} ms  ({:.2}x the floor)",
            ms(initial),
            initial.as_secs_f64() / floor_time.as_secs_f64()
        );
        println!(
            "  (b) unchanged resync               {:>9.1} ms  (includes connect, TLS and login)",
            ms(unchanged)
        );
        println!(
            "  (c) resync after 1,000 flag changes {:>8.1} ms",
            ms(flags)
        );
        println!(
            "      connect + TLS + login             {:>9.1} ms",
            ms(connect)
        );
        println!(
            "  (b) unchanged, on an open session      {:>9.1} ms",
            ms(unchanged_open)
        );
        println!(
            "  (c) 1,000 flag changes, open session   {:>9.1} ms",
            ms(flags_open)
        );
        println!(
            "  (c) 1,000 flag changes pushed to the running engine (IDLE) {:>6.1} ms",
            ms(pushed)
        );
        println!(
            "      Dovecot alone on this mailbox: STATUS {:.1} ms, SELECT (CONDSTORE) {:.1} ms",
            ms(status),
            ms(select)
        );
        println!("  (d) peak RSS                       {rss:>9.1} MiB (whole bench process)");
        println!("  (e) newest 50 rows cached after    {first:>9.1} ms");
    });
}
