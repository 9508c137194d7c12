//! Whole-screen snapshots of the UI over the demo cache (ratatui TestBackend + insta), driven
//! through the real update loop with the store-side commands executed synchronously against
//! the store, by the runner's own code (`execute_on`); the others (engines, files, programs,
//! timers) are not run.

use std::collections::VecDeque;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

use tern::app::effects::execute_on;
use tern::app::keymap::Keymap;
use tern::app::msg::{Cmd, Msg};
use tern::app::overlay::Overlay;
use tern::app::state::{AppState, SidebarRow};
use tern::app::update::update;
use tern::config::Layout;
use tern::domain::engine::Event as EngineEvent;
use tern::domain::keys::{Action, Key, KeyChord};
use tern::store::Store;
use tern::ui::{self, theme::Theme};

// 2026-11-24 18:00 UTC.
const NOW: i64 = 1_795_543_200;

struct Harness {
    store: Store,
    state: AppState,
}

impl Harness {
    fn new(width: u16, height: u16) -> Harness {
        let mut store = Store::open_in_memory().unwrap();
        tern::demo::import(&mut store).unwrap();
        let mut h = Harness {
            store,
            state: AppState::new(Layout::Auto, "demo"),
        };
        h.state.key_help = Keymap::new(&Default::default()).help();
        h.send(Msg::Ticked {
            now: NOW,
            utc_offset: 0,
        });
        h.send(Msg::Resized(Rect::new(0, 0, width, height)));
        h.run(vec![Cmd::LoadMailboxes]);
        h
    }

    /// Apply a message and run every command it leads to until the state settles.
    fn send(&mut self, msg: Msg) {
        let cmds = update(&mut self.state, msg);
        self.run(cmds);
    }

    fn run(&mut self, cmds: Vec<Cmd>) {
        let mut queue: VecDeque<Cmd> = cmds.into();
        while let Some(cmd) = queue.pop_front() {
            if let Some(msg) = execute_on(&mut self.store, cmd).unwrap() {
                queue.extend(update(&mut self.state, msg));
            }
        }
    }

    fn key(&mut self, action: Action) {
        self.send(Msg::ActionTriggered(action));
    }

    fn screen(&self) -> Terminal<TestBackend> {
        let area = self.state.size;
        let mut t = Terminal::new(TestBackend::new(area.width, area.height)).unwrap();
        t.draw(|f| ui::draw(f, &self.state, &Theme::default()))
            .unwrap();
        t
    }

