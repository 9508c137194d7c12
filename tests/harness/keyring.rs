//! A real Secret Service for tests: a private session D-Bus (dbus-daemon) and GNOME Keyring's
//! daemon on it (`--components=secrets`, its login keyring created and unlocked with a
//! password given on standard input), in a temporary directory. Both stop when it is dropped.
//! A missing program fails the test with a message (tests/run installs dbus-daemon, dbus-bin
//! and gnome-keyring): no test passes without the daemon.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SecretService {
    dir: tempfile::TempDir,
    bus: Child,
    daemon: Option<Child>,
    address: String,
}

/// A private session bus listening in `dir` (no service files: nothing is activated on it).
pub fn session_bus(dir: &Path) -> (Child, String) {
    let socket = dir.join("bus");
    let address = format!("unix:path={}", socket.display());
    let config = dir.join("bus.conf");
    std::fs::write(
        &config,
        format!(
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
             \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n\
             <busconfig><type>session</type><listen>{address}</listen>\
             <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
             <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n"
        ),
    )
    .unwrap();
    let mut bus = Command::new("dbus-daemon")
        .args(["--nofork", "--print-address"])
        .arg(format!("--config-file={}", config.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon is needed (tests/run installs dbus-daemon)");
    // It prints its address once it listens (a line, or nothing if it died).
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(bus.stdout.take().expect("piped")),
        &mut line,
    )
    .expect("read the bus address");
    assert!(
        line.starts_with("unix:"),
        "dbus-daemon did not start: {line:?}"
    );
    (bus, address)
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not come within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl SecretService {
    /// Start the bus and the keyring daemon; returns once org.freedesktop.secrets is owned.
    pub fn start() -> SecretService {
        let dir = tempfile::tempdir().unwrap();
        let (bus, address) = session_bus(dir.path());
        let mut s = SecretService {
            bus,
            daemon: None,
            address,
            dir,
        };
        std::fs::create_dir_all(s.home()).unwrap();
        std::fs::create_dir_all(s.runtime_dir()).unwrap();
        let mut daemon = s
            .command("gnome-keyring-daemon")
            .args(["--foreground", "--components=secrets", "--unlock"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "gnome-keyring-daemon is needed for the keyring tests (tests/run installs \
                 gnome-keyring)",
            );
        // The login keyring's own password, then end of input.
        let mut stdin = daemon.stdin.take().unwrap();
        stdin.write_all(b"keyring-test-unlock").unwrap();
        drop(stdin);
        s.daemon = Some(daemon);
        let address = s.address.clone();
        wait_for("org.freedesktop.secrets on the test bus", || {
            Command::new("dbus-send")
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .expect("dbus-send is needed (tests/run installs dbus-bin)")
                .stdout
                .ends_with(b"boolean true\n")
        });
        s
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn runtime_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// A command run against this keyring (its bus, its home and runtime directory).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env_remove("XDG_DATA_HOME");
        c
    }

    /// Every file the keyring daemon wrote (its keyring files), concatenated.
    pub fn files(&self) -> Vec<u8> {
        fn walk(dir: &Path, out: &mut Vec<u8>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if let Ok(bytes) = std::fs::read(&p) {
                    out.extend(bytes);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.home(), &mut out);
        out
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        if let Some(d) = &mut self.daemon {
            let _ = d.kill();
            let _ = d.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}
