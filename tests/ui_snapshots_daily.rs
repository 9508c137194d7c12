//! Snapshots of the daily-driver changes over the demo cache (as in `ui_snapshots.rs`): the
//! mailbox of each row in lists that mix mailboxes, and the status line's errors.

use std::collections::VecDeque;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

use tern::app::effects::execute_on;
use tern::app::keymap::Keymap;
use tern::app::msg::{Cmd, Msg};
use tern::app::state::AppState;
use tern::app::update::update;
use tern::config::Layout;
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
}

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
