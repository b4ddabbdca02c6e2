//! Identical GETs of one request: the first makes the call, the others get its result;
//! any of them may drive the call, so none waits on a caller that is not polling.

use std::sync::atomic::{AtomicUsize, Ordering};

use frontdoor_plugin_api::{BackendError, BackendErrorKind, BackendResponse};
use futures_util::task::{ArcWake, waker};
use tokio::sync::oneshot;

use super::*;

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Counting(AtomicUsize);

impl ArcWake for Counting {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Counting {
    fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

fn poll<F: Future + Unpin>(future: &mut F, wakes: &Arc<Counting>) -> Poll<F::Output> {
    let waker = waker(wakes.clone());
    Pin::new(future).poll(&mut Context::from_waker(&waker))
}

fn answered(body: &str) -> CallResult {
    Ok(BackendResponse::new(
        200,
        Vec::new(),
        body.as_bytes().to_vec(),
    ))
}

fn body(result: &CallResult) -> String {
    let response = result.as_ref().expect("an answer");
    String::from_utf8_lossy(response.body()).into_owned()
}

/// A call that ends when the test sends its result, counting its polls.
fn call_ended_by_test(polls: &Arc<AtomicUsize>) -> (oneshot::Sender<CallResult>, Call) {
    let (send, mut receive) = oneshot::channel::<CallResult>();
    let polls = polls.clone();
    let call = std::future::poll_fn(move |cx| {
        polls.fetch_add(1, Ordering::SeqCst);
        Pin::new(&mut receive).poll(cx).map(|received| {
            received.unwrap_or_else(|_| {
                Err(BackendError::new(
                    BackendErrorKind::Transport,
                    "the test dropped the call's sender".to_owned(),
                ))
            })
        })
    });
    (send, call.boxed())
}

/// The first of identical GETs, over a call the test ends, with its poll count.
struct FirstGet {
    polls: Arc<AtomicUsize>,
    send: oneshot::Sender<CallResult>,
    answer: Arc<Answer>,
    leading: Leading,
}

fn first_get() -> FirstGet {
    let polls = Arc::new(AtomicUsize::new(0));
    let (send, call) = call_ended_by_test(&polls);
    let answer = Answer::new(call);
    FirstGet {
        polls,
        send,
        leading: Leading::new(answer.clone()),
        answer,
    }
}

#[test]
fn a_first_get_alone_polls_its_call_directly_and_keeps_the_answer() {
    let FirstGet {
        polls,
        send,
        answer,
        mut leading,
    } = first_get();
    let wakes = Arc::new(Counting::default());
    assert!(poll(&mut leading, &wakes).is_pending());
    send.send(answered("from the backend")).ok();
    assert_eq!(wakes.wakes(), 1, "the call woke the first caller itself");
    let Poll::Ready(result) = poll(&mut leading, &wakes) else {
        panic!("the call ended");
    };
    assert_eq!(body(&result), "from the backend");
    assert_eq!(polls.load(Ordering::SeqCst), 2);

    let mut later = answer.join();
    let Poll::Ready(result) = poll(&mut later, &wakes) else {
        panic!("an identical GET after the end gets the kept answer at once");
    };
    assert_eq!(body(&result), "from the backend");
    assert_eq!(polls.load(Ordering::SeqCst), 2, "without calling again");
}

#[test]
fn a_joining_get_shares_the_call_and_the_first_caller_is_woken_to_share_it_too() {
    let FirstGet {
        send,
        answer,
        mut leading,
        ..
    } = first_get();
    let (leader_wakes, joiner_wakes) = (Arc::new(Counting::default()), Arc::default());
    assert!(poll(&mut leading, &leader_wakes).is_pending());

    let mut joining = answer.join();
    assert_eq!(
        leader_wakes.wakes(),
        1,
        "the first caller is woken to poll the shared call"
    );
    assert!(poll(&mut joining, &joiner_wakes).is_pending());
    assert!(poll(&mut leading, &leader_wakes).is_pending());
    send.send(answered("once")).ok();
    assert!(
        leader_wakes.wakes() >= 2 && joiner_wakes.wakes() >= 1,
        "both woken"
    );
    let Poll::Ready(result) = poll(&mut leading, &leader_wakes) else {
        panic!("the first caller gets the answer");
    };
    assert_eq!(body(&result), "once");
    let Poll::Ready(result) = poll(&mut joining, &joiner_wakes) else {
        panic!("the joining GET gets the answer");
    };
    assert_eq!(body(&result), "once");
}

#[test]
fn an_identical_get_drives_the_call_when_the_first_is_not_polling() {
    // `let a = get(x); let b = get(x); b.await; a.await;`: `a` is never polled before
    // `b` ends, so `b` must make the call go.
    let FirstGet {
        polls,
        send,
        answer,
        leading,
    } = first_get();
    let mut joining = answer.join();
    let wakes = Arc::new(Counting::default());
    assert!(poll(&mut joining, &wakes).is_pending());
    assert_eq!(
        polls.load(Ordering::SeqCst),
        1,
        "the joining GET polled the call"
    );
    send.send(answered("driven")).ok();
    let Poll::Ready(result) = poll(&mut joining, &wakes) else {
        panic!("the joining GET gets the answer without the first polling");
    };
    assert_eq!(body(&result), "driven");
    drop(leading);
}

#[test]
fn the_call_goes_on_for_the_others_when_the_first_caller_stops_waiting() {
    let FirstGet {
        send,
        answer,
        mut leading,
        ..
    } = first_get();
    let wakes = Arc::new(Counting::default());
    assert!(poll(&mut leading, &wakes).is_pending());
    let mut joining = answer.join();
    drop(leading);
    assert!(poll(&mut joining, &wakes).is_pending());
    assert!(
        !send.is_closed(),
        "the call was not dropped with the first caller"
    );
    send.send(answered("still made")).ok();
    let Poll::Ready(result) = poll(&mut joining, &wakes) else {
        panic!("the call ends for the one still waiting");
    };
    assert_eq!(body(&result), "still made");
}

#[test]
fn a_failed_call_fails_every_identical_get_alike() {
    let answer = Answer::new(async { Err(BackendError::status(503, "down".to_owned())) }.boxed());
    let mut leading = Leading::new(answer.clone());
    let wakes = Arc::default();
    assert!(poll(&mut leading, &wakes).is_ready());
    let mut joining = answer.join();
    let Poll::Ready(Err(error)) = poll(&mut joining, &wakes) else {
        panic!("the same failure");
    };
    assert_eq!((error.kind, error.status), (BackendErrorKind::Status, 503));
}
