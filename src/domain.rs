//! The pure email model: ids, mailboxes, flags, envelopes, parsed messages, threads.
//! No I/O and no I/O crates here (a test in tests/ enforces it).

pub mod compose;
pub mod engine;
pub mod keys;
pub mod message;
pub mod sanitize;
pub mod search;
pub mod skeleton;
pub mod thread;
pub mod triage;
pub mod verdict;

use std::fmt;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $inner:ty) => {
        $(#[$m])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Row id of an account in the cache.
    AccountId,
    i64
);
id_type!(
    /// Row id of a mailbox in the cache.
    MailboxId,
    i64
);
id_type!(
    /// Row id of a cached message (not the RFC 5322 Message-ID).
    MsgId,
    i64
);
id_type!(
    /// IMAP UID (or a local sequence number for POP3 and demo mailboxes).
    Uid,
    u32
);
id_type!(
    /// IMAP UIDVALIDITY of a mailbox.
    UidValidity,
    u32
);
id_type!(
    /// IMAP MODSEQ (CONDSTORE).
    ModSeq,
    u64
);
id_type!(
    /// Names one request from the app (a load, a search, a completion) so its answer can be
    /// told from a stale one: each new request gets a greater id.
    RequestId,
    u64
);

/// What a mailbox is for. Order is the display order in the mailboxes pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Inbox,
    Drafts,
    Sent,
    Archive,
    Junk,
    Trash,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Inbox,
        Role::Drafts,
        Role::Sent,
        Role::Archive,
        Role::Junk,
        Role::Trash,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Inbox => "inbox",
            Role::Drafts => "drafts",
            Role::Sent => "sent",
            Role::Archive => "archive",
            Role::Junk => "junk",
            Role::Trash => "trash",
        }
    }

    pub fn from_name(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Guess a role from a mailbox's name when the server gives no SPECIAL-USE attribute.
    pub fn guess_from_name(name: &str) -> Option<Role> {
        let leaf = name
            .rsplit(['/', '.'])
            .next()
            .unwrap_or(name)
            .to_lowercase();
        if name.eq_ignore_ascii_case("INBOX") {
            return Some(Role::Inbox);
        }
        Some(match leaf.as_str() {
            "drafts" | "draft" => Role::Drafts,
            "sent" | "sent items" | "sent mail" | "sent messages" => Role::Sent,
            "archive" | "archives" | "all mail" => Role::Archive,
            "junk" | "spam" | "junk e-mail" | "junk email" | "bulk mail" => Role::Junk,
            "trash" | "deleted" | "deleted items" | "deleted messages" | "bin" => Role::Trash,
            _ => return None,
        })
    }
}

/// A mailbox as the UI shows it.
/// A list row whose place is known: pages next to it are read from it (keyset pagination),
/// so reading page n costs the distance from the anchor, not n.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// Its row index in the list (0 = newest).
    pub index: u32,
    pub date: i64,
    pub id: MsgId,
}

/// The unified view of every account's INBOX: not a mailbox in the cache (ids there start at
/// 1), listed first in the mailboxes pane when there are several accounts.
pub const ALL_INBOXES: MailboxId = MailboxId(0);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub id: MailboxId,
    pub account: AccountId,
    /// Full name as the server spells it (decoded from modified UTF-7).
    pub name: String,
    pub delimiter: Option<char>,
    pub role: Option<Role>,
    pub total: u32,
    pub unread: u32,
}

impl Mailbox {
    /// The last path component, for display in a tree.
    pub fn leaf(&self) -> &str {
        match self.delimiter {
            Some(d) => self.name.rsplit(d).next().unwrap_or(&self.name),
            None => &self.name,
        }
    }

    /// Nesting depth in the hierarchy (0 for top level).
    pub fn depth(&self) -> usize {
        match self.delimiter {
            Some(d) => self.name.matches(d).count(),
            None => 0,
        }
    }
}

/// Message flags: the standard system flags plus keywords, spelled as the server spells them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub seen: bool,
    pub answered: bool,
    pub flagged: bool,
    pub deleted: bool,
    pub draft: bool,
    pub keywords: Vec<String>,
}

impl Flags {
    /// Parse a space-separated IMAP flag list (`\Seen \Flagged $Forwarded`).
    pub fn parse(s: &str) -> Flags {
        let mut f = Flags::default();
        for tok in s.split_whitespace() {
            f.set(tok, true);
        }
        f
    }

    pub fn set(&mut self, flag: &str, on: bool) {
        match flag.to_ascii_lowercase().as_str() {
            "\\seen" => self.seen = on,
            "\\answered" => self.answered = on,
            "\\flagged" => self.flagged = on,
            "\\deleted" => self.deleted = on,
            "\\draft" => self.draft = on,
            "\\recent" | "\\*" => {}
            _ => {
                let present = self
                    .keywords
                    .iter()
                    .position(|k| k.eq_ignore_ascii_case(flag));
                match (on, present) {
                    (true, None) => self.keywords.push(flag.to_string()),
                    (false, Some(i)) => {
                        self.keywords.remove(i);
                    }
                    _ => {}
                }
            }
        }
    }

