use super::*;
use crate::domain::message;
use crate::domain::triage::FlagName;

fn msg(uid: u32, raw: &str) -> (Uid, Vec<u8>) {
    (Uid(uid), raw.replace('\n', "\r\n").into_bytes())
}

fn insert(store: &mut Store, mb: MailboxId, items: &[(Uid, Vec<u8>)], seen: bool) -> Vec<MsgId> {
    let batch: Vec<NewMessage<'_>> = items
        .iter()
        .map(|(uid, raw)| NewMessage {
            uid: *uid,
            meta: message::parse(raw).meta,
            flags: Flags {
                seen,
                ..Default::default()
            },
            internal_date: Some(1_700_000_000),
            raw: Some(raw),
        })
        .collect();
    store.insert_messages(mb, &batch).unwrap()
}

fn setup() -> (Store, AccountId, MailboxId) {
    let mut s = Store::open_in_memory().unwrap();
    let a = s
        .upsert_account("work", "me@example.com", AccountKind::Imap)
        .unwrap();
    let mb = s
        .upsert_mailbox(a, "INBOX", Some('/'), Some(Role::Inbox))
        .unwrap();
    (s, a, mb)
}

#[test]
fn fresh_database_is_at_latest_schema() {
    let s = Store::open_in_memory().unwrap();
    assert_eq!(s.schema_version().unwrap(), schema::MIGRATIONS.len() as i64);
}

