//! `tls_fingerprint`: a server certificate trusted by its SHA-256 fingerprint.

use std::fmt;

use sha2::{Digest, Sha256};

/// The SHA-256 of a certificate (its DER bytes), written `sha256:AB:CD:...`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }

    /// `sha256:` and 64 hex digits, colons between the bytes allowed (any case); the
    /// `sha256:` prefix may be left out.
    pub fn parse(s: &str) -> Result<Fingerprint, String> {
        let t = s.trim();
        let hex_part = match t.split_once(':') {
            Some((algo, rest)) if algo.eq_ignore_ascii_case("sha256") => rest,
            Some((algo, _)) if algo.len() > 2 => {
                return Err(format!(
                    "tls_fingerprint `{s}`: only sha256 fingerprints are accepted"
                ));
            }
            _ => t,
        };
        let digits: String = hex_part.chars().filter(|c| *c != ':').collect();
        let bad = || {
            format!(
                "tls_fingerprint `{s}` is not a SHA-256 fingerprint (expected \"sha256:\" and 32 \
                 hex bytes, like sha256:AB:CD:...; `tern setup` shows it)"
            )
        };
        if digits.len() != 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(out))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_back_as_written() {
        let f = Fingerprint::of(b"certificate");
        let s = f.to_string();
        assert!(s.starts_with("sha256:") && s.len() == 7 + 32 * 3 - 1, "{s}");
        assert_eq!(Fingerprint::parse(&s), Ok(f));
        assert_eq!(Fingerprint::parse(&s.to_lowercase()), Ok(f));
        let bare: String = s[7..].chars().filter(|c| *c != ':').collect();
        assert_eq!(Fingerprint::parse(&bare), Ok(f));
        assert!(Fingerprint::parse("sha256:AB:CD").is_err());
        assert!(
            Fingerprint::parse(&format!("sha1:{bare}"))
                .unwrap_err()
                .contains("only sha256")
        );
        assert!(Fingerprint::parse(&s.replace('A', "G")).is_err() || !s.contains('A'));
    }
}
