//! OAuth2 against real parts: Dovecot's `oauth2` passdb validates tokens (XOAUTH2 and
//! OAUTHBEARER) by introspection at a small authorization server on loopback
//! (tests/harness/oauth.rs), and Postfix authenticates SMTP through Dovecot with the same
//! mechanisms. `tern setup` gets the consent (the test plays the browser, or types the device
//! code), then sync and send work with tokens; an expired token is refreshed without a word;
//! a revoked consent is one clear error that names `tern setup --reauth`.

mod harness;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use harness::autoconfig::serve;
use harness::keyring::SecretService;
use harness::oauth::{AuthServer, CLIENT_ID};
use harness::{ALICE, HOST, MailServers};
use tern::config::Config;
use tern::domain::ConnState;
use tern::store::StoreHandle;
use tern::worker::{Event, EventReceiver, Timing};

const WAIT: Duration = Duration::from_secs(60);

/// The provider's autoconfig file: IMAP and SMTP taking OAuth2 only, and where its endpoints
/// are (Thunderbird's `<oAuth2>` element).
fn autoconfig(servers: &MailServers, auth: &AuthServer) -> String {
    format!(
        r#"<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <incomingServer type="imap">
      <hostname>{HOST}</hostname><port>{imaps}</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>OAuth2</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>{HOST}</hostname><port>{submission}</port><socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>OAuth2</authentication>
    </outgoingServer>
  </emailProvider>
  <oAuth2>
    <issuer>127.0.0.1</issuer>
    <scope>mail offline</scope>
    <authURL>{authorize}</authURL>
    <tokenURL>{token}</tokenURL>
  </oAuth2>
</clientConfig>"#,
        imaps = servers.imaps_port(),
        submission = servers.submission_port(),
        authorize = auth.url("/authorize"),
        token = auth.url("/token"),
    )
}

/// tern, with no browser to open and, unless `keyring` is given, no keyring to reach (the
/// tokens then go to a file).
fn command(config: &Path, keyring: Option<&SecretService>) -> Command {
    let mut c = match keyring {
        Some(k) => k.command(env!("CARGO_BIN_EXE_tern")),
        None => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_tern"));
            c.env_remove("DBUS_SESSION_BUS_ADDRESS")
                .env_remove("XDG_RUNTIME_DIR");
            c
        }
    };
    c.arg("--config")
        .arg(config)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    c
}

fn tern(config: &Path, args: &[&str]) -> Output {
    tern_with(config, None, args)
}

