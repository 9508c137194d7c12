//! Replaying moves and copies: UID MOVE, or COPY and an exact EXPUNGE; after a lost answer,
//! what the server already did is looked up first.

use super::*;

/// Where a moved or copied message is in its target, by Message-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InTarget {
    /// A copy the action made (UID at or above the target's UIDNEXT when it was first sent).
    Copied(u32),
    NotThere,
    /// No Message-ID to look for (or the placeholder row is gone here).
    Unknown,
}

/// Look for placeholders' messages in the target by Message-ID; only UIDs from `since` on
/// count (older ones were there before the action). Leaves the target selected.
pub(super) async fn find_in_target(
    imap: &mut Imap,
    store: &StoreHandle,
    target: MailboxId,
    target_wire: &str,
    placeholders: Vec<i64>,
    since: Option<u32>,
) -> Result<HashMap<i64, InTarget>, SyncError> {
    let ids = store
        .call(move |s| s.placeholder_message_ids(target, &placeholders))
        .await?;
    let mut out = HashMap::new();
    match ensure_selected(imap, target_wire).await {
        Ok(()) => {}
        // The target cannot be opened (deleted meanwhile): nothing can be found there.
        Err(e) if refused(&e) => {
            out.extend(ids.into_iter().map(|(ph, _)| (ph, InTarget::Unknown)));
            return Ok(out);
        }
        Err(e) => return Err(e),
    }
    let mut taken: HashSet<u32> = HashSet::new();
    for (ph, id) in ids {
        let found = match id {
            None => InTarget::Unknown,
            Some(id) => {
                let uid = imap
                    .search_message_id_all(&id)
                    .await?
                    .into_iter()
                    .filter(|u| since.is_none_or(|s| *u >= s) && !taken.contains(u))
                    .max();
                match uid {
                    Some(u) => {
                        // Two messages with one Message-ID in one move: one UID each.
                        taken.insert(u);
                        InTarget::Copied(u)
                    }
                    None => InTarget::NotThere,
                }
            }
        };
        out.insert(ph, found);
    }
    Ok(out)
}

