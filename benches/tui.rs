//! TUI benchmark over a cache of N messages in one folder (default 100,000), no server:
//!   (a) start to first complete frame: open the cache, load mailboxes and the first page, draw;
//!   (b) key press to frame, p50/p99/max, over a key sequence that scrolls, pages and jumps to
//!       the oldest and newest page, while another connection writes new mail into the cache the
//!       whole time (as a running sync does), each key's commands executed against the store;
//!       Then the switch of the whole folder to the threaded view;
//!   (c) peak RSS of the process.
//! The frames are drawn by the real update and view code on ratatui's TestBackend (200x50).
//!
//! Run: `cargo bench --bench tui` (`TERN_BENCH_N=20000` for a quicker run).

#[path = "inproc/mod.rs"]
mod inproc;

use inproc::App;

#[path = "../tests/tmux/mod.rs"]
mod tmux;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use tern::app::msg::{Cmd, Msg};
use tern::app::state::AppState;
use tern::config::Layout;
use tern::domain::engine::Event as EngineEvent;
use tern::domain::keys::Action;
use tern::domain::message::MessageMeta;
use tern::domain::{Address, Flags, MailboxId, Uid};
use tern::store::{AccountKind, NewMessage, Store};
use tern::ui::theme::Theme;

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

fn meta(i: u32) -> MessageMeta {
    MessageMeta {
        message_id: Some(format!("<m{i}@bench.example>")),
        in_reply_to: (i % 4 == 3).then(|| format!("<m{}@bench.example>", i - 1)),
        references: Vec::new(),
        date: Some(1_700_000_000 + i64::from(i) * 60),
        from: vec![Address {
            name: Some(format!("Sender {}", i % 500)),
            email: format!("sender{}@example.com", i % 500),
        }],
        to: vec![Address {
            name: None,
            email: "me@example.com".into(),
        }],
        cc: Vec::new(),
        subject: format!("Message number {i} about the quarterly plans"),
        list_id: None,
        has_attachments: i.is_multiple_of(9),
        preview: String::new(),
        body_text: String::new(),
        size: 4000 + i % 5000,
        labels: Vec::new(),
    }
}

fn insert(store: &mut Store, mb: MailboxId, from: u32, to: u32) {
    let batch: Vec<NewMessage<'_>> = (from..to)
        .map(|i| NewMessage {
            uid: Uid(i + 1),
            meta: meta(i),
            flags: Flags {
                seen: !i.is_multiple_of(3),
                ..Flags::default()
            },
            internal_date: None,
            raw: None,
        })
        .collect();
    store.insert_messages(mb, &batch).unwrap();
}

