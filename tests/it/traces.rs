//! OpenTelemetry: spans exported over OTLP/HTTP to a receiver on 127.0.0.1, a device's
//! trace continued, and `traceparent` passed to backends.

use std::time::Duration;

use frontdoor::{HostConfig, backends::BackendConfig, otel::ExportConfig};
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};

use crate::support::{Fixture, OtlpReceiver, Recorder, TestHost, get, send};

const DEVICE_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const DEVICE_SPAN: &str = "b7ad6b7169203331";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    let value = span
        .attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?;
    match value.value.as_ref()? {
        Value::StringValue(text) => Some(text.clone()),
        Value::IntValue(number) => Some(number.to_string()),
        Value::BoolValue(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_and_backend_spans_are_exported_and_the_trace_is_propagated() {
    let receiver = OtlpReceiver::start().await;
    let recorder = Recorder::start().await;
    let backend = BackendConfig::new("recorder", recorder.url());
    let endpoint = format!("{}/v1/traces", receiver.url());
    let host = TestHost::with_config(&[Fixture::Echo("1.0.0")], move |config: &mut HostConfig| {
        config.backends = vec![backend];
        config.telemetry.export = Some(ExportConfig {
            endpoint: endpoint.parse().expect("endpoint"),
            service_name: "frontdoor-under-test".into(),
            batch_size: 64,
            interval: Duration::from_millis(50),
            queue_capacity: 64,
        });
    })
    .await;

    let traceparent = format!("00-{DEVICE_TRACE}-{DEVICE_SPAN}-01");
    let traced = send(
        hyper::Method::GET,
        &host.url("/echo/fanout/recorder?n=2&path=/p&distinct=1"),
        &[
            ("traceparent", traceparent.as_str()),
            ("x-request-id", "traced-1"),
        ],
        Vec::new(),
    )
    .await;
    assert_eq!(traced.status, 200);
    let malformed = send(
        hyper::Method::GET,
        &host.url("/echo/hello"),
        &[(
            "traceparent",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        )],
        Vec::new(),
    )
    .await;
    assert_eq!(malformed.status, 200);
    let fresh = get(&host.url("/echo/hello")).await;
    let fresh_id = fresh.header("x-request-id").expect("id").to_owned();
    // Stopping flushes the exporter: every span is at the receiver afterwards.
    host.stop().await;

    let spans = receiver.spans();
    assert!(spans.iter().all(|s| s.service == "frontdoor-under-test"));
    let by_request = |id: &str| {
        spans
            .iter()
            .find(|s| attribute(&s.span, "frontdoor.request_id").as_deref() == Some(id))
            .map(|s| s.span.clone())
            .unwrap_or_else(|| panic!("no span of request {id} in {spans:#?}"))
    };

    // The device's trace continues: same trace id, the device's span as parent.
    let server = by_request("traced-1");
    assert_eq!(server.kind, SpanKind::Server as i32);
    assert_eq!(hex(&server.trace_id), DEVICE_TRACE);
    assert_eq!(hex(&server.parent_span_id), DEVICE_SPAN);
    assert_eq!(server.name, "GET /fanout/{backend}");
    assert_eq!(
        attribute(&server, "http.response.status_code").as_deref(),
        Some("200")
    );

    // One client span per backend call, children of the request's span, each the parent
    // named in the traceparent its backend received.
    let mut clients: Vec<Span> = spans
        .iter()
        .filter(|s| s.span.parent_span_id == server.span_id)
        .map(|s| s.span.clone())
        .collect();
    clients.sort_by_key(|span| attribute(span, "url.path"));
    assert_eq!(clients.len(), 2, "{spans:#?}");
    let mut received: Vec<String> = recorder
        .requests()
        .iter()
        .map(|request| request.traceparent.clone().expect("traceparent sent"))
        .collect();
    received.sort();
    let mut expected: Vec<String> = clients
        .iter()
        .map(|span| {
            assert_eq!(span.kind, SpanKind::Client as i32);
            assert_eq!(span.trace_id, server.trace_id);
            assert_eq!(
                attribute(span, "frontdoor.backend").as_deref(),
                Some("recorder")
            );
            assert!(span.start_time_unix_nano >= server.start_time_unix_nano);
            assert!(span.end_time_unix_nano <= server.end_time_unix_nano);
            format!("00-{DEVICE_TRACE}-{}-01", hex(&span.span_id))
        })
        .collect();
    expected.sort();
    assert_eq!(received, expected);

    // A malformed traceparent (uppercase) and none at all each start a new trace.
    for id in [
        malformed.header("x-request-id").expect("id"),
        fresh_id.as_str(),
    ] {
        let span = by_request(id);
        assert!(span.parent_span_id.is_empty(), "{span:?}");
        assert_ne!(hex(&span.trace_id), DEVICE_TRACE);
        assert_ne!(span.trace_id, vec![0; 16]);
    }
}
