//! Request counters over real sockets: per path, concurrency, reset.

use frontdoor_sample_backends::{Faults, Service};

use crate::support::{backends, bounded, get};

#[tokio::test]
async fn counts_each_path_without_its_query() {
    let backends = backends().await;
    let addr = backends.addr(Service::Catalog);
    get(addr, "/titles/80000001").await;
    get(addr, "/titles/80000001").await;
    get(addr, "/titles?ids=80000001,80000002").await;
    get(addr, "/titles?ids=80000003").await;
    get(addr, "/health").await;
    get(addr, "/nope").await;
    let stats = backends.stats(Service::Catalog);
    assert_eq!(stats.requests, 5);
    assert_eq!(stats.in_flight, 0);
    assert_eq!(stats.max_in_flight, 1);
    assert_eq!(stats.by_path["GET /titles/80000001"], 2);
    assert_eq!(stats.by_path["GET /titles"], 2);
    assert_eq!(stats.by_path["GET /nope"], 1);
    assert!(!stats.by_path.contains_key("GET /health"));
    assert_eq!(stats.by_path.len(), 3);
    // Services count separately.
    assert_eq!(backends.stats(Service::Profiles).requests, 0);

    backends.reset_stats(Service::Catalog);
    let reset = backends.stats(Service::Catalog);
    assert_eq!((reset.requests, reset.max_in_flight), (0, 0));
    assert!(reset.by_path.is_empty());
    get(addr, "/titles/80000001").await;
    assert_eq!(
        backends.stats(Service::Catalog).by_path["GET /titles/80000001"],
        1
    );
    backends.shutdown().await;
}

#[tokio::test]
async fn ten_slow_requests_are_in_flight_together() {
    let backends = backends().await;
    // Slow enough that all ten arrive before the first is answered, even on a loaded machine.
    backends
        .set_faults(
            Service::Profiles,
            Faults {
                latency_ms: 500,
                ..Faults::default()
            },
        )
        .await
        .expect("faults apply");
    let addr = backends.addr(Service::Profiles);
    let requests: Vec<_> = (0..10)
        .map(|id| tokio::spawn(async move { get(addr, &format!("/profiles/{id}")).await }))
        .collect();
    for request in requests {
        let reply = bounded("a slow request", request).await.expect("no panic");
        assert_eq!(reply.status, 200);
    }
    let stats = backends.stats(Service::Profiles);
    assert_eq!(stats.requests, 10);
    assert_eq!(stats.max_in_flight, 10);
    assert_eq!(stats.in_flight, 0);
    assert_eq!(stats.by_path.len(), 10);
    backends.shutdown().await;
}
