//! OAuth2 in `tern setup`: the `[account.oauth2]` table of a new account, the consent (in a
//! browser through a loopback redirect, or with a device code), and `--reauth` for an account
//! whose consent was revoked or has expired.

use std::path::Path;

use super::discover::{Found, OAuth2Found};
use crate::config::{Config, OAuth2Config};
use crate::oauth::{flow, tokens};

/// What the user chose for OAuth2.
#[derive(Debug, Clone, Default)]
pub struct OAuth2Request {
    /// Sign in with OAuth2 (also chosen when the provider accepts nothing else).
    pub enabled: bool,
    /// The client id registered with the provider.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// The device-code flow instead of the browser.
    pub device: bool,
    /// Do not open a browser (the address is printed either way).
    pub no_browser: bool,
}

/// A TOML string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The `[account.oauth2]` table for what was found. Err: what is missing.
pub fn table(found: &Found, req: &OAuth2Request) -> Result<String, String> {
    let Some(endpoints) = &found.oauth2 else {
        return Err(format!(
            "{} gives no OAuth2 endpoints; write [account.oauth2] by hand (see \
             config.example.toml)",
            found.source
        ));
    };
    let Some(client_id) = req.client_id.as_deref().filter(|c| !c.trim().is_empty()) else {
        let provider = match endpoints {
            OAuth2Found::Preset(p) => p.as_str(),
            OAuth2Found::Endpoints { .. } => "the provider",
        };
        return Err(format!(
            "OAuth2 needs a client id registered with {provider} (README: OAuth2); give it \
             with --client-id"
        ));
    };
    let mut t = String::from(
        "# OAuth2: tokens, kept in tern's data directory, not a password.\n[account.oauth2]\n",
    );
    match endpoints {
        OAuth2Found::Preset(p) => t += &format!("provider = {}\n", quoted(p)),
        OAuth2Found::Endpoints {
            auth_url,
            token_url,
            scopes,
        } => {
            t += &format!(
                "auth_url = {}\ntoken_url = {}\n",
                quoted(auth_url),
                quoted(token_url)
            );
            let list: Vec<String> = scopes.iter().map(|s| quoted(s)).collect();
            t += &format!("scopes = [{}]\n", list.join(", "));
        }
    }
    t += &format!("client_id = {}\n", quoted(client_id.trim()));
    if let Some(secret) = req.client_secret.as_deref().filter(|s| !s.is_empty()) {
        t += &format!("client_secret = {}\n", quoted(secret));
    }
    Ok(t)
}

/// Ask for the user's consent and keep the tokens.
pub async fn consent(
    cfg: &OAuth2Config,
    req: &OAuth2Request,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<(), String> {
    let got = if req.device {
        flow::device(cfg, say).await
    } else {
        flow::authorize(cfg, !req.no_browser, say).await
    };
    let tokens = got.map_err(|e| e.to_string())?;
    match tokens::save(cfg, &tokens)
        .await
        .map_err(|e| e.to_string())?
    {
        tokens::Kept::Keyring => say("signed in; the tokens are in the system keyring".into()),
        tokens::Kept::File => say(format!(
            "signed in; no system keyring, so the tokens are in {} (yours alone)",
            cfg.token_file.display()
        )),
    }
    Ok(())
}

/// `tern setup --reauth ACCOUNT`: a new consent for an OAuth2 account, checked live.
pub async fn reauth(
    config: &Path,
    account: &str,
    req: &OAuth2Request,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<(), String> {
    let cfg = Config::load(config).map_err(|e| e.to_string())?;
    let Some(a) = cfg.accounts.iter().find(|a| a.name == account) else {
        let names: Vec<&str> = cfg.accounts.iter().map(|a| a.name.as_str()).collect();
        return Err(format!(
            "no account `{account}` in {} (accounts: {})",
            config.display(),
            names.join(", ")
        ));
    };
    let Some(oauth) = a.imap.as_ref().and_then(|s| s.password.oauth2()) else {
        return Err(format!(
            "account `{account}` does not sign in with OAuth2 (it has no [account.oauth2])"
        ));
    };
    if oauth.token_command.is_some() {
        return Err(format!(
            "account `{account}` gets its tokens from token_command: sign in again with that \
             broker"
        ));
    }
    consent(oauth, req, say).await?;
    let mut ok = true;
    for outcome in crate::commands::check::check_account(a).await {
        say(outcome.line());
        ok &= outcome.result.is_ok();
    }
    if ok {
        say(format!("account {account:?} works again"));
        Ok(())
    } else {
        Err("signed in, but a server still refuses the account".into())
    }
}
