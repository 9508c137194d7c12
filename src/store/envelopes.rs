//! Listing: envelopes, windows around an anchor, the thread skeleton.

use super::*;

impl Store {
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
pub(super) const ENVELOPE_COLUMNS: &str =
    "id, mailbox_id, uid, date, from_json, to_json, subject, seen,
    answered, flagged, deleted, draft, keywords, has_attachments, size, preview, thread_id, labels";

pub(super) fn envelope_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Envelope> {
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
        labels: split_labels(&r.get::<_, String>(17)?),
    })
}

/// Labels as the `labels` column keeps them: one per line (a label has no line end: the
/// engine sanitized it to one line; any that does is left out).
pub(super) fn join_labels(labels: &[String]) -> String {
    labels
        .iter()
        .filter(|l| !l.is_empty() && !l.contains(['\n', '\r']))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The labels of a `labels` column.
fn split_labels(column: &str) -> Vec<String> {
    column
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}
