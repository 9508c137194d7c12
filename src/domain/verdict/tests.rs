use super::*;
use crate::domain::message::parse_for_reader;

fn addr(name: &str, email: &str) -> Address {
    Address {
        name: (!name.is_empty()).then(|| name.to_string()),
        email: email.to_string(),
    }
}

fn known(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The warnings the reader shows for a raw message.
fn warnings(raw: &str, k: &[&str]) -> Vec<Warning> {
    let v = parse_for_reader(raw.as_bytes(), 80);
    assess(&v, &known(k))
}

fn html_mail(from: &str, body: &str) -> String {
    format!("From: {from}\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{body}")
}

#[test]
fn a_display_name_showing_another_domain_or_address() {
    let w = sender(&addr("paypal.com", "x@evil.example"), &[]);
    assert_eq!(
        w,
        [Warning::NameShowsOther {
            shown: "paypal.com".into(),
            actual: "evil.example".into()
        }]
    );
    assert_eq!(
        w[0].to_string(),
        "Display name shows paypal.com but the mail is from evil.example"
    );
    // An address in the name, quoted or followed by "via".
    for name in [
        "support@bank.com via",
        "\"support@bank.com\"",
        "Bank <support@bank.com>",
        "support@bank\u{200B}.com",
    ] {
        let w = sender(&addr(name, "x@y.example"), &[]);
        assert!(
            matches!(&w[..], [Warning::NameShowsOther { shown, .. }] if shown == "support@bank.com"),
            "{name}: {w:?}"
        );
    }
    // A name with no address at all.
    let w = sender(&addr("support@bank.com", ""), &[]);
    assert_eq!(
        w[0].to_string(),
        "Display name shows support@bank.com but the mail is from no address"
    );
    // Reordering characters hide a file name (`Payroll <RLO>fdp.xcod` shows `docx.pdf`).
    let w = sender(&addr("Payroll \u{202E}fdp.xcod", "x@y.example"), &[]);
    assert_eq!(w, [Warning::NameReordered]);
    // A URL in the name.
    let w = sender(&addr("https://www.paypal.com/login", "x@evil.example"), &[]);
    assert!(matches!(&w[..], [Warning::NameShowsOther { shown, .. }] if shown == "www.paypal.com"));
}

#[test]
fn honest_display_names_are_left_alone() {
    for (name, email) in [
        ("PayPal", "service@paypal.com"),
        ("paypal.com", "service@mail.paypal.com"),
        ("Booking.com", "noreply@booking.com"),
        ("support@bank.com", "support@bank.com"),
        ("Renée Dupont", "renee@example.test"),
        ("J.R.R. Tolkien", "jrr@example.test"),
        ("john.smith", "john.smith@gmail.com"),
        ("Mr. Smith: re. plans", "smith@example.test"),
        ("", "a@example.test"),
    ] {
        assert_eq!(sender(&addr(name, email), &[]), [], "{name} <{email}>");
    }
}

#[test]
fn punycode_and_mixed_scripts_in_the_senders_domain() {
    // Cyrillic 'а' (U+0430) in paypal, as sent: in punycode.
    let ascii = url::Url::parse("http://p\u{430}ypal.com")
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    assert!(ascii.starts_with("xn--"), "{ascii}");
    let w = sender(
        &addr("", &format!("service@{ascii}")),
        &known(&["paypal.com"]),
    );
    assert!(
        matches!(&w[0], Warning::Punycode { decoded, .. } if decoded == "p\u{430}ypal.com"),
        "{w:?}"
    );
    assert_eq!(
        w[1..],
        [Warning::LooksLike {
            domain: "p\u{430}ypal.com".into(),
            known: "paypal.com".into()
        }]
    );
    // Not known: the mixed scripts said instead.
    let w = sender(&addr("", &format!("service@{ascii}")), &[]);
    assert_eq!(
        w[1..],
        [Warning::MixedScript {
            domain: "p\u{430}ypal.com".into()
        }]
    );
    // The same in UTF-8 (SMTPUTF8): no punycode warning, the rest the same.
    let w = sender(&addr("", "service@p\u{430}ypal.com"), &[]);
    assert!(matches!(&w[..], [Warning::MixedScript { .. }]), "{w:?}");
    // A whole-Cyrillic label is one script, but still looks like a known Latin one.
    let w = sender(
        &addr("", "x@\u{440}\u{430}\u{440}\u{430}.com"),
        &known(&["papa.com"]),
    );
    assert!(
        w.iter()
            .any(|w| matches!(w, Warning::LooksLike { known, .. } if known == "papa.com")),
        "{w:?}"
    );
    // An honest IDN: punycode said, nothing else.
    let w = sender(&addr("", "x@xn--mnchen-3ya.de"), &known(&["paypal.com"]));
    assert!(matches!(&w[..], [Warning::Punycode { decoded, .. }] if decoded == "münchen.de"));
}

#[test]
fn ascii_lookalikes_of_known_domains() {
    let k = known(&["paypal.com", "example.org"]);
    for d in ["paypa1.com", "rnicrosoft.com"] {
        let k = known(&["paypal.com", "microsoft.com"]);
        let w = sender(&addr("", &format!("x@{d}")), &k);
        assert!(
            matches!(&w[..], [Warning::LooksLike { domain, .. }] if domain == d),
            "{d}: {w:?}"
        );
    }
    // The known domain itself, or under it, is not a lookalike.
    assert_eq!(sender(&addr("", "x@paypal.com"), &k), []);
    assert_eq!(sender(&addr("", "x@mail.paypal.com"), &k), []);
    assert_eq!(sender(&addr("", "x@other.net"), &k), []);
}

#[test]
fn reply_to_another_domain() {
    let raw = "From: Bank <news@bank.com>\r\nReply-To: claims@evil.example\r\n\r\nhi\r\n";
    assert_eq!(
        warnings(raw, &[]),
        [Warning::ReplyElsewhere {
            reply_to: "claims@evil.example".into(),
            from: "bank.com".into()
        }]
    );
    let raw = "From: Bank <news@bank.com>\r\nReply-To: help@support.bank.com\r\n\r\nhi\r\n";
    assert_eq!(warnings(raw, &[]), []);
}

#[test]
fn links_whose_text_shows_another_host() {
    let raw = html_mail(
        "Bank <a@bank.com>",
        "<p><a href=\"http://evil/\">https://bank.com</a> \
         <A HREF='http://evil.example/login'>www.bank.com</A> \
         <a href=\"https://www.bank.com/x\">bank.com</a> \
         <a href=\"http://evil.example/\">Click here</a> \
         <a href=\"mailto:x@evil.example\">bank.com</a></p>",
    );
    let v = parse_for_reader(raw.as_bytes(), 80);
    assert_eq!(v.signs.deceptive_count, 2, "{:?}", v.signs);
    assert_eq!(v.signs.deceptive[0].target, "evil");
    assert_eq!(v.signs.deceptive[1].href, "http://evil.example/login");
    let w = assess(&v, &[]);
    assert_eq!(
        w.last().unwrap().to_string(),
        "Link shows bank.com but goes to evil (1 more such links)"
    );
    // Entities, invisible characters and tags inside the text do not hide it.
    let raw = html_mail(
        "a@bank.com",
        "<a href=\"http://evil.example/?a=1&amp;b=2\"><b>bank</b>\u{200B}&#46;com</a>",
    );
    let v = parse_for_reader(raw.as_bytes(), 80);
    assert_eq!(v.signs.deceptive.len(), 1, "{:?}", v.signs);
    assert_eq!(v.signs.deceptive[0].href, "http://evil.example/?a=1&b=2");
}

#[test]
fn remote_content_and_tracking_pixels() {
    let raw = html_mail(
        "a@shop.example",
        "<html><head><link rel=stylesheet href=\"https://cdn.shop.example/s.css\">\
         <style>body { background: url('https://cdn.shop.example/bg.png') }</style></head>\
         <body background=\"http://img.shop.example/b.jpg\">\
         <img src=\"https://img.shop.example/logo.png\" width=200>\
         <img src=\"https://t.shop.example/o.gif\" width=\"1\" height=\"1\">\
         <img src=\"https://x.list-manage.com/track/open.php?u=1\">\
         <img src=\"cid:logo@local\"><img src=\"data:image/png;base64,AAAA\">\
         <div style=\"background-image:URL(//img.shop.example/d.png)\">x</div>\
         <iframe src=\"https://evil.example/f\"></iframe></body></html>",
    );
    let v = parse_for_reader(raw.as_bytes(), 80);
    assert_eq!(
        v.signs.remote,
        Remote {
            resources: 8,
            trackers: 2
        }
    );
    // A plain text message has none, even with HTML-looking text.
    let v = parse_for_reader(
        b"Subject: x\r\n\r\n<img src=\"http://x.example/a\">\r\n",
        80,
    );
    assert_eq!(v.signs.remote, Remote::default());
}

#[test]
fn hostile_html_is_bounded() {
    // 100,000 deceptive links: counted up to the bound, a few kept, quickly.
    let mut body = String::new();
    for i in 0..100_000 {
        body.push_str(&format!("<a href=\"http://e{i}.evil\">bank.com</a>"));
    }
    let mut signs = Signs::default();
    let t = std::time::Instant::now();
    scan(&body, &mut signs);
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
    assert!(signs.deceptive_count <= 5_000, "{}", signs.deceptive_count);
    assert!(signs.deceptive_count > 1_000);
    assert!(signs.deceptive.len() <= 20);
    // Unclosed tags, quotes, comments, styles; huge attributes; never a panic.
    for junk in [
        "<a href=\"http://evil/",
        "<a href='x'>https://bank.com",
        "<!-- <a href=http://evil>bank.com</a>",
        "<style>url(",
        "<img src=http://x.example/",
        "<a href=http://evil>\u{10FFFF}ü&#xFFFFFFFF;&#0;&amp&",
        "<<<>>></a></><a =x>",
        "<STYLE>@import 'http://x.example/a.css';</style",
    ] {
        scan(junk, &mut Signs::default());
    }
    let long = format!(
        "<img src=\"http://{}.example/\" width=1 height=1>",
        "a".repeat(1 << 20)
    );
    let mut signs = Signs::default();
    scan(&long, &mut signs);
    assert_eq!(signs.remote.trackers, 1);
}

#[test]
fn a_huge_from_line_is_bounded() {
    let name = "paypal.com ".repeat(1_000_000);
    let w = sender(
        &addr(&name, &format!("x@{}", "a.".repeat(500_000) + "com")),
        &known(&["paypal.com"]),
    );
    assert!(!w.is_empty());
    assert!(
        w.iter().all(|w| w.to_string().chars().count() < 200),
        "{w:?}"
    );
}

#[test]
fn the_html_alternative_is_scanned_when_the_text_is_shown() {
    let raw = "From: a@shop.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/alternative; boundary=b\r\n\r\n\
               --b\r\nContent-Type: text/plain\r\n\r\nSee https://bank.com\r\n\
               --b\r\nContent-Type: text/html\r\n\r\n\
               <a href=\"http://evil.example/\">bank.com</a><img src=\"http://t.example/p\" width=0 height=0>\r\n\
               --b--\r\n";
    let v = parse_for_reader(raw.as_bytes(), 80);
    assert_eq!(v.links, ["https://bank.com"]);
    assert_eq!(v.signs.deceptive_count, 1);
    assert_eq!(
        v.signs.remote,
        Remote {
            resources: 1,
            trackers: 1
        }
    );
}
