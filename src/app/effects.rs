//! Runs Cmds: the only app file that holds the store handle and the engine handles.
//! Each command runs as its own task and answers with a Msg on the app's channel.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::msg::{Cmd, Dest, Msg, Undo};
use crate::domain::{AccountId, message};
use crate::store::{FlagName, ReaderMessage, Store, StoreHandle};
use crate::worker::{Command, EngineHandle};

#[derive(Clone)]
pub struct Effects {
    store: StoreHandle,
    tx: UnboundedSender<Msg>,
    engines: Arc<HashMap<AccountId, EngineHandle>>,
    dirs: Arc<Dirs>,
    senders: Arc<Vec<Sender>>,
    /// The newest search asked for: a server is asked only about a query the user stopped
    /// typing at (see [`SERVER_SEARCH_PAUSE`]).
    last_search: Arc<std::sync::atomic::AtomicU64>,
}

/// How long a query must stay unchanged before servers are asked about it (typing a word
/// would otherwise send a server search per key).
pub const SERVER_SEARCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(400);

/// An account that can send: its addresses (its own first, then aliases), its signature, and
/// the kick that wakes its outbox worker.
#[derive(Clone)]
pub struct Sender {
    pub account: AccountId,
    pub me: Vec<crate::domain::Address>,
    pub signatures: crate::domain::compose::Signatures,
    pub kick: Option<crate::send::Kick>,
}

/// Where files the user asks for go.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Saved attachments.
    pub download: PathBuf,
    /// Attachments saved only to be opened (private to the user).
    pub scratch: PathBuf,
}

