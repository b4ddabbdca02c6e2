//! A future that makes its request current on the thread while it is polled or dropped,
//! so plugin log lines that do not name their request are tagged with it
//! ([`super::current`]).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use super::{RequestId, current};

pub struct Tagged<F> {
    /// `None` only once dropped.
    inner: Option<F>,
    id: RequestId,
}

impl<F> Tagged<F> {
    pub fn new(inner: F, id: RequestId) -> Self {
        Self {
            inner: Some(inner),
            id,
        }
    }
}

impl<F: Future + Unpin> Future for Tagged<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `F: Unpin`, so `Tagged<F>` is too: its fields may be borrowed apart.
        let Self { inner, id } = self.get_mut();
        current::within(id, || match inner.as_mut() {
            Some(inner) => Pin::new(inner).poll(cx),
            None => Poll::Pending,
        })
    }
}

impl<F> Drop for Tagged<F> {
    fn drop(&mut self) {
        // A plugin future's destructors may log too.
        let Self { inner, id } = self;
        current::within(id, || *inner = None);
    }
}
