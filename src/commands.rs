//! Non-interactive subcommands: `tern sync` and `tern list`. They print for people (or JSON
//! for scripts) and return whether they succeeded; main turns that into the exit code.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

use crate::config::{AccountConfig, Config};
use crate::domain::{ConnState, Envelope, sanitize};
use crate::pop3::fetch;
use crate::store::{POP3_INBOX, Store, StoreError, StoreHandle};
use crate::sync::pass::{self, Progress, SyncOptions};
use crate::worker;

fn pick<'a>(cfg: &'a Config, account: Option<&str>) -> Result<Vec<&'a AccountConfig>, String> {
    if cfg.accounts.is_empty() {
        return Err(format!(
            "no accounts in {}: add an [[account]] table (config.example.toml shows one)",
            cfg.path
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ));
    }
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
fn imap_lines(name: &str, s: pass::Summary, started: Instant) -> Vec<String> {
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
fn pop3_lines(name: &str, s: fetch::FetchSummary, started: Instant) -> Vec<String> {
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

/// `tern sync --watch`: run the engines headless (IMAP: IDLE; POP3: polling) until SIGINT or
/// SIGTERM. State changes go to stderr, one line each.
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
    for a in accounts {
        let store = match StoreHandle::open_in_dir(&cfg.data_dir) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("tern: {e}");
                return false;
            }
        };
        let timing = worker::Timing::for_account(a);
        engines.push(crate::runtime::spawn_engine(
            a.clone(),
            store,
            tx.clone(),
            timing,
        ));
    }
    if engines.is_empty() {
        eprintln!("tern: no account to watch");
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
                Some(worker::Event::State { account, state }) => {
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
                sanitize::json(serde_json::json!({
                    "account": a.name,
                    "mailbox": mailbox,
                    "uid": e.uid.0,
                    "date": e.date,
                    "from": sanitize::address(&from),
                    "subject": e.subject,
                    "flags": e.flags.to_imap(),
                }))
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
            sanitize::json(serde_json::json!({
                "account": account,
                "mailbox": mailbox,
                "uid": e.uid.0,
                "date": e.date,
                "from": sanitize::address(&from),
                "subject": e.subject,
                "flags": e.flags.to_imap(),
            }))
            .to_string()
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
pub fn outbox(
    store: &mut Store,
    out: &mut impl Write,
    requeue: Option<i64>,
    json: bool,
) -> Result<Result<(), String>, StoreError> {
    let mut answer = Ok(());
    use crate::store::OutState;
    if let Some(id) = requeue {
        match store.outbox_get(id)? {
            Some(row) if matches!(row.state, OutState::Failed | OutState::Uncertain) => {
                store.outbox_set(id, OutState::Queued, Some("queued again by the user"), None)?;
            }
            Some(row) => {
                answer = Err(format!(
                    "#{id} is {}: only a failed or uncertain message can be queued again",
                    row.state.as_str()
                ));
            }
            None => answer = Err(format!("no message #{id} in the outbox")),
        }
    }
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

/// Options of `tern send`.
#[derive(Debug, Clone, Default)]
pub struct SendOpts {
    pub account: Option<String>,
    pub attach: Vec<std::path::PathBuf>,
    pub queue_only: bool,
    pub json: bool,
}

/// Exit codes of `tern send`: sent (0), failed (1), queued for a retry (75, EX_TEMPFAIL).
pub const EXIT_TEMPFAIL: i32 = 75;

/// The header block of `raw` with every `name:` field (and its folded lines) left out.
fn without_header(raw: &[u8], name: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = match text.find("\n\n") {
        Some(i) => (&text[..i + 1], &text[i + 1..]),
        None => (text.as_str(), ""),
    };
    let mut out = String::new();
    let mut skipping = false;
    for line in head.split_inclusive('\n') {
        let folded = line.starts_with(' ') || line.starts_with('\t');
        if !folded {
            skipping = line
                .split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name));
        }
        if !skipping {
            out.push_str(line);
        }
    }
    out.push_str(body);
    out.replace('\n', "\r\n").into_bytes()
}

/// The addresses of a header field; an entry that is not an address an SMTP server can take
/// (`al`, `<<<@@@>>>`) is an error naming it, never dropped or queued.
fn addresses(a: &mail_parser::HeaderValue<'_>) -> Result<Vec<crate::domain::Address>, String> {
    let Some(list) = a.as_address() else {
        return match a.as_text() {
            Some(t) if !t.trim().is_empty() => {
                Err(format!("not an address: {}", sanitize::line(t)))
            }
            _ => Ok(Vec::new()),
        };
    };
    let mut out = Vec::new();
    for x in list.iter() {
        match x.address() {
            Some(e) if crate::send::is_address(e) => out.push(crate::domain::Address {
                name: x.name().map(str::to_string),
                email: e.to_string(),
            }),
            other => {
                let what = other.or(x.name()).unwrap_or("");
                return Err(format!("not an address: {}", sanitize::line(what)));
            }
        }
    }
    Ok(out)
}

/// What `tern send` read on stdin, made ready for the outbox: a whole MIME message goes as it
/// is (without its Bcc field, with a Date and Message-ID if missing); headers and a plain
/// body are built into a message (with `attach` as attachments).
pub fn message_from_input(
    input: &[u8],
    from_default: &crate::domain::Address,
    attach: &[crate::domain::compose::Attachment],
    now: i64,
    unique: &str,
) -> Result<crate::domain::compose::Built, String> {
    use crate::domain::compose::{self, Draft};
    let parsed = mail_parser::MessageParser::default()
        .parse_headers(input)
        .ok_or("the message on stdin has no header fields")?;
    let get = |h: mail_parser::HeaderName<'static>| {
        Ok::<_, String>(
            parsed
                .header(h)
                .map(addresses)
                .transpose()?
                .unwrap_or_default(),
        )
    };
    use mail_parser::HeaderName as H;
    let (to, cc, bcc) = (get(H::To)?, get(H::Cc)?, get(H::Bcc)?);
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err("no recipients: give To, Cc or Bcc".into());
    }
    let from = get(H::From)?
        .into_iter()
        .next()
        .unwrap_or_else(|| from_default.clone());
    let mime = parsed.header(H::MimeVersion).is_some() || parsed.header(H::ContentType).is_some();
    if mime {
        if !attach.is_empty() {
            return Err("--attach goes with headers and a plain body, not a MIME message".into());
        }
        let mut raw = without_header(input, "Bcc");
        let mut extra = String::new();
        let message_id = match parsed.message_id() {
            Some(id) => id.to_string(),
            None => {
                let id = compose::message_id_for(&from.email, unique);
                extra += &format!("Message-ID: <{id}>\r\n");
                id
            }
        };
        if parsed.date().is_none() {
            let d = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
            extra += &format!("Date: {}\r\n", d.to_rfc2822());
        }
        if parsed.header(H::From).is_none() {
            extra += &format!("From: {}\r\n", from.email);
        }
        let mut full = extra.into_bytes();
        full.append(&mut raw);
        let d = Draft {
            from: from.clone(),
            to,
            cc,
            bcc,
            ..Draft::default()
        };
        return Ok(compose::Built {
            raw: full,
            mail_from: from.email,
            rcpt: compose::envelope_recipients(&d),
            message_id,
        });
    }
    let text = String::from_utf8_lossy(input).replace("\r\n", "\n");
    let body = text.find("\n\n").map_or("", |i| &text[i + 2..]).to_string();
    let draft = Draft {
        from,
        to,
        cc,
        bcc,
        subject: parsed.subject().unwrap_or_default().to_string(),
        body,
        in_reply_to: parsed.in_reply_to().as_text().map(str::to_string),
        references: parsed
            .references()
            .as_text_list()
            .map(|l| l.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
        attachments: attach.to_vec(),
    };
    Ok(compose::build(&draft, now, unique))
}

