//! Routing, request building, response conversion, handler failures and virtual time.

use std::time::Duration;

use frontdoor_plugin_api::{
    HandlerErrorKind,
    serde_json::{Value, json},
    testkit::Reply,
};

use super::adapter::kit;

#[test]
fn routes_with_the_hosts_matcher_and_decodes_path_parameters() {
    let mut kit = kit();
    kit.backend("catalog")
        .on_get("/titles/a b", Reply::json(&json!({ "name": "spaced" })));
    let answer = kit.get("/items/a%20b").send();
    assert_eq!(answer.status(), 200, "{}", answer.text());
    assert_eq!(
        answer.json_value(),
        json!({ "id": "a b", "title": { "name": "spaced" } })
    );
    assert_eq!(answer.header("x-frontdoor-adapter"), Some("testkit@0.1.0"));

    let missing = kit.get("/items").send();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json_value()["error"], "not found");
    let wrong_method = kit.post("/items/1").send();
    assert_eq!(wrong_method.status(), 405);
    assert!(
        wrong_method.json_value()["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("does not serve POST /items/1")
    );
    assert!(missing.calls().is_empty() && wrong_method.calls().is_empty());
    assert_ne!(
        missing.request_id(),
        wrong_method.request_id(),
        "every request its own id"
    );
    let malformed = kit.get("/items/%zz").send();
    assert_eq!(
        malformed.status(),
        404,
        "a malformed escape matches no route"
    );
}

#[test]
fn a_request_carries_method_query_headers_body_and_an_id() {
    let kit = kit();
    let answer = kit
        .post("/echo?x=1")
        .header("X-Custom", "value")
        .json(&json!({ "hello": "world" }))
        .send();
    assert_eq!(answer.status(), 200, "{}", answer.text());
    let echoed = answer.json_value();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["path"], "/echo");
    assert_eq!(echoed["query"], "x=1");
    assert_eq!(echoed["body"], json!({ "hello": "world" }));
    assert_eq!(echoed["custom"], "value");
    assert_eq!(echoed["request_id"], answer.request_id());
    assert_eq!(
        answer.request_id().len(),
        32,
        "a generated id, as the host's"
    );
    // The host's headers are the host's: the handler's forged ones are dropped.
    assert_eq!(answer.header("x-frontdoor-adapter"), Some("testkit@0.1.0"));
    let ids: Vec<_> = answer
        .headers()
        .iter()
        .filter(|(name, _)| name == "x-request-id")
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(answer.header("x-echo"), Some("yes"));
    assert_eq!(answer.header("content-type"), Some("application/json"));

    let with_id = kit
        .post("/echo")
        .header("x-request-id", "device-id-1")
        .json(&json!(1))
        .send();
    assert_eq!(with_id.request_id(), "device-id-1");
    let refused_id = kit
        .post("/echo")
        .header("x-request-id", "has space")
        .json(&json!(1))
        .send();
    assert_ne!(
        refused_id.request_id(),
        "has space",
        "replaced, as by the host"
    );
    assert_eq!(
        refused_id.json_value()["request_id"],
        refused_id.request_id()
    );

    let garbage = kit.post("/echo").body("not json").send();
    assert_eq!(garbage.status(), 400);
    assert!(garbage.json_value()["error"].as_str().is_some());
}

#[test]
fn handler_errors_and_panics_are_the_hosts_500_with_the_cause_kept() {
    let mut kit = kit();
    let panicked = kit.get("/panic").send();
    assert_eq!(panicked.status(), 500);
    assert_eq!(panicked.json_value()["error"], "internal error");
    let error = panicked.handler_error().expect("the panic is kept");
    assert_eq!(error.kind, HandlerErrorKind::Panicked);
    assert!(error.message.contains("deliberate handler panic"));

    kit.backend("catalog").otherwise(Reply::status(503));
    let failed = kit.get("/fail").send();
    assert_eq!(failed.status(), 500);
    assert!(
        !failed.text().contains("503"),
        "the cause is logged by the host, never sent: {}",
        failed.text()
    );
    let error = failed.handler_error().expect("the error is kept");
    assert_eq!(error.kind, HandlerErrorKind::Failed);
    assert!(error.message.contains("503"), "{}", error.message);

    let invalid = kit.get("/bad-header").send();
    assert_eq!(invalid.status(), 500);
    assert!(
        invalid
            .handler_error()
            .is_some_and(|error| error.message.contains("header name"))
    );
}

#[test]
fn time_is_virtual_sleeps_and_hangs_cost_no_real_time() {
    let kit = kit();
    let slept = kit.get("/sleepy").send();
    assert_eq!(slept.status(), 200);
    assert_eq!(slept.elapsed(), Duration::from_secs(2));
    assert_eq!(
        slept.json_value(),
        json!({ "before_ms": 5000, "after_ms": 3000 })
    );
    assert_eq!(slept.logs().len(), 1);
    assert_eq!(slept.logs()[0].message, "slept");

    let hung = kit.get("/hang").send();
    assert_eq!(
        hung.status(),
        504,
        "the host's handler timeout: deadline + 1 s"
    );
    assert_eq!(hung.elapsed(), Duration::from_secs(6));
    assert_eq!(hung.json_value()["error"], "handler timeout");
}

#[test]
fn a_handler_outliving_its_budget_is_a_504() {
    let mut kit = kit();
    kit.handler_timeout(Duration::from_millis(1500));
    let cut = kit.get("/sleepy").send();
    assert_eq!(cut.status(), 504);
    assert_eq!(cut.elapsed(), Duration::from_millis(1500));
}

#[test]
fn the_warm_up_runs_as_the_host_runs_it() {
    let mut kit = kit();
    let refused = kit.warm_up(Duration::from_secs(5));
    assert!(
        refused
            .as_ref()
            .is_err_and(|error| error.message.contains("catalog not reachable")),
        "{refused:?}"
    );
    kit.backend("catalog")
        .on_get("/titles/popular", Reply::json(&Value::Null));
    assert!(kit.warm_up(Duration::from_secs(5)).is_ok());
    let mut hanging = super::adapter::kit();
    hanging
        .backend("catalog")
        .timeout(Duration::from_secs(60))
        .otherwise(Reply::hang());
    let timed_out = hanging.warm_up(Duration::from_millis(300));
    assert!(
        timed_out
            .as_ref()
            .is_err_and(|error| error.message.contains("within 300 ms")),
        "{timed_out:?}"
    );
}
