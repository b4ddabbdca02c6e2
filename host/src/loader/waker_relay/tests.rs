//! The relayed future keeps one waker however its pollers' wakers change, its wake-ups
//! reach the latest poller, and it is not polled again until it wakes.

use std::{
    cell::RefCell,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Wake, Waker},
};

use super::*;

/// A poller's waker: counts its wake-ups.
#[derive(Default)]
struct Poller(AtomicUsize);

impl Wake for Poller {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn poller() -> (Arc<Poller>, Waker) {
    let poller = Arc::new(Poller::default());
    (poller.clone(), Waker::from(poller))
}

/// Pending until told, keeping every waker it is polled with.
#[derive(Default)]
struct Keeps {
    wakers: RefCell<Vec<Waker>>,
}

impl Future for &Keeps {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.wakers.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn the_inner_future_sees_one_waker_across_pollers() {
    let inner = Keeps::default();
    let mut relayed = std::pin::pin!(Relayed::new(&inner));
    for round in 0..3 {
        if round > 0 {
            // Something the call waits for happened.
            let kept = inner.wakers.borrow().last().cloned().expect("a kept waker");
            kept.wake();
        }
        // A fresh waker per poll, as async-ffi gives.
        let (_poller, waker) = poller();
        assert!(
            relayed
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
    }
    let wakers = inner.wakers.borrow();
    assert_eq!(wakers.len(), 3);
    assert!(
        wakers.windows(2).all(|pair| pair[0].will_wake(&pair[1])),
        "every poll of the inner future had the same waker"
    );
}

#[test]
fn a_wake_up_reaches_the_latest_poller_only() {
    let inner = Keeps::default();
    let mut relayed = std::pin::pin!(Relayed::new(&inner));
    let (first, first_waker) = poller();
    let (second, second_waker) = poller();
    assert!(
        relayed
            .as_mut()
            .poll(&mut Context::from_waker(&first_waker))
            .is_pending()
    );
    assert!(
        relayed
            .as_mut()
            .poll(&mut Context::from_waker(&second_waker))
            .is_pending()
    );
    let kept = inner.wakers.borrow()[0].clone();
    kept.wake_by_ref();
    assert_eq!(
        second.0.load(Ordering::SeqCst),
        1,
        "the latest poller is woken"
    );
    assert_eq!(
        first.0.load(Ordering::SeqCst),
        0,
        "an earlier poller is not"
    );

    // Polled again after the wake-up (as a woken poller does), the next one is relayed too.
    assert!(
        relayed
            .as_mut()
            .poll(&mut Context::from_waker(&first_waker))
            .is_pending()
    );
    kept.wake();
    assert_eq!(first.0.load(Ordering::SeqCst), 1);
}

#[test]
fn a_call_that_did_not_wake_is_not_polled_again() {
    let inner = Keeps::default();
    let mut relayed = std::pin::pin!(Relayed::new(&inner));
    for _ in 0..5 {
        let (_poller, waker) = poller();
        assert!(
            relayed
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
    }
    assert_eq!(inner.wakers.borrow().len(), 1, "polled once: it never woke");
}

#[test]
fn the_output_passes_through() {
    let (_poller, waker) = poller();
    let mut relayed = std::pin::pin!(Relayed::new(std::future::ready(7)));
    assert_eq!(
        relayed.as_mut().poll(&mut Context::from_waker(&waker)),
        Poll::Ready(7)
    );
}
