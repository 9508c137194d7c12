//! Gmail's labels: the cleaning, and a sync against a scripted server over an in-memory
//! stream (no test server has X-GM-EXT-1: Dovecot, Cyrus and Courier answer BAD to
//! X-GM-LABELS, which the script does too when it does not offer the extension).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

use super::*;
use crate::domain::Role;
use crate::store::{AccountKind, Store, StoreHandle};
use crate::sync::imap::{Imap, Listed};
use crate::sync::wire::{Wire, WireStats};

#[test]
fn system_labels_lose_their_backslash_and_escapes_are_undone() {
    // As imap-proto hands them over: a quoted string keeps its escapes, an atom is as sent.
    let got = clean([
        "\\\\Inbox",
        "\\Important",
        "\\\\Starred",
        "Muy Importante",
        "say \\\"hi\\\"",
        "[Mailbox]",
    ]);
    assert_eq!(
        got,
        [
            "Inbox",
            "Important",
            "Starred",
            "Muy Importante",
            "say \"hi\"",
            "[Mailbox]"
        ]
    );
}

#[test]
fn labels_are_decoded_from_modified_utf7() {
    assert_eq!(
        clean(["&AOk-t&AOk-", "Projets/&AMk-quipe", "R&-D"]),
        ["été", "Projets/Équipe", "R&D"]
    );
    // Malformed shifted sections stay as they came.
    assert_eq!(clean(["&Jjo"]), ["&Jjo"]);
}

#[test]
fn hostile_labels_become_one_clean_line_within_bounds() {
    let got = clean([
        "\u{1b}]0;PWNED\u{7}evil",
        "two\r\nlines",
        "tab\there",
        "   ",
        "",
        "\\",
        "\u{1b}[31m",
    ]);
    assert_eq!(got, ["evil", "two lines", "tab here"]);
    for l in &got {
        assert!(!l.contains(['\n', '\r']) && !l.chars().any(char::is_control));
    }
    // Repeats once; long ones cut; at most MAX_LABELS.
    assert_eq!(clean(["a", "\\a", "a"]), ["a"]);
    let long = "é".repeat(10_000);
    let got = clean([long.as_str()]);
    assert_eq!(got[0].chars().count(), MAX_LABEL_CHARS);
    let many: Vec<String> = (0..500).map(|i| format!("l{i}")).collect();
    let got = clean(many.iter().map(String::as_str));
    assert_eq!(got.len(), MAX_LABELS);
    assert_eq!(got[MAX_LABELS - 1], format!("l{}", MAX_LABELS - 1));
}

/// What the scripted server holds: two messages (UIDs 1 and 2) and their labels as sent on
/// the wire; what it was asked.
struct Server {
    caps: &'static str,
    modseq: u64,
    labels: [&'static str; 2],
    log: Vec<String>,
}

impl Server {
    fn gmail(&self) -> bool {
        self.caps.contains("X-GM-EXT-1")
    }

