//! Every service's endpoints over real HTTP.

use frontdoor_sample_backends::Service;
use frontdoor_workloads::CATALOG;
use hyper::Method;
use serde_json::json;

use crate::support::{backends, get, send};

#[tokio::test]
async fn every_service_has_health_and_ping() {
    let backends = backends().await;
    for service in Service::ALL {
        let addr = backends.addr(service);
        let health = get(addr, "/health").await;
        assert_eq!(health.status, 200);
        assert_eq!(health.content_type, "application/json");
        assert_eq!(
            health.body,
            json!({ "ok": true, "service": service.name() })
        );
        let ping = get(addr, "/ping").await;
        assert_eq!((ping.status, ping.body), (200, json!({ "ok": true })));
        let missing = get(addr, "/missing").await;
        assert_eq!(
            (missing.status, missing.body),
            (404, json!({ "error": "not found" }))
        );
    }
    backends.shutdown().await;
}

#[tokio::test]
async fn catalog_titles_one_and_many() {
    let backends = backends().await;
    let addr = backends.addr(Service::Catalog);
    let title = get(addr, "/titles/80000042").await;
    assert_eq!(title.status, 200);
    assert_eq!(title.body["id"], 80_000_042);
    assert_eq!(title.body["title"], CATALOG[42].title.as_str());
    assert_eq!(title.body["runtime_min"], CATALOG[42].runtime_min);
    assert!(
        title.body["synopsis"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(get(addr, "/titles/80000042").await.body, title.body);

    let many = get(addr, "/titles?ids=80000001,42,80000002").await;
    let ids: Vec<_> = many.body["titles"]
        .as_array()
        .expect("titles")
        .iter()
        .map(|title| title["id"].clone())
        .collect();
    assert_eq!(ids, [json!(80_000_001), json!(80_000_002)]);

    let unknown = get(addr, "/titles/80000200").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["error"].is_string());
    assert_eq!(get(addr, "/titles/abc").await.status, 400);
    backends.shutdown().await;
}

#[tokio::test]
async fn profiles_and_recommendations() {
    let backends = backends().await;
    let profile = get(backends.addr(Service::Profiles), "/profiles/42").await;
    assert_eq!(profile.status, 200);
    for field in ["id", "name", "maturity_level", "language", "avatar_url"] {
        assert!(!profile.body[field].is_null(), "{field} missing");
    }
    assert_eq!(
        get(backends.addr(Service::Profiles), "/profiles/1000")
            .await
            .status,
        404
    );

    let addr = backends.addr(Service::Recommendations);
    let rows = get(addr, "/rows?profile=42&count=6").await;
    assert_eq!(rows.status, 200);
    assert_eq!(rows.body["profile"], 42);
    let rows = rows.body["rows"].as_array().expect("rows").clone();
    assert_eq!(rows.len(), 6);
    assert!(
        rows.iter()
            .all(|row| row["title_ids"].as_array().map(Vec::len) == Some(10))
    );
    let default = get(addr, "/rows?profile=42").await;
    assert_eq!(default.body["rows"].as_array().map(Vec::len), Some(4));
    assert_eq!(get(addr, "/rows?profile=42&count=11").await.status, 400);
    backends.shutdown().await;
}

#[tokio::test]
async fn bookmarks_are_seeded_and_writable() {
    let backends = backends().await;
    let addr = backends.addr(Service::Bookmarks);
    let seeded = get(addr, "/bookmarks/9").await;
    assert_eq!(seeded.status, 200);
    assert_eq!(seeded.body["profile"], 9);
    let items = seeded.body["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 3);

    let title_id = items[2]["title_id"].as_u64().expect("a title id");
    let written = send(
        addr,
        Method::PUT,
        &format!("/bookmarks/9/{title_id}"),
        r#"{"position_s": 61}"#,
    )
    .await;
    assert_eq!((written.status, written.body), (200, json!({ "ok": true })));

    let after = get(addr, "/bookmarks/9").await;
    let items = after.body["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0]["title_id"], title_id,
        "the latest write comes first"
    );
    assert_eq!(items[0]["position_s"], 61);
    // Another profile is untouched.
    assert_eq!(
        get(addr, "/bookmarks/10").await.body["items"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    let bad = send(addr, Method::PUT, "/bookmarks/9/80000001", r#"{"pos": 1}"#).await;
    assert_eq!(bad.status, 400);
    backends.shutdown().await;
}

#[tokio::test]
async fn playback_decides_per_device() {
    let backends = backends().await;
    let addr = backends.addr(Service::Playback);
    let decide =
        |device: &str| format!(r#"{{"profile": 1, "title_id": 80000003, "device": "{device}"}}"#);
    for (device, resolution) in [("tv", "2160p"), ("mobile", "720p"), ("web", "1080p")] {
        let decision = send(addr, Method::POST, "/decisions", &decide(device)).await;
        assert_eq!(decision.status, 200);
        assert_eq!(decision.body["max_resolution"], resolution);
        assert_eq!(decision.body["title_id"], 80_000_003);
        for field in ["manifest_url", "drm", "decision_id"] {
            assert!(decision.body[field].is_string(), "{field} missing");
        }
    }
    let again = send(addr, Method::POST, "/decisions", &decide("tv")).await;
    let first = send(addr, Method::POST, "/decisions", &decide("tv")).await;
    assert_eq!(again.body, first.body);

    let missing = send(addr, Method::POST, "/decisions", r#"{"profile": 1}"#).await;
    assert_eq!(missing.status, 400);
    let unknown = send(
        addr,
        Method::POST,
        "/decisions",
        r#"{"profile": 1, "title_id": 1, "device": "tv"}"#,
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(get(addr, "/decisions").await.status, 405);
    backends.shutdown().await;
}
