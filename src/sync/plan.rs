//! Pure decisions of the sync engine: what to ask the server, given what the cache holds and
//! what SELECT answered. No I/O here.

use std::collections::BTreeMap;

use crate::domain::Role;
use crate::store::SyncState;

/// What SELECT told us about a mailbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selected {
    pub exists: u32,
    pub uidvalidity: Option<u32>,
    pub uidnext: Option<u32>,
    pub highestmodseq: Option<u64>,
}

/// What the cache holds for a mailbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cached {
    pub state: SyncState,
    pub count: u32,
    /// Smallest and largest cached UID.
    pub uids: Option<(u32, u32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagSync {
    /// Nothing changed since the cached HIGHESTMODSEQ.
    None,
    /// CONDSTORE: only what changed since this MODSEQ.
    ChangedSince(u64),
    /// No CONDSTORE: every message's flags (which also lists every UID).
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxPlan {
    /// UIDVALIDITY changed: drop the cache of this mailbox first.
    pub reset: bool,
    /// Fetch headers of messages with a UID above this (new mail).
    pub new_above: Option<u32>,
    /// The initial sync is not finished: fetch older messages, newest first.
    pub fill: bool,
    pub flags: FlagSync,
}

/// Decide the work for one mailbox.
pub fn mailbox(cached: Cached, sel: Selected, condstore: bool) -> MailboxPlan {
    let reset = matches!((cached.state.uidvalidity, sel.uidvalidity), (Some(a), Some(b)) if a != b);
    let (cached, fresh) = if reset {
        (Cached::default(), true)
    } else {
        (cached, cached.uids.is_none())
    };
    let new_above = match cached.uids {
        Some((_, max)) if sel.uidnext.is_none_or(|next| next > max + 1) => Some(max),
        _ => None,
    };
    let fill = sel.exists > 0 && (fresh || !cached.state.headers_complete);
    let flags = if fresh {
        FlagSync::None // everything fetched now comes with its flags
    } else if condstore {
        match (cached.state.highestmodseq, sel.highestmodseq) {
            (Some(a), Some(b)) if a == b => FlagSync::None,
            (Some(a), Some(_)) => FlagSync::ChangedSince(a),
            _ => FlagSync::All,
        }
    } else {
        FlagSync::All
    };
    MailboxPlan {
        reset,
        new_above,
        fill,
        flags,
    }
}

/// Whether STATUS shows the mailbox exactly as the cache last saw it (needs CONDSTORE's
/// HIGHESTMODSEQ: without it a flag change would go unnoticed).
pub fn unchanged(cached: Cached, status: Selected) -> bool {
    cached.state.headers_complete
        && cached.state.highestmodseq.is_some()
        && status.highestmodseq == cached.state.highestmodseq
        && status.uidvalidity == cached.state.uidvalidity
        && status.uidnext == cached.state.uidnext
        && status.exists == cached.count
}

/// Sequence-number batches to fetch, newest first, for messages `1..=top`: a small first batch
/// so the newest rows appear at once, then larger ones.
pub fn fill_batches(top: u32, first: bool) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut hi = top;
    let mut size = if first { 50 } else { 500 };
    while hi >= 1 {
        let lo = hi.saturating_sub(size - 1).max(1);
        out.push((lo, hi));
        hi = lo - 1;
        size = (size * 4).min(2000);
    }
    out
}

/// A compact IMAP sequence set ("1:5,7,9:12") from ascending numbers.
pub fn uid_set(sorted: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// The items of `a` (ascending) missing from `b` (ascending).
pub fn missing(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}

/// Roles for listed mailboxes `(name, SPECIAL-USE role)`: the config's `[account.folders]`
/// first, then SPECIAL-USE, then INBOX and well-known names for roles nobody claimed yet.
pub fn assign_roles(
    listed: &[(&str, Option<Role>)],
    config: &BTreeMap<Role, String>,
) -> Vec<Option<Role>> {
    let mut roles: Vec<Option<Role>> = listed
        .iter()
        .map(|(name, special)| {
            let configured = config
                .iter()
                .find(|(_, n)| n.as_str() == *name)
                .map(|(r, _)| *r);
            if name.eq_ignore_ascii_case("INBOX") {
                Some(Role::Inbox)
            } else {
                configured.or_else(|| special.filter(|r| !config.contains_key(r)))
            }
        })
        .collect();
    for (i, (name, _)) in listed.iter().enumerate() {
        if roles[i].is_none()
            && let Some(guess) = Role::guess_from_name(name)
            && !roles.contains(&Some(guess))
        {
            roles[i] = Some(guess);
        }
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_config_then_special_use_then_names() {
        let mut config = BTreeMap::new();
        config.insert(Role::Sent, "Sent Items".to_string());
        let listed = [
            ("INBOX", None),
            ("Sent", Some(Role::Sent)),
            ("Sent Items", None),
            ("Spam", None),
            ("Junk", Some(Role::Junk)),
            ("Trash", None),
            ("Projects", None),
        ];
        let roles = assign_roles(&listed, &config);
        assert_eq!(
            roles,
            [
                Some(Role::Inbox),
                None,
                Some(Role::Sent),
                None,
                Some(Role::Junk),
                Some(Role::Trash),
                None
            ]
        );
    }

    fn cached(v: u32, modseq: u64, min: u32, max: u32, complete: bool) -> Cached {
        Cached {
            state: SyncState {
                uidvalidity: Some(v),
                uidnext: Some(max + 1),
                highestmodseq: Some(modseq),
                headers_complete: complete,
            },
            count: max - min + 1,
            uids: Some((min, max)),
        }
    }

    fn sel(v: u32, exists: u32, next: u32, modseq: u64) -> Selected {
        Selected {
            exists,
            uidvalidity: Some(v),
            uidnext: Some(next),
            highestmodseq: Some(modseq),
        }
    }

    #[test]
    fn unchanged_mailbox_needs_nothing() {
        let p = mailbox(cached(1, 50, 1, 100, true), sel(1, 100, 101, 50), true);
        assert_eq!(
            p,
            MailboxPlan {
                reset: false,
                new_above: None,
                fill: false,
                flags: FlagSync::None
            }
        );
    }

    #[test]
    fn status_recognises_an_unchanged_mailbox() {
        let c = cached(1, 50, 1, 100, true);
        assert!(unchanged(c, sel(1, 100, 101, 50)));
        assert!(!unchanged(c, sel(1, 100, 101, 51)), "a flag changed");
        assert!(!unchanged(c, sel(1, 99, 101, 52)), "an expunge");
        assert!(!unchanged(c, sel(2, 100, 101, 50)), "UIDVALIDITY");
        let incomplete = cached(1, 50, 1, 100, false);
        assert!(!unchanged(incomplete, sel(1, 100, 101, 50)));
        let no_modseq = Cached {
            state: SyncState {
                highestmodseq: None,
                ..c.state
            },
            ..c
        };
        assert!(!unchanged(
            no_modseq,
            Selected {
                highestmodseq: None,
                ..sel(1, 100, 101, 0)
            }
        ));
    }

    #[test]
    fn new_mail_and_flag_changes() {
        let p = mailbox(cached(1, 50, 1, 100, true), sel(1, 102, 103, 57), true);
        assert_eq!(p.new_above, Some(100));
        assert_eq!(p.flags, FlagSync::ChangedSince(50));
        let p = mailbox(cached(1, 50, 1, 100, true), sel(1, 100, 101, 50), false);
        assert_eq!(
            p.flags,
            FlagSync::All,
            "without CONDSTORE every flag is compared"
        );
    }

    #[test]
    fn uidvalidity_change_resets_and_refills() {
        let p = mailbox(cached(1, 50, 1, 100, true), sel(2, 3, 4, 5), true);
        assert!(p.reset && p.fill);
        assert_eq!(p.new_above, None);
        assert_eq!(p.flags, FlagSync::None);
    }

    #[test]
    fn interrupted_initial_sync_resumes() {
        let p = mailbox(
            cached(1, 50, 900, 1000, false),
            sel(1, 1000, 1001, 50),
            true,
        );
        assert!(p.fill && !p.reset);
        let empty = mailbox(Cached::default(), sel(1, 0, 1, 1), true);
        assert!(!empty.fill);
    }

    #[test]
    fn batches_cover_everything_newest_first() {
        let b = fill_batches(3000, true);
        assert_eq!(b[0], (2951, 3000));
        assert_eq!(b[1], (2751, 2950));
        assert_eq!(b.last().unwrap().0, 1);
        let n: u32 = b.iter().map(|(lo, hi)| hi - lo + 1).sum();
        assert_eq!(n, 3000);
        assert!(fill_batches(0, true).is_empty());
    }

    #[test]
    fn sets_and_diffs() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(missing(&[1, 2, 3, 5], &[2, 5, 9]), [1, 3]);
    }
}