    /// The screen's text, row by row.
    fn text(&self) -> String {
        let t = self.screen();
        let buf = t.backend().buffer();
        let w = buf.area.width as usize;
        buf.content
            .chunks(w)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn select_mailbox(&mut self, account: &str, name: &str) {
        let mut current_account = String::new();
        let idx = self
            .state
            .sidebar
            .iter()
            .position(|r| match r {
                SidebarRow::Account(a) => {
                    current_account = a.name.clone();
                    false
                }
                SidebarRow::Mailbox(m) => current_account == account && m.name == name,
                SidebarRow::Parent { .. } => false,
            })
            .unwrap_or_else(|| panic!("no mailbox {account}/{name}"));
        while self.state.sidebar_selected < idx {
            self.key(Action::Down);
        }
    }
}

#[test]
fn demo_opens_on_the_first_inbox_wide() {
    let h = Harness::new(150, 36);
    insta::assert_snapshot!(h.screen().backend());
}

#[test]
fn narrow_terminal_puts_the_reader_under_the_list() {
    let mut h = Harness::new(100, 32);
    h.key(Action::NextPane);
    h.key(Action::Down);
    h.key(Action::Down);
    insta::assert_snapshot!(h.screen().backend());
}

#[test]
fn help_overlay_lists_bindings() {
    let mut h = Harness::new(120, 30);
    h.key(Action::Help);
    let text = |h: &Harness| -> String {
        h.screen()
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect()
    };
    // In the mailboxes pane: motions, not the reader's keys.
    let sidebar = text(&h);
    assert!(sidebar.contains("g g, home"));
    assert!(!sidebar.contains("show the raw message source"));
    insta::assert_snapshot!(h.screen().backend());
    h.key(Action::Back);
    h.key(Action::NextPane);
    h.key(Action::NextPane);
    h.key(Action::Help);
    let reader = text(&h);
    assert!(reader.contains("show the raw message source"));
    assert!(reader.contains("J "), "next message on J");
}

#[test]
fn hostile_message_reaches_no_cell_as_a_control_character() {
    let mut h = Harness::new(150, 40);
    h.select_mailbox("work", "Junk");
    h.key(Action::NextPane);
    let reader = h.state.reader.as_ref().expect("a message is open");
    assert!(
        reader.envelope.subject.contains('\u{1b}'),
        "the fixture really is hostile"
    );
    let term = h.screen();
    let buf = term.backend().buffer();
    for cell in buf.content() {
        for c in cell.symbol().chars() {
            assert!(
                !c.is_control() && !('\u{202A}'..='\u{202E}').contains(&c),
                "control character {c:?} reached the screen"
            );
        }
    }
    let text: String = buf.content().iter().map(|c| c.symbol()).collect();
    assert!(
        text.contains("Urgent: invoice overdue"),
        "the subject is shown, cleaned"
    );
    insta::assert_snapshot!(term.backend());
}

#[test]
fn the_reader_full_screen_with_every_header_then_the_source() {
    let mut h = Harness::new(110, 34);
    h.key(Action::NextPane);
    h.key(Action::Down);
    h.key(Action::Fullscreen);
    h.key(Action::FullHeaders);
    let full = h.screen();
    let text: String = full
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(text.contains("Message-ID:"), "every header field is shown");
    assert!(!text.contains("Mailboxes"), "the other panes are hidden");
    insta::assert_snapshot!("reader_full_headers", full.backend());
    h.key(Action::Source);
    insta::assert_snapshot!("reader_source", h.screen().backend());
    // Esc leaves full screen; the list is back with the same message selected.
    let selected = h.state.list.selected;
    h.key(Action::Back);
    assert!(!h.state.fullscreen);
    assert_eq!(h.state.list.selected, selected);
}

#[test]
fn the_raw_source_of_a_hostile_message_is_cleaned_too() {
    let mut h = Harness::new(120, 40);
    h.select_mailbox("work", "Junk");
    h.key(Action::NextPane);
    h.key(Action::Source);
    let term = h.screen();
    for cell in term.backend().buffer().content() {
        for c in cell.symbol().chars() {
            assert!(
                !c.is_control() && !('\u{202A}'..='\u{202E}').contains(&c),
                "control character {c:?} reached the screen"
            );
        }
    }
}

#[test]
fn threaded_list_folds_and_unfolds_a_thread() {
    let mut h = Harness::new(150, 36);
    h.key(Action::NextPane);
    let flat_total = h.state.list.total;
    h.key(Action::ToggleThreads);
    assert_eq!(
        h.state.list.total, flat_total,
        "unfolded: every message is a row"
    );
    let threaded = h.screen();
    insta::assert_snapshot!("threaded_list", threaded.backend());
    // The cabin thread (several replies) folds to one row and unfolds again.
    let visible = h.state.list.visible.clone().unwrap();
    let head = visible
        .iter()
        .position(|r| r.head && r.size > 2)
        .expect("the demo has a long thread");
    let size = visible[head].size;
    while h.state.list.selected < head as u32 {
        h.key(Action::Down);
    }
    let head_msg = h.state.list.selected_row().unwrap().id;
    h.key(Action::ToggleFold);
    assert_eq!(h.state.list.total, flat_total - (size - 1));
    assert_eq!(h.state.list.selected_row().map(|e| e.id), Some(head_msg));
    let text: String = h
        .screen()
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(
        text.contains(&format!("▸ ({size})")),
        "the folded row shows the count"
    );
    h.key(Action::ToggleFold);
    assert_eq!(h.state.list.total, flat_total);
    // Back to the flat view.
    h.key(Action::ToggleThreads);
    assert!(h.state.list.visible.is_none());
    assert_eq!(h.state.list.total, flat_total);
}

#[test]
fn an_html_message_keeps_its_styles_and_numbers_its_links() {
    let mut h = Harness::new(150, 44);
    h.key(Action::NextPane);
    while !h
        .state
        .list
        .selected_row()
        .is_some_and(|e| e.subject.starts_with("Tidepool Notes"))
    {
        h.key(Action::Down);
    }
    let view = h.state.reader.as_ref().unwrap().view.clone().unwrap();
    assert!(view.rich.is_some(), "laid out with its HTML styles");
    assert!(!view.links.is_empty());
    let bold = view.rich.iter().flatten().flatten().any(|(_, st)| st.bold);
    assert!(bold, "<strong>/<b> text keeps its weight");
    insta::assert_snapshot!("html_reader", h.screen().backend());

    h.key(Action::OpenLink);
    assert_eq!(h.state.overlays.top(), Some(&Overlay::Links(0)));
    insta::assert_snapshot!("links_overlay", h.screen().backend());
    h.key(Action::Down);
    let cmds = tern::app::update::update(&mut h.state, Msg::ActionTriggered(Action::Open));
    assert_eq!(
        cmds,
        [Cmd::OpenUrl {
            url: view.links[1].clone()
        }]
    );
    assert!(h.state.overlays.is_empty());
}

#[test]
fn clicks_select_and_the_wheel_scrolls_the_pane_under_it() {
    let mut h = Harness::new(150, 36);
    let a = tern::app::layout::areas(h.state.size, h.state.layout, false);
    // The fourth message row.
    h.send(Msg::Clicked {
        x: a.list.x + 10,
        y: a.list.y + 1 + 3,
    });
    assert_eq!(h.state.list.selected, 3);
    assert_eq!(h.state.focus, tern::app::state::Pane::Messages);
    let opened = h.state.reader.as_ref().unwrap().msg;
    assert_eq!(Some(opened), h.state.list.selected_row().map(|e| e.id));
    // The wheel over the list moves the selection three rows.
    h.send(Msg::Scrolled {
        x: a.list.x + 10,
        y: a.list.y + 2,
        down: true,
    });
    assert_eq!(h.state.list.selected, 6);
    // Over the reader it scrolls the message, and the keyboard focus stays where it was.
    h.send(Msg::Scrolled {
        x: a.reader.x + 5,
        y: a.reader.y + 3,
        down: true,
    });
    assert_eq!(h.state.reader.as_ref().unwrap().scroll, 3);
    assert_eq!(h.state.focus, tern::app::state::Pane::Messages);
    // A click on a mailbox row opens it.
    let work_inbox = h
        .state
        .sidebar
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, SidebarRow::Mailbox(m) if m.name == "INBOX"))
        .nth(1)
        .map(|(i, _)| i)
        .unwrap();
    h.send(Msg::Clicked {
        x: a.sidebar.x + 3,
        y: a.sidebar.y + 1 + work_inbox as u16,
    });
    assert_eq!(h.state.sidebar_selected, work_inbox);
    assert_eq!(
        h.state.list.mailbox,
        h.state.selected_mailbox().map(|m| m.id)
    );
    assert_eq!(h.state.selected_mailbox().unwrap().name, "INBOX");
    // Borders and the status line are not rows.
    let before = h.state.list.selected;
    h.send(Msg::Clicked {
        x: a.list.x,
        y: a.list.y,
    });
    assert_eq!(h.state.list.selected, before);
}

