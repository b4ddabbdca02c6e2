//! The API service layer: every backend call an adapter makes goes through here.
//!
//! Per call: the device request's deadline → circuit breaker (fail fast when open) →
//! bulkhead (reject beyond the concurrency limit) → timeout → the backend's own pool of
//! keep-alive connections (`pool`); then retries for idempotent calls within a budget.
//! Identical GETs of one device request (same path and query, same headers) are made
//! once; opted in per backend, identical GETs of different device requests share one call
//! in flight (`single_flight`), and slow idempotent attempts are hedged (`hedge`). Each
//! concern is a small type in its own file with a synchronous decision API (`breaker`,
//! `bulkhead`, `retry_budget`), composed in [`Backend::attempt`]; that keeps them testable
//! on tokio's paused clock without tower's generic plumbing.
//!
//! **Invariant:** a backend call never waits longer than its backend's timeout, nor past
//! the device request's deadline.

mod adaptive_limit;
mod answer;
mod breaker;
mod bulkhead;
mod config;
mod hedge;
mod joined;
mod metrics;
mod pool;
mod retry_budget;
mod scope;
mod single_flight;

use std::{
    collections::HashMap,
    sync::{Arc, Weak},
};

use bytes::Bytes;
use frontdoor_plugin_api::{BackendError, BackendErrorKind, BackendRequest, BackendResponse};
use futures_util::FutureExt as _;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{
    Method, Request, Uri,
    header::HeaderName,
    header::HeaderValue,
    http::uri::{PathAndQuery, Scheme},
};
use serde::Serialize;
use tokio::time::Instant;

pub use adaptive_limit::{AdaptiveConfig, AdaptiveView, Concurrency, ConcurrencyView};
pub use breaker::{BreakerState, CircuitBreaker, Outcome};
pub use bulkhead::Bulkhead;
pub use config::{BackendConfig, BackendFileConfig, BreakerConfig, HedgeConfig, RetryConfig};
pub use metrics::{BackendMetrics, CountersView, HedgesView, LatencyView};
pub use scope::{CallKey, RequestScope};
use scope::{Get, UnfinishedCall};

use crate::{
    otel,
    requests::{self, CallTicket},
};
use frontdoor_plugin_api::wake_gate::Gated;

use answer::ReadAnswer;
use hedge::Hedging;
use joined::{Call, Joining, Leading};
use pool::ConnectionPool;
use retry_budget::RetryBudget;
use single_flight::SharedCalls;

/// What a backend call ends with.
pub type CallResult = Result<BackendResponse, BackendError>;

/// Largest backend answer read into memory.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Every configured backend, by name, each with its own pool of connections. Names are
/// looked up per call, so with foldhash rather than SipHash; they come from the host's
/// configuration.
pub struct Backends {
    by_name: HashMap<String, Arc<Backend>, foldhash::fast::RandomState>,
    /// The runtime the client's connections live on (the one `new` was called in).
    runtime: Option<tokio::runtime::Handle>,
}

/// One backend: its configuration, protections and metrics.
pub struct Backend {
    pub config: BackendConfig,
    /// The configured name, shared by the keys of its calls.
    name: Arc<str>,
    /// Where calls go: the connections to the URL's host and port, and the URL's path
    /// prefix without a trailing slash (usually empty).
    pool: ConnectionPool,
    prefix: String,
    breaker: Arc<CircuitBreaker>,
    bulkhead: Bulkhead,
    /// `None` for a fixed backend (the bulkhead alone).
    adaptive: Option<Arc<adaptive_limit::AdaptiveLimit>>,
    retry_budget: RetryBudget,
    shared_calls: Option<SharedCalls>,
    hedging: Option<Hedging>,
    pub metrics: BackendMetrics,
}

#[derive(Debug, thiserror::Error)]
#[error("backend {name}: {reason}")]
pub struct BackendConfigError {
    pub name: String,
    pub reason: String,
}

