//! Process, file and socket helpers for the fixture: bounded command runs, pid checks,
//! readiness polling. Everything here has a deadline; nothing waits forever.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Poll interval for readiness and shutdown checks.
pub const POLL: Duration = Duration::from_millis(10);

/// Output of a finished command.
pub struct Output {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn text(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr)
        )
    }
}

/// Runs `cmd` to completion with piped stdout/stderr (and `input` on stdin), killing it after
/// `timeout`. Only for commands that do not leave daemons behind holding the pipes.
pub fn run(cmd: &mut Command, input: Option<&[u8]>, timeout: Duration) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let pid = child.id();
    let writer = match (input, child.stdin.take()) {
        (Some(bytes), Some(mut stdin)) => {
            let bytes = bytes.to_vec();
            Some(thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            }))
        }
        _ => None,
    };
    let (out, timed_out) = with_watchdog(pid, timeout, || child.wait_with_output());
    if let Some(w) = writer {
        let _ = w.join();
    }
    let out = out.map_err(|e| format!("waiting for {shown}: {e}"))?;
    if timed_out {
        return Err(format!("{shown} did not finish within {timeout:?}; killed"));
    }
    Ok(Output {
        success: out.status.success(),
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// Runs `wait` while a watchdog kills `pid` once `timeout` passes; says whether it had to.
fn with_watchdog<T>(pid: u32, timeout: Duration, wait: impl FnOnce() -> T) -> (T, bool) {
    let (cancel, cancelled) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(timeout) {
            kill(pid, "KILL");
            true
        } else {
            false
        }
    });
    let out = wait();
    let _ = cancel.send(());
    (out, watchdog.join().unwrap_or(false))
}

/// Runs a command that starts a daemon: stdout/stderr go to `log` (appended), never to a pipe
/// (the daemon inherits them and would keep a pipe open). Returns the exit status.
pub fn run_daemon_starter(
    cmd: &mut Command,
    log: &Path,
    timeout: Duration,
) -> Result<bool, String> {
    let shown = format!("{cmd:?}");
    let file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let file2 = file
        .try_clone()
        .map_err(|e| format!("cannot dup {}: {e}", log.display()))?;
    cmd.stdin(Stdio::null()).stdout(file).stderr(file2);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let pid = child.id();
    let (status, timed_out) = with_watchdog(pid, timeout, || child.wait());
    let status = status.map_err(|e| format!("waiting for {shown}: {e}"))?;
    if timed_out {
        return Err(format!("{shown} did not finish within {timeout:?}; killed"));
    }
    Ok(status.success())
}

/// Sends a signal (name without SIG, e.g. "TERM") to one pid. Best effort.
pub fn kill(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Sends a signal to several pids at once. Best effort.
pub fn kill_all(pids: &[u32], signal: &str) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .args(pids.iter().map(|p| p.to_string()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The first line of a pid file as a pid.
pub fn read_pid(path: &Path) -> Option<u32> {
    let text = fs::read_to_string(path).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// (state, ppid, starttime) from /proc/PID/stat.
fn stat_fields(pid: u32) -> Option<(char, u32, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ...": comm may contain spaces and parens, so split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let ppid = fields.get(1)?.parse().ok()?;
    // field 22 of stat (starttime) is the 20th after the comm
    let start = fields.get(19)?.parse().ok()?;
    Some((state, ppid, start))
}

/// A process identity that survives pid reuse: (pid, start time in clock ticks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub start: u64,
}

impl Proc {
    pub fn of(pid: u32) -> Option<Proc> {
        let (state, _, start) = stat_fields(pid)?;
        (state != 'Z' && state != 'X').then_some(Proc { pid, start })
    }
    /// Still running and still the same process (not a reused pid).
    pub fn alive(&self) -> bool {
        Proc::of(self.pid) == Some(*self)
    }
}

/// True if the process exists and is not a zombie (PID 1 here may not reap orphans).
pub fn alive(pid: u32) -> bool {
    Proc::of(pid).is_some()
}

/// All live descendants of `root` (children, grandchildren, ...), found through /proc.
pub fn descendants(root: u32) -> Vec<Proc> {
    let mut table = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok())
                && let Some((state, ppid, start)) = stat_fields(pid)
                && state != 'Z'
            {
                table.push((Proc { pid, start }, ppid));
            }
        }
    }
    let mut found: Vec<u32> = vec![root];
    let mut out = Vec::new();
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        for &(p, ppid) in &table {
            if ppid == parent && !found.contains(&p.pid) {
                found.push(p.pid);
                out.push(p);
            }
        }
        i += 1;
    }
    out
}

/// Polls `cond` every [`POLL`] until it is true or `deadline` passes.
pub fn wait_until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL);
    }
}

