//! Config loading and validation through the public API.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tern::config::{
    Config, ConfigError, EXAMPLE_CONFIG, Env, Layout, Offline, PasswordError, PasswordSource,
    Position, Protocol, Secret, Security, resolve_path_with,
};
use tern::domain::Role;
use tern::domain::keys::{Action, KeySeq};

fn env() -> Env {
    Env {
        home: Some(PathBuf::from("/home/tester")),
        ..Env::default()
    }
}

fn parse(src: &str) -> Result<Config, ConfigError> {
    Config::parse_with_env(src, Path::new("/etc/tern/config.toml"), &env())
}

fn parse_ok(src: &str) -> Config {
    parse(src).unwrap_or_else(|e| panic!("{e}"))
}

fn account(server: &str) -> String {
    format!("[[account]]\nname = \"work\"\nemail = \"me@example.com\"\n{server}")
}

#[test]
fn example_parses_with_documented_values() {
    let file = std::fs::read_to_string("config.example.toml").unwrap();
    assert_eq!(file, EXAMPLE_CONFIG);
    let c = Config::parse_with_env(&file, Path::new("config.example.toml"), &env()).unwrap();
    assert_eq!(c.data_dir, PathBuf::from("/home/tester/.local/share/tern"));
    assert_eq!(c.layout, Layout::Auto);
    assert_eq!(
        c.theme.colors.get("accent").map(String::as_str),
        Some("cyan")
    );
    let down: Vec<String> = c.keys[&Action::Down]
        .iter()
        .map(KeySeq::to_string)
        .collect();
    assert_eq!(down, ["j", "down"]);
    assert_eq!(c.accounts.len(), 1);
    let a = &c.accounts[0];
    assert_eq!(
        (a.name.as_str(), a.email.as_str()),
        ("work", "me@example.com")
    );
    assert_eq!(a.display_name.as_deref(), Some("Me Example"));
    assert_eq!(a.signature.as_deref(), Some("Me Example\nExample Ltd."));
    assert!(a.save_sent);
    assert_eq!(c.editor, None, "commented out: $VISUAL / $EDITOR");
    assert_eq!(a.aliases, ["me@alias.example.com"]);
    assert_eq!(a.offline, Offline::Bodies);
    assert_eq!(a.offline_attachment_limit, 10 * 1024 * 1024);
    assert!(a.pop3.is_none());
    let imap = a.imap.as_ref().unwrap();
    assert_eq!(imap.protocol, Protocol::Imap);
    assert_eq!(
        (imap.host.as_str(), imap.port, imap.security),
        ("imap.example.com", 993, Security::Tls)
    );
    assert_eq!(imap.username, "me@example.com");
    assert_eq!(
        imap.password,
        PasswordSource::Command("pass show mail/work".into())
    );
    assert_eq!(imap.ca_file, None);
    assert!(!imap.allow_plaintext_auth);
    assert_eq!(
        imap.poll_interval,
        Some(std::time::Duration::from_secs(120))
    );
    assert_eq!(a.smtp.as_ref().unwrap().poll_interval, None);
    let smtp = a.smtp.as_ref().unwrap();
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.security),
        ("smtp.example.com", 587, Security::StartTls)
    );
    assert_eq!(
        a.folders.get(&Role::Sent).map(String::as_str),
        Some("Sent Items")
    );
    assert_eq!(a.folders.len(), 1);
    assert!(c.warnings.is_empty());
}

#[test]
fn data_dir_defaults_to_xdg_data_home() {
    let e = Env {
        xdg_data_home: Some("/xdg/data".into()),
        ..env()
    };
    let c = Config::parse_with_env("", Path::new("c.toml"), &e).unwrap();
    assert_eq!(c.data_dir, PathBuf::from("/xdg/data/tern"));
    assert!(c.accounts.is_empty());
    // A relative XDG_DATA_HOME is ignored (XDG spec).
    let e = Env {
        xdg_data_home: Some("rel".into()),
        ..env()
    };
    let c = Config::parse_with_env("", Path::new("c.toml"), &e).unwrap();
    assert_eq!(c.data_dir, PathBuf::from("/home/tester/.local/share/tern"));
    // No home and no data_dir: an error, not a guess.
    let e = Env::default();
    let err = Config::parse_with_env("", Path::new("c.toml"), &e).unwrap_err();
    assert!(err.to_string().contains("set data_dir"), "{err}");
}

