//! The call pipeline against a real socket that never answers, on tokio's paused clock:
//! the clock jumps to the next timer whenever the runtime is idle, so timeouts fire exactly
//! and the test takes no real time.

use std::sync::Arc;

use abi_stable::std_types::{RString, RVec};
use frontdoor_plugin_api::{BackendErrorKind, BackendRequest};
use tokio::{
    net::TcpListener,
    time::{Duration, Instant},
};

use super::*;

/// A server on 127.0.0.1 that accepts connections and never answers.
async fn silent_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (url, task)
}

fn get(backend: &str, path: &str) -> BackendRequest {
    BackendRequest {
        backend: RString::from(backend),
        method: RString::from("GET"),
        path: RString::from(path),
        headers: RVec::new(),
        body: RVec::new(),
    }
}

/// The scope of a device request whose deadline is `within` from now.
fn request_due_in(within: Duration) -> Arc<RequestScope> {
    Arc::new(RequestScope::new("test", Instant::now() + within))
}

fn backends_with(config: BackendConfig) -> Arc<Backends> {
    Arc::new(Backends::new(vec![config]).expect("valid backend config"))
}

#[tokio::test(start_paused = true)]
async fn a_silent_backend_times_out_at_its_timeout() {
    let (url, _server) = silent_server().await;
    let mut config = BackendConfig::new("slow", url);
    config.timeout = Duration::from_millis(250);
    let backends = backends_with(config);
    let scope = request_due_in(Duration::from_secs(10));

    let started = Instant::now();
    let error = backends
        .call(&scope, get("slow", "/x"))
        .await
        .expect_err("times out");
    assert_eq!(error.kind, BackendErrorKind::Timeout);
    assert_eq!(started.elapsed(), Duration::from_millis(250));
    let view = backends.view();
    assert_eq!(view[0].totals.timeout, 1);
    assert_eq!(view[0].in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn the_device_deadline_cuts_a_longer_timeout_short() {
    let (url, _server) = silent_server().await;
    let mut config = BackendConfig::new("slow", url);
    config.timeout = Duration::from_secs(5);
    let backends = backends_with(config);
    let scope = request_due_in(Duration::from_millis(300));

    let started = Instant::now();
    let error = backends
        .call(&scope, get("slow", "/x"))
        .await
        .expect_err("deadline");
    assert_eq!(error.kind, BackendErrorKind::Timeout);
    assert_eq!(started.elapsed(), Duration::from_millis(300));
    // Past the deadline, calls fail at once without reaching the backend.
    let error = backends
        .call(&scope, get("slow", "/y"))
        .await
        .expect_err("deadline passed");
    assert_eq!(error.kind, BackendErrorKind::Timeout);
    assert_eq!(started.elapsed(), Duration::from_millis(300));
    assert_eq!(backends.view()[0].attempts, 1);
}

#[tokio::test(start_paused = true)]
async fn timeouts_open_the_breaker_which_then_fails_fast() {
    let (url, _server) = silent_server().await;
    let mut config = BackendConfig::new("slow", url);
    config.timeout = Duration::from_millis(100);
    config.breaker = BreakerConfig {
        error_threshold_percent: 50,
        min_requests: 3,
        window: Duration::from_secs(10),
        open_for: Duration::from_secs(2),
        half_open_probes: 1,
    };
    let backends = backends_with(config);
    let scope = request_due_in(Duration::from_secs(60));
    for path in ["/a", "/b", "/c"] {
        let error = backends
            .call(&scope, get("slow", path))
            .await
            .expect_err("times out");
        assert_eq!(error.kind, BackendErrorKind::Timeout);
    }
    assert_eq!(backends.view()[0].breaker, "open");
    let started = Instant::now();
    let error = backends
        .call(&scope, get("slow", "/d"))
        .await
        .expect_err("open");
    assert_eq!(error.kind, BackendErrorKind::CircuitOpen);
    assert_eq!(started.elapsed(), Duration::ZERO, "fails fast");
    assert_eq!(
        backends.view()[0].attempts,
        3,
        "the open breaker kept the call off the wire"
    );
}

#[tokio::test(start_paused = true)]
async fn retries_of_idempotent_calls_stay_within_the_budget() {
    let (url, _server) = silent_server().await;
    let mut config = BackendConfig::new("slow", url);
    config.timeout = Duration::from_millis(100);
    config.retry = RetryConfig {
        attempts: 3,
        budget_percent: 100,
    };
    let backends = backends_with(config);
    let scope = request_due_in(Duration::from_secs(60));
    // The first call deposits one token: one retry, not two.
    let error = backends
        .call(&scope, get("slow", "/a"))
        .await
        .expect_err("times out");
    assert_eq!(error.kind, BackendErrorKind::Timeout);
    let view = backends.view();
    assert_eq!(view[0].attempts, 2);
    assert_eq!(view[0].retries, 1);
}

#[tokio::test(start_paused = true)]
async fn unknown_backends_and_bad_paths_are_refused_without_a_call() {
    let backends = backends_with(BackendConfig::new("catalog", "http://127.0.0.1:9"));
    let scope = request_due_in(Duration::from_secs(1));
    let error = backends
        .call(&scope, get("nope", "/x"))
        .await
        .expect_err("unknown");
    assert_eq!(error.kind, BackendErrorKind::UnknownBackend);
    let error = backends
        .call(&scope, get("catalog", "no-slash"))
        .await
        .expect_err("bad path");
    assert_eq!(error.kind, BackendErrorKind::Invalid);
    assert!(Backends::new(vec![BackendConfig::new("x", "ftp://example")]).is_err());
}

/// A device that disconnects while its GET is under way drops the call: the attempt's
/// bulkhead slot and in-flight count come back, and the scope with its table of GETs is
/// freed. (The table once held the call, which held the scope: every disconnect leaked a
/// slot, and after `max_concurrent` of them every call was `Rejected`.)
#[tokio::test(start_paused = true)]
async fn a_get_cancelled_mid_call_gives_its_bulkhead_slot_back() {
    let (url, _server) = silent_server().await;
    let mut config = BackendConfig::new("slow", url);
    config.timeout = Duration::from_secs(3600);
    config.max_concurrent = 1;
    let backends = backends_with(config);

    let scope = request_due_in(Duration::from_secs(3600));
    let freed = Arc::downgrade(&scope);
    let device = tokio::spawn({
        let backends = backends.clone();
        async move { backends.call(&scope, get("slow", "/x")).await }
    });
    // The attempt enters the bulkhead on the call's first poll, before any I/O.
    while backends.view()[0].in_flight == 0 {
        tokio::task::yield_now().await;
    }
    device.abort();
    assert!(device.await.expect_err("aborted").is_cancelled());

    assert_eq!(backends.view()[0].in_flight, 0, "the attempt is dropped");
    assert!(freed.upgrade().is_none(), "the scope is freed");
    let next = request_due_in(Duration::from_millis(100));
    let error = backends
        .call(&next, get("slow", "/y"))
        .await
        .expect_err("the silent backend times out");
    assert_eq!(
        error.kind,
        BackendErrorKind::Timeout,
        "the slot was given back, so the next call is made, not rejected: {error:?}"
    );
}

/// A call counts as unfinished from the moment it is made until its future completes or is
/// dropped: what `dispatch/gather.rs` reads to decide whether answers may come together.
#[tokio::test(start_paused = true)]
async fn a_call_is_unfinished_until_its_future_completes_or_is_dropped() {
    let (url, _server) = silent_server().await;
    let mut config = BackendConfig::new("slow", url);
    config.timeout = Duration::from_millis(250);
    let backends = backends_with(config);
    let scope = request_due_in(Duration::from_secs(10));
    assert_eq!(scope.unfinished_calls(), 0);

    let silent = backends.call(&scope, get("slow", "/x"));
    let refused = backends.call(&scope, get("nope", "/x"));
    let dropped = backends.call(&scope, get("slow", "/y"));
    assert_eq!(scope.unfinished_calls(), 3, "made, not yet polled");
    drop(dropped);
    assert_eq!(scope.unfinished_calls(), 2, "dropped unpolled");
    refused.await.expect_err("unknown backend");
    assert_eq!(scope.unfinished_calls(), 1, "refused at its first poll");
    let mut silent = std::pin::pin!(silent);
    assert!(futures_util::poll!(silent.as_mut()).is_pending());
    assert_eq!(scope.unfinished_calls(), 1, "under way");
    silent.await.expect_err("times out");
    assert_eq!(scope.unfinished_calls(), 0, "answered (here, timed out)");
}

/// A call's future is moved whole (into an adapter's `join_all` buffer, out of it when done),
/// so its size is paid on every call: it was 8 KiB (a hedged attempt's state inline) until
/// the call's work moved behind a box started before the future exists.
#[tokio::test]
async fn a_call_future_holds_only_its_handle() {
    let backends = backends_with(BackendConfig::new("b", "http://127.0.0.1:9"));
    let scope = request_due_in(Duration::from_secs(1));
    let post = BackendRequest {
        method: RString::from("POST"),
        body: RVec::from(b"{}".to_vec()),
        ..get("b", "/x")
    };
    for request in [get("b", "/x"), post, get("unknown", "/x")] {
        let call = backends.call(&scope, request);
        let size = std::mem::size_of_val(&call);
        assert!(size <= 256, "a call future of {size} bytes");
    }
}

/// A server on 127.0.0.1 that answers every request `200 ok` after sending its request line
/// to the test.
async fn answering_server() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tokio::task::JoinHandle<()>,
) {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (lines, received) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let lines = lines.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut request_line = String::new();
                    if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut header = String::new();
                        match stream.read_line(&mut header).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) if header == "\r\n" => break,
                            Ok(_) => {}
                        }
                    }
                    lines.send(request_line.trim_end().to_owned()).ok();
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if stream.get_mut().write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, received, task)
}

