//! tern's entry point: parse the command line, load the config, set up file logging and the
//! tokio runtime, then run the UI or a subcommand. Errors a user can act on end here as one
//! line and a non-zero exit code.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use crossterm::event::EventStream;

use tern::app::{self, Options};
use tern::cli::{Cli, Command};
use tern::config::{self, Config, ConfigError};
use tern::store::{Store, StoreHandle};
use tern::ui::theme::Theme;
use tern::{demo, runtime, tui};

/// Dependencies whose logs carry protocol bytes (and so secrets or mail) or flood the log:
/// capped whatever `TERN_LOG` asks. async-imap traces every command it writes (LOGIN with its
/// password, AUTHENTICATE's answer) and every byte it reads; lettre logs `Wrote: AUTH PLAIN
/// <base64 of the password>` at debug; html5ever logs every token of every HTML part.
const CAPPED_LOGS: &[&str] = &[
    "async_imap=off",
    "lettre=warn",
    "html5ever=warn",
    "markup5ever=warn",
    "rustls=info",
    "tokio_rustls=info",
];

/// Log to `<data_dir>/tern.log` (0600), filtered by `TERN_LOG` (default `info`). Never to the
/// terminal.
fn init_logging(data_dir: &Path) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    tern::store::ensure_private_dir(data_dir)?;
    let appender = tracing_appender::rolling::never(data_dir, "tern.log");
    tern::store::make_private(&data_dir.join("tern.log"))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("TERN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for directive in CAPPED_LOGS {
        filter = filter.add_directive(directive.parse()?);
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .init();
    Ok(guard)
}

/// How long quitting waits for the engines to log out, and then for the runtime's tasks.
const QUIT_GRACE: Duration = Duration::from_millis(700);

/// Both ends are a terminal (a first start may show the setup screen).
fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

fn load_config(cli: &Cli) -> Result<Config, ConfigError> {
    let path = config::resolve_path(cli.config.as_deref())?;
    Config::load(&path)
}

async fn run_tui(
    handle: StoreHandle,
    mut opts: Options,
    editor: Option<String>,
) -> anyhow::Result<()> {
    opts.suspend = Some(tui::suspend);
    opts.ring = Some(Box::new(|bytes: &str| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes.as_bytes());
        let _ = out.flush();
    }));
    match tui::editor_command(editor.as_deref()) {
        Some(command) => {
            opts.editor = Some(Box::new(move |path: &Path| tui::edit(path, &command)));
        }
        None => opts.builtin_editor = true,
    }
    let mut guard = tui::TerminalGuard::enter(opts.mouse).context("cannot set up the terminal")?;
    let result = app::run(&mut guard.terminal, EventStream::new, handle, opts).await;
    drop(guard);
    result.context("terminal")
}

fn demo(rt: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("tern-demo-")
        .tempdir()
        .context("cannot create a temporary dir")?;
    let _log = init_logging(dir.path())?;
    let mut store = Store::open_in_dir(dir.path())?;
    let stats = demo::import(&mut store)?;
    tracing::info!(?stats, "demo mail imported");
    let senders = demo::senders(&store)?;
    let dirs = app::effects::Dirs {
        download: directories::UserDirs::new()
            .and_then(|u| u.download_dir().map(Path::to_path_buf))
            .unwrap_or_else(|| dir.path().join("downloads")),
        scratch: dir.path().join("open"),
        openers: Default::default(),
        config: None,
        history: None,
    };
    let opts = Options {
        senders,
        ..Options::standalone("demo", dirs)
    };
    rt.block_on(run_tui(StoreHandle::spawn(store)?, opts, None))
}

