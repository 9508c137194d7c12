//! Subcommands that read the cache only: `tern list`, `tern search`, `tern index`,
//! `tern outbox`.

use super::*;

pub(super) fn flags_text(e: &Envelope) -> String {
    let f = &e.flags;
    [
        (f.seen, 'S'),
        (f.answered, 'A'),
        (f.flagged, 'F'),
        (f.draft, 'D'),
        (f.deleted, 'X'),
    ]
    .iter()
    .map(|(on, c)| if *on { *c } else { '-' })
    .collect()
}

pub(super) fn date_text(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// `tern list`: cached envelopes, newest first. Reads the cache only.
pub fn list(
    store: &Store,
    out: &mut dyn Write,
    account: Option<&str>,
    mailbox: &str,
    limit: u32,
    json: bool,
) -> Result<(), StoreError> {
    let accounts = store.accounts()?;
    let chosen: Vec<_> = accounts
        .iter()
        .filter(|a| account.is_none_or(|n| a.name == n))
        .collect();
    if chosen.is_empty() {
        return Err(StoreError::Invalid(match account {
            Some(n) => format!("no account `{n}` in the cache (run `tern sync` first)"),
            None => "the cache is empty (run `tern sync` first)".into(),
        }));
    }
    let mut found = false;
    for a in chosen {
        let Some(mb) = store.mailbox_id(a.id, mailbox)? else {
            continue;
        };
        found = true;
        for e in store.envelopes(mb, 0, limit)? {
            let from = e.from.first().map(|f| f.to_string()).unwrap_or_default();
            let line = if json {
                envelope_json(&a.name, mailbox, &e, &from)
            } else {
                format!(
                    "{:<10} {:>7}  {}  {:4}  {:<28}  {}",
                    sanitize::line(&a.name),
                    e.uid.0,
                    date_text(e.date),
                    flags_text(&e),
                    crate::ui::format::fit(&sanitize::address(&from), 28),
                    sanitize::line(&e.subject)
                )
            };
            if writeln!(out, "{line}").is_err() {
                return Ok(()); // a closed pipe (| head) is not an error
            }
        }
    }
    if !found {
        return Err(StoreError::Invalid(format!(
            "no mailbox `{mailbox}` in the cache"
        )));
    }
    Ok(())
}

/// `tern search`: the cached messages a query finds, newest first, across every account.
/// A malformed query is an error naming its column.
pub fn search(
    store: &Store,
    out: &mut dyn Write,
    query: &str,
    limit: u32,
    json: bool,
) -> Result<(), StoreError> {
    let now = chrono::Local::now();
    let parsed =
        crate::domain::search::parse(query, now.timestamp(), now.offset().local_minus_utc())
            .map_err(|e| StoreError::Invalid(format!("the query: {e}")))?;
    let names: std::collections::HashMap<_, _> = store
        .accounts()?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let mailboxes: std::collections::HashMap<_, _> = store
        .mailboxes(None)?
        .into_iter()
        .map(|m| {
            (
                m.id,
                (names.get(&m.account).cloned().unwrap_or_default(), m.name),
            )
        })
        .collect();
    if crate::domain::search::needs_body(&parsed) {
        let bare = store.headers_only(&[])?;
        if !bare.is_empty() {
            let folders: Vec<String> = bare
                .iter()
                .map(|b| format!("{}/{} ({})", b.account_name, b.name, b.missing))
                .collect();
            eprintln!(
                "tern: searched on header fields only (bodies not cached): {}",
                sanitize::line(&folders.join(", "))
            );
        }
    }
    for e in store.search(&parsed, limit)? {
        let (account, mailbox) = mailboxes.get(&e.mailbox).cloned().unwrap_or_default();
        let from = e.from.first().map(|f| f.to_string()).unwrap_or_default();
        let line = if json {
            envelope_json(&account, &mailbox, &e, &from)
        } else {
            format!(
                "{:<10} {:<14} {}  {:4}  {:<28}  {}",
                sanitize::line(&account),
                crate::ui::format::fit(&sanitize::line(&mailbox), 14),
                date_text(e.date),
                flags_text(&e),
                crate::ui::format::fit(&sanitize::address(&from), 28),
                sanitize::line(&e.subject)
            )
        };
        if writeln!(out, "{line}").is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// `tern index [--rebuild]`: what the full-text index holds (and which folders are searched
/// on their header fields only); `rebuild`: build it again first, progress on a terminal.
pub fn index(store: &mut Store, out: &mut dyn Write, rebuild: bool) -> Result<(), StoreError> {
    if rebuild {
        let tty = std::io::stderr().is_terminal();
        let started = Instant::now();
        let n = store.rebuild_index(&mut |done, total| {
            if tty {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2Kindexing {done}/{total}");
                let _ = err.flush();
            }
        })?;
        if tty {
            eprint!("\r\x1b[2K");
        }
        let secs = started.elapsed().as_secs_f64();
        let _ = writeln!(
            out,
            "rebuilt the index: {n} messages in {secs:.1} s ({:.0} messages/s)",
            n as f64 / secs.max(0.001)
        );
    }
    let bare = store.headers_only(&[])?;
    let names: std::collections::HashMap<_, _> = store
        .accounts()?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let total: u32 = store.mailboxes(None)?.iter().map(|m| m.total).sum();
    let missing: u32 = bare.iter().map(|b| b.missing).sum();
    let _ = writeln!(
        out,
        "{} of {total} cached messages are indexed with their text",
        total.saturating_sub(missing)
    );
    for b in bare {
        let _ = writeln!(
            out,
            "  {}/{}: {} without a body, searched on their header fields only{}",
            sanitize::line(names.get(&b.account).map_or("", String::as_str)),
            sanitize::line(&b.name),
            b.missing,
            if b.imap {
                " (the TUI asks the server about their text)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// `tern outbox`: the outbox, newest first (`requeue`: put that message back in the queue
/// first). The inner error: the requeue asked for could not be done (no such message, or one
/// that is not failed or uncertain); the outbox is listed all the same.
/// `tern outbox --requeue ID`: a failed or uncertain message goes back in the queue, due now.
pub fn requeue(store: &mut Store, id: i64) -> Result<Result<(), String>, StoreError> {
    use crate::store::OutState;
    Ok(match store.outbox_get(id)? {
        Some(row) if matches!(row.state, OutState::Failed | OutState::Uncertain) => {
            store.outbox_set(id, OutState::Queued, Some("queued again by the user"), None)?;
            Ok(())
        }
        Some(row) => Err(format!(
            "#{id} is {}: only a failed or uncertain message can be queued again",
            row.state.as_str()
        )),
        None => Err(format!("no message #{id} in the outbox")),
    })
}

pub fn outbox(
    store: &mut Store,
    out: &mut impl Write,
    requeue: Option<i64>,
    json: bool,
) -> Result<Result<(), String>, StoreError> {
    let answer = match requeue {
        Some(id) => self::requeue(store, id)?,
        None => Ok(()),
    };
    let names: std::collections::HashMap<_, _> = store
        .accounts()?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    for row in store.outbox_list(200)? {
        let account = names.get(&row.account).cloned().unwrap_or_default();
        if json {
            let v = sanitize::json(serde_json::json!({
                "id": row.id,
                "account": account,
                "state": row.state.as_str(),
                "to": row.rcpt,
                "created_at": row.created_at,
                "attempts": row.attempts,
                "next_attempt_at": row.next_attempt_at,
                "reply": row.last_reply,
            }));
            let _ = writeln!(out, "{v}");
        } else {
            let _ = writeln!(
                out,
                "#{:<5} {:<10} {:<9} {:<16} {}  {}",
                row.id,
                sanitize::line(&account),
                row.state.as_str(),
                date_text(row.created_at),
                sanitize::line(&row.rcpt.join(", ")),
                sanitize::line(row.last_reply.as_deref().unwrap_or(""))
            );
        }
    }
    Ok(answer)
}

/// One message as a JSON line of `tern list --json` and `tern search --json` (sanitised).
fn envelope_json(account: &str, mailbox: &str, e: &crate::domain::Envelope, from: &str) -> String {
    sanitize::json(serde_json::json!({
        "account": account,
        "mailbox": mailbox,
        "uid": e.uid.0,
        "date": e.date,
        "from": sanitize::address(from),
        "subject": e.subject,
        "flags": e.flags.to_imap(),
    }))
    .to_string()
}
