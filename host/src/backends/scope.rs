//! What backend calls of one device request share: its deadline, the adapter it is for,
//! and the GETs already under way (identical GETs are made once).

use std::{collections::HashMap, sync::Mutex};

use futures_util::future::{BoxFuture, Shared};
use tokio::time::Instant;

use super::CallResult;

/// A GET under way, awaited by every identical GET of the same device request.
pub type SharedCall = Shared<BoxFuture<'static, CallResult>>;

pub struct RequestScope {
    pub adapter: String,
    pub deadline: Instant,
    /// Keyed by (backend, path).
    in_flight_gets: Mutex<HashMap<(String, String), SharedCall>>,
}

impl RequestScope {
    pub fn new(adapter: &str, deadline: Instant) -> Self {
        Self {
            adapter: adapter.to_owned(),
            deadline,
            in_flight_gets: Mutex::new(HashMap::new()),
        }
    }

    /// The shared call for `GET path` on `backend`: the one already made in this request, or
    /// the one `start` makes now. The flag says whether it was already there.
    pub fn get_once(
        &self,
        backend: &str,
        path: &str,
        start: impl FnOnce() -> BoxFuture<'static, CallResult>,
    ) -> (SharedCall, bool) {
        let mut gets = self
            .in_flight_gets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (backend.to_owned(), path.to_owned());
        if let Some(shared) = gets.get(&key) {
            return (shared.clone(), true);
        }
        let shared = futures_util::FutureExt::shared(start());
        gets.insert(key, shared.clone());
        (shared, false)
    }
}
