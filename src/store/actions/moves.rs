//! Moving, copying and expunging messages locally, and confirming moves the server did.

use super::*;

impl Store {
    /// Move (or copy) messages to mailboxes of their own accounts, at once in the cache and
    /// queued for the server, in one transaction. A moved row keeps its id (the reader and the
    /// selection follow it) and gets a placeholder UID in the target until the server answers;
    /// a copy is a new row with the same headers and body. Messages already in their target,
    /// and targets in another account, are left out.
    // Long: one transaction in three passes (relocate or copy each row, then the bulk updates
    // and counts per mailbox, then one queue row per group), sharing the per-call maps.
    pub fn move_messages(&mut self, moves: &[(MsgId, MailboxId)], copy: bool) -> Result<Moved> {
        let tx = self.conn.transaction()?;
        let places = mailbox_places(&tx)?;
        let mut out = Moved::default();
        // (account, source, target) -> (uids, placeholders), in order of first appearance.
        type Group = ((i64, i64, i64), Vec<i64>, Vec<i64>);
        let mut groups: Vec<Group> = Vec::new();
        // Mail that lives only here (POP3, demo) takes the target's next local number at once.
        let mut next_local: HashMap<i64, i64> = HashMap::new();
        let located = locate(&tx, &moves.iter().map(|m| m.0).collect::<Vec<_>>())?;
        // Moves to IMAP mailboxes, by target: one UPDATE each; the count trigger leaves these
        // rows (placeholder UIDs) to one update per mailbox.
        let mut bulk: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut counts: HashMap<i64, (i64, i64)> = HashMap::new();
        {
            let mut relocate =
                tx.prepare_cached("UPDATE messages SET mailbox_id = ?2, uid = ?3 WHERE id = ?1")?;
            let mut next_id: i64 =
                tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM messages", [], |r| {
                    r.get(0)
                })?;
            for &(msg, target) in moves {
                let Some(&(source, uid, unread)) = located.get(&msg.0) else {
                    continue;
                };
                let (Some(from), Some(to)) = (places.get(&source), places.get(&target.0)) else {
                    continue;
                };
                if source == target.0 || from.account != to.account {
                    continue;
                }
                let account = from.account;
                let local = if to.imap {
                    None
                } else {
                    let next = match next_local.get(&target.0) {
                        Some(n) => *n,
                        None => tx.query_row(
                            "SELECT coalesce(max(uid), 0) + 1 FROM messages WHERE mailbox_id = ?1",
                            [target.0],
                            |r| r.get::<_, i64>(0),
                        )?,
                    };
                    next_local.insert(target.0, next + 1);
                    Some(next)
                };
                let ph = if copy {
                    let new = MsgId(next_id);
                    next_id += 1;
                    copy_row(&tx, msg, new, target, local.unwrap_or(placeholder(new)))?;
                    out.copies.push(new);
                    placeholder(new)
                } else {
                    match local {
                        Some(l) => {
                            relocate.execute(params![msg.0, target.0, l])?;
                        }
                        None => {
                            bulk.entry(target.0).or_default().push(msg.0);
                            // (mailbox, total, unread) changes, made once per mailbox below.
                            for (mb, sign) in [(source, -1), (target.0, 1)] {
                                let c = counts.entry(mb).or_default();
                                c.0 += sign;
                                c.1 += sign * i64::from(unread);
                            }
                        }
                    }
                    out.from.push((msg, MailboxId(source)));
                    placeholder(msg)
                };
                let key = (account, source, target.0);
                match groups.iter_mut().find(|(k, ..)| *k == key) {
                    Some((_, uids, phs)) => {
                        uids.push(uid);
                        phs.push(ph);
                    }
                    None => groups.push((key, vec![uid], vec![ph])),
                }
            }
        }
        for (target, ids) in bulk {
            // The placeholder is -id (see `placeholder`).
            tx.prepare_cached(
                "UPDATE messages SET mailbox_id = ?1, uid = -id WHERE id IN rarray(?2)",
            )?
            .execute(params![target, id_array(&ids)])?;
        }
        for (mb, (total, unread)) in counts {
            tx.prepare_cached(
                "UPDATE mailboxes SET total = total + ?2, unread = unread + ?3 WHERE id = ?1",
            )?
            .execute(params![mb, total, unread])?;
        }
        for ((account, source, target), uids, placeholders) in groups {
            queue(
                &tx,
                AccountId(account),
                MailboxId(source),
                &QueuedAction::Move {
                    uids,
                    target: MailboxId(target),
                    placeholders,
                    copy,
                },
            )?;
            if !out.accounts.contains(&AccountId(account)) {
                out.accounts.push(AccountId(account));
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// How many of these messages are still in the cache.
    pub fn count_present(&self, msgs: &[MsgId]) -> Result<usize> {
        Ok(locate(&self.conn, msgs)?.len())
    }

    /// Remove messages for good: gone from the cache at once, expunged on the server by the
    /// engine. Returns the accounts whose engines have work.
    pub fn expunge_messages(&mut self, msgs: &[MsgId]) -> Result<Vec<AccountId>> {
        let tx = self.conn.transaction()?;
        let mut groups: Groups = Vec::new();
        {
            let mut find = tx.prepare_cached(
                "SELECT b.account_id, m.mailbox_id, m.uid FROM messages m
                 JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.id = ?1",
            )?;
            let mut del = tx.prepare_cached("DELETE FROM messages WHERE id = ?1")?;
            for msg in msgs {
                let row: Option<(i64, i64, i64)> = find
                    .query_row([msg.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                let Some((account, mailbox, uid)) = row else {
                    continue;
                };
                del.execute([msg.0])?;
                group(&mut groups, (account, mailbox), uid);
            }
        }
        let accounts = queue_groups(&tx, groups, |uids| QueuedAction::Expunge { uids })?;
        tx.commit()?;
        Ok(accounts)
    }

    /// The Message-ID header of placeholder rows in a mailbox (to find them on a server that
    /// gave no COPYUID).
    pub fn placeholder_message_ids(
        &self,
        mailbox: MailboxId,
        placeholders: &[i64],
    ) -> Result<Vec<(i64, Option<String>)>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT message_id FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?;
        let mut out = Vec::new();
        for ph in placeholders {
            if let Some(id) = st
                .query_row(params![mailbox.0, ph], |r| r.get::<_, Option<String>>(0))
                .optional()?
            {
                out.push((*ph, id));
            }
        }
        Ok(out)
    }

    /// The server confirmed a move or copy: placeholders become the real UIDs (a row the
    /// engine fetched meanwhile under the real UID gives way to the placeholder's, which the
    /// screen shows), placeholders of messages that did not arrive are removed, later queue
    /// rows are rewritten, and the queue rows go, all in one transaction.
    /// `back`: moves the server refused, as (placeholder, UID in `source`): those rows go back
    /// where they came from.
    #[allow(clippy::too_many_arguments)]
    pub fn move_done(
        &mut self,
        source: MailboxId,
        target: MailboxId,
        resolved: &[(i64, u32)],
        gone: &[i64],
        back: &[(i64, u32)],
        ids: &[i64],
        log: &[(AccountId, String)],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut dup =
                tx.prepare_cached("DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?;
            let mut home = tx.prepare_cached(
                "UPDATE messages SET mailbox_id = ?3, uid = ?4 WHERE mailbox_id = ?1 AND uid = ?2",
            )?;
            for (ph, uid) in back {
                dup.execute(params![source.0, uid])?;
                home.execute(params![target.0, ph, source.0, uid])?;
            }
        }
        {
            let mut dup =
                tx.prepare_cached("DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?;
            let mut set = tx.prepare_cached(
                "UPDATE messages SET uid = ?3 WHERE mailbox_id = ?1 AND uid = ?2",
            )?;
            for (ph, real) in resolved {
                dup.execute(params![target.0, real])?;
                set.execute(params![target.0, ph, real])?;
            }
            for ph in gone {
                dup.execute(params![target.0, ph])?;
            }
        }
        if !resolved.is_empty() {
            let map: std::collections::HashMap<i64, i64> =
                resolved.iter().map(|(p, r)| (*p, i64::from(*r))).collect();
            let rows: Vec<(i64, String)> = {
                let mut st = tx.prepare_cached(
                    "SELECT id, payload FROM pending_actions WHERE mailbox_id = ?1",
                )?;
                st.query_map([target.0], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?
            };
            let mut up =
                tx.prepare_cached("UPDATE pending_actions SET payload = ?2 WHERE id = ?1")?;
            for (id, payload) in rows {
                let Ok(mut action) = serde_json::from_str::<QueuedAction>(&payload) else {
                    continue;
                };
                let mut hit = false;
                for u in action.uids_mut() {
                    if let Some(r) = map.get(u) {
                        *u = *r;
                        hit = true;
                    }
                }
                if hit {
                    up.execute(params![id, to_json(&action)])?;
                }
            }
        }
        pending_done_tx(&tx, ids, log)?;
        tx.commit()?;
        Ok(())
    }
}

/// A copy of a message row (and its body, and its index entry) in another mailbox, under a
/// placeholder UID.
fn copy_row(
    tx: &rusqlite::Transaction<'_>,
    from: MsgId,
    to: MsgId,
    target: MailboxId,
    uid: i64,
) -> Result<()> {
    const COLS: &str = "modseq, message_id, in_reply_to, refs, thread_id, date, internal_date,
        from_name, from_addr, from_json, to_json, cc_json, subject, list_id, seen, answered,
        flagged, deleted, draft, keywords, size, has_attachments, preview";
    tx.prepare_cached(&format!(
        "INSERT INTO messages (id, mailbox_id, uid, {COLS}) SELECT ?2, ?3, ?4, {COLS}
         FROM messages WHERE id = ?1"
    ))?
    .execute(params![from.0, to.0, target.0, uid])?;
    let partial: Option<bool> = tx
        .prepare_cached("SELECT partial FROM bodies WHERE message_id = ?1")?
        .query_row([from.0], |r| r.get(0))
        .optional()?;
    let body = match partial {
        Some(partial) => crate::store::read_body(tx, from)?.map(|raw| (raw, partial)),
        None => None,
    };
    if let Some((raw, partial)) = body {
        // The index is contentless: the copy's entry is made from its text again.
        let meta = crate::domain::message::parse(&raw).meta;
        crate::store::store_body_tx(tx, to, &raw, &meta, partial)?;
    }
    Ok(())
}
