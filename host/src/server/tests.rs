//! What hyper's own HTTP/1 timer does, checked rather than taken from its docs: its
//! `header_read_timeout` also runs while a keep-alive connection waits for its next
//! request, so it closes idle clients as if they were slow ones. That is why the host turns
//! it off and keeps its own watchdog (`activity.rs`, `connection.rs`) with separate head
//! and idle timeouts. Paused clock: the timers fire in virtual time, nothing is raced.

use std::{convert::Infallible, time::Duration};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};

/// Serves one connection with hyper's HTTP/1 server, `header_read_timeout` as given; makes
/// one request on it, reads the answer, then waits up to an hour (virtual) for the server
/// to close the now idle connection. True when it closed.
async fn idle_connection_closed(header_read_timeout: Option<Duration>) -> bool {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);
        let service = service_fn(|_request| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        });
        let _ = builder
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client
        .write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .expect("send");
    let mut response = Vec::new();
    let mut chunk = [0u8; 1024];
    while !response.ends_with(b"\r\n\r\nok") {
        let read = client.read(&mut chunk).await.expect("read the answer");
        assert!(read > 0, "closed before answering");
        response.extend_from_slice(&chunk[..read]);
    }
    let closed = matches!(
        tokio::time::timeout(Duration::from_secs(3600), client.read(&mut chunk)).await,
        Ok(Ok(0) | Err(_))
    );
    server.abort();
    closed
}

#[tokio::test(start_paused = true)]
async fn hypers_header_read_timeout_also_closes_idle_keep_alive_connections() {
    assert!(
        idle_connection_closed(Some(Duration::from_secs(5))).await,
        "an idle keep-alive connection is closed by the header read timeout"
    );
    assert!(
        !idle_connection_closed(None).await,
        "without it, the idle connection stays open"
    );
}
