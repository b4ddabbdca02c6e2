//! What a backend is, as configured: where it lives and how it is protected.

use std::time::Duration;

use serde::Deserialize;

use super::adaptive_limit::{self, AdaptiveFileConfig, Concurrency};

/// One backend service the adapters may call by name.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    pub name: String,
    /// Base URL, `http://host:port` with an optional path prefix; calls append their path.
    pub url: String,
    /// Longest wait for one attempt (further bounded by the device request's deadline).
    pub timeout: Duration,
    /// Bulkhead: calls in flight at once; more are rejected immediately.
    pub max_concurrent: usize,
    /// Fixed (the bulkhead alone) or an adaptive limit under it.
    pub concurrency: Concurrency,
    pub breaker: BreakerConfig,
    pub retry: RetryConfig,
    /// Identical GETs in flight at once, from any device requests, make one call
    /// (`single_flight.rs`). Only for answers that do not depend on the caller.
    pub share_in_flight: bool,
    pub hedge: HedgeConfig,
}

impl BackendConfig {
    /// A backend at `url` with the default protections.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            timeout: Duration::from_millis(1000),
            max_concurrent: 256,
            concurrency: Concurrency::Fixed,
            breaker: BreakerConfig::default(),
            retry: RetryConfig::default(),
            share_in_flight: false,
            hedge: HedgeConfig::default(),
        }
    }
}

/// When the circuit opens, and how it closes again.
#[derive(Debug, Clone)]
pub struct BreakerConfig {
    /// Open when at least this share of calls in the window failed...
    pub error_threshold_percent: u32,
    /// ...and the window holds at least this many calls.
    pub min_requests: u32,
    /// The rolling window the error rate is computed over.
    pub window: Duration,
    /// How long the circuit stays open before it lets probes through.
    pub open_for: Duration,
    /// Calls let through at once while half-open; one success closes the circuit.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            error_threshold_percent: 50,
            min_requests: 20,
            window: Duration::from_secs(10),
            open_for: Duration::from_secs(5),
            half_open_probes: 1,
        }
    }
}

/// Retries of idempotent calls (GET, HEAD) after a timeout, transport error or 5xx.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Attempts in all, the first included: 1 means no retry (the default).
    pub attempts: u32,
    /// Retries may add at most this share of extra load (a token bucket fed by calls).
    pub budget_percent: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            attempts: 1,
            budget_percent: 10,
        }
    }
}

/// Hedged requests of idempotent calls (`hedge.rs`): a second attempt when the first has
/// not answered after a delay; the first answer wins. Every hedge spends a retry-budget
/// token.
#[derive(Debug, Clone, Default)]
pub struct HedgeConfig {
    pub enabled: bool,
    /// Hedge after this long; `None`: after the backend's recent p95 answer latency.
    pub after: Option<Duration>,
}

/// `[backends.NAME]` in `frontdoor.toml`; every key but `url` is optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendFileConfig {
    pub url: String,
    pub timeout_ms: Option<u64>,
    pub max_concurrent: Option<usize>,
    /// `"fixed"` (the default) or `"adaptive"`.
    pub concurrency: Option<String>,
    pub adaptive: Option<AdaptiveFileConfig>,
    pub breaker: Option<BreakerFileConfig>,
    pub retry: Option<RetryFileConfig>,
    pub share_in_flight: Option<bool>,
    pub hedge: Option<bool>,
    pub hedge_after_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerFileConfig {
    pub error_threshold_percent: Option<u32>,
    pub min_requests: Option<u32>,
    pub window_ms: Option<u64>,
    pub open_ms: Option<u64>,
    pub half_open_probes: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryFileConfig {
    pub attempts: Option<u32>,
    pub budget_percent: Option<u32>,
}

impl BackendFileConfig {
    /// The backend `name` as configured; `Err` names the key that does not make sense.
    pub fn resolve(self, name: &str) -> Result<BackendConfig, String> {
        let hedge = self.hedge_config(name)?;
        let mut config = BackendConfig::new(name, self.url);
        config.share_in_flight = self.share_in_flight.unwrap_or(false);
        config.hedge = hedge;
        if let Some(ms) = self.timeout_ms {
            config.timeout = Duration::from_millis(ms);
        }
        if let Some(limit) = self.max_concurrent {
            config.max_concurrent = limit;
        }
        config.concurrency = adaptive_limit::resolve(
            name,
            self.concurrency.as_deref(),
            self.adaptive,
            config.max_concurrent,
        )?;
        if let Some(breaker) = self.breaker {
            let b = &mut config.breaker;
            b.error_threshold_percent = breaker
                .error_threshold_percent
                .unwrap_or(b.error_threshold_percent);
            b.min_requests = breaker.min_requests.unwrap_or(b.min_requests);
            b.window = breaker
                .window_ms
                .map(Duration::from_millis)
                .unwrap_or(b.window);
            b.open_for = breaker
                .open_ms
                .map(Duration::from_millis)
                .unwrap_or(b.open_for);
            b.half_open_probes = breaker.half_open_probes.unwrap_or(b.half_open_probes);
        }
        if let Some(retry) = self.retry {
            config.retry.attempts = retry.attempts.unwrap_or(config.retry.attempts);
            config.retry.budget_percent =
                retry.budget_percent.unwrap_or(config.retry.budget_percent);
        }
        if config.hedge.enabled && config.retry.budget_percent == 0 {
            return Err(format!(
                "backends.{name}.hedge needs backends.{name}.retry.budget_percent above 0: \
                 every hedge spends a retry-budget token"
            ));
        }
        if let Some(after) = config.hedge.after.filter(|after| *after >= config.timeout) {
            return Err(format!(
                "backends.{name}.hedge_after_ms ({}) must be below backends.{name}.timeout_ms \
                 ({}): a hedge is sent while the first attempt may still answer",
                after.as_millis(),
                config.timeout.as_millis()
            ));
        }
        Ok(config)
    }

    fn hedge_config(&self, name: &str) -> Result<HedgeConfig, String> {
        let enabled = self.hedge.unwrap_or(false);
        match self.hedge_after_ms {
            Some(_) if !enabled => Err(format!(
                "backends.{name}.hedge_after_ms is set but backends.{name}.hedge is not true"
            )),
            Some(0) => Err(format!(
                "backends.{name}.hedge_after_ms must be at least 1: hedging at once doubles \
                 every call"
            )),
            after => Ok(HedgeConfig {
                enabled,
                after: after.map(Duration::from_millis),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
