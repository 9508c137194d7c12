//! format=flowed (RFC 3676): soft line breaks joined back into paragraphs.

/// Reflow `format=flowed` text (RFC 3676): lines ending in a space continue on the next line
/// of the same quote depth, so paragraphs are joined and wrap to the reader's width instead of
/// the sender's. Hand-written: no maintained crate decodes it, and the rules are short.
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The paragraph being joined: its quote depth and text so far.
    let mut open: Option<(usize, String)> = None;
    let flush = |out: &mut String, depth: usize, para: &str| {
        for _ in 0..depth {
            out.push('>');
        }
        if depth > 0 && !para.is_empty() {
            out.push(' ');
        }
        out.push_str(para);
        out.push('\n');
    };
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = line.chars().take_while(|c| *c == '>').count();
        let mut body = &line[depth..];
        // Space-stuffing: one leading space was added by the sender.
        if let Some(rest) = body.strip_prefix(' ') {
            body = rest;
        }
        let flowed = body.ends_with(' ') && body != "-- ";
        if let Some((d, para)) = &mut open
            && *d != depth
        {
            flush(&mut out, *d, para);
            open = None;
        }
        let piece = if flowed && delsp {
            &body[..body.len() - 1]
        } else {
            body
        };
        match &mut open {
            Some((_, para)) => para.push_str(piece),
            None => open = Some((depth, piece.to_string())),
        }
        if !flowed && let Some((d, para)) = open.take() {
            flush(&mut out, d, &para);
        }
    }
    if let Some((d, para)) = open {
        flush(&mut out, d, &para);
    }
    // split('\n') saw one more (empty) line after a final newline than the text has.
    if !text.ends_with('\n') || out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::parse;

    #[test]
    fn flowed_paragraphs_join_and_fixed_lines_stay() {
        let text =
            "This is a long \r\nparagraph that was \r\nwrapped.\r\nA fixed line.\r\n-- \r\nSig\r\n";
        assert_eq!(
            unflow(text, false),
            "This is a long paragraph that was wrapped.\nA fixed line.\n-- \nSig\n"
        );
    }

    #[test]
    fn quote_depth_ends_a_paragraph_and_stuffing_is_removed() {
        let text = "> quoted and \r\n> flowed\r\n>> deeper\r\n From stuffed\r\nafter \r\n";
        assert_eq!(
            unflow(text, false),
            "> quoted and flowed\n>> deeper\nFrom stuffed\nafter \n"
        );
    }

    #[test]
    fn delsp_removes_the_soft_break_space() {
        assert_eq!(unflow("Ger \r\nman\r\n", true), "German\n");
    }

    #[test]
    fn a_flowed_message_is_reflowed_in_the_view() {
        let raw = b"From: a@b.example\r\nSubject: f\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n\r\nOne \r\ntwo \r\nthree.\r\n";
        assert_eq!(parse(raw).body.trim_end(), "One two three.");
    }
}
