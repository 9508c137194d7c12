//! Changing a mailbox: UID STORE, MOVE or COPY, exact EXPUNGE, APPEND; and checking which
//! UIDs are still there first.

use super::*;

impl Imap {
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
            let again = crate::sync::plan::uid_set(&missed);
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
            for (uid, flags) in self.uid_flags(&crate::sync::plan::uid_set(chunk)).await? {
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
            let set = crate::sync::plan::uid_set(chunk);
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
}
