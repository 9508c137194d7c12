//! Command line (clap derive).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tern",
    version,
    about = "A fast, offline-capable terminal email client"
)]
pub struct Cli {
    /// Config file (default: $TERN_CONFIG, else $XDG_CONFIG_HOME/tern/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Open the client on bundled demo mail, in a temporary cache, with no server.
    #[arg(long)]
    pub demo: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config and print each account's settings (secrets redacted).
    Check,
    /// Bring the cache up to date with the servers once, then exit.
    Sync {
        /// Only this account.
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Only this mailbox (as the server names it, e.g. INBOX or Lists/rust).
        #[arg(long, value_name = "NAME", conflicts_with = "watch")]
        mailbox: Option<String>,
        /// Keep running: IDLE for new mail and sync on an interval, until interrupted.
        #[arg(long)]
        watch: bool,
    },
    /// Print cached messages, newest first, with no network.
    List {
        /// Only this account (default: every account).
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// The mailbox to list.
        #[arg(long, value_name = "NAME", default_value = "INBOX")]
        mailbox: String,
        /// At most this many messages per mailbox.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}
