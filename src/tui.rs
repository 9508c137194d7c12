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

impl TerminalGuard {
    pub fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        // Restore before the panic message is printed, so it is readable and the shell usable.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
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