#[test]
fn the_attachments_list_opens_and_asks_to_save_or_open_one() {
    let mut h = Harness::new(150, 36);
    h.select_mailbox("work", "INBOX");
    h.key(Action::NextPane);
    while !h
        .state
        .list
        .selected_row()
        .is_some_and(|e| e.has_attachments)
    {
        h.key(Action::Down);
    }
    let msg = h.state.reader.as_ref().unwrap().msg;
    h.key(Action::Attachments);
    assert_eq!(h.state.overlays.top(), Some(&Overlay::Attachments(0)));
    insta::assert_snapshot!("attachments_overlay", h.screen().backend());
    let cmds = tern::app::update::update(&mut h.state, Msg::ActionTriggered(Action::Save));
    assert_eq!(cmds, [Cmd::SaveAttachment { msg, index: 0 }]);
    assert!(h.state.overlays.is_empty());
    h.key(Action::Attachments);
    let cmds = tern::app::update::update(&mut h.state, Msg::ActionTriggered(Action::Open));
    assert_eq!(cmds, [Cmd::OpenAttachment { msg, index: 0 }]);
    // Outside the list, s does nothing.
    let cmds = tern::app::update::update(&mut h.state, Msg::ActionTriggered(Action::Save));
    assert!(cmds.is_empty());
}

#[test]
fn folders_and_accounts_fold_in_the_mailboxes_pane() {
    let mut h = Harness::new(120, 34);
    let rows = |h: &Harness| h.state.sidebar.len();
    let all = rows(&h);
    let lists = h
        .state
        .sidebar
        .iter()
        .position(|r| matches!(r, SidebarRow::Parent { name, .. } if name == "Lists"))
        .expect("the demo has a Lists level");
    while h.state.sidebar_selected < lists {
        h.key(Action::Down);
    }
    h.key(Action::ToggleFold);
    assert_eq!(rows(&h), all - 1, "Lists/rust-users is hidden");
    assert_eq!(
        h.state.sidebar_selected, lists,
        "the selection stays on Lists"
    );
    insta::assert_snapshot!("sidebar_folded", h.screen().backend());
    // Fold the whole personal account, from its row.
    let select = |h: &mut Harness, pred: &dyn Fn(&SidebarRow) -> bool| {
        let at = h.state.sidebar.iter().position(pred).unwrap();
        h.key(Action::Top);
        while h.state.sidebar_selected < at {
            h.key(Action::Down);
        }
    };
    let personal = |r: &SidebarRow| matches!(r, SidebarRow::Account(a) if a.name == "personal");
    let work = |r: &SidebarRow| matches!(r, SidebarRow::Account(a) if a.name == "work");
    select(&mut h, &personal);
    h.key(Action::ToggleFold);
    let at = h.state.sidebar.iter().position(personal).unwrap();
    assert!(work(&h.state.sidebar[at + 1]), "nothing of personal shows");
    // New counts from the engine keep the folds and the selection.
    h.run(vec![Cmd::LoadMailboxes]);
    assert!(work(&h.state.sidebar[at + 1]));
    assert_eq!(h.state.sidebar_selected, at);
    h.key(Action::ToggleFold);
    select(
        &mut h,
        &|r: &SidebarRow| matches!(r, SidebarRow::Parent { name, .. } if name == "Lists"),
    );
    h.key(Action::ToggleFold);
    assert_eq!(rows(&h), all);
}

#[test]
fn all_inboxes_lists_every_account_inbox_newest_first() {
    let mut h = Harness::new(150, 36);
    assert!(
        matches!(&h.state.sidebar[0], SidebarRow::Mailbox(m) if m.name == "All inboxes"),
        "first row with two accounts"
    );
    // The demo still opens on the first account's own INBOX.
    assert_ne!(h.state.list.mailbox, Some(tern::domain::ALL_INBOXES));
    h.key(Action::Top);
    assert_eq!(h.state.list.mailbox, Some(tern::domain::ALL_INBOXES));
    let inbox_totals: u32 = h
        .state
        .sidebar
        .iter()
        .filter_map(|r| match r {
            SidebarRow::Mailbox(m) if m.name == "INBOX" => Some(m.total),
            _ => None,
        })
        .sum();
    assert_eq!(h.state.list.total, inbox_totals);
    let rows = &h.state.list.rows;
    assert!(
        rows.windows(2).all(|w| w[0].date >= w[1].date),
        "newest first"
    );
    let mailboxes: std::collections::BTreeSet<_> = rows.iter().map(|e| e.mailbox).collect();
    assert_eq!(mailboxes.len(), 2, "both accounts' inboxes");
    insta::assert_snapshot!("all_inboxes", h.screen().backend());
}

