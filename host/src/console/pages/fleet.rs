//! The fleet (fleet mode only): the published versions, and every host's report of them
//! with what it misses and whether it lags behind its peers, as `GET /admin/fleet` has it.

use maud::{Markup, html};

use super::{
    format,
    layout::{Flash, Shell, page},
};
use crate::fleet::view::{FleetView, HostView};

/// The fleet page.
pub fn fleet(model: &FleetView, shell: &Shell<'_>, flash: Option<&Flash>) -> Markup {
    page(
        "Fleet",
        Some(shell),
        flash,
        html! {
            h1 { "Fleet" }
            p.hint {
                "Read from etcd by " strong { (model.host_id) }
                "; it refreshes every few seconds. A version is published once and every host installs it; a host that lags misses a version another host serves."
            }
            div #live data-refresh="/console/fleet" aria-live="polite" {
                (fleet_live(model))
            }
        },
    )
}

/// The refreshed part of the fleet page.
pub fn fleet_live(model: &FleetView) -> Markup {
    let lagging = model.hosts.iter().filter(|host| host.lagging).count();
    html! {
        @if model.etcd == "ok" {
            p {
                "Hosts reporting: " (model.hosts.len()) ". Published versions: "
                (model.desired.len()) "."
                @if lagging > 0 {
                    " " span.state.state-failed { "Hosts lagging: " (lagging) "." }
                }
            }
        } @else {
            p.flash.error role="alert" {
                "etcd cannot be read (" (model.etcd) "): this host serves its last known state and shows only its own report."
            }
        }
        h2 { "Published versions" }
        @if model.desired.is_empty() {
            p { "No version is published." }
        } @else {
            table.fleet-desired {
                thead {
                    tr {
                        th scope="col" { "Version" }
                        th scope="col" { "Team" }
                        th scope="col" { "Kind" }
                        th scope="col" { "SHA-256" }
                        th scope="col" { "Published" }
                    }
                }
                tbody {
                    @for version in &model.desired {
                        tr {
                            th scope="row" data-label="Version" { (version.name) "@" (version.version) }
                            td data-label="Team" { (version.team) }
                            td data-label="Kind" { (version.kind) }
                            td data-label="SHA-256" { code title=(version.sha256) { (short(&version.sha256)) } }
                            td data-label="Published" { (format::time(u128::from(version.published_unix_ms))) }
                        }
                    }
                }
            }
        }
        h2 { "Hosts" }
        table.fleet-hosts {
            thead {
                tr {
                    th scope="col" { "Host" }
                    th scope="col" { "Versions" }
                    th scope="col" { "Missing" }
                    th scope="col" { "Reported" }
                }
            }
            tbody {
                @for host in &model.hosts {
                    (host_row(host))
                }
            }
        }
    }
}

fn host_row(host: &HostView) -> Markup {
    let report = &host.report;
    html! {
        tr {
            th scope="row" data-label="Host" {
                (report.host_id)
                @if host.lagging {
                    " " span.state.state-failed { "lagging" }
                }
                span.reason { "devices " (report.listen) ", admin " (report.admin_listen) }
            }
            td data-label="Versions" {
                @if report.versions.is_empty() {
                    (format::NONE)
                } @else {
                    ul.bindings {
                        @for version in &report.versions {
                            li {
                                (version.name) "@" (version.version) " "
                                span class={"state state-" (format::css_word(&version.state))} { (version.state) }
                                @if let Some(reason) = &version.reason {
                                    span.reason { (reason) }
                                }
                            }
                        }
                    }
                }
            }
            td data-label="Missing" {
                @if host.missing.is_empty() {
                    "none"
                } @else {
                    (host.missing.join(", "))
                }
            }
            td data-label="Reported" {
                (format::time(u128::from(report.updated_unix_ms)))
                span.reason { "desired revision " (report.desired_revision) }
            }
        }
    }
}

/// The first 12 hex digits of a digest: enough to tell artifacts apart at a glance (the
/// whole digest is the cell's title).
fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}
