//! The admin listener on a thread of its own with its own tokio runtime, so operators can
//! see the host while device traffic saturates or blocks the device runtime (a handler that
//! blocks its thread, a flood of requests): exactly when they need to look.

use std::{future::Future, sync::Arc, thread::JoinHandle, time::Duration};

use hyper::{Request, Response, body::Incoming};
use tokio::sync::{oneshot, watch};

use super::{ListenerConfig, ListenerStats, accept::accept_loop};
use crate::error_response::Body;

/// The running admin thread; [`AdminThread::join`] waits for it after shutdown was asked.
pub struct AdminThread {
    thread: JoinHandle<()>,
    stopped: oneshot::Receiver<()>,
}

/// Starts serving `listener` on a new thread until `shutdown`.
pub fn spawn<F, Fut>(
    listener: std::net::TcpListener,
    handler: F,
    limits: Arc<ListenerConfig>,
    stats: Arc<ListenerStats>,
    open: watch::Receiver<bool>,
    shutdown: watch::Receiver<Option<Duration>>,
) -> std::io::Result<AdminThread>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (done, stopped) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("frontdoor-admin".into())
        .spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => {
                        accept_loop(listener, handler, limits, stats, open, shutdown).await;
                    }
                    Err(error) => tracing::error!(%error, "cannot serve the admin listener"),
                }
            });
            // The runtime ends here, on a plain thread: dropping a runtime inside an async
            // context (the caller's) would panic.
            drop(runtime);
            let _ = done.send(());
        })?;
    Ok(AdminThread { thread, stopped })
}

impl AdminThread {
    /// Waits, without blocking the caller's runtime, until the thread has finished.
    pub async fn join(self) {
        // Sent after the runtime is gone, so joining returns at once.
        let _ = self.stopped.await;
        if self.thread.join().is_err() {
            tracing::error!("the admin thread panicked");
        }
    }
}
