//! The device listener against hostile clients, over raw sockets: slow heads, oversized
//! heads, stalled bodies, idle connections, more connections than the cap. Timeouts are
//! tiny so the tests are quick, and nothing asserts a duration: each test waits (bounded)
//! for the host to act and checks the host's own counters for why it did.

use std::time::Duration;

use frontdoor::HostConfig;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{Fixture, RawClient, TestHost, eventually, get, within};

const LONG: Duration = Duration::from_secs(3600);
const SHORT: Duration = Duration::from_millis(50);

async fn host(configure: impl FnOnce(&mut HostConfig)) -> TestHost {
    TestHost::start_with(TestHost::plugins_dir(), configure).await
}

/// The device listener's entry in `/admin/listener`.
async fn device_view(host: &TestHost) -> serde_json::Value {
    let reply = get(&host.admin_url("/admin/listener")).await;
    assert_eq!(reply.status, 200);
    reply.json()["device"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_head_is_closed_after_the_header_timeout() {
    let host = host(|config| {
        config.listener.header_read_timeout = SHORT;
        config.listener.idle_timeout = LONG;
    })
    .await;
    let mut client = RawClient::connect(host.host.device_addr).await;
    client
        .send(b"GET /static-bench/hello HTTP/1.1\r\nhost: test\r\nx-slow: ")
        .await;
    // One more header byte every few milliseconds, for as long as the host listens.
    let received = within("the host closing a slowloris connection", async {
        let mut received = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            tokio::select! {
                read = client.stream.read(&mut chunk) => match read {
                    Ok(0) | Err(_) => break received,
                    Ok(read) => received.extend_from_slice(&chunk[..read]),
                },
                () = tokio::time::sleep(Duration::from_millis(5)) => {
                    let _ = client.stream.write_all(b"a").await;
                }
            }
        }
    })
    .await;
    assert!(
        received.is_empty(),
        "no answer, just a closed connection: {:?}",
        String::from_utf8_lossy(&received)
    );
    let view = device_view(&host).await;
    assert_eq!(view["header_timeouts"], 1, "{view:#}");
    assert_eq!(view["idle_closed"], 0, "{view:#}");
    // A client that sends its head in time is served as usual.
    assert_eq!(get(&host.url("/static-bench/hello")).await.status, 200);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let host = host(|config| {
        config.listener.header_read_timeout = LONG;
        config.listener.idle_timeout = SHORT;
    })
    .await;
    let mut client = RawClient::connect(host.host.device_addr).await;
    let response = client.get("/static-bench/hello").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("connection"), None, "kept alive");
    let after = client.closed().await;
    assert!(after.is_empty(), "{:?}", String::from_utf8_lossy(&after));
    let view = device_view(&host).await;
    assert_eq!(view["idle_closed"], 1, "{view:#}");
    assert_eq!(view["header_timeouts"], 0, "{view:#}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_head_gets_431_with_a_json_body() {
    // Default limits: the outside tester's 64 KiB header line.
    let host = host(|_| {}).await;
    let mut client = RawClient::connect(host.host.device_addr).await;
    let big = "a".repeat(64 * 1024);
    client
        .send(
            format!("GET /static-bench/hello HTTP/1.1\r\nhost: test\r\nx-big: {big}\r\n\r\n")
                .as_bytes(),
        )
        .await;
    let response = client.response().await;
    assert_eq!(response.status, 431);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("connection"), Some("close"));
    let body = response.json();
    assert_eq!(body["error"], "request header fields too large");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("the limit is 32768")),
        "{body:#}"
    );
    client.closed().await;
    assert_eq!(device_view(&host).await["heads_too_large"], 1);

    // Many small fields add up the same way, and HTTP/1.0 is held to the same limit.
    let mut client = RawClient::connect(host.host.device_addr).await;
    let fields: String = (0..90)
        .map(|field| format!("x-field-{field}: {}\r\n", "b".repeat(400)))
        .collect();
    client
        .send(format!("GET /static-bench/hello HTTP/1.0\r\n{fields}\r\n").as_bytes())
        .await;
    let response = client.response().await;
    assert_eq!(response.status, 431);
    assert_eq!(response.json()["error"], "request header fields too large");
    assert_eq!(device_view(&host).await["heads_too_large"], 2);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gets_408_with_a_json_body() {
    let dir = TestHost::plugins_dir();
    Fixture::Echo("1.0.0").deploy_to(dir.path());
    let host = TestHost::start_with(dir, |config| {
        config.listener.body_read_timeout = SHORT;
        config.listener.header_read_timeout = LONG;
        config.listener.idle_timeout = LONG;
    })
    .await;
    let mut client = RawClient::connect(host.host.device_addr).await;
    client
        .send(b"POST /echo/items/1/parts/2 HTTP/1.1\r\nhost: test\r\ncontent-length: 100\r\n\r\n0123456789")
        .await;
    let response = client.response().await;
    assert_eq!(response.status, 408);
    assert_eq!(response.header("connection"), Some("close"));
    let body = response.json();
    assert_eq!(body["error"], "request timeout", "{body:#}");
    client.closed().await;
    let view = device_view(&host).await;
    assert_eq!(view["body_timeouts"], 1, "{view:#}");

    // A body over max_body_bytes is still 413 (declared or not), also counted.
    let mut client = RawClient::connect(host.host.device_addr).await;
    client
        .send(
            b"POST /echo/items/1/parts/2 HTTP/1.1\r\nhost: test\r\ncontent-length: 1000000\r\n\r\n",
        )
        .await;
    let response = client.response().await;
    assert_eq!(response.status, 413);
    assert_eq!(response.json()["error"], "payload too large");
    assert_eq!(device_view(&host).await["bodies_too_large"], 1);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_wait_while_open_ones_are_served() {
    let host = host(|config| config.listener.max_connections = 2).await;
    let addr = host.host.device_addr;
    let mut first = RawClient::connect(addr).await;
    assert_eq!(first.get("/static-bench/hello").await.status, 200);
    let mut second = RawClient::connect(addr).await;
    assert_eq!(second.get("/static-bench/hello").await.status, 200);
    assert_eq!(device_view(&host).await["open_connections"], 2);

    // The kernel completes the third handshake; the host does not accept it.
    let mut third = RawClient::connect(addr).await;
    third
        .send(b"GET /static-bench/hello HTTP/1.1\r\nhost: test\r\n\r\n")
        .await;
    eventually("the third connection waiting to be accepted", || async {
        let view = device_view(&host).await;
        let held = view["waiting_in_accept_queue"] == 1
            && view["accepting"] == false
            && view["open_connections"] == 2
            && view["accepted"] == 2;
        if held { Ok(()) } else { Err(view.to_string()) }
    })
    .await;
    let view = device_view(&host).await;
    assert!(
        view["capacity_waits"].as_u64().unwrap_or(0) >= 1,
        "{view:#}"
    );
    assert_eq!(view["max_connections"], 2);

    // Connections already open keep being served.
    assert_eq!(first.get("/static-bench/hello").await.status, 200);
    assert_eq!(device_view(&host).await["waiting_in_accept_queue"], 1);

    // One closes; the waiting one is accepted and answered.
    drop(second);
    assert_eq!(third.response().await.status, 200);
    let view = device_view(&host).await;
    assert_eq!(view["accepted"], 3, "{view:#}");
    assert_eq!(view["waiting_in_accept_queue"], 0, "{view:#}");
    assert_eq!(first.get("/static-bench/hello").await.status, 200);
    host.stop().await;
}

/// HTTP/2 (prior knowledge) gets the same head limit with the same JSON answer, and the
/// server announces the configured stream and header-list limits in its SETTINGS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_clients_get_the_configured_limits() {
    let host = host(|config| {
        config.listener.max_header_bytes = 4096;
        config.listener.http2_max_concurrent_streams = 7;
        config.listener.http2_max_header_list_size = 40_000;
    })
    .await;

    // The server's first frame is its SETTINGS.
    let mut raw = tokio::net::TcpStream::connect(host.host.device_addr)
        .await
        .expect("connect");
    raw.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .expect("preface");
    let settings = within("the server's SETTINGS", async {
        let mut header = [0u8; 9];
        raw.read_exact(&mut header).await.expect("frame header");
        assert_eq!(header[3], 0x4, "a SETTINGS frame");
        let length =
            usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        let mut payload = vec![0u8; length];
        raw.read_exact(&mut payload).await.expect("frame payload");
        payload
            .chunks_exact(6)
            .map(|entry| {
                (
                    u16::from_be_bytes([entry[0], entry[1]]),
                    u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]),
                )
            })
            .collect::<Vec<_>>()
    })
    .await;
    const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    assert!(
        settings.contains(&(MAX_CONCURRENT_STREAMS, 7)),
        "{settings:?}"
    );
    assert!(
        settings.contains(&(MAX_HEADER_LIST_SIZE, 40_000)),
        "{settings:?}"
    );
    drop(raw);

    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let ok = crate::support::try_send(
        &client,
        hyper::Method::GET,
        &host.url("/static-bench/hello"),
        &[],
        Vec::new(),
    )
    .await
    .expect("an HTTP/2 request");
    assert_eq!(ok.status, 200);
    let big = "a".repeat(8 * 1024);
    let refused = crate::support::try_send(
        &client,
        hyper::Method::GET,
        &host.url("/static-bench/hello"),
        &[("x-big", &big)],
        Vec::new(),
    )
    .await
    .expect("an HTTP/2 request with a large head");
    assert_eq!(refused.status, 431);
    assert_eq!(refused.json()["error"], "request header fields too large");
    // The stream ended, not the connection: the same client goes on.
    let again = crate::support::try_send(
        &client,
        hyper::Method::GET,
        &host.url("/static-bench/hello"),
        &[],
        Vec::new(),
    )
    .await
    .expect("the connection still serves");
    assert_eq!(again.status, 200);
    assert_eq!(device_view(&host).await["heads_too_large"], 1);
    host.stop().await;
}

