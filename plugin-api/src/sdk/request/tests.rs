//! Unit tests for query decoding and the 400 body.

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

#[test]
fn bad_request_has_the_hosts_error_shape() {
    let response = super::BadRequest("profile must be a number".into()).into_response();
    assert_eq!(response.status, 400);
    let body: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON body");
    assert_eq!(
        body,
        serde_json::json!({ "error": "bad request", "detail": "profile must be a number" })
    );
}