    pub fn has_keyword(&self, kw: &str) -> bool {
        self.keywords.iter().any(|k| k.eq_ignore_ascii_case(kw))
    }

    /// The IMAP spelling, system flags first.
    pub fn to_imap(&self) -> String {
        let mut out: Vec<&str> = Vec::new();
        if self.seen {
            out.push("\\Seen");
        }
        if self.answered {
            out.push("\\Answered");
        }
        if self.flagged {
            out.push("\\Flagged");
        }
        if self.deleted {
            out.push("\\Deleted");
        }
        if self.draft {
            out.push("\\Draft");
        }
        out.extend(self.keywords.iter().map(String::as_str));
        out.join(" ")
    }
}

/// A mailbox address with its optional display name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub name: Option<String>,
    pub email: String,
}

impl Address {
    /// The display name when there is one, else the address.
    pub fn display(&self) -> &str {
        match &self.name {
            Some(n) if !n.trim().is_empty() => n,
            _ => &self.email,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) if !n.is_empty() => write!(f, "{n} <{}>", self.email),
            _ => f.write_str(&self.email),
        }
    }
}

/// A new message worth telling the user about (see `Store::new_mail`). Its texts come from
/// the mail: sanitise before showing or passing them on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub msg: MsgId,
    pub account: AccountId,
    pub account_name: String,
    /// The folder's name as the mailboxes pane shows it.
    pub folder: String,
    pub role: Option<Role>,
    /// The sender's name, else address.
    pub from: String,
    pub subject: String,
}

/// One row of the message list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub id: MsgId,
    pub mailbox: MailboxId,
    pub uid: Uid,
    /// Seconds since the Unix epoch (the Date header, else the server's internal date).
    pub date: i64,
    pub from: Vec<Address>,
    pub to: Vec<Address>,
    pub subject: String,
    pub flags: Flags,
    pub has_attachments: bool,
    pub size: u32,
    pub preview: String,
    pub thread: Option<i64>,
    /// Gmail's labels (read-only tags; empty on other servers): sanitized, one line each.
    pub labels: Vec<String>,
}

/// What an account's engine is doing, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Syncing {
        mailbox: String,
        done: u32,
        total: u32,
    },
    Online,
    /// Online and in IDLE: the server pushes changes as they happen.
    Idle,
    /// Not connected between two polls (POP3): the last poll succeeded at `at` (Unix
    /// seconds). Never "online": the server may have gone since.
    Polled {
        at: i64,
    },
    /// Not connected; the engine retries by itself.
    Offline(String),
    /// The server refused the login (or TLS failed): the engine waits for the user.
    Failed(String),
}

impl fmt::Display for ConnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnState::Connecting => f.write_str("connecting"),
            ConnState::Syncing {
                mailbox,
                done,
                total,
            } => write!(f, "syncing {mailbox} {done}/{total}"),
            ConnState::Online => f.write_str("online"),
            ConnState::Idle => f.write_str("idle"),
            ConnState::Polled { .. } => f.write_str("last poll ok"),
            ConnState::Offline(why) => write!(f, "offline: {why}"),
            ConnState::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

/// An account as the UI lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub email: String,
    /// User actions queued for the server and not yet confirmed.
    pub pending: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_and_keep_keyword_spelling() {
        let f = Flags::parse("\\Seen \\Flagged $Forwarded \\Recent");
        assert!(f.seen && f.flagged && !f.answered);
        assert_eq!(f.keywords, vec!["$Forwarded".to_string()]);
        assert_eq!(f.to_imap(), "\\Seen \\Flagged $Forwarded");
        let mut g = f.clone();
        g.set("$forwarded", false);
        assert!(g.keywords.is_empty());
    }

    #[test]
    fn roles_from_names() {
        assert_eq!(Role::guess_from_name("INBOX"), Some(Role::Inbox));
        assert_eq!(Role::guess_from_name("[Gmail]/Sent Mail"), Some(Role::Sent));
        assert_eq!(Role::guess_from_name("INBOX.Junk"), Some(Role::Junk));
        assert_eq!(Role::guess_from_name("Projects"), None);
    }

    #[test]
    fn mailbox_leaf_and_depth() {
        let m = Mailbox {
            id: MailboxId(1),
            account: AccountId(1),
            name: "Projects/Atlas/2026".into(),
            delimiter: Some('/'),
            role: None,
            total: 0,
            unread: 0,
        };
        assert_eq!(m.leaf(), "2026");
        assert_eq!(m.depth(), 2);
    }
}
