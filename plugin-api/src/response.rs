//! The response a handler returns, in FFI-safe types, with builders for authors.

use abi_stable::{
    StableAbi,
    std_types::{RCowSlice, RCowStr, RVec},
};
use serde::Serialize;

/// An HTTP response crossing back to the host.
///
/// Built for the hot path: the content type has its own field and the body may borrow, so a
/// response with a literal body and type (`Response::json_static`) allocates nothing. Header
/// names and values are `RCowStr<'static>`: literals borrow the plugin's read-only data
/// (plugins are never unloaded, so `'static` holds).
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// `content-type`; empty for none.
    pub content_type: RCowStr<'static>,
    /// Other header fields.
    pub headers: RVec<Header>,
    pub body: RCowSlice<'static, u8>,
}

/// One response header field.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Header {
    pub name: RCowStr<'static>,
    pub value: RCowStr<'static>,
}

const JSON: &str = "application/json";

/// Headers the host drops from a handler's response rather than trusting them: framing
/// (a plugin's value could desynchronise the connection), the connection-specific ones
/// (forbidden in HTTP/2, where one resets the device's stream), and the host's own
/// `x-frontdoor-adapter` (who answered) and `x-request-id` (the request's id, which the host
/// sets on every answer). Lower case, as header names are compared.
pub const HOST_OWNED_HEADERS: [&str; 9] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "upgrade",
    "te",
    "x-frontdoor-adapter",
    "x-request-id",
];

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            content_type: RCowStr::from(""),
            headers: RVec::new(),
            body: RCowSlice::from(&[][..]),
        }
    }

    /// `200` with `value` serialized as compact JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::json_with_status(200, value)
    }

    /// `status` with `value` serialized as compact JSON; a value that cannot be serialized
    /// becomes a `500` with a JSON error, so a handler never has to unwrap.
    pub fn json_with_status<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::bytes(status, JSON, body),
            Err(_) => Self::json_static(500, br#"{"error":"response not serializable"}"#),
        }
    }

    /// `status` with a JSON body the caller already serialized.
    pub fn json_bytes(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::bytes(status, JSON, body)
    }

    /// `status` with a constant JSON body: nothing is copied or allocated.
    pub fn json_static(status: u16, body: &'static [u8]) -> Self {
        let mut response = Self::new(status);
        response.content_type = RCowStr::from(JSON);
        response.body = RCowSlice::from(body);
        response
    }

    /// `status` with a UTF-8 text body.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::bytes(
            status,
            "text/plain; charset=utf-8",
            body.into().into_bytes(),
        )
    }

    /// `status` with `body` of the given content type.
    pub fn bytes(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        let mut response = Self::new(status);
        response.content_type = RCowStr::from(content_type);
        response.body = RCowSlice::from(RVec::from(body.into()));
        response
    }

    /// Appends a header whose name and value are string literals (no allocation but the
    /// header list's). `content-type` goes to its own field.
    pub fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        if name.eq_ignore_ascii_case("content-type") {
            self.content_type = RCowStr::from(value);
            return self;
        }
        self.headers.push(Header {
            name: RCowStr::from(name),
            value: RCowStr::from(value),
        });
        self
    }

    /// Appends a header computed at run time.
    pub fn with_owned_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(Header {
            name: RCowStr::from(name.into()),
            value: RCowStr::from(value.into()),
        });
        self
    }

    /// The first value of header `name` (case-insensitive), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        if name.eq_ignore_ascii_case("content-type") && !self.content_type.is_empty() {
            return Some(self.content_type.as_str());
        }
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        self.body.as_slice()
    }
}
