//! A private Cyrus IMAP 3.6 (IMAP with STARTTLS, IMAPS, POP3 with STLS, POP3S, LMTP on a unix
//! socket) in its own instance dir on free loopback ports, run from the tree that
//! tests/install-interop.sh unpacked (`/opt/tern-interop/root`).
//!
//! Users: alice/bob/sink@example.test with the fixture passwords, in a private sasldb. The
//! sasldb realm, `servername` and `defaultdomain` are all `example.test` and `virtdomains`
//! is `userid`, so both `alice@example.test` (as in the Dovecot fixture) and plain `alice`
//! log in as the same user. Folders: INBOX plus Drafts, Sent, Trash, Junk, Archive (top level,
//! `altnamespace`, separator `/`), created at start and given their SPECIAL-USE flags with
//! SETMETADATA. Plain-text LOGIN is allowed on the plain port (`allowplaintext`) so the
//! harness's TestImap can read mail back without TLS; clients under test should use TLS.
//!
//! Cyrus logs only to syslog (there is none here): failures show master's stderr and the
//! config instead.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::interop::{self, Daemon};
use super::{TestImap, USERS, imap, mkdir, process, tls, write};

const MAIL_UID: u32 = 8;
const MAIL_GID: u32 = 8;
/// The role folders every user gets, with their SPECIAL-USE flag.
pub const FOLDERS: [(&str, &str); 5] = [
    ("Drafts", "\\Drafts"),
    ("Sent", "\\Sent"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
];
const LOGS: [&str; 2] = ["log/master.log", "etc/cyrus.conf"];

/// One private Cyrus. Dropping it stops exactly its processes and removes its dir.
pub struct Cyrus {
    dir: Option<tempfile::TempDir>,
    base: PathBuf,
    daemon: Option<Daemon>,
    imap: u16,
    imaps: u16,
    pop3: u16,
    pop3s: u16,
    startup: Duration,
}

impl Cyrus {
    /// Starts a fresh instance; panics with the logs on failure, with "run tests/run" when
    /// Cyrus is not installed.
    pub fn start() -> Cyrus {
        let t0 = Instant::now();
        let bin = interop::tree_path("usr/lib/cyrus/bin/master", "cyrus-imapd");
        for b in ["imapd", "pop3d", "lmtpd", "idled", "ctl_cyrusdb"] {
            interop::tree_path(&format!("usr/lib/cyrus/bin/{b}"), "cyrus-imapd");
        }
        let saslpasswd = interop::system_path("/usr/sbin/saslpasswd2", "sasl2-bin");
        interop::system_path(
            "/usr/lib/x86_64-linux-gnu/sasl2/libsasldb.so",
            "libsasl2-modules-db",
        );
        let (dir, base) = interop::new_instance("cyrus");
        let mut cyrus = Cyrus {
            dir: Some(dir),
            base: base.clone(),
            daemon: None,
            imap: 0,
            imaps: 0,
            pop3: 0,
            pop3s: 0,
            startup: Duration::ZERO,
        };
        let key = base.join("etc/tls/key.pem");
        interop::own(&key, MAIL_UID, MAIL_GID);
        mkdir(&base.join("cyrus"), 0o750);
        for d in ["config", "spool"] {
            mkdir(&base.join("cyrus").join(d), 0o750);
        }
        for d in [
            "db", "socket", "proc", "log", "msg", "sieve", "lock", "quota", "user",
        ] {
            mkdir(&base.join("cyrus/config").join(d), 0o750);
        }
        for user in USERS {
            let out = process::run(
                std::process::Command::new(&saslpasswd)
                    .arg("-f")
                    .arg(base.join("etc/sasldb2"))
                    .args(["-p", "-c", "-u", super::DOMAIN])
                    .arg(interop::local_part(user.email)),
                Some(user.password.as_bytes()),
                Duration::from_secs(10),
            )
            .unwrap_or_else(|e| panic!("saslpasswd2: {e}"));
            assert!(out.success, "saslpasswd2 failed: {}", out.text());
        }
        chown_tree(&base.join("cyrus"));
        interop::own(&base.join("etc/sasldb2"), MAIL_UID, MAIL_GID);
        write(&base.join("etc/imapd.conf"), &imapd_conf(&base), 0o644);

        let started = interop::start_on_free_ports(4, |p| {
            (cyrus.imap, cyrus.imaps, cyrus.pop3, cyrus.pop3s) = (p[0], p[1], p[2], p[3]);
            write(&base.join("etc/cyrus.conf"), &cyrus.cyrus_conf(), 0o644);
            let script = base.join("etc/start.sh");
            write(
                &script,
                &format!(
                    "exec {} -C {b}/etc/imapd.conf -M {b}/etc/cyrus.conf -p {b}/run/master.pid\n",
                    bin.display(),
                    b = base.display()
                ),
                0o644,
            );
            let lib = Path::new(interop::TREE).join("usr/lib/x86_64-linux-gnu");
            let mut daemon = interop::spawn_in_namespace(
                &base,
                &script,
                &[("LD_LIBRARY_PATH", lib.display().to_string())],
                &base.join("log/master.log"),
            );
            let ready = interop::wait_ready(
                &mut daemon,
                &[(cyrus.imap, "* OK"), (cyrus.pop3, "+OK")],
                &[cyrus.imaps, cyrus.pop3s],
                &[cyrus.lmtp_socket()],
            );
            (daemon, ready)
        });
        match started {
            Ok(daemon) => cyrus.daemon = Some(daemon),
            Err(last) => panic!(
                "{}",
                cyrus.with_logs(&format!("cyrus did not start: {last}"))
            ),
        }
        // logging in creates INBOX and the folders (autocreate); then their SPECIAL-USE
        for user in USERS {
            let mut imap = cyrus.imap(user.email);
            for (folder, flag) in FOLDERS {
                imap.ok(&format!(
                    "SETMETADATA {} (/private/specialuse {})",
                    imap::quote(folder),
                    imap::quote(flag)
                ));
            }
            imap.logout();
        }
        cyrus.startup = t0.elapsed();
        cyrus
    }

    fn cyrus_conf(&self) -> String {
        let b = self.base.display();
        let l = Path::new(interop::TREE).join("usr/lib/cyrus/bin");
        let l = l.display();
        let c = format!("-C {b}/etc/imapd.conf");
        format!(
            r#"# tern interop test instance: generated by tests/harness/cyrus.rs
# master passes neither -C nor service_path on: absolute paths and -C everywhere
START {{
  recover cmd="{l}/ctl_cyrusdb {c} -r"
}}
SERVICES {{
  imap cmd="{l}/imapd {c}" listen="127.0.0.1:{imap}" prefork=0
  imaps cmd="{l}/imapd -s {c}" listen="127.0.0.1:{imaps}" prefork=0
  pop3 cmd="{l}/pop3d {c}" listen="127.0.0.1:{pop3}" prefork=0
  pop3s cmd="{l}/pop3d -s {c}" listen="127.0.0.1:{pop3s}" prefork=0
  lmtpunix cmd="{l}/lmtpd -a {c}" listen="{b}/cyrus/config/socket/lmtp" prefork=0
}}
DAEMON {{
  idled cmd="{l}/idled {c}"
}}
"#,
            imap = self.imap,
            imaps = self.imaps,
            pop3 = self.pop3,
            pop3s = self.pop3s,
        )
    }

    /// Stops Cyrus (SIGTERM to its tree, bounded). Mail stays. No-op if stopped.
    pub fn stop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.stop();
        }
    }

    pub fn host(&self) -> &'static str {
        super::HOST
    }
    pub fn imap_port(&self) -> u16 {
        self.imap
    }
    pub fn imaps_port(&self) -> u16 {
        self.imaps
    }
    pub fn pop3_port(&self) -> u16 {
        self.pop3
    }
    pub fn pop3s_port(&self) -> u16 {
        self.pop3s
    }
    /// The LMTP unix socket (what Exim delivers to).
    pub fn lmtp_socket(&self) -> PathBuf {
        self.base.join("cyrus/config/socket/lmtp")
    }
    pub fn base_dir(&self) -> &Path {
        &self.base
    }
    pub fn startup_time(&self) -> Duration {
        self.startup
    }
    pub fn ca_pem_path(&self) -> PathBuf {
        self.base.join("etc/tls/ca.pem")
    }
    pub fn ca_pem(&self) -> &'static [u8] {
        interop::pki().ca_pem.as_bytes()
    }
    pub fn ca_der(&self) -> &'static [u8] {
        &interop::pki().ca_der
    }
    /// rustls client config trusting only the CA.
    pub fn tls_client_config(&self) -> Arc<rustls::ClientConfig> {
        tls::client_config(tls::roots_with(self.ca_der()))
    }
    /// The name a folder has on the wire: the same as Dovecot's ("Archive").
    pub fn folder_wire_name(&self, folder: &str) -> String {
        folder.to_string()
    }

    pub fn with_logs(&self, msg: &str) -> String {
        interop::with_logs(&self.base, msg, &LOGS)
    }

    /// A logged-in [`TestImap`] for `user` on the plain port.
    pub fn imap(&self, user: &str) -> TestImap {
        TestImap::connect(self.imap, user, interop::password_of(user))
            .unwrap_or_else(|e| panic!("{}", self.with_logs(&format!("IMAP login {user}: {e}"))))
    }

    /// Creates a folder for `user` (no error if it exists).
    pub fn create_folder(&self, user: &str, folder: &str) {
        let mut imap = self.imap(user);
        if let Err(e) = imap.command(&format!("CREATE {}", imap::quote(folder)))
            && !e.text.to_ascii_lowercase().contains("exists")
        {
            panic!("{}", self.with_logs(&format!("CREATE {folder}: {e}")));
        }
        imap.logout();
    }

    /// Delivers `raw` into `user`'s INBOX over LMTP (as an MTA would; Cyrus may add a
    /// Return-Path/Received header). LF line ends become CRLF.
    pub fn deliver(&self, user: &str, raw: &[u8]) {
        lmtp_deliver(&self.lmtp_socket(), user, raw)
            .unwrap_or_else(|e| panic!("{}", self.with_logs(&format!("LMTP to {user}: {e}"))));
    }

    /// Stores `raw` in `user`'s `folder` with IMAP APPEND (the folder must exist).
    pub fn deliver_to(&self, user: &str, folder: &str, raw: &[u8]) {
        self.imap(user).append(folder, "", &interop::crlf(raw));
    }
}

