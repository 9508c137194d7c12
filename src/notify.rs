//! New mail announced: which arrivals are news (the folders each account wants to hear
//! about), how the user is told (a desktop notification, the terminal's own notification, or
//! the bell), and the `[notify] command` hook. The UI and `tern sync --watch` both use it.
//!
//! Everything passed on comes from mail and is hostile: texts are sanitised, cut short, and
//! given to the hook in its environment, never spliced into its command line.

use std::time::Duration;

use crate::config::{AccountConfig, NotifyConfig, NotifyMethod};
use crate::domain::{NewMail, sanitize};

/// The hook gets this long to finish before it is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Characters of a sender or subject passed on.
const TEXT_MAX: usize = 200;

/// The new mail in folders its account announces (`notify` in the account).
pub fn worth_telling(accounts: &[AccountConfig], mail: Vec<NewMail>) -> Vec<NewMail> {
    mail.into_iter()
        .filter(|m| {
            accounts
                .iter()
                .find(|a| a.name == m.account_name)
                .is_some_and(|a| a.notifies(&m.folder, m.role))
        })
        .collect()
}

/// A text from mail made safe to pass on: one line, no control characters, at most
/// `TEXT_MAX` characters.
pub fn clean(s: &str) -> String {
    let line = sanitize::line(s);
    match line.char_indices().nth(TEXT_MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// The title and body of one announcement: one message by sender and subject, a burst by
/// count and the newest one.
pub fn summary(mail: &[NewMail]) -> Option<(String, String)> {
    let last = mail.last()?;
    let title = if mail.len() == 1 {
        format!("New mail from {}", clean(&last.from))
    } else {
        format!("{} new messages", mail.len())
    };
    let body = if mail.len() == 1 {
        clean(&last.subject)
    } else {
        format!("{}: {}", clean(&last.from), clean(&last.subject))
    };
    Some((
        title,
        format!(
            "{} ({}/{})",
            body,
            clean(&last.account_name),
            clean(&last.folder)
        ),
    ))
}

/// The terminal's notification protocol, from what the terminal says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// OSC 9 (iTerm2, WezTerm, kitty, Windows Terminal, ConEmu).
    Osc9,
    /// OSC 777 (foot, urxvt, Ghostty, contour, VTE-based terminals with the patch).
    Osc777,
    /// Neither known: the bell.
    Bell,
}

impl Terminal {
    /// Guess from `TERM_PROGRAM`, `TERM` and the terminal's own variables. Inside tmux or
    /// screen an OSC does not reach the terminal: the bell does (tmux forwards it).
    pub fn detect(var: impl Fn(&str) -> Option<String>) -> Terminal {
        let program = var("TERM_PROGRAM").unwrap_or_default().to_ascii_lowercase();
        let term = var("TERM").unwrap_or_default().to_ascii_lowercase();
        if var("TMUX").is_some() || term.starts_with("screen") || term.starts_with("tmux") {
            return Terminal::Bell;
        }
        if matches!(program.as_str(), "iterm.app" | "wezterm")
            || var("KITTY_WINDOW_ID").is_some()
            || var("WT_SESSION").is_some()
            || var("ConEmuPID").is_some()
            || term.starts_with("xterm-kitty")
        {
            return Terminal::Osc9;
        }
        if program == "ghostty"
            || term.starts_with("foot")
            || term.starts_with("rxvt")
            || term.starts_with("contour")
        {
            return Terminal::Osc777;
        }
        Terminal::Bell
    }

    /// The bytes that announce `title` / `body` (both cleaned, and without `;`, which ends a
    /// field of OSC 777).
    pub fn sequence(self, title: &str, body: &str) -> String {
        let field = |s: &str| clean(s).replace(';', ",");
        match self {
            Terminal::Osc9 => format!("\x1b]9;{}: {}\x1b\\", field(title), field(body)),
            Terminal::Osc777 => {
                format!("\x1b]777;notify;{};{}\x1b\\", field(title), field(body))
            }
            Terminal::Bell => "\x07".into(),
        }
    }
}

/// How an announcement goes out, given the config and whether a session bus is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Desktop,
    Terminal(Terminal),
    Nothing,
}

/// `Auto`: a desktop notification when a session bus is there, else the terminal's own.
pub fn channel(method: NotifyMethod, session_bus: bool, terminal: Terminal) -> Channel {
    match method {
        NotifyMethod::Auto if session_bus => Channel::Desktop,
        NotifyMethod::Auto | NotifyMethod::Terminal => Channel::Terminal(terminal),
        NotifyMethod::Desktop => Channel::Desktop,
        NotifyMethod::Bell => Channel::Terminal(Terminal::Bell),
        NotifyMethod::None => Channel::Nothing,
    }
}

/// Whether a desktop session bus is there to notify on.
pub fn session_bus() -> bool {
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
}

/// Show a desktop notification (best effort: a missing notification daemon is logged).
pub async fn desktop(title: &str, body: &str) {
    let shown = notify_rust::Notification::new()
        .appname("tern")
        .summary(&clean(title))
        .body(&clean(body))
        .show_async()
        .await;
    if let Err(e) = shown {
        tracing::info!(error = %e, "no desktop notification");
    }
}

