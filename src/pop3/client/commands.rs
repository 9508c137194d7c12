//! The POP3 commands: CAPA, the login (AUTH PLAIN or USER/PASS), STAT, LIST, UIDL, RETR
//! (pipelined too), DELE, RSET, NOOP, QUIT.

use super::*;

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Pop3<S> {
    /// Ask for the capabilities; a server that does not know CAPA has none (not an error).
    pub async fn capa(&mut self) -> Result<Capabilities, SyncError> {
        self.send("CAPA", "CAPA").await?;
        let caps = match self.status("CAPA").await? {
            Status::Ok(_) => Capabilities::parse(&self.lines("CAPA").await?),
            Status::Err(_) => Capabilities::default(),
        };
        self.caps = caps.clone();
        Ok(caps)
    }

    /// Log in: AUTH PLAIN when `caps` offers SASL PLAIN, else USER and PASS. A refusal is an
    /// `Auth` error, except a locked mailbox or a temporary failure (transient `Protocol`).
    ///
    /// When `caps` offers UTF8 (RFC 6856), UTF-8 mode is asked for first (it is valid only
    /// before the login): without it a server may send a stand-in for mail with raw UTF-8 in
    /// its headers (Courier sends "Cannot display Unicode content" with the original as an
    /// attachment) instead of the message. A refusal leaves the session as it was.
    pub async fn login(
        &mut self,
        user: &str,
        password: &Secret,
        caps: &Capabilities,
    ) -> Result<(), SyncError> {
        let pass = password.expose();
        if user.contains(['\r', '\n', '\0']) || pass.contains(['\r', '\n', '\0']) {
            return Err(SyncError::new(
                ErrorKind::Auth,
                format!(
                    "{}: the user name or password contains a line break or NUL, which POP3 \
                     cannot send",
                    self.host
                ),
            ));
        }
        if caps.has("UTF8") {
            self.send("UTF8", "UTF8").await?;
            self.status("UTF8").await?;
        }
        let steps = if caps.sasl("PLAIN") {
            let msg = [b"\0", user.as_bytes(), b"\0", pass.as_bytes()].concat();
            vec![(format!("AUTH PLAIN {}", base64(&msg)), "AUTH PLAIN")]
        } else {
            vec![
                (format!("USER {user}"), "USER"),
                (format!("PASS {pass}"), "PASS"),
            ]
        };
        for (cmd, what) in steps {
            self.send(&cmd, what).await?;
            if let Status::Err(text) = self.status(what).await? {
                return Err(match code(&text).as_deref() {
                    Some("IN-USE" | "SYS/TEMP" | "LOGIN-DELAY") => self.refused("the login", &text),
                    _ => SyncError::new(
                        ErrorKind::Auth,
                        format!(
                            "{} refused the login for {user}: {}",
                            self.host,
                            shown(&text)
                        ),
                    ),
                });
            }
        }
        Ok(())
    }

    /// The number of messages and their total size in octets.
    pub async fn stat(&mut self) -> Result<(u32, u64), SyncError> {
        let text = self.command("STAT", "STAT").await?;
        pair(&text).ok_or_else(|| self.garbage("STAT", &text))
    }

    /// Every message's number and unique id.
    pub async fn uidl(&mut self) -> Result<Vec<(u32, String)>, SyncError> {
        self.command("UIDL", "UIDL").await?;
        let lines = self.lines("UIDL").await?;
        let parse = |line: &[u8]| {
            let mut w = words(line);
            let n = number(w.next()?)?;
            let uid = w.next()?;
            // RFC 1939: 1 to 70 characters 0x21..0x7E; some servers use longer ones.
            let ok = uid.len() <= 255 && uid.iter().all(|b| (0x21..=0x7e).contains(b));
            ok.then(|| (n, String::from_utf8_lossy(uid).into_owned()))
        };
        lines
            .iter()
            .map(|l| parse(l).ok_or_else(|| self.garbage("UIDL", l)))
            .collect()
    }

    /// Every message's number and size in octets.
    pub async fn list(&mut self) -> Result<Vec<(u32, u64)>, SyncError> {
        self.command("LIST", "LIST").await?;
        let lines = self.lines("LIST").await?;
        lines
            .iter()
            .map(|l| pair(l).ok_or_else(|| self.garbage("LIST", l)))
            .collect()
    }

    /// Message `n`, as it is on the server: dot-stuffing undone, lines ending in CRLF (bare
    /// LFs from a sloppy server made CRLF), without the final `.` line. `size_hint` (its LIST
    /// size) pre-sizes the buffer.
    pub async fn retr(&mut self, n: u32, size_hint: u64) -> Result<Vec<u8>, SyncError> {
        self.retr_send(&[n]).await?;
        self.retr_answer(n, size_hint)
            .await?
            .map_err(|text| self.refused("RETR", &text))
    }

    /// Send `RETR n` for each of `ns` in one write and read none of the answers: with a
    /// server that announces PIPELINING (RFC 2449), several messages are then on their way at
    /// once. Read the answers in order with [`Pop3::retr_answer`] before any other command.
    pub async fn retr_send(&mut self, ns: &[u32]) -> Result<(), SyncError> {
        let mut cmds = String::with_capacity(ns.len() * 16);
        for n in ns {
            cmds.push_str(&format!("RETR {n}\r\n"));
        }
        self.commands += ns.len() as u64;
        self.write(cmds.as_bytes(), "RETR").await
    }

    /// The answer to the oldest RETR sent and not yet read: message `n` as [`Pop3::retr`]
    /// gives it, or the text of the server's `-ERR` (the session goes on: the answers to the
    /// other RETRs follow).
    pub async fn retr_answer(
        &mut self,
        n: u32,
        size_hint: u64,
    ) -> Result<Result<Vec<u8>, Vec<u8>>, SyncError> {
        if let Status::Err(text) = self.status("RETR").await? {
            return Ok(Err(text));
        }
        let mut out = Vec::with_capacity(size_hint.min(MAX_PREALLOC) as usize);
        let mut at = At::LineStart;
        loop {
            let chunk = self.fill("RETR").await?;
            let (used, done) = unstuff(&mut at, chunk, &mut out);
            self.io.consume(used);
            if done {
                return Ok(Ok(out));
            }
            if out.len() > MAX_MESSAGE {
                return Err(SyncError::new(
                    ErrorKind::Protocol,
                    format!(
                        "message {n} on {} is larger than {} MiB",
                        self.host,
                        MAX_MESSAGE >> 20
                    ),
                ));
            }
        }
    }

    /// Mark message `n` deleted; it goes at QUIT.
    pub async fn dele(&mut self, n: u32) -> Result<(), SyncError> {
        self.command(&format!("DELE {n}"), "DELE").await.map(drop)
    }

    /// Unmark every message marked deleted.
    pub async fn rset(&mut self) -> Result<(), SyncError> {
        self.command("RSET", "RSET").await.map(drop)
    }

    /// Do nothing (keep the session alive).
    pub async fn noop(&mut self) -> Result<(), SyncError> {
        self.command("NOOP", "NOOP").await.map(drop)
    }

    /// End the session. The server deletes the messages marked with DELE only now: an error
    /// here (including a lost connection) means they may not have been deleted.
    pub async fn quit(mut self) -> Result<(), SyncError> {
        self.send("QUIT", "QUIT").await?;
        if let Status::Err(text) = self.status("QUIT").await? {
            return Err(SyncError::new(
                ErrorKind::Protocol,
                format!(
                    "{} failed to end the session ({}); messages marked for deletion may not \
                     have been deleted",
                    self.host,
                    shown(&text)
                ),
            ));
        }
        let _ = tokio::time::timeout(self.timeout, self.io.get_mut().shutdown()).await;
        Ok(())
    }
}
