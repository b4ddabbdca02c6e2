//! What a handler may return: a [`Response`], [`Json`], or a `Result` of either.

use abi_stable::std_types::RResult;
use serde::Serialize;

use crate::{HandlerError, Response};

/// Conversion of a handler's return value into what crosses the ABI.
pub trait IntoResponse {
    fn into_response(self) -> RResult<Response, HandlerError>;
}

impl IntoResponse for Response {
    fn into_response(self) -> RResult<Response, HandlerError> {
        RResult::ROk(self)
    }
}

/// A `200` JSON response: `Json(value)` serializes `value` compactly.
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> RResult<Response, HandlerError> {
        match serde_json::to_vec(&self.0) {
            Ok(body) => RResult::ROk(Response::json_bytes(200, body)),
            Err(error) => RResult::RErr(HandlerError::failed(format!(
                "response not serializable: {error}"
            ))),
        }
    }
}

/// `Err(e)` becomes a `500` for the device; `e` is logged by the host, never sent.
impl<R, E> IntoResponse for Result<R, E>
where
    R: IntoResponse,
    E: std::fmt::Display,
{
    fn into_response(self) -> RResult<Response, HandlerError> {
        match self {
            Ok(response) => response.into_response(),
            Err(error) => RResult::RErr(HandlerError::failed(error.to_string())),
        }
    }
}
