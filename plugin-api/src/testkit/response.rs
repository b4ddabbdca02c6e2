//! What a device would get back, and what happened on the way (the handler's own error,
//! its backend calls, its log lines, the virtual time it took).

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::{BackendCall, LogLine};
use crate::{HandlerError, Response, response::HOST_OWNED_HEADERS};

/// The answer to a [`super::TestRequest`].
#[derive(Debug, Clone)]
pub struct TestResponse {
    status: u16,
    /// Names lower case.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    error: Option<HandlerError>,
    pub(crate) elapsed: Duration,
    pub(crate) calls: Vec<BackendCall>,
    pub(crate) logs: Vec<LogLine>,
}

impl TestResponse {
    /// The status the device gets.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of header `name` (case-insensitive), `content-type`,
    /// `x-request-id` and `x-frontdoor-adapter` included.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every header, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON into `T`; panics, showing the body, when it is not.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "testkit: the {} answer is not the expected JSON ({error}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// The body as a JSON value (see [`TestResponse::json`]).
    pub fn json_value(&self) -> serde_json::Value {
        self.json()
    }

    /// Why the handler failed, for a 500 the host would log and never send: its error
    /// (`Failed`, with the message of the `Err` it returned) or its panic (`Panicked`).
    pub fn handler_error(&self) -> Option<&HandlerError> {
        self.error.as_ref()
    }

    /// The request's `x-request-id`.
    pub fn request_id(&self) -> &str {
        self.header("x-request-id").unwrap_or_default()
    }

    /// Virtual time from the request's start to its answer.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The backend calls the handler made, in the order it made them.
    pub fn calls(&self) -> &[BackendCall] {
        &self.calls
    }

    /// The calls to backend `name`.
    pub fn calls_to(&self, name: &str) -> Vec<&BackendCall> {
        self.calls
            .iter()
            .filter(|call| call.backend == name)
            .collect()
    }

    /// The one call to backend `name`; panics, listing the calls made, unless there was
    /// exactly one.
    pub fn call_to(&self, name: &str) -> &BackendCall {
        match self.calls_to(name).as_slice() {
            [call] => call,
            calls => panic!(
                "testkit: {} calls to {name}, expected one; calls made: {:?}",
                calls.len(),
                self.calls
                    .iter()
                    .map(BackendCall::summary)
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// The log lines the handler wrote with `ctx.log`.
    pub fn logs(&self) -> &[LogLine] {
        &self.logs
    }

    /// The host's own answer: a JSON error body, as the host writes it.
    pub(crate) fn edge(
        status: u16,
        error: &str,
        detail: &str,
        label: &str,
        request_id: &str,
    ) -> Self {
        let body = serde_json::json!({ "error": error, "detail": detail });
        Self {
            status,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-frontdoor-adapter".into(), label.to_owned()),
                ("x-request-id".into(), request_id.to_owned()),
            ],
            body: body.to_string().into_bytes(),
            error: None,
            elapsed: Duration::ZERO,
            calls: Vec::new(),
            logs: Vec::new(),
        }
    }

    pub(crate) fn with_error(mut self, error: HandlerError) -> Self {
        self.error = Some(error);
        self
    }

    /// The handler's response as the host converts it: a status outside 200..=599, or a
    /// header name or value HTTP cannot carry, is the host's 500.
    pub(crate) fn from_handler(response: Response, label: &str, request_id: &str) -> Self {
        match convert(&response) {
            Ok(mut headers) => {
                headers.push(("x-frontdoor-adapter".into(), label.to_owned()));
                headers.push(("x-request-id".into(), request_id.to_owned()));
                Self {
                    status: response.status,
                    headers,
                    body: response.body().to_vec(),
                    error: None,
                    elapsed: Duration::ZERO,
                    calls: Vec::new(),
                    logs: Vec::new(),
                }
            }
            Err(reason) => {
                let detail =
                    format!("the adapter returned an invalid response (request {request_id})");
                Self::edge(500, "internal error", &detail, label, request_id)
                    .with_error(HandlerError::failed(reason))
            }
        }
    }
}

fn convert(response: &Response) -> Result<Vec<(String, String)>, String> {
    if !(200..=599).contains(&response.status) {
        return Err(format!(
            "status {} is not a final HTTP status",
            response.status
        ));
    }
    let mut headers = Vec::new();
    if !response.content_type.is_empty() {
        check_value("content-type", &response.content_type)?;
        headers.push(("content-type".into(), response.content_type.to_string()));
    }
    for header in response.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        if !super::backends::is_token(&name) {
            return Err(format!("header name {:?} is invalid", header.name.as_str()));
        }
        if HOST_OWNED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        check_value(&name, &header.value)?;
        headers.push((name, header.value.to_string()));
    }
    Ok(headers)
}

/// A header value HTTP can carry: visible ASCII, spaces and tabs (as `HeaderValue::from_str`).
fn check_value(name: &str, value: &str) -> Result<(), String> {
    if value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        Ok(())
    } else {
        Err(format!("header {name} has an invalid value"))
    }
}
