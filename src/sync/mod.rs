//! The IMAP sync engine: the only code that speaks IMAP. `imap` is a thin adapter over
//! async-imap, `plan` the pure decisions, `engine` the work per account.

pub mod actor;
pub mod engine;
pub mod imap;
pub mod mutf7;
pub mod plan;
pub mod replay;

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
    /// The local cache failed (busy past its timeout, disk full, I/O): retried with backoff.
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

    /// Worth trying again later (the network, a server's bad moment, a cache busy with another
    /// writer or briefly unwritable), as opposed to needing the user (password, certificate):
    /// only those stop an account until the user asks again.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Network | ErrorKind::Protocol | ErrorKind::Cache
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
        let kind = match &e {
            E::Io(_) | E::ConnectionLost => ErrorKind::Network,
            _ => ErrorKind::Protocol,
        };
        SyncError::new(kind, crate::domain::sanitize::line(&e.to_string()))
    }
}
