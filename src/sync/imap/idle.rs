//! IDLE: waiting for the server to report a change.

use super::*;

impl Imap {
    /// IDLE on the selected mailbox until the server reports a change, `until` passes, or
    /// `interrupt` fires; returns everything the server said (`changed()` tells whether the
    /// mailbox changed). Changes already
    /// reported alongside earlier commands end it at once. DONE has its own timeout: a link
    /// that cannot answer it is dead.
    pub async fn idle(
        &mut self,
        until: Duration,
        interrupt: impl Future<Output = ()>,
    ) -> Result<Untagged, SyncError> {
        self.drain();
        let mut u = std::mem::take(&mut self.pending);
        if u.changed() {
            return Ok(u);
        }
        let id = timed(IO_TIMEOUT, "IDLE", async {
            Ok::<_, SyncError>(self.session.run_command("IDLE").await?)
        })
        .await?;
        let host = self.host.clone();
        loop {
            let step = self
                .next_response(IO_TIMEOUT, "IDLE", |r| match r {
                    Response::Continue(_) => Some(Ok(())),
                    Response::Done { tag, outcome, .. } if *tag == id => Some(Err(SyncError::new(
                        ErrorKind::Protocol,
                        format!(
                            "{host} refused IDLE: {}",
                            crate::domain::sanitize::line(
                                outcome.information.as_deref().unwrap_or("")
                            )
                        ),
                    ))),
                    other => {
                        u.absorb(other);
                        None
                    }
                })
                .await?;
            match step {
                Some(Ok(())) => break,
                Some(Err(e)) => return Err(e),
                None => {}
            }
        }
        let deadline = tokio::time::Instant::now() + until;
        let mut interrupt = std::pin::pin!(interrupt);
        while !u.changed() {
            tokio::select! {
                r = tokio::time::timeout_at(deadline, self.session.read_response()) => match r {
                    Err(_) => break, // quiet until the deadline
                    Ok(Err(e)) => return Err(SyncError::io(e)),
                    Ok(Ok(None)) => {
                        return Err(SyncError::new(ErrorKind::Network, format!("{host} closed the connection")));
                    }
                    Ok(Ok(Some(r))) => {
                        if let Response::Data { status: Status::Bye, .. } = r.parsed() {
                            return Err(SyncError::new(ErrorKind::Network, format!("{host} closed the connection")));
                        }
                        u.absorb(r.parsed());
                        // A response the wire could not read may have been about the mailbox.
                        u.unplaced |= self.wire_moved();
                    }
                },
                _ = &mut interrupt => break,
            }
        }
        timed(Duration::from_secs(15), "IDLE DONE", async {
            Ok::<_, SyncError>(self.session.run_command_untagged("DONE").await?)
        })
        .await?;
        self.finish(&id, "IDLE DONE", Duration::from_secs(15), &mut u)
            .await?;
        Ok(u)
    }
}
