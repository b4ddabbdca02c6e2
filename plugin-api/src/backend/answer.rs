//! A backend's answer as an adapter reads it: the headers and body stay where the host read
//! them (hyper's header map and receive buffer) until the adapter asks for them.
//!
//! Before, every call copied each response header into two `RString`s and the headers into
//! an `RVec` whether or not the adapter looked at them, and an identical GET sharing the
//! answer copied all of it again. Behind a reference-counted handle, a call costs one
//! allocation for its answer and sharing it costs none.

// abi_stable 0.11's `sabi_trait` expands to impls inside a function body, which current
// rustc reports as `non_local_definitions`; the expansion is sound, the lint is noise.
#![allow(
    non_local_definitions,
    reason = "abi_stable 0.11 sabi_trait expansion trips this lint on current rustc"
)]

use crate::plain_headers;
use abi_stable::{
    sabi_trait,
    std_types::{RArc, ROption, RSlice, RStr, Tuple2},
};

/// The headers and body of one answer. Implemented by the host for what its HTTP client
/// read, and by [`OwnedAnswer`] for answers built from plain vectors (the test kit).
///
/// The methods' code lives in the binary that made the answer: every answer an adapter gets
/// from a backend call is the host's, which outlives every plugin.
#[sabi_trait]
pub trait BackendAnswer: Clone + Send + Sync {
    /// The first value of a header (case-insensitive name), if present and valid UTF-8.
    fn header(&self, name: RStr<'_>) -> ROption<RStr<'_>>;

    /// The number of header fields, for iteration with [`BackendAnswer::header_at`].
    fn header_count(&self) -> usize;

    /// The header field at `index` as `(name, value)`; the value is empty if not UTF-8.
    fn header_at(&self, index: usize) -> ROption<Tuple2<RStr<'_>, RStr<'_>>>;

    /// The whole body, as read (bounded by the host).
    #[sabi(last_prefix_field)]
    fn body(&self) -> RSlice<'_, u8>;
}

/// A shared, FFI-safe handle to an answer; cloning it copies nothing.
pub type BackendAnswerObj = BackendAnswer_TO<'static, RArc<()>>;

/// An answer held as plain vectors: header names as given, compared case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct OwnedAnswer {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl BackendAnswer for OwnedAnswer {
    fn header(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        plain_headers::first_value(&self.headers, name)
    }

    fn header_count(&self) -> usize {
        self.headers.len()
    }

    fn header_at(&self, index: usize) -> ROption<Tuple2<RStr<'_>, RStr<'_>>> {
        plain_headers::field_at(&self.headers, index)
    }

    fn body(&self) -> RSlice<'_, u8> {
        RSlice::from(self.body.as_slice())
    }
}
