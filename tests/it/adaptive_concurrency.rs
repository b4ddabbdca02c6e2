//! Adaptive concurrency against the sample backends: `recommendations` hangs under tv home
//! pages and under requests making parallel calls to it. Counts only, no clock: each page
//! loses one call to the timeout (a drop), which takes the limit to its floor within a known
//! number of pages; from then on the parallel calls of one request share the floor's slot
//! and the rest are refused without leaving the host, while every page is answered,
//! degraded. When the service answers again the limit grows back.

use std::time::Duration;

use frontdoor::{
    HostConfig,
    backends::{AdaptiveConfig, BackendConfig, Concurrency},
};
use frontdoor_sample_backends::{Faults, SampleBackends, SampleConfig, Service};
use serde_json::json;

use crate::support::{Fixture, TestHost, eventually, get};

const FLOOR: u64 = 1;
const CEILING: u64 = 16;
/// Parallel calls to the hung service per echo request.
const PARALLEL: usize = 6;
const WORKERS: usize = 4;
const ROUNDS: usize = 5;

/// Every sample service as a backend of its name; `recommendations` adaptive.
fn backend_configs(backends: &SampleBackends) -> Vec<BackendConfig> {
    Service::ALL
        .iter()
        .map(|service| {
            let mut config = BackendConfig::new(service.name(), backends.url(*service));
            if *service == Service::Recommendations {
                config.timeout = Duration::from_millis(200);
                config.max_concurrent = CEILING as usize;
                config.concurrency = Concurrency::Adaptive(AdaptiveConfig {
                    min_limit: FLOOR as usize,
                    ..AdaptiveConfig::default()
                });
                // The breaker would open on these timeouts and hide the limit.
                config.breaker.min_requests = u32::MAX;
            }
            config
        })
        .collect()
}

/// `concurrency` of `recommendations` in `/admin/backends`.
async fn concurrency(host: &TestHost) -> serde_json::Value {
    let reply = get(&host.admin_url("/admin/backends")).await;
    assert_eq!(reply.status, 200);
    reply.json()["backends"]
        .as_array()
        .and_then(|all| all.iter().find(|b| b["name"] == "recommendations"))
        .map(|backend| backend["concurrency"].clone())
        .expect("recommendations listed")
}

async fn limit(host: &TestHost) -> u64 {
    concurrency(host).await["limit"].as_u64().expect("a limit")
}

/// A tv home page: answered, and whether recommendations was degraded.
async fn home_degraded(url: &str) -> bool {
    let reply = get(url).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let degraded = reply.json()["degraded"].clone();
    if degraded == json!([]) {
        return false;
    }
    assert_eq!(degraded, json!(["recommendations"]));
    true
}

/// One echo request making [`PARALLEL`] calls to recommendations: (timeouts, rejections).
async fn parallel_calls(url: &str) -> (usize, usize) {
    let reply = get(url).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let outcomes = reply.json()["outcomes"].clone();
    let kinds: Vec<&str> = outcomes
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|outcome| outcome["kind"].as_str().unwrap_or("ok"))
        .collect();
    assert_eq!(kinds.len(), PARALLEL);
    let count = |kind: &str| kinds.iter().filter(|k| **k == kind).count();
    let (timeouts, rejected) = (count("Timeout"), count("Rejected"));
    assert_eq!(timeouts + rejected, PARALLEL, "{kinds:?}");
    (timeouts, rejected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_backend_gets_the_floor_and_pages_keep_being_answered() {
    let backends = frontdoor_sample_backends::start(SampleConfig { base_port: None })
        .await
        .expect("sample backends start");
    let configs = backend_configs(&backends);
    let host = TestHost::with_config(
        &[
            Fixture::Tv,
            Fixture::ArtworkImpl("1.1.0"),
            Fixture::Echo("1.0.0"),
        ],
        move |config: &mut HostConfig| config.backends = configs,
    )
    .await;
    let home = host.url("/tv/home?profile=42");
    let parallel = host.url(&format!(
        "/echo/fanout/recommendations?n={PARALLEL}&distinct=1&path=/rows"
    ));

    assert!(!home_degraded(&home).await, "healthy: the page is whole");
    let view = concurrency(&host).await;
    assert_eq!(view["mode"], "adaptive");
    assert_eq!(
        view["limit"], CEILING,
        "a healthy backend keeps the ceiling"
    );

    backends
        .set_faults(
            Service::Recommendations,
            Faults {
                hang: true,
                ..Faults::default()
            },
        )
        .await
        .expect("hang");
    // One page at a time: each loses its recommendations call to the timeout, a drop that
    // takes a tenth off the limit, so 16 falls below 2 by the 20th page.
    let mut pages = 0;
    while limit(&host).await > FLOOR {
        assert!(
            pages < 20,
            "20 drops leave the limit at its floor: {}",
            concurrency(&host).await
        );
        assert!(home_degraded(&home).await);
        pages += 1;
    }

    // Bounded load in parallel: tv pages and requests making six calls at once. Within one
    // request the six calls start together and the floor admits one of them at most; the
    // others are refused at once, never reaching the service.
    backends.reset_stats(Service::Recommendations);
    let rejected_before = concurrency(&host).await["rejected"]
        .as_u64()
        .expect("count");
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (home, parallel) = (home.clone(), parallel.clone());
            tokio::spawn(async move {
                let mut totals = (0, 0);
                for _ in 0..ROUNDS {
                    let (timeouts, rejected) = parallel_calls(&parallel).await;
                    assert!(timeouts <= FLOOR as usize, "{timeouts} calls admitted");
                    totals = (totals.0 + timeouts, totals.1 + rejected);
                    assert!(home_degraded(&home).await, "the page is answered, degraded");
                }
                totals
            })
        })
        .collect();
    let (mut admitted, mut refused) = (0, 0);
    for worker in workers {
        let (timeouts, rejected) = worker.await.expect("worker");
        admitted += timeouts;
        refused += rejected;
    }
    let requests = WORKERS * ROUNDS;
    assert!(admitted <= requests * FLOOR as usize);
    assert!(refused >= requests * (PARALLEL - FLOOR as usize));
    let reached = backends.stats(Service::Recommendations).requests;
    assert!(
        reached <= (requests * (FLOOR as usize + 1)) as u64,
        "at most the floor's call of each request, and each page's, reached the service: {reached}"
    );
    let view = concurrency(&host).await;
    assert_eq!(view["limit"], FLOOR);
    assert!(
        view["rejected"].as_u64().expect("count") - rejected_before >= refused as u64,
        "{view}"
    );
    let metrics = get(&host.admin_url("/metrics")).await;
    let metrics = String::from_utf8_lossy(&metrics.body);
    assert!(
        metrics.contains(&format!(
            "frontdoor_backend_concurrency_limit{{backend=\"recommendations\"}} {FLOOR}"
        )),
        "{metrics}"
    );

    // Answering again: answers let the limit grow back, page by page, to the ceiling.
    backends
        .set_faults(Service::Recommendations, Faults::default())
        .await
        .expect("heal");
    eventually("the limit back at its ceiling", || async {
        home_degraded(&home).await;
        match limit(&host).await {
            CEILING => Ok(()),
            other => Err(format!("limit {other}")),
        }
    })
    .await;
    assert!(!home_degraded(&home).await);
    host.stop().await;
    backends.shutdown().await;
}
