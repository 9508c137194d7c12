//! `tern setup`: an account from an address. Its servers are discovered ([`discover`]: the
//! provider's autoconfig file, then tern's provider list), every one of them is logged in to
//! with the password (the same code as `tern check --connect`), and only then is a
//! commented account block appended to the config (created when there is none; an existing
//! one is never rewritten) and a typed password stored in the system keyring. Nothing is
//! written or stored when a server does not work. A server on this computer whose certificate
//! no CA signed (Proton Bridge) may be trusted by its fingerprint ([`trust`]).

pub mod discover;
pub mod dns;
pub mod find;
pub mod oauth2;
pub mod probe;
pub mod trust;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{AccountConfig, Config, Fingerprint, PasswordSource, Secret};
use discover::Found;

/// What the user gave.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub email: String,
    /// Shown as the sender's name.
    pub display_name: Option<String>,
    /// The account's name in tern (default: the address's domain, without its last label).
    pub account: Option<String>,
    pub password_command: String,
    /// The password itself (typed, or read from standard input): used for the check, then
    /// stored in the system keyring; the account reads it from there (`password_keyring`).
    pub password: Option<Secret>,
    /// Trust the servers' certificate by this fingerprint (`tls_fingerprint`).
    pub trust_fingerprint: Option<Fingerprint>,
    /// A CA to trust for the account's servers (and its autoconfig).
    pub ca_file: Option<PathBuf>,
    /// Where the autoconfig file is, instead of the provider's usual places.
    pub autoconfig: Option<String>,
    /// A DNS server to ask (IP:PORT) instead of the system's.
    pub dns: Option<std::net::SocketAddr>,
    /// Sign in with OAuth2 instead of a password.
    pub oauth2: oauth2::OAuth2Request,
}

/// Reads a line typed without echo, after its prompt.
pub type ReadHidden = dyn FnMut(&str) -> Result<String, String>;

