//! Gives a host future a plugin awaits one waker for its whole life, and polls it only
//! when it woke.
//!
//! A plugin polls a host future (a backend call) through async-ffi, which wraps the
//! plugin's waker in a new FFI waker on every poll. Everything inside the call that keeps a
//! waker (the request's table of identical GETs, hyper's response channel, tokio's timers)
//! asks `will_wake` first, which never holds for a fresh wrapper, so each poll of each
//! pending call cloned the waker through every layer of the ABI (two allocations per clone)
//! several times over: under callgrind, about 39 clones per backend call and a sixth of a
//! W3 device request's instructions. Behind the relay the call sees one waker of the host's
//! own ([`WakeGate`]'s), so only the gate keeps the plugin's current waker (one clone per
//! poll); and a call that did not wake is not polled at all (`join_all` polls every
//! pending call each time one answers).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use crate::wake_gate::WakeGate;

pin_project_lite::pin_project! {
    /// `inner`, polled with the gate's waker and only once it woke; the gate wakes
    /// whoever polled last.
    pub struct Relayed<F> {
        gate: WakeGate,
        #[pin]
        inner: F,
    }
}

impl<F> Relayed<F> {
    pub fn new(inner: F) -> Self {
        Self {
            gate: WakeGate::default(),
            inner,
        }
    }
}

impl<F: Future> Future for Relayed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let inner = this.inner;
        this.gate.poll(cx, |cx| inner.poll(cx))
    }
}

#[cfg(test)]
mod tests;