fn tern_with(config: &Path, keyring: Option<&SecretService>, args: &[&str]) -> Output {
    let out = command(config, keyring).args(args).output().unwrap();
    eprintln!(
        "tern {args:?}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Run `tern ARGS` that signs in: each line it prints goes to `on_line`, which may act on it
/// (play the browser, type the device code). Returns the exit status and everything said.
fn signing_in(
    config: &Path,
    args: &[&str],
    on_line: impl FnMut(&str),
) -> (std::process::ExitStatus, String) {
    signing_in_with(config, None, args, on_line)
}

fn signing_in_with(
    config: &Path,
    keyring: Option<&SecretService>,
    args: &[&str],
    mut on_line: impl FnMut(&str),
) -> (std::process::ExitStatus, String) {
    let mut child = command(config, keyring)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    drop(tx);
    let mut said = String::new();
    loop {
        match rx.recv_timeout(WAIT) {
            Ok(line) => {
                eprintln!("tern: {line}");
                said += &line;
                said.push('\n');
                on_line(&line);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("tern {args:?} said nothing for {WAIT:?}:\n{said}");
            }
        }
    }
    (child.wait().unwrap(), said)
}

/// The browser's part: when tern prints the authorization address, consent and follow the
/// redirect back to tern.
fn browser(auth: &AuthServer) -> impl FnMut(&str) + '_ {
    move |line: &str| {
        let line = line.trim();
        if line.starts_with(&auth.url("/authorize")) {
            let page = auth.consent(line);
            assert!(page.contains("tern is signed in"), "{page}");
        }
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
}

/// `tern setup` for alice with OAuth2, consenting in the "browser".
fn set_up(servers: &MailServers, auth: &AuthServer) -> Setup {
    set_up_with(servers, auth, None)
}

fn set_up_with(servers: &MailServers, auth: &AuthServer, keyring: Option<&SecretService>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = harness::tern::config_with_data_dir(dir.path());
    let data = dir.path().join("data");
    let url = serve(autoconfig(servers, auth));
    let ca = servers.ca_pem_path().display().to_string();
    let (status, said) = signing_in_with(
        &config,
        keyring,
        &[
            "setup",
            "--email",
            ALICE.email,
            "--oauth2",
            "--client-id",
            CLIENT_ID,
            "--no-browser",
            "--ca-file",
            &ca,
            "--autoconfig",
            &url,
        ],
        browser(auth),
    );
    assert!(status.success(), "{said}");
    assert!(said.contains("example: imap"), "{said}");
    assert!(said.contains("example: smtp"), "{said}");
    Setup {
        _dir: dir,
        config,
        data,
    }
}

fn sync_finds(config: &Path, subject: &str) {
    let out = tern(config, &["sync"]);
    assert!(out.status.success(), "{}", text(&out));
    let list = tern(config, &["list", "--account", "example"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains(subject),
        "{}",
        text(&list)
    );
}

fn send(config: &Path, subject: &str) -> Output {
    let mut child = command(config, None)
        .arg("send")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!(
                "From: {a}\r\nTo: {a}\r\nSubject: {subject}\r\n\r\nsent with a token\r\n",
                a = ALICE.email
            )
            .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    eprintln!("tern send: {}", text(&out));
    out
}

#[test]
fn setup_consents_in_the_browser_then_sync_and_send_use_tokens() {
    let auth = AuthServer::start(3600);
    let servers = MailServers::start_with_oauth2(&auth);
    servers.deliver(
        ALICE.email,
        b"From: bob@example.test\r\nSubject: for the token\r\n\r\nhello\r\n",
    );
    let s = set_up(&servers, &auth);
    let written = std::fs::read_to_string(&s.config).unwrap();
    assert!(written.contains("[account.oauth2]"), "{written}");
    assert!(
        written.contains(&format!("client_id = \"{CLIENT_ID}\"")),
        "{written}"
    );
    assert!(
        !written.contains("password_command") && !written.contains("password ="),
        "no password: {written}"
    );
    let tokens = s.data.join("oauth2/example.json");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&tokens).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token file is the user's alone");
    }
    assert_eq!(auth.grants("authorization_code"), 1);

    assert!(tern(&s.config, &["check", "--connect"]).status.success());
    sync_finds(&s.config, "for the token");
    let out = send(&s.config, "sent with OAuth2");
    assert!(out.status.success(), "{}", text(&out));
    servers.wait_for_subject(ALICE.email, "INBOX", "sent with OAuth2", WAIT);
    assert!(auth.introspections() >= 2, "Dovecot checked the tokens");
    // No secret in what tern prints about the account.
    let check = tern(&s.config, &["check"]);
    let said = text(&check);
    assert!(said.contains("auth: oauth2"), "{said}");
    let stored = std::fs::read_to_string(&tokens).unwrap();
    let access: serde_json::Value = serde_json::from_str(&stored).unwrap();
    let access = access["access_token"].as_str().unwrap();
    assert!(!said.contains(access));
    let log = std::fs::read_to_string(s.data.join("tern.log")).unwrap_or_default();
    assert!(!log.contains(access), "the token is not logged");
}

#[test]
fn an_expired_token_is_refreshed_without_a_word() {
    let auth = AuthServer::start(3600);
    let servers = MailServers::start_with_oauth2(&auth);
    servers.deliver(
        ALICE.email,
        b"From: bob@example.test\r\nSubject: after the hour\r\n\r\nhello\r\n",
    );
    let s = set_up(&servers, &auth);
    assert_eq!(auth.grants("refresh_token"), 0);

    // The hour is up on the provider's side before tern's clock says so: the server refuses
    // the token, tern refreshes it and logs in again, for IMAP and for SMTP.
    auth.expire_access_tokens();
    sync_finds(&s.config, "after the hour");
    assert_eq!(auth.grants("refresh_token"), 1, "one refresh for the sync");
    auth.expire_access_tokens();
    let out = send(&s.config, "sent after a refresh");
    assert!(out.status.success(), "{}", text(&out));
    servers.wait_for_subject(ALICE.email, "INBOX", "sent after a refresh", WAIT);
    assert_eq!(auth.grants("refresh_token"), 2, "one refresh for the send");

    // A token tern knows is about to expire is refreshed before it is used.
    let tokens = s.data.join("oauth2/example.json");
    let mut stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tokens).unwrap()).unwrap();
    stored["expires_at"] = serde_json::json!(1);
    std::fs::write(&tokens, stored.to_string()).unwrap();
    assert!(tern(&s.config, &["check", "--connect"]).status.success());
    assert_eq!(auth.grants("refresh_token"), 3);
}

