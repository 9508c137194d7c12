//! Start-up on an empty cache, the hidden mailboxes pane, checking now, other processes' writes.

use super::*;

fn work() -> Account {
    Account {
        id: AccountId(1),
        name: "work".into(),
        email: "me@x".into(),
        pending: 0,
    }
}

fn loaded_boxes(s: &mut AppState, mailboxes: Vec<Mailbox>) -> Vec<Cmd> {
    update(
        s,
        Msg::MailboxesLoaded {
            accounts: vec![work()],
            mailboxes,
        },
    )
}

#[test]
fn first_start_opens_the_inbox_even_when_the_sync_made_trash_first() {
    let mut s = AppState::new(Layout::Tall, "test");
    update(&mut s, Msg::Resized(Rect::new(0, 0, 100, 30)));
    // The first sync pass has created Trash only.
    loaded_boxes(&mut s, vec![mailbox(12, 1, "Trash", Some(Role::Trash), 0)]);
    assert_eq!(s.list.mailbox, Some(MailboxId(12)));
    // Then INBOX: it is opened in place of the stand-in.
    let cmds = loaded_boxes(
        &mut s,
        vec![
            mailbox(12, 1, "Trash", Some(Role::Trash), 0),
            mailbox(10, 1, "INBOX", Some(Role::Inbox), 3),
        ],
    );
    assert_eq!(s.list.mailbox, Some(MailboxId(10)));
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Cmd::LoadEnvelopes { mailbox, .. } if *mailbox == MailboxId(10))),
        "{cmds:?}"
    );
    // Later loads keep it.
    loaded_boxes(
        &mut s,
        vec![
            mailbox(12, 1, "Trash", Some(Role::Trash), 0),
            mailbox(10, 1, "INBOX", Some(Role::Inbox), 3),
            mailbox(13, 1, "Archive", Some(Role::Archive), 0),
        ],
    );
    assert_eq!(s.list.mailbox, Some(MailboxId(10)));
}

#[test]
fn a_mailbox_the_user_opened_is_kept_when_the_inbox_appears() {
    let mut s = AppState::new(Layout::Tall, "test");
    update(&mut s, Msg::Resized(Rect::new(0, 0, 100, 30)));
    loaded_boxes(
        &mut s,
        vec![
            mailbox(12, 1, "Trash", Some(Role::Trash), 0),
            mailbox(13, 1, "Archive", Some(Role::Archive), 0),
        ],
    );
    let opened = s.list.mailbox;
    // The user opens the other one.
    let other = s
        .sidebar
        .iter()
        .position(|r| matches!(r, SidebarRow::Mailbox(m) if Some(m.id) != opened))
        .unwrap();
    s.focus = crate::app::state::Pane::Mailboxes;
    while s.sidebar_selected != other {
        update(&mut s, Msg::ActionTriggered(Action::Down));
    }
    update(&mut s, Msg::ActionTriggered(Action::Open));
    let chosen = s.list.mailbox;
    assert_ne!(chosen, opened);
    loaded_boxes(
        &mut s,
        vec![
            mailbox(12, 1, "Trash", Some(Role::Trash), 0),
            mailbox(13, 1, "Archive", Some(Role::Archive), 0),
            mailbox(10, 1, "INBOX", Some(Role::Inbox), 3),
        ],
    );
    assert_eq!(s.list.mailbox, chosen);
}

#[test]
fn the_sidebar_hides_and_shows_and_the_focus_passes_over_it() {
    let (mut s, _) = loaded(5);
    s.focus = crate::app::state::Pane::Mailboxes;
    update(&mut s, Msg::ActionTriggered(Action::ToggleSidebar));
    assert!(s.sidebar_hidden);
    assert_eq!(s.focus, crate::app::state::Pane::Messages);
    assert_eq!(layout::areas_of(&s).sidebar.width, 0);
    assert_eq!(layout::areas_of(&s).list.x, 0);
    update(&mut s, Msg::ActionTriggered(Action::PrevPane));
    assert_eq!(s.focus, crate::app::state::Pane::Reader);
    update(&mut s, Msg::ActionTriggered(Action::NextPane));
    assert_eq!(s.focus, crate::app::state::Pane::Messages);
    update(&mut s, Msg::ActionTriggered(Action::ToggleSidebar));
    assert!(!s.sidebar_hidden);
    assert!(layout::areas_of(&s).sidebar.width > 0);
    update(&mut s, Msg::ActionTriggered(Action::PrevPane));
    assert_eq!(s.focus, crate::app::state::Pane::Mailboxes);
}

#[test]
fn check_now_asks_every_engine() {
    let (mut s, _) = loaded(5);
    let cmds = update(&mut s, Msg::ActionTriggered(Action::SyncNow));
    assert_eq!(cmds, vec![Cmd::SyncNow]);
    assert!(s.notice.as_deref().unwrap().contains("checking"));
}

