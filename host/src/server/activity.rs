//! What one connection is doing, for its timeouts: waiting for a request head, serving
//! requests, or idle between them.
//!
//! hyper's own `header_read_timeout` also runs while a keep-alive connection waits for its
//! next request (shown in `server/tests.rs`), so it cannot tell a slow head from an idle
//! client; the host tracks the difference itself. The connection's socket
//! (`tracked_io.rs`) reports bytes read and flushes, the service sees requests start, and
//! [`RequestGuard`] (dropped with the response body once hyper has taken all of it) sees
//! them end. The same state tells when a write can only be hyper's own answer to a request
//! it refused (`refusal.rs`).

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use tokio::time::Instant;

use super::ListenerConfig;

/// One connection's activity, shared by its IO, its service and its watchdog.
#[derive(Debug)]
pub struct Activity {
    state: Mutex<State>,
    /// Mirrors "idle, and HTTP/1": the only state a read changes, checked without the lock
    /// on every read.
    idle_http1: AtomicBool,
    /// Mirrors "HTTP/1, no request in progress, and the socket flushed since the last one
    /// ended": the state in which the only thing hyper can write is its own answer to a
    /// request head it could not parse.
    hyper_may_answer: AtomicBool,
    /// Set once the first bytes told HTTP/1 from HTTP/2.
    protocol_known: AtomicBool,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    since: Instant,
    active: usize,
    /// Known from the first bytes: an HTTP/2 client opens with its preface.
    http2: Option<bool>,
    /// The socket was flushed with no request in progress since a request last started or
    /// ended. hyper flushes its socket only once its write buffer is empty, and it encodes a
    /// response whole before it drops the body (ending the request), so from then on every
    /// byte of every answer the service gave is on the wire.
    flushed_since_request: bool,
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
                flushed_since_request: true,
            }),
            idle_http1: AtomicBool::new(false),
            hyper_may_answer: AtomicBool::new(false),
            protocol_known: AtomicBool::new(false),
        })
    }

    /// Bytes arrived. On an idle HTTP/1 connection they begin a new request head. On HTTP/2
    /// reads carry pings and window updates as well as requests, so only requests count.
    pub(super) fn bytes_read(&self, bytes: &[u8]) {
        if !self.protocol_known.load(Ordering::Relaxed) {
            let mut state = self.lock();
            if state.http2.is_none() {
                state.http2 = Some(bytes.starts_with(HTTP2_PREFACE_START));
                self.publish(&state);
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
            self.publish(&state);
        }
    }

    /// The socket reported a completed flush.
    pub(super) fn flushed(&self) {
        if self.hyper_may_answer.load(Ordering::Relaxed) {
            return;
        }
        let mut state = self.lock();
        if state.active == 0 && !state.flushed_since_request {
            state.flushed_since_request = true;
            self.publish(&state);
        }
    }

    /// True when a write now can only be hyper's own answer to a head it refused.
    pub(super) fn hyper_may_answer(&self) -> bool {
        self.hyper_may_answer.load(Ordering::Relaxed)
    }

    fn request_started(&self) {
        let mut state = self.lock();
        state.active += 1;
        state.phase = Phase::Serving;
        state.flushed_since_request = false;
        self.publish(&state);
    }

    fn request_ended(&self) {
        let mut state = self.lock();
        state.active = state.active.saturating_sub(1);
        state.flushed_since_request = false;
        if state.active == 0 {
            state.phase = Phase::Idle;
            state.since = Instant::now();
        }
        self.publish(&state);
    }

    /// Updates the lock-free mirrors of `state`.
    fn publish(&self, state: &State) {
        let http1 = state.http2 == Some(false);
        self.idle_http1
            .store(http1 && state.phase == Phase::Idle, Ordering::Relaxed);
        self.hyper_may_answer.store(
            http1 && state.active == 0 && state.flushed_since_request,
            Ordering::Relaxed,
        );
    }

    /// Whether the client speaks HTTP/2, once its first bytes told.
    pub fn http2(&self) -> Option<bool> {
        self.lock().http2
    }

    /// How long an HTTP/1 connection has had no request in progress, if it has none.
    pub fn idle_http1_for(&self, now: Instant) -> Option<std::time::Duration> {
        let state = self.lock();
        (state.phase == Phase::Idle && state.http2 == Some(false))
            .then(|| now.saturating_duration_since(state.since))
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

#[cfg(test)]
mod tests;
