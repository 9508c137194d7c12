//! Which new mail is news: the messages an engine announced as arrived, narrowed to the ones a
//! user wants to hear about.

use rusqlite::params_from_iter;

use super::{Result, Store, now};
use crate::domain::{AccountId, MsgId, NewMail, Role};

/// Mail older than this when it arrives is not news (a message moved or copied in from
/// elsewhere keeps its old internal date).
const NEWS_AGE: i64 = 24 * 3600;

/// At most this many messages of one poll are announced (a burst is a count anyway).
const ARRIVED_MAX: i64 = 100;

impl Store {
    /// The account's newest message (by cache id), if it has any: what a POP3 poll compares
    /// with to tell what it brought.
    pub fn newest_message(&self, account: AccountId) -> Result<Option<MsgId>> {
        let id: Option<i64> = self.conn.query_row(
            "SELECT max(m.id) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
             WHERE b.account_id = ?1",
            [account.0],
            |r| r.get(0),
        )?;
        Ok(id.map(MsgId))
    }

    /// The account's messages stored after `after` (cache ids are given out in order), at
    /// most `ARRIVED_MAX` of them, oldest first.
    pub fn messages_after(&self, account: AccountId, after: MsgId) -> Result<Vec<MsgId>> {
        let mut st = self.conn.prepare(
            "SELECT m.id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
             WHERE b.account_id = ?1 AND m.id > ?2 ORDER BY m.id LIMIT ?3",
        )?;
        let ids = st.query_map(rusqlite::params![account.0, after.0, ARRIVED_MAX], |r| {
            Ok(MsgId(r.get(0)?))
        })?;
        Ok(ids.collect::<rusqlite::Result<_>>()?)
    }

    /// Of these arrived messages, the ones that are news: still cached, unread, not deleted,
    /// received in the last day, and the first copy of their Message-ID in the account (a
    /// message the user moved or copied there has its original, or a placeholder, before it).
    pub fn new_mail(&self, arrived: &[MsgId]) -> Result<Vec<NewMail>> {
        if arrived.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; arrived.len()].join(",");
        let sql = format!(
            "SELECT m.id, b.account_id, a.name, b.name, b.role, m.from_name, m.from_addr,
                    m.subject
             FROM messages m
             JOIN mailboxes b ON b.id = m.mailbox_id
             JOIN accounts a ON a.id = b.account_id
             WHERE m.id IN ({marks}) AND m.seen = 0 AND m.deleted = 0
               AND coalesce(m.internal_date, m.date) >= {since}
               AND NOT (m.message_id IS NOT NULL AND EXISTS (
                   SELECT 1 FROM messages o JOIN mailboxes ob ON ob.id = o.mailbox_id
                   WHERE ob.account_id = b.account_id AND o.message_id = m.message_id
                     AND o.id <> m.id AND (o.id < m.id OR o.uid < 0)))
             ORDER BY m.id",
            since = now() - NEWS_AGE,
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map(params_from_iter(arrived.iter().map(|m| m.0)), |r| {
            let name: Option<String> = r.get(5)?;
            let addr: Option<String> = r.get(6)?;
            let role: Option<String> = r.get(4)?;
            Ok(NewMail {
                msg: MsgId(r.get(0)?),
                account: AccountId(r.get(1)?),
                account_name: r.get(2)?,
                folder: r.get(3)?,
                role: role.as_deref().and_then(Role::from_name),
                from: name
                    .filter(|n| !n.trim().is_empty())
                    .or(addr)
                    .unwrap_or_default(),
                subject: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Flags, Uid, message};
    use crate::store::{AccountKind, NewMessage};

    fn add(
        s: &mut Store,
        mb: crate::domain::MailboxId,
        uid: u32,
        id: &str,
        seen: bool,
        at: i64,
    ) -> MsgId {
        let raw = format!(
            "From: Bob <bob@example.test>\r\nSubject: s{uid}\r\nMessage-ID: <{id}>\r\n\r\nhi\r\n"
        );
        let m = NewMessage {
            uid: Uid(uid),
            meta: message::parse(raw.as_bytes()).meta,
            flags: Flags {
                seen,
                ..Default::default()
            },
            internal_date: Some(at),
            raw: None,
        };
        s.insert_messages(mb, &[m]).unwrap()[0]
    }

    #[test]
    fn news_is_unread_recent_and_the_first_copy_of_its_message_id() {
        let mut s = Store::open_in_memory().unwrap();
        let a = s
            .upsert_account("work", "me@example.test", AccountKind::Imap)
            .unwrap();
        let inbox = s
            .upsert_mailbox(a, "INBOX", Some('/'), Some(Role::Inbox))
            .unwrap();
        let archive = s.upsert_mailbox(a, "Archive", Some('/'), None).unwrap();
        let now = now();
        let fresh = add(&mut s, inbox, 1, "fresh@x", false, now);
        let read = add(&mut s, inbox, 2, "read@x", true, now);
        let old = add(&mut s, inbox, 3, "old@x", false, now - 3 * 24 * 3600);
        // Moved back from the archive: its original came first.
        add(&mut s, archive, 1, "moved@x", false, now);
        let moved = add(&mut s, inbox, 4, "moved@x", false, now);
        let news = s.new_mail(&[fresh, read, old, moved]).unwrap();
        assert_eq!(news.len(), 1, "{news:?}");
        assert_eq!(news[0].msg, fresh);
        assert_eq!(news[0].from, "Bob");
        assert_eq!(news[0].subject, "s1");
        assert_eq!(
            (news[0].folder.as_str(), news[0].role),
            ("INBOX", Some(Role::Inbox))
        );
        assert_eq!(news[0].account_name, "work");
        assert!(s.new_mail(&[]).unwrap().is_empty());
    }
}
