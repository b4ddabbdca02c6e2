//! Waiting for something the host does asynchronously (a reload, a rebinding, a state
//! change), bounded in time: every test wait goes through [`eventually`].

use std::{future::Future, time::Duration};

/// How long a wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);
/// Pause between two attempts.
const INTERVAL: Duration = Duration::from_millis(10);

/// Runs `attempt` until it succeeds; panics after [`PATIENCE`] with `what` and the last
/// attempt's description of what it saw instead.
pub async fn eventually<F>(what: &str, mut attempt: impl FnMut() -> F)
where
    F: Future<Output = Result<(), String>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let last = match attempt().await {
            Ok(()) => return,
            Err(last) => last,
        };
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within {} s; last: {last}",
            PATIENCE.as_secs()
        );
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Awaits `future`, something that must happen; panics with `what` after [`PATIENCE`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen within {} s", PATIENCE.as_secs()))
}
