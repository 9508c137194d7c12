//! `tern setup` against real parts: an autoconfig file served by a real HTTP server on
//! loopback, the real Dovecot and Postfix it names. The account is written only once every
//! server worked; the config it writes is accepted by `tern check --connect` and syncs.

mod harness;

use std::process::Command;

use harness::autoconfig::serve;
use harness::dns::dnsmasq;
use harness::tern::tern;
use harness::{ALICE, HOST, MailServers};

/// The autoconfig file naming the harness's IMAP (TLS) and submission (STARTTLS) servers.
fn autoconfig(servers: &MailServers) -> String {
    harness::autoconfig::autoconfig(
        (servers.imaps_port(), "SSL"),
        (servers.submission_port(), "STARTTLS"),
    )
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

    // A broken autoconfig file, and a domain no list, SRV or MX record knows (asked of a DNS
    // server on loopback with no records): a clear line each, exit 1.
    let (dns, addr) = dnsmasq(&[]);
    let url = serve("<html>not found</html>".into());
    let mut args = setup_args(&url, &ca, "echo x");
    args.extend(["--dns", &addr]);
    let out = tern(&config, &args);
    drop(dns);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not an autoconfig file"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no servers found for alice@example.test"),
        "{err}"
    );
    assert!(!config.exists());
}

/// With no autoconfig file (a 404 on loopback) and a domain no list knows, the SRV records
/// (RFC 6186) served by a real DNS server name the servers; MX records pointing at a known
/// provider name it.
#[test]
fn setup_finds_the_servers_in_srv_records_and_a_provider_in_mx_records() {
    let servers = MailServers::start();
    let (dns, addr) = dnsmasq(&[
        format!(
            "--srv-host=_imaps._tcp.example.test,localhost,{},0,0",
            servers.imaps_port()
        ),
        format!(
            "--srv-host=_submission._tcp.example.test,localhost,{},0,0",
            servers.submission_port()
        ),
        "--mx-host=hosted.test,hosted-test.mail.protection.outlook.com,10".into(),
    ]);
    let missing = {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let _ = request.respond(tiny_http::Response::empty(404));
            }
        });
        format!("http://127.0.0.1:{port}/mail/config-v1.1.xml")
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let ca = servers.ca_pem_path().display().to_string();
    let pw = format!("echo {}", ALICE.password);
    let mut args = setup_args(&missing, &ca, &pw);
    args.extend(["--dns", &addr]);
    let out = tern(&config, &args);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("HTTP 404"), "{said}");
    assert!(
        said.contains("found in the SRV records of example.test"),
        "{said}"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("host = \"localhost\""), "{text}");
    assert!(tern(&config, &["check", "--connect"]).status.success());

    // A custom domain hosted by Microsoft: its MX records say so, and that it takes only
    // OAuth2 (so nothing is tried or written; no connection leaves loopback).
    let other = dir.path().join("other.toml");
    let args = [
        "setup",
        "--email",
        "pat@hosted.test",
        "--password-command",
        "echo x",
        "--autoconfig",
        &missing,
        "--dns",
        &addr,
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--config")
        .arg(&other)
        .args(args)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("found in the MX records of hosted.test (tern's provider list: Microsoft"),
        "{said}"
    );
    assert_eq!(out.status.code(), Some(1));
    // Microsoft takes only OAuth2: without a client id of the user's own, nothing is written.
    assert!(
        said.contains("accepts only OAuth2: signing in with OAuth2"),
        "{said}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs a client id registered with microsoft"),
        "{err}"
    );
    assert!(!other.exists());
    drop(dns);
}

/// Forward every connection to `bind` (a privileged port on a loopback address of its own) to
/// `to`, until the test ends. Binding a port under 1024 needs root (tests/run runs as root):
/// without it the test fails and says so.
fn forward(bind: &str, to: u16) {
    let listener = std::net::TcpListener::bind(bind).unwrap_or_else(|e| {
        panic!("cannot listen on {bind} ({e}): this test binds the usual mail ports and must run as root")
    });
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = std::net::TcpStream::connect((HOST, to)) else {
                continue;
            };
            for (mut from, mut into) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut into);
                    let _ = into.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
}

