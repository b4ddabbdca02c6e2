//! The response a handler returns, in FFI-safe types, with builders for authors.

use abi_stable::{
    StableAbi,
    std_types::{RCowStr, RVec},
};
use serde::Serialize;

/// An HTTP response crossing back to the host.
///
/// Header names and values are `RCowStr<'static>`: the common case, a literal such as
/// `content-type: application/json`, borrows the plugin's read-only data and allocates
/// nothing (plugins are never unloaded, so `'static` holds).
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: RVec<Header>,
    pub body: RVec<u8>,
}

/// One response header field.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Header {
    pub name: RCowStr<'static>,
    pub value: RCowStr<'static>,
}

const JSON: &str = "application/json";

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: RVec::new(),
            body: RVec::new(),
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
            Err(_) => Self::bytes(
                500,
                JSON,
                br#"{"error":"response not serializable"}"#.to_vec(),
            ),
        }
    }

    /// `status` with a JSON body the caller already serialized.
    pub fn json_bytes(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::bytes(status, JSON, body)
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
        let mut response = Self::new(status).with_header("content-type", content_type);
        response.body = RVec::from(body.into());
        response
    }

    /// Appends a header whose name and value are string literals (no allocation).
    pub fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
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
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}
