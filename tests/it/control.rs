//! Versions under operators' control: tokens and scopes on the admin listener, pins,
//! rollbacks, disabled versions, lifted quarantines and module pins changing what devices
//! get, the state surviving a restart, and `frontdoor ctl` against a running host.

use std::{process::Output, time::Duration};

use frontdoor::{
    HostConfig,
    control::{Scope, auth::digest_hex},
};
use hyper::Method;
use sha2::Digest as _;

use crate::support::{Fixture, HostProcess, Reply, TestHost, get, refusing_url, send};

const TV_TOKEN: &str = "tv-team-token-0123456789";
const MOBILE_TOKEN: &str = "mobile-team-token-0123456789";
const READ_TOKEN: &str = "observer-token-0123456789";
const ADMIN_TOKEN: &str = "platform-token-0123456789";

/// Tokens for three teams and an admin; `echo` is owned by `tv`, `misbehaver` by `mobile`.
fn with_tokens(config: &mut HostConfig) {
    let auth = &mut config.admin_auth;
    for (team, token, scope) in [
        ("tv", TV_TOKEN, Scope::Deploy),
        ("mobile", MOBILE_TOKEN, Scope::Deploy),
        ("observers", READ_TOKEN, Scope::Read),
        ("platform", ADMIN_TOKEN, Scope::Admin),
    ] {
        assert!(auth.add_token(team, &digest_hex(token), &[scope]));
    }
    auth.owners.insert("echo".into(), "tv".into());
    auth.owners.insert("misbehaver".into(), "mobile".into());
}

