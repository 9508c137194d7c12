//! The outbox: every outgoing message is stored here before anything is sent, and its state
//! is written before each step that could send it twice (see `send`). Rows are never deleted
//! by tern: a sent message stays as a record (and as the source of its Sent copy).

use rusqlite::{OptionalExtension, params};

use super::{Result, Store, now};
use crate::domain::message::MessageMeta;
use crate::domain::triage::FlagName;
use crate::domain::{AccountId, Address, Flags, MailboxId, MsgId, Role, Uid};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutState {
    /// Waiting to be sent (now, or at `next_attempt_at`).
    Queued,
    /// Being sent: DATA may be under way. A row found so at start-up became `Uncertain`.
    Sending,
    Sent,
    /// The server refused it for good (5xx): the reply says why.
    Failed,
    /// The connection was lost after the message went out: it may have been delivered.
    /// Never resent without the user's say.
    Uncertain,
}

impl OutState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutState::Queued => "queued",
            OutState::Sending => "sending",
            OutState::Sent => "sent",
            OutState::Failed => "failed",
            OutState::Uncertain => "uncertain",
        }
    }

    fn parse(s: &str) -> OutState {
        match s {
            "queued" => OutState::Queued,
            "sending" => OutState::Sending,
            "sent" => OutState::Sent,
            "failed" => OutState::Failed,
            _ => OutState::Uncertain,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub account: AccountId,
    pub created_at: i64,
    pub mail_from: String,
    pub rcpt: Vec<String>,
    pub raw: Vec<u8>,
    pub state: OutState,
    pub attempts: u32,
    pub next_attempt_at: Option<i64>,
    pub last_reply: Option<String>,
}

const COLUMNS: &str = "id, account_id, created_at, mail_from, rcpt_json, raw, state, attempts,
    next_attempt_at, last_reply";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    let rcpt: String = r.get(4)?;
    let state: String = r.get(6)?;
    Ok(OutboxRow {
        id: r.get(0)?,
        account: AccountId(r.get(1)?),
        created_at: r.get(2)?,
        mail_from: r.get(3)?,
        rcpt: serde_json::from_str(&rcpt).unwrap_or_default(),
        raw: r.get(5)?,
        state: OutState::parse(&state),
        attempts: r.get(7)?,
        next_attempt_at: r.get(8)?,
        last_reply: r.get(9)?,
    })
}

impl Store {
    /// Put a message in the outbox, queued to be sent now. Returns its id.
    pub fn enqueue(
        &mut self,
        account: AccountId,
        mail_from: &str,
        rcpt: &[String],
        raw: &[u8],
    ) -> Result<i64> {
        self.enqueue_at(account, mail_from, rcpt, raw, None)
    }

