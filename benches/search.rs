//! Search benchmark over a local cache of N messages with bodies (default 100,000), no server:
//!   (a) indexing: the headers inserted as the sync engine inserts them (`insert_messages` in the
//!       engine's batch sizes, newest first), then the bodies as the prefetch stores them
//!       (`bodies_missing`, `message::parse`, `store_bodies`, 25 at a time);
//!   (b) size: the text fed to the index next to the FTS5 index's pages (`dbstat`);
//!   (c) queries parsed by `domain::search::parse` and run by `Store::search` with the limit of
//!       `tern search` (50): p50 / p99 / max, next to a plain LIKE scan of the same data;
//!   (d) a summary against the targets of the search issue.
//!
//! The messages are generated, deterministically: ~4 KB of plain text each from a vocabulary of
//! 6,000 words drawn with a Zipf distribution (German and French words with diacritics among
//! them), 3,000 senders, replies with quotes, ~30 % unread, dates over three years.
//!
//! The LIKE scan is the same question without an index: a case-insensitive (ASCII only)
//! substring of the raw message (headers and body) or of the header columns, newest 50 first.
//!
//! With `TERN_BENCH_VARIANTS=1`, what would change the numbers is measured next, without
//! touching tern's code: other shapes of the search SQL on the same cache, other FTS5 settings
//! on the same text in scratch databases (size, indexing rate, the same queries; one of them
//! alone with `TERN_BENCH_VARIANT_ONLY=<part of its name>`), and the prefetch's choice of the
//! next bodies through a partial index.
//!
//! Run: `cargo bench --bench search` (`TERN_BENCH_N=10000` for a quicker run;
//! `TERN_BENCH_RUNS` / `TERN_BENCH_LIKE_RUNS` change the repetitions, 50 / 5;
//! `TERN_BENCH_KEEP=1` keeps the cache file and prints where it is).

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, params};
use tern::config::DEFAULT_ATTACHMENT_LIMIT;
use tern::domain::message::{self, MessageMeta};
use tern::domain::search::parse;
use tern::domain::{Address, Flags, MailboxId, MsgId, Role, Uid};
use tern::store::{AccountKind, DB_FILE, NewMessage, Store};
use tern::sync::plan::fill_batches;

/// `tern search`'s default `--limit`.
const LIMIT: u32 = 50;
/// The prefetch's batch (`sync::bodies::PREFETCH_BATCH`).
const PREFETCH_BATCH: u32 = 25;
/// Dates end here (2026-01-01) and go back three years.
const END: i64 = 1_767_225_600;
const SPAN: i64 = 3 * 365 * 86_400;
const VOCABULARY: usize = 6_000;

// ---- deterministic data ----

/// xorshift64*: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }
}

/// Ranks 0..n drawn with weight 1/(rank+1)^s.
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut acc = 0.0;
        let cumulative = (1..=n)
            .map(|r| {
                acc += 1.0 / (r as f64).powf(s);
                acc
            })
            .collect();
        Zipf(cumulative)
    }
    fn sample(&self, rng: &mut Rng) -> usize {
        let x = rng.unit() * self.0[self.0.len() - 1];
        self.0.partition_point(|c| *c < x).min(self.0.len() - 1)
    }
}

/// The most frequent words, in rank order.
const COMMON: &str = "\
    the to and a of in is for that we you it on this with be I have are as will at not can \
    our from by or if please all an was so but me my they your would about us there some \
    more has do let know time project need team meeting update next week also just get one \
    new like thanks should could which when what been out up any into see make work today \
    review report before after still only then other back good first well them their these \
    last call send attached question change plan changes issue Monday Friday tomorrow \
    morning customer release version document data client already think want sure via";

/// Real words of middle frequency (shuffled among the generated ones).
const MIDDLE: &str = "\
    budget forecast quarterly invoice conference confirm contract configuration confidential \
    contact continue consider agenda deadline approval proposal schedule estimate milestone \
    vendor supplier shipment delivery warehouse inventory payment receipt refund account \
    balance statement audit compliance policy security password server database backup \
    network outage incident ticket support feedback survey training workshop webinar \
    presentation slides spreadsheet draft final revision summary minutes notes action items \
    owner status progress blocked pending approved rejected priority urgent important \
    reminder calendar invite room office remote travel flight hotel expense reimbursement \
    holiday vacation leave hiring candidate interview offer onboarding laptop license \
    renewal subscription pricing discount quote order purchase request response answer \
    clarify discuss decision strategy roadmap launch campaign marketing sales revenue profit \
    margin growth target metrics dashboard analysis results performance quality testing bug \
    fix patch deploy rollback migration upgrade install documentation manual guide template \
    form signature legal lawyer partner board investor shareholder newsletter announcement \
    benefits insurance contractor freelance deliverable scope timeline risk mitigation \
    dependency architecture design prototype sketch wireframe mockup feature requirement \
    specification interface integration latency throughput capacity storage cluster region \
    replica cache index query schema pipeline workflow automation script library framework \
    compiler kernel driver firmware hardware printer scanner monitor keyboard headset camera \
    microphone bandwidth router firewall certificate encryption signing token session cookie \
    browser mobile tablet desktop weekend evening afternoon lunch dinner coffee birthday \
    anniversary celebration party gift congratulations welcome farewell appreciate grateful \
    sorry apologies delay unfortunately fortunately hopefully basically actually obviously \
    probably definitely absolutely exactly perhaps although however therefore meanwhile \
    otherwise regarding concerning following previous upcoming recent current annual monthly \
    weekly daily hourly Tuesday Wednesday Thursday January February March April June July \
    August September October November December Berlin Paris Hamburg Lyon Munich London";

/// German and French words with diacritics (shuffled among the others).
const ACCENTED: &str = "\
    für über Grüße Straße Größe Änderung Übersicht Prüfung Bestätigung Rückmeldung \
    Besprechung schön möglich nächste Frühstück Gebühr Kündigung Bürger Zuständigkeit Lösung \
    réunion prévu déjà été très première équipe système problème café fenêtre reçu français \
    déménagement événement création sécurité numéro intérêt même";

