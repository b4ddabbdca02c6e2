//! Tests of the answer parser, of one-shot GETs and of keep-alive connections against a
//! scripted server on 127.0.0.1.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    thread::{self, JoinHandle},
    time::Duration,
};

use super::{Connection, get, parse_head};

const TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn status_and_headers_are_read_case_insensitively() {
    let raw = b"HTTP/1.1 200 OK\r\nX-Frontdoor-Adapter: bench@1.0.0\r\ncontent-length: 2\r\n\r\n{}";
    let (response, head_len) = parse_head(raw).expect("valid head");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-frontdoor-adapter"), Some("bench@1.0.0"));
    assert_eq!(response.header("missing"), None);
    assert_eq!(&raw[head_len..], b"{}");
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
    let (addr, server) = serve(vec![vec![
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy",
    ]]);
    let response = get(addr, "/admin/health", TIMEOUT).expect("answer");
    assert_eq!(response.status, 503);
    assert_eq!(response.body, b"busy");
    let requests = server.join().expect("server thread");
    assert!(
        requests[0].starts_with("GET /admin/health HTTP/1.1\r\n"),
        "{requests:?}"
    );
    assert!(
        requests[0].contains("connection: close\r\n"),
        "{requests:?}"
    );
}

#[test]
fn get_refuses_a_chunked_body() {
    let (addr, server) = serve(vec![vec![
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    ]]);
    let error = get(addr, "/", TIMEOUT).expect_err("chunked");
    assert!(
        format!("{error:#}").contains("transfer-encoding"),
        "{error:#}"
    );
    server.join().expect("server thread");
}

#[test]
fn a_connection_sends_several_requests_on_one_socket() {
    let (addr, server) = serve(vec![vec![
        "HTTP/1.1 200 OK\r\nx-frontdoor-adapter: bench@1.0.0\r\ncontent-length: 11\r\n\r\n{\"ok\":true}",
        "HTTP/1.1 200 OK\r\nx-frontdoor-adapter: bench@1.0.1\r\ncontent-length: 0\r\n\r\n",
    ]]);
    let mut connection = Connection::open(addr, TIMEOUT).expect("connect");
    let first = connection.get("/bench/hello").expect("first answer");
    assert_eq!(first.body, b"{\"ok\":true}");
    assert_eq!(first.header("x-frontdoor-adapter"), Some("bench@1.0.0"));
    let second = connection.get("/bench/hello").expect("second answer");
    assert_eq!(second.header("x-frontdoor-adapter"), Some("bench@1.0.1"));
    assert!(second.body.is_empty());
    let requests = server.join().expect("server thread");
    assert_eq!(requests.len(), 2, "one connection, two requests");
    assert!(!requests[0].contains("connection: close"), "{requests:?}");
}

#[test]
fn a_connection_closed_by_the_server_is_reopened() {
    let (addr, server) = serve(vec![
        vec!["HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na"],
        vec!["HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nb"],
    ]);
    let mut connection = Connection::open(addr, TIMEOUT).expect("connect");
    assert_eq!(connection.get("/").expect("first answer").body, b"a");
    // The server closed the first connection after one answer.
    assert_eq!(connection.get("/").expect("second answer").body, b"b");
    assert_eq!(server.join().expect("server thread").len(), 2);
}

/// Accepts one connection per script; on each, answers one request per scripted answer,
/// then closes it. Returns every request received.
fn serve(scripts: Vec<Vec<&'static str>>) -> (SocketAddr, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = thread::spawn(move || {
        let mut requests = Vec::new();
        for answers in scripts {
            let (mut stream, _) = listener.accept().expect("accept");
            for answer in answers {
                requests.push(read_request(&mut stream));
                stream.write_all(answer.as_bytes()).expect("write");
            }
        }
        requests
    });
    (addr, server)
}

fn read_request(stream: &mut TcpStream) -> String {
    let mut request = Vec::new();
    let mut byte = [0; 1];
    while !request.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut byte).expect("read");
        assert_ne!(read, 0, "request ended early");
        request.push(byte[0]);
    }
    String::from_utf8(request).expect("utf-8")
}
