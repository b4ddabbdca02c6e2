//! Request insight: every device request's id, the recent requests of each adapter with
//! their backend fan-out, and the hand-off of their spans to the trace exporter.
//!
//! `Dispatcher::serve` calls [`Insight::begin`] before routing and [`Insight::finish`] on
//! the response, whatever it is, so every answer (errors included) carries `x-request-id`.
//! In between, the id reaches the plugin (in its request headers), its log lines (the
//! request is current on the thread around every poll: [`Tagged`]), and every backend call
//! (`x-request-id`, and `traceparent` when traces are on) through the request's
//! `RequestScope`, which also records the calls ([`fanout`]).

pub mod current;
pub mod endpoints;
pub mod fanout;
pub mod filter;
mod id;
pub(crate) mod random;
mod ring;
mod tagged;

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use hyper::{HeaderMap, Method, Response, header::HeaderValue};
use tokio::time::Instant;

pub use fanout::{CallLog, CallOrigin, CallOutcome, CallRecord, CallTicket};
pub use filter::{BadParam, RequestFilter};
pub use id::{HEADER, HEADER_NAME, MAX_LEN, Origin, Refusal, RequestId};
pub use ring::{CallView, Kept, RecentConfig, RecentRequest, RecentRequests};
pub use tagged::Tagged;

use crate::{
    backends::RequestScope,
    containment::VersionHealth,
    error_response::Body,
    otel::{self, AttributeValue, ExportStatsView, SpanData, SpanKind, SpanQueue, TraceContext},
};

/// The host's books on requests: the rings, and where spans go (if anywhere).
pub struct Insight {
    recent: RecentRequests,
    spans: Option<SpanQueue>,
}

/// What the host notes about one device request while it runs.
pub struct InFlight {
    pub id: RequestId,
    header: HeaderValue,
    pub started: Instant,
    method: Method,
    /// `Some` when traces are recorded: the request's place in its trace and its start on
    /// the wall clock (spans carry wall-clock times).
    trace: Option<(TraceContext, SystemTime)>,
    /// The version that took the request, once one did.
    pub version: Option<&'static VersionHealth>,
    /// The route that matched, once one did.
    pub route: Option<u32>,
    /// The request's backend calls, if it made any.
    pub scope: Option<Arc<RequestScope>>,
    /// False when the device sent no `x-request-id`: the id's header was not added to the
    /// request's headers (see [`Insight::begin`]).
    pub id_in_headers: bool,
}

impl Insight {
    pub fn new(recent: RecentConfig, spans: Option<SpanQueue>) -> Self {
        Self {
            recent: RecentRequests::new(recent),
            spans,
        }
    }

    /// Names the request and places it in its trace. A refused `x-request-id` is replaced
    /// in the request's headers by the id's, so nothing reads the refused one again. When
    /// the device sent none, the id's header is not added: an insert costs about 240
    /// instructions per request (http hashes a custom name byte by byte), and only a plugin
    /// or a shadow reads it. A plugin reads it through `DeviceRequest` (`id_header_virtual`)
    /// and a mirrored copy gets it in `Dispatcher::route`.
    pub fn begin(&self, method: &Method, headers: &mut HeaderMap) -> InFlight {
        let (id, origin, device_value) = RequestId::from_headers_with_value(headers);
        // The device's own value is kept as it came.
        let device_value = device_value.cloned();
        let (header, id_in_headers) = match (origin, device_value) {
            (Origin::Device, Some(value)) => (value, true),
            (Origin::Replaced(_), _) => {
                let value = id.header_value();
                headers.insert(HEADER, value.clone());
                (value, true)
            }
            // None sent (a device's own id always comes with its value).
            _ => (id.header_value(), false),
        };
        if let Origin::Replaced(refusal) = origin {
            tracing::info!(request_id = %id, %refusal, "the device's x-request-id was refused; the request goes by a generated id");
        }
        let trace = self.spans.as_ref().map(|_| {
            let traceparent = headers.get(&otel::traceparent::HEADER);
            (
                TraceContext::continue_or_start(traceparent.map(HeaderValue::as_bytes)),
                SystemTime::now(),
            )
        });
        InFlight {
            id,
            header,
            started: Instant::now(),
            method: method.clone(),
            trace,
            version: None,
            route: None,
            scope: None,
            id_in_headers,
        }
    }

    /// Stamps the response with the request id, keeps the request in its adapter's ring if
    /// it qualifies, and hands its spans to the exporter.
    /// `latency` is read once by the caller, for the metrics and a canary's judge as well.
    /// The request is borrowed: moving it (300 bytes) cost more than anything done here
    /// for a request that is neither kept nor traced.
    pub fn finish(&self, request: &InFlight, response: &mut Response<Body>, latency: Duration) {
        crate::response_head::set_request_id(response.headers_mut(), request.header.clone());
        let status = response.status().as_u16();
        let calls = request.scope.as_ref().map(|scope| &scope.calls);
        let failed_call = calls.is_some_and(CallLog::any_failed);
        tracing::debug!(
            target: "frontdoor::access",
            request_id = %request.id,
            plugin = request.version.map_or("", |version| version.label.as_str()),
            method = %request.method,
            status,
            latency_us = ring::micros(latency),
            failed_call,
            "request served"
        );
        let kept = request
            .version
            .and_then(|version| Some((version, self.recent.keep(status, latency, failed_call)?)));
        let traced = request
            .trace
            .filter(|(trace, _)| trace.sampled && self.spans.is_some());
        if kept.is_none() && traced.is_none() {
            return;
        }
        // Only a kept or traced request copies its calls.
        let calls = calls.map(CallLog::records).unwrap_or_default();
        if let Some((version, kept)) = kept {
            let (adapter, version_number) = version
                .label
                .split_once('@')
                .unwrap_or((&version.label, ""));
            self.recent.push(RecentRequest {
                request_id: request.id.to_string(),
                at_unix_ms: unix_ms(SystemTime::now()),
                adapter: adapter.to_owned(),
                version: version_number.to_owned(),
                method: request.method.to_string(),
                route: request.route.map(|route| route_pattern(version, route)),
                status,
                latency_us: ring::micros(latency),
                kept,
                trace_id: request
                    .trace
                    .map(|(trace, _)| format!("{:032x}", trace.trace_id)),
                calls: calls.iter().map(CallView::from).collect(),
            });
        }
        if let (Some(spans), Some((trace, start))) = (&self.spans, traced) {
            spans.push(request_spans(
                request, trace, start, latency, status, &calls,
            ));
        }
    }

