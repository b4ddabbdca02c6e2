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

/// Binds `addr` and listens on it.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    reserve(addr)?.listen(1024)
}

/// A socket bound to `addr` but not listening: connections to it are refused, and the port
/// stays ours. `SO_REUSEPORT` lets it be bound while the listener it replaces still is, so
/// the port is never free while `refuse` holds it — free, another server (a parallel
/// test's `bind(127.0.0.1:0)`) could be given it and answer in our place. `SO_REUSEADDR`
/// lets it bind while accepted sockets of the old listener sit in `TIME_WAIT`.
fn reserve(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// Opens the listener again: on the socket that held the port, or on a new one.
fn reopen(addr: SocketAddr, held: Option<TcpSocket>) -> io::Result<TcpListener> {
    match held {
        Some(socket) => socket.listen(1024),
        None => bind(addr),
    }
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
    // While closed: the bound, not listening socket that keeps the port ours.
    let mut held: Option<TcpSocket> = None;
    loop {
        // Finished connections are reaped as we go, so the set only holds open ones.
        while connections.try_join_next().is_some() {}
        let Some(open) = &listener else {
            tokio::select! {
                () = stop.wait() => break,
                () = wanted.opened() => {}
            }
            match reopen(addr, held.take()) {
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
                // Reserved before the listener goes, so the port is never free.
                held = reserve(addr)
                    .inspect_err(|error| tracing::warn!(%addr, %error, "cannot hold the port while refusing"))
                    .ok();
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
