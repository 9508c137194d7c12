//! The POP3 fetcher: the only code that speaks POP3. `client` is a small hand-written async
//! POP3 client (connect, STLS, login, STAT/LIST/UIDL/RETR/DELE, QUIT), `fetch` the work of one
//! poll (download what is new into the account's local INBOX, each message once; delete on the
//! server what should go), `actor` the fetcher per account that polls: the POP3 protocol of
//! the account worker ([`crate::worker`]), like the IMAP engine.

pub mod actor;
pub mod client;
pub mod fetch;
