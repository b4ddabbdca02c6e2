//! The `{{name}}` adapter's tests, written with the test kit: the handlers run in-process,
//! routed as the host routes them, against fake backends on virtual time.

use std::time::Duration;

use frontdoor_plugin_api::{
    serde_json::json,
    testkit::{Reply, TestKit},
};

fn kit() -> TestKit {
    TestKit::new(crate::__frontdoor_adapter())
}

#[test]
fn hello_greets_profile_one() {
    let mut kit = kit();
    kit.backend("profiles").on_get(
        "/profiles/1",
        Reply::json(&json!({ "id": 1, "name": "Ada" })),
    );
    let answer = kit.get("/hello").send();
    assert_eq!(answer.status(), 200, "{}", answer.text());
    assert_eq!(
        answer.json_value(),
        json!({ "adapter": "{{name}}", "greeting": "Hello, Ada!", "degraded": [] })
    );
    let call = answer.call_to("profiles");
    assert_eq!(call.path, "/profiles/1");
    assert_eq!(call.header("x-request-id"), Some(answer.request_id()));
}

#[test]
fn hello_still_answers_when_profiles_fails() {
    for failure in [
        Reply::refused(),
        Reply::status(503),
        Reply::circuit_open(),
        // Never answers: the backend's timeout ends the wait, on virtual time.
        Reply::hang(),
    ] {
        let mut kit = kit();
        kit.backend("profiles")
            .timeout(Duration::from_millis(200))
            .otherwise(failure);
        let answer = kit.get("/hello").send();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.json_value()["degraded"], json!(["profiles"]));
        assert!(answer.elapsed() <= Duration::from_millis(200));
    }
}

#[test]
fn hello_still_answers_without_a_profiles_backend() {
    // Never configured: the call fails with `UnknownBackend`, as on a host without it.
    let answer = kit().get("/hello").send();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json_value()["adapter"], "{{name}}");
    assert_eq!(answer.json_value()["degraded"], json!(["profiles"]));
}

#[test]
fn other_routes_and_methods_are_the_hosts_404_and_405() {
    let kit = kit();
    assert_eq!(kit.get("/nope").send().status(), 404);
    assert_eq!(kit.post("/hello").send().status(), 405);
}
