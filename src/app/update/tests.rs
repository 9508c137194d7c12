use super::*;
use crate::app::overlay::Overlay;
use crate::app::state::SidebarRow;
use crate::config::Layout;
use crate::domain::RequestId;
use crate::domain::{Account, Anchor, Mailbox, MailboxId, Role};
use crate::domain::{AccountId, Envelope, Flags, MsgId, Uid};
use ratatui::layout::Rect;

fn mailbox(id: i64, account: i64, name: &str, role: Option<Role>, total: u32) -> Mailbox {
    Mailbox {
        id: MailboxId(id),
        account: AccountId(account),
        name: name.into(),
        delimiter: Some('/'),
        role,
        total,
        unread: 0,
    }
}

fn env(id: i64, mailbox: i64) -> Envelope {
    Envelope {
        id: MsgId(id),
        mailbox: MailboxId(mailbox),
        uid: Uid(id as u32),
        date: 1_700_000_000 - id,
        from: vec![],
        to: vec![],
        subject: format!("message {id}"),
        flags: Flags::default(),
        has_attachments: false,
        size: 10,
        preview: String::new(),
        thread: None,
        labels: Vec::new(),
    }
}

/// A state showing account 1 with INBOX (id 10, `total` messages) and Archive (id 11).
fn loaded(total: u32) -> (AppState, Vec<Cmd>) {
    let mut s = AppState::new(Layout::Tall, "test");
    update(&mut s, Msg::Resized(Rect::new(0, 0, 100, 30)));
    let cmds = update(
        &mut s,
        Msg::MailboxesLoaded {
            accounts: vec![Account {
                id: AccountId(1),
                name: "work".into(),
                email: "me@x".into(),
                pending: 0,
            }],
            mailboxes: vec![
                mailbox(11, 1, "Archive", Some(Role::Archive), 0),
                mailbox(10, 1, "INBOX", Some(Role::Inbox), total),
            ],
        },
    );
    (s, cmds)
}

fn answer(s: &mut AppState, cmds: &[Cmd], total: u32) -> Vec<Cmd> {
    let mut out = Vec::new();
    for c in cmds {
        if let Cmd::LoadEnvelopes {
            req,
            mailbox,
            offset,
            limit,
            ..
        } = c
        {
            let rows = (*offset..(*offset + *limit).min(total))
                .map(|i| env(i64::from(i) + 1, mailbox.0))
                .collect();
            out.extend(update(
                s,
                Msg::EnvelopesLoaded {
                    req: *req,
                    mailbox: *mailbox,
                    offset: *offset,
                    total,
                    rows,
                },
            ));
        }
    }
    out
}

#[test]
fn first_load_opens_the_inbox_and_the_newest_message() {
    let (mut s, cmds) = loaded(100);
    // Inbox sorts before Archive, right under the account row.
    assert!(matches!(&s.sidebar[1], SidebarRow::Mailbox(m) if m.name == "INBOX"));
    assert_eq!(s.sidebar_selected, 1);
    assert!(matches!(
        cmds.as_slice(),
        [
            Cmd::LoadEnvelopes { offset: 0, .. },
            Cmd::WatchMailbox {
                mailbox: MailboxId(10)
            }
        ]
    ));
    let next = answer(&mut s, &cmds, 100);
    assert!(matches!(
        next.as_slice(),
        [Cmd::LoadMessage { msg: MsgId(1), .. }]
    ));
    assert_eq!(s.reader.as_ref().map(|r| r.msg), Some(MsgId(1)));
}

#[test]
fn moving_past_the_window_loads_the_next_page_and_stale_answers_are_dropped() {
    let (mut s, cmds) = loaded(1000);
    let first = answer(&mut s, &cmds, 1000);
    assert_eq!(first.len(), 1);
    s.focus = Pane::Messages;
    let loaded_rows = s.list.rows.len() as u32;
    let mut load = None;
    for _ in 0..loaded_rows + 5 {
        for c in update(&mut s, Msg::ActionTriggered(Action::Down)) {
            if let Cmd::LoadEnvelopes { .. } = c {
                load = Some(c);
            }
        }
    }
    let Some(Cmd::LoadEnvelopes {
        req,
        mailbox,
        offset,
        limit,
        anchor,
    }) = load
    else {
        panic!("no page load")
    };
    assert!(offset > 0 && offset <= s.list.top);
    // An answer for an older request changes nothing.
    let before = s.list.clone();
    update(
        &mut s,
        Msg::EnvelopesLoaded {
            req: RequestId(req.0 - 1),
            mailbox,
            offset: 0,
            total: 1000,
            rows: vec![],
        },
    );
    assert_eq!(s.list, before);
    answer(
        &mut s,
        &[Cmd::LoadEnvelopes {
            req,
            mailbox,
            offset,
            limit,
            anchor,
        }],
        1000,
    );
    assert!(s.list.selected_row().is_some());
    assert!(
        s.list.selected >= s.list.top
            && s.list.selected < s.list.top + layout::list_rows(s.size, s.layout)
    );
}

#[test]
fn a_page_far_from_the_loaded_rows_is_read_from_the_nearest_one() {
    let (mut s, cmds) = loaded(100_000);
    answer(&mut s, &cmds, 100_000);
    s.focus = Pane::Messages;
    let last_loaded = s.list.rows.last().unwrap().clone();
    let end = s.list.window_offset + s.list.rows.len() as u32;
    let cmds = update(&mut s, Msg::ActionTriggered(Action::Bottom));
    let Some(Cmd::LoadEnvelopes { offset, anchor, .. }) = cmds.first().cloned() else {
        panic!("{cmds:?}")
    };
    assert!(offset > 99_000);
    assert_eq!(
        anchor,
        Some(Anchor {
            index: end - 1,
            date: last_loaded.date,
            id: last_loaded.id
        })
    );
}

