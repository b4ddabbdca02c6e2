//! Which side of a split a request falls on: a stable hash of the device's sticky key (a
//! header or a cookie), or a per-request random draw when it has neither.
//!
//! A request goes to the canary when its bucket is below the canary's weight. The bucket of
//! a key never changes, so a device keeps its version while the weight holds, and a rising
//! weight only moves devices towards the canary (the set below a threshold grows).

use std::cell::Cell;

use hyper::{
    HeaderMap,
    header::{COOKIE, HeaderName},
};

/// Weights and buckets are counted in basis points: 10 000 is every request.
pub const SCALE: u32 = 10_000;

/// Where a device's identity is read from, as `[traffic]` configures it.
#[derive(Debug, Clone)]
pub struct StickyKey {
    pub header: Option<HeaderName>,
    pub cookie: Option<Box<str>>,
}

impl StickyKey {
    /// The device's key: the header's value, else the cookie's; `None` when it has neither.
    /// Borrows from `headers`: nothing is allocated on the request path.
    pub fn find<'a>(&self, headers: &'a HeaderMap) -> Option<&'a [u8]> {
        if let Some(name) = &self.header
            && let Some(value) = headers.get(name)
            && !value.is_empty()
        {
            return Some(value.as_bytes());
        }
        let wanted = self.cookie.as_deref()?;
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|cookies| cookies.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, value)| *name == wanted && !value.is_empty())
            .map(|(_, value)| value.as_bytes())
    }
}

/// The bucket, in `0..SCALE`, of `key` under `seed` (each plan has its own seed, so two
/// canaries do not put the very same devices first).
pub fn bucket_of(seed: u64, key: &[u8]) -> u32 {
    to_bucket(hash(seed, key))
}

/// A bucket drawn at random, for a request with no sticky key.
pub fn random_bucket() -> u32 {
    to_bucket(next_random())
}

/// FNV-1a over the key, finished with SplitMix64's mixer: FNV alone leaves keys that differ
/// only in their last bytes (`device-1`, `device-2`) close together in the high bits.
pub fn hash(seed: u64, key: &[u8]) -> u64 {
    let mut state = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for &byte in key {
        state ^= u64::from(byte);
        state = state.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(state)
}

/// SplitMix64's finaliser: every input bit moves about half of the output bits.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Maps a hash onto `0..SCALE` by multiply-and-shift (no modulo bias worth the name).
fn to_bucket(hash: u64) -> u32 {
    ((u128::from(hash) * u128::from(SCALE)) >> 64) as u32
}

thread_local! {
    /// A SplitMix64 sequence per thread: no shared state, no lock, seeded from std's random
    /// hasher keys so two threads (or two hosts) do not draw the same sequence.
    static RANDOM: Cell<u64> = Cell::new({
        use std::hash::{BuildHasher as _, Hasher as _};
        std::collections::hash_map::RandomState::new().build_hasher().finish()
    });
}

/// The next draw of this thread's sequence.
pub fn next_random() -> u64 {
    RANDOM.with(|state| {
        let next = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        state.set(next);
        mix(next)
    })
}

#[cfg(test)]
mod tests;
