//! Which calls count as identical.

use super::*;

fn header(name: &'static str, value: &'static str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

fn key(path: &str, headers: &[(HeaderName, HeaderValue)]) -> CallKey {
    CallKey::new("catalog", &Method::GET, path, headers)
}

#[test]
fn header_order_does_not_matter_between_names() {
    let a = header("accept-language", "fr");
    let b = header("authorization", "Bearer 1");
    assert_eq!(
        key("/t", &[a.clone(), b.clone()]),
        key("/t", &[b, a]),
        "the same headers in another order are the same call"
    );
}

#[test]
fn any_difference_makes_another_call() {
    let base = key("/t", &[header("authorization", "Bearer 1")]);
    assert_ne!(base, key("/t", &[header("authorization", "Bearer 2")]));
    assert_ne!(base, key("/t", &[header("authorization", "bearer 1")]));
    assert_ne!(base, key("/t", &[]));
    assert_ne!(base, key("/t?x=1", &[header("authorization", "Bearer 1")]));
    assert_ne!(
        base,
        key(
            "/t",
            &[
                header("authorization", "Bearer 1"),
                header("accept-language", "fr")
            ]
        )
    );
    assert_ne!(
        base,
        CallKey::new(
            "profiles",
            &Method::GET,
            "/t",
            &[header("authorization", "Bearer 1")]
        )
    );
    assert_ne!(
        base,
        CallKey::new(
            "catalog",
            &Method::HEAD,
            "/t",
            &[header("authorization", "Bearer 1")]
        )
    );
}

#[test]
fn the_order_of_values_of_one_name_matters() {
    assert_ne!(
        key("/t", &[header("accept", "a"), header("accept", "b")]),
        key("/t", &[header("accept", "b"), header("accept", "a")]),
        "repeated values combine in order, so their order is part of the call"
    );
}