/// One admin request with an optional bearer token and a JSON body.
async fn admin(url: &str, method: Method, path: &str, token: Option<&str>, body: &str) -> Reply {
    let authorization = token.map(|token| format!("Bearer {token}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(value) = &authorization {
        headers.push(("authorization", value.as_str()));
    }
    send(
        method,
        &format!("{url}{path}"),
        &headers,
        body.as_bytes().to_vec(),
    )
    .await
}

fn pin_body(version: &str) -> String {
    format!("{{\"version\": \"{version}\"}}")
}

/// The version of `name` that devices get without a version header.
async fn served(url: &str) -> String {
    let reply = get(url).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.adapter().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_scopes_and_owners_decide_who_may_do_what() {
    let host = TestHost::with_config(
        &[
            Fixture::Echo("1.0.0"),
            Fixture::Echo("2.0.0"),
            Fixture::Misbehaver("1.0.0"),
        ],
        with_tokens,
    )
    .await;
    let base = host.admin_url("");
    let base = base.as_str();

    // No token, a wrong one, or junk: 401 with the Bearer challenge, as JSON.
    for token in [None, Some("not-a-token"), Some(&digest_hex(TV_TOKEN)[..])] {
        let reply = admin(base, Method::GET, "/admin/plugins", token, "").await;
        assert_eq!(reply.status, 401, "{token:?}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"frontdoor-admin\"")
        );
        assert_eq!(reply.json()["error"], "unauthorized");
    }
    let long = format!("Bearer {}", "x".repeat(8 * 1024));
    for value in ["Bearer", "Basic dHY6dHY=", "Bearer  ", long.as_str()] {
        let reply = send(
            Method::GET,
            &host.admin_url("/admin/plugins"),
            &[("authorization", value)],
            Vec::new(),
        )
        .await;
        assert_eq!(reply.status, 401, "{}", &value[..value.len().min(20)]);
    }
    // A token that differs only in its last byte, or by case, is another token.
    let mut near = TV_TOKEN.to_owned();
    near.pop();
    near.push('8');
    for token in [near, TV_TOKEN.to_uppercase()] {
        let reply = admin(base, Method::GET, "/admin/adapters", Some(&token), "").await;
        assert_eq!(reply.status, 401, "{token}");
    }
    // The scheme is case-insensitive; every GET needs read, which every scope has.
    let lowercase = format!("bearer {READ_TOKEN}");
    let reply = send(
        Method::GET,
        &host.admin_url("/admin/health"),
        &[("authorization", &lowercase)],
        Vec::new(),
    )
    .await;
    assert_eq!(reply.status, 200);
    for token in [TV_TOKEN, READ_TOKEN, ADMIN_TOKEN] {
        assert_eq!(
            admin(base, Method::GET, "/admin/adapters/echo", Some(token), "")
                .await
                .status,
            200
        );
    }

    // A read token cannot pin; another team cannot touch echo; nobody but admin changes the host.
    let pin = pin_body("1.0.0");
    let reply = admin(
        base,
        Method::POST,
        "/admin/adapters/echo/pin",
        Some(READ_TOKEN),
        &pin,
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["error"], "forbidden");
    let reply = admin(
        base,
        Method::POST,
        "/admin/adapters/echo/pin",
        Some(MOBILE_TOKEN),
        &pin,
    )
    .await;
    assert_eq!(reply.status, 403);
    assert!(
        reply.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("owned by tv")),
        "{:?}",
        reply.body
    );
    let reply = admin(
        base,
        Method::PUT,
        "/admin/log-level",
        Some(TV_TOKEN),
        "debug",
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        served(&host.url("/echo/hello")).await,
        "echo@2.0.0",
        "nothing changed"
    );

    // The owner can; so can admin, on anything.
    let reply = admin(
        base,
        Method::POST,
        "/admin/adapters/echo/pin",
        Some(TV_TOKEN),
        &pin,
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["pin"]["in_effect"], true);
    assert_eq!(served(&host.url("/echo/hello")).await, "echo@1.0.0");
    let reply = admin(
        base,
        Method::POST,
        "/admin/adapters/misbehaver/versions/1.0.0/disable",
        Some(ADMIN_TOKEN),
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = admin(
        base,
        Method::POST,
        "/admin/adapters/misbehaver/versions/1.0.0/enable",
        Some(MOBILE_TOKEN),
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    // Canaries and shadows are changes to the adapter too: its owner's (or admin's) to make.
    let canary =
        r#"{"canary": "2.0.0", "baseline": "1.0.0", "weight": 10, "interval_ms": 86400000}"#;
    for token in [None, Some(READ_TOKEN), Some(MOBILE_TOKEN)] {
        let reply = admin(
            base,
            Method::POST,
            "/admin/adapters/echo/canary",
            token,
            canary,
        )
        .await;
        let expected = if token.is_none() { 401 } else { 403 };
        assert_eq!(reply.status, expected, "{token:?}: {:?}", reply.body);
    }
    let reply = admin(
        base,
        Method::POST,
        "/admin/adapters/echo/canary/abort",
        Some(MOBILE_TOKEN),
        "",
    )
    .await;
    assert_eq!(reply.status, 403);
    let reply = admin(
        base,
        Method::POST,
        "/admin/adapters/echo/canary",
        Some(TV_TOKEN),
        canary,
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let reply = admin(
        base,
        Method::GET,
        "/admin/adapters/echo/canary",
        Some(READ_TOKEN),
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = admin(
        base,
        Method::DELETE,
        "/admin/adapters/echo/shadow",
        Some(MOBILE_TOKEN),
        "",
    )
    .await;
    assert_eq!(reply.status, 403);

    // Every change is in the audit log, with the team that made it.
    let audit = admin(base, Method::GET, "/admin/audit", Some(READ_TOKEN), "")
        .await
        .json();
    let entries: Vec<(String, String, String)> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["team"].as_str().unwrap_or("").to_owned(),
                e["action"].as_str().unwrap_or("").to_owned(),
                e["target"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            ("tv".into(), "pin".into(), "adapter echo".into()),
            (
                "platform".into(),
                "disable".into(),
                "adapter misbehaver@1.0.0".into()
            ),
            (
                "mobile".into(),
                "enable".into(),
                "adapter misbehaver@1.0.0".into()
            ),
            ("tv".into(), "canary start".into(), "adapter echo".into()),
        ]
    );
    assert_eq!(audit["entries"][0]["before"], serde_json::json!({}));
    assert_eq!(audit["entries"][0]["after"]["pin"], "1.0.0");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_json_errors_that_change_nothing() {
    let host = TestHost::with(&[Fixture::Echo("1.0.0"), Fixture::Echo("2.0.0")]).await;
    let base = host.admin_url("");
    let base = base.as_str();
    let cases: [(Method, &str, String, u16); 10] = [
        (
            Method::POST,
            "/admin/adapters/echo/pin",
            "{\"version\": \"9.9.9\"}".into(),
            409,
        ),
        (
            Method::POST,
            "/admin/adapters/echo/pin",
            "{\"version\": \"one\"}".into(),
            400,
        ),
        (
            Method::POST,
            "/admin/adapters/echo/pin",
            "{\"version\": ".into(),
            400,
        ),
        (
            Method::POST,
            "/admin/adapters/echo/pin",
            "{\"version\": \"1.0.0\", \"x\": 1}".into(),
            400,
        ),
        (
            Method::POST,
            "/admin/adapters/echo/pin",
            format!("{{\"version\": \"{}\"}}", "1".repeat(100_000)),
            413,
        ),
        (
            Method::POST,
            "/admin/adapters/nobody/pin",
            pin_body("1.0.0"),
            404,
        ),
        (
            Method::POST,
            "/admin/adapters/..%2f..%2fetc/pin",
            pin_body("1.0.0"),
            400,
        ),
        (
            Method::POST,
            "/admin/adapters/echo/versions/..%2f/disable",
            String::new(),
            400,
        ),
        (
            Method::POST,
            "/admin/adapters/echo/versions/9.9.9/disable",
            String::new(),
            409,
        ),
        (
            Method::POST,
            "/admin/adapters/echo/versions/1.0.0/lift-quarantine",
            String::new(),
            409,
        ),
    ];
    for (method, path, body, status) in cases {
        let reply = admin(base, method, path, None, &body).await;
        assert_eq!(reply.status, status, "{path}: {:?}", reply.body);
        assert!(reply.json()["error"].is_string(), "{path}");
    }
    let conflict = admin(
        base,
        Method::POST,
        "/admin/adapters/echo/pin",
        None,
        &pin_body("9.9.9"),
    )
    .await;
    let detail = conflict.json()["detail"].as_str().unwrap_or("").to_owned();
    assert!(detail.contains("echo@9.9.9 is not loaded"), "{detail}");
    assert_eq!(served(&host.url("/echo/hello")).await, "echo@2.0.0");
    let audit = admin(base, Method::GET, "/admin/audit", None, "")
        .await
        .json();
    assert_eq!(
        audit["entries"],
        serde_json::json!([]),
        "refusals change nothing"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_rollbacks_and_disables_change_what_devices_get() {
    let host = TestHost::with(&[
        Fixture::Echo("1.0.0"),
        Fixture::Echo("1.1.0"),
        Fixture::Echo("2.0.0"),
    ])
    .await;
    let base = host.admin_url("");
    let base = base.as_str();
    let hello = host.url("/echo/hello");
    assert_eq!(served(&hello).await, "echo@2.0.0");

    // Pin and unpin.
    let view = admin(
        base,
        Method::POST,
        "/admin/adapters/echo/pin",
        None,
        &pin_body("1.0.0"),
    )
    .await
    .json();
    assert_eq!(view["default"], "1.0.0", "{view}");
    assert_eq!(served(&hello).await, "echo@1.0.0");
    // A version header still picks any other version.
    let other = send(
        Method::GET,
        &hello,
        &[("x-frontdoor-version", "=1.1.0")],
        Vec::new(),
    )
    .await;
    assert_eq!(other.adapter(), "echo@1.1.0");
    admin(base, Method::DELETE, "/admin/adapters/echo/pin", None, "").await;
    assert_eq!(served(&hello).await, "echo@2.0.0");

    // Rollback goes back to the version that was the default before (1.0.0, pinned until
    // just now), not merely the next one down; then there is nothing lower.
    let rollback = || {
        admin(
            base,
            Method::POST,
            "/admin/adapters/echo/rollback",
            None,
            "",
        )
    };
    let view = rollback().await.json();
    assert_eq!(view["pin"]["version"], "1.0.0", "{view}");
    assert_eq!(served(&hello).await, "echo@1.0.0");
    let reply = rollback().await;
    assert_eq!(reply.status, 409, "{:?}", reply.body);
    admin(base, Method::DELETE, "/admin/adapters/echo/pin", None, "").await;
    assert_eq!(served(&hello).await, "echo@2.0.0");

    // When the previous default cannot serve, rollback steps down from what devices get.
    admin(
        base,
        Method::POST,
        "/admin/adapters/echo/versions/1.0.0/disable",
        None,
        "",
    )
    .await;
    let view = rollback().await.json();
    assert_eq!(view["pin"]["version"], "1.1.0", "{view}");
    assert_eq!(served(&hello).await, "echo@1.1.0");
    admin(
        base,
        Method::POST,
        "/admin/adapters/echo/versions/1.0.0/enable",
        None,
        "",
    )
    .await;
    admin(base, Method::DELETE, "/admin/adapters/echo/pin", None, "").await;

    // A disabled version takes no traffic at all, with or without a version header.
    let view = admin(
        base,
        Method::POST,
        "/admin/adapters/echo/versions/2.0.0/disable",
        None,
        "",
    )
    .await
    .json();
    assert_eq!(view["default"], "1.1.0", "{view}");
    assert_eq!(served(&hello).await, "echo@1.1.0");
    let asked = send(
        Method::GET,
        &hello,
        &[("x-frontdoor-version", "=2.0.0")],
        Vec::new(),
    )
    .await;
    assert_eq!(asked.status, 404, "{:?}", asked.body);
    let entry = host.version_entry("echo", "2.0.0").await.expect("listed");
    assert_eq!(entry["state"], "disabled", "{entry}");
    // Pinning a disabled version is refused; enabling brings it back.
    let reply = admin(
        base,
        Method::POST,
        "/admin/adapters/echo/pin",
        None,
        &pin_body("2.0.0"),
    )
    .await;
    assert_eq!(reply.status, 409);
    admin(
        base,
        Method::POST,
        "/admin/adapters/echo/versions/2.0.0/enable",
        None,
        "",
    )
    .await;
    assert_eq!(served(&hello).await, "echo@2.0.0");

    // A pin that stops being routable falls back to the normal default, and the view says so.
    admin(
        base,
        Method::POST,
        "/admin/adapters/echo/pin",
        None,
        &pin_body("1.1.0"),
    )
    .await;
    admin(
        base,
        Method::POST,
        "/admin/adapters/echo/versions/1.1.0/disable",
        None,
        "",
    )
    .await;
    assert_eq!(served(&hello).await, "echo@2.0.0");
    let view = admin(base, Method::GET, "/admin/adapters/echo", None, "")
        .await
        .json();
    assert_eq!(view["pin"]["in_effect"], false, "{view}");
    assert!(
        view["pin"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("1.1.0 is disabled")),
        "{view}"
    );
    admin(
        base,
        Method::POST,
        "/admin/adapters/echo/versions/1.1.0/enable",
        None,
        "",
    )
    .await;
    assert_eq!(served(&hello).await, "echo@1.1.0", "the pin holds again");
    std::fs::remove_file(host.dir().join(Fixture::Echo("1.1.0").file_name())).expect("remove");
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;
    let view = admin(base, Method::GET, "/admin/adapters/echo", None, "")
        .await
        .json();
    assert_eq!(view["pin"]["in_effect"], false, "{view}");
    assert!(
        view["pin"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("1.1.0 is not loaded")),
        "{view}"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_page_cannot_change_a_loopback_admin_api_without_tokens() {
    // No tokens: the admin API trusts loopback. A page on any site could still send a form
    // to 127.0.0.1 from the operator's browser; browsers mark it with `Origin`.
    let host = TestHost::with(&[Fixture::Echo("1.0.0"), Fixture::Echo("2.0.0")]).await;
    let hello = host.url("/echo/hello");
    assert_eq!(served(&hello).await, "echo@2.0.0");
    let rollback = host.admin_url("/admin/adapters/echo/rollback");
    for origin in ["https://evil.example", "null", "http://127.0.0.1:8081"] {
        let reply = send(
            Method::POST,
            &rollback,
            &[
                ("origin", origin),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            Vec::new(),
        )
        .await;
        assert_eq!(reply.status, 403, "{origin}: {:?}", reply.body);
        assert_eq!(reply.json()["error"], "forbidden");
        assert!(
            reply.json()["detail"]
                .as_str()
                .is_some_and(|detail| detail.contains("Origin")),
            "{:?}",
            reply.body
        );
    }
    assert_eq!(served(&hello).await, "echo@2.0.0", "nothing changed");
    // Reads from a page stay as they were (a browser keeps cross-site answers from the page).
    let plugins = send(
        Method::GET,
        &host.admin_url("/admin/plugins"),
        &[("origin", "https://evil.example")],
        Vec::new(),
    )
    .await;
    assert_eq!(plugins.status, 200);
    // The same change without `Origin`, as `frontdoor ctl` or curl sends it, goes through.
    let reply = send(Method::POST, &rollback, &[], Vec::new()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(served(&hello).await, "echo@1.0.0");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifting_a_quarantine_puts_the_version_back_in_traffic() {
    let host = TestHost::with_config(
        &[Fixture::Misbehaver("1.0.0"), Fixture::Misbehaver("2.0.0")],
        |config| {
            config.containment.quarantine.panics = 2;
            config.containment.quarantine.window = Duration::from_secs(3600);
        },
    )
    .await;
    let base = host.admin_url("");
    let base = base.as_str();
    // Pinned, then quarantined: the pin stops holding and the view says why.
    let reply = admin(
        base,
        Method::POST,
        "/admin/adapters/misbehaver/pin",
        None,
        &pin_body("2.0.0"),
    )
    .await;
    assert_eq!(reply.status, 200);
    for _ in 0..2 {
        let reply = get(&host.url("/misbehaver/panic")).await;
        assert_eq!(reply.status, 500);
        assert_eq!(reply.adapter(), "misbehaver@2.0.0");
    }
    assert_eq!(
        served(&host.url("/misbehaver/ok")).await,
        "misbehaver@1.0.0"
    );
    let view = admin(base, Method::GET, "/admin/adapters/misbehaver", None, "")
        .await
        .json();
    assert_eq!(view["pin"]["in_effect"], false, "{view}");
    assert!(
        view["pin"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("2.0.0 is quarantined")),
        "{view}"
    );
    let reply = admin(
        base,
        Method::POST,
        "/admin/adapters/misbehaver/pin",
        None,
        &pin_body("2.0.0"),
    )
    .await;
    assert_eq!(reply.status, 409, "a quarantined version cannot be pinned");

    // Lifted: the pin holds again.
    let path = "/admin/adapters/misbehaver/versions/2.0.0/lift-quarantine";
    let view = admin(base, Method::POST, path, None, "").await.json();
    assert_eq!(view["default"], "2.0.0", "{view}");
    assert!(
        view["lifted_quarantines"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("2 panics")),
        "{view}"
    );
    assert_eq!(
        served(&host.url("/misbehaver/ok")).await,
        "misbehaver@2.0.0"
    );
    assert_eq!(
        admin(base, Method::POST, path, None, "").await.status,
        409,
        "not quarantined any more"
    );
    let audit = admin(base, Method::GET, "/admin/audit", None, "")
        .await
        .json();
    assert_eq!(audit["entries"][1]["action"], "lift-quarantine");
    assert_eq!(
        audit["entries"][1]["after"]["quarantined"],
        serde_json::Value::Null
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_pin_chooses_among_the_versions_a_requirement_allows() {
    let host = TestHost::with(&[
        Fixture::ArtworkImpl("1.1.0"),
        Fixture::ArtworkImpl("1.2.0"),
        Fixture::Gallery {
            version: "1.0.0",
            requirement: "^1.0",
        },
    ])
    .await;
    let base = host.admin_url("");
    let base = base.as_str();
    let boxart = || async {
        let reply = get(&host.url("/gallery/art/7")).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.json()["boxart"].as_str().unwrap_or("").to_owned()
    };
    assert!(boxart().await.starts_with("artwork@1.2.0/"));
    let view = admin(
        base,
        Method::POST,
        "/admin/modules/artwork/pin",
        None,
        &pin_body("1.1.0"),
    )
    .await
    .json();
    assert_eq!(view["pin"]["in_effect"], true, "{view}");
    assert!(boxart().await.starts_with("artwork@1.1.0/"));
    let reply = admin(
        base,
        Method::POST,
        "/admin/modules/artwork/pin",
        None,
        &pin_body("3.0.0"),
    )
    .await;
    assert_eq!(reply.status, 409);
    admin(base, Method::DELETE, "/admin/modules/artwork/pin", None, "").await;
    assert!(boxart().await.starts_with("artwork@1.2.0/"));
    host.stop().await;
}

/// A private state directory for a host process (mode 0700, like the host wants it).
fn state_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("frontdoor-test-control-state-")
        .tempdir()
        .expect("state dir")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_disables_canaries_and_shadows_survive_a_restart_and_a_corrupt_state_file_stops_the_start()
 {
    let dir = TestHost::plugins_dir();
    for fixture in [
        Fixture::Echo("1.0.0"),
        Fixture::Echo("1.1.0"),
        Fixture::Echo("2.0.0"),
    ] {
        fixture.deploy_to(dir.path());
    }
    let state = state_dir();
    let state_arg = state.path().to_str().expect("utf-8 path").to_owned();
    let args = ["--state-dir", state_arg.as_str()];

    let host = HostProcess::start(dir.path(), args, "info").await;
    let base = host.admin_url("");
    admin(
        &base,
        Method::POST,
        "/admin/adapters/echo/pin",
        None,
        &pin_body("1.0.0"),
    )
    .await;
    let reply = admin(
        &base,
        Method::POST,
        "/admin/adapters/echo/versions/1.1.0/disable",
        None,
        "",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(served(&host.url("/echo/hello")).await, "echo@1.0.0");
    // A canary that is never judged (its interval is far beyond the test) and a shadow.
    let canary = admin(
        &base,
        Method::POST,
        "/admin/adapters/echo/canary",
        None,
        r#"{"canary": "2.0.0", "weight": 30, "interval_ms": 86400000}"#,
    )
    .await;
    assert_eq!(canary.status, 201, "{:?}", canary.body);
    let shadow = admin(
        &base,
        Method::POST,
        "/admin/adapters/echo/shadow",
        None,
        r#"{"target": "2.0.0", "share": 10, "ignore": ["/at"]}"#,
    )
    .await;
    assert_eq!(shadow.status, 201, "{:?}", shadow.body);
    let devices: Vec<String> = (0..40).map(|i| format!("tv-{i}")).collect();
    let mut sides = Vec::new();
    for device in &devices {
        sides.push(device_version(&host.url("/echo/hello"), device).await);
    }
    assert!(
        sides.iter().any(|v| v == "echo@2.0.0") && sides.iter().any(|v| v == "echo@1.0.0"),
        "40 devices at 30% land on both sides: {sides:?}"
    );
    let log = host.log();
    assert!(
        log.contains("operator change") && log.contains("team=loopback"),
        "{log}"
    );
    assert!(host.stop().await);

    let host = HostProcess::start(dir.path(), args, "info").await;
    // Devices without a sticky key are split at random by the canary: ask the view.
    let view = get(&host.admin_url("/admin/adapters/echo")).await.json();
    assert_eq!(view["default"], "1.0.0", "the pin held: {view}");
    let asked = send(
        Method::GET,
        &host.url("/echo/hello"),
        &[("x-frontdoor-version", "=1.1.0")],
        Vec::new(),
    )
    .await;
    assert_eq!(asked.status, 404, "still disabled");
    let plan = get(&host.admin_url("/admin/adapters/echo/canary"))
        .await
        .json();
    assert_eq!(
        (plan["phase"].as_str(), plan["weight"].as_f64()),
        (Some("running"), Some(30.0)),
        "{plan}"
    );
    let shadow = get(&host.admin_url("/admin/adapters/echo/shadow"))
        .await
        .json();
    assert_eq!(shadow["target"], "2.0.0", "{shadow}");
    for (device, side) in devices.iter().zip(&sides) {
        assert_eq!(
            &device_version(&host.url("/echo/hello"), device).await,
            side,
            "{device} kept its side of the canary across the restart"
        );
    }
    let audit = get(&host.admin_url("/admin/audit")).await.json();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    assert_eq!(actions.len(), 4, "{audit}");
    assert_eq!(&actions[2..], ["canary start", "shadow start"], "{audit}");
    assert!(host.stop().await);

    let file = state.path().join("control.json");
    std::fs::write(
        &file,
        b"{\"format\": 1, \"adapters\": {\"echo\": {\"pin\": 7",
    )
    .expect("corrupt it");
    let mut host = HostProcess::spawn(dir.path(), args, "info");
    let status = host.wait_exit().await;
    assert!(!status.success());
    let log = host.log();
    assert!(
        log.contains(&file.display().to_string()) && log.contains("corrupt"),
        "{log}"
    );
}

/// The version a device with sticky key `device` gets.
async fn device_version(url: &str, device: &str) -> String {
    let reply = send(Method::GET, url, &[("x-device-id", device)], Vec::new()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.adapter().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_listener_open_to_the_network_needs_tokens() {
    let dir = TestHost::plugins_dir();
    let state = state_dir();
    let plugins = dir.path().to_str().expect("utf-8").to_owned();
    let state_arg = state.path().to_str().expect("utf-8").to_owned();
    let args = |admin: &str| {
        vec![
            "serve".to_owned(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--admin-listen".into(),
            admin.to_owned(),
            "--plugins-dir".into(),
            plugins.clone(),
            "--state-dir".into(),
            state_arg.clone(),
        ]
    };
    let mut host = HostProcess::spawn_args(dir.path(), args("0.0.0.0:0"), "info");
    assert!(!host.wait_exit().await.success());
    let log = host.log();
    assert!(
        log.contains("0.0.0.0:0 is not a loopback address and no admin token is configured"),
        "{log}"
    );

    // With a token it starts, and every admin request then needs it.
    let config = state.path().join("frontdoor.toml");
    std::fs::write(
        &config,
        format!(
            "[[admin_auth.tokens]]\nteam = \"platform\"\nsha256 = \"{}\"\nscopes = [\"admin\"]\n",
            digest_hex(ADMIN_TOKEN)
        ),
    )
    .expect("write config");
    let mut with_token = args("0.0.0.0:0");
    with_token.extend(["--config".into(), config.display().to_string()]);
    let mut host = HostProcess::spawn_args(dir.path(), with_token, "info");
    host.wait_serving().await;
    let port = host.admin_addr.rsplit(':').next().expect("port").to_owned();
    let url = format!("http://127.0.0.1:{port}");
    assert_eq!(
        admin(&url, Method::GET, "/admin/health", None, "")
            .await
            .status,
        401
    );
    assert_eq!(
        admin(&url, Method::GET, "/admin/health", Some(ADMIN_TOKEN), "")
            .await
            .status,
        200
    );
    assert!(host.stop().await);
}

/// Runs `frontdoor ctl ARGS` with `token` in `FRONTDOOR_TOKEN` (off the runtime: it blocks).
async fn ctl(admin_url: &str, token: Option<&str>, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_frontdoor-under-test"));
    command
        .arg("ctl")
        .arg("--admin-url")
        .arg(admin_url)
        .args(args);
    command
        .env_remove("FRONTDOOR_TOKEN")
        .env_remove("FRONTDOOR_ADMIN_URL");
    if let Some(token) = token {
        command.env("FRONTDOOR_TOKEN", token);
    }
    command.stdin(std::process::Stdio::piped());
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("run frontdoor ctl");
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            std::io::Write::write_all(&mut pipe, text.as_bytes()).expect("write stdin");
        }
        // ctl bounds its own wait on the host (30 s).
        child.wait_with_output().expect("frontdoor ctl output")
    })
    .await
    .expect("ctl task")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_drives_a_running_host_with_honest_exit_codes() {
    let host = TestHost::with_config(
        &[Fixture::Echo("1.0.0"), Fixture::Echo("2.0.0")],
        with_tokens,
    )
    .await;
    let url = host.admin_url("");

    let done = ctl(&url, Some(TV_TOKEN), &["pin", "echo", "1.0.0"], None).await;
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    let view: serde_json::Value = serde_json::from_slice(&done.stdout).expect("JSON on stdout");
    assert_eq!(view["default"], "1.0.0");
    assert_eq!(served(&host.url("/echo/hello")).await, "echo@1.0.0");

    let shown = ctl(&url, Some(READ_TOKEN), &["show", "echo"], None).await;
    assert_eq!(shown.status.code(), Some(0));
    let audit = ctl(&url, Some(READ_TOKEN), &["audit", "--limit", "1"], None).await;
    assert!(
        text(&audit.stdout).contains("\"pin\""),
        "{}",
        text(&audit.stdout)
    );

    // Canaries and shadows from the command line.
    let started = ctl(
        &url,
        Some(TV_TOKEN),
        &[
            "canary",
            "start",
            "echo",
            "2.0.0",
            "--baseline",
            "1.0.0",
            "--weight",
            "20",
            "--steps",
            "50,100",
            "--interval-ms",
            "86400000",
        ],
        None,
    )
    .await;
    assert_eq!(started.status.code(), Some(0), "{}", text(&started.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&started.stdout).expect("JSON");
    assert_eq!(
        (plan["weight"].as_f64(), plan["settings"]["canary"].as_str()),
        (Some(20.0), Some("2.0.0")),
        "{plan}"
    );
    let aborted = ctl(&url, Some(TV_TOKEN), &["canary", "abort", "echo"], None).await;
    assert_eq!(aborted.status.code(), Some(0), "{}", text(&aborted.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&aborted.stdout).expect("JSON");
    assert_eq!(plan["weight"].as_f64(), Some(0.0), "{plan}");
    let shadowed = ctl(
        &url,
        Some(TV_TOKEN),
        &[
            "shadow", "start", "echo", "2.0.0", "--share", "5", "--ignore", "/at,id",
        ],
        None,
    )
    .await;
    assert_eq!(
        shadowed.status.code(),
        Some(0),
        "{}",
        text(&shadowed.stderr)
    );
    let report = ctl(&url, Some(READ_TOKEN), &["shadow", "report", "echo"], None).await;
    assert_eq!(report.status.code(), Some(0), "{}", text(&report.stderr));
    assert!(
        text(&report.stdout).contains("2.0.0"),
        "{}",
        text(&report.stdout)
    );
    let stopped = ctl(&url, Some(MOBILE_TOKEN), &["shadow", "stop", "echo"], None).await;
    assert_eq!(stopped.status.code(), Some(3), "another team's shadow");
    let bad = ctl(
        &url,
        Some(TV_TOKEN),
        &["canary", "start", "echo", "9.9.9"],
        None,
    )
    .await;
    assert_eq!(bad.status.code(), Some(3), "{}", text(&bad.stderr));

    let refused = ctl(&url, Some(MOBILE_TOKEN), &["unpin", "echo"], None).await;
    assert_eq!(refused.status.code(), Some(3), "403 is a refusal");
    assert!(
        text(&refused.stderr).contains("403"),
        "{}",
        text(&refused.stderr)
    );
    let anonymous = ctl(&url, None, &["list"], None).await;
    assert_eq!(anonymous.status.code(), Some(3), "401 is a refusal");

    let usage = ctl(&url, Some(TV_TOKEN), &["pin", "echo"], None).await;
    assert_eq!(usage.status.code(), Some(2));

    let unreachable = ctl(&refusing_url(), Some(TV_TOKEN), &["list"], None).await;
    assert_eq!(
        unreachable.status.code(),
        Some(4),
        "{}",
        text(&unreachable.stderr)
    );

    // hash-token prints what `printf %s TOKEN | sha256sum` prints.
    let hashed = ctl(&url, None, &["hash-token"], Some("s3cret-token\n")).await;
    assert_eq!(hashed.status.code(), Some(0));
    let expected: String = sha2::Sha256::digest(b"s3cret-token")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(text(&hashed.stdout).trim(), expected);
    host.stop().await;
}