impl Backends {
    pub fn new(configs: Vec<BackendConfig>) -> Result<Self, BackendConfigError> {
        let mut by_name = HashMap::with_hasher(foldhash::fast::RandomState::default());
        for config in configs {
            let invalid = |reason: String| BackendConfigError {
                name: config.name.clone(),
                reason,
            };
            let uri: Uri = config
                .url
                .parse()
                .map_err(|error| invalid(format!("url {:?} is invalid: {error}", config.url)))?;
            let authority = match (uri.scheme(), uri.authority(), uri.query()) {
                (Some(scheme), Some(authority), None) if scheme == &Scheme::HTTP => authority,
                _ => {
                    return Err(invalid(format!(
                        "url {:?} must be http://host:port[/prefix]",
                        config.url
                    )));
                }
            };
            let adaptive = adaptive_limit::for_backend(&config).map_err(invalid)?;
            // More idle connections than calls at once are never needed.
            let pool = ConnectionPool::new(
                authority.host(),
                authority.port_u16().unwrap_or(80),
                config.max_concurrent.max(1),
            )
            .map_err(invalid)?;
            let backend = Backend {
                adaptive,
                name: Arc::from(config.name.as_str()),
                pool,
                prefix: uri.path().trim_end_matches('/').to_owned(),
                breaker: CircuitBreaker::new(config.breaker.clone()),
                bulkhead: Bulkhead::new(config.max_concurrent),
                retry_budget: RetryBudget::new(config.retry.budget_percent),
                shared_calls: config.share_in_flight.then(SharedCalls::new),
                hedging: Hedging::new(&config.hedge),
                metrics: BackendMetrics::default(),
                config,
            };
            by_name.insert(backend.config.name.clone(), Arc::new(backend));
        }
        let runtime = tokio::runtime::Handle::try_current().ok();
        if let Some(runtime) = &runtime {
            runtime.spawn(sweep_idle_connections(
                by_name.values().map(Arc::downgrade).collect(),
            ));
        }
        Ok(Self { by_name, runtime })
    }

    /// The runtime backend calls run on, for calls polled from a plugin's own thread.
    pub fn runtime(&self) -> Option<&tokio::runtime::Handle> {
        self.runtime.as_ref()
    }

