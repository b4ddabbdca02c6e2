//! The device request path: namespace → version → route → handler → response.
//!
//! This is the hot path. It takes no lock: the routing table and the traffic plans are
//! `arc-swap` snapshots, and the only shared writes are the version's in-flight counter, the
//! request id, a canary's sample counters and the route's metrics counters (relaxed atomic
//! adds into handles built with the version).

use std::{
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, RCow, RResult},
};
use bytes::Bytes;
use frontdoor_plugin_api::{
    HandlerErrorKind, HostRequestObj, PluginModuleRef, response::HOST_OWNED_HEADERS,
};
use futures_util::FutureExt as _;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{
    Request, Response, StatusCode,
    body::{Body as _, Incoming},
    header::{HeaderName, HeaderValue},
};

use crate::{
    backends::Backends,
    backends::RequestScope,
    containment::{Failure, HandlerBudget, Offloaded, Watched, watchdog},
    error_response::{Body, EdgeError},
    loader::DeviceRequest,
    metrics::{HostMetrics, RequestTally},
    registry::{Handler, InflightGuard, PluginVersion, Registry},
    requests::{CallOrigin, InFlight, Insight, RequestId, Tagged},
    response_head::ResponseHead,
    router::{self, RouteMatch},
    traffic::{ShadowRequest, Ticket, Traffic},
};

mod gather;
use gather::GatherAnswers;

/// The request header that selects a loaded version by semver requirement. A `HeaderName`,
/// not a `&str`: a lookup by `&str` parses the name again on every request.
pub const VERSION_HEADER: HeaderName = HeaderName::from_static("x-frontdoor-version");
/// The response header naming the version that answered.
pub const ADAPTER_HEADER: HeaderName = HeaderName::from_static("x-frontdoor-adapter");

/// State shared by every device connection.
pub struct Dispatcher {
    registry: Arc<Registry>,
    backends: Arc<Backends>,
    /// Canary splits and shadows, read per request.
    traffic: Arc<Traffic>,
    limits: RequestLimits,
    /// Where the futures of a version that blocked a worker run from then on, so it cannot
    /// stall device workers again.
    isolation: tokio::runtime::Handle,
    next_request_id: AtomicU64,
    metrics: Arc<HostMetrics>,
    /// Request ids, recent requests and spans.
    insight: Arc<Insight>,
}

/// Bounds on every device request.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    pub max_body_bytes: usize,
    /// Time to receive the whole body once the route is known.
    pub body_read_timeout: std::time::Duration,
    /// Bounds the request's backend calls.
    pub deadline: std::time::Duration,
    /// How long a handler may run before the device gets a 504.
    pub handler_timeout: std::time::Duration,
}

impl Dispatcher {
    pub fn new(
        registry: Arc<Registry>,
        backends: Arc<Backends>,
        traffic: Arc<Traffic>,
        limits: RequestLimits,
        isolation: tokio::runtime::Handle,
        metrics: Arc<HostMetrics>,
        insight: Arc<Insight>,
    ) -> Self {
        Self {
            registry,
            backends,
            traffic,
            limits,
            isolation,
            next_request_id: AtomicU64::new(1),
            metrics,
            insight,
        }
    }

    /// Serves one device request; every failure becomes a JSON error response, and every
    /// response carries the request's `x-request-id`. Once the answer is ready it is counted
    /// in the metrics and for a canary's judge, noted (recent requests, spans), and a
    /// mirrored request's shadow call starts on the isolation runtime, holding nothing of
    /// the device's.
    ///
    /// The request is routed here, synchronously; the returned future holds only what must
    /// wait (the body, the handler). Why not one `async fn`: a future keeps each by-value
    /// argument of each `async fn` it awaits for its whole life, beside every local the
    /// argument was moved into, and the request's future had grown to 2.8 KiB. It is boxed
    /// per request (`server.rs`), a copy of its whole size; it is now 880 bytes.
    pub fn serve(
        self: &Arc<Self>,
        mut request: Request<Incoming>,
    ) -> impl Future<Output = Response<Body>> + Send + use<> {
        let method = request.method().clone();
        let insight = self.insight.begin(&method, request.headers_mut());
        let mut exchange = Box::new(Exchange {
            // Every answer, the static baseline's included, is counted here and only here.
            tally: RequestTally::starting_at(insight.started),
            ticket: Ticket::default(),
            insight,
        });
        let routed = self.route(request, &mut exchange);
        let me = self.clone();
        async move {
            let outcome = match routed {
                Ok((prepared, body)) => {
                    let Exchange {
                        ticket, insight, ..
                    } = &mut *exchange;
                    me.answer(prepared, body, ticket, &mut insight.scope).await
                }
                Err(refused) => Err(refused),
            };
            me.conclude(outcome, exchange)
        }
    }

