//! What CAPA answered (RFC 2449).

use super::*;

/// What the server announced in answer to CAPA: capability names (upper-cased) with their
/// arguments, e.g. `STLS`, `USER`, `UIDL`, `PIPELINING`, `RESP-CODES`, `SASL PLAIN LOGIN`.
/// Empty when the server does not know CAPA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(HashMap<String, Vec<String>>);

impl Capabilities {
    pub(super) fn parse(lines: &[Vec<u8>]) -> Capabilities {
        let mut caps = HashMap::new();
        for line in lines {
            let text = String::from_utf8_lossy(line);
            let mut words = text.split_ascii_whitespace();
            if let Some(name) = words.next() {
                caps.insert(
                    name.to_ascii_uppercase(),
                    words.map(str::to_string).collect(),
                );
            }
        }
        Capabilities(caps)
    }

    /// Whether the server announced capability `name` (case-insensitive).
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(&name.to_ascii_uppercase())
    }

    /// The arguments of capability `name`, e.g. the mechanisms of `SASL`; empty if absent.
    pub fn args(&self, name: &str) -> &[String] {
        self.0
            .get(&name.to_ascii_uppercase())
            .map_or(&[], Vec::as_slice)
    }

    /// Whether SASL mechanism `mech` (e.g. "PLAIN") is offered.
    pub fn sasl(&self, mech: &str) -> bool {
        self.args("SASL")
            .iter()
            .any(|m| m.eq_ignore_ascii_case(mech))
    }

    /// True when the server announced nothing (CAPA unknown to it).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
