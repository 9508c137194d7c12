//! What the interop fixtures (Cyrus, Courier, Exim) share: the unpacked package tree that
//! tests/install-interop.sh made, instance dirs, one CA per test process, daemons started in a
//! private mount namespace, and stopping exactly the recorded process trees.

use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{KEPT_FILE, OWNER_FILE, instance_root, mkdir, process, tls, write};

/// Where tests/install-interop.sh unpacks the packages that conflict with Dovecot/Postfix.
pub const TREE: &str = "/opt/tern-interop/root";
pub const MISSING: &str = "not installed: run tests/run (it installs the interop test servers)";
/// In an instance dir: "<pid> <starttime>" of each daemon tree root, for reap_orphans().
pub const DAEMONS_FILE: &str = "daemons";
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
pub const PORT_ATTEMPTS: usize = 5;

/// A path inside the unpacked tree; panics with "run tests/run" when it is absent.
pub fn tree_path(rel: &str, what: &str) -> PathBuf {
    let p = Path::new(TREE).join(rel);
    assert!(p.exists(), "{what} {MISSING} ({} is absent)", p.display());
    p
}

/// A system file (installed by apt-get); panics with "run tests/run" when absent.
pub fn system_path(path: &str, what: &str) -> PathBuf {
    let p = PathBuf::from(path);
    assert!(p.exists(), "{what} {MISSING} ({path} is absent)");
    p
}

/// The CA and server certificate shared by every interop fixture of this test process.
pub fn pki() -> &'static tls::Pki {
    static PKI: OnceLock<tls::Pki> = OnceLock::new();
    PKI.get_or_init(|| tls::generate(&format!("interop-{}", std::process::id())))
}

/// A fresh instance dir `<instance_root>/<prefix>XXXXXX`, 0755 (the servers' users must
/// traverse it), marked with the owner file; orphans of dead runs reaped first. Panics with
/// `not_root` unless running as root. The caller keeps the TempDir.
pub fn instance_dir(prefix: &str, not_root: &str) -> (tempfile::TempDir, PathBuf) {
    assert_eq!(process::euid(), 0, "{not_root}");
    super::reap_orphans();
    let root = instance_root();
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&root)
        .unwrap_or_else(|e| panic!("create a temp dir under {}: {e}", root.display()));
    let base = dir.path().to_path_buf();
    // the servers' unix sockets live below it: sun_path holds < 108 bytes
    assert!(
        base.as_os_str().len() <= 64,
        "instance dir {} is too long for unix socket paths: set TERN_TEST_ROOT shorter",
        base.display()
    );
    // mkdtemp makes 0700
    mkdir(&base, 0o755);
    // marks the dir as a harness instance and names its owner, for reap_orphans()
    let me = process::Proc::of(std::process::id()).expect("own /proc entry");
    write(
        &base.join(OWNER_FILE),
        &format!("{} {}\n", me.pid, me.start),
        0o644,
    );
    (dir, base)
}

/// A fresh instance dir (`<instance_root>/tern-<kind>-XXXXXX`, 0755, owner file written, the
/// CA/cert/key in etc/tls). The caller keeps the TempDir.
pub fn new_instance(kind: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, base) = instance_dir(
        &format!("tern-{kind}-"),
        &format!("the {kind} fixture must run as root (the servers switch users)"),
    );
    for d in ["etc", "etc/tls", "log", "run"] {
        mkdir(&base.join(d), 0o755);
    }
    let pki = pki();
    write(&base.join("etc/tls/ca.pem"), &pki.ca_pem, 0o644);
    write(
        &base.join("etc/tls/cert.pem"),
        &format!("{}{}", pki.cert_pem, pki.ca_pem),
        0o644,
    );
    write(&base.join("etc/tls/key.pem"), &pki.key_pem, 0o600);
    (dir, base)
}

/// chown to uid/gid, panicking with the path.
pub fn own(path: &Path, uid: u32, gid: u32) {
    chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {} to {uid}:{gid}: {e}", path.display()));
}

pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// A daemon tree started by a fixture: the direct child (kept so it can be reaped) and its
/// identity, recorded in the instance's [`DAEMONS_FILE`].
pub struct Daemon {
    child: Child,
    pub proc: process::Proc,
    /// The tree's processes seen once it was ready (see [`Daemon::record_tree`]).
    members: Vec<process::Proc>,
    record: PathBuf,
}

