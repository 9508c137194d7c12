//! Memory of the sync engine on hostile and huge mail: the peak RSS of each step, against the
//! real Dovecot the test harness starts. The target (from the issue): the engine stays under
//! 100 MiB on the hostile set and on 5-50 MB messages.
//!
//! Every step runs in a fresh process, so one step's peak does not hide another's; the peak is
//! that process's own VmHWM (ru_maxrss from `wait4` under a small launcher for the steps that
//! end by themselves, /proc/<pid>/status for the ones stopped from here; see `run_measure`):
//!   - `tern sync`: the real binary, headers only (what `tern sync` does for IMAP);
//!   - `tern sync --watch`: the real binary running the engine (the one the TUI runs) until it
//!     reports `idle`: initial sync, then every body up to `offline_attachment_limit`
//!     downloaded (the text only of larger ones) and indexed;
//!   - open: this binary re-executed (`open <config>`): the engine started on the synced cache
//!     and asked for the biggest message's body (`Command::FetchBody`, what opening it in the
//!     reader sends), until `BodyFetched`;
//!   - POP3 `tern sync`: the real binary on a POP3 account (whole messages, always).
//!
//! Cases: the hostile corpus (tests/hostile/*.eml plus the four big hostile messages
//! tests/hostile.rs builds); a 5 MB HTML message and a 5 MB one-line text message; a 50 MB
//! message (text + base64 attachment), with the default 10 MiB limit and with 100 MiB.
//!
//! Run: `cargo bench --bench engine_memory` (as root: the harness starts Dovecot).

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use harness::{ALICE, MailServers};
use tern::config::Config;
use tern::domain::search::parse;
use tern::store::{Store, StoreHandle};
use tern::worker::{self, Event, Timing};

#[path = "mail/mod.rs"]
mod mail;

use mail::{MB, proc_status_mib, status_mib};
/// The target for the engine, MiB.
const TARGET: f64 = 100.0;
/// Deadline for one step (a child is killed after it).
const STEP_TIMEOUT: Duration = Duration::from_secs(600);
const TERN: &str = env!("CARGO_BIN_EXE_tern");

fn pid_status_mib(pid: u32, key: &str) -> f64 {
    proc_status_mib(&format!("/proc/{pid}/status"), key)
}

// ----- the messages -------------------------------------------------------------------------

const HEAD: &str = "From: Sender <s@example.com>\r\nTo: alice@example.test\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n";

/// A big message, as benches/memory.rs builds them.
fn build(kind: &str) -> Vec<u8> {
    let mut raw = Vec::with_capacity(52 * MB);
    raw.extend_from_slice(HEAD.as_bytes());
    raw.extend_from_slice(
        format!("Subject: big {kind}\r\nMessage-ID: <{kind}@example.com>\r\n").as_bytes(),
    );
    mail::append_body(kind, &mut raw);
    raw
}

/// The hostile corpus of tests/hostile.rs: the committed files and the four big cases it
/// builds (a 200 KB header line, 500 nested multiparts, 2,000 parts, a 2 MB HTML body 5,000
/// `<div>`s deep).
fn hostile() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    let mut out: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(out.len() >= 18, "the corpus is in tests/hostile");
    let head = |n: usize, subject: &str, extra: &str| {
        format!(
            "From: Mallory <mallory@example.test>\r\nTo: alice@example.test\r\n\
             Subject: zq{n} {subject}\r\nMessage-ID: <hostile-{n}@example.test>\r\n\
             Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n{extra}"
        )
    };

    let long = "\x1b[31mlong \u{202e}line ".repeat(200 * 1024 / 20);
    out.push(
        format!(
            "{}X-Long: {long}\r\n\r\nbody\r\n",
            head(
                90,
                &format!("long header {}", &long[..long.floor_char_boundary(4000)]),
                ""
            )
        )
        .into_bytes(),
    );

    let mut nested = head(91, "nested", "MIME-Version: 1.0\r\n");
    for i in 0..500 {
        nested += &format!("Content-Type: multipart/mixed; boundary=\"n{i}\"\r\n\r\n--n{i}\r\n");
    }
    nested += "Content-Type: text/plain\r\n\r\ndeep \x1b[2J\r\n";
    for i in (0..500).rev() {
        nested += &format!("--n{i}--\r\n");
    }
    out.push(nested.into_bytes());

    let mut parts = head(
        92,
        "many parts",
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n",
    );
    parts += "--p\r\nContent-Type: text/plain\r\n\r\nbody\r\n";
    for i in 0..2000 {
        parts += &format!(
            "--p\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"p{i}\x1b[31m\u{202e}.txt\"\r\n\r\n{i}\r\n"
        );
    }
    parts += "--p--\r\n";
    out.push(parts.into_bytes());

    let mut html = head(
        93,
        "deep html",
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>",
    );
    html += &"<div>".repeat(5000);
    html += "<p>zq93 \x1b]8;;https://evil.example/\x07x\x1b]8;;\x07</p>";
    let filler = "<span>filler \x1b[31m text</span> ";
    while html.len() < 2_000_000 - 7000 {
        html += filler;
    }
    html += &"</div>".repeat(5000);
    html += "</body></html>\r\n";
    out.push(html.into_bytes());
    out
}

