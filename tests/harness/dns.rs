//! A real DNS server for the tests of discovery: Debian's dnsmasq on loopback, answering only
//! with the records a test gives.

use std::process::Command;

/// A loopback port free for both TCP and UDP (a DNS server listens on both).
fn free_dns_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The DNS server's process, stopped when the test ends (a failed assertion too).
pub struct Dns(std::process::Child);

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real DNS server (Debian's dnsmasq) on a free loopback port answering only with these
/// records; its address, and the process. Another test may take the port first: then it tries
/// another one (bounded).
pub fn dnsmasq(records: &[String]) -> (Dns, String) {
    let mut said = String::new();
    for _ in 0..5 {
        let port = free_dns_port();
        let mut child = Command::new("dnsmasq")
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                &format!("--port={port}"),
            ])
            .args(records)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("dnsmasq (tests/run installs dnsmasq-base)");
        // Listening once it takes a TCP connection; gone if it could not bind (bounded).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (Dns(child), format!("127.0.0.1:{port}"));
            }
            if child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                said = String::from_utf8_lossy(&out.stderr).into_owned();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    panic!("dnsmasq did not start on five ports: {said}")
}
