//! Rendering with hostile values: names, routes, reasons and errors come from plugins and
//! backends, so every one of them must come out as text.

use crate::{
    console::{
        history::Point,
        model::{AdapterPage, Overview, PluginRow, Refusal, VersionRow},
    },
    fleet::{
        record::{HostReport, VersionReport},
        view::{DesiredView, FleetView, HostView},
    },
    requests::{CallView, Kept, RecentRequest},
};

use super::{AdapterControls, Shell, adapter, fleet, fleet_live, overview};

const EVIL: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&";

fn shell() -> Shell<'static> {
    Shell {
        team: EVIL,
        csrf: "0123456789abcdef0123456789abcdef",
        current: "/console",
        fleet: false,
    }
}

fn hostile_row() -> PluginRow {
    PluginRow {
        name: EVIL.to_owned(),
        owner: Some(EVIL.to_owned()),
        default: Some(EVIL.to_owned()),
        pin: Some((EVIL.to_owned(), false)),
        versions: vec![VersionRow {
            version: EVIL.to_owned(),
            state: format!("quarantined{EVIL}"),
            reason: Some(EVIL.to_owned()),
            share: Some(100.0),
            latest: Some(Point {
                at_unix_ms: 0,
                requests_per_s: 12.5,
                error_rate: Some(0.25),
                p50_ms: Some(1.0),
                p99_ms: Some(250.0),
            }),
            in_flight: 3,
            heap_bytes: Some(3 * 1024 * 1024),
            requires: vec![(EVIL.to_owned(), EVIL.to_owned(), Some(EVIL.to_owned()))],
            bound_by: vec![EVIL.to_owned()],
        }],
    }
}

/// No markup of the hostile text survives: only its escaped form.
fn assert_escaped(html: &str) {
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    // No inline script or style for the CSP to refuse.
    assert!(!html.contains(" style="), "{html}");
    assert!(!html.contains("onerror=alert(2)>"), "{html}");
}

#[test]
fn the_overview_escapes_every_plugin_supplied_value() {
    let model = Overview {
        adapters: vec![hostile_row()],
        modules: vec![hostile_row()],
        refused: vec![Refusal {
            file: EVIL.to_owned(),
            plugin: Some(EVIL.to_owned()),
            reason: EVIL.to_owned(),
        }],
    };
    let html = overview(&model, &shell(), None).into_string();
    assert_escaped(&html);
    assert!(html.contains("12.5 /s"), "{html}");
    assert!(html.contains("25.0 %"), "{html}");
    assert!(html.contains("≤ 250 ms"), "{html}");
    assert!(html.contains("3.00 MiB"), "{html}");
    // The class derived from a state keeps only its letters.
    assert!(html.contains("state-quarantinedscrip\""), "{html}");
}

#[test]
fn the_adapter_page_escapes_requests_calls_and_errors() {
    let mut row = hostile_row();
    row.versions[0].state = "quarantined".to_owned();
    let model = AdapterPage {
        row,
        history: vec![(EVIL.to_owned(), vec![])],
        canary: None,
        shadow: None,
        failing: vec![RecentRequest {
            request_id: EVIL.to_owned(),
            at_unix_ms: 0,
            adapter: EVIL.to_owned(),
            version: EVIL.to_owned(),
            method: "GET".to_owned(),
            route: Some(EVIL.to_owned()),
            status: 500,
            latency_us: 1500,
            kept: Kept::Error,
            trace_id: None,
            calls: vec![CallView {
                backend: EVIL.to_owned(),
                method: "GET".to_owned(),
                path: EVIL.to_owned(),
                start_offset_us: 10,
                duration_us: Some(900),
                outcome: "error",
                status: None,
                error: Some(EVIL.to_owned()),
                attempts: 2,
                deduplicated: false,
                span_id: None,
            }],
        }],
    };
    let controls = AdapterControls {
        csrf: "0123456789abcdef0123456789abcdef",
        may_act: true,
        team: EVIL,
    };
    let html = adapter(&model, &controls, &shell(), None).into_string();
    assert_escaped(&html);
    // Every form carries the CSRF token and posts.
    let forms = html.matches("<form").count();
    assert!(forms >= 5, "{html}");
    assert_eq!(
        html.matches("name=\"csrf\" value=\"0123456789abcdef0123456789abcdef\"")
            .count(),
        forms,
        "{html}"
    );
    assert_eq!(html.matches("method=\"post\"").count(), forms, "{html}");
    // The quarantined version can be lifted; its name is escaped in the action too.
    assert!(html.contains("Lift quarantine of"), "{html}");
}