// ----- children -----------------------------------------------------------------------------

/// A step's peak RSS and run time.
struct Peak {
    mib: f64,
    secs: f64,
}

/// Reap `child` with wait4 (after `wait_for` has read what it needs from it); kills it (by its
/// own pid) when the step runs past [`STEP_TIMEOUT`]. Err with its stderr when it failed.
fn finish(
    mut child: Child,
    started: Instant,
    stderr: &Path,
    wait_for: impl FnOnce(&mut Child),
) -> Result<Peak, String> {
    let pid = child.id() as libc::pid_t;
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let deadline = Instant::now() + STEP_TIMEOUT;
            while !done.load(Ordering::SeqCst) {
                if Instant::now() > deadline {
                    // SAFETY: kill(2) on our own unreaped child's pid.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    wait_for(&mut child);
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child's pid, with valid pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    done.store(true, Ordering::SeqCst);
    let _ = watchdog.join();
    let secs = started.elapsed().as_secs_f64();
    let ok = r == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !ok {
        let err = std::fs::read_to_string(stderr).unwrap_or_default();
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("exit status {status:#x}: {}", tail.join(" | ")));
    }
    Ok(Peak {
        mib: usage.ru_maxrss as f64 / 1024.0,
        secs,
    })
}

fn spawn(cmd: &mut Command, stderr: &Path) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .expect("start the child")
}

/// `tern --config cfg sync`, to its end, under this binary re-executed as `measure` (see
/// [`run_measure`]): its peak as the launcher reports it.
fn tern_sync(cfg: &Path) -> Result<Peak, String> {
    let err = cfg.with_file_name("sync.stderr");
    let started = Instant::now();
    let child = spawn(
        Command::new(std::env::current_exe().unwrap())
            .args(["measure", TERN, "--config"])
            .arg(cfg)
            .arg("sync"),
        &err,
    );
    let mut out = String::new();
    finish(child, started, &err, |c| {
        let _ = c.stdout.take().unwrap().read_to_string(&mut out);
    })?;
    let mib = out
        .trim()
        .parse::<f64>()
        .map_err(|e| format!("{e}: {out:?}"))?;
    Ok(Peak {
        mib,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// The launcher: run `cmd` (stdout to /dev/null, stderr inherited), reap it with wait4 and
/// print its ru_maxrss in MiB; exit 1 when it failed.
///
/// Why a launcher: Linux starts a child's ru_maxrss at the high-water mark of the memory it
/// was spawned from (std spawns with vfork, and exec keeps the old image's peak), so a child
/// of the bench process would report the bench's own peak (the 50 MB message it built) when
/// that is higher. The launcher is a fresh small image: what it spawns starts at its peak
/// (~5 MiB), below anything measured here.
#[allow(clippy::zombie_processes)] // reaped below with wait4 (which gives its rusage), not wait
fn run_measure(cmd: &[String]) {
    let child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the command");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child's pid, with valid pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    println!("{:.1}", usage.ru_maxrss as f64 / 1024.0);
    if r != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        eprintln!("{cmd:?}: status {status:#x}");
        std::process::exit(1);
    }
}

/// `tern --config cfg sync --watch` until its engine reports `idle` (everything synced, every
/// body it keeps offline downloaded and indexed), then SIGTERM. The peak: its VmHWM read
/// then (the image's own high-water mark; see [`run_measure`] for why not ru_maxrss).
fn tern_watch(cfg: &Path) -> Result<Peak, String> {
    let err = cfg.with_file_name("watch.stderr");
    let started = Instant::now();
    let child = Command::new(TERN)
        .arg("--config")
        .arg(cfg)
        .args(["sync", "--watch"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tern sync --watch");
    let mut log = String::new();
    let mut idle = None;
    let peak = finish(child, started, &err, |c| {
        let lines = BufReader::new(c.stderr.take().unwrap()).lines();
        for line in lines.map_while(Result::ok) {
            log.push_str(&line);
            log.push('\n');
            if line.ends_with(": idle") {
                idle = Some(pid_status_mib(c.id(), "VmHWM:"));
                // SAFETY: kill(2) on our own unreaped child's pid.
                unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
                // read on to EOF (the child closes stderr as it exits)
            }
        }
    });
    std::fs::write(&err, &log).unwrap();
    match (peak, idle) {
        (Ok(p), Some(mib)) => Ok(Peak { mib, secs: p.secs }),
        (Ok(_), None) => Err(format!("never idle: {log}")),
        (Err(e), _) => Err(e),
    }
}

/// This binary re-executed as `open <cfg>`: the engine asked for the biggest message's body.
fn open_child(cfg: &Path) -> Result<(Peak, String), String> {
    let err = cfg.with_file_name("open.stderr");
    let started = Instant::now();
    let child = spawn(
        Command::new(std::env::current_exe().unwrap())
            .arg("open")
            .arg(cfg),
        &err,
    );
    let mut out = String::new();
    let peak = finish(child, started, &err, |c| {
        let _ = c.stdout.take().unwrap().read_to_string(&mut out);
    })?;
    Ok((peak, out.trim().to_string()))
}

/// The child side of [`open_child`]: start the engine on the synced cache, send FetchBody for
/// the biggest message (as opening it does), wait for it, shut the engine down. Prints
/// `<VmHWM before> <VmHWM after>` in MiB.
fn run_open(cfg: &Path) {
    let config = Config::load(cfg).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = StoreHandle::open_in_dir(&config.data_dir).unwrap();
        let biggest = store
            .call(|s| {
                let all = parse("larger:0", 0, 0).unwrap();
                Ok(s.search(&all, 1000)?.into_iter().max_by_key(|e| e.size))
            })
            .await
            .unwrap()
            .expect("a synced message");
        let before = status_mib("VmHWM:");
        let (tx, mut events) = tern::worker::events();
        let (engine, task) = tern::runtime::start_worker(
            config.accounts[0].clone(),
            store.clone(),
            tx,
            Timing::default(),
        )
        .await
        .unwrap();
        engine.send(worker::Command::FetchBody { msg: biggest.id });
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(Event::BodyFetched { msg })) if msg == biggest.id => break,
                Ok(Some(Event::BodyFailed { error, .. })) => panic!("FetchBody: {error}"),
                Ok(Some(_)) => {}
                other => panic!("the body never came: {other:?}"),
            }
        }
        engine.send(worker::Command::Shutdown);
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the engine stops")
            .unwrap();
        println!("{before:.1} {:.1}", status_mib("VmHWM:"));
    });
}

