//! Device requests through a real host into real adapters.

use hyper::Method;

use crate::support::{Fixture, TestHost, get, send};

const ECHO: Fixture = Fixture::Echo("1.0.0");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_round_trips_params_query_headers_and_body() {
    let host = TestHost::with(&[ECHO]).await;
    let reply = send(
        Method::POST,
        &host.url("/echo/items/42/parts/a%20b?q=hello%20world&x=1"),
        &[("x-test", "yes"), ("x-test-second", "two")],
        b"payload bytes".to_vec(),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.adapter(), "echo@1.0.0");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["method"], "POST");
    assert_eq!(body["path"], "/items/42/parts/a%20b");
    assert_eq!(body["id"], "42");
    assert_eq!(body["part"], "a b");
    assert_eq!(body["query"], "q=hello%20world&x=1");
    assert_eq!(body["q"], "hello world");
    assert_eq!(body["x_test"], "yes");
    assert_eq!(
        body["test_headers"],
        serde_json::json!([["x-test", "yes"], ["x-test-second", "two"]])
    );
    assert_eq!(body["body"], "payload bytes");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_adapters_routes_and_methods_get_json_errors() {
    let host = TestHost::with(&[ECHO]).await;

    let reply = get(&host.url("/nothing-here/hello")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"], "not found");
    assert_eq!(reply.adapter(), "", "no adapter answered");

    let reply = get(&host.url("/")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"], "not found");

    let reply = get(&host.url("/echo/no-such-route")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"], "not found");
    assert_eq!(reply.adapter(), "echo@1.0.0");

    let reply = get(&host.url("/echo/items/1/parts/2")).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.json()["error"], "method not allowed");

    let reply = send(Method::DELETE, &host.url("/echo/hello"), &[], Vec::new()).await;
    assert_eq!(reply.status, 405);
    // A method no route could ever have.
    let brew = Method::from_bytes(b"BREW").expect("extension method");
    let reply = send(brew, &host.url("/echo/hello"), &[], Vec::new()).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.json()["error"], "method not allowed");

    // The namespace alone, and doubled slashes.
    let reply = get(&host.url("/echo")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"], "not found");
    let reply = get(&host.url("/echo//hello")).await;
    assert_eq!(reply.status, 200, "empty segments are ignored");

    // A malformed percent escape in a path parameter matches no route.
    let reply = send(
        Method::POST,
        &host.url("/echo/items/%zz/parts/1"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(reply.status, 404);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_only_its_own_request() {
    let host = TestHost::with(&[ECHO, Fixture::Bench]).await;
    for path in ["/echo/panic", "/echo/panic-after-await"] {
        let reply = get(&host.url(path)).await;
        assert_eq!(reply.status, 500, "{path}");
        let body = reply.json();
        assert_eq!(body["error"], "internal error");
        assert!(
            !body["detail"].as_str().unwrap_or("").contains("deliberate"),
            "panic messages stay in the log: {body}"
        );
        // The same adapter and the others keep serving.
        assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
        assert_eq!(get(&host.url("/bench/hello")).await.status, 200);
    }
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_errors_and_garbage_responses_are_500() {
    let host = TestHost::with(&[ECHO]).await;
    for path in ["/echo/error", "/echo/bad-status", "/echo/bad-header"] {
        let reply = get(&host.url(path)).await;
        assert_eq!(reply.status, 500, "{path}");
        assert_eq!(reply.json()["error"], "internal error", "{path}");
        assert_eq!(reply.adapter(), "echo@1.0.0");
    }
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_header_selects_or_explains() {
    let host = TestHost::with(&[ECHO]).await;

    let reply = send(
        Method::GET,
        &host.url("/echo/hello"),
        &[("x-frontdoor-version", "=1.0.0")],
        Vec::new(),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.adapter(), "echo@1.0.0");

    let reply = send(
        Method::GET,
        &host.url("/echo/hello"),
        &[("x-frontdoor-version", "^2")],
        Vec::new(),
    )
    .await;
    assert_eq!(reply.status, 404);
    let body = reply.json();
    assert_eq!(body["error"], "no matching version");
    assert_eq!(body["loaded_versions"], serde_json::json!(["1.0.0"]));

    let reply = send(
        Method::GET,
        &host.url("/echo/hello"),
        &[("x-frontdoor-version", "not a version")],
        Vec::new(),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap_or("")
            .contains("x-frontdoor-version")
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused_with_413() {
    let host = TestHost::with(&[ECHO]).await;
    // The test host allows 64 KiB.
    let reply = send(
        Method::POST,
        &host.url("/echo/items/1/parts/2"),
        &[],
        vec![b'x'; 65 * 1024],
    )
    .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["error"], "payload too large");

    let reply = send(
        Method::POST,
        &host.url("/echo/items/1/parts/2"),
        &[],
        vec![b'x'; 1024],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["body"].as_str().map(str::len), Some(1024));
    host.stop().await;
}
