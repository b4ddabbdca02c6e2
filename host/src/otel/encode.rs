//! Spans as an OTLP `ExportTraceServiceRequest` (protobuf), the body of `POST /v1/traces`.

use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value},
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span, status},
};
use prost::Message as _;

use super::span::{AttributeValue, SpanData, SpanKind};

/// One export request's body for `spans` of service `service_name`.
pub fn encode(service_name: &str, spans: &[SpanData]) -> Vec<u8> {
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![key_value(
                    "service.name",
                    &AttributeValue::Text(service_name.to_owned()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "frontdoor".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans: spans.iter().map(to_proto).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    request.encode_to_vec()
}

fn to_proto(data: &SpanData) -> Span {
    Span {
        trace_id: data.trace_id.to_be_bytes().to_vec(),
        span_id: data.span_id.to_be_bytes().to_vec(),
        parent_span_id: data
            .parent_id
            .map(|id| id.to_be_bytes().to_vec())
            .unwrap_or_default(),
        name: data.name.clone(),
        kind: match data.kind {
            SpanKind::Server => span::SpanKind::Server,
            SpanKind::Client => span::SpanKind::Client,
        } as i32,
        start_time_unix_nano: data.start_unix_nanos,
        end_time_unix_nano: data.end_unix_nanos,
        attributes: data
            .attributes
            .iter()
            .map(|(key, value)| key_value(key, value))
            .collect(),
        status: Some(Status {
            message: String::new(),
            code: if data.error {
                status::StatusCode::Error
            } else {
                status::StatusCode::Unset
            } as i32,
        }),
        ..Default::default()
    }
}

fn key_value(key: &str, value: &AttributeValue) -> KeyValue {
    let value = match value {
        AttributeValue::Text(text) => any_value::Value::StringValue(text.clone()),
        AttributeValue::Int(number) => any_value::Value::IntValue(*number),
        AttributeValue::Bool(flag) => any_value::Value::BoolValue(*flag),
    };
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}