// Long: the safety argument is the order of its steps (check the UIDs, look up what a lost
// answer did, send what is missing, expunge only the user's messages, log the rest): it reads
// top to bottom, and its shared locals would become the parameters of every piece.
pub(super) async fn replay_move(
    imap: &mut Imap,
    store: &StoreHandle,
    account: AccountId,
    batch: &[Pending],
    target: MailboxId,
    copy: bool,
) -> Result<(), SyncError> {
    let ids: Vec<i64> = batch.iter().map(|p| p.id).collect();
    let (mb, name) = (batch[0].mailbox, batch[0].mailbox_name.clone());
    let wire = mutf7::wire(&name);
    let mut log = Vec::new();
    // (source UID, placeholder in the target)
    let mut pairs: Vec<(u32, i64)> = Vec::new();
    let mut gone: Vec<i64> = Vec::new();
    for p in batch {
        if let QueuedAction::Move {
            uids, placeholders, ..
        } = &p.action
        {
            for (u, ph) in uids.iter().zip(placeholders) {
                match u32::try_from(*u) {
                    Ok(u) if u > 0 => pairs.push((u, *ph)),
                    _ => gone.push(*ph),
                }
            }
        }
    }
    let target_name = store
        .call(move |s| {
            Ok(s.mailboxes(None)?
                .into_iter()
                .find(|m| m.id == target)
                .map(|m| m.name))
        })
        .await?;
    let verb = if copy { "copying" } else { "moving" };
    let Some(target_name) = target_name else {
        log.push((
            account,
            format!("{verb} messages from {name}: the target folder is gone, dropped"),
        ));
        store.call(move |s| s.pending_done(&ids, &log)).await?;
        return Ok(());
    };
    let target_wire = mutf7::wire(&target_name);
    let srcs: Vec<u32> = pairs.iter().map(|p| p.0).collect();
    let present = imap.present(&srcs).await?;
    // Copies from this action have UIDs from the target's UIDNEXT when it was first sent on.
    let since = if batch.iter().all(|p| p.uncertain) {
        batch.iter().map(|p| p.since_uid).min().flatten()
    } else {
        store
            .call(move |s| Ok(s.sync_state(target)?.uidnext))
            .await?
    };
    let mut resolved: Vec<(i64, u32)> = Vec::new();
    let mut back: Vec<(i64, u32)> = Vec::new();
    let mut to_send: Vec<u32> = Vec::new();
    // Originals of a move whose copy is in the target: only the expunge is left.
    let mut to_expunge: Vec<u32> = Vec::new();
    let by_src: HashMap<u32, i64> = pairs.iter().copied().collect();
    if batch[0].uncertain {
        // Sent before without an answer: what did the server do already?
        let phs = pairs.iter().map(|p| p.1).collect();
        let found = find_in_target(imap, store, target, &target_wire, phs, since).await?;
        let mut unknown = 0;
        for (src, ph) in &pairs {
            let there = present.contains_key(src);
            match found.get(ph).copied().unwrap_or(InTarget::Unknown) {
                InTarget::Copied(u) => {
                    resolved.push((*ph, u));
                    if there && !copy {
                        to_expunge.push(*src);
                    }
                }
                InTarget::NotThere if there => to_send.push(*src),
                InTarget::NotThere => gone.push(*ph),
                InTarget::Unknown => {
                    unknown += 1;
                    gone.push(*ph);
                }
            }
        }
        if unknown > 0 {
            log.push((
                account,
                format!(
                    "{verb} {unknown} message(s) from {name} to {target_name}: the connection was \
                     lost before the server answered, and without a Message-ID tern cannot tell \
                     whether it was done; not sent again (the next sync shows where they are)"
                ),
            ));
        }
        ensure_selected(imap, &wire).await?;
    } else {
        for (src, ph) in &pairs {
            if present.contains_key(src) {
                to_send.push(*src);
            } else {
                gone.push(*ph);
            }
        }
    }
    to_send.sort_unstable();
    to_send.dedup();
    let mut unanswered: Vec<i64> = Vec::new();
    if !to_send.is_empty() {
        let sent = ids.clone();
        store.call(move |s| s.mark_sent(&sent, since)).await?;
    }
    for chunk in to_send.chunks(UID_BATCH) {
        match imap
            .uid_move(&plan::uid_set(chunk), &target_wire, copy)
            .await
        {
            Ok((map, moved)) => {
                if !copy && !moved {
                    to_expunge.extend(chunk);
                }
                if map.is_empty() {
                    // No COPYUID (no UIDPLUS): look for them by Message-ID below.
                    unanswered.extend(chunk.iter().filter_map(|u| by_src.get(u)));
                } else {
                    let dst: HashMap<u32, u32> = map.into_iter().collect();
                    for u in chunk {
                        match (dst.get(u), by_src.get(u)) {
                            (Some(d), Some(ph)) => resolved.push((*ph, *d)),
                            (None, Some(ph)) => gone.push(*ph),
                            _ => {}
                        }
                    }
                }
            }
            Err(e) if refused(&e) => {
                log.push((
                    account,
                    format!("{verb} messages from {name} to {target_name}: {e}"),
                ));
                // A copy is undone; a move puts the messages back where they are.
                for u in chunk {
                    if let Some(ph) = by_src.get(u) {
                        if copy {
                            gone.push(*ph);
                        } else {
                            back.push((*ph, *u));
                        }
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    // The rest of a move whose copy is done, when it has to wait for a safe moment.
    let mut waiting: Option<(Vec<u32>, String)> = None;
    if !to_expunge.is_empty() {
        to_expunge.sort_unstable();
        to_expunge.dedup();
        ensure_selected(imap, &wire).await?;
        let queued = store.call(move |s| s.pending_expunges(mb)).await?;
        match imap.expunge_exactly(&to_expunge, &queued).await {
            Ok(Expunged::Done) => {}
            Ok(Expunged::Waiting { others }) => {
                let text = waiting_text(to_expunge.len(), &name, others);
                waiting = Some((to_expunge, text));
            }
            Err(e) if refused(&e) => {
                log.push((account, format!("removing moved messages from {name}: {e}")));
            }
            Err(e) => return Err(e),
        }
    }
    if !unanswered.is_empty() {
        let found = find_in_target(imap, store, target, &target_wire, unanswered, since).await?;
        for (ph, f) in found {
            match f {
                InTarget::Copied(u) => resolved.push((ph, u)),
                _ => gone.push(ph),
            }
        }
    }
    if !gone.is_empty() && log.is_empty() {
        log.push((
            account,
            format!(
                "{verb} {} message(s) from {name} to {target_name}: already deleted on the server, dropped",
                gone.len()
            ),
        ));
    }
    if let Some((_, text)) = &waiting {
        log.push((account, text.clone()));
    }
    store
        .call(move |s| {
            if let Some((uids, text)) = &waiting {
                s.queue_waiting_expunge(account, mb, uids, text)?;
            }
            s.move_done(mb, target, &resolved, &gone, &back, &ids, &log)
        })
        .await?;
    Ok(())
}
