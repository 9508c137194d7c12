//! The overlay stack: keys, clicks and the drawing agree on which overlay is on top.

use super::*;
use crate::domain::keys::Key;

/// The screen cell of row `i` of the visible list.
fn list_cell(s: &AppState, i: u16) -> (u16, u16) {
    let a = layout::areas(s.size, s.layout, s.fullscreen);
    (a.list.x + 2, a.list.y + 1 + i)
}

/// The screen cell of row `i` of the mailboxes pane.
fn sidebar_cell(s: &AppState, i: u16) -> (u16, u16) {
    let a = layout::areas(s.size, s.layout, s.fullscreen);
    (a.sidebar.x + 2, a.sidebar.y + 1 + i)
}

/// Clicks and wheel turns on every pane change nothing.
fn pointer_is_stopped(s: &mut AppState) {
    let before = s.clone();
    let a = layout::areas(s.size, s.layout, s.fullscreen);
    for (x, y) in [
        list_cell(s, 3),
        sidebar_cell(s, 0),
        (a.reader.x + 2, a.reader.y + 2),
    ] {
        assert!(update(s, Msg::Clicked { x, y }).is_empty());
        for down in [true, false] {
            assert!(update(s, Msg::Scrolled { x, y, down }).is_empty());
        }
    }
    assert!(*s == before, "nothing under the overlay moved");
}

#[test]
fn a_click_under_the_folder_picker_does_not_reach_the_list() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    key(&mut s, Action::MoveTo);
    assert!(matches!(s.overlays.top(), Some(Overlay::Picker(_))));
    pointer_is_stopped(&mut s);
    // Closed, the same click selects the row under it.
    typed(&mut s, Key::Esc);
    let (x, y) = list_cell(&s, 3);
    update(&mut s, Msg::Clicked { x, y });
    assert_eq!(s.list.selected, 3);
}

#[test]
fn a_click_while_a_question_is_asked_changes_nothing_and_yes_still_means_the_same() {
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
            mailboxes: vec![mailbox(12, 1, "Trash", Some(Role::Trash), 5)],
        },
    );
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    let first = s.list.rows[0].id;
    key(&mut s, Action::Delete);
    assert!(matches!(s.overlays.top(), Some(Overlay::Confirm(_))));
    pointer_is_stopped(&mut s);
    assert_eq!(
        typed(&mut s, Key::Char('y')),
        [Cmd::Expunge { msgs: vec![first] }]
    );
    assert!(s.overlays.is_empty());
}

#[test]
fn a_click_while_writing_does_not_reach_the_panes_under_the_review() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    update(
        &mut s,
        Msg::ComposeStarted(Box::new(compose_state(
            crate::domain::compose::Kind::New,
            None,
            Default::default(),
            "/tmp/x".into(),
        ))),
    );
    s.editing = None;
    pointer_is_stopped(&mut s);
}

#[test]
fn the_popups_that_always_stopped_clicks_still_do() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    key(&mut s, Action::Help);
    pointer_is_stopped(&mut s);
    key(&mut s, Action::Back);
    update(&mut s, Msg::ActionLogLoaded(vec![]));
    pointer_is_stopped(&mut s);
}

#[test]
fn the_status_line_prompts_let_clicks_through_and_another_folder_ends_the_search() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    key(&mut s, Action::Filter);
    assert_eq!(s.overlays.top(), Some(&Overlay::Query));
    // A click on a result selects it; keys still go to the query.
    let (x, y) = list_cell(&s, 2);
    update(&mut s, Msg::Clicked { x, y });
    assert_eq!(s.list.selected, 2);
    assert!(s.typing());
    // Another folder ends the search, and its prompt with it.
    let (x, y) = sidebar_cell(&s, 2);
    update(&mut s, Msg::Clicked { x, y });
    assert_eq!(s.selected_mailbox().map(|m| m.id), Some(MailboxId(11)));
    assert!(s.search.is_none());
    assert!(s.overlays.is_empty() && !s.typing());
    // The command line lets clicks through too.
    key(&mut s, Action::CommandLine);
    let (x, y) = sidebar_cell(&s, 1);
    update(&mut s, Msg::Clicked { x, y });
    assert_eq!(s.selected_mailbox().map(|m| m.id), Some(MailboxId(10)));
    assert!(matches!(s.overlays.top(), Some(Overlay::Command(_))));
}

