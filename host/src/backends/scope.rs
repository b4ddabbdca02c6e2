//! What backend calls of one device request share: its deadline, the adapter it is for,
//! the GETs already under way (truly identical GETs are made once), what every call
//! inherits (request id, trace) and the record of its calls.

use std::{collections::HashMap, sync::Mutex};

use futures_util::future::{BoxFuture, Shared};
use hyper::{
    Method,
    header::{HeaderName, HeaderValue},
};
use tokio::time::Instant;

use super::CallResult;
use crate::requests::{CallLog, CallOrigin};

/// A GET under way, awaited by every identical GET of the same device request.
pub type SharedCall = Shared<BoxFuture<'static, CallResult>>;

pub struct RequestScope {
    pub adapter: String,
    pub deadline: Instant,
    in_flight_gets: Mutex<HashMap<CallKey, SharedCall>>,
    /// The device request's id and trace, passed to every call (not part of [`CallKey`]:
    /// they differ per call or are the same for all of them).
    pub origin: Option<CallOrigin>,
    /// Every call made, in order, for recent requests and traces.
    pub calls: CallLog,
}

/// Everything that makes two calls the same call: the backend, the method, the path with
/// its query, and the request headers that reach the backend. Two calls that differ in any
/// header (an `authorization`, an `accept-language`) may get different answers, so they
/// never share one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallKey {
    backend: String,
    method: Method,
    path_and_query: String,
    /// Sorted by name, stably: the order of different names carries no meaning, the order
    /// of several values of one name does (they combine in order), so it is kept. Values
    /// are compared exactly, byte for byte.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl CallKey {
    pub fn new(
        backend: &str,
        method: &Method,
        path_and_query: &str,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Self {
        let mut headers = headers.to_vec();
        headers.sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
        Self {
            backend: backend.to_owned(),
            method: method.clone(),
            path_and_query: path_and_query.to_owned(),
            headers,
        }
    }
}

impl RequestScope {
    pub fn new(adapter: &str, deadline: Instant) -> Self {
        Self {
            adapter: adapter.to_owned(),
            deadline,
            in_flight_gets: Mutex::new(HashMap::new()),
            origin: None,
            calls: CallLog::default(),
        }
    }

    /// The scope of the device request `origin` describes.
    pub fn with_origin(mut self, origin: CallOrigin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// The shared call for `key`: the one already made in this request, or the one `start`
    /// makes now. The flag says whether it was already there.
    pub fn get_once(
        &self,
        key: CallKey,
        start: impl FnOnce() -> BoxFuture<'static, CallResult>,
    ) -> (SharedCall, bool) {
        let mut gets = self
            .in_flight_gets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(shared) = gets.get(&key) {
            return (shared.clone(), true);
        }
        let shared = futures_util::FutureExt::shared(start());
        gets.insert(key, shared.clone());
        (shared, false)
    }
}

#[cfg(test)]
mod tests;
