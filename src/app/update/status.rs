//! The status line's notices age, as in aerc: a notice goes at the next key or after a few
//! seconds of wall time (the run loop's clock tick); an error stays longer, until a later notice
//! (something went well since) or a newer error replaces it. The last error is kept whole for
//! the `last_error` popup, since the status line may shorten it.

use super::super::overlay::Overlay;
use super::super::state::AppState;

/// Seconds of the clock (as last ticked) a notice stays: with the run loop ticking every
/// [`TICK_SECS`], one is shown 10 to 15 seconds.
pub const NOTICE_SECS: i64 = 15;
/// Seconds an error stays unless something replaces it first.
pub const ERROR_SECS: i64 = 60;
/// How often the run loop sends the clock (`Msg::Ticked`).
pub const TICK_SECS: u64 = 5;

/// The status line before a message was handled.
pub struct Before {
    notice: Option<String>,
    error: Option<String>,
}

impl Before {
    pub fn of(state: &AppState) -> Before {
        Before {
            notice: state.notice.clone(),
            error: state.error.clone(),
        }
    }
}

/// After a message: date what is new, let a new notice replace an older error, and let what is
/// old go.
pub fn settle(state: &mut AppState, before: Before) {
    let now = state.clock.now;
    let new_error = state.error.is_some() && state.error != before.error;
    let new_notice = state.notice.is_some() && state.notice != before.notice;
    if new_error {
        state.status.last_error = state.error.clone();
    } else if new_notice {
        // A later success: the error it follows is over.
        state.error = None;
    }
    // Set before the clock ran (at start): dated by the first tick.
    let undated = |at: i64| at == 0 || at > now;
    if new_error || (state.error.is_some() && undated(state.status.error_at)) {
        state.status.error_at = now;
    }
    if new_notice || (state.notice.is_some() && undated(state.status.notice_at)) {
        state.status.notice_at = now;
    }
    if state.notice.is_some() && now - state.status.notice_at >= NOTICE_SECS {
        state.notice = None;
    }
    if state.error.is_some() && now - state.status.error_at >= ERROR_SECS {
        state.error = None;
    }
}

/// The last error in full, in a popup (or a word that there was none).
pub fn show_last_error(state: &mut AppState) {
    let text = match &state.status.last_error {
        Some(e) => e.clone(),
        None => {
            state.notice = Some("no error so far".into());
            return;
        }
    };
    state.overlays.push(Overlay::LastError(text));
}
