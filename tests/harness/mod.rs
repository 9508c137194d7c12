//! Real-server test fixture: a private Dovecot (IMAP, POP3, LMTP) and Postfix (submission,
//! SMTPS, plain MX) per instance, in a fresh temporary directory on free loopback ports, with
//! a CA and server certificate generated per run.
//!
//! Use from an integration test with `mod harness;` and `let servers = MailServers::start();`.
//! Dropping the fixture stops exactly its own processes and removes its directory (also when
//! a test panics). Set `TERN_KEEP_SERVERS=1` to keep the directory for a post-mortem.
//!
//! Needs root and the Debian packages dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd
//! postfix (tests/run installs them). A missing server is a panic, never a skip.
//!
//! Interop fixtures, same rules: [`Cyrus::start`], [`Courier::start`] and [`Exim::start`]
//! (cyrus.rs, courier.rs, exim.rs; installed by tests/install-interop.sh into
//! /opt/tern-interop), and [`ImapServer`] to write a test once for Dovecot, Cyrus and Courier.
#![allow(dead_code)]

pub mod account;
pub mod across;
pub mod autoconfig;
pub mod client;
mod config;
mod courier;
mod cyrus;
pub mod dns;
mod exim;
mod imap;
mod interop;
pub mod keyring;
pub mod oauth;
mod populate;
mod process;
mod servers;
pub mod tern;
mod tls;

use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

// not every test binary uses every re-export
#[allow(unused_imports)]
pub use imap::{ImapError, TestImap, Untagged};
#[allow(unused_imports)]
pub use populate::{GeneratedMessage, Populated, encode_word};
// the interop fixtures: Cyrus IMAP, Courier-IMAP and Exim (tests/install-interop.sh)
#[allow(unused_imports)]
pub use courier::{Courier, CourierOptions};
#[allow(unused_imports)]
pub use cyrus::Cyrus;
#[allow(unused_imports)]
pub use exim::{Exim, EximDelivery};
#[allow(unused_imports)]
pub use servers::{ImapKind, ImapServer};

/// The address every server listens on.
pub const HOST: &str = "127.0.0.1";
/// The name in the server certificate (also valid: 127.0.0.1 and ::1).
pub const TLS_SERVER_NAME: &str = "localhost";
/// The mail domain served by the fixture.
pub const DOMAIN: &str = "example.test";

const DOVECOT: &str = "/usr/sbin/dovecot";
const DOVEADM: &str = "/usr/bin/doveadm";
const POSTFIX: &str = "/usr/sbin/postfix";
const POSTQUEUE: &str = "/usr/sbin/postqueue";
const MISSING: &str = "not installed: run tests/run (it installs the test servers)";

/// Dovecot's log process ("dovecot-<instance>/log") lingers ~1 s after the others on
/// shutdown and the master waits for it; it is sent SIGTERM once the rest is gone.
const DOVECOT_LOG_PROCESS: &str = "/log";
/// Deadline for a server to come up or go down.
const START_TIMEOUT: Duration = Duration::from_secs(20);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline for one doveadm/postfix command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts with fresh ports when a port was taken between picking and binding.
const PORT_ATTEMPTS: usize = 5;

/// The Dovecot mail user (Debian's `mail`, uid/gid 8) owning every mailbox file.
const MAIL_UID: u32 = 8;
const MAIL_GID: u32 = 8;

/// A mail account of the fixture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestUser {
    pub email: &'static str,
    pub password: &'static str,
}

pub const ALICE: TestUser = TestUser {
    email: "alice@example.test",
    password: "alicepass",
};
pub const BOB: TestUser = TestUser {
    email: "bob@example.test",
    password: "bobpass",
};
/// Receives everything sent to a domain other than example.test.
pub const SINK: TestUser = TestUser {
    email: "sink@example.test",
    password: "sinkpass",
};
pub const USERS: [TestUser; 3] = [ALICE, BOB, SINK];

/// The loopback ports of one fixture (all on [`HOST`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// IMAP, plain with STARTTLS.
    pub imap: u16,
    /// IMAP over implicit TLS.
    pub imaps: u16,
    /// POP3, plain with STLS.
    pub pop3: u16,
    /// POP3 over implicit TLS.
    pub pop3s: u16,
    /// SMTP submission, STARTTLS required before AUTH.
    pub submission: u16,
    /// SMTP submission over implicit TLS.
    pub smtps: u16,
    /// Plain SMTP (MX role): accepts mail for example.test without AUTH.
    pub smtp: u16,
    /// SMTP submission with no TLS at all (STARTTLS not offered): for clients that must
    /// refuse it.
    pub submission_plain: u16,
}

