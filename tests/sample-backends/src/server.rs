//! One HTTP/1.1 server on one port: the accept loop, which closes and reopens the listener
//! as its [`Gate`] says, and the bounded drain of its connections at shutdown.

mod connection;
mod gate;

use std::{future::Future, io, net::SocketAddr, time::Duration};

use hyper::{Request, Response, body::Incoming};
use tokio::{
    net::{TcpListener, TcpSocket},
    task::{JoinHandle, JoinSet},
};

pub(crate) use gate::Gate;

use crate::{
    http::Body,
    shutdown::{Stop, Stopped},
};

/// How long shutdown waits for open connections before dropping them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Pause after a failed accept or bind, so an error (EMFILE, EADDRINUSE) does not spin.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Binds `addr` with `SO_REUSEADDR`, so a port closed by `refuse` (its accepted sockets
/// possibly in `TIME_WAIT`) can be bound again at once.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Serves `listener` with `handler` until `stop`; closes and reopens it (same address) as
/// `gate` asks. The task ends once every connection is closed, after at most
/// [`SHUTDOWN_GRACE`] past `stop`.
pub(crate) fn spawn<F, Fut>(
    listener: TcpListener,
    gate: std::sync::Arc<Gate>,
    handler: F,
    stop: Stop,
) -> io::Result<JoinHandle<()>>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Body>, Stopped>> + Send + 'static,
{
    let addr = listener.local_addr()?;
    Ok(tokio::spawn(run(listener, addr, gate, handler, stop)))
}

async fn run<F, Fut>(
    listener: TcpListener,
    addr: SocketAddr,
    gate: std::sync::Arc<Gate>,
    handler: F,
    mut stop: Stop,
) where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Body>, Stopped>> + Send + 'static,
{
    let mut connections = JoinSet::new();
    let mut wanted = gate.watch();
    let mut listener = Some(listener);
    loop {
        // Finished connections are reaped as we go, so the set only holds open ones.
        while connections.try_join_next().is_some() {}
        let Some(open) = &listener else {
            tokio::select! {
                () = stop.wait() => break,
                () = wanted.opened() => {}
            }
            match bind(addr) {
                Ok(reopened) => {
                    tracing::info!(%addr, "listening again");
                    listener = Some(reopened);
                    gate.report(true);
                }
                Err(error) => {
                    tracing::warn!(%addr, %error, "cannot listen again; retrying");
                    tokio::select! {
                        () = stop.wait() => break,
                        () = tokio::time::sleep(RETRY_PAUSE) => {}
                    }
                }
            }
            continue;
        };
        let accepted = tokio::select! {
            biased;
            () = stop.wait() => break,
            () = wanted.closed() => None,
            accepted = open.accept() => Some(accepted),
        };
        match accepted {
            None => {
                listener = None;
                gate.report(false);
                tracing::info!(%addr, "listener closed: connections are refused");
            }
            Some(Ok((stream, _peer))) => {
                connections.spawn(connection::serve(
                    stream,
                    handler.clone(),
                    stop.clone(),
                    gate.watch(),
                ));
            }
            Some(Err(error)) => {
                tracing::warn!(%addr, %error, "accept failed");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
    drop(listener);
    gate.report(false);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        tracing::warn!(%addr, open = connections.len(), "dropping connections still open");
    }
    // Aborts what is left and waits until those tasks (and their sockets) are gone.
    connections.shutdown().await;
}
