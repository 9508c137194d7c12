//! A hostile corpus through the whole client: every message of tests/hostile/*.eml (written by
//! tests/hostile/generate.py) and a few big ones built here is delivered into the real Dovecot,
//! synced by the `tern sync` binary with bodies, then listed, searched (both `--json` and the
//! table), opened in the reader (the real update loop and view drawn on a TestBackend: the
//! body, every header, the source, the attachments overlay), and every attachment saved with
//! the app's own save function. Nothing that comes out (screen cells, JSON, file names) may
//! carry an escape, a C0/C1 control or a bidi override; nothing is written outside the
//! download dir; nothing panics; every step ends in bounded time.

mod harness;

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

use harness::{ALICE, MailServers};
use tern::app::effects::{execute_on, save_attachment};
use tern::app::msg::{Cmd, Msg};
use tern::app::state::AppState;
use tern::app::update::update;
use tern::config::{Config, Layout};
use tern::domain::keys::Action;
use tern::domain::search::parse;
use tern::store::{Store, StoreHandle};
use tern::ui::{self, theme::Theme};
use tern::worker::{self, Event, Timing};

/// Deadline for one run of the binary (sync of the whole corpus included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(40);
/// Deadline for opening, drawing and saving the attachments of one message. Generous: in a
/// debug build the 2 MB HTML part alone takes ~10 s to lay out (twice: once for the text, once
/// for the reader's styles), not from its nesting (a flat one of the same size takes as long).
const PER_MESSAGE: Duration = Duration::from_secs(30);
/// Files the traversal case names outside any download dir.
const ESCAPED: [&str; 2] = ["/tmp/tern-hostile-escape", "/tmp/tern-hostile-absolute"];

/// A character no output may carry: C0 controls (but `\n` and `\t` where `lines` allows),
/// DEL, C1 controls, bidi embeddings/overrides/isolates.
fn forbidden(c: char, lines: bool) -> bool {
    (c.is_control() && !(lines && (c == '\n' || c == '\t')))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn assert_clean(what: &str, s: &str, lines: bool) {
    if let Some((i, c)) = s.char_indices().find(|&(_, c)| forbidden(c, lines)) {
        let from = s[..i].char_indices().rev().nth(40).map_or(0, |(j, _)| j);
        let to = s[i..]
            .char_indices()
            .nth(40)
            .map_or(s.len(), |(j, _)| i + j);
        panic!("{what}: {c:?} at byte {i}, in {:?}", &s[from..to]);
    }
}

/// Every line of `out` is a JSON object whose strings (and keys), decoded, are clean: what
/// reads the JSON gets no escape either, not only the JSON text.
fn assert_json_clean(what: &str, out: &str) {
    fn walk(what: &str, v: &serde_json::Value) {
        match v {
            serde_json::Value::String(s) => assert_clean(what, s, false),
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(what, v)),
            serde_json::Value::Object(o) => o.iter().for_each(|(k, v)| {
                assert_clean(what, k, false);
                walk(what, v)
            }),
            _ => {}
        }
    }
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v.is_object(), "{what}: {line}");
        walk(what, &v);
    }
}

/// The message's search token: a word in its Subject (and body) that no other one has.
fn token(n: usize) -> String {
    format!("zq{n:02}")
}

/// The corpus: (name, token, bytes), the committed files and the big cases.
fn corpus() -> Vec<(String, String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    let mut out: Vec<(String, String, Vec<u8>)> = files
        .iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_str().unwrap().to_string();
            let n: usize = name[..2].parse().unwrap();
            (name, token(n), std::fs::read(p).unwrap())
        })
        .collect();
    assert!(out.len() >= 18, "the corpus is in tests/hostile");
    let head = |n: usize, subject: &str, extra: &str| {
        format!(
            "From: Mallory <mallory@example.test>\r\nTo: alice@example.test\r\n\
             Subject: {} {subject}\r\nMessage-ID: <hostile-{n}@example.test>\r\n\
             Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n{extra}",
            token(n)
        )
    };
    let mut add = |n: usize, name: &str, raw: String| {
        out.push((format!("{n}-{name}"), token(n), raw.into_bytes()))
    };

    // A 200 KB single header line, escapes all along it.
    let long = "\x1b[31mlong \u{202e}line ".repeat(200 * 1024 / 20);
    add(
        90,
        "200k-header",
        format!(
            "{}X-Long: {long}\r\n\r\nbody {}\r\n",
            head(
                90,
                &format!("long header {}", &long[..long.floor_char_boundary(4000)]),
                ""
            ),
            token(90)
        ),
    );

    // 500 levels of nested multipart.
    let mut nested = head(91, "nested", "MIME-Version: 1.0\r\n");
    for i in 0..500 {
        nested += &format!("Content-Type: multipart/mixed; boundary=\"n{i}\"\r\n\r\n--n{i}\r\n");
    }
    nested += &format!(
        "Content-Type: text/plain\r\n\r\ndeep {} \x1b[2J\r\n",
        token(91)
    );
    for i in (0..500).rev() {
        nested += &format!("--n{i}--\r\n");
    }
    add(91, "500-nested", nested);

    // 2,000 parts, each an attachment with an escape in its name.
    let mut parts = head(
        92,
        "many parts",
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n",
    );
    parts += &format!(
        "--p\r\nContent-Type: text/plain\r\n\r\nbody {}\r\n",
        token(92)
    );
    for i in 0..2000 {
        parts += &format!(
            "--p\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"p{i}\x1b[31m\u{202e}.txt\"\r\n\r\n{i}\r\n"
        );
    }
    parts += "--p--\r\n";
    add(92, "2000-parts", parts);

    // A 2 MB HTML body, 5,000 <div>s deep.
    let mut html = head(
        93,
        "deep html",
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>",
    );
    html += &"<div>".repeat(5000);
    html += &format!(
        "<p>{} \x1b]8;;https://evil.example/\x07x\x1b]8;;\x07</p>",
        token(93)
    );
    let filler = "<span>filler \x1b[31m text</span> ";
    while html.len() < 2_000_000 - 7000 {
        html += filler;
    }
    html += &"</div>".repeat(5000);
    html += "</body></html>\r\n";
    add(93, "2mb-deep-html", html);
    out
}

