//! The outbox engine: the only code that speaks SMTP. A message is in the outbox table before
//! anything is sent; each attempt's outcome is written back (sent, queued for a retry with a
//! growing delay, failed with the server's reply, or uncertain when the connection was lost
//! after the message went out). After sending, the Sent copy goes through the IMAP queue.

pub mod smtp;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::{AccountConfig, Secret};
use crate::domain::AccountId;
use crate::store::{AccountKind, OutState, StoreHandle};
pub use smtp::{Attempt, Refusal};

/// What became of one outbox message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: i64,
    pub state: OutState,
    /// The server's last word (or why nothing was tried).
    pub reply: String,
    /// Recipients the server turned down (the others got it).
    pub refused: Vec<Refusal>,
    /// Queued: when the next try is due (seconds since the epoch).
    pub retry_at: Option<i64>,
    /// The Sent copy waits in the account's IMAP queue.
    pub sent_copy: bool,
    /// Refused for good: the message went back to the Drafts folder to be edited.
    pub to_drafts: bool,
    /// Sent: the original it answers (or forwards) got its flag, queued for the server.
    pub original_flagged: bool,
}

/// A unique token for a Message-ID: time and randomness (std's per-process random hash keys),
/// hand-made so as not to pull a random-number crate for twenty characters.
/// Whether `email` is an address an SMTP server can take (`local@domain`, RFC 5321 syntax, as
/// lettre checks it): `tern send` refuses anything else before it is queued.
pub fn is_address(email: &str) -> bool {
    email.parse::<lettre::Address>().is_ok()
}

pub fn unique_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    format!("{:x}.{:016x}.tern", nanos / 1_000_000, h.finish())
}

/// The delay before try `attempts + 1`: a minute, doubling, at most four hours.
pub fn retry_delay(attempts: u32) -> i64 {
    let d = 60i64.saturating_mul(1i64 << attempts.saturating_sub(1).min(20));
    d.min(4 * 3600)
}

