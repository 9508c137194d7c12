//! Deterministic generator of varied test messages and a fast Maildir writer (files go straight
//! into `cur/` as the mail user, then Dovecot indexes them).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{PermissionsExt, fchown};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What [`super::MailServers::populate`] wrote, in write order (which is also UID order).
#[derive(Debug, Clone)]
pub struct Populated {
    pub count: usize,
    pub messages: Vec<GeneratedMessage>,
    /// Time to write the files.
    pub write_time: Duration,
    /// Time Dovecot took to index them.
    pub index_time: Duration,
}

/// Metadata of one generated message, for assertions.
#[derive(Debug, Clone)]
pub struct GeneratedMessage {
    /// Without angle brackets.
    pub message_id: String,
    /// Decoded (UTF-8) subject.
    pub subject: String,
    /// Sender address.
    pub from: String,
    /// Decoded display name of the sender.
    pub from_name: String,
    /// Date header and INTERNALDATE (file mtime), unix seconds.
    pub date: i64,
    /// Maildir flag letters, sorted: subset of "FRS" (Flagged, Replied=\Answered, Seen).
    pub maildir_flags: String,
    /// Bytes on disk (LF line ends); the IMAP RFC822.SIZE is `size + lines`.
    pub size: usize,
    /// RFC822.SIZE as IMAP reports it (CRLF line ends).
    pub imap_size: usize,
    pub has_attachment: bool,
    pub is_multipart: bool,
    pub non_ascii: bool,
    /// Message-ID (without brackets) of the parent, for replies.
    pub in_reply_to: Option<String>,
}

impl GeneratedMessage {
    pub fn seen(&self) -> bool {
        self.maildir_flags.contains('S')
    }
    pub fn flagged(&self) -> bool {
        self.maildir_flags.contains('F')
    }
    pub fn answered(&self) -> bool {
        self.maildir_flags.contains('R')
    }
}

/// splitmix64: small, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SENDERS: &[(&str, &str)] = &[
    ("Alice Example", "alice@example.test"),
    ("Bob Builder", "bob@example.test"),
    ("Carol Danvers", "carol@corp.example"),
    ("Dave Null", "dave@null.example"),
    ("Zoë Çelik", "zoe@posta.example"),
    ("Łukasz Żółw", "lukasz@poczta.example"),
    ("山田太郎", "taro@yamada.example"),
    ("Ærøskøbing Færge", "faerge@dk.example"),
    ("GitHub", "notifications@github.example"),
    ("Newsletter Weekly", "news@letters.example"),
    ("Mallory O'Brien", "mallory@evil.example"),
    ("Trent", "trent@trust.example"),
];

const WORDS: &[&str] = &[
    "quarterly",
    "report",
    "meeting",
    "lunch",
    "invoice",
    "project",
    "update",
    "deadline",
    "release",
    "build",
    "broken",
    "review",
    "request",
    "holiday",
    "plans",
    "budget",
    "draft",
    "server",
    "outage",
    "backup",
    "migration",
    "question",
    "answer",
    "photos",
    "tickets",
    "contract",
    "feedback",
    "roadmap",
    "bug",
    "fix",
    "weekend",
    "coffee",
    "agenda",
    "notes",
];

const NON_ASCII_SUBJECTS: &[&str] = &[
    "Grüße aus München",
    "Café crème à la française",
    "Встреча в понедельник",
    "会議の議事録",
    "Zażółć gęślą jaźń",
    "¡Feliz año nuevo! 🎉",
    "Ελληνικά γράμματα",
];

const BODY_LINES: &[&str] = &[
    "Hi,",
    "Just following up on the thread from last week.",
    "Could you have a look at the attached numbers before Friday?",
    "The build is green again after the last fix.",
    "Let me know if anything is unclear.",
    "I moved the meeting to 3pm, same room.",
    "Thanks for the quick turnaround!",
    "See the notes below for details.",
    "> quoted text from an earlier message",
    "> another quoted line, slightly longer than the one before it",
    "Cheers,",
    "--",
];

const NON_ASCII_LINES: &[&str] = &[
    "Schöne Grüße und bis bald!",
    "Ça marche, à demain.",
    "Спасибо за письмо.",
    "よろしくお願いします。",
    "Dziękuję bardzo — świetna robota.",
];

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// 64 KiB of random bytes as base64 lines of 76 columns (57 bytes) + LF, made once.
fn attachment_blob() -> &'static str {
    static BLOB: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BLOB.get_or_init(|| {
        let mut rng = Rng::new(0x7e57);
        let data: Vec<u8> = (0..64 * 1024 / 8)
            .flat_map(|_| rng.next().to_le_bytes())
            .collect();
        base64_lines(&data)
    })
}