    /// The response for `outcome`, counted and noted.
    fn conclude(
        self: &Arc<Self>,
        outcome: Result<Response<Body>, Refused>,
        exchange: Box<Exchange>,
    ) -> Response<Body> {
        // Taken out field by field: the insight is only read, so it stays in the box.
        let Exchange {
            tally,
            ticket,
            ref insight,
        } = *exchange;
        let mut response = match outcome {
            Ok(response) => response,
            Err((error, answered_by)) => {
                let mut response = error.into_response();
                if let Some(header) = answered_by {
                    response.headers_mut().insert(ADAPTER_HEADER, header);
                }
                response
            }
        };
        let elapsed = tally.started().elapsed();
        self.metrics
            .record_request(tally, response.status(), elapsed);
        self.insight.finish(insight, &mut response, elapsed);
        if let Some(shadow) = self.traffic.finish(ticket, &response, elapsed) {
            let me = self.clone();
            self.isolation
                .spawn(shadow.run(move |request| async move { me.serve_shadow(request).await }));
        }
        response
    }

    /// Finds what serves `request`: namespace, version (by requirement, canary split or
    /// default), route. Nothing here waits.
    fn route(
        &self,
        request: Request<Incoming>,
        exchange: &mut Exchange,
    ) -> Result<(Box<Prepared>, Incoming), Refused> {
        let Exchange {
            tally,
            ticket,
            insight,
        } = exchange;
        let started = tally.started();
        let (parts, body) = request.into_parts();
        let path = parts.uri.path();
        let (namespace, rest) = split_namespace(path);
        let requirement = match crate::header_scan::get(&parts.headers, &VERSION_HEADER) {
            None => None,
            Some(value) => Some(parse_requirement(value).map_err(|error| (error, None))?),
        };

        let (version, modules, in_use) = {
            let table = self.registry.table();
            let adapter = table.adapter(namespace).ok_or_else(|| {
                (
                    EdgeError::not_found(format!("no adapter serves /{namespace}")),
                    None,
                )
            })?;
            tally.adapter_found();
            match self
                .traffic
                .select(namespace, &parts, requirement.as_ref(), adapter, ticket)
            {
                Some(routed) => {
                    if !insight.id_in_headers {
                        // A shadow's backend calls carry the device request's id, which
                        // they read from the mirrored headers.
                        ticket.mirror_header(crate::requests::HEADER, insight.id_header());
                    }
                    (
                        routed.version.clone(),
                        routed.modules.clone(),
                        routed.in_use.clone(),
                    )
                }
                None => {
                    return Err((
                        no_healthy_version(namespace, requirement.as_ref(), &adapter.versions),
                        None,
                    ));
                }
            }
        };
        tally.version_chosen(version.series);
        insight.version = Some(version.health);
        let fail = |error: EdgeError| (error, Some(version.adapter_header.clone()));

        let (route, params) = match version.route(&parts.method, rest) {
            RouteMatch::Found { route, params } => {
                insight.route = Some(route);
                (route, params)
            }
            RouteMatch::MethodNotAllowed => {
                return Err(fail(EdgeError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method not allowed",
                    format!(
                        "{} does not serve {} {rest}",
                        version.identity.label, parts.method
                    ),
                )));
            }
            RouteMatch::NotFound => {
                return Err(fail(EdgeError::not_found(format!(
                    "{} has no route {} {rest}",
                    version.identity.label, parts.method
                ))));
            }
        };
        tally.route_matched(route);
        let path_offset = 1 + namespace.len();
        let prepared = Box::new(Prepared {
            target: Target {
                version,
                modules,
                in_use,
                route,
                params,
                path_offset,
            },
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            call: Call {
                deadline: started + self.limits.deadline,
                origin: insight.call_origin(),
                shadow: false,
                id_header_virtual: !insight.id_in_headers,
            },
        });
        Ok((prepared, body))
    }

    /// Reads the body of a routed request, then calls its handler.
    async fn answer(
        &self,
        prepared: Box<Prepared>,
        body: Incoming,
        ticket: &mut Ticket,
        calls: &mut Option<Arc<RequestScope>>,
    ) -> Result<Response<Body>, Refused> {
        let body = match read_body(body, &self.limits).await {
            Ok(body) => body,
            Err(error) => {
                return Err((error, Some(prepared.target.version.adapter_header.clone())));
            }
        };
        ticket.keep_body(&body);
        self.call_version(prepared, body, calls).await
    }

    /// Serves a mirrored request with the shadow version; the answer is compared, then
    /// dropped. Its backend calls are real calls, counted under `{adapter} (shadow)`.
    async fn serve_shadow(&self, request: ShadowRequest) -> Response<Body> {
        let started = tokio::time::Instant::now();
        let (namespace, rest) = split_namespace(request.uri.path());
        let selected = {
            let table = self.registry.table();
            table
                .adapter(namespace)
                .and_then(|adapter| adapter.select(Some(&request.target)))
                .map(|routed| {
                    (
                        routed.version.clone(),
                        routed.modules.clone(),
                        routed.in_use.clone(),
                    )
                })
        };
        let Some((version, modules, in_use)) = selected else {
            return EdgeError::not_found(format!(
                "{namespace}: the shadow version is not routable"
            ))
            .into_response();
        };
        let RouteMatch::Found { route, params } = version.route(&request.method, rest) else {
            return EdgeError::not_found(format!("{} has no such route", version.identity.label))
                .into_response();
        };
        let path_offset = 1 + namespace.len();
        // The shadow's backend calls carry the device request's id (the mirrored headers
        // hold it), so both sides of a comparison can be found in the backends' logs; the
        // shadow is in no trace and in no ring.
        let call = Call {
            deadline: started + self.limits.deadline,
            origin: CallOrigin::new(RequestId::from_headers(&request.headers).0, started, None),
            shadow: true,
            // The mirrored headers hold it (`Dispatcher::route`).
            id_header_virtual: false,
        };
        let prepared = Box::new(Prepared {
            target: Target {
                path_offset,
                version,
                modules,
                in_use,
                route,
                params,
            },
            method: request.method,
            uri: request.uri,
            headers: request.headers,
            call,
        });
        self.call_version(prepared, request.body, &mut None)
            .await
            .unwrap_or_else(|(error, _)| error.into_response())
    }

    /// Calls the handler of a chosen version and route, counted in flight in it and in every
    /// module bound to it. An error carries the version's name for `x-frontdoor-adapter`.
    async fn call_version(
        &self,
        prepared: Box<Prepared>,
        body: Bytes,
        calls: &mut Option<Arc<RequestScope>>,
    ) -> Result<Response<Body>, Refused> {
        let Prepared {
            target:
                Target {
                    version,
                    modules,
                    in_use,
                    route,
                    params,
                    path_offset,
                },
            method,
            uri,
            headers,
            call:
                Call {
                    deadline,
                    origin,
                    shadow,
                    id_header_virtual,
                },
        } = *prepared;
        let request_id = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        let guard = InflightGuard::enter(version);
        let version = guard.version();
        // The request also counts in every shared module it is bound to, at every depth, so
        // a module's in-flight count and draining state reflect its callers.
        let _module_guards: Vec<InflightGuard> = in_use
            .iter()
            .map(|module| InflightGuard::enter(module.clone()))
            .collect();

        // Every answer built here starts from the version's head, which names it in
        // `x-frontdoor-adapter` (`response_head.rs`).
        let response = match &version.handler {
            Handler::Builtin(handler) => {
                let (status, body) = handler(route, uri.query().unwrap_or(""));
                json_bytes_response(status, body, &version.response_head)
            }
            Handler::BuiltinCalls(handler) => {
                let scope = Arc::new(
                    RequestScope::new(&version.identity.name, deadline).with_origin(origin),
                );
                // Dropped before the wait, so the future does not keep them.
                drop((method, uri, headers, params, modules, body));
                let (status, body) =
                    GatherAnswers::new(handler(self.backends.clone(), scope.clone()), || {
                        scope.unfinished_calls()
                    })
                    .await;
                *calls = Some(scope);
                json_bytes_response(status, body, &version.response_head)
            }
            Handler::Plugin(module) => {
                // `/{namespace}` is skipped, not copied: the plugin reads the rest in place.
                let device_request = DeviceRequest {
                    uri,
                    path_offset,
                    method,
                    headers,
                    params,
                    body,
                    request_id,
                    origin,
                    identity: version.identity.clone(),
                    modules,
                    backends: self.backends.clone(),
                    deadline,
                    scope: std::sync::OnceLock::new(),
                    shadow,
                    id_header_virtual,
                };
                // The host keeps a handle on the request to read its backend calls after.
                let device_request = RArc::new(device_request);
                let answer = GatherAnswers::new(
                    self.call_plugin(version, *module, route, device_request.clone()),
                    || {
                        device_request
                            .scope
                            .get()
                            .map_or(0, |scope| scope.unfinished_calls())
                    },
                )
                .await;
                *calls = device_request.scope.get().cloned();
                answer.map_err(|error| (error, Some(version.adapter_header.clone())))?
            }
        };
        Ok(response)
    }
}

