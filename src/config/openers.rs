//! `[openers]`: which program opens an attachment of a MIME type.
//!
//! ```toml
//! [openers]
//! "application/pdf" = "zathura %s"
//! "image/*" = "imv %s"
//! ```

use std::collections::BTreeMap;

use toml::Spanned;

use super::validate::Cx;

impl Cx<'_> {
    /// Each key a MIME type (`type/subtype` or `type/*`, lower-cased), each value a command.
    pub(super) fn openers(
        &mut self,
        raw: BTreeMap<Spanned<String>, Spanned<String>>,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            let mime = k.get_ref().trim().to_ascii_lowercase();
            let valid = mime.split_once('/').is_some_and(|(t, s)| {
                let ok = |x: &str| {
                    !x.is_empty()
                        && x.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-+.*_".contains(c))
                };
                ok(t) && ok(s) && (t != "*" || s == "*")
            });
            if !valid {
                self.err(
                    k.span(),
                    format!(
                        "[openers] key `{}` is not a MIME type (like \"application/pdf\" or \"image/*\")",
                        k.get_ref()
                    ),
                );
                continue;
            }
            if v.get_ref().trim().is_empty() {
                self.err(
                    v.span(),
                    format!("[openers] \"{mime}\" is empty: give a command like \"zathura %s\""),
                );
                continue;
            }
            out.insert(mime, v.get_ref().trim().to_string());
        }
        out
    }
}
