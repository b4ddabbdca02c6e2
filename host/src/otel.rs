//! OpenTelemetry traces: a server span per device request and a client span per backend
//! call, W3C `traceparent` in (continued) and out (to every backend), exported over
//! OTLP/HTTP protobuf by a batching task when `[telemetry] otlp_endpoint` is set.
//!
//! Built on `opentelemetry-proto`'s message types and the host's own hyper client rather
//! than `opentelemetry_sdk` + `opentelemetry-otlp`: the host records only these two kinds
//! of span, from data it already keeps, so the SDK's span machinery would be cost without
//! use. Without an endpoint nothing is parsed, generated or recorded for traces.

pub mod config;
mod encode;
mod export;
mod queue;
pub mod span;
pub mod traceparent;

use std::time::Duration;

use hyper::Uri;

pub use config::{TelemetryConfig, TelemetryFileConfig};
pub use export::Exporter;
pub use queue::{ExportStats, ExportStatsView, SpanBundle, SpanQueue};
pub use span::{AttributeValue, SpanData, SpanKind, TraceContext};

/// Where and how spans are exported.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// The collector's traces endpoint (`http://host:4318/v1/traces`).
    pub endpoint: Uri,
    /// `service.name` of every span.
    pub service_name: String,
    /// Spans per export request.
    pub batch_size: usize,
    /// How long a batch waits to fill.
    pub interval: Duration,
    /// Requests' span bundles the queue holds before new ones are dropped.
    pub queue_capacity: usize,
}