#[test]
fn a_team_that_may_not_act_gets_no_action_form() {
    let model = AdapterPage {
        row: hostile_row(),
        ..AdapterPage::default()
    };
    let controls = AdapterControls {
        csrf: "0123456789abcdef0123456789abcdef",
        may_act: false,
        team: "mobile",
    };
    let html = adapter(&model, &controls, &shell(), None).into_string();
    assert!(!html.contains("Roll back"), "{html}");
    assert!(html.contains("may look at"), "{html}");
    // Only the logout form remains.
    assert_eq!(html.matches("<form").count(), 1, "{html}");
}

#[test]
fn every_control_has_a_label() {
    let model = AdapterPage {
        row: hostile_row(),
        ..AdapterPage::default()
    };
    let controls = AdapterControls {
        csrf: "x",
        may_act: true,
        team: "tv",
    };
    let html = adapter(&model, &controls, &shell(), None).into_string();
    for id in [
        "pin-version",
        "canary-version",
        "canary-weight",
        "shadow-target",
        "shadow-share",
    ] {
        assert!(
            html.contains(&format!("<label for=\"{id}\"")),
            "{id}: {html}"
        );
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}: {html}");
    }
}

fn hostile_host(host_id: &str, lagging: bool) -> HostView {
    HostView {
        report: HostReport {
            host_id: host_id.to_owned(),
            listen: EVIL.to_owned(),
            admin_listen: EVIL.to_owned(),
            desired_revision: 42,
            versions: vec![VersionReport {
                name: EVIL.to_owned(),
                version: semver::Version::new(1, 2, 0),
                state: format!("failed{EVIL}"),
                reason: Some(EVIL.to_owned()),
            }],
            updated_unix_ms: 0,
        },
        missing: if lagging {
            vec![EVIL.to_owned()]
        } else {
            vec![]
        },
        lagging,
    }
}

#[test]
fn the_fleet_page_escapes_what_hosts_and_publishers_wrote_and_names_the_laggards() {
    let model = FleetView {
        host_id: EVIL.to_owned(),
        etcd: "ok".to_owned(),
        desired: vec![DesiredView {
            name: EVIL.to_owned(),
            version: semver::Version::new(1, 2, 0),
            team: EVIL.to_owned(),
            kind: EVIL.to_owned(),
            sha256: "0123456789abcdef".repeat(4),
            published_unix_ms: 0,
        }],
        hosts: vec![hostile_host("host-a", false), hostile_host("host-b", true)],
    };
    let shell = Shell {
        fleet: true,
        current: "/console/fleet",
        ..shell()
    };
    let html = fleet(&model, &shell, None).into_string();
    assert_escaped(&html);
    assert!(
        html.contains(
            "Hosts reporting: 2. Published versions: 1. <span class=\"state state-failed\">Hosts lagging: 1."
        ),
        "{html}"
    );
    assert_eq!(html.matches(">lagging</span>").count(), 1, "{html}");
    // The digest is shortened in the cell, whole in its title.
    assert!(html.contains(">0123456789ab</code>"), "{html}");
    assert!(
        html.contains(&format!("title=\"{}\"", "0123456789abcdef".repeat(4))),
        "{html}"
    );
    // The class derived from a reported state keeps only its letters.
    assert!(html.contains("state-failedscriptaler\""), "{html}");
    // In fleet mode the navigation offers the fleet page, marked as the current one.
    assert!(
        html.contains("<a href=\"/console/fleet\" aria-current=\"page\">Fleet</a>"),
        "{html}"
    );
}

#[test]
fn the_fleet_page_says_when_etcd_cannot_be_read_and_outside_a_fleet_there_is_no_fleet_link() {
    let model = FleetView {
        host_id: "host-a".to_owned(),
        etcd: format!("unreachable: {EVIL}"),
        desired: vec![],
        hosts: vec![hostile_host("host-a", false)],
    };
    let html = fleet_live(&model).into_string();
    assert_escaped(&html);
    assert!(html.contains("etcd cannot be read"), "{html}");
    assert!(html.contains("No version is published."), "{html}");
    let overview_page = overview(&Overview::default(), &shell(), None).into_string();
    assert!(!overview_page.contains("/console/fleet"), "{overview_page}");
}
