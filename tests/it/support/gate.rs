//! A backend the test answers by hand: its listener belongs to the test, so accepting a
//! connection proves a request reached it, and the request waits until the test answers.
//! The barrier that holds a device request in flight for as long as a test needs.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};

use super::within;

pub struct Gate {
    listener: TcpListener,
    addr: SocketAddr,
}

/// A request that reached the gate and waits for its answer.
pub struct Held {
    stream: TcpStream,
    /// The request head as received.
    pub head: String,
}

impl Gate {
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind gate");
        let addr = listener.local_addr().expect("gate address");
        Self { listener, addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next request to arrive, read up to the end of its head.
    pub async fn next(&self) -> Held {
        within("a request reaching the gate", async {
            let (mut stream, _) = self.listener.accept().await.expect("accept at the gate");
            let mut head = Vec::new();
            let mut buffer = [0u8; 1024];
            while !head.ends_with(b"\r\n\r\n") {
                let read = stream.read(&mut buffer).await.expect("read at the gate");
                assert!(read > 0, "the caller closed before sending its request");
                head.extend_from_slice(&buffer[..read]);
            }
            Held {
                stream,
                head: String::from_utf8_lossy(&head).into_owned(),
            }
        })
        .await
    }
}

impl Held {
    /// Answers `200` with `body` and closes the connection.
    pub async fn answer(mut self, body: &str) {
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        self.stream
            .write_all(response.as_bytes())
            .await
            .expect("answer at the gate");
        let _ = self.stream.shutdown().await;
    }
}
