//! A thin adapter over async-imap: connect (TLS or STARTTLS, never a plain fallback), log in,
//! list, select, fetch. Every network step has a timeout; unsolicited responses are drained
//! after each command so async-imap's bounded channel never fills and drops them.

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

/// What the server said about the selected mailbox in untagged responses, while a command or
/// IDLE ran: SELECT's mailbox data, and changes (new mail, expunges, flags) as they happen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Untagged {
    pub exists: Option<u32>,
    pub uidvalidity: Option<u32>,
    pub uidnext: Option<u32>,
    /// The HIGHESTMODSEQ response code (SELECT).
    pub highestmodseq: Option<u64>,
    /// The largest MODSEQ among FETCH responses.
    pub fetch_modseq: Option<u64>,
    /// EXPUNGE responses: sequence numbers, which only a resync can place.
    pub expunges: u32,
    /// VANISHED UID ranges (QRESYNC), inclusive.
    pub vanished: Vec<(u32, u32)>,
    /// Flags by UID, from FETCH responses.
    pub flags: Vec<(u32, Flags)>,
    /// A change came that cannot be placed (a FETCH without UID, responses lost): the mailbox
    /// needs a resync.
    pub unplaced: bool,
    /// COPYUID (RFC 4315) of a COPY or MOVE: (source UID, UID in the target), in order.
    pub copyuid: Vec<(u32, u32)>,
    /// The numbers of SEARCH answers (UIDs for UID SEARCH).
    pub searched: Vec<u32>,
}

impl Untagged {
    /// Whether anything changed in the mailbox (as opposed to plain status chatter).
    pub fn changed(&self) -> bool {
        self.exists.is_some()
            || self.expunges > 0
            || !self.vanished.is_empty()
            || !self.flags.is_empty()
            || self.unplaced
    }

    /// Whether the engine can apply these changes by UID alone, with no resync.
    pub fn placeable(&self) -> bool {
        self.expunges == 0 && !self.unplaced
    }

