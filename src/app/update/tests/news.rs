//! New mail: an engine's arrivals are handed to the effects to announce; the answer is a
//! notice and, when the terminal is how the user is told, bytes for the run loop to write.

use super::*;
use crate::domain::NewMail;

fn mail(from: &str, subject: &str) -> NewMail {
    NewMail {
        msg: MsgId(9),
        account: AccountId(1),
        account_name: "work".into(),
        folder: "INBOX".into(),
        role: Some(Role::Inbox),
        from: from.into(),
        subject: subject.into(),
    }
}

#[test]
fn arrivals_are_announced_and_the_answer_rings_and_tells() {
    let (mut s, _) = loaded(3);
    let cmds = update(
        &mut s,
        Msg::Engine(EngineEvent::Arrived {
            account: AccountId(1),
            msgs: vec![MsgId(9)],
        }),
    );
    assert_eq!(
        cmds,
        vec![Cmd::Announce {
            msgs: vec![MsgId(9)]
        }]
    );
    let cmds = update(
        &mut s,
        Msg::NewMail {
            mail: vec![mail("Bob", "Lunch")],
            ring: Some("\x07".into()),
        },
    );
    assert_eq!(cmds, vec![Cmd::Ring("\x07".into())]);
    assert_eq!(s.notice.as_deref(), Some("new mail from Bob: Lunch"));
    // A burst: counted; no ring when the user is told elsewhere (the desktop).
    let cmds = update(
        &mut s,
        Msg::NewMail {
            mail: vec![mail("Ann", "one"), mail("Bob", "two")],
            ring: None,
        },
    );
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(
        s.notice.as_deref(),
        Some("2 new messages, the last from Bob: two")
    );
}