#[test]
fn each_account_row_says_what_its_engine_is_doing() {
    let mut h = Harness::new(150, 36);
    let id = |name: &str| {
        h.state
            .sidebar
            .iter()
            .find_map(|r| match r {
                SidebarRow::Account(a) if a.name == name => Some(a.id),
                _ => None,
            })
            .unwrap()
    };
    let (work, personal) = (id("work"), id("personal"));
    h.send(Msg::Engine(EngineEvent::State {
        account: work,
        state: tern::domain::ConnState::Syncing {
            mailbox: "INBOX".into(),
            done: 120,
            total: 5000,
        },
    }));
    h.send(Msg::Engine(EngineEvent::State {
        account: personal,
        state: tern::domain::ConnState::Failed("login refused".into()),
    }));
    let term = h.screen();
    let lines: Vec<String> = (0..36)
        .map(|y| {
            (0..30)
                .map(|x| term.backend().buffer()[(x, y)].symbol().to_string())
                .collect()
        })
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("work ↻ 120/5000")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("personal ✗ failed")),
        "{lines:#?}"
    );
}

#[test]
fn a_flag_change_shows_at_once_and_waits_in_the_queue_count() {
    let mut h = Harness::new(150, 36);
    // Demo mail lives only in the cache and needs no queue: make the accounts IMAP ones.
    for (name, email) in [
        ("work", "robin.quill@northwind.example"),
        ("personal", "robin@quill.example"),
    ] {
        h.store
            .upsert_account(name, email, tern::store::AccountKind::Imap)
            .unwrap();
    }
    h.key(Action::NextPane);
    let id = h.state.list.selected_row().unwrap().id;
    assert!(!h.state.list.selected_row().unwrap().flags.flagged);
    h.key(Action::ToggleFlag);
    assert!(h.state.list.selected_row().unwrap().flags.flagged);
    assert_eq!(h.state.list.selected_row().unwrap().id, id);
    let status: String = {
        let term = h.screen();
        (0..150)
            .map(|x| term.backend().buffer()[(x, 35)].symbol().to_string())
            .collect()
    };
    assert!(status.contains("1 queued"), "{status}");
    // The cache has it too: a fresh read of the list shows it flagged.
    let mb = h.state.list.mailbox.unwrap();
    let rows = h.store.envelopes(mb, 0, 50).unwrap();
    assert!(rows.iter().find(|e| e.id == id).unwrap().flags.flagged);
}

#[test]
fn the_action_log_lists_what_the_server_could_not_take() {
    let mut h = Harness::new(150, 36);
    let work = h.store.account_id("work").unwrap().unwrap();
    h.store
        .pending_done(
            &[],
            &[(
                work,
                "setting \\Flagged on 1 message(s) in INBOX: already deleted on the server, dropped"
                    .into(),
            )],
        )
        .unwrap();
    h.key(Action::ActionLog);
    let text: String = h
        .screen()
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(text.contains("already deleted on the server"), "{text}");
    assert!(text.contains("work"));
    h.key(Action::Back);
    assert!(h.state.overlays.is_empty());
}

