//! Versioned migrations. `PRAGMA user_version` is the number of migrations applied.
//!
//! Rules: append new migrations, never edit or remove old ones, and never drop a table or
//! column holding user data (outbox, pending actions, drafts). Cache-only data (messages,
//! bodies, the index) may be rebuilt, but a migration still copies it where it can.

pub const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('imap', 'pop3', 'local')),
    created_at  INTEGER NOT NULL
);

CREATE TABLE mailboxes (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    delimiter     TEXT,
    role          TEXT CHECK (role IN ('inbox', 'drafts', 'sent', 'archive', 'junk', 'trash')),
    subscribed    INTEGER NOT NULL DEFAULT 1,
    selectable    INTEGER NOT NULL DEFAULT 1,
    uidvalidity   INTEGER,
    uidnext       INTEGER,
    highestmodseq INTEGER,
    -- 1 once every message's headers below the newest are cached (initial sync finished)
    headers_complete INTEGER NOT NULL DEFAULT 0,
    total         INTEGER NOT NULL DEFAULT 0,
    unread        INTEGER NOT NULL DEFAULT 0,
    synced_at     INTEGER,
    UNIQUE (account_id, name)
);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    mailbox_id      INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid             INTEGER NOT NULL,
    modseq          INTEGER,
    message_id      TEXT,
    in_reply_to     TEXT,
    refs            TEXT,               -- space-separated Message-IDs, oldest first
    thread_id       INTEGER,
    date            INTEGER NOT NULL,   -- Date header, else internal date (epoch seconds)
    internal_date   INTEGER,
    from_name       TEXT,
    from_addr       TEXT,
    from_json       TEXT NOT NULL DEFAULT '[]',  -- [[name, email], ...]
    to_json         TEXT NOT NULL DEFAULT '[]',
    cc_json         TEXT NOT NULL DEFAULT '[]',
    subject         TEXT NOT NULL DEFAULT '',
    list_id         TEXT,
    seen            INTEGER NOT NULL DEFAULT 0,
    answered        INTEGER NOT NULL DEFAULT 0,
    flagged         INTEGER NOT NULL DEFAULT 0,
    deleted         INTEGER NOT NULL DEFAULT 0,
    draft           INTEGER NOT NULL DEFAULT 0,
    keywords        TEXT NOT NULL DEFAULT '',    -- space-separated, server spelling
    size            INTEGER NOT NULL DEFAULT 0,
    has_attachments INTEGER NOT NULL DEFAULT 0,
    preview         TEXT NOT NULL DEFAULT '',
    UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_by_date ON messages (mailbox_id, date DESC, id DESC);
CREATE INDEX messages_by_msgid ON messages (message_id);
CREATE INDEX messages_by_reply ON messages (in_reply_to);
CREATE INDEX messages_by_thread ON messages (thread_id);

-- Mailbox counts follow every change to messages, one row at a time (no count(*) scans).
CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN
    UPDATE mailboxes SET total = total + 1, unread = unread + (new.seen = 0 AND new.deleted = 0)
    WHERE id = new.mailbox_id;
END;
CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN
    UPDATE mailboxes SET total = total - 1, unread = unread - (old.seen = 0 AND old.deleted = 0)
    WHERE id = old.mailbox_id;
END;
CREATE TRIGGER messages_count_update AFTER UPDATE OF seen, deleted, mailbox_id ON messages BEGIN
    UPDATE mailboxes SET total = total - 1, unread = unread - (old.seen = 0 AND old.deleted = 0)
    WHERE id = old.mailbox_id;
    UPDATE mailboxes SET total = total + 1, unread = unread + (new.seen = 0 AND new.deleted = 0)
    WHERE id = new.mailbox_id;
END;

-- Raw RFC 5322 bytes, fetched lazily and prunable.
CREATE TABLE bodies (
    message_id  INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    raw         BLOB NOT NULL,
    fetched_at  INTEGER NOT NULL
);

-- Full-text index. Contentless (the text lives in messages/bodies), rowid = messages.id.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    subject, sender, recipients, body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
END;

-- Outgoing mail. Never deleted by a migration.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    mail_from       TEXT NOT NULL,
    rcpt_json       TEXT NOT NULL,
    raw             BLOB NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'uncertain')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_reply      TEXT
);

