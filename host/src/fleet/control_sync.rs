//! One set of operators' decisions for the whole fleet: the control state is one etcd key,
//! changed by compare-and-swap on the revision this host last saw, and watched by every
//! host, which adopts each new value as its own (saved, applied to routing, canaries and
//! shadows). A change made while etcd is unreachable is refused (503) rather than made on
//! one host only; a host that was away adopts the fleet's decisions when it is back.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use etcd_client::EventType;
use hyper::StatusCode;

use super::{Backoff, Fleet, etcd::Etcd};
use crate::{
    control::{SharedDecisions, state_file::ControlState},
    error_response::EdgeError,
};

/// This host's side of the fleet's decisions.
struct FleetDecisions {
    etcd: Etcd,
    key: String,
    /// The control key's mod revision as this host last wrote or adopted it (0: absent).
    seen: Arc<Mutex<i64>>,
    runtime: tokio::runtime::Handle,
    /// How long a change may keep trying to reach etcd ([`CHANGE_PATIENCE_IN_REQUESTS`]).
    patience: Duration,
}

impl FleetDecisions {
    fn seen(&self) -> i64 {
        *self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SharedDecisions for FleetDecisions {
    fn publish(&self, next: &ControlState) -> Result<(), EdgeError> {
        let value = serde_json::to_vec(next)
            .map_err(|_| EdgeError::internal("the change could not be encoded"))?;
        let expected = self.seen();
        let answer = self.runtime.block_on(swap_patiently(
            &self.etcd,
            &self.key,
            value,
            expected,
            self.patience,
        ));
        match answer {
            Ok(Ok(revision)) => {
                *self
                    .seen
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = revision;
                Ok(())
            }
            Ok(Err(())) => Err(EdgeError::new(
                StatusCode::CONFLICT,
                "fleet changed meanwhile",
                "another host changed the fleet's decisions at the same time; this host takes theirs within a moment: look again and repeat the change if it is still needed",
            )),
            Err(error) => Err(unreachable(&error)),
        }
    }

    fn publish_later(&self, next: ControlState) {
        let Ok(value) = serde_json::to_vec(&next) else {
            return;
        };
        let etcd = self.etcd.clone();
        let key = self.key.clone();
        let seen = self.seen.clone();
        let expected = self.seen();
        let patience = self.patience;
        self.runtime.spawn(async move {
            match swap_patiently(&etcd, &key, value, expected, patience).await {
                Ok(Ok(revision)) => {
                    *seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = revision;
                }
                Ok(Err(())) => tracing::info!(
                    "a canary or shadow change lost to another host's; taking the fleet's"
                ),
                Err(error) => tracing::warn!(%error, "a canary or shadow change could not reach the fleet; it holds on this host"),
            }
        });
    }
}

/// How long an operator's change may try to reach the fleet, in request timeouts: long
/// enough to ride out the election that follows losing etcd's leader (a second or two),
/// short enough that an unreachable fleet answers 503 while the operator still waits.
const CHANGE_PATIENCE_IN_REQUESTS: u32 = 3;

/// Pause between two tries of a change while etcd cannot take it.
const CHANGE_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Compare-and-swap of `key` from `expected` to `value`, tried again while etcd fails (no
/// leader during an election, a member gone) until `patience` runs out. A try that failed
/// may still have been applied (its answer was lost): when a later try then finds the key
/// changed, and changed to exactly `value`, that is this change, not a conflict.
async fn swap_patiently(
    etcd: &Etcd,
    key: &str,
    value: Vec<u8>,
    expected: i64,
    patience: Duration,
) -> Result<Result<i64, ()>, String> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut failed_before = false;
    let mut last_error = "no answer in time".to_owned();
    loop {
        let attempt = tokio::time::timeout_at(deadline, etcd.swap(key, value.clone(), expected));
        match attempt.await {
            Ok(Ok(Ok(revision))) => return Ok(Ok(revision)),
            Ok(Ok(Err(()))) if failed_before => {
                return match tokio::time::timeout_at(deadline, etcd.get(key)).await {
                    Ok(Ok((Some(entry), _))) if entry.value == value => Ok(Ok(entry.mod_revision)),
                    Ok(Ok(_)) => Ok(Err(())),
                    Ok(Err(error)) => Err(error),
                    Err(_) => Err(last_error),
                };
            }
            Ok(Ok(Err(()))) => return Ok(Err(())),
            Ok(Err(error)) => {
                failed_before = true;
                last_error = error;
            }
            Err(_) => return Err(last_error),
        }
        if tokio::time::timeout_at(deadline, tokio::time::sleep(CHANGE_RETRY_PAUSE))
            .await
            .is_err()
        {
            return Err(last_error);
        }
    }
}

fn unreachable(error: &str) -> EdgeError {
    EdgeError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "fleet unreachable",
        format!(
            "the fleet's etcd cannot be reached ({error}); nothing was changed: a change made on this host alone would split the fleet"
        ),
    )
}

/// The revision shared between the control plane's hook and the watch loop.
fn seen_of(fleet: &Fleet) -> Arc<Mutex<i64>> {
    fleet.decisions_seen.clone()
}

/// Routes the control plane's changes through the fleet.
pub fn attach(fleet: &Arc<Fleet>) {
    fleet.control.share_decisions(Arc::new(FleetDecisions {
        etcd: fleet.etcd.clone(),
        key: fleet.keys.control(),
        seen: seen_of(fleet),
        runtime: tokio::runtime::Handle::current(),
        patience: fleet.config.request_timeout * CHANGE_PATIENCE_IN_REQUESTS,
    }));
}

/// Runs for the life of the host: adopts every new value of the fleet's decisions.
pub async fn run(fleet: Arc<Fleet>) {
    let mut backoff = Backoff::new(fleet.config.max_backoff);
    loop {
        if let Err(error) = follow(&fleet, &mut backoff).await {
            fleet.note_etcd(Some(error));
        }
        backoff.wait().await;
    }
}

async fn follow(fleet: &Arc<Fleet>, backoff: &mut Backoff) -> Result<(), String> {
    let key = fleet.keys.control();
    let (entry, revision) = fleet.etcd.get(&key).await?;
    backoff.reset();
    match entry {
        Some(entry) => adopt(fleet, &entry.value, entry.mod_revision).await,
        None => {
            // The first fleet host seeds the fleet's decisions with its own.
            let state = fleet.control.state();
            let value = serde_json::to_vec(&state).map_err(|error| error.to_string())?;
            if let Ok(written) = fleet.etcd.swap(&key, value, 0).await? {
                set_seen(fleet, written);
            }
        }
    }
    let mut stream = fleet.etcd.watch(&key, false, revision + 1).await?;
    loop {
        let message = stream
            .message()
            .await
            .map_err(|error| format!("etcd watch: {error}"))?
            .ok_or("etcd watch ended")?;
        if message.canceled() {
            return Err(format!("etcd watch canceled: {}", message.cancel_reason()));
        }
        for event in message.events() {
            if event.event_type() == EventType::Put
                && let Some(kv) = event.kv()
            {
                adopt(fleet, kv.value(), kv.mod_revision()).await;
            }
        }
    }
}

/// Adopts the fleet's decisions at `revision`, unless this host has seen them already.
async fn adopt(fleet: &Arc<Fleet>, value: &[u8], revision: i64) {
    let seen = seen_of(fleet);
    if *seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) >= revision {
        return;
    }
    let state: ControlState = match serde_json::from_slice(value) {
        Ok(state) => state,
        Err(error) => {
            tracing::error!(%error, "the fleet's decisions cannot be read; keeping this host's");
            return;
        }
    };
    if state.format > crate::control::state_file::FORMAT {
        tracing::error!(
            format = state.format,
            "the fleet's decisions are in a newer format; keeping this host's until this host is upgraded"
        );
        return;
    }
    set_seen(fleet, revision);
    let control = fleet.control.clone();
    // Saving fsyncs: off the runtime's workers.
    let _ = tokio::task::spawn_blocking(move || control.adopt(state)).await;
}

fn set_seen(fleet: &Fleet, revision: i64) {
    let seen = seen_of(fleet);
    let mut seen = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *seen = (*seen).max(revision);
}
