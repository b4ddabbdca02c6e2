//! `GET /metrics`: one prometheus-client registry holding the host's collectors, encoded as
//! OpenMetrics text on each scrape. Nothing is registered per request or per version: the
//! collectors read the routing table, the registry's snapshot and the counters at scrape
//! time, so series come and go with what they describe.

use std::{fmt, sync::Arc};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Response, StatusCode,
    header::{CONTENT_TYPE, HeaderValue},
};

use super::{
    HostMetrics, backend_calls::BackendCalls, device_requests::DeviceRequests,
    listeners::ListenerCounters, recycles::Recycles, versions::Versions,
};
use crate::{
    backends::Backends,
    error_response::{Body, EdgeError},
    registry::Registry,
    server::Listeners,
};

/// The media type of the OpenMetrics text format, which Prometheus asks for first.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Everything `/metrics` shows.
pub struct Exposition {
    registry: prometheus_client::registry::Registry,
}

impl Exposition {
    pub fn new(
        registry: Arc<Registry>,
        backends: Arc<Backends>,
        listeners: Arc<Listeners>,
        metrics: Arc<HostMetrics>,
    ) -> Self {
        let mut exposition = prometheus_client::registry::Registry::default();
        exposition.register_collector(Box::new(DeviceRequests {
            registry: registry.clone(),
            metrics: metrics.clone(),
        }));
        exposition.register_collector(Box::new(BackendCalls { backends }));
        exposition.register_collector(Box::new(Recycles {
            counters: metrics.recycles.clone(),
        }));
        exposition.register_collector(Box::new(Versions { registry, metrics }));
        exposition.register_collector(Box::new(ListenerCounters { listeners }));
        Self {
            registry: exposition,
        }
    }

    /// The scrape as OpenMetrics text, `# EOF` included.
    pub fn render(&self) -> Result<String, fmt::Error> {
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// The answer to `GET /metrics`.
    pub fn response(&self) -> Response<Body> {
        match self.render() {
            Ok(text) => {
                let mut response = Response::new(Full::new(Bytes::from(text)));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
                response
            }
            Err(_) => {
                tracing::error!("encoding the metrics failed");
                EdgeError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error",
                    "encoding the metrics failed",
                )
                .into_response()
            }
        }
    }
}
