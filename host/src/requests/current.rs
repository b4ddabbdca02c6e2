//! The request whose plugin code this thread is running now, for log lines that do not
//! name their request: a plugin's own `tracing` events reach the host through
//! `PluginHost::log`, which has no request, so the host notes the request around each poll
//! of a handler future (`containment::Watched`) and around the handler's synchronous start.
//!
//! Code a plugin runs on threads of its own is not tagged: the host never polls it.

use std::cell::Cell;

use super::RequestId;

thread_local! {
    static CURRENT: Cell<Option<RequestId>> = const { Cell::new(None) };
}

/// The request being polled on this thread, if any.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(Cell::get).ok().flatten()
}

/// Makes `id` current until the guard drops; the previous one (a nested poll) comes back.
pub fn enter(id: RequestId) -> Entered {
    Entered(
        CURRENT
            .try_with(|current| current.replace(Some(id)))
            .ok()
            .flatten(),
    )
}

/// Restores the request that was current before [`enter`].
pub struct Entered(Option<RequestId>);

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|current| current.set(self.0));
    }
}
