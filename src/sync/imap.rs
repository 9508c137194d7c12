//! A thin adapter over async-imap: connect (TLS or STARTTLS, never a plain fallback), log in,
//! list, select, fetch. Every network step has a timeout; unsolicited responses are drained
//! after each command so async-imap's bounded channel never fills and drops them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_imap::imap_proto::BodyStructure;
use async_imap::types::{Fetch, Flag, NameAttribute};
use async_imap::{Client, Session};
use futures::{Stream, StreamExt};
use rustls::ClientConfig;

use super::plan::Selected;
use super::{ErrorKind, SyncError, mutf7};
use crate::config::{Secret, Security, ServerConfig};
use crate::domain::{Flags, Role};
use crate::net::{self, BoxStream, timed};

/// How long any one IMAP command (or one FETCH item) may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// The header fields the cache keeps (list rows and threading).
const HEADER_FIELDS: &str = "DATE FROM TO CC SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES LIST-ID";

/// Server capabilities, upper-cased.
#[derive(Debug, Clone, Default)]
pub struct Caps(HashSet<String>);

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

/// Why an IDLE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleOutcome {
    /// The server reported a change (EXISTS, EXPUNGE, FETCH).
    Changed,
    /// Nothing happened for the keepalive period.
    Quiet,
    /// The engine asked to stop idling (a command is waiting).
    Interrupted,
}

