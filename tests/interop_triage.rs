//! Every triage action and its undo, replayed by tern against real Cyrus (MOVE, UIDPLUS),
//! Courier (UIDPLUS, no MOVE, `INBOX.` namespace) and Courier without UIDPLUS: after each
//! replay the server holds exactly the intended messages (subjects and flags per folder, no
//! duplicate), the queue is empty and the cache agrees after a sync. Another client's messages
//! marked \Deleted in INBOX, Archive and Trash (bystanders) are never expunged; without UIDPLUS
//! the user's moved originals stay marked \Deleted (hidden in tern) until the bystanders are
//! unmarked, and then exactly those go.
//!
//! The three servers start in parallel and each runs in its own thread and runtime.

mod harness;

use std::collections::HashMap;
use std::time::Instant;

use harness::account::TernAccount;
use harness::across::{block_on, message as raw, on_each, snapshot};
use harness::{ALICE, ImapKind, ImapServer, TestImap};
use tern::app::msg::{Cmd, Dest, Undo};
use tern::domain::triage::FlagName;
use tern::domain::{MsgId, Role};
use tern::sync::imap::Imap;
use tern::sync::replay::replay;

/// Folders as Dovecot names them (see [`ImapServer::folder_wire_name`]).
const FOLDERS: [&str; 4] = ["INBOX", "Archive", "Trash", "Work"];
/// Folders with another client's \Deleted message.
const BYSTANDER_FOLDERS: [&str; 3] = ["INBOX", "Archive", "Trash"];
const DELETED: &str = "\\Deleted";

/// (subject, sorted flags) of each message, sorted.
type Folder = Vec<(String, Vec<String>)>;
type World = HashMap<&'static str, Folder>;

fn world(server: &ImapServer, imap: &mut TestImap) -> World {
    FOLDERS
        .iter()
        .map(|f| (*f, snapshot(imap, &server.folder_wire_name(f))))
        .collect()
}