impl Drop for Cyrus {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{}",
                self.with_logs("tern harness: test panicked; Cyrus logs follow")
            );
        }
        self.stop();
        interop::finish_dir(self.dir.take());
    }
}

fn chown_tree(dir: &Path) {
    interop::own(dir, MAIL_UID, MAIL_GID);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                chown_tree(&e.path());
            } else {
                interop::own(&e.path(), MAIL_UID, MAIL_GID);
            }
        }
    }
}

fn imapd_conf(base: &Path) -> String {
    let b = base.display();
    let folders = FOLDERS.map(|(f, _)| f).join("|");
    format!(
        r#"# tern interop test instance: generated by tests/harness/cyrus.rs
configdirectory: {b}/cyrus/config
defaultpartition: default
partition-default: {b}/cyrus/spool
# the sasldb realm must equal servername; with virtdomains + defaultdomain, both
# "alice" and "alice@example.test" are the user alice
servername: example.test
virtdomains: userid
defaultdomain: example.test
unixhierarchysep: 1
altnamespace: 1
cyrus_user: mail
cyrus_group: mail
admins: cyrusadmin
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {b}/etc/sasldb2
sasl_mech_list: PLAIN LOGIN
allowplaintext: 1
tls_server_cert: {b}/etc/tls/cert.pem
tls_server_key: {b}/etc/tls/key.pem
autocreate_quota: 0
autocreate_inbox_folders: {folders}
autocreate_subscribe_folders: {folders}
autocreate_post: 1
failedloginpause: 0
imapidlepoll: 1
idlesocket: {b}/cyrus/config/socket/idle
lmtpsocket: {b}/cyrus/config/socket/lmtp
notifysocket: {b}/cyrus/config/socket/notify
syslog_prefix: tern-cyrus
"#
    )
}

