//! The local cache: one SQLite database. The only module that names rusqlite.
//!
//! [`Store`] is synchronous and owns one connection (tests use `open_in_memory`).
//! [`StoreHandle`] runs a `Store` on its own thread for async callers (engines, the UI's effects).

mod actions;
mod handle;
mod outbox;
mod pop3;
mod private;
mod process;
mod queue;
mod schema;
mod search;
pub use search::HeadersOnly;
mod sync;

pub use actions::{Moved, Pending, QueuedAction, placeholder};
pub use handle::StoreHandle;
pub use outbox::{OutState, OutboxRow};
pub use pop3::{POP3_FOLDERS, POP3_INBOX, Pop3Message, Pop3Record};
pub use private::{ensure_private_dir, make_private};
pub use sync::{MailboxInfo, SyncState};

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::domain::message::MessageMeta;
use crate::domain::thread::SkeletonRow;
use crate::domain::{
    ALL_INBOXES, Account, AccountId, Address, Anchor, Envelope, Flags, Mailbox, MailboxId, MsgId,
    Role, Uid,
};

/// File name of the cache database inside the data dir.
pub const DB_FILE: &str = "cache.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cache database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "cache database {path} was written by a newer tern (schema {found}, this tern knows {known}); \
         upgrade tern or move the file away"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cache database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cache: {0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How long a write waits for another connection's write transaction to end.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl StoreError {
    /// Another connection held the database for longer than [`BUSY_TIMEOUT`]: worth trying
    /// again, never a reason to give up on an account.
    pub fn is_busy(&self) -> bool {
        let code = match self {
            StoreError::Sql(e) | StoreError::Open { source: e, .. } => e.sqlite_error_code(),
            _ => None,
        };
        matches!(
            code,
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

/// Account kinds as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    Imap,
    Pop3,
    /// Mail that lives only in the cache (demo mode).
    Local,
}

impl AccountKind {
    fn as_str(self) -> &'static str {
        match self {
            AccountKind::Imap => "imap",
            AccountKind::Pop3 => "pop3",
            AccountKind::Local => "local",
        }
    }
}

/// A cached message as the reader gets it (see [`Store::message_for_reader`]).
#[derive(Debug)]
pub enum ReaderMessage {
    Whole(Vec<u8>),
    Skeleton(Box<crate::domain::skeleton::Skeleton>),
}