/// What `Dispatcher::serve` keeps of a request from its start to its answer. Boxed: the
/// request's future holds a pointer to it rather than its 360 bytes.
struct Exchange {
    tally: RequestTally,
    ticket: Ticket,
    insight: InFlight,
}

/// A refusal, with the `x-frontdoor-adapter` value of the version that refused, if one was
/// chosen.
type Refused = (EdgeError, Option<HeaderValue>);

/// A routed request, ready for its handler once its body is read. Boxed, so the futures
/// awaiting its body and its handler hold a pointer.
struct Prepared {
    target: Target,
    method: hyper::Method,
    uri: hyper::Uri,
    headers: hyper::HeaderMap,
    call: Call,
}

/// How a chosen version's handler is called: by when, on whose behalf, and whether as a
/// shadow.
struct Call {
    deadline: tokio::time::Instant,
    origin: CallOrigin,
    shadow: bool,
    /// The device sent no `x-request-id` and none was added to the headers: the plugin
    /// reads `origin.header` under that name.
    id_header_virtual: bool,
}

/// A version chosen for a request, with the route matched in it.
struct Target {
    version: Arc<PluginVersion>,
    modules: RArc<frontdoor_plugin_api::BindingSet>,
    in_use: Arc<[Arc<PluginVersion>]>,
    route: u32,
    /// Read against the path below the namespace.
    params: router::Params,
    /// Where the path below the namespace starts.
    path_offset: usize,
}

