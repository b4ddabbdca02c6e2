//! Polls futures only after they asked to be polled, with one waker for their life; used
//! on both sides of the ABI (the host's connections and backend calls, the SDK's handlers
//! and backend calls).
//!
//! A task polls everything it holds on every wake-up, and some of what it holds is rarely
//! ready or costly to poll:
//! - a connection's watchdog timer and its shutdown signal, beside hyper's connection
//!   future in the connection's task: polling them each time a request woke the task cost
//!   several hundred instructions per request (measured under callgrind);
//! - a backend call: an adapter's `join_all` polls every pending call whenever one
//!   answers, and each poll went down the call's whole stack of futures to learn it was
//!   still pending. The host gates every call `Backends::call` makes; the SDK gates each
//!   call on the plugin's side too, so a pending call that did not wake is not polled
//!   across the ABI at all.
//!
//! A gated future also keeps one waker, the gate's, for its whole life. That matters across
//! the ABI: async-ffi wraps the poller's waker in a new FFI waker on every poll, and
//! everything that keeps a waker (the request's table of identical GETs, hyper's response
//! channel, tokio's timers, an adapter's `join_all`) asks `will_wake` first, which never
//! holds for a fresh wrapper. Each poll of each pending call cloned the waker through every
//! layer of the ABI (two allocations per clone), about 39 clones per backend call under
//! callgrind, a sixth of a W3 device request's instructions. Behind a gate only the gate
//! keeps the poller's current waker: one clone per poll that crosses. The SDK gates an
//! adapter's whole handler too, so everything inside it sees the gate's stable waker, and
//! only the gate clones the host's wrapper, once per poll of the handler.
//!
//! The check here costs one atomic swap. It relies on what every executor relies on: a
//! future that returned `Pending` has nothing new to say until it wakes its waker.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures_util::task::AtomicWaker;

/// Gives the futures polled through it a waker of their own, and polls them again only
/// once that waker was used (or they completed, so the next one must be polled to arm).
pub struct WakeGate {
    signal: Arc<Signal>,
    waker: Waker,
}

struct Signal {
    /// Set by the gated futures' waker; true at first so the first poll arms them.
    woken: AtomicBool,
    /// The task polling through the gate, woken in turn.
    task: AtomicWaker,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl Default for WakeGate {
    #[inline]
    fn default() -> Self {
        let signal = Arc::new(Signal {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Self {
            waker: Waker::from(signal.clone()),
            signal,
        }
    }
}

impl WakeGate {
    /// Runs `poll` (with the gate's waker) if what it polls woke since it last returned
    /// `Pending`, else returns `Pending` at once; either way, while it is pending, the task
    /// of `cx` is woken when it wakes.
    #[inline]
    pub fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        if !self.signal.woken.swap(false, Ordering::AcqRel) {
            // Not woken. This poller is the one to wake from now on; the flag is read again
            // after registering it, so a wake-up that came in between (and went to the
            // previous poller, or to none) is not lost.
            self.signal.task.register(cx.waker());
            if !self.signal.woken.swap(false, Ordering::AcqRel) {
                return Poll::Pending;
            }
        }
        let polled = poll(&mut Context::from_waker(&self.waker));
        if polled.is_ready() {
            // What the caller polls next (the next tick, a new timer) has no waker yet. Its
            // poller was not registered: nothing is left to wake it for, and registering
            // clones its waker (through the ABI, an allocation), which a handler that answers
            // in its first poll would pay on every request.
            self.rearm();
            return polled;
        }
        // Pending: this poller is the one to wake. A wake-up during the poll set the flag
        // (and woke the previous poller, or none): then this one is woken at once too.
        self.signal.task.register(cx.waker());
        if self.signal.woken.load(Ordering::Acquire) {
            cx.waker().wake_by_ref();
        }
        polled
    }

    /// Polls on the next call whether woken or not: for a future that replaced one polled
    /// through the gate.
    #[inline]
    pub fn rearm(&self) {
        self.signal.woken.store(true, Ordering::Release);
    }
}

pin_project_lite::pin_project! {
    /// `inner`, polled through a [`WakeGate`]: with the gate's waker, and only once it woke.
    /// The gate wakes whoever polled last.
    pub struct Gated<F> {
        gate: WakeGate,
        #[pin]
        inner: F,
    }
}

impl<F> Gated<F> {
    /// `inner`, to be polled through a gate of its own.
    #[inline]
    pub fn new(inner: F) -> Self {
        Self {
            gate: WakeGate::default(),
            inner,
        }
    }
}

impl<F: Future> Future for Gated<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let inner = this.inner;
        this.gate.poll(cx, |cx| inner.poll(cx))
    }
}

#[cfg(test)]
mod tests;