/// Run the tern binary with `args` under [`COMMAND_TIMEOUT`]; it must exit 0. Returns stdout
/// (stderr is checked too).
fn tern(cfg: &Path, args: &[&str]) -> String {
    let child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--config")
        .arg(cfg)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(COMMAND_TIMEOUT) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("tern {args:?} did not finish in {COMMAND_TIMEOUT:?}");
        }
    };
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "tern {args:?}: {}\n{stderr}",
        out.status
    );
    assert_clean(&format!("tern {args:?} stdout"), &stdout, true);
    assert_clean(&format!("tern {args:?} stderr"), &stderr, true);
    stdout
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                out.insert(e.path());
            }
        }
    }
    out
}

/// Run alice's engine until the body of each of the `n` messages is in the cache.
fn prefetch_bodies(config: &Config, n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = StoreHandle::open_in_dir(&config.data_dir).unwrap();
        let (tx, mut events) = tern::worker::events();
        let (engine, task) = tern::runtime::start_worker(
            config.accounts[0].clone(),
            store.clone(),
            tx,
            Timing::default(),
        )
        .await
        .unwrap();
        let deadline = tokio::time::Instant::now() + COMMAND_TIMEOUT;
        loop {
            let cached = store
                .call(|s| {
                    let all = parse("larger:0", 0, 0).unwrap();
                    let mut n = 0;
                    for e in s.search(&all, 100_000)? {
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
                other => panic!("bodies never all arrived ({cached}/{n}): {other:?}"),
            }
        }
        engine.send(worker::Command::Shutdown);
        tokio::time::timeout(COMMAND_TIMEOUT, task)
            .await
            .expect("the engine stops")
            .unwrap();
    });
}

/// The app over the synced cache, driven through the real update loop.
struct App {
    store: Store,
    state: AppState,
}

impl App {
    fn send(&mut self, msg: Msg) {
        let cmds = update(&mut self.state, msg);
        self.run(cmds);
    }

    fn run(&mut self, cmds: Vec<Cmd>) {
        let mut queue: VecDeque<Cmd> = cmds.into();
        while let Some(cmd) = queue.pop_front() {
            if let Some(msg) = execute_on(&mut self.store, cmd).unwrap() {
                queue.extend(update(&mut self.state, msg));
            }
        }
    }

    fn key(&mut self, action: Action) {
        self.send(Msg::ActionTriggered(action));
    }

    /// Draw the whole screen; every cell must be clean. Returns the screen's text.
    fn check_screen(&self, what: &str) -> String {
        let area = self.state.size;
        let mut t = Terminal::new(TestBackend::new(area.width, area.height)).unwrap();
        t.draw(|f| ui::draw(f, &self.state, &Theme::default()))
            .unwrap();
        let text: String = t
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert_clean(what, &text, false);
        text
    }
}

