//! Which threads load as background work: the deployer's. Their probes run idle first
//! (`Probe::run`); a host starting up, or a recycle's successor, loads on other threads, at
//! its own priority, to be ready soon.

use std::cell::Cell;

thread_local! {
    static BACKGROUND: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as one whose loads are background work, for as long as it runs.
pub(crate) fn mark_current_thread() {
    BACKGROUND.with(|background| background.set(true));
}

/// Whether the calling thread was marked with [`mark_current_thread`].
pub(crate) fn on_background_thread() -> bool {
    BACKGROUND.with(Cell::get)
}