    /// Makes one backend call for the device request `scope`, noted in its call log.
    ///
    /// The checks, the call log entry and the de-duplication happen here, before the future
    /// exists; the future holds only the call under way (boxed) and what it records when it
    /// ends. Call futures are moved whole (into an adapter's `join_all` buffer, out of it
    /// when done), so their size is paid per call: this keeps it to about 150 bytes.
    pub fn call(
        &self,
        scope: &Arc<RequestScope>,
        request: BackendRequest,
    ) -> impl Future<Output = CallResult> + Send + 'static {
        let found = self.by_name.get(request.backend.as_str());
        let ticket = scope.calls.begin(
            scope.origin.as_ref(),
            found.map_or_else(
                || Arc::from(request.backend.as_str()),
                |backend| backend.name.clone(),
            ),
            request.method.as_str(),
            request.path.as_str(),
        );
        let started = match found {
            None => Err(BackendError::new(
                BackendErrorKind::UnknownBackend,
                format!(
                    "no backend named {:?} is configured",
                    request.backend.as_str()
                ),
            )),
            Some(backend) => self
                .start(backend, scope, request, ticket)
                .map(|under_way| (backend.clone(), under_way)),
        };
        // Unfinished until this future completes or is dropped.
        let scope = UnfinishedCall::new(scope.clone());
        // Polled only once it woke, with one waker for its life (`wake_gate.rs`).
        Gated::new(async move {
            let (backend, under_way) = match started {
                Ok(started) => started,
                Err(error) => {
                    let result = Err(error);
                    scope.calls.finish(&ticket, &result, false);
                    return result;
                }
            };
            let (result, deduplicated) = match under_way {
                UnderWay::Alone(call) => (call.await, false),
                UnderWay::First(leading) => (leading.await, false),
                UnderWay::Identical(joining) => {
                    let result = joining.await;
                    // Counted once answered, not when its caller gave up waiting.
                    backend
                        .metrics
                        .deduplicated
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    (result, true)
                }
            };
            let outcome = result.as_ref().map(|_| ()).map_err(|error| error.kind);
            backend.metrics.record_call(&scope.adapter, outcome);
            scope.calls.finish(&ticket, &result, deduplicated);
            result
        })
    }

    /// Starts the call, or joins an identical GET of the same request. A call refused
    /// before it starts (invalid) is an `Err`, counted like any failed call.
    fn start(
        &self,
        backend: &Arc<Backend>,
        scope: &Arc<RequestScope>,
        request: BackendRequest,
        ticket: CallTicket,
    ) -> Result<UnderWay, BackendError> {
        let mut call = outgoing(backend, scope, &request, &ticket).inspect_err(|error| {
            backend.metrics.record_call(&scope.adapter, Err(error.kind));
        })?;
        call.body = Bytes::from(request.body.into_vec());
        if call.method != Method::GET || !call.body.is_empty() {
            return Ok(UnderWay::Alone(Self::make(
                backend, scope, None, call, ticket,
            )));
        }
        let key = CallKey::new(
            &backend.name,
            &call.method,
            call.uri.path_and_query(),
            &call.headers,
        );
        let shared_key = backend.shared_calls.as_ref().map(|_| key.clone());
        Ok(
            match scope.get_once(key, || Self::make(backend, scope, shared_key, call, ticket)) {
                Get::First(leading) => UnderWay::First(leading),
                Get::Identical(joining) => UnderWay::Identical(joining),
            },
        )
    }

    /// The call's work (with retries, hedges, and for a GET of a backend that shares calls
    /// across requests, `shared_key`), boxed: it ends by noting its attempts.
    ///
    /// It holds its request's scope only weakly: a GET's call is kept in the scope's table
    /// of GETs, so a strong handle would be a cycle. A device request cancelled mid-call
    /// would then keep its scope, and the call with its bulkhead slot, alive for ever;
    /// after `max_concurrent` disconnects every call was `Rejected`.
    fn make(
        backend: &Arc<Backend>,
        scope: &Arc<RequestScope>,
        shared_key: Option<CallKey>,
        call: OutgoingCall,
        ticket: CallTicket,
    ) -> Call {
        let scope = Arc::downgrade(scope);
        let note_attempts = move |(result, attempts): (CallResult, u32)| {
            if let Some(scope) = scope.upgrade() {
                scope.calls.set_attempts(&ticket, attempts);
            }
            result
        };
        // Two boxes of their own types, not one `async` block over both: a block would keep
        // its captured call beside the copy its work holds, and every call's box would be
        // as large as a shared call's (whose work holds more). The box lives as long as the
        // call and its memory is touched by each call in flight: this one was 2.8 KiB.
        match shared_key {
            Some(key) => {
                let backend = backend.clone();
                async move { backend.execute_shared(Some(key), call).await }
                    .map(note_attempts)
                    .boxed()
            }
            None => boxed_in_place(|| backend.clone().execute(call).map(note_attempts)),
        }
    }

    /// The metrics of every backend, for the admin API.
    pub fn view(&self) -> Vec<BackendView> {
        let mut views: Vec<BackendView> = self
            .by_name
            .values()
            .map(|backend| backend.view())
            .collect();
        views.sort_by(|a, b| a.name.cmp(&b.name));
        views
    }
}