-- Local changes waiting to be replayed on a server, in id order. Never deleted by a migration.
CREATE TABLE pending_actions (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    created_at  INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    mailbox_id  INTEGER,
    payload     TEXT NOT NULL,      -- JSON: uids, flags, target mailbox, ...
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
"#,
    // 2: bodies kept without their attachments (the text of a message over the offline limit).
    r#"
ALTER TABLE bodies ADD COLUMN partial INTEGER NOT NULL DEFAULT 0;
"#,
    // 3: actions the server could not take (e.g. on a message deleted meanwhile), for the user.
    r#"
CREATE TABLE action_log (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    text        TEXT NOT NULL
);
"#,
    // 4: a local move of many messages (placeholder UIDs, see store::actions) updates the
    // counts once per mailbox, not twice per message: the row trigger leaves those to it.
    r#"
DROP TRIGGER messages_count_update;
CREATE TRIGGER messages_count_update AFTER UPDATE OF seen, deleted, mailbox_id ON messages
WHEN NOT (new.uid < 0 AND old.mailbox_id != new.mailbox_id) BEGIN
    UPDATE mailboxes SET total = total - 1, unread = unread - (old.seen = 0 AND old.deleted = 0)
    WHERE id = old.mailbox_id;
    UPDATE mailboxes SET total = total + 1, unread = unread + (new.seen = 0 AND new.deleted = 0)
    WHERE id = new.mailbox_id;
END;
"#,
    // 5: addresses for completion, rebuilt from the cache (see Store::refresh_contacts) and
    // counted up when the user sends.
    r#"
CREATE TABLE contacts (
    email   TEXT PRIMARY KEY COLLATE NOCASE,
    name    TEXT NOT NULL DEFAULT '',
    sent    INTEGER NOT NULL DEFAULT 0,
    seen    INTEGER NOT NULL DEFAULT 0,
    last_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    // 6: which messages the full-text index has (their body arrived): search looks up the
    // others' header fields directly, through a small partial index.
    r#"
ALTER TABLE messages ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET indexed = 1 WHERE id IN (SELECT message_id FROM bodies);
CREATE INDEX messages_unindexed ON messages (id) WHERE indexed = 0;
"#,
    // 7: the header fields of messages without a body are indexed too, off the sync path
    // (indexed = 2: headers only); which folders have such messages is read through this.
    r#"
CREATE INDEX messages_bodiless ON messages (mailbox_id) WHERE indexed <> 1;
"#,
    // 8: the full-text index without its prefix indexes (they made it 1.2x the text it holds,
    // and indexing half as fast, for little gain: FTS5 answers `word*` from the terms
    // themselves); rebuilt from the cached bodies right after (Store::migrate). Searches walk
    // the messages newest first and stop at the limit, through a date index of all mailboxes;
    // the prefetch finds the bodies it lacks through a partial one.
    r#"
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    subject, sender, recipients, body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
UPDATE messages SET indexed = 0 WHERE indexed <> 0;
CREATE INDEX messages_newest ON messages (date DESC, id DESC);
-- The prefetch's next bodies, newest first, without walking the ones it has (indexed = 1
-- exactly when a body is stored).
CREATE INDEX messages_bodiless_by_date ON messages (mailbox_id, date DESC, id DESC)
    WHERE indexed <> 1;
"#,
    // 9: what a POP3 account downloaded, by the server's unique id (UIDL). A row is written in
    // the transaction that stores its message, so a message is never downloaded twice; it
    // stays when the user deletes the message (message_id becomes NULL), so a deleted message
    // does not come back, and goes once the server no longer lists the UIDL.
    r#"
CREATE TABLE pop3_uidl (
    account_id        INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    uidl              TEXT NOT NULL,
    message_id        INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    fetched_at        INTEGER NOT NULL,
    -- 1 once a QUIT after DELE succeeded: the server no longer has it
    deleted_on_server INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, uidl)
) WITHOUT ROWID;
-- ON DELETE SET NULL looks rows up by message.
CREATE INDEX pop3_uidl_by_message ON pop3_uidl (message_id);
"#,
    // 10: safe replay. `attempts` (already there) now counts sends whose outcome tern did not
    // learn (no answer, a dropped connection): such a row is checked against the server before
    // anything is sent again. `since_uid`: the target's UIDNEXT as the cache knew it when a move
    // or copy was first sent (copies it made have UIDs from there on). `waiting`: an expunge
    // that cannot be done safely yet (no UIDPLUS, other messages marked \Deleted there),
    // skipped until the next sync pass; `last_error` says why.
    r#"
ALTER TABLE pending_actions ADD COLUMN since_uid INTEGER;
ALTER TABLE pending_actions ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;
"#,
    // 11: which process is sending an outbox row ("pid starttime"), so any command that opens
    // the cache can tell a send in progress from one a crash interrupted.
    r#"
ALTER TABLE outbox ADD COLUMN owner TEXT;
"#,
    // 12: a large body is kept in `big` (with `raw` empty), the row's last column: SQLite
    // writes a trailing zeroblob without building it in memory, so the body goes in by
    // incremental blob I/O with no copy (binding `raw` cost two copies of the message).
    r#"
ALTER TABLE bodies ADD COLUMN big BLOB;
"#,
    // 13: the message a reply answers (a forward forwards) and the flag it gets once the
    // reply is sent: not before, so a reply that never leaves does not mark it answered.
    r#"
ALTER TABLE outbox ADD COLUMN original INTEGER;
ALTER TABLE outbox ADD COLUMN original_flag TEXT;
"#,
    // 14: a mailbox that shows copies of messages kept in other mailboxes (SPECIAL-USE \All
    // or \Flagged, Gmail's \Important: "[Gmail]/All Mail", "Starred"). Searching every
    // mailbox leaves it out, so a message is found once.
    r#"
ALTER TABLE mailboxes ADD COLUMN aggregate INTEGER NOT NULL DEFAULT 0;
"#,
    // 15: Gmail's labels (X-GM-LABELS), read-only tags: joined by line ends, which a label
    // never holds (sanitized to one line by the engine); '' for none and on other servers.
    r#"
ALTER TABLE messages ADD COLUMN labels TEXT NOT NULL DEFAULT '';
"#,
];

/// The migration after which the full-text index is rebuilt from the cached bodies.
pub const REINDEX_AT: i64 = 8;
