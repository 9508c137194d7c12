//! Running one scenario against several real servers at once, and reading a folder back from
//! any of them: shared by the interop suites (tests/interop_*.rs).

use std::future::Future;

#[allow(unused_imports)] // not every user of the harness needs it
pub use super::imap::quote;
use super::{ImapKind, ImapServer, Populated, TestImap, imap, interop, populate};

/// One message on the server: UID, Subject (raw, as the header has it) and flags (sorted,
/// without `\Recent`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerMsg {
    pub uid: u32,
    pub subject: String,
    pub flags: Vec<String>,
}

/// Starts `kinds` in parallel, then runs `test` on each in its own thread; a panic in any of
/// them fails the caller (after every thread ended).
pub fn on_each(kinds: &[ImapKind], test: impl Fn(&ImapServer) + Sync) {
    let servers = ImapServer::start_many(kinds);
    let test = &test;
    std::thread::scope(|s| {
        let handles: Vec<_> = servers
            .iter()
            .map(|server| s.spawn(move || test(server)))
            .collect();
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}

/// Runs `f` to completion on a fresh single-threaded runtime (one per server thread).
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A short plain message from Carol (CRLF line ends).
pub fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: Carol <carol@example.test>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\n\
         body of {subject}\r\n"
    )
    .into_bytes()
}

/// Every message of a folder (one FETCH after an EXAMINE, which makes Courier rescan), by UID.
pub fn messages(imap: &mut TestImap, wire: &str) -> Vec<ServerMsg> {
    if imap.select(wire) == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for u in imap.ok("UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])") {
        let Some(start) = u.text.find("FLAGS (") else {
            continue;
        };
        let start = start + "FLAGS (".len();
        let end = start + u.text[start..].find(')').unwrap();
        let mut flags: Vec<String> = u.text[start..end]
            .split_whitespace()
            .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
            .map(str::to_string)
            .collect();
        flags.sort();
        let uid = u.text.split_once("UID ").map_or(0, |(_, rest)| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        });
        let header = String::from_utf8_lossy(u.literals.first().map_or(&[][..], |l| l));
        let subject = header
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("subject")
                    .then(|| value.trim().to_string())
            })
            .unwrap_or_default();
        out.push(ServerMsg {
            uid,
            subject,
            flags,
        });
    }
    out.sort();
    out
}

/// (subject, flags) of every message in a folder, sorted (UIDs left out: a moved message gets
/// a new one).
pub fn snapshot(imap: &mut TestImap, wire: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<_> = messages(imap, wire)
        .into_iter()
        .map(|m| (m.subject, m.flags))
        .collect();
    out.sort();
    out
}

/// IMAP flags for Maildir flag letters ("FRS").
pub fn maildir_to_imap(letters: &str) -> Vec<String> {
    let mut flags: Vec<String> = letters
        .chars()
        .filter_map(|c| match c {
            'F' => Some("\\Flagged"),
            'R' => Some("\\Answered"),
            'S' => Some("\\Seen"),
            'D' => Some("\\Draft"),
            'T' => Some("\\Deleted"),
            _ => None,
        })
        .map(str::to_string)
        .collect();
    flags.sort();
    flags
}

impl ImapServer {
    /// APPENDs `n` generated messages (see [`populate::generate`]; deterministic for a
    /// `seed`, with their flags) to `user`'s folder `wire` (as the server names it; it must
    /// exist), in order, so UID order is generation order. Works on every server.
    pub fn append_generated(&self, user: &str, wire: &str, n: usize, seed: u64) -> Populated {
        let t0 = std::time::Instant::now();
        let mut imap = self.imap(user);
        let mut rng = populate::Rng::new(seed);
        let mut date: i64 = 1_767_225_600 - (n as i64) * 37 * 60;
        let mut messages = Vec::with_capacity(n);
        for i in 0..n {
            date += 60 + rng.below(72 * 60) as i64;
            let (raw, meta) = populate::generate(&mut rng, seed, i, date, user, &messages);
            let flags = maildir_to_imap(&meta.maildir_flags).join(" ");
            imap.append(wire, &flags, &interop::crlf(&raw));
            messages.push(meta);
        }
        imap.logout();
        Populated {
            count: messages.len(),
            messages,
            write_time: t0.elapsed(),
            index_time: Default::default(),
        }
    }

    /// CREATE `wire` (as the server names it, modified UTF-7) as `user`; panics on failure.
    pub fn create_wire(&self, user: &str, wire: &str) {
        let mut c = self.imap(user);
        c.command(&format!("CREATE {}", imap::quote(wire)))
            .unwrap_or_else(|e| panic!("{}", self.with_logs(&format!("CREATE {wire}: {e}"))));
        c.logout();
    }
}