#[test]
fn reopening_keeps_data_and_refuses_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open_in_dir(dir.path()).unwrap();
        let a = s
            .upsert_account("work", "me@example.com", AccountKind::Imap)
            .unwrap();
        s.outbox_push(a, "me@example.com", &["you@example.com".into()], b"raw")
            .unwrap();
        s.pending_push(a, "flag", None, "{}").unwrap();
    }
    {
        let s = Store::open_in_dir(dir.path()).unwrap();
        let a = s.accounts().unwrap()[0].id;
        assert_eq!(s.outbox_waiting(a).unwrap(), 1);
        assert_eq!(s.pending_count(a).unwrap(), 1);
        s.conn.pragma_update(None, "user_version", 999).unwrap();
    }
    match Store::open_in_dir(dir.path()) {
        Err(StoreError::TooNew { found: 999, .. }) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

#[test]
fn ids_are_stable_when_a_mailbox_is_upserted_again() {
    let (mut s, a, mb) = setup();
    assert_eq!(
        s.upsert_mailbox(a, "INBOX", Some('/'), Some(Role::Inbox))
            .unwrap(),
        mb
    );
    assert_eq!(
        s.upsert_account("work", "new@example.com", AccountKind::Imap)
            .unwrap(),
        a
    );
    assert_eq!(s.accounts().unwrap()[0].email, "new@example.com");
}

#[test]
fn envelopes_newest_first_with_counts() {
    let (mut s, _a, mb) = setup();
    insert(
        &mut s,
        mb,
        &[
            msg(
                1,
                "From: A <a@example.com>\nSubject: old\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\nbody one",
            ),
            msg(
                2,
                "From: B <b@example.com>\nSubject: new\nDate: Tue, 2 Jan 2024 10:00:00 +0000\n\nbody two",
            ),
        ],
        false,
    );
    insert(&mut s, mb, &[msg(3, "Subject: no date\n\nx")], true);
    let rows = s.envelopes(mb, 0, 10).unwrap();
    let subjects: Vec<&str> = rows.iter().map(|e| e.subject.as_str()).collect();
    // Message 3 has no Date header: it falls back to the internal date (2023-11-14).
    assert_eq!(subjects, ["new", "old", "no date"]);
    assert_eq!(rows[0].from[0].name.as_deref(), Some("B"));
    let mbox = &s.mailboxes(None).unwrap()[0];
    assert_eq!((mbox.total, mbox.unread), (3, 2));
    assert_eq!(s.envelopes(mb, 1, 1).unwrap()[0].subject, "old");
}

#[test]
fn reinserting_a_uid_updates_flags_not_duplicates() {
    let (mut s, _a, mb) = setup();
    let m = msg(7, "Subject: once\n\nx");
    insert(&mut s, mb, std::slice::from_ref(&m), false);
    insert(&mut s, mb, &[m], true);
    assert_eq!(s.message_count(mb).unwrap(), 1);
    assert!(s.envelopes(mb, 0, 1).unwrap()[0].flags.seen);
}

#[test]
fn threads_join_whichever_order_messages_arrive() {
    let (mut s, a, mb) = setup();
    let sent = s
        .upsert_mailbox(a, "Sent", Some('/'), Some(Role::Sent))
        .unwrap();
    // The reply arrives before the message it answers, in another folder.
    insert(
        &mut s,
        mb,
        &[msg(
            1,
            "Message-ID: <b@x>\nIn-Reply-To: <a@x>\nReferences: <a@x>\nSubject: Re: t\n\nr",
        )],
        false,
    );
    insert(
        &mut s,
        sent,
        &[msg(1, "Message-ID: <a@x>\nSubject: t\n\nq")],
        false,
    );
    insert(
        &mut s,
        mb,
        &[msg(
            2,
            "Message-ID: <c@x>\nIn-Reply-To: <b@x>\nReferences: <a@x> <b@x>\nSubject: Re: t\n\nr2",
        )],
        false,
    );
    insert(
        &mut s,
        mb,
        &[msg(3, "Message-ID: <z@x>\nSubject: other\n\nz")],
        false,
    );
    let mut threads: Vec<Option<i64>> = s
        .envelopes(mb, 0, 10)
        .unwrap()
        .iter()
        .map(|e| e.thread)
        .collect();
    threads.extend(s.envelopes(sent, 0, 10).unwrap().iter().map(|e| e.thread));
    let t_reply = threads[1];
    assert!(threads[0] != t_reply, "unrelated message must not join");
    assert_eq!(threads[2], t_reply);
    assert_eq!(threads[3], t_reply);
}

#[test]
fn full_text_is_diacritic_insensitive_and_follows_deletes() {
    let (mut s, _a, mb) = setup();
    let ids = insert(
        &mut s,
        mb,
        &[
            msg(
                1,
                "From: Zoë <zoe@example.com>\nSubject: Café meeting\n\nLet us meet at the crème brûlée place",
            ),
            msg(2, "Subject: unrelated\n\nnothing here"),
        ],
        false,
    );
    assert_eq!(s.fts_ids("cafe", 10).unwrap(), vec![ids[0]]);
    assert_eq!(s.fts_ids("creme", 10).unwrap(), vec![ids[0]]);
    assert_eq!(s.fts_ids("sender:zoe", 10).unwrap(), vec![ids[0]]);
    assert_eq!(s.fts_ids("bru*", 10).unwrap(), vec![ids[0]]);
    s.delete_message(ids[0]).unwrap();
    assert!(s.fts_ids("cafe", 10).unwrap().is_empty());
    assert_eq!(s.mailboxes(None).unwrap()[0].total, 1);
}

#[test]
fn bodies_round_trip() {
    let (mut s, _a, mb) = setup();
    let ids = insert(&mut s, mb, &[msg(1, "Subject: b\n\nhello")], false);
    let raw = s.raw_message(ids[0]).unwrap().unwrap();
    assert!(raw.ends_with(b"hello"));
    assert!(s.raw_message(MsgId(9999)).unwrap().is_none());
}

#[tokio::test]
async fn handle_runs_calls_off_thread() {
    let (s, a, _mb) = setup();
    let h = StoreHandle::spawn(s).unwrap();
    let n = h.call(move |s| s.mailboxes(Some(a))).await.unwrap().len();
    assert_eq!(n, 1);
    let err = h.call(|s| s.raw_message(MsgId(1)).map(|_| ())).await;
    assert!(err.is_ok());
}

#[test]
fn counts_follow_inserts_flag_changes_and_deletes() {
    let (mut s, _a, mb) = setup();
    let ids = insert(
        &mut s,
        mb,
        &[
            msg(1, "Subject: a\n\nx"),
            msg(2, "Subject: b\n\nx"),
            msg(3, "Subject: c\n\nx"),
        ],
        false,
    );
    let counts = |s: &Store| {
        let m = &s.mailboxes(None).unwrap()[0];
        (m.total, m.unread)
    };
    assert_eq!(counts(&s), (3, 3));
    s.update_flags(
        mb,
        &[(
            1,
            Flags {
                seen: true,
                ..Default::default()
            },
        )],
    )
    .unwrap();
    assert_eq!(counts(&s), (3, 2));
    s.delete_message(ids[1]).unwrap();
    assert_eq!(counts(&s), (2, 1));
    // Upserting an existing UID with new flags changes the counts once, not twice.
    insert(&mut s, mb, &[msg(3, "Subject: c\n\nx")], true);
    assert_eq!(counts(&s), (2, 0));
    s.recount(mb).unwrap();
    assert_eq!(counts(&s), (2, 0), "the triggers agree with a full recount");
    assert_eq!(s.message_count(mb).unwrap(), 2);
}

#[test]
fn keyset_windows_equal_offset_pages_from_any_anchor() {
    let (mut s, _, mb) = setup();
    // 300 messages; some share a date, so ties are broken by id as the list orders them.
    let batch: Vec<NewMessage<'_>> = (0..300u32)
        .map(|i| NewMessage {
            uid: Uid(i + 1),
            meta: crate::domain::message::MessageMeta {
                date: Some(1_700_000_000 + i64::from(i / 3)),
                subject: format!("m{i}"),
                ..Default::default()
            },
            flags: Flags::default(),
            internal_date: None,
            raw: None,
        })
        .collect();
    s.insert_messages(mb, &batch).unwrap();
    let all = s.envelopes(mb, 0, 1000).unwrap();
    let ids = |v: &[Envelope]| v.iter().map(|e| e.id).collect::<Vec<_>>();
    let anchor_at = |i: u32| Anchor {
        index: i,
        date: all[i as usize].date,
        id: all[i as usize].id,
    };
    for (offset, limit, anchor) in [
        (0, 50, None),
        (250, 50, None), // the older half, read from the oldest end
        (280, 50, None), // past the end
        (100, 40, Some(anchor_at(99))),
        (150, 40, Some(anchor_at(99))),
        (10, 40, Some(anchor_at(120))),
        (0, 50, Some(anchor_at(50))),
        (200, 30, Some(anchor_at(260))), // newer than the anchor, nearest to it
        (60, 40, Some(anchor_at(70))),   // overlapping the anchor: plain offset
    ] {
        let got = s.envelopes_window(mb, offset, limit, anchor, 300).unwrap();
        let end = (offset + limit).min(300) as usize;
        assert_eq!(
            ids(&got),
            ids(&all[offset as usize..end]),
            "offset {offset} limit {limit} anchor {anchor:?}"
        );
    }
    // The unified inbox view goes through the same windows.
    let got = s
        .envelopes_window(crate::domain::ALL_INBOXES, 260, 30, None, 300)
        .unwrap();
    assert_eq!(ids(&got), ids(&all[260..290]));
}

#[test]
fn a_flag_change_and_its_queue_row_are_one_transaction() {
    let (mut s, a, mb) = setup();
    let ids = insert(
        &mut s,
        mb,
        &[msg(7, "Subject: a\n\nx\n"), msg(9, "Subject: b\n\nx\n")],
        false,
    );
    let (accounts, changed) = s.set_flag(&ids, FlagName::Seen, true).unwrap();
    assert_eq!(accounts, [a]);
    assert_eq!(changed, ids);
    assert_eq!(
        s.mailboxes(Some(a)).unwrap()[0].unread,
        0,
        "counts follow at once"
    );
    let queue = s.pending(a).unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(
        queue[0].action,
        QueuedAction::Flag {
            uids: vec![7, 9],
            flag: FlagName::Seen,
            on: true
        }
    );
    // Setting what is already set queues nothing.
    assert_eq!(
        s.set_flag(&ids, FlagName::Seen, true).unwrap(),
        (vec![], vec![])
    );
    assert_eq!(s.pending(a).unwrap().len(), 1);
    s.pending_done(&[queue[0].id], &[(a, "one was gone".into())])
        .unwrap();
    assert!(s.pending(a).unwrap().is_empty());
    assert_eq!(s.action_log(5).unwrap()[0].2, "one was gone");
    // A queued action whose mailbox is deleted on the server is dropped and logged, not left
    // waiting for ever.
    s.set_flag(&ids, FlagName::Flagged, true).unwrap();
    s.sync_mailbox_list(a, &[]).unwrap();
    assert_eq!(s.drop_orphaned_pending(a).unwrap(), 1);
    assert!(
        s.action_log(5).unwrap()[0]
            .2
            .contains("mailbox was deleted")
    );
}

#[test]
fn a_move_is_local_at_once_with_a_placeholder_until_the_server_answers() {
    let (mut s, a, inbox) = setup();
    let archive = s
        .upsert_mailbox(a, "Archive", Some('/'), Some(Role::Archive))
        .unwrap();
    let ids = insert(
        &mut s,
        inbox,
        &[
            msg(7, "Message-ID: <a@x>\nSubject: a\n\nx\n"),
            msg(9, "Message-ID: <b@x>\nSubject: b\n\nx\n"),
        ],
        false,
    );
    let (targets, missing) = s.role_targets(&ids, Role::Archive).unwrap();
    assert_eq!(targets, [(ids[0], archive), (ids[1], archive)]);
    assert!(missing.is_empty());
    let (_, missing) = s.role_targets(&ids, Role::Junk).unwrap();
    assert_eq!(missing, ["work"], "an account with no Junk folder is named");

    let moved = s.move_messages(&targets, false).unwrap();
    assert_eq!(moved.accounts, [a]);
    assert_eq!(moved.from, [(ids[0], inbox), (ids[1], inbox)]);
    let counts: Vec<(String, u32, u32)> = s
        .mailboxes(Some(a))
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.total, m.unread))
        .collect();
    assert!(counts.contains(&("INBOX".into(), 0, 0)), "{counts:?}");
    assert!(counts.contains(&("Archive".into(), 2, 2)), "{counts:?}");
    // The rows keep their ids; the server does not know them in Archive yet.
    let rows = s.envelopes(archive, 0, 10).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|e| e.uid == Uid(0)));
    assert!(
        s.uids(archive).unwrap().is_empty(),
        "a sync compares server UIDs only"
    );
    assert_eq!(s.synced_count(archive).unwrap(), 0);
    assert_eq!(s.uid_range(archive).unwrap(), None);
    assert_eq!(s.pending_departures(inbox).unwrap(), [7, 9]);
    let q = s.pending(a).unwrap();
    assert_eq!(
        q[0].action,
        QueuedAction::Move {
            uids: vec![7, 9],
            target: archive,
            placeholders: vec![placeholder(ids[0]), placeholder(ids[1])],
            copy: false
        }
    );
    // A flag change on a moved message before the server answered names its placeholder ...
    s.set_flag(&ids[..1], FlagName::Flagged, true).unwrap();
    // ... and the engine fetched one of them under its new UID meanwhile.
    insert(
        &mut s,
        archive,
        &[msg(41, "Message-ID: <b@x>\nSubject: b\n\nx\n")],
        false,
    );
    assert_eq!(s.envelopes(archive, 0, 10).unwrap().len(), 3);
    s.move_done(
        inbox,
        archive,
        &[(placeholder(ids[0]), 40), (placeholder(ids[1]), 41)],
        &[],
        &[],
        &[q[0].id],
        &[],
    )
    .unwrap();
    let rows = s.envelopes(archive, 0, 10).unwrap();
    assert_eq!(rows.len(), 2, "the duplicate gave way");
    let mut got: Vec<(MsgId, Uid)> = rows.iter().map(|e| (e.id, e.uid)).collect();
    got.sort();
    assert_eq!(got, [(ids[0], Uid(40)), (ids[1], Uid(41))]);
    let q = s.pending(a).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(
        q[0].action,
        QueuedAction::Flag {
            uids: vec![40],
            flag: FlagName::Flagged,
            on: true
        },
        "the later row was rewritten to the real UID"
    );
    assert!(s.pending_departures(inbox).unwrap().is_empty());
}