impl Ports {
    fn pick_dovecot(&mut self) {
        let p = process::free_ports(4);
        (self.imap, self.imaps, self.pop3, self.pop3s) = (p[0], p[1], p[2], p[3]);
    }
    fn pick_postfix(&mut self) {
        let p = process::free_ports(4);
        (
            self.submission,
            self.smtps,
            self.smtp,
            self.submission_plain,
        ) = (p[0], p[1], p[2], p[3]);
    }
}

/// One private Dovecot + Postfix. See the module docs.
pub struct MailServers {
    /// `None` once dropped or when kept.
    dir: Option<tempfile::TempDir>,
    base: PathBuf,
    instance: String,
    ports: Ports,
    ca_pem: Vec<u8>,
    ca_der: Vec<u8>,
    startup: Duration,
    /// dovecot-oauth2.conf.ext: Dovecot also takes OAuth2 tokens (XOAUTH2, OAUTHBEARER),
    /// checked against this authorization server.
    oauth2: Option<String>,
}

/// In each instance dir: "<pid> <starttime>" of the test process that owns it.
const OWNER_FILE: &str = "harness-owner";
/// In a dir kept with TERN_KEEP_SERVERS: never reaped.
const KEPT_FILE: &str = "kept";

/// Cleans up after test processes that died without running Drop (aborted, killed by a
/// timeout): for every /tmp/tern-* instance dir whose owner process is gone (and that was not
/// kept on purpose), stops its Dovecot and Postfix (identified by their pid files, checked
/// against the dir) and removes the dir. Dirs of live test processes are never touched.
fn reap_orphans() {
    let roots = [
        PathBuf::from("/tmp"),
        PathBuf::from("/dev/shm"),
        instance_root(),
    ];
    let entries = roots
        .iter()
        .enumerate()
        .filter(|(i, r)| !roots[..*i].contains(r))
        .filter_map(|(_, r)| fs::read_dir(r).ok())
        .flatten();
    for entry in entries.flatten() {
        let dir = entry.path();
        let is_instance = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with("tern-"));
        if !is_instance || dir.join(KEPT_FILE).exists() {
            continue;
        }
        let Ok(owner) = fs::read_to_string(dir.join(OWNER_FILE)) else {
            continue;
        };
        let mut it = owner.split_whitespace().map(|w| w.parse::<u64>().ok());
        let (Some(Some(pid)), Some(Some(start))) = (it.next(), it.next()) else {
            continue;
        };
        let owner = process::Proc {
            pid: pid as u32,
            start,
        };
        if owner.alive() {
            continue;
        }
        interop::reap_recorded(&dir);
        if let Some(pid) = process::read_pid(&dir.join("postfix/spool/pid/master.pid"))
            && process::environ_var(pid, "MAIL_CONFIG")
                .is_some_and(|c| Path::new(&c) == dir.join("etc/postfix"))
        {
            process::stop_tree(pid, STOP_TIMEOUT, None);
        }
        if let Some(pid) = process::read_pid(&dir.join("run/master.pid"))
            && process::cmdline(pid).contains(&format!("{}/", dir.display()))
        {
            process::stop_tree(pid, STOP_TIMEOUT, Some(DOVECOT_LOG_PROCESS));
        }
        if fs::remove_dir_all(&dir).is_ok() {
            eprintln!(
                "tern harness: cleaned up {} left by dead test process {}",
                dir.display(),
                owner.pid
            );
        }
    }
}

/// Where instance dirs go: `$TERN_TEST_ROOT` if set, else /dev/shm when it is a tmpfs with at
/// least 2 GiB free (file creation on this VM's /tmp costs ~1 ms per file, on tmpfs ~10 us:
/// it makes populate() and every fsync in Dovecot/Postfix much faster), else /tmp.
pub fn instance_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        if let Some(root) = std::env::var_os("TERN_TEST_ROOT") {
            return PathBuf::from(root);
        }
        let shm = Path::new("/dev/shm");
        let big_enough = shm.is_dir()
            && process::run(
                Command::new("df").args(["-Pk", "/dev/shm"]),
                None,
                Duration::from_secs(5),
            )
            .ok()
            .and_then(|out| {
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                // "Filesystem 1024-blocks Used Available Capacity Mounted on"
                text.lines()
                    .nth(1)?
                    .split_whitespace()
                    .nth(3)?
                    .parse::<u64>()
                    .ok()
            })
            .is_some_and(|kib| kib >= 2 * 1024 * 1024);
        if big_enough {
            shm.to_path_buf()
        } else {
            PathBuf::from("/tmp")
        }
    })
    .clone()
}

