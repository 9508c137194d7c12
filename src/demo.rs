//! Demo mode: the bundled mail in `assets/demo/` imported into a cache, no network.
//!
//! Layout of the assets: `<account>/<folder path>/<name>.eml`, with an optional
//! `<name>.flags` beside a message holding its IMAP flags (no file = unread).

use include_dir::{Dir, DirEntry, include_dir};

use crate::domain::message;
use crate::domain::{Flags, Role, Uid};
use crate::store::{AccountKind, NewMessage, Store, StoreError};

static DEMO: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets/demo");

/// Address of each demo account, by directory name.
fn account_email(name: &str) -> &'static str {
    match name {
        "work" => "robin.quill@northwind.example",
        _ => "robin@quill.example",
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportStats {
    pub accounts: usize,
    pub mailboxes: usize,
    pub messages: usize,
}

fn collect<'a>(dir: &'a Dir<'a>, out: &mut Vec<&'a include_dir::File<'a>>) {
    for e in dir.entries() {
        match e {
            DirEntry::Dir(d) => collect(d, out),
            DirEntry::File(f) => {
                if f.path().extension().is_some_and(|x| x == "eml") {
                    out.push(f);
                }
            }
        }
    }
}

/// Import every bundled message into `store`. Messages get UIDs in date order per folder.
pub fn import(store: &mut Store) -> Result<ImportStats, StoreError> {
    let mut files = Vec::new();
    collect(&DEMO, &mut files);
    // Group by (account, folder).
    let mut groups: std::collections::BTreeMap<(String, String), Vec<&include_dir::File<'_>>> =
        Default::default();
    for f in files {
        let mut comps = f.path().iter().map(|c| c.to_string_lossy().into_owned());
        let Some(account) = comps.next() else {
            continue;
        };
        let rest: Vec<String> = comps.collect();
        if rest.len() < 2 {
            continue; // a file directly under the account dir is not in a folder
        }
        let folder = rest[..rest.len() - 1].join("/");
        groups.entry((account, folder)).or_default().push(f);
    }
    let mut stats = ImportStats::default();
    let mut seen_accounts = std::collections::BTreeSet::new();
    for ((account, folder), files) in groups {
        let acc = store.upsert_account(&account, account_email(&account), AccountKind::Local)?;
        if seen_accounts.insert(account.clone()) {
            stats.accounts += 1;
        }
        let role = Role::guess_from_name(&folder);
        let mb = store.upsert_mailbox(acc, &folder, Some('/'), role)?;
        stats.mailboxes += 1;
        let mut parsed: Vec<(message::MessageMeta, Flags, &[u8])> = files
            .iter()
            .map(|f| {
                let raw = f.contents();
                let flags = DEMO
                    .get_file(f.path().with_extension("flags"))
                    .and_then(|s| s.contents_utf8())
                    .map(Flags::parse)
                    .unwrap_or_default();
                (message::parse(raw).meta, flags, raw)
            })
            .collect();
        parsed.sort_by_key(|(m, _, _)| m.date.unwrap_or(0));
        let batch: Vec<NewMessage<'_>> = parsed
            .into_iter()
            .enumerate()
            .map(|(i, (meta, flags, raw))| NewMessage {
                uid: Uid(i as u32 + 1),
                internal_date: meta.date,
                meta,
                flags,
                raw: Some(raw),
            })
            .collect();
        stats.messages += store.insert_messages(mb, &batch)?.len();
    }
    Ok(stats)
}

/// Who writes from each demo account. Nothing sends (no outbox worker, no server): what is
/// sent stays in the demo cache's outbox, with a copy in the account's Sent folder.
pub fn senders(store: &Store) -> Result<Vec<crate::app::effects::Sender>, StoreError> {
    Ok(store
        .accounts()?
        .into_iter()
        .map(|a| crate::app::effects::Sender {
            account: a.id,
            me: vec![crate::domain::Address {
                name: Some("Robin Quill".into()),
                email: a.email,
            }],
            signatures: Default::default(),
            kick: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_mail_imports_into_two_accounts() {
        let mut s = Store::open_in_memory().unwrap();
        let stats = import(&mut s).unwrap();
        assert_eq!(stats.accounts, 2);
        assert!(stats.messages >= 40, "{stats:?}");
        let boxes = s.mailboxes(None).unwrap();
        assert!(boxes.iter().filter(|m| m.role == Some(Role::Inbox)).count() == 2);
        assert!(boxes.iter().any(|m| m.unread > 0));
        assert!(boxes.iter().any(|m| m.name.contains('/')), "nested folders");
        // Importing again changes nothing (UIDs are stable).
        let again = import(&mut s).unwrap();
        assert_eq!(again.messages, stats.messages);
        let total: u32 = s.mailboxes(None).unwrap().iter().map(|m| m.total).sum();
        assert_eq!(total as usize, stats.messages);
    }
}