fn screen_text(h: &Harness) -> String {
    let t = h.screen();
    let b = t.backend().buffer();
    let w = b.area.width;
    b.content()
        .chunks(w as usize)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn archive_moves_at_once_and_undo_brings_it_back() {
    let mut h = Harness::new(120, 30);
    h.select_mailbox("personal", "INBOX");
    h.key(Action::NextPane);
    let inbox = h.state.list.mailbox.unwrap();
    let before = h.state.list.total;
    let subject = h.state.list.selected_row().unwrap().subject.clone();
    h.key(Action::Archive);
    assert_eq!(h.state.list.total, before - 1, "gone from the list at once");
    let archive = h
        .state
        .sidebar_all
        .iter()
        .find_map(|r| match r {
            SidebarRow::Mailbox(m) if m.role == Some(tern::domain::Role::Archive) => {
                (h.state.account_name(m.account) == Some("personal")).then_some(m.id)
            }
            _ => None,
        })
        .unwrap();
    let archived = h.store.envelopes(archive, 0, 100).unwrap();
    assert!(archived.iter().any(|e| e.subject == subject));
    assert!(screen_text(&h).contains("archived: 1 message"));
    h.key(Action::Undo);
    assert_eq!(h.state.list.total, before);
    assert!(
        h.store
            .envelopes(inbox, 0, 100)
            .unwrap()
            .iter()
            .any(|e| e.subject == subject)
    );
    assert!(screen_text(&h).contains("undone: archived: 1 message"));
    // An account with no archive folder says so, and its mail stays.
    h.key(Action::Back);
    h.select_mailbox("work", "INBOX");
    h.key(Action::NextPane);
    let before = h.state.list.total;
    h.key(Action::Archive);
    assert_eq!(h.state.list.total, before);
    assert!(screen_text(&h).contains("no archive folder in work"));
}

#[test]
fn move_picker_over_the_list() {
    let mut h = Harness::new(120, 30);
    h.select_mailbox("work", "INBOX");
    h.key(Action::NextPane);
    h.key(Action::ToggleSelect);
    h.key(Action::ToggleSelect);
    h.key(Action::MoveTo);
    for c in "prj".chars() {
        h.send(Msg::Typed(tern::domain::keys::KeyChord::plain(
            tern::domain::keys::Key::Char(c),
        )));
    }
    insta::assert_snapshot!(h.screen().backend());
    h.send(Msg::Typed(tern::domain::keys::KeyChord::plain(
        tern::domain::keys::Key::Enter,
    )));
    assert!(screen_text(&h).contains("moved: 2 messages"));
}

#[test]
fn deleting_in_trash_asks_first() {
    let mut h = Harness::new(120, 30);
    h.select_mailbox("work", "INBOX");
    h.key(Action::NextPane);
    h.key(Action::Delete);
    h.key(Action::Back);
    h.select_mailbox("work", "Trash");
    h.key(Action::NextPane);
    let before = h.state.list.total;
    h.key(Action::Delete);
    insta::assert_snapshot!(h.screen().backend());
    h.send(Msg::Typed(tern::domain::keys::KeyChord::plain(
        tern::domain::keys::Key::Char('y'),
    )));
    assert_eq!(h.state.list.total, before - 1);
    assert!(screen_text(&h).contains("deleted for good: 1 message"));
}

#[test]
fn the_review_screen_of_a_reply() {
    use tern::domain::Address;
    use tern::domain::compose::{Attachment, Draft, Kind};
    let mut h = Harness::new(120, 30);
    let a = |n: Option<&str>, e: &str| Address {
        name: n.map(str::to_string),
        email: e.into(),
    };
    h.state.overlays.push(Overlay::Compose(Box::new(tern::app::state::Compose {
        account: tern::domain::AccountId(1),
        kind: Kind::ReplyAll,
        original: None,
        draft_msg: None,
        draft: Draft {
            from: a(Some("Robin Quill"), "robin.quill@northwind.example"),
            to: vec![a(Some("Jonas Weber"), "jonas.weber@northwind.example")],
            cc: vec![a(Some("Doe, Jane"), "jane@northwind.example")],
            bcc: vec![],
            subject: "Re: Standup moved to 10:15 today".into(),
            body: "Fine by me, see the attached notes.\n\nOn Mon, Jonas Weber wrote:\n> Clashes with the offsite call.\n\n-- \nRobin\n".into(),
            in_reply_to: None,
            references: vec![],
            attachments: vec![Attachment {
                name: "notes.pdf".into(),
                content_type: String::new(),
                data: vec![0; 48_000],
            }],
        },
        file: "/tmp/none".into(),
        attach_input: Some("~/Documents/ag".into()),
        addr: None,
        builtin: None,
        selected: 0,
        note: Some("\u{1b}[31mnot an address: bob".into()),
        warned_attachment: false,
        confirm_discard: false,
        edit: Default::default(),
    })));
    insta::assert_snapshot!(h.screen().backend());
}

/// Text that cannot be sent as it is: shown whole on the review, what to fix under it; and
/// the paths that complete the one typed to attach, the chosen one marked.
#[test]
fn a_rejected_text_and_the_paths_to_attach() {
    use tern::domain::compose::{Draft, Kind, Rejected};
    for (w, h_) in [(80, 24), (200, 50)] {
        let mut h = Harness::new(w, h_);
        let text = "From: Robin Quill <robin.quill@northwind.example>\nTo: al\nCc:\nBcc:\n\
                    Subject: plans\n\nDear Al,\nthe plan is ready.\n";
        let choices: Vec<String> = (1..=10)
            .map(|i| format!("~/Documents/report-{i:02}.pdf"))
            .collect();
        h.state
            .overlays
            .push(Overlay::Compose(Box::new(tern::app::state::Compose {
                account: tern::domain::AccountId(1),
                kind: Kind::New,
                original: None,
                draft_msg: None,
                draft: Draft::default(),
                file: "/tmp/none".into(),
                attach_input: Some(choices[1].clone()),
                addr: None,
                builtin: None,
                selected: 0,
                note: Some("not an address: \"al\" (To): e edits again, your text is kept".into()),
                warned_attachment: false,
                confirm_discard: false,
                edit: tern::app::state::EditState {
                    rejected: Some(Rejected {
                        problem: "not an address: \"al\" (To)".into(),
                        text: text.into(),
                    }),
                    reading: false,
                    choices,
                    choice: Some(1),
                    resumed: false,
                },
            })));
        let screen = format!("{}", h.screen().backend());
        assert!(screen.contains("Dear Al,"), "{screen}");
        insta::assert_snapshot!(
            format!("a_rejected_text_and_the_paths_to_attach_{w}x{h_}"),
            screen
        );
    }
}

#[test]
fn the_built_in_editor() {
    use tern::domain::compose::{Draft, Kind, editable};
    let mut h = Harness::new(100, 20);
    let draft = Draft {
        from: tern::domain::Address {
            name: Some("Robin Quill".into()),
            email: "robin.quill@northwind.example".into(),
        },
        subject: "Lunch".into(),
        body: "\nShall we try the new place?\n\n-- \nRobin\n".into(),
        ..Draft::default()
    };
    let text = editable(&draft);
    h.state
        .overlays
        .push(Overlay::Compose(Box::new(tern::app::state::Compose {
            account: tern::domain::AccountId(1),
            kind: Kind::New,
            original: None,
            draft_msg: None,
            draft,
            file: "/tmp/none".into(),
            attach_input: None,
            addr: None,
            builtin: Some(tern::app::state::Editor::new(&text, NOW)),
            selected: 0,
            note: None,
            warned_attachment: false,
            confirm_discard: false,
            edit: Default::default(),
        })));
    insta::assert_snapshot!(h.screen().backend());
}

#[test]
fn a_search_lists_its_results_and_the_reader_marks_the_words() {
    use tern::domain::keys::{Key, KeyChord};
    let mut h = Harness::new(130, 30);
    h.key(Action::Search);
    for c in "lisbon OR dumpl".chars() {
        h.send(Msg::Typed(KeyChord::plain(Key::Char(c))));
    }
    let text = screen_text(&h);
    assert!(text.contains("Search: lisbon OR dumpl"), "{text}");
    assert!(text.contains("search: lisbon OR dumpl█"), "{text}");
    insta::assert_snapshot!("search_results", h.screen().backend());
    // The words found stand out in the reader (reversed), and only those.
    let t = h.screen();
    let buf = t.backend().buffer();
    let reader = tern::app::layout::areas(h.state.size, h.state.layout, false).reader;
    let mut marked = String::new();
    for y in reader.y..reader.y + reader.height {
        for x in reader.x..reader.x + reader.width {
            let cell = &buf[(x, y)];
            if cell.modifier.contains(ratatui::style::Modifier::REVERSED) {
                marked.push_str(cell.symbol());
            } else if !marked.ends_with(' ') && !marked.is_empty() {
                marked.push(' ');
            }
        }
    }
    let words: Vec<&str> = marked.split_whitespace().collect();
    assert!(!words.is_empty());
    assert!(
        words.iter().all(
            |w| w.to_lowercase().starts_with("lisbon") || w.to_lowercase().starts_with("dumpl")
        ),
        "{words:?}"
    );
    // A malformed query: an inline error, the last results stay.
    h.send(Msg::Typed(KeyChord::plain(Key::Char('"'))));
    let text = screen_text(&h);
    assert!(text.contains("column 16: a quote is not closed"), "{text}");
    assert!(h.state.list.total > 0);
    // Esc: back to the mailbox.
    h.send(Msg::Typed(KeyChord::plain(Key::Esc)));
    assert!(h.state.search.is_none());
    assert!(!screen_text(&h).contains("Search:"));
}

/// What is drawn on top takes the keys: the action log read in the background arrives over
/// the help opened meanwhile, and esc closes the log (it closed the hidden help before).
#[test]
fn the_overlay_drawn_on_top_is_the_one_esc_closes() {
    let mut h = Harness::new(120, 40);
    // `g l` asks for the log; `?` comes before its answer.
    let cmds = update(&mut h.state, Msg::ActionTriggered(Action::ActionLog));
    assert_eq!(cmds, [Cmd::LoadActionLog]);
    h.key(Action::Help);
    h.run(cmds);
    let text = screen_text(&h);
    assert!(text.contains("Actions the server could not take"), "{text}");
    h.key(Action::Back);
    let text = screen_text(&h);
    assert!(
        !text.contains("Actions the server could not take"),
        "{text}"
    );
    assert!(text.contains("Keys (? or Esc to close)"), "{text}");
    h.key(Action::Back);
    assert!(!screen_text(&h).contains("Keys (? or Esc to close)"));
}

/// A popup is drawn over the panes: a click on what shows around it (or under it) does
/// nothing while it is open.
#[test]
fn a_click_beside_the_folder_picker_does_not_reach_the_list() {
    let mut h = Harness::new(120, 30);
    h.key(Action::NextPane);
    let before = h.state.list.selected;
    h.key(Action::MoveTo);
    let picker = screen_text(&h);
    assert!(picker.contains("Move 1 message to"), "{picker}");
    let list = tern::app::layout::areas(h.state.size, h.state.layout, false).list;
    h.send(Msg::Clicked {
        x: list.x + 2,
        y: list.y + 3,
    });
    assert_eq!(h.state.list.selected, before);
    assert_eq!(screen_text(&h), picker, "the screen did not change");
}

/// Type `text` into the prompt on top.
fn type_in(h: &mut Harness, text: &str) {
    for c in text.chars() {
        h.send(Msg::Typed(tern::domain::keys::KeyChord::plain(
            tern::domain::keys::Key::Char(c),
        )));
    }
}

/// The command line: `re` and Tab complete to `re`'s commands, listed in the status line.
#[test]
fn the_command_line_completes_and_lists_the_names() {
    for (w, hh) in [(80, 24), (200, 50)] {
        let mut h = Harness::new(w, hh);
        h.select_mailbox("work", "INBOX");
        h.key(Action::NextPane);
        h.key(Action::CommandLine);
        type_in(&mut h, "rep");
        h.send(Msg::Typed(tern::domain::keys::KeyChord::plain(
            tern::domain::keys::Key::Tab,
        )));
        let text = screen_text(&h);
        assert!(text.contains(":reply"), "{text}");
        insta::assert_snapshot!(format!("command_line_{w}x{hh}"), h.screen().backend());
    }
}

/// A pipe's output in its popup, sanitised, over the panes; esc closes it.
#[test]
fn a_pipe_shows_its_output_in_a_popup() {
    for (w, hh) in [(80, 24), (200, 50)] {
        let mut h = Harness::new(w, hh);
        h.select_mailbox("work", "INBOX");
        h.key(Action::NextPane);
        h.key(Action::Pipe);
        type_in(&mut h, "grep -n the");
        h.send(Msg::Typed(tern::domain::keys::KeyChord::plain(
            tern::domain::keys::Key::Enter,
        )));
        let Some(Overlay::Output(o)) = h.state.overlays.top() else {
            panic!("no output popup")
        };
        let req = o.running.expect("running");
        assert!(screen_text(&h).contains("waiting for the command"));
        h.send(Msg::Piped {
            req,
            output: b"3:the first line\n7:the \x1b[31mred\x1b[0m one\n".to_vec(),
            ended: "ended with exit status: 1".into(),
        });
        let text = screen_text(&h);
        assert!(text.contains("7:the red one"), "{text}");
        insta::assert_snapshot!(format!("pipe_output_{w}x{hh}"), h.screen().backend());
        h.key(Action::Back);
        assert!(h.state.overlays.is_empty());
    }
}

#[test]
fn the_help_fits_80x24_and_scrolls_to_its_end() {
    let mut h = Harness::new(80, 24);
    h.key(Action::Help);
    insta::assert_snapshot!("help_80x24_top", h.screen().backend());
    h.key(Action::Bottom);
    insta::assert_snapshot!("help_80x24_end", h.screen().backend());
}

#[test]
fn the_help_is_whole_and_wide_at_200x50() {
    let mut h = Harness::new(200, 50);
    h.key(Action::Help);
    insta::assert_snapshot!("help_200x50", h.screen().backend());
}

#[test]
fn the_help_filtered() {
    let mut h = Harness::new(80, 24);
    h.key(Action::Help);
    h.key(Action::Filter);
    for c in "thread".chars() {
        h.send(Msg::Typed(tern::domain::keys::KeyChord::plain(
            tern::domain::keys::Key::Char(c),
        )));
    }
    insta::assert_snapshot!("help_filtered_80x24", h.screen().backend());
}

#[test]
fn the_mailboxes_pane_hidden_at_80x24_and_200x50() {
    for (w, hgt) in [(80, 24), (200, 50)] {
        let mut h = Harness::new(w, hgt);
        h.key(Action::ToggleSidebar);
        insta::assert_snapshot!(format!("sidebar_hidden_{w}x{hgt}"), h.screen().backend());
    }
}

/// A POP3 account between polls is not "online": the status line says when its last poll
/// succeeded.
#[test]
fn a_pop3_account_says_when_it_last_polled() {
    let mut h = Harness::new(80, 24);
    let work = h
        .state
        .sidebar
        .iter()
        .find_map(|r| match r {
            SidebarRow::Account(a) if a.name == "work" => Some(a.id),
            _ => None,
        })
        .unwrap();
    h.send(Msg::Engine(EngineEvent::State {
        account: work,
        state: tern::domain::ConnState::Polled { at: NOW - 300 },
    }));
    let text = screen_text(&h);
    assert!(text.contains("✓ work polled 17:55"), "{text}");
    assert!(!text.contains("● work"), "{text}");
}

/// The list's columns are sized from its width: at 80x24 the subject keeps most of the row.
#[test]
fn the_list_columns_at_80x24_and_200x50() {
    for (w, hgt) in [(80, 24), (200, 50)] {
        let mut h = Harness::new(w, hgt);
        h.key(Action::NextPane);
        insta::assert_snapshot!(format!("list_columns_{w}x{hgt}"), h.screen().backend());
    }
}

/// A quoted line too long for the reader keeps its `>` on the rows it wraps to.
#[test]
fn wrapped_quotes_keep_their_marker_at_80x24_and_200x50() {
    for (w, hgt) in [(80, 24), (200, 50)] {
        let mut h = Harness::new(w, hgt);
        h.select_mailbox("work", "INBOX");
        h.key(Action::NextPane);
        while h
            .state
            .list
            .row(h.state.list.selected)
            .is_some_and(|e| e.subject != "Re: Fwd: Q4 offsite venue options")
        {
            let before = h.state.list.selected;
            h.key(Action::Down);
            assert_ne!(before, h.state.list.selected, "the message is in the list");
        }
        h.key(Action::NextPane);
        for _ in 0..10 {
            h.key(Action::Down);
        }
        let text = screen_text(&h);
        insta::assert_snapshot!(format!("quotes_wrapped_{w}x{hgt}"), h.screen().backend());
        if w == 80 {
            // Every row of the quote starts with its marker: no row of a quoted paragraph
            // starts bare between two quoted rows.
            assert!(text.contains("┃> proper breakout rooms"), "{text}");
        }
    }
}

// The daily-driver changes: the mailbox of each row in lists that mix mailboxes, and the
// status line's errors.

#[test]
fn search_results_say_the_account_and_folder_of_each_row() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut t = Harness::new(w, h);
        t.key(Action::Search);
        for c in "lisbon OR dumpl OR invoice".chars() {
            t.send(Msg::Typed(KeyChord::plain(Key::Char(c))));
        }
        t.send(Msg::Typed(KeyChord::plain(Key::Enter)));
        let mailboxes: std::collections::BTreeSet<_> =
            t.state.list.rows.iter().map(|e| e.mailbox).collect();
        assert!(mailboxes.len() > 1, "results from several mailboxes");
        let text = t.text();
        assert!(text.contains("/INBOX"), "{text}");
        insta::assert_snapshot!(format!("search_origin_{w}x{h}"), t.screen().backend());
    }
}

