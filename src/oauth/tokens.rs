//! Where an account's OAuth2 tokens are kept: a file private to the user in the data
//! directory (`oauth2/<account>.json`, 0600 in a 0700 directory), replaced whole on each
//! save so a crash never leaves half a token.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oauth2::TokenResponse;
use serde::{Deserialize, Serialize};

use super::Failure;
use crate::config::{OAuth2Config, Secret};

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

/// The stored tokens, if any.
pub async fn load(cfg: &OAuth2Config) -> Result<Option<Tokens>, Failure> {
    let path = cfg.token_file.clone();
    tokio::task::spawn_blocking(move || read(&path))
        .await
        .map_err(|e| Failure::Temporary(e.to_string()))?
}

/// Keep these tokens (replacing the old ones).
pub async fn save(cfg: &OAuth2Config, tokens: &Tokens) -> Result<(), Failure> {
    let path = cfg.token_file.clone();
    let tokens = tokens.clone();
    tokio::task::spawn_blocking(move || write(&path, &tokens))
        .await
        .map_err(|e| Failure::Temporary(e.to_string()))?
}

fn read(path: &Path) -> Result<Option<Tokens>, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::Temporary(format!("{}: {e}", path.display())));
        }
    };
    // A file that does not read is as good as none: a new consent replaces it.
    let Ok(s) = serde_json::from_str::<Stored>(&text) else {
        tracing::warn!(path = %path.display(), "unreadable OAuth2 token file");
        return Ok(None);
    };
    Ok(Some(Tokens {
        access: Secret::new(s.access_token),
        refresh: s.refresh_token.map(Secret::new),
        expires_at: s.expires_at,
    }))
}

fn write(path: &Path, tokens: &Tokens) -> Result<(), Failure> {
    let fail = |e: &dyn std::fmt::Display| Failure::Temporary(format!("{}: {e}", path.display()));
    let dir = path.parent().ok_or_else(|| fail(&"no directory"))?;
    create_private_dir(dir).map_err(|e| fail(&e))?;
    let stored = Stored {
        access_token: tokens.access.expose().to_string(),
        refresh_token: tokens.refresh.as_ref().map(|r| r.expose().to_string()),
        expires_at: tokens.expires_at,
    };
    let json = serde_json::to_vec(&stored).map_err(|e| fail(&e))?;
    // tempfile creates the file 0600; persist renames it over the old one.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
    std::io::Write::write_all(&mut tmp, &json).map_err(|e| fail(&e))?;
    tmp.as_file().sync_all().map_err(|e| fail(&e))?;
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

/// Forget the tokens (a new consent follows).
pub fn remove(cfg: &OAuth2Config) -> std::io::Result<()> {
    match std::fs::remove_file(&cfg.token_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
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

    #[tokio::test]
    async fn tokens_round_trip_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(dir.path());
        assert_eq!(load(&c).await.unwrap(), None);
        let t = Tokens {
            access: Secret::new("at"),
            refresh: Some(Secret::new("rt")),
            expires_at: Some(now() + 3600),
        };
        save(&c, &t).await.unwrap();
        assert_eq!(load(&c).await.unwrap(), Some(t.clone()));
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
            load(&c).await.unwrap(),
            None,
            "an unreadable file is no token"
        );
    }
}
