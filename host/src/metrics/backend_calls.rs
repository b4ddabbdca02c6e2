//! The backend families, read at scrape time from what `backends/metrics.rs` already counts
//! for `/admin/backends` (nothing is counted twice): calls by backend, calling adapter and
//! outcome, attempt latency, retries, de-duplicated and shared calls, hedges, the bulkhead,
//! the concurrency limit and the breaker.

use std::{fmt, sync::Arc};

use prometheus_client::{collector::Collector, encoding::DescriptorEncoder};

use super::{
    encode::{Labels, counters, gauge_value, gauges, histograms},
    histogram::HistogramSnapshot,
};
use crate::backends::{BackendView, Backends, BreakerState, CountersView};

pub struct BackendCalls {
    pub(super) backends: Arc<Backends>,
}

impl fmt::Debug for BackendCalls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackendCalls")
    }
}

/// Breaker states as label values (Prometheus label values by convention use `_`).
const BREAKER_STATES: [(BreakerState, &str); 3] = [
    (BreakerState::Closed, "closed"),
    (BreakerState::Open, "open"),
    (BreakerState::HalfOpen, "half_open"),
];

impl Collector for BackendCalls {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let views = self.backends.view();
        counters(
            &mut encoder,
            "frontdoor_backend_calls",
            "Backend calls as the adapter saw them (after retries and de-duplication), by backend, calling adapter and outcome.",
            views.iter().flat_map(|backend| {
                backend.by_adapter.iter().flat_map(move |(adapter, view)| {
                    outcomes(view)
                        .into_iter()
                        .filter(|(_, count)| *count > 0)
                        .map(move |(outcome, count)| {
                            let labels: Labels<3> = [
                                ("backend", &backend.name),
                                ("adapter", adapter),
                                ("outcome", outcome),
                            ];
                            (labels, count)
                        })
                })
            }),
        )?;
        histograms(
            &mut encoder,
            "frontdoor_backend_attempt_duration",
            "Time of each attempt that reached a backend (retries included, de-duplicated calls not).",
            views.iter().map(|backend| {
                let latency = &backend.latency;
                let snapshot = HistogramSnapshot::from_millis(
                    &latency.bounds_ms,
                    &latency.counts,
                    latency.sum_us,
                );
                (by_backend(backend), snapshot)
            }),
        )?;
        let per_backend = |value: fn(&BackendView) -> u64| {
            views
                .iter()
                .map(move |backend| (by_backend(backend), value(backend)))
        };
        counters(
            &mut encoder,
            "frontdoor_backend_attempts",
            "Attempts that went out to a backend (retries included, de-duplicated calls not).",
            per_backend(|backend| backend.attempts),
        )?;
        counters(
            &mut encoder,
            "frontdoor_backend_retries",
            "Attempts that were retries of a failed idempotent call.",
            per_backend(|backend| backend.retries),
        )?;
        counters(
            &mut encoder,
            "frontdoor_backend_deduplicated_calls",
            "GETs answered by an identical GET of the same device request, not sent.",
            per_backend(|backend| backend.deduplicated),
        )?;
        counters(
            &mut encoder,
            "frontdoor_backend_shared_calls",
            "GETs answered by an identical GET in flight for another device request, not sent.",
            per_backend(|backend| backend.shared),
        )?;
        counters(
            &mut encoder,
            "frontdoor_backend_hedges",
            "Hedges sent: second attempts of an idempotent call whose first was slow.",
            per_backend(|backend| backend.hedges.sent),
        )?;
        counters(
            &mut encoder,
            "frontdoor_backend_hedges_won",
            "Hedges whose answer was the call's.",
            per_backend(|backend| backend.hedges.won),
        )?;
        counters(
            &mut encoder,
            "frontdoor_backend_hedges_denied",
            "Hedges that were due but not sent: the retry budget was empty.",
            per_backend(|backend| backend.hedges.denied),
        )?;
        gauges(
            &mut encoder,
            "frontdoor_backend_in_flight",
            "Attempts holding a bulkhead slot now.",
            None,
            views
                .iter()
                .map(|backend| (by_backend(backend), backend.in_flight)),
        )?;
        gauges(
            &mut encoder,
            "frontdoor_backend_max_concurrent",
            "The bulkhead's limit: attempts past it are rejected.",
            None,
            views
                .iter()
                .map(|backend| (by_backend(backend), gauge_value(backend.max_concurrent))),
        )?;
        gauges(
            &mut encoder,
            "frontdoor_backend_concurrency_limit",
            "Attempts a backend may have in flight now: its adaptive limit, or max_concurrent when fixed.",
            None,
            views
                .iter()
                .map(|backend| (by_backend(backend), gauge_value(backend.concurrency.limit))),
        )?;
        counters(
            &mut encoder,
            "frontdoor_backend_limit_rejections",
            "Attempts the adaptive concurrency limit refused at once (also counted as rejected calls).",
            per_backend(|backend| backend.concurrency.rejected),
        )?;
        gauges(
            &mut encoder,
            "frontdoor_backend_breaker_state",
            "1 for the circuit breaker's current state, 0 for the others.",
            None,
            views.iter().flat_map(|backend| {
                BREAKER_STATES.iter().map(move |(state, label)| {
                    let labels: Labels<2> = [("backend", &backend.name), ("state", label)];
                    (labels, i64::from(backend.breaker == state.as_str()))
                })
            }),
        )
    }
}

fn by_backend(backend: &BackendView) -> Labels<'_, 1> {
    [("backend", &backend.name)]
}

/// Every outcome kind of `/admin/backends`, under its label value.
fn outcomes(view: &CountersView) -> [(&'static str, u64); 7] {
    [
        ("ok", view.ok),
        ("timeout", view.timeout),
        ("rejected", view.rejected),
        ("circuit_open", view.circuit_open),
        ("status", view.status),
        ("transport", view.transport),
        ("invalid", view.invalid),
    ]
}