/// `url = "http://host:port/prefix/"`: every call's path follows the prefix, once, with
/// its query.
#[tokio::test]
async fn a_backend_url_prefix_comes_before_every_path() {
    let (url, mut received, _server) = answering_server().await;
    let backends = backends_with(BackendConfig::new("api", format!("{url}/v2/")));
    let scope = request_due_in(Duration::from_secs(60));
    let response = backends
        .call(&scope, get("api", "/titles/7?lang=fr"))
        .await
        .unwrap_or_else(|error| panic!("the call is answered: {error:?}"));
    assert_eq!(response.body(), b"ok");
    assert_eq!(
        received.recv().await.expect("the request line"),
        "GET /v2/titles/7?lang=fr HTTP/1.1"
    );
}

#[test]
fn backend_urls_that_are_not_plain_http_origins_with_a_prefix_are_refused() {
    for url in [
        "ftp://example",
        "https://example",
        "http://127.0.0.1:9/api?key=1",
        "/only/a/path",
        "not a url",
    ] {
        let Err(error) = Backends::new(vec![BackendConfig::new("x", url)]) else {
            panic!("{url:?} is refused");
        };
        assert!(
            error.reason.contains("url"),
            "{url:?}: the reason names the url: {}",
            error.reason
        );
    }
    for url in [
        "http://127.0.0.1:9",
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/api/",
    ] {
        assert!(
            Backends::new(vec![BackendConfig::new("x", url)]).is_ok(),
            "{url:?} is accepted"
        );
    }
}

