use hyper::{HeaderMap, Method, header::HeaderValue};

use super::{ControlCall, form::Form, same_origin};

fn call(path: &str, form: &str) -> Result<ControlCall, u16> {
    ControlCall::from_form(path, &Form::parse(form.as_bytes())).map_err(|r| r.status.as_u16())
}

#[test]
fn forms_become_the_control_routes_they_stand_for() {
    let rollback = call("/console/adapters/tv/rollback", "csrf=x").expect("rollback");
    assert_eq!(rollback.method, Method::POST);
    assert_eq!(rollback.path, "/admin/adapters/tv/rollback");
    let pin = call("/console/adapters/tv/pin", "csrf=x&version=1.0.0").expect("pin");
    assert_eq!(pin.path, "/admin/adapters/tv/pin");
    assert_eq!(pin.body, br#"{"version":"1.0.0"}"#);
    let unpin = call("/console/adapters/tv/unpin", "").expect("unpin");
    assert_eq!(
        (unpin.method, unpin.path.as_str()),
        (Method::DELETE, "/admin/adapters/tv/pin")
    );
    let canary = call(
        "/console/adapters/tv/canary/start",
        "canary=2.0.0&weight=12.5",
    )
    .expect("canary");
    assert_eq!(canary.path, "/admin/adapters/tv/canary");
    let body: serde_json::Value = serde_json::from_slice(&canary.body).expect("json");
    assert_eq!(body, serde_json::json!({"canary": "2.0.0", "weight": 12.5}));
    let forget = call("/console/adapters/tv/canary/forget", "").expect("forget");
    assert_eq!(
        (forget.method, forget.path.as_str()),
        (Method::DELETE, "/admin/adapters/tv/canary")
    );
    let stop = call("/console/adapters/tv/shadow/stop", "").expect("stop");
    assert_eq!(
        (stop.method, stop.path.as_str()),
        (Method::DELETE, "/admin/adapters/tv/shadow")
    );
    let lift = call("/console/adapters/tv/versions/1.0.0/lift-quarantine", "").expect("lift");
    assert_eq!(
        lift.path,
        "/admin/adapters/tv/versions/1.0.0/lift-quarantine"
    );
}

#[test]
fn odd_names_fields_and_actions_are_refused_before_the_control_plane() {
    assert_eq!(
        call("/console/adapters/tv/format-disk", "").err(),
        Some(404)
    );
    assert_eq!(call("/console/adapters/../rollback", "").err(), Some(404));
    assert_eq!(
        call("/console/adapters/tv/versions/../lift-quarantine", "").err(),
        Some(404)
    );
    assert_eq!(
        call("/console/adapters/t%20v/rollback", "").err(),
        Some(404)
    );
    assert_eq!(call("/console/adapters/tv/pin", "").err(), Some(400));
    assert_eq!(
        call("/console/adapters/tv/pin", "version=1.0.0%22%7D").err(),
        Some(400)
    );
    assert_eq!(
        call(
            "/console/adapters/tv/canary/start",
            "canary=2.0.0&weight=NaN"
        )
        .err(),
        Some(400)
    );
    assert_eq!(
        call(
            "/console/adapters/tv/shadow/start",
            "target=2.0.0&share=lots"
        )
        .err(),
        Some(400)
    );
    assert_eq!(call("/console/backends/rollback", "").err(), Some(404));
}

#[test]
fn posts_from_other_sites_are_refused() {
    let headers = |pairs: &[(&'static str, &'static str)]| {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    };
    assert!(same_origin(&headers(&[])).is_ok());
    assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
    assert!(
        same_origin(&headers(&[
            ("host", "127.0.0.1:8081"),
            ("origin", "http://127.0.0.1:8081")
        ]))
        .is_ok()
    );
    assert!(same_origin(&headers(&[("sec-fetch-site", "cross-site")])).is_err());
    assert!(same_origin(&headers(&[("sec-fetch-site", "same-site")])).is_err());
    assert!(
        same_origin(&headers(&[
            ("host", "127.0.0.1:8081"),
            ("origin", "http://evil.test")
        ]))
        .is_err()
    );
    assert!(same_origin(&headers(&[("origin", "null")])).is_err());
}
