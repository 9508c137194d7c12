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

#[test]
fn search_and_filter_in_the_real_binary() {
    let bin = env!("CARGO_BIN_EXE_tern");
    let t = Tmux::start(&format!("{bin} --demo"), 150, 40);
    t.wait_for("the demo inbox", WAIT, |s| s.contains("Dinner Thursday?"));
    // `/` filters the inbox as the words are typed.
    t.keys(&["Tab", "/"]);
    t.keys(&["-l", "cabin"]);
    let s = t.wait_for("the filtered inbox", WAIT, |s| {
        s.contains("INBOX · filter: cabin") && s.contains("5 results")
    });
    assert!(!s.contains("Dinner Thursday?"), "{s}");
    // A malformed query: its error inline, the results stay.
    t.keys(&["-l", " from:"]);
    t.wait_for("the error", WAIT, |s| {
        s.contains("column 7: `from:` needs a value") && s.contains("Cabin weekend")
    });
    t.keys(&["Escape"]);
    t.wait_for("the whole inbox again", WAIT, |s| {
        s.contains("Dinner Thursday?") && !s.contains("filter:")
    });
    // `:search` looks in every account and folder.
    t.keys(&[":"]);
    t.wait_for("the command line", WAIT, |s| s.contains(" :█"));
    t.keys(&["-l", "search lisbon"]);
    t.keys(&["Enter"]);
    let s = t.wait_for("the results of every folder", WAIT, |s| {
        s.contains("Search: lisbon") && s.contains("4 results")
    });
    // From the personal inbox and archive (the list is narrow: subjects are cut).
    assert!(s.contains("Check-in is o"), "{s}");
    assert!(s.contains("A letter from"), "{s}");
    t.keys(&["q"]);
}

/// An abort (a stack overflow ends in one) runs no Drop and no panic hook: the terminal is
/// still put back (cooked mode, main screen, no mouse reporting), and the process still ends.
#[test]
fn an_abort_leaves_the_terminal_usable() {
    let bin = env!("CARGO_BIN_EXE_tern");
    let t = Tmux::start(
        &format!(
            "sh -c '{bin} --demo; stty -a | tr \" ;\" \"\\n\\n\" | grep -x -e icanon -e -icanon \
             -e echo -e -echo | tr \"\\n\" \" \"; echo tern-ended; exec sleep 60'"
        ),
        150,
        40,
    );
    t.wait_for("the demo", WAIT, |s| s.contains("Mailboxes"));
    let flags = |t: &Tmux| {
        String::from_utf8_lossy(
            &t.run(&[
                "display",
                "-p",
                "-t",
                "t",
                "#{alternate_on} #{mouse_any_flag}",
            ])
            .stdout,
        )
        .trim()
        .to_string()
    };
    assert_eq!(
        flags(&t),
        "1 1",
        "the UI holds the alternate screen and the mouse"
    );
    let shell =
        String::from_utf8_lossy(&t.run(&["display", "-p", "-t", "t", "#{pane_pid}"]).stdout)
            .trim()
            .to_string();
    let tern_pid = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
        .unwrap()
        .split_whitespace()
        .next()
        .expect("tern runs under the shell")
        .to_string();
    let killed = std::process::Command::new("kill")
        .args(["-ABRT", &tern_pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let s = t.wait_for("the shell after the abort", WAIT, |s| {
        s.contains("tern-ended")
    });
    assert_eq!(flags(&t), "0 0", "main screen, no mouse reporting:\n{s}");
    let line = s.lines().find(|l| l.contains("tern-ended")).unwrap();
    assert!(
        line.contains("icanon") && !line.contains("-icanon") && !line.contains("-echo"),
        "cooked mode again: {line}"
    );
}

/// `tern --demo` can try writing: with no server, the message stays in the demo cache's
/// outbox, a copy is in Sent, and the status line says it was not sent.
#[test]
fn demo_composes_into_its_outbox_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    // The "editor": fills To, the subject and the text, as a user would.
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i -e 's/^To:.*$/To: sam@example.test/' \
         -e 's/^Subject:.*$/Subject: Trying the demo/' \
         -e '0,/^$/s/^$/\\nHello from the demo./' \"$1\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = env!("CARGO_BIN_EXE_tern");
    let e = editor.display();
    let t = Tmux::start(&format!("env VISUAL={e} EDITOR={e} {bin} --demo"), 150, 40);
    t.wait_for("the demo inbox", WAIT, |s| s.contains("Dinner Thursday?"));
    t.keys(&["m"]);
    let s = t.wait_for("the review", WAIT, |s| {
        s.contains("Review (y send") && s.contains("Hello from the demo.")
    });
    assert!(s.contains("sam@example.test"), "{s}");
    t.keys(&["y"]);
    t.wait_for("the demo notice", WAIT, |s| {
        s.contains("demo: not sent, see the outbox") && !s.contains("Review (y send")
    });
    // In the personal account's Sent folder.
    t.keys(&["j", "Enter"]);
    let s = t.wait_for("the Sent folder", WAIT, |s| {
        s.contains("personal · Sent") && s.contains("Trying the demo")
    });
    assert!(!s.contains("Dinner Thursday?"), "{s}");
    t.keys(&["q"]);
}
