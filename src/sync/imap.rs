//! A thin adapter over async-imap: connect (TLS or STARTTLS, never a plain fallback), log in,
//! list, select, fetch. Every network step has a timeout; unsolicited responses are drained
//! after each command so async-imap's bounded channel never fills and drops them.
//!
//! Here: the session's plumbing (commands, answers, draining). By concern: `connect`,
//! `mailboxes` (LIST, SELECT, STATUS), `fetch` (FETCH and SEARCH), `changes` (STORE, MOVE,
//! COPY, EXPUNGE, APPEND), `idle`, `untagged` (what the server says unasked), `gmail`
//! (Gmail's labels, read-only tags).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_imap::Session;
use async_imap::imap_proto::{
    AttributeValue, BodyStructure, MailboxDatum, RequestId, Response, ResponseCode, Status,
};
use async_imap::types::{Fetch, Flag, NameAttribute, UnsolicitedResponse};
use futures::{Stream, StreamExt};
use rustls::ClientConfig;

use super::login;
use super::plan::Selected;
use super::wire::{Wire, WireStats};
use super::{ErrorKind, SyncError, mutf7};
use crate::config::{Secret, ServerConfig};
use crate::domain::{Flags, Role};
use crate::net::timed;

mod changes;
mod connect;
mod fetch;
pub mod gmail;
mod idle;
mod mailboxes;
mod untagged;

pub use fetch::has_attachments;
use mailboxes::quoted;
pub use untagged::Untagged;
use untagged::merge;

/// How long any one IMAP command (or one FETCH item) may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// The header fields the cache keeps (list rows and threading).
const HEADER_FIELDS: &str = "DATE FROM TO CC SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES LIST-ID";

/// Server capabilities, upper-cased.
#[derive(Debug, Clone, Default)]
pub struct Caps(pub(super) HashSet<String>);

impl Caps {
    pub fn has(&self, cap: &str) -> bool {
        self.0.contains(&cap.to_ascii_uppercase())
    }
}

/// A mailbox as LIST returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Decoded from modified UTF-7.
    pub name: String,
    /// As the server spells it, for commands.
    pub wire: String,
    pub delimiter: Option<char>,
    pub special_use: Option<Role>,
    pub subscribed: bool,
    pub selectable: bool,
    /// SPECIAL-USE \All or \Flagged (Gmail: also \Important): copies of messages that live
    /// in other mailboxes.
    pub aggregate: bool,
}

/// One message's list-row data from a header FETCH.
#[derive(Debug, Clone)]
pub struct HeaderRow {
    pub seq: u32,
    pub uid: u32,
    pub flags: Flags,
    pub internal_date: Option<i64>,
    pub size: u32,
    pub has_attachments: bool,
    pub header: Vec<u8>,
    /// Gmail's labels (X-GM-LABELS), cleaned (see [`gmail::clean`]); empty elsewhere.
    pub labels: Vec<String>,
}

/// What a FETCH of flags answered, by UID: the flags, and Gmail's labels when the server
/// has them (X-GM-EXT-1: only the messages whose answer carried them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagFetch {
    pub flags: Vec<(u32, Flags)>,
    pub labels: Vec<(u32, Vec<String>)>,
}

/// UIDs per FETCH FLAGS or STORE when checking or expunging a set.
const PRESENT_BATCH: usize = 2_500;

/// Bytes of a message asked for in one FETCH (`BODY.PEEK[]<offset.size>`): see
/// [`Imap::fetch_bodies`].
pub const BODY_PIECE: u32 = 4 * 1024 * 1024;

/// What [`Imap::expunge_exactly`] could do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expunged {
    Done,
    /// Not yet: no UIDPLUS, and this many other messages there are marked \Deleted (a plain
    /// EXPUNGE would remove them too). Ours stay marked \Deleted on the server.
    Waiting {
        others: usize,
    },
}

/// What the cache knows of a mailbox, for a QRESYNC SELECT (RFC 7162).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub uidvalidity: u32,
    pub modseq: u64,
    /// Smallest and largest cached UID.
    pub uids: Option<(u32, u32)>,
}

