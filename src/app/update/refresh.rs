//! Fresh mail on demand and from elsewhere: "check now" asks every engine, and the cache's data
//! version (read at each clock tick) shows what another process (`tern sync`) stored.

use super::super::msg::Cmd;
use super::super::state::AppState;
use super::reload_list;

/// The user asked to check every account now.
pub fn check_now(state: &mut AppState, cmds: &mut Vec<Cmd>) {
    cmds.push(Cmd::SyncNow);
    state.notice = Some("checking every account for new mail".into());
}

/// The clock ticked: read the cache's data version again.
pub fn on_check_due(cmds: &mut Vec<Cmd>) {
    cmds.push(Cmd::PollCache);
}

/// The cache's data version: when it moved since the last reading, another connection
/// committed, so the counts and the open list are read again (as after an engine's Changed).
pub fn on_cache_version(state: &mut AppState, version: i64, cmds: &mut Vec<Cmd>) {
    let before = state.cache_version.replace(version);
    if before.is_some_and(|b| b != version) {
        cmds.push(Cmd::LoadMailboxes);
        reload_list(state, cmds);
    }
}
