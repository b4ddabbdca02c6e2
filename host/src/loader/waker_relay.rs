//! Gives a host future a plugin awaits one waker for its whole life.
//!
//! A plugin polls a host future (a backend call) through async-ffi, which wraps the
//! plugin's waker in a new FFI waker on every poll. Everything inside the call that keeps a
//! waker (the request's table of identical GETs, hyper's response channel, tokio's timers)
//! asks `will_wake` first, which never holds for a fresh wrapper, so each poll of each
//! pending call cloned the waker through every layer of the ABI (two allocations per clone)
//! several times over: under callgrind, about 39 clones per backend call and a sixth of a
//! W3 device request's instructions. Behind the relay the call sees one waker of the host's
//! own, so only the relay itself keeps the plugin's current waker (one clone per poll).

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, Wake, Waker},
};

use futures_util::task::AtomicWaker;

pin_project_lite::pin_project! {
    /// `inner`, polled with the relay's waker; the relay wakes whoever polled last.
    pub struct Relayed<F> {
        relay: Arc<Relay>,
        waker: Waker,
        #[pin]
        inner: F,
    }
}

/// The waker the inner future keeps: it wakes the waker of the latest poll.
struct Relay(AtomicWaker);

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.0.wake();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.wake();
    }
}

impl<F> Relayed<F> {
    pub fn new(inner: F) -> Self {
        let relay = Arc::new(Relay(AtomicWaker::new()));
        Self {
            waker: Waker::from(relay.clone()),
            relay,
            inner,
        }
    }
}

impl<F: Future> Future for Relayed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // Registered before the inner poll: a wake-up it causes, on any thread, reaches this
        // poller (AtomicWaker hands a wake-up during registration to the new waker).
        this.relay.0.register(cx.waker());
        this.inner.poll(&mut Context::from_waker(this.waker))
    }
}

#[cfg(test)]
mod tests;