#[test]
fn hostile_mail_leaks_nothing_to_the_terminal_the_json_or_the_disk() {
    let started = Instant::now();
    for p in ESCAPED {
        let _ = std::fs::remove_file(p);
    }
    let corpus = corpus();
    let servers = MailServers::start();
    for (_, _, raw) in &corpus {
        servers.deliver(ALICE.email, raw);
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = servers.write_tern_config_with(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
        "offline = \"bodies\"",
    );
    tern(&cfg, &["sync"]);
    eprintln!("delivered and synced in {:?}", started.elapsed());

    // Bodies: `tern sync` keeps headers; the engine downloads the bodies in the background
    // (offline = "bodies"), and indexes them, as the running client would.
    let config = Config::load(&cfg).unwrap();
    prefetch_bodies(&config, corpus.len());
    eprintln!("bodies cached in {:?}", started.elapsed());

    // Listed: one clean JSON object per message, and the table.
    let list = tern(&cfg, &["list", "--json", "--limit", "1000"]);
    let rows: Vec<serde_json::Value> = list
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), corpus.len(), "{list}");
    assert_json_clean("tern list --json", &list);
    tern(&cfg, &["list", "--limit", "1000"]);

    // Searched: each message found by its token, as JSON and as a table.
    for (name, tok, _) in &corpus {
        let t = Instant::now();
        let found = tern(&cfg, &["search", "--json", tok]);
        assert_eq!(found.lines().count(), 1, "{name}: searching {tok}: {found}");
        assert_json_clean(&format!("{name}: tern search --json {tok}"), &found);
        tern(&cfg, &["search", tok]);
        assert!(
            t.elapsed() < PER_MESSAGE,
            "{name}: search took {:?}",
            t.elapsed()
        );
    }

    // Opened in the reader, every message in turn, and its attachments saved.
    let download = dir.path().join("downloads");
    let before = files_under(dir.path());
    let mut app = App {
        store: Store::open_in_dir(&config.data_dir).unwrap(),
        state: AppState::new(Layout::Auto, "hostile"),
    };
    app.send(Msg::Ticked {
        now: chrono::Utc::now().timestamp(),
        utc_offset: 0,
    });
    app.send(Msg::Resized(Rect::new(0, 0, 150, 40)));
    app.run(vec![Cmd::LoadMailboxes]);
    app.key(Action::NextPane);
    app.check_screen("the inbox");
    assert_eq!(app.state.list.total as usize, corpus.len());
    let mut seen = BTreeSet::new();
    let mut saved = 0;
    let mut hostile = 0;
    for i in 0..corpus.len() {
        let t = Instant::now();
        if i > 0 {
            app.key(Action::Down);
        }
        let reader = app.state.reader.as_ref().unwrap_or_else(|| {
            panic!(
                "row {i}: a message is open: {:?} {:?}",
                app.state.list, app.state.focus
            )
        });
        let id = reader.msg;
        assert!(seen.insert(id), "row {i} opened a new message");
        let view = reader.view.as_ref().expect("the body is cached");
        let subject = reader.envelope.subject.clone();
        let attachments = view.attachments.len();
        let what = format!("message {i} ({subject:.60?})");
        let screen = app.check_screen(&format!("{what}: the reader"));
        let tok = subject.split_whitespace().next().unwrap_or_default();
        assert!(
            tok.starts_with("zq") && screen.contains(tok),
            "{what}: shown\n{screen}"
        );
        // The hostile text really reached the app (and the view cleaned it).
        hostile += usize::from(subject.chars().any(|c| forbidden(c, false)));
        app.key(Action::FullHeaders);
        app.check_screen(&format!("{what}: every header"));
        app.key(Action::FullHeaders);
        app.key(Action::Source);
        app.check_screen(&format!("{what}: the source"));
        app.key(Action::Source);
        if attachments > 0 {
            app.key(Action::Attachments);
            assert!(matches!(
                app.state.overlays.top(),
                Some(tern::app::overlay::Overlay::Attachments(_))
            ));
            app.check_screen(&format!("{what}: the attachments"));
            app.key(Action::Back);
        }

        let raw = app.store.raw_message(id).unwrap().expect("cached");
        for a in 0..attachments {
            let path = save_attachment(&raw, a, &download, false)
                .unwrap_or_else(|e| panic!("{what}: attachment {a}: {e}"));
            assert_eq!(path.parent(), Some(download.as_path()), "{what}: {path:?}");
            let name = path.file_name().unwrap().to_str().expect("UTF-8 name");
            assert_clean(&format!("{what}: attachment {a}'s name"), name, false);
            assert!(
                !name.starts_with('.') && !name.contains(['/', '\\']),
                "{what}: {name:?}"
            );
            saved += 1;
            // The notice the app shows for it.
            if a < 3 {
                app.send(Msg::AttachmentSaved {
                    path: path.clone(),
                    opened: false,
                });
                app.check_screen(&format!("{what}: saving attachment {a}"));
            }
        }
        assert!(t.elapsed() < PER_MESSAGE, "{what}: took {:?}", t.elapsed());
    }

    assert!(
        hostile >= 8,
        "only {hostile} subjects kept a control character"
    );

    // Nothing written outside the download dir.
    for p in ESCAPED {
        assert!(!Path::new(p).exists(), "{p} was written");
    }
    let after = files_under(dir.path());
    let outside: Vec<_> = after
        .difference(&before)
        .filter(|p| !p.starts_with(&download) && !p.starts_with(&config.data_dir))
        .collect();
    assert!(
        outside.is_empty(),
        "written outside the download dir: {outside:?}"
    );
    assert_eq!(files_under(&download).len(), saved);
    eprintln!(
        "{} messages, {saved} attachments, in {:?}",
        corpus.len(),
        started.elapsed()
    );
}
