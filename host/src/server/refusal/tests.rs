//! The rewrite of hyper's bare refusals, byte by byte.

use super::*;

fn written(refusal: &mut Refusal) -> String {
    let text = String::from_utf8(refusal.pending().to_vec()).expect("UTF-8");
    refusal.advance(refusal.pending().len());
    text
}

#[test]
fn a_bare_431_becomes_json_and_hypers_later_bytes_are_dropped() {
    let mut refusal = Refusal::new(131_072);
    refusal.take(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n");
    refusal.take(b"date: Thu, 03 Dec 2026 10:00:00 GMT\r\n\r\n");
    let text = written(&mut refusal);
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    assert!(head.contains("content-type: application/json"));
    assert!(head.contains("connection: close"));
    assert!(head.contains(&format!("content-length: {}", body.len())));
    let json: serde_json::Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(json["error"], "request header fields too large");
    assert!(json["detail"].as_str().unwrap_or("").contains("131072"));
    refusal.take(b"anything else hyper writes");
    assert!(refusal.pending().is_empty());
}

#[test]
fn a_status_line_split_across_writes_is_read_once_complete() {
    let mut refusal = Refusal::new(8192);
    refusal.take(b"HTTP/1.1 4");
    assert!(refusal.pending().is_empty(), "still capturing");
    refusal.take(b"00 Bad Request\r\n\r\n");
    assert!(written(&mut refusal).starts_with("HTTP/1.1 400 Bad Request\r\n"));
}

#[test]
fn what_is_not_a_status_line_passes_unchanged() {
    let mut refusal = Refusal::new(8192);
    refusal.take(b"HTTP/1.1 4x");
    refusal.take(b"x what\r\n");
    refusal.take(b"more");
    assert_eq!(written(&mut refusal), "HTTP/1.1 4xx what\r\nmore");

    let mut short = Refusal::new(8192);
    short.take(b"HTTP");
    short.finish_capture();
    assert_eq!(written(&mut short), "HTTP");
}

#[test]
fn partial_writes_resume_where_they_stopped() {
    let mut refusal = Refusal::new(8192);
    refusal.take(b"HTTP/1.1 414 URI Too Long\r\n\r\n");
    let whole = refusal.pending().to_vec();
    refusal.advance(10);
    assert_eq!(refusal.pending(), &whole[10..]);
}
