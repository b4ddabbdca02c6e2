//! Polls host futures a plugin awaits inside the host's runtime, entering it only when the
//! poll is not already on one of that runtime's threads.
//!
//! A plugin may poll a timer or a backend call from a thread of its own, where tokio finds
//! no runtime (timers and connections look it up when they are made). So every such poll
//! used to enter the runtime, about twenty times per W3 device request (1,200 of its
//! 291,000 instructions in the production build, callgrind), although nearly every poll
//! runs on a worker of that very runtime.
//! Now the threads of the serving runtime are marked when they start (`cli.rs`,
//! [`mark_runtime_thread`]); a thread's runtime never changes, so its id is read once, and
//! a poll on such a thread of the future's own runtime goes in directly. Any other thread
//! (a plugin's, the isolation runtime's, a test runtime's) still enters.

use std::{
    cell::Cell,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::runtime::{Handle, Id};

thread_local! {
    static THREAD_RUNTIME: Cell<ThreadRuntime> = const { Cell::new(ThreadRuntime::Unmarked) };
}

/// What this thread knows of the runtime it belongs to.
#[derive(Clone, Copy, PartialEq, Debug)]
enum ThreadRuntime {
    /// Not a thread of the serving runtime (or not known to be one): polls enter.
    Unmarked,
    /// Marked at start; its runtime's id is read on the first poll that asks.
    Marked,
    /// A thread of this runtime.
    Of(Id),
}

/// Marks the calling thread as one of the serving runtime's own (its `on_thread_start`).
pub fn mark_runtime_thread() {
    THREAD_RUNTIME.set(ThreadRuntime::Marked);
}

/// Whether this thread is one of the threads of the runtime `id`, whose context is current
/// on it whenever it runs a task.
fn on_thread_of(id: Id) -> bool {
    match THREAD_RUNTIME.get() {
        ThreadRuntime::Unmarked => false,
        ThreadRuntime::Of(runtime) => runtime == id,
        ThreadRuntime::Marked => match Handle::try_current() {
            Ok(current) => {
                let runtime = current.id();
                THREAD_RUNTIME.set(ThreadRuntime::Of(runtime));
                runtime == id
            }
            // Not inside its runtime yet: ask again on the next poll.
            Err(_) => false,
        },
    }
}

pin_project_lite::pin_project! {
    /// Polls a host future inside the host's runtime context, for plugins that poll it from
    /// a thread of their own (timers and the HTTP client look their runtime up).
    pub struct InRuntime<F> {
        runtime: Handle,
        id: Id,
        #[pin]
        inner: F,
    }
}

impl<F> InRuntime<F> {
    pub fn new(runtime: Handle, inner: F) -> Self {
        Self {
            id: runtime.id(),
            runtime,
            inner,
        }
    }
}

impl<F: Future> Future for InRuntime<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if on_thread_of(*this.id) {
            return this.inner.poll(cx);
        }
        let _entered = this.runtime.enter();
        this.inner.poll(cx)
    }
}

#[cfg(test)]
mod tests;
