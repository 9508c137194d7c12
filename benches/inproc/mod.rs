//! The UI in process for the benchmarks: the real update and view code, commands run against
//! the store as the effects runner does, frames drawn on a test terminal.

use std::collections::VecDeque;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tern::app::effects::execute_on;
use tern::app::msg::{Cmd, Msg};
use tern::app::state::AppState;
use tern::app::update::update;
use tern::store::Store;
use tern::ui::{self, theme::Theme};

pub struct App {
    pub store: Store,
    pub state: AppState,
    pub term: Terminal<TestBackend>,
    pub theme: Theme,
}

impl App {
    pub fn send(&mut self, msg: Msg) {
        let cmds = update(&mut self.state, msg);
        self.run(cmds);
    }

    /// Execute the store-side commands against the store, with the effects runner's own code,
    /// until the state settles (the others are not run).
    pub fn run(&mut self, cmds: Vec<Cmd>) {
        let mut queue: VecDeque<Cmd> = cmds.into();
        while let Some(cmd) = queue.pop_front() {
            if let Some(msg) = execute_on(&mut self.store, cmd).unwrap() {
                queue.extend(update(&mut self.state, msg));
            }
        }
    }

    pub fn draw(&mut self) {
        let (state, theme) = (&self.state, &self.theme);
        self.term.draw(|f| ui::draw(f, state, theme)).unwrap();
    }
}
