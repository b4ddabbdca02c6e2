//! Unit tests for query decoding.

use super::decode_query_component;

#[test]
fn plain_components_are_borrowed() {
    assert!(matches!(
        decode_query_component("profile"),
        std::borrow::Cow::Borrowed("profile")
    ));
}

#[test]
fn escapes_and_plus_are_decoded() {
    assert_eq!(decode_query_component("a%20b+c%2F"), "a b c/");
}

#[test]
fn invalid_escapes_are_kept() {
    assert_eq!(decode_query_component("100%"), "100%");
    assert_eq!(decode_query_component("%zz"), "%zz");
}
