//! Bounds on what the reader lays out: huge texts and HTML bodies are cut (at a line, before
//! a tag) and the reader says so.

use super::*;

/// `html` cut to at most `max` bytes, before a tag when one starts in the second half of the
/// cut (else on a char boundary), and the number of bytes left out.
pub(super) fn cut_html(html: &str, max: usize) -> (&str, usize) {
    if html.len() <= max {
        return (html, 0);
    }
    let mut end = max;
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(lt) = html[..end].rfind('<').filter(|&lt| lt >= end / 2) {
        end = lt;
    }
    (&html[..end], html.len() - end)
}

/// Cut `text` to at most `max_bytes` (on a char boundary) and `max_lines` lines; the bytes
/// left out.
pub(super) fn cut_text(text: &mut String, max_bytes: usize, max_lines: usize) -> usize {
    let mut end = text.len().min(max_bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if let Some((i, _)) = text[..end]
        .match_indices('\n')
        .nth(max_lines.saturating_sub(1))
    {
        end = i;
    }
    let cut = text.len() - end;
    if cut > 0 {
        text.truncate(end);
        text.shrink_to_fit();
    }
    cut
}

/// The text of styled lines, one line each.
pub(super) fn rich_text(lines: &[RichLine]) -> String {
    let mut out = String::new();
    for l in lines {
        for (s, _) in l {
            out.push_str(s);
        }
        out.push('\n');
    }
    out
}

/// Cut styled lines to the same bounds as [`cut_text`]; the bytes left out.
pub(super) fn cut_rich(lines: &mut Vec<RichLine>, max_bytes: usize, max_lines: usize) -> usize {
    let len = |l: &RichLine| l.iter().map(|(s, _)| s.len()).sum::<usize>() + 1;
    let mut kept = 0;
    let mut n = 0;
    for l in lines.iter() {
        if n == max_lines || kept + len(l) > max_bytes {
            break;
        }
        kept += len(l);
        n += 1;
    }
    let cut: usize = lines[n..].iter().map(len).sum();
    lines.truncate(n);
    lines.shrink_to_fit();
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::tests::{big_html, big_line};

    #[test]
    fn a_huge_single_line_is_cut_for_the_reader_only() {
        let raw = big_line(5);
        let v = parse_for_reader(&raw, 148);
        assert!(v.body.len() <= MAX_DISPLAY_BYTES, "{}", v.body.len());
        assert!(v.body.len() > MAX_DISPLAY_BYTES - 8);
        assert!(v.cut > 4 << 20, "{}", v.cut);
        assert!(v.meta.body_text.is_empty());
        assert!(v.rich.is_none());
        // The index gets the start of the text: a message over 4 MiB is parsed through its
        // skeleton, which keeps 512 KiB of each text part.
        let indexed = parse(&raw).meta.body_text;
        assert!(
            indexed.len() > 500 << 10 && indexed.len() <= (512 << 10) + 8,
            "{}",
            indexed.len()
        );
        assert!(v.body.starts_with(&indexed[..1000]));
    }

    #[test]
    fn a_huge_html_body_is_laid_out_from_a_bounded_cut() {
        let raw = big_html(5);
        let v = parse_for_reader(&raw, 148);
        assert_eq!(v.source, BodySource::Html);
        let rich = v.rich.expect("rich lines");
        assert!(rich.len() <= MAX_DISPLAY_LINES);
        let bytes: usize = rich.iter().flatten().map(|(s, _)| s.len() + 1).sum();
        assert!(bytes <= MAX_DISPLAY_BYTES + rich.len(), "{bytes}");
        assert!(v.body.len() <= MAX_DISPLAY_BYTES);
        assert!(v.cut > 4 << 20, "{}", v.cut);
        assert_eq!(v.links, ["https://x.example/"]);
    }

    #[test]
    fn many_short_lines_are_cut_at_the_line_bound() {
        let mut raw = b"Subject: lines\r\n\r\n".to_vec();
        for _ in 0..MAX_DISPLAY_LINES + 50 {
            raw.extend_from_slice(b"x\r\n");
        }
        let v = parse_for_reader(&raw, 80);
        assert_eq!(v.body.lines().count(), MAX_DISPLAY_LINES);
        assert!(v.cut > 0);
    }

    #[test]
    fn a_normal_message_is_not_cut() {
        let raw = b"Subject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hi <a href=\"https://a.example/\">there</a></p>";
        let v = parse_for_reader(raw, 100);
        assert_eq!(v.cut, 0);
        assert_eq!(v.body, "Hi there[1]\n");
        let (rich, links) =
            html_to_rich("<p>Hi <a href=\"https://a.example/\">there</a></p>", 100).unwrap();
        assert_eq!(v.rich, Some(rich));
        assert_eq!(v.links, links);
        let raw = b"Subject: x\r\n\r\nsee https://b.example/ now\r\n";
        let v = parse_for_reader(raw, 100);
        assert_eq!(
            (v.cut, v.body.as_str()),
            (0, "see https://b.example/ now\r\n")
        );
        assert_eq!(v.links, ["https://b.example/"]);
    }

    #[test]
    fn html_is_cut_before_a_tag() {
        let html = format!("{}<b>tail</b>", "é".repeat(100));
        let (head, more) = cut_html(&html, 205);
        assert_eq!(head, "é".repeat(100));
        assert_eq!(more, "<b>tail</b>".len());
        let all = "é".repeat(100);
        let (head, _) = cut_html(&all, 51);
        assert_eq!(head.len(), 50);
    }
}
