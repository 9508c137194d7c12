//! Writing mail: the files it is written in, the outbox, Drafts and the address book. Never
//! the network: the outbox worker sends.

use std::path::PathBuf;

use super::super::msg::{Msg, Queued};
use super::super::state::Compose;
use super::Effects;
use super::files::{compose_file, expand_home, write_private};
use crate::domain::compose::{self, Draft, Kind};
use crate::domain::triage::FlagName;
use crate::domain::{AccountId, MailboxId, MsgId, RequestId};
use crate::store::{Store, StoreHandle};

const CANNOT_SEND: &str = "this account cannot send: give it an [account.smtp] section";

/// Start writing: a new message (`msg` None) or an answer to / forward of `msg`, from the
/// account of `msg`, else of `mailbox`, else the first that can send.
pub async fn start(fx: Effects, kind: Kind, msg: Option<MsgId>, mailbox: Option<MailboxId>) -> Msg {
    let store = &fx.store;
    let located = match (msg, mailbox) {
        (Some(m), _) => store
            .call(move |s| Ok(s.message_location(m)?.map(|l| l.0)))
            .await
            .ok()
            .flatten(),
        (None, Some(mb)) => store
            .call(move |s| {
                Ok(s.mailboxes(None)?
                    .into_iter()
                    .find(|m| m.id == mb)
                    .map(|m| m.account))
            })
            .await
            .ok()
            .flatten(),
        (None, None) => None,
    };
    let sender = match located {
        Some(a) => fx.senders.iter().find(|s| s.account == a),
        None => fx.senders.first(),
    };
    let Some(sender) = sender else {
        return Msg::Failed(CANNOT_SEND.into());
    };
    let raw = match msg {
        Some(m) if kind != Kind::New => match store.call(move |s| s.raw_message(m)).await {
            Ok(Some(raw)) => Some(raw),
            _ => {
                return Msg::Failed(
                    "the message is not downloaded yet: open it, then try again".into(),
                );
            }
        },
        _ => None,
    };
    // The address book is made ready while the user writes.
    let st = store.clone();
    tokio::spawn(async move { refresh_contacts(&st).await });
    let offset = chrono::Local::now().offset().local_minus_utc();
    let draft = compose::template(kind, raw.as_deref(), &sender.me, &sender.signatures, offset);
    let original = msg.filter(|_| kind != Kind::New);
    opened(&fx, sender.account, kind, original, None, draft)
}

/// Go on writing a saved draft.
pub async fn resume(fx: Effects, msg: MsgId) -> Msg {
    let found = fx
        .store
        .call(move |s| Ok((s.raw_message(msg)?, s.message_location(msg)?.map(|l| l.0))))
        .await;
    let Ok((Some(raw), Some(account))) = found else {
        return Msg::Failed("the draft is not downloaded yet: open it first".into());
    };
    let Some(sender) = fx.senders.iter().find(|s| s.account == account) else {
        return Msg::Failed(CANNOT_SEND.into());
    };
    let mut draft = compose::draft_from_raw(&raw);
    if draft.from.email.is_empty() {
        draft.from = sender.me.first().cloned().unwrap_or_default();
    }
    opened(&fx, account, Kind::New, None, Some(msg), draft)
}

/// The text to write is in its private file: the review state.
fn opened(
    fx: &Effects,
    account: AccountId,
    kind: Kind,
    original: Option<MsgId>,
    draft_msg: Option<MsgId>,
    draft: Draft,
) -> Msg {
    let file = match compose_file(&fx.dirs) {
        Ok(f) => f,
        Err(e) => return Msg::Failed(e),
    };
    if let Err(e) = write_private(&file, &compose::editable(&draft)) {
        return Msg::Failed(e);
    }
    Msg::ComposeStarted(Box::new(Compose {
        account,
        kind,
        original,
        draft_msg,
        draft,
        file,
        attach_input: None,
        addr: None,
        builtin: None,
        selected: 0,
        note: None,
        warned_attachment: false,
        confirm_discard: false,
        edit: Default::default(),
    }))
}