/// `/tv/home` → (`tv`, `/home`); `/tv` → (`tv`, `/`).
fn split_namespace(path: &str) -> (&str, &str) {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    // A byte search: `str::find` with a char pattern goes through the generic searcher,
    // several hundred instructions per request for a path this short.
    match trimmed.bytes().position(|byte| byte == b'/') {
        Some(slash) => (&trimmed[..slash], &trimmed[slash..]),
        None => (trimmed, "/"),
    }
}

fn parse_requirement(value: &HeaderValue) -> Result<semver::VersionReq, EdgeError> {
    let text = value
        .to_str()
        .map_err(|_| EdgeError::bad_request(format!("{VERSION_HEADER} is not visible ASCII")))?;
    semver::VersionReq::parse(text).map_err(|error| {
        EdgeError::bad_request(format!(
            "{VERSION_HEADER}: {text:?} is not a semver requirement: {error}"
        ))
    })
}

/// The answer when no version takes the request: 503 when versions match but every one of
/// them is quarantined, else 404 listing what is loaded.
fn no_healthy_version(
    namespace: &str,
    requirement: Option<&semver::VersionReq>,
    versions: &[crate::router::Routed],
) -> EdgeError {
    let quarantined: Vec<String> = versions
        .iter()
        .filter(|routed| {
            requirement.is_none_or(|req| req.matches(&routed.version.identity.version))
        })
        .filter_map(|routed| {
            let health = routed.version.health;
            health
                .quarantine_reason()
                .map(|reason| format!("{} ({reason})", health.label))
        })
        .collect();
    if !quarantined.is_empty() {
        return EdgeError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "adapter unavailable",
            format!(
                "every version of {namespace} that could serve this request is quarantined: {}",
                quarantined.join("; ")
            ),
        );
    }
    no_matching_version(namespace, requirement, versions)
}