#[test]
fn a_revoked_consent_is_one_clear_error_until_reauth() {
    let auth = AuthServer::start(3600);
    let servers = MailServers::start_with_oauth2(&auth);
    servers.deliver(
        ALICE.email,
        b"From: bob@example.test\r\nSubject: back again\r\n\r\nhello\r\n",
    );
    let s = set_up(&servers, &auth);
    auth.revoke(ALICE.email);
    // The provider's device endpoint, which its autoconfig file cannot say.
    let mut written = std::fs::read_to_string(&s.config).unwrap();
    written += &format!("device_url = \"{}\"\n", auth.url("/device"));
    std::fs::write(&s.config, written).unwrap();

    let out = tern(&s.config, &["sync"]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("tern setup --reauth example"), "{said}");
    assert!(said.contains("invalid_grant"), "{said}");
    // One refresh was tried when the server refused the token, and no more: no retry loop.
    assert_eq!(auth.attempts("refresh_token"), 1);
    let out = tern(&s.config, &["check", "--connect"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("tern setup --reauth example"),
        "{}",
        text(&out)
    );

    // Signing in again with the device code (as on a machine without a browser).
    let mut typed = false;
    let (status, said) = signing_in(
        &s.config,
        &["setup", "--reauth", "example", "--device"],
        |line| {
            if let Some(code) = line.split("enter the code ").nth(1) {
                auth.approve(code.trim(), ALICE.email);
                typed = true;
            }
        },
    );
    assert!(status.success(), "{said}");
    assert!(typed, "tern said which code to type: {said}");
    assert!(said.contains("works again"), "{said}");
    assert_eq!(
        auth.grants("urn:ietf:params:oauth:grant-type:device_code"),
        1
    );
    sync_finds(&s.config, "back again");
}

#[test]
fn oauth2_config_mistakes_are_said_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let write = |body: &str| {
        std::fs::write(
            &config,
            format!(
                "data_dir = {:?}\n[[account]]\nname = \"w\"\nemail = \"a@example.test\"\n\
                 [account.imap]\nhost = \"127.0.0.1\"\n{body}",
                dir.path().display().to_string()
            ),
        )
        .unwrap();
    };
    write("[account.oauth2]\nprovider = \"yahoo\"\nclient_id = \"x\"\n");
    let out = tern(&config, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let said = text(&out);
    assert!(
        said.contains(":8:") && said.contains("unknown OAuth2 provider `yahoo`"),
        "{said}"
    );
    write(
        "password_command = \"echo x\"\n[account.oauth2]\nprovider = \"google\"\nclient_id = \"x\"\n",
    );
    let said = text(&tern(&config, &["check"]));
    assert!(said.contains("logs in with tokens"), "{said}");
    write(
        "[account.oauth2]\nauth_url = \"http://login.example.com/a\"\ntoken_url = \"https://t/\"\nclient_id = \"x\"\n",
    );
    let said = text(&tern(&config, &["check"]));
    assert!(said.contains("must be an https:// address"), "{said}");
    write("[account.oauth2]\nprovider = \"microsoft\"\n");
    let said = text(&tern(&config, &["check"]));
    assert!(said.contains("needs a client_id"), "{said}");
    write("[account.oauth2]\nprovider = \"microsoft\"\nclient_id = \"abc\"\n");
    let out = tern(&config, &["check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("auth: oauth2 (microsoft, client abc)"));
}

/// The engine's next state change matching `pred`.
async fn state(
    events: &mut EventReceiver,
    what: &str,
    pred: impl Fn(&ConnState) -> bool,
) -> ConnState {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::State { state, .. })) if pred(&state) => return state,
            Ok(Some(_)) => {}
            other => panic!("no {what}: {other:?}"),
        }
    }
}

/// The account's engine, started.
async fn start_engine(
    cfg: &Config,
    store: &StoreHandle,
) -> (tern::worker::EngineHandle, EventReceiver) {
    let (tx, events) = tern::worker::events();
    let (engine, _task) = tern::runtime::start_worker(
        cfg.accounts[0].clone(),
        store.clone(),
        tx,
        Timing::default(),
    )
    .await
    .unwrap();
    (engine, events)
}