fn open(rt: &tokio::runtime::Runtime, cfg: Config) -> anyhow::Result<()> {
    let _log = init_logging(&cfg.data_dir)?;
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    // (Opening it marks what a crashed tern was sending as "may have been sent".)
    let mut store = Store::open_in_dir(&cfg.data_dir)?;
    rt.block_on(async {
        let mut background = runtime::start(&cfg, &mut store)?;
        let ui_store = StoreHandle::spawn(store)?;
        let opts = Options {
            layout: cfg.layout,
            keys: cfg.keys.clone(),
            theme: Theme::from_config(&cfg.theme, Theme::no_color_from_env()),
            banner: "tern".into(),
            engines: background.engines.clone(),
            engine_events: background.events.take(),
            dirs: app::effects::Dirs {
                download: cfg.download_dir.clone(),
                scratch: cfg.data_dir.join("open"),
                openers: cfg.openers.clone(),
                config: cfg.path.clone(),
                history: Some(cfg.data_dir.join("command_history")),
            },
            mouse: cfg.mouse,
            sidebar: cfg.sidebar,
            mark_read_on_open: cfg.mark_read_on_open,
            mark_read_delay_ms: cfg.mark_read_delay.saturating_mul(1000),
            send_delay_secs: cfg.send_delay.as_secs(),
            suspend: None,
            editor: None,
            builtin_editor: false,
            senders: std::mem::take(&mut background.senders),
            notify: Some((cfg.accounts.clone(), cfg.notify.clone())),
            ring: None,
            notice: cfg.startup_notice(),
            setup: None,
        };
        let result = run_tui(ui_store, opts, cfg.editor.clone()).await;
        // The engines were told to shut down; give them a moment to log out (what they were
        // writing is in transactions: the cache stays consistent whatever they were doing).
        let _ = background.stop(QUIT_GRACE).await;
        result
    })
}

/// `tern` in a terminal with no config file: the setup screen (`app::firststart`); once it
/// wrote the config, that config is opened: the user lands in the INBOX. Esc: nothing written.
fn first_start(rt: &tokio::runtime::Runtime, config: std::path::PathBuf) -> anyhow::Result<()> {
    let dns = tern::setup::dns::from_env().map_err(anyhow::Error::msg)?;
    let dir = tempfile::Builder::new()
        .prefix("tern-setup-")
        .tempdir()
        .context("cannot create a temporary dir")?;
    let start = app::firststart::SetupStart {
        config: config.clone(),
        base: tern::setup::Request {
            dns,
            ..Default::default()
        },
    };
    let opts = app::firststart::options(start, dir.path());
    let store = Store::open_in_dir(dir.path())?;
    rt.block_on(run_tui(StoreHandle::spawn(store)?, opts, None))?;
    drop(dir);
    if !config.exists() {
        return Ok(());
    }
    open(rt, Config::load(&config)?)
}

/// `tern sync` (and `--watch`): log to the data dir (the terminal gets the summary), exit 1 on any failure.
fn sync(
    rt: &tokio::runtime::Runtime,
    cfg: Config,
    account: Option<&str>,
    mailbox: Option<&str>,
    watch: bool,
) -> anyhow::Result<bool> {
    let _log = init_logging(&cfg.data_dir)?;
    if watch {
        return Ok(rt.block_on(tern::commands::watch(&cfg, account)));
    }
    let store = StoreHandle::open_in_dir(&cfg.data_dir)?;
    Ok(rt.block_on(tern::commands::sync(&cfg, store, account, mailbox)))
}

/// `tern send`: the message on stdin (or, with `flush`, the queued ones). Returns the exit code.
fn send(
    rt: &tokio::runtime::Runtime,
    cfg: Config,
    opts: tern::commands::SendOpts,
    flush: bool,
) -> anyhow::Result<i32> {
    let _log = init_logging(&cfg.data_dir)?;
    let store = StoreHandle::open_in_dir(&cfg.data_dir)?;
    if flush {
        return Ok(rt.block_on(tern::commands::flush(&cfg, store, opts.account.as_deref())));
    }
    let mut input = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut input)?;
    Ok(rt.block_on(tern::commands::send(&cfg, store, &input, &opts)))
}

/// `tern check` (and `--connect`): the settings, then with `connect` one line per server.
/// Returns whether every server worked.
fn check(rt: &tokio::runtime::Runtime, cfg: Config, connect: bool) -> anyhow::Result<bool> {
    // The summary ends with the warnings: printed there only, once.
    print!("{}", cfg.redacted_summary());
    if !connect {
        return Ok(true);
    }
    // Logs (the engines' own) go to the data dir, never the terminal.
    let _log = init_logging(&cfg.data_dir)?;
    println!();
    Ok(rt.block_on(tern::commands::check_connect(&cfg)))
}

