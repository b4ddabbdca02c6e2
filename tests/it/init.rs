//! Init hooks: a new version's `init` reads its `[adapters.NAME.config]`, builds the state
//! its warm-up and handlers read, and runs before the version takes traffic; one that
//! fails, panics, hangs, blocks its thread or gets a bad config is `failed` with the reason
//! and never serves, while the version before it keeps serving every request.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use frontdoor::{HostConfig, backends::BackendConfig};
use hyper::Method;
use serde_json::json;

use crate::support::{Fixture, Recorder, TestHost, get, send};

const V1: Fixture = Fixture::Initer {
    version: "1.0.0",
    mode: "config",
};

/// A host with backend `recorder` and `config` as `[adapters.initer.config]` (none if
/// `None`), whose init hooks may take `init_timeout`.
async fn host(
    recorder: &Recorder,
    config: Option<serde_json::Value>,
    init_timeout: Duration,
    fixtures: &[Fixture],
) -> TestHost {
    let backend = BackendConfig::new("recorder", recorder.url());
    TestHost::with_config(fixtures, move |host: &mut HostConfig| {
        host.backends = vec![backend];
        host.containment.init_timeout = init_timeout;
        if let Some(config) = config {
            host.adapter_configs
                .insert("initer".into(), config.to_string());
        }
    })
    .await
}

fn recorded_paths(recorder: &Recorder) -> Vec<String> {
    recorder
        .requests()
        .into_iter()
        .map(|request| request.path_and_query)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_reads_its_config_and_each_version_serves_the_state_its_own_init_built() {
    let recorder = Recorder::start().await;
    let config = json!({ "greeting": "hej", "cache": { "ttl_ms": 250 } });
    let host = host(&recorder, Some(config), Duration::from_secs(5), &[V1]).await;

    let reply = get(&host.url("/initer/state")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.adapter(), "initer@1.0.0");
    let state = reply.json();
    assert_eq!(state["greeting"], "hej", "{state:#}");
    assert_eq!(state["ttl_ms"], 250, "{state:#}");
    assert_eq!(state["built_by"], "1.0.0", "{state:#}");
    assert_eq!(
        state["backend_status"], 200,
        "init reached its backend: {state:#}"
    );
    assert_eq!(
        state["warmed"], true,
        "the warm-up ran after init and saw its state"
    );
    assert!(
        state["wrong_type"]
            .as_str()
            .is_some_and(|error| error.contains("but init built")),
        "asking for another type is an error: {state:#}"
    );

    // A hot swap: the new version's handlers read the new version's state.
    Fixture::Initer {
        version: "2.0.0",
        mode: "config",
    }
    .rename_into(host.dir(), "initer-2.0.0.so");
    host.wait_for_version("/initer/state", "initer@2.0.0").await;
    let state = get(&host.url("/initer/state")).await.json();
    assert_eq!(state["built_by"], "2.0.0", "{state:#}");
    assert_eq!(state["greeting"], "hej", "{state:#}");
    let v1 = send(
        Method::GET,
        &host.url("/initer/state"),
        &[("x-frontdoor-version", "=1.0.0")],
        Vec::new(),
    )
    .await
    .json();
    assert_eq!(v1["built_by"], "1.0.0", "1.0.0 keeps its own state: {v1:#}");

    let paths = recorded_paths(&recorder);
    for version in ["1.0.0", "2.0.0"] {
        let inits = paths
            .iter()
            .filter(|path| **path == format!("/init/{version}"))
            .count();
        assert_eq!(inits, 1, "one init per loaded version: {paths:?}");
    }
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_init_leaves_the_version_failed_with_its_reason_and_the_previous_one_serving() {
    let recorder = Recorder::start().await;
    let config = json!({ "greeting": "hej" });
    // Long enough for a healthy init on a busy machine; the hang and block cases take it.
    let timeout = Duration::from_secs(2);
    let host = host(&recorder, Some(config), timeout, &[V1]).await;
    host.wait_for_version("/initer/state", "initer@1.0.0").await;

    let stop = Arc::new(AtomicBool::new(false));
    let traffic = tokio::spawn({
        let url = host.url("/initer/state");
        let stop = stop.clone();
        async move {
            let mut answered_by = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let reply = get(&url).await;
                answered_by.push((reply.status, reply.adapter().to_owned()));
            }
            answered_by
        }
    });

    let cases = [
        ("error", "init failed: initer: the config service said no"),
        ("panic", "init panicked: initer: deliberate panic in init"),
        (
            "panic-start",
            "init panicked: initer: panics before its first await",
        ),
        ("hang", "init did not finish within 2000 ms"),
        ("block", "init blocked its thread for more than 2000 ms"),
    ];
    for (mode, expected) in cases {
        Fixture::Initer {
            version: "2.0.0",
            mode,
        }
        .rename_into(host.dir(), "initer-2.0.0.so");
        host.wait_for_failure("initer-2.0.0.so", expected).await;
        let reply = get(&host.url("/initer/state")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.adapter(), "initer@1.0.0", "after the {mode} init");
    }

    stop.store(true, Ordering::SeqCst);
    let answered_by = traffic.await.expect("traffic task");
    assert!(!answered_by.is_empty());
    for (status, adapter) in &answered_by {
        assert_eq!((*status, adapter.as_str()), (200, "initer@1.0.0"));
    }
    let entry = host
        .version_entry("initer", "2.0.0")
        .await
        .expect("initer@2.0.0 is listed");
    assert_eq!(entry["state"], "failed", "{entry:#}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_does_not_fit_is_a_refusal_naming_the_field() {
    let recorder = Recorder::start().await;
    let cases = [
        (
            Some(json!({ "greeting": "hej", "cache": { "ttl_ms": "soon" } })),
            "init failed: bad config at cache.ttl_ms: invalid type: string \"soon\", expected u64",
        ),
        (
            Some(json!({ "greeting": "hej", "colour": "blue" })),
            "init failed: bad config at colour: unknown field `colour`",
        ),
        (None, "missing field `greeting`"),
    ];
    for (config, expected) in cases {
        let host = host(&recorder, config, Duration::from_secs(5), &[V1]).await;
        let reason = host.wait_for_failure("initer-1.0.0.so", expected).await;
        assert!(reason.contains("bad config"), "{reason}");
        let reply = get(&host.url("/initer/state")).await;
        assert_eq!(reply.status, 404, "a refused version serves nothing");
        host.stop().await;
    }
    assert!(
        !recorded_paths(&recorder)
            .iter()
            .any(|path| path.starts_with("/init/")),
        "an init with a bad config stops before its backend call"
    );
}
