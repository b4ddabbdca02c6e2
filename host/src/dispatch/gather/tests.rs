//! A handler's polls after the first wait one turn of the worker's queue while two or more
//! of its calls are unfinished, and never otherwise; on a real runtime, answers that
//! arrive together are taken in one poll.

use std::{
    cell::Cell,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures_util::future::join_all;

use super::GatherAnswers;

/// Counts the polls of the future it wraps.
struct Counted<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

fn counted<F: Future>(inner: F) -> (Counted<F>, Arc<AtomicUsize>) {
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = Counted {
        inner: Box::pin(inner),
        polls: polls.clone(),
    };
    (counted, polls)
}

/// The polling task's waker: counts its wake-ups.
#[derive(Default)]
struct Task(AtomicUsize);

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Pending until `ready` is set.
async fn until(ready: &Cell<bool>) {
    std::future::poll_fn(|_| {
        if ready.get() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

#[test]
fn with_two_calls_unfinished_a_poll_after_the_first_waits_one_turn() {
    let unfinished = Cell::new(5);
    let ready = Cell::new(false);
    let (handler, polls) = counted(until(&ready));
    let mut gather = std::pin::pin!(GatherAnswers::new(handler, || unfinished.get()));
    let task = Arc::new(Task::default());
    let waker = Waker::from(task.clone());
    let mut cx = Context::from_waker(&waker);

    // The first poll starts the calls, however many are unfinished.
    assert!(gather.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        (polls.load(Ordering::SeqCst), task.0.load(Ordering::SeqCst)),
        (1, 0)
    );
    // Woken with five unfinished: the handler waits a turn, its task woken to come back.
    assert!(gather.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        (polls.load(Ordering::SeqCst), task.0.load(Ordering::SeqCst)),
        (1, 1)
    );
    // Back after the turn: the handler is polled.
    assert!(gather.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        (polls.load(Ordering::SeqCst), task.0.load(Ordering::SeqCst)),
        (2, 1)
    );
    // Two unfinished still defer; then the handler answers.
    unfinished.set(2);
    assert!(gather.as_mut().poll(&mut cx).is_pending());
    assert_eq!(polls.load(Ordering::SeqCst), 2);
    ready.set(true);
    assert!(gather.as_mut().poll(&mut cx).is_ready());
    assert_eq!(
        (polls.load(Ordering::SeqCst), task.0.load(Ordering::SeqCst)),
        (3, 2)
    );
}

#[test]
fn with_one_call_or_none_unfinished_every_poll_reaches_the_handler() {
    for count in [0, 1] {
        let ready = Cell::new(false);
        let (handler, polls) = counted(until(&ready));
        let mut gather = std::pin::pin!(GatherAnswers::new(handler, || count));
        let task = Arc::new(Task::default());
        let waker = Waker::from(task.clone());
        let mut cx = Context::from_waker(&waker);
        for poll in 1..=3 {
            assert!(gather.as_mut().poll(&mut cx).is_pending());
            assert_eq!(polls.load(Ordering::SeqCst), poll, "{count} unfinished");
        }
        ready.set(true);
        assert!(gather.as_mut().poll(&mut cx).is_ready());
        assert_eq!(polls.load(Ordering::SeqCst), 4);
        assert_eq!(task.0.load(Ordering::SeqCst), 0, "never deferred");
    }
}

/// Decrements the shared count when dropped: a call's future finishing, as
/// `UnfinishedCall` does.
struct Unfinished(Arc<AtomicUsize>);

impl Drop for Unfinished {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// On one tokio worker: a handler awaits `CALLS` answers with `join_all`, and the tasks
/// that send them all become runnable at once, as the connection tasks of answers read in
/// one turn of the I/O driver do. Returns how many times the handler was polled.
fn handler_polls(gathered: bool) -> usize {
    const CALLS: usize = 10;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        tokio::spawn(async move {
            let unfinished = Arc::new(AtomicUsize::new(CALLS));
            let (senders, calls): (Vec<_>, Vec<_>) = (0..CALLS)
                .map(|_| {
                    let (sender, receiver) = tokio::sync::oneshot::channel::<usize>();
                    let done = Unfinished(unfinished.clone());
                    let call = async move {
                        let answer = receiver.await.expect("an answer");
                        drop(done);
                        answer
                    };
                    (sender, call)
                })
                .unzip();
            let (started_tx, started_rx) = tokio::sync::oneshot::channel();
            let (handler, polls) = counted(async move {
                let _ = started_tx.send(());
                join_all(calls).await
            });
            let count = unfinished.clone();
            let handler = tokio::spawn(async move {
                if gathered {
                    GatherAnswers::new(handler, || count.load(Ordering::SeqCst)).await
                } else {
                    handler.await
                }
            });
            // The handler has made its calls and waits for them.
            started_rx.await.expect("the handler started");
            // This task came in a chain of tasks woken one by the other, where tokio stops
            // favouring the woken after three: start the answers from a turn of its own.
            tokio::task::yield_now().await;
            // Spawned in one go, the answering tasks are all runnable when the first runs.
            for (call, sender) in senders.into_iter().enumerate() {
                tokio::spawn(async move {
                    let _ = sender.send(call);
                });
            }
            let answers = handler.await.expect("the handler finished");
            assert_eq!(answers, (0..CALLS).collect::<Vec<_>>());
            polls.load(Ordering::SeqCst)
        })
        .await
        .expect("the test task")
    })
}

#[test]
fn answers_that_arrive_together_are_taken_in_one_poll() {
    // The first poll makes the calls; the second, after one deferral, takes all ten.
    assert_eq!(handler_polls(true), 2);
}

#[test]
fn without_gathering_tokio_polls_the_handler_per_answer() {
    // Why the wrapper exists: a task woken by another runs next (tokio's LIFO slot), so
    // the handler is polled between answers that were all there to take.
    // (Eleven with tokio 1.54: one poll per answer.)
    let polls = handler_polls(false);
    assert!(polls > 2, "{polls} polls");
}
