//! Local-first user actions: each changes the cache and writes its durable queue row in one
//! transaction; the account's engine replays the queue to the server and deletes a row only
//! after the server confirmed it. What could not be applied goes to the action log.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{Result, Store, now};
use crate::domain::{AccountId, MailboxId, MsgId};

/// A system flag the user sets or clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlagName {
    Seen,
    Flagged,
}

impl FlagName {
    /// As IMAP spells it.
    pub fn imap(self) -> &'static str {
        match self {
            FlagName::Seen => "\\Seen",
            FlagName::Flagged => "\\Flagged",
        }
    }

    fn column(self) -> &'static str {
        match self {
            FlagName::Seen => "seen",
            FlagName::Flagged => "flagged",
        }
    }
}

/// What a queued action asks of the server (the queue row's payload, as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueuedAction {
    /// Add (`on`) or remove a flag on these UIDs of the row's mailbox.
    Flag {
        uids: Vec<u32>,
        flag: FlagName,
        on: bool,
    },
}

/// One row of the queue, in the order the user acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: i64,
    pub mailbox: MailboxId,
    /// The mailbox's name (decoded), for SELECT.
    pub mailbox_name: String,
    pub action: QueuedAction,
}

impl Store {
    /// Set or clear a flag on messages, at once in the cache and queued for the server, in one
    /// transaction per account and mailbox. Messages whose flag is already so are left out.
    /// Returns the accounts whose engines have work.
    pub fn set_flag(&mut self, msgs: &[MsgId], flag: FlagName, on: bool) -> Result<Vec<AccountId>> {
        let tx = self.conn.transaction()?;
        // (account, mailbox) -> uids, keeping the order of first appearance.
        let mut groups: Vec<((i64, i64), Vec<u32>)> = Vec::new();
        {
            let mut find = tx.prepare_cached(&format!(
                "SELECT b.account_id, m.mailbox_id, m.uid FROM messages m
                 JOIN mailboxes b ON b.id = m.mailbox_id
                 WHERE m.id = ?1 AND m.{} != ?2",
                flag.column()
            ))?;
            let mut set = tx.prepare_cached(&format!(
                "UPDATE messages SET {} = ?2 WHERE id = ?1",
                flag.column()
            ))?;
            for msg in msgs {
                let row: Option<(i64, i64, u32)> = find
                    .query_row(params![msg.0, on], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .ok();
                let Some((account, mailbox, uid)) = row else {
                    continue;
                };
                set.execute(params![msg.0, on])?;
                match groups.iter_mut().find(|(k, _)| *k == (account, mailbox)) {
                    Some((_, uids)) => uids.push(uid),
                    None => groups.push(((account, mailbox), vec![uid])),
                }
            }
        }
        let mut accounts = Vec::new();
        for ((account, mailbox), uids) in groups {
            let payload = serde_json::to_string(&QueuedAction::Flag { uids, flag, on })
                .expect("a queued action serialises");
            tx.execute(
                "INSERT INTO pending_actions (account_id, created_at, kind, mailbox_id, payload)
                 VALUES (?1, ?2, 'flag', ?3, ?4)",
                params![account, now(), mailbox, payload],
            )?;
            if !accounts.contains(&AccountId(account)) {
                accounts.push(AccountId(account));
            }
        }
        tx.commit()?;
        Ok(accounts)
    }

    /// Drop queued actions whose mailbox is gone (deleted on the server), logging them.
    pub fn drop_orphaned_pending(&mut self, account: AccountId) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "DELETE FROM pending_actions WHERE account_id = ?1
               AND mailbox_id NOT IN (SELECT id FROM mailboxes)",
            [account.0],
        )?;
        if n > 0 {
            tx.execute(
                "INSERT INTO action_log (account_id, at, text) VALUES (?1, ?2, ?3)",
                params![
                    account.0,
                    now(),
                    format!(
                        "{n} queued action(s) dropped: their mailbox was deleted on the server"
                    )
                ],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// The account's queued actions, oldest first.
    pub fn pending(&self, account: AccountId) -> Result<Vec<Pending>> {
        let mut st = self.conn.prepare_cached(
            "SELECT p.id, p.mailbox_id, b.name, p.payload FROM pending_actions p
             JOIN mailboxes b ON b.id = p.mailbox_id
             WHERE p.account_id = ?1 ORDER BY p.id",
        )?;
        let rows = st.query_map([account.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                MailboxId(r.get(1)?),
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, mailbox, mailbox_name, payload) = row?;
            // A row this version cannot read is left in the queue, not lost.
            if let Ok(action) = serde_json::from_str(&payload) {
                out.push(Pending {
                    id,
                    mailbox,
                    mailbox_name,
                    action,
                });
            }
        }
        Ok(out)
    }

    /// The server confirmed these queue rows: remove them, and log what could not be applied.
    pub fn pending_done(&mut self, ids: &[i64], log: &[(AccountId, String)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut del = tx.prepare_cached("DELETE FROM pending_actions WHERE id = ?1")?;
            for id in ids {
                del.execute([id])?;
            }
            let mut add = tx.prepare_cached(
                "INSERT INTO action_log (account_id, at, text) VALUES (?1, ?2, ?3)",
            )?;
            for (account, text) in log {
                add.execute(params![account.0, now(), text])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The action log, newest first: actions the server could not take.
    pub fn action_log(&self, limit: u32) -> Result<Vec<(AccountId, i64, String)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT account_id, at, text FROM action_log ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit], |r| {
            Ok((AccountId(r.get(0)?), r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
