//! Decisions per device, their ids, and the input rules.

use bytes::Bytes;
use hyper::Method;

use super::*;

fn post(body: &str) -> Reply {
    answer(&Call {
        method: Method::POST,
        body: Bytes::from(body.to_owned()),
        ..Call::get("/decisions")
    })
}

#[test]
fn resolution_follows_the_device() {
    for (device, resolution) in [
        ("tv", "2160p"),
        ("mobile", "720p"),
        ("web", "1080p"),
        ("console", "1080p"),
    ] {
        let reply = post(&format!(
            r#"{{"profile": 3, "title_id": 80000010, "device": "{device}"}}"#
        ));
        assert_eq!(reply.status, 200, "{device}: {}", reply.value());
        assert_eq!(reply.value()["max_resolution"], resolution);
        assert_eq!(reply.value()["title_id"], 80_000_010);
        assert_eq!(
            reply.value()["manifest_url"],
            format!("https://cdn.example.test/manifests/80000010/{resolution}.mpd")
        );
    }
}

#[test]
fn decisions_are_deterministic() {
    let body = r#"{"profile": 3, "title_id": 80000010, "device": "tv"}"#;
    assert_eq!(post(body), post(body));
    let reply = post(body);
    assert_eq!(reply.value()["drm"], "playready");
    let id = reply.value()["decision_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    assert_eq!(id.len(), 16);
    let other = post(r#"{"profile": 4, "title_id": 80000010, "device": "tv"}"#);
    assert_ne!(other.value()["decision_id"], id.as_str());
    let fields = reply.value().as_object().expect("an object").len();
    assert_eq!(fields, 5);
}

#[test]
fn bad_and_unknown_requests() {
    for (body, status) in [
        ("", 400),
        ("{}", 400),
        (r#"{"title_id": 80000010, "device": "tv"}"#, 400),
        (r#"{"profile": 1, "device": "tv"}"#, 400),
        (r#"{"profile": 1, "title_id": 80000010}"#, 400),
        (
            r#"{"profile": "1", "title_id": 80000010, "device": "tv"}"#,
            400,
        ),
        (r#"{"profile": 1, "title_id": 80000010, "device": ""}"#, 400),
        (
            r#"{"profile": 1, "title_id": 80000010, "device": "T V"}"#,
            400,
        ),
        (
            r#"{"profile": 1000, "title_id": 80000010, "device": "tv"}"#,
            404,
        ),
        (
            r#"{"profile": 1, "title_id": 80000200, "device": "tv"}"#,
            404,
        ),
    ] {
        let reply = post(body);
        assert_eq!(reply.status, status, "{body}: {}", reply.value());
        assert!(reply.value()["error"].is_string());
    }
    assert_eq!(answer(&Call::get("/decisions")).status, 405);
}
