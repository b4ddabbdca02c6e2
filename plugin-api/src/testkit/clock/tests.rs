//! The virtual clock and its executor.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use super::{Clock, Stopped, run};

const BUDGET: Duration = Duration::from_secs(10);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn the_clock_jumps_from_timer_to_timer_in_deadline_order() {
    let clock = Arc::new(Clock::default());
    let order = Arc::new(Mutex::new(Vec::new()));
    let sleeper = |delay: u64| {
        let (clock, order) = (clock.clone(), order.clone());
        async move {
            clock.sleep(ms(delay)).await;
            order
                .lock()
                .expect("not poisoned")
                .push((delay, clock.now()));
        }
    };
    let outcome = run(&clock, BUDGET, async {
        futures_join(sleeper(30), sleeper(10), sleeper(20)).await;
    });
    assert_eq!(outcome, Ok(()));
    assert_eq!(
        *order.lock().expect("not poisoned"),
        [(10, ms(10)), (20, ms(20)), (30, ms(30))]
    );
    assert_eq!(clock.now(), ms(30), "no further than the last timer");
}

#[test]
fn a_future_waiting_on_nothing_is_out_of_time_at_the_budget() {
    let clock = Arc::new(Clock::default());
    let outcome = run(&clock, ms(500), std::future::pending::<()>());
    assert_eq!(outcome, Err(Stopped::OutOfTime));
    assert_eq!(clock.now(), ms(500));

    let clock = Arc::new(Clock::default());
    let outcome = run(&clock, ms(500), clock.sleep(ms(501)));
    assert_eq!(
        outcome,
        Err(Stopped::OutOfTime),
        "a timer past the budget never fires"
    );
    assert_eq!(clock.now(), ms(500));
}

#[test]
fn a_zero_sleep_is_ready_at_once_and_a_dropped_timer_moves_nothing() {
    let clock = Arc::new(Clock::default());
    let outcome = run(&clock, BUDGET, async {
        clock.sleep(Duration::ZERO).await;
        // Polled once (registered), then dropped: its deadline no longer counts.
        let mut abandoned = Box::pin(clock.sleep(ms(900)));
        let waker = std::task::Waker::noop();
        let _ = abandoned
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
        drop(abandoned);
        clock.sleep(ms(5)).await;
    });
    assert_eq!(outcome, Ok(()));
    assert_eq!(clock.now(), ms(5));
}

#[test]
fn a_panicking_poll_stops_the_run() {
    let clock = Arc::new(Clock::default());
    let outcome = run(&clock, BUDGET, async {
        panic!("deliberate");
    });
    assert_eq!(outcome, Err::<(), _>(Stopped::Panicked));
}

/// Three futures polled together, as `join3` would (this crate has no futures-util).
async fn futures_join(
    a: impl std::future::Future<Output = ()>,
    b: impl std::future::Future<Output = ()>,
    c: impl std::future::Future<Output = ()>,
) {
    let (mut a, mut b, mut c) = (Box::pin(a), Box::pin(b), Box::pin(c));
    let (mut done_a, mut done_b, mut done_c) = (false, false, false);
    std::future::poll_fn(move |cx| {
        done_a = done_a || a.as_mut().poll(cx).is_ready();
        done_b = done_b || b.as_mut().poll(cx).is_ready();
        done_c = done_c || c.as_mut().poll(cx).is_ready();
        if done_a && done_b && done_c {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}
