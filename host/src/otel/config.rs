//! The `[telemetry]` table: OTLP export and the recent-requests rings.

use std::time::Duration;

use hyper::Uri;
use serde::Deserialize;

use super::ExportConfig;
use crate::requests::RecentConfig;

/// What the host records about requests and where it sends traces.
#[derive(Debug, Clone, Default)]
pub struct TelemetryConfig {
    /// `None`: no traces are recorded or exported.
    pub export: Option<ExportConfig>,
    pub recent: RecentConfig,
}

/// `[telemetry]` as written in `frontdoor.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryFileConfig {
    otlp_endpoint: Option<String>,
    service_name: Option<String>,
    export_batch_size: Option<usize>,
    export_interval_ms: Option<u64>,
    export_queue_capacity: Option<usize>,
    recent_requests_per_adapter: Option<usize>,
    slow_request_ms: Option<u64>,
    sample_one_in: Option<u32>,
}

/// Largest ring per adapter: each entry holds a request's backend calls.
const MAX_RING: usize = 100_000;

impl TelemetryFileConfig {
    pub fn resolve(self) -> Result<TelemetryConfig, String> {
        let recent_defaults = RecentConfig::default();
        let per_adapter = self
            .recent_requests_per_adapter
            .unwrap_or(recent_defaults.per_adapter);
        if per_adapter > MAX_RING {
            return Err(format!(
                "telemetry.recent_requests_per_adapter must be at most {MAX_RING} (0 turns the rings off), not {per_adapter}"
            ));
        }
        let slow = match self.slow_request_ms {
            Some(0) => return Err("telemetry.slow_request_ms must be more than 0".into()),
            Some(ms) => Duration::from_millis(ms),
            None => recent_defaults.slow,
        };
        let recent = RecentConfig {
            per_adapter,
            slow,
            sample_one_in: self.sample_one_in.unwrap_or(recent_defaults.sample_one_in),
        };
        let export_keys_without_endpoint = self.otlp_endpoint.is_none()
            && (self.service_name.is_some()
                || self.export_batch_size.is_some()
                || self.export_interval_ms.is_some()
                || self.export_queue_capacity.is_some());
        if export_keys_without_endpoint {
            return Err(
                "telemetry: export settings are set but telemetry.otlp_endpoint is not".into(),
            );
        }
        let Some(endpoint) = self.otlp_endpoint else {
            return Ok(TelemetryConfig {
                export: None,
                recent,
            });
        };
        let batch_size = self.export_batch_size.unwrap_or(512);
        if !(1..=10_000).contains(&batch_size) {
            return Err(format!(
                "telemetry.export_batch_size must be 1 to 10000, not {batch_size}"
            ));
        }
        let queue_capacity = self.export_queue_capacity.unwrap_or(2048);
        if !(1..=1_000_000).contains(&queue_capacity) {
            return Err(format!(
                "telemetry.export_queue_capacity must be 1 to 1000000, not {queue_capacity}"
            ));
        }
        let interval = match self.export_interval_ms.unwrap_or(1000) {
            0 => return Err("telemetry.export_interval_ms must be more than 0".into()),
            ms => Duration::from_millis(ms),
        };
        let service_name = self.service_name.unwrap_or_else(|| "frontdoor".into());
        if service_name.trim().is_empty() {
            return Err("telemetry.service_name must not be empty".into());
        }
        Ok(TelemetryConfig {
            export: Some(ExportConfig {
                endpoint: traces_endpoint(&endpoint)?,
                service_name,
                batch_size,
                interval,
                queue_capacity,
            }),
            recent,
        })
    }
}

/// `http://host:port` → `http://host:port/v1/traces`; a URL that already names a path is
/// used as it is. Only plain HTTP: the host has no TLS client.
fn traces_endpoint(text: &str) -> Result<Uri, String> {
    let invalid = |why: &str| format!("telemetry.otlp_endpoint {text:?} {why}");
    let uri: Uri = text
        .parse()
        .map_err(|error| invalid(&format!("is not a URL: {error}")))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err(invalid("must be http://host:port[/path]"));
    }
    if uri.path() == "/" || uri.path().is_empty() {
        let base = text.trim_end_matches('/');
        return format!("{base}/v1/traces")
            .parse()
            .map_err(|error| invalid(&format!("is not a URL: {error}")));
    }
    Ok(uri)
}

#[cfg(test)]
mod tests;
