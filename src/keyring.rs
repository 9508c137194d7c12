//! The system keyring: secrets stored by the desktop's Secret Service (GNOME Keyring, KeePassXC,
//! KWallet's bridge) over the session D-Bus, through `keyring-core` and its Secret Service
//! store. Each secret is the service "tern" and the user "ACCOUNT/ITEM" (item `password` for an
//! account's password).
//!
//! Blocking: every call talks to the bus (and an unlock may wait for the user to answer the
//! desktop's prompt), so async callers use `spawn_blocking`. Every call is bounded
//! ([`TIMEOUT`]). Errors are one line saying what is wrong (no session bus, no Secret Service,
//! locked); they never hold the secret.

use std::sync::mpsc;
use std::time::Duration;

use keyring_core::api::CredentialStoreApi;

use crate::config::Secret;

/// The service name of every secret tern stores.
pub const SERVICE: &str = "tern";

/// The item holding an account's password.
pub const PASSWORD: &str = "password";

/// How long a keyring call may take (it may wait for the user to unlock the keyring, like a
/// `password_command` waiting for a pin entry).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Why the keyring could not be used. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    #[error("no system keyring: no session D-Bus to reach it ({0})")]
    NoBus(String),
    #[error(
        "no system keyring: nothing on the session D-Bus provides the Secret Service \
         (org.freedesktop.secrets; start gnome-keyring or KeePassXC's Secret Service)"
    )]
    NoService,
    #[error("the system keyring is locked (or the unlock was refused): unlock it and try again")]
    Locked,
    #[error("the system keyring did not answer within {} s", TIMEOUT.as_secs())]
    Timeout,
    #[error("the system keyring failed: {0}")]
    Failed(String),
}

/// The secret `item` of `account`, `None` when the keyring has none.
pub fn get(account: &str, item: &str) -> Result<Option<Secret>, KeyringError> {
    let user = key(account, item);
    bounded(move || match entry(&user)?.get_password() {
        Ok(s) => Ok(Some(Secret::new(s))),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(classify(&e)),
    })
}

/// Store (or replace) the secret `item` of `account`.
pub fn set(account: &str, item: &str, secret: &Secret) -> Result<(), KeyringError> {
    let user = key(account, item);
    let secret = secret.clone();
    bounded(move || {
        entry(&user)?
            .set_password(secret.expose())
            .map_err(|e| classify(&e))
    })
}

/// Remove the secret `item` of `account` (nothing to do when there is none).
pub fn delete(account: &str, item: &str) -> Result<(), KeyringError> {
    let user = key(account, item);
    bounded(move || match entry(&user)?.delete_credential() {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(classify(&e)),
    })
}

/// Whether a keyring is there to use (a session bus with a Secret Service on it).
pub fn available() -> Result<(), KeyringError> {
    bounded(|| store().map(|_| ()))
}

fn key(account: &str, item: &str) -> String {
    format!("{account}/{item}")
}

/// A connection to the Secret Service, made per call: a keyring started (or unlocked) after
/// tern is found at the next call.
fn store() -> Result<std::sync::Arc<zbus_secret_service_keyring_store::Store>, KeyringError> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|a| a.is_empty())
        && !default_bus_exists()
    {
        return Err(KeyringError::NoBus(
            "DBUS_SESSION_BUS_ADDRESS is not set".into(),
        ));
    }
    zbus_secret_service_keyring_store::Store::new().map_err(|e| classify(&e))
}

/// The bus zbus falls back to without DBUS_SESSION_BUS_ADDRESS: $XDG_RUNTIME_DIR/bus.
fn default_bus_exists() -> bool {
    std::env::var_os("XDG_RUNTIME_DIR")
        .is_some_and(|d| std::path::Path::new(&d).join("bus").exists())
}

fn entry(user: &str) -> Result<keyring_core::Entry, KeyringError> {
    // The label keyring managers (Seahorse, KeePassXC) show for an item tern creates.
    let label = format!("tern: {user}");
    let modifiers = std::collections::HashMap::from([("label", label.as_str())]);
    store()?
        .build(SERVICE, user, Some(&modifiers))
        .map_err(|e| classify(&e))
}

/// Run `f` on a thread of its own, waiting at most [`TIMEOUT`]. (zbus's blocking calls run on
/// an executor of their own, which must not be started from inside tern's runtime; and a
/// keyring that never answers must not hold the caller.)
fn bounded<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeyringError> + Send + 'static,
) -> Result<T, KeyringError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(TIMEOUT)
        .unwrap_or(Err(KeyringError::Timeout))
}

/// One line for a keyring-core error. Its `BadEncoding` and `BadDataFormat` hold the stored
/// bytes: they are never formatted here.
fn classify(e: &keyring_core::Error) -> KeyringError {
    use keyring_core::Error as E;
    match e {
        E::NoStorageAccess(_) => KeyringError::Locked,
        E::PlatformFailure(inner) => platform(&inner.to_string()),
        E::BadEncoding(_) | E::BadDataFormat(..) => {
            KeyringError::Failed("the stored secret is not UTF-8 text".into())
        }
        E::Ambiguous(_) => KeyringError::Failed(
            "several entries match (remove the extra ones with seahorse or secret-tool)".into(),
        ),
        other => KeyringError::Failed(crate::domain::sanitize::line(&other.to_string())),
    }
}

/// A failure of the bus or the service, told apart by its text (the errors come from two
/// layers, secret-service and zbus, with no kind to match).
fn platform(text: &str) -> KeyringError {
    let text = crate::domain::sanitize::line(text);
    let has = |w: &str| text.contains(w);
    if has("ServiceUnknown") || has("NameHasNoOwner") || has("not provided by any .service") {
        KeyringError::NoService
    } else if has("no secret service provider or dbus session found")
        || has("Failed to connect")
        || has("No such file")
        || has("Connection refused")
    {
        KeyringError::NoBus(text)
    } else if has("locked") || has("prompt dismissed") {
        KeyringError::Locked
    } else {
        KeyringError::Failed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_told_apart_by_their_text() {
        assert_eq!(
            platform(
                "zbus error: org.freedesktop.DBus.Error.ServiceUnknown: The name is not activatable"
            ),
            KeyringError::NoService
        );
        assert!(matches!(
            platform("no secret service provider or dbus session found"),
            KeyringError::NoBus(_)
        ));
        assert_eq!(platform("SS Error: object locked"), KeyringError::Locked);
        assert_eq!(key("work", PASSWORD), "work/password");
    }
}