/// One LMTP transaction over a unix socket: LHLO, MAIL, RCPT, DATA (dot-stuffed, CRLF).
pub fn lmtp_deliver(socket: &Path, user: &str, raw: &[u8]) -> Result<(), String> {
    let stream = UnixStream::connect(socket).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut w = stream.try_clone().map_err(|e| e.to_string())?;
    let mut r = BufReader::new(stream);
    let reply = |r: &mut BufReader<UnixStream>, want: &str| -> Result<(), String> {
        loop {
            let mut line = String::new();
            r.read_line(&mut line).map_err(|e| e.to_string())?;
            if line.is_empty() {
                return Err("connection closed".into());
            }
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return if line.starts_with(want) {
                    Ok(())
                } else {
                    Err(format!("expected {want}, got {}", line.trim_end()))
                };
            }
        }
    };
    reply(&mut r, "220")?;
    let mut send = |s: &str| w.write_all(s.as_bytes()).map_err(|e| e.to_string());
    send("LHLO localhost\r\n")?;
    reply(&mut r, "250")?;
    send("MAIL FROM:<>\r\n")?;
    reply(&mut r, "250")?;
    let rcpt = if user.contains('@') {
        user.to_string()
    } else {
        format!("{user}@{}", super::DOMAIN)
    };
    send(&format!("RCPT TO:<{rcpt}>\r\n"))?;
    reply(&mut r, "250")?;
    send("DATA\r\n")?;
    reply(&mut r, "354")?;
    let body = interop::crlf(raw);
    let mut data = Vec::with_capacity(body.len() + 16);
    for line in body.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            data.push(b'.');
        }
        data.extend_from_slice(line);
    }
    if !data.ends_with(b"\r\n") {
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    w.write_all(&data).map_err(|e| e.to_string())?;
    reply(&mut r, "250")?;
    let _ = w.write_all(b"QUIT\r\n");
    Ok(())
}
