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
//!
//! Here: the queue read in batches of like rows; one submodule per kind of row: `flags`,
//! `expunge`, `append`, `moves` (moves and copies).

use std::collections::{HashMap, HashSet};

use super::imap::{Expunged, Imap};
use super::{ErrorKind, SyncError, mutf7, plan};
use crate::domain::triage::FlagName;
use crate::domain::{AccountId, Flags, MailboxId, MsgId, message};
use crate::store::{Pending, QueuedAction, StoreHandle};

/// UIDs per command.
const UID_BATCH: usize = 5000;

mod append;
mod expunge;
mod flags;
mod moves;

use append::replay_append;
use expunge::replay_expunge;
use flags::replay_flags;
use moves::replay_move;

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