    /// Put a message in the outbox, queued to be sent at `not_before` (seconds since the
    /// epoch; None: now). Returns its id.
    pub fn enqueue_at(
        &mut self,
        account: AccountId,
        mail_from: &str,
        rcpt: &[String],
        raw: &[u8],
        not_before: Option<i64>,
    ) -> Result<i64> {
        let t = now();
        self.conn.execute(
            "INSERT INTO outbox (account_id, created_at, updated_at, mail_from, rcpt_json, raw, state,
                                 next_attempt_at)
             VALUES (?1, ?2, ?2, ?3, ?4, ?5, 'queued', ?6)",
            params![
                account.0,
                t,
                mail_from,
                serde_json::to_string(rcpt).expect("strings serialise"),
                raw,
                not_before
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Take back a message that has not been tried yet (undo send): Ok(true) when it was
    /// still waiting and is gone, Ok(false) when it is already being sent (or was), and then
    /// it is left alone.
    pub fn outbox_withdraw(&mut self, id: i64) -> Result<bool> {
        let n = self.conn.execute(
            "DELETE FROM outbox WHERE id = ?1 AND state = 'queued' AND attempts = 0
               AND owner IS NULL",
            [id],
        )?;
        Ok(n == 1)
    }

    /// Once outbox row `id` is sent, `original` gets `flag` (a reply's original \Answered, a
    /// forward's $Forwarded): see [`Store::outbox_flag_original`].
    pub fn outbox_then_flag(&mut self, id: i64, original: MsgId, flag: FlagName) -> Result<()> {
        let flag = match flag {
            FlagName::Answered => "answered",
            FlagName::Forwarded => "forwarded",
            FlagName::Seen | FlagName::Flagged => return Ok(()), // not what a send sets
        };
        self.conn.execute(
            "UPDATE outbox SET original = ?2, original_flag = ?3 WHERE id = ?1",
            params![id, original.0, flag],
        )?;
        Ok(())
    }

    /// Outbox row `id` was sent: its original (if it has one, still cached) gets its flag, in
    /// the cache and queued for the server, once. Returns the accounts whose engines have
    /// work.
    pub fn outbox_flag_original(&mut self, id: i64) -> Result<Vec<AccountId>> {
        let found: Option<(Option<i64>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT original, original_flag FROM outbox WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((Some(original), Some(flag))) = found else {
            return Ok(Vec::new());
        };
        let flag = match flag.as_str() {
            "forwarded" => FlagName::Forwarded,
            _ => FlagName::Answered,
        };
        let (accounts, _) = self.set_flag(&[MsgId(original)], flag, true)?;
        self.conn.execute(
            "UPDATE outbox SET original = NULL, original_flag = NULL WHERE id = ?1",
            [id],
        )?;
        Ok(accounts)
    }

    pub fn outbox_get(&self, id: i64) -> Result<Option<OutboxRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"),
                [id],
                row,
            )
            .optional()?)
    }

