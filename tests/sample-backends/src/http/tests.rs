//! Query parameters, call helpers and the JSON response.

use http_body_util::BodyExt as _;

use super::*;

#[test]
fn finds_and_decodes_parameters() {
    assert_eq!(param("profile=7&count=3", "count").as_deref(), Some("3"));
    assert_eq!(param("ids=1%2C2,3", "ids").as_deref(), Some("1,2,3"));
    assert_eq!(param("q=a+b%zz%4", "q").as_deref(), Some("a b%zz%4"));
    assert_eq!(param("flag&x=1", "flag").as_deref(), Some(""));
    assert_eq!(param("count=1&count=2", "count").as_deref(), Some("1"));
    assert_eq!(param("", "profile"), None);
    assert_eq!(param("profiles=1", "profile"), None);
}

#[test]
fn calls_split_path_and_query() {
    let call = Call::get("/titles/80000001?x=1");
    assert_eq!(call.segments(), ["titles", "80000001"]);
    assert_eq!(call.query, "x=1");
    assert_eq!(Call::get("/").segments(), [""]);
}

#[tokio::test]
async fn replies_become_json_responses() {
    let response = Reply::not_found("unknown title 1").into_response();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a full body")
        .to_bytes();
    assert_eq!(&body[..], br#"{"error":"unknown title 1"}"#);
}
