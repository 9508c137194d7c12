//! `tern setup`: an account from an address. Its servers are discovered ([`discover`]: the
//! provider's autoconfig file, then tern's provider list), every one of them is logged in to
//! with the password command (the same code as `tern check --connect`), and only then is a
//! commented account block appended to the config (created when there is none; an existing
//! one is never rewritten). Nothing is written when a server does not work.

pub mod discover;
pub mod dns;
pub mod find;
pub mod oauth2;
pub mod probe;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;
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
    /// A CA to trust for the account's servers (and its autoconfig).
    pub ca_file: Option<PathBuf>,
    /// Where the autoconfig file is, instead of the provider's usual places.
    pub autoconfig: Option<String>,
    /// A DNS server to ask (IP:PORT) instead of the system's.
    pub dns: Option<std::net::SocketAddr>,
    /// Sign in with OAuth2 instead of a password.
    pub oauth2: oauth2::OAuth2Request,
}

/// Ask on the terminal for what the command line did not give: the address, a name, the
/// password command.
pub fn ask(
    req: &mut Request,
    input: &mut impl std::io::BufRead,
    out: &mut impl Write,
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
    while req.password_command.is_empty() {
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
    if discover::domain_of(&req.email).is_none() || !req.email.contains('@') {
        return Err(format!("not an address: {:?}", req.email));
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
        if req.password_command.trim().is_empty() {
            return Err("a password command is needed (--password-command), or --oauth2".into());
        }
        None
    };
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
    let name = unique_name(req, &taken);
    let block = account_block(req, &name, &found, oauth_table.as_deref());
    let whole = format!("{}{block}", existing.as_deref().unwrap_or(""));
    let cfg = Config::parse(&whole, config).map_err(|e| format!("the account block: {e}"))?;
    let account = cfg
        .accounts
        .iter()
        .find(|a| a.name == name)
        .ok_or("the account block was not read back")?;
    let tokens = account.imap.as_ref().and_then(|s| s.password.oauth2());
    if let Some(o) = tokens {
        oauth2::consent(o, &oauth, say).await?;
    }
    let mut ok = true;
    for outcome in crate::commands::check::check_account(account).await {
        say(outcome.line());
        ok &= outcome.result.is_ok();
    }
    if !ok {
        if let Some(o) = tokens {
            let _ = crate::oauth::tokens::remove(o);
        }
        return Err("a server did not work; nothing written".into());
    }
    append(config, existing.is_none(), &block)?;
    say(format!(
        "account {name:?} written to {}; `tern` opens it",
        config.display()
    ));
    Ok(())
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

/// The account block appended to the config, commented: with a password command, or with
/// the `[account.oauth2]` table given.
fn account_block(req: &Request, name: &str, f: &Found, oauth2: Option<&str>) -> String {
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
    if oauth2.is_none() {
        b += &format!("password_command = {}\n", quoted(&req.password_command));
    }
    if let Some(ca) = &req.ca_file {
        b += &format!("ca_file = {}\n", quoted(&ca.display().to_string()));
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
        ask(&mut req, &mut input, &mut out).unwrap();
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
        let e = ask(&mut req, &mut std::io::Cursor::new("\n"), &mut Vec::new()).unwrap_err();
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
        let block = account_block(&req, &name, &f, None);
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
