//! Read state the user controls; space in the reader; a list at its top following new mail;
//! the status line's notices ageing and the last error in full.

use super::*;
use crate::domain::triage::FlagName;

/// Whether any command marks something read.
fn marks_read(cmds: &[Cmd]) -> bool {
    cmds.iter().any(|c| {
        matches!(
            c,
            Cmd::SetFlag {
                flag: FlagName::Seen,
                on: true,
                ..
            } | Cmd::MarkReadLater { .. }
        )
    })
}

fn reading(total: u32) -> AppState {
    let (mut s, cmds) = loaded(total);
    s.mark_read_on_open = true;
    assert!(!marks_read(&answer(&mut s, &cmds, total)));
    s
}

#[test]
fn starting_previews_the_newest_message_and_marks_nothing_read() {
    let (mut s, cmds) = loaded(5);
    s.mark_read_on_open = true;
    let next = answer(&mut s, &cmds, 5);
    assert!(matches!(next.as_slice(), [Cmd::LoadMessage { .. }]));
    assert_eq!(s.reader.as_ref().map(|r| r.msg), Some(MsgId(1)));
    assert!(s.list.rows.iter().all(|e| !e.flags.seen));
}

#[test]
fn moving_the_cursor_in_the_list_marks_nothing_read() {
    let mut s = reading(5);
    s.focus = Pane::Messages;
    for a in [
        Action::Down,
        Action::Down,
        Action::Up,
        Action::Bottom,
        Action::Top,
    ] {
        let cmds = key(&mut s, a);
        assert!(!marks_read(&cmds), "{a:?}: {cmds:?}");
    }
    assert!(s.list.rows.iter().all(|e| !e.flags.seen));
    // Even with a delay: no timer starts for a preview.
    s.mark_read_delay_ms = 1000;
    assert!(!marks_read(&key(&mut s, Action::Down)));
}

#[test]
fn moving_in_the_mailboxes_pane_marks_nothing_read() {
    let mut s = reading(5);
    assert_eq!(s.focus, Pane::Mailboxes);
    // To Archive (it opens, and its newest message is previewed), then back to INBOX.
    for a in [Action::Down, Action::Up] {
        let cmds = key(&mut s, a);
        assert!(!marks_read(&cmds));
        let next = answer(&mut s, &cmds, 3);
        assert!(!marks_read(&next), "{next:?}");
        assert!(s.reader.is_some(), "the newest message is previewed");
    }
    assert!(s.list.rows.iter().all(|e| !e.flags.seen));
}

#[test]
fn enter_marks_read_and_a_message_marked_unread_stays_so_until_enter() {
    let mut s = reading(5);
    s.focus = Pane::Messages;
    let cmds = key(&mut s, Action::Open);
    assert_eq!(s.focus, Pane::Reader);
    assert_eq!(
        cmds,
        [Cmd::SetFlag {
            msgs: vec![MsgId(1)],
            flag: FlagName::Seen,
            on: true,
            undoable: false,
        }]
    );
    assert!(s.list.rows[0].flags.seen);
    assert!(!s.list.rows[1].flags.seen, "only the one opened");
    // N in the reader: unread, and it stays so while read on.
    key(&mut s, Action::ToggleRead);
    assert!(!s.list.rows[0].flags.seen);
    assert!(
        !marks_read(&key(&mut s, Action::Down)),
        "scrolling the reader"
    );
    // Back to the list; the cursor passes over it and back.
    key(&mut s, Action::Back);
    for a in [Action::Down, Action::Up] {
        assert!(!marks_read(&key(&mut s, a)));
    }
    assert!(!s.list.rows[0].flags.seen, "N sticks");
    // Enter opens it again: read.
    let cmds = key(&mut s, Action::Open);
    assert!(marks_read(&cmds));
    assert!(s.list.rows[0].flags.seen);
    // Enter in the reader on a message marked unread reads it again too.
    key(&mut s, Action::ToggleRead);
    assert!(marks_read(&key(&mut s, Action::Open)));
}