#[test]
fn bottom_and_top_clamp() {
    let (mut s, cmds) = loaded(3);
    answer(&mut s, &cmds, 3);
    s.focus = Pane::Messages;
    update(&mut s, Msg::ActionTriggered(Action::Bottom));
    assert_eq!(s.list.selected, 2);
    update(&mut s, Msg::ActionTriggered(Action::Down));
    assert_eq!(s.list.selected, 2);
    update(&mut s, Msg::ActionTriggered(Action::Top));
    assert_eq!(s.list.selected, 0);
    update(&mut s, Msg::ActionTriggered(Action::Up));
    assert_eq!(s.list.selected, 0);
}

#[test]
fn sidebar_motion_opens_the_folder_and_new_counts_keep_the_selection() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    let cmds = update(&mut s, Msg::ActionTriggered(Action::Down));
    assert_eq!(s.list.mailbox, Some(MailboxId(11)));
    assert!(matches!(
        cmds.as_slice(),
        [
            Cmd::LoadEnvelopes {
                mailbox: MailboxId(11),
                ..
            },
            Cmd::WatchMailbox {
                mailbox: MailboxId(11)
            }
        ]
    ));
    // Mail arrives in the open folder: the list reloads, the selection stays on Archive.
    let cmds = update(
        &mut s,
        Msg::MailboxesLoaded {
            accounts: vec![Account {
                id: AccountId(1),
                name: "work".into(),
                email: "me@x".into(),
                pending: 0,
            }],
            mailboxes: vec![
                mailbox(11, 1, "Archive", Some(Role::Archive), 0),
                mailbox(10, 1, "INBOX", Some(Role::Inbox), 6),
            ],
        },
    );
    assert_eq!(s.selected_mailbox().map(|m| m.id), Some(MailboxId(11)));
    assert!(cmds.is_empty(), "Archive's count did not change: {cmds:?}");
}

#[test]
fn panes_help_and_quit() {
    let (mut s, _) = loaded(0);
    update(&mut s, Msg::ActionTriggered(Action::NextPane));
    assert_eq!(s.focus, Pane::Messages);
    update(&mut s, Msg::ActionTriggered(Action::Open));
    assert_eq!(s.focus, Pane::Reader);
    update(&mut s, Msg::ActionTriggered(Action::Back));
    assert_eq!(s.focus, Pane::Messages);
    update(&mut s, Msg::ActionTriggered(Action::Help));
    assert_eq!(s.overlays.top(), Some(&Overlay::Help(Default::default())));
    // While help is up, motion keys do nothing and q closes the overlay, not the app.
    update(&mut s, Msg::ActionTriggered(Action::Quit));
    assert!(s.overlays.is_empty() && !s.quit);
    update(&mut s, Msg::ActionTriggered(Action::Quit));
    assert!(s.quit);
}

/// New mail (two messages) arrives in the open INBOX of 10 and the list is read again.
pub(super) fn two_arrive(s: &mut AppState) -> Vec<Cmd> {
    let cmds = update(
        s,
        Msg::Engine(EngineEvent::Changed {
            account: AccountId(1),
            mailbox: Some(MailboxId(10)),
        }),
    );
    let Some(Cmd::LoadEnvelopes {
        req,
        mailbox,
        offset,
        ..
    }) = cmds
        .iter()
        .find(|c| matches!(c, Cmd::LoadEnvelopes { .. }))
        .cloned()
    else {
        panic!("no reload: {cmds:?}")
    };
    let mut rows = vec![env(100, 10), env(101, 10)];
    rows.extend((1..=10).map(|i| env(i, 10)));
    update(
        s,
        Msg::EnvelopesLoaded {
            req,
            mailbox,
            offset,
            total: 12,
            rows,
        },
    )
}

#[test]
fn new_mail_above_keeps_the_selection_on_the_same_message() {
    let (mut s, cmds) = loaded(10);
    answer(&mut s, &cmds, 10);
    s.focus = Pane::Messages;
    update(&mut s, Msg::ActionTriggered(Action::Down));
    update(&mut s, Msg::ActionTriggered(Action::Down));
    let reading = s.list.selected_row().unwrap().id;
    // The engine committed two new messages to the open mailbox.
    let next = two_arrive(&mut s);
    assert_eq!(s.list.selected_row().unwrap().id, reading);
    assert_eq!(s.list.selected, 4);
    assert!(
        next.iter().all(|c| !matches!(c, Cmd::LoadMessage { .. })),
        "the reader stays: {next:?}"
    );
}

#[test]
fn a_missing_body_is_fetched_once_and_reloaded_when_it_arrives() {
    let (mut s, cmds) = loaded(3);
    let next = answer(&mut s, &cmds, 3);
    let Some(Cmd::LoadMessage { req, msg, .. }) = next.first().cloned() else {
        panic!("{next:?}")
    };
    let cmds = update(
        &mut s,
        Msg::MessageLoaded {
            req,
            msg,
            view: None,
            partial: false,
        },
    );
    assert_eq!(cmds, [Cmd::FetchBody { msg }]);
    assert!(s.reader.as_ref().unwrap().fetching);
    let cmds = update(&mut s, Msg::Engine(EngineEvent::BodyFetched { msg }));
    assert!(matches!(cmds.as_slice(), [Cmd::LoadMessage { msg: m, .. }] if *m == msg));
    // A failure is shown, and not retried in a loop.
    let Some(Cmd::LoadMessage { req, .. }) = cmds.first().cloned() else {
        unreachable!()
    };
    update(
        &mut s,
        Msg::Engine(EngineEvent::BodyFailed {
            msg,
            error: "gone".into(),
        }),
    );
    let cmds = update(
        &mut s,
        Msg::MessageLoaded {
            req,
            msg,
            view: None,
            partial: false,
        },
    );
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(
        s.reader.as_ref().unwrap().body_error.as_deref(),
        Some("gone")
    );
}

#[test]
fn a_text_only_body_is_shown_and_the_whole_message_fetched() {
    let (mut s, cmds) = loaded(3);
    let next = answer(&mut s, &cmds, 3);
    let Some(Cmd::LoadMessage { req, msg, .. }) = next.first().cloned() else {
        panic!("{next:?}")
    };
    let view = crate::domain::message::parse(b"Subject: big\r\n\r\nthe text comes first\r\n");
    let cmds = update(
        &mut s,
        Msg::MessageLoaded {
            req,
            msg,
            view: Some(Box::new(view)),
            partial: true,
        },
    );
    assert_eq!(cmds, [Cmd::FetchBody { msg }]);
    let r = s.reader.as_ref().unwrap();
    assert!(r.view.is_some() && r.fetching);
}

