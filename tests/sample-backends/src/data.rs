//! What the five services answer: pure functions from a [`Call`] to a [`Reply`], so they
//! are tested without sockets. Faults, stats, `/health` and `/ping` live in the server.

pub(crate) mod bookmarks;
pub(crate) mod catalog;
pub(crate) mod playback;
pub(crate) mod profiles;
pub(crate) mod recommendations;

use std::str::FromStr;

use crate::{
    http::{Call, Reply},
    service::Service,
};

/// What a service remembers between requests; only bookmarks remembers anything.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) bookmarks: bookmarks::Store,
}

/// Routes `call` to `service`'s answers. `now_ms` stamps writes (Unix time, milliseconds).
pub(crate) fn answer(service: Service, state: &State, call: &Call, now_ms: u64) -> Reply {
    match service {
        Service::Catalog => catalog::answer(call),
        Service::Profiles => profiles::answer(call),
        Service::Recommendations => recommendations::answer(call),
        Service::Bookmarks => bookmarks::answer(&state.bookmarks, call, now_ms),
        Service::Playback => playback::answer(call),
    }
}

/// Parses a decimal id: ASCII digits only (no sign, no spaces), or a 400 naming `what`.
pub(crate) fn parse_id<T: FromStr>(raw: &str, what: &str) -> Result<T, Reply> {
    let digits = !raw.is_empty() && raw.len() <= 20 && raw.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| raw.parse().ok())
        .flatten()
        .ok_or_else(|| Reply::bad_request(format!("bad {what} {raw:?}")))
}

/// A small deterministic hash (FNV-1a, 64 bits) for picking fake data and ids.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests;
