//! HTTP/1.1 by hand over a raw socket, for what a well-behaved client cannot do: send half
//! a head, stall a body, hold a connection idle, and see exactly when the host closes it.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use super::within;

/// A response read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lowercased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A client connection that keeps whatever it has read past the last response.
pub struct RawClient {
    pub stream: TcpStream,
    buffered: Vec<u8>,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self {
            stream,
            buffered: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send");
    }

    /// `GET path` with keep-alive.
    pub async fn get(&mut self, path: &str) -> RawResponse {
        self.send(format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").as_bytes())
            .await;
        self.response().await
    }

    /// Reads one whole response (framed by `content-length`).
    pub async fn response(&mut self) -> RawResponse {
        within("a response", async {
            let head_end = loop {
                if let Some(end) = find(&self.buffered, b"\r\n\r\n") {
                    break end;
                }
                assert!(self.fill().await, "closed before a response head arrived");
            };
            let head = String::from_utf8_lossy(&self.buffered[..head_end]).into_owned();
            let mut lines = head.split("\r\n");
            let status = lines
                .next()
                .and_then(|line| line.split(' ').nth(1))
                .and_then(|code| code.parse().ok())
                .unwrap_or_else(|| panic!("not a status line: {head:?}"));
            let headers: Vec<(String, String)> = lines
                .filter_map(|line| line.split_once(':'))
                .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
                .collect();
            let length: usize = headers
                .iter()
                .find(|(name, _)| name == "content-length")
                .and_then(|(_, value)| value.parse().ok())
                .unwrap_or(0);
            let body_start = head_end + 4;
            while self.buffered.len() < body_start + length {
                assert!(self.fill().await, "closed in the middle of a body");
            }
            let body = self.buffered[body_start..body_start + length].to_vec();
            self.buffered.drain(..body_start + length);
            RawResponse {
                status,
                headers,
                body,
            }
        })
        .await
    }

    /// Waits until the host closes the connection; returns whatever arrived before that.
    pub async fn closed(&mut self) -> Vec<u8> {
        within("the host closing the connection", async {
            while self.fill().await {}
        })
        .await;
        std::mem::take(&mut self.buffered)
    }

    /// Reads more; false at end of stream (a reset counts as the end too).
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(read) => {
                self.buffered.extend_from_slice(&chunk[..read]);
                true
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