#[test]
fn the_delay_counts_while_the_reader_stays_on_the_message() {
    let mut s = reading(5);
    s.mark_read_delay_ms = 3000;
    s.focus = Pane::Messages;
    let cmds = key(&mut s, Action::Open);
    assert_eq!(
        cmds,
        [Cmd::MarkReadLater {
            msg: MsgId(1),
            after_ms: 3000
        }]
    );
    assert!(!s.list.rows[0].flags.seen, "not yet");
    assert!(marks_read(&update(
        &mut s,
        Msg::ReadDelayElapsed { msg: MsgId(1) }
    )));
    assert!(s.list.rows[0].flags.seen);
    // Left for the list before the delay: not marked.
    key(&mut s, Action::Back);
    key(&mut s, Action::Down);
    key(&mut s, Action::Open);
    key(&mut s, Action::Back);
    assert!(update(&mut s, Msg::ReadDelayElapsed { msg: MsgId(2) }).is_empty());
    assert!(!s.list.rows[1].flags.seen);
    // Marked unread (N) before the delay: the delay does not read it again.
    key(&mut s, Action::Open);
    key(&mut s, Action::ToggleRead); // read now (N flips the unread message to read)
    key(&mut s, Action::ToggleRead); // and unread again
    assert!(update(&mut s, Msg::ReadDelayElapsed { msg: MsgId(2) }).is_empty());
    assert!(!s.list.rows[1].flags.seen);
}

#[test]
fn space_pages_the_reader_down_and_never_selects_there() {
    let mut s = reading(5);
    let Some(r) = &mut s.reader else { panic!() };
    let body: String = (0..200).map(|i| format!("line {i}\r\n")).collect();
    r.view = Some(crate::domain::message::parse(
        format!("Subject: long\r\n\r\n{body}").as_bytes(),
    ));
    r.loading = None;
    s.focus = Pane::Reader;
    let page = layout::reader_rows(s.size, s.layout, s.fullscreen);
    key(&mut s, Action::ToggleSelect);
    assert_eq!(s.reader.as_ref().unwrap().scroll, page);
    assert!(s.list.marked.is_empty(), "nothing selected out of sight");
    assert_eq!(s.list.selected, 0);
    // At the end it stops there.
    for _ in 0..100 {
        key(&mut s, Action::ToggleSelect);
    }
    let end = s.reader.as_ref().unwrap().scroll;
    key(&mut s, Action::ToggleSelect);
    assert_eq!(s.reader.as_ref().unwrap().scroll, end);
    assert_eq!(s.reader.as_ref().unwrap().msg, MsgId(1), "no next message");
    // Full screen too; N then acts on the message read, not on a hidden selection.
    key(&mut s, Action::Fullscreen);
    key(&mut s, Action::ToggleSelect);
    assert!(s.list.marked.is_empty());
    let cmds = key(&mut s, Action::ToggleRead);
    assert!(
        matches!(cmds.as_slice(), [Cmd::SetFlag { msgs, .. }] if msgs == &[MsgId(1)]),
        "{cmds:?}"
    );
    // In the list, space still selects.
    key(&mut s, Action::Fullscreen);
    s.focus = Pane::Messages;
    key(&mut s, Action::ToggleSelect);
    assert_eq!(s.list.marked.len(), 1);
}

#[test]
fn a_list_at_its_top_follows_new_mail() {
    let mut s = reading(10);
    s.focus = Pane::Messages;
    let next = two_arrive(&mut s);
    assert_eq!((s.list.selected, s.list.top), (0, 0));
    assert_eq!(s.list.selected_row().unwrap().id, MsgId(100));
    assert!(
        !marks_read(&next),
        "the new one is previewed, not read: {next:?}"
    );
    assert_eq!(s.reader.as_ref().unwrap().msg, MsgId(100));
}

