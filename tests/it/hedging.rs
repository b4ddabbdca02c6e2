//! Hedged requests (`hedge`, `hedge_after_ms`): a first attempt held at the backend forever
//! is overtaken by its hedge, and the retry budget decides how many hedges go out. The
//! delay is a configured millisecond, and nothing depends on it: the first attempts are
//! held until the test lets them go, after the host has decided on their hedge.

use std::time::Duration;

use frontdoor::{
    HostConfig,
    backends::{BackendConfig, HedgeConfig, RetryConfig},
};

use crate::support::{Fixture, HeldBackend, Hold, Reply, TestHost, eventually, get};

const ECHO: Fixture = Fixture::Echo("1.0.0");

/// A host whose backend `held` is `backend`, hedged after 1 ms, with a retry budget of
/// `budget_percent` and no retries; the timeout and deadline bound a broken test only.
async fn host_for(backend: &HeldBackend, budget_percent: u32) -> TestHost {
    let mut config = BackendConfig::new("held", backend.url());
    config.timeout = Duration::from_secs(120);
    config.hedge = HedgeConfig {
        enabled: true,
        after: Some(Duration::from_millis(1)),
    };
    config.retry = RetryConfig {
        attempts: 1,
        budget_percent,
    };
    TestHost::with_config(&[ECHO], move |host: &mut HostConfig| {
        host.backends = vec![config];
        host.request_deadline = Duration::from_secs(120);
    })
    .await
}

/// The `hedges` counters of `held` in `/admin/backends`: sent, won, denied.
async fn hedges(host: &TestHost) -> (u64, u64, u64) {
    let reply = get(&host.admin_url("/admin/backends")).await;
    assert_eq!(reply.status, 200);
    let hedges = &reply.json()["backends"][0]["hedges"];
    let count = |name: &str| hedges[name].as_u64().expect("a count");
    (count("sent"), count("won"), count("denied"))
}

/// Which arrival at the backend answered a device request.
fn answering_arrival(reply: &Reply) -> u64 {
    assert_eq!(reply.status, 200);
    let answer = reply.json();
    assert_eq!(answer["outcome"]["ok"], true, "{answer:#}");
    let body: serde_json::Value =
        serde_json::from_str(answer["answer"].as_str().expect("an answer")).expect("JSON");
    body["arrival"].as_u64().expect("the arrival number")
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
async fn a_hedge_answers_for_a_first_attempt_that_never_does() {
    let backend = HeldBackend::start(Hold::FirstOfEachPath).await;
    // The first call deposits a whole token: its hedge may go.
    let host = host_for(&backend, 100).await;
    let reply = get(&host.url("/echo/gated/held?path=/titles/1")).await;
    assert_eq!(
        answering_arrival(&reply),
        2,
        "the hedge's answer, not the held first attempt's"
    );
    assert_eq!(backend.arrivals("/titles/1"), 2);
    assert_eq!(hedges(&host).await, (1, 1, 0));
    assert_eq!(
        scraped(
            &host,
            "frontdoor_backend_hedges_won_total{backend=\"held\"}"
        )
        .await,
        Some(1.0)
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_budget_caps_hedges() {
    const CALLS: u64 = 6;
    let backend = HeldBackend::start(Hold::FirstOfEachPath).await;
    // Each call deposits half a token: every second call finds a whole one for its hedge.
    let host = host_for(&backend, 50).await;
    for call in 0..CALLS {
        let path = format!("/titles/{call}");
        let (sent_before, _, _) = hedges(&host).await;
        let request = tokio::spawn(get_owned(
            host.url(&format!("/echo/gated/held?path={path}")),
        ));
        // The host decides on this call's hedge while its first attempt is held.
        eventually("the hedge decided", || async {
            let (sent, _, denied) = hedges(&host).await;
            if sent + denied == call + 1 {
                Ok(())
            } else {
                Err(format!("{sent} sent, {denied} denied"))
            }
        })
        .await;
        let (sent, _, _) = hedges(&host).await;
        let hedged = sent > sent_before;
        if !hedged {
            backend.release(&path);
        }
        let reply = request.await.expect("the device request ran");
        let expected = if hedged { 2 } else { 1 };
        assert_eq!(answering_arrival(&reply), expected, "call {call}");
    }
    assert_eq!(
        hedges(&host).await,
        (CALLS / 2, CALLS / 2, CALLS / 2),
        "half a token per call: one hedge in two calls"
    );
    assert_eq!(u64::from(backend.total()), CALLS + CALLS / 2);
    assert_eq!(
        scraped(&host, "frontdoor_backend_hedges_total{backend=\"held\"}").await,
        Some((CALLS / 2) as f64)
    );
    assert_eq!(
        scraped(
            &host,
            "frontdoor_backend_hedges_denied_total{backend=\"held\"}"
        )
        .await,
        Some((CALLS / 2) as f64)
    );
    host.stop().await;
}
