//! HTML bodies as styled lines (bold, italic, links, code) or as plain text, and the links of
//! a plain text.

use super::*;

/// URLs in plain text, in order, each once.
pub(super) fn plain_links(text: &str) -> Vec<String> {
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    let mut out: Vec<String> = Vec::new();
    for l in finder.links(text) {
        let url = l.as_str().to_string();
        if !out.contains(&url) {
            out.push(url);
        }
    }
    out
}

/// HTML laid out with its styles (html2text's rich output), links numbered: each link's text
/// is followed by `[n]`. None when html2text refuses the input or it is over the render bound.
pub fn html_to_rich(html: &str, width: usize) -> Option<(Vec<RichLine>, Vec<String>)> {
    use html2text::render::RichAnnotation as A;
    if html.len() > MAX_RENDER_BYTES {
        return None;
    }
    // Escape sequences go whole before html2text, which would drop only their control bytes.
    let html = sanitize::escapes(html);
    let lines = html2text::config::rich()
        .no_table_borders()
        .lines_from_read(html.as_bytes(), width.max(20))
        .ok()?;
    let mut links: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(lines.len());
    for line in &lines {
        let mut spans: RichLine = Vec::new();
        let mut open_link: Option<usize> = None;
        let close = |spans: &mut RichLine, n: Option<usize>| {
            if let Some(n) = n {
                let style = SpanStyle {
                    link: true,
                    ..SpanStyle::default()
                };
                spans.push((format!("[{}]", n + 1), style));
            }
        };
        for ts in line.tagged_strings() {
            let mut style = SpanStyle::default();
            let mut link = None;
            for a in &ts.tag {
                match a {
                    A::Strong => style.bold = true,
                    A::Emphasis => style.italic = true,
                    A::Code | A::Preformat(_) => style.code = true,
                    A::Strikeout => style.strike = true,
                    A::Link(url) => {
                        style.link = true;
                        let n = match links.iter().position(|l| l == url) {
                            Some(n) => n,
                            None => {
                                links.push(url.clone());
                                links.len() - 1
                            }
                        };
                        link = Some(n);
                    }
                    _ => {}
                }
            }
            if open_link != link {
                close(&mut spans, open_link);
                open_link = link;
            }
            spans.push((ts.s.clone(), style));
        }
        close(&mut spans, open_link);
        out.push(spans);
    }
    Some((out, links))
}

/// Render HTML as plain text at `width` columns, bounded in size.
pub fn html_to_text(html: &str, width: usize) -> (String, bool) {
    let (input, more) = cut_html(html, MAX_HTML_BYTES);
    let cut = more > 0;
    // Escape sequences go whole before html2text, which would drop only their control bytes.
    let input = sanitize::escapes(input);
    let input = input.as_str();
    match html2text::config::plain()
        .no_table_borders()
        .string_from_read(input.as_bytes(), width.max(20))
    {
        Ok(s) => (s, cut),
        // html2text refuses some pathological input: fall back to the tag-stripped text.
        Err(_) => (mail_parser::decoders::html::html_to_text(input), true),
    }
}
