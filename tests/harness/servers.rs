//! One IMAP/POP3 server of any kind behind one API, so a test can be written once and run
//! against Dovecot, Cyrus and Courier: `for server in ImapServer::start_all() { ... }`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::time::{Duration, Instant};

use super::{
    Courier, CourierOptions, Cyrus, EximDelivery, GeneratedMessage, MailServers, TestImap,
    TestUser, imap, interop, populate, process,
};

/// Which server to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImapKind {
    Dovecot,
    Cyrus,
    Courier,
    /// Courier without UIDPLUS in its capabilities.
    CourierNoUidplus,
}

impl ImapKind {
    pub const ALL: [ImapKind; 3] = [ImapKind::Dovecot, ImapKind::Cyrus, ImapKind::Courier];
}

pub enum ImapServer {
    Dovecot(MailServers),
    Cyrus(Cyrus),
    Courier(Courier),
}

impl ImapServer {
    pub fn start(kind: ImapKind) -> ImapServer {
        match kind {
            ImapKind::Dovecot => ImapServer::Dovecot(MailServers::start()),
            ImapKind::Cyrus => ImapServer::Cyrus(Cyrus::start()),
            ImapKind::Courier => ImapServer::Courier(Courier::start(CourierOptions::default())),
            ImapKind::CourierNoUidplus => {
                ImapServer::Courier(Courier::start(CourierOptions { uidplus: false }))
            }
        }
    }

