//! Automatic recycles: when the retired versions' artifacts or the mapped libraries pass
//! the thresholds of `[recycle]`, the host recycles itself, which unmaps them all.

use std::sync::Arc;

use super::{RecycleError, Recycler, Trigger};
use crate::registry::Registry;

/// Checks the thresholds every `auto_check` on the current runtime until this host handed
/// over (or forever, if neither threshold is set: then nothing is spawned).
pub fn spawn_auto(recycler: &Arc<Recycler>, registry: Arc<Registry>) {
    let config = recycler.config().clone();
    if !config.auto() {
        return;
    }
    let recycler = recycler.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(config.auto_check);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = recycler.handed_over() => return,
            }
            let snapshot = registry.snapshot();
            let reason = over_threshold(
                snapshot.retired_bytes,
                snapshot.mapped.count,
                config.auto_retired_bytes,
                config.auto_mapped_libraries,
            );
            let Some(reason) = reason else { continue };
            match recycler.recycle(Trigger::Auto { reason }, None).await {
                Ok(_) => return,
                // An operator's recycle is running: look again at the next tick.
                Err(RecycleError::InProgress) => {}
                Err(RecycleError::HandedOver { .. }) => return,
                Err(_) => {
                    // Already logged and counted; do not spawn a failing successor at
                    // every check.
                    tokio::time::sleep(config.auto_retry).await;
                }
            }
        }
    });
}

/// Why the host should recycle now, if it should.
pub fn over_threshold(
    retired_bytes: u64,
    mapped_libraries: usize,
    retired_limit: Option<u64>,
    mapped_limit: Option<usize>,
) -> Option<String> {
    if let Some(limit) = retired_limit
        && retired_bytes >= limit
    {
        return Some(format!(
            "retired versions hold {retired_bytes} bytes (auto_retired_bytes = {limit})"
        ));
    }
    if let Some(limit) = mapped_limit
        && mapped_libraries >= limit
    {
        return Some(format!(
            "{mapped_libraries} libraries are mapped (auto_mapped_libraries = {limit})"
        ));
    }
    None
}
