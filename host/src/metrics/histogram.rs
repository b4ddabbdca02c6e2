//! A lock-free latency histogram: fixed bucket bounds, and per observation one relaxed
//! atomic add to its bucket and one to the sum. prometheus-client's own `Histogram` takes a
//! lock per observation; this one is read at scrape time and encoded through the crate's
//! encoder instead (`encode.rs`).

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Duration,
};

const MICROSECOND: u64 = 1_000;
const MILLISECOND: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;

/// Upper bounds of a device request's latency buckets, in nanoseconds: from the static
/// baseline's tens of microseconds to a deadline's seconds.
pub const REQUEST_BOUNDS_NS: [u64; 16] = [
    100 * MICROSECOND,
    250 * MICROSECOND,
    500 * MICROSECOND,
    MILLISECOND,
    2_500 * MICROSECOND,
    5 * MILLISECOND,
    10 * MILLISECOND,
    25 * MILLISECOND,
    50 * MILLISECOND,
    100 * MILLISECOND,
    250 * MILLISECOND,
    500 * MILLISECOND,
    SECOND,
    2_500 * MILLISECOND,
    5 * SECOND,
    10 * SECOND,
];

/// Upper bounds of a reload's buckets, in nanoseconds: a load with its probe takes
/// milliseconds, a large artifact seconds.
pub const RELOAD_BOUNDS_NS: [u64; 14] = [
    MILLISECOND,
    2_500 * MICROSECOND,
    5 * MILLISECOND,
    10 * MILLISECOND,
    25 * MILLISECOND,
    50 * MILLISECOND,
    100 * MILLISECOND,
    250 * MILLISECOND,
    500 * MILLISECOND,
    SECOND,
    2_500 * MILLISECOND,
    5 * SECOND,
    10 * SECOND,
    30 * SECOND,
];

/// Counts of observations per bucket and their sum, written with relaxed atomics only.
pub struct LatencyHistogram {
    /// Ascending upper bounds (inclusive, Prometheus' `le`), in nanoseconds.
    bounds_ns: &'static [u64],
    /// One count per bound, then the open-ended bucket: not cumulative (the encoder adds
    /// them up), so an observation touches one counter.
    buckets: Box<[AtomicU64]>,
    sum_ns: AtomicU64,
}

/// A reading of a histogram, in seconds, as the encoder takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound in seconds, observations in this bucket alone)`, the last bound +Inf.
    pub buckets: Vec<(f64, u64)>,
    /// The sum of the bucket counts, so `_count` always equals the `+Inf` bucket.
    pub count: u64,
    pub sum_seconds: f64,
}

impl LatencyHistogram {
    /// An empty histogram over `bounds_ns` (ascending).
    pub fn new(bounds_ns: &'static [u64]) -> Self {
        debug_assert!(bounds_ns.windows(2).all(|pair| pair[0] < pair[1]));
        Self {
            bounds_ns,
            buckets: (0..=bounds_ns.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
        }
    }

    /// Records one observation: two relaxed atomic adds, no lock, no allocation.
    #[inline]
    pub fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        // The first bound at or above the value: `le` semantics. At most `bounds.len()`, the
        // open-ended bucket, which exists.
        let index = self.bounds_ns.partition_point(|&bound| bound < nanos);
        if let Some(bucket) = self.buckets.get(index) {
            bucket.fetch_add(1, Relaxed);
        }
        self.sum_ns.fetch_add(nanos, Relaxed);
    }

    /// The counts now. Each counter is exact; they are not read as one atomic snapshot, so
    /// a scrape racing an observation may see its bucket without its sum (or the reverse).
    pub fn snapshot(&self) -> HistogramSnapshot {
        let bounds = self
            .bounds_ns
            .iter()
            .map(|&ns| ns as f64 / SECOND as f64)
            .chain(std::iter::once(f64::INFINITY));
        let buckets: Vec<(f64, u64)> = bounds
            .zip(self.buckets.iter().map(|bucket| bucket.load(Relaxed)))
            .collect();
        HistogramSnapshot {
            count: buckets.iter().map(|(_, count)| count).sum(),
            buckets,
            sum_seconds: self.sum_ns.load(Relaxed) as f64 / SECOND as f64,
        }
    }

    /// True until the first observation (the scrape leaves out routes never requested).
    pub fn is_empty(&self) -> bool {
        self.buckets.iter().all(|bucket| bucket.load(Relaxed) == 0)
    }
}

impl HistogramSnapshot {
    /// A histogram read from counts kept elsewhere: per-bucket counts against upper bounds
    /// in milliseconds (the last count open-ended) and a sum in microseconds, the shape
    /// `/admin/backends` keeps.
    pub fn from_millis(bounds_ms: &[u64], counts: &[u64], sum_us: u64) -> Self {
        let bounds = bounds_ms
            .iter()
            .map(|&ms| ms as f64 / 1_000.0)
            .chain(std::iter::once(f64::INFINITY));
        let buckets: Vec<(f64, u64)> = bounds.zip(counts.iter().copied()).collect();
        Self {
            count: buckets.iter().map(|(_, count)| count).sum(),
            buckets,
            sum_seconds: sum_us as f64 / 1_000_000.0,
        }
    }
}

#[cfg(test)]
mod tests;
