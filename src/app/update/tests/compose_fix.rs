//! Nothing written is lost: text that cannot be sent goes back to the editor whole, with what
//! to fix on top; every edit is saved before anything else. The built-in editor's cursor; the
//! paths offered to attach.

use super::*;
use crate::app::msg::ReadBack;
use crate::domain::compose::{Draft, Kind, Rejected};
use crate::domain::keys::Key;

const TYPO: &str = "From: Me <me@example.test>\nTo: al\nCc: \nBcc: \nSubject: plans\n\n\
                    Dear Al,\nthe plan is ready.\n";

fn started(builtin: bool, draft: Draft) -> AppState {
    let (mut s, _) = loaded(0);
    s.builtin_editor = builtin;
    update(
        &mut s,
        Msg::ComposeStarted(Box::new(compose_state(
            Kind::New,
            None,
            draft,
            "/tmp/x/m.txt".into(),
        ))),
    );
    s
}

fn compose(s: &AppState) -> &crate::app::state::Compose {
    s.overlays.compose().unwrap()
}

#[test]
// Long: one story, the editor run twice, told in order.
fn a_typo_goes_back_to_the_editor_with_the_whole_text() {
    let mut s = started(false, Draft::default());
    s.editing = None;
    // The editor returned: read back (and saved) before anything else; sending waits.
    let cmds = update(&mut s, Msg::EditorClosed { error: None });
    let [
        Cmd::ReadCompose {
            text: None,
            replaces: None,
            account: AccountId(1),
            ..
        },
    ] = &cmds[..]
    else {
        panic!("{cmds:?}")
    };
    let rejected = read_back(TYPO);
    update(
        &mut s,
        Msg::ComposeReadBack(Box::new(ReadBack {
            parsed: Err(rejected.clone()),
            saved: Ok(Some(MsgId(5))),
        })),
    );
    let c = compose(&s);
    assert_eq!(c.draft_msg, Some(MsgId(5)), "the whole text is in Drafts");
    assert_eq!(
        c.note.as_deref(),
        Some("not an address: \"al\" (To): e edits again, your text is kept")
    );
    // Not sent as it is; saved whole.
    assert!(typed(&mut s, Key::Char('y')).is_empty());
    let cmds = typed(&mut s, Key::Char('s'));
    let [Cmd::SaveDraft { draft, .. }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(draft.body, TYPO);
    // Edit again: the text as written, what to fix on top.
    let cmds = typed(&mut s, Key::Char('e'));
    let [Cmd::WriteCompose { text, .. }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        text,
        &format!(
            "# tern: not an address: \"al\" (To). Fix it, save and quit; lines starting with \
             \"# tern:\" are removed.\n{TYPO}"
        )
    );
    update(&mut s, Msg::ComposeFileWritten);
    s.editing = None;
    let cmds = update(&mut s, Msg::EditorClosed { error: None });
    assert!(matches!(
        &cmds[..],
        [Cmd::ReadCompose {
            replaces: Some(MsgId(5)),
            ..
        }]
    ));
    // Sending waits for the text read back.
    assert!(typed(&mut s, Key::Char('y')).is_empty());
    let fixed = crate::domain::compose::read_back(
        &text.replace("To: al\n", "To: al@example.test\n"),
        &Draft::default(),
    );
    update(
        &mut s,
        Msg::ComposeReadBack(Box::new(ReadBack {
            parsed: fixed,
            saved: Ok(Some(MsgId(6))),
        })),
    );
    let cmds = typed(&mut s, Key::Char('y'));
    let [
        Cmd::SendCompose {
            draft, draft_msg, ..
        },
    ] = &cmds[..]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(draft.to[0].email, "al@example.test");
    assert_eq!(draft.body, "Dear Al,\nthe plan is ready.\n");
    assert_eq!(*draft_msg, Some(MsgId(6)), "the saved draft goes once sent");
}

fn read_back(text: &str) -> Rejected {
    crate::domain::compose::read_back(text, &Draft::default()).unwrap_err()
}

#[test]
fn no_recipient_reopens_with_a_note_and_a_failed_save_is_told() {
    let mut s = started(false, Draft::default());
    s.editing = None;
    update(&mut s, Msg::EditorClosed { error: None });
    let good = TYPO.replace("To: al\n", "To: \n");
    update(
        &mut s,
        Msg::ComposeReadBack(Box::new(ReadBack {
            parsed: Ok(crate::domain::compose::parse_editable(&good, &Draft::default()).unwrap()),
            saved: Err("this account has no Drafts folder".into()),
        })),
    );
    assert_eq!(
        compose(&s).note.as_deref(),
        Some("not saved in Drafts: this account has no Drafts folder")
    );
    assert!(typed(&mut s, Key::Char('y')).is_empty());
    let cmds = typed(&mut s, Key::Char('e'));
    let [Cmd::WriteCompose { text, .. }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert!(text.starts_with("# tern: no recipient: write one after To:. Fix it"));
    assert!(text.ends_with("Dear Al,\nthe plan is ready.\n"), "{text}");
}

#[test]
fn the_built_in_editor_keeps_text_it_cannot_read() {
    let mut s = started(true, Draft::default());
    // Type the whole text over the template.
    let c = s.overlays.compose_mut().unwrap();
    c.builtin = Some(crate::app::state::Editor::new(TYPO, 0));
    let cmds = typed(&mut s, Key::Esc);
    let [
        Cmd::ReadCompose {
            text: Some(text), ..
        },
    ] = &cmds[..]
    else {
        panic!("{cmds:?}")
    };
    // (The editor shows lines without their trailing blanks.)
    let shown = TYPO.replace(": \n", ":\n");
    assert_eq!(text, &shown, "written to the file and saved in Drafts");
    let c = compose(&s);
    assert!(c.builtin.is_none());
    assert_eq!(c.edit.rejected.as_ref().unwrap().text, shown);
    typed(&mut s, Key::Char('e'));
    let ed = compose(&s).builtin.as_ref().unwrap();
    assert!(
        ed.text()
            .starts_with("# tern: not an address: \"al\" (To).")
    );
    assert!(ed.text().ends_with(&shown));
}

#[test]
fn the_built_in_editor_starts_in_to_for_a_new_message_in_the_body_for_a_reply() {
    let s = started(true, Draft::default());
    let ed = compose(&s).builtin.as_ref().unwrap();
    assert_eq!(ed.area.cursor(), (1, 4), "after \"To: \"");
    let reply = Draft {
        to: vec![crate::domain::Address {
            name: None,
            email: "bob@example.test".into(),
        }],
        body: "\n\n> hi\n".into(),
        ..Draft::default()
    };
    let s = started(true, reply);
    let ed = compose(&s).builtin.as_ref().unwrap();
    assert_eq!(ed.area.cursor(), (6, 0), "the body's first line");
}

#[test]
fn several_paths_to_attach_are_offered_and_tab_goes_through_them() {
    let mut s = started(false, Draft::default());
    s.editing = None;
    typed(&mut s, Key::Char('a'));
    type_text(&mut s, "/d/re");
    assert_eq!(
        typed(&mut s, Key::Tab),
        [Cmd::CompletePath {
            input: "/d/re".into()
        }]
    );
    let choices = vec![
        "/d/report-2025.pdf".to_string(),
        "/d/report-2026.pdf".into(),
    ];
    update(
        &mut s,
        Msg::PathCompleted {
            input: "/d/re".into(),
            completed: "/d/report-202".into(),
            choices: choices.clone(),
        },
    );
    assert_eq!(compose(&s).attach_input.as_deref(), Some("/d/report-202"));
    assert_eq!(compose(&s).edit.choices, choices);
    assert!(typed(&mut s, Key::Tab).is_empty());
    assert_eq!(
        compose(&s).attach_input.as_deref(),
        Some("/d/report-2025.pdf")
    );
    typed(&mut s, Key::Tab);
    assert_eq!(
        compose(&s).attach_input.as_deref(),
        Some("/d/report-2026.pdf")
    );
    typed(&mut s, Key::Tab);
    assert_eq!(
        compose(&s).attach_input.as_deref(),
        Some("/d/report-2025.pdf")
    );
    typed(&mut s, Key::BackTab);
    assert_eq!(
        compose(&s).attach_input.as_deref(),
        Some("/d/report-2026.pdf")
    );
    // Enter attaches the one chosen; the choices go.
    assert_eq!(
        typed(&mut s, Key::Enter),
        [Cmd::AttachFile {
            path: "/d/report-2026.pdf".into()
        }]
    );
    assert!(compose(&s).edit.choices.is_empty());
}

#[test]
fn discarding_drops_the_draft_saved_here_but_keeps_a_resumed_one() {
    for (resumed, dropped) in [(false, true), (true, false)] {
        let (mut s, _) = loaded(0);
        let mut c = compose_state(Kind::New, None, Draft::default(), "/tmp/x/m.txt".into());
        c.draft_msg = resumed.then_some(MsgId(3));
        update(&mut s, Msg::ComposeStarted(Box::new(c)));
        s.editing = None;
        update(&mut s, Msg::EditorClosed { error: None });
        update(
            &mut s,
            Msg::ComposeReadBack(Box::new(ReadBack {
                parsed: Err(read_back(TYPO)),
                saved: Ok(Some(MsgId(9))),
            })),
        );
        typed(&mut s, Key::Char('q'));
        let cmds = typed(&mut s, Key::Char('y'));
        let want = if dropped {
            vec![
                Cmd::DiscardCompose {
                    file: "/tmp/x/m.txt".into(),
                },
                Cmd::DropDraft { msg: MsgId(9) },
            ]
        } else {
            vec![Cmd::DiscardCompose {
                file: "/tmp/x/m.txt".into(),
            }]
        };
        assert_eq!(cmds, want, "resumed: {resumed}");
    }
}
