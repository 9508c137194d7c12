//! Non-interactive subcommands: `tern sync` and `tern list`. They print for people (or JSON
//! for scripts) and return whether they succeeded; main turns that into the exit code.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

use crate::config::{AccountConfig, Config};
use crate::domain::{ConnState, Envelope, sanitize};
use crate::store::{Store, StoreError, StoreHandle};
use crate::sync::actor;
use crate::sync::engine::{self, Progress, SyncOptions};

fn pick<'a>(cfg: &'a Config, account: Option<&str>) -> Result<Vec<&'a AccountConfig>, String> {
    match account {
        Some(name) => match cfg.accounts.iter().find(|a| a.name == name) {
            Some(a) => Ok(vec![a]),
            None => Err(format!(
                "no account `{name}` in {}",
                cfg.path
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )),
        },
        None => Ok(cfg.accounts.iter().collect()),
    }
}

/// `tern sync`: every selected account at once; one summary line each. A progress line goes
/// to stderr when it is a terminal.
pub async fn sync(
    cfg: &Config,
    store: StoreHandle,
    account: Option<&str>,
    mailbox: Option<&str>,
) -> bool {
    let accounts = match pick(cfg, account) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tern: {e}");
            return false;
        }
    };
    let tty = std::io::stderr().is_terminal();
    let status_line = Mutex::new(String::new());
    let opts = SyncOptions {
        mailbox: mailbox.map(str::to_string),
    };
    let runs = accounts.iter().map(|a| {
        let store = store.clone();
        let opts = opts.clone();
        let status_line = &status_line;
        async move {
            let started = Instant::now();
            if a.imap.is_none() {
                return (
                    a,
                    Err("POP3 accounts cannot be synced by this version of tern".to_string()),
                    started,
                );
            }
            let progress = move |p: Progress| {
                if !tty {
                    return;
                }
                let text = match p {
                    Progress::Connecting => format!("{}: connecting", a.name),
                    Progress::Listing => format!("{}: listing mailboxes", a.name),
                    Progress::Mailbox { name, done, total } => {
                        format!("{}: {} {done}/{total}", a.name, sanitize::line(&name))
                    }
                };
                if let Ok(mut line) = status_line.lock() {
                    *line = text;
                    let mut err = std::io::stderr().lock();
                    let _ = write!(err, "\r\x1b[2K{}", *line);
                    let _ = err.flush();
                }
            };
            let r = engine::sync_once(a, &store, &opts, &progress)
                .await
                .map_err(|e| e.to_string());
            (a, r, started)
        }
    });
    let results = futures::future::join_all(runs).await;
    if tty {
        eprint!("\r\x1b[2K");
    }
    let mut ok = true;
    for (a, r, started) in results {
        let secs = started.elapsed().as_secs_f64();
        match r {
            Ok(s) => {
                println!(
                    "{}: {} mailboxes, {} new, {} changed, {} removed ({secs:.1} s)",
                    a.name, s.mailboxes, s.new, s.changed, s.removed
                );
                if s.dropped_actions > 0 {
                    println!(
                        "{}: {} queued actions dropped: their mailbox was recreated on the server",
                        a.name, s.dropped_actions
                    );
                }
            }
            Err(e) => {
                ok = false;
                eprintln!("tern: {}: {e}", a.name);
            }
        }
    }
    ok
}

/// `tern sync --watch`: run the engines headless until SIGINT or SIGTERM. State changes go to
/// stderr, one line each.
pub async fn watch(cfg: &Config, account: Option<&str>) -> bool {
    let accounts = match pick(cfg, account) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tern: {e}");
            return false;
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut engines = Vec::new();
    for a in accounts.into_iter().filter(|a| a.imap.is_some()) {
        let store = match StoreHandle::open_in_dir(&cfg.data_dir) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("tern: {e}");
                return false;
            }
        };
        engines.push(actor::spawn(
            a.clone(),
            store,
            tx.clone(),
            actor::Timing::for_account(a),
        ));
    }
    if engines.is_empty() {
        eprintln!("tern: no IMAP account to watch");
        return false;
    }
    drop(tx);
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tern: {e}");
            return false;
        }
    };
    let mut last: std::collections::HashMap<String, String> = Default::default();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            ev = rx.recv() => match ev {
                None => break,
                Some(actor::Event::State { account, state }) => {
                    // Progress counts change every batch: print the state kind only once.
                    let kind = match &state {
                        ConnState::Syncing { mailbox, .. } => format!("syncing {mailbox}"),
                        other => other.to_string(),
                    };
                    if last.get(&account) != Some(&kind) {
                        eprintln!("{}: {}", sanitize::line(&account), sanitize::line(&kind));
                        last.insert(account, kind);
                    }
                }
                Some(_) => {}
            },
        }
    }
    for (handle, _) in &engines {
        handle.send(actor::Command::Shutdown);
    }
    let tasks = engines.into_iter().map(|(_, t)| t);
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        futures::future::join_all(tasks),
    )
    .await;
    true
}

fn flags_text(e: &Envelope) -> String {
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

fn date_text(ts: i64) -> String {
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
                serde_json::json!({
                    "account": a.name,
                    "mailbox": mailbox,
                    "uid": e.uid.0,
                    "date": e.date,
                    "from": from,
                    "subject": e.subject,
                    "flags": e.flags.to_imap(),
                })
                .to_string()
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