/// Two identical GETs of one request, the first dropped by its caller after it started:
/// the call goes on for the second, which gets its answer; one request reached the
/// backend.
#[tokio::test]
async fn an_identical_get_gets_the_answer_when_the_first_stops_waiting() {
    use std::task::Poll;

    let (url, mut received, _server) = answering_server().await;
    let backends = backends_with(BackendConfig::new("api", url));
    let scope = request_due_in(Duration::from_secs(60));
    let mut first = Box::pin(backends.call(&scope, get("api", "/same")));
    let second = backends.call(&scope, get("api", "/same"));
    let first_pending =
        std::future::poll_fn(|cx| Poll::Ready(first.as_mut().poll(cx).is_pending())).await;
    assert!(first_pending, "the first call is under way");
    drop(first);

    let response = second
        .await
        .unwrap_or_else(|error| panic!("the second GET is answered: {error:?}"));
    assert_eq!(response.body(), b"ok");
    assert_eq!(
        received
            .recv()
            .await
            .expect("a request reached the backend"),
        "GET /same HTTP/1.1"
    );
    assert!(
        received.try_recv().is_err(),
        "and only one: the second shared the first's call"
    );
    assert_eq!(backends.view()[0].deduplicated, 1);
    let calls = scope.calls.records();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1].deduplicated,
        "the second shared the first's answer"
    );
}

/// `let a = get(x); let b = get(x); b.await; a.await;`: the first GET is not polled until
/// the second ends, so the second must drive the call (waiting on the first would never
/// end).
#[tokio::test]
async fn an_identical_get_awaited_before_the_first_drives_the_call() {
    let (url, mut received, _server) = answering_server().await;
    let backends = backends_with(BackendConfig::new("api", url));
    let scope = request_due_in(Duration::from_secs(60));
    let first = backends.call(&scope, get("api", "/same"));
    let second = backends.call(&scope, get("api", "/same"));
    let second = second
        .await
        .unwrap_or_else(|error| panic!("the second GET is answered: {error:?}"));
    let first = first
        .await
        .unwrap_or_else(|error| panic!("the first GET is answered: {error:?}"));
    assert_eq!((first.body(), second.body()), (&b"ok"[..], &b"ok"[..]));
    assert_eq!(
        received
            .recv()
            .await
            .expect("a request reached the backend"),
        "GET /same HTTP/1.1"
    );
    assert!(received.try_recv().is_err(), "one call for both");
}

/// The work of a call is boxed when it starts and lives in its box for the call's life, and
/// each call in flight touches its memory: it was 2.8 KiB while the call was kept in it twice
/// (an `async fn`'s argument beside the local it is moved into, at three levels) and the
/// request and the answer's head were kept across waits they were not needed for. A
/// regression here shows as data-cache misses at W3, not as a failure anywhere else.
#[tokio::test]
async fn a_calls_boxed_work_stays_small() {
    let backends = backends_with(BackendConfig::new("b", "http://127.0.0.1:9"));
    let scope = request_due_in(Duration::from_secs(1));
    let backend = backends.by_name.get("b").expect("configured").clone();
    let ticket = scope.calls.begin(None, backend.name.clone(), "GET", "/x");
    let call = outgoing(&backend, &scope, &get("b", "/x"), &ticket).expect("valid call");
    let pool_send = std::mem::size_of_val(&backend.pool.send(request_of(&call)));
    let send = std::mem::size_of_val(&send(&backend.pool, &call));
    let execute = std::mem::size_of_val(&backend.clone().execute(call));
    let sizes = [
        ("the pool's send", pool_send, 640),
        ("send", send, 680),
        ("execute", execute, 1280),
    ];
    for (name, size, limit) in sizes {
        assert!(
            size <= limit,
            "{name}'s future is {size} bytes (at most {limit})"
        );
    }
}
