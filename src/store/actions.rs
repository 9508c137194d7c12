//! Local-first user actions: each changes the cache and writes its durable queue row in one
//! transaction; the account's engine replays the queue to the server and deletes a row only
//! after the server confirmed it. What could not be applied goes to the action log.

mod moves;

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Result, Store, now};
use crate::domain::triage::{FlagName, Relocation};
use crate::domain::{AccountId, MailboxId, MsgId, Role};

/// How the store reads and writes a [`FlagName`] in the messages table.
trait FlagSql {
    fn read(self) -> &'static str;
    fn write(self) -> &'static str;
}

impl FlagSql for FlagName {
    /// The flag's value in a row (`m` is the messages table), as SQL.
    fn read(self) -> &'static str {
        match self {
            FlagName::Seen => "m.seen",
            FlagName::Flagged => "m.flagged",
            FlagName::Answered => "m.answered",
            // A keyword: one word of the space-separated list.
            FlagName::Forwarded => "(instr(' ' || m.keywords || ' ', ' $Forwarded ') > 0)",
        }
    }

    /// The assignment that sets it to ?2, as SQL.
    fn write(self) -> &'static str {
        match self {
            FlagName::Seen => "seen = ?2",
            FlagName::Flagged => "flagged = ?2",
            FlagName::Answered => "answered = ?2",
            FlagName::Forwarded => {
                "keywords = trim(CASE WHEN ?2 THEN keywords || ' $Forwarded'
                    ELSE replace(' ' || keywords || ' ', ' $Forwarded ', ' ') END)"
            }
        }
    }
}

/// What a queued action asks of the server (the queue row's payload, as JSON).
///
/// UIDs are those of the row's mailbox. A negative UID is a placeholder: the message was
/// moved or copied there locally and the server has not yet said which UID it got (the
/// placeholder is `-messages.id`). When the move is confirmed, the placeholders in the later
/// queue rows are rewritten to the real UIDs; one that never resolves is dropped and logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueuedAction {
    /// Add (`on`) or remove a flag on these UIDs of the row's mailbox.
    Flag {
        uids: Vec<i64>,
        flag: FlagName,
        on: bool,
    },
    /// Move (or copy) these messages to `target`; `placeholders[i]` is the UID the row of
    /// `uids[i]` carries in the target until the server's COPYUID (or a Message-ID search)
    /// gives the real one.
    Move {
        uids: Vec<i64>,
        target: MailboxId,
        placeholders: Vec<i64>,
        copy: bool,
    },
    /// Remove for good: STORE \Deleted, then UID EXPUNGE of exactly these.
    Expunge { uids: Vec<i64> },
    /// Store a message made here (a Sent copy, a draft) in the row's mailbox with these flags:
    /// the bytes are the body of its cached row, which carries `placeholder` (`-id`) until the
    /// server says which UID it got.
    Append {
        placeholder: i64,
        flags: Vec<String>,
    },
}

impl QueuedAction {
    /// The row's UIDs, for rewriting placeholders.
    pub(super) fn uids_mut(&mut self) -> &mut [i64] {
        match self {
            QueuedAction::Flag { uids, .. }
            | QueuedAction::Move { uids, .. }
            | QueuedAction::Expunge { uids } => uids,
            QueuedAction::Append { .. } => &mut [],
        }
    }

    pub(super) fn kind(&self) -> &'static str {
        match self {
            QueuedAction::Flag { .. } => "flag",
            QueuedAction::Move { copy: false, .. } => "move",
            QueuedAction::Move { copy: true, .. } => "copy",
            QueuedAction::Expunge { .. } => "expunge",
            QueuedAction::Append { .. } => "append",
        }
    }
}

/// What a local move or copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moved {
    /// Accounts whose engines have work.
    pub accounts: Vec<AccountId>,
    /// Each moved message with the mailbox it came from (to undo a move).
    pub from: Vec<Relocation>,
    /// The new rows a copy made (to undo a copy).
    pub copies: Vec<MsgId>,
}

/// Placeholder UID of a message row that is not yet known on the server.
pub fn placeholder(msg: MsgId) -> i64 {
    -msg.0
}