/// Starts `sh <script>` in a private mount namespace (the script's bind mounts are seen by
/// it and its children only), stdout/stderr appended to `log`, with exactly `env` as the
/// environment (plus PATH). The script should `exec` the daemon (then the pid stays the same).
pub fn spawn_in_namespace(
    base: &Path,
    script: &Path,
    env: &[(&str, String)],
    log: &Path,
) -> Daemon {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
    let err = out.try_clone().expect("dup log");
    // its own process group: a daemon that signals its group (authdaemond does on
    // shutdown) must never hit the test process or cargo
    let child = Command::new("unshare")
        .process_group(0)
        .args(["-m", "--propagation", "private", "sh"])
        .arg(script)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run unshare (util-linux) for {}: {e}",
                script.display()
            )
        });
    let proc = process::Proc::of(child.id()).expect("the daemon just started");
    let daemon = Daemon {
        child,
        proc,
        members: Vec::new(),
        record: base.join(DAEMONS_FILE),
    };
    daemon.append_record(&[proc]);
    daemon
}

impl Daemon {
    fn append_record(&self, procs: &[process::Proc]) {
        let mut text = fs::read_to_string(&self.record).unwrap_or_default();
        for p in procs {
            text.push_str(&format!("{} {}\n", p.pid, p.start));
        }
        write(&self.record, &text, 0o644);
    }

    /// Records the tree's current processes (in the instance dir too): some daemons
    /// (couriertcpd) outlive a killed parent, reparented, where no tree walk finds them.
    pub fn record_tree(&mut self) {
        let members = process::descendants(self.proc.pid);
        self.append_record(&members);
        self.members = members;
    }

