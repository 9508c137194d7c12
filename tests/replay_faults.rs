//! The replay of queued actions against the real Dovecot, with the connection cut at every
//! command boundary of each replay (before a command goes up, after the server answered but
//! before the answer came back, and inside an answer): afterwards the server holds exactly the
//! intended result, no duplicate, no other message touched. Once with Dovecot as it is (MOVE,
//! UIDPLUS) and once through a front that hides MOVE and UIDPLUS (and COPYUID) while other
//! messages in each folder are marked \Deleted by another client: those are never expunged.
//! And a front that answers for a missing UID with the last message (as a misbehaving server
//! did): the replay never acts on that message.
//!
//! The front (a plain TCP relay on loopback) only makes faults a real server does not show on
//! demand; everything else is Dovecot's own behaviour.

mod harness;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use harness::account::TernAccount;
use harness::across::{message as raw, quote, snapshot};
use harness::{ALICE, HOST, MailServers, TestImap};
use tern::app::msg::{Cmd, Dest, Msg, Undo};
use tern::domain::Role;
use tern::domain::triage::FlagName;
use tern::sync::replay::replay;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Where the front cuts, counting the commands tern sends after it was armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// The k-th command never reaches the server.
    Before(usize),
    /// The server does the k-th command; its tagged answer never comes back.
    LoseAnswer(usize),
    /// The first line of the answer to the k-th command comes back half.
    Inside(usize),
}

#[derive(Default)]
struct FrontState {
    cut: Option<Cut>,
    commands: usize,
    /// The armed cut happened.
    fired: bool,
    /// UID a missing UID is answered with (the misbehaving server).
    remap: HashMap<u32, u32>,
}

/// A plain relay in front of Dovecot's IMAP port.
struct Front {
    port: u16,
    state: Arc<Mutex<FrontState>>,
    /// Hide MOVE, UIDPLUS and the COPYUID/APPENDUID codes.
    plain: Arc<AtomicBool>,
}

fn strip_caps(line: &str) -> String {
    let mut out = line.to_string();
    for cap in [" MOVE", " UIDPLUS"] {
        while let Some(i) = out.find(cap) {
            let end = i + cap.len();
            let next = out.as_bytes().get(end).copied();
            if matches!(next, Some(b' ' | b']' | b'\r' | b'\n') | None) {
                out.replace_range(i..end, "");
            } else {
                break;
            }
        }
    }
    for code in ["[COPYUID ", "[APPENDUID "] {
        if let Some(i) = out.find(code)
            && let Some(j) = out[i..].find("] ")
        {
            out.replace_range(i..i + j + 2, "");
        }
    }
    out
}

/// `tag UID VERB N rest` with N remapped when the front answers for a missing UID.
fn remap_command(line: &str, remap: &HashMap<u32, u32>) -> String {
    let words: Vec<&str> = line.splitn(5, ' ').collect();
    if words.len() >= 4 && words[1].eq_ignore_ascii_case("UID") {
        let set = words[3].trim_end();
        if let Ok(n) = set.parse::<u32>()
            && let Some(to) = remap.get(&n)
        {
            let mut out = format!("{} {} {} {to}", words[0], words[1], words[2]);
            match words.get(4) {
                Some(rest) => {
                    out.push(' ');
                    out.push_str(rest);
                }
                None => out.push_str("\r\n"),
            }
            return out;
        }
    }
    line.to_string()
}

impl Front {
    async fn start(upstream: u16) -> Front {
        let listener = tokio::net::TcpListener::bind((HOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(FrontState::default()));
        let plain = Arc::new(AtomicBool::new(false));
        let (st, pl) = (state.clone(), plain.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (st, pl) = (st.clone(), pl.clone());
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect((HOST, upstream)).await else {
                        return;
                    };
                    relay(client, server, st, pl).await;
                });
            }
        });
        Front { port, state, plain }
    }

    fn arm(&self, cut: Option<Cut>) {
        let mut s = self.state.lock().unwrap();
        s.cut = cut;
        s.commands = 0;
        s.fired = false;
    }

    fn fired(&self) -> bool {
        self.state.lock().unwrap().fired
    }

    fn remap(&self, from: u32, to: u32) {
        self.state.lock().unwrap().remap.insert(from, to);
    }
}

