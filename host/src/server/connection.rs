//! Serving one accepted connection under the listener's limits: the head-size check before
//! the router, the counters, and a watchdog that closes a connection whose head is late or
//! that has been idle too long.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use hyper::{
    Request, Response, StatusCode, Version,
    body::{Frame, Incoming, SizeHint},
    header::{CONNECTION, HeaderValue},
    service::service_fn,
};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use tokio::{net::TcpStream, sync::watch, time::Instant};

use super::{
    ListenerConfig, ListenerStats,
    activity::{Activity, Expiry, RequestGuard},
    head_limit,
    tracked_io::Tracked,
};
use crate::error_response::{Body, HostError};
use frontdoor_plugin_api::wake_gate::WakeGate;

/// The response body the listener writes: the handler's, holding its request open until
/// hyper has taken all of it.
pub struct TrackedBody {
    inner: Body,
    _request: RequestGuard,
}

impl hyper::body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// While draining, how often the watchdog looks at the connection.
const DRAIN_TICK: Duration = Duration::from_millis(100);
/// While draining, an HTTP/1 connection with no request for this long is closed: its client
/// is most likely a pool holding it idle. A busy one closes after its next answer instead,
/// which carries `connection: close`, so its client never sends on a closing connection.
const DRAIN_IDLE: Duration = Duration::from_secs(1);

/// Serves `stream` until the client leaves, a limit closes it, or `shutdown` asks it to
/// finish: then in-flight requests complete, an HTTP/1 connection closes after its next
/// answer (sent with `connection: close`) or once idle for [`DRAIN_IDLE`], and an HTTP/2 one
/// gets a GOAWAY.
pub async fn serve<F, Fut>(
    stream: TcpStream,
    builder: Arc<auto::Builder<TokioExecutor>>,
    handler: F,
    limits: Arc<ListenerConfig>,
    stats: Arc<ListenerStats>,
    mut shutdown: watch::Receiver<Option<Duration>>,
) where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let activity = Activity::new();
    let draining = Arc::new(AtomicBool::new(false));
    let service = {
        let (activity, limits, stats) = (activity.clone(), limits.clone(), stats.clone());
        let draining = draining.clone();
        service_fn(move |request: Request<Incoming>| {
            let request_guard = RequestGuard::start(&activity);
            let (handler, limits, stats) = (handler.clone(), limits.clone(), stats.clone());
            let draining = draining.clone();
            async move {
                let http1 = request.version() <= Version::HTTP_11;
                let head_bytes = head_limit::head_bytes(&request);
                let mut response = if head_bytes > limits.max_header_bytes {
                    head_limit::too_large(head_bytes, limits.max_header_bytes)
                } else {
                    handler(request).await
                };
                // The host's own limit answers; an adapter's 413 is the adapter's business.
                let from_host = response.extensions().get::<HostError>().is_some();
                let counter = match response.status() {
                    _ if !from_host => None,
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Some(&stats.heads_too_large),
                    StatusCode::REQUEST_TIMEOUT => Some(&stats.body_timeouts),
                    StatusCode::PAYLOAD_TOO_LARGE => Some(&stats.bodies_too_large),
                    _ => None,
                };
                if let Some(counter) = counter {
                    ListenerStats::count(counter);
                }
                // The rest of the request was not read: the connection cannot carry another
                // one (HTTP/2 ends just the stream). Or the host is draining: the client
                // learns it with this answer, before it sends another request.
                if http1 && (counter.is_some() || draining.load(Ordering::Relaxed)) {
                    response
                        .headers_mut()
                        .insert(CONNECTION, HeaderValue::from_static("close"));
                }
                Ok::<_, Infallible>(response.map(|inner| TrackedBody {
                    inner,
                    _request: request_guard,
                }))
            }
        })
    };
    let io = TokioIo::new(Tracked::new(
        stream,
        activity.clone(),
        limits.http1_buffer_bytes(),
    ));
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);

    // The watchdog looks at the connection a few times per timeout period instead of
    // arming a timer per request: re-arming on every request cost a fifth of a trivial
    // request's throughput (timer registrations wake the runtime's parked threads). A limit
    // therefore holds to within a quarter of its length.
    let tick = limits.watchdog_tick();
    let mut ticks = tokio::time::interval_at(Instant::now() + tick, tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Once closed for idleness, the client gets one more idle period to finish; then the
    // connection is dropped. A host shutdown leaves in-flight requests to the accept
    // loop's grace period.
    let mut closing_until: Option<Instant> = None;
    let mut shutting_down = false;
    let mut goaway_sent = false;
    // The timer and the shutdown signal are polled only when they woke (`wake_gate.rs`),
    // not on each of the many wake-ups the connection's requests cause.
    let gate = WakeGate::default();
    let mut shutdown_changed = std::pin::pin!(shutdown.changed());
    loop {
        let event = std::future::poll_fn(|cx| {
            if let Poll::Ready(result) = connection.as_mut().poll(cx) {
                return Poll::Ready(Event::Ended(result));
            }
            gate.poll(cx, |cx| {
                if !shutting_down && shutdown_changed.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::ShutdownAsked);
                }
                ticks.poll_tick(cx).map(|_| Event::Tick)
            })
        })
        .await;
        match event {
            Event::Ended(result) => {
                if let Err(error) = result {
                    ListenerStats::count(&stats.connection_errors);
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            Event::Tick => {
                let now = Instant::now();
                if shutting_down && closing_until.is_none() {
                    let idle = activity
                        .idle_http1_for(now)
                        .is_some_and(|idle| idle >= DRAIN_IDLE);
                    let http2 = activity.http2() == Some(true);
                    if idle || (http2 && !goaway_sent) {
                        goaway_sent = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
                if let Some(until) = closing_until {
                    if now >= until {
                        tracing::debug!(
                            "connection still open after its closing period; dropping it"
                        );
                        return;
                    }
                    continue;
                }
                match activity.deadline(&limits) {
                    Some((at, Expiry::HeadTimeout)) if at <= now => {
                        ListenerStats::count(&stats.header_timeouts);
                        tracing::debug!(
                            "request head not received in time; closing the connection"
                        );
                        return;
                    }
                    Some((at, Expiry::Idle)) if at <= now => {
                        ListenerStats::count(&stats.idle_closed);
                        connection.as_mut().graceful_shutdown();
                        closing_until = Some(now + limits.idle_timeout);
                    }
                    _ => {}
                }
            }
            Event::ShutdownAsked => {
                shutting_down = true;
                draining.store(true, Ordering::Relaxed);
                // Not `graceful_shutdown` at once: on HTTP/1 it closes an idle connection
                // while its client may be sending the next request (which would be lost).
                // The tick does it per protocol, looking more often from now on.
                ticks = tokio::time::interval(DRAIN_TICK);
                gate.rearm();
            }
        }
    }
}

/// What woke the connection's task with something to do.
enum Event {
    /// The connection ended (the client left, or it closed after `graceful_shutdown`).
    Ended(Result<(), Box<dyn std::error::Error + Send + Sync>>),
    /// The watchdog's tick.
    Tick,
    /// The host asked its connections to finish (or its signal was dropped).
    ShutdownAsked,
}
