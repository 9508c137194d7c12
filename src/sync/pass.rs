//! The sync passes of an IMAP account: bring the cache to the server's state (used by the
//! engine, `tern sync` and the tests).
//!
//! Per mailbox: SELECT, then new mail above the newest cached UID, then the rest of an
//! unfinished initial sync newest first in batches (each batch one transaction), then flag
//! changes (CONDSTORE CHANGEDSINCE, or all flags without it), then a UID reconciliation only
//! when the counts disagree. An unchanged mailbox costs SELECT and one FETCH.

use std::collections::HashSet;
use std::sync::Arc;

use super::imap::{FlagFetch, HeaderRow, Imap, Known, Listed, Untagged};
use super::plan::{self, Cached, FlagSync};
use super::{ErrorKind, SyncError, mutf7};
use crate::config::AccountConfig;
use crate::domain::message;
use crate::domain::{AccountId, MailboxId, MsgId, Role, Uid};
use crate::net;
use crate::store::{AccountKind, MailboxInfo, NewMessage, StoreHandle, SyncState};

mod rows;

use rows::{apply_by_uid, store_new_rows, store_rows};

/// UIDs fetched per command when filling gaps by UID.
const UID_BATCH: usize = 1000;

#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only this mailbox (by its decoded name).
    pub mailbox: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Connecting,
    Listing,
    Mailbox { name: String, done: u32, total: u32 },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub mailboxes: usize,
    pub new: usize,
    /// New mail: messages that came above the newest cached UID of a mailbox synced before
    /// (not the first download of a mailbox, nor a gap filled), as their cache ids.
    pub arrived: Vec<MsgId>,
    pub changed: usize,
    pub removed: usize,
    /// Pending actions dropped because their mailbox's UIDVALIDITY changed.
    pub dropped_actions: usize,
}

impl Summary {
    /// Whether the cache changed.
    pub fn touched(&self) -> bool {
        self.new + self.changed + self.removed > 0
    }
}

impl std::ops::AddAssign for Summary {
    fn add_assign(&mut self, o: Summary) {
        self.mailboxes += o.mailboxes;
        self.new += o.new;
        self.arrived.extend(o.arrived);
        self.changed += o.changed;
        self.removed += o.removed;
        self.dropped_actions += o.dropped_actions;
    }
}

pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Send + Sync);

/// Run the password command (or read the password) of the account's incoming server (IMAP or
/// POP3). Blocking work, off the runtime.
pub async fn resolve_password(
    account: &AccountConfig,
) -> Result<Option<crate::config::Secret>, SyncError> {
    let server = account
        .imap
        .as_ref()
        .or(account.pop3.as_ref())
        .ok_or_else(|| {
            SyncError::new(
                ErrorKind::Protocol,
                format!("account `{}` has no incoming server", account.name),
            )
        })?;
    if let Some(oauth) = server.password.oauth2() {
        return crate::oauth::access_token(oauth, false)
            .await
            .map(Some)
            .map_err(SyncError::from);
    }
    let source = server.password.clone();
    tokio::task::spawn_blocking(move || source.resolve())
        .await
        .map_err(|e| SyncError::new(ErrorKind::Auth, e.to_string()))?
        .map_err(|e| SyncError::new(ErrorKind::Auth, e.to_string()))
}

fn imap_server(account: &AccountConfig) -> Result<&crate::config::ServerConfig, SyncError> {
    account.imap.as_ref().ok_or_else(|| {
        SyncError::new(
            ErrorKind::Protocol,
            format!("account `{}` has no IMAP server", account.name),
        )
    })
}

/// Connect and log in with an already resolved password.
pub async fn connect_with(
    account: &AccountConfig,
    password: Option<&crate::config::Secret>,
) -> Result<Imap, SyncError> {
    let server = imap_server(account)?;
    let tls = net::server_tls_config(server)?;
    Imap::connect(server, password, Arc::clone(&tls)).await
}

/// Connect and log in to an account's IMAP server (the password command runs here).
pub async fn connect(account: &AccountConfig) -> Result<Imap, SyncError> {
    let password = resolve_password(account).await?;
    connect_with(account, password.as_ref()).await
}

/// One full sync of an account: connect, mirror the mailbox list, sync each mailbox.
pub async fn sync_once(
    account: &AccountConfig,
    store: &StoreHandle,
    opts: &SyncOptions,
    progress: ProgressFn<'_>,
) -> Result<Summary, SyncError> {
    progress(Progress::Connecting);
    let mut imap = connect(account).await?;
    // What the user did while offline goes to the server first, so the sync sees its result.
    let name = account.name.clone();
    if let Some(id) = store.call(move |s| s.account_id(&name)).await? {
        super::replay::replay(&mut imap, store, id, true).await?;
    }
    let result = sync_connected(&mut imap, account, store, opts, progress).await;
    imap.logout().await;
    result.map(|(summary, _)| summary)
}

