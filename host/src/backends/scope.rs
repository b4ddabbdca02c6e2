//! What backend calls of one device request share: its deadline, the adapter it is for,
//! the GETs already under way (truly identical GETs are made once), what every call
//! inherits (request id, trace), the record of its calls and how many are unfinished.

use std::{
    collections::HashMap,
    ops::Deref,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use hyper::{
    Method,
    header::{HeaderName, HeaderValue},
    http::uri::PathAndQuery,
};
use tokio::time::Instant;

use super::joined::{Answer, Call, Joining, Leading};
use crate::requests::{CallLog, CallOrigin};

/// The GETs of one request by what makes them identical. Keys are hashed with foldhash,
/// not SipHash: a request's table is small and short-lived, and SipHash of every key was
/// the host's largest hashing cost per backend call.
type GetsUnderWay = HashMap<CallKey, Arc<Answer>, foldhash::fast::RandomState>;

/// Room for the GETs of most requests without growing the table.
const GETS_CAPACITY: usize = 16;

pub struct RequestScope {
    pub adapter: String,
    pub deadline: Instant,
    gets: Mutex<GetsUnderWay>,
    /// The device request's id and trace, passed to every call (not part of [`CallKey`]:
    /// they differ per call or are the same for all of them).
    pub origin: Option<CallOrigin>,
    /// Every call made, in order, for recent requests and traces.
    pub calls: CallLog,
    /// Calls whose future has neither completed nor been dropped ([`UnfinishedCall`]).
    unfinished: AtomicUsize,
}

/// Everything that makes two calls the same call: the backend, the method, the path with
/// its query, and the request headers that reach the backend. Two calls that differ in any
/// header (an `authorization`, an `accept-language`) may get different answers, so they
/// never share one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallKey {
    backend: Arc<str>,
    method: Method,
    /// The target as sent (the backend's prefix included, the same for all its calls).
    path_and_query: Option<PathAndQuery>,
    /// Sorted by name, stably: the order of different names carries no meaning, the order
    /// of several values of one name does (they combine in order), so it is kept. Values
    /// are compared exactly, byte for byte.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl CallKey {
    /// The key of a call to `backend` with this method, target and headers. Nothing is
    /// copied but the headers: the name and the target are shared handles.
    pub fn new(
        backend: &Arc<str>,
        method: &Method,
        path_and_query: Option<&PathAndQuery>,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Self {
        let mut headers = headers.to_vec();
        headers.sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
        Self {
            backend: backend.clone(),
            method: method.clone(),
            path_and_query: path_and_query.cloned(),
            headers,
        }
    }
}

impl RequestScope {
    pub fn new(adapter: &str, deadline: Instant) -> Self {
        Self {
            adapter: adapter.to_owned(),
            deadline,
            gets: Mutex::new(HashMap::with_capacity_and_hasher(
                GETS_CAPACITY,
                foldhash::fast::RandomState::default(),
            )),
            origin: None,
            calls: CallLog::default(),
            unfinished: AtomicUsize::new(0),
        }
    }

    /// How many calls of this request are unfinished: made, and their future neither
    /// completed nor dropped. A call whose answer arrived counts until its caller polls it.
    pub fn unfinished_calls(&self) -> usize {
        self.unfinished.load(Ordering::Relaxed)
    }

    /// The scope of the device request `origin` describes.
    pub fn with_origin(mut self, origin: CallOrigin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// The GET `key` names in this request: the first makes `call` and leads it; an
    /// identical one joins the first's call (under way or ended).
    pub fn get_once(&self, key: CallKey, call: impl FnOnce() -> Call) -> Get {
        let mut gets = self
            .gets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(answer) = gets.get(&key) {
            return Get::Identical(answer.join());
        }
        let answer = Answer::new(call());
        gets.insert(key, answer.clone());
        Get::First(Leading::new(answer))
    }
}

/// A handle on a request's scope that counts one call as unfinished for as long as it
/// lives: the call's future owns it, so the count falls when the future completes (its
/// locals are dropped before it answers) or is dropped unfinished.
pub struct UnfinishedCall(Arc<RequestScope>);

impl UnfinishedCall {
    pub fn new(scope: Arc<RequestScope>) -> Self {
        // Relaxed: the count steers scheduling (`dispatch/gather.rs`), it orders nothing.
        scope.unfinished.fetch_add(1, Ordering::Relaxed);
        Self(scope)
    }
}

impl Deref for UnfinishedCall {
    type Target = RequestScope;

    fn deref(&self) -> &RequestScope {
        &self.0
    }
}

impl Drop for UnfinishedCall {
    fn drop(&mut self) {
        self.0.unfinished.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What [`RequestScope::get_once`] found.
pub enum Get {
    First(Leading),
    Identical(Joining),
}

#[cfg(test)]
mod tests;
