//! Serving one accepted connection until it ends, the gate closes, or shutdown.

use std::{future::Future, pin::pin, time::Duration};

use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::gate::Watch;
use crate::{
    http::Body,
    shutdown::{Stop, Stopped},
};

/// How long a connection may sit without a complete request head.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Serves HTTP/1.1 on `stream`. When the gate closes or the server stops, the request in
/// progress is answered (a hung one is dropped at stop) and the connection closes.
pub(crate) async fn serve<F, Fut>(stream: TcpStream, handler: F, mut stop: Stop, mut gate: Watch)
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Body>, Stopped>> + Send + 'static,
{
    let _ = stream.set_nodelay(true);
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        // hyper runs this timer on idle keep-alive connections too. Well above the 90 s a
        // hyper-util pool keeps a connection idle, so clients close first (no race with a
        // request on a connection we are closing), yet a silent client is let go eventually.
        .header_read_timeout(IDLE_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service_fn(handler));
    let mut connection = pin!(connection);
    tokio::select! {
        result = connection.as_mut() => return log_end(result),
        () = stop.wait() => {}
        () = gate.closed() => {}
    }
    connection.as_mut().graceful_shutdown();
    log_end(connection.await);
}

fn log_end(result: hyper::Result<()>) {
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}