#[test]
fn a_moved_cache_version_reloads_the_counts_and_the_list() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    // Each tick (the run loop adds the check to it) reads the version.
    let tick = update(&mut s, Msg::CacheCheckDue);
    assert_eq!(tick, vec![Cmd::PollCache]);
    // The first reading is the baseline; the same again is nothing.
    assert!(update(&mut s, Msg::CacheVersion(3)).is_empty());
    assert!(update(&mut s, Msg::CacheVersion(3)).is_empty());
    // Another connection committed.
    let cmds = update(&mut s, Msg::CacheVersion(4));
    assert!(cmds.contains(&Cmd::LoadMailboxes), "{cmds:?}");
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Cmd::LoadEnvelopes { mailbox, .. } if *mailbox == MailboxId(10))),
        "{cmds:?}"
    );
}

fn help_view(s: &AppState) -> crate::app::help::HelpView {
    match s.overlays.top() {
        Some(Overlay::Help(v)) => v.clone(),
        other => panic!("{other:?}"),
    }
}

fn with_help(w: u16, h: u16) -> AppState {
    let (mut s, _) = loaded(5);
    s.key_help = crate::app::keymap::Keymap::new(&Default::default()).help();
    update(&mut s, Msg::Resized(Rect::new(0, 0, w, h)));
    update(&mut s, Msg::ActionTriggered(Action::Help));
    s
}

#[test]
fn every_action_is_in_the_help_with_all_its_keys() {
    let s = with_help(80, 24);
    let entries = crate::app::help::entries(&s.key_help, s.focus, "");
    for &a in Action::ALL {
        let (_, _, keys) = entries
            .iter()
            .find(|(_, x, _)| *x == a)
            .unwrap_or_else(|| panic!("{a} is not in the help"));
        for k in a.default_keys() {
            assert!(keys.split(", ").any(|x| x == *k), "{a}: {k} not in {keys}");
        }
    }
    // Each action once.
    assert_eq!(entries.len(), Action::ALL.len());
}

#[test]
fn the_focused_pane_s_group_comes_first() {
    use crate::app::help::{Group, entries};
    let mut s = with_help(80, 24);
    s.focus = crate::app::state::Pane::Reader;
    assert_eq!(entries(&s.key_help, s.focus, "")[0].0, Group::Reading);
    s.focus = crate::app::state::Pane::Messages;
    assert_eq!(entries(&s.key_help, s.focus, "")[0].0, Group::Messages);
}

#[test]
fn the_help_scrolls_within_its_lines() {
    let mut s = with_help(80, 24);
    assert_eq!(help_view(&s).scroll, 0);
    update(&mut s, Msg::ActionTriggered(Action::Down));
    update(&mut s, Msg::ActionTriggered(Action::Down));
    assert_eq!(help_view(&s).scroll, 2);
    update(&mut s, Msg::ActionTriggered(Action::Up));
    assert_eq!(help_view(&s).scroll, 1);
    update(&mut s, Msg::ActionTriggered(Action::Bottom));
    let max = crate::app::help::max_scroll(&s.key_help, s.focus, &help_view(&s), s.size);
    assert!(max > 10, "at 80x24 the help is longer than the screen");
    assert_eq!(help_view(&s).scroll, max);
    update(&mut s, Msg::ActionTriggered(Action::Down));
    assert_eq!(help_view(&s).scroll, max, "not past the end");
    update(&mut s, Msg::ActionTriggered(Action::PageUp));
    assert!(help_view(&s).scroll < max);
    update(&mut s, Msg::ActionTriggered(Action::Top));
    assert_eq!(help_view(&s).scroll, 0);
    // The wheel over it scrolls it, and nothing under it.
    let list = s.list.clone();
    update(
        &mut s,
        Msg::Scrolled {
            x: 40,
            y: 12,
            down: true,
        },
    );
    assert_eq!(help_view(&s).scroll, 3);
    assert_eq!(s.list, list);
    update(&mut s, Msg::ActionTriggered(Action::Back));
    assert!(s.overlays.is_empty());
}

#[test]
fn slash_filters_the_help() {
    use crate::domain::keys::Key;
    let mut s = with_help(80, 24);
    update(&mut s, Msg::ActionTriggered(Action::Filter));
    assert!(s.typing(), "the filter takes the keys");
    for c in "junk".chars() {
        update(
            &mut s,
            Msg::Typed(crate::domain::keys::KeyChord::plain(Key::Char(c))),
        );
    }
    let v = help_view(&s);
    assert_eq!(v.filter, "junk");
    let shown = crate::app::help::entries(&s.key_help, s.focus, &v.filter);
    assert_eq!(
        shown.iter().map(|e| e.1).collect::<Vec<_>>(),
        vec![Action::Junk]
    );
    // Enter keeps it and gives the keys back; esc drops it; esc again closes.
    update(
        &mut s,
        Msg::Typed(crate::domain::keys::KeyChord::plain(Key::Enter)),
    );
    assert!(!s.typing());
    assert_eq!(help_view(&s).filter, "junk");
    update(&mut s, Msg::ActionTriggered(Action::Back));
    assert_eq!(help_view(&s).filter, "");
    update(&mut s, Msg::ActionTriggered(Action::Back));
    assert!(s.overlays.is_empty());
}