#[test]
fn ports_default_by_protocol_and_security() {
    for (section, security, port) in [
        ("imap", "tls", 993),
        ("imap", "starttls", 143),
        ("imap", "none", 143),
        ("pop3", "tls", 995),
        ("pop3", "starttls", 110),
        ("pop3", "none", 110),
    ] {
        let c = parse_ok(&account(&format!(
            "[account.{section}]\nhost = \"h.example.com\"\nsecurity = \"{security}\"\n"
        )));
        let a = &c.accounts[0];
        let s = a.imap.as_ref().or(a.pop3.as_ref()).unwrap();
        assert_eq!(s.port, port, "{section} {security}");
    }
    for (security, port) in [("tls", 465), ("starttls", 587), ("none", 587)] {
        let c = parse_ok(&account(&format!(
            "[account.imap]\nhost = \"i.example.com\"\n[account.smtp]\nhost = \"s.example.com\"\nsecurity = \"{security}\"\n"
        )));
        assert_eq!(
            c.accounts[0].smtp.as_ref().unwrap().port,
            port,
            "smtp {security}"
        );
    }
    // Default security is tls; an explicit port wins.
    let c = parse_ok(&account("[account.imap]\nhost = \"h\"\nport = 1993\n"));
    let imap = c.accounts[0].imap.as_ref().unwrap();
    assert_eq!((imap.port, imap.security), (1993, Security::Tls));
    // Username defaults to the email; no password configured is allowed.
    assert_eq!(imap.username, "me@example.com");
    assert_eq!(imap.password, PasswordSource::None);
}

#[test]
fn tilde_and_relative_paths() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("ca.pem"), "x").unwrap();
    let e = Env {
        home: Some(home.path().to_path_buf()),
        ..Env::default()
    };
    let src = format!(
        "data_dir = \"~/mail/tern\"\n{}",
        account("[account.imap]\nhost = \"h\"\nca_file = \"~/ca.pem\"\n")
    );
    let c = Config::parse_with_env(&src, Path::new("/etc/tern/config.toml"), &e).unwrap();
    assert_eq!(c.data_dir, home.path().join("mail/tern"));
    assert_eq!(
        c.accounts[0].imap.as_ref().unwrap().ca_file,
        Some(home.path().join("ca.pem"))
    );
    let c = Config::parse_with_env("data_dir = \"~\"", Path::new("c.toml"), &e).unwrap();
    assert_eq!(c.data_dir, home.path());

    // Relative paths are relative to the config file's directory.
    let c = Config::load_with_env(Path::new("tests/configs/good/pop3.toml"), &env()).unwrap();
    assert_eq!(c.data_dir, PathBuf::from("tests/configs/good/cache"));
    let pop3 = c.accounts[0].pop3.as_ref().unwrap();
    assert_eq!(
        pop3.ca_file,
        Some(PathBuf::from("tests/configs/good/ca.pem"))
    );
}

#[test]
fn good_fixtures_load() {
    let c = Config::load_with_env(Path::new("tests/configs/good/minimal.toml"), &env()).unwrap();
    assert_eq!(
        c.path.as_deref(),
        Some(Path::new("tests/configs/good/minimal.toml"))
    );
    assert_eq!(c.accounts[0].imap.as_ref().unwrap().port, 993);
    assert!(c.accounts[0].smtp.is_none());

    let c = Config::load_with_env(Path::new("tests/configs/good/pop3.toml"), &env()).unwrap();
    assert_eq!(c.layout, Layout::Tall);
    assert_eq!(c.theme.colors["dim"], "244");
    assert_eq!(c.keys[&Action::Quit], [KeySeq::parse("ctrl-c").unwrap()]);
    assert_eq!(c.keys[&Action::Top].len(), 2);
    assert!(c.keys[&Action::Help].is_empty());
    let home = &c.accounts[0];
    assert_eq!(home.offline, Offline::Headers);
    assert_eq!(home.offline_attachment_limit, 1 << 20);
    let pop3 = home.pop3.as_ref().unwrap();
    assert_eq!(
        (pop3.protocol, pop3.port, pop3.security),
        (Protocol::Pop3, 110, Security::StartTls)
    );
    assert_eq!(pop3.username, "me@home.example.com");
    assert!(pop3.leave_on_server);
    assert_eq!(pop3.delete_after_days, Some(30));
    assert_eq!(pop3.poll_interval, None, "the POP3 default (5 min) applies");
    let smtp = home.smtp.as_ref().unwrap();
    assert_eq!(
        (smtp.port, smtp.password.clone()),
        (587, PasswordSource::None)
    );
    let lab = &c.accounts[1];
    let imap = lab.imap.as_ref().unwrap();
    assert_eq!(
        (imap.port, imap.security, imap.allow_plaintext_auth),
        (143, Security::None, true)
    );
    assert_eq!(lab.folders[&Role::Trash], "Deleted Messages");
    assert_eq!(lab.folders[&Role::Junk], "Spam");
}

