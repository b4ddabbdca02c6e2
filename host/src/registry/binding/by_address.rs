//! Maps keyed by a version's address, as resolutions keep their outcomes. A publication
//! looks every version up several times, so the hash is one multiplication rather than
//! SipHash: addresses are the host's own, never chosen by a device or a plugin, so a
//! hash that resists crafted keys buys nothing here.

use std::{
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
};

/// A map from a version's address (`binding::key`) to `V`.
pub type ByAddress<V> = HashMap<usize, V, BuildHasherDefault<AddressHasher>>;

/// Hashes one address: a multiplication spreads it, and folding the high half into the low
/// one makes the low bits (the bucket) vary although addresses are aligned.
#[derive(Debug, Default, Clone, Copy)]
pub struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only addresses are hashed here; any other key still hashes correctly (FNV-1a).
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_usize(&mut self, address: usize) {
        let spread = (self.0 ^ address as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = spread ^ (spread >> 32);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
