//! Smoke test of the interop fixtures: Cyrus IMAP, Courier-IMAP and Exim.

mod harness;

#[test]
fn cyrus_starts() {
    let c = harness::Cyrus::start();
    eprintln!("cyrus {:?}", c.startup_time());
}
