//! The author's view of a device request: borrowed accessors over the host's request.

use std::borrow::Cow;

use abi_stable::std_types::RStr;
use serde::de::DeserializeOwned;

use crate::{HostRequestObj, Response};

/// A device request. Accessors borrow from the host's copy; nothing is copied until asked.
pub struct Request {
    host: HostRequestObj,
}

/// A request the handler cannot serve: turn it into a `400` with [`BadRequest::into_response`].
/// The field says what was wrong (`invalid JSON body: ...`), for the device's developers.
#[derive(Debug)]
pub struct BadRequest(pub String);

impl std::fmt::Display for BadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl BadRequest {
    /// `400` with `{"error": "bad request", "detail": "..."}`: the shape of the host's own
    /// errors, so a device parses every 4xx the same way.
    pub fn into_response(self) -> Response {
        Response::json_with_status(
            400,
            &serde_json::json!({ "error": "bad request", "detail": self.0 }),
        )
    }
}

impl Request {
    pub(crate) fn new(host: HostRequestObj) -> Self {
        Self { host }
    }

    /// `GET`, `POST`, ...
    pub fn method(&self) -> &str {
        self.host.method().into()
    }

    /// The path below the adapter's namespace (`/home` for `/tv/home`).
    pub fn path(&self) -> &str {
        self.host.path().into()
    }

    /// The raw query string, without `?`.
    pub fn query(&self) -> &str {
        self.host.query().into()
    }

    /// The value of the `{name}` path segment, percent-decoded.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.host
            .param(RStr::from(name))
            .into_option()
            .map(Into::into)
    }

    /// The first `name=` query parameter, percent-decoded (`+` is a space).
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.query().split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_query_component(key) == name).then(|| decode_query_component(value))
        })
    }

    /// The first value of a header, case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.host
            .header(RStr::from(name))
            .into_option()
            .map(Into::into)
    }

    /// Every header field in arrival order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        (0..self.host.header_count()).filter_map(move |index| {
            self.host
                .header_at(index)
                .into_option()
                .map(|pair| (pair.0.into(), pair.1.into()))
        })
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        self.host.body().into()
    }

    /// The body parsed as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, BadRequest> {
        serde_json::from_slice(self.body())
            .map_err(|error| BadRequest(format!("invalid JSON body: {error}")))
    }

    /// A number unique to this request in the host process; the id devices, backends and
    /// logs know it by is its `x-request-id` header.
    pub fn id(&self) -> u64 {
        self.host.request_id()
    }
}

/// Percent-decodes one query component; invalid escapes are kept as written.
fn decode_query_component(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['%', '+']) {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len()
                && hex_pair(bytes[index + 1], bytes[index + 2]).is_some() =>
            {
                out.extend(hex_pair(bytes[index + 1], bytes[index + 2]));
                index += 2;
            }
            other => out.push(other),
        }
        index += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex_pair(high: u8, low: u8) -> Option<u8> {
    let digit = |c: u8| (c as char).to_digit(16);
    Some((digit(high)? * 16 + digit(low)?) as u8)
}

#[cfg(test)]
mod tests;
