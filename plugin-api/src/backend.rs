//! Backend calls across the ABI: what an adapter asks the host to send, what comes back,
//! and the typed ways a call can fail.
//!
//! The host owns the HTTP client and the resiliency layer (timeout, bulkhead, circuit
//! breaker, retries, per-request deduplication and deadline); a plugin only describes the
//! call. That is why a plugin cannot forget any of them.

mod answer;

use abi_stable::{
    StableAbi,
    sabi_trait::TD_Opaque,
    std_types::{RArc, RStr, RString, RVec, Tuple2},
};

pub use answer::{BackendAnswer, BackendAnswer_TO, BackendAnswerObj, OwnedAnswer};

/// A call to backend `backend` (a name from the host's configuration).
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct BackendRequest {
    pub backend: RString,
    /// `GET`, `POST`, `PUT`, `DELETE`, `PATCH`, `HEAD`.
    pub method: RString,
    /// Path and query on the backend, starting with `/`.
    pub path: RString,
    pub headers: RVec<Tuple2<RString, RString>>,
    pub body: RVec<u8>,
}

/// A backend's 2xx answer: its status, and its headers and body behind a shared handle that
/// copies nothing until read ([`BackendAnswer`]). Cloning it is cheap.
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct BackendResponse {
    pub status: u16,
    answer: BackendAnswerObj,
}

impl BackendResponse {
    /// An answer built from plain vectors (the test kit's scripted backends use this).
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        Self::from_answer(status, OwnedAnswer { headers, body })
    }

    /// An answer whose headers and body `answer` holds (the host's HTTP client uses this).
    pub fn from_answer<A>(status: u16, answer: A) -> Self
    where
        A: BackendAnswer + Clone + Send + Sync + 'static,
    {
        Self {
            status,
            answer: BackendAnswer_TO::from_ptr(RArc::new(answer), TD_Opaque),
        }
    }

    /// The first value of header `name` (case-insensitive), if valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.answer
            .header(RStr::from(name))
            .into_option()
            .map(|value| value.as_str())
    }

    /// Every header field as `(name, value)`, in the order received; a value that is not
    /// UTF-8 is empty.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        (0..self.answer.header_count()).filter_map(|index| {
            self.answer
                .header_at(index)
                .into_option()
                .map(|Tuple2(name, value)| (name.as_str(), value.as_str()))
        })
    }

    /// The whole body.
    pub fn body(&self) -> &[u8] {
        self.answer.body().as_slice()
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.body())
    }
}

impl std::fmt::Debug for BackendResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendResponse")
            .field("status", &self.status)
            .field("headers", &self.headers().collect::<Vec<_>>())
            .field("body", &self.text())
            .finish()
    }
}

/// How a backend call failed; each kind is something an adapter can answer with a fallback.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendErrorKind {
    /// No answer within the backend's timeout or the device request's deadline.
    Timeout = 1,
    /// The backend's concurrency limit (bulkhead) is full: refused without calling it.
    Rejected = 2,
    /// The backend's circuit breaker is open: refused without calling it.
    CircuitOpen = 3,
    /// The backend answered with a non-2xx status (in `status`).
    Status = 4,
    /// The connection failed (refused, reset, malformed answer).
    Transport = 5,
    /// No backend of that name is configured.
    UnknownBackend = 6,
    /// The request was invalid (bad method or path) or the answer could not be decoded.
    Invalid = 7,
}

/// A failed backend call.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct BackendError {
    pub kind: BackendErrorKind,
    /// The HTTP status for [`BackendErrorKind::Status`], else 0.
    pub status: u16,
    pub message: RString,
}

impl BackendError {
    pub fn new(kind: BackendErrorKind, message: impl Into<RString>) -> Self {
        Self {
            kind,
            status: 0,
            message: message.into(),
        }
    }

    /// The backend answered `status` (not 2xx).
    pub fn status(status: u16, message: impl Into<RString>) -> Self {
        Self {
            kind: BackendErrorKind::Status,
            status,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            BackendErrorKind::Timeout => write!(f, "backend timeout: {}", self.message),
            BackendErrorKind::Rejected => {
                write!(f, "backend call rejected (bulkhead full): {}", self.message)
            }
            BackendErrorKind::CircuitOpen => write!(f, "backend circuit open: {}", self.message),
            BackendErrorKind::Status => {
                write!(f, "backend answered {}: {}", self.status, self.message)
            }
            BackendErrorKind::Transport => write!(f, "backend transport error: {}", self.message),
            BackendErrorKind::UnknownBackend => write!(f, "unknown backend: {}", self.message),
            BackendErrorKind::Invalid => write!(f, "invalid backend call: {}", self.message),
        }
    }
}

impl std::error::Error for BackendError {}
