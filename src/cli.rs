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
    /// `--connect` also logs in to every server and prints one line per server.
    Check {
        /// Also run the password commands and log in to every IMAP, POP3 and SMTP server,
        /// printing one line per server (ok with its capabilities, or FAILED with a hint).
        /// Exit code 0 when every server works, 1 otherwise.
        #[arg(long)]
        connect: bool,
    },
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
    /// Send the message on stdin (a whole RFC 5322 message, or header fields, a blank line and
    /// a plain body): it is queued in the outbox, sent, and filed in Sent. Exit code 0 once the
    /// server took it, 75 when it stays queued for a retry, 1 when it failed.
    Send {
        /// Send from this account (default: the one the From address belongs to, else the
        /// first).
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Attach a file (repeat for more; with header fields and a plain body only).
        #[arg(long, value_name = "FILE")]
        attach: Vec<PathBuf>,
        /// Only queue it: the running tern sends it.
        #[arg(long, conflicts_with = "flush")]
        queue_only: bool,
        /// Read nothing: send every queued message now, retry delays aside.
        #[arg(long)]
        flush: bool,
        /// Print the outcome as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List the outbox (newest first): what was sent, what waits, what failed or may have
    /// been sent. `--requeue ID` puts a failed or uncertain message back in the queue.
    Outbox {
        /// Queue this message again (the running tern, or `tern outbox --flush`, sends it).
        #[arg(long, value_name = "ID")]
        requeue: Option<i64>,
        /// Send every queued message now (due or waiting for a retry), ignoring the retry
        /// delays, and print what became of each. Exit code 1 when any was not sent.
        #[arg(long)]
        flush: bool,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Search the cached mail of every account, with no network (see the README for the
    /// query language: words, "phrases", from:, to:, subject:, is:unread, after:7d, ...).
    Search {
        /// The query (quote it for the shell).
        query: String,
        /// At most this many messages.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Say what the full-text index holds; `--rebuild` builds it again from the cached
    /// messages (with progress).
    Index {
        /// Empty the index and index every cached message again.
        #[arg(long)]
        rebuild: bool,
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
    /// Add an account from its address: its servers are discovered (the provider's
    /// autoconfig file, then tern's provider list), logged in to, and only then written to
    /// the config (appended; created when there is none).
    Setup {
        /// The address (asked for when missing and run in a terminal).
        #[arg(long)]
        email: Option<String>,
        /// A command printing the password, e.g. `pass show mail/work` (in a terminal, when
        /// neither this nor --password-stdin is given, the password is asked for and stored
        /// in the system keyring, or a command is).
        #[arg(long, conflicts_with = "password_stdin")]
        password_command: Option<String>,
        /// Read the password from standard input (its first line) and store it in the system
        /// keyring once the servers accepted it; the account gets `password_keyring = true`.
        #[arg(long)]
        password_stdin: bool,
        /// Trust the servers' certificate by its SHA-256 fingerprint (`sha256:AB:CD:...`), for
        /// a server on this computer with its own certificate, such as Proton Bridge.
        #[arg(long, value_name = "FINGERPRINT")]
        trust_fingerprint: Option<String>,
        /// Your name, as recipients see it.
        #[arg(long)]
        name: Option<String>,
        /// The account's name in tern (default: the address's domain).
        #[arg(long)]
        account: Option<String>,
        /// A CA certificate (PEM) to trust for the servers (a self-signed server, a private CA).
        #[arg(long)]
        ca_file: Option<std::path::PathBuf>,
        /// Where the provider's autoconfig file is, when not at its usual places.
        #[arg(long)]
        autoconfig: Option<String>,
        /// A DNS server to ask (IP:PORT) instead of the system's: for the SRV and MX records,
        /// the autoconfig hosts and the usual host names probed.
        #[arg(long, env = "TERN_DNS")]
        dns: Option<std::net::SocketAddr>,
        #[command(flatten)]
        oauth2: Box<OAuth2Args>,
    },
    /// Store an account's password in the system keyring (for `password_keyring = true`):
    /// typed without echo in a terminal, else the first line of standard input.
    Password {
        /// The account's name in the config.
        account: String,
        /// Remove the account's password from the keyring instead.
        #[arg(long)]
        delete: bool,
    },
    /// Print the man page (roff) on stdout, e.g. `tern man > tern.1`.
    Man,
    /// Print the completion script for a shell on stdout, e.g.
    /// `tern completions bash > ~/.local/share/bash-completion/completions/tern`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The man page of `tern`, generated from these definitions.
pub fn man_page(out: &mut impl std::io::Write) -> std::io::Result<()> {
    use clap::CommandFactory;
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// The completion script for `shell`, generated from these definitions.
pub fn completions(shell: clap_complete::Shell, out: &mut impl std::io::Write) {
    use clap::CommandFactory;
    clap_complete::generate(shell, &mut Cli::command(), "tern", out);
}

/// `tern setup`'s OAuth2 options.
#[derive(Debug, Clone, clap::Args)]
pub struct OAuth2Args {
    /// Sign in with OAuth2 instead of a password (chosen anyway for a provider that takes
    /// nothing else, such as Microsoft).
    #[arg(long)]
    pub oauth2: bool,
    /// The OAuth2 client id you registered with the provider (see the README, OAuth2).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The client secret, for providers that give one with the id (Google).
    #[arg(long, value_name = "SECRET")]
    pub client_secret: Option<String>,
    /// Sign in with a code typed on another device, instead of a browser on this machine.
    #[arg(long)]
    pub device: bool,
    /// Do not open a browser: only print the address to open.
    #[arg(long)]
    pub no_browser: bool,
    /// Sign in again to this OAuth2 account (its consent was revoked or has expired).
    #[arg(long, value_name = "ACCOUNT")]
    pub reauth: Option<String>,
}
