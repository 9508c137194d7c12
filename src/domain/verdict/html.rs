//! An HTML body scanned for what the reader warns about: links whose text shows another host
//! than their target, and remote resources (images, style sheets, frames, CSS `url()`), the
//! known tracking pixels among them.
//!
//! A linear pass over the tags, no DOM: html5ever's tree (through html2text) costs tens of
//! times its input, and only start tags, a few attributes and a link's text matter here. The
//! caller bounds the input (`message::MAX_HTML_BYTES`); tags, attributes and kept text are
//! bounded here too.

use super::{Deceptive, Signs, host_shown, normal_domain, related};

/// Tags looked at, at most; links judged, at most.
const MAX_TAGS: usize = 100_000;
const MAX_LINKS: usize = 5_000;
/// Attributes of one tag kept; characters of a link's text kept.
const MAX_ATTRS: usize = 32;
const MAX_LINK_TEXT: usize = 300;
/// Deceptive links kept to show (all are counted).
const MAX_KEPT: usize = 20;

/// Hosts (and their subdomains) that serve tracking pixels, one a line.
const TRACKERS: &str = include_str!("../../../assets/trackers.txt");

/// Remote content in a message's HTML: tern loads none of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Remote {
    /// Remote images, style sheets, frames, media, CSS urls.
    pub resources: u32,
    /// Of those, known tracking pixels: 1x1 (or hidden) images, or a tracker's host.
    pub trackers: u32,
}

/// One start tag: its name (lower case) and attributes (names lower case, values raw).
struct Tag<'a> {
    name: String,
    attrs: Vec<(String, &'a str)>,
}

impl Tag<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| decode(v))
    }
}

/// Scans `html` into `signs`: its deceptive links and its remote content.
pub fn scan(html: &str, signs: &mut Signs) {
    let b = html.as_bytes();
    let mut i = 0;
    let mut tags = 0;
    let mut links = 0;
    // The open link: its target and its text so far.
    let mut open: Option<(String, String)> = None;
    while i < b.len() && tags < MAX_TAGS {
        let Some(lt) = memchr::memchr(b'<', &b[i..]).map(|p| i + p) else {
            push_text(&mut open, &html[i..]);
            break;
        };
        push_text(&mut open, &html[i..lt]);
        tags += 1;
        let rest = &b[lt + 1..];
        if rest.starts_with(b"!--") {
            i = find(b, lt + 4, b"-->").map_or(b.len(), |p| p + 3);
        } else if rest.first() == Some(&b'/') {
            let (name, end) = name_at(html, lt + 2);
            i = memchr::memchr(b'>', &b[end..]).map_or(b.len(), |p| end + p + 1);
            if name == "a" {
                close(&mut open, signs, &mut links);
            }
        } else if rest.first().is_some_and(u8::is_ascii_alphabetic) {
            let (tag, end) = tag_at(html, lt + 1);
            i = end;
            i = start_tag(&tag, html, i, &mut open, signs, &mut links);
        } else {
            push_text(&mut open, "<");
            i = lt + 1;
        }
    }
    close(&mut open, signs, &mut links);
}

