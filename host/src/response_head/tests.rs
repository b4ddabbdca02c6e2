//! A version's answer head and the request id's slot in it, against what inserting each
//! header would have given.

use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};

use super::*;

const ADAPTER: &str = "tv@1.2.3";

fn head() -> ResponseHead {
    ResponseHead::new(HeaderValue::from_static(ADAPTER))
}

fn id(text: &'static str) -> HeaderValue {
    HeaderValue::from_static(text)
}

fn values<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .map(|value| value.to_str().expect("ASCII"))
        .collect()
}

/// The map's whole content, in its iteration order.
fn listing(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().expect("ASCII").to_owned()))
        .collect()
}

#[test]
fn a_json_answer_has_the_id_the_adapter_and_its_type_once_each() {
    let mut headers = head().json();
    set_request_id(&mut headers, id("req-1"));
    let mut expected = HeaderMap::new();
    expected.insert(requests::HEADER, id("req-1"));
    expected.insert(ADAPTER_HEADER, HeaderValue::from_static(ADAPTER));
    expected.insert(CONTENT_TYPE, JSON);
    assert_eq!(headers, expected);
    assert_eq!(headers.len(), 3);
}

#[test]
fn the_id_is_set_in_place_after_a_plugin_appended_its_own_headers() {
    let mut headers = head().json();
    headers.append(CACHE_CONTROL, HeaderValue::from_static("max-age=5"));
    headers.append(CACHE_CONTROL, HeaderValue::from_static("public"));
    set_request_id(&mut headers, id("req-2"));
    assert_eq!(values(&headers, &requests::HEADER), ["req-2"]);
    assert_eq!(values(&headers, &CACHE_CONTROL), ["max-age=5", "public"]);
    assert_eq!(values(&headers, &ADAPTER_HEADER), [ADAPTER]);
}

#[test]
fn another_content_type_replaces_json_in_its_slot_and_none_removes_it() {
    let mut text = head().with_content_type(Some(HeaderValue::from_static("text/plain")));
    set_request_id(&mut text, id("req-3"));
    assert_eq!(values(&text, &CONTENT_TYPE), ["text/plain"]);
    assert_eq!(values(&text, &ADAPTER_HEADER), [ADAPTER]);
    assert_eq!(values(&text, &requests::HEADER), ["req-3"]);

    let mut none = head().with_content_type(None);
    set_request_id(&mut none, id("req-4"));
    assert!(none.get(CONTENT_TYPE).is_none());
    assert_eq!(
        listing(&none),
        [
            ("x-request-id".to_owned(), "req-4".to_owned()),
            ("x-frontdoor-adapter".to_owned(), ADAPTER.to_owned()),
        ]
    );
}

#[test]
fn copies_are_independent_of_the_template_and_of_each_other() {
    let head = head();
    let mut first = head.json();
    let mut second = head.json();
    set_request_id(&mut first, id("one"));
    set_request_id(&mut second, id("two"));
    assert_eq!(values(&first, &requests::HEADER), ["one"]);
    assert_eq!(values(&second, &requests::HEADER), ["two"]);
    assert_eq!(values(&head.json(), &requests::HEADER), [""]);
}

#[test]
fn a_map_without_the_slot_gets_the_id_inserted() {
    let mut empty = HeaderMap::new();
    set_request_id(&mut empty, id("req-5"));
    assert_eq!(
        listing(&empty),
        [("x-request-id".to_owned(), "req-5".to_owned())]
    );

    // An id further down (not a template's slot) is replaced, not joined.
    let mut later = HeaderMap::new();
    later.insert(CONTENT_TYPE, JSON);
    later.append(requests::HEADER, id("stale"));
    set_request_id(&mut later, id("req-6"));
    assert_eq!(values(&later, &requests::HEADER), ["req-6"]);
    assert_eq!(values(&later, &CONTENT_TYPE), ["application/json"]);
}

#[test]
fn a_first_id_with_more_values_is_replaced_whole() {
    let mut headers = HeaderMap::new();
    headers.append(requests::HEADER, id("a"));
    headers.append(requests::HEADER, id("b"));
    headers.append(CONTENT_TYPE, JSON);
    set_request_id(&mut headers, id("req-7"));
    assert_eq!(values(&headers, &requests::HEADER), ["req-7"]);
    assert_eq!(values(&headers, &CONTENT_TYPE), ["application/json"]);
}

#[test]
fn the_template_puts_its_slots_where_the_code_finds_them() {
    let template = head().json();
    let names: Vec<_> = template.keys().map(HeaderName::as_str).collect();
    assert_eq!(
        names[0],
        requests::HEADER_NAME,
        "set_request_id looks first"
    );
    assert_eq!(
        names[CONTENT_TYPE_SLOT], "content-type",
        "with_content_type looks at CONTENT_TYPE_SLOT"
    );
}
