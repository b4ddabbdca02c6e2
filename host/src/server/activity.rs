//! What one connection is doing, for its timeouts: waiting for a request head, serving
//! requests, or idle between them.
//!
//! hyper's own `header_read_timeout` also runs while a keep-alive connection waits for its
//! next request (shown in `server/tests.rs`), so it cannot tell a slow head
//! from an idle client; the host tracks the difference itself. [`Tracked`] sees bytes
//! arrive, the service sees requests start, and [`RequestGuard`] (dropped with the response
//! body once hyper has taken all of it) sees them end.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::Notify,
    time::Instant,
};

use super::ListenerConfig;

/// One connection's activity, shared by its IO, its service and its watchdog.
#[derive(Debug)]
pub struct Activity {
    state: Mutex<State>,
    /// Mirrors "idle, and HTTP/1": the only state a read changes, checked without the lock
    /// on every read.
    idle_http1: AtomicBool,
    /// Set once the first bytes told HTTP/1 from HTTP/2.
    protocol_known: AtomicBool,
    changed: Notify,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    since: Instant,
    active: usize,
    /// Known from the first bytes: an HTTP/2 client opens with its preface.
    http2: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The connection is open, or a new request has begun to arrive, and no complete head
    /// has reached the service yet.
    AwaitingHead,
    /// At least one request is being served.
    Serving,
    /// No request in progress since `since`.
    Idle,
}

/// Why a connection's time is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// A head did not arrive within `header_read_timeout`: close without an answer.
    HeadTimeout,
    /// Nothing asked for `idle_timeout`: close gracefully.
    Idle,
}

const HTTP2_PREFACE_START: &[u8] = b"PRI ";

impl Activity {
    /// A connection just accepted: the clock for its first head starts now.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                phase: Phase::AwaitingHead,
                since: Instant::now(),
                active: 0,
                http2: None,
            }),
            idle_http1: AtomicBool::new(false),
            protocol_known: AtomicBool::new(false),
            changed: Notify::new(),
        })
    }

    /// Bytes arrived. On an idle HTTP/1 connection they begin a new request head. On HTTP/2
    /// reads carry pings and window updates as well as requests, so only requests count.
    fn bytes_read(&self, bytes: &[u8]) {
        if !self.protocol_known.load(Ordering::Relaxed) {
            let mut state = self.lock();
            if state.http2.is_none() {
                let http2 = bytes.starts_with(HTTP2_PREFACE_START);
                state.http2 = Some(http2);
                self.idle_http1
                    .store(!http2 && state.phase == Phase::Idle, Ordering::Relaxed);
            }
            self.protocol_known.store(true, Ordering::Relaxed);
        }
        if !self.idle_http1.load(Ordering::Relaxed) {
            return;
        }
        let mut state = self.lock();
        if state.phase == Phase::Idle && state.http2 == Some(false) {
            state.phase = Phase::AwaitingHead;
            state.since = Instant::now();
            self.idle_http1.store(false, Ordering::Relaxed);
            drop(state);
            self.changed.notify_one();
        }
    }

    fn request_started(&self) {
        let mut state = self.lock();
        state.active += 1;
        state.phase = Phase::Serving;
        self.idle_http1.store(false, Ordering::Relaxed);
    }

    fn request_ended(&self) {
        let mut state = self.lock();
        state.active = state.active.saturating_sub(1);
        if state.active == 0 {
            state.phase = Phase::Idle;
            state.since = Instant::now();
            self.idle_http1
                .store(state.http2 == Some(false), Ordering::Relaxed);
            drop(state);
            // The watchdog may be waiting without a deadline (serving): give it one.
            self.changed.notify_one();
        }
    }

    /// When this connection's time runs out if nothing changes, and why.
    pub fn deadline(&self, limits: &ListenerConfig) -> Option<(Instant, Expiry)> {
        let state = self.lock();
        match state.phase {
            Phase::AwaitingHead => Some((
                state.since + limits.header_read_timeout,
                Expiry::HeadTimeout,
            )),
            Phase::Idle => Some((state.since + limits.idle_timeout, Expiry::Idle)),
            Phase::Serving => None,
        }
    }

    /// Resolves when the phase changed in a way that may move the deadline earlier or set
    /// one (a permit is stored, so a change between [`Self::deadline`] and this is kept).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain fields, consistent after any panic.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A request being served; dropping it (with the response body, or with the service future
/// when the connection goes away first) ends it.
#[derive(Debug)]
pub struct RequestGuard(Arc<Activity>);

impl RequestGuard {
    pub fn start(activity: &Arc<Activity>) -> Self {
        activity.request_started();
        Self(activity.clone())
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// A socket that reports the bytes it reads to its connection's [`Activity`].
#[derive(Debug)]
pub struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Tracked<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
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
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