pub struct Imap {
    session: Session<BoxStream>,
    pub caps: Caps,
    pub host: String,
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

/// The mailbox state SELECT or STATUS reported.
fn selected(mb: &async_imap::types::Mailbox) -> Selected {
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

/// Read the server's greeting (bounded), before any command.
async fn read_greeting<T>(client: &mut Client<T>, host: &str) -> Result<(), SyncError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let greeting = timed(IO_TIMEOUT, "the IMAP greeting", async {
        client
            .read_response()
            .await
            .map_err(|e| SyncError::new(ErrorKind::Network, e.to_string()))
    })
    .await?;
    match greeting {
        Some(_) => Ok(()),
        None => Err(SyncError::new(
            ErrorKind::Network,
            format!("{host} closed the connection before its greeting"),
        )),
    }
}
impl Imap {
    /// Connect, secure, log in, and turn on the extensions tern uses.
    pub async fn connect(
        server: &ServerConfig,
        password: Option<&Secret>,
        tls: Arc<ClientConfig>,
    ) -> Result<Imap, SyncError> {
        let host = server.host.as_str();
        let stream: BoxStream = match server.security {
            Security::Tls => net::connect_tls(host, server.port, tls).await?,
            Security::StartTls => {
                let mut client = Client::new(net::connect_tcp(host, server.port).await?);
                read_greeting(&mut client, host).await?;
                timed(IO_TIMEOUT, "STARTTLS", async {
                    client.run_command_and_check_ok("STARTTLS", None).await.map_err(|e| {
                        SyncError::new(
                            ErrorKind::Tls,
                            format!(
                                "{host} did not accept STARTTLS ({}); refusing to continue without encryption",
                                crate::domain::sanitize::line(&e.to_string())
                            ),
                        )
                    })
                })
                .await?;
                Box::new(net::start_tls(client.into_inner(), host, tls).await?)
            }
            Security::None => Box::new(net::connect_tcp(host, server.port).await?),
        };
        let mut client = Client::new(stream);
        if server.security != Security::StartTls {
            read_greeting(&mut client, host).await?;
        }
        let password = password.ok_or_else(|| {
            SyncError::new(
                ErrorKind::Auth,
                format!("no password configured for {host}"),
            )
        })?;
        let user = server.username.clone();
        let session = timed(IO_TIMEOUT, "LOGIN", async {
            client
                .login(&user, password.expose())
                .await
                .map_err(|(e, _)| match e {
                    async_imap::error::Error::No(text) => SyncError::new(
                        ErrorKind::Auth,
                        format!(
                            "{host} refused the login for {user}: {}",
                            crate::domain::sanitize::line(&text)
                        ),
                    ),
                    other => other.into(),
                })
        })
        .await?;
        let mut imap = Imap {
            session,
            caps: Caps::default(),
            host: host.to_string(),
        };
        let caps = timed(IO_TIMEOUT, "CAPABILITY", async {
            Ok::<_, SyncError>(imap.session.capabilities().await?)
        })
        .await?;
        imap.caps = Caps(
            caps.iter()
                .map(|c| match c {
                    async_imap::types::Capability::Imap4rev1 => "IMAP4REV1".to_string(),
                    async_imap::types::Capability::Auth(a) => {
                        format!("AUTH={}", a.to_ascii_uppercase())
                    }
                    async_imap::types::Capability::Atom(a) => a.to_ascii_uppercase(),
                })
                .collect(),
        );
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

    /// CONDSTORE (or QRESYNC, which implies it) is on.
    pub fn condstore(&self) -> bool {
        self.caps.has("CONDSTORE") || self.caps.has("QRESYNC")
    }

    /// Throw away unsolicited responses: the engine re-reads mailbox state with SELECT, and a full
    /// channel would make async-imap drop later ones silently.
    fn drain(&mut self) {
        while self.session.unsolicited_responses.try_recv().is_ok() {}
    }

    async fn simple(&mut self, cmd: &str) -> Result<(), SyncError> {
        let r = timed(IO_TIMEOUT, cmd, async {
            Ok::<_, SyncError>(self.session.run_command_and_check_ok(cmd).await?)
        })
        .await;
        self.drain();
        r
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
                let stream = timed(IO_TIMEOUT, "LSUB", async {
                    Ok::<_, SyncError>(self.session.lsub(Some(""), Some("*")).await?)
                })
                .await?;
                let names = collect(stream, |n| Some(n.name().to_string())).await?;
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
        let stream = timed(IO_TIMEOUT, "LIST", async {
            Ok::<_, SyncError>(self.session.list(Some(""), Some(pattern)).await?)
        })
        .await?;
        collect(stream, |n| {
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

    pub async fn select(&mut self, wire: &str) -> Result<Selected, SyncError> {
        let condstore = self.condstore();
        let mb = timed(IO_TIMEOUT, "SELECT", async {
            Ok::<_, SyncError>(if condstore {
                self.session.select_condstore(wire).await?
            } else {
                self.session.select(wire).await?
            })
        })
        .await?;
        self.drain();
        Ok(selected(&mb))
    }

    /// STATUS of a mailbox, with HIGHESTMODSEQ when CONDSTORE is on: much cheaper than SELECT
    /// on a large mailbox, so unchanged mailboxes are recognised without selecting them.
    pub async fn status(&mut self, wire: &str) -> Result<Selected, SyncError> {
        let items = if self.condstore() {
            "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)"
        } else {
            "(MESSAGES UIDNEXT UIDVALIDITY)"
        };
        let mb = timed(IO_TIMEOUT, "STATUS", async {
            Ok::<_, SyncError>(self.session.status(wire, items).await?)
        })
        .await?;
        self.drain();
        Ok(selected(&mb))
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
        let stream = timed(IO_TIMEOUT, "FETCH", async {
            Ok::<_, SyncError>(if uid {
                self.session.uid_fetch(set, &query).await?.boxed()
            } else {
                self.session.fetch(set, &query).await?.boxed()
            })
        })
        .await?;
        let rows = collect(stream, |f| {
            Some(HeaderRow {
                seq: f.message,
                uid: f.uid?,
                flags: flags_of(f),
                internal_date: f.internal_date().map(|d| d.timestamp()),
                size: f.size.unwrap_or(0),
                has_attachments: f.bodystructure().is_some_and(has_attachments),
                header: f.header().unwrap_or_default().to_vec(),
            })
        })
        .await?;
        self.drain();
        Ok(rows)
    }

    /// Flags of every message, or (with CONDSTORE) of those changed since `modseq`.
    pub async fn fetch_flags(
        &mut self,
        changed_since: Option<u64>,
    ) -> Result<Vec<(u32, Flags)>, SyncError> {
        let query = match changed_since {
            Some(m) => format!("(UID FLAGS) (CHANGEDSINCE {m})"),
            None => "(UID FLAGS)".to_string(),
        };
        let stream = timed(IO_TIMEOUT, "FETCH FLAGS", async {
            Ok::<_, SyncError>(self.session.uid_fetch("1:*", &query).await?)
        })
        .await?;
        let rows = collect(stream, |f| Some((f.uid?, flags_of(f)))).await?;
        self.drain();
        Ok(rows)
    }

    /// Every UID in the selected mailbox, ascending.
    pub async fn uids(&mut self) -> Result<Vec<u32>, SyncError> {
        let set = timed(IO_TIMEOUT, "UID SEARCH", async {
            Ok::<_, SyncError>(self.session.uid_search("ALL").await?)
        })
        .await?;
        self.drain();
        let mut v: Vec<u32> = set.into_iter().collect();
        v.sort_unstable();
        Ok(v)
    }

    /// The sequence number of a UID in the selected mailbox, if it still exists.
    pub async fn seq_of(&mut self, uid: u32) -> Result<Option<u32>, SyncError> {
        let stream = timed(IO_TIMEOUT, "FETCH UID", async {
            Ok::<_, SyncError>(self.session.uid_fetch(uid.to_string(), "(UID)").await?)
        })
        .await?;
        let seqs = collect(stream, |f| (f.uid == Some(uid)).then_some(f.message)).await?;
        self.drain();
        Ok(seqs.into_iter().next())
    }

    /// The whole message, without setting \Seen.
    pub async fn fetch_body(&mut self, uid: u32) -> Result<Option<Vec<u8>>, SyncError> {
        let stream = timed(IO_TIMEOUT, "FETCH BODY", async {
            Ok::<_, SyncError>(
                self.session
                    .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                    .await?,
            )
        })
        .await?;
        let bodies = collect(stream, |f| {
            (f.uid == Some(uid)).then(|| f.body().unwrap_or_default().to_vec())
        })
        .await?;
        self.drain();
        Ok(bodies.into_iter().next())
    }

    /// Whole messages for a UID set, without setting \Seen: (uid, bytes).
    pub async fn fetch_bodies(&mut self, set: &str) -> Result<Vec<(u32, Vec<u8>)>, SyncError> {
        let stream = timed(IO_TIMEOUT, "FETCH BODY", async {
            Ok::<_, SyncError>(self.session.uid_fetch(set, "(UID BODY.PEEK[])").await?)
        })
        .await?;
        let bodies = collect(stream, |f| Some((f.uid?, f.body()?.to_vec()))).await?;
        self.drain();
        Ok(bodies)
    }

    /// IDLE on the selected mailbox until the server reports something, `keepalive` passes
    /// with no word from the server, or `interrupt` fires. DONE has its own timeout: a link
    /// that cannot answer it is dead.
    pub async fn idle(
        self,
        keepalive: Duration,
        interrupt: impl Future<Output = ()>,
    ) -> Result<(Imap, IdleOutcome), SyncError> {
        let Imap {
            session,
            caps,
            host,
        } = self;
        let mut handle = session.idle();
        timed(IO_TIMEOUT, "IDLE", async {
            Ok::<_, SyncError>(handle.init().await?)
        })
        .await?;
        let outcome = {
            let (wait, stop) = handle.wait_with_timeout(keepalive);
            let mut stop = Some(stop);
            let mut wait = std::pin::pin!(wait);
            let mut interrupt = std::pin::pin!(interrupt);
            let mut interrupted = false;
            loop {
                tokio::select! {
                    r = &mut wait => break match r? {
                        async_imap::extensions::idle::IdleResponse::NewData(_) => IdleOutcome::Changed,
                        async_imap::extensions::idle::IdleResponse::Timeout => IdleOutcome::Quiet,
                        async_imap::extensions::idle::IdleResponse::ManualInterrupt if interrupted => {
                            IdleOutcome::Interrupted
                        }
                        // The stream ended: the server closed the connection.
                        async_imap::extensions::idle::IdleResponse::ManualInterrupt => {
                            return Err(SyncError::new(ErrorKind::Network, format!("{host} closed the connection")));
                        }
                    },
                    _ = &mut interrupt, if !interrupted => {
                        interrupted = true;
                        stop.take(); // dropping the stop source ends the wait
                    }
                }
            }
        };
        let session = timed(Duration::from_secs(15), "IDLE DONE", async {
            Ok::<_, SyncError>(handle.done().await?)
        })
        .await?;
        let mut imap = Imap {
            session,
            caps,
            host,
        };
        imap.drain();
        Ok((imap, outcome))
    }

    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

/// Read a response stream to its end (async-imap needs every stream exhausted), mapping each
/// item and giving each item [`IO_TIMEOUT`].
async fn collect<T, R, S>(
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
            Ok(None) => return Ok(out),
            Ok(Some(item)) => {
                if let Some(r) = map(&item?) {
                    out.push(r);
                }
            }
        }
    }
}