    /// Still running (not exited, not a zombie).
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM to the whole tree at once, a bounded wait, SIGKILL for what is left; then the
    /// child is reaped. Never panics.
    pub fn stop(&mut self) {
        if let Some(trouble) = stop_whole_tree(self.proc) {
            eprintln!("tern harness: stop: {trouble}");
        }
        for p in std::mem::take(&mut self.members) {
            if let Some(trouble) = stop_whole_tree(p) {
                eprintln!("tern harness: stop: {trouble}");
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(process::POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIGTERM to `root` and every descendant (checked against pid reuse), a bounded wait,
/// SIGKILL for survivors. For trees whose root does not pass TERM on (a shell starting
/// several daemons, Courier's couriertcpd and its sessions).
pub fn stop_whole_tree(root: process::Proc) -> Option<String> {
    if !root.alive() {
        return None;
    }
    let mut all = process::descendants(root.pid);
    all.push(root);
    let pids = |all: &[process::Proc]| -> Vec<u32> {
        all.iter().filter(|p| p.alive()).map(|p| p.pid).collect()
    };
    process::kill_all(&pids(&all), "TERM");
    let deadline = Instant::now() + STOP_TIMEOUT;
    if process::wait_until(deadline, || {
        // children forked after the listing (a session being set up) go too
        for p in process::descendants(root.pid) {
            if !all.contains(&p) {
                process::kill(p.pid, "TERM");
                all.push(p);
            }
        }
        pids(&all).is_empty()
    }) {
        return None;
    }
    let rest = pids(&all);
    process::kill_all(&rest, "KILL");
    let _ = process::wait_until(Instant::now() + Duration::from_secs(5), || {
        pids(&all).is_empty()
    });
    Some(format!(
        "{rest:?} survived SIGTERM for {STOP_TIMEOUT:?}; sent SIGKILL"
    ))
}

/// For reap_orphans(): stops the daemon trees recorded in a dead test's instance dir.
pub fn reap_recorded(dir: &Path) {
    let Ok(text) = fs::read_to_string(dir.join(DAEMONS_FILE)) else {
        return;
    };
    for line in text.lines() {
        let mut it = line.split_whitespace().map(|w| w.parse::<u64>().ok());
        if let (Some(Some(pid)), Some(Some(start))) = (it.next(), it.next()) {
            let _ = stop_whole_tree(process::Proc {
                pid: pid as u32,
                start,
            });
        }
    }
}

/// Removes (or keeps, with TERN_KEEP_SERVERS) an instance dir.
pub fn finish_dir(dir: Option<tempfile::TempDir>) {
    if let Some(dir) = dir {
        if std::env::var_os("TERN_KEEP_SERVERS").is_some() {
            let _ = fs::write(dir.path().join(KEPT_FILE), "");
            eprintln!("tern harness: kept {}", dir.keep().display());
        } else {
            drop(dir);
        }
    }
}

/// `msg` and the tails of the given logs (paths relative to `base`).
pub fn with_logs(base: &Path, msg: &str, logs: &[&str]) -> String {
    let mut out = format!("{msg}\n(test server dir {})", base.display());
    for name in logs {
        let path = base.join(name);
        if path.exists() {
            out.push_str(&format!(
                "\n===== {} (last 40 lines)\n{}",
                path.display(),
                process::tail(&path, 40)
            ));
        }
    }
    out
}

/// Starts a daemon on `count` free ports: `attempt` gets the ports, writes what depends on
/// them, spawns the daemon and waits until it is ready ([`wait_ready`]). An attempt that
/// fails (most likely a port taken between picking and binding) is stopped and made again on
/// new ports, [`PORT_ATTEMPTS`] times; `Err` is the last attempt's error.
pub fn start_on_free_ports(
    count: usize,
    mut attempt: impl FnMut(&[u16]) -> (Daemon, Result<(), String>),
) -> Result<Daemon, String> {
    let mut last = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let (mut daemon, ready) = attempt(&process::free_ports(count));
        match ready {
            Ok(()) => return Ok(daemon),
            Err(e) => {
                last = e;
                daemon.stop();
            }
        }
    }
    Err(last)
}

/// Polls until every `(port, prefix)` greets with `prefix` and every port in `accepting`
/// accepts, or the daemon dies, or the deadline passes. `Err` says what was missing.
pub fn wait_ready(
    daemon: &mut Daemon,
    greetings: &[(u16, &str)],
    accepting: &[u16],
    files: &[PathBuf],
) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut last = String::new();
    let mut died = false;
    let ok = process::wait_until(deadline, || {
        if !daemon.running() {
            died = true;
            return true;
        }
        for f in files {
            if !f.exists() {
                last = format!("{} missing", f.display());
                return false;
            }
        }
        for (port, prefix) in greetings {
            match process::greeting(*port) {
                Some(g) if g.starts_with(prefix) => {}
                other => {
                    last = format!("port {port} greeting {other:?}");
                    return false;
                }
            }
        }
        for port in accepting {
            if !process::accepts(*port) {
                last = format!("port {port} not accepting");
                return false;
            }
        }
        true
    });
    if died {
        Err("the daemon exited".into())
    } else if ok {
        daemon.record_tree();
        Ok(())
    } else {
        Err(format!("not ready within {START_TIMEOUT:?}: {last}"))
    }
}

/// The local part of an address ("alice@example.test" -> "alice").
pub fn local_part(user: &str) -> &str {
    user.split_once('@').map_or(user, |(l, _)| l)
}

/// A tern config (config.toml, mode 0600) for `user` with an IMAP account on `port` with
/// `security`, trusting `ca`, data dir inside `dir`, `extra` TOML appended (e.g. an
/// `[account.folders]` or `[account.smtp]` table). Returns its path.
pub fn write_tern_imap_config(
    dir: &Path,
    user: &super::TestUser,
    security: &str,
    port: u16,
    password: &str,
    ca: &Path,
    extra: &str,
) -> PathBuf {
    write_tern_account_config(dir, user, "imap", security, port, password, ca, extra)
}

/// Like [`write_tern_imap_config`] with a POP3 account (`[account.pop3]`); `extra` (TOML lines
/// such as `leave_on_server = false`) goes into that table.
pub fn write_tern_pop3_config(
    dir: &Path,
    user: &super::TestUser,
    security: &str,
    port: u16,
    password: &str,
    ca: &Path,
    extra: &str,
) -> PathBuf {
    write_tern_account_config(dir, user, "pop3", security, port, password, ca, extra)
}

#[allow(clippy::too_many_arguments)]
fn write_tern_account_config(
    dir: &Path,
    user: &super::TestUser,
    protocol: &str,
    security: &str,
    port: u16,
    password: &str,
    ca: &Path,
    extra: &str,
) -> PathBuf {
    let name = local_part(user.email);
    let text = format!(
        "data_dir = {data:?}\n[[account]]\nname = \"{name}\"\nemail = \"{email}\"\n\
         [account.{protocol}]\nhost = \"{host}\"\nport = {port}\nsecurity = \"{security}\"\n\
         username = \"{email}\"\npassword = \"{password}\"\nca_file = {ca:?}\n{extra}\n",
        data = dir.join("data").display().to_string(),
        email = user.email,
        host = super::HOST,
        ca = ca.display().to_string(),
    );
    let path = dir.join("config.toml");
    fs::write(&path, text).expect("write tern config");
    chmod(&path, 0o600);
    path
}

/// The password of a fixture user ("alice@example.test" or "alice"); panics for others.
pub fn password_of(user: &str) -> &'static str {
    super::USERS
        .iter()
        .find(|u| u.email == user || local_part(u.email) == user)
        .unwrap_or_else(|| panic!("{user:?} is not a fixture user"))
        .password
}

/// `raw` with every bare LF turned into CRLF.
pub fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}
