//! A backend's answer as the HTTP client read it, handed to adapters without copying: the
//! header map and the body buffer move behind one reference-counted handle, and an adapter
//! that reads a header reads it from hyper's map.

use abi_stable::std_types::{ROption, RSlice, RStr, Tuple2};
use bytes::Bytes;
use frontdoor_plugin_api::{BackendAnswer, BackendResponse};
use hyper::HeaderMap;

/// What [`super::send`] read: the headers and the whole body.
#[derive(Clone)]
pub struct ReadAnswer {
    headers: HeaderMap,
    body: Bytes,
}

impl ReadAnswer {
    pub fn response(status: u16, headers: HeaderMap, body: Bytes) -> BackendResponse {
        BackendResponse::from_answer(status, Self { headers, body })
    }
}

impl BackendAnswer for ReadAnswer {
    fn header(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        // `HeaderMap::get` lowercases a `&str` name for the lookup; a name that is not a
        // valid header name is simply absent.
        self.headers
            .get(name.as_str())
            .and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
            .map(RStr::from)
            .into()
    }

    fn header_count(&self) -> usize {
        self.headers.len()
    }

    fn header_at(&self, index: usize) -> ROption<Tuple2<RStr<'_>, RStr<'_>>> {
        self.headers
            .iter()
            .nth(index)
            .map(|(name, value)| {
                let value = std::str::from_utf8(value.as_bytes()).unwrap_or("");
                Tuple2(RStr::from(name.as_str()), RStr::from(value))
            })
            .into()
    }

    fn body(&self) -> RSlice<'_, u8> {
        RSlice::from(self.body.as_ref())
    }
}

#[cfg(test)]
mod tests;
