//! The headers every answer of a version starts with, built once when the version loads:
//! the slot for the request's `x-request-id`, `x-frontdoor-adapter`, and `content-type`.
//!
//! Why a copy and not three inserts: an insert into http's map hashes the name (a custom
//! name byte by byte) and probes the table, about 250 instructions each, and every answer
//! took three (about 6 % of a trivial request's instructions). Cloning a built map copies
//! its table and its few entries instead, with the same two allocations a first insert
//! makes.
//!
//! The request id differs per request, so the template holds an empty value in its first
//! entry, which [`set_request_id`] overwrites in place. `Dispatcher::conclude` sets it on
//! every answer it sends; a plugin cannot set `x-request-id` itself (one of the
//! `HOST_OWNED_HEADERS` of `plugin-api/src/response.rs`, which `dispatch.rs` drops), so the
//! slot is the only value of that name.

use hyper::{
    HeaderMap,
    header::{CONTENT_TYPE, HeaderValue},
};

use crate::{dispatch::ADAPTER_HEADER, error_response::JSON, requests};

/// A version's answer headers, ready to be copied into each of its responses.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// `x-request-id` (empty), `x-frontdoor-adapter`, `content-type: application/json`, in
    /// this order: [`set_request_id`] and [`ResponseHead::with_content_type`] find their
    /// entries by position.
    json: HeaderMap,
}

/// The position of `content-type` in [`ResponseHead::json`].
const CONTENT_TYPE_SLOT: usize = 2;

impl ResponseHead {
    /// The head for answers of the version whose `x-frontdoor-adapter` value is `adapter`.
    pub fn new(adapter: HeaderValue) -> Self {
        // The smallest table that holds these three: each copy gets one as large.
        let mut json = HeaderMap::new();
        json.insert(requests::HEADER, HeaderValue::from_static(""));
        json.insert(ADAPTER_HEADER, adapter);
        json.insert(CONTENT_TYPE, JSON);
        Self { json }
    }

    /// The headers of a JSON answer.
    pub fn json(&self) -> HeaderMap {
        self.json.clone()
    }

    /// The headers of an answer whose content type is `content_type`, or that has none.
    pub fn with_content_type(&self, content_type: Option<HeaderValue>) -> HeaderMap {
        let mut headers = self.json.clone();
        match content_type {
            Some(value) => match headers.iter_mut().nth(CONTENT_TYPE_SLOT) {
                Some((name, slot)) if *name == CONTENT_TYPE => *slot = value,
                // Not where the template put it (the template changed): by name instead.
                _ => {
                    headers.insert(CONTENT_TYPE, value);
                }
            },
            None => {
                headers.remove(CONTENT_TYPE);
            }
        }
        headers
    }
}

/// Sets the answer's `x-request-id` to `value`: in the slot a [`ResponseHead`] left first,
/// without hashing, or else by an insert (an answer the host made itself, such as an error),
/// which replaces whatever values it had.
pub fn set_request_id(headers: &mut HeaderMap, value: HeaderValue) {
    let mut entries = headers.iter_mut();
    if let Some((name, slot)) = entries.next()
        && *name == requests::HEADER
        // The map yields a name's further values right after its first: a second one
        // here means more than the slot, and an insert replaces them all.
        && entries.next().is_none_or(|(next, _)| *next != requests::HEADER)
    {
        *slot = value;
        return;
    }
    headers.insert(requests::HEADER, value);
}

#[cfg(test)]
mod tests;
