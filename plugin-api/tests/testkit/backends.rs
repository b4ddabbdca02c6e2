//! Fake backends: scripted answers, every error kind, latency, timeouts, the deadline,
//! and the calls recorded.

use std::time::Duration;

use frontdoor_plugin_api::{
    BackendErrorKind,
    serde_json::{Value, json},
    testkit::{Outcome, Reply, TestKit},
};

use super::adapter::kit;

fn call(kit: &TestKit, backend: &str, path: &str) -> Value {
    let answer = kit.get(&format!("/call/{backend}?path={path}")).send();
    assert_eq!(answer.status(), 200, "{}", answer.text());
    answer.json_value()
}

#[test]
fn answers_are_scripted_by_method_and_path_with_prefixes_and_fallbacks() {
    let mut kit = kit();
    kit.backend("catalog")
        .on_get(
            "/titles/1",
            Reply::status(200).body("one").header("ETag", "v1"),
        )
        .on_get("/titles?ids=*", Reply::status(200).body("batch"))
        .on_with("GET", "/echo*", |call| {
            Reply::status(200).body(call.path.clone())
        })
        .otherwise(Reply::status(200).body("anything else"));
    assert_eq!(
        call(&kit, "catalog", "/titles/1"),
        json!({ "status": 200, "etag": "v1", "body": "one" })
    );
    assert_eq!(call(&kit, "catalog", "/titles?ids=1,2")["body"], "batch");
    assert_eq!(call(&kit, "catalog", "/echo/x")["body"], "/echo/x");
    assert_eq!(call(&kit, "catalog", "/other")["body"], "anything else");
    kit.backend("catalog")
        .on_get("/titles/*", Reply::status(200).body("newest"));
    assert_eq!(
        call(&kit, "catalog", "/titles/1")["body"],
        "newest",
        "the newest matching rule wins"
    );
    kit.backend("catalog").always(Reply::refused());
    assert_eq!(call(&kit, "catalog", "/titles/1")["kind"], "Transport");

    let mut unscripted = super::adapter::kit();
    unscripted.backend("catalog");
    let answer = call(&unscripted, "catalog", "/nothing");
    assert_eq!(answer["kind"], "Status");
    assert_eq!(answer["status"], 404);
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no answer scripted for GET /nothing")
    );
}

#[test]
fn every_error_kind_reaches_the_handler_as_the_host_reports_it() {
    let mut kit = kit();
    for (name, reply, kind) in [
        (
            "timeout",
            Reply::error(BackendErrorKind::Timeout),
            "Timeout",
        ),
        ("refused", Reply::refused(), "Transport"),
        ("open", Reply::circuit_open(), "CircuitOpen"),
        ("full", Reply::rejected(), "Rejected"),
        (
            "invalid",
            Reply::error(BackendErrorKind::Invalid),
            "Invalid",
        ),
        (
            "unknown",
            Reply::error(BackendErrorKind::UnknownBackend),
            "UnknownBackend",
        ),
        ("status", Reply::status(503).body("down"), "Status"),
        (
            "status-kind",
            Reply::error(BackendErrorKind::Status),
            "Status",
        ),
    ] {
        kit.backend(name).otherwise(reply);
        let answer = call(&kit, name, "/x");
        assert_eq!(answer["kind"], kind, "{name}: {answer}");
    }
    let status = call(&kit, "status", "/x");
    assert_eq!(status["status"], 503);
    assert_eq!(status["message"], "down");

    let never_configured = call(&kit, "nowhere", "/x");
    assert_eq!(never_configured["kind"], "UnknownBackend");
    let bad_path = call(&kit, "status", "no-slash");
    assert_eq!(bad_path["kind"], "Invalid");
    kit.backend("catalog").otherwise(Reply::status(200));
    assert_eq!(
        kit.get("/bad-call").send().json_value(),
        json!(["Invalid", "Invalid", "Invalid"])
    );
}

#[test]
fn latency_is_virtual_and_bounded_by_the_timeout_and_the_deadline() {
    let mut kit = kit();
    kit.backend("slow")
        .on_get(
            "/quick",
            Reply::status(200).after(Duration::from_millis(300)),
        )
        .on_get(
            "/late",
            Reply::status(200).after(Duration::from_millis(1500)),
        )
        .on_get("/hang", Reply::hang());
    let quick = kit.get("/call/slow?path=/quick").send();
    assert_eq!(quick.json_value()["status"], 200);
    assert_eq!(quick.elapsed(), Duration::from_millis(300));

    let late = kit.get("/call/slow?path=/late").send();
    assert_eq!(
        late.json_value()["kind"],
        "Timeout",
        "past the default 1 s timeout"
    );
    assert_eq!(late.elapsed(), Duration::from_millis(1000));
    assert_eq!(
        late.call_to("slow").outcome,
        Some(Outcome::Failed(BackendErrorKind::Timeout))
    );

    kit.backend("slow").timeout(Duration::from_millis(100));
    let hung = kit.get("/call/slow?path=/hang").send();
    assert_eq!(hung.json_value()["kind"], "Timeout");
    assert_eq!(hung.elapsed(), Duration::from_millis(100));

    kit.backend("slow").timeout(Duration::from_secs(10));
    kit.deadline(Duration::from_millis(250));
    let bounded = kit.get("/call/slow?path=/hang").send();
    assert_eq!(bounded.json_value()["kind"], "Timeout");
    assert_eq!(
        bounded.elapsed(),
        Duration::from_millis(250),
        "the deadline ends it"
    );
}

#[test]
fn calls_are_recorded_with_the_request_id_and_their_timing_shows_parallelism() {
    let mut kit = kit();
    for name in ["a", "b"] {
        kit.backend(name)
            .otherwise(Reply::status(200).after(Duration::from_millis(50)));
    }
    let parallel = kit.get("/fanout").header("x-request-id", "fan-1").send();
    assert_eq!(parallel.elapsed(), Duration::from_millis(50));
    let (a, b) = (parallel.call_to("a"), parallel.call_to("b"));
    assert!(a.overlaps(b));
    assert_eq!(a.header("x-request-id"), Some("fan-1"));
    assert_eq!(a.summary(), "GET a /a");
    assert_eq!(a.outcome, Some(Outcome::Answered(200)));
    assert_eq!(a.finished, Some(Duration::from_millis(50)));

    let sequential = kit.get("/sequence").send();
    assert_eq!(sequential.elapsed(), Duration::from_millis(100));
    let (a, b) = (sequential.call_to("a"), sequential.call_to("b"));
    assert!(!a.overlaps(b));
    assert_eq!(b.started, Duration::from_millis(50));
    assert_eq!(b.header("x-request-id"), Some(sequential.request_id()));

    let all = kit.calls();
    assert_eq!(all.len(), 4, "the kit keeps every call of every request");
}
