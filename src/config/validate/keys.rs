//! The `[keys]` table: each binding checked, and keys that clash between actions. Two actions
//! the config binds to clashing keys (the same, or one the start of the other) are an error;
//! a key the config gives one action that another has by default is a warning: the config's
//! binding wins and the other action loses that key (see `keys::taken`).

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::super::Position;
use super::super::raw::KeyList;
use super::Cx;
use crate::domain::keys::{self, Action, KeySeq, validate_binding};

/// The bindings of a `[keys]` table, and the warnings about defaults they take.
pub(super) type Bindings = (BTreeMap<Action, Vec<KeySeq>>, Vec<String>);

impl Cx<'_> {
    pub(super) fn keys(&mut self, raw: BTreeMap<Spanned<String>, Spanned<KeyList>>) -> Bindings {
        let mut keys = BTreeMap::new();
        // Each key the config binds: its action and where it is written.
        let mut bound: Vec<(KeySeq, Action, Range<usize>)> = Vec::new();
        // In the order they are written: a clash is reported where the second key is.
        let mut raw: Vec<_> = raw.into_iter().collect();
        raw.sort_by_key(|(action, _)| action.span().start);
        for (action, list) in raw {
            let entries: Vec<(String, Range<usize>)> = match list.get_ref() {
                KeyList::One(k) => vec![(k.clone(), list.span())],
                KeyList::Many(ks) => ks.iter().map(|k| (k.get_ref().clone(), k.span())).collect(),
            };
            let Some(a) = Action::from_name(action.get_ref()) else {
                // Unknown action: point at its name.
                let e = validate_binding(action.get_ref(), "x")
                    .err()
                    .unwrap_or_default();
                self.err(action.span(), e);
                continue;
            };
            let mut seqs = Vec::new();
            for (key, span) in entries {
                match validate_binding(action.get_ref(), &key) {
                    Ok((_, seq)) if !seqs.contains(&seq) => {
                        if let Some(e) = self.clash(&bound, a, &seq) {
                            self.err(span, e);
                        } else {
                            bound.push((seq.clone(), a, span));
                            seqs.push(seq);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => self.err(span, e),
                }
            }
            keys.insert(a, seqs);
        }
        let warnings = keys::taken(&keys)
            .iter()
            .map(|t| {
                let line = bound
                    .iter()
                    .find(|(s, a, _)| *s == t.key && *a == t.by)
                    .map_or(0, |(_, _, span)| Position::at(self.src, span.start).line);
                format!("{}:{line}: {}", self.path.display(), t.describe())
            })
            .collect();
        (keys, warnings)
    }

    /// The error for `seq` of `action` when it clashes with a key the config gave another
    /// action before.
    fn clash(
        &self,
        bound: &[(KeySeq, Action, Range<usize>)],
        action: Action,
        seq: &KeySeq,
    ) -> Option<String> {
        let (other, by, span) = bound
            .iter()
            .find(|(s, b, _)| *b != action && keys::clash(s, seq))?;
        let line = Position::at(self.src, span.start).line;
        let (a, b) = (action.as_str(), by.as_str());
        Some(if other == seq {
            format!("key `{seq}` is bound to both `{b}` (line {line}) and `{a}`")
        } else {
            format!(
                "key `{seq}` of `{a}` clashes with `{other}` of `{b}` (line {line}): the shorter \
                 one would always fire first"
            )
        })
    }
}
