//! A future adapter that turns a panic in a handler's (or a warm-up's) `poll` — or in its destructor — into
//! a [`HandlerError`] or a counted, logged event, never an unwind across the ABI.
//!
//! async-ffi drops the boxed future inside a "drop bomb" that aborts the process if the
//! destructor panics; the host drops a handler future whenever a device disconnects, a
//! handler times out or the host shuts down. So the inner future is dropped here, under
//! `catch_unwind`, before async-ffi's bomb is armed around an empty shell.

use std::{
    any::Any,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    task::{Context, Poll},
};

use abi_stable::std_types::{RResult, RString};

use crate::{HandlerError, HandlerErrorKind};

/// Polls the inner future inside `catch_unwind`; after a panic it reports the error once
/// and never polls the (possibly broken) inner future again. The inner future is stored
/// inline (pinned through `self`): the `FfiFuture` around it is the request's one box.
pub(crate) struct CatchPanic<F> {
    inner: Option<F>,
}

impl<F> CatchPanic<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self { inner: Some(inner) }
    }
}

// Generic over the success value: handlers (`Response`) and warm-ups (`()`) share it.
impl<F, T> Future for CatchPanic<F>
where
    F: Future<Output = RResult<T, HandlerError>>,
{
    type Output = RResult<T, HandlerError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of `inner`: it is never moved out while it may be
        // pinned. It is only polled through `Pin::new_unchecked` on its place inside `self`
        // (which is pinned), and only ever dropped in place by assigning `None`.
        let this = unsafe { self.get_unchecked_mut() };
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(RResult::RErr(HandlerError::failed(
                "polled after completion",
            )));
        };
        // SAFETY: `inner` lives inside the pinned `self` and is not moved (see above).
        let inner = unsafe { Pin::new_unchecked(inner) };
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                this.inner = None;
                Poll::Ready(output)
            }
            Err(payload) => {
                // Drop the inner future in place, guarded too: its destructor runs the same
                // author code that just panicked.
                drop_inner(&mut this.inner);
                Poll::Ready(RResult::RErr(panicked(payload)))
            }
        }
    }
}

impl<F> Drop for CatchPanic<F> {
    fn drop(&mut self) {
        // Dropping in place is what structural pinning allows: `inner` is not moved.
        drop_inner(&mut self.inner);
    }
}

/// Drops a future in place; a panic in its destructor is counted and swallowed (the panic
/// hook already logged it through the host).
fn drop_inner<F>(inner: &mut Option<F>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| *inner = None)) {
        super::stats::drop_panicked();
        drop_payload(payload);
    }
}

/// Drops a panic payload, whose own destructor is author code too: if that panics, the
/// second payload is leaked rather than risk a third.
pub(crate) fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(second);
    }
}

/// The error value for a caught panic, with the panic message when it is a string.
pub(crate) fn panicked(payload: Box<dyn Any + Send>) -> HandlerError {
    let message = if let Some(text) = payload.downcast_ref::<&str>() {
        RString::from(*text)
    } else if let Some(text) = payload.downcast_ref::<String>() {
        RString::from(text.as_str())
    } else {
        RString::from("non-string panic payload")
    };
    drop_payload(payload);
    HandlerError::new(HandlerErrorKind::Panicked, message)
}
