//! Replaying flag changes: one UID STORE per flag and direction, only where the flags differ.

use super::*;

pub(super) async fn replay_flags(
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
