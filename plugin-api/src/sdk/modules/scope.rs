//! The bindings of the module call in progress on this thread: set by the generated
//! wrapper for the duration of one synchronous call, read by `dependency`.
//!
//! Each plugin copy has its own SDK and so its own thread-local: a module's code sees the
//! bindings its caller passed to *it*, never another module's.

use std::{cell::Cell, ptr};

use crate::{BindingSet, ModuleScope};

thread_local! {
    /// Non-null only between [`enter`] and the drop of its guard.
    static CURRENT: Cell<*const BindingSet> = const { Cell::new(ptr::null()) };
}

/// Restores the previous bindings (null outside any call) when dropped.
pub(super) struct Entered {
    previous: *const BindingSet,
}

/// Makes `scope` current until the returned guard is dropped.
pub(super) fn enter(scope: ModuleScope<'_>) -> Entered {
    let bindings: *const BindingSet = scope.bindings();
    let previous = CURRENT
        .try_with(|current| current.replace(bindings))
        // The thread is tearing its locals down: there is nothing to restore, and reads
        // will find no bindings.
        .unwrap_or(ptr::null());
    Entered { previous }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|current| current.set(self.previous));
    }
}

/// Runs `read` with the current bindings, if a call is in progress on this thread.
pub(super) fn with_current<R>(read: impl FnOnce(Option<&BindingSet>) -> R) -> R {
    let current = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: `CURRENT` is non-null only while an `Entered` guard lives on this thread,
    // that is inside `serve`, whose `ModuleScope<'_>` argument borrows the `BindingSet` for
    // at least the whole call; `read` gets a reference that cannot outlive this function,
    // which returns before the call does.
    let bindings = unsafe { current.as_ref() };
    read(bindings)
}