#[test]
fn next_and_previous_message_from_the_reader_and_full_screen() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    update(&mut s, Msg::ActionTriggered(Action::Fullscreen));
    assert!(s.fullscreen);
    assert_eq!(s.focus, Pane::Reader);
    let first = s.reader.as_ref().unwrap().msg;
    let cmds = update(&mut s, Msg::ActionTriggered(Action::NextMessage));
    assert_eq!(s.list.selected, 1);
    assert_eq!(s.focus, Pane::Reader, "the reader keeps the focus");
    let next = s.reader.as_ref().unwrap().msg;
    assert_ne!(next, first);
    assert!(matches!(cmds.as_slice(), [Cmd::LoadMessage { msg, .. }] if *msg == next));
    update(&mut s, Msg::ActionTriggered(Action::PrevMessage));
    update(&mut s, Msg::ActionTriggered(Action::PrevMessage));
    assert_eq!(s.list.selected, 0, "clamped at the newest");
    assert_eq!(s.reader.as_ref().unwrap().msg, first);
    update(&mut s, Msg::ActionTriggered(Action::Back));
    assert!(!s.fullscreen);
    assert_eq!(s.focus, Pane::Reader);
}

#[test]
fn layout_toggles_between_beside_and_under() {
    let (mut s, _) = loaded(5);
    assert_eq!(s.layout, Layout::Tall);
    assert!(!layout::is_wide(s.size, s.layout));
    update(&mut s, Msg::ActionTriggered(Action::ToggleLayout));
    assert!(layout::is_wide(s.size, s.layout));
    update(&mut s, Msg::ActionTriggered(Action::ToggleLayout));
    assert!(!layout::is_wide(s.size, s.layout));
}

#[test]
fn flags_toggle_on_the_row_at_once_and_opening_marks_read() {
    let (mut s, cmds) = loaded(5);
    s.mark_read_on_open = true;
    // The newest message is previewed with the first load; enter opens it: marked read.
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    let cmds = key(&mut s, Action::Open);
    let first = s.list.rows[0].id;
    assert!(s.list.rows[0].flags.seen);
    assert!(cmds.contains(&Cmd::SetFlag {
        msgs: vec![first],
        flag: crate::domain::triage::FlagName::Seen,
        on: true,
        undoable: false,
    }));
    s.focus = Pane::Messages;
    let cmds = update(&mut s, Msg::ActionTriggered(Action::ToggleFlag));
    assert!(
        s.list.rows[0].flags.flagged,
        "the row changes before any answer"
    );
    assert_eq!(
        cmds,
        [Cmd::SetFlag {
            msgs: vec![first],
            flag: crate::domain::triage::FlagName::Flagged,
            on: true,
            undoable: true,
        }]
    );
    let cmds = update(&mut s, Msg::ActionTriggered(Action::ToggleRead));
    assert!(!s.list.rows[0].flags.seen);
    assert_eq!(
        cmds,
        [Cmd::SetFlag {
            msgs: vec![first],
            flag: crate::domain::triage::FlagName::Seen,
            on: false,
            undoable: true,
        }]
    );
}

#[test]
fn space_selects_actions_apply_to_the_selection_and_esc_clears_it() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    update(&mut s, Msg::ActionTriggered(Action::ToggleSelect));
    update(&mut s, Msg::ActionTriggered(Action::Down));
    update(&mut s, Msg::ActionTriggered(Action::ToggleSelect));
    let picked: Vec<MsgId> = vec![s.list.rows[0].id, s.list.rows[2].id];
    assert_eq!(s.list.marked.iter().copied().collect::<Vec<_>>(), {
        let mut p = picked.clone();
        p.sort();
        p
    });
    assert_eq!(s.list.selected, 3, "space moves on to the next message");
    let cmds = update(&mut s, Msg::ActionTriggered(Action::ToggleFlag));
    let Some(Cmd::SetFlag { msgs, on: true, .. }) = cmds.first() else {
        panic!("{cmds:?}")
    };
    assert_eq!(msgs.len(), 2);
    assert!(s.list.rows[0].flags.flagged && s.list.rows[2].flags.flagged);
    assert!(
        !s.list.rows[1].flags.flagged,
        "unselected rows are untouched"
    );
    update(&mut s, Msg::ActionTriggered(Action::Back));
    assert!(s.list.marked.is_empty());
    assert_eq!(s.focus, Pane::Messages, "esc first clears the selection");
}

#[test]
fn account_states_are_kept_per_account() {
    let (mut s, _) = loaded(0);
    update(
        &mut s,
        Msg::Engine(EngineEvent::State {
            account: AccountId(1),
            state: crate::domain::ConnState::Connecting,
        }),
    );
    update(
        &mut s,
        Msg::Engine(EngineEvent::State {
            account: AccountId(1),
            state: crate::domain::ConnState::Online,
        }),
    );
    assert_eq!(
        s.accounts_state,
        [(AccountId(1), crate::domain::ConnState::Online)]
    );
}

fn key(s: &mut AppState, a: Action) -> Vec<Cmd> {
    update(s, Msg::ActionTriggered(a))
}

fn typed(s: &mut AppState, k: crate::domain::keys::Key) -> Vec<Cmd> {
    update(s, Msg::Typed(crate::domain::keys::KeyChord::plain(k)))
}

#[test]
fn delete_archive_and_junk_move_to_the_accounts_role_folders() {
    use super::super::msg::Dest;
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    let first = s.list.rows[0].id;
    for (action, role, what) in [
        (Action::Delete, Role::Trash, "deleted"),
        (Action::Archive, Role::Archive, "archived"),
        (Action::Junk, Role::Junk, "marked junk"),
    ] {
        assert_eq!(
            key(&mut s, action),
            [Cmd::MoveTo {
                msgs: vec![first],
                dest: Dest::Role(role),
                copy: false,
                what: what.into()
            }]
        );
    }
    // On a selection: the selection goes with the action.
    key(&mut s, Action::ToggleSelect);
    key(&mut s, Action::ToggleSelect);
    let cmds = key(&mut s, Action::Archive);
    let [Cmd::MoveTo { msgs, .. }] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert_eq!(msgs.len(), 2);
    assert!(s.list.marked.is_empty());
}

