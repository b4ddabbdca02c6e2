//! Starting on fixed ports, and shutting down with requests hung or delayed.

use frontdoor_sample_backends::{Faults, SampleConfig, Service};
use hyper::Method;
use tokio::net::TcpStream;

use crate::support::{backends, bounded, eventually, fixed_base_ports, get, try_send};

#[tokio::test]
async fn shutdown_completes_with_a_hung_connection_open() {
    let backends = backends().await;
    backends
        .set_faults(
            Service::Playback,
            Faults {
                hang: true,
                ..Faults::default()
            },
        )
        .await
        .expect("faults apply");
    let addr = backends.addr(Service::Playback);
    let body = r#"{"profile": 1, "title_id": 80000001, "device": "tv"}"#;
    let hung = tokio::spawn(try_send(addr, Method::POST, "/decisions", body));
    eventually("the request hangs", || {
        backends.stats(Service::Playback).in_flight == 1
    })
    .await;

    bounded("shutdown", backends.shutdown()).await;
    let outcome = bounded("the hung request ends", hung)
        .await
        .expect("no panic");
    assert!(outcome.is_err(), "a hung request was answered: {outcome:?}");
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}

#[tokio::test]
async fn dropping_the_backends_stops_them() {
    let backends = backends().await;
    let addr = backends.addr(Service::Catalog);
    assert_eq!(get(addr, "/ping").await.status, 200);
    drop(backends);
    bounded("the listener closes", async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_base_port_lays_the_services_out_in_order() {
    // Ports are shared with everything else on the machine: try a few bases.
    let mut started = None;
    for base in fixed_base_ports(0) {
        if let Ok(backends) = frontdoor_sample_backends::start(SampleConfig {
            base_port: Some(base),
        })
        .await
        {
            started = Some((base, backends));
            break;
        }
    }
    let (base, backends) = started.expect("some base port is free");
    assert_eq!(backends.control_addr().port(), base);
    for service in Service::ALL {
        let addr = backends.addr(service);
        assert!(addr.ip().is_loopback());
        assert_eq!(addr.port(), base + service.port_offset());
        assert_eq!(
            backends.url(service),
            format!("http://127.0.0.1:{}", addr.port())
        );
        assert_eq!(get(addr, "/health").await.body["service"], service.name());
    }
    backends.shutdown().await;
}

#[tokio::test]
async fn base_ports_without_room_are_refused() {
    for base in [0, 65_531, u16::MAX] {
        let error = frontdoor_sample_backends::start(SampleConfig {
            base_port: Some(base),
        })
        .await
        .expect_err("no room for six ports");
        assert!(error.to_string().contains("base port"), "{error:#}");
    }
}
