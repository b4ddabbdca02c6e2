//! Warm-up: a new version runs its `warmup` entry before it takes traffic; one that fails,
//! panics or runs out of time is `failed` with the reason and never serves, while the
//! version before it keeps serving every request.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use frontdoor::{HostConfig, backends::BackendConfig};

use crate::support::{Fixture, Recorder, TestHost, get};

const V1: Fixture = Fixture::Warmer {
    version: "1.0.0",
    mode: "call",
};

async fn host_with_recorder(recorder: &Recorder, fixtures: &[Fixture]) -> TestHost {
    let backend = BackendConfig::new("recorder", recorder.url());
    TestHost::with_config(fixtures, move |config: &mut HostConfig| {
        config.backends = vec![backend];
        // Short, so the `hang` case ends quickly; the outcome does not depend on it.
        config.containment.warmup_timeout = Duration::from_millis(300);
    })
    .await
}

/// Paths the recorder saw, in arrival order.
fn recorded_paths(recorder: &Recorder) -> Vec<String> {
    recorder
        .requests()
        .into_iter()
        .map(|request| request.path_and_query)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_warmup_leaves_the_version_failed_and_the_previous_one_serving() {
    let recorder = Recorder::start().await;
    let host = host_with_recorder(&recorder, &[V1]).await;
    host.wait_for_version("/warmer/state", "warmer@1.0.0").await;

    // Requests run the whole time; every one must be answered by 1.0.0.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = tokio::spawn({
        let url = host.url("/warmer/state");
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
        ("error", "warm-up failed: warmer: the cache backend said no"),
        (
            "panic",
            "warm-up panicked: warmer: deliberate panic in warm-up",
        ),
        (
            "panic-start",
            "warm-up panicked: warmer: panics before its first await",
        ),
        ("hang", "warm-up did not finish within 300 ms"),
    ];
    for (mode, expected) in cases {
        let bad = Fixture::Warmer {
            version: "2.0.0",
            mode,
        };
        bad.rename_into(host.dir(), "warmer-2.0.0.so");
        host.wait_for_failure("warmer-2.0.0.so", expected).await;
        let reply = get(&host.url("/warmer/state")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.adapter(), "warmer@1.0.0", "after the {mode} warm-up");
    }

    stop.store(true, Ordering::SeqCst);
    let answered_by = traffic.await.expect("traffic task");
    assert!(!answered_by.is_empty());
    for (status, adapter) in &answered_by {
        assert_eq!((*status, adapter.as_str()), (200, "warmer@1.0.0"));
    }
    let entry = host
        .version_entry("warmer", "2.0.0")
        .await
        .expect("warmer@2.0.0 is listed");
    assert_eq!(entry["state"], "failed", "{entry:#}");
    assert!(
        entry["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("did not finish within 300 ms")),
        "{entry:#}"
    );
    let paths = recorded_paths(&recorder);
    assert!(
        !paths.iter().any(|path| path == "/request/2.0.0"),
        "no request reached a version that failed its warm-up: {paths:?}"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warmup_calls_its_backend_before_the_first_request_reaches_the_version() {
    let recorder = Recorder::start().await;
    // At start-up too: the version deployed by the initial scan is warmed before serving.
    let host = host_with_recorder(&recorder, &[V1]).await;
    let reply = get(&host.url("/warmer/state")).await;
    assert_eq!(reply.adapter(), "warmer@1.0.0");
    assert_eq!(reply.json()["warmed"], true);

    Fixture::Warmer {
        version: "2.0.0",
        mode: "call",
    }
    .rename_into(host.dir(), "warmer-2.0.0.so");
    host.wait_for_version("/warmer/state", "warmer@2.0.0").await;
    let reply = get(&host.url("/warmer/state")).await;
    assert_eq!(reply.json()["warmed"], true);

    let paths = recorded_paths(&recorder);
    for version in ["1.0.0", "2.0.0"] {
        let warmed = paths
            .iter()
            .position(|path| *path == format!("/warmup/{version}"))
            .unwrap_or_else(|| panic!("no warm-up call of {version}: {paths:?}"));
        let first_request = paths
            .iter()
            .position(|path| *path == format!("/request/{version}"))
            .unwrap_or_else(|| panic!("no request reached {version}: {paths:?}"));
        assert!(
            warmed < first_request,
            "{version}: warm-up call at {warmed}, first request at {first_request}: {paths:?}"
        );
        assert_eq!(
            paths
                .iter()
                .filter(|path| **path == format!("/warmup/{version}"))
                .count(),
            1,
            "one warm-up per version: {paths:?}"
        );
    }
    host.wait_for_entry("warmer", "2.0.0", |entry| entry["state"] == "active")
        .await;
    host.stop().await;
}