/// The action log is read in the background: it can arrive after `?` opened the help. It is
/// drawn over the help, so esc closes it first (the help took the keys while hidden before).
#[test]
fn the_action_log_arriving_over_the_help_takes_the_keys_it_is_drawn_over() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    assert_eq!(key(&mut s, Action::ActionLog), [Cmd::LoadActionLog]);
    key(&mut s, Action::Help);
    let entry = ("work".to_string(), 0, "dropped".to_string());
    update(&mut s, Msg::ActionLogLoaded(vec![entry.clone()]));
    assert_eq!(s.overlays.top(), Some(&Overlay::ActionLog(vec![entry])));
    // Read again, it replaces the one shown.
    update(&mut s, Msg::ActionLogLoaded(vec![]));
    assert_eq!(s.overlays.top(), Some(&Overlay::ActionLog(vec![])));
    key(&mut s, Action::Back);
    assert_eq!(s.overlays.top(), Some(&Overlay::Help(Default::default())));
    key(&mut s, Action::Back);
    assert!(s.overlays.is_empty());
}

/// A message to write is prepared in the background: it can arrive while the folder picker is
/// open. It is drawn over the picker, so it takes the keys (the picker took them before).
#[test]
fn a_message_to_write_arriving_over_the_picker_takes_the_keys_it_is_drawn_over() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    key(&mut s, Action::MoveTo);
    let file = std::path::PathBuf::from("/tmp/x");
    update(
        &mut s,
        Msg::ComposeStarted(Box::new(compose_state(
            crate::domain::compose::Kind::New,
            None,
            Default::default(),
            file.clone(),
        ))),
    );
    s.editing = None;
    assert!(matches!(s.overlays.top(), Some(Overlay::Compose(_))));
    assert!(s.typing());
    typed(&mut s, Key::Char('q'));
    assert!(s.overlays.compose().unwrap().confirm_discard);
    assert_eq!(
        s.overlays.picker().unwrap().query,
        "",
        "the picker got nothing"
    );
    assert_eq!(
        typed(&mut s, Key::Char('y')),
        [Cmd::DiscardCompose { file }]
    );
    // The picker is on top again, and takes the keys.
    assert!(matches!(s.overlays.top(), Some(Overlay::Picker(_))));
    typed(&mut s, Key::Char('a'));
    assert_eq!(s.overlays.picker().unwrap().query, "a");
}

/// A message with a link and an attachment, as the reader shows it.
fn view_with_lists() -> Box<crate::domain::message::MessageView> {
    let raw = b"From: a@x\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n\
<a href=\"https://example.test/\">site</a>\r\n--b\r\nContent-Type: application/pdf\r\n\
Content-Disposition: attachment; filename=plan.pdf\r\n\r\nPDF\r\n--b--\r\n";
    let v = crate::domain::message::parse_for_reader(raw, 80);
    assert_eq!((v.links.len(), v.attachments.len()), (1, 1), "{v:?}");
    Box::new(v)
}

/// The attachments list of a message that went away (deleted by another client while the
/// list was open) used to stay, deaf to esc: its keys needed the message.
#[test]
fn the_lists_of_a_message_close_when_it_goes_away() {
    let (mut s, cmds) = loaded(1);
    answer(&mut s, &cmds, 1);
    let req = s.reader.as_ref().unwrap().loading.unwrap();
    let msg = s.reader.as_ref().unwrap().msg;
    update(
        &mut s,
        Msg::MessageLoaded {
            req,
            msg,
            view: Some(view_with_lists()),
            partial: false,
        },
    );
    key(&mut s, Action::Attachments);
    assert_eq!(s.overlays.top(), Some(&Overlay::Attachments(0)));
    // The message is expunged elsewhere: the list is read again, empty.
    let cmds = update(
        &mut s,
        Msg::Engine(EngineEvent::Changed {
            account: AccountId(1),
            mailbox: None,
        }),
    );
    answer(&mut s, &cmds, 0);
    assert!(s.reader.is_none());
    assert!(s.overlays.is_empty(), "{:?}", s.overlays);
    // Should one stay without its message, esc still closes it.
    s.overlays.push(Overlay::Links(0));
    key(&mut s, Action::Back);
    s.overlays.push(Overlay::Attachments(0));
    key(&mut s, Action::Back);
    assert!(s.overlays.is_empty());
}
