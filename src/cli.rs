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
}
