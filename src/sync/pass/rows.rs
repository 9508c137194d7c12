//! Writing what the server answered into the cache: header rows as new messages, flag and
//! label changes by UID.

use super::*;

/// Turn header rows into cache rows and store them in one transaction.
pub(super) async fn store_rows(
    store: &StoreHandle,
    mailbox: MailboxId,
    rows: Vec<HeaderRow>,
) -> Result<usize, SyncError> {
    Ok(store_new_rows(store, mailbox, rows).await?.len())
}

/// [`store_rows`], returning the ids of the rows stored.
pub(super) async fn store_new_rows(
    store: &StoreHandle,
    mailbox: MailboxId,
    rows: Vec<HeaderRow>,
) -> Result<Vec<MsgId>, SyncError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // Parsing runs off the task that reads the socket, so the next batch streams in meanwhile.
    let metas: Vec<(HeaderRow, message::MessageMeta)> = tokio::task::spawn_blocking(move || {
        rows.into_iter()
            .map(|mut r| {
                let mut meta = message::parse(&r.header).meta;
                meta.size = r.size;
                meta.has_attachments = r.has_attachments;
                meta.labels = std::mem::take(&mut r.labels);
                (r, meta)
            })
            .collect()
    })
    .await
    .map_err(|e| SyncError::new(ErrorKind::Cache, e.to_string()))?;
    let ids = store
        .call(move |s| {
            let batch: Vec<NewMessage<'_>> = metas
                .into_iter()
                .map(|(r, meta)| NewMessage {
                    uid: Uid(r.uid),
                    meta,
                    flags: r.flags,
                    internal_date: r.internal_date,
                    raw: None,
                })
                .collect();
            s.insert_messages(mailbox, &batch)
        })
        .await?;
    Ok(ids)
}

/// Changes reported by UID: vanished UID ranges, new flags, new Gmail labels. `changed`
/// counts rows whose flags changed and rows whose labels changed.
pub(super) async fn apply_by_uid(
    store: &StoreHandle,
    mb: MailboxId,
    vanished: Vec<(u32, u32)>,
    changes: FlagFetch,
) -> Result<Summary, SyncError> {
    let mut sum = Summary::default();
    if !vanished.is_empty() {
        sum.removed += store
            .call(move |s| s.delete_uid_ranges(mb, &vanished))
            .await?;
    }
    if !changes.flags.is_empty() || !changes.labels.is_empty() {
        sum.changed += store
            .call(move |s| {
                Ok(s.update_flags(mb, &changes.flags)? + s.update_labels(mb, &changes.labels)?)
            })
            .await?;
    }
    Ok(sum)
}
