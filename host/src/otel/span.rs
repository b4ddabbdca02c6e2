//! The spans the host records: one per device request (server), one per backend call
//! (client), kept as plain data until the exporter turns them into OTLP messages off the
//! request path.

use crate::requests::random;

use super::traceparent::TraceParent;

/// Where a device request sits in its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: u128,
    /// The device request's own span.
    pub span_id: u64,
    /// The device's span, when it sent a `traceparent`.
    pub parent_id: Option<u64>,
    /// Whether the spans are exported (a device may say it does not record this trace).
    pub sampled: bool,
}

impl TraceContext {
    /// Continues the device's trace, or starts a new one when it sent none (or a malformed
    /// one).
    pub fn continue_or_start(traceparent: Option<&[u8]>) -> Self {
        match traceparent.and_then(TraceParent::parse) {
            Some(parent) => Self {
                trace_id: parent.trace_id,
                span_id: random::nonzero_u64(),
                parent_id: Some(parent.parent_id),
                sampled: parent.sampled(),
            },
            None => Self {
                trace_id: u128::from(random::nonzero_u64()) << 64 | u128::from(random::next_u64()),
                span_id: random::nonzero_u64(),
                parent_id: None,
                sampled: true,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Server,
    Client,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// One finished span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanData {
    pub trace_id: u128,
    pub span_id: u64,
    pub parent_id: Option<u64>,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub attributes: Vec<(&'static str, AttributeValue)>,
    pub error: bool,
}
