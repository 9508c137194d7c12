//! The store-side commands: answered from the cache alone, on the store's thread. The runner
//! and the tests (UI snapshots, benches) run them through the same [`execute_on`].

use std::collections::{HashMap, HashSet};

use super::super::msg::{Cmd, Dest, Done, Msg, Undo};
use super::Effects;
use crate::domain::{AccountId, message, verdict};
use crate::store::{ReaderMessage, Store, StoreHandle};

/// How often a triage action is tried again when the cache stayed busy past its timeout.
const TRIAGE_TRIES: u32 = 3;

/// Run a store-side command on the store's thread (parsing a large message never blocks a
/// tokio worker).
pub async fn load(store: StoreHandle, cmd: Cmd) -> Option<Msg> {
    match store.call(move |s| execute_on(s, cmd)).await {
        Ok(msg) => msg,
        Err(e) => Some(Msg::Failed(e.to_string())),
    }
}

/// Run a triage command in the cache, then wake the engines that have work queued.
pub async fn act(fx: Effects, cmd: Cmd) -> Msg {
    // The cache waits for other writers (store::BUSY_TIMEOUT); if one held it even longer,
    // the action is tried again rather than lost.
    let mut tries = 0;
    let answer = loop {
        let attempt = cmd.clone();
        match fx.store.call(move |s| triage(s, attempt)).await {
            Err(e) if e.is_busy() && tries < TRIAGE_TRIES => {
                tries += 1;
                tracing::warn!(error = %e, tries, "cache busy, trying the action again");
            }
            other => break other,
        }
    };
    match answer {
        Ok((accounts, msg)) => {
            fx.engines.replay(&accounts);
            msg
        }
        Err(e) => {
            tracing::warn!(error = %e, "an action failed in the cache");
            Msg::Failed(format!("the action failed: {e}"))
        }
    }
}

/// Run a triage command on the store: the cache changes at once and the queue rows are written
/// in the same transaction. Returns the accounts whose engines have work and what was done
/// (as data: `update` words it and keeps the undo record).
pub fn triage(store: &mut Store, cmd: Cmd) -> crate::store::Result<(Vec<AccountId>, Msg)> {
    let (accounts, done) = match cmd {
        Cmd::SetFlag {
            msgs,
            flag,
            on,
            undoable,
        } => {
            let (accounts, changed) = store.set_flag(&msgs, flag, on)?;
            let done = Done::Flag {
                flag,
                on,
                changed,
                undoable,
            };
            (accounts, done)
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
            let done = Done::Moved {
                what,
                dest,
                copy,
                from: moved.from,
                copies: moved.copies,
                missing,
            };
            (moved.accounts, done)
        }
        Cmd::Expunge { msgs } => {
            let accounts = store.expunge_messages(&msgs)?;
            (accounts, Done::Expunged { count: msgs.len() })
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
            (accounts, Done::Undone { what, done, asked })
        }
        other => {
            return Ok((
                Vec::new(),
                Msg::Failed(format!("not a triage command: {other:?}")),
            ));
        }
    };
    Ok((accounts, Msg::ActionDone(done)))
}

/// A cached message as the reader shows it: parsed at `width`, with its warnings about who
/// sent it, judged against the domains the user writes to.
fn reader_view(
    store: &Store,
    m: ReaderMessage,
    width: usize,
) -> crate::store::Result<message::MessageView> {
    let mut view = match m {
        ReaderMessage::Whole(raw) => message::parse_for_reader(&raw, width),
        ReaderMessage::Skeleton(sk) => message::parse_skeleton_for_reader(&sk, width),
    };
    let known = store.known_domains(verdict::MAX_KNOWN)?;
    view.warnings = verdict::assess(&view, &known);
    Ok(view)
}

/// Run one store-side command against a store and return its answer. Synchronous: the runner
/// calls it on the store's thread, and tests call it directly. None: not a store-side command
/// (it is not run here: it needs an engine, a file, a timer or a program).
// Long: one arm per command, each a read of the cache.
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
        // The cache's part of a search; with no engines, no server is asked.
        Cmd::Search {
            req,
            query,
            scope,
            limit,
        } => super::search::local(store, req, &query, &scope, limit, &HashSet::new())?.0,
        Cmd::LoadServerHits { req, ids } => Msg::ServerHits {
            req,
            rows: store.envelopes_by_ids(&ids)?,
        },
        // Read on the UI's own connection: it moves when another one commits.
        Cmd::PollCache => Msg::CacheVersion(store.data_version()?),
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
            view: match store.message_for_reader(msg)? {
                Some(m) => Some(Box::new(reader_view(store, m, usize::from(width))?)),
                None => None,
            },
        },
        Cmd::FetchBody { .. }
        | Cmd::WatchMailbox { .. }
        | Cmd::MarkReadLater { .. }
        | Cmd::OpenUrl { .. }
        | Cmd::SaveAttachment { .. }
        | Cmd::OpenAttachment { .. }
        | Cmd::StartCompose { .. }
        | Cmd::SendCompose { .. }
        | Cmd::SendCountdown
        | Cmd::WithdrawSend { .. }
        | Cmd::SaveDraft { .. }
        | Cmd::AutosaveDraft { .. }
        | Cmd::ResumeDraft { .. }
        | Cmd::WriteCompose { .. }
        | Cmd::DropDraft { .. }
        | Cmd::ReadCompose { .. }
        | Cmd::AttachFile { .. }
        | Cmd::DiscardCompose { .. }
        | Cmd::CompletePath { .. }
        | Cmd::SuggestAddresses { .. }
        | Cmd::Announce { .. }
        | Cmd::Line(_)
        | Cmd::Setup(_)
        | Cmd::SyncNow
        | Cmd::Ring(_) => return Ok(None),
    }))
}

#[cfg(test)]
mod undo_tests {
    use super::triage;
    use crate::app::msg::{Cmd, Dest, Msg, Undo};
    use crate::app::update::worded;
    use crate::domain::{Flags, Role, Uid};
    use crate::store::{AccountKind, NewMessage, Store};

    /// What the status line says about an action, and its undo record.
    fn answer(s: &mut Store, cmd: Cmd) -> (String, Option<(Undo, String)>) {
        match triage(s, cmd).unwrap().1 {
            Msg::ActionDone(done) => worded(done),
            other => panic!("{other:?}"),
        }
    }

    fn notice(s: &mut Store, cmd: Cmd) -> String {
        answer(s, cmd).0
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
            answer(s, cmd).1.expect("an undo")
        };
        let (undo, what) = archive(&mut s);
        let done = notice(&mut s, Cmd::Undo { undo, what });
        assert_eq!(done, "undone: archived: 3 messages");
        // Archived again; one of them deleted for good meanwhile: two come back.
        let (undo, what) = archive(&mut s);
        s.expunge_messages(&ids[..1]).unwrap();
        let done = notice(&mut s, Cmd::Undo { undo, what });
        assert_eq!(
            done,
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
            answer(&mut s, cmd).1.expect("an undo")
        };
        s.expunge_messages(&ids[1..]).unwrap();
        let done = notice(&mut s, Cmd::Undo { undo, what });
        assert_eq!(
            done,
            "nothing to undo: archived: 2 messages (the messages are gone)"
        );
    }
}