/// The future `make()` returns, boxed: allocated first and then written, so the compiler
/// builds the future in its box. `Box::pin(future)` builds it on the stack before it
/// allocates and then copies it whole (1.2 KiB, whatever little its first state holds)
/// into memory that, with a fan-out's calls in flight, is usually cold.
fn boxed_in_place<F: Future<Output = CallResult> + Send + 'static>(
    make: impl FnOnce() -> F,
) -> Call {
    let slot = Box::<F>::new_uninit();
    let work: Box<F> = Box::write(slot, make());
    Box::into_pin(work)
}

/// A started call: not a GET, the first of identical GETs of its request, or one of the
/// others.
enum UnderWay {
    Alone(Call),
    First(Leading),
    Identical(Joining),
}

/// Checks a plugin's call and makes it ready to send (the body is the caller's to move in),
/// with what it inherits from its device request: `x-request-id`, and `traceparent` naming
/// this call's span when traces are on.
fn outgoing(
    backend: &Backend,
    scope: &RequestScope,
    request: &BackendRequest,
    ticket: &CallTicket,
) -> Result<OutgoingCall, BackendError> {
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|_| invalid(format!("method {:?} is invalid", request.method.as_str())))?;
    let path = request.path.as_str();
    if !path.starts_with('/') {
        return Err(invalid(format!("path {path:?} must start with '/'")));
    }
    let uri = backend
        .uri(path)
        .map_err(|error| invalid(format!("path {path:?} is invalid: {error}")))?;
    let mut headers = Vec::with_capacity(request.headers.len());
    for pair in request.headers.iter() {
        let name = HeaderName::from_bytes(pair.0.as_bytes())
            .map_err(|_| invalid(format!("header name {:?} is invalid", pair.0.as_str())))?;
        let value = HeaderValue::from_str(pair.1.as_str())
            .map_err(|_| invalid(format!("header {name} has an invalid value")))?;
        headers.push((name, value));
    }
    let mut inherited = Vec::new();
    if let Some(origin) = &scope.origin {
        inherited.push((requests::HEADER, origin.header.clone()));
        if let (Some(trace), Some(span_id)) = (origin.trace, ticket.span_id) {
            inherited.push((
                otel::traceparent::HEADER,
                otel::traceparent::format(trace.trace_id, span_id, trace.sampled),
            ));
        }
    }
    Ok(OutgoingCall {
        method,
        uri,
        headers,
        inherited,
        body: Bytes::new(),
        deadline: scope.deadline,
    })
}

fn invalid(message: String) -> BackendError {
    BackendError::new(BackendErrorKind::Invalid, message)
}

/// A validated call, ready to send (possibly more than once).
#[derive(Clone)]
struct OutgoingCall {
    method: Method,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Set by the host over whatever the plugin sent under these names; never part of
    /// the [`CallKey`] (the span id differs per call).
    inherited: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    deadline: Instant,
}

impl Backend {
    /// The origin-form URI of `path` (which starts with `/`) on this backend, as sent on
    /// its connections (the pool sets `Host`).
    fn uri(&self, path: &str) -> Result<Uri, hyper::http::Error> {
        let target = if self.prefix.is_empty() {
            PathAndQuery::try_from(path)?
        } else {
            PathAndQuery::try_from(format!("{}{path}", self.prefix))?
        };
        Ok(Uri::from(target))
    }

