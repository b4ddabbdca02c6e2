//! The accept loop of one listener: at most `max_connections` open at once, each served
//! under the listener's limits, all asked to finish at shutdown.
//!
//! At the cap the loop stops accepting rather than accepting and refusing: new connections
//! wait in the kernel's accept queue (its length is in `/admin/listener`) and are served as
//! soon as one closes, so a burst costs clients latency, not errors, and a flood costs the
//! host no file descriptors or memory beyond the cap. Past the queue's own bound (the
//! listen backlog) the kernel drops new handshakes and clients retry.

use std::{future::Future, sync::Arc, time::Duration};

use hyper::{Request, Response, body::Incoming};
use hyper_util::{
    rt::{TokioExecutor, TokioTimer},
    server::conn::auto,
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
    task::JoinSet,
};

use super::{ListenerConfig, ListenerStats, connection};
use crate::error_response::Body;

/// Accepts connections once `open` is true and until shutdown (`Some(grace)`), then waits
/// up to that grace for open ones to finish.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    handler: F,
    limits: Arc<ListenerConfig>,
    stats: Arc<ListenerStats>,
    mut open: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<Option<Duration>>,
) where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    // A recycle's successor holds the sockets before it may accept: until its predecessor
    // says go, connections are the predecessor's.
    tokio::select! {
        opened = open.wait_for(|open| *open) => {
            if opened.is_err() {
                return;
            }
        }
        _ = shutdown.changed() => return,
    }
    let builder = Arc::new(builder(&limits));
    let capacity = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let permit = match capacity.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                stats
                    .at_capacity
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                let waits = stats
                    .capacity_waits
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    + 1;
                // Under a flood this happens once per closed connection: log the 1st, 2nd,
                // 4th, 8th... time, so the log says so without drowning.
                if waits.is_power_of_two() {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        capacity_waits = waits,
                        "connection cap reached; new connections wait to be accepted"
                    );
                }
                let permit = tokio::select! {
                    permit = capacity.clone().acquire_owned() => permit,
                    _ = shutdown.changed() => break,
                };
                stats
                    .at_capacity
                    .store(false, std::sync::atomic::Ordering::Relaxed);
                match permit {
                    Ok(permit) => permit,
                    // The semaphore is never closed.
                    Err(_) => break,
                }
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Typically EMFILE: back off briefly instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        ListenerStats::count(&stats.accepted);
        let open = OpenConnection::enter(&stats);
        let serve = connection::serve(
            stream,
            builder.clone(),
            handler.clone(),
            limits.clone(),
            stats.clone(),
            shutdown.clone(),
        );
        connections.spawn(async move {
            // The slot and the open count are released when the connection ends.
            let _held = (permit, open);
            serve.await;
        });
    }
    drop(listener);
    let grace = (*shutdown.borrow()).unwrap_or_default();
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!("shutdown grace period over; closing open connections");
        connections.shutdown().await;
    }
}

/// hyper's settings for the listener's limits. Timers are hyper's only for HTTP/2 pings:
/// head and idle timeouts are the watchdog's (`connection.rs`), because hyper's
/// `header_read_timeout` also runs while a keep-alive connection idles.
fn builder(limits: &ListenerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_buf_size(limits.http1_buffer_bytes());
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .keep_alive_interval(limits.http2_keep_alive_interval)
        .keep_alive_timeout(limits.http2_keep_alive_timeout)
        .max_header_list_size(limits.http2_max_header_list_size);
    builder
}

/// Counts a connection open for as long as it lives.
struct OpenConnection(Arc<ListenerStats>);

impl OpenConnection {
    fn enter(stats: &Arc<ListenerStats>) -> Self {
        stats
            .open
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(stats.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0
            .open
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}
