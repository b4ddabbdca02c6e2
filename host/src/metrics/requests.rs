//! What the device request path records. Every handle is made before the first request: a
//! version's [`VersionSeries`] (one [`RouteSeries`] per route, plus one for requests that
//! matched none) when the version is built, so a request looks up no label. It only marks
//! how far it got in a [`RequestTally`], and at its end adds one to its status class and
//! observes its latency: three relaxed atomic adds.

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Duration,
};

use hyper::StatusCode;
use tokio::time::Instant;

use super::histogram::{LatencyHistogram, REQUEST_BOUNDS_NS};

/// The `route` label of requests that reached a version but matched none of its routes
/// (404, 405). Never a route's own label: those are `METHOD /pattern`, with a space.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Status classes by `status / 100 - 1`: only final statuses are ever answered.
pub const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The counters of one version's routes. Allocated once per version and never freed
/// (`&'static`), like its `VersionHealth` and its library: a request holds it past the
/// version's own reference without counting references. The scrape reads only versions in
/// the routing table, so a retired version's series disappear with it.
pub struct VersionSeries {
    routes: Box<[RouteSeries]>,
    unmatched: RouteSeries,
}

/// Requests of one route: by status class, and their latency.
pub struct RouteSeries {
    /// `METHOD /pattern` as the manifest declares it, or [`UNMATCHED_ROUTE`].
    label: String,
    status_classes: [AtomicU64; STATUS_CLASSES.len()],
    latency: LatencyHistogram,
}

impl VersionSeries {
    /// The series of a version whose routes are labelled `routes` (by route index), leaked
    /// on purpose (see the type's documentation).
    pub fn leak(routes: Vec<String>) -> &'static Self {
        Box::leak(Box::new(Self {
            routes: routes.into_iter().map(RouteSeries::new).collect(),
            unmatched: RouteSeries::new(UNMATCHED_ROUTE.to_owned()),
        }))
    }

    /// The series of route `index`; out of range (never, for an index the router gave)
    /// counts as unmatched rather than panicking on the request path.
    #[inline]
    pub fn route(&self, index: u32) -> &RouteSeries {
        self.routes.get(index as usize).unwrap_or(&self.unmatched)
    }

    /// Every route's series, then the unmatched one.
    pub fn all(&self) -> impl Iterator<Item = &RouteSeries> {
        self.routes.iter().chain(std::iter::once(&self.unmatched))
    }
}

impl RouteSeries {
    fn new(label: String) -> Self {
        Self {
            label,
            status_classes: Default::default(),
            latency: LatencyHistogram::new(&REQUEST_BOUNDS_NS),
        }
    }

    /// One request answered with `status` after `elapsed`.
    #[inline]
    pub fn record(&self, status: StatusCode, elapsed: Duration) {
        let class = usize::from(status.as_u16() / 100).saturating_sub(1);
        if let Some(counter) = self.status_classes.get(class) {
            counter.fetch_add(1, Relaxed);
        }
        self.latency.observe(elapsed);
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// `(status class, requests)` for every class seen at least once.
    pub fn status_counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        STATUS_CLASSES
            .iter()
            .zip(&self.status_classes)
            .map(|(class, counter)| (*class, counter.load(Relaxed)))
            .filter(|(_, count)| *count > 0)
    }

    pub fn latency(&self) -> &LatencyHistogram {
        &self.latency
    }
}

/// Why the host answered a request before choosing a version (no adapter or version label:
/// both would be whatever a client typed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnroutedReason {
    /// `x-frontdoor-version` is not a semver requirement (400).
    BadVersionHeader,
    /// No adapter serves the path's first segment (404).
    NoAdapter,
    /// The adapter has no loaded version matching the requirement (404).
    NoMatchingVersion,
    /// Every version that could serve it is quarantined (503).
    Quarantined,
}

impl UnroutedReason {
    pub const ALL: [Self; 4] = [
        Self::BadVersionHeader,
        Self::NoAdapter,
        Self::NoMatchingVersion,
        Self::Quarantined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadVersionHeader => "bad_version_header",
            Self::NoAdapter => "no_adapter",
            Self::NoMatchingVersion => "no_matching_version",
            Self::Quarantined => "quarantined",
        }
    }
}

/// Requests answered before a version was chosen, by reason (one host's).
#[derive(Default)]
pub struct UnroutedCounters([AtomicU64; UnroutedReason::ALL.len()]);

impl UnroutedCounters {
    fn count(&self, reason: UnroutedReason) {
        self.0[reason as usize].fetch_add(1, Relaxed);
    }

    pub fn get(&self, reason: UnroutedReason) -> u64 {
        self.0[reason as usize].load(Relaxed)
    }
}

/// How far one request got, marked by the dispatcher as it goes: a clock reading and a
/// pointer, on the stack, nothing shared until [`RequestTally::finish`]. The reading is
/// tokio's (the real clock outside paused tests), so the dispatcher takes the request's
/// deadline from it too: one clock read at each end of a request, not two at the start.
pub struct RequestTally {
    started: Instant,
    stage: Stage,
}

enum Stage {
    /// Nothing chosen yet: a bad version header or an unknown adapter stops it here.
    Received,
    /// The adapter exists: no matching (or no healthy) version stops it here.
    AdapterFound,
    /// A version took it; no route matched (yet).
    Version(&'static VersionSeries),
    Route(&'static RouteSeries),
}

impl RequestTally {
    /// Starts timing a request.
    #[inline]
    pub fn start() -> Self {
        Self::starting_at(Instant::now())
    }

    /// Times a request that arrived at `started` (the clock is read once per request, by
    /// whoever sees it first).
    #[inline]
    pub fn starting_at(started: Instant) -> Self {
        Self {
            started,
            stage: Stage::Received,
        }
    }

    /// When the request arrived.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The path names a routed adapter.
    #[inline]
    pub fn adapter_found(&mut self) {
        self.stage = Stage::AdapterFound;
    }

    /// A version of it takes the request.
    #[inline]
    pub fn version_chosen(&mut self, series: &'static VersionSeries) {
        self.stage = Stage::Version(series);
    }

    /// Route `index` of the chosen version matched.
    #[inline]
    pub fn route_matched(&mut self, index: u32) {
        if let Stage::Version(series) = self.stage {
            self.stage = Stage::Route(series.route(index));
        }
    }

    /// Counts the request, answered with `status` `elapsed` after it started (read once by
    /// the caller, who shares it with the canary's judge): against its route, its version's
    /// unmatched series, or (before a version was chosen) the reason read from where it
    /// stopped and its status.
    #[inline]
    pub fn finish(self, status: StatusCode, elapsed: Duration, unrouted: &UnroutedCounters) {
        match self.stage {
            Stage::Route(route) => route.record(status, elapsed),
            Stage::Version(series) => series.unmatched.record(status, elapsed),
            Stage::AdapterFound if status == StatusCode::SERVICE_UNAVAILABLE => {
                unrouted.count(UnroutedReason::Quarantined);
            }
            Stage::AdapterFound => unrouted.count(UnroutedReason::NoMatchingVersion),
            Stage::Received if status == StatusCode::BAD_REQUEST => {
                unrouted.count(UnroutedReason::BadVersionHeader);
            }
            Stage::Received => unrouted.count(UnroutedReason::NoAdapter),
        }
    }
}

#[cfg(test)]
mod tests;