#[test]
fn delete_in_trash_asks_first_and_only_yes_deletes() {
    use crate::domain::keys::Key;
    let mut s = AppState::new(Layout::Tall, "test");
    update(&mut s, Msg::Resized(Rect::new(0, 0, 100, 30)));
    let cmds = update(
        &mut s,
        Msg::MailboxesLoaded {
            accounts: vec![Account {
                id: AccountId(1),
                name: "work".into(),
                email: "me@x".into(),
                pending: 0,
            }],
            mailboxes: vec![mailbox(12, 1, "Trash", Some(Role::Trash), 3)],
        },
    );
    answer(&mut s, &cmds, 3);
    s.focus = Pane::Messages;
    let first = s.list.rows[0].id;
    assert!(key(&mut s, Action::Delete).is_empty());
    assert!(s.typing(), "a question is asked");
    assert!(typed(&mut s, Key::Char('n')).is_empty());
    assert!(!s.typing());
    assert_eq!(s.notice.as_deref(), Some("nothing was deleted"));
    key(&mut s, Action::Delete);
    assert_eq!(
        typed(&mut s, Key::Char('y')),
        [Cmd::Expunge { msgs: vec![first] }]
    );
}

#[test]
fn the_folder_picker_filters_as_you_type_and_moves_or_copies() {
    use super::super::msg::Dest;
    use crate::domain::keys::Key;
    let mut s = AppState::new(Layout::Tall, "test");
    update(&mut s, Msg::Resized(Rect::new(0, 0, 100, 30)));
    let cmds = update(
        &mut s,
        Msg::MailboxesLoaded {
            accounts: vec![
                Account {
                    id: AccountId(1),
                    name: "work".into(),
                    email: "me@x".into(),
                    pending: 0,
                },
                Account {
                    id: AccountId(2),
                    name: "home".into(),
                    email: "me@y".into(),
                    pending: 0,
                },
            ],
            mailboxes: vec![
                mailbox(10, 1, "INBOX", Some(Role::Inbox), 4),
                mailbox(11, 1, "Archive", Some(Role::Archive), 0),
                mailbox(13, 1, "Projects/Atlas", None, 0),
                mailbox(14, 1, "Projects/Beacon", None, 0),
                mailbox(20, 2, "INBOX", Some(Role::Inbox), 0),
                mailbox(21, 2, "Atlas trip", None, 0),
            ],
        },
    );
    // Open work's INBOX.
    let idx = s
        .sidebar
        .iter()
        .position(|r| matches!(r, SidebarRow::Mailbox(m) if m.id == MailboxId(10)))
        .unwrap();
    let mut cmds = cmds;
    cmds.extend(update(&mut s, Msg::ActionTriggered(Action::Top)));
    for _ in 0..idx {
        cmds.extend(key(&mut s, Action::Down));
    }
    answer(&mut s, &cmds, 4);
    assert_eq!(s.list.mailbox, Some(MailboxId(10)));
    s.focus = Pane::Messages;
    let first = s.list.rows[0].id;
    key(&mut s, Action::MoveTo);
    let names = |s: &AppState| -> Vec<String> {
        let p = s.overlays.picker().unwrap();
        p.matches.iter().map(|&i| p.choices[i].1.clone()).collect()
    };
    assert_eq!(
        names(&s),
        ["Archive", "Projects/Atlas", "Projects/Beacon"],
        "the account's folders but the one the message is in; no other account's"
    );
    for c in "atls".chars() {
        typed(&mut s, Key::Char(c));
    }
    assert_eq!(names(&s), ["Projects/Atlas"], "fuzzy, case-insensitive");
    typed(&mut s, Key::Backspace);
    typed(&mut s, Key::Backspace);
    typed(&mut s, Key::Backspace);
    assert_eq!(s.overlays.picker().unwrap().query, "a");
    typed(&mut s, Key::Esc);
    assert!(
        s.overlays.picker().is_none(),
        "esc closes it, nothing moved"
    );
    key(&mut s, Action::CopyTo);
    assert!(
        names(&s).contains(&"INBOX".to_string()),
        "a copy may go next to it"
    );
    for c in "beac".chars() {
        typed(&mut s, Key::Char(c));
    }
    assert_eq!(
        typed(&mut s, Key::Enter),
        [Cmd::MoveTo {
            msgs: vec![first],
            dest: Dest::Mailbox(MailboxId(14)),
            copy: true,
            what: "copied".into()
        }]
    );
    assert!(s.overlays.picker().is_none());
}

#[test]
fn undo_takes_back_the_last_actions_in_turn() {
    use super::super::msg::{Dest, Done, Undo};
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    assert!(key(&mut s, Action::Undo).is_empty());
    assert_eq!(s.notice.as_deref(), Some("nothing to undo"));
    let a = Undo::Copy {
        copies: vec![MsgId(1)],
    };
    let b = Undo::Move {
        from: vec![(MsgId(2), MailboxId(10))],
    };
    let done = |what: &str, from: Vec<(MsgId, MailboxId)>, copies: Vec<MsgId>| {
        Msg::ActionDone(Done::Moved {
            what: what.into(),
            dest: Dest::Mailbox(MailboxId(10)),
            copy: from.is_empty(),
            from,
            copies,
            missing: Vec::new(),
        })
    };
    update(&mut s, done("copied", Vec::new(), vec![MsgId(1)]));
    assert_eq!(s.notice.as_deref(), Some("copied: 1 message"));
    update(
        &mut s,
        done("archived", vec![(MsgId(2), MailboxId(10))], Vec::new()),
    );
    assert_eq!(
        key(&mut s, Action::Undo),
        [Cmd::Undo {
            undo: b,
            what: "archived: 1 message".into()
        }]
    );
    assert_eq!(
        key(&mut s, Action::Undo),
        [Cmd::Undo {
            undo: a,
            what: "copied: 1 message".into()
        }]
    );
    // It keeps at least the last 20 (here: 100).
    for i in 0..150 {
        update(&mut s, done("copied", Vec::new(), vec![MsgId(i)]));
    }
    assert_eq!(s.undo.len(), 100);
}

