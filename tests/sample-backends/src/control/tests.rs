//! The control routes against backends without sockets (`refuse` needs a listener and is
//! covered by the integration tests).

use std::{net::SocketAddr, sync::Arc};

use bytes::Bytes;
use hyper::Method;

use super::*;

fn fleet() -> Fleet {
    Service::ALL.map(|service| {
        let addr = SocketAddr::from(([127, 0, 0, 1], 9000 + service.port_offset()));
        Arc::new(Backend::new(service, addr))
    })
}

fn call(method: Method, path: &str, body: &str) -> Call {
    Call {
        method,
        body: Bytes::from(body.to_owned()),
        ..Call::get(path)
    }
}

#[tokio::test]
async fn lists_services_by_name() {
    let reply = route(&fleet(), &Call::get("/services")).await;
    assert_eq!(
        reply.value(),
        json!({
            "catalog": "127.0.0.1:9001",
            "profiles": "127.0.0.1:9002",
            "recommendations": "127.0.0.1:9003",
            "bookmarks": "127.0.0.1:9004",
            "playback": "127.0.0.1:9005",
        })
    );
    let health = route(&fleet(), &Call::get("/health")).await;
    assert_eq!(health.value(), json!({ "ok": true, "service": "control" }));
}

#[tokio::test]
async fn faults_are_set_and_read_back_with_defaults() {
    let fleet = fleet();
    let reply = route(
        &fleet,
        &call(Method::PUT, "/faults/profiles", r#"{"error_rate": 0.5}"#),
    )
    .await;
    assert_eq!(reply.status, 200);
    let expected = json!({ "latency_ms": 0, "error_rate": 0.5, "hang": false, "refuse": false });
    assert_eq!(reply.value(), expected);
    assert_eq!(
        route(&fleet, &Call::get("/faults/profiles")).await.value(),
        expected
    );
    let untouched = route(&fleet, &Call::get("/faults/catalog")).await;
    assert_eq!(untouched.value()["error_rate"], 0.0);
}

#[tokio::test]
async fn bad_faults_are_refused() {
    let fleet = fleet();
    for body in [
        "",
        "null",
        r#"{"error_rate": 2}"#,
        r#"{"latency_ms": -1}"#,
        r#"{"slow": true}"#,
    ] {
        let reply = route(&fleet, &call(Method::PUT, "/faults/catalog", body)).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.value());
    }
    assert_eq!(fleet[0].faults(), Faults::default());
}

#[tokio::test]
async fn stats_are_read_and_reset() {
    let fleet = fleet();
    let reply = route(&fleet, &Call::get("/stats/playback")).await;
    assert_eq!(
        reply.value(),
        json!({ "requests": 0, "in_flight": 0, "max_in_flight": 0, "by_path": {} })
    );
    let reset = route(&fleet, &call(Method::POST, "/stats/playback/reset", "")).await;
    assert_eq!(reset.status, 200);
    assert_eq!(reset.value(), reply.value());
}

#[tokio::test]
async fn unknown_services_paths_and_methods() {
    let fleet = fleet();
    let unknown = route(&fleet, &Call::get("/stats/billing")).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.value()["error"], "unknown service \"billing\"");
    assert_eq!(route(&fleet, &Call::get("/nope")).await.status, 404);
    assert_eq!(
        route(&fleet, &Call::get("/stats/catalog/reset"))
            .await
            .status,
        405
    );
    assert_eq!(
        route(&fleet, &call(Method::DELETE, "/faults/catalog", ""))
            .await
            .status,
        405
    );
}
