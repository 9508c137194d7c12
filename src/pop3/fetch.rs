//! The work of one POP3 poll: download what is new into the account's local INBOX, each
//! message once, then delete on the server what the account says should go.
//!
//! New messages are found by UIDL, downloaded with RETR (pipelined when the server announces
//! PIPELINING) and stored in batches, each batch one transaction that also records the
//! messages' UIDLs: a crash or a lost connection loses at most the batch not yet committed,
//! which the next poll downloads again; nothing is ever stored twice. Storing a batch (parsing
//! and indexing included) runs on the cache's thread while the next batch downloads.
//! Deletions (DELE) come last and only for messages already committed; the server carries them
//! out at QUIT, so they are recorded only once QUIT succeeded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::Pop3;
use crate::config::{AccountConfig, ServerConfig};
use crate::domain::message;
use crate::domain::{AccountId, MailboxId, Role};
use crate::net;
use crate::store::{POP3_INBOX, Pop3Message, StoreHandle};
use crate::sync::pass::{Progress, ProgressFn, resolve_password};
use crate::sync::{ErrorKind, SyncError};

/// Messages per stored batch (one transaction: fewer and larger ones keep the search index's
/// merging down)...
const BATCH_MESSAGES: usize = 1000;
/// ... or bytes...
const BATCH_BYTES: usize = 20 << 20;
/// ... or the time the batch has been filling, whichever comes first: on a slow link mail still
/// shows up as it arrives.
const BATCH_TIME: Duration = Duration::from_secs(1);
/// RETR commands on their way at once when the server announces PIPELINING.
const PIPELINE: usize = 32;

/// What a poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchSummary {
    /// Messages on the server when the poll began.
    pub on_server: usize,
    /// Messages downloaded and stored.
    pub new: usize,
    /// Messages the server refused to send (`-ERR` to RETR): tried again at the next poll.
    pub skipped: usize,
    /// Messages deleted on the server (`leave_on_server = false`, `delete_after_days`).
    pub deleted: usize,
    /// RETR commands sent.
    pub retrieved: usize,
    /// Every command of the session, login included.
    pub commands: u64,
    /// Stopped early because the engine was asked to (nothing was deleted).
    pub interrupted: bool,
}

fn pop3_server(account: &AccountConfig) -> Result<&ServerConfig, SyncError> {
    account.pop3.as_ref().ok_or_else(|| {
        SyncError::new(
            ErrorKind::Protocol,
            format!("account `{}` has no POP3 server", account.name),
        )
    })
}

/// Connect and log in to the account's POP3 server with an already resolved password.
pub async fn connect_with(
    account: &AccountConfig,
    password: Option<&crate::config::Secret>,
) -> Result<Pop3, SyncError> {
    let server = pop3_server(account)?;
    let tls = net::server_tls_config(server)?;
    Pop3::connect(server, password, Arc::clone(&tls)).await
}

/// One poll of an account (`tern sync`): resolve the password, connect, fetch, QUIT.
pub async fn fetch_once(
    account: &AccountConfig,
    store: &StoreHandle,
    progress: ProgressFn<'_>,
) -> Result<FetchSummary, SyncError> {
    progress(Progress::Connecting);
    let password = resolve_password(account).await?;
    let pop = connect_with(account, password.as_ref()).await?;
    fetch_connected(pop, account, store, progress, &mut || false).await
}

/// The account and its local folders in the cache (idempotent); returns the account and its
/// INBOX.
pub async fn setup_folders(
    account: &AccountConfig,
    store: &StoreHandle,
) -> Result<(AccountId, MailboxId), SyncError> {
    let (name, email) = (account.name.clone(), account.email.clone());
    let names: Vec<(Role, String)> = account
        .folders
        .iter()
        .map(|(r, n)| (*r, n.clone()))
        .collect();
    Ok(store
        .call(move |s| s.pop3_setup(&name, &email, &names))
        .await?)
}

/// A batch being stored on the cache's thread while the next one downloads.
type Storing = tokio::task::JoinHandle<Result<usize, SyncError>>;

/// Hand a batch to the cache's thread: stored and indexed there, in one transaction.
fn store_batch(
    store: &StoreHandle,
    account: AccountId,
    inbox: MailboxId,
    batch: Vec<Pop3Message>,
) -> Storing {
    let store = store.clone();
    tokio::spawn(async move {
        let stored = store
            .call(move |s| s.store_pop3_messages(account, inbox, &batch))
            .await?;
        Ok(stored.len())
    })
}

async fn finish(storing: Option<Storing>) -> Result<usize, SyncError> {
    match storing {
        None => Ok(0),
        Some(task) => task
            .await
            .map_err(|e| SyncError::new(ErrorKind::Cache, format!("storing mail failed: {e}")))?,
    }
}