/// "in 2 min", "in 1 h 4 min": how long until `at`.
pub fn until(at: i64, now: i64) -> String {
    let s = (at - now).max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", (s + 59) / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The account's row in the cache (made here when it has never synced; a POP3 account with
/// its local folders, so the Sent copy has somewhere to go).
pub async fn account_id(store: &StoreHandle, account: &AccountConfig) -> Result<AccountId, String> {
    let (name, email) = (account.name.clone(), account.email.clone());
    if account.pop3.is_some() {
        let names: Vec<_> = account
            .folders
            .iter()
            .map(|(r, n)| (*r, n.clone()))
            .collect();
        return store
            .call(move |s| s.pop3_setup(&name, &email, &names).map(|(id, _)| id))
            .await
            .map_err(|e| e.to_string());
    }
    store
        .call(move |s| match s.account_id(&name)? {
            Some(id) => Ok(id),
            None => s.upsert_account(&name, &email, AccountKind::Imap),
        })
        .await
        .map_err(|e| e.to_string())
}

/// The SMTP password (`password_command` runs off the async threads).
pub async fn smtp_password(account: &AccountConfig) -> Result<Option<Secret>, String> {
    let Some(server) = &account.smtp else {
        return Ok(None);
    };
    if let Some(oauth) = server.password.oauth2() {
        return crate::oauth::access_token(oauth, false)
            .await
            .map(Some)
            .map_err(|e| e.to_string());
    }
    let source = server.password.clone();
    tokio::task::spawn_blocking(move || source.resolve())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Try to send outbox message `id` once. Its state is written before DATA and after the
/// answer; a message that is not queued is left alone.
// Long: one attempt through the outbox states: claim, deliver, then write each outcome
// (sent, retry, failed, may have been sent) with its reply, in one place.
pub async fn send_one(
    account: &AccountConfig,
    password: Option<&Secret>,
    store: &StoreHandle,
    id: i64,
) -> Result<Report, String> {
    let row = store
        .call(move |s| s.outbox_get(id))
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no message {id} in the outbox"))?;
    let report = |state, reply: String| Report {
        id,
        state,
        reply,
        refused: Vec::new(),
        retry_at: None,
        sent_copy: false,
        to_drafts: false,
        original_flagged: false,
    };
    let claimed = store
        .call(move |s| s.outbox_claim(id))
        .await
        .map_err(|e| e.to_string())?;
    if !claimed {
        // Not queued, or another sender took it first.
        return Ok(report(
            row.state,
            row.last_reply.clone().unwrap_or_default(),
        ));
    }
    let Some(server) = &account.smtp else {
        let reply = format!("account {} has no [account.smtp]", account.name);
        let r = reply.clone();
        store
            .call(move |s| s.outbox_set(id, OutState::Failed, Some(&r), None))
            .await
            .map_err(|e| e.to_string())?;
        return Ok(report(OutState::Failed, reply));
    };
    let st = store.clone();
    let attempt = smtp::deliver(
        server,
        password,
        &row.mail_from,
        &row.rcpt,
        &row.raw,
        move || async move {
            st.call(move |s| s.outbox_set(id, OutState::Sending, None, None))
                .await
                .map_err(|e| format!("the outbox: {e}"))
        },
    )
    .await;
    let set = |state: OutState, reply: String, next: Option<i64>| {
        let store = store.clone();
        async move {
            store
                .call(move |s| s.outbox_set(id, state, Some(&reply), next))
                .await
                .map_err(|e| e.to_string())
        }
    };
    Ok(match attempt {
        Attempt::Sent { reply, refused } => {
            let mut text = reply.clone();
            for r in &refused {
                text += &format!("; refused {}: {}", r.rcpt, r.reply);
            }
            set(OutState::Sent, text.clone(), None).await?;
            // Only now is the original answered (or forwarded).
            let original_flagged = !store
                .call(move |s| s.outbox_flag_original(id))
                .await
                .map_err(|e| e.to_string())?
                .is_empty();
            // Recipients refused for now get their own queued copy.
            let later: Vec<String> = refused
                .iter()
                .filter(|r| !r.permanent)
                .map(|r| r.rcpt.clone())
                .collect();
            if !later.is_empty() {
                let (from, raw, acc) = (row.mail_from.clone(), row.raw.clone(), row.account);
                let next = now() + retry_delay(1);
                store
                    .call(move |s| {
                        let new = s.enqueue(acc, &from, &later, &raw)?;
                        s.outbox_set(new, OutState::Queued, None, Some(next))
                    })
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let mut sent_copy = false;
            // IMAP: in the cache at once and queued for the server; POP3: the local Sent.
            if account.save_sent {
                let (raw, acc) = (row.raw.clone(), row.account);
                sent_copy = store
                    .call(move |s| {
                        let meta = crate::domain::message::parse(&raw).meta;
                        s.queue_sent_copy(acc, &raw, &meta)
                    })
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Report {
                refused,
                sent_copy,
                original_flagged,
                ..report(OutState::Sent, text)
            }
        }
        Attempt::Retry(reply) => {
            let at = now() + retry_delay(row.attempts + 1);
            set(OutState::Queued, reply.clone(), Some(at)).await?;
            Report {
                retry_at: Some(at),
                ..report(OutState::Queued, reply)
            }
        }
        Attempt::Failed { reply, refused } => {
            set(OutState::Failed, reply.clone(), None).await?;
            // Back to Drafts, to be edited and sent again (the outbox keeps it too).
            let (raw, rcpt, acc) = (row.raw.clone(), row.rcpt.clone(), row.account);
            let to_drafts = store
                .call(move |s| {
                    let raw = with_bcc(&raw, &rcpt);
                    let meta = crate::domain::message::parse(&raw).meta;
                    Ok(s.save_draft(acc, &raw, &meta, None)?.is_some())
                })
                .await
                .unwrap_or(false);
            Report {
                refused,
                to_drafts,
                ..report(OutState::Failed, reply)
            }
        }
        Attempt::Uncertain(reply) => {
            set(OutState::Uncertain, reply.clone(), None).await?;
            report(OutState::Uncertain, reply)
        }
    })
}

/// The message with a Bcc field naming the envelope recipients its To and Cc do not (so a
/// draft made from it keeps them).
fn with_bcc(raw: &[u8], rcpt: &[String]) -> Vec<u8> {
    let Some(m) = mail_parser::MessageParser::default().parse_headers(raw) else {
        return raw.to_vec();
    };
    let mut shown: Vec<String> = Vec::new();
    for h in [m.to(), m.cc()].into_iter().flatten() {
        shown.extend(
            h.iter()
                .filter_map(|a| a.address().map(str::to_ascii_lowercase)),
        );
    }
    let hidden: Vec<&str> = rcpt
        .iter()
        .filter(|r| !shown.contains(&r.to_ascii_lowercase()))
        .map(String::as_str)
        .collect();
    if hidden.is_empty() {
        return raw.to_vec();
    }
    let mut out = format!("Bcc: {}\r\n", hidden.join(", ")).into_bytes();
    out.extend_from_slice(raw);
    out
}

/// One line for the status bar about what became of a message.
pub fn describe(r: &Report) -> String {
    let refused = if r.refused.is_empty() {
        String::new()
    } else {
        format!(
            " (refused: {})",
            r.refused
                .iter()
                .map(|x| format!("{}: {}", x.rcpt, x.reply))
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    match r.state {
        OutState::Sent => format!("sent #{}{refused}", r.id),
        OutState::Queued => format!(
            "#{} queued, retry in {}: {}",
            r.id,
            r.retry_at.map(|t| until(t, now())).unwrap_or_default(),
            r.reply
        ),
        OutState::Failed if r.to_drafts => {
            format!(
                "#{} not sent: {}{refused}; it is back in Drafts",
                r.id, r.reply
            )
        }
        OutState::Failed => format!("#{} not sent: {}{refused}", r.id, r.reply),
        OutState::Uncertain | OutState::Sending => {
            format!("#{} may have been sent: {}", r.id, r.reply)
        }
    }
}

/// Tells an outbox worker to look at the queue now.
#[derive(Clone, Default)]
pub struct Kick(Arc<KickState>);

#[derive(Default)]
struct KickState {
    wake: Notify,
    /// The next round sends every queued message, retry delays aside.
    flush: std::sync::atomic::AtomicBool,
}

impl Kick {
    /// Send what is due now (a message was just queued).
    pub fn now(&self) {
        self.0.wake.notify_one();
    }

    /// Send every queued message now, including those waiting for a retry (the user fixed
    /// what was wrong, or the network is back), with the password asked for again.
    pub fn flush(&self) {
        self.0
            .flush
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.0.wake.notify_one();
    }
}

/// The outbox worker of one account: sends what is due, sleeps until the next retry or a kick.
/// `on_change` is called after each attempt (the UI reads the outbox again; the IMAP engine
/// replays the queue for the Sent copy).
pub fn spawn_worker(
    account: AccountConfig,
    store: StoreHandle,
    on_change: impl Fn(&Report) + Send + 'static,
) -> (Kick, tokio::task::JoinHandle<()>) {
    let kick = Kick::default();
    let k = kick.clone();
    let task = tokio::spawn(async move {
        let mut password: Option<Option<Secret>> = None;
        loop {
            let id = match account_id(&store, &account).await {
                Ok(id) => id,
                Err(_) => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    continue;
                }
            };
            let flush = k.0.flush.swap(false, std::sync::atomic::Ordering::SeqCst);
            if flush {
                password = None; // it may be what the user fixed
            }
            let at = (!flush).then(now);
            let due = store
                .call(move |s| s.outbox_due(Some(id), at))
                .await
                .unwrap_or_default();
            for row in due {
                let tokens = account
                    .smtp
                    .as_ref()
                    .is_some_and(|s| s.password.oauth2().is_some());
                if password.is_none() || tokens {
                    match smtp_password(&account).await {
                        Ok(p) => password = Some(p),
                        Err(e) => {
                            // E.g. a locked keyring: the message waits, it did not fail.
                            let what = if tokens {
                                "the OAuth2 token"
                            } else {
                                "the SMTP password"
                            };
                            let reply = format!("{what}: {e}");
                            let at = now() + retry_delay(row.attempts + 1);
                            let _ = store
                                .call(move |s| {
                                    s.outbox_set(row.id, OutState::Queued, Some(&reply), Some(at))
                                })
                                .await;
                            continue;
                        }
                    }
                }
                if let Ok(r) = send_one(
                    &account,
                    password.clone().flatten().as_ref(),
                    &store,
                    row.id,
                )
                .await
                {
                    on_change(&r);
                }
            }
            let next = store
                .call(move |s| s.outbox_next_due(id))
                .await
                .ok()
                .flatten();
            let wait = next.map_or(300, |t| (t - now()).clamp(1, 300));
            tokio::select! {
                _ = k.0.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(wait as u64)) => {}
            }
        }
    });
    (kick, task)
}

/// Recipients by account, for reporting (kept small: used by the CLI's JSON).
pub fn refused_json(refused: &[Refusal]) -> Vec<HashMap<&'static str, String>> {
    refused
        .iter()
        .map(|r| {
            HashMap::from([
                ("rcpt", r.rcpt.clone()),
                ("reply", r.reply.clone()),
                (
                    "kind",
                    if r.permanent {
                        "permanent"
                    } else {
                        "temporary"
                    }
                    .to_string(),
                ),
            ])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_a_minute_to_four_hours() {
        assert_eq!(retry_delay(1), 60);
        assert_eq!(retry_delay(2), 120);
        assert_eq!(retry_delay(3), 240);
        assert_eq!(retry_delay(9), 4 * 3600);
        assert_eq!(retry_delay(500), 4 * 3600);
        assert_eq!(until(100, 40), "1 min");
        assert_eq!(until(100, 70), "30 s");
        assert_eq!(until(3700 + 240, 0), "1 h 5 min");
    }
}
