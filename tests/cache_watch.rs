//! The running UI shows what another process stored: a second connection to the same cache
//! (as `tern sync` run meanwhile would hold) commits, and the UI's next clock tick reads the
//! cache's data version on its own connection and reloads the mailboxes and the open list.

use std::collections::VecDeque;

use ratatui::layout::Rect;
use tern::app::effects::execute_on;
use tern::app::msg::{Cmd, Msg};
use tern::app::state::AppState;
use tern::app::update::update;
use tern::config::Layout;
use tern::store::Store;

/// Run the commands against `store` as the effects runner would, collecting those it cannot.
fn settle(store: &mut Store, state: &mut AppState, cmds: Vec<Cmd>) -> Vec<Cmd> {
    let mut seen = Vec::new();
    let mut queue: VecDeque<Cmd> = cmds.into();
    while let Some(cmd) = queue.pop_front() {
        seen.push(cmd.clone());
        if let Some(msg) = execute_on(store, cmd).unwrap() {
            queue.extend(update(state, msg));
        }
    }
    seen
}

fn tick(store: &mut Store, state: &mut AppState) -> Vec<Cmd> {
    // The run loop sends the check with each clock tick.
    let cmds = update(state, Msg::CacheCheckDue);
    settle(store, state, cmds)
}

#[test]
fn another_connection_s_commit_reloads_the_ui_at_the_next_tick() {
    let dir = tempfile::tempdir().unwrap();
    let mut ui = Store::open_in_dir(dir.path()).unwrap();
    let mut other = Store::open_in_dir(dir.path()).unwrap();
    other.pop3_setup("home", "me@home", &[]).unwrap();

    let mut state = AppState::new(Layout::Auto, "test");
    update(&mut state, Msg::Resized(Rect::new(0, 0, 80, 24)));
    settle(&mut ui, &mut state, vec![Cmd::LoadMailboxes]);
    let before = state.sidebar_all.len();
    assert!(before > 0, "{:?}", state.sidebar_all);

    // The baseline, then nothing moved.
    tick(&mut ui, &mut state);
    let quiet = tick(&mut ui, &mut state);
    assert!(!quiet.contains(&Cmd::LoadMailboxes), "{quiet:?}");

    // Another process stores an account.
    other.pop3_setup("work", "me@work", &[]).unwrap();
    let cmds = tick(&mut ui, &mut state);
    assert!(cmds.contains(&Cmd::LoadMailboxes), "{cmds:?}");
    assert!(state.sidebar_all.len() > before, "{:?}", state.sidebar_all);
}
