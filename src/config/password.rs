//! Getting a password: from the config, or by running `password_command`.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::{PasswordSource, Secret};

/// How long `password_command` may run (it may wait for a GPG pin entry).
pub const PASSWORD_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why `password_command` gave no password. Never contains the command's standard output.
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
    /// The password: the plain one, or the first line of `password_command`'s output
    /// (run with `sh -c`, 30 s timeout). `Ok(None)` when no password is configured.
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

fn run_password_command(command: &str, timeout: Duration) -> Result<Secret, PasswordError> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| PasswordError::Spawn {
            command: command.to_string(),
            source,
        })?;
    let stdout = read_all_in_thread(child.stdout.take().expect("piped stdout"));
    let stderr = read_all_in_thread(child.stderr.take().expect("piped stderr"));

    let deadline = Instant::now() + timeout;
    let timed_out = || PasswordError::Timeout {
        command: command.to_string(),
        timeout,
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(timed_out());
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(source) => {
                let _ = child.kill();
                return Err(PasswordError::Spawn {
                    command: command.to_string(),
                    source,
                });
            }
        }
    };
    // A background process the command started may keep the pipes open: don't wait for it
    // past the deadline.
    let remaining = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(100))
    };
    let out = stdout.recv_timeout(remaining()).map_err(|_| timed_out())?;
    let err = stderr.recv_timeout(remaining()).unwrap_or_default();

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

#[cfg(unix)]
fn unix_signal(status: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn unix_signal(_: &std::process::ExitStatus) -> Option<i32> {
    None
}
