//! The router's own limit on request heads: a head over `max_header_bytes` that still fit
//! hyper's buffer is answered `431` with a JSON body, before any adapter sees it.

use hyper::{Request, StatusCode};

use crate::error_response::{Body, EdgeError};

/// The size of the request's head as HTTP/1.1 bytes: request line, header fields with
/// their `": "` and line ends, and the blank line. For HTTP/2 the same formula is applied to
/// the decoded head, so one limit means the same on both.
pub fn head_bytes<B>(request: &Request<B>) -> usize {
    let uri = request.uri();
    let target = uri.scheme_str().map_or(0, |scheme| scheme.len() + 3)
        + uri
            .authority()
            .map_or(0, |authority| authority.as_str().len())
        + uri.path_and_query().map_or(1, |path| path.as_str().len());
    // METHOD SP target SP HTTP/1.1 CRLF
    let request_line = request.method().as_str().len() + 1 + target + 1 + 8 + 2;
    let fields: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    request_line + fields + 2
}

/// The answer to a head over the limit.
pub fn too_large(bytes: usize, limit: usize) -> hyper::Response<Body> {
    EdgeError::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "request header fields too large",
        format!("the request head is {bytes} bytes; the limit is {limit}"),
    )
    .into_response()
}

#[cfg(test)]
mod tests;
