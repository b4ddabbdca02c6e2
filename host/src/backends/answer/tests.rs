//! The host's answers read headers and body from what hyper read, without copies.

use bytes::Bytes;
use hyper::{HeaderMap, header::HeaderValue};

use super::ReadAnswer;

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.append("set-cookie", HeaderValue::from_static("a=1"));
    headers.append("set-cookie", HeaderValue::from_static("b=2"));
    headers.insert(
        "x-latin1",
        HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is a valid header value"),
    );
    headers
}

#[test]
fn headers_are_found_case_insensitively_first_value_first() {
    let response = ReadAnswer::response(200, headers(), Bytes::from_static(b"{}"));
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert_eq!(response.header("SET-COOKIE"), Some("a=1"));
    assert_eq!(response.header("absent"), None);
}

#[test]
fn hostile_names_and_values_are_absent_or_empty_never_a_panic() {
    let response = ReadAnswer::response(200, headers(), Bytes::new());
    assert_eq!(response.header("not a header name"), None);
    assert_eq!(response.header(""), None);
    assert_eq!(response.header("x-latin1"), None, "not UTF-8");
    let all: Vec<(&str, &str)> = response.headers().collect();
    assert_eq!(
        all,
        [
            ("content-type", "application/json"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("x-latin1", ""),
        ]
    );
}

#[test]
fn the_body_and_its_clones_are_the_buffer_hyper_read() {
    let body = Bytes::from(vec![7u8; 4096]);
    let address = body.as_ptr();
    let response = ReadAnswer::response(200, HeaderMap::new(), body);
    let shared = response.clone();
    assert_eq!(response.body().as_ptr(), address, "not copied in");
    assert_eq!(shared.body().as_ptr(), address, "not copied by a clone");
    assert_eq!(shared.body().len(), 4096);
    assert_eq!(response.headers().count(), 0);
}