/// Each file in tests/configs/broken starts with `# expect: LINE:COL: message`.
#[test]
fn broken_fixtures_report_file_line_column_and_message() {
    let dir = Path::new("tests/configs/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "{} fixtures", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let src = std::fs::read_to_string(path).unwrap();
        let expect = src
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: no `# expect:` line", path.display()));
        let expected = format!("{}:{expect}", path.display());
        match Config::load_with_env(path, &env()) {
            Ok(_) => failures.push(format!("{}: loaded without error", path.display())),
            Err(e) => {
                let got = e.to_string();
                assert_eq!(e.exit_code(), 2);
                assert!(!got.contains('\n'), "multi-line: {got}");
                if got != expected {
                    failures.push(format!("expected {expected}\n     got {got}"));
                }
                let (line, col) = expect.split_once(": ").unwrap().0.split_once(':').unwrap();
                let pos = Position {
                    line: line.parse().unwrap(),
                    column: col.parse().unwrap(),
                };
                if e.position() != Some(pos) || e.path() != Some(path.as_path()) {
                    failures.push(format!("{}: position {:?}", path.display(), e.position()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn errors_never_echo_a_plain_password() {
    let src = account("[account.imap]\nhost = \"h\"\npassword = 31415926\n");
    let e = parse(&src).unwrap_err().to_string();
    assert!(!e.contains("31415926"), "{e}");
    let src =
        account("[account.imap]\nhost = \"h\"\npassword = \"hunter2\"\npassword_command = \"x\"\n");
    let e = parse(&src).unwrap_err().to_string();
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn missing_file_says_how_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let e = Config::load(&path).unwrap_err();
    assert!(matches!(e, ConfigError::NotFound { .. }));
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("{}: ", path.display())), "{msg}");
    assert!(msg.contains("copy config.example.toml"), "{msg}");
    assert!(msg.contains("run `tern setup`"), "{msg}");
    assert_eq!(e.exit_code(), 2);
}

#[cfg(unix)]
#[test]
fn plain_password_in_readable_file_warns() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let src = account("[account.imap]\nhost = \"h\"\npassword = \"hunter2\"\n");
    std::fs::write(&path, &src).unwrap();

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let c = Config::load_with_env(&path, &env()).unwrap();
    let p = path.display();
    assert_eq!(
        c.warnings,
        [format!(
            "{p}: account `work` has a plain password in a file others can read \
             (chmod 600 {p}, or use password_command)"
        )]
    );
    assert!(c.redacted_summary().contains("warning: "));

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = Config::load_with_env(&path, &env()).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    // A password_command in a readable file is fine.
    let src = account("[account.imap]\nhost = \"h\"\npassword_command = \"echo x\"\n");
    std::fs::write(&path, src).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        Config::load_with_env(&path, &env())
            .unwrap()
            .warnings
            .is_empty()
    );
}

#[test]
fn a_key_taken_from_a_default_warns_and_two_bindings_of_one_key_are_an_error() {
    // A default taken: a warning naming both actions, the key and the line; the binding wins.
    let c = parse_ok("mouse = true\n[keys]\ndown = [\"j\", \"d\"]\nreply = \"g\"\n");
    assert_eq!(
        c.warnings,
        [
            "/etc/tern/config.toml:4: key `g` (which hides `g g`) of `reply` takes the default \
             key of `top`, which keeps `home`",
            "/etc/tern/config.toml:4: key `g` (which hides `g l`) of `reply` takes the default \
             key of `action_log`, which now has no key (give it one in [keys])",
            "/etc/tern/config.toml:3: key `d` of `down` takes the default key of `delete`, \
             which keeps `delete`",
        ]
    );
    assert_eq!(
        c.startup_notice().as_deref(),
        Some(
            "warning: /etc/tern/config.toml:4: key `g` (which hides `g g`) of `reply` takes the \
             default key of `top`, which keeps `home` (2 more: tern check)"
        )
    );
    // Rebinding the action that had the key too: nothing taken.
    assert!(
        parse_ok("[keys]\ndown = [\"j\", \"d\"]\ndelete = \"x\"\n")
            .startup_notice()
            .is_none()
    );
    // The same key for two actions: an error at the second, naming the first's line.
    let e = parse("[keys]\ndown = [\"j\", \"d\"]\ndelete = [\"x\", \"d\"]\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/tern/config.toml:3:16: key `d` is bound to both `down` (line 2) and `delete`"
    );
    let e = parse("[keys]\ntop = \"g g\"\nreply = \"g\"\n").unwrap_err();
    assert!(
        e.to_string().starts_with(
            "/etc/tern/config.toml:3:9: key `g` of `reply` clashes with `g g` of `top` (line 2)"
        ),
        "{e}"
    );
}

#[test]
fn secrets_are_redacted() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s:?}"), "<redacted>");
    assert_eq!(format!("{s}"), "<redacted>");
    assert_eq!(s.expose(), "hunter2");

    let src = account(
        "display_name = \"Me\"\naliases = [\"a@example.com\"]\n\
         [account.imap]\nhost = \"imap.example.com\"\npassword = \"hunter2\"\n\
         [account.smtp]\nhost = \"smtp.example.com\"\npassword_command = \"pass show smtp\"\n\
         [account.folders]\narchive = \"Old\"\n",
    );
    let c = parse_ok(&src);
    assert_eq!(
        c.accounts[0].imap.as_ref().unwrap().password,
        PasswordSource::Plain(Secret::new("hunter2"))
    );
    let debug = format!("{c:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    let summary = c.redacted_summary();
    assert!(!summary.contains("hunter2"), "{summary}");
    for part in [
        "data dir: /home/tester/.local/share/tern",
        "layout: auto",
        "account work",
        "email: me@example.com",
        "display name: Me",
        "aliases: a@example.com",
        "imap: imap.example.com:993",
        "security: tls",
        "username: me@example.com",
        "password: <redacted>",
        "smtp: smtp.example.com:465",
        "password_command: pass show smtp",
        "offline: bodies (attachment limit 10 MiB)",
        "folder archive: Old",
    ] {
        assert!(summary.contains(part), "missing {part:?} in\n{summary}");
    }
}

#[test]
fn pop3_keys_default_validate_and_show_in_the_summary() {
    let c = parse_ok(&account("[account.pop3]\nhost = \"pop.example.com\"\n"));
    let pop3 = c.accounts[0].pop3.as_ref().unwrap();
    assert!(pop3.leave_on_server);
    assert_eq!(pop3.delete_after_days, None);
    let summary = c.redacted_summary();
    for part in [
        "pop3: pop.example.com:995",
        "poll_interval: 5m (default)",
        "leave_on_server: true",
    ] {
        assert!(summary.contains(part), "missing {part:?} in\n{summary}");
    }
    assert!(!summary.contains("delete_after_days"), "{summary}");

    let c = parse_ok(&account(
        "[account.pop3]\nhost = \"pop.example.com\"\ndelete_after_days = 14\npoll_interval = \"1m\"\n",
    ));
    let pop3 = c.accounts[0].pop3.as_ref().unwrap();
    assert_eq!(pop3.delete_after_days, Some(14));
    let summary = c.redacted_summary();
    assert!(summary.contains("delete_after_days: 14"), "{summary}");
    assert!(summary.contains("poll_interval: 1m\n"), "{summary}");

    let c = parse_ok(&account(
        "[account.pop3]\nhost = \"pop.example.com\"\nleave_on_server = false\n",
    ));
    assert!(!c.accounts[0].pop3.as_ref().unwrap().leave_on_server);
    assert!(c.redacted_summary().contains("leave_on_server: false"));

    // The IMAP summary has no POP3 keys.
    let c = parse_ok(&account("[account.imap]\nhost = \"imap.example.com\"\n"));
    assert!(!c.redacted_summary().contains("leave_on_server"));

    for bad in ["-3", "\"7\"", "4294967296"] {
        let src = account(&format!(
            "[account.pop3]\nhost = \"pop.example.com\"\ndelete_after_days = {bad}\n"
        ));
        assert!(parse(&src).is_err(), "{bad}");
    }
}

#[test]
fn password_command_gives_first_line() {
    let p = PasswordSource::Command("echo s3cret".into());
    assert_eq!(p.resolve().unwrap().unwrap().expose(), "s3cret");
    let p = PasswordSource::Command("printf 'two words \\nsecond line\\n'".into());
    assert_eq!(p.resolve().unwrap().unwrap().expose(), "two words ");
    let p = PasswordSource::Command("printf 'crlf\\r\\n'".into());
    assert_eq!(p.resolve().unwrap().unwrap().expose(), "crlf");
    assert_eq!(PasswordSource::None.resolve().unwrap(), None);
    let plain = PasswordSource::Plain(Secret::new("x"));
    assert_eq!(plain.resolve().unwrap().unwrap().expose(), "x");
}

#[test]
fn failing_password_command_is_clear_and_hides_output() {
    // The output is the "secret"; the command text does not contain it.
    let cmd = "printf '%s%s\\n' s3 cret; echo 'entry not found' >&2; exit 3";
    let e = PasswordSource::Command(cmd.into()).resolve().unwrap_err();
    assert!(matches!(e, PasswordError::Failed { .. }));
    let msg = e.to_string();
    assert!(!msg.contains("s3cret"), "{msg}");
    assert!(msg.contains(cmd) && msg.contains("exit status 3"), "{msg}");
    assert!(msg.contains("entry not found"), "{msg}");
    assert_eq!(e.exit_code(), 2);

    let e = PasswordSource::Command("true".into())
        .resolve()
        .unwrap_err();
    assert!(matches!(e, PasswordError::Empty { .. }), "{e}");
    assert!(e.to_string().contains("printed nothing"), "{e}");

    let e = PasswordSource::Command("sleep 5".into())
        .resolve_with_timeout(Duration::from_millis(200))
        .unwrap_err();
    assert!(matches!(e, PasswordError::Timeout { .. }), "{e}");

    let as_config: ConfigError = e.into();
    assert_eq!(as_config.exit_code(), 2);
}

#[test]
fn resolve_path_order() {
    let full = Env {
        tern_config: Some("/from/env.toml".into()),
        xdg_config_home: Some("/xdg/config".into()),
        xdg_data_home: None,
        home: Some("/home/tester".into()),
    };
    let cli = Path::new("/from/cli.toml");
    assert_eq!(resolve_path_with(Some(cli), &full).unwrap(), cli);
    assert_eq!(
        resolve_path_with(None, &full).unwrap(),
        Path::new("/from/env.toml")
    );
    let no_env = Env {
        tern_config: None,
        ..full.clone()
    };
    assert_eq!(
        resolve_path_with(None, &no_env).unwrap(),
        Path::new("/xdg/config/tern/config.toml")
    );
    let empty_env = Env {
        tern_config: Some("".into()),
        ..full.clone()
    };
    assert_eq!(
        resolve_path_with(None, &empty_env).unwrap(),
        Path::new("/xdg/config/tern/config.toml")
    );
    let home_only = Env {
        home: Some("/home/tester".into()),
        ..Env::default()
    };
    assert_eq!(
        resolve_path_with(None, &home_only).unwrap(),
        Path::new("/home/tester/.config/tern/config.toml")
    );
    let e = resolve_path_with(None, &Env::default()).unwrap_err();
    assert!(matches!(e, ConfigError::NoHome));
    assert_eq!(resolve_path_with(Some(cli), &Env::default()).unwrap(), cli);
}

#[test]
fn human_sizes_in_strings() {
    for (v, bytes) in [
        ("\"512 KiB\"", 512 * 1024),
        ("\"1.5 MB\"", 1_500_000),
        ("0", 0),
        ("\"2GiB\"", 2 << 30),
    ] {
        let c = parse_ok(&format!(
            "[[account]]\nname = \"w\"\nemail = \"w@example.com\"\noffline_attachment_limit = {v}\n\
             [account.imap]\nhost = \"h\"\n"
        ));
        assert_eq!(c.accounts[0].offline_attachment_limit, bytes, "{v}");
    }
    let e = parse(
        "[[account]]\nname = \"w\"\nemail = \"w@example.com\"\noffline_attachment_limit = -1\n\
         [account.imap]\nhost = \"h\"\n",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .ends_with(":4:28: account.offline_attachment_limit: a size cannot be negative"),
        "{e}"
    );
}

#[test]
fn first_error_in_file_order_wins() {
    // Both the email (line 3) and the port (line 6) are wrong: line 3 is reported.
    let src =
        "[[account]]\nname = \"w\"\nemail = \"nope\"\n[account.imap]\nhost = \"h\"\nport = 0\n";
    let e = parse(src).unwrap_err();
    assert_eq!(e.position(), Some(Position { line: 3, column: 9 }));
}

#[test]
fn signatures_by_address_and_sending_keys() {
    let c = parse_ok(&format!(
        "editor = \"builtin\"\n{}save_sent = false\nsignature = \"Me\"\n\
         [account.signatures]\n\"me@alias.example.com\" = \"Alias\"\n\
         [account.imap]\nhost = \"imap.example.com\"\npassword = \"x\"\n",
        account("")
    ));
    let a = &c.accounts[0];
    assert!(!a.save_sent);
    assert_eq!(a.signature.as_deref(), Some("Me"));
    assert_eq!(
        a.signatures,
        [("me@alias.example.com".to_string(), "Alias".to_string())]
    );
    assert_eq!(c.editor.as_deref(), Some("builtin"));
}

#[test]
fn server_keys_set_on_the_account_are_inherited_unless_a_server_sets_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, own) = (dir.path().join("ca.pem"), dir.path().join("own.pem"));
    std::fs::write(&ca, "x").unwrap();
    std::fs::write(&own, "x").unwrap();
    let c = parse_ok(&format!(
        "[[account]]\nname = \"work\"\nemail = \"me@example.com\"\nca_file = {ca:?}\n\
         username = \"me\"\npassword_command = \"pass show mail\"\n\
         [account.imap]\nhost = \"imap.example.com\"\n\
         [account.smtp]\nhost = \"smtp.example.com\"\nca_file = {own:?}\nusername = \"other\"\n\
         password = \"x\"\n"
    ));
    let a = &c.accounts[0];
    let imap = a.imap.as_ref().unwrap();
    assert_eq!(imap.ca_file.as_deref(), Some(ca.as_path()));
    assert_eq!(imap.username, "me");
    assert!(matches!(&imap.password, PasswordSource::Command(c) if c == "pass show mail"));
    let smtp = a.smtp.as_ref().unwrap();
    assert_eq!(smtp.ca_file.as_deref(), Some(own.as_path()));
    assert_eq!(smtp.username, "other");
    assert!(matches!(&smtp.password, PasswordSource::Plain(_)));

    // Both password keys on the account: one error, pointing at the account's key.
    let e = parse(
        "[[account]]\nname = \"w\"\nemail = \"me@example.com\"\npassword = \"x\"\n\
         password_command = \"y\"\n[account.imap]\nhost = \"h\"\n[account.smtp]\nhost = \"s\"\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e.matches("both password and password_command").count(),
        1,
        "{e}"
    );
    assert!(e.contains(":5:"), "{e}");
    // A missing account-level ca_file is an error, like a server's.
    let e = parse(&account(
        "ca_file = \"/nonexistent/ca.pem\"\n[account.imap]\nhost = \"h\"\n",
    ));
    let e = e.unwrap_err().to_string();
    assert!(
        e.contains("ca_file /nonexistent/ca.pem does not exist"),
        "{e}"
    );
}

#[test]
fn openers_by_mime_type() {
    let c = parse_ok("[openers]\n\"Application/PDF\" = \"zathura %s\"\n\"image/*\" = \" imv \"\n");
    assert_eq!(
        c.openers.into_iter().collect::<Vec<_>>(),
        vec![
            ("application/pdf".to_string(), "zathura %s".to_string()),
            ("image/*".to_string(), "imv".to_string()),
        ]
    );
    assert!(parse_ok("").openers.is_empty());
    let err = parse("[openers]\n\"*/pdf\" = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a MIME type"), "{err}");
    let err = parse("[openers]\n\"text/html\" = \"  \"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"text/html\" is empty"), "{err}");
}

#[test]
fn the_mailboxes_pane_can_start_hidden() {
    assert!(parse_ok("").sidebar, "shown by default");
    assert!(!parse_ok("sidebar = false\n").sidebar);
    let file = std::fs::read_to_string("config.example.toml").unwrap();
    let c = Config::parse_with_env(&file, Path::new("config.example.toml"), &env()).unwrap();
    assert!(c.sidebar);
}
