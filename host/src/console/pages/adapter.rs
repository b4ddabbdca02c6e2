//! One adapter: its versions with a latency and error chart each, the actions its owners
//! may take (only offered to them), the canary with the judge's last verdicts, the shadow's
//! report, and recent failing requests with their fan-out.

use maud::{Markup, html};

use super::{
    format::{self, NONE},
    layout::{Flash, Shell, page},
    overview::versions_table,
};
use crate::{
    console::{chart, model::AdapterPage},
    requests::RecentRequest,
    traffic::{CanaryView, ShadowView, canary::Phase},
};

/// What the viewer may do here.
pub struct AdapterControls<'a> {
    pub csrf: &'a str,
    /// The control plane would authorize this session to change the adapter.
    pub may_act: bool,
    pub team: &'a str,
}

/// The adapter page.
pub fn adapter(
    model: &AdapterPage,
    controls: &AdapterControls<'_>,
    shell: &Shell<'_>,
    flash: Option<&Flash>,
) -> Markup {
    let name = &model.row.name;
    page(
        &format!("Adapter {name}"),
        Some(shell),
        flash,
        html! {
            h1 { "Adapter " (name) }
            (actions(model, controls))
            div #live data-refresh={"/console/adapters/" (name)} aria-live="polite" {
                (adapter_live(model))
            }
        },
    )
}

/// The refreshed part of the adapter page.
pub fn adapter_live(model: &AdapterPage) -> Markup {
    html! {
        section aria-labelledby="versions" {
            h2 #versions { "Versions" }
            (versions_table(&model.row, true))
            @if !model.history.is_empty() {
                h3 { "Over the last minutes" }
                div.charts {
                    @for (version, points) in &model.history {
                        section.chart-group aria-label={"Version " (version)} {
                            h4 { (version) }
                            (chart::line(
                                &format!("{version} p99 latency (ms)"),
                                &points.iter().map(|p| p.p99_ms).collect::<Vec<_>>(),
                                "ms",
                            ))
                            (chart::line(
                                &format!("{version} errors (%)"),
                                &points.iter().map(|p| p.error_rate.map(|r| r * 100.0)).collect::<Vec<_>>(),
                                "%",
                            ))
                        }
                    }
                }
            }
        }
        section aria-labelledby="canary" {
            h2 #canary { "Canary" }
            @match &model.canary {
                Some(canary) => (canary_status(canary)),
                None => p { "No canary plan." },
            }
        }
        section aria-labelledby="shadow" {
            h2 #shadow { "Shadow" }
            @match &model.shadow {
                Some(shadow) => (shadow_status(shadow)),
                None => p { "No shadow." },
            }
        }
        section aria-labelledby="failing" {
            h2 #failing { "Recent failing requests" }
            @if model.failing.is_empty() {
                p { "None kept." }
            } @else {
                (failing(&model.failing))
            }
        }
    }
}