/// Number of LF bytes (SWAR, 8 bytes per step: fast enough even in unoptimised test builds).
pub fn count_lf(bytes: &[u8]) -> usize {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const LF: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder().iter().filter(|&&b| b == b'\n').count();
    let mut n = 0;
    for c in chunks {
        let x = u64::from_le_bytes(c.try_into().expect("8 bytes")) ^ LF;
        // exact zero-byte detection: 0x80 in each byte of x that is zero
        let y = !(((x & LO7).wrapping_add(LO7)) | x | LO7);
        n += y.count_ones() as usize;
    }
    n + tail
}

/// Base64 wrapped at 76 columns, LF line ends.
fn base64_lines(data: &[u8]) -> String {
    let flat = base64(data);
    let mut out = String::with_capacity(flat.len() + flat.len() / 76 + 1);
    for chunk in flat.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out
}

/// RFC 2047 encoded word if `s` is not ASCII.
pub fn encode_word(s: &str) -> String {
    if s.is_ascii() {
        s.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", base64(s.as_bytes()))
    }
}

/// (year, month, day) from days since 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// RFC 5322 date for unix time `t` shown in the zone `offset_min` minutes east of UTC.
pub fn rfc2822(t: i64, offset_min: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let local = t + offset_min * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    let sign = if offset_min < 0 { '-' } else { '+' };
    let off = offset_min.abs();
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} {}{:02}{:02}",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[m as usize - 1],
        y,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        sign,
        off / 60,
        off % 60
    )
}

