//! The fan-out of one device request: every backend call it made, in the order they
//! started, with timing, outcome, attempts and whether it shared another call's answer.
//!
//! Kept in the request's `RequestScope`, which exists only once a request calls a backend,
//! so requests that call none pay nothing for it.

use std::{
    borrow::Cow,
    sync::{Arc, Mutex},
    time::Duration,
};

use frontdoor_plugin_api::BackendErrorKind;
use hyper::header::HeaderValue;
use tokio::time::Instant;

use super::RequestId;
use crate::{backends::CallResult, otel::TraceContext};

/// What a backend call inherits from its device request.
#[derive(Debug, Clone)]
pub struct CallOrigin {
    pub request_id: RequestId,
    /// The id as its header value, shared: each call's `x-request-id` counts a reference
    /// instead of copying the id into a new allocation.
    pub header: HeaderValue,
    /// When the device request started (offsets are counted from here).
    pub started: Instant,
    /// `Some` when traces are recorded.
    pub trace: Option<TraceContext>,
}

impl CallOrigin {
    /// The origin of calls made under `request_id` (its header value made here).
    pub fn new(request_id: RequestId, started: Instant, trace: Option<TraceContext>) -> Self {
        Self {
            header: request_id.header_value(),
            request_id,
            started,
            trace,
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// Still running, or dropped before it ended (the handler gave up on it).
    Unfinished,
    Ok {
        status: u16,
    },
    Failed {
        kind: BackendErrorKind,
        status: u16,
    },
}

/// One backend call of a device request.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// The backend's name, shared with its configuration (copied only for a name that
    /// matches no backend): a call pays for no copy of it.
    pub backend: Arc<str>,
    pub method: Cow<'static, str>,
    pub path: String,
    /// From the device request's start to this call's.
    pub start_offset: Duration,
    pub duration: Option<Duration>,
    pub outcome: CallOutcome,
    /// Attempts on the wire (retries included); 0 for a call that shared another's answer
    /// or was refused before any attempt.
    pub attempts: u32,
    /// It shared the answer of an identical GET of the same request.
    pub deduplicated: bool,
    /// Its client span, when traces are recorded.
    pub span_id: Option<u64>,
}

/// The calls of one request.
#[derive(Debug, Default)]
pub struct CallLog {
    calls: Mutex<Vec<CallRecord>>,
}

/// A call [`CallLog::begin`] noted, to finish later.
#[derive(Debug, Clone, Copy)]
pub struct CallTicket {
    index: usize,
    started: Instant,
    /// The span the backend is told about in `traceparent`.
    pub span_id: Option<u64>,
}

/// `method` without a copy when it is one of the methods adapters use.
fn method_name(method: &str) -> Cow<'static, str> {
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .map_or_else(|| Cow::Owned(method.to_owned()), Cow::Borrowed)
}

impl CallLog {
    /// Notes the start of a call.
    pub fn begin(
        &self,
        origin: Option<&CallOrigin>,
        backend: Arc<str>,
        method: &str,
        path: &str,
    ) -> CallTicket {
        let started = Instant::now();
        let span_id = origin
            .and_then(|origin| origin.trace)
            .map(|_| super::random::nonzero_u64());
        let record = CallRecord {
            backend,
            method: method_name(method),
            path: path.to_owned(),
            start_offset: origin.map_or(Duration::ZERO, |origin| {
                started.saturating_duration_since(origin.started)
            }),
            duration: None,
            outcome: CallOutcome::Unfinished,
            attempts: 0,
            deduplicated: false,
            span_id,
        };
        let mut calls = self.lock();
        calls.push(record);
        CallTicket {
            index: calls.len() - 1,
            started,
            span_id,
        }
    }

    /// The attempts the call made (known where its retries ran).
    pub fn set_attempts(&self, ticket: &CallTicket, attempts: u32) {
        if let Some(call) = self.lock().get_mut(ticket.index) {
            call.attempts = attempts;
        }
    }

    /// Notes how the call ended.
    pub fn finish(&self, ticket: &CallTicket, result: &CallResult, deduplicated: bool) {
        let duration = ticket.started.elapsed();
        if let Some(call) = self.lock().get_mut(ticket.index) {
            call.duration = Some(duration);
            call.deduplicated = deduplicated;
            call.outcome = match result {
                Ok(response) => CallOutcome::Ok {
                    status: response.status,
                },
                Err(error) => CallOutcome::Failed {
                    kind: error.kind,
                    status: error.status,
                },
            };
        }
    }

    /// Whether any call failed (without copying the records).
    pub fn any_failed(&self) -> bool {
        self.lock()
            .iter()
            .any(|call| matches!(call.outcome, CallOutcome::Failed { .. }))
    }

    /// The calls so far, in the order they started.
    pub fn records(&self) -> Vec<CallRecord> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<CallRecord>> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
