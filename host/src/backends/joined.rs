//! A GET under way that identical GETs of the same device request join, so it is made
//! once. Its call lives in an [`Answer`], kept in the request's table of GETs; whoever
//! holds a handle to it may drive it, so an identical GET awaited while the first is not
//! being polled (`let a = get(x); let b = get(x); b.await; a.await`) still gets its answer.
//!
//! Most GETs are never duplicated, so the first caller polls its call directly, with its
//! own waker, under one uncontended lock: no shared future whose every poll and wake-up
//! goes through a table of wakers (`futures::Shared` did that for every GET, about 5 % of
//! the host's instructions in a ten-call fan-out). Only when an identical GET joins does
//! the call become a `Shared` future, polled by every caller through its own handle; the
//! first caller is woken then, so that it polls through its handle too.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll, Waker},
};

use futures_util::{
    FutureExt as _,
    future::{BoxFuture, Shared},
};

use super::CallResult;

/// A call's work, as `Backends::start` boxes it.
pub type Call = BoxFuture<'static, CallResult>;

/// The call of the first of identical GETs, and its result once it ends.
pub struct Answer {
    slot: Mutex<Slot>,
}

enum Slot {
    /// Polled by the first caller alone so far; `waker` is the one it last polled with.
    Alone { call: Call, waker: Option<Waker> },
    /// Identical GETs joined: each caller polls a handle of its own.
    Shared(Shared<Call>),
    /// Ended while the first caller was alone.
    Done(CallResult),
}

impl Answer {
    /// The answer `call` will give, made by its first caller through [`Leading`].
    pub fn new(call: Call) -> Arc<Self> {
        Arc::new(Self {
            slot: Mutex::new(Slot::Alone { call, waker: None }),
        })
    }

    /// A handle for an identical GET. The first join turns the call into a shared future
    /// and wakes the first caller, whose waker the call may no longer hold once another
    /// caller polls it.
    pub fn join(&self) -> Joining {
        let mut slot = self.lock();
        let (call, waker) = match &mut *slot {
            Slot::Shared(shared) => return Joining::Waiting(shared.clone()),
            Slot::Done(result) => return Joining::Answered(Some(result.clone())),
            // A boxed `pending()` is zero-sized: taking the call out allocates nothing.
            Slot::Alone { call, waker } => (
                std::mem::replace(call, futures_util::future::pending().boxed()),
                waker.take(),
            ),
        };
        let shared = call.shared();
        *slot = Slot::Shared(shared.clone());
        drop(slot);
        if let Some(waker) = waker {
            waker.wake();
        }
        Joining::Waiting(shared)
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The first caller's handle: its call, polled directly until an identical GET joins.
pub struct Leading {
    answer: Arc<Answer>,
    /// Its own handle of the shared call, once there is one.
    shared: Option<Shared<Call>>,
}

impl Leading {
    pub fn new(answer: Arc<Answer>) -> Self {
        Self {
            answer,
            shared: None,
        }
    }
}

impl Future for Leading {
    type Output = CallResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CallResult> {
        if let Some(shared) = self.shared.as_mut() {
            return shared.poll_unpin(cx);
        }
        let mut slot = self.answer.lock();
        match &mut *slot {
            Slot::Alone { call, waker } => {
                if !waker
                    .as_ref()
                    .is_some_and(|known| known.will_wake(cx.waker()))
                {
                    *waker = Some(cx.waker().clone());
                }
                let result = std::task::ready!(call.as_mut().poll(cx));
                // Kept for an identical GET that comes later in the request.
                *slot = Slot::Done(result.clone());
                Poll::Ready(result)
            }
            Slot::Shared(shared) => {
                let mut own = shared.clone();
                drop(slot);
                let polled = own.poll_unpin(cx);
                self.shared = Some(own);
                polled
            }
            Slot::Done(result) => Poll::Ready(result.clone()),
        }
    }
}

/// An identical GET's handle: the shared call, or the answer it already gave.
pub enum Joining {
    Waiting(Shared<Call>),
    Answered(Option<CallResult>),
}

// Nothing in it is pinned structurally: the shared call is a handle, the answer is moved
// out whole. (The ABI types in an answer do not implement `Unpin` themselves.)
impl Unpin for Joining {}

impl Future for Joining {
    type Output = CallResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CallResult> {
        match &mut *self {
            Self::Waiting(shared) => shared.poll_unpin(cx),
            Self::Answered(answered) => match answered.take() {
                Some(result) => Poll::Ready(result),
                None => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests;
