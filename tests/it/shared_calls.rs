//! Shared in-flight calls across device requests (`share_in_flight`): concurrent device
//! requests making the same GET reach the backend once and all get its answer, and one
//! of them going away fails none of the others. "In flight" is observed through the
//! backend's own count of arrivals and `/admin/backends`, never by waiting a while.

use std::time::Duration;

use frontdoor::{HostConfig, backends::BackendConfig};

use crate::support::{Fixture, HeldBackend, Hold, RawClient, Reply, TestHost, eventually, get};

const ECHO: Fixture = Fixture::Echo("1.0.0");
const DEVICE_REQUESTS: u64 = 8;
const PATH: &str = "/titles/80000001";

/// A host whose backend `held` is `backend`, with room to stay held for as long as a test
/// step takes (the timeout and deadline bound a broken test; they time nothing).
async fn host_for(backend: &HeldBackend, share_in_flight: bool) -> TestHost {
    let mut config = BackendConfig::new("held", backend.url());
    config.timeout = Duration::from_secs(120);
    config.share_in_flight = share_in_flight;
    TestHost::with_config(&[ECHO], move |host: &mut HostConfig| {
        host.backends = vec![config];
        host.request_deadline = Duration::from_secs(120);
    })
    .await
}

/// `held` as `/admin/backends` shows it.
async fn backend_view(host: &TestHost) -> serde_json::Value {
    let reply = get(&host.admin_url("/admin/backends")).await;
    assert_eq!(reply.status, 200);
    reply.json()["backends"][0].clone()
}

fn device_url(host: &TestHost) -> String {
    host.url(&format!("/echo/gated/held?path={PATH}"))
}

async fn get_owned(url: String) -> Reply {
    get(&url).await
}

/// The value of a `/metrics` sample, by its exact name and labels.
async fn scraped(host: &TestHost, series: &str) -> Option<f64> {
    let text = get(&host.admin_url("/metrics")).await.body;
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_device_requests_for_the_same_get_reach_the_backend_once() {
    let backend = HeldBackend::start(Hold::Everything).await;
    let host = host_for(&backend, true).await;
    let requests: Vec<_> = (0..DEVICE_REQUESTS)
        .map(|_| tokio::spawn(get_owned(device_url(&host))))
        .collect();
    // Every device request is in flight: one call at the backend, the others joined it.
    eventually("every device request joining one call", || async {
        let shared = backend_view(&host).await["shared"].as_u64();
        let arrivals = backend.arrivals(PATH);
        if arrivals == 1 && shared == Some(DEVICE_REQUESTS - 1) {
            Ok(())
        } else {
            Err(format!("{arrivals} at the backend, {shared:?} shared"))
        }
    })
    .await;
    backend.open();
    for request in requests {
        let reply = request.await.expect("the device request ran");
        assert_eq!(reply.status, 200);
        let answer = reply.json();
        assert_eq!(answer["outcome"]["ok"], true, "{answer:#}");
        let body: serde_json::Value =
            serde_json::from_str(answer["answer"].as_str().expect("an answer")).expect("JSON");
        assert_eq!(body["arrival"], 1, "everyone got the one call's answer");
    }
    assert_eq!(backend.total(), 1, "the backend was called once");
    let view = backend_view(&host).await;
    assert_eq!(view["attempts"], 1);
    assert_eq!(view["shared"], DEVICE_REQUESTS - 1);
    assert_eq!(
        view["totals"]["ok"], DEVICE_REQUESTS,
        "each device request counted its call"
    );
    assert_eq!(
        scraped(
            &host,
            "frontdoor_backend_shared_calls_total{backend=\"held\"}"
        )
        .await,
        Some((DEVICE_REQUESTS - 1) as f64)
    );
    // The answer is not kept: the next request calls again.
    let reply = get(&device_url(&host)).await;
    assert_eq!(reply.json()["outcome"]["ok"], true);
    assert_eq!(backend.total(), 2);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_opt_in_each_device_request_makes_its_own_call() {
    let backend = HeldBackend::start(Hold::Everything).await;
    let host = host_for(&backend, false).await;
    let requests: Vec<_> = (0..DEVICE_REQUESTS)
        .map(|_| tokio::spawn(get_owned(device_url(&host))))
        .collect();
    eventually("every device request's call at the backend", || async {
        let arrivals = backend.arrivals(PATH);
        if u64::from(arrivals) == DEVICE_REQUESTS {
            Ok(())
        } else {
            Err(format!("{arrivals} at the backend"))
        }
    })
    .await;
    backend.open();
    for request in requests {
        assert_eq!(request.await.expect("ran").status, 200);
    }
    assert_eq!(backend_view(&host).await["shared"], 0);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_device_went_away_does_not_fail_its_followers() {
    let backend = HeldBackend::start(Hold::Everything).await;
    let host = host_for(&backend, true).await;
    // The leader's device request starts the call, on a connection the test can cut.
    let mut leader = RawClient::connect(host.host.device_addr).await;
    leader
        .send(format!("GET /echo/gated/held?path={PATH} HTTP/1.1\r\nhost: test\r\n\r\n").as_bytes())
        .await;
    eventually("the leader's call at the backend", || async {
        match backend.arrivals(PATH) {
            1 => Ok(()),
            other => Err(format!("{other} arrivals")),
        }
    })
    .await;
    let follower = tokio::spawn(get_owned(device_url(&host)));
    eventually("the follower joining the call", || async {
        match backend_view(&host).await["shared"].as_u64() {
            Some(1) => Ok(()),
            other => Err(format!("{other:?} shared")),
        }
    })
    .await;
    host.wait_for_entry("echo", "1.0.0", |entry| entry["in_flight"] == 2)
        .await;
    // The leader's device goes away: the host drops its request, and its wait for the call.
    drop(leader);
    host.wait_for_entry("echo", "1.0.0", |entry| entry["in_flight"] == 1)
        .await;
    backend.open();
    let reply = follower.await.expect("the follower ran");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["outcome"]["ok"],
        true,
        "the call went on without its leader"
    );
    assert_eq!(backend.total(), 1);
    host.stop().await;
}
