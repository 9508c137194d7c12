//! `tern setup` against real parts: an autoconfig file served by a real HTTP server on
//! loopback, the real Dovecot and Postfix it names. The account is written only once every
//! server worked; the config it writes is accepted by `tern check --connect` and syncs.

mod harness;

use std::path::Path;
use std::process::{Command, Output};

use harness::{ALICE, HOST, MailServers};

/// An HTTP server on loopback answering every request with `body` (until the test ends); its
/// URL.
fn serve(body: String) -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let _ = request.respond(tiny_http::Response::from_string(body.clone()));
        }
    });
    format!("http://127.0.0.1:{port}/mail/config-v1.1.xml")
}

fn autoconfig(servers: &MailServers) -> String {
    format!(
        r#"<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <incomingServer type="imap">
      <hostname>{HOST}</hostname><port>{imaps}</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>{HOST}</hostname><port>{submission}</port><socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>"#,
        imaps = servers.imaps_port(),
        submission = servers.submission_port(),
    )
}

fn tern(config: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    eprintln!(
        "tern {args:?}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn setup_args<'a>(url: &'a str, ca: &'a str, password_command: &'a str) -> Vec<&'a str> {
    vec![
        "setup",
        "--email",
        ALICE.email,
        "--name",
        "Alice Example",
        "--password-command",
        password_command,
        "--ca-file",
        ca,
        "--autoconfig",
        url,
    ]
}

#[test]
fn setup_discovers_checks_and_writes_an_account_that_syncs() {
    let servers = MailServers::start();
    servers.deliver(
        ALICE.email,
        b"From: bob@example.test\r\nSubject: first mail\r\n\r\nhello\r\n",
    );
    let url = serve(autoconfig(&servers));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tern").join("config.toml");
    // A data dir of its own, in a config the user already has (it is appended to).
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "# my settings\ndata_dir = {:?}\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let ca = servers.ca_pem_path().display().to_string();
    let pw = format!("echo {}", ALICE.password);
    let out = tern(&config, &setup_args(&url, &ca, &pw));
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("found in autoconfig {url}")),
        "{said}"
    );
    assert!(said.contains("example: imap"), "{said}");
    assert!(said.contains("example: smtp"), "{said}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.starts_with("# my settings\n"),
        "appended, not rewritten:\n{text}"
    );
    assert!(text.contains("# Added by `tern setup`"), "{text}");

    // The config works as it is.
    assert!(tern(&config, &["check", "--connect"]).status.success());
    assert!(tern(&config, &["sync"]).status.success());
    let list = tern(&config, &["list", "--account", "example"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("first mail"));

    // Again: a second account of its own name, the first one kept.
    let out = tern(&config, &setup_args(&url, &ca, &pw));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("account \"example-2\" written"));
}

#[test]
fn nothing_is_written_when_a_server_refuses_or_nothing_is_found() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let ca = servers.ca_pem_path().display().to_string();

    // The servers are found, the password is wrong: the login fails, nothing is written.
    let url = serve(autoconfig(&servers));
    let out = tern(&config, &setup_args(&url, &ca, "echo wrong"));
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("FAILED") && said.contains("hint:"), "{said}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing written"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!config.exists());

    // A broken autoconfig file, and a domain no list knows: a clear line each, exit 1.
    let url = serve("<html>not found</html>".into());
    let out = tern(&config, &setup_args(&url, &ca, "echo x"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not an autoconfig file"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no servers found for alice@example.test"),
        "{err}"
    );
    assert!(!config.exists());
}
