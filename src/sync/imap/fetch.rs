//! Reading messages: header rows, flags, bodies and texts by FETCH; UIDs by SEARCH.

use super::*;

/// A FETCH answer without the section that was asked for: the server telling of a flag change
/// on its own (RFC 3501 7.4.2), e.g. another client's STORE while a body is fetched. Its flags
/// by UID; (0, _) when it cannot be placed (no UID, or no flags: the mailbox is resynced).
fn stray_of(f: &Fetch, stray: &mut Vec<(u32, Flags)>) {
    let placed = f.uid.filter(|_| f.flags().next().is_some());
    match placed {
        Some(uid) => stray.push((uid, flags_of(f))),
        None => stray.push((0, Flags::default())),
    }
}

/// FLAGS in the answer to a FETCH that did not ask for them: the server telling of a change
/// in the same response (Cyrus does, when another client changed the message meanwhile).
fn flags_alongside(f: &Fetch, stray: &mut Vec<(u32, Flags)>) {
    if let Some(uid) = f.uid
        && f.flags().next().is_some()
    {
        stray.push((uid, flags_of(f)));
    }
}

pub(super) fn flags_of(f: &Fetch) -> Flags {
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

impl Imap {
    /// List-row data for a sequence set (`uid = false`) or a UID set.
    pub async fn fetch_headers(
        &mut self,
        set: &str,
        uid: bool,
    ) -> Result<Vec<HeaderRow>, SyncError> {
        let labels = if self.gmail() { " X-GM-LABELS" } else { "" };
        let query = format!(
            "(UID FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE{labels} BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
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
                stray_of(f, &mut stray);
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
                labels: f.gmail_labels().map(|l| gmail::of(l)).unwrap_or_default(),
            })
        })
        .await?;
        self.drain();
        self.keep_stray(stray);
        Ok(rows)
    }

    /// Flag changes the server told of on its own during a FETCH (see [`stray_of`]): applied
    /// by the engine with the other untagged news.
    fn keep_stray(&mut self, stray: Vec<(u32, Flags)>) {
        for (uid, flags) in stray {
            if uid == 0 {
                self.pending.unplaced = true;
            } else {
                self.pending.flags.push((uid, flags));
            }
        }
    }

    /// Flags of every message, or (with CONDSTORE) of those changed since `modseq`; with
    /// X-GM-EXT-1 their Gmail labels too (a label change moves MODSEQ as a flag change does).
    /// Read straight off the responses: a large answer never passes through async-imap's
    /// channel.
    pub async fn fetch_flags(
        &mut self,
        changed_since: Option<u64>,
    ) -> Result<FlagFetch, SyncError> {
        let items = if self.gmail() {
            "UID FLAGS X-GM-LABELS"
        } else {
            "UID FLAGS"
        };
        let cmd = match changed_since {
            Some(m) => format!("UID FETCH 1:* ({items}) (CHANGEDSINCE {m})"),
            None => format!("UID FETCH 1:* ({items})"),
        };
        let mut u = Untagged::default();
        self.command(&cmd, "FETCH FLAGS", &mut u).await?;
        let got = FlagFetch {
            flags: std::mem::take(&mut u.flags),
            labels: std::mem::take(&mut u.labels),
        };
        // New mail or expunges reported meanwhile are kept for the engine.
        merge(&mut self.pending, u);
        Ok(got)
    }

    /// The flags of a UID set (of those that exist).
    pub(super) async fn uid_flags(&mut self, set: &str) -> Result<Vec<(u32, Flags)>, SyncError> {
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
    pub(super) async fn uid_search(&mut self, query: &str) -> Result<Vec<u32>, SyncError> {
        let mut u = Untagged::default();
        self.command(&format!("UID SEARCH {query}"), "UID SEARCH", &mut u)
            .await?;
        let mut v = std::mem::take(&mut u.searched);
        merge(&mut self.pending, u);
        v.sort_unstable();
        v.dedup();
        Ok(v)
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
        let mut stray = Vec::new();
        let firsts = collect(&wire, "FETCH BODY", stream, |f| {
            let Some(body) = f.body() else {
                stray_of(f, &mut stray);
                return None;
            };
            flags_alongside(f, &mut stray);
            Some((f.uid?, f.size, body.to_vec()))
        })
        .await?;
        self.drain();
        self.keep_stray(stray);
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
    pub(super) async fn rest_of_body(
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
            let mut stray = Vec::new();
            let pieces = collect(&wire, "FETCH BODY", stream, |f| {
                let Some(body) = f.body() else {
                    stray_of(f, &mut stray);
                    return None;
                };
                flags_alongside(f, &mut stray);
                (f.uid == Some(uid)).then(|| body.to_vec())
            })
            .await?;
            self.drain();
            self.keep_stray(stray);
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
        let mut stray = Vec::new();
        let texts = collect(&wire, "FETCH TEXT", stream, |f| {
            let Some(header) = f.header() else {
                stray_of(f, &mut stray);
                return None;
            };
            flags_alongside(f, &mut stray);
            let mut raw = header.to_vec();
            raw.extend_from_slice(f.text().unwrap_or_default());
            Some((f.uid?, raw))
        })
        .await?;
        self.drain();
        self.keep_stray(stray);
        Ok(texts)
    }
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
