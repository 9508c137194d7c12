//! Connecting: TLS or STARTTLS (never a plain fallback), login, capabilities, COMPRESS.

use super::*;

/// Whether COMPRESS=DEFLATE is worth asking for: the config decides; by default it is on
/// except on loopback, where deflating costs more CPU than it saves.
pub(super) fn want_compress(server: &ServerConfig) -> bool {
    server.compress.unwrap_or_else(|| {
        let host = server.host.trim_start_matches('[').trim_end_matches(']');
        !(host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()))
    })
}

impl Imap {
    /// Connect, secure, log in, and turn on the extensions tern uses.
    pub async fn connect(
        server: &ServerConfig,
        password: Option<&Secret>,
        tls: Arc<ClientConfig>,
    ) -> Result<Imap, SyncError> {
        let host = server.host.as_str();
        let wire = Arc::new(WireStats::default());
        let (client, pre) = login::open(server, Arc::clone(&tls), &wire).await?;
        let password = password.ok_or_else(|| {
            SyncError::new(
                ErrorKind::Auth,
                format!("no password configured for {host}"),
            )
        })?;
        let session = login::log_in(server, password, tls, &wire, client, &pre).await?;
        Imap::start(session, host, wire, want_compress(server)).await
    }

    /// A logged-in session made ready: its capabilities learnt, COMPRESS (when `compress`),
    /// CONDSTORE or QRESYNC enabled, ID sent.
    pub(super) async fn start(
        session: Session<Wire>,
        host: &str,
        wire: Arc<WireStats>,
        compress: bool,
    ) -> Result<Imap, SyncError> {
        let mut imap = Imap {
            session,
            caps: Caps::default(),
            commands: 0,
            host: host.to_string(),
            selected: None,
            pending: Untagged::default(),
            compressed: false,
            wire_seen: wire.altered(),
            wire,
        };
        imap.wire.take_done();
        let caps = timed(IO_TIMEOUT, "CAPABILITY", async {
            Ok::<_, SyncError>(imap.session.capabilities().await?)
        })
        .await?;
        answered(&imap.wire, "CAPABILITY")?;
        imap.caps = caps_of(caps.iter());
        if imap.caps.has("COMPRESS=DEFLATE") && compress {
            imap = imap.compress().await?;
        }
        if imap.caps.has("QRESYNC") {
            imap.simple("ENABLE QRESYNC").await?;
        } else if imap.caps.has("CONDSTORE") {
            imap.simple("ENABLE CONDSTORE").await?;
        }
        if imap.caps.has("ID") {
            let id = [
                ("name", Some("tern")),
                ("version", Some(env!("CARGO_PKG_VERSION"))),
            ];
            let _ = timed(IO_TIMEOUT, "ID", async {
                Ok::<_, SyncError>(imap.session.id(id).await?)
            })
            .await;
        }
        imap.drain();
        Ok(imap)
    }

    /// Turn on COMPRESS=DEFLATE (RFC 4978): everything after it is deflated both ways.
    pub(super) async fn compress(self) -> Result<Imap, SyncError> {
        let Imap {
            session,
            caps,
            commands,
            host,
            selected,
            pending,
            wire,
            wire_seen,
            ..
        } = self;
        // The Wire below the decompressor sees deflated bytes: it lets them pass, and a new
        // Wire reads above it.
        let stats = Arc::clone(&wire);
        let session = timed(IO_TIMEOUT, "COMPRESS", async {
            Ok::<_, SyncError>(
                session
                    .compress(move |mut s| {
                        s.get_mut().set_passthrough();
                        Wire::new(Box::new(s), stats)
                    })
                    .await?,
            )
        })
        .await?;
        Ok(Imap {
            session,
            caps,
            commands,
            host,
            selected,
            pending,
            compressed: true,
            wire,
            wire_seen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_defaults_off_on_loopback_only() {
        let mut server = crate::config::Config::parse(
            "[[account]]\nname = \"a\"\nemail = \"a@b.c\"\n[account.imap]\nhost = \"imap.example.com\"\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap()
        .accounts[0]
            .imap
            .clone()
            .unwrap();
        assert!(want_compress(&server));
        for host in ["localhost", "127.0.0.1", "::1", "[::1]"] {
            server.host = host.into();
            assert!(!want_compress(&server), "{host}");
        }
        server.compress = Some(true);
        assert!(want_compress(&server));
        server.host = "imap.example.com".into();
        server.compress = Some(false);
        assert!(!want_compress(&server));
    }
}
