//! The HTTP edge's error responses: one place that maps a failure to a status code and a
//! JSON body. Internals (paths, panic messages) go to the log, never to the device.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Response, StatusCode,
    header::{CONTENT_TYPE, HeaderValue},
};
use serde::Serialize;

/// The body type of every response the host writes.
pub type Body = Full<Bytes>;

/// A request body the admin API reads: hyper's `Incoming` from the network, or a body the
/// console builds in process (`Full<Bytes>`) to act through the same control routes.
pub trait RequestBody:
    hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
    + Send
    + 'static
{
}

impl<B> RequestBody for B where
    B: hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static
{
}

pub const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Marks a response as the host's own error answer (not an adapter's), for the listener's
/// counters; extensions never reach the wire.
#[derive(Debug, Clone, Copy)]
pub struct HostError;

/// A device-facing error: status, a short stable code phrase, and a detail for humans.
#[derive(Debug)]
pub struct EdgeError {
    pub status: StatusCode,
    pub error: &'static str,
    pub detail: String,
    /// The versions a request could have asked for, when the error is about versions.
    pub loaded_versions: Option<Vec<String>>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    loaded_versions: Option<&'a [String]>,
}

impl EdgeError {
    pub fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            error,
            detail: detail.into(),
            loaded_versions: None,
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not found", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad request", detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error", detail)
    }

    pub fn into_response(self) -> Response<Body> {
        let mut response = json_response(
            self.status,
            &ErrorBody {
                error: self.error,
                detail: &self.detail,
                loaded_versions: self.loaded_versions.as_deref(),
            },
        );
        response.extensions_mut().insert(HostError);
        response
    }
}

/// A response with `value` as compact JSON.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    // Serializing the host's own plain structs cannot fail; fall back to an empty object.
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, JSON);
    response
}