/// What one step does to the server.
#[derive(Debug, Clone, Copy)]
enum Op {
    Flag(&'static str, bool),
    /// (from, to, copy)
    Move(&'static str, &'static str, bool),
    /// The message is expunged from the folder.
    Remove(&'static str),
}

/// The server after `op` on `subject`. A message taken from a folder of `waits` stays there
/// marked \Deleted.
fn expected(before: &World, op: Op, subject: &str, waits: &dyn Fn(&str) -> bool) -> World {
    let mut w = before.clone();
    let take = |w: &mut World, folder: &str| -> Vec<String> {
        let list = w.get_mut(folder).unwrap();
        let i = list
            .iter()
            .position(|(s, f)| s == subject && !f.iter().any(|f| f == DELETED))
            .unwrap_or_else(|| panic!("{subject} not in {folder} before: {list:?}"));
        let flags = list[i].1.clone();
        if waits(folder) {
            list[i].1.push(DELETED.into());
            list[i].1.sort();
        } else {
            list.remove(i);
        }
        flags
    };
    let put = |w: &mut World, folder: &str, flags: Vec<String>| {
        let list = w.get_mut(folder).unwrap();
        list.push((subject.to_string(), flags));
        list.sort();
    };
    match op {
        Op::Flag(folder, on) => {
            let list = w.get_mut(folder).unwrap();
            let m = list
                .iter_mut()
                .find(|(s, f)| s == subject && !f.iter().any(|f| f == DELETED))
                .unwrap();
            m.1.retain(|f| f != "\\Flagged");
            if on {
                m.1.push("\\Flagged".into());
            }
            m.1.sort();
        }
        Op::Move(from, to, copy) => {
            let flags = if copy {
                w[from]
                    .iter()
                    .find(|(s, _)| s == subject)
                    .unwrap()
                    .1
                    .clone()
            } else {
                take(&mut w, from)
            };
            put(&mut w, to, flags);
        }
        Op::Remove(folder) => {
            take(&mut w, folder);
        }
    }
    w
}

/// One server's run: the steps, the checks after each, and the bystanders at the end.
struct Run<'a> {
    server: &'a ImapServer,
    check: TestImap,
    c: TernAccount,
    imap: Imap,
    /// Without UIDPLUS (and MOVE): originals in a folder with a bystander wait.
    plain: bool,
    /// Expunges that should be waiting (one per message taken from a folder with a bystander).
    waiting: usize,
}

impl Run<'_> {
    fn name(&self) -> &'static str {
        self.server.name()
    }

    fn wire(&self, folder: &str) -> String {
        self.server.folder_wire_name(folder)
    }

    /// Does `cmd` locally, replays it, and checks the server against `op` on `subject`, the
    /// queue and (after a sync) the cache. Returns the action's undo.
    async fn step(
        &mut self,
        what: &str,
        subject: &str,
        cmd: Cmd,
        op: Op,
    ) -> Option<(Undo, String)> {
        let label = format!("{} {what} {subject}", self.name());
        let before = world(self.server, &mut self.check);
        let undo = self.c.act_undoable(cmd).await;
        replay(&mut self.imap, &self.c.store, self.c.id, false)
            .await
            .unwrap_or_else(|e| panic!("{label}: replay: {e}"));
        let after = world(self.server, &mut self.check);
        let plain = self.plain;
        let waits = |f: &str| plain && BYSTANDER_FOLDERS.contains(&f);
        let want = expected(&before, op, subject, &waits);
        assert_eq!(
            after,
            want,
            "{}",
            self.server
                .with_logs(&format!("{label}: the server is not as intended"))
        );
        let takes_from = match op {
            Op::Move(from, _, false) | Op::Remove(from) => Some(from),
            _ => None,
        };
        if takes_from.is_some_and(waits) {
            self.waiting += 1;
        }
        assert_eq!(
            self.c.queue().await,
            (0, self.waiting),
            "{label}: queue rows left, expunges waiting"
        );
        self.cache_agrees(&label, &after).await;
        undo
    }

    /// After a sync the cache shows what the server holds, less the user's originals marked
    /// \Deleted (waiting for their expunge, hidden in tern).
    async fn cache_agrees(&mut self, label: &str, server: &World) {
        self.c.sync(&mut self.imap).await;
        for f in FOLDERS {
            let mut want: Vec<(String, bool, bool)> = server[f]
                .iter()
                .map(|(s, fl)| {
                    let has = |x: &str| fl.iter().any(|f| f == x);
                    (s.clone(), has("\\Flagged"), has(DELETED))
                })
                .filter(|(s, _, deleted)| !deleted || s.starts_with("bystander"))
                .collect();
            want.sort();
            let got = self.c.cached(&self.wire(f)).await;
            assert_eq!(got, want, "{label}: the cache of {f}");
        }
    }

    async fn id_of(&self, folder: &str, subject: &str) -> MsgId {
        self.c.id_of(&self.wire(folder), subject).await
    }

    async fn undo(&mut self, what: &str, subject: &str, undo: Option<(Undo, String)>, op: Op) {
        let (undo, text) = undo.unwrap_or_else(|| panic!("{}: {what} gave no undo", self.name()));
        self.step(
            &format!("undo {what}"),
            subject,
            Cmd::Undo { undo, what: text },
            op,
        )
        .await;
    }

    async fn move_to(
        &mut self,
        what: &str,
        subject: &str,
        dest: Dest,
        to: &'static str,
        copy: bool,
    ) -> Option<(Undo, String)> {
        let msg = self.id_of("INBOX", subject).await;
        let cmd = Cmd::MoveTo {
            msgs: vec![msg],
            dest,
            copy,
            what: what.into(),
        };
        self.step(what, subject, cmd, Op::Move("INBOX", to, copy))
            .await
    }
}

const SUBJECTS: [&str; 6] = [
    "m-flag",
    "m-archive",
    "m-move",
    "m-copy",
    "m-delete",
    "m-expunge",
];