#[test]
fn visual_range_select_all_and_thread() {
    let (mut s, cmds) = loaded(50);
    answer(&mut s, &cmds, 50);
    s.focus = Pane::Messages;
    key(&mut s, Action::Down);
    key(&mut s, Action::VisualSelect);
    key(&mut s, Action::Down);
    key(&mut s, Action::Down);
    let ids: Vec<MsgId> = s.list.marked.iter().copied().collect();
    assert_eq!(ids, [MsgId(2), MsgId(3), MsgId(4)], "rows 1..=3");
    key(&mut s, Action::Up);
    assert_eq!(s.list.marked.len(), 2, "the range follows the cursor back");
    // A range past the loaded window is read from the cache.
    let cmds = key(&mut s, Action::Bottom);
    let Some(Cmd::MarkRange {
        req, offset, limit, ..
    }) = cmds
        .iter()
        .find(|c| matches!(c, Cmd::MarkRange { .. }))
        .cloned()
    else {
        panic!("{cmds:?}")
    };
    assert_eq!((offset, limit), (1, 49));
    let all: Vec<MsgId> = (2..=50).map(MsgId).collect();
    update(
        &mut s,
        Msg::Marked {
            req,
            ids: all.clone(),
        },
    );
    assert_eq!(s.list.marked.len(), 49);
    key(&mut s, Action::VisualSelect);
    assert!(
        s.list.visual.is_none(),
        "V again stops; the selection stays"
    );
    assert_eq!(s.list.marked.len(), 49);
    key(&mut s, Action::Back);
    assert!(s.list.marked.is_empty());
    // Select all: everything, then (again) nothing.
    let cmds = key(&mut s, Action::SelectAll);
    let Some(Cmd::MarkRange { req, limit: 50, .. }) = cmds.first().cloned() else {
        panic!("{cmds:?}")
    };
    let every: Vec<MsgId> = (1..=50).map(MsgId).collect();
    update(
        &mut s,
        Msg::Marked {
            req,
            ids: every.clone(),
        },
    );
    assert_eq!(s.list.marked.len(), 50);
    let cmds = key(&mut s, Action::SelectAll);
    let Some(Cmd::MarkRange { req, .. }) = cmds.first().cloned() else {
        panic!("{cmds:?}")
    };
    update(&mut s, Msg::Marked { req, ids: every });
    assert!(s.list.marked.is_empty());
    // A stale answer selects nothing.
    update(
        &mut s,
        Msg::Marked {
            req: RequestId(9999),
            ids: vec![MsgId(1)],
        },
    );
    assert!(s.list.marked.is_empty());
    // The thread of a message with no thread id is itself.
    key(&mut s, Action::Top);
    key(&mut s, Action::SelectThread);
    assert_eq!(s.list.marked.len(), 1);
}

#[test]
fn with_a_delay_only_a_message_still_open_is_marked_read() {
    let (mut s, cmds) = loaded(5);
    s.mark_read_on_open = true;
    s.mark_read_delay_ms = 2000;
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    let cmds = key(&mut s, Action::Open);
    let first = s.list.rows[0].id;
    assert!(cmds.contains(&Cmd::MarkReadLater {
        msg: first,
        after_ms: 2000
    }));
    assert!(!cmds.iter().any(|c| matches!(c, Cmd::SetFlag { .. })));
    assert!(!s.list.rows[0].flags.seen, "not yet");
    // The user moved on (to the next, from the reader) before the delay: the first stays
    // unread.
    let cmds = key(&mut s, Action::NextMessage);
    let second = s.list.rows[1].id;
    assert!(cmds.contains(&Cmd::MarkReadLater {
        msg: second,
        after_ms: 2000
    }));
    assert!(update(&mut s, Msg::ReadDelayElapsed { msg: first }).is_empty());
    assert!(!s.list.rows[0].flags.seen);
    // The second is still open when its delay is up.
    assert_eq!(
        update(&mut s, Msg::ReadDelayElapsed { msg: second }),
        [Cmd::SetFlag {
            msgs: vec![second],
            flag: crate::domain::triage::FlagName::Seen,
            on: true,
            undoable: false,
        }]
    );
    assert!(s.list.rows[1].flags.seen);
}

