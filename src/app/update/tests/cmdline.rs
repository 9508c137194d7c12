//! The command line: commands on the selection, completion, history, pipes, unbound keys.

use super::*;
use crate::app::msg::{Dest, LineCmd, PipePart};
use crate::domain::keys::{Key, KeyChord};

/// `:` then `line`, then enter: the commands but the history's keeping.
fn run(s: &mut AppState, line: &str) -> Vec<Cmd> {
    key(s, Action::CommandLine);
    type_text(s, line);
    let mut cmds = typed(s, Key::Enter);
    let history = s.cmdline.history.clone();
    assert_eq!(
        cmds.first(),
        Some(&Cmd::Line(LineCmd::SaveHistory(history)))
    );
    cmds.remove(0);
    cmds
}

fn command_line(s: &AppState) -> Option<&str> {
    match s.overlays.top() {
        Some(Overlay::Command(l)) => Some(l.as_str()),
        _ => None,
    }
}

#[test]
fn move_and_copy_take_the_selection_to_a_folder_named_on_the_line() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    key(&mut s, Action::ToggleSelect);
    key(&mut s, Action::ToggleSelect);
    let marked: Vec<MsgId> = s.list.marked.iter().copied().collect();
    assert_eq!(marked.len(), 2);
    let cmds = run(&mut s, "move archive");
    assert_eq!(
        cmds,
        [Cmd::MoveTo {
            msgs: marked,
            dest: Dest::Mailbox(MailboxId(11)),
            copy: false,
            what: "moved".into()
        }]
    );
    assert!(s.list.marked.is_empty(), "the selection is used");
    assert!(s.error.is_none());
    // No selection: the current message.
    let current = s.list.selected_row().unwrap().id;
    let cmds = run(&mut s, "cp Archive");
    assert_eq!(
        cmds,
        [Cmd::MoveTo {
            msgs: vec![current],
            dest: Dest::Mailbox(MailboxId(11)),
            copy: true,
            what: "copied".into()
        }]
    );
    // A folder that is not there: nothing moves, the error says what to do.
    assert!(run(&mut s, "move Nowhere").is_empty());
    assert_eq!(
        s.error.as_deref(),
        Some("no folder `Nowhere` in work: Tab completes the names")
    );
    assert!(run(&mut s, "mvoe Archive").is_empty());
    assert_eq!(
        s.error.as_deref(),
        Some("unknown command `mvoe`: did you mean `move`?")
    );
}

#[test]
fn flags_and_actions_run_from_the_line() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    let first = s.list.rows[0].id;
    let cmds = run(&mut s, "flag");
    assert_eq!(
        cmds,
        [Cmd::SetFlag {
            msgs: vec![first],
            flag: crate::domain::triage::FlagName::Flagged,
            on: true,
            undoable: true
        }]
    );
    assert!(s.list.rows[0].flags.flagged);
    // Flag again: still flagged (not a toggle).
    run(&mut s, "flag");
    assert!(s.list.rows[0].flags.flagged);
    run(&mut s, "unread");
    assert!(!s.list.rows[0].flags.seen);
    let cmds = run(&mut s, "archive");
    assert!(matches!(
        cmds.as_slice(),
        [Cmd::MoveTo {
            dest: Dest::Role(Role::Archive),
            ..
        }]
    ));
    assert_eq!(run(&mut s, "sync"), [Cmd::Line(LineCmd::SyncNow)]);
    assert_eq!(
        run(&mut s, "save ~/a.eml"),
        [Cmd::Line(LineCmd::SaveMessage {
            msg: s.list.selected_row().unwrap().id,
            path: "~/a.eml".into()
        })]
    );
    run(&mut s, "help");
    assert_eq!(s.overlays.top(), Some(&Overlay::Help(Default::default())));
}

#[test]
fn set_changes_an_option_for_the_session() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    s.mark_read_on_open = true;
    run(&mut s, "set layout wide");
    assert_eq!(s.layout, Layout::Wide);
    run(&mut s, "set mark_read_on_open false");
    assert!(!s.mark_read_on_open);
    run(&mut s, "set mark_read_on_open maybe");
    assert_eq!(
        s.error.as_deref(),
        Some("mark_read_on_open is true or false, not `maybe`")
    );
}

#[test]
fn tab_completes_names_folders_and_paths() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    key(&mut s, Action::CommandLine);
    type_text(&mut s, "mo");
    typed(&mut s, Key::Tab);
    assert_eq!(command_line(&s), Some("move "));
    type_text(&mut s, "ar");
    typed(&mut s, Key::Tab);
    assert_eq!(command_line(&s), Some("move Archive"));
    // Several names: their common part, and the notice lists them.
    let mut ctrl_u = KeyChord::plain(Key::Char('u'));
    ctrl_u.ctrl = true;
    update(&mut s, Msg::Typed(ctrl_u));
    type_text(&mut s, "rep");
    typed(&mut s, Key::Tab);
    assert_eq!(command_line(&s), Some("reply"));
    assert_eq!(s.notice.as_deref(), Some("reply  reply-all"));
    // A path: the effect reads the directory, the answer completes the line.
    update(&mut s, Msg::Typed(ctrl_u));
    type_text(&mut s, "save /tm");
    let cmds = typed(&mut s, Key::Tab);
    assert_eq!(
        cmds,
        [Cmd::Line(LineCmd::CompletePath {
            head: "save ".into(),
            word: "/tm".into()
        })]
    );
    update(
        &mut s,
        Msg::LineCompleted {
            line: "save /tmp/".into(),
        },
    );
    assert_eq!(command_line(&s), Some("save /tmp/"));
}