/// What a start tag holds; returns where scanning goes on (past a style or script's text).
fn start_tag(
    tag: &Tag<'_>,
    html: &str,
    at: usize,
    open: &mut Option<(String, String)>,
    signs: &mut Signs,
    links: &mut usize,
) -> usize {
    let remote = &mut signs.remote;
    if let Some(style) = tag.get("style") {
        css_urls(&style, remote);
    }
    if let Some(bg) = tag.get("background") {
        count(remote, &bg, false);
    }
    let src = tag.get("src");
    match tag.name.as_str() {
        "a" => {
            close(open, signs, links);
            *open = tag.get("href").map(|h| (h, String::new()));
        }
        "img" => {
            if let Some(src) = &src {
                count(remote, src, pixel(tag));
            }
        }
        "link" => {
            let rel = tag.get("rel").unwrap_or_default().to_ascii_lowercase();
            if (rel.contains("stylesheet") || rel.contains("icon") || rel.contains("preload"))
                && let Some(href) = tag.get("href")
            {
                count(remote, &href, false);
            }
        }
        "iframe" | "frame" | "embed" | "script" | "audio" | "video" | "source" | "track"
        | "input" => {
            if let Some(src) = &src {
                count(remote, src, false);
            }
            if let Some(poster) = tag.get("poster") {
                count(remote, &poster, false);
            }
        }
        "object" => {
            if let Some(data) = tag.get("data") {
                count(remote, &data, false);
            }
        }
        _ => {}
    }
    match tag.name.as_str() {
        // Their text is not HTML: skipped (a style sheet's urls counted).
        name @ ("style" | "script" | "title" | "textarea") => {
            let close = format!("</{name}");
            let end = find_ci(html.as_bytes(), at, close.as_bytes()).unwrap_or(html.len());
            if name == "style" {
                css_urls(&html[at..end], &mut signs.remote);
            }
            end
        }
        _ => at,
    }
}

/// Whether an image is a tracking pixel by its looks: 1x1 or smaller, or hidden.
fn pixel(tag: &Tag<'_>) -> bool {
    let tiny = |v: Option<String>| {
        v.is_some_and(|v| {
            let digits: String = v.trim().chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().is_ok_and(|n| n <= 1)
        })
    };
    let style: String = tag
        .get("style")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let css_tiny = |prop: &str| {
        ["0;", "0px", "1px"]
            .iter()
            .any(|v| style.contains(&format!("{prop}:{v}")))
            || style.ends_with(&format!("{prop}:0"))
    };
    (tiny(tag.get("width")) && tiny(tag.get("height")))
        || (css_tiny("width") && css_tiny("height"))
        || style.contains("display:none")
        || style.contains("visibility:hidden")
}

/// Counts one resource at `url` when it is remote (`tracker`: it looks like a pixel).
fn count(remote: &mut super::Remote, url: &str, tracker: bool) {
    let Some(host) = remote_host(url) else {
        return;
    };
    remote.resources = remote.resources.saturating_add(1);
    if tracker || is_tracker(&host) {
        remote.trackers = remote.trackers.saturating_add(1);
    }
}

/// Remote `url(...)` and `@import "..."` in CSS.
fn css_urls(css: &str, remote: &mut super::Remote) {
    let b = css.as_bytes();
    let mut at = 0;
    while let Some(p) = find_ci(b, at, b"url(") {
        let rest = css[p + 4..].trim_start_matches([' ', '"', '\'']);
        count(remote, rest, false);
        at = p + 4;
    }
    let mut at = 0;
    while let Some(p) = find_ci(b, at, b"@import") {
        let rest = css[p + 7..].trim_start_matches([' ', '"', '\'']);
        if !rest
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case("url("))
        {
            count(remote, rest, false);
        }
        at = p + 7;
    }
}

/// The host of a remote URL (`http://`, `https://`, `//`), lower case; None for anything else
/// (`cid:`, `data:`, relative).
fn remote_host(url: &str) -> Option<String> {
    let u = url.trim_start();
    let rest = ["http://", "https://", "//"].iter().find_map(|p| {
        u.get(..p.len())
            .filter(|s| s.eq_ignore_ascii_case(p))
            .map(|_| &u[p.len()..])
    })?;
    let end = rest
        .find(['/', '?', '#', '"', '\'', ')', ' ', '\\'])
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host);
    Some(normal_domain(host))
}

fn is_tracker(host: &str) -> bool {
    TRACKERS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|t| {
            host == t || host.ends_with(t) && host.as_bytes()[host.len() - t.len() - 1] == b'.'
        })
}

