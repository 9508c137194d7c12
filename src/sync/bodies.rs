//! Message bodies for the IMAP engine: one the user opened, at once; and the background
//! prefetch that keeps every body under the offline limit cached (and the text of larger
//! messages), newest first, in small batches so a command never waits long behind it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::imap::Imap;
use super::pass::{self, Tracked};
use super::{SyncError, mutf7, plan};
use crate::domain::message;
use crate::domain::{MsgId, Role};
use crate::worker::{Event, Worker};

/// Bodies downloaded per command by the background prefetch (small, so a command never waits
/// long behind it).
const PREFETCH_BATCH: u32 = 25;

/// Of a message over the offline limit, this much of its text is kept offline (the text comes
/// first in nearly every message; attachments follow it).
const TEXT_PREFETCH_BYTES: u32 = 256 * 1024;

/// How often a running prefetch looks at INBOX for new mail.
const PREFETCH_INBOX_CHECK: Duration = Duration::from_millis(500);

/// Download missing bodies, mailbox by mailbox (INBOX first), newest first, in small
/// batches. Returns false when it stopped early because a command is waiting.
// Long: one loop over the mailboxes, with the checks for a waiting command and for new
// INBOX mail between batches; they share the loop's state.
pub(crate) async fn prefetch(
    w: &Worker,
    imap: &mut Imap,
    tracked: &[Tracked],
) -> Result<bool, SyncError> {
    let limit = w.account.offline_attachment_limit;
    let inbox = tracked.iter().find(|t| t.role == Some(Role::Inbox));
    let mut last_check = Instant::now();
    for t in tracked {
        let mb = t.id;
        loop {
            if !w.commands.is_empty() {
                return Ok(false);
            }
            // Not in IDLE while this runs: look at INBOX now and then, so new mail still
            // arrives within seconds during a long prefetch.
            if let Some(inbox) = inbox
                && imap.condstore()
                && last_check.elapsed() >= PREFETCH_INBOX_CHECK
            {
                if inbox_changed(w, imap, inbox).await? {
                    pass::sync_mailbox(imap, &w.store, inbox.id, &inbox.listed, &|_| {}).await?;
                    w.emit(Event::Changed {
                        account: w.id,
                        mailbox: Some(inbox.id),
                    });
                }
                last_check = Instant::now();
            }
            let missing = w
                .store
                .call(move |s| s.bodies_missing(mb, limit, PREFETCH_BATCH))
                .await?;
            let (missing, partial) = if missing.is_empty() {
                // Then the text of the messages over the limit, without the attachments.
                let texts = w
                    .store
                    .call(move |s| s.texts_missing(mb, limit, PREFETCH_BATCH))
                    .await?;
                (texts, true)
            } else {
                (missing, false)
            };
            if missing.is_empty() {
                break;
            }
            if imap.selected() != Some(t.listed.wire.as_str()) {
                imap.select(&t.listed.wire).await?;
            }
            let mut uids: Vec<u32> = missing.iter().map(|(_, uid)| *uid).collect();
            uids.sort_unstable();
            let set = plan::uid_set(&uids);
            let fetched = if partial {
                imap.fetch_texts(&set, TEXT_PREFETCH_BYTES).await?
            } else {
                imap.fetch_bodies(&set).await?
            };
            let by_uid: HashMap<u32, MsgId> = missing.iter().map(|(m, u)| (*u, *m)).collect();
            let bodies: Vec<(MsgId, Vec<u8>, message::MessageMeta)> = fetched
                .into_iter()
                .filter_map(|(uid, raw)| {
                    let msg = *by_uid.get(&uid)?;
                    let meta = message::parse(&raw).meta;
                    Some((msg, raw, meta))
                })
                .collect();
            if bodies.is_empty() {
                // Expunged meanwhile: the next pass removes them; do not spin on them.
                break;
            }
            if partial {
                w.store
                    .call(move |s| s.store_partial_bodies(&bodies))
                    .await?;
            } else {
                w.store.call(move |s| s.store_bodies(&bodies)).await?;
            }
            w.emit(Event::Changed {
                account: w.id,
                mailbox: Some(mb),
            });
        }
    }
    Ok(true)
}

/// Whether STATUS shows INBOX changed since the cache last saw it.
async fn inbox_changed(w: &Worker, imap: &mut Imap, inbox: &Tracked) -> Result<bool, SyncError> {
    let mb = inbox.id;
    let cached = w
        .store
        .call(move |s| {
            Ok(plan::Cached {
                state: s.sync_state(mb)?,
                count: s.synced_count(mb)?,
                uids: s.uid_range(mb)?,
            })
        })
        .await?;
    let status = imap.status(&inbox.listed.wire).await?;
    Ok(!plan::unchanged(cached, status))
}

pub(crate) async fn fetch_body(w: &Worker, imap: &mut Imap, msg: MsgId) -> Result<(), SyncError> {
    let Some((_, mailbox, name, uid)) = w.store.call(move |s| s.message_location(msg)).await?
    else {
        w.emit(Event::BodyFailed {
            msg,
            error: "the message is no longer in the cache".into(),
        });
        return Ok(());
    };
    let Ok(uid) = u32::try_from(uid) else {
        w.emit(Event::BodyFailed {
            msg,
            error: "the message is still being moved on the server: try again in a moment".into(),
        });
        return Ok(());
    };
    let wire = mutf7::wire(&name);
    if imap.selected() != Some(wire.as_str()) {
        imap.select(&wire).await?;
    }
    match imap.fetch_body(uid).await? {
        Some(raw) => {
            let meta = message::parse(&raw).meta;
            w.store
                .call(move |s| s.store_body(msg, &raw, &meta))
                .await?;
            w.emit(Event::BodyFetched { msg });
            w.emit(Event::Changed {
                account: w.id,
                mailbox: Some(mailbox),
            });
        }
        None => w.emit(Event::BodyFailed {
            msg,
            error: "the message was deleted on the server".into(),
        }),
    }
    Ok(())
}
