//! Per-service request counters: totals, concurrency and a count per path.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use serde::{Deserialize, Serialize};

/// What a service has seen since it started or its stats were last reset.
///
/// `/health` is never counted; every other request is, when it arrives, whether it is then
/// answered, failed or hung.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests received.
    pub requests: u64,
    /// Requests received and not yet answered (hung ones included).
    pub in_flight: u64,
    /// The most requests in flight at once; a reset lowers it to the current `in_flight`.
    pub max_in_flight: u64,
    /// Requests per `"METHOD /path"`, query string left out: `"GET /titles/80000001"`.
    pub by_path: BTreeMap<String, u64>,
}

/// The key that counts requests once [`MAX_PATHS`] distinct paths are known.
pub const OTHER_PATHS: &str = "other paths";

/// How many distinct paths are counted one by one, so junk paths cannot grow the map forever.
pub const MAX_PATHS: usize = 10_000;

/// The live counters of one service.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    stats: Mutex<Stats>,
}

/// One request in flight; dropping it (answered, failed, or abandoned) ends it.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Recorder>);

impl Recorder {
    /// Counts an arriving request under `key` (`"GET /ping"`).
    pub(crate) fn begin(self: &Arc<Self>, key: String) -> InFlight {
        let mut stats = self.lock();
        stats.requests += 1;
        stats.in_flight += 1;
        stats.max_in_flight = stats.max_in_flight.max(stats.in_flight);
        let key = if stats.by_path.len() < MAX_PATHS || stats.by_path.contains_key(&key) {
            key
        } else {
            OTHER_PATHS.to_owned()
        };
        *stats.by_path.entry(key).or_default() += 1;
        InFlight(self.clone())
    }

    pub(crate) fn snapshot(&self) -> Stats {
        self.lock().clone()
    }

    /// Zeroes the counts; requests still in flight stay counted as in flight.
    pub(crate) fn reset(&self) {
        let mut stats = self.lock();
        let in_flight = stats.in_flight;
        *stats = Stats {
            in_flight,
            max_in_flight: in_flight,
            ..Stats::default()
        };
    }

    fn lock(&self) -> MutexGuard<'_, Stats> {
        // Nothing panics while the lock is held; a poisoned value is still consistent.
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut stats = self.0.lock();
        stats.in_flight = stats.in_flight.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests;