/// A mailbox the engine keeps in step: its cache id and how the server lists it.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub id: MailboxId,
    pub listed: Listed,
    pub role: Option<Role>,
}

/// Mirror the mailbox list and sync every mailbox (or the one in `opts`) on a connected
/// session. Returns what it did and the mailboxes it synced, INBOX first.
/// LIST the account's mailboxes into the cache (with their roles); returns their ids, what
/// LIST said and the roles, in the same order.
#[allow(clippy::type_complexity)]
pub async fn list_into_cache(
    imap: &mut Imap,
    account: &AccountConfig,
    store: &StoreHandle,
    account_id: AccountId,
) -> Result<(Vec<MailboxId>, Vec<Listed>, Vec<Option<Role>>), SyncError> {
    let listed = imap.list().await?;
    let pairs: Vec<(&str, Option<Role>)> = listed
        .iter()
        .map(|l| (l.name.as_str(), l.special_use))
        .collect();
    let roles = plan::assign_roles(&pairs, &account.folders);
    let infos: Vec<MailboxInfo> = listed
        .iter()
        .zip(&roles)
        .map(|(l, role)| MailboxInfo {
            name: l.name.clone(),
            delimiter: l.delimiter,
            role: *role,
            subscribed: l.subscribed,
            selectable: l.selectable,
            aggregate: l.aggregate,
        })
        .collect();
    let ids = store
        .call(move |s| s.sync_mailbox_list(account_id, &infos))
        .await?;
    Ok((ids, listed, roles))
}

pub async fn sync_connected(
    imap: &mut Imap,
    account: &AccountConfig,
    store: &StoreHandle,
    opts: &SyncOptions,
    progress: ProgressFn<'_>,
) -> Result<(Summary, Vec<Tracked>), SyncError> {
    let (name, email) = (account.name.clone(), account.email.clone());
    let account_id: AccountId = store
        .call(move |s| s.upsert_account(&name, &email, AccountKind::Imap))
        .await?;
    // STATUS the mailboxes the cache already knows before LIST: on Dovecot a STATUS after LIST
    // costs several times more on a large mailbox. Unchanged mailboxes are then skipped.
    let unchanged = if imap.condstore() {
        unchanged_mailboxes(imap, store, account_id, opts).await?
    } else {
        Default::default()
    };
    progress(Progress::Listing);
    let (ids, listed, roles) = list_into_cache(imap, account, store, account_id).await?;
    let mut work: Vec<Tracked> = ids
        .into_iter()
        .zip(listed)
        .zip(roles)
        .map(|((id, listed), role)| Tracked { id, listed, role })
        .collect();
    if let Some(only) = &opts.mailbox {
        work.retain(|t| &t.listed.name == only);
        if work.is_empty() {
            return Err(SyncError::new(
                ErrorKind::Protocol,
                format!("no mailbox `{only}` on the server"),
            ));
        }
    }
    // INBOX first, then the other roles, then the rest.
    work.sort_by_key(|t| {
        (
            t.role.map(|r| r as u8).unwrap_or(u8::MAX),
            t.listed.name.clone(),
        )
    });
    let mut summary = Summary::default();
    for t in &work {
        if !unchanged.contains(&t.id) {
            summary += sync_mailbox(imap, store, t.id, &t.listed, progress).await?;
        }
        summary.mailboxes += 1;
    }
    Ok((summary, work))
}