#[test]
fn copies_and_expunges() {
    let (mut s, a, inbox) = setup();
    let other = s.upsert_mailbox(a, "Lists", Some('/'), None).unwrap();
    let ids = insert(
        &mut s,
        inbox,
        &[msg(3, "Subject: unique words here\n\nbody zanzibar\n")],
        false,
    );
    s.store_body(
        ids[0],
        b"Subject: unique words here\r\n\r\nbody zanzibar\r\n",
        &message::parse(b"Subject: unique words here\r\n\r\nbody zanzibar\r\n").meta,
    )
    .unwrap();
    let copied = s.move_messages(&[(ids[0], other)], true).unwrap();
    assert_eq!(copied.copies.len(), 1);
    assert!(copied.from.is_empty());
    let copy = copied.copies[0];
    assert_eq!(s.message_count(inbox).unwrap(), 1);
    assert_eq!(s.message_count(other).unwrap(), 1);
    assert!(
        s.raw_message(copy).unwrap().is_some(),
        "the body came along"
    );
    let hits = s.fts_ids("zanzibar", 10).unwrap();
    assert!(hits.contains(&copy) && hits.contains(&ids[0]), "{hits:?}");
    // Moving into the mailbox it is already in does nothing.
    assert_eq!(
        s.move_messages(&[(ids[0], inbox)], false).unwrap(),
        Moved::default()
    );

    let accounts = s.expunge_messages(&[copy, ids[0]]).unwrap();
    assert_eq!(accounts, [a]);
    assert_eq!(s.message_count(other).unwrap(), 0);
    assert_eq!(s.message_count(inbox).unwrap(), 0);
    let q = s.pending(a).unwrap();
    assert_eq!(
        q.iter().map(|p| p.action.clone()).collect::<Vec<_>>(),
        [
            QueuedAction::Move {
                uids: vec![3],
                target: other,
                placeholders: vec![placeholder(copy)],
                copy: true
            },
            QueuedAction::Expunge {
                uids: vec![placeholder(copy)]
            },
            QueuedAction::Expunge { uids: vec![3] },
        ]
    );
}

