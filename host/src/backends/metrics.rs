//! Counters kept per backend and per calling adapter, ready for export: calls, outcomes by
//! kind, latency histogram, calls in flight. Lock-free on the call path except the lookup
//! of an adapter's counters, a short mutex held only to find or insert an `Arc`.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use frontdoor_plugin_api::BackendErrorKind;
use serde::Serialize;

/// Upper bounds (ms) of the latency histogram's buckets; the last bucket is open-ended.
pub const LATENCY_BOUNDS_MS: [u64; 11] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

/// Outcome counters for one backend (or one adapter's calls to it).
#[derive(Default)]
pub struct CallCounters {
    calls: AtomicU64,
    ok: AtomicU64,
    timeout: AtomicU64,
    rejected: AtomicU64,
    circuit_open: AtomicU64,
    status: AtomicU64,
    transport: AtomicU64,
    invalid: AtomicU64,
}

impl CallCounters {
    pub fn record(&self, outcome: Result<(), BackendErrorKind>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let counter = match outcome {
            Ok(()) => &self.ok,
            Err(BackendErrorKind::Timeout) => &self.timeout,
            Err(BackendErrorKind::Rejected) => &self.rejected,
            Err(BackendErrorKind::CircuitOpen) => &self.circuit_open,
            Err(BackendErrorKind::Status) => &self.status,
            Err(BackendErrorKind::Transport) => &self.transport,
            Err(BackendErrorKind::UnknownBackend | BackendErrorKind::Invalid) => &self.invalid,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn view(&self) -> CountersView {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CountersView {
            calls: get(&self.calls),
            ok: get(&self.ok),
            timeout: get(&self.timeout),
            rejected: get(&self.rejected),
            circuit_open: get(&self.circuit_open),
            status: get(&self.status),
            transport: get(&self.transport),
            invalid: get(&self.invalid),
        }
    }
}

#[derive(Debug, Serialize, Clone, Copy, PartialEq, Eq)]
pub struct CountersView {
    pub calls: u64,
    pub ok: u64,
    pub timeout: u64,
    pub rejected: u64,
    pub circuit_open: u64,
    /// Non-2xx answers.
    pub status: u64,
    pub transport: u64,
    pub invalid: u64,
}

/// Everything kept for one backend.
#[derive(Default)]
pub struct BackendMetrics {
    pub totals: CallCounters,
    /// Attempts that actually went out (retries included; deduplicated calls excluded).
    pub attempts: AtomicU64,
    pub retries: AtomicU64,
    /// GETs answered from another identical GET of the same device request.
    pub deduplicated: AtomicU64,
    /// GETs that joined an identical GET in flight for another device request (not sent).
    pub shared: AtomicU64,
    /// Hedges sent, hedges whose answer was the one returned, and hedges that were due
    /// but found the retry budget empty (not sent).
    pub hedges_sent: AtomicU64,
    pub hedges_won: AtomicU64,
    pub hedges_denied: AtomicU64,
    pub in_flight: AtomicI64,
    latency_buckets: [AtomicU64; LATENCY_BOUNDS_MS.len() + 1],
    latency_sum_us: AtomicU64,
    by_adapter: Mutex<BTreeMap<String, Arc<CallCounters>>>,
}

impl BackendMetrics {
    /// Counts one call of `adapter` that ended with `outcome`, in the backend's totals and
    /// in the adapter's counters.
    pub fn record_call(&self, adapter: &str, outcome: Result<(), BackendErrorKind>) {
        self.for_adapter(adapter).record(outcome);
        self.totals.record(outcome);
    }

    /// The counters of calls made by `adapter`.
    pub fn for_adapter(&self, adapter: &str) -> Arc<CallCounters> {
        let mut by_adapter = self
            .by_adapter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(counters) = by_adapter.get(adapter) {
            return counters.clone();
        }
        let counters = Arc::new(CallCounters::default());
        by_adapter.insert(adapter.to_owned(), counters.clone());
        counters
    }

    /// Records the latency of one attempt that reached the backend.
    pub fn observe_latency(&self, latency: Duration) {
        let ms = latency.as_millis();
        let bucket = LATENCY_BOUNDS_MS
            .iter()
            .position(|bound| ms <= u128::from(*bound))
            .unwrap_or(LATENCY_BOUNDS_MS.len());
        self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn latency_view(&self) -> LatencyView {
        LatencyView {
            bounds_ms: LATENCY_BOUNDS_MS.to_vec(),
            counts: self
                .latency_buckets
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            sum_us: self.latency_sum_us.load(Ordering::Relaxed),
        }
    }

    pub fn hedges_view(&self) -> HedgesView {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        HedgesView {
            sent: get(&self.hedges_sent),
            won: get(&self.hedges_won),
            denied: get(&self.hedges_denied),
        }
    }

    pub fn adapters_view(&self) -> BTreeMap<String, CountersView> {
        self.by_adapter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(adapter, counters)| (adapter.clone(), counters.view()))
            .collect()
    }
}

/// Hedged attempts: sent, won (the hedge's answer was the call's) and denied (due, but the
/// retry budget was empty).
#[derive(Debug, Serialize, Clone, Copy, PartialEq, Eq)]
pub struct HedgesView {
    pub sent: u64,
    pub won: u64,
    pub denied: u64,
}

/// The latency histogram: `counts[i]` calls took at most `bounds_ms[i]` (and more than the
/// bound before); the last count is everything slower than the last bound.
#[derive(Debug, Serialize)]
pub struct LatencyView {
    pub bounds_ms: Vec<u64>,
    pub counts: Vec<u64>,
    pub sum_us: u64,
}
