//! Memory per opened message: peak RSS of opening one message in the reader the way the TUI
//! does it (the cache hands over the message, whole up to 4 MiB, else its skeleton read in
//! chunks; then parse_for_reader and the real view code drawn on ratatui's TestBackend,
//! 150x40, a few frames scrolled), for a normal message and big ones. Each case runs in fresh
//! child processes (this binary re-executed): one stores the message in a cache on disk, the
//! next opens it, so one case's peak does not hide another's and the message built for the
//! cache is not in the reader's peak.
//!
//! Run: `cargo bench --bench memory`

use std::process::Command;
use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use tern::app::state::{AppState, Pane, ReaderState};
use tern::config::Layout;
use tern::domain::message;
use tern::domain::{Address, Envelope, Flags, MailboxId, MsgId, Role, Uid};
use tern::store::{AccountKind, NewMessage, ReaderMessage, Store};
use tern::ui::theme::Theme;

#[path = "mail/mod.rs"]
mod mail;

use mail::{MB, status_mib};
const CASES: &[(&str, &str)] = &[
    ("normal", "4 KB text/plain"),
    ("html-5mb", "5 MB text/html, many lines"),
    ("line-5mb", "5 MB text/plain, one line"),
    ("attach-50mb", "50 MB: text + base64 attachment"),
    ("html-50mb", "50 MB text/html"),
    ("text-50mb", "50 MB text/plain, base64"),
    ("source-5mb", "5 MB one line, raw source view (M)"),
    ("source-50mb", "50 MB attachment, raw source view"),
    ("hostile", "tests/hostile + 3 huge ones, in turn"),
];
/// Targets from the review, MiB.
const TUI_TARGET: f64 = 50.0;

const HEAD: &str = "From: Sender <s@example.com>\r\nTo: me@example.com\r\n\
Subject: big one\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\nMessage-ID: <big@example.com>\r\n\
MIME-Version: 1.0\r\n";