impl Effects {
    pub fn new(
        store: StoreHandle,
        tx: UnboundedSender<Msg>,
        engines: HashMap<AccountId, EngineHandle>,
        dirs: Dirs,
    ) -> Effects {
        Effects {
            store,
            tx,
            engines: Arc::new(engines),
            dirs: Arc::new(dirs),
            senders: Arc::new(Vec::new()),
            last_search: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// The accounts that can send.
    pub fn with_senders(mut self, senders: Vec<Sender>) -> Effects {
        self.senders = Arc::new(senders);
        self
    }

    pub fn run(&self, cmd: Cmd) {
        let store = self.store.clone();
        let tx = self.tx.clone();
        if let Cmd::FetchBody { msg } = cmd {
            let engines = Arc::clone(&self.engines);
            tokio::spawn(async move {
                let account = store
                    .call(move |s| s.message_location(msg))
                    .await
                    .ok()
                    .flatten()
                    .map(|l| l.0);
                match account.and_then(|a| engines.get(&a)) {
                    // The engine answers with BodyFetched / BodyFailed events.
                    Some(engine) => engine.send(Command::FetchBody { msg }),
                    None => {
                        let error = "no server to download this message from".to_string();
                        let _ = tx.send(Msg::BodyFailed { msg, error });
                    }
                }
            });
            return;
        }
        if let Cmd::SaveAttachment { msg, index } | Cmd::OpenAttachment { msg, index } = cmd {
            let open = matches!(cmd, Cmd::OpenAttachment { .. });
            let dirs = Arc::clone(&self.dirs);
            tokio::spawn(async move {
                let raw = store.call(move |s| s.raw_message(msg)).await;
                let answer = tokio::task::spawn_blocking(move || {
                    let raw = match raw {
                        Ok(Some(raw)) => raw,
                        Ok(None) => return Err("the message is not downloaded yet".to_string()),
                        Err(e) => return Err(e.to_string()),
                    };
                    if open {
                        let path = save_attachment(&raw, index, &dirs.scratch, true)?;
                        let mut child = std::process::Command::new(file_opener())
                            .arg(&path)
                            .stdin(std::process::Stdio::null())
                            .stdout(std::process::Stdio::null())
                            .stderr(std::process::Stdio::null())
                            .spawn()
                            .map_err(|e| format!("{}: {e}", file_opener()))?;
                        let _ = child.wait();
                        Ok(format!("opened {}", path.display()))
                    } else {
                        let path = save_attachment(&raw, index, &dirs.download, false)?;
                        Ok(format!("saved to {}", path.display()))
                    }
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
                let _ = tx.send(match answer {
                    Ok(note) => Msg::Notice(note),
                    Err(e) => Msg::Failed(format!("attachment: {e}")),
                });
            });
            return;
        }
        if is_triage(&cmd) {
            let engines = Arc::clone(&self.engines);
            tokio::spawn(async move {
                // The cache waits for other writers (store::BUSY_TIMEOUT); if one held it even
                // longer, the action is tried again rather than lost.
                let mut tries = 0;
                let answer = loop {
                    let attempt = cmd.clone();
                    match store.call(move |s| triage(s, attempt)).await {
                        Err(e) if e.is_busy() && tries < TRIAGE_TRIES => {
                            tries += 1;
                            tracing::warn!(error = %e, tries, "cache busy, trying the action again");
                        }
                        other => break other,
                    }
                };
                match answer {
                    Ok((accounts, msg)) => {
                        for a in accounts {
                            if let Some(e) = engines.get(&a) {
                                e.send(Command::Replay);
                            }
                        }
                        let _ = tx.send(msg);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "an action failed in the cache");
                        let _ = tx.send(Msg::Failed(format!("the action failed: {e}")));
                    }
                }
            });
            return;
        }
        if matches!(
            cmd,
            Cmd::StartCompose { .. }
                | Cmd::SendCompose { .. }
                | Cmd::SaveDraft { .. }
                | Cmd::AutosaveDraft { .. }
                | Cmd::ResumeDraft { .. }
                | Cmd::WriteCompose { .. }
                | Cmd::ReadCompose { .. }
                | Cmd::AttachFile { .. }
                | Cmd::DiscardCompose { .. }
                | Cmd::CompletePath { .. }
                | Cmd::SuggestAddresses { .. }
        ) {
            let (senders, dirs, engines) = (
                Arc::clone(&self.senders),
                Arc::clone(&self.dirs),
                Arc::clone(&self.engines),
            );
            tokio::spawn(async move {
                let msg = compose_effect(&store, &senders, &dirs, &engines, cmd).await;
                let _ = tx.send(msg);
            });
            return;
        }
        if let Cmd::Search {
            req,
            query,
            scope,
            limit,
        } = cmd
        {
            self.last_search
                .fetch_max(req, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(search_effect(self.clone(), req, query, scope, limit));
            return;
        }
        if let Cmd::MarkReadLater { msg, after_ms } = cmd {
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(after_ms)).await;
                let _ = tx.send(Msg::ReadDelayElapsed { msg });
            });
            return;
        }
        if let Cmd::OpenUrl { url } = cmd {
            if let Err(e) = open_url(&url, std::env::var("BROWSER").ok().as_deref()) {
                let _ = tx.send(Msg::Failed(format!("cannot open the link: {e}")));
            }
            return;
        }
        if let Cmd::WatchMailbox { mailbox } = cmd {
            let engines = Arc::clone(&self.engines);
            tokio::spawn(async move {
                let account = store
                    .call(move |s| {
                        Ok(s.mailboxes(None)?
                            .into_iter()
                            .find(|m| m.id == mailbox)
                            .map(|m| m.account))
                    })
                    .await
                    .ok()
                    .flatten();
                for (id, engine) in engines.iter() {
                    let mailbox = (Some(*id) == account).then_some(mailbox);
                    engine.send(Command::Watch { mailbox });
                }
            });
            return;
        }
        tokio::spawn(async move {
            let msg = match execute(&store, cmd).await {
                Ok(Some(msg)) => msg,
                Ok(None) => return,
                Err(e) => Msg::Failed(e.to_string()),
            };
            let _ = tx.send(msg);
        });
    }
}

/// A server to ask: its account, the account's name, its mailboxes with their criteria, and
/// their names for the status line.
type Ask = (
    AccountId,
    String,
    Vec<(crate::domain::MailboxId, String)>,
    Vec<String>,
);

/// Search the cache; ask the servers about the folders whose bodies are not cached (when
/// the query looks into text and can be put as SEARCH criteria). Their answers come as
/// engine events, after the local results.
async fn search_effect(
    fx: Effects,
    req: u64,
    query: crate::domain::search::Query,
    scope: Vec<crate::domain::MailboxId>,
    limit: u32,
) {
    use crate::domain::search;
    let (store, engines, tx) = (&fx.store, &fx.engines, &fx.tx);
    let q = query.clone();
    let local = store
        .call(move |s| {
            let rows = s.search_in(&q, &scope, limit)?;
            let bare = if search::needs_body(&q) {
                s.headers_only(&scope)?
            } else {
                Vec::new()
            };
            Ok((rows, bare))
        })
        .await;
    let (rows, bare) = match local {
        Ok(x) => x,
        Err(e) => {
            let _ = tx.send(Msg::Failed(format!("search: {e}")));
            return;
        }
    };
    let mut headers_only = Vec::new();
    let mut ask: Vec<Ask> = Vec::new();
    for b in bare {
        let label = format!("{}/{}", b.account_name, b.name);
        let ctx = search::MailboxCtx {
            account: &b.account_name,
            name: &b.name,
            role: b.role.as_deref(),
        };
        match search::imap_criteria(&query, &ctx) {
            Ok(None) => {} // nothing there can match
            Ok(Some(criteria)) if b.imap && engines.contains_key(&b.account) => {
                match ask.iter_mut().find(|a| a.0 == b.account) {
                    Some(a) => {
                        a.2.push((b.mailbox, criteria));
                        a.3.push(label);
                    }
                    None => ask.push((
                        b.account,
                        b.account_name.clone(),
                        vec![(b.mailbox, criteria)],
                        vec![label],
                    )),
                }
            }
            Ok(Some(_)) => headers_only.push(format!("{label} (no server to ask)")),
            Err(why) => headers_only.push(format!("{label} ({why})")),
        }
    }
    let asking = ask
        .iter()
        .map(|(_, name, _, labels)| (name.clone(), labels.clone()))
        .collect();
    // The results first: the servers' answers add to them.
    let _ = tx.send(Msg::Searched {
        req,
        rows,
        headers_only,
        asking,
    });
    if ask.is_empty() {
        return;
    }
    tokio::time::sleep(SERVER_SEARCH_PAUSE).await;
    if fx.last_search.load(std::sync::atomic::Ordering::SeqCst) != req {
        return; // typed on: the newer query asks instead
    }
    for (account, _, mailboxes, _) in ask {
        if let Some(engine) = engines.get(&account) {
            engine.send(Command::Search { req, mailboxes });
        }
    }
}

/// The program and arguments that open `url`: `$BROWSER` when set (its first word is the
/// program; the URL is one more argument, never passed through a shell), else the system's
/// opener. Only web and mail links are opened: a hostile message cannot make tern run
/// `file:` or other schemes.
pub fn opener(url: &str, browser: Option<&str>) -> Result<(String, Vec<String>), String> {
    let lower = url.to_ascii_lowercase();
    if !["http://", "https://", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s))
    {
        return Err(format!(
            "only http, https and mailto links are opened, not {}",
            crate::domain::sanitize::line(url)
        ));
    }
    let mut words: Vec<String> = browser
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if words.is_empty() {
        words.push(
            if cfg!(target_os = "macos") {
                "open"
            } else {
                "xdg-open"
            }
            .to_string(),
        );
    }
    let program = words.remove(0);
    words.push(url.to_string());
    Ok((program, words))
}

