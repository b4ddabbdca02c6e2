//! The overview: every adapter and shared module, each version with its state, share of
//! traffic, rates, latencies, in-flight requests, heap and bindings; then refused files.

use maud::{Markup, html};

use super::{
    format::{self, NONE},
    layout::{Flash, Shell, page},
};
use crate::console::model::{Overview, PluginRow, Refusal};

/// The overview page.
pub fn overview(model: &Overview, shell: &Shell<'_>, flash: Option<&Flash>) -> Markup {
    page(
        "Overview",
        Some(shell),
        flash,
        html! {
            h1 { "Adapters and shared modules" }
            p.hint { "Numbers cover the last sampled interval and refresh every few seconds." }
            div #live data-refresh="/console" aria-live="polite" {
                (overview_live(model))
            }
        },
    )
}

/// The refreshed part of the overview.
pub fn overview_live(model: &Overview) -> Markup {
    html! {
        section aria-labelledby="adapters" {
            h2 #adapters { "Adapters" }
            @if model.adapters.is_empty() {
                p { "No adapter is loaded." }
            }
            @for row in &model.adapters {
                (versions_table(row, true))
            }
        }
        section aria-labelledby="modules" {
            h2 #modules { "Shared modules" }
            @if model.modules.is_empty() {
                p { "No shared module is loaded." }
            }
            @for row in &model.modules {
                (versions_table(row, false))
            }
        }
        @if !model.refused.is_empty() {
            section aria-labelledby="refused" {
                h2 #refused { "Refused files" }
                (refused(&model.refused))
            }
        }
    }
}

/// One plugin's versions; `adapter` adds the traffic columns and links to its page.
pub(super) fn versions_table(row: &PluginRow, adapter: bool) -> Markup {
    html! {
        table.versions {
            caption {
                @if adapter {
                    a href={"/console/adapters/" (row.name)} { (row.name) }
                } @else {
                    (row.name)
                }
                span.meta {
                    " · owner " (row.owner.as_deref().unwrap_or("none"))
                    @if adapter {
                        " · devices get " (row.default.as_deref().unwrap_or("nothing"))
                    }
                    @if let Some((version, holds)) = &row.pin {
                        " · pinned to " (version)
                        @if !holds { " (not in effect)" }
                    }
                }
            }
            thead {
                tr {
                    th scope="col" { "Version" }
                    th scope="col" { "State" }
                    @if adapter {
                        th scope="col" { "Share" }
                        th scope="col" { "Requests" }
                        th scope="col" { "Errors" }
                        th scope="col" { "p50" }
                        th scope="col" { "p99" }
                    }
                    th scope="col" { "In flight" }
                    th scope="col" { "Heap" }
                    th scope="col" { "Bindings" }
                }
            }
            tbody {
                @for version in &row.versions {
                    tr {
                        th scope="row" data-label="Version" { (version.version) }
                        td data-label="State" {
                            span class={"state state-" (format::css_word(&version.state))} { (version.state) }
                            @if let Some(reason) = &version.reason {
                                span.reason { (reason) }
                            }
                        }
                        @if adapter {
                            td data-label="Share" { (format::share(version.share)) }
                            td data-label="Requests" { (format::rate(version.latest.as_ref().map(|p| p.requests_per_s))) }
                            td data-label="Errors" { (format::percent(version.latest.as_ref().and_then(|p| p.error_rate))) }
                            td data-label="p50" { (format::millis(version.latest.as_ref().and_then(|p| p.p50_ms))) }
                            td data-label="p99" { (format::millis(version.latest.as_ref().and_then(|p| p.p99_ms))) }
                        }
                        td data-label="In flight" { (version.in_flight) }
                        td data-label="Heap" { (format::bytes(version.heap_bytes)) }
                        td data-label="Bindings" {
                            @if version.requires.is_empty() && version.bound_by.is_empty() {
                                (NONE)
                            }
                            @if !version.requires.is_empty() {
                                ul.bindings {
                                    @for (module, requirement, bound) in &version.requires {
                                        li {
                                            (module) " " (requirement) " → "
                                            (bound.as_deref().unwrap_or("unbound"))
                                        }
                                    }
                                }
                            }
                            @if !version.bound_by.is_empty() {
                                ul.bindings {
                                    @for consumer in &version.bound_by {
                                        li { "bound by " (consumer) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn refused(refused: &[Refusal]) -> Markup {
    html! {
        table {
            thead {
                tr {
                    th scope="col" { "File" }
                    th scope="col" { "Plugin" }
                    th scope="col" { "Reason" }
                }
            }
            tbody {
                @for refusal in refused {
                    tr {
                        th scope="row" data-label="File" { (refusal.file) }
                        td data-label="Plugin" { (refusal.plugin.as_deref().unwrap_or(NONE)) }
                        td data-label="Reason" { (refusal.reason) }
                    }
                }
            }
        }
    }
}
