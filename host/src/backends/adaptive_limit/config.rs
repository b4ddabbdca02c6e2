//! `concurrency` and `[backends.NAME.adaptive]`: which limit a backend's calls get, read from
//! the file and checked with errors that name the key.

use serde::Deserialize;

/// How a backend's calls in flight are limited.
#[derive(Debug, Clone, PartialEq)]
pub enum Concurrency {
    /// The bulkhead alone: `max_concurrent` calls in flight.
    Fixed,
    /// An adaptive limit under the bulkhead, which stays the hard cap.
    Adaptive(AdaptiveConfig),
}

/// The adaptive limit's settings (a Gradient2-style limit; see `adaptive_limit.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveConfig {
    /// The floor: a hung backend still gets this many calls at once, which find out when it
    /// recovers.
    pub min_limit: usize,
    /// The ceiling; `None` is the backend's `max_concurrent`.
    pub max_limit: Option<usize>,
    /// The limit at start; `None` is the ceiling, so a healthy backend is never refused
    /// a call the fixed bulkhead would have let through.
    pub initial_limit: Option<usize>,
    /// How far each answer moves the limit toward its new estimate (0 to 1).
    pub smoothing: f64,
    /// Recent latency may be this many times the no-load latency before the limit shrinks.
    pub rtt_tolerance: f64,
    /// Calls allowed beyond the estimate, so the limit keeps probing for more room.
    pub queue_size: usize,
    /// Answers averaged into the no-load latency.
    pub long_window: u32,
    /// Answers averaged into the recent latency.
    pub short_window: u32,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        Self {
            min_limit: 2,
            max_limit: None,
            initial_limit: None,
            smoothing: 0.2,
            rtt_tolerance: 1.5,
            queue_size: 4,
            long_window: 600,
            short_window: 10,
        }
    }
}

impl AdaptiveConfig {
    /// The ceiling in force under a bulkhead of `max_concurrent`.
    pub fn max_limit(&self, max_concurrent: usize) -> usize {
        self.max_limit.unwrap_or(max_concurrent)
    }

    /// The limit at start under a bulkhead of `max_concurrent`.
    pub fn initial_limit(&self, max_concurrent: usize) -> usize {
        self.initial_limit
            .unwrap_or_else(|| self.max_limit(max_concurrent))
    }

    /// Checks the settings against each other and the bulkhead; `Err` names the key, as
    /// `{prefix}.KEY` (`backends.catalog.adaptive.min_limit`).
    pub fn validate(&self, prefix: &str, max_concurrent: usize) -> Result<(), String> {
        let max_limit = self.max_limit(max_concurrent);
        let initial_limit = self.initial_limit(max_concurrent);
        if self.min_limit == 0 {
            return Err(format!("{prefix}.min_limit must be at least 1"));
        }
        if max_limit > max_concurrent {
            return Err(format!(
                "{prefix}.max_limit ({max_limit}) must not exceed max_concurrent ({max_concurrent}): the bulkhead stays the hard cap"
            ));
        }
        if max_limit < self.min_limit {
            return Err(format!(
                "{prefix}.max_limit ({max_limit}) must be at least min_limit ({})",
                self.min_limit
            ));
        }
        if !(self.min_limit..=max_limit).contains(&initial_limit) {
            return Err(format!(
                "{prefix}.initial_limit ({initial_limit}) must be from min_limit ({}) to max_limit ({max_limit})",
                self.min_limit
            ));
        }
        if !(self.smoothing > 0.0 && self.smoothing <= 1.0) {
            return Err(format!(
                "{prefix}.smoothing must be more than 0 and at most 1, got {}",
                self.smoothing
            ));
        }
        if !(self.rtt_tolerance >= 1.0 && self.rtt_tolerance.is_finite()) {
            return Err(format!(
                "{prefix}.rtt_tolerance must be a number of at least 1, got {}",
                self.rtt_tolerance
            ));
        }
        if self.queue_size == 0 {
            return Err(format!(
                "{prefix}.queue_size must be at least 1, or the limit could never grow"
            ));
        }
        if self.short_window == 0 || self.long_window < self.short_window {
            return Err(format!(
                "{prefix}.short_window ({}) must be at least 1 and at most long_window ({})",
                self.short_window, self.long_window
            ));
        }
        Ok(())
    }
}

/// `[backends.NAME.adaptive]` in `frontdoor.toml`; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptiveFileConfig {
    pub min_limit: Option<usize>,
    pub max_limit: Option<usize>,
    pub initial_limit: Option<usize>,
    pub smoothing: Option<f64>,
    pub rtt_tolerance: Option<f64>,
    pub queue_size: Option<usize>,
    pub long_window: Option<u32>,
    pub short_window: Option<u32>,
}

/// `concurrency = "fixed" | "adaptive"` and the `adaptive` table of backend `name`, checked
/// against its `max_concurrent`.
pub fn resolve(
    name: &str,
    mode: Option<&str>,
    adaptive: Option<AdaptiveFileConfig>,
    max_concurrent: usize,
) -> Result<Concurrency, String> {
    let prefix = format!("backends.{name}");
    match mode.unwrap_or("fixed") {
        "fixed" if adaptive.is_some() => Err(format!(
            "{prefix}.adaptive is set but {prefix}.concurrency is \"fixed\": set concurrency = \"adaptive\" to use it"
        )),
        "fixed" => Ok(Concurrency::Fixed),
        "adaptive" => {
            let file = adaptive.unwrap_or_default();
            let defaults = AdaptiveConfig::default();
            let config = AdaptiveConfig {
                // The default floor fits under a smaller ceiling (a bulkhead of 1).
                min_limit: file.min_limit.unwrap_or_else(|| {
                    defaults
                        .min_limit
                        .min(file.max_limit.unwrap_or(max_concurrent))
                        .max(1)
                }),
                max_limit: file.max_limit,
                initial_limit: file.initial_limit,
                smoothing: file.smoothing.unwrap_or(defaults.smoothing),
                rtt_tolerance: file.rtt_tolerance.unwrap_or(defaults.rtt_tolerance),
                queue_size: file.queue_size.unwrap_or(defaults.queue_size),
                long_window: file.long_window.unwrap_or(defaults.long_window),
                short_window: file.short_window.unwrap_or(defaults.short_window),
            };
            config.validate(&format!("{prefix}.adaptive"), max_concurrent)?;
            Ok(Concurrency::Adaptive(config))
        }
        other => Err(format!(
            "{prefix}.concurrency must be \"fixed\" or \"adaptive\", got {other:?}"
        )),
    }
}
