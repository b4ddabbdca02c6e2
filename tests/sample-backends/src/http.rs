//! The HTTP edge every server shares: a request as a plain value, a JSON reply, and the
//! one place replies become hyper responses.

mod query;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::{
    Method, Request, Response, StatusCode,
    body::Incoming,
    header::{CONTENT_TYPE, HeaderValue},
};
use serde::Serialize;
use serde_json::json;

pub(crate) use query::param;

/// The body type of every response.
pub(crate) type Body = Full<Bytes>;

/// The largest request body read; the services only ever take small JSON documents.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request as the services see it: no sockets, the body already read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    /// The query string without `?`; empty when there is none.
    pub(crate) query: String,
    pub(crate) body: Bytes,
}

/// A JSON answer, serialized once (fields stay in declaration order).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

impl Call {
    /// A call without a body, for tests and for routes that take none.
    #[cfg(test)]
    pub(crate) fn get(path_and_query: &str) -> Call {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        Call {
            method: Method::GET,
            path: path.to_owned(),
            query: query.to_owned(),
            body: Bytes::new(),
        }
    }

    /// The path's segments after the leading `/`: `/titles/1` gives `["titles", "1"]`.
    pub(crate) fn segments(&self) -> Vec<&str> {
        self.path.trim_start_matches('/').split('/').collect()
    }
}

impl Reply {
    /// 200 with `body` as JSON.
    pub(crate) fn ok(body: impl Serialize) -> Reply {
        Reply::json(StatusCode::OK, body)
    }

    /// `status` with `body` as JSON; a body that does not serialize becomes a 500.
    pub(crate) fn json(status: StatusCode, body: impl Serialize) -> Reply {
        match serde_json::to_vec(&body) {
            Ok(body) => Reply {
                status,
                body: Bytes::from(body),
            },
            Err(error) => {
                tracing::error!(%error, "reply does not serialize");
                Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }

    /// `status` with `{"error": message}`.
    pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Reply {
        let body = serde_json::to_vec(&json!({ "error": message.into() }))
            // A map of one string always serializes; the fallback keeps this function total.
            .unwrap_or_else(|_| br#"{"error":"internal error"}"#.to_vec());
        Reply {
            status,
            body: Bytes::from(body),
        }
    }

    /// The body parsed back, for assertions.
    #[cfg(test)]
    pub(crate) fn value(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Reply {
        Reply::error(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Reply {
        Reply::error(StatusCode::NOT_FOUND, message)
    }

    /// The answer to a path no route knows.
    pub(crate) fn no_route() -> Reply {
        Reply::not_found("not found")
    }

    /// The answer to a known path asked with the wrong method.
    pub(crate) fn method_not_allowed() -> Reply {
        Reply::error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Full::new(self.body));
        *response.status_mut() = self.status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

/// Reads a whole request, body included, up to [`MAX_BODY_BYTES`].
///
/// `Err` is the reply to send instead: 413 for a body too large, 400 for one that breaks off.
pub(crate) async fn read_call(request: Request<Incoming>) -> Result<Call, Reply> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(Reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body larger than {MAX_BODY_BYTES} bytes"),
            ));
        }
        Err(error) => {
            tracing::debug!(%error, "cannot read request body");
            return Err(Reply::bad_request("cannot read request body"));
        }
    };
    Ok(Call {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        body,
    })
}

#[cfg(test)]
mod tests;