/// Failure text for a start problem: the message plus the tails of the logs.
fn with_logs(base: &Path, msg: &str) -> String {
    interop::with_logs(
        base,
        msg,
        &[
            "log/dovecot.log",
            "log/dovecot.stderr",
            "log/postfix.log",
            "log/postfix.stderr",
        ],
    )
}

fn mkdir(path: &Path, mode: u32) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn write(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The part of a log written after `offset`.
fn log_since(path: &Path, offset: u64) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    let start = (offset as usize).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

impl MailServers {
    /// Creates a fresh instance and starts both servers. Panics (with the server logs) if
    /// anything fails; panics with "... not installed: run tests/run ..." if a server
    /// binary is missing.
    pub fn start() -> MailServers {
        Self::start_with(None)
    }

    /// [`start`](Self::start), with Dovecot (and through it Postfix's SMTP AUTH) also taking
    /// OAuth2 tokens that `auth` validates by introspection.
    pub fn start_with_oauth2(auth: &oauth::AuthServer) -> MailServers {
        Self::start_with(Some(auth.dovecot_conf()))
    }

    fn start_with(oauth2: Option<String>) -> MailServers {
        let t0 = Instant::now();
        for (bin, what) in [
            (DOVECOT, "dovecot"),
            (DOVEADM, "dovecot (doveadm)"),
            (POSTFIX, "postfix"),
            ("/usr/lib/dovecot/lmtp", "dovecot-lmtpd"),
            ("/usr/lib/dovecot/imap", "dovecot-imapd"),
            ("/usr/lib/dovecot/pop3", "dovecot-pop3d"),
        ] {
            assert!(
                Path::new(bin).exists(),
                "{what} {MISSING} ({bin} is absent)"
            );
        }
        let (dir, base) = interop::instance_dir(
            "tern-",
            "the mail server fixture must run as root (Dovecot and Postfix switch users)",
        );
        // the temp dir's random suffix is unique among live instances
        let instance = format!(
            "tern-{}",
            base.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("x")
                .trim_start_matches("tern-")
        );
        let pki = tls::generate(&instance);
        let mut servers = MailServers {
            dir: Some(dir),
            base,
            instance,
            ports: Ports {
                imap: 0,
                imaps: 0,
                pop3: 0,
                pop3s: 0,
                submission: 0,
                smtps: 0,
                smtp: 0,
                submission_plain: 0,
            },
            ca_pem: pki.ca_pem.clone().into_bytes(),
            ca_der: pki.ca_der.clone(),
            startup: Duration::ZERO,
            oauth2,
        };
        // from here on, a panic drops `servers`, which stops whatever already runs
        servers.prepare(&pki);
        servers.first_start_dovecot();
        servers.first_start_postfix();
        servers.startup = t0.elapsed();
        servers
    }

    /// Directory layout and the files that never change with the ports.
    fn prepare(&self, pki: &tls::Pki) {
        let b = &self.base;
        for (d, mode) in [
            ("etc", 0o755),
            ("etc/tls", 0o755),
            ("etc/postfix", 0o755),
            ("log", 0o755),
            ("state", 0o750),
            ("mail", 0o755),
            ("postfix", 0o755),
            // queue_directory: root-owned like /var/spool/postfix; `postfix start` (its
            // check-fatal step, post-install create-missing) creates the queues inside
            ("postfix/spool", 0o755),
            ("postfix/data", 0o700),
        ] {
            mkdir(&b.join(d), mode);
        }
        chown(b.join("mail"), Some(MAIL_UID), Some(MAIL_GID)).expect("chown mail dir to uid 8");
        chown(
            b.join("postfix/data"),
            Some(process::uid_of("postfix")),
            Some(process::gid_of("postfix")),
        )
        .expect("chown postfix data_directory");
        write(&b.join("etc/tls/ca.pem"), &pki.ca_pem, 0o644);
        // chain: leaf then CA (clients trust the CA; the chain is for tools like openssl)
        write(
            &b.join("etc/tls/cert.pem"),
            &format!("{}{}", pki.cert_pem, pki.ca_pem),
            0o644,
        );
        write(&b.join("etc/tls/key.pem"), &pki.key_pem, 0o600);
        write(&b.join("etc/users"), &config::dovecot_users(), 0o644);
        write(
            &b.join("etc/postfix/main.cf"),
            &config::postfix_main_cf(b, &self.instance),
            0o644,
        );
        write(
            &b.join("etc/postfix/vmailbox"),
            &config::postfix_vmailbox(),
            0o644,
        );
        write(
            &b.join("etc/postfix/sink.regexp"),
            &config::postfix_sink_regexp(),
            0o644,
        );
    }

    fn write_dovecot_conf(&self) {
        let mut conf = config::dovecot_conf(&self.base, &self.instance, &self.ports);
        if let Some(oauth2) = &self.oauth2 {
            let ext = self.base.join("etc/dovecot-oauth2.conf.ext");
            write(&ext, oauth2, 0o644);
            conf += &config::dovecot_oauth2(&ext);
        }
        write(&self.dovecot_conf(), &conf, 0o644);
    }

    fn write_postfix_master_cf(&self) {
        let dir = self.postfix_conf_dir();
        write(
            &dir.join("master.cf"),
            &config::postfix_master_cf(&self.instance, &self.ports),
            0o644,
        );
        // Postfix programs sleep 1-2 s when main.cf looks freshly edited: backdate all of it
        let past = SystemTime::now() - Duration::from_secs(10);
        for entry in fs::read_dir(&dir).expect("read postfix conf dir").flatten() {
            if let Ok(f) = fs::File::options().write(true).open(entry.path()) {
                let _ = f.set_modified(past);
            }
        }
    }

    fn first_start_dovecot(&mut self) {
        let log = self.dovecot_log_path();
        let err = self.base.join("log/dovecot.stderr");
        for attempt in 1..=PORT_ATTEMPTS {
            self.ports.pick_dovecot();
            self.write_dovecot_conf();
            let (o1, o2) = (file_len(&log), file_len(&err));
            match self.try_start_dovecot() {
                Ok(()) => return,
                Err(e) => {
                    let new = log_since(&log, o1) + &log_since(&err, o2);
                    if attempt < PORT_ATTEMPTS && new.contains("in use") {
                        self.stop_dovecot();
                        continue;
                    }
                    panic!("{}", self.with_logs(&format!("dovecot did not start: {e}")));
                }
            }
        }
    }

    fn first_start_postfix(&mut self) {
        let log = self.postfix_log_path();
        let err = self.base.join("log/postfix.stderr");
        for attempt in 1..=PORT_ATTEMPTS {
            self.ports.pick_postfix();
            self.write_postfix_master_cf();
            let (o1, o2) = (file_len(&log), file_len(&err));
            match self.try_start_postfix() {
                Ok(()) => return,
                Err(e) => {
                    let new = log_since(&log, o1) + &log_since(&err, o2);
                    if attempt < PORT_ATTEMPTS && new.contains("in use") {
                        self.stop_postfix();
                        continue;
                    }
                    panic!("{}", self.with_logs(&format!("postfix did not start: {e}")));
                }
            }
        }
    }

    fn try_start_dovecot(&self) -> Result<(), String> {
        let ok = process::run_daemon_starter(
            Command::new(DOVECOT).arg("-c").arg(self.dovecot_conf()),
            &self.base.join("log/dovecot.stderr"),
            START_TIMEOUT,
        )?;
        if !ok {
            return Err("`dovecot -c ...` exited with an error".into());
        }
        let deadline = Instant::now() + START_TIMEOUT;
        let pid_file = self.base.join("run/master.pid");
        let mut last = String::new();
        let ready = process::wait_until(deadline, || {
            let Some(pid) = process::read_pid(&pid_file) else {
                last = "no master.pid yet".into();
                return false;
            };
            if !process::alive(pid) {
                last = format!("master pid {pid} is gone");
                return true; // give up early; checked below
            }
            for sock in ["lmtp", "auth-postfix"] {
                if !self.base.join("run").join(sock).exists() {
                    last = format!("socket run/{sock} missing");
                    return false;
                }
            }
            for (port, prefix) in [(self.ports.imap, "* OK"), (self.ports.pop3, "+OK")] {
                match process::greeting(port) {
                    Some(g) if g.starts_with(prefix) => {}
                    other => {
                        last = format!("port {port} greeting {other:?}");
                        return false;
                    }
                }
            }
            for port in [self.ports.imaps, self.ports.pop3s] {
                if !process::accepts(port) {
                    last = format!("port {port} not accepting");
                    return false;
                }
            }
            last.clear();
            true
        });
        if ready && last.is_empty() {
            Ok(())
        } else {
            Err(format!("not ready within {START_TIMEOUT:?}: {last}"))
        }
    }

    fn try_start_postfix(&self) -> Result<(), String> {
        let ok = process::run_daemon_starter(
            Command::new(POSTFIX)
                .arg("-c")
                .arg(self.postfix_conf_dir())
                .arg("start"),
            &self.base.join("log/postfix.stderr"),
            START_TIMEOUT,
        )?;
        if !ok {
            return Err("`postfix -c ... start` exited with an error".into());
        }
        let deadline = Instant::now() + START_TIMEOUT;
        let mut last = String::new();
        let ready = process::wait_until(deadline, || {
            match self.postfix_pid() {
                Some(pid) if process::alive(pid) => {}
                _ => {
                    last = "postfix master not running".into();
                    return false;
                }
            }
            for port in [
                self.ports.submission,
                self.ports.smtp,
                self.ports.submission_plain,
            ] {
                match process::greeting(port) {
                    Some(g) if g.starts_with("220") => {}
                    other => {
                        last = format!("port {port} greeting {other:?}");
                        return false;
                    }
                }
            }
            if !process::accepts(self.ports.smtps) {
                last = format!("port {} not accepting", self.ports.smtps);
                return false;
            }
            last.clear();
            true
        });
        if ready {
            Ok(())
        } else {
            Err(format!("not ready within {START_TIMEOUT:?}: {last}"))
        }
    }

    // ----- lifecycle for offline tests -------------------------------------------------

    /// Stops Dovecot (SIGTERM to its master, bounded wait for the whole process tree, SIGKILL
    /// as a last resort). Mail data stays. No-op if it is not running.
    pub fn stop_dovecot(&self) {
        if let Some(pid) = self.dovecot_pid()
            && let Some(trouble) = process::stop_tree(pid, STOP_TIMEOUT, Some(DOVECOT_LOG_PROCESS))
        {
            eprintln!("tern harness: dovecot stop: {trouble}");
        }
    }

    /// Kills Dovecot outright (every process, SIGKILL): open client connections drop at once.
    /// Mail data stays; `start_dovecot` brings it back.
    pub fn crash_dovecot(&self) {
        if let Some(pid) = self.dovecot_pid() {
            process::kill_tree(pid);
            // A killed master may linger as a zombie until reaped, and Dovecot refuses to start
            // while its pid file names a live-looking process.
            let _ = fs::remove_file(self.base.join("run/master.pid"));
        }
    }

    /// Starts Dovecot again on the same ports with the same data. Panics with logs on failure.
    pub fn start_dovecot(&self) {
        if self.dovecot_running() {
            return;
        }
        if let Err(e) = self.try_start_dovecot() {
            panic!(
                "{}",
                self.with_logs(&format!("dovecot did not restart: {e}"))
            );
        }
    }

    /// Stops Postfix (SIGTERM to its master, bounded wait, SIGKILL as a last resort; the same
    /// as `postfix stop` without its 1 s sleeps). Queued mail stays. No-op if not running.
    pub fn stop_postfix(&self) {
        if let Some(pid) = self.postfix_pid()
            && let Some(trouble) = process::stop_tree(pid, STOP_TIMEOUT, None)
        {
            eprintln!("tern harness: postfix stop: {trouble}");
        }
    }

    /// Starts Postfix again on the same ports. Panics with logs on failure.
    pub fn start_postfix(&self) {
        if self.postfix_running() {
            return;
        }
        if let Err(e) = self.try_start_postfix() {
            panic!(
                "{}",
                self.with_logs(&format!("postfix did not restart: {e}"))
            );
        }
    }

    pub fn dovecot_running(&self) -> bool {
        self.dovecot_pid().is_some_and(process::alive)
    }

    pub fn postfix_running(&self) -> bool {
        self.postfix_pid().is_some_and(process::alive)
    }

    fn dovecot_pid(&self) -> Option<u32> {
        process::read_pid(&self.base.join("run/master.pid"))
    }

    fn postfix_pid(&self) -> Option<u32> {
        process::read_pid(&self.base.join("postfix/spool/pid/master.pid"))
    }

    // ----- accessors -------------------------------------------------------------------

    /// Always "127.0.0.1".
    pub fn host(&self) -> &'static str {
        HOST
    }
    pub fn ports(&self) -> Ports {
        self.ports
    }
    pub fn imap_port(&self) -> u16 {
        self.ports.imap
    }
    pub fn imaps_port(&self) -> u16 {
        self.ports.imaps
    }
    pub fn pop3_port(&self) -> u16 {
        self.ports.pop3
    }
    pub fn pop3s_port(&self) -> u16 {
        self.ports.pop3s
    }
    pub fn submission_port(&self) -> u16 {
        self.ports.submission
    }
    pub fn smtps_port(&self) -> u16 {
        self.ports.smtps
    }
    /// Plain SMTP (MX role, no AUTH, only example.test recipients).
    /// Submission with no TLS offered (STARTTLS absent from EHLO).
    pub fn submission_plain_port(&self) -> u16 {
        self.ports.submission_plain
    }

    pub fn smtp_port(&self) -> u16 {
        self.ports.smtp
    }
    /// The instance's private directory (e.g. /dev/shm/tern-AbC123, see [`instance_root`]).
    pub fn base_dir(&self) -> &Path {
        &self.base
    }
    /// Dovecot's instance_name (also used in Postfix's syslog_name).
    pub fn instance_name(&self) -> &str {
        &self.instance
    }
    /// Time [`start`](Self::start) took (both servers, certificates included).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }
    /// Path of the CA certificate (PEM) that clients must trust.
    pub fn ca_pem_path(&self) -> PathBuf {
        self.base.join("etc/tls/ca.pem")
    }
    /// The CA certificate, PEM bytes.
    pub fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }
    /// The CA certificate, DER bytes.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }
    pub fn users(&self) -> &'static [TestUser] {
        &USERS
    }
    /// Password of a fixture user; panics for an unknown user.
    pub fn password(&self, user: &str) -> &'static str {
        USERS
            .iter()
            .find(|u| u.email == user)
            .unwrap_or_else(|| panic!("{user:?} is not a fixture user ({USERS:?})"))
            .password
    }
    pub fn dovecot_conf(&self) -> PathBuf {
        self.base.join("etc/dovecot.conf")
    }
    pub fn postfix_conf_dir(&self) -> PathBuf {
        self.base.join("etc/postfix")
    }
    pub fn dovecot_log_path(&self) -> PathBuf {
        self.base.join("log/dovecot.log")
    }
    pub fn postfix_log_path(&self) -> PathBuf {
        self.base.join("log/postfix.log")
    }
    /// Root of a user's mail (the Maildir is `<this>/Maildir`).
    pub fn mail_home(&self, user: &str) -> PathBuf {
        let (local, domain) = user.split_once('@').unwrap_or((user, DOMAIN));
        self.base.join("mail").join(domain).join(local)
    }

    /// `msg` followed by the tails of all server logs: use it in `panic!`/`expect` messages.
    pub fn with_logs(&self, msg: &str) -> String {
        with_logs(&self.base, msg)
    }

    /// Full text of both logs (Dovecot then Postfix).
    pub fn logs(&self) -> String {
        let read = |p: PathBuf| fs::read_to_string(&p).unwrap_or_default();
        format!(
            "===== dovecot.log\n{}\n===== postfix.log\n{}",
            read(self.dovecot_log_path()),
            read(self.postfix_log_path())
        )
    }

    // ----- TLS for clients ---------------------------------------------------------------

    /// rustls client config (ring provider) trusting only this fixture's CA.
    pub fn tls_client_config(&self) -> Arc<rustls::ClientConfig> {
        tls::client_config(tls::roots_with(&self.ca_der))
    }

    /// A rustls client config that trusts nothing (for negative tests).
    pub fn untrusting_tls_client_config() -> Arc<rustls::ClientConfig> {
        tls::client_config(rustls::RootCertStore::empty())
    }

    /// tokio-rustls connector trusting only this fixture's CA.
    pub fn tls_connector(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(self.tls_client_config())
    }

    /// lettre TLS parameters for server name "localhost" trusting only this fixture's CA.
    pub fn lettre_tls(&self) -> lettre::transport::smtp::client::TlsParameters {
        use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};
        TlsParameters::builder(TLS_SERVER_NAME.into())
            .certificate_store(CertificateStore::None)
            .add_root_certificate(Certificate::from_pem(&self.ca_pem).expect("CA PEM for lettre"))
            .build_rustls()
            .expect("lettre TLS parameters")
    }

    // ----- doveadm / postfix tools ------------------------------------------------------

    /// Runs `doveadm -c <conf> <args>`; returns stdout. Panics with logs on failure.
    pub fn doveadm(&self, args: &[&str]) -> String {
        self.doveadm_input(args, None)
    }

    fn doveadm_input(&self, args: &[&str], input: Option<&[u8]>) -> String {
        match self.try_doveadm(args, input) {
            Ok(out) => out,
            Err(e) => panic!("{}", self.with_logs(&e)),
        }
    }

    /// Runs `doveadm -c <conf> <args>`; `Err` with the output on a non-zero exit.
    pub fn try_doveadm(&self, args: &[&str], input: Option<&[u8]>) -> Result<String, String> {
        let out = process::run(
            Command::new(DOVEADM)
                .arg("-c")
                .arg(self.dovecot_conf())
                .args(args),
            input,
            COMMAND_TIMEOUT,
        )?;
        if out.success {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("doveadm {args:?} failed: {}", out.text()))
        }
    }

    /// Creates a mailbox for `user` (no error if it exists).
    pub fn create_mailbox(&self, user: &str, mailbox: &str) {
        if let Err(e) = self.try_doveadm(&["mailbox", "create", "-u", user, mailbox], None)
            && !e.contains("already exists")
        {
            panic!("{}", self.with_logs(&e));
        }
    }

    /// Stores `raw` into `user`'s INBOX exactly as given (`doveadm save`: no headers added,
    /// line ends untouched; good for malformed fixtures too).
    pub fn deliver(&self, user: &str, raw: &[u8]) {
        self.deliver_to(user, "INBOX", raw);
    }

    /// Stores `raw` into `user`'s `mailbox` (which must exist, see
    /// [`create_mailbox`](Self::create_mailbox)) exactly as given.
    pub fn deliver_to(&self, user: &str, mailbox: &str, raw: &[u8]) {
        self.doveadm_input(&["save", "-u", user, "-m", mailbox], Some(raw));
    }

    /// `postqueue -p` output of this instance's Postfix.
    pub fn mail_queue(&self) -> String {
        let out = process::run(
            Command::new(POSTQUEUE)
                .arg("-c")
                .arg(self.postfix_conf_dir())
                .arg("-p"),
            None,
            COMMAND_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("{}", self.with_logs(&e)));
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// True when Postfix's queue holds nothing (everything delivered or bounced).
    pub fn queue_is_empty(&self) -> bool {
        self.mail_queue().contains("Mail queue is empty")
    }

    // ----- reading mail back -------------------------------------------------------------

    /// A logged-in [`TestImap`] for `user` over the plain IMAP port.
    /// Write a tern config for `user` (account name = the user's local part, IMAP on `port`
    /// with `security`, trusting the run's CA, data dir inside `dir`), mode 0600. Returns its path.
    pub fn write_tern_config(
        &self,
        dir: &Path,
        user: &TestUser,
        security: &str,
        port: u16,
        password: &str,
    ) -> PathBuf {
        self.write_tern_config_with(dir, user, security, port, password, "")
    }

    /// Like `write_tern_config`, with `account_keys` (TOML lines) added to the account table.
    pub fn write_tern_config_with(
        &self,
        dir: &Path,
        user: &TestUser,
        security: &str,
        port: u16,
        password: &str,
        account_keys: &str,
    ) -> PathBuf {
        let name = user.email.split('@').next().unwrap_or("user");
        let text = format!(
            "data_dir = {data:?}\n[[account]]\nname = \"{name}\"\nemail = \"{email}\"\n\
             {account_keys}\n[account.imap]\nhost = \"{HOST}\"\nport = {port}\nsecurity = \"{security}\"\n\
             username = \"{email}\"\npassword = \"{password}\"\nca_file = {ca:?}\n",
            data = dir.join("data").display().to_string(),
            email = user.email,
            ca = self.ca_pem_path().display().to_string(),
        );
        let path = dir.join("config.toml");
        fs::write(&path, text).expect("write tern config");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod tern config");
        path
    }

    /// Write a tern config for `user` with a POP3 account (name = the user's local part, on
    /// `port` with `security`, trusting the run's CA, data dir inside `dir`), `pop3_keys` (TOML
    /// lines) added to its `[account.pop3]` table, mode 0600. Returns its path.
    pub fn write_tern_pop3_config(
        &self,
        dir: &Path,
        user: &TestUser,
        security: &str,
        port: u16,
        password: &str,
        pop3_keys: &str,
    ) -> PathBuf {
        interop::write_tern_pop3_config(
            dir,
            user,
            security,
            port,
            password,
            &self.ca_pem_path(),
            pop3_keys,
        )
    }

    /// Add keys to the `[account.imap]` section of a config written by `write_tern_config*`.
    pub fn add_imap_keys(path: &Path, keys: &str) {
        let text = fs::read_to_string(path)
            .expect("read tern config")
            .replace("[account.imap]\n", &format!("[account.imap]\n{keys}\n"));
        fs::write(path, text).expect("write tern config");
    }

    pub fn imap(&self, user: &str) -> TestImap {
        TestImap::connect(self.ports.imap, user, self.password(user))
            .unwrap_or_else(|e| panic!("{}", self.with_logs(&format!("IMAP login {user}: {e}"))))
    }

    /// Polls (bounded by `timeout`) until `user`'s `mailbox` holds a message whose Subject
    /// contains `subject` (ASCII); returns its UID. Panics with logs on timeout.
    pub fn wait_for_subject(
        &self,
        user: &str,
        mailbox: &str,
        subject: &str,
        timeout: Duration,
    ) -> u32 {
        let mut imap = self.imap(user);
        let criteria = format!("SUBJECT {}", imap::quote(subject));
        let deadline = Instant::now() + timeout;
        let mut found = None;
        process::wait_until(deadline, || {
            found = imap.search(mailbox, &criteria).first().copied();
            found.is_some()
        });
        found.unwrap_or_else(|| {
            panic!(
                "{}",
                self.with_logs(&format!(
                    "no message with subject {subject:?} in {user}/{mailbox} after {timeout:?}"
                ))
            )
        })
    }

    /// Polls (bounded) until `user`'s `mailbox` holds at least `count` messages; returns the
    /// UIDs. Panics with logs on timeout.
    pub fn wait_for_count(
        &self,
        user: &str,
        mailbox: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<u32> {
        let mut imap = self.imap(user);
        let deadline = Instant::now() + timeout;
        let mut uids = Vec::new();
        process::wait_until(deadline, || {
            uids = imap.uids(mailbox);
            uids.len() >= count
        });
        if uids.len() < count {
            panic!(
                "{}",
                self.with_logs(&format!(
                    "{user}/{mailbox} has {} messages after {timeout:?}, expected {count}",
                    uids.len()
                ))
            );
        }
        uids
    }

    // ----- bulk population -------------------------------------------------------------------

    /// Writes `n` varied messages (deterministic for a `seed`) straight into the Maildir of
    /// `user`'s `mailbox` (created if missing), then lets Dovecot index them. Senders,
    /// subjects, dates (increasing with the index, so UID order = date order), sizes, flags
    /// (\Seen ~70%, \Flagged ~10%, \Answered ~12%), threads (~20% replies), multipart
    /// alternative/mixed with attachments and non-ASCII content all vary.
    pub fn populate(&self, user: &str, mailbox: &str, n: usize, seed: u64) -> Populated {
        let t0 = Instant::now();
        if mailbox.eq_ignore_ascii_case("INBOX") {
            // makes sure the Maildir exists
            self.doveadm(&["mailbox", "status", "-u", user, "messages", "INBOX"]);
        } else {
            self.create_mailbox(user, mailbox);
        }
        let dir = PathBuf::from(
            self.doveadm(&["mailbox", "path", "-u", user, mailbox])
                .trim()
                .to_string(),
        );
        for sub in ["cur", "new", "tmp"] {
            let d = dir.join(sub);
            if !d.exists() {
                mkdir(&d, 0o700);
                chown(&d, Some(MAIL_UID), Some(MAIL_GID)).expect("chown maildir");
            }
        }
        let mut rng = populate::Rng::new(seed);
        // dates end at 2026-01-01, on average 37 minutes apart
        let mut date: i64 = 1_767_225_600 - (n as i64) * 37 * 60;
        let mut messages: Vec<populate::GeneratedMessage> = Vec::with_capacity(n);
        for i in 0..n {
            date += 60 + rng.below(72 * 60) as i64;
            let (raw, meta) = populate::generate(&mut rng, seed, i, date, user, &messages);
            populate::write_maildir_file(
                &dir,
                &raw,
                meta.imap_size,
                date,
                &meta.maildir_flags,
                MAIL_UID,
                MAIL_GID,
            )
            .unwrap_or_else(|e| panic!("writing message {i} into {}: {e}", dir.display()));
            messages.push(meta);
        }
        let write_time = t0.elapsed();
        let t1 = Instant::now();
        let status = self.doveadm(&["mailbox", "status", "-u", user, "messages", mailbox]);
        let index_time = t1.elapsed();
        let _ = status;
        Populated {
            count: messages.len(),
            messages,
            write_time,
            index_time,
        }
    }
}

impl Drop for MailServers {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{}",
                with_logs(
                    &self.base,
                    "tern harness: test panicked; server logs follow"
                )
            );
        }
        // Postfix first (it delivers into Dovecot), then Dovecot. Never panics.
        self.stop_postfix();
        self.stop_dovecot();
        if let Some(dir) = self.dir.take() {
            if std::env::var_os("TERN_KEEP_SERVERS").is_some() {
                let _ = fs::write(dir.path().join(KEPT_FILE), "");
                eprintln!("tern harness: kept {}", dir.keep().display());
            } else {
                drop(dir); // removes the directory
            }
        }
    }
}
