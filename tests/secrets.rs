//! No secret in any log, and private files: `tern sync` and `tern send` at `TERN_LOG=trace`
//! against the real Dovecot and Postfix (IMAP login, SMTP AUTH PLAIN over STARTTLS) leave a log
//! that holds neither the password nor its base64 forms (AUTH PLAIN's `\0user\0password`), and
//! the data directory is 0700, the log and the cache 0600 even under a permissive umask.

mod harness;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use harness::{ALICE, BOB, HOST, MailServers};

/// A password only this test uses, so any trace of it in the log is a leak.
const PASSWORD: &str = "s3cret-Horse-Battery-9";

fn b64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn tern(config: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("TERN_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_sync_and_a_send_at_trace_log_no_password_and_leave_private_files() {
    let servers = MailServers::start();
    // The test user's password is changed to one only this test knows.
    let users = servers.base_dir().join("etc/users");
    let text = std::fs::read_to_string(&users).unwrap().replace(
        &format!("{}:{{PLAIN}}{}", ALICE.email, ALICE.password),
        &format!("{}:{{PLAIN}}{PASSWORD}", ALICE.email),
    );
    std::fs::write(&users, text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = servers.ca_pem_path().display().to_string();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n[[account]]\nname = \"alice\"\nemail = \"{email}\"\n\
             [account.imap]\nhost = \"{HOST}\"\nport = {imaps}\nsecurity = \"tls\"\n\
             username = \"{email}\"\npassword = \"{PASSWORD}\"\nca_file = {ca:?}\n\
             [account.smtp]\nhost = \"{HOST}\"\nport = {sub}\nsecurity = \"starttls\"\n\
             username = \"{email}\"\npassword = \"{PASSWORD}\"\nca_file = {ca:?}\n",
            data = dir.path().join("data").display().to_string(),
            email = ALICE.email,
            imaps = servers.imaps_port(),
            sub = servers.submission_port(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    servers.deliver(
        ALICE.email,
        b"From: b@example.test\r\nSubject: hello\r\n\r\nbody\r\n",
    );

    let sync = tern(&config, &["sync"], b"");
    assert!(sync.status.success(), "{sync:?}");
    let msg = format!(
        "From: {}\r\nTo: {}\r\nSubject: secret test\r\n\r\nhello\r\n",
        ALICE.email, BOB.email
    );
    let send = tern(&config, &["send"], msg.as_bytes());
    assert!(send.status.success(), "{send:?}");

    let data = dir.path().join("data");
    let log = std::fs::read_to_string(data.join("tern.log")).unwrap();
    assert!(
        log.len() > 1000,
        "trace logged something: {} bytes",
        log.len()
    );
    let plain = format!("\0{}\0{PASSWORD}", ALICE.email);
    for secret in [
        PASSWORD.to_string(),
        b64(plain.as_bytes()),
        b64(PASSWORD.as_bytes()),
        b64(format!("{}\0{}\0{PASSWORD}", ALICE.email, ALICE.email).as_bytes()),
    ] {
        assert!(
            !log.contains(&secret),
            "the log holds {secret:?}:\n{}",
            log.lines()
                .filter(|l| l.contains(&secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    for out in [&sync, &send] {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(PASSWORD), "{text}");
    }
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("tern.log")), 0o600);
    assert_eq!(mode(&data.join(tern::store::DB_FILE)), 0o600);
}
