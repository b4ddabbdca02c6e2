//! Injected faults over real sockets: error rate, latency, hang and refuse.

use std::{io::ErrorKind, time::Duration};

use frontdoor_sample_backends::{Faults, Service};
use hyper::Method;
use tokio::net::TcpStream;

use crate::support::{Connection, backends, bounded, eventually, get, try_send};

#[tokio::test]
async fn half_error_rate_fails_exactly_every_second_request() {
    let backends = backends().await;
    let faults = Faults {
        error_rate: 0.5,
        ..Faults::default()
    };
    backends
        .set_faults(Service::Catalog, faults)
        .await
        .expect("faults apply");
    let addr = backends.addr(Service::Catalog);
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let reply = get(addr, "/titles/80000001").await;
        if reply.status == 500 {
            assert!(reply.body["error"].is_string());
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [200, 500, 200, 500, 200, 500, 200, 500, 200, 500]);

    // Setting faults again restarts the count.
    backends
        .set_faults(Service::Catalog, faults)
        .await
        .expect("faults apply");
    assert_eq!(get(addr, "/ping").await.status, 200);
    assert_eq!(get(addr, "/ping").await.status, 500);
    backends.shutdown().await;
}

#[tokio::test]
async fn health_ignores_every_fault() {
    let backends = backends().await;
    let faults = Faults {
        error_rate: 1.0,
        latency_ms: 60_000,
        hang: true,
        refuse: false,
    };
    backends
        .set_faults(Service::Profiles, faults)
        .await
        .expect("faults apply");
    assert_eq!(backends.faults(Service::Profiles), faults);
    let addr = backends.addr(Service::Profiles);
    for _ in 0..3 {
        assert_eq!(bounded("health", get(addr, "/health")).await.status, 200);
    }
    assert_eq!(backends.stats(Service::Profiles).requests, 0);
    backends.shutdown().await;
}

#[tokio::test]
async fn every_request_fails_at_rate_one_but_is_still_counted() {
    let backends = backends().await;
    let faults = Faults {
        error_rate: 1.0,
        ..Faults::default()
    };
    backends
        .set_faults(Service::Playback, faults)
        .await
        .expect("faults apply");
    let addr = backends.addr(Service::Playback);
    for _ in 0..3 {
        assert_eq!(get(addr, "/ping").await.status, 500);
    }
    assert_eq!(backends.stats(Service::Playback).by_path["GET /ping"], 3);
    backends.shutdown().await;
}

#[tokio::test]
async fn latency_holds_the_answer_while_other_services_answer() {
    let backends = backends().await;
    // Far longer than the test: the request can only end when the server stops.
    backends
        .set_faults(
            Service::Recommendations,
            Faults {
                latency_ms: 600_000,
                ..Faults::default()
            },
        )
        .await
        .expect("faults apply");
    let addr = backends.addr(Service::Recommendations);
    let slow = tokio::spawn(try_send(addr, Method::GET, "/rows?profile=1", ""));
    eventually("the delayed request is in flight", || {
        backends.stats(Service::Recommendations).in_flight == 1
    })
    .await;
    assert_eq!(get(addr, "/health").await.status, 200);
    assert_eq!(
        get(backends.addr(Service::Catalog), "/ping").await.status,
        200
    );
    assert!(!slow.is_finished(), "the delayed request was answered");
    assert_eq!(backends.stats(Service::Recommendations).in_flight, 1);

    // A short latency is waited out, then answered normally.
    backends
        .set_faults(
            Service::Recommendations,
            Faults {
                latency_ms: 20,
                ..Faults::default()
            },
        )
        .await
        .expect("faults apply");
    let answered = bounded("a delayed answer", get(addr, "/rows?profile=1")).await;
    assert_eq!(answered.status, 200);

    bounded("shutdown", backends.shutdown()).await;
    let cut = bounded("the delayed request ends", slow)
        .await
        .expect("no panic");
    assert!(
        cut.is_err(),
        "a request held by latency was answered: {cut:?}"
    );
}

#[tokio::test]
async fn hang_holds_the_request_until_the_client_gives_up() {
    let backends = backends().await;
    backends
        .set_faults(
            Service::Bookmarks,
            Faults {
                hang: true,
                ..Faults::default()
            },
        )
        .await
        .expect("faults apply");
    let addr = backends.addr(Service::Bookmarks);
    let mut hung = tokio::spawn(try_send(addr, Method::GET, "/bookmarks/1", ""));
    eventually("the request arrives", || {
        backends.stats(Service::Bookmarks).in_flight == 1
    })
    .await;
    // The client's own timeout runs out: no answer came.
    let waited = tokio::time::timeout(Duration::from_millis(200), &mut hung).await;
    assert!(waited.is_err(), "a hung request was answered: {waited:?}");
    assert_eq!(
        backends.stats(Service::Bookmarks).by_path["GET /bookmarks/1"],
        1
    );
    // The client gives up and closes its connection: the server lets go of the request.
    hung.abort();
    eventually("the hung request is released", || {
        backends.stats(Service::Bookmarks).in_flight == 0
    })
    .await;

    backends
        .set_faults(Service::Bookmarks, Faults::default())
        .await
        .expect("faults clear");
    assert_eq!(get(addr, "/bookmarks/1").await.status, 200);
    backends.shutdown().await;
}

#[tokio::test]
async fn refuse_closes_the_port_and_clearing_it_reopens_the_same_port() {
    let backends = backends().await;
    let addr = backends.addr(Service::Catalog);
    let mut idle = Connection::open(addr).await.expect("connect");
    assert_eq!(
        idle.send(Method::GET, "/ping", "")
            .await
            .expect("ping")
            .status,
        200
    );

    let refuse = Faults {
        refuse: true,
        ..Faults::default()
    };
    backends
        .set_faults(Service::Catalog, refuse)
        .await
        .expect("faults apply");
    let error = TcpStream::connect(addr)
        .await
        .expect_err("a refusing service accepted a connection");
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
    // Open keep-alive connections are closed as well, so pooled clients see the outage.
    bounded("the idle connection closes", idle.closed()).await;
    // The other services and the control API keep serving.
    assert_eq!(
        get(backends.addr(Service::Profiles), "/ping").await.status,
        200
    );
    let control = get(backends.control_addr(), "/faults/catalog").await;
    assert_eq!(control.body["refuse"], true);

    backends
        .set_faults(Service::Catalog, Faults::default())
        .await
        .expect("the port reopens");
    assert_eq!(backends.addr(Service::Catalog), addr);
    assert_eq!(get(addr, "/ping").await.status, 200);

    // And once more, after connections on the port went through TIME_WAIT.
    backends
        .set_faults(Service::Catalog, refuse)
        .await
        .expect("faults apply");
    assert!(TcpStream::connect(addr).await.is_err());
    backends
        .set_faults(Service::Catalog, Faults::default())
        .await
        .expect("the port reopens");
    assert_eq!(get(addr, "/titles/80000001").await.status, 200);
    backends.shutdown().await;
}

#[tokio::test]
async fn invalid_faults_are_refused_and_change_nothing() {
    let backends = backends().await;
    let error = backends
        .set_faults(
            Service::Catalog,
            Faults {
                error_rate: 1.5,
                ..Faults::default()
            },
        )
        .await
        .expect_err("an error rate above 1");
    assert!(error.to_string().contains("error_rate"), "{error}");
    assert_eq!(backends.faults(Service::Catalog), Faults::default());
    backends.shutdown().await;
}
