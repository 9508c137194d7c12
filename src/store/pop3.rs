//! What a POP3 account needs of the cache: its local folders, and the download record (one row
//! per UIDL, written in the transaction that stores the message, so nothing is ever stored
//! twice and a message the user deleted is not downloaded again).

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};

use super::{AccountKind, NewMessage, Result, Store, insert_one, now};
use crate::domain::message::MessageMeta;
use crate::domain::{AccountId, Flags, MailboxId, MsgId, Role, Uid};

/// The name of a POP3 account's inbox in the cache.
pub const POP3_INBOX: &str = "INBOX";

/// A message downloaded from a POP3 server, ready to store.
#[derive(Debug, Clone)]
pub struct Pop3Message {
    pub uidl: String,
    pub raw: Vec<u8>,
    pub meta: MessageMeta,
}

/// One row of a POP3 account's download record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3Record {
    pub uidl: String,
    /// The message it became; None once the user deleted it.
    pub message: Option<MsgId>,
    /// When it was downloaded (seconds since the epoch).
    pub fetched_at: i64,
    /// The server deleted it (QUIT after DELE succeeded).
    pub deleted_on_server: bool,
}

/// The folders a POP3 account gets in the cache, by role, with their default names.
pub const POP3_FOLDERS: [(Role, &str); 5] = [
    (Role::Sent, "Sent"),
    (Role::Drafts, "Drafts"),
    (Role::Trash, "Trash"),
    (Role::Archive, "Archive"),
    (Role::Junk, "Junk"),
];