#[test]
fn writing_a_reply_goes_through_the_editor_and_the_review() {
    use super::super::msg::Queued;
    use crate::domain::compose::{Attachment, Draft, Kind};
    use crate::domain::keys::Key;
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    let first = s.list.rows[0].id;
    let cmds = key(&mut s, Action::Reply);
    assert_eq!(
        cmds,
        [Cmd::StartCompose {
            kind: Kind::Reply,
            msg: Some(first),
            mailbox: Some(MailboxId(10)),
        }]
    );
    let file = std::path::PathBuf::from("/tmp/x/message.txt");
    let draft = Draft {
        subject: "Re: hello".into(),
        body: "\n\nOn ..., X wrote:\n> hi\n".into(),
        ..Draft::default()
    };
    update(
        &mut s,
        Msg::ComposeStarted(Box::new(compose_state(
            Kind::Reply,
            Some(first),
            draft.clone(),
            file.clone(),
        ))),
    );
    assert_eq!(
        s.editing.as_ref(),
        Some(&file),
        "the run loop hands over to the editor"
    );
    assert!(
        key(&mut s, Action::Reply).is_empty(),
        "one message at a time"
    );
    s.editing = None;
    let cmds = update(&mut s, Msg::EditorClosed { error: None });
    assert!(matches!(&cmds[..], [Cmd::ReadCompose { path, .. }] if *path == file));
    assert!(s.typing(), "the review screen takes the keys");
    // No recipient yet: sending is refused with a note.
    assert!(typed(&mut s, Key::Char('y')).is_empty());
    assert!(
        s.overlays
            .compose()
            .unwrap()
            .note
            .as_deref()
            .unwrap()
            .contains("no recipient")
    );
    let mut edited = draft.clone();
    edited.to = vec![crate::domain::Address {
        name: None,
        email: "bob@example.test".into(),
    }];
    edited.body = "See the attached plan.\n".into();
    update(&mut s, Msg::ComposeEdited(Ok(Box::new(edited.clone()))));
    // The text speaks of an attachment: warned once, then y sends anyway.
    assert!(typed(&mut s, Key::Char('y')).is_empty());
    assert!(
        s.overlays
            .compose()
            .unwrap()
            .note
            .as_deref()
            .unwrap()
            .contains("attachment")
    );
    // Attach one: a path prompt, then the file is read.
    typed(&mut s, Key::Char('a'));
    for ch in "/tmp/plan.pdf".chars() {
        typed(&mut s, Key::Char(ch));
    }
    assert_eq!(
        typed(&mut s, Key::Enter),
        [Cmd::AttachFile {
            path: "/tmp/plan.pdf".into()
        }]
    );
    update(
        &mut s,
        Msg::Attached(Ok(Attachment {
            name: "plan.pdf".into(),
            content_type: String::new(),
            data: vec![1, 2, 3],
        })),
    );
    let cmds = typed(&mut s, Key::Char('y'));
    let [
        Cmd::SendCompose {
            draft, original, ..
        },
    ] = &cmds[..]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(draft.attachments.len(), 1);
    assert_eq!(*original, Some(first));
    update(
        &mut s,
        Msg::ComposeQueued(Queued::Sending {
            id: 1,
            subject: "Re: hi".into(),
        }),
    );
    assert_eq!(s.notice.as_deref(), Some("sending #1: Re: hi"));
    assert!(s.overlays.compose().is_none() && !s.typing());
}

#[test]
fn discarding_asks_first() {
    use crate::domain::compose::{Draft, Kind};
    use crate::domain::keys::Key;
    let (mut s, _) = loaded(0);
    let file = std::path::PathBuf::from("/tmp/x/m.txt");
    update(
        &mut s,
        Msg::ComposeStarted(Box::new(compose_state(
            Kind::New,
            None,
            Draft::default(),
            file.clone(),
        ))),
    );
    s.editing = None;
    typed(&mut s, Key::Char('q'));
    assert!(typed(&mut s, Key::Char('n')).is_empty());
    assert!(s.overlays.compose().is_some(), "kept");
    typed(&mut s, Key::Char('q'));
    assert_eq!(
        typed(&mut s, Key::Char('y')),
        [Cmd::DiscardCompose { file }]
    );
    assert!(s.overlays.compose().is_none());
    update(&mut s, Msg::ComposeDiscarded);
    assert_eq!(s.notice.as_deref(), Some("discarded"));
}

#[test]
fn recipients_are_added_from_suggestions_or_as_typed() {
    use crate::domain::Address;
    use crate::domain::compose::{Draft, Kind};
    use crate::domain::keys::Key;
    let (mut s, _) = loaded(0);
    update(
        &mut s,
        Msg::ComposeStarted(Box::new(compose_state(
            Kind::New,
            None,
            Draft::default(),
            "/tmp/x".into(),
        ))),
    );
    s.editing = None;
    typed(&mut s, Key::Char('t'));
    typed(&mut s, Key::Char('a'));
    let cmds = typed(&mut s, Key::Char('n'));
    let [Cmd::SuggestAddresses { req, prefix }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(prefix, "an");
    let anna = Address {
        name: Some("Anna Berg".into()),
        email: "anna@x.example".into(),
    };
    let andy = Address {
        name: None,
        email: "andy@y.example".into(),
    };
    // An answer to an older prefix is dropped.
    update(
        &mut s,
        Msg::Suggestions {
            req: RequestId(req.0 - 1),
            list: vec![andy.clone()],
        },
    );
    assert!(
        s.overlays
            .compose()
            .unwrap()
            .addr
            .as_ref()
            .unwrap()
            .suggestions
            .is_empty()
    );
    update(
        &mut s,
        Msg::Suggestions {
            req: *req,
            list: vec![andy.clone(), anna.clone()],
        },
    );
    typed(&mut s, Key::Tab);
    typed(&mut s, Key::Enter);
    assert_eq!(s.overlays.compose().unwrap().draft.to, [anna]);
    // Typed as it is: an address with no suggestion goes to Bcc.
    typed(&mut s, Key::Char('b'));
    for ch in "new@z.example".chars() {
        typed(&mut s, Key::Char(ch));
    }
    typed(&mut s, Key::Enter);
    let c = s.overlays.compose().unwrap();
    assert_eq!(c.draft.bcc[0].email, "new@z.example");
    assert!(c.addr.is_none());
}

#[test]
fn the_built_in_editor_writes_autosaves_and_returns_to_the_review() {
    use crate::domain::compose::{Draft, Kind};
    use crate::domain::keys::Key;
    let (mut s, _) = loaded(0);
    s.builtin_editor = true;
    update(
        &mut s,
        Msg::Ticked {
            now: 1000,
            utc_offset: 0,
        },
    );
    let draft = Draft {
        from: crate::domain::Address {
            name: None,
            email: "me@x.example".into(),
        },
        subject: "plans".into(),
        body: "\n\x1b[31m> quoted\n".into(),
        ..Draft::default()
    };
    update(
        &mut s,
        Msg::ComposeStarted(Box::new(compose_state(
            Kind::New,
            None,
            draft,
            "/tmp/x".into(),
        ))),
    );
    assert!(s.editing.is_none(), "no terminal handed over");
    let ed = s.overlays.compose().unwrap().builtin.as_ref().unwrap();
    assert!(ed.text().contains("> quoted") && !ed.text().contains('\x1b'));
    // A new message starts in To: down to the body.
    for _ in 0..5 {
        typed(&mut s, Key::Down);
    }
    for ch in "Hi!".chars() {
        typed(&mut s, Key::Char(ch));
    }
    // Nothing saved before 15 s; then the text goes to Drafts.
    let early = update(
        &mut s,
        Msg::Ticked {
            now: 1010,
            utc_offset: 0,
        },
    );
    assert!(early.is_empty());
    let cmds = update(
        &mut s,
        Msg::Ticked {
            now: 1016,
            utc_offset: 0,
        },
    );
    let [
        Cmd::AutosaveDraft {
            draft, replaces, ..
        },
    ] = &cmds[..]
    else {
        panic!("{cmds:?}")
    };
    assert!(draft.body.starts_with("Hi!"), "{:?}", draft.body);
    assert_eq!(*replaces, None);
    update(&mut s, Msg::Autosaved { msg: MsgId(77) });
    // Unchanged: not saved again.
    assert!(
        update(
            &mut s,
            Msg::Ticked {
                now: 1040,
                utc_offset: 0
            }
        )
        .is_empty()
    );
    typed(&mut s, Key::Char('!'));
    let cmds = update(
        &mut s,
        Msg::Ticked {
            now: 1060,
            utc_offset: 0,
        },
    );
    assert!(matches!(
        &cmds[..],
        [Cmd::AutosaveDraft {
            replaces: Some(MsgId(77)),
            ..
        }]
    ));
    typed(&mut s, Key::Esc);
    let c = s.overlays.compose().unwrap();
    assert!(c.builtin.is_none(), "back to the review");
    assert!(c.draft.body.starts_with("Hi!!"), "{:?}", c.draft.body);
    assert_eq!(c.draft.subject, "plans");
}

#[test]
fn ctrl_c_asks_once_while_writing() {
    use crate::domain::compose::{Draft, Kind};
    let (mut s, _) = loaded(0);
    update(&mut s, Msg::Interrupted);
    assert!(s.quit, "nothing written: quits at once");
    let (mut s, _) = loaded(0);
    update(
        &mut s,
        Msg::ComposeStarted(Box::new(compose_state(
            Kind::New,
            None,
            Draft::default(),
            "/tmp/x".into(),
        ))),
    );
    update(&mut s, Msg::Interrupted);
    assert!(!s.quit);
    assert!(s.notice.as_deref().unwrap().contains("ctrl-c again"));
    update(&mut s, Msg::Interrupted);
    assert!(s.quit);
}

/// A message being written, as StartCompose answers it (nothing typed yet).
fn compose_state(
    kind: crate::domain::compose::Kind,
    original: Option<MsgId>,
    draft: crate::domain::compose::Draft,
    file: std::path::PathBuf,
) -> crate::app::state::Compose {
    crate::app::state::Compose {
        account: AccountId(1),
        kind,
        original,
        draft_msg: None,
        draft,
        file,
        attach_input: None,
        addr: None,
        builtin: None,
        selected: 0,
        note: None,
        warned_attachment: false,
        confirm_discard: false,
        edit: Default::default(),
    }
}

fn type_text(s: &mut AppState, text: &str) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    for c in text.chars() {
        cmds = typed(s, crate::domain::keys::Key::Char(c));
    }
    cmds
}

