//! The one stop signal every listener, connection and waiting request watches.

use tokio::sync::watch;

/// Pulls the stop signal; dropping it stops everything too.
#[derive(Debug)]
pub(crate) struct Trigger(watch::Sender<bool>);

/// Watches the stop signal. Cheap to clone: one per task.
#[derive(Debug, Clone)]
pub(crate) struct Stop(watch::Receiver<bool>);

/// A request was cut short because the server is stopping; hyper then drops its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sample backends are shutting down")]
pub(crate) struct Stopped;

pub(crate) fn channel() -> (Trigger, Stop) {
    let (sender, receiver) = watch::channel(false);
    (Trigger(sender), Stop(receiver))
}

impl Trigger {
    pub(crate) fn pull(&self) {
        self.0.send_replace(true);
    }
}

impl Stop {
    /// Resolves once the trigger is pulled or dropped.
    pub(crate) async fn wait(&mut self) {
        // An error means the trigger is gone, which stops everything as well.
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }
}
