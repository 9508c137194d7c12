//! The IMAP sync engine: the only code that speaks IMAP. `engine` is the actor per account
//! (a [`crate::worker::Protocol`]: its sessions, IDLE and timers; the account worker
//! reconnects with backoff), `pass` the sync passes that bring the cache to the server's
//! state, `bodies` and `search` the work the engine does on request and in the background,
//! `replay` the queued actions, `imap` a thin adapter over async-imap, `plan` the pure
//! decisions.

mod bodies;
pub mod engine;
pub mod imap;
mod login;
pub mod mutf7;
pub mod pass;
pub mod plan;
pub mod replay;
mod search;
pub mod wire;

use std::fmt;

use crate::net::NetError;
use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The server refused the credentials, or the password could not be had.
    Auth,
    Network,
    /// The server said something we cannot work with (or could not be read).
    Protocol,
    /// The server answered a command with NO or BAD: it did not do it.
    Refused,
    Tls,
    /// The local cache failed (busy past its timeout, disk full, I/O): retried with backoff.
    Cache,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Auth => "authentication failed",
            ErrorKind::Network => "network error",
            ErrorKind::Protocol => "server error",
            ErrorKind::Refused => "refused by the server",
            ErrorKind::Tls => "TLS error",
            ErrorKind::Cache => "cache error",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct SyncError {
    pub kind: ErrorKind,
    pub message: String,
}

/// Why there is no OAuth2 token: a new consent is needed (an auth failure, not retried), or
/// the provider could not be reached (retried).
impl From<crate::oauth::Failure> for SyncError {
    fn from(e: crate::oauth::Failure) -> Self {
        match e {
            crate::oauth::Failure::Reauth(m) => SyncError::new(ErrorKind::Auth, m),
            crate::oauth::Failure::Temporary(m) => SyncError::new(ErrorKind::Network, m),
        }
    }
}

impl SyncError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> SyncError {
        SyncError {
            kind,
            message: message.into(),
        }
    }

    /// Worth trying again later (the network, a server's bad moment, a cache busy with another
    /// writer or briefly unwritable), as opposed to needing the user (password, certificate):
    /// only those stop an account until the user asks again.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Network | ErrorKind::Protocol | ErrorKind::Refused | ErrorKind::Cache
        )
    }
}

impl From<NetError> for SyncError {
    fn from(e: NetError) -> Self {
        let kind = match e {
            NetError::CaFile { .. }
            | NetError::NoRoots
            | NetError::ServerName(_)
            | NetError::Tls { .. } => ErrorKind::Tls,
            NetError::Connect { .. } | NetError::Timeout { .. } => ErrorKind::Network,
        };
        SyncError::new(kind, e.to_string())
    }
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::new(ErrorKind::Cache, e.to_string())
    }
}

impl From<async_imap::error::Error> for SyncError {
    fn from(e: async_imap::error::Error) -> Self {
        use async_imap::error::Error as E;
        match e {
            E::Io(e) => SyncError::io(e),
            E::ConnectionLost => SyncError::new(ErrorKind::Network, "the connection was lost"),
            E::No(text) | E::Bad(text) => {
                SyncError::new(ErrorKind::Refused, wire::excerpt(text.as_bytes()))
            }
            other => SyncError::new(
                ErrorKind::Protocol,
                wire::excerpt(other.to_string().as_bytes()),
            ),
        }
    }
}

impl SyncError {
    /// An error reading or writing the IMAP stream: the server breaking the protocol (a
    /// [`wire::Wire`] gave up on it, or async-imap could not parse it) is a protocol error
    /// naming the server's line; anything else is the network's.
    pub fn io(e: std::io::Error) -> SyncError {
        if let Some(w) = wire::protocol_error(&e) {
            return SyncError::new(ErrorKind::Protocol, w.0.clone());
        }
        let text = e.to_string();
        // async-imap's own parse failure: "<nom error> during parsing of \"<the buffer>\"".
        if let Some((_, buffer)) = text.split_once(" during parsing of ") {
            // The buffer is Debug-quoted (line ends escaped): its first line only.
            let buffer = buffer.trim_start_matches('"');
            let first = buffer.split("\\n").next().unwrap_or(buffer);
            let first = first.strip_suffix("\\r").unwrap_or(first);
            return SyncError::new(
                ErrorKind::Protocol,
                format!(
                    "the server sent a response tern cannot read: {}",
                    wire::excerpt(first.as_bytes())
                ),
            );
        }
        SyncError::new(ErrorKind::Network, wire::excerpt(text.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_and_parse_failures_are_protocol_errors_naming_the_line() {
        let e = SyncError::io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            wire::WireError("the server sent a line longer than 10 bytes: * XX".into()),
        ));
        assert_eq!(e.kind, ErrorKind::Protocol);
        assert!(e.message.ends_with("* XX"), "{e}");
        // async-imap's own parse failure, with a buffer that goes on into a message.
        let e = SyncError::io(std::io::Error::other(
            "Error(Error { input: [1], code: Tag }) during parsing of \"* 4 EXPUNGED\\r\\n* 5 FETCH {3}\\r\\nabc\"",
        ));
        assert_eq!(e.kind, ErrorKind::Protocol);
        assert!(e.message.ends_with(": * 4 EXPUNGED"), "{e}");
        assert!(!e.message.contains("abc"), "{e}");
        let e = SyncError::io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ));
        assert_eq!(e.kind, ErrorKind::Network);
    }
}
