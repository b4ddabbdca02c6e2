//! Future wrappers the host puts around every plugin handler future.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{task::JoinHandle, time::Sleep};

use super::{VersionHealth, watchdog};

/// Marks every poll (and the drop) of the inner future in the watchdog's table, so a poll
/// that blocks its thread is seen from outside.
pub struct Watched<F> {
    /// `None` only once dropped.
    inner: Option<F>,
    health: &'static VersionHealth,
    route: u32,
}

impl<F> Watched<F> {
    pub fn new(inner: F, health: &'static VersionHealth, route: u32) -> Self {
        Self {
            inner: Some(inner),
            health,
            route,
        }
    }
}

impl<F: Future + Unpin> Future for Watched<F> {
    type Output = F::Output;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let _mark = watchdog::enter(self.health, self.route);
        match self.inner.as_mut() {
            Some(inner) => Pin::new(inner).poll(cx),
            None => Poll::Pending,
        }
    }
}

impl<F> Drop for Watched<F> {
    fn drop(&mut self) {
        // Dropping a plugin future runs plugin code (its destructors) too.
        let _mark = watchdog::enter(self.health, self.route);
        self.inner = None;
    }
}

/// A handler future with a time budget, counted from its first poll. The timer is only
/// armed if the handler does not finish on that poll, so a synchronous handler pays
/// nothing for it (and the first poll is bounded by the watchdog instead).
pub struct HandlerBudget<F> {
    inner: F,
    budget: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

/// The handler outlived its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl<F> HandlerBudget<F> {
    /// `inner` may run for `budget`.
    pub fn new(inner: F, budget: Duration) -> Self {
        Self {
            inner,
            budget,
            timer: None,
        }
    }
}

impl<F: Future + Unpin> Future for HandlerBudget<F> {
    /// `Err` when the budget ran out first.
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(output) = Pin::new(&mut self.inner).poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let budget = self.budget;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(budget)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A future running on another runtime, awaited from this one; dropping it (the device went
/// away) aborts the task instead of letting it run on unobserved.
pub struct Offloaded<T>(JoinHandle<T>);

impl<T: Send + 'static> Offloaded<T> {
    /// Spawns `future` on `runtime`.
    pub fn spawn(
        runtime: &tokio::runtime::Handle,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Self {
        Self(runtime.spawn(future))
    }
}

impl<T> Future for Offloaded<T> {
    /// `Err` when the task did not complete (the runtime shut down, or it panicked).
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for Offloaded<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