/// `tern send`: queue the message on stdin, send it, file the Sent copy. Returns the exit code.
pub async fn send(cfg: &Config, store: StoreHandle, input: &[u8], opts: &SendOpts) -> i32 {
    use crate::store::OutState;
    let fail = |e: String| {
        eprintln!("tern: {e}");
        1
    };
    let mut attach = Vec::new();
    for p in &opts.attach {
        match std::fs::read(p) {
            Ok(data) => attach.push(crate::domain::compose::Attachment {
                name: p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "attachment".into()),
                content_type: String::new(),
                data,
            }),
            Err(e) => return fail(format!("{}: {e}", p.display())),
        }
    }
    let now = chrono::Utc::now().timestamp();
    // The account: asked for, else the one the From address belongs to, else the first.
    let from_header = mail_parser::MessageParser::default()
        .parse_headers(input)
        .and_then(|m| {
            m.from()
                .and_then(|f| f.first())
                .and_then(|a| a.address().map(str::to_string))
        });
    let account = match &opts.account {
        Some(name) => cfg.accounts.iter().find(|a| &a.name == name),
        None => from_header
            .as_deref()
            .and_then(|f| {
                cfg.accounts.iter().find(|a| {
                    a.email.eq_ignore_ascii_case(f)
                        || a.aliases.iter().any(|x| x.eq_ignore_ascii_case(f))
                })
            })
            .or(cfg.accounts.first()),
    };
    let Some(account) = account else {
        return fail(match &opts.account {
            Some(n) => format!("no account `{n}` in the config"),
            None => "no account in the config".into(),
        });
    };
    if account.smtp.is_none() {
        return fail(format!(
            "account {} has no [account.smtp]: it cannot send",
            account.name
        ));
    }
    let me = crate::domain::Address {
        name: account.display_name.clone(),
        email: account.email.clone(),
    };
    let built = match message_from_input(input, &me, &attach, now, &crate::send::unique_token()) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let acc = match crate::send::account_id(&store, account).await {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    let (from, rcpt, raw) = (
        built.mail_from.clone(),
        built.rcpt.clone(),
        built.raw.clone(),
    );
    let id = match store
        .call(move |s| s.enqueue(acc, &from, &rcpt, &raw))
        .await
    {
        Ok(id) => id,
        Err(e) => return fail(format!("the outbox: {e}")),
    };
    let print = |state: &str, reply: &str, extra: serde_json::Value| {
        if opts.json {
            let mut v = serde_json::json!({
                "id": id,
                "state": state,
                "message_id": built.message_id,
                "reply": reply,
            });
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            println!("{}", sanitize::json(v));
        }
    };
    if opts.queue_only {
        print("queued", "", serde_json::json!({}));
        if !opts.json {
            println!("queued #{id}: the running tern sends it");
        }
        return 0;
    }
    let password = match crate::send::smtp_password(account).await {
        Ok(p) => p,
        Err(e) => {
            let _ = store
                .call(move |s| s.outbox_set(id, OutState::Failed, Some(&e), None))
                .await;
            return fail(format!(
                "the SMTP password: the message stays in the outbox (#{id})"
            ));
        }
    };
    let report = match crate::send::send_one(account, password.as_ref(), &store, id).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    for r in &report.refused {
        eprintln!("tern: refused {}: {}", r.rcpt, r.reply);
    }
    let mut warning = None;
    if report.state == OutState::Sent && account.save_sent && account.imap.is_some() {
        let copied = file_sent_copies(account, &store, acc, &[(id, report.sent_copy)]).await;
        if let Err(e) = copied {
            warning = Some(format!(
                "the Sent copy stays queued (it is stored with the next sync): {e}"
            ));
        }
    }
    if report.to_drafts
        && account.imap.is_some()
        && let Err(e) = file_sent_copies(account, &store, acc, &[]).await
    {
        warning = Some(format!("the draft stays queued for the Drafts folder: {e}"));
    }
    if let Some(w) = &warning {
        eprintln!("warning: {w}");
    }
    let extra = serde_json::json!({
        "refused": crate::send::refused_json(&report.refused),
        "retry_at": report.retry_at,
        "warning": warning,
    });
    print(report.state.as_str(), &report.reply, extra);
    match report.state {
        OutState::Sent => {
            if !opts.json {
                println!("sent #{id}: {}", report.reply);
            }
            0
        }
        OutState::Queued => {
            if !opts.json {
                let when = report
                    .retry_at
                    // Now, not when the command started: the attempt took its time.
                    .map(|t| crate::send::until(t, chrono::Utc::now().timestamp()))
                    .unwrap_or_default();
                eprintln!("tern: queued #{id}, retry in {when}: {}", report.reply);
            }
            EXIT_TEMPFAIL
        }
        state => {
            if !opts.json {
                eprintln!("tern: {} #{id}: {}", state.as_str(), report.reply);
            }
            1
        }
    }
}