pub struct Imap {
    session: Session<Wire>,
    pub caps: Caps,
    /// Commands sent that tern reads the answers of itself (SELECT, STORE, MOVE, ...): what
    /// the benchmarks count.
    pub commands: u64,
    pub host: String,
    /// The selected mailbox (as sent on the wire), if any.
    selected: Option<String>,
    /// Changes to the selected mailbox reported alongside other commands, not yet handed out.
    pending: Untagged,
    /// COMPRESS=DEFLATE is on.
    compressed: bool,
    /// What the connection's [`Wire`] dropped or rewrote, and how much of it was seen: when
    /// it moves while a mailbox is selected, the mailbox needs a resync.
    wire: Arc<WireStats>,
    wire_seen: u64,
}

pub(super) fn caps_of<'a>(
    list: impl IntoIterator<Item = &'a async_imap::types::Capability>,
) -> Caps {
    use async_imap::types::Capability as C;
    Caps(
        list.into_iter()
            .map(|c| match c {
                C::Imap4rev1 => "IMAP4REV1".to_string(),
                C::Auth(a) => format!("AUTH={}", a.to_ascii_uppercase()),
                C::Atom(a) => a.to_ascii_uppercase(),
            })
            .collect(),
    )
}

impl Imap {
    /// Whether the session is compressed (COMPRESS=DEFLATE).
    pub fn compressed(&self) -> bool {
        self.compressed
    }

    /// QRESYNC is on (the server offers it and it was enabled).
    pub fn qresync(&self) -> bool {
        self.caps.has("QRESYNC")
    }

    /// The server has Gmail's extensions (X-GM-EXT-1): labels can be fetched.
    pub fn gmail(&self) -> bool {
        self.caps.has(gmail::CAPABILITY)
    }

    /// CONDSTORE (or QRESYNC, which implies it) is on.
    pub fn condstore(&self) -> bool {
        self.caps.has("CONDSTORE") || self.caps.has("QRESYNC")
    }

    /// Empty async-imap's unsolicited-response channel (it holds 100 and then drops silently),
    /// keeping what it says about the selected mailbox for the engine. A full channel means
    /// responses may have been lost: the mailbox is then marked for a resync.
    fn drain(&mut self) {
        let full = self.session.unsolicited_responses.is_full();
        while let Ok(r) = self.session.unsolicited_responses.try_recv() {
            match r {
                UnsolicitedResponse::Exists(n) => self.pending.exists = Some(n),
                UnsolicitedResponse::Expunge(_) => self.pending.expunges += 1,
                UnsolicitedResponse::Other(data) => self.pending.absorb(data.parsed()),
                _ => {}
            }
        }
        if (self.wire_moved() || full) && self.selected.is_some() {
            self.pending.unplaced = true;
        }
    }

    /// Whether the [`Wire`] dropped or rewrote a response since the last look.
    fn wire_moved(&mut self) -> bool {
        let now = self.wire.altered();
        std::mem::replace(&mut self.wire_seen, now) != now
    }

    /// Changes to the selected mailbox reported alongside earlier commands.
    pub fn take_pending(&mut self) -> Untagged {
        std::mem::take(&mut self.pending)
    }

