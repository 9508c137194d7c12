//! Mailboxes: LIST (with SPECIAL-USE roles), SELECT (with QRESYNC) and STATUS.

use super::*;

/// A mailbox name as an IMAP quoted string.
pub(super) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The mailbox state STATUS reported.
pub(super) fn status_of(mb: &async_imap::types::Mailbox) -> Selected {
    Selected {
        exists: mb.exists,
        uidvalidity: mb.uid_validity,
        uidnext: mb.uid_next,
        highestmodseq: mb.highest_modseq,
    }
}

impl Imap {
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

    pub(super) async fn list_with(&mut self, pattern: &str) -> Result<Vec<Listed>, SyncError> {
        let wire = self.expect_answer();
        let stream = timed(IO_TIMEOUT, "LIST", async {
            Ok::<_, SyncError>(self.session.list(Some(""), Some(pattern)).await?)
        })
        .await?;
        collect(&wire, "LIST", stream, |n| {
            let mut special = None;
            let mut subscribed = false;
            let mut selectable = true;
            let mut aggregate = false;
            for a in n.attributes() {
                match a {
                    NameAttribute::NoSelect => selectable = false,
                    NameAttribute::All | NameAttribute::Flagged => aggregate = true,
                    NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\Important") => {
                        aggregate = true
                    }
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
                aggregate,
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
}
