//! The API service layer against the sample backends with injected faults: real adapters,
//! a real host, real backend servers, all on 127.0.0.1. No timing assertions: concurrency
//! is observed by counting requests in flight at the backend.

use std::time::Duration;

use frontdoor::{HostConfig, backends::BackendConfig};
use frontdoor_sample_backends::{Faults, SampleBackends, SampleConfig, Service};
use hyper::Method;

use crate::support::{Fixture, TestHost, eventually, get, send};

const ECHO: Fixture = Fixture::Echo("1.0.0");
const ARTWORK: Fixture = Fixture::ArtworkImpl("1.1.0");

async fn sample_backends() -> SampleBackends {
    frontdoor_sample_backends::start(SampleConfig { base_port: None })
        .await
        .expect("sample backends start")
}

/// Every sample service as a backend of the same name, adjusted by `tune`.
fn backend_configs(
    backends: &SampleBackends,
    tune: impl Fn(&mut BackendConfig),
) -> Vec<BackendConfig> {
    Service::ALL
        .iter()
        .map(|service| {
            let mut config = BackendConfig::new(service.name(), backends.url(*service));
            tune(&mut config);
            config
        })
        .collect()
}

async fn host_for(
    backends: &SampleBackends,
    fixtures: &[Fixture],
    tune: impl Fn(&mut BackendConfig),
) -> TestHost {
    let configs = backend_configs(backends, tune);
    TestHost::with_config(fixtures, move |config: &mut HostConfig| {
        config.backends = configs
    })
    .await
}

