//! A private Courier-IMAP 5.0 + courier-pop (IMAP with STARTTLS, IMAPS, POP3 with STLS,
//! POP3S) in its own instance dir on free loopback ports. The IMAP/POP3 programs come from
//! the tree tests/install-interop.sh unpacked; couriertcpd, couriertls and authdaemond are
//! the installed courier-base/courier-authlib packages.
//!
//! authdaemond and imaplogin have compiled-in paths (/etc/courier, /run/courier/authdaemon):
//! they run in a private mount namespace where this instance's etc/courier and
//! run/authdaemon are bind-mounted over them; the real ones are never written.
//!
//! Users: alice/bob/sink@example.test (log in with the full address, as with Dovecot) with
//! the fixture passwords, in a userdb owned by the `mail` user (uid 8), Maildir at
//! `mail/<local part>/Maildir`. Namespace `INBOX.`, separator `.`: the role folders are
//! INBOX.Drafts, INBOX.Sent, INBOX.Trash, INBOX.Junk, INBOX.Archive (no SPECIAL-USE). IDLE
//! is a rescan every 2 s. No CONDSTORE, QRESYNC or MOVE; UIDPLUS only if asked for. A
//! failed login costs 5 s (Courier's own delay). New files in a Maildir show up on the next
//! command that rescans (NOOP, SELECT/EXAMINE), not by themselves.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::interop::{self, Daemon};
use super::{TestImap, USERS, imap, mkdir, populate, process, tls, write};

const MAIL_UID: u32 = 8;
const MAIL_GID: u32 = 8;
/// Role folders, without the `INBOX.` prefix.
pub const FOLDERS: [&str; 5] = ["Drafts", "Sent", "Trash", "Junk", "Archive"];
const LOGS: [&str; 2] = ["log/courier.log", "etc/start.sh"];
/// SHA-512 crypt of each fixture password (`openssl passwd -6 -salt terntest <password>`).
const HASHES: [(&str, &str); 3] = [
    (
        "alicepass",
        "$6$terntest$pf19wOXOtj6o6mF6OwnW2nBTewlnBSRFGKskByKVaEAIbpU.fPdAcyxYd7XcEuqeDCFXY7xyIVyiNUdnaEXDi0",
    ),
    (
        "bobpass",
        "$6$terntest$3ZaxV.m6KLltW4IX9Nz6Op70e79IhX.IOia73bMZwl7E96raUj9MwtCqbGe.YfkL5Ek6AS5X0ZV10B0PSXUwy.",
    ),
    (
        "sinkpass",
        "$6$terntest$d8Sp1lzk64E4h.mvrgiZCZSiZ//uru42pc2OK24v0TT3iWp1U7WGVI1dnwE.C1SEPRkSJcK/3jS/13dyacYvN1",
    ),
];
const CAPS: &str =
    "IMAP4rev1 CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE";

/// What to vary between Courier instances.
#[derive(Clone, Copy, Debug)]
pub struct CourierOptions {
    /// Advertise (and so let clients use) UIDPLUS. Debian's default is on.
    pub uidplus: bool,
}

impl Default for CourierOptions {
    fn default() -> Self {
        CourierOptions { uidplus: true }
    }
}

/// One private Courier. Dropping it stops exactly its processes and removes its dir.
pub struct Courier {
    dir: Option<tempfile::TempDir>,
    base: PathBuf,
    daemon: Option<Daemon>,
    options: CourierOptions,
    imap: u16,
    imaps: u16,
    pop3: u16,
    pop3s: u16,
    startup: Duration,
}