/// Ask on the terminal for what the command line did not give: the address, a name, the
/// password (read by `hidden`, without echo, when there is a keyring to keep it) or else the
/// password command.
pub fn ask(
    req: &mut Request,
    input: &mut impl std::io::BufRead,
    out: &mut impl Write,
    hidden: Option<&mut ReadHidden>,
) -> Result<(), String> {
    let mut line = |prompt: &str| -> Result<String, String> {
        write!(out, "{prompt}")
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
        let mut answer = String::new();
        match input.read_line(&mut answer) {
            Ok(0) => Err("no answer (end of input)".into()),
            Ok(_) => Ok(answer.trim().to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    while req.email.is_empty() {
        req.email = line("Your address: ")?;
    }
    if req.display_name.is_none() {
        let name = line("Your name, as recipients see it (enter to skip): ")?;
        req.display_name = (!name.is_empty()).then_some(name);
    }
    // A provider known to take only OAuth2 needs no password.
    if discover::from_providers(&req.email).is_some_and(|f| f.oauth2_only) {
        req.oauth2.enabled = true;
    }
    if req.oauth2.enabled {
        if req.oauth2.client_id.is_none() {
            let id =
                line("The OAuth2 client id you registered with the provider (README: OAuth2): ")?;
            req.oauth2.client_id = (!id.is_empty()).then_some(id);
        }
        return Ok(());
    }
    if let Some(read) = hidden
        && req.password.is_none()
        && req.password_command.is_empty()
    {
        let typed = read(
            "Password (kept in the system keyring; enter alone to give a password command \
             instead): ",
        )?;
        req.password = (!typed.is_empty()).then(|| Secret::new(typed));
    }
    while req.password.is_none() && req.password_command.is_empty() {
        req.password_command =
            line("A command that prints the password (e.g. pass show mail/you): ")?;
    }
    Ok(())
}

/// Discover, check and write. Each step's news goes to `say` as a line; Ok: the config file
/// written.
pub async fn run(
    config: &Path,
    req: &Request,
    say: &mut (impl FnMut(String) + Send),
) -> Result<(), String> {
    run_with(config, req, say, &mut |_| false).await
}

/// [`run`], asking `trust` (in a terminal) whether to trust a certificate by its fingerprint
/// when a server on this computer shows one no CA signed.
pub async fn run_with(
    config: &Path,
    req: &Request,
    say: &mut (impl FnMut(String) + Send),
    trust: &mut impl FnMut(&Fingerprint) -> bool,
) -> Result<(), String> {
    if discover::domain_of(&req.email).is_none() || !req.email.contains('@') {
        return Err(format!("not an address: {:?}", req.email));
    }
    if req.password.is_some() && !req.oauth2.enabled {
        // Before anything: without a keyring the password has nowhere to go.
        keyring_call(crate::keyring::available)
            .await
            .map_err(|e| format!("{e}; give a password command instead; nothing written"))?;
    }
    let found = find::find(req, say).await?;
    say(format!("found in {}", found.source));
    if let Some(note) = &found.note {
        say(format!("note: {note}"));
    }
    let mut oauth = req.oauth2.clone();
    if found.oauth2_only && !oauth.enabled {
        say("the provider accepts only OAuth2: signing in with OAuth2".into());
        oauth.enabled = true;
    }
    let oauth_table = if oauth.enabled {
        Some(oauth2::table(&found, &oauth).map_err(|e| format!("{e}; nothing written"))?)
    } else {
        if req.password.is_none() && req.password_command.trim().is_empty() {
            return Err(
                "a password is needed (--password-command or --password-stdin), or --oauth2".into(),
            );
        }
        None
    };
    let (existing, taken) = existing(config)?;
    let name = unique_name(req, &taken);
    let shape = Shape {
        config,
        existing: existing.as_deref(),
        name: &name,
        found: &found,
        oauth: &oauth,
        oauth_table: oauth_table.as_deref(),
    };
    let block = checked_block(&shape, req, say, trust).await?;
    if let (Some(secret), None) = (req.password.clone(), &oauth_table) {
        let account = name.clone();
        keyring_call(move || crate::keyring::set(&account, crate::keyring::PASSWORD, &secret))
            .await
            .map_err(|e| format!("cannot store the password: {e}; nothing written"))?;
        say("the password is in the system keyring".into());
    }
    append(config, existing.is_none(), &block)?;
    say(format!(
        "account {name:?} written to {}; `tern` opens it",
        config.display()
    ));
    Ok(())
}

/// What the account block is made of.
struct Shape<'a> {
    config: &'a Path,
    existing: Option<&'a str>,
    name: &'a str,
    found: &'a Found,
    oauth: &'a oauth2::OAuth2Request,
    oauth_table: Option<&'a str>,
}

/// The account block, once every server of its account worked (OAuth2's consent given first;
/// a loopback server's certificate trusted on the way when `trust` says yes). Err: nothing is
/// to be written.
async fn checked_block(
    shape: &Shape<'_>,
    req: &Request,
    say: &mut (impl FnMut(String) + Send),
    trust: &mut impl FnMut(&Fingerprint) -> bool,
) -> Result<String, String> {
    let mut fingerprint = req.trust_fingerprint;
    let mut consented = false;
    loop {
        let block = account_block(req, shape.name, shape.found, shape.oauth_table, fingerprint);
        let whole = format!("{}{block}", shape.existing.unwrap_or(""));
        let cfg =
            Config::parse(&whole, shape.config).map_err(|e| format!("the account block: {e}"))?;
        let account = cfg
            .accounts
            .iter()
            .find(|a| a.name == shape.name)
            .ok_or("the account block was not read back")?;
        let tokens = account.imap.as_ref().and_then(|s| s.password.oauth2());
        if let Some(o) = tokens
            && !consented
        {
            oauth2::consent(o, shape.oauth, say).await?;
            consented = true;
        }
        let outcomes = crate::commands::check::check_account(&with_password(account, req)).await;
        for outcome in &outcomes {
            say(outcome.line());
        }
        if outcomes.iter().all(|o| o.result.is_ok()) {
            return Ok(block);
        }
        if fingerprint.is_none()
            && let Some(f) = trust::offer(account, &outcomes, say).await
        {
            if trust(&f) {
                fingerprint = Some(f);
                continue;
            }
            say(format!(
                "if it is the server you expect, trust it: run tern setup again with \
                 --trust-fingerprint {f}"
            ));
        }
        if let Some(o) = tokens {
            let o = o.clone();
            let _ = tokio::task::spawn_blocking(move || crate::oauth::tokens::remove(&o)).await;
        }
        return Err("a server did not work; nothing written".into());
    }
}

/// The config as it is (None when there is none), and its accounts' names.
fn existing(config: &Path) -> Result<(Option<String>, Vec<String>), String> {
    let existing = match std::fs::read_to_string(config) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", config.display())),
    };
    let taken = match &existing {
        Some(text) => Config::parse(text, config)
            .map_err(|e| format!("the config has an error, fix it first: {e}"))?
            .accounts
            .into_iter()
            .map(|a| a.name)
            .collect(),
        None => Vec::new(),
    };
    Ok((existing, taken))
}

/// A keyring call, off the async threads.
async fn keyring_call<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::keyring::KeyringError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// The account as checked: with the typed password in memory where it will read the keyring
/// (nothing is stored before the servers accepted it).
fn with_password(account: &AccountConfig, req: &Request) -> AccountConfig {
    let mut a = account.clone();
    if let Some(p) = &req.password {
        for s in [&mut a.imap, &mut a.pop3, &mut a.smtp]
            .into_iter()
            .flatten()
        {
            if matches!(s.password, PasswordSource::Keyring { .. }) {
                s.password = PasswordSource::Plain(p.clone());
            }
        }
    }
    a
}

/// The account's name: the one asked for, else the domain without its last label, made
/// unique among the config's accounts.
fn unique_name(req: &Request, taken: &[String]) -> String {
    let domain = discover::domain_of(&req.email).unwrap_or("mail");
    let base = req.account.clone().unwrap_or_else(|| {
        domain
            .rsplit_once('.')
            .map_or(domain, |(head, _)| head)
            .to_string()
    });
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// A TOML string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The account block appended to the config, commented: with a password command, the keyring
/// (a password given), or the `[account.oauth2]` table given; with a fingerprint to trust.
fn account_block(
    req: &Request,
    name: &str,
    f: &Found,
    oauth2: Option<&str>,
    trusted: Option<Fingerprint>,
) -> String {
    let mut b = format!(
        "\n# Added by `tern setup`: servers from {}.\n[[account]]\nname = {}\nemail = {}\n",
        f.source.replace('\n', " "),
        quoted(name),
        quoted(&req.email)
    );
    if let Some(d) = &req.display_name {
        b += &format!("display_name = {}\n", quoted(d));
    }
    if !f.save_sent {
        b += "# The provider files sent mail itself.\nsave_sent = false\n";
    }
    b += &format!(
        "username = {}\n",
        quoted(f.username.as_deref().unwrap_or(&req.email))
    );
    match (oauth2, &req.password) {
        (Some(_), _) => {}
        (None, Some(_)) => {
            b += &format!(
                "# The password is in the system keyring (`tern password {name}` changes it).\n\
                 password_keyring = true\n"
            );
        }
        (None, None) => {
            b += &format!("password_command = {}\n", quoted(&req.password_command));
        }
    }
    if let Some(ca) = &req.ca_file {
        b += &format!("ca_file = {}\n", quoted(&ca.display().to_string()));
    }
    if let Some(f) = trusted {
        b += &format!(
            "# The servers' own certificate, trusted by its fingerprint.\ntls_fingerprint = \"{f}\"\n"
        );
    }
    let table = if f.pop3 { "pop3" } else { "imap" };
    let server = |t: &str, s: &discover::Server| {
        format!(
            "[account.{t}]\nhost = {}\nport = {}\nsecurity = {}\n",
            quoted(&s.host),
            s.port,
            quoted(&s.security)
        )
    };
    b += &server(table, &f.incoming);
    if let Some(smtp) = &f.smtp {
        b += &server("smtp", smtp);
    }
    if let Some(table) = oauth2 {
        b += table;
    }
    b
}

/// Append the block (a new config file is created private to the user).
fn append(config: &Path, new: bool, block: &str) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", config.display());
    if new && let Some(dir) = config.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(config).map_err(fail)?;
    file.write_all(block.as_bytes()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_command_line_left_out_is_asked_for() {
        let mut req = Request::default();
        let mut input = std::io::Cursor::new("\nann@example.org\nAnn\n\npass show ann\n");
        let mut out = Vec::new();
        ask(&mut req, &mut input, &mut out, None).unwrap();
        assert_eq!(req.email, "ann@example.org");
        assert_eq!(req.display_name.as_deref(), Some("Ann"));
        assert_eq!(req.password_command, "pass show ann");
        let said = String::from_utf8(out).unwrap();
        assert_eq!(
            said.matches("Your address").count(),
            2,
            "asked again when empty"
        );
        // Given ones are not asked; an input that ends is an error.
        let mut req = Request {
            email: "a@b.c".into(),
            ..Default::default()
        };
        let e = ask(
            &mut req,
            &mut std::io::Cursor::new("\n"),
            &mut Vec::new(),
            None,
        )
        .unwrap_err();
        assert!(e.contains("end of input"), "{e}");
    }

    #[test]
    fn the_block_reads_back_as_the_account_found() {
        let req = Request {
            email: "ann@example.org".into(),
            display_name: Some("Ann \"the\" Writer".into()),
            password_command: "pass show 'mail/ann'".into(),
            ..Default::default()
        };
        let f = discover::from_providers("x@gmail.com").unwrap();
        let name = unique_name(&req, &["example".into()]);
        assert_eq!(name, "example-2");
        let block = account_block(&req, &name, &f, None, None);
        let cfg = Config::parse(
            &format!("data_dir = \"/nonexistent\"\n{block}"),
            Path::new("t.toml"),
        )
        .unwrap();
        let a = &cfg.accounts[0];
        assert_eq!(a.display_name.as_deref(), Some("Ann \"the\" Writer"));
        assert!(!a.save_sent);
        assert_eq!(a.imap.as_ref().unwrap().host, "imap.gmail.com");
        assert_eq!(a.smtp.as_ref().unwrap().port, 465);
    }
}
