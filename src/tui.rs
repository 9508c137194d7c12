//! Terminal guard: raw mode and the alternate screen while the UI runs, restored on drop, on
//! panic and on error.

use std::io::{self, Stdout};

use crossterm::{cursor, event, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Put the terminal back as it was. Safe to call more than once.
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        event::DisableMouseCapture,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
}

/// Ctrl-z: give the terminal back, stop the process (SIGTSTP, as a shell job), and take the
/// terminal again once the shell resumes it. The caller redraws everything.
#[cfg(unix)]
pub fn suspend() -> io::Result<()> {
    restore();
    signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)?;
    terminal::enable_raw_mode()?;
    execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide)?;
    if MOUSE.load(std::sync::atomic::Ordering::Relaxed) {
        execute!(io::stdout(), event::EnableMouseCapture)?;
    }
    Ok(())
}

/// Hand the terminal to the user's editor on `path` (`command` is a shell word list, e.g.
/// `vim` or `code --wait`; the path is passed as one more argument, never through the shell's
/// parsing), then take it back. The caller redraws everything.
pub fn edit(path: &std::path::Path, command: &str) -> Result<(), String> {
    restore();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{command} \"$1\""))
        .arg("tern-editor")
        .arg(path)
        .status();
    let back = terminal::enable_raw_mode()
        .and_then(|()| execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide))
        .and_then(|()| {
            if MOUSE.load(std::sync::atomic::Ordering::Relaxed) {
                execute!(io::stdout(), event::EnableMouseCapture)
            } else {
                Ok(())
            }
        });
    back.map_err(|e| format!("cannot take the terminal back: {e}"))?;
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("the editor ({command}) ended with {s}")),
        Err(e) => Err(format!("cannot run the editor ({command}): {e}")),
    }
}

/// The editor to run: the config's, else `$VISUAL`, else `$EDITOR`; None: the built-in one
/// (nothing is set, or the config says `editor = "builtin"`).
pub fn editor_command(configured: Option<&str>) -> Option<String> {
    configured
        .map(str::to_string)
        .or_else(|| std::env::var("VISUAL").ok())
        .or_else(|| std::env::var("EDITOR").ok())
        .filter(|e| !e.trim().is_empty() && e.trim() != "builtin")
}

/// Whether the guard turned mouse reporting on (suspend turns it back on after a resume).
static MOUSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cfg(not(unix))]
pub fn suspend() -> io::Result<()> {
    Ok(())
}

pub struct TerminalGuard {
    pub terminal: Tui,
}

/// The terminal's settings before raw mode, for the fatal-signal handler.
#[cfg(unix)]
static SAVED_TERMIOS: std::sync::OnceLock<libc::termios> = std::sync::OnceLock::new();

/// What leaves mouse reporting (every mode crossterm turns on), the alternate screen, and
/// shows the cursor: written by the fatal-signal handler.
#[cfg(unix)]
const LEAVE: &[u8] = b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?1049l\x1b[?25h";

/// An abort (a stack overflow ends in one) or SIGQUIT runs no Drop and no panic hook: the
/// terminal is put back from the signal handler, with async-signal-safe calls only (tcsetattr,
/// write), then the signal's default action ends the process as it would have.
#[cfg(unix)]
fn restore_on_fatal_signals() {
    // SAFETY: tcgetattr fills the termios it is given; 0 is stdin.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(libc::STDIN_FILENO, &mut t) == 0 {
            let _ = SAVED_TERMIOS.set(t);
        }
    }
    for sig in [libc::SIGABRT, libc::SIGQUIT] {
        // SAFETY: the action calls only async-signal-safe functions (tcsetattr, write, signal,
        // raise) and reads a OnceLock that was set before the handler was registered.
        let _ = unsafe {
            signal_hook::low_level::register(sig, move || {
                if let Some(t) = SAVED_TERMIOS.get() {
                    libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t);
                }
                libc::write(libc::STDOUT_FILENO, LEAVE.as_ptr().cast(), LEAVE.len());
                libc::signal(sig, libc::SIG_DFL);
                libc::raise(sig);
            })
        };
    }
}

impl TerminalGuard {
    pub fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        // Restore before the panic message is printed, so it is readable and the shell usable.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        #[cfg(unix)]
        restore_on_fatal_signals();
        terminal::enable_raw_mode()?;
        if let Err(e) = execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e);
        }
        if mouse && let Err(e) = execute!(io::stdout(), event::EnableMouseCapture) {
            restore();
            return Err(e);
        }
        MOUSE.store(mouse, std::sync::atomic::Ordering::Relaxed);
        let terminal =
            Terminal::new(CrosstermBackend::new(io::stdout())).inspect_err(|_| restore())?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}