fn main() {
    let n: u32 = std::env::var("TERN_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let (account, mb) = {
        let mut store = Store::open_in_dir(dir.path()).unwrap();
        let account = store
            .upsert_account("bench", "me@example.com", AccountKind::Imap)
            .unwrap();
        let mb = store
            .upsert_mailbox(account, "INBOX", Some('/'), None)
            .unwrap();
        let t = Instant::now();
        for from in (0..n).step_by(5000) {
            insert(&mut store, mb, from, (from + 5000).min(n));
        }
        eprintln!("cached {n} messages in {:.1} s", t.elapsed().as_secs_f64());
        (account, mb)
    };

    // (a) Start: open the cache, load, draw the first complete frame.
    let started = Instant::now();
    let mut app = App {
        store: Store::open_in_dir(dir.path()).unwrap(),
        state: AppState::new(Layout::Auto, "bench"),
        term: Terminal::new(TestBackend::new(200, 50)).unwrap(),
        theme: Theme::default(),
    };
    app.send(Msg::Resized(Rect::new(0, 0, 200, 50)));
    app.run(vec![Cmd::LoadMailboxes]);
    app.draw();
    let first_frame = started.elapsed();
    assert_eq!(app.state.list.total, n, "the first frame shows the folder");

    // (b) Keys while another connection writes new mail, as a sync does.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let path = dir.path().to_path_buf();
        std::thread::spawn(move || {
            let mut store = Store::open_in_dir(&path).unwrap();
            let mut next = n;
            while !stop.load(Ordering::Relaxed) {
                insert(&mut store, mb, next, next + 50);
                next += 50;
                std::thread::sleep(Duration::from_millis(20));
            }
            next - n
        })
    };
    let mut keys = Vec::new();
    keys.extend(std::iter::repeat_n(Action::Down, 100));
    keys.extend(std::iter::repeat_n(Action::HalfPageDown, 40));
    keys.extend(std::iter::repeat_n(Action::PageDown, 40));
    keys.push(Action::Bottom);
    keys.extend(std::iter::repeat_n(Action::Up, 50));
    keys.extend(std::iter::repeat_n(Action::PageUp, 20));
    keys.push(Action::Top);
    keys.extend(std::iter::repeat_n(Action::Down, 50));
    keys.push(Action::Bottom);
    keys.push(Action::Top);
    let mut times: Vec<Duration> = Vec::with_capacity(keys.len());
    let mut jumps = Vec::new();
    for key in keys {
        let t = Instant::now();
        // New mail committed by the writer is announced the way the engine does it.
        app.send(Msg::Engine(EngineEvent::Changed {
            account,
            mailbox: Some(mb),
        }));
        app.send(Msg::ActionTriggered(key));
        app.draw();
        let d = t.elapsed();
        if matches!(key, Action::Bottom | Action::Top) {
            jumps.push(d);
        }
        times.push(d);
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();

    // Switching the folder to the threaded view: the threaded order of every message is
    // computed, then the first page read and drawn.
    app.send(Msg::ActionTriggered(Action::Top));
    let t = Instant::now();
    app.send(Msg::ActionTriggered(Action::ToggleThreads));
    app.draw();
    let threaded = t.elapsed();
    assert!(app.state.list.visible.is_some());
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // The real binary in a terminal (tmux): from launch to the first screen with rows on it,
    // next to tmux showing the output of a program that prints at once.
    drop(app);
    let (binary, baseline) = real_start(dir.path());
    println!("tui: {n} cached messages in one folder, 200x50 frame");
    println!(
        "  (a) start to first complete frame    {:>7.1} ms",
        ms(first_frame)
    );
    println!(
        "  (b) key to frame, {} keys while {written} messages were written: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        ms(pct(0.5)),
        ms(pct(0.99)),
        ms(*times.last().unwrap())
    );
    println!(
        "      jumps to the oldest / newest page: {}",
        jumps
            .iter()
            .map(|d| format!("{:.2} ms", ms(*d)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "      the real binary in tmux, launch to rows on screen: {:.0} ms (tmux alone: {:.0} ms)",
        ms(binary),
        ms(baseline)
    );
    println!(
        "      threaded view of the whole folder: {:.1} ms to the first frame",
        ms(threaded)
    );
    println!(
        "  (c) peak RSS                        {:>7.1} MiB (whole bench process)",
        peak_rss_mib()
    );
}

/// Launch `tern` on the bench cache in tmux and time it to the first screen showing rows; also
/// time tmux showing `echo` output, the part of that figure that is tmux's.
fn real_start(data_dir: &std::path::Path) -> (Duration, Duration) {
    let config = data_dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[[account]]\nname = \"bench\"\nemail = \"me@example.com\"\n\
             offline = \"headers\"\n[account.imap]\nhost = \"127.0.0.1\"\nport = 1\n\
             username = \"me\"\npassword = \"unused\"\n",
            data_dir.display().to_string()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let time = |cmd: &str, ready: &str| {
        let t = Instant::now();
        let term = tmux::Tmux::start(cmd, 200, 50);
        term.wait_polling(
            ready,
            Duration::from_secs(30),
            Duration::from_millis(1),
            |s| s.contains(ready),
        );
        t.elapsed()
    };
    let baseline = time("sh -c 'echo ready-now; sleep 30'", "ready-now");
    let binary = time(
        &format!(
            "{} --config {}",
            env!("CARGO_BIN_EXE_tern"),
            config.display()
        ),
        "Message number",
    );
    (binary, baseline)
}
