//! `GET /metrics`: a real host serving a real adapter cdylib, the static baseline and real
//! backend calls, scraped over HTTP. Counts are exact after a known sequence of requests;
//! a swapped-out version's series leave the scrape; the endpoint refuses other methods and
//! escapes what authors put in labels.

mod dashboard;
mod scrape;

use bytes::Bytes;
use frontdoor::{backends::BackendConfig, registry::PluginVersion};
use hyper::Method;

use crate::support::{Fixture, Recorder, TestHost, get, refusing_url, send};
use scrape::Scrape;

const REQUESTS: &str = "frontdoor_device_requests_total";
const DURATION_COUNT: &str = "frontdoor_device_request_duration_seconds_count";
const UNROUTED: &str = "frontdoor_unrouted_requests_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_backend_calls_are_counted_exactly() {
    let recorder = Recorder::start().await;
    let backends = vec![
        BackendConfig::new("rec", recorder.url()),
        BackendConfig::new("dead", refusing_url()),
    ];
    let host = TestHost::with_config(&[Fixture::Echo("1.0.0")], move |config| {
        config.backends = backends;
    })
    .await;
    let status = |path: &'static str| {
        let url = host.url(path);
        async move { get(&url).await.status }
    };
    for _ in 0..3 {
        assert_eq!(status("/echo/hello").await, 200);
    }
    assert_eq!(status("/echo/no-such-route").await, 404);
    assert_eq!(status("/echo/panic").await, 500);
    let wrong_method = send(Method::DELETE, &host.url("/echo/hello"), &[], Vec::new()).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(status("/echo/call/rec?path=/thing").await, 200);
    assert_eq!(status("/echo/call/dead?path=/thing").await, 200);
    for _ in 0..2 {
        assert_eq!(status("/static-bench/hello").await, 200);
    }
    // Answered before a version was chosen: no label can name the adapter or version.
    assert_eq!(status("/nobody/home").await, 404);
    let versioned = |requirement: &'static str| {
        let url = host.url("/echo/hello");
        async move {
            send(
                Method::GET,
                &url,
                &[("x-frontdoor-version", requirement)],
                Vec::new(),
            )
            .await
            .status
        }
    };
    assert_eq!(versioned("not a requirement").await, 400);
    assert_eq!(versioned("=9.9.9").await, 404);

    let scrape = Scrape::of(&host).await;
    let echo = |route: &'static str, class: &'static str| {
        scrape.value(
            REQUESTS,
            &[
                ("adapter", "echo"),
                ("version", "1.0.0"),
                ("route", route),
                ("status_class", class),
            ],
        )
    };
    assert_eq!(echo("GET /hello", "2xx"), 3.0);
    assert_eq!(echo("GET /panic", "5xx"), 1.0);
    assert_eq!(echo("GET /call/{backend}", "2xx"), 2.0);
    // The missing route and the wrong method reached the version but no route.
    assert_eq!(echo("unmatched", "4xx"), 2.0);
    assert_eq!(
        scrape.matching(REQUESTS, &[("adapter", "echo")]).count(),
        4,
        "only the classes seen are exported:\n{}",
        scrape.text
    );
    let latency = |adapter: &'static str, route: &'static str| {
        scrape.value(DURATION_COUNT, &[("adapter", adapter), ("route", route)])
    };
    assert_eq!(latency("echo", "GET /hello"), 3.0);
    assert_eq!(latency("echo", "unmatched"), 2.0);
    // The compiled-in baseline is counted by the same code as a plugin.
    assert_eq!(
        scrape.value(
            REQUESTS,
            &[
                ("adapter", "static-bench"),
                ("version", "1.0.0"),
                ("route", "GET /hello"),
                ("status_class", "2xx"),
            ],
        ),
        2.0
    );
    assert_eq!(latency("static-bench", "GET /hello"), 2.0);
    let unrouted = |reason: &'static str| scrape.value(UNROUTED, &[("reason", reason)]);
    assert_eq!(unrouted("no_adapter"), 1.0);
    assert_eq!(unrouted("bad_version_header"), 1.0);
    assert_eq!(unrouted("no_matching_version"), 1.0);
    assert_eq!(unrouted("quarantined"), 0.0);

    let calls = |backend: &'static str, outcome: &'static str| {
        scrape.value(
            "frontdoor_backend_calls_total",
            &[
                ("backend", backend),
                ("adapter", "echo"),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(calls("rec", "ok"), 1.0);
    assert_eq!(calls("dead", "transport"), 1.0);
    assert_eq!(
        scrape
            .matching("frontdoor_backend_calls_total", &[])
            .count(),
        2
    );
    let per_backend =
        |name: &'static str, backend: &'static str| scrape.value(name, &[("backend", backend)]);
    assert_eq!(per_backend("frontdoor_backend_attempts_total", "rec"), 1.0);
    assert_eq!(
        per_backend("frontdoor_backend_attempt_duration_seconds_count", "rec"),
        1.0
    );
    assert_eq!(per_backend("frontdoor_backend_retries_total", "dead"), 0.0);
    assert_eq!(per_backend("frontdoor_backend_in_flight", "rec"), 0.0);
    assert_eq!(
        scrape.value(
            "frontdoor_backend_breaker_state",
            &[("backend", "rec"), ("state", "closed")]
        ),
        1.0
    );
    assert_eq!(recorder.requests().len(), 1);

    let echo_version = [("plugin", "echo"), ("version", "1.0.0")];
    assert_eq!(
        scrape.value("frontdoor_plugin_panics_total", &echo_version),
        1.0
    );
    assert_eq!(
        scrape.value("frontdoor_plugin_handler_timeouts_total", &echo_version),
        0.0
    );
    assert_eq!(
        scrape.value("frontdoor_plugin_quarantined", &echo_version),
        0.0
    );
    // echo and the two baselines (static-bench, static-fanout) are each their adapter's
    // default.
    assert_eq!(
        scrape.value("frontdoor_plugin_versions", &[("state", "active")]),
        3.0
    );
    assert_eq!(scrape.value("frontdoor_mapped_libraries", &[]), 1.0);
    // Loaded by the start-up scan, not by the deployer: no reload yet, and its probe ran at
    // the host's own priority.
    assert_eq!(
        scrape.value("frontdoor_reload_duration_seconds_count", &[]),
        0.0
    );
    assert_eq!(probe_runs(&scrape), [0.0, 0.0, 1.0]);
    assert!(
        scrape.value(
            "frontdoor_listener_accepted_connections_total",
            &[("listener", "device")]
        ) >= 1.0
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swapped_out_version_leaves_the_scrape() {
    let host = TestHost::with(&[Fixture::Echo("1.0.0")]).await;
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    let before = Scrape::of(&host).await;
    assert_eq!(
        before.value(
            REQUESTS,
            &[
                ("adapter", "echo"),
                ("version", "1.0.0"),
                ("route", "GET /hello")
            ]
        ),
        1.0
    );

    // A new build under the same file name: 1.0.0 drains and retires.
    Fixture::Echo("2.0.0").rename_into(host.dir(), "echo-1.0.0.so");
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;
    host.wait_for_entry("echo", "1.0.0", |entry| entry["state"] == "retired")
        .await;

    let after = Scrape::of(&host).await;
    let old: Vec<_> = after
        .samples
        .iter()
        .filter(|sample| {
            sample.labels.get("version").map(String::as_str) == Some("1.0.0")
                && [sample.labels.get("adapter"), sample.labels.get("plugin")]
                    .contains(&Some(&"echo".to_owned()))
        })
        .collect();
    assert!(old.is_empty(), "echo@1.0.0 is still exported: {old:?}");
    assert!(
        after
            .matching(REQUESTS, &[("adapter", "echo"), ("version", "2.0.0")])
            .count()
            >= 1
    );
    assert!(after.has("frontdoor_plugin_panics_total"));
    assert_eq!(
        after.value("frontdoor_plugin_versions", &[("state", "retired")]),
        1.0
    );
    assert_eq!(after.value("frontdoor_retired_versions", &[]), 1.0);
    // The deployer timed the one reload it made.
    assert_eq!(
        after.value("frontdoor_reload_duration_seconds_count", &[]),
        1.0
    );
    // Its probe ran idle: to the end, or held back and then again at the deployer's
    // priority (which one depends on how busy the machine is).
    let [idle, held_back, normal] = probe_runs(&after);
    assert_eq!(idle + held_back, 1.0);
    assert_eq!(normal, 1.0 + held_back);
    host.stop().await;
}

/// `frontdoor_load_probes_total` by run: idle, held_back, normal.
fn probe_runs(scrape: &Scrape) -> [f64; 3] {
    ["idle", "held_back", "normal"]
        .map(|run| scrape.value("frontdoor_load_probes_total", &[("run", run)]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answers_only_get() {
    let host = TestHost::with(&[]).await;
    let brew = Method::from_bytes(b"BREW").expect("a valid extension method");
    for method in [Method::POST, Method::DELETE, Method::PUT, brew] {
        let reply = send(
            method.clone(),
            &host.admin_url("/metrics"),
            &[],
            b"x".to_vec(),
        )
        .await;
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.json()["error"], "method not allowed");
    }
    // Still served afterwards.
    Scrape::of(&host).await;
    host.stop().await;
}

fn odd_handler(_route: u32, _query: &str) -> (u16, Bytes) {
    (200, Bytes::from_static(b"{}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_values_from_authors_are_escaped() {
    let host = TestHost::with(&[]).await;
    // A route pattern is the author's text: quotes and backslashes are legal in a literal
    // segment, and such a path can be requested. (Newlines cannot reach a request; the
    // encoder's unit tests cover them.)
    host.host.registry.add_builtin(PluginVersion::builtin(
        "odd",
        &semver::Version::new(1, 0, 0),
        &[(Method::GET, "/say\"hi\"\\")],
        odd_handler,
    ));
    let reply = get(&host.url("/odd/say\"hi\"\\")).await;
    assert_eq!(reply.status, 200, "{reply:?}");

    let scrape = Scrape::of(&host).await;
    assert!(
        scrape.text.contains(
            "frontdoor_device_requests_total{adapter=\"odd\",version=\"1.0.0\",\
             route=\"GET /say\\\"hi\\\"\\\\\",status_class=\"2xx\"} 1\n"
        ),
        "{}",
        scrape.text
    );
    // Parsed back, the label is the author's text again.
    assert_eq!(
        scrape.value(
            REQUESTS,
            &[("adapter", "odd"), ("route", "GET /say\"hi\"\\")]
        ),
        1.0
    );
    host.stop().await;
}
