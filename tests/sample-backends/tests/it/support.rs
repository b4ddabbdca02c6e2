//! Shared fixtures: started backends and a tiny HTTP/1.1 client that opens a fresh
//! connection per request, so connection errors (refused, closed) are seen as they happen.

use std::{future::Future, net::SocketAddr, time::Duration};

use bytes::Bytes;
use frontdoor_sample_backends::{SampleBackends, SampleConfig};
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, client::conn::http1};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A complete response with a JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: serde_json::Value,
}

/// Backends on ephemeral ports.
pub async fn backends() -> SampleBackends {
    frontdoor_sample_backends::start(SampleConfig::default())
        .await
        .expect("the sample backends start")
}

/// One open HTTP/1.1 connection.
pub struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
    driver: tokio::task::JoinHandle<()>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Connection { sender, driver })
    }

    pub async fn send(&mut self, method: Method, path: &str, body: &str) -> hyper::Result<Reply> {
        self.sender.ready().await?;
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_owned())))
            .expect("a valid request");
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.into_body().collect().await?.to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }

    /// Resolves once the server has closed the connection.
    pub async fn closed(self) {
        drop(self.sender);
        let _ = self.driver.await;
    }
}

/// One request on a fresh connection; `Err` when connecting or the exchange fails.
pub async fn try_send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: &str,
) -> Result<Reply, String> {
    let mut connection = Connection::open(addr)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    connection
        .send(method, path, body)
        .await
        .map_err(|error| format!("exchange: {error}"))
}

pub async fn send(addr: SocketAddr, method: Method, path: &str, body: &str) -> Reply {
    try_send(addr, method.clone(), path, body)
        .await
        .unwrap_or_else(|error| panic!("{method} {path} on {addr}: {error}"))
}

pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(addr, Method::GET, path, "").await
}

/// A bound on anything awaited that should end: a hang here is a failure, not a wait.
pub const SAFETY: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it does not end within [`SAFETY`].
pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(SAFETY, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen within {SAFETY:?}"))
}

/// Polls `check` every 10 ms until it holds, failing the test after [`SAFETY`].
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    bounded(what, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Base ports to try, in order, for a test that needs the services on fixed ports; `lane`
/// (0 or 1) keeps two such tests of this process apart.
///
/// Below the kernel's ephemeral range: a client connection's local port there can sit in
/// `TIME_WAIT` after the test suite's other connections, and a listener cannot bind beside
/// it (the client socket had no `SO_REUSEADDR`). With bases in that range this failed once
/// enough connections had been made on the machine.
pub fn fixed_base_ports(lane: u16) -> impl Iterator<Item = u16> {
    const LOWEST: u16 = 10_000;
    const ATTEMPTS: u16 = 20;
    const STRIDE: u16 = 7;
    // Every port of every attempt stays below the ephemeral range.
    let room = frontdoor_sample_backends::ephemeral_port_start()
        .saturating_sub(LOWEST + ATTEMPTS * STRIDE + 10)
        .max(20);
    // Half the room per lane, so two lanes' attempts never overlap; within a lane the
    // process id spreads parallel test processes.
    let lane_slots = u32::from(room / 10 / 2);
    let slot = std::process::id() % lane_slots + u32::from(lane % 2) * lane_slots;
    let first = LOWEST + u16::try_from(slot).expect("fewer slots than ports") * 10;
    (0..ATTEMPTS).map(move |attempt| first + attempt * STRIDE)
}