/// Stops a daemon tree: SIGTERM to the master; a bounded wait until its processes are gone,
/// except those whose command line ends with `linger` (Dovecot's log process, which otherwise
/// stays ~1 s and the master waits for it); SIGTERM to those; a bounded wait for everything;
/// SIGKILL as a last resort. Only processes recorded as the master's descendants (checked
/// against pid reuse) are signalled. Returns a description of trouble, if any.
pub fn stop_tree(master: u32, timeout: Duration, linger: Option<&str>) -> Option<String> {
    let master = Proc::of(master)?;
    let tree = descendants(master.pid);
    let (lingering, others): (Vec<Proc>, Vec<Proc>) = tree
        .iter()
        .partition(|p| linger.is_some_and(|l| cmdline(p.pid).trim_end().ends_with(l)));
    let alive =
        |all: &[Proc]| -> Vec<u32> { all.iter().filter(|p| p.alive()).map(|p| p.pid).collect() };
    let mut all = tree.clone();
    all.push(master);

    kill(master.pid, "TERM");
    let deadline = Instant::now() + timeout;
    let mut trouble = Vec::new();
    if !wait_until(deadline, || alive(&others).is_empty()) {
        trouble.push(format!(
            "{:?} outlived SIGTERM to master {}",
            alive(&others),
            master.pid
        ));
    }
    let rest = alive(&lingering);
    if !rest.is_empty() {
        kill_all(&rest, "TERM");
    }
    if !wait_until(deadline, || alive(&all).is_empty()) {
        let rest = alive(&all);
        kill_all(&rest, "KILL");
        let _ = wait_until(Instant::now() + Duration::from_secs(5), || {
            alive(&all).is_empty()
        });
        trouble.push(format!(
            "{rest:?} survived SIGTERM for {timeout:?}; sent SIGKILL"
        ));
    }
    (!trouble.is_empty()).then(|| trouble.join("; "))
}

/// Kills a daemon tree at once (SIGKILL to the master and every recorded descendant), as a
/// crash or a pulled cable would end it, then waits (bounded) for the processes to go.
pub fn kill_tree(master: u32) {
    let Some(master) = Proc::of(master) else {
        return;
    };
    // Freeze the master first: a master that sees its children die respawns them, and a child
    // born between listing and killing would outlive the "crash" holding the sockets.
    kill(master.pid, "STOP");
    let mut all = descendants(master.pid);
    all.push(master);
    let pids: Vec<u32> = all.iter().map(|p| p.pid).collect();
    kill_all(&pids, "KILL");
    let _ = wait_until(Instant::now() + Duration::from_secs(10), || {
        all.iter().all(|p| !p.alive())
    });
}

/// The environment variable `name` of a process, if readable.
pub fn environ_var(pid: u32, name: &str) -> Option<String> {
    let env = fs::read(format!("/proc/{pid}/environ")).ok()?;
    env.split(|&b| b == 0).find_map(|kv| {
        let kv = String::from_utf8_lossy(kv);
        kv.strip_prefix(name)?.strip_prefix('=').map(str::to_string)
    })
}

/// The command line of a process, NULs replaced by spaces.
pub fn cmdline(pid: u32) -> String {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

/// Picks `n` distinct free loopback ports (all bound at once, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local_addr").port())
        .collect()
}

/// Connects to 127.0.0.1:`port` and reads the first line, with short timeouts.
pub fn greeting(port: u16) -> Option<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    Some(line.trim_end().to_string())
}

/// True if something accepts TCP connections on 127.0.0.1:`port`.
pub fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

/// uid (from /etc/passwd) or gid (from /etc/group) of a name.
fn id_from(file: &str, name: &str) -> Option<u32> {
    let text = fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.next()?;
        f.next()?.parse().ok()
    })
}

pub fn uid_of(name: &str) -> u32 {
    id_from("/etc/passwd", name).unwrap_or_else(|| {
        panic!("system user {name:?} missing: run tests/run (it installs the test servers)")
    })
}

pub fn gid_of(name: &str) -> u32 {
    id_from("/etc/group", name).unwrap_or_else(|| {
        panic!("system group {name:?} missing: run tests/run (it installs the test servers)")
    })
}

/// Effective uid of this process (owner of /proc/self).
pub fn euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

/// The last `max_lines` lines of a text file (for failure messages).
pub fn tail(path: &Path, max_lines: usize) -> String {
    let text = match fs::File::open(path) {
        Ok(mut f) => {
            let mut bytes = Vec::new();
            let _ = f.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Err(e) => return format!("(cannot read {}: {e})", path.display()),
    };
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(max_lines);
    lines[start..].join("\n")
}