// ----- checks on the cache (in the parent) --------------------------------------------------

/// (messages, with a body, partial bodies, bytes of the biggest body) in the cache.
fn cached(cfg: &Path) -> (usize, usize, usize, usize) {
    let config = Config::load(cfg).unwrap();
    let store = Store::open_in_dir(&config.data_dir).unwrap();
    let all = parse("larger:0", 0, 0).unwrap();
    let (mut n, mut bodies, mut partial, mut biggest) = (0, 0, 0, 0);
    for e in store.search(&all, 10_000).unwrap() {
        n += 1;
        if let Some(raw) = store.raw_message(e.id).unwrap() {
            bodies += 1;
            biggest = biggest.max(raw.len());
            partial += usize::from(store.body_is_partial(e.id).unwrap());
        }
    }
    (n, bodies, partial, biggest)
}

// ----- the run ------------------------------------------------------------------------------

/// `tern sync` of alice's mail over POP3 (whole messages) from a fresh cache in `dir`.
fn pop3_row(servers: &MailServers, dir: &Path, case: &'static str, what: &str) -> Row {
    std::fs::create_dir_all(dir).unwrap();
    let pop = servers.write_tern_pop3_config(
        dir,
        &ALICE,
        "tls",
        servers.pop3s_port(),
        ALICE.password,
        "",
    );
    let peak = tern_sync(&pop);
    let (m, b, _, big) = cached(&pop);
    Row {
        case,
        what: format!("POP3 tern sync, {what}"),
        peak,
        note: format!("{b}/{m} bodies, biggest {:.1} MiB", big as f64 / MB as f64),
    }
}