const FIRST: &str = "\
    Anna Ben Clara David Emma Felix Greta Hannah Jonas Julia Karl Laura Lukas Marie Max Nina \
    Oliver Paul Sophie Tom Jürgen Jörg Björn Sören Zoë François Hélène Amélie Céline Étienne \
    Jérôme Renée Noël Chloé Léa Raphaël Michael Sarah James Emily Daniel Olivia Thomas Sofia \
    Lars Ingrid Pedro Lucía Marco Giulia";

const LAST: &str = "\
    Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch \
    Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann \
    Hartmann Lange Schmitt Werner Krause Meier Lehmann Martin Bernard Dubois Thomas Robert \
    Richard Petit Durand Leroy Moreau Simon Laurent Lefèvre Michel Garcia Lefebvre Roux \
    Fournier Girard Bonnet Smith Johnson Brown Taylor Wilson Davies Evans Clarke Walker \
    Wright";

const DOMAINS: &str = "\
    example.com acme.example mail.example.org corp.example.net globex.example \
    initech.example umbrella.example hooli.example stark.example wayne.example example.de \
    firma.example.de example.fr societe.example.fr uni.example.edu";

/// Never drawn from the vocabulary: planted in about 1 message in 2,000.
const RARE: &str = "zeppelin";
/// Planted in about 1 % of the messages (its two words are also in the vocabulary).
const PHRASE: &str = "quarterly forecast";

/// A word list: the common words first, then real and generated words, mixed.
fn vocabulary() -> Vec<String> {
    let mut rng = Rng::new(7);
    let mut seen: HashSet<String> = HashSet::new();
    let mut rest: Vec<String> = Vec::new();
    for w in MIDDLE.split_whitespace().chain(ACCENTED.split_whitespace()) {
        if seen.insert(w.to_lowercase()) {
            rest.push(w.to_string());
        }
    }
    let common: Vec<&str> = COMMON.split_whitespace().collect();
    for w in &common {
        seen.insert(w.to_lowercase());
    }
    seen.insert(RARE.into());
    const ONSET: &[&str] = &[
        "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br", "cr",
        "dr", "fr", "gr", "pl", "pr", "st", "tr", "sh", "ch", "th", "",
    ];
    const VOWEL: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou", "io", "y"];
    const CODA: &[&str] = &[
        "", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck", "ng",
    ];
    while common.len() + rest.len() < VOCABULARY {
        let syllables = 1 + rng.below(4);
        let mut w = String::new();
        for _ in 0..syllables {
            w.push_str(rng.pick(ONSET));
            w.push_str(rng.pick(VOWEL));
            w.push_str(rng.pick(CODA));
        }
        if w.len() >= 3 && seen.insert(w.clone()) {
            rest.push(w);
        }
    }
    // Fisher-Yates, then the words the queries name at fixed ranks.
    for i in (1..rest.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        rest.swap(i, j);
    }
    let mut words: Vec<String> = common.iter().map(|w| w.to_string()).collect();
    words.extend(rest);
    for (word, rank) in [
        ("budget", 150),
        ("invoice", 400),
        ("forecast", 600),
        ("réunion", 900),
        ("quarterly", 1500),
    ] {
        let at = words.iter().position(|w| w == word).unwrap();
        let w = words.remove(at);
        words.insert(rank, w);
    }
    words
}

struct Person {
    name: String,
    email: String,
}

fn ascii_fold(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'é' | 'è' | 'ê' | 'ë' | 'É' => out.push('e'),
            'à' | 'â' => out.push('a'),
            'ç' => out.push('c'),
            'ï' | 'î' | 'í' => out.push('i'),
            'ô' | 'ø' => out.push('o'),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}

/// Every first name with every last name: 3,000 people.
fn people() -> Vec<Person> {
    let firsts: Vec<&str> = FIRST.split_whitespace().collect();
    let domains: Vec<&str> = DOMAINS.split_whitespace().collect();
    let mut out = Vec::new();
    for (l, last) in LAST.split_whitespace().enumerate() {
        for (f, first) in firsts.iter().enumerate() {
            let domain = domains[(f * 7 + l * 3) % domains.len()];
            out.push(Person {
                name: format!("{first} {last}"),
                email: format!("{}.{}@{domain}", ascii_fold(first), ascii_fold(last)),
            });
        }
    }
    out
}