    /// Queued messages of an account (every account when None) that are due at `at` (all
    /// queued ones when `at` is None), oldest first.
    pub fn outbox_due(
        &self,
        account: Option<AccountId>,
        at: Option<i64>,
    ) -> Result<Vec<OutboxRow>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE state = 'queued'
               AND (?1 IS NULL OR account_id = ?1)
               AND (?2 IS NULL OR next_attempt_at IS NULL OR next_attempt_at <= ?2)
             ORDER BY id"
        ))?;
        let rows = st.query_map(params![account.map(|a| a.0), at], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the next queued message of an account is due (None: nothing queued).
    pub fn outbox_next_due(&self, account: AccountId) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT min(coalesce(next_attempt_at, 0)) FROM outbox
             WHERE state = 'queued' AND account_id = ?1",
            [account.0],
            |r| r.get(0),
        )?)
    }

    /// The outbox, newest first (without the messages' bytes).
    pub fn outbox_list(&self, limit: u32) -> Result<Vec<OutboxRow>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {} FROM outbox ORDER BY id DESC LIMIT ?1",
            COLUMNS.replace("raw", "x''")
        ))?;
        let rows = st.query_map([limit], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Record a step: the new state, the server's reply, when to try again; a finished try
    /// (anything but `Sending`) counts as an attempt.
    pub fn outbox_set(
        &mut self,
        id: i64,
        state: OutState,
        reply: Option<&str>,
        next_attempt_at: Option<i64>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET state = ?2, last_reply = coalesce(?3, last_reply),
                next_attempt_at = ?4, updated_at = ?5,
                attempts = attempts + (?2 != 'sending')
             WHERE id = ?1",
            params![id, state.as_str(), reply, next_attempt_at, now()],
        )?;
        Ok(())
    }

    /// Take a queued message for sending: only one sender gets it (the running tern's worker
    /// and `tern send` may both look). It is `sending` from here; a crash before its outcome
    /// is written leaves it for [`Store::outbox_recover`] (uncertain: never resent blindly).
    pub fn outbox_claim(&mut self, id: i64) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = 'sending', updated_at = ?2, owner = ?3
             WHERE id = ?1 AND state = 'queued'",
            params![id, now(), super::process::this()],
        )? == 1)
    }

    /// A message left `sending` by a process that is gone (a crash, kill -9) may have gone
    /// out: it is marked uncertain, never resent blindly. Rows a live process is sending are
    /// left alone. Runs whenever the cache is opened, by the TUI and every command. Returns
    /// how many.
    pub fn outbox_recover(&mut self) -> Result<usize> {
        let sending: Vec<(i64, Option<String>)> = self
            .conn
            .prepare("SELECT id, owner FROM outbox WHERE state = 'sending'")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut n = 0;
        for (id, owner) in sending {
            if owner.as_deref().is_some_and(super::process::alive) {
                continue;
            }
            n += self.conn.execute(
                "UPDATE outbox SET state = 'uncertain', updated_at = ?2,
                    last_reply = 'tern stopped while sending it: it may have been delivered'
                 WHERE id = ?1 AND state = 'sending'",
                params![id, now()],
            )?;
        }
        Ok(n)
    }

    /// The Sent copy of a sent message: in the account's Sent folder of the cache at once
    /// (read, under a placeholder UID), and queued for the server (APPEND). Returns false
    /// when the account has no Sent folder.
    pub fn queue_sent_copy(
        &mut self,
        account: AccountId,
        raw: &[u8],
        meta: &MessageMeta,
    ) -> Result<bool> {
        Ok(self
            .store_local_copy(account, Role::Sent, raw, meta, &["\\Seen"])?
            .is_some())
    }

    /// Rebuild the address book from the cache: everyone who wrote (seen), everyone the user
    /// wrote to (sent: the Sent folders), with the newest date. One statement per part, run
    /// off the UI; counts from sends made since are kept.
    pub fn refresh_contacts(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS fresh (email TEXT, name TEXT, sent INTEGER, seen INTEGER, at INTEGER);
             DELETE FROM temp.fresh;
             INSERT INTO temp.fresh
               SELECT lower(json_extract(j.value, '$[1]')), max(json_extract(j.value, '$[0]')), 0, count(*), max(m.date)
               FROM messages m, json_each(m.from_json) j
               WHERE json_extract(j.value, '$[1]') LIKE '%@%'
               GROUP BY 1;
             INSERT INTO temp.fresh
               SELECT lower(json_extract(j.value, '$[1]')), max(json_extract(j.value, '$[0]')), count(*), 0, max(m.date)
               FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id AND b.role = 'sent',
                    json_each(json_array(json(m.to_json), json(m.cc_json))) l, json_each(l.value) j
               WHERE json_extract(j.value, '$[1]') LIKE '%@%'
               GROUP BY 1;
             INSERT INTO contacts (email, name, sent, seen, last_at)
               SELECT email, max(name), sum(sent), sum(seen), max(at) FROM temp.fresh GROUP BY email
               ON CONFLICT (email) DO UPDATE SET
                 name = CASE WHEN excluded.name != '' THEN excluded.name ELSE contacts.name END,
                 sent = max(contacts.sent, excluded.sent),
                 seen = excluded.seen,
                 last_at = max(contacts.last_at, excluded.last_at);
             DELETE FROM temp.fresh;
             INSERT INTO meta (key, value) VALUES ('contacts_at', strftime('%s', 'now'))
               ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The domains the user writes to (the address book's, by how often) and their accounts'
    /// own, lower case, at most `limit`: what a sender's domain is compared with for
    /// lookalikes (`domain::verdict`).
    pub fn known_domains(&self, limit: usize) -> Result<Vec<String>> {
        let mut st = self.conn.prepare_cached(
            "SELECT d FROM (
               SELECT lower(rtrim(substr(email, instr(email, '@') + 1), '.')) AS d, max(w) AS w
               FROM (SELECT email, 1000000000 AS w FROM accounts
                     UNION ALL SELECT email, sent FROM contacts WHERE sent > 0)
               WHERE instr(email, '@') > 0 GROUP BY 1)
             WHERE d != '' ORDER BY w DESC, d LIMIT ?1",
        )?;
        let rows = st.query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            r.get(0)
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the address book was last rebuilt (seconds since the epoch).
    pub fn contacts_refreshed_at(&self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'contacts_at'",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The user wrote to these: they rank higher from now on.
    pub fn note_sent_to(&mut self, to: &[Address]) -> Result<()> {
        let t = now();
        for a in to {
            self.conn.execute(
                "INSERT INTO contacts (email, name, sent, last_at) VALUES (lower(?1), ?2, 1, ?3)
                 ON CONFLICT (email) DO UPDATE SET sent = sent + 1, last_at = ?3,
                    name = CASE WHEN ?2 != '' THEN ?2 ELSE name END",
                params![a.email, a.name.clone().unwrap_or_default(), t],
            )?;
        }
        Ok(())
    }

    /// Addresses starting with `prefix` (the address, the name, or a word of the name), ranked
    /// by how often the user wrote to them (counting most), how often they wrote, and how
    /// recently.
    pub fn suggest_addresses(&self, prefix: &str, limit: u32) -> Result<Vec<Address>> {
        let p = prefix.trim().replace(['%', '_'], "");
        if p.is_empty() {
            return Ok(Vec::new());
        }
        let mut st = self.conn.prepare_cached(
            "SELECT name, email FROM contacts
             WHERE email LIKE ?1 || '%' OR name LIKE ?1 || '%' OR name LIKE '% ' || ?1 || '%'
             ORDER BY (sent * 4 + seen) / (1.0 + max(0, ?2 - last_at) / 2592000.0) DESC, email
             LIMIT ?3",
        )?;
        let rows = st.query_map(params![p, now(), limit], |r| {
            let name: String = r.get(0)?;
            Ok(Address {
                name: (!name.is_empty()).then_some(name),
                email: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A cached message of an account by its Message-ID (the first found).
    pub fn find_message_id(&self, account: AccountId, message_id: &str) -> Result<Option<MsgId>> {
        let id = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        Ok(self
            .conn
            .query_row(
                "SELECT m.id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
                 WHERE m.message_id = ?2 AND b.account_id = ?1 AND b.role IS NOT 'drafts'
                 ORDER BY m.id LIMIT 1",
                params![account.0, id],
                |r| Ok(MsgId(r.get(0)?)),
            )
            .optional()?)
    }

    /// Save a draft in the account's Drafts folder (here at once, on the server through the
    /// queue), replacing its previous version `replaces`. Returns the new row (None: the
    /// account has no Drafts folder).
    pub fn save_draft(
        &mut self,
        account: AccountId,
        raw: &[u8],
        meta: &MessageMeta,
        replaces: Option<MsgId>,
    ) -> Result<Option<MsgId>> {
        let id = self.store_local_copy(account, Role::Drafts, raw, meta, &["\\Draft", "\\Seen"])?;
        if id.is_some()
            && let Some(old) = replaces
        {
            self.expunge_messages(&[old])?;
        }
        Ok(id)
    }

    /// A message made here, in the account's mailbox with `role`: in the cache at once (under
    /// a placeholder UID, with these flags) and queued for the server (APPEND). Returns its
    /// row, None when the account has no such mailbox.
    pub fn store_local_copy(
        &mut self,
        account: AccountId,
        role: Role,
        raw: &[u8],
        meta: &MessageMeta,
        flags: &[&str],
    ) -> Result<Option<MsgId>> {
        let tx = self.conn.transaction()?;
        let sent: Option<i64> = tx
            .query_row(
                "SELECT id FROM mailboxes WHERE account_id = ?1 AND role = ?2 ORDER BY id LIMIT 1",
                params![account.0, role.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(sent) = sent else {
            return Ok(None);
        };
        let siblings: Vec<i64> = {
            let mut st = tx.prepare_cached("SELECT id FROM mailboxes WHERE account_id = ?1")?;
            st.query_map([account.0], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let next: i64 = tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM messages", [], |r| {
            r.get(0)
        })?;
        let m = super::NewMessage {
            uid: Uid(0),
            meta: meta.clone(),
            flags: Flags::parse(&flags.join(" ")),
            internal_date: Some(now()),
            raw: Some(raw),
        };
        let id = super::insert_one(
            &tx,
            &siblings,
            MailboxId(sent),
            &m,
            super::placeholder(MsgId(next)),
            next,
        )?;
        super::actions::queue_tx(
            &tx,
            account,
            MailboxId(sent),
            &super::QueuedAction::Append {
                placeholder: super::placeholder(id),
                flags: flags.iter().map(|f| f.to_string()).collect(),
            },
        )?;
        tx.commit()?;
        Ok(Some(id))
    }
}
