//! Identical GETs of one request: the first makes the call, the others get its result, and
//! a first call dropped before it ends leaves the others to make their own.

use std::sync::atomic::{AtomicUsize, Ordering};

use frontdoor_plugin_api::{BackendError, BackendErrorKind, BackendResponse};
use futures_util::{
    FutureExt as _,
    task::{ArcWake, waker},
};
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

/// A call that ends when the test sends its result.
fn call_ended_by_test() -> (oneshot::Sender<CallResult>, BoxFuture<'static, CallResult>) {
    let (send, receive) = oneshot::channel();
    let call = async move {
        receive.await.unwrap_or_else(|_| {
            Err(BackendError::new(
                BackendErrorKind::Transport,
                "the test dropped the call's sender".to_owned(),
            ))
        })
    };
    (send, call.boxed())
}

/// A fallback that counts how often it is started and answers `body`.
fn counted_fallback(starts: &Arc<AtomicUsize>, body: &'static str) -> Fallback {
    let starts = starts.clone();
    Box::new(move || {
        starts.fetch_add(1, Ordering::SeqCst);
        async move { answered(body) }.boxed()
    })
}

#[test]
fn a_joining_get_waits_for_the_first_and_gets_its_answer() {
    let answer = Arc::new(Answer::default());
    let (send, call) = call_ended_by_test();
    let mut leading = Leading::answering(call, answer.clone());
    let fallbacks = Arc::new(AtomicUsize::new(0));
    let mut joining = Joining::new(answer, counted_fallback(&fallbacks, "own call"));
    let (leader_wakes, joiner_wakes) = (Arc::default(), Arc::default());

    assert!(poll(&mut leading, &leader_wakes).is_pending());
    assert!(poll(&mut joining, &joiner_wakes).is_pending());
    assert!(
        poll(&mut joining, &joiner_wakes).is_pending(),
        "polled again"
    );
    send.send(answered("from the backend")).ok();
    let Poll::Ready(result) = poll(&mut leading, &leader_wakes) else {
        panic!("the first call ends with its answer");
    };
    assert_eq!(body(&result), "from the backend");
    assert_eq!(
        joiner_wakes.0.load(Ordering::SeqCst),
        1,
        "the waiting GET is woken once, however often it was polled"
    );
    let Poll::Ready(joined) = poll(&mut joining, &joiner_wakes) else {
        panic!("the joining GET ends with the first one's answer");
    };
    assert_eq!(body(&joined.result), "from the backend");
    assert!(!joined.made_itself);
    assert_eq!(fallbacks.load(Ordering::SeqCst), 0, "no call of its own");
}

#[test]
fn a_get_joining_after_the_first_ended_gets_its_answer_at_once() {
    let answer = Arc::new(Answer::default());
    let mut leading = Leading::answering(async { answered("early") }.boxed(), answer.clone());
    let wakes = Arc::default();
    assert!(poll(&mut leading, &wakes).is_ready());
    drop(leading);
    assert!(
        !answer.abandoned(),
        "an ended call is not abandoned when dropped"
    );

    let fallbacks = Arc::new(AtomicUsize::new(0));
    let mut joining = Joining::new(answer, counted_fallback(&fallbacks, "own call"));
    let Poll::Ready(joined) = poll(&mut joining, &wakes) else {
        panic!("the answer is there");
    };
    assert_eq!(body(&joined.result), "early");
    assert!(!joined.made_itself);
    assert_eq!(fallbacks.load(Ordering::SeqCst), 0);
}

#[test]
fn a_first_get_dropped_mid_call_leaves_the_waiting_ones_to_call_themselves() {
    let answer = Arc::new(Answer::default());
    let (send, call) = call_ended_by_test();
    let mut leading = Leading::answering(call, answer.clone());
    let fallbacks = Arc::new(AtomicUsize::new(0));
    let mut first = Joining::new(answer.clone(), counted_fallback(&fallbacks, "own call"));
    let mut second = Joining::new(answer.clone(), counted_fallback(&fallbacks, "own call"));
    let (leader_wakes, first_wakes, second_wakes) =
        (Arc::default(), Arc::default(), Arc::default());
    assert!(poll(&mut leading, &leader_wakes).is_pending());
    assert!(poll(&mut first, &first_wakes).is_pending());
    assert!(poll(&mut second, &second_wakes).is_pending());

    drop(leading);
    assert!(answer.abandoned());
    assert_eq!(first_wakes.0.load(Ordering::SeqCst), 1, "woken to call");
    assert_eq!(second_wakes.0.load(Ordering::SeqCst), 1, "woken to call");
    assert!(
        send.is_closed(),
        "the first call was dropped with its caller"
    );
    for joining in [&mut first, &mut second] {
        let Poll::Ready(joined) = poll(joining, &first_wakes) else {
            panic!("the fallback answers at once");
        };
        assert_eq!(body(&joined.result), "own call");
        assert!(joined.made_itself);
    }
    assert_eq!(
        fallbacks.load(Ordering::SeqCst),
        2,
        "each made its own call"
    );
}

#[test]
fn a_failed_first_get_fails_the_joining_ones_alike() {
    let answer = Arc::new(Answer::default());
    let failed = Err(BackendError::status(503, "down".to_owned()));
    let mut leading = Leading::answering(async move { failed }.boxed(), answer.clone());
    let wakes = Arc::default();
    assert!(poll(&mut leading, &wakes).is_ready());
    let fallbacks = Arc::new(AtomicUsize::new(0));
    let mut joining = Joining::new(answer, counted_fallback(&fallbacks, "own call"));
    let Poll::Ready(joined) = poll(&mut joining, &wakes) else {
        panic!("the failure is there");
    };
    let Err(error) = joined.result else {
        panic!("the same failure");
    };
    assert_eq!((error.kind, error.status), (BackendErrorKind::Status, 503));
    assert_eq!(
        fallbacks.load(Ordering::SeqCst),
        0,
        "a failure is an answer, not an abandoned call"
    );
}
