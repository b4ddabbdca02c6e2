//! A GET under way that identical GETs of the same device request join, so it is made
//! once. The first caller makes the call in its own future and leaves the result in an
//! [`Answer`]; identical callers wait on the answer instead of calling.
//!
//! Most GETs are never duplicated, so the first caller pays only for the answer it leaves
//! (one allocation, two uncontended locks, a clone of the result): its future is polled
//! directly, not through a shared future whose every poll and wake-up takes a lock and
//! goes through a table of wakers (`futures::Shared` did that for every GET, about 6 % of
//! the host's instructions in a ten-call fan-out).
//!
//! A first caller dropped before its call ended (the adapter stopped waiting for it)
//! abandons the answer: whoever waits on it then makes the call itself, and the next
//! identical GET of the request makes a new one.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll, Waker},
};

use futures_util::future::BoxFuture;

use super::CallResult;

/// Where the first of identical GETs leaves its result.
#[derive(Default)]
pub struct Answer {
    state: Mutex<State>,
}

enum State {
    Pending { waiters: Vec<Waker> },
    Ready(CallResult),
    Abandoned,
}

impl Default for State {
    fn default() -> Self {
        Self::Pending {
            waiters: Vec::new(),
        }
    }
}

impl Answer {
    /// Whether the call this answer waits for was dropped before it ended.
    pub fn abandoned(&self) -> bool {
        matches!(*self.lock(), State::Abandoned)
    }

    fn settle(&self, settled: State) {
        let waiters = {
            let mut state = self.lock();
            match &mut *state {
                State::Pending { waiters } => {
                    let waiters = std::mem::take(waiters);
                    *state = settled;
                    waiters
                }
                // Settled once: a result is never replaced, nor abandoned after it came.
                State::Ready(_) | State::Abandoned => return,
            }
        };
        for waiter in waiters {
            waiter.wake();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A call made by its own caller; when `answer` is set, identical GETs wait for its result
/// there.
pub struct Leading {
    call: BoxFuture<'static, CallResult>,
    answer: Option<Arc<Answer>>,
}

impl Leading {
    /// A call nobody joins.
    pub fn alone(call: BoxFuture<'static, CallResult>) -> Self {
        Self { call, answer: None }
    }

    /// A call whose result identical GETs get from `answer`.
    pub fn answering(call: BoxFuture<'static, CallResult>, answer: Arc<Answer>) -> Self {
        Self {
            call,
            answer: Some(answer),
        }
    }
}

impl Future for Leading {
    type Output = CallResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CallResult> {
        let result = std::task::ready!(self.call.as_mut().poll(cx));
        if let Some(answer) = self.answer.take() {
            answer.settle(State::Ready(result.clone()));
        }
        Poll::Ready(result)
    }
}

impl Drop for Leading {
    fn drop(&mut self) {
        // Still set: the call was dropped before it ended.
        if let Some(answer) = self.answer.take() {
            answer.settle(State::Abandoned);
        }
    }
}

/// The way a joining GET makes its own call, should the one it joined be abandoned.
pub type Fallback = Box<dyn FnOnce() -> BoxFuture<'static, CallResult> + Send>;

/// A GET waiting for the result of an identical one.
pub enum Joining {
    Waiting {
        answer: Arc<Answer>,
        fallback: Option<Fallback>,
    },
    /// The call it joined was abandoned: it makes its own.
    Own(BoxFuture<'static, CallResult>),
}

impl Joining {
    pub fn new(answer: Arc<Answer>, fallback: Fallback) -> Self {
        Self::Waiting {
            answer,
            fallback: Some(fallback),
        }
    }
}

/// What a joining GET ends with, and whether it had to make the call itself.
pub struct Joined {
    pub result: CallResult,
    pub made_itself: bool,
}

impl Future for Joining {
    type Output = Joined;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Joined> {
        if let Self::Waiting { answer, fallback } = &mut *self {
            let start = {
                let mut state = answer.lock();
                match &mut *state {
                    State::Ready(result) => {
                        return Poll::Ready(Joined {
                            result: result.clone(),
                            made_itself: false,
                        });
                    }
                    State::Pending { waiters } => {
                        if !waiters.iter().any(|waiter| waiter.will_wake(cx.waker())) {
                            waiters.push(cx.waker().clone());
                        }
                        return Poll::Pending;
                    }
                    // Taken once: the state then becomes `Own`.
                    State::Abandoned => fallback.take(),
                }
            };
            match start {
                Some(start) => *self = Self::Own(start()),
                None => return Poll::Pending,
            }
        }
        match &mut *self {
            Self::Own(own) => own.as_mut().poll(cx).map(|result| Joined {
                result,
                made_itself: true,
            }),
            Self::Waiting { .. } => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests;