/// The system's opener for files.
fn file_opener() -> &'static str {
    if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    }
}

/// Write attachment `index` of a raw message into `dir` (created if missing; `private`: only
/// the user may read it) under its sanitised name, never over an existing file: a taken name
/// gets " (1)", " (2)", ... before the extension. Returns the path written.
pub fn save_attachment(
    raw: &[u8],
    index: usize,
    dir: &Path,
    private: bool,
) -> Result<PathBuf, String> {
    use std::io::Write;
    let (name, bytes) = message::attachment(raw, index)
        .ok_or_else(|| "the message has no such attachment".to_string())?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = crate::domain::sanitize::file_name(&name);
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    for n in 0..1000 {
        let candidate = if n == 0 {
            name.clone()
        } else {
            format!("{stem} ({n}){ext}")
        };
        let path = dir.join(candidate);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(&bytes)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Err(format!("too many files named {name} in {}", dir.display()))
}

/// Start the opener without waiting for it (a thread reaps it), its output discarded so it
/// cannot draw over the screen.
fn open_url(url: &str, browser: Option<&str>) -> Result<(), String> {
    let (program, args) = opener(url, browser)?;
    let mut child = std::process::Command::new(&program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// The commands that change mail (and so queue work for an engine).
fn is_triage(cmd: &Cmd) -> bool {
    matches!(
        cmd,
        Cmd::SetFlag { .. } | Cmd::MoveTo { .. } | Cmd::Expunge { .. } | Cmd::Undo { .. }
    )
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
}

/// How often a triage action is tried again when the cache stayed busy past its timeout.
const TRIAGE_TRIES: u32 = 3;

/// Run a triage command on the store: the cache changes at once and the queue rows are written
/// in the same transaction. Returns the accounts whose engines have work and the answer.
pub fn triage(store: &mut Store, cmd: Cmd) -> crate::store::Result<(Vec<AccountId>, Msg)> {
    Ok(match cmd {
        Cmd::SetFlag {
            msgs,
            flag,
            on,
            undoable,
        } => {
            let (accounts, changed) = store.set_flag(&msgs, flag, on)?;
            let what = match (flag, on) {
                (FlagName::Seen, true) => "marked read",
                (FlagName::Seen, false) => "marked unread",
                (FlagName::Flagged, true) => "flagged",
                (FlagName::Flagged, false) => "unflagged",
                (FlagName::Answered, true) => "marked answered",
                (FlagName::Answered, false) => "marked not answered",
                (FlagName::Forwarded, true) => "marked forwarded",
                (FlagName::Forwarded, false) => "marked not forwarded",
            };
            let what = format!("{what}: {}", count(changed.len()));
            let undo = (undoable && !changed.is_empty()).then(|| {
                (
                    Undo::Flag {
                        msgs: changed,
                        flag,
                        on,
                    },
                    what.clone(),
                )
            });
            let notice = if undoable { what } else { String::new() };
            (accounts, Msg::ActionDone { notice, undo })
        }
        Cmd::MoveTo {
            msgs,
            dest,
            copy,
            what,
        } => {
            let (targets, missing) = match dest {
                Dest::Mailbox(m) => (msgs.iter().map(|id| (*id, m)).collect(), Vec::new()),
                Dest::Role(r) => store.role_targets(&msgs, r)?,
            };
            let moved = store.move_messages(&targets, copy)?;
            let n = moved.from.len() + moved.copies.len();
            let what = format!("{what}: {}", count(n));
            let mut notice = what.clone();
            if let (Dest::Role(r), false) = (dest, missing.is_empty()) {
                notice = format!(
                    "{notice} (no {} folder in {}: those stay)",
                    r.as_str(),
                    missing.join(", ")
                );
            }
            let undo = if copy {
                (!moved.copies.is_empty()).then_some((
                    Undo::Copy {
                        copies: moved.copies,
                    },
                    what,
                ))
            } else {
                (!moved.from.is_empty()).then_some((Undo::Move { from: moved.from }, what))
            };
            (moved.accounts, Msg::ActionDone { notice, undo })
        }
        Cmd::Expunge { msgs } => {
            let accounts = store.expunge_messages(&msgs)?;
            let notice = format!("deleted for good: {}", count(msgs.len()));
            (accounts, Msg::ActionDone { notice, undo: None })
        }
        Cmd::Undo { undo, what } => {
            // What the cache really changed: messages deleted or moved away meanwhile (here or
            // by another client) are not brought back, and the notice says so. What the server
            // cannot follow later is written to the action log by the engine.
            let (accounts, done, asked) = match undo {
                Undo::Flag { msgs, flag, on } => {
                    let present = store.count_present(&msgs)?;
                    (store.set_flag(&msgs, flag, !on)?.0, present, msgs.len())
                }
                Undo::Move { from } => {
                    let moved = store.move_messages(&from, false)?;
                    (moved.accounts, moved.from.len(), from.len())
                }
                Undo::Copy { copies } => {
                    let present = store.count_present(&copies)?;
                    (store.expunge_messages(&copies)?, present, copies.len())
                }
            };
            let notice = if done == 0 {
                format!("nothing to undo: {what} (the messages are gone)")
            } else if done < asked {
                format!("undone for {done} of {asked}: {what} (the others are gone)")
            } else {
                format!("undone: {what}")
            };
            (accounts, Msg::ActionDone { notice, undo: None })
        }
        other => (
            Vec::new(),
            Msg::Failed(format!("not a triage command: {other:?}")),
        ),
    })
}

async fn execute(store: &StoreHandle, cmd: Cmd) -> crate::store::Result<Option<Msg>> {
    // Runs on the store's own thread, so parsing a large message never blocks a tokio worker.
    store.call(move |s| execute_on(s, cmd)).await
}

/// Run one command against a store and return its answer. Synchronous: the async runner calls
/// it on the store's thread, and tests call it directly. None: nothing to report (no engine
/// to tell).
pub fn execute_on(store: &mut Store, cmd: Cmd) -> crate::store::Result<Option<Msg>> {
    Ok(Some(match cmd {
        Cmd::LoadActionLog => {
            let names: HashMap<AccountId, String> = store
                .accounts()?
                .into_iter()
                .map(|a| (a.id, a.name))
                .collect();
            Msg::ActionLogLoaded(
                store
                    .action_log(200)?
                    .into_iter()
                    .map(|(a, at, text)| (names.get(&a).cloned().unwrap_or_default(), at, text))
                    .collect(),
            )
        }
        Cmd::SetFlag { .. } | Cmd::MoveTo { .. } | Cmd::Expunge { .. } | Cmd::Undo { .. } => {
            triage(store, cmd)?.1
        }
        Cmd::MarkReadLater { msg, .. } => Msg::ReadDelayElapsed { msg },
        Cmd::StartCompose { .. }
        | Cmd::SendCompose { .. }
        | Cmd::SaveDraft { .. }
        | Cmd::AutosaveDraft { .. }
        | Cmd::ResumeDraft { .. }
        | Cmd::WriteCompose { .. }
        | Cmd::ReadCompose { .. }
        | Cmd::AttachFile { .. }
        | Cmd::DiscardCompose { .. }
        | Cmd::CompletePath { .. }
        | Cmd::SuggestAddresses { .. } => Msg::Failed("no account can send here".into()),
        Cmd::MarkRange {
            req,
            mailbox,
            offset,
            limit,
        } => Msg::Marked {
            req,
            ids: store
                .envelopes(mailbox, offset, limit)?
                .into_iter()
                .map(|e| e.id)
                .collect(),
        },
        Cmd::MarkThread {
            req,
            mailbox,
            thread,
        } => Msg::Marked {
            req,
            ids: store
                .thread_skeleton(mailbox)?
                .into_iter()
                .filter(|t| t.thread == thread)
                .map(|t| t.id)
                .collect(),
        },
        Cmd::WatchMailbox { .. }
        | Cmd::OpenUrl { .. }
        | Cmd::SaveAttachment { .. }
        | Cmd::OpenAttachment { .. } => return Ok(None),
        Cmd::FetchBody { msg } => Msg::BodyFailed {
            msg,
            error: "no server to download this message from".into(),
        },
        // With no engines: folders without bodies are searched on their headers only.
        Cmd::Search {
            req,
            query,
            scope,
            limit,
        } => Msg::Searched {
            req,
            rows: store.search_in(&query, &scope, limit)?,
            headers_only: if crate::domain::search::needs_body(&query) {
                store
                    .headers_only(&scope)?
                    .into_iter()
                    .map(|b| format!("{}/{} (no server to ask)", b.account_name, b.name))
                    .collect()
            } else {
                Vec::new()
            },
            asking: Vec::new(),
        },
        Cmd::LoadServerHits { req, ids } => Msg::ServerHits {
            req,
            rows: store.envelopes_by_ids(&ids)?,
        },
        Cmd::LoadMailboxes => Msg::MailboxesLoaded {
            accounts: store.accounts()?,
            mailboxes: store.mailboxes(None)?,
        },
        Cmd::LoadEnvelopes {
            req,
            mailbox,
            offset,
            limit,
            anchor,
        } => {
            let total = store.message_count(mailbox)?;
            Msg::EnvelopesLoaded {
                req,
                mailbox,
                offset,
                total,
                rows: store.envelopes_window(mailbox, offset, limit, anchor, total)?,
            }
        }
        Cmd::LoadThreads { req, mailbox } => Msg::ThreadsLoaded {
            req,
            mailbox,
            rows: crate::domain::thread::order(&store.thread_skeleton(mailbox)?),
        },
        Cmd::LoadEnvelopesByIds {
            req,
            mailbox,
            offset,
            total,
            ids,
        } => Msg::EnvelopesLoaded {
            req,
            mailbox,
            offset,
            total,
            rows: store.envelopes_by_ids(&ids)?,
        },
        Cmd::LoadMessage { req, msg, width } => Msg::MessageLoaded {
            req,
            msg,
            partial: store.body_is_partial(msg)?,
            view: store.message_for_reader(msg)?.map(|m| {
                Box::new(match m {
                    ReaderMessage::Whole(raw) => {
                        message::parse_for_reader(&raw, usize::from(width))
                    }
                    ReaderMessage::Skeleton(sk) => {
                        message::parse_skeleton_for_reader(&sk, usize::from(width))
                    }
                })
            }),
        },
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_complete_to_what_the_names_share() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("report-2026.pdf"), b"x").unwrap();
        std::fs::write(dir.path().join("report-2025.pdf"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
        let d = dir.path().display().to_string();
        assert_eq!(
            complete_path(&format!("{d}/rep")),
            format!("{d}/report-202")
        );
        assert_eq!(complete_path(&format!("{d}/ph")), format!("{d}/photos/"));
        assert_eq!(complete_path(&format!("{d}/zz")), format!("{d}/zz"));
        assert_eq!(complete_path(&format!("{d}/.h")), format!("{d}/.hidden"));
    }

    use super::{complete_path, opener};

    #[test]
    fn links_open_with_the_browser_or_the_system_opener_and_no_shell() {
        let (p, args) = opener("https://example.com/a?b=c;d", None).unwrap();
        assert_eq!(
            p,
            if cfg!(target_os = "macos") {
                "open"
            } else {
                "xdg-open"
            }
        );
        assert_eq!(args, ["https://example.com/a?b=c;d"]);
        let (p, args) = opener("http://x.example", Some("firefox --new-tab")).unwrap();
        assert_eq!(p, "firefox");
        assert_eq!(args, ["--new-tab", "http://x.example"]);
        assert!(opener("mailto:a@b.example", None).is_ok());
        // A hostile message cannot have tern open local files or run other schemes.
        assert!(opener("file:///etc/passwd", None).is_err());
        assert!(opener("javascript:alert(1)", None).is_err());
    }
}

#[cfg(test)]
mod save_tests {
    use super::save_attachment;

    const WITH_PDF: &[u8] = b"From: a@b.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
--b\r\nContent-Type: application/pdf; name=\"../../report.pdf\"\r\n\
Content-Disposition: attachment; filename=\"../../report.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOf\r\n--b--\r\n";

    #[test]
    fn an_attachment_is_saved_decoded_under_a_safe_name_and_never_over_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("downloads");
        let first = save_attachment(WITH_PDF, 0, &target, false).unwrap();
        assert_eq!(
            first,
            target.join("report.pdf"),
            "the path in the name is dropped"
        );
        assert!(std::fs::read(&first).unwrap().starts_with(b"%PDF-1.4"));
        let second = save_attachment(WITH_PDF, 0, &target, false).unwrap();
        assert_eq!(second, target.join("report (1).pdf"));
        assert!(save_attachment(WITH_PDF, 5, &target, false).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let private = dir.path().join("open");
            save_attachment(WITH_PDF, 0, &private, true).unwrap();
            let mode = std::fs::metadata(&private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
}

/// A private file for the text being written (in the scratch dir, only the user may read it).
fn compose_file(dirs: &Dirs) -> Result<PathBuf, String> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(&dirs.scratch)
        .map_err(|e| format!("{}: {e}", dirs.scratch.display()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok(dirs.scratch.join(format!("message-{nanos}.txt")))
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Run a compose command (files and the store; never the network: the outbox worker sends).
async fn compose_effect(
    store: &StoreHandle,
    senders: &[Sender],
    dirs: &Dirs,
    engines: &HashMap<AccountId, EngineHandle>,
    cmd: Cmd,
) -> Msg {
    use crate::domain::compose;
    match cmd {
        Cmd::StartCompose { kind, msg, mailbox } => {
            let located = match msg {
                Some(m) => store
                    .call(move |s| Ok(s.message_location(m)?.map(|l| l.0)))
                    .await
                    .ok()
                    .flatten(),
                None => match mailbox {
                    Some(mb) => store
                        .call(move |s| {
                            Ok(s.mailboxes(None)?
                                .into_iter()
                                .find(|m| m.id == mb)
                                .map(|m| m.account))
                        })
                        .await
                        .ok()
                        .flatten(),
                    None => None,
                },
            };
            let sender = match located {
                Some(a) => senders.iter().find(|s| s.account == a),
                None => senders.first(),
            };
            let Some(sender) = sender else {
                return Msg::Failed(
                    "this account cannot send: give it an [account.smtp] section".into(),
                );
            };
            let raw = match msg {
                Some(m) if kind != compose::Kind::New => {
                    match store.call(move |s| s.raw_message(m)).await {
                        Ok(Some(raw)) => Some(raw),
                        _ => {
                            return Msg::Failed(
                                "the message is not downloaded yet: open it, then try again".into(),
                            );
                        }
                    }
                }
                _ => None,
            };
            // The address book is made ready while the user writes.
            let st = store.clone();
            tokio::spawn(async move { refresh_contacts(&st).await });
            let offset = chrono::Local::now().offset().local_minus_utc();
            let draft =
                compose::template(kind, raw.as_deref(), &sender.me, &sender.signatures, offset);
            let file = match compose_file(dirs) {
                Ok(f) => f,
                Err(e) => return Msg::Failed(e),
            };
            if let Err(e) = write_private(&file, &compose::editable(&draft)) {
                return Msg::Failed(e);
            }
            Msg::ComposeStarted(Box::new(super::state::Compose {
                account: sender.account,
                kind,
                original: msg.filter(|_| kind != compose::Kind::New),
                draft_msg: None,
                draft,
                file,
                attach_input: None,
                addr: None,
                builtin: None,
                selected: 0,
                note: None,
                warned_attachment: false,
                confirm_discard: false,
            }))
        }
        Cmd::WriteCompose { path, draft } => match write_private(&path, &compose::editable(&draft))
        {
            Ok(()) => Msg::ComposeFileWritten,
            Err(e) => Msg::Failed(e),
        },
        Cmd::ReadCompose { path, base } => {
            let text = match tokio::fs::read_to_string(&path).await {
                Ok(t) => t,
                Err(e) => return Msg::ComposeEdited(Err(format!("{}: {e}", path.display()))),
            };
            Msg::ComposeEdited(compose::parse_editable(&text, &base).map(Box::new))
        }
        Cmd::AttachFile { path } => {
            let path = expand_home(&path);
            let read = tokio::fs::read(&path).await;
            Msg::Attached(match read {
                Ok(data) => Ok(compose::Attachment {
                    name: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "attachment".into()),
                    content_type: String::new(),
                    data,
                }),
                Err(e) => Err(format!("{}: {e}", path.display())),
            })
        }
        Cmd::SendCompose {
            account,
            draft,
            original,
            kind,
            file,
            draft_msg,
        } => {
            let unique = crate::send::unique_token();
            let now = chrono::Utc::now().timestamp();
            let built = compose::build(&draft, now, &unique);
            let subject = draft.subject.clone();
            let answered = matches!(kind, compose::Kind::Reply | compose::Kind::ReplyAll)
                || draft.in_reply_to.is_some();
            let forwarded = matches!(
                kind,
                compose::Kind::Forward | compose::Kind::ForwardAttached
            );
            let parent = draft.in_reply_to.clone();
            let queued = store
                .call(move |s| {
                    let id = s.enqueue(account, &built.mail_from, &built.rcpt, &built.raw)?;
                    s.note_sent_to(&[draft.to.as_slice(), &draft.cc, &draft.bcc].concat())?;
                    let mut flagged = Vec::new();
                    // A reply written from a saved draft finds what it answers by Message-ID.
                    let original = match (original, &parent) {
                        (Some(o), _) => Some(o),
                        (None, Some(p)) => s.find_message_id(account, p)?,
                        _ => None,
                    };
                    if let Some(o) = original {
                        if forwarded {
                            flagged = s.set_flag(&[o], FlagName::Forwarded, true)?.0;
                        } else if answered {
                            flagged = s.set_flag(&[o], FlagName::Answered, true)?.0;
                        }
                    }
                    if let Some(d) = draft_msg {
                        flagged.extend(s.expunge_messages(&[d])?);
                    }
                    Ok((id, flagged))
                })
                .await;
            match queued {
                Ok((id, flagged)) => {
                    if let Some(k) = senders
                        .iter()
                        .find(|s| s.account == account)
                        .and_then(|s| s.kick.as_ref())
                    {
                        k.now();
                    }
                    for a in flagged {
                        if let Some(e) = engines.get(&a) {
                            e.send(Command::Replay);
                        }
                    }
                    let _ = tokio::fs::remove_file(&file).await;
                    Msg::ComposeQueued {
                        notice: format!(
                            "sending #{id}: {}",
                            crate::domain::sanitize::line(&subject)
                        ),
                    }
                }
                Err(e) => Msg::Failed(format!("the outbox: {e}")),
            }
        }
        Cmd::SaveDraft {
            account,
            draft,
            replaces,
            file,
        } => match save_draft(store, engines, account, &draft, replaces).await {
            Ok(_) => {
                let _ = tokio::fs::remove_file(&file).await;
                Msg::ComposeQueued {
                    notice: "saved in Drafts".into(),
                }
            }
            Err(e) => Msg::Failed(format!("cannot save the draft: {e}")),
        },
        Cmd::AutosaveDraft {
            account,
            draft,
            replaces,
        } => match save_draft(store, engines, account, &draft, replaces).await {
            Ok(msg) => Msg::Autosaved { msg },
            Err(e) => Msg::Failed(format!("cannot autosave the draft: {e}")),
        },
        Cmd::ResumeDraft { msg } => {
            let found = store
                .call(move |s| Ok((s.raw_message(msg)?, s.message_location(msg)?.map(|l| l.0))))
                .await;
            let Ok((Some(raw), Some(account))) = found else {
                return Msg::Failed("the draft is not downloaded yet: open it first".into());
            };
            let Some(sender) = senders.iter().find(|s| s.account == account) else {
                return Msg::Failed(
                    "this account cannot send: give it an [account.smtp] section".into(),
                );
            };
            let mut draft = compose::draft_from_raw(&raw);
            if draft.from.email.is_empty() {
                draft.from = sender.me.first().cloned().unwrap_or_default();
            }
            let file = match compose_file(dirs) {
                Ok(f) => f,
                Err(e) => return Msg::Failed(e),
            };
            if let Err(e) = write_private(&file, &compose::editable(&draft)) {
                return Msg::Failed(e);
            }
            Msg::ComposeStarted(Box::new(super::state::Compose {
                account,
                kind: compose::Kind::New,
                original: None,
                draft_msg: Some(msg),
                draft,
                file,
                attach_input: None,
                addr: None,
                builtin: None,
                selected: 0,
                note: None,
                warned_attachment: false,
                confirm_discard: false,
            }))
        }
        Cmd::DiscardCompose { file } => {
            let _ = tokio::fs::remove_file(&file).await;
            Msg::Notice("discarded".into())
        }
        Cmd::SuggestAddresses { req, prefix } => {
            refresh_contacts(store).await;
            let list = store
                .call(move |s| s.suggest_addresses(&prefix, 8))
                .await
                .unwrap_or_default();
            Msg::Suggestions { req, list }
        }
        Cmd::CompletePath { input } => {
            let completed = tokio::task::spawn_blocking({
                let input = input.clone();
                move || complete_path(&input)
            })
            .await
            .unwrap_or_else(|_| input.clone());
            Msg::PathCompleted { input, completed }
        }
        other => Msg::Failed(format!("not a compose command: {other:?}")),
    }
}

/// Rebuild the address book when it is ten minutes old or more, on a connection of its own:
/// a 100,000-message cache takes a few hundred ms, which the UI's reads must not wait for.
async fn refresh_contacts(store: &StoreHandle) {
    let state = store
        .call(|s| Ok((s.path().to_path_buf(), s.contacts_refreshed_at()?)))
        .await;
    let Ok((path, at)) = state else { return };
    if at.is_some_and(|t| chrono::Utc::now().timestamp() - t <= 600) {
        return;
    }
    let _ = tokio::task::spawn_blocking(move || {
        Store::open(&path).and_then(|mut s| s.refresh_contacts())
    })
    .await;
}

/// Save a draft in the account's Drafts folder (replacing `replaces`) and tell its engine.
async fn save_draft(
    store: &StoreHandle,
    engines: &HashMap<AccountId, EngineHandle>,
    account: AccountId,
    draft: &crate::domain::compose::Draft,
    replaces: Option<crate::domain::MsgId>,
) -> Result<crate::domain::MsgId, String> {
    let raw = crate::domain::compose::build_draft(
        draft,
        chrono::Utc::now().timestamp(),
        &crate::send::unique_token(),
    );
    let saved = store
        .call(move |s| {
            let meta = crate::domain::message::parse(&raw).meta;
            s.save_draft(account, &raw, &meta, replaces)
        })
        .await
        .map_err(|e| e.to_string())?;
    let msg = saved.ok_or_else(|| {
        "this account has no Drafts folder (set [account.folders] drafts = \"...\")".to_string()
    })?;
    if let Some(e) = engines.get(&account) {
        e.send(Command::Replay);
    }
    Ok(msg)
}

/// `~/x` is the home dir's x.
fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => p.to_path_buf(),
    }
}

/// Complete a path being typed: to the longest prefix the matching names share (a directory
/// gets its slash). Reads the directory: a small, bounded look at the user's own files.
pub fn complete_path(input: &str) -> String {
    let expanded = match (input.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(input),
    };
    let (dir, prefix) = if input.ends_with('/') {
        (expanded.clone(), String::new())
    } else {
        (
            expanded
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
            expanded
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    };
    let dir_for_read = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir.clone()
    };
    let Ok(entries) = std::fs::read_dir(&dir_for_read) else {
        return input.to_string();
    };
    let names: Vec<(String, bool)> = entries
        .flatten()
        .take(10_000)
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            (n.starts_with(&prefix) && (!n.starts_with('.') || prefix.starts_with('.')))
                .then(|| (n, e.path().is_dir()))
        })
        .collect();
    let Some((first, _)) = names.first() else {
        return input.to_string();
    };
    let mut common = first.clone();
    for (n, _) in &names[1..] {
        while !n.starts_with(&common) {
            common.pop();
        }
    }
    if common.len() <= prefix.len() && names.len() > 1 {
        return input.to_string();
    }
    let slash = if names.len() == 1 && names[0].1 {
        "/"
    } else {
        ""
    };
    let head = &input[..input.len() - prefix.len()];
    format!("{head}{common}{slash}")
}

#[cfg(test)]
mod undo_tests {
    use super::triage;
    use crate::app::msg::{Cmd, Dest, Msg};
    use crate::domain::{Flags, Role, Uid};
    use crate::store::{AccountKind, NewMessage, Store};

    fn notice(m: &Msg) -> String {
        match m {
            Msg::ActionDone { notice, .. } => notice.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn undo_says_undone_only_for_what_it_brought_back() {
        let mut s = Store::open_in_memory().unwrap();
        let a = s
            .upsert_account("demo", "me@x.example", AccountKind::Local)
            .unwrap();
        let inbox = s
            .upsert_mailbox(a, "INBOX", Some('/'), Some(Role::Inbox))
            .unwrap();
        s.upsert_mailbox(a, "Archive", Some('/'), Some(Role::Archive))
            .unwrap();
        let raws: Vec<Vec<u8>> = (1..=3)
            .map(|i| format!("Subject: m{i}\r\n\r\nbody\r\n").into_bytes())
            .collect();
        let batch: Vec<NewMessage<'_>> = raws
            .iter()
            .enumerate()
            .map(|(i, raw)| NewMessage {
                uid: Uid(i as u32 + 1),
                meta: crate::domain::message::parse(raw).meta,
                flags: Flags::default(),
                internal_date: None,
                raw: Some(raw),
            })
            .collect();
        let ids = s.insert_messages(inbox, &batch).unwrap();
        let archive = |s: &mut Store| {
            let cmd = Cmd::MoveTo {
                msgs: ids.clone(),
                dest: Dest::Role(Role::Archive),
                copy: false,
                what: "archived".into(),
            };
            match triage(s, cmd).unwrap().1 {
                Msg::ActionDone { undo: Some(u), .. } => u,
                other => panic!("{other:?}"),
            }
        };
        let (undo, what) = archive(&mut s);
        let done = triage(&mut s, Cmd::Undo { undo, what }).unwrap().1;
        assert_eq!(notice(&done), "undone: archived: 3 messages");
        // Archived again; one of them deleted for good meanwhile: two come back.
        let (undo, what) = archive(&mut s);
        s.expunge_messages(&ids[..1]).unwrap();
        let done = triage(&mut s, Cmd::Undo { undo, what }).unwrap().1;
        assert_eq!(
            notice(&done),
            "undone for 2 of 3: archived: 3 messages (the others are gone)"
        );
        // Archived again, all gone: nothing is said to be undone.
        let (undo, what) = {
            let cmd = Cmd::MoveTo {
                msgs: ids[1..].to_vec(),
                dest: Dest::Role(Role::Archive),
                copy: false,
                what: "archived".into(),
            };
            match triage(&mut s, cmd).unwrap().1 {
                Msg::ActionDone { undo: Some(u), .. } => u,
                other => panic!("{other:?}"),
            }
        };
        s.expunge_messages(&ids[1..]).unwrap();
        let done = triage(&mut s, Cmd::Undo { undo, what }).unwrap().1;
        assert_eq!(
            notice(&done),
            "nothing to undo: archived: 2 messages (the messages are gone)"
        );
    }
}