    /// Starts the given kinds in parallel (one thread each), in the given order.
    pub fn start_many(kinds: &[ImapKind]) -> Vec<ImapServer> {
        std::thread::scope(|s| {
            let handles: Vec<_> = kinds
                .iter()
                .map(|&k| s.spawn(move || ImapServer::start(k)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    }

    /// Dovecot, Cyrus and Courier, started in parallel.
    pub fn start_all() -> Vec<ImapServer> {
        ImapServer::start_many(&ImapKind::ALL)
    }

    /// "dovecot", "cyrus", "courier" or "courier-no-uidplus" (for messages).
    pub fn name(&self) -> &'static str {
        match self {
            ImapServer::Dovecot(_) => "dovecot",
            ImapServer::Cyrus(_) => "cyrus",
            ImapServer::Courier(c) if !c.options().uidplus => "courier-no-uidplus",
            ImapServer::Courier(_) => "courier",
        }
    }
    pub fn host(&self) -> &'static str {
        super::HOST
    }
    pub fn imap_port(&self) -> u16 {
        match self {
            ImapServer::Dovecot(s) => s.imap_port(),
            ImapServer::Cyrus(s) => s.imap_port(),
            ImapServer::Courier(s) => s.imap_port(),
        }
    }
    pub fn imaps_port(&self) -> u16 {
        match self {
            ImapServer::Dovecot(s) => s.imaps_port(),
            ImapServer::Cyrus(s) => s.imaps_port(),
            ImapServer::Courier(s) => s.imaps_port(),
        }
    }
    pub fn pop3_port(&self) -> u16 {
        match self {
            ImapServer::Dovecot(s) => s.pop3_port(),
            ImapServer::Cyrus(s) => s.pop3_port(),
            ImapServer::Courier(s) => s.pop3_port(),
        }
    }
    pub fn pop3s_port(&self) -> u16 {
        match self {
            ImapServer::Dovecot(s) => s.pop3s_port(),
            ImapServer::Cyrus(s) => s.pop3s_port(),
            ImapServer::Courier(s) => s.pop3s_port(),
        }
    }
    pub fn ca_pem(&self) -> &[u8] {
        match self {
            ImapServer::Dovecot(s) => s.ca_pem(),
            ImapServer::Cyrus(s) => s.ca_pem(),
            ImapServer::Courier(s) => s.ca_pem(),
        }
    }
    pub fn ca_pem_path(&self) -> PathBuf {
        match self {
            ImapServer::Dovecot(s) => s.ca_pem_path(),
            ImapServer::Cyrus(s) => s.ca_pem_path(),
            ImapServer::Courier(s) => s.ca_pem_path(),
        }
    }
    pub fn tls_client_config(&self) -> Arc<rustls::ClientConfig> {
        match self {
            ImapServer::Dovecot(s) => s.tls_client_config(),
            ImapServer::Cyrus(s) => s.tls_client_config(),
            ImapServer::Courier(s) => s.tls_client_config(),
        }
    }
    pub fn base_dir(&self) -> &Path {
        match self {
            ImapServer::Dovecot(s) => s.base_dir(),
            ImapServer::Cyrus(s) => s.base_dir(),
            ImapServer::Courier(s) => s.base_dir(),
        }
    }
    pub fn startup_time(&self) -> std::time::Duration {
        match self {
            ImapServer::Dovecot(s) => s.startup_time(),
            ImapServer::Cyrus(s) => s.startup_time(),
            ImapServer::Courier(s) => s.startup_time(),
        }
    }
    pub fn with_logs(&self, msg: &str) -> String {
        match self {
            ImapServer::Dovecot(s) => s.with_logs(msg),
            ImapServer::Cyrus(s) => s.with_logs(msg),
            ImapServer::Courier(s) => s.with_logs(msg),
        }
    }
    /// Whether the server flags role folders with SPECIAL-USE (Courier does not).
    pub fn has_special_use(&self) -> bool {
        !matches!(self, ImapServer::Courier(_))
    }

    /// The IMAP name of a folder given as Dovecot names it: Courier's "Archive" is
    /// "INBOX.Archive" (and "A/B" is "INBOX.A.B"); Dovecot's and Cyrus's are unchanged.
    pub fn folder_wire_name(&self, folder: &str) -> String {
        match self {
            ImapServer::Courier(s) => s.folder_wire_name(folder),
            ImapServer::Cyrus(s) => s.folder_wire_name(folder),
            ImapServer::Dovecot(_) => folder.to_string(),
        }
    }

    /// A logged-in [`TestImap`] on the plain port.
    pub fn imap(&self, user: &str) -> TestImap {
        match self {
            ImapServer::Dovecot(s) => s.imap(user),
            ImapServer::Cyrus(s) => s.imap(user),
            ImapServer::Courier(s) => s.imap(user),
        }
    }

    /// The capabilities after logging in as `user` (upper-case atoms).
    pub fn capabilities(&self, user: &str) -> Vec<String> {
        let mut imap = self.imap(user);
        let caps = imap.capabilities();
        imap.logout();
        caps
    }

    /// Stores `raw` in `user`'s INBOX (Dovecot: doveadm save; Cyrus: LMTP; Courier: a file
    /// in the Maildir).
    pub fn deliver(&self, user: &str, raw: &[u8]) {
        match self {
            ImapServer::Dovecot(s) => s.deliver(user, raw),
            ImapServer::Cyrus(s) => s.deliver(user, raw),
            ImapServer::Courier(s) => s.deliver(user, raw),
        }
    }

    /// Stores `raw` in `user`'s `folder` (Dovecot name; it must exist). Dovecot: doveadm
    /// save; Cyrus: IMAP APPEND; Courier: a file in the folder's Maildir.
    pub fn deliver_to(&self, user: &str, folder: &str, raw: &[u8]) {
        match self {
            ImapServer::Dovecot(s) => s.deliver_to(user, folder, raw),
            ImapServer::Cyrus(s) => s.deliver_to(user, folder, raw),
            ImapServer::Courier(s) => s.deliver_to(user, folder, raw),
        }
    }

    /// Creates a folder, named as Dovecot names it (see [`folder_wire_name`](Self::folder_wire_name)).
    pub fn create_folder(&self, user: &str, folder: &str) {
        match self {
            ImapServer::Dovecot(s) => s.create_mailbox(user, folder),
            ImapServer::Cyrus(s) => s.create_folder(user, folder),
            ImapServer::Courier(s) => s.create_folder(user, folder),
        }
    }

    /// A tern config (config.toml in `dir`, data dir inside it) for `user` with an IMAP
    /// account on `port`/`security`, trusting the CA. For Courier it names the role folders
    /// in `[account.folders]` (INBOX.Sent, ...), since Courier has no SPECIAL-USE. `extra`
    /// (TOML) is appended, e.g. [`Exim::tern_smtp_section`](super::Exim::tern_smtp_section).
    pub fn write_tern_config(
        &self,
        dir: &Path,
        user: &TestUser,
        security: &str,
        port: u16,
        extra: &str,
    ) -> PathBuf {
        let mut extra = extra.to_string();
        if let ImapServer::Courier(c) = self {
            extra.push_str("[account.folders]\n");
            for role in ["sent", "drafts", "trash", "archive", "junk"] {
                let mut name = role.to_string();
                name[..1].make_ascii_uppercase();
                extra.push_str(&format!("{role} = \"{}\"\n", c.folder_wire_name(&name)));
            }
        }
        interop::write_tern_imap_config(
            dir,
            user,
            security,
            port,
            user.password,
            &self.ca_pem_path(),
            &extra,
        )
    }

    /// Like [`write_tern_config`](Self::write_tern_config), with `account_keys` (TOML lines,
    /// e.g. `offline = "headers"`) in the `[[account]]` table itself.
    pub fn write_tern_config_with(
        &self,
        dir: &Path,
        user: &TestUser,
        security: &str,
        port: u16,
        account_keys: &str,
        extra: &str,
    ) -> PathBuf {
        let path = self.write_tern_config(dir, user, security, port, extra);
        let text = std::fs::read_to_string(&path).expect("read tern config");
        let text = text.replacen(
            "[account.imap]\n",
            &format!("{account_keys}\n[account.imap]\n"),
            1,
        );
        std::fs::write(&path, text).expect("write tern config");
        path
    }

    /// A tern config (config.toml in `dir`, data dir inside it) for `user` with a POP3 account
    /// on `port`/`security`, trusting the CA; `pop3_keys` (TOML lines, e.g.
    /// `leave_on_server = false`) go into `[account.pop3]`.
    pub fn write_tern_pop3_config(
        &self,
        dir: &Path,
        user: &TestUser,
        security: &str,
        port: u16,
        pop3_keys: &str,
    ) -> PathBuf {
        interop::write_tern_pop3_config(
            dir,
            user,
            security,
            port,
            user.password,
            &self.ca_pem_path(),
            pop3_keys,
        )
    }

    /// Delivers `n` varied messages (the generator of [`MailServers::populate`], deterministic
    /// for a `seed`: senders, non-ASCII headers and bodies, multipart, attachments, threads)
    /// into `user`'s INBOX one by one, as an MTA would; returns them in delivery (= UID) order.
    /// Dovecot keeps the generated flags; on Cyrus and Courier every message arrives unread.
    pub fn populate_inbox(&self, user: &str, n: usize, seed: u64) -> Vec<GeneratedMessage> {
        if let ImapServer::Dovecot(s) = self {
            return s.populate(user, "INBOX", n, seed).messages;
        }
        let mut rng = populate::Rng::new(seed);
        let mut date: i64 = 1_767_225_600 - (n as i64) * 37 * 60;
        let mut messages: Vec<GeneratedMessage> = Vec::with_capacity(n);
        for i in 0..n {
            date += 60 + rng.below(72 * 60) as i64;
            let (raw, meta) = populate::generate(&mut rng, seed, i, date, user, &messages);
            self.deliver(user, &raw);
            messages.push(meta);
        }
        messages
    }

    /// Stops the server (its mail stays): a client sees the connection refused.
    pub fn stop(&mut self) {
        match self {
            ImapServer::Dovecot(s) => s.stop_dovecot(),
            ImapServer::Cyrus(s) => s.stop(),
            ImapServer::Courier(s) => s.stop(),
        }
    }

    /// Where an [`Exim`](super::Exim) should deliver to reach this server's mailboxes
    /// (Cyrus: LMTP; Courier: the Maildirs). Panics for Dovecot (use Postfix there).
    pub fn exim_delivery(&self) -> EximDelivery {
        match self {
            ImapServer::Cyrus(c) => EximDelivery::Lmtp(c.lmtp_socket()),
            ImapServer::Courier(c) => EximDelivery::Maildir(c.mail_root()),
            ImapServer::Dovecot(_) => panic!("Exim delivers into Cyrus or Courier, not Dovecot"),
        }
    }

    /// Polls (bounded by `timeout`) until `user`'s `folder` (Dovecot name, see
    /// [`folder_wire_name`](Self::folder_wire_name)) holds a message whose Subject contains
    /// `subject` (ASCII); returns its UID. Panics with the logs on timeout.
    pub fn wait_for_subject(
        &self,
        user: &str,
        folder: &str,
        subject: &str,
        timeout: Duration,
    ) -> u32 {
        let wire = self.folder_wire_name(folder);
        let mut imap = self.imap(user);
        let criteria = format!("SUBJECT {}", imap::quote(subject));
        let mut found = None;
        process::wait_until(Instant::now() + timeout, || {
            // EXAMINE each time: Courier sees new Maildir files only on a rescan
            found = imap.search(&wire, &criteria).first().copied();
            found.is_some()
        });
        found.unwrap_or_else(|| {
            panic!(
                "{}",
                self.with_logs(&format!(
                    "{}: no message with subject {subject:?} in {user}/{wire} after {timeout:?}",
                    self.name()
                ))
            )
        })
    }
}
