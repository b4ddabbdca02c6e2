//! The request whose plugin code this thread is running now, for log lines that do not
//! name their request: a plugin's own `tracing` events reach the host through
//! `PluginHost::log`, which has no request, so the host notes the request around each poll
//! of a handler future (`containment::Watched`) and around the handler's synchronous start.
//!
//! Code a plugin runs on threads of its own is not tagged: the host never polls it.
//!
//! The thread notes where the id is, not a copy of it: an id is 129 bytes, and copying it in
//! and out around every poll and drop of every handler future was a measurable part of a
//! trivial request's cost.

use std::{cell::Cell, ptr::NonNull};

use super::RequestId;

thread_local! {
    /// Set only by [`within`], for exactly as long as it borrows the id pointed to.
    static CURRENT: Cell<Option<NonNull<RequestId>>> = const { Cell::new(None) };
}

/// The request being polled on this thread, if any.
pub fn current() -> Option<RequestId> {
    let pointer = CURRENT.try_with(Cell::get).ok().flatten()?;
    // SAFETY: only `within` stores a pointer in CURRENT, taken from the `&RequestId` it
    // borrows for its whole run, and its `Restore` (a local of `within`, so it cannot be
    // leaked) puts the previous value back before `within` returns or unwinds. So a pointer
    // read here points to an id that is borrowed, and alive, right now. The id is only read.
    Some(unsafe { *pointer.as_ptr() })
}

/// Runs `work` with `id` as the thread's current request; the previous one (a nested poll)
/// comes back after, also when `work` panics.
pub fn within<R>(id: &RequestId, work: impl FnOnce() -> R) -> R {
    let _restore = Restore(
        CURRENT
            .try_with(|current| current.replace(Some(NonNull::from(id))))
            .ok()
            .flatten(),
    );
    work()
}

/// Puts back the request that was current before [`within`].
struct Restore(Option<NonNull<RequestId>>);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|current| current.set(self.0));
    }
}

#[cfg(test)]
mod tests;
