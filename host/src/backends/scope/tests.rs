//! Which calls count as identical, and which of identical GETs makes the call.

use super::*;

fn header(name: &'static str, value: &'static str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

fn key(path: &str, headers: &[(HeaderName, HeaderValue)]) -> CallKey {
    key_of("catalog", &Method::GET, path, headers)
}

fn key_of(
    backend: &str,
    method: &Method,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
) -> CallKey {
    let target = PathAndQuery::try_from(path).expect("a valid target");
    CallKey::new(&Arc::from(backend), method, Some(&target), headers)
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
        key_of(
            "profiles",
            &Method::GET,
            "/t",
            &[header("authorization", "Bearer 1")]
        )
    );
    assert_ne!(
        base,
        key_of(
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

/// A call that must not be made: the test only asks which GET leads.
fn never() -> Call {
    use futures_util::FutureExt as _;
    futures_util::future::pending().boxed()
}

#[test]
fn an_identical_get_joins_the_first_and_another_one_does_not() {
    let scope = RequestScope::new("adapter", Instant::now());
    let mut made = 0;
    let mut call = || {
        made += 1;
        never()
    };
    assert!(matches!(
        scope.get_once(key("/t", &[]), &mut call),
        Get::First(_)
    ));
    assert!(
        matches!(scope.get_once(key("/t", &[]), &mut call), Get::Identical(_)),
        "an identical GET joins the first"
    );
    assert!(
        matches!(scope.get_once(key("/u", &[]), &mut call), Get::First(_)),
        "another GET makes its own call"
    );
    assert_eq!(made, 2, "a call is made for each different GET only");
}