    fn absorb(&mut self, r: &Response<'_>) {
        match r {
            Response::MailboxData(MailboxDatum::Exists(n)) => self.exists = Some(*n),
            Response::MailboxData(MailboxDatum::Search(ids)) => self.searched.extend(ids),
            Response::Expunge(_) => {
                self.expunges += 1;
                if let Some(e) = &mut self.exists {
                    *e = e.saturating_sub(1);
                }
            }
            Response::Vanished { earlier, uids } => {
                for r in uids {
                    self.vanished.push((*r.start(), *r.end()));
                    if !earlier && let Some(e) = &mut self.exists {
                        *e = e.saturating_sub(r.end().saturating_sub(*r.start()) + 1);
                    }
                }
            }
            Response::Fetch(_, attrs) => {
                let (mut uid, mut flags) = (None, None);
                for a in attrs {
                    match a {
                        AttributeValue::Uid(u) => uid = Some(*u),
                        AttributeValue::Flags(f) => {
                            let mut set = Flags::default();
                            for name in f {
                                set.set(name, true);
                            }
                            flags = Some(set);
                        }
                        AttributeValue::ModSeq(m) => {
                            self.fetch_modseq = Some(self.fetch_modseq.map_or(*m, |x| x.max(*m)))
                        }
                        _ => {}
                    }
                }
                match (uid, flags) {
                    (Some(uid), Some(flags)) => self.flags.push((uid, flags)),
                    (None, Some(_)) => self.unplaced = true,
                    _ => {}
                }
            }
            Response::Data { outcome, .. } => match &outcome.code {
                Some(ResponseCode::CopyUid(_, src, dst)) => self.copy_uids(src, dst),
                Some(ResponseCode::UidValidity(v)) => self.uidvalidity = Some(*v),
                Some(ResponseCode::UidNext(n)) => self.uidnext = Some(*n),
                Some(ResponseCode::HighestModSeq(m)) => self.highestmodseq = Some(*m),
                // RFC 7162: what came before [CLOSED] was about the previous mailbox.
                None if outcome
                    .information
                    .as_deref()
                    .is_some_and(|i| i.starts_with("[CLOSED]")) =>
                {
                    *self = Untagged::default()
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn copy_uids(
        &mut self,
        src: &[async_imap::imap_proto::rfc4315::UidSetMember],
        dst: &[async_imap::imap_proto::rfc4315::UidSetMember],
    ) {
        use async_imap::imap_proto::rfc4315::UidSetMember as M;
        let expand = |set: &[M]| -> Vec<u32> {
            let mut out = Vec::new();
            for m in set {
                match m {
                    M::Uid(u) => out.push(*u),
                    // A hostile server's range could be huge: bounded by what we sent.
                    M::UidRange(r) => out.extend(r.clone().take(1_000_000)),
                }
            }
            out
        };
        let (s, d) = (expand(src), expand(dst));
        if s.len() == d.len() {
            self.copyuid.extend(s.into_iter().zip(d));
        }
    }

    fn selected(&self) -> Selected {
        Selected {
            exists: self.exists.unwrap_or(0),
            uidvalidity: self.uidvalidity,
            uidnext: self.uidnext,
            highestmodseq: self.highestmodseq,
        }
    }
}

/// What the cache knows of a mailbox, for a QRESYNC SELECT (RFC 7162).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub uidvalidity: u32,
    pub modseq: u64,
    /// Smallest and largest cached UID.
    pub uids: Option<(u32, u32)>,
}

/// A mailbox name as an IMAP quoted string.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
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

fn flags_of(f: &Fetch) -> Flags {
    let mut flags = Flags::default();
    for flag in f.flags() {
        match flag {
            Flag::Seen => flags.seen = true,
            Flag::Answered => flags.answered = true,
            Flag::Flagged => flags.flagged = true,
            Flag::Deleted => flags.deleted = true,
            Flag::Draft => flags.draft = true,
            Flag::Recent | Flag::MayCreate => {}
            Flag::Custom(c) => flags.set(&c, true),
        }
    }
    flags
}

/// The mailbox state STATUS reported.
fn status_of(mb: &async_imap::types::Mailbox) -> Selected {
    Selected {
        exists: mb.exists,
        uidvalidity: mb.uid_validity,
        uidnext: mb.uid_next,
        highestmodseq: mb.highest_modseq,
    }
}

/// Whether a body structure has a part a user would call an attachment.
pub fn has_attachments(bs: &BodyStructure<'_>) -> bool {
    match bs {
        BodyStructure::Multipart { bodies, .. } => bodies.iter().any(has_attachments),
        BodyStructure::Message { .. } => true,
        BodyStructure::Text { common, .. } => common
            .disposition
            .as_ref()
            .is_some_and(|d| d.ty.eq_ignore_ascii_case("attachment")),
        BodyStructure::Basic { common, .. } => match &common.disposition {
            Some(d) => !d.ty.eq_ignore_ascii_case("inline"),
            None => true,
        },
    }
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

/// Whether COMPRESS=DEFLATE is worth asking for: the config decides; by default it is on
/// except on loopback, where deflating costs more CPU than it saves.
fn want_compress(server: &ServerConfig) -> bool {
    server.compress.unwrap_or_else(|| {
        let host = server.host.trim_start_matches('[').trim_end_matches(']');
        !(host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()))
    })
}

impl Imap {
    /// Connect, secure, log in, and turn on the extensions tern uses.
    pub async fn connect(
        server: &ServerConfig,
        password: Option<&Secret>,
        tls: Arc<ClientConfig>,
    ) -> Result<Imap, SyncError> {
        let host = server.host.as_str();
        let wire = Arc::new(WireStats::default());
        let (client, pre) = login::open(server, Arc::clone(&tls), &wire).await?;
        let password = password.ok_or_else(|| {
            SyncError::new(
                ErrorKind::Auth,
                format!("no password configured for {host}"),
            )
        })?;
        let session = login::log_in(server, password, tls, &wire, client, &pre).await?;
        let mut imap = Imap {
            session,
            caps: Caps::default(),
            commands: 0,
            host: host.to_string(),
            selected: None,
            pending: Untagged::default(),
            compressed: false,
            wire_seen: wire.altered(),
            wire,
        };
        imap.wire.take_done();
        let caps = timed(IO_TIMEOUT, "CAPABILITY", async {
            Ok::<_, SyncError>(imap.session.capabilities().await?)
        })
        .await?;
        answered(&imap.wire, "CAPABILITY")?;
        imap.caps = caps_of(caps.iter());
        if imap.caps.has("COMPRESS=DEFLATE") && want_compress(server) {
            imap = imap.compress().await?;
        }
        if imap.caps.has("QRESYNC") {
            imap.simple("ENABLE QRESYNC").await?;
        } else if imap.caps.has("CONDSTORE") {
            imap.simple("ENABLE CONDSTORE").await?;
        }
        if imap.caps.has("ID") {
            let id = [
                ("name", Some("tern")),
                ("version", Some(env!("CARGO_PKG_VERSION"))),
            ];
            let _ = timed(IO_TIMEOUT, "ID", async {
                Ok::<_, SyncError>(imap.session.id(id).await?)
            })
            .await;
        }
        imap.drain();
        Ok(imap)
    }

    /// Turn on COMPRESS=DEFLATE (RFC 4978): everything after it is deflated both ways.
    async fn compress(self) -> Result<Imap, SyncError> {
        let Imap {
            session,
            caps,
            commands,
            host,
            selected,
            pending,
            wire,
            wire_seen,
            ..
        } = self;
        // The Wire below the decompressor sees deflated bytes: it lets them pass, and a new
        // Wire reads above it.
        let stats = Arc::clone(&wire);
        let session = timed(IO_TIMEOUT, "COMPRESS", async {
            Ok::<_, SyncError>(
                session
                    .compress(move |mut s| {
                        s.get_mut().set_passthrough();
                        Wire::new(Box::new(s), stats)
                    })
                    .await?,
            )
        })
        .await?;
        Ok(Imap {
            session,
            caps,
            commands,
            host,
            selected,
            pending,
            compressed: true,
            wire,
            wire_seen,
        })
    }

    /// Whether the session is compressed (COMPRESS=DEFLATE).
    pub fn compressed(&self) -> bool {
        self.compressed
    }

    /// QRESYNC is on (the server offers it and it was enabled).
    pub fn qresync(&self) -> bool {
        self.caps.has("QRESYNC")
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

    /// Move (or copy) messages of the selected mailbox to `target` (wire name). With MOVE, a
    /// move is one UID MOVE and done; otherwise (and for a copy) it is a UID COPY, and the
    /// originals of a move are left for the caller to remove with [`Imap::expunge_exactly`]
    /// (which knows when that is safe). Returns COPYUID's (source, target) pairs, empty when
    /// the server gives none, and whether the originals are gone.
    pub async fn uid_move(
        &mut self,
        set: &str,
        target: &str,
        copy: bool,
    ) -> Result<(Vec<(u32, u32)>, bool), SyncError> {
        let mut u = Untagged::default();
        let moved = !copy && self.caps.has("MOVE");
        if moved {
            self.command(
                &format!("UID MOVE {set} {}", quoted(target)),
                "MOVE",
                &mut u,
            )
            .await?;
        } else {
            self.command(
                &format!("UID COPY {set} {}", quoted(target)),
                "COPY",
                &mut u,
            )
            .await?;
        }
        let pairs = std::mem::take(&mut u.copyuid);
        merge(&mut self.pending, u);
        Ok((pairs, moved))
    }

    /// Which of these UIDs exist in the selected mailbox, with their flags. Only the UIDs asked
    /// for count: a server that answers a missing UID with another message (some resolve a UID
    /// past the highest to the last message) is not believed.
    pub async fn present(
        &mut self,
        uids: &[u32],
    ) -> Result<std::collections::HashMap<u32, Flags>, SyncError> {
        let asked: HashSet<u32> = uids.iter().copied().collect();
        let mut out = std::collections::HashMap::new();
        let mut sorted: Vec<u32> = asked.iter().copied().collect();
        sorted.sort_unstable();
        for chunk in sorted.chunks(PRESENT_BATCH) {
            for (uid, flags) in self.uid_flags(&super::plan::uid_set(chunk)).await? {
                if asked.contains(&uid) {
                    out.insert(uid, flags);
                }
            }
        }
        Ok(out)
    }

    /// Remove exactly these messages of the selected mailbox (all of which exist): STORE
    /// \Deleted, then UID EXPUNGE (RFC 4315). A server without UIDPLUS can only EXPUNGE
    /// everything marked \Deleted: that is done only when no other message there carries
    /// \Deleted (asked first); otherwise ours stay marked and the answer says how many others
    /// are in the way, for the caller to try again later. `queued`: UIDs other queued expunges
    /// of the user's will remove (not in the way: the plain EXPUNGE takes them too).
    pub async fn expunge_exactly(
        &mut self,
        uids: &[u32],
        queued: &[u32],
    ) -> Result<Expunged, SyncError> {
        if uids.is_empty() {
            return Ok(Expunged::Done);
        }
        let mut u = Untagged::default();
        let mut sorted = uids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for chunk in sorted.chunks(PRESENT_BATCH) {
            let set = super::plan::uid_set(chunk);
            self.command(
                &format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"),
                "STORE",
                &mut u,
            )
            .await?;
            if self.caps.has("UIDPLUS") {
                self.command(&format!("UID EXPUNGE {set}"), "EXPUNGE", &mut u)
                    .await?;
            }
        }
        merge(&mut self.pending, u);
        if self.caps.has("UIDPLUS") {
            return Ok(Expunged::Done);
        }
        let ours: HashSet<u32> = sorted.iter().chain(queued).copied().collect();
        let others = self
            .search("DELETED")
            .await?
            .into_iter()
            .filter(|u| !ours.contains(u))
            .count();
        if others > 0 {
            return Ok(Expunged::Waiting { others });
        }
        let mut u = Untagged::default();
        self.command("EXPUNGE", "EXPUNGE", &mut u).await?;
        merge(&mut self.pending, u);
        Ok(Expunged::Done)
    }

    /// Store a message in a mailbox (wire name) with these flags (e.g. `\\Seen`).
    pub async fn append(
        &mut self,
        wire: &str,
        flags: &[String],
        raw: &[u8],
    ) -> Result<(), SyncError> {
        self.drain();
        self.commands += 1;
        let flags = format!("({})", flags.join(" "));
        timed(IO_TIMEOUT, "APPEND", async {
            Ok::<_, SyncError>(self.session.append(wire, Some(&flags), None, raw).await?)
        })
        .await?;
        self.drain();
        Ok(())
    }

    /// The UID of the newest message in the selected mailbox with this Message-ID.
    pub async fn search_message_id(&mut self, message_id: &str) -> Result<Option<u32>, SyncError> {
        Ok(self.search_message_id_all(message_id).await?.pop())
    }

    /// The UIDs of every message in the selected mailbox with this Message-ID, ascending.
    pub async fn search_message_id_all(&mut self, message_id: &str) -> Result<Vec<u32>, SyncError> {
        // Message-IDs are hostile text too: only what a quoted string can carry.
        let clean: String = message_id
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
            .collect();
        if clean.is_empty() {
            return Ok(Vec::new());
        }
        self.uid_search(&format!("HEADER Message-ID \"{clean}\""))
            .await
    }

    /// Every mailbox, with SPECIAL-USE roles and subscription state.
    pub async fn list(&mut self) -> Result<Vec<Listed>, SyncError> {
        let extended = self.caps.has("LIST-EXTENDED") && self.caps.has("SPECIAL-USE");
        let pattern = if extended {
            "\"*\" RETURN (SUBSCRIBED SPECIAL-USE)"
        } else {
            "\"*\""
        };
        let mut out = self.list_with(pattern).await?;
        if !extended {
            let subscribed: HashSet<String> = {
                let wire = self.expect_answer();
                let stream = timed(IO_TIMEOUT, "LSUB", async {
                    Ok::<_, SyncError>(self.session.lsub(Some(""), Some("*")).await?)
                })
                .await?;
                let names = collect(&wire, "LSUB", stream, |n| Some(n.name().to_string())).await?;
                names.into_iter().collect()
            };
            for l in &mut out {
                l.subscribed = subscribed.contains(&l.wire);
            }
        }
        self.drain();
        // \NoSelect levels are not kept: the sidebar draws hierarchy levels itself.
        out.retain(|l| l.selectable);
        Ok(out)
    }

    async fn list_with(&mut self, pattern: &str) -> Result<Vec<Listed>, SyncError> {
        let wire = self.expect_answer();
        let stream = timed(IO_TIMEOUT, "LIST", async {
            Ok::<_, SyncError>(self.session.list(Some(""), Some(pattern)).await?)
        })
        .await?;
        collect(&wire, "LIST", stream, |n| {
            let mut special = None;
            let mut subscribed = false;
            let mut selectable = true;
            for a in n.attributes() {
                match a {
                    NameAttribute::NoSelect => selectable = false,
                    NameAttribute::Sent => special = Some(Role::Sent),
                    NameAttribute::Drafts => special = Some(Role::Drafts),
                    NameAttribute::Junk => special = Some(Role::Junk),
                    NameAttribute::Trash => special = Some(Role::Trash),
                    NameAttribute::Archive => special = Some(Role::Archive),
                    NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\Subscribed") => {
                        subscribed = true
                    }
                    NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\NonExistent") => {
                        return None;
                    }
                    _ => {}
                }
            }
            let wire = n.name().to_string();
            let name = if wire.eq_ignore_ascii_case("INBOX") {
                "INBOX".to_string()
            } else {
                mutf7::decode(&wire)
            };
            Some(Listed {
                name,
                wire,
                delimiter: n.delimiter().and_then(|d| d.chars().next()),
                special_use: special,
                subscribed,
                selectable,
            })
        })
        .await
    }

    /// SELECT a mailbox (with CONDSTORE when the server has it).
    /// The cache is not brought up to date by this: changes since it last saw the mailbox are
    /// unknown, so the mailbox is marked for a resync before the next IDLE applies anything.
    pub async fn select(&mut self, wire: &str) -> Result<Selected, SyncError> {
        let sel = self.select_with(wire, None).await?.0;
        self.pending.unplaced = true;
        Ok(sel)
    }

    /// SELECT; with QRESYNC on and what the cache knows, the answer also says what changed
    /// since (VANISHED UIDs and new flags), in the same round trip.
    pub async fn select_with(
        &mut self,
        wire: &str,
        known: Option<Known>,
    ) -> Result<(Selected, Untagged), SyncError> {
        let param = match known {
            Some(k) if self.qresync() => match k.uids {
                Some((lo, hi)) => format!(" (QRESYNC ({} {} {lo}:{hi}))", k.uidvalidity, k.modseq),
                None => format!(" (QRESYNC ({} {}))", k.uidvalidity, k.modseq),
            },
            _ if self.condstore() => " (CONDSTORE)".to_string(),
            _ => String::new(),
        };
        self.drain();
        self.selected = None;
        self.pending = Untagged::default();
        let mut u = Untagged::default();
        self.command(&format!("SELECT {}{param}", quoted(wire)), "SELECT", &mut u)
            .await?;
        self.selected = Some(wire.to_string());
        Ok((u.selected(), u))
    }

    /// STATUS of a mailbox, with HIGHESTMODSEQ when CONDSTORE is on: much cheaper than SELECT
    /// on a large mailbox, so unchanged mailboxes are recognised without selecting them.
    pub async fn status(&mut self, wire: &str) -> Result<Selected, SyncError> {
        let items = if self.condstore() {
            "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)"
        } else {
            "(MESSAGES UIDNEXT UIDVALIDITY)"
        };
        let answer = self.expect_answer();
        let mb = timed(IO_TIMEOUT, "STATUS", async {
            Ok::<_, SyncError>(self.session.status(wire, items).await?)
        })
        .await?;
        answered(&answer, "STATUS")?;
        self.drain();
        Ok(status_of(&mb))
    }

    /// List-row data for a sequence set (`uid = false`) or a UID set.
    pub async fn fetch_headers(
        &mut self,
        set: &str,
        uid: bool,
    ) -> Result<Vec<HeaderRow>, SyncError> {
        let query = format!(
            "(UID FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
        );
        let wire = self.expect_answer();
        let stream = timed(IO_TIMEOUT, "FETCH", async {
            Ok::<_, SyncError>(if uid {
                self.session.uid_fetch(set, &query).await?.boxed()
            } else {
                self.session.fetch(set, &query).await?.boxed()
            })
        })
        .await?;
        // A FETCH without the header section is the server reporting a flag change on its
        // own (RFC 3501 7.4.2), not a row: it is kept for the engine, not stored as a message.
        let mut stray = Vec::new();
        let rows = collect(&wire, "FETCH", stream, |f| {
            let Some(header) = f.header() else {
                match f.uid {
                    Some(uid) => stray.push((uid, flags_of(f))),
                    None => stray.push((0, Flags::default())),
                }
                return None;
            };
            Some(HeaderRow {
                seq: f.message,
                uid: f.uid?,
                flags: flags_of(f),
                internal_date: f.internal_date().map(|d| d.timestamp()),
                size: f.size.unwrap_or(0),
                has_attachments: f.bodystructure().is_some_and(has_attachments),
                header: header.to_vec(),
            })
        })
        .await?;
        self.drain();
        for (uid, flags) in stray {
            if uid == 0 {
                self.pending.unplaced = true;
            } else {
                self.pending.flags.push((uid, flags));
            }
        }
        Ok(rows)
    }

    /// Flags of every message, or (with CONDSTORE) of those changed since `modseq`. Read
    /// straight off the responses: a large answer never passes through async-imap's channel.
    pub async fn fetch_flags(
        &mut self,
        changed_since: Option<u64>,
    ) -> Result<Vec<(u32, Flags)>, SyncError> {
        let cmd = match changed_since {
            Some(m) => format!("UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE {m})"),
            None => "UID FETCH 1:* (UID FLAGS)".to_string(),
        };
        let mut u = Untagged::default();
        self.command(&cmd, "FETCH FLAGS", &mut u).await?;
        let flags = std::mem::take(&mut u.flags);
        // New mail or expunges reported meanwhile are kept for the engine.
        merge(&mut self.pending, u);
        Ok(flags)
    }

    /// Add (`on`) or remove a flag on a UID set of the selected mailbox, and read back the
    /// flags of the messages that still exist. With CONDSTORE and `unchanged_since` (the
    /// MODSEQ the cache last saw), the STORE carries UNCHANGEDSINCE: the server leaves alone
    /// what another client changed since (RFC 7162), those are seen in the read-back, and the
    /// change is applied to them again on top of what the other client did: only our flag
    /// moves, theirs stay.
    pub async fn uid_store(
        &mut self,
        set: &str,
        flag: &str,
        on: bool,
        unchanged_since: Option<u64>,
    ) -> Result<Vec<(u32, Flags)>, SyncError> {
        let sign = if on { '+' } else { '-' };
        let modifier = match unchanged_since {
            Some(m) if self.condstore() => format!(" (UNCHANGEDSINCE {m})"),
            _ => String::new(),
        };
        let mut u = Untagged::default();
        self.command(
            &format!("UID STORE {set}{modifier} {sign}FLAGS.SILENT ({flag})"),
            "STORE",
            &mut u,
        )
        .await?;
        merge(&mut self.pending, u);
        let mut flags = self.uid_flags(set).await?;
        let lower = flag.to_ascii_lowercase();
        let has = |f: &Flags| match lower.as_str() {
            "\\seen" => f.seen,
            "\\flagged" => f.flagged,
            "\\answered" => f.answered,
            "\\deleted" => f.deleted,
            "\\draft" => f.draft,
            _ => on, // a keyword: not checked here
        };
        let missed: Vec<u32> = flags
            .iter()
            .filter(|(_, f)| has(f) != on)
            .map(|(u, _)| *u)
            .collect();
        if !modifier.is_empty() && !missed.is_empty() {
            let again = super::plan::uid_set(&missed);
            let mut u = Untagged::default();
            self.command(
                &format!("UID STORE {again} {sign}FLAGS.SILENT ({flag})"),
                "STORE",
                &mut u,
            )
            .await?;
            merge(&mut self.pending, u);
            let fresh = self.uid_flags(&again).await?;
            flags.retain(|(u, _)| !missed.contains(u));
            flags.extend(fresh);
        }
        Ok(flags)
    }

    /// The flags of a UID set (of those that exist).
    async fn uid_flags(&mut self, set: &str) -> Result<Vec<(u32, Flags)>, SyncError> {
        let mut u = Untagged::default();
        self.command(
            &format!("UID FETCH {set} (UID FLAGS)"),
            "FETCH FLAGS",
            &mut u,
        )
        .await?;
        let flags = std::mem::take(&mut u.flags);
        merge(&mut self.pending, u);
        Ok(flags)
    }

    /// Every UID in the selected mailbox, ascending.
    pub async fn uids(&mut self) -> Result<Vec<u32>, SyncError> {
        self.uid_search("ALL").await
    }

    /// UIDs in the selected mailbox matching SEARCH criteria (tern's own, from
    /// `domain::search::imap_criteria`; non-ASCII text is sent as UTF-8).
    pub async fn search(&mut self, criteria: &str) -> Result<Vec<u32>, SyncError> {
        let query = if criteria.is_ascii() {
            criteria.to_string()
        } else {
            format!("CHARSET UTF-8 {criteria}")
        };
        self.uid_search(&query).await
    }

    /// UID SEARCH, read to its tagged answer: async-imap's own returns what it got so far when
    /// the connection ends (or the server says NO), which would read as "no such messages".
    async fn uid_search(&mut self, query: &str) -> Result<Vec<u32>, SyncError> {
        let mut u = Untagged::default();
        self.command(&format!("UID SEARCH {query}"), "UID SEARCH", &mut u)
            .await?;
        let mut v = std::mem::take(&mut u.searched);
        merge(&mut self.pending, u);
        v.sort_unstable();
        v.dedup();
        Ok(v)
    }

    /// The sequence number of a UID in the selected mailbox, if it still exists.
    pub async fn seq_of(&mut self, uid: u32) -> Result<Option<u32>, SyncError> {
        let wire = self.expect_answer();
        let stream = timed(IO_TIMEOUT, "FETCH UID", async {
            Ok::<_, SyncError>(self.session.uid_fetch(uid.to_string(), "(UID)").await?)
        })
        .await?;
        let seqs = collect(&wire, "FETCH UID", stream, |f| {
            (f.uid == Some(uid)).then_some(f.message)
        })
        .await?;
        self.drain();
        Ok(seqs.into_iter().next())
    }

    /// The whole message, without setting \Seen.
    pub async fn fetch_body(&mut self, uid: u32) -> Result<Option<Vec<u8>>, SyncError> {
        Ok(self
            .fetch_bodies(&uid.to_string())
            .await?
            .into_iter()
            .find(|(u, _)| *u == uid)
            .map(|(_, raw)| raw))
    }

    /// Whole messages for a UID set, without setting \Seen: (uid, bytes). Fetched in pieces of
    /// [`BODY_PIECE`]: async-imap's buffer grows to the largest response and keeps that size,
    /// and the framing layer holds a response whole, so a 50 MB message fetched at once cost
    /// 150 MB on top of the message itself.
    pub async fn fetch_bodies(&mut self, set: &str) -> Result<Vec<(u32, Vec<u8>)>, SyncError> {
        let wire = self.expect_answer();
        let query = format!("(UID RFC822.SIZE BODY.PEEK[]<0.{BODY_PIECE}>)");
        let stream = timed(IO_TIMEOUT, "FETCH BODY", async {
            Ok::<_, SyncError>(self.session.uid_fetch(set, &query).await?)
        })
        .await?;
        let firsts = collect(&wire, "FETCH BODY", stream, |f| {
            Some((f.uid?, f.size, f.body().unwrap_or_default().to_vec()))
        })
        .await?;
        self.drain();
        let mut out = Vec::with_capacity(firsts.len());
        for (uid, size, first) in firsts {
            if first.len() < BODY_PIECE as usize {
                out.push((uid, first));
            } else if let Some(raw) = self.rest_of_body(uid, first, size).await? {
                out.push((uid, raw));
            }
        }
        Ok(out)
    }

    /// The message `uid` whose first piece is `raw`, the rest fetched a piece at a time; None
    /// when it is gone meanwhile. `size`: its RFC822.SIZE, to reserve the memory once.
    async fn rest_of_body(
        &mut self,
        uid: u32,
        mut raw: Vec<u8>,
        size: Option<u32>,
    ) -> Result<Option<Vec<u8>>, SyncError> {
        if let Some(size) = size {
            raw.reserve_exact((size as usize).saturating_sub(raw.len()));
        }
        loop {
            let wire = self.expect_answer();
            let query = format!("(UID BODY.PEEK[]<{}.{BODY_PIECE}>)", raw.len());
            let stream = timed(IO_TIMEOUT, "FETCH BODY", async {
                Ok::<_, SyncError>(self.session.uid_fetch(uid.to_string(), &query).await?)
            })
            .await?;
            let pieces = collect(&wire, "FETCH BODY", stream, |f| {
                (f.uid == Some(uid)).then(|| f.body().unwrap_or_default().to_vec())
            })
            .await?;
            self.drain();
            let Some(piece) = pieces.into_iter().next() else {
                return Ok(None);
            };
            raw.extend_from_slice(&piece);
            if piece.len() < BODY_PIECE as usize {
                return Ok(Some(raw));
            }
        }
    }

    /// The header and the first `max` bytes of the text of messages in a UID set, without
    /// setting \Seen: enough to read and index a message whose attachments are over the offline
    /// limit. Returns (uid, header followed by the text start).
    pub async fn fetch_texts(
        &mut self,
        set: &str,
        max: u32,
    ) -> Result<Vec<(u32, Vec<u8>)>, SyncError> {
        let query = format!("(UID BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.{max}>)");
        let wire = self.expect_answer();
        let stream = timed(IO_TIMEOUT, "FETCH TEXT", async {
            Ok::<_, SyncError>(self.session.uid_fetch(set, &query).await?)
        })
        .await?;
        let texts = collect(&wire, "FETCH TEXT", stream, |f| {
            let mut raw = f.header()?.to_vec();
            raw.extend_from_slice(f.text().unwrap_or_default());
            Some((f.uid?, raw))
        })
        .await?;
        self.drain();
        Ok(texts)
    }

    /// IDLE on the selected mailbox until the server reports a change, `until` passes, or
    /// `interrupt` fires; returns everything the server said (`changed()` tells whether the
    /// mailbox changed). Changes already
    /// reported alongside earlier commands end it at once. DONE has its own timeout: a link
    /// that cannot answer it is dead.
    pub async fn idle(
        &mut self,
        until: Duration,
        interrupt: impl Future<Output = ()>,
    ) -> Result<Untagged, SyncError> {
        self.drain();
        let mut u = std::mem::take(&mut self.pending);
        if u.changed() {
            return Ok(u);
        }
        let id = timed(IO_TIMEOUT, "IDLE", async {
            Ok::<_, SyncError>(self.session.run_command("IDLE").await?)
        })
        .await?;
        let host = self.host.clone();
        loop {
            let step = self
                .next_response(IO_TIMEOUT, "IDLE", |r| match r {
                    Response::Continue(_) => Some(Ok(())),
                    Response::Done { tag, outcome, .. } if *tag == id => Some(Err(SyncError::new(
                        ErrorKind::Protocol,
                        format!(
                            "{host} refused IDLE: {}",
                            crate::domain::sanitize::line(
                                outcome.information.as_deref().unwrap_or("")
                            )
                        ),
                    ))),
                    other => {
                        u.absorb(other);
                        None
                    }
                })
                .await?;
            match step {
                Some(Ok(())) => break,
                Some(Err(e)) => return Err(e),
                None => {}
            }
        }
        let deadline = tokio::time::Instant::now() + until;
        let mut interrupt = std::pin::pin!(interrupt);
        while !u.changed() {
            tokio::select! {
                r = tokio::time::timeout_at(deadline, self.session.read_response()) => match r {
                    Err(_) => break, // quiet until the deadline
                    Ok(Err(e)) => return Err(SyncError::io(e)),
                    Ok(Ok(None)) => {
                        return Err(SyncError::new(ErrorKind::Network, format!("{host} closed the connection")));
                    }
                    Ok(Ok(Some(r))) => {
                        if let Response::Data { status: Status::Bye, .. } = r.parsed() {
                            return Err(SyncError::new(ErrorKind::Network, format!("{host} closed the connection")));
                        }
                        u.absorb(r.parsed());
                        // A response the wire could not read may have been about the mailbox.
                        u.unplaced |= self.wire_moved();
                    }
                },
                _ = &mut interrupt => break,
            }
        }
        timed(Duration::from_secs(15), "IDLE DONE", async {
            Ok::<_, SyncError>(self.session.run_command_untagged("DONE").await?)
        })
        .await?;
        self.finish(&id, "IDLE DONE", Duration::from_secs(15), &mut u)
            .await?;
        Ok(u)
    }

    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

/// Add what `b` reported to `a` (b came later).
fn merge(a: &mut Untagged, b: Untagged) {
    if b.exists.is_some() {
        a.exists = b.exists;
    }
    a.expunges += b.expunges;
    a.vanished.extend(b.vanished);
    a.flags.extend(b.flags);
    a.unplaced |= b.unplaced;
    a.fetch_modseq = a.fetch_modseq.max(b.fetch_modseq);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn absorb_all(lines: &[&str]) -> Untagged {
        let mut u = Untagged::default();
        for line in lines {
            let (rest, r) = Response::parse(line.as_bytes()).expect(line);
            assert!(rest.is_empty(), "{line}");
            u.absorb(&r);
        }
        u
    }

    #[test]
    fn a_qresync_select_answer_gives_state_vanished_and_flags() {
        let u = absorb_all(&[
            "* OK [CLOSED] Previous mailbox closed.\r\n",
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
            "* 7 EXISTS\r\n",
            "* OK [UIDVALIDITY 1700000000] UIDs valid\r\n",
            "* OK [UIDNEXT 12] Predicted next UID\r\n",
            "* OK [HIGHESTMODSEQ 42] Highest\r\n",
            "* VANISHED (EARLIER) 2:3,9\r\n",
            "* 4 FETCH (UID 8 FLAGS (\\Seen $Important) MODSEQ (40))\r\n",
            "* 5 FETCH (UID 10 FLAGS () MODSEQ (41))\r\n",
        ]);
        assert_eq!(
            u.selected(),
            Selected {
                exists: 7,
                uidvalidity: Some(1_700_000_000),
                uidnext: Some(12),
                highestmodseq: Some(42),
            }
        );
        // EARLIER does not lower EXISTS: it is about messages the count already leaves out.
        assert_eq!(u.vanished, [(2, 3), (9, 9)]);
        assert_eq!(u.flags.len(), 2);
        assert_eq!(u.flags[0].0, 8);
        assert!(u.flags[0].1.seen && u.flags[0].1.keywords == ["$Important"]);
        assert!(!u.flags[1].1.seen);
        assert_eq!(u.fetch_modseq, Some(41));
        assert!(u.changed() && u.placeable());
    }

    #[test]
    fn what_came_before_closed_belonged_to_the_previous_mailbox() {
        let u = absorb_all(&[
            "* 3 FETCH (UID 99 FLAGS (\\Seen) MODSEQ (5))\r\n",
            "* OK [CLOSED] Previous mailbox closed.\r\n",
            "* 2 EXISTS\r\n",
        ]);
        assert!(u.flags.is_empty());
        assert_eq!(u.exists, Some(2));
    }

    #[test]
    fn idle_changes_without_uids_need_a_resync() {
        let u = absorb_all(&["* 9 EXISTS\r\n", "* VANISHED 4\r\n"]);
        // A plain VANISHED lowers the count like EXPUNGE.
        assert_eq!(u.exists, Some(8));
        assert!(u.placeable());
        let u = absorb_all(&["* 3 EXPUNGE\r\n"]);
        assert!(u.changed() && !u.placeable());
        let u = absorb_all(&["* 3 FETCH (FLAGS (\\Seen))\r\n"]);
        assert!(u.changed() && !u.placeable());
        let u = absorb_all(&["* OK Still here\r\n"]);
        assert!(!u.changed());
    }

    #[test]
    fn compression_defaults_off_on_loopback_only() {
        let mut server = crate::config::Config::parse(
            "[[account]]\nname = \"a\"\nemail = \"a@b.c\"\n[account.imap]\nhost = \"imap.example.com\"\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap()
        .accounts[0]
            .imap
            .clone()
            .unwrap();
        assert!(want_compress(&server));
        for host in ["localhost", "127.0.0.1", "::1", "[::1]"] {
            server.host = host.into();
            assert!(!want_compress(&server), "{host}");
        }
        server.compress = Some(true);
        assert!(want_compress(&server));
        server.host = "imap.example.com".into();
        server.compress = Some(false);
        assert!(!want_compress(&server));
    }
}