/// The forms, for those who may use them; a sentence for the others.
fn actions(model: &AdapterPage, controls: &AdapterControls<'_>) -> Markup {
    let name = &model.row.name;
    if !controls.may_act {
        let owner = model
            .row
            .owner
            .as_deref()
            .unwrap_or("no team (admins only)");
        return html! {
            p.readonly {
                "Team " strong { (controls.team) } " may look at " (name)
                " but not change it: it is owned by " (owner) "."
            }
        };
    }
    let versions: Vec<&str> = model
        .row
        .versions
        .iter()
        .filter(|version| version.state != "failed" && version.state != "retired")
        .map(|version| version.version.as_str())
        .collect();
    let base = format!("/console/adapters/{name}");
    let running = model
        .canary
        .as_ref()
        .is_some_and(|canary| canary.state.phase == Phase::Running);
    html! {
        section.actions aria-labelledby="act" {
            h2 #act { "Act on " (name) }
            div.forms {
                form method="post" action={(base) "/rollback"} {
                    input type="hidden" name="csrf" value=(controls.csrf);
                    p.help { "Pin the version that served before the one devices get now." }
                    button type="submit" { "Roll back" }
                }
                form method="post" action={(base) "/pin"} {
                    input type="hidden" name="csrf" value=(controls.csrf);
                    label for="pin-version" { "Version to pin" }
                    (select("pin-version", "version", &versions))
                    button type="submit" { "Pin" }
                }
                @if model.row.pin.is_some() {
                    form method="post" action={(base) "/unpin"} {
                        input type="hidden" name="csrf" value=(controls.csrf);
                        p.help { "Devices get the highest healthy version again." }
                        button type="submit" { "Unpin" }
                    }
                }
                @if running {
                    form method="post" action={(base) "/canary/promote"} {
                        input type="hidden" name="csrf" value=(controls.csrf);
                        button type="submit" { "Promote canary" }
                    }
                    form method="post" action={(base) "/canary/abort"} {
                        input type="hidden" name="csrf" value=(controls.csrf);
                        button type="submit" { "Abort canary" }
                    }
                } @else {
                    @if model.canary.is_some() {
                        form method="post" action={(base) "/canary/forget"} {
                            input type="hidden" name="csrf" value=(controls.csrf);
                            p.help { "The ended plan still routes to its outcome until it is forgotten." }
                            button type="submit" { "Forget canary plan" }
                        }
                    }
                    form method="post" action={(base) "/canary/start"} {
                        input type="hidden" name="csrf" value=(controls.csrf);
                        label for="canary-version" { "Canary version" }
                        (select("canary-version", "canary", &versions))
                        label for="canary-weight" { "Canary weight (%)" }
                        input #canary-weight type="number" name="weight" min="0" max="100" step="any" value="10";
                        button type="submit" { "Start canary" }
                    }
                }
                @if model.shadow.is_some() {
                    form method="post" action={(base) "/shadow/stop"} {
                        input type="hidden" name="csrf" value=(controls.csrf);
                        button type="submit" { "Stop shadow" }
                    }
                } @else {
                    form method="post" action={(base) "/shadow/start"} {
                        input type="hidden" name="csrf" value=(controls.csrf);
                        label for="shadow-target" { "Shadow version" }
                        (select("shadow-target", "target", &versions))
                        label for="shadow-share" { "Share of requests copied (%)" }
                        input #shadow-share type="number" name="share" min="0" max="100" step="any" value="10";
                        button type="submit" { "Start shadow" }
                    }
                }
                @for version in model.row.versions.iter().filter(|v| v.state == "quarantined") {
                    form method="post" action={(base) "/versions/" (version.version) "/lift-quarantine"} {
                        input type="hidden" name="csrf" value=(controls.csrf);
                        button type="submit" { "Lift quarantine of " (version.version) }
                    }
                }
            }
        }
    }
}

fn select(id: &str, name: &str, versions: &[&str]) -> Markup {
    html! {
        select id=(id) name=(name) required {
            @for version in versions {
                option value=(version) { (version) }
            }
        }
    }
}

fn canary_status(canary: &CanaryView) -> Markup {
    let state = &canary.state;
    html! {
        dl.facts {
            dt { "Canary" } dd { (state.settings.canary) }
            dt { "Baseline" } dd { (state.settings.baseline) }
            dt { "Phase" } dd { (word(&state.phase)) }
            dt { "Weight" } dd { (format::share(Some(state.weight))) }
            dt { "This interval" } dd {
                (canary.open_interval.canary_requests) " canary, "
                (canary.open_interval.baseline_requests) " baseline requests"
            }
            @if let Some(ended) = &state.ended {
                dt { "Ended" } dd { (ended) }
            }
        }
        @if state.verdicts.is_empty() {
            p { "No verdict yet." }
        } @else {
            table {
                caption { "The judge's last verdicts, newest first" }
                thead {
                    tr {
                        th scope="col" { "When" }
                        th scope="col" { "Weight" }
                        th scope="col" { "Outcome" }
                        th scope="col" { "Action" }
                        th scope="col" { "Canary errors" }
                        th scope="col" { "Baseline errors" }
                        th scope="col" { "Reason" }
                    }
                }
                tbody {
                    @for verdict in state.verdicts.iter().rev().take(10) {
                        tr {
                            th scope="row" data-label="When" { (format::time(u128::from(verdict.at_unix_ms))) " (" (word(&verdict.cause)) ")" }
                            td data-label="Weight" { (format::share(Some(verdict.weight))) }
                            td data-label="Outcome" { (word(&verdict.judgement.outcome)) }
                            td data-label="Action" { (verdict.action) }
                            td data-label="Canary errors" { (format::percent(verdict.judgement.canary.error_rate)) " of " (verdict.judgement.canary.requests) }
                            td data-label="Baseline errors" { (format::percent(verdict.judgement.baseline.error_rate)) " of " (verdict.judgement.baseline.requests) }
                            td data-label="Reason" { (verdict.judgement.reason) }
                        }
                    }
                }
            }
        }
    }
}

