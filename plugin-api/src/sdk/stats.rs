//! This plugin copy's own health counters, read by the host through the root module: panics
//! caught inside shared-module calls (and, with the counting allocator, heap use).

use std::sync::atomic::{AtomicU64, Ordering};

/// Panics caught by the guard around a shared module's interface functions.
static MODULE_PANICS: AtomicU64 = AtomicU64::new(0);

/// Counts one panic caught at a shared module's boundary.
pub(crate) fn module_panicked() {
    MODULE_PANICS.fetch_add(1, Ordering::Relaxed);
}

/// Panics caught at this copy's shared-module boundary since it was loaded.
#[expect(
    dead_code,
    reason = "read by the stats entry point the host calls (next change)"
)]
pub(crate) fn module_panics() -> u64 {
    MODULE_PANICS.load(Ordering::Relaxed)
}
