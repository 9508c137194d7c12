//! A tiny blocking IMAP client for assertions, over plain TCP to the fixture's loopback port
//! (Dovecot treats loopback as secure, so LOGIN works without TLS). Read-only by design: every
//! mailbox access uses EXAMINE and BODY.PEEK, so it never changes what the code under test sees
//! (no \Seen, no \Recent reset). Each call re-EXAMINEs, so it always sees the current state.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One untagged response with its literals cut out: `text` has each `{n}` literal replaced by
/// the marker `{n}` (kept as-is), and the literal bytes are in `literals`, in order.
#[derive(Debug, Clone)]
pub struct Untagged {
    pub text: String,
    pub literals: Vec<Vec<u8>>,
}

/// A failed command: the tagged status ("NO"/"BAD") and the server's text.
#[derive(Debug, Clone)]
pub struct ImapError {
    pub status: String,
    pub text: String,
}

impl std::fmt::Display for ImapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.text)
    }
}

pub struct TestImap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
    user: String,
}

/// Quotes a string for IMAP (mailbox names, login arguments; ASCII only).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl TestImap {
    /// Connects to 127.0.0.1:`port` and logs in. `Err` carries the server's answer (e.g. a
    /// `NO [AUTHENTICATIONFAILED]` for a wrong password) or the I/O error text.
    pub fn connect(port: u16, user: &str, password: &str) -> Result<TestImap, ImapError> {
        let io = |e: std::io::Error| ImapError {
            status: "IO".into(),
            text: e.to_string(),
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(io)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(io)?;
        stream
            .set_write_timeout(Some(Duration::from_secs(30)))
            .map_err(io)?;
        // An APPEND is three writes (command, literal, CRLF): with Nagle each waits for the
        // server's delayed ACK, ~40 ms a message.
        stream.set_nodelay(true).map_err(io)?;
        let writer = stream.try_clone().map_err(io)?;
        let mut imap = TestImap {
            reader: BufReader::new(stream),
            writer,
            tag: 0,
            user: user.to_string(),
        };
        let (greeting, _) = imap.read_line_with_literals().map_err(io)?;
        if !greeting.starts_with("* OK") {
            return Err(ImapError {
                status: "GREETING".into(),
                text: greeting,
            });
        }
        imap.command(&format!("LOGIN {} {}", quote(user), quote(password)))?;
        Ok(imap)
    }

    /// The user this connection is logged in as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Reads one response line; for each `{n}` / `{n+}` at a line end, reads the literal and
    /// continues with the rest of the line.
    fn read_line_with_literals(&mut self) -> std::io::Result<(String, Vec<Vec<u8>>)> {
        let mut text = String::new();
        let mut literals = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = self.reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("IMAP server closed the connection (after {text:?})"),
                ));
            }
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            let literal_len = line
                .strip_suffix('}')
                .and_then(|l| l.rfind('{').map(|i| &l[i + 1..]))
                .map(|n| n.trim_end_matches('+'))
                .and_then(|n| n.parse::<usize>().ok());
            text.push_str(&line);
            match literal_len {
                Some(len) => {
                    let mut buf = vec![0; len];
                    self.reader.read_exact(&mut buf)?;
                    literals.push(buf);
                }
                None => return Ok((text, literals)),
            }
        }
    }

    /// Sends one command and returns its untagged responses; `Err` on a NO/BAD answer.
    /// Panics on I/O errors (this is test code).
    pub fn command(&mut self, command: &str) -> Result<Vec<Untagged>, ImapError> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        let shown = if command.starts_with("LOGIN") {
            "LOGIN ...".to_string()
        } else {
            command.to_string()
        };
        self.writer
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap_or_else(|e| panic!("IMAP write of {shown:?} failed: {e}"));
        let mut untagged = Vec::new();
        loop {
            let (text, literals) = self
                .read_line_with_literals()
                .unwrap_or_else(|e| panic!("IMAP read after {shown:?} failed: {e}"));
            if let Some(rest) = text.strip_prefix(&format!("{tag} ")) {
                let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
                return if status == "OK" {
                    Ok(untagged)
                } else {
                    Err(ImapError {
                        status: status.to_string(),
                        text: text.to_string(),
                    })
                };
            }
            if text.starts_with('+') {
                panic!("unexpected continuation request after {shown:?}: {text}");
            }
            untagged.push(Untagged { text, literals });
        }
    }

    /// Like [`command`](Self::command) but panics on NO/BAD.
    pub fn ok(&mut self, command: &str) -> Vec<Untagged> {
        let user = self.user.clone();
        self.command(command)
            .unwrap_or_else(|e| panic!("IMAP {command:?} as {user} failed: {e}"))
    }

    /// The CAPABILITY list (upper-case atoms).
    pub fn capabilities(&mut self) -> Vec<String> {
        self.ok("CAPABILITY")
            .iter()
            .filter_map(|u| u.text.strip_prefix("* CAPABILITY "))
            .flat_map(|c| c.split_whitespace().map(|s| s.to_ascii_uppercase()))
            .collect()
    }

    /// All mailbox names (`LIST "" "*"`), as the server spells them (modified UTF-7).
    pub fn list(&mut self) -> Vec<String> {
        self.ok("LIST \"\" \"*\"")
            .iter()
            .filter_map(|u| {
                let rest = u.text.strip_prefix("* LIST ")?;
                // skip "(flags) " and the delimiter ("/" or NIL)
                let rest = &rest[rest.find(')')? + 1..];
                let rest = rest.trim_start();
                let rest = if let Some(r) = rest.strip_prefix("NIL") {
                    r
                } else {
                    let r = rest.strip_prefix('"')?;
                    let end = if r.starts_with('\\') { 2 } else { 1 };
                    &r[end + 1..]
                };
                let name = rest.trim_start();
                if name.ends_with('}') {
                    return u
                        .literals
                        .first()
                        .map(|l| String::from_utf8_lossy(l).into_owned());
                }
                Some(unquote(name))
            })
            .collect()
    }

    /// EXAMINEs `mailbox` (read-only select) and returns its EXISTS count.
    pub fn select(&mut self, mailbox: &str) -> u32 {
        let responses = self.ok(&format!("EXAMINE {}", quote(mailbox)));
        responses
            .iter()
            .find_map(|u| {
                u.text
                    .strip_prefix("* ")?
                    .strip_suffix(" EXISTS")?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no EXISTS in EXAMINE {mailbox}: {responses:?}"))
    }

    /// All UIDs in `mailbox`, ascending.
    pub fn uids(&mut self, mailbox: &str) -> Vec<u32> {
        self.search(mailbox, "ALL")
    }

    /// `UID SEARCH <criteria>` in `mailbox` (criteria are raw IMAP, ASCII), UIDs ascending.
    pub fn search(&mut self, mailbox: &str, criteria: &str) -> Vec<u32> {
        self.select(mailbox);
        let mut uids: Vec<u32> = self
            .ok(&format!("UID SEARCH {criteria}"))
            .iter()
            .filter_map(|u| u.text.strip_prefix("* SEARCH"))
            .flat_map(|s| s.split_whitespace().filter_map(|n| n.parse().ok()))
            .collect();
        uids.sort_unstable();
        uids
    }

    /// The flags of message `uid` in `mailbox`, e.g. `["\\Seen", "$Label1"]`, without the
    /// session-dependent `\\Recent`.
    pub fn flags(&mut self, mailbox: &str, uid: u32) -> Vec<String> {
        self.select(mailbox);
        let responses = self.ok(&format!("UID FETCH {uid} (UID FLAGS)"));
        let fetch = find_fetch(&responses, uid)
            .unwrap_or_else(|| panic!("UID {uid} not found in {mailbox}: {responses:?}"));
        let start = fetch.text.find("FLAGS (").expect("FLAGS in FETCH") + "FLAGS (".len();
        let end = start + fetch.text[start..].find(')').expect("FLAGS end");
        fetch.text[start..end]
            .split_whitespace()
            .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
            .map(str::to_string)
            .collect()
    }

    /// The raw message (`BODY.PEEK[]`, so \Seen is not set). Dovecot sends CRLF line ends.
    pub fn fetch_raw(&mut self, mailbox: &str, uid: u32) -> Vec<u8> {
        self.select(mailbox);
        let responses = self.ok(&format!("UID FETCH {uid} (UID BODY.PEEK[])"));
        let fetch = find_fetch(&responses, uid)
            .unwrap_or_else(|| panic!("UID {uid} not found in {mailbox}: {responses:?}"));
        fetch.literals.first().cloned().unwrap_or_default()
    }

    /// One header field of message `uid`, unfolded, without the name; `None` if absent.
    /// The value is returned raw (RFC 2047 words are not decoded).
    pub fn header(&mut self, mailbox: &str, uid: u32, field: &str) -> Option<String> {
        self.select(mailbox);
        let responses = self.ok(&format!(
            "UID FETCH {uid} (UID BODY.PEEK[HEADER.FIELDS ({field})])"
        ));
        let fetch = find_fetch(&responses, uid)?;
        let block = String::from_utf8_lossy(fetch.literals.first()?).into_owned();
        let unfolded = block.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case(field)
                .then(|| value.trim().to_string())
        })
    }

    /// `STATUS mailbox (MESSAGES UNSEEN UIDNEXT)` as (messages, unseen, uidnext).
    pub fn status(&mut self, mailbox: &str) -> (u32, u32, u32) {
        let responses = self.ok(&format!(
            "STATUS {} (MESSAGES UNSEEN UIDNEXT)",
            quote(mailbox)
        ));
        let text = responses
            .iter()
            .find(|u| u.text.starts_with("* STATUS"))
            .map(|u| u.text.clone())
            .unwrap_or_default();
        let get = |key: &str| -> u32 {
            text.split(|c: char| c == '(' || c == ')' || c.is_whitespace())
                .skip_while(|w| *w != key)
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {key} in {text:?}"))
        };
        (get("MESSAGES"), get("UNSEEN"), get("UIDNEXT"))
    }

    /// `APPEND mailbox (flags) {n}` with a synchronizing literal (works on servers without
    /// LITERAL+, e.g. Courier). Panics on NO/BAD or I/O errors.
    pub fn append(&mut self, mailbox: &str, flags: &str, raw: &[u8]) {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        let head = format!(
            "{tag} APPEND {} ({flags}) {{{}}}\r\n",
            quote(mailbox),
            raw.len()
        );
        self.writer
            .write_all(head.as_bytes())
            .expect("IMAP write APPEND");
        let (cont, _) = self.read_line_with_literals().expect("IMAP read APPEND");
        assert!(
            cont.starts_with('+'),
            "APPEND {mailbox}: no continuation: {cont}"
        );
        self.writer.write_all(raw).expect("IMAP write literal");
        self.writer.write_all(b"\r\n").expect("IMAP write CRLF");
        loop {
            let (text, _) = self
                .read_line_with_literals()
                .expect("IMAP read APPEND result");
            if let Some(rest) = text.strip_prefix(&format!("{tag} ")) {
                assert!(
                    rest.starts_with("OK"),
                    "APPEND {mailbox} as {}: {rest}",
                    self.user
                );
                return;
            }
        }
    }

    /// LOGOUT and close.
    pub fn logout(mut self) {
        let _ = self.command("LOGOUT");
    }
}

fn find_fetch(responses: &[Untagged], uid: u32) -> Option<&Untagged> {
    let needle = format!("UID {uid}");
    responses.iter().find(|u| {
        u.text.starts_with("* ")
            && u.text.contains(" FETCH (")
            && u.text
                .match_indices(&needle)
                .any(|(i, _)| !u.text[i + needle.len()..].starts_with(|c: char| c.is_ascii_digit()))
    })
}

fn unquote(s: &str) -> String {
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::new();
            let mut escaped = false;
            for c in inner.chars() {
                if !escaped && c == '\\' {
                    escaped = true;
                } else {
                    out.push(c);
                    escaped = false;
                }
            }
            out
        }
        None => s.to_string(),
    }
}
