//! What the sync engines need from the cache: per-mailbox sync state, UID sets, flag updates,
//! expunges and the mirrored mailbox list.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store, join_labels};
use crate::domain::message::MessageMeta;
use crate::domain::{AccountId, Flags, MailboxId, MsgId, Role};

/// A mailbox as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    pub name: String,
    pub delimiter: Option<char>,
    pub role: Option<Role>,
    pub subscribed: bool,
    pub selectable: bool,
    /// It shows copies of messages that live in other mailboxes (\All, \Flagged).
    pub aggregate: bool,
}

/// The server state a mailbox's cache was last brought up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncState {
    pub uidvalidity: Option<u32>,
    pub uidnext: Option<u32>,
    pub highestmodseq: Option<u64>,
    pub headers_complete: bool,
}

/// Bytes of whole bodies the prefetch downloads in one batch at most (see
/// [`Store::bodies_missing`]).
pub const BODY_BATCH_BYTES: u64 = 8 * 1024 * 1024;

impl Store {
    pub fn account_id(&self, name: &str) -> Result<Option<AccountId>> {
        Ok(self
            .conn
            .query_row("SELECT id FROM accounts WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?
            .map(AccountId))
    }

    pub fn mailbox_id(&self, account: AccountId, name: &str) -> Result<Option<MailboxId>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM mailboxes WHERE account_id = ?1 AND name = ?2",
                params![account.0, name],
                |r| r.get(0),
            )
            .optional()?
            .map(MailboxId))
    }

    /// Make the account's cached mailboxes equal to `list`: new ones created, roles and
    /// attributes updated, and mailboxes gone from the server removed with their messages.
    /// Returns the ids in the order of `list`.
    pub fn sync_mailbox_list(
        &mut self,
        account: AccountId,
        list: &[MailboxInfo],
    ) -> Result<Vec<MailboxId>> {
        let tx = self.conn.transaction()?;
        let mut ids = Vec::with_capacity(list.len());
        {
            let mut up = tx.prepare_cached(
                "INSERT INTO mailboxes (account_id, name, delimiter, role, subscribed, selectable, aggregate)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (account_id, name) DO UPDATE SET delimiter = excluded.delimiter,
                    role = excluded.role, subscribed = excluded.subscribed,
                    selectable = excluded.selectable, aggregate = excluded.aggregate
                 RETURNING id",
            )?;
            for m in list {
                let id: i64 = up.query_row(
                    params![
                        account.0,
                        m.name,
                        m.delimiter.map(|c| c.to_string()),
                        m.role.map(Role::as_str),
                        m.subscribed,
                        m.selectable,
                        m.aggregate
                    ],
                    |r| r.get(0),
                )?;
                ids.push(MailboxId(id));
            }
        }
        let keep: Vec<i64> = ids.iter().map(|m| m.0).collect();
        let keep_json = serde_json::to_string(&keep).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "DELETE FROM mailboxes WHERE account_id = ?1 AND id NOT IN (SELECT value FROM json_each(?2))",
            params![account.0, keep_json],
        )?;
        tx.commit()?;
        Ok(ids)
    }

    /// Where a cached message lives: its account, mailbox (id and name) and UID (negative:
    /// moved there locally, the server's UID not known yet).
    pub fn message_location(
        &self,
        msg: MsgId,
    ) -> Result<Option<(AccountId, MailboxId, String, i64)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT b.account_id, b.id, b.name, m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
                 WHERE m.id = ?1",
                [msg.0],
                |r| Ok((AccountId(r.get(0)?), MailboxId(r.get(1)?), r.get(2)?, r.get(3)?)),
            )
            .optional()?)
    }

    /// Messages of a mailbox with no cached body and at most `max_size` bytes, newest first:
    /// what the background prefetch downloads next, at most `limit` and no more than
    /// [`BODY_BATCH_BYTES`] in all (one at least). Returns (id, uid).
    pub fn bodies_missing(
        &self,
        mailbox: MailboxId,
        max_size: u64,
        limit: u32,
    ) -> Result<Vec<(MsgId, u32)>> {
        self.without_body(mailbox, max_size, false, limit)
    }

    /// Messages over `max_size` with no body cached at all, newest first: their text is kept
    /// offline without the attachments.
    pub fn texts_missing(
        &self,
        mailbox: MailboxId,
        max_size: u64,
        limit: u32,
    ) -> Result<Vec<(MsgId, u32)>> {
        self.without_body(mailbox, max_size, true, limit)
    }

    fn without_body(
        &self,
        mailbox: MailboxId,
        max_size: u64,
        over: bool,
        limit: u32,
    ) -> Result<Vec<(MsgId, u32)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT m.id, m.uid, m.size FROM messages m INDEXED BY messages_bodiless_by_date
             WHERE m.mailbox_id = ?1 AND m.indexed <> 1 AND m.uid > 0 AND (m.size > ?2) = ?3
             ORDER BY m.date DESC, m.id DESC LIMIT ?4",
        )?;
        let rows = st.query_map(
            params![mailbox.0, max_size.min(i64::MAX as u64) as i64, over, limit],
            |r| Ok((MsgId(r.get(0)?), r.get(1)?, r.get::<_, i64>(2)?)),
        )?;
        // Whole bodies are held in memory together: a batch stops at BODY_BATCH_BYTES (one
        // message at least). The texts of larger ones are cut short by the fetch itself.
        let mut out = Vec::new();
        let mut bytes = 0u64;
        for row in rows {
            let (id, uid, size) = row?;
            bytes += u64::try_from(size).unwrap_or(0);
            if !over && !out.is_empty() && bytes > BODY_BATCH_BYTES {
                break;
            }
            out.push((id, uid));
        }
        Ok(out)
    }

    /// Store the first part of several messages (header and text, without the attachments
    /// after it) and index their text, in one transaction.
    pub fn store_partial_bodies(&mut self, bodies: &[(MsgId, Vec<u8>, MessageMeta)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        for (msg, raw, meta) in bodies {
            super::store_body_tx(&tx, *msg, raw, meta, true)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Store several downloaded bodies (and index them) in one transaction.
    pub fn store_bodies(&mut self, bodies: &[(MsgId, Vec<u8>, MessageMeta)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        for (msg, raw, meta) in bodies {
            super::store_body_tx(&tx, *msg, raw, meta, false)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn sync_state(&self, mailbox: MailboxId) -> Result<SyncState> {
        Ok(self.conn.query_row(
            "SELECT uidvalidity, uidnext, highestmodseq, headers_complete FROM mailboxes WHERE id = ?1",
            [mailbox.0],
            |r| {
                Ok(SyncState {
                    uidvalidity: r.get(0)?,
                    uidnext: r.get(1)?,
                    highestmodseq: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
                    headers_complete: r.get(3)?,
                })
            },
        )?)
    }

    pub fn set_sync_state(&mut self, mailbox: MailboxId, s: SyncState) -> Result<()> {
        self.conn.execute(
            "UPDATE mailboxes SET uidvalidity = ?2, uidnext = ?3, highestmodseq = ?4, headers_complete = ?5,
                synced_at = ?6 WHERE id = ?1",
            params![
                mailbox.0,
                s.uidvalidity,
                s.uidnext,
                s.highestmodseq.map(|v| v as i64),
                s.headers_complete,
                super::now()
            ],
        )?;
        Ok(())
    }

    /// Drop every cached message of a mailbox (its UIDVALIDITY changed). Pending actions on it
    /// are removed too; their number is returned so the engine can report them.
    pub fn reset_mailbox(&mut self, mailbox: MailboxId) -> Result<usize> {
        let tx = self.conn.transaction()?;
        // Moves out of it will not happen (the UIDs they name mean nothing now): the rows they
        // put elsewhere go; the sync brings the messages back here.
        super::actions::discard_placeholders(&tx, "mailbox_id = ?1", mailbox.0)?;
        // Messages moved here locally (placeholder UIDs) are not the server's: they stay.
        tx.execute(
            "DELETE FROM messages WHERE mailbox_id = ?1 AND uid > 0",
            [mailbox.0],
        )?;
        let dropped = tx.execute(
            "DELETE FROM pending_actions WHERE mailbox_id = ?1",
            [mailbox.0],
        )?;
        if dropped > 0 {
            // Reported, not lost silently: the UIDs they named mean nothing any more.
            tx.execute(
                "INSERT INTO action_log (account_id, at, text)
                 SELECT account_id, ?2, ?3 || name || ' were dropped: the server renumbered the mailbox (UIDVALIDITY changed)'
                 FROM mailboxes WHERE id = ?1",
                params![mailbox.0, super::now(), format!("{dropped} queued action(s) in ")],
            )?;
        }
        tx.execute(
            "UPDATE mailboxes SET uidvalidity = NULL, uidnext = NULL, highestmodseq = NULL,
                headers_complete = 0 WHERE id = ?1",
            [mailbox.0],
        )?;
        tx.commit()?;
        Ok(dropped)
    }

    /// Cached UIDs of a mailbox, ascending.
    pub fn uids(&self, mailbox: MailboxId) -> Result<Vec<u32>> {
        let mut st = self.conn.prepare_cached(
            "SELECT uid FROM messages WHERE mailbox_id = ?1 AND uid > 0 ORDER BY uid",
        )?;
        let rows = st.query_map([mailbox.0], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Smallest and largest cached UID.
    pub fn uid_range(&self, mailbox: MailboxId) -> Result<Option<(u32, u32)>> {
        let r: (Option<u32>, Option<u32>) = self.conn.query_row(
            "SELECT min(uid), max(uid) FROM messages WHERE mailbox_id = ?1 AND uid > 0",
            [mailbox.0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(r.0.zip(r.1))
    }

    /// Remove messages expunged on the server.
    pub fn delete_uids(&mut self, mailbox: MailboxId, uids: &[u32]) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut del =
                tx.prepare_cached("DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?;
            for uid in uids {
                n += del.execute(params![mailbox.0, uid])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Remove messages in inclusive UID ranges (QRESYNC's VANISHED); returns how many went.
    pub fn delete_uid_ranges(
        &mut self,
        mailbox: MailboxId,
        ranges: &[(u32, u32)],
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut del = tx.prepare_cached(
                "DELETE FROM messages WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3",
            )?;
            for (lo, hi) in ranges {
                n += del.execute(params![mailbox.0, lo, hi])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Apply flags the server reported; returns how many cached rows changed.
    pub fn update_flags(&mut self, mailbox: MailboxId, changes: &[(u32, Flags)]) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut up = tx.prepare_cached(
                "UPDATE messages SET seen = ?3, answered = ?4, flagged = ?5, deleted = ?6, draft = ?7,
                    keywords = ?8
                 WHERE mailbox_id = ?1 AND uid = ?2 AND (seen, answered, flagged, deleted, draft, keywords)
                    IS NOT (?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for (uid, f) in changes {
                n += up.execute(params![
                    mailbox.0,
                    uid,
                    f.seen,
                    f.answered,
                    f.flagged,
                    f.deleted,
                    f.draft,
                    f.keywords.join(" ")
                ])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Set Gmail's labels of messages by UID (those cached); returns how many rows changed.
    pub fn update_labels(
        &mut self,
        mailbox: MailboxId,
        changes: &[(u32, Vec<String>)],
    ) -> Result<usize> {
        if changes.is_empty() {
            return Ok(0);
        }
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut up = tx.prepare_cached(
                "UPDATE messages SET labels = ?3
                 WHERE mailbox_id = ?1 AND uid = ?2 AND labels IS NOT ?3",
            )?;
            for (uid, labels) in changes {
                n += up.execute(params![mailbox.0, uid, join_labels(labels)])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Uid;
    use crate::domain::message::MessageMeta;
    use crate::store::{AccountKind, NewMessage};

    fn info(name: &str, role: Option<Role>) -> MailboxInfo {
        MailboxInfo {
            name: name.into(),
            delimiter: Some('/'),
            role,
            subscribed: true,
            selectable: true,
            aggregate: false,
        }
    }

    #[test]
    fn mailbox_list_mirrors_the_server() {
        let mut s = Store::open_in_memory().unwrap();
        let a = s.upsert_account("w", "w@x", AccountKind::Imap).unwrap();
        let ids = s
            .sync_mailbox_list(a, &[info("INBOX", Some(Role::Inbox)), info("Old", None)])
            .unwrap();
        let again = s
            .sync_mailbox_list(a, &[info("INBOX", Some(Role::Inbox)), info("New", None)])
            .unwrap();
        assert_eq!(ids[0], again[0], "ids are stable");
        let names: Vec<String> = s
            .mailboxes(Some(a))
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["INBOX", "New"]);
    }

    #[test]
    fn flags_deletes_and_reset() {
        let mut s = Store::open_in_memory().unwrap();
        let a = s.upsert_account("w", "w@x", AccountKind::Imap).unwrap();
        let mb = s
            .sync_mailbox_list(a, &[info("INBOX", Some(Role::Inbox))])
            .unwrap()[0];
        let batch: Vec<NewMessage<'_>> = (1..=3)
            .map(|u| NewMessage {
                uid: Uid(u),
                meta: MessageMeta::default(),
                flags: Flags::default(),
                internal_date: Some(i64::from(u)),
                raw: None,
            })
            .collect();
        s.insert_messages(mb, &batch).unwrap();
        assert_eq!(s.uid_range(mb).unwrap(), Some((1, 3)));
        let seen = Flags {
            seen: true,
            ..Default::default()
        };
        assert_eq!(
            s.update_flags(mb, &[(1, seen.clone()), (2, Flags::default())])
                .unwrap(),
            1
        );
        assert_eq!(
            s.update_flags(mb, &[(1, seen)]).unwrap(),
            0,
            "unchanged rows are not counted"
        );
        assert_eq!(s.mailboxes(None).unwrap()[0].unread, 2);
        assert_eq!(s.delete_uids(mb, &[2, 9]).unwrap(), 1);
        assert_eq!(s.uids(mb).unwrap(), [1, 3]);
        let st = SyncState {
            uidvalidity: Some(7),
            uidnext: Some(4),
            highestmodseq: Some(99),
            headers_complete: true,
        };
        s.set_sync_state(mb, st).unwrap();
        assert_eq!(s.sync_state(mb).unwrap(), st);
        s.pending_push(a, "flag", Some(mb), "{}").unwrap();
        assert_eq!(s.reset_mailbox(mb).unwrap(), 1);
        assert!(s.uids(mb).unwrap().is_empty());
        assert_eq!(s.sync_state(mb).unwrap(), SyncState::default());
    }

    #[test]
    fn gmail_labels_are_stored_listed_and_updated_by_uid() {
        let mut s = Store::open_in_memory().unwrap();
        let a = s.upsert_account("w", "w@x", AccountKind::Imap).unwrap();
        let mb = s
            .sync_mailbox_list(a, &[info("INBOX", Some(Role::Inbox))])
            .unwrap()[0];
        let labels = |l: &[&str]| l.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let new = |uid: u32, l: &[&str]| NewMessage {
            uid: Uid(uid),
            meta: MessageMeta {
                labels: labels(l),
                ..Default::default()
            },
            flags: Flags::default(),
            internal_date: Some(i64::from(uid)),
            raw: None,
        };
        // A label with a line end (never one the engine hands over) would split: left out.
        s.insert_messages(mb, &[new(1, &["Inbox", "Work/Été", "a\nb"]), new(2, &[])])
            .unwrap();
        let listed = |s: &Store| {
            let mut rows = s.envelopes(mb, 0, 10).unwrap();
            rows.sort_by_key(|e| e.uid.0);
            rows.into_iter().map(|e| e.labels).collect::<Vec<_>>()
        };
        assert_eq!(listed(&s), [labels(&["Inbox", "Work/Été"]), vec![]]);
        assert_eq!(
            s.update_labels(
                mb,
                &[
                    (1, labels(&["Inbox", "Work/Été"])),
                    (2, labels(&["Starred"])),
                    (9, labels(&["x"]))
                ]
            )
            .unwrap(),
            1,
            "unchanged and uncached rows are not counted"
        );
        assert_eq!(
            listed(&s),
            [labels(&["Inbox", "Work/Été"]), labels(&["Starred"])]
        );
        // Fetched again (a UID gap filled): the header fetch's labels replace the old ones.
        s.insert_messages(mb, &[new(2, &[])]).unwrap();
        assert_eq!(listed(&s), [labels(&["Inbox", "Work/Été"]), vec![]]);
        assert_eq!(s.update_labels(mb, &[(1, vec![])]).unwrap(), 1);
        assert_eq!(listed(&s), [Vec::<String>::new(), vec![]]);
    }
}
