//! This plugin copy's own health counters, read by the host through the root module's
//! `stats` entry: heap use (from the counting allocator) and the panics the SDK contained
//! where the host cannot see them (inside shared-module calls and destructors).

use std::sync::atomic::{AtomicU64, Ordering};

use super::counting_alloc;
use crate::PluginStats;

/// Panics caught by the guard around a shared module's interface functions.
static MODULE_PANICS: AtomicU64 = AtomicU64::new(0);
/// Panics caught while dropping a value the host let go of (a handler future).
static DROP_PANICS: AtomicU64 = AtomicU64::new(0);
/// The highest live heap seen by [`snapshot`].
static PEAK_BYTES: AtomicU64 = AtomicU64::new(0);

/// Counts one panic caught at a shared module's boundary.
pub(crate) fn module_panicked() {
    MODULE_PANICS.fetch_add(1, Ordering::Relaxed);
}

/// Counts one panic caught in a destructor.
pub(crate) fn drop_panicked() {
    DROP_PANICS.fetch_add(1, Ordering::Relaxed);
}

/// The counters now. The peak is the highest live figure any call has seen: the allocator
/// does not track a running maximum, which would need one shared counter (contended on
/// every allocation) instead of per-thread shards.
pub(crate) fn snapshot() -> PluginStats {
    let heap = counting_alloc::totals();
    let peak = PEAK_BYTES
        .fetch_max(heap.live_bytes, Ordering::Relaxed)
        .max(heap.live_bytes);
    PluginStats {
        live_bytes: heap.live_bytes,
        peak_bytes: peak,
        allocations: heap.allocations,
        allocated_bytes: heap.allocated_bytes,
        module_panics: MODULE_PANICS.load(Ordering::Relaxed),
        drop_panics: DROP_PANICS.load(Ordering::Relaxed),
    }
}
