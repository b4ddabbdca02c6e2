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

#[test]
fn an_identical_get_joins_the_first_and_another_one_does_not() {
    let scope = RequestScope::new("adapter", Instant::now());
    let (first, joined) = scope.get_once(key("/t", &[]));
    assert!(!joined, "the first GET makes the call");
    let (same, joined) = scope.get_once(key("/t", &[]));
    assert!(joined, "an identical GET joins it");
    assert!(Arc::ptr_eq(&first, &same));
    let (_, joined) = scope.get_once(key("/u", &[]));
    assert!(!joined, "another GET makes its own call");
}

#[test]
fn after_an_abandoned_get_the_next_identical_one_makes_the_call() {
    use futures_util::FutureExt as _;

    use super::super::joined::Leading;

    let scope = RequestScope::new("adapter", Instant::now());
    let (answer, _) = scope.get_once(key("/t", &[]));
    let never = futures_util::future::pending().boxed();
    drop(Leading::answering(never, answer.clone()));
    assert!(answer.abandoned());
    let (fresh, joined) = scope.get_once(key("/t", &[]));
    assert!(
        !joined,
        "nobody is making the call any more: this GET makes it"
    );
    assert!(!Arc::ptr_eq(&answer, &fresh));
    let (_, joined) = scope.get_once(key("/t", &[]));
    assert!(joined, "and the next identical GET joins the new one");
}
