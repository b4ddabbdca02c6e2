//! Route pattern parsing and matching.

use super::*;

fn captured(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
    let pattern = RoutePattern::parse(pattern).expect("valid pattern");
    let mut params = Vec::new();
    pattern.matches(path, &mut params).then(|| {
        params
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    })
}

#[test]
fn literals_and_params_match() {
    assert_eq!(captured("/hello", "/hello"), Some(vec![]));
    assert_eq!(
        captured("/items/{id}/parts/{part}", "/items/42/parts/a%20b"),
        Some(vec![
            ("id".into(), "42".into()),
            ("part".into(), "a b".into())
        ])
    );
    assert_eq!(captured("/", "/"), Some(vec![]));
}

#[test]
fn mismatches_do_not_match() {
    assert_eq!(captured("/hello", "/hello/more"), None);
    assert_eq!(captured("/items/{id}", "/items"), None);
    assert_eq!(captured("/items/{id}", "/things/1"), None);
    assert_eq!(captured("/items/{id}", "/items/%zz"), None);
}

#[test]
fn invalid_patterns_are_refused() {
    for bad in ["hello", "/a//b", "/{}", "/{a-b}", "/x{id}", "/{id}/{id}"] {
        assert!(RoutePattern::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn patterns_print_as_declared() {
    assert_eq!(
        RoutePattern::parse("/items/{id}")
            .expect("valid")
            .to_string(),
        "/items/{id}"
    );
}

#[test]
fn method_mismatch_is_reported() {
    let routes = vec![(Method::POST, RoutePattern::parse("/items").expect("valid"))];
    assert!(matches!(
        match_route(&routes, &Method::GET, "/items"),
        RouteMatch::MethodNotAllowed
    ));
    assert!(matches!(
        match_route(&routes, &Method::GET, "/nope"),
        RouteMatch::NotFound
    ));
    assert!(matches!(
        match_route(&routes, &Method::POST, "/items"),
        RouteMatch::Found { route: 0, .. }
    ));
}
