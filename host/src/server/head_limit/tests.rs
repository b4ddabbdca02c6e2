//! Head sizes as HTTP/1.1 would put them on the wire.

use super::*;

#[test]
fn counts_the_head_as_it_is_written() {
    let request = Request::get("/tv/home?profile=42")
        .header("accept", "application/json")
        .header("x-a", "1")
        .body(())
        .expect("request");
    let wire = "GET /tv/home?profile=42 HTTP/1.1\r\naccept: application/json\r\nx-a: 1\r\n\r\n";
    assert_eq!(head_bytes(&request), wire.len());
}

#[test]
fn an_absolute_target_counts_whole() {
    let request = Request::get("http://example.test:8080/x")
        .body(())
        .expect("request");
    assert_eq!(
        head_bytes(&request),
        "GET http://example.test:8080/x HTTP/1.1\r\n\r\n".len()
    );
}
