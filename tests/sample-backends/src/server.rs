//! One HTTP/1.1 server on one port: the accept loop, which closes and reopens the listener
//! as its [`Gate`] says, and the bounded drain of its connections at shutdown.

mod connection;
mod gate;

use std::{
    future::Future,
    io,
    net::{Shutdown, SocketAddr},
    time::Duration,
};

use hyper::{Request, Response, body::Incoming};
use socket2::SockRef;
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
    hold(addr)?.listen(1024)
}

/// A socket bound to `addr` by its port number, never by port 0: Linux gives a port-0
/// socket's port back when the socket stops listening, but keeps an explicitly bound one
/// (`SOCK_BINDPORT_LOCK`), which [`refuse`] relies on. For port 0 a first socket picks the
/// free port and holds it until the second is bound to it by number, so the port is never
/// free in between. Neither socket sets `SO_REUSEPORT`: with it, any other socket of the same
/// user that also set it could bind the port beside ours and answer in our place.
fn hold(addr: SocketAddr) -> io::Result<TcpSocket> {
    let picker = reusable(addr)?;
    picker.bind(addr)?;
    let chosen = picker.local_addr()?;
    if chosen == addr {
        return Ok(picker);
    }
    // Both sockets set SO_REUSEADDR and neither listens, so the second may bind beside the
    // first.
    let socket = reusable(chosen)?;
    socket.bind(chosen)?;
    Ok(socket)
}

/// A fresh socket with `SO_REUSEADDR`, so it binds while accepted sockets of an earlier
/// listener on the port sit in `TIME_WAIT`.
fn reusable(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    Ok(socket)
}

/// Stops `listener` listening but keeps its port: connections are refused (those waiting to
/// be accepted are reset), and no other socket can bind the port meanwhile — not even one
/// with `SO_REUSEADDR` or `SO_REUSEPORT`, since ours holds it without either — so no other
/// server (a parallel test's) can take it and answer in the service's place.
fn refuse(listener: TcpListener) -> io::Result<std::net::TcpListener> {
    let held = listener.into_std()?;
    let socket = SockRef::from(&held);
    socket.shutdown(Shutdown::Read)?;
    socket.set_reuse_address(false)?;
    Ok(held)
}

/// Listens again on the socket [`refuse`] kept.
fn relisten(held: &std::net::TcpListener) -> io::Result<()> {
    let socket = SockRef::from(held);
    // Back on, or TIME_WAIT sockets of earlier connections would make listening fail.
    socket.set_reuse_address(true)?;
    socket.listen(1024)
}

/// Opens the listener again: on the socket that held the port, or on a new one when there
/// is none (refusing could not keep it).
fn reopen(addr: SocketAddr, held: &mut Option<std::net::TcpListener>) -> io::Result<TcpListener> {
    match held.take() {
        Some(socket) => match relisten(&socket) {
            Ok(()) => TcpListener::from_std(socket),
            Err(error) => {
                *held = Some(socket);
                Err(error)
            }
        },
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
    let mut held: Option<std::net::TcpListener> = None;
    loop {
        // Finished connections are reaped as we go, so the set only holds open ones.
        while connections.try_join_next().is_some() {}
        let Some(open) = &listener else {
            tokio::select! {
                () = stop.wait() => break,
                () = wanted.opened() => {}
            }
            match reopen(addr, &mut held) {
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
                if let Some(open) = listener.take() {
                    held = refuse(open)
                        .inspect_err(|error| tracing::warn!(%addr, %error, "cannot hold the port while refusing"))
                        .ok();
                }
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