/// `tern setup`: one line per step on stdout; false when nothing could be written. In a
/// terminal, a certificate no CA signed on a server of this computer may be trusted by its
/// fingerprint after a yes.
fn setup(
    rt: &tokio::runtime::Runtime,
    cli: &Cli,
    req: &tern::setup::Request,
) -> anyhow::Result<bool> {
    let path = config::resolve_path(cli.config.as_deref())?;
    let done = rt.block_on(tern::setup::run_with(
        &path,
        req,
        &mut |line| println!("{line}"),
        &mut tern::commands::setup::ask_trust,
    ));
    Ok(match done {
        Ok(()) => true,
        Err(e) => {
            eprintln!("tern: {e}");
            false
        }
    })
}

/// `tern setup --reauth ACCOUNT`.
fn reauth(
    rt: &tokio::runtime::Runtime,
    cli: &Cli,
    account: &str,
    req: &tern::setup::oauth2::OAuth2Request,
) -> ExitCode {
    let path = match config::resolve_path(cli.config.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("tern: {e}");
            return ExitCode::from(2);
        }
    };
    let done = rt.block_on(tern::setup::oauth2::reauth(
        &path,
        account,
        req,
        &mut |line| println!("{line}"),
    ));
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tern: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `tern outbox --flush` (after `--requeue ID`, if given): send every queued message now.
/// Returns whether all of them went.
fn flush_outbox(
    rt: &tokio::runtime::Runtime,
    cfg: Config,
    requeue: Option<i64>,
) -> anyhow::Result<bool> {
    let _log = init_logging(&cfg.data_dir)?;
    if let Some(id) = requeue {
        let mut store = Store::open_in_dir(&cfg.data_dir)?;
        tern::commands::requeue(&mut store, id)?.map_err(anyhow::Error::msg)?;
    }
    let store = StoreHandle::open_in_dir(&cfg.data_dir)?;
    let (code, tried) = rt.block_on(tern::commands::flush_counted(&cfg, store, None));
    if tried == 0 && code == 0 {
        println!("nothing to send: the outbox has no queued message");
    }
    Ok(code == 0)
}

