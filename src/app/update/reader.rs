//! The reader pane in the state machine: the open message's text arriving, marking it read
//! after a delay, what it shows (headers, source), its lists and scrolling.

use super::super::layout;
use super::super::msg::{Cmd, Msg};
use super::super::overlay::Overlay;
use super::super::state::AppState;
use super::moved;
use crate::domain::keys::Action;
use crate::domain::message::MAX_DISPLAY_BYTES;

/// The open message was read from the cache, or its delay to be marked read is over.
pub fn on_msg(state: &mut AppState, msg: Msg, cmds: &mut Vec<Cmd>) {
    match msg {
        Msg::MessageLoaded {
            req,
            msg,
            view,
            partial,
        } => {
            if let Some(r) = &mut state.reader
                && r.loading == Some(req)
                && r.msg == msg
            {
                r.loading = None;
                r.view = view.map(|v| *v);
                if (r.view.is_none() || partial) && !r.fetching && r.body_error.is_none() {
                    r.fetching = true;
                    cmds.push(Cmd::FetchBody { msg });
                }
            }
        }
        Msg::ReadDelayElapsed { msg } => super::readstate::delay_elapsed(state, msg, cmds),
        _ => {}
    }
}

/// A key binding for the reader: the headers or the source shown, the attachments and links.
pub fn on_action(state: &mut AppState, action: Action) {
    match action {
        Action::FullHeaders => {
            state.full_headers = !state.full_headers;
            reset_reader_scroll(state);
        }
        Action::Source => {
            state.show_source = !state.show_source;
            reset_reader_scroll(state);
        }
        Action::Attachments
            if state
                .reader
                .as_ref()
                .and_then(|r| r.view.as_ref())
                .is_some_and(|v| !v.attachments.is_empty()) =>
        {
            state.overlays.push(Overlay::Attachments(0));
        }
        Action::OpenLink
            if state
                .reader
                .as_ref()
                .and_then(|r| r.view.as_ref())
                .is_some_and(|v| !v.links.is_empty()) =>
        {
            state.overlays.push(Overlay::Links(0));
        }
        _ => {}
    }
}

/// Scroll the reader by a motion.
pub fn scroll(state: &mut AppState, motion: Action) {
    let page = layout::reader_rows(state.size, state.layout, state.fullscreen);
    let (source, full) = (state.show_source, state.full_headers);
    if let Some(r) = &mut state.reader {
        // Roughly the lines the reader shows (wrapping aside): enough to scroll to the end.
        let lines = r
            .view
            .as_ref()
            .map(|v| {
                let headers = if full && v.headers.is_empty() {
                    v.raw[..v.header_len].lines().count()
                } else if full {
                    v.headers.lines().count()
                } else {
                    6
                };
                let n = if source && v.raw.len() > MAX_DISPLAY_BYTES {
                    // Drawn cut into rows of the pane's width (see ui::reader).
                    let w = usize::from(r.width.max(1));
                    v.raw.lines().map(|l| l.chars().count() / w + 1).sum()
                } else if source {
                    v.raw.lines().count()
                } else {
                    v.body.lines().count()
                        + v.attachments.len()
                        + headers
                        + 2
                        + usize::from(v.cut > 0)
                };
                n as i64
            })
            .unwrap_or(0);
        r.scroll = moved(i64::from(r.scroll), lines.max(1), motion, i64::from(page)) as u16;
    }
}

/// Show the top of the message again (what it shows changed).
fn reset_reader_scroll(state: &mut AppState) {
    if let Some(r) = &mut state.reader {
        r.scroll = 0;
    }
}
