//! Which new mail is news: the messages an engine announced as arrived, narrowed to the ones a
//! user wants to hear about.

use rusqlite::params_from_iter;

use super::{Result, Store, now};
use crate::domain::{AccountId, MsgId, NewMail, Role};

/// Mail older than this when it arrives is not news (a message moved or copied in from
/// elsewhere keeps its old internal date).
const NEWS_AGE: i64 = 24 * 3600;

impl Store {
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