/// The cached mailboxes whose STATUS shows no change since the cache last saw them.
async fn unchanged_mailboxes(
    imap: &mut Imap,
    store: &StoreHandle,
    account: AccountId,
    opts: &SyncOptions,
) -> Result<HashSet<MailboxId>, SyncError> {
    let known: Vec<(MailboxId, String, Cached)> = store
        .call(move |s| {
            let mut out = Vec::new();
            for m in s.mailboxes(Some(account))? {
                let cached = Cached {
                    state: s.sync_state(m.id)?,
                    count: s.synced_count(m.id)?,
                    uids: s.uid_range(m.id)?,
                };
                out.push((m.id, m.name, cached));
            }
            Ok(out)
        })
        .await?;
    let mut unchanged = HashSet::new();
    for (id, name, cached) in known {
        if !cached.state.headers_complete || opts.mailbox.as_ref().is_some_and(|only| *only != name)
        {
            continue;
        }
        match imap.status(&mutf7::wire(&name)).await {
            Ok(status) if plan::unchanged(cached, status) => {
                unchanged.insert(id);
            }
            Ok(_) => {}
            // Gone or renamed on the server: LIST will tell.
            Err(e) if matches!(e.kind, ErrorKind::Protocol | ErrorKind::Refused) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(unchanged)
}

/// UIDs of a mailbox that queued moves and expunges take away (an original whose expunge
/// waits stays on the server, marked \Deleted): never fetched back into the cache.
async fn departing(store: &StoreHandle, mb: MailboxId) -> Result<HashSet<u32>, SyncError> {
    Ok(store
        .call(move |s| s.pending_departures(mb))
        .await?
        .into_iter()
        .collect())
}

/// Apply changes the server reported for the selected mailbox `mb` (during IDLE, or alongside
/// other commands) without selecting it again: vanished UIDs, new flags, new mail. Returns None
/// when they cannot be placed by UID (EXPUNGE by sequence number, a FETCH without its UID, a
/// count that disagrees afterwards): the caller then resyncs the mailbox.
pub async fn apply_untagged(
    imap: &mut Imap,
    store: &StoreHandle,
    mb: MailboxId,
    u: Untagged,
) -> Result<Option<Summary>, SyncError> {
    if !u.placeable() {
        return Ok(None);
    }
    let mut sum = Summary::default();
    let Untagged {
        exists,
        vanished,
        flags,
        labels,
        fetch_modseq,
        ..
    } = u;
    sum += apply_by_uid(store, mb, vanished, FlagFetch { flags, labels }).await?;
    let mut newest = None;
    if exists.is_some() {
        let max = store
            .call(move |s| s.uid_range(mb))
            .await?
            .map_or(0, |(_, max)| max);
        let leaving = departing(store, mb).await?;
        let rows: Vec<HeaderRow> = imap
            .fetch_headers(&format!("{}:*", max + 1), true)
            .await?
            .into_iter()
            .filter(|r| r.uid > max)
            .collect();
        newest = rows.iter().map(|r| r.uid).max();
        let rows = rows
            .into_iter()
            .filter(|r| !leaving.contains(&r.uid))
            .collect();
        let ids = store_new_rows(store, mb, rows).await?;
        sum.new += ids.len();
        sum.arrived = ids;
    }
    let count = store.call(move |s| s.synced_count(mb)).await?;
    if exists.is_some_and(|e| e != count) {
        return Ok(None);
    }
    // What the cache has seen now: a MODSEQ no higher than the server's (expunges raise it
    // unseen, which the next STATUS notices), and the next UID after the newest message.
    store
        .call(move |s| {
            let mut st = s.sync_state(mb)?;
            if let Some(m) = fetch_modseq {
                st.highestmodseq = Some(st.highestmodseq.map_or(m, |x| x.max(m)));
            }
            if let Some(n) = newest {
                st.uidnext = Some(st.uidnext.map_or(n + 1, |x| x.max(n + 1)));
            }
            s.set_sync_state(mb, st)
        })
        .await?;
    Ok(Some(sum))
}

/// Bring one mailbox's cache up to the server's state.
// Long: the steps of one mailbox's sync in the order that keeps the cache safe to
// interrupt (UIDVALIDITY first, MODSEQ last); each step uses what the one before left.
pub async fn sync_mailbox(
    imap: &mut Imap,
    store: &StoreHandle,
    mb: MailboxId,
    listed: &Listed,
    progress: ProgressFn<'_>,
) -> Result<Summary, SyncError> {
    let cached = store
        .call(move |s| {
            Ok(Cached {
                state: s.sync_state(mb)?,
                count: s.synced_count(mb)?,
                uids: s.uid_range(mb)?,
            })
        })
        .await?;
    // With QRESYNC, SELECT itself reports what vanished and which flags changed since the
    // cached MODSEQ: one round trip instead of SELECT, FETCH CHANGEDSINCE and a UID diff.
    let known = match (cached.state.uidvalidity, cached.state.highestmodseq) {
        (Some(uidvalidity), Some(modseq)) if imap.qresync() && cached.uids.is_some() => {
            Some(Known {
                uidvalidity,
                modseq,
                uids: cached.uids,
            })
        }
        _ => None,
    };
    let (sel, untagged) = imap.select_with(&listed.wire, known).await?;
    let mut plan = plan::mailbox(cached, sel, imap.condstore());
    let mut sum = Summary::default();
    let cached = if plan.reset {
        sum.dropped_actions += store.call(move |s| s.reset_mailbox(mb)).await?;
        tracing::warn!(mailbox = %listed.name, "UIDVALIDITY changed: cache of this mailbox rebuilt");
        Cached::default()
    } else {
        cached
    };
    // Remember UIDVALIDITY before any row lands, so an interrupted sync resumes safely; keep the
    // old MODSEQ until flags are known to be current.
    let mut state = SyncState {
        uidvalidity: sel.uidvalidity,
        uidnext: cached.state.uidnext,
        highestmodseq: cached.state.highestmodseq,
        headers_complete: cached.state.headers_complete && !plan.fill,
    };
    store.call(move |s| s.set_sync_state(mb, state)).await?;

    if !plan.reset && known.is_some_and(|k| Some(k.uidvalidity) == sel.uidvalidity) {
        let Untagged {
            vanished,
            flags,
            labels,
            unplaced,
            ..
        } = untagged;
        sum += apply_by_uid(store, mb, vanished, FlagFetch { flags, labels }).await?;
        // A response lost from the answer (one tern could not read): flags are checked the
        // slow way too (a lost VANISHED shows in the count, reconciled below).
        if !unplaced {
            plan.flags = FlagSync::None;
        }
    }
    let cached = Cached {
        count: cached.count.saturating_sub(sum.removed as u32),
        ..cached
    };

    let total = sel.exists;
    let name = listed.name.clone();
    let report = |done: u32| {
        progress(Progress::Mailbox {
            name: name.clone(),
            done: done.min(total),
            total,
        })
    };

    if let Some(max) = plan.new_above {
        let leaving = departing(store, mb).await?;
        let rows: Vec<HeaderRow> = imap
            .fetch_headers(&format!("{}:*", max + 1), true)
            .await?
            .into_iter()
            .filter(|r| r.uid > max && !leaving.contains(&r.uid))
            .collect();
        let ids = store_new_rows(store, mb, rows).await?;
        sum.new += ids.len();
        if cached.uids.is_some() {
            sum.arrived = ids; // a mailbox downloaded for the first time brings no news
        }
    }
    let mut done = cached.count + sum.new as u32;
    report(done);

    if plan.fill {
        let top = match cached.uids {
            None => Some(sel.exists),
            Some((min, _)) => imap.seq_of(min).await?.map(|seq| seq.saturating_sub(1)),
        };
        if let Some(top) = top {
            // Fetch batch N+1 while batch N is being stored: the socket and the cache's
            // thread work side by side.
            let mut pending: Option<Vec<HeaderRow>> = None;
            for (lo, hi) in plan::fill_batches(top, cached.uids.is_none()) {
                let set = format!("{lo}:{hi}");
                let fetch = imap.fetch_headers(&set, false);
                let (rows, stored) = match pending.take() {
                    Some(prev) => {
                        let (rows, stored) = tokio::join!(fetch, store_rows(store, mb, prev));
                        (rows?, stored?)
                    }
                    None => (fetch.await?, 0),
                };
                pending = Some(rows);
                if stored > 0 {
                    sum.new += stored;
                    done += stored as u32;
                    report(done);
                }
            }
            if let Some(last) = pending {
                let n = store_rows(store, mb, last).await?;
                sum.new += n;
                done += n as u32;
                report(done);
            }
        }
    }

    let mut server_uids = None;
    match plan.flags {
        FlagSync::None => {}
        FlagSync::ChangedSince(m) => {
            let changes = imap.fetch_flags(Some(m)).await?;
            sum += apply_by_uid(store, mb, Vec::new(), changes).await?;
        }
        FlagSync::All => {
            let all = imap.fetch_flags(None).await?;
            let mut uids: Vec<u32> = all.flags.iter().map(|(u, _)| *u).collect();
            uids.sort_unstable();
            server_uids = Some(uids);
            sum += apply_by_uid(store, mb, Vec::new(), all).await?;
        }
    }

    // Reconcile UIDs only when something disagrees (expunges, or gaps left by a lost sync).
    let count = store.call(move |s| s.synced_count(mb)).await?;
    if count != sel.exists || server_uids.is_some() {
        let server = match server_uids {
            Some(u) => u,
            None => imap.uids().await?,
        };
        let local = store.call(move |s| s.uids(mb)).await?;
        let gone = plan::missing(&local, &server);
        if !gone.is_empty() {
            sum.removed += store.call(move |s| s.delete_uids(mb, &gone)).await?;
        }
        // Messages a queued move or expunge takes away are not fetched back meanwhile.
        let leaving = store.call(move |s| s.pending_departures(mb)).await?;
        let absent = plan::missing(&plan::missing(&server, &local), &leaving);
        for chunk in absent.rchunks(UID_BATCH) {
            let rows = imap.fetch_headers(&plan::uid_set(chunk), true).await?;
            let n = store_rows(store, mb, rows).await?;
            sum.new += n;
            done += n as u32;
            report(done);
        }
    }

    state.uidnext = sel.uidnext;
    state.highestmodseq = sel.highestmodseq;
    state.headers_complete = true;
    store.call(move |s| s.set_sync_state(mb, state)).await?;
    report(total);
    Ok(sum)
}
