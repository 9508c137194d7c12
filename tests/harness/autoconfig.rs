//! An autoconfig file for `tern setup`, served by a real HTTP server on loopback.

use super::{HOST, MailServers};

/// An HTTP server on loopback answering every request with `body` (until the test process
/// ends); its URL.
pub fn serve(body: String) -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let _ = request.respond(tiny_http::Response::from_string(body.clone()));
        }
    });
    format!("http://127.0.0.1:{port}/mail/config-v1.1.xml")
}

/// The autoconfig file of example.test: IMAP on `imap` (`SSL` or `STARTTLS`), SMTP on
/// `smtp`, both on the harness's servers.
pub fn autoconfig(imap: (u16, &str), smtp: (u16, &str)) -> String {
    format!(
        r#"<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <incomingServer type="imap">
      <hostname>{HOST}</hostname><port>{}</port><socketType>{}</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>{HOST}</hostname><port>{}</port><socketType>{}</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>"#,
        imap.0, imap.1, smtp.0, smtp.1
    )
}

/// The harness's usual servers: IMAP over TLS, SMTP submission with STARTTLS.
pub fn served(servers: &MailServers) -> String {
    serve(autoconfig(
        (servers.imaps_port(), "SSL"),
        (servers.submission_port(), "STARTTLS"),
    ))
}
