//! `tern password ACCOUNT`: an account's password stored in (or removed from) the system
//! keyring, for `password_keyring = true`.

use std::io::{BufRead, IsTerminal};

use crate::config::{Config, PasswordSource, Secret};
use crate::keyring;

/// Store the password of `account` (typed without echo in a terminal, else the first line of
/// standard input), or remove it with `delete`. Ok: what was done, one line; Err: why not.
pub fn password(cfg: &Config, account: &str, delete: bool) -> Result<String, String> {
    let Some(a) = cfg.accounts.iter().find(|a| a.name == account) else {
        let names: Vec<&str> = cfg.accounts.iter().map(|a| a.name.as_str()).collect();
        return Err(format!(
            "no account `{account}` in the config (accounts: {})",
            names.join(", ")
        ));
    };
    if delete {
        keyring::delete(account, keyring::PASSWORD).map_err(|e| e.to_string())?;
        return Ok(format!(
            "the password of account `{account}` is no longer in the system keyring"
        ));
    }
    // Said before asking: a missing keyring is not worth typing a password for.
    keyring::available().map_err(|e| e.to_string())?;
    let secret = read_password(&format!("Password of account `{account}`: "))?;
    keyring::set(account, keyring::PASSWORD, &secret).map_err(|e| e.to_string())?;
    let reads_it = [&a.imap, &a.pop3, &a.smtp]
        .into_iter()
        .flatten()
        .any(|s| matches!(s.password, PasswordSource::Keyring { .. }));
    let mut said = format!("the password of account `{account}` is in the system keyring");
    if !reads_it {
        said.push_str(
            " (note: the account does not read it yet: set password_keyring = true in its \
             [[account]] table, instead of password or password_command)",
        );
    }
    Ok(said)
}

/// A password typed without echo when standard input is a terminal, else its first line.
pub fn read_password(prompt: &str) -> Result<Secret, String> {
    let text = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(|e| format!("reading the password: {e}"))?
    } else {
        first_line(&mut std::io::stdin().lock())?
    };
    if text.is_empty() {
        return Err("no password given (an empty line)".into());
    }
    Ok(Secret::new(text))
}

/// The first line of `input`, without its line end.
pub fn first_line(input: &mut impl BufRead) -> Result<String, String> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| format!("reading the password from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
