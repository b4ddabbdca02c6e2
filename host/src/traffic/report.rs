//! What a shadow found: how many requests were mirrored, skipped, timed out, compared and
//! matched, the latency of both sides, and a bounded set of sample diffs.
//!
//! Written only by shadow tasks, after the device has its answer: the short mutexes here
//! are never taken on the request path.

use std::{
    collections::VecDeque,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::Serialize;

use super::{
    compare::{Comparison, Difference},
    sticky,
};

/// Latency samples kept per side.
const LATENCY_SAMPLES: usize = 1024;

/// The running report of one shadow.
pub struct ShadowReport {
    /// Requests the split chose to mirror.
    chosen: AtomicU64,
    /// Skipped because `shadow_max_concurrent` shadow calls were already running.
    skipped_busy: AtomicU64,
    /// Shadow calls that outlived `shadow_timeout_ms` and were dropped.
    timed_out: AtomicU64,
    compared: AtomicU64,
    matched: AtomicU64,
    primary: Mutex<Latencies>,
    shadow: Mutex<Latencies>,
    diffs: Mutex<VecDeque<DiffSample>>,
    diffs_kept: usize,
}

/// A bounded uniform sample of latencies (µs).
#[derive(Default)]
struct Latencies {
    seen: u64,
    samples: Vec<u32>,
}

/// One mismatching request, as kept in the report.
#[derive(Debug, Clone, Serialize)]
pub struct DiffSample {
    pub request: String,
    pub primary_status: u16,
    pub shadow_status: u16,
    /// Every difference found; `differences` holds the first few.
    pub difference_count: usize,
    pub differences: Vec<Difference>,
}

/// The JSON document of `GET /admin/adapters/{name}/shadow`'s report.
#[derive(Debug, Serialize)]
pub struct ReportView {
    pub chosen: u64,
    pub skipped_busy: u64,
    pub timed_out: u64,
    pub compared: u64,
    pub matched: u64,
    pub mismatched: u64,
    /// matched / compared; absent before the first comparison.
    pub match_rate: Option<f64>,
    pub primary_latency_ms: LatencyView,
    pub shadow_latency_ms: LatencyView,
    pub sample_diffs: Vec<DiffSample>,
}

#[derive(Debug, Serialize)]
pub struct LatencyView {
    pub count: u64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl ShadowReport {
    pub fn new(diffs_kept: usize) -> Self {
        Self {
            chosen: AtomicU64::new(0),
            skipped_busy: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            compared: AtomicU64::new(0),
            matched: AtomicU64::new(0),
            primary: Mutex::default(),
            shadow: Mutex::default(),
            diffs: Mutex::default(),
            diffs_kept,
        }
    }

    pub fn note_chosen(&self) {
        self.chosen.fetch_add(1, Ordering::Relaxed);
    }

    pub fn note_skipped_busy(&self) {
        self.skipped_busy.fetch_add(1, Ordering::Relaxed);
    }

    pub fn note_timed_out(&self, primary_us: u64) {
        self.timed_out.fetch_add(1, Ordering::Relaxed);
        lock(&self.primary).add(primary_us);
    }

    /// Records one finished comparison and both sides' latencies.
    pub fn note_compared(
        &self,
        request: String,
        statuses: (u16, u16),
        latencies_us: (u64, u64),
        comparison: Comparison,
    ) {
        self.compared.fetch_add(1, Ordering::Relaxed);
        lock(&self.primary).add(latencies_us.0);
        lock(&self.shadow).add(latencies_us.1);
        if comparison.matched() {
            self.matched.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut diffs = lock(&self.diffs);
        if self.diffs_kept == 0 {
            return;
        }
        // Keep the most recent: an old diff may describe a bug already fixed.
        if diffs.len() == self.diffs_kept {
            diffs.pop_front();
        }
        diffs.push_back(DiffSample {
            request,
            primary_status: statuses.0,
            shadow_status: statuses.1,
            difference_count: comparison.count,
            differences: comparison.kept,
        });
    }

    pub fn view(&self) -> ReportView {
        let compared = self.compared.load(Ordering::Relaxed);
        let matched = self.matched.load(Ordering::Relaxed);
        ReportView {
            chosen: self.chosen.load(Ordering::Relaxed),
            skipped_busy: self.skipped_busy.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
            compared,
            matched,
            mismatched: compared - matched.min(compared),
            match_rate: (compared > 0).then(|| matched as f64 / compared as f64),
            primary_latency_ms: lock(&self.primary).view(),
            shadow_latency_ms: lock(&self.shadow).view(),
            sample_diffs: lock(&self.diffs).iter().cloned().collect(),
        }
    }
}

impl Latencies {
    /// Algorithm R over a bounded buffer.
    fn add(&mut self, us: u64) {
        let us = u32::try_from(us).unwrap_or(u32::MAX);
        self.seen += 1;
        if self.samples.len() < LATENCY_SAMPLES {
            self.samples.push(us);
        } else {
            let slot = sticky::next_random() % self.seen;
            if let Some(kept) = usize::try_from(slot)
                .ok()
                .and_then(|s| self.samples.get_mut(s))
            {
                *kept = us;
            }
        }
    }

    fn view(&self) -> LatencyView {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        let at = |q: f64| {
            let last = sorted.len().checked_sub(1)?;
            let index = ((last as f64) * q).round() as usize;
            sorted.get(index).map(|&us| f64::from(us) / 1000.0)
        };
        LatencyView {
            count: self.seen,
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// A report's mutex is only ever held to push or copy plain data: a poisoned one still
/// holds sound data.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