/// Text inside an open link joins its text (bounded).
fn push_text(open: &mut Option<(String, String)>, text: &str) {
    if let Some((_, t)) = open {
        let room = MAX_LINK_TEXT.saturating_sub(t.chars().count());
        t.extend(text.chars().take(room));
    }
}

/// Ends the open link: judged when its text is a host or URL.
fn close(open: &mut Option<(String, String)>, signs: &mut Signs, links: &mut usize) {
    let Some((href, text)) = open.take() else {
        return;
    };
    *links += 1;
    if *links > MAX_LINKS {
        return;
    }
    let Some(shown) = host_shown(&decode(&text)) else {
        return;
    };
    let href = href.trim();
    let target = url::Url::parse(href)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .and_then(|u| u.host_str().map(normal_domain));
    if let Some(target) = target
        && !related(&shown, &target)
    {
        signs.deceptive_count += 1;
        if signs.deceptive.len() < MAX_KEPT {
            signs.deceptive.push(Deceptive {
                shown,
                href: href.to_string(),
                target,
            });
        }
    }
}

/// A tag's name at `at` (lower case) and where it ends.
fn name_at(html: &str, at: usize) -> (String, usize) {
    let b = html.as_bytes();
    let end = (at..b.len())
        .find(|&j| !(b[j].is_ascii_alphanumeric() || b[j] == b'-' || b[j] == b':'))
        .unwrap_or(b.len());
    (html[at..end].to_ascii_lowercase(), end)
}

/// The start tag whose name is at `at`, and where it ends (past its `>`).
fn tag_at(html: &str, at: usize) -> (Tag<'_>, usize) {
    let b = html.as_bytes();
    let (name, mut j) = name_at(html, at);
    let mut attrs = Vec::new();
    loop {
        while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b'/') {
            j += 1;
        }
        if j >= b.len() || b[j] == b'>' {
            return (Tag { name, attrs }, (j + 1).min(b.len()));
        }
        let start = j;
        while j < b.len() && !(b[j].is_ascii_whitespace() || b"=>/".contains(&b[j])) {
            j += 1;
        }
        let attr = html[start..j].to_ascii_lowercase();
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let mut value = "";
        if j < b.len() && b[j] == b'=' {
            j += 1;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let (v, end) = value_at(html, j);
            value = v;
            j = end;
        }
        if attrs.len() < MAX_ATTRS && !attr.is_empty() {
            attrs.push((attr, value));
        }
    }
}

/// An attribute's value at `at` (quoted or not) and where it ends.
fn value_at(html: &str, at: usize) -> (&str, usize) {
    let b = html.as_bytes();
    match b.get(at) {
        Some(&q @ (b'"' | b'\'')) => {
            let end = memchr::memchr(q, &b[at + 1..]).map_or(b.len(), |p| at + 1 + p);
            (&html[at + 1..end], (end + 1).min(b.len()))
        }
        _ => {
            let end = (at..b.len())
                .find(|&j| b[j].is_ascii_whitespace() || b[j] == b'>')
                .unwrap_or(b.len());
            (&html[at..end], end)
        }
    }
}

/// Where `needle` is in `hay` from `at` on.
fn find(hay: &[u8], at: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay.get(at..)?, needle).map(|p| at + p)
}

/// [`find`] ignoring ASCII case (`needle` lower case).
fn find_ci(hay: &[u8], at: usize, needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = at;
    while i + needle.len() <= hay.len() {
        let p = memchr::memchr2(first, first.to_ascii_uppercase(), &hay[i..])? + i;
        if hay
            .get(p..p + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

/// The character references mail uses in URLs and link text decoded (`&amp;`, `&#46;`...);
/// others left as they are.
fn decode(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let end = rest[..super::floor(rest, 12)].find(';');
        let named = end.map(|e| &rest[1..e]);
        let c = named.and_then(|n| match n {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => {
                let num = n.strip_prefix('#')?;
                let code = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => num.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (c, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
