//! The gate polls only what woke, and never loses a wake-up; a gated future keeps one waker
//! however its pollers' wakers change, and its wake-ups reach the latest poller.

use std::{
    cell::{Cell, RefCell},
    sync::atomic::AtomicUsize,
};

use super::*;

/// A polling task's waker: counts its wake-ups.
#[derive(Default)]
struct Task(AtomicUsize);

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn task() -> (Arc<Task>, Waker) {
    let task = Arc::new(Task::default());
    (task.clone(), Waker::from(task))
}

#[test]
fn the_first_poll_runs_and_a_pending_one_is_not_run_again_until_it_wakes() {
    let gate = WakeGate::default();
    let (task, waker) = task();
    let mut cx = Context::from_waker(&waker);
    let polls = Cell::new(0);
    let kept: RefCell<Option<Waker>> = RefCell::new(None);
    let poll = |cx: &mut Context<'_>| {
        polls.set(polls.get() + 1);
        *kept.borrow_mut() = Some(cx.waker().clone());
        Poll::<()>::Pending
    };
    assert!(gate.poll(&mut cx, poll).is_pending());
    assert!(gate.poll(&mut cx, poll).is_pending());
    assert!(gate.poll(&mut cx, poll).is_pending());
    assert_eq!(polls.get(), 1, "not woken: not polled again");

    kept.take().expect("the gated future kept its waker").wake();
    assert_eq!(
        task.0.load(Ordering::SeqCst),
        1,
        "the gated future's wake-up wakes the task"
    );
    assert!(gate.poll(&mut cx, poll).is_pending());
    assert_eq!(polls.get(), 2, "woken: polled again");
}

#[test]
fn a_wake_up_during_the_poll_is_not_lost() {
    let gate = WakeGate::default();
    let (task, waker) = task();
    let mut cx = Context::from_waker(&waker);
    let mut polls = 0;
    let mut poll = |cx: &mut Context<'_>| {
        polls += 1;
        if polls == 1 {
            // Woken while being polled, as a timer firing on another thread would.
            cx.waker().wake_by_ref();
        }
        Poll::<()>::Pending
    };
    assert!(gate.poll(&mut cx, &mut poll).is_pending());
    assert_eq!(task.0.load(Ordering::SeqCst), 1);
    assert!(gate.poll(&mut cx, &mut poll).is_pending());
    assert_eq!(
        polls, 2,
        "the wake-up during the first poll brings the second"
    );
}

#[test]
fn after_a_ready_poll_or_a_rearm_the_next_call_polls() {
    let gate = WakeGate::default();
    let (_task, waker) = task();
    let mut cx = Context::from_waker(&waker);
    let mut polls = 0;
    let mut ready = |_: &mut Context<'_>| {
        polls += 1;
        Poll::Ready(())
    };
    assert!(gate.poll(&mut cx, &mut ready).is_ready());
    assert!(gate.poll(&mut cx, &mut ready).is_ready());
    assert_eq!(
        polls, 2,
        "what comes after a ready one must be polled to arm"
    );

    let pending_polls = Cell::new(0);
    let pending = |_: &mut Context<'_>| {
        pending_polls.set(pending_polls.get() + 1);
        Poll::<()>::Pending
    };
    assert!(gate.poll(&mut cx, pending).is_pending());
    assert!(gate.poll(&mut cx, pending).is_pending());
    assert_eq!(pending_polls.get(), 1);
    gate.rearm();
    assert!(gate.poll(&mut cx, pending).is_pending());
    assert_eq!(
        pending_polls.get(),
        2,
        "a rearmed gate polls without a wake-up"
    );
}

#[test]
fn a_poll_that_is_ready_at_once_keeps_no_waker_of_the_poller() {
    // Across the ABI keeping one is a clone through async-ffi's layers (an allocation), and
    // a handler that answers in its first poll has nothing to be woken for.
    let gate = WakeGate::default();
    let (task, waker) = task();
    let mut cx = Context::from_waker(&waker);
    assert!(gate.poll(&mut cx, |_| Poll::Ready(())).is_ready());
    assert_eq!(
        Arc::strong_count(&task),
        2,
        "the task and the test's waker only"
    );
    assert!(gate.poll(&mut cx, |_| Poll::<()>::Pending).is_pending());
    assert_eq!(
        Arc::strong_count(&task),
        3,
        "a pending poll keeps the poller's waker"
    );
}

