//! The TOML file as serde sees it: every field that validation must point at is spanned.
//!
//! Unknown keys, wrong types and unknown enum values are rejected here by serde (with toml's
//! span); everything else is checked in `validate`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub data_dir: Option<Spanned<String>>,
    pub layout: Option<RawLayout>,
    pub mouse: Option<bool>,
    pub sidebar: Option<bool>,
    pub mark_read_on_open: Option<bool>,
    pub mark_read_delay: Option<u64>,
    pub send_delay: Option<Spanned<Interval>>,
    pub editor: Option<String>,
    pub download_dir: Option<Spanned<String>>,
    pub notify: Option<RawNotify>,
    pub openers: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    pub theme: Option<BTreeMap<Spanned<String>, Spanned<ColorValue>>>,
    pub keys: Option<BTreeMap<Spanned<String>, Spanned<KeyList>>>,
    #[serde(default, rename = "account")]
    pub accounts: Vec<Spanned<RawAccount>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawLayout {
    Auto,
    Wide,
    Tall,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccount {
    pub name: Spanned<String>,
    pub email: Spanned<String>,
    pub display_name: Option<String>,
    pub aliases: Option<Vec<Spanned<String>>>,
    pub offline: Option<RawOffline>,
    pub offline_attachment_limit: Option<Spanned<Size>>,
    pub save_sent: Option<bool>,
    pub signature: Option<String>,
    pub signatures: Option<BTreeMap<String, String>>,
    pub imap: Option<Spanned<RawServer>>,
    pub pop3: Option<Spanned<RawServer>>,
    pub smtp: Option<Spanned<RawServer>>,
    pub folders: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    pub notify: Option<Vec<String>>,
    /// Defaults for the account's server tables (each may set its own).
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<PlainPassword>>,
    pub password_command: Option<Spanned<String>>,
    pub password_keyring: Option<Spanned<bool>>,
    pub ca_file: Option<Spanned<String>>,
    pub tls_fingerprint: Option<Spanned<String>>,
    pub allow_plaintext_auth: Option<bool>,
    /// `[account.oauth2]`: tokens instead of a password.
    pub oauth2: Option<Spanned<RawOAuth2>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOAuth2 {
    pub provider: Option<Spanned<String>>,
    pub client_id: Option<Spanned<String>>,
    pub client_secret: Option<Spanned<PlainPassword>>,
    pub auth_url: Option<Spanned<String>>,
    pub token_url: Option<Spanned<String>>,
    pub device_url: Option<Spanned<String>>,
    pub scopes: Option<Vec<String>>,
    pub token_command: Option<Spanned<String>>,
}

impl RawAccount {
    /// `server` with the account-level keys it does not set itself. The password comes as a
    /// set: a server naming `password`, `password_command` or `password_keyring` takes none of
    /// them from the account.
    pub fn inherit(&self, mut server: RawServer) -> RawServer {
        if server.username.is_none() {
            server.username = self.username.clone();
        }
        if server.password.is_none()
            && server.password_command.is_none()
            && server.password_keyring.is_none()
        {
            server.password = self.password.clone();
            server.password_command = self.password_command.clone();
            server.password_keyring = self.password_keyring.clone();
        }
        if server.ca_file.is_none() {
            server.ca_file = self.ca_file.clone();
        }
        if server.tls_fingerprint.is_none() {
            server.tls_fingerprint = self.tls_fingerprint.clone();
        }
        if server.allow_plaintext_auth.is_none() {
            server.allow_plaintext_auth = self.allow_plaintext_auth;
        }
        server
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub method: Option<RawNotifyMethod>,
    pub command: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawNotifyMethod {
    Auto,
    Desktop,
    Terminal,
    Bell,
    None,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawOffline {
    Headers,
    Bodies,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub host: Spanned<String>,
    pub port: Option<Spanned<i64>>,
    pub security: Option<Spanned<RawSecurity>>,
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<PlainPassword>>,
    pub password_command: Option<Spanned<String>>,
    pub password_keyring: Option<Spanned<bool>>,
    pub ca_file: Option<Spanned<String>>,
    pub tls_fingerprint: Option<Spanned<String>>,
    pub allow_plaintext_auth: Option<bool>,
    pub poll_interval: Option<Spanned<Interval>>,
    pub compress: Option<Spanned<bool>>,
    pub leave_on_server: Option<Spanned<bool>>,
    pub delete_after_days: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawSecurity {
    Tls,
    StartTls,
    None,
}

/// A plain password. Unlike a `String`, a value of the wrong type is never echoed in the error.
#[derive(Clone)]
pub(super) struct PlainPassword(pub String);

impl fmt::Debug for PlainPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for PlainPassword {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const MSG: &str = "password must be a string (put it in quotes)";
        impl<'de> Visitor<'de> for V {
            type Value = PlainPassword;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PlainPassword, E> {
                Ok(PlainPassword(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<PlainPassword, E> {
                Ok(PlainPassword(v))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<PlainPassword, E> {
                Err(E::custom(MSG))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<PlainPassword, E> {
                Err(E::custom(MSG))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<PlainPassword, E> {
                Err(E::custom(MSG))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<PlainPassword, E> {
                Err(E::custom(MSG))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<PlainPassword, A::Error> {
                Err(de::Error::custom(MSG))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<PlainPassword, A::Error> {
                Err(de::Error::custom(MSG))
            }
        }
        d.deserialize_any(V)
    }
}

/// A theme colour: a string, or a bare 0-255 palette index.
#[derive(Debug)]
pub(super) struct ColorValue(pub String);

impl<'de> Deserialize<'de> for ColorValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ColorValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a colour: a name, \"#rrggbb\" or a 0-255 index")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColorValue, E> {
                Ok(ColorValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ColorValue, E> {
                Ok(ColorValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ColorValue, E> {
                Ok(ColorValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A `[keys]` value: one binding or a list of bindings (each spanned).
#[derive(Debug)]
pub(super) enum KeyList {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key (\"j\") or a list of keys ([\"j\", \"down\"])")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyList, E> {
                Ok(KeyList::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyList, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = seq.next_element::<Spanned<String>>()? {
                    out.push(k);
                }
                Ok(KeyList::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A size in bytes: an integer, or a string like `"10 MiB"`, `"500 kB"`, `"2G"`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: bytes as an integer, or a string like \"10 MiB\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v).map(Size).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A time span: seconds as an integer, or a string like `"90s"`, `"2m"`, `"1h 30m"`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Interval(pub std::time::Duration);

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Interval;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a time span: seconds as an integer, or a string like \"2m\" or \"90s\"",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Interval, E> {
                u64::try_from(v)
                    .map(|s| Interval(std::time::Duration::from_secs(s)))
                    .map_err(|_| E::custom("a time span cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Interval, E> {
                Ok(Interval(std::time::Duration::from_secs(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Interval, E> {
                humantime::parse_duration(v.trim())
                    .map(Interval)
                    .map_err(|_| {
                        E::custom(format!(
                            "invalid time span `{v}`, expected e.g. \"90s\", \"2m\" or \"1h\""
                        ))
                    })
            }
        }
        d.deserialize_any(V)
    }
}

/// Parse a human size: a number (decimals allowed) and an optional unit. `k`/`kB` are 1000,
/// `KiB` 1024, and so on up to T; a bare number is bytes.
pub(super) fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid size `{s}`, expected bytes or a number with a unit (B, kB, KiB, MB, MiB, GB, GiB), \
             like \"10 MiB\""
        )
    };
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(bad());
    }
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    if let Ok(n) = num.parse::<u64>() {
        return n
            .checked_mul(mult)
            .ok_or_else(|| format!("size `{s}` is too large"));
    }
    let f: f64 = num.parse().map_err(|_| bad())?;
    let bytes = (f * mult as f64).round();
    if bytes >= u64::MAX as f64 {
        return Err(format!("size `{s}` is too large"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10 MiB"), Ok(10 << 20));
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("1.5 kib"), Ok(1536));
        assert_eq!(parse_size("500 kB"), Ok(500_000));
        assert_eq!(parse_size("2G"), Ok(2_000_000_000));
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size(" 7 b "), Ok(7));
        assert!(parse_size("ten MiB").is_err());
        assert!(parse_size("10 parsecs").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("1.").is_err());
        assert!(parse_size("-1 MiB").is_err());
        assert!(parse_size("99999999999 TiB").is_err());
    }
}