/// What hyper refuses itself, before the router sees a request: hyper writes a bare status,
/// which the connection's socket replaces with the same status and a JSON body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_hyper_refuses_itself_get_json_and_a_closed_connection() {
    let host = host(|_| {}).await;
    let fields: String = (0..101).map(|field| format!("x-{field}: 1\r\n")).collect();
    let long_target = format!("/static-bench/hello?{}", "q".repeat(70_000));
    let cases = [
        (
            "more than 100 header fields",
            format!("GET /static-bench/hello HTTP/1.1\r\n{fields}\r\n"),
            (431, "request header fields too large"),
        ),
        (
            "a space in a header name",
            "GET /static-bench/hello HTTP/1.1\r\nbad header: 1\r\n\r\n".to_owned(),
            (400, "bad request"),
        ),
        (
            "a malformed request line",
            "GET /static-bench/hello HTTP/9.9 extra\r\n\r\n".to_owned(),
            (400, "bad request"),
        ),
        (
            "two different content lengths",
            "POST /static-bench/hello HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab"
                .to_owned(),
            (400, "bad request"),
        ),
        (
            "a request target over 65534 bytes",
            format!("GET {long_target} HTTP/1.1\r\nhost: test\r\n\r\n"),
            (414, "uri too long"),
        ),
    ];
    for (what, request, (status, error)) in cases {
        let mut client = RawClient::connect(host.host.device_addr).await;
        client.send(request.as_bytes()).await;
        let response = client.response().await;
        assert_eq!(response.status, status, "{what}: {response:?}");
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{what}"
        );
        assert_eq!(response.header("connection"), Some("close"), "{what}");
        assert_eq!(response.json()["error"], error, "{what}");
        let after = client.closed().await;
        assert!(after.is_empty(), "{what}: closed after the answer");
    }
    // hyper closes the socket before its connection future reports the error, so the
    // count may trail the client's view by a moment.
    eventually("five connection errors counted", || async {
        let view = device_view(&host).await;
        if view["connection_errors"] == 5 {
            Ok(())
        } else {
            Err(view.to_string())
        }
    })
    .await;
    let view = device_view(&host).await;
    assert_eq!(
        view["heads_too_large"], 0,
        "none of these reached the router: {view:#}"
    );
    host.stop().await;
}

