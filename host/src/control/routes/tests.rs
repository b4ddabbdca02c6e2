//! Parsing control routes: names, versions, methods, and what is left to the admin API.

use super::*;

fn parsed(method: Method, path: &str) -> Option<Result<Route, StatusCode>> {
    parse(&method, path, None).map(|result| result.map_err(|error| error.status))
}

#[test]
fn control_routes_parse() {
    let v = |text: &str| Version::parse(text).expect("version");
    assert_eq!(
        parsed(Method::GET, "/admin/adapters"),
        Some(Ok(Route::Adapters))
    );
    assert_eq!(
        parsed(Method::GET, "/admin/adapters/tv"),
        Some(Ok(Route::Adapter("tv".into())))
    );
    assert_eq!(
        parsed(Method::POST, "/admin/adapters/tv/pin"),
        Some(Ok(Route::Change {
            name: "tv".into(),
            operation: Pending::Pin { module: false }
        }))
    );
    assert_eq!(
        parsed(Method::DELETE, "/admin/modules/artwork/pin"),
        Some(Ok(Route::Change {
            name: "artwork".into(),
            operation: Pending::Ready(Operation::ModuleUnpin)
        }))
    );
    assert_eq!(
        parsed(
            Method::POST,
            "/admin/adapters/tv/versions/1.2.0-rc.1/disable"
        ),
        Some(Ok(Route::Change {
            name: "tv".into(),
            operation: Pending::Ready(Operation::Disable(v("1.2.0-rc.1")))
        }))
    );
    assert_eq!(
        parse(&Method::GET, "/admin/audit", Some("limit=5")).map(|r| r.map_err(|e| e.status)),
        Some(Ok(Route::Audit { limit: 5 }))
    );
}

#[test]
fn other_admin_paths_are_left_to_the_admin_api() {
    for path in [
        "/admin/plugins",
        "/admin/adaptersx",
        "/admin/log-level",
        "/metrics",
    ] {
        assert!(parsed(Method::GET, path).is_none(), "{path}");
    }
}

#[test]
fn traversal_looking_names_and_bad_versions_are_400() {
    for path in [
        "/admin/adapters/..",
        "/admin/adapters/%2e%2e/pin",
        "/admin/adapters/..%2f..%2fetc/pin",
        "/admin/adapters/.hidden",
        "/admin/adapters/Tv",
        "/admin/adapters/tv/versions/1.2/disable",
        "/admin/adapters/tv/versions/..%2F/enable",
        "/admin/modules/a%00b",
    ] {
        let method = if path.ends_with("able") || path.ends_with("pin") {
            Method::POST
        } else {
            Method::GET
        };
        assert_eq!(
            parsed(method, path),
            Some(Err(StatusCode::BAD_REQUEST)),
            "{path}"
        );
    }
    let long = format!("/admin/adapters/{}", "a".repeat(100_000));
    assert_eq!(
        parsed(Method::GET, &long),
        Some(Err(StatusCode::BAD_REQUEST))
    );
}

#[test]
fn unknown_endpoints_are_404_and_wrong_methods_405() {
    assert_eq!(
        parsed(Method::POST, "/admin/adapters/tv/versions/1.0.0/explode"),
        Some(Err(StatusCode::NOT_FOUND))
    );
    assert_eq!(
        parsed(Method::GET, "/admin/adapters/tv/../../plugins"),
        Some(Err(StatusCode::NOT_FOUND))
    );
    assert_eq!(
        parsed(Method::GET, "/admin/adapters/tv/pin"),
        Some(Err(StatusCode::METHOD_NOT_ALLOWED))
    );
    assert_eq!(
        parsed(Method::POST, "/admin/adapters/tv"),
        Some(Err(StatusCode::METHOD_NOT_ALLOWED))
    );
    assert_eq!(
        parsed(Method::GET, "/admin/modules/artwork/rollback"),
        Some(Err(StatusCode::NOT_FOUND))
    );
}
