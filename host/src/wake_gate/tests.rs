//! The gate polls only what woke, and never loses a wake-up.

use std::{
    cell::{Cell, RefCell},
    sync::atomic::AtomicUsize,
};

use super::*;

/// The polling task's waker: counts its wake-ups.
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
