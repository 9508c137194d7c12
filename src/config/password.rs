//! Getting a password: from the config, or by running `password_command`.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use std::fmt;

use super::PasswordSource;

/// A secret string. Debug and Display never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself: use only where it is handed to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How long `password_command` may run (it may wait for a GPG pin entry).
pub const PASSWORD_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why no password could be had (from `password_command` or the keyring). Never contains the
/// command's standard output or a secret.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password_command `{command}` could not be started: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("password_command `{command}` failed ({status}){}", stderr_suffix(.stderr))]
    Failed {
        command: String,
        /// `exit status 1`, `killed by signal 9`, ...
        status: String,
        /// The first non-empty line of the command's standard error, if any.
        stderr: Option<String>,
    },
    #[error(
        "password_command `{command}` printed nothing (expected the password on its first line)"
    )]
    Empty { command: String },
    #[error("password_command `{command}` did not finish within {} s and was stopped", .timeout.as_secs())]
    Timeout { command: String, timeout: Duration },
    #[error(
        "no password for account `{account}` in the system keyring: store it with \
         `tern password {account}`"
    )]
    NotInKeyring { account: String },
    #[error("the password of account `{account}`: {source}")]
    Keyring {
        account: String,
        #[source]
        source: crate::keyring::KeyringError,
    },
}

impl PasswordError {
    /// Process exit code for a password failure: 2, like other configuration errors.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

fn stderr_suffix(stderr: &Option<String>) -> String {
    match stderr {
        Some(s) => format!(": {s}"),
        None => String::new(),
    }
}

impl PasswordSource {
    /// The password: the plain one, the first line of `password_command`'s output (run with
    /// `sh -c`, 30 s timeout), or the one in the system keyring. `Ok(None)` when no password
    /// is configured.
    /// Blocking: call it from a blocking context (e.g. `spawn_blocking`).
    pub fn resolve(&self) -> Result<Option<Secret>, PasswordError> {
        self.resolve_with_timeout(PASSWORD_COMMAND_TIMEOUT)
    }

    /// [`resolve`](Self::resolve) with another timeout for the command.
    pub fn resolve_with_timeout(&self, timeout: Duration) -> Result<Option<Secret>, PasswordError> {
        match self {
            PasswordSource::None => Ok(None),
            PasswordSource::Plain(s) => Ok(Some(s.clone())),
            PasswordSource::Command(cmd) => run_password_command(cmd, timeout).map(Some),
            PasswordSource::Keyring { account } => {
                match crate::keyring::get(account, crate::keyring::PASSWORD) {
                    Ok(Some(s)) => Ok(Some(s)),
                    Ok(None) => Err(PasswordError::NotInKeyring {
                        account: account.clone(),
                    }),
                    Err(source) => Err(PasswordError::Keyring {
                        account: account.clone(),
                        source,
                    }),
                }
            }
            // Tokens come from crate::oauth (async, with refresh), not from here.
            PasswordSource::OAuth2(_) => Ok(None),
        }
    }
}

fn read_all_in_thread(mut r: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

// Long: spawn, wait with a deadline, read both pipes, stop the process group: one sequence
// whose timeout handling is read whole.
fn run_password_command(command: &str, timeout: Duration) -> Result<Secret, PasswordError> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so that whatever it started can be stopped with it.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().map_err(|source| PasswordError::Spawn {
        command: command.to_string(),
        source,
    })?;
    let mut child = Group {
        child,
        reaped: false,
    };
    let stdout = read_all_in_thread(child.child.stdout.take().expect("piped stdout"));
    let stderr = read_all_in_thread(child.child.stderr.take().expect("piped stderr"));

    let deadline = Instant::now() + timeout;
    let timed_out = || PasswordError::Timeout {
        command: command.to_string(),
        timeout,
    };
    loop {
        match child.exited() {
            Ok(true) => break,
            Ok(false) if Instant::now() >= deadline => return Err(timed_out()),
            Ok(false) => thread::sleep(Duration::from_millis(10)),
            Err(source) => {
                return Err(PasswordError::Spawn {
                    command: command.to_string(),
                    source,
                });
            }
        }
    }
    // A background process the command started may keep the pipes open: don't wait for it
    // past the deadline.
    let remaining = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(100))
    };
    let out = stdout.recv_timeout(remaining()).map_err(|_| timed_out())?;
    let err = stderr.recv_timeout(remaining()).unwrap_or_default();
    let status = child.finish().map_err(|source| PasswordError::Spawn {
        command: command.to_string(),
        source,
    })?;

    if !status.success() {
        let status = match (status.code(), unix_signal(&status)) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => status.to_string(),
        };
        let stderr = String::from_utf8_lossy(&err)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.chars().take(200).collect::<String>());
        return Err(PasswordError::Failed {
            command: command.to_string(),
            status,
            stderr,
        });
    }
    let text = String::from_utf8_lossy(&out);
    let first = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches(['\r', '\n']);
    if first.is_empty() {
        return Err(PasswordError::Empty {
            command: command.to_string(),
        });
    }
    Ok(Secret::new(first))
}

/// The running `password_command`, in its own process group. On every return (dropped, or
/// [`finish`](Self::finish)ed) the whole group (the shell and anything it started, such as a
/// background job still holding the pipes) is killed and the shell reaped.
struct Group {
    child: std::process::Child,
    /// Whether the shell has been reaped: from then on its pid, and so the group id, may be
    /// reused, and the group is not signalled.
    reaped: bool,
}

impl Group {
    /// Whether the shell has exited. On Linux it is left unreaped (a zombie keeps its pid, and
    /// so the group id, reserved until the group is killed).
    #[cfg(target_os = "linux")]
    fn exited(&mut self) -> std::io::Result<bool> {
        let pid = libc::id_t::from(self.child.id());
        // SAFETY: `info` is a valid siginfo_t for waitid(2) to fill; all-zero is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid(2) on our own child, writing only into `info`; WNOWAIT leaves it
        // unreaped, WNOHANG returns at once.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: waitid filled `info` (si_pid stays 0 when the child has not exited).
        Ok(unsafe { info.si_pid() } != 0)
    }

    #[cfg(not(target_os = "linux"))]
    fn exited(&mut self) -> std::io::Result<bool> {
        let done = self.child.try_wait()?.is_some();
        self.reaped |= done;
        Ok(done)
    }

    /// Kill what is left of the group, reap the shell and give its exit status.
    fn finish(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.kill_group();
        let status = self.child.wait();
        self.reaped = true;
        status
    }

    fn kill_group(&mut self) {
        if self.reaped {
            return;
        }
        #[cfg(unix)]
        if let Ok(pgid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals the process group and touches no
            // memory. The group is the shell's own (process_group(0)) and the shell is not
            // reaped, so the id cannot have been reused.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        #[cfg(not(unix))]
        let _ = self.child.kill();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(unix)]
fn unix_signal(status: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn unix_signal(_: &std::process::ExitStatus) -> Option<i32> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_timed_out_command_leaves_no_process_behind() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let cmd = format!("sleep 30 & echo $! > '{}'; wait", pidfile.display());
        let err = PasswordSource::Command(cmd)
            .resolve_with_timeout(Duration::from_millis(300))
            .unwrap_err();
        assert!(matches!(err, PasswordError::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("did not finish"), "{err}");
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let proc = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
        let deadline = Instant::now() + Duration::from_secs(5);
        while proc.exists() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !proc.exists(),
            "the command's child {} still runs",
            pid.trim()
        );
    }
}
