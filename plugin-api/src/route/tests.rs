//! The route syntax: what parses, and why the rest does not.

use super::{RouteError, check_pattern, check_route};

#[test]
fn valid_patterns_pass() {
    for path in ["/", "/home", "/items/{id}", "/a/{x}/b/{y_2}", "/v1.2/{Id9}"] {
        assert_eq!(check_pattern(path), Ok(()), "{path}");
    }
    for method in super::METHODS {
        assert_eq!(check_route(method, "/x"), Ok(()), "{method}");
    }
}

#[test]
fn each_mistake_has_its_reason() {
    let cases = [
        ("", RouteError::NoLeadingSlash),
        ("items", RouteError::NoLeadingSlash),
        ("//", RouteError::EmptySegment),
        ("/a//b", RouteError::EmptySegment),
        ("/a/", RouteError::EmptySegment),
        ("/items/{id", RouteError::BadParam),
        ("/items/{}", RouteError::BadParam),
        ("/items/{a-b}", RouteError::BadParam),
        ("/items/{a}b}", RouteError::BadParam),
        ("/items/x{id}", RouteError::MixedSegment),
        ("/items/id}", RouteError::MixedSegment),
        ("/{id}/{id}", RouteError::DuplicateParam),
        ("/{id}/x/{other}/{id}", RouteError::DuplicateParam),
    ];
    for (path, expected) in cases {
        assert_eq!(check_pattern(path), Err(expected), "{path:?}");
    }
    assert_eq!(check_route("get", "/x"), Err(RouteError::Method));
    assert_eq!(check_route("TRACE", "/x"), Err(RouteError::Method));
}

#[test]
fn prefixes_of_a_name_are_other_names() {
    assert_eq!(check_pattern("/{id}/{id2}"), Ok(()));
    assert_eq!(check_pattern("/{id2}/{id}"), Ok(()));
}

// Evaluated by the compiler: the checks are usable where `export_adapter!` puts them.
const _: () = assert!(check_route("GET", "/items/{id}").is_ok());
const _: () = assert!(check_route("GET", "/items/{id").is_err());

#[test]
fn routes_with_the_same_shape_are_refused() {
    assert!(super::same_shape(b"/items/{id}", b"/items/{other}"));
    assert!(super::same_shape(b"/", b"/"));
    assert!(!super::same_shape(b"/items/{id}", b"/items"));
    assert!(!super::same_shape(b"/items/{id}", b"/item/{id}"));
    assert!(!super::same_shape(b"/a/{id}", b"/a/b"));
    assert!(!super::same_shape(b"/", b"/a"));
    let duplicated = std::panic::catch_unwind(|| {
        super::assert_routes(&[("GET", "/items/{id}"), ("GET", "/items/{other}")]);
    });
    assert!(duplicated.is_err());
    super::assert_routes(&[("GET", "/items/{id}"), ("POST", "/items/{other}")]);
}

#[test]
fn the_message_names_the_route() {
    let message = super::Message::new()
        .push("route `GET /items/{id`: ")
        .push(RouteError::BadParam.message());
    assert!(
        message
            .as_str()
            .starts_with("route `GET /items/{id`: a parameter")
    );
    // Cut inside a two-byte character: the half is dropped.
    let long = "é".repeat(300);
    let message = super::Message::new().push("x").push(&long);
    assert_eq!(message.as_str().len(), 511);
}

const _: () = super::assert_routes(&[("GET", "/items/{id}"), ("POST", "/items/{id}")]);
