//! The backends: calls, errors by kind, latency, breaker state, bulkhead use, retries,
//! hedges and shared calls.

use maud::{Markup, html};

use super::{
    format,
    layout::{Flash, Shell, page},
};
use crate::{
    backends::BackendView,
    console::{history::quantile_ms, model::BackendsPage},
};

/// The backends page.
pub fn backends(model: &BackendsPage, shell: &Shell<'_>, flash: Option<&Flash>) -> Markup {
    page(
        "Backends",
        Some(shell),
        flash,
        html! {
            h1 { "Backends" }
            p.hint { "Counts since the host started; they refresh every few seconds." }
            div #live data-refresh="/console/backends" aria-live="polite" {
                (backends_live(model))
            }
        },
    )
}

/// The refreshed part of the backends page.
pub fn backends_live(model: &BackendsPage) -> Markup {
    html! {
        @if model.backends.is_empty() {
            p { "No backend is configured." }
        } @else {
            table.backends {
                thead {
                    tr {
                        th scope="col" { "Backend" }
                        th scope="col" { "Breaker" }
                        th scope="col" { "Bulkhead" }
                        th scope="col" { "Calls" }
                        th scope="col" { "Errors by kind" }
                        th scope="col" { "p50" }
                        th scope="col" { "p99" }
                        th scope="col" { "Retries" }
                    }
                }
                tbody {
                    @for backend in &model.backends {
                        (row(backend))
                    }
                }
            }
        }
    }
}

fn row(backend: &BackendView) -> Markup {
    let totals = &backend.totals;
    let errors = [
        ("timeout", totals.timeout),
        ("rejected", totals.rejected),
        ("circuit open", totals.circuit_open),
        ("status", totals.status),
        ("transport", totals.transport),
        ("invalid", totals.invalid),
    ];
    let buckets: Vec<(f64, u64)> = backend
        .latency
        .bounds_ms
        .iter()
        .map(|&ms| ms as f64 / 1000.0)
        .chain(std::iter::once(f64::INFINITY))
        .zip(backend.latency.counts.iter().copied())
        .collect();
    html! {
        tr {
            th scope="row" data-label="Backend" { (backend.name) span.reason { (backend.url) } }
            td data-label="Breaker" {
                span class={"state breaker-" (backend.breaker.replace('_', "-"))} { (backend.breaker.replace('_', " ")) }
            }
            td data-label="Bulkhead" { (backend.in_flight) " of " (backend.max_concurrent) " in use" }
            td data-label="Calls" { (totals.calls) " (" (totals.ok) " ok)" }
            td data-label="Errors by kind" {
                @if errors.iter().all(|(_, count)| *count == 0) {
                    "none"
                } @else {
                    ul.bindings {
                        @for (kind, count) in errors.iter().filter(|(_, count)| *count > 0) {
                            li { (kind) ": " (count) }
                        }
                    }
                }
            }
            td data-label="p50" { (format::millis(quantile_ms(&buckets, 0.5))) }
            td data-label="p99" { (format::millis(quantile_ms(&buckets, 0.99))) }
            td data-label="Retries" {
                (backend.retries) " of " (backend.attempts) " attempts"
                @if backend.hedges.sent + backend.hedges.denied > 0 {
                    span.reason {
                        (backend.hedges.sent) " hedges, " (backend.hedges.won) " won, "
                        (backend.hedges.denied) " denied"
                    }
                }
                @if backend.shared > 0 {
                    span.reason { (backend.shared) " shared" }
                }
            }
        }
    }
}
