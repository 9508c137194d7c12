//! Replaying the queue of the user's actions on the server, so that the server ends exactly as
//! the user meant and nothing else changes:
//!
//! - Nothing is sent for a message that is not there: the UIDs of a batch are checked first
//!   (one UID FETCH FLAGS), and only the UIDs asked for count (a server that answers a missing
//!   UID with its last message is not believed). Flags already as wanted are not sent again.
//! - A row is marked as sent before its command goes out. If no answer came back (a dropped
//!   connection, an answer tern could not read), the next replay finds out what the server did
//!   before sending anything: is the message still in the source, is a copy (its Message-ID,
//!   with a UID from the target's UIDNEXT at the time on) already in the target. It sends only
//!   what is still missing; when it cannot tell (no Message-ID), it sends nothing and says so
//!   in the action log.
//! - Only the user's messages are expunged: UID MOVE, or UID EXPUNGE (UIDPLUS); without those
//!   a plain EXPUNGE goes out only while no other message in the folder is marked \Deleted.
//!   Otherwise the user's messages stay marked \Deleted on the server (hidden in tern), and the
//!   expunge waits for the next sync pass.

use std::collections::{HashMap, HashSet};

use super::imap::{Expunged, Imap};
use super::{ErrorKind, SyncError, mutf7, plan};
use crate::domain::triage::FlagName;
use crate::domain::{AccountId, Flags, MailboxId, MsgId, message};
use crate::store::{Pending, QueuedAction, StoreHandle};

/// UIDs per command.
const UID_BATCH: usize = 5000;

/// Replay the account's queued actions to the server, oldest first. Consecutive rows of one
/// kind on one mailbox (and target) go out as one command over a UID set. A row is deleted only
/// after the server answered; what the server refused, or messages gone there meanwhile, are
/// written to the action log. `retry_waiting`: expunges that waited for a safe moment are
/// tried again (at the start of a sync pass). Returns how many rows were done.
pub async fn replay(
    imap: &mut Imap,
    store: &StoreHandle,
    account: AccountId,
    retry_waiting: bool,
) -> Result<usize, SyncError> {
    let mut done = store
        .call(move |s| s.drop_orphaned_pending(account))
        .await?;
    if retry_waiting {
        store.call(move |s| s.unpark_pending(account)).await?;
    }
    loop {
        // Read again every round: a confirmed move rewrites placeholders in later rows.
        let pending = store.call(move |s| s.pending(account)).await?;
        let Some(first) = pending.first() else {
            break;
        };
        let n = pending
            .iter()
            .take_while(|p| p.mailbox == first.mailbox && mergeable(first, p))
            .count()
            .max(1);
        replay_batch(imap, store, account, &pending[..n]).await?;
        done += n;
    }
    Ok(done)
}

/// Whether two queue rows (of one mailbox) can go out as one command: same action, and both
/// sent before or neither.
fn mergeable(a: &Pending, b: &Pending) -> bool {
    if a.uncertain != b.uncertain {
        return false;
    }
    match (&a.action, &b.action) {
        (
            QueuedAction::Flag { flag, on, .. },
            QueuedAction::Flag {
                flag: f2, on: o2, ..
            },
        ) => flag == f2 && on == o2,
        (
            QueuedAction::Move { target, copy, .. },
            QueuedAction::Move {
                target: t2,
                copy: c2,
                ..
            },
        ) => target == t2 && copy == c2,
        (QueuedAction::Expunge { .. }, QueuedAction::Expunge { .. }) => true,
        _ => false,
    }
}

/// UIDs the server knows (sorted, deduplicated) and how many placeholders never resolved.
fn known_uids<'a>(lists: impl Iterator<Item = &'a Vec<i64>>) -> (Vec<u32>, usize) {
    let mut uids = Vec::new();
    let mut unknown = 0;
    for u in lists.flatten() {
        match u32::try_from(*u) {
            Ok(u) if u > 0 => uids.push(u),
            _ => unknown += 1,
        }
    }
    uids.sort_unstable();
    uids.dedup();
    (uids, unknown)
}

/// A command the server refuses (NO/BAD) is logged and dropped: retrying it would block the
/// queue for ever. Anything else (the network, an answer tern could not read) goes up: the
/// outcome is unknown, and the row is checked and replayed after reconnecting.
fn refused(e: &SyncError) -> bool {
    e.kind == ErrorKind::Refused
}