#[test]
fn a_message_being_read_at_the_top_stays_when_mail_arrives() {
    let mut s = reading(10);
    s.focus = Pane::Messages;
    key(&mut s, Action::Open);
    two_arrive(&mut s);
    assert_eq!(s.list.selected_row().unwrap().id, MsgId(1));
    assert_eq!(s.list.selected, 2);
    assert_eq!(s.reader.as_ref().unwrap().msg, MsgId(1));
}

#[test]
fn notices_go_after_a_while_and_errors_when_something_went_well_since() {
    let (mut s, _) = loaded(3);
    let tick = |s: &mut AppState, now: i64| {
        update(s, Msg::Ticked { now, utc_offset: 0 });
    };
    tick(&mut s, 1_000);
    update(&mut s, Msg::Notice("saved".into()));
    tick(&mut s, 1_005);
    assert_eq!(s.notice.as_deref(), Some("saved"));
    tick(&mut s, 1_015);
    assert_eq!(s.notice, None, "gone after a while without a key");
    // An error stays through notices' time and keys...
    update(
        &mut s,
        Msg::Failed("work: login failed: authentication failed".into()),
    );
    tick(&mut s, 1_030);
    for _ in 0..3 {
        key(&mut s, Action::Down);
    }
    assert!(s.error.is_some());
    // ... until something goes well.
    update(&mut s, Msg::Notice("moved 1 message".into()));
    assert_eq!(s.error, None);
    assert_eq!(s.notice.as_deref(), Some("moved 1 message"));
    // Or a minute passes.
    update(&mut s, Msg::Failed("offline".into()));
    tick(&mut s, 1_060);
    assert!(s.error.is_some());
    tick(&mut s, 1_095);
    assert_eq!(s.error, None);
    // The last error is still there in full.
    key(&mut s, Action::LastError);
    assert_eq!(
        s.overlays.top(),
        Some(&Overlay::LastError("offline".into()))
    );
    key(&mut s, Action::Back);
    assert!(s.overlays.is_empty());
    // And from the action log.
    update(&mut s, Msg::ActionLogLoaded(vec![]));
    key(&mut s, Action::LastError);
    assert!(matches!(s.overlays.top(), Some(Overlay::LastError(_))));
}

#[test]
fn a_notice_at_start_stays_its_time() {
    let (mut s, _) = loaded(3);
    s.notice = Some("config: unknown key `foo`".into());
    update(
        &mut s,
        Msg::Ticked {
            now: 5_000,
            utc_offset: 0,
        },
    );
    assert!(s.notice.is_some());
    update(
        &mut s,
        Msg::Ticked {
            now: 5_015,
            utc_offset: 0,
        },
    );
    assert_eq!(s.notice, None);
    key(&mut s, Action::LastError);
    assert_eq!(s.notice.as_deref(), Some("no error so far"));
}

#[test]
fn in_full_screen_actions_apply_to_the_message_shown_not_a_hidden_selection() {
    let mut s = reading(5);
    s.focus = Pane::Messages;
    key(&mut s, Action::ToggleSelect);
    key(&mut s, Action::ToggleSelect);
    assert_eq!(s.list.marked.len(), 2);
    key(&mut s, Action::Up);
    key(&mut s, Action::Fullscreen);
    let shown = s.reader.as_ref().unwrap().msg;
    let cmds = key(&mut s, Action::ToggleFlag);
    assert!(
        matches!(cmds.as_slice(), [Cmd::SetFlag { msgs, .. }] if msgs == &[shown]),
        "{cmds:?}"
    );
    let cmds = key(&mut s, Action::Archive);
    assert!(
        matches!(cmds.as_slice(), [Cmd::MoveTo { msgs, .. }] if msgs == &[shown]),
        "{cmds:?}"
    );
    assert_eq!(s.list.marked.len(), 2, "the selection stays for the list");
    // Back in the list, where the marks show: the selection again.
    key(&mut s, Action::Fullscreen);
    let cmds = key(&mut s, Action::ToggleFlag);
    assert!(matches!(cmds.as_slice(), [Cmd::SetFlag { msgs, .. }] if msgs.len() == 2));
}
