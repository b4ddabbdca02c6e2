//! A future adapter that turns a panic in a handler's `poll` into a [`HandlerError`].

use std::{
    any::Any,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    task::{Context, Poll},
};

use abi_stable::std_types::{RResult, RString};

use crate::{HandlerError, HandlerErrorKind, Response};

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

impl<F> Future for CatchPanic<F>
where
    F: Future<Output = RResult<Response, HandlerError>>,
{
    type Output = RResult<Response, HandlerError>;

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
                // Drop the inner future in place, inside catch_unwind too: its destructor
                // runs the same author code that just panicked.
                let _ = catch_unwind(AssertUnwindSafe(|| this.inner = None));
                Poll::Ready(RResult::RErr(panicked(payload)))
            }
        }
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
    // The payload's own destructor is author code too.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    HandlerError::new(HandlerErrorKind::Panicked, message)
}
