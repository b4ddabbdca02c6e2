//! `[traffic]`: where a device's sticky key is read, and the bounds on judges and shadows.

use std::time::Duration;

use hyper::header::HeaderName;
use serde::Deserialize;

use super::{TrafficState, sticky::StickyKey};

/// The resolved `[traffic]` settings.
#[derive(Debug, Clone)]
pub struct TrafficConfig {
    /// Where a device's identity comes from, so it keeps one side of a canary split.
    pub sticky: StickyKey,
    /// Shadow calls in flight at once, host-wide; past it a shadow is skipped and counted.
    pub shadow_max_concurrent: usize,
    /// How long a shadow call may take before it is dropped and counted as timed out.
    pub shadow_timeout: Duration,
    /// Verdicts kept per canary plan.
    pub verdicts_kept: usize,
    /// Latencies sampled per side and interval for the judge.
    pub samples_per_interval: usize,
    /// Sample diffs kept per shadow, and differences kept per sample.
    pub shadow_diffs_kept: usize,
    /// Bytes kept of each differing value in a sample diff.
    pub diff_value_bytes: usize,
    /// Plans and shadows to restore at start (the embedding program's saved state).
    pub restore: Option<TrafficState>,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        Self {
            sticky: StickyKey {
                header: Some(HeaderName::from_static("x-device-id")),
                cookie: None,
            },
            shadow_max_concurrent: 16,
            shadow_timeout: Duration::from_secs(2),
            verdicts_kept: 20,
            samples_per_interval: 2048,
            shadow_diffs_kept: 20,
            diff_value_bytes: 256,
            restore: None,
        }
    }
}

/// The keys of `[traffic]` in `frontdoor.toml`; all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficFileConfig {
    /// `""` turns the header off.
    sticky_header: Option<String>,
    sticky_cookie: Option<String>,
    shadow_max_concurrent: Option<usize>,
    shadow_timeout_ms: Option<u64>,
    verdicts_kept: Option<usize>,
    samples_per_interval: Option<usize>,
    shadow_diffs_kept: Option<usize>,
    diff_value_bytes: Option<usize>,
}

impl TrafficFileConfig {
    pub fn resolve(self) -> Result<TrafficConfig, String> {
        let defaults = TrafficConfig::default();
        let header = match self.sticky_header.as_deref() {
            None => defaults.sticky.header,
            Some("") => None,
            Some(name) => Some(
                HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                    .map_err(|_| format!("traffic.sticky_header {name:?} is not a header name"))?,
            ),
        };
        let cookie = self.sticky_cookie.filter(|name| !name.is_empty());
        let positive = |key: &str, value: Option<usize>, default: usize| match value {
            Some(0) => Err(format!("traffic.{key} must be at least 1")),
            Some(value) => Ok(value),
            None => Ok(default),
        };
        Ok(TrafficConfig {
            sticky: StickyKey {
                header,
                cookie: cookie.map(String::into_boxed_str),
            },
            shadow_max_concurrent: positive(
                "shadow_max_concurrent",
                self.shadow_max_concurrent,
                defaults.shadow_max_concurrent,
            )?,
            shadow_timeout: self
                .shadow_timeout_ms
                .map_or(defaults.shadow_timeout, Duration::from_millis),
            verdicts_kept: positive("verdicts_kept", self.verdicts_kept, defaults.verdicts_kept)?,
            samples_per_interval: positive(
                "samples_per_interval",
                self.samples_per_interval,
                defaults.samples_per_interval,
            )?,
            shadow_diffs_kept: self.shadow_diffs_kept.unwrap_or(defaults.shadow_diffs_kept),
            diff_value_bytes: positive(
                "diff_value_bytes",
                self.diff_value_bytes,
                defaults.diff_value_bytes,
            )?,
            restore: None,
        })
    }
}