fn no_matching_version(
    namespace: &str,
    requirement: Option<&semver::VersionReq>,
    versions: &[crate::router::Routed],
) -> EdgeError {
    let loaded: Vec<String> = versions
        .iter()
        .map(|routed| routed.version.identity.version.to_string())
        .collect();
    let mut error = EdgeError::not_found(format!(
        "no loaded version of {namespace} matches {}; loaded: {}",
        requirement.map(ToString::to_string).unwrap_or_default(),
        loaded.join(", ")
    ));
    error.error = "no matching version";
    error.loaded_versions = Some(loaded);
    error
}

/// Reads the body, refusing more than `max_body_bytes` (early, from `content-length`, when
/// the client declares it) and a body that takes longer than `body_read_timeout` to arrive
/// (a client that stalls mid-body would otherwise hold the request open forever).
async fn read_body(body: Incoming, limits: &RequestLimits) -> Result<Bytes, EdgeError> {
    // hyper knows from the head that there is no body (a GET, typically): nothing to wait
    // for, so no timer is armed and no clock is read.
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    let limit = limits.max_body_bytes;
    let too_large = || {
        EdgeError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload too large",
            format!("the body exceeds {limit} bytes"),
        )
    };
    // A declared length is in the body's size hint: hyper read `content-length` from the
    // head and refused the request if it was malformed, so the header is not looked up
    // (or parsed) again here.
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large());
    }
    let timeout = limits.body_read_timeout;
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(error)) => Err(EdgeError::bad_request(format!(
            "could not read the body: {error}"
        ))),
        Err(_) => Err(EdgeError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request timeout",
            format!("the body did not arrive within {} ms", timeout.as_millis()),
        )),
    }
}

