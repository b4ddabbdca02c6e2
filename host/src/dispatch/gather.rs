//! Polls a handler again only after the tasks that were runnable before it, while several
//! of its backend calls are unfinished: answers that arrive together are then taken in one
//! poll, not one poll each.
//!
//! Why: each backend answer is read by its connection's task, which wakes the device
//! request's task; tokio runs a task woken that way next (its LIFO slot), before the other
//! connections' tasks whose answers came in the same turn of the I/O driver. A fan-out of
//! ten calls answering together was polled eleven times, and each poll of an adapter goes
//! down the connection, the dispatcher, the containment wrappers, across the ABI into the
//! adapter's `join_all` and back. Here, when a woken handler still has two or more
//! unfinished calls, its poll wakes its own task and returns: tokio puts a task that woke
//! itself at the back of the worker's queue, behind the connection tasks already there, so
//! the next poll finds their answers too. Under callgrind, with eight W3 device requests
//! in flight, an adapter's handler was polled 3.0 times per request instead of 11.0, and
//! the request took 4.6 % fewer instructions (2 % with one request in flight). The CPU time
//! it saves was inside the benchmark machine's noise (`docs/benchmarks.md`).
//!
//! With one unfinished call (or none) nothing is deferred: no other answer can come with
//! it. The price, when answers come one at a time, is one extra poll of the device
//! request's task per answer while two or more calls are unfinished; the handler itself is
//! not polled more.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

pin_project_lite::pin_project! {
    /// A handler's future, whose polls after the first wait a turn of the worker's queue
    /// while `unfinished()` counts two or more of its backend calls.
    pub struct GatherAnswers<F, U> {
        #[pin]
        handler: F,
        unfinished: U,
        started: bool,
        deferred: bool,
    }
}

impl<F, U> GatherAnswers<F, U>
where
    F: Future,
    U: Fn() -> usize,
{
    pub fn new(handler: F, unfinished: U) -> Self {
        Self {
            handler,
            unfinished,
            started: false,
            deferred: false,
        }
    }
}

impl<F, U> Future for GatherAnswers<F, U>
where
    F: Future,
    U: Fn() -> usize,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // The first poll starts the calls; a poll right after a deferral takes what came.
        if *this.started && !*this.deferred && (this.unfinished)() >= 2 {
            *this.deferred = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        *this.started = true;
        *this.deferred = false;
        this.handler.poll(cx)
    }
}

#[cfg(test)]
mod tests;