    /// The answer to one command line (tag, then the command).
    fn answer(&self, tag: &str, cmd: &str) -> String {
        let word = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
        if cmd.contains("X-GM-LABELS") && !self.gmail() {
            return format!("{tag} BAD Invalid fetch attribute X-GM-LABELS\r\n");
        }
        let labels = |i: usize| match cmd.contains("X-GM-LABELS") {
            true => format!(" X-GM-LABELS ({})", self.labels[i]),
            false => String::new(),
        };
        let untagged = match word.as_str() {
            "CAPABILITY" => format!("* CAPABILITY IMAP4rev1 {}\r\n", self.caps),
            "ENABLE" => "* ENABLED CONDSTORE\r\n".to_string(),
            "SELECT" => format!(
                "* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 3] ok\r\n\
                 * OK [HIGHESTMODSEQ {}] ok\r\n",
                self.modseq
            ),
            "FETCH" => (0..2)
                .map(|i| {
                    let header = format!("Subject: message {}\r\nFrom: a@b.example\r\n\r\n", i + 1);
                    format!(
                        "* {seq} FETCH (UID {seq} FLAGS (\\Seen) RFC822.SIZE 100{} \
                         BODY[HEADER.FIELDS (SUBJECT FROM)] {{{}}}\r\n{header})\r\n",
                        labels(i),
                        header.len(),
                        seq = i + 1,
                    )
                })
                .collect(),
            // The flags (and labels) changed since the cached MODSEQ: message 2's.
            "UID" if cmd.contains("CHANGEDSINCE") => format!(
                "* 2 FETCH (UID 2 FLAGS (\\Seen){} MODSEQ ({}))\r\n",
                labels(1),
                self.modseq
            ),
            _ => String::new(),
        };
        format!("{untagged}{tag} OK done\r\n")
    }
}

async fn serve(far: DuplexStream, server: Arc<Mutex<Server>>) {
    let (r, mut w) = tokio::io::split(far);
    let mut lines = BufReader::new(r).lines();
    if w.write_all(b"* OK scripted\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let (tag, cmd) = line.split_once(' ').unwrap_or((&line, ""));
        let reply = {
            let mut s = server.lock().unwrap();
            s.log.push(cmd.to_string());
            s.answer(tag, cmd)
        };
        if w.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A session with the scripted server, made ready as `Imap::connect` makes one (capabilities,
/// ENABLE), over an in-memory stream.
async fn session(server: &Arc<Mutex<Server>>) -> Imap {
    let (near, far) = tokio::io::duplex(1 << 16);
    tokio::spawn(serve(far, Arc::clone(server)));
    let wire = Arc::new(WireStats::default());
    let mut client = async_imap::Client::new(Wire::new(Box::new(near), Arc::clone(&wire)));
    client.read_response().await.unwrap().unwrap();
    let session = client.login("me", "pw").await.map_err(|(e, _)| e).unwrap();
    Imap::start(session, "scripted", wire, false).await.unwrap()
}

/// Sync INBOX from the server into the cache twice: first whole, then (MODSEQ raised, message
/// 2's labels changed to `relabelled`) its changes. The labels the cache has after each.
async fn sync_twice(
    caps: &'static str,
    labels: [&'static str; 2],
    relabelled: &'static str,
) -> (Vec<Vec<String>>, Vec<Vec<String>>, Vec<String>) {
    let server = Arc::new(Mutex::new(Server {
        caps,
        modseq: 10,
        labels,
        log: Vec::new(),
    }));
    let mut store = Store::open_in_memory().unwrap();
    let a = store
        .upsert_account("gmail", "me@gmail.example", AccountKind::Imap)
        .unwrap();
    let mb = store
        .upsert_mailbox(a, "INBOX", Some('/'), Some(Role::Inbox))
        .unwrap();
    let store = StoreHandle::spawn(store).unwrap();
    let listed = Listed {
        name: "INBOX".into(),
        wire: "INBOX".into(),
        delimiter: Some('/'),
        special_use: Some(Role::Inbox),
        subscribed: true,
        selectable: true,
        aggregate: false,
    };
    let cached = || async {
        let mut rows = store.call(move |s| s.envelopes(mb, 0, 10)).await.unwrap();
        rows.sort_by_key(|e| e.uid.0);
        rows.into_iter().map(|e| e.labels).collect::<Vec<_>>()
    };
    let mut imap = session(&server).await;
    crate::sync::pass::sync_mailbox(&mut imap, &store, mb, &listed, &|_| {})
        .await
        .unwrap();
    let first = cached().await;
    {
        let mut s = server.lock().unwrap();
        s.modseq = 11;
        s.labels[1] = relabelled;
    }
    crate::sync::pass::sync_mailbox(&mut imap, &store, mb, &listed, &|_| {})
        .await
        .unwrap();
    let second = cached().await;
    let log = server.lock().unwrap().log.clone();
    (first, second, log)
}

#[tokio::test]
async fn gmail_labels_reach_the_cache_and_follow_their_changes() {
    let (first, second, log) = sync_twice(
        "CONDSTORE X-GM-EXT-1",
        ["\"\\\\Inbox\" \"\\\\Important\" Work \"&AOk-t&AOk-\"", ""],
        "\\Starred \"Muy Importante\"",
    )
    .await;
    assert_eq!(
        first,
        [
            vec!["Inbox", "Important", "Work", "été"],
            Vec::<&str>::new()
        ]
    );
    assert_eq!(
        second,
        [
            vec!["Inbox", "Important", "Work", "été"],
            vec!["Starred", "Muy Importante"]
        ]
    );
    let fetches: Vec<&String> = log.iter().filter(|c| c.contains("FETCH")).collect();
    assert_eq!(fetches.len(), 2, "{log:#?}");
    assert!(
        fetches.iter().all(|c| c.contains("X-GM-LABELS")),
        "{log:#?}"
    );
}

#[tokio::test]
async fn without_x_gm_ext_1_labels_are_never_asked_for() {
    let (first, second, log) = sync_twice("CONDSTORE", ["Work", "Work"], "Other").await;
    assert!(first.iter().chain(&second).all(Vec::is_empty));
    let fetches: Vec<&String> = log.iter().filter(|c| c.contains("FETCH")).collect();
    assert_eq!(fetches.len(), 2, "{log:#?}");
    assert!(!log.iter().any(|c| c.contains("X-GM-LABELS")), "{log:#?}");
}
