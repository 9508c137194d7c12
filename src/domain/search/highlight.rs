//! The words of a query found in a text, for the reader to highlight.

use super::*;

/// The words a query looks for (not those it excludes), folded: what the reader highlights.
pub fn highlight_terms(q: &Query) -> Vec<String> {
    pub(super) fn walk(q: &Query, out: &mut Vec<String>) {
        match q {
            Query::Term(Term::Text { text, .. }) => {
                for w in text.split(|c: char| !c.is_alphanumeric()) {
                    let w = fold(w);
                    if !w.is_empty() && !out.contains(&w) {
                        out.push(w);
                    }
                }
            }
            Query::Term(_) | Query::Not(_) => {}
            Query::And(all) | Query::Or(all) => all.iter().for_each(|x| walk(x, out)),
        }
    }
    let mut out = Vec::new();
    walk(q, &mut out);
    out
}

/// Byte ranges of the words of `text` that start like one of `terms` (folded, as from
/// [`highlight_terms`]), in order.
pub fn match_ranges(text: &str, terms: &[String]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    if terms.is_empty() {
        return out;
    }
    let mut start = None;
    let check = |from: usize, to: usize, out: &mut Vec<std::ops::Range<usize>>| {
        let word = fold(&text[from..to]);
        if terms.iter().any(|t| word.starts_with(t.as_str())) {
            out.push(from..to);
        }
    };
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                check(s, i, &mut out);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        check(s, text.len(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::search::parser::tests::q;

    #[test]
    fn highlighting_finds_word_prefixes_diacritics_aside() {
        let terms = highlight_terms(&q("munch -spam from:renée \"quarterly review\""));
        assert_eq!(terms, vec!["munch", "renee", "quarterly", "review"]);
        let text = "Meet in München; Renée reviews the QUARTERLY numbers, not spam.";
        let hits: Vec<&str> = match_ranges(text, &terms)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!(hits, vec!["München", "Renée", "reviews", "QUARTERLY"]);
        assert!(match_ranges(text, &[]).is_empty());
    }
}
