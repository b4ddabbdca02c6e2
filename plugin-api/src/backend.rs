//! Backend calls across the ABI: what an adapter asks the host to send, what comes back,
//! and the typed ways a call can fail.
//!
//! The host owns the HTTP client and the resiliency layer (timeout, bulkhead, circuit
//! breaker, retries, per-request deduplication and deadline); a plugin only describes the
//! call. That is why a plugin cannot forget any of them.

use abi_stable::{
    StableAbi,
    std_types::{RString, RVec, Tuple2},
};

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

/// A backend's 2xx answer.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct BackendResponse {
    pub status: u16,
    pub headers: RVec<Tuple2<RString, RString>>,
    pub body: RVec<u8>,
}

impl BackendResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|pair| pair.0.eq_ignore_ascii_case(name))
            .map(|pair| pair.1.as_str())
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