/// Store the Sent copies of sent outbox messages ((id, whether its copy is queued already)):
/// a copy the cache could not queue (it did not know the Sent folder) is queued after asking
/// the server for its folders; then the queue is replayed.
async fn file_sent_copies(
    account: &AccountConfig,
    store: &StoreHandle,
    acc: crate::domain::AccountId,
    sent: &[(i64, bool)],
) -> Result<(), crate::sync::SyncError> {
    let mut imap = pass::connect(account).await?;
    let result = async {
        let mut listed = false;
        for &(id, queued) in sent {
            if queued {
                continue;
            }
            if !listed {
                pass::list_into_cache(&mut imap, account, store, acc).await?;
                listed = true;
            }
            let ok = store
                .call(move |s| {
                    let Some(row) = s.outbox_get(id)? else {
                        return Ok(false);
                    };
                    let meta = crate::domain::message::parse(&row.raw).meta;
                    s.queue_sent_copy(acc, &row.raw, &meta)
                })
                .await?;
            if !ok {
                return Err(crate::sync::SyncError::new(
                    crate::sync::ErrorKind::Protocol,
                    "the server has no Sent folder (set [account.folders] sent = \"...\")",
                ));
            }
        }
        crate::sync::replay::replay(&mut imap, store, acc, true).await
    }
    .await;
    imap.logout().await;
    result.map(|_| ())
}

