//! The IMAP sync engine: the only code that speaks IMAP. `imap` is a thin adapter over
//! async-imap, `plan` the pure decisions, `engine` the work per account.

pub mod actor;
pub mod engine;
pub mod imap;
mod login;
pub mod mutf7;
pub mod plan;
pub mod wire;

use std::fmt;

use crate::net::NetError;
use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The server refused the credentials, or the password could not be had.
    Auth,
    Network,
    /// The server said something we cannot work with.
    Protocol,
    Tls,
    Cache,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Auth => "authentication failed",
            ErrorKind::Network => "network error",
            ErrorKind::Protocol => "server error",
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

impl SyncError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> SyncError {
        SyncError {
            kind,
            message: message.into(),
        }
    }

    /// Worth trying again later (the network), as opposed to needing the user (auth, TLS).
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, ErrorKind::Network | ErrorKind::Protocol)
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
            return SyncError::new(
                ErrorKind::Protocol,
                format!(
                    "the server sent a response tern cannot read: {}",
                    wire::excerpt(buffer.trim_matches('"').as_bytes())
                ),
            );
        }
        SyncError::new(ErrorKind::Network, wire::excerpt(text.as_bytes()))
    }
}
