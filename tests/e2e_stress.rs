//! The cache never refuses a user's action because the engine is busy writing: the real binary
//! in tmux, against the real Dovecot, takes `N` (read) and `j` (next) at 50 keys a second while
//! its engine stores 20,000 new messages and their bodies. No action fails, none is lost: every
//! `N` marked exactly one more message read on the server, and the account never fails.

mod harness;
mod tmux;

use std::time::{Duration, Instant};

use harness::{ALICE, MailServers, TestImap};
use tmux::Tmux;

const WAIT: Duration = Duration::from_secs(120);
const MESSAGES: usize = 20_000;
/// Key presses per second, and how long they go on.
const RATE: u32 = 50;
const TYPING: Duration = Duration::from_secs(8);

#[test]
fn keys_at_50_hz_while_the_engine_stores_20000_messages_never_fail_and_are_never_lost() {
    let servers = MailServers::start();
    servers.populate(ALICE.email, "INBOX", MESSAGES, 14);
    // Every message unread, so each N marks one more read.
    let mut check = TestImap::connect(servers.imap_port(), ALICE.email, ALICE.password).unwrap();
    check.ok("SELECT INBOX");
    check.ok("STORE 1:* -FLAGS.SILENT (\\Seen)");
    assert!(check.search("INBOX", "SEEN").is_empty());

    let dir = tempfile::tempdir().unwrap();
    let cfg = servers.write_tern_config(
        dir.path(),
        &ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
    );
    // Opening (the reader follows the cursor) must not mark anything read: only N does.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("mark_read_on_open = false\n{text}")).unwrap();
    let bin = env!("CARGO_BIN_EXE_tern");
    let t = Tmux::start(
        &format!("TERN_LOG=warn {bin} --config {}", cfg.display()),
        150,
        40,
    );
    // The first rows are there while the engine goes on storing the rest and the bodies.
    // (A message is selected once the reader shows it.)
    t.wait_for("the first rows", WAIT, |s| s.contains("From:"));
    t.keys(&["Tab"]);
    let gap = Duration::from_secs(1) / RATE;
    let start = Instant::now();
    let mut presses = 0;
    let mut next = start;
    while start.elapsed() < TYPING {
        t.keys(&[if presses % 2 == 0 { "N" } else { "j" }]);
        presses += 1;
        if presses % RATE == 0 {
            let s = t.screen();
            assert!(!s.contains("failed"), "an action failed:\n{s}");
            assert!(!s.contains("✗ alice"), "the account failed:\n{s}");
        }
        // Pace the keys (this is the typing rate, not a wait for an event).
        next += gap;
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    let marked = presses.div_ceil(2) as usize;
    // Every N is in the cache at once (read there), and reaches the server: the queue empties.
    let store = tern::store::Store::open_in_dir(&dir.path().join("data")).unwrap();
    let account = store.account_id("alice").unwrap().unwrap();
    let deadline = Instant::now() + WAIT;
    while store.pending_count(account).unwrap() > 0 {
        assert!(Instant::now() < deadline, "the queue never emptied");
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = t.screen();
    assert!(!s.contains("failed") && !s.contains("✗ alice"), "{s}");
    t.keys(&["q"]);
    t.wait_for("tern to exit", WAIT, |s| !s.contains("Mailboxes"));
    let seen = check.search("INBOX", "SEEN").len();
    let inbox = store
        .mailboxes(Some(account))
        .unwrap()
        .into_iter()
        .find(|m| m.name == "INBOX")
        .unwrap();
    let cached_seen = store
        .envelopes(inbox.id, 0, 100_000)
        .unwrap()
        .iter()
        .filter(|e| e.flags.seen)
        .count();
    assert_eq!(cached_seen, marked, "every N is in the cache");
    assert_eq!(
        seen, marked,
        "{marked} N presses must mark {marked} messages read on the server"
    );
    let log = std::fs::read_to_string(dir.path().join("data/tern.log")).unwrap_or_default();
    for bad in ["database is locked", "action failed", "engine stopped"] {
        assert!(!log.contains(bad), "the log says {bad:?}:\n{log}");
    }
}
