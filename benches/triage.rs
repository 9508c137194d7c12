//! Triage benchmark on the real Dovecot (started by the test harness): archive 5,000 selected
//! messages of a 10,000-message INBOX.
//!   (a) local: from the key press to the redrawn screen (cache change + queue row in one
//!       transaction, counts, the list read again, one frame drawn), in process;
//!   (b) server: the engine's replay of the queue, timed and with its IMAP commands counted;
//!   then the same for undo (the 5,000 go back to INBOX).
//!
//! Run: `cargo bench --bench triage` (`TERN_BENCH_N` / `TERN_BENCH_SELECT` to change the sizes).

#[path = "inproc/mod.rs"]
mod inproc;

use inproc::App;

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::time::Instant;

use harness::{ALICE, MailServers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use tern::app::msg::{Cmd, Msg};
use tern::app::state::{AppState, SidebarRow};
use tern::config::{Config, Layout};
use tern::domain::keys::Action;
use tern::store::{Store, StoreHandle};
use tern::sync::pass::{self, SyncOptions, sync_once};
use tern::ui::theme::Theme;

fn main() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let n = env("TERN_BENCH_N", 10_000);
    let select = env("TERN_BENCH_SELECT", 5_000).min(n);
    let servers = MailServers::start();
    servers.create_mailbox(ALICE.email, "Archive");
    servers.populate(ALICE.email, "INBOX", n, 11);
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = servers.write_tern_config_with(
        dir.path(),
        &harness::ALICE,
        "tls",
        servers.imaps_port(),
        ALICE.password,
        "offline = \"headers\"",
    );
    let cfg = Config::load(&cfg_path).unwrap();
    let account = cfg.accounts[0].clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let handle = StoreHandle::open_in_dir(&cfg.data_dir).unwrap();
    rt.block_on(sync_once(
        &account,
        &handle,
        &SyncOptions::default(),
        &|_| {},
    ))
    .unwrap();
    eprintln!("synced {n} messages");

    let mut app = App {
        store: Store::open_in_dir(&cfg.data_dir).unwrap(),
        state: AppState::new(Layout::Auto, "bench"),
        term: Terminal::new(TestBackend::new(200, 50)).unwrap(),
        theme: Theme::default(),
    };
    app.send(Msg::Resized(Rect::new(0, 0, 200, 50)));
    app.run(vec![Cmd::LoadMailboxes]);
    let inbox_row = app
        .state
        .sidebar
        .iter()
        .position(|r| matches!(r, SidebarRow::Mailbox(m) if m.name == "INBOX"))
        .unwrap();
    while app.state.sidebar_selected < inbox_row {
        app.send(Msg::ActionTriggered(Action::Down));
    }
    app.send(Msg::ActionTriggered(Action::NextPane));
    assert_eq!(app.state.list.total as usize, n);
    let account_id = rt
        .block_on(handle.call(|s| Ok(s.account_id("alice")?.unwrap())))
        .unwrap();

    let mut rows = Vec::new();
    let rounds = [Action::Archive, Action::Undo].repeat(3);
    for (round, action) in rounds.into_iter().enumerate() {
        let round = round + 1;
        if action == Action::Archive {
            // The newest `select` messages, selected (as V + G or ctrl-a would).
            let mb = app.state.list.mailbox.unwrap();
            let ids = app.store.envelopes(mb, 0, select as u32).unwrap();
            app.state.list.marked = ids.into_iter().map(|e| e.id).collect();
        }
        let t = Instant::now();
        app.send(Msg::ActionTriggered(action));
        app.draw();
        let local = t.elapsed();
        assert_eq!(
            app.state.list.total as usize,
            if action == Action::Archive {
                n - select
            } else {
                n
            },
            "the list shows the change"
        );

        let (server, commands) = rt.block_on(async {
            let mut imap = pass::connect(&account).await.unwrap();
            // Count the replay's commands only (not the login's).
            imap.commands = 0;
            let t = Instant::now();
            let done = tern::sync::replay::replay(&mut imap, &handle, account_id, true)
                .await
                .unwrap();
            let took = t.elapsed();
            assert_eq!(done, 1, "one queue row for the whole selection");
            let commands = imap.commands;
            imap.logout().await;
            (took, commands)
        });
        let mut imap = servers.imap(ALICE.email);
        let (archived, _, _) = imap.status("Archive");
        assert_eq!(
            archived as usize,
            if action == Action::Archive { select } else { 0 },
            "the server has it"
        );
        let label = if action == Action::Archive {
            format!("archive {select}")
        } else {
            format!("undo (back to INBOX) {select}")
        };
        eprintln!(
            "round {round}: {label}: local {:.1} ms, server {:.2} s in {commands} IMAP commands",
            local.as_secs_f64() * 1000.0,
            server.as_secs_f64()
        );
        rows.push((label, local, server, commands));
    }
    println!(
        "\n| what ({n}-message INBOX) | local, key to redrawn screen | server | IMAP commands |"
    );
    println!("|---|---|---|---|");
    for what in [
        format!("archive {select}"),
        format!("undo (back to INBOX) {select}"),
    ] {
        let mine: Vec<_> = rows.iter().filter(|r| r.0 == what).collect();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let (lo, hi) = mine.iter().fold((f64::MAX, 0f64), |(lo, hi), r| {
            (lo.min(ms(r.1)), hi.max(ms(r.1)))
        });
        let (slo, shi) = mine.iter().fold((f64::MAX, 0f64), |(lo, hi), r| {
            (lo.min(r.2.as_secs_f64()), hi.max(r.2.as_secs_f64()))
        });
        let commands: Vec<String> = mine.iter().map(|r| r.3.to_string()).collect();
        println!(
            "| {what} (x{}) | {lo:.1}-{hi:.1} ms | {slo:.2}-{shi:.2} s | {} |",
            mine.len(),
            commands.join(", ")
        );
    }
}
