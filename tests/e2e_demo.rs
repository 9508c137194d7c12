//! End to end: the real binary in a real pseudo terminal (tmux), typing keys and reading the
//! screen. `tern --demo` shows the bundled mail in three panes and `q` restores the terminal.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(cmd: &str, width: u16, height: u16) -> Tmux {
        let socket = format!("tern-e2e-{}-{}", std::process::id(), width);
        let t = Tmux { socket };
        let out = t.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            cmd,
        ]);
        assert!(
            out.status.success(),
            "tmux failed to start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux not installed: run tests/run (it installs the test dependencies)")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }

    /// Poll the screen until `pred` holds; panic with the screen after `timeout`.
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

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
