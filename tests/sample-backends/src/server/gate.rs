//! Opening and closing a listener on command, and waiting until it really is.

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;

/// Whether a listener should be open (the command) and whether it is (the accept loop's report).
#[derive(Debug)]
pub(crate) struct Gate {
    wanted: watch::Sender<bool>,
    actual: watch::Sender<bool>,
}

/// The accept loop did not reach the asked state in time (it cannot bind, or it stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotReached;

/// Watches the command side of a [`Gate`].
#[derive(Debug, Clone)]
pub(crate) struct Watch(watch::Receiver<bool>);

impl Gate {
    /// A gate for a listener that is already open.
    pub(crate) fn open() -> Arc<Gate> {
        Arc::new(Gate {
            wanted: watch::Sender::new(true),
            actual: watch::Sender::new(true),
        })
    }

    /// Asks for the listener open or closed and waits, up to `within`, until it is.
    pub(crate) async fn set(&self, open: bool, within: Duration) -> Result<(), NotReached> {
        self.wanted.send_replace(open);
        let mut actual = self.actual.subscribe();
        match tokio::time::timeout(within, actual.wait_for(|is_open| *is_open == open)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(NotReached),
        }
    }

    pub(crate) fn watch(&self) -> Watch {
        Watch(self.wanted.subscribe())
    }

    /// The accept loop reports what it did.
    pub(crate) fn report(&self, open: bool) {
        self.actual
            .send_if_modified(|is_open| std::mem::replace(is_open, open) != open);
    }
}

impl Watch {
    /// Resolves once the listener is asked to open (at once if it already is).
    pub(crate) async fn opened(&mut self) {
        self.until(true).await;
    }

    /// Resolves once the listener is asked to close (at once if it already is).
    pub(crate) async fn closed(&mut self) {
        self.until(false).await;
    }

    async fn until(&mut self, open: bool) {
        // The gate outlives every watcher (the accept loop holds it), so this cannot fail;
        // if it did, never resolving is the safe reading: nothing changes.
        if self.0.wait_for(|wanted| *wanted == open).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