/// `tern send --flush`: send every queued message now (retry delays aside). Returns the exit
/// code: 0 when nothing is left queued.
pub async fn flush(cfg: &Config, store: StoreHandle, account: Option<&str>) -> i32 {
    use crate::store::OutState;
    let accounts = match pick(cfg, account) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tern: {e}");
            return 1;
        }
    };
    let mut code = 0;
    for a in accounts {
        let Ok(acc) = crate::send::account_id(&store, a).await else {
            continue;
        };
        let due = store
            .call(move |s| s.outbox_due(Some(acc), None))
            .await
            .unwrap_or_default();
        if due.is_empty() {
            continue;
        }
        let password = match crate::send::smtp_password(a).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("tern: {}: the SMTP password: {e}", a.name);
                code = 1;
                continue;
            }
        };
        let mut sent = Vec::new();
        for row in due {
            match crate::send::send_one(a, password.as_ref(), &store, row.id).await {
                Ok(r) => {
                    if r.state == OutState::Sent {
                        sent.push((r.id, r.sent_copy));
                    }
                    println!("{} #{}: {}", r.state.as_str(), r.id, r.reply);
                    if r.state != OutState::Sent {
                        code = if r.state == OutState::Queued {
                            EXIT_TEMPFAIL
                        } else {
                            1
                        };
                    }
                }
                Err(e) => {
                    eprintln!("tern: #{}: {e}", row.id);
                    code = 1;
                }
            }
        }
        if !sent.is_empty()
            && a.save_sent
            && a.imap.is_some()
            && let Err(e) = file_sent_copies(a, &store, acc, &sent).await
        {
            eprintln!(
                "warning: the Sent copies stay queued (they are stored with the next sync): {e}"
            );
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_mime_message_goes_as_it_is_without_bcc() {
        let me = crate::domain::Address {
            name: None,
            email: "me@example.test".into(),
        };
        let input = b"From: me@example.test\nTo: a@example.test\nBcc: hidden@example.test,\n  \
                      other@example.test\nSubject: x\nMIME-Version: 1.0\nContent-Type: text/plain\n\nbody\nBcc: not a header\n";
        let b = message_from_input(input, &me, &[], 1_795_543_200, "tok").unwrap();
        let text = String::from_utf8(b.raw.clone()).unwrap();
        assert!(
            !text.contains("hidden@") && !text.contains("other@"),
            "{text}"
        );
        assert!(
            text.contains("Message-ID: <tok@example.test>\r\n"),
            "{text}"
        );
        assert!(text.contains("Date: "), "{text}");
        assert!(
            text.ends_with("\r\n\r\nbody\r\nBcc: not a header\r\n"),
            "the body is untouched: {text}"
        );
        assert_eq!(
            b.rcpt,
            [
                "a@example.test",
                "hidden@example.test",
                "other@example.test"
            ]
        );
        // Headers and a plain body are built into a message.
        let b = message_from_input(
            b"To: a@example.test\nSubject: hi\n\nplain body\n",
            &me,
            &[],
            1_795_543_200,
            "t2",
        )
        .unwrap();
        let m = mail_parser::MessageParser::default().parse(&b.raw).unwrap();
        assert_eq!(
            m.from().unwrap().first().unwrap().address(),
            Some("me@example.test")
        );
        assert_eq!(m.body_text(0).as_deref(), Some("plain body\r\n"));
        assert!(message_from_input(b"Subject: nobody\n\nx\n", &me, &[], 0, "t").is_err());
    }
}
