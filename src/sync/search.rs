//! Server search for the IMAP engine: mailboxes whose bodies are not cached are searched on
//! the server (UID SEARCH); the UIDs found are answered as cached messages.

use super::imap::Imap;
use super::{ErrorKind, SyncError, mutf7};
use crate::domain::{MailboxId, RequestId};
use crate::worker::{Event, Worker};

/// Search mailboxes on the server; the UIDs found are turned into cached messages. A
/// mailbox the server refuses is reported, the others still answer.
pub(crate) async fn search(
    w: &Worker,
    imap: &mut Imap,
    req: RequestId,
    mailboxes: Vec<(MailboxId, String)>,
) -> Result<(), SyncError> {
    let mut found = Vec::new();
    let mut error = None;
    for (mailbox, criteria) in mailboxes {
        let name = w
            .store
            .call(move |s| {
                Ok(s.mailboxes(None)?
                    .into_iter()
                    .find(|m| m.id == mailbox)
                    .map(|m| m.name))
            })
            .await?;
        let Some(name) = name else { continue };
        let wire = mutf7::wire(&name);
        let uids = async {
            if imap.selected() != Some(wire.as_str()) {
                imap.select(&wire).await?;
            }
            imap.search(&criteria).await
        }
        .await;
        match uids {
            Ok(uids) => {
                found.extend(w.store.call(move |s| s.ids_of_uids(mailbox, &uids)).await?);
            }
            Err(e) if matches!(e.kind, ErrorKind::Protocol | ErrorKind::Refused) => {
                error = Some(format!("{name}: {}", e.message));
            }
            Err(e) => {
                // The session ends: still answer, so no one waits for it.
                w.emit(Event::Searched {
                    req,
                    account: w.id,
                    found,
                    error: Some(e.to_string()),
                });
                return Err(e);
            }
        }
    }
    w.emit(Event::Searched {
        req,
        account: w.id,
        found,
        error,
    });
    Ok(())
}
