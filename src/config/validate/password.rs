//! Where a server's password comes from (`password`, `password_command`, `password_keyring`:
//! at most one), and the certificate it trusts by fingerprint (`tls_fingerprint`).

use std::ops::Range;

use toml::Spanned;

use super::super::raw::{PlainPassword, RawServer};
use super::super::{Fingerprint, PasswordSource, Secret, Security};
use super::Cx;

/// The password keys that are set (`password_keyring = false` is not), with their spans, in
/// this order.
pub(super) fn sources_set(
    password: &Option<Spanned<PlainPassword>>,
    command: &Option<Spanned<String>>,
    keyring: &Option<Spanned<bool>>,
) -> Vec<(&'static str, Range<usize>)> {
    let mut set = Vec::new();
    if let Some(p) = password {
        set.push(("password", p.span()));
    }
    if let Some(c) = command {
        set.push(("password_command", c.span()));
    }
    if let Some(k) = keyring.as_ref().filter(|k| *k.get_ref()) {
        set.push(("password_keyring", k.span()));
    }
    set
}

impl Cx<'_> {
    /// An error at the later of two password keys set together. True when there was one.
    pub(super) fn clashing_passwords(&mut self, set: &[(&'static str, Range<usize>)]) -> bool {
        let [(first, a), (second, b), ..] = set else {
            return false;
        };
        let later = if a.start > b.start { a } else { b };
        self.err(
            later.clone(),
            format!("both {first} and {second} are set; keep one"),
        );
        true
    }

    /// The password source of a server table (its account's keys inherited already).
    pub(super) fn password_source(&mut self, raw: &RawServer, account: &str) -> PasswordSource {
        let set = sources_set(&raw.password, &raw.password_command, &raw.password_keyring);
        if self.clashing_passwords(&set) {
            return PasswordSource::None;
        }
        match (&raw.password, &raw.password_command) {
            (Some(p), _) if p.get_ref().0.is_empty() => {
                self.err(
                    p.span(),
                    "password is empty (remove it if the server needs none)",
                );
                PasswordSource::None
            }
            (Some(p), _) => PasswordSource::Plain(Secret::new(p.get_ref().0.clone())),
            (None, Some(c)) if c.get_ref().trim().is_empty() => {
                self.err(c.span(), "password_command is empty");
                PasswordSource::None
            }
            (None, Some(c)) => PasswordSource::Command(c.get_ref().clone()),
            (None, None) if raw.password_keyring.as_ref().is_some_and(|k| *k.get_ref()) => {
                PasswordSource::Keyring {
                    account: account.to_string(),
                }
            }
            (None, None) => PasswordSource::None,
        }
    }

    /// `tls_fingerprint`, read; it needs TLS to mean anything.
    pub(super) fn fingerprint(
        &mut self,
        raw: &Option<Spanned<String>>,
        security: Security,
    ) -> Option<Fingerprint> {
        let f = raw.as_ref()?;
        if security == Security::None {
            self.err(
                f.span(),
                "tls_fingerprint has no meaning with security = \"none\" (no TLS); use \
                 \"starttls\" or \"tls\"",
            );
            return None;
        }
        match Fingerprint::parse(f.get_ref()) {
            Ok(fp) => Some(fp),
            Err(e) => {
                self.err(f.span(), e);
                None
            }
        }
    }
}