/// One poll on a logged-in session, ending with QUIT. `stop` is asked between batches whether
/// to end early (the engine is shutting down): then what was downloaded is stored, nothing is
/// deleted, and the session is dropped.
// Long: one poll in protocol order (UIDL, download in batches, store, delete what is due,
// QUIT); the UIDL bookkeeping is read in one place to see that nothing is lost or duplicated.
pub async fn fetch_connected(
    mut pop: Pop3,
    account: &AccountConfig,
    store: &StoreHandle,
    progress: ProgressFn<'_>,
    stop: &mut (dyn FnMut() -> bool + Send),
) -> Result<FetchSummary, SyncError> {
    let server = pop3_server(account)?;
    let (account_id, inbox) = setup_folders(account, store).await?;
    let mut sum = FetchSummary::default();
    let listing = pop.uidl().await.map_err(|e| {
        if e.kind == ErrorKind::Protocol && !pop.capabilities().has("UIDL") {
            SyncError::new(
                e.kind,
                format!(
                    "{e}; the server does not offer UIDL, which tern needs to download each \
                     message only once"
                ),
            )
        } else {
            e
        }
    })?;
    sum.on_server = listing.len();
    let on_server: Vec<String> = listing.iter().map(|(_, u)| u.clone()).collect();
    // The UIDLs the server no longer lists cannot come back: forget them, then see what is new.
    let known = store
        .call(move |s| {
            s.pop3_forget(account_id, &on_server)?;
            s.pop3_known(account_id)
        })
        .await?;
    let new: Vec<(u32, &str)> = listing
        .iter()
        .filter(|(_, u)| !known.contains(u))
        .map(|(n, u)| (*n, u.as_str()))
        .collect();
    drop(known);
    let total = u32::try_from(new.len()).unwrap_or(u32::MAX);
    let report = |done: usize| {
        progress(Progress::Mailbox {
            name: POP3_INBOX.to_string(),
            done: u32::try_from(done).unwrap_or(u32::MAX),
            total,
        })
    };
    if !new.is_empty() {
        report(0);
        let sizes: HashMap<u32, u64> = pop.list().await?.into_iter().collect();
        let window = if pop.capabilities().has("PIPELINING") {
            PIPELINE
        } else {
            1
        };
        let (mut sent, mut read) = (0, 0);
        let mut batch: Vec<Pop3Message> = Vec::new();
        let mut batch_bytes = 0;
        let mut batch_started = Instant::now();
        let mut storing: Option<Storing> = None;
        while read < new.len() {
            if sent == read || (window > 1 && sent - read <= window / 2 && sent < new.len()) {
                let upto = (read + window).min(new.len());
                let ns: Vec<u32> = new[sent..upto].iter().map(|(n, _)| *n).collect();
                if let Err(e) = pop.retr_send(&ns).await {
                    sum.new += keep(store, account_id, inbox, batch, storing).await?;
                    tracing::info!(account = %account.name, stored = sum.new, "download cut off");
                    return Err(e);
                }
                sum.retrieved += ns.len();
                sent = upto;
            }
            let (n, uidl) = new[read];
            let hint = sizes.get(&n).copied().unwrap_or(0);
            match pop.retr_answer(n, hint).await {
                Ok(Ok(raw)) => {
                    // Parsed here, where the network leaves time: the cache's thread is the
                    // busier one (the search index).
                    batch_bytes += raw.len();
                    batch.push(Pop3Message {
                        meta: message::parse(&raw).meta,
                        uidl: uidl.to_string(),
                        raw,
                    });
                }
                Ok(Err(text)) => {
                    sum.skipped += 1;
                    tracing::warn!(
                        account = %account.name,
                        message = n,
                        answer = %crate::domain::sanitize::line(&String::from_utf8_lossy(&text)),
                        "the server refused to send a message; trying again next time"
                    );
                }
                Err(e) => {
                    // What arrived whole is kept: the next poll resumes after it.
                    sum.new += keep(store, account_id, inbox, batch, storing).await?;
                    tracing::info!(account = %account.name, stored = sum.new, "download cut off");
                    return Err(e);
                }
            }
            read += 1;
            let last = read == new.len();
            if !last && stop() {
                // Answers to RETRs already sent may be on their way: the session ends here,
                // with nothing marked for deletion.
                sum.new += keep(store, account_id, inbox, batch, storing).await?;
                sum.interrupted = true;
                sum.commands = pop.commands();
                report(sum.new);
                return Ok(sum);
            }
            if batch.len() >= BATCH_MESSAGES
                || batch_bytes >= BATCH_BYTES
                || batch_started.elapsed() >= BATCH_TIME
                || last
            {
                sum.new += finish(storing.take()).await?;
                report(sum.new);
                storing = Some(store_batch(
                    store,
                    account_id,
                    inbox,
                    std::mem::take(&mut batch),
                ));
                batch_bytes = 0;
                batch_started = Instant::now();
            }
        }
        sum.new += finish(storing.take()).await?;
        report(sum.new);
    }
    // Which downloads go from the server: all of them, or those older than so many days.
    let older = if !server.leave_on_server {
        Some(None)
    } else {
        server
            .delete_after_days
            .map(|d| Some(i64::from(d) * 86_400))
    };
    let mut deleted = Vec::new();
    if let Some(before) = older {
        let deletable = store
            .call(move |s| s.pop3_deletable(account_id, before))
            .await?;
        // A UIDL the server gives two messages (a server bug) names neither for sure: kept.
        let mut numbers: HashMap<&str, Option<u32>> = HashMap::new();
        for (n, u) in &listing {
            numbers
                .entry(u.as_str())
                .and_modify(|seen| *seen = None)
                .or_insert(Some(*n));
        }
        for uidl in deletable {
            // Only what this session lists: the rest is gone already (or not yet forgotten).
            if let Some(&Some(n)) = numbers.get(uidl.as_str()) {
                pop.dele(n).await?;
                deleted.push(uidl);
            }
        }
    }
    sum.commands = pop.commands() + 1;
    pop.quit().await?;
    if !deleted.is_empty() {
        sum.deleted = deleted.len();
        store
            .call(move |s| s.pop3_deleted(account_id, &deleted))
            .await?;
    }
    Ok(sum)
}

/// After an error: wait for the batch being stored and store the one in hand. Returns how many
/// messages both stored.
async fn keep(
    store: &StoreHandle,
    account: AccountId,
    inbox: MailboxId,
    batch: Vec<Pop3Message>,
    storing: Option<Storing>,
) -> Result<usize, SyncError> {
    let before = finish(storing).await?;
    if batch.is_empty() {
        return Ok(before);
    }
    Ok(before + finish(Some(store_batch(store, account, inbox, batch))).await?)
}