    /// The call with its retries; also says how many attempts it made.
    ///
    /// Not an `async fn`, which would keep `call` twice (the argument and the local it is
    /// moved into) in every call's future: the block uses its captured `call` in place.
    fn execute(
        self: Arc<Self>,
        call: OutgoingCall,
    ) -> impl Future<Output = (CallResult, u32)> + Send + 'static {
        let idempotent = call.method == Method::GET || call.method == Method::HEAD;
        let attempts = if idempotent {
            self.config.retry.attempts.max(1)
        } else {
            1
        };
        async move {
            self.retry_budget.deposit();
            let mut attempt = 1;
            loop {
                let result = self.attempt_or_hedge(&call).await;
                let retryable = matches!(&result, Err(error) if retryable(error));
                if retryable
                    && attempt < attempts
                    && Instant::now() < call.deadline
                    && self.retry_budget.try_withdraw()
                {
                    attempt += 1;
                    self.metrics
                        .retries
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    continue;
                }
                let attempts = attempt_count(attempt, &result);
                return (result, attempts);
            }
        }
    }

    /// One attempt: deadline, breaker, bulkhead, timeout, then the wire.
    async fn attempt(&self, call: &OutgoingCall) -> CallResult {
        let name = &self.config.name;
        // One reading of the clock serves the deadline check, the breaker, the timeout and
        // the latency's start, and one more its end (the breaker and the timeout each read
        // it again before): the checks between them take well under a microsecond.
        let started = Instant::now();
        let remaining = call.deadline.saturating_duration_since(started);
        if remaining.is_zero() {
            return Err(BackendError::new(
                BackendErrorKind::Timeout,
                format!("{name}: the device request's deadline has passed"),
            ));
        }
        let permit = self.breaker.try_acquire(started).map_err(|_| {
            BackendError::new(
                BackendErrorKind::CircuitOpen,
                format!("{name}: circuit open, not called"),
            )
        })?;
        let _slot = self.bulkhead.try_enter().map_err(|_| {
            BackendError::new(
                BackendErrorKind::Rejected,
                format!("{name}: {} calls already in flight", self.bulkhead.limit()),
            )
        })?;
        let admission = adaptive_limit::admit(self.adaptive.as_ref(), name)?;
        let timeout = self.config.timeout.min(remaining);
        let _in_flight = InFlight::enter(&self.metrics);
        self.metrics
            .attempts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = match tokio::time::timeout_at(started + timeout, send(&self.pool, call)).await
        {
            Ok(result) => result,
            Err(_) => Err(BackendError::new(
                BackendErrorKind::Timeout,
                format!("{name}: no answer within {} ms", timeout.as_millis()),
            )),
        };
        let finished = Instant::now();
        self.metrics
            .observe_latency(finished.saturating_duration_since(started));
        admission.record(&result);
        permit.record(
            match &result {
                Ok(_) => Outcome::Success,
                Err(error) if error.kind == BackendErrorKind::Status && error.status < 500 => {
                    Outcome::Success
                }
                Err(_) => Outcome::Failure,
            },
            finished,
        );
        result
    }

    fn view(&self) -> BackendView {
        BackendView {
            name: self.config.name.clone(),
            url: self.config.url.clone(),
            timeout_ms: u64::try_from(self.config.timeout.as_millis()).unwrap_or(u64::MAX),
            max_concurrent: self.bulkhead.limit(),
            concurrency: adaptive_limit::view(self.adaptive.as_deref(), self.bulkhead.limit()),
            breaker: self.breaker.state().as_str(),
            in_flight: self
                .metrics
                .in_flight
                .load(std::sync::atomic::Ordering::Relaxed),
            idle_connections: self.pool.idle_count(),
            totals: self.metrics.totals.view(),
            attempts: self
                .metrics
                .attempts
                .load(std::sync::atomic::Ordering::Relaxed),
            retries: self
                .metrics
                .retries
                .load(std::sync::atomic::Ordering::Relaxed),
            deduplicated: self
                .metrics
                .deduplicated
                .load(std::sync::atomic::Ordering::Relaxed),
            shared: self
                .metrics
                .shared
                .load(std::sync::atomic::Ordering::Relaxed),
            hedges: self.metrics.hedges_view(),
            latency: self.metrics.latency_view(),
            by_adapter: self.metrics.adapters_view(),
        }
    }
}

/// Attempts that reached `attempt`'s checks: one refused before the wire (deadline, open
/// breaker, full bulkhead) was not made.
fn attempt_count(attempt: u32, result: &CallResult) -> u32 {
    let refused = matches!(result, Err(error) if matches!(error.kind, BackendErrorKind::CircuitOpen | BackendErrorKind::Rejected));
    if refused { attempt - 1 } else { attempt }
}

