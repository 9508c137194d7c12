//! Replaying appends (Sent copies, Drafts): never twice, found by Message-ID after a lost answer.

use super::*;

pub(super) async fn replay_append(
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