#[test]
fn all_inboxes_say_the_account_of_each_row() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut t = Harness::new(w, h);
        t.key(Action::Top);
        assert_eq!(t.state.list.mailbox, Some(tern::domain::ALL_INBOXES));
        let text = t.text();
        assert!(text.contains("/INBOX"), "{text}");
        insta::assert_snapshot!(format!("all_inboxes_origin_{w}x{h}"), t.screen().backend());
    }
}

#[test]
fn a_long_error_is_cut_at_a_word_and_shown_whole_on_e() {
    let mut t = Harness::new(80, 24);
    t.send(Msg::Failed(
        "work: cannot log in to imap.example.test:993: the server said AUTHENTICATIONFAILED \
         Authentication failed (check the password command and the user name)"
            .into(),
    ));
    let text = t.text();
    let status = text.lines().last().unwrap();
    assert!(status.contains("work: cannot log in"), "{status}");
    assert!(status.trim_end().ends_with('…'), "{status}");
    insta::assert_snapshot!("long_error_status_80x24", t.screen().backend());
    t.key(Action::LastError);
    let text = t.text();
    assert!(text.contains("user name)"), "{text}");
    insta::assert_snapshot!("last_error_popup_80x24", t.screen().backend());
}

#[test]
fn new_mail_shows_at_the_top_of_a_list_left_at_its_top() {
    use tern::domain::engine::Event as EngineEvent;
    let mut t = Harness::new(80, 24);
    let inbox = t.state.list.mailbox.unwrap();
    t.key(Action::NextPane);
    assert_eq!((t.state.list.selected, t.state.list.top), (0, 0));
    let raw = b"From: Nadia Brook <nadia@brook.example>\r\nTo: robin@quill.example\r\n\
        Subject: Just arrived\r\nMessage-ID: <arrived@brook.example>\r\n\
        Date: Tue, 24 Nov 2026 17:59:00 +0000\r\n\r\nhello\r\n";
    let msg = tern::store::NewMessage {
        uid: tern::domain::Uid(9_000),
        meta: tern::domain::message::parse(raw).meta,
        flags: Default::default(),
        internal_date: None,
        raw: Some(raw),
    };
    t.store.insert_messages(inbox, &[msg]).unwrap();
    let account = t.state.open_mailbox().unwrap().account;
    t.send(Msg::Engine(EngineEvent::Changed {
        account,
        mailbox: Some(inbox),
    }));
    assert_eq!((t.state.list.selected, t.state.list.top), (0, 0));
    assert_eq!(t.state.list.selected_row().unwrap().subject, "Just arrived");
    assert!(
        !t.state.list.selected_row().unwrap().flags.seen,
        "previewed, not read"
    );
    insta::assert_snapshot!("new_mail_at_the_top_80x24", t.screen().backend());
}

/// Gmail's labels (X-GM-LABELS, kept by the cache) show in the reader as read-only tags,
/// under the subject; a message without labels has no such line. A change the engine reports
/// shows in the open message at once.
#[test]
fn gmail_labels_show_as_tags_in_the_reader_80x24() {
    let mut h = Harness::new(80, 24);
    let first = h.state.list.rows[0].clone();
    assert!(!screen_text(&h).contains("Labels:"));
    let labels = vec!["Inbox".to_string(), "Important".into(), "Family/Été".into()];
    assert_eq!(
        h.store
            .update_labels(first.mailbox, &[(first.uid.0, labels)])
            .unwrap(),
        1
    );
    let account = h.store.account_id("personal").unwrap().unwrap();
    h.send(Msg::Engine(EngineEvent::Changed {
        account,
        mailbox: Some(first.mailbox),
    }));
    assert_eq!(h.state.reader.as_ref().unwrap().msg, first.id);
    let text = screen_text(&h);
    assert!(
        text.contains("Labels:  [Inbox] [Important] [Family/Été]"),
        "{text}"
    );
    insta::assert_snapshot!("gmail_labels_80x24", h.screen().backend());
}