#[test]
fn up_and_down_go_through_the_lines_run_this_session() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    run(&mut s, "set threads false");
    run(&mut s, "set layout tall");
    key(&mut s, Action::CommandLine);
    type_text(&mut s, "fl");
    typed(&mut s, Key::Up);
    assert_eq!(command_line(&s), Some("set layout tall"));
    typed(&mut s, Key::Up);
    assert_eq!(command_line(&s), Some("set threads false"));
    typed(&mut s, Key::Down);
    typed(&mut s, Key::Down);
    assert_eq!(command_line(&s), Some("fl"), "back to what was typed");
}

#[test]
fn a_pipe_shows_its_output_sanitised_and_closing_it_stops_the_command() {
    let (mut s, cmds) = loaded(5);
    answer(&mut s, &cmds, 5);
    s.focus = Pane::Messages;
    let msg = s.list.selected_row().unwrap().id;
    key(&mut s, Action::Pipe);
    assert_eq!(command_line(&s), Some("pipe "));
    type_text(&mut s, "grep lunch");
    let mut cmds = typed(&mut s, Key::Enter);
    cmds.remove(0);
    let [
        Cmd::Line(LineCmd::Pipe {
            req,
            msg: m,
            part: PipePart::Raw,
            command,
        }),
    ] = cmds.as_slice()
    else {
        panic!("{cmds:?}")
    };
    assert_eq!((*m, command.as_str()), (msg, "grep lunch"));
    let req = *req;
    let Some(Overlay::Output(o)) = s.overlays.top() else {
        panic!("the output popup")
    };
    assert_eq!(o.running, Some(req));
    update(
        &mut s,
        Msg::Piped {
            req,
            output: b"lunch at noon\x1b[2J\nlunch again\n".to_vec(),
            ended: String::new(),
        },
    );
    let Some(Overlay::Output(o)) = s.overlays.top() else {
        panic!("the output popup")
    };
    assert_eq!(o.running, None);
    assert_eq!(o.lines.len(), 2);
    assert!(o.lines.iter().all(|l| !l.contains('\x1b')), "{:?}", o.lines);
    key(&mut s, Action::Down);
    assert!(matches!(s.overlays.top(), Some(Overlay::Output(o)) if o.scroll == 1));
    // Finished: esc just closes it.
    assert!(key(&mut s, Action::Back).is_empty());
    assert!(s.overlays.is_empty());
    // Still running: closing it stops the command.
    key(&mut s, Action::Pipe);
    type_text(&mut s, "sleep 100");
    let mut cmds = typed(&mut s, Key::Enter);
    cmds.remove(0);
    let [Cmd::Line(LineCmd::Pipe { req, .. })] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    let req = *req;
    assert_eq!(
        key(&mut s, Action::Back),
        [Cmd::Line(LineCmd::StopPipe { req })]
    );
    // From the attachments list: the chosen attachment.
    s.overlays.push(Overlay::Attachments(1));
    key(&mut s, Action::Pipe);
    assert_eq!(command_line(&s), Some("pipe -a 2 "));
}

#[test]
fn a_key_bound_to_nothing_says_so() {
    let (mut s, _) = loaded(5);
    s.key_help = vec![(Action::Help, "?".into())];
    update(&mut s, Msg::Unbound(KeyChord::plain(Key::Char('x'))));
    assert_eq!(s.notice.as_deref(), Some("key x is not bound; ? for help"));
}

#[test]
fn reload_reads_the_config_again_and_says_what_it_took() {
    use crate::app::msg::Reloaded;
    let (mut s, _) = loaded(5);
    assert_eq!(run(&mut s, "reload"), [Cmd::Line(LineCmd::Reload)]);
    update(
        &mut s,
        Msg::Reloaded(Ok(Box::new(Reloaded {
            keys: Default::default(),
            theme: Default::default(),
            warnings: vec![],
        }))),
    );
    assert_eq!(
        s.notice.as_deref(),
        Some("keys and theme read again (changes to accounts take a restart)")
    );
    update(
        &mut s,
        Msg::Reloaded(Err("config.toml:3:1: unknown key `x`".into())),
    );
    assert_eq!(
        s.error.as_deref(),
        Some("reload: config.toml:3:1: unknown key `x`")
    );
}
