//! Quitting never waits for the background: the real binary in tmux, against the real Dovecot,
//! is told `q` while its first sync of thousands of messages is under way, and exits within a
//! few seconds (the engines get a short grace to log out; the cache stays consistent through
//! its transactions, so the next start goes on from there).

mod harness;
mod tmux;

use std::time::{Duration, Instant};

use harness::{ALICE, MailServers};
use tmux::Tmux;

const WAIT: Duration = Duration::from_secs(120);
const MESSAGES: usize = 8_000;
/// From `q` to the process gone.
const EXIT_BOUND: Duration = Duration::from_secs(5);
const EXITED: &str = "tern-exited-with";

#[test]
fn q_during_the_first_sync_exits_within_seconds() {
    let servers = MailServers::start();
    servers.populate(ALICE.email, "INBOX", MESSAGES, 5);
    let dir = tempfile::tempdir().unwrap();
    let cfg = servers.write_tern_config(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
    );
    let bin = env!("CARGO_BIN_EXE_tern");
    // The shell says when tern is gone (and keeps the pane open to be read).
    let t = Tmux::start(
        &format!(
            "sh -c 'TERN_LOG=warn {bin} --config {}; echo {EXITED} $?; exec sleep 600'",
            cfg.display()
        ),
        120,
        30,
    );
    // The sync is under way: the account row counts what it has stored so far.
    t.wait_polling(
        "the first sync under way",
        WAIT,
        Duration::from_millis(10),
        |s| s.contains("↻ ") && s.contains('/'),
    );
    let asked = Instant::now();
    t.keys(&["q"]);
    let s = t.wait_polling("tern to exit", EXIT_BOUND, Duration::from_millis(20), |s| {
        s.contains(EXITED)
    });
    let took = asked.elapsed();
    assert!(s.contains(&format!("{EXITED} 0")), "{s}");
    assert!(took < EXIT_BOUND, "quit took {took:?}");

    // The cache is consistent: a second start opens it and shows the messages stored so far.
    let store = tern::store::Store::open_in_dir(&dir.path().join("data")).unwrap();
    assert!(store.account_id("alice").unwrap().is_some());
}
