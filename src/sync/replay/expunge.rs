//! Replaying deletions for good: only the user's messages are expunged.

use super::*;

pub(super) async fn replay_expunge(
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
