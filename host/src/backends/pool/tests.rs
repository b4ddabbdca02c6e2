//! The pool against a real HTTP server on 127.0.0.1 that counts the connections it accepts.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use http_body_util::BodyExt as _;
use hyper::{body::Incoming, service::service_fn};
use tokio::net::TcpListener;

use super::*;

/// How the test server ends its answers.
#[derive(Clone, Copy, PartialEq)]
enum Ending {
    KeepAlive,
    /// `connection: close`: the server closes each connection after its answer.
    Close,
}

/// A server answering every request with its `Host` header; returns its port and the count
/// of connections it accepted.
async fn server(ending: Ending) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| async move {
                    let host = request
                        .headers()
                        .get(HOST)
                        .map(|value| Bytes::copy_from_slice(value.as_bytes()))
                        .unwrap_or_default();
                    let mut response = Response::new(Full::new(host));
                    if ending == Ending::Close {
                        response
                            .headers_mut()
                            .insert("connection", HeaderValue::from_static("close"));
                    }
                    Ok::<_, Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (port, accepted)
}

fn get() -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(Bytes::new()));
    *request.uri_mut() = hyper::Uri::from_static("/x");
    request
}

/// Sends one GET, reads its answer to the end and gives the connection back.
async fn round_trip(pool: &ConnectionPool) -> Bytes {
    let (response, lease) = pool.send(get()).await.expect("answered");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    lease.give_back();
    body
}

#[tokio::test]
async fn sequential_calls_share_one_connection_and_name_the_host() {
    let (port, accepted) = server(Ending::KeepAlive).await;
    let pool = ConnectionPool::new("127.0.0.1", port, 8).expect("pool");
    for _ in 0..5 {
        let host = round_trip(&pool).await;
        assert_eq!(host, format!("127.0.0.1:{port}").as_bytes());
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    assert_eq!(pool.idle_count(), 1);
}

#[tokio::test]
async fn a_connection_whose_answer_was_not_read_is_not_reused() {
    let (port, accepted) = server(Ending::KeepAlive).await;
    let pool = ConnectionPool::new("127.0.0.1", port, 8).expect("pool");
    let (_response, lease) = pool.send(get()).await.expect("answered");
    drop(lease);
    assert_eq!(pool.idle_count(), 0);
    round_trip(&pool).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_connection_the_backend_closes_is_replaced_without_an_error() {
    let (port, accepted) = server(Ending::Close).await;
    let pool = ConnectionPool::new("127.0.0.1", port, 8).expect("pool");
    for _ in 0..3 {
        round_trip(&pool).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn concurrent_calls_open_connections_and_keep_at_most_max_idle() {
    let (port, accepted) = server(Ending::KeepAlive).await;
    let pool = ConnectionPool::new("127.0.0.1", port, 2).expect("pool");
    // Three leases held at once need three connections.
    let (first, first_lease) = pool.send(get()).await.expect("first");
    let (second, second_lease) = pool.send(get()).await.expect("second");
    let (third, third_lease) = pool.send(get()).await.expect("third");
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    for (response, lease) in [
        (first, first_lease),
        (second, second_lease),
        (third, third_lease),
    ] {
        response.into_body().collect().await.expect("body");
        lease.give_back();
    }
    assert_eq!(pool.idle_count(), 2);
}

#[tokio::test]
async fn sweeps_close_a_connection_idle_for_the_idle_timeout_and_keep_a_fresher_one() {
    let (port, accepted) = server(Ending::KeepAlive).await;
    let pool = ConnectionPool::new("127.0.0.1", port, 8).expect("pool");
    round_trip(&pool).await;
    for _ in 0..IDLE_SWEEPS {
        pool.sweep();
    }
    assert_eq!(pool.idle_count(), 1, "idle for less than the timeout: kept");
    // Used again: idle since now, so as many sweeps again keep it.
    round_trip(&pool).await;
    for _ in 0..IDLE_SWEEPS {
        pool.sweep();
    }
    assert_eq!(pool.idle_count(), 1);
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    pool.sweep();
    assert_eq!(pool.idle_count(), 0, "idle past the timeout: closed");
    round_trip(&pool).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_refused_connection_names_the_address() {
    // A port that was just free: nothing listens on it.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let pool = ConnectionPool::new("127.0.0.1", port, 8).expect("pool");
    let error = pool.send(get()).await.err().expect("refused");
    assert!(matches!(error, SendError::Connect { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
}

#[test]
fn the_host_header_leaves_out_the_default_port() {
    let pool = ConnectionPool::new("catalog.internal", 80, 1).expect("pool");
    assert_eq!(pool.host, "catalog.internal");
    assert_eq!(pool.address, "catalog.internal:80");
    let pool = ConnectionPool::new("catalog.internal", 8080, 1).expect("pool");
    assert_eq!(pool.host, "catalog.internal:8080");
}