/// A message to insert into the cache.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub uid: Uid,
    pub meta: MessageMeta,
    pub flags: Flags,
    pub internal_date: Option<i64>,
    /// The whole message when it is at hand; it is stored and indexed.
    pub raw: Option<&'a [u8]>,
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn addrs_to_json(list: &[Address]) -> String {
    let v: Vec<(&str, &str)> = list
        .iter()
        .map(|a| (a.name.as_deref().unwrap_or(""), a.email.as_str()))
        .collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn addrs_from_json(s: &str) -> Vec<Address> {
    let v: Vec<(String, String)> = serde_json::from_str(s).unwrap_or_default();
    v.into_iter()
        .map(|(n, e)| Address {
            name: if n.is_empty() { None } else { Some(n) },
            email: e,
        })
        .collect()
}

pub(crate) fn addrs_text(list: &[Address]) -> String {
    list.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Open (or create) the cache in `data_dir`, creating the directory (mode 0700); a data
    /// directory other users can write is refused.
    pub fn open_in_dir(data_dir: &Path) -> Result<Store> {
        private::ensure_private_dir(data_dir)?;
        Store::open(&data_dir.join(DB_FILE))
    }

    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.init()?;
        // Created 0600 under tern's umask; an older cache (or one made under another umask)
        // is made private here, with its WAL and shared-memory files.
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            private::make_private(Path::new(&p))?;
        }
        // Work a crashed process left half done, whichever command opens the cache first.
        let uncertain = store.outbox_recover()?;
        if uncertain > 0 {
            tracing::warn!(
                "{uncertain} outgoing message(s) may have been sent before tern stopped: see tern outbox"
            );
        }
        Ok(store)
    }

    pub fn open_in_memory() -> Result<Store> {
        let mut store = Store {
            conn: Connection::open_in_memory()?,
            path: PathBuf::from(":memory:"),
        };
        store.init()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn init(&mut self) -> Result<()> {
        // Several connections write (the UI's actions, each engine, the address book). Every
        // write transaction takes the write lock when it begins (IMMEDIATE): a DEFERRED one
        // that read first and then wanted to write while another connection had committed got
        // SQLITE_BUSY at once, without waiting ("database is locked" under quick key presses
        // while an engine stored mail). Writers then queue behind each other for up to
        // BUSY_TIMEOUT; a writer never holds the lock that long (the largest batch is a few
        // seconds).
        self.conn
            .set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // rarray(?): a list of ids as one parameter (one statement for a 5,000-message action).
        rusqlite::vtab::array::load_module(&self.conn)?;
        // WAL lets the UI read while an engine writes.
        let _mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        self.conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;",
        )?;
        self.migrate()
    }

    /// Schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let known = schema::MIGRATIONS.len() as i64;
        let found = self.schema_version()?;
        if found > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
            tracing::info!(version = i + 1, "cache schema migrated");
        }
        if found > 0 && found < schema::REINDEX_AT && known >= schema::REINDEX_AT {
            tracing::info!("rebuilding the search index for the new schema");
            let n = self.rebuild_index(&mut |_, _| {})?;
            tracing::info!(messages = n, "search index rebuilt");
        }
        Ok(())
    }

    // ---- accounts ----

    /// Insert the account or update its email; returns its id.
    pub fn upsert_account(
        &mut self,
        name: &str,
        email: &str,
        kind: AccountKind,
    ) -> Result<AccountId> {
        self.conn.execute(
            "INSERT INTO accounts (name, email, kind, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET email = excluded.email, kind = excluded.kind",
            params![name, email, kind.as_str(), now()],
        )?;
        Ok(AccountId(self.conn.query_row(
            "SELECT id FROM accounts WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?))
    }

    pub fn accounts(&self) -> Result<Vec<Account>> {
        let mut st = self.conn.prepare_cached(
            "SELECT a.id, a.name, a.email,
                    (SELECT count(*) FROM pending_actions p WHERE p.account_id = a.id)
                 FROM accounts a ORDER BY a.id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(Account {
                id: AccountId(r.get(0)?),
                name: r.get(1)?,
                email: r.get(2)?,
                pending: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- mailboxes ----

    /// Insert the mailbox or update its delimiter and role; returns its id.
    pub fn upsert_mailbox(
        &mut self,
        account: AccountId,
        name: &str,
        delimiter: Option<char>,
        role: Option<Role>,
    ) -> Result<MailboxId> {
        let delim = delimiter.map(|c| c.to_string());
        self.conn.execute(
            "INSERT INTO mailboxes (account_id, name, delimiter, role) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account_id, name) DO UPDATE SET delimiter = excluded.delimiter, role = excluded.role",
            params![account.0, name, delim, role.map(Role::as_str)],
        )?;
        Ok(MailboxId(self.conn.query_row(
            "SELECT id FROM mailboxes WHERE account_id = ?1 AND name = ?2",
            params![account.0, name],
            |r| r.get(0),
        )?))
    }

    /// All mailboxes of an account (or of every account), with their counts.
    pub fn mailboxes(&self, account: Option<AccountId>) -> Result<Vec<Mailbox>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, account_id, name, delimiter, role, total, unread FROM mailboxes
             WHERE ?1 IS NULL OR account_id = ?1 ORDER BY account_id, name",
        )?;
        let rows = st.query_map([account.map(|a| a.0)], |r| {
            let delim: Option<String> = r.get(3)?;
            let role: Option<String> = r.get(4)?;
            Ok(Mailbox {
                id: MailboxId(r.get(0)?),
                account: AccountId(r.get(1)?),
                name: r.get(2)?,
                delimiter: delim.and_then(|d| d.chars().next()),
                role: role.as_deref().and_then(Role::from_name),
                total: r.get(5)?,
                unread: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Recompute a mailbox's total and unread counts from its messages (a repair: triggers
    /// keep them current).
    pub fn recount(&mut self, mailbox: MailboxId) -> Result<()> {
        recount_tx(&self.conn, mailbox)
    }

    // ---- messages ----

    /// Insert a batch of messages into one mailbox in one transaction (replacing rows with the
    /// same UID), index them, thread them and update the mailbox counts.
    pub fn insert_messages(
        &mut self,
        mailbox: MailboxId,
        batch: &[NewMessage<'_>],
    ) -> Result<Vec<MsgId>> {
        let tx = self.conn.transaction()?;
        let account: i64 = tx.query_row(
            "SELECT account_id FROM mailboxes WHERE id = ?1",
            [mailbox.0],
            |r| r.get(0),
        )?;
        let mut ids = Vec::with_capacity(batch.len());
        // Ids are given out here, so each row's thread is known before it is written: one
        // write per row instead of an insert and an update.
        let mut next: i64 =
            tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM messages", [], |r| {
                r.get(0)
            })?;
        let siblings: Vec<i64> = {
            let mut st = tx.prepare_cached("SELECT id FROM mailboxes WHERE account_id = ?1")?;
            st.query_map([account], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for m in batch {
            let id = insert_one(&tx, &siblings, mailbox, m, i64::from(m.uid.0), next)?;
            if id.0 == next {
                next += 1;
            }
            ids.push(id);
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Number of messages in a mailbox (kept by triggers: no scan).
    pub fn message_count(&self, mailbox: MailboxId) -> Result<u32> {
        if mailbox == ALL_INBOXES {
            return Ok(self.conn.query_row(
                "SELECT coalesce(sum(total), 0) FROM mailboxes WHERE role = 'inbox'",
                [],
                |r| r.get(0),
            )?);
        }
        Ok(self.conn.query_row(
            "SELECT total FROM mailboxes WHERE id = ?1",
            [mailbox.0],
            |r| r.get(0),
        )?)
    }

    /// Number of messages of a mailbox the server knows of (those moved there locally and not
    /// yet confirmed are left out): what a sync compares with the server's count.
    pub fn synced_count(&self, mailbox: MailboxId) -> Result<u32> {
        let local: u32 = self.conn.query_row(
            "SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND uid < 0",
            [mailbox.0],
            |r| r.get(0),
        )?;
        Ok(self.message_count(mailbox)?.saturating_sub(local))
    }

    /// A page of list rows, newest first, starting `offset` rows from the newest.
    pub fn envelopes(&self, mailbox: MailboxId, offset: u32, limit: u32) -> Result<Vec<Envelope>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {ENVELOPE_COLUMNS} FROM messages WHERE {}
             ORDER BY date DESC, id DESC LIMIT ?2 OFFSET ?3",
            in_mailbox(mailbox)
        ))?;
        let rows = st.query_map(params![mailbox.0, limit, offset], envelope_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Rows `[offset, offset + limit)` of a mailbox's list (newest first), read from the nearest
    /// known place: after or before `anchor` by key (keyset pagination), or from whichever end
    /// of the `total` rows is nearer. A jump to the oldest page reads as little as the newest.
    pub fn envelopes_window(
        &self,
        mailbox: MailboxId,
        offset: u32,
        limit: u32,
        anchor: Option<Anchor>,
        total: u32,
    ) -> Result<Vec<Envelope>> {
        let filter = in_mailbox(mailbox);
        let query = |sql: String, p: &[&dyn rusqlite::ToSql]| -> Result<Vec<Envelope>> {
            let mut st = self.conn.prepare_cached(&sql)?;
            let rows = st.query_map(p, envelope_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        // Rows each way of reading would step over before the window; the fewest wins.
        let end = (offset + limit).min(total);
        let from_end = (offset < total).then(|| total - end);
        let after = anchor
            .filter(|a| offset > a.index)
            .map(|a| (a, offset - a.index - 1));
        let before = anchor
            .filter(|a| offset + limit <= a.index)
            .map(|a| (a, a.index - offset - limit));
        let best = [
            Some(offset),
            from_end,
            after.map(|(_, n)| n),
            before.map(|(_, n)| n),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(offset);
        match (after, before) {
            // Older than the anchor: on down from it.
            (Some((a, skip)), _) if skip == best => query(
                format!(
                    "SELECT {ENVELOPE_COLUMNS} FROM messages WHERE {filter} AND (date, id) < (?2, ?3)
                     ORDER BY date DESC, id DESC LIMIT ?4 OFFSET ?5"
                ),
                &[&mailbox.0, &a.date, &a.id.0, &limit, &skip],
            ),
            // Newer than the anchor: up from it, then turned round.
            (_, Some((a, skip))) if skip == best => {
                let mut rows = query(
                    format!(
                        "SELECT {ENVELOPE_COLUMNS} FROM messages WHERE {filter} AND (date, id) > (?2, ?3)
                         ORDER BY date ASC, id ASC LIMIT ?4 OFFSET ?5"
                    ),
                    &[&mailbox.0, &a.date, &a.id.0, &limit, &skip],
                )?;
                rows.reverse();
                Ok(rows)
            }
            // From the oldest end.
            _ if from_end == Some(best) && best < offset => {
                let mut rows = query(
                    format!(
                        "SELECT {ENVELOPE_COLUMNS} FROM messages WHERE {filter}
                         ORDER BY date ASC, id ASC LIMIT ?2 OFFSET ?3"
                    ),
                    &[&mailbox.0, &(end - offset), &best],
                )?;
                rows.reverse();
                Ok(rows)
            }
            _ => self.envelopes(mailbox, offset, limit),
        }
    }

    /// List rows for the given messages, in the order given (ids no longer cached are left out).
    pub fn envelopes_by_ids(&self, ids: &[MsgId]) -> Result<Vec<Envelope>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {ENVELOPE_COLUMNS} FROM messages WHERE id = ?1"
        ))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(e) = st.query_row([id.0], envelope_from_row).optional()? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// What the threaded order of a mailbox needs of each message (see `domain::thread`).
    pub fn thread_skeleton(&self, mailbox: MailboxId) -> Result<Vec<SkeletonRow>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT id, coalesce(thread_id, id), date, message_id, in_reply_to
             FROM messages WHERE {}",
            in_mailbox(mailbox)
        ))?;
        let rows = st.query_map([mailbox.0], |r| {
            Ok(SkeletonRow {
                id: MsgId(r.get(0)?),
                thread: r.get(1)?,
                date: r.get(2)?,
                message_id: r.get(3)?,
                in_reply_to: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether the cached body is only the message's text (see [`Store::store_partial_bodies`]).
    pub fn body_is_partial(&self, msg: MsgId) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT partial FROM bodies WHERE message_id = ?1",
                [msg.0],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    /// The raw message, when its body is cached.
    pub fn raw_message(&self, msg: MsgId) -> Result<Option<Vec<u8>>> {
        read_body(&self.conn, msg)
    }

    /// The cached message for the reader: whole when it is up to
    /// [`skeleton::WHOLE_UP_TO`](crate::domain::skeleton::WHOLE_UP_TO), else its skeleton, read
    /// from the cache in chunks so the whole message is never in memory.
    pub fn message_for_reader(&self, msg: MsgId) -> Result<Option<ReaderMessage>> {
        use crate::domain::skeleton::{SkeletonBuilder, WHOLE_UP_TO};
        let size: Option<i64> = self
            .conn
            .prepare_cached("SELECT length(coalesce(big, raw)) FROM bodies WHERE message_id = ?1")?
            .query_row([msg.0], |r| r.get(0))
            .optional()?;
        let Some(size) = size else {
            return Ok(None);
        };
        if usize::try_from(size).unwrap_or(usize::MAX) <= WHOLE_UP_TO {
            return Ok(self.raw_message(msg)?.map(ReaderMessage::Whole));
        }
        let mut builder = SkeletonBuilder::default();
        for_each_body_chunk(&self.conn, msg, |_, chunk| builder.push(chunk))?;
        Ok(Some(ReaderMessage::Skeleton(Box::new(builder.finish()))))
    }

    /// Store a fetched body and add it to the full-text index.
    pub fn store_body(&mut self, msg: MsgId, raw: &[u8], meta: &MessageMeta) -> Result<()> {
        let tx = self.conn.transaction()?;
        store_body_tx(&tx, msg, raw, meta, false)?;
        tx.commit()?;
        Ok(())
    }

    /// Full-text search: message ids matching an FTS5 query, best first.
    pub fn fts_ids(&self, query: &str, limit: u32) -> Result<Vec<MsgId>> {
        let mut st = self.conn.prepare_cached(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1 ORDER BY rank LIMIT ?2",
        )?;
        let rows = st.query_map(params![query, limit], |r| Ok(MsgId(r.get(0)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn delete_message(&mut self, msg: MsgId) -> Result<()> {
        self.conn
            .execute("DELETE FROM messages WHERE id = ?1", [msg.0])?;
        Ok(())
    }

    // ---- outbox and pending actions (queues that must never lose a row) ----

    /// Queue an outgoing message; returns its outbox id.
    pub fn outbox_push(
        &mut self,
        account: AccountId,
        mail_from: &str,
        rcpt: &[String],
        raw: &[u8],
    ) -> Result<i64> {
        let t = now();
        self.conn.execute(
            "INSERT INTO outbox (account_id, created_at, updated_at, mail_from, rcpt_json, raw, state, next_attempt_at)
             VALUES (?1, ?2, ?2, ?3, ?4, ?5, 'queued', ?2)",
            params![account.0, t, mail_from, serde_json::to_string(rcpt).unwrap_or_default(), raw],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Number of outbox rows not yet sent, by account.
    pub fn outbox_waiting(&self, account: AccountId) -> Result<u32> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE account_id = ?1 AND state != 'sent'",
            [account.0],
            |r| r.get(0),
        )?)
    }

    /// Queue a local change for replay on the server; returns its id.
    pub fn pending_push(
        &mut self,
        account: AccountId,
        kind: &str,
        mailbox: Option<MailboxId>,
        payload: &str,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO pending_actions (account_id, created_at, kind, mailbox_id, payload)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![account.0, now(), kind, mailbox.map(|m| m.0), payload],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn pending_count(&self, account: AccountId) -> Result<u32> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM pending_actions WHERE account_id = ?1",
            [account.0],
            |r| r.get(0),
        )?)
    }
}

fn recount_tx(conn: &Connection, mailbox: MailboxId) -> Result<()> {
    conn.execute(
        "UPDATE mailboxes SET
            total  = (SELECT count(*) FROM messages WHERE mailbox_id = ?1),
            unread = (SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND seen = 0 AND deleted = 0)
         WHERE id = ?1",
        [mailbox.0],
    )?;
    Ok(())
}

/// The condition for the rows of mailbox ?1, or of every INBOX for [`ALL_INBOXES`] (two
/// statements rather than one with OR, which would keep SQLite from the mailbox's date index).
fn in_mailbox(mailbox: MailboxId) -> &'static str {
    if mailbox == ALL_INBOXES {
        "?1 = 0 AND mailbox_id IN (SELECT id FROM mailboxes WHERE role = 'inbox')"
    } else {
        "mailbox_id = ?1"
    }
}

/// The columns [`envelope_from_row`] reads, in its order.
const ENVELOPE_COLUMNS: &str = "id, mailbox_id, uid, date, from_json, to_json, subject, seen,
    answered, flagged, deleted, draft, keywords, has_attachments, size, preview, thread_id";

fn envelope_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Envelope> {
    let from_json: String = r.get(4)?;
    let to_json: String = r.get(5)?;
    let keywords: String = r.get(12)?;
    Ok(Envelope {
        id: MsgId(r.get(0)?),
        mailbox: MailboxId(r.get(1)?),
        // 0: moved here locally, the server's UID not known yet.
        uid: Uid(u32::try_from(r.get::<_, i64>(2)?).unwrap_or(0)),
        date: r.get(3)?,
        from: addrs_from_json(&from_json),
        to: addrs_from_json(&to_json),
        subject: r.get(6)?,
        flags: Flags {
            seen: r.get(7)?,
            answered: r.get(8)?,
            flagged: r.get(9)?,
            deleted: r.get(10)?,
            draft: r.get(11)?,
            keywords: keywords.split_whitespace().map(str::to_string).collect(),
        },
        has_attachments: r.get(13)?,
        size: r.get(14)?,
        preview: r.get(15)?,
        thread: r.get(16)?,
    })
}

/// Insert (or, when the UID is cached already, update the flags of) one message, as id `next`
/// when it is new. Returns its id.
/// `uid`: the message's UID (negative: a placeholder, see `actions`).
fn insert_one(
    tx: &Transaction<'_>,
    siblings: &[i64],
    mailbox: MailboxId,
    m: &NewMessage<'_>,
    uid: i64,
    next: i64,
) -> Result<MsgId> {
    let meta = &m.meta;
    let mut threads = related_threads(tx, siblings, meta)?;
    let thread = threads.iter().copied().chain([next]).min().unwrap_or(next);
    let date = meta.date.or(m.internal_date).unwrap_or(0);
    let first_from = meta.from.first();
    let mut insert = tx.prepare_cached(
        "INSERT INTO messages (mailbox_id, uid, message_id, in_reply_to, refs, date, internal_date,
            from_name, from_addr, from_json, to_json, cc_json, subject, list_id,
            seen, answered, flagged, deleted, draft, keywords, size, has_attachments, preview,
            id, thread_id, indexed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                 ?20, ?21, ?22, ?23, ?24, ?25, ?26)
         ON CONFLICT (mailbox_id, uid) DO UPDATE SET
            seen = excluded.seen, answered = excluded.answered, flagged = excluded.flagged,
            deleted = excluded.deleted, draft = excluded.draft, keywords = excluded.keywords
         RETURNING id",
    )?;
    let id: i64 = insert.query_row(
        params![
            mailbox.0,
            uid,
            meta.message_id,
            meta.in_reply_to,
            meta.references.join(" "),
            date,
            m.internal_date,
            first_from.and_then(|a| a.name.clone()),
            first_from.map(|a| a.email.clone()),
            addrs_to_json(&meta.from),
            addrs_to_json(&meta.to),
            addrs_to_json(&meta.cc),
            meta.subject,
            meta.list_id,
            m.flags.seen,
            m.flags.answered,
            m.flags.flagged,
            m.flags.deleted,
            m.flags.draft,
            m.flags.keywords.join(" "),
            meta.size,
            meta.has_attachments,
            meta.preview,
            next,
            thread,
            // A new row with its body is indexed below, in this transaction.
            m.raw.is_some(),
        ],
        |r| r.get(0),
    )?;
    if id == next {
        // Other threads this message joins are merged into the smallest id.
        threads.retain(|t| *t != thread);
        threads.sort_unstable();
        threads.dedup();
        if !threads.is_empty() {
            let mut merge =
                tx.prepare_cached("UPDATE messages SET thread_id = ?1 WHERE thread_id = ?2")?;
            for t in threads {
                merge.execute(params![thread, t])?;
            }
        }
    }
    match m.raw {
        // New: its preview and attachment mark are written already, it has no index entry.
        Some(raw) if id == next => insert_body_tx(tx, MsgId(id), raw, meta)?,
        Some(raw) => store_body_tx(tx, MsgId(id), raw, meta, false)?,
        None => {}
    }
    Ok(MsgId(id))
}

/// The threads of the messages this one refers to, or that refer to it, in the same account
/// (`siblings`: the account's mailboxes; it joins them all, they merge into the smallest id).
fn related_threads(tx: &Transaction<'_>, siblings: &[i64], meta: &MessageMeta) -> Result<Vec<i64>> {
    let mut related: Vec<&str> = meta.references.iter().map(String::as_str).collect();
    if let Some(irt) = &meta.in_reply_to
        && !related.contains(&irt.as_str())
    {
        related.push(irt);
    }
    let mut threads: Vec<i64> = Vec::new();
    let mut by_msgid = tx.prepare_cached(
        "SELECT thread_id, mailbox_id FROM messages INDEXED BY messages_by_msgid
         WHERE message_id = ?1 AND thread_id IS NOT NULL",
    )?;
    let mut keep = |row: rusqlite::Result<(i64, i64)>| -> Result<()> {
        let (thread, mailbox) = row?;
        if siblings.contains(&mailbox) {
            threads.push(thread);
        }
        Ok(())
    };
    for mid in related {
        for row in by_msgid.query_map([mid], |r| Ok((r.get(0)?, r.get(1)?)))? {
            keep(row)?;
        }
    }
    if let Some(own) = &meta.message_id {
        // Messages that arrived before this one and point at it.
        let mut children = tx.prepare_cached(
            "SELECT thread_id, mailbox_id FROM messages INDEXED BY messages_by_reply
             WHERE in_reply_to = ?1 AND thread_id IS NOT NULL",
        )?;
        for row in children.query_map([own], |r| Ok((r.get(0)?, r.get(1)?)))? {
            keep(row)?;
        }
    }
    Ok(threads)
}

/// The body of a message row just inserted (with `meta`'s preview and attachment mark, and
/// `indexed` set): kept, and its text indexed. Two inserts, where [`store_body_tx`] needs five
/// statements for a row that may have a body and an index entry already.
fn insert_body_tx(tx: &Connection, msg: MsgId, raw: &[u8], meta: &MessageMeta) -> Result<()> {
    write_body_tx(tx, msg, raw, false)?;
    fts_insert_tx(tx, msg, meta)
}

/// Bodies over this size go to `bodies.big` by incremental blob I/O (see migration 12).
const LARGE_BODY: usize = 1024 * 1024;

/// Insert the body row of `msg` (none may exist). A large body is written into a trailing
/// zeroblob in chunks, so neither rusqlite nor SQLite holds a copy of it.
fn write_body_tx(tx: &Connection, msg: MsgId, raw: &[u8], partial: bool) -> Result<()> {
    use std::io::Write;
    let large = raw.len() > LARGE_BODY;
    let big = large.then_some(rusqlite::blob::ZeroBlob(raw.len() as u64));
    tx.prepare_cached(
        "INSERT INTO bodies (message_id, raw, fetched_at, partial, big) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        msg.0,
        if large { &[][..] } else { raw },
        now(),
        partial,
        big
    ])?;
    if large {
        // bodies.message_id is the INTEGER PRIMARY KEY: the rowid.
        let mut blob = tx.blob_open(rusqlite::MAIN_DB, "bodies", "big", msg.0, false)?;
        for chunk in raw.chunks(256 * 1024) {
            blob.write_all(chunk)
                .map_err(|e| StoreError::Invalid(format!("writing message {msg}: {e}")))?;
        }
    }
    Ok(())
}

/// The raw message of `msg` when its body is cached, read with one copy (a large one by
/// incremental blob I/O: `SELECT` would hold SQLite's copy and rusqlite's).
fn read_body(conn: &Connection, msg: MsgId) -> Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    let found = for_each_body_chunk(conn, msg, |size, chunk| {
        if out.capacity() == 0 {
            out.reserve_exact(size);
        }
        out.extend_from_slice(chunk)
    })?;
    Ok(found.map(|_| out))
}

/// Hand the raw message of `msg` over in chunks, each with the whole size (a small message
/// comes in one); its size, or None when no body is cached.
fn for_each_body_chunk(
    conn: &Connection,
    msg: MsgId,
    mut f: impl FnMut(usize, &[u8]),
) -> Result<Option<usize>> {
    use std::io::Read;
    let row: Option<(Option<i64>, Option<Vec<u8>>)> = conn
        .prepare_cached(
            "SELECT length(big), CASE WHEN big IS NULL THEN raw END FROM bodies WHERE message_id = ?1",
        )?
        .query_row([msg.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((big, raw)) = row else {
        return Ok(None);
    };
    if let Some(raw) = raw {
        f(raw.len(), &raw);
        return Ok(Some(raw.len()));
    }
    let len = usize::try_from(big.unwrap_or(0)).unwrap_or(0);
    let mut blob = conn.blob_open(rusqlite::MAIN_DB, "bodies", "big", msg.0, true)?;
    let mut buf = vec![0u8; (256 * 1024).min(len.max(1))];
    loop {
        let n = blob
            .read(&mut buf)
            .map_err(|e| StoreError::Invalid(format!("reading message {msg}: {e}")))?;
        if n == 0 {
            break;
        }
        f(len, &buf[..n]);
    }
    Ok(Some(len))
}

fn fts_insert_tx(tx: &Connection, msg: MsgId, meta: &MessageMeta) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO messages_fts (rowid, subject, sender, recipients, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        msg.0,
        meta.subject,
        addrs_text(&meta.from),
        addrs_text(&[meta.to.as_slice(), meta.cc.as_slice()].concat()),
        meta.body_text,
    ])?;
    Ok(())
}

/// Keep a body and index its text. `partial`: the start of the message only (its text, without
/// the attachments after it); the whole message replaces it when the user opens it.
fn store_body_tx(
    tx: &Connection,
    msg: MsgId,
    raw: &[u8],
    meta: &MessageMeta,
    partial: bool,
) -> Result<()> {
    // Replaced whole (an UPSERT would build the large zeroblob in memory).
    tx.prepare_cached("DELETE FROM bodies WHERE message_id = ?1")?
        .execute([msg.0])?;
    write_body_tx(tx, msg, raw, partial)?;
    if partial {
        // What follows the cut is unknown: BODYSTRUCTURE's attachment mark stays.
        tx.prepare_cached("UPDATE messages SET preview = ?2 WHERE id = ?1")?
            .execute(params![msg.0, meta.preview])?;
    } else {
        tx.prepare_cached("UPDATE messages SET preview = ?2, has_attachments = ?3 WHERE id = ?1")?
            .execute(params![msg.0, meta.preview, meta.has_attachments])?;
    }
    tx.execute("DELETE FROM messages_fts WHERE rowid = ?1", [msg.0])?;
    index_tx(tx, msg, meta)
}

/// Put a message in the full-text index (not there yet, or only its header fields: those
/// are deleted first by the caller) and mark it indexed.
fn index_tx(tx: &Connection, msg: MsgId, meta: &MessageMeta) -> Result<()> {
    tx.prepare_cached("UPDATE messages SET indexed = 1 WHERE id = ?1 AND indexed <> 1")?
        .execute([msg.0])?;
    fts_insert_tx(tx, msg, meta)
}

#[cfg(test)]
mod tests;
