//! A backend that holds answers until the test lets them go: it counts every request as it
//! arrives (by path and query, and in all), holds it per its [`Hold`] rule, and answers with
//! the path and the request's arrival number for that path, so a test can tell which of
//! several identical requests (an attempt or its hedge) was answered.

use std::{
    collections::{BTreeMap, BTreeSet},
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

/// Which requests wait for the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Every request waits until [`HeldBackend::open`].
    Everything,
    /// The first request of each path waits until [`HeldBackend::release`] names its path;
    /// later ones are answered at once.
    FirstOfEachPath,
}

/// What the test has let through so far.
#[derive(Debug, Default)]
struct Released {
    everything: bool,
    paths: BTreeSet<String>,
}

pub struct HeldBackend {
    addr: SocketAddr,
    arrivals: Arc<Mutex<BTreeMap<String, u32>>>,
    released: watch::Sender<Released>,
    task: JoinHandle<()>,
}

impl HeldBackend {
    pub async fn start(hold: Hold) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the held backend");
        let addr = listener.local_addr().expect("its address");
        let arrivals = Arc::new(Mutex::new(BTreeMap::new()));
        let (released, watching) = watch::channel(Released::default());
        let counted = arrivals.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counted = counted.clone();
                let watching = watching.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let path = request
                            .uri()
                            .path_and_query()
                            .map(ToString::to_string)
                            .unwrap_or_default();
                        let arrival = {
                            let mut counted = lock(&counted);
                            let count = counted.entry(path.clone()).or_insert(0);
                            *count += 1;
                            *count
                        };
                        let mut watching = watching.clone();
                        async move {
                            let held = hold == Hold::Everything || arrival == 1;
                            if held {
                                // A closed channel (the test ended) answers nothing.
                                let _ = watching
                                    .wait_for(|released| {
                                        released.everything || released.paths.contains(&path)
                                    })
                                    .await;
                            }
                            let body = serde_json::json!({ "path": path, "arrival": arrival });
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
                                body.to_string(),
                            ))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            arrivals,
            released,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests that arrived for `path_and_query` so far.
    pub fn arrivals(&self, path_and_query: &str) -> u32 {
        lock(&self.arrivals)
            .get(path_and_query)
            .copied()
            .unwrap_or(0)
    }

    /// Requests that arrived so far, for any path.
    pub fn total(&self) -> u32 {
        lock(&self.arrivals).values().sum()
    }

    /// Answers every held request, and every later one at once.
    pub fn open(&self) {
        self.released
            .send_modify(|released| released.everything = true);
    }

    /// Answers the held request of `path_and_query`.
    pub fn release(&self, path_and_query: &str) {
        self.released.send_modify(|released| {
            released.paths.insert(path_and_query.to_owned());
        });
    }
}

impl Drop for HeldBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
