//! The Grafana dashboard asks only for series the host exports: every metric name in every
//! panel's query exists in a real scrape of a host that served requests and backend calls.

use std::collections::BTreeSet;

use frontdoor::backends::BackendConfig;

use super::scrape::Scrape;
use crate::support::{Fixture, Recorder, TestHost, eventually, fixtures::workspace_root, get};

/// Every `frontdoor_...` name in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find("frontdoor_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// The `expr` of every target of every panel, rows' nested panels included.
fn exprs(panels: &[serde_json::Value], out: &mut Vec<String>) {
    for panel in panels {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push(expr.to_owned());
            }
        }
        if let Some(nested) = panel["panels"].as_array() {
            exprs(nested, out);
        }
    }
}

#[test]
fn names_are_read_out_of_expressions() {
    assert_eq!(
        metric_names("sum(rate(frontdoor_a_total{x=\"y\"}[5m])) / frontdoor_b"),
        ["frontdoor_a_total", "frontdoor_b"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_dashboard_queries_is_exported() {
    let path = workspace_root().join("dashboards/frontdoor.json");
    let text = std::fs::read_to_string(&path).expect("dashboards/frontdoor.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut queries = Vec::new();
    exprs(
        dashboard["panels"].as_array().expect("panels"),
        &mut queries,
    );
    let names: BTreeSet<String> = queries.iter().flat_map(|expr| metric_names(expr)).collect();
    // The dashboard covers requests, backends and reloads: a handful of families at least.
    assert!(names.len() >= 15, "{names:?}");

    let recorder = Recorder::start().await;
    let backend = BackendConfig::new("rec", recorder.url());
    let host = TestHost::with_config(&[Fixture::Echo("1.0.0")], move |config| {
        config.backends = vec![backend];
        // The heap panel needs one sample of each copy.
        config.containment.sample_every = std::time::Duration::from_millis(20);
    })
    .await;
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    assert_eq!(get(&host.url("/echo/call/rec?path=/x")).await.status, 200);

    // Heap samples arrive on the monitor's schedule: wait (bounded) for what is missing.
    eventually("every dashboard metric in the scrape", || async {
        let scrape = Scrape::of(&host).await;
        let missing: Vec<&String> = names.iter().filter(|name| !scrape.has(name)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("missing {missing:?}"))
        }
    })
    .await;
    host.stop().await;
}
