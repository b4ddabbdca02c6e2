//! Prometheus metrics (`GET /metrics` on the admin listener).
//!
//! Two halves. Recording is the host's own atomics, written where things happen: a device
//! request marks a [`RequestTally`] as the dispatcher chooses its version and route and
//! ends with three relaxed atomic adds into handles its version built once
//! ([`VersionSeries`]); the deployer observes each reload. Exposition
//! ([`Exposition`]) is prometheus-client's encoder driven by collectors, one per area, that
//! read those atomics and the host's existing counters (backends, health, listeners) at
//! scrape time.

mod backend_calls;
mod device_requests;
mod encode;
mod exposition;
mod histogram;
mod listeners;
mod recycles;
mod requests;
mod versions;

use std::time::Duration;

use hyper::StatusCode;

pub use exposition::{Exposition, OPENMETRICS};
pub use histogram::{HistogramSnapshot, LatencyHistogram, RELOAD_BOUNDS_NS, REQUEST_BOUNDS_NS};
pub use requests::{
    RequestTally, RouteSeries, STATUS_CLASSES, UNMATCHED_ROUTE, UnroutedCounters, UnroutedReason,
    VersionSeries,
};

/// One host's own metrics: what is counted per host rather than per version.
pub struct HostMetrics {
    unrouted: UnroutedCounters,
    reloads: LatencyHistogram,
    /// Recycles this process started, by outcome (the recycler counts them).
    pub recycles: std::sync::Arc<crate::recycle::RecycleCounters>,
}

impl Default for HostMetrics {
    fn default() -> Self {
        Self {
            unrouted: UnroutedCounters::default(),
            reloads: LatencyHistogram::new(&RELOAD_BOUNDS_NS),
            recycles: std::sync::Arc::default(),
        }
    }
}

impl HostMetrics {
    /// Counts a device request, answered with `status` (the dispatcher's one call).
    #[inline]
    pub fn record_request(&self, tally: RequestTally, status: StatusCode, elapsed: Duration) {
        tally.finish(status, elapsed, &self.unrouted);
    }

    /// The deployer brought one changed file in line in `elapsed`.
    pub fn observe_reload(&self, elapsed: Duration) {
        self.reloads.observe(elapsed);
    }

    pub fn unrouted(&self) -> &UnroutedCounters {
        &self.unrouted
    }
}