/// The socket rewrites only what hyper writes on its own: answers the router gave, on the
/// same keep-alive connection and pipelined right before a malformed request, arrive
/// byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_before_a_refused_request_arrive_intact() {
    let host = host(|_| {}).await;
    let expected = get(&host.url("/static-bench/hello")).await;
    assert_eq!(expected.status, 200);
    for round in 0..20 {
        let mut client = RawClient::connect(host.host.device_addr).await;
        for _ in 0..round % 4 {
            let response = client.get("/static-bench/hello").await;
            assert_eq!(response.body, expected.body.to_vec());
        }
        // Two requests and a malformed one in one write.
        client
            .send(
                b"GET /static-bench/hello HTTP/1.1\r\nhost: t\r\n\r\n\
                  GET /static-bench/hello HTTP/1.1\r\nhost: t\r\n\r\n\
                  GET /static-bench/hello HTTP/1.1\r\nbad header: 1\r\n\r\n",
            )
            .await;
        for _ in 0..2 {
            let response = client.response().await;
            assert_eq!(response.status, 200, "round {round}: {response:?}");
            assert_eq!(response.body, expected.body.to_vec(), "round {round}");
        }
        let refused = client.response().await;
        assert_eq!(refused.status, 400, "round {round}: {refused:?}");
        client.closed().await;
    }
    host.stop().await;
}