#[test]
fn mail_that_lives_only_in_the_cache_moves_with_no_queue() {
    let mut s = Store::open_in_memory().unwrap();
    let a = s
        .upsert_account("demo", "me@example.com", AccountKind::Local)
        .unwrap();
    let inbox = s
        .upsert_mailbox(a, "INBOX", None, Some(Role::Inbox))
        .unwrap();
    let trash = s
        .upsert_mailbox(a, "Trash", None, Some(Role::Trash))
        .unwrap();
    let ids = insert(&mut s, inbox, &[msg(1, "Subject: a\n\nx\n")], false);
    s.move_messages(&[(ids[0], trash)], false).unwrap();
    s.set_flag(&ids, FlagName::Seen, true).unwrap();
    assert!(s.pending(a).unwrap().is_empty());
    assert_eq!(s.envelopes(trash, 0, 5).unwrap()[0].uid, Uid(1));
}

#[test]
fn a_refused_move_goes_back_and_a_renumbered_source_drops_its_moves() {
    let (mut s, a, inbox) = setup();
    let junk = s
        .upsert_mailbox(a, "Junk", Some('/'), Some(Role::Junk))
        .unwrap();
    let ids = insert(
        &mut s,
        inbox,
        &[msg(5, "Subject: a\n\nx\n"), msg(6, "Subject: b\n\nx\n")],
        false,
    );
    s.move_messages(&[(ids[0], junk)], false).unwrap();
    let q = s.pending(a).unwrap();
    // The server said NO: the message is back where it was, under its UID.
    s.move_done(
        inbox,
        junk,
        &[],
        &[],
        &[(placeholder(ids[0]), 5)],
        &[q[0].id],
        &[(a, "refused".into())],
    )
    .unwrap();
    assert_eq!(s.message_count(junk).unwrap(), 0);
    assert_eq!(s.uids(inbox).unwrap(), [5, 6]);
    assert_eq!(
        s.mailboxes(Some(a))
            .unwrap()
            .iter()
            .map(|m| m.total)
            .sum::<u32>(),
        2
    );
    // A move out of a mailbox the server renumbers will not happen: its row in the target
    // goes, and the resync brings the message back to the source.
    s.move_messages(&[(ids[1], junk)], false).unwrap();
    assert_eq!(s.message_count(junk).unwrap(), 1);
    assert_eq!(s.reset_mailbox(inbox).unwrap(), 1);
    assert_eq!(s.message_count(junk).unwrap(), 0);
    assert!(s.pending(a).unwrap().is_empty());
}

