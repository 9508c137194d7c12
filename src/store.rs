//! The local cache: one SQLite database. The only module that names rusqlite.
//!
//! [`Store`] is synchronous and owns one connection (tests use `open_in_memory`).
//! [`StoreHandle`] runs a `Store` on its own thread for async callers (engines, the UI's effects).

mod actions;
mod bodies;
mod envelopes;
mod handle;
mod messages;
mod news;
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

use bodies::{index_tx, insert_body_tx, read_body, store_body_tx};
use envelopes::{ENVELOPE_COLUMNS, envelope_from_row, join_labels};
use messages::insert_one;

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

    /// SQLite's `data_version` of this connection: it moves when another connection (this
    /// process's engines, or another process such as `tern sync`) commits a change.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
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

#[cfg(test)]
mod tests;