async fn subjects(store: &StoreHandle) -> Vec<String> {
    store
        .call(|s| {
            let mut all = Vec::new();
            for mb in s.mailboxes(None)? {
                all.extend(s.envelopes(mb.id, 0, 1000)?.into_iter().map(|e| e.subject));
            }
            Ok(all)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_runs_on_a_token_and_a_revoked_consent_stops_the_engine_once() {
    let auth = AuthServer::start(3600);
    let servers = MailServers::start_with_oauth2(&auth);
    let s = set_up(&servers, &auth);
    let cfg = Config::load(&s.config).unwrap();
    let store = StoreHandle::open_in_dir(&cfg.data_dir).unwrap();
    let (engine, mut events) = start_engine(&cfg, &store).await;
    state(&mut events, "online", |s| *s == ConnState::Online).await;

    // New mail comes through IDLE on the session the token opened.
    servers.deliver(
        ALICE.email,
        b"From: bob@example.test\r\nSubject: pushed to a token\r\n\r\nhello\r\n",
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while !subjects(&store)
        .await
        .contains(&"pushed to a token".to_string())
    {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(_)) => {}
            other => panic!("the pushed mail never arrived: {other:?}"),
        }
    }
    engine.send(tern::worker::Command::Shutdown);

    // The user revokes tern's access: a new engine says so once and waits for them.
    auth.revoke(ALICE.email);
    let (engine, mut events) = start_engine(&cfg, &store).await;
    let failed = state(&mut events, "the failure", |s| {
        matches!(s, ConnState::Failed(_))
    })
    .await;
    let ConnState::Failed(why) = failed else {
        unreachable!()
    };
    assert!(why.contains("tern setup --reauth example"), "{why}");
    let quiet = tokio::time::timeout(Duration::from_secs(2), events.recv()).await;
    assert!(
        quiet.is_err(),
        "no retry after a revoked consent: {quiet:?}"
    );
    assert_eq!(
        auth.attempts("refresh_token"),
        1,
        "one refresh tried, no loop"
    );
    engine.send(tern::worker::Command::Shutdown);
}

#[test]
fn a_token_command_for_an_external_broker() {
    let auth = AuthServer::start(3600);
    let servers = MailServers::start_with_oauth2(&auth);
    servers.deliver(
        ALICE.email,
        b"From: bob@example.test\r\nSubject: via the broker\r\n\r\nhello\r\n",
    );
    let token = auth.issue(ALICE.email);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[[account]]\nname = \"example\"\nemail = \"{a}\"\n\
             ca_file = {:?}\n[account.imap]\nhost = \"{HOST}\"\nport = {}\n\
             [account.smtp]\nhost = \"{HOST}\"\nport = {}\nsecurity = \"starttls\"\n\
             [account.oauth2]\ntoken_command = \"echo {token}\"\n",
            dir.path().join("data").display().to_string(),
            servers.ca_pem_path().display().to_string(),
            servers.imaps_port(),
            servers.submission_port(),
            a = ALICE.email,
        ),
    )
    .unwrap();
    assert!(tern(&config, &["check", "--connect"]).status.success());
    sync_finds(&config, "via the broker");
    assert_eq!(
        auth.attempts("refresh_token"),
        0,
        "tern refreshes nothing itself"
    );
}

#[test]
fn with_a_keyring_the_tokens_go_there_and_not_to_a_file() {
    let keyring = SecretService::start();
    let auth = AuthServer::start(3600);
    let servers = MailServers::start_with_oauth2(&auth);
    servers.deliver(
        ALICE.email,
        b"From: bob@example.test\r\nSubject: from the keyring\r\n\r\nhello\r\n",
    );
    let s = set_up_with(&servers, &auth, Some(&keyring));
    assert!(
        !s.data.join("oauth2").join("example.json").exists(),
        "no token file when there is a keyring"
    );
    let out = tern_with(&s.config, Some(&keyring), &["sync"]);
    assert!(out.status.success(), "{}", text(&out));
    let list = tern_with(&s.config, Some(&keyring), &["list", "--account", "example"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("from the keyring"));
    // The tokens are in that keyring only: without it there is none.
    let out = tern(&s.config, &["check", "--connect"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no OAuth2 token"), "{}", text(&out));
    // A refresh is kept there too.
    auth.expire_access_tokens();
    let out = tern_with(&s.config, Some(&keyring), &["check", "--connect"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(auth.grants("refresh_token"), 1);
    assert!(!s.data.join("oauth2").join("example.json").exists());
}