async fn ensure_selected(imap: &mut Imap, wire: &str) -> Result<(), SyncError> {
    if imap.selected() != Some(wire) {
        imap.select(wire).await?;
    }
    Ok(())
}

/// The log line for an expunge that has to wait.
fn waiting_text(n: usize, name: &str, others: usize) -> String {
    format!(
        "removing {n} message(s) from {name} waits: the server cannot expunge single messages \
         (no UIDPLUS) and {others} other message(s) there are marked deleted by another client; \
         yours stay marked deleted on the server and hidden here, and tern tries again at each sync"
    )
}

async fn replay_batch(
    imap: &mut Imap,
    store: &StoreHandle,
    account: AccountId,
    batch: &[Pending],
) -> Result<(), SyncError> {
    let first = &batch[0];
    let ids: Vec<i64> = batch.iter().map(|p| p.id).collect();
    let mut log = Vec::new();
    let wire = mutf7::wire(&first.mailbox_name);
    match ensure_selected(imap, &wire).await {
        Ok(()) => {}
        // E.g. deleted by another client since the last sync.
        Err(e) if refused(&e) => {
            log.push((
                account,
                format!(
                    "{} queued action(s) in {} dropped: {e}",
                    ids.len(),
                    first.mailbox_name
                ),
            ));
            store.call(move |s| s.drop_pending(&ids, &log)).await?;
            return Ok(());
        }
        Err(e) => return Err(e),
    }
    match &first.action {
        QueuedAction::Flag { flag, on, .. } => {
            replay_flags(imap, store, account, batch, *flag, *on).await
        }
        QueuedAction::Expunge { .. } => replay_expunge(imap, store, account, batch).await,
        QueuedAction::Append { placeholder, flags } => {
            replay_append(imap, store, account, first, *placeholder, flags.clone()).await
        }
        QueuedAction::Move { target, copy, .. } => {
            replay_move(imap, store, account, batch, *target, *copy).await
        }
    }
}

async fn replay_flags(
    imap: &mut Imap,
    store: &StoreHandle,
    account: AccountId,
    batch: &[Pending],
    flag: FlagName,
    on: bool,
) -> Result<(), SyncError> {
    let ids: Vec<i64> = batch.iter().map(|p| p.id).collect();
    let (mb, name) = (batch[0].mailbox, batch[0].mailbox_name.clone());
    let mut log = Vec::new();
    let lists = batch.iter().map(|p| match &p.action {
        QueuedAction::Flag { uids, .. } => uids,
        _ => unreachable!("a batch holds one kind"),
    });
    let (uids, unknown) = known_uids(lists);
    let verb = if on { "setting" } else { "clearing" };
    let present = imap.present(&uids).await?;
    // Already as wanted (this replay was cut after the server did it, or another client did
    // the same): nothing to send for those.
    let mut confirmed: Vec<(u32, Flags)> = Vec::new();
    let mut need: Vec<u32> = Vec::new();
    for (u, f) in &present {
        if flag.is_set(f) == on {
            confirmed.push((*u, f.clone()));
        } else {
            need.push(*u);
        }
    }
    need.sort_unstable();
    if !need.is_empty() {
        let sent = ids.clone();
        store.call(move |s| s.mark_sent(&sent, None)).await?;
        // What the cache last saw: the server leaves alone what changed since (another
        // client), and uid_store applies our change on top of that.
        let seen_modseq = store
            .call(move |s| Ok(s.sync_state(mb)?.highestmodseq))
            .await?;
        for chunk in need.chunks(UID_BATCH) {
            let set = plan::uid_set(chunk);
            match imap.uid_store(&set, flag.imap(), on, seen_modseq).await {
                Ok(c) => confirmed.extend(c),
                Err(e) if refused(&e) => {
                    log.push((account, format!("{verb} {} in {name}: {e}", flag.imap())));
                }
                Err(e) => return Err(e),
            }
        }
    }
    let gone = uids.len() - present.len() + unknown;
    if gone > 0 && log.is_empty() {
        log.push((
            account,
            format!(
                "{verb} {} on {gone} message(s) in {name}: already deleted on the server, dropped",
                flag.imap()
            ),
        ));
    }
    store
        .call(move |s| {
            s.pending_done(&ids, &log)?;
            s.update_flags(mb, &confirmed)?;
            Ok(())
        })
        .await?;
    Ok(())
}