struct Row {
    case: &'static str,
    what: String,
    peak: Result<Peak, String>,
    note: String,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "measure") {
        run_measure(&args[2..]);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "open") {
        run_open(Path::new(&args[i + 1]));
        return;
    }
    let servers = MailServers::start();
    let root = tempfile::tempdir().unwrap();
    let mut rows: Vec<Row> = Vec::new();
    let mut dirs = 0;
    let mut fresh = |keys: &str| -> PathBuf {
        dirs += 1;
        let dir = root.path().join(format!("run{dirs}"));
        std::fs::create_dir_all(&dir).unwrap();
        servers.write_tern_config_with(
            &dir,
            &ALICE,
            "tls",
            servers.imaps_port(),
            ALICE.password,
            keys,
        )
    };
    let empty_inbox = || {
        servers.doveadm(&["expunge", "-u", ALICE.email, "mailbox", "INBOX", "all"]);
    };
    let bodies = "offline = \"bodies\"";

    // 1. hostile
    let corpus = hostile();
    let hostile_mib = corpus.iter().map(Vec::len).sum::<usize>() as f64 / MB as f64;
    let n = corpus.len();
    for raw in &corpus {
        servers.deliver(ALICE.email, raw);
    }
    drop(corpus);
    let cfg = fresh(bodies);
    let what = format!("{n} msgs, {hostile_mib:.1} MiB");
    rows.push(Row {
        case: "hostile",
        what: format!("tern sync (headers), {what}"),
        peak: tern_sync(&cfg),
        note: String::new(),
    });
    let peak = tern_watch(&cfg);
    let (m, b, p, _) = cached(&cfg);
    rows.push(Row {
        case: "hostile",
        what: format!("engine: sync + bodies + index, {what}"),
        peak,
        note: format!("{b}/{m} bodies ({p} partial)"),
    });
    eprintln!("hostile done");

    // 2. big-5mb
    empty_inbox();
    for kind in ["html-5mb", "line-5mb"] {
        servers.deliver(ALICE.email, &build(kind));
    }
    let cfg = fresh(bodies);
    let what = "5 MB HTML + 5 MB 1-line text";
    rows.push(Row {
        case: "big-5mb",
        what: format!("tern sync (headers), {what}"),
        peak: tern_sync(&cfg),
        note: String::new(),
    });
    let peak = tern_watch(&cfg);
    let (m, b, p, big) = cached(&cfg);
    rows.push(Row {
        case: "big-5mb",
        what: format!("engine: sync + bodies + index, {what}"),
        peak,
        note: format!(
            "{b}/{m} bodies ({p} partial), biggest {:.1} MiB",
            big as f64 / MB as f64
        ),
    });
    rows.push(pop3_row(
        &servers,
        &root.path().join("pop3-5mb"),
        "big-5mb",
        what,
    ));
    eprintln!("big-5mb done");

    // 3. big-50mb
    empty_inbox();
    let raw = build("attach-50mb");
    let size = raw.len() as f64 / MB as f64;
    servers.deliver(ALICE.email, &raw);
    drop(raw);
    let cfg = fresh(bodies);
    let what = format!("{size:.0} MiB text + base64 attachment");
    rows.push(Row {
        case: "big-50mb",
        what: format!("tern sync (headers), {what}"),
        peak: tern_sync(&cfg),
        note: String::new(),
    });
    let peak = tern_watch(&cfg);
    let (m, b, p, big) = cached(&cfg);
    rows.push(Row {
        case: "big-50mb",
        what: "engine: sync + text prefetch (10 MiB limit)".into(),
        peak,
        note: format!(
            "{b}/{m} bodies ({p} partial), {:.2} MiB kept",
            big as f64 / MB as f64
        ),
    });
    let opened = open_child(&cfg);
    let (m, b, p, big) = cached(&cfg);
    let (peak, note) = match opened {
        Ok((peak, hwm)) => {
            let v: Vec<f64> = hwm
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            let peak = match v[..] {
                [_, after] => Ok(Peak {
                    mib: after,
                    secs: peak.secs,
                }),
                _ => Err(format!("open printed {hwm:?}")),
            };
            (peak, format!("VmHWM before/after the fetch {hwm} MiB; "))
        }
        Err(e) => (Err(e), String::new()),
    };
    rows.push(Row {
        case: "big-50mb",
        what: "engine: open it (FetchBody, whole body)".into(),
        peak,
        note: format!(
            "{note}{b}/{m} bodies ({p} partial), {:.1} MiB kept",
            big as f64 / MB as f64
        ),
    });
    let cfg = fresh(&format!("{bodies}\noffline_attachment_limit = \"100 MiB\""));
    let peak = tern_watch(&cfg);
    let (m, b, p, big) = cached(&cfg);
    rows.push(Row {
        case: "big-50mb",
        what: "engine: sync + whole body (100 MiB limit)".into(),
        peak,
        note: format!(
            "{b}/{m} bodies ({p} partial), {:.1} MiB kept",
            big as f64 / MB as f64
        ),
    });
    rows.push(pop3_row(
        &servers,
        &root.path().join("pop3-50mb"),
        "big-50mb",
        &what,
    ));

    println!("\nsync engine peak RSS (VmHWM of a fresh process per step), real Dovecot");
    println!(
        "{:<9} {:<58} {:>9} {:>6}  {:<16} note",
        "case", "what", "peak MiB", "s", "target"
    );
    for r in &rows {
        match &r.peak {
            Ok(p) => {
                let ok = if p.mib < TARGET { "ok" } else { "OVER" };
                println!(
                    "{:<9} {:<58} {:>9.1} {:>6.1}  < {TARGET} MiB {ok:<4} {}",
                    r.case, r.what, p.mib, p.secs, r.note
                );
            }
            Err(e) => println!("{:<9} {:<58} failed: {e}", r.case, r.what),
        }
    }
}
