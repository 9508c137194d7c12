//! Connecting: implicit TLS, STLS or plain as configured, then CAPA and the login.

use super::*;

impl Pop3<BoxStream> {
    /// Connect, secure the connection (implicit TLS, STLS, or none as configured), read the
    /// greeting, ask CAPA and log in. With STLS the capabilities are asked again over TLS.
    pub async fn connect(
        server: &ServerConfig,
        password: Option<&Secret>,
        tls: Arc<ClientConfig>,
    ) -> Result<Self, SyncError> {
        let host = server.host.as_str();
        let password = password.ok_or_else(|| {
            SyncError::new(
                ErrorKind::Auth,
                format!("no password configured for {host}"),
            )
        })?;
        if server.security == Security::None && !server.allow_plaintext_auth {
            return Err(SyncError::new(
                ErrorKind::Tls,
                format!(
                    "refusing to send the password to {host} in plain text \
                     (security = \"none\" and allow_plaintext_auth = false)"
                ),
            ));
        }
        let stream: BoxStream = match server.security {
            Security::Tls => net::connect_tls(host, server.port, tls.clone()).await?,
            Security::StartTls | Security::None => {
                Box::new(net::connect_tcp(host, server.port).await?)
            }
        };
        let (mut pop, caps) = Pop3::secure(stream, host, server.security, tls).await?;
        pop.login(&server.username, password, &caps).await?;
        Ok(pop)
    }

    /// On a connected stream (already TLS for `Security::Tls`): read the greeting, ask CAPA,
    /// and with `Security::StartTls` upgrade with STLS (refused when not offered) and ask CAPA
    /// again, since capabilities announced in plain text are not trusted.
    pub(super) async fn secure(
        stream: BoxStream,
        host: &str,
        security: Security,
        tls: Arc<ClientConfig>,
    ) -> Result<(Self, Capabilities), SyncError> {
        let mut pop = Pop3::from_stream(stream, host).await?;
        let caps = pop.capa().await?;
        if security != Security::StartTls {
            return Ok((pop, caps));
        }
        if !caps.has("STLS") {
            return Err(SyncError::new(
                ErrorKind::Tls,
                format!("{host} does not offer STLS; refusing to continue without encryption"),
            ));
        }
        pop.send("STLS", "STLS").await?;
        if let Status::Err(text) = pop.status("STLS").await? {
            return Err(SyncError::new(
                ErrorKind::Tls,
                format!(
                    "{host} did not accept STLS ({}); refusing to continue without encryption",
                    shown(&text)
                ),
            ));
        }
        if !pop.io.buffer().is_empty() {
            // Bytes sent before the handshake would pass for ones sent over TLS.
            return Err(SyncError::new(
                ErrorKind::Tls,
                format!("{host} sent data before the TLS handshake; refusing to continue"),
            ));
        }
        let (commands, timeout) = (pop.commands, pop.timeout);
        let stream = net::start_tls(pop.io.into_inner(), host, tls).await?;
        let mut pop = Pop3 {
            io: BufReader::with_capacity(BUF_SIZE, Box::new(stream) as BoxStream),
            host: host.to_string(),
            commands,
            timeout,
            caps: Capabilities::default(),
        };
        let caps = pop.capa().await?;
        Ok((pop, caps))
    }
}
