//! Bodies: reading and writing the raw messages (large ones by blob I/O) and their index.

use super::*;

impl Store {
    /// Whether the cached body is only the message's text (see [`Store::store_partial_bodies`]).
    pub fn body_is_partial(&self, msg: MsgId) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT partial FROM bodies WHERE message_id = ?1",
                [msg.0],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    /// The raw message, when its body is cached.
    pub fn raw_message(&self, msg: MsgId) -> Result<Option<Vec<u8>>> {
        read_body(&self.conn, msg)
    }

    /// The cached message for the reader: whole when it is up to
    /// [`skeleton::WHOLE_UP_TO`](crate::domain::skeleton::WHOLE_UP_TO), else its skeleton, read
    /// from the cache in chunks so the whole message is never in memory.
    pub fn message_for_reader(&self, msg: MsgId) -> Result<Option<ReaderMessage>> {
        use crate::domain::skeleton::{SkeletonBuilder, WHOLE_UP_TO};
        let size: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT coalesce(length(big), length(raw)) FROM bodies WHERE message_id = ?1",
            )?
            .query_row([msg.0], |r| r.get(0))
            .optional()?;
        let Some(size) = size else {
            return Ok(None);
        };
        if usize::try_from(size).unwrap_or(usize::MAX) <= WHOLE_UP_TO {
            return Ok(self.raw_message(msg)?.map(ReaderMessage::Whole));
        }
        let mut builder = SkeletonBuilder::default();
        for_each_body_chunk(&self.conn, msg, |_, chunk| builder.push(chunk))?;
        Ok(Some(ReaderMessage::Skeleton(Box::new(builder.finish()))))
    }

    /// Store a fetched body and add it to the full-text index.
    pub fn store_body(&mut self, msg: MsgId, raw: &[u8], meta: &MessageMeta) -> Result<()> {
        let tx = self.conn.transaction()?;
        store_body_tx(&tx, msg, raw, meta, false)?;
        tx.commit()?;
        Ok(())
    }
}

/// The body of a message row just inserted (with `meta`'s preview and attachment mark, and
/// `indexed` set): kept, and its text indexed. Two inserts, where [`store_body_tx`] needs five
/// statements for a row that may have a body and an index entry already.
pub(super) fn insert_body_tx(
    tx: &Connection,
    msg: MsgId,
    raw: &[u8],
    meta: &MessageMeta,
) -> Result<()> {
    write_body_tx(tx, msg, raw, false)?;
    fts_insert_tx(tx, msg, meta)
}

/// Bodies over this size go to `bodies.big` by incremental blob I/O (see migration 12).
const LARGE_BODY: usize = 1024 * 1024;

/// Insert the body row of `msg` (none may exist). A large body is written into a trailing
/// zeroblob in chunks, so neither rusqlite nor SQLite holds a copy of it.
fn write_body_tx(tx: &Connection, msg: MsgId, raw: &[u8], partial: bool) -> Result<()> {
    use std::io::Write;
    let large = raw.len() > LARGE_BODY;
    let big = large.then_some(rusqlite::blob::ZeroBlob(raw.len() as u64));
    tx.prepare_cached(
        "INSERT INTO bodies (message_id, raw, fetched_at, partial, big) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        msg.0,
        if large { &[][..] } else { raw },
        now(),
        partial,
        big
    ])?;
    if large {
        // bodies.message_id is the INTEGER PRIMARY KEY: the rowid.
        let mut blob = tx.blob_open(rusqlite::MAIN_DB, "bodies", "big", msg.0, false)?;
        for chunk in raw.chunks(256 * 1024) {
            blob.write_all(chunk)
                .map_err(|e| StoreError::Invalid(format!("writing message {msg}: {e}")))?;
        }
    }
    Ok(())
}

/// The raw message of `msg` when its body is cached, read with one copy (a large one by
/// incremental blob I/O: `SELECT` would hold SQLite's copy and rusqlite's).
pub(super) fn read_body(conn: &Connection, msg: MsgId) -> Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    let found = for_each_body_chunk(conn, msg, |size, chunk| {
        if out.capacity() == 0 {
            out.reserve_exact(size);
        }
        out.extend_from_slice(chunk)
    })?;
    Ok(found.map(|_| out))
}

/// Hand the raw message of `msg` over in chunks, each with the whole size (a small message
/// comes in one); its size, or None when no body is cached.
fn for_each_body_chunk(
    conn: &Connection,
    msg: MsgId,
    mut f: impl FnMut(usize, &[u8]),
) -> Result<Option<usize>> {
    use std::io::Read;
    let row: Option<(Option<i64>, Option<Vec<u8>>)> = conn
        .prepare_cached(
            "SELECT length(big), CASE WHEN length(big) IS NULL THEN raw END FROM bodies WHERE message_id = ?1",
        )?
        .query_row([msg.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((big, raw)) = row else {
        return Ok(None);
    };
    if let Some(raw) = raw {
        f(raw.len(), &raw);
        return Ok(Some(raw.len()));
    }
    let len = usize::try_from(big.unwrap_or(0)).unwrap_or(0);
    let mut blob = conn.blob_open(rusqlite::MAIN_DB, "bodies", "big", msg.0, true)?;
    let mut buf = vec![0u8; (256 * 1024).min(len.max(1))];
    loop {
        let n = blob
            .read(&mut buf)
            .map_err(|e| StoreError::Invalid(format!("reading message {msg}: {e}")))?;
        if n == 0 {
            break;
        }
        f(len, &buf[..n]);
    }
    Ok(Some(len))
}

fn fts_insert_tx(tx: &Connection, msg: MsgId, meta: &MessageMeta) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO messages_fts (rowid, subject, sender, recipients, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        msg.0,
        meta.subject,
        addrs_text(&meta.from),
        addrs_text(&[meta.to.as_slice(), meta.cc.as_slice()].concat()),
        meta.body_text,
    ])?;
    Ok(())
}

/// Keep a body and index its text. `partial`: the start of the message only (its text, without
/// the attachments after it); the whole message replaces it when the user opens it.
pub(super) fn store_body_tx(
    tx: &Connection,
    msg: MsgId,
    raw: &[u8],
    meta: &MessageMeta,
    partial: bool,
) -> Result<()> {
    // Replaced whole (an UPSERT would build the large zeroblob in memory).
    tx.prepare_cached("DELETE FROM bodies WHERE message_id = ?1")?
        .execute([msg.0])?;
    write_body_tx(tx, msg, raw, partial)?;
    if partial {
        // What follows the cut is unknown: BODYSTRUCTURE's attachment mark stays.
        tx.prepare_cached("UPDATE messages SET preview = ?2 WHERE id = ?1")?
            .execute(params![msg.0, meta.preview])?;
    } else {
        tx.prepare_cached("UPDATE messages SET preview = ?2, has_attachments = ?3 WHERE id = ?1")?
            .execute(params![msg.0, meta.preview, meta.has_attachments])?;
    }
    tx.execute("DELETE FROM messages_fts WHERE rowid = ?1", [msg.0])?;
    index_tx(tx, msg, meta)
}

/// Put a message in the full-text index (not there yet, or only its header fields: those
/// are deleted first by the caller) and mark it indexed.
pub(super) fn index_tx(tx: &Connection, msg: MsgId, meta: &MessageMeta) -> Result<()> {
    tx.prepare_cached("UPDATE messages SET indexed = 1 WHERE id = ?1 AND indexed <> 1")?
        .execute([msg.0])?;
    fts_insert_tx(tx, msg, meta)
}
