//! Memory per opened message: peak RSS of opening one message in the reader, the way the TUI
//! does it (parse_for_reader on the raw bytes from the cache, then the real view code drawn on
//! ratatui's TestBackend, 150x40, a few frames scrolled), for a normal message and three big
//! ones. Each case runs in a fresh child process (this binary re-executed with `case <name>`),
//! so one case's peak does not hide another's. The raw message itself is in the peak (the
//! cache hands the reader the whole message).
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
use tern::domain::{Address, Envelope, Flags, MailboxId, MsgId, Uid};
use tern::ui::theme::Theme;

const MB: usize = 1024 * 1024;
const CASES: &[(&str, &str)] = &[
    ("normal", "4 KB text/plain"),
    ("html-5mb", "5 MB text/html, many lines"),
    ("line-5mb", "5 MB text/plain, one line"),
    ("attach-50mb", "50 MB: text + base64 attachment"),
    ("source-5mb", "5 MB one line, raw source view (M)"),
];
/// Targets from the review, MiB.
const TUI_TARGET: f64 = 50.0;

fn status_mib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

const HEAD: &str = "From: Sender <s@example.com>\r\nTo: me@example.com\r\n\
Subject: big one\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\nMessage-ID: <big@example.com>\r\n\
MIME-Version: 1.0\r\n";

fn build(case: &str) -> Vec<u8> {
    let mut raw = Vec::with_capacity(52 * MB);
    raw.extend_from_slice(HEAD.as_bytes());
    match case {
        "normal" => {
            raw.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n\r\n");
            for i in 0..50 {
                raw.extend_from_slice(
                    format!("Line {i} of an ordinary message, > not a quote, see https://example.com/{i}\r\n")
                        .as_bytes(),
                );
            }
        }
        "html-5mb" => {
            raw.extend_from_slice(
                b"Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>\r\n",
            );
            let mut i = 0;
            while raw.len() < 5 * MB {
                raw.extend_from_slice(
                    format!("<p>Paragraph {i} with <b>bold</b> and a <a href=\"https://example.com/{i}\">link</a> in it.</p>\r\n<table><tr><td>cell</td><td>{i}</td></tr></table>\r\n")
                        .as_bytes(),
                );
                i += 1;
            }
            raw.extend_from_slice(b"</body></html>\r\n");
        }
        "line-5mb" | "source-5mb" => {
            raw.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n\r\n");
            let mut i = 0u64;
            while raw.len() < 5 * MB {
                raw.extend_from_slice(format!("word{} ", i % 1000).as_bytes());
                i += 1;
            }
            raw.extend_from_slice(b"\r\n");
        }
        "attach-50mb" => {
            raw.extend_from_slice(
                b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nSee the attached archive.\r\n\r\n--b\r\n\
Content-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=big.bin\r\n\
Content-Transfer-Encoding: base64\r\n\r\n",
            );
            let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\r\n";
            while raw.len() < 50 * MB {
                raw.extend_from_slice(line);
            }
            raw.extend_from_slice(b"--b--\r\n");
        }
        other => panic!("unknown case {other}"),
    }
    raw
}

/// One case, in this process: prints `peak_mib after_mib millis`.
fn run_case(case: &str) {
    let raw = build(case);
    let before = status_mib("VmRSS:");
    let (w, h) = (150u16, 40u16);
    let start = Instant::now();
    let mut state = AppState::new(Layout::Auto, "bench");
    state.size = Rect::new(0, 0, w, h);
    state.fullscreen = true;
    state.focus = Pane::Reader;
    state.show_source = case == "source-5mb";
    let view = message::parse_for_reader(&raw, usize::from(w) - 2);
    drop(raw); // the store's copy goes once the view is built
    state.reader = Some(ReaderState {
        msg: MsgId(1),
        width: w - 2,
        envelope: Envelope {
            id: MsgId(1),
            mailbox: MailboxId(1),
            uid: Uid(1),
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
        },
        view: Some(view),
        loading: None,
        scroll: 0,
        fetching: false,
        body_error: None,
    });
    let theme = Theme::default();
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    for scroll in [0u16, 30, 1000] {
        if let Some(r) = &mut state.reader {
            r.scroll = scroll;
        }
        term.draw(|f| tern::ui::draw(f, &state, &theme)).unwrap();
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
        run_case(&args[i + 1]);
        return;
    }
    let exe = std::env::current_exe().expect("bench binary path");
    println!("opening one message in the reader (parse + 3 frames at 150x40), one process each");
    println!(
        "{:<12} {:<34} {:>9} {:>9} {:>10} {:>8}  target",
        "case", "message", "peak MiB", "end MiB", "raw MiB*", "ms"
    );
    for (name, what) in CASES {
        let out = Command::new(&exe)
            .args(["case", name])
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
    println!("* RSS with the raw message built, before parsing (part of the peak)");
}
