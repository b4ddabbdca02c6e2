//! Shared in-flight calls across device requests (single-flight): for a backend that opted
//! in (`share_in_flight`), identical GETs in flight at the same time for different device
//! requests make one call, whose answer every one of them gets. "Identical" is [`CallKey`],
//! the rule of the per-request de-duplication; it is meant for answers that do not depend
//! on the caller (a catalog title), since a follower gets the leader's answer.
//!
//! The shared call runs detached, on a task of its own, not inside the first caller's
//! future. That caller (the leader) belongs to one device request, which may be dropped at
//! any time (its client went away, its handler ran out of time) while others wait for the
//! same answer: a call owned by the leader would be cancelled with it, or would be driven
//! by whichever waiter happens to poll it. Detached, the call ends on its own terms: the
//! backend's timeout per attempt and its retry attempts bound it, not the deadline of the
//! device request that happened to start it, so a follower with time left is not failed
//! by a leader that had little (it does carry the leader's request id and trace). The
//! price: a call nobody awaits any more still runs to its end, once. Each caller, the
//! leader included, stops waiting at its own deadline (the invariant in `backends.rs`).

use std::{
    collections::HashMap,
    future::Future,
    hash::Hash,
    sync::{Arc, Mutex, MutexGuard},
};

use frontdoor_plugin_api::{BackendError, BackendErrorKind};
use futures_util::{
    FutureExt as _,
    future::{BoxFuture, Shared},
};
use tokio::{runtime::Handle, sync::oneshot, time::Instant};

use super::{Backend, CallKey, CallResult, OutgoingCall};

/// Calls in flight by key, each awaited by every caller that asked for it meanwhile.
pub struct SingleFlight<K, V> {
    flights: Arc<Mutex<HashMap<K, Answer<V>>>>,
}

/// The answer of a call in flight: `None` when its task ended without one (the runtime
/// shut down under it).
pub type Answer<V> = Shared<BoxFuture<'static, Option<V>>>;

/// Whether a caller started the call or joined one already in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower,
}

impl<K, V> SingleFlight<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new() -> Self {
        Self {
            flights: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The answer of the call for `key` in flight now, or of the one `start` makes now on a
    /// task of `runtime`'s (a follower's `start` is never called). Once the call has ended,
    /// the next caller starts a fresh one: answers are shared, never kept.
    pub fn join_or_start<F>(
        &self,
        key: K,
        runtime: &Handle,
        start: impl FnOnce() -> F,
    ) -> (Answer<V>, Role)
    where
        F: Future<Output = V> + Send + 'static,
    {
        let (answer, sender) = {
            let mut flights = lock(&self.flights);
            if let Some(answer) = flights.get(&key) {
                return (answer.clone(), Role::Follower);
            }
            let (sender, receiver) = oneshot::channel();
            let answer = receiver.map(Result::ok).boxed().shared();
            flights.insert(key.clone(), answer.clone());
            (answer, sender)
        };
        // Spawned after the lock is released: a runtime that is shutting down drops the task
        // at once, on this thread, and its landing takes the lock.
        let landing = Landing {
            flights: self.flights.clone(),
            key,
        };
        let call = start();
        runtime.spawn(async move {
            let value = call.await;
            // Out of the table before the answer is out: a caller from now on starts afresh.
            drop(landing);
            let _ = sender.send(value);
        });
        (answer, Role::Leader)
    }

    /// Calls in flight now.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        lock(&self.flights).len()
    }
}

impl<K, V> Default for SingleFlight<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

/// Takes a call out of the table when its task ends, however it ends (answered, panicked,
/// dropped by a runtime shutting down), so a key is never stuck on a call that is gone.
struct Landing<K: Eq + Hash, V> {
    flights: Arc<Mutex<HashMap<K, Answer<V>>>>,
    key: K,
}

impl<K: Eq + Hash, V> Drop for Landing<K, V> {
    fn drop(&mut self) {
        lock(&self.flights).remove(&self.key);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the backend's shared calls hold: the answer and the attempts the call made.
pub type SharedCalls = SingleFlight<CallKey, (CallResult, u32)>;

impl Backend {
    /// `execute`, through the backend's shared in-flight calls when it shares them and the
    /// call may be shared (`key` given); also says how many attempts this caller made (none
    /// when it joined another device request's call).
    pub(super) async fn execute_shared(
        self: &Arc<Self>,
        key: Option<CallKey>,
        call: OutgoingCall,
    ) -> (CallResult, u32) {
        // A caller already past its deadline starts nothing: `execute` refuses it at once.
        let runtime = Handle::try_current()
            .ok()
            .filter(|_| Instant::now() < call.deadline);
        let (Some(shared_calls), Some(key), Some(runtime)) = (&self.shared_calls, key, runtime)
        else {
            return self.clone().execute(call).await;
        };
        let deadline = call.deadline;
        let (answer, role) = shared_calls.join_or_start(key, &runtime, || {
            let backend = self.clone();
            let call = OutgoingCall {
                deadline: self.detached_deadline(deadline),
                ..call
            };
            backend.execute(call)
        });
        if role == Role::Follower {
            self.metrics
                .shared
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let name = &self.config.name;
        match tokio::time::timeout_at(deadline, answer).await {
            Ok(Some((result, attempts))) => match role {
                Role::Leader => (result, attempts),
                Role::Follower => (result, 0),
            },
            Ok(None) => (
                Err(BackendError::new(
                    BackendErrorKind::Transport,
                    format!("{name}: the shared call ended without an answer"),
                )),
                0,
            ),
            Err(_) => (
                Err(BackendError::new(
                    BackendErrorKind::Timeout,
                    format!(
                        "{name}: the device request's deadline passed while waiting for a \
                         shared call"
                    ),
                )),
                0,
            ),
        }
    }

    /// The end of a shared call: its attempts' timeouts one after another, as long as its
    /// retries could take (`caller_deadline` only should that not fit in an `Instant`).
    fn detached_deadline(&self, caller_deadline: Instant) -> Instant {
        let longest = self
            .config
            .timeout
            .saturating_mul(self.config.retry.attempts.max(1));
        Instant::now()
            .checked_add(longest)
            .unwrap_or(caller_deadline)
    }
}

#[cfg(test)]
mod tests;
