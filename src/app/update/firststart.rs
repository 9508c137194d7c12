//! The keys and answers of the first start's setup screen (see `app::firststart`).

use super::super::firststart::{
    ADDRESS, CLIENT_ID, FIELDS, NAME, OPEN_AFTER_MS, PASSWORD, PASSWORD_COMMAND, Phase, SetupCmd,
    SetupForm, SetupMsg, SignIn,
};
use super::super::msg::Cmd;
use super::super::state::AppState;
use crate::domain::keys::{Key, KeyChord};

fn form(state: &mut AppState) -> Option<&mut SetupForm> {
    state.overlays.setup_mut()
}

/// A key typed on the setup screen.
pub fn on_typed(state: &mut AppState, chord: KeyChord, cmds: &mut Vec<Cmd>) {
    if chord.key == Key::Esc {
        // Nothing is written before the check passed: quitting leaves no trace.
        state.quit = true;
        return;
    }
    let Some(f) = form(state) else { return };
    match f.phase {
        Phase::Running => {}
        Phase::Written => cmds.push(Cmd::Setup(SetupCmd::OpenAfter { ms: 0 })),
        Phase::Editing => edit(f, chord, cmds),
    }
}

/// A key in the fields.
fn edit(f: &mut SetupForm, chord: KeyChord, cmds: &mut Vec<Cmd>) {
    let last = FIELDS.len() - 1;
    let field = &mut f.fields[f.focus];
    match chord.key {
        Key::Char('u') if chord.ctrl => field.clear(),
        Key::Char(c) if !chord.ctrl && !chord.alt && !c.is_control() => field.push(c),
        Key::Backspace => {
            field.pop();
        }
        Key::Tab | Key::Down => f.focus = (f.focus + 1).min(last),
        Key::BackTab | Key::Up => f.focus = f.focus.saturating_sub(1),
        // The address and name lead on; enter in any way of signing in tries.
        Key::Enter if f.focus < PASSWORD => f.focus += 1,
        Key::Enter => submit(f, cmds),
        _ => {}
    }
}

/// How the account signs in: the one of the last three fields given. Err: the field to go
/// to and why.
fn sign_in(f: &SetupForm) -> Result<SignIn, (usize, &'static str)> {
    let password = &f.fields[PASSWORD];
    let command = f.fields[PASSWORD_COMMAND].trim();
    let client = f.fields[CLIENT_ID].trim();
    let given = [
        !password.is_empty(),
        !command.is_empty(),
        !client.is_empty(),
    ];
    match given {
        [true, false, false] => Ok(SignIn::Password(crate::config::Secret::new(
            password.clone(),
        ))),
        [false, true, false] => Ok(SignIn::Command(command.to_string())),
        [false, false, true] => Ok(SignIn::OAuth2 {
            client_id: client.to_string(),
        }),
        [false, false, false] => Err((
            PASSWORD,
            "the password is needed (or a command printing it, or an OAuth2 client id)",
        )),
        _ => Err((
            PASSWORD,
            "give one of the three: the password, a password command, or an OAuth2 client id",
        )),
    }
}

/// Enter in a way of signing in: try, when the fields are complete.
fn submit(f: &mut SetupForm, cmds: &mut Vec<Cmd>) {
    let email = f.fields[ADDRESS].trim().to_string();
    let checked = if !email.contains('@') || email.ends_with('@') || email.starts_with('@') {
        Err((ADDRESS, "an address is needed, like you@example.org"))
    } else {
        sign_in(f)
    };
    let sign_in = match checked {
        Ok(s) => s,
        Err((field, why)) => {
            f.focus = field;
            f.error = Some(why.into());
            return;
        }
    };
    let name = f.fields[NAME].trim();
    f.phase = Phase::Running;
    f.error = None;
    f.lines.clear();
    cmds.push(Cmd::Setup(SetupCmd::Run {
        email,
        display_name: (!name.is_empty()).then(|| name.to_string()),
        sign_in,
    }));
}