    /// The selected mailbox, as named on the wire.
    pub fn selected(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    async fn simple(&mut self, cmd: &str) -> Result<(), SyncError> {
        let mut u = Untagged::default();
        self.command(cmd, cmd, &mut u).await?;
        if self.selected.is_some() {
            merge(&mut self.pending, u);
        }
        Ok(())
    }

    /// Read the next response within `limit` and look at it with `f`.
    async fn next_response<R>(
        &mut self,
        limit: Duration,
        what: &str,
        f: impl FnOnce(&Response<'_>) -> R,
    ) -> Result<R, SyncError> {
        match tokio::time::timeout(limit, self.session.read_response()).await {
            Err(_) => Err(SyncError::new(
                ErrorKind::Network,
                format!(
                    "no answer from {} to {what} for {} s",
                    self.host,
                    limit.as_secs()
                ),
            )),
            Ok(Err(e)) => Err(SyncError::io(e)),
            Ok(Ok(None)) => Err(SyncError::new(
                ErrorKind::Network,
                format!("{} closed the connection", self.host),
            )),
            Ok(Ok(Some(r))) => Ok(f(r.parsed())),
        }
    }

    /// Send a command and read every response up to its tagged answer, untagged ones into
    /// `into`: no response goes through async-imap's bounded channel.
    async fn command(
        &mut self,
        cmd: &str,
        what: &str,
        into: &mut Untagged,
    ) -> Result<(), SyncError> {
        self.drain();
        self.commands += 1;
        let id = timed(IO_TIMEOUT, what, async {
            Ok::<_, SyncError>(self.session.run_command(cmd).await?)
        })
        .await?;
        self.finish(&id, what, IO_TIMEOUT, into).await
    }

    /// Before a command whose answer async-imap reads: forget the last tagged answer, and the
    /// stats to ask afterwards whether this command's came (see [`answered`]).
    fn expect_answer(&self) -> Arc<WireStats> {
        self.wire.take_done();
        Arc::clone(&self.wire)
    }

    /// Read responses up to the tagged answer for `id`.
    async fn finish(
        &mut self,
        id: &RequestId,
        what: &str,
        limit: Duration,
        into: &mut Untagged,
    ) -> Result<(), SyncError> {
        let host = self.host.clone();
        loop {
            let done = self
                .next_response(limit, what, |r| {
                    let text = |o: &async_imap::imap_proto::Outcome<'_>| {
                        crate::domain::sanitize::line(o.information.as_deref().unwrap_or(""))
                    };
                    match r {
                        Response::Done {
                            tag,
                            status,
                            outcome,
                        } if tag == id => Some(match status {
                            Status::Ok => {
                                if let Some(ResponseCode::CopyUid(_, src, dst)) = &outcome.code {
                                    into.copy_uids(src, dst);
                                }
                                Ok(())
                            }
                            _ => Err(SyncError::new(
                                ErrorKind::Refused,
                                format!("{host} refused {what}: {}", text(outcome)),
                            )),
                        }),
                        Response::Data {
                            status: Status::Bye,
                            outcome,
                        } => Some(Err(SyncError::new(
                            ErrorKind::Network,
                            format!("{host} closed the connection: {}", text(outcome)),
                        ))),
                        other => {
                            into.absorb(other);
                            None
                        }
                    }
                })
                .await?;
            if let Some(done) = done {
                // A response lost meanwhile may have been about the selected mailbox.
                if self.wire_moved() {
                    into.unplaced = true;
                }
                return done;
            }
        }
    }

    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

/// Whether the command `what` got its tagged OK (see [`WireStats::take_done`]): async-imap's
/// streams and some of its calls end the same way at a NO, a BAD or the end of the
/// connection, and an answer cut short must not pass for a whole one (an empty LIST is not
/// "no mailboxes", an empty FETCH is not "no messages").
fn answered(wire: &WireStats, what: &str) -> Result<(), SyncError> {
    match wire.take_done() {
        Some(Ok(())) => Ok(()),
        Some(Err(line)) => Err(SyncError::new(
            ErrorKind::Refused,
            format!("the server refused {what}: {line}"),
        )),
        None => Err(SyncError::new(
            ErrorKind::Network,
            format!("the connection ended before the server answered {what}"),
        )),
    }
}

/// Read a response stream to its end (async-imap needs every stream exhausted), mapping each
/// item and giving each item [`IO_TIMEOUT`]; an error unless the stream ended at the tagged
/// OK (see [`answered`]). `wire` was cleared before the command went out.
async fn collect<T, R, S>(
    wire: &WireStats,
    what: &str,
    stream: S,
    mut map: impl FnMut(&T) -> Option<R>,
) -> Result<Vec<R>, SyncError>
where
    S: Stream<Item = Result<T, async_imap::error::Error>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(IO_TIMEOUT, stream.next()).await {
            Err(_) => {
                return Err(SyncError::new(
                    ErrorKind::Network,
                    format!("no answer from the server for {} s", IO_TIMEOUT.as_secs()),
                ));
            }
            Ok(None) => {
                answered(wire, what)?;
                return Ok(out);
            }
            Ok(Some(item)) => {
                if let Some(r) = map(&item?) {
                    out.push(r);
                }
            }
        }
    }
}
