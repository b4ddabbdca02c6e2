//! The socket of one connection as hyper sees it: reports bytes read and flushes to the
//! connection's [`Activity`], and turns hyper's own bare refusals into JSON ([`Refusal`]).

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{activity::Activity, refusal::Refusal};

#[derive(Debug)]
pub struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
    refusal: Refusal,
}

impl<T> Tracked<T> {
    /// `head_buffer_bytes`: hyper's HTTP/1.1 read buffer, named in a refused head's detail.
    pub fn new(inner: T, activity: Arc<Activity>, head_buffer_bytes: usize) -> Self {
        Self {
            inner,
            activity,
            refusal: Refusal::new(head_buffer_bytes),
        }
    }

    fn refusing(&self) -> bool {
        self.refusal.started() || self.activity.hyper_may_answer()
    }
}

impl<T: AsyncWrite + Unpin> Tracked<T> {
    /// Writes what the refusal still has to write.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.refusal.pending().is_empty() {
            let written = ready!(Pin::new(&mut self.inner).poll_write(cx, self.refusal.pending()))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.refusal.advance(written);
        }
        Poll::Ready(Ok(()))
    }

    /// hyper's bytes were taken; they are on their way once drained.
    fn taken(&mut self, cx: &mut Context<'_>, count: usize) -> Poll<io::Result<usize>> {
        match self.poll_drain(cx) {
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            // Pending: the rest goes at the next write, flush or shutdown.
            _ => Poll::Ready(Ok(count)),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled
            && buf.filled().len() > before
        {
            self.activity.bytes_read(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.refusing() {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        this.refusal.take(buf);
        this.taken(cx, buf.len())
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.refusing() {
            return Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        }
        let mut count = 0;
        for buf in bufs {
            this.refusal.take(buf);
            count += buf.len();
        }
        this.taken(cx, count)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.started() {
            this.refusal.finish_capture();
            ready!(this.poll_drain(cx))?;
        }
        ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        this.activity.flushed();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.started() {
            this.refusal.finish_capture();
            ready!(this.poll_drain(cx))?;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