fn retryable(error: &BackendError) -> bool {
    match error.kind {
        BackendErrorKind::Timeout | BackendErrorKind::Transport => true,
        BackendErrorKind::Status => error.status >= 500,
        _ => false,
    }
}

/// Counts an attempt in flight for as long as it lives (also when the call is cancelled).
struct InFlight<'a>(&'a BackendMetrics);

impl<'a> InFlight<'a> {
    fn enter(metrics: &'a BackendMetrics) -> Self {
        metrics
            .in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(metrics)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Sends one request and reads the whole answer (bounded); the connection goes back to the
/// pool only then.
///
/// Every backend call's future holds this one's, so what it keeps across its two waits is
/// paid on every call (the call's future is moved into its box whole, and its memory is
/// touched again by each call in flight): the request is built by [`request_of`], so no
/// local of this future holds it beside the pool's copy, and the answer's head is taken
/// apart in a block that ends before the body is read.
async fn send(pool: &ConnectionPool, call: &OutgoingCall) -> CallResult {
    let (status, headers, body, lease) = {
        let (response, lease) = pool.send(request_of(call)).await.map_err(|error| {
            BackendError::new(BackendErrorKind::Transport, transport_message(&error))
        })?;
        let (parts, body) = response.into_parts();
        (parts.status.as_u16(), parts.headers, body, lease)
    };
    let body = Limited::new(body, MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|error| {
            BackendError::new(
                BackendErrorKind::Transport,
                format!("reading the answer: {error}"),
            )
        })?
        .to_bytes();
    lease.give_back();
    if !(200..300).contains(&status) {
        let excerpt = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        return Err(BackendError::status(status, excerpt));
    }
    // The header map and the body (one contiguous buffer in the usual case) move behind the
    // answer's handle: nothing is copied unless the adapter reads it.
    Ok(ReadAnswer::response(status, headers, body))
}

/// The request `call` sends: its method, URI, headers (the host's inherited ones over the
/// plugin's of the same name) and body.
fn request_of(call: &OutgoingCall) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(call.body.clone()));
    *request.method_mut() = call.method.clone();
    *request.uri_mut() = call.uri.clone();
    for (name, value) in &call.headers {
        request.headers_mut().append(name.clone(), value.clone());
    }
    for (name, value) in &call.inherited {
        request.headers_mut().insert(name.clone(), value.clone());
    }
    request
}

/// The error with its causes (hyper's "connection error" alone says little).
fn transport_message(error: &pool::SendError) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Closes each backend's long-idle connections every [`pool::SWEEP_INTERVAL`], for as long
/// as any of the backends lives.
async fn sweep_idle_connections(backends: Vec<Weak<Backend>>) {
    let mut every = tokio::time::interval(pool::SWEEP_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once.
    every.tick().await;
    loop {
        every.tick().await;
        let mut any_alive = false;
        for backend in backends.iter().filter_map(Weak::upgrade) {
            backend.pool.sweep();
            any_alive = true;
        }
        if !any_alive {
            return;
        }
    }
}

/// One backend as `/admin/backends` shows it.
#[derive(Debug, Serialize)]
pub struct BackendView {
    pub name: String,
    pub url: String,
    pub timeout_ms: u64,
    pub max_concurrent: usize,
    pub concurrency: ConcurrencyView,
    pub breaker: &'static str,
    pub in_flight: i64,
    /// Open connections waiting for the next call.
    pub idle_connections: usize,
    pub totals: CountersView,
    pub attempts: u64,
    pub retries: u64,
    pub deduplicated: u64,
    /// GETs answered by an identical GET in flight for another device request.
    pub shared: u64,
    pub hedges: HedgesView,
    pub latency: LatencyView,
    pub by_adapter: std::collections::BTreeMap<String, CountersView>,
}

#[cfg(test)]
mod tests;