impl Store {
    /// Make a POP3 account and its local folders: INBOX and one folder per role of
    /// [`POP3_FOLDERS`], named by `names` where it names the role (the config's
    /// `[account.folders]`). Idempotent; a folder that loses its role to a renamed one keeps
    /// its mail as an ordinary folder. Returns the account and its INBOX.
    pub fn pop3_setup(
        &mut self,
        name: &str,
        email: &str,
        names: &[(Role, String)],
    ) -> Result<(AccountId, MailboxId)> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO accounts (name, email, kind, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET email = excluded.email, kind = excluded.kind",
            params![name, email, AccountKind::Pop3.as_str(), now()],
        )?;
        let account: i64 =
            tx.query_row("SELECT id FROM accounts WHERE name = ?1", [name], |r| {
                r.get(0)
            })?;
        let mut folders = vec![(Role::Inbox, POP3_INBOX.to_string())];
        for (role, default) in POP3_FOLDERS {
            let name = names
                .iter()
                .find(|(r, _)| *r == role)
                .map_or_else(|| default.to_string(), |(_, n)| n.clone());
            folders.push((role, name));
        }
        let mut inbox = 0;
        {
            let mut unrole = tx.prepare_cached(
                "UPDATE mailboxes SET role = NULL WHERE account_id = ?1 AND role = ?2 AND name != ?3",
            )?;
            let mut upsert = tx.prepare_cached(
                "INSERT INTO mailboxes (account_id, name, delimiter, role) VALUES (?1, ?2, '/', ?3)
                 ON CONFLICT (account_id, name) DO UPDATE SET role = excluded.role
                 RETURNING id",
            )?;
            for (role, folder) in &folders {
                unrole.execute(params![account, role.as_str(), folder])?;
                let id: i64 =
                    upsert.query_row(params![account, folder, role.as_str()], |r| r.get(0))?;
                if *role == Role::Inbox {
                    inbox = id;
                }
            }
        }
        tx.commit()?;
        Ok((AccountId(account), MailboxId(inbox)))
    }

    /// Every UIDL the account has downloaded (and not forgotten).
    pub fn pop3_known(&self, account: AccountId) -> Result<HashSet<String>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT uidl FROM pop3_uidl WHERE account_id = ?1")?;
        let rows = st.query_map([account.0], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Forget the UIDLs the server no longer lists (`on_server`: its whole UIDL answer): they
    /// cannot come back. Returns how many were forgotten.
    pub fn pop3_forget(&mut self, account: AccountId, on_server: &[String]) -> Result<usize> {
        let list = std::rc::Rc::new(
            on_server
                .iter()
                .map(|u| rusqlite::types::Value::from(u.clone()))
                .collect::<Vec<_>>(),
        );
        Ok(self.conn.execute(
            "DELETE FROM pop3_uidl WHERE account_id = ?1 AND uidl NOT IN rarray(?2)",
            params![account.0, list],
        )?)
    }

    /// Store downloaded messages in the account's `inbox` (unread, with their bodies, indexed
    /// for search) and record their UIDLs, all in one transaction. A UIDL already recorded
    /// (stored meanwhile by another tern) is skipped. New messages take the inbox's next local
    /// numbers. Returns the new rows.
    pub fn store_pop3_messages(
        &mut self,
        account: AccountId,
        inbox: MailboxId,
        batch: &[Pop3Message],
    ) -> Result<Vec<MsgId>> {
        let tx = self.conn.transaction()?;
        let at = now();
        let siblings: Vec<i64> = {
            let mut st = tx.prepare_cached("SELECT id FROM mailboxes WHERE account_id = ?1")?;
            st.query_map([account.0], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut next_id: i64 =
            tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM messages", [], |r| {
                r.get(0)
            })?;
        let mut next_uid: i64 = tx.query_row(
            "SELECT coalesce(max(uid), 0) + 1 FROM messages WHERE mailbox_id = ?1",
            [inbox.0],
            |r| r.get(0),
        )?;
        let mut ids = Vec::with_capacity(batch.len());
        {
            let mut known =
                tx.prepare_cached("SELECT 1 FROM pop3_uidl WHERE account_id = ?1 AND uidl = ?2")?;
            let mut record = tx.prepare_cached(
                "INSERT INTO pop3_uidl (account_id, uidl, message_id, fetched_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for m in batch {
                let seen: Option<i64> = known
                    .query_row(params![account.0, m.uidl], |r| r.get(0))
                    .optional()?;
                if seen.is_some() {
                    continue;
                }
                let uid = u32::try_from(next_uid).map_err(|_| {
                    super::StoreError::Invalid("the inbox ran out of local numbers".into())
                })?;
                let new = NewMessage {
                    uid: Uid(uid),
                    meta: m.meta.clone(),
                    flags: Flags::default(),
                    internal_date: Some(at),
                    raw: Some(&m.raw),
                };
                let id = insert_one(&tx, &siblings, inbox, &new, next_uid, next_id)?;
                next_uid += 1;
                next_id = next_id.max(id.0 + 1);
                record.execute(params![account.0, m.uidl, id.0, at])?;
                ids.push(id);
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    /// The UIDLs to delete on the server: every recorded one not deleted there yet, or with
    /// `min_age` (seconds) only those downloaded at least that long ago.
    pub fn pop3_deletable(&self, account: AccountId, min_age: Option<i64>) -> Result<Vec<String>> {
        let before = min_age.map(|age| now() - age);
        let mut st = self.conn.prepare_cached(
            "SELECT uidl FROM pop3_uidl WHERE account_id = ?1 AND deleted_on_server = 0
               AND (?2 IS NULL OR fetched_at <= ?2)",
        )?;
        let rows = st.query_map(params![account.0, before], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The server deleted these (its QUIT after DELE succeeded).
    pub fn pop3_deleted(&mut self, account: AccountId, uidls: &[String]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "UPDATE pop3_uidl SET deleted_on_server = 1 WHERE account_id = ?1 AND uidl = ?2",
            )?;
            for u in uidls {
                st.execute(params![account.0, u])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The download record of an account, by UIDL.
    pub fn pop3_records(&self, account: AccountId) -> Result<Vec<Pop3Record>> {
        let mut st = self.conn.prepare_cached(
            "SELECT uidl, message_id, fetched_at, deleted_on_server FROM pop3_uidl
             WHERE account_id = ?1 ORDER BY uidl",
        )?;
        let rows = st.query_map([account.0], |r| {
            Ok(Pop3Record {
                uidl: r.get(0)?,
                message: r.get::<_, Option<i64>>(1)?.map(MsgId),
                fetched_at: r.get(2)?,
                deleted_on_server: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Make every download of the account `secs` older (tests and benchmarks of
    /// `delete_after_days`).
    #[doc(hidden)]
    pub fn pop3_backdate(&mut self, account: AccountId, secs: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE pop3_uidl SET fetched_at = fetched_at - ?2 WHERE account_id = ?1",
            params![account.0, secs],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message;

    fn msg(uidl: &str, subject: &str) -> Pop3Message {
        let raw = format!(
            "From: Bob <bob@example.test>\r\nTo: me@example.test\r\nSubject: {subject}\r\n\
             Message-ID: <{uidl}@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\n\
             the word {subject} in the body\r\n"
        )
        .into_bytes();
        Pop3Message {
            uidl: uidl.into(),
            meta: message::parse(&raw).meta,
            raw,
        }
    }

    #[test]
    fn setup_is_idempotent_and_follows_renamed_folders() {
        let mut s = Store::open_in_memory().unwrap();
        let (a, inbox) = s.pop3_setup("home", "me@example.test", &[]).unwrap();
        let again = s.pop3_setup("home", "me@example.test", &[]).unwrap();
        assert_eq!(again, (a, inbox));
        let boxes = s.mailboxes(Some(a)).unwrap();
        let names: Vec<(&str, Option<Role>)> =
            boxes.iter().map(|m| (m.name.as_str(), m.role)).collect();
        assert_eq!(
            names,
            [
                ("Archive", Some(Role::Archive)),
                ("Drafts", Some(Role::Drafts)),
                ("INBOX", Some(Role::Inbox)),
                ("Junk", Some(Role::Junk)),
                ("Sent", Some(Role::Sent)),
                ("Trash", Some(Role::Trash)),
            ]
        );
        // [account.folders] sent = "Sent Items": the old Sent stays, as an ordinary folder.
        s.pop3_setup(
            "home",
            "me@example.test",
            &[(Role::Sent, "Sent Items".into())],
        )
        .unwrap();
        let boxes = s.mailboxes(Some(a)).unwrap();
        let role = |n: &str| boxes.iter().find(|m| m.name == n).unwrap().role;
        assert_eq!(role("Sent Items"), Some(Role::Sent));
        assert_eq!(role("Sent"), None);
        // Triage on this account needs no queue.
        let kind: String = s
            .conn
            .query_row("SELECT kind FROM accounts WHERE id = ?1", [a.0], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kind, "pop3");
    }

    #[test]
    fn downloads_are_stored_once_indexed_and_never_come_back_once_deleted() {
        let mut s = Store::open_in_memory().unwrap();
        let (a, inbox) = s.pop3_setup("home", "me@example.test", &[]).unwrap();
        let ids = s
            .store_pop3_messages(a, inbox, &[msg("u1", "alpha"), msg("u2", "beta")])
            .unwrap();
        assert_eq!(ids.len(), 2);
        // The same UIDL again (another tern stored it meanwhile): skipped.
        let again = s
            .store_pop3_messages(a, inbox, &[msg("u2", "beta"), msg("u3", "gamma")])
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(s.message_count(inbox).unwrap(), 3);
        assert_eq!(s.uids(inbox).unwrap(), [1, 2, 3]);
        assert!(s.raw_message(ids[0]).unwrap().is_some());
        assert_eq!(s.fts_ids("beta", 10).unwrap(), [ids[1]]);
        let unread = s.mailboxes(Some(a)).unwrap();
        assert_eq!(unread.iter().find(|m| m.id == inbox).unwrap().unread, 3);
        let known = s.pop3_known(a).unwrap();
        assert_eq!(known.len(), 3);

        // Deleted by the user: the record stays (message NULL), so it is not fetched again.
        s.expunge_messages(&[ids[0]]).unwrap();
        let records = s.pop3_records(a).unwrap();
        assert_eq!(records[0].uidl, "u1");
        assert_eq!(records[0].message, None);
        assert_eq!(records[1].message, Some(ids[1]));
        assert!(s.pop3_known(a).unwrap().contains("u1"));
        // New mail takes the next local number, after the highest in the inbox.
        let more = s
            .store_pop3_messages(a, inbox, &[msg("u4", "delta")])
            .unwrap();
        assert_eq!(s.uids(inbox).unwrap(), [2, 3, 4]);
        assert_eq!(more.len(), 1);

        // Deletion on the server: all, or only old downloads.
        assert_eq!(s.pop3_deletable(a, None).unwrap().len(), 4);
        assert!(s.pop3_deletable(a, Some(86_400)).unwrap().is_empty());
        s.pop3_backdate(a, 86_400).unwrap();
        assert_eq!(s.pop3_deletable(a, Some(86_400)).unwrap().len(), 4);
        s.pop3_deleted(a, &["u1".into(), "u2".into()]).unwrap();
        assert_eq!(s.pop3_deletable(a, None).unwrap(), ["u3", "u4"]);

        // The server no longer lists u1 and u2: forgotten.
        assert_eq!(s.pop3_forget(a, &["u3".into(), "u4".into()]).unwrap(), 2);
        let known: Vec<String> = s
            .pop3_records(a)
            .unwrap()
            .into_iter()
            .map(|r| r.uidl)
            .collect();
        assert_eq!(known, ["u3", "u4"]);
    }

    #[test]
    fn local_triage_needs_no_queue() {
        let mut s = Store::open_in_memory().unwrap();
        let (a, inbox) = s.pop3_setup("home", "me@example.test", &[]).unwrap();
        let ids = s
            .store_pop3_messages(a, inbox, &[msg("u1", "alpha"), msg("u2", "beta")])
            .unwrap();
        let (archive, _) = s.role_targets(&ids[..1], Role::Archive).unwrap();
        s.move_messages(&archive, false).unwrap();
        s.set_flag(&ids[1..], crate::domain::triage::FlagName::Seen, true)
            .unwrap();
        assert_eq!(s.pending_count(a).unwrap(), 0);
        let archive = archive[0].1;
        assert_eq!(s.uids(archive).unwrap(), [1]);
        assert_eq!(s.message_count(inbox).unwrap(), 1);
        // The moved message keeps its download record.
        assert_eq!(s.pop3_records(a).unwrap()[0].message, Some(ids[0]));
    }
}