#[test]
fn a_draft_saved_again_replaces_the_previous_version() {
    let (mut s, a, _) = setup();
    let drafts = s
        .upsert_mailbox(a, "Drafts", Some('/'), Some(Role::Drafts))
        .unwrap();
    let raw1 = b"Subject: v1\r\nTo: x@example.test\r\n\r\nfirst\r\n";
    let one = s
        .save_draft(a, raw1, &message::parse(raw1).meta, None)
        .unwrap()
        .unwrap();
    let raw2 = b"Subject: v2\r\nTo: x@example.test\r\n\r\nsecond\r\n";
    let two = s
        .save_draft(a, raw2, &message::parse(raw2).meta, Some(one))
        .unwrap()
        .unwrap();
    let rows = s.envelopes(drafts, 0, 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, two);
    assert!(rows[0].flags.draft && rows[0].flags.seen);
    assert_eq!(s.raw_message(two).unwrap().unwrap(), raw2);
    // Queued: store v1, store v2, remove v1 (v1 never reached the server: its APPEND finds
    // no row and is dropped).
    let kinds: Vec<&str> = s
        .pending(a)
        .unwrap()
        .iter()
        .map(|p| match p.action {
            QueuedAction::Append { .. } => "append",
            QueuedAction::Expunge { .. } => "expunge",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["append", "append", "expunge"]);
}

#[test]
fn the_forwarded_keyword_is_set_and_cleared_among_others() {
    let (mut s, a, mb) = setup();
    let ids = insert(&mut s, mb, &[msg(4, "Subject: a\n\nx\n")], false);
    s.conn
        .execute(
            "UPDATE messages SET keywords = '$label1' WHERE id = ?1",
            [ids[0].0],
        )
        .unwrap();
    let (_, changed) = s.set_flag(&ids, FlagName::Forwarded, true).unwrap();
    assert_eq!(changed, ids);
    let kw = |s: &Store| s.envelopes(mb, 0, 1).unwrap()[0].flags.keywords.clone();
    assert_eq!(kw(&s), ["$label1", "$Forwarded"]);
    assert!(
        s.set_flag(&ids, FlagName::Forwarded, true)
            .unwrap()
            .1
            .is_empty()
    );
    s.set_flag(&ids, FlagName::Forwarded, false).unwrap();
    assert_eq!(kw(&s), ["$label1"]);
    assert!(matches!(
        s.pending(a).unwrap()[0].action,
        QueuedAction::Flag {
            flag: FlagName::Forwarded,
            on: true,
            ..
        }
    ));
}

#[test]
fn addresses_complete_ranked_by_use_and_recency() {
    let (mut s, a, inbox) = setup();
    let sent = s
        .upsert_mailbox(a, "Sent", Some('/'), Some(Role::Sent))
        .unwrap();
    insert(
        &mut s,
        inbox,
        &[
            msg(
                1,
                "From: Anna Berg <anna@x.example>\nDate: Tue, 24 Nov 2026 10:00:00 +0000\nSubject: a\n\nx\n",
            ),
            msg(
                2,
                "From: Anna Berg <anna@x.example>\nDate: Tue, 24 Nov 2026 11:00:00 +0000\nSubject: b\n\nx\n",
            ),
            msg(
                3,
                "From: Andy <andy@y.example>\nDate: Tue, 24 Nov 2026 11:00:00 +0000\nSubject: c\n\nx\n",
            ),
        ],
        false,
    );
    insert(
        &mut s,
        sent,
        &[msg(
            1,
            "From: me@example.com\nTo: Andy <andy@y.example>\nDate: Tue, 24 Nov 2026 12:00:00 +0000\nSubject: d\n\nx\n",
        )],
        true,
    );
    s.refresh_contacts().unwrap();
    assert!(s.contacts_refreshed_at().unwrap().is_some());
    let got: Vec<String> = s
        .suggest_addresses("an", 10)
        .unwrap()
        .into_iter()
        .map(|a| a.email)
        .collect();
    assert_eq!(
        got,
        ["andy@y.example", "anna@x.example"],
        "written to counts most"
    );
    assert_eq!(
        s.suggest_addresses("berg", 10).unwrap()[0].email,
        "anna@x.example"
    );
    assert_eq!(
        s.suggest_addresses("Anna", 10).unwrap()[0].name.as_deref(),
        Some("Anna Berg")
    );
    assert!(s.suggest_addresses("zz", 10).unwrap().is_empty());
    assert!(s.suggest_addresses("%", 10).unwrap().is_empty());
    // Sending to Anna three times puts her first.
    for _ in 0..3 {
        s.note_sent_to(&[crate::domain::Address {
            name: None,
            email: "Anna@x.example".into(),
        }])
        .unwrap();
    }
    s.refresh_contacts().unwrap();
    assert_eq!(
        s.suggest_addresses("an", 10).unwrap()[0].email,
        "anna@x.example"
    );
    // The domains the user knows: their own first, then those written to, by how often;
    // a domain that only wrote is not one of them.
    insert(
        &mut s,
        inbox,
        &[msg(
            4,
            "From: Stranger <s@Z.example.>\nDate: Tue, 24 Nov 2026 13:00:00 +0000\nSubject: e\n\nx\n",
        )],
        false,
    );
    s.refresh_contacts().unwrap();
    assert_eq!(
        s.known_domains(10).unwrap(),
        ["example.com", "x.example", "y.example"]
    );
    assert_eq!(s.known_domains(2).unwrap(), ["example.com", "x.example"]);
}

#[test]
fn only_one_sender_claims_a_queued_message() {
    let (mut s, a, _) = setup();
    let id = s
        .enqueue(a, "me@example.com", &["x@example.test".into()], b"raw")
        .unwrap();
    assert!(s.outbox_claim(id).unwrap());
    assert!(!s.outbox_claim(id).unwrap(), "the second one gets nothing");
    // While its sender runs, another command opening the cache leaves it alone.
    assert_eq!(s.outbox_recover().unwrap(), 0);
    assert_eq!(s.outbox_get(id).unwrap().unwrap().state, OutState::Sending);
    // Its sender crashed: the next command to open the cache makes it "may have been sent",
    // never queued again.
    s.conn
        .execute("UPDATE outbox SET owner = '999999999 5'", [])
        .unwrap();
    assert_eq!(s.outbox_recover().unwrap(), 1);
    assert_eq!(
        s.outbox_get(id).unwrap().unwrap().state,
        OutState::Uncertain
    );
    assert!(s.outbox_due(None, None).unwrap().is_empty());
}

#[test]
fn a_message_waiting_to_be_sent_can_be_taken_back_until_it_is_claimed() {
    let (mut s, a, _) = setup();
    let rcpt = ["x@example.test".to_string()];
    let at = crate::store::now() + 60;
    let id = s
        .enqueue_at(a, "me@example.com", &rcpt, b"raw", Some(at))
        .unwrap();
    // Not due before its time; due then.
    assert!(s.outbox_due(Some(a), Some(at - 1)).unwrap().is_empty());
    assert_eq!(s.outbox_due(Some(a), Some(at)).unwrap().len(), 1);
    assert_eq!(s.outbox_next_due(a).unwrap(), Some(at));
    assert!(s.outbox_withdraw(id).unwrap());
    assert!(s.outbox_get(id).unwrap().is_none(), "gone");
    // Once a sender has it, it is not taken back.
    let id = s
        .enqueue_at(a, "me@example.com", &rcpt, b"raw", Some(at))
        .unwrap();
    assert!(s.outbox_claim(id).unwrap());
    assert!(!s.outbox_withdraw(id).unwrap());
    assert!(s.outbox_get(id).unwrap().is_some());
}

#[test]
fn a_replys_original_is_answered_once_the_reply_is_sent_not_before() {
    let (mut s, a, mb) = setup();
    let original = insert(
        &mut s,
        mb,
        &[msg(
            1,
            "From: b@x.example\nSubject: hi\nMessage-ID: <o@x>\n\nhello\n",
        )],
        true,
    )[0];
    let answered = |s: &Store| s.envelopes_by_ids(&[original]).unwrap()[0].flags.answered;
    let id = s
        .enqueue(a, "me@example.com", &["b@x.example".into()], b"raw")
        .unwrap();
    s.outbox_then_flag(id, original, FlagName::Answered)
        .unwrap();
    assert!(!answered(&s), "queued is not sent");
    assert_eq!(s.outbox_flag_original(id).unwrap(), vec![a]);
    assert!(answered(&s));
    // Once: the flag is queued for the server one time.
    assert!(s.outbox_flag_original(id).unwrap().is_empty());
    // A message with no original changes nothing.
    let other = s
        .enqueue(a, "me@example.com", &["b@x.example".into()], b"raw")
        .unwrap();
    assert!(s.outbox_flag_original(other).unwrap().is_empty());
}

#[test]
fn the_index_is_rebuilt_when_its_schema_changes() {
    let dir = tempfile::tempdir().unwrap();
    let raw = b"From: a@x.example\r\nSubject: hello\r\n\r\nthe quokka text\r\n";
    {
        let mut s = Store::open_in_dir(dir.path()).unwrap();
        let a = s
            .upsert_account("work", "me@example.com", AccountKind::Imap)
            .unwrap();
        let mb = s
            .upsert_mailbox(a, "INBOX", Some('/'), Some(Role::Inbox))
            .unwrap();
        let meta = crate::domain::message::parse(raw).meta;
        s.insert_messages(
            mb,
            &[NewMessage {
                uid: Uid(1),
                meta,
                flags: Flags::default(),
                internal_date: None,
                raw: Some(raw),
            }],
        )
        .unwrap();
        // As a cache of schema 7 was: the old index (with nothing from these bodies in it).
        s.conn
            .execute_batch(
                "DROP TABLE messages_fts;
                 CREATE VIRTUAL TABLE messages_fts USING fts5 (subject, sender, recipients, body,
                     content = '', contentless_delete = 1,
                     tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
                 DROP INDEX messages_newest; DROP INDEX messages_bodiless_by_date;
                 DROP TABLE pop3_uidl;
                 ALTER TABLE pending_actions DROP COLUMN since_uid;
                 ALTER TABLE pending_actions DROP COLUMN waiting;
                 ALTER TABLE outbox DROP COLUMN owner;
                 ALTER TABLE bodies DROP COLUMN big;
                 ALTER TABLE outbox DROP COLUMN original;
                 ALTER TABLE outbox DROP COLUMN original_flag;
                 ALTER TABLE mailboxes DROP COLUMN aggregate;
                 ALTER TABLE messages DROP COLUMN labels;
                 PRAGMA user_version = 7;",
            )
            .unwrap();
    }
    let s = Store::open_in_dir(dir.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), schema::MIGRATIONS.len() as i64);
    let q = crate::domain::search::parse("body:quokka", 0, 0).unwrap();
    assert_eq!(
        s.search(&q, 10).unwrap().len(),
        1,
        "the body is indexed again"
    );
}

#[test]
fn user_actions_never_fail_while_another_connection_stores_mail() {
    // The UI's connection flips flags (each a transaction that reads, then writes) while an
    // engine's connection stores batches: with DEFERRED transactions the reader-turned-writer
    // got SQLITE_BUSY at once ("database is locked") whenever the other had committed.
    let dir = tempfile::tempdir().unwrap();
    let (a, mb, ids) = {
        let mut s = Store::open_in_dir(dir.path()).unwrap();
        let a = s
            .upsert_account("work", "me@example.com", AccountKind::Imap)
            .unwrap();
        let mb = s
            .upsert_mailbox(a, "INBOX", Some('/'), Some(Role::Inbox))
            .unwrap();
        let items: Vec<_> = (1..=20)
            .map(|u| msg(u, &format!("Subject: m{u}\n\nbody {u}\n")))
            .collect();
        let ids = insert(&mut s, mb, &items, false);
        (a, mb, ids)
    };
    let path = dir.path().to_path_buf();
    let writer = std::thread::spawn(move || {
        let mut s = Store::open_in_dir(&path).unwrap();
        for batch in 0..60u32 {
            let items: Vec<_> = (0..50)
                .map(|i| {
                    let u = 1_000 + batch * 50 + i;
                    msg(u, &format!("Subject: new {u}\n\nbody {u}\n"))
                })
                .collect();
            insert(&mut s, mb, &items, false);
        }
    });
    let mut ui = Store::open_in_dir(dir.path()).unwrap();
    let (mut flips, mut queued) = (0, 0);
    while !writer.is_finished() || flips < 50 {
        // Each message read, then unread, then read...
        let on = (flips / ids.len()) % 2 == 0;
        let (_, changed) = ui
            .set_flag(&ids[flips % ids.len()..][..1], FlagName::Seen, on)
            .unwrap_or_else(|e| panic!("action {flips} failed: {e}"));
        assert_eq!(changed.len(), 1, "action {flips} did nothing");
        queued += 1;
        flips += 1;
    }
    writer.join().unwrap();
    assert_eq!(ui.pending_count(a).unwrap() as usize, queued, "none lost");
}

#[test]
fn a_huge_message_reaches_the_reader_as_its_skeleton() {
    use crate::domain::skeleton::WHOLE_UP_TO;
    let (mut s, _a, mb) = setup();
    let mut big = b"Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain\r\n\r\nthe text\r\n--b\r\nContent-Type: application/zip\r\n\
Content-Disposition: attachment; filename=a.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    while big.len() <= WHOLE_UP_TO {
        big.extend_from_slice(
            b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\r\n",
        );
    }
    big.extend_from_slice(b"--b--\r\n");
    let ids = insert(
        &mut s,
        mb,
        &[msg(1, "Subject: small\n\nhello"), (Uid(2), big.clone())],
        false,
    );
    let Some(ReaderMessage::Whole(raw)) = s.message_for_reader(ids[0]).unwrap() else {
        panic!("a small message comes whole");
    };
    assert!(raw.ends_with(b"hello"));
    let Some(ReaderMessage::Skeleton(sk)) = s.message_for_reader(ids[1]).unwrap() else {
        panic!("a huge message comes as its skeleton");
    };
    assert_eq!(sk.size, big.len());
    assert!(sk.raw.len() < 1024);
    let view = message::parse_skeleton_for_reader(&sk, 80);
    let whole = message::parse_for_reader(&big, 80);
    assert_eq!(view.body.trim(), "the text");
    assert_eq!(view.attachments, whole.attachments);
    assert_eq!(view.meta.size, whole.meta.size);
    assert!(s.message_for_reader(MsgId(9999)).unwrap().is_none());
}