/// One connection: client lines up (counted, remapped), server lines down (rewritten); the
/// armed cut ends both.
async fn relay(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    state: Arc<Mutex<FrontState>>,
    plain: Arc<AtomicBool>,
) {
    // Without it each small write waits for the peer's delayed ACK (40 ms a round trip).
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, mut cw) = client.into_split();
    let (sr, mut sw) = server.into_split();
    // The tag whose answer is cut, and how.
    let watch: Arc<Mutex<Option<(String, Cut)>>> = Arc::new(Mutex::new(None));
    let w_up = watch.clone();
    let st_up = state.clone();
    let up = async move {
        let mut r = BufReader::new(cr);
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            let (text, cut) = {
                let mut s = st_up.lock().unwrap();
                let text = remap_command(&text, &s.remap);
                let mut cut = None;
                if let Some(c) = s.cut {
                    s.commands += 1;
                    let k = match c {
                        Cut::Before(k) | Cut::LoseAnswer(k) | Cut::Inside(k) => k,
                    };
                    if s.commands == k {
                        s.cut = None;
                        s.fired = true;
                        cut = Some(c);
                    }
                }
                (text, cut)
            };
            match cut {
                Some(Cut::Before(_)) => return,
                Some(c) => {
                    let tag = text.split(' ').next().unwrap_or("").to_string();
                    *w_up.lock().unwrap() = Some((tag, c));
                }
                None => {}
            }
            if sw.write_all(text.as_bytes()).await.is_err() {
                return;
            }
        }
    };
    let down = async move {
        let mut r = BufReader::new(sr);
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let mut bytes = line.clone();
            if plain.load(Ordering::SeqCst) {
                let text = String::from_utf8_lossy(&line);
                if text.contains("CAPABILITY") || text.contains("UID") {
                    bytes = strip_caps(&text).into_bytes();
                }
            }
            let watched = watch.lock().unwrap().clone();
            match watched {
                Some((tag, Cut::LoseAnswer(_)))
                    if line.starts_with(format!("{tag} ").as_bytes()) =>
                {
                    return;
                }
                Some((_, Cut::Inside(_))) => {
                    let _ = cw.write_all(&bytes[..bytes.len() / 2]).await;
                    return;
                }
                _ => {}
            }
            if cw.write_all(&bytes).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

/// APPEND through the checking connection (LITERAL+: one line).
fn append(imap: &mut TestImap, mailbox: &str, flags: &str, raw: &[u8]) {
    let mut cmd = format!("APPEND {} ({flags}) {{{}+}}\r\n", quote(mailbox), raw.len());
    cmd.push_str(std::str::from_utf8(raw).unwrap());
    imap.ok(&cmd);
}

const FOLDERS: [&str; 4] = ["INBOX", "Archive", "Trash", "Work"];

type World = HashMap<&'static str, Vec<(String, Vec<String>)>>;

fn world(imap: &mut TestImap) -> World {
    FOLDERS.iter().map(|f| (*f, snapshot(imap, f))).collect()
}

/// Alice's account through the front, synced once.
async fn account(dir: &Path, port: u16) -> TernAccount {
    let path = dir.join("config.toml");
    std::fs::write(&path, config_text(dir, port)).unwrap();
    TernAccount::open(&path).await
}

fn config_text(dir: &Path, port: u16) -> String {
    format!(
        "data_dir = {:?}\n[[account]]\nname = \"alice\"\nemail = \"{email}\"\noffline = \"headers\"\n\
         [account.imap]\nhost = \"{HOST}\"\nport = {port}\nsecurity = \"none\"\n\
         allow_plaintext_auth = true\nusername = \"{email}\"\npassword = \"{password}\"\n",
        dir.join("data").display().to_string(),
        email = ALICE.email,
        password = ALICE.password,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Flag,
    Move,
    Copy,
    Delete,
    Archive,
    Expunge,
    Undo,
}

const KINDS: [Kind; 7] = [
    Kind::Flag,
    Kind::Move,
    Kind::Copy,
    Kind::Delete,
    Kind::Archive,
    Kind::Expunge,
    Kind::Undo,
];

/// Where the message starts, per kind.
fn home(kind: Kind) -> &'static str {
    match kind {
        Kind::Expunge => "Trash",
        Kind::Undo => "Archive",
        _ => "INBOX",
    }
}

/// The server's state after `kind` on `subject` (from `before`). `waits`: without MOVE and
/// UIDPLUS, with others' \Deleted messages there, a moved original stays, marked \Deleted.
fn expected(before: &World, kind: Kind, subject: &str, waits: bool) -> World {
    let mut w = before.clone();
    let take = |w: &mut World, folder: &str| -> Vec<String> {
        let list = w.get_mut(folder).unwrap();
        let i = list
            .iter()
            .position(|(s, _)| s == subject)
            .unwrap_or_else(|| panic!("{subject} not in {folder} before"));
        if waits {
            let f = list[i].1.clone();
            list[i].1.push("\\Deleted".into());
            list[i].1.sort();
            f
        } else {
            list.remove(i).1
        }
    };
    let put = |w: &mut World, folder: &str, flags: Vec<String>| {
        let list = w.get_mut(folder).unwrap();
        list.push((subject.to_string(), flags));
        list.sort();
    };
    match kind {
        Kind::Flag => {
            let list = w.get_mut("INBOX").unwrap();
            let m = list.iter_mut().find(|(s, _)| s == subject).unwrap();
            m.1.push("\\Flagged".into());
            m.1.sort();
        }
        Kind::Move => {
            let f = take(&mut w, "INBOX");
            put(&mut w, "Work", f);
        }
        Kind::Copy => {
            let f = w["INBOX"]
                .iter()
                .find(|(s, _)| s == subject)
                .unwrap()
                .1
                .clone();
            put(&mut w, "Work", f);
        }
        Kind::Delete => {
            let f = take(&mut w, "INBOX");
            put(&mut w, "Trash", f);
        }
        Kind::Archive => {
            let f = take(&mut w, "INBOX");
            put(&mut w, "Archive", f);
        }
        Kind::Expunge => {
            take(&mut w, "Trash");
        }
        Kind::Undo => {
            let f = take(&mut w, "Archive");
            put(&mut w, "INBOX", f);
        }
    }
    w
}

/// The local action of `kind` on the message; for Undo, the archive it undoes was replayed
/// cleanly before.
async fn act(c: &TernAccount, kind: Kind, subject: &str) {
    let msg = c.id_of(home(kind), subject).await;
    let work = c.mailbox("Work").await;
    let cmd = match kind {
        Kind::Flag => Cmd::SetFlag {
            msgs: vec![msg],
            flag: FlagName::Flagged,
            on: true,
            undoable: true,
        },
        Kind::Move | Kind::Copy => Cmd::MoveTo {
            msgs: vec![msg],
            dest: Dest::Mailbox(work),
            copy: kind == Kind::Copy,
            what: "moved".into(),
        },
        Kind::Delete => Cmd::MoveTo {
            msgs: vec![msg],
            dest: Dest::Role(Role::Trash),
            copy: false,
            what: "deleted".into(),
        },
        Kind::Archive => Cmd::MoveTo {
            msgs: vec![msg],
            dest: Dest::Role(Role::Archive),
            copy: false,
            what: "archived".into(),
        },
        Kind::Expunge => Cmd::Expunge { msgs: vec![msg] },
        Kind::Undo => {
            let inbox = c.mailbox("INBOX").await;
            Cmd::Undo {
                undo: Undo::Move {
                    from: vec![(msg, inbox)],
                },
                what: "archived".into(),
            }
        }
    };
    match c.act(cmd).await {
        Msg::ActionDone(_) => {}
        other => panic!("{kind:?} {subject}: {other:?}"),
    }
}

/// Every kind of action, cut at every command boundary of its replay; the server ends exactly
/// as intended. Returns how many replays were cut.
async fn every_cut(servers: &MailServers, front: &Front, c: &TernAccount, waits: bool) -> usize {
    let mut check = TestImap::connect(servers.imap_port(), ALICE.email, ALICE.password).unwrap();
    let mut cuts = 0;
    let mut n = 0;
    for kind in KINDS {
        for mode in 0..3 {
            for k in 1.. {
                n += 1;
                let subject = format!("m{n}-{kind:?}-{mode}-{k}-{}", u8::from(waits));
                append(&mut check, home(kind), "", &raw(&subject));
                let mut imap = c.connect().await;
                c.sync(&mut imap).await;
                act(c, kind, &subject).await;
                let before = world(&mut check);
                let cut = match mode {
                    0 => Cut::Before(k),
                    1 => Cut::LoseAnswer(k),
                    _ => Cut::Inside(k),
                };
                front.arm(Some(cut));
                let first = replay(&mut imap, &c.store, c.id, false).await;
                let fired = front.fired();
                front.arm(None);
                assert_eq!(
                    first.is_err(),
                    fired,
                    "{subject}: the cut and the replay's result disagree: {first:?}"
                );
                if fired {
                    cuts += 1;
                    let mut again = c.connect().await;
                    replay(&mut again, &c.store, c.id, false)
                        .await
                        .unwrap_or_else(|e| panic!("{subject}: replay after the cut: {e}"));
                    imap = again;
                }
                let after = world(&mut check);
                let want = expected(
                    &before,
                    kind,
                    &subject,
                    waits && kind != Kind::Flag && kind != Kind::Copy,
                );
                assert_eq!(after, want, "{subject}: the server is not as intended");
                let (left, waiting) = c.queue().await;
                assert_eq!(left, 0, "{subject}: queue rows left");
                let moved_away = !matches!(kind, Kind::Flag | Kind::Copy);
                if !waits || moved_away {
                    assert_eq!(waiting > 0, waits, "{subject}: waiting expunges: {waiting}");
                }
                // The cache agrees with the server: one row per message where it is (an
                // original waiting for its expunge is hidden).
                c.sync(&mut imap).await;
                let mut server: HashMap<String, usize> = HashMap::new();
                for (f, list) in &after {
                    let k = list
                        .iter()
                        .filter(|(s, fl)| *s == subject && !fl.contains(&"\\Deleted".to_string()))
                        .count();
                    if k > 0 {
                        server.insert(f.to_string(), k);
                    }
                }
                assert_eq!(c.copies(&subject).await, server, "{subject}: the cache");
                if !fired {
                    break; // k went past the last command of this replay
                }
            }
        }
    }
    cuts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_cut_anywhere_ends_with_exactly_the_intended_result() {
    let servers = MailServers::start();
    servers.create_mailbox(ALICE.email, "Work");
    let front = Front::start(servers.imap_port()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = account(dir.path(), front.port).await;
    let cuts = every_cut(&servers, &front, &c, false).await;
    assert!(cuts >= 7 * 3 * 2, "only {cuts} replays were cut");
    assert!(c.log().await.is_empty(), "{:?}", c.log().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_move_and_uidplus_only_the_users_messages_are_expunged() {
    let servers = MailServers::start();
    servers.create_mailbox(ALICE.email, "Work");
    let front = Front::start(servers.imap_port()).await;
    front.plain.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let mut other = TestImap::connect(servers.imap_port(), ALICE.email, ALICE.password).unwrap();
    // Another client's messages, marked \Deleted in each folder tern takes messages from.
    for f in ["INBOX", "Archive", "Trash"] {
        append(&mut other, f, "\\Deleted", &raw(&format!("bystander-{f}")));
    }
    let c = account(dir.path(), front.port).await;
    let imap = c.connect().await;
    assert!(!imap.caps.has("MOVE") && !imap.caps.has("UIDPLUS"));
    drop(imap);
    let cuts = every_cut(&servers, &front, &c, true).await;
    assert!(cuts >= 7 * 3 * 2, "only {cuts} replays were cut");
    for f in ["INBOX", "Archive", "Trash"] {
        let s = snapshot(&mut other, f);
        assert!(
            s.iter().any(|(subj, fl)| *subj == format!("bystander-{f}")
                && fl.contains(&"\\Deleted".to_string())),
            "the bystander in {f} was touched: {s:?}"
        );
    }
    assert!(
        c.log()
            .await
            .iter()
            .any(|l| l.contains("other message(s) there are marked deleted")),
        "the wait is logged: {:?}",
        c.log().await
    );
    // The other client takes its mark back: the next sync pass expunges only ours.
    for f in ["INBOX", "Archive", "Trash"] {
        let uid = *other
            .search(f, "DELETED SUBJECT bystander")
            .first()
            .unwrap();
        other.select(f);
        other.ok(&format!("SELECT {}", quote(f)));
        other.ok(&format!("UID STORE {uid} -FLAGS.SILENT (\\Deleted)"));
    }
    let before = world(&mut other);
    let mut imap = c.connect().await;
    replay(&mut imap, &c.store, c.id, true).await.unwrap();
    assert_eq!(c.queue().await, (0, 0));
    let after = world(&mut other);
    for f in FOLDERS {
        let kept: Vec<_> = before[f]
            .iter()
            .filter(|(_, fl)| !fl.contains(&"\\Deleted".to_string()))
            .cloned()
            .collect();
        assert_eq!(
            after[f], kept,
            "{f}: exactly the user's marked messages went"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_a_missing_uid_with_its_last_message_is_not_believed() {
    let servers = MailServers::start();
    servers.create_mailbox(ALICE.email, "Work");
    let front = Front::start(servers.imap_port()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut other = TestImap::connect(servers.imap_port(), ALICE.email, ALICE.password).unwrap();
    for s in ["gone", "draft-1", "draft-2", "last"] {
        append(&mut other, "INBOX", "", &raw(s));
    }
    let c = account(dir.path(), front.port).await;
    // Another client expunges "gone"; this server then answers its UID with the last message.
    let uids = other.uids("INBOX");
    let (gone_uid, last_uid) = (uids[0], *uids.last().unwrap());
    other.ok("SELECT INBOX");
    other.ok(&format!("UID STORE {gone_uid} +FLAGS.SILENT (\\Deleted)"));
    other.ok(&format!("UID EXPUNGE {gone_uid}"));
    front.remap(gone_uid, last_uid);
    let gone = c.id_of("INBOX", "gone").await;
    let before = world(&mut other);
    c.act(Cmd::SetFlag {
        msgs: vec![gone],
        flag: FlagName::Flagged,
        on: true,
        undoable: true,
    })
    .await;
    c.act(Cmd::MoveTo {
        msgs: vec![gone],
        dest: Dest::Role(Role::Archive),
        copy: false,
        what: "archived".into(),
    })
    .await;
    let mut imap = c.connect().await;
    replay(&mut imap, &c.store, c.id, true).await.unwrap();
    assert_eq!(world(&mut other), before, "no other message was touched");
    assert_eq!(c.queue().await, (0, 0));
    let log = c.log().await;
    assert!(
        log.iter()
            .filter(|l| l.contains("already deleted on the server"))
            .count()
            == 2,
        "{log:?}"
    );
}
