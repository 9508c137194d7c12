//! Non-interactive subcommands. They print for people (or JSON for scripts) and return whether
//! they succeeded (or an exit code); main turns that into the exit code.
//!
//! - `sync`: `tern sync`, `tern sync --watch`
//! - `cache`: `tern list`, `tern search`, `tern index`, `tern outbox` (the cache only)
//! - `send`: `tern send`, `tern send --flush`, `tern outbox --flush`
//! - `check`: `tern check --connect`
//! - `password`: `tern password ACCOUNT` (the system keyring)
//! - `setup`: `tern setup`'s command line and terminal questions (the work is `crate::setup`)

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

use crate::config::{AccountConfig, Config};
use crate::domain::{AccountId, ConnState, Envelope, sanitize};
use crate::pop3::fetch;
use crate::store::{POP3_INBOX, Store, StoreError, StoreHandle};
use crate::sync::pass::{self, Progress, SyncOptions};
use crate::worker;

mod cache;
pub mod check;
pub mod password;
mod send;
pub mod setup;
mod sync;

pub use self::cache::{index, list, outbox, requeue, search};
pub use self::check::check_connect;
pub use self::password::password;
pub use self::send::{EXIT_TEMPFAIL, SendOpts, flush, flush_counted, message_from_input, send};
pub use self::sync::{sync, watch};

fn pick<'a>(cfg: &'a Config, account: Option<&str>) -> Result<Vec<&'a AccountConfig>, String> {
    if cfg.accounts.is_empty() {
        return Err(format!(
            "no accounts in {}: add an [[account]] table (config.example.toml shows one)",
            cfg.path
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ));
    }
    match account {
        Some(name) => match cfg.accounts.iter().find(|a| a.name == name) {
            Some(a) => Ok(vec![a]),
            None => Err(format!(
                "no account `{name}` in {}",
                cfg.path
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )),
        },
        None => Ok(cfg.accounts.iter().collect()),
    }
}