/// One row of the queue, in the order the user acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: i64,
    pub mailbox: MailboxId,
    /// The mailbox's name (decoded), for SELECT.
    pub mailbox_name: String,
    pub action: QueuedAction,
    /// Sent before without an answer tern could read: the server may have done it already.
    pub uncertain: bool,
    /// For a move or copy sent before: the target's UIDNEXT the cache knew then.
    pub since_uid: Option<u32>,
    /// Why the row waited before (an expunge that was not safe yet), if it did.
    pub waited: Option<String>,
}

impl Store {
    /// Set or clear a flag on messages, at once in the cache and queued for the server, in one
    /// transaction per account and mailbox. Messages whose flag is already so are left out.
    /// Returns the accounts whose engines have work.
    /// Returns the accounts whose engines have work and the messages that changed.
    pub fn set_flag(
        &mut self,
        msgs: &[MsgId],
        flag: FlagName,
        on: bool,
    ) -> Result<(Vec<AccountId>, Vec<MsgId>)> {
        let tx = self.conn.transaction()?;
        let mut changed = Vec::new();
        // (account, mailbox) -> uids, keeping the order of first appearance.
        let mut groups: Groups = Vec::new();
        {
            let mut find = tx.prepare_cached(&format!(
                "SELECT b.account_id, m.mailbox_id, m.uid FROM messages m
                 JOIN mailboxes b ON b.id = m.mailbox_id
                 WHERE m.id = ?1 AND {} != ?2",
                flag.read()
            ))?;
            let mut set = tx.prepare_cached(&format!(
                "UPDATE messages SET {} WHERE id = ?1",
                flag.write()
            ))?;
            for msg in msgs {
                let row: Option<(i64, i64, i64)> = find
                    .query_row(params![msg.0, on], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .ok();
                let Some((account, mailbox, uid)) = row else {
                    continue;
                };
                set.execute(params![msg.0, on])?;
                changed.push(*msg);
                group(&mut groups, (account, mailbox), uid);
            }
        }
        let accounts = queue_groups(&tx, groups, |uids| QueuedAction::Flag { uids, flag, on })?;
        tx.commit()?;
        Ok((accounts, changed))
    }

    /// Where each message would go for a role (archive, trash, junk): its own account's
    /// mailbox with that role. Messages already there are left out. Also returns the names of
    /// the accounts that have no such mailbox (their messages stay).
    pub fn role_targets(
        &self,
        msgs: &[MsgId],
        role: Role,
    ) -> Result<(Vec<Relocation>, Vec<String>)> {
        let places = mailbox_places(&self.conn)?;
        // Each account's mailbox with the role (the first, should a server list two).
        let mut with_role: HashMap<i64, i64> = HashMap::new();
        {
            let mut st = self.conn.prepare_cached(
                "SELECT account_id, id FROM mailboxes WHERE role = ?1 ORDER BY id DESC",
            )?;
            let rows = st.query_map([role.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for row in rows {
                let (account, id) = row?;
                with_role.insert(account, id);
            }
        }
        let located = locate(&self.conn, msgs)?;
        let mut out = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        for msg in msgs {
            let Some(&(from, ..)) = located.get(&msg.0) else {
                continue;
            };
            let Some(place) = places.get(&from) else {
                continue;
            };
            match with_role.get(&place.account) {
                Some(&to) if to != from => out.push((*msg, MailboxId(to))),
                Some(_) => {}
                None if !missing.contains(&place.account_name) => {
                    missing.push(place.account_name.clone())
                }
                None => {}
            }
        }
        Ok((out, missing))
    }

    /// UIDs of a mailbox that queued moves and expunges will take away: a sync must not fetch
    /// them back in the meantime.
    pub fn pending_departures(&self, mailbox: MailboxId) -> Result<Vec<u32>> {
        self.queued_uids(
            "SELECT payload FROM pending_actions WHERE mailbox_id = ?1 AND kind IN ('move', 'expunge')",
            mailbox,
        )
    }

    /// UIDs of a mailbox that queued expunges (waiting or not) will remove: the user's own
    /// messages, so marked \Deleted they are no other client's.
    pub fn pending_expunges(&self, mailbox: MailboxId) -> Result<Vec<u32>> {
        self.queued_uids(
            "SELECT payload FROM pending_actions WHERE mailbox_id = ?1 AND kind = 'expunge'",
            mailbox,
        )
    }

    fn queued_uids(&self, sql: &str, mailbox: MailboxId) -> Result<Vec<u32>> {
        let mut st = self.conn.prepare_cached(sql)?;
        let rows = st.query_map([mailbox.0], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            if let Ok(mut a) = serde_json::from_str::<QueuedAction>(&row?) {
                out.extend(a.uids_mut().iter().filter_map(|u| u32::try_from(*u).ok()));
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Drop queued actions whose mailbox is gone (deleted on the server), logging them.
    pub fn drop_orphaned_pending(&mut self, account: AccountId) -> Result<usize> {
        let tx = self.conn.transaction()?;
        discard_placeholders(
            &tx,
            "account_id = ?1 AND mailbox_id NOT IN (SELECT id FROM mailboxes)",
            account.0,
        )?;
        let n = tx.execute(
            "DELETE FROM pending_actions WHERE account_id = ?1
               AND mailbox_id NOT IN (SELECT id FROM mailboxes)",
            [account.0],
        )?;
        if n > 0 {
            tx.execute(
                "INSERT INTO action_log (account_id, at, text) VALUES (?1, ?2, ?3)",
                params![
                    account.0,
                    now(),
                    format!(
                        "{n} queued action(s) dropped: their mailbox was deleted on the server"
                    )
                ],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// The account's queued actions, oldest first, but for those waiting for the next sync
    /// pass (see [`Store::park_pending`]).
    pub fn pending(&self, account: AccountId) -> Result<Vec<Pending>> {
        let mut st = self.conn.prepare_cached(
            "SELECT p.id, p.mailbox_id, b.name, p.payload, p.attempts, p.since_uid, p.last_error
             FROM pending_actions p
             JOIN mailboxes b ON b.id = p.mailbox_id
             WHERE p.account_id = ?1 AND p.waiting = 0 ORDER BY p.id",
        )?;
        let rows = st.query_map([account.0], |r| {
            Ok((
                (
                    r.get::<_, i64>(0)?,
                    MailboxId(r.get(1)?),
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ),
                (
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ),
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let ((id, mailbox, mailbox_name, payload), (attempts, since_uid, waited)) = row?;
            // A row this version cannot read is left in the queue, not lost.
            if let Ok(action) = serde_json::from_str(&payload) {
                out.push(Pending {
                    id,
                    mailbox,
                    mailbox_name,
                    action,
                    uncertain: attempts > 0,
                    since_uid: since_uid.and_then(|u| u32::try_from(u).ok()),
                    waited,
                });
            }
        }
        Ok(out)
    }

    /// The server confirmed these queue rows: remove them, and log what could not be applied.
    pub fn pending_done(&mut self, ids: &[i64], log: &[(AccountId, String)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        pending_done_tx(&tx, ids, log)?;
        tx.commit()?;
        Ok(())
    }

    /// Drop queue rows the server cannot take (and the rows their moves put in a target),
    /// logging why.
    pub fn drop_pending(&mut self, ids: &[i64], log: &[(AccountId, String)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        for id in ids {
            discard_placeholders(&tx, "id = ?1", *id)?;
        }
        pending_done_tx(&tx, ids, log)?;
        tx.commit()?;
        Ok(())
    }

    /// The action log, newest first: actions the server could not take.
    pub fn action_log(&self, limit: u32) -> Result<Vec<(AccountId, i64, String)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT account_id, at, text FROM action_log ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit], |r| {
            Ok((AccountId(r.get(0)?), r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

pub(super) fn to_json(action: &QueuedAction) -> String {
    serde_json::to_string(action).expect("a queued action serialises")
}

fn id_array(ids: &[i64]) -> std::rc::Rc<Vec<rusqlite::types::Value>> {
    std::rc::Rc::new(
        ids.iter()
            .map(|i| rusqlite::types::Value::from(*i))
            .collect(),
    )
}

/// Where messages are: id -> (mailbox, uid, unread), in one statement.
fn locate(conn: &rusqlite::Connection, msgs: &[MsgId]) -> Result<HashMap<i64, (i64, i64, bool)>> {
    let ids: Vec<i64> = msgs.iter().map(|m| m.0).collect();
    let mut st = conn.prepare_cached(
        "SELECT id, mailbox_id, uid, seen = 0 AND deleted = 0 FROM messages WHERE id IN rarray(?1)",
    )?;
    let rows = st.query_map([id_array(&ids)], |r| {
        Ok((r.get::<_, i64>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Queue rows about to be dropped (`filter` selects them, `?1` = `arg`): the rows their moves
/// and copies put in the target under placeholder UIDs go too, as those will not happen.
pub(super) fn discard_placeholders(
    tx: &rusqlite::Transaction<'_>,
    filter: &str,
    arg: i64,
) -> Result<()> {
    let payloads: Vec<(String, i64)> = {
        let mut st = tx.prepare(&format!(
            "SELECT payload, mailbox_id FROM pending_actions
             WHERE kind IN ('move', 'copy', 'append') AND {filter}"
        ))?;
        st.query_map([arg], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut del = tx.prepare_cached("DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?;
    for (p, mailbox) in payloads {
        match serde_json::from_str(&p) {
            Ok(QueuedAction::Move {
                target,
                placeholders,
                ..
            }) => {
                for ph in placeholders {
                    del.execute(params![target.0, ph])?;
                }
            }
            Ok(QueuedAction::Append { placeholder, .. }) => {
                del.execute(params![mailbox, placeholder])?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// What a mailbox belongs to.
struct Place {
    account: i64,
    account_name: String,
    /// The account's mail lives on an IMAP server.
    imap: bool,
}

/// Every mailbox's account (a few dozen rows: read once per action, not per message).
fn mailbox_places(conn: &rusqlite::Connection) -> Result<HashMap<i64, Place>> {
    let mut st = conn.prepare_cached(
        "SELECT b.id, a.id, a.name, a.kind = 'imap' FROM mailboxes b
         JOIN accounts a ON a.id = b.account_id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            Place {
                account: r.get(1)?,
                account_name: r.get(2)?,
                imap: r.get(3)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether the account's mail lives on an IMAP server (else it lives only in the cache).
fn is_imap(tx: &rusqlite::Transaction<'_>, account: AccountId) -> Result<bool> {
    Ok(tx
        .prepare_cached("SELECT kind = 'imap' FROM accounts WHERE id = ?1")?
        .query_row([account.0], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// UIDs by (account, mailbox), in order of first appearance.
type Groups = Vec<((i64, i64), Vec<i64>)>;

fn group(groups: &mut Groups, key: (i64, i64), uid: i64) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, uids)) => uids.push(uid),
        None => groups.push((key, vec![uid])),
    }
}

/// One queue row per mailbox; returns the accounts whose engines have work.
fn queue_groups(
    tx: &rusqlite::Transaction<'_>,
    groups: Groups,
    action: impl Fn(Vec<i64>) -> QueuedAction,
) -> Result<Vec<AccountId>> {
    let mut accounts = Vec::new();
    for ((account, mailbox), uids) in groups {
        queue(tx, AccountId(account), MailboxId(mailbox), &action(uids))?;
        if !accounts.contains(&AccountId(account)) {
            accounts.push(AccountId(account));
        }
    }
    Ok(accounts)
}

pub(super) fn queue_tx(
    tx: &rusqlite::Transaction<'_>,
    account: AccountId,
    mailbox: MailboxId,
    action: &QueuedAction,
) -> Result<()> {
    queue(tx, account, mailbox, action)
}

/// Queue an action for the account's server; mail that lives only in the cache needs none.
fn queue(
    tx: &rusqlite::Transaction<'_>,
    account: AccountId,
    mailbox: MailboxId,
    action: &QueuedAction,
) -> Result<()> {
    if !is_imap(tx, account)? {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO pending_actions (account_id, created_at, kind, mailbox_id, payload)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        account.0,
        now(),
        action.kind(),
        mailbox.0,
        to_json(action)
    ])?;
    Ok(())
}

fn pending_done_tx(
    tx: &rusqlite::Transaction<'_>,
    ids: &[i64],
    log: &[(AccountId, String)],
) -> Result<()> {
    let mut del = tx.prepare_cached("DELETE FROM pending_actions WHERE id = ?1")?;
    for id in ids {
        del.execute([id])?;
    }
    let mut add =
        tx.prepare_cached("INSERT INTO action_log (account_id, at, text) VALUES (?1, ?2, ?3)")?;
    for (account, text) in log {
        add.execute(params![account.0, now(), text])?;
    }
    Ok(())
}