fn search_cmd(cmds: &[Cmd]) -> (RequestId, Vec<MailboxId>) {
    cmds.iter()
        .find_map(|c| match c {
            Cmd::Search { req, scope, .. } => Some((*req, scope.clone())),
            _ => None,
        })
        .expect("a search")
}

#[test]
fn slash_filters_the_list_as_typed_and_esc_gives_the_mailbox_back() {
    use crate::domain::keys::Key;
    let (mut s, cmds) = loaded(50);
    answer(&mut s, &cmds, 50);
    s.focus = Pane::Messages;
    key(&mut s, Action::Filter);
    assert!(s.typing());
    // Every key searches again; a malformed query keeps the results and says where.
    let cmds = type_text(&mut s, "lun");
    let (req, scope) = search_cmd(&cmds);
    assert_eq!(scope, vec![MailboxId(10)]);
    let cmds = update(
        &mut s,
        Msg::Searched {
            req,
            rows: vec![env(7, 10), env(9, 10)],
            headers_only: vec![],
            asking: vec![],
        },
    );
    assert_eq!(s.list.total, 2);
    assert_eq!(s.list.selected_row().unwrap().id, MsgId(7));
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Cmd::LoadMessage { msg: MsgId(7), .. }))
    );
    let cmds = type_text(&mut s, " \"x");
    assert!(cmds.is_empty());
    let err = s.search.as_ref().unwrap().error.clone().unwrap();
    assert!(err.contains("column 5"), "{err}");
    assert_eq!(s.list.total, 2);
    // An answer to an older query is dropped.
    typed(&mut s, Key::Backspace);
    let cmds = typed(&mut s, Key::Backspace);
    let (newer, _) = search_cmd(&cmds);
    update(
        &mut s,
        Msg::Searched {
            req,
            rows: vec![],
            headers_only: vec![],
            asking: vec![],
        },
    );
    assert_eq!(s.list.total, 2);
    assert_eq!(s.search.as_ref().unwrap().terms, vec!["lun".to_string()]);
    // Arrows walk the results while typing; enter keeps them and gives keys back.
    typed(&mut s, Key::Down);
    assert_eq!(s.list.selected, 1);
    update(
        &mut s,
        Msg::Searched {
            req: newer,
            rows: vec![env(7, 10), env(9, 10), env(12, 10)],
            headers_only: vec![],
            asking: vec![],
        },
    );
    assert_eq!(
        s.list.selected_row().unwrap().id,
        MsgId(9),
        "the selection stays"
    );
    typed(&mut s, Key::Enter);
    assert!(!s.typing());
    // The cache changed: the search runs again (not the mailbox's list).
    let cmds = update(
        &mut s,
        Msg::Engine(EngineEvent::Changed {
            account: AccountId(1),
            mailbox: Some(MailboxId(10)),
        }),
    );
    assert!(cmds.iter().any(|c| matches!(c, Cmd::Search { .. })));
    assert!(!cmds.iter().any(|c| matches!(c, Cmd::LoadEnvelopes { .. })));
    // Esc ends it: the mailbox is read again.
    let cmds = key(&mut s, Action::Back);
    assert!(s.search.is_none());
    assert!(cmds.iter().any(|c| matches!(
        c,
        Cmd::LoadEnvelopes {
            mailbox: MailboxId(10),
            ..
        }
    )));
}

