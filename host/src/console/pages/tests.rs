//! Rendering with hostile values: names, routes, reasons and errors come from plugins and
//! backends, so every one of them must come out as text.

use crate::{
    console::{
        history::Point,
        model::{AdapterPage, Overview, PluginRow, Refusal, VersionRow},
    },
    requests::{CallView, Kept, RecentRequest},
};

use super::{AdapterControls, Shell, adapter, overview};

const EVIL: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&";

fn shell() -> Shell<'static> {
    Shell {
        team: EVIL,
        csrf: "0123456789abcdef0123456789abcdef",
        current: "/console",
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
