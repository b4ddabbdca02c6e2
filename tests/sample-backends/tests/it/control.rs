//! The control server over HTTP.

use std::{collections::BTreeMap, io::ErrorKind};

use frontdoor_sample_backends::{Faults, Service};
use hyper::Method;
use serde_json::json;
use tokio::net::{TcpSocket, TcpStream};

use crate::support::{backends, get, send};

#[tokio::test]
async fn lists_every_service_address() {
    let backends = backends().await;
    let listed = get(backends.control_addr(), "/services").await;
    assert_eq!(listed.status, 200);
    let expected: BTreeMap<String, String> = Service::ALL
        .into_iter()
        .map(|service| {
            (
                service.name().to_owned(),
                backends.addr(service).to_string(),
            )
        })
        .collect();
    assert_eq!(listed.body, json!(expected));
    assert!(
        backends
            .url(Service::Catalog)
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(
        backends.control_url(),
        format!("http://{}", backends.control_addr())
    );
    backends.shutdown().await;
}

#[tokio::test]
async fn faults_and_stats_over_http() {
    let backends = backends().await;
    let control = backends.control_addr();
    let set = send(
        control,
        Method::PUT,
        "/faults/playback",
        r#"{"error_rate": 1}"#,
    )
    .await;
    assert_eq!(set.status, 200);
    assert_eq!(
        set.body,
        json!({ "latency_ms": 0, "error_rate": 1.0, "hang": false, "refuse": false })
    );
    assert_eq!(get(control, "/faults/playback").await.body, set.body);
    assert_eq!(
        backends.faults(Service::Playback),
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        }
    );

    let playback = backends.addr(Service::Playback);
    assert_eq!(get(playback, "/ping").await.status, 500);
    let stats = get(control, "/stats/playback").await;
    assert_eq!(stats.body["requests"], 1);
    assert_eq!(stats.body["by_path"], json!({ "GET /ping": 1 }));
    let reset = send(control, Method::POST, "/stats/playback/reset", "").await;
    assert_eq!(reset.status, 200);
    assert_eq!(reset.body["requests"], 0);
    assert_eq!(backends.stats(Service::Playback).requests, 0);

    let bad = send(
        control,
        Method::PUT,
        "/faults/playback",
        r#"{"error_rate": -1}"#,
    )
    .await;
    assert_eq!(bad.status, 400);
    let unknown = get(control, "/faults/billing").await;
    assert_eq!(unknown.status, 404);
    backends.shutdown().await;
}

#[tokio::test]
async fn refuse_over_http() {
    let backends = backends().await;
    let control = backends.control_addr();
    let addr = backends.addr(Service::Bookmarks);
    let set = send(
        control,
        Method::PUT,
        "/faults/bookmarks",
        r#"{"refuse": true}"#,
    )
    .await;
    assert_eq!(set.status, 200);
    let error = TcpStream::connect(addr).await.expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
    // The port stays held while refused: no other server (a parallel test's, or one that
    // binds a fixed port with SO_REUSEADDR or SO_REUSEPORT) can take it and answer in the
    // service's place.
    assert_no_squatter_binds(addr);
    let cleared = send(control, Method::PUT, "/faults/bookmarks", "{}").await;
    assert_eq!(cleared.body["refuse"], false);
    assert_eq!(get(addr, "/bookmarks/1").await.status, 200);
    // Nor while it listens again: nobody joins the listener and takes half its connections.
    assert_no_squatter_binds(addr);
    backends.shutdown().await;
}

/// Every way another server might try to bind `addr` fails with `AddrInUse`.
fn assert_no_squatter_binds(addr: std::net::SocketAddr) {
    for (reuse_address, reuse_port) in [(false, false), (true, false), (false, true), (true, true)]
    {
        let squatter = TcpSocket::new_v4().expect("socket");
        squatter.set_reuseaddr(reuse_address).expect("SO_REUSEADDR");
        squatter.set_reuseport(reuse_port).expect("SO_REUSEPORT");
        let taken = squatter.bind(addr).expect_err(&format!(
            "a squatter (SO_REUSEADDR {reuse_address}, SO_REUSEPORT {reuse_port}) bound the service's port"
        ));
        assert_eq!(taken.kind(), ErrorKind::AddrInUse);
    }
}