async fn every_action_and_its_undo(server: &ImapServer) {
    let started = Instant::now();
    let name = server.name();
    server.create_folder(ALICE.email, "Work");
    let mut check = server.imap(ALICE.email);
    let plain = !check.capabilities().iter().any(|c| c == "UIDPLUS");
    assert_eq!(plain, name == "courier-no-uidplus");
    for s in SUBJECTS {
        check.append("INBOX", "", &raw(s));
    }
    // Another client's messages, marked \Deleted where tern takes messages from.
    for f in BYSTANDER_FOLDERS {
        let wire = server.folder_wire_name(f);
        check.append(&wire, DELETED, &raw(&format!("bystander-{f}")));
    }
    check.ok("NOOP");
    let dir = tempfile::tempdir().unwrap();
    let path = server.write_tern_config(dir.path(), &ALICE, "tls", server.imaps_port(), "");
    let c = TernAccount::open(&path).await;
    let imap = c.connect().await;
    assert_eq!(imap.caps.has("MOVE"), name == "cyrus", "{name}: MOVE");
    assert_eq!(imap.caps.has("UIDPLUS"), !plain, "{name}: UIDPLUS");
    let mut run = Run {
        server,
        check,
        c,
        imap,
        plain,
        waiting: 0,
    };
    let start = world(server, &mut run.check);
    run.cache_agrees(&format!("{name} first sync"), &start)
        .await;

    // Flag and its undo.
    let msg = run.id_of("INBOX", "m-flag").await;
    let flag = |on| Cmd::SetFlag {
        msgs: vec![msg],
        flag: FlagName::Flagged,
        on,
        undoable: true,
    };
    let undo = run
        .step("flag", "m-flag", flag(true), Op::Flag("INBOX", true))
        .await;
    run.undo("flag", "m-flag", undo, Op::Flag("INBOX", false))
        .await;

    // Archive and its undo.
    let undo = run
        .move_to(
            "archived",
            "m-archive",
            Dest::Role(Role::Archive),
            "Archive",
            false,
        )
        .await;
    run.undo(
        "archived",
        "m-archive",
        undo,
        Op::Move("Archive", "INBOX", false),
    )
    .await;

    // Move to a user folder and its undo.
    let work = run.c.mailbox(&run.wire("Work")).await;
    let undo = run
        .move_to("moved", "m-move", Dest::Mailbox(work), "Work", false)
        .await;
    run.undo("moved", "m-move", undo, Op::Move("Work", "INBOX", false))
        .await;

    // Copy and its undo (the copy goes).
    let undo = run
        .move_to("copied", "m-copy", Dest::Mailbox(work), "Work", true)
        .await;
    run.undo("copied", "m-copy", undo, Op::Remove("Work")).await;

    // Delete (to Trash) and its undo.
    let undo = run
        .move_to(
            "deleted",
            "m-delete",
            Dest::Role(Role::Trash),
            "Trash",
            false,
        )
        .await;
    run.undo(
        "deleted",
        "m-delete",
        undo,
        Op::Move("Trash", "INBOX", false),
    )
    .await;

    // Delete for good in Trash.
    run.move_to(
        "deleted",
        "m-expunge",
        Dest::Role(Role::Trash),
        "Trash",
        false,
    )
    .await;
    let msg = run.id_of("Trash", "m-expunge").await;
    run.step(
        "expunged",
        "m-expunge",
        Cmd::Expunge { msgs: vec![msg] },
        Op::Remove("Trash"),
    )
    .await;

    // The bystanders were never expunged (nor unmarked).
    let now = world(server, &mut run.check);
    for f in BYSTANDER_FOLDERS {
        let b = (format!("bystander-{f}"), vec![DELETED.to_string()]);
        assert!(
            now[f].contains(&b),
            "{name}: the bystander in {f}: {:?}",
            now[f]
        );
    }
    let (left, waiting) = run.c.queue().await;
    if !plain {
        assert_eq!((left, waiting), (0, 0), "{name}: queue");
        eprintln!("{name}: done in {:?}", started.elapsed());
        return;
    }
    assert!(waiting > 0, "{name}: nothing waits");
    let log = run.c.log().await;
    assert!(
        log.iter()
            .any(|l| l.contains("other message(s) there are marked deleted")),
        "{name}: the wait is not logged: {log:?}"
    );
    // The other client takes its marks back: the next replay expunges exactly ours.
    for f in BYSTANDER_FOLDERS {
        let wire = server.folder_wire_name(f);
        let uids = run.check.search(&wire, "DELETED SUBJECT bystander");
        assert_eq!(uids.len(), 1, "{name}: bystander in {f}: {uids:?}");
        run.check.ok(&format!("SELECT {}", quote(&wire)));
        run.check
            .ok(&format!("UID STORE {} -FLAGS.SILENT (\\Deleted)", uids[0]));
    }
    let before = world(server, &mut run.check);
    replay(&mut run.imap, &run.c.store, run.c.id, true)
        .await
        .unwrap_or_else(|e| panic!("{name}: replay of the waiting expunges: {e}"));
    let after = world(server, &mut run.check);
    assert_eq!(
        run.c.queue().await,
        (0, 0),
        "{name}: queue after the retry; server before {before:?}, after {after:?}; log {:?}",
        run.c.log().await
    );
    for f in FOLDERS {
        let kept: Folder = before[f]
            .iter()
            .filter(|(_, fl)| !fl.iter().any(|f| f == DELETED))
            .cloned()
            .collect();
        assert_eq!(
            after[f], kept,
            "{name} {f}: exactly the user's marked messages went"
        );
    }
    for f in BYSTANDER_FOLDERS {
        let b = (format!("bystander-{f}"), Vec::new());
        assert!(
            after[f].contains(&b),
            "{name}: the bystander in {f}: {:?}",
            after[f]
        );
    }
    run.cache_agrees(&format!("{name} after the retry"), &after)
        .await;
    eprintln!("{name}: done in {:?}", started.elapsed());
}

#[test]
fn every_action_and_its_undo_reach_cyrus_and_courier_and_no_bystander_is_expunged() {
    on_each(
        &[
            ImapKind::Cyrus,
            ImapKind::Courier,
            ImapKind::CourierNoUidplus,
        ],
        |server| block_on(every_action_and_its_undo(server)),
    );
}

fn quote(mailbox: &str) -> String {
    format!("\"{mailbox}\"")
}
