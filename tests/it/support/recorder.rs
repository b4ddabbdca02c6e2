//! A backend that records every request it gets and answers with the request's own
//! headers, so a test can tell which call got which answer. What the host adds to every
//! call (`x-request-id`, `traceparent`) is recorded apart, and left out of the answer.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex, OnceLock},
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{
    net::{TcpListener, TcpSocket},
    task::JoinHandle,
};

/// One request as the backend saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path_and_query: String,
    /// `name=value` of every header but `host` and the host's own, sorted.
    pub headers: Vec<String>,
    /// The `x-request-id` the host passed on.
    pub request_id: Option<String>,
    /// The `traceparent` the host passed on.
    pub traceparent: Option<String>,
}

pub struct Recorder {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl Recorder {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind recorder");
        let addr = listener.local_addr().expect("recorder address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let recorded = record(&request);
                        let body = recorded.headers.join(";");
                        seen.lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .push(recorded);
                        async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body)))) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            requests,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn record(request: &Request<Incoming>) -> Recorded {
    let mut headers: Vec<String> = request
        .headers()
        .iter()
        .filter(|(name, _)| !INHERITED.contains(&name.as_str()) && *name != hyper::header::HOST)
        .map(|(name, value)| format!("{name}={}", String::from_utf8_lossy(value.as_bytes())))
        .collect();
    headers.sort();
    Recorded {
        path_and_query: request
            .uri()
            .path_and_query()
            .map(ToString::to_string)
            .unwrap_or_default(),
        headers,
        request_id: text(request, "x-request-id"),
        traceparent: text(request, "traceparent"),
    }
}

/// Headers the host sets on every backend call.
const INHERITED: [&str; 2] = ["x-request-id", "traceparent"];

fn text(request: &Request<Incoming>, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// The URL of a loopback port nobody listens on: calls to it are refused. This process
/// holds the port bound (never listening) for its whole life; a port bound and then closed
/// could be given to a parallel test's server, which would answer in its place.
pub fn refusing_url() -> String {
    static HELD: OnceLock<(TcpSocket, SocketAddr)> = OnceLock::new();
    let (_, addr) = HELD.get_or_init(|| {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind a port");
        let addr = socket.local_addr().expect("its address");
        (socket, addr)
    });
    format!("http://{addr}")
}