/// Write the text to edit to its file again (to edit once more).
pub fn write(path: PathBuf, text: String) -> Msg {
    match write_private(&path, &text) {
        Ok(()) => Msg::ComposeFileWritten,
        Err(e) => Msg::Failed(e),
    }
}

/// Read the edited text back onto `base` (the built-in editor's `text` is written to the
/// file first), and save it in Drafts before anything else: the whole text as the body when
/// it cannot be read, so what the user wrote is kept whatever happens next.
pub async fn read(
    fx: Effects,
    path: PathBuf,
    base: Box<Draft>,
    text: Option<String>,
    account: AccountId,
    replaces: Option<MsgId>,
) -> Msg {
    let text = match text {
        Some(t) => {
            // The file is the copy in the data dir; Drafts is the second.
            let _ = write_private(&path, &t);
            t
        }
        None => match tokio::fs::read_to_string(&path).await {
            Ok(t) => t,
            Err(e) => return Msg::ComposeEdited(Err(format!("{}: {e}", path.display()))),
        },
    };
    let parsed = compose::read_back(&text, &base);
    let keep = match &parsed {
        Ok(d) => d.clone(),
        Err(r) => Draft {
            body: r.text.clone(),
            ..(*base).clone()
        },
    };
    let saved = save_draft(&fx, account, &keep, replaces).await.map(Some);
    Msg::ComposeReadBack(Box::new(super::super::msg::ReadBack { parsed, saved }))
}