async fn replay_expunge(
    imap: &mut Imap,
    store: &StoreHandle,
    account: AccountId,
    batch: &[Pending],
) -> Result<(), SyncError> {
    let ids: Vec<i64> = batch.iter().map(|p| p.id).collect();
    let name = batch[0].mailbox_name.clone();
    let mut log = Vec::new();
    let lists = batch.iter().map(|p| match &p.action {
        QueuedAction::Expunge { uids } => uids,
        _ => unreachable!("a batch holds one kind"),
    });
    let (uids, _) = known_uids(lists);
    let mut there: Vec<u32> = imap.present(&uids).await?.into_keys().collect();
    there.sort_unstable();
    if !there.is_empty() {
        let sent = ids.clone();
        store.call(move |s| s.mark_sent(&sent, None)).await?;
        let mb = batch[0].mailbox;
        let queued = store.call(move |s| s.pending_expunges(mb)).await?;
        match imap.expunge_exactly(&there, &queued).await {
            Ok(Expunged::Done) => {}
            Ok(Expunged::Waiting { others }) => {
                let text = waiting_text(there.len(), &name, others);
                // Logged once, not at every sync pass.
                let first_time = batch.iter().all(|p| p.waited.is_none());
                let entry = first_time.then(|| (account, text.clone()));
                store
                    .call(move |s| s.park_pending(&ids, &text, entry))
                    .await?;
                return Ok(());
            }
            Err(e) if refused(&e) => {
                log.push((account, format!("deleting messages in {name}: {e}")));
            }
            Err(e) => return Err(e),
        }
    }
    store.call(move |s| s.pending_done(&ids, &log)).await?;
    Ok(())
}

async fn replay_append(
    imap: &mut Imap,
    store: &StoreHandle,
    account: AccountId,
    row: &Pending,
    ph: i64,
    flags: Vec<String>,
) -> Result<(), SyncError> {
    let (ids, mb) = (vec![row.id], row.mailbox);
    let wire = mutf7::wire(&row.mailbox_name);
    let mut log = Vec::new();
    let msg = MsgId(-ph);
    let Some(raw) = store.call(move |s| s.raw_message(msg)).await? else {
        // Deleted here before it reached the server (e.g. a draft replaced): nothing to store.
        store.call(move |s| s.drop_pending(&ids, &log)).await?;
        return Ok(());
    };
    let id = message::parse(&raw).meta.message_id;
    // Already there (a crash came after the server stored it): not stored twice.
    let mut uid = match &id {
        Some(id) => imap.search_message_id(id).await?,
        None => None,
    };
    if uid.is_none() {
        if row.uncertain && id.is_none() {
            log.push((
                account,
                format!(
                    "storing a copy in {}: the connection was lost before the server answered and \
                     the message has no Message-ID to look for; not stored again",
                    row.mailbox_name
                ),
            ));
            store.call(move |s| s.drop_pending(&ids, &log)).await?;
            return Ok(());
        }
        let sent = ids.clone();
        store.call(move |s| s.mark_sent(&sent, None)).await?;
        match imap.append(&wire, &flags, &raw).await {
            Ok(()) => {}
            Err(e) if refused(&e) => {
                log.push((
                    account,
                    format!("storing a copy in {}: {e}", row.mailbox_name),
                ));
                store.call(move |s| s.drop_pending(&ids, &log)).await?;
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        uid = match &id {
            Some(id) => imap.search_message_id(id).await?,
            None => None,
        };
    }
    // Not found (no Message-ID): the row goes, the sync brings the server's.
    let (resolved, gone) = match uid {
        Some(u) => (vec![(ph, u)], vec![]),
        None => (vec![], vec![ph]),
    };
    store
        .call(move |s| s.move_done(mb, mb, &resolved, &gone, &[], &ids, &log))
        .await?;
    Ok(())
}

/// Where a moved or copied message is in its target, by Message-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InTarget {
    /// A copy the action made (UID at or above the target's UIDNEXT when it was first sent).
    Copied(u32),
    NotThere,
    /// No Message-ID to look for (or the placeholder row is gone here).
    Unknown,
}

/// Look for placeholders' messages in the target by Message-ID; only UIDs from `since` on
/// count (older ones were there before the action). Leaves the target selected.
async fn find_in_target(
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

async fn replay_move(
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