/// RFC 2047 for a header value with non-ASCII text, in short encoded-words.
fn encode_header(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    chars
        .chunks(16)
        .map(|chunk| {
            let mut w = String::from("=?UTF-8?Q?");
            let mut buf = [0u8; 4];
            for c in chunk {
                for b in c.encode_utf8(&mut buf).bytes() {
                    match b {
                        b' ' => w.push('_'),
                        b if b.is_ascii_alphanumeric() => w.push(b as char),
                        b => w.push_str(&format!("={b:02X}")),
                    }
                }
            }
            w.push_str("?=");
            w
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

fn mailbox(p: &Person) -> String {
    format!("{} <{}>", encode_header(&p.name), p.email)
}

/// Words wrapped at 76 columns, CRLF line ends, each line after `prefix`.
fn wrap(out: &mut String, text: &str, prefix: &str) {
    let mut line = String::from(prefix);
    for word in text.split(' ') {
        if line.len() > prefix.len() && line.len() + 1 + word.len() > 76 {
            out.push_str(&line);
            out.push_str("\r\n");
            line = String::from(prefix);
        }
        if line.len() > prefix.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if line.len() > prefix.len() {
        out.push_str(&line);
        out.push_str("\r\n");
    }
}

struct Generator {
    rng: Rng,
    words: Vec<String>,
    zipf: Zipf,
    people: Vec<Person>,
    senders: Zipf,
    me: Person,
    subjects: Vec<String>,
}

/// One generated message: its bytes, flags and date.
struct Generated {
    raw: Vec<u8>,
    flags: Flags,
    date: i64,
}

impl Generator {
    fn new() -> Generator {
        let words = vocabulary();
        let people = people();
        Generator {
            rng: Rng::new(2026),
            zipf: Zipf::new(words.len(), 1.0),
            senders: Zipf::new(people.len(), 1.0),
            words,
            people,
            me: Person {
                name: "Alex Kim".into(),
                email: "alex.kim@example.com".into(),
            },
            subjects: Vec::new(),
        }
    }

    fn word(&mut self) -> &str {
        let r = self.zipf.sample(&mut self.rng);
        &self.words[r]
    }

    fn person(&mut self) -> usize {
        // Popular senders spread over the list (a permutation of the ranks).
        let r = self.senders.sample(&mut self.rng);
        (r * 1237) % self.people.len()
    }

    fn sentence(&mut self) -> String {
        let n = 5 + self.rng.below(12);
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            let w = self.word().to_string();
            if i == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    s.extend(f.to_uppercase());
                    s.push_str(c.as_str());
                }
            } else {
                s.push_str(&w);
            }
        }
        // Numbers, times and amounts, as mail has them.
        match self.rng.below(10) {
            0 => s.push_str(&format!(" ticket {}", 10_000 + self.rng.below(90_000))),
            1 => s.push_str(&format!(
                " at {}:{:02}",
                8 + self.rng.below(10),
                self.rng.below(4) * 15
            )),
            2 => s.push_str(&format!(
                " for {},{:02} EUR",
                self.rng.below(5000),
                self.rng.below(100)
            )),
            _ => {}
        }
        s.push(if self.rng.chance(100) { '?' } else { '.' });
        s
    }

    fn subject(&mut self) -> String {
        let n = 2 + self.rng.below(6);
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            // Subjects lean on content words: skip the most common ones.
            let w = loop {
                let r = self.zipf.sample(&mut self.rng);
                if r >= 50 {
                    break self.words[r].clone();
                }
            };
            s.push_str(&w);
        }
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => s,
        }
    }

    fn generate(&mut self, i: usize, date: i64) -> Generated {
        let from = self.person();
        let reply_to = (i > 0 && self.rng.chance(300))
            .then(|| i - 1 - self.rng.below(i.min(300) as u64) as usize);
        let subject = match reply_to {
            Some(p) => format!("Re: {}", self.subjects[p]),
            None if self.rng.chance(40) => format!("Fwd: {}", self.subject()),
            None if self.rng.chance(30) => format!("Invoice {}", 10_000 + self.rng.below(90_000)),
            None => self.subject(),
        };
        let base = subject
            .strip_prefix("Re: ")
            .or_else(|| subject.strip_prefix("Fwd: "))
            .unwrap_or(&subject)
            .to_string();
        self.subjects.push(base);
        let to_list = self.rng.chance(200);
        let cc: Vec<usize> = if self.rng.chance(350) {
            (0..1 + self.rng.below(3)).map(|_| self.person()).collect()
        } else {
            Vec::new()
        };

        let mut h = String::new();
        let when = chrono::DateTime::from_timestamp(date, 0).unwrap();
        h.push_str(&format!("Date: {}\r\n", when.to_rfc2822()));
        h.push_str(&format!("From: {}\r\n", mailbox(&self.people[from])));
        if to_list {
            h.push_str("To: Team <team@example.com>\r\n");
        } else {
            h.push_str(&format!("To: {}\r\n", mailbox(&self.me)));
        }
        if !cc.is_empty() {
            let list: Vec<String> = cc.iter().map(|p| mailbox(&self.people[*p])).collect();
            h.push_str(&format!("Cc: {}\r\n", list.join(",\r\n ")));
        }
        h.push_str(&format!("Subject: {}\r\n", encode_header(&subject)));
        h.push_str(&format!("Message-ID: <m{i}@bench.example>\r\n"));
        if let Some(p) = reply_to {
            h.push_str(&format!(
                "In-Reply-To: <m{p}@bench.example>\r\nReferences: <m{p}@bench.example>\r\n"
            ));
        }
        h.push_str(
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n",
        );

        // About 4 KB of text: greeting, paragraphs, planted words, quote, signature.
        let target = 2_500 + self.rng.below(3_000) as usize;
        let mut b = String::new();
        let greet = if to_list {
            "all".to_string()
        } else {
            self.me.name.split(' ').next().unwrap().to_string()
        };
        b.push_str(&format!("Hi {greet},\r\n\r\n"));
        let quote = reply_to.is_some() && self.rng.chance(600);
        let own = if quote { target * 2 / 3 } else { target };
        let mut planted = false;
        while b.len() < own {
            let mut para = String::new();
            for _ in 0..3 + self.rng.below(4) {
                if !para.is_empty() {
                    para.push(' ');
                }
                para.push_str(&self.sentence());
            }
            if !planted {
                planted = true;
                if self.rng.chance(10) {
                    para.push_str(&format!(" The {PHRASE} is in the shared folder."));
                }
                if self.rng.below(2_000) == 0 {
                    para.push_str(&format!(" Did you see the {RARE} over the river?"));
                }
            }
            wrap(&mut b, &para, "");
            b.push_str("\r\n");
        }
        if quote {
            let sender = &self.people[from].name;
            b.push_str(&format!(
                "On {}, {sender} wrote:\r\n",
                when.format("%a, %d %b %Y")
            ));
            while b.len() < target {
                let s = self.sentence();
                wrap(&mut b, &s, "> ");
            }
            b.push_str("\r\n");
        }
        b.push_str(&format!(
            "Best regards,\r\n{}\r\n-- \r\n{}\r\n",
            self.people[from].name, self.people[from].email
        ));

        let unread = self.rng.chance(300);
        let flags = Flags {
            seen: !unread,
            flagged: self.rng.chance(30),
            answered: !unread && self.rng.chance(200),
            ..Flags::default()
        };
        let mut raw = h.into_bytes();
        raw.extend_from_slice(b.as_bytes());
        Generated { raw, flags, date }
    }
}

