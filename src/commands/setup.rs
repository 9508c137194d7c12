//! `tern setup` from the command line: the request its options make, with what they left out
//! asked for in a terminal (the password without echo, kept in the keyring), and the question
//! whether to trust a loopback server's certificate by its fingerprint.

use std::io::{BufRead, IsTerminal, Write};

use crate::cli::{Command, OAuth2Args};
use crate::config::{Fingerprint, Secret};
use crate::setup::oauth2::OAuth2Request;
use crate::setup::{ReadHidden, Request, ask};

/// The OAuth2 part of `tern setup`'s command line.
pub fn oauth2_request(o: &OAuth2Args) -> OAuth2Request {
    OAuth2Request {
        enabled: o.oauth2 || o.client_id.is_some(),
        client_id: o.client_id.clone(),
        client_secret: o.client_secret.clone(),
        device: o.device,
        no_browser: o.no_browser,
    }
}

/// `tern setup`'s request from its command line, with what it left out asked for in a
/// terminal (the password typed without echo when there is a keyring to keep it).
pub fn request(args: &Command) -> Result<Request, String> {
    let Command::Setup {
        email,
        password_command,
        password_stdin,
        trust_fingerprint,
        name,
        account,
        ca_file,
        autoconfig,
        dns,
        oauth2,
    } = args
    else {
        return Err("not a setup command".into());
    };
    let mut req = Request {
        email: email.clone().unwrap_or_default(),
        display_name: name.clone(),
        account: account.clone(),
        password_command: password_command.clone().unwrap_or_default(),
        ca_file: ca_file.clone(),
        autoconfig: autoconfig.clone(),
        dns: *dns,
        oauth2: oauth2_request(oauth2),
        ..Default::default()
    };
    if let Some(f) = trust_fingerprint {
        req.trust_fingerprint = Some(Fingerprint::parse(f)?);
    }
    if *password_stdin {
        let line = super::password::first_line(&mut std::io::stdin().lock())?;
        if line.is_empty() {
            return Err(
                "--password-stdin: standard input has no password on its first line".into(),
            );
        }
        req.password = Some(Secret::new(line));
    }
    let complete = !req.email.is_empty()
        && (req.password.is_some() || !req.password_command.is_empty() || req.oauth2.enabled);
    if complete {
        return Ok(req);
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            "--email and --password-command (or --password-stdin, or --oauth2) are needed when \
             not run in a terminal"
                .into(),
        );
    }
    // The keyring is looked for only when a password is to be asked (an OAuth2 account
    // needs none); without one, nothing is typed and a password command is asked instead.
    let mut hidden = |prompt: &str| match crate::keyring::available() {
        Ok(()) => {
            rpassword::prompt_password(prompt).map_err(|e| format!("reading the password: {e}"))
        }
        Err(e) => {
            eprintln!("{e}: the password cannot be kept there; give a command that prints it");
            Ok(String::new())
        }
    };
    let hidden: Option<&mut ReadHidden> = Some(&mut hidden);
    ask(
        &mut req,
        &mut std::io::stdin().lock(),
        &mut std::io::stderr(),
        hidden,
    )?;
    Ok(req)
}

/// In a terminal: whether to trust the certificate of this fingerprint (a yes typed);
/// otherwise no (the caller says how to trust it).
pub fn ask_trust(f: &Fingerprint) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("Trust the certificate with the fingerprint {f} for this account? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}
