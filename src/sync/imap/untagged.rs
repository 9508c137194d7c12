//! What the server says unasked: the untagged responses of the selected mailbox gathered
//! while a command or IDLE runs.

use super::*;

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
    /// Gmail's labels by UID, from FETCH responses that carry X-GM-LABELS (cleaned).
    pub labels: Vec<(u32, Vec<String>)>,
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
            || !self.labels.is_empty()
            || self.unplaced
    }

    /// Whether the engine can apply these changes by UID alone, with no resync.
    pub fn placeable(&self) -> bool {
        self.expunges == 0 && !self.unplaced
    }

    pub(super) fn absorb(&mut self, r: &Response<'_>) {
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
                let (mut uid, mut flags, mut labels) = (None, None, None);
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
                        AttributeValue::GmailLabels(l) => labels = Some(super::gmail::of(l)),
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
                if let (Some(uid), Some(labels)) = (uid, labels) {
                    self.labels.push((uid, labels));
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

    pub(super) fn copy_uids(
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

    pub(super) fn selected(&self) -> Selected {
        Selected {
            exists: self.exists.unwrap_or(0),
            uidvalidity: self.uidvalidity,
            uidnext: self.uidnext,
            highestmodseq: self.highestmodseq,
        }
    }
}

/// Add what `b` reported to `a` (b came later).
pub(super) fn merge(a: &mut Untagged, b: Untagged) {
    if b.exists.is_some() {
        a.exists = b.exists;
    }
    a.expunges += b.expunges;
    a.vanished.extend(b.vanished);
    a.flags.extend(b.flags);
    a.labels.extend(b.labels);
    a.unplaced |= b.unplaced;
    a.fetch_modseq = a.fetch_modseq.max(b.fetch_modseq);
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
    fn gmail_labels_in_fetch_responses_are_kept_by_uid_and_cleaned() {
        let u = absorb_all(&[
            "* 4 FETCH (UID 8 FLAGS (\\Seen) X-GM-LABELS (\"\\\\Inbox\" Work \"&AOk-t&AOk-\") MODSEQ (40))\r\n",
            "* 5 FETCH (X-GM-LABELS () UID 9 FLAGS ())\r\n",
            "* 6 FETCH (X-GM-LABELS (Lost))\r\n",
        ]);
        assert_eq!(
            u.labels,
            [
                (8, vec!["Inbox".to_string(), "Work".into(), "été".into()]),
                (9, vec![])
            ]
        );
        assert_eq!(u.flags.len(), 2);
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
}
