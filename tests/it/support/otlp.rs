//! A small OTLP/HTTP trace receiver: accepts `POST /v1/traces` with protobuf bodies on
//! 127.0.0.1, decodes them with the official message types and keeps every span.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    trace::v1::Span,
};
use prost::Message as _;
use tokio::{net::TcpListener, task::JoinHandle};

/// One received span with the `service.name` of its resource.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub service: String,
    pub span: Span,
}

pub struct OtlpReceiver {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    task: JoinHandle<()>,
}

impl OtlpReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address");
        let spans = Arc::new(Mutex::new(Vec::new()));
        let kept = spans.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let kept = kept.clone();
                        async move { Ok::<_, Infallible>(receive(request, &kept).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, spans, task }
    }

    /// The base URL, as `[telemetry] otlp_endpoint` takes it.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    request: Request<Incoming>,
    kept: &Mutex<Vec<ReceivedSpan>>,
) -> Response<Full<Bytes>> {
    let answer = |status: u16, body: Vec<u8>| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
        response
    };
    let right_kind = request.method() == hyper::Method::POST
        && request.uri().path() == "/v1/traces"
        && request
            .headers()
            .get("content-type")
            .is_some_and(|value| value == "application/x-protobuf");
    if !right_kind {
        return answer(400, Vec::new());
    }
    let Ok(body) = request.into_body().collect().await else {
        return answer(400, Vec::new());
    };
    let Ok(export) = ExportTraceServiceRequest::decode(body.to_bytes()) else {
        return answer(400, Vec::new());
    };
    let mut spans = kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for resource_spans in export.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .find(|attribute| attribute.key == "service.name")
            .and_then(|attribute| attribute.value.as_ref())
            .and_then(|value| match &value.value {
                Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                    name,
                )) => Some(name.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            spans.extend(scope_spans.spans.into_iter().map(|span| ReceivedSpan {
                service: service.clone(),
                span,
            }));
        }
    }
    answer(200, ExportTraceServiceResponse::default().encode_to_vec())
}
