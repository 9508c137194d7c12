//! What the engine records about the queue while it replays it, so that nothing is ever sent
//! twice blindly: which rows were sent without a readable answer (their outcome is unknown and
//! is found out on the server before anything is sent again), and which expunges wait until
//! they can be done without touching other clients' messages.

use rusqlite::params;

use super::actions::{QueuedAction, to_json};
use super::{Result, Store, now};
use crate::domain::{AccountId, MailboxId};

impl Store {
    /// These rows are about to be sent: until the server's answer is read and the row done,
    /// their outcome is unknown. `since_uid`: for a move or copy, the UIDNEXT of the target as
    /// the cache knows it (kept from the first send).
    pub fn mark_sent(&mut self, ids: &[i64], since_uid: Option<u32>) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut up = tx.prepare_cached(
                "UPDATE pending_actions SET attempts = attempts + 1,
                   since_uid = COALESCE(since_uid, ?2) WHERE id = ?1",
            )?;
            for id in ids {
                up.execute(params![id, since_uid.map(i64::from)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// These rows cannot be done safely now (`why`): they are skipped until the next sync pass
    /// ([`Store::unpark_pending`]). The reason is logged the first time only (`log`).
    pub fn park_pending(
        &mut self,
        ids: &[i64],
        why: &str,
        log: Option<(AccountId, String)>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut up = tx.prepare_cached(
                "UPDATE pending_actions SET waiting = 1, last_error = ?2 WHERE id = ?1",
            )?;
            for id in ids {
                up.execute(params![id, why])?;
            }
        }
        if let Some((account, text)) = log {
            tx.execute(
                "INSERT INTO action_log (account_id, at, text) VALUES (?1, ?2, ?3)",
                params![account.0, now(), text],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Queue an expunge of these UIDs that waits for the next sync pass (the rest of a move
    /// whose copy is done, on a server where expunging is not safe now).
    pub fn queue_waiting_expunge(
        &mut self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[u32],
        why: &str,
    ) -> Result<()> {
        let action = QueuedAction::Expunge {
            uids: uids.iter().map(|u| i64::from(*u)).collect(),
        };
        self.conn
            .prepare_cached(
                "INSERT INTO pending_actions
                   (account_id, created_at, kind, mailbox_id, payload, waiting, last_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
            )?
            .execute(params![
                account.0,
                now(),
                action.kind(),
                mailbox.0,
                to_json(&action),
                why
            ])?;
        Ok(())
    }

    /// A sync pass begins: rows that waited are tried again. Returns how many.
    pub fn unpark_pending(&mut self, account: AccountId) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE pending_actions SET waiting = 0 WHERE account_id = ?1 AND waiting <> 0",
            [account.0],
        )?)
    }

    /// How many rows wait for a safe moment (for the status line and tests).
    pub fn waiting_count(&self, account: AccountId) -> Result<usize> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM pending_actions WHERE account_id = ?1 AND waiting <> 0",
            [account.0],
            |r| r.get::<_, i64>(0),
        )? as usize)
    }
}