/// Read a file to attach.
pub async fn attach(path: PathBuf) -> Msg {
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

/// A message to send, as the review screen hands it over.
pub struct Send {
    pub account: AccountId,
    pub draft: Box<Draft>,
    pub original: Option<MsgId>,
    pub kind: Kind,
    pub file: PathBuf,
    pub draft_msg: Option<MsgId>,
    /// It waits this long in the outbox (undo send).
    pub delay_secs: u64,
}

/// Build the message, put it in the outbox (to go after the delay), wake the account's outbox
/// worker; the draft it was written from goes. The original of a reply gets \Answered (of a
/// forward $Forwarded) once it is sent (the outbox worker does it), not before.
pub async fn send(fx: Effects, m: Send) -> Msg {
    let Send {
        account,
        draft,
        original,
        kind,
        file,
        draft_msg,
        delay_secs,
    } = m;
    let unique = crate::send::unique_token();
    let now = chrono::Utc::now().timestamp();
    let built = compose::build(&draft, now, &unique);
    let subject = draft.subject.clone();
    let kick = fx
        .senders
        .iter()
        .find(|s| s.account == account)
        .and_then(|s| s.kick.clone());
    // No outbox worker (the demo): the message stays in the outbox, a copy goes to Sent.
    let local = kick.is_none();
    let until = (delay_secs > 0 && !local).then(|| now + delay_secs as i64);
    let queued = fx
        .store
        .call(move |s| {
            let done = enqueue(s, account, &draft, &built, original, kind, draft_msg, until)?;
            if local {
                let meta = crate::domain::message::parse(&built.raw).meta;
                s.queue_sent_copy(account, &built.raw, &meta)?;
            }
            Ok(done)
        })
        .await;
    match queued {
        Ok((id, flagged)) => {
            if let Some(k) = kick {
                k.now();
            }
            fx.engines.replay(&flagged);
            let _ = tokio::fs::remove_file(&file).await;
            Msg::ComposeQueued(match (local, until) {
                (true, _) => Queued::NotSent { id, subject },
                (false, Some(until)) => Queued::Waiting { id, subject, until },
                (false, None) => Queued::Sending { id, subject },
            })
        }
        Err(e) => Msg::Failed(format!("the outbox: {e}")),
    }
}

/// The store's part of sending: the outbox row (to go at `until`, with the flag its original
/// gets once it is sent), the address book, the draft removed. Returns the outbox row and the
/// accounts whose engines have work.
#[allow(clippy::too_many_arguments)]
fn enqueue(
    s: &mut Store,
    account: AccountId,
    draft: &Draft,
    built: &compose::Built,
    original: Option<MsgId>,
    kind: Kind,
    draft_msg: Option<MsgId>,
    until: Option<i64>,
) -> crate::store::Result<(i64, Vec<AccountId>)> {
    let answered = matches!(kind, Kind::Reply | Kind::ReplyAll) || draft.in_reply_to.is_some();
    let forwarded = matches!(kind, Kind::Forward | Kind::ForwardAttached);
    let id = s.enqueue_at(account, &built.mail_from, &built.rcpt, &built.raw, until)?;
    s.note_sent_to(&[draft.to.as_slice(), &draft.cc, &draft.bcc].concat())?;
    let mut flagged = Vec::new();
    // A reply written from a saved draft finds what it answers by Message-ID.
    let original = match (original, &draft.in_reply_to) {
        (Some(o), _) => Some(o),
        (None, Some(p)) => s.find_message_id(account, p)?,
        _ => None,
    };
    if let Some(o) = original {
        if forwarded {
            s.outbox_then_flag(id, o, FlagName::Forwarded)?;
        } else if answered {
            s.outbox_then_flag(id, o, FlagName::Answered)?;
        }
    }
    if let Some(d) = draft_msg {
        flagged.extend(s.expunge_messages(&[d])?);
    }
    Ok((id, flagged))
}

/// Save the message in the Drafts folder (replacing `replaces`), and close it.
pub async fn save(
    fx: Effects,
    account: AccountId,
    draft: Box<Draft>,
    replaces: Option<MsgId>,
    file: PathBuf,
) -> Msg {
    match save_draft(&fx, account, &draft, replaces).await {
        Ok(_) => {
            let _ = tokio::fs::remove_file(&file).await;
            Msg::ComposeQueued(Queued::Drafted)
        }
        Err(e) => Msg::Failed(format!("cannot save the draft: {e}")),
    }
}

/// Save what is being written in Drafts (replacing `replaces`) and keep writing.
pub async fn autosave(
    fx: Effects,
    account: AccountId,
    draft: Box<Draft>,
    replaces: Option<MsgId>,
) -> Msg {
    match save_draft(&fx, account, &draft, replaces).await {
        Ok(msg) => Msg::Autosaved { msg },
        Err(e) => Msg::Failed(format!("cannot autosave the draft: {e}")),
    }
}

/// Save a draft in the account's Drafts folder (replacing `replaces`) and tell its engine.
async fn save_draft(
    fx: &Effects,
    account: AccountId,
    draft: &Draft,
    replaces: Option<MsgId>,
) -> Result<MsgId, String> {
    let raw = compose::build_draft(
        draft,
        chrono::Utc::now().timestamp(),
        &crate::send::unique_token(),
    );
    let saved = fx
        .store
        .call(move |s| {
            let meta = crate::domain::message::parse(&raw).meta;
            s.save_draft(account, &raw, &meta, replaces)
        })
        .await
        .map_err(|e| e.to_string())?;
    let msg = saved.ok_or_else(|| {
        "this account has no Drafts folder (set [account.folders] drafts = \"...\")".to_string()
    })?;
    fx.engines.replay(&[account]);
    Ok(msg)
}

/// A message given up: the draft saved of it while it was written goes (here and, through
/// the queue, on the server).
pub async fn drop_draft(fx: Effects, msg: MsgId) -> Option<Msg> {
    match fx.store.call(move |s| s.expunge_messages(&[msg])).await {
        Ok(accounts) => {
            fx.engines.replay(&accounts);
            None
        }
        Err(e) => Some(Msg::Failed(format!("cannot remove the draft: {e}"))),
    }
}

/// The message is given up: its file goes.
pub async fn discard(file: PathBuf) -> Msg {
    let _ = tokio::fs::remove_file(&file).await;
    Msg::ComposeDiscarded
}

/// Addresses from the address book that start like `prefix`, best first.
pub async fn suggest(store: StoreHandle, req: RequestId, prefix: String) -> Msg {
    refresh_contacts(&store).await;
    let list = store
        .call(move |s| s.suggest_addresses(&prefix, 8))
        .await
        .unwrap_or_default();
    Msg::Suggestions { req, list }
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
