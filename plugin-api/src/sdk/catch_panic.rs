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
/// and never polls the (possibly broken) inner future again.
pub(crate) struct CatchPanic<F> {
    inner: Option<Pin<Box<F>>>,
}

impl<F> CatchPanic<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self {
            inner: Some(Box::pin(inner)),
        }
    }
}

impl<F> Future for CatchPanic<F>
where
    F: Future<Output = RResult<Response, HandlerError>>,
{
    type Output = RResult<Response, HandlerError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(RResult::RErr(HandlerError::failed(
                "polled after completion",
            )));
        };
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                self.inner = None;
                Poll::Ready(output)
            }
            Err(payload) => {
                // Drop the inner future inside catch_unwind too: its destructor runs the same
                // author code that just panicked.
                let inner = self.inner.take();
                let _ = catch_unwind(AssertUnwindSafe(move || drop(inner)));
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
