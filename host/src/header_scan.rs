//! Telling that a custom header is absent from a request's few fields without hashing its
//! name.
//!
//! `HeaderMap::get` hashes a custom name byte by byte before it probes: under callgrind a
//! lookup of `x-frontdoor-version` cost about 190 instructions, on every device request,
//! most of which do not carry it. A request head has a handful of distinct names, so
//! comparing them in order is cheaper: a standard name differs from a custom one by its tag
//! alone, and custom names first by their length. Only a name found that way is looked up
//! through the map. A head of more than [`SCAN_LIMIT`] names goes straight to the map, so a
//! client sending many fields costs no more than before.

use hyper::{
    HeaderMap,
    header::{GetAll, HeaderName, HeaderValue},
};

/// The most names compared one by one; past it the map's hashed lookup is cheaper.
const SCAN_LIMIT: usize = 16;

/// False when `headers` surely has no field `name`; true when it may.
fn may_contain(headers: &HeaderMap, name: &HeaderName) -> bool {
    headers.keys_len() > SCAN_LIMIT || headers.keys().any(|field| field == name)
}

/// The first value of `name` in `headers`: what `headers.get(name)` returns.
pub fn get<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
    if may_contain(headers, name) {
        headers.get(name)
    } else {
        None
    }
}

/// Every value of `name` in `headers`, in order: what `headers.get_all(name)` yields.
pub fn get_all<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<GetAll<'a, HeaderValue>> {
    may_contain(headers, name).then(|| headers.get_all(name))
}

#[cfg(test)]
mod tests;