// ---- measuring ----

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The 1-minute load average (other work on the machine skews every number here).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The text `store_body_tx` gives the index for a message: subject, sender, recipients, body.
fn fts_text(meta: &MessageMeta) -> [String; 4] {
    let join = |list: &[Address]| {
        list.iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    [
        meta.subject.clone(),
        join(&meta.from),
        join(&[meta.to.as_slice(), meta.cc.as_slice()].concat()),
        meta.body_text.clone(),
    ]
}

/// Pages of each table (and its indexes) whose name starts with `prefix`, from `dbstat`.
fn table_sizes(conn: &Connection, prefix: &str) -> Vec<(String, u64)> {
    let mut st = conn
        .prepare(
            "SELECT name, sum(pgsize) FROM dbstat WHERE name LIKE ?1 ESCAPE '\\'
             GROUP BY name ORDER BY name",
        )
        .unwrap();
    let like = format!("{}%", prefix.replace('_', "\\_"));
    st.query_map([like], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// A query as tern runs it and as a plain scan would.
struct Case {
    what: &'static str,
    query: String,
    /// The WHERE clause of the LIKE scan (`m`: messages, `b`: bodies).
    like: String,
    /// Whether the scan reads the bodies.
    bodies: bool,
}

fn cases() -> Vec<Case> {
    let case = |what, query: &str, like: &str, bodies| Case {
        what,
        query: query.into(),
        like: like.into(),
        bodies,
    };
    vec![
        case("common word", "project", "b.raw LIKE '%project%'", true),
        case("rare word", RARE, &format!("b.raw LIKE '%{RARE}%'"), true),
        case("prefix (3 letters)", "con", "b.raw LIKE '%con%'", true),
        case(
            "word with diacritics, typed without",
            "reunion",
            "b.raw LIKE '%réunion%'",
            true,
        ),
        case(
            "sender",
            "from:hartmann",
            "m.from_json LIKE '%hartmann%'",
            false,
        ),
        case(
            "phrase",
            &format!("\"{PHRASE}\""),
            &format!("b.raw LIKE '%{PHRASE}%'"),
            true,
        ),
        case(
            "word, unread",
            "budget is:unread",
            "b.raw LIKE '%budget%' AND m.seen = 0",
            true,
        ),
        case(
            "sender, subject word, not read",
            "from:hartmann subject:invoice -is:read",
            "m.from_json LIKE '%hartmann%' AND m.subject LIKE '%invoice%' AND NOT (m.seen = 1)",
            false,
        ),
    ]
}

const COLUMNS: &str = "m.id, m.mailbox_id, m.uid, m.date, m.from_json, m.to_json, m.subject, \
    m.seen, m.answered, m.flagged, m.deleted, m.draft, m.keywords, m.has_attachments, m.size, \
    m.preview, m.thread_id";

struct Timings {
    p50: f64,
    p99: f64,
    max: f64,
}

fn time_runs(runs: usize, mut f: impl FnMut() -> usize) -> (Timings, usize) {
    let n = f(); // warm-up
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let got = f();
            let took = ms(start.elapsed());
            assert_eq!(got, n, "the same results each run");
            took
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (
        Timings {
            p50: pct(&t, 50.0),
            p99: pct(&t, 99.0),
            max: t[t.len() - 1],
        },
        n,
    )
}

fn main() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let n = env("TERN_BENCH_N", 100_000);
    let runs = env("TERN_BENCH_RUNS", 50).max(1);
    let like_runs = env("TERN_BENCH_LIKE_RUNS", 5).max(1);
    let variants = env("TERN_BENCH_VARIANTS", 0) == 1;
    let started = Instant::now();
    let load_before = load_average();

    // ---- the messages ----
    let t = Instant::now();
    let mut generator = Generator::new();
    let mut date = END - SPAN;
    let step = (SPAN / n.max(1) as i64).max(1);
    let messages: Vec<Generated> = (0..n)
        .map(|i| {
            date += 1 + generator.rng.below(2 * step as u64) as i64;
            generator.generate(i, date.min(END))
        })
        .collect();
    let raw_bytes: u64 = messages.iter().map(|m| m.raw.len() as u64).sum();
    let unread = messages.iter().filter(|m| !m.flags.seen).count();
    eprintln!(
        "generated {n} messages ({}, {unread} unread) in {:.1} s",
        mib(raw_bytes),
        t.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    let mut store = Store::open(&path).unwrap();
    let account = store
        .upsert_account("bench", "alex.kim@example.com", AccountKind::Imap)
        .unwrap();
    let mb: MailboxId = store
        .upsert_mailbox(account, "INBOX", Some('/'), Some(Role::Inbox))
        .unwrap();

    // ---- headers, as the engine's initial sync stores them ----
    let mut header_parse = Duration::ZERO;
    let mut header_insert = Duration::ZERO;
    for (lo, hi) in fill_batches(n as u32, true) {
        let t = Instant::now();
        let metas: Vec<(u32, MessageMeta)> = (lo..=hi)
            .map(|uid| {
                let raw = &messages[uid as usize - 1].raw;
                let end = raw
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(raw.len(), |p| p + 4);
                let mut meta = message::parse(&raw[..end]).meta;
                meta.size = raw.len() as u32;
                meta.has_attachments = false;
                (uid, meta)
            })
            .collect();
        header_parse += t.elapsed();
        let batch: Vec<NewMessage<'_>> = metas
            .into_iter()
            .map(|(uid, meta)| {
                let m = &messages[uid as usize - 1];
                NewMessage {
                    uid: Uid(uid),
                    meta,
                    flags: m.flags.clone(),
                    internal_date: Some(m.date),
                    raw: None,
                }
            })
            .collect();
        let t = Instant::now();
        store.insert_messages(mb, &batch).unwrap();
        header_insert += t.elapsed();
    }
    eprintln!(
        "headers: parsed in {:.1} s, inserted in {:.1} s",
        header_parse.as_secs_f64(),
        header_insert.as_secs_f64()
    );

    // ---- bodies, as the prefetch stores them ----
    let mut select = Duration::ZERO;
    let mut body_parse = Duration::ZERO;
    let mut body_store = Duration::ZERO;
    let mut indexed_text: u64 = 0;
    let mut stored = 0usize;
    let mut texts: Vec<(i64, [String; 4])> = Vec::new();
    loop {
        let t = Instant::now();
        let missing = store
            .bodies_missing(mb, DEFAULT_ATTACHMENT_LIMIT, PREFETCH_BATCH)
            .unwrap();
        select += t.elapsed();
        if missing.is_empty() {
            break;
        }
        let t = Instant::now();
        let bodies: Vec<(MsgId, Vec<u8>, MessageMeta)> = missing
            .iter()
            .map(|(id, uid)| {
                let raw = messages[*uid as usize - 1].raw.clone();
                let meta = message::parse(&raw).meta;
                (*id, raw, meta)
            })
            .collect();
        body_parse += t.elapsed();
        for (id, _, meta) in &bodies {
            let text = fts_text(meta);
            indexed_text += text.iter().map(|s| s.len() as u64).sum::<u64>();
            if variants {
                texts.push((id.0, text));
            }
        }
        let t = Instant::now();
        store.store_bodies(&bodies).unwrap();
        body_store += t.elapsed();
        stored += bodies.len();
        if stored % 20_000 < PREFETCH_BATCH as usize {
            eprintln!(
                "  bodies: {stored} stored, {:.0} msg/s so far (store_bodies only)",
                stored as f64 / body_store.as_secs_f64()
            );
        }
    }
    assert_eq!(stored, n, "every body stored");
    let rate = n as f64 / body_store.as_secs_f64();
    let rate_parsed = n as f64 / (body_store + body_parse).as_secs_f64();
    eprintln!(
        "bodies: {n} stored and indexed in {:.1} s ({rate:.0} msg/s), parse {:.1} s, \
         bodies_missing {:.1} s",
        body_store.as_secs_f64(),
        body_parse.as_secs_f64(),
        select.as_secs_f64()
    );
    drop(store);

    // ---- sizes ----
    let conn = Connection::open(&path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let fts = table_sizes(&conn, "messages_fts");
    let fts_total: u64 = fts.iter().map(|(_, b)| b).sum();
    let bodies_size: u64 = table_sizes(&conn, "bodies").iter().map(|(_, b)| b).sum();
    let file_size = std::fs::metadata(&path).unwrap().len();
    let ratio = fts_total as f64 / indexed_text as f64;
    drop(conn);

    // ---- queries through the Store ----
    let store = Store::open(&path).unwrap();
    let now = END + 86_400;
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for c in cases() {
        let q = parse(&c.query, now, 0).unwrap();
        let total = store.search(&q, u32::MAX).unwrap().len();
        let (timing, shown) = time_runs(runs, || store.search(&q, LIMIT).unwrap().len());
        expected.push(
            store
                .search(&q, LIMIT)
                .unwrap()
                .into_iter()
                .map(|e| e.id.0)
                .collect::<Vec<i64>>(),
        );
        eprintln!(
            "  {:<45} p50 {:>7.2} ms  p99 {:>7.2} ms  ({total} matches)",
            c.query, timing.p50, timing.p99
        );
        rows.push((c, timing, shown, total));
    }
    drop(store);

    // ---- the same as a plain LIKE scan ----
    let ro = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut like_p50 = Vec::new();
    for (c, _, _, _) in &rows {
        let from = if c.bodies {
            "messages m JOIN bodies b ON b.message_id = m.id"
        } else {
            "messages m"
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM {from} WHERE {} ORDER BY m.date DESC, m.id DESC LIMIT {LIMIT}",
            c.like
        );
        let mut st = ro.prepare(&sql).unwrap();
        let (timing, shown) = time_runs(like_runs, || {
            st.query_map([], |r| r.get::<_, i64>(0)).unwrap().count()
        });
        eprintln!(
            "  LIKE {:<40} p50 {:>8.1} ms ({shown} shown)",
            c.query, timing.p50
        );
        like_p50.push((timing.p50, shown));
    }
    drop(ro);

    // ---- report ----
    println!(
        "\n{} messages, {} raw ({:.1} KB each on average), {unread} unread; \
         queries run {runs} times after one warm-up, LIKE scans {like_runs} times; \
         load average {load_before} before, {} after",
        thousands(n as u64),
        mib(raw_bytes),
        raw_bytes as f64 / n as f64 / 1024.0,
        load_average()
    );
    println!("\n| indexing | time | rate |");
    println!("|---|---|---|");
    println!(
        "| headers: parse ({} messages) | {:.2} s | {:.0} msg/s |",
        thousands(n as u64),
        header_parse.as_secs_f64(),
        n as f64 / header_parse.as_secs_f64()
    );
    println!(
        "| headers: `insert_messages` in the engine's batches (50, 200, 800, then 2,000) | {:.2} s | {:.0} msg/s |",
        header_insert.as_secs_f64(),
        n as f64 / header_insert.as_secs_f64()
    );
    println!(
        "| bodies: `store_bodies`, 25 per transaction (stored + indexed) | {:.2} s | **{rate:.0} msg/s** |",
        body_store.as_secs_f64()
    );
    println!(
        "| bodies: `message::parse` before it | {:.2} s | {:.0} msg/s |",
        body_parse.as_secs_f64(),
        n as f64 / body_parse.as_secs_f64()
    );
    println!(
        "| bodies: parse + store together | {:.2} s | {rate_parsed:.0} msg/s |",
        (body_parse + body_store).as_secs_f64()
    );
    println!(
        "| bodies: `bodies_missing` (the prefetch's next 25), {} calls | {:.2} s | |",
        n.div_ceil(PREFETCH_BATCH as usize) + 1,
        select.as_secs_f64()
    );

    println!("\n| size | bytes | |");
    println!("|---|---|---|");
    println!(
        "| text given to the index (subject, sender, recipients, body text) | {} | 1.00 |",
        mib(indexed_text)
    );
    for (name, bytes) in &fts {
        println!(
            "| {name} | {} | {:.3} |",
            mib(*bytes),
            *bytes as f64 / indexed_text as f64
        );
    }
    println!(
        "| **FTS5 index, all of it** | **{}** | **{ratio:.3}** |",
        mib(fts_total)
    );
    println!(
        "| raw messages (the bodies table) | {} | {:.3} |",
        mib(bodies_size),
        bodies_size as f64 / indexed_text as f64
    );
    println!(
        "| whole cache file | {} | {:.3} |",
        mib(file_size),
        file_size as f64 / indexed_text as f64
    );

    println!(
        "\n| query | `tern search` | matches | p50 | p99 | max | LIKE scan p50 | LIKE / tern |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for ((c, t, shown, total), (like, like_shown)) in rows.iter().zip(&like_p50) {
        println!(
            "| {} | `{}` | {} ({shown} shown; LIKE {like_shown}) | {:.2} ms | {:.2} ms | {:.2} ms | {:.0} ms | {:.0}x |",
            c.what,
            c.query,
            thousands(*total as u64),
            t.p50,
            t.p99,
            t.max,
            like,
            like / t.p50
        );
    }

    let worst_p50 = rows.iter().map(|r| r.1.p50).fold(0.0, f64::max);
    let worst_p99 = rows.iter().map(|r| r.1.p99).fold(0.0, f64::max);
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!("\n| target | measured | |");
    println!("|---|---|---|");
    println!(
        "| p50 < 20 ms for every query | worst {worst_p50:.2} ms | {} |",
        verdict(worst_p50 < 20.0)
    );
    println!(
        "| p99 < 100 ms for every query | worst {worst_p99:.2} ms | {} |",
        verdict(worst_p99 < 100.0)
    );
    println!(
        "| indexing >= 5,000 msg/s (`store_bodies`) | {rate:.0} msg/s ({rate_parsed:.0} with parsing) | {} |",
        verdict(rate >= 5_000.0)
    );
    println!(
        "| index <= 0.6x the raw text | {ratio:.3}x ({} / {}) | {} |",
        mib(fts_total),
        mib(indexed_text),
        verdict(ratio <= 0.6)
    );
    eprintln!("\nbenchmark took {:.0} s", started.elapsed().as_secs_f64());

    if variants {
        variants::run(&path, dir.path(), mb, &texts, &expected, runs);
    }
    if env("TERN_BENCH_KEEP", 0) == 1 {
        eprintln!("the cache is kept: {}", dir.keep().join(DB_FILE).display());
    }
}

mod variants {
    //! What would change the numbers, measured without touching tern's code:
    //!   - other shapes of the search SQL on tern's own index (the cache, attached as `c`);
    //!   - other FTS5 settings on the same text in scratch databases, each queried with the
    //!     SQL `Store::search` builds (rebuilt here from the parsed query, the index renamed);
    //!   - the prefetch's choice of the next bodies (`bodies_missing`) with a partial index.
    //!
    //! The cache is changed by this (an index added, half the bodies dropped at the end).

    use super::*;
    use tern::domain::search::{Field, Query, Status, Term};

    /// A global date index the "walk" shape reads (tern's own is per mailbox).
    const BY_DATE: &str = "bench_by_date";

    struct Variant {
        name: &'static str,
        /// After the columns in CREATE VIRTUAL TABLE.
        options: &'static str,
        /// Run before the table is created (page size) and after (FTS5 configuration).
        before: &'static str,
        after: &'static str,
        /// Rows per transaction.
        batch: usize,
        /// `DELETE ... WHERE rowid = ?` before each insert, as tern does (contentless_delete).
        delete: bool,
        optimize: bool,
    }

    const TERN: &str = "content = '', contentless_delete = 1, \
        tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'";
    const NO_PREFIX: &str =
        "content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'";

    fn list() -> Vec<Variant> {
        let v = |name, options, batch, optimize| Variant {
            name,
            options,
            before: "",
            after: "",
            batch,
            delete: true,
            optimize,
        };
        vec![
            v(
                "prefix '2 3' (tern before schema 8), detail full; 25 per tx",
                TERN,
                25,
                false,
            ),
            v("tern today, then 'optimize'", TERN, 25, true),
            v("tern today, 1,000 per tx", TERN, 1000, false),
            v("no prefix index (tern now)", NO_PREFIX, 25, false),
            v("no prefix index, 1,000 per tx", NO_PREFIX, 1000, false),
            v(
                "no prefix index, 1,000 per tx, then 'optimize'",
                NO_PREFIX,
                1000,
                true,
            ),
            v(
                "prefix '2'",
                "content = '', contentless_delete = 1, \
                 tokenize = 'unicode61 remove_diacritics 2', prefix = '2'",
                25,
                false,
            ),
            v(
                "prefix '3'",
                "content = '', contentless_delete = 1, \
                 tokenize = 'unicode61 remove_diacritics 2', prefix = '3'",
                25,
                false,
            ),
            v(
                "detail=column (no phrases), no prefix",
                "content = '', contentless_delete = 1, \
                 tokenize = 'unicode61 remove_diacritics 2', detail = column",
                25,
                false,
            ),
            v(
                "detail=none (no phrases, no fields), no prefix: the floor",
                "content = '', contentless_delete = 1, \
                 tokenize = 'unicode61 remove_diacritics 2', detail = none",
                25,
                false,
            ),
            Variant {
                name: "tern today, automerge 16, crisismerge 64",
                after: "INSERT INTO t(t, rank) VALUES ('automerge', 16); \
                        INSERT INTO t(t, rank) VALUES ('crisismerge', 64);",
                ..v("", TERN, 25, false)
            },
            Variant {
                name: "tern today, page_size 8192, pgsz 8000",
                before: "PRAGMA page_size = 8192;",
                after: "INSERT INTO t(t, rank) VALUES ('pgsz', 8000);",
                ..v("", TERN, 25, false)
            },
            Variant {
                name: "columnsize=0 without contentless_delete (no DELETE by rowid)",
                delete: false,
                ..v(
                    "",
                    "content = '', columnsize = 0, \
                     tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'",
                    25,
                    false,
                )
            },
        ]
    }

    fn fts_quote(s: &str) -> String {
        format!("\"{}\"", s.replace('"', "\"\""))
    }

    fn like(s: &str) -> String {
        format!(
            "%{}%",
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    }

    /// `Store::search`'s condition (src/store/search.rs) for words, phrases and flags, with
    /// `fts` as the index (`table`: the name MATCH takes) and the cache's tables in `c`.
    fn build(q: &Query, fts: &str, table: &str, params: &mut Vec<String>) -> String {
        let mut param = |v: String| {
            params.push(v);
            format!("?{}", params.len())
        };
        match q {
            Query::Not(inner) => format!("NOT ({})", build(inner, fts, table, params)),
            Query::And(all) | Query::Or(all) => {
                let join = if matches!(q, Query::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts: Vec<String> = all.iter().map(|x| build(x, fts, table, params)).collect();
                format!("({})", parts.join(join))
            }
            Query::Term(Term::Is(Status::Unread)) => "m.seen = 0".into(),
            Query::Term(Term::Is(Status::Read)) => "m.seen = 1".into(),
            Query::Term(Term::Text {
                field,
                text,
                phrase,
            }) => {
                let words: Vec<&str> = text
                    .split(|c: char| !c.is_alphanumeric() && c != '\'')
                    .filter(|w| !w.is_empty())
                    .collect();
                let expr = if *phrase {
                    fts_quote(&words.join(" "))
                } else {
                    words
                        .iter()
                        .map(|w| format!("{}*", fts_quote(w)))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                let (column, header) = match field {
                    None => (
                        None,
                        Some(vec!["subject", "from_json", "to_json", "cc_json"]),
                    ),
                    Some(Field::From) => (Some("sender"), Some(vec!["from_json"])),
                    Some(Field::To) => (Some("recipients"), Some(vec!["to_json"])),
                    Some(Field::Cc) => (Some("recipients"), Some(vec!["cc_json"])),
                    Some(Field::Subject) => (Some("subject"), Some(vec!["subject"])),
                    Some(Field::Body) => (Some("body"), None),
                };
                let p = param(match column {
                    Some(c) => format!("{c} : ({expr})"),
                    None => expr,
                });
                let direct = match header {
                    Some(cols) => {
                        let l = param(like(text));
                        let any = cols
                            .iter()
                            .map(|c| format!("{c} LIKE {l} ESCAPE '\\'"))
                            .collect::<Vec<_>>()
                            .join(" OR ");
                        format!(
                            " OR m.id IN (SELECT id FROM c.messages INDEXED BY messages_unindexed \
                             WHERE indexed = 0 AND ({any}))"
                        )
                    }
                    None => String::new(),
                };
                format!("(m.id IN (SELECT rowid FROM {fts} WHERE {table} MATCH {p}){direct})")
            }
            other => panic!("not used by the benchmark: {other:?}"),
        }
    }

    /// Ways to turn the condition into the newest 50 rows.
    #[derive(Clone, Copy)]
    enum Shape {
        /// `Store::search` today: every match's row read, sorted by date.
        Current,
        /// The newest 50 ids through a narrow (id, date) index, then only their rows.
        TwoStep,
        /// Down a global (date, id) index, each row checked against the matches (held in
        /// memory by SQLite), stopping at the 50th.
        Walk,
    }

    fn sql(shape: Shape, cond: &str) -> String {
        match shape {
            Shape::Current => format!(
                "SELECT {COLUMNS} FROM c.messages AS m WHERE {cond} \
                 ORDER BY m.date DESC, m.id DESC LIMIT {LIMIT}"
            ),
            Shape::TwoStep => format!(
                "SELECT {COLUMNS} FROM c.messages AS m WHERE m.id IN (SELECT m.id FROM \
                 c.messages AS m INDEXED BY bench_id_date WHERE {cond} \
                 ORDER BY m.date DESC, m.id DESC LIMIT {LIMIT}) ORDER BY m.date DESC, m.id DESC"
            ),
            Shape::Walk => format!(
                "SELECT {COLUMNS} FROM c.messages AS m INDEXED BY {BY_DATE} WHERE {cond} \
                 ORDER BY m.date DESC, m.id DESC LIMIT {LIMIT}"
            ),
        }
    }

    fn search(
        conn: &Connection,
        shape: Shape,
        q: &Query,
        fts: &str,
        table: &str,
    ) -> rusqlite::Result<Vec<i64>> {
        let mut params = Vec::new();
        let cond = build(q, fts, table, &mut params);
        let mut st = conn.prepare(&sql(shape, &cond))?;
        st.query_map(rusqlite::params_from_iter(params), |r| r.get(0))?
            .collect()
    }

    /// p50 / p99 of each query, checked against what `Store::search` found.
    fn time_queries(
        conn: &Connection,
        shape: Shape,
        queries: &[Query],
        expected: &[Vec<i64>],
        fts: &str,
        table: &str,
        runs: usize,
    ) -> Vec<String> {
        queries
            .iter()
            .zip(expected)
            .map(|(q, want)| match search(conn, shape, q, fts, table) {
                Err(e) => format!("error: {e}"),
                Ok(got) => {
                    let (tm, _) =
                        time_runs(runs, || search(conn, shape, q, fts, table).unwrap().len());
                    let same = if &got == want { "" } else { " (other results)" };
                    format!("{:.1} / {:.1}{same}", tm.p50, tm.p99)
                }
            })
            .collect()
    }

    fn attach(conn: &Connection, cache: &Path, read_only: bool) {
        let mode = if read_only { "?mode=ro" } else { "" };
        conn.execute(
            "ATTACH ?1 AS c",
            [format!("file:{}{mode}", cache.display())],
        )
        .unwrap();
    }

    pub fn run(
        cache: &Path,
        dir: &Path,
        mb: MailboxId,
        texts: &[(i64, [String; 4])],
        expected: &[Vec<i64>],
        runs: usize,
    ) {
        let only = std::env::var("TERN_BENCH_VARIANT_ONLY").unwrap_or_default();
        let text: u64 = texts
            .iter()
            .map(|(_, t)| t.iter().map(|s| s.len() as u64).sum::<u64>())
            .sum();
        let now = END + 86_400;
        let queries: Vec<Query> = cases()
            .iter()
            .map(|c| parse(&c.query, now, 0).unwrap())
            .collect();
        let names: Vec<String> = cases().iter().map(|c| format!("`{}`", c.query)).collect();

        // ---- the SQL's shape, on tern's own index ----
        let mut shapes = Vec::new();
        {
            let conn = Connection::open_in_memory().unwrap();
            attach(&conn, cache, false);
            for (q, want) in queries.iter().zip(expected) {
                let got =
                    search(&conn, Shape::Current, q, "c.messages_fts", "messages_fts").unwrap();
                assert_eq!(&got, want, "the rebuilt SQL finds what Store::search found");
            }
            conn.execute_batch(&format!(
                "CREATE INDEX c.bench_id_date ON messages (id, date);
                 CREATE INDEX c.{BY_DATE} ON messages (date DESC, id DESC);"
            ))
            .unwrap();
            for (name, shape, mmap) in [
                ("as Store::search does it", Shape::Current, false),
                (
                    "the same with PRAGMA mmap_size = 2 GiB",
                    Shape::Current,
                    true,
                ),
                (
                    "two steps: the newest 50 ids through an index on (id, date), then their rows",
                    Shape::TwoStep,
                    false,
                ),
                (
                    "down an index on (date DESC, id DESC) (INDEXED BY), stopping at the 50th match",
                    Shape::Walk,
                    false,
                ),
            ] {
                conn.execute_batch(&format!(
                    "PRAGMA c.mmap_size = {}",
                    if mmap { 1u64 << 31 } else { 0 }
                ))
                .unwrap();
                let t = time_queries(
                    &conn,
                    shape,
                    &queries,
                    expected,
                    "c.messages_fts",
                    "messages_fts",
                    runs,
                );
                eprintln!("shape {name}: {}", t.join(", "));
                shapes.push((name, t));
            }
            conn.execute_batch("DROP INDEX c.bench_id_date").unwrap();
        }
        println!(
            "\nThe search SQL's shape, on tern's own index (p50 / p99 ms; the same results \
             unless said):"
        );
        println!("\n| shape | {} |", names.join(" | "));
        println!("|---|{}", "---|".repeat(names.len()));
        for (name, t) in &shapes {
            println!("| {name} | {} |", t.join(" | "));
        }

        // ---- FTS5 settings ----
        let mut report = Vec::new();
        for (i, v) in list().into_iter().enumerate() {
            if !only.is_empty() && !v.name.contains(&only) {
                continue;
            }
            let path = dir.join(format!("variant-{i}.sqlite3"));
            let mut conn = Connection::open(&path).unwrap();
            conn.execute_batch(v.before).unwrap();
            let _: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .unwrap();
            conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;")
                .unwrap();
            conn.execute_batch(&format!(
                "CREATE VIRTUAL TABLE t USING fts5 (subject, sender, recipients, body, {});",
                v.options
            ))
            .unwrap();
            conn.execute_batch(v.after).unwrap();
            let t = Instant::now();
            for chunk in texts.chunks(v.batch) {
                let tx = conn.transaction().unwrap();
                for (id, [subject, sender, recipients, body]) in chunk {
                    if v.delete {
                        tx.prepare_cached("DELETE FROM t WHERE rowid = ?1")
                            .unwrap()
                            .execute([id])
                            .unwrap();
                    }
                    tx.prepare_cached(
                        "INSERT INTO t (rowid, subject, sender, recipients, body)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .unwrap()
                    .execute(params![id, subject, sender, recipients, body])
                    .unwrap();
                }
                tx.commit().unwrap();
            }
            let index = t.elapsed();
            let t = Instant::now();
            if v.optimize {
                conn.execute("INSERT INTO t(t) VALUES ('optimize')", [])
                    .unwrap();
            }
            let optimize = t.elapsed();
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .unwrap();
            let size: u64 = table_sizes(&conn, "t_").iter().map(|(_, b)| b).sum();
            attach(&conn, cache, true);
            let timings = time_queries(&conn, Shape::Walk, &queries, expected, "main.t", "t", runs);
            let rate = texts.len() as f64 / index.as_secs_f64();
            eprintln!(
                "variant {}: {} ({:.3}x), {rate:.0} rows/s, optimize {:.1} s; {}",
                v.name,
                mib(size),
                size as f64 / text as f64,
                optimize.as_secs_f64(),
                timings.join(", ")
            );
            report.push((v.name, size, rate, optimize, timings));
            drop(conn);
            let _ = std::fs::remove_file(&path);
        }
        println!(
            "\nFTS5 settings on the same {} of text ({} rows, in the prefetch's order, on disk \
             in WAL mode; only the index is written, no bodies or messages rows). Queries: the \
             \"down the date index\" shape above, p50 / p99 ms:",
            mib(text),
            thousands(texts.len() as u64)
        );
        println!(
            "\n| settings | index | x text | rows/s | optimize | {} |",
            names.join(" | ")
        );
        println!("|---|---|---|---|---|{}", "---|".repeat(names.len()));
        for (name, size, rate, optimize, timings) in report {
            println!(
                "| {name} | {} | {:.3} | {rate:.0} | {} | {} |",
                mib(size),
                size as f64 / text as f64,
                if optimize.is_zero() {
                    String::new()
                } else {
                    format!("{:.1} s", optimize.as_secs_f64())
                },
                timings.join(" | ")
            );
        }

        // ---- the prefetch's next bodies, halfway through ----
        let conn = Connection::open(cache).unwrap();
        let half = texts.len() / 2;
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE older AS SELECT id FROM messages ORDER BY date ASC, id ASC LIMIT {half};
             DELETE FROM bodies WHERE message_id IN (SELECT id FROM older);
             UPDATE messages SET indexed = 0 WHERE id IN (SELECT id FROM older);
             CREATE INDEX bench_missing ON messages (mailbox_id, date DESC, id DESC) WHERE indexed = 0;"
        ))
        .unwrap();
        let store = Store::open(cache).unwrap();
        let (current, want) = time_runs(runs, || {
            store
                .bodies_missing(mb, DEFAULT_ATTACHMENT_LIMIT, PREFETCH_BATCH)
                .unwrap()
                .len()
        });
        let first = store
            .bodies_missing(mb, DEFAULT_ATTACHMENT_LIMIT, PREFETCH_BATCH)
            .unwrap();
        let proposed_sql = "SELECT m.id, m.uid FROM messages m INDEXED BY bench_missing
             WHERE m.mailbox_id = ?1 AND m.indexed = 0 AND m.uid > 0 AND (m.size > ?2) = ?3
             ORDER BY m.date DESC, m.id DESC LIMIT ?4";
        let select = || -> Vec<(i64, u32)> {
            let mut st = conn.prepare_cached(proposed_sql).unwrap();
            st.query_map(
                params![mb.0, DEFAULT_ATTACHMENT_LIMIT as i64, false, PREFETCH_BATCH],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
        };
        let got = select();
        assert_eq!(
            got,
            first.iter().map(|(m, u)| (m.0, *u)).collect::<Vec<_>>(),
            "the partial index picks the same bodies"
        );
        let (proposed, _) = time_runs(runs, || select().len());
        assert_eq!(want, PREFETCH_BATCH as usize);
        println!(
            "\nThe prefetch's choice of the next {PREFETCH_BATCH} bodies with the newest half of \
             the {} messages fetched (p50 / p99):\n",
            thousands(texts.len() as u64)
        );
        println!("| query | per call |");
        println!("|---|---|");
        println!(
            "| `bodies_missing` today (NOT EXISTS in bodies, down messages_by_date) | {:.2} / {:.2} ms |",
            current.p50, current.p99
        );
        println!(
            "| the same rows through `CREATE INDEX ... ON messages (mailbox_id, date DESC, id DESC) WHERE indexed = 0` | {:.3} / {:.3} ms |",
            proposed.p50, proposed.p99
        );
    }
}