#[test]
fn a_global_search_merges_and_marks_what_the_server_found() {
    let (mut s, cmds) = loaded(50);
    answer(&mut s, &cmds, 50);
    key(&mut s, Action::CommandLine);
    type_text(&mut s, "search lunch");
    let cmds = typed(&mut s, crate::domain::keys::Key::Enter);
    let (req, scope) = search_cmd(&cmds);
    assert!(scope.is_empty(), "every mailbox");
    assert!(!s.typing());
    update(
        &mut s,
        Msg::Searched {
            req,
            rows: vec![env(3, 10)],
            headers_only: vec!["home/INBOX (no server to ask)".into()],
            asking: vec![(AccountId(1), vec!["work/Archive".into()])],
        },
    );
    assert_eq!(s.list.mailbox, None);
    // New counts (a message read, new mail) keep the search on.
    update(
        &mut s,
        Msg::MailboxesLoaded {
            accounts: vec![Account {
                id: AccountId(1),
                name: "work".into(),
                email: "me@x".into(),
                pending: 0,
            }],
            mailboxes: vec![mailbox(10, 1, "INBOX", Some(Role::Inbox), 51)],
        },
    );
    assert!(s.search.is_some());
    assert_eq!(s.list.rows.len(), 1);
    let cmds = update(
        &mut s,
        Msg::Engine(EngineEvent::Searched {
            req,
            account: AccountId(1),
            found: vec![MsgId(3), MsgId(1)],
            error: None,
        }),
    );
    // Only what the cache did not find is read.
    assert_eq!(
        cmds,
        vec![Cmd::LoadServerHits {
            req,
            ids: vec![MsgId(1)]
        }]
    );
    update(
        &mut s,
        Msg::ServerHits {
            req,
            rows: vec![env(1, 11)],
        },
    );
    let ids: Vec<MsgId> = s.list.rows.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![MsgId(1), MsgId(3)], "newest first");
    let search = s.search.as_ref().unwrap();
    assert!(search.from_server.contains(&MsgId(1)));
    assert!(search.asking.is_empty());
    // A server that cannot be reached: its folders are named as searched on headers only.
    update(
        &mut s,
        Msg::Searched {
            req,
            rows: vec![],
            headers_only: vec![],
            asking: vec![(AccountId(1), vec!["work/Archive".into()])],
        },
    );
    update(
        &mut s,
        Msg::Engine(EngineEvent::Searched {
            req,
            account: AccountId(1),
            found: vec![],
            error: Some("offline".into()),
        }),
    );
    assert_eq!(
        s.search.as_ref().unwrap().headers_only,
        vec!["work/Archive (offline)".to_string()]
    );
    // An unknown command is an error, not a crash.
    key(&mut s, Action::CommandLine);
    type_text(&mut s, "frob");
    typed(&mut s, crate::domain::keys::Key::Enter);
    assert!(s.error.as_ref().unwrap().contains("unknown command `frob`"));
}

mod cmdline;
mod compose_fix;
mod news;
mod overlays;
mod readstate;
mod smallterm;
mod undosend;

#[test]
fn what_the_cache_did_is_worded_here() {
    use super::super::msg::{Dest, Done, Undo};
    use crate::domain::triage::FlagName;
    let flag = |undoable| Done::Flag {
        flag: FlagName::Flagged,
        on: true,
        changed: vec![MsgId(1), MsgId(2)],
        undoable,
    };
    let undo = Undo::Flag {
        msgs: vec![MsgId(1), MsgId(2)],
        flag: FlagName::Flagged,
        on: true,
    };
    assert_eq!(
        worded(flag(true)),
        (
            "flagged: 2 messages".to_string(),
            Some((undo, "flagged: 2 messages".to_string()))
        )
    );
    // Marked read on open: nothing said, nothing to undo.
    assert_eq!(worded(flag(false)), (String::new(), None));
    let archived = Done::Moved {
        what: "archived".into(),
        dest: Dest::Role(Role::Archive),
        copy: false,
        from: vec![(MsgId(3), MailboxId(1))],
        copies: Vec::new(),
        missing: vec!["work".into()],
    };
    assert_eq!(
        worded(archived).0,
        "archived: 1 message (no archive folder in work: those stay)"
    );
    assert_eq!(
        worded(Done::Expunged { count: 1 }),
        ("deleted for good: 1 message".to_string(), None)
    );
    let (mut s, _) = loaded(5);
    update(
        &mut s,
        Msg::AttachmentSaved {
            path: "/tmp/d/report.pdf".into(),
            opened: false,
        },
    );
    assert_eq!(s.notice.as_deref(), Some("saved to /tmp/d/report.pdf"));
    update(
        &mut s,
        Msg::AttachmentSaved {
            path: "/tmp/o/report.pdf".into(),
            opened: true,
        },
    );
    assert_eq!(s.notice.as_deref(), Some("opened /tmp/o/report.pdf"));
}

#[test]
fn enter_on_a_malformed_search_keeps_the_prompt_and_its_error() {
    use crate::domain::keys::Key;
    let (mut s, cmds) = loaded(50);
    answer(&mut s, &cmds, 50);
    s.focus = Pane::Messages;
    key(&mut s, Action::Search);
    type_text(&mut s, "from:(bob");
    assert!(s.search.as_ref().unwrap().error.is_some());
    let cmds = typed(&mut s, Key::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(s.typing(), "the prompt stays for the query to be fixed");
    assert!(s.search.as_ref().unwrap().error.is_some());
    // Fixed, enter keeps it.
    typed(&mut s, Key::Backspace);
    typed(&mut s, Key::Backspace);
    typed(&mut s, Key::Backspace);
    typed(&mut s, Key::Backspace);
    type_text(&mut s, "bob");
    assert!(s.search.as_ref().unwrap().error.is_none());
    typed(&mut s, Key::Enter);
    assert!(!s.typing());
}
