//! Inserting messages: the batch insert, one row, and its threading.

use super::*;

impl Store {
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
}

/// Insert (or, when the UID is cached already, update the flags of) one message, as id `next`
/// when it is new. Returns its id.
/// `uid`: the message's UID (negative: a placeholder, see `actions`).
pub(super) fn insert_one(
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
            id, thread_id, indexed, labels)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                 ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)
         ON CONFLICT (mailbox_id, uid) DO UPDATE SET
            seen = excluded.seen, answered = excluded.answered, flagged = excluded.flagged,
            deleted = excluded.deleted, draft = excluded.draft, keywords = excluded.keywords,
            labels = excluded.labels
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
            join_labels(&meta.labels),
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
