//! Undo send: the message waits, `u` takes it back to the review screen, and the countdown
//! lets it go.

use super::*;
use crate::app::msg::Queued;
use crate::domain::compose::{Draft, Kind};

fn waiting(until: i64) -> AppState {
    let (mut s, _) = loaded(0);
    s.clock.now = 1000;
    let draft = Draft {
        subject: "plans".into(),
        body: "See you at noon.\n".into(),
        ..Draft::default()
    };
    update(
        &mut s,
        Msg::ComposeStarted(Box::new(compose_state(
            Kind::New,
            None,
            draft,
            "/tmp/x/m.txt".into(),
        ))),
    );
    s.editing = None;
    let cmds = update(
        &mut s,
        Msg::ComposeQueued(Queued::Waiting {
            id: 7,
            subject: "plans".into(),
            until,
        }),
    );
    assert_eq!(cmds, [Cmd::SendCountdown]);
    assert!(s.overlays.compose().is_none(), "the review screen closes");
    s
}

#[test]
fn u_takes_a_waiting_message_back_to_the_review_screen() {
    let mut s = waiting(1010);
    assert_eq!(
        s.notice.as_deref(),
        Some("sending in 10 s: plans (u takes it back)")
    );
    let cmds = update(&mut s, Msg::SendCountdown { now: 1003 });
    assert_eq!(cmds, [Cmd::SendCountdown]);
    assert!(s.notice.as_deref().unwrap().starts_with("sending in 7 s"));
    assert_eq!(key(&mut s, Action::Undo), [Cmd::WithdrawSend { id: 7 }]);
    update(
        &mut s,
        Msg::SendWithdrawn {
            id: 7,
            withdrawn: true,
        },
    );
    let c = s.overlays.compose().expect("the message is open again");
    assert_eq!(c.draft.body, "See you at noon.\n");
    assert_eq!(c.draft_msg, None);
    assert!(s.notice.as_deref().unwrap().contains("taken back"));
    assert!(s.pending_send.is_none());
}

#[test]
fn once_the_time_is_up_u_undoes_actions_again() {
    let mut s = waiting(1010);
    // The countdown ends: the message goes, `u` is the usual undo.
    assert!(update(&mut s, Msg::SendCountdown { now: 1010 }).is_empty());
    assert!(s.pending_send.is_none());
    assert_eq!(s.notice.as_deref(), Some("sending #7: plans"));
    assert!(key(&mut s, Action::Undo).is_empty());
    assert_eq!(s.notice.as_deref(), Some("nothing to undo"));

    // Too late on the outbox's side (an attempt had started): said, nothing reopened.
    let mut s = waiting(1010);
    key(&mut s, Action::Undo);
    update(
        &mut s,
        Msg::SendWithdrawn {
            id: 7,
            withdrawn: false,
        },
    );
    assert!(s.overlays.compose().is_none());
    assert!(s.notice.as_deref().unwrap().contains("too late"));
}