/// Run the `[notify] command` hook for each new message, one at a time, each with at most
/// `COMMAND_TIMEOUT`. Its output is discarded; a failure is logged.
pub async fn run_command(command: &str, mail: &[NewMail]) {
    for m in mail {
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .env("TERN_ACCOUNT", clean(&m.account_name))
            .env("TERN_FOLDER", clean(&m.folder))
            .env("TERN_FROM", clean(&m.from))
            .env("TERN_SUBJECT", clean(&m.subject))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        let run = async { cmd.status().await };
        match tokio::time::timeout(COMMAND_TIMEOUT, run).await {
            Ok(Ok(s)) if s.success() => {}
            Ok(Ok(s)) => tracing::warn!(status = %s, "the new-mail command failed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "the new-mail command did not start"),
            Err(_) => tracing::warn!("the new-mail command took over 30 s and was stopped"),
        }
    }
}

/// Announce new mail outside a terminal UI (`tern sync --watch`): the hook, and a desktop
/// notification when that is the channel (a headless run has no terminal to ring).
pub async fn announce_headless(cfg: &NotifyConfig, mail: &[NewMail]) {
    if let Some(command) = &cfg.command {
        run_command(command, mail).await;
    }
    if channel(cfg.method, session_bus(), Terminal::Bell) == Channel::Desktop
        && let Some((title, body)) = summary(mail)
    {
        desktop(&title, &body).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, MsgId, Role};

    fn mail(from: &str, subject: &str, folder: &str, role: Option<Role>) -> NewMail {
        NewMail {
            msg: MsgId(1),
            account: AccountId(1),
            account_name: "work".into(),
            folder: folder.into(),
            role,
            from: from.into(),
            subject: subject.into(),
        }
    }

    #[test]
    fn sequences_carry_no_escape_from_the_mail() {
        let title = "New mail from Eve\x1b]52;c;ZXZpbA==\x07";
        let body = "pay;now\u{9b}31m\r\nnext line";
        for t in [Terminal::Osc9, Terminal::Osc777] {
            let s = t.sequence(title, body);
            let inner = &s[2..s.len() - 2];
            assert!(
                !inner.chars().any(|c| c.is_control() || c == '\u{9b}'),
                "{s:?}"
            );
            assert!(s.ends_with("\x1b\\"));
        }
        let s = Terminal::Osc777.sequence("a", "b;c");
        assert_eq!(s, "\x1b]777;notify;a;b,c\x1b\\");
        assert_eq!(Terminal::Bell.sequence("a", "b"), "\x07");
    }

    #[test]
    fn the_terminal_is_recognised_and_tmux_gets_the_bell() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            Terminal::detect(env(&[("TERM_PROGRAM", "WezTerm")])),
            Terminal::Osc9
        );
        assert_eq!(Terminal::detect(env(&[("TERM", "foot")])), Terminal::Osc777);
        assert_eq!(
            Terminal::detect(env(&[("TERM", "xterm-kitty"), ("TMUX", "/tmp/t,1,0")])),
            Terminal::Bell
        );
        assert_eq!(
            Terminal::detect(env(&[("TERM", "xterm-256color")])),
            Terminal::Bell
        );
    }

    #[test]
    fn auto_prefers_the_desktop_and_falls_back_to_the_terminal() {
        let t = Terminal::Osc9;
        assert_eq!(channel(NotifyMethod::Auto, true, t), Channel::Desktop);
        assert_eq!(
            channel(NotifyMethod::Auto, false, t),
            Channel::Terminal(Terminal::Osc9)
        );
        assert_eq!(
            channel(NotifyMethod::Bell, true, t),
            Channel::Terminal(Terminal::Bell)
        );
        assert_eq!(channel(NotifyMethod::None, true, t), Channel::Nothing);
    }

    #[test]
    fn only_the_folders_an_account_names_are_news_and_inbox_names_the_inbox() {
        let cfg = crate::config::Config::parse(
            "data_dir = \"/nonexistent\"\n[[account]]\nname = \"work\"\nemail = \"a@example.test\"\n\
             [account.imap]\nhost = \"localhost\"\nusername = \"a\"\npassword = \"p\"\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let found = worth_telling(
            &cfg.accounts,
            vec![
                mail("Bob", "hi", "Posteingang", Some(Role::Inbox)),
                mail("List", "digest", "Lists/rust", None),
                mail("Stranger", "other account", "INBOX", Some(Role::Inbox)),
            ]
            .into_iter()
            .enumerate()
            .map(|(i, mut m)| {
                if i == 2 {
                    m.account_name = "gone".into();
                }
                m
            })
            .collect(),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "hi");
        let mut a = cfg.accounts[0].clone();
        a.notify = vec!["Lists/rust".into()];
        assert!(a.notifies("Lists/rust", None));
        assert!(!a.notifies("INBOX", Some(Role::Inbox)));
    }

    #[test]
    fn a_burst_is_counted_and_texts_are_cut() {
        let long = "x".repeat(500);
        let one = summary(&[mail("Bob", &long, "INBOX", None)]).unwrap();
        assert_eq!(one.0, "New mail from Bob");
        assert!(one.1.chars().count() < 230, "{}", one.1);
        let two = summary(&[
            mail("Ann", "first", "INBOX", None),
            mail("Bob", "second", "INBOX", None),
        ])
        .unwrap();
        assert_eq!(
            two,
            ("2 new messages".into(), "Bob: second (work/INBOX)".into())
        );
        assert_eq!(summary(&[]), None);
    }

    #[tokio::test]
    async fn the_command_gets_the_mail_in_its_environment_not_its_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let command = format!(
            "cd '{}' && printf '%s|%s|%s|%s' \"$TERN_ACCOUNT\" \"$TERN_FOLDER\" \"$TERN_FROM\" \"$TERN_SUBJECT\" > out",
            dir.path().display()
        );
        let evil = mail("$(touch pwned) Bob", "`id`;\x1b[2J hi", "INBOX", None);
        run_command(&command, &[evil]).await;
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(got, "work|INBOX|$(touch pwned) Bob|`id`; hi");
        assert!(!dir.path().join("pwned").exists());
    }
}