/// The names of a home page's rows.
fn row_names(home: &serde_json::Value) -> Vec<&str> {
    home["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|row| row["name"].as_str()).collect())
        .unwrap_or_default()
}

async fn set_faults(backends: &SampleBackends, service: Service, faults: Faults) {
    backends
        .set_faults(service, faults)
        .await
        .expect("set faults");
}

/// `/admin/backends` entry of `name`.
async fn backend_view(host: &TestHost, name: &str) -> serde_json::Value {
    let reply = get(&host.admin_url("/admin/backends")).await;
    assert_eq!(reply.status, 200);
    reply.json()["backends"]
        .as_array()
        .and_then(|backends| backends.iter().find(|b| b["name"] == name).cloned())
        .unwrap_or_else(|| panic!("backend {name} listed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tv_home_page_composes_every_backend() {
    let backends = sample_backends().await;
    let host = host_for(
        &backends,
        &[Fixture::Tv, ARTWORK, Fixture::Mobile, Fixture::Artwork20],
        |_| {},
    )
    .await;

    let reply = get(&host.url("/tv/home?profile=42")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let home = reply.json();
    assert_eq!(home["degraded"], serde_json::json!([]));
    assert!(
        home["greeting"]
            .as_str()
            .unwrap_or("")
            .starts_with("Welcome back, ")
    );
    let rows = home["rows"].as_array().expect("rows");
    assert_eq!(rows[0]["name"], "Continue Watching");
    assert!(rows.len() > 2, "{home:#}");
    assert!(
        rows[1]["items"][0]["boxart"]
            .as_str()
            .unwrap_or("")
            .starts_with("artwork@1.1.0/boxart/w342/")
    );
    assert!(
        home["hero"]
            .as_str()
            .unwrap_or("")
            .starts_with("artwork@1.1.0/hero/")
    );
    for service in [
        Service::Profiles,
        Service::Recommendations,
        Service::Bookmarks,
        Service::Catalog,
    ] {
        assert!(
            backends.stats(service).requests >= 1,
            "{service:?} was called"
        );
    }

    let mobile = get(&host.url("/mobile/home?profile=42")).await;
    assert_eq!(mobile.status, 200);
    let mobile = mobile.json();
    assert_eq!(mobile["degraded"], serde_json::json!([]));
    assert!(
        mobile["rows"][0]["items"][0]["image"]
            .as_str()
            .unwrap_or("")
            .contains("/v2/boxart/w185/")
    );
    let view = backend_view(&host, "catalog").await;
    assert!(
        view["by_adapter"]["tv"]["ok"].as_u64().unwrap_or(0) >= 1,
        "{view:#}"
    );
    assert!(
        view["by_adapter"]["mobile"]["ok"].as_u64().unwrap_or(0) >= 1,
        "{view:#}"
    );
    host.stop().await;
    backends.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_bookmarks_service_only_removes_continue_watching() {
    let backends = sample_backends().await;
    let host = host_for(&backends, &[Fixture::Tv, ARTWORK], |_| {}).await;
    set_faults(
        &backends,
        Service::Bookmarks,
        Faults {
            refuse: true,
            ..Faults::default()
        },
    )
    .await;

    let reply = get(&host.url("/tv/home?profile=42")).await;
    assert_eq!(reply.status, 200);
    let home = reply.json();
    assert_eq!(home["degraded"], serde_json::json!(["bookmarks"]));
    let names = row_names(&home);
    assert!(!names.contains(&"Continue Watching"), "{names:?}");
    assert!(!names.is_empty());
    assert!(
        backend_view(&host, "bookmarks").await["totals"]["transport"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    );
    host.stop().await;
    backends.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_backend_hits_its_timeout_and_the_fallback_is_served() {
    let backends = sample_backends().await;
    let host = host_for(&backends, &[Fixture::Tv, ARTWORK], |config| {
        if config.name == "recommendations" {
            config.timeout = Duration::from_millis(100);
        }
    })
    .await;
    set_faults(
        &backends,
        Service::Recommendations,
        Faults {
            latency_ms: 2_000,
            ..Faults::default()
        },
    )
    .await;

    let reply = get(&host.url("/tv/home?profile=7")).await;
    assert_eq!(reply.status, 200);
    let home = reply.json();
    assert_eq!(home["degraded"], serde_json::json!(["recommendations"]));
    let names = row_names(&home);
    assert!(names.contains(&"Popular"), "{names:?}");
    assert_eq!(
        backend_view(&host, "recommendations").await["totals"]["timeout"],
        1
    );

    // A hung backend is no different: the timeout ends the wait.
    set_faults(
        &backends,
        Service::Recommendations,
        Faults {
            hang: true,
            ..Faults::default()
        },
    )
    .await;
    let reply = get(&host.url("/tv/home?profile=7")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["degraded"],
        serde_json::json!(["recommendations"])
    );
    host.stop().await;
    backends.shutdown().await;
}

/// Two backends over the same failing service: `catalog` stays open far longer than any
/// test could run, so "open" is certain while it is checked; `catalog-probe` opens briefly,
/// and the test waits (bounded polling) for its probe instead of guessing how long it takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_backend_opens_the_breaker_and_a_probe_closes_it() {
    let backends = sample_backends().await;
    let breaker = |open_for: Duration| {
        move |config: &mut BackendConfig| {
            config.breaker.min_requests = 4;
            config.breaker.error_threshold_percent = 50;
            config.breaker.open_for = open_for;
        }
    };
    let mut configs = vec![
        BackendConfig::new("catalog", backends.url(Service::Catalog)),
        BackendConfig::new("catalog-probe", backends.url(Service::Catalog)),
    ];
    breaker(Duration::from_secs(3600))(&mut configs[0]);
    breaker(Duration::from_millis(50))(&mut configs[1]);
    let host = TestHost::with_config(&[ECHO], move |config: &mut HostConfig| {
        config.backends = configs;
    })
    .await;
    set_faults(
        &backends,
        Service::Catalog,
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let call =
        |backend: &str| get_owned(host.url(&format!("/echo/call/{backend}?path=/titles/80000001")));

    for backend in ["catalog", "catalog-probe"] {
        for _ in 0..4 {
            let outcome = call(backend).await.json();
            assert_eq!(outcome["kind"], "Status");
            assert_eq!(outcome["status"], 500);
        }
        assert_eq!(backend_view(&host, backend).await["breaker"], "open");
    }
    let reached = backends.stats(Service::Catalog).requests;
    for _ in 0..3 {
        assert_eq!(call("catalog").await.json()["kind"], "CircuitOpen");
    }
    assert_eq!(
        backends.stats(Service::Catalog).requests,
        reached,
        "an open breaker keeps calls off the backend"
    );

    // The backend recovers; once the open duration has passed, one probe goes through and
    // closes the circuit. Until then every call fails fast without reaching the backend.
    set_faults(&backends, Service::Catalog, Faults::default()).await;
    eventually("a probe closing catalog-probe's breaker", || async {
        let outcome = call("catalog-probe").await.json();
        match outcome["kind"].as_str() {
            None if outcome["ok"] == true => Ok(()),
            Some("CircuitOpen") => Err("still open".to_owned()),
            _ => panic!("a call while open either fails fast or is the probe: {outcome}"),
        }
    })
    .await;
    assert_eq!(
        backend_view(&host, "catalog-probe").await["breaker"],
        "closed"
    );
    assert_eq!(
        backends.stats(Service::Catalog).requests,
        reached + 1,
        "only the probe reached the backend"
    );
    assert_eq!(backend_view(&host, "catalog").await["breaker"], "open");
    host.stop().await;
    backends.shutdown().await;
}

async fn get_owned(url: String) -> crate::support::Reply {
    get(&url).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulkhead_rejects_calls_beyond_the_limit() {
    let backends = sample_backends().await;
    let host = host_for(&backends, &[ECHO], |config| config.max_concurrent = 2).await;
    set_faults(
        &backends,
        Service::Catalog,
        Faults {
            latency_ms: 300,
            ..Faults::default()
        },
    )
    .await;

    let reply = get(&host.url("/echo/fanout/catalog?n=5&distinct=1&path=/titles/80000001")).await;
    let outcomes = reply.json();
    assert_eq!(outcomes["ok"], 2, "{outcomes:#}");
    let rejected = outcomes["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .filter(|o| o["kind"] == "Rejected")
        .count();
    assert_eq!(rejected, 3);
    assert_eq!(
        backends.stats(Service::Catalog).requests,
        2,
        "rejected calls never left the host"
    );
    host.stop().await;
    backends.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_gets_in_one_request_reach_the_backend_once() {
    let backends = sample_backends().await;
    let host = host_for(&backends, &[ECHO], |_| {}).await;
    let reply = get(&host.url("/echo/fanout/catalog?n=5&path=/titles/80000003")).await;
    assert_eq!(reply.json()["ok"], 5);
    let count = |stats: frontdoor_sample_backends::Stats| {
        stats.by_path.get("GET /titles/80000003").copied()
    };
    assert_eq!(count(backends.stats(Service::Catalog)), Some(1));
    assert_eq!(backend_view(&host, "catalog").await["deduplicated"], 4);
    // Deduplication is per device request: the next request calls again.
    get(&host.url("/echo/fanout/catalog?n=5&path=/titles/80000003")).await;
    assert_eq!(count(backends.stats(Service::Catalog)), Some(2));
    host.stop().await;
    backends.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_parallel_calls_are_in_flight_at_once() {
    let backends = sample_backends().await;
    let host = host_for(&backends, &[ECHO], |_| {}).await;
    set_faults(
        &backends,
        Service::Catalog,
        Faults {
            latency_ms: 200,
            ..Faults::default()
        },
    )
    .await;
    backends.reset_stats(Service::Catalog);

    let reply = get(&host.url("/echo/fanout/catalog?n=10&distinct=1&path=/titles/80000001")).await;
    assert_eq!(reply.json()["ok"], 10);
    let stats = backends.stats(Service::Catalog);
    assert_eq!(stats.requests, 10);
    assert_eq!(
        stats.max_in_flight, 10,
        "all ten were at the backend at the same time, not one after another"
    );
    host.stop().await;
    backends.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_deadline_bounds_backend_calls() {
    let backends = sample_backends().await;
    let configs = backend_configs(&backends, |config| config.timeout = Duration::from_secs(10));
    let host = TestHost::with_config(&[ECHO], move |config: &mut HostConfig| {
        config.backends = configs;
        config.request_deadline = Duration::from_millis(150);
    })
    .await;
    set_faults(
        &backends,
        Service::Catalog,
        Faults {
            hang: true,
            ..Faults::default()
        },
    )
    .await;
    let outcome = get(&host.url("/echo/call/catalog?path=/titles/80000001"))
        .await
        .json();
    assert_eq!(
        outcome["kind"], "Timeout",
        "the 150 ms deadline ended the 10 s timeout"
    );
    host.stop().await;
    backends.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_runs_its_ordered_sequence_and_saves_positions() {
    let backends = sample_backends().await;
    let host = host_for(&backends, &[Fixture::Playback], |_| {}).await;

    let save = send(
        Method::PUT,
        &host.url("/playback/position"),
        &[("content-type", "application/json")],
        br#"{"profile":42,"title_id":80000010,"position_s":1234}"#.to_vec(),
    )
    .await;
    assert_eq!(save.status, 200, "{:?}", save.body);

    let start = send(
        Method::POST,
        &host.url("/playback/start"),
        &[("content-type", "application/json")],
        br#"{"profile":42,"title_id":80000010,"device":"tv"}"#.to_vec(),
    )
    .await;
    assert_eq!(start.status, 200, "{:?}", start.body);
    let start = start.json();
    assert_eq!(start["resume_from_s"], 1234);
    assert_eq!(start["decision"]["max_resolution"], "2160p");

    let missing = send(
        Method::POST,
        &host.url("/playback/start"),
        &[],
        br#"{"profile":42,"title_id":1,"device":"tv"}"#.to_vec(),
    )
    .await;
    assert_eq!(missing.status, 404);
    let garbage = send(
        Method::POST,
        &host.url("/playback/start"),
        &[],
        b"not json".to_vec(),
    )
    .await;
    assert_eq!(garbage.status, 400);

    // Without bookmarks, playback still starts, from the beginning.
    set_faults(
        &backends,
        Service::Bookmarks,
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let start = send(
        Method::POST,
        &host.url("/playback/start"),
        &[],
        br#"{"profile":42,"title_id":80000010,"device":"mobile"}"#.to_vec(),
    )
    .await;
    assert_eq!(start.status, 200);
    assert_eq!(start.json()["resume_from_s"], 0);
    host.stop().await;
    backends.shutdown().await;
}
