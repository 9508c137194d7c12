//! Where an account's OAuth2 tokens are kept: the system keyring (the item `ACCOUNT/oauth2`,
//! see [`crate::keyring`]) where there is one, else a file private to the user in the data
//! directory (`oauth2/<account>.json`, 0600 in a 0700 directory) replaced whole on each save,
//! so a crash never leaves half a token. A file, when there is one, is read first (it was
//! written when the keyring could not be used); a save to the keyring removes it.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oauth2::TokenResponse;
use serde::{Deserialize, Serialize};

use super::Failure;
use crate::config::{OAuth2Config, Secret};
use crate::keyring::{self, KeyringError};

/// The keyring item holding an account's tokens.
pub const ITEM: &str = "oauth2";

/// Where tokens were kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Keyring,
    File,
}

/// An account's tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access: Secret,
    pub refresh: Option<Secret>,
    /// Seconds since the epoch; None: the provider did not say.
    pub expires_at: Option<u64>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// On disk.
#[derive(Serialize, Deserialize)]
struct Stored {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Tokens {
    /// From a token endpoint's answer; a refresh keeps the old refresh token when the
    /// provider sends no new one.
    pub fn from_response<T: TokenResponse>(t: &T, old_refresh: Option<&Secret>) -> Tokens {
        Tokens {
            access: Secret::new(t.access_token().secret().clone()),
            refresh: t
                .refresh_token()
                .map(|r| Secret::new(r.secret().clone()))
                .or_else(|| old_refresh.cloned()),
            expires_at: t.expires_in().map(|d| now().saturating_add(d.as_secs())),
        }
    }

    /// Whether the access token is good for at least `margin` more (a token without an
    /// expiry is used until a server refuses it).
    pub fn good_for(&self, margin: Duration) -> bool {
        self.expires_at
            .is_none_or(|at| at > now().saturating_add(margin.as_secs()))
    }
}

/// The stored tokens, if any: from the file when there is one, else from the keyring.
pub async fn load(cfg: &OAuth2Config) -> Result<Option<Tokens>, Failure> {
    let (path, account) = (cfg.token_file.clone(), cfg.account.clone());
    tokio::task::spawn_blocking(move || {
        if path.exists() {
            return read(&path);
        }
        match keyring::get(&account, ITEM) {
            Ok(Some(s)) => Ok(parse(s.expose())),
            // No keyring here: then there is no token (setup kept it in the file).
            Ok(None) | Err(KeyringError::NoBus(_) | KeyringError::NoService) => Ok(None),
            // Locked, or not answering: the token is there, try again later.
            Err(e) => Err(Failure::Temporary(format!("the OAuth2 token: {e}"))),
        }
    })
    .await
    .map_err(|e| Failure::Temporary(e.to_string()))?
}

/// Keep these tokens (replacing the old ones): in the keyring (the file then goes), else in
/// the file.
pub async fn save(cfg: &OAuth2Config, tokens: &Tokens) -> Result<Kept, Failure> {
    let (path, account) = (cfg.token_file.clone(), cfg.account.clone());
    let json = Secret::new(String::from_utf8_lossy(&to_json(tokens)).into_owned());
    let tokens = tokens.clone();
    tokio::task::spawn_blocking(move || match keyring::set(&account, ITEM, &json) {
        Ok(()) => {
            let _ = std::fs::remove_file(&path);
            Ok(Kept::Keyring)
        }
        Err(e) => {
            tracing::debug!(error = %e, "no keyring for the OAuth2 token: kept in a file");
            write(&path, &tokens).map(|()| Kept::File)
        }
    })
    .await
    .map_err(|e| Failure::Temporary(e.to_string()))?
}

fn to_json(tokens: &Tokens) -> Vec<u8> {
    let stored = Stored {
        access_token: tokens.access.expose().to_string(),
        refresh_token: tokens.refresh.as_ref().map(|r| r.expose().to_string()),
        expires_at: tokens.expires_at,
    };
    serde_json::to_vec(&stored).unwrap_or_default()
}

/// Tokens as stored; what does not read is as good as none (a new consent replaces it).
fn parse(text: &str) -> Option<Tokens> {
    let s = serde_json::from_str::<Stored>(text).ok()?;
    Some(Tokens {
        access: Secret::new(s.access_token),
        refresh: s.refresh_token.map(Secret::new),
        expires_at: s.expires_at,
    })
}

fn read(path: &Path) -> Result<Option<Tokens>, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::Temporary(format!("{}: {e}", path.display())));
        }
    };
    let tokens = parse(&text);
    if tokens.is_none() {
        tracing::warn!(path = %path.display(), "unreadable OAuth2 token file");
    }
    Ok(tokens)
}

fn write(path: &Path, tokens: &Tokens) -> Result<(), Failure> {
    let fail = |e: &dyn std::fmt::Display| Failure::Temporary(format!("{}: {e}", path.display()));
    let dir = path.parent().ok_or_else(|| fail(&"no directory"))?;
    create_private_dir(dir).map_err(|e| fail(&e))?;
    let json = to_json(tokens);
    // tempfile creates the file 0600; persist renames it over the old one.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
    std::io::Write::write_all(&mut tmp, &json).map_err(|e| fail(&e))?;
    tmp.as_file().sync_all().map_err(|e| fail(&e))?;
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

/// Forget the tokens, wherever they are (blocking).
pub fn remove(cfg: &OAuth2Config) {
    let _ = std::fs::remove_file(&cfg.token_file);
    let _ = keyring::delete(&cfg.account, ITEM);
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &Path) -> OAuth2Config {
        OAuth2Config {
            account: "work".into(),
            email: "a@b.c".into(),
            token_file: dir.join("oauth2/work.json"),
            provider: None,
            client_id: "id".into(),
            client_secret: None,
            auth_url: "https://a/".into(),
            token_url: "https://a/t".into(),
            device_url: None,
            scopes: vec![],
            token_command: None,
        }
    }

    // The file alone: a unit test never touches the keyring of whoever runs it
    // (tests/oauth2.rs proves the keyring with a private one).
    #[test]
    fn tokens_round_trip_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(dir.path());
        assert_eq!(read(&c.token_file).unwrap(), None);
        let t = Tokens {
            access: Secret::new("at"),
            refresh: Some(Secret::new("rt")),
            expires_at: Some(now() + 3600),
        };
        write(&c.token_file, &t).unwrap();
        assert_eq!(read(&c.token_file).unwrap(), Some(t.clone()));
        assert!(t.good_for(Duration::from_secs(60)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&c.token_file)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{t:?}").contains("rt"), "no secret in Debug");
        let soon = Tokens {
            expires_at: Some(now() + 30),
            ..t
        };
        assert!(!soon.good_for(Duration::from_secs(60)));
        std::fs::write(&c.token_file, "garbage").unwrap();
        assert_eq!(
            read(&c.token_file).unwrap(),
            None,
            "an unreadable file is no token"
        );
    }
}
