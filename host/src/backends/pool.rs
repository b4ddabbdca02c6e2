//! One backend's pool of HTTP/1 connections: a call takes an idle connection (or opens a
//! new one) and gives it back once it has read the whole answer.
//!
//! Why not hyper-util's pooled client: it keeps one pool for every backend, keyed by scheme
//! and authority and hashed with SipHash on each checkout and return; it formats the `Host`
//! header and rewrites the URI of every request, and spawns a task per call to wait until
//! the connection is ready again. Together about 10,000 instructions per backend call
//! (under callgrind, W3's ten calls per device request cost 385k instructions through it
//! and 281k through this pool). A backend has one authority, so its pool is a stack of
//! idle connections behind a mutex, its `Host` value is made once, and a connection that is
//! not yet ready when given back is waited for by the next call that takes it.
//!
//! A connection is given back only after its answer was read to the end; a call that fails
//! or is cancelled mid-answer drops its connection, which closes it (HTTP/1 cannot abandon a
//! response and go on). Idle connections are closed after [`IDLE_TIMEOUT`] to
//! [`IDLE_TIMEOUT`] plus a sweep interval by [`ConnectionPool::sweep`], and at most
//! `max_idle` are kept.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Request, Response,
    body::Incoming,
    client::conn::http1::{self, SendRequest},
    header::{HOST, HeaderValue},
};
use hyper_util::rt::TokioIo;

/// How long an idle connection is kept, at least.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How often [`ConnectionPool::sweep`] runs; idle connections close after [`IDLE_TIMEOUT`]
/// plus at most this.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// Sweeps an idle connection survives: it is closed by the first sweep that finds it idle
/// since before the previous `IDLE_SWEEPS` sweeps.
const IDLE_SWEEPS: u64 = IDLE_TIMEOUT.as_secs().div_ceil(SWEEP_INTERVAL.as_secs());

type Sender = SendRequest<Full<Bytes>>;

/// The idle connections of one backend.
pub struct ConnectionPool {
    /// `host:port`, as connected to.
    address: String,
    /// The `Host` header of every request.
    host: HeaderValue,
    max_idle: usize,
    /// Idle connections, most recently used last (taken first: its socket is warm).
    idle: Mutex<Vec<Idle>>,
    /// Sweeps so far: an idle connection notes it when given back, instead of the time, so
    /// that giving back reads no clock.
    sweeps: AtomicU64,
}

struct Idle {
    sender: Sender,
    /// `sweeps` when it was given back.
    since_sweep: u64,
}

/// A connection taken from the pool for one request; [`Lease::give_back`] once its answer
/// was read to the end. Dropped instead, the connection closes.
pub struct Lease<'pool> {
    sender: Sender,
    pool: &'pool ConnectionPool,
}

/// Why a request got no answer head.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("connecting to {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("HTTP handshake with {address}: {source}")]
    Handshake {
        address: String,
        source: hyper::Error,
    },
    #[error(transparent)]
    Request(hyper::Error),
}

impl ConnectionPool {
    /// A pool for the backend at `host` and `port` (as in its URL), keeping at most
    /// `max_idle` idle connections.
    pub fn new(host: &str, port: u16, max_idle: usize) -> Result<Self, String> {
        let address = format!("{host}:{port}");
        let host = HeaderValue::from_str(if port == 80 { host } else { &address })
            .map_err(|_| format!("host {host:?} is not a valid Host header"))?;
        Ok(Self {
            address,
            host,
            max_idle,
            idle: Mutex::new(Vec::new()),
            sweeps: AtomicU64::new(0),
        })
    }

    /// Sends `request` (origin-form URI; the pool sets `Host`) on an idle connection or a new
    /// one, and returns the answer's head with the connection that carries its body.
    ///
    /// A request an idle connection turned down unsent (the backend closed it meanwhile)
    /// goes to the next idle connection, then to a new one; one that fails on a new
    /// connection, or after it was sent, is an error: only the caller knows whether it may be
    /// sent again.
    ///
    /// Not an `async fn`: one keeps each by-value argument beside the local it is moved
    /// into, and every backend call's future would carry the request twice. The block
    /// below uses its captured request in place.
    pub fn send(
        &self,
        mut request: Request<Full<Bytes>>,
    ) -> impl Future<Output = Result<(Response<Incoming>, Lease<'_>), SendError>> + Send + '_ {
        request.headers_mut().insert(HOST, self.host.clone());
        async move {
            loop {
                let (mut sender, reused) = match self.take_idle() {
                    Some(sender) => (sender, true),
                    // Boxed: connecting is rare (the pool keeps connections) and its future
                    // is larger than the rest of a send's, which every call would carry.
                    None => (Box::pin(self.connect()).await?, false),
                };
                // An idle connection may still be finishing its last answer (it was given
                // back as soon as its body was read), or may have been closed by the
                // backend since.
                if reused && sender.ready().await.is_err() {
                    continue;
                }
                match sender.try_send_request(request).await {
                    Ok(response) => {
                        let lease = Lease { sender, pool: self };
                        return Ok((response, lease));
                    }
                    Err(mut error) => match error.take_message() {
                        Some(unsent) if reused => request = unsent,
                        _ => return Err(SendError::Request(error.into_error())),
                    },
                }
            }
        }
    }

    /// Closes connections idle for [`IDLE_TIMEOUT`] or more, and those the backend closed.
    /// Runs every [`SWEEP_INTERVAL`].
    pub fn sweep(&self) {
        let sweeps = self.sweeps.fetch_add(1, Ordering::Relaxed) + 1;
        let closed: Vec<Idle> = {
            let mut idle = self.lock_idle();
            let (kept, closed) = std::mem::take(&mut *idle).into_iter().partition(|entry| {
                !entry.sender.is_closed() && entry.since_sweep + IDLE_SWEEPS >= sweeps
            });
            *idle = kept;
            closed
        };
        // Dropped outside the lock: dropping a sender wakes its connection's task.
        drop(closed);
    }

    /// Idle connections now, for `/admin/backends`.
    pub fn idle_count(&self) -> usize {
        self.lock_idle().len()
    }

    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.lock_idle();
        while let Some(entry) = idle.pop() {
            if !entry.sender.is_closed() {
                return Some(entry.sender);
            }
        }
        None
    }

    async fn connect(&self) -> Result<Sender, SendError> {
        let connect_failed = |source| SendError::Connect {
            address: self.address.clone(),
            source,
        };
        let stream = tokio::net::TcpStream::connect(self.address.as_str())
            .await
            .map_err(connect_failed)?;
        // Requests are small and answered at once: Nagle's delay would hold each one back.
        stream.set_nodelay(true).map_err(connect_failed)?;
        let (sender, connection) =
            http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|source| SendError::Handshake {
                    address: self.address.clone(),
                    source,
                })?;
        let address = self.address.clone();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%address, %error, "backend connection ended");
            }
        });
        Ok(sender)
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // The vector is valid whatever a panicking holder did to it: every entry is whole.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Lease<'_> {
    /// Puts the connection back for the next call: its answer was read to the end.
    pub fn give_back(self) {
        if self.sender.is_closed() {
            return;
        }
        let since_sweep = self.pool.sweeps.load(Ordering::Relaxed);
        let mut idle = self.pool.lock_idle();
        if idle.len() < self.pool.max_idle {
            idle.push(Idle {
                sender: self.sender,
                since_sweep,
            });
        }
    }
}

#[cfg(test)]
mod tests;