impl Dispatcher {
    /// Calls into the plugin and converts what comes back. A panic becomes a 500 for this
    /// request only: the SDK catches panics inside the plugin, and what async-ffi re-raises
    /// on the host side is caught here. **Invariant:** a plugin never unwinds into the host.
    /// The handler runs under its budget (then a 504, and its future is dropped, which the
    /// SDK guards), every poll marked for the watchdog; a version that once blocked a
    /// worker runs on the isolation runtime.
    async fn call_plugin(
        &self,
        version: &PluginVersion,
        module: PluginModuleRef,
        route: u32,
        request: RArc<DeviceRequest>,
    ) -> Result<Response<Body>, EdgeError> {
        let request_id = request.origin.request_id;
        let health = version.health;
        let label = &version.identity.label;
        let host_request = HostRequestObj::from_ptr(request, TD_Opaque);
        let future = {
            // Starting a handler runs author code synchronously too.
            let _mark = watchdog::enter(health, route);
            crate::requests::current::within(&request_id, || (module.handle())(route, host_request))
        };
        let budget = self.limits.handler_timeout;
        let guarded = AssertUnwindSafe(HandlerBudget::new(
            Watched::new(Tagged::new(future, request_id), health, route),
            budget,
        ))
        .catch_unwind();
        let outcome = if health.is_offloaded() {
            match Offloaded::spawn(&self.isolation, guarded).await {
                Ok(outcome) => outcome,
                // The isolation runtime is shutting down: not the plugin's failure.
                Err(join_error) if join_error.is_cancelled() => {
                    return Err(EdgeError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "shutting down",
                        format!("the host stopped before {label} answered (request {request_id})"),
                    ));
                }
                // A panic outside the catch above: this request fails alone.
                Err(join_error) => Err(Box::new(join_error.to_string()) as _),
            }
        } else {
            guarded.await
        };
        match outcome {
            Ok(Ok(RResult::ROk(response))) => convert_response(response, &version.response_head).map_err(|reason| {
                tracing::error!(plugin = %label, %request_id, %reason, "adapter returned an invalid response");
                EdgeError::internal(format!("the adapter returned an invalid response (request {request_id})"))
            }),
            Ok(Ok(RResult::RErr(error))) => {
                let what = match error.kind {
                    HandlerErrorKind::Panicked => {
                        health.record(Failure::Panic);
                        "adapter panicked"
                    }
                    HandlerErrorKind::Failed => "adapter failed",
                    HandlerErrorKind::UnknownRoute => "adapter has no such route",
                };
                tracing::error!(plugin = %label, %request_id, message = %error.message, "{what}");
                Err(EdgeError::internal(format!("the adapter failed (request {request_id})")))
            }
            Ok(Err(_elapsed)) => {
                health.record(Failure::Timeout);
                tracing::error!(
                    plugin = %label,
                    %request_id,
                    route = %health.route(route),
                    budget_ms = budget.as_millis() as u64,
                    "handler timed out; its future is dropped"
                );
                Err(EdgeError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "handler timeout",
                    format!(
                        "{label} did not answer within {} ms (request {request_id})",
                        budget.as_millis()
                    ),
                ))
            }
            Err(_) => {
                health.record(Failure::Panic);
                tracing::error!(plugin = %label, %request_id, "adapter future panicked across the ABI");
                Err(EdgeError::internal(format!("the adapter failed (request {request_id})")))
            }
        }
    }
}

fn convert_response(
    response: frontdoor_plugin_api::Response,
    head: &ResponseHead,
) -> Result<Response<Body>, String> {
    let status = StatusCode::from_u16(response.status)
        .ok()
        .filter(|status| (200..=599).contains(&status.as_u16()))
        .ok_or_else(|| format!("status {} is not a final HTTP status", response.status))?;
    let body = match response.body {
        // A body the plugin borrows from its read-only data: plugins are never unloaded, so
        // it lives as long as the process, and costs no copy.
        RCow::Borrowed(bytes) => Bytes::from_static(bytes.as_slice()),
        // The plugin's buffer, wrapped as is; freed through its own allocator's vtable.
        RCow::Owned(bytes) => Bytes::from_owner(bytes),
    };
    let mut headers = match response.content_type.as_str() {
        "application/json" => head.json(),
        "" => head.with_content_type(None),
        other => head.with_content_type(Some(
            HeaderValue::from_str(other)
                .map_err(|_| format!("content type {other:?} is invalid"))?,
        )),
    };
    for header in response.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| format!("header name {:?} is invalid", header.name.as_str()))?;
        if HOST_OWNED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let value = HeaderValue::from_str(header.value.as_str())
            .map_err(|_| format!("header {name} has an invalid value"))?;
        headers.append(name, value);
    }
    let mut out = Response::new(Full::new(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

fn json_bytes_response(status: u16, body: Bytes, head: &ResponseHead) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *response.headers_mut() = head.json();
    response
}

#[cfg(test)]
mod tests;
