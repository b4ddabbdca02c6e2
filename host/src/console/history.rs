//! A small time series per routed version, for the console's numbers and charts: every
//! [`SAMPLE_EVERY`] the sampler reads each version's request counters and latency
//! histograms (the same atomics `/metrics` reads) and keeps, per version, the last
//! [`POINTS_KEPT`] intervals: requests/s, 5xx rate, p50 and p99. Bounded twice: points per
//! version, and versions (only those in the routing table at the last sample are kept).

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::sync::watch;

use crate::registry::{PluginVersion, Registry};

/// How often the sampler reads the counters.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// Intervals kept per version: ten minutes at [`SAMPLE_EVERY`].
pub const POINTS_KEPT: usize = 120;

/// One interval of one version.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// When the interval ended.
    pub at_unix_ms: u64,
    pub requests_per_s: f64,
    /// 5xx answers over answers; `None` without requests.
    pub error_rate: Option<f64>,
    /// Upper bounds of the latency buckets holding the median and the 99th percentile, in
    /// milliseconds; `None` without requests.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Counters of one version at one sample, summed over its routes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub requests: u64,
    pub errors: u64,
    /// `(upper bound in seconds, observations in this bucket alone)`, the last +Inf.
    pub buckets: Vec<(f64, u64)>,
}

/// The series of every routed version, by `name@version`.
#[derive(Default)]
pub struct History {
    tracks: Mutex<BTreeMap<String, Track>>,
}

#[derive(Default)]
struct Track {
    last: Option<(Totals, SystemTime)>,
    points: VecDeque<Point>,
}

impl History {
    /// Samples every [`SAMPLE_EVERY`] until `shutdown` carries the host's grace period (or
    /// its sender is gone).
    pub async fn run(
        self: Arc<Self>,
        registry: Arc<Registry>,
        mut shutdown: watch::Receiver<Option<std::time::Duration>>,
    ) {
        let mut ticks = tokio::time::interval(SAMPLE_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticks.tick() => self.sample(&registry),
                changed = shutdown.changed() => {
                    if changed.is_err() || shutdown.borrow().is_some() {
                        return;
                    }
                }
            }
        }
    }

    /// Reads every routed version's counters now.
    pub fn sample(&self, registry: &Registry) {
        let table = registry.table();
        let now = SystemTime::now();
        let readings: Vec<(String, Totals)> = table
            .adapters()
            .flat_map(|adapter| adapter.versions.iter())
            .map(|routed| (label(&routed.version), totals(&routed.version)))
            .collect();
        self.record(readings, now);
    }

    /// Adds one sample of `readings` taken at `now`; versions not among them are dropped.
    pub fn record(&self, readings: Vec<(String, Totals)>, now: SystemTime) {
        let mut tracks = self.lock();
        tracks.retain(|label, _| readings.iter().any(|(seen, _)| seen == label));
        for (label, totals) in readings {
            let track = tracks.entry(label).or_default();
            if let Some((before, then)) = &track.last {
                let seconds = now.duration_since(*then).unwrap_or_default().as_secs_f64();
                if seconds > 0.0 {
                    if track.points.len() == POINTS_KEPT {
                        track.points.pop_front();
                    }
                    track.points.push_back(point(before, &totals, seconds, now));
                }
            }
            track.last = Some((totals, now));
        }
    }

    /// The points of `name@version`, oldest first.
    pub fn points(&self, label: &str) -> Vec<Point> {
        self.lock()
            .get(label)
            .map(|track| track.points.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The last point of `name@version`.
    pub fn latest(&self, label: &str) -> Option<Point> {
        self.lock()
            .get(label)
            .and_then(|track| track.points.back().cloned())
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Track>> {
        // Plain numbers: a panic elsewhere while holding it leaves them usable.
        self.tracks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `name@version`.
pub fn label(version: &PluginVersion) -> String {
    format!("{}@{}", version.identity.name, version.identity.version)
}

/// A version's counters summed over its routes (and the unmatched series).
fn totals(version: &PluginVersion) -> Totals {
    let mut sum = Totals::default();
    for route in version.series.all() {
        for (class, count) in route.status_counts() {
            sum.requests += count;
            if class == "5xx" {
                sum.errors += count;
            }
        }
        let snapshot = route.latency().snapshot();
        if sum.buckets.is_empty() {
            sum.buckets = snapshot.buckets;
        } else {
            for (total, (_, count)) in sum.buckets.iter_mut().zip(snapshot.buckets) {
                total.1 += count;
            }
        }
    }
    sum
}

/// The interval between two samples `seconds` apart.
fn point(before: &Totals, after: &Totals, seconds: f64, now: SystemTime) -> Point {
    let requests = after.requests.saturating_sub(before.requests);
    let errors = after.errors.saturating_sub(before.errors);
    let buckets: Vec<(f64, u64)> = after
        .buckets
        .iter()
        .enumerate()
        .map(|(index, &(bound, count))| {
            let earlier = before.buckets.get(index).map_or(0, |&(_, count)| count);
            (bound, count.saturating_sub(earlier))
        })
        .collect();
    Point {
        at_unix_ms: now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64),
        requests_per_s: requests as f64 / seconds,
        error_rate: (requests > 0).then(|| errors as f64 / requests as f64),
        p50_ms: quantile_ms(&buckets, 0.5),
        p99_ms: quantile_ms(&buckets, 0.99),
    }
}

/// The upper bound, in milliseconds, of the bucket holding quantile `q` of `buckets`
/// (per-bucket counts); the open-ended bucket reports the last finite bound. `None` when
/// the buckets are empty.
pub fn quantile_ms(buckets: &[(f64, u64)], q: f64) -> Option<f64> {
    let total: u64 = buckets.iter().map(|(_, count)| count).sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    let mut last_finite = 0.0;
    for &(bound, count) in buckets {
        if bound.is_finite() {
            last_finite = bound;
        }
        seen += count;
        if seen >= rank {
            return Some(last_finite * 1000.0);
        }
    }
    Some(last_finite * 1000.0)
}

#[cfg(test)]
mod tests;