    /// The recent-requests rings.
    pub fn recent(&self) -> &RecentRequests {
        &self.recent
    }

    /// The exporter's counters, when traces are exported.
    pub fn export_stats(&self) -> Option<ExportStatsView> {
        self.spans.as_ref().map(|queue| queue.stats.view())
    }
}

impl InFlight {
    /// The id as the value of its header, the device's own when it sent an acceptable one.
    pub fn id_header(&self) -> &HeaderValue {
        &self.header
    }

    /// What the request's backend calls inherit.
    pub fn call_origin(&self) -> CallOrigin {
        CallOrigin {
            request_id: self.id,
            header: self.header.clone(),
            started: self.started,
            trace: self.trace.map(|(trace, _)| trace),
        }
    }
}

/// `/items/{id}` of route `index` (the health record names routes `METHOD /pattern`).
fn route_pattern(version: &VersionHealth, index: u32) -> String {
    let named = version.route(index);
    named
        .split_once(' ')
        .map_or(named, |(_, pattern)| pattern)
        .to_owned()
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

fn unix_nanos(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    })
}

/// The device request's server span and a client span per backend call, its children.
fn request_spans(
    request: &InFlight,
    trace: TraceContext,
    start: SystemTime,
    latency: Duration,
    status: u16,
    calls: &[CallRecord],
) -> Vec<SpanData> {
    let route = request
        .version
        .zip(request.route)
        .map(|(version, route)| route_pattern(version, route));
    let mut attributes = vec![
        (
            "http.request.method",
            AttributeValue::Text(request.method.to_string()),
        ),
        (
            "http.response.status_code",
            AttributeValue::Int(i64::from(status)),
        ),
        (
            "frontdoor.request_id",
            AttributeValue::Text(request.id.to_string()),
        ),
    ];
    if let Some(version) = request.version {
        attributes.push((
            "frontdoor.adapter",
            AttributeValue::Text(version.label.clone()),
        ));
    }
    if let Some(route) = &route {
        attributes.push(("http.route", AttributeValue::Text(route.clone())));
    }
    let start_nanos = unix_nanos(start);
    let mut spans = Vec::with_capacity(1 + calls.len());
    spans.push(SpanData {
        trace_id: trace.trace_id,
        span_id: trace.span_id,
        parent_id: trace.parent_id,
        name: match &route {
            Some(route) => format!("{} {route}", request.method),
            None => request.method.to_string(),
        },
        kind: SpanKind::Server,
        start_unix_nanos: start_nanos,
        end_unix_nanos: start_nanos.saturating_add(nanos(latency)),
        attributes,
        error: status >= 500,
    });
    for call in calls {
        let Some(span_id) = call.span_id else {
            continue;
        };
        let call_start = start_nanos.saturating_add(nanos(call.start_offset));
        let mut attributes = vec![
            (
                "frontdoor.backend",
                AttributeValue::Text(call.backend.to_string()),
            ),
            (
                "http.request.method",
                AttributeValue::Text(call.method.to_string()),
            ),
            ("url.path", AttributeValue::Text(call.path.clone())),
            (
                "frontdoor.attempts",
                AttributeValue::Int(i64::from(call.attempts)),
            ),
            (
                "frontdoor.deduplicated",
                AttributeValue::Bool(call.deduplicated),
            ),
        ];
        let error = match call.outcome {
            CallOutcome::Ok { status } => {
                attributes.push((
                    "http.response.status_code",
                    AttributeValue::Int(i64::from(status)),
                ));
                false
            }
            CallOutcome::Failed { kind, status } => {
                if status != 0 {
                    attributes.push((
                        "http.response.status_code",
                        AttributeValue::Int(i64::from(status)),
                    ));
                }
                attributes.push(("error.type", AttributeValue::Text(format!("{kind:?}"))));
                true
            }
            CallOutcome::Unfinished => {
                attributes.push(("error.type", AttributeValue::Text("Unfinished".into())));
                true
            }
        };
        spans.push(SpanData {
            trace_id: trace.trace_id,
            span_id,
            parent_id: Some(trace.span_id),
            name: format!("{} {}", call.method, call.backend),
            kind: SpanKind::Client,
            start_unix_nanos: call_start,
            end_unix_nanos: call_start
                .saturating_add(nanos(call.duration.unwrap_or(Duration::ZERO))),
            attributes,
            error,
        });
    }
    spans
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