fn shadow_status(shadow: &ShadowView) -> Markup {
    let report = &shadow.report;
    html! {
        dl.facts {
            dt { "Target" } dd { (shadow.settings.target) }
            dt { "Share" } dd { (format::share(Some(shadow.settings.share))) }
            dt { "Chosen" } dd { (report.chosen) }
            dt { "Compared" } dd { (report.compared) }
            dt { "Matched" } dd { (report.matched) " (" (format::percent(report.match_rate)) ")" }
            dt { "Mismatched" } dd { (report.mismatched) }
            dt { "Skipped (busy)" } dd { (report.skipped_busy) }
            dt { "Timed out" } dd { (report.timed_out) }
        }
        @if !report.sample_diffs.is_empty() {
            table {
                caption { "Sample differences" }
                thead {
                    tr {
                        th scope="col" { "Request" }
                        th scope="col" { "Statuses" }
                        th scope="col" { "Differences" }
                    }
                }
                tbody {
                    @for diff in &report.sample_diffs {
                        tr {
                            th scope="row" data-label="Request" { (diff.request) }
                            td data-label="Statuses" { (diff.primary_status) " / " (diff.shadow_status) }
                            td data-label="Differences" {
                                ul {
                                    @for difference in diff.differences.iter().take(5) {
                                        li { code { (difference.at) } ": " (difference.primary) " → " (difference.shadow) }
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

fn failing(requests: &[RecentRequest]) -> Markup {
    html! {
        ol.requests {
            @for request in requests {
                li {
                    p.request-line {
                        strong { (request.status) } " "
                        (request.method) " " (request.route.as_deref().unwrap_or("(no route)"))
                        " · " (request.version) " · " (format::micros(request.latency_us))
                        " · " (format::time(u128::from(request.at_unix_ms)))
                    }
                    p.request-id { "Request " code { (request.request_id) } }
                    @if request.calls.is_empty() {
                        p { "No backend call." }
                    } @else {
                        table.fanout {
                            caption { "Backend calls, in the order they started" }
                            thead {
                                tr {
                                    th scope="col" { "Backend" }
                                    th scope="col" { "Call" }
                                    th scope="col" { "Start" }
                                    th scope="col" { "Took" }
                                    th scope="col" { "Outcome" }
                                }
                            }
                            tbody {
                                @for call in &request.calls {
                                    tr {
                                        th scope="row" data-label="Backend" { (call.backend) }
                                        td data-label="Call" { (call.method) " " (call.path) }
                                        td data-label="Start" { "+" (format::micros(call.start_offset_us)) }
                                        td data-label="Took" { (call.duration_us.map_or_else(|| NONE.to_owned(), format::micros)) }
                                        td data-label="Outcome" {
                                            (call.outcome)
                                            @if let Some(status) = call.status { " " (status) }
                                            @if let Some(error) = &call.error { " " (error) }
                                            @if call.attempts > 1 { " · " (call.attempts) " attempts" }
                                            @if call.deduplicated { " · deduplicated" }
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
}

/// A serde enum's name (`rolled_back`), for display.
fn word(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(|word| word.replace('_', " ")))
        .unwrap_or_else(|| NONE.to_owned())
}