/// The setup effect answered.
pub fn on_msg(state: &mut AppState, msg: SetupMsg, cmds: &mut Vec<Cmd>) {
    if matches!(msg, SetupMsg::Open) {
        state.quit = true;
        return;
    }
    let Some(f) = form(state) else { return };
    match msg {
        SetupMsg::Said(line) => f.lines.push(line),
        SetupMsg::Done(Ok(())) => {
            f.phase = Phase::Written;
            cmds.push(Cmd::Setup(SetupCmd::OpenAfter { ms: OPEN_AFTER_MS }));
        }
        SetupMsg::Done(Err(e)) => {
            f.phase = Phase::Editing;
            f.error = Some(e);
        }
        SetupMsg::Open => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::msg::Msg;
    use crate::app::overlay::Overlay;
    use crate::app::update::update;
    use crate::config::Layout;

    fn typed(s: &mut AppState, text: &str) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        for c in text.chars() {
            let key = match c {
                '\n' => Key::Enter,
                '\t' => Key::Tab,
                c => Key::Char(c),
            };
            cmds.extend(update(s, Msg::Typed(KeyChord::plain(key))));
        }
        cmds
    }

    fn setup_state() -> AppState {
        let mut s = AppState::new(Layout::Auto, "tern");
        s.overlays.push(Overlay::Setup(Box::default()));
        s
    }

    fn the_form(s: &AppState) -> &SetupForm {
        match s.overlays.top() {
            Some(Overlay::Setup(f)) => f,
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn the_fields_are_typed_checked_and_sent() {
        let mut s = setup_state();
        assert!(s.typing());
        // No address: asked for, nothing sent.
        assert!(typed(&mut s, "\n\nx\n").is_empty());
        assert_eq!(the_form(&s).focus, ADDRESS);
        assert!(the_form(&s).error.as_ref().unwrap().contains("address"));
        // A password ("x") and a command: one of them, please.
        assert!(typed(&mut s, "ann@example.org\tAnn\t\tpass show ann\n").is_empty());
        assert_eq!(the_form(&s).focus, PASSWORD);
        assert!(
            the_form(&s)
                .error
                .as_ref()
                .unwrap()
                .contains("one of the three")
        );
        assert!(
            !format!("{:?}", the_form(&s)).contains("\"x\""),
            "no password in Debug"
        );
        update(&mut s, Msg::Typed(KeyChord::plain(Key::Backspace)));
        let cmds = typed(&mut s, "\n");
        assert_eq!(
            cmds,
            [Cmd::Setup(SetupCmd::Run {
                email: "ann@example.org".into(),
                display_name: Some("Ann".into()),
                sign_in: SignIn::Command("pass show ann".into()),
            })]
        );
        assert_eq!(the_form(&s).phase, Phase::Running);
        // Keys wait while it runs; the lines come as they are said.
        assert!(typed(&mut s, "zz").is_empty());
        update(
            &mut s,
            Msg::Setup(SetupMsg::Said("SRV records: none".into())),
        );
        update(
            &mut s,
            Msg::Setup(SetupMsg::Done(Err("a server did not work".into()))),
        );
        // An error: the fields again, with it, to edit and retry.
        let f = the_form(&s);
        assert_eq!((f.phase, f.lines.len()), (Phase::Editing, 1));
        assert_eq!(f.fields[PASSWORD_COMMAND], "pass show ann");
        // Written: the INBOX opens after a moment, or at a key.
        let cmds = typed(&mut s, "\n");
        assert!(matches!(cmds[..], [Cmd::Setup(SetupCmd::Run { .. })]));
        let cmds = update(&mut s, Msg::Setup(SetupMsg::Done(Ok(()))));
        assert_eq!(
            cmds,
            [Cmd::Setup(SetupCmd::OpenAfter { ms: OPEN_AFTER_MS })]
        );
        assert_eq!(
            typed(&mut s, " "),
            [Cmd::Setup(SetupCmd::OpenAfter { ms: 0 })]
        );
        assert!(!s.quit);
        update(&mut s, Msg::Setup(SetupMsg::Open));
        assert!(s.quit);
    }

    #[test]
    fn a_password_or_a_client_id_signs_in_instead() {
        let mut s = setup_state();
        let cmds = typed(&mut s, "ann@example.org\n\nsecret\n");
        let [Cmd::Setup(SetupCmd::Run { sign_in, .. })] = &cmds[..] else {
            panic!("{cmds:?}")
        };
        assert_eq!(
            *sign_in,
            SignIn::Password(crate::config::Secret::new("secret"))
        );
        let mut s = setup_state();
        let cmds = typed(&mut s, "ann@outlook.com\n\n\t\tmy-client-id\n");
        let [Cmd::Setup(SetupCmd::Run { sign_in, .. })] = &cmds[..] else {
            panic!("{cmds:?}")
        };
        assert_eq!(
            *sign_in,
            SignIn::OAuth2 {
                client_id: "my-client-id".into()
            }
        );
        // None of the three: asked for.
        let mut s = setup_state();
        assert!(typed(&mut s, "ann@example.org\n\n\n").is_empty());
        assert!(
            the_form(&s)
                .error
                .as_ref()
                .unwrap()
                .contains("password is needed")
        );
    }

    #[test]
    fn esc_quits_at_any_time() {
        let mut s = setup_state();
        typed(&mut s, "a@b.c");
        update(&mut s, Msg::Typed(KeyChord::plain(Key::Esc)));
        assert!(s.quit);
    }
}
