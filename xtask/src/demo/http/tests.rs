//! Tests of the answer parser and of one real round trip.

use std::{
    io::{Read as _, Write as _},
    net::TcpListener,
    thread,
    time::Duration,
};

use super::{get, parse_head};

#[test]
fn status_and_headers_are_read_case_insensitively() {
    let raw = b"HTTP/1.1 200 OK\r\nX-Frontdoor-Adapter: bench@1.0.0\r\ncontent-length: 2\r\n\r\n{}";
    let response = parse_head(raw).expect("valid head");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-frontdoor-adapter"), Some("bench@1.0.0"));
    assert_eq!(response.header("missing"), None);
}

#[test]
fn malformed_answers_are_errors() {
    assert!(
        parse_head(b"HTTP/1.1 200 OK\r\n").is_err(),
        "incomplete head"
    );
    assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err(), "not http");
    assert!(
        parse_head(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n").is_err(),
        "bad header"
    );
}

#[test]
fn get_sends_a_closing_request_and_reads_the_answer() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut request = Vec::new();
        let mut buffer = [0; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            let read = stream.read(&mut buffer).expect("read");
            assert_ne!(read, 0, "request ended early");
            request.extend_from_slice(&buffer[..read]);
        }
        stream
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
            .expect("write");
        String::from_utf8(request).expect("utf-8")
    });
    let response = get(addr, "/admin/health", Duration::from_secs(5)).expect("answer");
    assert_eq!(response.status, 503);
    let request = server.join().expect("server thread");
    assert!(
        request.starts_with("GET /admin/health HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(request.contains("connection: close\r\n"), "{request}");
}
