//! `tern sync` and `tern sync --watch`: the engines run headless, summaries for people.

use super::*;

/// `tern sync`: every selected account at once (IMAP: synced; POP3: new mail downloaded);
/// one summary line each. A progress line goes to stderr when it is a terminal.
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
            if a.pop3.is_some() && opts.mailbox.as_deref().is_some_and(|m| m != POP3_INBOX) {
                let e = format!("a POP3 account downloads into {POP3_INBOX} only");
                return (a, Err(e));
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
            let r = if a.pop3.is_some() {
                fetch::fetch_once(a, &store, &progress)
                    .await
                    .map(|s| pop3_lines(&a.name, s, started))
            } else {
                pass::sync_once(a, &store, &opts, &progress)
                    .await
                    .map(|s| imap_lines(&a.name, s, started))
            };
            (a, r.map_err(|e| e.to_string()))
        }
    });
    let results = futures::future::join_all(runs).await;
    if tty {
        eprint!("\r\x1b[2K");
    }
    let mut ok = true;
    for (a, r) in results {
        match r {
            Ok(lines) => {
                for line in lines {
                    println!("{line}");
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

/// The summary of an IMAP account's sync.
pub(super) fn imap_lines(name: &str, s: pass::Summary, started: Instant) -> Vec<String> {
    let secs = started.elapsed().as_secs_f64();
    let mut lines = vec![format!(
        "{name}: {} mailboxes, {} new, {} changed, {} removed ({secs:.1} s)",
        s.mailboxes, s.new, s.changed, s.removed
    )];
    if s.dropped_actions > 0 {
        lines.push(format!(
            "{name}: {} queued actions dropped: their mailbox was recreated on the server",
            s.dropped_actions
        ));
    }
    lines
}

/// The summary of a POP3 account's download.
pub(super) fn pop3_lines(name: &str, s: fetch::FetchSummary, started: Instant) -> Vec<String> {
    let secs = started.elapsed().as_secs_f64();
    let mut lines = vec![format!(
        "{name}: {} new, {} on the server, {} deleted there ({secs:.1} s)",
        s.new, s.on_server, s.deleted
    )];
    if s.skipped > 0 {
        lines.push(format!(
            "{name}: {} messages the server would not send; tried again next time",
            s.skipped
        ));
    }
    lines
}

type Workers = Vec<(worker::EngineHandle, tokio::task::JoinHandle<()>)>;

/// Start the accounts' workers, each writing through its own cache connection; with each
/// account's name by id, for the state lines.
async fn start_workers(
    cfg: &Config,
    accounts: &[&AccountConfig],
    events: worker::Events,
) -> Result<(Workers, HashMap<AccountId, String>), crate::store::StoreError> {
    let mut engines = Vec::new();
    let mut names = HashMap::new();
    for &a in accounts {
        let store = StoreHandle::open_in_dir(&cfg.data_dir)?;
        let account = a.clone();
        let id = store
            .call(move |s| crate::runtime::register(s, &account))
            .await?;
        names.insert(id, a.name.clone());
        let timing = worker::Timing::for_account(a);
        let started = crate::runtime::spawn_engine(id, a.clone(), store, events.clone(), timing);
        if a.smtp.is_some() {
            outbox_worker(cfg, a, started.0.clone())?;
        }
        engines.push(started);
    }
    Ok((engines, names))
}

/// The account's outbox worker, so that what waits in the outbox (a message sent from the
/// client with its undo delay, one waiting for a retry) goes while tern runs headless; one
/// line on stderr for each attempt. Another tern running takes turns with it: a message is
/// claimed by one sender only.
fn outbox_worker(
    cfg: &Config,
    a: &AccountConfig,
    engine: worker::EngineHandle,
) -> Result<(), crate::store::StoreError> {
    let store = StoreHandle::open_in_dir(&cfg.data_dir)?;
    let name = a.name.clone();
    // The task ends with the process.
    let _ = crate::send::spawn_worker(a.clone(), store, move |r| {
        if r.sent_copy || r.to_drafts || r.original_flagged {
            engine.send(worker::Command::Replay);
        }
        eprintln!(
            "{name}: {}",
            crate::domain::sanitize::line(&crate::send::describe(r))
        );
    });
    Ok(())
}

/// What `tern sync --watch` needs to announce new mail.
struct News {
    store: StoreHandle,
    accounts: Vec<AccountConfig>,
    notify: crate::config::NotifyConfig,
}

/// A worker's event, for `tern sync --watch`: state changes as one stderr line each (progress
/// counts only once per mailbox), new mail announced (the `[notify]` command, a desktop
/// notification) and one stderr line per new message.
fn on_event(
    ev: worker::Event,
    names: &HashMap<AccountId, String>,
    last: &mut HashMap<AccountId, String>,
    news: &News,
) {
    match ev {
        worker::Event::State { account, state } => {
            let kind = match &state {
                ConnState::Syncing { mailbox, .. } => format!("syncing {mailbox}"),
                other => other.to_string(),
            };
            if last.get(&account) != Some(&kind) {
                let name = names.get(&account).map_or("?", String::as_str);
                eprintln!("{}: {}", sanitize::line(name), sanitize::line(&kind));
                last.insert(account, kind);
            }
        }
        worker::Event::Arrived { msgs, .. } => {
            let (store, accounts, notify) = (
                news.store.clone(),
                news.accounts.clone(),
                news.notify.clone(),
            );
            tokio::spawn(async move {
                let mail = match store.call(move |s| s.new_mail(&msgs)).await {
                    Ok(m) => crate::notify::worth_telling(&accounts, m),
                    Err(e) => return tracing::warn!(error = %e, "cannot read the new mail"),
                };
                for m in &mail {
                    eprintln!(
                        "{}: new mail in {} from {}: {}",
                        crate::notify::clean(&m.account_name),
                        crate::notify::clean(&m.folder),
                        crate::notify::clean(&m.from),
                        crate::notify::clean(&m.subject)
                    );
                }
                crate::notify::announce_headless(&notify, &mail).await;
            });
        }
        _ => {}
    }
}

/// `tern sync --watch`: run the engines headless (IMAP: IDLE; POP3: polling) until SIGINT or
/// SIGTERM. State changes and new mail go to stderr, one line each; new mail is announced as
/// `[notify]` says.
pub async fn watch(cfg: &Config, account: Option<&str>) -> bool {
    let accounts = match pick(cfg, account) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tern: {e}");
            return false;
        }
    };
    let (tx, mut rx) = worker::events();
    let (engines, names) = match start_workers(cfg, &accounts, tx).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tern: {e}");
            return false;
        }
    };
    if engines.is_empty() {
        eprintln!("tern: no account to watch");
        return false;
    }
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tern: {e}");
            return false;
        }
    };
    let news = match StoreHandle::open_in_dir(&cfg.data_dir) {
        Ok(store) => News {
            store,
            accounts: cfg.accounts.clone(),
            notify: cfg.notify.clone(),
        },
        Err(e) => {
            eprintln!("tern: {e}");
            return false;
        }
    };
    let mut last = HashMap::new();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            ev = rx.recv() => match ev {
                None => break,
                Some(ev) => on_event(ev, &names, &mut last, &news),
            },
        }
    }
    for (handle, _) in &engines {
        handle.send(worker::Command::Shutdown);
    }
    let tasks = engines.into_iter().map(|(_, t)| t);
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        futures::future::join_all(tasks),
    )
    .await;
    true
}
