//! The `[recycle]` table: how long a successor may take to become ready, how long the old
//! process drains, and when the host recycles on its own.

use std::time::Duration;

use serde::Deserialize;

/// How recycles run.
#[derive(Debug, Clone, PartialEq)]
pub struct RecycleConfig {
    /// How long in-flight requests of the old process get once it handed over; `None`: the
    /// host's `shutdown_grace`.
    pub grace: Option<Duration>,
    /// The successor must load the plugins directory, warm up and report ready within this,
    /// or it is killed and the old process keeps serving.
    pub ready_timeout: Duration,
    /// Recycle on its own once retired versions' artifacts add up to this many bytes.
    pub auto_retired_bytes: Option<u64>,
    /// Recycle on its own once this many libraries are mapped.
    pub auto_mapped_libraries: Option<usize>,
    /// How often the automatic thresholds are checked.
    pub auto_check: Duration,
    /// After a failed automatic recycle, the next automatic one waits at least this long
    /// (a successor that cannot start would otherwise be spawned at every check).
    pub auto_retry: Duration,
}

impl Default for RecycleConfig {
    fn default() -> Self {
        Self {
            grace: None,
            ready_timeout: Duration::from_secs(60),
            auto_retired_bytes: None,
            auto_mapped_libraries: None,
            auto_check: Duration::from_secs(10),
            auto_retry: Duration::from_secs(300),
        }
    }
}

impl RecycleConfig {
    /// Whether either automatic threshold is set.
    pub fn auto(&self) -> bool {
        self.auto_retired_bytes.is_some() || self.auto_mapped_libraries.is_some()
    }
}

/// `[recycle]` as written in `frontdoor.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecycleFileConfig {
    grace_secs: Option<u64>,
    ready_timeout_secs: Option<u64>,
    auto_retired_bytes: Option<u64>,
    auto_mapped_libraries: Option<usize>,
    auto_check_secs: Option<u64>,
    auto_retry_secs: Option<u64>,
}

impl RecycleFileConfig {
    pub fn resolve(self) -> Result<RecycleConfig, String> {
        let defaults = RecycleConfig::default();
        let positive = |key: &str, value: Option<u64>, default: Duration| match value {
            Some(0) => Err(format!("recycle.{key} must be more than 0")),
            Some(secs) => Ok(Duration::from_secs(secs)),
            None => Ok(default),
        };
        Ok(RecycleConfig {
            grace: self.grace_secs.map(Duration::from_secs),
            ready_timeout: positive(
                "ready_timeout_secs",
                self.ready_timeout_secs,
                defaults.ready_timeout,
            )?,
            // 0 reads as "never", as the other per-count limits of the file do.
            auto_retired_bytes: self.auto_retired_bytes.filter(|&bytes| bytes > 0),
            auto_mapped_libraries: self.auto_mapped_libraries.filter(|&count| count > 0),
            auto_check: positive("auto_check_secs", self.auto_check_secs, defaults.auto_check)?,
            auto_retry: positive("auto_retry_secs", self.auto_retry_secs, defaults.auto_retry)?,
        })
    }
}