#[test]
fn large_bodies_round_trip_through_the_trailing_column() {
    let (mut s, _a, mb) = setup();
    let mut big = b"Subject: two megabytes\r\n\r\n".to_vec();
    while big.len() < 2 * 1024 * 1024 {
        big.extend_from_slice(b"a line of text that goes on\r\n");
    }
    let ids = insert(&mut s, mb, &[(Uid(1), big.clone())], false);
    assert_eq!(s.raw_message(ids[0]).unwrap().unwrap(), big);
    let (in_big, raw_len): (bool, i64) = s
        .conn
        .query_row(
            "SELECT big IS NOT NULL, length(raw) FROM bodies WHERE message_id = ?1",
            [ids[0].0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(in_big && raw_len == 0);
    // A partial body replaced by the whole, and the whole by a small one.
    let meta = message::parse(&big).meta;
    s.store_partial_bodies(&[(ids[0], big[..1000].to_vec(), meta.clone())])
        .unwrap();
    assert_eq!(s.raw_message(ids[0]).unwrap().unwrap(), &big[..1000]);
    s.store_body(ids[0], &big, &meta).unwrap();
    assert_eq!(s.raw_message(ids[0]).unwrap().unwrap(), big);
    assert!(!s.body_is_partial(ids[0]).unwrap());
    assert_eq!(s.fts_ids("megabytes", 10).unwrap(), ids);
    // The index rebuilt from the cache reads it too.
    s.rebuild_index(&mut |_, _| {}).unwrap();
    assert_eq!(s.fts_ids("megabytes", 10).unwrap(), ids);
}
