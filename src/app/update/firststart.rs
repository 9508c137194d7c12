//! The keys and answers of the first start's setup screen (see `app::firststart`).

use super::super::firststart::{
    ADDRESS, FIELDS, NAME, OPEN_AFTER_MS, PASSWORD_COMMAND, Phase, SetupCmd, SetupForm, SetupMsg,
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
        Key::Enter if f.focus < last => f.focus += 1,
        Key::Enter => submit(f, cmds),
        _ => {}
    }
}

/// Enter on the last field: try, when the fields are complete.
fn submit(f: &mut SetupForm, cmds: &mut Vec<Cmd>) {
    let email = f.fields[ADDRESS].trim().to_string();
    let command = f.fields[PASSWORD_COMMAND].trim().to_string();
    let missing = if !email.contains('@') || email.ends_with('@') || email.starts_with('@') {
        Some((ADDRESS, "an address is needed, like you@example.org"))
    } else if command.is_empty() {
        Some((
            PASSWORD_COMMAND,
            "a command printing the password is needed, e.g. pass show mail/you",
        ))
    } else {
        None
    };
    if let Some((field, why)) = missing {
        f.focus = field;
        f.error = Some(why.into());
        return;
    }
    let name = f.fields[NAME].trim();
    f.phase = Phase::Running;
    f.error = None;
    f.lines.clear();
    cmds.push(Cmd::Setup(SetupCmd::Run {
        email,
        display_name: (!name.is_empty()).then(|| name.to_string()),
        password_command: command,
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
        let cmds = typed(&mut s, "ann@example.org\tAnn\tpass show ann\n");
        assert_eq!(
            cmds,
            [Cmd::Setup(SetupCmd::Run {
                email: "ann@example.org".into(),
                display_name: Some("Ann".into()),
                password_command: "xpass show ann".into(),
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
        assert_eq!(f.fields[PASSWORD_COMMAND], "xpass show ann");
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
    fn esc_quits_at_any_time() {
        let mut s = setup_state();
        typed(&mut s, "a@b.c");
        update(&mut s, Msg::Typed(KeyChord::plain(Key::Esc)));
        assert!(s.quit);
    }
}