/// No autoconfig, no provider, no SRV or MX record: the usual host names are probed. The
/// test's DNS server points imap.probe.test and smtp.probe.test at a loopback address where
/// the usual ports (993, 465) lead to the real Dovecot and Postfix; each answers a real
/// greeting and CAPABILITY / EHLO over TLS verified for its name.
#[test]
fn probing_finds_the_servers_at_the_usual_host_names() {
    let servers = MailServers::start();
    let ip = "127.0.0.77";
    forward(&format!("{ip}:993"), servers.imaps_port());
    forward(&format!("{ip}:465"), servers.smtps_port());
    let (dns, addr) = dnsmasq(&[
        format!("--address=/imap.probe.test/{ip}"),
        format!("--address=/smtp.probe.test/{ip}"),
    ]);
    let req = tern::setup::Request {
        email: "alice@probe.test".into(),
        password_command: "echo x".into(),
        ca_file: Some(servers.ca_pem_path()),
        autoconfig: Some("http://127.0.0.1:9/mail/config-v1.1.xml".into()),
        dns: Some(addr.parse().unwrap()),
        ..Default::default()
    };
    let mut said = Vec::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let found = rt
        .block_on(tern::setup::find::find(&req, &mut |l| said.push(l)))
        .unwrap_or_else(|e| panic!("{e}; said:\n{}", said.join("\n")));
    drop(dns);
    let said = said.join("\n");
    eprintln!("{said}");
    assert!(said.contains("SRV records:"), "{said}");
    assert!(
        said.contains("probing the usual host names of probe.test"),
        "{said}"
    );
    assert!(
        said.contains("probe: imap imap.probe.test:993 (tls) answers: "),
        "{said}"
    );
    assert!(said.contains("IMAP4rev1"), "{said}");
    assert!(
        said.contains("probe: smtp smtp.probe.test:465 (tls) answers: "),
        "{said}"
    );
    assert_eq!(found.incoming.host, "imap.probe.test");
    assert_eq!(
        (found.incoming.port, found.incoming.security.as_str()),
        (993, "tls")
    );
    assert!(!found.pop3);
    let smtp = found.smtp.unwrap();
    assert_eq!((smtp.host.as_str(), smtp.port), ("smtp.probe.test", 465));
    assert!(
        found.source.contains("usual host names of probe.test"),
        "{}",
        found.source
    );
}

/// A server that takes connections (TCP: an autoconfig host; UDP: a DNS server) and never
/// answers, until the test ends. Its address.
fn silent() -> (String, String) {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (http, dns) = (
        format!("http://{}/mail/config-v1.1.xml", tcp.local_addr().unwrap()),
        udp.local_addr().unwrap().to_string(),
    );
    std::thread::spawn(move || {
        let _udp = udp;
        let mut held = Vec::new();
        for c in tcp.incoming().flatten() {
            held.push(c); // kept open, never answered
        }
    });
    (http, dns)
}

/// Sources that never answer are each bounded: a stalled autoconfig host does not keep the
/// SRV records' answer from being used, and with a DNS server that is silent too, setup
/// ends with what each source said (no hang, nothing written).
#[test]
fn stalled_sources_are_bounded_and_setup_goes_on() {
    let servers = MailServers::start();
    let (stalled, mute_dns) = silent();
    let (dns, addr) = dnsmasq(&[
        format!(
            "--srv-host=_imaps._tcp.example.test,localhost,{},0,0",
            servers.imaps_port()
        ),
        format!(
            "--srv-host=_submission._tcp.example.test,localhost,{},0,0",
            servers.submission_port()
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let ca = servers.ca_pem_path().display().to_string();
    let pw = format!("echo {}", ALICE.password);
    let mut args = setup_args(&stalled, &ca, &pw);
    args.extend(["--dns", &addr]);
    let out = tern(&config, &args);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("autoconfig {stalled}")), "{said}");
    assert!(
        said.contains("found in the SRV records of example.test"),
        "{said}"
    );
    drop(dns);

    let other = dir.path().join("other.toml");
    let started = std::time::Instant::now();
    let mut args = setup_args(&stalled, &ca, "echo x");
    args.extend(["--dns", &mute_dns]);
    let out = tern(&other, &args);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("SRV records:"), "{said}");
    assert!(said.contains("MX records:"), "{said}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no servers found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!other.exists());
    // Every source is bounded (15 s each, asked at once; probing after): well under a minute.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// The live check and the account written work on Cyrus and Courier too (IMAP only: their
/// autoconfig names no outgoing server, which setup takes as no SMTP).
#[test]
fn setup_checks_and_writes_an_account_on_cyrus_and_courier() {
    use harness::{ImapKind, ImapServer};
    let servers = ImapServer::start_many(&[ImapKind::Cyrus, ImapKind::Courier]);
    for server in &servers {
        let name = server.name();
        server.deliver(
            ALICE.email,
            format!("From: bob@example.test\r\nSubject: hello {name}\r\n\r\nhi\r\n").as_bytes(),
        );
        let url = serve(format!(
            r#"<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <incomingServer type="imap">
      <hostname>{host}</hostname><port>{port}</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
  </emailProvider>
</clientConfig>"#,
            host = server.host(),
            port = server.imaps_port(),
        ));
        let dir = tempfile::tempdir().unwrap();
        let config = harness::tern::config_with_data_dir(dir.path());
        let ca = server.ca_pem_path().display().to_string();
        let pw = format!("echo {}", ALICE.password);
        let out = tern(&config, &setup_args(&url, &ca, &pw));
        assert!(out.status.success(), "{name}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains("example: imap") && said.contains(" ok"),
            "{name}: {said}"
        );
        assert!(tern(&config, &["sync"]).status.success(), "{name}");
        let list = tern(&config, &["list", "--account", "example"]);
        assert!(
            String::from_utf8_lossy(&list.stdout).contains(&format!("hello {name}")),
            "{name}"
        );
    }
}
