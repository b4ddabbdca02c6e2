//! The containment settings: `[containment]` in `frontdoor.toml`.

use std::{collections::BTreeMap, time::Duration};

use serde::Deserialize;

/// How the host bounds and judges what plugin versions do.
#[derive(Debug, Clone)]
pub struct ContainmentConfig {
    /// How long a handler may run; `None` means the request deadline plus
    /// [`ContainmentConfig::HANDLER_GRACE`].
    pub handler_timeout: Option<Duration>,
    /// A single poll of plugin code holding a worker thread longer than this is a blocked
    /// poll (seen by the watchdog, counted toward quarantine).
    pub max_poll: Duration,
    pub quarantine: QuarantineConfig,
    /// Soft heap limit of one plugin version, in bytes.
    pub memory_limit_bytes: u64,
    /// Per-plugin overrides of `memory_limit_bytes`, by plugin name.
    pub memory_limits: BTreeMap<String, u64>,
    /// How often each loaded copy's heap and contained panics are sampled.
    pub sample_every: Duration,
    /// Libraries mapped into the process (loaded, retired and refused after `dlopen`)
    /// beyond which new loads are refused: each costs memory and thread-local keys for the
    /// life of the process.
    pub max_mapped_libraries: usize,
    /// How long a new version's warm-up may take before the version is left `failed`.
    pub warmup_timeout: Duration,
    /// How long a new version's init hook may take before the version is left `failed`.
    pub init_timeout: Duration,
}

/// When a version is taken out of traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineConfig {
    /// The sliding window failures are counted over.
    pub window: Duration,
    /// Panics in the window that quarantine a version (0 disables)...
    pub panics: u32,
    /// ...timeouts in the window (0 disables)...
    pub timeouts: u32,
    /// ...or blocked polls in the window (0 disables).
    pub blocked_polls: u32,
    /// Panics and timeouts must also be at least this share of the version's requests in
    /// the window, so a busy version is not quarantined for rare failures (0 disables).
    pub min_failure_ratio: f64,
}

impl ContainmentConfig {
    /// Added to the request deadline for the default handler budget: a handler whose
    /// backend calls were all cut by the deadline still gets time to answer with fallbacks.
    pub const HANDLER_GRACE: Duration = Duration::from_secs(1);

    /// The handler budget for a host whose request deadline is `deadline`.
    pub fn handler_timeout(&self, deadline: Duration) -> Duration {
        self.handler_timeout
            .unwrap_or_else(|| deadline.saturating_add(Self::HANDLER_GRACE))
    }

    /// The soft heap limit of plugin `name`.
    pub fn memory_limit(&self, name: &str) -> u64 {
        self.memory_limits
            .get(name)
            .copied()
            .unwrap_or(self.memory_limit_bytes)
    }
}

impl Default for ContainmentConfig {
    fn default() -> Self {
        Self {
            handler_timeout: None,
            max_poll: Duration::from_millis(250),
            quarantine: QuarantineConfig::default(),
            memory_limit_bytes: 512 * 1024 * 1024,
            memory_limits: BTreeMap::new(),
            sample_every: Duration::from_secs(1),
            max_mapped_libraries: 256,
            warmup_timeout: Duration::from_secs(5),
            init_timeout: Duration::from_secs(5),
        }
    }
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            panics: 20,
            timeouts: 20,
            blocked_polls: 3,
            min_failure_ratio: 0.5,
        }
    }
}

/// `[containment]` as written in `frontdoor.toml`; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainmentFileConfig {
    handler_timeout_ms: Option<u64>,
    max_poll_ms: Option<u64>,
    memory_limit_bytes: Option<u64>,
    #[serde(default)]
    memory_limits: BTreeMap<String, u64>,
    sample_ms: Option<u64>,
    max_mapped_libraries: Option<usize>,
    warmup_timeout_ms: Option<u64>,
    init_timeout_ms: Option<u64>,
    #[serde(default)]
    quarantine: QuarantineFileConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuarantineFileConfig {
    window_secs: Option<u64>,
    panics: Option<u32>,
    timeouts: Option<u32>,
    blocked_polls: Option<u32>,
    min_failure_ratio: Option<f64>,
}

impl ContainmentFileConfig {
    /// Applies the keys that are set over the defaults.
    pub fn resolve(self) -> Result<ContainmentConfig, String> {
        let defaults = ContainmentConfig::default();
        let quarantine_defaults = defaults.quarantine.clone();
        let file = self.quarantine;
        let ratio = file
            .min_failure_ratio
            .unwrap_or(quarantine_defaults.min_failure_ratio);
        if !(0.0..=1.0).contains(&ratio) {
            return Err(format!(
                "containment.quarantine.min_failure_ratio = {ratio} must be between 0 and 1"
            ));
        }
        let positive = |key: &str, ms: Option<u64>| match ms {
            Some(0) => Err(format!("containment.{key} must be more than 0")),
            other => Ok(other.map(Duration::from_millis)),
        };
        Ok(ContainmentConfig {
            handler_timeout: positive("handler_timeout_ms", self.handler_timeout_ms)?,
            max_poll: positive("max_poll_ms", self.max_poll_ms)?.unwrap_or(defaults.max_poll),
            memory_limit_bytes: self
                .memory_limit_bytes
                .unwrap_or(defaults.memory_limit_bytes),
            memory_limits: self.memory_limits,
            sample_every: positive("sample_ms", self.sample_ms)?.unwrap_or(defaults.sample_every),
            max_mapped_libraries: self
                .max_mapped_libraries
                .unwrap_or(defaults.max_mapped_libraries),
            warmup_timeout: positive("warmup_timeout_ms", self.warmup_timeout_ms)?
                .unwrap_or(defaults.warmup_timeout),
            init_timeout: positive("init_timeout_ms", self.init_timeout_ms)?
                .unwrap_or(defaults.init_timeout),
            quarantine: QuarantineConfig {
                window: match file.window_secs {
                    Some(0) => {
                        return Err("containment.quarantine.window_secs must be more than 0".into());
                    }
                    Some(secs) => Duration::from_secs(secs),
                    None => quarantine_defaults.window,
                },
                panics: file.panics.unwrap_or(quarantine_defaults.panics),
                timeouts: file.timeouts.unwrap_or(quarantine_defaults.timeouts),
                blocked_polls: file
                    .blocked_polls
                    .unwrap_or(quarantine_defaults.blocked_polls),
                min_failure_ratio: ratio,
            },
        })
    }
}