/// The case's messages.
fn build(case: &str) -> Vec<Vec<u8>> {
    if case != "hostile" {
        return vec![build_one(case)];
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/hostile")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    let mut out: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("hostile message"))
        .collect();
    // As tests/hostile.rs adds them: 10,000 parts, 500 nested multiparts, 2 MB of deep HTML.
    let mut parts = format!("{HEAD}Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n");
    for i in 0..10_000 {
        parts += &format!(
            "--p\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"p{i}\x1b[31m\u{202e}.txt\"\r\n\r\n{i}\r\n"
        );
    }
    parts += "--p--\r\n";
    out.push(parts.into_bytes());
    let mut nested = HEAD.to_string();
    for i in 0..500 {
        nested += &format!("Content-Type: multipart/mixed; boundary=\"n{i}\"\r\n\r\n--n{i}\r\n");
    }
    nested += "Content-Type: text/plain\r\n\r\ndeep\r\n";
    for i in (0..500).rev() {
        nested += &format!("--n{i}--\r\n");
    }
    out.push(nested.into_bytes());
    let mut html = format!("{HEAD}Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>");
    html += &"<div>".repeat(5000);
    while html.len() < 2 * MB {
        html += "<span>filler \x1b[31m text</span> ";
    }
    html += &"</div>".repeat(5000);
    out.push(html.into_bytes());
    out
}

fn build_one(case: &str) -> Vec<u8> {
    let mut raw = Vec::with_capacity(52 * MB);
    raw.extend_from_slice(HEAD.as_bytes());
    let kind = match case {
        "source-5mb" => "line-5mb",
        "source-50mb" => "attach-50mb",
        other => other,
    };
    mail::append_body(kind, &mut raw);
    raw
}

/// Store the case's messages in a cache in `dir`.
fn setup(case: &str, dir: &str) {
    let raws = build(case);
    let mut store = Store::open(&std::path::Path::new(dir).join("cache.sqlite3")).unwrap();
    let a = store
        .upsert_account("bench", "me@example.com", AccountKind::Imap)
        .unwrap();
    let mb = store
        .upsert_mailbox(a, "INBOX", Some('/'), Some(Role::Inbox))
        .unwrap();
    for (i, raw) in raws.iter().enumerate() {
        let ids = store
            .insert_messages(
                mb,
                &[NewMessage {
                    uid: Uid(i as u32 + 1),
                    meta: message::parse(raw).meta,
                    flags: Flags::default(),
                    internal_date: Some(1_795_510_800),
                    raw: Some(raw),
                }],
            )
            .unwrap();
        assert_eq!(ids, vec![MsgId(i as i64 + 1)]);
    }
    println!("{}", raws.len());
}

/// One case, in this process, from the cache in `dir` (its `n` messages opened in turn):
/// prints `peak_mib after_mib before_mib millis`.
fn run_case(case: &str, dir: &str, n: i64) {
    let store = Store::open(&std::path::Path::new(dir).join("cache.sqlite3")).unwrap();
    let before = status_mib("VmRSS:");
    let (w, h) = (150u16, 40u16);
    let start = Instant::now();
    let mut state = AppState::new(Layout::Auto, "bench");
    state.size = Rect::new(0, 0, w, h);
    state.fullscreen = true;
    state.focus = Pane::Reader;
    state.show_source = case.starts_with("source");
    let theme = Theme::default();
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    for id in 1..=n {
        // The view of the message before goes when this one comes, as in the reader.
        state.reader = None;
        let view = match store.message_for_reader(MsgId(id)).unwrap().unwrap() {
            ReaderMessage::Whole(raw) => message::parse_for_reader(&raw, usize::from(w) - 2),
            ReaderMessage::Skeleton(sk) => {
                message::parse_skeleton_for_reader(&sk, usize::from(w) - 2)
            }
        };
        state.reader = Some(ReaderState {
            msg: MsgId(id),
            width: w - 2,
            envelope: Envelope {
                id: MsgId(id),
                mailbox: MailboxId(1),
                uid: Uid(id as u32),
                date: 1_795_510_800,
                from: vec![Address {
                    name: Some("Sender".into()),
                    email: "s@example.com".into(),
                }],
                to: Vec::new(),
                subject: "big one".into(),
                flags: Flags::default(),
                has_attachments: false,
                size: 0,
                preview: String::new(),
                thread: None,
                labels: Vec::new(),
            },
            view: Some(view),
            loading: None,
            scroll: 0,
            fetching: false,
            body_error: None,
        });
        for scroll in [0u16, 30, 1000] {
            if let Some(r) = &mut state.reader {
                r.scroll = scroll;
            }
            term.draw(|f| tern::ui::draw(f, &state, &theme)).unwrap();
        }
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{:.1} {:.1} {:.1} {ms:.0}",
        status_mib("VmHWM:"),
        status_mib("VmRSS:"),
        before
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "case") {
        run_case(
            &args[i + 1],
            &args[i + 2],
            args[i + 3].parse().expect("count"),
        );
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "setup") {
        setup(&args[i + 1], &args[i + 2]);
        return;
    }
    let exe = std::env::current_exe().expect("bench binary path");
    println!(
        "opening messages in the reader from the cache (parse + 3 frames at 150x40 each), one process a case"
    );
    println!(
        "{:<12} {:<34} {:>9} {:>9} {:>10} {:>8}  target",
        "case", "message", "peak MiB", "end MiB", "open MiB*", "ms"
    );
    for (name, what) in CASES {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().to_str().expect("UTF-8 temporary path");
        let set = Command::new(&exe)
            .args(["setup", name, path])
            .output()
            .expect("run setup");
        assert!(
            set.status.success(),
            "{}",
            String::from_utf8_lossy(&set.stderr)
        );
        let n = String::from_utf8_lossy(&set.stdout).trim().to_string();
        let out = Command::new(&exe)
            .args(["case", name, path, &n])
            .output()
            .expect("run case");
        let line = String::from_utf8_lossy(&out.stdout);
        let v: Vec<f64> = line
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        if !out.status.success() || v.len() < 4 {
            println!(
                "{name:<12} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        let ok = if v[0] < TUI_TARGET { "ok" } else { "OVER" };
        println!(
            "{name:<12} {what:<34} {:>9.1} {:>9.1} {:>10.1} {:>8.0}  < {TUI_TARGET} MiB {ok}",
            v[0], v[1], v[2], v[3]
        );
    }
    println!("* RSS with the cache open, before the message is read (part of the peak)");
}