/// Builds message `i` of a population. `earlier` are the messages generated before it (for
/// threads). Returns the bytes (LF line ends) and the metadata (sizes filled in).
pub fn generate(
    rng: &mut Rng,
    seed: u64,
    i: usize,
    date: i64,
    to: &str,
    earlier: &[GeneratedMessage],
) -> (Vec<u8>, GeneratedMessage) {
    let (from_name, from) = *rng.pick(SENDERS);
    let offset_min = *rng.pick(&[0i64, 60, 120, -300, -420, 330, 540]);
    let message_id = format!("{seed}.{i}.{:x}@gen.example.test", rng.next() >> 16);

    // ~20% replies to a recent message (threads with In-Reply-To/References)
    let parent = if !earlier.is_empty() && rng.chance(20) {
        let back = 1 + rng.below(earlier.len().min(15) as u64) as usize;
        Some(&earlier[earlier.len() - back])
    } else {
        None
    };
    let non_ascii_subject = parent.is_none() && rng.chance(12);
    let subject = match parent {
        Some(p) if p.subject.starts_with("Re: ") => p.subject.clone(),
        Some(p) => format!("Re: {}", p.subject),
        None if non_ascii_subject => format!("{} #{i}", rng.pick(NON_ASCII_SUBJECTS)),
        None => {
            let n = 2 + rng.below(6) as usize;
            let mut words: Vec<&str> = (0..n).map(|_| *rng.pick(WORDS)).collect();
            let first = words[0];
            let cap = first[..1].to_uppercase() + &first[1..];
            words[0] = &cap;
            format!("{} #{i}", words.join(" "))
        }
    };
    let non_ascii_body = rng.chance(15);
    let non_ascii = non_ascii_subject
        || !from_name.is_ascii()
        || non_ascii_body
        || parent.is_some_and(|p| !p.subject.is_ascii());

    // flags: mostly read, some flagged/answered
    let mut flags = String::new();
    if rng.chance(10) {
        flags.push('F');
    }
    if rng.chance(12) {
        flags.push('R');
    }
    if rng.chance(70) {
        flags.push('S');
    }

    // body text, size varied: mostly short, some long
    let lines = match rng.below(100) {
        0..=59 => 3 + rng.below(15),
        60..=89 => 20 + rng.below(100),
        _ => 150 + rng.below(600),
    };
    let mut text = String::new();
    for _ in 0..lines {
        let line = if non_ascii_body && rng.chance(30) {
            rng.pick(NON_ASCII_LINES)
        } else {
            rng.pick(BODY_LINES)
        };
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(from_name);
    text.push('\n');

    let mut h = String::new();
    h.push_str(&format!("Return-Path: <{from}>\n"));
    h.push_str(&format!(
        "From: {} <{from}>\n",
        if from_name.is_ascii() {
            format!("\"{from_name}\"")
        } else {
            encode_word(from_name)
        }
    ));
    h.push_str(&format!("To: <{to}>\n"));
    if rng.chance(15) {
        h.push_str("Cc: \"Bob Builder\" <bob@example.test>, carol@corp.example\n");
    }
    h.push_str(&format!("Subject: {}\n", encode_word(&subject)));
    h.push_str(&format!("Date: {}\n", rfc2822(date, offset_min)));
    h.push_str(&format!("Message-ID: <{message_id}>\n"));
    if let Some(p) = parent {
        h.push_str(&format!("In-Reply-To: <{}>\n", p.message_id));
        // parent's own parent (one level is enough to form a chain)
        let mut refs = Vec::new();
        if let Some(pp) = &p.in_reply_to {
            refs.push(format!("<{pp}>"));
        }
        refs.push(format!("<{}>", p.message_id));
        h.push_str(&format!("References: {}\n", refs.join(" ")));
    }
    h.push_str("MIME-Version: 1.0\n");
    if rng.chance(5) {
        h.push_str("X-Mailer: tern-test-generator\nList-Id: <weekly.letters.example>\n");
    }

    let charset_headers = if non_ascii_body {
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"
    } else {
        "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n"
    };
    let kind = rng.below(100);
    let boundary = format!("=_tern_{seed}_{i}_{:x}", rng.next() >> 40);
    let (body, is_multipart, has_attachment) = if kind < 12 {
        // multipart/mixed with a binary attachment
        // 512 B .. 24 KiB of random bytes: whole base64 lines cut from a shared random blob
        let lines = (512 + rng.below(24 * 1024) as usize).div_ceil(57);
        let blob = attachment_blob();
        let first = rng.below((blob.len() / 77 - lines) as u64) as usize;
        let attachment = &blob[first * 77..(first + lines) * 77];
        let (name, ctype) = *rng.pick(&[
            ("report.pdf", "application/pdf"),
            ("photo.jpg", "image/jpeg"),
            ("data.bin", "application/octet-stream"),
            ("résumé.pdf", "application/pdf"),
        ]);
        let disposition = if name.is_ascii() {
            format!("attachment; filename=\"{name}\"")
        } else {
            format!(
                "attachment; filename*=UTF-8''{}",
                name.bytes()
                    .map(|b| if b.is_ascii_alphanumeric() || b == b'.' {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    })
                    .collect::<String>()
            )
        };
        h.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"{boundary}\"\n"
        ));
        let body = format!(
            "This is a multi-part message in MIME format.\n\n--{boundary}\n{charset_headers}\n{text}\n--{boundary}\nContent-Type: {ctype}; name=\"{name}\"\nContent-Disposition: {disposition}\nContent-Transfer-Encoding: base64\n\n{attachment}\n--{boundary}--\n"
        );
        (body, true, true)
    } else if kind < 27 {
        // multipart/alternative text + html
        let html = text
            .lines()
            .map(|l| {
                format!(
                    "<p>{}</p>",
                    l.replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        h.push_str(&format!(
            "Content-Type: multipart/alternative; boundary=\"{boundary}\"\n"
        ));
        let body = format!(
            "--{boundary}\n{charset_headers}\n{text}\n--{boundary}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n<html><body>\n{html}\n</body></html>\n\n--{boundary}--\n"
        );
        (body, true, false)
    } else {
        h.push_str(charset_headers);
        (text, false, false)
    };

    let mut raw = h.into_bytes();
    raw.push(b'\n');
    raw.extend_from_slice(body.as_bytes());
    let lines = count_lf(&raw);
    let meta = GeneratedMessage {
        message_id,
        subject,
        from: from.to_string(),
        from_name: from_name.to_string(),
        date,
        maildir_flags: flags,
        size: raw.len(),
        imap_size: raw.len() + lines,
        has_attachment,
        is_multipart,
        non_ascii,
        in_reply_to: parent.map(|p| p.message_id.clone()),
    };
    (raw, meta)
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// Writes one message into a Maildir (`dir` has tmp/ and cur/): tmp/ then rename into cur/,
/// owned by `uid`/`gid`, mtime = `date`, with the S= and W= sizes in the name (`crlf_size`
/// is the size with CRLF line ends, what IMAP reports as RFC822.SIZE).
pub fn write_maildir_file(
    dir: &Path,
    raw: &[u8],
    crlf_size: usize,
    date: i64,
    flags: &str,
    uid: u32,
    gid: u32,
) -> std::io::Result<()> {
    let q = UNIQUE.fetch_add(1, Ordering::Relaxed);
    let usec = (q * 7919) % 1_000_000;
    let size = raw.len();
    let base = format!(
        "{date}.M{usec}P{}Q{q}.tern-test,S={size},W={crlf_size}",
        std::process::id()
    );
    let tmp = dir.join("tmp").join(&base);
    let mut f = fs::File::create(&tmp)?;
    f.write_all(raw)?;
    fchown(&f, Some(uid), Some(gid))?;
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    let mtime = if date >= 0 {
        UNIX_EPOCH + Duration::from_secs(date as u64)
    } else {
        SystemTime::now()
    };
    f.set_times(fs::FileTimes::new().set_modified(mtime).set_accessed(mtime))?;
    drop(f);
    fs::rename(&tmp, dir.join("cur").join(format!("{base}:2,{flags}")))
}
