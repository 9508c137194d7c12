//! End to end: the real binary in a real pseudo terminal (tmux), typing keys and reading the
//! screen. `tern --demo` shows the bundled mail in three panes and `q` restores the terminal.

mod tmux;

use std::time::Duration;

use tmux::Tmux;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn demo_shows_three_panes_navigates_and_quits_cleanly() {
    let bin = env!("CARGO_BIN_EXE_tern");
    // A shell stays behind after tern exits, so the restored screen can be read.
    let t = Tmux::start(
        &format!("sh -c '{bin} --demo; echo tern-exited-$?; exec sleep 60'"),
        150,
        40,
    );
    let s = t.wait_for("the demo inbox with the newest message open", WAIT, |s| {
        s.contains("Mailboxes")
            && s.contains("Dinner Thursday?")
            && s.contains("Still on for Thursday?")
    });
    for want in [
        "personal",
        "work",
        "rust-users",
        "Atlas",
        "Sam Whitlock",
        "Still on for Thursday?",
    ] {
        assert!(s.contains(want), "missing {want:?} in:\n{s}");
    }
    assert_eq!(
        t.run(&["display", "-p", "-t", "t", "#{alternate_on}"])
            .stdout,
        b"1\n"
    );

    // Into the list, one down: the reader follows the selection.
    t.keys(&["Tab", "j"]);
    t.wait_for("the second message", WAIT, |s| {
        s.contains("Subject: Re: Cabin weekend in March?")
    });

    // Help overlay, closed with Esc.
    t.keys(&["?"]);
    t.wait_for("the help overlay", WAIT, |s| {
        s.contains("Keys (? or Esc to close)")
    });
    t.keys(&["Escape"]);
    t.wait_for("the overlay to close", WAIT, |s| {
        !s.contains("Keys (? or Esc to close)")
    });

    t.keys(&["q"]);
    let s = t.wait_for("tern to exit", WAIT, |s| s.contains("tern-exited-"));
    assert!(s.contains("tern-exited-0"), "exit status: {s}");
    assert!(
        !s.contains("Mailboxes"),
        "the alternate screen is gone: {s}"
    );
    assert_eq!(
        t.run(&["display", "-p", "-t", "t", "#{alternate_on}"])
            .stdout,
        b"0\n"
    );
}