impl Courier {
    /// Starts a fresh instance; panics with the logs on failure, with "run tests/run" when
    /// Courier is not installed.
    pub fn start(options: CourierOptions) -> Courier {
        let t0 = Instant::now();
        let imaplogin = interop::tree_path("usr/lib/courier/courier/imaplogin", "courier-imap");
        let imapd = interop::tree_path("usr/bin/imapd", "courier-imap");
        let pop3login =
            interop::tree_path("usr/lib/courier/courier/courierpop3login", "courier-pop");
        let pop3d = interop::tree_path("usr/lib/courier/courier/courierpop3d", "courier-pop");
        let tcpd = interop::system_path("/usr/sbin/couriertcpd", "courier-base");
        let couriertls = interop::system_path("/usr/bin/couriertls", "courier-base");
        let authdaemond = interop::system_path(
            "/usr/lib/courier/courier-authlib/authdaemond",
            "courier-authdaemon",
        );
        let makedat = interop::system_path(
            "/usr/lib/courier/courier-authlib/makedatprog",
            "courier-authlib",
        );
        interop::system_path("/run/courier/authdaemon", "courier-authdaemon");
        interop::system_path("/etc/courier", "courier-authlib");
        let courier_uid = process::uid_of("courier");
        let courier_gid = process::gid_of("courier");

        let (dir, base) = interop::new_instance("courier");
        let mut courier = Courier {
            dir: Some(dir),
            base: base.clone(),
            daemon: None,
            options,
            imap: 0,
            imaps: 0,
            pop3: 0,
            pop3s: 0,
            startup: Duration::ZERO,
        };
        // couriertls runs as `courier` for STARTTLS: it must read key and cert (one file)
        let pem = base.join("etc/tls/courier.pem");
        let pki = interop::pki();
        write(
            &pem,
            &format!("{}{}{}", pki.key_pem, pki.cert_pem, pki.ca_pem),
            0o600,
        );
        interop::own(&pem, courier_uid, courier_gid);
        mkdir(&base.join("etc/courier"), 0o755);
        mkdir(&base.join("run/authdaemon"), 0o750);
        interop::own(&base.join("run/authdaemon"), courier_uid, courier_gid);
        write(
            &base.join("etc/courier/authdaemonrc"),
            "authmodulelist=\"authuserdb\"\ndaemons=2\nauthdaemonvar=/run/courier/authdaemon\n\
             DEBUG_LOGIN=0\nDEFAULTOPTIONS=\"\"\nLOGGEROPTS=\"\"\n",
            0o644,
        );
        mkdir(&base.join("mail"), 0o755);
        interop::own(&base.join("mail"), MAIL_UID, MAIL_GID);
        let (mut userdb, mut shadow) = (String::new(), String::new());
        for user in USERS {
            let home = courier.home(user.email);
            let maildir = home.join("Maildir");
            mkdir(&home, 0o700);
            interop::own(&home, MAIL_UID, MAIL_GID);
            make_maildir(&maildir);
            for f in FOLDERS {
                make_maildir(&maildir.join(format!(".{f}")));
                let marker = maildir.join(format!(".{f}/maildirfolder"));
                write(&marker, "", 0o600);
                interop::own(&marker, MAIL_UID, MAIL_GID);
            }
            userdb.push_str(&format!(
                "{}\tuid={MAIL_UID}|gid={MAIL_GID}|home={}|mail={}\n",
                user.email,
                home.display(),
                maildir.display()
            ));
            let hash = HASHES
                .iter()
                .find(|(p, _)| *p == user.password)
                .map(|(_, h)| *h)
                .expect("a hash for every fixture password");
            shadow.push_str(&format!("{}\tsystempw={hash}\n", user.email));
        }
        for (name, text) in [("userdb", userdb), ("userdbshadow", shadow)] {
            let out = process::run(
                std::process::Command::new(&makedat)
                    .arg("-")
                    .arg(base.join(format!("etc/courier/{name}.tmp")))
                    .arg(base.join(format!("etc/courier/{name}.dat"))),
                Some(format!("{text}.\n").as_bytes()),
                Duration::from_secs(10),
            )
            .unwrap_or_else(|e| panic!("makedatprog: {e}"));
            assert!(out.success, "makedatprog {name}: {}", out.text());
        }

        let b = base.display();
        let started = interop::start_on_free_ports(4, |p| {
            (courier.imap, courier.imaps, courier.pop3, courier.pop3s) = (p[0], p[1], p[2], p[3]);
            let tcpd = format!(
                "{} -address=127.0.0.1 -maxprocs=100 -maxperip=100 -nodnslookup -noidentlookup",
                tcpd.display()
            );
            let tls = format!("{} -server -tcpd", couriertls.display());
            let (il, id, pl, pd) = (
                imaplogin.display(),
                imapd.display(),
                pop3login.display(),
                pop3d.display(),
            );
            let script = format!(
                "# tern interop test instance: generated by tests/harness/courier.rs\n\
                 mount --bind {b}/etc/courier /etc/courier || exit 1\n\
                 mount --bind {b}/run/authdaemon /run/courier/authdaemon || exit 1\n\
                 {auth} &\n\
                 {tcpd} {imap} {il} {id} Maildir &\n\
                 {tcpd} {imaps} {tls} {il} {id} Maildir &\n\
                 {tcpd} {pop3} {pl} {pd} Maildir &\n\
                 {tcpd} {pop3s} {tls} {pl} {pd} Maildir &\n\
                 wait\n",
                auth = authdaemond.display(),
                imap = courier.imap,
                imaps = courier.imaps,
                pop3 = courier.pop3,
                pop3s = courier.pop3s,
            );
            write(&base.join("etc/start.sh"), &script, 0o644);
            let env = courier.env(&pem);
            let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.clone())).collect();
            let mut daemon = interop::spawn_in_namespace(
                &base,
                &base.join("etc/start.sh"),
                &env,
                &base.join("log/courier.log"),
            );
            let ready = interop::wait_ready(
                &mut daemon,
                &[(courier.imap, "* OK"), (courier.pop3, "+OK")],
                &[courier.imaps, courier.pop3s],
                &[base.join("run/authdaemon/socket")],
            );
            (daemon, ready)
        });
        match started {
            Ok(daemon) => courier.daemon = Some(daemon),
            Err(last) => panic!(
                "{}",
                courier.with_logs(&format!("courier did not start: {last}"))
            ),
        }
        courier.startup = t0.elapsed();
        courier
    }

    /// The environment of couriertcpd and so of imaplogin/imapd/pop3login/pop3d (what
    /// Debian's /etc/courier/imapd, imapd-ssl, pop3d, pop3d-ssl would set).
    fn env(&self, pem: &Path) -> Vec<(&'static str, String)> {
        let caps = if self.options.uidplus {
            CAPS.replacen("IMAP4rev1", "IMAP4rev1 UIDPLUS", 1)
        } else {
            CAPS.to_string()
        };
        let pem = pem.display().to_string();
        vec![
            ("IMAP_CAPABILITY_TLS", format!("{caps} AUTH=PLAIN")),
            ("IMAP_CAPABILITY", caps),
            ("IMAP_KEYWORDS", "1".into()),
            ("IMAP_ACL", "1".into()),
            ("IMAP_IDLE_TIMEOUT", "2".into()),
            ("IMAP_ENHANCEDIDLE", "0".into()),
            ("IMAP_STARTTLS", "YES".into()),
            ("IMAP_TLS_REQUIRED", "0".into()),
            ("IMAP_USELOCKS", "1".into()),
            ("IMAP_UMASK", "022".into()),
            ("IMAP_TRASHFOLDERNAME", "Trash".into()),
            ("IMAP_EMPTYTRASH", String::new()),
            ("IMAP_MOVE_EXPUNGE_TO_TRASH", "0".into()),
            ("IMAP_MAILBOX_SANITY_CHECK", "1".into()),
            (
                "IMAP_SHAREDINDEXFILE",
                self.base
                    .join("etc/courier/shared/index")
                    .display()
                    .to_string(),
            ),
            ("POP3AUTH", String::new()),
            ("POP3AUTH_TLS", "LOGIN PLAIN".into()),
            ("POP3_STARTTLS", "YES".into()),
            ("POP3_TLS_REQUIRED", "0".into()),
            ("POP3_PROXY", "0".into()),
            ("COURIERTLS", "/usr/bin/couriertls".into()),
            ("TLS_CERTFILE", pem),
            ("TLS_PROTOCOL", "TLS1_2+".into()),
            ("TLS_STARTTLS_PROTOCOL", "TLS1_2+".into()),
            ("TLS_VERIFYPEER", "NONE".into()),
            // a cache in a root-owned dir breaks STARTTLS (couriertls runs as courier)
            ("TLS_CACHEFILE", String::new()),
            ("MAILDIRPATH", "Maildir".into()),
        ]
    }

    /// Stops Courier (SIGTERM to the whole tree, bounded). Mail stays.
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
    pub fn options(&self) -> CourierOptions {
        self.options
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
    pub fn tls_client_config(&self) -> Arc<rustls::ClientConfig> {
        tls::client_config(tls::roots_with(self.ca_der()))
    }
    /// Where every user's Maildirs live: `<this>/<local part>/Maildir` (what Exim writes to).
    pub fn mail_root(&self) -> PathBuf {
        self.base.join("mail")
    }
    /// A user's home (`mail/<local part>`); the Maildir is `<home>/Maildir`.
    pub fn home(&self, user: &str) -> PathBuf {
        self.mail_root().join(interop::local_part(user))
    }
    /// The IMAP name of a folder: "INBOX" stays, "Archive" is "INBOX.Archive", "A/B" is
    /// "INBOX.A.B".
    pub fn folder_wire_name(&self, folder: &str) -> String {
        if folder.eq_ignore_ascii_case("INBOX") {
            "INBOX".into()
        } else {
            format!("INBOX.{}", folder.replace('/', "."))
        }
    }

    pub fn with_logs(&self, msg: &str) -> String {
        interop::with_logs(&self.base, msg, &LOGS)
    }

    /// A logged-in [`TestImap`] for `user` on the plain port (Courier allows LOGIN there).
    pub fn imap(&self, user: &str) -> TestImap {
        TestImap::connect(self.imap, user, interop::password_of(user))
            .unwrap_or_else(|e| panic!("{}", self.with_logs(&format!("IMAP login {user}: {e}"))))
    }

    /// Creates a folder (`folder` as in [`folder_wire_name`](Self::folder_wire_name), e.g.
    /// "Projects"), no error if it exists.
    pub fn create_folder(&self, user: &str, folder: &str) {
        let wire = self.folder_wire_name(folder);
        let mut imap = self.imap(user);
        if let Err(e) = imap.command(&format!("CREATE {}", imap::quote(&wire)))
            && !e.text.to_ascii_lowercase().contains("exists")
        {
            panic!("{}", self.with_logs(&format!("CREATE {wire}: {e}")));
        }
        imap.logout();
    }

    /// Writes `raw` (line ends as given) into `user`'s INBOX Maildir `new/` as uid 8, like a
    /// local delivery agent. Visible to the next IMAP command that rescans (NOOP, SELECT).
    pub fn deliver(&self, user: &str, raw: &[u8]) {
        self.deliver_to(user, "INBOX", raw);
    }

    /// Like [`deliver`](Self::deliver) into `folder` ("INBOX", "Archive", ...), which must
    /// exist.
    pub fn deliver_to(&self, user: &str, folder: &str, raw: &[u8]) {
        let maildir = self.home(user).join("Maildir");
        let dir = if folder.eq_ignore_ascii_case("INBOX") {
            maildir
        } else {
            maildir.join(format!(".{}", folder.replace('/', ".")))
        };
        let date = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let size = interop::crlf(raw).len();
        populate::write_maildir_file(&dir, raw, size, date, "", MAIL_UID, MAIL_GID)
            .unwrap_or_else(|e| panic!("write into {}: {e}", dir.display()));
    }
}

impl Drop for Courier {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{}",
                self.with_logs("tern harness: test panicked; Courier logs follow")
            );
        }
        self.stop();
        interop::finish_dir(self.dir.take());
    }
}

fn make_maildir(dir: &Path) {
    for d in [
        dir.to_path_buf(),
        dir.join("cur"),
        dir.join("new"),
        dir.join("tmp"),
    ] {
        if !d.exists() {
            fs::create_dir_all(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
        }
        interop::chmod(&d, 0o700);
        interop::own(&d, MAIL_UID, MAIL_GID);
    }
}
