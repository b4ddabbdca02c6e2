//! Recent requests per adapter: a bounded ring each, holding every error, every slow
//! request, and one in `sample_one_in` of the rest.
//!
//! The decision is made per request without shared writes (the sampling counter is
//! per thread); only a kept request takes the lock, to push into its adapter's ring.

use std::{
    cell::Cell,
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::Duration,
};

use serde::Serialize;

use super::{
    fanout::{CallOutcome, CallRecord},
    filter::RequestFilter,
};

/// How many requests are kept, and which.
#[derive(Debug, Clone)]
pub struct RecentConfig {
    /// Entries per adapter; 0 keeps none.
    pub per_adapter: usize,
    /// At least this long is slow (always kept).
    pub slow: Duration,
    /// One in this many of the other requests is kept; 0 keeps none of them.
    pub sample_one_in: u32,
}

impl Default for RecentConfig {
    fn default() -> Self {
        Self {
            per_adapter: 256,
            slow: Duration::from_secs(1),
            sample_one_in: 100,
        }
    }
}

/// Why a request was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kept {
    /// A 4xx or 5xx answer, or a failed backend call.
    Error,
    Slow,
    Sampled,
}

/// One kept request, as `/admin/requests` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RecentRequest {
    pub request_id: String,
    pub at_unix_ms: u64,
    pub adapter: String,
    pub version: String,
    pub method: String,
    /// The route's pattern (`/items/{id}`), or `null` when no route matched.
    pub route: Option<String>,
    pub status: u16,
    pub latency_us: u64,
    pub kept: Kept,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Backend calls in the order they started.
    pub calls: Vec<CallView>,
}

/// One backend call of a kept request.
#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    pub backend: String,
    pub method: String,
    pub path: String,
    pub start_offset_us: u64,
    /// `null` when the call had not ended when the request did.
    pub duration_us: Option<u64>,
    /// `ok`, `error` or `unfinished`.
    pub outcome: &'static str,
    /// The backend's status, when it answered.
    pub status: Option<u16>,
    /// The failure's kind (`Timeout`, `Status`, `Transport`, ...), when it failed.
    pub error: Option<String>,
    pub attempts: u32,
    pub deduplicated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
}

impl From<&CallRecord> for CallView {
    fn from(call: &CallRecord) -> Self {
        let (outcome, status, error) = match call.outcome {
            CallOutcome::Unfinished => ("unfinished", None, None),
            CallOutcome::Ok { status } => ("ok", Some(status), None),
            CallOutcome::Failed { kind, status } => (
                "error",
                (status != 0).then_some(status),
                Some(format!("{kind:?}")),
            ),
        };
        Self {
            backend: call.backend.to_string(),
            method: call.method.to_string(),
            path: call.path.clone(),
            start_offset_us: micros(call.start_offset),
            duration_us: call.duration.map(micros),
            outcome,
            status,
            error,
            attempts: call.attempts,
            deduplicated: call.deduplicated,
            span_id: call.span_id.map(|id| format!("{id:016x}")),
        }
    }
}

pub fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Every adapter's ring.
pub struct RecentRequests {
    config: RecentConfig,
    rings: Mutex<HashMap<String, VecDeque<RecentRequest>>>,
}

thread_local! {
    /// Requests seen on this thread since the last sampled one.
    static SINCE_SAMPLE: Cell<u32> = const { Cell::new(0) };
}

impl RecentRequests {
    pub fn new(config: RecentConfig) -> Self {
        Self {
            config,
            rings: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a request that ended so is kept, and why.
    pub fn keep(&self, status: u16, latency: Duration, failed_call: bool) -> Option<Kept> {
        if self.config.per_adapter == 0 {
            return None;
        }
        if status >= 400 || failed_call {
            return Some(Kept::Error);
        }
        if latency >= self.config.slow {
            return Some(Kept::Slow);
        }
        let one_in = self.config.sample_one_in;
        if one_in == 0 {
            return None;
        }
        let sampled = SINCE_SAMPLE.with(|since| {
            let seen = since.get();
            let take = seen == 0;
            since.set(if seen + 1 >= one_in { 0 } else { seen + 1 });
            take
        });
        sampled.then_some(Kept::Sampled)
    }

    /// Adds a kept request to its adapter's ring, evicting the oldest past the bound.
    pub fn push(&self, entry: RecentRequest) {
        let mut rings = self.lock();
        let ring = rings.entry(entry.adapter.clone()).or_default();
        if ring.len() >= self.config.per_adapter {
            ring.pop_front();
        }
        ring.push_back(entry);
    }

    /// Kept requests matching `filter`, newest first.
    pub fn query(&self, filter: &RequestFilter) -> Vec<RecentRequest> {
        let rings = self.lock();
        let mut found: Vec<&RecentRequest> = rings
            .iter()
            .filter(|(adapter, _)| filter.adapter.as_ref().is_none_or(|want| want == *adapter))
            // Newest first within each ring, so that requests of one adapter ending in the
            // same millisecond keep that order through the stable sort below.
            .flat_map(|(_, ring)| ring.iter().rev())
            .filter(|entry| {
                filter
                    .status
                    .is_none_or(|status| status.matches(entry.status))
            })
            .collect();
        found.sort_by_key(|entry| std::cmp::Reverse(entry.at_unix_ms));
        found.into_iter().take(filter.limit).cloned().collect()
    }

    /// The newest kept request with this id (a device may reuse its ids).
    pub fn find(&self, request_id: &str) -> Option<RecentRequest> {
        let rings = self.lock();
        rings
            .values()
            .flat_map(|ring| ring.iter())
            .filter(|entry| entry.request_id == request_id)
            .max_by_key(|entry| entry.at_unix_ms)
            .cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<RecentRequest>>> {
        self.rings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests;
