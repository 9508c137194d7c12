//! Undo send: a message sent from the client waits `send_delay` in the outbox before the
//! outbox worker takes it (the row's next attempt is then). Meanwhile the status line counts
//! down and `u` takes it back: the row goes (only if no attempt has started: the store checks
//! that in the same statement) and the message opens again on the review screen, as it was.
//! Quitting meanwhile loses nothing: the row stays queued and goes at the next start (or from
//! `tern sync --watch`).

use super::super::msg::Cmd;
use super::super::overlay::Overlay;
use super::super::state::{AppState, Compose, PendingSend};
use crate::domain::sanitize;

/// The message went to the outbox to wait until `until`; `compose` is what was written.
pub fn waiting(
    state: &mut AppState,
    id: i64,
    subject: String,
    until: i64,
    compose: Option<Compose>,
    cmds: &mut Vec<Cmd>,
) {
    let Some(compose) = compose else {
        state.notice = Some(sending(id, &subject));
        return;
    };
    let p = PendingSend {
        id,
        subject,
        until,
        compose: Box::new(compose),
    };
    state.notice = Some(countdown(&p, state.clock.now));
    state.pending_send = Some(Box::new(p));
    cmds.push(Cmd::SendCountdown);
}

/// A second passed: count on, or let it go.
pub fn on_countdown(state: &mut AppState, now: i64, cmds: &mut Vec<Cmd>) {
    state.clock.now = now;
    let Some(p) = &state.pending_send else { return };
    if now < p.until {
        state.notice = Some(countdown(p, now));
        cmds.push(Cmd::SendCountdown);
    } else {
        state.notice = Some(sending(p.id, &p.subject));
        state.pending_send = None;
    }
}

/// `u` while a message waits: ask for it back. False when there is none (or its time is up):
/// `u` then undoes the last action as usual.
pub fn undo(state: &mut AppState, cmds: &mut Vec<Cmd>) -> bool {
    match &state.pending_send {
        Some(p) if state.clock.now < p.until => {
            cmds.push(Cmd::WithdrawSend { id: p.id });
            true
        }
        _ => false,
    }
}

/// The outbox answered: taken back (the message opens again), or it had gone already.
pub fn on_withdrawn(state: &mut AppState, id: i64, withdrawn: bool) {
    if state.pending_send.as_ref().is_none_or(|p| p.id != id) {
        return;
    }
    let Some(p) = state.pending_send.take() else {
        return;
    };
    if withdrawn {
        let mut compose = p.compose;
        // The draft it was written from went when it was sent: a new one is saved.
        compose.draft_msg = None;
        compose.note = Some("not sent: y sends it, e edits it".into());
        state.overlays.push(Overlay::Compose(compose));
        state.notice = Some(format!(
            "taken back, not sent: {}",
            sanitize::line(&p.subject)
        ));
    } else {
        state.notice = Some(format!(
            "too late to take back #{id}: it is being sent ({})",
            sanitize::line(&p.subject)
        ));
    }
}

fn countdown(p: &PendingSend, now: i64) -> String {
    format!(
        "sending in {} s: {} (u takes it back)",
        (p.until - now).max(0),
        sanitize::line(&p.subject)
    )
}

fn sending(id: i64, subject: &str) -> String {
    format!("sending #{id}: {}", sanitize::line(subject))
}
