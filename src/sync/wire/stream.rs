//! [`Wire`] as a byte stream for async-imap: reads go through the response framing, writes
//! straight through.

use super::*;

impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.patch_pos < this.patch.len() {
                let n = (this.patch.len() - this.patch_pos).min(out.remaining());
                out.put_slice(&this.patch[this.patch_pos..this.patch_pos + n]);
                this.patch_pos += n;
                return Poll::Ready(Ok(()));
            }
            if this.passthrough {
                if this.end > this.pos {
                    let n = (this.end - this.pos).min(out.remaining());
                    out.put_slice(&this.buf[this.pos..this.pos + n]);
                    this.pos += n;
                    this.ready = this.pos;
                    return Poll::Ready(Ok(()));
                }
                return Pin::new(&mut this.inner).poll_read(cx, out);
            }
            if let Some(what) = &this.failed {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    WireError(what.clone()),
                )));
            }
            // Check every complete response buffered (each is parsed once, here), so they go
            // out together; one that must change goes out alone, after those before it.
            let mut patched = false;
            while this.ready - this.pos < out.remaining() {
                let Some(end) = this.advance()? else { break };
                if !this.check(end) {
                    break;
                }
                if this.patch_pos < this.patch.len() {
                    patched = true;
                    break;
                }
            }
            if patched {
                continue;
            }
            if this.ready > this.pos {
                let n = (this.ready - this.pos).min(out.remaining());
                out.put_slice(&this.buf[this.pos..this.pos + n]);
                this.pos += n;
                return Poll::Ready(Ok(()));
            }
            if let Some(what) = &this.failed {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    WireError(what.clone()),
                )));
            }
            this.reserve();
            let mut rb = ReadBuf::new(&mut this.buf[this.end..]);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            let n = rb.filled().len();
            if n == 0 {
                if this.end > this.pos {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection in the middle of a response",
                    )));
                }
                return Poll::Ready(Ok(()));
            }
            this.end += n;
        }
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
