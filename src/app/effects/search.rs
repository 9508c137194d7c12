//! Search: the cache first (on the store's thread, the same code the tests run), then the
//! servers of the folders whose bodies are not cached.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use super::super::msg::Msg;
use super::Effects;
use crate::domain::search::{self, Query};
use crate::domain::{AccountId, MailboxId, RequestId};
use crate::store::Store;

/// How long a query must stay unchanged before servers are asked about it (typing a word
/// would otherwise send a server search per key).
pub const SERVER_SEARCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(400);

/// A server to ask: its account, its mailboxes with their criteria, and their names for the
/// status line.
pub struct Ask {
    account: AccountId,
    mailboxes: Vec<(MailboxId, String)>,
    labels: Vec<String>,
}

/// Search the cache, and sort the folders whose bodies are not cached (when the query looks
/// into text): those a server in `servers` can search (when the query can be put as SEARCH
/// criteria), and those searched on their headers only (and why). Returns the results and
/// the servers to ask.
pub fn local(
    s: &mut Store,
    req: RequestId,
    query: &Query,
    scope: &[MailboxId],
    limit: u32,
    servers: &HashSet<AccountId>,
) -> crate::store::Result<(Msg, Vec<Ask>)> {
    let rows = s.search_in(query, scope, limit)?;
    let bare = if search::needs_body(query) {
        s.headers_only(scope)?
    } else {
        Vec::new()
    };
    let mut headers_only = Vec::new();
    let mut ask: Vec<Ask> = Vec::new();
    for b in bare {
        let label = format!("{}/{}", b.account_name, b.name);
        let ctx = search::MailboxCtx {
            account: &b.account_name,
            name: &b.name,
            role: b.role.as_deref(),
        };
        match search::imap_criteria(query, &ctx) {
            Ok(None) => {} // nothing there can match
            Ok(Some(criteria)) if b.imap && servers.contains(&b.account) => {
                match ask.iter_mut().find(|a| a.account == b.account) {
                    Some(a) => {
                        a.mailboxes.push((b.mailbox, criteria));
                        a.labels.push(label);
                    }
                    None => ask.push(Ask {
                        account: b.account,
                        mailboxes: vec![(b.mailbox, criteria)],
                        labels: vec![label],
                    }),
                }
            }
            Ok(Some(_)) => headers_only.push(format!("{label} (no server to ask)")),
            Err(why) => headers_only.push(format!("{label} ({why})")),
        }
    }
    let asking = ask.iter().map(|a| (a.account, a.labels.clone())).collect();
    let found = Msg::Searched {
        req,
        rows,
        headers_only,
        asking,
    };
    Ok((found, ask))
}

/// Search the cache; ask the servers about the folders whose bodies are not cached. Their
/// answers come as engine events, after the local results.
pub async fn run(fx: Effects, req: RequestId, query: Query, scope: Vec<MailboxId>, limit: u32) {
    let servers = fx.engines.accounts();
    let found = fx
        .store
        .call(move |s| local(s, req, &query, &scope, limit, &servers))
        .await;
    let (found, ask) = match found {
        Ok(x) => x,
        Err(e) => {
            let _ = fx.tx.send(Msg::Failed(format!("search: {e}"))).await;
            return;
        }
    };
    // The results first: the servers' answers add to them.
    let _ = fx.tx.send(found).await;
    if ask.is_empty() {
        return;
    }
    tokio::time::sleep(SERVER_SEARCH_PAUSE).await;
    if fx.last_search.load(Ordering::SeqCst) != req.0 {
        return; // typed on: the newer query asks instead
    }
    for a in ask {
        fx.engines.search(a.account, req, a.mailboxes);
    }
}