// Long: one match arm per subcommand, each a few lines.
fn main() -> ExitCode {
    // Everything tern writes (cache, log, drafts, scratch files, saved attachments) is the
    // user's alone, whatever the umask it was started with.
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file mode creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tern: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match (&cli.command, cli.demo) {
        (None, true) => demo(&rt),
        (Some(Command::Check { connect }), _) => match load_config(&cli) {
            Ok(cfg) => match check(&rt, cfg, *connect) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::FAILURE,
                Err(e) => Err(e),
            },
            Err(e) => Err(e.into()),
        },
        (Some(setup_args @ Command::Setup { oauth2, .. }), _) => {
            if let Some(account) = &oauth2.reauth {
                return reauth(
                    &rt,
                    &cli,
                    account,
                    &tern::commands::setup::oauth2_request(oauth2),
                );
            }
            match tern::commands::setup::request(setup_args) {
                Ok(req) => match setup(&rt, &cli, &req) {
                    Ok(true) => Ok(()),
                    Ok(false) => return ExitCode::FAILURE,
                    Err(e) => Err(e),
                },
                Err(e) => {
                    eprintln!("tern: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        (Some(Command::Password { account, delete }), _) => match load_config(&cli) {
            Ok(cfg) => match tern::commands::password(&cfg, account, *delete) {
                Ok(said) => {
                    println!("{said}");
                    Ok(())
                }
                Err(e) => {
                    eprintln!("tern: {e}");
                    return ExitCode::FAILURE;
                }
            },
            Err(e) => Err(e.into()),
        },
        (Some(Command::Man), _) => {
            tern::cli::man_page(&mut std::io::stdout().lock()).map_err(anyhow::Error::from)
        }
        (Some(Command::Completions { shell }), _) => {
            tern::cli::completions(*shell, &mut std::io::stdout().lock());
            Ok(())
        }
        (
            Some(Command::Sync {
                account,
                mailbox,
                watch,
            }),
            _,
        ) => match load_config(&cli) {
            Ok(cfg) => match sync(&rt, cfg, account.as_deref(), mailbox.as_deref(), *watch) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::FAILURE,
                Err(e) => Err(e),
            },
            Err(e) => Err(e.into()),
        },
        (
            Some(Command::List {
                account,
                mailbox,
                limit,
                json,
            }),
            _,
        ) => match load_config(&cli) {
            Ok(cfg) => Store::open_in_dir(&cfg.data_dir)
                .and_then(|store| {
                    let mut out = std::io::stdout().lock();
                    tern::commands::list(
                        &store,
                        &mut out,
                        account.as_deref(),
                        mailbox,
                        *limit,
                        *json,
                    )
                })
                .map_err(Into::into),
            Err(e) => Err(e.into()),
        },
        (
            Some(Command::Send {
                account,
                attach,
                queue_only,
                flush,
                json,
            }),
            _,
        ) => match load_config(&cli) {
            Ok(cfg) => {
                let code = send(
                    &rt,
                    cfg,
                    tern::commands::SendOpts {
                        account: account.clone(),
                        attach: attach.clone(),
                        queue_only: *queue_only,
                        json: *json,
                    },
                    *flush,
                );
                match code {
                    Ok(0) => Ok(()),
                    Ok(c) => return ExitCode::from(c as u8),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e.into()),
        },
        (Some(Command::Search { query, limit, json }), _) => match load_config(&cli) {
            Ok(cfg) => Store::open_in_dir(&cfg.data_dir)
                .and_then(|store| {
                    let mut out = std::io::stdout().lock();
                    tern::commands::search(&store, &mut out, query, *limit, *json)
                })
                .map_err(Into::into),
            Err(e) => Err(e.into()),
        },
        (Some(Command::Index { rebuild }), _) => match load_config(&cli) {
            Ok(cfg) => Store::open_in_dir(&cfg.data_dir)
                .and_then(|mut store| {
                    let mut out = std::io::stdout().lock();
                    tern::commands::index(&mut store, &mut out, *rebuild)
                })
                .map_err(Into::into),
            Err(e) => Err(e.into()),
        },
        (
            Some(Command::Outbox {
                requeue,
                flush: true,
                ..
            }),
            _,
        ) => match load_config(&cli) {
            Ok(cfg) => match flush_outbox(&rt, cfg, *requeue) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::FAILURE,
                Err(e) => Err(e),
            },
            Err(e) => Err(e.into()),
        },
        (Some(Command::Outbox { requeue, json, .. }), _) => match load_config(&cli) {
            Ok(cfg) => Store::open_in_dir(&cfg.data_dir)
                .and_then(|mut store| {
                    let mut out = std::io::stdout().lock();
                    tern::commands::outbox(&mut store, &mut out, *requeue, *json)
                })
                .map_err(anyhow::Error::from)
                .and_then(|answer| answer.map_err(anyhow::Error::msg)),
            Err(e) => Err(e.into()),
        },
        (None, false) => match load_config(&cli) {
            Ok(cfg) => {
                for w in &cfg.warnings {
                    eprintln!("warning: {w}");
                }
                open(&rt, cfg)
            }
            Err(ConfigError::NotFound { path }) if interactive() => first_start(&rt, path),
            Err(e) => Err(e.into()),
        },
    };
    // Quitting never waits for the background: a blocking task (parsing a batch of a first
    // sync, a password command) would otherwise hold the runtime's drop for as long as it runs.
    rt.shutdown_timeout(QUIT_GRACE);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(ce) = e.downcast_ref::<ConfigError>() {
                eprintln!("tern: {ce}");
                return ExitCode::from(ce.exit_code() as u8);
            }
            eprintln!("tern: {e:#}");
            ExitCode::FAILURE
        }
    }
}