#[test]
fn wake_ups_from_another_thread_racing_the_polls_are_never_lost() {
    // A poller thread parks whenever the gate says pending; another thread takes 100,000
    // steps, each a wake-up the poller must see (the gated future records the last step it
    // saw), and waits for it before the next. Every step is a race between the wake-up
    // and the poller's registering, and one lost wake-up leaves both waiting for good,
    // which the watchdog below reports. It is not a timing assertion: the test takes under
    // a second on a loaded 2-core machine, and the watchdog allows ten minutes.
    const STEPS: usize = 100_000;
    struct Thread(std::thread::Thread);
    impl Wake for Thread {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let step = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let inner_waker: Arc<std::sync::Mutex<Option<Waker>>> = Arc::default();
    let (done, finished) = std::sync::mpsc::channel();
    let poller = {
        let (step, seen, inner_waker) = (step.clone(), seen.clone(), inner_waker.clone());
        std::thread::spawn(move || {
            let waker = Waker::from(Arc::new(Thread(std::thread::current())));
            let mut cx = Context::from_waker(&waker);
            let gate = WakeGate::default();
            loop {
                let polled = gate.poll(&mut cx, |cx| {
                    *inner_waker.lock().expect("the waker's lock") = Some(cx.waker().clone());
                    let now = step.load(Ordering::SeqCst);
                    seen.store(now, Ordering::SeqCst);
                    if now == STEPS {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                });
                if polled.is_ready() {
                    break;
                }
                std::thread::park();
            }
            done.send(()).expect("the test is waiting");
        })
    };
    let stepper = std::thread::spawn(move || {
        for next in 1..=STEPS {
            step.store(next, Ordering::SeqCst);
            // The poller keeps a waker before it first reads the step: wait until it has one
            // (only the first step can find none).
            while inner_waker.lock().expect("the waker's lock").is_none() {
                std::thread::yield_now();
            }
            let waker = inner_waker
                .lock()
                .expect("the waker's lock")
                .clone()
                .expect("a kept waker");
            waker.wake();
            while seen.load(Ordering::SeqCst) < next {
                std::thread::yield_now();
            }
        }
    });
    finished
        .recv_timeout(std::time::Duration::from_secs(600))
        .expect("the poller saw every step: no wake-up was lost");
    poller.join().expect("the poller thread");
    stepper.join().expect("the stepping thread");
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
    let mut gated = std::pin::pin!(Gated::new(&inner));
    for round in 0..3 {
        if round > 0 {
            // Something the call waits for happened.
            let kept = inner.wakers.borrow().last().cloned().expect("a kept waker");
            kept.wake();
        }
        // A fresh waker per poll, as async-ffi gives.
        let (_poller, waker) = task();
        assert!(
            gated
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
    let mut gated = std::pin::pin!(Gated::new(&inner));
    let (first, first_waker) = task();
    let (second, second_waker) = task();
    assert!(
        gated
            .as_mut()
            .poll(&mut Context::from_waker(&first_waker))
            .is_pending()
    );
    assert!(
        gated
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

    // Polled again after the wake-up (as a woken poller does), the next one is gated too.
    assert!(
        gated
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
    let mut gated = std::pin::pin!(Gated::new(&inner));
    for _ in 0..5 {
        let (_poller, waker) = task();
        assert!(
            gated
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
    }
    assert_eq!(inner.wakers.borrow().len(), 1, "polled once: it never woke");
}

#[test]
fn the_output_passes_through() {
    let (_poller, waker) = task();
    let mut gated = std::pin::pin!(Gated::new(std::future::ready(7)));
    assert_eq!(
        gated.as_mut().poll(&mut Context::from_waker(&waker)),
        Poll::Ready(7)
    );
}
