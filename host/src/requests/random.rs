//! Cheap random identifiers for request ids, trace ids and span ids.
//!
//! Each thread keeps a wyrand state seeded once from std's `RandomState` (keyed from the
//! OS's randomness when a thread first asks), so an id costs a few multiplications and no
//! system call. The ids are unique and hard to guess across restarts; they are labels for
//! correlation, never secrets or capabilities.

use std::{
    cell::Cell,
    hash::{BuildHasher as _, Hasher as _},
};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    // The thread's identity separates two threads that happen to get the same keys.
    std::hash::Hash::hash(&std::thread::current().id(), &mut hasher);
    hasher.finish()
}

/// 64 random bits from this thread's generator.
pub fn next_u64() -> u64 {
    STATE.with(|state| {
        // wyrand: a Weyl sequence mixed by one 128-bit multiplication.
        let s = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(s);
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        (t as u64) ^ ((t >> 64) as u64)
    })
}

/// 64 random bits that are never all zero (W3C trace and span ids may not be zero).
pub fn nonzero_u64() -> u64 {
    loop {
        let value = next_u64();
        if value != 0 {
            return value;
        }
    }
}
